/* test_distinct.c - af_distinct and af_dwin: exact below the threshold, HLL
 * estimates above it, pool exhaustion and recovery, blocks returned on
 * reset, epoch roll-over, late items, the last-W guarantee, expiry and
 * determinism. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "pipeline/state/distinct.h"

#define MIN 60000000000LL                         /* one minute in ns */
#define W   (10 * MIN)                            /* the window of the rule under test */
#define T0  (1756101480LL * 1000000000LL / W * W) /* an epoch boundary in 2025 */

/* splitmix64 of a counter stands in for xxh3 of distinct items. */
static uint64_t item(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static struct af_hll_pool_stats stats_of(const struct af_hll_pool *pool)
{
	struct af_hll_pool_stats st;

	af_hll_pool_stats(pool, &st);
	return st;
}

static struct af_hll_pool *pool_new(size_t capacity)
{
	struct af_hll_pool *pool = af_hll_pool_new(capacity);

	cr_assert_not_null(pool);
	return pool;
}

static void add_items(struct af_distinct *d, struct af_hll_pool *pool, uint64_t from, uint64_t n)
{
	for (uint64_t i = from; i < from + n; i++)
		af_distinct_add(d, pool, item(i));
}

/* --- af_distinct ------------------------------------------------------- */

Test(distinct, counts_exactly_up_to_the_threshold)
{
	struct af_hll_pool *pool = pool_new(4);
	struct af_distinct d;

	af_distinct_init(&d);
	cr_assert_eq(af_distinct_count(&d), 0);
	for (uint64_t i = 0; i < AF_DISTINCT_SMALL; i++) {
		af_distinct_add(&d, pool, item(i));
		af_distinct_add(&d, pool, item(i)); /* a repeat changes nothing */
		af_distinct_add(&d, pool, item(0));
		cr_assert_eq(af_distinct_count(&d), i + 1);
	}
	cr_assert_null(d.hll);
	cr_assert_eq(stats_of(pool).in_use, 0);
	af_hll_pool_free(pool);
}

Test(distinct, treats_a_zeroed_counter_as_empty)
{
	struct af_hll_pool *pool = pool_new(1);
	struct af_distinct d;

	memset(&d, 0, sizeof(d));
	af_distinct_add(&d, pool, item(1));
	cr_assert_eq(af_distinct_count(&d), 1);
	af_hll_pool_free(pool);
}

Test(distinct, takes_a_block_for_the_first_item_past_the_threshold)
{
	struct af_hll_pool *pool = pool_new(4);
	struct af_distinct d;

	af_distinct_init(&d);
	add_items(&d, pool, 0, AF_DISTINCT_SMALL + 1);
	cr_assert_not_null(d.hll);
	cr_assert_eq(stats_of(pool).in_use, 1);
	cr_assert_eq(af_distinct_count(&d), AF_DISTINCT_SMALL + 1);
	cr_assert_not(af_distinct_saturated(&d));
	af_distinct_reset(&d, pool);
	af_hll_pool_free(pool);
}

Test(distinct, estimates_within_the_hll_error_above_the_threshold)
{
	static const uint64_t ns[] = {20, 100, 1000, 10000, 100000};
	struct af_hll_pool *pool = pool_new(1);
	struct af_distinct d;
	uint64_t base = 0;

	af_distinct_init(&d);
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		add_items(&d, pool, base, ns[i]);
		add_items(&d, pool, base, ns[i] / 2); /* repeats */
		base += ns[i];
		double tol = fmax(3 * 0.0325 * (double)ns[i], 1.0);
		double est = (double)af_distinct_count(&d);
		cr_expect_leq(fabs(est - (double)ns[i]), tol, "n=%llu: estimate %.0f",
		              (unsigned long long)ns[i], est);
		af_distinct_reset(&d, pool);
	}
	af_hll_pool_free(pool);
}

Test(distinct, counts_items_seen_before_the_switch_once_after_it)
{
	struct af_hll_pool *pool = pool_new(1);
	struct af_distinct d;

	af_distinct_init(&d);
	add_items(&d, pool, 0, 40);
	uint64_t before = af_distinct_count(&d);
	for (int round = 0; round < 5; round++)
		add_items(&d, pool, 0, 40);
	cr_assert_eq(af_distinct_count(&d), before);
	cr_assert_leq(fabs((double)before - 40.0), 3 * 0.0325 * 40 + 1);
	af_distinct_reset(&d, pool);
	af_hll_pool_free(pool);
}

