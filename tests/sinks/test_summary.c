/* test_summary.c - the run summary: the exact JSON object, its invariants,
 * alert counting per rule, merging shards, files, and the text rendering. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/summary.h"
#include "tests/sinks/sinks_test.h"

static char buf[1 << 14];
static char text[1 << 14];

static const char *af_fmt(const struct af_summary *s)
{
	struct af_jsonw w;

	af_jsonw_init(&w, buf, sizeof buf, NULL);
	af_summary_format(&w, s);
	cr_assert_eq(w.flags, 0);
	memcpy(text, w.buf, w.len);
	text[w.len] = '\0';
	return text;
}

/* A consistent summary of a small replay. */
static void af_sample(struct af_summary *s)
{
	af_summary_init(s);
	s->events_in = 1000;
	s->events_ok = 970;
	s->events_invalid = 20;
	s->invalid_by_reason[AF_REASON_MALFORMED_JSON] = 15;
	s->invalid_by_reason[AF_REASON_BAD_TIMESTAMP] = 5;
	s->duplicates = 10;
	s->late = 2;
	cr_assert_eq(af_summary_add_alerts(s, "new_country", 1), AF_OK);
	cr_assert_eq(af_summary_add_alerts(s, "mail_send_burst", 2), AF_OK);
	cr_assert_eq(af_summary_add_alerts(s, "new_country", 1), AF_OK);
	s->accounts = 42;
	s->accounts_evicted = 3;
	s->addresses_evicted = 1;
	s->by_kind[AF_KIND_SIGNIN_OK] = 600;
	s->by_kind[AF_KIND_MAIL_SEND] = 370;
	s->by_schema[AF_SCHEMA_M365] = 370;
	s->by_schema[AF_SCHEMA_ENTRA_GRAPH] = 600;
	s->wall_s = 0.25;
}

Test(summary, writes_the_design_keys_in_order_exactly)
{
	struct af_summary s;

	af_sample(&s);
	cr_assert_str_eq(af_fmt(&s), "{\"events_in\":1000,\"events_ok\":970,\"events_invalid\":20,"
	                             "\"invalid_by_reason\":{\"malformed_json\":15,"
	                             "\"bad_timestamp\":5},"
	                             "\"duplicates\":10,\"late\":2,\"alerts\":4,"
	                             "\"alerts_by_rule\":{\"new_country\":2,\"mail_send_burst\":2},"
	                             "\"accounts\":42,\"wall_s\":0.25,\"events_per_s\":4000,"
	                             "\"events_by_kind\":{\"signin_ok\":600,\"mail_send\":370},"
	                             "\"events_by_schema\":{\"m365\":370,\"entra_graph\":600},"
	                             "\"accounts_estimated\":false,\"accounts_evicted\":3,"
	                             "\"addresses_evicted\":1}");
}

Test(summary, writes_zeros_and_empty_objects_for_an_empty_run)
{
	struct af_summary s;

	af_summary_init(&s);
	cr_assert_str_eq(af_fmt(&s), "{\"events_in\":0,\"events_ok\":0,\"events_invalid\":0,"
	                             "\"invalid_by_reason\":{},\"duplicates\":0,\"late\":0,"
	                             "\"alerts\":0,\"alerts_by_rule\":{},\"accounts\":0,"
	                             "\"wall_s\":0,\"events_per_s\":0,\"events_by_kind\":{},"
	                             "\"events_by_schema\":{},\"accounts_estimated\":false,"
	                             "\"accounts_evicted\":0,\"addresses_evicted\":0}");
}

Test(summary, computes_events_per_second_from_wall_time)
{
	struct af_summary s;

	af_summary_init(&s);
	s.events_in = 1000;
	s.wall_s = 3;
	cr_assert_float_eq(af_summary_events_per_s(&s), 1000.0 / 3, 1e-9);
	cr_assert_not_null(strstr(af_fmt(&s), "\"wall_s\":3,\"events_per_s\":333.3,"), "%s", text);
	s.wall_s = 0;
	cr_assert_eq(af_summary_events_per_s(&s), 0);
	s.wall_s = NAN;
	cr_assert_eq(af_summary_events_per_s(&s), 0);
	cr_assert_not_null(strstr(af_fmt(&s), "\"wall_s\":0,\"events_per_s\":0,"), "%s", text);
}

