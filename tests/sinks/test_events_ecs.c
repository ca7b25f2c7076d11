/* test_events_ecs.c - normalized events as ECS JSON lines: exact lines for a
 * full and a minimal event, each optional field's rule, the file output and
 * its write errors. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/events_ecs.h"
#include "tests/sinks/sinks_test.h"

#define AF_TS_2025_08_25_0558 (INT64_C(1756101480) * 1000000000)

static char buf[1 << 14];
static char text[1 << 14];

/* ev formatted on its own, as a NUL-terminated string (static storage). */
static const char *af_fmt(const struct af_event *ev, const char *source_path)
{
	struct af_jsonw w;

	af_jsonw_init(&w, buf, sizeof buf, NULL);
	af_ecs_format(&w, ev, source_path);
	cr_assert_eq(w.flags, 0);
	cr_assert_eq(w.depth, 0);
	memcpy(text, w.buf, w.len);
	text[w.len] = '\0';
	return text;
}

static void af_ipv4(struct af_ip *ip, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	memset(ip, 0, sizeof *ip);
	ip->bytes[10] = 0xff;
	ip->bytes[11] = 0xff;
	ip->bytes[12] = a;
	ip->bytes[13] = b;
	ip->bytes[14] = c;
	ip->bytes[15] = d;
	ip->family = AF_IP_V4;
}

/* A successful sign-in with every field the writer knows set. */
static void af_full_event(struct af_event *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->ts_ns = AF_TS_2025_08_25_0558 + 120000000;
	ev->kind = AF_KIND_SIGNIN_OK;
	ev->schema = AF_SCHEMA_ENTRA_GRAPH;
	ev->outcome = AF_OUTCOME_SUCCESS;
	ev->flags =
	    AF_EV_INTERACTIVE | AF_EV_GEO_FROM_RECORD | AF_EV_TRUNCATED | AF_EV_SAVE_SENT_KNOWN;
	ev->error_code = 50126;
	ev->recipient_count = 3;
	af_ipv4(&ev->src, 198, 51, 100, 7);
	ev->src.port = 443;
	strcpy(ev->geo.country, "US");
	strcpy(ev->geo.city, "Ashburn");
	ev->geo.lat = 39.0437;
	ev->geo.lon = -77.4875;
	ev->geo.radius_km = 20;
	ev->geo.asn = 64500;
	strcpy(ev->geo.as_org, "Example \"Hosting\" LLC");
	ev->geo.flags = AF_GEO_HAS_LOCATION | AF_GEO_HOSTING | AF_GEO_VPN;
	strcpy(ev->account, "user@example.com");
	strcpy(ev->record_id, "a1b2c3");
	strcpy(ev->action, "UserLoggedIn");
	strcpy(ev->app, "Outlook");
	strcpy(ev->folder, "\\Sent Items");
	strcpy(ev->recipient, "victim@example.org");
	ev->pos.line = 7;
	ev->pos.offset = 1234;
}

