/* test_run_checkpoint.c - checkpoints of `auditflow run --state-dir` end to
 * end: a run killed with SIGKILL again and again, and started again each
 * time on the same state folder and output files, ends with the alerts,
 * dead letters and counts of a run that was never interrupted; so does a
 * run stopped by SIGINT and started again in its group; a damaged
 * checkpoint is refused with exit status 2, and --fresh starts over.
 *
 * Thread: the test's. The broker, kcat and every run are real processes
 * over loopback: runs that go to their end (-e) through af_run_argv, runs
 * to interrupt started with af_e2e_spawn and stopped with kill(2).
 *
 * DESIGN: the truth. Each test first consumes its scenario with the same
 * command without --state-dir, in a group of its own; that run's alert
 * ids, dead letters and summary are what the interrupted runs must end
 * with. The rules' thresholds are lowered (RULES) so that alerts are
 * raised all through the stream, not only around the attack, and the
 * message trace gets malformed and repeated records (plant), so that the
 * invalid and duplicate counts, and the duplicate filter's state, are
 * among what a resumed run must carry over.
 * DESIGN: a fresh consumer group for every restart after a SIGKILL. A
 * killed member stays in its group until its session times out (45 s by
 * default), and a new member of that group would wait for it; the
 * checkpoint, not the group's committed offsets, is where a restart
 * resumes, so a new group loses nothing. Joining a new group takes some
 * 3 s on the embedded broker, most of each run's time in a release build,
 * which is why the kills are few (ENOUGH_KILLS).
 * DESIGN: no timing assertions. Most kills wait for the run to write a
 * checkpoint of its own (a new manifest), then a random time more (fixed
 * seed): each such run moves the stream on, so the loop ends, and the
 * kill falls anywhere between two checkpoints, in the middle of writing
 * alerts or a checkpoint. One, the first to find a checkpoint, is killed
 * while it joins its group, before it has read anything. A series with
 * fewer than MIN_KILLS kills after a checkpoint is run again with shorter
 * delays.
 * DESIGN: sets. After a SIGKILL the alerts raised since the last
 * checkpoint come again with the same ids, so the outputs of interrupted
 * runs are compared with the truth as sets; a run from the beginning
 * (--fresh) truncates its outputs, so its alerts are compared as a sorted
 * list, repeats included. The alert lines are compared whole as well as by
 * id: an id names an incident, not an alert (sender_name_spoof raises the
 * same id again for the same account and name once its suppression is
 * over), and a line holds what the restored state made of it (counts,
 * baselines), which an uninterrupted run writes the same every time.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"
#include "scenario.h"

/* The kill test's scenario: about 345,000 records, which a release build
 * at -j 2 reads in a second or two once it has joined its group. The other
 * tests need only be caught mid-stream once: half that. Under a sanitizer,
 * where a run is several times slower, half again. */
#if AF_E2E_SANITIZED
#define CHAOS_ACCOUNTS "150"
#define ACCOUNTS       "80"
#else
#define CHAOS_ACCOUNTS "300"
#define ACCOUNTS       "150"
#endif
#define DAYS       "14"
#define INTERVAL   "150ms"
#define INTERVAL_S 0.15
/* Kills that must land on a run after a checkpoint of its own. */
#define MIN_KILLS 3
/* Kills after which the next run is left to finish: each restart costs a
 * group join, and more kills prove little more. */
#define ENOUGH_KILLS 4
/* Series of kills, each with delays half as long as the last's. */
#define ROUNDS 3
/* Runs in one series before it counts as making no progress. */
#define MAX_RUNS 30
/* Deadline for a run to exit: against a hang, not a timing check. */
#define RUN_WAIT_S 240
/* In the message trace: every DUP_EVERY-th record sent twice, and a bad
 * record after every BAD_EVERY-th. */
#define DUP_EVERY 577
#define BAD_EVERY 1009
#define SEED      0xa1f0c4ec4b01d5eeULL

/* Thresholds far below the defaults, so that alerts fire all through the
 * fortnight (well over a thousand at 300 accounts). */
static const char RULES[] = "rules:\n"
                            "  suppression: 1h\n"
                            "  learning_days: 0\n"
                            "  learning_signins: 0\n"
                            "  signin_fail_burst: {threshold: 2, window: 1h}\n"
                            "  mail_send_burst: {floor: 4, k: 0, min_hours: 1}\n"
                            "  mass_recipients: {threshold: 8}\n";

