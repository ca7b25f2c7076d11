/* test_rule_tests.c - `auditflow test FILE.yaml` end to end: cases that
 * pass and fail for the right reasons (an alert missing, one not expected,
 * an observed field that differs), "others: ignore", settings of the file
 * and of a case, paths relative to the test file, and test files that are
 * not ones (exit 2, naming the file and line).
 *
 * Thread: the test's; each case runs the real binary on a file written to
 * the test's scratch folder.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

TestSuite(rule_tests, .init = af_e2e_setup, .fini = af_e2e_teardown);

/* A failed sign-in of account at minute m of 05:00, record id "IDm". */
#define FAIL_AT(account, m)                                                                        \
	"      - {CreationTime: \"2025-08-25T05:0" #m ":00\", Id: \"" account "-" #m "\", "        \
	"Operation: UserLoginFailed, UserId: " account ", Workload: AzureActiveDirectory, "        \
	"ClientIP: \"81.2.69.142\", ResultStatus: Failed}\n"

/* Three failures of alice in three minutes. */
#define THREE_FAILURES                                                                             \
	FAIL_AT("alice@contoso.com", 0)                                                            \
	FAIL_AT("alice@contoso.com", 1) FAIL_AT("alice@contoso.com", 2)

static const char BURST3[] = "settings:\n"
                             "  rules: {signin_fail_burst: {threshold: 3, window: 10m}}\n";

/* Write text as name in the scratch folder and run `auditflow test` on it. */
static void run_test(const char *name, const char *text, struct af_run *r)
{
	const char *path = af_e2e_path(name);
	cr_assert_eq(af_spit(path, text, strlen(text)), 0);
	const char *args[] = {"test", path, NULL};
	cr_assert_eq(af_run(r, NULL, args), 0);
}

Test(rule_tests, passes_a_case_whose_alerts_are_the_ones_expected_and_exits_0)
{
	struct af_run r;
	char text[4096];
	snprintf(text, sizeof(text),
	         "%scases:\n"
	         "  - name: three failures raise a burst\n"
	         "    records:\n" THREE_FAILURES "    expect:\n"
	         "      - {rule: signin_fail_burst, account: alice@contoso.com, severity: medium,\n"
	         "         observed: {count: 3.0}}\n"
	         "  - name: two do not\n"
	         "    records:\n" FAIL_AT("bob@contoso.com", 0)
	             FAIL_AT("bob@contoso.com", 1) "    expect: []\n",
	         BURST3);
	run_test("pass.yaml", text, &r);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	cr_assert_not_null(strstr(r.out, "ok   three failures raise a burst\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "ok   two do not\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "2 cases: 2 passed, 0 failed"), "%s", r.out);
	af_run_free(&r);
}

