/* test_rule_mailbox_forwarding.c - mailbox_forwarding: forwarding to
 * another domain alerts, internal forwarding does not; suppression; ids. */
#include "rules_test.h"

TestSuite(mailbox_forwarding, .init = rt_setup, .fini = rt_teardown);

static struct af_event forward(int64_t ts, uint32_t flags, const char *to)
{
	struct af_event ev = rt_event(AF_KIND_MAILBOX_FORWARD, RT_ACCOUNT, ts, &ASHBURN);

	ev.schema = AF_SCHEMA_M365;
	ev.flags = flags;
	snprintf(ev.action, sizeof(ev.action), "Set-Mailbox");
	snprintf(ev.recipient, sizeof(ev.recipient), "%s", to);
	rt_run(&ev);
	return ev;
}

Test(mailbox_forwarding, forwarding_to_an_external_address_alerts)
{
	struct af_event ev =
	    forward(T0, AF_EV_FORWARD | AF_EV_FORWARD_EXTERNAL, "drop@evil.example");

	cr_assert_eq(rt_count("mailbox_forwarding"), 1);
	const struct af_alert *a = rt_alert("mailbox_forwarding", 0);
	cr_assert_eq(a->severity, AF_SEV_HIGH);
	cr_assert_str_eq(a->evidence[0], ev.record_id);
	cr_assert_str_eq(rt_text(a, "forward_to"), "drop@evil.example");
	cr_assert_str_eq(a->message, "an@contoso.example's mailbox now forwards its mail to an "
	                             "external address drop@evil.example.");
}

Test(mailbox_forwarding, an_internal_forward_does_not_alert)
{
	forward(T0, AF_EV_FORWARD, "assistant@contoso.example");
	forward(T0 + MIN, 0, "");
	cr_assert_eq(nalerts, 0);
}

Test(mailbox_forwarding, does_not_alert_again_within_the_suppression_period)
{
	forward(T0, AF_EV_FORWARD | AF_EV_FORWARD_EXTERNAL, "a@evil.example");
	forward(T0 + HOUR, AF_EV_FORWARD | AF_EV_FORWARD_EXTERNAL, "b@evil.example");
	cr_assert_eq(rt_count("mailbox_forwarding"), 1);
}

Test(mailbox_forwarding, id_is_made_from_the_rule_the_account_and_the_record)
{
	struct af_event ev = forward(T0, AF_EV_FORWARD | AF_EV_FORWARD_EXTERNAL, "a@evil.example");

	cr_assert_eq(rt_alert("mailbox_forwarding", 0)->id,
	             af_alert_id("mailbox_forwarding", RT_ACCOUNT, ev.record_id));
}
