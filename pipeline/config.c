/* config.c - the configuration engine: table-driven YAML, command line, help.
 *
 * Thread: main thread at start-up only.
 * In: the rows of pipeline/config_table.c; a YAML file; argv; text values.
 * Out: a filled struct af_config; --help text; a YAML dump of the values.
 *
 * DESIGN: nothing here names a key. A value goes text -> union cfg_val
 * (val_parse) -> range check against the row's bounds, themselves text parsed
 * by val_parse -> the member at the row's offset (val_store), so the file, the
 * command line and the defaults share one path and one set of messages. The
 * YAML file is read as a libyaml document (a node tree with positions) and
 * walked with a dotted-key prefix; a key is known only if a row has that exact
 * name, and a prefix is a section only if some row starts with it.
 * String defaults are the table's own text, not copies, so af_config_init
 * cannot fail; whatever replaces them is heap-owned, and a string is freed
 * only if it is not its row's default.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <yaml.h>

#include "pipeline/config.h"

#define KEY_MAX 256 /* longest dotted key the loader builds */

union cfg_val {
	bool b;
	uint64_t u; /* uint, size */
	int64_t i;  /* duration */
	double d;
	int e; /* enum index */
};

static const char *const command_names[] = {"replay", "run", "bench", "validate"};

static const char *command_name(unsigned command)
{
	for (size_t i = 0; i < sizeof(command_names) / sizeof(command_names[0]); i++)
		if (command == 1u << i)
			return command_names[i];
	return "?";
}

