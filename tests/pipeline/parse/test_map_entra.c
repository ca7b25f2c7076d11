/* test_map_entra.c - the Entra ID mapper (map_entra.c), field by field, on
 * sign-ins in the three shapes Microsoft exports them (the Graph signIn
 * resource, the diagnostic-settings form with the sign-in under
 * "properties", Log Analytics' SigninLogs table) and on directory audits.
 *
 * Records are written with ' for " to stay readable; parse() swaps them.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "parse_test.h"

TestSuite(entra, .init = af_parse_test_setup, .fini = af_parse_test_teardown);

/* --- the Graph signIn resource --- */

#define LOCATION                                                                                   \
	"'location':{'city':'Ashburn','state':'Virginia','countryOrRegion':'US',"                  \
	"'geoCoordinates':{'altitude':null,'latitude':39.0438,'longitude':-77.4874}}"

#define GRAPH(status, rest)                                                                        \
	"{'id':'66ea54eb-6301-4ee5-be62-ff5a759b0100','createdDateTime':'2025-08-25T05:58:00Z',"   \
	"'userDisplayName':'Nguyen Van A','userPrincipalName':'Nguyen.Van.A@Contoso.com',"         \
	"'userId':'d7cc485d-2c1b-422c-98fd-5ce52859a4a3','appId':"                                 \
	"'00000002-0000-0ff1-ce00-000000000000','appDisplayName':"                                 \
	"'Office 365 Exchange Online','ipAddress':'198.51.100.7','clientAppUsed':'Browser',"       \
	"'correlationId':'d79f5bee-5860-4832-928f-3133e22ae912','conditionalAccessStatus':"        \
	"'notApplied','riskDetail':'none','riskLevelAggregated':'none','riskLevelDuringSignIn':"   \
	"'none','riskState':'none','riskEventTypes':[],'resourceDisplayName':"                     \
	"'Office 365 Exchange Online','status':" status ",'deviceDetail':{'deviceId':'',"          \
	"'displayName':null,'operatingSystem':'Windows 10','browser':'Edge 124.0.0',"              \
	"'isCompliant':false,'isManaged':false,'trustType':null}," LOCATION ","                    \
	"'appliedConditionalAccessPolicies':[]" rest "}"

#define OK_STATUS "{'errorCode':0,'failureReason':'Other.','additionalDetails':null}"
#define BAD_PASSWORD                                                                               \
	"{'errorCode':50126,'failureReason':'Error validating credentials due to invalid "         \
	"username or password.','additionalDetails':null}"

Test(entra, maps_a_successful_graph_sign_in)
{
	parse_as(GRAPH(OK_STATUS, ",'isInteractive':true"), AF_SCHEMA_ENTRA_GRAPH);
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_OK);
	cr_assert_eq(ev.outcome, AF_OUTCOME_SUCCESS);
	cr_assert_eq(ev.error_code, 0);
	cr_assert_eq(ev.ts_ns, T0);
	cr_assert_str_eq(ev.account, "nguyen.van.a@contoso.com");
	cr_assert_eq(ev.account_hash, h("nguyen.van.a@contoso.com"));
	cr_assert_str_eq(ev.record_id, "66ea54eb-6301-4ee5-be62-ff5a759b0100");
	cr_assert_str_eq(ev.action, "Sign-in activity");
	cr_assert_str_eq(ev.app, "Browser");
	cr_assert_eq(ev.name_hash, h("nguyen van a"));
	cr_assert_eq(ev.src.family, AF_IP_V4);
	cr_assert_eq(ev.src.bytes[15], 7);
	cr_assert(ev.flags & AF_EV_INTERACTIVE);
}

Test(entra, maps_a_graph_sign_in_with_error_50126_as_a_failure)
{
	parse_as(GRAPH(BAD_PASSWORD, ",'isInteractive':true"), AF_SCHEMA_ENTRA_GRAPH);
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_FAILED);
	cr_assert_eq(ev.outcome, AF_OUTCOME_FAILURE);
	cr_assert_eq(ev.error_code, 50126);
}

