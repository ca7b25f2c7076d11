/* alert_out.c - one alert as one JSON object, in the format asked for.
 *
 * Thread: the caller's (af_alert_out_format); the thread owning the output
 * (af_alert_out_open/open_append/write/flush/close). In: struct af_alert.
 * Out: native, OCSF or ECS JSON text; the field lists and the choices
 * behind them are in alert_out.h.
 */
#include "sinks/alert_out.h"

#include "sinks/events_ecs.h"

#include <stdlib.h>
#include <string.h>

#include "pipeline/ip.h"
#include "pipeline/parse/timestamp.h"

struct af_alert_out {
	struct af_jsonw *w; /* owned */
	enum af_output_format format;
	struct af_summary *counts; /* borrowed; NULL: not counted */
};

/* What each rule of DESIGN.md's table is called for a person, and which
 * ECS categories its alerts belong to. */
static const struct {
	const char *rule;
	const char *title;
	const char *category[2]; /* second may be NULL */
} af_alert_rules[] = {
    {"new_country", "Sign-in from a new country", {"authentication", NULL}},
    {"impossible_travel", "Impossible travel between sign-ins", {"authentication", NULL}},
    {"new_asn", "Sign-in from a new network (ASN)", {"authentication", NULL}},
    {"signin_fail_burst", "Burst of failed sign-ins", {"authentication", NULL}},
    {"password_spray", "Password spray from one address", {"authentication", NULL}},
    {"mail_send_burst", "Burst of sent mail", {"email", NULL}},
    {"mass_recipients", "Mail to an unusual number of recipients", {"email", NULL}},
    {"sent_items_bypass", "Sent mail kept out of Sent Items", {"email", NULL}},
    {"inbox_rule_tamper", "Suspicious inbox rule", {"email", "configuration"}},
    {"mailbox_forwarding", "Mailbox forwarding to an external address", {"email", "configuration"}},
    {"sender_name_spoof", "Recipients named as the sender", {"email", NULL}},
    {"account_takeover", "Likely account takeover", {"authentication", "email"}},
};

#define AF_ALERT_NRULES (sizeof af_alert_rules / sizeof af_alert_rules[0])

/* Index into af_alert_rules, or AF_ALERT_NRULES for a rule it lacks. */
static size_t af_alert_rule_find(const char *rule)
{
	size_t i;

	for (i = 0; i < AF_ALERT_NRULES; i++)
		if (strcmp(af_alert_rules[i].rule, rule) == 0)
			break;
	return i;
}

const char *af_alert_out_title(const char *rule)
{
	size_t i = af_alert_rule_find(rule);

	return i < AF_ALERT_NRULES ? af_alert_rules[i].title : rule;
}

/* The counts are uint8_t filled by alert.c; a struct that crossed a ring
 * from a buggy rule must still not make the writer read past the arrays. */
static size_t af_alert_nobserved(const struct af_alert *a)
{
	return a->nobserved < AF_ALERT_OBSERVED_MAX ? a->nobserved : AF_ALERT_OBSERVED_MAX;
}

static size_t af_alert_nevidence(const struct af_alert *a)
{
	return a->nevidence < AF_ALERT_EVIDENCE_MAX ? a->nevidence : AF_ALERT_EVIDENCE_MAX;
}

static void af_alert_id_value(struct af_jsonw *w, uint64_t id)
{
	static const char digits[] = "0123456789abcdef";
	char hex[16];

	for (int i = 15; i >= 0; i--) {
		hex[i] = digits[id & 0xf];
		id >>= 4;
	}
	af_jsonw_string_len(w, hex, sizeof hex);
}

static void af_alert_ts_value(struct af_jsonw *w, int64_t ts_ns)
{
	char ts[AF_TS_TEXT_MAX];
	size_t n = af_ts_format(ts_ns, ts, sizeof ts);

	af_jsonw_string_len(w, ts, n);
}

/* The source address as text into ip (AF_IP_TEXT_MAX bytes); 0 if none. */
static size_t af_alert_ip(const struct af_alert *a, char *ip)
{
	if (a->src.family == AF_IP_NONE)
		return 0;
	return af_ip_format(&a->src, ip, AF_IP_TEXT_MAX);
}

