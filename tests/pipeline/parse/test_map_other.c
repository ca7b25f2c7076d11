/* test_map_other.c - the Okta System Log and AWS CloudTrail mappers
 * (map_other.c), field by field, on records shaped as the Okta System Log
 * API and CloudTrail's ConsoleLogin documentation show them.
 *
 * Records are written with ' for " to stay readable; parse() swaps them.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "parse_test.h"

TestSuite(other, .init = af_parse_test_setup, .fini = af_parse_test_teardown);

/* --- Okta --- */

#define OKTA(type, outcome)                                                                        \
	"{'actor':{'id':'00u1abcdEFGH','type':'User','alternateId':"                               \
	"'Nguyen.Van.A@Contoso.com','displayName':'Nguyen Van A','detailEntry':null},"             \
	"'client':{'userAgent':{'rawUserAgent':'Mozilla/5.0 (Macintosh; Intel Mac OS X "           \
	"10_15_7)','os':'Mac OS X','browser':'CHROME'},'zone':'null','device':'Computer',"         \
	"'id':null,'ipAddress':'198.51.100.7','geographicalContext':{'city':'Ashburn',"            \
	"'state':'Virginia','country':'United States','postalCode':'20149','geolocation':"         \
	"{'lat':39.0469,'lon':-77.4903}}},'authenticationContext':{'authenticationProvider':"      \
	"null,'credentialProvider':null,'credentialType':null,'issuer':null,"                      \
	"'interface':null,'authenticationStep':0,'externalSessionId':'102abcDEF'},"                \
	"'displayMessage':'User login to Okta','eventType':'" type "'," outcome                    \
	"'published':'2025-08-25T05:58:00.000Z','securityContext':{'asNumber':64500,"              \
	"'asOrg':'example','isp':'example','domain':'example.net','isProxy':false},"               \
	"'severity':'INFO','debugContext':{'debugData':{'requestId':'r1'}},"                       \
	"'legacyEventType':'core.user_auth.login_success','transaction':{'type':'WEB',"            \
	"'id':'t1','detail':{}},'uuid':'6a1b2c3d-81b5-11ef-9b3e-0d1c2b3a4f5e','version':'0',"      \
	"'request':{'ipChain':[]},'target':null}"

Test(other, maps_a_successful_okta_session_start)
{
	parse_as(OKTA("user.session.start", "'outcome':{'result':'SUCCESS','reason':null},"),
	         AF_SCHEMA_OKTA);
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_OK);
	cr_assert_eq(ev.outcome, AF_OUTCOME_SUCCESS);
	cr_assert_eq(ev.ts_ns, T0);
	cr_assert_str_eq(ev.account, "nguyen.van.a@contoso.com");
	cr_assert_str_eq(ev.action, "user.session.start");
	cr_assert_str_eq(ev.record_id, "6a1b2c3d-81b5-11ef-9b3e-0d1c2b3a4f5e");
	cr_assert_eq(ev.src.bytes[15], 7);
	cr_assert_eq(ev.ua_hash, h("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"));
	cr_assert_eq(ev.name_hash, h("nguyen van a"));
	cr_assert(ev.flags & AF_EV_INTERACTIVE);
}

Test(other, reads_the_okta_location_but_not_a_country_name_as_a_code)
{
	parse_as(OKTA("user.session.start", "'outcome':{'result':'SUCCESS'},"), AF_SCHEMA_OKTA);
	cr_assert_str_eq(ev.geo.city, "Ashburn");
	cr_assert_float_eq(ev.geo.lat, 39.0469, 1e-9);
	cr_assert_float_eq(ev.geo.lon, -77.4903, 1e-9);
	cr_assert(ev.geo.flags & AF_GEO_HAS_LOCATION);
	cr_assert(ev.flags & AF_EV_GEO_FROM_RECORD);
	cr_assert_str_eq(ev.geo.country, "");
}

Test(other, maps_a_failed_okta_session_start)
{
	parse_as(OKTA("user.session.start",
	              "'outcome':{'result':'FAILURE','reason':'INVALID_CREDENTIALS'},"),
	         AF_SCHEMA_OKTA);
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_FAILED);
	cr_assert_eq(ev.outcome, AF_OUTCOME_FAILURE);
}

