/* test_broker.c - `auditflow broker` end to end: the real binary serves the
 * Kafka protocol on loopback to a real client (kcat): what is produced is
 * consumed back unchanged, topics have the partitions asked for, --port and
 * --brokers do what they say, a signal ends it with status 0 and bad
 * options with 2; and the retention limit it warns about is real.
 * Suite broker_control: the --control channel (stdin or a FIFO) answers
 * every command, good or bad, and each fault it injects reaches kcat the
 * way a real cluster's would, and kcat gets over it.
 *
 * Every wait has a deadline and polls a condition (the bootstrap file, the
 * child's exit: run.h's af_e2e_broker_*), so a loaded machine makes a test
 * slower, not flaky.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
 * /dev/null) into r (the caller frees it); asserts only that it ran. */
static void kcat_run(struct af_run *r, const char *stdin_path, const char *const *args)
{
	const char *argv[32] = {"kcat"};
	size_t n = 1;
	for (size_t i = 0; args[i]; i++) {
		cr_assert_lt(n, 31);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	cr_assert_eq(af_run_argv(r, stdin_path, argv), 0, "kcat could not be started");
}

/* kcat_run that must succeed; returns its stdout (owned). */
static char *kcat(const char *stdin_path, const char *const *args)
{
	struct af_run r;
	kcat_run(&r, stdin_path, args);
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

/* ---- the control channel (--control) ---- */

TestSuite(broker_control, .init = af_e2e_setup, .fini = broker_fini, .timeout = 60);

/* Send command and return the broker's answer (one of 8 rotating
 * buffers). */
static const char *ctl(const char *command)
{
	static char answers[8][1024];
	static unsigned k;
	char *answer = answers[k++ % 8];
	char err[4096];

	cr_assert_eq(
	    af_e2e_broker_ctl(&broker, command, answer, sizeof(answers[0]), err, sizeof(err)), 0,
	    "'%s': %s", command, err);
	return answer;
}

static void ctl_expect(const char *command, const char *answer)
{
	cr_assert_str_eq(ctl(command), answer, "the answer to '%s'", command);
}

/* Occurrences of part in text. */
static size_t count_in(const char *text, const char *part)
{
	size_t n = 0;
	for (const char *p = strstr(text, part); p; p = strstr(p + 1, part))
		n++;
	return n;
}

/* Produce n more lines to partition and check that a reader from the
 * beginning gets before (what was produced there earlier), then them;
 * frees before. */
static void produce_more_and_read_all(const char *addr, const char *partition, char *before, int n,
                                      const char *why)
{
	char *after = produce_lines(addr, partition, n, 20);
	char *got = consume(addr, partition);
	size_t len = strlen(before);

	cr_assert_eq(strncmp(got, before, len), 0, "%s: what was there before", why);
	cr_assert_str_eq(got + len, after, "%s: then what came after", why);
	free(got);
	free(after);
	free(before);
}

/* The first "127.0.0.1:PORT" of a bootstrap list, as a socket address. */
static struct sockaddr_in first_broker(const char *addr)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int port;
	cr_assert_eq(sscanf(addr, "127.0.0.1:%d", &port), 1, "%s", addr);
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

/* Whether the broker at sin hangs up on a new connection (rather than
 * waiting for a request): a broker that is down closes each one it
 * accepts. Waits up to AF_E2E_BROKER_WAIT_S, a deadline, not a timing. */
static bool hangs_up_on_connect(struct sockaddr_in sin)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char byte;
	cr_assert(fd >= 0);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		return true;
	}
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int ready = poll(&pfd, 1, AF_E2E_BROKER_WAIT_S * 1000);
	bool hung_up = ready == 1 && recv(fd, &byte, 1, 0) <= 0;
	close(fd);
	return hung_up;
}

Test(broker_control, answers_help_with_every_command_on_one_line)
{
	start_broker((const char *[]){"--control", "-", NULL});
	const char *help = ctl("help");

	cr_assert_eq(strncmp(help, "ok commands:", 12), 0, "%s", help);
	static const char *const usages[] = {"down BROKER|all",
	                                     "up BROKER|all",
	                                     "errors REQUEST COUNT ERROR",
	                                     "leader TOPIC PARTITION BROKER|none",
	                                     "coordinator group|txn KEY BROKER",
	                                     "rtt BROKER|all MS"};
	for (size_t i = 0; i < sizeof(usages) / sizeof(usages[0]); i++)
		expect_in(help, usages[i]);
	cr_assert_eq(stop_broker(SIGTERM), 0);
}

