/* summary.c - the run summary as one JSON object, and as text.
 *
 * Thread: the main thread, once at the end of a run (the counters are
 * filled elsewhere). In: struct af_summary. Out: JSON (--summary) and a few
 * aligned lines for stderr.
 */
#include "sinks/summary.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

void af_summary_init(struct af_summary *s)
{
	memset(s, 0, sizeof *s);
}

af_err_t af_summary_add_alerts(struct af_summary *s, const char *rule, uint64_t n)
{
	size_t len = strlen(rule);
	uint32_t i;

	s->alerts += n;
	if (len >= AF_SUMMARY_RULE_NAME_MAX)
		return AF_E_INVALID;
	for (i = 0; i < s->rules_n; i++)
		if (strcmp(s->alerts_by_rule[i].name, rule) == 0)
			break;
	if (i == s->rules_n) {
		if (s->rules_n == AF_SUMMARY_RULES_MAX)
			return AF_E_INVALID;
		memcpy(s->alerts_by_rule[i].name, rule, len + 1);
		s->alerts_by_rule[i].count = 0;
		s->rules_n++;
	}
	s->alerts_by_rule[i].count += n;
	return AF_OK;
}

af_err_t af_summary_merge(struct af_summary *into, const struct af_summary *from)
{
	af_err_t err = AF_OK;
	uint64_t by_rule = 0;

	into->events_in += from->events_in;
	into->events_ok += from->events_ok;
	into->events_invalid += from->events_invalid;
	for (size_t i = 0; i < AF_REASON_COUNT; i++)
		into->invalid_by_reason[i] += from->invalid_by_reason[i];
	into->duplicates += from->duplicates;
	into->late += from->late;
	into->held += from->held;
	for (uint32_t i = 0; i < from->rules_n; i++) {
		const struct af_summary_rule *r = &from->alerts_by_rule[i];
		if (af_summary_add_alerts(into, r->name, r->count) != AF_OK)
			err = AF_E_INVALID;
		by_rule += r->count;
	}
	/* Alerts from has counted without a rule it could name. */
	into->alerts += from->alerts - by_rule;
	for (size_t i = 0; i < AF_SEV_COUNT; i++)
		into->alerts_by_severity[i] += from->alerts_by_severity[i];
	into->accounts += from->accounts;
	into->accounts_estimated = into->accounts_estimated || from->accounts_estimated;
	into->accounts_evicted += from->accounts_evicted;
	into->addresses_evicted += from->addresses_evicted;
	for (size_t i = 0; i < AF_KIND_COUNT; i++)
		into->by_kind[i] += from->by_kind[i];
	for (size_t i = 0; i < AF_SCHEMA_COUNT; i++)
		into->by_schema[i] += from->by_schema[i];
	if (from->wall_s > into->wall_s)
		into->wall_s = from->wall_s;
	return err;
}

double af_summary_events_per_s(const struct af_summary *s)
{
	if (!isfinite(s->wall_s) || s->wall_s <= 0)
		return 0;
	return (double)s->events_in / s->wall_s;
}

bool af_summary_consistent(const struct af_summary *s)
{
	uint64_t invalid = 0, alerts = 0;

	for (size_t i = 0; i < AF_REASON_COUNT; i++)
		invalid += s->invalid_by_reason[i];
	for (uint32_t i = 0; i < s->rules_n; i++)
		alerts += s->alerts_by_rule[i].count;
	return s->events_in == s->events_ok + s->events_invalid + s->duplicates + s->held &&
	       s->events_invalid == invalid && s->alerts == alerts;
}

/* An object of the non-zero counts[i], keyed by name(i). */
static void af_summary_counts(struct af_jsonw *w, const char *key, const uint64_t *counts, size_t n,
                              const char *(*name)(size_t))
{
	af_jsonw_key(w, key);
	af_jsonw_object_begin(w);
	for (size_t i = 0; i < n; i++)
		if (counts[i] != 0)
			af_jsonw_field_uint(w, name(i), counts[i]);
	af_jsonw_object_end(w);
}

static const char *af_summary_reason(size_t i)
{
	return af_reason_name((enum af_reason)i);
}

static const char *af_summary_kind(size_t i)
{
	return af_kind_name((enum af_kind)i);
}

static const char *af_summary_schema(size_t i)
{
	return af_schema_name((enum af_schema)i);
}

