/* test_gen.c - `auditflow gen` end to end: the real binary writes a
 * scenario, `auditflow replay` reads it back, and the summary must count
 * every record as a valid event; plus the command's exit statuses. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

TestSuite(gen, .init = af_e2e_setup, .fini = af_e2e_teardown);

/* Run `auditflow gen` with args (after "gen", NULL-terminated) and return
 * its exit status; its stderr goes into *err when err is not NULL. */
static int gen(const char *const *args, char **err)
{
	const char *argv[32] = {"gen"};
	size_t n = 1;
	for (; args[n - 1]; n++) {
		cr_assert_lt(n, 31);
		argv[n] = args[n - 1];
	}
	argv[n] = NULL;
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, argv), 0);
	int status = r.status;
	if (err)
		*err = strdup(r.err);
	af_run_free(&r);
	return status;
}

static size_t lines_of(const char *name)
{
	char *s = af_slurp(af_e2e_path(name), NULL);
	cr_assert_not_null(s, "%s", name);
	size_t n = af_count_lines(s);
	free(s);
	return n;
}

/* Lines of name that contain needle. */
static size_t lines_with(const char *name, const char *needle)
{
	char *s = af_slurp(af_e2e_path(name), NULL);
	cr_assert_not_null(s, "%s", name);
	size_t n = 0;
	for (char *line = s; *line;) {
		char *nl = strchr(line, '\n');
		cr_assert_not_null(nl);
		*nl = '\0';
		n += strstr(line, needle) != NULL;
		line = nl + 1;
	}
	free(s);
	return n;
}

