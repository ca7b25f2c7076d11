/* test_dedup.c - af_dedup: duplicates within the retention, key 0, growth,
 * expiry and eviction at the cap, and the table against a naive model. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/dedup.h"

#define MIN 60000000000LL /* one minute in ns */

static struct af_dedup_stats stats_of(const struct af_dedup *d)
{
	struct af_dedup_stats st;

	af_dedup_stats(d, &st);
	return st;
}

Test(dedup, does_not_call_a_first_sighting_a_duplicate)
{
	struct af_dedup *d = af_dedup_new(10 * MIN, 100);

	cr_assert_not(af_dedup_check(d, 0x1234, 5 * MIN));
	cr_assert_eq(stats_of(d).entries, 1);
	cr_assert_eq(stats_of(d).duplicates, 0);
	af_dedup_free(d);
}

Test(dedup, calls_the_same_key_within_the_retention_a_duplicate)
{
	struct af_dedup *d = af_dedup_new(10 * MIN, 100);

	cr_assert_not(af_dedup_check(d, 0x1234, 5 * MIN));
	cr_assert(af_dedup_check(d, 0x1234, 5 * MIN));
	cr_assert(af_dedup_check(d, 0x1234, 15 * MIN));
	cr_assert_eq(stats_of(d).duplicates, 2);
	cr_assert_eq(stats_of(d).entries, 1);
	af_dedup_free(d);
}

Test(dedup, calls_an_earlier_time_within_the_retention_a_duplicate_too)
{
	struct af_dedup *d = af_dedup_new(10 * MIN, 100);

	cr_assert_not(af_dedup_check(d, 7, 60 * MIN));
	cr_assert(af_dedup_check(d, 7, 50 * MIN));
	cr_assert_not(af_dedup_check(d, 7, 50 * MIN - 1));
	af_dedup_free(d);
}

Test(dedup, tells_different_keys_apart)
{
	struct af_dedup *d = af_dedup_new(10 * MIN, 100);

	cr_assert_not(af_dedup_check(d, 1, 0));
	cr_assert_not(af_dedup_check(d, 2, 0));
	cr_assert_not(af_dedup_check(d, UINT64_MAX, 0));
	cr_assert_eq(stats_of(d).entries, 3);
	af_dedup_free(d);
}

Test(dedup, keeps_the_first_time_of_a_duplicate)
{
	struct af_dedup *d = af_dedup_new(10 * MIN, 100);

	cr_assert_not(af_dedup_check(d, 9, 0));
	cr_assert(af_dedup_check(d, 9, 10 * MIN));
	/* Measured from 0, not from the duplicate at 10 min. */
	cr_assert_not(af_dedup_check(d, 9, 20 * MIN));
	af_dedup_free(d);
}

Test(dedup, starts_a_new_window_for_a_key_seen_again_after_the_retention)
{
	struct af_dedup *d = af_dedup_new(10 * MIN, 100);

	cr_assert_not(af_dedup_check(d, 9, 0));
	cr_assert_not(af_dedup_check(d, 9, 11 * MIN));
	cr_assert(af_dedup_check(d, 9, 21 * MIN));
	cr_assert_eq(stats_of(d).entries, 1);
	af_dedup_free(d);
}

Test(dedup, handles_key_zero_as_an_ordinary_key)
{
	struct af_dedup *d = af_dedup_new(10 * MIN, 100);

	cr_assert_not(af_dedup_check(d, 0, 0));
	cr_assert(af_dedup_check(d, 0, MIN));
	cr_assert_not(af_dedup_check(d, 1, MIN));
	cr_assert_not(af_dedup_check(d, 0, 20 * MIN));
	cr_assert(af_dedup_check(d, 0, 21 * MIN));
	cr_assert_eq(stats_of(d).entries, 2);
	af_dedup_free(d);
}

