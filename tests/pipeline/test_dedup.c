/* test_dedup.c - af_dedup: duplicates within the retention, key 0, growth,
 * expiry and eviction at the cap, and the table against a naive model;
 * snapshots: a filter loaded from another's goes on exactly as the
 * original (the same answers, stats and next snapshot's bytes), and a
 * snapshot that is cut short, damaged or made for other settings is
 * refused. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/dedup.h"
#include "pipeline/snapshot.h"

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

/* ---- snapshots ---- */

#define SNAP_LAYOUT UINT64_C(0x6465647570)
#define SNAP_TAG    3

/* Where af_dedup_save puts things (see dedup.c), for the damage tests. */
#define AT_SLOTS     16
#define AT_MAX_SLOTS 24
#define AT_NEWEST    32
#define AT_COUNT     64
#define AT_IDS       72
#define ID_BYTES     24

/* A saved state, with one spare byte past len for the leftover test. */
struct saved {
	uint8_t *p;
	size_t len;
};

/* d's state as af_dedup_save writes it, read back from a real snapshot. */
static struct saved save_of(const struct af_dedup *d)
{
	char dir[] = "/tmp/af-dedup-XXXXXX", path[64], err[512];
	struct af_snap_writer *w;
	struct af_snap_reader *r;
	struct af_snap_view v;
	struct saved s;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dedup.snap", dir);
	cr_assert_eq(af_snap_create(path, SNAP_LAYOUT, &w, err, sizeof(err)), AF_OK, "%s", err);
	af_snap_begin(w, SNAP_TAG);
	af_dedup_save(d, w);
	cr_assert_eq(af_snap_commit(w, err, sizeof(err)), AF_OK, "%s", err);
	cr_assert_eq(af_snap_open(path, SNAP_LAYOUT, &r, err, sizeof(err)), AF_OK, "%s", err);
	cr_assert(af_snap_find(r, SNAP_TAG, &v));
	s.len = v.len;
	s.p = malloc(v.len + 1);
	cr_assert_not_null(s.p);
	memcpy(s.p, v.p, v.len);
	s.p[v.len] = 0;
	af_snap_close(r);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(rmdir(dir), 0);
	return s;
}

/* Load the first len bytes of s into a new filter, returned in *out
 * (freed here, and NULL, when the load fails). */
static af_err_t load_from(const struct saved *s, size_t len, int64_t retention, size_t max_entries,
                          struct af_dedup **out, char *err, size_t err_size)
{
	struct af_snap_view v = {.p = s->p, .len = len};
	struct af_dedup *d = af_dedup_new(retention, max_entries);

	cr_assert_not_null(d);
	err[0] = '\0';
	af_err_t e = af_dedup_load(d, &v, err, err_size);
	if (e != AF_OK) {
		af_dedup_free(d);
		d = NULL;
	}
	*out = d;
	return e;
}

static struct af_dedup *loaded(const struct saved *s, int64_t retention, size_t max_entries)
{
	struct af_dedup *d;
	char err[512];

	cr_assert_eq(load_from(s, s->len, retention, max_entries, &d, err, sizeof(err)), AF_OK,
	             "%s", err);
	return d;
}

static uint64_t get64(const struct saved *s, size_t at)
{
	uint64_t x = 0;

	for (int i = 7; i >= 0; i--)
		x = x << 8 | s->p[at + (size_t)i];
	return x;
}

static void put64(struct saved *s, size_t at, uint64_t x)
{
	for (int i = 0; i < 8; i++)
		s->p[at + (size_t)i] = (uint8_t)(x >> (8 * i));
}

static bool holds_key(const struct saved *s, uint64_t key)
{
	for (uint64_t i = 0; i < get64(s, AT_COUNT); i++) {
		if (get64(s, AT_IDS + (size_t)i * ID_BYTES) == key)
			return true;
	}
	return false;
}

static void assert_same_stats(const struct af_dedup_stats *a, const struct af_dedup_stats *b,
                              size_t call)
{
	cr_assert_eq(a->entries, b->entries, "after call %zu", call);
	cr_assert_eq(a->capacity, b->capacity, "after call %zu", call);
	cr_assert_eq(a->duplicates, b->duplicates, "after call %zu", call);
	cr_assert_eq(a->expirations, b->expirations, "after call %zu", call);
	cr_assert_eq(a->evictions, b->evictions, "after call %zu", call);
}

