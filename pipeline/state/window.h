/* window.h - a count over a sliding window of event time, kept as a ring of
 * time buckets (signin_fail_burst: failures in the last 10 minutes).
 *
 * Thread: the shard that owns the state it is embedded in; no locks.
 * In: event times (ns since the epoch, UTC) and counts. Out: the sum of the
 * buckets of the window that ends at a given time.
 *
 * DESIGN: the struct holds only the counts and the number of the newest
 * bucket; the bucket width and the number of buckets used (n <= 16) belong to
 * the rule and are passed to every call, so a window costs 40 bytes of
 * per-account state. Bucket b (= ts / width) lives in slot b % n. The ring
 * covers buckets newest - n + 1 .. newest: an event in an older bucket is
 * too late (the caller counts it as late), an event in a newer bucket
 * advances the ring, zeroing the slots it passes over. Events out of order
 * but inside the ring land in their own bucket, so moderately late events
 * are counted as if they had come in order. Time is event time only, so
 * replay and stream agree.
 *
 * Times before 1970 are not supported (@pre ts >= 0 everywhere): the
 * timestamp parser never produces them, and C division truncates toward
 * zero, which would put -1 ns and +1 ns in the same bucket.
 */
#ifndef AF_WINDOW_H
#define AF_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

/* Slots in every window; a rule uses n <= AF_WINDOW_BUCKETS of them. */
#define AF_WINDOW_BUCKETS 16

struct af_window {
	int64_t newest; /* bucket number (ts / width) of the newest bucket; INT64_MIN when empty */
	uint16_t count[AF_WINDOW_BUCKETS]; /* slot b % n holds bucket b; saturates at UINT16_MAX */
};

enum af_window_result {
	AF_WINDOW_ADDED,    /* counted in its bucket */
	AF_WINDOW_TOO_LATE, /* older than the ring: not counted; the caller counts it as late */
};

/* An empty window in caller's storage. A zero-filled window is NOT empty
 * (it holds bucket 0): call this. */
void af_window_init(struct af_window *w);

/* Count k events at time ts, in bucket ts / width_ns. A bucket newer than
 * the newest advances the ring and zeroes the buckets passed over (a jump of
 * n buckets or more clears it); an older bucket still in the ring
 * (newest - n < bucket) is counted there; an older one is refused.
 * Counts saturate at UINT16_MAX.
 * @pre width_ns > 0; 1 <= n <= AF_WINDOW_BUCKETS and the same n on every
 *      call for w; ts >= 0.
 * Cost: O(1), at most n slots zeroed. */
enum af_window_result af_window_add(struct af_window *w, int64_t width_ns, unsigned n, int64_t ts,
                                    uint32_t k);

/* Sum of the buckets of the window ending at now_ts's bucket: buckets
 * now - n + 1 .. now, as far as the ring still holds them. A now older than
 * the newest bucket sums the ring's buckets up to now's (a look back); a now
 * past the ring sums to 0.
 * @pre as for af_window_add, with now_ts for ts.
 * Cost: O(n). */
uint32_t af_window_sum(const struct af_window *w, int64_t width_ns, unsigned n, int64_t now_ts);

/* The start time (bucket number * width_ns) of the oldest non-empty bucket
 * of the window ending at now_ts, into *start_ts; false, *start_ts untouched,
 * when that window is empty. Depends only on the events counted, never on
 * their arrival order within the ring, so rules use it as the deterministic
 * "window start" of an alert id.
 * @pre as for af_window_sum.
 * Cost: O(n). */
bool af_window_first_ts(const struct af_window *w, int64_t width_ns, unsigned n, int64_t now_ts,
                        int64_t *start_ts);

#endif
