/* distinct.c - exact-then-HLL distinct counter, its block pool, and the
 * two-epoch windowed form; see distinct.h.
 *
 * Thread: the shard owning the counters and the pool. The only allocation
 * is the pool's, at start-up.
 */
#include "pipeline/state/distinct.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/state/hll.h"

_Static_assert(sizeof(struct af_hll_block) == (size_t)1 << AF_DISTINCT_HLL_P,
               "a block is exactly its registers");
_Static_assert(sizeof(struct af_distinct) == 48, "a distinct counter is 48 bytes");
_Static_assert(sizeof(struct af_distinct_window) == 104, "a windowed counter is 104 bytes");

#define P     AF_DISTINCT_HLL_P
#define EMPTY INT64_MIN

struct af_hll_pool {
	struct af_hll_block *blocks; /* capacity + 1; the last is the scratch */
	struct af_hll_block *free_list;
	size_t capacity, in_use, peak;
	uint64_t refused;
};

struct af_hll_pool *af_hll_pool_new(size_t capacity)
{
	struct af_hll_pool *pool = calloc(1, sizeof(*pool));

	if (!pool)
		return NULL;
	pool->blocks = calloc(capacity + 1, sizeof(*pool->blocks));
	if (!pool->blocks) {
		free(pool);
		return NULL;
	}
	pool->capacity = capacity;
	/* Chain from the end so blocks are handed out in address order. */
	for (size_t i = capacity; i-- > 0;) {
		pool->blocks[i].next = pool->free_list;
		pool->free_list = &pool->blocks[i];
	}
	return pool;
}

void af_hll_pool_free(struct af_hll_pool *pool)
{
	if (!pool)
		return;
	free(pool->blocks);
	free(pool);
}

void af_hll_pool_stats(const struct af_hll_pool *pool, struct af_hll_pool_stats *st)
{
	st->capacity = pool->capacity;
	st->in_use = pool->in_use;
	st->peak = pool->peak;
	st->refused = pool->refused;
}

static struct af_hll_block *pool_take(struct af_hll_pool *pool)
{
	struct af_hll_block *blk = pool->free_list;

	if (!blk) {
		pool->refused++;
		return NULL;
	}
	pool->free_list = blk->next;
	if (++pool->in_use > pool->peak)
		pool->peak = pool->in_use;
	af_hll_clear(blk->regs, P);
	return blk;
}

static void pool_put(struct af_hll_pool *pool, struct af_hll_block *blk)
{
	assert(blk >= pool->blocks && blk < pool->blocks + pool->capacity);
	assert(pool->in_use > 0);
	blk->next = pool->free_list;
	pool->free_list = blk;
	pool->in_use--;
}

static struct af_hll_block *pool_scratch(struct af_hll_pool *pool)
{
	return &pool->blocks[pool->capacity];
}

static inline uint32_t fingerprint(uint64_t hash)
{
	return (uint32_t)(hash >> 32);
}

/* The HLL hash of a fingerprint: the splitmix64 finalizer, a bijection, so
 * distinct fingerprints never collide here and the bits are well spread. */
