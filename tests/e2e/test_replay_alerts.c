/* test_replay_alerts.c - detection end to end: the demo incident replayed
 * by the real binary with the scenario geo databases raises the sign-in
 * rules, with ids that do not depend on the order of the inputs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

#define SCENARIO AF_TEST_DATA "/geo/scenario/"
#define DEMO     AF_TEST_DATA "/demo/"

TestSuite(replay_alerts, .init = af_e2e_setup, .fini = af_e2e_teardown);

/* Replay the demo's four exports in the given order; alerts on stdout. */
static void replay_demo(struct af_run *r, const char *const inputs[4], const char *format)
{
	const char *args[] = {"replay",     "--no-progress",
	                      "--geo-city", SCENARIO "city.mmdb",
	                      "--geo-asn",  SCENARIO "asn.mmdb",
	                      "--geo-anon", SCENARIO "anon.mmdb",
	                      "--format",   format,
	                      inputs[0],    inputs[1],
	                      inputs[2],    inputs[3],
	                      NULL};
	cr_assert_eq(af_run(r, NULL, args), 0);
	cr_assert_eq(r->status, 0, "stderr: %s", r->err);
}

static const char *const in_order[4] = {DEMO "signins.jsonl", DEMO "mailbox-audit.json",
                                        DEMO "message-trace.jsonl.gz", DEMO "purview-export.csv"};
static const char *const reversed[4] = {DEMO "purview-export.csv", DEMO "message-trace.jsonl.gz",
                                        DEMO "mailbox-audit.json", DEMO "signins.jsonl"};

Test(replay_alerts, raises_every_rule_design_md_lists_for_the_demo_incident)
{
	struct af_run r;
	replay_demo(&r, in_order, "native");
	static const char *const rules[] = {
	    "new_country",       "new_asn",           "impossible_travel",
	    "mail_send_burst",   "sender_name_spoof", "sent_items_bypass",
	    "inbox_rule_tamper", "account_takeover",  "signin_fail_burst"};
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		char want[64];
		snprintf(want, sizeof(want), "\"rule\":\"%s\"", rules[i]);
		cr_assert_not_null(strstr(r.out, want), "no %s alert in:\n%s", rules[i], r.out);
	}
	cr_assert_not_null(strstr(r.out, "\"account\":\"an.nguyen@contoso.example\""));
	cr_assert_not_null(strstr(r.out, "\"src\":{\"ip\":\"198.51.100.7\",\"country\":\"US\""),
	                   "%s", r.out);
	/* The closing report names the account taken over first: it has the
	 * one critical alert. */
	const char *report = strstr(r.err, "  alerts by severity: critical 1, ");
	cr_assert_not_null(report, "%s", r.err);
	cr_assert_not_null(strstr(report, "most severe (1 of 1 accounts and addresses):\n"
	                                  "    an.nguyen@contoso.example"),
	                   "%s", r.err);
	af_run_free(&r);
}

/* The alert lines sorted, so two runs can be compared as sets. */
static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t sorted_lines(char *text, char **lines, size_t max)
{
	size_t n = 0;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && n < max;
	     l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	qsort(lines, n, sizeof(*lines), cmp_lines);
	return n;
}

Test(replay_alerts, gives_the_same_alerts_whatever_the_order_of_the_inputs)
{
	struct af_run a, b;
	replay_demo(&a, in_order, "native");
	replay_demo(&b, reversed, "native");
	char *la[64], *lb[64];
	size_t na = sorted_lines(a.out, la, 64), nb = sorted_lines(b.out, lb, 64);
	cr_assert_gt(na, 0);
	cr_assert_eq(na, nb);
	for (size_t i = 0; i < na; i++)
		cr_assert_str_eq(la[i], lb[i]);
	af_run_free(&a);
	af_run_free(&b);
}

Test(replay_alerts, writes_ocsf_detection_findings_with_our_ids)
{
	struct af_run native, ocsf;
	replay_demo(&native, in_order, "native");
	replay_demo(&ocsf, in_order, "ocsf");
	cr_assert_not_null(strstr(ocsf.out, "\"class_uid\":2004"), "%s", ocsf.out);
	const char *id = strstr(native.out, "\"id\":\"");
	cr_assert_not_null(id);
	char uid[64];
	snprintf(uid, sizeof(uid), "\"uid\":\"%.16s\"", id + 6);
	cr_assert_not_null(strstr(ocsf.out, uid), "%s not in %s", uid, ocsf.out);
	af_run_free(&native);
	af_run_free(&ocsf);
}

Test(replay_alerts, counts_alerts_by_rule_in_the_summary)
{
	char summary[4200];
	snprintf(summary, sizeof(summary), "%s/summary.json", af_e2e_dir);
	const char *args[] = {
	    "replay",    "--no-progress",     "--geo-city",         SCENARIO "city.mmdb",
	    "--geo-asn", SCENARIO "asn.mmdb", "--summary",          summary,
	    "-o",        "/dev/null",         DEMO "signins.jsonl", NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	char *s = af_slurp(summary, NULL);
	cr_assert_not_null(s);
	/* new_country, impossible_travel and signin_fail_burst (without the
	 * Anonymous-IP database the new ASN is not risky, so new_country's
	 * alert speaks for it). */
	cr_assert_geq(af_json_int(s, "alerts"), 3, "%s", s);
	cr_assert_not_null(strstr(s, "\"alerts_by_rule\":{"), "%s", s);
	cr_assert_not_null(strstr(s, "\"impossible_travel\":1"), "%s", s);
	free(s);
	af_run_free(&r);
}
