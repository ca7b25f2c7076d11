/* test_rule_mass_recipients.c - mass_recipients: distinct recipients from
 * message trace rows; repeated recipients and audit sends do not count;
 * suppression; ids from the window. */
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
	    "an@contoso.example sent mail to 10 distinct recipients within 60 minutes.");
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
