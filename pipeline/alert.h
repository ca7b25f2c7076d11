/* alert.h - an alert: what a rule raises, as the sinks write it.
 *
 * Thread: made by the shard that owns the account (or address), then
 * handed to the sink thread by value (it owns no memory elsewhere).
 * Out: sinks/alert_out.h writes it as native JSON (DESIGN.md), OCSF
 * Detection Finding or ECS.
 *
 * DESIGN: the id is derived from what the alert is about (rule, the
 * account or address, and the trigger: the new country or ASN, or the
 * start of the window for a burst), never from arrival order, so a
 * re-delivered or re-processed stream yields the same ids and a downstream
 * store can deduplicate. af_alert_id() is the only way ids are made.
 */
#ifndef AF_ALERT_H
#define AF_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/event.h"
#include "pipeline/ip.h"

enum af_severity {
	AF_SEV_LOW = 0,
	AF_SEV_MEDIUM,
	AF_SEV_HIGH,
	AF_SEV_CRITICAL,
	AF_SEV_COUNT, /* not a severity: the number of them */
};

/* "low", "medium", "high", "critical"; "unknown" out of range. Static text. */
const char *af_severity_name(enum af_severity sev);

#define AF_ALERT_OBSERVED_MAX 8  /* rule-specific values */
#define AF_ALERT_EVIDENCE_MAX 8  /* record ids kept as evidence */
#define AF_ALERT_TEXT_MAX     48 /* a text value in observed */
#define AF_ALERT_MESSAGE_MAX  256

/* One rule-specific observation: a number, or a short text when text[0]
 * is not NUL ("country": "US"). */
struct af_alert_value {
	const char *name; /* static text, e.g. "count", "zscore", "kmh" */
	double num;
	char text[AF_ALERT_TEXT_MAX];
};

struct af_alert {
	uint64_t id;                  /* af_alert_id(); written as 16 lower-case hex digits */
	const char *rule;             /* rule id (DESIGN.md's table), static text */
	uint8_t severity;             /* enum af_severity */
	int64_t ts_ns;                /* event time of the event that raised it */
	char account[AF_ACCOUNT_MAX]; /* "" for per-address alerts (password_spray):
	                                 written as "account": null */
	struct af_ip src;             /* the source address of that event, if any */
	struct af_geo geo;            /* its geo facts */
	struct af_alert_value observed[AF_ALERT_OBSERVED_MAX];
	uint8_t nobserved;
	char evidence[AF_ALERT_EVIDENCE_MAX][AF_RECORD_ID_MAX]; /* record ids */
	uint8_t nevidence;
	char message[AF_ALERT_MESSAGE_MAX]; /* one sentence a person can read */
};

/* The deterministic id: xxh3 of rule, subject (account or address text) and
 * trigger (e.g. "US", "AS64500", or the window start as decimal ns),
 * separated so that no two different triples give the same input bytes.
 * Never 0. All three borrowed; "" is allowed (e.g. no trigger).
 * @pre rule, subject and trigger are not NULL.
 * Thread: any (pure). Cost: one xxh3 over the three texts. */
uint64_t af_alert_id(const char *rule, const char *subject, const char *trigger);

/* Append a number / a text to a->observed (ignored when full). name is
 * static text, kept by pointer. text is borrowed: copied and cut to
 * AF_ALERT_TEXT_MAX - 1 bytes at a UTF-8 boundary; an empty text is ignored
 * (it would read back as the number 0). The output writes observations in
 * the order they were added. */
void af_alert_observe(struct af_alert *a, const char *name, double num);
void af_alert_observe_text(struct af_alert *a, const char *name, const char *text);

/* Append a record id to the evidence (ignored when full or empty).
 * record_id is borrowed: copied and cut to AF_RECORD_ID_MAX - 1 bytes at a
 * UTF-8 boundary. */
void af_alert_add_evidence(struct af_alert *a, const char *record_id);

#endif
