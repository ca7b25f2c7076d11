/* test_rule_signin_fail_burst.c - signin_fail_burst: the threshold and the
 * window's edges, benign interrupt codes, suppression while the window
 * keeps counting, and ids from the window start. */
#include "rules_test.h"

TestSuite(signin_fail_burst, .init = rt_setup, .fini = rt_teardown);

#define BAD_PASSWORD 50126

/* n failures of RT_ACCOUNT with code, one every step from ts on. */
static void fails(int64_t ts, unsigned n, int64_t step, int32_t code)
{
	for (unsigned i = 0; i < n; i++)
		rt_fail(ts + (int64_t)i * step, RT_ACCOUNT, &ASHBURN, code);
}

static uint32_t window_count(int64_t now)
{
	int64_t w = cfg.rules.signin_fail_burst.window;

	return af_window_sum(&acct.fails, w / AF_RULE_WINDOW_BUCKETS, AF_RULE_WINDOW_BUCKETS, now);
}

Test(signin_fail_burst, fires_at_the_tenth_failure_within_ten_minutes)
{
	fails(T0, 9, 50 * SEC, BAD_PASSWORD);
	cr_assert_eq(nalerts, 0);
	struct af_event ev = rt_fail(T0 + 9 * 50 * SEC, RT_ACCOUNT, &ASHBURN, BAD_PASSWORD);

	cr_assert_eq(nalerts, 1);
	const struct af_alert *a = rt_alert("signin_fail_burst", 0);
	cr_assert_eq(a->severity, AF_SEV_MEDIUM);
	cr_assert_str_eq(a->account, RT_ACCOUNT);
	cr_assert_eq(a->ts_ns, ev.ts_ns);
	cr_assert_eq(rt_num(a, "count"), 10);
	cr_assert_eq(rt_num(a, "window_minutes"), 10);
	cr_assert_eq(rt_num(a, "threshold"), 10);
	cr_assert_eq(rt_num(a, "error_code"), BAD_PASSWORD);
	cr_assert_str_eq(a->evidence[0], ev.record_id);
	cr_assert_str_eq(a->message, "an@contoso.example failed to sign in 10 times within 10 "
	                             "minutes (last error 50126, from 198.51.100.7).");
}

Test(signin_fail_burst, needs_no_learning_period)
{
	/* The account's very first events. */
	fails(T0, 10, SEC, BAD_PASSWORD);
	cr_assert_eq(rt_count("signin_fail_burst"), 1);
}

Test(signin_fail_burst, counts_failures_in_the_last_ten_one_minute_buckets)
{
	/* T0 is a minute boundary: buckets T0 .. T0 + 9 min are the window
	 * that ends at T0 + 9 min 59 s. */
	fails(T0, 9, MIN, BAD_PASSWORD);
	rt_fail(T0 + 10 * MIN - 1, RT_ACCOUNT, &ASHBURN, BAD_PASSWORD);
	cr_assert_eq(rt_count("signin_fail_burst"), 1);
}

Test(signin_fail_burst, drops_a_failure_once_its_bucket_leaves_the_window)
{
	fails(T0, 9, MIN, BAD_PASSWORD);
	rt_fail(T0 + 10 * MIN, RT_ACCOUNT, &ASHBURN, BAD_PASSWORD); /* T0's bucket is out */
	cr_assert_eq(rt_count("signin_fail_burst"), 0);
	cr_assert_eq(window_count(T0 + 10 * MIN), 9);
}

Test(signin_fail_burst, slow_failures_never_add_up)
{
	fails(T0, 100, 2 * MIN, BAD_PASSWORD);
	cr_assert_eq(rt_count("signin_fail_burst"), 0);
}

Test(signin_fail_burst, threshold_and_window_are_configurable)
{
	rt_set("rules.signin_fail_burst.threshold", "3");
	rt_set("rules.signin_fail_burst.window", "1h");
	fails(T0, 3, 20 * MIN, BAD_PASSWORD);
	cr_assert_eq(rt_count("signin_fail_burst"), 1);
	cr_assert_eq(rt_num(rt_alert("signin_fail_burst", 0), "window_minutes"), 60);
	cr_assert(strstr(rt_alert("signin_fail_burst", 0)->message, "3 times within 60 minutes") !=
	          NULL);
}

Test(signin_fail_burst, interrupts_are_not_failed_passwords)
{
	const int32_t interrupts[] = {50140, 50074, 50076, 70043, 50097,
	                              50125, 50158, 50072, 16000};

	for (size_t i = 0; i < sizeof(interrupts) / sizeof(interrupts[0]); i++)
		fails(T0 + (int64_t)i * SEC, 20, SEC / 100, interrupts[i]);
	cr_assert_eq(rt_count("signin_fail_burst"), 0);
	cr_assert_eq(window_count(T0 + MIN), 0);
}

