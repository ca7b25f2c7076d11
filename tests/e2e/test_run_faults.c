/* test_run_faults.c - `auditflow run` while the cluster misbehaves: each
 * fault of issue 6 injected through `auditflow broker --control` into a
 * run that is consuming a generated scenario, and the run judged by what
 * it must still guarantee afterwards: it exits 0, raises the alerts replay
 * raises on the same records, reads every record (once, unless the group
 * rebalanced: then at least once) and lets each out as an event; offsets
 * committed under the fault hold (a second run of the group finds nothing
 * left); alerts sent to a topic arrive once each. And restarts: a run
 * stopped (SIGTERM) or killed (SIGKILL) mid-stream and started again in
 * its group, and a second member joining mid-run, lose nothing between
 * them.
 *
 * Thread: the test's; the broker, kcat and every run are real processes
 * over loopback.
 *
 * DESIGN: "mid-run". Unhindered, a run reads the scenario in about a
 * second, so the broker delays every answer (rtt) and the scenario is
 * produced in batches of 100 messages: the mock answers a fetch with one
 * batch per partition, so a run takes some fifty fetches, several
 * seconds. A fault is sent once the run's events file (--events-out) shows
 * it has let events out, never after a sleep of a given length; a run
 * that happens to finish before its fault arrives still has to pass the
 * same checks, and nothing asserts timing.
 * DESIGN: "nothing lost" is judged from the events files as well as the
 * counts: each record comes out as one event line, and a line up to its
 * position fields ("log.*", which name the partition and offset) is
 * unique to its record in this scenario, so the distinct lines over a
 * test's runs must number the records produced.
 * DESIGN: runs pass session.timeout.ms=6000 unless a test says
 * otherwise. librdkafka 2.0.2's mock keeps a group whose last member left
 * rebalancing for the session timeout less a second (44 s by default)
 * before a new member may join; this keeps a second run of a group to a
 * few seconds.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "run.h"
#include "scenario.h"

/* Deadline for a run to exit: against a hang, far above the ~15 s a
 * slowed run takes. */
#define RUN_WAIT_S 150
/* Events let out before a fault is sent: about 2,800 of 45,000. */
#define STARTED_BYTES (2L << 20)
/* The broker's delay on every answer while a run is to be caught
 * mid-run. */
#define SLOW "rtt all 50"
/* Room for replay's alert ids (17 bytes each), a run's alert lines and
 * the end of its stderr. Fixed buffers, so that an assertion that ends a
 * test leaves nothing allocated behind. */
#define IDS_MAX    4096
#define ALERTS_MAX (64 * 1024)
#define ERR_MAX    (16 * 1024)

/* What the suite's .fini must stop when an assertion ends a test. */
static struct af_e2e_broker broker;
static struct af_e2e_proc runs[2];

static void faults_fini(void)
{
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		af_e2e_proc_kill(&runs[i]);
	af_e2e_broker_close(&broker);
	af_e2e_teardown();
}

TestSuite(run_faults, .init = af_e2e_setup, .fini = faults_fini, .timeout = 300);

static const char *const topics[] = {"signins", "audit", "messagetrace"};

/* A test's scenario: the alerts replay raises on it, and its size. */
struct scenario {
	char want[IDS_MAX]; /* replay's alert ids (af_e2e_alert_ids) */
	long long records;  /* records produced */
};

/* The seed incident (60 accounts, 6 days: about 45,000 records), replayed
 * for the alerts to expect, and a broker with a control channel on stdin
 * and the extra options (NULL-terminated, or NULL) into which the
 * scenario is produced. */
