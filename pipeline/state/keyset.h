/* keyset.h - the number of distinct 64-bit keys (account hashes) seen in a
 * run: exact up to a limit, estimated past it, in bounded memory.
 *
 * Thread: its owner only.
 * DESIGN: open addressing with linear probing, load kept under 1/2, grown by
 * doubling; key 0 is remembered in a flag since 0 marks an empty slot.
 * Memory is 16 bytes or less per key at worst. A run can meet any number of
 * accounts (a flood of made-up ones, say), so past max keys the set gives
 * way to a HyperLogLog sketch of AF_KEYSET_HLL_P (16 KiB, about 0.8 %
 * relative error) holding every key seen so far, and the count becomes an
 * estimate (af_keyset_exact says which). The per-account state tables
 * (bounded, with eviction) are a different thing and live beside this file.
 */
#ifndef AF_KEYSET_H
#define AF_KEYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"

/* Keys held exactly by af_keyset_init's set: at most 32 MiB of slots while
 * it grows to its last size. */
#define AF_KEYSET_EXACT_MAX ((size_t)1 << 20)
/* The sketch's precision once the exact set gives way. */
#define AF_KEYSET_HLL_P 14

struct af_keyset {
	uint64_t *slots; /* NULL once the sketch took over */
	size_t mask;     /* capacity - 1 */
	size_t count;    /* keys held, 0 included (exact mode) */
	size_t max;      /* keys held exactly at most */
	bool has_zero;
	uint8_t *regs; /* the sketch, NULL while exact */
};

/* Empty set in caller's storage, exact up to AF_KEYSET_EXACT_MAX keys.
 * AF_E_NOMEM on failure. */
af_err_t af_keyset_init(struct af_keyset *ks);

/* The same, exact up to max keys (at least 1). */
af_err_t af_keyset_init_max(struct af_keyset *ks, size_t max);

void af_keyset_fini(struct af_keyset *ks);

/* Add key; returns true if it was new (exact mode) or may have been (the
 * sketch). Returns false and keeps the set as it is if growth fails (the
 * count is then a lower bound).
 * Cost: O(1) expected; growth allocates (amortised); the switch to the
 * sketch reads every key once. */
bool af_keyset_add(struct af_keyset *ks, uint64_t key);

/* Distinct keys added: exact while af_keyset_exact, else the sketch's
 * estimate. Cost: O(1) exact; a scan of 2^AF_KEYSET_HLL_P registers
 * otherwise. */
size_t af_keyset_count(const struct af_keyset *ks);

/* Whether af_keyset_count is exact. */
static inline bool af_keyset_exact(const struct af_keyset *ks)
{
	return ks->regs == NULL;
}

#endif
