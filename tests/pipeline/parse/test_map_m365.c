/* test_map_m365.c - the Management Activity API mapper (map_m365.c), field
 * by field, on records shaped as the Office 365 Management Activity API
 * schema documents them (AzureActiveDirectoryStsLogon, ExchangeItem,
 * ExchangeAdmin, SharePointFileOperation), as exports that lower-case keys
 * write them, and as Log Analytics' OfficeActivity table writes them.
 *
 * Records are written with ' for " to stay readable; parse() swaps them.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "parse_test.h"

TestSuite(m365, .init = af_parse_test_setup, .fini = af_parse_test_teardown);

/* Every record here is a Management Activity API record. */
static void parse_ok(const char *text)
{
	parse_as(text, AF_SCHEMA_M365);
}

/* The common part of every Exchange mailbox record. */
#define EXO_HEAD(op)                                                                               \
	"{'CreationTime':'2025-08-25T05:58:00','Id':'0b6e2c1a-7a51-4c1e-9d6e-28f0c2a3e001',"       \
	"'Operation':'" op "','OrganizationId':'b1f0c3a2-0000-4000-8000-00000000aaaa',"            \
	"'RecordType':2,'ResultStatus':'Succeeded','UserKey':'10033FFF8A1B2C3D',"                  \
	"'UserType':0,'Version':1,'Workload':'Exchange','ClientIP':'203.0.113.45:51872',"          \
	"'UserId':'Victim@Contoso.com','ExternalAccess':false,'InternalLogonType':0,"              \
	"'LogonType':0,'LogonUserSid':'S-1-5-21-1','MailboxGuid':'5b1c2d3e-1111',"                 \
	"'MailboxOwnerSid':'S-1-5-21-1','MailboxOwnerUPN':'victim@contoso.com',"                   \
	"'OrganizationName':'contoso.onmicrosoft.com','OriginatingServer':'SY4P282MB (15.20)'"

/* The common part of every Exchange admin (cmdlet) record. */
#define ADMIN_HEAD(op)                                                                             \
	"{'CreationTime':'2025-08-25T06:02:11','Id':'7d3c2b1a-0000-4000-8000-0000000000c1',"       \
	"'Operation':'" op "','OrganizationId':'b1f0c3a2','RecordType':1,"                         \
	"'ResultStatus':'True','UserKey':'10033FFF8A1B2C3D','UserType':2,'Version':1,"             \
	"'Workload':'Exchange','ClientIP':'203.0.113.45','ObjectId':'victim',"                     \
	"'UserId':'victim@contoso.com','ExternalAccess':false,"                                    \
	"'OrganizationName':'contoso.onmicrosoft.com','OriginatingServer':'SY4P282MB'"

/* --- sign-ins (AzureActiveDirectoryStsLogon, RecordType 15) --- */

#define LOGON(op, rest)                                                                            \
	"{'CreationTime':'2025-08-25T05:58:00','Id':'c2a1e9d0-1111-4222-8333-444455556666',"       \
	"'Operation':'" op "','OrganizationId':'b1f0c3a2','RecordType':15,"                        \
	"'ResultStatus':'Success','UserKey':'1003','UserType':0,'Version':1,"                      \
	"'Workload':'AzureActiveDirectory','ClientIP':'198.51.100.7',"                             \
	"'ObjectId':'00000002-0000-0ff1-ce00-000000000000','UserId':'Victim@Contoso.com',"         \
	"'AzureActiveDirectoryEventType':1,'ExtendedProperties':["                                 \
	"{'Name':'ResultStatusDetail','Value':'Success'},"                                         \
	"{'Name':'UserAgent','Value':'Mozilla/5.0 (Windows NT 10.0; Win64; x64)'},"                \
	"{'Name':'RequestType','Value':'OAuth2:Authorize'}],"                                      \
	"'ModifiedProperties':[],'Actor':[{'ID':'victim@contoso.com','Type':5}],"                  \
	"'ActorContextId':'b1f0c3a2','ActorIpAddress':'198.51.100.7',"                             \
	"'InterSystemsId':'a1','IntraSystemId':'b2','SupportTicketId':'',"                         \
	"'Target':[{'ID':'Unknown','Type':0}],'TargetContextId':'b1f0c3a2',"                       \
	"'ApplicationId':'89bee1f7-5e6e-4d8a-9f3d-ecd601259da7'" rest "}"

