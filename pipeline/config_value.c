/* config_value.c - the values of configuration keys: parse, check, store.
 *
 * Thread: main thread at start-up only.
 * In: a row (its type, bounds, choices) and text in the key's syntax (see
 * pipeline/config.h): durations, sizes, uints, doubles, bools, enums,
 * strings, lists of strings.
 * Out: the member at the row's offset in struct af_config, set, reset to
 * its default or appended to; or a message saying what is wrong with the
 * text ("expected ...", "out of range ...").
 *
 * DESIGN: a scalar goes text -> union cfg_val (val_parse) -> range check
 * against the row's bounds, themselves text parsed by val_parse -> the
 * member (val_store). Defaults and bounds are parsed the same way; one that
 * does not parse is a bug in the table, and val_bound aborts on it.
 * String defaults are the table's own text, not copies, so af_config_init
 * cannot fail; whatever replaces them is heap-owned, and a string is freed
 * only if it is not its row's default.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pipeline/config_impl.h"

union cfg_val {
	bool b;
	uint64_t u; /* uint, size */
	int64_t i;  /* duration */
	double d;
	int e; /* enum index */
};

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
	void *p = af_config_field(cfg, k);

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

void af_config_type_expect(const struct af_config_key *k, char *buf, size_t size)
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

/* ---- owned values ---- */

void af_config_str_reset(struct af_config *cfg, const struct af_config_key *k)
{
	const char **p = af_config_field(cfg, k);

	if (*p != k->def)
		free((char *)*p);
	*p = k->def;
}

void af_config_strlist_clear(struct af_config_strlist *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->count = 0;
}

af_err_t af_config_strlist_push(struct af_config_strlist *l, const char *s)
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
void af_config_reset(struct af_config *cfg, const struct af_config_key *k)
{
	union cfg_val v;

	switch (k->type) {
	case AF_CONFIG_T_STRING: af_config_str_reset(cfg, k); return;
	case AF_CONFIG_T_STRLIST: af_config_strlist_clear(af_config_field(cfg, k)); return;
	default:
		v = val_bound(k, k->def);
		val_store(cfg, k, &v);
		return;
	}
}

af_err_t af_config_assign(struct af_config *cfg, const struct af_config_key *k, const char *text,
                          char *why, size_t why_size)
{
	char expect[160];
	union cfg_val v;
	const char **str;
	char *copy;

	switch (k->type) {
	case AF_CONFIG_T_STRING:
		if (*text == '\0')
			return af_config_fail(why, why_size, AF_E_CONFIG,
			                      "expected a non-empty string");
		copy = strdup(text);
		if (copy == NULL)
			return af_config_fail(why, why_size, AF_E_NOMEM, "out of memory");
		af_config_str_reset(cfg, k);
		str = af_config_field(cfg, k);
		*str = copy;
		return AF_OK;
	case AF_CONFIG_T_STRLIST:
		if (af_config_strlist_push(af_config_field(cfg, k), text) != AF_OK)
			return af_config_fail(why, why_size, AF_E_NOMEM, "out of memory");
		return AF_OK;
	default: break;
	}
	if (!val_parse(k, text, &v)) {
		af_config_type_expect(k, expect, sizeof(expect));
		return af_config_fail(why, why_size, AF_E_CONFIG, "expected %s, got \"%.64s\"",
		                      expect, text);
	}
	if (!val_in_range(k, &v)) {
		if (k->min != NULL && k->max != NULL)
			return af_config_fail(why, why_size, AF_E_CONFIG,
			                      "\"%.64s\" is out of range %s..%s", text, k->min,
			                      k->max);
		if (k->min != NULL)
			return af_config_fail(why, why_size, AF_E_CONFIG,
			                      "\"%.64s\" is below the minimum %s", text, k->min);
		return af_config_fail(why, why_size, AF_E_CONFIG,
		                      "\"%.64s\" is above the maximum %s", text, k->max);
	}
	val_store(cfg, k, &v);
	return AF_OK;
}