Test(distinct, saturates_at_a_lower_bound_when_the_pool_is_empty)
{
	struct af_hll_pool *pool = pool_new(1);
	struct af_distinct a, b;

	af_distinct_init(&a);
	af_distinct_init(&b);
	add_items(&a, pool, 0, 100);
	add_items(&b, pool, 1000, 100);
	cr_assert_not_null(a.hll);
	cr_assert_null(b.hll);
	cr_assert(af_distinct_saturated(&b));
	cr_assert_not(af_distinct_saturated(&a));
	cr_assert_eq(af_distinct_count(&b), AF_DISTINCT_SMALL + 1);
	/* The exact set is kept: it still knows its first items. */
	cr_assert_eq(b.n, AF_DISTINCT_SMALL);
	cr_assert_eq(b.small[0], (uint32_t)(item(1000) >> 32));
	/* One refusal for every unfamiliar item past the threshold. */
	cr_assert_eq(stats_of(pool).refused, 100 - AF_DISTINCT_SMALL);
	af_distinct_reset(&a, pool);
	af_distinct_reset(&b, pool);
	af_hll_pool_free(pool);
}

Test(distinct, recovers_a_block_once_one_is_returned_but_stays_flagged)
{
	struct af_hll_pool *pool = pool_new(1);
	struct af_distinct a, b;

	af_distinct_init(&a);
	af_distinct_init(&b);
	add_items(&a, pool, 0, 50);
	add_items(&b, pool, 1000, 20);
	cr_assert_null(b.hll);
	af_distinct_reset(&a, pool);
	add_items(&b, pool, 2000, 50);
	cr_assert_not_null(b.hll);
	cr_assert(af_distinct_saturated(&b));
	/* It missed items 1008..1019; the 58 it holds are a lower bound. */
	cr_assert_leq(fabs((double)af_distinct_count(&b) - 58.0), 3 * 0.0325 * 58 + 1);
	af_distinct_reset(&b, pool);
	cr_assert_not(af_distinct_saturated(&b));
	af_hll_pool_free(pool);
}

Test(distinct, saturates_every_counter_with_a_pool_of_no_blocks)
{
	struct af_hll_pool *pool = pool_new(0);
	struct af_distinct d;

	af_distinct_init(&d);
	add_items(&d, pool, 0, AF_DISTINCT_SMALL);
	cr_assert_not(af_distinct_saturated(&d));
	add_items(&d, pool, 100, 1);
	cr_assert(af_distinct_saturated(&d));
	cr_assert_eq(stats_of(pool).refused, 1);
	af_hll_pool_free(pool);
}

Test(distinct, returns_its_block_to_the_pool_on_reset)
{
	struct af_hll_pool *pool = pool_new(3);
	struct af_distinct d[3];

	for (int i = 0; i < 3; i++) {
		af_distinct_init(&d[i]);
		add_items(&d[i], pool, (uint64_t)i * 100, 30);
	}
	cr_assert_eq(stats_of(pool).in_use, 3);
	for (int i = 0; i < 3; i++)
		af_distinct_reset(&d[i], pool);
	struct af_hll_pool_stats st = stats_of(pool);
	cr_assert_eq(st.in_use, 0);
	cr_assert_eq(st.peak, 3);
	cr_assert_eq(st.capacity, 3);
	cr_assert_eq(st.refused, 0);
	cr_assert_eq(af_distinct_count(&d[0]), 0);
	/* A block handed out again starts empty. */
	add_items(&d[0], pool, 5000, 9);
	cr_assert_eq(af_distinct_count(&d[0]), 9);
	af_distinct_reset(&d[0], pool);
	af_hll_pool_free(pool);
}

