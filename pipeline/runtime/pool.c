/* pool.c - the fixed object pool with return lanes (see pool.h).
 *
 * Thread: the owner for get, put, drain and available; each lane's own
 * thread for its puts.
 * In: objects given back. Out: free objects.
 */
#include "pipeline/runtime/pool.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "pipeline/runtime/ring.h"

/* Objects are rounded up to this, so threads holding neighbours do not
 * share a line (ring.c's RING_LINE, for the same reason). */
#define POOL_LINE 64

struct af_pool {
	unsigned char *arena; /* count objects, stride bytes apart */
	size_t count;
	size_t stride;
	void **free_objs; /* the owner's stack; [0, nfree) are free */
	size_t nfree;
	struct af_ring **lane; /* one ring per lane: its thread -> owner */
	size_t lanes;
};

/* For asserts: obj is the start of one of the pool's objects. (Marked
 * unused: only asserts call these, and NDEBUG builds must not warn.) */
__attribute__((unused)) static bool owns(const struct af_pool *p, const void *obj)
{
	uintptr_t at = (uintptr_t)obj, base = (uintptr_t)p->arena;

	return at >= base && at - base < p->count * p->stride && (at - base) % p->stride == 0;
}

__attribute__((unused)) static bool owns_all(const struct af_pool *p, void *const *objs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!owns(p, objs[i]))
			return false;
	return true;
}

static size_t pow2_at_least(size_t n)
{
	size_t c = 1;

	while (c < n)
		c <<= 1;
	return c;
}

af_err_t af_pool_new(size_t count, size_t size, size_t lanes, struct af_pool **out)
{
	if (count == 0 || count > AF_POOL_COUNT_MAX || size == 0 || size > SIZE_MAX - POOL_LINE)
		return AF_E_INVALID;
	size_t stride = (size + POOL_LINE - 1) & ~(size_t)(POOL_LINE - 1);
	if (stride > SIZE_MAX / count || lanes > SIZE_MAX / sizeof(struct af_ring *))
		return AF_E_INVALID;

	af_err_t err = AF_E_NOMEM;
	struct af_pool *p = calloc(1, sizeof(*p));
	if (!p)
		goto cleanup;
	p->count = count;
	p->stride = stride;
	p->arena = aligned_alloc(POOL_LINE, count * stride);
	p->free_objs = malloc(count * sizeof(*p->free_objs));
	p->lane = calloc(lanes ? lanes : 1, sizeof(*p->lane));
	if (!p->arena || !p->free_objs || !p->lane)
		goto cleanup;
	p->lanes = lanes;
	for (size_t i = 0; i < lanes; i++) {
		err = af_ring_new(pow2_at_least(count), &p->lane[i]);
		if (err != AF_OK)
			goto cleanup;
	}
	/* Highest address at the bottom of the stack, so objects go out in
	 * address order while the pool is first used. */
	for (size_t i = 0; i < count; i++)
		p->free_objs[i] = p->arena + (count - 1 - i) * stride;
	p->nfree = count;
	*out = p;
	p = NULL;
	err = AF_OK;
cleanup:
	af_pool_free(p);
	return err;
}

void af_pool_free(struct af_pool *p)
{
	if (!p)
		return;
	if (p->lane)
		for (size_t i = 0; i < p->lanes; i++)
			af_ring_free(p->lane[i]);
	free(p->lane);
	free(p->free_objs);
	free(p->arena);
	free(p);
}

size_t af_pool_drain(struct af_pool *p)
{
	size_t before = p->nfree;

	/* The stack has room for every object that is out, and no lane holds
	 * more than that, so one pop per lane takes all it has now. */
	for (size_t i = 0; i < p->lanes; i++)
		p->nfree += af_ring_pop_batch_spsc(p->lane[i], p->free_objs + p->nfree,
		                                   p->count - p->nfree);
	return p->nfree - before;
}

void *af_pool_get(struct af_pool *p)
{
	if (p->nfree == 0 && af_pool_drain(p) == 0)
		return NULL;
	return p->free_objs[--p->nfree];
}

void af_pool_put(struct af_pool *p, void *obj)
{
	assert(owns(p, obj));
	assert(p->nfree < p->count);
	p->free_objs[p->nfree++] = obj;
}

void af_pool_put_spsc(struct af_pool *p, size_t lane, void *obj)
{
	assert(lane < p->lanes);
	assert(owns(p, obj));
	bool pushed = af_ring_push_spsc(p->lane[lane], obj);

	/* Only an object given back twice can fill a lane. */
	assert(pushed);
	(void)pushed;
}

void af_pool_put_batch_spsc(struct af_pool *p, size_t lane, void *const *objs, size_t n)
{
	assert(lane < p->lanes);
	assert(owns_all(p, objs, n));
	size_t pushed = af_ring_push_batch_spsc(p->lane[lane], objs, n);

	assert(pushed == n);
	(void)pushed;
}

size_t af_pool_available(const struct af_pool *p)
{
	return p->nfree;
}

size_t af_pool_count(const struct af_pool *p)
{
	return p->count;
}

size_t af_pool_stride(const struct af_pool *p)
{
	return p->stride;
}
