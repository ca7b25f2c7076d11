/* test_parse.c - the parse stage as a whole (af_parser_new, af_parse_record):
 * how the schema is told from the fields present, what happens to the event
 * and its position, the dead-letter reasons and their detail, and the
 * conversions every mapper shares: event times, accounts, addresses, cut
 * strings. Field-by-field checks of each schema are in test_map_*.c.
 *
 * Records are written with ' for " to stay readable; parse() swaps them.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "parse_test.h"

TestSuite(parse, .init = af_parse_test_setup, .fini = af_parse_test_teardown);

/* parse(text), which must give an event of whichever schema. */
static void parse_ok(const char *text)
{
	enum af_reason r = parse(text);

	cr_assert_eq(r, AF_REASON_NONE, "%s (%s): %s", af_reason_name(r), detail, text);
}

/* An M365 record around one CreationTime, UserId, ClientIP and Operation. */
static void m365(char *out, size_t size, const char *time, const char *user, const char *ip,
                 const char *op)
{
	snprintf(out, size,
	         "{'CreationTime':'%s','Id':'4a0f3c1e-0000-4000-8000-000000000001',"
	         "'Operation':'%s','RecordType':2,'Workload':'Exchange','UserId':'%s',"
	         "'ClientIP':'%s','ResultStatus':'Succeeded'}",
	         time, op, user, ip);
}

static void parse_time(const char *time)
{
	char rec[512];

	m365(rec, sizeof rec, time, "a@contoso.com", "1.2.3.4", "Send");
	parse_ok(rec);
}

static void parse_ip(const char *ip)
{
	char rec[512];

	m365(rec, sizeof rec, "2025-08-25T05:58:00Z", "a@contoso.com", ip, "Send");
	parse_ok(rec);
}

/* --- telling the schema --- */

Test(parse, tells_each_schema_from_the_fields_present)
{
	static const struct {
		const char *rec;
		enum af_schema schema;
	} cases[] = {
	    {"{'CreationTime':'2025-08-25T05:58:00','Operation':'Send','UserId':'a@b.c'}",
	     AF_SCHEMA_M365},
	    {"{'createdDateTime':'2025-08-25T05:58:00Z','userPrincipalName':'a@b.c',"
	     "'status':{'errorCode':0}}",
	     AF_SCHEMA_ENTRA_GRAPH},
	    {"{'time':'2025-08-25T05:58:00Z','category':'SignInLogs','properties':{"
	     "'userPrincipalName':'a@b.c','status':{'errorCode':0}}}",
	     AF_SCHEMA_ENTRA_DIAG},
	    {"{'TimeGenerated':'2025-08-25T05:58:00Z','Category':'SignInLogs',"
	     "'UserPrincipalName':'a@b.c','ResultType':'0'}",
	     AF_SCHEMA_ENTRA_SENTINEL},
	    {"{'Received':'2025-08-25T05:58:00Z','SenderAddress':'a@b.c',"
	     "'RecipientAddress':'x@y.z','MessageTraceId':'m1'}",
	     AF_SCHEMA_MSGTRACE},
	    {"{'published':'2025-08-25T05:58:00Z','eventType':'user.session.start',"
	     "'actor':{'alternateId':'a@b.c'},'outcome':{'result':'SUCCESS'}}",
	     AF_SCHEMA_OKTA},
	    {"{'eventTime':'2025-08-25T05:58:00Z','eventName':'ConsoleLogin',"
	     "'eventSource':'signin.amazonaws.com','userIdentity':{'userName':'a@b.c'},"
	     "'responseElements':{'ConsoleLogin':'Success'}}",
	     AF_SCHEMA_CLOUDTRAIL},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		parse_ok(cases[i].rec);
		cr_assert_eq(ev.schema, cases[i].schema, "%s for %s", af_schema_name(ev.schema),
		             cases[i].rec);
		cr_assert_eq(ev.ts_ns, T0, "%s", cases[i].rec);
		cr_assert_str_eq(ev.account, "a@b.c", "%s", cases[i].rec);
	}
}