static bool af_alert_has_geo(const struct af_geo *g)
{
	return g->country[0] != '\0' || g->city[0] != '\0' || (g->flags & AF_GEO_HAS_LOCATION) ||
	       g->asn != 0 || g->as_org[0] != '\0';
}

static void af_alert_value(struct af_jsonw *w, const struct af_alert_value *v)
{
	if (v->text[0] != '\0')
		af_jsonw_string(w, v->text);
	else
		af_jsonw_double(w, v->num);
}

/* {"name": value, ...} in the order the rule added them. */
static void af_alert_observed_object(struct af_jsonw *w, const struct af_alert *a)
{
	af_jsonw_object_begin(w);
	for (size_t i = 0; i < af_alert_nobserved(a); i++) {
		af_jsonw_key(w, a->observed[i].name);
		af_alert_value(w, &a->observed[i]);
	}
	af_jsonw_object_end(w);
}

static void af_alert_evidence_array(struct af_jsonw *w, const struct af_alert *a)
{
	af_jsonw_array_begin(w);
	for (size_t i = 0; i < af_alert_nevidence(a); i++)
		af_jsonw_string(w, a->evidence[i]);
	af_jsonw_array_end(w);
}

/* native */

static void af_alert_native_src(struct af_jsonw *w, const struct af_alert *a)
{
	const struct af_geo *g = &a->geo;
	char ip[AF_IP_TEXT_MAX];
	size_t n = af_alert_ip(a, ip);

	if (n == 0 && !af_alert_has_geo(g))
		return;
	af_jsonw_key(w, "src");
	af_jsonw_object_begin(w);
	if (n > 0)
		af_jsonw_field_string_len(w, "ip", ip, n);
	if (g->country[0] != '\0')
		af_jsonw_field_string(w, "country", g->country);
	if (g->city[0] != '\0')
		af_jsonw_field_string(w, "city", g->city);
	if (g->flags & AF_GEO_HAS_LOCATION) {
		af_jsonw_field_double_fixed(w, "lat", g->lat, 6);
		af_jsonw_field_double_fixed(w, "lon", g->lon, 6);
	}
	if (g->asn != 0)
		af_jsonw_field_uint(w, "asn", g->asn);
	if (g->as_org[0] != '\0')
		af_jsonw_field_string(w, "as_org", g->as_org);
	af_jsonw_object_end(w);
}

static void af_alert_native(struct af_jsonw *w, const struct af_alert *a)
{
	af_jsonw_object_begin(w);
	af_jsonw_key(w, "id");
	af_alert_id_value(w, a->id);
	af_jsonw_field_string(w, "rule", a->rule);
	af_jsonw_field_string(w, "severity", af_severity_name((enum af_severity)a->severity));
	if (a->account[0] != '\0')
		af_jsonw_field_string(w, "account", a->account);
	else
		af_jsonw_field_null(w, "account");
	af_jsonw_key(w, "ts");
	af_alert_ts_value(w, a->ts_ns);
	af_alert_native_src(w, a);
	af_jsonw_key(w, "observed");
	af_alert_observed_object(w, a);
	af_jsonw_key(w, "evidence");
	af_alert_evidence_array(w, a);
	af_jsonw_field_string(w, "message", a->message);
	af_jsonw_object_end(w);
}

/* OCSF */

static void af_alert_ocsf_endpoint(struct af_jsonw *w, const struct af_alert *a, const char *ip,
                                   size_t n)
{
	const struct af_geo *g = &a->geo;
	bool has_loc = (g->flags & AF_GEO_HAS_LOCATION) != 0;

	af_jsonw_key(w, "src_endpoint");
	af_jsonw_object_begin(w);
	if (n > 0)
		af_jsonw_field_string_len(w, "ip", ip, n);
	if (g->country[0] != '\0' || g->city[0] != '\0' || has_loc) {
		af_jsonw_key(w, "location");
		af_jsonw_object_begin(w);
		if (g->country[0] != '\0')
			af_jsonw_field_string(w, "country", g->country);
		if (g->city[0] != '\0')
			af_jsonw_field_string(w, "city", g->city);
		if (has_loc) {
			/* GeoJSON order: longitude first. */
			af_jsonw_key(w, "coordinates");
			af_jsonw_array_begin(w);
			af_jsonw_double_fixed(w, g->lon, 6);
			af_jsonw_double_fixed(w, g->lat, 6);
			af_jsonw_array_end(w);
		}
		af_jsonw_object_end(w);
	}
	if (g->asn != 0 || g->as_org[0] != '\0') {
		af_jsonw_key(w, "autonomous_system");
		af_jsonw_object_begin(w);
		if (g->asn != 0)
			af_jsonw_field_uint(w, "number", g->asn);
		if (g->as_org[0] != '\0')
			af_jsonw_field_string(w, "name", g->as_org);
		af_jsonw_object_end(w);
	}
	af_jsonw_object_end(w);
}

