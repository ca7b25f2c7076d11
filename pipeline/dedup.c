/* dedup.c - duplicate suppression by record id within a retention window.
 *
 * Thread: the owner of the handle only (see dedup.h).
 * In: (key, event time) per record; a snapshot section to load. Out:
 * duplicate or not; counters; a snapshot section (see "snapshots" below).
 *
 * DESIGN: an open-addressing table of (key, ts) pairs with linear probing,
 * a power-of-two number of slots, at most 3/4 full, Fibonacci hashing of the
 * key for the home slot (the caller's xxh3 is already well mixed; the
 * multiply protects the table from keys that are not). Key 0 marks an empty
 * slot, so a real key 0 lives in a slot of its own beside the table instead
 * of being remapped onto another key it could then be confused with.
 * Deletion shifts the rest of the cluster back (no tombstones), so probes
 * stay short however many ids come and go.
 *
 * Beside the table, a ring (FIFO) holds every remembered key once, in the
 * order it was remembered, with the time it was remembered at. Each new id
 * first drops up to two expired ids from the front, so the table holds
 * about one retention's worth of ids. Growth doubles both until they hold
 * max_entries. At that cap, room is made at the
 * front of the ring: ids there older than (newest time seen - retention) are
 * dropped as expired, and if none was, the front id is evicted. A front
 * entry whose key was remembered anew since (seen again after its
 * retention; its table time differs) is moved to the back instead. So each
 * call costs O(1) amortised with no sweep of the table and no stall, at the
 * price that "oldest" means least recently remembered, and an expired id
 * behind a younger one waits its turn; for inputs roughly ordered by event
 * time the two orders agree. (A design that sweeps the table for the truly
 * oldest was measured at ~500 ns a call at 1M entries, in stalls of tens of
 * ms.)
 */
#include "pipeline/dedup.h"
#include "pipeline/mem.h"
#include "pipeline/snapshot.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_SLOTS 64
#define FIBONACCI     0x9E3779B97F4A7C15ull

struct entry {
	uint64_t key; /* 0: empty slot */
	int64_t ts;
};

struct af_dedup {
	struct entry *slots; /* nslots */
	size_t nslots;       /* a power of two, >= 4 */
	unsigned shift;      /* 64 - log2(nslots) */
	size_t count;        /* entries in slots */
	bool has_zero;       /* key 0 is remembered, at zero_ts */
	int64_t zero_ts;
	struct entry *fifo; /* ring of limit entries: keys in the order remembered */
	size_t head, len;   /* front of the ring; len == count + has_zero */
	size_t limit;       /* entries allowed at this size, zero key included */
	size_t max_slots;   /* nslots at the cap; lowered if growth fails */
	size_t max_entries;
	int64_t retention_ns;
	int64_t newest; /* latest ts seen; INT64_MIN before the first call */
	uint64_t duplicates, expirations, evictions;
};

static size_t limit_for(size_t nslots, size_t max_entries)
{
	size_t load = nslots - nslots / 4;

	return load < max_entries ? load : max_entries;
}

static unsigned log2_size(size_t n)
{
	unsigned b = 0;

	while (((size_t)1 << b) < n)
		b++;
	return b;
}

static int64_t sub_saturated(int64_t a, int64_t b)
{
	return a < INT64_MIN + b ? INT64_MIN : a - b;
}

static bool within(int64_t a, int64_t b, int64_t retention)
{
	uint64_t diff = a >= b ? (uint64_t)a - (uint64_t)b : (uint64_t)b - (uint64_t)a;

	return diff <= (uint64_t)retention;
}

static size_t home(const struct af_dedup *d, uint64_t key)
{
	return (size_t)((key * FIBONACCI) >> d->shift);
}

/* The slot holding key (not 0), or nslots when it is not remembered. */
static size_t find(const struct af_dedup *d, uint64_t key)
{
	size_t mask = d->nslots - 1;

	for (size_t i = home(d, key);; i = (i + 1) & mask) {
		if (d->slots[i].key == key)
			return i;
		if (d->slots[i].key == 0)
			return d->nslots;
	}
}

