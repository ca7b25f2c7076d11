/* hll.c - HyperLogLog registers and estimator; see hll.h.
 *
 * Thread: the owner of the registers. No allocation.
 *
 * DESIGN: the estimator's sum of 2^-reg over all registers is taken as a
 * sum over the histogram, rank by rank from the highest down, then the
 * zeros. Each term hist[k] * 2^-k is exact in a double (hist[k] has at most
 * 15 bits), so only the order of the additions can change the bits, and it
 * is fixed; the ranks above the highest one present add +0.0, which changes
 * nothing, so the sum starts at that rank. Hence the same registers always
 * give the same estimate, whether the histogram was counted here or kept by
 * the caller.
 */
#include "pipeline/state/hll.h"

#include <assert.h>
#include <math.h>
#include <string.h>

_Static_assert(AF_HLL_REGS(AF_HLL_P_MAX) <= UINT16_MAX, "a histogram entry holds any count");

static inline void check_p(unsigned p)
{
	assert(p >= AF_HLL_P_MIN && p <= AF_HLL_P_MAX);
	(void)p;
}

af_err_t af_hll_init(uint8_t *regs, unsigned p)
{
	if (p < AF_HLL_P_MIN || p > AF_HLL_P_MAX)
		return AF_E_INVALID;
	af_hll_clear(regs, p);
	return AF_OK;
}

void af_hll_clear(uint8_t *regs, unsigned p)
{
	check_p(p);
	memset(regs, 0, AF_HLL_REGS(p));
}

bool af_hll_add(uint8_t *regs, unsigned p, uint64_t hash)
{
	check_p(p);
	struct af_hll_slot s = af_hll_locate(hash, p);

	if (s.rank <= regs[s.idx])
		return false;
	regs[s.idx] = s.rank;
	return true;
}

void af_hll_histogram(const uint8_t *regs, unsigned p, uint16_t *hist)
{
	check_p(p);
	size_t m = AF_HLL_REGS(p);

	memset(hist, 0, AF_HLL_HIST_LEN(p) * sizeof(*hist));
	for (size_t j = 0; j < m; j++)
		hist[regs[j]]++;
}

uint64_t af_hll_count(const uint8_t *regs, unsigned p)
{
	uint16_t hist[AF_HLL_HIST_LEN(AF_HLL_P_MIN)];

	af_hll_histogram(regs, p, hist);
	return af_hll_estimate(hist, p);
}

uint64_t af_hll_estimate(const uint16_t *hist, unsigned p)
{
	check_p(p);
	size_t m = AF_HLL_REGS(p);

	if (hist[0] == m)
		return 0;
	unsigned top = AF_HLL_RANK_MAX(p);
	while (top > 0 && hist[top] == 0)
		top--;
	assert(top > 0);

	/* 2^-k by doubling, exact, rather than a libm ldexp per rank. */
	double sum = 0.0;
	double w = ldexp(1.0, -(int)top);
	for (unsigned k = top; k > 0; k--) {
		sum += (double)hist[k] * w;
		w += w;
	}
	sum += hist[0];

	double dm = (double)m;
	double alpha = 0.7213 / (1.0 + 1.079 / dm);
	double est = alpha * dm * dm / sum;
	if (est <= 2.5 * dm && hist[0] != 0)
		est = dm * log(dm / hist[0]);
	return (uint64_t)(est + 0.5);
}

void af_hll_merge(uint8_t *dst, const uint8_t *src, unsigned p)
{
	check_p(p);
	size_t m = AF_HLL_REGS(p);

	for (size_t j = 0; j < m; j++)
		if (src[j] > dst[j])
			dst[j] = src[j];
}

double af_hll_rel_error(unsigned p)
{
	return 1.04 / sqrt((double)AF_HLL_REGS(p));
}