Test(entra, reads_the_location_the_record_gives)
{
	parse_as(GRAPH(OK_STATUS, ""), AF_SCHEMA_ENTRA_GRAPH);
	cr_assert_str_eq(ev.geo.country, "US");
	cr_assert_str_eq(ev.geo.city, "Ashburn");
	cr_assert_float_eq(ev.geo.lat, 39.0438, 1e-9);
	cr_assert_float_eq(ev.geo.lon, -77.4874, 1e-9);
	cr_assert(ev.geo.flags & AF_GEO_HAS_LOCATION);
	cr_assert(ev.flags & AF_EV_GEO_FROM_RECORD);
}

Test(entra, reads_no_coordinates_from_zero_zero)
{
	parse_as("{'createdDateTime':'2025-08-25T05:58:00Z','userPrincipalName':'a@b.c',"
	         "'status':{'errorCode':0},'location':{'city':'Hanoi','countryOrRegion':'vn',"
	         "'geoCoordinates':{'latitude':0,'longitude':0}}}",
	         AF_SCHEMA_ENTRA_GRAPH);
	cr_assert_str_eq(ev.geo.country, "VN");
	cr_assert_str_eq(ev.geo.city, "Hanoi");
	cr_assert_eq(ev.geo.flags & AF_GEO_HAS_LOCATION, 0);
	cr_assert(ev.flags & AF_EV_GEO_FROM_RECORD);
}

Test(entra, reads_no_coordinates_out_of_range)
{
	parse_as("{'createdDateTime':'2025-08-25T05:58:00Z','userPrincipalName':'a@b.c',"
	         "'status':{'errorCode':0},'location':{'geoCoordinates':{'latitude':91.5,"
	         "'longitude':10}}}",
	         AF_SCHEMA_ENTRA_GRAPH);
	cr_assert_eq(ev.geo.flags & AF_GEO_HAS_LOCATION, 0);
	cr_assert_eq(ev.flags & AF_EV_GEO_FROM_RECORD, 0);
}

Test(entra, keeps_only_a_two_letter_country_code)
{
	parse_as("{'createdDateTime':'2025-08-25T05:58:00Z','userPrincipalName':'a@b.c',"
	         "'status':{'errorCode':0},'location':{'city':'Beijing','countryOrRegion':"
	         "'China'}}",
	         AF_SCHEMA_ENTRA_GRAPH);
	cr_assert_str_eq(ev.geo.country, "");
	cr_assert_str_eq(ev.geo.city, "Beijing");
	/* Two bytes, one letter: not a code, and not to be cut into one. */
	parse_as("{'createdDateTime':'2025-08-25T05:58:00Z','userPrincipalName':'a@b.c',"
	         "'status':{'errorCode':0},'location':{'countryOrRegion':'\\u00e9'}}",
	         AF_SCHEMA_ENTRA_GRAPH);
	cr_assert_str_eq(ev.geo.country, "");
	cr_assert_eq(ev.flags & AF_EV_GEO_FROM_RECORD, 0);
}

Test(entra, takes_the_app_name_when_the_client_app_is_not_given)
{
	parse_as("{'createdDateTime':'2025-08-25T05:58:00Z','userPrincipalName':'a@b.c',"
	         "'status':{'errorCode':0},'appDisplayName':'Azure Portal'}",
	         AF_SCHEMA_ENTRA_GRAPH);
	cr_assert_str_eq(ev.app, "Azure Portal");
}

Test(entra, leaves_a_sign_in_marked_non_interactive_unflagged)
{
	parse_as(GRAPH(OK_STATUS, ",'isInteractive':false"), AF_SCHEMA_ENTRA_GRAPH);
	cr_assert_eq(ev.flags & AF_EV_INTERACTIVE, 0);
}

Test(entra, dead_letters_a_sign_in_with_no_status)
{
	parse_fails("{'createdDateTime':'2025-08-25T05:58:00Z','userPrincipalName':'a@b.c',"
	            "'ipAddress':'198.51.100.7'}",
	            AF_REASON_MISSING_FIELD, "status");
	parse_fails("{'createdDateTime':'2025-08-25T05:58:00Z','userPrincipalName':'a@b.c',"
	            "'status':{'failureReason':'Other.'}}",
	            AF_REASON_MISSING_FIELD, "status");
	cr_assert_eq(ev.schema, AF_SCHEMA_ENTRA_GRAPH);
}