/* The stored time of key, or NULL when it is not remembered. */
static int64_t *lookup(struct af_dedup *d, uint64_t key)
{
	size_t i;

	if (key == 0)
		return d->has_zero ? &d->zero_ts : NULL;
	i = find(d, key);
	return i < d->nslots ? &d->slots[i].ts : NULL;
}

/* @pre key is not remembered and count < nslots. */
static void table_insert(struct af_dedup *d, uint64_t key, int64_t ts)
{
	size_t mask = d->nslots - 1;
	size_t i;

	if (key == 0) {
		d->has_zero = true;
		d->zero_ts = ts;
		return;
	}
	for (i = home(d, key); d->slots[i].key != 0; i = (i + 1) & mask)
		;
	d->slots[i].key = key;
	d->slots[i].ts = ts;
	d->count++;
}

/* Whether the entry in slot i may move back to the hole at h: not if its
 * home lies cyclically in (h, i], where the move would put it before home. */
static bool may_fill(const struct af_dedup *d, size_t h, size_t i)
{
	size_t home_i = home(d, d->slots[i].key);

	if (h < i)
		return home_i <= h || home_i > i;
	return home_i <= h && home_i > i;
}

/* @pre key is remembered. Later entries of its cluster that may move back
 * into the hole do (Knuth's Algorithm R), so every probe still finds them. */
static void table_remove(struct af_dedup *d, uint64_t key)
{
	size_t mask = d->nslots - 1;
	size_t i;

	if (key == 0) {
		d->has_zero = false;
		return;
	}
	for (i = home(d, key); d->slots[i].key != key; i = (i + 1) & mask)
		assert(d->slots[i].key != 0);
	for (size_t j = (i + 1) & mask; d->slots[j].key != 0; j = (j + 1) & mask) {
		if (may_fill(d, i, j)) {
			d->slots[i] = d->slots[j];
			i = j;
		}
	}
	d->slots[i].key = 0;
	d->count--;
}

static void fifo_push(struct af_dedup *d, uint64_t key, int64_t ts)
{
	size_t i = d->head + d->len;

	assert(d->len < d->limit);
	if (i >= d->limit)
		i -= d->limit;
	d->fifo[i] = (struct entry){key, ts};
	d->len++;
}

static struct entry fifo_pop(struct af_dedup *d)
{
	struct entry e = d->fifo[d->head];

	assert(d->len > 0);
	d->head = d->head + 1 == d->limit ? 0 : d->head + 1;
	d->len--;
	return e;
}

struct af_dedup *af_dedup_new(int64_t retention_ns, size_t max_entries)
{
	struct af_dedup *d;

	assert(retention_ns >= 0 && max_entries >= 1);
	d = calloc(1, sizeof *d);
	if (d == NULL)
		return NULL;
	d->retention_ns = retention_ns;
	d->max_entries = max_entries;
	d->newest = INT64_MIN;
	d->max_slots = 4;
	while (limit_for(d->max_slots, max_entries) < max_entries &&
	       d->max_slots < SIZE_MAX / 4 / sizeof(struct entry))
		d->max_slots *= 2;
	d->nslots = d->max_slots < INITIAL_SLOTS ? d->max_slots : INITIAL_SLOTS;
	d->shift = 64 - log2_size(d->nslots);
	d->limit = limit_for(d->nslots, max_entries);
	d->slots = calloc(d->nslots, sizeof *d->slots);
	d->fifo = malloc(d->limit * sizeof *d->fifo);
	if (d->slots == NULL || d->fifo == NULL) {
		af_dedup_free(d);
		return NULL;
	}
	return d;
}

void af_dedup_free(struct af_dedup *d)
{
	if (d == NULL)
		return;
	free(d->slots);
	free(d->fifo);
	free(d);
}

/* Doubles the table and the ring; false, nothing changed, when memory is
 * short. */
