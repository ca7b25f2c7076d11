/* distinct.h - how many distinct things (recipients of an account, accounts
 * an address failed against): exact while few, HyperLogLog past that, and a
 * windowed form for "distinct X in the last W".
 *
 * Thread: the shard that owns the state and its pool; no locks. No
 * allocation per event: HLL blocks come from a pool made at start-up.
 * In: 64-bit hashes of the items (xxh3). Out: a distinct count, exact up to
 * AF_DISTINCT_SMALL, then an estimate with relative standard error 3.25%
 * (HLL, p = 10).
 *
 * DESIGN: most accounts mail a handful of recipients in a window, so the
 * counter holds up to AF_DISTINCT_SMALL 32-bit fingerprints (the top half of
 * the hash) inline and compares them exactly (two of eight items share a
 * fingerprint with probability about 2^-27). The first item beyond that
 * takes a 1 KiB HLL block from the pool and moves the fingerprints into it.
 * The HLL is fed a re-mix of the fingerprint (a bijective 64-bit finalizer),
 * not the caller's hash, so items counted before and after the switch land
 * in the same register with the same rank; 32-bit fingerprints only start to
 * collide at tens of thousands of items, far below HLL's own error.
 *
 * When the pool is empty the counter keeps its exact set and saturates: its
 * count is AF_DISTINCT_SMALL + 1, a lower bound (it has seen at least that
 * many), and af_distinct_saturated() says so; the pool counts the refusal.
 * A saturated counter asks again on its next unfamiliar item, so it recovers
 * once blocks are returned, but stays flagged until reset: the items missed
 * meanwhile are not in its count. Which counters get blocks depends on the
 * shard's whole event sequence, so results are identical across thread
 * counts only while no pool refuses; size the pool so it does not (the
 * refusals are in the stats).
 *
 * Counts are asked on every event, and for a busy counter most events add
 * an item, so a count must not read the 1 KiB of registers. A block keeps
 * the histogram of its registers beside them, moved by one on every rise,
 * and the estimate is taken from it (af_hll_estimate: the same bits as
 * af_hll_count on the registers). For the window's union: with one side
 * exact, its at most AF_DISTINCT_SMALL items are applied to a copy of the
 * other side's histogram; with both sides HLL, the newer epoch's block also
 * keeps the histogram of the union's registers (the register-wise max of
 * both blocks), built with one pass when the second side takes a block and
 * moved on every rise of either side. So a count costs O(RANK_MAX +
 * AF_DISTINCT_SMALL) and gives exactly what merging and counting would.
 */
#ifndef AF_DISTINCT_H
#define AF_DISTINCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/state/hll.h"
#include "pipeline/state/window.h"

#define AF_DISTINCT_SMALL    8  /* exact fingerprints held inline */
#define AF_DISTINCT_HLL_P    10 /* precision of pool blocks: 1 KiB, 3.25% */
#define AF_DISTINCT_HIST_LEN AF_HLL_HIST_LEN(AF_DISTINCT_HLL_P)

/* One block of HLL registers and their histograms; free blocks are chained
 * through next. */
struct af_hll_block {
	union {
		uint8_t regs[AF_HLL_REGS(AF_DISTINCT_HLL_P)];
		struct af_hll_block *next;
	};
	/* hist[k]: registers holding k; sums to 1024, 2^AF_DISTINCT_HLL_P. */
	uint16_t hist[AF_DISTINCT_HIST_LEN];
	/* Valid only in a window's newer epoch while the older one holds a
	 * block too: the histogram of max(regs[j], older regs[j]) over j. */
	uint16_t u_hist[AF_DISTINCT_HIST_LEN];
};

/* A fixed number of HLL blocks, made once at start-up. Opaque. */
struct af_hll_pool;

struct af_hll_pool_stats {
	size_t capacity;  /* blocks made at start-up */
	size_t in_use;    /* blocks held by counters now */
	size_t peak;      /* largest in_use so far */
	uint64_t refused; /* requests refused because every block was in use */
};

/* A pool of capacity blocks. capacity 0 is allowed: every counter then
 * saturates past AF_DISTINCT_SMALL. Returns NULL when out of memory.
 * Thread: any, before the pool is handed to its shard.
 * Cost: one allocation of capacity * sizeof(struct af_hll_block) (1248
 * bytes each). */
struct af_hll_pool *af_hll_pool_new(size_t capacity);

/* Frees the pool and all its blocks; NULL is ignored. Counters still holding
 * blocks must not be used afterwards.
 * @pre no counter of this pool is used again. */
void af_hll_pool_free(struct af_hll_pool *pool);

/* Counters since af_hll_pool_new, into *st. */
void af_hll_pool_stats(const struct af_hll_pool *pool, struct af_hll_pool_stats *st);

struct af_distinct {
	union {
		/* While exact: fingerprints, the first n valid. */
		uint32_t small[AF_DISTINCT_SMALL];
		/* Once hll: estimates kept until something under them
		 * changes, since most events of a counter that has seen many
		 * items change no register. */
		struct {
			uint64_t est;   /* own estimate, while est_ok */
			uint64_t u_est; /* the window's union estimate before the
			                   max with each side, while u_ok; kept by
			                   the HLL side (the newer one if both) */
			bool est_ok;    /* cleared when a register rises */
			bool u_ok;      /* cleared by any change to either epoch */
		} cache;
	};
	uint8_t n;                /* fingerprints held */
	bool saturated;           /* the pool refused a block; count is a lower bound */
	struct af_hll_block *hll; /* NULL while exact; owned, from the pool */
};

