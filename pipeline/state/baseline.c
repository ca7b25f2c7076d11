/* baseline.c - EWMA mean and variance of a per-period count; see baseline.h.
 *
 * Thread: the shard owning the state. No allocation.
 * Arithmetic is in double and stored as float (the state is per account, so
 * its size matters more than the digits past the seventh).
 */
#include "pipeline/state/baseline.h"

#include <assert.h>
#include <math.h>

_Static_assert(sizeof(struct af_baseline) == 24, "a baseline is 24 bytes of per-account state");

#define EMPTY INT64_MIN

void af_baseline_init(struct af_baseline *b)
{
	b->period = EMPTY;
	b->current = 0;
	b->mean = 0.0f;
	b->var = 0.0f;
	b->periods = 0;
}

static inline uint16_t add_periods(uint16_t periods, uint64_t g)
{
	return g >= (uint64_t)(UINT16_MAX - periods) ? UINT16_MAX : (uint16_t)(periods + g);
}

/* base^e by repeated squaring: basic IEEE operations only, so the same bits
 * everywhere; at most 64 rounds for any e. */
static double pow_u64(double base, uint64_t e)
{
	double r = 1.0;

	while (e != 0) {
		if (e & 1)
			r *= base;
		base *= base;
		e >>= 1;
	}
	return r;
}

static void fold(struct af_baseline *b, double alpha, double x)
{
	if (b->periods == 0) {
		b->mean = (float)x;
		b->var = 0.0f;
	} else {
		double mean = b->mean;
		double d = x - mean;
		double inc = alpha * d;
		b->mean = (float)(mean + inc);
		b->var = (float)((1.0 - alpha) * ((double)b->var + d * inc));
	}
	b->periods = add_periods(b->periods, 1);
}

/* g periods of count 0 at once; see the closed form in baseline.h.
 * @pre at least one period folded already. */
static void fold_zeros(struct af_baseline *b, double alpha, uint64_t g)
{
	double bg = pow_u64(1.0 - alpha, g);
	double mean = b->mean;

	b->var = (float)(bg * ((double)b->var + mean * mean * (1.0 - bg)));
	b->mean = (float)(bg * mean);
	b->periods = add_periods(b->periods, g);
}

void af_baseline_add(struct af_baseline *b, int64_t period_ns, double alpha, int64_t ts, uint32_t k)
{
	assert(period_ns > 0);
	assert(alpha > 0.0 && alpha <= 1.0);
	assert(ts >= 0);
	int64_t p = ts / period_ns;

	if (b->period == EMPTY) {
		b->period = p;
	} else if (p > b->period) {
		fold(b, alpha, (double)b->current);
		uint64_t gap = (uint64_t)(p - b->period) - 1;
		if (gap != 0)
			fold_zeros(b, alpha, gap);
		b->period = p;
		b->current = 0;
	}
	b->current = k >= UINT32_MAX - b->current ? UINT32_MAX : b->current + k;
}

double af_baseline_mean(const struct af_baseline *b)
{
	return b->mean;
}

double af_baseline_stddev(const struct af_baseline *b)
{
	return sqrt((double)b->var);
}

double af_baseline_zscore(const struct af_baseline *b, double x, double sd_floor)
{
	assert(sd_floor > 0.0);
	double sd = af_baseline_stddev(b);

	if (sd < sd_floor)
		sd = sd_floor;
	return (x - (double)b->mean) / sd;
}

float af_baseline_peak(float peak, double x, double decay, uint64_t periods)
{
	assert(decay >= 0.0 && decay <= 1.0);
	double old = (double)peak * pow_u64(decay, periods);

	return (float)(x > old ? x : old);
}
