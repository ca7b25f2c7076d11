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
	{"CreationTime", AF_F_CREATION_TIME, 0},
	{"TimeGenerated", AF_F_CREATION_TIME, 0},
	{"Id", AF_F_ID, 0},
	{"OfficeId", AF_F_ID, 0}, /* Log Analytics OfficeActivity's name for Id */
	{"properties.id", AF_F_ID, 0},
	{"Operation", AF_F_OPERATION, 0},
	{"RecordType", AF_F_RECORD_TYPE, 0},
	{"Workload", AF_F_WORKLOAD, 0},
	{"OfficeWorkload", AF_F_WORKLOAD, 0},
	{"UserId", AF_F_USER_ID, 0},
	{"ClientIP", AF_F_CLIENT_IP, 0},
	{"ClientIPAddress", AF_F_CLIENT_IP, 0},
	{"Client_IPAddress", AF_F_CLIENT_IP, 0},
	{"ActorIpAddress", AF_F_ACTOR_IP, 0},
	{"ResultStatus", AF_F_RESULT_STATUS, 0},
	{"LogonError", AF_F_LOGON_ERROR, 0},
	{"ErrorNumber", AF_F_ERROR_NUMBER, 0},
	{"ErrorCode", AF_F_ERROR_NUMBER, 0},
	{"ExtendedProperties", AF_F_EXTENDED_PROPERTIES, 0},
	{"ExtendedProperties[].Name", AF_NV_NAME, AF_A_EXTENDED_PROPERTIES},
	{"ExtendedProperties[].Value", AF_NV_VALUE, AF_A_EXTENDED_PROPERTIES},
	{"ClientInfoString", AF_F_CLIENT_INFO, 0},
	{"SaveToSentItems", AF_F_SAVE_TO_SENT, 0},
	{"Item.ParentFolder.Path", AF_F_ITEM_FOLDER, 0},
	{"Folder.Path", AF_F_FOLDER_PATH, 0},
	{"AffectedItems", AF_F_AFFECTED_ITEMS, 0},
	{"AffectedItems[].ParentFolder.Path", AF_ITEM_FOLDER, AF_A_AFFECTED_ITEMS},
	{"recipientCount", AF_F_RECIPIENT_COUNT, 0},
	{"recipientList", AF_F_RECIPIENT_LIST, 0},
	{"recipientList[].Address", AF_RCPT_ADDRESS, AF_A_RECIPIENTS},
	{"recipientList[].EmailAddress", AF_RCPT_ADDRESS, AF_A_RECIPIENTS},
	{"recipientList[].Name", AF_RCPT_NAME, AF_A_RECIPIENTS},
	{"recipientList[].DisplayName", AF_RCPT_NAME, AF_A_RECIPIENTS},
	{"Parameters", AF_F_PARAMETERS, 0},
	{"Parameters[].Name", AF_NV_NAME, AF_A_PARAMETERS},
	{"Parameters[].Value", AF_NV_VALUE, AF_A_PARAMETERS},
	{"OperationProperties", AF_F_OPERATION_PROPERTIES, 0},
	{"OperationProperties[].Name", AF_NV_NAME, AF_A_OPERATION_PROPERTIES},
	{"OperationProperties[].Value", AF_NV_VALUE, AF_A_OPERATION_PROPERTIES},
	{"LogonUserDisplayName", AF_F_LOGON_USER_DISPLAY_NAME, 0},
	{"MailboxOwnerUPN", AF_F_MAILBOX_OWNER_UPN, 0},
	{"UserAgent", AF_F_USER_AGENT, 0},
	{"properties.userAgent", AF_F_USER_AGENT, 0},
	{"ApplicationId", AF_F_APPLICATION_ID, 0},

	{"createdDateTime", AF_F_CREATED, 0},
	{"properties.createdDateTime", AF_F_CREATED, 0},
	{"time", AF_F_TIME, 0},
	{"category", AF_F_CATEGORY, 0},
	{"operationName", AF_F_OPERATION_NAME, 0},
	{"userPrincipalName", AF_F_UPN, 0},
	{"properties.userPrincipalName", AF_F_UPN, 0},
	{"servicePrincipalName", AF_F_SP_NAME, 0},
	{"properties.servicePrincipalName", AF_F_SP_NAME, 0},
	{"userDisplayName", AF_F_USER_DISPLAY_NAME, 0},
	{"properties.userDisplayName", AF_F_USER_DISPLAY_NAME, 0},
	{"ipAddress", AF_F_IP_ADDRESS, 0},
	{"properties.ipAddress", AF_F_IP_ADDRESS, 0},
	{"callerIpAddress", AF_F_CALLER_IP, 0},
	{"status", AF_F_STATUS, 0},
	{"status.errorCode", AF_F_STATUS_ERROR, 0},
	{"properties.status.errorCode", AF_F_STATUS_ERROR, 0},
	{"resultType", AF_F_RESULT_TYPE, 0},
	{"clientAppUsed", AF_F_CLIENT_APP, 0},
	{"properties.clientAppUsed", AF_F_CLIENT_APP, 0},
	{"appDisplayName", AF_F_APP_DISPLAY_NAME, 0},
	{"properties.appDisplayName", AF_F_APP_DISPLAY_NAME, 0},
	{"isInteractive", AF_F_IS_INTERACTIVE, 0},
	{"properties.isInteractive", AF_F_IS_INTERACTIVE, 0},
	{"location.city", AF_F_LOC_CITY, 0},
	{"properties.location.city", AF_F_LOC_CITY, 0},
	{"location.countryOrRegion", AF_F_LOC_COUNTRY, 0},
	{"properties.location.countryOrRegion", AF_F_LOC_COUNTRY, 0},
	{"location.geoCoordinates.latitude", AF_F_LOC_LAT, 0},
	{"properties.location.geoCoordinates.latitude", AF_F_LOC_LAT, 0},
	{"location.geoCoordinates.longitude", AF_F_LOC_LON, 0},
	{"properties.location.geoCoordinates.longitude", AF_F_LOC_LON, 0},
	{"LocationDetails", AF_F_LOCATION_DETAILS, 0},
	{"properties.initiatedBy.user.userPrincipalName", AF_F_INITIATOR_UPN, 0},
	{"initiatedBy.user.userPrincipalName", AF_F_INITIATOR_UPN, 0},
	{"properties.initiatedBy.app.displayName", AF_F_INITIATOR_APP, 0},
	{"initiatedBy.app.displayName", AF_F_INITIATOR_APP, 0},
	{"InitiatedBy", AF_F_INITIATED_BY, 0},

	{"Received", AF_F_RECEIVED, 0},
	{"receivedDateTime", AF_F_RECEIVED, 0},
	{"SenderAddress", AF_F_SENDER, 0},
	{"RecipientAddress", AF_F_RECIPIENT, 0},
	{"FromIP", AF_F_FROM_IP, 0},
	{"MessageTraceId", AF_F_MESSAGE_TRACE_ID, 0},

	{"published", AF_F_PUBLISHED, 0},
	{"eventType", AF_F_EVENT_TYPE, 0},
	{"actor.alternateId", AF_F_ACTOR_ALT_ID, 0},
	{"actor.displayName", AF_F_ACTOR_DISPLAY_NAME, 0},
	{"client.ipAddress", AF_F_OKTA_CLIENT_IP, 0},
	{"client.userAgent.rawUserAgent", AF_F_OKTA_USER_AGENT, 0},
	{"client.geographicalContext.city", AF_F_OKTA_CITY, 0},
	{"client.geographicalContext.geolocation.lat", AF_F_OKTA_LAT, 0},
	{"client.geographicalContext.geolocation.lon", AF_F_OKTA_LON, 0},
	{"outcome.result", AF_F_OKTA_RESULT, 0},
	{"uuid", AF_F_UUID, 0},

	{"eventTime", AF_F_EVENT_TIME, 0},
	{"eventName", AF_F_EVENT_NAME, 0},
	{"eventSource", AF_F_EVENT_SOURCE, 0},
	{"eventID", AF_F_EVENT_ID, 0},
	{"sourceIPAddress", AF_F_SOURCE_IP, 0},
	{"userIdentity.arn", AF_F_IDENTITY_ARN, 0},
	{"userIdentity.userName", AF_F_IDENTITY_USER, 0},
	{"responseElements.ConsoleLogin", AF_F_CONSOLE_LOGIN, 0},
};
const size_t af_fields_record_count = N(af_fields_record);

