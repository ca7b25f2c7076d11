/* reason.h - why a record went to the dead-letter output.
 *
 * The names are part of the interface: they appear in the dead-letter
 * records, in the summary's invalid_by_reason object and in metrics.
 */
#ifndef AF_REASON_H
#define AF_REASON_H

enum af_reason {
	AF_REASON_NONE = 0,
	AF_REASON_MALFORMED_JSON,   /* not valid JSON */
	AF_REASON_NOT_OBJECT,       /* valid JSON, but not an object */
	AF_REASON_UNKNOWN_SCHEMA,   /* an object no mapper recognises */
	AF_REASON_MISSING_FIELD,    /* a field the mapper needs is absent */
	AF_REASON_WRONG_TYPE,       /* a needed field has the wrong JSON type */
	AF_REASON_BAD_TIMESTAMP,    /* the event time cannot be parsed */
	AF_REASON_OVERSIZE,         /* longer than input.max_record_bytes */
	AF_REASON_INVALID_UTF8,     /* bytes that are not UTF-8 */
	AF_REASON_NUL_BYTES,        /* a NUL byte inside the record */
	AF_REASON_TRUNCATED_STREAM, /* a gzip/zstd stream ends mid-way */
	AF_REASON_MALFORMED_CSV,    /* a CSV row that cannot be split */
	AF_REASON_COUNT
};

/* Stable snake_case name of reason ("malformed_json"); never NULL. */
const char *af_reason_name(enum af_reason reason);

#endif
