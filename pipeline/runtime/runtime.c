/* runtime.c - the runtime's set-up, its source and sink threads, and the
 * controls (start, stop, wait); the core threads are in rt_core.c. See
 * runtime.h for the design.
 *
 * Thread: new/start/wait/free on the controlling thread; the source and sink
 * loops on their own threads.
 * In: batches from the source's fill. Out: the sinks' writes.
 */
#include "pipeline/runtime/runtime.h"
#include "pipeline/clock.h"
#include "sinks/alert_report.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include "pipeline/parse/json.h"
#include "pipeline/runtime/rt_impl.h"

/* Sleep on a futex word while it holds key, for at most seconds. */
static void futex_wait(_Atomic uint32_t *word, uint32_t key, double seconds)
{
	struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};

	(void)syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, key, &ts, NULL, 0);
}

void af_rt_unpark(struct rt_park *park)
{
	/* Pairs with the fence after the owner's announcement (the arm in
	 * af_rt_backoff): the work published before this fence, or the
	 * announcement, is seen by the other side. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&park->waiting, memory_order_relaxed) == 0)
		return;
	/* Release, paired with the arm's acquire of seq: an owner that reads
	 * the new seq as its key also sees the work, in its last look. */
	atomic_fetch_add_explicit(&park->seq, 1, memory_order_release);
	(void)syscall(SYS_futex, (uint32_t *)&park->seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Tries spinning, then yielding, then sleeping 16, 32 and 64 us, before a
 * thread with a park parks: a wait of a few hundred microseconds (the
 * next batch under load) costs no system call on either side. */
#define SPINS   64u
#define YIELDS  16u
#define NAPS    3u
#define NAP_MAX 6u

void af_rt_backoff(struct rt_backoff *b)
{
	unsigned n = b->n++;

	if (n < SPINS) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
		return;
	}
	if (n < SPINS + YIELDS) {
		sched_yield();
		return;
	}
	unsigned step = n - SPINS - YIELDS;
	if (b->park != NULL && n >= SPINS + YIELDS + NAPS) {
		if (!b->armed) {
			/* Announce, then let the caller look once more. The
			 * fence pairs with af_rt_unpark's; the acquire with its
			 * release of seq. waiting itself orders nothing. */
			atomic_store_explicit(&b->park->waiting, 1, memory_order_relaxed);
			atomic_thread_fence(memory_order_seq_cst);
			b->key = atomic_load_explicit(&b->park->seq, memory_order_acquire);
			b->armed = true;
			return;
		}
		futex_wait(&b->park->seq, b->key, b->park_s);
		atomic_store_explicit(&b->park->waiting, 0, memory_order_relaxed);
		b->armed = false;
		return;
	}
	/* Without a park: 16 us doubling to 1 ms, so an idle stage costs a
	 * few wake-ups a millisecond, and a busy one never gets here. */
	struct timespec ts = {0, 16000L << (step < NAP_MAX ? step : NAP_MAX)};
	nanosleep(&ts, NULL);
}

void af_rt_backoff_reset(struct rt_backoff *b)
{
	if (b->armed) {
		atomic_store_explicit(&b->park->waiting, 0, memory_order_relaxed);
		b->armed = false;
	}
	b->n = 0;
}

void af_rt_wake_all(struct af_runtime *rt)
{
	af_rt_unpark(&rt->source_park);
	af_rt_unpark(&rt->sink_park);
	if (rt->cores == NULL)
		return; /* failed before the cores were made */
	for (uint32_t i = 0; i < rt->n; i++)
		af_rt_unpark(&rt->cores[i].park);
}

void af_rt_fail(struct af_runtime *rt, int who, const char *msg)
{
	int none = 0;

	if (atomic_compare_exchange_strong(&rt->fatal, &none, who + 1)) {
		char *dst = who == RT_WHO_SOURCE ? rt->source_err
		            : who == RT_WHO_SINK ? rt->sink_err
		                                 : rt->cores[who - 2].errstr;
		size_t size = who >= 2 ? sizeof(rt->cores[0].errstr) : sizeof(rt->source_err);
		snprintf(dst, size, "%s", msg);
	}
	atomic_store(&rt->abort, true);
	af_rt_wake_all(rt);
}

bool af_rt_batch_add(struct af_rt_batch *b, const char *data, size_t len,
                     const struct af_rt_rec *rec)
{
	if (b->count == b->cap || len > b->size - b->used)
		return false;
	struct af_rt_rec *r = &b->rec[b->count++];
	*r = *rec;
	r->off = (uint32_t)b->used;
	r->len = (uint32_t)len;
	memcpy(b->bytes + b->used, data, len);
	b->used += len;
	return true;
}

/* --- the file table --- */

uint32_t af_runtime_path_add(struct af_runtime *rt, const char *path)
{
	if (path == NULL)
		path = "";
	uint32_t i = rt->npaths;
	if (i == RT_PATH_CHUNK * RT_PATH_CHUNKS)
		return UINT32_MAX;
	char ***chunk = &rt->path_chunk[i / RT_PATH_CHUNK];
	if (*chunk == NULL) {
		*chunk = calloc(RT_PATH_CHUNK, sizeof(char *));
		if (*chunk == NULL)
			return UINT32_MAX;
	}
	char *copy = strdup(path);
	if (copy == NULL)
		return UINT32_MAX;
	/* Readers learn of index i only through a batch pushed after this
	 * store; the ring's release/acquire orders it before their read. */
	(*chunk)[i % RT_PATH_CHUNK] = copy;
	rt->npaths = i + 1;
	rt->last_path = NULL;
	return i;
}

uint32_t af_runtime_path_index(struct af_runtime *rt, const char *path)
{
	if (path != NULL && rt->last_path == path)
		return rt->last_index;
	/* The reader's path pointer is stable while a file is read, so this is
	 * reached once per file, not per record. */
	uint32_t i = af_runtime_path_add(rt, path);
	if (i != UINT32_MAX) {
		rt->last_path = path;
		rt->last_index = i;
	}
	return i;
}

const char *af_runtime_path(const struct af_runtime *rt, uint32_t index)
{
	if (index >= RT_PATH_CHUNK * RT_PATH_CHUNKS ||
	    rt->path_chunk[index / RT_PATH_CHUNK] == NULL)
		return "";
	const char *p = rt->path_chunk[index / RT_PATH_CHUNK][index % RT_PATH_CHUNK];
	return p != NULL ? p : "";
}

/* --- the source thread --- */

/* Tell the source which records are done: every batch the sink has
 * declared done since the last call, in batch order. */
static void pass_completions(struct af_runtime *rt, uint64_t *reported)
{
	uint64_t done = atomic_load_explicit(&rt->done_batches, memory_order_acquire);

	for (; *reported < done; (*reported)++) {
		size_t k = *reported % AF_RT_TRACK;
		if (rt->track_seq[k] != UINT64_MAX)
			rt->src.complete(rt->src.ctx, rt->track_input[k], rt->track_seq[k]);
	}
}

/* Waiting for the pipeline: let the source serve its own (a Kafka
 * consumer's heartbeats and pauses) every 10 ms or so. */
static void source_wait(struct af_runtime *rt, struct rt_backoff *bo, double *last_hold)
{
	if (rt->src.hold != NULL) {
		double now = af_clock_s();
		if (now - *last_hold >= 0.01) {
			rt->src.hold(rt->src.ctx);
			*last_hold = now;
		}
	}
	af_rt_backoff(bo);
}

/* source_wait while the pipeline holds the source back, timed for
 * metrics (clock reads only while blocked, never per record). */
static void source_blocked(struct af_runtime *rt, struct rt_backoff *bo, double *last_hold)
{
	double t0 = af_clock_s();
	source_wait(rt, bo, last_hold);
	af_rt_add_since(&rt->blocked_ns, t0);
}

/* Hand batch b (numbered) to the core it falls to, waiting while that
 * core's ring is full, and wake the core. False when the run aborts. */
static bool hand_on(struct af_runtime *rt, struct af_rt_batch *b, struct rt_backoff *bo,
                    double *last_hold)
{
	struct rt_core *dst = &rt->cores[b->number % rt->n];

	while (!af_ring_push_spsc(dst->in_batches, b)) {
		if (atomic_load_explicit(&rt->abort, memory_order_relaxed))
			return false;
		source_blocked(rt, bo, last_hold);
	}
	af_rt_unpark(&dst->park);
	return true;
}

/* Whether a checkpoint is due after the batch about to be handed on. */
static bool ckpt_due(struct af_runtime *rt, double *next_at)
{
	if (rt->ckpt_dir == NULL || rt->cfg->state.checkpoint_interval <= 0)
		return false;
	double now = af_clock_s();
	if (now < *next_at || atomic_load_explicit(&rt->ckpt_busy, memory_order_acquire))
		return false;
	*next_at = now + (double)rt->cfg->state.checkpoint_interval / 1e9;
	return true;
}

/* Start checkpoint after batch b (numbered already): the source's part
 * now, while its positions are those just after b. */
static bool ckpt_start(struct af_runtime *rt, struct af_rt_batch *b)
{
	rt->ckpt_id++;
	rt->ckpt_batch = b->number + 1;
	rt->ckpt_started = af_clock_s();
	b->checkpoint = rt->ckpt_id;
	atomic_store_explicit(&rt->ckpt_busy, true, memory_order_relaxed);
	return af_rt_ckpt_source(rt);
}

/* A graceful stop with checkpoints: one more, after the last batch read,
 * carried by an empty batch (no records, so no input is woken, ended or
 * moved). Waits for the one in flight first. */
static struct af_rt_batch *ckpt_stop_batch(struct af_runtime *rt, struct rt_backoff *bo,
                                           double *last_hold)
{
	struct af_rt_batch *b = NULL;

	while (atomic_load_explicit(&rt->ckpt_busy, memory_order_acquire) ||
	       (b = af_pool_get(rt->batches)) == NULL) {
		if (atomic_load_explicit(&rt->abort, memory_order_relaxed))
			return NULL;
		source_wait(rt, bo, last_hold);
	}
	b->count = 0;
	b->used = 0;
	b->last = b->idle = false;
	b->input = 0;
	b->stop = true;
	return b;
}

static void *source_main(void *arg)
{
	struct af_runtime *rt = arg;
	/* A source with a hold is served every 10 ms while it waits. */
	struct rt_backoff bo = {.park = &rt->source_park,
	                        .park_s = rt->src.hold != NULL ? 0.01 : RT_PARK_S};
	uint64_t next = rt->next_batch, reported = rt->next_batch;
	double last_hold = 0,
	       ckpt_at = af_clock_s() + (double)rt->cfg->state.checkpoint_interval / 1e9;
	bool tracking = rt->src.complete != NULL;
	char err[sizeof(rt->source_err)];

	while (!atomic_load_explicit(&rt->stop, memory_order_relaxed) &&
	       !atomic_load_explicit(&rt->abort, memory_order_relaxed)) {
		if (tracking) {
			pass_completions(rt, &reported);
			if (next - reported >= AF_RT_TRACK) {
				source_blocked(rt, &bo, &last_hold);
				continue;
			}
		}
		struct af_rt_batch *b = af_pool_get(rt->batches);
		if (b == NULL) {
			source_blocked(rt, &bo, &last_hold);
			continue;
		}
		af_rt_backoff_reset(&bo);
		b->count = 0;
		b->used = 0;
		b->last = false;
		b->idle = false;
		b->input = 0;
		b->checkpoint = 0;
		b->stop = false;
		af_err_t e = rt->src.fill(rt->src.ctx, rt, b, err, sizeof(err));
		if (e == AF_E_AGAIN) {
			/* fill waited for records itself (the contract), so this
			 * loop does not spin; nothing to hand on. */
			af_pool_put(rt->batches, b);
			continue;
		}
		if (e == AF_EOF) {
			af_pool_put(rt->batches, b);
			rt->source_ended = true;
			break;
		}
		if (e != AF_OK) {
			af_pool_put(rt->batches, b);
			af_rt_fail(rt, RT_WHO_SOURCE, err);
			break;
		}
		if (tracking) {
			size_t k = next % AF_RT_TRACK;
			rt->track_input[k] = b->input;
			rt->track_seq[k] = b->count > 0 ? b->rec[b->count - 1].seq : UINT64_MAX;
		}
		b->number = next++;
		b->filled_at = af_clock_s();
		rt->records += b->count;
		atomic_store_explicit(&rt->pub_records, rt->records, memory_order_relaxed);
		if (ckpt_due(rt, &ckpt_at) && !ckpt_start(rt, b)) {
			af_pool_put(rt->batches, b);
			break;
		}
		if (!hand_on(rt, b, &bo, &last_hold))
			goto out;
		af_rt_backoff_reset(&bo);
	}
	if (rt->ckpt_dir != NULL && (!rt->source_ended || rt->src.end_is_stop) &&
	    !atomic_load_explicit(&rt->abort, memory_order_relaxed)) {
		struct af_rt_batch *b = ckpt_stop_batch(rt, &bo, &last_hold);
		if (b != NULL) {
			if (tracking) {
				rt->track_input[next % AF_RT_TRACK] = 0;
				rt->track_seq[next % AF_RT_TRACK] = UINT64_MAX;
			}
			b->number = next++;
			b->filled_at = af_clock_s();
			if (!ckpt_start(rt, b)) {
				af_pool_put(rt->batches, b);
				goto out;
			}
			if (!hand_on(rt, b, &bo, &last_hold))
				goto out;
		}
	}
out:
	for (uint32_t i = 0; i < rt->n; i++) {
		af_ring_close_spsc(rt->cores[i].in_batches);
		af_rt_unpark(&rt->cores[i].park);
	}
	/* What was read is still being worked through: pass on its
	 * completions until the last, so a Kafka source stores the offsets
	 * of everything it handed on before it closes; or, when a stop kept
	 * events in its checkpoint, until the sink has confirmed all it will. */
	while (tracking && reported < next &&
	       !atomic_load_explicit(&rt->abort, memory_order_relaxed)) {
		bool last = atomic_load_explicit(&rt->sink_ended, memory_order_acquire);
		pass_completions(rt, &reported);
		if (last)
			break;
		if (reported < next)
			source_wait(rt, &bo, &last_hold);
	}
	atomic_fetch_sub_explicit(&rt->running, 1, memory_order_release);
	return NULL;
}

/* --- the sink thread --- */

const double af_rt_latency_bounds[AF_RT_LATENCY_BUCKETS - 1] = {0.1, 0.5, 1,   2,    5,    10,
                                                                30,  60,  300, 3600, 86400};

/* Count alert a's latency: now (wall clock) less its event time. Once an
 * alert, on the sink thread; the mutex is for metrics' reader. */
static void count_latency_of(struct af_runtime *rt, const struct af_alert *a)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	double s = ((double)now.tv_sec * 1e9 + (double)now.tv_nsec - (double)a->ts_ns) / 1e9;
	if (s < 0)
		s = 0;
	unsigned k = 0;
	while (k < AF_RT_LATENCY_BUCKETS - 1 && s > af_rt_latency_bounds[k])
		k++;
	pthread_mutex_lock(&rt->lat_mu);
	rt->lat.count[k]++;
	rt->lat.n++;
	rt->lat.sum_s += s;
	pthread_mutex_unlock(&rt->lat_mu);
}

