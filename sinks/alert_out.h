/* alert_out.h - alerts as JSON lines: native, OCSF Detection Finding or ECS.
 *
 * Thread: the sink thread owns an output (open/write/flush/close).
 * af_alert_out_format is pure and may be called from any thread with its
 * own writer (Kafka, HTTP and syslog sinks format into their own buffers).
 * In: struct af_alert (pipeline/alert.h). Out: one JSON object per alert.
 *
 * Ids are written as 16 lower-case hex digits, zero-padded. Text (account,
 * city, AS organization, observed texts, record ids, message) is escaped by
 * the JSON writer; invalid UTF-8 is replaced by U+FFFD. Coordinates have 6
 * decimals (0.1 m); observed numbers the shortest text that reads back
 * exactly ("12", "4.25"). A member whose value is unknown (empty text,
 * zero ASN, no location flag) is left out, in every format.
 *
 * native (DESIGN.md "Alert (native JSON line)"), keys in this order:
 *   id, rule, severity ("low".."critical"), account (null for per-address
 *   alerts), ts (RFC 3339 UTC), src {ip, country, city, lat, lon, asn,
 *   as_org} (left out when there is no address and no geo fact), observed
 *   {name: number or text} and evidence [record ids] (always, maybe empty),
 *   message (always).
 *
 * OCSF 1.1.0 Detection Finding (class_uid 2004), checked against the
 * schema's class, finding_info, analytic, evidences and location
 * definitions:
 *   class_uid 2004, class_name, category_uid 2 "Findings", activity_id 1
 *   "Create", type_uid 200401, type_name, severity_id (low 2, medium 3,
 *   high 4, critical 5) and severity ("Low".."Critical"), status_id 1 "New",
 *   time (ms since the epoch, floored), message, metadata {version "1.1.0",
 *   product {name, vendor_name: "auditflow"}}, finding_info {uid: the alert
 *   id, title: a short title per rule (af_alert_out_title), desc: the
 *   message, types [rule], analytic {name: rule, type_id 1, type "Rule"}},
 *   evidences [{actor {user {name}}, src_endpoint {ip, location {country,
 *   city, coordinates}, autonomous_system {number, name}}}], unmapped
 *   {observed {...}, evidence [...]}.
 *   Choices: a Detection Finding has no top-level actor or src_endpoint in
 *   1.1 (actor arrives only with a profile), so both sit in the one Evidence
 *   Artifacts object, whose purpose is exactly "the activity that triggered
 *   the detection"; evidences is left out when it would be empty. Location
 *   in 1.1 has "coordinates" ([lon, lat], GeoJSON order); "lat"/"long"
 *   arrived in 1.2. Observations and record ids have no OCSF home and go to
 *   "unmapped" (left out when both are empty). message and desc are left
 *   out when the message is empty.
 *
 * ECS (Elastic Common Schema), dotted flat keys as in events_ecs.h:
 *   @timestamp, event.kind "alert", event.category by rule (["authentication"]
 *   for the sign-in rules; ["email"] for the sending rules; ["email",
 *   "configuration"] for inbox rules and forwarding, as events_ecs.h files
 *   those events; ["authentication","email"] for account_takeover, a chain
 *   of both; left out for a rule it does not know), event.severity (low 21,
 *   medium 47, high 73, critical 99: the risk scores Elastic's detection
 *   rules pair with those four severities, so alerts sort with theirs),
 *   event.id (the alert id), rule.id and rule.name (the rule id),
 *   rule.description (the title), message, user.name, source.ip,
 *   source.geo.country_iso_code, source.geo.city_name, source.geo.location
 *   {lat, lon}, source.as.number, source.as.organization.name,
 *   auditflow.severity (the native word), auditflow.observed.<name> per
 *   observation, auditflow.evidence [record ids] (left out when empty).
 */
#ifndef AF_ALERT_OUT_H
#define AF_ALERT_OUT_H

#include <stddef.h>

#include "pipeline/alert.h"
#include "pipeline/config.h"
#include "pipeline/err.h"
#include "sinks/jsonw.h"
#include "sinks/summary.h"

/* A short title a person reads first ("Sign-in from a new country");
 * the rule id itself for a rule not in DESIGN.md's table. Static text,
 * or rule (borrowed). */
const char *af_alert_out_title(const char *rule);

/* Append a as one JSON object in format (enum af_output_format) to w (no
 * newline), for any sink. a: borrowed.
 * Cost: ~30-50 short appends, hand-made hex and number formats; one
 * snprintf per observed number; no allocation. */
void af_alert_out_format(struct af_jsonw *w, const struct af_alert *a,
                         enum af_output_format format);

struct af_alert_out;

/* Open path for alert lines in format ("-" is standard output; a file is
 * created or truncated). counts: borrowed, may be NULL; when set, every
 * alert given to af_alert_out_write is counted there by rule
 * (af_summary_add_alerts), whether or not its write succeeds, so the
 * caller must not count the same alerts again. It must outlive out and is
 * touched only by the thread that writes.
 * Returns NULL and writes errstr (naming the path and the cause) on failure. */
struct af_alert_out *af_alert_out_open(const char *path, enum af_output_format format,
                                       struct af_summary *counts, char *errstr, size_t errstr_size);

/* Open path as af_alert_out_open does, keeping the alert lines it holds,
 * for a run resumed from a checkpoint (sinks/jsonw.h,
 * af_jsonw_open_append): a missing file is created, a partial last line is
 * cut off and *cut (may be NULL) gets its length, and new alerts go after
 * the old ones. Every format, the table included, is one line per alert
 * with no header, bracket or other framing written at open or close, so
 * appending is just more lines; a file written in another format is not
 * detected and ends up mixed. counts: as af_alert_out_open; the alerts
 * already in the file are not counted.
 * Returns NULL and writes errstr (naming the path and the cause) on failure. */
struct af_alert_out *af_alert_out_open_append(const char *path, enum af_output_format format,
                                              struct af_summary *counts, uint64_t *cut,
                                              char *errstr, size_t errstr_size);

/* Rotate the file by size (sinks/jsonw.h, af_jsonw_rotate_by_size): after
 * the line that takes it to max_bytes, FILE becomes FILE.1 and older ones
 * move up, keep at most. Returns false, and never rotates, for standard
 * output or anything but a regular file. @pre keep >= 1. */
bool af_alert_out_rotate_by_size(struct af_alert_out *out, uint64_t max_bytes, uint32_t keep);

/* Write a as one line. a: borrowed.
 * Returns AF_OK, or AF_E_IO once a write has failed (af_alert_out_close
 * gives the cause). Cost: af_alert_out_format plus a write(2) when the
 * buffer is half full; call af_alert_out_flush for alerts to leave now. */
af_err_t af_alert_out_write(struct af_alert_out *out, const struct af_alert *a);

/* Write buffered lines out now. Alerts are rare and wanted promptly, so a
 * sink should call this whenever its inbound ring runs empty. AF_E_IO if this or an earlier
 * write failed. */
af_err_t af_alert_out_flush(struct af_alert_out *out);

/* Write what is buffered, close and free out. Returns AF_OK, or AF_E_IO with
 * errstr naming the path and the cause if any write failed. NULL is a no-op. */
af_err_t af_alert_out_close(struct af_alert_out *out, char *errstr, size_t errstr_size);

#endif
