/* test_rules.c - the framework: the registry (ids, numbers, scopes, kinds,
 * enabled), the start-up check of benign codes, suppression periods and
 * their fallback, and the helpers that fill alerts and messages. */
#include "rules_test.h"

TestSuite(rules, .init = rt_setup, .fini = rt_teardown);

Test(rules, registers_every_rule_under_its_design_id_and_number)
{
	static const struct {
		const char *id;
		unsigned num;
		int scope;
	} want[] = {
	    {"new_country", AF_RULE_NEW_COUNTRY, AF_RULE_SCOPE_ACCOUNT},
	    {"new_asn", AF_RULE_NEW_ASN, AF_RULE_SCOPE_ACCOUNT},
	    {"impossible_travel", AF_RULE_IMPOSSIBLE_TRAVEL, AF_RULE_SCOPE_ACCOUNT},
	    {"signin_fail_burst", AF_RULE_SIGNIN_FAIL_BURST, AF_RULE_SCOPE_ACCOUNT},
	    {"password_spray", AF_RULE_PASSWORD_SPRAY, AF_RULE_SCOPE_ADDRESS},
	    {"mail_send_burst", AF_RULE_MAIL_SEND_BURST, AF_RULE_SCOPE_ACCOUNT},
	    {"mass_recipients", AF_RULE_MASS_RECIPIENTS, AF_RULE_SCOPE_ACCOUNT},
	    {"sent_items_bypass", AF_RULE_SENT_ITEMS_BYPASS, AF_RULE_SCOPE_ACCOUNT},
	    {"inbox_rule_tamper", AF_RULE_INBOX_RULE_TAMPER, AF_RULE_SCOPE_ACCOUNT},
	    {"mailbox_forwarding", AF_RULE_MAILBOX_FORWARDING, AF_RULE_SCOPE_ACCOUNT},
	    {"sender_name_spoof", AF_RULE_SENDER_NAME_SPOOF, AF_RULE_SCOPE_ACCOUNT},
	    {"account_takeover", AF_RULE_ACCOUNT_TAKEOVER, AF_RULE_SCOPE_ACCOUNT},
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct af_rule *r = af_rules_find(want[i].id);

		cr_assert_not_null(r, "%s", want[i].id);
		cr_assert_str_eq(r->id, want[i].id);
		cr_assert_eq(r->num, want[i].num, "%s", want[i].id);
		cr_assert_eq(r->scope, want[i].scope, "%s", want[i].id);
	}
}

Test(rules, numbers_are_unique_and_account_rules_fit_the_suppression_slots)
{
	size_t n;
	const struct af_rule *const *all = af_rules_all(&n);
	bool seen[AF_RULE_NUM] = {false};

	cr_assert_eq(n, AF_RULE_NUM);
	for (size_t i = 0; i < n; i++) {
		cr_assert_lt(all[i]->num, AF_RULE_NUM, "%s", all[i]->id);
		cr_assert_not(seen[all[i]->num], "%s shares its number", all[i]->id);
		seen[all[i]->num] = true;
		if (all[i]->scope == AF_RULE_SCOPE_ACCOUNT)
			cr_assert_lt(all[i]->num, AF_ACCOUNT_RULES, "%s", all[i]->id);
		cr_assert_eq(af_rules_find(all[i]->id), all[i]);
	}
}

Test(rules, find_returns_null_for_an_unknown_id)
{
	cr_assert_null(af_rules_find("new_continent"));
	cr_assert_null(af_rules_find(""));
}

Test(rules, kinds_name_what_each_route_needs)
{
	cr_assert_eq(af_rules_kinds(&cfg.rules, AF_RULE_SCOPE_ADDRESS),
	             AF_RULE_KIND(AF_KIND_SIGNIN_FAILED));
	cr_assert(af_rules_kinds(&cfg.rules, AF_RULE_SCOPE_ACCOUNT) &
	          AF_RULE_KIND(AF_KIND_SIGNIN_OK));
	rt_set("rules.password_spray.enabled", "false");
	cr_assert_eq(af_rules_kinds(&cfg.rules, AF_RULE_SCOPE_ADDRESS), 0);
}

