/* test_flood.c - `auditflow replay` under cardinality floods: hundreds of
 * thousands of made-up accounts, each failing one sign-in from an address
 * of its own. With the state caps set low, eviction must keep the state
 * bounded and be counted in the summary, and the process's peak memory
 * must not grow with the number of accounts: a run with twenty times more
 * of them may not take more than a little extra (the exact distinct-account
 * count, at most 16 bytes an account, is all that may grow).
 *
 * Peak memory is the child's own, from getrusage(RUSAGE_CHILDREN) in this
 * test's process (Criterion runs each test in a process of its own): the
 * small run first, then the large one, whose peak is then the maximum.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "run.h"

TestSuite(flood, .init = af_e2e_setup, .fini = af_e2e_teardown);

/* n failed sign-ins, one per account, each from an address of its own,
 * over one day in time order. */
static void write_flood(const char *path, unsigned n)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	for (unsigned i = 0; i < n; i++) {
		unsigned s = (unsigned)((unsigned long long)i * 86400 / n);
		fprintf(f,
		        "{\"CreationTime\":\"2025-08-25T%02u:%02u:%02u\",\"Id\":\"flood-%u\","
		        "\"Operation\":\"UserLoginFailed\",\"UserId\":\"user%u@flood.example\","
		        "\"Workload\":\"AzureActiveDirectory\",\"ClientIP\":\"11.%u.%u.%u\","
		        "\"ResultStatus\":\"Failed\"}\n",
		        s / 3600, s / 60 % 60, s % 60, i, i, i >> 16 & 255, i >> 8 & 255, i & 255);
	}
	cr_assert_eq(fclose(f), 0);
}

/* Peak resident KiB of the largest child waited for so far. */
static long peak_kib(void)
{
	struct rusage ru;
	cr_assert_eq(getrusage(RUSAGE_CHILDREN, &ru), 0);
	return ru.ru_maxrss;
}

static char *replay(const char *config, const char *input, const char *summary)
{
	const char *args[] = {"replay",    "--no-progress", "-c",    config, "-o",
	                      "/dev/null", "--summary",     summary, input,  NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	af_run_free(&r);
	char *s = af_slurp(summary, NULL);
	cr_assert_not_null(s);
	return s;
}

Test(flood, evicts_and_counts_at_the_caps_and_keeps_memory_flat_as_accounts_grow, .timeout = 900)
{
	const unsigned small = 20000, large = 400000, cap = 2000;
	const char *config = af_e2e_path("flood.yaml");
	char yaml[256];
	snprintf(yaml, sizeof(yaml),
	         "state: {max_accounts: %u, max_addresses: %u}\n"
	         "input: {dedup_max_entries: 1024}\n",
	         cap, cap);
	cr_assert_eq(af_spit(config, yaml, strlen(yaml)), 0);

	const char *in_small = af_e2e_path("small.jsonl"), *in_large = af_e2e_path("large.jsonl");
	write_flood(in_small, small);
	write_flood(in_large, large);

	char *s1 = replay(config, in_small, af_e2e_path("small.json"));
	long peak_small = peak_kib();
	char *s2 = replay(config, in_large, af_e2e_path("large.json"));
	long peak_large = peak_kib();

	cr_assert_eq(af_json_int(s2, "events_in"), large, "%s", s2);
	cr_assert_eq(af_json_int(s2, "events_ok"), large, "%s", s2);
	cr_assert_eq(af_json_int(s2, "accounts"), large, "distinct accounts, exactly: %s", s2);
	cr_assert_not_null(strstr(s2, "\"accounts_estimated\":false"), "%s", s2);
	/* Every account and every address past the caps evicted another. */
	cr_assert_geq(af_json_int(s2, "accounts_evicted"), large - cap, "%s", s2);
	cr_assert_geq(af_json_int(s2, "addresses_evicted"), large - cap, "%s", s2);
	cr_assert_geq(af_json_int(s1, "accounts_evicted"), small - cap, "%s", s1);

	/* 380,000 more accounts and addresses: held, they would take hundreds
	 * of MB; evicted, only the exact account count (16 B each at most)
	 * and the reader's buffers may add. */
	long grown = peak_large - peak_small;
	cr_assert_lt(grown, 48 * 1024, "peak %ld KiB with %u accounts, %ld KiB with %u", peak_small,
	             small, peak_large, large);
	fprintf(stderr, "flood: peak %ld KiB for %u accounts, %ld KiB for %u (cap %u)\n",
	        peak_small, small, peak_large, large, cap);
	free(s1);
	free(s2);
}
