/* gen.h - `auditflow gen`: synthetic audit logs of an invented organisation,
 * with attacks embedded, for tests, benchmarks and demos.
 *
 * Thread: the caller's (the main thread of `auditflow gen`, or a test).
 * In: options (scenario, seed, size, start time, volumes). Out: five files in
 * one directory:
 *   signins.jsonl      Entra sign-ins, Graph signIn objects
 *   audit.jsonl        Management Activity API records (Exchange mailbox
 *                      items, inbox rules, Set-Mailbox, Entra logons)
 *   messagetrace.jsonl message trace rows, one per (message, recipient)
 *   truth.jsonl        one line per alert the records must raise
 *   networks.jsonl     one line per network the records use, with the geo
 *                      and ASN facts to build matching MaxMind databases
 * Each record file is sorted by event time and every record has an id of its
 * own, so `auditflow replay` merges the three files as exported.
 *
 * DESIGN: the output depends only on the options: the generator has its own
 * PRNG (xoshiro256**, seeded through splitmix64 per account and day), no
 * clock, no rand(), no hash-table iteration order; same options, same bytes.
 * Every address is one that claims nothing about a real network: the
 * documentation ranges (RFC 5737, RFC 3849), the benchmarking range
 * 198.18.0.0/15 cut into /24s, documentation and private-use AS numbers
 * (RFC 5398, RFC 6996), and .example domains (RFC 2606). No internal range
 * (10/8, 100.64/10, ...) is used for public egress, since the enricher skips
 * those. See ingest/gen_scenarios.c for what the organisation does.
 */
#ifndef AF_GEN_H
#define AF_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"

enum af_gen_scenario {
	AF_GEN_BASELINE = 0,   /* the organisation alone */
	AF_GEN_SEED_INCIDENT,  /* DESIGN.md's incident, for a user in Vietnam */
	AF_GEN_PASSWORD_SPRAY, /* one address failing against many accounts */
	AF_GEN_BEC_INBOX_RULE, /* takeover, then a rule hiding replies */
	AF_GEN_FORWARDING,     /* takeover, then forwarding to another domain */
	AF_GEN_SCENARIO_COUNT
};

/* The files written into the output directory. */
#define AF_GEN_SIGNINS_FILE  "signins.jsonl"
#define AF_GEN_AUDIT_FILE    "audit.jsonl"
#define AF_GEN_TRACE_FILE    "messagetrace.jsonl"
#define AF_GEN_TRUTH_FILE    "truth.jsonl"
#define AF_GEN_NETWORKS_FILE "networks.jsonl"

/* Limits the options are checked against (af_gen_opts_check). */
#define AF_GEN_ACCOUNTS_MAX 100000u
#define AF_GEN_DAYS_MAX     3660u
#define AF_GEN_PER_DAY_MAX  1000u

struct af_gen_opts {
	enum af_gen_scenario scenario;
	uint64_t seed;     /* default 1 */
	uint32_t accounts; /* people and service accounts; default 200 */
	uint32_t days;     /* default 14 */
	int64_t start_ns;  /* beginning of day 0, UTC; default 2025-08-01 */
	/* Per person and working day, each person's rate drawn once in
	 * [lo, hi]: sign-ins (interactive and token refreshes) and sends. */
	uint32_t signins_lo, signins_hi; /* default 20-60 */
	uint32_t sends_lo, sends_hi;     /* default 5-50 */
};

/* What af_gen_run wrote. */
struct af_gen_stats {
	uint64_t signins;  /* lines of signins.jsonl */
	uint64_t audit;    /* lines of audit.jsonl */
	uint64_t trace;    /* lines of messagetrace.jsonl */
	uint64_t truth;    /* lines of truth.jsonl */
	uint64_t networks; /* lines of networks.jsonl */
};

/* Fill o with the defaults (scenario baseline). */
void af_gen_opts_init(struct af_gen_opts *o);

/* The scenario's command-line name ("seed-incident"); never NULL. */
const char *af_gen_scenario_name(enum af_gen_scenario s);

/* The scenario named name, into *out. False if there is none. */
bool af_gen_scenario_parse(const char *name, enum af_gen_scenario *out);

/* Check o against the limits and the scenario's needs (an attack needs
 * two days: one of history, one for the attack). AF_E_CONFIG and a
 * sentence in errstr when o cannot be generated. */
af_err_t af_gen_opts_check(const struct af_gen_opts *o, char *errstr, size_t errstr_size);

/* Generate the scenario of o into dir (created, with its parents, if
 * missing; existing files of the same names are replaced) and fill *st.
 * Returns AF_OK; AF_E_CONFIG for options af_gen_opts_check refuses;
 * AF_E_IO when a directory or file cannot be made or written (errstr names
 * it); AF_E_NOMEM. A failed run may leave partial files.
 * Cost: memory for the accounts plus about two days of events (some 10 KB
 * per account); time linear in the records written (1,000 accounts x 30
 * days, about 2.4 million records and 1.7 GB, in a few seconds). */
af_err_t af_gen_run(const struct af_gen_opts *o, const char *dir, struct af_gen_stats *st,
                    char *errstr, size_t errstr_size);

#endif
