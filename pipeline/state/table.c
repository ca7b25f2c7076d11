/* table.c - the bounded per-shard state table; see table.h for the design.
 *
 * Thread: the owning shard only.
 *
 * Slots are numbered 0 .. cap - 1 and index the three slabs (eviction
 * order, keys, values) alike. A slot is either in the eviction list (live),
 * on the free list (chained through the same next field), or at or above
 * the high-water mark `fresh` (never used), so creation never has to walk
 * the slabs and their pages are committed only as entries reach them.
 *
 * The probe array's tag is the two halves of the hash folded together: its
 * low bits pick the home position, so an entry's home is known from the
 * probe entry alone and backward shifts never read the key slab,
 * and a weak hash with zero high bits still spreads.
 *
 * A key record holds the full hash and the key's length in front of its
 * bytes, so a look-up that matches a tag reads one record (one cache line
 * for short keys, two when a record straddles) to compare hash, length and
 * bytes, then the value: find touches three places. The
 * eviction-order slab (last-seen time, links) is touched only by upserts,
 * evictions and removals.
 */
#include "pipeline/state/table.h"
#include "pipeline/mem.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX /* no slot: the end of a list */

struct probe {
	uint32_t tag;  /* fold of the hash; tag & mask is the home position */
	uint32_t slot1; /* the slot + 1; 0 when empty, so a fresh array is
	                   zero pages the kernel hands out as they are touched */
};

struct slot_meta {
	int64_t seen;        /* last-seen event time, ns */
	uint32_t prev, next; /* eviction order, oldest first; next also chains free slots */
};

/* The head of a key record; the key's bytes follow it. */
struct key_head {
	uint64_t hash;
	uint32_t len;
};

#define KEY_BYTES_AT (offsetof(struct key_head, len) + sizeof(uint32_t)) /* 12 */

struct af_table {
	struct probe *probe; /* mask + 1 entries, at most half in use */
	struct slot_meta *meta;
	unsigned char *values; /* cap * stride */
	unsigned char *keys;   /* cap * key_stride: key_head, then up to key_max bytes */
	size_t mask;
	size_t stride, key_max, key_stride, cap;
	size_t entries;
	uint32_t head, tail; /* eviction order: head is evicted first */
	uint32_t free_list;  /* slots given back, NIL when none */
	uint32_t fresh;      /* slots at or above it were never used */
	af_table_evict_fn on_evict;
	void *evict_ctx;
	uint64_t evictions, expirations, removals, collisions;
	size_t bytes;
};

static inline uint32_t tag_of(uint64_t hash)
{
	return (uint32_t)(hash >> 32) ^ (uint32_t)hash;
}

static inline unsigned char *value_at(const struct af_table *t, uint32_t s)
{
	return t->values + (size_t)s * t->stride;
}

static inline struct key_head *key_head_at(const struct af_table *t, uint32_t s)
{
	return (struct key_head *)(t->keys + (size_t)s * t->key_stride);
}

static inline unsigned char *key_at(const struct af_table *t, uint32_t s)
{
	return t->keys + (size_t)s * t->key_stride + KEY_BYTES_AT;
}

static inline uint32_t slot_of_value(const struct af_table *t, const void *value)
{
	size_t off = (size_t)((const unsigned char *)value - t->values);

	assert(off % t->stride == 0 && off / t->stride < t->fresh);
	return (uint32_t)(off / t->stride);
}

af_err_t af_table_new(size_t value_size, size_t key_max, size_t cap, struct af_table **out)
{
	const size_t align = _Alignof(max_align_t);
	struct af_table *t = NULL;
	af_err_t err = AF_E_INVALID;
	size_t stride, key_stride, slots = 1;

	if (value_size == 0 || value_size > SIZE_MAX - align || cap == 0 ||
	    cap > AF_TABLE_CAP_MAX || key_max > AF_TABLE_KEY_MAX)
		goto cleanup;
	stride = (value_size + align - 1) / align * align;
	key_stride = (KEY_BYTES_AT + key_max + 7) / 8 * 8;
	if (stride > SIZE_MAX / cap || key_stride > SIZE_MAX / cap ||
	    cap > SIZE_MAX / 2 / sizeof(struct probe) || cap > SIZE_MAX / sizeof(struct slot_meta))
		goto cleanup;
	/* Load at most 1/2: linear probing's expected probes stay under 2.5
	 * for a miss. */
	while (slots < 2 * cap)
		slots *= 2;

	err = AF_E_NOMEM;
	t = calloc(1, sizeof(*t));
	if (!t)
		goto cleanup;
	t->probe = calloc(slots, sizeof(*t->probe));
	af_mem_prefault(t->probe, slots * sizeof(*t->probe));
	t->meta = malloc(cap * sizeof(*t->meta));
	t->values = malloc(cap * stride);
	t->keys = malloc(cap * key_stride);
	if (!t->probe || !t->meta || !t->values || !t->keys)
		goto cleanup;
	t->mask = slots - 1;
	t->stride = stride;
	t->key_max = key_max;
	t->key_stride = key_stride;
	t->cap = cap;
	t->head = t->tail = t->free_list = NIL;
	t->bytes = sizeof(*t) + slots * sizeof(*t->probe) + cap * sizeof(*t->meta) + cap * stride +
	           cap * key_stride;
	*out = t;
	t = NULL;
	err = AF_OK;
cleanup:
	af_table_free(t);
	return err;
}

