/* test_rule_password_spray.c - password_spray: distinct accounts failing
 * from one address, the per-address alert (no account), the window, benign
 * codes, corporate egress, suppression while counts go on, ids, and the
 * switch to HyperLogLog. */
#include "rules_test.h"

#define BAD_PASSWORD 50126

/* A commercial anonymizer the spray comes from, in the attacker's data
 * centre (set up before each test). */
static struct rt_place SPRAYER;

static void setup(void)
{
	rt_setup();
	SPRAYER = ASHBURN;
	SPRAYER.ip = "198.51.100.9";
	SPRAYER.flags = AF_GEO_ANONYMOUS | AF_GEO_VPN;
}

TestSuite(password_spray, .init = setup, .fini = rt_teardown);

/* The k-th sprayed account. */
static const char *victim(unsigned k)
{
	static char name[64];

	snprintf(name, sizeof(name), "user%u@contoso.example", k);
	return name;
}

/* Failures against accounts first .. first + n - 1 from p, one every step. */
static void spray(int64_t ts, unsigned first, unsigned n, int64_t step, const struct rt_place *p,
                  int32_t code)
{
	for (unsigned i = 0; i < n; i++)
		rt_fail(ts + (int64_t)i * step, victim(first + i), p, code);
}

Test(password_spray, fires_at_the_fifth_distinct_account)
{
	spray(T0, 0, 4, MIN, &SPRAYER, BAD_PASSWORD);
	cr_assert_eq(nalerts, 0);
	struct af_event ev = rt_fail(T0 + 4 * MIN, victim(4), &SPRAYER, BAD_PASSWORD);

	cr_assert_eq(nalerts, 1);
	const struct af_alert *a = rt_alert("password_spray", 0);
	cr_assert_str_eq(a->account, "", "a per-address alert has no account");
	cr_assert_eq(a->severity, AF_SEV_HIGH);
	cr_assert_eq(memcmp(&a->src, &ev.src, sizeof(a->src)), 0);
	cr_assert_str_eq(a->geo.country, "US");
	cr_assert_eq(rt_num(a, "accounts"), 5);
	cr_assert_eq(rt_num(a, "failures"), 5);
	cr_assert_eq(rt_num(a, "window_minutes"), 20);
	cr_assert_eq(rt_num(a, "threshold"), 5);
	cr_assert_str_eq(a->evidence[0], ev.record_id);
	cr_assert_str_eq(a->message, "198.51.100.9 failed to sign in as 5 distinct accounts within "
	                             "about 20 minutes (5 failures, the latest as "
	                             "user4@contoso.example).");
}

Test(password_spray, many_failures_against_one_account_are_no_spray)
{
	for (int i = 0; i < 50; i++)
		rt_fail(T0 + i * 10 * SEC, victim(1), &SPRAYER, BAD_PASSWORD);
	cr_assert_eq(rt_count("password_spray"), 0);
}

Test(password_spray, counts_each_account_once)
{
	for (int round = 0; round < 5; round++)
		spray(T0 + round * MIN, 0, 4, SEC, &SPRAYER, BAD_PASSWORD);
	cr_assert_eq(rt_count("password_spray"), 0);
	rt_fail(T0 + 6 * MIN, victim(4), &SPRAYER, BAD_PASSWORD);
	cr_assert_eq(rt_count("password_spray"), 1);
	cr_assert_eq(rt_num(rt_alert("password_spray", 0), "accounts"), 5);
	cr_assert_eq(rt_num(rt_alert("password_spray", 0), "failures"), 21);
}

Test(password_spray, a_slow_spray_spread_over_more_than_two_windows_does_not_add_up)
{
	/* One account every 15 minutes: never five within two windows. */
	spray(T0, 0, 20, 15 * MIN, &SPRAYER, BAD_PASSWORD);
	cr_assert_eq(rt_count("password_spray"), 0);
}

Test(password_spray, threshold_and_window_are_configurable)
{
	rt_set("rules.password_spray.threshold", "3");
	rt_set("rules.password_spray.window", "2h");
	spray(T0, 0, 3, 30 * MIN, &SPRAYER, BAD_PASSWORD);
	cr_assert_eq(rt_count("password_spray"), 1);
	cr_assert_eq(rt_num(rt_alert("password_spray", 0), "window_minutes"), 120);
}

Test(password_spray, interrupts_are_not_failed_passwords)
{
	spray(T0, 0, 10, SEC, &SPRAYER, 50074);
	spray(T0 + MIN, 10, 10, SEC, &SPRAYER, 50140);
	cr_assert_eq(rt_count("password_spray"), 0);
}