static void assert_same_bytes(const struct saved *a, const struct saved *b, const char *what)
{
	cr_assert_eq(a->len, b->len, "%s: %zu bytes against %zu", what, a->len, b->len);
	cr_assert(memcmp(a->p, b->p, a->len) == 0, "%s: the states differ", what);
}

/* splitmix64: a fixed-seed generator, so a failure can be replayed. */
static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

struct call {
	uint64_t key;
	int64_t ts;
};

/* What a sequence is made of. */
struct mix {
	int64_t retention;
	size_t max_entries;
	uint64_t pool;   /* distinct keys, key 0 apart; more than max_entries evicts */
	unsigned step;   /* the clock advances 0..step-1 a call */
	unsigned jitter; /* times up to this much behind the clock */
};

#define NCALLS 30000

/* NCALLS calls: keys from the pool (repeats within and beyond the
 * retention) or key 0; times mostly forward, some behind the clock, a few
 * far behind (beyond the retention of what was seen since). */
static struct call *make_calls(const struct mix *m, uint64_t seed)
{
	struct call *c = calloc(NCALLS, sizeof(*c));
	int64_t clock = 1000000;

	cr_assert_not_null(c);
	for (size_t i = 0; i < NCALLS; i++) {
		uint64_t r = splitmix(&seed);

		c[i].key = r % 16 == 0 ? 0 : ((r >> 8) % m->pool + 1) * 0x9E3779B97F4A7C15ull;
		c[i].ts = clock - (int64_t)((r >> 32) % (m->jitter + 1));
		if ((r >> 48) % 64 == 0)
			c[i].ts -= 3 * m->retention;
		clock += (int64_t)((r >> 56) % m->step);
	}
	return c;
}

/* For each cut: a filter runs the calls up to it and saves; a new one
 * loads that and runs the rest. Every answer and stat after the cut, and
 * the final state's bytes, must be those of one filter that ran them all. */
static void goes_on_at_every_cut(const struct mix *m, uint64_t seed, struct af_dedup_stats *end)
{
	struct call *c = make_calls(m, seed);
	bool *answer = calloc(NCALLS, sizeof(*answer));
	struct af_dedup_stats *st = calloc(NCALLS, sizeof(*st));
	struct af_dedup *a = af_dedup_new(m->retention, m->max_entries);
	size_t cuts[12] = {0, 1, 2, 100, NCALLS / 3, NCALLS / 2 + 1, NCALLS - 1, NCALLS};
	bool zero_saved = false;

	cr_assert(answer != NULL && st != NULL && a != NULL);
	for (size_t i = 0; i < NCALLS; i++) {
		answer[i] = af_dedup_check(a, c[i].key, c[i].ts);
		st[i] = stats_of(a);
	}
	struct saved whole = save_of(a);
	for (size_t k = 8; k < 12; k++)
		cuts[k] = splitmix(&seed) % NCALLS;

	for (size_t k = 0; k < 12; k++) {
		size_t cut = cuts[k];
		struct af_dedup *b = af_dedup_new(m->retention, m->max_entries);

		cr_assert_not_null(b);
		for (size_t i = 0; i < cut; i++)
			cr_assert_eq(af_dedup_check(b, c[i].key, c[i].ts), answer[i]);
		struct saved s = save_of(b);
		af_dedup_free(b);
		zero_saved |= holds_key(&s, 0);

		struct af_dedup *d = loaded(&s, m->retention, m->max_entries);
		if (cut > 0) {
			struct af_dedup_stats now = stats_of(d);
			assert_same_stats(&now, &st[cut - 1], cut - 1);
		}
		for (size_t i = cut; i < NCALLS; i++) {
			cr_assert_eq(af_dedup_check(d, c[i].key, c[i].ts), answer[i],
			             "cut at %zu: call %zu answers otherwise", cut, i);
			struct af_dedup_stats now = stats_of(d);
			assert_same_stats(&now, &st[i], i);
		}
		struct saved after = save_of(d);
		assert_same_bytes(&after, &whole, "the final state");
		free(after.p);
		free(s.p);
		af_dedup_free(d);
	}
	cr_assert(zero_saved, "no cut saved key 0");
	*end = st[NCALLS - 1];
	free(whole.p);
	af_dedup_free(a);
	free(st);
	free(answer);
	free(c);
}