Test(summary, holds_the_invariants_for_a_consistent_run)
{
	struct af_summary s;

	af_sample(&s);
	cr_assert(af_summary_consistent(&s));
	cr_assert_eq(s.events_in, s.events_ok + s.events_invalid + s.duplicates);
}

Test(summary, notices_counts_that_do_not_add_up)
{
	struct af_summary s;

	af_sample(&s);
	s.events_ok--;
	cr_assert_not(af_summary_consistent(&s));
	af_sample(&s);
	s.invalid_by_reason[AF_REASON_OVERSIZE]++;
	cr_assert_not(af_summary_consistent(&s));
	af_sample(&s);
	s.alerts++;
	cr_assert_not(af_summary_consistent(&s));
}

Test(summary, counts_alerts_it_cannot_file_under_a_rule)
{
	struct af_summary s;
	char name[8];

	af_summary_init(&s);
	cr_assert_eq(af_summary_add_alerts(&s, "a_rule_id_far_longer_than_any_real_one", 1),
	             AF_E_INVALID);
	cr_assert_eq(s.alerts, 1);
	cr_assert_eq(s.rules_n, 0);
	for (int i = 0; i < AF_SUMMARY_RULES_MAX; i++) {
		snprintf(name, sizeof name, "r%d", i);
		cr_assert_eq(af_summary_add_alerts(&s, name, 1), AF_OK);
	}
	cr_assert_eq(af_summary_add_alerts(&s, "one_more", 1), AF_E_INVALID);
	cr_assert_eq(af_summary_add_alerts(&s, "r3", 1), AF_OK);
	cr_assert_eq(s.alerts, AF_SUMMARY_RULES_MAX + 3);
	cr_assert_eq(s.alerts_by_rule[3].count, 2);
}

Test(summary, merges_shards_by_adding_counts_and_keeping_the_longest_wall_time)
{
	struct af_summary a, b;

	af_sample(&a);
	af_sample(&b);
	b.wall_s = 0.5;
	cr_assert_eq(af_summary_add_alerts(&b, "impossible_travel", 3), AF_OK);
	cr_assert_eq(af_summary_merge(&a, &b), AF_OK);
	cr_assert_eq(a.events_in, 2000);
	cr_assert_eq(a.invalid_by_reason[AF_REASON_MALFORMED_JSON], 30);
	cr_assert_eq(a.alerts, 11);
	cr_assert_eq(a.rules_n, 3);
	cr_assert_str_eq(a.alerts_by_rule[2].name, "impossible_travel");
	cr_assert_eq(a.by_kind[AF_KIND_SIGNIN_OK], 1200);
	cr_assert_eq(a.by_schema[AF_SCHEMA_M365], 740);
	cr_assert_eq(a.accounts, 84);
	cr_assert_eq(a.accounts_evicted, 6);
	cr_assert_eq(a.addresses_evicted, 2);
	cr_assert_eq(a.wall_s, 0.5);
	cr_assert(af_summary_consistent(&a));
}

Test(summary, calls_the_accounts_estimated_when_any_shard_estimated_them)
{
	struct af_summary a, b;

	af_sample(&a);
	af_sample(&b);
	b.accounts_estimated = true;
	cr_assert_eq(af_summary_merge(&a, &b), AF_OK);
	cr_assert(a.accounts_estimated);
	cr_assert_not_null(strstr(af_fmt(&a), "\"accounts_estimated\":true"));
}

Test(summary, writes_one_json_line_to_a_file)
{
	struct af_test_dir t;
	struct af_summary s;
	char err[256] = "", *got;

	af_sample(&s);
	af_test_dir_make(&t, "summary.json");
	cr_assert_eq(af_summary_write(&s, t.path, err, sizeof err), AF_OK, "%s", err);
	got = af_test_read_file(t.path, NULL);
	af_fmt(&s);
	cr_assert_eq(strlen(got), strlen(text) + 1);
	cr_assert_eq(strncmp(got, text, strlen(text)), 0);
	cr_assert_eq(got[strlen(text)], '\n');
	free(got);
	af_test_dir_remove(&t);
}