/* One Evidence Artifacts object with the actor and the source, if either
 * is known. */
static void af_alert_ocsf_evidences(struct af_jsonw *w, const struct af_alert *a)
{
	char ip[AF_IP_TEXT_MAX];
	size_t n = af_alert_ip(a, ip);
	bool has_src = n > 0 || af_alert_has_geo(&a->geo);

	if (a->account[0] == '\0' && !has_src)
		return;
	af_jsonw_key(w, "evidences");
	af_jsonw_array_begin(w);
	af_jsonw_object_begin(w);
	if (a->account[0] != '\0') {
		af_jsonw_key(w, "actor");
		af_jsonw_object_begin(w);
		af_jsonw_key(w, "user");
		af_jsonw_object_begin(w);
		af_jsonw_field_string(w, "name", a->account);
		af_jsonw_object_end(w);
		af_jsonw_object_end(w);
	}
	if (has_src)
		af_alert_ocsf_endpoint(w, a, ip, n);
	af_jsonw_object_end(w);
	af_jsonw_array_end(w);
}

static void af_alert_ocsf(struct af_jsonw *w, const struct af_alert *a)
{
	static const struct {
		int id;
		const char *name;
	} sev[AF_SEV_COUNT] = {
	    [AF_SEV_LOW] = {2, "Low"},
	    [AF_SEV_MEDIUM] = {3, "Medium"},
	    [AF_SEV_HIGH] = {4, "High"},
	    [AF_SEV_CRITICAL] = {5, "Critical"},
	};
	int64_t ms = a->ts_ns / 1000000;

	if (a->ts_ns % 1000000 < 0)
		ms--; /* floor, not toward zero, before 1970 */
	af_jsonw_object_begin(w);
	af_jsonw_field_int(w, "class_uid", 2004);
	af_jsonw_field_string(w, "class_name", "Detection Finding");
	af_jsonw_field_int(w, "category_uid", 2);
	af_jsonw_field_string(w, "category_name", "Findings");
	af_jsonw_field_int(w, "activity_id", 1);
	af_jsonw_field_string(w, "activity_name", "Create");
	af_jsonw_field_int(w, "type_uid", 200401);
	af_jsonw_field_string(w, "type_name", "Detection Finding: Create");
	if (a->severity < AF_SEV_COUNT) {
		af_jsonw_field_int(w, "severity_id", sev[a->severity].id);
		af_jsonw_field_string(w, "severity", sev[a->severity].name);
	} else {
		af_jsonw_field_int(w, "severity_id", 0);
		af_jsonw_field_string(w, "severity", "Unknown");
	}
	af_jsonw_field_int(w, "status_id", 1);
	af_jsonw_field_string(w, "status", "New");
	af_jsonw_field_int(w, "time", ms);
	if (a->message[0] != '\0')
		af_jsonw_field_string(w, "message", a->message);

	af_jsonw_key(w, "metadata");
	af_jsonw_object_begin(w);
	af_jsonw_field_string(w, "version", "1.1.0");
	af_jsonw_key(w, "product");
	af_jsonw_object_begin(w);
	af_jsonw_field_string(w, "name", "auditflow");
	af_jsonw_field_string(w, "vendor_name", "auditflow");
	af_jsonw_object_end(w);
	af_jsonw_object_end(w);

	af_jsonw_key(w, "finding_info");
	af_jsonw_object_begin(w);
	af_jsonw_key(w, "uid");
	af_alert_id_value(w, a->id);
	af_jsonw_field_string(w, "title", af_alert_out_title(a->rule));
	if (a->message[0] != '\0')
		af_jsonw_field_string(w, "desc", a->message);
	af_jsonw_key(w, "types");
	af_jsonw_array_begin(w);
	af_jsonw_string(w, a->rule);
	af_jsonw_array_end(w);
	af_jsonw_key(w, "analytic");
	af_jsonw_object_begin(w);
	af_jsonw_field_string(w, "name", a->rule);
	af_jsonw_field_int(w, "type_id", 1);
	af_jsonw_field_string(w, "type", "Rule");
	af_jsonw_object_end(w);
	af_jsonw_object_end(w);

	af_alert_ocsf_evidences(w, a);

	if (af_alert_nobserved(a) > 0 || af_alert_nevidence(a) > 0) {
		af_jsonw_key(w, "unmapped");
		af_jsonw_object_begin(w);
		if (af_alert_nobserved(a) > 0) {
			af_jsonw_key(w, "observed");
			af_alert_observed_object(w, a);
		}
		if (af_alert_nevidence(a) > 0) {
			af_jsonw_key(w, "evidence");
			af_alert_evidence_array(w, a);
		}
		af_jsonw_object_end(w);
	}
	af_jsonw_object_end(w);
}