/* An empty counter in caller's storage. A zero-filled counter is empty too. */
void af_distinct_init(struct af_distinct *d);

/* Count the item with this hash. May take a block from pool (borrowed; the
 * one the counter uses for its whole life).
 * Cost: O(AF_DISTINCT_SMALL) compares, or one HLL register and histogram
 * update; the switch to HLL clears 1 KiB once. */
void af_distinct_add(struct af_distinct *d, struct af_hll_pool *pool, uint64_t hash);

/* Distinct items counted: exact up to AF_DISTINCT_SMALL, then the HLL
 * estimate (never below AF_DISTINCT_SMALL + 1, which it has seen); when
 * saturated without a block, AF_DISTINCT_SMALL + 1. Not const: the
 * estimate is kept in d until a register rises.
 * Cost: O(1) while exact or unchanged; af_hll_estimate of the block's
 * histogram (a few dozen operations, no register read) after a change. */
uint64_t af_distinct_count(struct af_distinct *d);

/* Whether the count is only a lower bound because the pool refused a block
 * (sticky until af_distinct_reset). */
static inline bool af_distinct_saturated(const struct af_distinct *d)
{
	return d->saturated;
}

/* For a snapshot's restore: d, whose bytes were copied from a saved
 * counter, takes a block from pool holding a copy of content (the saved
 * counter's block); its own hll pointer is not read. AF_E_NOMEM, d left
 * exact with no block, when the pool has none free (a smaller pool than
 * the one saved). Cost: a copy of one block. */
af_err_t af_distinct_restore(struct af_distinct *d, struct af_hll_pool *pool,
                             const struct af_hll_block *content);

/* Empty the counter and return its block, if any, to pool. Must be called
 * before the counter's storage is dropped (account eviction), or the block
 * stays in use until the pool is freed. */
void af_distinct_reset(struct af_distinct *d, struct af_hll_pool *pool);

/* "Distinct X in the last W", with tumbling epochs of width W (epoch =
 * ts / W): a counter for the newest epoch and one for the epoch before it.
 * The count at time now is over both, so it covers between W and 2W of
 * history. That never undercounts the last W: now's epoch starts after
 * now - W and the one before starts at or before it, so (now - W, now] is
 * inside the two. For a threshold rule ("more than N recipients in W") the
 * approximation can only fire early (counting up to W more history), never
 * miss a burst, and it costs two counters instead of a ring of them.
 * Items added in an epoch older than the previous one are refused as too
 * late. Times before 1970 are not supported (@pre ts >= 0). cur and prev
 * may be read (af_distinct_count) but change only through af_dwin_*: the
 * union's histogram and kept estimate follow every change made there.
 */
struct af_distinct_window {
	int64_t epoch; /* ts / width of the newest epoch; INT64_MIN when empty */
	struct af_distinct cur, prev;
};

/* An empty windowed counter in caller's storage. A zero-filled one is NOT
 * empty (its epoch would be 1970's first): call this. */
void af_dwin_init(struct af_distinct_window *dw);

/* Count the item with this hash at time ts. An epoch after the newest rolls
 * the counters (the current becomes the previous; a jump of two epochs or
 * more empties both), returning blocks to pool; an item in the previous
 * epoch is counted there; an older one is refused (AF_WINDOW_TOO_LATE).
 * @pre width_ns > 0, the same on every call for dw; ts >= 0.
 * Cost: as af_distinct_add, plus one more histogram update when both
 * epochs are HLL; the add that gives the second epoch a block reads both
 * blocks once (2 KiB) to build the union's histogram. */
enum af_window_result af_dwin_add(struct af_distinct_window *dw, struct af_hll_pool *pool,
                                  int64_t width_ns, int64_t ts, uint64_t hash);

/* Distinct items over now's epoch and the one before it (see above): the
 * union of both counters while now is in the newest epoch (or before it),
 * the newest counter alone when now is one epoch later, 0 after that. With
 * an HLL side the union's estimate is exactly af_hll_count of the merged
 * registers (an exact side's items added to them), raised to at least
 * AF_DISTINCT_SMALL + 1 and to either side's own count. Only the kept
 * estimates in dw change. pool is not used any more (a union no
 * longer needs a scratch block); the parameter stays for the callers.
 * @pre as for af_dwin_add, with now_ts for ts.
 * Cost: O(AF_DISTINCT_SMALL^2) for two exact sets; with an HLL side, up to
 * three af_hll_estimate calls and, against an exact side, one slot lookup
 * per exact item; O(1) when no epoch changed since the last count. */
uint64_t af_dwin_count(struct af_distinct_window *dw, struct af_hll_pool *pool, int64_t width_ns,
                       int64_t now_ts);

/* Whether either counter is saturated (the count is a lower bound). */
bool af_dwin_saturated(const struct af_distinct_window *dw);

/* Return to pool the blocks of epochs that no count at now_ts or later can
 * use (for a sweep over idle accounts); af_dwin_count at any time >= now_ts
 * gives what it would have given without this call.
 * @pre as for af_dwin_count. */
void af_dwin_expire(struct af_distinct_window *dw, struct af_hll_pool *pool, int64_t width_ns,
                    int64_t now_ts);

/* Empty both counters and return their blocks to pool. */
void af_dwin_reset(struct af_distinct_window *dw, struct af_hll_pool *pool);

#endif