static void scenario_up(struct scenario *sc, const char *const *broker_extra)
{
	const char *const gen[] = {"--accounts", "60", "--days", "6", NULL};
	const char *extra[24] = {"--control", "-",       "--topic",        "signins:4", "--topic",
	                         "audit:8",   "--topic", "messagetrace:4", "--topic",   "alerts:2"};
	const char *const batches[] = {"-X", "batch.num.messages=100", NULL};
	size_t n = 10;
	struct af_scn s;

	af_scn_make("seed-incident", gen);
	af_scn_replay(&s, NULL, NULL, "replay-alerts.json");
	size_t nalerts = s.nalerts;
	char *ids = af_e2e_alert_ids(s.alert_text);
	af_scn_free(&s);
	cr_assert(ids != NULL && strlen(ids) < sizeof(sc->want), "replay's alert ids");
	strcpy(sc->want, ids);
	free(ids);
	cr_assert_gt(nalerts, 3, "the scenario raises its alerts");

	for (size_t i = 0; broker_extra != NULL && broker_extra[i] != NULL; i++) {
		cr_assert_lt(n, 23);
		extra[n++] = broker_extra[i];
	}
	extra[n] = NULL;
	sc->records = af_scn_to_broker(&broker, extra, batches);
}

/* Send a command (printf-style) to the broker's control channel; it must
 * answer "ok". */
__attribute__((format(printf, 1, 2))) static void ctl(const char *fmt, ...)
{
	char command[256], answer[1024], err[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(command, sizeof(command), fmt, ap);
	va_end(ap);
	cr_assert_eq(af_e2e_broker_ctl(&broker, command, answer, sizeof(answer), err, sizeof(err)),
	             0, "%s: %s", command, err);
	cr_assert(strncmp(answer, "ok", 2) == 0, "%s: the broker answered '%s'", command, answer);
}

/* The scratch file NAME.EXT, in buf. */
static const char *file_of(char *buf, size_t size, const char *name, const char *ext)
{
	snprintf(buf, size, "%s/%s.%s", af_e2e_dir, name, ext);
	return buf;
}

/* Start `auditflow run` on the scenario's topics in group as runs[slot]
 * (-e when to_end), with the extra options (NULL-terminated, or NULL; at
 * most 16). Its files are named after it in the scratch folder: NAME.out
 * (alerts), NAME.err, NAME.events, NAME.json (the summary). */
static void run_start(size_t slot, const char *name, const char *group, bool to_end,
                      const char *const *extra)
{
	char out[4096], err[4096], events[4096], summary[4096], why[512];
	const char *argv[64] = {AF_BIN,         "run",
	                        "-c",           af_e2e_path("geo.yaml"),
	                        "-b",           broker.addr,
	                        "-G",           group,
	                        "-X",           "session.timeout.ms=6000",
	                        "-X",           "heartbeat.interval.ms=1000",
	                        "--events-out", file_of(events, sizeof(events), name, "events"),
	                        "--summary",    file_of(summary, sizeof(summary), name, "json")};
	size_t n = 16;

	for (size_t i = 0; i < 3; i++) {
		argv[n++] = "-t";
		argv[n++] = topics[i];
	}
	if (to_end)
		argv[n++] = "-e";
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
		cr_assert_lt(n, 63);
		argv[n++] = extra[i];
	}
	argv[n] = NULL;
	cr_assert_eq(af_e2e_spawn(&runs[slot], argv, file_of(out, sizeof(out), name, "out"),
	                          file_of(err, sizeof(err), name, "err"), why, sizeof(why)),
	             0, "%s", why);
}

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Wait until runs[slot]'s events file holds at least bytes, or the run
 * has exited (then there is nothing to wait for). */
static void wait_events(size_t slot, const char *name, long bytes)
{
	char path[4096];
	struct stat st;

	file_of(path, sizeof(path), name, "events");
	for (long waited = 0; af_e2e_running(&runs[slot]); waited += 10) {
		if (stat(path, &st) == 0 && st.st_size >= bytes)
			return;
		cr_assert_lt(waited, RUN_WAIT_S * 1000L,
		             "%s let out under %ld bytes of events in %d s", name, bytes,
		             RUN_WAIT_S);
		nap_ms(10);
	}
}

