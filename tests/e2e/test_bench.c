/* test_bench.c - `auditflow bench` end to end, at the smallest size: the
 * real binary builds its corpus and databases, measures, and its --json
 * report must hold every figure and the same alerts for every thread
 * count. Nothing here looks at speed beyond "more than zero". */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/parse/json.h"
#include "run.h"

TestSuite(bench, .init = af_e2e_setup, .fini = af_e2e_teardown);

/* The paths of the report the tests read, and their slots. */
enum {
	R_RECORDS,
	R_REWRITTEN,
	R_FRAMING,
	R_PARSE,
	R_ENRICH,
	R_DETECT,
	R_DETECT_ALERTS,
	R_NOT_FOUND,
	R_E2E1,
	R_E2E2,
	R_E2E1_EVENTS,
	R_E2E2_EVENTS,
	R_E2E1_ALERTS,
	R_E2E2_ALERTS,
	R_SAME1,
	R_SAME2,
	R_IDENTICAL,
	R_STAGES_MATCH,
	R_FLOOR,
	R_FLOOR_NS,
	R_FLOOR_DBS,
	R_FLOOR_LOOKUPS,
	R_FLOOR_FOUND,
	R_FLOOR_STAGES,
	R_FLOOR_RATIO1,
	R_FLOOR_RATIO2,
	R_SLOTS
};

static const struct af_jpath report_paths[] = {
    {"corpus.records", R_RECORDS, 0},
    {"corpus.rewritten", R_REWRITTEN, 0},
    {"stages.framing.events_per_s", R_FRAMING, 0},
    {"stages.parse.events_per_s", R_PARSE, 0},
    {"stages.enrich.events_per_s", R_ENRICH, 0},
    {"stages.detect.events_per_s", R_DETECT, 0},
    {"stages.detect.alerts", R_DETECT_ALERTS, 0},
    {"stages.enrich.not_found", R_NOT_FOUND, 0},
    {"end_to_end.threads_1.events_per_s", R_E2E1, 0},
    {"end_to_end.threads_2.events_per_s", R_E2E2, 0},
    {"end_to_end.threads_1.events", R_E2E1_EVENTS, 0},
    {"end_to_end.threads_2.events", R_E2E2_EVENTS, 0},
    {"end_to_end.threads_1.alerts", R_E2E1_ALERTS, 0},
    {"end_to_end.threads_2.alerts", R_E2E2_ALERTS, 0},
    {"end_to_end.threads_1.same_alerts", R_SAME1, 0},
    {"end_to_end.threads_2.same_alerts", R_SAME2, 0},
    {"alerts_identical", R_IDENTICAL, 0},
    {"stages_match_end_to_end", R_STAGES_MATCH, 0},
    {"stages.floor.events_per_s", R_FLOOR, 0},
    {"stages.floor.ns_per_event", R_FLOOR_NS, 0},
    {"stages.floor.databases", R_FLOOR_DBS, 0},
    {"stages.floor.lookups", R_FLOOR_LOOKUPS, 0},
    {"stages.floor.found", R_FLOOR_FOUND, 0},
    {"stages.floor.stage_sum_ratio", R_FLOOR_STAGES, 0},
    {"end_to_end.threads_1.floor_ratio", R_FLOOR_RATIO1, 0},
    {"end_to_end.threads_2.floor_ratio", R_FLOOR_RATIO2, 0},
};

struct report {
	double v[R_SLOTS]; /* numbers; booleans as 0 or 1; -1 when absent */
};

/* Run the smallest bench with extra (NULL-terminated, may be empty),
 * expect exit 0 and read its JSON report into *rep. */
static void bench(const char *const *extra, struct report *rep)
{
	const char *argv[32] = {"bench",  "--accounts", "50", "--days", "2",
	                        "--runs", "1",          "-j", "2",      "--json"};
	size_t n = 10;
	for (; *extra; extra++) {
		cr_assert_lt(n, 31);
		argv[n++] = *extra;
	}
	argv[n] = NULL;
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, argv), 0);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);

	/* the parser reads up to AF_JSON_PADDING bytes past the text */
	size_t len = strlen(r.out);
	char *text = calloc(len + AF_JSON_PADDING, 1);
	cr_assert_not_null(text);
	memcpy(text, r.out, len);
	char err[256];
	struct af_jspec *spec =
	    af_jspec_new(report_paths, sizeof(report_paths) / sizeof(report_paths[0]), R_SLOTS, err,
	                 sizeof(err));
	cr_assert_not_null(spec, "%s", err);
	struct af_jparser *jp = af_jparser_new(len + 1);
	cr_assert_not_null(jp);
	struct af_jval slots[R_SLOTS];
	cr_assert_eq(af_jparser_extract(jp, spec, text, len, slots), AF_REASON_NONE,
	             "not one JSON object: %s", r.out);
	for (int i = 0; i < R_SLOTS; i++) {
		bool b;
		if (slots[i].type == AF_J_NUMBER)
			rep->v[i] = strtod(slots[i].s, NULL);
		else if (af_jval_bool(&slots[i], &b))
			rep->v[i] = b;
		else
			rep->v[i] = -1;
	}
	af_jparser_free(jp);
	af_jspec_free(spec);
	free(text);
	af_run_free(&r);
}

