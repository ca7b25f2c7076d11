/* fields.h - every field any schema mapper reads, as one slot table.
 *
 * Thread: any (read-only data).
 * DESIGN: the parse stage extracts the union of all mappers' fields in one
 * pass (json.h), then the record's schema is told from which slots are
 * present. Paths that mean the same thing in different exporters (Graph's
 * top-level "ipAddress", the diagnostic form's "properties.ipAddress", Log
 * Analytics' "IPAddress") share one slot, so a mapper reads one place.
 */
#ifndef AF_FIELDS_H
#define AF_FIELDS_H

#include <stddef.h>

#include "pipeline/parse/json.h"

enum af_field {
	/* Management Activity API common schema and its workloads */
	AF_F_CREATION_TIME,
	AF_F_ID,
	AF_F_OPERATION,
	AF_F_RECORD_TYPE,
	AF_F_WORKLOAD,
	AF_F_USER_ID,
	AF_F_CLIENT_IP,
	AF_F_ACTOR_IP,
	AF_F_RESULT_STATUS,
	AF_F_LOGON_ERROR,
	AF_F_ERROR_NUMBER,
	AF_F_EXTENDED_PROPERTIES,
	AF_F_CLIENT_INFO,
	AF_F_SAVE_TO_SENT,
	AF_F_ITEM_FOLDER,
	AF_F_FOLDER_PATH,
	AF_F_AFFECTED_ITEMS,
	AF_F_RECIPIENT_COUNT,
	AF_F_RECIPIENT_LIST,
	AF_F_PARAMETERS,
	AF_F_OPERATION_PROPERTIES,
	AF_F_LOGON_USER_DISPLAY_NAME,
	AF_F_MAILBOX_OWNER_UPN,
	AF_F_USER_AGENT,
	AF_F_APPLICATION_ID,
	/* Entra ID sign-ins: Graph, diagnostic settings, Log Analytics */
	AF_F_CREATED,
	AF_F_TIME,
	AF_F_CATEGORY,
	AF_F_OPERATION_NAME,
	AF_F_UPN,
	AF_F_SP_NAME,
	AF_F_USER_DISPLAY_NAME,
	AF_F_IP_ADDRESS,
	AF_F_CALLER_IP,
	AF_F_STATUS,          /* message trace's string status, too */
	AF_F_STATUS_ERROR,
	AF_F_RESULT_TYPE,
	AF_F_CLIENT_APP,
	AF_F_APP_DISPLAY_NAME,
	AF_F_IS_INTERACTIVE,
	AF_F_LOC_CITY,
	AF_F_LOC_COUNTRY,
	AF_F_LOC_LAT,
	AF_F_LOC_LON,
	AF_F_LOCATION_DETAILS, /* Log Analytics: object or JSON in a string */
	AF_F_INITIATOR_UPN,    /* directory audit: initiatedBy.user */
	AF_F_INITIATOR_APP,
	AF_F_INITIATED_BY,     /* Log Analytics AuditLogs: JSON in a string */
	/* Exchange message trace */
	AF_F_RECEIVED,
	AF_F_SENDER,
	AF_F_RECIPIENT,
	AF_F_FROM_IP,
	AF_F_MESSAGE_TRACE_ID,
	/* Okta System Log */
	AF_F_PUBLISHED,
	AF_F_EVENT_TYPE,
	AF_F_ACTOR_ALT_ID,
	AF_F_ACTOR_DISPLAY_NAME,
	AF_F_OKTA_CLIENT_IP,
	AF_F_OKTA_USER_AGENT,
	AF_F_OKTA_RESULT,
	AF_F_OKTA_CITY,
	AF_F_OKTA_LAT,
	AF_F_OKTA_LON,
	AF_F_UUID,
	/* CloudTrail */
	AF_F_EVENT_TIME,
	AF_F_EVENT_NAME,
	AF_F_EVENT_SOURCE,
	AF_F_EVENT_ID,
	AF_F_SOURCE_IP,
	AF_F_IDENTITY_ARN,
	AF_F_IDENTITY_USER,
	AF_F_CONSOLE_LOGIN,
	AF_F_COUNT
};

/* Arrays walked in the extraction pass (json.h's af_jpath.array). */
enum af_array {
	AF_A_NONE = 0,
	AF_A_EXTENDED_PROPERTIES,   /* Name/Value */
	AF_A_PARAMETERS,            /* Name/Value */
	AF_A_OPERATION_PROPERTIES,  /* Name/Value */
	AF_A_RECIPIENTS,            /* recipientList */
	AF_A_AFFECTED_ITEMS,        /* AffectedItems */
};

/* Fields of one element of a Name/Value array (Parameters,
 * ExtendedProperties, OperationProperties). */
enum af_nv_field { AF_NV_NAME, AF_NV_VALUE, AF_NV_COUNT };

/* Fields of one recipientList element. */
enum af_rcpt_field { AF_RCPT_ADDRESS, AF_RCPT_NAME, AF_RCPT_COUNT };

/* Fields of one AffectedItems element. */
enum af_item_field { AF_ITEM_FOLDER, AF_ITEM_COUNT };

/* Fields of a Log Analytics LocationDetails object. */
enum af_locd_field { AF_LOCD_CITY, AF_LOCD_COUNTRY, AF_LOCD_LAT, AF_LOCD_LON, AF_LOCD_COUNT };

/* Fields of an initiatedBy object held as text. */
enum af_init_field { AF_INIT_UPN, AF_INIT_APP, AF_INIT_COUNT };

extern const struct af_jpath af_fields_init[];
extern const size_t af_fields_init_count;
extern const struct af_jpath af_fields_record[];
extern const size_t af_fields_record_count;
extern const struct af_jpath af_fields_nv[];
extern const size_t af_fields_nv_count;
extern const struct af_jpath af_fields_rcpt[];
extern const size_t af_fields_rcpt_count;
extern const struct af_jpath af_fields_item[];
extern const size_t af_fields_item_count;
extern const struct af_jpath af_fields_locd[];
extern const size_t af_fields_locd_count;

#endif
