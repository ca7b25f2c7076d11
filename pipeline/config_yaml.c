/* config_yaml.c - load the configuration file (YAML) into a struct af_config.
 *
 * Thread: main thread at start-up only.
 * In: the path of a YAML file; environment variables named as ${NAME} in
 * its values.
 * Out: the keys the file sets, assigned over the config's current values
 * (af_config_load); or one error, "FILE:LINE:COLUMN: message".
 *
 * DESIGN: the file is read as a libyaml document (a node tree that keeps
 * each node's position, for messages) and walked with a dotted-key prefix:
 * "input: {reorder_window: 5m}" and "input.reorder_window: 5m" reach the
 * same row. Each scalar has its ${NAME} replaced before it goes to
 * af_config_assign, the path every value takes. A per-row flag catches a
 * key given twice, whichever spelling each time.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "pipeline/config_impl.h"

#define KEY_MAX 256 /* longest dotted key the loader builds */

/* ---- environment ---- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static bool sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (p == NULL)
			return false;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return true;
}

static bool env_name_ok(const char *s, size_t n)
{
	if (n == 0 || isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* *out = in with ${NAME} replaced by the variable's value and "$${" by "${".
 * *out is the caller's to free. secret: in is a secret, which no message
 * may quote. */
static af_err_t env_expand(const char *in, bool secret, char **out, char *why, size_t why_size)
{
	struct sbuf b = {0};
	char name[128];
	af_err_t err = AF_E_NOMEM;

	*out = NULL;
	if (!sbuf_add(&b, "", 0))
		goto cleanup;
	for (const char *s = in; *s != '\0';) {
		const char *end, *value;
		size_t run = strcspn(s, "$");
		bool ok = true;

		if (run > 0) {
			ok = sbuf_add(&b, s, run);
			s += run;
		} else if (s[1] == '$' && s[2] == '{') {
			ok = sbuf_add(&b, "${", 2);
			s += 3;
		} else if (s[1] != '{') {
			ok = sbuf_add(&b, "$", 1);
			s++;
		} else {
			end = strchr(s + 2, '}');
			if (end == NULL) {
				err = af_config_fail(why, why_size, AF_E_CONFIG,
				                     "unterminated \"${\" in \"%.64s\"",
				                     secret ? "<secret>" : in);
				goto cleanup;
			}
			if (!env_name_ok(s + 2, (size_t)(end - s - 2)) ||
			    (size_t)(end - s - 2) >= sizeof(name)) {
				err = af_config_fail(
				    why, why_size, AF_E_CONFIG,
				    "bad variable name \"%.*s\" (letters, digits, _)",
				    secret ? 8 : (int)(end - s + 1 > 64 ? 64 : end - s + 1),
				    secret ? "<secret>" : s);
				goto cleanup;
			}
			memcpy(name, s + 2, (size_t)(end - s - 2));
			name[end - s - 2] = '\0';
			value = getenv(name);
			if (value == NULL) {
				err =
				    af_config_fail(why, why_size, AF_E_CONFIG,
				                   "environment variable %s is not defined", name);
				goto cleanup;
			}
			ok = sbuf_add(&b, value, strlen(value));
			s = end + 1;
		}
		if (!ok)
			goto cleanup;
	}
	*out = b.p;
	b.p = NULL;
	err = AF_OK;
cleanup:
	if (err == AF_E_NOMEM)
		af_config_fail(why, why_size, err, "out of memory");
	free(b.p);
	return err;
}

/* ---- YAML file ---- */

struct cfg_loader {
	struct af_config *cfg;
	yaml_document_t *doc;
	const char *path;
	unsigned char *seen; /* per row: already set by this file */
	char *errstr;
	size_t errstr_size;
};

__attribute__((format(printf, 4, 5))) static af_err_t
load_fail(struct cfg_loader *ld, af_err_t err, const yaml_node_t *at, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return af_config_fail(ld->errstr, ld->errstr_size, err, "%s:%zu:%zu: %s", ld->path,
	                      at->start_mark.line + 1, at->start_mark.column + 1, msg);
}

