/* test_merge.c - af_merge: interleaving, reordering within the window, late
 * events, tie order, a full buffer, draining, and random inputs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/merge.h"

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

/* One input's events, in read order. */
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

/* Drives m as merge.h describes: read the input af_merge_next_input names,
 * push or finish it, pop what is ready. Input i's k-th event gets
 * seq = i * 1000000 + k. */
static struct out run(struct af_merge *m, const struct feed *feeds, size_t nfeeds)
{
	size_t total = 0, *next = calloc(nfeeds, sizeof *next);
	struct out o = {0};

	for (size_t i = 0; i < nfeeds; i++)
		total += feeds[i].n;
	o.ev = calloc(total + 1, sizeof *o.ev);
	o.late = calloc(total + 1, sizeof *o.late);
	for (uint32_t in; (in = af_merge_next_input(m)) != UINT32_MAX;) {
		cr_assert_lt(in, nfeeds);
		if (next[in] == feeds[in].n) {
			af_merge_finish(m, in);
		} else {
			struct af_event ev =
			    event(in, in * 1000000ULL + next[in], feeds[in].ts[next[in]]);

			cr_assert_not(af_merge_full(m));
			af_merge_push(m, &ev);
			next[in]++;
		}
		if (af_merge_buffered(m) > o.max_buffered_seen)
			o.max_buffered_seen = af_merge_buffered(m);
		while (af_merge_pop(m, &o.ev[o.n], &o.late[o.n])) {
			cr_assert_lt(o.n, total);
			o.n++;
		}
	}
	cr_assert_eq(af_merge_buffered(m), 0, "everything leaves once all inputs finish");
	free(next);
	return o;
}

static void out_free(struct out *o)
{
	free(o->ev);
	free(o->late);
}