static void check_replay_counts_every_record(const char *scenario)
{
	const char *g[] = {"--scenario", scenario, "--accounts", "50",       "--days", "6",
	                   "--seed",     "3",      "--out",      af_e2e_dir, NULL};
	char *err;
	cr_assert_eq(gen(g, &err), 0, "stderr: %s", err);
	cr_assert(strstr(err, scenario), "the closing line names the scenario: %s", err);
	free(err);

	const char *summary = af_e2e_path("summary.json");
	const char *args[] = {"replay",
	                      "--no-progress",
	                      "--summary",
	                      summary,
	                      af_e2e_path("signins.jsonl"),
	                      af_e2e_path("audit.jsonl"),
	                      af_e2e_path("messagetrace.jsonl"),
	                      NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	char *s = af_slurp(summary, NULL);
	cr_assert_not_null(s);
	long long records = (long long)(lines_of("signins.jsonl") + lines_of("audit.jsonl") +
	                                lines_of("messagetrace.jsonl"));
	cr_assert_gt(records, 1000);
	cr_assert_eq(af_json_int(s, "events_in"), records, "%s", s);
	cr_assert_eq(af_json_int(s, "events_ok"), records, "%s", s);
	cr_assert_eq(af_json_int(s, "events_invalid"), 0, "%s", s);
	cr_assert_eq(af_json_int(s, "duplicates"), 0, "every record has its own id: %s", s);
	cr_assert_eq(af_json_int(s, "late"), 0, "every file is in time order: %s", s);
	/* Each kind as the files hold it. */
	long long signins = (long long)(lines_of("signins.jsonl") +
	                                lines_with("audit.jsonl", "\"Operation\":\"UserLog"));
	cr_assert_eq(af_json_int(s, "signin_ok") + af_json_int(s, "signin_failed"), signins, "%s",
	             s);
	long long sends = (long long)(lines_with("audit.jsonl", "\"Operation\":\"Send\"") +
	                              lines_of("messagetrace.jsonl"));
	cr_assert_eq(af_json_int(s, "mail_send"), sends, "%s", s);
	cr_assert_eq(af_json_int(s, "mail_access"),
	             (long long)lines_with("audit.jsonl", "\"Operation\":\"MailItemsAccessed\""),
	             "%s", s);
	free(s);
	af_run_free(&r);
}

Test(gen, replays_the_baseline_as_valid_events_only)
{
	check_replay_counts_every_record("baseline");
}

Test(gen, replays_the_seed_incident_as_valid_events_only)
{
	check_replay_counts_every_record("seed-incident");
	cr_assert_eq(lines_with("truth.jsonl", "\"rule\":\"new_country\""), 1);
	cr_assert_eq(lines_with("truth.jsonl", "\"address\":null"), 10);
}

Test(gen, replays_the_password_spray_as_valid_events_only)
{
	check_replay_counts_every_record("password-spray");
	cr_assert_eq(lines_with("truth.jsonl", "\"rule\":\"password_spray\",\"account\":null"), 1);
}

Test(gen, replays_the_bec_inbox_rule_as_valid_events_only)
{
	check_replay_counts_every_record("bec-inbox-rule");
	cr_assert_eq(lines_with("truth.jsonl", "\"rule\":\"inbox_rule_tamper\""), 1);
}

Test(gen, replays_the_forwarding_as_valid_events_only)
{
	check_replay_counts_every_record("forwarding");
	cr_assert_eq(lines_with("truth.jsonl", "\"rule\":\"mailbox_forwarding\""), 1);
	cr_assert_eq(lines_with("audit.jsonl", "\"Operation\":\"Set-Mailbox\""), 1);
}

Test(gen, writes_the_same_bytes_when_run_again)
{
	static const char *const names[] = {"signins.jsonl", "audit.jsonl", "messagetrace.jsonl",
	                                    "truth.jsonl", "networks.jsonl"};
	const char *g[] = {"--scenario", "seed-incident", "--accounts", "30",
	                   "--days=4",   "--out",         af_e2e_dir,   NULL};
	cr_assert_eq(gen(g, NULL), 0);
	char *first[5];
	size_t len[5];
	for (int i = 0; i < 5; i++) {
		first[i] = af_slurp(af_e2e_path(names[i]), &len[i]);
		cr_assert_not_null(first[i]);
	}
	cr_assert_eq(gen(g, NULL), 0);
	for (int i = 0; i < 5; i++) {
		size_t n;
		char *again = af_slurp(af_e2e_path(names[i]), &n);
		cr_assert_eq(n, len[i], "%s", names[i]);
		cr_assert(memcmp(again, first[i], n) == 0, "%s", names[i]);
		free(again);
		free(first[i]);
	}
}

Test(gen, exits_2_on_usage_errors)
{
	const char *none[] = {"--out", af_e2e_dir, NULL};
	const char *unknown[] = {"--scenario", "ransomware", "--out", af_e2e_dir, NULL};
	const char *zero[] = {"--scenario", "baseline", "--accounts", "0",
	                      "--out",      af_e2e_dir, NULL};
	const char *short_attack[] = {"--scenario", "forwarding", "--days", "1",
	                              "--out",      af_e2e_dir,   NULL};
	const char *bad_option[] = {"--scenario", "baseline", "--speed", "2", NULL};
	const char *no_value[] = {"--scenario", NULL};
	const char *bad_start[] = {"--scenario", "baseline", "--start", "yesterday", NULL};
	const char *bad_range[] = {"--scenario", "baseline", "--sends-per-day", "50", NULL};
	const char *positional[] = {"--scenario", "baseline", "extra", NULL};
	const char *const *cases[] = {none,     unknown,   zero,      short_attack, bad_option,
	                              no_value, bad_start, bad_range, positional};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *err;
		cr_assert_eq(gen(cases[i], &err), 2, "case %zu: %s", i, err);
		cr_assert(strstr(err, "auditflow gen:"), "case %zu says why: %s", i, err);
		free(err);
	}
	cr_assert_null(af_slurp(af_e2e_path("signins.jsonl"), NULL), "nothing written");
}

Test(gen, exits_1_when_the_output_cannot_be_written)
{
	cr_assert_eq(af_spit(af_e2e_path("plain"), "x", 1), 0);
	char out[4200];
	snprintf(out, sizeof(out), "%s/sub", af_e2e_path("plain"));
	const char *g[] = {"--scenario", "baseline", "--accounts", "3", "--days",
	                   "1",          "--out",    out,          NULL};
	char *err;
	cr_assert_eq(gen(g, &err), 1);
	cr_assert(strstr(err, "plain"), "names the path: %s", err);
	free(err);
}

Test(gen, lists_its_options_and_scenarios_on_help)
{
	const char *args[] = {"gen", "--help", NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 0);
	static const char *const words[] = {"--scenario",     "--seed",        "--accounts",
	                                    "--days",         "--out",         "--start",
	                                    "baseline",       "seed-incident", "password-spray",
	                                    "bec-inbox-rule", "forwarding"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		cr_assert(strstr(r.out, words[i]), "%s", words[i]);
	af_run_free(&r);
}