static bool grow(struct af_dedup *d)
{
	size_t nslots = d->nslots * 2;
	size_t limit = limit_for(nslots, d->max_entries);
	struct entry *slots = calloc(nslots, sizeof *slots);
	af_mem_prefault(slots, nslots * sizeof *slots);
	struct entry *fifo = malloc(limit * sizeof *fifo);

	if (slots == NULL || fifo == NULL) {
		free(slots);
		free(fifo);
		return false;
	}
	/* The ring, unwrapped: its order is the eviction order. */
	size_t first = d->limit - d->head < d->len ? d->limit - d->head : d->len;
	memcpy(fifo, d->fifo + d->head, first * sizeof *fifo);
	memcpy(fifo + first, d->fifo, (d->len - first) * sizeof *fifo);
	free(d->fifo);
	d->fifo = fifo;
	d->head = 0;

	/* In slot order: with Fibonacci hashing a key's new home is twice its
	 * old one (or one more), so the new table fills front to back. */
	struct entry *old = d->slots;
	size_t old_n = d->nslots;
	d->slots = slots;
	d->nslots = nslots;
	d->shift--;
	d->limit = limit;
	d->count = 0;
	for (size_t i = 0; i < old_n; i++) {
		if (old[i].key != 0)
			table_insert(d, old[i].key, old[i].ts);
	}
	free(old);
	return true;
}

/* What one look at the front of the ring did. */
enum front { FRONT_REQUEUED, FRONT_EXPIRED, FRONT_FRESH };

/* Look at the front id: one remembered anew since (its table time differs)
 * goes to the back; one older than cutoff is forgotten as expired; a fresh
 * one stays. @pre d->len > 0. */
static enum front front_step(struct af_dedup *d, int64_t cutoff)
{
	struct entry front = d->fifo[d->head];
	int64_t ts = *lookup(d, front.key);

	if (ts != front.ts) {
		fifo_pop(d);
		fifo_push(d, front.key, ts);
		return FRONT_REQUEUED;
	}
	if (ts >= cutoff)
		return FRONT_FRESH;
	fifo_pop(d);
	table_remove(d, front.key);
	d->expirations++;
	return FRONT_EXPIRED;
}

/* Drop up to budget expired ids from the front of the ring (moving ids
 * remembered anew since to the back counts too). Called on every new id,
 * so the table holds about one retention's worth of ids rather than
 * growing to the cap first: a table that fits in cache answers in a few
 * nanoseconds, one of max_entries in a cache miss. */
static void expire_some(struct af_dedup *d, unsigned budget)
{
	int64_t cutoff = sub_saturated(d->newest, d->retention_ns);

	while (budget-- > 0 && d->len > 0 && front_step(d, cutoff) != FRONT_FRESH)
		;
}

/* At the cap: drop the expired ids at the front of the ring, or if there
 * are none, evict the front one. */
static void make_room(struct af_dedup *d)
{
	int64_t cutoff = sub_saturated(d->newest, d->retention_ns);
	bool freed = false;

	while (d->len > 0) {
		enum front f = front_step(d, cutoff);

		if (f == FRONT_EXPIRED)
			freed = true;
		if (f != FRONT_FRESH)
			continue;
		if (freed)
			break;
		struct entry front = fifo_pop(d);
		table_remove(d, front.key);
		d->evictions++;
		freed = true;
	}
}

bool af_dedup_check(struct af_dedup *d, uint64_t key, int64_t ts_ns)
{
	int64_t *stored;

	if (ts_ns > d->newest)
		d->newest = ts_ns;
	stored = lookup(d, key);
	if (stored != NULL) {
		if (within(ts_ns, *stored, d->retention_ns)) {
			d->duplicates++;
			return true;
		}
		/* The ring entry keeps the old time; make_room notices. */
		*stored = ts_ns;
		return false;
	}
	/* Two per new id: ids arrive one at a time, so the front drains at
	 * least as fast as it fills. */
	expire_some(d, 2);
	if (d->len == d->limit && !(d->nslots < d->max_slots && grow(d))) {
		/* At the cap, or growth failed: this size is the cap now. */
		d->max_slots = d->nslots;
		make_room(d);
	}
	table_insert(d, key, ts_ns);
	fifo_push(d, key, ts_ns);
	return false;
}

void af_dedup_prefetch(const struct af_dedup *d, uint64_t key)
{
	__builtin_prefetch(&d->slots[home(d, key)]);
}