Test(m365, maps_a_successful_sign_in)
{
	parse_ok(LOGON("UserLoggedIn", ""));
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_OK);
	cr_assert_eq(ev.outcome, AF_OUTCOME_SUCCESS);
	cr_assert_eq(ev.ts_ns, T0);
	cr_assert_str_eq(ev.account, "victim@contoso.com");
	cr_assert_str_eq(ev.action, "UserLoggedIn");
	cr_assert_str_eq(ev.record_id, "c2a1e9d0-1111-4222-8333-444455556666");
	cr_assert_eq(ev.src.family, AF_IP_V4);
	cr_assert_eq(ev.src.bytes[12], 198);
	cr_assert_eq(ev.error_code, 0);
	cr_assert(ev.flags & AF_EV_INTERACTIVE);
}

Test(m365, hashes_the_user_agent_from_the_extended_properties)
{
	parse_ok(LOGON("UserLoggedIn", ""));
	cr_assert_eq(ev.ua_hash, h("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"));
}

Test(m365, maps_user_login_failed_as_a_failure_although_result_status_says_success)
{
	parse_ok(LOGON("UserLoginFailed", ",'LogonError':'InvalidUserNameOrPassword',"
	                                  "'ErrorNumber':'50126'"));
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_FAILED);
	cr_assert_eq(ev.outcome, AF_OUTCOME_FAILURE);
	cr_assert_eq(ev.error_code, 50126);
}

Test(m365, maps_user_login_failed_as_a_failure_with_no_error_fields)
{
	parse_ok(LOGON("UserLoginFailed", ""));
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_FAILED);
	cr_assert_eq(ev.outcome, AF_OUTCOME_FAILURE);
	cr_assert_eq(ev.error_code, 0);
}

Test(m365, maps_a_sign_in_with_an_error_number_as_a_failure)
{
	parse_ok(LOGON("UserLoggedIn", ",'ErrorNumber':'50053'"));
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_FAILED);
	cr_assert_eq(ev.error_code, 50053);
	parse_ok(LOGON("UserLoggedIn", ",'ErrorNumber':50076"));
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_FAILED);
	cr_assert_eq(ev.error_code, 50076);
}

Test(m365, maps_a_sign_in_with_error_number_zero_as_a_success)
{
	parse_ok(LOGON("UserLoggedIn", ",'ErrorNumber':'0','LogonError':'None'"));
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_OK);
	cr_assert_eq(ev.error_code, 0);
}

Test(m365, maps_a_sign_in_with_a_logon_error_as_a_failure)
{
	parse_ok(LOGON("UserLoggedIn", ",'LogonError':'UserAccountLocked'"));
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_FAILED);
	cr_assert_eq(ev.outcome, AF_OUTCOME_FAILURE);
}

Test(m365, takes_the_actor_address_when_there_is_no_client_ip)
{
	parse_ok("{'CreationTime':'2025-08-25T05:58:00','Operation':'UserLoggedIn',"
	         "'RecordType':15,'UserId':'a@contoso.com','ActorIpAddress':'2001:db8::7'}");
	cr_assert_eq(ev.src.family, AF_IP_V6);
	cr_assert_eq(ev.src.bytes[15], 7);
}

/* --- sends (ExchangeItem) --- */

#define SEND(op, rest)                                                                             \
	EXO_HEAD(op)                                                                               \
	",'ClientInfoString':'Client=REST;Client=RESTSystem;;',"                                   \
	"'ClientAppId':'','Item':{'Id':'RgAAAAD','InternetMessageId':"                             \
	"'<SY4P282MB1234@SY4P282MB.AUSP282.PROD.OUTLOOK.COM>','ParentFolder':"                     \
	"{'Id':'LgAAAAA','Path':'\\\\Sent Items'},'SizeInBytes':14876,"                            \
	"'Subject':'Invoice 2025-08'}" rest "}"

Test(m365, maps_send_send_as_and_send_on_behalf_as_mail_sends)
{
	static const char *const recs[] = {SEND("Send", ""), SEND("SendAs", ""),
	                                   SEND("SendOnBehalf", "")};
	static const char *const ops[] = {"Send", "SendAs", "SendOnBehalf"};

	for (size_t i = 0; i < 3; i++) {
		parse_ok(recs[i]);
		cr_assert_eq(ev.kind, AF_KIND_MAIL_SEND, "%s", ops[i]);
		cr_assert_str_eq(ev.action, ops[i]);
		cr_assert_eq(ev.outcome, AF_OUTCOME_SUCCESS);
	}
}