Test(rule_tests, fails_a_case_with_an_alert_missing_or_not_expected_and_says_which)
{
	struct af_run r;
	char text[4096];
	snprintf(text, sizeof(text),
	         "%scases:\n"
	         "  - name: expects another account\n"
	         "    records:\n" THREE_FAILURES "    expect:\n"
	         "      - {rule: signin_fail_burst, account: carol@contoso.com}\n"
	         "  - name: expects nothing\n"
	         "    records:\n" THREE_FAILURES "    expect: []\n"
	         "  - name: expects nothing but ignores the others\n"
	         "    records:\n" THREE_FAILURES "    expect: []\n"
	         "    others: ignore\n",
	         BURST3);
	run_test("fail.yaml", text, &r);
	cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
	const char *a = strstr(r.out, "FAIL expects another account\n");
	cr_assert_not_null(a, "%s", r.out);
	cr_assert_not_null(strstr(a, "expected, not raised: {\"rule\":\"signin_fail_burst\","
	                             "\"account\":\"carol@contoso.com\"}"),
	                   "%s", r.out);
	cr_assert_not_null(strstr(a, "raised, not expected: {\"id\":"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "FAIL expects nothing\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "ok   expects nothing but ignores the others\n"), "%s",
	                   r.out);
	cr_assert_not_null(strstr(r.out, "3 cases: 1 passed, 2 failed"), "%s", r.out);
	af_run_free(&r);
}

Test(rule_tests, fails_a_case_whose_observed_field_differs)
{
	struct af_run r;
	char text[4096];
	snprintf(text, sizeof(text),
	         "%scases:\n"
	         "  - name: counts four\n"
	         "    records:\n" THREE_FAILURES "    expect:\n"
	         "      - {rule: signin_fail_burst, account: alice@contoso.com,\n"
	         "         observed: {count: 4}}\n",
	         BURST3);
	run_test("observed.yaml", text, &r);
	cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
	cr_assert_not_null(strstr(r.out, "FAIL counts four\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\"observed\":{\"count\":4}"), "%s", r.out);
	af_run_free(&r);
}

Test(rule_tests, applies_a_case_s_settings_over_the_file_s)
{
	struct af_run r;
	char text[4096];
	snprintf(text, sizeof(text),
	         "%scases:\n"
	         "  - name: a higher threshold of its own\n"
	         "    settings: {rules.signin_fail_burst.threshold: 4}\n"
	         "    records:\n" THREE_FAILURES "    expect: []\n"
	         "  - name: the file's threshold again\n"
	         "    records:\n" THREE_FAILURES "    expect:\n"
	         "      - {rule: signin_fail_burst, account: alice@contoso.com}\n",
	         BURST3);
	run_test("settings.yaml", text, &r);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	af_run_free(&r);
}

Test(rule_tests, reads_a_configuration_file_relative_to_the_test_file)
{
	struct af_run r;
	cr_assert_eq(af_spit(af_e2e_path("burst.yaml"), BURST3 + strlen("settings:\n"),
	                     strlen(BURST3) - strlen("settings:\n")),
	             0);
	run_test("relative.yaml",
	         "config: burst.yaml\n"
	         "cases:\n"
	         "  - name: the configuration's threshold\n"
	         "    records:\n" THREE_FAILURES "    expect:\n"
	         "      - {rule: signin_fail_burst, account: alice@contoso.com}\n",
	         &r);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	af_run_free(&r);
}

Test(rule_tests, shows_a_case_s_dead_letters_when_it_fails)
{
	struct af_run r;
	run_test("dlq.yaml",
	         "cases:\n"
	         "  - name: a broken record\n"
	         "    records:\n"
	         "      - 'not json'\n"
	         "    expect:\n"
	         "      - {rule: signin_fail_burst}\n",
	         &r);
	cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
	cr_assert_not_null(strstr(r.out, "no alert was raised"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "records dead-lettered (1):"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\"reason\":\"malformed_json\""), "%s", r.out);
	af_run_free(&r);
}

/* What a file that is not a test file gives: exit 2 and, on stderr, want. */
static void refused(const char *text, const char *want)
{
	struct af_run r;
	run_test("bad.yaml", text, &r);
	cr_assert_eq(r.status, 2, "%s\n%s%s", text, r.out, r.err);
	cr_assert_not_null(strstr(r.err, want), "%s\nwant %s in: %s", text, want, r.err);
	af_run_free(&r);
}

Test(rule_tests, refuses_a_file_that_is_not_a_test_file_and_names_the_line)
{
	refused("cases: [\n", "bad.yaml:");
	refused("- a list\n", "not a test file");
	refused("settings: {}\n", "no cases");
	refused("cases:\n  - name: x\n    records: []\n    expect: []\n  - name: y\n"
	        "    recrods: []\n    expect: []\n",
	        "bad.yaml:6: unknown key in a case");
	refused("cases:\n  - name: x\n    records: []\n", "a case needs expect");
	refused("cases:\n  - name: x\n    records: []\n    expect: [{account: a}]\n",
	        "an expected alert is a mapping with a rule");
	refused("settings: {rules: {no_such_rule: {threshold: 1}}}\n"
	        "cases:\n  - name: x\n    records: []\n    expect: []\n",
	        "no_such_rule");
	refused("cases:\n  - name: x\n    others: all\n    records: []\n    expect: []\n",
	        "others can only be ignore");
}

Test(rule_tests, prints_its_usage_with_help_and_refuses_no_file)
{
	struct af_run r;
	const char *help[] = {"test", "--help", NULL};
	cr_assert_eq(af_run(&r, NULL, help), 0);
	cr_assert_eq(r.status, 0);
	cr_assert_not_null(strstr(r.out, "usage: auditflow test FILE.yaml"), "%s", r.out);
	af_run_free(&r);
	const char *none[] = {"test", NULL};
	cr_assert_eq(af_run(&r, NULL, none), 0);
	cr_assert_eq(r.status, 2);
	af_run_free(&r);
	const char *missing[] = {"test", "/nonexistent/rules.yaml", NULL};
	cr_assert_eq(af_run(&r, NULL, missing), 0);
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "/nonexistent/rules.yaml"), "%s", r.err);
	af_run_free(&r);
}
