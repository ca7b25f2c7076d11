/* mapper.h - what the schema mappers share: the extracted slots and the
 * helpers that turn slot values into event fields. Internal to
 * pipeline/parse/.
 *
 * Thread: the parser's owner.
 * A mapper is a function (slots in, event out) that returns AF_REASON_NONE
 * or the reason the record is unusable, with m->detail naming the field.
 */
#ifndef AF_MAPPER_H
#define AF_MAPPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pipeline/event.h"
#include "pipeline/parse/fields.h"
#include "pipeline/parse/json.h"

struct af_map {
	struct af_jparser *jp;
	const struct af_jspec *nv_spec;   /* Name/Value arrays */
	const struct af_jspec *rcpt_spec; /* recipientList */
	const struct af_jspec *item_spec; /* AffectedItems */
	const struct af_jspec *locd_spec; /* LocationDetails */
	const struct af_jspec *init_spec; /* initiatedBy as text */
	struct af_jval slots[AF_F_COUNT];
	struct af_jval elem[8];           /* element slots for af_jparser_each */
	const char *detail;               /* why the record failed */
};

typedef enum af_reason af_mapper_fn(struct af_map *m, struct af_event *ev);

af_mapper_fn af_map_m365;
af_mapper_fn af_map_entra;
af_mapper_fn af_map_msgtrace;
af_mapper_fn af_map_okta;
af_mapper_fn af_map_cloudtrail;

static inline const struct af_jval *af_map_slot(const struct af_map *m, enum af_field f)
{
	return &m->slots[f];
}

static inline bool af_map_has(const struct af_map *m, enum af_field f)
{
	return m->slots[f].type != AF_J_ABSENT && m->slots[f].type != AF_J_NULL;
}

/* Call fn for each element of the array in field f: the elements walked
 * in the extraction pass (array a), or, when the record holds the array as
 * JSON text (Log Analytics), those af_jparser_each reads with elem_spec.
 * At most AF_JSON_ARRAY_MAX elements of an in-pass array are visited.
 * Returns the number of elements in the record's array. */
uint32_t af_map_each(struct af_map *m, enum af_field f, enum af_array a,
                     const struct af_jspec *elem_spec, af_jeach_fn *fn, void *ctx);

/* The first of fields that is present, or NULL. */
const struct af_jval *af_map_first(const struct af_map *m, const enum af_field *fields,
                                   size_t n);

/* Event time from v (a string). Sets m->detail to name on failure:
 * MISSING_FIELD when v is NULL/absent, WRONG_TYPE when not a string,
 * BAD_TIMESTAMP when unparseable. */
enum af_reason af_map_time(struct af_map *m, struct af_event *ev, const struct af_jval *v,
                           const char *name);

/* Account from v: a non-empty string, lower-cased into ev->account and
 * hashed (xxh3 of the whole lower-cased text). Same failure rules. */
enum af_reason af_map_account(struct af_map *m, struct af_event *ev, const struct af_jval *v,
                              const char *name);

/* Source address from the first present string of v; garbage = none. */
void af_map_ip(struct af_event *ev, const struct af_jval *v);

/* Copy a string value into dst (capacity cap, NUL-terminated), cut at a
 * UTF-8 boundary; sets AF_EV_TRUNCATED in ev->flags when cut. Non-strings
 * copy nothing. */
void af_map_copy(struct af_event *ev, char *dst, size_t cap, const struct af_jval *v);

/* Same, from a plain view, lower-casing ASCII when lower is true. Returns
 * the number of bytes copied: len when the copy is whole.
 * @pre dst and s do not overlap. */
size_t af_map_copy_text(struct af_event *ev, char *dst, size_t cap, const char *s, size_t len,
                        bool lower);

/* xxh3 of s lower-cased (ASCII); 0 for an empty string (a hash of 0 is
 * given as 1, since 0 means "none").
 * Cost: lowers into a stack buffer first; when a lowered copy is at hand,
 * af_map_hash_lowered saves that. */
uint64_t af_map_hash_lower(const char *s, size_t len);

/* af_map_hash_lower(s, len), given lowered: the first copied bytes of s as
 * af_map_copy_text lowered them (copied is what it returned). The copy is
 * hashed as it is when whole; else s is lowered and hashed again. */
uint64_t af_map_hash_lowered(const char *s, size_t len, const char *lowered, size_t copied);

