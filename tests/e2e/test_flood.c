/* test_flood.c - `auditflow replay` under cardinality floods: millions of
 * made-up accounts, each failing one sign-in from an address of its own;
 * and millions of addresses failing sign-ins to fifty accounts. With the
 * state caps set low, eviction must keep the state bounded and be counted
 * in the summary, and the process's peak memory must not grow with the
 * flood: a run with a hundred times more accounts or addresses may not
 * take more than a little extra (the exact distinct-account count, at most
 * 16 bytes an account up to 2^20 a thread, is all that may grow). Past
 * 2^20 accounts a thread the count is an estimate, which must be close.
 * Under a sanitizer the floods are a fifth as large.
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
#include <time.h>

#include "pipeline/state/keyset.h"
#include "run.h"

TestSuite(flood, .init = af_e2e_setup, .fini = af_e2e_teardown);

/* The small run is large enough to touch all of the pipeline's pools, so
 * that what the large one adds is what the flood itself costs. */
#if AF_E2E_SANITIZED
#define FLOOD_SMALL 20000u
#define FLOOD_LARGE 400000u
#else
#define FLOOD_SMALL 250000u
#define FLOOD_LARGE 2500000u
#endif
/* The replays' threads: each keeps its own exact account count. */
#define FLOOD_THREADS 2
#define FLOOD_CAP     2000u

/* n failed sign-ins, each from an address of its own, four a second from
 * 2025-08-25 in time order (the same rate whatever n, so that a larger
 * flood differs only in how many accounts or addresses it has): one per
 * account, or (accounts > 0) to that many accounts in turn. */
static void write_flood(const char *path, unsigned n, unsigned accounts)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	for (unsigned i = 0; i < n; i++) {
		time_t t = 1756080000 + (time_t)(i / 4);
		struct tm tm;
		char when[32];
		cr_assert_not_null(gmtime_r(&t, &tm));
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(f,
		        "{\"CreationTime\":\"%s\",\"Id\":\"flood-%u\","
		        "\"Operation\":\"UserLoginFailed\",\"UserId\":\"user%u@flood.example\","
		        "\"Workload\":\"AzureActiveDirectory\",\"ClientIP\":\"%u.%u.%u.%u\","
		        "\"ResultStatus\":\"Failed\"}\n",
		        when, i, accounts ? i % accounts : i, 10 + (i >> 24), i >> 16 & 255,
		        i >> 8 & 255, i & 255);
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
	const char *args[] = {"replay", "--no-progress", "-j",        "2",     "-c",  config,
	                      "-o",     "/dev/null",     "--summary", summary, input, NULL};
	_Static_assert(FLOOD_THREADS == 2, "the -j given");
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	af_run_free(&r);
	char *s = af_slurp(summary, NULL);
	cr_assert_not_null(s);
	return s;
}

static const char *flood_config(void)
{
	const char *config = af_e2e_path("flood.yaml");
	char yaml[256];
	snprintf(yaml, sizeof(yaml),
	         "state: {max_accounts: %u, max_addresses: %u}\n"
	         "input: {dedup_max_entries: 1024}\n",
	         FLOOD_CAP, FLOOD_CAP);
	cr_assert_eq(af_spit(config, yaml, strlen(yaml)), 0);
	return config;
}

/* A small flood, then a large one (write_flood's accounts), each
 * replayed under flood_config: their summaries (owned) and the peak
 * memory after each (the large one's peak is the maximum of both). */
struct floods {
	char *small, *large;
	long peak_small, peak_large;
};

static void floods_run(struct floods *fl, unsigned accounts)
{
	const char *config = flood_config();
	const char *in_small = af_e2e_path("small.jsonl"), *in_large = af_e2e_path("large.jsonl");
	write_flood(in_small, FLOOD_SMALL, accounts);
	write_flood(in_large, FLOOD_LARGE, accounts);
	fl->small = replay(config, in_small, af_e2e_path("small.json"));
	fl->peak_small = peak_kib();
	fl->large = replay(config, in_large, af_e2e_path("large.json"));
	fl->peak_large = peak_kib();
}

