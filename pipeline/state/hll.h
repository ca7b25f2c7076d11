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
 * @pre p valid.
 * Cost: O(2^p) byte reads and under 60 multiply-adds; a logarithm below 2.5 m. */
uint64_t af_hll_count(const uint8_t *regs, unsigned p);

/* dst becomes the sketch of the union of dst's and src's items.
 * @pre both of precision p; they may not overlap unless equal.
 * Cost: O(2^p). */
void af_hll_merge(uint8_t *dst, const uint8_t *src, unsigned p);

/* The relative standard error 1.04 / sqrt(2^p) of af_hll_count. */
double af_hll_rel_error(unsigned p);

#endif
