/* test_rule_sent_items_bypass.c - sent_items_bypass: API/SMTP sends that
 * skip Sent Items, deletes from Sent Items after sends; saving clients,
 * unknown SaveToSentItems and deletes without sends are quiet;
 * suppression; ids. */
#include "rules_test.h"

TestSuite(sent_items_bypass, .init = rt_setup, .fini = rt_teardown);

static struct af_event send(int64_t ts, uint32_t flags, const char *app)
{
	struct af_event ev = rt_event(AF_KIND_MAIL_SEND, RT_ACCOUNT, ts, &ASHBURN);

	ev.schema = AF_SCHEMA_M365;
	ev.flags = flags;
	ev.recipient_count = 1;
	snprintf(ev.action, sizeof(ev.action), "Send");
	snprintf(ev.app, sizeof(ev.app), "%s", app);
	rt_run(&ev);
	return ev;
}

static struct af_event delete_sent(int64_t ts)
{
	struct af_event ev = rt_event(AF_KIND_MAIL_DELETE, RT_ACCOUNT, ts, &ASHBURN);

	ev.schema = AF_SCHEMA_M365;
	ev.flags = AF_EV_FROM_SENT_ITEMS;
	snprintf(ev.folder, sizeof(ev.folder), "\\Sent Items");
	rt_run(&ev);
	return ev;
}

#define NOT_SAVED AF_EV_SAVE_SENT_KNOWN
#define SAVED     (AF_EV_SAVE_SENT_KNOWN | AF_EV_SAVE_SENT)

Test(sent_items_bypass, a_rest_send_not_saved_to_sent_items_alerts)
{
	struct af_event ev = send(T0, NOT_SAVED, "Client=REST;Client=RESTSystem;;");

	cr_assert_eq(rt_count("sent_items_bypass"), 1);
	const struct af_alert *a = rt_alert("sent_items_bypass", 0);
	cr_assert_eq(a->severity, AF_SEV_HIGH);
	cr_assert_str_eq(a->evidence[0], ev.record_id);
	cr_assert_str_eq(rt_text(a, "how"), "not_saved");
	cr_assert_str_eq(rt_text(a, "client"), "Client=REST");
	cr_assert_str_eq(a->message, "an@contoso.example sent mail through Client=REST without "
	                             "saving it to Sent Items (client "
	                             "\"Client=REST;Client=RESTSystem;;\").");
}

Test(sent_items_bypass, smtp_clients_match_without_regard_to_case)
{
	send(T0, NOT_SAVED, "Client=smtp");
	cr_assert_eq(rt_count("sent_items_bypass"), 1);
}

Test(sent_items_bypass, a_send_saved_to_sent_items_does_not_alert)
{
	send(T0, SAVED, "Client=REST");
	send(T0 + MIN, SAVED, "Client=OWA");
	cr_assert_eq(nalerts, 0);
}

Test(sent_items_bypass, outlook_not_saving_and_unknown_saving_do_not_alert)
{
	send(T0, NOT_SAVED, "Client=MSExchangeRPC");
	send(T0 + MIN, 0, "Client=REST");
	cr_assert_eq(nalerts, 0);
}

Test(sent_items_bypass, the_client_list_is_configurable)
{
	rt_set("rules.sent_items_bypass.clients", "MSExchangeRPC");
	send(T0, NOT_SAVED, "Client=REST");
	cr_assert_eq(nalerts, 0);
	send(T0 + MIN, NOT_SAVED, "Client=MSExchangeRPC");
	cr_assert_eq(rt_count("sent_items_bypass"), 1);
}

Test(sent_items_bypass, a_delete_from_sent_items_after_a_send_alerts)
{
	send(T0, SAVED, "Client=OWA");
	struct af_event del = delete_sent(T0 + 5 * MIN);

	cr_assert_eq(rt_count("sent_items_bypass"), 1);
	const struct af_alert *a = rt_alert("sent_items_bypass", 0);
	cr_assert_str_eq(a->evidence[0], del.record_id);
	cr_assert_str_eq(rt_text(a, "how"), "deleted_from_sent_items");
	cr_assert_eq(rt_num(a, "sends_in_window"), 1);
	cr_assert_str_eq(a->message, "an@contoso.example deleted mail from Sent Items within 10 "
	                             "minutes of sending 1 message.");
}

Test(sent_items_bypass, a_delete_long_after_the_last_send_does_not_alert)
{
	send(T0, SAVED, "Client=OWA");
	delete_sent(T0 + 3 * HOUR);
	cr_assert_eq(nalerts, 0);
}

Test(sent_items_bypass, does_not_alert_again_within_the_suppression_period)
{
	send(T0, NOT_SAVED, "Client=REST");
	send(T0 + MIN, NOT_SAVED, "Client=REST");
	delete_sent(T0 + 2 * MIN);
	cr_assert_eq(rt_count("sent_items_bypass"), 1);
}

Test(sent_items_bypass, id_is_made_from_the_rule_the_account_and_the_record)
{
	struct af_event ev = send(T0, NOT_SAVED, "Client=REST");

	cr_assert_eq(rt_alert("sent_items_bypass", 0)->id,
	             af_alert_id("sent_items_bypass", RT_ACCOUNT, ev.record_id));
}

Test(sent_items_bypass, a_delete_of_other_folders_does_not_alert)
{
	send(T0, SAVED, "Client=OWA");
	struct af_event ev = rt_event(AF_KIND_MAIL_DELETE, RT_ACCOUNT, T0 + MIN, &ASHBURN);

	snprintf(ev.folder, sizeof(ev.folder), "\\Inbox");
	rt_run(&ev);
	cr_assert_eq(nalerts, 0);
}