Test(rules, reads_enabled_and_suppression_from_the_rules_own_keys)
{
	const struct af_rule *r = af_rules_find("new_asn");

	cr_assert(af_rule_enabled(r, &cfg.rules));
	cr_assert_eq(af_rule_suppression(r, &cfg.rules), 24 * HOUR, "rules.suppression");
	rt_set("rules.suppression", "6h");
	cr_assert_eq(af_rule_suppression(r, &cfg.rules), 6 * HOUR);
	rt_set("rules.new_asn.suppression", "90m");
	cr_assert_eq(af_rule_suppression(r, &cfg.rules), 90 * MIN);
	cr_assert_eq(af_rule_suppression(af_rules_find("new_country"), &cfg.rules), 6 * HOUR);
	rt_set("rules.new_asn.enabled", "off");
	cr_assert_not(af_rule_enabled(r, &cfg.rules));
	cr_assert(af_rule_enabled(af_rules_find("new_country"), &cfg.rules));
}

Test(rules, a_suppression_of_zero_everywhere_raises_every_time)
{
	rt_set("rules.suppression", "0");
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < 10; k++)
			rt_fail(T0 + i * MIN + k * SEC, RT_ACCOUNT, &ASHBURN, 50126);
	cr_assert_eq(rt_count("signin_fail_burst"), 21);
}

Test(rules, runs_only_the_rules_of_the_scope_asked_for)
{
	struct af_rule_env env = {.cfg = &cfg.rules, .pool = pool, .emit = rt_emit};

	af_account_init(&acct, T0);
	acct_started = true;
	env.acct = &acct;
	env.cold = &cold;
	for (unsigned i = 0; i < 10; i++) {
		char who[32];
		snprintf(who, sizeof(who), "u%u@contoso.example", i);
		struct af_event ev = rt_event(AF_KIND_SIGNIN_FAILED, who, T0 + i * SEC, &ASHBURN);
		ev.error_code = 50126;
		af_rules_apply(&env, AF_RULE_SCOPE_ACCOUNT, &ev);
	}
	cr_assert_eq(rt_count("signin_fail_burst"), 1);
	cr_assert_eq(rt_count("password_spray"), 0, "the address route was not run");
}

Test(rules, check_accepts_codes_separated_by_commas_or_blanks_and_none)
{
	char err[256] = "";

	cr_assert_eq(af_rules_check(&cfg.rules, err, sizeof(err)), AF_OK, "the default");
	rt_set("rules.benign_codes", " 50140 ,50074\t16000 ");
	cr_assert_eq(af_rules_check(&cfg.rules, err, sizeof(err)), AF_OK, "%s", err);
	rt_set("rules.benign_codes", "none");
	cr_assert_eq(af_rules_check(&cfg.rules, err, sizeof(err)), AF_OK, "%s", err);
}

Test(rules, check_rejects_a_code_that_is_not_a_number)
{
	char err[256] = "";

	rt_set("rules.benign_codes", "50140,AADSTS50074");
	cr_assert_eq(af_rules_check(&cfg.rules, err, sizeof(err)), AF_E_CONFIG);
	cr_assert_str_eq(err, "rules.benign_codes: \"AADSTS50074\" is not an error code (expected "
	                      "numbers separated by commas, or \"none\")");
}

Test(rules, none_makes_every_failure_a_failed_password)
{
	rt_set("rules.benign_codes", "none");
	for (int k = 0; k < 10; k++)
		rt_fail(T0 + k * SEC, RT_ACCOUNT, &ASHBURN, 50074);
	cr_assert_eq(rt_count("signin_fail_burst"), 1);
}

