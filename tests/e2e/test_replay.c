/* test_replay.c - `auditflow replay` end to end: the real binary on real
 * files, checked through its outputs (summary, events, dead letters) and
 * exit status. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "run.h"

#define DEMO AF_TEST_DATA "/demo/"

TestSuite(replay, .init = af_e2e_setup, .fini = af_e2e_teardown);

Test(replay, counts_every_record_of_the_demo_sample_in_the_summary)
{
	const char *summary = af_e2e_path("summary.json");
	const char *args[] = {"replay",
	                      "--no-progress",
	                      "--summary",
	                      summary,
	                      DEMO "signins.jsonl",
	                      DEMO "mailbox-audit.json",
	                      DEMO "message-trace.jsonl.gz",
	                      DEMO "purview-export.csv",
	                      NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	char *s = af_slurp(summary, NULL);
	cr_assert_not_null(s);
	/* 28 sign-ins + 32 mailbox records + 100 trace rows + 2 CSV rows. */
	cr_assert_eq(af_json_int(s, "events_in"), 162, "%s", s);
	cr_assert_eq(af_json_int(s, "events_invalid"), 0, "%s", s);
	cr_assert_eq(af_json_int(s, "duplicates"), 1, "the Purview row given twice: %s", s);
	cr_assert_eq(af_json_int(s, "events_ok"), 161, "%s", s);
	cr_assert_eq(af_json_int(s, "accounts"), 1, "%s", s);
	free(s);
	af_run_free(&r);
}