Test(distinct, gives_the_same_registers_for_the_same_items)
{
	struct af_hll_pool *pool = pool_new(2);
	struct af_distinct a, b;

	af_distinct_init(&a);
	af_distinct_init(&b);
	add_items(&a, pool, 0, 5000);
	for (uint64_t i = 5000; i-- > 0;)
		af_distinct_add(&b, pool, item(i));
	cr_assert_eq(memcmp(a.hll->regs, b.hll->regs, sizeof(a.hll->regs)), 0);
	cr_assert_eq(af_distinct_count(&a), af_distinct_count(&b));
	af_distinct_reset(&a, pool);
	af_distinct_reset(&b, pool);
	af_hll_pool_free(pool);
}

/* --- af_dwin ------------------------------------------------------------ */

static void dwin_items(struct af_distinct_window *dw, struct af_hll_pool *pool, int64_t ts,
                       uint64_t from, uint64_t n)
{
	for (uint64_t i = from; i < from + n; i++)
		cr_assert_eq(af_dwin_add(dw, pool, W, ts, item(i)), AF_WINDOW_ADDED);
}

Test(dwin, counts_over_the_current_and_the_previous_epoch)
{
	struct af_hll_pool *pool = pool_new(2);
	struct af_distinct_window dw;

	af_dwin_init(&dw);
	cr_assert_eq(af_dwin_count(&dw, pool, W, T0), 0);
	dwin_items(&dw, pool, T0 + MIN, 0, 5);
	dwin_items(&dw, pool, T0 + W + MIN, 3, 5); /* items 3..7: 3 and 4 again */
	cr_assert_eq(af_dwin_count(&dw, pool, W, T0 + W + MIN), 8);
	af_hll_pool_free(pool);
}

Test(dwin, forgets_the_epoch_two_back_when_it_rolls)
{
	struct af_hll_pool *pool = pool_new(2);
	struct af_distinct_window dw;

	af_dwin_init(&dw);
	dwin_items(&dw, pool, T0, 0, 4);
	dwin_items(&dw, pool, T0 + W, 100, 2);
	dwin_items(&dw, pool, T0 + 2 * W, 200, 1);
	cr_assert_eq(dw.epoch, (T0 + 2 * W) / W);
	cr_assert_eq(af_dwin_count(&dw, pool, W, T0 + 2 * W), 3);
	/* Asked one epoch later, only the newest counter is in range. */
	cr_assert_eq(af_dwin_count(&dw, pool, W, T0 + 3 * W), 1);
	cr_assert_eq(af_dwin_count(&dw, pool, W, T0 + 4 * W), 0);
	af_hll_pool_free(pool);
}

Test(dwin, rolls_an_hll_into_the_previous_epoch_and_frees_it_one_epoch_later)
{
	struct af_hll_pool *pool = pool_new(2);
	struct af_distinct_window dw;

	af_dwin_init(&dw);
	dwin_items(&dw, pool, T0, 0, 300);
	cr_assert_eq(stats_of(pool).in_use, 1);
	dwin_items(&dw, pool, T0 + W, 1000, 2);
	cr_assert_eq(stats_of(pool).in_use, 1);
	cr_assert_not_null(dw.prev.hll);
	dwin_items(&dw, pool, T0 + 2 * W, 2000, 2);
	cr_assert_eq(stats_of(pool).in_use, 0);
	af_hll_pool_free(pool);
}

Test(dwin, empties_both_epochs_on_a_jump_and_returns_the_blocks)
{
	struct af_hll_pool *pool = pool_new(2);
	struct af_distinct_window dw;

	af_dwin_init(&dw);
	dwin_items(&dw, pool, T0, 0, 50);
	dwin_items(&dw, pool, T0 + W, 100, 50);
	cr_assert_eq(stats_of(pool).in_use, 2);
	dwin_items(&dw, pool, T0 + 3 * W, 500, 1);
	cr_assert_eq(stats_of(pool).in_use, 0);
	cr_assert_eq(af_dwin_count(&dw, pool, W, T0 + 3 * W), 1);
	af_hll_pool_free(pool);
}

Test(dwin, counts_a_late_item_in_the_previous_epoch_and_refuses_older_ones)
{
	struct af_hll_pool *pool = pool_new(1);
	struct af_distinct_window dw;

	af_dwin_init(&dw);
	dwin_items(&dw, pool, T0 + W, 0, 1);
	cr_assert_eq(af_dwin_add(&dw, pool, W, T0 + W - 1, item(1)), AF_WINDOW_ADDED);
	cr_assert_eq(dw.prev.n, 1);
	cr_assert_eq(af_dwin_add(&dw, pool, W, T0 - 1, item(2)), AF_WINDOW_TOO_LATE);
	cr_assert_eq(af_dwin_count(&dw, pool, W, T0 + W), 2);
	af_hll_pool_free(pool);
}