/* What the sink thread notes of each alert it has handed on, whichever
 * output took it: its latency, and its place in the closing report. */
static void alert_handed(struct af_runtime *rt, const struct af_alert *a)
{
	count_latency_of(rt, a);
	if (rt->sinks.report != NULL)
		af_alert_report_add(rt->sinks.report, a);
}

void af_runtime_alert_latency(const struct af_runtime *rt, struct af_rt_latency *out)
{
	struct af_runtime *m = (struct af_runtime *)rt;
	pthread_mutex_lock(&m->lat_mu);
	*out = m->lat;
	pthread_mutex_unlock(&m->lat_mu);
}

/* Hand one message on. Returns false when the outlet is full (offer the
 * same message again later). */
static bool sink_write(struct af_runtime *rt, uint32_t core, const struct rt_msg *m,
                       uint64_t *tokens)
{
	const struct af_rt_outlet *o = rt->sinks.outlet;
	af_err_t e = AF_OK;

	if (m->type == RT_MSG_DONE) {
		struct rt_done_fifo *f = &rt->done_fifo[core];
		uint32_t cap = (uint32_t)(sizeof(f->done) / sizeof(f->done[0]));
		/* Full: the newest entry takes the later value; it is confirmed
		 * a little later than it could have been, never too early. */
		uint32_t at = f->len < cap ? (f->head + f->len++) % cap : (f->head + cap - 1) % cap;
		f->done[at] = m->done;
		f->token[at] = *tokens;
		return true;
	}
	if (m->type == RT_MSG_CHECKPOINT) {
		af_rt_ckpt_part_done(rt, m->done, *tokens);
		return true;
	}
	if (rt->outlet_failed)
		return true; /* the run is ending: take no more, confirm nothing */
	if (o != NULL) {
		char err[sizeof(rt->sink_err)];
		err[0] = '\0';
		if (m->type == RT_MSG_ALERT)
			e = o->alert(o->ctx, *tokens, &m->alert, err, sizeof(err));
		else
			e = o->lines(o->ctx, *tokens,
			             m->type == RT_MSG_DLQ ? AF_RT_LINES_DLQ : AF_RT_LINES_EVENTS,
			             m->text, m->len, err, sizeof(err));
		if (e == AF_E_AGAIN)
			return false;
		if (e != AF_OK) {
			rt->outlet_failed = true;
			af_rt_fail(rt, RT_WHO_SINK, err[0] ? err : "an output failed");
			return true;
		}
		if (m->type == RT_MSG_ALERT)
			alert_handed(rt, &m->alert);
		(*tokens)++;
		return true;
	}
	switch (m->type) {
	case RT_MSG_ALERT:
		e = af_alert_out_write(rt->sinks.alerts, &m->alert);
		alert_handed(rt, &m->alert);
		break;
	case RT_MSG_DLQ: e = af_dlq_write_text(rt->sinks.dlq, m->text, m->len); break;
	case RT_MSG_EVENTS:
		if (rt->sinks.events != NULL)
			e = af_ecs_write_text(rt->sinks.events, m->text, m->len);
		break;
	}
	/* A failed write is reported at close and makes the exit status 1,
	 * as in any output; the run goes on so the summary stays whole. */
	if (e != AF_OK)
		rt->sink_io_failed = true;
	(*tokens)++;
	return true;
}

