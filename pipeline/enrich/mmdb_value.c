/* mmdb_value.c - the MaxMind DB writer's values: JSON objects encoded to
 * the format's data types, each distinct value kept once and named by an
 * id (see mmdb_value.h).
 *
 * Thread: the owning writer's only.
 * In: JSON texts. Out: value ids; their bytes in af_mmdbw_values.data.
 *
 * DESIGN: JSON is encoded straight into the value arena: a string, map or
 * array is written first and its control bytes (whose length depends on
 * its size, known only at the end) slid in before it when it closes;
 * values are small, so the moves cost little. An encoded value is then
 * looked up by its bytes (hashed, open addressing) and dropped again if an
 * equal one is kept. Callers such as the bench give the same JSON text
 * for many networks, so a direct-mapped cache of recent texts (copies: at
 * most AF_MMDBW_TEXT_SLOTS times the longest text) maps a repeated text
 * to its value id without parsing it.
 */
#include "pipeline/enrich/mmdb_value.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "sinks/jsonw.h"

#define AF_MMDBW_DEPTH_MAX  64  /* JSON nesting accepted */
#define AF_MMDBW_NUMBER_MAX 128 /* characters of one JSON number */

/* ---- growable arrays ---- */

bool af_mmdbw_grow(void **items, size_t *cap, size_t want, size_t size)
{
	size_t n = *cap ? *cap : 256;
	void *p;

	if (want <= *cap)
		return true;
	while (n < want) {
		if (n > SIZE_MAX / 2 / size)
			return false;
		n *= 2;
	}
	p = realloc(*items, n * size);
	if (!p)
		return false;
	*items = p;
	*cap = n;
	return true;
}

bool af_mmdbw_put(struct af_mmdbw_buf *b, const void *src, size_t n)
{
	if (n > SIZE_MAX - b->len || !af_mmdbw_grow((void **)&b->p, &b->cap, b->len + n, 1))
		return false;
	memcpy(b->p + b->len, src, n);
	b->len += n;
	return true;
}

/* ---- data section encoding ---- */

/* Control bytes of a field of type whose size (bytes; pairs for a map,
 * items for an array, the value for a boolean) is size, into h; returns
 * how many. @pre size <= AF_MMDBW_FIELD_MAX. */
static size_t af_mmdbw_ctrl(uint8_t h[5], unsigned type, uint32_t size)
{
	uint32_t rest = 0;
	unsigned ext = 0, code = size;
	size_t n = 1;

	assert(size <= AF_MMDBW_FIELD_MAX);
	if (size >= 65821) {
		code = 31, ext = 3, rest = size - 65821;
	} else if (size >= 285) {
		code = 30, ext = 2, rest = size - 285;
	} else if (size >= 29) {
		code = 29, ext = 1, rest = size - 29;
	}
	/* Types above 7 are "extended": 0 in the control byte, type - 7 next. */
	h[0] = (uint8_t)((type <= 7 ? type << 5 : 0) | code);
	if (type > 7)
		h[n++] = (uint8_t)(type - 7);
	while (ext > 0)
		h[n++] = (uint8_t)(rest >> (8 * --ext));
	return n;
}

bool af_mmdbw_head(struct af_mmdbw_buf *b, unsigned type, uint32_t size)
{
	uint8_t h[5];

	return af_mmdbw_put(b, h, af_mmdbw_ctrl(h, type, size));
}

/* Slide the control bytes of a field of type and size in before
 * b->p[start..len), which holds its payload. */
static bool af_mmdbw_close(struct af_mmdbw_buf *b, size_t start, unsigned type, uint32_t size)
{
	uint8_t h[5];
	size_t n = af_mmdbw_ctrl(h, type, size);

	if (!af_mmdbw_grow((void **)&b->p, &b->cap, b->len + n, 1))
		return false;
	memmove(b->p + start + n, b->p + start, b->len - start);
	memcpy(b->p + start, h, n);
	b->len += n;
	return true;
}