Test(dwin, counts_the_union_of_an_hll_and_an_exact_set)
{
	struct af_hll_pool *pool = pool_new(2);
	struct af_distinct_window dw, rev;

	af_dwin_init(&dw);
	dwin_items(&dw, pool, T0, 0, 2000);
	dwin_items(&dw, pool, T0 + W, 1995, 8); /* 5 repeats, 3 new */
	cr_assert_null(dw.cur.hll);
	uint64_t n = af_dwin_count(&dw, pool, W, T0 + W);
	cr_assert_leq(fabs((double)n - 2003.0), 3 * 0.0325 * 2003);
	/* The HLL on the other side: the union's registers are the same. */
	af_dwin_init(&rev);
	dwin_items(&rev, pool, T0, 1995, 8);
	dwin_items(&rev, pool, T0 + W, 0, 2000);
	cr_assert_null(rev.prev.hll);
	cr_assert_eq(af_dwin_count(&rev, pool, W, T0 + W), n);
	af_dwin_reset(&rev, pool);
	af_dwin_reset(&dw, pool);
	af_hll_pool_free(pool);
}

Test(dwin, counts_two_exact_sets_exactly_past_the_threshold)
{
	struct af_hll_pool *pool = pool_new(0);
	struct af_distinct_window dw;

	af_dwin_init(&dw);
	dwin_items(&dw, pool, T0, 0, 8);
	dwin_items(&dw, pool, T0 + W, 4, 8); /* 4..11: 12 in all */
	cr_assert_eq(af_dwin_count(&dw, pool, W, T0 + W), 12);
	cr_assert_not(af_dwin_saturated(&dw));
	af_hll_pool_free(pool);
}

Test(dwin, reports_a_saturated_side_as_a_lower_bound)
{
	struct af_hll_pool *pool = pool_new(0);
	struct af_distinct_window dw;

	af_dwin_init(&dw);
	dwin_items(&dw, pool, T0, 0, 20);
	cr_assert(af_dwin_saturated(&dw));
	cr_assert_eq(af_dwin_count(&dw, pool, W, T0), AF_DISTINCT_SMALL + 1);
	af_hll_pool_free(pool);
}

/* Items from a small universe keep every epoch exact, so the check against
 * the truth is exact: the count is at least the distinct items of the last
 * W and at most those of the two epochs. */
Test(dwin, never_undercounts_the_last_window)
{
	enum { EVENTS = 3000 };
	static int64_t ts_of[EVENTS];
	static uint64_t item_of[EVENTS];
	struct af_hll_pool *pool = pool_new(0);
	struct af_distinct_window dw;
	uint64_t rng = 777;
	int64_t ts = T0;

	af_dwin_init(&dw);
	for (int i = 0; i < EVENTS; i++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		ts += (int64_t)((rng >> 33) % (uint64_t)(3 * MIN));
		ts_of[i] = ts;
		item_of[i] = (rng >> 20) % AF_DISTINCT_SMALL;
		cr_assert_eq(af_dwin_add(&dw, pool, W, ts, item(item_of[i])), AF_WINDOW_ADDED);
		bool in_w[AF_DISTINCT_SMALL] = {0}, in_2[AF_DISTINCT_SMALL] = {0};
		int64_t from2 = (ts / W - 1) * W;
		uint64_t last_w = 0, two = 0;
		for (int j = i; j >= 0 && ts_of[j] >= from2; j--) {
			if (ts_of[j] > ts - W && !in_w[item_of[j]]) {
				in_w[item_of[j]] = true;
				last_w++;
			}
			if (!in_2[item_of[j]]) {
				in_2[item_of[j]] = true;
				two++;
			}
		}
		uint64_t n = af_dwin_count(&dw, pool, W, ts);
		cr_assert_geq(n, last_w, "event %d", i);
		cr_assert_eq(n, two, "event %d", i);
	}
	af_hll_pool_free(pool);
}

