/* test_runtime.c - the runtime (pipeline/runtime/runtime.h) through its
 * real threads: an in-memory source written here hands it JSON lines made
 * with records.h (Management Activity API sign-ins and Entra sign-ins in
 * the diagnostic form, and whatever a test writes itself), the sinks write
 * to files in a mkdtemp directory, the configuration is the defaults, and
 * there is no geo hub.
 *
 * Covered: every record is accounted for (read = ok + dead-lettered +
 * duplicate, each dead letter with its reason in the file, one event line
 * per event) for 1 to 4 threads and batches of 1, 3 and 256 records; the
 * alert set does not depend on the thread count or the batch size; a
 * source error ends the run with the source's message; a stop before the
 * source ends leaves consistent counts for what was read; several inputs
 * interleaved, their frontiers rising; records that do not fit the room
 * left in a batch, or fill it to its last byte; thousands of alerts and
 * dead letters, more than the messages to the sink hold at once; a source
 * with nothing to read.
 *
 * Thread: each test runs the runtime's threads and waits for them; the
 * source's fill runs on the runtime's source thread and shares state with
 * the test's thread only through atomics (or after af_runtime_wait).
 * No test asserts timing: a test that waits for the source polls with
 * short sleeps, and a hang ends at Criterion's timeout.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/config.h"
#include "pipeline/reason.h"
#include "pipeline/runtime/runtime.h"
#include "sinks/alert_out.h"
#include "sinks/dlq.h"
#include "sinks/events_ecs.h"
#include "sinks/summary.h"

#include "records.h"

/* 2025-08-25T06:00:00Z, in seconds. */
#define T0 INT64_C(1756101600)

#define INPUTS_MAX   4
#define SOURCE_ERROR "the export server closed the connection"

/* ---- the in-memory source ---- */

struct src_input {
	struct af_recs_cursor cur;
	bool ended; /* its last batch is handed over */
};

struct mem_src {
	struct src_input in[INPUTS_MAX];
	uint32_t ninputs;
	uint32_t turn;       /* next input to read, round robin */
	uint32_t fail_after; /* fills that succeed before one fails; 0: none fails */
	uint32_t hold_after; /* fills before the source waits for release; 0: never */
	atomic_bool released;
	_Atomic uint32_t fills;
	/* Frontiers seen from fill, per input: the first value above
	 * INT64_MIN, the last, and whether one was ever lower than the one
	 * before it. */
	int64_t first_seen[INPUTS_MAX], last_seen[INPUTS_MAX];
	bool fell;
};