static inline uint64_t remix(uint32_t fp)
{
	uint64_t x = fp;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static bool small_has(const struct af_distinct *d, uint32_t fp)
{
	for (unsigned i = 0; i < d->n; i++)
		if (d->small[i] == fp)
			return true;
	return false;
}

static void hll_add_small(uint8_t *regs, const struct af_distinct *d)
{
	for (unsigned i = 0; i < d->n; i++)
		af_hll_add(regs, P, remix(d->small[i]));
}

void af_distinct_init(struct af_distinct *d)
{
	memset(d, 0, sizeof(*d));
}

void af_distinct_add(struct af_distinct *d, struct af_hll_pool *pool, uint64_t hash)
{
	uint32_t fp = fingerprint(hash);

	if (d->hll) {
		if (af_hll_add(d->hll->regs, P, remix(fp)))
			d->cache.gen++;
		return;
	}
	if (small_has(d, fp))
		return;
	if (d->n < AF_DISTINCT_SMALL) {
		d->small[d->n++] = fp;
		return;
	}
	struct af_hll_block *blk = pool_take(pool);
	if (!blk) {
		d->saturated = true;
		return;
	}
	hll_add_small(blk->regs, d);
	af_hll_add(blk->regs, P, remix(fp));
	d->hll = blk;
	/* The fingerprints are in the block now; their room holds the cache. */
	memset(&d->cache, 0, sizeof(d->cache));
	d->cache.gen = 1;
}

static uint64_t at_least_past_small(uint64_t est)
{
	return est > AF_DISTINCT_SMALL + 1 ? est : AF_DISTINCT_SMALL + 1;
}

uint64_t af_distinct_count(struct af_distinct *d)
{
	if (d->hll) {
		if (d->cache.est_gen != d->cache.gen) {
			d->cache.est = at_least_past_small(af_hll_count(d->hll->regs, P));
			d->cache.est_gen = d->cache.gen;
		}
		return d->cache.est;
	}
	if (d->saturated)
		return AF_DISTINCT_SMALL + 1;
	return d->n;
}

void af_distinct_reset(struct af_distinct *d, struct af_hll_pool *pool)
{
	if (d->hll)
		pool_put(pool, d->hll);
	af_distinct_init(d);
}

void af_dwin_init(struct af_distinct_window *dw)
{
	dw->epoch = EMPTY;
	af_distinct_init(&dw->cur);
	af_distinct_init(&dw->prev);
}

void af_dwin_reset(struct af_distinct_window *dw, struct af_hll_pool *pool)
{
	af_distinct_reset(&dw->cur, pool);
	af_distinct_reset(&dw->prev, pool);
	dw->epoch = EMPTY;
}

static inline int64_t epoch_of(int64_t width_ns, int64_t ts)
{
	assert(width_ns > 0);
	assert(ts >= 0);
	return ts / width_ns;
}

enum af_window_result af_dwin_add(struct af_distinct_window *dw, struct af_hll_pool *pool,
                                  int64_t width_ns, int64_t ts, uint64_t hash)
{
	int64_t e = epoch_of(width_ns, ts);

	if (dw->epoch == EMPTY) {
		dw->epoch = e;
	} else if (e > dw->epoch) {
		af_distinct_reset(&dw->prev, pool);
		if (e == dw->epoch + 1) {
			dw->prev = dw->cur; /* the block, if any, moves with it */
			af_distinct_init(&dw->cur);
			/* Its union estimate was with the counter just dropped. */
			if (dw->prev.hll)
				dw->prev.cache.u_gen = 0;
		} else {
			af_distinct_reset(&dw->cur, pool);
		}
		dw->epoch = e;
	}
	if (e == dw->epoch)
		af_distinct_add(&dw->cur, pool, hash);
	else if (e == dw->epoch - 1)
		af_distinct_add(&dw->prev, pool, hash);
	else
		return AF_WINDOW_TOO_LATE;
	return AF_WINDOW_ADDED;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Distinct items in a or b. Exact when both are exact; otherwise the HLL of
 * the union built in the pool's scratch block. Never less than either
 * side's own count, so a saturated side stays a lower bound. */
static uint64_t union_count(struct af_distinct *a, struct af_distinct *b,
                            struct af_hll_pool *pool)
{
	uint64_t n;

	if (!a->hll && !b->hll) {
		n = a->n;
		for (unsigned i = 0; i < b->n; i++)
			if (!small_has(a, b->small[i]))
				n++;
	} else {
		if (!a->hll) {
			struct af_distinct *t = a;
			a = b;
			b = t;
		}
		/* a keeps the union's estimate while neither side changes: a's
		 * registers (its gen), b's registers or exact count. A window
		 * roll, which changes what b is, clears it (af_dwin_add). */
		uint32_t other = b->hll ? b->cache.gen : (uint32_t)b->n | AF_DISTINCT_EXACT_TAG;
		if (a->cache.u_gen == a->cache.gen && a->cache.u_other == other)
			return a->cache.u_est;
		uint8_t *regs = pool_scratch(pool)->regs;
		memcpy(regs, a->hll->regs, sizeof(a->hll->regs));
		if (b->hll)
			af_hll_merge(regs, b->hll->regs, P);
		else
			hll_add_small(regs, b);
		n = at_least_past_small(af_hll_count(regs, P));
		n = max_u64(n, max_u64(af_distinct_count(a), af_distinct_count(b)));
		a->cache.u_est = n;
		a->cache.u_gen = a->cache.gen;
		a->cache.u_other = other;
		return n;
	}
	return max_u64(n, max_u64(af_distinct_count(a), af_distinct_count(b)));
}

uint64_t af_dwin_count(struct af_distinct_window *dw, struct af_hll_pool *pool,
                       int64_t width_ns, int64_t now_ts)
{
	int64_t e = epoch_of(width_ns, now_ts);

	if (dw->epoch == EMPTY || e > dw->epoch + 1)
		return 0;
	if (e == dw->epoch + 1)
		return af_distinct_count(&dw->cur);
	return union_count(&dw->cur, &dw->prev, pool);
}

bool af_dwin_saturated(const struct af_distinct_window *dw)
{
	return dw->cur.saturated || dw->prev.saturated;
}

void af_dwin_expire(struct af_distinct_window *dw, struct af_hll_pool *pool, int64_t width_ns,
                    int64_t now_ts)
{
	int64_t e = epoch_of(width_ns, now_ts);

	if (dw->epoch == EMPTY || e <= dw->epoch)
		return;
	if (e == dw->epoch + 1)
		af_distinct_reset(&dw->prev, pool);
	else
		af_dwin_reset(dw, pool);
}
