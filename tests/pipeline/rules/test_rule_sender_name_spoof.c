/* test_rule_sender_name_spoof.c - sender_name_spoof: recipients named like
 * the sender, many recipients sharing one name; ordinary sends and small
 * shared names are quiet; suppression; ids from the name. */
#include "rules_test.h"

TestSuite(sender_name_spoof, .init = rt_setup, .fini = rt_teardown);

static struct af_event send(int64_t ts, uint32_t flags, uint64_t rcpt_name, uint32_t rcpts)
{
	struct af_event ev = rt_event(AF_KIND_MAIL_SEND, RT_ACCOUNT, ts, &ASHBURN);

	ev.schema = AF_SCHEMA_M365;
	ev.flags = flags;
	ev.name_hash = 0x1111;
	ev.rcpt_name_hash = rcpt_name;
	ev.recipient_count = rcpts;
	rt_run(&ev);
	return ev;
}

Test(sender_name_spoof, recipients_named_like_the_sender_alert)
{
	struct af_event ev = send(T0, AF_EV_NAME_SELF, 0x1111, 300);

	cr_assert_eq(rt_count("sender_name_spoof"), 1);
	const struct af_alert *a = rt_alert("sender_name_spoof", 0);
	cr_assert_eq(a->severity, AF_SEV_HIGH);
	cr_assert_str_eq(a->evidence[0], ev.record_id);
	cr_assert_str_eq(rt_text(a, "how"), "sender_name");
	cr_assert_eq(rt_num(a, "recipients"), 300);
	cr_assert_str_eq(a->message, "an@contoso.example sent mail to 300 recipients named with "
	                             "the sender's own display name.");
}

Test(sender_name_spoof, a_shared_name_matching_the_sender_without_the_flag_alerts)
{
	send(T0, 0, 0x1111, 1);
	cr_assert_eq(rt_count("sender_name_spoof"), 1);
	cr_assert_str_eq(rt_text(rt_alert("sender_name_spoof", 0), "how"), "sender_name");
}

Test(sender_name_spoof, many_recipients_sharing_one_foreign_name_alert)
{
	send(T0, 0, 0x2222, 5);
	cr_assert_eq(rt_count("sender_name_spoof"), 1);
	cr_assert_str_eq(rt_text(rt_alert("sender_name_spoof", 0), "how"), "shared_name");
}

Test(sender_name_spoof, ordinary_sends_do_not_alert)
{
	send(T0, 0, 0, 40);           /* recipients with their own names */
	send(T0 + MIN, 0, 0x2222, 4); /* a few sharing one name */
	cr_assert_eq(nalerts, 0);
}

Test(sender_name_spoof, does_not_alert_again_within_the_suppression_period)
{
	send(T0, AF_EV_NAME_SELF, 0x1111, 10);
	send(T0 + HOUR, 0, 0x2222, 10);
	cr_assert_eq(rt_count("sender_name_spoof"), 1);
}

Test(sender_name_spoof, id_is_made_from_the_shared_name)
{
	send(T0, 0, 0x2222, 10);
	cr_assert_eq(rt_alert("sender_name_spoof", 0)->id,
	             af_alert_id("sender_name_spoof", RT_ACCOUNT, "0000000000002222"));
	rt_restart();
	send(T0, AF_EV_NAME_SELF, 0x1111, 10);
	cr_assert_eq(rt_alert("sender_name_spoof", 0)->id,
	             af_alert_id("sender_name_spoof", RT_ACCOUNT, "self"));
}