__attribute__((format(printf, 4, 5))) static af_err_t fail(char *errstr, size_t errstr_size,
                                                           af_err_t err, const char *fmt, ...)
{
	va_list ap;

	if (errstr_size > 0) {
		va_start(ap, fmt);
		vsnprintf(errstr, errstr_size, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* ---- rows ---- */

static const struct af_config_key *key_find(const char *name)
{
	size_t n;
	const struct af_config_section *sec = af_config_sections(&n);

	for (size_t s = 0; s < n; s++)
		for (size_t k = 0; k < sec[s].count; k++)
			if (strcmp(sec[s].keys[k].key, name) == 0)
				return &sec[s].keys[k];
	return NULL;
}

/* True when some key is name + "." + more: name is a section or a group. */
static bool key_is_prefix(const char *name)
{
	size_t n, len = strlen(name);
	const struct af_config_section *sec = af_config_sections(&n);

	for (size_t s = 0; s < n; s++)
		for (size_t k = 0; k < sec[s].count; k++)
			if (strncmp(sec[s].keys[k].key, name, len) == 0 &&
			    sec[s].keys[k].key[len] == '.')
				return true;
	return false;
}

static size_t key_count(void)
{
	size_t n, total = 0;
	const struct af_config_section *sec = af_config_sections(&n);

	for (size_t s = 0; s < n; s++)
		total += sec[s].count;
	return total;
}

/* Position of k among all rows (0..key_count()), for per-key flags. */
static size_t key_index(const struct af_config_key *k)
{
	size_t n, base = 0;
	const struct af_config_section *sec = af_config_sections(&n);

	for (size_t s = 0; s < n; s++) {
		for (size_t i = 0; i < sec[s].count; i++)
			if (&sec[s].keys[i] == k)
				return base + i;
		base += sec[s].count;
	}
	abort();
}

static void *field(struct af_config *cfg, const struct af_config_key *k)
{
	return (char *)cfg + k->offset;
}

static const void *field_c(const struct af_config *cfg, const struct af_config_key *k)
{
	return (const char *)cfg + k->offset;
}

/* ---- value syntax ---- */

/* digits[.digits] at s; returns the end or NULL without a leading digit.
 * Fraction digits past 18 are dropped: far below any unit's resolution. */
static const char *decimal_parse(const char *s, uint64_t *whole, uint64_t *frac,
                                 unsigned *frac_digits)
{
	*whole = 0;
	*frac = 0;
	*frac_digits = 0;
	if (!isdigit((unsigned char)*s))
		return NULL;
	for (; isdigit((unsigned char)*s); s++) {
		if (*whole > (UINT64_MAX - 9) / 10)
			return NULL;
		*whole = *whole * 10 + (uint64_t)(*s - '0');
	}
	if (*s != '.')
		return s;
	if (!isdigit((unsigned char)s[1]))
		return NULL;
	for (s++; isdigit((unsigned char)*s); s++) {
		if (*frac_digits < 18) {
			*frac = *frac * 10 + (uint64_t)(*s - '0');
			(*frac_digits)++;
		}
	}
	return s;
}

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* The unit word at s (up to trailing blanks); false if anything follows it. */
static bool unit_word(const char *s, size_t *len)
{
	size_t n = 0;

	while (s[n] != '\0' && s[n] != ' ' && s[n] != '\t')
		n++;
	*len = n;
	return *skip_space(s + n) == '\0';
}

static uint64_t pow10u(unsigned n)
{
	uint64_t p = 1;

	while (n--)
		p *= 10;
	return p;
}

static bool parse_duration(const char *s, int64_t *ns)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = {
	    {"", 1000000000ull},     {"ns", 1ull},
	    {"us", 1000ull},         {"ms", 1000000ull},
	    {"s", 1000000000ull},    {"m", 60000000000ull},
	    {"h", 3600000000000ull}, {"d", 86400000000000ull},
	};
	uint64_t whole, frac, unit = 0;
	unsigned digits;
	size_t len;

	s = decimal_parse(skip_space(s), &whole, &frac, &digits);
	if (s == NULL)
		return false;
	s = skip_space(s);
	if (!unit_word(s, &len))
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == len && strncmp(units[i].name, s, len) == 0)
			unit = units[i].ns;
	if (unit == 0)
		return false;
	/* Keep only the fraction digits the unit can express in whole ns, so
	 * the product below is exact and small. */
	while (digits > 0 && unit % pow10u(digits) != 0) {
		frac /= 10;
		digits--;
	}
	if (whole > (uint64_t)INT64_MAX / unit)
		return false;
	uint64_t total = whole * unit + frac * (unit / pow10u(digits));
	if (total > (uint64_t)INT64_MAX)
		return false;
	*ns = (int64_t)total;
	return true;
}

static bool parse_size(const char *s, uint64_t *bytes)
{
	static const struct {
		const char *name;
		uint64_t mult;
	} units[] = {
	    {"", 1},
	    {"b", 1},
	    {"kb", 1000ull},
	    {"mb", 1000000ull},
	    {"gb", 1000000000ull},
	    {"tb", 1000000000000ull},
	    {"kib", 1ull << 10},
	    {"mib", 1ull << 20},
	    {"gib", 1ull << 30},
	    {"tib", 1ull << 40},
	};
	uint64_t whole, frac, mult = 0;
	unsigned digits;
	size_t len;

	s = decimal_parse(skip_space(s), &whole, &frac, &digits);
	if (s == NULL || digits > 0)
		return false;
	s = skip_space(s);
	if (!unit_word(s, &len))
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == len && strncasecmp(units[i].name, s, len) == 0)
			mult = units[i].mult;
	if (mult == 0 || whole > UINT64_MAX / mult)
		return false;
	*bytes = whole * mult;
	return true;
}

static bool parse_uint(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t whole, frac;
	unsigned digits;

	s = decimal_parse(skip_space(s), &whole, &frac, &digits);
	if (s == NULL || digits > 0 || *skip_space(s) != '\0' || whole > max)
		return false;
	*v = whole;
	return true;
}

static bool parse_double(const char *s, double *v)
{
	char *end;

	size_t n;

	s = skip_space(s);
	/* strtod alone would also take hex, "inf" and "nan". */
	n = strspn(s, "0123456789.eE+-");
	if (n == 0 || *skip_space(s + n) != '\0')
		return false;
	errno = 0;
	*v = strtod(s, &end);
	return end == s + n && errno == 0;
}

static bool parse_bool(const char *s, bool *v)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};

	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*v = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*v = false;
			return true;
		}
	}
	return false;
}

static bool parse_enum(const char *s, const char *const *choices, int *v)
{
	for (int i = 0; choices[i] != NULL; i++) {
		if (strcmp(s, choices[i]) == 0) {
			*v = i;
			return true;
		}
	}
	return false;
}