/* An unsigned integer in the fewest big-endian bytes (none for 0). */
bool af_mmdbw_put_uint(struct af_mmdbw_buf *b, unsigned type, uint64_t v)
{
	uint8_t be[8];
	unsigned n = 0;

	for (uint64_t x = v; x; x >>= 8)
		n++;
	for (unsigned i = 0; i < n; i++)
		be[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return af_mmdbw_head(b, type, n) && af_mmdbw_put(b, be, n);
}

/* Only negative numbers come here (others are uint32): all four bytes, so
 * the sign bit is the top one, as the format requires. */
static bool af_mmdbw_put_negative(struct af_mmdbw_buf *b, int32_t v)
{
	uint32_t u = (uint32_t)v;
	uint8_t be[4] = {(uint8_t)(u >> 24), (uint8_t)(u >> 16), (uint8_t)(u >> 8), (uint8_t)u};

	assert(v < 0);
	return af_mmdbw_head(b, AF_MMDBW_T_INT32, 4) && af_mmdbw_put(b, be, 4);
}

static bool af_mmdbw_put_double(struct af_mmdbw_buf *b, double x)
{
	uint64_t u;
	uint8_t be[8];

	memcpy(&u, &x, sizeof(u));
	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(u >> (56 - 8 * i));
	return af_mmdbw_head(b, AF_MMDBW_T_DOUBLE, 8) && af_mmdbw_put(b, be, 8);
}

bool af_mmdbw_put_text(struct af_mmdbw_buf *b, const char *s)
{
	size_t n = strlen(s);

	return n <= AF_MMDBW_FIELD_MAX && af_mmdbw_head(b, AF_MMDBW_T_STRING, (uint32_t)n) &&
	       af_mmdbw_put(b, s, n);
}

/* ---- JSON to encoded values ---- */

enum af_mmdbw_hint { AF_MMDBW_H_NONE = 0, AF_MMDBW_H_U16, AF_MMDBW_H_U32, AF_MMDBW_H_DOUBLE };

/* GeoIP2 field names whose values have a fixed type (see mmdb_write.h). */
static const struct {
	const char *key;
	enum af_mmdbw_hint hint;
	const char *why; /* the error when a value does not fit */
} af_mmdbw_hints[] = {
    {"accuracy_radius", AF_MMDBW_H_U16, "accuracy_radius takes an integer 0..65535 (uint16)"},
    {"metro_code", AF_MMDBW_H_U16, "metro_code takes an integer 0..65535 (uint16)"},
    {"geoname_id", AF_MMDBW_H_U32, "geoname_id takes an integer 0..4294967295 (uint32)"},
    {"autonomous_system_number", AF_MMDBW_H_U32,
     "autonomous_system_number takes an integer 0..4294967295 (uint32)"},
    {"latitude", AF_MMDBW_H_DOUBLE, "latitude takes a number (double)"},
    {"longitude", AF_MMDBW_H_DOUBLE, "longitude takes a number (double)"},
};

#define AF_MMDBW_NHINTS (sizeof(af_mmdbw_hints) / sizeof(af_mmdbw_hints[0]))

struct af_mmdbw_json {
	struct af_mmdbw_values *v;
	const char *p;
	const char *why; /* static text of the first error; NULL: out of memory */
};

static bool af_mmdbw_fail(struct af_mmdbw_json *j, const char *why)
{
	j->why = why;
	return false;
}

static bool af_mmdbw_nomem(struct af_mmdbw_json *j)
{
	return af_mmdbw_fail(j, NULL);
}

static void af_mmdbw_ws(struct af_mmdbw_json *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

/* 1 + the index in af_mmdbw_hints of the map key key[0..len), or 0. */
static size_t af_mmdbw_hint_at(const uint8_t *key, size_t len)
{
	for (size_t i = 0; i < AF_MMDBW_NHINTS; i++)
		if (strlen(af_mmdbw_hints[i].key) == len &&
		    memcmp(af_mmdbw_hints[i].key, key, len) == 0)
			return i + 1;
	return 0;
}

/* Four hex digits at s; never reads past a NUL. */
static bool af_mmdbw_hex4(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];

		if (af_mmdbw_digit(c))
			v = v * 16 + (uint32_t)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v = v * 16 + (uint32_t)((c | 0x20) - 'a' + 10);
		else
			return false;
	}
	*out = v;
	return true;
}

/* A \u escape at j->p (on the 'u'), a surrogate pair as one code point;
 * its UTF-8 into u8, length in *n; j->p left on the last hex digit. */
