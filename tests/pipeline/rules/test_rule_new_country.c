/* test_rule_new_country.c - new_country: the alert, the learning period,
 * history expiry, suppression with learning going on, deterministic ids,
 * and the places that are not a new country. */
#include "rules_test.h"

TestSuite(new_country, .init = rt_setup, .fini = rt_teardown);

/* new_country alerts raised for the country cc. */
static size_t alerts_for(const char *cc)
{
	size_t n = 0;

	for (size_t i = 0; i < rt_count("new_country"); i++)
		n += strcmp(rt_text(rt_alert("new_country", i), "country"), cc) == 0;
	return n;
}

Test(new_country, fires_for_a_country_the_account_has_not_used)
{
	rt_history(&HANOI);
	struct af_event ev = rt_signin(T0, &ASHBURN);

	/* new_country and new_asn; impossible_travel not: a day after Hanoi. */
	cr_assert_eq(nalerts, 2);
	cr_assert_eq(rt_count("new_country"), 1);
	const struct af_alert *a = rt_alert("new_country", 0);
	cr_assert_str_eq(a->account, RT_ACCOUNT);
	cr_assert_eq(a->severity, AF_SEV_HIGH);
	cr_assert_eq(a->ts_ns, T0);
	cr_assert_str_eq(a->geo.country, "US");
	cr_assert_eq(memcmp(&a->src, &ev.src, sizeof(a->src)), 0);
	cr_assert_str_eq(rt_text(a, "country"), "US");
	cr_assert_eq(rt_num(a, "known_countries"), 1);
	cr_assert_eq(rt_num(a, "asn"), 64511);
	cr_assert_eq(a->nevidence, 1);
	cr_assert_str_eq(a->evidence[0], ev.record_id);
	cr_assert_str_eq(a->message, "an@contoso.example signed in from US (Ashburn, AS64511 "
	                             "Example Hosting LLC) for the first time; seen before: VN.");
}

Test(new_country, is_quiet_for_a_country_the_account_knows)
{
	rt_history(&HANOI);
	rt_signin(T0, &HANOI);
	cr_assert_eq(nalerts, 0);
}

Test(new_country, lists_up_to_four_known_countries_most_recent_first)
{
	const struct rt_place *seen[] = {&HANOI, &FRANKFURT, &TOKYO};
	struct rt_place fr = rt_at("192.0.2.200", "FR", 48.8566, 2.3522, 20, 64498);
	struct rt_place gb = rt_at("198.18.7.1", "GB", 51.5072, -0.1276, 20, 64499);

	for (int i = 0; i < 12; i++)
		rt_signin(T0 - (40 - i) * DAY, seen[i % 3]);
	rt_signin(T0 - 5 * DAY, &fr);
	rt_signin(T0 - 3 * DAY, &gb);
	rt_signin(T0, &ASHBURN);
	const struct af_alert *a = rt_alert("new_country", rt_count("new_country") - 1);
	cr_assert_str_eq(rt_text(a, "country"), "US");
	cr_assert_eq(rt_num(a, "known_countries"), 5);
	cr_assert(strstr(a->message, "seen before: GB, FR, JP, DE and 1 more.") != NULL, "%s",
	          a->message);
}

Test(new_country, stays_quiet_while_the_account_is_learning)
{
	rt_signins(T0 - HOUR, &HANOI, 9, MIN);
	rt_signin(T0, &ASHBURN);
	cr_assert_eq(rt_count("new_country"), 0);
	cr_assert_eq(nalerts, 0);
}

Test(new_country, learning_needs_ten_successful_signins)
{
	rt_signins(T0 - 9 * DAY, &HANOI, 9, DAY);
	rt_signin(T0, &ASHBURN); /* the tenth: judged before it is learned */
	cr_assert_eq(rt_count("new_country"), 0);
	rt_signin(T0 + HOUR, &TOKYO);
	cr_assert_eq(rt_count("new_country"), 1);
	cr_assert_str_eq(rt_text(rt_alert("new_country", 0), "country"), "JP");
}

