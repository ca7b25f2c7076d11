/* test_window.c - af_window: bucket boundaries, late and too-late events, the
 * ring advancing and clearing, saturation, the window start, and the ring
 * against a naive list of events. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "pipeline/state/window.h"

#define MIN 60000000000LL                 /* one minute in ns */
#define T0  (1756101480LL * 1000000000LL) /* 2025-08-25T05:58:00Z, a minute boundary */

/* The rule under test: 10 buckets of one minute. */
#define W MIN
#define N 10u

static struct af_window fresh(void)
{
	struct af_window w;

	af_window_init(&w);
	return w;
}

Test(window, sums_to_zero_when_empty)
{
	struct af_window w = fresh();
	int64_t start = 42;

	cr_assert_eq(af_window_sum(&w, W, N, T0), 0);
	cr_assert_not(af_window_first_ts(&w, W, N, T0, &start));
	cr_assert_eq(start, 42);
}

Test(window, sums_the_events_of_the_window_ending_now)
{
	struct af_window w = fresh();

	cr_assert_eq(af_window_add(&w, W, N, T0, 1), AF_WINDOW_ADDED);
	cr_assert_eq(af_window_add(&w, W, N, T0 + 30 * 1000000000LL, 2), AF_WINDOW_ADDED);
	cr_assert_eq(af_window_add(&w, W, N, T0 + 3 * MIN, 4), AF_WINDOW_ADDED);
	cr_assert_eq(af_window_sum(&w, W, N, T0 + 3 * MIN), 7);
	cr_assert_eq(af_window_sum(&w, W, N, T0 + 9 * MIN + MIN - 1), 7);
}

Test(window, puts_a_time_exactly_on_a_boundary_in_the_bucket_it_starts)
{
	struct af_window w = fresh();

	af_window_add(&w, W, N, T0 - 1, 1); /* last ns of the bucket before T0 */
	af_window_add(&w, W, N, T0, 10);    /* first ns of T0's bucket */
	cr_assert_eq(w.newest, T0 / W);
	/* The window ending at T0 + 9 min starts exactly at T0. */
	cr_assert_eq(af_window_sum(&w, W, N, T0 + 9 * MIN), 10);
	cr_assert_eq(af_window_sum(&w, W, N, T0 + 9 * MIN - 1), 11);
}

Test(window, drops_a_bucket_once_the_window_has_moved_past_it)
{
	struct af_window w = fresh();

	af_window_add(&w, W, N, T0, 5);
	cr_assert_eq(af_window_sum(&w, W, N, T0 + 10 * MIN - 1), 5);
	cr_assert_eq(af_window_sum(&w, W, N, T0 + 10 * MIN), 0);
}

Test(window, counts_a_late_event_inside_the_ring_in_its_own_bucket)
{
	struct af_window w = fresh();

	af_window_add(&w, W, N, T0 + 9 * MIN, 1);
	cr_assert_eq(af_window_add(&w, W, N, T0 + 30 * 1000000000LL, 3), AF_WINDOW_ADDED);
	cr_assert_eq(w.newest, (T0 + 9 * MIN) / W);
	cr_assert_eq(af_window_sum(&w, W, N, T0 + 9 * MIN), 4);
	/* One minute on, the late event's bucket leaves the window. */
	cr_assert_eq(af_window_sum(&w, W, N, T0 + 10 * MIN), 1);
}

Test(window, refuses_an_event_older_than_the_ring)
{
	struct af_window w = fresh();

	af_window_add(&w, W, N, T0 + 10 * MIN, 1);
	cr_assert_eq(af_window_add(&w, W, N, T0 + MIN, 1), AF_WINDOW_ADDED); /* oldest bucket */
	cr_assert_eq(af_window_add(&w, W, N, T0 + MIN - 1, 7), AF_WINDOW_TOO_LATE);
	cr_assert_eq(af_window_sum(&w, W, N, T0 + 10 * MIN), 2);
}

Test(window, zeroes_the_buckets_the_ring_passes_over)
{
	struct af_window w = fresh();

	for (int i = 0; i < 10; i++)
		af_window_add(&w, W, N, T0 + i * MIN, 1);
	cr_assert_eq(af_window_sum(&w, W, N, T0 + 9 * MIN), 10);
	/* Three minutes later: buckets 10..12 reuse the slots of 0..2. */
	af_window_add(&w, W, N, T0 + 12 * MIN, 1);
	cr_assert_eq(af_window_sum(&w, W, N, T0 + 12 * MIN), 8);
	cr_assert_eq(w.count[(T0 / W + 10) % N], 0);
	cr_assert_eq(w.count[(T0 / W + 11) % N], 0);
}

Test(window, clears_the_ring_on_a_jump_longer_than_the_ring)
{
	struct af_window w = fresh();

	for (int i = 0; i < 10; i++)
		af_window_add(&w, W, N, T0 + i * MIN, 100);
	af_window_add(&w, W, N, T0 + 19 * MIN, 1);
	cr_assert_eq(af_window_sum(&w, W, N, T0 + 19 * MIN), 1);
	for (unsigned i = 0; i < AF_WINDOW_BUCKETS; i++)
		cr_assert_eq(w.count[i], i == (T0 / W + 19) % N ? 1 : 0, "slot %u", i);
	/* The jump moved the ring's bottom too: bucket 9 is now too late. */
	cr_assert_eq(af_window_add(&w, W, N, T0 + 9 * MIN, 1), AF_WINDOW_TOO_LATE);
}