Test(entra, dead_letters_an_error_code_that_is_not_a_number)
{
	parse_fails("{'createdDateTime':'2025-08-25T05:58:00Z','userPrincipalName':'a@b.c',"
	            "'status':{'errorCode':'none'}}",
	            AF_REASON_WRONG_TYPE, "status.errorCode");
	parse_fails("{'createdDateTime':'2025-08-25T05:58:00Z','userPrincipalName':'a@b.c',"
	            "'status':{'errorCode':true}}",
	            AF_REASON_WRONG_TYPE, "status.errorCode");
}

Test(entra, dead_letters_an_event_time_it_cannot_read)
{
	parse_fails("{'createdDateTime':'25/08/2025','userPrincipalName':'a@b.c',"
	            "'status':{'errorCode':0}}",
	            AF_REASON_BAD_TIMESTAMP, "createdDateTime");
}

/* --- the diagnostic-settings (Event Hub, storage) form --- */

#define DIAG(category, props)                                                                      \
	"{'time':'2025-08-25T05:58:03.1234567Z','resourceId':'/tenants/b1f0c3a2/providers/"        \
	"Microsoft.aadiam','operationName':'Sign-in activity','operationVersion':'1.0',"           \
	"'category':'" category "','tenantId':'b1f0c3a2','resultType':'0',"                        \
	"'resultSignature':'None','resultDescription':'','durationMs':0,"                          \
	"'callerIpAddress':'198.51.100.7','correlationId':'c0ffee00','identity':"                  \
	"'Nguyen Van A','Level':4,'location':'US','properties':{" props "}}"

#define USER_PROPS                                                                                 \
	"'id':'0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b','createdDateTime':"                           \
	"'2025-08-25T05:58:00Z','userDisplayName':'Nguyen Van A','userPrincipalName':"             \
	"'nguyen.van.a@contoso.com','userId':'d7cc485d','appDisplayName':'Microsoft Office',"      \
	"'ipAddress':'2001:db8::42','clientAppUsed':'Mobile Apps and Desktop clients',"            \
	"'userAgent':'Mozilla/5.0 (Windows NT 10.0; Microsoft Outlook 16.0)',"                     \
	"'status':{'errorCode':0}," LOCATION

Test(entra, maps_a_sign_in_in_the_diagnostic_form)
{
	parse_as(DIAG("SignInLogs", USER_PROPS ",'isInteractive':true"), AF_SCHEMA_ENTRA_DIAG);
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_OK);
	cr_assert_str_eq(ev.account, "nguyen.van.a@contoso.com");
	cr_assert_str_eq(ev.record_id, "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b");
	cr_assert_str_eq(ev.action, "Sign-in activity");
	cr_assert_str_eq(ev.app, "Mobile Apps and Desktop clients");
	cr_assert_eq(ev.ua_hash, h("Mozilla/5.0 (Windows NT 10.0; Microsoft Outlook 16.0)"));
	cr_assert_str_eq(ev.geo.country, "US");
	cr_assert(ev.flags & AF_EV_INTERACTIVE);
}

Test(entra, takes_the_sign_in_time_over_the_time_the_record_was_written)
{
	parse_as(DIAG("SignInLogs", USER_PROPS), AF_SCHEMA_ENTRA_DIAG);
	cr_assert_eq(ev.ts_ns, T0);
}

Test(entra, takes_the_record_time_when_the_sign_in_time_is_missing)
{
	parse_as(DIAG("SignInLogs", "'userPrincipalName':'a@b.c','status':{'errorCode':0}"),
	         AF_SCHEMA_ENTRA_DIAG);
	cr_assert_eq(ev.ts_ns, T0 + 3123456700LL);
}

Test(entra, takes_the_sign_in_address_over_the_callers)
{
	char text[AF_IP_TEXT_MAX];

	parse_as(DIAG("SignInLogs", USER_PROPS), AF_SCHEMA_ENTRA_DIAG);
	af_ip_format(&ev.src, text, sizeof text);
	cr_assert_str_eq(text, "2001:db8::42");
}