static bool af_mmdbw_unicode(struct af_mmdbw_json *j, uint8_t u8[4], size_t *n)
{
	uint32_t cp, lo;

	if (!af_mmdbw_hex4(j->p + 1, &cp))
		return af_mmdbw_fail(j, "\\u needs four hex digits");
	j->p += 4;
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return af_mmdbw_fail(j, "a \\u escape is a low surrogate without a high one");
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		if (j->p[1] != '\\' || j->p[2] != 'u' || !af_mmdbw_hex4(j->p + 3, &lo) ||
		    lo < 0xDC00 || lo > 0xDFFF)
			return af_mmdbw_fail(j,
			                     "a \\u high surrogate is not followed by a low one");
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		j->p += 6;
	}
	if (cp < 0x80) {
		u8[0] = (uint8_t)cp, *n = 1;
	} else if (cp < 0x800) {
		u8[0] = (uint8_t)(0xC0 | cp >> 6), u8[1] = (uint8_t)(0x80 | (cp & 0x3F)), *n = 2;
	} else if (cp < 0x10000) {
		u8[0] = (uint8_t)(0xE0 | cp >> 12), u8[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		u8[2] = (uint8_t)(0x80 | (cp & 0x3F)), *n = 3;
	} else {
		u8[0] = (uint8_t)(0xF0 | cp >> 18), u8[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
		u8[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)), u8[3] = (uint8_t)(0x80 | (cp & 0x3F));
		*n = 4;
	}
	return true;
}

/* The string at j->p (on its opening quote), unescaped and encoded; the
 * unescaped length in *len. The text was checked to be UTF-8 already. */
static bool af_mmdbw_string(struct af_mmdbw_json *j, size_t *len)
{
	struct af_mmdbw_buf *b = &j->v->data;
	size_t start = b->len;

	j->p++;
	for (;;) {
		const char *run = j->p;
		uint8_t u8[4];
		size_t n = 1;

		while (*j->p != '"' && *j->p != '\\' && (unsigned char)*j->p >= 0x20)
			j->p++;
		if (!af_mmdbw_put(b, run, (size_t)(j->p - run)))
			return af_mmdbw_nomem(j);
		if (*j->p == '"')
			break;
		if (*j->p == '\0')
			return af_mmdbw_fail(j, "unterminated string");
		if (*j->p != '\\')
			return af_mmdbw_fail(j, "control character in a string (escape it)");
		switch (*++j->p) {
		case '"': u8[0] = '"'; break;
		case '\\': u8[0] = '\\'; break;
		case '/': u8[0] = '/'; break;
		case 'b': u8[0] = '\b'; break;
		case 'f': u8[0] = '\f'; break;
		case 'n': u8[0] = '\n'; break;
		case 'r': u8[0] = '\r'; break;
		case 't': u8[0] = '\t'; break;
		case 'u':
			if (!af_mmdbw_unicode(j, u8, &n))
				return false;
			break;
		default: return af_mmdbw_fail(j, "unknown escape in a string");
		}
		j->p++;
		if (!af_mmdbw_put(b, u8, n))
			return af_mmdbw_nomem(j);
	}
	j->p++;
	*len = b->len - start;
	if (*len > AF_MMDBW_FIELD_MAX)
		return af_mmdbw_fail(j, "string longer than a MaxMind DB field holds");
	if (!af_mmdbw_close(b, start, AF_MMDBW_T_STRING, (uint32_t)*len))
		return af_mmdbw_nomem(j);
	return true;
}

/* The number at j->p, typed as mmdb_write.h says; why: the error of the
 * hint, if any. */