Test(password_spray, skips_corporate_egress_and_internal_addresses_by_default)
{
	struct rt_place office = FRANKFURT, relay = rt_at("10.0.0.5", "", 0, 0, 0, 0);

	office.flags = AF_GEO_CORPORATE;
	relay.flags = AF_GEO_INTERNAL;
	spray(T0, 0, 10, MIN, &office, BAD_PASSWORD);
	cr_assert_eq(rt_count("password_spray"), 0);
	rt_restart();
	spray(T0, 0, 10, MIN, &relay, BAD_PASSWORD);
	cr_assert_eq(rt_count("password_spray"), 0);
	rt_set("rules.password_spray.skip_corporate", "false");
	rt_restart();
	spray(T0, 0, 10, MIN, &office, BAD_PASSWORD);
	cr_assert_eq(rt_count("password_spray"), 1);
}

Test(password_spray, ignores_failures_without_an_address)
{
	for (unsigned i = 0; i < 10; i++) {
		struct af_event ev = rt_event(AF_KIND_SIGNIN_FAILED, victim(i), T0 + i * SEC, NULL);

		ev.error_code = BAD_PASSWORD;
		rt_run(&ev);
	}
	cr_assert_eq(rt_count("password_spray"), 0);
}

Test(password_spray, does_not_alert_again_within_the_suppression_period_but_keeps_counting)
{
	spray(T0, 0, 5, MIN, &SPRAYER, BAD_PASSWORD);
	cr_assert_eq(rt_count("password_spray"), 1);
	spray(T0 + 5 * MIN, 5, 10, MIN, &SPRAYER, BAD_PASSWORD);
	cr_assert_eq(rt_count("password_spray"), 1);
	uint64_t n =
	    af_dwin_count(&addr.accounts, pool, cfg.rules.password_spray.window, T0 + 14 * MIN);
	/* 15 accounts; past 8 the count is a HyperLogLog estimate. */
	cr_assert(n >= 13 && n <= 17, "counted while suppressed: %" PRIu64, n);
	spray(T0 + 25 * HOUR, 100, 6, MIN, &SPRAYER, BAD_PASSWORD);
	cr_assert_eq(rt_count("password_spray"), 2);
	cr_assert_eq(rt_num(rt_alert("password_spray", 1), "accounts"), 5);
}

Test(password_spray, suppression_is_configurable)
{
	rt_set("rules.password_spray.suppression", "30m");
	spray(T0, 0, 5, MIN, &SPRAYER, BAD_PASSWORD);
	spray(T0 + 5 * MIN, 5, 40, MIN, &SPRAYER, BAD_PASSWORD);
	cr_assert_eq(rt_count("password_spray"), 2);
	cr_assert_eq(rt_alert("password_spray", 1)->ts_ns, T0 + 34 * MIN);
}

Test(password_spray, id_is_made_from_the_rule_the_address_and_the_window_start)
{
	char start[32];

	/* Failures are counted in buckets of two windows / 10 = 4 minutes. */
	spray(T0 + 5 * MIN, 0, 5, MIN, &SPRAYER, BAD_PASSWORD);
	int64_t bucket = 4 * MIN;
	snprintf(start, sizeof(start), "%" PRId64, (T0 + 5 * MIN) / bucket * bucket);
	cr_assert_eq(rt_alert("password_spray", 0)->id,
	             af_alert_id("password_spray", "198.51.100.9", start));
}

Test(password_spray, the_id_does_not_depend_on_which_accounts_or_their_order)
{
	uint64_t id;

	spray(T0, 0, 5, 10 * SEC, &SPRAYER, BAD_PASSWORD);
	id = rt_alert("password_spray", 0)->id;
	rt_restart();
	for (unsigned i = 0; i < 5; i++)
		rt_fail(T0 + (4 - i) * 10 * SEC, victim(50 + i), &SPRAYER, BAD_PASSWORD);
	cr_assert_eq(rt_alert("password_spray", 0)->id, id);
}

Test(password_spray, counts_past_the_exact_set_with_hyperloglog)
{
	rt_set("rules.password_spray.threshold", "40");
	spray(T0, 0, 39, 5 * SEC, &SPRAYER, BAD_PASSWORD);
	cr_assert_eq(rt_count("password_spray"), 0);
	spray(T0 + 200 * SEC, 39, 5, 5 * SEC, &SPRAYER, BAD_PASSWORD);
	cr_assert_eq(rt_count("password_spray"), 1);
	double n = rt_num(rt_alert("password_spray", 0), "accounts");
	cr_assert(n >= 40 && n <= 44, "%f", n);
}

Test(password_spray, the_sprayed_accounts_alert_on_their_own_route_only)
{
	/* RT_ACCOUNT among the sprayed: one failure is no burst for it. */
	spray(T0, 0, 4, MIN, &SPRAYER, BAD_PASSWORD);
	rt_fail(T0 + 4 * MIN, RT_ACCOUNT, &SPRAYER, BAD_PASSWORD);
	cr_assert_eq(rt_count("password_spray"), 1);
	cr_assert_eq(rt_count("signin_fail_burst"), 0);
	cr_assert_eq(nalerts, 1);
}