/* Confirm the shards' DONE messages whose tokens are settled, and publish
 * the batches done everywhere. */
static void sink_confirm(struct af_runtime *rt, uint64_t settled)
{
	uint64_t least = UINT64_MAX;

	if (rt->done_fifo == NULL || rt->outlet_failed)
		return; /* no tracking, or nothing more may be confirmed */
	for (uint32_t i = 0; i < rt->n; i++) {
		struct rt_done_fifo *f = &rt->done_fifo[i];
		uint32_t cap = (uint32_t)(sizeof(f->done) / sizeof(f->done[0]));
		while (f->len > 0 && f->token[f->head] <= settled) {
			f->confirmed = f->done[f->head];
			f->head = (f->head + 1) % cap;
			f->len--;
		}
		if (f->confirmed < least)
			least = f->confirmed;
	}
	if (least > atomic_load_explicit(&rt->done_batches, memory_order_relaxed)) {
		atomic_store_explicit(&rt->done_batches, least, memory_order_release);
		af_rt_unpark(&rt->source_park);
	}
}

/* A burst of messages from one core, on their way to the outputs. */
struct sink_burst {
	uint32_t core;
	size_t n;
	void *msg[RT_MSGS];
};

/* Hand on the burst's messages in order until the outlet is full; give
 * back those handed on. Returns whether any was. The rest stays in the
 * burst, to be offered again before anything else. */
