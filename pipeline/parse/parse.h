/* parse.h - one raw audit record in, one normalized event out.
 *
 * Thread: a worker; one af_parser per thread (it owns a JSON parser and its
 * scratch memory; no sharing, no locks).
 * In: a record as framed by ingest/ (a view followed by AF_JSON_PADDING
 * readable bytes). Out: a filled struct af_event, or the reason the record
 * is unusable, for the dead-letter output.
 *
 * DESIGN: the schema is told per record from the fields present, so one
 * stream may mix Management Activity API records, Entra sign-ins in three
 * shapes, message trace rows, Okta and CloudTrail. See fields.h for the one
 * pass extraction that feeds every mapper.
 */
#ifndef AF_PARSE_H
#define AF_PARSE_H

#include <stddef.h>

#include "pipeline/event.h"
#include "pipeline/reason.h"

struct af_parser;

/* A parser for records up to max_record bytes. NULL and errstr on failure. */
struct af_parser *af_parser_new(size_t max_record, char *errstr, size_t errstr_size);
void af_parser_free(struct af_parser *ps);

/* Parse buf[0..len) into *ev. ev is cleared first except ev->pos, which the
 * caller owns. Returns AF_REASON_NONE on success; otherwise the reason, and
 * *detail (never NULL on failure) names the field or the problem in a few
 * words (static text).
 * @pre buf readable for len + AF_JSON_PADDING bytes.
 * Cost: one pass over the record plus small per-field work; no allocation. */
enum af_reason af_parse_record(struct af_parser *ps, const char *buf, size_t len,
                               struct af_event *ev, const char **detail);

/* Name of the simdjson kernel in use, for the benchmark's report. */
const char *af_parser_kernel(const struct af_parser *ps);

#endif
