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
			cr_assert_eq(af_dwin_count(&dw, pool, W, now), af_dwin_count(&fresh, pool, W, now),
			             "epoch %lld, add %llu", (long long)e, (unsigned long long)i);
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