Test(dedup, grows_to_hold_max_entries_without_forgetting)
{
	const size_t n = 5000;
	struct af_dedup *d = af_dedup_new(10 * MIN, n);

	cr_assert_lt(stats_of(d).capacity, n, "should start small");
	for (uint64_t k = 0; k < n; k++)
		cr_assert_not(af_dedup_check(d, k * 0x10000, (int64_t)k));
	for (uint64_t k = 0; k < n; k++)
		cr_assert(af_dedup_check(d, k * 0x10000, (int64_t)k));
	cr_assert_eq(stats_of(d).entries, n);
	cr_assert_eq(stats_of(d).capacity, n);
	cr_assert_eq(stats_of(d).evictions, 0);
	cr_assert_eq(stats_of(d).expirations, 0);
	af_dedup_free(d);
}

Test(dedup, forgets_expired_ids_first_when_full)
{
	struct af_dedup *d = af_dedup_new(100, 8);

	for (uint64_t k = 1; k <= 4; k++)
		af_dedup_check(d, k, 0);
	for (uint64_t k = 5; k <= 8; k++)
		af_dedup_check(d, k, 150);
	/* Full; the newest time becomes 200, so ids older than 100 go. */
	cr_assert_not(af_dedup_check(d, 9, 200));
	struct af_dedup_stats st = stats_of(d);
	cr_assert_eq(st.expirations, 4);
	cr_assert_eq(st.evictions, 0);
	cr_assert_eq(st.entries, 5);
	for (uint64_t k = 5; k <= 9; k++)
		cr_assert(af_dedup_check(d, k, 200), "key %lu", (unsigned long)k);
	/* Key 1 at 50 would have been within the retention of its time 0. */
	cr_assert_not(af_dedup_check(d, 1, 50));
	af_dedup_free(d);
}

Test(dedup, evicts_the_least_recently_remembered_id_when_none_expired)
{
	struct af_dedup *d = af_dedup_new(1000 * MIN, 8);

	for (uint64_t k = 1; k <= 8; k++)
		af_dedup_check(d, 100 + k, (int64_t)k);
	cr_assert_not(af_dedup_check(d, 200, 10));
	struct af_dedup_stats st = stats_of(d);
	cr_assert_eq(st.evictions, 1);
	cr_assert_eq(st.expirations, 0);
	cr_assert_eq(st.entries, 8);
	for (uint64_t k = 2; k <= 8; k++)
		cr_assert(af_dedup_check(d, 100 + k, 10), "key %lu", (unsigned long)(100 + k));
	cr_assert(af_dedup_check(d, 200, 10));
	cr_assert_not(af_dedup_check(d, 101, 10), "key 101 should have been evicted");
	af_dedup_free(d);
}

Test(dedup, evicts_in_the_order_remembered_whatever_the_keys)
{
	struct af_dedup *d = af_dedup_new(1000 * MIN, 4);

	af_dedup_check(d, 30, 5);
	af_dedup_check(d, 0, 5);
	af_dedup_check(d, 20, 5);
	af_dedup_check(d, 10, 5);
	af_dedup_check(d, 40, 5);
	af_dedup_check(d, 50, 5);
	cr_assert_eq(stats_of(d).evictions, 2);
	cr_assert(af_dedup_check(d, 20, 5));
	cr_assert(af_dedup_check(d, 10, 5));
	cr_assert_not(af_dedup_check(d, 30, 5), "key 30 was remembered first");
	af_dedup_free(d);
}