/* ECS */

/* "auditflow.observed.<name>": value for each observation. */
static void af_alert_ecs_observed(struct af_jsonw *w, const struct af_alert *a)
{
	static const char prefix[] = "auditflow.observed.";
	char key[sizeof prefix - 1 + AF_ALERT_TEXT_MAX];

	memcpy(key, prefix, sizeof prefix - 1);
	for (size_t i = 0; i < af_alert_nobserved(a); i++) {
		/* Names are short static words; a longer one is cut, not
		 * dropped. */
		size_t len = strlen(a->observed[i].name);
		if (len > sizeof key - (sizeof prefix - 1))
			len = sizeof key - (sizeof prefix - 1);
		memcpy(key + sizeof prefix - 1, a->observed[i].name, len);
		af_jsonw_key_len(w, key, sizeof prefix - 1 + len);
		af_alert_value(w, &a->observed[i]);
	}
}

static void af_alert_ecs(struct af_jsonw *w, const struct af_alert *a)
{
	static const int risk[AF_SEV_COUNT] = {
	    [AF_SEV_LOW] = 21,
	    [AF_SEV_MEDIUM] = 47,
	    [AF_SEV_HIGH] = 73,
	    [AF_SEV_CRITICAL] = 99,
	};
	size_t r = af_alert_rule_find(a->rule);

	af_jsonw_object_begin(w);
	af_jsonw_key(w, "@timestamp");
	af_alert_ts_value(w, a->ts_ns);
	af_jsonw_field_string(w, "event.kind", "alert");
	if (r < AF_ALERT_NRULES) {
		af_jsonw_key(w, "event.category");
		af_jsonw_array_begin(w);
		af_jsonw_string(w, af_alert_rules[r].category[0]);
		if (af_alert_rules[r].category[1] != NULL)
			af_jsonw_string(w, af_alert_rules[r].category[1]);
		af_jsonw_array_end(w);
	}
	if (a->severity < AF_SEV_COUNT)
		af_jsonw_field_int(w, "event.severity", risk[a->severity]);
	af_jsonw_key(w, "event.id");
	af_alert_id_value(w, a->id);
	af_jsonw_field_string(w, "rule.id", a->rule);
	af_jsonw_field_string(w, "rule.name", a->rule);
	af_jsonw_field_string(w, "rule.description", af_alert_out_title(a->rule));
	if (a->message[0] != '\0')
		af_jsonw_field_string(w, "message", a->message);
	if (a->account[0] != '\0')
		af_jsonw_field_string(w, "user.name", a->account);
	af_ecs_source(w, &a->src, &a->geo);
	af_jsonw_field_string(w, "auditflow.severity",
	                      af_severity_name((enum af_severity)a->severity));
	af_alert_ecs_observed(w, a);
	if (af_alert_nevidence(a) > 0) {
		af_jsonw_key(w, "auditflow.evidence");
		af_alert_evidence_array(w, a);
	}
	af_jsonw_object_end(w);
}