Test(broker_control, answers_ok_to_each_command_and_says_what_it_did)
{
	static const char *const cmds[][2] = {
	    {"down 2", "ok down 2"},
	    {"up 2", "ok up 2"},
	    {"down all", "ok down all"},
	    {"UP all", "ok up all"},
	    {"errors Fetch 2 REQUEST_TIMED_OUT", "ok errors Fetch 2 REQUEST_TIMED_OUT"},
	    {"errors offsetcommit 1 16", "ok errors OffsetCommit 1 NOT_COORDINATOR"},
	    {"errors Metadata 1 RD_KAFKA_RESP_ERR__TRANSPORT", "ok errors Metadata 1 _TRANSPORT"},
	    {"errors Fetch clear", "ok errors Fetch clear"},
	    {"errors OffsetCommit clear", "ok errors OffsetCommit clear"},
	    {"errors Metadata clear", "ok errors Metadata clear"},
	    {"leader audit 3 1", "ok leader audit 3 1"},
	    {"coordinator group readers 2", "ok coordinator group readers 2"},
	    {"coordinator txn loader 3", "ok coordinator txn loader 3"},
	    {"rtt 1 20", "ok rtt 1 20"},
	    {"rtt all 0", "ok rtt all 0"},
	};
	const char *addr = start_broker((const char *[]){"--brokers", "3", "--control", "-", NULL});

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		ctl_expect(cmds[i][0], cmds[i][1]);
	/* Still serving, every broker up again. */
	char *meta = metadata(addr, "audit");
	expect_in(meta, " 3 brokers:");
	cr_assert_eq(stop_broker(SIGTERM), 0);
	free(meta);
}

Test(broker_control, answers_error_to_a_bad_command_and_keeps_serving)
{
	static const char *const bad[][2] = {
	    {"fly 1", "error unknown command 'fly'"},
	    {"down", "error usage: down BROKER|all"},
	    {"down 1 2", "error usage: down BROKER|all"},
	    {"down 4", "error down: '4' is not a broker (1-3, or all)"},
	    {"up one", "error up: 'one' is not a broker"},
	    {"errors Gossip 1 NOT_COORDINATOR", "error errors: 'Gossip' is not a request type"},
	    {"errors Produce 0 NOT_COORDINATOR", "error errors: '0' is not a count"},
	    {"errors Produce 1 NOT_AN_ERROR", "error errors: 'NOT_AN_ERROR' is not a Kafka error"},
	    {"errors Produce 1 _MSG_TIMED_OUT", "error errors: '_MSG_TIMED_OUT' is not a Kafka"},
	    {"errors Produce 1 0", "error errors: '0' is not a Kafka error"},
	    {"errors Produce forget", "error usage: errors REQUEST COUNT ERROR"},
	    {"leader audit -1 1", "error leader: '-1' is not a partition"},
	    {"leader audit 0 0", "error leader: '0' is not a broker (1-3, or none)"},
	    {"leader audit 99 1", "error leader: "}, /* audit has 16 partitions */
	    {"coordinator shard G 1", "error coordinator: 'shard' is not group or txn"},
	    {"coordinator group G all", "error coordinator: 'all' is not a broker (1-3)"},
	    {"rtt 1 fast", "error rtt: 'fast' is not a delay in ms"},
	    {"help me", "error usage: help"},
	};
	const char *addr = start_broker((const char *[]){"--brokers", "3", "--control", "-", NULL});

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *answer = ctl(bad[i][0]);
		cr_assert_eq(strncmp(answer, bad[i][1], strlen(bad[i][1])), 0,
		             "'%s' is answered '%s', not '%s...'", bad[i][0], answer, bad[i][1]);
	}
	char long_line[2048];
	memset(long_line, 'x', sizeof(long_line) - 1);
	long_line[sizeof(long_line) - 1] = '\0';
	ctl_expect(long_line, "error line longer than 1024 bytes");
	ctl_expect("down 1", "ok down 1"); /* the channel still works */
	ctl_expect("up 1", "ok up 1");
	char *sent = produce_lines(addr, "0", 100, 20);
	char *got = consume(addr, "0");
	cr_assert_str_eq(got, sent, "the broker still serves");
	cr_assert_eq(stop_broker(SIGTERM), 0);
	free(got);
	free(sent);
}

