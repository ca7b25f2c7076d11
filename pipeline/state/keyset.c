/* keyset.c - distinct 64-bit keys, exact then estimated; see keyset.h.
 *
 * Thread: the owner's. In: keys. Out: their distinct count; its state into
 * a snapshot and back.
 *
 * DESIGN (snapshots): the exact keys are written in ascending order, which
 * depends on the set alone. Sorting them needs memory the slots cannot
 * lend (save must leave them as they are), so they go out in chunks: each
 * pass over the slots keeps the smallest keys above the last one written
 * in a bounded max-heap, then sorts and writes those. One chunk is the
 * whole set up to KEYSET_SAVE_CHUNK keys; a failed allocation only makes
 * the chunks smaller, never the bytes different.
 */
#include "pipeline/state/keyset.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "pipeline/mix.h"
#include "pipeline/snapshot.h"
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

/* What the sketch is given for a key: the key mixed by a bijection
 * (murmur3's 64-bit finaliser), since the sketch reads its register from
 * the top bits and a shard's keys all share theirs (the runtime gives a
 * key to the core its top bits pick). Unmixed, a shard of two used half
 * the registers and counted 3 million accounts as 22,714. */
static inline uint64_t sketch_key(uint64_t key)
{
	return af_mix64(key);
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
		af_hll_add(regs, AF_KEYSET_HLL_P, sketch_key(0));
	for (size_t i = 0; i <= ks->mask; i++)
		if (ks->slots[i] != 0)
			af_hll_add(regs, AF_KEYSET_HLL_P, sketch_key(ks->slots[i]));
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
	af_hll_add(ks->regs, AF_KEYSET_HLL_P, sketch_key(key));
	return true;
}

