/* reason.c - names of the dead-letter reasons. */
#include "pipeline/reason.h"

static const char *const af_reason_names[AF_REASON_COUNT] = {
	[AF_REASON_NONE] = "none",
	[AF_REASON_MALFORMED_JSON] = "malformed_json",
	[AF_REASON_NOT_OBJECT] = "not_object",
	[AF_REASON_UNKNOWN_SCHEMA] = "unknown_schema",
	[AF_REASON_MISSING_FIELD] = "missing_field",
	[AF_REASON_WRONG_TYPE] = "wrong_type",
	[AF_REASON_BAD_TIMESTAMP] = "bad_timestamp",
	[AF_REASON_OVERSIZE] = "oversize",
	[AF_REASON_INVALID_UTF8] = "invalid_utf8",
	[AF_REASON_NUL_BYTES] = "nul_bytes",
	[AF_REASON_TRUNCATED_STREAM] = "truncated_stream",
	[AF_REASON_MALFORMED_CSV] = "malformed_csv",
};

const char *af_reason_name(enum af_reason reason)
{
	if ((unsigned)reason >= AF_REASON_COUNT)
		return "unknown";
	return af_reason_names[reason];
}
