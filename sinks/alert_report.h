/* alert_report.h - the alerts of a run, tallied for a person: how many of
 * each severity, and the accounts (or, for per-address alerts, the
 * addresses) with the most severe of them, for the end of a replay.
 *
 * Thread: one writer (the runtime's sink thread, as it hands each alert
 * on); read by the main thread after the run has been waited for.
 * DESIGN: bounded. At most max_subjects accounts and addresses are kept
 * (a flood of alerts about distinct addresses cannot take more); the
 * alerts of those that do not fit are counted by severity and in
 * "others", never dropped from the totals. A subject's entry is made when
 * its first alert comes: an allocation per new subject, never per record.
 */
#ifndef AF_ALERT_REPORT_H
#define AF_ALERT_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pipeline/alert.h"
#include "pipeline/err.h"

struct af_alert_report;

/* An empty report keeping at most max_subjects subjects (at least 1).
 * NULL when out of memory. */
struct af_alert_report *af_alert_report_new(size_t max_subjects);

/* Frees r; NULL is ignored. */
void af_alert_report_free(struct af_alert_report *r);

/* Count alert a (borrowed) under its severity and its subject: the account,
 * or the source address for an alert about an address. Cost: a hash probe;
 * a new subject allocates once. */
void af_alert_report_add(struct af_alert_report *r, const struct af_alert *a);

/* Alerts counted of severity sev (all subjects). */
uint64_t af_alert_report_count(const struct af_alert_report *r, enum af_severity sev);

/* Write, for a person: the alerts by severity, then the top subjects by
 * their most severe alert, then by how many, then by name, each with its
 * counts by severity and its rules (nothing when no alert was counted).
 * Returns AF_E_IO if writing to f failed. */
af_err_t af_alert_report_print(FILE *f, const struct af_alert_report *r, size_t top);

#endif
