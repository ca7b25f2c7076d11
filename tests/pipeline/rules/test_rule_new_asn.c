/* test_rule_new_asn.c - new_asn: the alert and its severity by the kind of
 * network, the learning period, carrier churn, suppression with learning
 * going on, forgetting, and deterministic ids. */
#include "rules_test.h"

TestSuite(new_asn, .init = rt_setup, .fini = rt_teardown);

/* A German ISP the account never used: an ordinary network. */
static const struct rt_place BERLIN = {
    .ip = "198.18.20.5",
    .cc = "DE",
    .city = "Berlin",
    .lat = 52.52,
    .lon = 13.405,
    .radius_km = 20,
    .asn = 64499,
    .as_org = "Example DE Broadband",
};

Test(new_asn, fires_with_low_severity_for_an_ordinary_network_never_seen)
{
	rt_history(&FRANKFURT);
	struct af_event ev = rt_signin(T0, &BERLIN);

	cr_assert_eq(nalerts, 1);
	const struct af_alert *a = rt_alert("new_asn", 0);
	cr_assert_eq(a->severity, AF_SEV_LOW);
	cr_assert_str_eq(a->account, RT_ACCOUNT);
	cr_assert_eq(rt_num(a, "asn"), 64499);
	cr_assert_str_eq(rt_text(a, "as_org"), "Example DE Broadband");
	cr_assert_str_eq(rt_text(a, "country"), "DE");
	cr_assert_eq(rt_num(a, "known_asns"), 1);
	cr_assert_not(rt_has_obs(a, "risk"));
	cr_assert_str_eq(a->evidence[0], ev.record_id);
	cr_assert_str_eq(a->message, "an@contoso.example signed in from AS64499 Example DE "
	                             "Broadband in DE for the first time; seen before: AS64496.");
}

Test(new_asn, raises_the_severity_for_a_hosting_network)
{
	rt_history(&HANOI);
	rt_signin(T0, &ASHBURN);

	const struct af_alert *a = rt_alert("new_asn", 0);
	cr_assert_eq(a->severity, AF_SEV_HIGH);
	cr_assert_str_eq(rt_text(a, "risk"), "hosting, anonymous");
	cr_assert_str_eq(a->message,
	                 "an@contoso.example signed in from AS64511 Example Hosting LLC (hosting, "
	                 "anonymous) in US for the first time; seen before: AS64500.");
}

Test(new_asn, raises_the_severity_for_vpn_proxy_and_tor_exits)
{
	const uint32_t flags[] = {AF_GEO_VPN, AF_GEO_PROXY, AF_GEO_TOR, AF_GEO_ANONYMOUS};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		struct rt_place p = BERLIN;

		p.asn = 64600 + (uint32_t)i;
		p.flags = flags[i];
		rt_restart();
		rt_history(&FRANKFURT);
		rt_signin(T0, &p);
		cr_assert_eq(rt_alert("new_asn", 0)->severity, AF_SEV_HIGH, "flag %#x", flags[i]);
	}
}

Test(new_asn, both_severities_are_configurable)
{
	rt_set("rules.new_asn.severity", "medium");
	rt_set("rules.new_asn.severity_risky", "critical");
	rt_history(&FRANKFURT);
	rt_signin(T0, &BERLIN);
	rt_signin(T0 + 2 * DAY, &ASHBURN);
	cr_assert_eq(rt_alert("new_asn", 0)->severity, AF_SEV_MEDIUM);
	cr_assert_eq(rt_alert("new_asn", 1)->severity, AF_SEV_CRITICAL);
}

Test(new_asn, marks_only_a_risky_signin_as_anomalous)
{
	rt_history(&FRANKFURT);
	rt_signin(T0, &BERLIN);
	cr_assert_eq(acct.anomaly_min, 0);
	struct af_event ev = rt_signin(T0 + 2 * DAY, &ASHBURN);
	cr_assert_eq(acct.anomaly_min, (uint32_t)((T0 + 2 * DAY) / MIN));
	/* new_country (US) and new_asn both mark it; new_asn runs last. */
	cr_assert_eq(acct.anomaly_rule, AF_RULE_NEW_ASN);
	cr_assert_eq(cold.anomaly_alert, rt_alert("new_asn", 1)->id);
	cr_assert_str_eq(cold.anomaly_record, ev.record_id);
}