static bool sink_offer(struct af_runtime *rt, struct sink_burst *h, uint64_t *tokens)
{
	size_t j = 0;

	while (j < h->n && sink_write(rt, h->core, h->msg[j], tokens))
		j++;
	af_pool_put_batch_spsc(rt->cores[h->core].msgs, 0, h->msg, j);
	if (j > 0)
		af_rt_unpark(&rt->cores[h->core].park);
	memmove(h->msg, h->msg + j, (h->n - j) * sizeof(h->msg[0]));
	h->n -= j;
	return j > 0;
}

static void *sink_main(void *arg)
{
	struct af_runtime *rt = arg;
	const struct af_rt_outlet *o = rt->sinks.outlet;
	struct rt_backoff bo = {.park = &rt->sink_park, .park_s = RT_PARK_S};
	struct sink_burst h = {0};
	bool flushed = true;
	uint64_t tokens = 0;

	for (;;) {
		bool moved = false, all_done = true;
		if (h.n > 0) {
			moved = sink_offer(rt, &h, &tokens);
			if (h.n > 0) {
				/* The outlet is still full: let it work. */
				uint64_t settled = o->settled(o->ctx, 10);
				sink_confirm(rt, settled);
				af_rt_ckpt_sink(rt, settled);
				if (atomic_load_explicit(&rt->abort, memory_order_relaxed))
					break;
				continue;
			}
		}
		for (uint32_t i = 0; i < rt->n; i++) {
			struct rt_core *c = &rt->cores[i];
			h.core = i;
			h.n = af_ring_pop_batch_spsc(c->to_sink, h.msg, RT_MSGS);
			if (h.n == 0) {
				if (!af_ring_drained_spsc(c->to_sink))
					all_done = false;
				continue;
			}
			moved = true;
			flushed = false;
			sink_offer(rt, &h, &tokens);
			if (h.n > 0)
				break; /* the outlet is full: the rest first, next turn */
		}
		uint64_t settled = o != NULL ? o->settled(o->ctx, 0) : tokens;
		sink_confirm(rt, settled);
		af_rt_ckpt_sink(rt, settled);
		if (moved) {
			af_rt_backoff_reset(&bo);
			continue;
		}
		if (!flushed) {
			/* Alerts are rare and wanted promptly: out as soon as
			 * the cores have nothing more for now. */
			if (o == NULL && af_alert_out_flush(rt->sinks.alerts) != AF_OK)
				rt->sink_io_failed = true;
			flushed = true;
		}
		if (atomic_load_explicit(&rt->abort, memory_order_relaxed))
			break;
		if (all_done) {
			/* Everything handed over: wait for the outlet to deliver
			 * it (a graceful stop delivers what was raised). */
			if (o == NULL || settled >= tokens)
				break;
			o->settled(o->ctx, 100);
			continue;
		}
		if (o != NULL && settled < tokens) {
			/* The outlet is delivering: its progress wakes no park,
			 * so wait on the outlet itself, a millisecond at a time. */
			af_rt_backoff_reset(&bo);
			o->settled(o->ctx, 1);
			continue;
		}
		af_rt_backoff(&bo);
	}
	for (size_t j = 0; j < h.n; j++) /* aborting: give them back */
		af_pool_put(rt->cores[h.core].msgs, h.msg[j]);
	atomic_store_explicit(&rt->sink_ended, true, memory_order_release);
	af_rt_unpark(&rt->source_park);
	atomic_fetch_sub_explicit(&rt->running, 1, memory_order_release);
	return NULL;
}