Test(broker_control, a_broker_taken_down_hangs_up_on_clients_and_serves_again_once_up)
{
	const char *addr =
	    start_broker((const char *[]){"--topic", "audit:1", "--control", "-", NULL});
	char *before = produce_lines(addr, "0", 50, 20);

	ctl_expect("down 1", "ok down 1");
	cr_assert(hangs_up_on_connect(first_broker(addr)), "a broker that is down takes no one");
	ctl_expect("up 1", "ok up 1");
	produce_more_and_read_all(addr, "0", before, 70, "down and up again");
	cr_assert_eq(stop_broker(SIGTERM), 0);
}

Test(broker_control, a_producer_retries_through_injected_not_leader_errors)
{
	const char *addr =
	    start_broker((const char *[]){"--topic", "audit:1", "--control", "-", NULL});
	char *text = malloc(64 * 100);
	size_t len = 0;
	for (int i = 0; i < 100; i++)
		len += (size_t)sprintf(text + len, "{\"n\":%d}\n", i);
	cr_assert_eq(af_spit(af_e2e_path("in.jsonl"), text, len), 0);

	ctl_expect("errors Produce 3 NOT_LEADER_FOR_PARTITION",
	           "ok errors Produce 3 NOT_LEADER_FOR_PARTITION");
	struct af_run r;
	kcat_run(&r, af_e2e_path("in.jsonl"),
	         (const char *[]){"-P", "-b", addr, "-t", "audit", "-p", "0", "-d", "msg", NULL});
	cr_assert_eq(r.status, 0, "%s", r.err);
	/* librdkafka's debug log names each failed attempt: one per error. */
	cr_assert_eq(count_in(r.err, "encountered error: Broker: Not leader for partition"), 3,
	             "%s", r.err);
	char *got = consume(addr, "0");
	cr_assert_str_eq(got, text, "every record arrives once, in order, after the retries");
	cr_assert_eq(stop_broker(SIGTERM), 0);
	af_run_free(&r);
	free(got);
	free(text);
}

Test(broker_control, an_injected_error_a_producer_cannot_retry_fails_its_delivery)
{
	const char *addr =
	    start_broker((const char *[]){"--topic", "audit:1", "--control", "-", NULL});
	cr_assert_eq(af_spit(af_e2e_path("in.jsonl"), "{\"n\":1}\n", 8), 0);

	ctl_expect("errors Produce 1 10", "ok errors Produce 1 MSG_SIZE_TOO_LARGE");
	struct af_run r;
	kcat_run(&r, af_e2e_path("in.jsonl"),
	         (const char *[]){"-P", "-b", addr, "-t", "audit", "-p", "0", NULL});
	cr_assert_neq(r.status, 0, "kcat says the delivery failed: %s", r.err);
	expect_in(r.err, "Delivery failed for message: Broker: Message size too large");
	char *got = consume(addr, "0");
	cr_assert_str_eq(got, "", "nothing was stored");
	cr_assert_eq(stop_broker(SIGTERM), 0);
	af_run_free(&r);
	free(got);
}

Test(broker_control, moves_a_partition_leader_and_readers_still_get_everything)
{
	const char *addr = start_broker(
	    (const char *[]){"--brokers", "3", "--topic", "audit:2", "--control", "-", NULL});
	char *before = produce_lines(addr, "1", 60, 20);
	char *meta = metadata(addr, "audit");
	int leader = 0;
	const char *p = strstr(meta, "partition 1, leader ");
	cr_assert(p && sscanf(p, "partition 1, leader %d,", &leader) == 1, "%s", meta);
	int moved = leader % 3 + 1;
	char cmd[32], answer[64], expect[64];
	snprintf(cmd, sizeof(cmd), "leader audit 1 %d", moved);
	snprintf(answer, sizeof(answer), "ok %s", cmd);
	snprintf(expect, sizeof(expect), "partition 1, leader %d,", moved);

	ctl_expect(cmd, answer);
	char *meta_after = metadata(addr, "audit");
	expect_in(meta_after, expect);
	produce_more_and_read_all(addr, "1", before, 40, "the new leader");
	cr_assert_eq(stop_broker(SIGTERM), 0);
	free(meta_after);
	free(meta);
}

