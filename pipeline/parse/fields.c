/* fields.c - the paths behind each slot of fields.h.
 *
 * Keys match without regard to ASCII case, so one path covers
 * "CreationTime" (Management Activity API) and "creationtime" (exports that
 * lower-case keys). Where one exporter nests what another puts at the top
 * level, both paths name the same slot.
 */
#include "pipeline/parse/fields.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

const struct af_jpath af_fields_record[] = {
	{"CreationTime", AF_F_CREATION_TIME},
	{"TimeGenerated", AF_F_CREATION_TIME},
	{"Id", AF_F_ID},
	{"OfficeId", AF_F_ID}, /* Log Analytics OfficeActivity's name for Id */
	{"properties.id", AF_F_ID},
	{"Operation", AF_F_OPERATION},
	{"RecordType", AF_F_RECORD_TYPE},
	{"Workload", AF_F_WORKLOAD},
	{"OfficeWorkload", AF_F_WORKLOAD},
	{"UserId", AF_F_USER_ID},
	{"ClientIP", AF_F_CLIENT_IP},
	{"ClientIPAddress", AF_F_CLIENT_IP},
	{"Client_IPAddress", AF_F_CLIENT_IP},
	{"ActorIpAddress", AF_F_ACTOR_IP},
	{"ResultStatus", AF_F_RESULT_STATUS},
	{"LogonError", AF_F_LOGON_ERROR},
	{"ErrorNumber", AF_F_ERROR_NUMBER},
	{"ErrorCode", AF_F_ERROR_NUMBER},
	{"ExtendedProperties", AF_F_EXTENDED_PROPERTIES},
	{"ClientInfoString", AF_F_CLIENT_INFO},
	{"SaveToSentItems", AF_F_SAVE_TO_SENT},
	{"Item.ParentFolder.Path", AF_F_ITEM_FOLDER},
	{"Folder.Path", AF_F_FOLDER_PATH},
	{"AffectedItems", AF_F_AFFECTED_ITEMS},
	{"recipientCount", AF_F_RECIPIENT_COUNT},
	{"recipientList", AF_F_RECIPIENT_LIST},
	{"Parameters", AF_F_PARAMETERS},
	{"OperationProperties", AF_F_OPERATION_PROPERTIES},
	{"LogonUserDisplayName", AF_F_LOGON_USER_DISPLAY_NAME},
	{"MailboxOwnerUPN", AF_F_MAILBOX_OWNER_UPN},
	{"UserAgent", AF_F_USER_AGENT},
	{"properties.userAgent", AF_F_USER_AGENT},
	{"ApplicationId", AF_F_APPLICATION_ID},

	{"createdDateTime", AF_F_CREATED},
	{"properties.createdDateTime", AF_F_CREATED},
	{"time", AF_F_TIME},
	{"category", AF_F_CATEGORY},
	{"operationName", AF_F_OPERATION_NAME},
	{"userPrincipalName", AF_F_UPN},
	{"properties.userPrincipalName", AF_F_UPN},
	{"servicePrincipalName", AF_F_SP_NAME},
	{"properties.servicePrincipalName", AF_F_SP_NAME},
	{"userDisplayName", AF_F_USER_DISPLAY_NAME},
	{"properties.userDisplayName", AF_F_USER_DISPLAY_NAME},
	{"ipAddress", AF_F_IP_ADDRESS},
	{"properties.ipAddress", AF_F_IP_ADDRESS},
	{"callerIpAddress", AF_F_CALLER_IP},
	{"status", AF_F_STATUS},
	{"status.errorCode", AF_F_STATUS_ERROR},
	{"properties.status.errorCode", AF_F_STATUS_ERROR},
	{"resultType", AF_F_RESULT_TYPE},
	{"clientAppUsed", AF_F_CLIENT_APP},
	{"properties.clientAppUsed", AF_F_CLIENT_APP},
	{"appDisplayName", AF_F_APP_DISPLAY_NAME},
	{"properties.appDisplayName", AF_F_APP_DISPLAY_NAME},
	{"isInteractive", AF_F_IS_INTERACTIVE},
	{"properties.isInteractive", AF_F_IS_INTERACTIVE},
	{"location.city", AF_F_LOC_CITY},
	{"properties.location.city", AF_F_LOC_CITY},
	{"location.countryOrRegion", AF_F_LOC_COUNTRY},
	{"properties.location.countryOrRegion", AF_F_LOC_COUNTRY},
	{"location.geoCoordinates.latitude", AF_F_LOC_LAT},
	{"properties.location.geoCoordinates.latitude", AF_F_LOC_LAT},
	{"location.geoCoordinates.longitude", AF_F_LOC_LON},
	{"properties.location.geoCoordinates.longitude", AF_F_LOC_LON},
	{"LocationDetails", AF_F_LOCATION_DETAILS},
	{"properties.initiatedBy.user.userPrincipalName", AF_F_INITIATOR_UPN},
	{"initiatedBy.user.userPrincipalName", AF_F_INITIATOR_UPN},
	{"properties.initiatedBy.app.displayName", AF_F_INITIATOR_APP},
	{"initiatedBy.app.displayName", AF_F_INITIATOR_APP},
	{"InitiatedBy", AF_F_INITIATED_BY},

	{"Received", AF_F_RECEIVED},
	{"receivedDateTime", AF_F_RECEIVED},
	{"SenderAddress", AF_F_SENDER},
	{"RecipientAddress", AF_F_RECIPIENT},
	{"FromIP", AF_F_FROM_IP},
	{"MessageTraceId", AF_F_MESSAGE_TRACE_ID},

	{"published", AF_F_PUBLISHED},
	{"eventType", AF_F_EVENT_TYPE},
	{"actor.alternateId", AF_F_ACTOR_ALT_ID},
	{"actor.displayName", AF_F_ACTOR_DISPLAY_NAME},
	{"client.ipAddress", AF_F_OKTA_CLIENT_IP},
	{"client.userAgent.rawUserAgent", AF_F_OKTA_USER_AGENT},
	{"client.geographicalContext.city", AF_F_OKTA_CITY},
	{"client.geographicalContext.geolocation.lat", AF_F_OKTA_LAT},
	{"client.geographicalContext.geolocation.lon", AF_F_OKTA_LON},
	{"outcome.result", AF_F_OKTA_RESULT},
	{"uuid", AF_F_UUID},

	{"eventTime", AF_F_EVENT_TIME},
	{"eventName", AF_F_EVENT_NAME},
	{"eventSource", AF_F_EVENT_SOURCE},
	{"eventID", AF_F_EVENT_ID},
	{"sourceIPAddress", AF_F_SOURCE_IP},
	{"userIdentity.arn", AF_F_IDENTITY_ARN},
	{"userIdentity.userName", AF_F_IDENTITY_USER},
	{"responseElements.ConsoleLogin", AF_F_CONSOLE_LOGIN},
};
const size_t af_fields_record_count = N(af_fields_record);