Test(bench, measures_every_stage_and_thread_count_at_a_positive_rate)
{
	const char *none[] = {NULL};
	struct report rep;

	bench(none, &rep);
	cr_assert_gt(rep.v[R_RECORDS], 1000);
	static const int rates[] = {R_FRAMING, R_PARSE, R_ENRICH, R_DETECT, R_E2E1, R_E2E2};
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		cr_expect_gt(rep.v[rates[i]], 0, "%s", report_paths[rates[i]].path);
	cr_expect_eq(rep.v[R_E2E1_EVENTS], rep.v[R_RECORDS]);
	cr_expect_eq(rep.v[R_E2E2_EVENTS], rep.v[R_RECORDS]);
}

Test(bench, raises_the_same_alerts_on_one_and_two_threads)
{
	const char *none[] = {NULL};
	struct report rep;

	bench(none, &rep);
	/* the scenario's attack raises alerts, so "the same" is not "none" */
	cr_assert_gt(rep.v[R_E2E1_ALERTS], 0);
	cr_expect_eq(rep.v[R_E2E2_ALERTS], rep.v[R_E2E1_ALERTS]);
	cr_expect_eq(rep.v[R_SAME1], 1);
	cr_expect_eq(rep.v[R_SAME2], 1);
	cr_expect_eq(rep.v[R_IDENTICAL], 1);
}

Test(bench, raises_on_one_thread_stage_by_stage_the_alerts_of_the_runtime)
{
	const char *none[] = {NULL};
	struct report rep;

	bench(none, &rep);
	cr_expect_eq(rep.v[R_DETECT_ALERTS], rep.v[R_E2E1_ALERTS]);
	cr_expect_eq(rep.v[R_STAGES_MATCH], 1);
}

Test(bench, measures_the_floor_and_sets_the_pipeline_against_it)
{
	const char *none[] = {NULL};
	struct report rep;

	bench(none, &rep);
	cr_expect_gt(rep.v[R_FLOOR], 0);
	cr_expect_gt(rep.v[R_FLOOR_NS], 0);
	cr_expect_gt(rep.v[R_FLOOR_STAGES], 0);
	cr_expect_gt(rep.v[R_FLOOR_RATIO1], 0);
	cr_expect_gt(rep.v[R_FLOOR_RATIO2], 0);
}

Test(bench, looks_up_every_client_address_in_both_built_databases_for_the_floor)
{
	const char *none[] = {NULL};
	struct report rep;

	bench(none, &rep);
	cr_expect_eq(rep.v[R_FLOOR_DBS], 2);
	cr_assert_gt(rep.v[R_FLOOR_LOOKUPS], 0);
	/* two look-ups for each record with an address, and the built
	 * databases hold every network of the corpus */
	cr_expect_eq(fmod(rep.v[R_FLOOR_LOOKUPS], 2), 0);
	cr_expect_eq(rep.v[R_FLOOR_FOUND], rep.v[R_FLOOR_LOOKUPS]);
}

Test(bench, finds_every_drawn_address_in_the_databases_it_builds)
{
	const char *addresses[] = {"--addresses", "5000", NULL};
	struct report rep;

	bench(addresses, &rep);
	cr_assert_gt(rep.v[R_REWRITTEN], 0);
	cr_expect_eq(rep.v[R_NOT_FOUND], 0);
	cr_expect_eq(rep.v[R_IDENTICAL], 1);
}

Test(bench, refuses_an_unknown_option_with_status_2)
{
	const char *argv[] = {"bench", "--no-such-option", NULL};
	struct af_run r;

	cr_assert_eq(af_run(&r, NULL, argv), 0);
	cr_expect_eq(r.status, 2);
	cr_expect_neq(strstr(r.err, "no-such-option"), NULL, "%s", r.err);
	af_run_free(&r);
}

Test(bench, refuses_a_run_count_of_zero_with_status_2)
{
	const char *argv[] = {"bench", "--runs", "0", NULL};
	struct af_run r;

	cr_assert_eq(af_run(&r, NULL, argv), 0);
	cr_expect_eq(r.status, 2);
	cr_expect_neq(strstr(r.err, "--runs"), NULL, "%s", r.err);
	af_run_free(&r);
}
