/* mmdb_write.c - the MaxMind DB writer: JSON values encoded to the
 * format's data types and kept once each, networks in a tree of nodes in
 * one array, the file written breadth first.
 *
 * Thread: the writer's owner only (see mmdb_write.h).
 * In: networks and JSON objects. Out: .mmdb files.
 *
 * DESIGN: a record in memory is a uint32_t: 0 empty; a node index (node 0
 * is the root, which no record points to); AF_MMDBW_VALUE | a value id; or
 * AF_MMDBW_ALIAS, the one record at ::ffff:0:0/96, which the file fills
 * with whatever ::/96 (the IPv4 space) holds when it is written. An insert
 * that covers ::ffff:0:0/96 replaces the alias with its value like every
 * other record below it, so the alias is walked to and put back after it.
 * JSON is encoded straight into the value arena: a string, map or array is
 * written first and its control bytes (whose length depends on its size,
 * known only at the end) slid in before it when it closes; values are
 * small, so the moves cost little. Values carry no pointers, so each is
 * self-contained and can go anywhere in the data section. Callers such as
 * the bench give the same JSON text for many networks, so a direct-mapped
 * cache of recent texts (copies: at most AF_MMDBW_TEXT_SLOTS times the
 * longest text) maps a repeated text to its value id without parsing it.
 */
#include "pipeline/enrich/mmdb_write.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "sinks/jsonw.h"

/* Data types of the format (type numbers of the specification). */
enum {
	AF_MMDBW_T_STRING = 2,
	AF_MMDBW_T_DOUBLE = 3,
	AF_MMDBW_T_UINT16 = 5,
	AF_MMDBW_T_UINT32 = 6,
	AF_MMDBW_T_MAP = 7,
	AF_MMDBW_T_INT32 = 8,
	AF_MMDBW_T_UINT64 = 9,
	AF_MMDBW_T_ARRAY = 11,
	AF_MMDBW_T_BOOLEAN = 14,
};

#define AF_MMDBW_RECORD_BITS 28
#define AF_MMDBW_RECORD_MAX  ((1u << AF_MMDBW_RECORD_BITS) - 1)
/* More nodes could never be written with 28-bit records. */
#define AF_MMDBW_NODES_MAX (1u << AF_MMDBW_RECORD_BITS)
/* Nodes one insert may add: its own path and the alias path. */
#define AF_MMDBW_INSERT_NODES (128 + 96)
#define AF_MMDBW_FIELD_MAX    16843036u /* largest size control bytes can say */
#define AF_MMDBW_DEPTH_MAX    64        /* JSON nesting accepted */
#define AF_MMDBW_NUMBER_MAX   128       /* characters of one JSON number */

#define AF_MMDBW_EMPTY 0u
#define AF_MMDBW_VALUE 0x80000000u
#define AF_MMDBW_ALIAS 0xffffffffu
#define AF_MMDBW_UNSET UINT32_MAX /* write: not yet numbered / placed */

/* libmaxminddb refuses build_epoch 0; 2025-01-01T00:00:00Z, as
 * scripts/gen-mmdb uses, keeps output reproducible. */
#define AF_MMDBW_EPOCH_DEFAULT 1735689600u
/* libmaxminddb refuses a data section under 3 bytes; a smaller one is
 * padded with empty maps (0xE0) that no record points to. */
#define AF_MMDBW_DATA_MIN 3

static const uint8_t af_mmdbw_mapped[16] = {[10] = 0xff, [11] = 0xff}; /* ::ffff:0:0 */

struct af_mmdbw_node {
	uint32_t rec[2]; /* left (bit 0), right (bit 1) */
};

struct af_mmdbw_buf {
	uint8_t *p;
	size_t len, cap;
};

struct af_mmdbw_val {
	uint64_t hash; /* XXH3 of the encoded bytes */
	size_t off;    /* in the value arena */
	size_t len;
};

/* A JSON text inserted lately and the id of its value. */
struct af_mmdbw_text {
	char *text; /* a copy */
	size_t len, cap;
	uint64_t hash;
	uint32_t id;
};

#define AF_MMDBW_TEXT_SLOTS 1024 /* direct-mapped, by the text's hash */

