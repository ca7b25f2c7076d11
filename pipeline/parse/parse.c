/* parse.c - the parse stage: extract, tell the schema, map.
 *
 * Thread: the owner of the af_parser (a worker).
 * In: a framed record. Out: a normalized event or a dead-letter reason.
 *
 * DESIGN: the schema test is a handful of slot-presence checks in a fixed
 * order, most specific first, so a record that happens to carry a stray
 * "time" key is not taken for an Entra record. Records that match no
 * mapper are "unknown_schema", never dropped.
 *
 * The helpers lower-case ASCII eight bytes at a time: accounts and names are
 * mostly ASCII, and the word form needs no test per byte (bytes of UTF-8
 * sequences, 0x80 and up, are left alone exactly as the byte loop left them).
 */
#include "pipeline/parse/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL /* xxh3 of short keys inlined: called per record */
#include <xxhash.h>

#include "pipeline/parse/mapper.h"
#include "pipeline/parse/timestamp.h"
#include "pipeline/utf8.h"

struct af_parser {
	struct af_map map;
	struct af_jspec *record_spec;
	struct af_jspec *nv_spec;
	struct af_jspec *rcpt_spec;
	struct af_jspec *item_spec;
	struct af_jspec *locd_spec;
	struct af_jspec *init_spec;
};

struct af_parser *af_parser_new(size_t max_record, char *errstr, size_t errstr_size)
{
	struct af_parser *ps = calloc(1, sizeof(*ps));
	if (!ps) {
		snprintf(errstr, errstr_size, "out of memory");
		return NULL;
	}
	ps->record_spec = af_jspec_new(af_fields_record, af_fields_record_count, AF_F_COUNT,
	                               errstr, errstr_size);
	ps->nv_spec = af_jspec_new(af_fields_nv, af_fields_nv_count, AF_NV_COUNT, errstr,
	                           errstr_size);
	ps->rcpt_spec = af_jspec_new(af_fields_rcpt, af_fields_rcpt_count, AF_RCPT_COUNT, errstr,
	                             errstr_size);
	ps->item_spec = af_jspec_new(af_fields_item, af_fields_item_count, AF_ITEM_COUNT, errstr,
	                             errstr_size);
	ps->locd_spec = af_jspec_new(af_fields_locd, af_fields_locd_count, AF_LOCD_COUNT, errstr,
	                             errstr_size);
	ps->init_spec = af_jspec_new(af_fields_init, af_fields_init_count, AF_INIT_COUNT, errstr,
	                             errstr_size);
	ps->map.jp = af_jparser_new(max_record);
	if (!ps->record_spec || !ps->nv_spec || !ps->rcpt_spec || !ps->item_spec ||
	    !ps->locd_spec || !ps->init_spec || !ps->map.jp) {
		if (ps->map.jp == NULL)
			snprintf(errstr, errstr_size, "out of memory");
		af_parser_free(ps);
		return NULL;
	}
	ps->map.nv_spec = ps->nv_spec;
	ps->map.rcpt_spec = ps->rcpt_spec;
	ps->map.item_spec = ps->item_spec;
	ps->map.locd_spec = ps->locd_spec;
	ps->map.init_spec = ps->init_spec;
	return ps;
}

void af_parser_free(struct af_parser *ps)
{
	if (!ps)
		return;
	af_jparser_free(ps->map.jp);
	af_jspec_free(ps->record_spec);
	af_jspec_free(ps->nv_spec);
	af_jspec_free(ps->rcpt_spec);
	af_jspec_free(ps->item_spec);
	af_jspec_free(ps->locd_spec);
	af_jspec_free(ps->init_spec);
	free(ps);
}

const char *af_parser_kernel(const struct af_parser *ps)
{
	return af_jparser_kernel(ps->map.jp);
}

/* The mapper for the record in m->slots, or NULL for an unknown schema. */
static af_mapper_fn *pick_mapper(const struct af_map *m)
{
	const struct af_jval *cat = af_map_slot(m, AF_F_CATEGORY);
	if (af_map_is_signin_category(cat))
		return af_map_entra;
	if (af_map_has(m, AF_F_CREATED) && (af_map_has(m, AF_F_UPN) || af_map_has(m, AF_F_SP_NAME)))
		return af_map_entra;
	if (af_map_has(m, AF_F_MESSAGE_TRACE_ID) ||
	    (af_map_has(m, AF_F_RECEIVED) && af_map_has(m, AF_F_SENDER) &&
	     af_map_has(m, AF_F_RECIPIENT)))
		return af_map_msgtrace;
	if (af_map_has(m, AF_F_OPERATION) &&
	    (af_map_has(m, AF_F_CREATION_TIME) || af_map_has(m, AF_F_RECORD_TYPE) ||
	     af_map_has(m, AF_F_WORKLOAD)))
		return af_map_m365;
	/* Entra directory audit in the diagnostic form: kind "other". */
	if (af_map_has(m, AF_F_CATEGORY) &&
	    (af_map_has(m, AF_F_TIME) || af_map_has(m, AF_F_CREATION_TIME)) &&
	    af_map_has(m, AF_F_OPERATION_NAME))
		return af_map_entra;
	if (af_map_has(m, AF_F_EVENT_TYPE) && af_map_has(m, AF_F_PUBLISHED))
		return af_map_okta;
	if (af_map_has(m, AF_F_EVENT_NAME) && af_map_has(m, AF_F_EVENT_TIME) &&
	    af_map_has(m, AF_F_EVENT_SOURCE))
		return af_map_cloudtrail;
	return NULL;
}

