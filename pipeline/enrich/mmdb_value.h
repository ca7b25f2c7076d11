/* mmdb_value.h - internal to the MaxMind DB writer (mmdb_write.c): the
 * data section's encoding and the store of distinct values the networks
 * point to. Not for other modules; they use mmdb_write.h.
 *
 * Thread: the owning writer's (see mmdb_write.h); no state outside the
 * caller's struct af_mmdbw_values.
 * In: JSON objects (typed as mmdb_write.h describes) and scalars for the
 * metadata. Out: MaxMind-encoded bytes, one copy per distinct value, each
 * named by a small value id.
 *
 * DESIGN: values carry no pointers (no MaxMind pointer type is written),
 * so each encoded value is self-contained and the file writer may place
 * it anywhere in the data section, in any order.
 */
#ifndef AF_MMDB_VALUE_H
#define AF_MMDB_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"

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

#define AF_MMDBW_FIELD_MAX  16843036u   /* largest size control bytes can say */
#define AF_MMDBW_VALUES_MAX 0x7fffffffu /* value ids stay below this */
#define AF_MMDBW_TEXT_SLOTS 1024        /* direct-mapped, by the text's hash */

struct af_mmdbw_buf {
	uint8_t *p;
	size_t len, cap;
};

struct af_mmdbw_val {
	uint64_t hash; /* XXH3 of the encoded bytes */
	size_t off;    /* in af_mmdbw_values.data */
	size_t len;
};

/* A JSON text added lately and the id of its value. */
struct af_mmdbw_text {
	char *text; /* a copy */
	size_t len, cap;
	uint64_t hash;
	uint32_t id;
};

/* An encoded key of a map being parsed, for the duplicate check. */
struct af_mmdbw_key {
	size_t off, len;
};

/* Every distinct value, encoded. Read-only outside mmdb_value.c: value
 * id k is data.p[vals[k].off ..][0 .. vals[k].len), k < nvals. */
struct af_mmdbw_values {
	struct af_mmdbw_buf data; /* the values back to back */
	struct af_mmdbw_val *vals;
	size_t nvals, val_cap;
	uint32_t *slots; /* open addressing over vals: id + 1, 0 free */
	size_t slot_mask;
	struct af_mmdbw_key *keys; /* of the maps open in the current add */
	size_t nkeys, key_cap;
	struct af_mmdbw_text texts[AF_MMDBW_TEXT_SLOTS];
};

static inline bool af_mmdbw_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Make *items (of cap elements of size bytes) hold at least want,
 * doubling from 256. Returns false (the array as it was) without memory
 * or when the size would overflow. Cost: amortised O(1) per element. */
bool af_mmdbw_grow(void **items, size_t *cap, size_t want, size_t size);

/* Append n bytes of src to b. Returns false without memory. */
bool af_mmdbw_put(struct af_mmdbw_buf *b, const void *src, size_t n);

/* Append the control bytes of a field of type whose size is size (bytes;
 * pairs for a map, items for an array, the value for a boolean); its
 * payload follows. @pre size <= AF_MMDBW_FIELD_MAX. */
bool af_mmdbw_head(struct af_mmdbw_buf *b, unsigned type, uint32_t size);

/* Append v as a field of the unsigned type (AF_MMDBW_T_UINT16/32/64) in
 * the fewest big-endian bytes. @pre v fits type. */
bool af_mmdbw_put_uint(struct af_mmdbw_buf *b, unsigned type, uint64_t v);

/* Append the NUL-terminated s as a string field. Returns false without
 * memory or when s is longer than a field holds. */
bool af_mmdbw_put_text(struct af_mmdbw_buf *b, const char *s);

/* An empty store in the caller's v. Returns AF_OK or AF_E_NOMEM (v then
 * holds nothing to free, but af_mmdbw_values_fini is harmless). */
af_err_t af_mmdbw_values_init(struct af_mmdbw_values *v);

/* Free what v holds. */
void af_mmdbw_values_fini(struct af_mmdbw_values *v);

/* The id of the value of json (a JSON object), encoding and keeping it
 * when no equal value is kept yet. Returns AF_OK and *id; AF_E_INVALID
 * when json is malformed, not UTF-8, a value does not fit its type or
 * there are AF_MMDBW_VALUES_MAX distinct values; AF_E_NOMEM. errstr then
 * names the network cidr (borrowed, only for the message) and the cause,
 * for bad JSON with its byte offset; v keeps the values it had.
 * Cost: a hash of json; when it is not one of the last ~1000 distinct
 * texts, one pass over it and a hash lookup of the encoded value. Keeps a
 * copy of json (at most AF_MMDBW_TEXT_SLOTS copies). */
af_err_t af_mmdbw_values_add(struct af_mmdbw_values *v, const char *cidr, const char *json,
                             uint32_t *id, char *errstr, size_t errstr_size);

#endif
