/* test_runtime_track.c - the runtime's completion tracking and what came
 * with it (pipeline/runtime/runtime.h), through the real threads: a
 * source's complete callback hears of every record done, in order, and
 * never before what the record raised was accepted by the outputs; outlets
 * (struct af_rt_outlet) get every alert and dead-letter chunk once, with
 * tokens, through back-pressure, and can fail the run (then nothing after
 * the refused alert is done, and the outlet is offered nothing more);
 * inputs that start idle (every event applied; an account's events in the
 * same order for any thread count), idle batches with no records, fill
 * answering AF_E_AGAIN, hold while the source waits, and a record far
 * ahead in event time that must not hold completion back for ever.
 *
 * Thread: each test runs the runtime and waits for it. The source written
 * here (fill, complete, hold) runs on the runtime's source thread and the
 * outlet on its sink thread; both only record what they see (the outlet
 * behind a mutex, as the source's completion check reads it), and the test
 * asserts on it after af_runtime_wait: Criterion asserts on the test's
 * thread only.
 * No test asserts timing. Where a test needs the run to have reached a
 * point (the outlet settled nothing yet, a held event let go), the runtime
 * cannot go on without reaching it: the source may run at most
 * AF_RT_TRACK batches ahead of completion, so a run that ends proves it; a
 * hang ends at Criterion's timeout.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/alert.h"
#include "pipeline/clock.h"
#include "pipeline/config.h"
#include "pipeline/runtime/runtime.h"
#include "sinks/alert_out.h"
#include "sinks/dlq.h"
#include "sinks/events_ecs.h"
#include "sinks/summary.h"

#include "records.h"

#define SEC INT64_C(1000000000)
/* 2025-08-25T06:00:00Z, in seconds. */
#define T0 INT64_C(1756101600)

#define INPUTS_MAX   4
#define OUTLET_ERROR "the broker refused the alert"
#define VICTIM       "victim@contoso.example"

/* ---- records ---- */

/* count sign-ins one a minute from start_s: successes of seven accounts
 * but, with fail_every, every fail_every-th (seq fail_every - 1, ...) a
 * failure of VICTIM, and, with bad_every, every bad_every-th (seq
 * bad_every - 2, ...) a record that is not JSON. Record k's time is
 * start_s + 60 k. */
static void signins(struct af_recs *in, const char *tag, int64_t start_s, int count, int fail_every,
                    int bad_every)
{
	for (int i = 0; i < count; i++) {
		char id[48], account[48], ip[32];
		int64_t t = start_s + 60 * i;

		snprintf(id, sizeof(id), "%s-%d", tag, i);
		snprintf(account, sizeof(account), "user%02d@contoso.example", i % 7);
		snprintf(ip, sizeof(ip), "203.0.113.%d", 10 + i % 7);
		if (fail_every != 0 && i % fail_every == fail_every - 1)
			af_recs_m365_signin(in, id, VICTIM, "198.51.100.9", t, true);
		else if (bad_every != 0 && i % bad_every == bad_every - 2)
			af_recs_add(in, "{\"CreationTime\":\"broken %d", i);
		else if (i % 2 == 0)
			af_recs_m365_signin(in, id, account, ip, t, false);
		else
			af_recs_entra_signin(in, id, account, ip, t, 0);
	}
}

/* ---- the outlet ---- */

struct seen_alert {
	int64_t ts_ns;
	uint64_t token;
	char account[AF_ACCOUNT_MAX];
	char rule[32];
};

/* An output that delivers later, written for the tests: it keeps what it
 * is given with its token, answers AF_E_AGAIN or fails as told, and
 * settles what it took (all of it) once its gate is open. */
struct outlet {
	pthread_mutex_t mu;
	/* Policy, set before the run. */
	const atomic_bool *gate; /* NULL: settle at once; else nothing until *gate */
	uint64_t again_until;    /* offers before this many answer AF_E_AGAIN two in three */
	uint64_t fail_at;        /* 0: never; else the fail_at-th alert offered fails */
	long fail_after_ms;      /* and takes this long to say so */
	/* What happened. */
	uint64_t offers, agains, alert_offers;
	uint64_t failed_token; /* the token of the alert refused; valid when failed */
	bool failed;
	uint64_t after_failure; /* offers after the failure */
	uint64_t taken;         /* tokens taken: the next must be this */
	uint64_t told;          /* the largest settled count returned */
	uint64_t token_wrong;   /* offers whose token was not `taken` */
	struct seen_alert *alerts;
	size_t nalerts, alerts_cap;
	char *dlq; /* the dead-letter chunks, one after the other */
	size_t dlq_len, dlq_cap;
	uint64_t dlq_chunks, event_chunks;
	uint64_t cut_chunks; /* chunks not ending with a whole line */
};

static void outlet_init(struct outlet *o)
{
	memset(o, 0, sizeof(*o));
	cr_assert_eq(pthread_mutex_init(&o->mu, NULL), 0);
}

static void outlet_fini(struct outlet *o)
{
	pthread_mutex_destroy(&o->mu);
	free(o->alerts);
	free(o->dlq);
}

/* An offer: whether to answer AF_E_AGAIN. Checks the token. @locks o->mu */
static bool outlet_offer(struct outlet *o, uint64_t token)
{
	uint64_t k = o->offers++;

	if (token != o->taken)
		o->token_wrong++;
	if (k < o->again_until && k % 3 != 2) {
		o->agains++;
		return true;
	}
	return false;
}

