/* test_sink_outage.c - issue 7's sink outage, end to end: `auditflow run`
 * consumes a generated scenario from `auditflow broker` and sends its
 * alerts and every event to an HTTP webhook (webhook.h's server, answered
 * by this test) that answers 503 to everything for a while, then recovers.
 * The run must exit 0 having delivered every alert and every event (the
 * alert ids the webhook accepted are exactly those of a run without the
 * webhook), dead-letter nothing, and stay within a bounded margin of that
 * run's peak memory however long the outage lasts.
 *
 * Thread: the test's; the webhook answers on libmicrohttpd's polling
 * thread into counters and id lists under the webhook's mutex, read by
 * the test once the run has exited. Each run is a real process, waited
 * for with wait4() for its peak resident size (ru_maxrss).
 * Links: webhook.c and libmicrohttpd (tests/CMakeLists.txt).
 *
 * DESIGN: why `run` and why events. Only `auditflow run` has the HTTP
 * output (`replay` writes files), so the scenario goes through the
 * embedded broker. The scenario raises a handful of alerts, far fewer
 * than the sink's queue holds (10,000 documents), so an outage that held
 * only alerts back would never reach the pipeline; http.events sends the
 * ~344,000 events through the same sink, which then fills, and the run
 * can only go on by holding the source back (sinks/deliver.h): that is
 * the back-pressure under test. The outage run names no events file, so
 * the events it sends are there for http.events alone (they once came only
 * with an events file); the reference run writes its events to /dev/null,
 * so both runs format every event. An event document names its partition
 * and offset ("log.*"), so its whole text is unique to its record and
 * the webhook counts distinct events by a 64-bit hash of that text.
 * DESIGN: the outage is a duration (OUTAGE_MS, or AF_E2E_OUTAGE_MS in the
 * environment to try others), not an assertion; it counts from the first
 * refused request, since joining the group takes a run a few seconds.
 * Nothing here is timed: the run cannot finish during the outage without
 * giving documents up, which the checks on what arrived would see, so
 * "still running when the outage ended" follows from back-pressure and
 * is no race.
 * DESIGN: memory. Both runs cap librdkafka's read-ahead (PREFETCH), which
 * is not auditflow's to bound, so that the comparison is about the
 * pipeline's and the sink's queues; see PEAK_FACTOR for why the bound
 * catches a queue that grows with the outage.
 * DESIGN: the sink's back-off (full jitter up to 30 s, not configurable)
 * grows with each failed request, to a ceiling of 6.4 or 12.8 s after a
 * 6 s outage; without Retry-After it starts again within that of the
 * recovery.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"
#include "scenario.h"
#include "webhook.h"

extern char **environ;

/* How long the webhook refuses everything, unless AF_E2E_OUTAGE_MS says:
 * long enough for a sink that piled documents up instead of holding the
 * source back to have read the whole input by the end (see PEAK_FACTOR;
 * after 3 s such a sink had read only part of it, by chance more or
 * less). */
#define OUTAGE_MS 6000
/* Deadline for a run to exit: against a hang, far above the ~20 s a run
 * with the outage takes. */
#define RUN_WAIT_S 240
/* librdkafka's read-ahead, which auditflow sets to 256 MiB: about this
 * whole input, fetched ahead at whatever pace, in either run. */
#define PREFETCH "queued.max.messages.kbytes=16384"
/* Documents per request: small, so that thousands of requests are made. */
#define BATCH_ITEMS 25
/* The bound on the outage run's peak: this times the reference's peak,
 * plus MARGIN_KB (the sink's queue holds up to 64 MiB of documents). Both
 * runs may hold the whole input in flight (the Kafka source keeps up to
 * AF_RT_TRACK batches of messages), so a sink that kept every document
 * through the outage would add a copy of it. Tried with the sink's queue
 * made unbounded, a 6 s outage took the peak to 687 MB against a
 * reference of 400 to 420 MB (bound 570 to 600 MB), and 1 to 3 s outages
 * to 560 to 700 MB; the bounded sink has stayed within 55 MB of the
 * reference, outages of 1 to 12 s alike. */
