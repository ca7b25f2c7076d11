/* test.c - `auditflow test`: run users' rule tests through the engine (see
 * test.h for the file format).
 *
 * Thread: the main thread; each case's replay starts and joins its own.
 * In: test files (YAML, read whole with libyaml's document loader). Out:
 * "ok NAME" or "FAIL NAME" and what differed, a line per case, on stdout;
 * a count at the end.
 *
 * DESIGN: a case is a real replay, not a call into the rules: its records
 * are written to a file in a scratch folder and read back by the file
 * reader, parsed, enriched with the configured databases, put through the
 * reorder buffer and the rules with -j 1, and its alerts written by the
 * alert sink, all as `auditflow replay` does; only then are the alert
 * lines compared. So a case that passes here behaves the same in a
 * replay or a run with the same settings. The replay's own messages
 * (its summary) go to a file of the scratch folder and are shown under a
 * case that fails, with the records it dead-lettered.
 * DESIGN: matching. Each expected alert takes the first alert raised that
 * it matches and no other has taken; an alert left over fails the case
 * unless it says "others: ignore". Expected observed fields are a subset:
 * numbers compare as numbers (3 matches 3.0), anything else as the JSON
 * text of a string.
 */
#include "cmd/test.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "cmd/replay.h"
#include "pipeline/config.h"

/* One test file, loaded; the scratch folder of its cases. */
struct tfile {
	const char *path; /* as given, borrowed */
	yaml_document_t doc;
	yaml_node_t *settings, *cases; /* NULL when absent */
	const char *config;            /* NULL when absent; in doc */
	char scratch[PATH_MAX];
};

/* What a case run left: its alert lines, dead letters and messages. */
struct outcome {
	char *alerts, *dlq, *log; /* owned, NUL-terminated */
};

static void usage(FILE *out)
{
	fputs("usage: auditflow test FILE.yaml...\n\n"
	      "Run rule tests: each case's records through the engine (a replay with\n"
	      "one worker, from a fresh state), under the file's settings and the\n"
	      "case's, and its alerts against the ones it expects. Prints ok or FAIL\n"
	      "for each case; exits 1 if any failed, 2 if a file is not a test file.\n\n"
	      "  settings:            configuration keys, as in a configuration file\n"
	      "  config: FILE         a configuration file read first\n"
	      "  cases:\n"
	      "    - name: TEXT\n"
	      "      settings: {...}  over the file's\n"
	      "      records:         each a mapping or a string of JSON\n"
	      "      expect:          [] for none, or alerts in any order:\n"
	      "        - {rule: R, account: A, observed: {FIELD: VALUE}}\n"
	      "      others: ignore   alerts beyond expect are allowed\n\n"
	      "Paths are relative to the test file's folder. tests/rules/ holds the\n"
	      "tests of the default rules.\n",
	      out);
}

/* ---- the YAML document ---- */

