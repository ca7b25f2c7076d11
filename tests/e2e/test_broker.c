/* test_broker.c - `auditflow broker` end to end: the real binary serves the
 * Kafka protocol on loopback to a real client (kcat): what is produced is
 * consumed back unchanged, topics have the partitions asked for, --port and
 * --brokers do what they say, a signal ends it with status 0 and bad
 * options with 2; and the retention limit it warns about is real.
 *
 * Every wait has a deadline and polls a condition (the bootstrap file, the
 * child's exit), so a loaded machine makes a test slower, not flaky.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

extern char **environ;

/* The broker this test started, so .fini can stop it when an assertion
 * ends the test early. */
static pid_t broker_pid;

static void broker_fini(void)
{
	if (broker_pid > 0) {
		kill(broker_pid, SIGKILL);
		waitpid(broker_pid, NULL, 0);
		broker_pid = 0;
	}
	af_e2e_teardown();
}

TestSuite(broker, .init = af_e2e_setup, .fini = broker_fini, .timeout = 60);

#define DEADLINE_S 20.0

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(void)
{
	struct timespec ts = {0, 10 * 1000 * 1000};
	nanosleep(&ts, NULL);
}

/* Start `auditflow broker --bootstrap-file BOOT extra...` with stdout and
 * stderr in broker.out and broker.err, and wait (with a deadline) until it
 * has written the bootstrap file; returns the address (owned). */