static af_err_t outlet_alert(void *ctx, uint64_t token, const struct af_alert *a, char *errstr,
                             size_t errstr_size)
{
	struct outlet *o = ctx;
	af_err_t err = AF_OK;

	pthread_mutex_lock(&o->mu);
	if (o->failed)
		o->after_failure++;
	if (o->fail_at != 0 && ++o->alert_offers == o->fail_at) {
		o->failed = true;
		o->failed_token = token;
		pthread_mutex_unlock(&o->mu);
		/* A broker that takes its time to refuse: the cores go on
		 * meanwhile, as they would. */
		struct timespec ts = {0, o->fail_after_ms * 1000000L};
		nanosleep(&ts, NULL);
		snprintf(errstr, errstr_size, "%s", OUTLET_ERROR);
		return AF_E_IO;
	}
	if (outlet_offer(o, token)) {
		err = AF_E_AGAIN;
		goto out;
	}
	if (o->nalerts == o->alerts_cap) {
		o->alerts_cap = o->alerts_cap ? 2 * o->alerts_cap : 256;
		o->alerts = realloc(o->alerts, o->alerts_cap * sizeof(*o->alerts));
		if (o->alerts == NULL)
			abort(); /* the sink thread: no Criterion assert here */
	}
	struct seen_alert *s = &o->alerts[o->nalerts++];
	s->ts_ns = a->ts_ns;
	s->token = token;
	memcpy(s->account, a->account, sizeof(s->account));
	snprintf(s->rule, sizeof(s->rule), "%s", a->rule);
	o->taken++;
out:
	pthread_mutex_unlock(&o->mu);
	return err;
}

static af_err_t outlet_lines(void *ctx, uint64_t token, enum af_rt_lines kind, const char *text,
                             size_t len, char *errstr, size_t errstr_size)
{
	struct outlet *o = ctx;
	af_err_t err = AF_OK;
	(void)errstr;
	(void)errstr_size;

	pthread_mutex_lock(&o->mu);
	if (o->failed)
		o->after_failure++;
	if (outlet_offer(o, token)) {
		err = AF_E_AGAIN;
		goto out;
	}
	if (len == 0 || text[len - 1] != '\n')
		o->cut_chunks++;
	if (kind == AF_RT_LINES_DLQ) {
		if (o->dlq_len + len + 1 > o->dlq_cap) {
			o->dlq_cap = 2 * (o->dlq_len + len + 1);
			o->dlq = realloc(o->dlq, o->dlq_cap);
			if (o->dlq == NULL)
				abort();
		}
		memcpy(o->dlq + o->dlq_len, text, len);
		o->dlq_len += len;
		o->dlq[o->dlq_len] = '\0';
		o->dlq_chunks++;
	} else {
		o->event_chunks++;
	}
	o->taken++;
out:
	pthread_mutex_unlock(&o->mu);
	return err;
}

static uint64_t outlet_settled(void *ctx, int timeout_ms)
{
	struct outlet *o = ctx;
	uint64_t n;

	pthread_mutex_lock(&o->mu);
	n = o->gate == NULL || atomic_load(o->gate) ? o->taken : 0;
	if (n > o->told)
		o->told = n;
	bool waiting = n < o->taken;
	pthread_mutex_unlock(&o->mu);
	if (waiting && timeout_ms > 0) {
		/* A real output would wait for its deliveries here. */
		struct timespec ts = {0, 1000000L};
		nanosleep(&ts, NULL);
	}
	return n;
}

static const struct af_rt_outlet outlet_ops_proto = {
    .alert = outlet_alert,
    .lines = outlet_lines,
    .settled = outlet_settled,
};

/* ---- the source ---- */

/* One list of records, read as runtime input `input`. */
struct list {
	struct af_recs_cursor cur;
	uint32_t input;
	size_t first_cut; /* records in its first batch at most; 0: as many as fit */
	uint32_t batches;
	bool ended;
	bool idle_due; /* hand an empty idle batch for it next */
};

/* Completions heard for one runtime input. */
struct heard {
	uint64_t n;
	uint64_t last;  /* the last seq; valid when n > 0 */
	bool went_back; /* a seq below the one before */
};

/* Records whose alert must be settled before their completion: their seqs
 * in input, and their alerts' times. */
struct guard {
	const struct outlet *outlet;
	const atomic_bool *gate;
	uint32_t input;
	const uint64_t *seq;
	const int64_t *ts_ns;
	size_t n;
	uint64_t before_gate; /* completions at or after seq[0] before the gate opened */
	uint64_t uncovered;   /* completions whose records' alerts were not all settled */
};

struct src {
	struct list list[INPUTS_MAX];
	uint32_t nlists;
	uint32_t ninputs; /* declared to the runtime */
	uint32_t turn;
	/* Options, set before the run. */
	uint32_t again_first; /* fills answering AF_E_AGAIN before any batch */
	uint32_t again_every; /* then every again_every-th fill answers AF_E_AGAIN; 0: none */
	bool again_waits;     /* an AF_E_AGAIN answer waits a millisecond first, as a
	                         live source's fill waits for records */
	uint32_t idle_every;  /* an idle batch after every idle_every-th of a list; 0: none */
	int64_t watch_batch;  /* when handing this batch over, note heard[0]; -1: never */
	struct guard *guard;  /* NULL: none */
	/* What happened (source thread; read after af_runtime_wait). */
	uint32_t fills, agains;
	uint64_t handed, idle_batches;
	struct heard heard[INPUTS_MAX];
	bool complete_bad_input;
	int64_t watched_last; /* heard[0].last at watch_batch; -1: none heard */
	pthread_t fill_thread;
	bool fill_thread_known, hold_elsewhere;
	/* Shared with the test's thread or the outlet. */
	atomic_bool read_all; /* fill has answered AF_EOF */
	atomic_bool open;     /* read to the end: AF_E_AGAIN, not AF_EOF, while set */
	atomic_bool held;     /* hold has been called */
	_Atomic uint32_t holds;
};

static void src_handed(struct src *s, const struct af_rt_batch *b)
{
	if (s->watch_batch >= 0 && s->handed == (uint64_t)s->watch_batch)
		s->watched_last = s->heard[0].n > 0 ? (int64_t)s->heard[0].last : -1;
	if (b->idle && b->count == 0)
		s->idle_batches++;
	s->handed++;
}

/* The fill: one batch from the next unfinished list, in turn; AF_E_AGAIN
 * and idle batches as the options say. */
