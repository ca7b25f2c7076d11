/* pool.h - a fixed pool of equally-sized objects (batches, events), made at
 * start-up, handed out by one owner thread and given back to it by the
 * threads it handed them to.
 *
 * Thread: one owner (get, put, drain, available), and one thread per
 * return lane (put on that lane). Lanes are numbered 0..lanes-1 at
 * creation; each has exactly one thread putting into it, for its life.
 * In: objects given back, on a lane or by the owner itself.
 * Out: objects to fill, or NULL when all are out: the caller stops
 * producing (back-pressure) and tries again later, never allocates.
 *
 * DESIGN: the owner keeps the free objects in a plain array used as a
 * stack (no atomics: only the owner touches it; last in, first out, so the
 * object handed out next is the one most likely still in cache). Each
 * lane is an SPSC ring (pipeline/runtime/ring.h) from the lane's thread to
 * the owner. A ring's capacity is at least the pool's count, so giving an
 * object back can never find its lane full: the thread that finished with
 * an object returns it and moves on, and no one waits on a return. The
 * owner moves returned objects to its stack when it runs out (get does
 * this by itself) or when it chooses to (drain). The happens-before edge
 * that makes a consumer's last use of an object precede the owner's next
 * one is the lane ring's release/acquire pair.
 * Objects are laid end to end in one arena, each rounded up to a whole
 * number of cache lines so that two objects held by different threads
 * never share a line.
 */
#ifndef AF_POOL_H
#define AF_POOL_H

#include <stddef.h>

#include "pipeline/err.h"

/* Most objects af_pool_new accepts (the lanes are rings of at least this
 * many slots: see AF_RING_CAP_MAX). */
#define AF_POOL_COUNT_MAX ((size_t)1 << 30)

/* The pool. Opaque. */
struct af_pool;

/* A pool of count objects of size bytes each (aligned to a cache line),
 * with lanes return lanes (0 for a pool that only its owner uses), into
 * *out. All objects start free; their contents are undefined.
 * Returns AF_E_INVALID (and leaves *out alone) when count is 0 or above
 * AF_POOL_COUNT_MAX, size is 0, or the sizes overflow; AF_E_NOMEM when an
 * allocation fails.
 * Thread: any, before the owner and the lanes' threads start.
 * Cost: the arena (count * size rounded up to 64, pages committed as
 * objects are first written), the owner's stack (8 bytes an object) and
 * one ring per lane (8 bytes a slot, count rounded up to a power of two);
 * no later call allocates. */
af_err_t af_pool_new(size_t count, size_t size, size_t lanes, struct af_pool **out);

/* Free the pool and every object in it, wherever they are; NULL is
 * ignored. Objects obtained from it are dangling afterwards.
 * @pre no thread uses the pool or its objects any more (threads joined). */
void af_pool_free(struct af_pool *p);

/* A free object, or NULL when every object is out. When the owner's stack
 * is empty, first takes back what the lanes returned (af_pool_drain). The
 * caller owns the object until it gives it back (af_pool_put, or a lane's
 * af_pool_put_spsc after handing it to that lane's thread). Its contents
 * are whatever its last user left.
 * Thread: the owner only.
 * Cost: a pop from the owner's stack; when it is empty, one batch pop per
 * lane. */
void *af_pool_get(struct af_pool *p);

/* Give obj back from the owner itself (e.g. got and not used). Takes
 * ownership.
 * Thread: the owner only. @pre obj came from this pool and is out. */
void af_pool_put(struct af_pool *p, void *obj);

/* Give obj back to the owner through lane lane. Takes ownership; never
 * fails and never waits (the lane has room for every object of the pool).
 * Thread: lane lane's thread only.
 * @pre lane < the lanes given at creation; obj came from this pool and is
 * out, held by the calling thread.
 * Cost: a slot write and a release store (see af_ring_push_spsc). */
void af_pool_put_spsc(struct af_pool *p, size_t lane, void *obj);

/* af_pool_put_spsc for n objects objs[0..n) at once, with one release
 * store. objs is borrowed for the call; the objects are taken over. */
void af_pool_put_batch_spsc(struct af_pool *p, size_t lane, void *const *objs, size_t n);

/* Move everything the lanes have returned so far to the owner's stack.
 * Returns how many objects came back. get does this by itself when it
 * runs out; call it directly before af_pool_available to count what is
 * home, or at shutdown.
 * Thread: the owner only.
 * Cost: one batch pop per lane. */
size_t af_pool_drain(struct af_pool *p);

/* Free objects on the owner's stack now (not counting those returned on
 * lanes and not yet drained). Equals af_pool_count after af_pool_drain
 * once every object has been given back. Thread: the owner only. */
size_t af_pool_available(const struct af_pool *p);

/* The count given to af_pool_new. Thread: any. */
size_t af_pool_count(const struct af_pool *p);

/* Bytes between consecutive objects: size rounded up to a cache line.
 * Thread: any. */
size_t af_pool_stride(const struct af_pool *p);

#endif
