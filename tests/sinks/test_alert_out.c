/* test_alert_out.c - alerts as JSON lines: exact native, OCSF and ECS lines,
 * what each format leaves out, the file output with its counts, and write
 * errors. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/alert_out.h"
#include "tests/sinks/sinks_test.h"

static char buf[1 << 14];
static char text[1 << 14];

/* a formatted on its own, as a NUL-terminated string (static storage). */
static const char *af_fmt(const struct af_alert *a, enum af_output_format format)
{
	struct af_jsonw w;

	af_jsonw_init(&w, buf, sizeof buf, NULL);
	af_alert_out_format(&w, a, format);
	cr_assert_eq(w.flags & ~(unsigned)AF_JSONW_REPLACED, 0);
	cr_assert_eq(w.depth, 0);
	memcpy(text, w.buf, w.len);
	text[w.len] = '\0';
	return text;
}

/* The shared new_country alert with every field set. */
static void af_full_alert(struct af_alert *a)
{
	af_test_alert(a);
	a->src.port = 443;
	strcpy(a->geo.city, "Ashburn");
	a->geo.lat = 39.0437;
	a->geo.lon = -77.4875;
	a->geo.asn = 64500;
	strcpy(a->geo.as_org, "Example \"Hosting\" LLC");
	a->geo.flags = AF_GEO_HAS_LOCATION | AF_GEO_HOSTING;
	af_alert_observe_text(a, "baseline", "VN");
	af_alert_observe(a, "days_seen", 412);
	af_alert_observe(a, "zscore", 4.25);
	af_alert_add_evidence(a, "r-2");
	strcpy(a->message, "user@example.com signed in from US, never seen in 412 days");
}

/* A password_spray alert: no account, an address and nothing else. */
static void af_spray_alert(struct af_alert *a)
{
	memset(a, 0, sizeof *a);
	a->id = UINT64_C(0xfedcba9876543210);
	a->rule = "password_spray";
	a->severity = AF_SEV_CRITICAL;
	a->ts_ns = AF_TS_2025_08_25_0558 + 120000000;
	cr_assert(af_ip_parse("203.0.113.9", 11, &a->src));
	af_alert_observe(a, "accounts", 25);
	strcpy(a->message, "203.0.113.9 failed against 25 accounts in 10 minutes");
}

Test(alert_out, writes_a_full_alert_as_the_native_line_exactly)
{
	static struct af_alert a;

	af_full_alert(&a);
	cr_assert_str_eq(af_fmt(&a, AF_OUTPUT_NATIVE),
	                 "{\"id\":\"00000abcdef01234\",\"rule\":\"new_country\","
	                 "\"severity\":\"high\",\"account\":\"user@example.com\","
	                 "\"ts\":\"2025-08-25T05:58:00Z\","
	                 "\"src\":{\"ip\":\"198.51.100.7\",\"country\":\"US\","
	                 "\"city\":\"Ashburn\",\"lat\":39.0437,\"lon\":-77.4875,"
	                 "\"asn\":64500,\"as_org\":\"Example \\\"Hosting\\\" LLC\"},"
	                 "\"observed\":{\"country\":\"US\",\"baseline\":\"VN\","
	                 "\"days_seen\":412,\"zscore\":4.25},"
	                 "\"evidence\":[\"r-1\",\"r-2\"],"
	                 "\"message\":\"user@example.com signed in from US, never seen in 412 "
	                 "days\"}");
}

Test(alert_out, writes_a_per_address_alert_with_a_null_account_and_only_the_ip)
{
	static struct af_alert a;

	af_spray_alert(&a);
	cr_assert_str_eq(af_fmt(&a, AF_OUTPUT_NATIVE),
	                 "{\"id\":\"fedcba9876543210\",\"rule\":\"password_spray\","
	                 "\"severity\":\"critical\",\"account\":null,"
	                 "\"ts\":\"2025-08-25T05:58:00.120Z\","
	                 "\"src\":{\"ip\":\"203.0.113.9\"},"
	                 "\"observed\":{\"accounts\":25},\"evidence\":[],"
	                 "\"message\":\"203.0.113.9 failed against 25 accounts in 10 minutes\"}");
}

Test(alert_out, leaves_out_src_when_there_is_no_address_and_no_geo)
{
	static struct af_alert a;

	memset(&a, 0, sizeof a);
	a.id = 1;
	a.rule = "sent_items_bypass";
	strcpy(a.account, "user@example.com");
	cr_assert_str_eq(af_fmt(&a, AF_OUTPUT_NATIVE),
	                 "{\"id\":\"0000000000000001\",\"rule\":\"sent_items_bypass\","
	                 "\"severity\":\"low\",\"account\":\"user@example.com\","
	                 "\"ts\":\"1970-01-01T00:00:00Z\",\"observed\":{},\"evidence\":[],"
	                 "\"message\":\"\"}");
}