Test(window, saturates_a_bucket_at_the_largest_count)
{
	struct af_window w = fresh();

	af_window_add(&w, W, N, T0, UINT16_MAX - 1);
	af_window_add(&w, W, N, T0, 5);
	cr_assert_eq(w.count[(T0 / W) % N], UINT16_MAX);
	af_window_add(&w, W, N, T0, UINT32_MAX);
	cr_assert_eq(w.count[(T0 / W) % N], UINT16_MAX);
	af_window_add(&w, W, N, T0 + MIN, 1);
	cr_assert_eq(af_window_sum(&w, W, N, T0 + MIN), UINT16_MAX + 1u);
}

Test(window, uses_only_the_buckets_the_rule_asks_for)
{
	struct af_window w = fresh();
	const unsigned n = 3;

	for (int i = 0; i < 8; i++)
		af_window_add(&w, W, n, T0 + i * MIN, 1);
	cr_assert_eq(af_window_sum(&w, W, n, T0 + 7 * MIN), 3);
	for (unsigned i = n; i < AF_WINDOW_BUCKETS; i++)
		cr_assert_eq(w.count[i], 0);
}

Test(window, looks_back_when_asked_for_a_time_before_the_newest_bucket)
{
	struct af_window w = fresh();

	af_window_add(&w, W, N, T0, 1);
	af_window_add(&w, W, N, T0 + 5 * MIN, 2);
	cr_assert_eq(af_window_sum(&w, W, N, T0 + 4 * MIN), 1);
	cr_assert_eq(af_window_sum(&w, W, N, T0 - MIN), 0);
}

Test(window, gives_the_start_of_the_oldest_non_empty_bucket_in_the_window)
{
	struct af_window w = fresh();
	int64_t start = 0;

	af_window_add(&w, W, N, T0 + 5 * MIN + 17, 1);
	af_window_add(&w, W, N, T0 + 2 * MIN + 59 * 1000000000LL, 1); /* late */
	cr_assert(af_window_first_ts(&w, W, N, T0 + 6 * MIN, &start));
	cr_assert_eq(start, T0 + 2 * MIN);
	/* Once bucket 2 leaves the window, bucket 5 is the oldest. */
	cr_assert(af_window_first_ts(&w, W, N, T0 + 12 * MIN, &start));
	cr_assert_eq(start, T0 + 5 * MIN);
	cr_assert_not(af_window_first_ts(&w, W, N, T0 + 15 * MIN, &start));
}

Test(window, gives_the_same_window_start_whatever_the_arrival_order)
{
	struct af_window a = fresh(), b = fresh();
	const int64_t ts[] = {T0 + 3 * MIN, T0 + 7 * MIN + 5, T0 + 4 * MIN, T0 + 9 * MIN};
	int64_t sa = 0, sb = 0;

	for (int i = 0; i < 4; i++)
		af_window_add(&a, W, N, ts[i], 1);
	for (int i = 3; i >= 0; i--)
		af_window_add(&b, W, N, ts[i], 1);
	cr_assert(af_window_first_ts(&a, W, N, T0 + 9 * MIN, &sa));
	cr_assert(af_window_first_ts(&b, W, N, T0 + 9 * MIN, &sb));
	cr_assert_eq(sa, T0 + 3 * MIN);
	cr_assert_eq(sa, sb);
	cr_assert_eq(af_window_sum(&a, W, N, T0 + 9 * MIN), af_window_sum(&b, W, N, T0 + 9 * MIN));
}

/* The naive reference: every accepted event in a list; an event counts at
 * now if its bucket is in the window ending at now and the ring, which
 * keeps only the n buckets up to the newest ever seen, still holds it. */
struct ev {
	int64_t bucket;
	uint32_t k;
};

Test(window, agrees_with_a_naive_list_of_events)
{
	enum { EVENTS = 4000 };
	struct ev *evs = calloc(EVENTS, sizeof(*evs));
	struct af_window w = fresh();
	int64_t newest = INT64_MIN;
	size_t kept = 0;
	uint64_t rng = 12345;
	int64_t ts = T0;

	cr_assert_not_null(evs);
	for (int i = 0; i < EVENTS; i++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		uint32_t r = (uint32_t)(rng >> 33);
		/* Mostly forward by up to 2 minutes, sometimes back up to 12,
		 * rarely a jump of half an hour. */
		if (r % 50 == 0)
			ts += 30 * MIN;
		else if (r % 5 == 0)
			ts -= (int64_t)(r % 12) * MIN - 7;
		else
			ts += (int64_t)(r % 120) * 1000000000LL;
		uint32_t k = 1 + r % 3;
		int64_t b = ts / W;
		bool late = newest != INT64_MIN && b <= newest - (int64_t)N;
		cr_assert_eq(af_window_add(&w, W, N, ts, k),
		             late ? AF_WINDOW_TOO_LATE : AF_WINDOW_ADDED, "event %d", i);
		if (!late) {
			evs[kept++] = (struct ev){b, k};
			if (b > newest)
				newest = b;
		}
		int64_t now = ts + (int64_t)(r % 7) * MIN - 3 * MIN;
		int64_t nb = now / W;
		uint32_t want = 0;
		for (size_t j = 0; j < kept; j++)
			if (evs[j].bucket > nb - (int64_t)N && evs[j].bucket <= nb &&
			    evs[j].bucket > newest - (int64_t)N)
				want += evs[j].k;
		cr_assert_eq(af_window_sum(&w, W, N, now), want, "event %d", i);
	}
	free(evs);
}
