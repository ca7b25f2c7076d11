/* keyset.c - distinct 64-bit keys, exact then estimated; see keyset.h.
 *
 * Thread: the owner's. In: keys. Out: their distinct count.
 */
#include "pipeline/state/keyset.h"

#include <stdlib.h>

#include "pipeline/state/hll.h"

#define KEYSET_INITIAL 1024

af_err_t af_keyset_init_max(struct af_keyset *ks, size_t max)
{
	*ks = (struct af_keyset){.max = max ? max : 1};
	ks->slots = calloc(KEYSET_INITIAL, sizeof(*ks->slots));
	if (!ks->slots)
		return AF_E_NOMEM;
	ks->mask = KEYSET_INITIAL - 1;
	return AF_OK;
}

af_err_t af_keyset_init(struct af_keyset *ks)
{
	return af_keyset_init_max(ks, AF_KEYSET_EXACT_MAX);
}

void af_keyset_fini(struct af_keyset *ks)
{
	free(ks->slots);
	free(ks->regs);
	ks->slots = NULL;
	ks->regs = NULL;
}

/* Spread the bits: keys are hashes already, but callers may pass small
 * integers in tests. */
static inline size_t slot_of(uint64_t key, size_t mask)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)key & mask;
}

static void insert(uint64_t *slots, size_t mask, uint64_t key)
{
	size_t i = slot_of(key, mask);
	while (slots[i] != 0)
		i = (i + 1) & mask;
	slots[i] = key;
}

static bool grow(struct af_keyset *ks)
{
	size_t cap = (ks->mask + 1) * 2;
	uint64_t *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return false;
	for (size_t i = 0; i <= ks->mask; i++)
		if (ks->slots[i] != 0)
			insert(slots, cap - 1, ks->slots[i]);
	free(ks->slots);
	ks->slots = slots;
	ks->mask = cap - 1;
	return true;
}

/* Hand every key to a new sketch and drop the slots. False, nothing
 * changed, when the sketch cannot be allocated. */
static bool to_sketch(struct af_keyset *ks)
{
	uint8_t *regs = malloc(AF_HLL_REGS(AF_KEYSET_HLL_P));
	if (!regs || af_hll_init(regs, AF_KEYSET_HLL_P) != AF_OK) {
		free(regs);
		return false;
	}
	if (ks->has_zero)
		af_hll_add(regs, AF_KEYSET_HLL_P, 0);
	for (size_t i = 0; i <= ks->mask; i++)
		if (ks->slots[i] != 0)
			af_hll_add(regs, AF_KEYSET_HLL_P, ks->slots[i]);
	free(ks->slots);
	ks->slots = NULL;
	ks->regs = regs;
	return true;
}

/* key is new to the exact set and it is full: the sketch takes over. */
static bool add_past_max(struct af_keyset *ks, uint64_t key)
{
	if (!to_sketch(ks))
		return false;
	af_hll_add(ks->regs, AF_KEYSET_HLL_P, key);
	return true;
}

bool af_keyset_add(struct af_keyset *ks, uint64_t key)
{
	if (ks->regs)
		return af_hll_add(ks->regs, AF_KEYSET_HLL_P, key);
	if (key == 0) {
		if (ks->has_zero)
			return false;
		if (ks->count == ks->max)
			return add_past_max(ks, key);
		ks->has_zero = true;
		ks->count++;
		return true;
	}
	size_t i = slot_of(key, ks->mask);
	while (ks->slots[i] != 0) {
		if (ks->slots[i] == key)
			return false;
		i = (i + 1) & ks->mask;
	}
	if (ks->count == ks->max)
		return add_past_max(ks, key);
	if ((ks->count + 1) * 2 > ks->mask + 1) {
		if (!grow(ks))
			return false;
		insert(ks->slots, ks->mask, key);
	} else {
		ks->slots[i] = key;
	}
	ks->count++;
	return true;
}

size_t af_keyset_count(const struct af_keyset *ks)
{
	return ks->regs ? (size_t)af_hll_count(ks->regs, AF_KEYSET_HLL_P) : ks->count;
}