/* A finished run: its exit status, its output and its counts. */
struct outcome {
	int status;
	char alerts[ALERTS_MAX]; /* stdout: the alert lines */
	char err[ERR_MAX];       /* the end of stderr */
	long long events_in;     /* from the summary; -1 without one (killed) */
	long long rebalances;    /* the Kafka source's, from its closing line */
};

/* The count before word ("N rebalances,") in the run's closing kafka
 * line, or -1. */
static long long kafka_count(const char *err, const char *word)
{
	const char *line = err ? strstr(err, "  kafka: ") : NULL;
	const char *p = line ? strstr(line, word) : NULL;
	if (p == NULL)
		return -1;
	while (p > line && p[-1] >= '0' && p[-1] <= '9')
		p--;
	return strtoll(p, NULL, 10);
}

/* Wait for runs[slot] to exit and read what it left. */
static void run_finish(size_t slot, const char *name, struct outcome *o)
{
	char path[4096], why[512];

	cr_assert_eq(af_e2e_reap(&runs[slot], RUN_WAIT_S, why, sizeof(why)), 0, "%s: %s", name,
	             why);
	o->status = runs[slot].status;
	size_t len = 0;
	char *out = af_slurp(file_of(path, sizeof(path), name, "out"), &len);
	bool fits = out != NULL && len < sizeof(o->alerts);
	snprintf(o->alerts, sizeof(o->alerts), "%s", out ? out : "");
	free(out);
	cr_assert(fits, "%s left no alerts file, or one over %d bytes", name, ALERTS_MAX);
	char *err = af_slurp(file_of(path, sizeof(path), name, "err"), &len);
	snprintf(o->err, sizeof(o->err), "%s",
	         err && len >= ERR_MAX ? err + len - ERR_MAX + 1
	         : err                 ? err
	                               : "");
	free(err);
	char *summary = af_slurp(file_of(path, sizeof(path), name, "json"), NULL);
	o->events_in = summary ? af_json_int(summary, "events_in") : -1;
	free(summary);
	o->rebalances = kafka_count(o->err, " rebalances");
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Distinct records among the events files of the runs named (NULL-
 * terminated): event lines cut before their position fields. */
static long long distinct_events(const char *const *names)
{
	char *texts[4] = {NULL};
	size_t ntexts = 0, nlines = 0, k = 0;
	char path[4096];

	bool all = true;
	for (; names[ntexts] != NULL && ntexts < 4; ntexts++) {
		texts[ntexts] =
		    af_slurp(file_of(path, sizeof(path), names[ntexts], "events"), NULL);
		all = all && texts[ntexts] != NULL;
		nlines += af_count_lines(texts[ntexts]);
	}
	char **lines = all ? calloc(nlines ? nlines : 1, sizeof(*lines)) : NULL;
	if (lines == NULL) {
		for (size_t t = 0; t < ntexts; t++)
			free(texts[t]);
		cr_assert_fail("a run of %s wrote no events file", names[0]);
	}
	for (size_t t = 0; t < ntexts; t++) {
		/* Only whole lines: a killed run may have stopped mid-line. */
		for (char *p = texts[t], *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
			*nl = '\0';
			char *pos = strstr(p, ",\"log.");
			if (pos != NULL)
				*pos = '\0';
			lines[k++] = p;
		}
	}
	qsort(lines, k, sizeof(*lines), cmp_line);
	long long distinct = 0;
	for (size_t i = 0; i < k; i++)
		distinct += i == 0 || strcmp(lines[i], lines[i - 1]) != 0;
	free(lines);
	for (size_t t = 0; t < ntexts; t++)
		free(texts[t]);
	return distinct;
}

/* What every run through a fault must show: status 0, replay's alerts,
 * every record read (exactly once unless the group rebalanced, which
 * lets a record come again) and let out as an event. */
static void assert_like_replay(const struct outcome *o, const char *name, const char *want,
                               long long records)
{
	char got[IDS_MAX];

	cr_assert_eq(o->status, 0, "%s: status %d; stderr:\n%s", name, o->status, o->err);
	char *ids = af_e2e_alert_ids(o->alerts);
	snprintf(got, sizeof(got), "%s", ids ? ids : "(none)");
	free(ids);
	cr_assert_str_eq(got, want,
	                 "%s raised other alerts than replay; got:\n%swant:\n%sstderr:\n%s", name,
	                 got, want, o->err);
	if (o->rebalances == 1)
		cr_assert_eq(o->events_in, records,
		             "%s read %lld records of %lld, and the group did not rebalance", name,
		             o->events_in, records);
	else
		cr_assert_geq(o->events_in, records,
		              "%s read %lld records of %lld (%lld rebalances)", name, o->events_in,
		              records, o->rebalances);
	const char *const names[] = {name, NULL};
	cr_assert_eq(distinct_events(names), records, "%s let out other events than its records",
	             name);
}

/* A second run of group to the end finds every offset committed. On a
 * failure, the first run's ("run") stderr tells how its commits went. */
static void assert_all_committed(const char *group)
{
	struct outcome o;
	char path[4096];

	run_start(0, "again", group, true, NULL);
	run_finish(0, "again", &o);
	cr_assert_eq(o.status, 0, "the second run: %s", o.err);
	if (o.events_in == 0)
		return;
	size_t len = 0;
	char *first = af_slurp(file_of(path, sizeof(path), "run", "err"), &len);
	cr_log_error("the first run's stderr:\n%s", first == NULL    ? "(none)"
	                                            : len >= ERR_MAX ? first + len - ERR_MAX + 1
	                                                             : first);
	free(first);
	cr_assert_eq(o.events_in, 0,
	             "the second run of the group read %lld records again; its stderr:\n%s",
	             o.events_in, o.err);
}

/* Slow the broker and start a run of group to the end as runs[0], named
 * "run"; return once it has let events out (or has finished). */
static void slow_start(const char *group, const char *const *extra)
{
	ctl(SLOW);
	run_start(0, "run", group, true, extra);
	wait_events(0, "run", STARTED_BYTES);
	if (!af_e2e_running(&runs[0]))
		cr_log_warn("the run ended before its fault was sent: it is judged all the same, "
		            "but says nothing of the fault");
}

/* The faults are in place: let the rest of the run go at full speed. */
static void unslow(void)
{
	ctl("rtt all 0");
}

/* Wait for runs[0] ("run") to end and judge it (assert_like_replay).
 * Returns the client errors it counted. */
static long long finish_like_replay(const struct scenario *sc)
{
	struct outcome o;

	run_finish(0, "run", &o);
	assert_like_replay(&o, "run", sc->want, sc->records);
	return kafka_count(o.err, " client errors");
}

Test(run_faults, gets_over_fetch_errors_and_raises_what_replay_raises)
{
	struct scenario sc;
	scenario_up(&sc, NULL);

	slow_start("fetch", NULL);
	/* Each costs the partitions a metadata refresh, about a second. */
	ctl("errors Fetch 10 NOT_LEADER_FOR_PARTITION");
	unslow();
	finish_like_replay(&sc);
}

Test(run_faults, gets_over_fetch_connections_dropped_mid_run)
{
	struct scenario sc;
	scenario_up(&sc, NULL);

	slow_start("transport", NULL);
	/* A few: librdkafka doubles its wait before each reconnect (up to
	 * reconnect.backoff.max.ms, 10 s), so twenty cost minutes. */
	ctl("errors Fetch 3 _TRANSPORT");
	unslow();
	cr_assert_gt(finish_like_replay(&sc), 0, "the dropped connections were seen");
}

/* A run of group with -X setting through OffsetCommit errors (errors:
 * "COUNT ERROR" each, NULL-terminated), sent once the run is under way
 * (mid_run: slowed until they are in place) or before it starts; it is
 * judged like replay, and a second run of the group finds every offset
 * committed. */
static void run_through_commit_errors(const char *group, const char *setting, bool mid_run,
                                      const char *const *errors)
{
	struct scenario sc;
	const char *const extra[] = {"-X", setting, NULL};

	scenario_up(&sc, NULL);
	if (mid_run)
		slow_start(group, extra);
	for (size_t i = 0; errors[i] != NULL; i++)
		ctl("errors OffsetCommit %s", errors[i]);
	if (mid_run)
		unslow();
	else
		run_start(0, "run", group, true, extra);
	finish_like_replay(&sc);
	assert_all_committed(group);
}

Test(run_faults, gets_over_failed_offset_commits_and_its_commits_hold)
{
	const char *const errors[] = {"5 COORDINATOR_NOT_AVAILABLE", "5 REQUEST_TIMED_OUT", NULL};

	/* Commits every 200 ms, so that the failures hit the run's own. */
	run_through_commit_errors("commit", "auto.commit.interval.ms=200", true, errors);
}

Test(run_faults, tries_its_last_commit_again_when_the_coordinator_fails_at_exit)
{
	const char *const errors[] = {"3 REQUEST_TIMED_OUT", "3 NOT_COORDINATOR", NULL};

	/* No auto-commit: every failure falls on the commit at exit. */
	run_through_commit_errors("last", "enable.auto.commit=false", false, errors);
}

/* A commit refused for a member the group no longer knows makes
 * librdkafka drop the whole assignment as lost: the run must join again,
 * take its partitions back and commit where it stopped, not find nothing
 * assigned and call that done. */
Test(run_faults, commits_at_exit_after_its_last_commit_costs_it_its_partitions)
{
	const char *const errors[] = {"1 UNKNOWN_MEMBER_ID", NULL};

	run_through_commit_errors("lost", "enable.auto.commit=false", false, errors);
}

Test(run_faults, gets_over_the_broker_going_down_and_coming_back)
{
	struct scenario sc;
	scenario_up(&sc, NULL);
	/* librdkafka's default session, so that the outage and the reconnect
	 * backoff after it cannot cost the consumer its partitions (the next
	 * test does that on purpose). */
	const char *const extra[] = {"-X", "session.timeout.ms=45000", NULL};

	slow_start("down", extra);
	ctl("down all");
	nap_ms(2000); /* how long the fault lasts, not a wait for a result */
	ctl("up all");
	unslow();
	finish_like_replay(&sc);
}

Test(run_faults, raises_what_replay_raises_after_an_outage_costs_it_its_partitions)
{
	struct scenario sc;
	scenario_up(&sc, NULL);

	/* Down longer than the session (6 s): the consumer gives its
	 * partitions up, the group takes them back, and it gets them again
	 * once the broker is up, from the offsets committed: the messages
	 * since come twice. The run hands none of their records on twice
	 * (event time has moved days past them, beyond the duplicate
	 * filter's reach), and the partitions' records to come are awaited,
	 * not overtaken, while none is assigned. */
	struct outcome o;
	slow_start("outage", NULL);
	wait_events(0, "run", 4 * STARTED_BYTES);
	ctl("down all");
	nap_ms(8000); /* how long the fault lasts, not a wait for a result */
	ctl("up all");
	unslow();
	run_finish(0, "run", &o);
	assert_like_replay(&o, "run", sc.want, sc.records);
	cr_assert_gt(o.rebalances, 1, "the outage cost the run its partitions:\n%s", o.err);
	cr_assert_gt(kafka_count(o.err, " read again"), 0, "messages came again:\n%s", o.err);
	cr_assert_eq(o.events_in, sc.records, "records handed on twice:\n%s", o.err);
}

Test(run_faults, follows_its_group_coordinator_to_another_broker)
{
	const char *const three[] = {"--brokers", "3", NULL};
	struct scenario sc;
	scenario_up(&sc, three);

	/* Two moves, so that at least one leaves the broker it was on. */
	slow_start("moving", NULL);
	ctl("coordinator group moving 2");
	wait_events(0, "run", 4 * STARTED_BYTES);
	ctl("coordinator group moving 3");
	unslow();
	finish_like_replay(&sc);
	assert_all_committed("moving");
}

/* The broker that leads partition of topic now, by kcat -L. */
static int leader_of(const char *topic, int partition)
{
	const char *const argv[] = {"kcat", "-L", "-b", broker.addr, "-t", topic, NULL};
	char pat[64];
	struct af_run r;

	cr_assert_eq(af_run_argv(&r, NULL, argv), 0, "kcat could not be started");
	snprintf(pat, sizeof(pat), "partition %d, leader ", partition);
	const char *p = r.status == 0 && r.out ? strstr(r.out, pat) : NULL;
	int leader = p ? atoi(p + strlen(pat)) : -1;
	af_run_free(&r);
	cr_assert_gt(leader, 0, "kcat -L shows no leader for %s[%d]", topic, partition);
	return leader;
}

Test(run_faults, follows_partition_leaders_to_other_brokers)
{
	const char *const three[] = {"--brokers", "3", NULL};
	struct scenario sc;
	scenario_up(&sc, three);

	slow_start("leaders", NULL);
	for (size_t i = 0; i < 3; i++) {
		int to = leader_of(topics[i], 0) % 3 + 1;
		ctl("leader %s 0 %d", topics[i], to);
		cr_assert_eq(leader_of(topics[i], 0), to, "%s[0] moved", topics[i]);
	}
	unslow();
	finish_like_replay(&sc);
}

Test(run_faults, sends_every_alert_to_its_topic_once_through_produce_errors)
{
	struct scenario sc;
	char err[512], sent[IDS_MAX];

	scenario_up(&sc, NULL);
	/* One request in flight: librdkafka 2.0.2's mock does not check an
	 * idempotent producer's sequence numbers, so with more, a batch sent
	 * after one that failed is taken, and the failed one counts as
	 * delivered by it: an alert never stored. A real broker refuses the
	 * later batch (out of order) until the failed one is sent again. */
	const char *const extra[] = {"--alerts-topic", "alerts", "-X",
	                             "max.in.flight.requests.per.connection=1", NULL};

	ctl("errors Produce 10 NOT_LEADER_FOR_PARTITION");
	run_start(0, "run", "produce", true, extra);
	finish_like_replay(&sc);
	char *topic = af_e2e_consume(broker.addr, "alerts", err, sizeof(err));
	cr_assert_not_null(topic, "%s", err);
	char *ids = af_e2e_alert_ids(topic);
	snprintf(sent, sizeof(sent), "%s", ids ? ids : "(none)");
	free(ids);
	free(topic);
	cr_assert_str_eq(sent, sc.want,
	                 "the alerts topic holds other alerts, or some twice; got:\n%swant:\n%s",
	                 sent, sc.want);
}

/* A run of group stopped by sig once it has let events out, then a second
 * to the end: the outcomes of both. */
static void stop_and_resume(const char *group, int sig, struct outcome *first,
                            struct outcome *second)
{
	ctl(SLOW);
	run_start(0, "first", group, false, NULL);
	wait_events(0, "first", STARTED_BYTES);
	cr_assert(af_e2e_running(&runs[0]), "without -e the first run goes on until stopped");
	cr_assert_eq(kill(runs[0].pid, sig), 0);
	run_finish(0, "first", first);
	unslow();
	run_start(0, "second", group, true, NULL);
	run_finish(0, "second", second);
	cr_assert_eq(second->status, 0, "the second run: %s", second->err);
}

Test(run_faults, a_stopped_run_resumes_where_it_stopped_and_loses_nothing)
{
	struct scenario sc;
	scenario_up(&sc, NULL);
	struct outcome a, b;

	stop_and_resume("stopped", SIGTERM, &a, &b);
	cr_assert_eq(a.status, 0, "SIGTERM finishes the run: %s", a.err);
	cr_assert_gt(a.events_in, 0);
	if (a.rebalances == 1 && b.rebalances == 1)
		cr_assert_eq(a.events_in + b.events_in, sc.records,
		             "the first run read %lld, the second %lld, of %lld records: the stop "
		             "commits what was read, no more and no less",
		             a.events_in, b.events_in, sc.records);
	else
		cr_assert_geq(a.events_in + b.events_in, sc.records);
	cr_assert_lt(b.events_in, sc.records, "the second run did not start over");
	const char *const names[] = {"first", "second", NULL};
	cr_assert_eq(distinct_events(names), sc.records, "a record was lost between the runs");
}

Test(run_faults, a_killed_run_loses_nothing_when_run_again)
{
	struct scenario sc;
	scenario_up(&sc, NULL);
	struct outcome a, b;

	stop_and_resume("killed", SIGKILL, &a, &b);
	cr_assert_eq(a.status, 128 + SIGKILL);
	cr_assert_leq(b.events_in, sc.records, "the second run reads each record at most once");
	const char *const names[] = {"first", "second", NULL};
	cr_assert_eq(distinct_events(names), sc.records,
	             "a record whose offset the killed run committed is not in its events file");
}

Test(run_faults, a_second_member_joining_mid_run_loses_nothing_and_both_exit_0)
{
	struct scenario sc;
	scenario_up(&sc, NULL);
	struct outcome a, b;

	/* A short session: the mock's rebalance waits (the session less a
	 * second each) are most of this test's time. Losing it costs
	 * re-reads, which this test allows. */
	const char *const extra[] = {"-X", "session.timeout.ms=3000", NULL};

	ctl(SLOW);
	run_start(0, "one", "shared", true, extra);
	wait_events(0, "one", STARTED_BYTES);
	run_start(1, "two", "shared", true, extra);
	/* Once the second has partitions, the rest may go at full speed. */
	wait_events(1, "two", 1);
	unslow();
	run_finish(0, "one", &a);
	run_finish(1, "two", &b);
	cr_assert_eq(a.status, 0, "the first member: %s", a.err);
	cr_assert_eq(b.status, 0, "the second member: %s", b.err);
	cr_assert_geq(a.events_in + b.events_in, sc.records,
	              "the members read %lld and %lld of %lld records", a.events_in, b.events_in,
	              sc.records);
	cr_log_info("the members read %lld and %lld of %lld records", a.events_in, b.events_in,
	            sc.records);
	const char *const names[] = {"one", "two", NULL};
	cr_assert_eq(distinct_events(names), sc.records, "a record was lost between the members");
}

/* Not a fault, but found judging the runs above by their events: each
 * event's position (log.file.path, "kafka:TOPIC[PARTITION]") must name
 * the partition its record came from; the topic, at least, follows from
 * the record's kind. */
Test(run_faults, names_the_partition_of_each_event_in_its_position)
{
	static const struct {
		const char *provider, *path;
	} from[] = {
	    {"\"event.provider\":\"entra_graph\"", "\"log.file.path\":\"kafka:signins["},
	    {"\"event.provider\":\"m365\"", "\"log.file.path\":\"kafka:audit["},
	    {"\"event.provider\":\"message_trace\"", "\"log.file.path\":\"kafka:messagetrace["},
	};
	struct scenario sc;
	char path[4096], example[1024] = "";
	long long wrong = 0;

	scenario_up(&sc, NULL);
	run_start(0, "run", "positions", true, NULL);
	finish_like_replay(&sc);
	char *text = af_slurp(file_of(path, sizeof(path), "run", "events"), NULL);
	cr_assert_not_null(text);
	for (char *p = text, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
			if (strstr(p, from[i].provider) == NULL || strstr(p, from[i].path) != NULL)
				continue;
			if (wrong++ == 0)
				snprintf(example, sizeof(example), "%s", p);
		}
	}
	free(text);
	cr_assert_eq(wrong, 0, "%lld of %lld events name another topic's partition, e.g.:\n%s",
	             wrong, sc.records, example);
}