static void src_init(struct mem_src *s, const struct af_recs *inputs, uint32_t ninputs)
{
	memset(s, 0, sizeof(*s));
	cr_assert_leq(ninputs, INPUTS_MAX);
	s->ninputs = ninputs;
	for (uint32_t i = 0; i < ninputs; i++) {
		s->in[i].cur.in = &inputs[i];
		s->first_seen[i] = s->last_seen[i] = INT64_MIN;
	}
	atomic_init(&s->released, false);
	atomic_init(&s->fills, 0);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void watch_frontiers(struct mem_src *s, struct af_runtime *rt)
{
	for (uint32_t i = 0; i < s->ninputs; i++) {
		int64_t f = af_runtime_frontier(rt, i);
		if (f < s->last_seen[i])
			s->fell = true;
		if (s->first_seen[i] == INT64_MIN)
			s->first_seen[i] = f;
		s->last_seen[i] = f;
	}
}

/* The fill: one batch from the next unfinished input, in turn. */
static af_err_t mem_fill(void *ctx, struct af_runtime *rt, struct af_rt_batch *b, char *errstr,
                         size_t errstr_size)
{
	struct mem_src *s = ctx;
	uint32_t k = atomic_fetch_add(&s->fills, 1) + 1;

	if (s->fail_after != 0 && k > s->fail_after) {
		snprintf(errstr, errstr_size, "%s", SOURCE_ERROR);
		return AF_E_IO;
	}
	if (s->hold_after != 0 && k > s->hold_after)
		while (!atomic_load(&s->released))
			sleep_ms(1);
	watch_frontiers(s, rt);

	struct src_input *in = NULL;
	for (uint32_t t = 0; t < s->ninputs && in == NULL; t++) {
		uint32_t i = (s->turn + t) % s->ninputs;
		if (!s->in[i].ended) {
			in = &s->in[i];
			b->input = i;
			s->turn = i + 1;
		}
	}
	if (in == NULL)
		return AF_EOF;
	uint32_t file = af_runtime_path_index(rt, "memory");
	af_recs_fill(&in->cur, b, file, SIZE_MAX);
	if (b->count == 0 && !af_recs_ended(&in->cur)) {
		/* Not a Criterion assert: this is the source thread. */
		snprintf(errstr, errstr_size, "record %zu (%zu bytes) fit no empty batch",
		         in->cur.next, in->cur.in->v[in->cur.next].len);
		return AF_E_INVALID;
	}
	if (af_recs_ended(&in->cur)) {
		in->ended = true;
		b->last = true;
	}
	return AF_OK;
}

/* ---- a run ---- */

/* One run of the runtime: what it reads (by default in[0], its own), its
 * files and configuration, and what it ended with. */
struct run {
	struct af_recs in[INPUTS_MAX]; /* its own records; run_fini frees them */
	struct mem_src src;            /* reads in[0] unless run_read says else */
	struct af_recs_scratch sc;
	struct af_summary sum;
	af_err_t err;
	char errstr[512];
};

static void run_set(struct run *r, const char *key, const char *value)
{
	af_recs_scratch_set(&r->sc, key, value);
}

static void run_init(struct run *r, uint32_t threads, uint32_t batch)
{
	memset(r, 0, sizeof(*r));
	af_recs_scratch_init(&r->sc, threads, batch);
	src_init(&r->src, r->in, 1);
}

/* Read inputs[0..n) instead (borrowed: they outlive the run); resets the
 * source. */
static void run_read(struct run *r, const struct af_recs *inputs, uint32_t n)
{
	src_init(&r->src, inputs, n);
}

static void run_fini(struct run *r)
{
	af_recs_scratch_fini(&r->sc);
	for (int i = 0; i < INPUTS_MAX; i++)
		af_recs_free(&r->in[i]);
}

/* Called between af_runtime_start and af_runtime_wait. */
typedef void run_during_fn(struct af_runtime *rt, struct mem_src *s);

/* Run the runtime over r's source into r's files; r->err and r->errstr get
 * what af_runtime_wait said, r->sum the counts. Set-up failures fail the
 * test. */
static void run_go(struct run *r, run_during_fn *during)
{
	char err[512];
	struct af_runtime *rt = NULL;

	af_summary_init(&r->sum);
	struct af_dlq *dlq = af_dlq_open(r->sc.dlq_path, 0, err, sizeof(err));
	cr_assert_not_null(dlq, "%s", err);
	struct af_ecs_out *events = af_ecs_open(r->sc.events_path, err, sizeof(err));
	cr_assert_not_null(events, "%s", err);
	struct af_alert_out *alerts =
	    af_alert_out_open(r->sc.alerts_path, AF_OUTPUT_NATIVE, NULL, err, sizeof(err));
	cr_assert_not_null(alerts, "%s", err);

	struct af_rt_source src = {.ctx = &r->src, .ninputs = r->src.ninputs, .fill = mem_fill};
	struct af_rt_sinks sinks = {.alerts = alerts, .dlq = dlq, .events = events};
	cr_assert_eq(af_runtime_new(&r->sc.cfg, &src, &sinks, NULL, &rt, err, sizeof(err)), AF_OK,
	             "%s", err);
	cr_assert_eq(af_runtime_threads(rt), r->sc.cfg.runtime.threads);
	cr_assert_eq(af_runtime_start(rt, err, sizeof(err)), AF_OK, "%s", err);
	if (during != NULL)
		during(rt, &r->src);
	r->err = af_runtime_wait(rt, &r->sum, r->errstr, sizeof(r->errstr));
	cr_assert(af_runtime_done(rt));
	af_runtime_free(rt);

	cr_assert_eq(af_alert_out_close(alerts, err, sizeof(err)), AF_OK, "%s", err);
	cr_assert_eq(af_ecs_close(events, err, sizeof(err)), AF_OK, "%s", err);
	cr_assert_eq(af_dlq_close(dlq, err, sizeof(err)), AF_OK, "%s", err);
}

/* run_go with nothing done during the run, which must end without error. */
static void run_ok(struct run *r)
{
	run_go(r, NULL);
	cr_assert_eq(r->err, AF_OK, "%s: %s", r->sc.label, r->errstr);
}

/* The threads and batch size of one run of a series. */
struct shape {
	uint32_t threads, batch;
};

#define THREADS_MAX 4

/* -j 1 to THREADS_MAX, each with every size of batches[0..n), into out
 * (room for THREADS_MAX * n); returns how many. */
static size_t every_thread_count(struct shape *out, const uint32_t *batches, size_t n)
{
	size_t k = 0;

	for (uint32_t j = 1; j <= THREADS_MAX; j++)
		for (size_t b = 0; b < n; b++)
			out[k++] = (struct shape){j, batches[b]};
	return k;
}

/* Checks one run of a series; ctx is the series'. */
typedef void run_check_fn(struct run *r, const struct af_recs *in, void *ctx);

/* Run in (borrowed) once per shape, each into fresh files with settings
 * applied (key, value, ..., NULL; or NULL), each ending without error,
 * then check it. */
static void run_series(const struct af_recs *in, const struct shape *shapes, size_t n,
                       const char *const *settings, run_check_fn *check, void *ctx)
{
	cr_assert_gt(n, 0, "a series of no runs");
	for (size_t k = 0; k < n; k++) {
		struct run r;

		run_init(&r, shapes[k].threads, shapes[k].batch);
		for (size_t i = 0; settings != NULL && settings[i] != NULL; i += 2)
			run_set(&r, settings[i], settings[i + 1]);
		run_read(&r, in, 1);
		run_ok(&r);
		check(&r, in, ctx);
		run_fini(&r);
	}
}

/* ---- files read back ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, got;

	cr_assert_not_null(f, "cannot open %s", path);
	do {
		if (cap - len < 4096) {
			cap = cap ? 2 * cap : 65536;
			buf = realloc(buf, cap + 1);
			cr_assert_not_null(buf);
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
	} while (got > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (const char *p = text; *p != '\0'; p++)
		n += *p == '\n';
	return n;
}

static size_t count_of(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The file's lines sorted, joined by newlines again. */
static char *sorted_lines(const char *path)
{
	char *text = slurp(path);
	size_t n = count_lines(text), i = 0;
	char **v = calloc(n ? n : 1, sizeof(*v));
	size_t len = strlen(text);
	char *out = malloc(len + 1), *o = out;

	cr_assert(v != NULL && out != NULL);
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save))
		v[i++] = l;
	qsort(v, i, sizeof(*v), cmp_str);
	for (size_t k = 0; k < i; k++)
		o += sprintf(o, "%s\n", v[k]);
	*o = '\0';
	free(v);
	free(text);
	return out;
}