static af_err_t src_fill(void *ctx, struct af_runtime *rt, struct af_rt_batch *b, char *errstr,
                         size_t errstr_size)
{
	struct src *s = ctx;
	uint32_t k = ++s->fills;

	s->fill_thread = pthread_self();
	s->fill_thread_known = true;
	if (k <= s->again_first ||
	    (s->again_every != 0 && (k - s->again_first) % s->again_every == 0)) {
		s->agains++;
		if (s->again_waits)
			usleep(1000);
		return AF_E_AGAIN;
	}
	struct list *l = NULL;
	for (uint32_t t = 0; t < s->nlists && l == NULL; t++) {
		uint32_t i = (s->turn + t) % s->nlists;
		if (!s->list[i].ended) {
			l = &s->list[i];
			s->turn = i + 1;
		}
	}
	if (l == NULL && atomic_load(&s->open)) {
		if (s->again_waits)
			usleep(1000);
		return AF_E_AGAIN;
	}
	if (l == NULL) {
		atomic_store(&s->read_all, true);
		return AF_EOF;
	}
	b->input = l->input;
	if (l->idle_due) {
		l->idle_due = false;
		b->idle = true;
		src_handed(s, b);
		return AF_OK;
	}
	size_t max = l->batches == 0 && l->first_cut != 0 ? l->first_cut : SIZE_MAX;
	af_recs_fill(&l->cur, b, af_runtime_path_index(rt, "memory"), max);
	if (b->count == 0 && !af_recs_ended(&l->cur)) {
		snprintf(errstr, errstr_size, "record %zu fits no empty batch", l->cur.next);
		return AF_E_INVALID;
	}
	l->batches++;
	if (af_recs_ended(&l->cur)) {
		l->ended = true;
		b->last = true;
	} else if (s->idle_every != 0 && l->batches % s->idle_every == 0) {
		l->idle_due = true;
	}
	src_handed(s, b);
	return AF_OK;
}

/* Whether every record of g's list up to seq has its alert settled. */
static bool guard_covers(const struct guard *g, uint64_t seq)
{
	bool ok = true;

	pthread_mutex_lock((pthread_mutex_t *)&g->outlet->mu);
	for (size_t i = 0; i < g->n && g->seq[i] <= seq && ok; i++) {
		bool found = false;
		for (size_t a = 0; a < g->outlet->nalerts && !found; a++)
			found = g->outlet->alerts[a].ts_ns == g->ts_ns[i] &&
			        g->outlet->alerts[a].token < g->outlet->told;
		ok = found;
	}
	pthread_mutex_unlock((pthread_mutex_t *)&g->outlet->mu);
	return ok;
}

static void src_complete(void *ctx, uint32_t input, uint64_t seq)
{
	struct src *s = ctx;

	if (input >= s->ninputs || input >= INPUTS_MAX) {
		s->complete_bad_input = true;
		return;
	}
	struct heard *h = &s->heard[input];
	if (h->n > 0 && seq < h->last)
		h->went_back = true;
	h->last = seq;
	h->n++;
	struct guard *g = s->guard;
	if (g != NULL && input == g->input) {
		if (g->n > 0 && seq >= g->seq[0] && !atomic_load(g->gate))
			g->before_gate++;
		if (!guard_covers(g, seq))
			g->uncovered++;
	}
}

static void src_hold(void *ctx)
{
	struct src *s = ctx;

	if (s->fill_thread_known && !pthread_equal(pthread_self(), s->fill_thread))
		s->hold_elsewhere = true;
	atomic_fetch_add(&s->holds, 1);
	atomic_store(&s->held, true);
}

/* ---- a run ---- */

/* One run: its source, its outputs, its files and configuration, and
 * what it ended with. */
struct run {
	struct src src;
	const struct af_rt_outlet *outlet; /* NULL: the files */
	struct af_rt_outlet outlet_ops;
	bool start_idle, with_hold, with_events;
	struct af_recs_scratch sc;
	struct af_summary sum;
	af_err_t err;
	char errstr[512];
	uint64_t batches_done, forced;
	/* Called on the test's thread while the runtime runs; NULL: none. */
	void (*during)(struct run *r, struct af_runtime *rt);
};

static void run_set(struct run *r, const char *key, const char *value)
{
	af_recs_scratch_set(&r->sc, key, value);
}

static void run_init(struct run *r, uint32_t threads, uint32_t batch)
{
	memset(r, 0, sizeof(*r));
	af_recs_scratch_init(&r->sc, threads, batch);
	/* Every failure alerts: alerts are what the outputs must accept
	 * before a record is done. */
	run_set(r, "rules.suppression", "0");
	run_set(r, "rules.signin_fail_burst.threshold", "1");
	r->src.ninputs = 1;
	r->src.watch_batch = -1;
	r->src.watched_last = -1;
	atomic_init(&r->src.read_all, false);
	atomic_init(&r->src.open, false);
	atomic_init(&r->src.held, false);
	atomic_init(&r->src.holds, 0);
}

/* Read recs (borrowed: it outlives the run) as runtime input `input`. */
static struct list *run_list(struct run *r, const struct af_recs *recs, uint32_t input)
{
	cr_assert_lt(r->src.nlists, INPUTS_MAX);
	cr_assert_lt(input, INPUTS_MAX);
	struct list *l = &r->src.list[r->src.nlists++];
	l->cur.in = recs;
	l->input = input;
	if (input >= r->src.ninputs)
		r->src.ninputs = input + 1;
	return l;
}

static void run_outlet(struct run *r, struct outlet *o)
{
	r->outlet_ops = outlet_ops_proto;
	r->outlet_ops.ctx = o;
	r->outlet = &r->outlet_ops;
}

static void run_fini(struct run *r)
{
	af_recs_scratch_fini(&r->sc);
}

/* Run the runtime over r's source, with completion tracking, into r's
 * files or its outlet; r->err and r->errstr get what af_runtime_wait said,
 * r->sum the counts, r->batches_done and r->forced the runtime's. */