Test(parse, does_not_take_an_m365_record_with_a_stray_time_key_for_entra)
{
	parse_ok("{'time':'2020-01-01T00:00:00Z','CreationTime':'2025-08-25T05:58:00',"
	         "'Operation':'Send','UserId':'a@b.c','category':'Audit','operationName':'x'}");
	cr_assert_eq(ev.schema, AF_SCHEMA_M365);
	cr_assert_eq(ev.ts_ns, T0);
}

Test(parse, takes_a_record_with_a_signin_category_for_entra_whatever_else_it_holds)
{
	parse_ok("{'time':'2025-08-25T05:58:00Z','category':'NonInteractiveUserSignInLogs',"
	         "'Operation':'UserLoggedIn','CreationTime':'2020-01-01T00:00:00',"
	         "'properties':{'userPrincipalName':'a@b.c','status':{'errorCode':0}}}");
	cr_assert_eq(ev.schema, AF_SCHEMA_ENTRA_DIAG);
	cr_assert_eq(ev.kind, AF_KIND_SIGNIN_OK);
}

Test(parse, dead_letters_an_object_no_mapper_recognises)
{
	parse_fails("{'hello':'world'}", AF_REASON_UNKNOWN_SCHEMA, NULL);
	parse_fails("{}", AF_REASON_UNKNOWN_SCHEMA, NULL);
	/* An Operation alone, with no time, record type or workload. */
	parse_fails("{'Operation':'Send','UserId':'a@b.c'}", AF_REASON_UNKNOWN_SCHEMA, NULL);
	/* GitHub's audit log uses none of the fields we read. */
	parse_fails("{'actor':'cat','action':'org.disable_two_factor_requirement',"
	            "'created_at':1621305118553,'org':'my-org'}",
	            AF_REASON_UNKNOWN_SCHEMA, NULL);
	cr_assert(strstr(detail, "mapper") != NULL, "%s", detail);
}

/* --- records refused before any mapper --- */

Test(parse, dead_letters_malformed_json_with_a_detail)
{
	parse_fails("{'CreationTime':'2025-08-25T05:58:00','Operation':", AF_REASON_MALFORMED_JSON,
	            "not valid JSON");
	parse_fails("{'Operation':'Send'} trailing", AF_REASON_MALFORMED_JSON, "not valid JSON");
}

Test(parse, dead_letters_json_that_is_not_an_object)
{
	parse_fails("[{'Operation':'Send'}]", AF_REASON_NOT_OBJECT,
	            "the record is not a JSON object");
	parse_fails("'text'", AF_REASON_NOT_OBJECT, NULL);
}

Test(parse, dead_letters_invalid_utf8_and_nul_bytes)
{
	static const char bad_utf8[] = "{\"Operation\":\"\xfe\"}";
	static const char nul[] = "{\"Operation\":\"S\0end\"}";

	cr_assert_eq(parse_n(bad_utf8, sizeof bad_utf8 - 1), AF_REASON_INVALID_UTF8);
	cr_assert_str_eq(detail, "bytes that are not UTF-8");
	cr_assert_eq(parse_n(nul, sizeof nul - 1), AF_REASON_NUL_BYTES);
	cr_assert_str_eq(detail, "NUL byte in the record");
}

Test(parse, dead_letters_a_record_larger_than_the_parser_was_made_for)
{
	char err[128];
	struct af_parser *small = af_parser_new(128, err, sizeof err);
	char rec[512];

	cr_assert_not_null(small, "%s", err);
	memset(rec, ' ', sizeof rec);
	memcpy(rec, "{}", 2);
	memcpy(buf, rec, 300);
	memset(buf + 300, ' ', AF_JSON_PADDING);
	cr_assert_eq(af_parse_record(small, buf, 300, &ev, &detail), AF_REASON_OVERSIZE);
	cr_assert_str_eq(detail, "record larger than the parser's capacity");
	af_parser_free(small);
}

/* --- the event --- */