Test(new_country, ten_signins_in_the_first_hour_do_not_end_the_learning)
{
	/* A busy account's first morning, before its evening or weekend. */
	rt_signins(T0 - HOUR, &HANOI, 30, MIN);
	rt_signin(T0, &ASHBURN);
	cr_assert_eq(rt_count("new_country"), 0);
}

Test(new_country, failed_signins_do_not_shorten_the_learning)
{
	for (int i = 0; i < 20; i++)
		rt_fail(T0 - 8 * DAY + i * MIN, RT_ACCOUNT, &HANOI, 50126);
	rt_signins(T0 - 9 * HOUR, &HANOI, 9, HOUR);
	rt_signin(T0, &ASHBURN);
	cr_assert_eq(rt_count("new_country"), 0);
}

Test(new_country, learning_ends_seven_days_after_the_account_was_first_seen)
{
	rt_signins(T0 - 7 * DAY, &HANOI, 10, MIN);
	rt_signin(T0 - 1, &FRANKFURT); /* 1 ns short of seven days: still learning */
	cr_assert_eq(rt_count("new_country"), 0);
	rt_signin(T0, &TOKYO);
	cr_assert_eq(rt_count("new_country"), 1);
	cr_assert_str_eq(rt_text(rt_alert("new_country", 0), "country"), "JP");
}

Test(new_country, learning_days_and_signins_are_configurable)
{
	rt_set("rules.learning_days", "30");
	rt_set("rules.learning_signins", "50");
	rt_history(&HANOI); /* 12 sign-ins over 12 days: still learning */
	rt_signin(T0, &ASHBURN);
	cr_assert_eq(nalerts, 0);
}

Test(new_country, needs_one_successful_signin_even_after_the_learning_days)
{
	rt_fail(T0 - 30 * DAY, RT_ACCOUNT, &HANOI, 50126);
	rt_signin(T0, &ASHBURN);
	cr_assert_eq(rt_count("new_country"), 0);
}

Test(new_country, forgets_a_country_not_seen_within_the_history)
{
	rt_signin(T0 - 100 * DAY, &FRANKFURT);
	rt_history(&HANOI);
	cr_assert_eq(alerts_for("DE"), 0);
	rt_signin(T0, &FRANKFURT);
	cr_assert_eq(alerts_for("DE"), 1);
}

Test(new_country, remembers_a_country_seen_within_the_history)
{
	rt_signin(T0 - 89 * DAY, &FRANKFURT);
	rt_history(&HANOI);
	rt_signin(T0, &FRANKFURT);
	cr_assert_eq(alerts_for("DE"), 0);
}

Test(new_country, history_is_configurable)
{
	rt_set("rules.history", "30d");
	rt_signin(T0 - 31 * DAY, &FRANKFURT);
	rt_history(&HANOI);
	rt_signin(T0, &FRANKFURT);
	cr_assert_eq(alerts_for("DE"), 1);
}

Test(new_country, mobile_churn_within_one_country_is_not_a_new_location)
{
	rt_history(&HANOI);
	/* A carrier's addresses all over the country, a new /24 each time. */
	for (int i = 0; i < 20; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "198.18.%d.7", i);
		struct rt_place p = rt_at(ip, "VN", 10.0 + i * 0.5, 106.0 + (i % 3), 100, 64500);
		rt_signin(T0 + i * 5 * MIN, &p);
	}
	cr_assert_eq(nalerts, 0);
}

Test(new_country, ignores_unknown_countries_and_internal_addresses)
{
	struct rt_place unknown = rt_at("198.18.0.1", "", 0, 0, 0, 0);
	struct rt_place internal = rt_at("10.1.2.3", "", 0, 0, 0, 0);

	internal.flags = AF_GEO_INTERNAL;
	rt_history(&HANOI);
	rt_signin(T0, &unknown);
	rt_signin(T0 + MIN, &internal);
	cr_assert_eq(nalerts, 0);
}