Test(events_ecs, formats_a_fully_populated_event_exactly)
{
	struct af_event ev;

	af_full_event(&ev);
	cr_assert_str_eq(af_fmt(&ev, "logs/signin.json"),
	                 "{\"@timestamp\":\"2025-08-25T05:58:00.120Z\","
	                 "\"event.kind\":\"event\","
	                 "\"event.category\":[\"authentication\"],"
	                 "\"event.action\":\"UserLoggedIn\","
	                 "\"event.outcome\":\"success\","
	                 "\"event.provider\":\"entra_graph\","
	                 "\"event.id\":\"a1b2c3\","
	                 "\"event.code\":\"50126\","
	                 "\"user.name\":\"user@example.com\","
	                 "\"source.ip\":\"198.51.100.7\","
	                 "\"source.port\":443,"
	                 "\"source.geo.country_iso_code\":\"US\","
	                 "\"source.geo.city_name\":\"Ashburn\","
	                 "\"source.geo.location\":{\"lat\":39.0437,\"lon\":-77.4875},"
	                 "\"source.as.number\":64500,"
	                 "\"source.as.organization.name\":\"Example \\\"Hosting\\\" LLC\","
	                 "\"auditflow.geo.radius_km\":20,"
	                 "\"auditflow.geo.vpn\":true,"
	                 "\"auditflow.geo.hosting\":true,"
	                 "\"email.to.address\":[\"victim@example.org\"],"
	                 "\"auditflow.kind\":\"signin_ok\","
	                 "\"auditflow.app\":\"Outlook\","
	                 "\"auditflow.folder\":\"\\\\Sent Items\","
	                 "\"auditflow.save_to_sent_items\":false,"
	                 "\"auditflow.recipient_count\":3,"
	                 "\"auditflow.flags\":[\"interactive\",\"geo_from_record\"],"
	                 "\"auditflow.truncated\":true,"
	                 "\"log.file.path\":\"logs/signin.json\","
	                 "\"log.file.line\":7,"
	                 "\"log.offset\":1234}");
}

Test(events_ecs, formats_a_minimal_event_with_only_the_fixed_fields)
{
	struct af_event ev;

	memset(&ev, 0, sizeof ev);
	cr_assert_str_eq(af_fmt(&ev, NULL), "{\"@timestamp\":\"1970-01-01T00:00:00Z\","
	                                    "\"event.kind\":\"event\","
	                                    "\"auditflow.kind\":\"other\"}");
}

Test(events_ecs, puts_each_kind_in_its_event_category)
{
	static const struct {
		enum af_kind kind;
		const char *want;
	} cases[] = {
	    {AF_KIND_SIGNIN_OK, "\"event.category\":[\"authentication\"]"},
	    {AF_KIND_SIGNIN_FAILED, "\"event.category\":[\"authentication\"]"},
	    {AF_KIND_MAIL_SEND, "\"event.category\":[\"email\"]"},
	    {AF_KIND_MAIL_DELETE, "\"event.category\":[\"email\"]"},
	    {AF_KIND_MAIL_ACCESS, "\"event.category\":[\"email\"]"},
	    {AF_KIND_INBOX_RULE, "\"event.category\":[\"email\",\"configuration\"]"},
	    {AF_KIND_MAILBOX_FORWARD, "\"event.category\":[\"email\",\"configuration\"]"},
	    {AF_KIND_FILE_ACCESS, "\"event.category\":[\"file\"]"},
	};
	struct af_event ev;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memset(&ev, 0, sizeof ev);
		ev.kind = (uint8_t)cases[i].kind;
		cr_assert_not_null(strstr(af_fmt(&ev, NULL), cases[i].want), "%s", text);
	}
	memset(&ev, 0, sizeof ev);
	cr_assert_null(strstr(af_fmt(&ev, NULL), "event.category"), "%s", text);
}

Test(events_ecs, names_every_behaviour_flag_in_a_fixed_order)
{
	struct af_event ev;

	memset(&ev, 0, sizeof ev);
	ev.kind = AF_KIND_INBOX_RULE;
	ev.flags = AF_EV_NAME_SELF | AF_EV_FORWARD_EXTERNAL | AF_EV_FORWARD | AF_EV_RULE_MARK_READ |
	           AF_EV_RULE_MOVE | AF_EV_RULE_DELETE | AF_EV_FROM_SENT_ITEMS;
	cr_assert_not_null(strstr(af_fmt(&ev, NULL),
	                          "\"auditflow.flags\":[\"from_sent_items\",\"rule_delete\","
	                          "\"rule_move\",\"rule_mark_read\",\"forward\","
	                          "\"forward_external\",\"name_self\"]"),
	                   "%s", text);
}