static const char *reason_detail(enum af_reason reason)
{
	switch (reason) {
	case AF_REASON_MALFORMED_JSON: return "not valid JSON";
	case AF_REASON_NOT_OBJECT: return "the record is not a JSON object";
	case AF_REASON_INVALID_UTF8: return "bytes that are not UTF-8";
	case AF_REASON_NUL_BYTES: return "NUL byte in the record";
	case AF_REASON_OVERSIZE: return "record larger than the parser's capacity";
	default: return af_reason_name(reason);
	}
}

enum af_reason af_parse_record(struct af_parser *ps, const char *buf, size_t len,
                               struct af_event *ev, const char **detail)
{
	struct af_map *m = &ps->map;
	struct af_pos pos = ev->pos;
	memset(ev, 0, sizeof(*ev));
	ev->pos = pos;
	m->detail = NULL;

	enum af_reason reason = af_jparser_extract(m->jp, ps->record_spec, buf, len, m->slots);
	if (reason != AF_REASON_NONE) {
		*detail = reason_detail(reason);
		return reason;
	}
	af_mapper_fn *mapper = pick_mapper(m);
	if (!mapper) {
		*detail = "no mapper recognises the record's fields";
		return AF_REASON_UNKNOWN_SCHEMA;
	}
	reason = mapper(m, ev);
	if (reason != AF_REASON_NONE) {
		*detail = m->detail ? m->detail : af_reason_name(reason);
		return reason;
	}
	if (ev->dedup_key == 0 && ev->record_id[0])
		ev->dedup_key = XXH3_64bits(ev->record_id, strlen(ev->record_id)) | 1;
	return AF_REASON_NONE;
}

/* --- helpers shared by the mappers (mapper.h) --- */

const struct af_jval *af_map_first(const struct af_map *m, const enum af_field *fields, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (af_map_has(m, fields[i]))
			return &m->slots[fields[i]];
	return NULL;
}

/* af_map_each over JSON text: counts every element, calls fn until it
 * asks to stop. */
struct each_count {
	af_jeach_fn *fn;
	void *ctx;
	uint32_t n;
	bool stopped;
};

static bool count_each(void *vctx, const struct af_jval *slots)
{
	struct each_count *c = vctx;
	c->n++;
	if (!c->stopped && !c->fn(c->ctx, slots))
		c->stopped = true;
	return true;
}

uint32_t af_map_each(struct af_map *m, enum af_field f, enum af_array a,
                     const struct af_jspec *elem_spec, af_jeach_fn *fn, void *ctx)
{
	const struct af_jval *v = &m->slots[f];
	if (v->type == AF_J_ARRAY) {
		struct af_jarray arr;
		af_jparser_array(m->jp, a, &arr);
		for (uint32_t i = 0; i < arr.n; i++)
			if (!fn(ctx, arr.elems + (size_t)i * arr.stride))
				break;
		return arr.total;
	}
	if (v->type != AF_J_STRING)
		return 0;
	struct each_count cc = {fn, ctx, 0, false};
	af_jparser_each(m->jp, elem_spec, v->s, v->len, m->elem, count_each, &cc);
	return cc.n;
}

static enum af_reason need_string(struct af_map *m, const struct af_jval *v, const char *name)
{
	m->detail = name;
	if (!v || v->type == AF_J_ABSENT || v->type == AF_J_NULL)
		return AF_REASON_MISSING_FIELD;
	if (v->type != AF_J_STRING)
		return AF_REASON_WRONG_TYPE;
	if (v->len == 0)
		return AF_REASON_MISSING_FIELD;
	m->detail = NULL;
	return AF_REASON_NONE;
}

enum af_reason af_map_time(struct af_map *m, struct af_event *ev, const struct af_jval *v,
                           const char *name)
{
	enum af_reason r = need_string(m, v, name);
	if (r != AF_REASON_NONE)
		return r;
	if (!af_ts_parse(v->s, v->len, &ev->ts_ns)) {
		m->detail = name;
		return AF_REASON_BAD_TIMESTAMP;
	}
	return AF_REASON_NONE;
}

/* 0 means "none" in the event's hash fields. */
static inline uint64_t nonzero(uint64_t h)
{
	return h ? h : 1;
}

/* dst[0..n) = s[0..n) with ASCII capitals lowered. @pre no overlap. */
static void lower_copy(char *dst, const char *s, size_t n)
{
	uint64_t w;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		w |= af_map_upper_bits(w);
		memcpy(dst + i, &w, 8);
	}
	if (i == n)
		return;
	if (n >= 8) {
		/* The last 8 bytes once more: the overlap is written again with
		 * the same values. */
		memcpy(&w, s + n - 8, 8);
		w |= af_map_upper_bits(w);
		memcpy(dst + n - 8, &w, 8);
		return;
	}
	for (; i < n; i++) {
		char c = s[i];
		dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c | 0x20) : c;
	}
}