static char *start_broker(const char *const *extra)
{
	const char *argv[32] = {AF_BIN, "broker", "--bootstrap-file", af_e2e_path("bootstrap")};
	size_t n = 4;
	for (size_t i = 0; extra && extra[i]; i++) {
		cr_assert_lt(n, 31);
		argv[n++] = extra[i];
	}
	argv[n] = NULL;

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, af_e2e_path("broker.out"),
	                                 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, af_e2e_path("broker.err"),
	                                 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_eq(posix_spawn(&broker_pid, AF_BIN, &fa, NULL, (char *const *)argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);

	double end = now_s() + DEADLINE_S;
	for (;;) {
		char *addr = af_slurp(af_e2e_path("bootstrap"), NULL);
		if (addr) {
			cr_assert(strlen(addr) > 0 && addr[strlen(addr) - 1] == '\n',
			          "the file holds a whole line: '%s'", addr);
			addr[strlen(addr) - 1] = '\0';
			return addr;
		}
		int ws;
		if (waitpid(broker_pid, &ws, WNOHANG) == broker_pid) {
			broker_pid = 0;
			char *err = af_slurp(af_e2e_path("broker.err"), NULL);
			cr_assert_fail("the broker exited (status %d) before it was ready: %s", ws,
			               err);
		}
		cr_assert_lt(now_s(), end, "no bootstrap file after %.0f s", DEADLINE_S);
		nap();
	}
}

/* Send sig to the broker and return its exit status (128+signal if a
 * signal ended it), waiting at most DEADLINE_S. */
static int stop_broker(int sig)
{
	cr_assert_gt(broker_pid, 0);
	cr_assert_eq(kill(broker_pid, sig), 0);
	double end = now_s() + DEADLINE_S;
	int ws;
	while (waitpid(broker_pid, &ws, WNOHANG) != broker_pid) {
		cr_assert_lt(now_s(), end, "the broker did not stop within %.0f s", DEADLINE_S);
		nap();
	}
	broker_pid = 0;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* Run kcat with args (NULL-terminated), stdin from stdin_path (or
 * /dev/null); asserts it succeeded and returns its stdout (owned). */
static char *kcat(const char *stdin_path, const char *const *args)
{
	const char *argv[32] = {"kcat"};
	size_t n = 1;
	for (size_t i = 0; args[i]; i++) {
		cr_assert_lt(n, 31);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	struct af_run r;
	cr_assert_eq(af_run_argv(&r, stdin_path, argv), 0, "kcat could not be started");
	cr_assert_eq(r.status, 0, "kcat %s %s failed (%d): %s", args[0], args[1], r.status, r.err);
	char *out = r.out;
	r.out = NULL;
	af_run_free(&r);
	return out;
}

/* Write n JSON lines of about pad bytes each to name; returns the text
 * (owned). */
static char *write_lines(const char *name, int n, size_t pad)
{
	size_t cap = (size_t)n * (pad + 128) + 1, len = 0;
	char *text = malloc(cap);
	char *filler = malloc(pad + 1);
	cr_assert(text && filler);
	memset(filler, 'x', pad);
	filler[pad] = '\0';
	for (int i = 0; i < n; i++)
		len +=
		    (size_t)snprintf(text + len, cap - len,
		                     "{\"CreationTime\":\"2025-08-01T00:%02d:%02dZ\",\"Operation\":"
		                     "\"UserLoggedIn\",\"UserId\":\"user%d@example.com\",\"n\":%d,"
		                     "\"pad\":\"%s\"}\n",
		                     (i / 60) % 60, i % 60, i % 97, i, filler);
	cr_assert_eq(af_spit(af_e2e_path(name), text, len), 0);
	free(filler);
	return text;
}

/* A loopback port that was free a moment ago. */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_addr = {.s_addr = htonl(INADDR_LOOPBACK)}};
	socklen_t len = sizeof(sin);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	          getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	close(fd);
	return ntohs(sin.sin_port);
}

Test(broker, gives_back_to_kcat_what_kcat_produced_in_order)
{
	char *addr = start_broker(NULL);
	char *sent = write_lines("in.jsonl", 1000, 40);

	free(kcat(af_e2e_path("in.jsonl"),
	          (const char *[]){"-P", "-b", addr, "-t", "audit", "-p", "0", NULL}));
	char *got = kcat(NULL, (const char *[]){"-C", "-b", addr, "-t", "audit", "-e", "-o",
	                                        "beginning", "-q", NULL});

	cr_assert_eq(af_count_lines(got), 1000);
	cr_assert_str_eq(got, sent, "the records come back unchanged and in order");
	cr_assert_eq(stop_broker(SIGTERM), 0);
	free(got);
	free(sent);
	free(addr);
}

Test(broker, prints_its_bootstrap_address_alone_on_stdout)
{
	char *addr = start_broker(NULL);
	char *out = af_slurp(af_e2e_path("broker.out"), NULL);
	char expect[128];
	snprintf(expect, sizeof(expect), "%s\n", addr);

	cr_assert_str_eq(out, expect, "stdout is the address and a newline, as in the file");
	int port = 0;
	char tail = 0;
	cr_assert_eq(sscanf(addr, "127.0.0.1:%d%c", &port, &tail), 1, "a loopback address: %s",
	             addr);
	cr_assert(port > 0 && port < 65536);
	cr_assert_eq(stop_broker(SIGTERM), 0);
	free(out);
	free(addr);
}

Test(broker, says_where_it_listens_and_warns_of_its_retention_limit)
{
	char *addr = start_broker((const char *[]){"--topic", "audit:3", NULL});
	char *err = af_slurp(af_e2e_path("broker.err"), NULL);
	char line[256];
	snprintf(line, sizeof(line), "auditflow broker: listening on %s (topics: audit:3)\n", addr);

	cr_assert_not_null(strstr(err, line), "%s", err);
	cr_assert_not_null(strstr(err, "~5 MiB"), "the per-partition limit: %s", err);
	cr_assert_not_null(strstr(err, "drops older ones silently"), "%s", err);
	cr_assert_not_null(strstr(err, "3 partitions here: ~15 MiB"), "%s", err);
	cr_assert_eq(stop_broker(SIGTERM), 0);
	free(err);
	free(addr);
}

Test(broker, creates_each_topic_with_the_partitions_asked_for)
{
	char *addr = start_broker(
	    (const char *[]){"--topic", "signins:3", "--topic", "mail.trace_v2:7", NULL});
	char *meta = kcat(NULL, (const char *[]){"-L", "-b", addr, NULL});

	cr_assert_not_null(strstr(meta, "topic \"signins\" with 3 partitions:"), "%s", meta);
	cr_assert_not_null(strstr(meta, "topic \"mail.trace_v2\" with 7 partitions:"), "%s", meta);
	cr_assert_null(strstr(meta, "topic \"audit\""), "no default topic beside those: %s", meta);
	cr_assert_eq(stop_broker(SIGTERM), 0);
	free(meta);
	free(addr);
}

Test(broker, makes_an_audit_topic_when_given_none)
{
	char *addr = start_broker(NULL);
	char *meta = kcat(NULL, (const char *[]){"-L", "-b", addr, "-t", "audit", NULL});

	cr_assert_not_null(strstr(meta, "topic \"audit\" with 16 partitions:"), "%s", meta);
	cr_assert_eq(stop_broker(SIGTERM), 0);
	free(meta);
	free(addr);
}

Test(broker, runs_as_many_brokers_as_asked)
{
	char *addr = start_broker((const char *[]){"--brokers", "3", NULL});
	char *meta = kcat(NULL, (const char *[]){"-L", "-b", addr, NULL});

	cr_assert_not_null(strstr(meta, " 3 brokers:"), "%s", meta);
	cr_assert_not_null(strchr(addr, ','), "the bootstrap lists every broker: %s", addr);
	cr_assert_eq(stop_broker(SIGTERM), 0);
	free(meta);
	free(addr);
}

Test(broker, takes_clients_on_the_port_given)
{
	int port = free_port();
	char port_text[16], expect[32];
	snprintf(port_text, sizeof(port_text), "%d", port);
	snprintf(expect, sizeof(expect), "127.0.0.1:%d", port);
	char *addr = start_broker((const char *[]){"--port", port_text, NULL});
	cr_assert_str_eq(addr, expect);
	char *sent = write_lines("in.jsonl", 200, 40);

	free(kcat(af_e2e_path("in.jsonl"),
	          (const char *[]){"-P", "-b", addr, "-t", "audit", "-p", "5", NULL}));
	char *got = kcat(NULL, (const char *[]){"-C", "-b", addr, "-t", "audit", "-p", "5", "-e",
	                                        "-o", "beginning", "-q", NULL});

	cr_assert_str_eq(got, sent);
	cr_assert_eq(stop_broker(SIGTERM), 0);
	free(got);
	free(sent);
	free(addr);
}

Test(broker, fails_with_status_1_when_the_port_is_taken)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_addr = {.s_addr = htonl(INADDR_LOOPBACK)}};
	socklen_t len = sizeof(sin);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	          listen(fd, 1) == 0 && getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	char port_text[16];
	snprintf(port_text, sizeof(port_text), "%d", ntohs(sin.sin_port));

	struct af_run r;
	cr_assert_eq(af_run(&r, NULL,
	                    (const char *[]){"broker", "--port", port_text, "--bootstrap-file",
	                                     af_e2e_path("bootstrap"), NULL}),
	             0);
	close(fd);

	cr_assert_eq(r.status, 1, "%s", r.err);
	cr_assert_not_null(strstr(r.err, "Address already in use"), "%s", r.err);
	cr_assert_str_eq(r.out, "", "no address is printed");
	cr_assert_eq(access(af_e2e_path("bootstrap"), F_OK), -1, "no bootstrap file is written");
	af_run_free(&r);
}

