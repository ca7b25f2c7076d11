/* scenario.c - gen scenarios replayed and checked against their truth
 * files; see scenario.h. Linked into each e2e test executable. */
#include "scenario.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/parse/timestamp.h"
#include "run.h"

/* The text value of "key" in a flat JSON line (its first occurrence), or ""
 * for null; false when absent. Escapes are kept as written. */
static bool str_field(const char *line, const char *key, char *out, size_t size)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(line, pat);
	if (!p)
		return false;
	p += strlen(pat);
	out[0] = '\0';
	if (*p != '"')
		return strncmp(p, "null", 4) == 0;
	p++;
	size_t n = 0;
	for (; *p && !(*p == '"' && p[-1] != '\\'); p++)
		if (n + 1 < size)
			out[n++] = *p;
	out[n] = '\0';
	return *p == '"';
}

static int64_t ts_field(const char *line, const char *key)
{
	char text[64];
	int64_t ns = 0;
	cr_assert(str_field(line, key, text, sizeof(text)), "no %s in %s", key, line);
	cr_assert(af_ts_parse(text, strlen(text), &ns), "bad %s in %s", key, line);
	return ns;
}

/* Split text into its lines in place; returns the count, *lines owned. */
static size_t split_lines(char *text, char ***lines)
{
	size_t n = af_count_lines(text), i = 0;
	*lines = calloc(n ? n : 1, sizeof(**lines));
	cr_assert_not_null(*lines);
	for (char *p = text; *p && i < n; i++) {
		char *nl = strchr(p, '\n');
		cr_assert_not_null(nl);
		*nl = '\0';
		(*lines)[i] = p;
		p = nl + 1;
	}
	return i;
}

static void run_ok(const char *const *argv)
{
	struct af_run r;
	cr_assert_eq(af_run_argv(&r, NULL, argv), 0, "cannot start %s", argv[0]);
	cr_assert_eq(r.status, 0, "%s %s: exit %d: %s", argv[0], argv[1], r.status, r.err);
	af_run_free(&r);
}

void af_scn_make(const char *scenario, const char *const *gen_args)
{
	const char *argv[32] = {AF_BIN, "gen", "--scenario", scenario, "--out", af_e2e_dir};
	size_t n = 6;
	for (size_t i = 0; gen_args && gen_args[i]; i++) {
		cr_assert_lt(n, 31);
		argv[n++] = gen_args[i];
	}
	argv[n] = NULL;
	run_ok(argv);
	const char *mmdb[] = {"perl", AF_SOURCE_DIR "/scripts/gen-mmdb", af_e2e_dir, NULL};
	run_ok(mmdb);
}

static void load_truth(struct af_scn *s)
{
	char *text = af_slurp(af_e2e_path("truth.jsonl"), NULL);
	char **lines;
	cr_assert_not_null(text);
	s->ntruth = split_lines(text, &lines);
	s->truth = calloc(s->ntruth ? s->ntruth : 1, sizeof(*s->truth));
	cr_assert_not_null(s->truth);
	for (size_t i = 0; i < s->ntruth; i++) {
		struct af_scn_truth *t = &s->truth[i];
		const char *line = lines[i];
		cr_assert(str_field(line, "rule", t->rule, sizeof(t->rule)), "%s", line);
		cr_assert(str_field(line, "account", t->subject, sizeof(t->subject)), "%s", line);
		if (t->subject[0] == '\0')
			cr_assert(str_field(line, "address", t->subject, sizeof(t->subject)), "%s",
			          line);
		cr_assert(str_field(line, "note", t->note, sizeof(t->note)), "%s", line);
		t->from = ts_field(line, "from");
		t->to = ts_field(line, "to");
		t->benign = strncmp(t->note, "benign", 6) == 0;
	}
	free(lines);
	free(text);
}

static void load_alerts(struct af_scn *s, const char *name)
{
	char **lines;
	char *copy;
	s->alert_text = af_slurp(af_e2e_path(name), NULL);
	cr_assert_not_null(s->alert_text);
	copy = strdup(s->alert_text);
	cr_assert_not_null(copy);
	s->nalerts = split_lines(copy, &lines);
	s->alerts = calloc(s->nalerts ? s->nalerts : 1, sizeof(*s->alerts));
	cr_assert_not_null(s->alerts);
	for (size_t i = 0; i < s->nalerts; i++) {
		struct af_scn_alert *a = &s->alerts[i];
		const char *line = lines[i];
		cr_assert(str_field(line, "id", a->id, sizeof(a->id)), "%s", line);
		cr_assert(str_field(line, "rule", a->rule, sizeof(a->rule)), "%s", line);
		/* Per-address alerts have no account; their subject is src.ip. */
		if (!str_field(line, "account", a->subject, sizeof(a->subject)) ||
		    a->subject[0] == '\0')
			cr_assert(str_field(line, "ip", a->subject, sizeof(a->subject)), "%s",
			          line);
		a->ts = ts_field(line, "ts");
	}
	free(lines);
	free(copy);
}

