/* test_pool.c - af_pool: argument checks, every object handed out once and
 * then NULL, alignment and no overlap, objects given back by the owner and
 * on lanes (one at a time and in batches), a lane that takes back the whole
 * pool, and objects recycled many times between an owner thread and one or
 * two consumer threads, each giving back on its own lane (the threaded
 * scenario is in ring_scenarios.c, shared with tsan_ring_main.c). No test
 * asserts timing.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "pipeline/runtime/pool.h"
#include "ring_scenarios.h"

static struct af_pool *pool_new(size_t count, size_t size, size_t lanes)
{
	struct af_pool *p = NULL;

	cr_assert_eq(af_pool_new(count, size, lanes, &p), AF_OK);
	cr_assert_not_null(p);
	return p;
}

/* Get all count objects of p into got, each non-NULL, and check that the
 * pool has none left to give. */
static void take_all(struct af_pool *p, void **got, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		got[i] = af_pool_get(p);
		cr_assert_not_null(got[i], "object %zu", i);
	}
	cr_assert_null(af_pool_get(p));
}

/* Take every object of p out, give them all back on lane 0 (one at a time
 * when batch is 0, else in batches of up to batch) and check that none is
 * home before the drain and all of them are after it. */
static void all_out_and_back_on_lane_0(struct af_pool *p, size_t count, size_t batch)
{
	void *got[16];

	cr_assert(count <= sizeof got / sizeof got[0]);
	take_all(p, got, count);
	size_t step = batch == 0 ? 1 : batch;
	for (size_t i = 0; i < count; i += step) {
		if (batch == 0)
			af_pool_put_spsc(p, 0, got[i]);
		else
			af_pool_put_batch_spsc(p, 0, got + i, count - i < step ? count - i : step);
	}
	cr_assert_eq(af_pool_available(p), 0);
	cr_assert_eq(af_pool_drain(p), count);
	cr_assert_eq(af_pool_available(p), count);
}

Test(pool, rejects_a_zero_count_a_zero_size_or_sizes_that_overflow)
{
	struct af_pool *sentinel = (struct af_pool *)&sentinel;
	struct af_pool *p = sentinel;

	cr_expect_eq(af_pool_new(0, 64, 1, &p), AF_E_INVALID);
	cr_expect_eq(af_pool_new(8, 0, 1, &p), AF_E_INVALID);
	cr_expect_eq(af_pool_new(AF_POOL_COUNT_MAX + 1, 64, 1, &p), AF_E_INVALID);
	cr_expect_eq(af_pool_new(AF_POOL_COUNT_MAX, SIZE_MAX / 2, 1, &p), AF_E_INVALID);
	cr_expect_eq(af_pool_new(8, SIZE_MAX, 1, &p), AF_E_INVALID);
	cr_expect_eq(p, sentinel);
}

Test(pool, hands_out_every_object_once_then_null)
{
	enum { COUNT = 16 };
	struct af_pool *p = pool_new(COUNT, 100, 1);
	void *got[COUNT];

	cr_expect_eq(af_pool_count(p), COUNT);
	cr_expect_eq(af_pool_available(p), COUNT);
	take_all(p, got, COUNT);
	for (size_t i = 0; i < COUNT; i++)
		for (size_t j = 0; j < i; j++)
			cr_assert_neq(got[i], got[j], "objects %zu and %zu", j, i);
	cr_expect_eq(af_pool_available(p), 0);
	af_pool_free(p);
}

/* Each object is filled whole with its own byte: under ASan a write past
 * the arena fails, and an overlap shows as a neighbour's byte. */