Test(dedup, goes_on_from_a_snapshot_through_growth_and_evictions)
{
	/* About 3000 ids within the retention for 1000 places: the table
	 * grows from 64 slots to its cap, then evicts. */
	struct mix m = {
	    .retention = 5000, .max_entries = 1000, .pool = 3000, .step = 4, .jitter = 50};
	struct af_dedup_stats end;

	goes_on_at_every_cut(&m, 11, &end);
	cr_assert_eq(end.capacity, 1000);
	cr_assert_gt(end.evictions, 1000);
	cr_assert_gt(end.expirations, 0);
	cr_assert_gt(end.duplicates, 1000);
}

Test(dedup, goes_on_from_a_snapshot_when_ids_mostly_expire)
{
	/* Retention short against the clock: ids expire, and come back after
	 * their retention to be moved to the back of the ring. */
	struct mix m = {
	    .retention = 200, .max_entries = 300, .pool = 600, .step = 3, .jitter = 250};
	struct af_dedup_stats end;

	goes_on_at_every_cut(&m, 12, &end);
	cr_assert_gt(end.expirations, 1000);
	cr_assert_gt(end.duplicates, 1000);
}

Test(dedup, goes_on_from_a_snapshot_when_tiny)
{
	struct mix m = {.retention = 40, .max_entries = 5, .pool = 12, .step = 4, .jitter = 50};
	struct af_dedup_stats end;

	goes_on_at_every_cut(&m, 13, &end);
	cr_assert_gt(end.evictions, 100);
	cr_assert_gt(end.expirations, 100);
}

Test(dedup, is_left_as_it_was_by_a_save)
{
	struct mix m = {
	    .retention = 5000, .max_entries = 1000, .pool = 3000, .step = 4, .jitter = 50};
	struct call *c = make_calls(&m, 21);
	struct af_dedup *a = af_dedup_new(m.retention, m.max_entries);
	struct af_dedup *b = af_dedup_new(m.retention, m.max_entries);

	for (size_t i = 0; i < NCALLS; i++) {
		if (i % 997 == 0)
			free(save_of(b).p);
		cr_assert_eq(af_dedup_check(b, c[i].key, c[i].ts),
		             af_dedup_check(a, c[i].key, c[i].ts), "call %zu", i);
		struct af_dedup_stats sa = stats_of(a), sb = stats_of(b);
		assert_same_stats(&sb, &sa, i);
	}
	struct saved sa = save_of(a), sb = save_of(b);
	assert_same_bytes(&sb, &sa, "saved along the way");
	free(sa.p);
	free(sb.p);
	af_dedup_free(a);
	af_dedup_free(b);
	free(c);
}

/* A filter at its cap, with key 0 and ids remembered anew among its ids. */
static struct saved busy_state(void)
{
	struct mix m = {
	    .retention = 5000, .max_entries = 1000, .pool = 3000, .step = 4, .jitter = 50};
	struct call *c = make_calls(&m, 31);
	struct af_dedup *d = af_dedup_new(m.retention, m.max_entries);

	for (size_t i = 0; i < NCALLS / 2; i++)
		af_dedup_check(d, c[i].key, c[i].ts);
	af_dedup_check(d, 0, c[NCALLS / 2].ts);
	struct saved s = save_of(d);
	cr_assert_eq(get64(&s, AT_COUNT), 1000);
	af_dedup_free(d);
	free(c);
	return s;
}