/* --- set-up and control --- */

static uint32_t thread_count(const struct af_config *cfg)
{
	long n = cfg->runtime.threads;

	if (n == 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > AF_RT_THREADS_MAX)
		n = AF_RT_THREADS_MAX;
	return (uint32_t)n;
}

static uint32_t batch_cap(const struct af_config *cfg)
{
	return cfg->runtime.batch_records ? cfg->runtime.batch_records : 256;
}

/* Lay out every batch of the pool once: records and bytes inside the
 * pool object, after the header. */
static af_err_t batches_init(struct af_runtime *rt, uint32_t cap, size_t size, size_t count)
{
	struct af_rt_batch **all = calloc(count, sizeof(*all));

	if (all == NULL)
		return AF_E_NOMEM;
	for (size_t i = 0; i < count; i++) {
		struct af_rt_batch *b = af_pool_get(rt->batches);
		memset(b, 0, sizeof(*b));
		b->cap = cap;
		b->size = size;
		b->rec = (struct af_rt_rec *)(b + 1);
		b->bytes = (char *)(b->rec + cap);
		/* The parser may read the padding; give it defined bytes. */
		memset(b->bytes + size, ' ', AF_JSON_PADDING);
		all[i] = b;
	}
	for (size_t i = 0; i < count; i++)
		af_pool_put(rt->batches, all[i]);
	free(all);
	return AF_OK;
}