bool af_keyset_add(struct af_keyset *ks, uint64_t key)
{
	if (ks->regs)
		return af_hll_add(ks->regs, AF_KEYSET_HLL_P, sketch_key(key));
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

/* ---- snapshots ---- */

enum { KEYSET_MODE_EXACT = 0, KEYSET_MODE_SKETCH = 1 };

/* Keys sorted per pass over the slots: 512 KiB of heap, or the stack's
 * share when that cannot be had. */
#define KEYSET_SAVE_CHUNK ((size_t)1 << 16)
#define KEYSET_SAVE_STACK 128

static void heap_sift_down(uint64_t *h, size_t n, size_t i)
{
	for (;;) {
		size_t big = i, l = 2 * i + 1, r = l + 1;
		if (l < n && h[l] > h[big])
			big = l;
		if (r < n && h[r] > h[big])
			big = r;
		if (big == i)
			return;
		uint64_t t = h[i];
		h[i] = h[big];
		h[big] = t;
		i = big;
	}
}

static void heap_sift_up(uint64_t *h, size_t i)
{
	while (i > 0 && h[(i - 1) / 2] < h[i]) {
		uint64_t t = h[i];
		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

/* The up to cap smallest keys of ks above after, ascending, into buf;
 * returns how many. */
static size_t smallest_above(const struct af_keyset *ks, uint64_t after, uint64_t *buf, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i <= ks->mask; i++) {
		uint64_t k = ks->slots[i];
		if (k <= after)
			continue; /* 0 (empty) included */
		if (n < cap) {
			buf[n] = k;
			heap_sift_up(buf, n++);
		} else if (k < buf[0]) {
			buf[0] = k;
			heap_sift_down(buf, n, 0);
		}
	}
	for (size_t end = n; end > 1; end--) {
		uint64_t t = buf[0];
		buf[0] = buf[end - 1];
		buf[end - 1] = t;
		heap_sift_down(buf, end - 1, 0);
	}
	return n;
}

static void save_keys(const struct af_keyset *ks, struct af_snap_writer *w)
{
	size_t left = ks->count - ks->has_zero;
	uint64_t stack[KEYSET_SAVE_STACK];
	uint64_t *buf = stack;
	size_t cap = KEYSET_SAVE_STACK;
	if (left > KEYSET_SAVE_STACK) {
		size_t want = left < KEYSET_SAVE_CHUNK ? left : KEYSET_SAVE_CHUNK;
		uint64_t *heap = malloc(want * sizeof(*heap));
		if (heap) {
			buf = heap;
			cap = want;
		}
	}
	uint64_t after = 0;
	while (left > 0) {
		size_t n = smallest_above(ks, after, buf, cap);
		assert(n > 0 && n <= left);
		for (size_t i = 0; i < n; i++)
			af_snap_put_u64(w, buf[i]);
		after = buf[n - 1];
		left -= n;
	}
	if (buf != stack)
		free(buf);
}

void af_keyset_save(const struct af_keyset *ks, struct af_snap_writer *w)
{
	af_snap_put_u64(w, ks->max);
	if (ks->regs) {
		af_snap_put_u32(w, KEYSET_MODE_SKETCH);
		af_snap_put_u32(w, AF_KEYSET_HLL_P);
		af_snap_put(w, ks->regs, AF_HLL_REGS(AF_KEYSET_HLL_P));
		return;
	}
	af_snap_put_u32(w, KEYSET_MODE_EXACT);
	af_snap_put_u32(w, ks->has_zero);
	af_snap_put_u64(w, ks->count);
	save_keys(ks, w);
}

static af_err_t short_view(char *errstr, size_t errstr_size)
{
	snprintf(errstr, errstr_size, "damaged: a key set's state ends short");
	return AF_E_FORMAT;
}

static af_err_t load_exact(struct af_keyset *ks, struct af_snap_view *v, uint64_t saved_max,
                           char *errstr, size_t errstr_size)
{
	uint32_t zero;
	uint64_t count;
	if (!af_snap_take_u32(v, &zero) || !af_snap_take_u64(v, &count))
		return short_view(errstr, errstr_size);
	if (zero > 1 || count < zero || count > saved_max) {
		snprintf(errstr, errstr_size,
		         "damaged: a key set holds %llu keys (zero flag %u) under a max of %llu",
		         (unsigned long long)count, zero, (unsigned long long)saved_max);
		return AF_E_FORMAT;
	}
	if (count > ks->max) {
		snprintf(errstr, errstr_size,
		         "a key set was saved with %llu keys; this one holds at most %zu (its max)",
		         (unsigned long long)count, ks->max);
		return AF_E_CONFIG;
	}
	/* Before allocating for them: a forged count must not cost memory. */
	uint64_t n = count - zero;
	if (n > (v->len - v->at) / sizeof(uint64_t))
		return short_view(errstr, errstr_size);
	/* The load bound af_keyset_add keeps, count * 2 <= capacity. */
	size_t cap = ks->mask + 1;
	while (cap < count * 2)
		cap *= 2;
	if (cap != ks->mask + 1) {
		uint64_t *slots = calloc(cap, sizeof(*slots));
		if (!slots) {
			snprintf(errstr, errstr_size, "out of memory for a key set of %llu keys",
			         (unsigned long long)count);
			return AF_E_NOMEM;
		}
		free(ks->slots);
		ks->slots = slots;
		ks->mask = cap - 1;
	}
	uint64_t prev = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t key;
		if (!af_snap_take_u64(v, &key))
			return short_view(errstr, errstr_size);
		/* Ascending from above 0 also rules out 0 and repeats. */
		if (key <= prev) {
			snprintf(errstr, errstr_size,
			         "damaged: a key set's keys are out of order, repeated or 0");
			return AF_E_FORMAT;
		}
		insert(ks->slots, ks->mask, key);
		prev = key;
	}
	ks->has_zero = zero;
	ks->count = (size_t)count;
	return AF_OK;
}

static af_err_t load_sketch(struct af_keyset *ks, struct af_snap_view *v, char *errstr,
                            size_t errstr_size)
{
	const size_t m = AF_HLL_REGS(AF_KEYSET_HLL_P);
	uint8_t *regs = NULL;
	af_err_t err = AF_E_FORMAT;
	uint32_t p;
	if (!af_snap_take_u32(v, &p)) {
		err = short_view(errstr, errstr_size);
		goto cleanup;
	}
	if (p != AF_KEYSET_HLL_P) {
		snprintf(errstr, errstr_size,
		         "a key set's sketch was saved at precision %u; this build uses %u", p,
		         AF_KEYSET_HLL_P);
		goto cleanup;
	}
	regs = malloc(m);
	if (!regs) {
		snprintf(errstr, errstr_size, "out of memory for a key set's sketch");
		err = AF_E_NOMEM;
		goto cleanup;
	}
	if (!af_snap_take(v, regs, m)) {
		err = short_view(errstr, errstr_size);
		goto cleanup;
	}
	/* The sketch takes over on a key it then adds, so some register is
	 * set; none can pass the rank of a hash whose other bits are 0. */
	uint8_t top = 0;
	for (size_t i = 0; i < m; i++)
		top = regs[i] > top ? regs[i] : top;
	if (top == 0 || top > AF_HLL_RANK_MAX(AF_KEYSET_HLL_P)) {
		snprintf(errstr, errstr_size,
		         "damaged: a key set's highest register is %u (1..%u expected)", top,
		         AF_HLL_RANK_MAX(AF_KEYSET_HLL_P));
		goto cleanup;
	}
	free(ks->slots);
	ks->slots = NULL;
	ks->regs = regs;
	regs = NULL;
	err = AF_OK;
cleanup:
	free(regs);
	return err;
}

af_err_t af_keyset_load(struct af_keyset *ks, struct af_snap_view *v, char *errstr,
                        size_t errstr_size)
{
	assert(ks->slots && !ks->regs && ks->count == 0 && !ks->has_zero);
	uint64_t max;
	uint32_t mode;
	af_err_t err;
	if (!af_snap_take_u64(v, &max) || !af_snap_take_u32(v, &mode))
		return short_view(errstr, errstr_size);
	if (max == 0 || (mode != KEYSET_MODE_EXACT && mode != KEYSET_MODE_SKETCH)) {
		snprintf(errstr, errstr_size, "damaged: a key set's state has max %llu, mode %u",
		         (unsigned long long)max, mode);
		return AF_E_FORMAT;
	}
	if (mode == KEYSET_MODE_EXACT)
		err = load_exact(ks, v, max, errstr, errstr_size);
	else
		err = load_sketch(ks, v, errstr, errstr_size);
	if (err == AF_OK && !af_snap_done(v)) {
		snprintf(errstr, errstr_size, "damaged: bytes follow a key set's state");
		err = AF_E_FORMAT;
	}
	return err;
}