Test(parse, clears_the_event_but_keeps_the_callers_position)
{
	memset(&ev, 0xa5, sizeof ev);
	ev.pos = (struct af_pos){.input = 3, .file = 4, .line = 17, .offset = 4096, .seq = 99};
	parse_ok("{'CreationTime':'2025-08-25T05:58:00','Operation':'Send','UserId':'a@b.c'}");
	cr_assert_eq(ev.pos.input, 3);
	cr_assert_eq(ev.pos.file, 4);
	cr_assert_eq(ev.pos.line, 17);
	cr_assert_eq(ev.pos.offset, 4096);
	cr_assert_eq(ev.pos.seq, 99);
	cr_assert_eq(ev.ua_hash, 0);
	cr_assert_eq(ev.rcpt_name_hash, 0);
	cr_assert_eq(ev.error_code, 0);
	cr_assert_eq(ev.src.family, AF_IP_NONE);
	cr_assert_eq(ev.flags, 0);
	cr_assert_str_eq(ev.record_id, "");
	cr_assert_str_eq(ev.recipient, "");
	cr_assert_str_eq(ev.geo.country, "");
	cr_assert_eq(ev.geo.asn, 0);
}

Test(parse, keeps_the_callers_position_on_a_dead_lettered_record)
{
	memset(&ev, 0xa5, sizeof ev);
	ev.pos.line = 12;
	parse_fails("{'nothing':'here'}", AF_REASON_UNKNOWN_SCHEMA, NULL);
	cr_assert_eq(ev.pos.line, 12);
	cr_assert_eq(ev.kind, AF_KIND_OTHER);
	cr_assert_str_eq(ev.account, "");
}

Test(parse, leaves_nothing_of_one_record_in_the_next)
{
	parse_ok("{'CreationTime':'2025-08-25T05:58:00','Id':'r1','Operation':'Send',"
	         "'UserId':'first@contoso.com','ClientIP':'10.1.1.1','SaveToSentItems':false,"
	         "'ClientInfoString':'Client=REST'}");
	cr_assert_neq(ev.flags, 0);
	parse_ok("{'CreationTime':'2025-08-25T05:58:01','Operation':'Other',"
	         "'UserId':'b@contoso.com'}");
	cr_assert_str_eq(ev.account, "b@contoso.com");
	cr_assert_str_eq(ev.record_id, "");
	cr_assert_str_eq(ev.app, "");
	cr_assert_eq(ev.src.family, AF_IP_NONE);
	cr_assert_eq(ev.flags, 0);
	cr_assert_eq(ev.dedup_key, 0);
	cr_assert_eq(ev.ts_ns, T0 + 1000000000LL);
}

Test(parse, derives_the_duplicate_key_from_the_record_id)
{
	const char *a = "{'CreationTime':'2025-08-25T05:58:00','Id':'abc','Operation':'Send',"
	                "'UserId':'a@b.c'}";
	uint64_t k1, k2;

	parse_ok(a);
	k1 = ev.dedup_key;
	cr_assert_neq(k1, 0);
	cr_assert_eq(k1, XXH3_64bits("abc", 3) | 1);
	parse_ok("{'CreationTime':'2025-08-25T06:00:00','Id':'abc','Operation':'SendAs',"
	         "'UserId':'z@b.c'}");
	cr_assert_eq(ev.dedup_key, k1);
	parse_ok("{'CreationTime':'2025-08-25T05:58:00','Id':'abd','Operation':'Send',"
	         "'UserId':'a@b.c'}");
	k2 = ev.dedup_key;
	cr_assert_neq(k2, k1);
}

Test(parse, leaves_the_duplicate_key_zero_without_a_record_id)
{
	parse_ok("{'CreationTime':'2025-08-25T05:58:00','Operation':'Send','UserId':'a@b.c'}");
	cr_assert_eq(ev.dedup_key, 0);
}

Test(parse, names_the_kernel_it_runs)
{
	const char *k = af_parser_kernel(ps);

	cr_assert(k != NULL && k[0] != '\0');
}

Test(parse, runs_the_portable_kernel_when_the_environment_asks_for_it)
{
	char err[128];

	setenv("AF_JSON_KERNEL", "fallback", 1);
	struct af_parser *g = af_parser_new(4096, err, sizeof err);
	unsetenv("AF_JSON_KERNEL");
	cr_assert_not_null(g, "%s", err);
	cr_assert_str_eq(af_parser_kernel(g), "fallback");
	af_parser_free(g);
}