const struct af_jpath af_fields_nv[] = {
	{"Name", AF_NV_NAME},
	{"Value", AF_NV_VALUE},
};
const size_t af_fields_nv_count = N(af_fields_nv);

const struct af_jpath af_fields_rcpt[] = {
	{"Address", AF_RCPT_ADDRESS},
	{"EmailAddress", AF_RCPT_ADDRESS},
	{"Name", AF_RCPT_NAME},
	{"DisplayName", AF_RCPT_NAME},
};
const size_t af_fields_rcpt_count = N(af_fields_rcpt);

const struct af_jpath af_fields_item[] = {
	{"ParentFolder.Path", AF_ITEM_FOLDER},
};
const size_t af_fields_item_count = N(af_fields_item);

const struct af_jpath af_fields_locd[] = {
	{"city", AF_LOCD_CITY},
	{"countryOrRegion", AF_LOCD_COUNTRY},
	{"geoCoordinates.latitude", AF_LOCD_LAT},
	{"geoCoordinates.longitude", AF_LOCD_LON},
};
const size_t af_fields_locd_count = N(af_fields_locd);

const struct af_jpath af_fields_init[] = {
	{"user.userPrincipalName", AF_INIT_UPN},
	{"app.displayName", AF_INIT_APP},
};
const size_t af_fields_init_count = N(af_fields_init);
