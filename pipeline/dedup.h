/* dedup.h - drop records delivered twice: the same record id again within a
 * retention window of event time.
 *
 * The Management Activity API delivers at least once: a content blob may be
 * listed again and its records come back with the same Id and CreationTime.
 * The caller hashes the record id (xxh3) and asks af_dedup_check; a key seen
 * before whose stored event time is within the retention of the new one is a
 * duplicate.
 *
 * Thread: one owner (the shard or source thread that holds the handle); not
 * shared, no locks.
 * Memory: bounded by max_entries (40 to 60 bytes an id at the cap). The
 * table starts small and doubles up to the size that holds max_entries; once
 * there, each new id first drops the ids older than (newest event time seen
 * - retention) from the front of the remembered order, and if there were
 * none, evicts the least recently remembered id. An id forgotten within its
 * retention can let one duplicate through; the stats count those evictions.
 * Determinism: the answers depend only on the sequence of calls (and on
 * growth allocations succeeding; see af_dedup_check), and a filter loaded
 * from a snapshot (af_dedup_load) goes on as the saved one would have.
 */
#ifndef AF_DEDUP_H
#define AF_DEDUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"

struct af_dedup;

struct af_dedup_stats {
	size_t entries;       /* ids remembered now */
	size_t capacity;      /* ids the table can hold at its present size */
	uint64_t duplicates;  /* af_dedup_check calls that returned true */
	uint64_t expirations; /* ids forgotten because older than the retention */
	uint64_t evictions;   /* ids forgotten within the retention, for room */
};

/* A duplicate filter remembering ids for retention_ns of event time and at
 * most max_entries of them. Returns NULL when out of memory.
 * @pre retention_ns >= 0; max_entries >= 1.
 * Cost: allocates a small table (64 slots) now; grows later. */
struct af_dedup *af_dedup_new(int64_t retention_ns, size_t max_entries);

/* Frees d and everything it holds; NULL is ignored. */
void af_dedup_free(struct af_dedup *d);

/* Whether key, at event time ts_ns, is a duplicate: true if key is
 * remembered with a time t where |ts_ns - t| <= retention (the stored time
 * is left as it was). Otherwise remembers (key, ts_ns), replacing an older
 * sighting of key, and returns false. Any key works, 0 included.
 * Cost: O(1) amortised, no sweeps. Growth (amortised) allocates; if that
 * allocation fails, the table keeps its present size as its cap, so memory
 * pressure can change which ids are remembered but never fails the call. */
bool af_dedup_check(struct af_dedup *d, uint64_t key, int64_t ts_ns);

/* Start loading the slot af_dedup_check(d, key, ...) will look at first,
 * so the check of an event known in advance does not wait for memory. */
void af_dedup_prefetch(const struct af_dedup *d, uint64_t key);

/* Counters since af_dedup_new, into *st. */
void af_dedup_stats(const struct af_dedup *d, struct af_dedup_stats *st);

/* ---- snapshots (pipeline/snapshot.h) ---- */

struct af_snap_writer;
struct af_snap_view;

/* Write d's state into the open section of w: its parameters, table size,
 * newest time and counters, then every remembered id with its time, in
 * the order they expire or are evicted (not in slot order, so equal
 * states give equal bytes). Only integers are written; no layout
 * fingerprint is needed. d is borrowed and left as it was.
 * Thread: d's owner, between two checks.
 * Cost: O(ids), a probe each; writes 72 bytes and 24 an id. */
void af_dedup_save(const struct af_dedup *d, struct af_snap_writer *w);

/* Load what af_dedup_save wrote, v (borrowed) read to its end, into d,
 * which af_dedup_new made with the same retention and has checked
 * nothing yet. Made with the same max_entries too, d then answers every
 * later af_dedup_check and reports every later stat exactly as the saved
 * filter would have. With another max_entries that holds the saved ids,
 * d keeps them all, in the same order, in a table of the saved size
 * within its own bounds (no longer exact: its cap differs).
 * Returns AF_OK; AF_E_CONFIG (errstr says which: input.dedup_retention
 * differs, or input.dedup_max_entries is too small for the saved ids);
 * AF_E_FORMAT (errstr says what) when v is short, has bytes left over,
 * or holds what no filter can (a table size that is not one, more ids
 * than it allows, an id twice, a time after the newest one); AF_E_NOMEM.
 * d is unusable after a failure: free it.
 * @pre nothing was checked on d since af_dedup_new.
 * Cost: O(ids); allocates the table at the saved size. */
af_err_t af_dedup_load(struct af_dedup *d, struct af_snap_view *v, char *errstr,
                       size_t errstr_size);

#endif