Test(dwin, expires_old_epochs_without_changing_later_counts)
{
	struct af_hll_pool *pool = pool_new(4);
	struct af_distinct_window a, b;

	af_dwin_init(&a);
	af_dwin_init(&b);
	dwin_items(&a, pool, T0, 0, 100);
	dwin_items(&a, pool, T0 + W, 200, 100);
	dwin_items(&b, pool, T0, 0, 100);
	dwin_items(&b, pool, T0 + W, 200, 100);
	cr_assert_eq(stats_of(pool).in_use, 4);

	af_dwin_expire(&a, pool, W, T0 + W); /* nothing to expire yet */
	cr_assert_eq(stats_of(pool).in_use, 4);
	af_dwin_expire(&a, pool, W, T0 + 2 * W + 1);
	cr_assert_eq(stats_of(pool).in_use, 3);
	cr_assert_eq(af_dwin_count(&a, pool, W, T0 + 2 * W + 1),
	             af_dwin_count(&b, pool, W, T0 + 2 * W + 1));
	af_dwin_expire(&a, pool, W, T0 + 3 * W);
	cr_assert_eq(stats_of(pool).in_use, 2);
	cr_assert_eq(af_dwin_count(&a, pool, W, T0 + 3 * W), 0);
	cr_assert_eq(af_dwin_count(&b, pool, W, T0 + 3 * W), 0);
	af_dwin_reset(&b, pool);
	cr_assert_eq(stats_of(pool).in_use, 0);
	af_hll_pool_free(pool);
}

/* --- the kept estimates ------------------------------------------------ */

Test(distinct, keeps_its_estimate_only_while_no_register_rises)
{
	struct af_hll_pool *pool = pool_new(2);
	struct af_distinct d, fresh;

	af_distinct_init(&d);
	/* Ask after every add, repeats included: the answer is always what a
	 * counter fed the same items and asked once says. */
	for (uint64_t i = 0; i < 3000; i++) {
		af_distinct_add(&d, pool, item(i % 1000));
		if (i % 7 != 0)
			continue;
		af_distinct_init(&fresh);
		add_items(&fresh, pool, 0, i < 1000 ? i + 1 : 1000);
		cr_assert_eq(af_distinct_count(&d), af_distinct_count(&fresh), "after %llu adds",
		             (unsigned long long)i + 1);
		af_distinct_reset(&fresh, pool);
	}
	af_distinct_reset(&d, pool);
	af_hll_pool_free(pool);
}

Test(dwin, keeps_the_union_estimate_only_while_neither_epoch_changes)
{
	struct af_hll_pool *pool = pool_new(4);
	struct af_distinct_window dw, fresh;

	af_dwin_init(&dw);
	/* Three epochs; in each, new items and late ones for the epoch
	 * before, with a count after every add compared with a window fed
	 * the same adds and asked once. */
	struct {
		int64_t ts;
		uint64_t item;
	} adds[2400];
	size_t n = 0;
	for (int64_t e = 0; e < 3; e++) {
		for (uint64_t i = 0; i < 800; i++) {
			bool late = e > 0 && i % 5 == 0;
			adds[n].ts = T0 + (e - (late ? 1 : 0)) * W + (int64_t)i * 1000;
			adds[n].item = item(e * 10000 + i % 400 + (late ? 5000 : 0));
			cr_assert_eq(af_dwin_add(&dw, pool, W, adds[n].ts, adds[n].item),
			             AF_WINDOW_ADDED);
			n++;
			if (i % 13 != 0)
				continue;
			int64_t now = T0 + e * W + (int64_t)i * 1000;
			af_dwin_init(&fresh);
			for (size_t k = 0; k < n; k++)
				af_dwin_add(&fresh, pool, W, adds[k].ts, adds[k].item);
			cr_assert_eq(af_dwin_count(&dw, pool, W, now),
			             af_dwin_count(&fresh, pool, W, now), "epoch %lld, add %llu",
			             (long long)e, (unsigned long long)i);
			af_dwin_reset(&fresh, pool);
		}
	}
	af_dwin_reset(&dw, pool);
	af_hll_pool_free(pool);
}