static const char *const topics[] = {"signins", "audit", "messagetrace"};

/* Names kept apart from af_e2e_path's rotating buffers. */
#define SHORT_PATH 1024
static struct {
	char conf[SHORT_PATH], state[SHORT_PATH], manifest[SHORT_PATH + 16];
	long long records; /* produced into the three topics */
} F;

/* What the suite's .fini must stop when an assertion ends a test early. */
static struct af_e2e_broker broker;
static struct af_e2e_proc proc;

static void suite_init(void)
{
	af_e2e_setup();
	memset(&broker, 0, sizeof(broker));
	memset(&proc, 0, sizeof(proc));
	memset(&F, 0, sizeof(F));
	snprintf(F.state, sizeof(F.state), "%s/state", af_e2e_dir);
	snprintf(F.manifest, sizeof(F.manifest), "%s/checkpoint", F.state);
}

/* The state folder first: af_e2e_teardown removes one level only. */
static void suite_fini(void)
{
	af_e2e_proc_kill(&proc);
	af_e2e_broker_close(&broker);
	af_rmdir(F.state);
	rmdir(F.state);
	af_e2e_teardown();
}

TestSuite(run_checkpoint, .init = suite_init, .fini = suite_fini, .timeout = 280);

/* xorshift64*: the kill delays, the same on every run of the test. */
static double uniform(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (double)((*s * 0x2545f4914f6cdd1dULL) >> 11) / (double)(1ULL << 53);
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* ---- the scenario ---- */

/* Rewrite the message trace with repeated and bad records in it: a cut
 * object and a bare array in turn, two reasons for the dead letters. */
static void plant(const char *path)
{
	size_t len = 0, n = 0;
	char *text = af_slurp(path, &len);
	cr_assert_not_null(text, "%s", path);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	for (char *l = text, *nl; (nl = strchr(l, '\n')) != NULL; l = nl + 1) {
		size_t ll = (size_t)(nl - l) + 1;
		n++;
		fwrite(l, 1, ll, f);
		if (n % DUP_EVERY == 0)
			fwrite(l, 1, ll, f);
		if (n % BAD_EVERY == 0 && (n / BAD_EVERY) % 2 == 1)
			fprintf(f, "{\"bad\":%zu,\"trace\":\n", n);
		else if (n % BAD_EVERY == 0)
			fprintf(f, "[%zu]\n", n);
	}
	cr_assert_eq(fclose(f), 0, "%s", path);
	free(text);
}

/* Generate the scenario, plant bad and repeated records, write the
 * configuration (gen's geo.yaml, then RULES) and produce the three files
 * into a new broker's topics. */
static void scenario_up(const char *accounts)
{
	const char *const gen[] = {"--accounts", accounts, "--days", DAYS, NULL};
	const char *const topic_args[] = {"--topic", "signins:4",      "--topic", "audit:8",
	                                  "--topic", "messagetrace:4", NULL};
	/* Each record to a partition of its own choosing: kcat's producer
	 * otherwise sticks to one partition for a while (librdkafka's
	 * sticky partitioning), and one that gets a large share of a topic
	 * can pass the embedded broker's ~5 MiB a partition, which drops
	 * the oldest messages silently (seen: 2,574 of messagetrace[3]). */
	const char *const spread[] = {"-X", "sticky.partitioning.linger.ms=0", NULL};

	af_scn_make("seed-incident", gen);
	plant(af_e2e_path("messagetrace.jsonl"));
	size_t len = 0;
	char *geo = af_slurp(af_e2e_path("geo.yaml"), &len);
	cr_assert_not_null(geo);
	char *conf = malloc(len + sizeof(RULES) + 1);
	cr_assert_not_null(conf);
	int n = sprintf(conf, "%s\n%s", geo, RULES);
	snprintf(F.conf, sizeof(F.conf), "%s", af_e2e_path("run.yaml"));
	cr_assert_eq(af_spit(F.conf, conf, (size_t)n), 0);
	free(conf);
	free(geo);
	F.records = af_scn_to_broker(&broker, topic_args, spread);
}

/* ---- the command ---- */

enum { WITH_STATE = 1, FRESH = 2, SHORT_SESSION = 4 };

/* One `auditflow run` to the end of the three topics; its outputs are
 * NAME.alerts, NAME.dlq and NAME.summary in the scratch folder. argv
 * points into the struct (group among others): do not copy it. */
struct cmd {
	const char *argv[40];
	char group[64];
	char alerts[SHORT_PATH], dlq[SHORT_PATH], summary[SHORT_PATH];
};

static void cmd_init(struct cmd *c, const char *name, const char *group, int flags)
{
	size_t n = 0;

	snprintf(c->group, sizeof(c->group), "%s", group);
	snprintf(c->alerts, sizeof(c->alerts), "%s/%s.alerts", af_e2e_dir, name);
	snprintf(c->dlq, sizeof(c->dlq), "%s/%s.dlq", af_e2e_dir, name);
	snprintf(c->summary, sizeof(c->summary), "%s/%s.summary", af_e2e_dir, name);
	c->argv[n++] = AF_BIN;
	c->argv[n++] = "run";
	c->argv[n++] = "-c";
	c->argv[n++] = F.conf;
	c->argv[n++] = "-b";
	c->argv[n++] = broker.addr;
	c->argv[n++] = "-G";
	c->argv[n++] = c->group;
	c->argv[n++] = "--offset";
	c->argv[n++] = "beginning";
	c->argv[n++] = "-e";
	c->argv[n++] = "-j";
	c->argv[n++] = "2";
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
		c->argv[n++] = "-t";
		c->argv[n++] = topics[i];
	}
	c->argv[n++] = "-o";
	c->argv[n++] = c->alerts;
	c->argv[n++] = "--dlq";
	c->argv[n++] = c->dlq;
	c->argv[n++] = "--summary";
	c->argv[n++] = c->summary;
	if (flags & WITH_STATE) {
		c->argv[n++] = "--state-dir";
		c->argv[n++] = F.state;
		c->argv[n++] = "--checkpoint-interval";
		c->argv[n++] = INTERVAL;
	}
	if (flags & FRESH)
		c->argv[n++] = "--fresh";
	/* The embedded broker keeps a group its last member left in a
	 * rebalance for the session timeout less a second before a new
	 * member may join: 45 s by default. */
	if (flags & SHORT_SESSION) {
		c->argv[n++] = "-X";
		c->argv[n++] = "session.timeout.ms=6000";
		c->argv[n++] = "-X";
		c->argv[n++] = "heartbeat.interval.ms=1000";
	}
	c->argv[n] = NULL;
}

