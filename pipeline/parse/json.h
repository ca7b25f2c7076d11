/* json.h - the C face of our simdjson On-Demand shim.
 *
 * Thread: any; one af_jparser per thread (it owns simdjson parsers and
 * scratch memory). An af_jspec is read-only after af_jspec_new and may be
 * shared by every thread.
 * In: one JSON record (a view with AF_JSON_PADDING readable bytes after it).
 * Out: the values of the fields a spec names, in caller-owned slots, in one
 * forward pass over the record.
 *
 * DESIGN: exporters disagree on key casing ("CreationTime", "creationtime"),
 * on nesting (Entra's diagnostic form puts the sign-in under "properties")
 * and on stringified JSON (Log Analytics exports nested objects as strings).
 * Rather than asking simdjson for each field by name (a rescan per miss), the
 * shim walks each object once, hashes each key case-insensitively and looks
 * it up in the spec's table for that level. Several paths may share a slot,
 * so "userPrincipalName" and "properties.userPrincipalName" land in one
 * place and the mappers stay small. Values the spec does not name are
 * skipped without being decoded.
 */
#ifndef AF_JSON_H
#define AF_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/reason.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Readable bytes simdjson needs after the end of a record. */
#define AF_JSON_PADDING 64

enum af_jtype {
	AF_J_ABSENT = 0, /* the record has no such field */
	AF_J_NULL,
	AF_J_BOOL,
	AF_J_NUMBER,     /* s/len: the number's text */
	AF_J_STRING,     /* s/len: the unescaped text */
	AF_J_OBJECT,     /* s/len: the object's raw JSON text */
	AF_J_ARRAY,      /* s/len: the array's raw JSON text */
};

/* One extracted value. Views are borrowed: valid until the next extraction
 * on the same parser (or, for af_jparser_each element slots, until the
 * callback returns). Strings are not NUL-terminated. */
struct af_jval {
	const char *s;
	uint32_t len;
	uint8_t type; /* enum af_jtype */
	bool b;       /* AF_J_BOOL */
};

/* One path a spec extracts: dotted keys from the record's top level,
 * matched without regard to ASCII case ("properties.status.errorCode").
 * A segment ending in "[]" walks each element of an array value in the same
 * pass ("recipientList[].Address"): then slot is a slot of the element and
 * array names the array (1, 2, ...; 0 for a path outside any array). The
 * array's own key may also be given a plain slot ("recipientList"), which
 * records the array as AF_J_ARRAY with len = its element count, or keeps
 * the text when the value is a string (Log Analytics writes arrays as
 * JSON text; af_jparser_each reads those). */
struct af_jpath {
	const char *path;
	uint16_t slot;
	uint16_t array;
};

/* Elements of one array kept per record; more are counted, not kept. */
#define AF_JSON_ARRAY_MAX 256

/* The elements of one array walked in the pass (af_jparser_array). */
struct af_jarray {
	const struct af_jval *elems; /* element i's slot k: elems[i * stride + k] */
	uint32_t n;                  /* elements kept (<= AF_JSON_ARRAY_MAX) */
	uint32_t total;              /* elements in the record's array */
	uint32_t stride;             /* slots per element */
};

struct af_jspec;
struct af_jparser;

/* Compile paths into a spec for nslots slots. Returns NULL and writes
 * errstr on a bad path (empty segment, slot >= nslots, a path both a leaf
 * and a prefix is fine: an object value recurses, any other is stored). */
struct af_jspec *af_jspec_new(const struct af_jpath *paths, size_t npaths, size_t nslots,
                              char *errstr, size_t errstr_size);
void af_jspec_free(struct af_jspec *spec);
size_t af_jspec_nslots(const struct af_jspec *spec);

/* A parser for records up to max_record bytes. NULL when out of memory. */
struct af_jparser *af_jparser_new(size_t max_record);
void af_jparser_free(struct af_jparser *p);

/* Name of the simdjson kernel p's stage 1 runs ("icelake", "haswell",
 * "fallback", ...). simdjson picks the best the CPU has; the environment
 * variable AF_JSON_KERNEL=NAME (read by af_jparser_new) forces another,
 * for tests that compare kernels. */