Test(m365, reads_the_client_and_the_folder_of_a_send)
{
	parse_ok(SEND("Send", ""));
	cr_assert_str_eq(ev.app, "Client=REST;Client=RESTSystem;;");
	cr_assert_str_eq(ev.folder, "\\Sent Items");
	cr_assert_eq(ev.src.port, 51872);
	cr_assert_str_eq(ev.account, "victim@contoso.com");
}

Test(m365, notes_a_send_saved_to_sent_items)
{
	parse_ok(SEND("Send", ",'SaveToSentItems':true"));
	cr_assert(ev.flags & AF_EV_SAVE_SENT_KNOWN);
	cr_assert(ev.flags & AF_EV_SAVE_SENT);
}

Test(m365, notes_a_send_not_saved_to_sent_items)
{
	parse_ok(SEND("SendAs", ",'SaveToSentItems':false"));
	cr_assert(ev.flags & AF_EV_SAVE_SENT_KNOWN);
	cr_assert_eq(ev.flags & AF_EV_SAVE_SENT, 0);
}

Test(m365, leaves_save_to_sent_items_unknown_when_the_record_is_silent)
{
	parse_ok(SEND("Send", ""));
	cr_assert_eq(ev.flags & (AF_EV_SAVE_SENT_KNOWN | AF_EV_SAVE_SENT), 0);
	parse_ok(SEND("Send", ",'SaveToSentItems':null"));
	cr_assert_eq(ev.flags & (AF_EV_SAVE_SENT_KNOWN | AF_EV_SAVE_SENT), 0);
}

#define RCPTS(list) ",'LogonUserDisplayName':'Nguyen Van A','recipientList':[" list "]"

Test(m365, flags_a_recipient_named_as_the_sender)
{
	parse_ok(SEND("Send", RCPTS("{'Address':'x1@example.org','Name':'Partner One'},"
	                            "{'Address':'x2@example.net','Name':'NGUYEN VAN A'}")));
	cr_assert(ev.flags & AF_EV_NAME_SELF);
	cr_assert_eq(ev.name_hash, h("nguyen van a"));
	cr_assert_eq(ev.rcpt_name_hash, 0, "the recipients' names differ");
	cr_assert_eq(ev.recipient_count, 2);
}

Test(m365, does_not_flag_recipients_named_otherwise)
{
	parse_ok(SEND("Send", RCPTS("{'Address':'x1@example.org','Name':'Partner One'},"
	                            "{'Address':'x2@example.net','Name':'Nguyen Van'}")));
	cr_assert_eq(ev.flags & AF_EV_NAME_SELF, 0);
}

Test(m365, hashes_the_one_name_all_recipients_share)
{
	parse_ok(
	    SEND("Send", RCPTS("{'Address':'a@example.org','Name':'Accounts Payable'},"
	                       "{'EmailAddress':'b@example.net','DisplayName':'accounts payable'},"
	                       "{'Address':'c@example.com','Name':'Accounts Payable'}")));
	cr_assert_eq(ev.rcpt_name_hash, h("accounts payable"));
	cr_assert_eq(ev.recipient_count, 3);
	cr_assert_eq(ev.flags & AF_EV_NAME_SELF, 0);
}

Test(m365, hashes_the_senders_own_name_when_every_recipient_carries_it)
{
	parse_ok(SEND("Send", RCPTS("{'Address':'a@example.org','Name':'Nguyen Van A'},"
	                            "{'Address':'b@example.net','Name':'Nguyen Van A'}")));
	cr_assert(ev.flags & AF_EV_NAME_SELF);
	cr_assert_eq(ev.rcpt_name_hash, h("nguyen van a"));
	cr_assert_eq(ev.rcpt_name_hash, ev.name_hash);
}

Test(m365, hashes_no_shared_name_when_a_recipient_has_none)
{
	parse_ok(SEND("Send", RCPTS("{'Address':'a@example.org','Name':'Accounts'},"
	                            "{'Address':'b@example.net'},"
	                            "{'Address':'c@example.com','Name':'Accounts'}")));
	cr_assert_eq(ev.rcpt_name_hash, 0);
	cr_assert_eq(ev.recipient_count, 3);
}