/* An encoded key of a map being parsed, for the duplicate check. */
struct af_mmdbw_key {
	size_t off, len;
};

struct af_mmdbw {
	char *type;
	uint64_t build_epoch;
	struct af_mmdbw_node *nodes;
	size_t nnodes, node_cap;
	struct af_mmdbw_buf data; /* every distinct value, back to back */
	struct af_mmdbw_val *vals;
	size_t nvals, val_cap;
	uint32_t *slots; /* open addressing over vals: id + 1, 0 free */
	size_t slot_mask;
	struct af_mmdbw_key *keys; /* of the maps open in the current insert */
	size_t nkeys, key_cap;
	struct af_mmdbw_text texts[AF_MMDBW_TEXT_SLOTS];
};

/* ---- growable arrays ---- */

static bool af_mmdbw_grow(void **items, size_t *cap, size_t want, size_t size)
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

static bool af_mmdbw_put(struct af_mmdbw_buf *b, const void *src, size_t n)
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

static bool af_mmdbw_head(struct af_mmdbw_buf *b, unsigned type, uint32_t size)
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
static bool af_mmdbw_put_uint(struct af_mmdbw_buf *b, unsigned type, uint64_t v)
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

static bool af_mmdbw_put_text(struct af_mmdbw_buf *b, const char *s)
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
	struct af_mmdbw *w;
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

static bool af_mmdbw_digit(char c)
{
	return c >= '0' && c <= '9';
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
	struct af_mmdbw_buf *b = &j->w->data;
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
	struct af_mmdbw_buf *b = &j->w->data;
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

static bool af_mmdbw_object(struct af_mmdbw_json *j, unsigned depth)
{
	struct af_mmdbw *w = j->w;
	size_t start = w->data.len, base = w->nkeys;
	uint32_t pairs = 0;
	bool done;

	if (depth > AF_MMDBW_DEPTH_MAX)
		return af_mmdbw_fail(j, "nested too deeply");
	j->p++;
	af_mmdbw_ws(j);
	done = *j->p == '}';
	if (done)
		j->p++;
	while (!done) {
		size_t key = w->data.len, len;

		af_mmdbw_ws(j);
		if (*j->p != '"')
			return af_mmdbw_fail(j, "expected a key (a string)");
		if (!af_mmdbw_string(j, &len))
			return false;
		/* Equal keys have equal encodings, control bytes included. */
		for (size_t k = base; k < w->nkeys; k++)
			if (w->keys[k].len == w->data.len - key &&
			    memcmp(w->data.p + w->keys[k].off, w->data.p + key, w->keys[k].len) ==
			        0)
				return af_mmdbw_fail(j, "a key appears twice in one object");
		if (!af_mmdbw_grow((void **)&w->keys, &w->key_cap, w->nkeys + 1, sizeof(*w->keys)))
			return af_mmdbw_nomem(j);
		w->keys[w->nkeys].off = key;
		w->keys[w->nkeys++].len = w->data.len - key;
		af_mmdbw_ws(j);
		if (*j->p != ':')
			return af_mmdbw_fail(j, "expected ':' after a key");
		j->p++;
		if (!af_mmdbw_value(j, af_mmdbw_hint_at(w->data.p + w->data.len - len, len), depth))
			return false;
		if (++pairs > AF_MMDBW_FIELD_MAX)
			return af_mmdbw_fail(j, "more keys than a MaxMind DB map holds");
		af_mmdbw_ws(j);
		if (*j->p != ',' && *j->p != '}')
			return af_mmdbw_fail(j, "expected ',' or '}'");
		done = *j->p++ == '}';
	}
	w->nkeys = base;
	return af_mmdbw_close(&w->data, start, AF_MMDBW_T_MAP, pairs) || af_mmdbw_nomem(j);
}

static bool af_mmdbw_array(struct af_mmdbw_json *j, unsigned depth)
{
	size_t start = j->w->data.len;
	uint32_t items = 0;
	bool done;

	if (depth > AF_MMDBW_DEPTH_MAX)
		return af_mmdbw_fail(j, "nested too deeply");
	j->p++;
	af_mmdbw_ws(j);
	done = *j->p == ']';
	if (done)
		j->p++;
	while (!done) {
		if (!af_mmdbw_value(j, 0, depth))
			return false;
		if (++items > AF_MMDBW_FIELD_MAX)
			return af_mmdbw_fail(j, "more items than a MaxMind DB array holds");
		af_mmdbw_ws(j);
		if (*j->p != ',' && *j->p != ']')
			return af_mmdbw_fail(j, "expected ',' or ']'");
		done = *j->p++ == ']';
	}
	return af_mmdbw_close(&j->w->data, start, AF_MMDBW_T_ARRAY, items) || af_mmdbw_nomem(j);
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
		return af_mmdbw_head(&j->w->data, AF_MMDBW_T_BOOLEAN, c == 't') ||
		       af_mmdbw_nomem(j);
	}
	if (strncmp(j->p, "null", 4) == 0)
		return af_mmdbw_fail(j, "null has no MaxMind DB type (leave the key out)");
	return af_mmdbw_fail(j, "expected a value");
}

