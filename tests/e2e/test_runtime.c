/* test_runtime.c - the multi-threaded pipeline end to end through the real
 * binary: the alert set (ids and contents) and the counts of a generated
 * attack scenario are the same for every thread count and batch size, and
 * a stop signal drains what was read, writes the summary and exits 0,
 * while a second one exits at once. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"
#include "scenario.h"

extern char **environ;

TestSuite(runtime, .init = af_e2e_setup, .fini = af_e2e_teardown, .timeout = 900);

/* The summary's counts that must not depend on the threads. */
static const char *const counted[] = {"events_in", "events_ok", "events_invalid", "duplicates",
                                      "late",      "alerts",    "accounts"};

Test(runtime, gives_the_same_alerts_and_counts_for_any_threads_and_batch_size)
{
	static const struct {
		const char *threads, *batch;
	} runs[] = {{"1", "256"}, {"2", "1"}, {"3", "7"}, {"4", "64"}, {"8", "1000"}};
	char *first = NULL, *first_summary = NULL;

	af_scn_make("seed-incident", NULL);
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		char alerts[32], summary[32];
		snprintf(alerts, sizeof(alerts), "alerts-%zu.json", i);
		snprintf(summary, sizeof(summary), "summary-%zu.json", i);
		const char *extra[] = {"-j",          runs[i].threads, "--batch-size",
		                       runs[i].batch, "--summary",     af_e2e_path(summary),
		                       NULL};
		struct af_scn s;
		af_scn_replay(&s, NULL, extra, alerts);
		char *sorted = af_scn_sorted_alerts(&s);
		char *sum = af_slurp(af_e2e_path(summary), NULL);
		cr_assert_not_null(sum);
		if (first == NULL) {
			cr_assert_gt(s.nalerts, 10, "the scenario raises its alerts");
			first = sorted;
			first_summary = sum;
		} else {
			cr_assert_str_eq(sorted, first, "-j %s --batch-size %s: other alerts",
			                 runs[i].threads, runs[i].batch);
			for (size_t k = 0; k < sizeof(counted) / sizeof(counted[0]); k++)
				cr_assert_eq(af_json_int(sum, counted[k]),
				             af_json_int(first_summary, counted[k]),
				             "-j %s --batch-size %s: %s differs", runs[i].threads,
				             runs[i].batch, counted[k]);
			free(sorted);
			free(sum);
		}
		af_scn_free(&s);
	}
	free(first);
	free(first_summary);
}

/* Start a paced replay of the scenario (slow enough to be interrupted),
 * summary to summary.json, and every event to events_out when it is not
 * NULL. */
static pid_t start_paced(const char *events_out)
{
	const char *argv[] = {AF_BIN,
	                      "replay",
	                      "-c",
	                      af_e2e_path("geo.yaml"),
	                      "--no-progress",
	                      "--speed",
	                      "2000",
	                      "-j",
	                      "2",
	                      "--summary",
	                      af_e2e_path("summary.json"),
	                      "-o",
	                      af_e2e_path("alerts.json"),
	                      af_e2e_path("signins.jsonl"),
	                      af_e2e_path("audit.jsonl"),
	                      af_e2e_path("messagetrace.jsonl"),
	                      events_out ? "--events-out" : NULL,
	                      events_out,
	                      NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, af_e2e_path("stderr.txt"),
	                                 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_eq(posix_spawn(&pid, AF_BIN, &fa, NULL, (char *const *)argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	nanosleep(&ts, NULL);
}

Test(runtime, drains_what_it_read_and_exits_0_on_the_first_signal)
{
	/* 14 days at 2,000 times their pace: ten minutes if not stopped;
	 * once stopped, what was read drains unpaced. */
	af_scn_make("seed-incident", NULL);
	pid_t pid = start_paced(NULL);
	sleep_s(1.0);
	cr_assert_eq(kill(pid, SIGINT), 0);
	int status;
	char *hang;
	af_e2e_wait(pid, &status, &hang);
	char *err = af_slurp(af_e2e_path("stderr.txt"), NULL);
	cr_assert_eq(status, 0, "exit status %d: %s%s", status, err, hang ? hang : "");
	cr_assert_not_null(strstr(err, "interrupted"), "it says why it stopped: %s", err);

	char *sum = af_slurp(af_e2e_path("summary.json"), NULL);
	cr_assert_not_null(sum, "the summary is written");
	long long in = af_json_int(sum, "events_in"), ok = af_json_int(sum, "events_ok"),
	          bad = af_json_int(sum, "events_invalid"), dup = af_json_int(sum, "duplicates");
	cr_assert_gt(in, 0, "it had read something: %s", sum);
	cr_assert_lt(in, 238000, "and stopped early: %s", sum);
	cr_assert_eq(in, ok + bad + dup, "every record read is accounted for: %s", sum);
	free(sum);
	free(err);
}

Test(runtime, exits_at_once_on_a_second_signal)
{
	/* Its events go to a pipe nobody reads: once the pipe is full the
	 * drain the first signal starts cannot finish, so the second signal
	 * surely finds it under way. */
	af_scn_make("seed-incident", NULL);
	const char *fifo = af_e2e_path("events.fifo");
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	int reader = open(fifo, O_RDONLY | O_NONBLOCK);
	cr_assert_geq(reader, 0);
	pid_t pid = start_paced(fifo);
	sleep_s(1.0);
	cr_assert_eq(kill(pid, SIGTERM), 0);
	sleep_s(0.2);
	cr_assert_eq(kill(pid, SIGTERM), 0);
	int status;
	char *hang;
	af_e2e_wait(pid, &status, &hang);
	char *err = af_slurp(af_e2e_path("stderr.txt"), NULL);
	cr_assert_eq(status, 128 + SIGTERM, "exit status %d: %s%s", status, err, hang ? hang : "");
	cr_assert_not_null(strstr(err, "second signal"), "%s", err);
	free(err);
	close(reader);
}
