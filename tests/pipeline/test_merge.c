/* test_merge.c - af_merge: interleaving, reordering within the window, late
 * events and their keys, frontiers given with a push or by af_merge_advance,
 * tie order, a full buffer and its forced pops, draining, idle inputs
 * (af_merge_idle) and pops forced on request (af_merge_pop_forced), and
 * random inputs checked against a sort computed here, read in several
 * interleavings and split across shards.
 *
 * Snapshots (suite merge_snapshot): long random call sequences cut at
 * several points, where a merge loaded from the cut answers every later
 * call as the merge that never stopped and as one that saved and went on,
 * and all three save the same bytes at the end; late verdicts and keys kept
 * from their push; a saved state fitted into shorter runs; states for
 * another merge, cut short, with a byte more, or with values no merge
 * could hold, refused. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/merge.h"
#include "pipeline/snapshot.h"

static struct af_event event(uint32_t input, uint64_t seq, int64_t ts)
{
	struct af_event ev;

	memset(&ev, 0, sizeof ev);
	ev.ts_ns = ts;
	ev.pos.input = input;
	ev.pos.seq = seq;
	ev.pos.line = seq + 1;
	snprintf(ev.record_id, sizeof ev.record_id, "in%u-rec%llu", input, (unsigned long long)seq);
	return ev;
}

/* One input's events, in read order; the k-th has pos.seq = k. */
struct feed {
	const int64_t *ts;
	size_t n;
};

struct out {
	struct af_event *ev;
	bool *late;
	size_t n;
	size_t max_buffered_seen;
};

static size_t feeds_total(const struct feed *feeds, size_t nfeeds)
{
	size_t total = 0;

	for (size_t i = 0; i < nfeeds; i++)
		total += feeds[i].n;
	return total;
}

static struct out out_new(size_t total)
{
	struct out o = {0};

	o.ev = calloc(total + 1, sizeof *o.ev);
	o.late = calloc(total + 1, sizeof *o.late);
	return o;
}

static void out_free(struct out *o)
{
	free(o->ev);
	free(o->late);
}

static void pop_ready(struct af_merge *m, struct out *o, size_t total)
{
	if (af_merge_buffered(m) > o->max_buffered_seen)
		o->max_buffered_seen = af_merge_buffered(m);
	while (af_merge_pop(m, &o->ev[o->n], &o->late[o->n])) {
		cr_assert_lt(o->n, total);
		o->n++;
	}
}

/* Reads input in once: pushes its next event (next[in] is how many it
 * has pushed), or finishes it when it has none left; returns whether it
 * finished. */
static bool read_input(struct af_merge *m, const struct feed *feeds, size_t *next, uint32_t in)
{
	if (next[in] == feeds[in].n) {
		af_merge_finish(m, in);
		return true;
	}
	struct af_event ev = event(in, next[in], feeds[in].ts[next[in]]);

	cr_assert_not(af_merge_full(m));
	af_merge_push(m, &ev, INT64_MIN);
	next[in]++;
	return false;
}

/* Drives m as merge.h describes: read the input af_merge_next_input names,
 * push or finish it, pop what is ready. */
static struct out run(struct af_merge *m, const struct feed *feeds, size_t nfeeds)
{
	size_t total = feeds_total(feeds, nfeeds), *next = calloc(nfeeds, sizeof *next);
	struct out o = out_new(total);

	for (uint32_t in; (in = af_merge_next_input(m)) != UINT32_MAX;) {
		cr_assert_lt(in, nfeeds);
		read_input(m, feeds, next, in);
		pop_ready(m, &o, total);
	}
	cr_assert_eq(af_merge_buffered(m), 0, "everything leaves once all inputs finish");
	free(next);
	return o;
}

/* xorshift64*: a fixed-seed generator, so a failure can be replayed. */
static uint64_t next_random(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545F4914F6CDD1DULL;
}

/* Picks a random unfinished feed (done[i] == false); nfeeds if none. */
static size_t random_unfinished(uint64_t *rng, const bool *done, size_t nfeeds)
{
	size_t left = 0, pick;

	for (size_t i = 0; i < nfeeds; i++)
		left += !done[i];
	if (left == 0)
		return nfeeds;
	pick = (size_t)(next_random(rng) % left);
	for (size_t i = 0;; i++) {
		if (!done[i] && pick-- == 0)
			return i;
	}
}

/* Drives m ignoring af_merge_next_input: reads a burst of 1..32 records from
 * a random unfinished input at a time, so each rng gives another
 * interleaving. */
static struct out run_shuffled(struct af_merge *m, const struct feed *feeds, size_t nfeeds,
                               uint64_t rng)
{
	size_t total = feeds_total(feeds, nfeeds), *next = calloc(nfeeds, sizeof *next);
	bool *done = calloc(nfeeds, sizeof *done);
	struct out o = out_new(total);

	for (size_t in; (in = random_unfinished(&rng, done, nfeeds)) < nfeeds;) {
		size_t burst = 1 + (size_t)(next_random(&rng) % 32);

		for (; burst > 0 && !done[in]; burst--) {
			done[in] = read_input(m, feeds, next, (uint32_t)in);
			pop_ready(m, &o, total);
		}
	}
	cr_assert_eq(af_merge_buffered(m), 0);
	free(next);
	free(done);
	return o;
}

/* What merge.h promises, computed the plain way: every event's key and
 * verdict from its input's running maximum, then a sort. */
struct ref {
	int64_t key, ts;
	uint64_t seq;
	uint32_t input;
	bool late;
};

static int by_key_input_seq(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->input != y->input)
		return x->input < y->input ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static struct ref *reference(const struct feed *feeds, size_t nfeeds, int64_t window)
{
	struct ref *r = calloc(feeds_total(feeds, nfeeds) + 1, sizeof *r);
	size_t j = 0;

	for (size_t i = 0; i < nfeeds; i++) {
		int64_t max = INT64_MIN;

		for (size_t k = 0; k < feeds[i].n; k++, j++) {
			int64_t ts = feeds[i].ts[k];

			if (ts > max)
				max = ts;
			r[j] = (struct ref){.key = ts, .ts = ts, .seq = k, .input = (uint32_t)i};
			/* The test's times are small: max - window cannot overflow. */
			if (ts < max - window) {
				r[j].late = true;
				r[j].key = max - window;
			}
		}
	}
	qsort(r, j, sizeof *r, by_key_input_seq);
	return r;
}

static void assert_matches(const struct out *o, const struct ref *want, size_t n, const char *what)
{
	cr_assert_eq(o->n, n, "%s: %zu events out, want %zu", what, o->n, n);
	for (size_t i = 0; i < n; i++) {
		const struct af_event *ev = &o->ev[i];

		cr_assert(ev->pos.input == want[i].input && ev->pos.seq == want[i].seq,
		          "%s: event %zu is in%u/%llu, want in%u/%llu", what, i, ev->pos.input,
		          (unsigned long long)ev->pos.seq, want[i].input,
		          (unsigned long long)want[i].seq);
		cr_assert_eq(ev->ts_ns, want[i].ts, "%s: event %zu keeps its own time", what, i);
		cr_assert_eq(o->late[i], want[i].late, "%s: event %zu late", what, i);
	}
}