Test(dedup, refuses_every_truncation_of_its_state)
{
	struct saved s = busy_state();
	char err[512];
	struct af_dedup *d;

	for (size_t len = 0; len < s.len; len += len < 64 ? 1 : 23) {
		cr_assert_eq(load_from(&s, len, 5000, 1000, &d, err, sizeof(err)), AF_E_FORMAT,
		             "%zu of %zu bytes", len, s.len);
		cr_assert_not_null(strstr(err, "damaged"), "%zu bytes: %s", len, err);
	}
	cr_assert_eq(load_from(&s, s.len - 1, 5000, 1000, &d, err, sizeof(err)), AF_E_FORMAT);
	free(s.p);
}

Test(dedup, refuses_a_byte_after_its_state)
{
	struct saved s = busy_state();
	char err[512];
	struct af_dedup *d;

	cr_assert_eq(load_from(&s, s.len + 1, 5000, 1000, &d, err, sizeof(err)), AF_E_FORMAT);
	cr_assert_str_eq(err, "damaged: bytes follow the duplicate filter's state");
	free(s.p);
}

Test(dedup, refuses_a_state_saved_with_another_retention)
{
	struct saved s = busy_state();
	char err[512];
	struct af_dedup *d;

	cr_assert_eq(load_from(&s, s.len, 5001, 1000, &d, err, sizeof(err)), AF_E_CONFIG);
	cr_assert_str_eq(err, "the duplicate filter's state was saved with a retention of 5000 "
	                      "ns; this one has 5001 ns (input.dedup_retention)");
	free(s.p);
}

Test(dedup, refuses_a_state_with_more_ids_than_max_entries)
{
	struct saved s = busy_state();
	char err[512];
	struct af_dedup *d;

	cr_assert_eq(load_from(&s, s.len, 5000, 999, &d, err, sizeof(err)), AF_E_CONFIG);
	cr_assert_str_eq(err, "the duplicate filter's state holds 1000 record ids; this one "
	                      "keeps at most 999 (input.dedup_max_entries, divided among the "
	                      "shards)");
	free(s.p);
}

/* Every id of s, at its stored time, is a duplicate for d. */
static void assert_remembers_all(const struct saved *s, struct af_dedup *d)
{
	for (uint64_t i = 0; i < get64(s, AT_COUNT); i++) {
		size_t at = AT_IDS + (size_t)i * ID_BYTES;
		uint64_t key = get64(s, at);

		cr_assert(af_dedup_check(d, key, (int64_t)get64(s, at + 8)), "id %llu (key %llx)",
		          (unsigned long long)i, (unsigned long long)key);
	}
}

Test(dedup, loads_into_another_max_entries_that_holds_its_ids)
{
	struct saved s = busy_state();
	size_t caps[] = {1000, 1001, 1500, 100000};

	for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
		struct af_dedup *d = loaded(&s, 5000, caps[k]);
		struct af_dedup_stats st = stats_of(d);

		cr_assert_eq(st.entries, 1000, "max_entries %zu", caps[k]);
		cr_assert_geq(st.capacity, 1000, "max_entries %zu", caps[k]);
		cr_assert_leq(st.capacity, caps[k]);
		cr_assert_eq(st.duplicates, get64(&s, 40));
		assert_remembers_all(&s, d);
		af_dedup_free(d);
	}
	free(s.p);
}

Test(dedup, keeps_key_zero_across_a_snapshot)
{
	struct af_dedup *a = af_dedup_new(10 * MIN, 100);

	cr_assert_not(af_dedup_check(a, 0, 5 * MIN));
	cr_assert_not(af_dedup_check(a, 1, 5 * MIN));
	struct saved s = save_of(a);
	struct af_dedup *d = loaded(&s, 10 * MIN, 100);

	cr_assert(af_dedup_check(d, 0, 14 * MIN));
	cr_assert_not(af_dedup_check(d, 0, 16 * MIN));
	cr_assert(af_dedup_check(d, 1, MIN));
	cr_assert_eq(stats_of(d).entries, 2);
	free(s.p);
	af_dedup_free(d);
	af_dedup_free(a);
}

