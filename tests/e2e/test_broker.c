/* test_broker.c - `auditflow broker` end to end: the real binary serves the
 * Kafka protocol on loopback to a real client (kcat): what is produced is
 * consumed back unchanged, topics have the partitions asked for, --port and
 * --brokers do what they say, a signal ends it with status 0 and bad
 * options with 2; and the retention limit it warns about is real.
 *
 * Every wait has a deadline and polls a condition (the bootstrap file, the
 * child's exit: run.h's af_e2e_broker_*), so a loaded machine makes a test
 * slower, not flaky.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "run.h"

/* The broker this test started, so .fini can stop it when an assertion
 * ends the test early. */
static struct af_e2e_broker broker;

static void broker_fini(void)
{
	af_e2e_broker_close(&broker);
	af_e2e_teardown();
}

TestSuite(broker, .init = af_e2e_setup, .fini = broker_fini, .timeout = 60);

/* Start the broker with extra options (NULL-terminated, or NULL) and wait
 * until it is ready; returns its bootstrap address (the broker's). */
static const char *start_broker(const char *const *extra)
{
	char err[4096];

	cr_assert_eq(af_e2e_broker_open(&broker, extra, err, sizeof(err)), 0, "%s", err);
	return broker.addr;
}

/* Send sig to the broker and return its exit status. */
static int stop_broker(int sig)
{
	char err[256];
	int status;

	cr_assert_eq(af_e2e_broker_stop(&broker, sig, &status, err, sizeof(err)), 0, "%s", err);
	return status;
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

/* Write n JSON lines of about pad bytes each to in.jsonl and produce them
 * with kcat to partition of topic audit; returns the text (owned). */
static char *produce_lines(const char *addr, const char *partition, int n, size_t pad)
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
	cr_assert_eq(af_spit(af_e2e_path("in.jsonl"), text, len), 0);
	free(filler);
	free(kcat(af_e2e_path("in.jsonl"),
	          (const char *[]){"-P", "-b", addr, "-t", "audit", "-p", partition, NULL}));
	return text;
}

/* Everything in topic audit from the beginning, of one partition or (NULL)
 * of all; returns it (owned). */
static char *consume(const char *addr, const char *partition)
{
	const char *args[16] = {"-C", "-b", addr, "-t", "audit"};
	size_t n = 5;

	if (partition != NULL) {
		args[n++] = "-p";
		args[n++] = partition;
	}
	const char *tail[] = {"-e", "-o", "beginning", "-q", NULL};
	memcpy(&args[n], tail, sizeof(tail));
	return kcat(NULL, args);
}

/* Topic metadata as `kcat -L` prints it, of topic (or NULL: all). */
static char *metadata(const char *addr, const char *topic)
{
	const char *args[] = {"-L", "-b", addr, topic ? "-t" : NULL, topic, NULL};

	return kcat(NULL, args);
}

static void expect_in(const char *text, const char *part)
{
	cr_assert_not_null(strstr(text, part), "'%s' not in: %s", part, text);
}

/* A socket bound to a loopback port that was free, listening when asked;
 * *port gets the port. */
static int loopback_socket(bool listening, int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_addr = {.s_addr = htonl(INADDR_LOOPBACK)}};
	socklen_t len = sizeof(sin);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	          (!listening || listen(fd, 1) == 0) &&
	          getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* `auditflow broker args...` must fail with status 2, saying says; r is the
 * caller's to free. */