Test(m365, hashes_no_shared_name_for_a_single_recipient)
{
	parse_ok(SEND("Send", RCPTS("{'Address':'a@example.org','Name':'Accounts'}")));
	cr_assert_eq(ev.rcpt_name_hash, 0);
	cr_assert_eq(ev.recipient_count, 1);
}

Test(m365, takes_the_recipient_count_the_record_gives_over_the_list_length)
{
	parse_ok(SEND("Send", RCPTS("{'Address':'a@example.org','Name':'A'}") ",'recipientCount':"
	                                                                      "312"));
	cr_assert_eq(ev.recipient_count, 312);
	parse_ok(SEND("Send", ",'recipientCount':'45'"));
	cr_assert_eq(ev.recipient_count, 45);
}

Test(m365, counts_no_recipients_when_the_record_lists_none)
{
	parse_ok(SEND("Send", ""));
	cr_assert_eq(ev.recipient_count, 0);
	cr_assert_eq(ev.rcpt_name_hash, 0);
	cr_assert_eq(ev.flags & AF_EV_NAME_SELF, 0);
}

/* --- deletes --- */

#define DELETE(op, folder, items)                                                                  \
	EXO_HEAD(op)                                                                               \
	",'ClientInfoString':'Client=OWA;Action=ViaProxy',"                                        \
	"'CrossMailboxOperation':false,'Folder':{'Id':'LgAAAAB','Path':'" folder                   \
	"'},'AffectedItems':[" items "]}"

#define ITEM(path)                                                                                 \
	"{'Id':'RgAAAAE','InternetMessageId':'<a1@contoso.com>','ParentFolder':{'Id':'LgA',"       \
	"'Path':'" path "'},'Subject':'Invoice'}"

Test(m365, maps_the_three_delete_operations_as_mail_deletes)
{
	static const char *const recs[] = {
	    DELETE("HardDelete", "\\\\Inbox", ITEM("\\\\Inbox")),
	    DELETE("SoftDelete", "\\\\Inbox", ITEM("\\\\Inbox")),
	    DELETE("MoveToDeletedItems", "\\\\Inbox", ITEM("\\\\Inbox"))};

	for (size_t i = 0; i < 3; i++) {
		parse_ok(recs[i]);
		cr_assert_eq(ev.kind, AF_KIND_MAIL_DELETE);
		cr_assert_str_eq(ev.folder, "\\Inbox");
		cr_assert_str_eq(ev.app, "Client=OWA;Action=ViaProxy");
		cr_assert_eq(ev.flags & AF_EV_FROM_SENT_ITEMS, 0);
	}
}

Test(m365, flags_a_delete_from_the_sent_items_folder)
{
	parse_ok(DELETE("HardDelete", "\\\\Sent Items", ITEM("\\\\Sent Items")));
	cr_assert_eq(ev.kind, AF_KIND_MAIL_DELETE);
	cr_assert(ev.flags & AF_EV_FROM_SENT_ITEMS);
	cr_assert_str_eq(ev.folder, "\\Sent Items");
}

Test(m365, flags_a_delete_whose_affected_items_were_in_sent_items)
{
	/* The operation's Folder is where the client stood; the items say
	 * where they were. */
	parse_ok(DELETE("MoveToDeletedItems", "\\\\Inbox",
	                ITEM("\\\\Inbox") "," ITEM("\\\\Sent Items")));
	cr_assert(ev.flags & AF_EV_FROM_SENT_ITEMS);
	parse_ok(DELETE("SoftDelete", "\\\\Deleted Items", ITEM("\\\\SentItems")));
	cr_assert(ev.flags & AF_EV_FROM_SENT_ITEMS);
}

Test(m365, does_not_flag_a_folder_that_only_mentions_sent_items)
{
	parse_ok(DELETE("HardDelete", "\\\\Sent Items\\\\Old", ITEM("\\\\Sent Items Archive")));
	cr_assert_eq(ev.flags & AF_EV_FROM_SENT_ITEMS, 0);
}

/* --- inbox rules (ExchangeAdmin cmdlets) --- */

#define RULE(op, params)                                                                           \
	ADMIN_HEAD(op)                                                                             \
	",'Parameters':[{'Name':'Mailbox','Value':'victim@contoso.com'},"                          \
	"{'Name':'Name','Value':'.'}," params "]}"