Test(broker_control, a_group_coordinator_set_by_command_serves_a_consumer_group)
{
	const char *addr = start_broker(
	    (const char *[]){"--brokers", "3", "--topic", "audit:2", "--control", "-", NULL});
	char *sent = produce_lines(addr, "0", 30, 20);

	/* Left alone, librdkafka 2.0.2's mock hashes this group to broker 3,
	 * so "id 2" below is the command's doing. */
	ctl_expect("coordinator group audit-readers 2", "ok coordinator group audit-readers 2");
	struct af_run r;
	kcat_run(&r, NULL,
	         (const char *[]){"-G", "audit-readers", "-b", addr, "-e", "-o", "beginning", "-q",
	                          "-d", "cgrp", "audit", NULL});
	cr_assert_eq(r.status, 0, "%s", r.err);
	expect_in(r.err, "Group \"audit-readers\" coordinator is ");
	for (const char *p = strstr(r.err, "coordinator is "); p;
	     p = strstr(p + 1, "coordinator is ")) {
		size_t len = strcspn(p, "\n");
		cr_assert(len > 5 && strncmp(p + len - 5, " id 2", 5) == 0,
		          "broker 2 is the only coordinator named: %.*s", (int)len, p);
	}
	cr_assert_str_eq(r.out, sent, "the group reads everything");
	cr_assert_eq(stop_broker(SIGTERM), 0);
	af_run_free(&r);
	free(sent);
}

Test(broker_control, makes_a_fifo_that_takes_one_writer_after_another_and_removes_it)
{
	char fifo[4096]; /* af_e2e_path's buffers are reused */
	struct stat st;
	snprintf(fifo, sizeof(fifo), "%s", af_e2e_path("control"));

	start_broker((const char *[]){"--brokers", "2", "--control", fifo, NULL});
	cr_assert_eq(stat(fifo, &st), 0, "the FIFO is there once the broker is ready");
	cr_assert(S_ISFIFO(st.st_mode));
	/* Each ctl() opens the FIFO, writes one line and closes it. */
	ctl_expect("down 2", "ok down 2");
	ctl_expect("up 2", "ok up 2");
	ctl_expect("rtt 9 1", "error rtt: '9' is not a broker (1-2, or all)");
	cr_assert_eq(stop_broker(SIGTERM), 0);
	cr_assert_eq(access(fifo, F_OK), -1, "the FIFO it made is gone");
}

Test(broker_control, keeps_serving_when_its_stdin_ends)
{
	const char *addr = start_broker((const char *[]){"--control", "-", NULL});

	ctl_expect("rtt 1 0", "ok rtt 1 0");
	af_e2e_broker_ctl_eof(&broker);
	char *sent = produce_lines(addr, "2", 20, 20);
	char *got = consume(addr, "2");
	cr_assert_str_eq(got, sent);
	cr_assert_eq(stop_broker(SIGTERM), 0, "still running until the signal");
	char *err = af_slurp(af_e2e_path("broker.err"), NULL);
	expect_in(err, "end of stdin, no more commands (still serving)");
	free(err);
	free(got);
	free(sent);
}

Test(broker_control, prints_nothing_on_stdout_but_the_address_and_the_answers)
{
	const char *addr = start_broker((const char *[]){"--control", "-", NULL});

	ctl_expect("down 1", "ok down 1");
	ctl_expect("bogus", "error unknown command 'bogus' (help lists the commands)");
	ctl_expect("up 1", "ok up 1");
	cr_assert_eq(stop_broker(SIGTERM), 0);
	char *out = af_slurp(af_e2e_path("broker.out"), NULL);
	char expect[256];
	snprintf(expect, sizeof(expect),
	         "%s\nok down 1\nerror unknown command 'bogus' (help lists the commands)\n"
	         "ok up 1\n",
	         addr);
	cr_assert_str_eq(out, expect);
	free(out);
}

Test(broker_control, refuses_a_control_path_that_is_not_a_fifo_with_status_2)
{
	struct af_run r;
	const char *file = af_e2e_path("plain");
	cr_assert_eq(af_spit(file, "x", 1), 0);

	refused(&r, (const char *[]){"broker", "--control", file, NULL}, "is not a FIFO");
	cr_assert_str_eq(r.out, "", "no address is printed");
	af_run_free(&r);
}