static const char *scalar(const yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The value of key in mapping m, or NULL. */
static yaml_node_t *get(yaml_document_t *doc, const yaml_node_t *m, const char *key)
{
	if (m == NULL || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(yaml_document_get_node(doc, p->key));
		if (k != NULL && strcmp(k, key) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

static size_t seq_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static yaml_node_t *seq_at(yaml_document_t *doc, const yaml_node_t *n, size_t i)
{
	return yaml_document_get_node(doc, n->data.sequence.items.start[i]);
}

/* "FILE:LINE: " for node n. */
static void where(FILE *out, const struct tfile *f, const yaml_node_t *n)
{
	fprintf(out, "auditflow test: %s:%zu: ", f->path, n->start_mark.line + 1);
}

/* Load path; checks the file's shape, not the cases'. Returns 0, or 2 with
 * the reason on stderr. */
static int tfile_load(struct tfile *f, const char *path)
{
	yaml_parser_t parser;
	FILE *in = fopen(path, "rb");
	int status = 2;

	memset(f, 0, sizeof(*f));
	f->path = path;
	if (in == NULL) {
		fprintf(stderr, "auditflow test: %s: %s\n", path, strerror(errno));
		return 2;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, in);
	if (!yaml_parser_load(&parser, &f->doc)) {
		fprintf(stderr, "auditflow test: %s:%zu:%zu: %s\n", path,
		        parser.problem_mark.line + 1, parser.problem_mark.column + 1,
		        parser.problem ? parser.problem : "not YAML");
		goto cleanup;
	}
	yaml_node_t *root = yaml_document_get_root_node(&f->doc);
	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		fprintf(stderr, "auditflow test: %s: not a test file: a mapping with \"cases\"\n",
		        path);
		goto loaded;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(&f->doc, p->key);
		const char *key = scalar(k);
		if (key == NULL || (strcmp(key, "settings") != 0 && strcmp(key, "cases") != 0 &&
		                    strcmp(key, "config") != 0)) {
			where(stderr, f, k);
			fprintf(stderr, "unknown key %s (settings, config or cases)\n",
			        key ? key : "(not a string)");
			goto loaded;
		}
	}
	f->settings = get(&f->doc, root, "settings");
	f->cases = get(&f->doc, root, "cases");
	yaml_node_t *config = get(&f->doc, root, "config");
	if (config != NULL && (f->config = scalar(config)) == NULL) {
		where(stderr, f, config);
		fputs("config is a file name\n", stderr);
		goto loaded;
	}
	if (f->cases == NULL || f->cases->type != YAML_SEQUENCE_NODE || seq_len(f->cases) == 0) {
		fprintf(stderr, "auditflow test: %s: no cases (\"cases\": a list)\n", path);
		goto loaded;
	}
	status = 0;
loaded:
	if (status != 0)
		yaml_document_delete(&f->doc);
cleanup:
	yaml_parser_delete(&parser);
	fclose(in);
	return status;
}

/* ---- settings ---- */

/* Apply node n as the value of key (a mapping: its keys under key.). */
static int apply_settings(struct tfile *f, struct af_config *cfg, const char *key, yaml_node_t *n,
                          FILE *why)
{
	char err[512], sub[256];

	if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			const char *k = scalar(yaml_document_get_node(&f->doc, p->key));
			if (k == NULL) {
				where(why, f, n);
				fputs("a setting's name is a string\n", why);
				return -1;
			}
			snprintf(sub, sizeof(sub), "%s%s%s", key, key[0] ? "." : "", k);
			if (apply_settings(f, cfg, sub, yaml_document_get_node(&f->doc, p->value),
			                   why) != 0)
				return -1;
		}
		return 0;
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		for (size_t i = 0; i < seq_len(n); i++)
			if (apply_settings(f, cfg, key, seq_at(&f->doc, n, i), why) != 0)
				return -1;
		return 0;
	}
	if (af_config_set(cfg, key, scalar(n), err, sizeof(err)) != AF_OK) {
		where(why, f, n);
		fprintf(why, "%s\n", err);
		return -1;
	}
	return 0;
}

/* ---- records ---- */

static void json_string(FILE *out, const char *s, size_t len)
{
	fputc('"', out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* Whether text is a JSON number, all of it. */
static bool json_number(const char *t)
{
	if (*t == '-')
		t++;
	if (*t == '0')
		t++;
	else if (*t >= '1' && *t <= '9')
		while (*t >= '0' && *t <= '9')
			t++;
	else
		return false;
	if (*t == '.') {
		if (!(*++t >= '0' && *t <= '9'))
			return false;
		while (*t >= '0' && *t <= '9')
			t++;
	}
	if (*t == 'e' || *t == 'E') {
		if (*++t == '+' || *t == '-')
			t++;
		if (!(*t >= '0' && *t <= '9'))
			return false;
		while (*t >= '0' && *t <= '9')
			t++;
	}
	return *t == '\0';
}

static bool plain_literal(const yaml_node_t *n)
{
	const char *t = (const char *)n->data.scalar.value;
	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (json_number(t) || strcmp(t, "true") == 0 || strcmp(t, "false") == 0 ||
	        strcmp(t, "null") == 0);
}

/* Node n as JSON text. */
static void write_json(struct tfile *f, FILE *out, yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		fputc('{', out);
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(&f->doc, p->key);
			if (p != n->data.mapping.pairs.start)
				fputc(',', out);
			if (k->type == YAML_SCALAR_NODE)
				json_string(out, (const char *)k->data.scalar.value,
				            k->data.scalar.length);
			else
				fputs("\"\"", out);
			fputc(':', out);
			write_json(f, out, yaml_document_get_node(&f->doc, p->value));
		}
		fputc('}', out);
		break;
	case YAML_SEQUENCE_NODE:
		fputc('[', out);
		for (size_t i = 0; i < seq_len(n); i++) {
			if (i > 0)
				fputc(',', out);
			write_json(f, out, seq_at(&f->doc, n, i));
		}
		fputc(']', out);
		break;
	case YAML_SCALAR_NODE:
		if (plain_literal(n))
			fputs((const char *)n->data.scalar.value, out);
		else
			json_string(out, (const char *)n->data.scalar.value, n->data.scalar.length);
		break;
	default: fputs("null", out);
	}
}

/* The case's records, one a line: a string as it is (the reader judges
 * it), a mapping as JSON. Returns 0, or -1 with the reason in why. */
static int write_records(struct tfile *f, yaml_node_t *records, const char *path, FILE *why)
{
	FILE *out = fopen(path, "w");
	if (out == NULL) {
		fprintf(why, "auditflow test: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < seq_len(records); i++) {
		yaml_node_t *r = seq_at(&f->doc, records, i);
		if (r->type == YAML_SCALAR_NODE)
			fputs((const char *)r->data.scalar.value, out);
		else
			write_json(f, out, r);
		fputc('\n', out);
	}
	if (fclose(out) != 0) {
		fprintf(why, "auditflow test: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- one case ---- */

static char *slurp(const char *path)
{
	FILE *in = fopen(path, "rb");
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	if (mem == NULL) {
		if (in != NULL)
			fclose(in);
		return NULL;
	}
	if (in != NULL) {
		char buf[8192];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
			fwrite(buf, 1, n, mem);
		fclose(in);
	}
	fclose(mem);
	return text;
}

/* Replay the records file (its caller's to remove) under cfg into the
 * scratch folder, the replay's stderr into its log. Returns the replay's
 * exit status. */
static int replay_case(struct tfile *f, struct af_config *cfg, char *records, struct outcome *o)
{
	char alerts[PATH_MAX + 16], dlq[PATH_MAX + 16], log[PATH_MAX + 16];
	char err[1024];

	snprintf(alerts, sizeof(alerts), "%s/alerts.jsonl", f->scratch);
	snprintf(dlq, sizeof(dlq), "%s/dlq.jsonl", f->scratch);
	snprintf(log, sizeof(log), "%s/replay.log", f->scratch);
	char *argv[] = {"-j", "1", "--no-progress", "-o", alerts, "--dlq", dlq, records};
	int argc = (int)(sizeof(argv) / sizeof(argv[0]));
	if (af_config_parse_args(cfg, AF_CMD_REPLAY, argc, argv, err, sizeof(err)) != AF_OK) {
		fprintf(stdout, "  %s\n", err);
		return 2;
	}
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	FILE *to = fopen(log, "w");
	if (saved < 0 || to == NULL) {
		fprintf(stdout, "  cannot write %s: %s\n", log, strerror(errno));
		if (saved >= 0)
			close(saved);
		if (to != NULL)
			fclose(to);
		return 1;
	}
	dup2(fileno(to), STDERR_FILENO);
	fclose(to);
	int status = af_replay_main(cfg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	o->alerts = slurp(alerts);
	o->dlq = slurp(dlq);
	o->log = slurp(log);
	unlink(alerts);
	unlink(dlq);
	unlink(log);
	return status;
}

/* ---- alerts as written ---- */

/* The end of the JSON value at p (compact, as our writers write it). */
static const char *skip_value(const char *p)
{
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++)
			if (*p == '\\' && p[1] != '\0')
				p++;
		return *p ? p + 1 : p;
	}
	if (*p == '{' || *p == '[') {
		int depth = 0;
		do {
			if (*p == '"') {
				p = skip_value(p);
				continue;
			}
			if (*p == '{' || *p == '[')
				depth++;
			else if (*p == '}' || *p == ']')
				depth--;
			p++;
		} while (*p != '\0' && depth > 0);
		return p;
	}
	while (*p != '\0' && *p != ',' && *p != '}' && *p != ']')
		p++;
	return p;
}

/* The value of member key of the object at obj: its text and length, or
 * NULL. */
static const char *member(const char *obj, const char *key, size_t *len)
{
	size_t klen = strlen(key);

	if (obj == NULL || *obj != '{')
		return NULL;
	const char *p = obj + 1;
	while (*p == '"') {
		const char *k = p + 1;
		const char *v = skip_value(p);
		if (*v != ':')
			return NULL;
		v++;
		const char *end = skip_value(v);
		if ((size_t)(end - k) > klen && strncmp(k, key, klen) == 0 && k[klen] == '"') {
			*len = (size_t)(end - v);
			return v;
		}
		p = *end == ',' ? end + 1 : end;
	}
	return NULL;
}

/* Whether actual (len bytes of JSON) is what the expected node says. */
static bool same_value(struct tfile *f, yaml_node_t *want, const char *actual, size_t len)
{
	char *text = NULL;
	size_t tlen = 0;
	FILE *mem = open_memstream(&text, &tlen);
	bool same = false;

	if (mem == NULL)
		return false;
	if (want->type == YAML_SCALAR_NODE && plain_literal(want) &&
	    json_number((const char *)want->data.scalar.value)) {
		fclose(mem);
		free(text);
		char *end, *copy = strndup(actual, len);
		double a = copy ? strtod(copy, &end) : 0;
		same = copy != NULL && end != copy && *end == '\0' &&
		       a == strtod((const char *)want->data.scalar.value, NULL);
		free(copy);
		return same;
	}
	write_json(f, mem, want);
	fclose(mem);
	same = tlen == len && memcmp(text, actual, len) == 0;
	free(text);
	return same;
}

/* Whether alert line a matches the expected alert e. */
static bool matches(struct tfile *f, yaml_node_t *e, const char *a)
{
	static const char *const keys[] = {"rule", "account", "severity"};
	size_t len;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		yaml_node_t *want = get(&f->doc, e, keys[i]);
		const char *v = member(a, keys[i], &len);
		if (want != NULL && (v == NULL || !same_value(f, want, v, len)))
			return false;
	}
	yaml_node_t *obs = get(&f->doc, e, "observed");
	if (obs == NULL)
		return true;
	const char *o = member(a, "observed", &len);
	for (yaml_node_pair_t *p = obs->data.mapping.pairs.start; p < obs->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(yaml_document_get_node(&f->doc, p->key));
		const char *v = k ? member(o, k, &len) : NULL;
		if (v == NULL || !same_value(f, yaml_document_get_node(&f->doc, p->value), v, len))
			return false;
	}
	return true;
}

/* The alert lines of text, each a NUL-terminated string in text. */
static size_t split_lines(char *text, char ***lines)
{
	size_t n = 0;

	*lines = NULL;
	if (text == NULL)
		return 0;
	for (const char *p = text; *p; p++)
		n += *p == '\n';
	*lines = calloc(n + 1, sizeof(**lines));
	if (*lines == NULL)
		return 0;
	size_t k = 0;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l != NULL && k < n;
	     l = strtok_r(NULL, "\n", &save))
		(*lines)[k++] = l;
	return k;
}

/* ---- cases ---- */

/* Check a case's shape. Returns 0, or -1 with the reason on stderr. */
static int case_check(struct tfile *f, yaml_node_t *c)
{
	static const char *const known[] = {"name", "settings", "records", "expect", "others"};
	const char *why = NULL;
	yaml_node_t *at = c;

	if (c->type != YAML_MAPPING_NODE) {
		why = "a case is a mapping (name, records, expect)";
		goto done;
	}
	for (yaml_node_pair_t *p = c->data.mapping.pairs.start; p < c->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(yaml_document_get_node(&f->doc, p->key));
		bool ok = false;
		for (size_t i = 0; k != NULL && i < sizeof(known) / sizeof(known[0]); i++)
			ok = ok || strcmp(k, known[i]) == 0;
		if (!ok) {
			at = yaml_document_get_node(&f->doc, p->key);
			why = "unknown key in a case (name, settings, records, expect, others)";
			goto done;
		}
	}
	yaml_node_t *records = get(&f->doc, c, "records"), *expect = get(&f->doc, c, "expect");
	yaml_node_t *others = get(&f->doc, c, "others");
	if (scalar(get(&f->doc, c, "name")) == NULL)
		why = "a case needs a name";
	else if (records == NULL || records->type != YAML_SEQUENCE_NODE)
		why = "a case needs records: a list";
	else if (expect == NULL || expect->type != YAML_SEQUENCE_NODE)
		why = "a case needs expect: a list of alerts, [] for none";
	else if (others != NULL &&
	         (scalar(others) == NULL || strcmp(scalar(others), "ignore") != 0))
		why = "others can only be ignore";
	for (size_t i = 0; why == NULL && expect != NULL && i < seq_len(expect); i++) {
		yaml_node_t *e = seq_at(&f->doc, expect, i);
		yaml_node_t *obs = get(&f->doc, e, "observed");
		at = e;
		if (e->type != YAML_MAPPING_NODE || scalar(get(&f->doc, e, "rule")) == NULL)
			why = "an expected alert is a mapping with a rule";
		else if (obs != NULL && obs->type != YAML_MAPPING_NODE)
			why = "observed is a mapping of fields";
	}
done:
	if (why == NULL)
		return 0;
	where(stderr, f, at);
	fprintf(stderr, "%s\n", why);
	return -1;
}

/* Print an expected alert as one line. */
static void print_expected(struct tfile *f, yaml_node_t *e)
{
	fputs("    expected, not raised: ", stdout);
	write_json(f, stdout, e);
	fputc('\n', stdout);
}

/* Print up to 3 lines of text, indented. */
static void print_some(const char *title, char *text)
{
	char **lines;
	size_t n = split_lines(text, &lines);
	if (n == 0) {
		free(lines);
		return;
	}
	printf("    %s (%zu):\n", title, n);
	for (size_t i = 0; i < n && i < 3; i++)
		printf("      %s\n", lines[i]);
	if (n > 3)
		printf("      ...\n");
	free(lines);
}

/* Run case c. Returns 0 passed, 1 failed, 2 the case is not one. */
static int case_run(struct tfile *f, yaml_node_t *c)
{
	struct af_config cfg;
	struct outcome o = {0};
	char err[1024], records[PATH_MAX + 16];
	char **lines = NULL;
	bool *taken = NULL;
	int result = 2;

	if (case_check(f, c) != 0)
		return 2;
	snprintf(records, sizeof(records), "%s/records.jsonl", f->scratch);
	const char *name = scalar(get(&f->doc, c, "name"));
	yaml_node_t *settings = get(&f->doc, c, "settings");
	yaml_node_t *expect = get(&f->doc, c, "expect");
	bool others = get(&f->doc, c, "others") != NULL;
	af_config_init(&cfg);
	if (f->config != NULL && af_config_load(&cfg, f->config, err, sizeof(err)) != AF_OK) {
		fprintf(stderr, "auditflow test: %s: %s\n", f->path, err);
		goto cleanup;
	}
	if ((f->settings != NULL && apply_settings(f, &cfg, "", f->settings, stderr) != 0) ||
	    (settings != NULL && apply_settings(f, &cfg, "", settings, stderr) != 0))
		goto cleanup;
	if (write_records(f, get(&f->doc, c, "records"), records, stderr) != 0) {
		result = 1;
		goto cleanup;
	}
	int status = replay_case(f, &cfg, records, &o);
	if (status != 0) {
		printf("FAIL %s\n    the replay exited %d:\n%s", name, status, o.log ? o.log : "");
		result = status == 2 ? 2 : 1;
		goto cleanup;
	}
	size_t n = split_lines(o.alerts, &lines);
	taken = calloc(n + 1, sizeof(*taken));
	if (lines == NULL || taken == NULL) {
		printf("FAIL %s\n    out of memory\n", name);
		result = 1;
		goto cleanup;
	}
	bool failed = false;
	for (size_t i = 0; i < seq_len(expect); i++) {
		yaml_node_t *e = seq_at(&f->doc, expect, i);
		size_t j = 0;
		while (j < n && (taken[j] || !matches(f, e, lines[j])))
			j++;
		if (j < n) {
			taken[j] = true;
			continue;
		}
		if (!failed)
			printf("FAIL %s\n", name);
		failed = true;
		print_expected(f, e);
	}
	for (size_t j = 0; j < n && !others; j++) {
		if (taken[j])
			continue;
		if (!failed)
			printf("FAIL %s\n", name);
		failed = true;
		printf("    raised, not expected: %s\n", lines[j]);
	}
	if (failed) {
		for (size_t j = 0; j < n; j++)
			if (taken[j])
				printf("    raised as expected: %s\n", lines[j]);
		if (n == 0)
			printf("    no alert was raised\n");
		print_some("records dead-lettered", o.dlq);
	} else {
		printf("ok   %s\n", name);
	}
	result = failed ? 1 : 0;
cleanup:
	free(taken);
	free(lines);
	free(o.alerts);
	free(o.dlq);
	free(o.log);
	unlink(records);
	af_config_fini(&cfg);
	return result;
}

/* Run every case of the file at path; counts into passed and failed.
 * Returns the worst case's status (0, 1 or 2). */
static int run_file(const char *path, unsigned *passed, unsigned *failed)
{
	struct tfile f;
	int worst = 0;

	if (tfile_load(&f, path) != 0)
		return 2;
	const char *tmp = getenv("TMPDIR");
	snprintf(f.scratch, sizeof(f.scratch), "%s/auditflow-test.XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	int here = open(".", O_RDONLY | O_DIRECTORY);
	char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
	if (slash != NULL)
		*slash = '\0';
	if (mkdtemp(f.scratch) == NULL || here < 0 || dir == NULL ||
	    (slash != NULL && chdir(dir) != 0)) {
		fprintf(stderr,
		        "auditflow test: %s: cannot prepare its scratch folder or enter its "
		        "folder: %s\n",
		        path, strerror(errno));
		worst = 1;
		goto cleanup;
	}
	for (size_t i = 0; i < seq_len(f.cases); i++) {
		int r = case_run(&f, seq_at(&f.doc, f.cases, i));
		*passed += r == 0;
		*failed += r != 0;
		if (r > worst)
			worst = r;
		fflush(stdout);
	}
	if (fchdir(here) != 0)
		worst = worst ? worst : 1;
cleanup:
	if (here >= 0)
		close(here);
	rmdir(f.scratch);
	free(dir);
	yaml_document_delete(&f.doc);
	return worst;
}

int af_test_main(int argc, char **argv)
{
	unsigned passed = 0, failed = 0;
	int worst = 0;

	if (argc == 0) {
		usage(stderr);
		return 2;
	}
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
	for (int i = 0; i < argc; i++) {
		int r = run_file(argv[i], &passed, &failed);
		if (r > worst)
			worst = r;
	}
	printf("%u case%s: %u passed, %u failed\n", passed + failed,
	       passed + failed == 1 ? "" : "s", passed, failed);
	return worst;
}