static void run_ok(const struct cmd *c, struct af_run *r)
{
	cr_assert_eq(af_run_argv(r, NULL, c->argv), 0, "cannot start %s", AF_BIN);
	cr_assert_eq(r->status, 0, "run (group %s) exit %d: %s", c->group, r->status, r->err);
}

static bool says_resuming(const char *err)
{
	return err != NULL && strstr(err, "resuming from checkpoint ") != NULL;
}

/* The records a resuming run says its checkpoint had read, or -1. */
static long long already_read(const char *err)
{
	const char *p = says_resuming(err) ? strstr(err, " records already read,") : NULL;
	if (p == NULL)
		return -1;
	while (p > err && p[-1] >= '0' && p[-1] <= '9')
		p--;
	return strtoll(p, NULL, 10);
}

/* ---- what the runs wrote ---- */

/* A test's outputs: the sorted alert ids (repeats kept), the alert lines
 * and dead letters as written, and the summary, all owned. */
struct outcome {
	char *ids, *alerts, *dlq, *summary;
	size_t alert_lines, dlq_lines;
};

/* The distinct lines of text, sorted; owned. */
static char *line_set(const char *text)
{
	char *out = af_e2e_sorted_lines(text, true);
	cr_assert_not_null(out);
	return out;
}

/* Every line of path is one whole JSON object as our writers put it
 * ("{...}") and the file ends with a newline: no torn line was left.
 * Returns the lines. */
static size_t expect_whole_lines(const char *path)
{
	size_t len = 0, lines = 0;
	char *text = af_slurp(path, &len);
	cr_assert_not_null(text, "%s", path);
	cr_assert(len == 0 || text[len - 1] == '\n', "%s ends in a torn line: ...%s", path,
	          text + (len > 200 ? len - 200 : 0));
	for (char *l = text, *nl; (nl = strchr(l, '\n')) != NULL; l = nl + 1) {
		lines++;
		cr_assert(nl - l >= 2 && l[0] == '{' && nl[-1] == '}',
		          "%s: line %zu is not a whole object: %.*s", path, lines,
		          (int)(nl - l < 300 ? nl - l : 300), l);
	}
	free(text);
	return lines;
}

