/* json_spec.hpp - internals shared by the shim's translation units: the
 * compiled spec and the table of parser operations one CPU variant offers.
 * Not for C callers; they use json.h.
 */
#ifndef AF_JSON_SPEC_HPP
#define AF_JSON_SPEC_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/parse/json.h"

struct af_jentry {
	std::string key; /* lower-cased */
	uint64_t hash = 0;
	int slot = -1;  /* leaf slot, or -1 */
	int child = -1; /* node index for an object value, or -1 */
};

struct af_jnode {
	std::vector<af_jentry> entries;
	std::vector<int> table; /* open addressing: index into entries, -1 empty */
	uint64_t mask = 0;
};

struct af_jspec {
	std::vector<af_jnode> nodes; /* nodes[0] is the top level */
	size_t nslots = 0;
};

/* Case-insensitive FNV-1a over ASCII: the key hash of every level. */
static const uint64_t af_jhash_seed = 0xcbf29ce484222325ULL;

static inline unsigned char af_jlower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

static inline uint64_t af_jhash_step(uint64_t h, unsigned char c)
{
	return (h ^ af_jlower(c)) * 0x100000001b3ULL;
}

static inline uint64_t af_jhash_key(const char *s, size_t len)
{
	uint64_t h = af_jhash_seed;
	for (size_t i = 0; i < len; i++)
		h = af_jhash_step(h, (unsigned char)s[i]);
	return h;
}

/* Index of the entry for key in n, or -1. h = af_jhash_key(key, len). */
static inline int af_jnode_find(const af_jnode &n, const char *key, size_t len, uint64_t h)
{
	for (uint64_t i = h & n.mask;; i = (i + 1) & n.mask) {
		int idx = n.table[i];
		if (idx < 0)
			return -1;
		const af_jentry &e = n.entries[(size_t)idx];
		if (e.hash != h || e.key.size() != len)
			continue;
		size_t k = 0;
		while (k < len && af_jlower((unsigned char)key[k]) == (unsigned char)e.key[k])
			k++;
		if (k == len)
			return idx;
	}
}

/* What one CPU variant of the shim offers (json_shim.cpp). */
struct af_jshim_ops {
	const char *name;
	void *(*new_parser)(size_t max_record);
	void (*free_parser)(void *impl);
	enum af_reason (*extract)(void *impl, const struct af_jspec *spec, const char *buf,
	                          size_t len, struct af_jval *slots);
	enum af_reason (*sub)(void *impl, const struct af_jspec *spec, const char *text,
	                      size_t len, struct af_jval *slots);
	enum af_reason (*each)(void *impl, const struct af_jspec *elem_spec, const char *text,
	                       size_t len, struct af_jval *elem_slots, af_jeach_fn *fn, void *ctx);
};

#endif