Test(dwin, forgets_the_union_estimate_when_the_epochs_roll)
{
	struct af_hll_pool *pool = pool_new(4);
	struct af_distinct_window dw;

	af_dwin_init(&dw);
	/* Epoch 0: 8 items, all among epoch 1's 300; the union is epoch 1. */
	dwin_items(&dw, pool, T0, 0, 8);
	dwin_items(&dw, pool, T0 + W, 0, 300);
	uint64_t before = af_dwin_count(&dw, pool, W, T0 + W);
	/* Epoch 2: 8 new items, as many as epoch 0 held, so only the roll
	 * tells the old union from the new one. */
	dwin_items(&dw, pool, T0 + 2 * W, 1000, 8);
	uint64_t after = af_dwin_count(&dw, pool, W, T0 + 2 * W);
	cr_assert_gt(after, before, "8 items more than epoch 1 alone (%llu then %llu)",
	             (unsigned long long)before, (unsigned long long)after);
	af_dwin_reset(&dw, pool);
	af_hll_pool_free(pool);
}

/* --- the kept histograms, against a reference -------------------------- */

/* The register an item reaches, as distinct.c computes it: the splitmix64
 * finalizer of the item's 32-bit fingerprint. */
static uint64_t hll_hash(uint64_t hash)
{
	uint64_t x = hash >> 32;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

#define NREGS AF_HLL_REGS(AF_DISTINCT_HLL_P)

Test(distinct, counts_what_af_hll_count_gives_on_its_registers)
{
	struct af_hll_pool *pool = pool_new(1);
	struct af_distinct d;
	uint64_t rng = 99;

	af_distinct_init(&d);
	for (uint64_t i = 0; i < 20000; i++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		/* New items, and repeats of the first 200. */
		af_distinct_add(&d, pool, item((rng >> 40) % 4 == 0 ? (rng >> 20) % 200 : i));
		if (!d.hll)
			continue;
		uint64_t want = af_hll_count(d.hll->regs, AF_DISTINCT_HLL_P);
		if (want < AF_DISTINCT_SMALL + 1)
			want = AF_DISTINCT_SMALL + 1;
		cr_assert_eq(af_distinct_count(&d), want, "after %llu adds",
		             (unsigned long long)i + 1);
	}
	af_distinct_reset(&d, pool);
	af_hll_pool_free(pool);
}

static void assert_hist_of(const uint16_t *hist, const uint8_t *regs, const char *what,
                           uint64_t step)
{
	uint16_t want[AF_DISTINCT_HIST_LEN];
	unsigned sum = 0;

	af_hll_histogram(regs, AF_DISTINCT_HLL_P, want);
	for (unsigned k = 0; k < AF_DISTINCT_HIST_LEN; k++) {
		sum += hist[k];
		cr_assert_eq(hist[k], want[k], "%s, step %llu: rank %u", what,
		             (unsigned long long)step, k);
	}
	cr_assert_eq(sum, NREGS, "%s, step %llu", what, (unsigned long long)step);
}

Test(distinct, keeps_the_histogram_of_its_registers)
{
	struct af_hll_pool *pool = pool_new(1);
	struct af_distinct d;

	af_distinct_init(&d);
	for (uint64_t i = 0; i < 20000; i++) {
		af_distinct_add(&d, pool, item(i % 7 == 0 ? i / 7 : i));
		if (d.hll)
			assert_hist_of(d.hll->hist, d.hll->regs, "block", i);
	}
	/* A block handed out again starts with an empty histogram. */
	af_distinct_reset(&d, pool);
	add_items(&d, pool, 50000, AF_DISTINCT_SMALL + 1);
	cr_assert_not_null(d.hll);
	assert_hist_of(d.hll->hist, d.hll->regs, "block taken again", 0);
	af_distinct_reset(&d, pool);
	af_hll_pool_free(pool);
}

/* A windowed counter written the plain way: each epoch's registers in an
 * array (fed every distinct item, also while the counter is exact, which is
 * what the switch to HLL puts in the block), the union by merging copies
 * and af_hll_count. The pool never refuses here, so no side saturates. */
struct ref_epoch {
	uint32_t fps[AF_DISTINCT_SMALL];
	unsigned n;
	bool hll;
	uint8_t regs[NREGS];
};

struct ref_window {
	int64_t epoch;
	struct ref_epoch cur, prev;
};

static void ref_epoch_clear(struct ref_epoch *e)
{
	memset(e, 0, sizeof(*e));
}

static void ref_epoch_add(struct ref_epoch *e, uint64_t hash)
{
	uint32_t fp = (uint32_t)(hash >> 32);

	af_hll_add(e->regs, AF_DISTINCT_HLL_P, hll_hash(hash));
	if (e->hll)
		return;
	for (unsigned i = 0; i < e->n; i++)
		if (e->fps[i] == fp)
			return;
	if (e->n < AF_DISTINCT_SMALL)
		e->fps[e->n++] = fp;
	else
		e->hll = true;
}

static uint64_t past_small(uint64_t n)
{
	return n > AF_DISTINCT_SMALL + 1 ? n : AF_DISTINCT_SMALL + 1;
}

static uint64_t ref_own(const struct ref_epoch *e)
{
	return e->hll ? past_small(af_hll_count(e->regs, AF_DISTINCT_HLL_P)) : e->n;
}

static uint64_t ref_union(const struct ref_window *rw)
{
	const struct ref_epoch *a = &rw->cur, *b = &rw->prev;
	uint64_t n;

	if (!a->hll && !b->hll) {
		n = a->n;
		for (unsigned i = 0; i < b->n; i++) {
			bool seen = false;
			for (unsigned j = 0; j < a->n; j++)
				seen = seen || a->fps[j] == b->fps[i];
			n += !seen;
		}
	} else {
		uint8_t merged[NREGS];
		for (size_t j = 0; j < NREGS; j++)
			merged[j] = a->regs[j] > b->regs[j] ? a->regs[j] : b->regs[j];
		n = past_small(af_hll_count(merged, AF_DISTINCT_HLL_P));
	}
	uint64_t own_a = ref_own(a), own_b = ref_own(b);
	if (own_a > n)
		n = own_a;
	return own_b > n ? own_b : n;
}

static void ref_init(struct ref_window *rw)
{
	rw->epoch = INT64_MIN;
	ref_epoch_clear(&rw->cur);
	ref_epoch_clear(&rw->prev);
}

static enum af_window_result ref_add(struct ref_window *rw, int64_t ts, uint64_t hash)
{
	int64_t e = ts / W;

	if (rw->epoch == INT64_MIN) {
		rw->epoch = e;
	} else if (e > rw->epoch) {
		if (e == rw->epoch + 1)
			rw->prev = rw->cur;
		else
			ref_epoch_clear(&rw->prev);
		ref_epoch_clear(&rw->cur);
		rw->epoch = e;
	}
	if (e == rw->epoch)
		ref_epoch_add(&rw->cur, hash);
	else if (e == rw->epoch - 1)
		ref_epoch_add(&rw->prev, hash);
	else
		return AF_WINDOW_TOO_LATE;
	return AF_WINDOW_ADDED;
}

static uint64_t ref_count(const struct ref_window *rw, int64_t now)
{
	int64_t e = now / W;

	if (rw->epoch == INT64_MIN || e > rw->epoch + 1)
		return 0;
	if (e == rw->epoch + 1)
		return ref_own(&rw->cur);
	return ref_union(rw);
}

static void ref_expire(struct ref_window *rw, int64_t now)
{
	int64_t e = now / W;

	if (rw->epoch == INT64_MIN || e <= rw->epoch)
		return;
	if (e == rw->epoch + 1) {
		ref_epoch_clear(&rw->prev);
	} else {
		ref_init(rw);
	}
}

/* A long random life of one windowed counter and its reference: epochs of
 * 2 to 6000 distinct items with repeats (unions up to about 4000, past the
 * estimator's switch at 2.5 m), items shared between neighbouring
 * epochs, rolls, jumps, late and too-late items, and now and then an expiry
 * followed by late items that make the older epoch an HLL again. check runs
 * after every add. Returns how many adds saw each exact/HLL combination
 * ([cur is hll][prev is hll]). */
struct script_state {
	struct af_distinct_window dw;
	struct ref_window ref;
	struct af_hll_pool *pool;
	int64_t ts; /* the newest time so far */
	uint64_t step;
};

static void play(uint64_t seed, uint64_t steps, void (*check)(struct script_state *),
                 uint64_t seen[2][2])
{
	static const uint64_t sizes[] = {2, 8, 9, 10, 40, 700, 3000, 6000};
	struct script_state st = {.pool = pool_new(2), .ts = T0};
	uint64_t rng = seed, size = 40;

	af_dwin_init(&st.dw);
	ref_init(&st.ref);
	for (st.step = 0; st.step < steps; st.step++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		uint64_t r = rng >> 11;
		unsigned roll = (unsigned)(r % 4000);
		if (roll < 2) {
			st.ts += W; /* the next epoch, of another size */
			size = sizes[(r >> 12) % (sizeof(sizes) / sizeof(sizes[0]))];
		} else if (roll == 2) {
			st.ts += 2 * W + (int64_t)((r >> 12) % 2) * W; /* a jump */
		} else if (roll == 3) {
			int64_t at = st.ts + W + (int64_t)((r >> 12) % 2) * W;
			af_dwin_expire(&st.dw, st.pool, W, at);
			ref_expire(&st.ref, at);
		}
		int64_t ts = st.ts;
		if ((r >> 20) % 8 == 0)
			ts -= W; /* late: the previous epoch */
		else if ((r >> 20) % 97 == 0)
			ts -= 2 * W; /* too late */
		/* Items of an epoch e are e * 1000 + 0..size-1: neighbouring
		 * epochs share most of theirs. */
		uint64_t k = (uint64_t)(ts / W) * 1000 + (r >> 24) % size;
		cr_assert_eq(af_dwin_add(&st.dw, st.pool, W, ts, item(k)),
		             ref_add(&st.ref, ts, item(k)), "step %llu",
		             (unsigned long long)st.step);
		if (seen && st.ref.epoch != INT64_MIN)
			seen[st.dw.cur.hll != NULL][st.dw.prev.hll != NULL]++;
		check(&st);
	}
	cr_assert_eq(stats_of(st.pool).refused, 0);
	af_dwin_reset(&st.dw, st.pool);
	af_hll_pool_free(st.pool);
}

static void check_counts(struct script_state *st)
{
	/* Asked in the newest epoch (the union), one later (the newest
	 * alone) and two later (nothing). */
	int64_t newest = st->ref.epoch == INT64_MIN ? st->ts : st->ref.epoch * W;
	for (int64_t later = 0; later < 3; later++) {
		int64_t now = newest + later * W + W / 2;
		cr_assert_eq(af_dwin_count(&st->dw, st->pool, W, now), ref_count(&st->ref, now),
		             "step %llu, %lld epochs on", (unsigned long long)st->step,
		             (long long)later);
	}
	cr_assert_eq(af_distinct_count(&st->dw.cur), ref_own(&st->ref.cur), "step %llu",
	             (unsigned long long)st->step);
	cr_assert_eq(af_distinct_count(&st->dw.prev), ref_own(&st->ref.prev), "step %llu",
	             (unsigned long long)st->step);
}

Test(dwin, counts_exactly_what_merging_the_registers_gives)
{
	uint64_t seen[2][2] = {{0}};

	for (uint64_t seed = 1; seed <= 3; seed++)
		play(seed, 40000, check_counts, seen);
	/* The script reached every combination of exact and HLL epochs. */
	for (int c = 0; c < 2; c++)
		for (int p = 0; p < 2; p++)
			cr_assert_gt(seen[c][p], 1000, "cur %s, prev %s: %llu adds",
			             c ? "hll" : "exact", p ? "hll" : "exact",
			             (unsigned long long)seen[c][p]);
}

static void check_union_hist(struct script_state *st)
{
	const struct af_hll_block *cur = st->dw.cur.hll, *prev = st->dw.prev.hll;

	if (cur)
		assert_hist_of(cur->hist, cur->regs, "newer block", st->step);
	if (prev)
		assert_hist_of(prev->hist, prev->regs, "older block", st->step);
	if (!cur || !prev)
		return;
	uint8_t merged[NREGS];
	for (size_t j = 0; j < NREGS; j++)
		merged[j] = cur->regs[j] > prev->regs[j] ? cur->regs[j] : prev->regs[j];
	assert_hist_of(cur->u_hist, merged, "union", st->step);
}

Test(dwin, keeps_the_histogram_of_the_union_registers)
{
	play(4, 40000, check_union_hist, NULL);
}