static void outcome_read(struct outcome *o, const struct cmd *c)
{
	o->alerts = af_slurp(c->alerts, NULL);
	o->dlq = af_slurp(c->dlq, NULL);
	o->summary = af_slurp(c->summary, NULL);
	cr_assert(o->alerts != NULL && o->dlq != NULL && o->summary != NULL,
	          "run (group %s) wrote its alerts, dead letters and summary", c->group);
	o->ids = af_e2e_alert_ids(o->alerts);
	cr_assert_not_null(o->ids);
	o->alert_lines = af_count_lines(o->alerts);
	o->dlq_lines = af_count_lines(o->dlq);
}

static void outcome_free(struct outcome *o)
{
	free(o->ids);
	free(o->alerts);
	free(o->dlq);
	free(o->summary);
	memset(o, 0, sizeof(*o));
}

/* The uninterrupted run: without --state-dir, in a group of its own.
 * Returns how long it took. */
static double truth(struct outcome *t)
{
	struct cmd c;
	struct af_run r;

	cmd_init(&c, "truth", "truth", 0);
	double t0 = af_e2e_now_s();
	run_ok(&c, &r);
	double took = af_e2e_now_s() - t0;
	af_run_free(&r);
	outcome_read(t, &c);
	cr_assert_eq(af_json_int(t->summary, "events_in"), F.records,
	             "every record produced is read once: %s", t->summary);
	cr_assert_gt(af_count_lines(t->ids), 200, "the lowered thresholds raise many alerts: %s",
	             t->summary);
	cr_assert_gt(af_json_int(t->summary, "events_invalid"), 0, "%s", t->summary);
	cr_assert_gt(af_json_int(t->summary, "duplicates"), 0, "%s", t->summary);
	return took;
}

/* Two sets (line_set) compared: how many of want are missing from got and
 * how many of got are extra, with the first few of each, as an assertion
 * message (owned); NULL when they are equal. */
static char *set_diff(const char *got, const char *want)
{
	size_t missing = 0, extra = 0, shown = 0, at = 0;
	char examples[1024] = "";
	const char *g = got, *w = want;

	while (*g != '\0' || *w != '\0') {
		size_t gl = strcspn(g, "\n"), wl = strcspn(w, "\n");
		/* The order line_set sorted them in (strcmp's, line by line). */
		int cmp = *g == '\0' ? 1 : *w == '\0' ? -1 : memcmp(g, w, gl < wl ? gl : wl);
		if (cmp == 0 && *g != '\0' && *w != '\0')
			cmp = gl < wl ? -1 : gl > wl ? 1 : 0;
		if (cmp == 0) {
			g += gl + (g[gl] != '\0');
			w += wl + (w[wl] != '\0');
			continue;
		}
		bool is_extra = cmp < 0;
		const char *line = is_extra ? g : w;
		size_t ll = is_extra ? gl : wl;
		if (shown++ < 6 && at < sizeof(examples))
			at += (size_t)snprintf(examples + at, sizeof(examples) - at, "\n  %s %.*s",
			                       is_extra ? "extra" : "missing",
			                       (int)(ll < 160 ? ll : 160), line);
		if (is_extra) {
			extra++;
			g += gl + (g[gl] != '\0');
		} else {
			missing++;
			w += wl + (w[wl] != '\0');
		}
	}
	if (missing == 0 && extra == 0)
		return NULL;
	char *msg = malloc(sizeof(examples) + 64);
	cr_assert_not_null(msg);
	sprintf(msg, "%zu missing, %zu extra:%s", missing, extra, examples);
	return msg;
}

/* got and want (texts of lines) hold the same lines, each counted once. */
static void expect_same_set(const char *got, const char *want, const char *what, const char *when)
{
	char *g = line_set(got), *w = line_set(want);
	char *d = set_diff(g, w);
	if (d != NULL)
		cr_assert_fail("%s: %s (%zu) differ from the uninterrupted run's (%zu) as sets: %s",
		               when, what, af_count_lines(g), af_count_lines(w), d);
	free(g);
	free(w);
}

/* Write "PATH=VALUE" lines for the scalars of the JSON object at *pp,
 * nested keys joined by dots, leaving out the keys a resumed run may not
 * share with an uninterrupted one: its own timing and what its stop held.
 * The summary is af_jsonw's compact output: objects, numbers, booleans. */