static void run_go(struct run *r)
{
	char err[512];
	struct af_runtime *rt = NULL;

	af_summary_init(&r->sum);
	struct af_dlq *dlq = af_dlq_open(r->sc.dlq_path, 0, err, sizeof(err));
	cr_assert_not_null(dlq, "%s", err);
	struct af_alert_out *alerts =
	    af_alert_out_open(r->sc.alerts_path, AF_OUTPUT_NATIVE, NULL, err, sizeof(err));
	cr_assert_not_null(alerts, "%s", err);
	struct af_ecs_out *events = NULL;
	if (r->with_events) {
		events = af_ecs_open(r->sc.events_path, err, sizeof(err));
		cr_assert_not_null(events, "%s", err);
	}
	struct af_rt_source src = {
	    .ctx = &r->src,
	    .ninputs = r->src.ninputs,
	    .inputs_start_idle = r->start_idle,
	    .fill = src_fill,
	    .complete = src_complete,
	    .hold = r->with_hold ? src_hold : NULL,
	};
	struct af_rt_sinks sinks = {
	    .alerts = alerts, .dlq = dlq, .events = events, .outlet = r->outlet};
	cr_assert_eq(af_runtime_new(&r->sc.cfg, &src, &sinks, NULL, &rt, err, sizeof(err)), AF_OK,
	             "%s", err);
	cr_assert_eq(af_runtime_start(rt, err, sizeof(err)), AF_OK, "%s", err);
	if (r->during != NULL)
		r->during(r, rt);
	r->err = af_runtime_wait(rt, &r->sum, r->errstr, sizeof(r->errstr));
	r->batches_done = af_runtime_batches_done(rt);
	r->forced = af_runtime_reorder_forced(rt);
	af_runtime_free(rt);

	cr_assert_eq(af_alert_out_close(alerts, err, sizeof(err)), AF_OK, "%s", err);
	if (events != NULL)
		cr_assert_eq(af_ecs_close(events, err, sizeof(err)), AF_OK, "%s", err);
	cr_assert_eq(af_dlq_close(dlq, err, sizeof(err)), AF_OK, "%s", err);
}

static void run_ok(struct run *r)
{
	run_go(r);
	cr_assert_eq(r->err, AF_OK, "%s: %s", r->sc.label, r->errstr);
}

/* Every record of recs, read as input, was heard done: in order, the last
 * one last. */
static void expect_completed(const struct run *r, uint32_t input, const struct af_recs *recs)
{
	const struct heard *h = &r->src.heard[input];

	cr_assert_gt(h->n, 0, "%s: input %u: nothing completed", r->sc.label, input);
	cr_expect_not(h->went_back, "%s: input %u: a completion went back", r->sc.label, input);
	cr_expect_eq(h->last, recs->n - 1, "%s: input %u: last completion %llu of %zu records",
	             r->sc.label, input, (unsigned long long)h->last, recs->n);
	cr_expect_not(r->src.complete_bad_input, "%s: a completion named no input", r->sc.label);
}

/* Every batch handed over is done, as the runtime counts them. */
static void expect_batches_done(const struct run *r)
{
	cr_expect_eq(r->batches_done, r->src.handed, "%s: %llu batches done of %llu", r->sc.label,
	             (unsigned long long)r->batches_done, (unsigned long long)r->src.handed);
}

static off_t file_size(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s", path);
	return st.st_size;
}

/* ---- tests ---- */

/* Two inputs with alerts and dead letters, for every thread count from 1
 * to 4 and batches of 1, 7 and 256 records. */
Test(runtime_track, completes_every_record_in_order_whatever_the_threads_and_batch_size,
     .timeout = 120)
{
	static const uint32_t threads[] = {1, 2, 4}, batches[] = {1, 7, 256};
	struct af_recs a = {0}, b = {0};

	signins(&a, "a", T0, 300, 37, 50);
	signins(&b, "b", T0 + 17, 200, 0, 90);
	for (size_t t = 0; t < 3; t++)
		for (size_t k = 0; k < 3; k++) {
			struct run r;

			run_init(&r, threads[t], batches[k]);
			run_list(&r, &a, 0);
			run_list(&r, &b, 1);
			run_ok(&r);
			expect_completed(&r, 0, &a);
			expect_completed(&r, 1, &b);
			expect_batches_done(&r);
			cr_expect_eq(r.sum.events_in, a.n + b.n, "%s", r.sc.label);
			cr_expect_eq(r.sum.events_invalid, 6 + 2, "%s", r.sc.label);
			cr_expect_eq(r.sum.alerts, 8, "%s", r.sc.label);
			run_fini(&r);
		}
	af_recs_free(&a);
	af_recs_free(&b);
}

/* The outlet settles nothing until the source has read everything: no
 * record from the first that raised an alert on is done before that, and
 * at every completion each alert raised up to it is settled. */
Test(runtime_track, completes_no_record_before_the_outlet_settled_its_alerts, .timeout = 60)
{
	static const struct {
		uint32_t threads, batch;
	} shapes[] = {{1, 1}, {2, 7}, {4, 32}};
	uint64_t seq[4];
	int64_t ts[4];
	struct af_recs in = {0};

	signins(&in, "g", T0, 400, 100, 0);
	for (int i = 0; i < 4; i++) {
		seq[i] = (uint64_t)(100 * i + 99);
		ts[i] = (T0 + 60 * (int64_t)seq[i]) * SEC;
	}
	for (size_t k = 0; k < 3; k++) {
		struct run r;
		struct outlet o;

		run_init(&r, shapes[k].threads, shapes[k].batch);
		outlet_init(&o);
		o.gate = &r.src.read_all;
		struct guard g = {.outlet = &o,
		                  .gate = &r.src.read_all,
		                  .input = 0,
		                  .seq = seq,
		                  .ts_ns = ts,
		                  .n = 4};
		r.src.guard = &g;
		run_list(&r, &in, 0);
		run_outlet(&r, &o);
		run_ok(&r);
		cr_expect_eq(o.nalerts, 4, "%s", r.sc.label);
		cr_expect_eq(g.before_gate, 0, "%s: done before the outlet settled its alert",
		             r.sc.label);
		cr_expect_eq(g.uncovered, 0, "%s: done before its alerts were settled", r.sc.label);
		expect_completed(&r, 0, &in);
		expect_batches_done(&r);
		outlet_fini(&o);
		run_fini(&r);
	}
	af_recs_free(&in);
}

/* The dead-letter lines an outlet got, by their source line, in the order
 * given; returns how many (at most max). */