static size_t lines_in(const char *path)
{
	char *text = slurp(path);
	size_t n = count_lines(text);

	free(text);
	return n;
}

static size_t count_in_file(const char *path, const char *needle)
{
	char *text = slurp(path);
	size_t n = count_of(text, needle);

	free(text);
	return n;
}

/* ---- inputs for the tests ---- */

/* Reasons the accounting input dead-letters, with how many of each. */
struct bad_count {
	enum af_reason reason;
	size_t n;
};

static const struct bad_count accounting_bad[] = {
    {AF_REASON_MALFORMED_JSON, 3}, {AF_REASON_NOT_OBJECT, 1},    {AF_REASON_UNKNOWN_SCHEMA, 1},
    {AF_REASON_BAD_TIMESTAMP, 1},  {AF_REASON_MISSING_FIELD, 1}, {AF_REASON_OVERSIZE, 1},
};
#define ACCOUNTING_DUPLICATES 5

/* 300 sign-ins with the bad records of accounting_bad spread through
 * them and ACCOUNTING_DUPLICATES records repeated (same Id, same bytes)
 * a few minutes of event time after their first copy. */
static void accounting_input(struct af_recs *in)
{
	char id[32];

	for (int i = 0; i < 300; i++) {
		int64_t t = T0 + 20 * i;
		snprintf(id, sizeof(id), "acct-%d", i);
		if (i % 3 == 0)
			af_recs_entra_signin(in, id, "ana@contoso.example", "198.51.100.20", t,
			                     i % 9 == 0 ? 50126 : 0);
		else
			af_recs_m365_signin(in, id,
			                    i % 2 ? "bo@contoso.example" : "cy@contoso.example",
			                    "2001:db8:7::1", t, i % 11 == 0);
		if (i % 60 == 17 && i / 60 < ACCOUNTING_DUPLICATES) {
			/* Repeat a record from ten records back. */
			af_recs_repeat(in, in->n - 10);
		}
		switch (i) {
		case 5: af_recs_add(in, "{\"CreationTime\":\"2025-08-25T06:01:00\",\"Id\":"); break;
		case 40: af_recs_add(in, "this is not JSON at all"); break;
		case 41: af_recs_add(in, "{\"Id\":\"x\",}"); break;
		case 90: af_recs_add(in, "[\"an\",\"array\"]"); break;
		case 130: af_recs_add(in, "{\"hello\":\"world\",\"n\":1}"); break;
		case 170:
			af_recs_add(in,
			            "{\"CreationTime\":\"yesterday-ish\",\"Id\":\"bad-ts\","
			            "\"Operation\":\"UserLoggedIn\",\"Workload\":"
			            "\"AzureActiveDirectory\",\"UserId\":\"ana@contoso.example\"}");
			break;
		case 171:
			af_recs_add(in,
			            "{\"CreationTime\":\"2025-08-25T06:57:00\",\"Id\":\"no-user\","
			            "\"Operation\":\"UserLoggedIn\",\"RecordType\":15,"
			            "\"Workload\":\"AzureActiveDirectory\"}");
			break;
		case 250:
			af_recs_add_rejected(in, AF_REASON_OVERSIZE,
			                     "{\"CreationTime\":\"2025-08-25T07");
			break;
		}
	}
}

