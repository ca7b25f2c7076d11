/* test_scenarios.c - detection end to end on generated attacks: each
 * `auditflow gen` attack scenario (200 accounts, 14 days, the attack two
 * thirds in), enriched with the databases scripts/gen-mmdb builds from
 * it, must raise every alert its truth file names for the attack, in
 * DESIGN.md's order for the seed incident, with at most one unexplained
 * alert per 1,000 account-days; and the alert set must not depend on the
 * order or the grouping in which the inputs are given. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"
#include "scenario.h"

TestSuite(scenarios, .init = af_e2e_setup, .fini = af_e2e_teardown, .timeout = 600);

/* gen's defaults: 200 accounts over 14 days. */
#define ACCOUNT_DAYS (200 * 14)

static void check_attack(const char *scenario)
{
	struct af_scn s;
	size_t missing;

	af_scn_make(scenario, NULL);
	af_scn_replay(&s, NULL, NULL, "alerts.json");
	size_t unexplained = af_scn_match(&s, &missing);
	char *why = af_scn_report(&s);

	cr_assert_eq(missing, 0, "%s: %zu attack alerts missing:%s", scenario, missing, why);
	cr_assert_leq(unexplained * 1000, ACCOUNT_DAYS, "%s: %zu unexplained alerts:%s", scenario,
	              unexplained, why);
	free(why);
	af_scn_free(&s);
}

Test(scenarios, password_spray_raises_its_alert)
{
	check_attack("password-spray");
}

Test(scenarios, bec_inbox_rule_raises_its_alerts)
{
	check_attack("bec-inbox-rule");
}

Test(scenarios, forwarding_raises_its_alerts)
{
	check_attack("forwarding");
}

/* Position in the alerts file of the first (last) alert of rule for
 * subject, or -1. */
static long position(const struct af_scn *s, const char *rule, const char *subject, bool last)
{
	long at = -1;
	for (size_t i = 0; i < s->nalerts; i++)
		if (strcmp(s->alerts[i].rule, rule) == 0 &&
		    strcmp(s->alerts[i].subject, subject) == 0) {
			at = (long)i;
			if (!last)
				break;
		}
	return at;
}

Test(scenarios, seed_incident_raises_every_rule_in_the_designs_order)
{
	static const char *const signin[] = {"new_country", "new_asn", "impossible_travel"};
	static const char *const mail[] = {"mail_send_burst", "mass_recipients",
	                                   "sender_name_spoof", "sent_items_bypass",
	                                   "inbox_rule_tamper"};
	struct af_scn s;
	size_t missing;
	char victim[128] = "";

	af_scn_make("seed-incident", NULL);
	af_scn_replay(&s, NULL, NULL, "alerts.json");
	size_t unexplained = af_scn_match(&s, &missing);
	char *why = af_scn_report(&s);
	cr_assert_eq(missing, 0, "%zu seed-incident alerts missing:%s", missing, why);
	cr_assert_leq(unexplained * 1000, ACCOUNT_DAYS, "%zu unexplained:%s", unexplained, why);

	for (size_t j = 0; j < s.ntruth; j++)
		if (strcmp(s.truth[j].rule, "account_takeover") == 0)
			snprintf(victim, sizeof(victim), "%s", s.truth[j].subject);
	cr_assert_neq(victim[0], '\0', "the truth names the victim");

	/* The sign-in anomalies, then the mail abuse, the takeover chain
	 * once both are known, and the failures after the reset. */
	long last_signin = -1, first_mail = -1, last_mail = -1;
	for (size_t i = 0; i < sizeof(signin) / sizeof(signin[0]); i++) {
		long at = position(&s, signin[i], victim, true);
		cr_assert_geq(at, 0, "%s raised", signin[i]);
		last_signin = at > last_signin ? at : last_signin;
	}
	for (size_t i = 0; i < sizeof(mail) / sizeof(mail[0]); i++) {
		long at = position(&s, mail[i], victim, false);
		cr_assert_geq(at, 0, "%s raised", mail[i]);
		first_mail = first_mail < 0 || at < first_mail ? at : first_mail;
		last_mail = at > last_mail ? at : last_mail;
	}
	long takeover = position(&s, "account_takeover", victim, false);
	long failures = position(&s, "signin_fail_burst", victim, false);
	cr_assert_lt(last_signin, first_mail, "sign-in alerts come before the mail alerts");
	cr_assert_gt(takeover, last_signin, "the chain follows the anomalous sign-in");
	cr_assert_geq(takeover, first_mail, "and the first mail abuse");
	cr_assert_gt(failures, last_mail, "the failed sign-ins come last");
	free(why);
	af_scn_free(&s);
}

/* Lines of the scratch file src, split round-robin by blocks of `block`
 * lines into parts files named <src>.<k>, keeping each part in time order
 * (each is a subsequence of src). */
static void split(const char *src, unsigned parts, size_t block)
{
	size_t len;
	char *text = af_slurp(af_e2e_path(src), &len);
	FILE *out[8];
	cr_assert_not_null(text);
	cr_assert_leq(parts, 8);
	for (unsigned k = 0; k < parts; k++) {
		char name[64];
		snprintf(name, sizeof(name), "%s.%u", src, k);
		out[k] = fopen(af_e2e_path(name), "w");
		cr_assert_not_null(out[k]);
	}
	size_t line = 0;
	for (char *p = text; *p; line++) {
		char *nl = strchr(p, '\n');
		cr_assert_not_null(nl);
		fwrite(p, 1, (size_t)(nl - p) + 1, out[(line / block) % parts]);
		p = nl + 1;
	}
	for (unsigned k = 0; k < parts; k++)
		cr_assert_eq(fclose(out[k]), 0);
	free(text);
}

Test(scenarios, the_alert_set_does_not_depend_on_input_order_or_grouping)
{
	static const char *const reversed[] = {"messagetrace.jsonl", "audit.jsonl", "signins.jsonl",
	                                       NULL};
	static const char *const pieces[] = {"signins.jsonl.2",
	                                     "audit.jsonl.0",
	                                     "messagetrace.jsonl",
	                                     "signins.jsonl.0",
	                                     "audit.jsonl.1",
	                                     "signins.jsonl.1",
	                                     NULL};
	static const char *const wide[] = {"--reorder-window", "2h", NULL};
	struct af_scn a, b, c, d;

	af_scn_make("seed-incident", NULL);
	split("signins.jsonl", 3, 97);
	split("audit.jsonl", 2, 1000);

	af_scn_replay(&a, NULL, NULL, "a.json");
	af_scn_replay(&b, reversed, NULL, "b.json");
	af_scn_replay(&c, pieces, NULL, "c.json");
	af_scn_replay(&d, reversed, wide, "d.json");
	cr_assert_gt(a.nalerts, 10);

	char *sa = af_scn_sorted_alerts(&a), *sb = af_scn_sorted_alerts(&b),
	     *sc = af_scn_sorted_alerts(&c), *sd = af_scn_sorted_alerts(&d);
	cr_assert_str_eq(sb, sa, "inputs in reverse order");
	cr_assert_str_eq(sc, sa, "inputs cut into interleaved pieces");
	cr_assert_str_eq(sd, sa, "a wider reorder window");
	free(sa);
	free(sb);
	free(sc);
	free(sd);
	af_scn_free(&a);
	af_scn_free(&b);
	af_scn_free(&c);
	af_scn_free(&d);
}
