/* ring_scenarios.h - the ring's and the pool's threaded scenarios, written
 * once for the Criterion tests (test_ring.c, test_pool.c) and for the plain
 * ThreadSanitizer runner (tsan_ring_main.c), which cannot use Criterion.
 *
 * Thread: the caller's; each scenario starts its own consumer threads and
 * joins them before it returns.
 * In: the scenario's sizes. Out: what the consumers saw, for the caller to
 * judge with its own assertions or messages; nothing here asserts or
 * prints.
 *
 * DESIGN: every hand-off between the threads is a plain write on one side
 * and a plain read (or write) on the other, ordered only by the rings'
 * release/acquire pairs, so the same code proves order and contents under
 * Criterion and, under TSan, that no pair is missing or too weak.
 */
#ifndef AF_TEST_RING_SCENARIOS_H
#define AF_TEST_RING_SCENARIOS_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"

/* Largest burst af_ringscn_fifo accepts. */
#define AF_RINGSCN_BURST_MAX 64

/* What the consumer of a FIFO run saw. */
struct af_ringscn_fifo {
	uint64_t received;    /* items popped before the ring was drained */
	uint64_t first_wrong; /* sequence number expected where order broke; 0 none */
	uint64_t got_instead; /* the item popped in its place */
	size_t left;          /* items still in the ring after the consumer stopped */
};

/* Push the sequence numbers 1..n from the calling thread through a ring of
 * the given capacity to one consumer thread, then close the ring; the
 * consumer pops until drained. burst 0 pushes and pops one item at a time;
 * otherwise pushes are bursts whose size cycles through 1..burst (so
 * partial pushes happen) and pops are batches of up to burst. The caller
 * expects received == n, first_wrong == 0 and left == 0.
 * Returns AF_E_INVALID when burst is above AF_RINGSCN_BURST_MAX, the
 * ring's errors from af_ring_new, AF_E_INTERNAL when the thread cannot
 * start; *out is written only on AF_OK.
 * Cost: the calling thread yields whenever the ring is full, the consumer
 * whenever it is empty; nothing waits on a clock. */
af_err_t af_ringscn_fifo(size_t capacity, uint64_t n, size_t burst, struct af_ringscn_fifo *out);

/* What came back from a pool round trip. */
struct af_ringscn_recycle {
	uint64_t received; /* objects the consumers took, all lanes */
	uint64_t wrong;    /* out of order, or contents not what the owner wrote */
	size_t home;       /* free objects after the final drain */
};

/* The calling thread owns a pool of pool_count objects and sends items
 * objects, filled with sequence numbers 1..items, on a data ring to each of
 * consumers threads in turn; each consumer checks and overwrites the object
 * and gives it back on its own lane (lane 0 one at a time, lane 1 in
 * batches). A pool far smaller than items sends every object round many
 * times; the owner yields whenever af_pool_get returns NULL. The caller
 * expects received == items, wrong == 0 and home == pool_count.
 * Returns AF_E_INVALID unless consumers is 1 or 2, the pool's or the
 * rings' errors, AF_E_INTERNAL when a thread cannot start; *out is
 * written only on AF_OK. */
af_err_t af_ringscn_recycle(size_t consumers, size_t pool_count, uint64_t items,
                            struct af_ringscn_recycle *out);

#endif