static bool af_mmdbw_number(struct af_mmdbw_json *j, enum af_mmdbw_hint hint, const char *why)
{
	struct af_mmdbw_buf *b = &j->v->data;
	const char *s = j->p, *q = s;
	bool neg = false, whole = true, over = false;
	uint64_t mag = 0;
	bool ok;

	if (*q == '-')
		neg = true, q++;
	if (*q == '0') {
		q++;
	} else if (af_mmdbw_digit(*q)) {
		for (; af_mmdbw_digit(*q); q++) {
			unsigned d = (unsigned)(*q - '0');

			if (mag > (UINT64_MAX - d) / 10)
				over = true;
			else
				mag = mag * 10 + d;
		}
	} else {
		return af_mmdbw_fail(j, "malformed number");
	}
	if (*q == '.') {
		whole = false;
		if (!af_mmdbw_digit(*++q))
			return af_mmdbw_fail(j, "malformed number");
		while (af_mmdbw_digit(*q))
			q++;
	}
	if (*q == 'e' || *q == 'E') {
		whole = false;
		if (*++q == '+' || *q == '-')
			q++;
		if (!af_mmdbw_digit(*q))
			return af_mmdbw_fail(j, "malformed number");
		while (af_mmdbw_digit(*q))
			q++;
	}
	if (hint == AF_MMDBW_H_DOUBLE || !whole) {
		char tmp[AF_MMDBW_NUMBER_MAX + 1];
		double x;

		if (hint == AF_MMDBW_H_U16 || hint == AF_MMDBW_H_U32)
			return af_mmdbw_fail(j, why);
		if ((size_t)(q - s) > AF_MMDBW_NUMBER_MAX)
			return af_mmdbw_fail(j, "number too long");
		memcpy(tmp, s, (size_t)(q - s));
		tmp[q - s] = '\0';
		/* Locale-free: the program never calls setlocale. */
		x = strtod(tmp, NULL);
		if (!isfinite(x))
			return af_mmdbw_fail(j, "number beyond the range of a double");
		ok = af_mmdbw_put_double(b, x);
	} else if (hint == AF_MMDBW_H_U16 || hint == AF_MMDBW_H_U32) {
		if ((neg && mag != 0) || over ||
		    mag > (hint == AF_MMDBW_H_U16 ? 65535 : UINT32_MAX))
			return af_mmdbw_fail(j, why);
		ok = af_mmdbw_put_uint(
		    b, hint == AF_MMDBW_H_U16 ? AF_MMDBW_T_UINT16 : AF_MMDBW_T_UINT32, mag);
	} else if (neg && mag != 0) {
		if (over || mag > (uint64_t)INT32_MAX + 1)
			return af_mmdbw_fail(j, "negative integer below -2147483648 (int32)");
		ok = af_mmdbw_put_negative(b, (int32_t)(-(int64_t)mag));
	} else {
		if (over)
			return af_mmdbw_fail(j, "integer above 18446744073709551615 (uint64)");
		ok = af_mmdbw_put_uint(b, mag <= UINT32_MAX ? AF_MMDBW_T_UINT32 : AF_MMDBW_T_UINT64,
		                       mag);
	}
	j->p = q;
	return ok || af_mmdbw_nomem(j);
}

static bool af_mmdbw_value(struct af_mmdbw_json *j, size_t hint_at, unsigned depth);

/* Step into the object or array at j->p (on its opening bracket), at
 * nesting depth; *done when it closes at once with close. */
static bool af_mmdbw_enter(struct af_mmdbw_json *j, unsigned depth, char close, bool *done)
{
	if (depth > AF_MMDBW_DEPTH_MAX)
		return af_mmdbw_fail(j, "nested too deeply");
	j->p++;
	af_mmdbw_ws(j);
	*done = *j->p == close;
	if (*done)
		j->p++;
	return true;
}

/* After an object's pair or an array's item: a ',' (more follow) or close
 * (*done); anything else is the error why. */
static bool af_mmdbw_next(struct af_mmdbw_json *j, char close, const char *why, bool *done)
{
	af_mmdbw_ws(j);
	if (*j->p != ',' && *j->p != close)
		return af_mmdbw_fail(j, why);
	*done = *j->p++ == close;
	return true;
}