static const char *node_kind(const yaml_node_t *node)
{
	switch (node->type) {
	case YAML_MAPPING_NODE: return "a mapping";
	case YAML_SEQUENCE_NODE: return "a sequence";
	default: return "a scalar";
	}
}

/* A plain ~, null or empty scalar: "use the default". Quoted "null" is text. */
static bool node_is_null(const yaml_node_t *node)
{
	const char *s;

	if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = (const char *)node->data.scalar.value;
	return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	       strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* One scalar (a value, or an item of a list) into k. */
static af_err_t load_scalar(struct cfg_loader *ld, const struct af_config_key *k,
                            const yaml_node_t *node)
{
	char why[320];
	char *text;
	af_err_t err;

	if (node->type != YAML_SCALAR_NODE)
		return load_fail(ld, AF_E_CONFIG, node, "%s: expected a string, got %s", k->key,
		                 node_kind(node));
	err = env_expand((const char *)node->data.scalar.value,
	                 af_config_value_secret(k, (const char *)node->data.scalar.value), &text,
	                 why, sizeof(why));
	if (err == AF_OK) {
		err = af_config_assign(ld->cfg, k, text, why, sizeof(why));
		free(text);
	}
	if (err != AF_OK)
		return load_fail(ld, err, node, "%s: %s", k->key, why);
	return AF_OK;
}

static af_err_t load_value(struct cfg_loader *ld, const struct af_config_key *k,
                           const yaml_node_t *key_node, const yaml_node_t *value)
{
	char expect[160];
	size_t idx = af_config_key_index(k);
	af_err_t err;

	if (ld->seen[idx])
		return load_fail(ld, AF_E_CONFIG, key_node, "%s: key given twice", k->key);
	ld->seen[idx] = 1;
	if (node_is_null(value)) {
		af_config_reset(ld->cfg, k);
		return AF_OK;
	}
	if (k->type == AF_CONFIG_T_STRLIST && value->type != YAML_MAPPING_NODE) {
		af_config_strlist_clear(af_config_field(ld->cfg, k));
		if (value->type == YAML_SCALAR_NODE)
			return load_scalar(ld, k, value);
		for (yaml_node_item_t *it = value->data.sequence.items.start;
		     it < value->data.sequence.items.top; it++) {
			err = load_scalar(ld, k, yaml_document_get_node(ld->doc, *it));
			if (err != AF_OK)
				return err;
		}
		return AF_OK;
	}
	if (value->type != YAML_SCALAR_NODE) {
		af_config_type_expect(k, expect, sizeof(expect));
		return load_fail(ld, AF_E_CONFIG, value, "%s: expected %s, got %s", k->key, expect,
		                 node_kind(value));
	}
	return load_scalar(ld, k, value);
}

/* The pairs of map, whose keys are under prefix ("" at the top). */
static af_err_t load_mapping(struct cfg_loader *ld, const yaml_node_t *map, const char *prefix)
{
	char name[KEY_MAX];
	af_err_t err;

	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		const yaml_node_t *kn = yaml_document_get_node(ld->doc, pair->key);
		const yaml_node_t *vn = yaml_document_get_node(ld->doc, pair->value);
		const struct af_config_key *k;

		if (kn->type != YAML_SCALAR_NODE)
			return load_fail(ld, AF_E_CONFIG, kn, "a key must be a scalar, not %s",
			                 node_kind(kn));
		snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "",
		         (const char *)kn->data.scalar.value);
		k = af_config_key_find(name);
		if (k != NULL)
			err = load_value(ld, k, kn, vn);
		else if (!af_config_key_is_prefix(name))
			err = load_fail(ld, AF_E_CONFIG, kn, "unknown key %s", name);
		else if (vn->type == YAML_MAPPING_NODE)
			err = load_mapping(ld, vn, name);
		else if (node_is_null(vn))
			err = AF_OK; /* an empty section */
		else
			err = load_fail(ld, AF_E_CONFIG, vn,
			                "%s is a section: expected a mapping, got %s", name,
			                node_kind(vn));
		if (err != AF_OK)
			return err;
	}
	return AF_OK;
}