struct timed {
	int64_t t_s;
	int order;
	int kind; /* 0 ordinary success, 1 m365 failure, 2 entra failure */
	char account[48], ip[48];
};

static int cmp_timed(const void *a, const void *b)
{
	const struct timed *x = a, *y = b;

	if (x->t_s != y->t_s)
		return x->t_s < y->t_s ? -1 : 1;
	return x->order - y->order;
}

/* Three hours of ordinary sign-ins of 40 accounts, with two failure
 * bursts on one account each (signin_fail_burst) and two sprays from one
 * address over many accounts (password_spray, the address route), in
 * event-time order but for neighbours swapped every so often (the merge
 * puts them back). */
static void alerting_input(struct af_recs *in)
{
	struct timed *ev = calloc(2000, sizeof(*ev));
	int n = 0;

	cr_assert_not_null(ev);
	for (int m = 0; m < 180; m += 2)
		for (int a = m % 8; a < 40; a += 8, n++) {
			ev[n] = (struct timed){.t_s = T0 + 60 * m + a, .order = n};
			snprintf(ev[n].account, sizeof(ev[n].account), "user%02d@contoso.example",
			         a);
			snprintf(ev[n].ip, sizeof(ev[n].ip), "203.0.113.%d", 100 + a);
		}
	/* user05: 12 failures, 30 s apart, from 01:00; user17: 15 failures,
	 * 20 s apart, from 02:00, over IPv6. */
	for (int i = 0; i < 12; i++, n++) {
		ev[n] = (struct timed){.t_s = T0 + 3600 + 30 * i, .order = n, .kind = 1};
		strcpy(ev[n].account, "user05@contoso.example");
		strcpy(ev[n].ip, "198.51.100.77");
	}
	for (int i = 0; i < 15; i++, n++) {
		ev[n] = (struct timed){.t_s = T0 + 7200 + 20 * i, .order = n, .kind = 1};
		strcpy(ev[n].account, "user17@contoso.example");
		strcpy(ev[n].ip, "2001:db8:17::9");
	}
	/* Sprays: 9 accounts from 192.0.2.66 one a minute from 01:30; 7 from
	 * 2001:db8:bad::1 from 02:30, Entra form. */
	for (int i = 0; i < 9; i++, n++) {
		ev[n] = (struct timed){.t_s = T0 + 5400 + 60 * i + 7, .order = n, .kind = 2};
		snprintf(ev[n].account, sizeof(ev[n].account), "user%02d@contoso.example",
		         3 * i + 1);
		strcpy(ev[n].ip, "192.0.2.66");
	}
	for (int i = 0; i < 7; i++, n++) {
		ev[n] = (struct timed){.t_s = T0 + 9000 + 45 * i + 3, .order = n, .kind = 2};
		snprintf(ev[n].account, sizeof(ev[n].account), "user%02d@contoso.example",
		         5 * i + 2);
		strcpy(ev[n].ip, "2001:db8:bad::1");
	}
	cr_assert_lt(n, 2000);
	qsort(ev, (size_t)n, sizeof(*ev), cmp_timed);
	for (int i = 0; i + 1 < n; i += 13) {
		struct timed t = ev[i];
		ev[i] = ev[i + 1];
		ev[i + 1] = t;
	}
	for (int i = 0; i < n; i++) {
		char id[32];
		snprintf(id, sizeof(id), "al-%d", ev[i].order);
		bool failed = ev[i].kind != 0;
		if (ev[i].kind == 2 || i % 2)
			af_recs_entra_signin(in, id, ev[i].account, ev[i].ip, ev[i].t_s,
			                     failed ? 50126 : 0);
		else
			af_recs_m365_signin(in, id, ev[i].account, ev[i].ip, ev[i].t_s, failed);
	}
	free(ev);
}