/* --- event times --- */

Test(parse, reads_the_event_time_in_each_form_exporters_write)
{
	static const struct {
		const char *text;
		int64_t ns;
	} cases[] = {
	    {"2025-08-25T05:58:00", T0},
	    {"2025-08-25T05:58:00Z", T0},
	    {"2025-08-25 05:58:00", T0},
	    {"2025-08-25T12:58:00+07:00", T0},
	    {"2025-08-25T05:58:00.1234567Z", T0 + 123456700},
	    {"2025-08-25T05:58:00.123Z", T0 + 123000000},
	    {"/Date(1756101480000)/", T0},
	    {"8/25/2025 5:58:00 AM", T0},
	    {"8/25/2025 5:58:00 PM", T0 + 12 * 3600 * 1000000000LL},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		parse_time(cases[i].text);
		cr_assert_eq(ev.ts_ns, cases[i].ns, "%s: %lld", cases[i].text, (long long)ev.ts_ns);
	}
}

Test(parse, dead_letters_an_event_time_it_cannot_read_naming_the_field)
{
	static const char *const bad[] = {"yesterday", "2025-02-30T00:00:00Z",
	                                  "2025-08-25T25:00:00Z", "redacted", "1756101480"};
	char rec[512];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		m365(rec, sizeof rec, bad[i], "a@b.c", "1.2.3.4", "Send");
		parse_fails(rec, AF_REASON_BAD_TIMESTAMP, "CreationTime");
	}
}

Test(parse, dead_letters_an_event_time_of_the_wrong_type)
{
	parse_fails("{'CreationTime':1756101480,'Operation':'Send','UserId':'a@b.c'}",
	            AF_REASON_WRONG_TYPE, "CreationTime");
	parse_fails("{'CreationTime':{'t':1},'Operation':'Send','UserId':'a@b.c'}",
	            AF_REASON_WRONG_TYPE, "CreationTime");
}

Test(parse, dead_letters_a_missing_event_time)
{
	parse_fails("{'RecordType':2,'Operation':'Send','UserId':'a@b.c'}", AF_REASON_MISSING_FIELD,
	            "CreationTime");
	parse_fails("{'RecordType':2,'CreationTime':null,'Operation':'Send','UserId':'a@b.c'}",
	            AF_REASON_MISSING_FIELD, "CreationTime");
	parse_fails("{'RecordType':2,'CreationTime':'','Operation':'Send','UserId':'a@b.c'}",
	            AF_REASON_MISSING_FIELD, "CreationTime");
}

/* --- accounts --- */

Test(parse, lower_cases_the_account_and_hashes_the_lower_cased_text)
{
	char rec[512];

	m365(rec, sizeof rec, "2025-08-25T05:58:00", "Nguyen.Van.A@Contoso.COM", "1.2.3.4", "Send");
	parse_ok(rec);
	cr_assert_str_eq(ev.account, "nguyen.van.a@contoso.com");
	cr_assert_eq(ev.account_hash, XXH3_64bits("nguyen.van.a@contoso.com", 24));
}

Test(parse, gives_one_account_hash_whatever_the_case)
{
	char rec[512];
	uint64_t h;

	m365(rec, sizeof rec, "2025-08-25T05:58:00", "USER@CONTOSO.COM", "1.2.3.4", "Send");
	parse_ok(rec);
	h = ev.account_hash;
	m365(rec, sizeof rec, "2025-08-25T05:58:00", "user@contoso.com", "1.2.3.4", "Send");
	parse_ok(rec);
	cr_assert_eq(ev.account_hash, h);
	m365(rec, sizeof rec, "2025-08-25T05:58:00", "user2@contoso.com", "1.2.3.4", "Send");
	parse_ok(rec);
	cr_assert_neq(ev.account_hash, h);
}