void af_table_free(struct af_table *t)
{
	if (!t)
		return;
	free(t->probe);
	free(t->meta);
	free(t->values);
	free(t->keys);
	free(t);
}

void af_table_on_evict(struct af_table *t, af_table_evict_fn fn, void *ctx)
{
	t->on_evict = fn;
	t->evict_ctx = ctx;
}

/* --- eviction order ---------------------------------------------------- */

static void list_unlink(struct af_table *t, uint32_t s)
{
	struct slot_meta *m = &t->meta[s];

	if (m->prev != NIL)
		t->meta[m->prev].next = m->next;
	else
		t->head = m->next;
	if (m->next != NIL)
		t->meta[m->next].prev = m->prev;
	else
		t->tail = m->prev;
}

static void list_append(struct af_table *t, uint32_t s)
{
	struct slot_meta *m = &t->meta[s];

	m->prev = t->tail;
	m->next = NIL;
	if (t->tail != NIL)
		t->meta[t->tail].next = s;
	else
		t->head = s;
	t->tail = s;
}

/* --- probe array --------------------------------------------------------- */

/* The position of the entry with this hash and key (*found true), or of the
 * empty entry that ends its probe run (*found false). */
static size_t probe_lookup(struct af_table *t, uint64_t hash, uint32_t tag, const void *key,
                           size_t key_len, bool *found)
{
	for (size_t i = tag & t->mask;; i = (i + 1) & t->mask) {
		struct probe p = t->probe[i];
		if (p.slot1 == 0) {
			*found = false;
			return i;
		}
		if (p.tag != tag)
			continue;
		const struct key_head *k = key_head_at(t, p.slot1 - 1);
		if (k->hash != hash)
			continue;
		if (k->len == key_len &&
		    (key_len == 0 || memcmp(key_at(t, p.slot1 - 1), key, key_len) == 0)) {
			*found = true;
			return i;
		}
		t->collisions++;
	}
}

static size_t probe_empty(const struct af_table *t, uint32_t tag)
{
	size_t i = tag & t->mask;

	while (t->probe[i].slot1 != 0)
		i = (i + 1) & t->mask;
	return i;
}

/* Empty position i, then walk the run after it: an entry whose home is not
 * in (i, j] may move back into the hole, which moves the hole to j. Every
 * entry stays reachable from its home without tombstones. */
static void probe_delete(struct af_table *t, size_t i)
{
	for (size_t j = (i + 1) & t->mask; t->probe[j].slot1 != 0; j = (j + 1) & t->mask) {
		size_t home = t->probe[j].tag & t->mask;
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->probe[i] = t->probe[j];
			i = j;
		}
	}
	t->probe[i].slot1 = 0;
}

/* --- entries ------------------------------------------------------------- */

/* Hand the entry in slot s to on_evict, then take it out of the probe
 * array and the eviction order and give its slot back. */
static void drop(struct af_table *t, uint32_t s)
{
	struct slot_meta *m = &t->meta[s];
	const struct key_head *k = key_head_at(t, s);
	size_t i;

	if (t->on_evict)
		t->on_evict(t->evict_ctx, value_at(t, s), key_at(t, s), k->len);
	i = tag_of(k->hash) & t->mask;
	while (t->probe[i].slot1 != s + 1)
		i = (i + 1) & t->mask;
	probe_delete(t, i);
	list_unlink(t, s);
	m->next = t->free_list;
	t->free_list = s;
	t->entries--;
}