static void assert_output(const struct out *o, const int64_t *want_ts, size_t n)
{
	cr_assert_eq(o->n, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(o->ev[i].ts_ns, want_ts[i], "event %zu: %lld, want %lld", i,
		             (long long)o->ev[i].ts_ns, (long long)want_ts[i]);
}

static void push(struct af_merge *m, uint32_t input, uint64_t seq, int64_t ts)
{
	struct af_event ev = event(input, seq, ts);

	af_merge_push(m, &ev, INT64_MIN);
}

/* Pops one event and checks which it is. */
static void assert_pops(struct af_merge *m, uint32_t input, uint64_t seq, bool want_late)
{
	struct af_event got;
	bool late = !want_late;

	cr_assert(af_merge_pop(m, &got, &late), "in%u/%llu should leave", input,
	          (unsigned long long)seq);
	cr_assert_eq(got.pos.input, input);
	cr_assert_eq(got.pos.seq, seq);
	cr_assert_eq(late, want_late);
}

static void assert_nothing_ready(struct af_merge *m, const char *why)
{
	struct af_event got;
	bool late;

	cr_assert_not(af_merge_pop(m, &got, &late), "%s", why);
}

Test(merge, interleaves_two_ordered_inputs_by_event_time)
{
	static const int64_t a[] = {1, 3, 5, 7, 9}, b[] = {2, 4, 6, 8};
	static const int64_t want[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	struct feed feeds[] = {{a, 5}, {b, 4}};
	struct af_merge *m = af_merge_new(2, 0, 16);
	struct out o = run(m, feeds, 2);

	assert_output(&o, want, 9);
	for (size_t i = 0; i < o.n; i++)
		cr_assert_not(o.late[i]);
	cr_assert_eq(o.ev[0].pos.input, 0);
	cr_assert_eq(o.ev[1].pos.input, 1);
	out_free(&o);
	af_merge_free(m);
}

Test(merge, copies_the_whole_event_through)
{
	struct af_merge *m = af_merge_new(1, 0, 4);
	struct af_event ev = event(0, 42, 1000), got;
	bool late;

	strcpy(ev.account, "user@example.com");
	ev.src.family = AF_IP_V4;
	ev.src.port = 443;
	af_merge_push(m, &ev, INT64_MIN);
	memset(&ev, 0, sizeof ev); /* the merger holds its own copy */
	af_merge_finish(m, 0);
	cr_assert(af_merge_pop(m, &got, &late));
	cr_assert_str_eq(got.account, "user@example.com");
	cr_assert_str_eq(got.record_id, "in0-rec42");
	cr_assert_eq(got.src.port, 443);
	cr_assert_eq(got.pos.seq, 42);
	af_merge_free(m);
}

Test(merge, sorts_local_disorder_within_the_window)
{
	static const int64_t a[] = {10, 5, 20, 15, 30, 25, 24, 40};
	static const int64_t want[] = {5, 10, 15, 20, 24, 25, 30, 40};
	struct feed feeds[] = {{a, 8}};
	struct af_merge *m = af_merge_new(1, 10, 16);
	struct out o = run(m, feeds, 1);

	assert_output(&o, want, 8);
	for (size_t i = 0; i < o.n; i++)
		cr_assert_not(o.late[i]);
	out_free(&o);
	af_merge_free(m);
}

Test(merge, flags_an_event_later_than_the_window_and_still_delivers_it)
{
	static const int64_t a[] = {100, 200, 300, 150, 310};
	static const int64_t want[] = {100, 200, 150, 300, 310};
	static const bool want_late[] = {false, false, true, false, false};
	struct feed feeds[] = {{a, 5}};
	struct af_merge *m = af_merge_new(1, 10, 16);
	struct out o = run(m, feeds, 1);

	assert_output(&o, want, 5);
	for (size_t i = 0; i < o.n; i++)
		cr_assert_eq(o.late[i], want_late[i], "event %zu", i);
	out_free(&o);
	af_merge_free(m);
}

Test(merge, flags_late_against_the_input_frontier_not_the_event_before)
{
	/* 160 is after 150, but both are more than the window before 300. */
	static const int64_t a[] = {100, 200, 300, 150, 160, 310};
	static const int64_t want[] = {100, 200, 150, 160, 300, 310};
	static const bool want_late[] = {false, false, true, true, false, false};
	struct feed feeds[] = {{a, 6}};
	struct af_merge *m = af_merge_new(1, 10, 16);
	struct out o = run(m, feeds, 1);

	assert_output(&o, want, 6);
	for (size_t i = 0; i < o.n; i++)
		cr_assert_eq(o.late[i], want_late[i], "event %zu", i);
	out_free(&o);
	af_merge_free(m);
}

Test(merge, sorts_a_late_event_at_the_edge_of_the_window)
{
	struct af_merge *m = af_merge_new(2, 10, 16);

	push(m, 0, 0, 100);
	push(m, 0, 1, 50); /* late: key 100 - 10 = 90 */
	push(m, 1, 0, 89);
	push(m, 1, 1, 90);
	push(m, 1, 2, 91);
	af_merge_finish(m, 0);
	af_merge_finish(m, 1);
	/* After 89, and before input 1's 90 only by the input number. */
	assert_pops(m, 1, 0, false);
	assert_pops(m, 0, 1, true);
	assert_pops(m, 1, 1, false);
	assert_pops(m, 1, 2, false);
	assert_pops(m, 0, 0, false);
	assert_nothing_ready(m, "all five are out");
	af_merge_free(m);
}

Test(merge, keeps_a_late_event_own_time_in_the_event)
{
	struct af_merge *m = af_merge_new(1, 10, 4);
	struct af_event got;
	bool late;

	push(m, 0, 0, 100);
	push(m, 0, 1, 50);
	af_merge_finish(m, 0);
	cr_assert(af_merge_pop(m, &got, &late), "key 90 goes before 100");
	cr_assert_eq(got.pos.seq, 1);
	cr_assert_eq(got.ts_ns, 50);
	cr_assert(late);
	af_merge_free(m);
}

Test(merge, breaks_ties_by_input_then_record_number)
{
	struct af_merge *m = af_merge_new(2, 0, 8);

	push(m, 1, 0, 5);
	push(m, 0, 1, 5);
	push(m, 0, 3, 5);
	assert_nothing_ready(m, "either input could still send another 5");
	af_merge_finish(m, 0);
	af_merge_finish(m, 1);
	assert_pops(m, 0, 1, false);
	assert_pops(m, 0, 3, false);
	assert_pops(m, 1, 0, false);
	assert_nothing_ready(m, "all three are out");
	af_merge_free(m);
}

Test(merge, holds_an_event_whose_key_equals_the_watermark)
{
	struct af_merge *m = af_merge_new(2, 0, 8);

	push(m, 0, 0, 5);
	push(m, 1, 0, 100);
	assert_nothing_ready(m, "input 0 could still send another 5");
	push(m, 0, 1, 7);
	assert_pops(m, 0, 0, false);
	assert_nothing_ready(m, "input 0 could still send another 7");
	af_merge_free(m);
}

Test(merge, holds_everything_until_every_input_has_produced)
{
	struct af_merge *m = af_merge_new(2, 0, 8);

	push(m, 0, 0, 5);
	push(m, 0, 1, 6);
	assert_nothing_ready(m, "input 1 could still send an earlier event");
	push(m, 1, 0, 100);
	assert_pops(m, 0, 0, false);
	assert_nothing_ready(m, "input 0 could still send another 6");
	af_merge_free(m);
}

Test(merge, holds_everything_back_for_an_input_with_no_events_until_it_finishes)
{
	struct af_merge *m = af_merge_new(3, 10, 64);

	for (uint64_t k = 0; k < 20; k++) {
		push(m, 0, k, (int64_t)(k * 100));
		push(m, 1, k, (int64_t)(k * 100 + 50));
		assert_nothing_ready(m, "input 2 has told nothing");
	}
	cr_assert_eq(af_merge_next_input(m), 2);
	af_merge_finish(m, 2);
	/* Now W = 1900 - 10: everything up to input 1's 1850 leaves. */
	for (uint64_t k = 0; k < 19; k++) {
		assert_pops(m, 0, k, false);
		assert_pops(m, 1, k, false);
	}
	assert_nothing_ready(m, "1900 and 1950 are within the window");
	cr_assert_eq(af_merge_buffered(m), 2);
	af_merge_free(m);
}

Test(merge, releases_events_of_other_inputs_on_an_advance_alone)
{
	struct af_merge *m = af_merge_new(2, 10, 8);

	push(m, 1, 0, 5);
	push(m, 1, 1, 50);
	assert_nothing_ready(m, "input 0 has told nothing");
	af_merge_advance(m, 0, 30); /* W = min(30, 50) - 10 = 20 */
	cr_assert_eq(af_merge_buffered(m), 2, "an advance buffers nothing");
	assert_pops(m, 1, 0, false);
	assert_nothing_ready(m, "50 is not before 20");
	af_merge_advance(m, 0, 1000); /* W = 50 - 10, held by input 1 now */
	assert_nothing_ready(m, "50 is not before 40");
	af_merge_advance(m, 0, 20);
	cr_assert_eq(af_merge_next_input(m), 1, "a lower frontier changes nothing");
	af_merge_advance(m, 1, 61);
	assert_pops(m, 1, 1, false);
	af_merge_free(m);
}

Test(merge, judges_a_push_against_a_frontier_learnt_by_an_advance)
{
	struct af_merge *m = af_merge_new(1, 10, 8);

	af_merge_advance(m, 0, 100); /* other shards saw input 0 reach 100 */
	push(m, 0, 7, 92);
	push(m, 0, 8, 85); /* 85 < 100 - 10, though within the window of 92 */
	af_merge_finish(m, 0);
	assert_pops(m, 0, 8, true); /* key 90 */
	assert_pops(m, 0, 7, false);
	af_merge_free(m);
}

Test(merge, judges_a_push_against_the_frontier_given_with_it)
{
	struct af_merge *m = af_merge_new(2, 10, 8);
	struct af_event ev = event(0, 3, 50);

	af_merge_push(m, &ev, 100); /* an earlier record of input 0 had 100 */
	push(m, 1, 0, 89);
	push(m, 1, 1, 95);
	cr_assert_eq(af_merge_next_input(m), 1, "input 0's frontier is 100");
	af_merge_finish(m, 0);
	af_merge_finish(m, 1);
	assert_pops(m, 1, 0, false);
	assert_pops(m, 0, 3, true); /* key 90 */
	assert_pops(m, 1, 1, false);
	af_merge_free(m);
}

Test(merge, forces_out_the_minimum_when_the_buffer_is_full_and_counts_it)
{
	struct af_merge *m = af_merge_new(2, 100, 3);

	for (uint64_t k = 0; k < 3; k++) {
		assert_nothing_ready(m, "room left and input 1 silent");
		push(m, 0, k, (int64_t[]){50, 10, 30}[k]);
	}
	cr_assert(af_merge_full(m));
	cr_assert_eq(af_merge_forced(m), 0);
	assert_pops(m, 0, 1, false);
	cr_assert_eq(af_merge_forced(m), 1);
	assert_nothing_ready(m, "input 1 is still silent");
	cr_assert_eq(af_merge_buffered(m), 2);
	af_merge_finish(m, 1);
	assert_nothing_ready(m, "input 0 could still send a 50");
	af_merge_finish(m, 0);
	assert_pops(m, 0, 2, false);
	assert_pops(m, 0, 0, false);
	cr_assert_eq(af_merge_forced(m), 1, "a drain is not forced");
	af_merge_free(m);
}

Test(merge, does_not_count_a_pop_from_a_full_buffer_that_was_ready_anyway)
{
	struct af_merge *m = af_merge_new(1, 0, 2);

	push(m, 0, 0, 10);
	push(m, 0, 1, 20);
	cr_assert(af_merge_full(m));
	assert_pops(m, 0, 0, false);
	cr_assert_eq(af_merge_forced(m), 0);
	af_merge_free(m);
}

Test(merge, counts_the_overtaking_a_full_buffer_causes_without_calling_it_late)
{
	static const int64_t a[] = {10, 20, 30, 40, 50, 60}, b[] = {1, 2, 3, 4, 5, 6};
	struct feed feeds[] = {{a, 6}, {b, 6}};
	/* A window so wide nothing leaves but by a full buffer or the drain. */
	struct af_merge *m = af_merge_new(2, 1000, 3);
	struct out o = run(m, feeds, 2);

	cr_assert_eq(o.n, 12);
	cr_assert_eq(o.max_buffered_seen, 3);
	/* Every push into the full buffer forced one out; two drained at the end. */
	cr_assert_eq(af_merge_forced(m), 10);
	for (size_t i = 0; i < o.n; i++)
		cr_assert_not(o.late[i], "each input is in order: event %zu", i);
	out_free(&o);
	af_merge_free(m);
}

Test(merge, drains_everything_in_order_when_all_inputs_finish)
{
	struct af_merge *m = af_merge_new(2, 1000, 8);

	push(m, 0, 0, 30);
	push(m, 1, 0, 10);
	push(m, 0, 1, 20);
	assert_nothing_ready(m, "all within the window");
	af_merge_finish(m, 0);
	assert_nothing_ready(m, "input 1 still holds W");
	af_merge_finish(m, 1);
	cr_assert_eq(af_merge_next_input(m), UINT32_MAX);
	assert_pops(m, 1, 0, false);
	assert_pops(m, 0, 1, false);
	assert_pops(m, 0, 0, false);
	assert_nothing_ready(m, "all three are out");
	af_merge_free(m);
}

Test(merge, stops_a_finished_input_from_holding_back_the_others)
{
	struct af_merge *m = af_merge_new(2, 10, 8);

	push(m, 0, 0, 5);
	af_merge_finish(m, 0);
	assert_nothing_ready(m, "input 1 has sent nothing yet");
	push(m, 1, 0, 100);
	assert_pops(m, 0, 0, false);
	assert_nothing_ready(m, "100 is within the window of 100");
	af_merge_free(m);
}

Test(merge, asks_for_each_input_once_then_the_smallest_frontier)
{
	struct af_merge *m = af_merge_new(3, 0, 8);

	cr_assert_eq(af_merge_next_input(m), 0);
	push(m, 0, 0, 100);
	cr_assert_eq(af_merge_next_input(m), 1);
	push(m, 1, 0, 50);
	cr_assert_eq(af_merge_next_input(m), 2);
	push(m, 2, 0, 70);
	cr_assert_eq(af_merge_next_input(m), 1);
	push(m, 1, 1, 90);
	cr_assert_eq(af_merge_next_input(m), 2);
	af_merge_advance(m, 2, 100);
	cr_assert_eq(af_merge_next_input(m), 1);
	af_merge_advance(m, 1, 100);
	cr_assert_eq(af_merge_next_input(m), 0, "ties go to the lowest number");
	af_merge_finish(m, 0);
	cr_assert_eq(af_merge_next_input(m), 1);
	push(m, 1, 2, 200);
	cr_assert_eq(af_merge_next_input(m), 2);
	af_merge_finish(m, 2);
	af_merge_finish(m, 1);
	cr_assert_eq(af_merge_next_input(m), UINT32_MAX);
	af_merge_free(m);
}

Test(merge, holds_a_single_ordered_input_back_only_by_the_window)
{
	struct af_merge *m = af_merge_new(1, 10, 64);
	int64_t next_out = 0;

	for (int64_t t = 0; t < 100; t++) {
		struct af_event got;
		bool late;

		push(m, 0, (uint64_t)t, t);
		while (af_merge_pop(m, &got, &late)) {
			cr_assert_eq(got.ts_ns, next_out++);
			cr_assert_not(late);
		}
		/* Everything before t - 10 has left; [t-10, t] remains. */
		cr_assert_eq(next_out, t >= 10 ? t - 10 : 0);
		cr_assert_eq(af_merge_buffered(m), (size_t)(t >= 10 ? 11 : t + 1));
	}
	af_merge_free(m);
}

/* Random feeds: input i's k-th time is start + k * step + jitter, jitter in
 * [0, disorder), so no event is disorder or more earlier than one before it. */
static void random_feeds(uint64_t *rng, struct feed *feeds, int64_t **bufs, size_t nfeeds,
                         int64_t disorder)
{
	for (size_t i = 0; i < nfeeds; i++) {
		size_t n = (size_t)(next_random(rng) % 300);
		int64_t start = (int64_t)(next_random(rng) % 1000);
		int64_t step = 1 + (int64_t)(next_random(rng) % 20);

		bufs[i] = calloc(n + 1, sizeof **bufs);
		for (size_t k = 0; k < n; k++)
			bufs[i][k] =
			    start + (int64_t)k * step + (int64_t)(next_random(rng) % disorder);
		feeds[i] = (struct feed){bufs[i], n};
	}
}

static void free_feeds(int64_t **bufs, size_t nfeeds)
{
	for (size_t i = 0; i < nfeeds; i++)
		free(bufs[i]);
}

static int by_position(const void *a, const void *b)
{
	const struct af_event *x = a, *y = b;

	if (x->pos.input != y->pos.input)
		return x->pos.input < y->pos.input ? -1 : 1;
	return x->pos.seq < y->pos.seq ? -1 : x->pos.seq > y->pos.seq;
}

/* Output is exactly the input: each (input, k) once, with its time. */
static void assert_permutation(struct out *o, const struct feed *feeds, size_t nfeeds)
{
	size_t total = feeds_total(feeds, nfeeds), j = 0;

	cr_assert_eq(o->n, total);
	struct af_event *sorted = malloc((total + 1) * sizeof *sorted);
	memcpy(sorted, o->ev, total * sizeof *sorted);
	qsort(sorted, total, sizeof *sorted, by_position);
	for (size_t i = 0; i < nfeeds; i++) {
		for (size_t k = 0; k < feeds[i].n; k++, j++) {
			cr_assert_eq(sorted[j].pos.input, i);
			cr_assert_eq(sorted[j].pos.seq, k);
			cr_assert_eq(sorted[j].ts_ns, feeds[i].ts[k]);
		}
	}
	free(sorted);
}

Test(merge, sorts_random_inputs_whose_disorder_is_below_the_window)
{
	uint64_t rng = 2025;

	for (int round = 0; round < 200; round++) {
		size_t nfeeds = 1 + (size_t)(next_random(&rng) % 6);
		int64_t disorder = 1 + (int64_t)(next_random(&rng) % 60);
		int64_t window = disorder + (int64_t)(next_random(&rng) % 3);
		struct feed feeds[6];
		int64_t *bufs[6];

		random_feeds(&rng, feeds, bufs, nfeeds, disorder);
		struct af_merge *m = af_merge_new((uint32_t)nfeeds, window, 4096);
		struct out o = run(m, feeds, nfeeds);

		assert_permutation(&o, feeds, nfeeds);
		cr_assert_eq(af_merge_forced(m), 0);
		for (size_t i = 0; i < o.n; i++) {
			cr_assert_not(o.late[i], "round %d event %zu", round, i);
			if (i > 0) {
				const struct af_event *p = &o.ev[i - 1], *c = &o.ev[i];

				cr_assert(p->ts_ns < c->ts_ns ||
				              (p->ts_ns == c->ts_ns && by_position(p, c) < 0),
				          "round %d: event %zu out of order", round, i);
			}
		}
		out_free(&o);
		af_merge_free(m);
		free_feeds(bufs, nfeeds);
	}
}

Test(merge, orders_late_and_disordered_inputs_the_same_whatever_the_interleaving)
{
	uint64_t rng = 31337;

	for (int round = 0; round < 100; round++) {
		int64_t disorder = 1 + (int64_t)(next_random(&rng) % 200);
		int64_t window = (int64_t)(next_random(&rng) % 50);
		struct feed feeds[3];
		int64_t *bufs[3];
		size_t late = 0;

		random_feeds(&rng, feeds, bufs, 3, disorder);
		size_t total = feeds_total(feeds, 3);
		struct ref *want = reference(feeds, 3, window);
		for (size_t i = 0; i < total; i++)
			late += want[i].late;

		struct af_merge *m1 = af_merge_new(3, window, 1024);
		struct af_merge *m2 = af_merge_new(3, window, 1024);
		struct af_merge *m3 = af_merge_new(3, window, 1024);
		struct out o1 = run_shuffled(m1, feeds, 3, next_random(&rng));
		struct out o2 = run_shuffled(m2, feeds, 3, next_random(&rng));
		struct out o3 = run(m3, feeds, 3);

		cr_assert_eq(af_merge_forced(m1) + af_merge_forced(m2) + af_merge_forced(m3), 0);
		assert_matches(&o1, want, total, "first interleaving");
		assert_matches(&o2, want, total, "second interleaving");
		assert_matches(&o3, want, total, "smallest frontier first");
		/* The rounds must exercise lateness: 3 x up to 300 events with
		 * disorder often above the window. */
		if (disorder > 2 * window + 20 && total > 300)
			cr_assert_gt(late, 0, "round %d has late events", round);
		out_free(&o1);
		out_free(&o2);
		out_free(&o3);
		af_merge_free(m1);
		af_merge_free(m2);
		af_merge_free(m3);
		free(want);
		free_feeds(bufs, 3);
	}
}

/* The runtime's use: each input is cut into batches, each record goes to one
 * of two shards with the running maximum of its batch (all a worker knows),
 * and every batch end advances both shards to the batch's maximum. */
Test(merge, agrees_across_shards_told_each_batch_end_of_the_whole_input)
{
	uint64_t rng = 4242;

	for (int round = 0; round < 100; round++) {
		int64_t disorder = 1 + (int64_t)(next_random(&rng) % 200);
		int64_t window = (int64_t)(next_random(&rng) % 50);
		struct feed feeds[3];
		int64_t *bufs[3];

		random_feeds(&rng, feeds, bufs, 3, disorder);
		size_t total = feeds_total(feeds, 3);
		struct ref *want = reference(feeds, 3, window);
		struct af_merge *shard[2] = {af_merge_new(3, window, 1024),
		                             af_merge_new(3, window, 1024)};
		struct out o[2] = {out_new(total), out_new(total)};
		uint8_t *owner[3];
		size_t next[3] = {0}, batch_left[3] = {0};
		int64_t batch_max[3];
		bool done[3] = {false};

		for (size_t i = 0; i < 3; i++) {
			owner[i] = calloc(feeds[i].n + 1, 1);
			for (size_t k = 0; k < feeds[i].n; k++)
				owner[i][k] = (uint8_t)(next_random(&rng) % 2);
		}
		for (size_t i; (i = random_unfinished(&rng, done, 3)) < 3;) {
			if (next[i] == feeds[i].n) {
				for (int s = 0; s < 2; s++)
					af_merge_finish(shard[s], (uint32_t)i);
				done[i] = true;
			} else {
				int64_t ts = feeds[i].ts[next[i]];
				struct af_event ev = event((uint32_t)i, next[i], ts);

				if (batch_left[i] == 0) {
					batch_left[i] = 1 + (size_t)(next_random(&rng) % 8);
					batch_max[i] = INT64_MIN;
				}
				if (ts > batch_max[i])
					batch_max[i] = ts;
				af_merge_push(shard[owner[i][next[i]]], &ev, batch_max[i]);
				next[i]++;
				if (--batch_left[i] == 0 || next[i] == feeds[i].n)
					for (int s = 0; s < 2; s++)
						af_merge_advance(shard[s], (uint32_t)i,
						                 batch_max[i]);
			}
			for (int s = 0; s < 2; s++)
				pop_ready(shard[s], &o[s], total);
		}
		for (int s = 0; s < 2; s++) {
			struct ref *mine = calloc(total + 1, sizeof *mine);
			size_t n = 0;

			for (size_t j = 0; j < total; j++)
				if (owner[want[j].input][want[j].seq] == s)
					mine[n++] = want[j];
			cr_assert_eq(af_merge_buffered(shard[s]), 0);
			cr_assert_eq(af_merge_forced(shard[s]), 0);
			assert_matches(&o[s], mine, n, s == 0 ? "shard 0" : "shard 1");
			free(mine);
			out_free(&o[s]);
			af_merge_free(shard[s]);
		}
		for (size_t i = 0; i < 3; i++)
			free(owner[i]);
		free(want);
		free_feeds(bufs, 3);
	}
}

Test(merge, delivers_every_random_event_once_with_the_verdicts_of_the_reference)
{
	uint64_t rng = 77;
	int rounds_forced = 0, rounds_clean = 0;

	for (int round = 0; round < 200; round++) {
		size_t nfeeds = 1 + (size_t)(next_random(&rng) % 6);
		int64_t disorder = 1 + (int64_t)(next_random(&rng) % 200);
		int64_t window = (int64_t)(next_random(&rng) % 50);
		size_t max_buffered = 1 + (size_t)(next_random(&rng) % 40);
		struct feed feeds[6];
		int64_t *bufs[6];

		random_feeds(&rng, feeds, bufs, nfeeds, disorder);
		size_t total = feeds_total(feeds, nfeeds);
		struct ref *want = reference(feeds, nfeeds, window);
		struct af_merge *m = af_merge_new((uint32_t)nfeeds, window, max_buffered);
		struct out o = run(m, feeds, nfeeds);

		assert_permutation(&o, feeds, nfeeds);
		cr_assert_leq(o.max_buffered_seen, max_buffered);
		/* Verdicts never depend on the buffer; the order does only
		 * through forced pops. */
		qsort(want, total, sizeof *want, by_key_input_seq);
		for (size_t i = 0; i < o.n; i++) {
			const struct af_event *ev = &o.ev[i];
			size_t j = 0;

			while (want[j].input != ev->pos.input || want[j].seq != ev->pos.seq)
				j++;
			cr_assert_eq(o.late[i], want[j].late, "round %d event %zu", round, i);
		}
		if (af_merge_forced(m) == 0) {
			assert_matches(&o, want, total, "no pop forced");
			rounds_clean++;
		} else {
			rounds_forced++;
		}
		out_free(&o);
		af_merge_free(m);
		free(want);
		free_feeds(bufs, nfeeds);
	}
	cr_assert_gt(rounds_forced, 0);
	cr_assert_gt(rounds_clean, 0);
}

/* Past MERGE_RUN_INPUTS inputs only the heap orders; with few inputs, runs
 * longer than a run holds spill into the heap. Both must give the
 * reference order. */
Test(merge, orders_many_inputs_and_runs_longer_than_a_run_like_the_reference)
{
	uint64_t rng = 777;
	struct feed feeds[12];
	int64_t *bufs[12];

	for (int round = 0; round < 20; round++) {
		int64_t disorder = 1 + (int64_t)(next_random(&rng) % 100);
		int64_t window = (int64_t)(next_random(&rng) % 50);

		random_feeds(&rng, feeds, bufs, 12, disorder);
		size_t total = feeds_total(feeds, 12);
		struct ref *want = reference(feeds, 12, window);
		struct af_merge *m = af_merge_new(12, window, 8192);
		struct out o = run_shuffled(m, feeds, 12, next_random(&rng));

		cr_assert_eq(af_merge_forced(m), 0);
		assert_matches(&o, want, total, "twelve inputs");
		out_free(&o);
		af_merge_free(m);
		free(want);
		free_feeds(bufs, 12);
	}

	/* One input of 10,000 ordered events, held back by a second input that
	 * says nothing until the end: the run fills and the rest go to the
	 * heap, yet they leave in order. */
	int64_t *ts = calloc(10000, sizeof *ts);
	int64_t other[] = {5};
	for (size_t k = 0; k < 10000; k++)
		ts[k] = 10 + (int64_t)k + (k % 7 == 3 ? 2 : 0);
	struct feed two[] = {{ts, 10000}, {other, 1}};
	struct ref *want = reference(two, 2, 5);
	struct af_merge *m = af_merge_new(2, 5, 16384);
	struct out o = out_new(10001);
	for (size_t k = 0; k < 10000; k++) {
		push(m, 0, k, ts[k]);
		pop_ready(m, &o, 10001);
	}
	cr_assert_eq(o.n, 0, "input 1 has said nothing: all are held");
	push(m, 1, 0, other[0]);
	af_merge_finish(m, 0);
	af_merge_finish(m, 1);
	pop_ready(m, &o, 10001);
	assert_matches(&o, want, 10001, "a run longer than a run holds");
	out_free(&o);
	af_merge_free(m);
	free(want);
	free(ts);
}

/* A Kafka source gives the merge an input for every partition it may be
 * given: hundreds, with runs of a few dozen nodes each. */
Test(merge, orders_hundreds_of_inputs_with_short_runs_like_the_reference)
{
	enum { N = 300 };
	uint64_t rng = 4242;
	struct feed *feeds = calloc(N, sizeof *feeds);
	int64_t **bufs = calloc(N, sizeof *bufs);

	for (int round = 0; round < 4; round++) {
		int64_t disorder = 1 + (int64_t)(next_random(&rng) % 40);
		int64_t window = (int64_t)(next_random(&rng) % 50);

		random_feeds(&rng, feeds, bufs, N, disorder);
		size_t total = feeds_total(feeds, N);
		struct ref *want = reference(feeds, N, window);
		struct af_merge *m = af_merge_new(N, window, 65536);
		struct out o = round % 2 ? run_shuffled(m, feeds, N, next_random(&rng))
		                         : run(m, feeds, N);

		cr_assert_eq(af_merge_forced(m), 0);
		assert_matches(&o, want, total, "three hundred inputs");
		out_free(&o);
		af_merge_free(m);
		free(want);
		free_feeds(bufs, N);
	}
	free(feeds);
	free(bufs);
}

Test(merge, stops_an_idle_input_from_holding_back_the_others)
{
	struct af_merge *m = af_merge_new(2, 10, 16);

	push(m, 0, 0, 10);
	push(m, 0, 1, 50);
	assert_nothing_ready(m, "input 1 has told nothing");
	af_merge_idle(m, 1); /* W = 50 - 10 */
	assert_pops(m, 0, 0, false);
	assert_nothing_ready(m, "50 is within the window of 50");
	cr_assert_eq(af_merge_buffered(m), 1);
	af_merge_free(m);
}

Test(merge, makes_an_idle_input_hold_back_again_from_its_own_frontier_at_its_next_push)
{
	struct af_merge *m = af_merge_new(2, 10, 16);

	push(m, 1, 0, 20);
	af_merge_idle(m, 1);
	push(m, 0, 0, 30);
	push(m, 0, 1, 60); /* W = 60 - 10: input 1 holds nothing back */
	assert_pops(m, 1, 0, false);
	assert_pops(m, 0, 0, false);
	assert_nothing_ready(m, "60 is within the window of 60");
	/* Back from idle with its frontier still 20, not this event's 15:
	 * W = min(60, 20) - 10 = 10, so 15 waits. It is not late (15 is
	 * within the window of 20), and sorts before events already out. */
	push(m, 1, 1, 15);
	assert_nothing_ready(m, "input 1 holds W at 20 - 10 again");
	af_merge_advance(m, 1, 40); /* W = 30 */
	assert_pops(m, 1, 1, false);
	assert_nothing_ready(m, "60 is not before 30");
	af_merge_free(m);
}

Test(merge, releases_everything_in_order_when_every_input_is_idle)
{
	struct af_merge *m = af_merge_new(3, 100, 16);

	push(m, 0, 0, 30);
	push(m, 1, 0, 10);
	push(m, 0, 1, 20);
	af_merge_idle(m, 2);
	af_merge_idle(m, 0);
	assert_nothing_ready(m, "input 1 holds W at 10 - 100");
	af_merge_idle(m, 1);
	assert_pops(m, 1, 0, false);
	assert_pops(m, 0, 1, false);
	assert_pops(m, 0, 0, false);
	assert_nothing_ready(m, "all three are out");
	cr_assert_eq(af_merge_forced(m), 0, "nothing held them: none was forced");
	af_merge_free(m);
}

Test(merge, forces_out_the_minimum_before_it_is_safe_on_request_and_counts_it)
{
	struct af_merge *m = af_merge_new(2, 10, 16);
	bool late = true;

	push(m, 0, 0, 30);
	push(m, 0, 1, 25);
	push(m, 0, 2, 40);
	assert_nothing_ready(m, "input 1 has told nothing");
	struct af_event *ev = af_merge_pop_forced(m, &late);
	cr_assert_not_null(ev);
	cr_assert_eq(ev->pos.seq, 1, "the minimum, 25, leaves first");
	cr_assert_eq(ev->ts_ns, 25);
	cr_assert_not(late);
	cr_assert_eq(af_merge_forced(m), 1);
	cr_assert_eq(af_merge_buffered(m), 2);
	assert_nothing_ready(m, "a forced pop makes nothing else safe");
	af_merge_finish(m, 1);
	af_merge_finish(m, 0);
	ev = af_merge_pop_forced(m, &late);
	cr_assert_not_null(ev);
	cr_assert_eq(ev->pos.seq, 0);
	cr_assert_eq(af_merge_forced(m), 1, "a forced pop of a ready event is not counted");
	af_merge_free(m);
}

Test(merge, returns_null_from_a_forced_pop_of_an_empty_buffer)
{
	struct af_merge *m = af_merge_new(1, 10, 4);
	bool late = true;

	cr_assert_null(af_merge_pop_forced(m, &late));
	push(m, 0, 0, 5);
	cr_assert_not_null(af_merge_pop_forced(m, &late));
	late = true;
	cr_assert_null(af_merge_pop_forced(m, &late));
	cr_assert(late, "late is left alone when nothing leaves");
	cr_assert_eq(af_merge_forced(m), 1);
	af_merge_free(m);
}

/* ---- snapshots ---- */

static char snap_dir[64];

static void snap_setup(void)
{
	snprintf(snap_dir, sizeof snap_dir, "/tmp/af-merge-XXXXXX");
	cr_assert_not_null(mkdtemp(snap_dir));
}

static void snap_teardown(void)
{
	rmdir(snap_dir);
}

TestSuite(merge_snapshot, .init = snap_setup, .fini = snap_teardown);

/* A merge's saved state: the bytes of its section. */
struct blob {
	uint8_t *p;
	size_t len;
};

/* m's state as af_merge_save writes it, through a real snapshot file. */
static struct blob saved(const struct af_merge *m)
{
	char path[128], err[512];
	struct af_snap_writer *w;
	struct af_snap_reader *r;
	struct af_snap_view v;

	snprintf(path, sizeof path, "%s/merge.snap", snap_dir);
	cr_assert_eq(af_snap_create(path, af_merge_layout(), &w, err, sizeof err), AF_OK, "%s",
	             err);
	af_snap_begin(w, 7);
	af_merge_save(m, w);
	cr_assert_eq(af_snap_commit(w, err, sizeof err), AF_OK, "%s", err);
	cr_assert_eq(af_snap_open(path, af_merge_layout(), &r, err, sizeof err), AF_OK, "%s", err);
	cr_assert(af_snap_find(r, 7, &v));
	struct blob b = {malloc(v.len + 1), v.len};
	memcpy(b.p, v.p, v.len);
	af_snap_close(r);
	unlink(path);
	return b;
}

static af_err_t load_bytes(struct af_merge *m, const uint8_t *p, size_t len, char *err,
                           size_t err_size)
{
	struct af_snap_view v = {.p = p, .len = len};

	return af_merge_load(m, &v, err, err_size);
}

/* A new merge made like the saved one and loaded from b. */
static struct af_merge *loaded(const struct blob *b, uint32_t ninputs, int64_t window,
                               size_t max_buffered)
{
	struct af_merge *m = af_merge_new(ninputs, window, max_buffered);
	char err[512];

	cr_assert_eq(load_bytes(m, b->p, b->len, err, sizeof err), AF_OK, "%s", err);
	return m;
}

static void assert_same_bytes(const struct blob *a, const struct blob *b, const char *what)
{
	cr_assert_eq(a->len, b->len, "%s: %zu bytes, not %zu", what, b->len, a->len);
	cr_assert(memcmp(a->p, b->p, a->len) == 0, "%s: the states differ", what);
}

/* A random call sequence played on several merges at once: merges[0]
 * never saves, merges[1] saves at every cut and goes on, merges[2] is
 * replaced at every cut by a fresh merge loaded from that save. Every
 * answer of every call must be the same from all three. */
enum { TRIO = 3 };

struct sim {
	uint64_t rng;
	uint32_t ninputs;
	int64_t window;
	size_t max_buffered;
	struct af_merge *m[TRIO];
	uint64_t *seq;  /* per input: its next record number */
	int64_t *base;  /* per input: the time its events are drawn around */
	bool *finished; /* per input: af_merge_finish was called */
	uint32_t unfinished;
	/* What the sequence exercised, so the test can insist on it. */
	size_t pops, late_pops, pushes, held_at_cuts, idles;
};

static void sim_init(struct sim *s, uint64_t seed, uint32_t ninputs, int64_t window,
                     size_t max_buffered)
{
	*s = (struct sim){.rng = seed,
	                  .ninputs = ninputs,
	                  .window = window,
	                  .max_buffered = max_buffered,
	                  .unfinished = ninputs};
	for (int k = 0; k < TRIO; k++)
		s->m[k] = af_merge_new(ninputs, window, max_buffered);
	s->seq = calloc(ninputs, sizeof *s->seq);
	s->base = calloc(ninputs, sizeof *s->base);
	s->finished = calloc(ninputs, sizeof *s->finished);
	for (uint32_t i = 0; i < ninputs; i++)
		s->base[i] = 1000 + (int64_t)(next_random(&s->rng) % 500);
}

static void sim_fini(struct sim *s)
{
	for (int k = 0; k < TRIO; k++)
		af_merge_free(s->m[k]);
	free(s->seq);
	free(s->base);
	free(s->finished);
}

static void assert_same_answers(struct sim *s, size_t step)
{
	for (int k = 1; k < TRIO; k++) {
		cr_assert_eq(af_merge_next_input(s->m[k]), af_merge_next_input(s->m[0]),
		             "step %zu: merge %d reads another input next", step, k);
		cr_assert_eq(af_merge_buffered(s->m[k]), af_merge_buffered(s->m[0]),
		             "step %zu: merge %d holds another count", step, k);
		cr_assert_eq(af_merge_full(s->m[k]), af_merge_full(s->m[0]), "step %zu", step);
		cr_assert_eq(af_merge_forced(s->m[k]), af_merge_forced(s->m[0]),
		             "step %zu: merge %d forced another count", step, k);
	}
}

enum pop_kind { POP_COPY, POP_REF, POP_FORCED, POP_PEEK };

/* One pop of the kind on every merge; the same event (every byte of it)
 * and verdict from each, or nothing from each. Returns whether one left. */
static bool same_pop(struct sim *s, enum pop_kind kind, size_t step)
{
	struct af_event got[TRIO];
	bool ok[TRIO], late[TRIO];

	memset(got, 0, sizeof got);
	for (int k = 0; k < TRIO; k++) {
		const struct af_event *ev = NULL;
		struct af_event *mut = NULL;

		late[k] = false;
		switch (kind) {
		case POP_COPY: ok[k] = af_merge_pop(s->m[k], &got[k], &late[k]); continue;
		case POP_REF: ev = mut = af_merge_pop_ref(s->m[k], &late[k]); break;
		case POP_FORCED: ev = mut = af_merge_pop_forced(s->m[k], &late[k]); break;
		case POP_PEEK: ev = af_merge_peek(s->m[k]); break;
		}
		ok[k] = ev != NULL;
		if (ok[k])
			got[k] = *ev;
		/* The caller may change a popped event in place, as the
		 * runtime does: the merge must not care. */
		if (mut != NULL)
			mut->flags = ~mut->flags;
	}
	for (int k = 1; k < TRIO; k++) {
		cr_assert_eq(ok[k], ok[0], "step %zu: merge %d %s", step, k,
		             ok[0] ? "let nothing out" : "let one out");
		cr_assert(memcmp(&got[k], &got[0], sizeof got[0]) == 0,
		          "step %zu: merge %d let in%u/%llu out, not in%u/%llu", step, k,
		          got[k].pos.input, (unsigned long long)got[k].pos.seq, got[0].pos.input,
		          (unsigned long long)got[0].pos.seq);
		cr_assert_eq(late[k], late[0], "step %zu: merge %d another verdict", step, k);
	}
	if (ok[0] && kind != POP_PEEK) {
		s->pops++;
		s->late_pops += late[0];
	}
	return ok[0];
}

/* Every field filled, so a lost or mixed-up byte shows. */
static struct af_event sim_event(struct sim *s, uint32_t in, int64_t ts)
{
	struct af_event ev = event(in, s->seq[in]++, ts);
	uint64_t r = next_random(&s->rng);

	ev.account_hash = r;
	ev.dedup_key = r ^ 0x5555;
	ev.pos.batch = r % 97;
	ev.pos.offset = r % 100000;
	ev.kind = (uint8_t)(r % AF_KIND_COUNT);
	ev.flags = (uint32_t)(r >> 32) & 0xfffu;
	ev.src.family = AF_IP_V4;
	ev.src.bytes[15] = (uint8_t)r;
	ev.geo.lat = (double)(r % 180) - 90.0;
	snprintf(ev.account, sizeof ev.account, "user%llu@example.com",
	         (unsigned long long)(r % 1000));
	snprintf(ev.geo.country, sizeof ev.geo.country, "%c%c", 'A' + (int)(r % 26),
	         'A' + (int)(r / 26 % 26));
	return ev;
}

static uint32_t random_input(struct sim *s)
{
	return (uint32_t)(next_random(&s->rng) % s->ninputs);
}

/* The input to push to: mostly the one the merge asks for, as a reader
 * does; otherwise any unfinished one. UINT32_MAX when all are finished. */
static uint32_t push_input(struct sim *s)
{
	uint32_t in = af_merge_next_input(s->m[0]);

	if (s->unfinished == 0)
		return UINT32_MAX;
	if (in != UINT32_MAX && next_random(&s->rng) % 10 < 7)
		return in;
	do
		in = random_input(s);
	while (s->finished[in]);
	return in;
}

static void sim_push(struct sim *s, size_t step)
{
	uint32_t in = push_input(s);

	if (in == UINT32_MAX || af_merge_full(s->m[0])) {
		/* What a reader does with a full buffer: pop (forced). */
		same_pop(s, next_random(&s->rng) % 2 ? POP_COPY : POP_REF, step);
		return;
	}
	uint64_t r = next_random(&s->rng);
	int64_t ts = s->base[in] + (int64_t)(r % 40);
	if (r % 10 == 0) /* well before the window: late, most likely */
		ts = s->base[in] - (int64_t)(r / 10 % (uint64_t)(4 * s->window + 60));
	s->base[in] += (int64_t)(r / 1000 % 12);
	int64_t frontier = INT64_MIN;
	if (r % 7 == 1)
		frontier = ts + (int64_t)(r / 7 % 30);
	else if (r % 7 == 2)
		frontier = s->base[in] - (int64_t)(r / 7 % 100);
	struct af_event ev = sim_event(s, in, ts);
	for (int k = 0; k < TRIO; k++)
		af_merge_push(s->m[k], &ev, frontier);
	s->pushes++;
}

/* One random call, played on every merge. */
static void sim_step(struct sim *s, size_t step)
{
	uint64_t r = next_random(&s->rng) % 1000;
	uint32_t in = random_input(s);
	int64_t f = s->base[in] + (int64_t)(next_random(&s->rng) % 60) - 30;

	if (r < 450) {
		sim_push(s, step);
	} else if (r < 600) {
		same_pop(s, POP_COPY, step);
	} else if (r < 650) {
		while (same_pop(s, POP_COPY, step)) /* the reader's drain */
			;
	} else if (r < 700) {
		same_pop(s, POP_REF, step);
	} else if (r < 720) {
		same_pop(s, POP_FORCED, step);
	} else if (r < 750) {
		same_pop(s, POP_PEEK, step);
	} else if (r < 850) {
		for (int k = 0; k < TRIO; k++)
			af_merge_advance(s->m[k], in, f);
	} else if (r < 910) {
		for (int k = 0; k < TRIO; k++)
			af_merge_idle(s->m[k], in);
		s->idles++;
	} else if (r < 995) {
		for (int k = 0; k < TRIO; k++)
			af_merge_wake(s->m[k], in);
	} else {
		for (int k = 0; k < TRIO; k++)
			af_merge_finish(s->m[k], in);
		s->unfinished -= !s->finished[in];
		s->finished[in] = true;
	}
	assert_same_answers(s, step);
}

/* The cut: merges[1] saves, goes on; merges[2] must have saved the same
 * bytes, and is replaced by a fresh merge loaded from them. */
static void sim_cut(struct sim *s, size_t step)
{
	struct blob b = saved(s->m[1]), c = saved(s->m[2]);
	char what[64];

	snprintf(what, sizeof what, "cut at step %zu", step);
	assert_same_bytes(&b, &c, what);
	af_merge_free(s->m[2]);
	s->m[2] = loaded(&b, s->ninputs, s->window, s->max_buffered);
	s->held_at_cuts += af_merge_buffered(s->m[0]);
	assert_same_answers(s, step);
	free(b.p);
	free(c.p);
}

/* nsteps random calls with cuts at the start, at ncuts random steps and at
 * the end; then every input finishes and all drain; then all three must
 * save the same bytes. */
static void sim_run(struct sim *s, size_t nsteps, int ncuts)
{
	size_t *cuts = calloc((size_t)ncuts + 2, sizeof *cuts);
	int next_cut = 0;

	cuts[0] = 0;
	for (int k = 1; k <= ncuts; k++)
		cuts[k] =
		    cuts[k - 1] + 1 + (size_t)(next_random(&s->rng) % (2 * nsteps / (size_t)ncuts));
	cuts[ncuts + 1] = nsteps;
	for (size_t step = 0; step < nsteps; step++) {
		while (next_cut <= ncuts + 1 && cuts[next_cut] == step) {
			sim_cut(s, step);
			next_cut++;
		}
		while (next_cut <= ncuts + 1 && cuts[next_cut] < step)
			next_cut++; /* cuts drawn past the end fall away */
		sim_step(s, step);
	}
	sim_cut(s, nsteps);
	for (uint32_t i = 0; i < s->ninputs; i++)
		for (int k = 0; k < TRIO; k++)
			af_merge_finish(s->m[k], i);
	assert_same_answers(s, nsteps);
	while (same_pop(s, POP_COPY, nsteps))
		;
	cr_assert_eq(af_merge_buffered(s->m[0]), 0);
	struct blob a = saved(s->m[0]), b = saved(s->m[1]), c = saved(s->m[2]);
	assert_same_bytes(&a, &b, "the merge that saved, at the end");
	assert_same_bytes(&a, &c, "the loaded merge, at the end");
	free(a.p);
	free(b.p);
	free(c.p);
	free(cuts);
}

Test(merge_snapshot, goes_on_after_a_load_exactly_as_without_one_over_random_calls)
{
	uint64_t rng = 0x5eed;
	size_t pops = 0, late = 0, held = 0, idles = 0;
	int rounds_forced = 0, rounds_with_runs = 0;

	for (int round = 0; round < 60; round++) {
		uint32_t ninputs = 3 + (uint32_t)(next_random(&rng) % 4);
		int64_t window = (int64_t)(next_random(&rng) % 60);
		/* From a buffer of one (every push forces) to one with runs
		 * (8 nodes or more an input). */
		size_t max_buffered = 1 + (size_t)(next_random(&rng) % 120);
		struct sim s;

		sim_init(&s, next_random(&rng), ninputs, window, max_buffered);
		sim_run(&s, 1500, 5);
		rounds_forced += af_merge_forced(s.m[0]) > 0;
		rounds_with_runs += max_buffered >= 8 * ninputs;
		pops += s.pops;
		late += s.late_pops;
		held += s.held_at_cuts;
		idles += s.idles;
		sim_fini(&s);
	}
	/* The sequences did what they are for. */
	cr_assert_gt(rounds_forced, 10);
	cr_assert_gt(rounds_with_runs, 10);
	cr_assert_gt(late, 100, "%zu late of %zu", late, pops);
	cr_assert_gt(held, 1000, "events held at the cuts");
	cr_assert_gt(idles, 1000);
}

Test(merge_snapshot, goes_on_after_a_load_with_three_hundred_inputs_and_their_runs)
{
	struct sim s;

	/* 65536 / 300 gives each input a run of 128 nodes. */
	sim_init(&s, 300300, 300, 25, 65536);
	sim_run(&s, 20000, 4);
	cr_assert_gt(s.held_at_cuts, 1000, "%zu events held at the cuts", s.held_at_cuts);
	cr_assert_gt(s.late_pops, 0);
	sim_fini(&s);
}

Test(merge_snapshot, goes_on_after_a_load_with_three_hundred_inputs_and_a_full_heap)
{
	struct sim s;

	/* Too small a buffer for runs: the heap alone orders, and fills. */
	sim_init(&s, 600600, 300, 25, 700);
	sim_run(&s, 20000, 4);
	cr_assert_gt(af_merge_forced(s.m[0]), 0);
	cr_assert_gt(s.held_at_cuts, 1000, "%zu events held at the cuts", s.held_at_cuts);
	sim_fini(&s);
}

/* A merge of ninputs holding n events of input 0 (the others silent: all
 * are held): mostly in order, in its run, with every ninth one late and
 * in the heap. */
static struct af_merge *held_run(uint32_t ninputs, size_t max_buffered, size_t n)
{
	struct af_merge *m = af_merge_new(ninputs, 50, max_buffered);

	for (uint64_t k = 0; k < n; k++)
		push(m, 0, k, (int64_t)k * 10 - (k % 9 == 4 ? 80 : 0));
	return m;
}

/* Drains a and b (every input finished) and checks they let the same
 * events out in the same order with the same verdicts. */
static void assert_drain_alike(struct af_merge *a, struct af_merge *b, uint32_t ninputs, size_t n,
                               const char *what)
{
	for (uint32_t i = 0; i < ninputs; i++) {
		af_merge_finish(a, i);
		af_merge_finish(b, i);
	}
	for (size_t i = 0; i < n; i++) {
		struct af_event want, got;
		bool want_late, late;

		cr_assert(af_merge_pop(a, &want, &want_late));
		cr_assert(af_merge_pop(b, &got, &late), "%s: event %zu", what, i);
		cr_assert_eq(got.pos.seq, want.pos.seq, "%s: event %zu", what, i);
		cr_assert_eq(late, want_late, "%s: event %zu", what, i);
	}
	cr_assert_eq(af_merge_buffered(a), 0);
	cr_assert_eq(af_merge_buffered(b), 0);
}

static struct af_merge *small_state(void)
{
	struct af_merge *m = af_merge_new(2, 10, 16);

	push(m, 0, 0, 100);
	push(m, 0, 1, 80); /* late: key 90 */
	push(m, 1, 0, 95);
	push(m, 1, 1, 93); /* to the heap */
	af_merge_idle(m, 1);
	return m;
}

Test(merge_snapshot, leaves_the_merge_it_saves_unchanged)
{
	struct af_merge *m = small_state(), *twin = small_state();
	struct blob first = saved(m), again = saved(m);

	assert_same_bytes(&first, &again, "two saves in a row");
	cr_assert_eq(af_merge_buffered(m), 4);
	cr_assert_eq(af_merge_next_input(m), 0);
	assert_nothing_ready(m, "W = 100 - 10, and 90 is not before it");
	af_merge_advance(m, 0, 120);
	af_merge_advance(twin, 0, 120);
	assert_drain_alike(twin, m, 2, 4, "saved twice");
	free(first.p);
	free(again.p);
	af_merge_free(m);
	af_merge_free(twin);
}

Test(merge_snapshot, keeps_each_key_and_late_verdict_as_given_at_its_push)
{
	struct af_merge *m = af_merge_new(2, 10, 16);

	af_merge_advance(m, 0, 100);
	push(m, 0, 0, 85); /* late against 100: key 90 */
	push(m, 0, 1, 95); /* on time against 100 */
	/* Against this frontier, 95 would be late and 85 would key 990. */
	af_merge_advance(m, 0, 1000);
	struct blob b = saved(m);
	struct af_merge *c = loaded(&b, 2, 10, 16);
	push(c, 1, 0, 91);
	af_merge_finish(c, 0);
	af_merge_finish(c, 1);
	assert_pops(c, 0, 0, true);
	assert_pops(c, 1, 0, false);
	assert_pops(c, 0, 1, false);
	free(b.p);
	af_merge_free(m);
	af_merge_free(c);
}

Test(merge_snapshot, keeps_each_input_frontier_and_whether_it_is_finished_or_idle)
{
	struct af_merge *m = af_merge_new(4, 0, 16);

	push(m, 0, 0, 10);
	af_merge_finish(m, 0);
	push(m, 1, 0, 20);
	af_merge_idle(m, 1);
	push(m, 2, 0, 40);
	af_merge_advance(m, 3, 30);
	struct blob b = saved(m);
	struct af_merge *c = loaded(&b, 4, 0, 16);
	cr_assert_eq(af_merge_next_input(c), 3, "30 is the least awake frontier");
	assert_pops(c, 0, 0, false); /* W = 30 */
	assert_pops(c, 1, 0, false);
	assert_nothing_ready(c, "40 is not before 30");
	af_merge_wake(c, 1); /* input 1 holds W at 20 again */
	cr_assert_eq(af_merge_next_input(c), 1);
	af_merge_advance(c, 3, 50);
	af_merge_advance(c, 1, 50);
	assert_nothing_ready(c, "input 2 holds W at 40");
	af_merge_finish(c, 2);
	assert_pops(c, 2, 0, false);
	free(b.p);
	af_merge_free(m);
	af_merge_free(c);
}

Test(merge_snapshot, fits_saved_runs_into_the_shorter_runs_of_a_smaller_buffer)
{
	static const struct {
		uint32_t ninputs;
		size_t saved_with, loaded_into;
		const char *what;
	} cases[] = {
	    {2, 64, 40, "runs of 32 into runs of 16"},
	    {8, 64, 63, "runs of 8 into a buffer too small for runs"},
	    {2, 64, 1u << 20, "runs of 32 into runs of 4096"},
	};

	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct af_merge *m = held_run(cases[k].ninputs, cases[k].saved_with, 40);
		struct af_merge *twin = held_run(cases[k].ninputs, cases[k].saved_with, 40);
		struct blob b = saved(m);
		struct af_merge *c = loaded(&b, cases[k].ninputs, 50, cases[k].loaded_into);

		cr_assert_eq(af_merge_buffered(c), 40);
		assert_drain_alike(twin, c, cases[k].ninputs, 40, cases[k].what);
		af_merge_free(m);
		af_merge_free(twin);
		af_merge_free(c);
		free(b.p);
	}
}

Test(merge_snapshot, refuses_more_events_than_its_buffer_holds)
{
	struct af_merge *m = held_run(2, 64, 40);
	struct blob b = saved(m);
	struct af_merge *c = af_merge_new(2, 50, 39);
	char err[512];

	cr_assert_eq(load_bytes(c, b.p, b.len, err, sizeof err), AF_E_CONFIG);
	cr_assert_not_null(strstr(err, "max_buffered"), "%s", err);
	af_merge_free(c);
	c = af_merge_new(2, 50, 40);
	cr_assert_eq(load_bytes(c, b.p, b.len, err, sizeof err), AF_OK, "exactly full: %s", err);
	cr_assert(af_merge_full(c));
	af_merge_free(c);
	af_merge_free(m);
	free(b.p);
}

Test(merge_snapshot, refuses_a_state_saved_with_another_number_of_inputs)
{
	struct af_merge *m = held_run(2, 64, 10);
	struct blob b = saved(m);
	struct af_merge *c = af_merge_new(3, 50, 64);
	char err[512];

	cr_assert_eq(load_bytes(c, b.p, b.len, err, sizeof err), AF_E_CONFIG);
	cr_assert_not_null(strstr(err, "inputs"), "%s", err);
	af_merge_free(c);
	af_merge_free(m);
	free(b.p);
}

Test(merge_snapshot, refuses_a_state_saved_with_another_window)
{
	struct af_merge *m = held_run(2, 64, 10);
	struct blob b = saved(m);
	struct af_merge *c = af_merge_new(2, 49, 64);
	char err[512];

	cr_assert_eq(load_bytes(c, b.p, b.len, err, sizeof err), AF_E_CONFIG);
	cr_assert_not_null(strstr(err, "input.reorder_window"), "%s", err);
	af_merge_free(c);
	af_merge_free(m);
	free(b.p);
}

Test(merge_snapshot, refuses_a_state_cut_short_or_with_bytes_left_over)
{
	/* Heap and run nodes, idle and finished inputs, all in the bytes. */
	struct af_merge *m = held_run(2, 64, 12);
	af_merge_idle(m, 1);
	af_merge_finish(m, 0);
	bool late;
	cr_assert_not_null(af_merge_pop_ref(m, &late));
	struct blob b = saved(m);
	char err[512];

	cr_assert_gt(b.len, 11 * sizeof(struct af_event));
	for (size_t keep = 0; keep < b.len; keep += keep < 64 ? 1 : 97) {
		struct af_merge *c = af_merge_new(2, 50, 64);

		cr_assert_eq(load_bytes(c, b.p, keep, err, sizeof err), AF_E_FORMAT, "kept %zu",
		             keep);
		af_merge_free(c);
	}
	b.p[b.len] = 0;
	struct af_merge *c = af_merge_new(2, 50, 64);
	cr_assert_eq(load_bytes(c, b.p, b.len + 1, err, sizeof err), AF_E_FORMAT);
	cr_assert_not_null(strstr(err, "bytes follow"), "%s", err);
	af_merge_free(c);
	af_merge_free(m);
	free(b.p);
}

/* Where the saved state of a merge of ninputs puts the first heap node:
 * after the parameters (u32 inputs, u64 window, forced, events, heap
 * nodes) and each input's u64 frontier and u32 state. */
static size_t first_node_at(uint32_t ninputs)
{
	return 4 + 4 * 8 + (size_t)ninputs * 12;
}

/* b with the bytes at the places given changed must be refused. */
static void assert_refused(const struct blob *b, const size_t *at, const uint8_t *byte, size_t n,
                           const char *why)
{
	uint8_t *p = malloc(b->len);
	struct af_merge *c = af_merge_new(2, 50, 64);
	char err[512];

	memcpy(p, b->p, b->len);
	for (size_t i = 0; i < n; i++)
		p[at[i]] = byte[i];
	cr_assert_eq(load_bytes(c, p, b->len, err, sizeof err), AF_E_FORMAT, "%s", why);
	cr_assert_not_null(strstr(err, "damaged"), "%s: %s", why, err);
	af_merge_free(c);
	free(p);
}

#define REFUSED(b, why, ...)                                                                       \
	do {                                                                                       \
		const size_t at_[][2] = {__VA_ARGS__};                                             \
		size_t n_ = sizeof at_ / sizeof at_[0], pos_[4];                                   \
		uint8_t byte_[4];                                                                  \
		for (size_t i_ = 0; i_ < n_; i_++) {                                               \
			pos_[i_] = at_[i_][0];                                                     \
			byte_[i_] = (uint8_t)at_[i_][1];                                           \
		}                                                                                  \
		assert_refused(b, pos_, byte_, n_, why);                                           \
	} while (0)

Test(merge_snapshot, refuses_values_no_merge_could_hold)
{
	struct af_merge *m = af_merge_new(2, 50, 64);

	push(m, 0, 0, 100); /* the run */
	push(m, 0, 1, 90);  /* the heap: before the run's 100 */
	push(m, 0, 2, 80);  /* the heap's top */
	af_merge_advance(m, 1, 1000);
	struct blob b = saved(m);
	const size_t inputs = 4 + 4 * 8, heap = first_node_at(2);
	const size_t node = 8 + 1 + sizeof(struct af_event);
	const size_t input_of = 9 + offsetof(struct af_event, pos) + offsetof(struct af_pos, input);
	const size_t run = heap + 2 * node + 4; /* after input 0's run length */

	struct af_merge *c = loaded(&b, 2, 50, 64); /* as saved, the bytes load */
	af_merge_free(c);
	REFUSED(&b, "an input neither finished nor idle", {inputs + 8, 4});
	REFUSED(&b, "a key past its input's frontier", {inputs, 50});
	REFUSED(&b, "a verdict neither 0 nor 1", {heap + 8, 2});
	REFUSED(&b, "late, yet keyed at its own time", {heap + 8, 1});
	REFUSED(&b, "an input out of range", {heap + input_of, 2});
	REFUSED(&b, "an event of input 1 in input 0's run", {run + input_of, 1});
	REFUSED(&b, "the heap out of order", {heap + node, 70}, {heap + node + 9, 70});
	free(b.p);
	af_merge_free(m);
}
