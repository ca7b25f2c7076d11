/* test_rule_inbox_rule_tamper.c - inbox_rule_tamper: rules that delete,
 * hide, mark read or forward outside alert; filing rules and internal
 * forwards do not; suppression; ids from the record. */
#include "rules_test.h"

TestSuite(inbox_rule_tamper, .init = rt_setup, .fini = rt_teardown);

static struct af_event rule_change(int64_t ts, uint32_t flags)
{
	struct af_event ev = rt_event(AF_KIND_INBOX_RULE, RT_ACCOUNT, ts, &ASHBURN);

	ev.schema = AF_SCHEMA_M365;
	ev.flags = flags;
	snprintf(ev.action, sizeof(ev.action), "New-InboxRule");
	rt_run(&ev);
	return ev;
}

Test(inbox_rule_tamper, a_rule_that_deletes_and_marks_read_alerts)
{
	struct af_event ev = rule_change(T0, AF_EV_RULE_DELETE | AF_EV_RULE_MARK_READ);

	cr_assert_eq(rt_count("inbox_rule_tamper"), 1);
	const struct af_alert *a = rt_alert("inbox_rule_tamper", 0);
	cr_assert_eq(a->severity, AF_SEV_MEDIUM);
	cr_assert_str_eq(a->evidence[0], ev.record_id);
	cr_assert_eq(rt_num(a, "deletes"), 1);
	cr_assert_eq(rt_num(a, "marks_read"), 1);
	cr_assert_eq(rt_num(a, "forwards_external"), 0);
	cr_assert_str_eq(rt_text(a, "operation"), "New-InboxRule");
	cr_assert_str_eq(a->message, "an@contoso.example set an inbox rule (New-InboxRule) that "
	                             "deletes mail and marks mail read.");
}

Test(inbox_rule_tamper, moving_to_rss_and_forwarding_outside_alert)
{
	rule_change(T0, AF_EV_RULE_MOVE);
	rt_restart();
	rule_change(T0, AF_EV_FORWARD | AF_EV_FORWARD_EXTERNAL);
	cr_assert_eq(rt_count("inbox_rule_tamper"), 1);
	cr_assert_eq(rt_num(rt_alert("inbox_rule_tamper", 0), "forwards_external"), 1);
}

Test(inbox_rule_tamper, filing_rules_and_internal_forwards_do_not_alert)
{
	rule_change(T0, 0);
	rule_change(T0 + MIN, AF_EV_FORWARD);
	cr_assert_eq(nalerts, 0);
}

Test(inbox_rule_tamper, does_not_alert_again_within_the_suppression_period)
{
	rule_change(T0, AF_EV_RULE_DELETE);
	rule_change(T0 + HOUR, AF_EV_RULE_DELETE);
	cr_assert_eq(rt_count("inbox_rule_tamper"), 1);
	rule_change(T0 + 25 * HOUR, AF_EV_RULE_DELETE);
	cr_assert_eq(rt_count("inbox_rule_tamper"), 2);
}

Test(inbox_rule_tamper, id_is_made_from_the_rule_the_account_and_the_record)
{
	struct af_event ev = rule_change(T0, AF_EV_RULE_DELETE);

	cr_assert_eq(rt_alert("inbox_rule_tamper", 0)->id,
	             af_alert_id("inbox_rule_tamper", RT_ACCOUNT, ev.record_id));
}