static void flatten(const char **pp, const char *prefix, FILE *out)
{
	static const char *const skip[] = {"wall_s", "events_per_s", "held"};
	const char *p = *pp;

	cr_assert_eq(*p, '{', "a summary object at: %.40s", p);
	for (p++; *p != '}';) {
		cr_assert_eq(*p, '"', "a key at: %.40s", p);
		const char *key = ++p;
		p = strchr(p, '"');
		cr_assert(p != NULL && p[1] == ':', "a key and a colon at: %.40s", key);
		char path[256];
		snprintf(path, sizeof(path), "%s%s%.*s", prefix, *prefix ? "." : "", (int)(p - key),
		         key);
		p += 2;
		if (*p == '{') {
			flatten(&p, path, out);
		} else {
			size_t vl = strcspn(p, ",}");
			bool keep = true;
			for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
				keep = keep && strcmp(path, skip[i]) != 0;
			if (keep)
				fprintf(out, "%s=%.*s\n", path, (int)vl, p);
			p += vl;
		}
		cr_assert(*p == ',' || *p == '}', "a comma or a brace at: %.40s", p);
		if (*p == ',')
			p++;
	}
	*pp = p + 1;
}

/* The summary's counts, one "PATH=VALUE" line each, sorted (the order of
 * an object's keys is no part of the interface); owned. */
static char *counts_of(const char *summary)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	cr_assert_not_null(out);
	const char *p = summary;
	flatten(&p, "", out);
	cr_assert_eq(fclose(out), 0);
	char *set = line_set(text);
	free(text);
	return set;
}

static void expect_counts(const char *got, const char *want, const char *when)
{
	char *g = counts_of(got), *w = counts_of(want);
	char *d = set_diff(g, w);
	if (d != NULL)
		cr_assert_fail("%s: the summary's counts differ from the uninterrupted run's (a "
		               "missing line is the truth's value, an extra one the run's): %s\n"
		               "  got  %s  want %s",
		               when, d, got, want);
	free(g);
	free(w);
}

/* ---- 1: SIGKILL again and again ---- */

/* Append the start of a line without its newline, as a crash in the
 * middle of a write would leave it. The alert fragment has an id, so that
 * one left in place would show as an extra id. */
static void tear(const char *path, const char *fragment)
{
	FILE *f = fopen(path, "a");
	cr_assert_not_null(f, "%s", path);
	fputs(fragment, f);
	cr_assert_eq(fclose(f), 0, "%s", path);
}

struct chaos {
	int runs;
	int kills;       /* SIGKILLs that met a run after a checkpoint of its own */
	int early_kills; /* SIGKILLs that met one before a checkpoint of its own */
	int resumes;
	int cut;            /* runs that cut a torn last line off an output */
	bool torn;          /* the test tore the outputs; no run has cut them yet */
	bool tried_early;   /* a run was started to be killed early */
	char progress[256]; /* how far each resumed run's checkpoint had read */
	double extra_s;     /* the kill delays' bound, once fitted to the stream */
	bool final_resumed; /* the run that finished resumed from a checkpoint */
};

/* The first run that finds a checkpoint is killed a random time within
 * EARLY_S of its start: while it joins its group (some 3 s), before it
 * writes a checkpoint of its own, so what it leaves is the last run's. */
#define EARLY_S 2.0
/* After this kill the outputs get a torn last line (tear). */
#define TEAR_AT 2

/* One series: start the command, SIGKILL it, start it again in a new
 * group, ... until a run ends by itself. Runs not killed early are killed
 * a random time after they wrote a checkpoint of their own, unless
 * ENOUGH_KILLS have landed: then the run is left to finish. The delays
 * are fitted to how long the stream takes to read: the uninterrupted run
 * took took_s, of which the first run of the series shows how much went
 * before its first checkpoint (joining the group, mostly); up to a third
 * of the rest, times scale, and never under two intervals (so that a kill
 * falls anywhere before the next checkpoint or the one after), spreads
 * the kills over the stream, not only its start. A resumed run's first
 * checkpoint comes with its first batch and has read little more than
 * the one it resumed from, so the random delay is what moves it on. */
static void chaos_series(struct cmd *c, double took_s, double scale, uint64_t *rng, int *groups,
                         struct chaos *k)
{
	char err[512];

