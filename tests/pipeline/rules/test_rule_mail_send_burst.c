/* test_rule_mail_send_burst.c - mail_send_burst: the floor, the account's
 * own baseline (a steady bulk sender is quiet, a burst above its usual
 * rate is not), message trace rows not counted, suppression, ids from the
 * window start. */
#include "rules_test.h"

TestSuite(mail_send_burst, .init = rt_setup, .fini = rt_teardown);

static struct af_event send_as(int64_t ts, uint8_t schema)
{
	struct af_event ev = rt_event(AF_KIND_MAIL_SEND, RT_ACCOUNT, ts, &ASHBURN);

	ev.schema = schema;
	ev.recipient_count = 1;
	rt_run(&ev);
	return ev;
}

/* n audit sends, one every step from ts on. */
static void sends(int64_t ts, unsigned n, int64_t step)
{
	for (unsigned i = 0; i < n; i++)
		send_as(ts + (int64_t)i * step, AF_SCHEMA_M365);
}

Test(mail_send_burst, twenty_sends_within_ten_minutes_alert)
{
	sends(T0, 19, 30 * SEC);
	cr_assert_eq(nalerts, 0);
	struct af_event ev = send_as(T0 + 19 * 30 * SEC, AF_SCHEMA_M365);

	cr_assert_eq(rt_count("mail_send_burst"), 1);
	const struct af_alert *a = rt_alert("mail_send_burst", 0);
	cr_assert_eq(a->severity, AF_SEV_MEDIUM);
	cr_assert_str_eq(a->evidence[0], ev.record_id);
	cr_assert_eq(rt_num(a, "count"), 20);
	cr_assert_eq(rt_num(a, "threshold"), 20);
	cr_assert_eq(rt_num(a, "window_minutes"), 10);
	cr_assert_str_eq(a->message, "an@contoso.example sent 20 messages within 10 minutes; its "
	                             "bar is 20 (the floor).");
}

Test(mail_send_burst, a_few_sends_an_hour_never_alert)
{
	sends(T0, 200, 5 * MIN);
	cr_assert_eq(nalerts, 0);
}

Test(mail_send_burst, message_trace_rows_are_not_sends)
{
	for (int i = 0; i < 300; i++)
		send_as(T0 + i * SEC, AF_SCHEMA_MSGTRACE);
	cr_assert_eq(nalerts, 0);
}

Test(mail_send_burst, a_steady_bulk_sender_is_judged_against_its_own_rate)
{
	/* 120 an hour for three days (20 every 10 minutes): the first hour
	 * alerts against the floor while nothing is known; once the baseline
	 * holds a day, its usual rate is no burst. */
	sends(T0, 72 * 120, 30 * SEC);
	cr_assert_eq(rt_count("mail_send_burst"), 1);
	cr_assert_eq(rt_alert("mail_send_burst", 0)->ts_ns, T0 + 19 * 30 * SEC);
}

Test(mail_send_burst, a_bulk_sender_far_above_its_own_rate_alerts)
{
	sends(T0, 48 * 120, 30 * SEC);
	cr_assert_eq(rt_count("mail_send_burst"), 1);
	sends(T0 + 48 * HOUR, 600, SEC);
	cr_assert_eq(rt_count("mail_send_burst"), 2);
	const struct af_alert *a = rt_alert("mail_send_burst", 1);
	cr_assert_gt(rt_num(a, "threshold"), 120);
	cr_assert_lt(rt_num(a, "threshold"), 400);
	cr_assert(strstr(a->message, "its usual rate plus margin") != NULL);
}

Test(mail_send_burst, does_not_alert_again_within_the_suppression_period)
{
	sends(T0, 60, 10 * SEC);
	sends(T0 + 2 * HOUR, 60, 10 * SEC);
	cr_assert_eq(rt_count("mail_send_burst"), 1);
}

Test(mail_send_burst, id_is_made_from_the_rule_the_account_and_the_window_start)
{
	char start[32];

	/* Buckets are a minute: the first send's starts at T0. */
	sends(T0 + 30 * SEC, 20, 10 * SEC);
	snprintf(start, sizeof(start), "%" PRId64, T0);
	cr_assert_eq(rt_alert("mail_send_burst", 0)->id,
	             af_alert_id("mail_send_burst", RT_ACCOUNT, start));
}

Test(mail_send_burst, never_alerts_when_disabled)
{
	rt_set("rules.mail_send_burst.enabled", "false");
	sends(T0, 100, SEC);
	cr_assert_eq(nalerts, 0);
	cr_assert_eq(acct.sends.newest, INT64_MIN, "a disabled rule keeps no counts");
}

Test(mail_send_burst, floor_and_window_are_configurable)
{
	rt_set("rules.mail_send_burst.floor", "5");
	rt_set("rules.mail_send_burst.window", "30m");
	sends(T0, 5, 5 * MIN);
	cr_assert_eq(rt_count("mail_send_burst"), 1);
	cr_assert_eq(rt_num(rt_alert("mail_send_burst", 0), "window_minutes"), 30);
}
