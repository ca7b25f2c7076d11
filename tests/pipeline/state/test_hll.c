/* test_hll.c - af_hll: precision checks, accuracy from 10 to a million
 * items at p = 10 and p = 12, merge as union, repeats and order; the slot
 * of a hash, and the estimate from a histogram against the estimator as
 * first written. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/state/hll.h"

/* A good 64-bit mix of a counter (the splitmix64 finalizer) stands in for
 * xxh3 of distinct items. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint8_t *regs_new(unsigned p)
{
	uint8_t *regs = malloc(AF_HLL_REGS(p));

	cr_assert_not_null(regs);
	cr_assert_eq(af_hll_init(regs, p), AF_OK);
	return regs;
}

Test(hll, refuses_a_precision_out_of_range)
{
	uint8_t regs[1 << 15];

	memset(regs, 0xaa, sizeof(regs));
	cr_assert_eq(af_hll_init(regs, AF_HLL_P_MIN - 1), AF_E_INVALID);
	cr_assert_eq(af_hll_init(regs, AF_HLL_P_MAX + 1), AF_E_INVALID);
	cr_assert_eq(regs[0], 0xaa);
	cr_assert_eq(af_hll_init(regs, AF_HLL_P_MIN), AF_OK);
	cr_assert_eq(af_hll_init(regs, AF_HLL_P_MAX), AF_OK);
}

Test(hll, counts_zero_when_empty)
{
	uint8_t *regs = regs_new(10);

	cr_assert_eq(af_hll_count(regs, 10), 0);
	free(regs);
}

Test(hll, states_the_textbook_relative_error)
{
	cr_assert_float_eq(af_hll_rel_error(10), 0.0325, 1e-9);
	cr_assert_float_eq(af_hll_rel_error(12), 0.01625, 1e-9);
}

/* Every n within 3 standard errors (1.04 / sqrt(m) n), and within 1 at
 * least: a rounded count cannot do better than that for n = 10. A fresh
 * stream of hashes for every n, so the checks are independent. */
static void check_accuracy(unsigned p)
{
	static const uint64_t ns[] = {10, 100, 1000, 10000, 100000, 1000000};
	uint8_t *regs = regs_new(p);
	uint64_t base = 0;

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		uint64_t n = ns[i];
		af_hll_clear(regs, p);
		for (uint64_t j = 0; j < n; j++)
			af_hll_add(regs, p, mix(base + j));
		base += n;
		double est = (double)af_hll_count(regs, p);
		double tol = fmax(3.0 * af_hll_rel_error(p) * (double)n, 1.0);
		cr_expect_leq(fabs(est - (double)n), tol, "p=%u n=%llu: estimate %.0f", p,
		              (unsigned long long)n, est);
	}
	free(regs);
}

Test(hll, estimates_within_three_standard_errors_at_p10)
{
	check_accuracy(10);
}

Test(hll, estimates_within_three_standard_errors_at_p12)
{
	check_accuracy(12);
}

Test(hll, counts_a_repeated_item_once)
{
	uint8_t *regs = regs_new(12);

	for (int i = 0; i < 1000; i++)
		af_hll_add(regs, 12, mix(7));
	cr_assert_eq(af_hll_count(regs, 12), 1);
	cr_assert_not(af_hll_add(regs, 12, mix(7)));
	free(regs);
}

Test(hll, merges_two_sketches_into_exactly_the_sketch_of_the_union)
{
	uint8_t *a = regs_new(10), *b = regs_new(10), *u = regs_new(10);

	for (uint64_t i = 0; i < 20000; i++) {
		af_hll_add(a, 10, mix(i));
		af_hll_add(u, 10, mix(i));
	}
	for (uint64_t i = 10000; i < 30000; i++) {
		af_hll_add(b, 10, mix(i));
		af_hll_add(u, 10, mix(i));
	}
	af_hll_merge(a, b, 10);
	cr_assert_eq(memcmp(a, u, AF_HLL_REGS(10)), 0);
	cr_assert_leq(fabs((double)af_hll_count(a, 10) - 30000.0), 3 * 0.0325 * 30000);
	free(a);
	free(b);
	free(u);
}

Test(hll, gives_the_same_registers_whatever_the_order)
{
	uint8_t *fwd = regs_new(12), *back = regs_new(12);

	for (uint64_t i = 0; i < 50000; i++)
		af_hll_add(fwd, 12, mix(i));
	for (uint64_t i = 50000; i-- > 0;)
		af_hll_add(back, 12, mix(i));
	cr_assert_eq(memcmp(fwd, back, AF_HLL_REGS(12)), 0);
	cr_assert_eq(af_hll_count(fwd, 12), af_hll_count(back, 12));
	free(fwd);
	free(back);
}