static bool af_mmdbw_object(struct af_mmdbw_json *j, unsigned depth)
{
	struct af_mmdbw_values *v = j->v;
	size_t start = v->data.len, base = v->nkeys;
	uint32_t pairs = 0;
	bool done;

	if (!af_mmdbw_enter(j, depth, '}', &done))
		return false;
	while (!done) {
		size_t key = v->data.len, len;

		af_mmdbw_ws(j);
		if (*j->p != '"')
			return af_mmdbw_fail(j, "expected a key (a string)");
		if (!af_mmdbw_string(j, &len))
			return false;
		/* Equal keys have equal encodings, control bytes included. */
		for (size_t k = base; k < v->nkeys; k++)
			if (v->keys[k].len == v->data.len - key &&
			    memcmp(v->data.p + v->keys[k].off, v->data.p + key, v->keys[k].len) ==
			        0)
				return af_mmdbw_fail(j, "a key appears twice in one object");
		if (!af_mmdbw_grow((void **)&v->keys, &v->key_cap, v->nkeys + 1, sizeof(*v->keys)))
			return af_mmdbw_nomem(j);
		v->keys[v->nkeys].off = key;
		v->keys[v->nkeys++].len = v->data.len - key;
		af_mmdbw_ws(j);
		if (*j->p != ':')
			return af_mmdbw_fail(j, "expected ':' after a key");
		j->p++;
		if (!af_mmdbw_value(j, af_mmdbw_hint_at(v->data.p + v->data.len - len, len), depth))
			return false;
		if (++pairs > AF_MMDBW_FIELD_MAX)
			return af_mmdbw_fail(j, "more keys than a MaxMind DB map holds");
		if (!af_mmdbw_next(j, '}', "expected ',' or '}'", &done))
			return false;
	}
	v->nkeys = base;
	return af_mmdbw_close(&v->data, start, AF_MMDBW_T_MAP, pairs) || af_mmdbw_nomem(j);
}

static bool af_mmdbw_array(struct af_mmdbw_json *j, unsigned depth)
{
	size_t start = j->v->data.len;
	uint32_t items = 0;
	bool done;

	if (!af_mmdbw_enter(j, depth, ']', &done))
		return false;
	while (!done) {
		if (!af_mmdbw_value(j, 0, depth))
			return false;
		if (++items > AF_MMDBW_FIELD_MAX)
			return af_mmdbw_fail(j, "more items than a MaxMind DB array holds");
		if (!af_mmdbw_next(j, ']', "expected ',' or ']'", &done))
			return false;
	}
	return af_mmdbw_close(&j->v->data, start, AF_MMDBW_T_ARRAY, items) || af_mmdbw_nomem(j);
}

/* One value; hint_at: 1 + the index of the hint its key gives, or 0. */
static bool af_mmdbw_value(struct af_mmdbw_json *j, size_t hint_at, unsigned depth)
{
	enum af_mmdbw_hint hint = hint_at ? af_mmdbw_hints[hint_at - 1].hint : AF_MMDBW_H_NONE;
	const char *why = hint_at ? af_mmdbw_hints[hint_at - 1].why : NULL;
	size_t len;
	char c;

	af_mmdbw_ws(j);
	c = *j->p;
	if (c == '-' || af_mmdbw_digit(c))
		return af_mmdbw_number(j, hint, why);
	if (hint != AF_MMDBW_H_NONE)
		return af_mmdbw_fail(j, why);
	if (c == '{')
		return af_mmdbw_object(j, depth + 1);
	if (c == '[')
		return af_mmdbw_array(j, depth + 1);
	if (c == '"')
		return af_mmdbw_string(j, &len);
	if (strncmp(j->p, "true", 4) == 0 || strncmp(j->p, "false", 5) == 0) {
		j->p += c == 't' ? 4 : 5;
		return af_mmdbw_head(&j->v->data, AF_MMDBW_T_BOOLEAN, c == 't') ||
		       af_mmdbw_nomem(j);
	}
	if (strncmp(j->p, "null", 4) == 0)
		return af_mmdbw_fail(j, "null has no MaxMind DB type (leave the key out)");
	return af_mmdbw_fail(j, "expected a value");
}

/* The id of the value whose encoding is v->data.p[start..len): an earlier
 * equal value's (the new copy dropped) or a new one. */
