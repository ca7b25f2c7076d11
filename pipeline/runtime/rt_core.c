/* rt_core.c - a core thread: the worker that parses, enriches and routes
 * the batches the source gives it, and the shard that applies the events
 * routed to it (see runtime.h for the whole picture).
 *
 * Thread: one core thread per struct rt_core; init and fini on the
 * controlling thread before start and after join.
 * In: batches from the source ring; items from the N inbound mesh rings.
 * Out: items on the N outbound mesh rings; messages (alerts, dead-letter
 * and event lines) to the sink; batches and items back to their owners.
 *
 * DESIGN: the loop alternates a shard step and a worker step and never
 * blocks inside either: a worker that finds a stage, a ring or its pool
 * full keeps what it has (pending items, the batch position) and returns,
 * and the next shard step drains what others sent it. Only emitting an
 * alert can wait (for a message from its pool), and the sink it waits for
 * waits on no core.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "pipeline/enrich/geo.h"
#include "pipeline/clock.h"
#include "pipeline/rules/rule.h"
#include "pipeline/runtime/rt_impl.h"
#include "sinks/events_ecs.h"

/* The core that owns a 64-bit key: the high half scaled to [0, n), so the
 * low bits the tables probe with stay evenly spread within each shard. */
static uint32_t owner(uint64_t hash, uint32_t n)
{
	return (uint32_t)(((hash >> 32) * (uint64_t)n) >> 32);
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/* --- messages to the sink --- */

/* A free message, waiting for the sink to give one back if need be.
 * NULL only when the run is aborting. */
static struct rt_msg *msg_get(struct rt_core *c)
{
	struct rt_backoff bo = {0};
	struct rt_msg *m;
	double t0 = 0;

	while ((m = af_pool_get(c->msgs)) == NULL) {
		if (atomic_load_explicit(&c->rt->abort, memory_order_relaxed))
			return NULL;
		if (t0 == 0)
			t0 = af_clock_s();
		af_rt_backoff(&bo);
	}
	if (t0 != 0)
		af_rt_add_since(&c->blocked_shard_ns, t0);
	return m;
}

/* The ring to the sink holds as many slots as there are messages, so a
 * message in hand always fits. */
static void msg_send(struct rt_core *c, struct rt_msg *m)
{
	bool ok = af_ring_push_spsc(c->to_sink, m);
	(void)ok;
	af_rt_unpark(&c->rt->sink_park);
}

static void text_flush(struct rt_core *c, struct rt_text *t)
{
	if (t->msg == NULL)
		return;
	if (t->msg->len > 0)
		msg_send(c, t->msg);
	else
		af_pool_put(c->msgs, t->msg);
	t->msg = NULL;
}

/* Append the line formatted in w (over t->line) to t's chunk. */
static void text_add(struct rt_core *c, struct rt_text *t, struct af_jsonw *w)
{
	size_t room = c->rt->text_size;

	if (w->flags & AF_JSONW_OVERFLOW) {
		/* Cannot happen with the sizes chosen at start-up; never write a
		 * cut line. */
		af_rt_fail(c->rt, (int)c->id + 2, "a dead-letter or event line outgrew its buffer");
		return;
	}
	if (t->msg != NULL && t->msg->len + w->len > room)
		text_flush(c, t);
	if (t->msg == NULL) {
		t->msg = msg_get(c);
		if (t->msg == NULL)
			return;
		t->msg->type = t->type;
		t->msg->len = 0;
	}
	memcpy(t->msg->text + t->msg->len, w->buf, w->len);
	t->msg->len += (uint32_t)w->len;
}

static void emit_alert(void *ctx, const struct af_alert *a)
{
	struct rt_core *c = ctx;
	struct rt_msg *m = msg_get(c);

	/* Counted where raised, so a checkpoint of the shard holds the
	 * count of exactly the alerts its state has raised. */
	(void)af_summary_add_alerts(&c->sum, a->rule, 1);
	c->sum.alerts_by_severity[a->severity < AF_SEV_COUNT ? a->severity : AF_SEV_LOW]++;
	atomic_store_explicit(&c->pub_alerts, c->sum.alerts, memory_order_relaxed);
	if (m == NULL)
		return;
	m->type = RT_MSG_ALERT;
	m->len = 0;
	memcpy(&m->alert, a, sizeof(*a));
	msg_send(c, m);
}

/* --- worker side --- */

static void dead_letter(struct rt_core *c, const struct af_rt_batch *b, const struct af_rt_rec *rec,
                        enum af_reason reason, const char *detail)
{
	struct af_runtime *rt = c->rt;
	struct af_jsonw w;

	c->batch_invalid[reason]++;
	if (!af_dlq_enabled(rt->sinks.dlq))
		return;
	af_jsonw_init(&w, c->dlq.line, c->dlq.line_size, NULL);
	af_dlq_format(&w, af_dlq_raw_max(rt->sinks.dlq), reason, detail,
	              af_runtime_path(rt, rec->file), rec->line, rec->offset, b->input,
	              b->bytes + rec->off, rec->len);
	af_jsonw_end_line(&w);
	text_add(c, &c->dlq, &w);
}

/* Move what can be moved from stage j to its ring. Returns whether
 * anything moved. */
static bool stage_flush(struct rt_core *c, uint32_t j)
{
	uint32_t n = c->nstage[j];
	void **st = c->stage + (size_t)j * RT_STAGE;

	if (n == 0)
		return false;
	size_t k = af_ring_push_batch_spsc(c->rt->mesh[(size_t)c->id * c->rt->n + j], st, n);
	if (k == 0)
		return false;
	af_rt_unpark(&c->rt->cores[j].park);
	memmove(st, st + k, (n - k) * sizeof(*st));
	c->nstage[j] = n - (uint32_t)k;
	return true;
}

static bool stages_flush(struct rt_core *c)
{
	bool moved = false;

	for (uint32_t j = 0; j < c->rt->n; j++)
		moved |= stage_flush(c, j);
	return moved;
}

static bool stages_empty(const struct rt_core *c)
{
	for (uint32_t j = 0; j < c->rt->n; j++)
		if (c->nstage[j] != 0)
			return false;
	return true;
}

static bool stage_push(struct rt_core *c, uint32_t j, struct rt_item *it)
{
	if (c->nstage[j] == RT_STAGE && !stage_flush(c, j))
		return false;
	c->stage[(size_t)j * RT_STAGE + c->nstage[j]++] = it;
	return true;
}

/* Hand on the items of the record last routed. Returns true when none is
 * left waiting. */
static bool pending_push(struct rt_core *c)
{
	if (c->copy_of != NULL) {
		struct rt_item *cp = af_pool_get(c->items);
		if (cp == NULL)
			return false;
		memcpy(cp, c->copy_of, sizeof(*cp));
		cp->ev.flags = (cp->ev.flags & ~(uint32_t)AF_EV_PART_ACCOUNT) | AF_EV_PART_ADDRESS;
		c->pend[c->npend] = cp;
		c->pend_dst[c->npend++] = c->copy_dst;
		c->copy_of = NULL;
	}
	while (c->npend > 0) {
		if (!stage_push(c, c->pend_dst[c->npend - 1], c->pend[c->npend - 1]))
			return false;
		c->npend--;
	}
	return true;
}

/* --speed X: hold a record until X times its event-time offset from the
 * run's first event has passed, before it is enriched, so that a database
 * reloaded during a paced replay shows in the records after the reload.
 * The clock is the run's, shared by the workers; the reader section is
 * left while waiting, so a reload never waits for a pause. Once the run
 * is stopped nothing waits: what was read drains at full speed (a stop
 * is seen within PACE_SLICE_S). */
#define PACE_SLICE_S 0.05
static void pace(struct rt_core *c, int64_t ts_ns)
{
	struct af_runtime *rt = c->rt;
	double speed = rt->cfg->replay.speed;

	if (speed <= 0)
		return;
	int64_t first = INT64_MIN;
	if (atomic_compare_exchange_strong(&rt->pace_first_ts, &first, ts_ns))
		return;
	double due = rt->pace_start + (double)(ts_ns - first) / 1e9 / speed;
	bool left = false;
	for (;;) {
		double wait = due - af_clock_s();
		if (wait <= 0 || atomic_load_explicit(&rt->stop, memory_order_relaxed))
			break;
		if (wait > PACE_SLICE_S)
			wait = PACE_SLICE_S;
		if (!left && c->geo != NULL)
			af_geo_reader_leave(c->geo);
		left = true;
		struct timespec ts = {0, (long)(wait * 1e9)};
		nanosleep(&ts, NULL);
	}
	if (left && c->geo != NULL)
		af_geo_reader_enter(c->geo);
}

/* Parse, enrich and route record rec_i of the batch. Returns false when
 * there was no item to parse into (try again later). */
static bool work_record(struct rt_core *c, struct af_rt_batch *b)
{
	const struct af_rt_rec *rec = &b->rec[c->rec_i];
	uint32_t n = c->rt->n;

	if (rec->reason != AF_REASON_NONE) {
		dead_letter(c, b, rec, (enum af_reason)rec->reason, NULL);
		c->rec_i++;
		return true;
	}
	struct rt_item *it = af_pool_get(c->items);
	if (it == NULL)
		return false;
	struct af_event *ev = &it->ev;
	ev->pos.input = b->input;
	ev->pos.file = rec->file;
	ev->pos.line = rec->line;
	ev->pos.offset = rec->offset;
	ev->pos.seq = rec->seq;
	ev->pos.batch = b->number;
	const char *detail = NULL;
	enum af_reason reason =
	    af_parse_record(c->parser, b->bytes + rec->off, rec->len, ev, &detail);
	c->rec_i++;
	if (reason != AF_REASON_NONE) {
		dead_letter(c, b, rec, reason, detail);
		af_pool_put(c->items, it);
		return true;
	}
	pace(c, ev->ts_ns);
	if (c->geo != NULL)
		af_geo_enrich(c->geo, ev);
	if (ev->ts_ns > c->batch_max)
		c->batch_max = ev->ts_ns;
	it->type = RT_ITEM_EVENT;
	it->frontier = c->batch_max;

	uint32_t acct = owner(ev->account_hash, n);
	ev->flags |= AF_EV_PART_ACCOUNT;
	if (ev->src.family != AF_IP_NONE && (c->addr_kinds & AF_RULE_KIND(ev->kind))) {
		uint32_t addr = owner(XXH3_64bits(ev->src.bytes, sizeof(ev->src.bytes)), n);
		if (addr == acct) {
			ev->flags |= AF_EV_PART_ADDRESS;
		} else {
			c->copy_of = it;
			c->copy_dst = addr;
		}
	}
	c->pend[0] = it;
	c->pend_dst[0] = acct;
	c->npend = 1;
	/* The copy is made before the original can leave (pending_push makes
	 * it first), so copy_of is never read after its shard freed it. */
	return true;
}

static void count_latency(struct rt_core *c, double seconds)
{
	double ns = seconds * 1e9;
	unsigned k = ns < 1 ? 0 : (unsigned)(log2(ns) * RT_LAT_STEPS);

	c->latency[k < RT_LAT_BUCKETS ? k : RT_LAT_BUCKETS - 1]++;
}

/* Send the batch's marker to every core, then give the batch back.
 * Returns false when an item or a stage was missing (try again later). */
static bool finish_batch(struct rt_core *c, struct af_rt_batch *b)
{
	struct af_runtime *rt = c->rt;

	while (c->marker_next < rt->n) {
		uint32_t j = c->marker_next;
		if (c->nstage[j] == RT_STAGE && !stage_flush(c, j))
			return false;
		struct rt_item *m = af_pool_get(c->items);
		if (m == NULL)
			return false;
		m->type = RT_ITEM_MARKER;
		m->input = b->input;
		m->last = b->last;
		m->idle = b->idle;
		m->active = b->count > 0;
		m->batch = b->number;
		m->frontier = c->batch_max;
		m->counts = j == c->id;
		m->checkpoint = b->checkpoint;
		m->stop = b->stop;
		if (m->counts)
			memcpy(m->invalid, c->batch_invalid, sizeof(m->invalid));
		stage_push(c, j, m);
		c->marker_next++;
	}
	/* Let the source know how far this input has got (it reads next from
	 * the input furthest behind). Relaxed: a hint, nothing depends on it
	 * but the choice of what to read. */
	_Atomic int64_t *f = &rt->frontier[b->input];
	int64_t seen = atomic_load_explicit(f, memory_order_relaxed);
	while (c->batch_max > seen &&
	       !atomic_compare_exchange_weak_explicit(f, &seen, c->batch_max, memory_order_relaxed,
	                                              memory_order_relaxed))
		;
	c->records_done += b->count;
	count_latency(c, af_clock_s() - b->filled_at);
	af_pool_put_spsc(rt->batches, c->id, b);
	af_rt_unpark(&rt->source_park);
	c->batch = NULL;
	stages_flush(c);
	text_flush(c, &c->dlq);
	return true;
}

static bool worker_step(struct rt_core *c)
{
	struct af_runtime *rt = c->rt;
	bool moved = false;

	if (c->out_closed)
		return false;
	if (c->npend > 0 || c->copy_of != NULL) {
		if (!pending_push(c))
			return stages_flush(c);
		moved = true;
	}
	if (c->batch == NULL) {
		void *b;
		if (!af_ring_pop_spsc(c->in_batches, &b)) {
			moved |= stages_flush(c);
			if (stages_empty(c) && af_ring_drained_spsc(c->in_batches)) {
				text_flush(c, &c->dlq);
				for (uint32_t j = 0; j < rt->n; j++) {
					af_ring_close_spsc(rt->mesh[(size_t)c->id * rt->n + j]);
					af_rt_unpark(&rt->cores[j].park);
				}
				c->out_closed = true;
				moved = true;
			}
			return moved;
		}
		af_rt_unpark(&rt->source_park); /* room in the ring */
		c->batch = b;
		c->rec_i = 0;
		c->batch_max = INT64_MIN;
		memset(c->batch_invalid, 0, sizeof(c->batch_invalid));
		c->marker_next = 0;
		moved = true;
	}
	struct af_rt_batch *b = c->batch;
	if (c->geo != NULL)
		af_geo_reader_enter(c->geo);
	while (c->rec_i < b->count) {
		if (!work_record(c, b))
			break;
		moved = true;
		if (!pending_push(c))
			break;
	}
	if (c->geo != NULL)
		af_geo_reader_leave(c->geo);
	if (c->rec_i == b->count && c->npend == 0 && c->copy_of == NULL && finish_batch(c, b))
		return true;
	/* Stuck mid-batch (no item, or a ring full): what sits in the stages
	 * may be exactly what a shard waits for before it can give items
	 * back, so it must not wait for the stages to fill. */
	moved |= stages_flush(c);
	return moved;
}

/* --- shard side --- */

/* An event leaves the reorder buffer: duplicates are dropped here, in
 * event order, then its parts are applied. Only the account part's copy is
 * counted and written out. */
static void apply(struct rt_core *c, struct af_event *ev, bool late)
{
	bool primary = (ev->flags & AF_EV_PART_ACCOUNT) != 0;
	unsigned parts = (primary ? AF_SHARD_ACCOUNT : 0u) |
	                 ((ev->flags & AF_EV_PART_ADDRESS) ? AF_SHARD_ADDRESS : 0u);

	if (late && primary)
		c->sum.late++;
	if (ev->dedup_key != 0 && af_dedup_check(c->dedup, ev->dedup_key, ev->ts_ns)) {
		if (primary)
			c->sum.duplicates++;
		return;
	}
	ev->flags &= ~(uint32_t)(AF_EV_PART_ACCOUNT | AF_EV_PART_ADDRESS);
	af_shard_apply_parts(c->shard, ev, parts);
	if (!primary)
		return;
	c->sum.events_ok++;
	c->sum.by_kind[ev->kind]++;
	c->sum.by_schema[ev->schema]++;
	af_keyset_add(&c->accounts, ev->account_hash);
	if (c->rt->events_wanted) {
		struct af_jsonw w;
		af_jsonw_init(&w, c->events.line, c->events.line_size, NULL);
		af_ecs_format(&w, ev, af_runtime_path(c->rt, ev->pos.file));
		af_jsonw_end_line(&w);
		text_add(c, &c->events, &w);
	}
}

/* Apply an event the merge let out, and count it off its batch. */
static void release(struct rt_core *c, struct af_event *ev, bool late)
{
	/* The next event's tables are likely cold: ask for them now, to
	 * arrive while this one is applied. */
	const struct af_event *next = af_merge_peek(c->merge);
	if (next != NULL) {
		af_dedup_prefetch(c->dedup, next->dedup_key);
		af_shard_prefetch(c->shard, next);
	}
	if (c->track != NULL)
		c->track[ev->pos.batch % AF_RT_TRACK]--;
	apply(c, ev, late);
}

/* Move track_base past the batches done here: read up to their marker
 * (before `expected`) with no event left in the merge. An event held so
 * long that the batches read since reach half the source's allowance is
 * let out early (counted as forced), so that the source, which stops at
 * the whole allowance, never waits for a shard that waits for it. */
static void track_advance(struct rt_core *c)
{
	bool late;

	for (;;) {
		while (c->track_base < c->expected && c->track[c->track_base % AF_RT_TRACK] == 0)
			c->track_base++;
		if (c->expected - c->track_base < AF_RT_TRACK / 2)
			return;
		struct af_event *ev = af_merge_pop_forced(c->merge, &late);
		if (ev == NULL)
			return; /* cannot happen: the count says events wait */
		release(c, ev, late);
	}
}

/* Tell the sink, in message m, that every batch before done is done
 * here; what the shard raised for them went before (event lines are
 * flushed first). */
static void done_send(struct rt_core *c, struct rt_msg *m, uint64_t done)
{
	m->type = RT_MSG_DONE;
	m->len = 0;
	m->done = done;
	msg_send(c, m);
	c->done_sent = done;
}

/* Tell the sink how far this shard is done, when a message is free. */
static void track_send(struct rt_core *c)
{
	if (c->track == NULL || c->track_base == c->done_sent)
		return;
	text_flush(c, &c->events);
	struct rt_msg *m = af_pool_get(c->msgs);
	if (m != NULL) /* else the sink is busy: next time */
		done_send(c, m, c->track_base);
}

static void merge_drain(struct rt_core *c)
{
	struct af_event *ev;
	bool late;

	/* Applied in place: nothing is pushed before the next pop. */
	while ((ev = af_merge_pop_ref(c->merge, &late)) != NULL)
		release(c, ev, late);
}

/* The items gathered for core j, back to it, and core j woken (its
 * worker may wait for them). */
static void items_home(struct rt_core *c, uint32_t j)
{
	if (c->nret[j] == 0)
		return;
	af_pool_put_batch_spsc(c->rt->cores[j].items, c->id, c->ret + (size_t)j * RT_STAGE,
	                       c->nret[j]);
	af_rt_unpark(&c->rt->cores[j].park);
	c->nret[j] = 0;
}

/* Give items back to the core that made them, in bursts. */
static void give_back(struct rt_core *c, uint32_t j, struct rt_item *it)
{
	c->ret[(size_t)j * RT_STAGE + c->nret[j]++] = it;
	if (c->nret[j] == RT_STAGE)
		items_home(c, j);
}

static void give_back_all(struct rt_core *c)
{
	for (uint32_t j = 0; j < c->rt->n; j++)
		items_home(c, j);
}

/* The next item from core j, or NULL when none is waiting. */
static struct rt_item *look_next(struct rt_core *c, uint32_t j)
{
	struct rt_look *l = &c->look[j];

	if (l->at == l->n) {
		l->at = 0;
		l->n = (uint32_t)af_ring_pop_batch_spsc(c->rt->mesh[(size_t)j * c->rt->n + c->id],
		                                        l->item, RT_LOOK);
		if (l->n == 0)
			return NULL;
		af_rt_unpark(&c->rt->cores[j].park); /* room in its ring */
	}
	return l->item[l->at++];
}

/* Every input ended or the run stopped: let every event out, in order. */
static void count_held(const struct af_event *ev, void *ctx)
{
	uint64_t *held = ctx;
	*held += (ev->flags & AF_EV_PART_ACCOUNT) != 0;
}

static void shard_finish(struct rt_core *c)
{
	if (c->stopped) {
		/* The stop's checkpoint holds the events still in the reorder
		 * buffer: the resumed run lets them out when an uninterrupted
		 * run would have, so they are counted as held, not applied. */
		af_merge_each(c->merge, count_held, &c->sum.held);
	} else {
		for (uint32_t i = 0; i < c->rt->src.ninputs; i++)
			if (!c->input_done[i])
				af_merge_finish(c->merge, i);
		merge_drain(c);
	}
	give_back_all(c);
	text_flush(c, &c->events);
	if (c->track != NULL) {
		/* Everything read is applied (or, stopped, as much as is): the
		 * last word to the sink, which waits for it (msg_get waits for a
		 * free message). What a stop holds is not done: the offsets
		 * committed stop before it, and the checkpoint has it. */
		struct rt_msg *m = msg_get(c);
		if (m != NULL) {
			if (!c->stopped)
				c->track_base = c->expected;
			done_send(c, m, c->track_base);
		}
	}
	af_ring_close_spsc(c->to_sink);
	af_rt_unpark(&c->rt->sink_park);
	c->shard_done = true;
}

/* A batch's dead letters, from its marker, into this shard's counts. */
/* How often a core copies its counts for metrics. */
#define RT_PUB_S 0.25

/* The counts that are not kept as they go, into c->sum. */
static void sum_state(struct rt_core *c)
{
	struct af_shard_stats st;

	c->sum.accounts = af_keyset_count(&c->accounts);
	c->sum.accounts_estimated = !af_keyset_exact(&c->accounts);
	af_shard_stats(c->shard, &st);
	c->sum.accounts_evicted = st.account_evictions;
	c->sum.addresses_evicted = st.address_evictions;
}

/* Copy the counts for af_runtime_stats, at most every RT_PUB_S unless
 * force. Mutex: pub_mu, taken for the copy only (metrics, not the data
 * path: once a quarter second at a batch boundary, or while idle). */
static void publish(struct rt_core *c, bool force)
{
	double now = af_clock_s();

	if (!force && now - c->pub_at < RT_PUB_S)
		return;
	c->pub_at = now;
	c->pub_stale = false;
	sum_state(c);
	pthread_mutex_lock(&c->pub_mu);
	c->pub_sum = c->sum;
	if (c->geo != NULL)
		af_geo_reader_stats(c->geo, &c->pub_geo);
	pthread_mutex_unlock(&c->pub_mu);
}

static void count_invalid(struct rt_core *c, const uint32_t *invalid)
{
	for (unsigned r = 0; r < AF_REASON_COUNT; r++) {
		c->sum.invalid_by_reason[r] += invalid[r];
		c->sum.events_invalid += invalid[r];
	}
	atomic_store_explicit(&c->pub_invalid, c->sum.events_invalid, memory_order_relaxed);
}

/* Every batch before c->expected is read: write this shard's part of
 * checkpoint id and tell the sink, after everything raised so far. */
static void checkpoint(struct rt_core *c, uint64_t id)
{
	give_back_all(c);
	text_flush(c, &c->events);
	if (!af_rt_ckpt_core(c, id))
		return;
	struct rt_msg *m = msg_get(c);
	if (m == NULL)
		return;
	m->type = RT_MSG_CHECKPOINT;
	m->len = 0;
	m->done = id;
	msg_send(c, m);
}

/* Items read per shard step at most, so the worker gets its turn. */
#define SHARD_STEP_ITEMS 1024u

static bool shard_step(struct rt_core *c)
{
	struct af_runtime *rt = c->rt;
	bool moved = false;

	uint64_t ckpt = 0;

	if (c->shard_done)
		return false;
	for (uint32_t k = 0; k < SHARD_STEP_ITEMS; k++) {
		uint32_t from = (uint32_t)(c->expected % rt->n);
		struct rt_item *it = look_next(c, from);
		if (it == NULL) {
			/* Closed and empty: core `from` has no batch numbered
			 * `expected`, so no batch after it exists either. */
			if (af_ring_drained_spsc(rt->mesh[(size_t)from * rt->n + c->id])) {
				shard_finish(c);
				return true;
			}
			break;
		}
		moved = true;
		bool marker = it->type == RT_ITEM_MARKER;
		if (marker) {
			/* A shard that got none of an awake input's batch wakes
			 * it here, at the same batch as the others (which woke it
			 * at their first event of it): so W, and what leaves, is
			 * the same whatever the thread count. */
			if (it->active && !c->input_done[it->input])
				af_merge_wake(c->merge, it->input);
			af_merge_advance(c->merge, it->input, it->frontier);
			if (it->last && !c->input_done[it->input]) {
				af_merge_finish(c->merge, it->input);
				c->input_done[it->input] = true;
			} else if (it->idle && !c->input_done[it->input]) {
				af_merge_idle(c->merge, it->input);
			}
			if (it->counts) {
				count_invalid(c, it->invalid);
				publish(c, false);
			}
			c->expected++;
			ckpt = it->checkpoint;
			c->stopped = c->stopped || it->stop;
		} else {
			if (c->track != NULL)
				c->track[it->ev.pos.batch % AF_RT_TRACK]++;
			af_merge_push(c->merge, &it->ev, it->frontier);
		}
		give_back(c, from, it);
		merge_drain(c);
		if (marker && c->track != NULL)
			track_advance(c);
		if (ckpt != 0) {
			checkpoint(c, ckpt);
			ckpt = 0;
		}
	}
	if (moved) {
		give_back_all(c);
		c->pub_stale = true;
	} else {
		text_flush(c, &c->events);
		/* An idle shard's last counts would otherwise wait for the
		 * next batch, which a live run may not see for hours. */
		if (c->pub_stale)
			publish(c, false);
	}
	track_send(c);
	return moved;
}

void *af_rt_core_main(void *arg)
{
	struct rt_core *c = arg;
	struct af_runtime *rt = c->rt;
	struct rt_backoff bo = {.park = &c->park, .park_s = RT_PARK_S};

	while (!c->shard_done) {
		if (atomic_load_explicit(&rt->abort, memory_order_relaxed))
			break;
		bool moved = shard_step(c);
		moved |= worker_step(c);
		if (moved) {
			af_rt_backoff_reset(&bo);
		} else if (c->batch != NULL) {
			/* A batch in hand and no way forward: the mesh is full
			 * or every item is downstream. Timed for metrics; clock
			 * reads only while blocked. */
			double t0 = af_clock_s();
			af_rt_backoff(&bo);
			af_rt_add_since(&c->blocked_worker_ns, t0);
		} else {
			af_rt_backoff(&bo);
		}
	}
	publish(c, true);
	atomic_store_explicit(&c->pub_invalid, c->sum.events_invalid, memory_order_relaxed);
	atomic_fetch_sub_explicit(&rt->running, 1, memory_order_release);
	return NULL;
}

/* --- set-up --- */

static void *alloc_zero(size_t n, size_t size, bool *failed)
{
	void *p = calloc(n ? n : 1, size);
	if (p == NULL)
		*failed = true;
	return p;
}

af_err_t af_rt_core_init(struct rt_core *c, struct af_runtime *rt, uint32_t id, char *errstr,
                         size_t errstr_size)
{
	const struct af_config *cfg = rt->cfg;
	uint32_t n = rt->n;
	bool failed = false;
	af_err_t err;

	c->rt = rt;
	c->id = id;
	pthread_mutex_init(&c->pub_mu, NULL);
	af_summary_init(&c->sum);
	af_summary_init(&c->pub_sum);
	c->addr_kinds = af_rules_kinds(&cfg->rules, AF_RULE_SCOPE_ADDRESS);

	/* This shard's share of the bounds: the run's caps hold for the run. */
	c->cfg = *cfg;
	c->cfg.state.max_accounts = div_up(cfg->state.max_accounts, n);
	c->cfg.state.max_addresses = div_up(cfg->state.max_addresses, n);
	c->cfg.state.hll_blocks = div_up(cfg->state.hll_blocks, n);
	if (c->cfg.state.max_accounts < 16)
		c->cfg.state.max_accounts = 16;
	if (c->cfg.state.max_addresses < 16)
		c->cfg.state.max_addresses = 16;
	uint64_t dedup_max = div_up(cfg->input.dedup_max_entries, n);

	c->parser = af_parser_new(cfg->input.max_record_bytes, errstr, errstr_size);
	if (c->parser == NULL)
		return AF_E_NOMEM;
	if (rt->hub != NULL) {
		c->geo = af_geo_reader_new(rt->hub, cfg->geo.cache_entries);
		if (c->geo == NULL)
			goto nomem;
	}
	size_t items = (size_t)n * (RT_MESH_SLOTS + RT_LOOK + RT_STAGE) + 4;
	if (af_pool_new(items, sizeof(struct rt_item), n, &c->items) != AF_OK)
		goto nomem;
	if (af_pool_new(RT_MSGS, sizeof(struct rt_msg) + rt->text_size, 1, &c->msgs) != AF_OK)
		goto nomem;
	if (af_ring_new(RT_MSGS, &c->to_sink) != AF_OK)
		goto nomem;
	if (af_ring_new(4, &c->in_batches) != AF_OK)
		goto nomem;
	c->stage = alloc_zero((size_t)n * RT_STAGE, sizeof(void *), &failed);
	c->nstage = alloc_zero(n, sizeof(uint32_t), &failed);
	c->ret = alloc_zero((size_t)n * RT_STAGE, sizeof(void *), &failed);
	c->nret = alloc_zero(n, sizeof(uint32_t), &failed);
	c->look = alloc_zero(n, sizeof(struct rt_look), &failed);
	c->input_done = alloc_zero(rt->src.ninputs, sizeof(bool), &failed);
	/* A dead-letter line: the raw excerpt escaped (at worst six bytes a
	 * byte, as \u00XX) or in base64, plus the envelope. */
	c->dlq.type = RT_MSG_DLQ;
	c->dlq.line_size = 6 * af_dlq_raw_max(rt->sinks.dlq) + 4096;
	c->dlq.line = alloc_zero(c->dlq.line_size, 1, &failed);
	c->events.type = RT_MSG_EVENTS;
	c->events.line_size = rt->text_size;
	c->events.line = alloc_zero(c->events.line_size, 1, &failed);
	if (failed || af_keyset_init(&c->accounts) != AF_OK)
		goto nomem;

	size_t merge_max = RT_MERGE_MAX / n;
	if (merge_max < RT_MERGE_MIN)
		merge_max = RT_MERGE_MIN;
	c->merge = af_merge_new(rt->src.ninputs, cfg->input.reorder_window, merge_max);
	c->dedup = af_dedup_new(cfg->input.dedup_retention, dedup_max);
	if (c->merge == NULL || c->dedup == NULL)
		goto nomem;
	if (rt->src.inputs_start_idle)
		for (uint32_t i = 0; i < rt->src.ninputs; i++)
			af_merge_idle(c->merge, i);
	if (rt->src.complete != NULL) {
		c->track = alloc_zero(AF_RT_TRACK, sizeof(*c->track), &failed);
		if (failed)
			goto nomem;
	}
	err = af_shard_new(&c->cfg, emit_alert, c, &c->shard, errstr, errstr_size);
	if (err != AF_OK)
		return err;
	return AF_OK;
nomem:
	snprintf(errstr, errstr_size, "out of memory setting up core %u", id);
	return AF_E_NOMEM;
}

void af_rt_core_fini(struct rt_core *c)
{
	pthread_mutex_destroy(&c->pub_mu);
	af_shard_free(c->shard);
	af_merge_free(c->merge);
	af_dedup_free(c->dedup);
	af_keyset_fini(&c->accounts);
	af_parser_free(c->parser);
	af_geo_reader_free(c->geo);
	af_pool_free(c->items);
	af_pool_free(c->msgs);
	af_ring_free(c->to_sink);
	af_ring_free(c->in_batches);
	free(c->stage);
	free(c->nstage);
	free(c->ret);
	free(c->nret);
	free(c->look);
	free(c->input_done);
	free(c->track);
	free(c->dlq.line);
	free(c->events.line);
}
