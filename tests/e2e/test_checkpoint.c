/* test_checkpoint.c - checkpoints of `auditflow replay --state-dir` end to
 * end: a replay killed with SIGKILL again and again, and restarted with the
 * same command each time, ends with the alerts and counts of a replay that
 * was never interrupted; so does one stopped by SIGINT; a checkpoint that
 * does not fit the run (another -j, a damaged file, an input changed in the
 * part already read) is refused with exit status 2 before anything is
 * written; a replay that reaches the end removes its checkpoint.
 *
 * Thread: the test's. Every replay is a real process: the ones that run to
 * their end through af_run_argv, the ones to interrupt started with
 * af_e2e_spawn and stopped with kill(2) (SIGKILL for a crash, SIGINT for a
 * graceful stop).
 *
 * DESIGN: the truth. Each test first replays its scenario without
 * --state-dir; that run's alert ids, summary and dead letters are what the
 * interrupted runs must end with. The scenario is seed-incident with the
 * rules' thresholds lowered (RULES) so that alerts are raised all through
 * the run, not only around the attack: a kill then nearly always falls
 * between alerts that the last checkpoint covers and alerts it does not.
 * Malformed and repeated records are planted in the message trace (plant)
 * so that the invalid and duplicate counts, and the duplicate filter's
 * state, are among what a resumed run must carry over.
 * DESIGN: no timing assertions. Most kills wait for the run to write a
 * checkpoint of its own, then a random time more (fixed seed, up to an
 * eighth of how long the uninterrupted replay took, so it fits a slow
 * sanitizer build too): each such run moves the replay on, so the loop
 * ends, and the kill falls anywhere between two checkpoints, in the
 * middle of writing alerts or a checkpoint. The rest are killed while
 * starting (loading the checkpoint). A kill counts only when it met a
 * running process (it exited 128+SIGKILL); a round with fewer than
 * MIN_KILLS of those is run again with shorter delays. The checkpoint
 * interval is fitted to that duration too (at most INTERVAL), so that a
 * fast machine still has room for the kills. Once, the outputs are also
 * given a torn last line, as a crash in mid-write would leave it. A graceful stop is
 * sent once the first checkpoint exists (the run is then surely under
 * way); a run that finished anyway is simply started again.
 * DESIGN: sets and lists. After a SIGKILL the alerts raised since the last
 * checkpoint come again with the same ids (at-least-once), so the alert
 * file of a crashed replay is compared with the truth as a set of ids; so
 * is one stopped by SIGINT (the interface promises no more: a stopped run
 * finishes what it read after its last checkpoint, which may raise alerts
 * the resumed run raises again). A run from the beginning (--fresh, or
 * after a finished replay) truncates its outputs, so those are compared as
 * sorted lists, repeats included.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/parse/json.h"
#include "run.h"
#include "scenario.h"

/* About 460,000 records in three inputs (300 MB): at -j 2 a replay takes
 * under a second in a release build, long enough to be stopped after its
 * first checkpoint. The kill test's scenario is twice that, for a dozen
 * checkpoints and more in one uninterrupted replay. Under a sanitizer a
 * replay is some forty times slower: a third of the size still gives the
 * dozen checkpoints. */
#if AF_E2E_SANITIZED
#define ACCOUNTS       "150"
#define CHAOS_ACCOUNTS "300"
#else
#define ACCOUNTS       "400"
#define CHAOS_ACCOUNTS "800"
#endif
#define DAYS     "14"
#define INTERVAL "0.1s"
/* Kills that must land on a replay that had checkpointed. */
#define MIN_KILLS 5
/* Kills after which the next run is left to finish: each restart reads
 * its inputs again up to the checkpoint, so more only cost time (under a
 * sanitizer, minutes). */
#if AF_E2E_SANITIZED
#define ENOUGH_KILLS 8
#else
#define ENOUGH_KILLS 12
#endif
/* Kill rounds, each with delays half as long as the last's. */
#define ROUNDS 3
/* Restarts in one round before it counts as making no progress. */
#define MAX_RUNS 80
/* Deadline for a replay to exit: against a hang, not a timing check. */
#define RUN_WAIT_S 240
/* In the message trace: a malformed line after every BAD_EVERY-th line,
 * and every DUP_EVERY-th line written twice. */
#define BAD_EVERY  997
#define DUP_EVERY  613
#define CHAOS_SEED 0x5eed0c4ec4f01d5ULL

/* Thresholds far below the defaults (no learning period, a burst from a
 * few sends), so that well over a thousand alerts fire over the 14 days. */