Test(replay, merges_several_inputs_into_event_time_order)
{
	const char *events = af_e2e_path("events.jsonl");
	const char *args[] = {"replay",
	                      "--no-progress",
	                      "--events-out",
	                      events,
	                      DEMO "message-trace.jsonl.gz",
	                      DEMO "signins.jsonl",
	                      DEMO "mailbox-audit.json",
	                      NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	char *s = af_slurp(events, NULL);
	cr_assert_not_null(s);
	cr_assert_eq(af_count_lines(s), 160);
	char prev[64] = "";
	size_t n = 0;
	for (const char *p = strstr(s, "\"@timestamp\":\""); p;
	     p = strstr(p + 1, "\"@timestamp\":\"")) {
		char ts[64];
		const char *v = p + strlen("\"@timestamp\":\"");
		size_t len = strcspn(v, "\"");
		cr_assert_lt(len, sizeof(ts));
		memcpy(ts, v, len);
		ts[len] = '\0';
		/* RFC 3339 UTC with the same precision per second compares as
		 * text only up to the seconds; compare those. */
		cr_assert_geq(strncmp(ts, prev, 19), 0, "event %zu at %s after %s", n, ts, prev);
		memcpy(prev, ts, len + 1);
		n++;
	}
	cr_assert_eq(n, 160);
	free(s);
	af_run_free(&r);
}

Test(replay, writes_each_unusable_record_to_the_dead_letter_file_with_its_reason)
{
	const char *input = af_e2e_path("bad.jsonl");
	const char *bad =
	    "{\"CreationTime\":\"2025-08-25T05:58:00\",\"Operation\":\"UserLoggedIn\","
	    "\"UserId\":\"a@b.example\",\"Workload\":\"AzureActiveDirectory\"}\n"
	    "{\"CreationTime\": \n"
	    "\"just a string\"\n"
	    "{\"hello\":\"world\"}\n"
	    "{\"CreationTime\":\"yesterday\",\"Operation\":\"Send\",\"UserId\":\"a@b.example\","
	    "\"Workload\":\"Exchange\"}\n"
	    "{\"CreationTime\":\"2025-08-25T05:58:00\",\"Operation\":\"Send\","
	    "\"Workload\":\"Exchange\"}\n"
	    "{\"CreationTime\":\"2025-08-25T05:58:00\",\"Operation\":\"Send\",\"UserId\":42,"
	    "\"Workload\":\"Exchange\"}\n"
	    "{\"CreationTime\":\"2025-08-25T05:58:00\",\"Operation\":\"Send\",\"UserId\":"
	    "\"\xff\xfe\","
	    "\"Workload\":\"Exchange\"}\n";
	cr_assert_eq(af_spit(input, bad, strlen(bad)), 0);
	const char *dlq = af_e2e_path("dlq.jsonl");
	const char *summary = af_e2e_path("summary.json");
	const char *args[] = {"replay",    "--no-progress", "--dlq", dlq,
	                      "--summary", summary,         input,   NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 0, "bad records do not change the exit status: %s", r.err);
	char *d = af_slurp(dlq, NULL);
	cr_assert_not_null(d);
	cr_assert_eq(af_count_lines(d), 7, "%s", d);
	const char *reasons[] = {"malformed_json", "not_object", "unknown_schema", "bad_timestamp",
	                         "missing_field",  "wrong_type", "invalid_utf8"};
	for (size_t i = 0; i < 7; i++)
		cr_assert_not_null(strstr(d, reasons[i]), "no %s in %s", reasons[i], d);
	cr_assert_not_null(strstr(d, "\"line\":2"), "source position: %s", d);
	char *s = af_slurp(summary, NULL);
	cr_assert_eq(af_json_int(s, "events_in"), 8);
	cr_assert_eq(af_json_int(s, "events_ok"), 1);
	cr_assert_eq(af_json_int(s, "events_invalid"), 7);
	free(s);
	free(d);
	af_run_free(&r);
}

Test(replay, reads_standard_input_given_as_dash)
{
	const char *summary = af_e2e_path("summary.json");
	const char *args[] = {"replay", "--no-progress", "--summary", summary, "-", NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, DEMO "signins.jsonl", args), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	char *s = af_slurp(summary, NULL);
	cr_assert_eq(af_json_int(s, "events_ok"), 28, "%s", s);
	free(s);
	af_run_free(&r);
}

Test(replay, reads_a_directory_as_one_input_in_name_order)
{
	const char *summary = af_e2e_path("summary.json");
	const char *args[] = {"replay", "--no-progress",      "--summary",
	                      summary,  AF_TEST_DATA "/demo", NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	char *s = af_slurp(summary, NULL);
	cr_assert_eq(af_json_int(s, "events_in"), 162, "%s", s);
	free(s);
	af_run_free(&r);
}

Test(replay, exits_1_naming_an_input_that_cannot_be_read)
{
	const char *args[] = {"replay", "--no-progress", "/nonexistent/audit.jsonl", NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "/nonexistent/audit.jsonl"), "%s", r.err);
	af_run_free(&r);
}

Test(replay, exits_2_on_an_unknown_option)
{
	const char *args[] = {"replay", "--no-such-option", DEMO "signins.jsonl", NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "no-such-option"), "%s", r.err);
	af_run_free(&r);
}

Test(replay, exits_2_without_inputs)
{
	const char *args[] = {"replay", NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 2);
	af_run_free(&r);
}