/* Parse text as k's scalar type (not string or list). */
static bool val_parse(const struct af_config_key *k, const char *s, union cfg_val *v)
{
	switch (k->type) {
	case AF_CONFIG_T_BOOL: return parse_bool(s, &v->b);
	case AF_CONFIG_T_UINT:
		return parse_uint(s, k->size == sizeof(uint32_t) ? UINT32_MAX : UINT64_MAX, &v->u);
	case AF_CONFIG_T_DOUBLE: return parse_double(s, &v->d);
	case AF_CONFIG_T_DURATION: return parse_duration(s, &v->i);
	case AF_CONFIG_T_SIZE: return parse_size(s, &v->u);
	case AF_CONFIG_T_ENUM: return parse_enum(s, k->choices, &v->e);
	case AF_CONFIG_T_STRING:
	case AF_CONFIG_T_STRLIST: break;
	}
	abort();
}

/* <0, 0, >0 as a is below, equal to, above b. */
static int val_cmp(const struct af_config_key *k, const union cfg_val *a, const union cfg_val *b)
{
	switch (k->type) {
	case AF_CONFIG_T_UINT:
	case AF_CONFIG_T_SIZE: return (a->u > b->u) - (a->u < b->u);
	case AF_CONFIG_T_DURATION: return (a->i > b->i) - (a->i < b->i);
	case AF_CONFIG_T_DOUBLE: return (a->d > b->d) - (a->d < b->d);
	default: return 0;
	}
}

/* The bound's text parsed as k's type; a table that does not parse is a bug. */
static union cfg_val val_bound(const struct af_config_key *k, const char *text)
{
	union cfg_val v;
	bool ok = val_parse(k, text, &v);

	if (!ok)
		abort();
	return v;
}

static bool val_in_range(const struct af_config_key *k, const union cfg_val *v)
{
	union cfg_val bound;

	if (k->min != NULL && (bound = val_bound(k, k->min), val_cmp(k, v, &bound) < 0))
		return false;
	if (k->max != NULL && (bound = val_bound(k, k->max), val_cmp(k, v, &bound) > 0))
		return false;
	return true;
}

static void val_store(struct af_config *cfg, const struct af_config_key *k, const union cfg_val *v)
{
	void *p = field(cfg, k);

	switch (k->type) {
	case AF_CONFIG_T_BOOL: *(bool *)p = v->b; break;
	case AF_CONFIG_T_UINT:
		if (k->size == sizeof(uint32_t))
			*(uint32_t *)p = (uint32_t)v->u;
		else
			*(uint64_t *)p = v->u;
		break;
	case AF_CONFIG_T_DOUBLE: *(double *)p = v->d; break;
	case AF_CONFIG_T_DURATION: *(int64_t *)p = v->i; break;
	case AF_CONFIG_T_SIZE: *(uint64_t *)p = v->u; break;
	case AF_CONFIG_T_ENUM: *(int *)p = v->e; break;
	case AF_CONFIG_T_STRING:
	case AF_CONFIG_T_STRLIST: abort();
	}
}

/* What a value of k's type looks like, for "expected ..." messages. */
static void type_expect(const struct af_config_key *k, char *buf, size_t size)
{
	size_t len;

	switch (k->type) {
	case AF_CONFIG_T_BOOL: snprintf(buf, size, "true or false (yes/no, on/off)"); return;
	case AF_CONFIG_T_UINT: snprintf(buf, size, "a whole number"); return;
	case AF_CONFIG_T_DOUBLE: snprintf(buf, size, "a number"); return;
	case AF_CONFIG_T_DURATION:
		snprintf(buf, size, "a duration such as 90s, 10m, 24h, 7d, 500ms or seconds");
		return;
	case AF_CONFIG_T_SIZE:
		snprintf(buf, size, "a size such as 4096, 4KiB, 1MiB, 1GiB or 1KB");
		return;
	case AF_CONFIG_T_ENUM:
		len = (size_t)snprintf(buf, size, "one of ");
		for (size_t i = 0; k->choices[i] != NULL && len < size; i++)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? "|" : "",
			                        k->choices[i]);
		return;
	case AF_CONFIG_T_STRING: snprintf(buf, size, "a non-empty string"); return;
	case AF_CONFIG_T_STRLIST: snprintf(buf, size, "a list of strings"); return;
	}
}

static const char *type_name(const struct af_config_key *k)
{
	static const char *const names[] = {
	    [AF_CONFIG_T_BOOL] = "bool",     [AF_CONFIG_T_UINT] = "integer",
	    [AF_CONFIG_T_DOUBLE] = "number", [AF_CONFIG_T_DURATION] = "duration",
	    [AF_CONFIG_T_SIZE] = "size",     [AF_CONFIG_T_ENUM] = "choice",
	    [AF_CONFIG_T_STRING] = "string", [AF_CONFIG_T_STRLIST] = "list of strings",
	};
	return names[k->type];
}

