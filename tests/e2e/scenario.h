/* scenario.h - detection end to end on `auditflow gen` scenarios.
 *
 * Thread: the test's. Runs the real binary's gen into the test's scratch
 * folder, scripts/gen-mmdb (perl) for the matching geo databases, then
 * replays and reads back the alerts and the truth file.
 *
 * DESIGN: an alert is explained by a truth line of its rule and subject
 * (account, or source address for per-address rules) whose [from, to]
 * holds the alert's time; a truth line that is not marked benign must be
 * matched by at least one alert. What is left over on either side is what
 * the tests judge: missing attack alerts and unexplained (false) alerts.
 */
#ifndef AF_TEST_SCENARIO_H
#define AF_TEST_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct af_scn_alert {
	char id[24], rule[32], subject[128];
	int64_t ts;
	bool explained;
};

struct af_scn_truth {
	char rule[32], subject[128];
	int64_t from, to;
	bool benign, matched;
	char note[256];
};

struct af_scn {
	struct af_scn_truth *truth;
	size_t ntruth;
	struct af_scn_alert *alerts;
	size_t nalerts;
	char *alert_text; /* the alerts file as written, owned */
};

/* Write scenario (with the extra gen options, NULL-terminated, may be
 * NULL) into the scratch folder and build its databases; asserts on any
 * failure. */
void af_scn_make(const char *scenario, const char *const *gen_args);

struct af_e2e_broker;

/* Open *b (af_e2e_broker_open with broker_args, borrowed) and produce the
 * scenario's three files into topics of their names (signins, audit,
 * messagetrace) with kcat, batches as af_e2e_produce takes them (NULL:
 * as they are). Returns the records produced; asserts on any failure. */
long long af_scn_to_broker(struct af_e2e_broker *b, const char *const *broker_args,
                           const char *const *batches);

/* Replay the scratch folder's inputs (names in it, NULL-terminated; NULL
 * = signins, audit, message trace) with its geo.yaml and the extra
 * options (NULL-terminated, may be NULL), alerts to the scratch file
 * alerts_name; then read truth and alerts into *s. Asserts on failure. */
void af_scn_replay(struct af_scn *s, const char *const *inputs, const char *const *extra,
                   const char *alerts_name);

/* Match alerts against truth (fills explained and matched). Returns the
 * unexplained alerts; *missing gets the unmatched non-benign truth lines. */
size_t af_scn_match(struct af_scn *s, size_t *missing);

/* Explain a mismatch: the missing truth lines and unexplained alerts, as
 * text for an assertion message (owned). */
char *af_scn_report(const struct af_scn *s);

/* The alert lines sorted, as one text (owned): a set to compare runs by. */
char *af_scn_sorted_alerts(const struct af_scn *s);

void af_scn_free(struct af_scn *s);

#endif
