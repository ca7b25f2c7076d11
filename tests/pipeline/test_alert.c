/* test_alert.c - alert ids, severity names, and the bounds and cutting of
 * observations and evidence. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "pipeline/alert.h"

Test(alert, id_is_the_xxh3_of_the_three_parts_each_ending_in_nul)
{
	static const char bytes[] = "new_country\0user@example.com\0US";

	/* sizeof includes the literal's own final NUL: the third separator. */
	cr_assert_eq(af_alert_id("new_country", "user@example.com", "US"),
	             XXH3_64bits(bytes, sizeof bytes));
}

Test(alert, id_is_the_same_for_the_same_rule_subject_and_trigger)
{
	char subject[32];

	strcpy(subject, "user@example.com");
	cr_assert_eq(af_alert_id("new_country", "user@example.com", "US"),
	             af_alert_id("new_country", subject, "US"));
}

Test(alert, id_differs_when_the_rule_differs)
{
	cr_assert_neq(af_alert_id("new_country", "user@example.com", "US"),
	              af_alert_id("new_asn", "user@example.com", "US"));
}

Test(alert, id_differs_when_the_subject_differs)
{
	cr_assert_neq(af_alert_id("new_country", "user@example.com", "US"),
	              af_alert_id("new_country", "other@example.com", "US"));
}

Test(alert, id_differs_when_the_trigger_differs)
{
	cr_assert_neq(af_alert_id("signin_fail_burst", "user@example.com", "1756101480000000000"),
	              af_alert_id("signin_fail_burst", "user@example.com", "1756102080000000000"));
}

Test(alert, id_differs_when_the_same_text_is_split_differently)
{
	cr_assert_neq(af_alert_id("ab", "c", "x"), af_alert_id("a", "bc", "x"));
	cr_assert_neq(af_alert_id("r", "ab", "c"), af_alert_id("r", "a", "bc"));
	cr_assert_neq(af_alert_id("r", "", "ab"), af_alert_id("r", "ab", ""));
	cr_assert_neq(af_alert_id("rab", "", ""), af_alert_id("r", "a", "b"));
}

static int af_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

Test(alert, id_is_never_zero_and_distinct_over_many_triples)
{
	enum { N = 4096 };
	static uint64_t ids[N];
	char subject[32], trigger[32];

	for (int i = 0; i < N; i++) {
		snprintf(subject, sizeof subject, "user%d@example.com", i % 64);
		snprintf(trigger, sizeof trigger, "AS%d", i / 64);
		ids[i] = af_alert_id("new_asn", subject, trigger);
		cr_assert_neq(ids[i], 0);
	}
	qsort(ids, N, sizeof ids[0], af_cmp_u64);
	for (int i = 1; i < N; i++)
		cr_assert_neq(ids[i - 1], ids[i]);
	cr_assert_neq(af_alert_id("", "", ""), 0);
}

Test(alert, names_each_severity_and_calls_others_unknown)
{
	cr_assert_str_eq(af_severity_name(AF_SEV_LOW), "low");
	cr_assert_str_eq(af_severity_name(AF_SEV_MEDIUM), "medium");
	cr_assert_str_eq(af_severity_name(AF_SEV_HIGH), "high");
	cr_assert_str_eq(af_severity_name(AF_SEV_CRITICAL), "critical");
	cr_assert_str_eq(af_severity_name(AF_SEV_COUNT), "unknown");
	cr_assert_str_eq(af_severity_name((enum af_severity)200), "unknown");
}

Test(alert, observations_are_kept_in_the_order_they_were_added)
{
	static struct af_alert a;

	memset(&a, 0, sizeof a);
	af_alert_observe(&a, "count", 12);
	af_alert_observe_text(&a, "country", "US");
	af_alert_observe(&a, "zscore", 4.25);
	cr_assert_eq(a.nobserved, 3);
	cr_assert_str_eq(a.observed[0].name, "count");
	cr_assert_eq(a.observed[0].num, 12);
	cr_assert_eq(a.observed[0].text[0], '\0');
	cr_assert_str_eq(a.observed[1].name, "country");
	cr_assert_str_eq(a.observed[1].text, "US");
	cr_assert_str_eq(a.observed[2].name, "zscore");
	cr_assert_eq(a.observed[2].num, 4.25);
}