static const char RULES[] = "rules:\n"
                            "  suppression: 1h\n"
                            "  learning_days: 0\n"
                            "  learning_signins: 0\n"
                            "  signin_fail_burst: {threshold: 2, window: 1h}\n"
                            "  mail_send_burst: {floor: 4, k: 0, min_hours: 1}\n"
                            "  mass_recipients: {threshold: 8}\n";

#define NINPUTS 3
static const char *const input_names[NINPUTS] = {"signins.jsonl", "audit.jsonl",
                                                 "messagetrace.jsonl"};

/* The scenario's files, kept apart from af_e2e_path's rotating buffers;
 * shorter than PATH_MAX, so that a name made from one fits a PATH_MAX
 * buffer. */
#define SHORT_PATH 1024
static struct {
	char conf[SHORT_PATH], in[NINPUTS][SHORT_PATH];
	char state[SHORT_PATH], manifest[SHORT_PATH], backup[SHORT_PATH];
} F;

/* The replay in the background, where .fini can reach it. */
static struct af_e2e_proc proc;

static void suite_init(void)
{
	af_e2e_setup();
	memset(&proc, 0, sizeof(proc));
	snprintf(F.state, sizeof(F.state), "%s/state", af_e2e_dir);
	snprintf(F.manifest, sizeof(F.manifest), "%s/state/checkpoint", af_e2e_dir);
	snprintf(F.backup, sizeof(F.backup), "%s/backup", af_e2e_dir);
}

/* The state and backup folders first: af_e2e_teardown removes one level. */
static void suite_fini(void)
{
	af_e2e_proc_kill(&proc);
	af_rmdir(F.state);
	af_rmdir(F.backup);
	af_e2e_teardown();
}

TestSuite(checkpoint, .init = suite_init, .fini = suite_fini, .timeout = 600);

/* splitmix64: the kill delays, the same every run of the test. */
static double uniform(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (double)(z >> 11) / (double)(1ULL << 53);
}

/* ---- files ---- */

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void copy_file(const char *from, const char *to)
{
	size_t len = 0;
	char *data = af_slurp(from, &len);
	cr_assert_not_null(data, "cannot read %s", from);
	cr_assert_eq(af_spit(to, data, len), 0, "cannot write %s", to);
	free(data);
}

/* Rewrite path with malformed lines and repeated records planted in it. */
static void plant(const char *path)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *in = fopen(path, "r"), *out = fopen(tmp, "w");
	cr_assert(in != NULL && out != NULL, "%s: %s", path, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	for (unsigned long n = 1; (len = getline(&line, &cap, in)) > 0; n++) {
		fwrite(line, 1, (size_t)len, out);
		if (n % DUP_EVERY == 0)
			fwrite(line, 1, (size_t)len, out);
		if (n % BAD_EVERY == 0)
			fprintf(out, "{\"planted\": %lu, \"cut\":\n", n);
	}
	free(line);
	fclose(in);
	cr_assert_eq(fclose(out), 0, "%s", tmp);
	cr_assert_eq(rename(tmp, path), 0, "%s", strerror(errno));
}

/* Generate the scenario into the scratch folder and write its
 * configuration: gen's geo.yaml with RULES after it. */
static void make_scenario(const char *accounts)
{
	const char *const gen[] = {"--accounts", accounts, "--days", DAYS, NULL};
	af_scn_make("seed-incident", gen);
	for (int i = 0; i < NINPUTS; i++)
		snprintf(F.in[i], sizeof(F.in[i]), "%s", af_e2e_path(input_names[i]));
	plant(F.in[2]);

	size_t len = 0;
	char *geo = af_slurp(af_e2e_path("geo.yaml"), &len);
	cr_assert_not_null(geo);
	char *conf = malloc(len + sizeof(RULES) + 1);
	cr_assert_not_null(conf);
	int n = sprintf(conf, "%s\n%s", geo, RULES);
	snprintf(F.conf, sizeof(F.conf), "%s", af_e2e_path("checkpoint.yaml"));
	cr_assert_eq(af_spit(F.conf, conf, (size_t)n), 0);
	free(conf);
	free(geo);
}

/* ---- the command ---- */

enum { WITH_STATE = 1, FRESH = 2 };

/* One replay command; its outputs are NAME.alerts, NAME.summary and
 * NAME.dlq in the scratch folder. argv points into the struct: do not
 * copy it. */
struct cmd {
	const char *argv[32];
	char alerts[PATH_MAX], summary[PATH_MAX], dlq[PATH_MAX];
	char interval[32]; /* --checkpoint-interval, INTERVAL unless changed */
};