Test(broker, exits_0_on_sigterm_and_removes_its_bootstrap_file)
{
	free(start_broker(NULL));

	cr_assert_eq(stop_broker(SIGTERM), 0);
	char *err = af_slurp(af_e2e_path("broker.err"), NULL);
	cr_assert_not_null(strstr(err, "terminated (SIGTERM), stopping"), "%s", err);
	cr_assert_eq(access(af_e2e_path("bootstrap"), F_OK), -1,
	             "a stale address would mislead the next script");
	free(err);
}

Test(broker, exits_0_on_sigint)
{
	free(start_broker(NULL));

	cr_assert_eq(stop_broker(SIGINT), 0);
}

Test(broker, rejects_a_topic_without_a_partition_count_with_status_2)
{
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, (const char *[]){"broker", "--topic", "audit", NULL}), 0);

	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "'audit' is not NAME:PARTITIONS"), "%s", r.err);
	cr_assert_str_eq(r.out, "");
	af_run_free(&r);
}

Test(broker, rejects_zero_partitions_a_bad_name_and_a_repeated_topic_with_status_2)
{
	static const char *const bad[][2] = {{"audit:0", "not NAME:PARTITIONS"},
	                                     {"a/b:2", "not a topic name"},
	                                     {"..:1", "not a topic name"}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct af_run r;
		cr_assert_eq(
		    af_run(&r, NULL, (const char *[]){"broker", "--topic", bad[i][0], NULL}), 0);
		cr_assert_eq(r.status, 2, "--topic %s", bad[i][0]);
		cr_assert_not_null(strstr(r.err, bad[i][1]), "--topic %s: %s", bad[i][0], r.err);
		af_run_free(&r);
	}
	struct af_run r;
	cr_assert_eq(
	    af_run(&r, NULL, (const char *[]){"broker", "--topic", "x:1", "--topic=x:2", NULL}), 0);
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "'x' is given twice"), "%s", r.err);
	af_run_free(&r);
}

Test(broker, rejects_an_unknown_option_with_status_2)
{
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, (const char *[]){"broker", "--partitions", "4", NULL}), 0);

	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "unknown option '--partitions'"), "%s", r.err);
	af_run_free(&r);
}

/* The limit the warning names is librdkafka 2.0.2's (rdkafka_mock.c): if
 * an upgrade changes it, this fails and the warning must change too. */
Test(broker, keeps_only_about_the_newest_5_MiB_of_a_partition_as_it_warns)
{
	char *addr = start_broker((const char *[]){"--topic", "audit:1", NULL});
	/* 10,000 records of ~1.1 KB: twice the limit. */
	char *sent = write_lines("in.jsonl", 10000, 1000);
	size_t sent_len = strlen(sent);

	free(kcat(af_e2e_path("in.jsonl"),
	          (const char *[]){"-P", "-b", addr, "-t", "audit", "-p", "0", NULL}));
	char *got = kcat(NULL, (const char *[]){"-C", "-b", addr, "-t", "audit", "-e", "-o",
	                                        "beginning", "-q", NULL});

	size_t kept = strlen(got);
	cr_assert_lt(af_count_lines(got), 10000, "older records were dropped");
	cr_assert_gt(kept, (size_t)4 << 20, "about 5 MiB is kept: %zu bytes", kept);
	cr_assert_lt(kept, (size_t)6 << 20, "about 5 MiB is kept: %zu bytes", kept);
	cr_assert_str_eq(got, sent + sent_len - kept, "what is kept is the newest, in order");
	cr_assert_eq(stop_broker(SIGTERM), 0);
	free(got);
	free(sent);
	free(addr);
}
