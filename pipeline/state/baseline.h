/* baseline.h - what is normal for an account: an exponentially weighted mean
 * and variance of a per-period count (sends an hour, sign-ins a day), for
 * mail_send_burst's "above baseline mean + k sigma".
 *
 * Thread: the shard that owns the state it is embedded in; no locks, no
 * allocation.
 * In: event times and counts. Out: the mean, standard deviation and z-score
 * of the completed periods; the period in progress is not part of them, so
 * a burst is compared against the time before it.
 *
 * DESIGN: the count of the period in progress accumulates in `current`; the
 * first event of a later period folds it into the EWMA, then folds the empty
 * periods in between as zeros. With x the folded count and a = alpha, the
 * update is the standard exponentially weighted one (Finch, "Incremental
 * calculation of weighted mean and variance", 2009):
 *     d = x - mean;  mean += a d;  var = (1 - a)(var + a d^2)
 * The first completed period sets mean = x, var = 0 (no bias toward 0). A gap
 * of g empty periods has a closed form (b = 1 - a):
 *     mean' = b^g mean;  var' = b^g (var + mean^2 (1 - b^g))
 * where b^g is computed by repeated squaring (at most 64 multiplications),
 * so a gap of months costs the same as a gap of one period, and the result
 * is bit-identical on every IEEE-754 machine (no libm pow).
 *
 * An event from an earlier period than the current one is added to the
 * current period: the folded state cannot be re-folded. The merge's reorder
 * window puts events of one account in input order, and audit logs are
 * mostly in time order, so this is rare, and it only moves a few counts one
 * period later.
 *
 * Times before 1970 are not supported (@pre ts >= 0).
 */
#ifndef AF_BASELINE_H
#define AF_BASELINE_H

#include <stdbool.h>
#include <stdint.h>

struct af_baseline {
	int64_t period;   /* current period number (ts / period_ns); INT64_MIN when empty */
	uint32_t current; /* count so far in it, saturating */
	float mean, var;  /* EWMA over the completed periods */
	uint16_t periods; /* completed periods folded in, saturating */
};

/* An empty baseline in caller's storage. A zero-filled one is NOT empty (its
 * current period would be 1970's first): call this. */
void af_baseline_init(struct af_baseline *b);

/* Count k events at time ts. A ts in a later period first folds the current
 * count and then the empty periods in between.
 * @pre period_ns > 0; 0 < alpha <= 1 (the weight of the newest period; the
 *      same on every call for b); ts >= 0.
 * Cost: O(1): at most 64 multiplications for any gap. */
void af_baseline_add(struct af_baseline *b, int64_t period_ns, double alpha, int64_t ts,
                     uint32_t k);

/* The count so far in the period in progress (the one being judged). */
static inline uint32_t af_baseline_current(const struct af_baseline *b)
{
	return b->current;
}

/* Whether at least min_periods periods are folded in. */
static inline bool af_baseline_ready(const struct af_baseline *b, unsigned min_periods)
{
	return b->periods >= min_periods;
}

/* Mean of the completed periods; 0 before the first. */
double af_baseline_mean(const struct af_baseline *b);

/* Standard deviation of the completed periods; 0 before the second. */
double af_baseline_stddev(const struct af_baseline *b);

/* How many standard deviations the count x lies above the mean:
 * (x - mean) / max(stddev, sd_floor). The floor keeps an account that always
 * does the same thing (stddev near 0) from turning one extra event into an
 * enormous z; it is in count units (e.g. 1.0).
 * @pre sd_floor > 0. */
double af_baseline_zscore(const struct af_baseline *b, double x, double sd_floor);

/* A decaying peak: the larger of x (the value of the period just completed)
 * and peak decayed over the `periods` periods since it was last folded, by
 * `decay` per period (e.g. 0.5^(1/half-life in periods)). Repeated squaring,
 * as for gaps: the same bits on every IEEE-754 machine.
 * @pre 0 <= decay <= 1. Cost: at most 64 multiplications. */
float af_baseline_peak(float peak, double x, double decay, uint64_t periods);

#endif