void af_scn_replay(struct af_scn *s, const char *const *inputs, const char *const *extra,
                   const char *alerts_name)
{
	static const char *const all[] = {"signins.jsonl", "audit.jsonl", "messagetrace.jsonl",
	                                  NULL};
	char conf[4200], out[4200], names[16][4200];
	const char *argv[64] = {AF_BIN, "replay", "--no-progress", "-c", conf, "-o", out};
	size_t n = 7;

	memset(s, 0, sizeof(*s));
	snprintf(conf, sizeof(conf), "%s", af_e2e_path("geo.yaml"));
	snprintf(out, sizeof(out), "%s", af_e2e_path(alerts_name));
	for (size_t i = 0; extra && extra[i]; i++) {
		cr_assert_lt(n, 40);
		argv[n++] = extra[i];
	}
	inputs = inputs ? inputs : all;
	for (size_t i = 0; inputs[i]; i++) {
		cr_assert_lt(i, 16);
		snprintf(names[i], sizeof(names[i]), "%s", af_e2e_path(inputs[i]));
		argv[n++] = names[i];
	}
	argv[n] = NULL;
	run_ok(argv);
	load_truth(s);
	load_alerts(s, alerts_name);
}

size_t af_scn_match(struct af_scn *s, size_t *missing)
{
	size_t unexplained = 0;

	for (size_t i = 0; i < s->nalerts; i++) {
		struct af_scn_alert *a = &s->alerts[i];
		for (size_t j = 0; j < s->ntruth; j++) {
			struct af_scn_truth *t = &s->truth[j];
			if (strcmp(a->rule, t->rule) == 0 && strcmp(a->subject, t->subject) == 0 &&
			    a->ts >= t->from && a->ts <= t->to) {
				a->explained = true;
				t->matched = true;
			}
		}
		unexplained += !a->explained;
	}
	*missing = 0;
	for (size_t j = 0; j < s->ntruth; j++)
		*missing += !s->truth[j].benign && !s->truth[j].matched;
	return unexplained;
}

char *af_scn_report(const struct af_scn *s)
{
	size_t cap = 256 + (s->ntruth + s->nalerts) * 512, len = 0;
	char *out = malloc(cap);
	cr_assert_not_null(out);
	out[0] = '\0';
	for (size_t j = 0; j < s->ntruth; j++)
		if (!s->truth[j].benign && !s->truth[j].matched)
			len += (size_t)snprintf(out + len, cap - len, "\n  missing %s for %s (%s)",
			                        s->truth[j].rule, s->truth[j].subject,
			                        s->truth[j].note);
	for (size_t i = 0; i < s->nalerts; i++) {
		char when[40];
		if (s->alerts[i].explained)
			continue;
		af_ts_format(s->alerts[i].ts, when, sizeof(when));
		len += (size_t)snprintf(out + len, cap - len, "\n  unexplained %s for %s at %s",
		                        s->alerts[i].rule, s->alerts[i].subject, when);
	}
	return out;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *af_scn_sorted_alerts(const struct af_scn *s)
{
	char *copy = strdup(s->alert_text), **lines;
	cr_assert_not_null(copy);
	size_t n = split_lines(copy, &lines), len = 0;
	char *out = malloc(strlen(s->alert_text) + 1);
	cr_assert_not_null(out);
	qsort(lines, n, sizeof(*lines), cmp_str);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(out + len, "%s\n", lines[i]);
	out[len] = '\0';
	free(lines);
	free(copy);
	return out;
}

void af_scn_free(struct af_scn *s)
{
	free(s->truth);
	free(s->alerts);
	free(s->alert_text);
	memset(s, 0, sizeof(*s));
}

/* Lines of the file at path, read in pieces (scenario files run to
 * hundreds of MB). */
static long long file_lines(const char *path)
{
	char buf[1 << 16];
	long long n = 0;
	size_t got;
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
		for (char *p = buf; (p = memchr(p, '\n', got - (size_t)(p - buf))) != NULL; p++)
			n++;
	fclose(f);
	return n;
}

long long af_scn_to_broker(struct af_e2e_broker *b, const char *const *broker_args,
                           const char *const *batches)
{
	static const char *const topics[] = {"signins", "audit", "messagetrace"};
	char err[512];
	long long records = 0;

	cr_assert_eq(af_e2e_broker_open(b, broker_args, err, sizeof(err)), 0, "%s", err);
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
		char name[64];
		snprintf(name, sizeof(name), "%s.jsonl", topics[i]);
		const char *path = af_e2e_path(name);
		cr_assert_eq(af_e2e_produce(b->addr, topics[i], path, batches, err, sizeof(err)), 0,
		             "kcat -P %s: %s", topics[i], err);
		records += file_lines(path);
	}
	return records;
}