#define PEAK_FACTOR 1.25
#define MARGIN_KB   (64L * 1024)

/* ---- the webhook: 503 during the outage; otherwise 200, keeping what came ---- */

struct hook {
	struct af_e2e_webhook w;
	atomic_bool outage;
	size_t requests, refused, accepted;
	/* Each accepted alert's id as "\"id\":\"ID\"\n" (af_e2e_alert_ids
	 * reads it back), retries' copies included. */
	char *ids;
	size_t ids_len, ids_cap;
	/* A hash of each accepted event document, copies included. */
	uint64_t *ev;
	size_t nev, ev_cap;
	size_t other;    /* accepted documents neither an alert nor an event */
	size_t bad_body; /* accepted bodies that were not a JSON array of objects */
};

/* p (elem-byte items, *cap of them) with room for need, moved as realloc
 * moves it; NULL (p untouched) when out of memory. */
static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return p;
	size_t cap2 = *cap ? *cap : 4096;
	while (cap2 < need)
		cap2 *= 2;
	void *q = realloc(p, cap2 * elem);
	if (q != NULL)
		*cap = cap2;
	return q;
}

static uint64_t fnv1a(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
	return h;
}

/* End of the JSON object that starts at p[i] ('{'), just past its '}';
 * 0 when the text ends first. */