Test(entra, treats_a_sign_in_log_without_is_interactive_as_interactive)
{
	parse_as(DIAG("SignInLogs", USER_PROPS), AF_SCHEMA_ENTRA_DIAG);
	cr_assert(ev.flags & AF_EV_INTERACTIVE);
}

Test(entra, maps_a_non_interactive_user_sign_in)
{
	parse_as(DIAG("NonInteractiveUserSignInLogs", USER_PROPS), AF_SCHEMA_ENTRA_DIAG);
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_OK);
	cr_assert_str_eq(ev.account, "nguyen.van.a@contoso.com");
	cr_assert_eq(ev.flags & AF_EV_INTERACTIVE, 0);
}

Test(entra, maps_a_service_principal_sign_in_to_its_name)
{
	parse_as(DIAG("ServicePrincipalSignInLogs",
	              "'id':'36658c78-02d9-4d8f-84ee-5ca4a3fdefef','createdDateTime':"
	              "'2025-08-25T05:58:00Z','appId':'a0b1c2d3','servicePrincipalId':'e4f5',"
	              "'servicePrincipalName':'Contoso-Backup-Agent','ipAddress':'203.0.113.80',"
	              "'isInteractive':false,'resourceDisplayName':'Microsoft Graph',"
	              "'status':{'errorCode':7000215},'clientCredentialType':'clientSecret'"),
	         AF_SCHEMA_ENTRA_DIAG);
	cr_assert_str_eq(ev.account, "contoso-backup-agent");
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_FAILED);
	cr_assert_eq(ev.error_code, 7000215);
	cr_assert_eq(ev.flags & AF_EV_INTERACTIVE, 0);
}

Test(entra, reads_a_result_type_written_as_a_word)
{
	parse_as("{'time':'2025-08-25T05:58:00Z','category':'SignInLogs','resultType':'Failure',"
	         "'properties':{'userPrincipalName':'a@b.c'}}",
	         AF_SCHEMA_ENTRA_DIAG);
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_FAILED);
	cr_assert_eq(ev.error_code, 0);
	parse_as("{'time':'2025-08-25T05:58:00Z','category':'SignInLogs','resultType':'Success',"
	         "'properties':{'userPrincipalName':'a@b.c'}}",
	         AF_SCHEMA_ENTRA_DIAG);
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_OK);
}

Test(entra, dead_letters_a_sign_in_with_no_account)
{
	parse_fails(DIAG("SignInLogs", "'status':{'errorCode':0},'ipAddress':'1.2.3.4'"),
	            AF_REASON_MISSING_FIELD, "userPrincipalName");
}

Test(entra, dead_letters_a_sign_in_with_no_time_at_all)
{
	parse_fails("{'category':'SignInLogs','properties':{'userPrincipalName':'a@b.c',"
	            "'status':{'errorCode':0}}}",
	            AF_REASON_MISSING_FIELD, "createdDateTime");
}

/* --- directory audits --- */

#define AUDIT(initiator)                                                                           \
	"{'time':'2025-08-25T06:05:00.0000000Z','resourceId':'/tenants/b1f0c3a2/providers/"        \
	"Microsoft.aadiam','operationName':'Add member to role','operationVersion':'1.0',"         \
	"'category':'AuditLogs','tenantId':'b1f0c3a2','resultSignature':'None',"                   \
	"'durationMs':0,'callerIpAddress':'198.51.100.9','correlationId':'9a8b7c6d',"              \
	"'Level':4,'properties':{'id':'Directory_9a8b7c6d_ABCDE_12345678','category':"             \
	"'RoleManagement','correlationId':'9a8b7c6d','result':'success','resultReason':'',"        \
	"'activityDisplayName':'Add member to role','activityDateTime':"                           \
	"'2025-08-25T06:05:00Z','loggedByService':'Core Directory','operationType':'Assign',"      \
	"'initiatedBy':" initiator ",'targetResources':[{'id':'t1','displayName':null,"            \
	"'type':'User','userPrincipalName':'victim@contoso.com','modifiedProperties':[]}]}}"