static size_t dlq_lines(const struct outlet *o, uint64_t *line, size_t max)
{
	size_t n = 0;

	for (const char *p = o->dlq != NULL ? strstr(o->dlq, "\"line\":") : NULL; p != NULL;
	     p = strstr(p + 1, "\"line\":")) {
		cr_assert_lt(n, max);
		line[n++] = strtoull(p + strlen("\"line\":"), NULL, 10);
	}
	return n;
}

/* 1200 records, one in four a failure (an alert), one in ten not JSON (a
 * dead letter), through 3 cores in batches of 5, to an outlet that
 * answers AF_E_AGAIN two offers in three for its first 3000 offers. */
Test(runtime_track, hands_an_outlet_that_pushes_back_every_alert_and_dead_letter_once_in_order,
     .timeout = 60)
{
	enum { N = 1200, THREADS = 3, BATCH = 5 };
	struct af_recs in = {0};
	struct run r;
	struct outlet o;
	uint64_t lines[N];
	uint64_t last_line[THREADS] = {0};
	int seen[N + 1] = {0};

	signins(&in, "p", T0, N, 4, 10);
	run_init(&r, THREADS, BATCH);
	outlet_init(&o);
	o.again_until = 3000;
	run_list(&r, &in, 0);
	run_outlet(&r, &o);
	run_ok(&r);

	cr_expect_eq(o.token_wrong, 0, "a token was not the next one");
	cr_expect_geq(o.agains, 100, "the outlet pushed back %llu times",
	              (unsigned long long)o.agains);
	cr_expect_eq(o.taken, o.nalerts + o.dlq_chunks + o.event_chunks);
	cr_expect_eq(o.cut_chunks, 0, "a chunk ended inside a line");
	/* Alerts: one per failure (seq 3, 7, ...), each once, each account's
	 * in event order. */
	cr_expect_eq(o.nalerts, N / 4);
	for (size_t i = 0; i < o.nalerts; i++) {
		int64_t k = (o.alerts[i].ts_ns / SEC - T0) / 60;
		cr_assert(k >= 0 && k < N && k % 4 == 3, "an alert for record %lld", (long long)k);
		cr_expect_eq(seen[k]++, 0, "record %lld alerted twice", (long long)k);
		cr_expect_str_eq(o.alerts[i].account, VICTIM);
		if (i > 0)
			cr_expect_gt(o.alerts[i].ts_ns, o.alerts[i - 1].ts_ns,
			             "alert %zu out of event order", i);
	}
	/* Dead letters: one per bad line, each once, each core's in its
	 * batch order (line L is in batch (L - 1) / BATCH, which core
	 * batch mod THREADS works). */
	size_t n = dlq_lines(&o, lines, N);
	cr_expect_eq(n, N / 10);
	memset(seen, 0, sizeof(seen));
	for (size_t i = 0; i < n; i++) {
		uint64_t l = lines[i];
		cr_assert(l >= 1 && l <= N && (l - 1) % 10 == 8, "a dead letter for line %llu",
		          (unsigned long long)l);
		cr_expect_eq(seen[l]++, 0, "line %llu dead-lettered twice", (unsigned long long)l);
		size_t core = ((l - 1) / BATCH) % THREADS;
		cr_expect_gt(l, last_line[core], "core %zu: line %llu after %llu", core,
		             (unsigned long long)l, (unsigned long long)last_line[core]);
		last_line[core] = l;
	}
	expect_completed(&r, 0, &in);
	expect_batches_done(&r);
	outlet_fini(&o);
	run_fini(&r);
	af_recs_free(&in);
}

/* An outlet that refuses the first alert, of record fail_every - 1 (one
 * batch a record), taking fail_after_ms to say so: 3000 sign-ins, every
 * fail_every-th a failure, on one core. */
static void run_refused(struct run *r, struct outlet *o, struct af_recs *in, int fail_every,
                        long fail_after_ms)
{
	signins(in, "e", T0, 3000, fail_every, 0);
	run_init(r, 1, 1);
	outlet_init(o);
	o->fail_at = 1;
	o->fail_after_ms = fail_after_ms;
	run_list(r, in, 0);
	run_outlet(r, o);
	run_go(r);
}

Test(runtime_track, ends_with_the_outlets_message_when_the_outlet_fails, .timeout = 30)
{
	struct af_recs in = {0};
	struct run r;
	struct outlet o;

	run_refused(&r, &o, &in, 20, 0);
	cr_expect_neq(r.err, AF_OK);
	cr_expect_str_eq(r.errstr, OUTLET_ERROR);
	cr_expect(o.failed);
	outlet_fini(&o);
	run_fini(&r);
	af_recs_free(&in);
}

/* The outlet takes 100 ms to refuse record 19's alert; meanwhile the core
 * goes on and reports batch 19 done, after the alert, to the sink. The
 * refused alert was never accepted, so batch 19 must not be done (a Kafka
 * source would store an offset past a record whose alert was lost). */
Test(runtime_track, does_not_complete_a_record_whose_alert_the_outlet_refused, .timeout = 30)
{
	struct af_recs in = {0};
	struct run r;
	struct outlet o;

	run_refused(&r, &o, &in, 20, 100);
	cr_assert_neq(r.err, AF_OK);
	cr_expect_leq(r.batches_done, 19, "%llu batches done, record 19's among them",
	              (unsigned long long)r.batches_done);
	cr_expect(r.src.heard[0].n == 0 || r.src.heard[0].last < 19,
	          "the source heard record %llu done", (unsigned long long)r.src.heard[0].last);
	outlet_fini(&o);
	run_fini(&r);
	af_recs_free(&in);
}

/* Every record a failure: while the outlet takes 100 ms to refuse the
 * first alert, the core raises more; a failed output is offered nothing
 * more. Whether the sink finds those alerts before it notices the failure
 * depends on timing, so with the defect this can pass now and then. */
Test(runtime_track, offers_nothing_more_to_an_outlet_that_failed, .timeout = 30)
{
	struct af_recs in = {0};
	struct run r;
	struct outlet o;

	run_refused(&r, &o, &in, 1, 100);
	cr_assert_neq(r.err, AF_OK);
	cr_expect_eq(o.after_failure, 0, "%llu offers after the failure",
	             (unsigned long long)o.after_failure);
	outlet_fini(&o);
	run_fini(&r);
	af_recs_free(&in);
}