static void cmd_init(struct cmd *c, const char *name, const char *threads, int flags)
{
	size_t n = 0;

	snprintf(c->alerts, sizeof(c->alerts), "%s/%s.alerts", af_e2e_dir, name);
	snprintf(c->summary, sizeof(c->summary), "%s/%s.summary", af_e2e_dir, name);
	snprintf(c->dlq, sizeof(c->dlq), "%s/%s.dlq", af_e2e_dir, name);
	c->argv[n++] = AF_BIN;
	c->argv[n++] = "replay";
	c->argv[n++] = "--no-progress";
	c->argv[n++] = "-c";
	c->argv[n++] = F.conf;
	c->argv[n++] = "-j";
	c->argv[n++] = threads;
	c->argv[n++] = "-o";
	c->argv[n++] = c->alerts;
	c->argv[n++] = "--summary";
	c->argv[n++] = c->summary;
	c->argv[n++] = "--dlq";
	c->argv[n++] = c->dlq;
	if (flags & WITH_STATE) {
		c->argv[n++] = "--state-dir";
		c->argv[n++] = F.state;
		snprintf(c->interval, sizeof(c->interval), "%s", INTERVAL);
		c->argv[n++] = "--checkpoint-interval";
		c->argv[n++] = c->interval;
	}
	if (flags & FRESH)
		c->argv[n++] = "--fresh";
	for (int i = 0; i < NINPUTS; i++)
		c->argv[n++] = F.in[i];
	c->argv[n] = NULL;
}

/* Run c to its end. */
static void run(const struct cmd *c, struct af_run *r)
{
	cr_assert_eq(af_run_argv(r, NULL, c->argv), 0, "cannot start %s", AF_BIN);
}

static void run_ok(const struct cmd *c, struct af_run *r)
{
	run(c, r);
	cr_assert_eq(r->status, 0, "replay exit %d: %s", r->status, r->err);
}

static bool resumed(const char *err)
{
	return err != NULL && strstr(err, "resuming from checkpoint") != NULL;
}

/* Start c in the background and, once its first checkpoint exists, send
 * it sig; it must exit 0 leaving a checkpoint. A run that finished before
 * the signal came (no checkpoint left) is started again. */
static void stop_midway(const struct cmd *c, int sig)
{
	char err[512];

	for (int attempt = 0; attempt < 3; attempt++) {
		cr_assert_eq(af_e2e_spawn(&proc, c->argv, af_e2e_path("run.out"),
		                          af_e2e_path("run.err"), err, sizeof(err)),
		             0, "%s", err);
		while (!exists(F.manifest) && af_e2e_running(&proc))
			af_e2e_nap();
		if (proc.pid > 0)
			kill(proc.pid, sig);
		cr_assert_eq(af_e2e_reap(&proc, RUN_WAIT_S, err, sizeof(err)), 0, "%s", err);
		char *text = af_slurp(af_e2e_path("run.err"), NULL);
		cr_assert_eq(proc.status, 0, "a replay stopped by signal %d exits %d: %s", sig,
		             proc.status, text);
		free(text);
		if (exists(F.manifest))
			return;
	}
	cr_assert_fail("the replay finished three times before a signal could stop it");
}

/* ---- what a replay wrote ---- */

/* Each run of a test: its sorted alert ids (repeats kept), summary and
 * sorted dead letters, all owned. */
struct outcome {
	char *ids, *summary, *dlq;
	size_t alert_lines;
};

/* The lines of text sorted, each once when unique; owned. */
static char *sorted_lines(const char *text, bool unique)
{
	char *out = af_e2e_sorted_lines(text, unique);
	cr_assert_not_null(out);
	return out;
}

static void outcome_read(struct outcome *o, const struct cmd *c)
{
	char *alerts = af_slurp(c->alerts, NULL), *dlq = af_slurp(c->dlq, NULL);
	cr_assert(alerts != NULL && dlq != NULL, "the replay wrote its alerts and dead letters");
	o->ids = af_e2e_alert_ids(alerts);
	o->alert_lines = af_count_lines(alerts);
	o->dlq = sorted_lines(dlq, false);
	o->summary = af_slurp(c->summary, NULL);
	cr_assert(o->ids != NULL && o->summary != NULL, "the replay wrote its summary");
	free(alerts);
	free(dlq);
}

static void outcome_free(struct outcome *o)
{
	free(o->ids);
	free(o->summary);
	free(o->dlq);
	memset(o, 0, sizeof(*o));
}

/* The uninterrupted replay, without --state-dir; returns how long it took
 * (to fit the kill delays to this machine and build). */