	af_rmdir(F.state);
	unlink(c->alerts);
	unlink(c->dlq);
	unlink(c->summary);
	memset(k, 0, sizeof(*k));
	k->extra_s = 2 * INTERVAL_S * scale;
	for (;;) {
		cr_assert_lt(k->runs, MAX_RUNS, "%d runs (%d killed) without reaching the end",
		             k->runs, k->kills + k->early_kills);
		snprintf(c->group, sizeof(c->group), "chaos-%d", ++*groups);
		struct af_e2e_stamp before = af_e2e_stamp_of(F.manifest);
		bool spare = k->kills >= ENOUGH_KILLS;
		bool early = !spare && before.there && !k->tried_early;
		k->tried_early = k->tried_early || early;
		double delay = uniform(rng) * (early ? EARLY_S : k->extra_s);
		double t0 = af_e2e_now_s();
		cr_assert_eq(af_e2e_spawn(&proc, c->argv, af_e2e_path("run.out"),
		                          af_e2e_path("run.err"), err, sizeof(err)),
		             0, "%s", err);
		k->runs++;
		while (!early && af_e2e_running(&proc) &&
		       af_e2e_stamp_same(af_e2e_stamp_of(F.manifest), before))
			af_e2e_nap();
		if (k->runs == 1 && proc.pid > 0) {
			double rest = (took_s - (af_e2e_now_s() - t0)) / 3 * scale;
			if (rest > k->extra_s)
				k->extra_s = rest;
		}
		double end = af_e2e_now_s() + delay;
		while (af_e2e_running(&proc) && af_e2e_now_s() < end)
			af_e2e_nap();
		if (proc.pid > 0 && !spare)
			kill(proc.pid, SIGKILL);
		cr_assert_eq(af_e2e_reap(&proc, RUN_WAIT_S, err, sizeof(err)), 0, "%s", err);
		char *text = af_slurp(af_e2e_path("run.err"), NULL);
		k->resumes += says_resuming(text);
		size_t at = strlen(k->progress);
		if (says_resuming(text) && at + 8 < sizeof(k->progress))
			snprintf(k->progress + at, sizeof(k->progress) - at, " %lld%%",
			         100 * already_read(text) / F.records);
		bool cut = text != NULL && strstr(text, "cut short") != NULL;
		k->cut += cut;
		if (k->torn && cut) {
			cr_assert(strstr(text, c->alerts) != NULL && strstr(text, c->dlq) != NULL,
			          "the run after the tear cut both outputs: %s", text);
			k->torn = false;
		}
		/* A run killed early may not have opened its outputs yet; any
		 * other has, and must have cut the torn lines. */
		cr_assert(!k->torn || early, "run %d did not cut the torn outputs: %s", k->runs,
		          text);
		if (proc.status == 128 + SIGKILL) {
			/* One meant to die early that got as far as a checkpoint
			 * of its own counts as killed after one. */
			early = early && af_e2e_stamp_same(af_e2e_stamp_of(F.manifest), before);
			*(early ? &k->early_kills : &k->kills) += 1;
			if (!early && k->kills == TEAR_AT) {
				tear(c->alerts, "{\"id\":\"torn-by-the-test\",\"rule\":\"new_");
				tear(c->dlq, "{\"reason\":\"malformed_json\",\"det");
				k->torn = true;
			}
			free(text);
			continue;
		}
		cr_assert_eq(proc.status, 0, "run %d (after %d kills) exited %d: %s", k->runs,
		             k->kills + k->early_kills, proc.status, text);
		if (before.there)
			cr_assert(says_resuming(text),
			          "a run that finds a checkpoint resumes from it: %s", text);
		k->final_resumed = before.there;
		free(text);
		return;
	}
}