/* ---- owned values ---- */

static void str_reset(struct af_config *cfg, const struct af_config_key *k)
{
	const char **p = field(cfg, k);

	if (*p != k->def)
		free((char *)*p);
	*p = k->def;
}

static void list_clear(struct af_config_strlist *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->count = 0;
}

static af_err_t list_push(struct af_config_strlist *l, const char *s)
{
	char *copy = strdup(s);
	char **items = copy ? realloc(l->items, (l->count + 1) * sizeof(*items)) : NULL;

	if (items == NULL) {
		free(copy);
		return AF_E_NOMEM;
	}
	items[l->count++] = copy;
	l->items = items;
	return AF_OK;
}

/* Restore k's default. */
static void cfg_reset(struct af_config *cfg, const struct af_config_key *k)
{
	union cfg_val v;

	switch (k->type) {
	case AF_CONFIG_T_STRING: str_reset(cfg, k); return;
	case AF_CONFIG_T_STRLIST: list_clear(field(cfg, k)); return;
	default:
		v = val_bound(k, k->def);
		val_store(cfg, k, &v);
		return;
	}
}

/* Parse text as k's value, check its range and store it (append, for a
 * list). On failure cfg is unchanged and why says what is wrong with text. */
static af_err_t cfg_assign(struct af_config *cfg, const struct af_config_key *k, const char *text,
                           char *why, size_t why_size)
{
	char expect[160];
	union cfg_val v;
	const char **str;
	char *copy;

	switch (k->type) {
	case AF_CONFIG_T_STRING:
		if (*text == '\0')
			return fail(why, why_size, AF_E_CONFIG, "expected a non-empty string");
		copy = strdup(text);
		if (copy == NULL)
			return fail(why, why_size, AF_E_NOMEM, "out of memory");
		str_reset(cfg, k);
		str = field(cfg, k);
		*str = copy;
		return AF_OK;
	case AF_CONFIG_T_STRLIST:
		if (list_push(field(cfg, k), text) != AF_OK)
			return fail(why, why_size, AF_E_NOMEM, "out of memory");
		return AF_OK;
	default: break;
	}
	if (!val_parse(k, text, &v)) {
		type_expect(k, expect, sizeof(expect));
		return fail(why, why_size, AF_E_CONFIG, "expected %s, got \"%.64s\"", expect, text);
	}
	if (!val_in_range(k, &v)) {
		if (k->min != NULL && k->max != NULL)
			return fail(why, why_size, AF_E_CONFIG, "\"%.64s\" is out of range %s..%s",
			            text, k->min, k->max);
		if (k->min != NULL)
			return fail(why, why_size, AF_E_CONFIG, "\"%.64s\" is below the minimum %s",
			            text, k->min);
		return fail(why, why_size, AF_E_CONFIG, "\"%.64s\" is above the maximum %s", text,
		            k->max);
	}
	val_store(cfg, k, &v);
	return AF_OK;
}

/* ---- public: init, fini, set ---- */

void af_config_init(struct af_config *cfg)
{
	size_t n;
	const struct af_config_section *sec = af_config_sections(&n);

	memset(cfg, 0, sizeof(*cfg));
	for (size_t s = 0; s < n; s++)
		for (size_t k = 0; k < sec[s].count; k++)
			cfg_reset(cfg, &sec[s].keys[k]);
}

void af_config_fini(struct af_config *cfg)
{
	size_t n;
	const struct af_config_section *sec = af_config_sections(&n);

	for (size_t s = 0; s < n; s++) {
		for (size_t k = 0; k < sec[s].count; k++) {
			const struct af_config_key *key = &sec[s].keys[k];

			if (key->type == AF_CONFIG_T_STRING)
				str_reset(cfg, key);
			else if (key->type == AF_CONFIG_T_STRLIST)
				list_clear(field(cfg, key));
		}
	}
	list_clear(&cfg->cli.args);
	free(cfg->cli.config_path);
	memset(cfg, 0, sizeof(*cfg));
}