Test(events_ecs, writes_save_to_sent_items_only_when_the_record_said)
{
	struct af_event ev;

	memset(&ev, 0, sizeof ev);
	ev.kind = AF_KIND_MAIL_SEND;
	ev.flags = AF_EV_SAVE_SENT;
	cr_assert_null(strstr(af_fmt(&ev, NULL), "save_to_sent_items"), "%s", text);
	ev.flags = AF_EV_SAVE_SENT_KNOWN | AF_EV_SAVE_SENT;
	cr_assert_not_null(strstr(af_fmt(&ev, NULL), "\"auditflow.save_to_sent_items\":true"), "%s",
	                   text);
}

Test(events_ecs, writes_all_geo_flags_as_booleans)
{
	struct af_event ev;

	memset(&ev, 0, sizeof ev);
	ev.geo.flags = AF_GEO_INTERNAL | AF_GEO_ANONYMOUS | AF_GEO_VPN | AF_GEO_HOSTING |
	               AF_GEO_PROXY | AF_GEO_TOR;
	cr_assert_not_null(
	    strstr(af_fmt(&ev, NULL),
	           "\"auditflow.geo.internal\":true,\"auditflow.geo.anonymous\":true,"
	           "\"auditflow.geo.vpn\":true,\"auditflow.geo.hosting\":true,"
	           "\"auditflow.geo.proxy\":true,\"auditflow.geo.tor\":true"),
	    "%s", text);
	cr_assert_null(strstr(text, "source.geo.location"), "no location without the flag");
}

Test(events_ecs, writes_an_ipv6_source_compressed)
{
	struct af_event ev;

	memset(&ev, 0, sizeof ev);
	ev.src.family = AF_IP_V6;
	ev.src.bytes[0] = 0x20;
	ev.src.bytes[1] = 0x01;
	ev.src.bytes[2] = 0x0d;
	ev.src.bytes[3] = 0xb8;
	ev.src.bytes[15] = 0x07;
	cr_assert_not_null(strstr(af_fmt(&ev, NULL), "\"source.ip\":\"2001:db8::7\""), "%s", text);
	cr_assert_null(strstr(text, "source.port"));
}

Test(events_ecs, writes_a_negative_error_code_as_a_string)
{
	struct af_event ev;

	memset(&ev, 0, sizeof ev);
	ev.error_code = -2147217407;
	cr_assert_not_null(strstr(af_fmt(&ev, NULL), "\"event.code\":\"-2147217407\""), "%s", text);
}

Test(events_ecs, writes_the_offset_of_a_record_without_a_file_only_when_not_zero)
{
	struct af_event ev;

	memset(&ev, 0, sizeof ev);
	cr_assert_null(strstr(af_fmt(&ev, NULL), "log.offset"), "%s", text);
	cr_assert_not_null(strstr(af_fmt(&ev, "a.json"), "\"log.file.path\":\"a.json\","
	                                                 "\"log.offset\":0}"),
	                   "%s", text);
	ev.pos.offset = 99;
	cr_assert_not_null(strstr(af_fmt(&ev, NULL), "\"log.offset\":99}"), "%s", text);
}

Test(events_ecs, writes_one_line_per_event_to_a_file)
{
	struct af_test_dir t;
	char err[256] = "", *got;
	struct af_event ev;
	struct af_ecs_out *out;

	af_test_dir_make(&t, "events.jsonl");
	out = af_ecs_open(t.path, err, sizeof err);
	cr_assert_not_null(out, "%s", err);
	memset(&ev, 0, sizeof ev);
	cr_assert_eq(af_ecs_write(out, &ev, NULL), AF_OK);
	ev.ts_ns = AF_TS_2025_08_25_0558;
	cr_assert_eq(af_ecs_write(out, &ev, NULL), AF_OK);
	cr_assert_eq(af_ecs_flush(out), AF_OK);
	cr_assert_eq(af_ecs_close(out, err, sizeof err), AF_OK, "%s", err);
	got = af_test_read_file(t.path, NULL);
	cr_assert_str_eq(got, "{\"@timestamp\":\"1970-01-01T00:00:00Z\",\"event.kind\":\"event\","
	                      "\"auditflow.kind\":\"other\"}\n"
	                      "{\"@timestamp\":\"2025-08-25T05:58:00Z\",\"event.kind\":\"event\","
	                      "\"auditflow.kind\":\"other\"}\n");
	free(got);
	af_test_dir_remove(&t);
}

