/* test_map_msgtrace.c - the Exchange Online message trace mapper
 * (map_msgtrace.c): rows as Get-MessageTrace and the reporting web service
 * write them (PascalCase) and as Graph's message trace writes them
 * (camelCase); one row per recipient, each its own duplicate key.
 *
 * Records are written with ' for " to stay readable; parse() swaps them.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "parse_test.h"

TestSuite(msgtrace, .init = af_parse_test_setup, .fini = af_parse_test_teardown);

/* Every record here is a message trace row, which is a send. */
static void parse_ok(const char *text)
{
	parse_as(text, AF_SCHEMA_MSGTRACE);
	cr_assert_eq(ev.kind, AF_KIND_MAIL_SEND);
}

/* A Get-MessageTrace row for one recipient with one delivery status. */
static void row(char *out, size_t size, const char *recipient, const char *status)
{
	snprintf(out, size,
	         "{'Organization':'contoso.onmicrosoft.com','MessageId':"
	         "'<SY4P282MB0001@SY4P282MB.AUSP282.PROD.OUTLOOK.COM>',"
	         "'Received':'2025-08-25T05:58:00.1234567Z','SenderAddress':'Victim@Contoso.com',"
	         "'RecipientAddress':'%s','Subject':'Invoice 2025-08','Status':'%s',"
	         "'ToIP':null,'FromIP':'198.51.100.7','Size':14876,"
	         "'MessageTraceId':'8e3f5a2b-1c4d-4e6f-9a0b-1c2d3e4f5a6b',"
	         "'StartDate':'2025-08-24T00:00:00Z','EndDate':'2025-08-26T00:00:00Z','Index':0}",
	         recipient, status);
}

Test(msgtrace, maps_a_message_trace_row_to_a_send_by_its_sender)
{
	char rec[1024];

	row(rec, sizeof rec, "Target1@Example.org", "Delivered");
	parse_ok(rec);
	cr_assert_eq(ev.ts_ns, T0 + 123456700);
	cr_assert_str_eq(ev.account, "victim@contoso.com");
	cr_assert_str_eq(ev.recipient, "target1@example.org");
	cr_assert_eq(ev.recipient_count, 1);
	cr_assert_str_eq(ev.record_id, "8e3f5a2b-1c4d-4e6f-9a0b-1c2d3e4f5a6b");
	cr_assert_str_eq(ev.action, "Delivered");
	cr_assert_eq(ev.outcome, AF_OUTCOME_SUCCESS);
	cr_assert_eq(ev.src.family, AF_IP_V4);
	cr_assert_eq(ev.src.bytes[15], 7);
	cr_assert_neq(ev.dedup_key, 0);
}

Test(msgtrace, reads_the_camel_case_form)
{
	parse_ok(
	    "{'id':'4f1e2d3c-0000-4000-8000-000000000777','senderAddress':'Victim@Contoso.com',"
	    "'recipientAddress':'Target2@Example.net','receivedDateTime':"
	    "'2025-08-25T05:58:00Z','subject':'Invoice','size':14876,'status':'delivered',"
	    "'fromIP':'2001:db8::25','toIP':'','messageId':'<m2@contoso.com>'}");
	cr_assert_eq(ev.ts_ns, T0);
	cr_assert_str_eq(ev.account, "victim@contoso.com");
	cr_assert_str_eq(ev.recipient, "target2@example.net");
	cr_assert_str_eq(ev.record_id, "4f1e2d3c-0000-4000-8000-000000000777");
	cr_assert_eq(ev.outcome, AF_OUTCOME_SUCCESS);
	cr_assert_eq(ev.src.family, AF_IP_V6);
	cr_assert_neq(ev.dedup_key, 0);
}

Test(msgtrace, reads_the_dotnet_date_the_reporting_service_writes)
{
	parse_ok("{'Received':'/Date(1756101480000)/','SenderAddress':'a@contoso.com',"
	         "'RecipientAddress':'b@example.org','MessageTraceId':'m1','Status':'Pending'}");
	cr_assert_eq(ev.ts_ns, T0);
}

Test(msgtrace, recognises_a_row_without_a_trace_id)
{
	parse_ok("{'Received':'2025-08-25T05:58:00Z','SenderAddress':'a@contoso.com',"
	         "'RecipientAddress':'b@example.org'}");
	cr_assert_str_eq(ev.record_id, "");
	cr_assert_eq(ev.dedup_key, 0);
	cr_assert_str_eq(ev.action, "MessageTrace");
	cr_assert_eq(ev.outcome, AF_OUTCOME_UNKNOWN);
	cr_assert_eq(ev.src.family, AF_IP_NONE);
}

