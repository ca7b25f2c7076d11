/* ring.c - the bounded SPSC ring of pointers (see ring.h for the contract
 * and the choice of C11 atomics over ck_ring).
 *
 * Thread: push and close on the producer, pop and drained on the consumer.
 * In/out: pointers, in order.
 *
 * DESIGN: two cache lines, then the slots. The producer's line holds the
 * tail it publishes and what it last saw of the head; the consumer's line
 * the head it publishes and what it last saw of the tail; each side also
 * keeps its own copy of the mask, so in a steady stream a core touches the
 * other core's line only to refresh a stale view of the other index. The
 * slots start on a line of their own, away from both indices.
 */
#include "pipeline/runtime/ring.h"

#include <assert.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

/* A destructive-interference distance for x86_64 and most arm64 parts. */
#define RING_LINE 64

struct af_ring {
	/* Written by the producer. */
	alignas(RING_LINE) _Atomic size_t tail; /* items ever pushed */
	size_t head_seen;                       /* the head, as last loaded */
	size_t pmask;
	atomic_bool closed;

	/* Written by the consumer. */
	alignas(RING_LINE) _Atomic size_t head; /* items ever popped */
	size_t tail_seen;                       /* the tail, as last loaded */
	size_t cmask;

	alignas(RING_LINE) void *slot[];
};

af_err_t af_ring_new(size_t capacity, struct af_ring **out)
{
	if (capacity == 0 || capacity > AF_RING_CAP_MAX || (capacity & (capacity - 1)) != 0)
		return AF_E_INVALID;
	size_t bytes = sizeof(struct af_ring) + capacity * sizeof(void *);
	/* aligned_alloc wants a multiple of the alignment. */
	bytes = (bytes + RING_LINE - 1) & ~(size_t)(RING_LINE - 1);
	struct af_ring *r = aligned_alloc(RING_LINE, bytes);
	if (!r)
		return AF_E_NOMEM;
	atomic_init(&r->tail, 0);
	r->head_seen = 0;
	r->pmask = capacity - 1;
	atomic_init(&r->closed, false);
	atomic_init(&r->head, 0);
	r->tail_seen = 0;
	r->cmask = capacity - 1;
	*out = r;
	return AF_OK;
}

void af_ring_free(struct af_ring *r)
{
	free(r);
}

size_t af_ring_capacity(const struct af_ring *r)
{
	return r->pmask + 1;
}

size_t af_ring_count(const struct af_ring *r)
{
	/* Head first: both only grow, so a tail loaded later is at least the
	 * head loaded before it and the difference cannot go negative. It can
	 * exceed the capacity if the producer ran on in between. Relaxed: a
	 * metric, nothing is read on the strength of it. */
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	size_t n = tail - head;

	return n > r->pmask + 1 ? r->pmask + 1 : n;
}

/* Slots the producer may write at tail without waiting: from its view of
 * the head, refreshed only when that view does not offer want slots. */
static size_t room(struct af_ring *r, size_t tail, size_t want)
{
	size_t cap = r->pmask + 1;
	size_t free_slots = cap - (tail - r->head_seen);

	if (free_slots < want) {
		/* Acquire pairs with the consumer's release store of the head:
		 * its reads of the slots we are about to reuse happen before
		 * our writes to them. */
		r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
		free_slots = cap - (tail - r->head_seen);
	}
	return free_slots;
}

/* Items the consumer may read at head: from its view of the tail,
 * refreshed only when that view does not offer want items. */
static size_t waiting(struct af_ring *r, size_t head, size_t want)
{
	size_t avail = r->tail_seen - head;

	if (avail < want) {
		/* Acquire pairs with the producer's release store of the tail:
		 * its writes of the slots before it are visible to our reads. */
		r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
		avail = r->tail_seen - head;
	}
	return avail;
}

bool af_ring_push_spsc(struct af_ring *r, void *item)
{
	assert(!atomic_load_explicit(&r->closed, memory_order_relaxed));
	/* Relaxed: only this thread writes the tail. */
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	if (room(r, tail, 1) == 0)
		return false;
	r->slot[tail & r->pmask] = item;
	/* Release pairs with the consumer's acquire load in waiting(). */
	atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
	return true;
}

size_t af_ring_push_batch_spsc(struct af_ring *r, void *const *items, size_t n)
{
	assert(!atomic_load_explicit(&r->closed, memory_order_relaxed));
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	size_t k = room(r, tail, n);

	if (k > n)
		k = n;
	if (k == 0)
		return 0;
	for (size_t i = 0; i < k; i++)
		r->slot[(tail + i) & r->pmask] = items[i];
	/* Release pairs with the consumer's acquire load in waiting(): one
	 * store publishes the whole burst. */
	atomic_store_explicit(&r->tail, tail + k, memory_order_release);
	return k;
}

bool af_ring_pop_spsc(struct af_ring *r, void **item)
{
	/* Relaxed: only this thread writes the head. */
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);

	if (waiting(r, head, 1) == 0)
		return false;
	*item = r->slot[head & r->cmask];
	/* Release pairs with the producer's acquire load in room(). */
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	return true;
}

size_t af_ring_pop_batch_spsc(struct af_ring *r, void **items, size_t n)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t k = waiting(r, head, n);

	if (k > n)
		k = n;
	if (k == 0)
		return 0;
	for (size_t i = 0; i < k; i++)
		items[i] = r->slot[(head + i) & r->cmask];
	/* Release pairs with the producer's acquire load in room(). */
	atomic_store_explicit(&r->head, head + k, memory_order_release);
	return k;
}

void af_ring_close_spsc(struct af_ring *r)
{
	assert(!atomic_load_explicit(&r->closed, memory_order_relaxed));
	/* Release pairs with the acquire load in af_ring_drained_spsc: the
	 * tail stores of every push before this are visible to a consumer
	 * that sees the flag. */
	atomic_store_explicit(&r->closed, true, memory_order_release);
}

bool af_ring_drained_spsc(struct af_ring *r)
{
	/* The flag before the tail: a tail loaded after seeing the flag is
	 * the final one (the acquire makes every earlier tail store visible),
	 * whereas a tail loaded first could miss a push made just before the
	 * close. */
	if (!atomic_load_explicit(&r->closed, memory_order_acquire))
		return false;
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);

	return waiting(r, head, 1) == 0;
}