Test(flood, evicts_and_counts_at_the_caps_and_keeps_memory_flat_as_accounts_grow, .timeout = 900)
{
	const unsigned small = FLOOD_SMALL, large = FLOOD_LARGE, cap = FLOOD_CAP;
	struct floods fl;
	floods_run(&fl, 0);
	char *s1 = fl.small, *s2 = fl.large;
	long peak_small = fl.peak_small, peak_large = fl.peak_large;

	cr_assert_eq(af_json_int(s2, "events_in"), large, "%s", s2);
	cr_assert_eq(af_json_int(s2, "events_ok"), large, "%s", s2);
	cr_assert_eq(af_json_int(s1, "accounts"), small, "distinct accounts, exactly: %s", s1);
	/* Exact up to 2^20 accounts a thread, an estimate past that. */
	long long accounts = af_json_int(s2, "accounts");
	if (strstr(s2, "\"accounts_estimated\":true") != NULL)
		cr_assert(accounts > large * 0.97 && accounts < large * 1.03,
		          "%lld accounts estimated of %u: %s", accounts, large, s2);
	else
		cr_assert_eq(accounts, large, "distinct accounts, exactly: %s", s2);
	/* Every account and every address past the caps evicted another. */
	cr_assert_geq(af_json_int(s2, "accounts_evicted"), large - cap, "%s", s2);
	cr_assert_geq(af_json_int(s2, "addresses_evicted"), large - cap, "%s", s2);
	cr_assert_geq(af_json_int(s1, "accounts_evicted"), small - cap, "%s", s1);

	/* Millions more accounts and addresses: held, they would take
	 * gigabytes; evicted, only the exact account count may add (16 B an
	 * account at most, up to AF_KEYSET_EXACT_MAX a thread), and a little
	 * for the reader's buffers. */
	long grown = peak_large - peak_small;
	long allowed = (long)(AF_KEYSET_EXACT_MAX * 16 / 1024) * FLOOD_THREADS + 16 * 1024;
	cr_assert_lt(grown, allowed, "peak %ld KiB with %u accounts, %ld KiB with %u", peak_small,
	             small, peak_large, large);
	fprintf(stderr,
	        "flood: peak %ld KiB for %u accounts, %ld KiB for %u (cap %u), %lld counted\n",
	        peak_small, small, peak_large, large, cap, accounts);
	free(s1);
	free(s2);
}

Test(flood, evicts_and_counts_at_the_cap_and_keeps_memory_flat_as_addresses_grow, .timeout = 900)
{
	const unsigned small = FLOOD_SMALL, large = FLOOD_LARGE, cap = FLOOD_CAP, accounts = 50;
	struct floods fl;
	floods_run(&fl, accounts);
	char *s1 = fl.small, *s2 = fl.large;
	long peak_small = fl.peak_small, peak_large = fl.peak_large;

	cr_assert_eq(af_json_int(s2, "events_in"), large, "%s", s2);
	cr_assert_eq(af_json_int(s2, "events_ok"), large, "%s", s2);
	cr_assert_eq(af_json_int(s2, "accounts"), accounts, "%s", s2);
	cr_assert_eq(af_json_int(s2, "accounts_evicted"), 0, "%s", s2);
	cr_assert_geq(af_json_int(s2, "addresses_evicted"), large - cap, "%s", s2);
	cr_assert_geq(af_json_int(s1, "addresses_evicted"), small - cap, "%s", s1);
	/* Nothing grows with the addresses: no exact count is kept of them. */
	long grown = peak_large - peak_small;
	cr_assert_lt(grown, 16 * 1024, "peak %ld KiB with %u addresses, %ld KiB with %u",
	             peak_small, small, peak_large, large);
	fprintf(stderr, "flood: peak %ld KiB for %u addresses, %ld KiB for %u (cap %u)\n",
	        peak_small, small, peak_large, large, cap);
	free(s1);
	free(s2);
}