/* ---- tests ---- */

static size_t bad_total(void)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(accounting_bad) / sizeof(accounting_bad[0]); i++)
		n += accounting_bad[i].n;
	return n;
}

/* Every record read is an event, a dead letter or a duplicate, the summary
 * agrees with itself, and each event has its line in the events file. */
static void expect_accounted(struct run *r)
{
	cr_expect_eq(r->sum.events_ok + r->sum.events_invalid + r->sum.duplicates, r->sum.events_in,
	             "%s", r->sc.label);
	cr_expect(af_summary_consistent(&r->sum), "%s", r->sc.label);
	cr_expect_eq(lines_in(r->sc.events_path), r->sum.events_ok, "%s", r->sc.label);
}

/* Read n records and made an event of each. */
static void expect_all_ok(const struct run *r, size_t n)
{
	cr_expect_eq(r->sum.events_in, n, "%s", r->sc.label);
	cr_expect_eq(r->sum.events_ok, n, "%s", r->sc.label);
}

static void accounted_for_in_full(struct run *r, const struct af_recs *in, void *ctx)
{
	size_t bad = bad_total();
	(void)ctx;

	cr_expect_eq(r->sum.events_in, in->n, "%s", r->sc.label);
	cr_expect_eq(r->sum.events_invalid, bad, "%s", r->sc.label);
	cr_expect_eq(r->sum.duplicates, ACCOUNTING_DUPLICATES, "%s", r->sc.label);
	cr_expect_eq(r->sum.events_ok, in->n - bad - ACCOUNTING_DUPLICATES, "%s", r->sc.label);
	cr_expect_eq(r->sum.accounts, 3, "%s", r->sc.label);
	expect_accounted(r);

	char *dlq = slurp(r->sc.dlq_path);
	cr_expect_eq(count_lines(dlq), bad, "%s", r->sc.label);
	for (size_t i = 0; i < sizeof(accounting_bad) / sizeof(accounting_bad[0]); i++) {
		char needle[64];
		enum af_reason why = accounting_bad[i].reason;
		snprintf(needle, sizeof(needle), "\"reason\":\"%s\"", af_reason_name(why));
		cr_expect_eq(count_of(dlq, needle), accounting_bad[i].n, "%s: %s", r->sc.label,
		             needle);
		cr_expect_eq(r->sum.invalid_by_reason[why], accounting_bad[i].n, "%s: %s",
		             r->sc.label, needle);
	}
	cr_expect_eq(count_of(dlq, "\"path\":\"memory\""), bad, "%s", r->sc.label);
	free(dlq);
}

Test(runtime, accounts_for_every_record_whatever_the_threads_and_batch_size, .timeout = 120)
{
	static const uint32_t batches[] = {1, 3, 256};
	struct shape shapes[THREADS_MAX * 3];
	struct af_recs in = {0};

	accounting_input(&in);
	run_series(&in, shapes, every_thread_count(shapes, batches, 3), NULL, accounted_for_in_full,
	           NULL);
	af_recs_free(&in);
}

/* ctx: the sorted alerts of the series' first run (owned), which each
 * later run must raise too, as many as its summary says. */
static void same_alerts_as_the_first(struct run *r, const struct af_recs *in, void *ctx)
{
	char **first = ctx;
	char *alerts = sorted_lines(r->sc.alerts_path);
	(void)in;

	cr_expect_eq(r->sum.alerts, count_lines(alerts), "%s", r->sc.label);
	if (*first == NULL) {
		*first = alerts;
		return;
	}
	cr_expect_str_eq(alerts, *first, "%s", r->sc.label);
	free(alerts);
}

static void every_event_and_the_same_alerts(struct run *r, const struct af_recs *in, void *ctx)
{
	cr_expect_eq(r->sum.events_ok, in->n, "%s", r->sc.label);
	same_alerts_as_the_first(r, in, ctx);
}