Test(other, dead_letters_an_okta_session_start_without_a_result)
{
	parse_fails(OKTA("user.session.start", ""), AF_REASON_MISSING_FIELD, "outcome.result");
	cr_assert_eq(ev.schema, AF_SCHEMA_OKTA);
	parse_fails(OKTA("user.session.start", "'outcome':{'result':null},"),
	            AF_REASON_MISSING_FIELD, "outcome.result");
}

Test(other, maps_an_okta_session_start_neither_won_nor_lost_as_other)
{
	parse_as(OKTA("user.session.start", "'outcome':{'result':'CHALLENGE'},"), AF_SCHEMA_OKTA);
	cr_assert_eq(ev.kind, AF_KIND_OTHER);
	cr_assert_eq(ev.outcome, AF_OUTCOME_UNKNOWN);
}

Test(other, maps_other_okta_events_as_other_with_their_outcome)
{
	parse_as(OKTA("user.account.lock", "'outcome':{'result':'FAILURE'},"), AF_SCHEMA_OKTA);
	cr_assert_eq(ev.kind, AF_KIND_OTHER);
	cr_assert_eq(ev.outcome, AF_OUTCOME_FAILURE);
	cr_assert_str_eq(ev.action, "user.account.lock");
	cr_assert_eq(ev.flags & AF_EV_INTERACTIVE, 0);
	parse_as(OKTA("policy.evaluate_sign_on", "'outcome':{'result':'ALLOW'},"), AF_SCHEMA_OKTA);
	cr_assert_eq(ev.outcome, AF_OUTCOME_SUCCESS);
}

Test(other, dead_letters_an_okta_event_without_an_actor)
{
	parse_fails("{'published':'2025-08-25T05:58:00.000Z','eventType':'user.session.start',"
	            "'outcome':{'result':'SUCCESS'}}",
	            AF_REASON_MISSING_FIELD, "actor.alternateId");
}

Test(other, dead_letters_an_okta_event_with_a_bad_time_or_type)
{
	parse_fails("{'published':'redacted','eventType':'user.session.start',"
	            "'actor':{'alternateId':'a@b.c'},'outcome':{'result':'SUCCESS'}}",
	            AF_REASON_BAD_TIMESTAMP, "published");
	parse_fails("{'published':'2025-08-25T05:58:00.000Z','eventType':7,"
	            "'actor':{'alternateId':'a@b.c'}}",
	            AF_REASON_WRONG_TYPE, "eventType");
}

/* --- CloudTrail --- */

#define TRAIL(identity, rest)                                                                      \
	"{'eventVersion':'1.08','userIdentity':" identity ",'eventTime':"                          \
	"'2025-08-25T05:58:00Z','eventSource':'signin.amazonaws.com','eventName':"                 \
	"'ConsoleLogin','awsRegion':'us-east-1','userAgent':'Mozilla/5.0 (Windows NT 10.0; "       \
	"Win64; x64)','requestParameters':null,'additionalEventData':{'LoginTo':"                  \
	"'https://console.aws.amazon.com/console/home','MobileVersion':'No','MFAUsed':'No'},"      \
	"'eventID':'fed06f42-cb12-4764-8c69-121063dc79b9','readOnly':false,'eventType':"           \
	"'AwsConsoleSignIn','managementEvent':true,'recipientAccountId':'111122223333',"           \
	"'eventCategory':'Management'" rest "}"

#define IAM_USER                                                                                   \
	"{'type':'IAMUser','principalId':'AIDACKCEVSQ6C2EXAMPLE','arn':"                           \
	"'arn:aws:iam::111122223333:user/Anaya','accountId':'111122223333','userName':'Anaya'}"

#define IAM_USER_FAILED                                                                            \
	"{'type':'IAMUser','principalId':'AIDACKCEVSQ6C2EXAMPLE','accountId':"                     \
	"'111122223333','accessKeyId':'','userName':'Anaya'}"

#define SOURCE_IP ",'sourceIPAddress':'198.51.100.7'"

Test(other, maps_a_successful_console_login)
{
	parse_as(TRAIL(IAM_USER, SOURCE_IP ",'responseElements':{'ConsoleLogin':'Success'}"),
	         AF_SCHEMA_CLOUDTRAIL);
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_OK);
	cr_assert_eq(ev.outcome, AF_OUTCOME_SUCCESS);
	cr_assert_eq(ev.ts_ns, T0);
	cr_assert_str_eq(ev.account, "arn:aws:iam::111122223333:user/anaya");
	cr_assert_str_eq(ev.action, "ConsoleLogin");
	cr_assert_str_eq(ev.record_id, "fed06f42-cb12-4764-8c69-121063dc79b9");
	cr_assert_eq(ev.src.bytes[15], 7);
	cr_assert_eq(ev.ua_hash, h("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"));
	cr_assert(ev.flags & AF_EV_INTERACTIVE);
}