Test(new_country, does_not_alert_again_within_the_suppression_period_but_keeps_learning)
{
	struct rt_place nl = rt_at("198.18.9.9", "NL", 52.3676, 4.9041, 20, 64511);

	rt_history(&HANOI);
	rt_signin(T0, &ASHBURN);
	cr_assert_eq(rt_count("new_country"), 1);
	rt_signin(T0 + 23 * HOUR, &nl);
	cr_assert_eq(rt_count("new_country"), 1, "suppressed");
	cr_assert(af_account_knows_country(&acct, &cfg.rules, "NL", T0 + 23 * HOUR),
	          "learned while suppressed");
	rt_signin(T0 + 24 * HOUR + MIN, &TOKYO);
	cr_assert_eq(rt_count("new_country"), 2);
	cr_assert_str_eq(rt_text(rt_alert("new_country", 1), "country"), "JP");
	cr_assert_eq(rt_num(rt_alert("new_country", 1), "known_countries"), 3);
}

Test(new_country, suppression_is_configurable_per_rule)
{
	rt_set("rules.new_country.suppression", "1h");
	rt_history(&HANOI);
	rt_signin(T0, &ASHBURN);
	rt_signin(T0 + 59 * MIN, &FRANKFURT);
	cr_assert_eq(rt_count("new_country"), 1);
	rt_signin(T0 + 61 * MIN, &TOKYO);
	cr_assert_eq(rt_count("new_country"), 2);
}

Test(new_country, id_is_made_from_the_rule_the_account_and_the_country)
{
	rt_history(&HANOI);
	rt_signin(T0, &ASHBURN);
	cr_assert_eq(rt_alert("new_country", 0)->id, af_alert_id("new_country", RT_ACCOUNT, "US"));
}

Test(new_country, the_same_sequence_gives_the_same_ids)
{
	uint64_t first[RT_ALERTS_MAX];
	size_t n;

	rt_history(&HANOI);
	rt_signin(T0, &ASHBURN);
	rt_signin(T0 + 2 * DAY, &TOKYO);
	n = nalerts;
	for (size_t i = 0; i < n; i++)
		first[i] = alerts[i].id;
	rt_restart();
	rt_history(&HANOI);
	rt_signin(T0, &ASHBURN);
	rt_signin(T0 + 2 * DAY, &TOKYO);
	cr_assert_eq(nalerts, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(alerts[i].id, first[i]);
}

Test(new_country, the_id_depends_on_the_country_not_on_what_came_before)
{
	uint64_t id;

	rt_history(&HANOI);
	rt_signin(T0, &ASHBURN);
	id = rt_alert("new_country", 0)->id;
	rt_restart();
	/* Another history, other record ids, another time. */
	rt_signins(T0 - 30 * DAY, &FRANKFURT, 15, HOUR);
	rt_signin(T0 + 5 * DAY, &ASHBURN);
	cr_assert_eq(rt_alert("new_country", 0)->id, id);
}

Test(new_country, marks_the_signin_as_anomalous_for_account_takeover)
{
	rt_history(&HANOI);
	struct af_event ev = rt_signin(T0, &FRANKFURT);
	const struct af_alert *a = rt_alert("new_country", 0);

	cr_assert_eq(acct.anomaly_min, (uint32_t)(T0 / MIN));
	cr_assert_eq(acct.anomaly_rule, AF_RULE_NEW_COUNTRY);
	cr_assert_eq(cold.anomaly_alert, a->id);
	cr_assert_str_eq(cold.anomaly_record, ev.record_id);
}

Test(new_country, never_alerts_when_disabled)
{
	rt_set("rules.new_country.enabled", "false");
	rt_history(&HANOI);
	rt_signin(T0, &FRANKFURT);
	cr_assert_eq(rt_count("new_country"), 0);
	cr_assert_eq(rt_count("new_asn"), 1);
}
