/* test_rule_mass_recipients.c - mass_recipients: distinct recipients from
 * message trace rows; repeated recipients and audit sends do not count;
 * suppression; ids from the window; a bulk sender judged against its own
 * busiest window, which fades. */
#include <math.h>

#include "rules_test.h"

TestSuite(mass_recipients, .init = rt_setup, .fini = rt_teardown);

static struct af_event trace_row(int64_t ts, unsigned rcpt)
{
	struct af_event ev = rt_event(AF_KIND_MAIL_SEND, RT_ACCOUNT, ts, &ASHBURN);

	ev.schema = AF_SCHEMA_MSGTRACE;
	snprintf(ev.recipient, sizeof(ev.recipient), "Person%u@Example.org", rcpt);
	rt_run(&ev);
	return ev;
}

Test(mass_recipients, the_threshold_of_distinct_recipients_alerts)
{
	/* Few enough to be counted exactly. */
	rt_set("rules.mass_recipients.threshold", "10");
	rt_set("rules.mass_recipients.peak_factor", "0");
	for (unsigned i = 0; i < 9; i++)
		trace_row(T0 + i * 10 * SEC, i);
	cr_assert_eq(rt_count("mass_recipients"), 0);
	struct af_event ev = trace_row(T0 + 1000 * SEC, 9);

	cr_assert_eq(rt_count("mass_recipients"), 1);
	const struct af_alert *a = rt_alert("mass_recipients", 0);
	cr_assert_eq(a->severity, AF_SEV_MEDIUM);
	cr_assert_str_eq(a->evidence[0], ev.record_id);
	cr_assert_eq(rt_num(a, "recipients"), 10);
	cr_assert_eq(rt_num(a, "threshold"), 10);
	cr_assert_str_eq(
	    a->message,
	    "an@contoso.example sent mail to 10 distinct recipients within 60 minutes; its bar "
	    "is 10 (the threshold).");
}

Test(mass_recipients, three_hundred_harvested_addresses_alert_by_default)
{
	for (unsigned i = 0; i < 300; i++)
		trace_row(T0 + i * 10 * SEC, i);
	cr_assert_eq(rt_count("mass_recipients"), 1);
	cr_assert_geq(rt_num(rt_alert("mass_recipients", 0), "recipients"), 100);
}

Test(mass_recipients, many_mails_to_a_few_people_do_not_alert)
{
	for (unsigned i = 0; i < 500; i++)
		trace_row(T0 + i * SEC, i % 20);
	cr_assert_eq(nalerts, 0);
}

Test(mass_recipients, addresses_are_compared_without_regard_to_case)
{
	struct af_event ev;

	rt_set("rules.mass_recipients.threshold", "2");
	trace_row(T0, 1);
	ev = rt_event(AF_KIND_MAIL_SEND, RT_ACCOUNT, T0 + SEC, &ASHBURN);
	ev.schema = AF_SCHEMA_MSGTRACE;
	snprintf(ev.recipient, sizeof(ev.recipient), "person1@example.ORG");
	rt_run(&ev);
	cr_assert_eq(nalerts, 0);
}

Test(mass_recipients, does_not_alert_again_within_the_suppression_period)
{
	rt_set("rules.mass_recipients.threshold", "10");
	for (unsigned i = 0; i < 50; i++)
		trace_row(T0 + i * SEC, i);
	cr_assert_eq(rt_count("mass_recipients"), 1);
}

Test(mass_recipients, id_is_made_from_the_rule_the_account_and_the_window)
{
	char start[32];

	rt_set("rules.mass_recipients.threshold", "10");
	for (unsigned i = 0; i < 10; i++)
		trace_row(T0 + i * SEC, i);
	snprintf(start, sizeof(start), "%" PRId64, (T0 / HOUR - 1) * HOUR);
	cr_assert_eq(rt_alert("mass_recipients", 0)->id,
	             af_alert_id("mass_recipients", RT_ACCOUNT, start));
}

/* n distinct recipients (numbered from first) spread over the hour at h. */
static void hour_of_rows(int64_t h, unsigned first, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		trace_row(h + (int64_t)i * (HOUR / n), first + i);
}

/* A working day of a newsletter: 8 hours of 150 new subscribers each. */
static void newsletter_day(int64_t day_start, unsigned first)
{
	for (unsigned h = 0; h < 8; h++)
		hour_of_rows(day_start + h * HOUR, first + h * 150, 150);
}

Test(mass_recipients, a_steady_bulk_sender_is_judged_against_its_busiest_window)
{
	newsletter_day(T0, 0);
	cr_assert_eq(rt_count("mass_recipients"), 1, "its first day: nothing known yet");
	newsletter_day(T0 + DAY + HOUR, 10000);
	cr_assert_eq(rt_count("mass_recipients"), 1, "a day like the others");

	hour_of_rows(T0 + 2 * DAY + 2 * HOUR, 20000, 500);
	cr_assert_eq(rt_count("mass_recipients"), 2, "far above its busiest hour");
	const struct af_alert *a = rt_alert("mass_recipients", 1);
	cr_assert_eq(rt_num(a, "threshold"), ceil(3 * rt_num(a, "peak")));
	cr_assert_geq(rt_num(a, "peak"), 140);
	cr_assert(strstr(a->message, "(its busiest window times the margin)") != NULL, "%s",
	          a->message);
}

Test(mass_recipients, the_busiest_window_fades_with_its_half_life)
{
	newsletter_day(T0, 0);
	/* Eight weeks later the peak is 150 / 2^8: the threshold rules again. */
	hour_of_rows(T0 + 56 * DAY, 10000, 120);
	cr_assert_eq(rt_count("mass_recipients"), 2);
	cr_assert_eq(rt_num(rt_alert("mass_recipients", 1), "threshold"), 100);
}

Test(mass_recipients, a_peak_factor_of_zero_keeps_the_threshold_alone)
{
	rt_set("rules.mass_recipients.peak_factor", "0");
	newsletter_day(T0, 0);
	newsletter_day(T0 + DAY + HOUR, 10000);
	cr_assert_eq(rt_count("mass_recipients"), 2);
}

Test(mass_recipients, the_windows_being_counted_do_not_raise_their_own_bar)
{
	/* 60 new addresses an hour: the second hour's count of two windows
	 * crosses the threshold before either window is part of the peak. */
	hour_of_rows(T0, 0, 60);
	hour_of_rows(T0 + HOUR, 1000, 60);
	cr_assert_eq(rt_count("mass_recipients"), 1);
	cr_assert_eq(rt_num(rt_alert("mass_recipients", 0), "threshold"), 100);
}
