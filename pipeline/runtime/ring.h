/* ring.h - a bounded single-producer single-consumer ring of pointers: the
 * one way threads hand work to each other in the runtime (batches from the
 * source to workers, events from workers to shards, alerts to the sink,
 * pool objects back to their owner).
 *
 * Thread: exactly two, fixed for the ring's life: one producer (push,
 * close) and one consumer (pop, drained). Which thread creates and frees
 * the ring is up to the caller, as long as creation happens before either
 * side starts (e.g. before pthread_create) and freeing after both stopped.
 * In: pointers, pushed one at a time or in bursts. The ring never looks at
 * what they point to; ownership of the pointee goes with the pointer.
 * Out: the same pointers, in the order pushed. Nothing is ever dropped: a
 * full ring refuses the push and the producer decides how to wait (that is
 * the runtime's back-pressure).
 *
 * DESIGN: C11 atomics, not Concurrency Kit's ck_ring. Considered:
 *  - Bursts. A worker hands over a burst of events at once. ck_ring has no
 *    batch push or pop for SPSC: each ck_ring_enqueue_spsc publishes its
 *    own index and reloads the other side's, so a burst of n items costs n
 *    publications and n reads of the consumer's cache line. Here a burst
 *    of any size is one release store of the tail.
 *  - Line ping-pong. Each side keeps a private copy of the other side's
 *    index (on its own cache line) and reloads the shared one only when
 *    the copy says the ring is full (producer) or empty (consumer), so in a
 *    steady stream the indices' lines move between cores about once per
 *    lap rather than once per item. ck_ring reads the other index on every
 *    call.
 *  - ThreadSanitizer. ck_pr's loads, stores and fences are inline assembly
 *    (on x86_64, plain movs and empty compiler barriers, TSO doing the
 *    rest); TSan instruments none of it, so it sees the slot written by one
 *    thread and read by the other with no synchronisation and reports a
 *    race on every hand-off, unless every use is annotated by hand (as
 *    pipeline/enrich/geo.c does for ck_epoch). C11 atomics are understood
 *    by TSan as they are, and threaded tests of the runtime must pass under
 *    it.
 *  - Clarity. Every atomic here names its memory order and the operation
 *    it pairs with, in one short file; ck's ordering is spread over its
 *    fence macros.
 *  - Capacity. Head and tail count items for ever (64-bit, never wrap in
 *    practice; the arithmetic is modular anyway), so a ring of capacity c
 *    holds c items; ck_ring keeps one slot empty to tell full from empty.
 * Memory ordering: the producer writes slots, then stores the tail with
 * release; the consumer loads the tail with acquire before reading those
 * slots. The consumer stores the head with release after reading slots;
 * the producer loads the head with acquire before writing over them (so a
 * slot's read happens before its reuse). Close is a release store after
 * the last push; drained loads it with acquire before its last look at
 * the tail, so "closed and empty" means every item pushed has been popped.
 */
#ifndef AF_RING_H
#define AF_RING_H

#include <stdbool.h>
#include <stddef.h>

#include "pipeline/err.h"

/* Largest capacity af_ring_new accepts. */
#define AF_RING_CAP_MAX ((size_t)1 << 30)

/* The ring. Opaque. */
struct af_ring;

/* A ring holding up to capacity pointers, into *out.
 * Returns AF_E_INVALID (and leaves *out alone) when capacity is 0, not a
 * power of two, or above AF_RING_CAP_MAX; AF_E_NOMEM when the allocation
 * fails.
 * Thread: any, before the producer and consumer start.
 * Cost: one allocation of two cache lines of indices plus 8 bytes a
 * slot; no call after this one allocates. */
af_err_t af_ring_new(size_t capacity, struct af_ring **out);

/* Free the ring; NULL is ignored. Pointers still in it are not looked at:
 * the caller drains or forgets them first.
 * @pre neither side uses the ring any more (threads joined). */
void af_ring_free(struct af_ring *r);

/* The capacity given to af_ring_new. Thread: any. */
size_t af_ring_capacity(const struct af_ring *r);

/* How many items the ring holds: exact when called by either side while
 * the other is idle; otherwise a snapshot between two moments, for
 * metrics (never more than the capacity). Thread: any.
 * Cost: two loads of the shared indices (their lines may be on the other
 * core). */
size_t af_ring_count(const struct af_ring *r);

/* Push item (may be NULL; the ring does not care). Returns false, and
 * pushes nothing, when the ring is full. The consumer takes ownership of
 * what item refers to when it pops it.
 * Thread: the producer only. @pre the ring is not closed.
 * Cost: a slot write and a release store; a load of the consumer's index
 * only when the last one seen says the ring is full. */
bool af_ring_push_spsc(struct af_ring *r, void *item);

/* Push up to n items from items[0..n), in order, as one burst: the
 * consumer sees all of those pushed or none. Returns how many were pushed
 * (items[0..returned)); fewer than n only when the ring filled up, 0 when
 * it was full (or n is 0). items is borrowed for the call.
 * Thread: the producer only. @pre the ring is not closed.
 * Cost: one slot write per item and one release store for the burst; a
 * load of the consumer's index only when fewer than n slots were known
 * free. */
size_t af_ring_push_batch_spsc(struct af_ring *r, void *const *items, size_t n);

/* Pop the oldest item into *item. Returns false (and leaves *item alone)
 * when the ring is empty; see af_ring_drained_spsc to tell "nothing yet"
 * from "nothing ever again".
 * Thread: the consumer only.
 * Cost: a slot read and a release store; a load of the producer's index
 * only when the last one seen says the ring is empty. */
bool af_ring_pop_spsc(struct af_ring *r, void **item);

/* Pop up to n of the oldest items into items[0..n), in order. Returns how
 * many were popped: fewer than n only when no more were waiting, 0 when
 * the ring was empty (or n is 0).
 * Thread: the consumer only.
 * Cost: one slot read per item and one release store for the burst; a
 * load of the producer's index only when fewer than n items were known
 * to be waiting. */
size_t af_ring_pop_batch_spsc(struct af_ring *r, void **items, size_t n);

/* Say that nothing more will be pushed, so the consumer's drain can end.
 * Items already pushed stay poppable.
 * Thread: the producer only, after its last push. @pre not yet closed. */
void af_ring_close_spsc(struct af_ring *r);

/* True when the producer has closed the ring and every item it pushed has
 * been popped: the consumer's drain is over. False while the ring is open
 * or still holds items (pop them, then ask again). A drain loop pops until
 * empty, then asks this, and waits in its own way when the answer is no.
 * Thread: the consumer only.
 * Cost: an acquire load of the flag and, once it is set, of the tail. */
bool af_ring_drained_spsc(struct af_ring *r);

#endif