Test(alert_out, writes_src_for_geo_facts_without_an_address)
{
	static struct af_alert a;

	memset(&a, 0, sizeof a);
	a.rule = "new_asn";
	a.geo.asn = 64501;
	cr_assert_not_null(strstr(af_fmt(&a, AF_OUTPUT_NATIVE), "\"src\":{\"asn\":64501},"), "%s",
	                   text);
}

Test(alert_out, replaces_invalid_utf8_in_the_message)
{
	static struct af_alert a;

	af_spray_alert(&a);
	strcpy(a.message, "bad \xff byte");
	cr_assert_not_null(
	    strstr(af_fmt(&a, AF_OUTPUT_NATIVE), "\"message\":\"bad \xef\xbf\xbd byte\"}"), "%s",
	    text);
}

Test(alert_out, writes_a_non_finite_observation_as_null)
{
	static struct af_alert a;

	af_spray_alert(&a);
	a.nobserved = 0;
	af_alert_observe(&a, "zscore", 1.0 / 0.0);
	cr_assert_not_null(strstr(af_fmt(&a, AF_OUTPUT_NATIVE), "\"observed\":{\"zscore\":null}"),
	                   "%s", text);
}

Test(alert_out, writes_a_full_alert_as_an_ocsf_detection_finding_exactly)
{
	static struct af_alert a;

	af_full_alert(&a);
	cr_assert_str_eq(af_fmt(&a, AF_OUTPUT_OCSF),
	                 "{\"class_uid\":2004,\"class_name\":\"Detection Finding\","
	                 "\"category_uid\":2,\"category_name\":\"Findings\","
	                 "\"activity_id\":1,\"activity_name\":\"Create\","
	                 "\"type_uid\":200401,\"type_name\":\"Detection Finding: Create\","
	                 "\"severity_id\":4,\"severity\":\"High\","
	                 "\"status_id\":1,\"status\":\"New\","
	                 "\"time\":1756101480000,"
	                 "\"message\":\"user@example.com signed in from US, never seen in 412 "
	                 "days\","
	                 "\"metadata\":{\"version\":\"1.1.0\","
	                 "\"product\":{\"name\":\"auditflow\",\"vendor_name\":\"auditflow\"}},"
	                 "\"finding_info\":{\"uid\":\"00000abcdef01234\","
	                 "\"title\":\"Sign-in from a new country\","
	                 "\"desc\":\"user@example.com signed in from US, never seen in 412 days\","
	                 "\"types\":[\"new_country\"],"
	                 "\"analytic\":{\"name\":\"new_country\",\"type_id\":1,\"type\":\"Rule\"}},"
	                 "\"evidences\":[{\"actor\":{\"user\":{\"name\":\"user@example.com\"}},"
	                 "\"src_endpoint\":{\"ip\":\"198.51.100.7\","
	                 "\"location\":{\"country\":\"US\",\"city\":\"Ashburn\","
	                 "\"coordinates\":[-77.4875,39.0437]},"
	                 "\"autonomous_system\":{\"number\":64500,"
	                 "\"name\":\"Example \\\"Hosting\\\" LLC\"}}}],"
	                 "\"unmapped\":{\"observed\":{\"country\":\"US\",\"baseline\":\"VN\","
	                 "\"days_seen\":412,\"zscore\":4.25},"
	                 "\"evidence\":[\"r-1\",\"r-2\"]}}");
}

Test(alert_out, leaves_the_actor_out_of_an_ocsf_per_address_finding)
{
	static struct af_alert a;

	af_spray_alert(&a);
	cr_assert_not_null(strstr(af_fmt(&a, AF_OUTPUT_OCSF),
	                          "\"evidences\":[{\"src_endpoint\":{\"ip\":\"203.0.113.9\"}}],"
	                          "\"unmapped\":{\"observed\":{\"accounts\":25}}}"),
	                   "%s", text);
	cr_assert_null(strstr(text, "actor"), "%s", text);
	cr_assert_not_null(strstr(text, "\"severity_id\":5,\"severity\":\"Critical\""), "%s", text);
	cr_assert_not_null(strstr(text, "\"time\":1756101480120,"), "%s", text);
}

