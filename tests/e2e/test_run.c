/* test_run.c - `auditflow run` end to end: a generated scenario produced
 * with kcat into `auditflow broker` (three topics, several partitions
 * each), consumed by the real binary with geo enrichment; the alerts it
 * prints, and the alerts it sends to a Kafka topic read back with kcat,
 * are the alerts `auditflow replay` raises on the same records. A second
 * run of the same group reads only what the first did not store; bad
 * records reach the dead-letter topic; overrides that would break
 * at-least-once are refused.
 *
 * Thread: the test's; every program is a real process over loopback.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"
#include "scenario.h"

static struct af_e2e_broker broker;

static void run_fini(void)
{
	af_e2e_broker_close(&broker);
	af_e2e_teardown();
}

TestSuite(run, .init = af_e2e_setup, .fini = run_fini, .timeout = 600);

static const char *const topics[] = {"signins", "audit", "messagetrace"};

static void broker_up(void)
{
	char err[512];
	const char *const extra[] = {"--topic", "signins:4",      "--topic", "audit:8",
	                             "--topic", "messagetrace:4", "--topic", "alerts:2",
	                             "--topic", "dlq:1",          NULL};
	cr_assert_eq(af_e2e_broker_open(&broker, extra, err, sizeof(err)), 0, "%s", err);
}

/* kcat -P the file into topic (af_e2e_produce). */
static void produce(const char *path, const char *topic)
{
	char err[4096];
	cr_assert_eq(af_e2e_produce(broker.addr, topic, path, NULL, err, sizeof(err)), 0,
	             "kcat -P %s: %s", topic, err);
}

/* Every message of topic, one per line (af_e2e_consume). Owned. */
static char *consume(const char *topic)
{
	char err[4096];
	char *out = af_e2e_consume(broker.addr, topic, err, sizeof(err));
	cr_assert_not_null(out, "kcat -C %s: %s", topic, err);
	return out;
}

/* auditflow run over the three topics with the scenario's geo.yaml and
 * the extra options (NULL-terminated, at most 16), -e: to the end. */
static void run_to_end(struct af_run *r, const char *group, const char *const *extra)
{
	const char *args[48] = {"run", "-c", af_e2e_path("geo.yaml"), "-b", broker.addr, "-G",
	                        group, "-e"};
	size_t n = 8;
	for (size_t i = 0; i < 3; i++) {
		args[n++] = "-t";
		args[n++] = topics[i];
	}
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	cr_assert_eq(af_run(r, NULL, args), 0, "auditflow could not be started");
}

Test(run, raises_the_alerts_replay_raises_and_sends_them_to_the_alerts_topic)
{
	const char *const gen[] = {"--accounts", "100", NULL};
	af_scn_make("seed-incident", gen);
	struct af_scn s;
	af_scn_replay(&s, NULL, NULL, "replay-alerts.json");
	char *want = af_e2e_alert_ids(s.alert_text);
	cr_assert_gt(s.nalerts, 10, "the scenario raises its alerts");

	broker_up();
	produce(af_e2e_path("signins.jsonl"), "signins");
	produce(af_e2e_path("audit.jsonl"), "audit");
	produce(af_e2e_path("messagetrace.jsonl"), "messagetrace");

	struct af_run r;
	const char *const extra[] = {"--offset", "beginning", "--alerts-topic",
	                             "alerts",   "--summary", af_e2e_path("summary.json"),
	                             NULL};
	run_to_end(&r, "e2e", extra);
	cr_assert_eq(r.status, 0, "auditflow run failed: %s", r.err);
	char *got = af_e2e_alert_ids(r.out);
	cr_assert_str_eq(got, want, "run and replay raise other alerts; run's stderr:\n%s", r.err);
	char *topic = consume("alerts");
	char *sent = af_e2e_alert_ids(topic);
	cr_assert_str_eq(sent, want, "the alerts topic holds other alerts");

	char *sum = af_slurp(af_e2e_path("summary.json"), NULL);
	cr_assert_not_null(sum);
	long long records = 0;
	for (size_t i = 0; i < 3; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%s.jsonl", topics[i]);
		char *text = af_slurp(af_e2e_path(name), NULL);
		records += (long long)af_count_lines(text);
		free(text);
	}
	cr_assert_eq(af_json_int(sum, "events_in"), records, "every record produced was read once");
	free(sum);
	free(topic);
	free(sent);
	free(got);
	free(want);
	af_run_free(&r);
	af_scn_free(&s);
}