af_err_t af_runtime_new(const struct af_config *cfg, const struct af_rt_source *src,
                        const struct af_rt_sinks *sinks, struct af_geo_hub *hub,
                        struct af_runtime **out, char *errstr, size_t errstr_size)
{
	struct af_runtime *rt = calloc(1, sizeof(*rt));
	af_err_t err = AF_E_NOMEM;

	if (rt == NULL)
		goto nomem;
	pthread_mutex_init(&rt->lat_mu, NULL);
	rt->cfg = cfg;
	rt->src = *src;
	rt->sinks = *sinks;
	rt->events_wanted = sinks->outlet != NULL ? sinks->outlet->events : sinks->events != NULL;
	rt->hub = hub;
	rt->n = thread_count(cfg);
	rt->last_index = UINT32_MAX;
	rt->ckpt_dir = cfg->state.dir;
	if (rt->ckpt_dir != NULL && (src->save == NULL || src->restore == NULL)) {
		snprintf(errstr, errstr_size, "this source cannot be checkpointed (--state-dir)");
		err = AF_E_CONFIG;
		goto fail;
	}
	if (rt->ckpt_dir != NULL) {
		err = af_rt_ckpt_prepare(rt, errstr, errstr_size);
		if (err != AF_OK)
			goto fail;
	}
	/* A message's text holds at least one whole dead-letter line. */
	rt->text_size = RT_TEXT_MIN;
	if (rt->text_size < 6 * af_dlq_raw_max(sinks->dlq) + 8192)
		rt->text_size = 6 * af_dlq_raw_max(sinks->dlq) + 8192;

	rt->frontier = calloc(src->ninputs ? src->ninputs : 1, sizeof(*rt->frontier));
	rt->cores = calloc(rt->n, sizeof(*rt->cores));
	rt->mesh = calloc((size_t)rt->n * rt->n, sizeof(*rt->mesh));
	if (rt->frontier == NULL || rt->cores == NULL || rt->mesh == NULL)
		goto nomem;
	for (uint32_t i = 0; i < src->ninputs; i++)
		atomic_init(&rt->frontier[i], INT64_MIN);
	if (src->complete != NULL) {
		rt->track_input = calloc(AF_RT_TRACK, sizeof(*rt->track_input));
		rt->track_seq = calloc(AF_RT_TRACK, sizeof(*rt->track_seq));
		rt->done_fifo = calloc(rt->n, sizeof(*rt->done_fifo));
		if (rt->track_input == NULL || rt->track_seq == NULL || rt->done_fifo == NULL)
			goto nomem;
	}
	for (size_t i = 0; i < (size_t)rt->n * rt->n; i++)
		if (af_ring_new(RT_MESH_SLOTS, &rt->mesh[i]) != AF_OK)
			goto nomem;

	uint32_t cap = batch_cap(cfg);
	size_t size = cfg->input.max_record_bytes;
	if (size < (size_t)1 << 20)
		size = (size_t)1 << 20;
	size_t count = (size_t)rt->n * RT_BATCHES_PER_CORE + 1;
	/* The parser reads up to AF_JSON_PADDING bytes past a record: after
	 * the last record of a full batch, those are the spare bytes here. */
	if (af_pool_new(count,
	                sizeof(struct af_rt_batch) + cap * sizeof(struct af_rt_rec) + size +
	                    AF_JSON_PADDING,
	                rt->n, &rt->batches) != AF_OK)
		goto nomem;
	if (batches_init(rt, cap, size, count) != AF_OK)
		goto nomem;

	for (uint32_t i = 0; i < rt->n; i++) {
		err = af_rt_core_init(&rt->cores[i], rt, i, errstr, errstr_size);
		if (err != AF_OK)
			goto fail;
	}
	*out = rt;
	return AF_OK;
nomem:
	snprintf(errstr, errstr_size, "out of memory setting up the pipeline");
	err = AF_E_NOMEM;
fail:
	af_runtime_free(rt);
	return err;
}

uint32_t af_runtime_threads(const struct af_runtime *rt)
{
	return rt->n;
}