Test(dedup, moves_an_id_seen_again_after_its_retention_to_the_back)
{
	struct af_dedup *d = af_dedup_new(10, 4);

	for (uint64_t k = 1; k <= 4; k++)
		af_dedup_check(d, k, (int64_t)k);
	cr_assert_not(af_dedup_check(d, 1, 20), "beyond the retention: remembered anew");
	/* Newest 21, so ids before 11 are expired; a new id drops two from
	 * the front: key 1 (now at 20) goes to the back, key 2 expires. */
	cr_assert_not(af_dedup_check(d, 5, 21));
	struct af_dedup_stats st = stats_of(d);
	cr_assert_eq(st.expirations, 1);
	cr_assert_eq(st.evictions, 0);
	cr_assert_eq(st.entries, 4);
	/* Full again: the front (3, 4) expires to make room. */
	cr_assert_not(af_dedup_check(d, 6, 21));
	st = stats_of(d);
	cr_assert_eq(st.expirations, 3);
	cr_assert_eq(st.entries, 3);
	cr_assert(af_dedup_check(d, 1, 25));
	cr_assert(af_dedup_check(d, 5, 25));
	cr_assert_not(af_dedup_check(d, 2, 5));
	af_dedup_free(d);
}

Test(dedup, never_holds_more_than_max_entries)
{
	const size_t cap = 1000;
	struct af_dedup *d = af_dedup_new(MIN, cap);
	uint64_t inserted = 0;

	for (uint64_t i = 0; i < 200000; i++) {
		/* Distinct keys; time runs forward 1 ms a record with some jitter. */
		int64_t ts = (int64_t)i * 1000000 + (int64_t)(i * 7919 % 13) * 1000000;

		inserted += !af_dedup_check(d, i * 0x9E3779B97F4A7C15ULL, ts);
		cr_assert_leq(stats_of(d).entries, cap);
	}
	struct af_dedup_stats st = stats_of(d);
	cr_assert_eq(inserted, 200000);
	cr_assert_eq(st.entries + st.evictions + st.expirations, inserted);
	cr_assert_gt(st.evictions, 0);
	af_dedup_free(d);
}

/* A naive model of the documented policy: arrays of (key, stored ts) and a
 * queue of (key, ts when remembered), both of at most cap entries. */
struct model {
	uint64_t *keys, *qkeys;
	int64_t *ts, *qts;
	size_t n, cap;
	int64_t retention, newest;
	uint64_t evictions, expirations;
};

static size_t model_find(const struct model *m, uint64_t key)
{
	for (size_t i = 0; i < m->n; i++) {
		if (m->keys[i] == key)
			return i;
	}
	return SIZE_MAX;
}

/* Removes the front of the queue and the key from the table. */
static void model_drop_front(struct model *m)
{
	size_t i = model_find(m, m->qkeys[0]);

	m->keys[i] = m->keys[m->n - 1];
	m->ts[i] = m->ts[m->n - 1];
	m->n--;
	memmove(m->qkeys, m->qkeys + 1, m->n * sizeof *m->qkeys);
	memmove(m->qts, m->qts + 1, m->n * sizeof *m->qts);
}

/* The front id was remembered anew at now: its place is at the back. */
static void model_requeue_front(struct model *m, int64_t now)
{
	uint64_t k = m->qkeys[0];

	memmove(m->qkeys, m->qkeys + 1, (m->n - 1) * sizeof *m->qkeys);
	memmove(m->qts, m->qts + 1, (m->n - 1) * sizeof *m->qts);
	m->qkeys[m->n - 1] = k;
	m->qts[m->n - 1] = now;
}

static bool model_check(struct model *m, uint64_t key, int64_t ts)
{
	size_t i = model_find(m, key);

	if (ts > m->newest)
		m->newest = ts;
	if (i != SIZE_MAX) {
		if (llabs(ts - m->ts[i]) <= m->retention)
			return true;
		m->ts[i] = ts;
		return false;
	}
	/* Every new id first drops up to two expired ids from the front
	 * (moving one remembered anew to the back counts as one). */
	for (int budget = 2; budget > 0 && m->n > 0; budget--) {
		int64_t now = m->ts[model_find(m, m->qkeys[0])];

		if (now != m->qts[0]) {
			model_requeue_front(m, now);
			continue;
		}
		if (now >= m->newest - m->retention)
			break;
		m->expirations++;
		model_drop_front(m);
	}
	if (m->n == m->cap) {
		bool freed = false;

		while (m->n > 0) {
			int64_t now = m->ts[model_find(m, m->qkeys[0])];

			if (now != m->qts[0]) {
				model_requeue_front(m, now);
				continue;
			}
			if (now >= m->newest - m->retention) {
				if (freed)
					break;
				m->evictions++;
			} else {
				m->expirations++;
			}
			model_drop_front(m);
			freed = true;
		}
	}
	m->keys[m->n] = key;
	m->ts[m->n] = ts;
	m->qkeys[m->n] = key;
	m->qts[m->n++] = ts;
	return false;
}