Test(pool, gives_each_object_its_own_cache_aligned_space_of_the_size_asked)
{
	enum { COUNT = 10, SIZE = 100 };
	struct af_pool *p = pool_new(COUNT, SIZE, 0);
	unsigned char *got[COUNT];

	cr_expect_eq(af_pool_stride(p), 128);
	for (size_t i = 0; i < COUNT; i++) {
		got[i] = af_pool_get(p);
		cr_assert_not_null(got[i]);
		cr_expect_eq((uintptr_t)got[i] % 64, 0, "object %zu at %p", i, (void *)got[i]);
		memset(got[i], (int)i + 1, SIZE);
	}
	for (size_t i = 0; i < COUNT; i++)
		for (size_t b = 0; b < SIZE; b++)
			cr_assert_eq(got[i][b], i + 1, "object %zu byte %zu", i, b);
	af_pool_free(p);
}

Test(pool, hands_out_again_an_object_the_owner_put_back)
{
	struct af_pool *p = pool_new(2, 32, 0);
	void *a = af_pool_get(p);
	void *b = af_pool_get(p);

	cr_assert_null(af_pool_get(p));
	af_pool_put(p, a);
	cr_expect_eq(af_pool_available(p), 1);
	cr_expect_eq(af_pool_get(p), a);
	af_pool_put(p, b);
	af_pool_put(p, a);
	cr_expect_eq(af_pool_available(p), 2);
	af_pool_free(p);
}

/* The test thread is owner and lane thread at once: each side of each
 * ring still has one thread. */
Test(pool, takes_back_what_a_lane_returned_when_it_runs_out)
{
	struct af_pool *p = pool_new(3, 32, 2);
	void *a = af_pool_get(p), *b = af_pool_get(p), *c = af_pool_get(p);

	cr_assert_null(af_pool_get(p));
	af_pool_put_spsc(p, 1, b);
	cr_expect_eq(af_pool_available(p), 0);
	cr_expect_eq(af_pool_get(p), b);
	cr_expect_null(af_pool_get(p));
	af_pool_put_spsc(p, 0, a);
	af_pool_put_spsc(p, 1, c);
	af_pool_put_spsc(p, 1, b);
	cr_expect_eq(af_pool_drain(p), 3);
	cr_expect_eq(af_pool_available(p), 3);
	cr_expect_eq(af_pool_drain(p), 0);
	af_pool_free(p);
}

Test(pool, does_not_take_back_from_lanes_while_it_still_has_free_objects)
{
	struct af_pool *p = pool_new(2, 32, 1);
	void *a = af_pool_get(p);

	af_pool_put_spsc(p, 0, a);
	cr_expect_neq(af_pool_get(p), a);
	cr_expect_eq(af_pool_get(p), a);
	af_pool_free(p);
}

/* Batches of 5 and 3. */
Test(pool, takes_back_a_batch_given_on_a_lane)
{
	struct af_pool *p = pool_new(8, 48, 1);

	all_out_and_back_on_lane_0(p, 8, 5);
	af_pool_free(p);
}

/* A count that is not a power of two, all out, all back on one lane
 * without draining in between: the lane's ring has room for all of them. */
Test(pool, lets_every_object_come_back_on_one_lane_without_a_drain_in_between)
{
	struct af_pool *p = pool_new(5, 8, 1);

	for (int round = 0; round < 3; round++)
		all_out_and_back_on_lane_0(p, 5, 0);
	af_pool_free(p);
}

/* The scenario (ring_scenarios.c): this thread owns the pool and sends
 * objects filled with sequence numbers to the consumers in turn; they check
 * and overwrite them and give them back on their own lanes. A pool far
 * smaller than the number of items sends every object round many times. */
static void recycle_check(size_t consumers, size_t pool_count, uint64_t items)
{
	struct af_ringscn_recycle r;

	cr_assert_eq(af_ringscn_recycle(consumers, pool_count, items, &r), AF_OK);
	cr_expect_eq(r.wrong, 0);
	cr_expect_eq(r.received, items);
	cr_expect_eq(r.home, pool_count);
}

Test(pool, recycles_objects_between_an_owner_and_a_consumer_thread, .timeout = 300)
{
	recycle_check(1, 32, 1000000);
}

Test(pool, recycles_objects_through_two_lanes_from_two_consumer_threads, .timeout = 300)
{
	recycle_check(2, 24, 1000000);
}