static void assert_output(const struct out *o, const int64_t *want_ts, size_t n)
{
	cr_assert_eq(o->n, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(o->ev[i].ts_ns, want_ts[i], "event %zu: %lld, want %lld", i,
		             (long long)o->ev[i].ts_ns, (long long)want_ts[i]);
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
	af_merge_push(m, &ev);
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

Test(merge, flags_late_against_the_latest_time_popped_not_the_last)
{
	static const int64_t a[] = {100, 200, 300, 150, 160, 310};
	static const bool want_late[] = {false, false, true, true, false, false};
	struct feed feeds[] = {{a, 6}};
	struct af_merge *m = af_merge_new(1, 10, 16);
	struct out o = run(m, feeds, 1);

	cr_assert_eq(o.n, 6);
	for (size_t i = 0; i < o.n; i++)
		cr_assert_eq(o.late[i], want_late[i], "event %zu", i);
	out_free(&o);
	af_merge_free(m);
}

Test(merge, breaks_ties_by_input_then_record_number)
{
	struct af_merge *m = af_merge_new(2, 0, 8);
	struct af_event in[] = {event(0, 3, 5), event(0, 1, 5), event(1, 0, 5)};
	struct af_event got;
	bool late;

	for (size_t i = 0; i < 3; i++)
		af_merge_push(m, &in[i]);
	cr_assert(af_merge_pop(m, &got, &late));
	cr_assert_eq(got.pos.input, 0);
	cr_assert_eq(got.pos.seq, 1);
	cr_assert(af_merge_pop(m, &got, &late));
	cr_assert_eq(got.pos.input, 0);
	cr_assert_eq(got.pos.seq, 3);
	cr_assert(af_merge_pop(m, &got, &late));
	cr_assert_eq(got.pos.input, 1);
	cr_assert_eq(got.pos.seq, 0);
	cr_assert_not(af_merge_pop(m, &got, &late));
	af_merge_free(m);
}

Test(merge, holds_everything_until_every_input_has_produced)
{
	struct af_merge *m = af_merge_new(2, 0, 8);
	struct af_event a = event(0, 0, 5), b = event(1, 1, 100), got;
	bool late;

	af_merge_push(m, &a);
	cr_assert_not(af_merge_pop(m, &got, &late), "input 1 could still send an earlier event");
	af_merge_push(m, &b);
	cr_assert(af_merge_pop(m, &got, &late));
	cr_assert_eq(got.ts_ns, 5);
	cr_assert_not(af_merge_pop(m, &got, &late));
	af_merge_free(m);
}

Test(merge, pops_the_minimum_when_the_buffer_is_full)
{
	struct af_merge *m = af_merge_new(2, 0, 3);
	struct af_event in[] = {event(0, 0, 50), event(0, 1, 10), event(0, 2, 30)};
	struct af_event got;
	bool late = true;

	for (size_t i = 0; i < 3; i++) {
		cr_assert_not(af_merge_pop(m, &got, &late));
		af_merge_push(m, &in[i]);
	}
	cr_assert(af_merge_full(m));
	cr_assert(af_merge_pop(m, &got, &late), "a full buffer must make room");
	cr_assert_eq(got.ts_ns, 10);
	cr_assert_not(late);
	cr_assert_not(af_merge_pop(m, &got, &late), "input 1 is still silent");
	cr_assert_eq(af_merge_buffered(m), 2);
	af_merge_free(m);
}

Test(merge, flags_events_that_a_full_buffer_let_overtake)
{
	static const int64_t a[] = {10, 20, 30, 40, 50, 60}, b[] = {1, 2, 3, 4, 5, 6};
	struct feed feeds[] = {{a, 6}, {b, 6}};
	/* A window so wide nothing leaves but by a full buffer. */
	struct af_merge *m = af_merge_new(2, 1000, 3);
	struct out o = run(m, feeds, 2);
	int64_t max = INT64_MIN;

	cr_assert_eq(o.n, 12);
	cr_assert_leq(o.max_buffered_seen, 3);
	for (size_t i = 0; i < o.n; i++) {
		cr_assert_eq(o.late[i], o.ev[i].ts_ns < max, "event %zu", i);
		if (o.ev[i].ts_ns > max)
			max = o.ev[i].ts_ns;
	}
	out_free(&o);
	af_merge_free(m);
}

Test(merge, drains_everything_in_order_when_all_inputs_finish)
{
	struct af_merge *m = af_merge_new(2, 1000, 8);
	struct af_event in[] = {event(0, 0, 30), event(1, 1, 10), event(0, 2, 20)};
	struct af_event got;
	bool late;

	for (size_t i = 0; i < 3; i++)
		af_merge_push(m, &in[i]);
	cr_assert_not(af_merge_pop(m, &got, &late));
	af_merge_finish(m, 0);
	cr_assert_not(af_merge_pop(m, &got, &late), "input 1 still holds the watermark");
	af_merge_finish(m, 1);
	cr_assert_eq(af_merge_next_input(m), UINT32_MAX);
	for (int64_t want = 10; want <= 30; want += 10) {
		cr_assert(af_merge_pop(m, &got, &late));
		cr_assert_eq(got.ts_ns, want);
		cr_assert_not(late);
	}
	cr_assert_not(af_merge_pop(m, &got, &late));
	af_merge_free(m);
}

Test(merge, stops_a_finished_input_from_holding_back_the_others)
{
	struct af_merge *m = af_merge_new(2, 10, 8);
	struct af_event a = event(0, 0, 5), b = event(1, 1, 100), got;
	bool late;

	af_merge_push(m, &a);
	af_merge_finish(m, 0);
	cr_assert_not(af_merge_pop(m, &got, &late), "input 1 has sent nothing yet");
	af_merge_push(m, &b);
	cr_assert(af_merge_pop(m, &got, &late));
	cr_assert_eq(got.ts_ns, 5);
	cr_assert_not(af_merge_pop(m, &got, &late), "100 is within the window of 100");
	af_merge_free(m);
}

Test(merge, asks_for_each_input_once_then_the_smallest_frontier)
{
	struct af_merge *m = af_merge_new(3, 0, 8);
	struct af_event e0 = event(0, 0, 100), e1 = event(1, 1, 50), e2 = event(2, 2, 70);
	struct af_event e1b = event(1, 3, 90), e1c = event(1, 4, 200);

	cr_assert_eq(af_merge_next_input(m), 0);
	af_merge_push(m, &e0);
	cr_assert_eq(af_merge_next_input(m), 1);
	af_merge_push(m, &e1);
	cr_assert_eq(af_merge_next_input(m), 2);
	af_merge_push(m, &e2);
	cr_assert_eq(af_merge_next_input(m), 1);
	af_merge_push(m, &e1b);
	cr_assert_eq(af_merge_next_input(m), 2);
	af_merge_finish(m, 2);
	cr_assert_eq(af_merge_next_input(m), 1);
	af_merge_push(m, &e1c);
	cr_assert_eq(af_merge_next_input(m), 0);
	af_merge_finish(m, 0);
	af_merge_finish(m, 1);
	cr_assert_eq(af_merge_next_input(m), UINT32_MAX);
	af_merge_free(m);
}

Test(merge, holds_a_single_ordered_input_back_only_by_the_window)
{
	struct af_merge *m = af_merge_new(1, 10, 64);
	int64_t next_out = 0;

	for (int64_t t = 0; t < 100; t++) {
		struct af_event ev = event(0, (uint64_t)t, t), got;
		bool late;

		af_merge_push(m, &ev);
		while (af_merge_pop(m, &got, &late)) {
			cr_assert_eq(got.ts_ns, next_out++);
			cr_assert_not(late);
		}
		/* Everything at or before t - 10 has left; (t-10, t] remains. */
		cr_assert_eq(next_out, t >= 10 ? t - 9 : 0);
		cr_assert_eq(af_merge_buffered(m), (size_t)(t >= 10 ? 10 : t + 1));
	}
	af_merge_free(m);
}

/* xorshift64*: a fixed-seed generator, so a failure can be replayed. */
static uint64_t next_random(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545F4914F6CDD1DULL;
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

static int by_position(const void *a, const void *b)
{
	const struct af_event *x = a, *y = b;

	return x->pos.seq < y->pos.seq ? -1 : x->pos.seq > y->pos.seq;
}

/* Output is exactly the input: each (input, k) once, with its time. */
static void assert_permutation(struct out *o, const struct feed *feeds, size_t nfeeds)
{
	size_t total = 0, j = 0;

	for (size_t i = 0; i < nfeeds; i++)
		total += feeds[i].n;
	cr_assert_eq(o->n, total);
	struct af_event *sorted = malloc((total + 1) * sizeof *sorted);
	memcpy(sorted, o->ev, total * sizeof *sorted);
	qsort(sorted, total, sizeof *sorted, by_position);
	for (size_t i = 0; i < nfeeds; i++) {
		for (size_t k = 0; k < feeds[i].n; k++, j++) {
			cr_assert_eq(sorted[j].pos.seq, i * 1000000 + k);
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
		for (size_t i = 0; i < o.n; i++) {
			cr_assert_not(o.late[i], "round %d event %zu", round, i);
			if (i > 0) {
				const struct af_event *p = &o.ev[i - 1], *c = &o.ev[i];

				cr_assert(p->ts_ns < c->ts_ns ||
				              (p->ts_ns == c->ts_ns && p->pos.seq < c->pos.seq),
				          "round %d: event %zu out of order", round, i);
			}
		}
		out_free(&o);
		af_merge_free(m);
		for (size_t i = 0; i < nfeeds; i++)
			free(bufs[i]);
	}
}

Test(merge, delivers_every_random_event_once_and_flags_exactly_the_late_ones)
{
	uint64_t rng = 77;

	for (int round = 0; round < 200; round++) {
		size_t nfeeds = 1 + (size_t)(next_random(&rng) % 6);
		int64_t disorder = 1 + (int64_t)(next_random(&rng) % 200);
		int64_t window = (int64_t)(next_random(&rng) % 50);
		size_t max_buffered = 1 + (size_t)(next_random(&rng) % 40);
		struct feed feeds[6];
		int64_t *bufs[6];
		int64_t max = INT64_MIN;

		random_feeds(&rng, feeds, bufs, nfeeds, disorder);
		struct af_merge *m = af_merge_new((uint32_t)nfeeds, window, max_buffered);
		struct out o = run(m, feeds, nfeeds);

		assert_permutation(&o, feeds, nfeeds);
		cr_assert_leq(o.max_buffered_seen, max_buffered);
		for (size_t i = 0; i < o.n; i++) {
			cr_assert_eq(o.late[i], o.ev[i].ts_ns < max, "round %d event %zu", round,
			             i);
			if (o.ev[i].ts_ns > max)
				max = o.ev[i].ts_ns;
		}
		out_free(&o);
		af_merge_free(m);
		for (size_t i = 0; i < nfeeds; i++)
			free(bufs[i]);
	}
}