af_err_t af_config_set(struct af_config *cfg, const char *key, const char *text, char *errstr,
                       size_t errstr_size)
{
	const struct af_config_key *k = key_find(key);
	char why[256];
	af_err_t err;

	if (k == NULL)
		return fail(errstr, errstr_size, AF_E_CONFIG, "%s: %s", key,
		            key_is_prefix(key) ? "is a section, not a key" : "unknown key");
	err = cfg_assign(cfg, k, text, why, sizeof(why));
	if (err != AF_OK)
		return fail(errstr, errstr_size, err, "%s: %s", key, why);
	return AF_OK;
}

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
 * *out is the caller's to free. */
static af_err_t env_expand(const char *in, char **out, char *why, size_t why_size)
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
				err = fail(why, why_size, AF_E_CONFIG,
				           "unterminated \"${\" in \"%.64s\"", in);
				goto cleanup;
			}
			if (!env_name_ok(s + 2, (size_t)(end - s - 2)) ||
			    (size_t)(end - s - 2) >= sizeof(name)) {
				err = fail(why, why_size, AF_E_CONFIG,
				           "bad variable name \"%.*s\" (letters, digits, _)",
				           (int)(end - s + 1 > 64 ? 64 : end - s + 1), s);
				goto cleanup;
			}
			memcpy(name, s + 2, (size_t)(end - s - 2));
			name[end - s - 2] = '\0';
			value = getenv(name);
			if (value == NULL) {
				err = fail(why, why_size, AF_E_CONFIG,
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
		fail(why, why_size, err, "out of memory");
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
	return fail(ld->errstr, ld->errstr_size, err, "%s:%zu:%zu: %s", ld->path,
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
	err = env_expand((const char *)node->data.scalar.value, &text, why, sizeof(why));
	if (err == AF_OK) {
		err = cfg_assign(ld->cfg, k, text, why, sizeof(why));
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
	size_t idx = key_index(k);
	af_err_t err;

	if (ld->seen[idx])
		return load_fail(ld, AF_E_CONFIG, key_node, "%s: key given twice", k->key);
	ld->seen[idx] = 1;
	if (node_is_null(value)) {
		cfg_reset(ld->cfg, k);
		return AF_OK;
	}
	if (k->type == AF_CONFIG_T_STRLIST && value->type != YAML_MAPPING_NODE) {
		list_clear(field(ld->cfg, k));
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
		type_expect(k, expect, sizeof(expect));
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
		k = key_find(name);
		if (k != NULL)
			err = load_value(ld, k, kn, vn);
		else if (!key_is_prefix(name))
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
		return fail(ld->errstr, ld->errstr_size, AF_E_NOMEM, "%s: out of memory", ld->path);
	if (parser->error == YAML_READER_ERROR) {
		if (ferror(f))
			return fail(ld->errstr, ld->errstr_size, AF_E_CONFIG, "%s: cannot read: %s",
			            ld->path, strerror(errno));
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
		return fail(ld->errstr, ld->errstr_size, AF_E_CONFIG, "%s:%zu:%zu: %s", ld->path,
		            line, col, parser->problem ? parser->problem : "unreadable text");
	}
	return fail(ld->errstr, ld->errstr_size, AF_E_CONFIG,
	            "%s:%zu:%zu: YAML syntax error: %s%s%s", ld->path,
	            parser->problem_mark.line + 1, parser->problem_mark.column + 1,
	            parser->problem ? parser->problem : "malformed", parser->context ? " " : "",
	            parser->context ? parser->context : "");
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
		return fail(errstr, errstr_size, AF_E_CONFIG, "%s: cannot open: %s", path,
		            strerror(errno));
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		err = fail(errstr, errstr_size, AF_E_CONFIG, "%s: is a directory", path);
		goto cleanup;
	}
	ld.seen = calloc(key_count() + 1, 1);
	if (ld.seen == NULL || !yaml_parser_initialize(&parser)) {
		err = fail(errstr, errstr_size, AF_E_NOMEM, "%s: out of memory", path);
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

/* ---- command line ---- */

struct cli_opt {
	const struct af_config_key *k;
	const char *label; /* the option as written, for messages */
	int label_len;
	const char *value; /* NULL: a bool flag without a value */
	bool negated;      /* --no-FLAG */
};

/* The row whose option is name[0..len) (or short letter c when len == 0). */
static const struct af_config_key *opt_find(const char *name, size_t len, char c)
{
	size_t n;
	const struct af_config_section *sec = af_config_sections(&n);

	for (size_t s = 0; s < n; s++) {
		for (size_t i = 0; i < sec[s].count; i++) {
			const struct af_config_key *k = &sec[s].keys[i];

			if (len == 0 ? (c != 0 && k->opt_short == c)
			             : (k->opt != NULL && strlen(k->opt) == len &&
			                strncmp(k->opt, name, len) == 0))
				return k;
		}
	}
	return NULL;
}

static bool is_long(const char *arg, const char *name, size_t len)
{
	return strlen(name) == len && strncmp(arg, name, len) == 0;
}

enum cli_kind { CLI_ROW, CLI_CONFIG, CLI_HELP, CLI_UNKNOWN };

/* What the option word arg is. Fills o (label, row, negated) and *value when
 * the value is in the word itself ("--opt=value", "-ovalue"). */
static enum cli_kind cli_lookup(const char *arg, struct cli_opt *o, const char **value)
{
	const char *name = arg + 2, *eq;
	size_t len;

	o->label = arg;
	if (arg[1] != '-') {
		o->label_len = 2;
		*value = arg[2] != '\0' ? arg + 2 : NULL;
		if (arg[1] == 'h' && *value == NULL)
			return CLI_HELP;
		if (arg[1] == 'c')
			return CLI_CONFIG;
		o->k = opt_find(NULL, 0, arg[1]);
		return o->k ? CLI_ROW : CLI_UNKNOWN;
	}
	eq = strchr(name, '=');
	len = eq ? (size_t)(eq - name) : strlen(name);
	o->label_len = (int)(len + 2);
	*value = eq ? eq + 1 : NULL;
	if (is_long(name, "help", len))
		return CLI_HELP;
	if (is_long(name, "config", len))
		return CLI_CONFIG;
	o->k = opt_find(name, len, 0);
	if (o->k == NULL && len > 3 && strncmp(name, "no-", 3) == 0) {
		o->k = opt_find(name + 3, len - 3, 0);
		o->negated = true;
		if (o->k != NULL && o->k->type != AF_CONFIG_T_BOOL)
			o->k = NULL;
	}
	return o->k ? CLI_ROW : CLI_UNKNOWN;
}

af_err_t af_config_parse_args(struct af_config *cfg, unsigned command, int argc, char **argv,
                              char *errstr, size_t errstr_size)
{
	struct cli_opt *opts = calloc((size_t)argc + 1, sizeof(*opts));
	unsigned char *cli_seen = calloc(key_count() + 1, 1);
	const char *config = NULL;
	size_t nopts = 0;
	bool positional_only = false;
	char why[320];
	af_err_t err = AF_E_NOMEM;

	list_clear(&cfg->cli.args);
	free(cfg->cli.config_path);
	cfg->cli.config_path = NULL;
	cfg->cli.help = false;
	if (opts == NULL || cli_seen == NULL)
		goto cleanup;

	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *value;
		struct cli_opt o = {0};
		enum cli_kind kind;

		if (positional_only || arg[0] != '-' || arg[1] == '\0') {
			if (list_push(&cfg->cli.args, arg) != AF_OK)
				goto cleanup;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			positional_only = true;
			continue;
		}
		kind = cli_lookup(arg, &o, &value);
		if (kind == CLI_HELP) {
			cfg->cli.help = true;
			err = AF_OK;
			goto cleanup;
		}
		if (kind == CLI_UNKNOWN) {
			err = fail(errstr, errstr_size, AF_E_CONFIG, "unknown option %.*s",
			           o.label_len, arg);
			goto cleanup;
		}
		if (kind == CLI_ROW && !(o.k->commands & command)) {
			err = fail(errstr, errstr_size, AF_E_CONFIG,
			           "option %.*s is not accepted by auditflow %s", o.label_len, arg,
			           command_name(command));
			goto cleanup;
		}
		if (kind == CLI_ROW && o.k->type == AF_CONFIG_T_BOOL) {
			/* Only "--flag=BOOL" carries a value. */
			if (value != NULL && (o.negated || arg[1] != '-')) {
				err = fail(errstr, errstr_size, AF_E_CONFIG,
				           "option %.*s takes no value", o.label_len, arg);
				goto cleanup;
			}
		} else if (value == NULL) {
			if (i + 1 >= argc) {
				err = fail(errstr, errstr_size, AF_E_CONFIG,
				           "option %.*s needs a value", o.label_len, arg);
				goto cleanup;
			}
			value = argv[++i];
		}
		if (kind == CLI_CONFIG && config != NULL) {
			err = fail(errstr, errstr_size, AF_E_CONFIG,
			           "option %.*s: only one configuration file may be given",
			           o.label_len, arg);
			goto cleanup;
		}
		if (kind == CLI_CONFIG) {
			config = value;
			continue;
		}
		o.value = value;
		opts[nopts++] = o;
	}

	if (config != NULL) {
		cfg->cli.config_path = strdup(config);
		if (cfg->cli.config_path == NULL)
			goto cleanup;
		err = af_config_load(cfg, config, errstr, errstr_size);
		if (err != AF_OK)
			goto cleanup;
	}
	/* After the file, so the command line wins whatever the order. */
	for (size_t i = 0; i < nopts; i++) {
		const struct cli_opt *o = &opts[i];
		size_t idx = key_index(o->k);
		const char *value = o->value ? o->value : o->negated ? "false" : "true";

		/* A list given on the command line replaces the file's. */
		if (o->k->type == AF_CONFIG_T_STRLIST && !cli_seen[idx])
			list_clear(field(cfg, o->k));
		cli_seen[idx] = 1;
		err = cfg_assign(cfg, o->k, value, why, sizeof(why));
		if (err != AF_OK) {
			fail(errstr, errstr_size, err, "option %.*s (%s): %s", o->label_len,
			     o->label, o->k->key, why);
			goto cleanup;
		}
	}
	err = AF_OK;
cleanup:
	if (err == AF_E_NOMEM)
		fail(errstr, errstr_size, err, "out of memory");
	free(opts);
	free(cli_seen);
	return err;
}

/* ---- help ---- */

static void opt_synopsis(const struct af_config_key *k, char *buf, size_t size)
{
	char meta[160];
	size_t len = 0;

	if (k->type == AF_CONFIG_T_ENUM) {
		for (size_t i = 0; k->choices[i] != NULL && len < sizeof(meta); i++)
			len += (size_t)snprintf(meta + len, sizeof(meta) - len, "%s%s",
			                        i ? "|" : "", k->choices[i]);
	} else {
		snprintf(meta, sizeof(meta), "%s", k->metavar ? k->metavar : "VALUE");
	}
	if (k->type == AF_CONFIG_T_BOOL && k->opt != NULL && k->opt_short != 0)
		snprintf(buf, size, "-%c, --%s, --no-%s", k->opt_short, k->opt, k->opt);
	else if (k->type == AF_CONFIG_T_BOOL && k->opt != NULL)
		snprintf(buf, size, "--%s, --no-%s", k->opt, k->opt);
	else if (k->type == AF_CONFIG_T_BOOL)
		snprintf(buf, size, "-%c", k->opt_short);
	else if (k->opt != NULL && k->opt_short != 0)
		snprintf(buf, size, "-%c, --%s %s", k->opt_short, k->opt, meta);
	else if (k->opt != NULL)
		snprintf(buf, size, "--%s %s", k->opt, meta);
	else
		snprintf(buf, size, "-%c %s", k->opt_short, meta);
}

void af_config_help(FILE *out, unsigned command)
{
	size_t n;
	const struct af_config_section *sec = af_config_sections(&n);
	char syn[200];

	if (command != 0) {
		fprintf(out, "Options of auditflow %s:\n", command_name(command));
		fprintf(out, "  %-30s %s\n", "-c, --config FILE",
		        "read the configuration from FILE (YAML); options override it");
		fprintf(out, "  %-30s %s\n", "-h, --help", "show this help");
		for (size_t s = 0; s < n; s++) {
			for (size_t i = 0; i < sec[s].count; i++) {
				const struct af_config_key *k = &sec[s].keys[i];

				if (!(k->commands & command))
					continue;
				opt_synopsis(k, syn, sizeof(syn));
				fprintf(out, "  %-30s %s\n  %-30s (%s, default %s%s)\n", syn,
				        k->help, "", k->key, k->def ? k->def : "none",
				        k->type == AF_CONFIG_T_STRLIST ? "; repeatable" : "");
			}
		}
		fprintf(out, "\n");
	}
	fprintf(out, "Configuration keys (the -c file; \"section: {key: value}\" or dotted keys;\n"
	             "${NAME} in a value is the environment variable, $${ a literal ${):\n");
	for (size_t s = 0; s < n; s++) {
		for (size_t i = 0; i < sec[s].count; i++) {
			const struct af_config_key *k = &sec[s].keys[i];

			fprintf(out, "  %s (%s", k->key, type_name(k));
			if (k->type == AF_CONFIG_T_ENUM) {
				for (size_t c = 0; k->choices[c] != NULL; c++)
					fprintf(out, "%s%s", c ? "|" : ": ", k->choices[c]);
			}
			fprintf(out, "; default %s", k->def ? k->def : "none");
			if (k->min != NULL || k->max != NULL)
				fprintf(out, "; range %s..%s", k->min ? k->min : "",
				        k->max ? k->max : "");
			fprintf(out, ")\n      %s\n", k->help);
		}
	}
}

/* ---- dump ---- */

static void dump_duration(FILE *out, int64_t ns)
{
	static const struct {
		const char *name;
		int64_t ns;
	} units[] = {
	    {"d", 86400000000000}, {"h", 3600000000000}, {"m", 60000000000},
	    {"s", 1000000000},     {"ms", 1000000},      {"us", 1000},
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ns % units[i].ns == 0) {
			fprintf(out, "%lld%s", (long long)(ns / units[i].ns), units[i].name);
			return;
		}
	}
	fprintf(out, "%lldns", (long long)ns);
}

static void dump_size(FILE *out, uint64_t bytes)
{
	static const char *const units[] = {"TiB", "GiB", "MiB", "KiB"};

	for (size_t i = 0; i < 4 && bytes != 0; i++) {
		unsigned shift = 10 * (4 - (unsigned)i);

		if (bytes % (1ull << shift) == 0) {
			fprintf(out, "%llu%s", (unsigned long long)(bytes >> shift), units[i]);
			return;
		}
	}
	fprintf(out, "%llu", (unsigned long long)bytes);
}

/* The shortest %g form that reads back as the same double. */
static void dump_double(FILE *out, double d)
{
	char buf[40];

	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	fputs(buf, out);
}

/* A YAML double-quoted scalar that af_config_load reads back as s: a '$'
 * before '{' is doubled so it is not taken for a ${VAR}. */
static void dump_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else if (c == '$' && s[1] == '{')
			fputs("$$", out);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void dump_value(FILE *out, const struct af_config *cfg, const struct af_config_key *k)
{
	const void *p = field_c(cfg, k);
	const struct af_config_strlist *l;

	switch (k->type) {
	case AF_CONFIG_T_BOOL: fputs(*(const bool *)p ? "true" : "false", out); return;
	case AF_CONFIG_T_UINT:
		fprintf(out, "%llu",
		        k->size == sizeof(uint32_t) ? (unsigned long long)*(const uint32_t *)p
		                                    : (unsigned long long)*(const uint64_t *)p);
		return;
	case AF_CONFIG_T_DOUBLE: dump_double(out, *(const double *)p); return;
	case AF_CONFIG_T_DURATION: dump_duration(out, *(const int64_t *)p); return;
	case AF_CONFIG_T_SIZE: dump_size(out, *(const uint64_t *)p); return;
	case AF_CONFIG_T_ENUM: fputs(k->choices[*(const int *)p], out); return;
	case AF_CONFIG_T_STRING:
		if (*(const char *const *)p == NULL)
			fputs("~", out);
		else
			dump_string(out, *(const char *const *)p);
		return;
	case AF_CONFIG_T_STRLIST:
		l = p;
		fputc('[', out);
		for (size_t i = 0; i < l->count; i++) {
			if (i > 0)
				fputs(", ", out);
			dump_string(out, l->items[i]);
		}
		fputc(']', out);
		return;
	}
}

af_err_t af_config_dump(const struct af_config *cfg, FILE *out)
{
	size_t n;
	const struct af_config_section *sec = af_config_sections(&n);

	for (size_t s = 0; s < n; s++) {
		size_t skip = strlen(sec[s].name) + 1;

		fprintf(out, "%s:\n", sec[s].name);
		for (size_t i = 0; i < sec[s].count; i++) {
			fprintf(out, "  %s: ", sec[s].keys[i].key + skip);
			dump_value(out, cfg, &sec[s].keys[i]);
			fputc('\n', out);
		}
	}
	return ferror(out) ? AF_E_IO : AF_OK;
}