Test(alert_out, leaves_out_empty_ocsf_evidences_unmapped_and_message)
{
	static struct af_alert a;

	memset(&a, 0, sizeof a);
	a.rule = "mail_send_burst";
	af_fmt(&a, AF_OUTPUT_OCSF);
	cr_assert_null(strstr(text, "evidences"), "%s", text);
	cr_assert_null(strstr(text, "unmapped"), "%s", text);
	cr_assert_null(strstr(text, "message"), "%s", text);
	cr_assert_null(strstr(text, "desc"), "%s", text);
	cr_assert_not_null(strstr(text, "\"title\":\"Burst of sent mail\""), "%s", text);
}

Test(alert_out, floors_ocsf_time_before_1970)
{
	static struct af_alert a;

	memset(&a, 0, sizeof a);
	a.rule = "new_country";
	a.ts_ns = -1;
	cr_assert_not_null(strstr(af_fmt(&a, AF_OUTPUT_OCSF), "\"time\":-1,"), "%s", text);
}

Test(alert_out, writes_a_full_alert_as_an_ecs_document_exactly)
{
	static struct af_alert a;

	af_full_alert(&a);
	cr_assert_str_eq(af_fmt(&a, AF_OUTPUT_ECS),
	                 "{\"@timestamp\":\"2025-08-25T05:58:00Z\","
	                 "\"event.kind\":\"alert\","
	                 "\"event.category\":[\"authentication\"],"
	                 "\"event.severity\":73,"
	                 "\"event.id\":\"00000abcdef01234\","
	                 "\"rule.id\":\"new_country\",\"rule.name\":\"new_country\","
	                 "\"rule.description\":\"Sign-in from a new country\","
	                 "\"message\":\"user@example.com signed in from US, never seen in 412 "
	                 "days\","
	                 "\"user.name\":\"user@example.com\","
	                 "\"source.ip\":\"198.51.100.7\",\"source.port\":443,"
	                 "\"source.geo.country_iso_code\":\"US\","
	                 "\"source.geo.city_name\":\"Ashburn\","
	                 "\"source.geo.location\":{\"lat\":39.0437,\"lon\":-77.4875},"
	                 "\"source.as.number\":64500,"
	                 "\"source.as.organization.name\":\"Example \\\"Hosting\\\" LLC\","
	                 "\"auditflow.geo.hosting\":true,"
	                 "\"auditflow.severity\":\"high\","
	                 "\"auditflow.observed.country\":\"US\","
	                 "\"auditflow.observed.baseline\":\"VN\","
	                 "\"auditflow.observed.days_seen\":412,"
	                 "\"auditflow.observed.zscore\":4.25,"
	                 "\"auditflow.evidence\":[\"r-1\",\"r-2\"]}");
}

Test(alert_out, maps_each_severity_to_an_ecs_risk_number)
{
	static const int want[AF_SEV_COUNT] = {21, 47, 73, 99};
	static struct af_alert a;
	char field[32];

	af_spray_alert(&a);
	for (int s = 0; s < AF_SEV_COUNT; s++) {
		a.severity = (uint8_t)s;
		snprintf(field, sizeof field, "\"event.severity\":%d,", want[s]);
		cr_assert_not_null(strstr(af_fmt(&a, AF_OUTPUT_ECS), field), "%s", text);
	}
}

Test(alert_out, puts_each_rule_in_its_ecs_category)
{
	static const struct {
		const char *rule;
		const char *want;
	} cases[] = {
	    {"new_country", "\"event.category\":[\"authentication\"]"},
	    {"impossible_travel", "\"event.category\":[\"authentication\"]"},
	    {"new_asn", "\"event.category\":[\"authentication\"]"},
	    {"signin_fail_burst", "\"event.category\":[\"authentication\"]"},
	    {"password_spray", "\"event.category\":[\"authentication\"]"},
	    {"mail_send_burst", "\"event.category\":[\"email\"]"},
	    {"mass_recipients", "\"event.category\":[\"email\"]"},
	    {"sent_items_bypass", "\"event.category\":[\"email\"]"},
	    {"sender_name_spoof", "\"event.category\":[\"email\"]"},
	    {"inbox_rule_tamper", "\"event.category\":[\"email\",\"configuration\"]"},
	    {"mailbox_forwarding", "\"event.category\":[\"email\",\"configuration\"]"},
	    {"account_takeover", "\"event.category\":[\"authentication\",\"email\"]"},
	};
	static struct af_alert a;

	memset(&a, 0, sizeof a);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		a.rule = cases[i].rule;
		cr_assert_not_null(strstr(af_fmt(&a, AF_OUTPUT_ECS), cases[i].want), "%s", text);
		cr_assert_str_neq(af_alert_out_title(cases[i].rule), cases[i].rule);
	}
}

