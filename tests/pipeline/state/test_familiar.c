/* test_familiar.c - familiarity sets: keys, sightings, expiry after the
 * history, replacement of the least recently seen entry when full (also
 * within one day), the "most recent first" order, and saturation. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "pipeline/state/familiar.h"

#define DAY_NS INT64_C(86400000000000)
#define D0     20325 /* 2025-08-25 in days since the epoch */
#define HIST   90
#define CAP    4

Test(familiar, days_count_from_the_epoch_and_history_rounds_up)
{
	cr_assert_eq(af_fam_day(0), 0);
	cr_assert_eq(af_fam_day(INT64_C(1756101480) * 1000000000), D0);
	cr_assert_eq(af_fam_day(INT64_MAX), UINT16_MAX);
	cr_assert_eq(af_fam_days(90 * DAY_NS), 90);
	cr_assert_eq(af_fam_days(90 * DAY_NS + 1), 91);
	cr_assert_eq(af_fam_days(1), 1);
}

Test(familiar, country_keys_are_the_two_letters_upper_cased)
{
	char cc[3];

	cr_assert_eq(af_fam_country_key("VN"), af_fam_country_key("vn"));
	cr_assert_neq(af_fam_country_key("VN"), af_fam_country_key("NV"));
	af_fam_country_text(af_fam_country_key("us"), cc);
	cr_assert_str_eq(cc, "US");
	cr_assert_eq(af_fam_country_key(""), 0);
	cr_assert_eq(af_fam_country_key("V"), 0);
	cr_assert_eq(af_fam_country_key("VNM"), 0);
	cr_assert_eq(af_fam_country_key("1A"), 0);
}

Test(familiar, network_keys_are_the_ipv4_24_and_the_ipv6_48)
{
	struct af_ip a, b, c, none = {0};

	cr_assert(af_ip_parse("203.0.113.24", 12, &a));
	cr_assert(af_ip_parse("203.0.113.200", 13, &b));
	cr_assert(af_ip_parse("203.0.114.24", 12, &c));
	cr_assert_eq(af_fam_net_key(&a), af_fam_net_key(&b));
	cr_assert_neq(af_fam_net_key(&a), af_fam_net_key(&c));
	cr_assert(af_ip_parse("2001:db8:1::5", 13, &a));
	cr_assert(af_ip_parse("2001:db8:1:ffff::9", 18, &b));
	cr_assert(af_ip_parse("2001:db8:2::5", 13, &c));
	cr_assert_eq(af_fam_net_key(&a), af_fam_net_key(&b));
	cr_assert_neq(af_fam_net_key(&a), af_fam_net_key(&c));
	cr_assert_neq(af_fam_net_key(&a), 0);
	cr_assert_eq(af_fam_net_key(&none), 0);
}

Test(familiar, a_sighting_records_first_last_and_count)
{
	struct af_fam_entry set[CAP];
	const struct af_fam_entry *e;

	af_fam_init(set, CAP);
	cr_assert_null(af_fam_find(set, CAP, 64500, D0, HIST));
	af_fam_see(set, CAP, 64500, D0, HIST);
	af_fam_see(set, CAP, 64500, D0 + 3, HIST);
	af_fam_see(set, CAP, 64500, D0 + 1, HIST); /* late: last stays */
	e = af_fam_find(set, CAP, 64500, D0 + 3, HIST);
	cr_assert_not_null(e);
	cr_assert_eq(af_fam_key(e), 64500);
	cr_assert_eq(e->first, D0);
	cr_assert_eq(e->last, D0 + 3);
	cr_assert_eq(e->count, 3);
	cr_assert_eq(af_fam_count(set, CAP, D0 + 3, HIST), 1);
}

Test(familiar, keeps_full_32_bit_keys)
{
	struct af_fam_entry set[CAP];

	af_fam_init(set, CAP);
	af_fam_see(set, CAP, 4200000001u, D0, HIST);
	af_fam_see(set, CAP, 4200000001u & 0xffff, D0, HIST);
	cr_assert_not_null(af_fam_find(set, CAP, 4200000001u, D0, HIST));
	cr_assert_eq(af_fam_count(set, CAP, D0, HIST), 2);
}

Test(familiar, key_zero_is_never_stored_or_found)
{
	struct af_fam_entry set[CAP];

	af_fam_init(set, CAP);
	af_fam_see(set, CAP, 0, D0, HIST);
	cr_assert_eq(af_fam_count(set, CAP, D0, HIST), 0);
	cr_assert_null(af_fam_find(set, CAP, 0, D0, HIST));
}