Test(run_checkpoint,
     a_run_killed_again_and_again_ends_with_the_alerts_and_counts_of_one_never_killed)
{
	struct outcome t, got;
	struct cmd c;
	struct chaos k = {0};
	uint64_t rng = SEED;
	int groups = 0;

	scenario_up(CHAOS_ACCOUNTS);
	double took = truth(&t);
	cmd_init(&c, "chaos", "chaos", WITH_STATE);
	double scale = 1;
	for (int round = 0; round < ROUNDS; round++) {
		chaos_series(&c, took, scale, &rng, &groups, &k);
		fprintf(stderr,
		        "run checkpoint chaos series %d: checkpoints every %s, kills up to %.2f s "
		        "after one: %d runs, %d killed after a checkpoint, %d before one of their "
		        "own, %d resumed (from checkpoints that had read%s of the records), the "
		        "last %s\n",
		        round + 1, INTERVAL, k.extra_s, k.runs, k.kills, k.early_kills, k.resumes,
		        k.progress, k.final_resumed ? "resumed" : "started afresh");
		if (k.kills >= MIN_KILLS && k.final_resumed)
			break;
		scale /= 2;
	}
	cr_assert_geq(k.kills, MIN_KILLS, "only %d kills landed after a checkpoint", k.kills);
	cr_assert(k.final_resumed, "the run that finished resumed from a checkpoint");
	cr_assert(k.tried_early, "one run was started to be killed before its checkpoint");
	cr_assert(!k.torn, "no run cut the torn outputs");

	size_t lines = expect_whole_lines(c.alerts);
	size_t dlq_lines = expect_whole_lines(c.dlq);
	outcome_read(&got, &c);
	expect_same_set(got.ids, t.ids, "alert ids", "after the kills");
	expect_same_set(got.alerts, t.alerts, "alert lines", "after the kills");
	expect_same_set(got.dlq, t.dlq, "dead letters", "after the kills");
	expect_counts(got.summary, t.summary, "after the kills");
	cr_assert(exists(F.manifest), "-e is a stop for run: the checkpoint stays");
	char *ids = line_set(t.ids);
	fprintf(stderr,
	        "run checkpoint chaos: %d runs, %d killed after a checkpoint, %d before one of "
	        "their own, %d resumed, %d cut a torn line; %zu alert ids and %zu alert lines "
	        "compared (%zu written, against one uninterrupted run of %.2f s); %zu dead "
	        "letters compared (%zu written)\n",
	        k.runs, k.kills, k.early_kills, k.resumes, k.cut, af_count_lines(ids),
	        t.alert_lines, lines, took, t.dlq_lines, dlq_lines);
	free(ids);
	outcome_free(&got);
	outcome_free(&t);
}

/* ---- 2: SIGINT, then the same command ---- */

Test(run_checkpoint, a_run_stopped_by_sigint_and_started_again_in_its_group_raises_every_alert)
{
	struct outcome t, got;
	struct cmd c;
	struct af_run r;
	char err[512];
	char *partial = NULL;

	scenario_up(ACCOUNTS);
	double took = truth(&t);
	cmd_init(&c, "stopped", "stopped", WITH_STATE | SHORT_SESSION);
	/* Stopped an eighth of the uninterrupted run's time after its first
	 * checkpoint (which comes with its first batch): some way into the
	 * stream. A run that read everything before the signal came proves
	 * nothing of the stop: it is started over, and stopped sooner. */
	double delay = took / 8, used = 0;
	for (int attempt = 0; partial == NULL; attempt++, delay /= 4) {
		cr_assert_lt(attempt, 3, "the run read everything before SIGINT came, 3 times");
		af_rmdir(F.state);
		cr_assert_eq(af_e2e_spawn(&proc, c.argv, af_e2e_path("run.out"),
		                          af_e2e_path("run.err"), err, sizeof(err)),
		             0, "%s", err);
		while (!exists(F.manifest) && af_e2e_running(&proc))
			af_e2e_nap();
		double end = af_e2e_now_s() + delay;
		while (af_e2e_running(&proc) && af_e2e_now_s() < end)
			af_e2e_nap();
		used = delay;
		if (proc.pid > 0)
			kill(proc.pid, SIGINT);
		cr_assert_eq(af_e2e_reap(&proc, RUN_WAIT_S, err, sizeof(err)), 0, "%s", err);
		char *text = af_slurp(af_e2e_path("run.err"), NULL);
		cr_assert_eq(proc.status, 0, "a run stopped by SIGINT exits %d: %s", proc.status,
		             text);
		free(text);
		cr_assert(exists(F.manifest), "the stop wrote a checkpoint");
		char *s = af_slurp(c.summary, NULL);
		cr_assert_not_null(s, "the stopped run wrote its summary");
		if (af_json_int(s, "events_in") < F.records)
			partial = s;
		else
			free(s);
	}
	long long in = af_json_int(partial, "events_in"), ok = af_json_int(partial, "events_ok");
	long long invalid = af_json_int(partial, "events_invalid");
	long long dups = af_json_int(partial, "duplicates"), held = af_json_int(partial, "held");
	if (held < 0)
		held = 0; /* written only when not 0 */
	cr_assert_eq(in, ok + invalid + dups + held,
	             "each record read by the stopped run is ok, invalid, a duplicate or held in "
	             "its checkpoint: %s",
	             partial);
	size_t part_alerts = expect_whole_lines(c.alerts);

	run_ok(&c, &r);
	cr_assert(says_resuming(r.err), "it says it resumes: %s", r.err);
	expect_whole_lines(c.alerts);
	expect_whole_lines(c.dlq);
	outcome_read(&got, &c);
	expect_same_set(got.ids, t.ids, "alert ids", "stopped by SIGINT and started again");
	expect_same_set(got.alerts, t.alerts, "alert lines", "stopped by SIGINT and started again");
	expect_same_set(got.dlq, t.dlq, "dead letters", "stopped by SIGINT and started again");
	expect_counts(got.summary, t.summary, "stopped by SIGINT and started again");
	fprintf(stderr,
	        "run checkpoint sigint: stopped %.2f s after its first checkpoint, having read "
	        "%lld of %lld records (%lld held), %zu alerts; %zu alert lines in all, %zu from "
	        "the uninterrupted run of %.2f s\n",
	        used, in, F.records, held, part_alerts, got.alert_lines, t.alert_lines, took);
	af_run_free(&r);
	free(partial);
	outcome_free(&got);
	outcome_free(&t);
}