uint64_t af_map_hash_raw(const char *s, size_t len)
{
	return len == 0 ? 0 : nonzero(XXH3_64bits(s, len));
}

uint64_t af_map_hash_lower(const char *s, size_t len)
{
	if (len == 0)
		return 0;
	char buf[256];
	XXH3_state_t st;
	bool streaming = len > sizeof(buf);
	if (streaming)
		XXH3_64bits_reset(&st);
	uint64_t h = 0;
	for (size_t off = 0; off < len; off += sizeof(buf)) {
		size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);
		lower_copy(buf, s + off, n);
		if (streaming)
			XXH3_64bits_update(&st, buf, n);
		else
			h = XXH3_64bits(buf, n);
	}
	if (streaming)
		h = XXH3_64bits_digest(&st);
	return nonzero(h);
}

enum af_reason af_map_account(struct af_map *m, struct af_event *ev, const struct af_jval *v,
                              const char *name)
{
	enum af_reason r = need_string(m, v, name);
	if (r != AF_REASON_NONE)
		return r;
	const char *s = v->s;
	size_t len = v->len;
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0) {
		m->detail = name;
		return AF_REASON_MISSING_FIELD;
	}
	/* "\u0000" decodes to a NUL: the account's text would stop there
	 * while its hash covers the rest, so two accounts would print alike. */
	if (memchr(s, '\0', len)) {
		m->detail = name;
		return AF_REASON_NUL_BYTES;
	}
	size_t n = af_map_copy_text(ev, ev->account, sizeof(ev->account), s, len, true);
	ev->account_hash = af_map_hash_lowered(s, len, ev->account, n);
	return AF_REASON_NONE;
}

uint64_t af_map_hash_lowered(const char *s, size_t len, const char *lowered, size_t copied)
{
	return copied == len ? af_map_hash_raw(lowered, len) : af_map_hash_lower(s, len);
}

void af_map_ip(struct af_event *ev, const struct af_jval *v)
{
	if (v && v->type == AF_J_STRING)
		af_ip_parse(v->s, v->len, &ev->src);
}

size_t af_map_copy_text(struct af_event *ev, char *dst, size_t cap, const char *s, size_t len,
                        bool lower)
{
	size_t n = af_utf8_cut(s, len, cap - 1);
	if (n < len)
		ev->flags |= AF_EV_TRUNCATED;
	if (lower)
		lower_copy(dst, s, n);
	else
		memcpy(dst, s, n);
	dst[n] = '\0';
	return n;
}

void af_map_copy(struct af_event *ev, char *dst, size_t cap, const struct af_jval *v)
{
	if (v && v->type == AF_J_STRING)
		af_map_copy_text(ev, dst, cap, v->s, v->len, false);
}

/* Plain decimals ("-77.4874", "21.0285") as coordinates are written,
 * without strtod's locale and multi-precision machinery; exact for up to
 * 15 significant digits, which is all a coordinate carries. Anything else
 * (exponents, longer mantissas) is left to strtod. */
static bool plain_decimal(const char *s, size_t len, double *out)
{
	static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
	                               1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
	size_t i = 0;
	bool neg = false;
	if (i < len && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	/* Digits, then at most one dot and digits; m wraps past 19 digits,
	 * but then there are more than 15 and the text is refused. */
	uint64_t m = 0;
	unsigned digit;
	size_t start = i;
	for (; i < len && (digit = (unsigned char)s[i] - (unsigned)'0') <= 9; i++)
		m = m * 10 + digit;
	size_t digits = i - start;
	int frac = -1;
	if (i < len && s[i] == '.') {
		size_t dot = i++;
		for (; i < len && (digit = (unsigned char)s[i] - (unsigned)'0') <= 9; i++)
			m = m * 10 + digit;
		frac = (int)(i - dot - 1);
		digits += (size_t)frac;
	}
	if (i != len || digits == 0 || digits > 15 || frac == 0)
		return false;
	double d = (double)m / pow10[frac > 0 ? frac : 0];
	*out = neg ? -d : d;
	return true;
}

bool af_map_number(const struct af_jval *v, double *out)
{
	if ((v->type != AF_J_NUMBER && v->type != AF_J_STRING) || v->len == 0 || v->len > 40)
		return false;
	if (plain_decimal(v->s, v->len, out))
		return true;
	char buf[48];
	memcpy(buf, v->s, v->len);
	buf[v->len] = '\0';
	char *end;
	double d = strtod(buf, &end);
	if (*end != '\0' || d != d)
		return false;
	*out = d;
	return true;
}

bool af_map_iends(const char *s, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	return len >= n && af_map_ieq_n(s + len - n, lit, n);
}

const char *af_map_domain(const char *s, size_t len, size_t *dlen)
{
	const char *at = memrchr(s, '@', len);
	if (!at) {
		*dlen = 0;
		return s + len;
	}
	*dlen = len - (size_t)(at + 1 - s);
	return at + 1;
}
