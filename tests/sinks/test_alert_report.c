/* test_alert_report.c - the closing report's tally: alerts by severity,
 * subjects ordered by their most severe alert, then by how many, then by
 * name; per-address alerts under their address; each rule named once; and
 * the bound on subjects, past which alerts are still counted. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/ip.h"
#include "sinks/alert_report.h"

static struct af_alert alert(const char *rule, enum af_severity sev, const char *account,
                             const char *ip)
{
	struct af_alert a;
	memset(&a, 0, sizeof(a));
	a.rule = rule;
	a.severity = (uint8_t)sev;
	snprintf(a.account, sizeof(a.account), "%s", account);
	if (ip != NULL)
		cr_assert(af_ip_parse(ip, strlen(ip), &a.src));
	return a;
}

static void add(struct af_alert_report *r, const char *rule, enum af_severity sev,
                const char *account, const char *ip)
{
	struct af_alert a = alert(rule, sev, account, ip);
	af_alert_report_add(r, &a);
}

static char *print(const struct af_alert_report *r, size_t top)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	cr_assert_eq(af_alert_report_print(f, r, top), AF_OK);
	fclose(f);
	return text;
}

Test(alert_report, orders_subjects_by_their_most_severe_alert_then_count_then_name)
{
	struct af_alert_report *r = af_alert_report_new(100);
	cr_assert_not_null(r);
	add(r, "new_country", AF_SEV_MEDIUM, "many@x.example", NULL);
	add(r, "new_country", AF_SEV_MEDIUM, "many@x.example", NULL);
	add(r, "mail_send_burst", AF_SEV_MEDIUM, "many@x.example", NULL);
	add(r, "account_takeover", AF_SEV_CRITICAL, "taken@x.example", NULL);
	add(r, "new_asn", AF_SEV_HIGH, "b@x.example", NULL);
	add(r, "new_asn", AF_SEV_HIGH, "a@x.example", NULL);
	add(r, "password_spray", AF_SEV_HIGH, "", "192.0.2.7");
	add(r, "password_spray", AF_SEV_HIGH, "", "192.0.2.7");
	cr_assert_eq(af_alert_report_count(r, AF_SEV_CRITICAL), 1);
	cr_assert_eq(af_alert_report_count(r, AF_SEV_HIGH), 4);
	cr_assert_eq(af_alert_report_count(r, AF_SEV_MEDIUM), 3);
	cr_assert_eq(af_alert_report_count(r, AF_SEV_LOW), 0);

	char *text = print(r, 10);
	cr_assert_not_null(strstr(text, "alerts by severity: critical 1, high 4, medium 3\n"), "%s",
	                   text);
	cr_assert_not_null(strstr(text, "(5 of 5 accounts and addresses)"), "%s", text);
	const char *order[] = {"taken@x.example", "192.0.2.7", "a@x.example", "b@x.example",
	                       "many@x.example"};
	const char *at = text;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *p = strstr(at, order[i]);
		cr_assert_not_null(p, "%s after the one before in:\n%s", order[i], text);
		at = p;
	}
	cr_assert_not_null(strstr(text, "medium 3  (new_country, mail_send_burst)\n"),
	                   "each rule once: %s", text);
	free(text);

	text = print(r, 2);
	cr_assert_not_null(strstr(text, "(2 of 5 accounts and addresses)"), "%s", text);
	cr_assert_null(strstr(text, "many@x.example"), "%s", text);
	free(text);
	af_alert_report_free(r);
}

Test(alert_report, counts_the_alerts_of_subjects_past_its_bound)
{
	struct af_alert_report *r = af_alert_report_new(2);
	add(r, "new_asn", AF_SEV_HIGH, "one@x.example", NULL);
	add(r, "new_asn", AF_SEV_HIGH, "two@x.example", NULL);
	add(r, "new_asn", AF_SEV_HIGH, "three@x.example", NULL);
	add(r, "new_asn", AF_SEV_LOW, "four@x.example", NULL);
	add(r, "new_asn", AF_SEV_HIGH, "one@x.example", NULL);
	cr_assert_eq(af_alert_report_count(r, AF_SEV_HIGH), 4);
	cr_assert_eq(af_alert_report_count(r, AF_SEV_LOW), 1);
	char *text = print(r, 10);
	cr_assert_not_null(strstr(text, "(2 of 2 accounts and addresses)"), "%s", text);
	cr_assert_not_null(strstr(text, "one@x.example"), "%s", text);
	cr_assert_null(strstr(text, "three@x.example"), "%s", text);
	cr_assert_not_null(strstr(text, "and 2 alerts of accounts and addresses past the first 2"),
	                   "%s", text);
	free(text);
	af_alert_report_free(r);
}

Test(alert_report, prints_nothing_without_alerts)
{
	struct af_alert_report *r = af_alert_report_new(10);
	char *text = print(r, 10);
	cr_assert_str_eq(text, "");
	free(text);
	af_alert_report_free(r);
}
