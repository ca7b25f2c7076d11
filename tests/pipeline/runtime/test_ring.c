/* test_ring.c - af_ring: capacity checks, full and empty, order, wrap-around
 * over many laps, partial batches, count, close and drain, and ten million
 * items in order between a producer and a consumer thread, one at a time
 * and in bursts. No test asserts timing; the threaded ones wait by
 * yielding, so a slow machine is only slower.
 *
 * The threaded runs are in ring_scenarios.c, which tsan_ring_main.c also
 * runs under ThreadSanitizer (Criterion cannot run under it).
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>

#include "pipeline/runtime/ring.h"
#include "ring_scenarios.h"

/* Items are sequence numbers from 1, so NULL never stands for one. */
#define ITEM(i) ((void *)(uintptr_t)(i))
#define SEQ(p)  ((uint64_t)(uintptr_t)(p))

static struct af_ring *ring_new(size_t capacity)
{
	struct af_ring *r = NULL;

	cr_assert_eq(af_ring_new(capacity, &r), AF_OK);
	cr_assert_not_null(r);
	return r;
}

Test(ring, rejects_a_capacity_that_is_zero_or_not_a_power_of_two_or_too_large)
{
	size_t bad[] = {0, 3, 6, 1000, AF_RING_CAP_MAX + 1, AF_RING_CAP_MAX * 2};
	struct af_ring *sentinel = (struct af_ring *)&bad;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct af_ring *r = sentinel;

		cr_expect_eq(af_ring_new(bad[i], &r), AF_E_INVALID, "capacity %zu", bad[i]);
		cr_expect_eq(r, sentinel, "capacity %zu wrote *out", bad[i]);
	}
}

Test(ring, reports_the_capacity_it_was_made_with)
{
	struct af_ring *r = ring_new(64);

	cr_expect_eq(af_ring_capacity(r), 64);
	af_ring_free(r);
}

Test(ring, holds_exactly_its_capacity_then_refuses_a_push)
{
	struct af_ring *r = ring_new(8);

	for (uint64_t i = 1; i <= 8; i++)
		cr_assert(af_ring_push_spsc(r, ITEM(i)), "push %lu", (unsigned long)i);
	cr_expect_not(af_ring_push_spsc(r, ITEM(9)));
	cr_expect_eq(af_ring_count(r), 8);
	af_ring_free(r);
}

Test(ring, refuses_a_pop_when_empty_and_leaves_the_output_alone)
{
	struct af_ring *r = ring_new(4);
	void *item = ITEM(77);

	cr_expect_not(af_ring_pop_spsc(r, &item));
	cr_expect_eq(item, ITEM(77));
	cr_expect_eq(af_ring_count(r), 0);
	af_ring_free(r);
}

Test(ring, frees_a_slot_for_the_producer_when_the_consumer_pops_from_a_full_ring)
{
	struct af_ring *r = ring_new(4);
	void *item;

	for (uint64_t i = 1; i <= 4; i++)
		cr_assert(af_ring_push_spsc(r, ITEM(i)));
	cr_assert_not(af_ring_push_spsc(r, ITEM(5)));
	cr_assert(af_ring_pop_spsc(r, &item));
	cr_expect_eq(item, ITEM(1));
	cr_expect(af_ring_push_spsc(r, ITEM(5)));
	cr_expect_not(af_ring_push_spsc(r, ITEM(6)));
	af_ring_free(r);
}

Test(ring, pops_items_in_the_order_they_were_pushed)
{
	struct af_ring *r = ring_new(16);
	void *item;

	for (uint64_t i = 1; i <= 10; i++)
		cr_assert(af_ring_push_spsc(r, ITEM(i)));
	for (uint64_t i = 1; i <= 10; i++) {
		cr_assert(af_ring_pop_spsc(r, &item));
		cr_expect_eq(SEQ(item), i);
	}
	cr_expect_not(af_ring_pop_spsc(r, &item));
	af_ring_free(r);
}

Test(ring, carries_null_like_any_other_pointer)
{
	struct af_ring *r = ring_new(2);
	void *item = ITEM(1);

	cr_assert(af_ring_push_spsc(r, NULL));
	cr_assert(af_ring_pop_spsc(r, &item));
	cr_expect_null(item);
	af_ring_free(r);
}

Test(ring, with_a_capacity_of_one_is_full_after_one_push_and_empty_after_one_pop)
{
	struct af_ring *r = ring_new(1);
	void *item;

	for (uint64_t i = 1; i <= 100; i++) {
		cr_assert(af_ring_push_spsc(r, ITEM(i)));
		cr_assert_not(af_ring_push_spsc(r, ITEM(0)));
		cr_assert(af_ring_pop_spsc(r, &item));
		cr_assert_eq(SEQ(item), i);
		cr_assert_not(af_ring_pop_spsc(r, &item));
	}
	af_ring_free(r);
}