#define P(name, value) "{'Name':'" name "','Value':'" value "'}"

Test(m365, maps_new_and_set_inbox_rule_as_inbox_rules)
{
	parse_ok(RULE("New-InboxRule", P("SubjectContainsWords", "invoice")));
	cr_assert_eq(ev.kind, AF_KIND_INBOX_RULE);
	cr_assert_str_eq(ev.action, "New-InboxRule");
	cr_assert_eq(ev.outcome, AF_OUTCOME_SUCCESS);
	cr_assert_eq(ev.flags, 0);
	parse_ok(RULE("Set-InboxRule", P("SubjectContainsWords", "invoice")));
	cr_assert_eq(ev.kind, AF_KIND_INBOX_RULE);
}

Test(m365, flags_a_rule_that_deletes_messages)
{
	parse_ok(RULE("New-InboxRule", P("DeleteMessage", "True")));
	cr_assert(ev.flags & AF_EV_RULE_DELETE);
	parse_ok(RULE("New-InboxRule", P("DeleteMessage", "False")));
	cr_assert_eq(ev.flags & AF_EV_RULE_DELETE, 0);
}

Test(m365, flags_a_rule_that_moves_mail_to_a_hiding_folder)
{
	static const char *const recs[] = {
	    RULE("New-InboxRule", P("MoveToFolder", "Deleted Items")),
	    RULE("New-InboxRule", P("MoveToFolder", "victim:\\\\RSS Feeds")),
	    RULE("Set-InboxRule", P("MoveToFolder", "Archive")),
	    RULE("New-InboxRule", P("MoveToFolder", "Conversation History")),
	};

	for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++) {
		parse_ok(recs[i]);
		cr_assert(ev.flags & AF_EV_RULE_MOVE, "%s", recs[i]);
	}
}

Test(m365, does_not_flag_a_rule_that_moves_mail_to_an_ordinary_folder)
{
	parse_ok(RULE("New-InboxRule", P("MoveToFolder", "Inbox\\\\Projects")));
	cr_assert_eq(ev.flags & AF_EV_RULE_MOVE, 0);
	cr_assert_eq(ev.kind, AF_KIND_INBOX_RULE);
}

Test(m365, flags_a_rule_that_marks_messages_read)
{
	parse_ok(
	    RULE("New-InboxRule", P("MarkAsRead", "True") "," P("StopProcessingRules", "True")));
	cr_assert(ev.flags & AF_EV_RULE_MARK_READ);
	cr_assert_eq(ev.flags & AF_EV_RULE_DELETE, 0);
}

Test(m365, flags_a_rule_forwarding_inside_the_domain_as_forward_only)
{
	parse_ok(RULE("New-InboxRule", P("ForwardTo", "finance@contoso.com")));
	cr_assert(ev.flags & AF_EV_FORWARD);
	cr_assert_eq(ev.flags & AF_EV_FORWARD_EXTERNAL, 0);
}

Test(m365, flags_a_rule_forwarding_to_another_domain_as_external)
{
	parse_ok(RULE("New-InboxRule", P("ForwardTo", "finance@contoso.com;drop@evil.example")));
	cr_assert(ev.flags & AF_EV_FORWARD);
	cr_assert(ev.flags & AF_EV_FORWARD_EXTERNAL);
	parse_ok(RULE("Set-InboxRule", P("RedirectTo", "\\\"Drop\\\" [SMTP:drop@evil.example]")));
	cr_assert(ev.flags & AF_EV_FORWARD_EXTERNAL);
	parse_ok(RULE("New-InboxRule", P("ForwardAsAttachmentTo", "x@contoso.com.evil.example")));
	cr_assert(ev.flags & AF_EV_FORWARD_EXTERNAL);
}