Test(run, reads_only_what_it_had_not_stored_when_run_again_in_its_group)
{
	const char *const gen[] = {"--accounts", "30", "--days", "4", NULL};
	af_scn_make("seed-incident", gen);
	broker_up();
	produce(af_e2e_path("signins.jsonl"), "signins");

	struct af_run r;
	const char *const first[] = {"--summary", af_e2e_path("first.json"), NULL};
	run_to_end(&r, "again", first);
	cr_assert_eq(r.status, 0, "first run: %s", r.err);
	af_run_free(&r);

	produce(af_e2e_path("audit.jsonl"), "audit");
	const char *const second[] = {"--summary", af_e2e_path("second.json"), NULL};
	run_to_end(&r, "again", second);
	cr_assert_eq(r.status, 0, "second run: %s", r.err);
	af_run_free(&r);

	char *a = af_slurp(af_e2e_path("first.json"), NULL);
	char *b = af_slurp(af_e2e_path("second.json"), NULL);
	char *si = af_slurp(af_e2e_path("signins.jsonl"), NULL);
	char *au = af_slurp(af_e2e_path("audit.jsonl"), NULL);
	cr_assert_eq(af_json_int(a, "events_in"), (long long)af_count_lines(si));
	cr_assert_eq(af_json_int(b, "events_in"), (long long)af_count_lines(au),
	             "the second run reads the new records only");
	free(a);
	free(b);
	free(si);
	free(au);
}

Test(run, sends_a_bad_record_to_the_dead_letter_topic_and_file)
{
	const char *bad = "{\"not\": \"an audit record\"}\n{broken\n";
	af_spit(af_e2e_path("bad.jsonl"), bad, strlen(bad));
	af_spit(af_e2e_path("geo.yaml"), "geo: {}\n", 8);
	broker_up();
	produce(af_e2e_path("bad.jsonl"), "signins");

	struct af_run r;
	const char *const extra[] = {"--offset",    "beginning", "--dlq", af_e2e_path("dlq.jsonl"),
	                             "--dlq-topic", "dlq",       NULL};
	run_to_end(&r, "bad", extra);
	cr_assert_eq(r.status, 0, "auditflow run failed: %s", r.err);
	char *file = af_slurp(af_e2e_path("dlq.jsonl"), NULL);
	char *topic = consume("dlq");
	cr_assert_not_null(file);
	cr_assert_eq(af_count_lines(file), 2, "dead-letter file:\n%s", file);
	cr_assert_eq(af_count_lines(topic), 2, "dead-letter topic:\n%s", topic);
	cr_assert_not_null(strstr(topic, "unknown_schema"), "%s", topic);
	cr_assert_not_null(strstr(topic, "malformed_json"), "%s", topic);
	cr_assert_not_null(strstr(topic, "kafka:signins["), "the position names the partition");
	free(file);
	free(topic);
	af_run_free(&r);
}

Test(run, refuses_an_override_that_would_lose_records)
{
	struct af_run r;
	const char *const args[] = {
	    "run", "-b", "127.0.0.1:9", "-t", "audit", "-X", "enable.auto.offset.store=true", NULL};
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 2, "status %d, stderr: %s", r.status, r.err);
	cr_assert_not_null(strstr(r.err, "enable.auto.offset.store"), "%s", r.err);
	af_run_free(&r);
}

Test(run, says_what_it_needs_without_brokers_or_topics)
{
	struct af_run r;
	const char *const args[] = {"run", "-t", "audit", NULL};
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "-b"), "%s", r.err);
	af_run_free(&r);
}
