/* parse_bare.h - the baseline of the parse benchmark and of `auditflow
 * bench`'s floor: a bare simdjson On-Demand loop that reads the fields our
 * mappers read, and nothing more.
 *
 * Thread: one af_bare per thread (it owns a simdjson parser).
 * In: one record (a view with 64 readable bytes after it: AF_CORPUS_PADDING,
 * the same as the parser's AF_JSON_PADDING).
 * Out: views of the fields a mapper would use, and a checksum over
 * everything read, so that no read can be optimised away.
 *
 * DESIGN: this is what a program written for exactly the corpus's shapes
 * would do: case-sensitive keys, one pass over each object, arrays and
 * nested objects walked in place. It does none of our stage's work beyond
 * the reading itself: no timestamp or address parsing, no lower-casing, no
 * hashing, no copying into an event. The benchmark reports our stage's
 * speed as a fraction of this loop's.
 */
#ifndef AF_BENCH_PARSE_BARE_H
#define AF_BENCH_PARSE_BARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The string fields the benchmark compares with our event. */
enum af_bare_field {
	AF_BARE_TIME,      /* CreationTime, createdDateTime, Received */
	AF_BARE_ACCOUNT,   /* UserId, userPrincipalName, SenderAddress */
	AF_BARE_IP,        /* ClientIP(Address), ipAddress, FromIP */
	AF_BARE_ID,        /* Id, properties.id, MessageTraceId */
	AF_BARE_ACTION,    /* Operation, operationName, Status */
	AF_BARE_APP,       /* ClientInfoString, clientAppUsed */
	AF_BARE_FOLDER,    /* Item.ParentFolder.Path */
	AF_BARE_UA,        /* UserAgent, ExtendedProperties' UserAgent, userAgent */
	AF_BARE_NAME,      /* LogonUserDisplayName, userDisplayName */
	AF_BARE_RECIPIENT, /* RecipientAddress */
	AF_BARE_ERROR,     /* ErrorNumber (text) */
	AF_BARE_FIELD_COUNT
};

/* A borrowed view: valid until the next af_bare_record on the same af_bare.
 * s is NULL when the record has no such field. */
struct af_bare_str {
	const char *s;
	uint32_t len;
};

struct af_bare_rec {
	struct af_bare_str f[AF_BARE_FIELD_COUNT];
	uint32_t recipients; /* recipientList elements */
	int64_t error_code;  /* status.errorCode; 0 when absent */
	int8_t save_sent;    /* SaveToSentItems: -1 absent, 0 false, 1 true */
	uint64_t sum;        /* lengths and values of everything read */
};

struct af_bare;

/* A bare loop whose stage 1 runs the named simdjson kernel: pass
 * af_parser_kernel() of the parser it is compared with, so both run the
 * same one. NULL and errstr when simdjson has no such kernel usable here or
 * memory is short. */
struct af_bare *af_bare_new(size_t max_record, const char *kernel, char *errstr,
                            size_t errstr_size);
void af_bare_free(struct af_bare *b);

/* The stage 1 kernel's name, as given to af_bare_new. */
const char *af_bare_kernel(const struct af_bare *b);

/* Read buf[0..len) into *rec. False when simdjson rejects the record.
 * @pre buf readable for len + 64 bytes.
 * Cost: one pass over the record; no allocation once the parser has grown
 * to the largest record seen. */
bool af_bare_record(struct af_bare *b, const char *buf, size_t len, struct af_bare_rec *rec);

#ifdef __cplusplus
}
#endif

#endif
