/* event.c - names of the normalized event's enumerations. */
#include "pipeline/event.h"

const char *af_kind_name(enum af_kind kind)
{
	static const char *const names[AF_KIND_COUNT] = {
		[AF_KIND_OTHER] = "other",
		[AF_KIND_SIGNIN_OK] = "signin_ok",
		[AF_KIND_SIGNIN_FAILED] = "signin_failed",
		[AF_KIND_MAIL_SEND] = "mail_send",
		[AF_KIND_MAIL_DELETE] = "mail_delete",
		[AF_KIND_INBOX_RULE] = "inbox_rule",
		[AF_KIND_MAILBOX_FORWARD] = "mailbox_forward",
		[AF_KIND_MAIL_ACCESS] = "mail_access",
		[AF_KIND_FILE_ACCESS] = "file_access",
	};
	return (unsigned)kind < AF_KIND_COUNT ? names[kind] : "other";
}

const char *af_schema_name(enum af_schema schema)
{
	static const char *const names[AF_SCHEMA_COUNT] = {
		[AF_SCHEMA_NONE] = "none",
		[AF_SCHEMA_M365] = "m365",
		[AF_SCHEMA_ENTRA_GRAPH] = "entra_graph",
		[AF_SCHEMA_ENTRA_DIAG] = "entra_diagnostic",
		[AF_SCHEMA_ENTRA_SENTINEL] = "entra_sentinel",
		[AF_SCHEMA_MSGTRACE] = "message_trace",
		[AF_SCHEMA_OKTA] = "okta",
		[AF_SCHEMA_CLOUDTRAIL] = "cloudtrail",
	};
	return (unsigned)schema < AF_SCHEMA_COUNT ? names[schema] : "none";
}

const char *af_outcome_name(enum af_outcome outcome)
{
	switch (outcome) {
	case AF_OUTCOME_SUCCESS: return "success";
	case AF_OUTCOME_FAILURE: return "failure";
	default: return "unknown";
	}
}