static double truth(struct outcome *t)
{
	struct cmd c;
	struct af_run r;

	cmd_init(&c, "truth", "2", 0);
	double t0 = af_e2e_now_s();
	run_ok(&c, &r);
	double took = af_e2e_now_s() - t0;
	af_run_free(&r);
	outcome_read(t, &c);
	cr_assert_gt(af_count_lines(t->ids), 200, "the lowered thresholds raise many alerts: %s",
	             t->summary);
	cr_assert_gt(af_json_int(t->summary, "events_invalid"), 0, "%s", t->summary);
	cr_assert_gt(af_json_int(t->summary, "duplicates"), 0, "%s", t->summary);
	return took;
}

/* How two sorted lists of ids differ: counts and the first few of each
 * side, for an assertion message; owned. */
static char *id_diff(const char *got, const char *want)
{
	size_t cap = 2048, len = 0, missing = 0, extra = 0;
	char *out = malloc(cap);
	cr_assert_not_null(out);
	out[0] = '\0';
	const char *g = got, *w = want;
	while (*g || *w) {
		size_t gl = strcspn(g, "\n"), wl = strcspn(w, "\n");
		int c = !*g ? 1 : !*w ? -1 : strncmp(g, w, gl > wl ? gl : wl);
		if (c == 0) {
			g += gl + 1;
			w += wl + 1;
			continue;
		}
		bool is_extra = c < 0;
		const char *id = is_extra ? g : w;
		size_t il = is_extra ? gl : wl;
		if ((is_extra ? extra : missing) < 5 && len + il + 32 < cap)
			len += (size_t)snprintf(out + len, cap - len, "\n  %s %.*s",
			                        is_extra ? "extra" : "missing", (int)il, id);
		if (is_extra) {
			extra++;
			g += gl + 1;
		} else {
			missing++;
			w += wl + 1;
		}
	}
	char *msg = malloc(len + 128);
	cr_assert_not_null(msg);
	sprintf(msg, "%zu missing, %zu extra:%s", missing, extra, out);
	free(out);
	return msg;
}

/* Alert ids equal to the truth's: as sorted lists (exact), or as sets. */
static void expect_ids(const char *got, const char *want, bool exact, const char *what)
{
	char *g = exact ? strdup(got) : sorted_lines(got, true);
	char *w = exact ? strdup(want) : sorted_lines(want, true);
	cr_assert(g != NULL && w != NULL);
	if (strcmp(g, w) != 0) {
		char *d = id_diff(g, w);
		cr_assert_fail("%s: alert ids (%zu) differ from the uninterrupted replay's (%zu) "
		               "%s: %s",
		               what, af_count_lines(g), af_count_lines(w),
		               exact ? "as lists" : "as sets", d);
	}
	free(g);
	free(w);
}

/* The summary's alerts_by_rule pairs, sorted (the object's key order is
 * not part of the interface); owned. */
static char *by_rule(const char *summary)
{
	static const char key[] = "\"alerts_by_rule\":{";
	const char *p = strstr(summary, key);
	cr_assert_not_null(p, "no alerts_by_rule in %s", summary);
	p += sizeof(key) - 1;
	size_t n = strcspn(p, "}");
	char *pairs = strndup(p, n);
	cr_assert_not_null(pairs);
	for (char *c = pairs; *c; c++)
		if (*c == ',')
			*c = '\n';
	char *text = malloc(n + 2);
	cr_assert_not_null(text);
	sprintf(text, "%s\n", pairs);
	char *out = sorted_lines(text, false);
	free(text);
	free(pairs);
	return out;
}

