/* alert_report.c - the alerts of a run by severity and by subject; see
 * alert_report.h.
 */
#include "sinks/alert_report.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "pipeline/ip.h"

/* Rules named per subject (there are 12); more are marked, not named. */
#define RULES_MAX 12

struct subject {
	char name[AF_ACCOUNT_MAX];
	uint64_t by_sev[AF_SEV_COUNT];
	uint64_t total;
	const char *rules[RULES_MAX]; /* static text (af_alert.rule) */
	uint8_t nrules;
	bool more_rules;
};

struct af_alert_report {
	uint64_t by_sev[AF_SEV_COUNT];
	uint64_t others; /* alerts of subjects past max */
	struct subject *subjects;
	size_t n, cap, max;
	uint32_t *slot; /* index + 1 into subjects; 0 empty */
	size_t mask;
};

struct af_alert_report *af_alert_report_new(size_t max_subjects)
{
	struct af_alert_report *r = calloc(1, sizeof(*r));
	size_t slots = 16;

	if (r == NULL)
		return NULL;
	r->max = max_subjects ? max_subjects : 1;
	while (slots < 2 * r->max)
		slots *= 2;
	r->slot = calloc(slots, sizeof(*r->slot));
	if (r->slot == NULL) {
		free(r);
		return NULL;
	}
	r->mask = slots - 1;
	return r;
}

void af_alert_report_free(struct af_alert_report *r)
{
	if (r == NULL)
		return;
	free(r->subjects);
	free(r->slot);
	free(r);
}

/* The subject named name, made when new; NULL when it does not fit. */
static struct subject *find(struct af_alert_report *r, const char *name)
{
	size_t i = (size_t)XXH3_64bits(name, strlen(name)) & r->mask;

	for (; r->slot[i] != 0; i = (i + 1) & r->mask)
		if (strcmp(r->subjects[r->slot[i] - 1].name, name) == 0)
			return &r->subjects[r->slot[i] - 1];
	if (r->n == r->max)
		return NULL;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		if (cap > r->max)
			cap = r->max;
		struct subject *s = realloc(r->subjects, cap * sizeof(*s));
		if (s == NULL)
			return NULL;
		r->subjects = s;
		r->cap = cap;
	}
	struct subject *s = &r->subjects[r->n];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	r->slot[i] = (uint32_t)++r->n;
	return s;
}

void af_alert_report_add(struct af_alert_report *r, const struct af_alert *a)
{
	unsigned sev = a->severity < AF_SEV_COUNT ? a->severity : AF_SEV_LOW;
	char addr[AF_IP_TEXT_MAX];
	const char *name = a->account;

	r->by_sev[sev]++;
	if (name[0] == '\0') {
		if (a->src.family == AF_IP_NONE)
			snprintf(addr, sizeof(addr), "(no subject)");
		else
			af_ip_format(&a->src, addr, sizeof(addr));
		name = addr;
	}
	struct subject *s = find(r, name);
	if (s == NULL) {
		r->others++;
		return;
	}
	s->by_sev[sev]++;
	s->total++;
	for (uint8_t i = 0; i < s->nrules; i++)
		if (strcmp(s->rules[i], a->rule) == 0)
			return;
	if (s->nrules < RULES_MAX)
		s->rules[s->nrules++] = a->rule;
	else
		s->more_rules = true;
}

uint64_t af_alert_report_count(const struct af_alert_report *r, enum af_severity sev)
{
	return sev < AF_SEV_COUNT ? r->by_sev[sev] : 0;
}

/* Most severe first, then most alerts, then by name. */
static int by_weight(const void *pa, const void *pb)
{
	const struct subject *a = *(const struct subject *const *)pa;
	const struct subject *b = *(const struct subject *const *)pb;

	for (int sev = AF_SEV_COUNT - 1; sev >= 0; sev--)
		if (a->by_sev[sev] != b->by_sev[sev])
			return a->by_sev[sev] > b->by_sev[sev] ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* "high 2, medium 4": the non-zero counts, most severe first. */
static void print_counts(FILE *f, const uint64_t *by_sev)
{
	const char *sep = "";
	for (int sev = AF_SEV_COUNT - 1; sev >= 0; sev--) {
		if (by_sev[sev] == 0)
			continue;
		fprintf(f, "%s%s %llu", sep, af_severity_name((enum af_severity)sev),
		        (unsigned long long)by_sev[sev]);
		sep = ", ";
	}
}

af_err_t af_alert_report_print(FILE *f, const struct af_alert_report *r, size_t top)
{
	uint64_t total = 0;

	for (int sev = 0; sev < AF_SEV_COUNT; sev++)
		total += r->by_sev[sev];
	if (total == 0)
		return AF_OK;
	fprintf(f, "  alerts by severity: ");
	print_counts(f, r->by_sev);
	fputc('\n', f);
	const struct subject **order = malloc((r->n ? r->n : 1) * sizeof(*order));
	if (order == NULL)
		return ferror(f) ? AF_E_IO : AF_OK;
	for (size_t i = 0; i < r->n; i++)
		order[i] = &r->subjects[i];
	qsort(order, r->n, sizeof(*order), by_weight);
	size_t shown = r->n < top ? r->n : top;
	if (shown > 0)
		fprintf(f, "  most severe (%zu of %zu accounts and addresses):\n", shown, r->n);
	for (size_t i = 0; i < shown; i++) {
		const struct subject *s = order[i];
		fprintf(f, "    %-40s ", s->name);
		print_counts(f, s->by_sev);
		fputs("  (", f);
		for (uint8_t k = 0; k < s->nrules; k++)
			fprintf(f, "%s%s", k ? ", " : "", s->rules[k]);
		fputs(s->more_rules ? ", ...)\n" : ")\n", f);
	}
	if (r->others > 0)
		fprintf(f, "    and %llu alerts of accounts and addresses past the first %zu\n",
		        (unsigned long long)r->others, r->max);
	free(order);
	return ferror(f) ? AF_E_IO : AF_OK;
}