static size_t object_end(const char *p, size_t len, size_t i)
{
	int depth = 0;
	bool in_str = false;
	for (; i < len; i++) {
		char c = p[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if ((c == '}' || c == ']') && --depth == 0) {
			return i + 1;
		}
	}
	return 0;
}

static size_t skip_ws(const char *p, size_t len, size_t i)
{
	while (i < len && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
		i++;
	return i;
}

/* Note one document of an accepted body. @pre the webhook's mutex held
 * (hook_answer). */
static void hook_doc(struct hook *h, const char *doc, size_t len)
{
	static const char alert[] = "{\"id\":\"";
	static const char event[] = "\"event.kind\":\"event\"";

	if (len > sizeof(alert) - 1 && memcmp(doc, alert, sizeof(alert) - 1) == 0) {
		const char *id = doc + sizeof(alert) - 1;
		const char *q = memchr(id, '"', len - (sizeof(alert) - 1));
		size_t n = q ? (size_t)(q - id) : 0;
		char *ids = n > 0 ? grow(h->ids, &h->ids_cap, h->ids_len + n + 10, 1) : NULL;
		if (ids == NULL) {
			h->other++;
			return;
		}
		h->ids = ids;
		h->ids_len += (size_t)sprintf(h->ids + h->ids_len, "\"id\":\"%.*s\"\n", (int)n, id);
	} else if (memmem(doc, len, event, sizeof(event) - 1) != NULL) {
		uint64_t *ev = grow(h->ev, &h->ev_cap, h->nev + 1, sizeof(*h->ev));
		if (ev == NULL) {
			h->other++;
			return;
		}
		h->ev = ev;
		h->ev[h->nev++] = fnv1a(doc, len);
	} else {
		h->other++;
	}
}

/* Note what an accepted webhook body carried: a JSON array of documents.
 * @pre the webhook's mutex held (hook_answer). */
static void hook_take(struct hook *h, const char *p, size_t len)
{
	size_t i = skip_ws(p, len, 0);
	if (i == len || p[i++] != '[')
		goto bad;
	for (;;) {
		i = skip_ws(p, len, i);
		if (i < len && p[i] == ']')
			return;
		if (i == len || p[i] != '{')
			goto bad;
		size_t end = object_end(p, len, i);
		if (end == 0)
			goto bad;
		hook_doc(h, p + i, end - i);
		i = skip_ws(p, len, end);
		if (i < len && p[i] == ',')
			i++;
		else if (i == len || p[i] != ']')
			goto bad;
	}
bad:
	h->bad_body++;
}

/* The webhook's answer: 503 during the outage, else 200, keeping what the
 * body carried. Thread: the webhook's, under its mutex. */
static unsigned hook_answer(void *arg, const struct af_e2e_webhook_req *req, const char **answer)
{
	struct hook *h = arg;
	/* One reading of the flag decides the answer. Relaxed: the flag
	 * publishes nothing else (hook_recover's store). */
	bool down = atomic_load_explicit(&h->outage, memory_order_relaxed);
	h->requests++;
	if (down) {
		h->refused++;
		*answer = "{\"error\":\"outage\"}";
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	}
	h->accepted++;
	hook_take(h, req->body, req->body_len);
	return MHD_HTTP_OK;
}

/* Start on an ephemeral loopback port, refusing everything until
 * hook_recover. */
static void hook_start(struct hook *h)
{
	char err[256];
	/* Before the daemon's thread exists: it starts with the flag set. */
	atomic_store_explicit(&h->outage, true, memory_order_relaxed);
	cr_assert_eq(af_e2e_webhook_open(&h->w, hook_answer, h, err, sizeof(err)), 0, "%s", err);
}

static void hook_recover(struct hook *h)
{
	/* Relaxed, as hook_answer's load: only the flag itself is read. */
	atomic_store_explicit(&h->outage, false, memory_order_relaxed);
}

/* Requests refused so far. */
static size_t hook_refused(struct hook *h)
{
	af_e2e_webhook_lock(&h->w);
	size_t n = h->refused;
	af_e2e_webhook_unlock(&h->w);
	return n;
}

/* Stop answering; what was seen stays for the test to read. */
static void hook_quiesce(struct hook *h)
{
	af_e2e_webhook_close(&h->w);
}

static void hook_free(struct hook *h)
{
	hook_quiesce(h);
	free(h->ids);
	free(h->ev);
	memset(h, 0, sizeof(*h));
}

/* ---- a run waited for with wait4(), for its peak resident size ---- */

struct child {
	pid_t pid;      /* 0: not running */
	int status;     /* exit status, or 128+signal */
	long maxrss_kb; /* ru_maxrss once reaped */
};

static void child_spawn(struct child *c, const char *const *argv, const char *out_path,
                        const char *err_path)
{
	posix_spawn_file_actions_t fa;
	memset(c, 0, sizeof(*c));
	cr_assert_eq(posix_spawn_file_actions_init(&fa), 0);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int rc = posix_spawn(&c->pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		c->pid = 0;
	cr_assert_eq(rc, 0, "cannot start %s: %s", argv[0], strerror(rc));
}

/* Whether c still runs; once it has exited, reaps it (status, maxrss_kb)
 * and answers false. */
static bool child_running(struct child *c)
{
	struct rusage ru;
	int st = 0;
	if (c->pid == 0)
		return false;
	pid_t got = wait4(c->pid, &st, WNOHANG, &ru);
	if (got == 0)
		return true;
	cr_assert_eq(got, c->pid, "wait4: %s", strerror(errno));
	c->pid = 0;
	c->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	c->maxrss_kb = ru.ru_maxrss;
	return false;
}

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void child_kill(struct child *c)
{
	if (c->pid == 0)
		return;
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	c->pid = 0;
}

/* Wait up to RUN_WAIT_S (a deadline against a hang, polled every 10 ms)
 * for c to exit and reap it; a run still going then is killed and the
 * test fails. */
static void child_reap(struct child *c, const char *what)
{
	uint64_t deadline = now_ms() + RUN_WAIT_S * 1000ull;
	while (child_running(c)) {
		if (now_ms() > deadline) {
			child_kill(c);
			cr_assert_fail("%s still runs after %d s", what, RUN_WAIT_S);
		}
		nap_ms(10);
	}
}

/* A field of /proc/PID/status in kB ("VmRSS", "VmHWM"), or -1. */
static long proc_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	long kb = -1;
	size_t flen = strlen(field);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, flen) == 0 && line[flen] == ':')
			kb = strtol(line + flen + 1, NULL, 10);
	fclose(f);
	return kb;
}

