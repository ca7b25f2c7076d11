/* events_ecs.h - normalized events as Elastic Common Schema JSON lines.
 *
 * Thread: the thread that owns the output (the sink thread in replay's
 * --events-out). af_ecs_format is pure and may be called from any thread
 * with its own writer.
 * In: struct af_event (pipeline/event.h). Out: one JSON object per event.
 *
 * Keys are ECS field names written as dotted flat keys ("source.geo.city_name":
 * "Hanoi"), which ECS and Elasticsearch accept as equivalent to nested
 * objects and which are cheaper to write; the one nested value is the
 * geo_point "source.geo.location":{"lat":..,"lon":..}. Keys come in this
 * order, each only when its value is known (non-empty, non-zero, flag set):
 *
 *   @timestamp              always; RFC 3339 UTC
 *   event.kind              always "event"
 *   event.category          array: ["authentication"] sign-ins;
 *                           ["email"] mail send/delete/access;
 *                           ["email","configuration"] inbox rules and mailbox
 *                           forwarding (settings of a mailbox, not identity
 *                           management, so not "iam"); ["file"] file access;
 *                           left out for other events
 *   event.action            the exporter's operation name
 *   event.outcome           "success" / "failure"; left out when unknown
 *   event.provider          the schema the record came in (af_schema_name)
 *   event.id                the record id
 *   event.code              the error code, as a string (ECS keyword)
 *   user.name               the account
 *   source.ip, source.port
 *   source.geo.country_iso_code, source.geo.city_name,
 *   source.geo.location     when AF_GEO_HAS_LOCATION; 6 decimals (0.1 m)
 *   source.as.number, source.as.organization.name
 *   auditflow.geo.radius_km accuracy radius of the location
 *   auditflow.geo.internal, .anonymous, .vpn, .hosting, .proxy, .tor, .corporate: true
 *   email.to.address        array of the one recipient (ECS: an array)
 *   auditflow.kind          af_kind_name
 *   auditflow.app, auditflow.folder
 *   auditflow.save_to_sent_items  when the record said (AF_EV_SAVE_SENT_KNOWN)
 *   auditflow.recipient_count
 *   auditflow.flags         names of the other AF_EV_* bits set: interactive,
 *                           from_sent_items, rule_delete, rule_move,
 *                           rule_mark_read, forward, forward_external,
 *                           geo_from_record, name_self
 *   auditflow.truncated     true when a string field was cut
 *   log.file.path           the source file, when there is one
 *   log.file.line           when known
 *   log.offset              byte offset of the record, when there is a file or
 *                           the offset is not 0
 */
#ifndef AF_EVENTS_ECS_H
#define AF_EVENTS_ECS_H

#include "pipeline/err.h"
#include "pipeline/event.h"
#include "sinks/jsonw.h"

/* Append ev as one ECS JSON object to w (no newline), for any sink.
 * source_path: borrowed, may be NULL (no file: Kafka, generator).
 * Cost: ~30 short appends and two hand-made number formats; no allocation. */
void af_ecs_format(struct af_jsonw *w, const struct af_event *ev, const char *source_path);

/* Append the source.* and auditflow.geo.* fields of an address and its geo
 * facts to w (the event writer and the ECS alert writer share them).
 * Unknown values are left out. Cost: a handful of short appends. */
void af_ecs_source(struct af_jsonw *w, const struct af_ip *src, const struct af_geo *g);

struct af_ecs_out;

/* Open path ("-" is standard output) for ECS JSON lines.
 * Returns NULL and writes errstr (naming the path and the cause) on failure. */
struct af_ecs_out *af_ecs_open(const char *path, char *errstr, size_t errstr_size);

/* Open path as af_ecs_open does, keeping the event lines it holds, for a
 * run resumed from a checkpoint (sinks/jsonw.h, af_jsonw_open_append): a
 * missing file is created, a partial last line is cut off and *cut (may be
 * NULL) gets its length, and new lines go after the old ones.
 * Returns NULL and writes errstr (naming the path and the cause) on failure. */
struct af_ecs_out *af_ecs_open_append(const char *path, uint64_t *cut, char *errstr,
                                      size_t errstr_size);

/* Rotate the file by size, as af_jsonw_rotate_by_size (sinks/jsonw.h).
 * Returns false, and never rotates, for standard output or anything but a
 * regular file. @pre keep >= 1. */
bool af_ecs_rotate_by_size(struct af_ecs_out *out, uint64_t max_bytes, uint32_t keep);

/* Write ev as one line. source_path: borrowed, may be NULL.
 * Returns AF_OK, or AF_E_IO once a write has failed (af_ecs_close gives the
 * cause). Cost: af_ecs_format plus a write(2) when the buffer is half full. */
af_err_t af_ecs_write(struct af_ecs_out *out, const struct af_event *ev, const char *source_path);

/* Write text (whole lines from af_ecs_format, each followed by '\n', made
 * by another thread) and flush it. Returns AF_E_IO once a write failed. */
af_err_t af_ecs_write_text(struct af_ecs_out *out, const char *text, size_t len);

/* Write buffered lines out now. AF_E_IO if this or an earlier write failed. */
af_err_t af_ecs_flush(struct af_ecs_out *out);

/* Write what is buffered, close and free out. Returns AF_OK, or AF_E_IO with
 * errstr naming the path and the cause if any write failed. NULL is a no-op. */
af_err_t af_ecs_close(struct af_ecs_out *out, char *errstr, size_t errstr_size);

#endif
