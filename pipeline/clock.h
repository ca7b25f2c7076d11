/* clock.h - the monotonic clock, in the units its users want: elapsed
 * times, deadlines, back-off and pacing (never the event time of a
 * record, which comes from the record).
 *
 * Thread: any; no state.
 */
#ifndef AF_CLOCK_H
#define AF_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds on the monotonic clock, from an arbitrary origin. */
static inline int64_t af_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The same in seconds. */
static inline double af_clock_s(void)
{
	return (double)af_clock_ns() / 1e9;
}

/* The same in whole milliseconds. */
static inline uint64_t af_clock_ms(void)
{
	return (uint64_t)af_clock_ns() / 1000000;
}

#endif