Test(other, maps_a_failed_console_login_to_the_user_name_it_carries)
{
	/* A failed IAM user login has no arn: the account is the user name,
	 * not the arn a successful login of the same user carries. */
	parse_as(TRAIL(IAM_USER_FAILED, SOURCE_IP ",'errorMessage':'Failed authentication',"
	                                          "'responseElements':{'ConsoleLogin':'Failure'}"),
	         AF_SCHEMA_CLOUDTRAIL);
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_FAILED);
	cr_assert_eq(ev.outcome, AF_OUTCOME_FAILURE);
	cr_assert_str_eq(ev.account, "anaya");
}

Test(other, maps_a_root_console_login)
{
	parse_as(TRAIL("{'type':'Root','principalId':'111122223333','arn':"
	               "'arn:aws:iam::111122223333:root','accountId':'111122223333',"
	               "'accessKeyId':''}",
	               SOURCE_IP ",'responseElements':{'ConsoleLogin':'Success'}"),
	         AF_SCHEMA_CLOUDTRAIL);
	cr_assert_str_eq(ev.account, "arn:aws:iam::111122223333:root");
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_OK);
}

Test(other, keeps_a_console_login_whose_source_is_not_an_address)
{
	parse_as(TRAIL(IAM_USER, ",'sourceIPAddress':'signin.amazonaws.com',"
	                         "'responseElements':{'ConsoleLogin':'Success'}"),
	         AF_SCHEMA_CLOUDTRAIL);
	cr_assert_eq(ev.src.family, AF_IP_NONE);
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_OK);
	parse_as(TRAIL(IAM_USER, ",'sourceIPAddress':'AWS Internal',"
	                         "'responseElements':{'ConsoleLogin':'Success'}"),
	         AF_SCHEMA_CLOUDTRAIL);
	cr_assert_eq(ev.src.family, AF_IP_NONE);
}

Test(other, dead_letters_a_console_login_without_a_result)
{
	parse_fails(TRAIL(IAM_USER, SOURCE_IP), AF_REASON_MISSING_FIELD,
	            "responseElements.ConsoleLogin");
	parse_fails(TRAIL(IAM_USER, SOURCE_IP ",'responseElements':null"), AF_REASON_MISSING_FIELD,
	            "responseElements.ConsoleLogin");
}

Test(other, maps_other_cloudtrail_events_as_other)
{
	parse_as("{'eventTime':'2025-08-25T05:58:00Z','eventSource':'signin.amazonaws.com',"
	         "'eventName':'GetSigninToken','sourceIPAddress':'203.0.113.50','userIdentity':"
	         "{'type':'AssumedRole','arn':'arn:aws:sts::123456789012:assumed-role/Admin/"
	         "Jane@Example.com'}}",
	         AF_SCHEMA_CLOUDTRAIL);
	cr_assert_eq(ev.kind, AF_KIND_OTHER);
	cr_assert_eq(ev.outcome, AF_OUTCOME_UNKNOWN);
	cr_assert_str_eq(ev.account,
	                 "arn:aws:sts::123456789012:assumed-role/admin/jane@example.com");
	cr_assert_str_eq(ev.action, "GetSigninToken");
}

Test(other, dead_letters_a_cloudtrail_event_without_an_identity)
{
	parse_fails("{'eventTime':'2025-08-25T05:58:00Z','eventSource':'signin.amazonaws.com',"
	            "'eventName':'ConsoleLogin','userIdentity':{'type':'AssumedRole',"
	            "'accountId':'1'},'responseElements':{'ConsoleLogin':'Success'}}",
	            AF_REASON_MISSING_FIELD, "userIdentity.arn");
}

Test(other, dead_letters_a_cloudtrail_event_with_a_bad_time)
{
	parse_fails("{'eventTime':'redacted','eventSource':'signin.amazonaws.com',"
	            "'eventName':'ConsoleLogin','userIdentity':{'arn':'arn:aws:iam::1:root'}}",
	            AF_REASON_BAD_TIMESTAMP, "eventTime");
}