/* The same of s as it is (user agents: their case is part of them). */
uint64_t af_map_hash_raw(const char *s, size_t len);

/* A number from a JSON number or a string holding one (Log Analytics
 * writes coordinates as strings). False for anything else, NaN included. */
bool af_map_number(const struct af_jval *v, double *out);

/* 0x20 in each byte of w that is 'A'..'Z', 0 in the others; eight bytes
 * at once. Bit 7 of from_a says >= 'A' and of past_z > 'Z', computed on
 * the low 7 bits so that no byte carries into the next; bytes with bit 7
 * set (UTF-8) are masked out. */
static inline uint64_t af_map_upper_bits(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101;
	uint64_t low7 = w & 0x7f * ones;
	uint64_t from_a = low7 + (0x80 - 'A') * ones;
	uint64_t past_z = low7 + (0x80 - 'Z' - 1) * ones;

	return (from_a & ~past_z & ~w & 0x80 * ones) >> 2; /* 0x80 >> 2 = 0x20 */
}

/* Non-zero unless each byte of a equals that of b or, where b's is an
 * ASCII letter, that letter in the other case: af_jval_ieq's rule. Bit 5
 * cleared, exactly the letters land on 'A'..'Z'. */
static inline uint64_t af_map_case_diff(uint64_t a, uint64_t b)
{
	return (a ^ b) & ~af_map_upper_bits(b & ~0x2020202020202020);
}

/* True if s[0..n) equals lit[0..n) without regard to ASCII case, compared
 * a word at a time (the last word overlapping the one before; below 8
 * bytes, two overlapping halves). Always inline: with a literal, its words
 * and letter masks fold into constants, a few instructions per 8 bytes.
 * @pre s and lit readable for n bytes. */
__attribute__((always_inline)) static inline bool af_map_ieq_n(const char *s, const char *lit,
                                                               size_t n)
{
	uint64_t a, b, diff = 0;

	if (n >= 8) {
		for (size_t i = 0; i < n; i += 8) {
			size_t at = i + 8 <= n ? i : n - 8;
			memcpy(&a, s + at, 8);
			memcpy(&b, lit + at, 8);
			diff |= af_map_case_diff(a, b);
		}
	} else if (n >= 4) {
		uint32_t a_lo, a_hi, b_lo, b_hi;
		memcpy(&a_lo, s, 4);
		memcpy(&a_hi, s + n - 4, 4);
		memcpy(&b_lo, lit, 4);
		memcpy(&b_hi, lit + n - 4, 4);
		diff = af_map_case_diff(a_lo | (uint64_t)a_hi << 32, b_lo | (uint64_t)b_hi << 32);
	} else {
		for (size_t i = 0; i < n; i++)
			diff |= af_map_case_diff((unsigned char)s[i], (unsigned char)lit[i]);
	}
	return diff == 0;
}

/* True if s[0..len) equals lit without regard to ASCII case. Always inline,
 * so that the literal's length folds away and the usual answer, another
 * length, costs one compare. */
__attribute__((always_inline)) static inline bool af_map_ieq(const char *s, size_t len,
                                                             const char *lit)
{
	size_t n = __builtin_strlen(lit);
	return len == n && af_map_ieq_n(s, lit, n);
}

/* The same for a value: false unless v is a string; af_jval_ieq's answer. */
__attribute__((always_inline)) static inline bool af_map_val_ieq(const struct af_jval *v,
                                                                 const char *lit)
{
	return v->type == AF_J_STRING && af_map_ieq(v->s, v->len, lit);
}

/* True if v names one of Entra's sign-in log categories. */
static inline bool af_map_is_signin_category(const struct af_jval *v)
{
	return af_map_val_ieq(v, "SignInLogs") ||
	       af_map_val_ieq(v, "NonInteractiveUserSignInLogs") ||
	       af_map_val_ieq(v, "ServicePrincipalSignInLogs") ||
	       af_map_val_ieq(v, "ManagedIdentitySignInLogs");
}

/* True if s ends with lit, without regard to ASCII case. */
bool af_map_iends(const char *s, size_t len, const char *lit);

/* The domain part of an address ("a@B.com" -> "B.com"), or len 0. */
const char *af_map_domain(const char *s, size_t len, size_t *dlen);

#endif