Test(runtime_track, sends_dead_letters_to_the_outlet_and_none_to_the_dlq_file, .timeout = 30)
{
	struct af_recs in = {0};
	struct run r;
	struct outlet o;
	uint64_t lines[64];

	signins(&in, "d", T0, 200, 0, 4);
	run_init(&r, 2, 16);
	outlet_init(&o);
	run_list(&r, &in, 0);
	run_outlet(&r, &o);
	run_ok(&r);
	cr_expect_eq(r.sum.events_invalid, 50);
	cr_expect_eq(dlq_lines(&o, lines, 64), 50);
	cr_expect_gt(o.dlq_chunks, 0);
	cr_expect_eq(file_size(r.sc.dlq_path), 0, "a dead letter went to the file");
	expect_completed(&r, 0, &in);
	outlet_fini(&o);
	run_fini(&r);
	af_recs_free(&in);
}

Test(runtime_track, sends_alerts_to_the_outlet_and_none_to_the_alerts_file, .timeout = 30)
{
	struct af_recs in = {0};
	struct run r;
	struct outlet o;

	signins(&in, "x", T0, 200, 10, 0);
	run_init(&r, 2, 16);
	outlet_init(&o);
	run_list(&r, &in, 0);
	run_outlet(&r, &o);
	run_ok(&r);
	cr_expect_eq(o.nalerts, 20);
	cr_expect_eq(file_size(r.sc.alerts_path), 0, "an alert went to the file");
	outlet_fini(&o);
	run_fini(&r);
	af_recs_free(&in);
}

/* Two lists as inputs 1 and 3 of 4, all starting idle (0 and 2 never
 * named), against the same records as one input. */
Test(runtime_track, applies_every_event_when_inputs_start_idle_and_some_are_never_seen,
     .timeout = 60)
{
	struct af_recs a = {0}, b = {0}, both = {0};

	signins(&a, "a", T0, 300, 25, 40);
	signins(&b, "b", T0 + 30, 200, 0, 0);
	signins(&both, "a", T0, 300, 25, 40);
	signins(&both, "b", T0 + 30, 200, 0, 0);
	for (uint32_t threads = 1; threads <= 4; threads += 3) {
		struct run idle, one;

		run_init(&idle, threads, 16);
		idle.start_idle = true;
		idle.src.ninputs = 4;
		run_list(&idle, &a, 1);
		run_list(&idle, &b, 3);
		run_ok(&idle);
		run_init(&one, threads, 16);
		run_list(&one, &both, 0);
		run_ok(&one);

		cr_expect_eq(idle.sum.events_in, both.n, "%s", idle.sc.label);
		cr_expect_eq(idle.sum.events_ok, one.sum.events_ok, "%s", idle.sc.label);
		cr_expect_eq(idle.sum.events_invalid, one.sum.events_invalid, "%s", idle.sc.label);
		cr_expect_eq(idle.sum.duplicates, one.sum.duplicates, "%s", idle.sc.label);
		cr_expect_eq(idle.sum.accounts, one.sum.accounts, "%s", idle.sc.label);
		cr_expect_eq(idle.sum.alerts, one.sum.alerts, "%s", idle.sc.label);
		cr_expect_eq(idle.sum.alerts, 12, "%s", idle.sc.label);
		expect_completed(&idle, 1, &a);
		expect_completed(&idle, 3, &b);
		cr_expect_eq(idle.src.heard[0].n + idle.src.heard[2].n, 0,
		             "%s: an input never read was completed", idle.sc.label);
		expect_batches_done(&idle);
		run_fini(&idle);
		run_fini(&one);
	}
	af_recs_free(&a);
	af_recs_free(&b);
	af_recs_free(&both);
}

/* An empty idle batch after every second batch of each of two inputs. */
Test(runtime_track, accepts_idle_batches_with_no_records, .timeout = 30)
{
	struct af_recs a = {0}, b = {0};
	struct run r;

	signins(&a, "a", T0, 240, 30, 0);
	signins(&b, "b", T0 + 11, 160, 0, 0);
	run_init(&r, 2, 10);
	r.src.idle_every = 2;
	run_list(&r, &a, 0);
	run_list(&r, &b, 1);
	run_ok(&r);
	cr_expect_geq(r.src.idle_batches, 10);
	cr_expect_eq(r.sum.events_ok, a.n + b.n);
	cr_expect_eq(r.sum.alerts, 8);
	expect_completed(&r, 0, &a);
	expect_completed(&r, 1, &b);
	expect_batches_done(&r);
	run_fini(&r);
	af_recs_free(&a);
	af_recs_free(&b);
}

/* 200 AF_E_AGAIN answers before the first batch, then one fill in three. */
Test(runtime_track, goes_on_when_fill_answers_again_before_records_arrive, .timeout = 30)
{
	struct af_recs in = {0};
	struct run r;

	signins(&in, "w", T0, 500, 50, 60);
	run_init(&r, 2, 7);
	r.src.again_first = 200;
	r.src.again_every = 3;
	run_list(&r, &in, 0);
	run_ok(&r);
	cr_expect_geq(r.src.agains, 200 + 30);
	cr_expect_eq(r.sum.events_in, in.n);
	cr_expect_eq(r.sum.events_ok + r.sum.events_invalid, in.n);
	cr_expect_eq(r.sum.alerts, 10);
	expect_completed(&r, 0, &in);
	expect_batches_done(&r);
	run_fini(&r);
	af_recs_free(&in);
}

/* Every record a dead letter, one a batch, more batches than the source
 * may have outstanding, and an outlet that settles nothing until hold has
 * been called: the source must wait for completions, so the run ends only
 * if hold is called while it waits. */
Test(runtime_track, calls_hold_on_the_source_thread_while_the_source_waits, .timeout = 60)
{
	struct af_recs in = {0};
	struct run r;
	struct outlet o;

	for (unsigned i = 0; i < AF_RT_TRACK + 64; i++)
		af_recs_add(&in, "not json %u", i);
	run_init(&r, 1, 1);
	r.with_hold = true;
	outlet_init(&o);
	o.gate = &r.src.held;
	run_list(&r, &in, 0);
	run_outlet(&r, &o);
	run_ok(&r);
	cr_expect_geq(atomic_load(&r.src.holds), 1);
	cr_expect_not(r.src.hold_elsewhere, "hold ran on another thread than fill");
	cr_expect_eq(r.sum.events_invalid, in.n);
	expect_completed(&r, 0, &in);
	expect_batches_done(&r);
	outlet_fini(&o);
	run_fini(&r);
	af_recs_free(&in);
}