/* xorshift64*: a fixed-seed generator, so a failure can be replayed. */
static uint64_t next_random(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545F4914F6CDD1DULL;
}

static void compare_with_model(size_t cap, uint64_t pool, int64_t retention, uint64_t seed)
{
	struct af_dedup *d = af_dedup_new(retention, cap);
	struct model m = {
	    .keys = calloc(cap, sizeof(uint64_t)),
	    .qkeys = calloc(cap, sizeof(uint64_t)),
	    .ts = calloc(cap, sizeof(int64_t)),
	    .qts = calloc(cap, sizeof(int64_t)),
	    .cap = cap,
	    .retention = retention,
	    .newest = INT64_MIN,
	};
	uint64_t rng = seed;
	int64_t clock = 1000;

	for (int i = 0; i < 60000; i++) {
		/* Keys from a pool (repeats happen), some 0; time mostly forward. */
		uint64_t key = next_random(&rng) % pool * 0x100000001ULL;
		int64_t ts = clock - (int64_t)(next_random(&rng) % 50);

		clock += (int64_t)(next_random(&rng) % 4);
		bool got = af_dedup_check(d, key, ts);
		bool want = model_check(&m, key, ts);
		cr_assert_eq(got, want, "call %d: key %llu ts %lld", i, (unsigned long long)key,
		             (long long)ts);
	}
	struct af_dedup_stats st = stats_of(d);
	cr_assert_eq(st.entries, m.n);
	cr_assert_eq(st.evictions, m.evictions);
	cr_assert_eq(st.expirations, m.expirations);
	cr_assert_gt(st.duplicates, 0);
	cr_assert_gt(m.evictions + m.expirations, 0);
	free(m.keys);
	free(m.qkeys);
	free(m.ts);
	free(m.qts);
	af_dedup_free(d);
}

Test(dedup, agrees_with_a_naive_model_when_small)
{
	compare_with_model(5, 12, 40, 1);
	compare_with_model(1, 3, 40, 2);
}

Test(dedup, agrees_with_a_naive_model_through_growth_and_compaction)
{
	compare_with_model(300, 1000, 2000, 3);
	compare_with_model(100, 400, 100000, 4); /* nothing expires: evictions only */
	compare_with_model(200, 500, 300, 5);    /* many ids seen again after retention */
}

Test(dedup, gives_the_same_answers_for_the_same_calls)
{
	struct af_dedup *a = af_dedup_new(500, 64);
	struct af_dedup *b = af_dedup_new(500, 64);
	uint64_t rng = 99;

	for (int i = 0; i < 20000; i++) {
		uint64_t key = next_random(&rng) % 300;
		int64_t ts = i + (int64_t)(next_random(&rng) % 100);

		cr_assert_eq(af_dedup_check(a, key, ts), af_dedup_check(b, key, ts));
	}
	struct af_dedup_stats sa = stats_of(a), sb = stats_of(b);
	cr_assert_eq(sa.entries, sb.entries);
	cr_assert_eq(sa.duplicates, sb.duplicates);
	cr_assert_eq(sa.expirations, sb.expirations);
	cr_assert_eq(sa.evictions, sb.evictions);
	cr_assert_gt(sa.evictions + sa.expirations, 0);
	af_dedup_free(a);
	af_dedup_free(b);
}