Test(m365, reads_rule_actions_from_update_inbox_rules_operation_properties)
{
	/* Outlook's rules, logged as UpdateInboxRules with the actions as
	 * JSON text in OperationProperties. */
	parse_ok(EXO_HEAD(
	    "UpdateInboxRules") ",'ClientInfoString':'Client=MSExchangeRPC','OperationProperties':["
	                        "{'Name':'RuleName','Value':'.'},{'Name':'RuleOperation','Value':'"
	                        "AddMailboxRule'},"
	                        "{'Name':'RuleActions','Value':'[{\\'ActionType\\':\\'Forward\\',"
	                        "\\'Recipients\\':[\\'drop@evil.example\\']},{\\'ActionType\\':\\'"
	                        "Delete\\'}]'},"
	                        "{'Name':'RuleState','Value':'Enabled'}]}");
	cr_assert_eq(ev.kind, AF_KIND_INBOX_RULE);
	cr_assert(ev.flags & AF_EV_RULE_DELETE);
	cr_assert(ev.flags & AF_EV_FORWARD);
	cr_assert(ev.flags & AF_EV_FORWARD_EXTERNAL);
	cr_assert_eq(ev.flags & AF_EV_RULE_MOVE, 0);
}

Test(m365, reads_a_move_to_a_hiding_folder_from_update_inbox_rules)
{
	parse_ok(EXO_HEAD("UpdateInboxRules") ",'OperationProperties':[{'Name':'RuleActions','"
	                                      "Value':'[{\\'ActionType\\':"
	                                      "\\'MoveToFolder\\',\\'Folder\\':\\'RSS "
	                                      "Feeds\\'},{\\'ActionType\\':"
	                                      "\\'MarkAsRead\\'}]'}]}");
	cr_assert(ev.flags & AF_EV_RULE_MOVE);
	cr_assert(ev.flags & AF_EV_RULE_MARK_READ);
	cr_assert_eq(ev.flags & AF_EV_FORWARD, 0);
}

/* --- mailbox forwarding --- */

Test(m365, maps_set_mailbox_forwarding_outside_as_external_mailbox_forwarding)
{
	parse_ok(ADMIN_HEAD(
	    "Set-Mailbox") ",'Parameters':[{'Name':'Identity','Value':'victim@contoso.com'},"
	                   "{'Name':'ForwardingSmtpAddress','Value':'smtp:Drop@Other.com'},"
	                   "{'Name':'DeliverToMailboxAndForward','Value':'False'}]}");
	cr_assert_eq(ev.kind, AF_KIND_MAILBOX_FORWARD);
	cr_assert(ev.flags & AF_EV_FORWARD);
	cr_assert(ev.flags & AF_EV_FORWARD_EXTERNAL);
	cr_assert_str_eq(ev.recipient, "drop@other.com");
	cr_assert_eq(ev.outcome, AF_OUTCOME_SUCCESS);
}

Test(m365, maps_set_mailbox_forwarding_inside_the_domain_without_the_external_flag)
{
	parse_ok(ADMIN_HEAD("Set-Mailbox") ",'Parameters':[{'Name':'ForwardingAddress','Value':'"
	                                   "assistant@contoso.com'}]}");
	cr_assert_eq(ev.kind, AF_KIND_MAILBOX_FORWARD);
	cr_assert(ev.flags & AF_EV_FORWARD);
	cr_assert_eq(ev.flags & AF_EV_FORWARD_EXTERNAL, 0);
	cr_assert_str_eq(ev.recipient, "assistant@contoso.com");
}

Test(m365, maps_set_mailbox_without_forwarding_as_other)
{
	parse_ok(ADMIN_HEAD(
	    "Set-Mailbox") ",'Parameters':[{'Name':'Identity','Value':'victim@contoso.com'},"
	                   "{'Name':'RetainDeletedItemsFor','Value':'30.00:00:00'}]}");
	cr_assert_eq(ev.kind, AF_KIND_OTHER);
	cr_assert_eq(ev.flags, 0);
	cr_assert_str_eq(ev.recipient, "");
}

Test(m365, maps_set_mailbox_clearing_forwarding_as_other)
{
	parse_ok(ADMIN_HEAD(
	    "Set-Mailbox") ",'Parameters':[{'Name':'ForwardingSmtpAddress','Value':''}]}");
	cr_assert_eq(ev.kind, AF_KIND_OTHER);
	cr_assert_eq(ev.flags, 0);
}

/* --- other workloads --- */