Test(runtime, raises_the_same_alerts_whatever_the_threads_and_batch_size, .timeout = 120)
{
	static const uint32_t batches[] = {1, 5, 64};
	struct shape shapes[THREADS_MAX * 3];
	struct af_recs in = {0};
	char *first = NULL;

	alerting_input(&in);
	run_series(&in, shapes, every_thread_count(shapes, batches, 3), NULL,
	           every_event_and_the_same_alerts, &first);
	cr_assert_geq(count_of(first, "\"rule\":\"signin_fail_burst\""), 2, "%s", first);
	cr_assert_geq(count_of(first, "\"rule\":\"password_spray\""), 2, "%s", first);
	free(first);
	af_recs_free(&in);
}

Test(runtime, ends_with_the_sources_error_when_its_fill_fails, .timeout = 30)
{
	struct run r;

	run_init(&r, 3, 10);
	af_recs_ordinary(&r.in[0], "err", T0, 200);
	r.src.fail_after = 3;
	run_go(&r, NULL);
	cr_expect_neq(r.err, AF_OK);
	cr_expect_str_eq(r.errstr, SOURCE_ERROR);
	cr_expect_eq(atomic_load(&r.src.fills), 4, "the source was asked again after failing");
	cr_expect_leq(r.sum.events_in, 30);
	run_fini(&r);
}

/* Stop the run while the source waits in its fill after a few batches,
 * then let it go on: it should read nothing more. */
static void stop_while_reading(struct af_runtime *rt, struct mem_src *s)
{
	while (atomic_load(&s->fills) <= s->hold_after)
		sleep_ms(1);
	af_runtime_stop(rt);
	atomic_store(&s->released, true);
}

Test(runtime, stops_reading_on_request_and_finishes_what_it_read, .timeout = 30)
{
	struct run r;
	struct af_recs *in = &r.in[0];

	run_init(&r, 2, 8);
	/* A bad record and a repeated one among the first batches. */
	af_recs_ordinary(in, "s1", T0, 25);
	af_recs_add(in, "{broken");
	af_recs_ordinary(in, "s2", T0 + 25 * 60, 5);
	af_recs_repeat(in, 24);
	af_recs_ordinary(in, "s3", T0 + 30 * 60, 3000);
	r.src.hold_after = 4;
	run_go(&r, stop_while_reading);
	cr_assert_eq(r.err, AF_OK, "%s", r.errstr);
	cr_expect_lt(r.sum.events_in, in->n);
	cr_expect_geq(r.sum.events_in, 4 * 8);
	cr_expect_eq(r.sum.events_invalid, 1);
	cr_expect_eq(r.sum.duplicates, 1);
	cr_expect_eq(r.sum.late, 0);
	expect_accounted(&r);
	run_fini(&r);
}

Test(runtime, reads_interleaved_inputs_with_their_frontiers_rising, .timeout = 30)
{
	struct run r;
	size_t total = 0;

	run_init(&r, 3, 4);
	/* The same hours in each input, as three exports of one period. */
	af_recs_ordinary(&r.in[0], "a", T0, 240);
	af_recs_ordinary(&r.in[1], "b", T0 + 17, 180);
	af_recs_ordinary(&r.in[2], "c", T0 + 29, 300);
	for (int i = 0; i < 3; i++)
		total += r.in[i].n;
	run_read(&r, r.in, 3);
	run_ok(&r);
	expect_all_ok(&r, total);
	cr_expect_eq(r.sum.late, 0);
	cr_expect_not(r.src.fell, "a frontier went back");
	for (int i = 0; i < 3; i++) {
		/* The pool holds 10 batches and each input gives 45 or more:
		 * most came back (their frontier published) before the last
		 * fills, so the source saw each frontier rise during the run. */
		cr_expect_neq(r.src.first_seen[i], INT64_MIN, "input %d", i);
		cr_expect_gt(r.src.last_seen[i], r.src.first_seen[i], "input %d", i);
		cr_expect_leq(r.src.last_seen[i], r.in[i].max_ts_ns, "input %d", i);
	}
	run_fini(&r);
}

/* A frontier after the run: checked in a test of its own, as it needs the
 * runtime after af_runtime_wait. */