Test(replay, takes_options_from_the_configuration_file_and_lets_the_command_line_win)
{
	const char *cfg = af_e2e_path("auditflow.yaml");
	const char *dlq_file = af_e2e_path("from-file.jsonl");
	const char *dlq_cli = af_e2e_path("from-cli.jsonl");
	char yaml[8192];
	snprintf(yaml, sizeof(yaml), "input:\n  max_record_bytes: 1KiB\noutput:\n  dlq: %s\n",
	         dlq_file);
	cr_assert_eq(af_spit(cfg, yaml, strlen(yaml)), 0);
	const char *args[] = {
	    "replay", "-c", cfg, "--no-progress", "--dlq", dlq_cli, DEMO "mailbox-audit.json",
	    NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	/* The Send records are longer than 1 KiB: oversize, to the CLI's file. */
	char *d = af_slurp(dlq_cli, NULL);
	cr_assert_not_null(d, "the command line's --dlq wins");
	cr_assert_not_null(strstr(d, "oversize"), "%s", d);
	cr_assert_null(af_slurp(dlq_file, NULL));
	free(d);
	af_run_free(&r);
}

Test(replay, writes_normalized_events_with_ecs_names)
{
	const char *events = af_e2e_path("events.jsonl");
	const char *args[] = {"replay", "--no-progress",           "--events-out",
	                      events,   DEMO "purview-export.csv", NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	char *s = af_slurp(events, NULL);
	cr_assert_eq(af_count_lines(s), 1, "one of the two identical rows: %s", s);
	cr_assert_not_null(strstr(s, "\"@timestamp\":\"2025-08-25T13:29:00Z\""), "%s", s);
	cr_assert_not_null(strstr(s, "\"user.name\":\"an.nguyen@contoso.example\""), "%s", s);
	cr_assert_not_null(strstr(s, "\"source.ip\":\"198.51.100.7\""), "%s", s);
	cr_assert_not_null(strstr(s, "\"event.outcome\":\"success\""), "%s", s);
	cr_assert_not_null(strstr(s, "\"event.action\":\"UserLoggedIn\""), "%s", s);
	free(s);
	af_run_free(&r);
}

Test(replay, counts_a_truncated_gzip_stream_and_keeps_what_came_before)
{
	const char *input = af_e2e_path("cut.jsonl.gz");
	size_t len;
	char *gz = af_slurp(DEMO "message-trace.jsonl.gz", &len);
	cr_assert_not_null(gz);
	cr_assert_eq(af_spit(input, gz, len * 2 / 3), 0);
	const char *summary = af_e2e_path("summary.json");
	const char *args[] = {"replay", "--no-progress", "--summary", summary, input, NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	char *s = af_slurp(summary, NULL);
	cr_assert_not_null(strstr(s, "\"truncated_stream\":1"), "%s", s);
	cr_assert_gt(af_json_int(s, "events_ok"), 0, "%s", s);
	cr_assert_eq(af_json_int(s, "events_in"), af_json_int(s, "events_ok") +
	                                              af_json_int(s, "events_invalid") +
	                                              af_json_int(s, "duplicates"));
	free(s);
	free(gz);
	af_run_free(&r);
}

/* The demo's sign-ins, read with stderr on a pseudo-terminal (script(1)
 * gives the command one and copies what it writes): the progress line
 * comes, last as 100% with the records, dead letters and alerts counted;
 * --no-progress, or stderr in a pipe, has none. */
static char *replay_on_a_terminal(const char *extra)
{
	char cmd[1024];
	struct af_run r;
	snprintf(cmd, sizeof(cmd), "%s replay %s -o /dev/null %s", AF_BIN, extra,
	         DEMO "signins.jsonl");
	const char *argv[] = {"script", "-qec", cmd, "/dev/null", NULL};
	cr_assert_eq(af_run_argv(&r, NULL, argv), 0);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	char *out = strdup(r.out);
	af_run_free(&r);
	return out;
}

Test(replay, shows_a_progress_line_on_a_terminal_and_none_in_a_pipe)
{
	char *shown = replay_on_a_terminal("");
	cr_assert_not_null(strstr(shown, "\r\033[K28 events, "), "%s", shown);
	cr_assert_not_null(strstr(shown, "/s, 0 invalid, "), "%s", shown);
	cr_assert_not_null(strstr(shown, " alerts, 100.0% of "), "%s", shown);
	cr_assert_not_null(strstr(shown, "MB, ETA 0 s"), "%s", shown);
	free(shown);

	char *quiet = replay_on_a_terminal("--no-progress");
	cr_assert_null(strstr(quiet, "\033[K"), "%s", quiet);
	cr_assert_not_null(strstr(quiet, "events in"), "the summary is still shown: %s", quiet);
	free(quiet);

	const char *args[] = {"replay", "-o", "/dev/null", DEMO "signins.jsonl", NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_null(strstr(r.err, "\033[K"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "events in"), "%s", r.err);
	af_run_free(&r);
}
