/* distinct.c - exact-then-HLL distinct counter, its block pool, and the
 * two-epoch windowed form; see distinct.h.
 *
 * Thread: the shard owning the counters and the pool. The only allocation
 * is the pool's, at start-up.
 *
 * DESIGN: every register rise goes through reg_raise(), which moves one
 * count in the block's histogram, and, in a window whose epochs are both
 * HLL, through union_raise(), which moves one count in the union's
 * histogram when the register-wise max changes. A rise in either block changes the
 * max at j only if the new value passes the other block's register j, so
 * the union's histogram stays the histogram of max(cur, prev) with O(1)
 * work per rise. The kept estimates (cache in struct af_distinct) are
 * dropped by whatever changes what they were made from, not checked by
 * generation numbers: all changes to a window pass through this file.
 */
#include "pipeline/state/distinct.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(struct af_hll_block) ==
                   AF_HLL_REGS(AF_DISTINCT_HLL_P) + 2 * AF_DISTINCT_HIST_LEN * sizeof(uint16_t),
               "a block is its registers and two histograms");
_Static_assert(sizeof(struct af_distinct) == 48, "a distinct counter is 48 bytes");
_Static_assert(sizeof(struct af_distinct_window) == 104, "a windowed counter is 104 bytes");

#define P     AF_DISTINCT_HLL_P
#define EMPTY INT64_MIN

struct af_hll_pool {
	struct af_hll_block *blocks; /* capacity of them */
	struct af_hll_block *free_list; /* blocks given back */
	size_t fresh;                   /* blocks[fresh..) never handed out */
	size_t capacity, in_use, peak;
	uint64_t refused;
};

struct af_hll_pool *af_hll_pool_new(size_t capacity)
{
	struct af_hll_pool *pool = calloc(1, sizeof(*pool));

	if (!pool)
		return NULL;
	/* One block at least, so a pool of none is not mistaken for a
	 * failed allocation. */
	pool->blocks = calloc(capacity ? capacity : 1, sizeof(*pool->blocks));
	if (!pool->blocks) {
		free(pool);
		return NULL;
	}
	pool->capacity = capacity;
	/* Blocks never handed out are taken in address order from `fresh`,
	 * not chained here: chaining would touch every page of the pool at
	 * start-up, where calloc's pages are only mapped when first used. */
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