Test(m365, maps_mail_items_accessed_as_mail_access)
{
	parse_ok(
	    EXO_HEAD("MailItemsAccessed") ",'ClientInfoString':'Client=REST;Client=RESTSystem;;',"
	                                  "'OperationCount':12,'OperationProperties':[{'Name':'"
	                                  "MailAccessType',"
	                                  "'Value':'Bind'},{'Name':'IsThrottled','Value':'False'}],"
	                                  "'Folders':[{'FolderItems':[{'InternetMessageId':'<m1@"
	                                  "contoso.com>'}],"
	                                  "'Id':'LgAAAA','Path':'\\\\Inbox'}]}");
	cr_assert_eq(ev.kind, AF_KIND_MAIL_ACCESS);
	cr_assert_str_eq(ev.app, "Client=REST;Client=RESTSystem;;");
	cr_assert_eq(ev.flags, 0);
}

Test(m365, maps_a_sharepoint_file_operation_as_file_access)
{
	parse_ok(
	    "{'CreationTime':'2025-08-25T06:30:12','Id':'e1f2a3b4-0000-4000-8000-00000000f001',"
	    "'Operation':'FileAccessed','OrganizationId':'b1f0c3a2','RecordType':6,"
	    "'UserKey':'i:0h.f|membership|1003@live.com','UserType':0,'Version':1,"
	    "'Workload':'SharePoint','ClientIP':'203.0.113.45','ObjectId':"
	    "'https://contoso.sharepoint.com/sites/Finance/Shared Documents/payroll.xlsx',"
	    "'UserId':'victim@contoso.com','CorrelationId':'9f1e','EventSource':'SharePoint',"
	    "'ItemType':'File','ListId':'a1','ListItemUniqueId':'b2','Site':'c3',"
	    "'UserAgent':'Mozilla/5.0 (Windows NT 10.0; Win64; x64)','WebId':'d4',"
	    "'SourceFileExtension':'xlsx','SiteUrl':'https://contoso.sharepoint.com/sites/Finance/"
	    "',"
	    "'SourceFileName':'payroll.xlsx','SourceRelativeUrl':'Shared Documents'}");
	cr_assert_eq(ev.kind, AF_KIND_FILE_ACCESS);
	cr_assert_str_eq(ev.action, "FileAccessed");
	cr_assert_eq(ev.ua_hash, h("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"));
	cr_assert_eq(ev.outcome, AF_OUTCOME_UNKNOWN);
}

Test(m365, maps_a_onedrive_file_download_as_file_access)
{
	parse_ok("{'CreationTime':'2025-08-25T06:30:12','Operation':'FileDownloaded',"
	         "'RecordType':6,'Workload':'OneDrive','UserId':'victim@contoso.com'}");
	cr_assert_eq(ev.kind, AF_KIND_FILE_ACCESS);
}

Test(m365, maps_an_unknown_operation_as_other)
{
	parse_ok(
	    "{'CreationTime':'2025-08-25T05:58:00','Id':'x1','Operation':'Add-MailboxPermission',"
	    "'RecordType':1,'Workload':'Exchange','UserId':'admin@contoso.com',"
	    "'ResultStatus':'Failed'}");
	cr_assert_eq(ev.kind, AF_KIND_OTHER);
	cr_assert_str_eq(ev.action, "Add-MailboxPermission");
	cr_assert_eq(ev.outcome, AF_OUTCOME_FAILURE);
	cr_assert_str_eq(ev.record_id, "x1");
}

Test(m365, takes_the_mailbox_owner_when_there_is_no_user_id)
{
	parse_ok("{'CreationTime':'2025-08-25T05:58:00','Operation':'MailItemsAccessed',"
	         "'RecordType':50,'MailboxOwnerUPN':'Owner@Contoso.com'}");
	cr_assert_str_eq(ev.account, "owner@contoso.com");
}

Test(m365, dead_letters_an_operation_that_is_not_a_string)
{
	parse(
	    "{'CreationTime':'2025-08-25T05:58:00','Operation':7,'RecordType':2,'UserId':'a@b.c'}");
	cr_assert_eq(ev.schema, AF_SCHEMA_M365);
	cr_assert_not_null(detail);
	cr_assert_str_eq(detail, "Operation");
	cr_assert_eq(parse("{'CreationTime':'2025-08-25T05:58:00','Operation':['Send'],"
	                   "'RecordType':2,'UserId':'a@b.c'}"),
	             AF_REASON_WRONG_TYPE);
}

/* --- other shapes of the same schema --- */