Test(alert_out, names_an_unknown_rule_by_its_id_and_gives_it_no_category)
{
	static struct af_alert a;

	memset(&a, 0, sizeof a);
	a.rule = "custom_rule";
	cr_assert_str_eq(af_alert_out_title("custom_rule"), "custom_rule");
	cr_assert_null(strstr(af_fmt(&a, AF_OUTPUT_ECS), "event.category"), "%s", text);
	cr_assert_not_null(strstr(text, "\"rule.description\":\"custom_rule\""), "%s", text);
}

Test(alert_out, leaves_the_user_out_of_an_ecs_per_address_alert)
{
	static struct af_alert a;

	af_spray_alert(&a);
	af_fmt(&a, AF_OUTPUT_ECS);
	cr_assert_null(strstr(text, "user.name"), "%s", text);
	cr_assert_null(strstr(text, "auditflow.evidence"), "%s", text);
	cr_assert_not_null(strstr(text, "\"source.ip\":\"203.0.113.9\","
	                                "\"auditflow.severity\":\"critical\","
	                                "\"auditflow.observed.accounts\":25}"),
	                   "%s", text);
}

Test(alert_out, writes_one_line_per_alert_and_counts_them_by_rule)
{
	struct af_test_dir t;
	char err[256] = "", *got;
	static struct af_alert a, b;
	struct af_summary s;
	struct af_alert_out *out;

	af_summary_init(&s);
	af_test_dir_make(&t, "alerts.jsonl");
	out = af_alert_out_open(t.path, AF_OUTPUT_NATIVE, &s, err, sizeof err);
	cr_assert_not_null(out, "%s", err);
	af_spray_alert(&a);
	af_full_alert(&b);
	cr_assert_eq(af_alert_out_write(out, &a), AF_OK);
	cr_assert_eq(af_alert_out_write(out, &b), AF_OK);
	cr_assert_eq(af_alert_out_write(out, &a), AF_OK);
	cr_assert_eq(af_alert_out_flush(out), AF_OK);
	cr_assert_eq(af_alert_out_close(out, err, sizeof err), AF_OK, "%s", err);

	got = af_test_read_file(t.path, NULL);
	af_fmt(&a, AF_OUTPUT_NATIVE);
	cr_assert_eq(strncmp(got, text, strlen(text)), 0, "%s", got);
	cr_assert_eq(got[strlen(text)], '\n');
	af_fmt(&b, AF_OUTPUT_NATIVE);
	cr_assert_not_null(strstr(got, text));
	cr_assert_eq(got[strlen(got) - 1], '\n');
	free(got);
	af_test_dir_remove(&t);

	cr_assert_eq(s.alerts, 3);
	cr_assert_eq(s.rules_n, 2);
	cr_assert_str_eq(s.alerts_by_rule[0].name, "password_spray");
	cr_assert_eq(s.alerts_by_rule[0].count, 2);
	cr_assert_str_eq(s.alerts_by_rule[1].name, "new_country");
	cr_assert_eq(s.alerts_by_rule[1].count, 1);
}

Test(alert_out, writes_the_format_it_was_opened_with)
{
	struct af_test_dir t;
	char err[256] = "", *got;
	static struct af_alert a;
	struct af_alert_out *out;

	af_test_dir_make(&t, "alerts.ocsf.jsonl");
	out = af_alert_out_open(t.path, AF_OUTPUT_OCSF, NULL, err, sizeof err);
	cr_assert_not_null(out, "%s", err);
	af_spray_alert(&a);
	cr_assert_eq(af_alert_out_write(out, &a), AF_OK);
	cr_assert_eq(af_alert_out_close(out, err, sizeof err), AF_OK, "%s", err);
	got = af_test_read_file(t.path, NULL);
	af_fmt(&a, AF_OUTPUT_OCSF);
	strcat(text, "\n");
	cr_assert_str_eq(got, text);
	free(got);
	af_test_dir_remove(&t);
}

Test(alert_out, reports_a_full_disk_when_closing)
{
	char err[256] = "";
	static struct af_alert a;
	struct af_alert_out *out =
	    af_alert_out_open("/dev/full", AF_OUTPUT_ECS, NULL, err, sizeof err);

	cr_assert_not_null(out, "%s", err);
	af_full_alert(&a);
	af_alert_out_write(out, &a);
	cr_assert_eq(af_alert_out_flush(out), AF_E_IO);
	cr_assert_eq(af_alert_out_close(out, err, sizeof err), AF_E_IO);
	cr_assert_not_null(strstr(err, "No space left on device"), "%s", err);
	cr_assert_not_null(strstr(err, "/dev/full"), "%s", err);
}