/* The id of the value whose encoding is w->data.p[start..len): an earlier
 * equal value's (the new copy dropped) or a new one. */
static af_err_t af_mmdbw_intern(struct af_mmdbw *w, size_t start, uint32_t *id)
{
	const uint8_t *v = w->data.p + start;
	size_t len = w->data.len - start, i;
	uint64_t h = XXH3_64bits(v, len);

	/* At most half full, so probes stay short. */
	if ((w->nvals + 1) * 2 > w->slot_mask + 1) {
		size_t n = (w->slot_mask + 1) * 2;
		uint32_t *slots = calloc(n, sizeof(*slots));

		if (!slots)
			return AF_E_NOMEM;
		for (size_t k = 0; k < w->nvals; k++) {
			for (i = w->vals[k].hash & (n - 1); slots[i]; i = (i + 1) & (n - 1))
				;
			slots[i] = (uint32_t)k + 1;
		}
		free(w->slots);
		w->slots = slots;
		w->slot_mask = n - 1;
	}
	for (i = h & w->slot_mask; w->slots[i]; i = (i + 1) & w->slot_mask) {
		const struct af_mmdbw_val *o = &w->vals[w->slots[i] - 1];

		if (o->hash == h && o->len == len && memcmp(w->data.p + o->off, v, len) == 0) {
			w->data.len = start;
			*id = w->slots[i] - 1;
			return AF_OK;
		}
	}
	if (w->nvals >= AF_MMDBW_VALUE - 1)
		return AF_E_INVALID;
	if (!af_mmdbw_grow((void **)&w->vals, &w->val_cap, w->nvals + 1, sizeof(*w->vals)))
		return AF_E_NOMEM;
	w->vals[w->nvals] = (struct af_mmdbw_val){.hash = h, .off = start, .len = len};
	w->slots[i] = (uint32_t)w->nvals + 1;
	*id = (uint32_t)w->nvals++;
	return AF_OK;
}

/* Encode json (len bytes) as a value of w and give its id; errstr names
 * cidr. */
static af_err_t af_mmdbw_encode(struct af_mmdbw *w, const char *cidr, const char *json, size_t len,
                                uint32_t *id, char *errstr, size_t errstr_size)
{
	struct af_mmdbw_json j = {.w = w, .p = json};
	size_t start = w->data.len;
	af_err_t err;
	bool ok;

	w->nkeys = 0;
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
		w->data.len = start;
		if (!j.why) {
			snprintf(errstr, errstr_size, "network \"%s\": out of memory", cidr);
			return AF_E_NOMEM;
		}
		snprintf(errstr, errstr_size, "network \"%s\": bad JSON value at byte %zu: %s",
		         cidr, (size_t)(j.p - json), j.why);
		return AF_E_INVALID;
	}
	err = af_mmdbw_intern(w, start, id);
	if (err != AF_OK) {
		w->data.len = start;
		snprintf(errstr, errstr_size, "network \"%s\": %s", cidr,
		         err == AF_E_NOMEM ? "out of memory" : "too many distinct values");
	}
	return err;
}

/* ---- the tree ---- */

