/* ring_scenarios.c - the ring's and the pool's threaded scenarios (see
 * ring_scenarios.h), shared by test_ring.c, test_pool.c and tsan_ring_main.c.
 *
 * Thread: the caller's is the producer (FIFO) or the pool's owner (round
 * trip); one or two consumer threads started and joined here.
 * In: sizes. Out: counts and the first fault seen, for the caller to judge.
 */
#include "ring_scenarios.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>

#include "pipeline/runtime/pool.h"
#include "pipeline/runtime/ring.h"

/* Items are sequence numbers from 1, so NULL never stands for one. */
#define ITEM(i) ((void *)(uintptr_t)(i))
#define SEQ(p)  ((uint64_t)(uintptr_t)(p))

/* Shared by the producer and the consumer; the consumer's fields are read
 * by the producer only after the join. */
struct fifo_run {
	struct af_ring *ring;
	size_t burst;
	uint64_t received;
	uint64_t first_wrong;
	uint64_t got_instead;
};

/* Pop up to n items into buf (n 0: one, with the single-item pop),
 * yielding while the ring is empty but open. Returns 0 only once the ring
 * is drained. Consumer side only. */
static size_t pop_or_wait(struct af_ring *r, void **buf, size_t n)
{
	for (;;) {
		size_t k;
		if (n == 0)
			k = af_ring_pop_spsc(r, buf) ? 1 : 0;
		else
			k = af_ring_pop_batch_spsc(r, buf, n);
		if (k > 0 || af_ring_drained_spsc(r))
			return k;
		sched_yield();
	}
}

static void *fifo_consume(void *arg)
{
	struct fifo_run *run = arg;
	void *buf[AF_RINGSCN_BURST_MAX];
	size_t k;

	while ((k = pop_or_wait(run->ring, buf, run->burst)) > 0) {
		for (size_t i = 0; i < k; i++) {
			uint64_t want = ++run->received;
			if (SEQ(buf[i]) != want && run->first_wrong == 0) {
				run->first_wrong = want;
				run->got_instead = SEQ(buf[i]);
			}
		}
	}
	return NULL;
}

af_err_t af_ringscn_fifo(size_t capacity, uint64_t n, size_t burst, struct af_ringscn_fifo *out)
{
	struct fifo_run run = {.burst = burst};
	void *buf[AF_RINGSCN_BURST_MAX];
	pthread_t cons;
	af_err_t err;

	if (burst > AF_RINGSCN_BURST_MAX)
		return AF_E_INVALID;
	err = af_ring_new(capacity, &run.ring);
	if (err != AF_OK)
		return err;
	if (pthread_create(&cons, NULL, fifo_consume, &run) != 0) {
		af_ring_free(run.ring);
		return AF_E_INTERNAL;
	}
	for (uint64_t next = 1; next <= n;) {
		size_t want = burst == 0 ? 1 : 1 + (size_t)(next % burst);
		if (want > n - next + 1)
			want = (size_t)(n - next + 1);
		for (size_t i = 0; i < want; i++)
			buf[i] = ITEM(next + i);
		size_t k = burst == 0 ? (af_ring_push_spsc(run.ring, buf[0]) ? 1 : 0)
		                      : af_ring_push_batch_spsc(run.ring, buf, want);
		next += k;
		if (k < want)
			sched_yield();
	}
	af_ring_close_spsc(run.ring);
	pthread_join(cons, NULL);
	*out = (struct af_ringscn_fifo){
	    .received = run.received,
	    .first_wrong = run.first_wrong,
	    .got_instead = run.got_instead,
	    .left = af_ring_count(run.ring),
	};
	af_ring_free(run.ring);
	return AF_OK;
}

struct msg {
	uint64_t seq;
	uint64_t check; /* ~seq, written by the owner */
	unsigned char body[200];
};

struct consumer {
	struct af_pool *pool;
	struct af_ring *in;
	size_t lane;
	bool batch_returns;
	uint64_t received;
	uint64_t last_seq;
	uint64_t wrong;
};

static void *pool_consume(void *arg)
{
	struct consumer *c = arg;
	void *buf[16];
	size_t k;

	while ((k = pop_or_wait(c->in, buf, 16)) > 0) {
		for (size_t i = 0; i < k; i++) {
			struct msg *m = buf[i];
			if (m->seq <= c->last_seq || m->check != ~m->seq ||
			    m->body[m->seq % sizeof m->body] != (unsigned char)m->seq)
				c->wrong++;
			c->last_seq = m->seq;
			c->received++;
			/* The consumer writes too: the owner's next use of the
			 * object must come after this. */
			memset(m, 0xee, sizeof *m);
			if (!c->batch_returns)
				af_pool_put_spsc(c->pool, c->lane, m);
		}
		if (c->batch_returns)
			af_pool_put_batch_spsc(c->pool, c->lane, buf, k);
	}
	return NULL;
}

af_err_t af_ringscn_recycle(size_t consumers, size_t pool_count, uint64_t items,
                            struct af_ringscn_recycle *out)
{
	struct af_pool *p = NULL;
	struct consumer c[2] = {{0}};
	pthread_t t[2];
	size_t started = 0;
	af_err_t err;

	if (consumers < 1 || consumers > 2)
		return AF_E_INVALID;
	err = af_pool_new(pool_count, sizeof(struct msg), consumers, &p);
	if (err != AF_OK)
		goto cleanup;
	for (; started < consumers; started++) {
		struct consumer *ci = &c[started];
		ci->pool = p;
		ci->lane = started;
		ci->batch_returns = started == 1;
		err = af_ring_new(16, &ci->in);
		if (err != AF_OK)
			goto cleanup;
		if (pthread_create(&t[started], NULL, pool_consume, ci) != 0) {
			af_ring_free(ci->in);
			ci->in = NULL;
			err = AF_E_INTERNAL;
			goto cleanup;
		}
	}
	for (uint64_t seq = 1; seq <= items;) {
		struct msg *m = af_pool_get(p);
		if (!m) {
			sched_yield();
			continue;
		}
		m->seq = seq;
		m->check = ~seq;
		m->body[seq % sizeof m->body] = (unsigned char)seq;
		while (!af_ring_push_spsc(c[seq % consumers].in, m))
			sched_yield();
		seq++;
	}
cleanup:
	/* Stop whichever consumers started, then count what came back. */
	for (size_t i = 0; i < started; i++) {
		af_ring_close_spsc(c[i].in);
		pthread_join(t[i], NULL);
	}
	if (err == AF_OK) {
		*out = (struct af_ringscn_recycle){0};
		for (size_t i = 0; i < started; i++) {
			out->received += c[i].received;
			out->wrong += c[i].wrong;
		}
		af_pool_drain(p);
		out->home = af_pool_available(p);
	}
	for (size_t i = 0; i < started; i++)
		af_ring_free(c[i].in);
	af_pool_free(p);
	return err;
}