/* ---- the suite ---- */

/* What the suite's .fini must stop or free when an assertion ends the
 * test early. */
static struct af_e2e_broker broker;
static struct hook hook;
static struct child run;
static struct {
	char *ref_ids, *run_ids, *hook_ids, *conf_geo, *err, *dlq, *sum, *ref_sum;
} held;

static void outage_fini(void)
{
	child_kill(&run);
	hook_free(&hook);
	free(held.ref_ids);
	free(held.run_ids);
	free(held.hook_ids);
	free(held.conf_geo);
	free(held.err);
	free(held.dlq);
	free(held.sum);
	free(held.ref_sum);
	memset(&held, 0, sizeof(held));
	af_e2e_broker_close(&broker);
	af_e2e_teardown();
}

TestSuite(sink_outage, .init = af_e2e_setup, .fini = outage_fini, .timeout = 600);

static const char *const topics[] = {"signins", "audit", "messagetrace"};

static long outage_ms(void)
{
	const char *v = getenv("AF_E2E_OUTAGE_MS");
	long ms = v ? strtol(v, NULL, 10) : -1;
	return ms >= 0 ? ms : OUTAGE_MS;
}

/* Under AddressSanitizer (the sanitizer build of AF_BIN), freed memory
 * waits in a quarantine of up to 256 MiB before it is reused; the outage
 * run, which allocates and frees a request body per request, fills it and
 * the reference run may not, which would weigh more than the margin.
 * Both runs get a small one (it still catches a use of memory freed
 * shortly before); other binaries ignore the variable. */
static void small_quarantine(void)
{
	const char *old = getenv("ASAN_OPTIONS");
	char opts[1024];
	snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=16", old ? old : "",
	         old && *old ? ":" : "");
	cr_assert_eq(setenv("ASAN_OPTIONS", opts, 1), 0);
}

/* The scratch file NAME.ext's path into buf[4200]. */
static void scratch(char *buf, const char *name, const char *ext)
{
	char f[64];
	snprintf(f, sizeof(f), "%s.%s", name, ext);
	snprintf(buf, 4200, "%s", af_e2e_path(f));
}

/* Start `auditflow run` over the scenario's topics from the beginning in
 * group, config conf, alerts to NAME.alerts, dead letters to NAME.dlq, the
 * summary to NAME.sum, stdout and stderr to NAME.out and NAME.err, and
 * with events_file, events to /dev/null. */
static void start_run(const char *name, const char *conf, const char *group, bool events_file)
{
	char alerts[4200], dlq[4200], sum[4200], out[4200], err[4200];
	scratch(alerts, name, "alerts");
	scratch(dlq, name, "dlq");
	scratch(sum, name, "sum");
	scratch(out, name, "out");
	scratch(err, name, "err");
	const char *argv[] = {AF_BIN,    "run",   "-c",      conf,        "-b",        broker.addr,
	                      "-G",      group,   "-e",      "-t",        topics[0],   "-t",
	                      topics[1], "-t",    topics[2], "--offset",  "beginning", "-o",
	                      alerts,    "--dlq", dlq,       "--summary", sum,         "-X",
	                      PREFETCH,  NULL,    NULL,      NULL};
	if (events_file) {
		argv[25] = "--events-out";
		argv[26] = "/dev/null";
	}
	child_spawn(&run, argv, out, err);
}

/* The scratch file NAME.ext's text (owned; "" when missing). */
static char *run_file(const char *name, const char *ext)
{
	char path[4200];
	scratch(path, name, ext);
	char *text = af_slurp(path, NULL);
	if (text == NULL)
		text = strdup("");
	cr_assert_not_null(text);
	return text;
}

/* The distinct lines of sorted text, and how many lines repeat the one
 * before them. */
