/* tsan_ring_main.c - the ring's and the pool's threaded scenarios as a plain
 * program, for ThreadSanitizer: Criterion cannot run under TSan (see the
 * test-tsan target in the Makefile), so this has its own main().
 *
 * Thread: main is the producer and the pool's owner; the scenarios in
 * ring_scenarios.c start one or two consumer threads.
 * In: nothing. Out: one line per scenario on stdout; exit 1 if a scenario
 * could not run or saw a wrong, missing or out-of-order item. TSan itself
 * fails the run on a race (exit 66 with TSAN_OPTIONS=exitcode=66, as the
 * Makefile runs it).
 *
 * DESIGN: the scenarios are those of test_ring.c and test_pool.c that TSan
 * makes meaningful, the same code (ring_scenarios.c) with the FIFO runs as
 * long as the Criterion ones (TSan slows them about fivefold, to a few
 * seconds) and a shorter pool round trip through both kinds of lane.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "pipeline/err.h"
#include "ring_scenarios.h"

static bool fifo(size_t capacity, uint64_t n, size_t burst)
{
	struct af_ringscn_fifo f = {0};
	af_err_t err = af_ringscn_fifo(capacity, n, burst, &f);
	bool ok = err == AF_OK && f.first_wrong == 0 && f.received == n && f.left == 0;

	printf("%s: fifo, capacity %zu, %s %zu: %s, received %llu of %llu, "
	       "expected %llu got %llu, left %zu\n",
	       ok ? "ok" : "FAIL", capacity, burst ? "bursts up to" : "single items", burst,
	       af_err_str(err), (unsigned long long)f.received, (unsigned long long)n,
	       (unsigned long long)f.first_wrong, (unsigned long long)f.got_instead, f.left);
	return ok;
}

static bool recycle(size_t consumers, size_t pool_count, uint64_t items)
{
	struct af_ringscn_recycle r = {0};
	af_err_t err = af_ringscn_recycle(consumers, pool_count, items, &r);
	bool ok = err == AF_OK && r.wrong == 0 && r.received == items && r.home == pool_count;

	printf("%s: pool round trip, %zu objects, %zu lanes: %s, received %llu of %llu, "
	       "wrong %llu, home %zu\n",
	       ok ? "ok" : "FAIL", pool_count, consumers, af_err_str(err),
	       (unsigned long long)r.received, (unsigned long long)items,
	       (unsigned long long)r.wrong, r.home);
	return ok;
}

int main(void)
{
	bool ok = true;

	ok &= fifo(1024, 10000000, 0);
	ok &= fifo(1024, 10000000, 64);
	ok &= fifo(4, 200000, 13);
	ok &= recycle(2, 24, 500000);
	return ok ? 0 : 1;
}