static void refused(struct af_run *r, const char *const *args, const char *says)
{
	char line[256] = "auditflow";

	for (size_t i = 0; args[i] != NULL; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s", args[i]);
	cr_assert_eq(af_run(r, NULL, args), 0);
	cr_assert_eq(r->status, 2, "%s: %s", line, r->err);
	cr_assert_not_null(strstr(r->err, says), "%s: '%s' not in: %s", line, says, r->err);
}

Test(broker, gives_back_to_kcat_what_kcat_produced_in_order)
{
	const char *addr = start_broker(NULL);
	char *sent = produce_lines(addr, "0", 1000, 40);
	char *got = consume(addr, NULL);

	cr_assert_eq(af_count_lines(got), 1000);
	cr_assert_str_eq(got, sent, "the records come back unchanged and in order");
	cr_assert_eq(stop_broker(SIGTERM), 0);
	free(got);
	free(sent);
}

Test(broker, prints_its_bootstrap_address_alone_on_stdout)
{
	const char *addr = start_broker(NULL);
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
}

Test(broker, says_where_it_listens_and_warns_of_its_retention_limit)
{
	const char *addr = start_broker((const char *[]){"--topic", "audit:3", NULL});
	char *err = af_slurp(af_e2e_path("broker.err"), NULL);
	char line[256];
	snprintf(line, sizeof(line), "auditflow broker: listening on %s (topics: audit:3)\n", addr);

	expect_in(err, line);
	expect_in(err, "~5 MiB"); /* the per-partition limit */
	expect_in(err, "drops older ones silently");
	expect_in(err, "3 partitions here: ~15 MiB");
	cr_assert_eq(stop_broker(SIGTERM), 0);
	free(err);
}

Test(broker, creates_each_topic_with_the_partitions_asked_for)
{
	const char *addr = start_broker(
	    (const char *[]){"--topic", "signins:3", "--topic", "mail.trace_v2:7", NULL});
	char *meta = metadata(addr, NULL);

	expect_in(meta, "topic \"signins\" with 3 partitions:");
	expect_in(meta, "topic \"mail.trace_v2\" with 7 partitions:");
	cr_assert_null(strstr(meta, "topic \"audit\""), "no default topic beside those: %s", meta);
	cr_assert_eq(stop_broker(SIGTERM), 0);
	free(meta);
}

Test(broker, makes_an_audit_topic_when_given_none)
{
	char *meta = metadata(start_broker(NULL), "audit");

	expect_in(meta, "topic \"audit\" with 16 partitions:");
	cr_assert_eq(stop_broker(SIGTERM), 0);
	free(meta);
}

Test(broker, runs_as_many_brokers_as_asked)
{
	const char *addr = start_broker((const char *[]){"--brokers", "3", NULL});
	char *meta = metadata(addr, NULL);

	expect_in(meta, " 3 brokers:");
	cr_assert_not_null(strchr(addr, ','), "the bootstrap lists every broker: %s", addr);
	cr_assert_eq(stop_broker(SIGTERM), 0);
	free(meta);
}

Test(broker, takes_clients_on_the_port_given)
{
	int port;
	close(loopback_socket(false, &port));
	char port_text[16], expect[32];
	snprintf(port_text, sizeof(port_text), "%d", port);
	snprintf(expect, sizeof(expect), "127.0.0.1:%d", port);
	const char *addr = start_broker((const char *[]){"--port", port_text, NULL});
	cr_assert_str_eq(addr, expect);
	char *sent = produce_lines(addr, "5", 200, 40);
	char *got = consume(addr, "5");

	cr_assert_str_eq(got, sent);
	cr_assert_eq(stop_broker(SIGTERM), 0);
	free(got);
	free(sent);
}

Test(broker, fails_with_status_1_when_the_port_is_taken)
{
	int port;
	int fd = loopback_socket(true, &port);
	char port_text[16];
	snprintf(port_text, sizeof(port_text), "%d", port);

	struct af_run r;
	cr_assert_eq(af_run(&r, NULL,
	                    (const char *[]){"broker", "--port", port_text, "--bootstrap-file",
	                                     af_e2e_path("bootstrap"), NULL}),
	             0);
	close(fd);

	cr_assert_eq(r.status, 1, "%s", r.err);
	expect_in(r.err, "Address already in use");
	cr_assert_str_eq(r.out, "", "no address is printed");
	cr_assert_eq(access(af_e2e_path("bootstrap"), F_OK), -1, "no bootstrap file is written");
	af_run_free(&r);
}

Test(broker, exits_0_on_sigterm_and_removes_its_bootstrap_file)
{
	start_broker(NULL);

	cr_assert_eq(stop_broker(SIGTERM), 0);
	char *err = af_slurp(af_e2e_path("broker.err"), NULL);
	expect_in(err, "terminated (SIGTERM), stopping");
	cr_assert_eq(access(af_e2e_path("bootstrap"), F_OK), -1,
	             "a stale address would mislead the next script");
	free(err);
}

Test(broker, exits_0_on_sigint)
{
	start_broker(NULL);

	cr_assert_eq(stop_broker(SIGINT), 0);
}

Test(broker, rejects_a_topic_without_a_partition_count_with_status_2)
{
	struct af_run r;

	refused(&r, (const char *[]){"broker", "--topic", "audit", NULL},
	        "'audit' is not NAME:PARTITIONS");
	cr_assert_str_eq(r.out, "");
	af_run_free(&r);
}

Test(broker, rejects_zero_partitions_a_bad_name_and_a_repeated_topic_with_status_2)
{
	static const char *const bad[][2] = {{"audit:0", "not NAME:PARTITIONS"},
	                                     {"a/b:2", "not a topic name"},
	                                     {"..:1", "not a topic name"}};
	struct af_run r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		refused(&r, (const char *[]){"broker", "--topic", bad[i][0], NULL}, bad[i][1]);
		af_run_free(&r);
	}
	refused(&r, (const char *[]){"broker", "--topic", "x:1", "--topic=x:2", NULL},
	        "'x' is given twice");
	af_run_free(&r);
}

Test(broker, rejects_an_unknown_option_with_status_2)
{
	struct af_run r;

	refused(&r, (const char *[]){"broker", "--partitions", "4", NULL},
	        "unknown option '--partitions'");
	af_run_free(&r);
}

/* The limit the warning names is librdkafka 2.0.2's (rdkafka_mock.c): if
 * an upgrade changes it, this fails and the warning must change too. */
Test(broker, keeps_only_about_the_newest_5_MiB_of_a_partition_as_it_warns)
{
	const char *addr = start_broker((const char *[]){"--topic", "audit:1", NULL});
	/* 10,000 records of ~1.1 KB: twice the limit. */
	char *sent = produce_lines(addr, "0", 10000, 1000);
	size_t sent_len = strlen(sent);
	char *got = consume(addr, NULL);

	size_t kept = strlen(got);
	cr_assert_lt(af_count_lines(got), 10000, "older records were dropped");
	cr_assert_gt(kept, (size_t)4 << 20, "about 5 MiB is kept: %zu bytes", kept);
	cr_assert_lt(kept, (size_t)6 << 20, "about 5 MiB is kept: %zu bytes", kept);
	cr_assert_str_eq(got, sent + sent_len - kept, "what is kept is the newest, in order");
	cr_assert_eq(stop_broker(SIGTERM), 0);
	free(got);
	free(sent);
}