Test(new_asn, stays_quiet_while_the_account_is_learning)
{
	rt_signins(T0 - 2 * HOUR, &FRANKFURT, 5, MIN);
	rt_signin(T0, &ASHBURN);
	cr_assert_eq(nalerts, 0);
}

Test(new_asn, a_carrier_changing_addresses_is_not_a_new_network)
{
	rt_history(&HANOI);
	for (int i = 0; i < 30; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "198.18.%d.%d", 100 + i, 1 + i);
		struct rt_place p = rt_at(ip, "VN", 21.0 - i * 0.3, 105.8, 50, 64500);
		rt_signin(T0 + i * 10 * MIN, &p);
	}
	cr_assert_eq(nalerts, 0);
}

Test(new_asn, ignores_unknown_asns)
{
	struct rt_place p = BERLIN;

	p.asn = 0;
	rt_history(&FRANKFURT);
	rt_signin(T0, &p);
	cr_assert_eq(rt_count("new_asn"), 0);
}

Test(new_asn, does_not_alert_again_within_the_suppression_period_but_keeps_learning)
{
	struct rt_place other = BERLIN;

	other.asn = 64777;
	rt_history(&FRANKFURT);
	rt_signin(T0, &BERLIN);
	rt_signin(T0 + 12 * HOUR, &other);
	cr_assert_eq(rt_count("new_asn"), 1);
	cr_assert(af_account_knows_asn(&acct, &cfg.rules, 64777, T0 + 12 * HOUR));
	rt_signin(T0 + 24 * HOUR, &ASHBURN);
	cr_assert_eq(rt_count("new_asn"), 2);
	cr_assert_eq(rt_num(rt_alert("new_asn", 1), "known_asns"), 3);
}

Test(new_asn, alerts_again_for_a_network_forgotten_after_the_history)
{
	rt_signin(T0 - 95 * DAY, &BERLIN);
	rt_history(&FRANKFURT);
	size_t before = rt_count("new_asn");
	rt_signin(T0, &BERLIN);
	cr_assert_eq(rt_count("new_asn"), before + 1);
	cr_assert_eq(rt_num(rt_alert("new_asn", before), "asn"), 64499);
}

Test(new_asn, id_is_made_from_the_rule_the_account_and_the_asn)
{
	rt_history(&FRANKFURT);
	rt_signin(T0, &BERLIN);
	cr_assert_eq(rt_alert("new_asn", 0)->id, af_alert_id("new_asn", RT_ACCOUNT, "AS64499"));
}

Test(new_asn, the_id_depends_on_the_asn_not_on_arrival_order)
{
	uint64_t id;

	rt_history(&FRANKFURT);
	rt_signin(T0, &BERLIN);
	id = rt_alert("new_asn", 0)->id;
	rt_restart();
	rt_signins(T0 - 20 * DAY, &HANOI, 3, DAY);
	rt_history(&FRANKFURT);
	rt_signin(T0 + 3 * HOUR, &BERLIN);
	cr_assert_eq(rt_alert("new_asn", rt_count("new_asn") - 1)->id, id);
}

Test(new_asn, leaves_an_ordinary_network_in_a_new_country_to_new_country)
{
	rt_history(&FRANKFURT);
	rt_signin(T0, &TOKYO);

	cr_assert_eq(nalerts, 1, "one sign-in, one alert");
	const struct af_alert *a = rt_alert("new_country", 0);
	cr_assert_eq(rt_num(a, "asn"), 64497);
	cr_assert_str_eq(rt_text(a, "as_org"), "Example JP Networks");
	cr_assert_eq(rt_num(a, "known_asn"), 0);
}

Test(new_asn, speaks_for_a_new_country_when_new_country_is_off)
{
	rt_set("rules.new_country.enabled", "false");
	rt_history(&FRANKFURT);
	rt_signin(T0, &TOKYO);

	cr_assert_eq(nalerts, 1);
	cr_assert_eq(rt_num(rt_alert("new_asn", 0), "asn"), 64497);
}

Test(new_asn, never_counts_a_corporate_network_as_new)
{
	struct rt_place office = BERLIN;

	office.flags = AF_GEO_CORPORATE;
	rt_history(&FRANKFURT);
	rt_signin(T0, &office);
	cr_assert_eq(nalerts, 0);
}
