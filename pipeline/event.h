/* event.h - the normalized event: one fixed-size struct per audit record.
 *
 * Filled by a schema mapper (pipeline/parse/), completed by enrichment
 * (pipeline/enrich/), read by the shard that owns its account. Every string is
 * held inline and bounded, so an event can be copied, queued in a ring or kept
 * in a reorder buffer without owning memory elsewhere; a string longer than
 * its field is cut at a UTF-8 boundary and AF_EV_TRUNCATED is set (the
 * account's hash is always of the full, lower-cased text).
 */
#ifndef AF_EVENT_H
#define AF_EVENT_H

#include <stdint.h>

#include "pipeline/ip.h"

enum af_kind {
	AF_KIND_OTHER = 0,
	AF_KIND_SIGNIN_OK,
	AF_KIND_SIGNIN_FAILED,
	AF_KIND_MAIL_SEND,        /* Send/SendAs/SendOnBehalf, message trace row */
	AF_KIND_MAIL_DELETE,      /* HardDelete/SoftDelete/MoveToDeletedItems */
	AF_KIND_INBOX_RULE,       /* New-/Set-InboxRule, UpdateInboxRules */
	AF_KIND_MAILBOX_FORWARD,  /* Set-Mailbox with forwarding parameters */
	AF_KIND_MAIL_ACCESS,      /* MailItemsAccessed */
	AF_KIND_FILE_ACCESS,      /* SharePoint/OneDrive file operations */
	AF_KIND_COUNT
};

/* Which exporter's schema the record came in. */
enum af_schema {
	AF_SCHEMA_NONE = 0,
	AF_SCHEMA_M365,           /* Management Activity API common schema */
	AF_SCHEMA_ENTRA_GRAPH,    /* Graph signIn resource */
	AF_SCHEMA_ENTRA_DIAG,     /* diagnostic settings / Event Hub form */
	AF_SCHEMA_ENTRA_SENTINEL, /* Log Analytics SigninLogs table */
	AF_SCHEMA_MSGTRACE,       /* Exchange message trace row */
	AF_SCHEMA_OKTA,           /* Okta System Log */
	AF_SCHEMA_CLOUDTRAIL,     /* AWS CloudTrail ConsoleLogin */
	AF_SCHEMA_COUNT
};

enum af_outcome {
	AF_OUTCOME_UNKNOWN = 0,
	AF_OUTCOME_SUCCESS,
	AF_OUTCOME_FAILURE,
};

/* af_event.flags */
enum {
	AF_EV_TRUNCATED = 1u << 0,      /* some string field was cut */
	AF_EV_SAVE_SENT_KNOWN = 1u << 1, /* the record said SaveToSentItems */
	AF_EV_SAVE_SENT = 1u << 2,      /* ...and it was true */
	AF_EV_INTERACTIVE = 1u << 3,    /* interactive sign-in */
	AF_EV_FROM_SENT_ITEMS = 1u << 4, /* a delete/move out of Sent Items */
	AF_EV_RULE_DELETE = 1u << 5,    /* inbox rule deletes messages */
	AF_EV_RULE_MOVE = 1u << 6,      /* moves to Deleted/RSS/Archive/junk */
	AF_EV_RULE_MARK_READ = 1u << 7, /* marks messages read */
	AF_EV_FORWARD = 1u << 8,        /* forwards or redirects mail */
	AF_EV_FORWARD_EXTERNAL = 1u << 9, /* ...to another domain than the account's */
	AF_EV_GEO_FROM_RECORD = 1u << 10, /* geo came from the record (Entra location) */
	AF_EV_NAME_SELF = 1u << 11,     /* a recipient's display name is the sender's */
	/* Set by the runtime, never by a parser: which parts of the event this
	 * copy carries to its shard (pipeline/shard.h): the account part (the
	 * copy that is counted and written out) and/or the address part. */
	AF_EV_PART_ACCOUNT = 1u << 29,
	AF_EV_PART_ADDRESS = 1u << 30,
};

/* Geo/ASN facts about the source address. Zeroed means unknown. */
enum {
	AF_GEO_INTERNAL = 1u << 0,  /* private, loopback, reserved: not looked up */
	AF_GEO_ANONYMOUS = 1u << 1,
	AF_GEO_VPN = 1u << 2,
	AF_GEO_HOSTING = 1u << 3,
	AF_GEO_PROXY = 1u << 4,
	AF_GEO_TOR = 1u << 5,
	AF_GEO_HAS_LOCATION = 1u << 6, /* lat/lon are set */
	AF_GEO_CORPORATE = 1u << 7,    /* in a configured corporate egress network */
	AF_GEO_FOUND = 1u << 8,        /* a database had an answer */
};

struct af_geo {
	char country[4];   /* ISO 3166-1 alpha-2, "" unknown */
	char city[48];
	double lat, lon;
	uint32_t radius_km; /* accuracy radius; 0 unknown */
	uint32_t asn;       /* 0 unknown */
	char as_org[64];
	uint32_t flags;     /* AF_GEO_* */
};

/* Where the record was read: enough to find it again. */
struct af_pos {
	uint32_t input;   /* index of the input (file argument, partition) */
	uint32_t file;    /* index of the file in the run's file table (a
	                     directory input holds several files) */
	uint64_t line;    /* 1-based line of the record's first byte; 0 unknown */
	uint64_t offset;  /* byte offset of the record's first byte in the
	                     (decompressed) input */
	uint64_t seq;     /* record number over the whole run, from 0 */
	uint64_t batch;   /* the runtime's batch it came in (runtime.h):
	                     how the runtime knows when a record is done */
};

/* String field capacities, including the NUL. */
#define AF_ACCOUNT_MAX 128
#define AF_RECORD_ID_MAX 80
#define AF_ACTION_MAX 48
#define AF_APP_MAX 64
#define AF_FOLDER_MAX 64
#define AF_RECIPIENT_MAX 128

struct af_event {
	int64_t ts_ns;           /* event time, ns since epoch, UTC */
	uint64_t account_hash;   /* xxh3 of the full lower-cased account */
	uint64_t ua_hash;        /* xxh3 of the user agent; 0 none */
	uint64_t name_hash;      /* xxh3 of the actor's display name; 0 none */
	uint64_t rcpt_name_hash; /* xxh3 of the recipients' one shared display
	                            name, when they all share one; 0 otherwise */
	uint64_t dedup_key;      /* identity of the record for duplicate
	                            suppression (record id, and recipient for
	                            message trace rows); 0 = none */
	struct af_pos pos;
	struct af_ip src;
	uint8_t kind;            /* enum af_kind */
	uint8_t schema;          /* enum af_schema */
	uint8_t outcome;         /* enum af_outcome */
	uint32_t flags;          /* AF_EV_* */
	int32_t error_code;      /* sign-in error (AADSTS number); 0 none */
	uint32_t recipient_count;
	struct af_geo geo;
	char account[AF_ACCOUNT_MAX];     /* lower-cased UPN or address */
	char record_id[AF_RECORD_ID_MAX]; /* Id / id / MessageTraceId */
	char action[AF_ACTION_MAX];       /* the exporter's operation name */
	char app[AF_APP_MAX];             /* client app / ClientInfoString */
	char folder[AF_FOLDER_MAX];       /* folder path of the item */
	char recipient[AF_RECIPIENT_MAX]; /* message trace recipient */
};

/* Stable snake_case names, used in ECS output and summaries. */
const char *af_kind_name(enum af_kind kind);
const char *af_schema_name(enum af_schema schema);
const char *af_outcome_name(enum af_outcome outcome);

#endif