af_err_t af_runtime_start(struct af_runtime *rt, char *errstr, size_t errstr_size)
{
	atomic_store(&rt->running, rt->n + 2);
	atomic_store(&rt->pace_first_ts, INT64_MIN);
	rt->pace_start = af_clock_s();
	char name[32];
	for (uint32_t i = 0; i < rt->n; i++) {
		if (pthread_create(&rt->cores[i].thread, NULL, af_rt_core_main, &rt->cores[i]) != 0)
			goto fail;
		rt->cores[i].started = true;
		/* Named for top -H, perf and gdb; a name too long is cut. */
		snprintf(name, sizeof(name), "af-core-%u", i % 1000u);
		pthread_setname_np(rt->cores[i].thread, name);
	}
	if (pthread_create(&rt->sink_thread, NULL, sink_main, rt) != 0)
		goto fail;
	rt->sink_started = true;
	pthread_setname_np(rt->sink_thread, "af-sink");
	if (pthread_create(&rt->source_thread, NULL, source_main, rt) != 0)
		goto fail;
	rt->source_started = true;
	pthread_setname_np(rt->source_thread, "af-source");
	return AF_OK;
fail:
	snprintf(errstr, errstr_size, "cannot start the pipeline's threads");
	atomic_store(&rt->abort, true);
	af_rt_wake_all(rt);
	af_runtime_wait(rt, NULL, NULL, 0);
	return AF_E_IO;
}

void af_runtime_stop(struct af_runtime *rt)
{
	atomic_store_explicit(&rt->stop, true, memory_order_relaxed);
	af_rt_unpark(&rt->source_park);
}

bool af_runtime_done(const struct af_runtime *rt)
{
	return atomic_load_explicit(&((struct af_runtime *)rt)->running, memory_order_acquire) == 0;
}

af_err_t af_runtime_wait(struct af_runtime *rt, struct af_summary *sum, char *errstr,
                         size_t errstr_size)
{
	if (rt->source_started)
		pthread_join(rt->source_thread, NULL);
	for (uint32_t i = 0; i < rt->n; i++)
		if (rt->cores[i].started)
			pthread_join(rt->cores[i].thread, NULL);
	if (rt->sink_started)
		pthread_join(rt->sink_thread, NULL);
	rt->source_started = rt->sink_started = false;
	for (uint32_t i = 0; i < rt->n; i++)
		rt->cores[i].started = false;

	if (sum != NULL) {
		for (uint32_t i = 0; i < rt->n; i++)
			af_summary_merge(sum, &rt->cores[i].sum);
		sum->events_in += rt->records;
	}
	int who = atomic_load(&rt->fatal);
	if (who == 0)
		return AF_OK;
	who -= 1;
	if (errstr != NULL)
		snprintf(errstr, errstr_size, "%s",
		         who == RT_WHO_SOURCE ? rt->source_err
		         : who == RT_WHO_SINK ? rt->sink_err
		                              : rt->cores[who - 2].errstr);
	return AF_E_IO;
}

void af_runtime_free(struct af_runtime *rt)
{
	if (rt == NULL)
		return;
	pthread_mutex_destroy(&rt->lat_mu);
	for (uint32_t i = 0; rt->cores != NULL && i < rt->n; i++)
		af_rt_core_fini(&rt->cores[i]);
	for (size_t i = 0; rt->mesh != NULL && i < (size_t)rt->n * rt->n; i++)
		af_ring_free(rt->mesh[i]);
	for (uint32_t c = 0; c < RT_PATH_CHUNKS && rt->path_chunk[c] != NULL; c++) {
		for (uint32_t i = 0; i < RT_PATH_CHUNK; i++)
			free(rt->path_chunk[c][i]);
		free(rt->path_chunk[c]);
	}
	af_pool_free(rt->batches);
	free(rt->track_input);
	free(rt->track_seq);
	free(rt->done_fifo);
	free(rt->mesh);
	free(rt->cores);
	free(rt->frontier);
	free(rt);
}

void af_runtime_progress(const struct af_runtime *rt, uint64_t *records, uint64_t *invalid,
                         uint64_t *alerts)
{
	struct af_runtime *m = (struct af_runtime *)rt;
	uint64_t bad = 0, raised = 0;

	for (uint32_t i = 0; i < rt->n; i++) {
		bad += atomic_load_explicit(&m->cores[i].pub_invalid, memory_order_relaxed);
		raised += atomic_load_explicit(&m->cores[i].pub_alerts, memory_order_relaxed);
	}
	*records = atomic_load_explicit(&m->pub_records, memory_order_relaxed);
	*invalid = bad;
	*alerts = raised;
}

void af_runtime_stats(const struct af_runtime *rt, struct af_summary *out)
{
	struct af_runtime *m = (struct af_runtime *)rt;

	af_summary_init(out);
	for (uint32_t i = 0; i < rt->n; i++) {
		pthread_mutex_lock(&m->cores[i].pub_mu);
		(void)af_summary_merge(out, &m->cores[i].pub_sum);
		pthread_mutex_unlock(&m->cores[i].pub_mu);
	}
	out->events_in = atomic_load_explicit(&m->pub_records, memory_order_relaxed);
}