Test(parse, trims_blanks_around_the_account)
{
	char rec[512];

	m365(rec, sizeof rec, "2025-08-25T05:58:00", " \\tA@B.com  ", "1.2.3.4", "Send");
	parse_ok(rec);
	cr_assert_str_eq(ev.account, "a@b.com");
	cr_assert_eq(ev.account_hash, XXH3_64bits("a@b.com", 7));
}

Test(parse, leaves_non_ascii_letters_of_the_account_as_they_are)
{
	char rec[512];

	m365(rec, sizeof rec, "2025-08-25T05:58:00", "\xc3\x89LODIE@Exemple.fr", "1.2.3.4", "Send");
	parse_ok(rec);
	cr_assert_str_eq(ev.account, "\xc3\x89lodie@exemple.fr");
}

Test(parse, hashes_the_whole_of_an_account_too_long_to_keep)
{
	char user[301], lower[301], rec[1024];

	for (size_t i = 0; i < 300; i++)
		user[i] = (char)('A' + i % 26);
	user[300] = '\0';
	for (size_t i = 0; i < 300; i++)
		lower[i] = (char)(user[i] | 0x20);
	m365(rec, sizeof rec, "2025-08-25T05:58:00", user, "1.2.3.4", "Send");
	parse_ok(rec);
	cr_assert_eq(strlen(ev.account), AF_ACCOUNT_MAX - 1);
	cr_assert(strncmp(ev.account, lower, AF_ACCOUNT_MAX - 1) == 0);
	cr_assert(ev.flags & AF_EV_TRUNCATED);
	cr_assert_eq(ev.account_hash, XXH3_64bits(lower, 300));
}

Test(parse, dead_letters_a_missing_or_empty_account_naming_the_field)
{
	parse_fails("{'CreationTime':'2025-08-25T05:58:00','Operation':'Send'}",
	            AF_REASON_MISSING_FIELD, "UserId");
	parse_fails("{'CreationTime':'2025-08-25T05:58:00','Operation':'Send','UserId':''}",
	            AF_REASON_MISSING_FIELD, "UserId");
	parse_fails("{'CreationTime':'2025-08-25T05:58:00','Operation':'Send','UserId':'  '}",
	            AF_REASON_MISSING_FIELD, "UserId");
	parse_fails("{'CreationTime':'2025-08-25T05:58:00','Operation':'Send','UserId':null}",
	            AF_REASON_MISSING_FIELD, "UserId");
}

Test(parse, dead_letters_an_account_of_the_wrong_type)
{
	parse_fails("{'CreationTime':'2025-08-25T05:58:00','Operation':'Send','UserId':42}",
	            AF_REASON_WRONG_TYPE, "UserId");
	parse_fails("{'CreationTime':'2025-08-25T05:58:00','Operation':'Send',"
	            "'UserId':['a@b.c']}",
	            AF_REASON_WRONG_TYPE, "UserId");
}

Test(parse, dead_letters_an_account_holding_an_escaped_nul)
{
	parse_fails("{'CreationTime':'2025-08-25T05:58:00','Operation':'Send',"
	            "'UserId':'\\u0000victim@contoso.com'}",
	            AF_REASON_NUL_BYTES, "UserId");
	parse_fails("{'CreationTime':'2025-08-25T05:58:00','Operation':'Send',"
	            "'UserId':'victim@contoso.com\\u0000x'}",
	            AF_REASON_NUL_BYTES, "UserId");
}

/* --- source addresses --- */

Test(parse, reads_an_ipv4_source_address)
{
	parse_ip("198.51.100.7");
	cr_assert_eq(ev.src.family, AF_IP_V4);
	cr_assert_eq(ev.src.port, 0);
	cr_assert_eq(ev.src.bytes[10], 0xff);
	cr_assert_eq(ev.src.bytes[12], 198);
	cr_assert_eq(ev.src.bytes[15], 7);
}

Test(parse, reads_the_port_after_an_ipv4_address)
{
	parse_ip("198.51.100.7:50432");
	cr_assert_eq(ev.src.family, AF_IP_V4);
	cr_assert_eq(ev.src.port, 50432);
	cr_assert_eq(ev.src.bytes[15], 7);
}

