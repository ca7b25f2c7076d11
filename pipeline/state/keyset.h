/* keyset.h - an exact set of 64-bit keys (account hashes), for counting
 * distinct accounts in a run.
 *
 * Thread: its owner only.
 * DESIGN: open addressing with linear probing, load kept under 1/2, grown by
 * doubling; key 0 is remembered in a flag since 0 marks an empty slot.
 * Memory is 16 bytes or less per key at worst; the per-account state tables
 * (bounded, with eviction) are a different thing and live beside this file.
 */
#ifndef AF_KEYSET_H
#define AF_KEYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"

struct af_keyset {
	uint64_t *slots;
	size_t mask;  /* capacity - 1 */
	size_t count; /* keys held, 0 included */
	bool has_zero;
};

/* Empty set in caller's storage. AF_E_NOMEM on failure. */
af_err_t af_keyset_init(struct af_keyset *ks);
void af_keyset_fini(struct af_keyset *ks);

/* Add key; returns true if it was new. Returns false and keeps the set as
 * it is if growth fails (the count is then a lower bound).
 * Cost: O(1) expected; growth allocates (amortised). */
bool af_keyset_add(struct af_keyset *ks, uint64_t key);

static inline size_t af_keyset_count(const struct af_keyset *ks)
{
	return ks->count;
}

#endif