int64_t af_runtime_frontier(const struct af_runtime *rt, uint32_t input)
{
	return atomic_load_explicit(&((struct af_runtime *)rt)->frontier[input],
	                            memory_order_relaxed);
}

void af_runtime_geo_stats(const struct af_runtime *rt, struct af_geo_reader_stats *out)
{
	struct af_runtime *m = (struct af_runtime *)rt;

	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < rt->n; i++) {
		pthread_mutex_lock(&m->cores[i].pub_mu);
		struct af_geo_reader_stats got = m->cores[i].pub_geo;
		pthread_mutex_unlock(&m->cores[i].pub_mu);
		const struct af_geo_reader_stats *s = &got;
		out->lookups += s->lookups;
		out->addr_hits += s->addr_hits;
		out->record_hits += s->record_hits;
		out->record_misses += s->record_misses;
		out->not_found += s->not_found;
		out->internal += s->internal;
		out->from_record += s->from_record;
	}
}

uint64_t af_runtime_reorder_forced(const struct af_runtime *rt)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < rt->n; i++)
		if (rt->cores[i].merge != NULL)
			n += af_merge_forced(rt->cores[i].merge);
	return n;
}

uint64_t af_runtime_tracked_max(const struct af_config *cfg)
{
	return (uint64_t)AF_RT_TRACK * batch_cap(cfg);
}

uint64_t af_runtime_checkpoints(const struct af_runtime *rt, double *last_s, double *max_s)
{
	struct af_runtime *m = (struct af_runtime *)rt;

	uint64_t last = atomic_load_explicit(&m->ckpt_last_ns, memory_order_relaxed);
	uint64_t max = atomic_load_explicit(&m->ckpt_max_ns, memory_order_relaxed);
	/* The sink stores last, then max: read between the two, max may
	 * still be the old one. */
	if (max < last)
		max = last;
	if (last_s != NULL)
		*last_s = (double)last / 1e9;
	if (max_s != NULL)
		*max_s = (double)max / 1e9;
	return atomic_load_explicit(&m->ckpt_done, memory_order_relaxed);
}

static double ns_s(_Atomic uint64_t *ns)
{
	return (double)atomic_load_explicit(ns, memory_order_relaxed) / 1e9;
}

/* Items held by a set of rings, and the room they have. */
struct fill {
	size_t used, cap;
};

static void fill_add(struct fill *f, const struct af_ring *r)
{
	f->used += af_ring_count(r);
	f->cap += af_ring_capacity(r);
}

static double fill_ratio(const struct fill *f)
{
	return f->cap > 0 ? (double)f->used / (double)f->cap : 0;
}

void af_runtime_pressure(const struct af_runtime *rt, struct af_rt_pressure *out)
{
	struct af_runtime *m = (struct af_runtime *)rt;
	struct fill batches = {0}, mesh = {0}, sink = {0};

	memset(out, 0, sizeof(*out));
	out->source_s = ns_s(&m->blocked_ns);
	for (uint32_t i = 0; i < rt->n; i++) {
		out->worker_s += ns_s(&m->cores[i].blocked_worker_ns);
		out->shard_s += ns_s(&m->cores[i].blocked_shard_ns);
		fill_add(&batches, m->cores[i].in_batches);
		fill_add(&sink, m->cores[i].to_sink);
	}
	for (size_t k = 0; k < (size_t)rt->n * rt->n; k++)
		fill_add(&mesh, m->mesh[k]);
	out->batches_fill = fill_ratio(&batches);
	out->mesh_fill = fill_ratio(&mesh);
	out->sink_fill = fill_ratio(&sink);
}

bool af_runtime_geo_hub_stats(const struct af_runtime *rt, struct af_geo_hub_stats *out)
{
	if (rt->hub == NULL)
		return false;
	af_geo_hub_stats(rt->hub, out);
	return true;
}

bool af_runtime_ended(const struct af_runtime *rt)
{
	return rt->source_ended;
}

uint64_t af_runtime_batches_done(const struct af_runtime *rt)
{
	return atomic_load_explicit(&((struct af_runtime *)rt)->done_batches, memory_order_relaxed);
}

double af_runtime_batch_latency(const struct af_runtime *rt, double q)
{
	uint64_t total = 0, seen = 0;

	for (uint32_t i = 0; i < rt->n; i++)
		for (unsigned k = 0; k < RT_LAT_BUCKETS; k++)
			total += rt->cores[i].latency[k];
	if (total == 0)
		return 0;
	uint64_t want = (uint64_t)ceil(q * (double)total);
	if (want == 0)
		want = 1;
	for (unsigned k = 0; k < RT_LAT_BUCKETS; k++) {
		for (uint32_t i = 0; i < rt->n; i++)
			seen += rt->cores[i].latency[k];
		if (seen >= want) /* the bucket's middle, in seconds */
			return exp2(((double)k + 0.5) / RT_LAT_STEPS) / 1e9;
	}
	return exp2((double)RT_LAT_BUCKETS / RT_LAT_STEPS) / 1e9;
}