const char *af_jparser_kernel(const struct af_jparser *p);

/* Parse the object buf[0..len) and fill slots[0..af_jspec_nslots(spec)):
 * every slot is reset to AF_J_ABSENT first. Returns AF_REASON_NONE, or why
 * the record is unusable: AF_REASON_MALFORMED_JSON, AF_REASON_NOT_OBJECT,
 * AF_REASON_INVALID_UTF8, AF_REASON_NUL_BYTES.
 * @pre buf is readable for len + AF_JSON_PADDING bytes.
 * Cost: one pass over the record; values not named by spec are skipped. */
enum af_reason af_jparser_extract(struct af_jparser *p, const struct af_jspec *spec,
                                  const char *buf, size_t len, struct af_jval *slots);

/* Validate buf[0..len) fully (every value, not only those a spec reads):
 * AF_REASON_NONE for a valid JSON object, else the reason, as
 * af_jparser_extract would give it. On-Demand checks lazily, so a record
 * that is not valid JSON only in parts no spec reads may be accepted by
 * af_jparser_extract on one CPU and refused on another; this says which
 * records are in that case. @pre as for af_jparser_extract.
 * Cost: a full DOM parse; for tests and the error path. */
enum af_reason af_jparser_validate(struct af_jparser *p, const char *buf, size_t len);

/* The elements of array (>= 1) seen by the last af_jparser_extract; n and
 * total are 0 when the record had no such array. Views as for slots. */
void af_jparser_array(const struct af_jparser *p, unsigned array, struct af_jarray *out);

/* Called for each element of an array by af_jparser_each: slots hold what
 * elem_spec extracted from the element when it is an object (all absent
 * otherwise). Return false to stop early. */
typedef bool af_jeach_fn(void *ctx, const struct af_jval *slots);

/* Walk the JSON array in text[0..len) (an AF_J_ARRAY slot's raw text, or an
 * AF_J_STRING slot whose text is itself JSON, as Log Analytics writes it),
 * extracting elem_spec from each element into elem_slots and calling fn.
 * text need not be padded: it is copied to the parser's scratch buffer,
 * and validated whole first (JSON held in a string was never checked).
 * Returns AF_REASON_NONE or AF_REASON_MALFORMED_JSON. Strings seen by fn
 * stay valid until the next af_jparser_each/af_jparser_sub call.
 * @pre not called from inside another af_jparser_each callback. */
enum af_reason af_jparser_each(struct af_jparser *p, const struct af_jspec *elem_spec,
                               const char *text, size_t len, struct af_jval *elem_slots,
                               af_jeach_fn *fn, void *ctx);

/* Extract spec from the JSON object in text[0..len) (an object slot's raw
 * text or a string holding JSON) into slots, as af_jparser_extract does. */
enum af_reason af_jparser_sub(struct af_jparser *p, const struct af_jspec *spec,
                              const char *text, size_t len, struct af_jval *slots);

/* --- helpers on extracted values (plain C, no parsing state) --- */

/* True if v is a string or number whose text is a whole decimal integer
 * (Log Analytics writes numbers as strings: "RecordType":"50"). */
bool af_jval_int(const struct af_jval *v, int64_t *out);

/* True if v is a bool, or a string "true"/"false"/"True"/"False". */
bool af_jval_bool(const struct af_jval *v, bool *out);

/* True if v is a string equal to lit without regard to ASCII case.
 * Inline so that strlen of a literal folds away: mappers call it often. */
static inline bool af_jval_ieq(const struct af_jval *v, const char *lit)
{
	size_t n = __builtin_strlen(lit);
	if (v->type != AF_J_STRING || v->len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned a = (unsigned char)v->s[i], b = (unsigned char)lit[i];
		if (a == b)
			continue;
		unsigned la = a | 0x20u;
		if (la != (b | 0x20u) || la - 'a' > 25u)
			return false;
	}
	return true;
}

/* True if v is a non-empty string. */
static inline bool af_jval_has_str(const struct af_jval *v)
{
	return v->type == AF_J_STRING && v->len > 0;
}

#ifdef __cplusplus
}
#endif

#endif
