/* window.c - ring of event-time buckets; see window.h.
 *
 * Thread: the shard owning the state. No allocation.
 */
#include "pipeline/state/window.h"

#include <assert.h>
#include <string.h>

_Static_assert(sizeof(struct af_window) == 40, "a window is 40 bytes of per-account state");

#define EMPTY INT64_MIN

static inline void check_args(int64_t width_ns, unsigned n, int64_t ts)
{
	assert(width_ns > 0);
	assert(n >= 1 && n <= AF_WINDOW_BUCKETS);
	assert(ts >= 0);
	(void)width_ns;
	(void)n;
	(void)ts;
}

static inline unsigned slot_of(int64_t bucket, unsigned n)
{
	return (unsigned)(bucket % (int64_t)n);
}

void af_window_init(struct af_window *w)
{
	w->newest = EMPTY;
	memset(w->count, 0, sizeof(w->count));
}

enum af_window_result af_window_add(struct af_window *w, int64_t width_ns, unsigned n, int64_t ts,
                                    uint32_t k)
{
	check_args(width_ns, n, ts);
	int64_t b = ts / width_ns;

	if (w->newest == EMPTY || b - w->newest >= (int64_t)n) {
		memset(w->count, 0, sizeof(w->count));
		w->newest = b;
	} else if (b > w->newest) {
		for (int64_t i = w->newest + 1; i <= b; i++)
			w->count[slot_of(i, n)] = 0;
		w->newest = b;
	} else if (w->newest - b >= (int64_t)n) {
		return AF_WINDOW_TOO_LATE;
	}
	uint16_t *c = &w->count[slot_of(b, n)];
	*c = k >= (uint32_t)(UINT16_MAX - *c) ? UINT16_MAX : (uint16_t)(*c + k);
	return AF_WINDOW_ADDED;
}

/* The buckets both in the window ending at now and still in the ring, as
 * lo..hi; false when there are none. Buckets below 0 never held events
 * (ts >= 0), and leaving them out keeps slot_of's operand non-negative. */
static bool span(const struct af_window *w, int64_t width_ns, unsigned n, int64_t now_ts,
                 int64_t *lo, int64_t *hi)
{
	check_args(width_ns, n, now_ts);
	if (w->newest == EMPTY)
		return false;
	int64_t nb = now_ts / width_ns;
	int64_t l = nb > w->newest ? nb : w->newest;
	l = l - (int64_t)n + 1;
	if (l < 0)
		l = 0;
	*lo = l;
	*hi = nb < w->newest ? nb : w->newest;
	return *lo <= *hi;
}

uint32_t af_window_sum(const struct af_window *w, int64_t width_ns, unsigned n, int64_t now_ts)
{
	int64_t lo, hi;
	uint32_t sum = 0;

	if (!span(w, width_ns, n, now_ts, &lo, &hi))
		return 0;
	for (int64_t b = lo; b <= hi; b++)
		sum += w->count[slot_of(b, n)];
	return sum;
}

bool af_window_first_ts(const struct af_window *w, int64_t width_ns, unsigned n, int64_t now_ts,
                        int64_t *start_ts)
{
	int64_t lo, hi;

	if (!span(w, width_ns, n, now_ts, &lo, &hi))
		return false;
	for (int64_t b = lo; b <= hi; b++) {
		if (w->count[slot_of(b, n)] != 0) {
			*start_ts = b * width_ns;
			return true;
		}
	}
	return false;
}