static bool af_mmdbw_is_node(uint32_t rec)
{
	return rec != AF_MMDBW_EMPTY && rec < AF_MMDBW_VALUE;
}

static unsigned af_mmdbw_bit(const uint8_t a[16], unsigned i)
{
	return (a[i >> 3] >> (7 - (i & 7))) & 1;
}

/* Room for one insert's new nodes, so placing them cannot fail midway. */
static af_err_t af_mmdbw_reserve_nodes(struct af_mmdbw *w)
{
	if (w->nnodes + AF_MMDBW_INSERT_NODES > AF_MMDBW_NODES_MAX)
		return AF_E_INVALID;
	if (!af_mmdbw_grow((void **)&w->nodes, &w->node_cap, w->nnodes + AF_MMDBW_INSERT_NODES,
	                   sizeof(*w->nodes)))
		return AF_E_NOMEM;
	return AF_OK;
}

/* Set the record of the network a/plen to rec, splitting what it passes
 * through: a record that held data (or nothing) becomes a node whose two
 * records hold it, so the rest of that network keeps it.
 * @pre af_mmdbw_reserve_nodes succeeded. */
static void af_mmdbw_place(struct af_mmdbw *w, const uint8_t a[16], unsigned plen, uint32_t rec)
{
	uint32_t cur = 0;

	if (plen == 0) {
		w->nodes[0].rec[0] = w->nodes[0].rec[1] = rec;
		return;
	}
	for (unsigned i = 0; i + 1 < plen; i++) {
		uint32_t *r = &w->nodes[cur].rec[af_mmdbw_bit(a, i)];

		if (!af_mmdbw_is_node(*r)) {
			/* Nothing is ever inserted below the alias (see cidr). */
			assert(*r != AF_MMDBW_ALIAS);
			assert(w->nnodes < w->node_cap);
			w->nodes[w->nnodes].rec[0] = w->nodes[w->nnodes].rec[1] = *r;
			*r = (uint32_t)w->nnodes++;
		}
		cur = *r;
	}
	w->nodes[cur].rec[af_mmdbw_bit(a, plen - 1)] = rec;
}

/* True if the first plen bits of a and b agree. */
static bool af_mmdbw_same_prefix(const uint8_t a[16], const uint8_t b[16], unsigned plen)
{
	unsigned whole = plen / 8, rest = plen % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	return rest == 0 || ((a[whole] ^ b[whole]) & (0xFF00 >> rest) & 0xFF) == 0;
}

/* What the IPv4 space (::/96) holds: a node, a value, or empty. */
static uint32_t af_mmdbw_ipv4_root(const struct af_mmdbw *w)
{
	uint32_t r = w->nodes[0].rec[0];

	for (unsigned i = 1; i < 96 && af_mmdbw_is_node(r); i++)
		r = w->nodes[r].rec[0];
	return r;
}