Test(events_ecs, reports_a_full_disk_when_closing)
{
	char err[256] = "";
	struct af_event ev;
	struct af_ecs_out *out = af_ecs_open("/dev/full", err, sizeof err);

	cr_assert_not_null(out, "%s", err);
	af_full_event(&ev);
	af_ecs_write(out, &ev, "x.json");
	cr_assert_eq(af_ecs_close(out, err, sizeof err), AF_E_IO);
	cr_assert_not_null(strstr(err, "No space left on device"), "%s", err);
}

Test(events_ecs, names_the_path_when_it_cannot_open_it)
{
	char err[256] = "";

	cr_assert_null(af_ecs_open("/nonexistent-dir/events.jsonl", err, sizeof err));
	cr_assert_not_null(strstr(err, "/nonexistent-dir/events.jsonl"), "%s", err);
}

/* ---- opening to append ---- */

Test(events_ecs, a_second_output_opened_to_append_adds_its_events_after_the_first)
{
	struct af_test_dir t;
	char err[256] = "", *got, want[sizeof text * 2 + 2];
	struct af_event a, b;
	struct af_ecs_out *out;
	uint64_t cut = 99;

	af_test_dir_make(&t, "events.jsonl");
	af_full_event(&a);
	memset(&b, 0, sizeof b);
	out = af_ecs_open(t.path, err, sizeof err);
	cr_assert_not_null(out, "%s", err);
	cr_assert_eq(af_ecs_write(out, &a, "in.json"), AF_OK);
	cr_assert_eq(af_ecs_close(out, err, sizeof err), AF_OK, "%s", err);

	out = af_ecs_open_append(t.path, &cut, err, sizeof err);
	cr_assert_not_null(out, "%s", err);
	cr_assert_eq(cut, 0);
	cr_assert_eq(af_ecs_write(out, &b, NULL), AF_OK);
	cr_assert_eq(af_ecs_close(out, err, sizeof err), AF_OK, "%s", err);

	snprintf(want, sizeof want, "%s\n", af_fmt(&a, "in.json"));
	strcat(want, af_fmt(&b, NULL));
	strcat(want, "\n");
	got = af_test_read_file(t.path, NULL);
	cr_assert_str_eq(got, want);
	free(got);
	af_test_dir_remove(&t);
}

Test(events_ecs, appending_cuts_the_partial_event_a_killed_writer_left)
{
	struct af_test_dir t;
	char err[256] = "", *got, want[sizeof text * 2 + 2];
	struct af_event ev;
	struct af_ecs_out *out;
	uint64_t cut = 0;
	FILE *f;

	af_test_dir_make(&t, "events.jsonl");
	af_full_event(&ev);
	af_fmt(&ev, "in.json");
	f = fopen(t.path, "wb");
	cr_assert_not_null(f);
	fprintf(f, "%s\n%.50s", text, text);
	fclose(f);

	out = af_ecs_open_append(t.path, &cut, err, sizeof err);
	cr_assert_not_null(out, "%s", err);
	cr_assert_eq(cut, 50);
	cr_assert_eq(af_ecs_write(out, &ev, "in.json"), AF_OK);
	cr_assert_eq(af_ecs_close(out, err, sizeof err), AF_OK, "%s", err);

	snprintf(want, sizeof want, "%s\n%s\n", text, text);
	got = af_test_read_file(t.path, NULL);
	cr_assert_str_eq(got, want);
	free(got);
	af_test_dir_remove(&t);
}