Test(summary, writes_to_standard_output_for_a_dash, .init = cr_redirect_stdout)
{
	struct af_summary s;
	char err[256] = "";

	af_summary_init(&s);
	s.events_in = s.events_ok = 5;
	s.wall_s = 1;
	cr_assert_eq(af_summary_write(&s, "-", err, sizeof err), AF_OK, "%s", err);
	fflush(stdout);
	cr_assert_stdout_eq_str("{\"events_in\":5,\"events_ok\":5,\"events_invalid\":0,"
	                        "\"invalid_by_reason\":{},\"duplicates\":0,\"late\":0,"
	                        "\"alerts\":0,\"alerts_by_rule\":{},\"accounts\":0,"
	                        "\"wall_s\":1,\"events_per_s\":5,\"events_by_kind\":{},"
	                        "\"events_by_schema\":{},\"accounts_estimated\":false,"
	                        "\"accounts_evicted\":0,\"addresses_evicted\":0}\n");
}

Test(summary, reports_a_full_disk)
{
	struct af_summary s;
	char err[256] = "";

	af_sample(&s);
	cr_assert_eq(af_summary_write(&s, "/dev/full", err, sizeof err), AF_E_IO);
	cr_assert_not_null(strstr(err, "No space left on device"), "%s", err);
}

Test(summary, reports_a_path_it_cannot_open)
{
	struct af_summary s;
	char err[256] = "";

	af_summary_init(&s);
	cr_assert_eq(af_summary_write(&s, "/nonexistent-dir/s.json", err, sizeof err), AF_E_IO);
	cr_assert_not_null(strstr(err, "/nonexistent-dir/s.json"), "%s", err);
}

Test(summary, prints_aligned_lines_for_a_person)
{
	struct af_summary s;
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);

	cr_assert_not_null(f);
	af_sample(&s);
	cr_assert_eq(af_summary_print(f, &s), AF_OK);
	fclose(f);
	cr_assert_str_eq(mem, "  events in                          1000\n"
	                      "  events ok                           970   97.00%\n"
	                      "  invalid                              20    2.00%\n"
	                      "  duplicates                           10    1.00%\n"
	                      "  late                                  2\n"
	                      "  accounts                             42\n"
	                      "  evicted at the caps                   3 accounts, 1 addresses\n"
	                      "  alerts                                4\n"
	                      "  wall time                         0.250 s\n"
	                      "  rate                               4000 events/s\n"
	                      "  invalid by reason\n"
	                      "    malformed_json                     15\n"
	                      "    bad_timestamp                       5\n"
	                      "  events by schema\n"
	                      "    m365                              370\n"
	                      "    entra_graph                       600\n"
	                      "  events by kind\n"
	                      "    signin_ok                         600\n"
	                      "    mail_send                         370\n"
	                      "  alerts by rule\n"
	                      "    new_country                         2\n"
	                      "    mail_send_burst                     2\n");
	free(mem);
}

Test(summary, reports_a_failed_print)
{
	struct af_summary s;
	FILE *f = fopen("/dev/full", "w");

	cr_assert_not_null(f);
	af_sample(&s);
	cr_assert_eq(af_summary_print(f, &s), AF_E_IO);
	fclose(f);
}

Test(summary, counts_events_held_in_a_stops_checkpoint_and_writes_them_only_then)
{
	struct af_summary s;

	af_sample(&s);
	cr_assert_null(strstr(af_fmt(&s), "held"), "a complete run wrote held: %s", text);
	s.events_ok -= 3;
	s.held = 3;
	cr_assert(af_summary_consistent(&s));
	cr_assert_not_null(strstr(af_fmt(&s), ",\"held\":3}"), "%s", text);
	s.held = 2;
	cr_assert_not(af_summary_consistent(&s));
}