	if (blk) {
		pool->free_list = blk->next;
	} else if (pool->fresh < pool->capacity) {
		blk = &pool->blocks[pool->fresh++];
	} else {
		pool->refused++;
		return NULL;
	}
	if (++pool->in_use > pool->peak)
		pool->peak = pool->in_use;
	af_hll_clear(blk->regs, P);
	memset(blk->hist, 0, sizeof(blk->hist));
	blk->hist[0] = (uint16_t)AF_HLL_REGS(P);
	memset(blk->u_hist, 0, sizeof(blk->u_hist));
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

af_err_t af_distinct_restore(struct af_distinct *d, struct af_hll_pool *pool,
                             const struct af_hll_block *content)
{
	d->hll = pool_take(pool);
	if (d->hll == NULL)
		return AF_E_NOMEM;
	memcpy(d->hll, content, sizeof(*d->hll));
	return AF_OK;
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

static inline struct af_hll_slot slot_of(uint32_t fp)
{
	return af_hll_locate(remix(fp), P);
}

static inline uint8_t max_u8(uint8_t a, uint8_t b)
{
	return a > b ? a : b;
}

/* One register of hist goes from rank from to rank to. */
static inline void hist_move(uint16_t *hist, uint8_t from, uint8_t to)
{
	assert(hist[from] > 0);
	hist[from]--;
	hist[to]++;
}

/* A register rise: what the window needs to keep the union's histogram. */
struct rise {
	uint32_t idx;
	uint8_t from, to;
};

/* Apply slot s to blk; true, with *r filled, if its register rose. */
static bool reg_raise(struct af_hll_block *blk, struct af_hll_slot s, struct rise *r)
{
	uint8_t from = blk->regs[s.idx];

	if (s.rank <= from)
		return false;
	blk->regs[s.idx] = s.rank;
	hist_move(blk->hist, from, s.rank);
	*r = (struct rise){.idx = s.idx, .from = from, .to = s.rank};
	return true;
}

static bool small_has(const struct af_distinct *d, uint32_t fp)
{
	for (unsigned i = 0; i < d->n; i++)
		if (d->small[i] == fp)
			return true;
	return false;
}

/* What an add did to a counter, for the window's bookkeeping. */
enum effect {
	ADD_NOTHING, /* a repeat, or no register rose */
	ADD_EXACT,   /* a new fingerprint, or one the pool refused a block for */
	ADD_SWITCH,  /* the counter took a block */
	ADD_RISE,    /* a register of its block rose (*r) */
};

static enum effect counter_add(struct af_distinct *d, struct af_hll_pool *pool, uint64_t hash,
                               struct rise *r)
{
	uint32_t fp = fingerprint(hash);

	if (d->hll) {
		if (!reg_raise(d->hll, slot_of(fp), r))
			return ADD_NOTHING;
		d->cache.est_ok = false;
		return ADD_RISE;
	}
	if (small_has(d, fp))
		return ADD_NOTHING;
	if (d->n < AF_DISTINCT_SMALL) {
		d->small[d->n++] = fp;
		return ADD_EXACT;
	}
	struct af_hll_block *blk = pool_take(pool);
	if (!blk) {
		d->saturated = true;
		return ADD_EXACT;
	}
	struct rise unused;
	for (unsigned i = 0; i < d->n; i++)
		reg_raise(blk, slot_of(d->small[i]), &unused);
	reg_raise(blk, slot_of(fp), &unused);
	d->hll = blk;
	/* The fingerprints are in the block now; their room holds the cache. */
	memset(&d->cache, 0, sizeof(d->cache));
	return ADD_SWITCH;
}

void af_distinct_init(struct af_distinct *d)
{
	memset(d, 0, sizeof(*d));
}

void af_distinct_add(struct af_distinct *d, struct af_hll_pool *pool, uint64_t hash)
{
	struct rise r;

	counter_add(d, pool, hash, &r);
}

static uint64_t at_least_past_small(uint64_t est)
{
	return est > AF_DISTINCT_SMALL + 1 ? est : AF_DISTINCT_SMALL + 1;
}

uint64_t af_distinct_count(struct af_distinct *d)
{
	if (d->hll) {
		if (!d->cache.est_ok) {
			d->cache.est = at_least_past_small(af_hll_estimate(d->hll->hist, P));
			d->cache.est_ok = true;
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

/* Something in either epoch changed: the union's kept estimate is stale. */
static void union_forget(struct af_distinct_window *dw)
{
	if (dw->cur.hll)
		dw->cur.cache.u_ok = false;
	if (dw->prev.hll)
		dw->prev.cache.u_ok = false;
}

/* The second epoch just took a block: the union's histogram from scratch. */
static void union_build(struct af_distinct_window *dw)
{
	struct af_hll_block *cur = dw->cur.hll;
	const struct af_hll_block *prev = dw->prev.hll;

	memset(cur->u_hist, 0, sizeof(cur->u_hist));
	for (size_t j = 0; j < AF_HLL_REGS(P); j++)
		cur->u_hist[max_u8(cur->regs[j], prev->regs[j])]++;
}

/* A register of one epoch rose (r); other is the other epoch's block. */
static void union_raise(struct af_distinct_window *dw, const struct af_hll_block *other,
                        const struct rise *r)
{
	uint8_t o = other->regs[r->idx];

	if (r->to > o)
		hist_move(dw->cur.hll->u_hist, max_u8(r->from, o), r->to);
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
			/* The block, if any, moves with it; its union histogram
			 * was with the counter just dropped and is not read
			 * again (only the newer epoch's is). */
			dw->prev = dw->cur;
			af_distinct_init(&dw->cur);
			union_forget(dw);
		} else {
			af_distinct_reset(&dw->cur, pool);
		}
		dw->epoch = e;
	}

	struct af_distinct *d, *other;
	if (e == dw->epoch) {
		d = &dw->cur;
		other = &dw->prev;
	} else if (e == dw->epoch - 1) {
		d = &dw->prev;
		other = &dw->cur;
	} else {
		return AF_WINDOW_TOO_LATE;
	}

	struct rise r = {0}; /* set by counter_add when it returns ADD_RISE */
	enum effect eff = counter_add(d, pool, hash, &r);
	if (eff == ADD_NOTHING)
		return AF_WINDOW_ADDED;
	union_forget(dw);
	if (other->hll) {
		if (eff == ADD_SWITCH)
			union_build(dw);
		else if (eff == ADD_RISE)
			union_raise(dw, other->hll, &r);
	}
	return AF_WINDOW_ADDED;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* The estimate for blk's registers with the items of the exact counter x
 * added, without touching blk: x's items move counts in a copy of blk's
 * histogram. Two items may pick one register, so the values they left are
 * remembered (at most AF_DISTINCT_SMALL registers). */
static uint64_t estimate_with_exact(const struct af_hll_block *blk, const struct af_distinct *x)
{
	uint16_t hist[AF_DISTINCT_HIST_LEN];
	uint32_t idx[AF_DISTINCT_SMALL];
	uint8_t val[AF_DISTINCT_SMALL];
	unsigned touched = 0;

	memcpy(hist, blk->hist, sizeof(hist));
	for (unsigned i = 0; i < x->n; i++) {
		struct af_hll_slot s = slot_of(x->small[i]);
		unsigned t = 0;
		while (t < touched && idx[t] != s.idx)
			t++;
		if (t == touched) {
			idx[t] = s.idx;
			val[t] = blk->regs[s.idx];
			touched++;
		}
		if (s.rank > val[t]) {
			hist_move(hist, val[t], s.rank);
			val[t] = s.rank;
		}
	}
	return af_hll_estimate(hist, P);
}

/* Distinct items in either epoch. Exact when both are exact; otherwise the
 * estimate for the union's registers, from the newer epoch's union
 * histogram or the HLL side's histogram with the exact side's items. Never
 * less than either side's own count, so a saturated side stays a lower
 * bound. */
static uint64_t union_count(struct af_distinct_window *dw)
{
	struct af_distinct *a = &dw->cur, *b = &dw->prev;
	uint64_t n;

	if (!a->hll && !b->hll) {
		n = a->n;
		for (unsigned i = 0; i < b->n; i++)
			if (!small_has(a, b->small[i]))
				n++;
	} else {
		/* a: the HLL side, the newer one if both are. */
		if (!a->hll) {
			a = &dw->prev;
			b = &dw->cur;
		}
		if (!a->cache.u_ok) {
			uint64_t est = b->hll ? af_hll_estimate(a->hll->u_hist, P)
			                      : estimate_with_exact(a->hll, b);
			a->cache.u_est = at_least_past_small(est);
			a->cache.u_ok = true;
		}
		n = a->cache.u_est;
	}
	return max_u64(n, max_u64(af_distinct_count(a), af_distinct_count(b)));
}

uint64_t af_dwin_count(struct af_distinct_window *dw, struct af_hll_pool *pool, int64_t width_ns,
                       int64_t now_ts)
{
	int64_t e = epoch_of(width_ns, now_ts);

	(void)pool;
	if (dw->epoch == EMPTY || e > dw->epoch + 1)
		return 0;
	if (e == dw->epoch + 1)
		return af_distinct_count(&dw->cur);
	return union_count(dw);
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
	if (e == dw->epoch + 1) {
		af_distinct_reset(&dw->prev, pool);
		union_forget(dw);
	} else {
		af_dwin_reset(dw, pool);
	}
}