Test(entra, maps_a_directory_audit_as_other_for_the_initiating_user)
{
	parse_as(AUDIT("{'user':{'id':'u1','displayName':null,'userPrincipalName':"
	               "'Admin@Contoso.com','ipAddress':'198.51.100.9','roles':[]}}"),
	         AF_SCHEMA_ENTRA_DIAG);
	cr_assert_eq(ev.kind, AF_KIND_OTHER);
	cr_assert_eq(ev.outcome, AF_OUTCOME_UNKNOWN);
	cr_assert_str_eq(ev.account, "admin@contoso.com");
	cr_assert_str_eq(ev.action, "Add member to role");
	cr_assert_str_eq(ev.record_id, "Directory_9a8b7c6d_ABCDE_12345678");
	cr_assert_eq(ev.ts_ns, T0 + 7 * 60 * 1000000000LL);
	cr_assert_eq(ev.src.bytes[15], 9);
}

Test(entra, maps_a_directory_audit_initiated_by_an_app_to_the_apps_name)
{
	parse_as(AUDIT("{'app':{'appId':null,'displayName':'Microsoft Substrate Management',"
	               "'servicePrincipalId':'s1','servicePrincipalName':null}}"),
	         AF_SCHEMA_ENTRA_DIAG);
	cr_assert_eq(ev.kind, AF_KIND_OTHER);
	cr_assert_str_eq(ev.account, "microsoft substrate management");
}

Test(entra, dead_letters_a_directory_audit_with_no_initiator)
{
	parse_fails(AUDIT("{}"), AF_REASON_MISSING_FIELD, "userPrincipalName");
}

/* --- Log Analytics' SigninLogs and AuditLogs tables --- */

#define LA_SIGNIN(status, location)                                                                \
	"{'TenantId':'b1f0c3a2','SourceSystem':'Azure AD','TimeGenerated':"                        \
	"'2025-08-25T05:58:05.123Z','ResourceId':'/tenants/b1f0c3a2/providers/"                    \
	"Microsoft.aadiam','OperationName':'Sign-in activity','OperationVersion':'1.0',"           \
	"'Category':'SignInLogs','ResultType':" status ",'ResultSignature':'None',"                \
	"'ResultDescription':'Invalid username or password or Invalid on-premise username "        \
	"or password.','DurationMs':'0','CorrelationId':'c0ffee01','Identity':"                    \
	"'Nguyen Van A','Level':'4','Location':'VN','AppDisplayName':"                             \
	"'Office 365 Exchange Online','ClientAppUsed':'Browser','CreatedDateTime':"                \
	"'2025-08-25T05:58:00Z','IPAddress':'198.51.100.7','IsInteractive':true,"                  \
	"'LocationDetails':" location ",'Status':'{\\'errorCode\\':50126,"                         \
	"\\'failureReason\\':\\'Invalid username or password.\\'}','UserAgent':"                   \
	"'Mozilla/5.0 (X11; Linux x86_64)','UserDisplayName':'Nguyen Van A',"                      \
	"'UserPrincipalName':'Nguyen.Van.A@contoso.com','Id':'2e3f4a5b-6c7d',"                     \
	"'Type':'SigninLogs'}"

#define LA_LOCATION_OBJECT                                                                         \
	"{'city':'Hanoi','state':'Ha Noi','countryOrRegion':'VN','geoCoordinates':"                \
	"{'latitude':21.0245,'longitude':105.8412}}"

#define LA_LOCATION_TEXT                                                                           \
	"'{\\'city\\':\\'Hanoi\\',\\'state\\':\\'Ha Noi\\',\\'countryOrRegion\\':\\'VN\\',"        \
	"\\'geoCoordinates\\':{\\'latitude\\':\\'21.0245\\',\\'longitude\\':\\'105.8412\\'}}'"