static void expect_counts(const char *got, const char *want, const char *what)
{
	static const char *const keys[] = {"events_in", "events_ok", "events_invalid", "duplicates",
	                                   "alerts"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cr_assert_eq(
		    af_json_int(got, keys[i]), af_json_int(want, keys[i]),
		    "%s: %s differs from the uninterrupted replay's:\n  got  %s\n  want %s", what,
		    keys[i], got, want);
	char *g = by_rule(got), *w = by_rule(want);
	cr_assert_str_eq(g, w,
	                 "%s: alerts_by_rule differs from the uninterrupted replay's:\n  got  %s\n"
	                 "  want %s",
	                 what, got, want);
	free(g);
	free(w);
}

/* Every line of the file at path is one whole JSON object and the file
 * ends with a newline (no line torn by a kill is left). Returns the lines. */
static size_t expect_json_lines(const char *path)
{
	size_t len = 0, lines = 0;
	char *text = af_slurp(path, &len);
	cr_assert_not_null(text, "%s", path);
	cr_assert(len == 0 || text[len - 1] == '\n', "%s ends in a torn line: ...%s", path,
	          text + (len > 200 ? len - 200 : 0));
	struct af_jparser *p = af_jparser_new(1 << 20);
	char *buf = malloc((1 << 20) + AF_JSON_PADDING);
	cr_assert(p != NULL && buf != NULL);
	for (char *l = text, *nl; (nl = strchr(l, '\n')) != NULL; l = nl + 1) {
		size_t n = (size_t)(nl - l);
		lines++;
		cr_assert_lt(n, (size_t)1 << 20, "%s: line %zu is too long", path, lines);
		memcpy(buf, l, n);
		memset(buf + n, 0, AF_JSON_PADDING);
		cr_assert_eq(af_jparser_validate(p, buf, n), AF_REASON_NONE,
		             "%s: line %zu is not a JSON object: %.*s", path, lines, (int)n, l);
	}
	free(buf);
	af_jparser_free(p);
	free(text);
	return lines;
}

/* The checkpoint's files in the state folder (manifest, parts, their
 * temporary files). */
static size_t checkpoint_files(void)
{
	DIR *d = opendir(F.state);
	size_t n = 0;
	struct dirent *e;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, "checkpoint") == 0 ||
		     strncmp(e->d_name, "checkpoint.", 11) == 0 ||
		     strstr(e->d_name, ".snap") != NULL;
	closedir(d);
	return n;
}

/* ---- 1: SIGKILL again and again ---- */

/* Append the first half of path's last line, without its newline: what
 * a crash in the middle of a write leaves (a SIGKILL between two write(2)
 * calls of whole lines does not). */
static void tear(const char *path)
{
	size_t len = 0;
	char *text = af_slurp(path, &len);
	cr_assert_not_null(text, "%s", path);
	if (len > 1 && text[len - 1] == '\n') {
		size_t start = len - 1;
		while (start > 0 && text[start - 1] != '\n')
			start--;
		FILE *f = fopen(path, "a");
		cr_assert_not_null(f, "%s", path);
		fwrite(text + start, 1, (len - 1 - start) / 2, f);
		cr_assert_eq(fclose(f), 0, "%s", path);
	}
	free(text);
}

struct chaos {
	int runs;
	int kills;       /* SIGKILLs that met a replay after it had checkpointed */
	int early_kills; /* SIGKILLs that met one starting up */
	int resumes;
	int cut;            /* restarts that cut a torn last line off an output */
	bool final_resumed; /* the run that finished resumed from a checkpoint */
};

/* One round: start the command, SIGKILL it, start it again, ... until a
 * run ends by itself. Most runs are killed a random time (up to extra_s)
 * after they have written a checkpoint of their own, so every such run
 * moves the replay on and the kill falls anywhere between two
 * checkpoints; EARLY_SHARE of them within EARLY_S of their start, while
 * they load the checkpoint and read their inputs up to it. */
#define EARLY_SHARE 0.2
#define EARLY_S     0.15
/* After this kill the outputs also get a torn last line (tear). */
#define TEAR_AT 2
static void chaos_round(const struct cmd *c, double extra_s, uint64_t *rng, struct chaos *k)
{
	char err[512];

	af_rmdir(F.state);
	unlink(c->alerts);
	unlink(c->summary);
	unlink(c->dlq);
	memset(k, 0, sizeof(*k));
	for (;;) {
		cr_assert_lt(k->runs, MAX_RUNS, "%d restarts (%d killed) without reaching the end",
		             k->runs, k->kills + k->early_kills);
		struct af_e2e_stamp before = af_e2e_stamp_of(F.manifest);
		bool early = uniform(rng) < EARLY_SHARE;
		double delay = uniform(rng) * (early ? EARLY_S : extra_s);
		bool spare = k->kills >= ENOUGH_KILLS;
		cr_assert_eq(af_e2e_spawn(&proc, c->argv, af_e2e_path("run.out"),
		                          af_e2e_path("run.err"), err, sizeof(err)),
		             0, "%s", err);
		k->runs++;
		while (!early && af_e2e_running(&proc) &&
		       af_e2e_stamp_same(af_e2e_stamp_of(F.manifest), before))
			af_e2e_nap();
		double end = af_e2e_now_s() + delay;
		while (af_e2e_running(&proc) && af_e2e_now_s() < end)
			af_e2e_nap();
		if (proc.pid > 0 && !spare)
			kill(proc.pid, SIGKILL);
		cr_assert_eq(af_e2e_reap(&proc, RUN_WAIT_S, err, sizeof(err)), 0, "%s", err);
		char *text = af_slurp(af_e2e_path("run.err"), NULL);
		k->resumes += resumed(text);
		k->cut += text != NULL && strstr(text, "cut short") != NULL;
		if (proc.status == 128 + SIGKILL) {
			*(early ? &k->early_kills : &k->kills) += 1;
			if (!early && k->kills == TEAR_AT) {
				tear(c->alerts);
				tear(c->dlq);
			}
			free(text);
			continue;
		}
		cr_assert_eq(proc.status, 0, "run %d (after %d kills) exited %d: %s", k->runs,
		             k->kills + k->early_kills, proc.status, text);
		if (before.there)
			cr_assert(resumed(text),
			          "a run that finds a checkpoint resumes from it: %s", text);
		k->final_resumed = before.there;
		free(text);
		return;
	}
}

