/* keyset.c - exact set of 64-bit keys; see keyset.h. */
#include "pipeline/state/keyset.h"

#include <stdlib.h>

#define KEYSET_INITIAL 1024

af_err_t af_keyset_init(struct af_keyset *ks)
{
	ks->slots = calloc(KEYSET_INITIAL, sizeof(*ks->slots));
	if (!ks->slots)
		return AF_E_NOMEM;
	ks->mask = KEYSET_INITIAL - 1;
	ks->count = 0;
	ks->has_zero = false;
	return AF_OK;
}

void af_keyset_fini(struct af_keyset *ks)
{
	free(ks->slots);
	ks->slots = NULL;
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

bool af_keyset_add(struct af_keyset *ks, uint64_t key)
{
	if (key == 0) {
		if (ks->has_zero)
			return false;
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