void af_summary_format(struct af_jsonw *w, const struct af_summary *s)
{
	double wall = isfinite(s->wall_s) ? s->wall_s : 0;

	af_jsonw_object_begin(w);
	af_jsonw_field_uint(w, "events_in", s->events_in);
	af_jsonw_field_uint(w, "events_ok", s->events_ok);
	af_jsonw_field_uint(w, "events_invalid", s->events_invalid);
	af_summary_counts(w, "invalid_by_reason", s->invalid_by_reason, AF_REASON_COUNT,
	                  af_summary_reason);
	af_jsonw_field_uint(w, "duplicates", s->duplicates);
	af_jsonw_field_uint(w, "late", s->late);
	af_jsonw_field_uint(w, "alerts", s->alerts);
	af_jsonw_key(w, "alerts_by_rule");
	af_jsonw_object_begin(w);
	for (uint32_t i = 0; i < s->rules_n; i++)
		if (s->alerts_by_rule[i].count != 0)
			af_jsonw_field_uint(w, s->alerts_by_rule[i].name,
			                    s->alerts_by_rule[i].count);
	af_jsonw_object_end(w);
	af_jsonw_field_uint(w, "accounts", s->accounts);
	af_jsonw_field_double_fixed(w, "wall_s", wall, 6);
	af_jsonw_field_double_fixed(w, "events_per_s", af_summary_events_per_s(s), 1);
	af_summary_counts(w, "events_by_kind", s->by_kind, AF_KIND_COUNT, af_summary_kind);
	af_summary_counts(w, "events_by_schema", s->by_schema, AF_SCHEMA_COUNT, af_summary_schema);
	af_jsonw_field_bool(w, "accounts_estimated", s->accounts_estimated);
	af_jsonw_field_uint(w, "accounts_evicted", s->accounts_evicted);
	af_jsonw_field_uint(w, "addresses_evicted", s->addresses_evicted);
	if (s->held != 0)
		af_jsonw_field_uint(w, "held", s->held);
	af_jsonw_object_end(w);
}

af_err_t af_summary_write(const struct af_summary *s, const char *path, char *errstr,
                          size_t errstr_size)
{
	struct af_jsonw *w = af_jsonw_open(path, 4096, errstr, errstr_size);

	if (w == NULL)
		return AF_E_IO;
	af_summary_format(w, s);
	af_jsonw_end_line(w);
	return af_jsonw_close(w, errstr, errstr_size);
}

/* Share of part in whole, in percent; 0 for an empty whole. */
static double af_summary_pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

static void af_summary_print_counts(FILE *f, const char *title, const uint64_t *counts, size_t n,
                                    const char *(*name)(size_t))
{
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		if (counts[i] == 0)
			continue;
		if (!any)
			fprintf(f, "  %s\n", title);
		any = true;
		fprintf(f, "    %-22s %14" PRIu64 "\n", name(i), counts[i]);
	}
}

af_err_t af_summary_print(FILE *f, const struct af_summary *s)
{
	uint64_t in = s->events_in;

	fprintf(f, "  %-24s %14" PRIu64 "\n", "events in", in);
	fprintf(f, "  %-24s %14" PRIu64 "  %6.2f%%\n", "events ok", s->events_ok,
	        af_summary_pct(s->events_ok, in));
	fprintf(f, "  %-24s %14" PRIu64 "  %6.2f%%\n", "invalid", s->events_invalid,
	        af_summary_pct(s->events_invalid, in));
	fprintf(f, "  %-24s %14" PRIu64 "  %6.2f%%\n", "duplicates", s->duplicates,
	        af_summary_pct(s->duplicates, in));
	fprintf(f, "  %-24s %14" PRIu64 "\n", "late", s->late);
	if (s->held != 0)
		fprintf(f, "  %-24s %14" PRIu64 "  %6.2f%%  (in the checkpoint)\n", "held", s->held,
		        af_summary_pct(s->held, in));
	fprintf(f, "  %-24s %14" PRIu64 "%s\n", "accounts", s->accounts,
	        s->accounts_estimated ? "  (estimated)" : "");
	if (s->accounts_evicted || s->addresses_evicted)
		fprintf(f, "  %-24s %14" PRIu64 " accounts, %" PRIu64 " addresses\n",
		        "evicted at the caps", s->accounts_evicted, s->addresses_evicted);
	fprintf(f, "  %-24s %14" PRIu64 "\n", "alerts", s->alerts);
	fprintf(f, "  %-24s %14.3f s\n", "wall time", isfinite(s->wall_s) ? s->wall_s : 0);
	fprintf(f, "  %-24s %14.0f events/s\n", "rate", af_summary_events_per_s(s));
	af_summary_print_counts(f, "invalid by reason", s->invalid_by_reason, AF_REASON_COUNT,
	                        af_summary_reason);
	af_summary_print_counts(f, "events by schema", s->by_schema, AF_SCHEMA_COUNT,
	                        af_summary_schema);
	af_summary_print_counts(f, "events by kind", s->by_kind, AF_KIND_COUNT, af_summary_kind);
	if (s->rules_n > 0)
		fprintf(f, "  %s\n", "alerts by rule");
	for (uint32_t i = 0; i < s->rules_n; i++)
		fprintf(f, "    %-22s %14" PRIu64 "\n", s->alerts_by_rule[i].name,
		        s->alerts_by_rule[i].count);
	if (fflush(f) != 0 || ferror(f))
		return AF_E_IO;
	return AF_OK;
}