Test(m365, reads_an_export_that_lower_cases_every_key)
{
	parse_ok("{'clientip':'1.2.3.4:10736','creationtime':'2025-08-25 05:58:00.000000000',"
	         "'externalaccess':false,'id':'111-22-33','objectid':'victim','operation':"
	         "'New-InboxRule','organizationid':'11-aa-bb','organizationname':"
	         "'contoso.onmicrosoft.com','parameters':[{'Name':'MoveToFolder','Value':"
	         "'RSS Subscriptions'},{'Name':'ForwardTo','Value':'x@evil.example'}],"
	         "'recordtype':1,'resultstatus':'True','userid':'Victim@Contoso.com',"
	         "'userkey':'12345','usertype':2,'workload':'Exchange'}");
	cr_assert_eq(ev.kind, AF_KIND_INBOX_RULE);
	cr_assert_eq(ev.ts_ns, T0);
	cr_assert_str_eq(ev.account, "victim@contoso.com");
	cr_assert_str_eq(ev.record_id, "111-22-33");
	cr_assert_eq(ev.src.port, 10736);
	cr_assert(ev.flags & AF_EV_RULE_MOVE);
	cr_assert(ev.flags & AF_EV_FORWARD_EXTERNAL);
	cr_assert_eq(ev.outcome, AF_OUTCOME_SUCCESS);
}

/* Log Analytics' OfficeActivity: TimeGenerated, Client_IPAddress,
 * OfficeWorkload, OfficeId, RecordType as a string and nested values as
 * JSON text. */
#define LA_HEAD(op)                                                                                \
	"{'TenantId':'00000000-0000-0000-0000-000000000000','RecordType':'2',"                     \
	"'TimeGenerated':'2025-08-25T05:58:00.3120000Z','Operation':'" op "',"                     \
	"'OrganizationId':'b1f0c3a2','UserType':'Regular','UserKey':'1003',"                       \
	"'OfficeWorkload':'Exchange','ResultStatus':'Succeeded','UserId':'Victim@Contoso.com',"    \
	"'ClientInfoString':'Client=REST;;','Client_IPAddress':'[2001:db8:85a3::8a2e]:50311',"     \
	"'OfficeId':'699e0b10-1c53-403e-976f-ce0847a92b44','SourceSystem':"                        \
	"'OfficeActivityManager','Type':'OfficeActivity'"

Test(m365, reads_the_log_analytics_office_activity_shape)
{
	char text[AF_IP_TEXT_MAX];

	parse_ok(LA_HEAD("Send") ",'SaveToSentItems':'False'}");
	cr_assert_eq(ev.kind, AF_KIND_MAIL_SEND);
	cr_assert_eq(ev.ts_ns, T0 + 312000000);
	cr_assert_str_eq(ev.account, "victim@contoso.com");
	cr_assert_str_eq(ev.record_id, "699e0b10-1c53-403e-976f-ce0847a92b44");
	cr_assert_neq(ev.dedup_key, 0);
	cr_assert_eq(ev.src.family, AF_IP_V6);
	cr_assert_eq(ev.src.port, 50311);
	af_ip_format(&ev.src, text, sizeof text);
	cr_assert_str_eq(text, "2001:db8:85a3::8a2e");
	cr_assert(ev.flags & AF_EV_SAVE_SENT_KNOWN);
	cr_assert_eq(ev.flags & AF_EV_SAVE_SENT, 0);
}

Test(m365, reads_affected_items_held_as_json_text)
{
	parse_ok(LA_HEAD("HardDelete") ",'AffectedItems':'[{\\'Id\\':\\'RgA\\',"
	                               "\\'ParentFolder\\':{\\'Id\\':\\'LgA\\',\\'Path\\':"
	                               "\\'\\\\\\\\Sent Items\\'},\\'Subject\\':\\'x\\'}]'}");
	cr_assert_eq(ev.kind, AF_KIND_MAIL_DELETE);
	cr_assert(ev.flags & AF_EV_FROM_SENT_ITEMS);
}

Test(m365, reads_rule_parameters_held_as_json_text)
{
	parse_ok(LA_HEAD("New-InboxRule") ",'Parameters':'[{\\'Name\\':\\'DeleteMessage\\',"
	                                  "\\'Value\\':\\'True\\'}]'}");
	cr_assert_eq(ev.kind, AF_KIND_INBOX_RULE);
	cr_assert(ev.flags & AF_EV_RULE_DELETE);
}