Test(runtime, leaves_each_inputs_frontier_at_its_latest_event_time, .timeout = 30)
{
	struct run r;
	char err[512];
	struct af_runtime *rt = NULL;

	run_init(&r, 2, 3);
	af_recs_ordinary(&r.in[0], "a", T0, 40);
	af_recs_ordinary(&r.in[1], "b", T0 + 3600, 30);
	af_recs_ordinary(&r.in[2], "c", T0 - 3600, 50);
	run_read(&r, r.in, 3);
	struct af_dlq *dlq = af_dlq_open(NULL, 0, err, sizeof(err));
	struct af_alert_out *alerts =
	    af_alert_out_open(r.sc.alerts_path, AF_OUTPUT_NATIVE, NULL, err, sizeof(err));
	cr_assert(dlq != NULL && alerts != NULL, "%s", err);
	struct af_rt_source src = {.ctx = &r.src, .ninputs = 3, .fill = mem_fill};
	struct af_rt_sinks sinks = {.alerts = alerts, .dlq = dlq};
	cr_assert_eq(af_runtime_new(&r.sc.cfg, &src, &sinks, NULL, &rt, err, sizeof(err)), AF_OK,
	             "%s", err);
	for (uint32_t i = 0; i < 3; i++)
		cr_expect_eq(af_runtime_frontier(rt, i), INT64_MIN, "input %u before the run", i);
	cr_assert_eq(af_runtime_start(rt, err, sizeof(err)), AF_OK, "%s", err);
	cr_assert_eq(af_runtime_wait(rt, &r.sum, err, sizeof(err)), AF_OK, "%s", err);
	for (uint32_t i = 0; i < 3; i++)
		cr_expect_eq(af_runtime_frontier(rt, i), r.in[i].max_ts_ns, "input %u", i);
	cr_expect_eq(r.sum.events_ok, 120);
	af_runtime_free(rt);
	cr_assert_eq(af_alert_out_close(alerts, err, sizeof(err)), AF_OK, "%s", err);
	cr_assert_eq(af_dlq_close(dlq, err, sizeof(err)), AF_OK, "%s", err);
	run_fini(&r);
}

/* Each failure alerts (threshold 1, no suppression): thousands of alerts,
 * many more than the messages each core has for the sink, so cores wait
 * for the sink to give messages back. */
Test(runtime, writes_every_alert_when_alerts_outnumber_the_sink_messages, .timeout = 60)
{
	static const struct shape shapes[] = {{1, 1}, {3, 7}, {4, 64}};
	static const char *const settings[] = {"rules.suppression", "0",
	                                       "rules.signin_fail_burst.threshold", "1", NULL};
	struct af_recs in = {0};
	char *first = NULL;

	for (int i = 0; i < 3000; i++) {
		char id[16], account[48], ip[32];
		snprintf(id, sizeof(id), "f-%d", i);
		snprintf(account, sizeof(account), "user%02d@contoso.example", i % 30);
		snprintf(ip, sizeof(ip), "198.51.100.%d", i % 11);
		af_recs_m365_signin(&in, id, account, ip, T0 + 2 * i, true);
	}
	run_series(&in, shapes, sizeof(shapes) / sizeof(shapes[0]), settings,
	           same_alerts_as_the_first, &first);
	cr_expect_eq(count_of(first, "\"rule\":\"signin_fail_burst\""), 3000);
	free(first);
	af_recs_free(&in);
}

/* Far more dead letters than one message to the sink holds. */
Test(runtime, writes_a_dead_letter_for_every_bad_record_of_a_mostly_bad_input, .timeout = 30)
{
	struct run r;

	run_init(&r, 3, 5);
	for (int i = 0; i < 4000; i++) {
		if (i % 10 == 0)
			af_recs_m365_signin(&r.in[0], "ok", "an@contoso.example", "192.0.2.10",
			                    T0 + i, false);
		else
			af_recs_add(&r.in[0],
			            "{\"CreationTime\":\"2025-08-25T06:%02d:00\",\"Id\":%d,%0*d",
			            i % 60, i, 200 + i % 300, 7);
	}
	run_ok(&r);
	cr_expect_eq(r.sum.events_invalid, 3600);
	cr_expect_eq(r.sum.invalid_by_reason[AF_REASON_MALFORMED_JSON], 3600);
	/* The same record 400 times: one event, the rest duplicates. */
	cr_expect_eq(r.sum.events_ok, 1);
	cr_expect_eq(r.sum.duplicates, 399);
	cr_expect_eq(lines_in(r.sc.dlq_path), 3600);
	cr_expect_eq(count_in_file(r.sc.dlq_path, "\"reason\":\"malformed_json\""), 3600);
	run_fini(&r);
}