Test(checkpoint,
     a_replay_killed_again_and_again_ends_with_the_alerts_and_counts_of_one_never_killed)
{
	struct outcome t, got;
	struct cmd c;
	struct chaos k = {0};
	uint64_t rng = CHAOS_SEED;

	make_scenario(CHAOS_ACCOUNTS);
	double took = truth(&t);
	cmd_init(&c, "chaos", "2", WITH_STATE);
	/* Checkpoints every fifteenth of a whole replay, at most INTERVAL:
	 * each killed run moves the replay on by at least one, so a fast
	 * machine still gets more than MIN_KILLS in. */
	double every = took / 15 < 0.1 ? took / 15 : 0.1;
	snprintf(c.interval, sizeof(c.interval), "%dms", every < 0.02 ? 20 : (int)(every * 1000));
	/* An eighth of a whole replay: each killed run moves it on by about
	 * an interval and half that, so about ten kills land. */
	double extra = took / 8 < 0.05 ? 0.05 : took / 8;
	for (int round = 0; round < ROUNDS; round++) {
		chaos_round(&c, extra, &rng, &k);
		fprintf(stderr,
		        "checkpoint chaos round %d: checkpoints every %s, kills up to %.2f s "
		        "after one (uninterrupted replay %.2f s): %d runs, %d killed after a "
		        "checkpoint, %d while starting, %d resumed, the last %s\n",
		        round + 1, c.interval, extra, took, k.runs, k.kills, k.early_kills,
		        k.resumes, k.final_resumed ? "resumed" : "started afresh");
		if (k.kills >= MIN_KILLS && k.final_resumed)
			break;
		extra /= 2;
	}
	cr_assert_geq(k.kills, MIN_KILLS, "only %d kills landed on a running replay", k.kills);
	cr_assert(k.final_resumed, "the run that finished resumed from a checkpoint");

	size_t lines = expect_json_lines(c.alerts);
	size_t dlq_lines = expect_json_lines(c.dlq);
	outcome_read(&got, &c);
	expect_ids(got.ids, t.ids, false, "after the kills");
	expect_counts(got.summary, t.summary, "after the kills");
	char *gd = sorted_lines(got.dlq, true), *td = sorted_lines(t.dlq, true);
	cr_assert_str_eq(gd, td, "the dead letters differ from the uninterrupted replay's");
	cr_assert_eq(checkpoint_files(), 0, "the finished replay removed its checkpoint");
	char *ids = sorted_lines(t.ids, true);
	fprintf(stderr,
	        "checkpoint chaos: %d kills landed in %d runs (%d more while starting); %d "
	        "restarts cut a torn line; %zu alert ids compared (%zu alert lines written, "
	        "%zu by the uninterrupted replay); %zu dead letters compared (%zu lines "
	        "written)\n",
	        k.kills, k.runs, k.early_kills, k.cut, af_count_lines(ids), lines, t.alert_lines,
	        af_count_lines(td), dlq_lines);
	free(ids);
	free(gd);
	free(td);
	outcome_free(&got);
	outcome_free(&t);
}

/* ---- 2: another -j ---- */

Test(checkpoint, refuses_to_resume_with_another_thread_count_and_names_the_checkpoint)
{
	struct cmd c, other;
	struct af_run r;

	make_scenario(ACCOUNTS);
	cmd_init(&c, "run", "2", WITH_STATE);
	stop_midway(&c, SIGINT);
	size_t before_len = 0, after_len = 0;
	char *before = af_slurp(c.alerts, &before_len);
	cr_assert_not_null(before);

	cmd_init(&other, "run", "1", WITH_STATE);
	run(&other, &r);
	cr_assert_eq(r.status, 2, "exit %d: %s", r.status, r.err);
	cr_assert_not_null(strstr(r.err, F.manifest), "the message names the checkpoint: %s",
	                   r.err);
	cr_assert_not_null(strstr(r.err, "--fresh"), "the message mentions --fresh: %s", r.err);
	char *after = af_slurp(c.alerts, &after_len);
	cr_assert(after != NULL && after_len == before_len &&
	              memcmp(before, after, before_len) == 0,
	          "the refused run left the alerts as they were (%zu bytes, now %zu)", before_len,
	          after_len);
	cr_assert(exists(F.manifest), "the refused checkpoint is kept for the right command");
	af_run_free(&r);
	free(before);
	free(after);
}