Test(rules, a_benign_code_matches_whole_numbers_only)
{
	struct af_event ev = rt_event(AF_KIND_SIGNIN_FAILED, RT_ACCOUNT, T0, &ASHBURN);

	rt_set("rules.benign_codes", "50140,16000");
	ev.error_code = 5014;
	cr_assert(af_rule_failed_password(&cfg.rules, &ev));
	ev.error_code = 501400;
	cr_assert(af_rule_failed_password(&cfg.rules, &ev));
	ev.error_code = 16000;
	cr_assert_not(af_rule_failed_password(&cfg.rules, &ev));
	ev.kind = AF_KIND_SIGNIN_OK;
	ev.error_code = 50126;
	cr_assert_not(af_rule_failed_password(&cfg.rules, &ev));
}

Test(rules, an_address_alert_has_no_account_and_its_id_names_the_address)
{
	struct af_event ev = rt_event(AF_KIND_SIGNIN_FAILED, RT_ACCOUNT, T0, &TOKYO);
	struct af_alert a;

	af_rule_alert_init(&a, &af_rule_password_spray, AF_SEV_HIGH, &ev, "42");
	cr_assert_str_eq(a.account, "");
	cr_assert_str_eq(a.rule, "password_spray");
	cr_assert_eq(a.id, af_alert_id("password_spray", "2001:db8:1::5", "42"));
	cr_assert_eq(a.nevidence, 1);
	cr_assert_str_eq(a.evidence[0], ev.record_id);
	af_rule_alert_init(&a, &af_rule_new_asn, AF_SEV_LOW, &ev, "AS64497");
	cr_assert_str_eq(a.account, RT_ACCOUNT);
	cr_assert_eq(a.id, af_alert_id("new_asn", RT_ACCOUNT, "AS64497"));
	cr_assert_eq(a.severity, AF_SEV_LOW);
	cr_assert_eq(a.nobserved, 0);
}

Test(rules, a_long_message_is_cut_at_a_character_boundary)
{
	struct af_alert a;
	char city[200];

	memset(&a, 0, sizeof(a));
	/* "é" is two bytes; an odd prefix puts every cut point mid-character
	 * once in two. */
	size_t at = 0;
	city[at++] = 'x';
	while (at + 2 < sizeof(city)) {
		city[at++] = '\xc3';
		city[at++] = '\xa9';
	}
	city[at] = '\0';
	af_rule_message(&a, "%s and %s", city, city);
	size_t len = strlen(a.message);
	cr_assert_leq(len, AF_ALERT_MESSAGE_MAX - 1);
	cr_assert_geq(len, AF_ALERT_MESSAGE_MAX - 2);
	cr_assert_neq((unsigned char)a.message[len - 1], 0xc3, "cut inside a character");
}

Test(rules, places_read_as_country_city_and_network)
{
	struct af_geo g;
	char buf[160];

	memset(&g, 0, sizeof(g));
	af_rule_place(buf, sizeof(buf), &g);
	cr_assert_str_eq(buf, "an unknown place");
	strcpy(g.country, "VN");
	af_rule_place(buf, sizeof(buf), &g);
	cr_assert_str_eq(buf, "VN");
	g.asn = 64500;
	af_rule_place(buf, sizeof(buf), &g);
	cr_assert_str_eq(buf, "VN (AS64500)");
	strcpy(g.city, "Hà Nội");
	strcpy(g.as_org, "Example VN Telecom");
	af_rule_place(buf, sizeof(buf), &g);
	cr_assert_str_eq(buf, "VN (Hà Nội, AS64500 Example VN Telecom)");
}

Test(rules, spans_read_in_seconds_minutes_or_hours)
{
	char buf[32];

	af_rule_span(buf, sizeof(buf), 90 * SEC);
	cr_assert_str_eq(buf, "90 seconds");
	af_rule_span(buf, sizeof(buf), MIN);
	cr_assert_str_eq(buf, "1 minute");
	af_rule_span(buf, sizeof(buf), 20 * MIN);
	cr_assert_str_eq(buf, "20 minutes");
	af_rule_span(buf, sizeof(buf), -150 * MIN);
	cr_assert_str_eq(buf, "2.5 hours");
}