Test(runtime, ends_at_once_when_the_source_has_nothing, .timeout = 30)
{
	struct run r;

	run_init(&r, 4, 256);
	run_read(&r, r.in, 2);
	run_ok(&r);
	expect_all_ok(&r, 0);
	cr_expect_eq(r.sum.alerts, 0);
	char *alerts = slurp(r.sc.alerts_path);
	cr_expect_str_eq(alerts, "");
	free(alerts);
	run_fini(&r);
}

/* A sign-in whose "Note" pads it to exactly len bytes. */
static void add_padded_signin(struct af_recs *in, const char *id, int64_t t_s, size_t len)
{
	char ts[32];
	const char *head_fmt =
	    "{\"CreationTime\":\"%s\",\"Id\":\"%s\",\"Operation\":\"UserLoggedIn\","
	    "\"Workload\":\"AzureActiveDirectory\",\"ClientIP\":\"192.0.2.10\","
	    "\"Note\":\"";
	const char *tail = "\",\"UserId\":\"an@contoso.example\"}";
	char head[256];

	af_recs_iso(ts, sizeof(ts), t_s, false);
	int hl = snprintf(head, sizeof(head), head_fmt, ts, id);
	size_t tl = strlen(tail);
	cr_assert_gt(len, (size_t)hl + tl);
	char *text = malloc(len + 1);
	cr_assert_not_null(text);
	memcpy(text, head, (size_t)hl);
	memset(text + hl, 'x', len - (size_t)hl - tl);
	memcpy(text + len - tl, tail, tl + 1);
	af_recs_push(in, text, len, AF_REASON_NONE);
	af_recs_note_ts(in, t_s);
}

/* Runs -j 2, batches of 256, under max_record_bytes max over n sign-ins
 * one a second from T0, each padded to len bytes but, with plain_every,
 * every plain_every-th a plain one; each must become an event. Returns the
 * fills the source was asked for. */
static uint32_t run_padded(const char *max, int n, size_t len, int plain_every)
{
	struct run r;

	run_init(&r, 2, 256);
	run_set(&r, "input.max_record_bytes", max);
	for (int i = 0; i < n; i++) {
		char id[16];
		snprintf(id, sizeof(id), "p-%d", i);
		if (plain_every != 0 && i % plain_every == plain_every - 1)
			af_recs_m365_signin(&r.in[0], id, "bo@contoso.example", "192.0.2.11",
			                    T0 + i, false);
		else
			add_padded_signin(&r.in[0], id, T0 + i, len);
	}
	run_ok(&r);
	expect_all_ok(&r, (size_t)n);
	uint32_t fills = atomic_load(&r.src.fills);
	run_fini(&r);
	return fills;
}

/* The batch's byte room is at least max_record_bytes and at least 1 MiB
 * (runtime.c): with 2 MiB records of 900 KiB leave room for two, so every
 * third goes to the next batch, though the batch has record slots left. */
Test(runtime, moves_a_record_that_does_not_fit_the_room_left_to_the_next_batch, .timeout = 30)
{
	cr_expect_geq(run_padded("2MiB", 12, 900 * 1024, 4), 5,
	              "the big records did not span batches");
}

Test(runtime, passes_records_of_3_kib_under_a_max_record_bytes_of_4_kib, .timeout = 30)
{
	run_padded("4KiB", 300, 3 * 1024, 0);
}

/* The parser reads AF_JSON_PADDING bytes past a record (pipeline/parse/
 * parse.h's precondition). A record of exactly max_record_bytes fills an
 * empty batch to its last byte; the first batch handed out is the last
 * object of the pool's arena, so under AddressSanitizer a read past the
 * batch is a read past the allocation. */
Test(runtime, parses_a_record_that_fills_its_batch_to_the_last_byte, .timeout = 30)
{
	struct run r;

	run_init(&r, 1, 256);
	add_padded_signin(&r.in[0], "full", T0, 1024 * 1024);
	af_recs_m365_signin(&r.in[0], "after", "bo@contoso.example", "192.0.2.11", T0 + 1, false);
	run_ok(&r);
	cr_expect_eq(r.sum.events_ok, 2);
	cr_expect_eq(atomic_load(&r.src.fills), 3);
	run_fini(&r);
}