Test(signin_fail_burst, interrupts_between_failures_do_not_count)
{
	for (int i = 0; i < 9; i++) {
		rt_fail(T0 + i * 30 * SEC, RT_ACCOUNT, &ASHBURN, BAD_PASSWORD);
		rt_fail(T0 + i * 30 * SEC + SEC, RT_ACCOUNT, &ASHBURN, 50074);
	}
	cr_assert_eq(rt_count("signin_fail_burst"), 0);
	rt_fail(T0 + 5 * MIN, RT_ACCOUNT, &ASHBURN, 50053);
	cr_assert_eq(rt_count("signin_fail_burst"), 1);
}

Test(signin_fail_burst, the_benign_codes_are_configurable)
{
	rt_set("rules.benign_codes", "50126, 50053");
	fails(T0, 20, SEC, BAD_PASSWORD);
	cr_assert_eq(rt_count("signin_fail_burst"), 0);
	fails(T0 + MIN, 10, SEC, 50074); /* no longer benign */
	cr_assert_eq(rt_count("signin_fail_burst"), 1);
}

Test(signin_fail_burst, successful_signins_do_not_count)
{
	rt_signins(T0, &ASHBURN, 20, SEC);
	fails(T0 + MIN, 9, SEC, BAD_PASSWORD);
	cr_assert_eq(rt_count("signin_fail_burst"), 0);
}

Test(signin_fail_burst, does_not_alert_again_within_the_suppression_period_but_keeps_counting)
{
	fails(T0, 10, 10 * SEC, BAD_PASSWORD);
	cr_assert_eq(rt_count("signin_fail_burst"), 1);
	fails(T0 + 2 * MIN, 15, 10 * SEC, BAD_PASSWORD);
	cr_assert_eq(rt_count("signin_fail_burst"), 1);
	cr_assert_eq(window_count(T0 + 5 * MIN), 25);
	/* The attacker is back the next day. */
	fails(T0 + 25 * HOUR, 12, 10 * SEC, BAD_PASSWORD);
	cr_assert_eq(rt_count("signin_fail_burst"), 2);
	cr_assert_eq(rt_num(rt_alert("signin_fail_burst", 1), "count"), 10);
}

Test(signin_fail_burst, is_quiet_until_the_minute_after_the_period_ends)
{
	/* The alert at T0 + 9 s keeps the rule quiet until T0 + 24 h 9 s,
	 * rounded up to T0 + 24 h 1 min. */
	fails(T0, 10, SEC, BAD_PASSWORD);
	fails(T0 + 24 * HOUR - 5 * MIN, 20, 10 * SEC, BAD_PASSWORD);
	rt_fail(T0 + 24 * HOUR + MIN - 1, RT_ACCOUNT, &ASHBURN, BAD_PASSWORD);
	cr_assert_eq(rt_count("signin_fail_burst"), 1);
	rt_fail(T0 + 24 * HOUR + MIN, RT_ACCOUNT, &ASHBURN, BAD_PASSWORD);
	cr_assert_eq(rt_count("signin_fail_burst"), 2);
	cr_assert_eq(rt_num(rt_alert("signin_fail_burst", 1), "count"), 22);
}

Test(signin_fail_burst, id_is_made_from_the_rule_the_account_and_the_window_start)
{
	char start[32];

	fails(T0 + 30 * SEC, 10, 20 * SEC, BAD_PASSWORD);
	snprintf(start, sizeof(start), "%" PRId64, T0); /* the first failure's bucket */
	cr_assert_eq(rt_alert("signin_fail_burst", 0)->id,
	             af_alert_id("signin_fail_burst", RT_ACCOUNT, start));
}

Test(signin_fail_burst, the_id_does_not_depend_on_arrival_order_within_the_window)
{
	uint64_t id;

	/* Nine failures in order, then one that arrives late into the first
	 * minute; and the same failures with the late one first. */
	fails(T0 + MIN, 9, 10 * SEC, BAD_PASSWORD);
	rt_fail(T0 + 5 * SEC, RT_ACCOUNT, &ASHBURN, BAD_PASSWORD);
	cr_assert_eq(rt_count("signin_fail_burst"), 1);
	id = rt_alert("signin_fail_burst", 0)->id;
	rt_restart();
	rt_fail(T0 + 5 * SEC, RT_ACCOUNT, &ASHBURN, BAD_PASSWORD);
	fails(T0 + MIN, 9, 10 * SEC, BAD_PASSWORD);
	cr_assert_eq(rt_count("signin_fail_burst"), 1);
	cr_assert_eq(rt_alert("signin_fail_burst", 0)->id, id);
}

Test(signin_fail_burst, never_alerts_when_disabled)
{
	rt_set("rules.signin_fail_burst.enabled", "false");
	fails(T0, 30, SEC, BAD_PASSWORD);
	cr_assert_eq(nalerts, 0);
	cr_assert_eq(window_count(T0 + MIN), 0, "a disabled rule keeps no counts");
}