/* Record 10 is a day after the others: it never becomes safe to let out
 * (and the ones after it, all late, sort at the edge of its window), so
 * without a forced release no batch from 10 on would ever be done and the
 * source, AF_RT_TRACK batches ahead, would wait for ever. Batches of one
 * record, AF_RT_TRACK + 100 of them. */
Test(runtime_track, lets_a_record_far_ahead_in_event_time_go_so_that_completion_goes_on,
     .timeout = 60)
{
	struct af_recs in = {0};
	struct run r;
	const uint64_t n = AF_RT_TRACK + 100;

	for (uint64_t i = 0; i < n; i++) {
		char id[32], account[48];
		int64_t t = i == 10 ? T0 + 86400 : T0 + (int64_t)i;

		snprintf(id, sizeof(id), "f-%llu", (unsigned long long)i);
		snprintf(account, sizeof(account), "user%02llu@contoso.example",
		         (unsigned long long)(i % 13));
		af_recs_m365_signin(&in, id, account, "203.0.113.5", t, false);
	}
	run_init(&r, 2, 1);
	/* The source may hand batch AF_RT_TRACK + 11 over only once batch 11,
	 * after the held record's, is done. */
	r.src.watch_batch = AF_RT_TRACK + 11;
	run_list(&r, &in, 0);
	run_ok(&r);
	cr_expect_geq(r.src.watched_last, 11, "record 10 still held at batch %u", AF_RT_TRACK + 11);
	cr_expect_gt(r.forced, 0, "no forced release counted");
	cr_expect_eq(r.sum.events_ok, n);
	expect_completed(&r, 0, &in);
	expect_batches_done(&r);
	run_fini(&r);
	af_recs_free(&in);
}

/* ---- the order of an account's events with inputs that start idle ---- */

#define ORDER_ACCOUNTS 16

/* The event ids of each account a<k>, in the order of the events file,
 * one string per account (owned, in ids[k]). */
static void ids_by_account(const char *path, char **ids)
{
	FILE *f = fopen(path, "r");
	char line[8192];

	cr_assert_not_null(f, "%s", path);
	for (int k = 0; k < ORDER_ACCOUNTS; k++) {
		ids[k] = calloc(1, 4096);
		cr_assert_not_null(ids[k]);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *user = strstr(line, "\"user.name\":\"a");
		char *id = strstr(line, "\"event.id\":\"");
		if (user == NULL || id == NULL)
			continue;
		int k = atoi(user + strlen("\"user.name\":\"a"));
		cr_assert(k >= 0 && k < ORDER_ACCOUNTS);
		id += strlen("\"event.id\":\"");
		char *end = strchr(id, '"');
		cr_assert_not_null(end);
		size_t have = strlen(ids[k]);
		cr_assert_lt(have + (size_t)(end - id) + 2, 4096);
		memcpy(ids[k] + have, id, (size_t)(end - id));
		strcpy(ids[k] + have + (end - id), " ");
	}
	fclose(f);
}

/* runtime.h: every shard sees every marker, so an account's events reach
 * the rules in the same order for any thread count. Input 0 starts with
 * one sign-in of another account (an event for one shard only), input 1
 * then gives ten sign-ins of each account a<k> at 100 s, 200 s, ...,
 * 1000 s, and input 0 one more of each at 150 s; the reorder window is a
 * minute. With one core, input 0 holds its frontier (0 s) from its first
 * record, so 150 s goes between 100 s and 200 s. A shard that got no event
 * of input 0's first batch must learn from its marker that input 0 is no
 * longer idle, or it lets input 1's events out as they come and 150 s
 * comes last. */
Test(runtime_track, orders_an_accounts_events_the_same_for_any_thread_count_with_idle_inputs,
     .timeout = 60)
{
	struct af_recs in0 = {0}, in1 = {0};
	char *want[ORDER_ACCOUNTS], *got[ORDER_ACCOUNTS];

	af_recs_m365_signin(&in0, "other-0", "zed@contoso.example", "192.0.2.1", T0, false);
	for (int k = 0; k < ORDER_ACCOUNTS; k++) {
		char id[32], account[48];
		snprintf(account, sizeof(account), "a%d@contoso.example", k);
		snprintf(id, sizeof(id), "a%d-150", k);
		af_recs_m365_signin(&in0, id, account, "192.0.2.2", T0 + 150, false);
	}
	for (int s = 100; s <= 1000; s += 100)
		for (int k = 0; k < ORDER_ACCOUNTS; k++) {
			char id[32], account[48];
			snprintf(account, sizeof(account), "a%d@contoso.example", k);
			snprintf(id, sizeof(id), "a%d-%d", k, s);
			af_recs_m365_signin(&in1, id, account, "192.0.2.3", T0 + s, false);
		}
	for (uint32_t threads = 1; threads <= 4; threads++) {
		struct run r;

		run_init(&r, threads, 256);
		run_set(&r, "input.reorder_window", "1m");
		r.start_idle = true;
		r.with_events = true;
		struct list *first = run_list(&r, &in0, 0);
		first->first_cut = 1; /* the other account's sign-in alone */
		run_list(&r, &in1, 1);
		run_ok(&r);
		cr_assert_eq(r.src.handed, 3, "%s: the batches are not as planned", r.sc.label);
		cr_assert_eq(r.sum.events_ok, in0.n + in1.n, "%s", r.sc.label);
		ids_by_account(r.sc.events_path, threads == 1 ? want : got);
		if (threads > 1) {
			for (int k = 0; k < ORDER_ACCOUNTS; k++) {
				cr_expect_str_eq(got[k], want[k], "%s: account a%d: %s, want %s",
				                 r.sc.label, k, got[k], want[k]);
				free(got[k]);
			}
		} else {
			cr_expect_str_eq(want[0],
			                 "a0-100 a0-150 a0-200 a0-300 a0-400 a0-500 a0-600 "
			                 "a0-700 a0-800 a0-900 a0-1000 ");
		}
		run_fini(&r);
	}
	for (int k = 0; k < ORDER_ACCOUNTS; k++)
		free(want[k]);
	af_recs_free(&in0);
	af_recs_free(&in1);
}