static size_t distinct_lines(const char *sorted, size_t *dups)
{
	size_t n = 0;
	const char *prev = NULL;
	size_t prev_len = 0;
	*dups = 0;
	for (const char *p = sorted; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (prev != NULL && len == prev_len && memcmp(p, prev, len) == 0)
			(*dups)++;
		else
			n++;
		prev = p;
		prev_len = len;
		p += len + (nl != NULL);
	}
	return n;
}

/* sorted with each line once. Owned. */
static char *uniq_lines(const char *sorted)
{
	char *out = malloc(strlen(sorted) + 1);
	cr_assert_not_null(out);
	size_t w = 0, prev_at = 0, prev_len = 0;
	bool first = true;
	for (const char *p = sorted; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (first || len != prev_len || memcmp(out + prev_at, p, len) != 0) {
			prev_at = w;
			prev_len = len;
			memcpy(out + w, p, len);
			w += len;
			out[w++] = '\n';
			first = false;
		}
		p += len + (nl != NULL);
	}
	out[w] = '\0';
	return out;
}

/* Lines in the file at path (read in pieces: the inputs are large). */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

Test(sink_outage,
     an_http_sink_that_fails_for_a_while_then_recovers_receives_every_alert_in_bounded_memory)
{
	/* 300 accounts x 14 days: 344,311 records, 247 MB of JSON. */
	const char *const gen[] = {"--accounts", "300", NULL};
	af_scn_make("seed-incident", gen);
	const char *const extra[] = {"--topic", "signins:8",      "--topic", "audit:16",
	                             "--topic", "messagetrace:8", NULL};
	small_quarantine();
	size_t records = (size_t)af_scn_to_broker(&broker, extra, NULL);
	char geo_conf[4200], hook_conf[4200];
	snprintf(geo_conf, sizeof(geo_conf), "%s", af_e2e_path("geo.yaml"));
	snprintf(hook_conf, sizeof(hook_conf), "%s", af_e2e_path("hook.yaml"));

	/* 1. The reference: no webhook; its alert ids are the expected set. */
	start_run("ref", geo_conf, "reference", true);
	child_reap(&run, "the reference run");
	held.err = run_file("ref", "err");
	cr_assert_eq(run.status, 0, "the reference run failed: %s", held.err);
	free(held.err);
	held.err = NULL;
	long ref_peak_kb = run.maxrss_kb;
	char *text = run_file("ref", "alerts");
	held.ref_ids = af_e2e_alert_ids(text);
	free(text);
	cr_assert_not_null(held.ref_ids);
	size_t nref = af_count_lines(held.ref_ids);
	cr_assert_gt(nref, 0, "the scenario raises alerts");
	held.ref_sum = run_file("ref", "sum");
	long long ref_events = af_json_int(held.ref_sum, "events_ok");
	cr_assert_eq(ref_events, (long long)records,
	             "the broker kept every record and the reference run read them: %s",
	             held.ref_sum);

	/* 2. The outage run: the webhook refuses everything for the outage's
	 * length, then takes everything. */
	hook_start(&hook);
	held.conf_geo = af_slurp(geo_conf, NULL);
	cr_assert_not_null(held.conf_geo);
	FILE *f = fopen(hook_conf, "w");
	cr_assert_not_null(f);
	fprintf(f,
	        "%s\n"
	        "http:\n"
	        "  kind: webhook\n"
	        "  url: \"http://127.0.0.1:%u/hook\"\n"
	        "  events: true\n"
	        "  batch_items: %d\n"
	        "  max_retries: 0\n"
	        "  backoff_max: 1s\n",
	        held.conf_geo, hook.w.port, BATCH_ITEMS);
	cr_assert_eq(fclose(f), 0);

	long outage = outage_ms();
	start_run("hook", hook_conf, "outage", false);
	/* The outage counts from the first refusal: joining the group takes
	 * the run a few seconds before anything reaches the webhook. */
	uint64_t deadline = now_ms() + RUN_WAIT_S * 1000ull;
	while (hook_refused(&hook) == 0 && now_ms() < deadline && child_running(&run))
		nap_ms(10);
	long rss_max_kb = 0;
	uint64_t until = now_ms() + (uint64_t)outage;
	while (now_ms() < until && child_running(&run)) {
		long kb = proc_kb(run.pid, "VmRSS");
		rss_max_kb = kb > rss_max_kb ? kb : rss_max_kb;
		nap_ms(100);
	}
	bool held_back = child_running(&run);
	long hwm_at_end_kb = held_back ? proc_kb(run.pid, "VmHWM") : -1;
	size_t refused_in_outage = hook_refused(&hook);
	hook_recover(&hook);
	child_reap(&run, "the outage run");
	hook_quiesce(&hook);

	held.err = run_file("hook", "err");
	held.dlq = run_file("hook", "dlq");
	held.sum = run_file("hook", "sum");
	text = run_file("hook", "alerts");
	held.run_ids = af_e2e_alert_ids(text);
	free(text);
	cr_assert_not_null(held.run_ids);
	held.hook_ids = af_e2e_alert_ids(hook.ids ? hook.ids : "");
	cr_assert_not_null(held.hook_ids);
	size_t alert_dups = 0;
	size_t nalerts = distinct_lines(held.hook_ids, &alert_dups);
	qsort(hook.ev, hook.nev, sizeof(*hook.ev), cmp_u64);
	size_t nevents = 0, event_dups = 0;
	for (size_t i = 0; i < hook.nev; i++) {
		if (i > 0 && hook.ev[i] == hook.ev[i - 1])
			event_dups++;
		else
			nevents++;
	}
	long long run_events = af_json_int(held.sum, "events_ok");

	cr_log_info("outage %ld ms: %zu requests, %zu answered 503 (%zu during the outage), %zu "
	            "answered 200; %zu distinct alerts (%zu duplicates) of %zu expected, %zu "
	            "distinct events (%zu duplicates) of %lld",
	            outage, hook.requests, hook.refused, refused_in_outage, hook.accepted, nalerts,
	            alert_dups, nref, nevents, event_dups, run_events);
	cr_log_info("peak RSS: reference run %ld kB, outage run %ld kB (%ld kB at the outage's "
	            "end, %ld kB the most seen during it); bound %ld kB",
	            ref_peak_kb, run.maxrss_kb, hwm_at_end_kb, rss_max_kb,
	            (long)(PEAK_FACTOR * (double)ref_peak_kb) + MARGIN_KB);

	/* 3. Every alert and every event arrived, nothing was given up. */
	cr_assert_eq(run.status, 0, "the outage run failed: %s", held.err);
	cr_assert(held_back,
	          "the run ended during the outage instead of waiting for the webhook: %s",
	          held.err);
	cr_assert_geq(refused_in_outage, 1, "the outage refused no request");
	cr_assert_null(strstr(held.err, "could not be delivered"), "%s", held.err);
	cr_assert_null(strstr(held.dlq, "undeliverable"), "dead letters: %.2000s", held.dlq);
	cr_assert_eq(hook.bad_body, 0, "bodies that were not a JSON array of documents");
	cr_assert_eq(hook.other, 0, "documents that were neither an alert nor an event");
	char *want = uniq_lines(held.ref_ids);
	char *got = uniq_lines(held.hook_ids);
	bool same = strcmp(got, want) == 0;
	if (!same)
		cr_log_error("expected alert ids:\n%sthe webhook accepted:\n%s", want, got);
	free(want);
	free(got);
	cr_assert(same, "the webhook accepted other alerts than the reference run raised");
	cr_assert_str_eq(held.run_ids, held.ref_ids, "the run's alerts file differs");
	cr_assert_eq(run_events, ref_events, "%s", held.sum);
	cr_assert_eq((long long)nevents, run_events, "the webhook got %zu distinct events of %lld",
	             nevents, run_events);

	/* 4. Memory: held back, not piled up. */
	cr_assert_leq(run.maxrss_kb, (long)(PEAK_FACTOR * (double)ref_peak_kb) + MARGIN_KB,
	              "peak RSS %ld kB against the reference's %ld kB", run.maxrss_kb, ref_peak_kb);
}
