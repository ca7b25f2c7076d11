/* json_spec.hpp - internals shared by the shim's two C++ files: the compiled
 * spec and the key scanner. Not for C callers; they use json.h.
 */
#ifndef AF_JSON_SPEC_HPP
#define AF_JSON_SPEC_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "pipeline/parse/json.h"

/* Longest key a spec may name; longer keys in records are never wanted. */
#define AF_JKEY_MAX 64

struct af_jentry {
	alignas(16) uint8_t key[AF_JKEY_MAX]; /* lower-cased, zero-padded */
	uint32_t len = 0;
	uint64_t hash = 0;
	int slot = -1;      /* leaf slot, or -1 */
	int child = -1;     /* node index for an object value, or -1 */
	int elem_node = -1; /* node index for each element of an array value */
	int array = 0;      /* with elem_node: the array's id (json.h), >= 1 */
};

struct af_jnode {
	std::vector<af_jentry> entries;
	std::vector<int> table; /* open addressing: index into entries, -1 empty */
	uint64_t mask = 0;
};

struct af_jspec {
	std::vector<af_jnode> nodes; /* nodes[0] is the top level */
	size_t nslots = 0;
	std::vector<uint32_t> stride; /* per array id: element slots; [0] unused */
};

/* Hash of a lower-cased key zero-padded to a multiple of 16 bytes: a few
 * multiplies per 16 bytes, the same for spec compilation and lookup. */
static inline uint64_t af_jkey_hash(const uint8_t *k, size_t len)
{
	uint64_t h = (uint64_t)len * 0x9E3779B97F4A7C15ULL;
	for (size_t off = 0; off < len; off += 16) {
		uint64_t a, b;
		memcpy(&a, k + off, 8);
		memcpy(&b, k + off + 8, 8);
		h ^= a * 0xff51afd7ed558ccdULL;
		h = ((h << 29) | (h >> 35)) ^ (b * 0xc4ceb9fe1a85ec53ULL);
		h *= 0x9E3779B97F4A7C15ULL;
	}
	return h ^ (h >> 31);
}

/* Scan a raw key (the bytes after its opening quote) up to its closing
 * quote, lower-casing ASCII into out (zero-padded to a multiple of 16).
 * Returns the key's length, -1 if it holds an escape before the quote
 * (the caller unescapes), -2 if it is longer than AF_JKEY_MAX.
 * @pre raw is followed by readable bytes up to its quote + 16 (the padding
 * simdjson already requires gives that). */
static inline int af_jkey_scan(const char *raw, uint8_t out[AF_JKEY_MAX])
{
#if defined(__SSE2__)
	/* keep[16 - n .. 32 - n) is n bytes of 0xff then zeros. */
	alignas(16) static const uint8_t keep[32] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	const __m128i quote = _mm_set1_epi8('"');
	const __m128i slash = _mm_set1_epi8('\\');
	const __m128i before_a = _mm_set1_epi8('A' - 1);
	const __m128i after_z = _mm_set1_epi8('Z' + 1);
	const __m128i bit = _mm_set1_epi8(0x20);
	for (int off = 0; off < AF_JKEY_MAX; off += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(raw + off));
		unsigned q = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote));
		unsigned s = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, slash));
		/* Bytes >= 0x80 compare negative, so they are never "upper". */
		__m128i upper = _mm_and_si128(_mm_cmpgt_epi8(v, before_a), _mm_cmplt_epi8(v, after_z));
		v = _mm_or_si128(v, _mm_and_si128(upper, bit));
		if (q) {
			int n = __builtin_ctz(q);
			if (s & ((1u << n) - 1))
				return -1;
			__m128i m = _mm_loadu_si128((const __m128i *)(keep + 16 - n));
			_mm_storeu_si128((__m128i *)(out + off), _mm_and_si128(v, m));
			return off + n;
		}
		if (s)
			return -1;
		_mm_storeu_si128((__m128i *)(out + off), v);
	}
	return -2;
#else
	int n = 0;
	for (; raw[n] != '"'; n++) {
		if (raw[n] == '\\')
			return -1;
		if (n == AF_JKEY_MAX)
			return -2;
		unsigned char c = (unsigned char)raw[n];
		out[n] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c;
	}
	memset(out + n, 0, (size_t)((n + 15) & ~15) - (size_t)n);
	return n;
#endif
}

/* Lower-case and pad an unescaped key; false if longer than AF_JKEY_MAX. */
static inline bool af_jkey_fold(const char *s, size_t len, uint8_t out[AF_JKEY_MAX])
{
	if (len > AF_JKEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c;
	}
	memset(out + len, 0, ((len + 15) & ~(size_t)15) - len);
	return true;
}

/* Index of the entry for a folded key in n, or -1. */
static inline int af_jnode_find(const af_jnode &n, const uint8_t *key, size_t len, uint64_t h)
{
	for (uint64_t i = h & n.mask;; i = (i + 1) & n.mask) {
		int idx = n.table[i];
		if (idx < 0)
			return -1;
		const af_jentry &e = n.entries[(size_t)idx];
		if (e.hash != h || e.len != len)
			continue;
		/* Both sides are zero-padded: compare whole 8-byte words. */
		size_t off = 0;
		for (; off < len; off += 8) {
			uint64_t a, b;
			memcpy(&a, e.key + off, 8);
			memcpy(&b, key + off, 8);
			if (a != b)
				break;
		}
		if (off >= len)
			return idx;
	}
}

#endif