Test(hll, clears_back_to_empty)
{
	uint8_t *regs = regs_new(8);

	for (uint64_t i = 0; i < 500; i++)
		af_hll_add(regs, 8, mix(i));
	cr_assert_gt(af_hll_count(regs, 8), 0);
	af_hll_clear(regs, 8);
	cr_assert_eq(af_hll_count(regs, 8), 0);
	free(regs);
}

Test(hll, ranks_a_hash_whose_low_bits_are_all_zero_at_the_maximum)
{
	uint8_t *regs = regs_new(8);

	/* Index 0x12, rest all zero: the rank saturates at 64 - p + 1. */
	cr_assert(af_hll_add(regs, 8, 0x12ULL << 56));
	cr_assert_eq(regs[0x12], 57);
	/* Index 0x12, first remaining bit set: rank 1, no change. */
	cr_assert_not(af_hll_add(regs, 8, (0x12ULL << 56) | (1ULL << 55)));
	cr_assert(af_hll_add(regs, 8, (0x13ULL << 56) | (1ULL << 53)));
	cr_assert_eq(regs[0x13], 3);
	free(regs);
}

Test(hll, locates_the_register_and_rank_an_add_raises)
{
	for (unsigned p = AF_HLL_P_MIN; p <= AF_HLL_P_MAX; p++) {
		uint8_t *regs = regs_new(p);
		for (uint64_t i = 0; i < 3000; i++) {
			uint64_t h = i < 2 ? i << (64 - p) : mix(i); /* and ranks at the maximum */
			struct af_hll_slot s = af_hll_locate(h, p);
			uint8_t before = regs[s.idx];
			cr_assert_lt(s.idx, AF_HLL_REGS(p));
			cr_assert(s.rank >= 1 && s.rank <= AF_HLL_RANK_MAX(p));
			cr_assert_eq(af_hll_add(regs, p, h), s.rank > before, "p=%u i=%llu", p,
			             (unsigned long long)i);
			cr_assert_eq(regs[s.idx], s.rank > before ? s.rank : before);
		}
		free(regs);
	}
}

/* The estimator as first written: 2^-k by ldexp for every rank from the
 * highest possible down to 1, then the zeros. The estimate must not move by
 * a single bit from this, whatever shortcut af_hll_estimate takes. */
static uint64_t textbook_count(const uint8_t *regs, unsigned p)
{
	uint32_t hist[AF_HLL_HIST_LEN(AF_HLL_P_MIN)] = {0};
	size_t m = AF_HLL_REGS(p);

	for (size_t j = 0; j < m; j++)
		hist[regs[j]]++;
	if (hist[0] == m)
		return 0;
	double sum = 0.0;
	for (unsigned k = AF_HLL_RANK_MAX(p); k > 0; k--)
		sum += ldexp((double)hist[k], -(int)k);
	sum += hist[0];
	double dm = (double)m;
	double est = 0.7213 / (1.0 + 1.079 / dm) * dm * dm / sum;
	if (est <= 2.5 * dm && hist[0] != 0)
		est = dm * log(dm / hist[0]);
	return (uint64_t)(est + 0.5);
}

Test(hll, estimates_to_the_bit_what_the_rank_by_rank_sum_gives)
{
	uint64_t rng = 5;

	for (unsigned p = AF_HLL_P_MIN; p <= AF_HLL_P_MAX; p++) {
		uint8_t *regs = regs_new(p);
		uint16_t hist[AF_HLL_HIST_LEN(AF_HLL_P_MIN)];
		/* Sketches of 1 to 200000 items, through the switch to the
		 * raw estimator at 2.5 m. */
		uint64_t added = 0;
		for (uint64_t n = 1; n <= 200000; n = n * 11 / 10 + 1) {
			for (; added < n; added++)
				af_hll_add(regs, p, mix(added + ((uint64_t)p << 40)));
			af_hll_histogram(regs, p, hist);
			cr_assert_eq(af_hll_estimate(hist, p), textbook_count(regs, p),
			             "p=%u n=%llu", p, (unsigned long long)n);
			cr_assert_eq(af_hll_count(regs, p), textbook_count(regs, p));
		}
		/* Registers no stream of hashes would make: any rank anywhere,
		 * or a geometric spread shifted up, so many ranks are present
		 * and the sum needs every bit of a double. */
		for (unsigned round = 0; round < 200; round++) {
			for (size_t j = 0; j < AF_HLL_REGS(p); j++) {
				rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
				unsigned r = round % 2
				                 ? (unsigned)(rng >> 33) % (AF_HLL_RANK_MAX(p) + 1)
				                 : (unsigned)__builtin_clzll(rng | 1) + round % 30;
				regs[j] =
				    (uint8_t)(r < AF_HLL_RANK_MAX(p) ? r : AF_HLL_RANK_MAX(p));
			}
			af_hll_histogram(regs, p, hist);
			cr_assert_eq(af_hll_estimate(hist, p), textbook_count(regs, p),
			             "p=%u round %u", p, round);
		}
		free(regs);
	}
}