Test(parse, reads_an_ipv6_source_address_with_and_without_a_port)
{
	char text[AF_IP_TEXT_MAX];

	parse_ip("2001:db8::1");
	cr_assert_eq(ev.src.family, AF_IP_V6);
	cr_assert_eq(ev.src.port, 0);
	af_ip_format(&ev.src, text, sizeof text);
	cr_assert_str_eq(text, "2001:db8::1");
	parse_ip("[2001:db8::1]:443");
	cr_assert_eq(ev.src.family, AF_IP_V6);
	cr_assert_eq(ev.src.port, 443);
	af_ip_format(&ev.src, text, sizeof text);
	cr_assert_str_eq(text, "2001:db8::1");
}

Test(parse, reads_an_ipv4_mapped_ipv6_address_as_ipv4)
{
	char text[AF_IP_TEXT_MAX];

	parse_ip("::ffff:203.0.113.9");
	cr_assert_eq(ev.src.family, AF_IP_V4);
	af_ip_format(&ev.src, text, sizeof text);
	cr_assert_str_eq(text, "203.0.113.9");
}

Test(parse, keeps_a_record_whose_address_is_garbage_with_no_address)
{
	static const char *const bad[] = {"", "unknown", "signin.amazonaws.com", "999.1.1.1",
	                                  "<null>"};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		parse_ip(bad[i]);
		cr_assert_eq(ev.src.family, AF_IP_NONE, "\"%s\"", bad[i]);
		cr_assert_str_eq(ev.account, "a@contoso.com");
	}
}

/* --- strings cut to fit --- */

Test(parse, cuts_an_over_long_action_and_flags_the_event)
{
	char op[301], rec[1024];

	memset(op, 'x', 300);
	op[300] = '\0';
	m365(rec, sizeof rec, "2025-08-25T05:58:00", "a@b.c", "1.2.3.4", op);
	parse_ok(rec);
	cr_assert_eq(strlen(ev.action), AF_ACTION_MAX - 1);
	cr_assert(ev.flags & AF_EV_TRUNCATED);
	cr_assert_eq(ev.kind, AF_KIND_OTHER);
}

Test(parse, does_not_flag_an_action_that_fits_exactly)
{
	char op[AF_ACTION_MAX], rec[1024];

	memset(op, 'x', AF_ACTION_MAX - 1);
	op[AF_ACTION_MAX - 1] = '\0';
	m365(rec, sizeof rec, "2025-08-25T05:58:00", "a@b.c", "1.2.3.4", op);
	parse_ok(rec);
	cr_assert_str_eq(ev.action, op);
	cr_assert_eq(ev.flags & AF_EV_TRUNCATED, 0);
}

Test(parse, cuts_a_string_at_a_utf8_character_boundary)
{
	/* 30 two-byte characters: 60 bytes into a field of 47. */
	char op[61], rec[1024];

	for (size_t i = 0; i < 30; i++)
		memcpy(op + 2 * i, "\xc3\xa9", 2);
	op[60] = '\0';
	m365(rec, sizeof rec, "2025-08-25T05:58:00", "a@b.c", "1.2.3.4", op);
	parse_ok(rec);
	cr_assert_eq(strlen(ev.action), 46);
	cr_assert_eq((unsigned char)ev.action[44], 0xc3);
	cr_assert_eq((unsigned char)ev.action[45], 0xa9);
	cr_assert(ev.flags & AF_EV_TRUNCATED);
}

Test(parse, cuts_a_string_before_a_four_byte_character_that_does_not_fit)
{
	/* 45 ASCII bytes then U+1F600: only 2 bytes would fit. */
	char op[64], rec[1024];

	memset(op, 'a', 45);
	memcpy(op + 45, "\xf0\x9f\x98\x80", 4);
	op[49] = '\0';
	m365(rec, sizeof rec, "2025-08-25T05:58:00", "a@b.c", "1.2.3.4", op);
	parse_ok(rec);
	cr_assert_eq(strlen(ev.action), 45);
	cr_assert(ev.flags & AF_EV_TRUNCATED);
}