/* ---- 3: SIGINT, then the same command ---- */

Test(checkpoint, a_replay_stopped_by_sigint_and_started_again_raises_every_alert)
{
	struct outcome t, got;
	struct cmd c;
	struct af_run r;

	make_scenario(ACCOUNTS);
	truth(&t);
	cmd_init(&c, "run", "2", WITH_STATE);
	stop_midway(&c, SIGINT);
	char *partial = af_slurp(c.summary, NULL);
	char *part_alerts = af_slurp(c.alerts, NULL);
	cr_assert(partial != NULL && part_alerts != NULL);
	fprintf(stderr, "checkpoint sigint: stopped after %lld of %lld records, %zu alerts\n",
	        af_json_int(partial, "events_in"), af_json_int(t.summary, "events_in"),
	        af_count_lines(part_alerts));

	run_ok(&c, &r);
	cr_assert(resumed(r.err), "it says it resumes: %s", r.err);
	expect_json_lines(c.alerts);
	outcome_read(&got, &c);
	expect_ids(got.ids, t.ids, false, "stopped by SIGINT and started again");
	expect_counts(got.summary, t.summary, "stopped by SIGINT and started again");
	cr_assert_eq(checkpoint_files(), 0, "the finished replay removed its checkpoint");
	fprintf(stderr,
	        "checkpoint sigint: %zu alert lines in all, %zu from the uninterrupted "
	        "replay\n",
	        got.alert_lines, t.alert_lines);
	af_run_free(&r);
	free(partial);
	free(part_alerts);
	outcome_free(&got);
	outcome_free(&t);
}

/* ---- 4: damaged files ---- */

/* The newest part of core 1 (a stopped replay leaves one per core). */
static void newest_core_part(char *path, size_t size)
{
	DIR *d = opendir(F.state);
	struct dirent *e;
	unsigned long long best = 0, id;
	bool found = false;

	cr_assert_not_null(d, "%s", F.state);
	while ((e = readdir(d)) != NULL) {
		char tail[8];
		if (sscanf(e->d_name, "core-1.%llu.%5s", &id, tail) == 2 &&
		    strcmp(tail, "snap") == 0 && (!found || id > best)) {
			best = id;
			found = true;
		}
	}
	closedir(d);
	cr_assert(found, "no core-1.*.snap in %s", F.state);
	snprintf(path, size, "%s/core-1.%llu.snap", F.state, best);
}

/* Run c, which must be refused (exit 2) with a message naming path and
 * mentioning --fresh, leaving the alerts file as it was (before). */
static void expect_refused(const struct cmd *c, const char *path, const char *before,
                           size_t before_len, const char *what)
{
	struct af_run r;
	size_t after_len = 0;

	run(c, &r);
	cr_assert_eq(r.status, 2, "%s: exit %d: %s", what, r.status, r.err);
	cr_assert_not_null(strstr(r.err, path), "%s: the message names %s: %s", what, path, r.err);
	cr_assert_not_null(strstr(r.err, "--fresh"), "%s: the message mentions --fresh: %s", what,
	                   r.err);
	char *after = af_slurp(c->alerts, &after_len);
	cr_assert(after != NULL && after_len == before_len &&
	              memcmp(before, after, before_len) == 0,
	          "%s: the refused run left the alerts as they were (%zu bytes, now %zu)", what,
	          before_len, after_len);
	free(after);
	af_run_free(&r);
}