/* The counts for metrics, once the source has nothing more for now:
 * within a few quarter seconds (RT_PUB_S), they cover every record read.
 * Then the source ends. */
static void stats_catch_up(struct run *r, struct af_runtime *rt)
{
	struct af_summary now;
	double end = af_clock_s() + 10.0;

	do {
		usleep(50 * 1000);
		af_runtime_stats(rt, &now);
	} while (now.events_invalid < 8 && af_clock_s() < end);
	atomic_store(&r->src.open, false);
	cr_expect_eq(now.events_invalid, 8, "the metrics saw %llu of 8 dead letters",
	             (unsigned long long)now.events_invalid);
}

/* Two batches within a quarter second, then nothing: the second batch's
 * counts once waited for a third batch, which a live source may not see
 * for hours. */
Test(runtime_track, publishes_its_last_counts_while_the_source_is_idle, .timeout = 60)
{
	struct af_recs bad = {0};
	struct run r;

	for (int i = 0; i < 8; i++)
		af_recs_add(&bad, "{\"CreationTime\":\"broken %d", i);
	run_init(&r, 1, 4);
	run_list(&r, &bad, 0);
	atomic_store(&r.src.open, true);
	r.during = stats_catch_up;
	run_ok(&r);
	cr_expect_eq(r.sum.events_invalid, 8);
	run_fini(&r);
	af_recs_free(&bad);
}

/* Voluntary context switches so far of this process's threads whose
 * names start with prefix (each a time the thread went to sleep); *threads
 * gets how many there are. */
static uint64_t switches_of(const char *prefix, int *threads)
{
	uint64_t total = 0;
	char path[300], line[128];
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;

	cr_assert_not_null(d);
	*threads = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue; /* ended meanwhile */
		bool match = fgets(line, sizeof(line), f) != NULL &&
		             strncmp(line, prefix, strlen(prefix)) == 0;
		fclose(f);
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
		if (!match || (f = fopen(path, "r")) == NULL)
			continue;
		unsigned long long n;
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "voluntary_ctxt_switches: %llu", &n) == 1)
				total += n;
		fclose(f);
		(*threads)++;
	}
	closedir(d);
	return total;
}

/* Over a second with nothing to do, the cores and the sink sleep until
 * something comes (or their longest sleep passes: 20 times a second),
 * instead of waking every millisecond to look (2,700 times a second for
 * the three before they had a place to sleep). */
static void sleeps_while_idle(struct run *r, struct af_runtime *rt)
{
	int cores, sinks;
	(void)r;
	(void)rt;

	usleep(300 * 1000); /* every thread past its start, and asleep */
	uint64_t before = switches_of("af-core", &cores) + switches_of("af-sink", &sinks);
	usleep(1000 * 1000);
	uint64_t after = switches_of("af-core", &cores) + switches_of("af-sink", &sinks);
	cr_expect_eq(cores, 2, "%d core threads found", cores);
	cr_expect_eq(sinks, 1, "%d sink threads found", sinks);
	cr_expect_lt(after - before, 300,
	             "the cores and the sink woke %llu times in a second with nothing to do",
	             (unsigned long long)(after - before));
}

/* The threads of an idle pipeline sleep until work comes: a daemon that
 * waits for hours on a quiet topic costs next to nothing. The source
 * finds nothing for its first 2,000 fills (2 s at least); then the
 * records that come after the quiet are all done, which the sleeping
 * threads must wake for. */
Test(runtime_track, its_threads_sleep_while_the_source_is_idle, .timeout = 60)
{
	struct af_recs in = {0};
	struct run r;

	signins(&in, "idle", T0, 50, 10, 0);
	run_init(&r, 2, 8);
	run_list(&r, &in, 0);
	r.src.again_first = 2000;
	r.src.again_waits = true;
	r.during = sleeps_while_idle;
	run_ok(&r);
	expect_completed(&r, 0, &in);
	expect_batches_done(&r);
	run_fini(&r);
	af_recs_free(&in);
}

static atomic_bool pressure_gate;

/* The source blocked by an outlet that settles nothing: its blocked time
 * grows; then the outlet settles everything. */
static void pressure_grows(struct run *r, struct af_runtime *rt)
{
	struct af_rt_pressure p;
	double end = af_clock_s() + 20.0;

	(void)r;
	do {
		usleep(20 * 1000);
		af_runtime_pressure(rt, &p);
	} while (p.source_s < 0.2 && af_clock_s() < end);
	atomic_store(&pressure_gate, true);
	cr_expect_geq(p.source_s, 0.2, "the source was blocked for %.3f s", p.source_s);
	cr_expect(p.batches_fill >= 0 && p.batches_fill <= 1 && p.mesh_fill >= 0 &&
	              p.mesh_fill <= 1 && p.sink_fill >= 0 && p.sink_fill <= 1,
	          "fills %f %f %f", p.batches_fill, p.mesh_fill, p.sink_fill);
}

/* An outlet that settles nothing holds every record after its first alert
 * undone; once AF_RT_TRACK batches wait, the source stops, and metrics
 * see how long. */
Test(runtime_track, counts_the_time_the_source_waits_for_an_outlet_that_settles_nothing,
     .timeout = 60)
{
	struct af_recs in = {0};
	struct outlet o;
	struct run r;

	signins(&in, "p", T0, (int)AF_RT_TRACK + 1000, 100, 0);
	run_init(&r, 2, 1);
	outlet_init(&o);
	atomic_store(&pressure_gate, false);
	o.gate = &pressure_gate;
	run_list(&r, &in, 0);
	run_outlet(&r, &o);
	r.during = pressure_grows;
	run_ok(&r);
	expect_completed(&r, 0, &in);
	outlet_fini(&o);
	run_fini(&r);
	af_recs_free(&in);
}
