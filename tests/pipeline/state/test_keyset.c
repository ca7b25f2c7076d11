/* test_keyset.c - af_keyset: exact counts below its limit, the sketch's
 * estimate past it, key 0, repeats, and memory that stops growing. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "pipeline/state/keyset.h"

/* Distinct, well spread keys (a 64-bit mix of i). */
static uint64_t key_of(uint64_t i)
{
	i += 0x9e3779b97f4a7c15ULL;
	i = (i ^ (i >> 30)) * 0xbf58476d1ce4e5b9ULL;
	i = (i ^ (i >> 27)) * 0x94d049bb133111ebULL;
	return i ^ (i >> 31);
}

Test(keyset, counts_distinct_keys_exactly_below_its_limit)
{
	struct af_keyset ks;
	cr_assert_eq(af_keyset_init_max(&ks, 5000), AF_OK);
	for (uint64_t i = 0; i < 5000; i++) {
		cr_assert(af_keyset_add(&ks, key_of(i)));
		cr_assert_not(af_keyset_add(&ks, key_of(i)), "a repeat is not new");
	}
	cr_assert_eq(af_keyset_count(&ks), 5000);
	cr_assert(af_keyset_exact(&ks));
	af_keyset_fini(&ks);
}

Test(keyset, counts_key_zero_once)
{
	struct af_keyset ks;
	cr_assert_eq(af_keyset_init(&ks), AF_OK);
	cr_assert(af_keyset_add(&ks, 0));
	cr_assert_not(af_keyset_add(&ks, 0));
	cr_assert(af_keyset_add(&ks, 7));
	cr_assert_eq(af_keyset_count(&ks), 2);
	af_keyset_fini(&ks);
}

Test(keyset, estimates_past_its_limit_within_a_few_percent_in_fixed_memory)
{
	struct af_keyset ks;
	cr_assert_eq(af_keyset_init_max(&ks, 1000), AF_OK);
	for (uint64_t i = 0; i < 1000; i++)
		af_keyset_add(&ks, key_of(i));
	cr_assert(af_keyset_exact(&ks));
	af_keyset_add(&ks, key_of(1000));
	cr_assert_not(af_keyset_exact(&ks), "the 1001st key hands over to the sketch");
	cr_assert_null(ks.slots, "the exact slots are freed");
	for (uint64_t i = 1001; i < 200000; i++)
		af_keyset_add(&ks, key_of(i));
	/* Repeats change nothing. */
	for (uint64_t i = 0; i < 200000; i += 7)
		af_keyset_add(&ks, key_of(i));
	double n = (double)af_keyset_count(&ks);
	cr_assert(n > 200000 * 0.97 && n < 200000 * 1.03, "estimate %.0f of 200000", n);
	af_keyset_fini(&ks);
}

Test(keyset, keeps_the_keys_seen_before_the_switch_in_the_estimate)
{
	struct af_keyset ks;
	cr_assert_eq(af_keyset_init_max(&ks, 50000), AF_OK);
	for (uint64_t i = 0; i < 50000; i++)
		af_keyset_add(&ks, key_of(i));
	/* One new key: the count must stay near 50001, not restart. */
	af_keyset_add(&ks, key_of(50000));
	double n = (double)af_keyset_count(&ks);
	cr_assert(n > 50001 * 0.97 && n < 50001 * 1.03, "estimate %.0f of 50001", n);
	af_keyset_fini(&ks);
}
