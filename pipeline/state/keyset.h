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
 *
 * Snapshots (pipeline/snapshot.h): af_keyset_save writes what decides every
 * later answer, the limit and either the keys or the registers, never the
 * slot layout (it depends on the order keys came in and on when the table
 * grew, and no answer depends on it), so equal sets give equal bytes.
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

/* ---- snapshots (pipeline/snapshot.h) ---- */

struct af_snap_writer;
struct af_snap_view;

/* Write ks into the open section of w, all integers little-endian:
 *   u64 max; u32 mode, 0 exact or 1 sketch; then
 *   exact:  u32 zero flag (0 or 1), u64 count (keys held, 0 included), and
 *           the count - flag other keys as u64, ascending;
 *   sketch: u32 precision (AF_KEYSET_HLL_P), then its 2^p registers.
 * ks is not changed: adding to it afterwards answers as if it had never
 * been saved.
 * Thread: the owner, between two af_keyset_add calls.
 * Cost: sketch, 16 KiB written. Exact, the keys are sorted in chunks of at
 * most 64 Ki keys (512 KiB, allocated and freed here; when that fails, in
 * chunks of 128 on the stack, slowly), one scan of the slots per chunk:
 * 16 scans of 2 Mi slots for a full af_keyset_init set. */
void af_keyset_save(const struct af_keyset *ks, struct af_snap_writer *w);

/* Load what af_keyset_save wrote, v (borrowed) read to its end, into ks.
 * Returns AF_OK; AF_E_FORMAT (errstr says what) when v ends short, has
 * bytes left over, or breaks the set's invariants: an unknown mode, a zero
 * flag other than 0 or 1, more keys than the saved max, keys not strictly
 * ascending (or 0 among them), another precision, or a register above
 * AF_HLL_RANK_MAX or all of them empty; AF_E_CONFIG when the saved exact
 * set holds more keys than ks's max (errstr gives both); AF_E_NOMEM.
 * ks keeps its own max: a state saved under the same max goes on exactly
 * as the saved set would have (the same af_keyset_add results, counts and
 * switch to the sketch); one saved under another max goes on under ks's
 * (a saved sketch stays a sketch whatever the max).
 * ks is unusable after a failure except for af_keyset_fini.
 * @pre ks fresh from af_keyset_init or af_keyset_init_max, nothing added.
 * Thread: ks's owner.
 * Cost: O(keys) expected; allocates the slots or the registers. */
af_err_t af_keyset_load(struct af_keyset *ks, struct af_snap_view *v, char *errstr,
                        size_t errstr_size);

#endif
