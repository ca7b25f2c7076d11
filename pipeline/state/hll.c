/* hll.c - HyperLogLog registers and estimator; see hll.h.
 *
 * Thread: the owner of the registers. No allocation.
 */
#include "pipeline/state/hll.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/* Largest rank: the 64 - p bits after the index all zero. */
#define RANK_MAX(p) (64u - (p) + 1u)

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
	size_t idx = (size_t)(hash >> (64u - p));
	uint64_t rest = hash << p;
	uint8_t rank = rest ? (uint8_t)(__builtin_clzll(rest) + 1) : (uint8_t)RANK_MAX(p);

	if (rank <= regs[idx])
		return false;
	regs[idx] = rank;
	return true;
}

uint64_t af_hll_count(const uint8_t *regs, unsigned p)
{
	check_p(p);
	/* A histogram of register values: one pass over the bytes, then a
	 * short sum in a fixed order (the same bits every time). */
	uint32_t hist[RANK_MAX(AF_HLL_P_MIN) + 1] = {0};
	size_t m = AF_HLL_REGS(p);

	for (size_t j = 0; j < m; j++)
		hist[regs[j]]++;
	if (hist[0] == m)
		return 0;

	double sum = 0.0;
	for (unsigned k = RANK_MAX(p); k > 0; k--)
		sum += ldexp((double)hist[k], -(int)k);
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