/* One line a person reads on a terminal, in columns: time, severity,
 * rule, subject, source (address, country, ASN), message. Not JSON. */
static void af_alert_table(struct af_jsonw *w, const struct af_alert *a)
{
	char ts[AF_TS_TEXT_MAX], ip[AF_IP_TEXT_MAX] = "", src[128], line[1024];

	af_ts_format(a->ts_ns, ts, sizeof ts);
	ts[19] = '\0'; /* to the second: YYYY-MM-DDTHH:MM:SS */
	af_alert_ip(a, ip);
	if (a->geo.asn != 0)
		snprintf(src, sizeof src, "%s %s AS%u", ip, a->geo.country, a->geo.asn);
	else
		snprintf(src, sizeof src, "%s %s", ip, a->geo.country);
	int n = snprintf(line, sizeof line, "%s  %-8s  %-18s  %-30s  %-32s  %s", ts,
	                 af_severity_name((enum af_severity)a->severity), a->rule,
	                 a->account[0] ? a->account : "-", src, a->message);
	if (n < 0)
		return;
	af_jsonw_raw(w, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

void af_alert_out_format(struct af_jsonw *w, const struct af_alert *a, enum af_output_format format)
{
	switch (format) {
	case AF_OUTPUT_TABLE: af_alert_table(w, a); break;
	case AF_OUTPUT_OCSF: af_alert_ocsf(w, a); break;
	case AF_OUTPUT_ECS: af_alert_ecs(w, a); break;
	case AF_OUTPUT_NATIVE:
	default: af_alert_native(w, a); break;
	}
}

/* af_alert_out_open and af_alert_out_open_append: every format is a line
 * per alert with nothing written at open, so only how the file is opened
 * differs. */
static struct af_alert_out *af_alert_out_open_mode(const char *path, enum af_output_format format,
                                                   struct af_summary *counts, bool append,
                                                   uint64_t *cut, char *errstr, size_t errstr_size)
{
	struct af_alert_out *out = calloc(1, sizeof *out);

	if (out == NULL) {
		snprintf(errstr, errstr_size, "out of memory opening %s", path);
		return NULL;
	}
	if (append)
		out->w = af_jsonw_open_append(path, 0, cut, errstr, errstr_size);
	else
		out->w = af_jsonw_open(path, 0, errstr, errstr_size);
	if (out->w == NULL) {
		free(out);
		return NULL;
	}
	out->format = format;
	out->counts = counts;
	return out;
}

struct af_alert_out *af_alert_out_open(const char *path, enum af_output_format format,
                                       struct af_summary *counts, char *errstr, size_t errstr_size)
{
	return af_alert_out_open_mode(path, format, counts, false, NULL, errstr, errstr_size);
}

struct af_alert_out *af_alert_out_open_append(const char *path, enum af_output_format format,
                                              struct af_summary *counts, uint64_t *cut,
                                              char *errstr, size_t errstr_size)
{
	return af_alert_out_open_mode(path, format, counts, true, cut, errstr, errstr_size);
}

bool af_alert_out_rotate_by_size(struct af_alert_out *out, uint64_t max_bytes, uint32_t keep)
{
	return af_jsonw_rotate_by_size(out->w, max_bytes, keep);
}

af_err_t af_alert_out_write(struct af_alert_out *out, const struct af_alert *a)
{
	/* A rule the summary cannot name is still in its total (summary.h). */
	if (out->counts != NULL)
		(void)af_summary_add_alerts(out->counts, a->rule, 1);
	af_alert_out_format(out->w, a, out->format);
	return af_jsonw_end_line(out->w);
}

af_err_t af_alert_out_flush(struct af_alert_out *out)
{
	return af_jsonw_flush(out->w);
}

af_err_t af_alert_out_close(struct af_alert_out *out, char *errstr, size_t errstr_size)
{
	af_err_t err;

	if (out == NULL)
		return AF_OK;
	err = af_jsonw_close(out->w, errstr, errstr_size);
	free(out);
	return err;
}
