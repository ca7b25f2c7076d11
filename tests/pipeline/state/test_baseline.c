/* test_baseline.c - af_baseline: folding periods, the mean and variance of
 * constant and noisy input, a burst's z-score, gaps of empty periods,
 * events from an earlier period, readiness and determinism. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "pipeline/state/baseline.h"

#define HOUR  3600000000000LL                             /* one hour in ns */
#define T0    (1756101480LL * 1000000000LL / HOUR * HOUR) /* an hour boundary in 2025 */
#define ALPHA 0.1

static struct af_baseline fresh(void)
{
	struct af_baseline b;

	af_baseline_init(&b);
	return b;
}

/* count events in each of hours [from, from + hours), all at mid-hour. */
static void feed_hours(struct af_baseline *b, int from, int hours, uint32_t count)
{
	for (int h = from; h < from + hours; h++)
		af_baseline_add(b, HOUR, ALPHA, T0 + h * HOUR + HOUR / 2, count);
}

Test(baseline, knows_nothing_before_the_first_period_completes)
{
	struct af_baseline b = fresh();

	feed_hours(&b, 0, 1, 5);
	cr_assert_eq(af_baseline_current(&b), 5);
	cr_assert_eq(b.periods, 0);
	cr_assert_not(af_baseline_ready(&b, 1));
	cr_assert_eq(af_baseline_mean(&b), 0.0);
	cr_assert_eq(af_baseline_stddev(&b), 0.0);
}

Test(baseline, keeps_the_period_in_progress_out_of_the_mean)
{
	struct af_baseline b = fresh();

	feed_hours(&b, 0, 2, 4);
	cr_assert_eq(b.periods, 1);
	cr_assert_eq(af_baseline_mean(&b), 4.0);
	af_baseline_add(&b, HOUR, ALPHA, T0 + HOUR + 10, 100);
	cr_assert_eq(af_baseline_current(&b), 104);
	cr_assert_eq(af_baseline_mean(&b), 4.0);
}

Test(baseline, learns_the_value_of_a_constant_input_with_no_variance)
{
	struct af_baseline b = fresh();

	feed_hours(&b, 0, 200, 7);
	cr_assert_eq(b.periods, 199);
	cr_assert_float_eq(af_baseline_mean(&b), 7.0, 1e-9);
	cr_assert_float_eq(af_baseline_stddev(&b), 0.0, 1e-9);
}

Test(baseline, learns_the_mean_and_spread_of_an_alternating_input)
{
	struct af_baseline b = fresh();

	/* 5, 15, 5, 15...: mean 10, standard deviation 5. The EWMA weights the
	 * latest period most, so the mean wobbles by about alpha * 5 / 2. */
	for (int h = 0; h < 400; h++)
		feed_hours(&b, h, 1, h % 2 ? 15 : 5);
	cr_assert_float_eq(af_baseline_mean(&b), 10.0, 0.5);
	cr_assert_float_eq(af_baseline_stddev(&b), 5.0, 0.5);
}

Test(baseline, gives_a_burst_a_large_z_score)
{
	struct af_baseline b = fresh();

	for (int h = 0; h < 72; h++)
		feed_hours(&b, h, 1, 8 + (h % 3)); /* 8, 9, 10 sends an hour */
	af_baseline_add(&b, HOUR, ALPHA, T0 + 72 * HOUR + 60, 300);
	double z = af_baseline_zscore(&b, af_baseline_current(&b), 1.0);
	cr_assert_gt(z, 100.0, "z = %f", z);
	/* An ordinary hour is unremarkable. */
	cr_assert_lt(fabs(af_baseline_zscore(&b, 9.0, 1.0)), 2.0);
}

Test(baseline, floors_the_standard_deviation_in_the_z_score)
{
	struct af_baseline b = fresh();

	feed_hours(&b, 0, 50, 10);
	cr_assert_float_eq(af_baseline_zscore(&b, 13.0, 1.0), 3.0, 1e-9);
	cr_assert_float_eq(af_baseline_zscore(&b, 13.0, 2.0), 1.5, 1e-9);
}

Test(baseline, decays_the_mean_over_a_gap_as_one_minus_alpha_to_the_gap)
{
	struct af_baseline b = fresh();

	feed_hours(&b, 0, 1, 40);
	af_baseline_add(&b, HOUR, ALPHA, T0 + 25 * HOUR, 1);
	/* Folded: hour 0 (40), then the empty hours 1..24 as 24 zeros. */
	cr_assert_eq(b.periods, 25);
	cr_assert_float_eq(af_baseline_mean(&b), 40.0 * pow(1.0 - ALPHA, 24), 1e-4);
}