Test(entra, maps_a_log_analytics_sign_in_with_its_result_type_as_text)
{
	parse_as(LA_SIGNIN("'50126'", LA_LOCATION_OBJECT), AF_SCHEMA_ENTRA_SENTINEL);
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_FAILED);
	cr_assert_eq(ev.error_code, 50126);
	cr_assert_eq(ev.ts_ns, T0);
	cr_assert_str_eq(ev.account, "nguyen.van.a@contoso.com");
	cr_assert_str_eq(ev.record_id, "2e3f4a5b-6c7d");
	cr_assert_str_eq(ev.app, "Browser");
	cr_assert_eq(ev.ua_hash, h("Mozilla/5.0 (X11; Linux x86_64)"));
	cr_assert_eq(ev.src.bytes[15], 7);
	cr_assert(ev.flags & AF_EV_INTERACTIVE);
}

Test(entra, maps_a_log_analytics_sign_in_with_result_type_zero_as_a_success)
{
	parse_as(LA_SIGNIN("'0'", LA_LOCATION_OBJECT), AF_SCHEMA_ENTRA_SENTINEL);
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_OK);
	cr_assert_eq(ev.error_code, 0);
}

Test(entra, reads_location_details_given_as_an_object)
{
	parse_as(LA_SIGNIN("'0'", LA_LOCATION_OBJECT), AF_SCHEMA_ENTRA_SENTINEL);
	cr_assert_str_eq(ev.geo.country, "VN");
	cr_assert_str_eq(ev.geo.city, "Hanoi");
	cr_assert_float_eq(ev.geo.lat, 21.0245, 1e-9);
	cr_assert_float_eq(ev.geo.lon, 105.8412, 1e-9);
	cr_assert(ev.geo.flags & AF_GEO_HAS_LOCATION);
}

Test(entra, reads_location_details_given_as_json_text)
{
	parse_as(LA_SIGNIN("'0'", LA_LOCATION_TEXT), AF_SCHEMA_ENTRA_SENTINEL);
	cr_assert_str_eq(ev.geo.country, "VN");
	cr_assert_str_eq(ev.geo.city, "Hanoi");
	cr_assert_float_eq(ev.geo.lat, 21.0245, 1e-9);
	cr_assert_float_eq(ev.geo.lon, 105.8412, 1e-9);
	cr_assert(ev.flags & AF_EV_GEO_FROM_RECORD);
}

Test(entra, ignores_location_details_that_do_not_parse)
{
	parse_as(LA_SIGNIN("'0'", "'{not json'"), AF_SCHEMA_ENTRA_SENTINEL);
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_OK);
	cr_assert_str_eq(ev.geo.country, "");
	cr_assert_eq(ev.flags & AF_EV_GEO_FROM_RECORD, 0);
}

Test(entra, maps_a_log_analytics_audit_whose_initiator_is_json_text)
{
	parse_as("{'TimeGenerated':'2025-08-25T05:58:00Z','OperationName':'Update application',"
	         "'Category':'ApplicationManagement','Id':'Directory_ae69aa7a_7H1JL_8584070',"
	         "'InitiatedBy':'{\\'user\\':{\\'id\\':\\'u1\\',\\'displayName\\':null,"
	         "\\'userPrincipalName\\':\\'Admin@Contoso.com\\',\\'roles\\':[]}}',"
	         "'Result':'success','Type':'AuditLogs'}",
	         AF_SCHEMA_ENTRA_SENTINEL);
	cr_assert_eq(ev.kind, AF_KIND_OTHER);
	cr_assert_str_eq(ev.account, "admin@contoso.com");
	cr_assert_str_eq(ev.action, "Update application");
	cr_assert_str_eq(ev.record_id, "Directory_ae69aa7a_7H1JL_8584070");
}

Test(entra, maps_a_log_analytics_audit_initiated_by_an_app_in_json_text)
{
	parse_as("{'TimeGenerated':'2025-08-25T05:58:00Z','OperationName':'Update user',"
	         "'Category':'UserManagement','InitiatedBy':'{\\'app\\':{\\'displayName\\':"
	         "\\'Azure AD Cloud Sync\\'}}'}",
	         AF_SCHEMA_ENTRA_SENTINEL);
	cr_assert_str_eq(ev.account, "azure ad cloud sync");
}