void af_dedup_stats(const struct af_dedup *d, struct af_dedup_stats *st)
{
	st->entries = d->len;
	st->capacity = d->limit;
	st->duplicates = d->duplicates;
	st->expirations = d->expirations;
	st->evictions = d->evictions;
}

/* ---- snapshots ----
 *
 * The section: nine little-endian u64, namely retention, max_entries,
 * table slots, slot cap (max_slots), newest time, duplicates,
 * expirations, evictions and the number of ids; then each id in ring
 * order, front first: key, stored time, time it was queued at (the two
 * differ for an id remembered anew, which the front moves to the back).
 *
 * Which slot holds which key is left out: lookups find a key wherever it
 * sits, and neither growth nor removal makes a slot's position visible,
 * so re-inserting in ring order rebuilds a table that answers every later
 * call as the saved one would. The ring's order, its size (the limit,
 * from the table size) and the slot cap do decide what is expired or
 * evicted next, so they are kept exactly. */

#define SAVE_FIELDS 9

void af_dedup_save(const struct af_dedup *d, struct af_snap_writer *w)
{
	af_snap_put_u64(w, (uint64_t)d->retention_ns);
	af_snap_put_u64(w, d->max_entries);
	af_snap_put_u64(w, d->nslots);
	af_snap_put_u64(w, d->max_slots);
	af_snap_put_u64(w, (uint64_t)d->newest);
	af_snap_put_u64(w, d->duplicates);
	af_snap_put_u64(w, d->expirations);
	af_snap_put_u64(w, d->evictions);
	af_snap_put_u64(w, d->len);
	for (size_t n = 0, i = d->head; n < d->len; n++, i = i + 1 == d->limit ? 0 : i + 1) {
		uint64_t key = d->fifo[i].key;
		int64_t ts = key == 0 ? d->zero_ts : d->slots[find(d, key)].ts;

		af_snap_put_u64(w, key);
		af_snap_put_u64(w, (uint64_t)ts);
		af_snap_put_u64(w, (uint64_t)d->fifo[i].ts);
	}
}

static bool is_table_size(uint64_t n)
{
	return n >= 4 && (n & (n - 1)) == 0 && n <= SIZE_MAX / 4 / sizeof(struct entry);
}

/* Replace the (empty) table and ring with ones of nslots; false, nothing
 * changed, when memory is short. */
static bool resize_empty(struct af_dedup *d, size_t nslots)
{
	size_t limit = limit_for(nslots, d->max_entries);
	struct entry *slots = calloc(nslots, sizeof *slots);
	struct entry *fifo = malloc(limit * sizeof *fifo);

	if (slots == NULL || fifo == NULL) {
		free(slots);
		free(fifo);
		return false;
	}
	af_mem_prefault(slots, nslots * sizeof *slots);
	free(d->slots);
	free(d->fifo);
	d->slots = slots;
	d->fifo = fifo;
	d->nslots = nslots;
	d->shift = 64 - log2_size(nslots);
	d->limit = limit;
	return true;
}

/* The table size and slot cap for a state of n ids saved at saved_slots
 * slots (capped at saved_max) with saved_entries as max_entries, into
 * *nslots and *max_slots: the saved ones when max_entries is unchanged;
 * otherwise the saved size within this filter's bounds, doubled until the
 * ids fit. Returns AF_OK, AF_E_FORMAT or AF_E_CONFIG. */