const struct af_jpath af_fields_nv[] = {
	{"Name", AF_NV_NAME, 0},
	{"Value", AF_NV_VALUE, 0},
};
const size_t af_fields_nv_count = N(af_fields_nv);

const struct af_jpath af_fields_rcpt[] = {
	{"Address", AF_RCPT_ADDRESS, 0},
	{"EmailAddress", AF_RCPT_ADDRESS, 0},
	{"Name", AF_RCPT_NAME, 0},
	{"DisplayName", AF_RCPT_NAME, 0},
};
const size_t af_fields_rcpt_count = N(af_fields_rcpt);

const struct af_jpath af_fields_item[] = {
	{"ParentFolder.Path", AF_ITEM_FOLDER, 0},
};
const size_t af_fields_item_count = N(af_fields_item);

const struct af_jpath af_fields_locd[] = {
	{"city", AF_LOCD_CITY, 0},
	{"countryOrRegion", AF_LOCD_COUNTRY, 0},
	{"geoCoordinates.latitude", AF_LOCD_LAT, 0},
	{"geoCoordinates.longitude", AF_LOCD_LON, 0},
};
const size_t af_fields_locd_count = N(af_fields_locd);

const struct af_jpath af_fields_init[] = {
	{"user.userPrincipalName", AF_INIT_UPN, 0},
	{"app.displayName", AF_INIT_APP, 0},
};
const size_t af_fields_init_count = N(af_fields_init);