/* Parse cidr into a (IPv6 bits; IPv4 at ::a.b.c.d) and plen. */
static af_err_t af_mmdbw_cidr(const char *cidr, uint8_t a[16], unsigned *plen, char *errstr,
                              size_t errstr_size)
{
	char text[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(cidr, '/'), *why = NULL;
	size_t alen = slash ? (size_t)(slash - cidr) : strlen(cidr);
	unsigned max = 128, bits, base = 0;

	memset(a, 0, 16);
	if (alen >= sizeof(text)) {
		why = "not an IPv4 or IPv6 address";
		goto fail;
	}
	memcpy(text, cidr, alen);
	text[alen] = '\0';
	if (inet_pton(AF_INET, text, a + 12) == 1) {
		max = 32, base = 96;
	} else if (inet_pton(AF_INET6, text, a) != 1) {
		why = "not an IPv4 or IPv6 address";
		goto fail;
	}
	bits = max;
	if (slash) {
		const char *p = slash + 1;

		/* 1 to 3 digits, no sign, no leading zero. */
		if (!af_mmdbw_digit(p[0]) || (p[0] == '0' && p[1] != '\0') || strlen(p) > 3) {
			why = max == 32 ? "prefix length is not 0..32"
			                : "prefix length is not 0..128";
			goto fail;
		}
		for (bits = 0; *p; p++) {
			if (!af_mmdbw_digit(*p)) {
				bits = max + 1;
				break;
			}
			bits = bits * 10 + (unsigned)(*p - '0');
		}
		if (bits > max) {
			why = max == 32 ? "prefix length is not 0..32"
			                : "prefix length is not 0..128";
			goto fail;
		}
	}
	for (unsigned i = base + bits; i < 128; i++) {
		if (af_mmdbw_bit(a, i)) {
			why = "the address has bits set after the prefix";
			goto fail;
		}
	}
	/* ::ffff:a.b.c.d/n is a.b.c.d/(n - 96): the alias already answers
	 * there. Shorter prefixes have bits set after them (the ffff), so
	 * they were refused above. */
	if (base == 0 && bits >= 96 && af_mmdbw_same_prefix(a, af_mmdbw_mapped, 96))
		a[10] = a[11] = 0;
	*plen = base + bits;
	return AF_OK;
fail:
	snprintf(errstr, errstr_size, "network \"%s\": %s", cidr, why);
	return AF_E_INVALID;
}

/* ---- the public face ---- */

af_err_t af_mmdbw_new(const char *database_type, struct af_mmdbw **out)
{
	struct af_mmdbw *w = calloc(1, sizeof(*w));
	af_err_t err = AF_E_NOMEM;

	*out = NULL;
	if (!w)
		return AF_E_NOMEM;
	w->type = strdup(database_type);
	w->slots = calloc(1024, sizeof(*w->slots));
	w->slot_mask = 1023;
	w->build_epoch = AF_MMDBW_EPOCH_DEFAULT;
	if (!w->type || !w->slots)
		goto cleanup;
	err = af_mmdbw_reserve_nodes(w);
	if (err != AF_OK)
		goto cleanup;
	w->nodes[0].rec[0] = w->nodes[0].rec[1] = AF_MMDBW_EMPTY;
	w->nnodes = 1;
	af_mmdbw_place(w, af_mmdbw_mapped, 96, AF_MMDBW_ALIAS);
	*out = w;
	w = NULL;
cleanup:
	af_mmdbw_free(w);
	return err;
}

void af_mmdbw_free(struct af_mmdbw *w)
{
	if (!w)
		return;
	free(w->type);
	free(w->nodes);
	free(w->data.p);
	free(w->vals);
	free(w->slots);
	free(w->keys);
	for (size_t i = 0; i < AF_MMDBW_TEXT_SLOTS; i++)
		free(w->texts[i].text);
	free(w);
}

void af_mmdbw_set_build_epoch(struct af_mmdbw *w, uint64_t epoch)
{
	assert(epoch != 0);
	w->build_epoch = epoch;
}

af_err_t af_mmdbw_insert(struct af_mmdbw *w, const char *cidr, const char *json, char *errstr,
                         size_t errstr_size)
{
	size_t len = strlen(json);
	uint64_t h = XXH3_64bits(json, len);
	struct af_mmdbw_text *t = &w->texts[h & (AF_MMDBW_TEXT_SLOTS - 1)];
	uint8_t a[16];
	unsigned plen;
	uint32_t id;
	af_err_t err;

	err = af_mmdbw_cidr(cidr, a, &plen, errstr, errstr_size);
	if (err != AF_OK)
		return err;
	err = af_mmdbw_reserve_nodes(w);
	if (err != AF_OK) {
		snprintf(errstr, errstr_size, "network \"%s\": %s", cidr,
		         err == AF_E_NOMEM ? "out of memory"
		                           : "the tree would outgrow 28-bit records");
		return err;
	}
	if (t->text && t->hash == h && t->len == len && memcmp(t->text, json, len) == 0) {
		id = t->id;
	} else {
		err = af_mmdbw_encode(w, cidr, json, len, &id, errstr, errstr_size);
		if (err != AF_OK)
			return err;
		/* Without memory for the copy, the slot keeps its old text. */
		if (af_mmdbw_grow((void **)&t->text, &t->cap, len + 1, 1)) {
			memcpy(t->text, json, len + 1);
			t->len = len;
			t->hash = h;
			t->id = id;
		}
	}
	af_mmdbw_place(w, a, plen, AF_MMDBW_VALUE | id);
	if (plen <= 96 && af_mmdbw_same_prefix(a, af_mmdbw_mapped, plen))
		af_mmdbw_place(w, af_mmdbw_mapped, 96, AF_MMDBW_ALIAS);
	return AF_OK;
}

/* The metadata map (its marker not included). */
static bool af_mmdbw_metadata(const struct af_mmdbw *w, uint32_t node_count, struct af_mmdbw_buf *m)
{
	static const char suffix[] = " written by auditflow";
	size_t tlen = strlen(w->type);

	return tlen <= AF_MMDBW_FIELD_MAX - sizeof(suffix) && af_mmdbw_head(m, AF_MMDBW_T_MAP, 9) &&
	       af_mmdbw_put_text(m, "binary_format_major_version") &&
	       af_mmdbw_put_uint(m, AF_MMDBW_T_UINT16, 2) &&
	       af_mmdbw_put_text(m, "binary_format_minor_version") &&
	       af_mmdbw_put_uint(m, AF_MMDBW_T_UINT16, 0) && af_mmdbw_put_text(m, "build_epoch") &&
	       af_mmdbw_put_uint(m, AF_MMDBW_T_UINT64, w->build_epoch) &&
	       af_mmdbw_put_text(m, "database_type") && af_mmdbw_put_text(m, w->type) &&
	       af_mmdbw_put_text(m, "description") && af_mmdbw_head(m, AF_MMDBW_T_MAP, 1) &&
	       af_mmdbw_put_text(m, "en") &&
	       af_mmdbw_head(m, AF_MMDBW_T_STRING, (uint32_t)(tlen + sizeof(suffix) - 1)) &&
	       af_mmdbw_put(m, w->type, tlen) && af_mmdbw_put(m, suffix, sizeof(suffix) - 1) &&
	       af_mmdbw_put_text(m, "ip_version") && af_mmdbw_put_uint(m, AF_MMDBW_T_UINT16, 6) &&
	       af_mmdbw_put_text(m, "languages") && af_mmdbw_head(m, AF_MMDBW_T_ARRAY, 1) &&
	       af_mmdbw_put_text(m, "en") && af_mmdbw_put_text(m, "node_count") &&
	       af_mmdbw_put_uint(m, AF_MMDBW_T_UINT32, node_count) &&
	       af_mmdbw_put_text(m, "record_size") &&
	       af_mmdbw_put_uint(m, AF_MMDBW_T_UINT16, AF_MMDBW_RECORD_BITS);
}

/* What the file holds, computed before any byte is written. */
struct af_mmdbw_plan {
	uint32_t *as;     /* w node -> itself, or the one record its whole
	                     subtree amounts to (a value, or empty) */
	uint32_t *num;    /* w node -> file node number, once numbered */
	uint32_t *order;  /* breadth-first queue: file node k is order[k] */
	uint32_t *vorder; /* the data section: value ids in this order */
	size_t *voff;     /* value id -> offset in the data section */
	uint32_t ipv4;    /* what the alias stands for */
	size_t node_count, nv, data_size;
};

/* Fill plan->as for node and all it reaches, children first, so that two
 * sibling networks with one value become their parent network, as
 * MaxMind's writer has them; count the nodes that stay and give each value
 * met an offset, in the order met (collapsing merges equal values only,
 * so every value met is still referenced). Recursion is as deep as the
 * tree: at most 128. */
static uint32_t af_mmdbw_collapse(const struct af_mmdbw *w, struct af_mmdbw_plan *plan,
                                  uint32_t node)
{
	uint32_t side[2];

	if (plan->as[node] != AF_MMDBW_UNSET)
		return plan->as[node];
	/* The right child is needed after the whole left subtree: load it now. */
	if (af_mmdbw_is_node(w->nodes[node].rec[1])) {
		__builtin_prefetch(&w->nodes[w->nodes[node].rec[1]]);
		__builtin_prefetch(&plan->as[w->nodes[node].rec[1]]);
	}
	for (int i = 0; i < 2; i++) {
		uint32_t r = w->nodes[node].rec[i];

		if (r == AF_MMDBW_ALIAS)
			r = plan->ipv4;
		if (af_mmdbw_is_node(r)) {
			r = af_mmdbw_collapse(w, plan, r);
		} else if ((r & AF_MMDBW_VALUE) && plan->voff[r & ~AF_MMDBW_VALUE] == SIZE_MAX) {
			uint32_t id = r & ~AF_MMDBW_VALUE;

			plan->voff[id] = plan->data_size;
			plan->data_size += w->vals[id].len;
			plan->vorder[plan->nv++] = id;
		}
		side[i] = r;
	}
	/* The root stays a node, whatever it holds. */
	if (node != 0 && side[0] == side[1] && !af_mmdbw_is_node(side[0])) {
		plan->as[node] = side[0];
	} else {
		plan->as[node] = node;
		plan->node_count++;
	}
	return plan->as[node];
}

static af_err_t af_mmdbw_plan(const struct af_mmdbw *w, struct af_mmdbw_plan *plan)
{
	plan->as = malloc(w->nnodes * sizeof(*plan->as));
	plan->num = malloc(w->nnodes * sizeof(*plan->num));
	plan->order = malloc(w->nnodes * sizeof(*plan->order));
	plan->vorder = malloc((w->nvals + 1) * sizeof(*plan->vorder));
	plan->voff = malloc((w->nvals + 1) * sizeof(*plan->voff));
	if (!plan->as || !plan->num || !plan->order || !plan->vorder || !plan->voff)
		return AF_E_NOMEM;
	memset(plan->as, 0xff, w->nnodes * sizeof(*plan->as));
	memset(plan->num, 0xff, w->nnodes * sizeof(*plan->num));
	memset(plan->voff, 0xff, (w->nvals + 1) * sizeof(*plan->voff));
	plan->ipv4 = af_mmdbw_ipv4_root(w);
	af_mmdbw_collapse(w, plan, 0);
	/* The largest record: node_count + 16 + the last value's offset. */
	if ((uint64_t)plan->node_count + 16 + plan->data_size > AF_MMDBW_RECORD_MAX)
		return AF_E_INVALID;
	return AF_OK;
}

/* The file's record for rec, numbering (and queueing) a node not yet met:
 * nodes are numbered in the breadth-first order they are written in. */
static uint32_t af_mmdbw_file_record(struct af_mmdbw_plan *plan, uint32_t rec, uint32_t *n)
{
	if (rec == AF_MMDBW_ALIAS)
		rec = plan->ipv4;
	if (af_mmdbw_is_node(rec))
		rec = plan->as[rec];
	if (af_mmdbw_is_node(rec)) {
		if (plan->num[rec] == AF_MMDBW_UNSET) {
			plan->num[rec] = *n;
			plan->order[(*n)++] = rec;
		}
		return plan->num[rec];
	}
	if (rec & AF_MMDBW_VALUE)
		return (uint32_t)(plan->node_count + 16 + plan->voff[rec & ~AF_MMDBW_VALUE]);
	return (uint32_t)plan->node_count;
}

/* The tree, the separator, the data section and the metadata to f. */
static bool af_mmdbw_emit(const struct af_mmdbw *w, struct af_mmdbw_plan *plan,
                          const struct af_mmdbw_buf *meta, FILE *f)
{
	static const uint8_t zeros[16];
	static const char marker[] = "\xab\xcd\xef"
	                             "MaxMind.com";
	uint8_t buf[7 * 4096];
	size_t used = 0;
	uint32_t n = 1;
	bool ok = true;

	plan->num[0] = 0;
	plan->order[0] = 0;
	for (uint32_t k = 0; k < n; k++) {
		const struct af_mmdbw_node *nd = &w->nodes[plan->order[k]];
		uint32_t l, r;
		uint8_t *o = buf + used;

		/* The queue says which nodes come next; their loads are cache
		 * misses on a large tree, so start them early. */
		if (k + 16 < n)
			__builtin_prefetch(&w->nodes[plan->order[k + 16]]);
		if (k + 8 < n) {
			const struct af_mmdbw_node *ahead = &w->nodes[plan->order[k + 8]];

			for (int i = 0; i < 2; i++)
				if (af_mmdbw_is_node(ahead->rec[i]))
					__builtin_prefetch(&plan->as[ahead->rec[i]]);
		}
		l = af_mmdbw_file_record(plan, nd->rec[0], &n);
		r = af_mmdbw_file_record(plan, nd->rec[1], &n);

		/* 28-bit records: each one's top four bits share the middle byte. */
		o[0] = (uint8_t)(l >> 16), o[1] = (uint8_t)(l >> 8), o[2] = (uint8_t)l;
		o[3] = (uint8_t)(((l >> 24) & 0x0F) << 4 | ((r >> 24) & 0x0F));
		o[4] = (uint8_t)(r >> 16), o[5] = (uint8_t)(r >> 8), o[6] = (uint8_t)r;
		used += 7;
		if (used == sizeof(buf)) {
			ok = ok && fwrite(buf, 1, used, f) == used;
			used = 0;
		}
	}
	assert(n == plan->node_count);
	ok = ok && fwrite(buf, 1, used, f) == used;
	ok = ok && fwrite(zeros, 1, sizeof(zeros), f) == sizeof(zeros);
	for (size_t i = 0; ok && i < plan->nv; i++) {
		const struct af_mmdbw_val *v = &w->vals[plan->vorder[i]];

		ok = fwrite(w->data.p + v->off, 1, v->len, f) == v->len;
	}
	for (size_t i = plan->data_size; ok && i < AF_MMDBW_DATA_MIN; i++)
		ok = fputc(0xE0, f) != EOF;
	ok = ok && fwrite(marker, 1, sizeof(marker) - 1, f) == sizeof(marker) - 1;
	return ok && fwrite(meta->p, 1, meta->len, f) == meta->len;
}

af_err_t af_mmdbw_write(struct af_mmdbw *w, const char *path, char *errstr, size_t errstr_size)
{
	struct af_mmdbw_plan plan = {0};
	struct af_mmdbw_buf meta = {0};
	char *tmp = NULL;
	FILE *f = NULL;
	int fd = -1, saved, closed;
	af_err_t err;

	err = af_mmdbw_plan(w, &plan);
	if (err == AF_E_INVALID) {
		snprintf(errstr, errstr_size,
		         "%s: %zu nodes and %zu bytes of data do not fit 28-bit records", path,
		         plan.node_count, plan.data_size);
		goto cleanup;
	}
	tmp = malloc(strlen(path) + sizeof(".tmp.XXXXXX"));
	if (err != AF_OK || !tmp || !af_mmdbw_metadata(w, (uint32_t)plan.node_count, &meta)) {
		err = AF_E_NOMEM;
		snprintf(errstr, errstr_size, "%s: out of memory", path);
		goto cleanup;
	}
	err = AF_E_IO;
	sprintf(tmp, "%s.tmp.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		saved = errno;
		free(tmp);
		tmp = NULL; /* nothing to unlink */
		snprintf(errstr, errstr_size, "%s: cannot create a temporary file beside it: %s",
		         path, strerror(saved));
		goto cleanup;
	}
	/* mkostemp makes it 0600; a database is for every reader. */
	if (fchmod(fd, 0644) != 0 || !(f = fdopen(fd, "wb"))) {
		snprintf(errstr, errstr_size, "%s: %s", tmp, strerror(errno));
		goto cleanup;
	}
	fd = -1; /* f owns it */
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	if (!af_mmdbw_emit(w, &plan, &meta, f) || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		snprintf(errstr, errstr_size, "%s: write failed: %s", tmp, strerror(errno));
		goto cleanup;
	}
	closed = fclose(f);
	f = NULL;
	if (closed != 0 || rename(tmp, path) != 0) {
		snprintf(errstr, errstr_size, "%s: %s failed: %s", path,
		         closed != 0 ? "close" : "rename", strerror(errno));
		goto cleanup;
	}
	free(tmp);
	tmp = NULL;
	err = AF_OK;
cleanup:
	saved = errno;
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(plan.as);
	free(plan.num);
	free(plan.order);
	free(plan.vorder);
	free(plan.voff);
	free(meta.p);
	errno = saved;
	return err;
}