Test(alert, observations_past_the_limit_are_ignored)
{
	static struct af_alert a;

	memset(&a, 0, sizeof a);
	for (int i = 0; i < AF_ALERT_OBSERVED_MAX; i++)
		af_alert_observe(&a, "n", i);
	af_alert_observe(&a, "late", 99);
	af_alert_observe_text(&a, "late_text", "x");
	cr_assert_eq(a.nobserved, AF_ALERT_OBSERVED_MAX);
	cr_assert_str_eq(a.observed[AF_ALERT_OBSERVED_MAX - 1].name, "n");
	cr_assert_eq(a.observed[AF_ALERT_OBSERVED_MAX - 1].num, AF_ALERT_OBSERVED_MAX - 1);
}

Test(alert, an_empty_observed_text_is_ignored)
{
	static struct af_alert a;

	memset(&a, 0, sizeof a);
	af_alert_observe_text(&a, "country", "");
	cr_assert_eq(a.nobserved, 0);
}

Test(alert, an_observed_text_that_fits_exactly_is_kept_whole)
{
	static struct af_alert a;
	char text[AF_ALERT_TEXT_MAX];

	memset(&a, 0, sizeof a);
	memset(text, 'a', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	af_alert_observe_text(&a, "org", text);
	cr_assert_str_eq(a.observed[0].text, text);
}

Test(alert, a_long_observed_text_is_cut_before_a_split_character)
{
	static struct af_alert a;
	char text[AF_ALERT_TEXT_MAX + 8];

	/* 46 ASCII bytes then "é" (2 bytes): 48 bytes, one past the 47 allowed;
	 * the cut falls inside "é", so it goes whole. */
	memset(&a, 0, sizeof a);
	memset(text, 'a', 46);
	strcpy(text + 46, "\xc3\xa9zz");
	af_alert_observe_text(&a, "org", text);
	cr_assert_eq(strlen(a.observed[0].text), 46);
	cr_assert_eq(strspn(a.observed[0].text, "a"), 46);
}

Test(alert, a_long_observed_text_keeps_a_character_that_ends_at_the_limit)
{
	static struct af_alert a;
	char text[AF_ALERT_TEXT_MAX + 8];

	memset(&a, 0, sizeof a);
	memset(text, 'a', 45);
	strcpy(text + 45, "\xc3\xa9zzz");
	af_alert_observe_text(&a, "org", text);
	cr_assert_eq(strlen(a.observed[0].text), 47);
	cr_assert_str_eq(a.observed[0].text + 45, "\xc3\xa9");
}

Test(alert, evidence_is_appended_and_empty_ids_are_ignored)
{
	static struct af_alert a;

	memset(&a, 0, sizeof a);
	af_alert_add_evidence(&a, "r1");
	af_alert_add_evidence(&a, "");
	af_alert_add_evidence(&a, "r2");
	cr_assert_eq(a.nevidence, 2);
	cr_assert_str_eq(a.evidence[0], "r1");
	cr_assert_str_eq(a.evidence[1], "r2");
}

Test(alert, evidence_past_the_limit_is_ignored)
{
	static struct af_alert a;
	char id[16];

	memset(&a, 0, sizeof a);
	for (int i = 0; i < AF_ALERT_EVIDENCE_MAX + 3; i++) {
		snprintf(id, sizeof id, "r%d", i);
		af_alert_add_evidence(&a, id);
	}
	cr_assert_eq(a.nevidence, AF_ALERT_EVIDENCE_MAX);
	cr_assert_str_eq(a.evidence[AF_ALERT_EVIDENCE_MAX - 1], "r7");
}

Test(alert, a_long_record_id_is_cut_at_a_character_boundary)
{
	static struct af_alert a;
	char id[AF_RECORD_ID_MAX + 8];

	/* 77 ASCII bytes then a 3-byte character: it would end at byte 80, one
	 * past the 79 allowed. */
	memset(&a, 0, sizeof a);
	memset(id, 'x', 77);
	strcpy(id + 77, "\xe2\x82\xactail");
	af_alert_add_evidence(&a, id);
	cr_assert_eq(a.nevidence, 1);
	cr_assert_eq(strlen(a.evidence[0]), 77);
}