static uint32_t slot_take(struct af_table *t)
{
	uint32_t s = t->free_list;

	if (s != NIL) {
		t->free_list = t->meta[s].next;
		return s;
	}
	assert(t->fresh < t->cap);
	return t->fresh++;
}

void af_table_prefetch(const struct af_table *t, uint64_t hash)
{
	__builtin_prefetch(&t->probe[tag_of(hash) & t->mask]);
}

void *af_table_find(struct af_table *t, uint64_t hash, const void *key, size_t key_len)
{
	bool found;
	size_t i;

	assert(key_len <= t->key_max);
	i = probe_lookup(t, hash, tag_of(hash), key, key_len, &found);
	return found ? value_at(t, t->probe[i].slot1 - 1) : NULL;
}

void *af_table_upsert(struct af_table *t, uint64_t hash, const void *key, size_t key_len,
                      int64_t now_ns, bool *created)
{
	return af_table_upsert_idle(t, hash, key, key_len, now_ns, INT64_MAX, created);
}

void *af_table_upsert_idle(struct af_table *t, uint64_t hash, const void *key, size_t key_len,
                           int64_t now_ns, int64_t idle_ns, bool *created)
{
	uint32_t tag = tag_of(hash), s;
	struct slot_meta *m = NULL;
	struct key_head *k;
	bool found;
	size_t i;

	assert(key_len <= t->key_max);
	i = probe_lookup(t, hash, tag, key, key_len, &found);
	if (found) {
		s = t->probe[i].slot1 - 1;
		m = &t->meta[s];
	}
	if (found && now_ns - m->seen > idle_ns) {
		/* Idle past its time: what af_table_expire would have done had
		 * it got here first, counted as a removal. */
		drop(t, s);
		t->removals++;
		i = probe_empty(t, tag);
		found = false;
	}
	if (found) {
		if (now_ns > m->seen) {
			m->seen = now_ns;
			if (s != t->tail) {
				list_unlink(t, s);
				list_append(t, s);
			}
		}
		if (created)
			*created = false;
		return value_at(t, s);
	}
	if (t->entries == t->cap) {
		drop(t, t->head);
		t->evictions++;
		/* The backward shift may have moved the end of our probe run. */
		i = probe_empty(t, tag);
	}
	s = slot_take(t);
	t->meta[s].seen = now_ns;
	k = key_head_at(t, s);
	k->hash = hash;
	k->len = (uint32_t)key_len;
	if (key_len)
		memcpy(key_at(t, s), key, key_len);
	memset(value_at(t, s), 0, t->stride);
	list_append(t, s);
	t->probe[i] = (struct probe){.tag = tag, .slot1 = s + 1};
	t->entries++;
	if (created)
		*created = true;
	return value_at(t, s);
}

size_t af_table_expire(struct af_table *t, int64_t now_ns, int64_t idle_ns, size_t budget)
{
	size_t n = 0;

	assert(idle_ns >= 0 && now_ns >= 0);
	/* Both times are >= 0, so the difference cannot overflow. */
	while (n < budget && t->head != NIL && now_ns - t->meta[t->head].seen > idle_ns) {
		drop(t, t->head);
		n++;
	}
	t->expirations += n;
	return n;
}

void af_table_remove(struct af_table *t, void *value)
{
	drop(t, slot_of_value(t, value));
	t->removals++;
}

const void *af_table_key(const struct af_table *t, const void *value, size_t *key_len)
{
	uint32_t s = slot_of_value(t, value);

	*key_len = key_head_at(t, s)->len;
	return key_at(t, s);
}

int64_t af_table_last_seen(const struct af_table *t, const void *value)
{
	return t->meta[slot_of_value(t, value)].seen;
}

void af_table_each(struct af_table *t, af_table_each_fn fn, void *ctx)
{
	for (uint32_t s = t->head; s != NIL; s = t->meta[s].next)
		fn(ctx, value_at(t, s), key_head_at(t, s)->hash, key_at(t, s),
		   key_head_at(t, s)->len, t->meta[s].seen);
}

void af_table_stats(const struct af_table *t, struct af_table_stats *st)
{
	st->entries = t->entries;
	st->cap = t->cap;
	st->evictions = t->evictions;
	st->expirations = t->expirations;
	st->removals = t->removals;
	st->collisions = t->collisions;
	st->value_stride = t->stride;
	st->bytes = t->bytes;
	st->bytes_per_entry = (double)t->bytes / (double)t->cap;
}
