/* test_gen_baseline.c - false alarms on ordinary traffic: `auditflow gen
 * --scenario baseline` for 1,000 accounts over 30 days (offices, home and
 * mobile networks, VPN users, travellers, bulk senders; 2.4 M records),
 * enriched with its scripts/gen-mmdb databases, must raise at most one
 * alert per 1,000 account-days that its truth file does not explain. The
 * explained ones are travellers' first sign-ins abroad, which truth.jsonl
 * lists as benign true alerts; the counts go to stderr for the record. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"
#include "scenario.h"

TestSuite(gen_baseline, .init = af_e2e_setup, .fini = af_e2e_teardown, .timeout = 1200);

/* Under a sanitizer, which finds as much in less and is some ten times
 * slower, a third of the accounts: the rate is the release build's to
 * measure. */
#if AF_E2E_SANITIZED
#define ACCOUNTS "300"
#else
#define ACCOUNTS "1000"
#endif
#define DAYS "30"

Test(gen_baseline, raises_at_most_one_unexplained_alert_per_thousand_account_days)
{
	static const char *const args[] = {"--accounts", ACCOUNTS, "--days", DAYS, NULL};
	const size_t account_days = (size_t)atoi(ACCOUNTS) * (size_t)atoi(DAYS);
	struct af_scn s;
	size_t missing, benign = 0;

	af_scn_make("baseline", args);
	af_scn_replay(&s, NULL, NULL, "alerts.json");
	size_t unexplained = af_scn_match(&s, &missing);
	char *why = af_scn_report(&s);

	for (size_t i = 0; i < s.nalerts; i++)
		benign += s.alerts[i].explained;
	fprintf(stderr,
	        "gen baseline %s accounts x %s days: %zu alerts, %zu explained by truth.jsonl "
	        "(benign), %zu unexplained = %.2f per 1,000 account-days%s\n",
	        ACCOUNTS, DAYS, s.nalerts, benign, unexplained,
	        (double)unexplained * 1000.0 / (double)account_days, why);
	cr_assert_eq(missing, 0, "the baseline has no attack:%s", why);
	cr_assert_leq(unexplained * 1000, account_days, "%zu unexplained:%s", unexplained, why);
	/* Everything explained is a traveller's first sign-in abroad. */
	for (size_t i = 0; i < s.nalerts; i++)
		if (s.alerts[i].explained)
			cr_assert_str_eq(s.alerts[i].rule, "new_country", "%s for %s",
			                 s.alerts[i].rule, s.alerts[i].subject);
	free(why);
	af_scn_free(&s);
}
