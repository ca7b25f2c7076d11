/* test_rule_account_takeover.c - account_takeover: an anomalous sign-in
 * followed within a day by a mail alert; mail alerts alone, late ones, and
 * mail events that raise nothing are quiet; once per anomaly; ids from the
 * anomaly. */
#include "rules_test.h"

TestSuite(account_takeover, .init = rt_setup, .fini = rt_teardown);

static struct af_event mail_event(enum af_kind kind, int64_t ts, uint32_t flags)
{
	struct af_event ev = rt_event(kind, RT_ACCOUNT, ts, &ASHBURN);

	ev.schema = AF_SCHEMA_M365;
	ev.flags = flags;
	snprintf(ev.action, sizeof(ev.action), "New-InboxRule");
	rt_run(&ev);
	return ev;
}

/* A familiar history in Germany, then a sign-in from Vietnam (new_country). */
static struct af_event anomaly(void)
{
	rt_history(&FRANKFURT);
	struct af_event ev = rt_signin(T0, &HANOI);

	cr_assert_eq(rt_count("new_country"), 1);
	return ev;
}

Test(account_takeover, an_anomalous_signin_then_an_inbox_rule_alert_is_a_takeover)
{
	struct af_event in = anomaly();
	struct af_event rule = mail_event(AF_KIND_INBOX_RULE, T0 + 2 * HOUR, AF_EV_RULE_DELETE);

	cr_assert_eq(rt_count("account_takeover"), 1);
	const struct af_alert *a = rt_alert("account_takeover", 0);
	cr_assert_eq(a->severity, AF_SEV_CRITICAL);
	cr_assert_eq(a->nevidence, 2);
	cr_assert_str_eq(a->evidence[0], rule.record_id);
	cr_assert_str_eq(a->evidence[1], in.record_id);
	cr_assert_str_eq(rt_text(a, "anomaly"), "new_country");
	cr_assert_str_eq(rt_text(a, "mail_alert"), "inbox_rule_tamper");
	cr_assert_eq(rt_num(a, "minutes_after"), 120);
	cr_assert_str_eq(a->message, "an@contoso.example: new_country followed 2.0 hours by "
	                             "inbox_rule_tamper: the account is likely taken over.");
}

Test(account_takeover, a_mail_alert_without_an_anomaly_is_no_takeover)
{
	rt_history(&FRANKFURT);
	rt_signin(T0, &FRANKFURT);
	mail_event(AF_KIND_INBOX_RULE, T0 + HOUR, AF_EV_RULE_DELETE);
	cr_assert_eq(rt_count("inbox_rule_tamper"), 1);
	cr_assert_eq(rt_count("account_takeover"), 0);
}

Test(account_takeover, a_mail_event_that_raises_nothing_is_no_takeover)
{
	anomaly();
	mail_event(AF_KIND_INBOX_RULE, T0 + HOUR, 0);
	mail_event(AF_KIND_MAILBOX_FORWARD, T0 + HOUR, AF_EV_FORWARD);
	cr_assert_eq(rt_count("account_takeover"), 0);
}

Test(account_takeover, a_mail_alert_more_than_a_day_later_is_no_takeover)
{
	anomaly();
	mail_event(AF_KIND_MAILBOX_FORWARD, T0 + 25 * HOUR, AF_EV_FORWARD | AF_EV_FORWARD_EXTERNAL);
	cr_assert_eq(rt_count("mailbox_forwarding"), 1);
	cr_assert_eq(rt_count("account_takeover"), 0);
}

Test(account_takeover, is_raised_once_per_anomaly)
{
	rt_set("rules.account_takeover.suppression", "1m");
	anomaly();
	mail_event(AF_KIND_INBOX_RULE, T0 + HOUR, AF_EV_RULE_DELETE);
	mail_event(AF_KIND_MAILBOX_FORWARD, T0 + 2 * HOUR, AF_EV_FORWARD | AF_EV_FORWARD_EXTERNAL);
	cr_assert_eq(rt_count("mailbox_forwarding"), 1);
	cr_assert_eq(rt_count("account_takeover"), 1);
}

Test(account_takeover, id_is_derived_from_the_anomaly)
{
	char trigger[24];
	uint64_t id;

	anomaly();
	mail_event(AF_KIND_INBOX_RULE, T0 + HOUR, AF_EV_RULE_DELETE);
	snprintf(trigger, sizeof(trigger), "%016" PRIx64, rt_alert("new_country", 0)->id);
	id = rt_alert("account_takeover", 0)->id;
	cr_assert_eq(id, af_alert_id("account_takeover", RT_ACCOUNT, trigger));
	/* Another mail alert completing the same chain gives the same id. */
	rt_restart();
	anomaly();
	mail_event(AF_KIND_MAILBOX_FORWARD, T0 + 3 * HOUR, AF_EV_FORWARD | AF_EV_FORWARD_EXTERNAL);
	cr_assert_eq(rt_alert("account_takeover", 0)->id, id);
}

Test(account_takeover, a_mail_alert_before_the_anomaly_is_no_takeover)
{
	rt_history(&FRANKFURT);
	mail_event(AF_KIND_INBOX_RULE, T0 - HOUR, AF_EV_RULE_DELETE);
	rt_signin(T0, &HANOI);
	cr_assert_eq(rt_count("inbox_rule_tamper"), 1);
	cr_assert_eq(rt_count("account_takeover"), 0);
}

Test(account_takeover, never_alerts_when_disabled)
{
	rt_set("rules.account_takeover.enabled", "false");
	anomaly();
	mail_event(AF_KIND_INBOX_RULE, T0 + HOUR, AF_EV_RULE_DELETE);
	cr_assert_eq(rt_count("inbox_rule_tamper"), 1);
	cr_assert_eq(rt_count("account_takeover"), 0);
}