static af_err_t choose_size(const struct af_dedup *d, uint64_t n, uint64_t saved_entries,
                            uint64_t saved_slots, uint64_t saved_max, size_t *nslots,
                            size_t *max_slots, char *errstr, size_t errstr_size)
{
	if (saved_entries == 0 || !is_table_size(saved_slots) || !is_table_size(saved_max) ||
	    saved_slots > saved_max || n > limit_for(saved_slots, saved_entries)) {
		snprintf(errstr, errstr_size,
		         "damaged: the duplicate filter's state holds %llu ids in a table of "
		         "%llu slots (of at most %llu) for %llu entries",
		         (unsigned long long)n, (unsigned long long)saved_slots,
		         (unsigned long long)saved_max, (unsigned long long)saved_entries);
		return AF_E_FORMAT;
	}
	if (n > d->max_entries) {
		snprintf(errstr, errstr_size,
		         "the duplicate filter's state holds %llu record ids; this one keeps at "
		         "most %zu (input.dedup_max_entries, divided among the shards)",
		         (unsigned long long)n, d->max_entries);
		return AF_E_CONFIG;
	}
	if (saved_entries == d->max_entries) {
		/* The table never shrinks, and its cap is the natural one or,
		 * after a growth that failed, the size it had then. */
		if (saved_slots < d->nslots || saved_slots > d->max_slots ||
		    (saved_max != d->max_slots && saved_max != saved_slots)) {
			snprintf(errstr, errstr_size,
			         "damaged: the duplicate filter's table of %llu slots (of at most "
			         "%llu) is not one it can have",
			         (unsigned long long)saved_slots, (unsigned long long)saved_max);
			return AF_E_FORMAT;
		}
		*nslots = saved_slots;
		*max_slots = saved_max;
		return AF_OK;
	}
	*nslots = d->nslots;
	while (*nslots < d->max_slots &&
	       (*nslots < saved_slots || limit_for(*nslots, d->max_entries) < n))
		*nslots *= 2;
	*max_slots = d->max_slots;
	if (limit_for(*nslots, d->max_entries) < n) {
		snprintf(errstr, errstr_size,
		         "the duplicate filter's state holds %llu record ids; this one has room "
		         "for %zu (input.dedup_max_entries)",
		         (unsigned long long)n, limit_for(*nslots, d->max_entries));
		return AF_E_CONFIG;
	}
	return AF_OK;
}

af_err_t af_dedup_load(struct af_dedup *d, struct af_snap_view *v, char *errstr, size_t errstr_size)
{
	/* retention, max_entries, slots, max_slots, newest, 3 counters, ids */
	uint64_t f[SAVE_FIELDS];
	int64_t newest;
	size_t nslots, max_slots;
	af_err_t err;

	assert(d->len == 0 && d->newest == INT64_MIN);
	for (int i = 0; i < SAVE_FIELDS; i++) {
		if (!af_snap_take_u64(v, &f[i]))
			goto short_view;
	}
	if ((int64_t)f[0] != d->retention_ns) {
		snprintf(errstr, errstr_size,
		         "the duplicate filter's state was saved with a retention of %lld ns; this "
		         "one has %lld ns (input.dedup_retention)",
		         (long long)f[0], (long long)d->retention_ns);
		return AF_E_CONFIG;
	}
	err = choose_size(d, f[8], f[1], f[2], f[3], &nslots, &max_slots, errstr, errstr_size);
	if (err != AF_OK)
		return err;
	if (!resize_empty(d, nslots)) {
		snprintf(errstr, errstr_size,
		         "out of memory for the duplicate filter's table of %zu slots", nslots);
		return AF_E_NOMEM;
	}
	d->max_slots = max_slots;
	newest = (int64_t)f[4];
	for (uint64_t i = 0; i < f[8]; i++) {
		uint64_t key, ts, queued;

		if (!af_snap_take_u64(v, &key) || !af_snap_take_u64(v, &ts) ||
		    !af_snap_take_u64(v, &queued))
			goto short_view;
		/* Every time stored was once the newest or behind it. */
		if ((int64_t)ts > newest || (int64_t)queued > newest) {
			snprintf(errstr, errstr_size,
			         "damaged: a record id in the duplicate filter's state is newer "
			         "than the newest time it saw");
			return AF_E_FORMAT;
		}
		if (lookup(d, key) != NULL) {
			snprintf(errstr, errstr_size,
			         "damaged: the duplicate filter's state holds a record id twice");
			return AF_E_FORMAT;
		}
		table_insert(d, key, (int64_t)ts);
		fifo_push(d, key, (int64_t)queued);
	}
	d->newest = newest;
	d->duplicates = f[5];
	d->expirations = f[6];
	d->evictions = f[7];
	if (!af_snap_done(v)) {
		snprintf(errstr, errstr_size, "damaged: bytes follow the duplicate filter's state");
		return AF_E_FORMAT;
	}
	return AF_OK;
short_view:
	snprintf(errstr, errstr_size, "damaged: the duplicate filter's state ends short");
	return AF_E_FORMAT;
}