static af_err_t af_mmdbw_intern(struct af_mmdbw_values *v, size_t start, uint32_t *id)
{
	const uint8_t *enc = v->data.p + start;
	size_t len = v->data.len - start, i;
	uint64_t h = XXH3_64bits(enc, len);

	/* At most half full, so probes stay short. */
	if ((v->nvals + 1) * 2 > v->slot_mask + 1) {
		size_t n = (v->slot_mask + 1) * 2;
		uint32_t *slots = calloc(n, sizeof(*slots));

		if (!slots)
			return AF_E_NOMEM;
		for (size_t k = 0; k < v->nvals; k++) {
			for (i = v->vals[k].hash & (n - 1); slots[i]; i = (i + 1) & (n - 1))
				;
			slots[i] = (uint32_t)k + 1;
		}
		free(v->slots);
		v->slots = slots;
		v->slot_mask = n - 1;
	}
	for (i = h & v->slot_mask; v->slots[i]; i = (i + 1) & v->slot_mask) {
		const struct af_mmdbw_val *o = &v->vals[v->slots[i] - 1];

		if (o->hash == h && o->len == len && memcmp(v->data.p + o->off, enc, len) == 0) {
			v->data.len = start;
			*id = v->slots[i] - 1;
			return AF_OK;
		}
	}
	if (v->nvals >= AF_MMDBW_VALUES_MAX)
		return AF_E_INVALID;
	if (!af_mmdbw_grow((void **)&v->vals, &v->val_cap, v->nvals + 1, sizeof(*v->vals)))
		return AF_E_NOMEM;
	v->vals[v->nvals] = (struct af_mmdbw_val){.hash = h, .off = start, .len = len};
	v->slots[i] = (uint32_t)v->nvals + 1;
	*id = (uint32_t)v->nvals++;
	return AF_OK;
}

/* Encode json (len bytes) as a value of v and give its id; errstr names
 * cidr. */
static af_err_t af_mmdbw_encode(struct af_mmdbw_values *v, const char *cidr, const char *json,
                                size_t len, uint32_t *id, char *errstr, size_t errstr_size)
{
	struct af_mmdbw_json j = {.v = v, .p = json};
	size_t start = v->data.len;
	af_err_t err;
	bool ok;

	v->nkeys = 0;
	if (!af_jsonw_utf8_valid(json, len)) {
		snprintf(errstr, errstr_size, "network \"%s\": the value is not valid UTF-8", cidr);
		return AF_E_INVALID;
	}
	af_mmdbw_ws(&j);
	if (*j.p != '{') {
		ok = af_mmdbw_fail(&j, "the value must be a JSON object");
	} else {
		ok = af_mmdbw_object(&j, 1);
		af_mmdbw_ws(&j);
		if (ok && *j.p != '\0')
			ok = af_mmdbw_fail(&j, "text after the object");
	}
	if (!ok) {
		v->data.len = start;
		if (!j.why) {
			snprintf(errstr, errstr_size, "network \"%s\": out of memory", cidr);
			return AF_E_NOMEM;
		}
		snprintf(errstr, errstr_size, "network \"%s\": bad JSON value at byte %zu: %s",
		         cidr, (size_t)(j.p - json), j.why);
		return AF_E_INVALID;
	}
	err = af_mmdbw_intern(v, start, id);
	if (err != AF_OK) {
		v->data.len = start;
		snprintf(errstr, errstr_size, "network \"%s\": %s", cidr,
		         err == AF_E_NOMEM ? "out of memory" : "too many distinct values");
	}
	return err;
}

/* ---- the store ---- */

af_err_t af_mmdbw_values_init(struct af_mmdbw_values *v)
{
	memset(v, 0, sizeof(*v));
	v->slots = calloc(1024, sizeof(*v->slots));
	if (!v->slots)
		return AF_E_NOMEM;
	v->slot_mask = 1023;
	return AF_OK;
}

void af_mmdbw_values_fini(struct af_mmdbw_values *v)
{
	free(v->data.p);
	free(v->vals);
	free(v->slots);
	free(v->keys);
	for (size_t i = 0; i < AF_MMDBW_TEXT_SLOTS; i++)
		free(v->texts[i].text);
}

af_err_t af_mmdbw_values_add(struct af_mmdbw_values *v, const char *cidr, const char *json,
                             uint32_t *id, char *errstr, size_t errstr_size)
{
	size_t len = strlen(json);
	uint64_t h = XXH3_64bits(json, len);
	struct af_mmdbw_text *t = &v->texts[h & (AF_MMDBW_TEXT_SLOTS - 1)];
	af_err_t err;

	if (t->text && t->hash == h && t->len == len && memcmp(t->text, json, len) == 0) {
		*id = t->id;
		return AF_OK;
	}
	err = af_mmdbw_encode(v, cidr, json, len, id, errstr, errstr_size);
	if (err != AF_OK)
		return err;
	/* Without memory for the copy, the slot keeps its old text. */
	if (af_mmdbw_grow((void **)&t->text, &t->cap, len + 1, 1)) {
		memcpy(t->text, json, len + 1);
		t->len = len;
		t->hash = h;
		t->id = *id;
	}
	return AF_OK;
}