/* Bursts of every size from 1 to the capacity, pushed and popped one at a
 * time and in batches, so the indices pass the end of the slot array at
 * every offset, many times. */
Test(ring, keeps_order_over_many_laps_of_wrap_around)
{
	enum { CAP = 8, LAPS = 20000 };
	struct af_ring *r = ring_new(CAP);
	void *buf[CAP];
	uint64_t pushed = 0, popped = 0;

	for (unsigned lap = 0; lap < LAPS; lap++) {
		size_t k = 1 + lap % CAP;
		bool batch = (lap / CAP) % 2;

		for (size_t i = 0; i < k; i++)
			buf[i] = ITEM(++pushed);
		if (batch) {
			cr_assert_eq(af_ring_push_batch_spsc(r, buf, k), k);
		} else {
			for (size_t i = 0; i < k; i++)
				cr_assert(af_ring_push_spsc(r, buf[i]));
		}
		cr_assert_eq(af_ring_count(r), k);
		if (!batch) {
			cr_assert_eq(af_ring_pop_batch_spsc(r, buf, CAP), k);
		} else {
			for (size_t i = 0; i < k; i++)
				cr_assert(af_ring_pop_spsc(r, &buf[i]));
		}
		for (size_t i = 0; i < k; i++)
			cr_assert_eq(SEQ(buf[i]), ++popped, "lap %u item %zu", lap, i);
		cr_assert_eq(af_ring_count(r), 0);
	}
	cr_expect_eq(popped, pushed);
	af_ring_free(r);
}

Test(ring, pushes_only_the_part_of_a_batch_that_fits)
{
	struct af_ring *r = ring_new(8);
	void *in[6] = {ITEM(6), ITEM(7), ITEM(8), ITEM(9), ITEM(10), ITEM(11)};
	void *out[8];

	for (uint64_t i = 1; i <= 5; i++)
		cr_assert(af_ring_push_spsc(r, ITEM(i)));
	cr_expect_eq(af_ring_push_batch_spsc(r, in, 6), 3);
	cr_expect_eq(af_ring_push_batch_spsc(r, in + 3, 3), 0);
	cr_assert_eq(af_ring_pop_batch_spsc(r, out, 8), 8);
	for (uint64_t i = 0; i < 8; i++)
		cr_expect_eq(SEQ(out[i]), i + 1);
	af_ring_free(r);
}

Test(ring, pops_only_the_items_that_are_waiting)
{
	struct af_ring *r = ring_new(8);
	void *in[3] = {ITEM(1), ITEM(2), ITEM(3)};
	void *out[8] = {NULL};

	cr_assert_eq(af_ring_push_batch_spsc(r, in, 3), 3);
	cr_expect_eq(af_ring_pop_batch_spsc(r, out, 8), 3);
	cr_expect_eq(SEQ(out[0]), 1);
	cr_expect_eq(SEQ(out[2]), 3);
	cr_expect_null(out[3]);
	cr_expect_eq(af_ring_pop_batch_spsc(r, out, 8), 0);
	af_ring_free(r);
}

Test(ring, pops_a_batch_smaller_than_what_is_waiting_and_leaves_the_rest)
{
	struct af_ring *r = ring_new(8);
	void *in[5] = {ITEM(1), ITEM(2), ITEM(3), ITEM(4), ITEM(5)};
	void *out[2];
	void *item;

	cr_assert_eq(af_ring_push_batch_spsc(r, in, 5), 5);
	cr_assert_eq(af_ring_pop_batch_spsc(r, out, 2), 2);
	cr_expect_eq(SEQ(out[1]), 2);
	cr_expect_eq(af_ring_count(r), 3);
	cr_assert(af_ring_pop_spsc(r, &item));
	cr_expect_eq(SEQ(item), 3);
	af_ring_free(r);
}

/* Each side keeps a copy of the other's index; a batch must not stop at
 * what that copy showed when more is known to be there now. */
Test(ring, pops_in_one_batch_everything_pushed_since_its_last_look)
{
	struct af_ring *r = ring_new(8);
	void *out[8];

	cr_assert(af_ring_push_spsc(r, ITEM(1)));
	cr_assert(af_ring_push_spsc(r, ITEM(2)));
	cr_assert_eq(af_ring_pop_batch_spsc(r, out, 1), 1);
	for (uint64_t i = 3; i <= 6; i++)
		cr_assert(af_ring_push_spsc(r, ITEM(i)));
	cr_expect_eq(af_ring_pop_batch_spsc(r, out, 8), 5);
	cr_expect_eq(SEQ(out[0]), 2);
	cr_expect_eq(SEQ(out[4]), 6);
	af_ring_free(r);
}

