/* table.h - the bounded state table a detection shard keeps its per-account
 * (or per-address) state in: fixed-size values keyed by a 64-bit hash and
 * the key's bytes, at most `cap` of them, the one idle the longest making
 * room for a newcomer.
 *
 * Thread: the shard that owns it; no locks, no atomics. Everything is
 * allocated by af_table_new; no other call allocates, only af_table_free
 * frees.
 * In: (hash, key bytes) pairs with the event time they were seen at.
 * Out: pointers to values in the table's slab (views, valid until the entry
 * leaves the table), counters.
 *
 * DESIGN: hot and cold apart. The probe array holds 8-byte entries (a 32-bit
 * tag folded from the hash, and a slot number), at most half full, so a
 * look-up usually reads one cache line of it before it touches the entry
 * itself. Key records (full hash, length, then the key's bytes) are one
 * slab, values another, the eviction order (last-seen time and list links,
 * 16 bytes a slot) a third, all four arrays made at creation: a find reads a
 * probe entry, a key record and the value. The cap bounds memory whatever
 * arrives: see af_table_stats for bytes per entry. Linear probing;
 * deletion by backward shift (entries after the hole move back when that
 * keeps them reachable), so there are no tombstones and probe runs never
 * lengthen with churn.
 *
 * Which entry goes when the table is full: an intrusive doubly-linked list
 * over the slots, oldest first. A new entry goes to the tail; a touch at a
 * time newer than the entry's own last-seen time records that time and
 * moves the entry to the tail; a touch at the same or an older time changes
 * nothing. Eviction takes the head.
 * Within a shard, events arrive in (nearly) event-time order, so the list
 * is in last-seen order and the head is the entry idle the longest; a late
 * touch (older than the newest time the table has seen, yet newer than the
 * entry's) still goes to the tail, so the order is that of each entry's
 * last advance. That is LRU with event time as the clock: O(1) per touch
 * and per eviction, against O(log n) for an exact min-heap, and off from
 * the exact order only by the lateness of late events. Nothing here reads
 * the wall clock or compares addresses, so which entries are evicted, and
 * when, depends only on the sequence of calls and their times. (A shard's
 * sequence depends on how accounts are spread over shards: results are the
 * same for every thread count only while no table evicts, or with caps
 * large enough that the accounts evicted are long idle in every case;
 * evictions are in the stats.)
 */
#ifndef AF_TABLE_H
#define AF_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"

#define AF_TABLE_CAP_MAX ((size_t)1 << 31) /* largest cap af_table_new accepts */
#define AF_TABLE_KEY_MAX 4096              /* largest key_max af_table_new accepts */

/* The table. Opaque. */
struct af_table;

/* Called with each entry that leaves the table by eviction, expiry or
 * af_table_remove, before its slot can be reused: the place to return what
 * the value holds (HyperLogLog blocks to their pool). value and key are
 * borrowed for the call; value may be changed. The callback must not call
 * into the table. Not called by af_table_free (walk the table with
 * af_table_each first if values hold resources that outlive it). */
typedef void (*af_table_evict_fn)(void *ctx, void *value, const void *key, size_t key_len);

/* Called by af_table_each for each entry: its value (may be changed), its
 * hash, its key (borrowed) and the last-seen time recorded for it. */
typedef void (*af_table_each_fn)(void *ctx, void *value, uint64_t hash, const void *key,
                                 size_t key_len, int64_t last_seen_ns);

struct af_table_stats {
	size_t entries;         /* entries held now */
	size_t cap;             /* most entries it will hold */
	uint64_t evictions;     /* entries evicted by upserts into a full table */
	uint64_t expirations;   /* entries evicted by af_table_expire */
	uint64_t removals;      /* entries removed by af_table_remove */
	uint64_t collisions;    /* key comparisons that met an equal 64-bit hash and a
	                           different key (kept apart; each look-up that passes such an
	                           entry counts once) */
	size_t value_stride;    /* bytes per value: value_size rounded up to max_align_t */
	size_t bytes;           /* bytes allocated for the table, whatever it holds */
	double bytes_per_entry; /* bytes / cap: value stride + key record (key_max + 12,
	                           rounded up to 8) + 16 of eviction order + probe array
	                           share (16 or less) */
};

/* A table for up to cap entries of value_size bytes each, keyed by a hash
 * and up to key_max bytes of key, into *out. Values are aligned for any
 * type (max_align_t). key_max 0 makes a table keyed by the hash alone.
 * Returns AF_E_INVALID (and leaves *out alone) when value_size is 0, cap is
 * 0 or above AF_TABLE_CAP_MAX, key_max is above AF_TABLE_KEY_MAX, or the
 * sizes overflow; AF_E_NOMEM when an allocation fails.
 * Thread: any, before the table is handed to its shard.
 * Cost: four allocations, about cap * (value stride + key_max + 48) bytes
 * (see af_table_stats);
 * the slabs are not written, so pages are committed as entries first use
 * them. */
