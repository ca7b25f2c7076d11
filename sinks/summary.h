/* summary.h - the run summary: counts of a replay or run, as JSON and text.
 *
 * Thread: built by the runtime (each shard may keep its own and they are
 * merged at the end); written once by the main thread.
 * In: counters filled by the pipeline. Out: one JSON object (--summary) with
 * the keys DESIGN.md fixes, in this order:
 *
 *   events_in, events_ok, events_invalid, invalid_by_reason {reason: n},
 *   duplicates, late, alerts, alerts_by_rule {rule: n}, accounts, wall_s,
 *   events_per_s, events_by_kind {kind: n}, events_by_schema {schema: n}
 *
 * The objects hold only non-zero counts. wall_s has 6 decimals (us),
 * events_per_s 1; both trimmed of trailing zeros. And a few aligned lines
 * of text for a person at the end of a replay (af_summary_print).
 *
 * A run stopped with a state directory also has "held" (written only when
 * non-zero): events read and kept in its checkpoint, which the resumed run
 * applies and counts.
 *
 * Invariants the pipeline keeps (af_summary_consistent checks them):
 * events_in = events_ok + events_invalid + duplicates + held (held is 0
 * unless the run was stopped with a state directory);
 * events_invalid = the sum of invalid_by_reason;
 * alerts = the sum of alerts_by_rule.
 */
#ifndef AF_SUMMARY_H
#define AF_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pipeline/alert.h"
#include "pipeline/err.h"
#include "pipeline/event.h"
#include "pipeline/reason.h"
#include "sinks/jsonw.h"

/* Distinct rule ids a summary counts; the rule table is far smaller. */
#define AF_SUMMARY_RULES_MAX 32
/* Longest rule id, with its NUL. */
#define AF_SUMMARY_RULE_NAME_MAX 32

struct af_summary_rule {
	char name[AF_SUMMARY_RULE_NAME_MAX]; /* rule id, e.g. "new_country" */
	uint64_t count;
};

struct af_summary {
	uint64_t events_in;      /* records read */
	uint64_t events_ok;      /* records that became events */
	uint64_t events_invalid; /* records dead-lettered */
	uint64_t invalid_by_reason[AF_REASON_COUNT];
	uint64_t duplicates; /* records dropped as already seen */
	uint64_t late;       /* events older than their window allows */
	uint64_t held;       /* events kept in a stop's checkpoint, not applied */
	uint64_t alerts;
	/* The first rules_n entries are used, in first-seen order. */
	struct af_summary_rule alerts_by_rule[AF_SUMMARY_RULES_MAX];
	uint32_t rules_n;
	uint64_t alerts_by_severity[AF_SEV_COUNT]; /* by enum af_severity (for metrics; not
	                                   in the JSON object) */
	uint64_t accounts;                         /* distinct accounts seen */
	bool accounts_estimated;                   /* accounts is a sketch's estimate (more than
	                                              pipeline/state/keyset.h holds exactly) */
	uint64_t accounts_evicted;  /* account states dropped at state.max_accounts */
	uint64_t addresses_evicted; /* address states dropped at state.max_addresses */
	uint64_t by_kind[AF_KIND_COUNT];
	uint64_t by_schema[AF_SCHEMA_COUNT];
	double wall_s; /* wall-clock seconds of the run */
};

/* Zero every count. */
void af_summary_init(struct af_summary *s);

/* Add n alerts of rule (borrowed; copied). Returns AF_E_INVALID, counting
 * the alerts in s->alerts only, when rule is longer than
 * AF_SUMMARY_RULE_NAME_MAX - 1 or the table already holds
 * AF_SUMMARY_RULES_MAX other rules. Cost: a scan of at most 32 names. */
af_err_t af_summary_add_alerts(struct af_summary *s, const char *rule, uint64_t n);

/* Add the counts of from into into (per-shard summaries); wall_s becomes
 * the larger of the two. Returns AF_E_INVALID if a rule did not fit. */
af_err_t af_summary_merge(struct af_summary *into, const struct af_summary *from);

/* events_in / wall_s; 0 when wall_s is 0, negative or not finite. */
double af_summary_events_per_s(const struct af_summary *s);

/* True when the invariants above hold. */
bool af_summary_consistent(const struct af_summary *s);

/* Append the summary object to w (no newline). */
void af_summary_format(struct af_jsonw *w, const struct af_summary *s);

/* Write the summary object and a newline to path ("-" is standard output;
 * a file is created or truncated). Returns AF_OK, or AF_E_IO with errstr
 * naming the path and the cause. */
af_err_t af_summary_write(const struct af_summary *s, const char *path, char *errstr,
                          size_t errstr_size);

/* A few aligned lines for a person (for stderr at the end of a replay):
 * events in/ok/invalid/duplicates/late with shares, accounts, alerts, wall
 * time and rate, then non-zero counts by reason, schema, kind and rule.
 * f: borrowed, not closed. Returns AF_E_IO if writing to f failed. */
af_err_t af_summary_print(FILE *f, const struct af_summary *s);

#endif