Test(baseline, folds_a_gap_as_it_would_fold_the_empty_periods_one_by_one)
{
	struct af_baseline gap = fresh(), steps = fresh();

	for (int h = 0; h < 30; h++) {
		feed_hours(&gap, h, 1, 3 + (h * 7) % 11);
		feed_hours(&steps, h, 1, 3 + (h * 7) % 11);
	}
	af_baseline_add(&gap, HOUR, ALPHA, T0 + 47 * HOUR, 2);
	for (int h = 30; h < 47; h++)
		af_baseline_add(&steps, HOUR, ALPHA, T0 + h * HOUR, 0);
	af_baseline_add(&steps, HOUR, ALPHA, T0 + 47 * HOUR, 2);
	cr_assert_eq(gap.periods, steps.periods);
	cr_assert_float_eq(af_baseline_mean(&gap), af_baseline_mean(&steps), 1e-4);
	cr_assert_float_eq(af_baseline_stddev(&gap), af_baseline_stddev(&steps), 1e-4);
}

Test(baseline, forgets_a_busy_past_after_months_of_silence)
{
	struct af_baseline b = fresh();

	feed_hours(&b, 0, 100, 50);
	af_baseline_add(&b, HOUR, ALPHA, T0 + 24 * 365 * 10 * HOUR, 1); /* ten years on */
	cr_assert_eq(b.periods, UINT16_MAX);
	cr_assert_eq(af_baseline_mean(&b), 0.0);
	cr_assert_eq(af_baseline_stddev(&b), 0.0);
	cr_assert_eq(af_baseline_current(&b), 1);
}

Test(baseline, adds_an_event_from_an_earlier_period_to_the_current_one)
{
	struct af_baseline b = fresh();

	feed_hours(&b, 0, 3, 2);
	af_baseline_add(&b, HOUR, ALPHA, T0 + HOUR / 2, 5); /* hour 0, two hours late */
	cr_assert_eq(b.period, (T0 + 2 * HOUR) / HOUR);
	cr_assert_eq(af_baseline_current(&b), 7);
	cr_assert_eq(af_baseline_mean(&b), 2.0);
}

Test(baseline, is_ready_once_enough_periods_are_folded)
{
	struct af_baseline b = fresh();

	feed_hours(&b, 0, 24, 1);
	cr_assert_not(af_baseline_ready(&b, 24));
	feed_hours(&b, 24, 1, 1);
	cr_assert(af_baseline_ready(&b, 24));
}

Test(baseline, saturates_the_current_count)
{
	struct af_baseline b = fresh();

	af_baseline_add(&b, HOUR, ALPHA, T0, UINT32_MAX - 2);
	af_baseline_add(&b, HOUR, ALPHA, T0, 10);
	cr_assert_eq(af_baseline_current(&b), UINT32_MAX);
}

Test(baseline, gives_the_same_bits_for_the_same_events)
{
	struct af_baseline a = fresh(), b = fresh();
	uint64_t rng = 99;
	int64_t ts = T0;

	for (int i = 0; i < 5000; i++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		ts += (int64_t)((rng >> 20) % (uint64_t)(3 * HOUR));
		af_baseline_add(&a, HOUR, ALPHA, ts, (uint32_t)(rng >> 60));
		af_baseline_add(&b, HOUR, ALPHA, ts, (uint32_t)(rng >> 60));
	}
	cr_assert_gt(a.periods, 100);
	cr_assert_eq(memcmp(&a.mean, &b.mean, sizeof(a.mean)), 0);
	cr_assert_eq(memcmp(&a.var, &b.var, sizeof(a.var)), 0);
	cr_assert_eq(a.period, b.period);
	cr_assert_eq(a.current, b.current);
	cr_assert_eq(a.periods, b.periods);
}

Test(baseline, a_peak_is_the_larger_of_the_new_value_and_the_decayed_old_one)
{
	cr_assert_float_eq(af_baseline_peak(100.0f, 50.0, 0.5, 1), 50.0, 1e-6);
	cr_assert_float_eq(af_baseline_peak(100.0f, 20.0, 0.5, 2), 25.0, 1e-6);
	cr_assert_float_eq(af_baseline_peak(100.0f, 200.0, 0.5, 1), 200.0, 1e-6);
	cr_assert_float_eq(af_baseline_peak(100.0f, 0.0, 1.0, 1000), 100.0, 1e-6, "no decay");
	cr_assert_float_eq(af_baseline_peak(0.0f, 7.0, 0.9, 3), 7.0, 1e-6);
}