Test(alert_out, names_the_path_when_it_cannot_open_it)
{
	char err[256] = "";

	cr_assert_null(af_alert_out_open("/nonexistent-dir/alerts.jsonl", AF_OUTPUT_NATIVE, NULL,
	                                 err, sizeof err));
	cr_assert_not_null(strstr(err, "/nonexistent-dir/alerts.jsonl"), "%s", err);
}

/* ---- opening to append ---- */

Test(alert_out, a_second_output_opened_to_append_adds_its_alerts_after_the_first)
{
	struct af_test_dir t;
	char err[256] = "", *got, want[sizeof text * 2 + 2];
	static struct af_alert a, b;
	struct af_alert_out *out;
	uint64_t cut = 99;

	af_test_dir_make(&t, "alerts.jsonl");
	af_spray_alert(&a);
	af_full_alert(&b);
	out = af_alert_out_open(t.path, AF_OUTPUT_NATIVE, NULL, err, sizeof err);
	cr_assert_not_null(out, "%s", err);
	cr_assert_eq(af_alert_out_write(out, &a), AF_OK);
	cr_assert_eq(af_alert_out_close(out, err, sizeof err), AF_OK, "%s", err);

	out = af_alert_out_open_append(t.path, AF_OUTPUT_NATIVE, NULL, &cut, err, sizeof err);
	cr_assert_not_null(out, "%s", err);
	cr_assert_eq(cut, 0);
	cr_assert_eq(af_alert_out_write(out, &b), AF_OK);
	cr_assert_eq(af_alert_out_close(out, err, sizeof err), AF_OK, "%s", err);

	snprintf(want, sizeof want, "%s\n", af_fmt(&a, AF_OUTPUT_NATIVE));
	strcat(want, af_fmt(&b, AF_OUTPUT_NATIVE));
	strcat(want, "\n");
	got = af_test_read_file(t.path, NULL);
	cr_assert_str_eq(got, want);
	free(got);
	af_test_dir_remove(&t);
}

Test(alert_out, appending_cuts_the_partial_alert_a_killed_writer_left)
{
	struct af_test_dir t;
	char err[256] = "", *got, want[sizeof text * 2 + 2];
	static struct af_alert a;
	struct af_alert_out *out;
	uint64_t cut = 0;
	FILE *f;

	af_test_dir_make(&t, "alerts.jsonl");
	af_spray_alert(&a);
	af_fmt(&a, AF_OUTPUT_NATIVE);
	f = fopen(t.path, "wb");
	cr_assert_not_null(f);
	fprintf(f, "%s\n%.40s", text, text);
	fclose(f);

	out = af_alert_out_open_append(t.path, AF_OUTPUT_NATIVE, NULL, &cut, err, sizeof err);
	cr_assert_not_null(out, "%s", err);
	cr_assert_eq(cut, 40);
	cr_assert_eq(af_alert_out_write(out, &a), AF_OK);
	cr_assert_eq(af_alert_out_close(out, err, sizeof err), AF_OK, "%s", err);

	snprintf(want, sizeof want, "%s\n%s\n", text, text);
	got = af_test_read_file(t.path, NULL);
	cr_assert_str_eq(got, want);
	free(got);
	af_test_dir_remove(&t);
}

Test(alert_out, appending_counts_only_the_alerts_it_writes)
{
	struct af_test_dir t;
	char err[256] = "";
	static struct af_alert a;
	struct af_summary s;
	struct af_alert_out *out;
	FILE *f;

	af_summary_init(&s);
	af_test_dir_make(&t, "alerts.jsonl");
	af_spray_alert(&a);
	f = fopen(t.path, "wb");
	cr_assert_not_null(f);
	fprintf(f, "%s\n", af_fmt(&a, AF_OUTPUT_NATIVE));
	fclose(f);
	out = af_alert_out_open_append(t.path, AF_OUTPUT_NATIVE, &s, NULL, err, sizeof err);
	cr_assert_not_null(out, "%s", err);
	cr_assert_eq(af_alert_out_write(out, &a), AF_OK);
	cr_assert_eq(af_alert_out_close(out, err, sizeof err), AF_OK, "%s", err);
	cr_assert_eq(s.alerts, 1);
	af_test_dir_remove(&t);
}