Test(ring, pushes_a_whole_batch_into_room_freed_since_its_last_look)
{
	struct af_ring *r = ring_new(4);
	void *in[4] = {ITEM(1), ITEM(2), ITEM(3), ITEM(4)};
	void *out[4];

	cr_assert_eq(af_ring_push_batch_spsc(r, in, 2), 2);
	cr_assert_eq(af_ring_pop_batch_spsc(r, out, 4), 2);
	cr_expect_eq(af_ring_push_batch_spsc(r, in, 4), 4);
	cr_expect_eq(af_ring_count(r), 4);
	af_ring_free(r);
}

Test(ring, treats_a_batch_of_zero_as_nothing_to_do)
{
	struct af_ring *r = ring_new(4);
	void *buf[1] = {ITEM(1)};

	cr_expect_eq(af_ring_push_batch_spsc(r, buf, 0), 0);
	cr_expect_eq(af_ring_count(r), 0);
	cr_assert(af_ring_push_spsc(r, ITEM(2)));
	cr_expect_eq(af_ring_pop_batch_spsc(r, buf, 0), 0);
	cr_expect_eq(buf[0], ITEM(1));
	cr_expect_eq(af_ring_count(r), 1);
	af_ring_free(r);
}

Test(ring, is_never_drained_while_open_even_when_empty)
{
	struct af_ring *r = ring_new(4);

	cr_expect_not(af_ring_drained_spsc(r));
	af_ring_free(r);
}

Test(ring, is_drained_once_closed_and_every_item_is_popped)
{
	struct af_ring *r = ring_new(4);
	void *item;

	cr_assert(af_ring_push_spsc(r, ITEM(1)));
	cr_assert(af_ring_push_spsc(r, ITEM(2)));
	af_ring_close_spsc(r);
	cr_expect_not(af_ring_drained_spsc(r));
	cr_assert(af_ring_pop_spsc(r, &item));
	cr_expect_eq(SEQ(item), 1);
	cr_expect_not(af_ring_drained_spsc(r));
	cr_assert(af_ring_pop_spsc(r, &item));
	cr_expect_eq(SEQ(item), 2);
	cr_expect(af_ring_drained_spsc(r));
	cr_expect_not(af_ring_pop_spsc(r, &item));
	af_ring_free(r);
}

/* A consumer that has already seen the ring empty must not call it drained
 * when items were pushed just before the close. */
Test(ring, is_not_drained_when_items_arrived_after_the_consumer_last_saw_it_empty)
{
	struct af_ring *r = ring_new(4);
	void *item;

	cr_assert_not(af_ring_pop_spsc(r, &item));
	cr_assert(af_ring_push_spsc(r, ITEM(1)));
	af_ring_close_spsc(r);
	cr_expect_not(af_ring_drained_spsc(r));
	cr_assert(af_ring_pop_spsc(r, &item));
	cr_expect(af_ring_drained_spsc(r));
	af_ring_free(r);
}

Test(ring, counts_what_it_holds)
{
	struct af_ring *r = ring_new(8);
	void *item;

	cr_expect_eq(af_ring_count(r), 0);
	for (uint64_t i = 1; i <= 5; i++)
		cr_assert(af_ring_push_spsc(r, ITEM(i)));
	cr_expect_eq(af_ring_count(r), 5);
	cr_assert(af_ring_pop_spsc(r, &item));
	cr_expect_eq(af_ring_count(r), 4);
	af_ring_free(r);
}

/* The scenario (ring_scenarios.c) pushes 1..n from this thread, one at a
 * time or in bursts, to a consumer thread that pops until drained. */
static void fifo_check(size_t capacity, uint64_t n, size_t burst)
{
	struct af_ringscn_fifo f;

	cr_assert_eq(af_ringscn_fifo(capacity, n, burst, &f), AF_OK);
	cr_expect_eq(f.first_wrong, 0, "expected %llu, got %llu", (unsigned long long)f.first_wrong,
	             (unsigned long long)f.got_instead);
	cr_expect_eq(f.received, n);
	cr_expect_eq(f.left, 0);
}

Test(ring, delivers_ten_million_items_in_order_between_two_threads_one_at_a_time, .timeout = 300)
{
	fifo_check(1024, 10000000, 0);
}

Test(ring, delivers_ten_million_items_in_order_between_two_threads_in_bursts, .timeout = 300)
{
	fifo_check(1024, 10000000, 64);
}

/* A ring smaller than a burst: every push is partial, and the indices lap
 * the slots every few items. */
Test(ring, delivers_in_order_between_two_threads_through_a_ring_smaller_than_a_burst,
     .timeout = 300)
{
	fifo_check(4, 1000000, 13);
}