Test(familiar, an_entry_expires_history_days_after_it_was_last_seen)
{
	struct af_fam_entry set[CAP];

	af_fam_init(set, CAP);
	af_fam_see(set, CAP, 7, D0, HIST);
	cr_assert_not_null(af_fam_find(set, CAP, 7, D0 + HIST - 1, HIST));
	cr_assert_null(af_fam_find(set, CAP, 7, D0 + HIST, HIST));
	cr_assert_eq(af_fam_count(set, CAP, D0 + HIST, HIST), 0);
}

Test(familiar, a_forgotten_key_starts_over_when_seen_again)
{
	struct af_fam_entry set[CAP];

	af_fam_init(set, CAP);
	af_fam_see(set, CAP, 7, D0, HIST);
	af_fam_see(set, CAP, 7, D0 + 1, HIST);
	af_fam_see(set, CAP, 7, D0 + 200, HIST);
	const struct af_fam_entry *e = af_fam_find(set, CAP, 7, D0 + 200, HIST);
	cr_assert_eq(e->first, D0 + 200);
	cr_assert_eq(e->count, 1);
}

Test(familiar, when_full_the_least_recently_seen_entry_is_replaced)
{
	struct af_fam_entry set[CAP];

	af_fam_init(set, CAP);
	af_fam_see(set, CAP, 1, D0, HIST);
	af_fam_see(set, CAP, 2, D0, HIST);
	af_fam_see(set, CAP, 3, D0, HIST);
	af_fam_see(set, CAP, 4, D0, HIST);
	af_fam_see(set, CAP, 1, D0 + 1, HIST); /* 2 is now the least recent */
	af_fam_see(set, CAP, 5, D0 + 2, HIST);
	cr_assert_null(af_fam_find(set, CAP, 2, D0 + 2, HIST));
	for (uint32_t k = 1; k <= 5; k++)
		if (k != 2)
			cr_assert_not_null(af_fam_find(set, CAP, k, D0 + 2, HIST), "%u", k);
}

Test(familiar, new_keys_on_one_day_replace_each_other_oldest_first)
{
	struct af_fam_entry set[CAP];

	af_fam_init(set, CAP);
	for (uint32_t k = 1; k <= 10; k++)
		af_fam_see(set, CAP, k, D0, HIST);
	for (uint32_t k = 1; k <= 10; k++)
		cr_assert_eq(af_fam_find(set, CAP, k, D0, HIST) != NULL, k > 10 - CAP, "%u", k);
}

Test(familiar, an_expired_slot_is_reused_before_a_live_one)
{
	struct af_fam_entry set[CAP];

	af_fam_init(set, CAP);
	af_fam_see(set, CAP, 1, D0, HIST); /* expires at D0 + HIST */
	af_fam_see(set, CAP, 2, D0 + 60, HIST);
	af_fam_see(set, CAP, 3, D0 + 61, HIST);
	af_fam_see(set, CAP, 4, D0 + 62, HIST);
	af_fam_see(set, CAP, 5, D0 + HIST, HIST);
	for (uint32_t k = 2; k <= 5; k++)
		cr_assert_not_null(af_fam_find(set, CAP, k, D0 + HIST, HIST), "%u", k);
}

Test(familiar, recent_lists_live_keys_most_recently_seen_first)
{
	struct af_fam_entry set[CAP];
	uint32_t keys[CAP];

	af_fam_init(set, CAP);
	af_fam_see(set, CAP, 10, D0 - 100, HIST); /* expired by D0 */
	af_fam_see(set, CAP, 20, D0 - 9, HIST);
	af_fam_see(set, CAP, 30, D0 - 5, HIST);
	af_fam_see(set, CAP, 40, D0 - 3, HIST);
	af_fam_see(set, CAP, 20, D0 - 1, HIST);
	cr_assert_eq(af_fam_recent(set, CAP, D0, HIST, keys, CAP), 3);
	cr_assert_eq(keys[0], 20);
	cr_assert_eq(keys[1], 40);
	cr_assert_eq(keys[2], 30);
	cr_assert_eq(af_fam_recent(set, CAP, D0, HIST, keys, 1), 1);
	cr_assert_eq(keys[0], 20);
}

Test(familiar, counts_saturate)
{
	struct af_fam_entry set[1];

	af_fam_init(set, 1);
	for (int i = 0; i < 70000; i++)
		af_fam_see(set, 1, 9, D0, HIST);
	cr_assert_eq(set[0].count, UINT16_MAX);
}