static af_err_t yaml_fail(struct cfg_loader *ld, const yaml_parser_t *parser, FILE *f)
{
	if (parser->error == YAML_MEMORY_ERROR)
		return af_config_fail(ld->errstr, ld->errstr_size, AF_E_NOMEM, "%s: out of memory",
		                      ld->path);
	if (parser->error == YAML_READER_ERROR) {
		if (ferror(f))
			return af_config_fail(ld->errstr, ld->errstr_size, AF_E_CONFIG,
			                      "%s: cannot read: %s", ld->path, strerror(errno));
		size_t line = 1, col = 1;

		/* The reader knows only a byte offset; count lines up to it. */
		rewind(f);
		for (size_t i = 0; i < parser->problem_offset; i++) {
			int c = getc(f);

			if (c == EOF)
				break;
			col = c == '\n' ? 1 : col + 1;
			line += c == '\n';
		}
		return af_config_fail(ld->errstr, ld->errstr_size, AF_E_CONFIG, "%s:%zu:%zu: %s",
		                      ld->path, line, col,
		                      parser->problem ? parser->problem : "unreadable text");
	}
	return af_config_fail(ld->errstr, ld->errstr_size, AF_E_CONFIG,
	                      "%s:%zu:%zu: YAML syntax error: %s%s%s", ld->path,
	                      parser->problem_mark.line + 1, parser->problem_mark.column + 1,
	                      parser->problem ? parser->problem : "malformed",
	                      parser->context ? " " : "", parser->context ? parser->context : "");
}

af_err_t af_config_load(struct af_config *cfg, const char *path, char *errstr, size_t errstr_size)
{
	struct cfg_loader ld = {
	    .cfg = cfg, .path = path, .errstr = errstr, .errstr_size = errstr_size};
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	bool parser_ok = false, doc_ok = false;
	const yaml_node_t *root;
	struct stat st;
	af_err_t err;
	FILE *f;

	f = fopen(path, "rb");
	if (f == NULL)
		return af_config_fail(errstr, errstr_size, AF_E_CONFIG, "%s: cannot open: %s", path,
		                      strerror(errno));
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		err = af_config_fail(errstr, errstr_size, AF_E_CONFIG, "%s: is a directory", path);
		goto cleanup;
	}
	ld.seen = calloc(af_config_key_count() + 1, 1);
	if (ld.seen == NULL || !yaml_parser_initialize(&parser)) {
		err = af_config_fail(errstr, errstr_size, AF_E_NOMEM, "%s: out of memory", path);
		goto cleanup;
	}
	parser_ok = true;
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		err = yaml_fail(&ld, &parser, f);
		goto cleanup;
	}
	doc_ok = true;
	ld.doc = &doc;
	/* A second document would be silently ignored; say so instead. */
	if (!yaml_parser_load(&parser, &extra)) {
		err = yaml_fail(&ld, &parser, f);
		goto cleanup;
	}
	root = yaml_document_get_root_node(&extra);
	if (root != NULL) {
		err = load_fail(&ld, AF_E_CONFIG, root, "only one YAML document is allowed");
		yaml_document_delete(&extra);
		goto cleanup;
	}
	yaml_document_delete(&extra);
	root = yaml_document_get_root_node(&doc);
	if (root == NULL || node_is_null(root))
		err = AF_OK;
	else if (root->type != YAML_MAPPING_NODE)
		err = load_fail(&ld, AF_E_CONFIG, root, "expected a mapping of sections, got %s",
		                node_kind(root));
	else
		err = load_mapping(&ld, root, "");
cleanup:
	if (doc_ok)
		yaml_document_delete(&doc);
	if (parser_ok)
		yaml_parser_delete(&parser);
	free(ld.seen);
	fclose(f);
	return err;
}