Test(msgtrace, gives_each_recipient_of_one_message_its_own_duplicate_key)
{
	char rec[1024];
	uint64_t k1, k2, k3;

	row(rec, sizeof rec, "one@example.org", "Delivered");
	parse_ok(rec);
	k1 = ev.dedup_key;
	row(rec, sizeof rec, "two@example.org", "Delivered");
	parse_ok(rec);
	k2 = ev.dedup_key;
	row(rec, sizeof rec, "three@example.net", "Delivered");
	parse_ok(rec);
	k3 = ev.dedup_key;
	cr_assert_neq(k1, k2);
	cr_assert_neq(k1, k3);
	cr_assert_neq(k2, k3);
	cr_assert_str_eq(ev.record_id, "8e3f5a2b-1c4d-4e6f-9a0b-1c2d3e4f5a6b");
}

Test(msgtrace, gives_a_row_seen_twice_the_same_duplicate_key)
{
	char rec[1024];
	uint64_t k;

	row(rec, sizeof rec, "one@example.org", "Delivered");
	parse_ok(rec);
	k = ev.dedup_key;
	/* The same row read again, its status since updated and the address
	 * written in another case. */
	row(rec, sizeof rec, "ONE@Example.org", "Failed");
	parse_ok(rec);
	cr_assert_eq(ev.dedup_key, k);
}

Test(msgtrace, tells_the_outcome_from_the_delivery_status)
{
	static const struct {
		const char *status;
		enum af_outcome outcome;
	} cases[] = {
	    {"Delivered", AF_OUTCOME_SUCCESS},     {"Expanded", AF_OUTCOME_SUCCESS},
	    {"Failed", AF_OUTCOME_FAILURE},        {"FilteredAsSpam", AF_OUTCOME_FAILURE},
	    {"Quarantined", AF_OUTCOME_FAILURE},   {"Pending", AF_OUTCOME_UNKNOWN},
	    {"GettingStatus", AF_OUTCOME_UNKNOWN}, {"None", AF_OUTCOME_UNKNOWN},
	};
	char rec[1024];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		row(rec, sizeof rec, "x@example.org", cases[i].status);
		parse_ok(rec);
		cr_assert_eq(ev.outcome, cases[i].outcome, "%s: %s", cases[i].status,
		             af_outcome_name(ev.outcome));
		cr_assert_str_eq(ev.action, cases[i].status);
		cr_assert_eq(ev.kind, AF_KIND_MAIL_SEND, "a failed delivery is still a send");
	}
}

Test(msgtrace, dead_letters_a_row_without_a_recipient)
{
	parse_fails("{'Received':'2025-08-25T05:58:00Z','SenderAddress':'a@contoso.com',"
	            "'MessageTraceId':'m1','Status':'Delivered'}",
	            AF_REASON_MISSING_FIELD, "RecipientAddress");
	cr_assert_eq(ev.schema, AF_SCHEMA_MSGTRACE);
	parse_fails("{'Received':'2025-08-25T05:58:00Z','SenderAddress':'a@contoso.com',"
	            "'RecipientAddress':null,'MessageTraceId':'m1'}",
	            AF_REASON_MISSING_FIELD, "RecipientAddress");
	parse_fails("{'Received':'2025-08-25T05:58:00Z','SenderAddress':'a@contoso.com',"
	            "'RecipientAddress':'','MessageTraceId':'m1'}",
	            AF_REASON_MISSING_FIELD, "RecipientAddress");
}

Test(msgtrace, dead_letters_a_recipient_that_is_not_a_string)
{
	parse_fails("{'Received':'2025-08-25T05:58:00Z','SenderAddress':'a@contoso.com',"
	            "'RecipientAddress':['b@example.org','c@example.org'],'MessageTraceId':'m1'}",
	            AF_REASON_WRONG_TYPE, "RecipientAddress");
}

Test(msgtrace, dead_letters_a_row_without_a_sender_or_a_time)
{
	parse_fails("{'Received':'2025-08-25T05:58:00Z','RecipientAddress':'b@example.org',"
	            "'MessageTraceId':'m1'}",
	            AF_REASON_MISSING_FIELD, "SenderAddress");
	parse_fails("{'SenderAddress':'a@contoso.com','RecipientAddress':'b@example.org',"
	            "'MessageTraceId':'m1'}",
	            AF_REASON_MISSING_FIELD, "Received");
	parse_fails("{'Received':'25.08.2025','SenderAddress':'a@contoso.com',"
	            "'RecipientAddress':'b@example.org','MessageTraceId':'m1'}",
	            AF_REASON_BAD_TIMESTAMP, "Received");
}

Test(msgtrace, cuts_an_over_long_recipient_and_flags_the_event)
{
	char addr[200], rec[1024];

	memset(addr, 'r', 150);
	memcpy(addr + 150, "@example.org", 13);
	row(rec, sizeof rec, addr, "Delivered");
	parse_ok(rec);
	cr_assert_eq(strlen(ev.recipient), AF_RECIPIENT_MAX - 1);
	cr_assert(ev.flags & AF_EV_TRUNCATED);
}