Test(checkpoint, refuses_a_damaged_checkpoint_and_starts_over_with_fresh)
{
	struct outcome t, got;
	struct cmd c, fresh;
	struct af_run r;
	char part[PATH_MAX], saved[PATH_MAX];

	make_scenario(ACCOUNTS);
	truth(&t);
	cmd_init(&c, "run", "2", WITH_STATE);
	stop_midway(&c, SIGINT);
	size_t before_len = 0;
	char *before = af_slurp(c.alerts, &before_len);
	cr_assert_not_null(before);

	/* A byte flipped in the middle of the manifest. */
	cr_assert(mkdir(F.backup, 0700) == 0 || errno == EEXIST);
	snprintf(saved, sizeof(saved), "%s/checkpoint", F.backup);
	copy_file(F.manifest, saved);
	size_t len = 0;
	char *m = af_slurp(F.manifest, &len);
	cr_assert(m != NULL && len > 0);
	m[len / 2] ^= 0x5a;
	cr_assert_eq(af_spit(F.manifest, m, len), 0);
	free(m);
	expect_refused(&c, F.manifest, before, before_len, "a flipped byte in the manifest");

	/* The manifest whole again, a part cut to half its length. */
	copy_file(saved, F.manifest);
	newest_core_part(part, sizeof(part));
	struct stat st;
	cr_assert_eq(stat(part, &st), 0);
	cr_assert_eq(truncate(part, st.st_size / 2), 0);
	expect_refused(&c, part, before, before_len, "a part cut short");

	cmd_init(&fresh, "run", "2", WITH_STATE | FRESH);
	run_ok(&fresh, &r);
	cr_assert(!resumed(r.err), "--fresh starts from the beginning: %s", r.err);
	outcome_read(&got, &fresh);
	expect_ids(got.ids, t.ids, true, "--fresh after a damaged checkpoint");
	expect_counts(got.summary, t.summary, "--fresh after a damaged checkpoint");
	cr_assert_eq(checkpoint_files(), 0, "the finished replay removed its checkpoint");
	af_run_free(&r);
	free(before);
	outcome_free(&got);
	outcome_free(&t);
}

/* ---- 5: a finished replay ---- */

Test(checkpoint, a_finished_replay_removes_its_checkpoint_and_the_same_command_starts_over)
{
	struct outcome t, got;
	struct cmd c;
	struct af_run r;

	make_scenario(ACCOUNTS);
	truth(&t);
	cmd_init(&c, "run", "2", WITH_STATE);
	for (int pass = 1; pass <= 2; pass++) {
		run_ok(&c, &r);
		cr_assert(!resumed(r.err), "pass %d starts from the beginning: %s", pass, r.err);
		cr_assert_eq(checkpoint_files(), 0, "pass %d left no checkpoint behind", pass);
		outcome_read(&got, &c);
		expect_ids(got.ids, t.ids, true, pass == 1 ? "a whole replay" : "the same again");
		expect_counts(got.summary, t.summary,
		              pass == 1 ? "a whole replay" : "the same again");
		outcome_free(&got);
		af_run_free(&r);
	}
	outcome_free(&t);
}

/* ---- 6: an input changed ---- */

Test(checkpoint, refuses_to_resume_when_an_input_changed_in_the_part_already_read)
{
	struct outcome t, got;
	struct cmd c;
	struct af_run r;
	char orig[PATH_MAX];

	make_scenario(ACCOUNTS);
	truth(&t);
	cmd_init(&c, "run", "2", WITH_STATE);
	stop_midway(&c, SIGINT);
	size_t before_len = 0, len = 0;
	char *before = af_slurp(c.alerts, &before_len);
	cr_assert_not_null(before);

	/* The checkpoint has read at least a batch of each input, so both
	 * changes touch what it read: the input cut to its first record, and
	 * a line put in front of its records, longer than any of them, so
	 * that every later record moves (resuming finds where its last record
	 * was read, which an edit of the same length would not move). */
	snprintf(orig, sizeof(orig), "%s.orig", F.in[0]);
	cr_assert_eq(rename(F.in[0], orig), 0);
	char *text = af_slurp(orig, &len);
	cr_assert_not_null(text);
	size_t first = strcspn(text, "\n") + 1;
	cr_assert_lt(first, len);
	cr_assert_eq(af_spit(F.in[0], text, first), 0);
	expect_refused(&c, F.in[0], before, before_len, "an input cut to its first record");
	FILE *f = fopen(F.in[0], "w");
	cr_assert_not_null(f);
	fputc('{', f);
	for (int i = 0; i < 100000; i++)
		fputc(' ', f);
	fputs("}\n", f);
	fwrite(text, 1, len, f);
	cr_assert_eq(fclose(f), 0);
	expect_refused(&c, F.in[0], before, before_len, "an input with a record put in front");
	free(text);

	/* The checkpoint survives the refusals: the input as it was resumes. */
	cr_assert_eq(rename(orig, F.in[0]), 0);
	run_ok(&c, &r);
	cr_assert(resumed(r.err), "it resumes once the input is as it was: %s", r.err);
	outcome_read(&got, &c);
	expect_ids(got.ids, t.ids, false, "resumed with the input as it was");
	expect_counts(got.summary, t.summary, "resumed with the input as it was");
	af_run_free(&r);
	free(before);
	outcome_free(&got);
	outcome_free(&t);
}