/* ---- 3: a damaged checkpoint ---- */

Test(run_checkpoint, refuses_a_damaged_checkpoint_and_starts_over_with_fresh)
{
	struct outcome first, again;
	struct cmd c;
	struct af_run r;

	scenario_up(ACCOUNTS);
	/* A whole run to the end leaves its checkpoint (-e is a stop), and
	 * is the uninterrupted run that --fresh must repeat. */
	cmd_init(&c, "run", "first", WITH_STATE);
	run_ok(&c, &r);
	af_run_free(&r);
	cr_assert(exists(F.manifest), "-e is a stop for run: the checkpoint stays");
	outcome_read(&first, &c);
	cr_assert_eq(af_json_int(first.summary, "events_in"), F.records, "%s", first.summary);
	size_t before_len = 0;
	char *before = af_slurp(c.alerts, &before_len);
	cr_assert_not_null(before);

	size_t len = 0;
	char *m = af_slurp(F.manifest, &len);
	cr_assert(m != NULL && len > 0);
	m[len / 2] ^= 0x21;
	cr_assert_eq(af_spit(F.manifest, m, len), 0);

	snprintf(c.group, sizeof(c.group), "refused");
	cr_assert_eq(af_run_argv(&r, NULL, c.argv), 0, "cannot start %s", AF_BIN);
	cr_assert_eq(r.status, 2, "a damaged checkpoint: exit %d: %s", r.status, r.err);
	cr_assert_not_null(strstr(r.err, F.manifest), "the message names %s: %s", F.manifest,
	                   r.err);
	cr_assert_not_null(strstr(r.err, "--fresh"), "the message mentions --fresh: %s", r.err);
	af_run_free(&r);
	size_t after_len = 0, kept_len = 0;
	char *after = af_slurp(c.alerts, &after_len);
	cr_assert(after != NULL && after_len == before_len &&
	              memcmp(before, after, before_len) == 0,
	          "the refused run left the alerts as they were (%zu bytes, now %zu)", before_len,
	          after_len);
	char *kept = af_slurp(F.manifest, &kept_len);
	cr_assert(kept != NULL && kept_len == len && memcmp(kept, m, len) == 0,
	          "the refused checkpoint is left as it was");

	struct cmd fresh;
	cmd_init(&fresh, "run", "fresh", WITH_STATE | FRESH);
	run_ok(&fresh, &r);
	cr_assert(!says_resuming(r.err), "--fresh starts from the beginning: %s", r.err);
	outcome_read(&again, &fresh);
	cr_assert_str_eq(again.ids, first.ids,
	                 "--fresh raises the alerts of the first run, each once (%zu alert lines, "
	                 "%zu before)",
	                 again.alert_lines, first.alert_lines);
	expect_same_set(again.alerts, first.alerts, "alert lines",
	                "--fresh after a damaged checkpoint");
	expect_counts(again.summary, first.summary, "--fresh after a damaged checkpoint");
	expect_same_set(again.dlq, first.dlq, "dead letters", "--fresh after a damaged checkpoint");
	cr_assert_eq(again.dlq_lines, first.dlq_lines, "--fresh wrote each dead letter once");
	af_run_free(&r);
	free(m);
	free(kept);
	free(before);
	free(after);
	outcome_free(&again);
	outcome_free(&first);
}