Test(dedup, keeps_an_id_remembered_anew_waiting_for_the_back_across_a_snapshot)
{
	/* As in moves_an_id_seen_again_after_its_retention_to_the_back, with a
	 * snapshot between key 1 being remembered anew and the front reaching
	 * it: loaded, key 1 must still go to the back rather than expire. */
	struct af_dedup *a = af_dedup_new(10, 4);

	for (uint64_t k = 1; k <= 4; k++)
		af_dedup_check(a, k, (int64_t)k);
	cr_assert_not(af_dedup_check(a, 1, 20));
	struct saved s = save_of(a);
	struct af_dedup *d = loaded(&s, 10, 4);

	cr_assert_not(af_dedup_check(d, 5, 21));
	cr_assert_not(af_dedup_check(d, 6, 21));
	struct af_dedup_stats st = stats_of(d);
	cr_assert_eq(st.expirations, 3);
	cr_assert_eq(st.evictions, 0);
	cr_assert_eq(st.entries, 3);
	cr_assert(af_dedup_check(d, 1, 25));
	free(s.p);
	af_dedup_free(d);
	af_dedup_free(a);
}

Test(dedup, keeps_the_cap_a_failed_growth_left)
{
	/* A growth that failed for memory makes the present size the cap;
	 * made here by editing the state, since an allocation cannot be made
	 * to fail. The loaded filter then evicts rather than grows. */
	struct af_dedup *a = af_dedup_new(1000 * MIN, 1000);

	for (uint64_t k = 1; k <= 100; k++)
		af_dedup_check(a, k, 0);
	struct saved s = save_of(a);
	cr_assert_eq(get64(&s, AT_SLOTS), 256, "the table grew to hold 100 ids");
	put64(&s, AT_MAX_SLOTS, 256);
	struct af_dedup *capped = loaded(&s, 1000 * MIN, 1000);

	for (uint64_t k = 101; k <= 300; k++) {
		af_dedup_check(a, k, 0);
		af_dedup_check(capped, k, 0);
	}
	cr_assert_eq(stats_of(a).capacity, 384);
	cr_assert_eq(stats_of(a).evictions, 0);
	cr_assert_eq(stats_of(capped).capacity, 192);
	cr_assert_eq(stats_of(capped).evictions, 108);
	free(s.p);
	af_dedup_free(capped);
	af_dedup_free(a);
}

/* s, edited by edit, is refused with AF_E_FORMAT and an errstr with what. */
static void assert_damaged(struct saved *s, size_t at, uint64_t value, const char *what)
{
	char err[512];
	struct af_dedup *d;
	uint64_t was = get64(s, at);

	put64(s, at, value);
	cr_assert_eq(load_from(s, s->len, 5000, 1000, &d, err, sizeof(err)), AF_E_FORMAT, "%s",
	             what);
	cr_assert_not_null(strstr(err, "damaged"), "%s: %s", what, err);
	put64(s, at, was);
	cr_assert_eq(load_from(s, s->len, 5000, 1000, &d, err, sizeof(err)), AF_OK, "%s", err);
	af_dedup_free(d);
}

Test(dedup, refuses_a_state_holding_an_id_twice)
{
	struct saved s = busy_state();

	assert_damaged(&s, AT_IDS + 7 * ID_BYTES, get64(&s, AT_IDS + 3 * ID_BYTES), "id twice");
	free(s.p);
}

Test(dedup, refuses_a_table_size_no_filter_has)
{
	struct saved s = busy_state();
	uint64_t slots = get64(&s, AT_SLOTS);

	assert_damaged(&s, AT_SLOTS, slots - 1, "not a power of two");
	assert_damaged(&s, AT_SLOTS, slots / 2, "too small for its ids");
	assert_damaged(&s, AT_SLOTS, slots * 2, "beyond the cap");
	assert_damaged(&s, AT_SLOTS, 0, "no slots");
	assert_damaged(&s, AT_MAX_SLOTS, slots * 4, "a cap this filter cannot have");
	free(s.p);
}

Test(dedup, refuses_a_time_after_the_newest_one)
{
	struct saved s = busy_state();
	uint64_t newest = get64(&s, AT_NEWEST);

	assert_damaged(&s, AT_IDS + 5 * ID_BYTES + 8, newest + 1, "stored time");
	assert_damaged(&s, AT_IDS + 5 * ID_BYTES + 16, newest + 1, "queued time");
	free(s.p);
}
