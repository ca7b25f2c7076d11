/* hll.h - HyperLogLog: the approximate number of distinct 64-bit hashes seen,
 * in 2^p one-byte registers the caller provides.
 *
 * Thread: whoever owns the registers; no locks, no allocation.
 * In: 64-bit hashes of the items (xxh3 or another well-mixed hash; the
 * caller hashes, this file never does). Out: a cardinality estimate.
 *
 * DESIGN (Flajolet, Fusy, Gandouet, Meunier 2007): the top p bits of a hash
 * pick a register; the register keeps the largest "rank" seen there, the
 * position of the first 1 bit in the remaining 64 - p bits. The estimate is
 * alpha_m m^2 / sum(2^-reg) with m = 2^p; below 2.5 m, while some register is
 * still 0, linear counting, m ln(m / zeros), is used instead, which removes
 * the raw estimator's large bias for small cardinalities. With 64-bit hashes
 * no large-range correction is needed. Relative standard error 1.04 /
 * sqrt(m): 6.5% at p = 8, 3.25% at p = 10, 1.63% at p = 12, 0.81% at p = 14;
 * around the switch to the raw estimator (2.5 m) it is up to about 1.4 times
 * that (measured: 4.5% at p = 10, n = 2500), the known weak spot of the
 * original estimator that HLL++'s empirical bias tables address.
 * Merging two sketches of the same p (register-wise max) gives exactly the
 * sketch of the union. The estimate is a pure function of the registers, and
 * the registers of the set of hashes added, whatever the order.
 *
 * The estimate depends on the registers only through their histogram (how
 * many registers hold each rank), so a caller that keeps that histogram up
 * to date as registers rise (af_hll_locate says which register an item
 * raises) gets the estimate from af_hll_estimate without reading the
 * registers; af_hll_count is that same function on a histogram it builds,
 * so both give the same bits.
 */
#ifndef AF_HLL_H
#define AF_HLL_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline/err.h"

#define AF_HLL_P_MIN 8
#define AF_HLL_P_MAX 14

/* Bytes of register storage for precision p. */
#define AF_HLL_REGS(p) ((size_t)1 << (p))

/* Largest rank at precision p: the 64 - p bits after the index all zero. */
#define AF_HLL_RANK_MAX(p) (64u - (p) + 1u)

/* Entries of a register histogram at precision p, one per rank
 * 0..AF_HLL_RANK_MAX(p): 56 at p = 10. */
#define AF_HLL_HIST_LEN(p) (AF_HLL_RANK_MAX(p) + 1u)

/* Where an item lands: the register its hash picks and the rank it offers
 * there. The register rises to rank if it holds less. */
struct af_hll_slot {
	uint32_t idx; /* 0 .. AF_HLL_REGS(p) - 1 */
	uint8_t rank; /* 1 .. AF_HLL_RANK_MAX(p) */
};

/* The slot of hash at precision p; what af_hll_add applies.
 * @pre p valid.
 * Cost: a shift and a count of leading zeros. */
static inline struct af_hll_slot af_hll_locate(uint64_t hash, unsigned p)
{
	uint64_t rest = hash << p;
	struct af_hll_slot s = {
	    .idx = (uint32_t)(hash >> (64u - p)),
	    .rank = rest ? (uint8_t)(__builtin_clzll(rest) + 1) : (uint8_t)AF_HLL_RANK_MAX(p),
	};

	return s;
}

/* Empty registers for precision p in regs (AF_HLL_REGS(p) bytes, borrowed).
 * AF_E_INVALID, regs untouched, when p is outside AF_HLL_P_MIN..AF_HLL_P_MAX. */
af_err_t af_hll_init(uint8_t *regs, unsigned p);

/* Empty the registers again.
 * @pre p valid (af_hll_init accepted it). */
void af_hll_clear(uint8_t *regs, unsigned p);

/* Add one item by its hash. Returns true if a register grew (the item may be
 * new); false means the estimate did not change.
 * @pre p valid; regs initialised with the same p.
 * Cost: O(1), a shift and a count of leading zeros. */
bool af_hll_add(uint8_t *regs, unsigned p, uint64_t hash);

/* Estimated number of distinct hashes added (rounded). 0 when empty.
 * Equal to af_hll_estimate of af_hll_histogram of regs.
 * @pre p valid.
 * Cost: O(2^p) byte reads, then as af_hll_estimate. */
uint64_t af_hll_count(const uint8_t *regs, unsigned p);

/* Fill hist (AF_HLL_HIST_LEN(p) entries, borrowed) with the histogram of
 * regs: hist[k] = how many registers hold k.
 * @pre p valid.
 * Cost: O(2^p). */
void af_hll_histogram(const uint8_t *regs, unsigned p, uint16_t *hist);

/* The estimate af_hll_count gives for registers whose histogram is hist
 * (AF_HLL_HIST_LEN(p) entries, borrowed): the same value, bit for bit.
 * @pre p valid; the entries sum to AF_HLL_REGS(p).
 * Cost: a scan of the histogram and one multiply-add per rank up to the
 * highest one present (about 12 at 1000 items and p = 10); a logarithm
 * below 2.5 m. */
uint64_t af_hll_estimate(const uint16_t *hist, unsigned p);

/* dst becomes the sketch of the union of dst's and src's items.
 * @pre both of precision p; they may not overlap unless equal.
 * Cost: O(2^p). */
void af_hll_merge(uint8_t *dst, const uint8_t *src, unsigned p);

/* The relative standard error 1.04 / sqrt(2^p) of af_hll_count. */
double af_hll_rel_error(unsigned p);

#endif
