/* bench_util.h - small helpers every benchmark needs: option values, a
 * monotonic clock, CPU pinning, the median of the timed passes, a seeded
 * PRNG and Zipf draws.
 *
 * Thread: any; nothing here keeps state between calls (the PRNG's state
 * is the caller's). Header-only: bench/CMakeLists.txt builds every
 * bench_*.c as its own executable, so a bench_util.c would become one.
 * In/out: see each function.
 *
 * DESIGN: the PRNG is splitmix64 and the Zipf draw a binary search over
 * cumulative weights, so the same seed gives the same mix (and the same
 * corpus bytes) on every machine. The caller builds and owns the weights:
 * some benchmarks normalize them, others scale the draw by their sum, and
 * the two give different (both valid) mixes for one seed.
 */
#ifndef AF_BENCH_UTIL_H
#define AF_BENCH_UTIL_H

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/clock.h"

/* qsort's order for doubles (af_bench_median's). */
static inline int af_bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Most timed passes af_bench_median takes. */
#define AF_BENCH_MEDIAN_MAX 1000

/* Parse s as a decimal unsigned number in [min, max] into *out.
 * @param s  borrowed; NULL (a missing option value) is rejected
 * @return true on success; false (and *out untouched) on anything else,
 *         a leading '-' included. */
static inline bool af_bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;

	errno = 0;
	/* strtoull would take "-1" as a huge number */
	if (!s || *s == '-')
		return false;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Parse s as a number in [min, max] into *out; NaN is rejected.
 * @param s  borrowed; NULL is rejected
 * @return true on success; false (and *out untouched) otherwise. */
static inline bool af_bench_parse_double(const char *s, double min, double max, double *out)
{
	char *end;

	errno = 0;
	if (!s)
		return false;
	double v = strtod(s, &end);
	/* written so that NaN fails the range test */
	if (errno || end == s || *end || !(v >= min && v <= max))
		return false;
	*out = v;
	return true;
}


/* Pin the calling thread to the CPU it is running on.
 * @return that CPU's number, or -1 when not pinned (the kernel refused or
 *         cannot say). */
static inline int af_bench_pin_cpu(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;

	if (cpu < 0)
		return -1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0 ? cpu : -1;
}

/* The median of v[0..n-1] (the mean of the two middle values when n is
 * even); v is not changed.
 * @param v  borrowed
 * @pre 1 <= n <= AF_BENCH_MEDIAN_MAX
 * Cost: sorts a copy on the stack, O(n log n). */
static inline double af_bench_median(const double *v, unsigned n)
{
	double s[AF_BENCH_MEDIAN_MAX];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), af_bench_cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* The next splitmix64 output; advances *state. */
static inline uint64_t af_bench_rnd(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* A uniform double in [0, 1) from the top 53 bits of af_bench_rnd. */
static inline double af_bench_unit(uint64_t *state)
{
	return (double)(af_bench_rnd(state) >> 11) * 0x1.0p-53;
}

/* Fill cdf[0..n-1] with the cumulative Zipf weights (i + 1)^-s of ranks
 * 0..n-1, unnormalized.
 * @param cdf  borrowed, n entries
 * @return the sum of all weights (cdf[n - 1]). */
static inline double af_bench_zipf_fill(double *cdf, size_t n, double s)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++)
		cdf[i] = sum += pow((double)(i + 1), -s);
	return sum;
}

/* The rank drawn by u: the first i with cdf[i] >= u, or n - 1 when none.
 * @param cdf  borrowed, n non-decreasing entries
 * @pre n >= 1
 * Cost: O(log n). */
static inline size_t af_bench_zipf_rank(const double *cdf, size_t n, double u)
{
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Resident bytes of this process, from /proc/self/statm; 0 if unreadable. */
static inline size_t af_bench_rss_bytes(void)
{
	unsigned long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%lu %lu", &size, &resident);
	fclose(f);
	return n == 2 ? resident * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

#endif