af_err_t af_table_new(size_t value_size, size_t key_max, size_t cap, struct af_table **out);

/* Free the table and everything in it; NULL is ignored. The on_evict
 * callback is not called. Values obtained from it are dangling afterwards. */
void af_table_free(struct af_table *t);

/* Set (or with fn NULL, clear) the callback for entries leaving the table;
 * ctx is borrowed and passed to every call. */
void af_table_on_evict(struct af_table *t, af_table_evict_fn fn, void *ctx);

/* The value of the entry with this hash and key, or NULL. Does not touch
 * the entry (its last-seen time and place in the eviction order stay).
 * key is borrowed; it may be NULL when key_len is 0.
 * @pre key_len <= key_max; hash is the caller's hash of exactly these
 *      key bytes, well mixed (xxh3): the low bits of its two halves folded
 *      together pick where probing starts.
 * Cost: O(1) expected; a key comparison only where the full hash matches. */
void *af_table_find(struct af_table *t, uint64_t hash, const void *key, size_t key_len);

/* Start loading the probe slot a find or upsert of hash looks at first.
 * Cost: one prefetch; nothing waits for it. */
void af_table_prefetch(const struct af_table *t, uint64_t hash);

/* The value of the entry with this hash and key, touched at now_ns; created
 * when absent. *created (when created is not NULL) says which: a created
 * value is all zero bytes and the caller then initialises it. Creating into
 * a full table first evicts the head of the eviction order (see the file
 * comment), calling on_evict for it and counting an eviction. Never fails.
 * The pointer is valid until the entry leaves the table: the next upsert of
 * a new key may evict any entry, this one included once it is the oldest.
 * key is borrowed and copied when the entry is created.
 * @pre as for af_table_find; now_ns >= 0.
 * Cost: O(1) expected; creation clears value_size bytes. */
void *af_table_upsert(struct af_table *t, uint64_t hash, const void *key, size_t key_len,
                      int64_t now_ns, bool *created);

/* af_table_upsert, except that an entry found idle for more than idle_ns
 * (now_ns minus its last-seen time) is first removed, calling on_evict and
 * counting a removal, and then made anew: the outcome is the same whether
 * or not af_table_expire reached it first. One probe.
 * @pre as for af_table_upsert; idle_ns >= 0. */
void *af_table_upsert_idle(struct af_table *t, uint64_t hash, const void *key, size_t key_len,
                           int64_t now_ns, int64_t idle_ns, bool *created);

/* Evict, oldest first, entries whose last-seen time is more than idle_ns
 * before now_ns, at most budget of them, calling on_evict for each; they
 * count as expirations. Stops at the first entry of the eviction order
 * that is not idle, so after out-of-order touches an idle entry queued
 * behind a fresher one waits for a later call (the cap still holds).
 * Returns how many it evicted: fewer than budget means none of the oldest
 * are idle now. Call it once per batch with a small budget to spread the
 * work.
 * @pre idle_ns >= 0; now_ns >= 0.
 * Cost: O(budget). */
size_t af_table_expire(struct af_table *t, int64_t now_ns, int64_t idle_ns, size_t budget);

/* Remove the entry whose value this is, calling on_evict for it; counted as
 * a removal. The pointer is dangling afterwards.
 * @pre value was returned by af_table_find or af_table_upsert of t and its
 *      entry is still in the table.
 * Cost: O(1) expected. */
void af_table_remove(struct af_table *t, void *value);

/* The key of the entry whose value this is (borrowed, valid while the entry
 * is) and its length into *key_len.
 * @pre as for af_table_remove. */
const void *af_table_key(const struct af_table *t, const void *value, size_t *key_len);

/* The last-seen time recorded for the entry whose value this is.
 * @pre as for af_table_remove. */
int64_t af_table_last_seen(const struct af_table *t, const void *value);

/* Call fn for every entry, oldest first in the eviction order (for
 * snapshots: the order depends only on the calls made, and upserting the
 * entries back in it with their last-seen times rebuilds the same order).
 * fn may change values but must not upsert, remove or expire.
 * Cost: O(entries). */
void af_table_each(struct af_table *t, af_table_each_fn fn, void *ctx);

/* Counters and sizes, into *st. */
void af_table_stats(const struct af_table *t, struct af_table_stats *st);

#endif
