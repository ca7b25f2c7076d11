/* test_table.c - af_table: insert, find and upsert; keys with equal hashes
 * kept apart; eviction of the entry idle the longest at the cap and the
 * callback; expiry within a budget; remove and re-insert; a flood of new
 * keys; determinism; each(); sizes; and random operations checked against
 * a naive model. */
#include <criterion/criterion.h>
#include <stdalign.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "pipeline/state/table.h"

#define SEC 1000000000LL
#define T0  (1756101480LL * SEC) /* 2025-08-25T05:58:00Z */

struct acct {
	uint64_t signins;
	int64_t first_ns;
	char country[4];
};

static uint64_t hash_of(const char *key)
{
	return XXH3_64bits(key, strlen(key));
}

static struct af_table *table_new(size_t value_size, size_t key_max, size_t cap)
{
	struct af_table *t = NULL;

	cr_assert_eq(af_table_new(value_size, key_max, cap, &t), AF_OK);
	cr_assert_not_null(t);
	return t;
}

static struct af_table_stats stats_of(const struct af_table *t)
{
	struct af_table_stats st;

	af_table_stats(t, &st);
	return st;
}

static struct acct *upsert(struct af_table *t, const char *key, int64_t now, bool *created)
{
	return af_table_upsert(t, hash_of(key), key, strlen(key), now, created);
}

static struct acct *find(struct af_table *t, const char *key)
{
	return af_table_find(t, hash_of(key), key, strlen(key));
}

static void key_name(char *buf, size_t size, unsigned i)
{
	snprintf(buf, size, "user%u@example.com", i);
}

/* The keys handed to on_evict, in order, and a check that the value is
 * still intact when it is called. */
struct evict_log {
	char keys[64][32];
	size_t n;
	uint64_t signins_seen;
};

static void log_evict(void *ctx, void *value, const void *key, size_t key_len)
{
	struct evict_log *log = ctx;
	const struct acct *a = value;

	cr_assert_lt(key_len, sizeof(log->keys[0]));
	if (log->n < 64) {
		memcpy(log->keys[log->n], key, key_len);
		log->keys[log->n][key_len] = '\0';
	}
	log->n++;
	log->signins_seen += a->signins;
}

/* --- insert, find, upsert -------------------------------------------------- */

Test(table, finds_nothing_in_an_empty_table)
{
	struct af_table *t = table_new(sizeof(struct acct), 128, 16);

	cr_assert_null(find(t, "alice@example.com"));
	cr_assert_eq(stats_of(t).entries, 0);
	af_table_free(t);
}

Test(table, creates_a_zeroed_value_that_find_then_returns)
{
	struct af_table *t = table_new(sizeof(struct acct), 128, 16);
	bool created = false;
	struct acct *a = upsert(t, "alice@example.com", T0, &created);
	static const struct acct zero;

	cr_assert(created);
	cr_assert_not_null(a);
	cr_assert_eq(memcmp(a, &zero, sizeof(zero)), 0);
	a->signins = 3;
	cr_assert_eq(find(t, "alice@example.com"), a);
	cr_assert_eq(find(t, "alice@example.com")->signins, 3);
	cr_assert_null(find(t, "bob@example.com"));
	cr_assert_eq(stats_of(t).entries, 1);
	af_table_free(t);
}

Test(table, upsert_of_a_present_key_returns_its_value_without_creating)
{
	struct af_table *t = table_new(sizeof(struct acct), 128, 16);
	bool created = true;
	struct acct *a = upsert(t, "alice@example.com", T0, NULL);

	a->signins = 7;
	cr_assert_eq(upsert(t, "alice@example.com", T0 + SEC, &created), a);
	cr_assert_not(created);
	cr_assert_eq(a->signins, 7);
	cr_assert_eq(af_table_last_seen(t, a), T0 + SEC);
	cr_assert_eq(stats_of(t).entries, 1);
	af_table_free(t);
}

Test(table, gives_back_the_key_of_a_value)
{
	struct af_table *t = table_new(sizeof(struct acct), 128, 16);
	struct acct *a = upsert(t, "alice@example.com", T0, NULL);
	size_t len = 0;
	const char *key = af_table_key(t, a, &len);

	cr_assert_eq(len, strlen("alice@example.com"));
	cr_assert_eq(memcmp(key, "alice@example.com", len), 0);
	af_table_free(t);
}

Test(table, holds_many_keys_each_with_its_own_value)
{
	struct af_table *t = table_new(sizeof(struct acct), 128, 5000);
	char key[32];

	for (unsigned i = 0; i < 5000; i++) {
		key_name(key, sizeof(key), i);
		upsert(t, key, T0 + i, NULL)->signins = i;
	}
	for (unsigned i = 0; i < 5000; i++) {
		key_name(key, sizeof(key), i);
		struct acct *a = find(t, key);
		cr_assert_not_null(a, "%s lost", key);
		cr_assert_eq(a->signins, i);
	}
	cr_assert_eq(stats_of(t).entries, 5000);
	cr_assert_eq(stats_of(t).evictions, 0);
	af_table_free(t);
}

/* --- collisions ------------------------------------------------------------ */

Test(table, keeps_two_keys_with_the_same_hash_apart_by_their_bytes)
{
	struct af_table *t = table_new(sizeof(struct acct), 128, 16);
	const uint64_t h = 0x0123456789abcdefULL;
	bool created;
	struct acct *a = af_table_upsert(t, h, "alice@example.com", 17, T0, &created);
	struct acct *b;

	a->signins = 1;
	b = af_table_upsert(t, h, "mallory@example.com", 19, T0, &created);
	cr_assert(created, "a second key with the same hash must be a new entry");
	cr_assert_neq(a, b);
	b->signins = 2;
	cr_assert_eq(af_table_find(t, h, "alice@example.com", 17), a);
	cr_assert_eq(af_table_find(t, h, "mallory@example.com", 19), b);
	cr_assert_null(af_table_find(t, h, "eve@example.com", 15));
	cr_assert_eq(a->signins, 1);
	cr_assert_eq(stats_of(t).entries, 2);
	cr_assert_geq(stats_of(t).collisions, 1);
	af_table_free(t);
}

Test(table, keeps_a_key_apart_from_its_own_prefix_under_the_same_hash)
{
	struct af_table *t = table_new(sizeof(struct acct), 128, 16);
	const uint64_t h = 42;
	struct acct *a = af_table_upsert(t, h, "alice@example.com", 17, T0, NULL);
	struct acct *b = af_table_upsert(t, h, "alice@example.co", 16, T0, NULL);

	cr_assert_neq(a, b);
	cr_assert_eq(af_table_find(t, h, "alice@example.com", 17), a);
	cr_assert_eq(af_table_find(t, h, "alice@example.co", 16), b);
	af_table_free(t);
}

Test(table, does_not_count_a_collision_for_a_different_hash)
{
	struct af_table *t = table_new(sizeof(struct acct), 128, 1000);
	char key[32];

	for (unsigned i = 0; i < 1000; i++) {
		key_name(key, sizeof(key), i);
		upsert(t, key, T0, NULL);
		cr_assert_not_null(find(t, key));
	}
	cr_assert_eq(stats_of(t).collisions, 0);
	af_table_free(t);
}

Test(table, keys_only_by_hash_when_key_max_is_zero)
{
	struct af_table *t = table_new(sizeof(struct acct), 0, 4);
	bool created;
	struct acct *a = af_table_upsert(t, 7, NULL, 0, T0, &created);

	cr_assert(created);
	cr_assert_eq(af_table_upsert(t, 7, NULL, 0, T0, &created), a);
	cr_assert_not(created);
	cr_assert_null(af_table_find(t, 8, NULL, 0));
	af_table_free(t);
}

/* --- eviction at the cap --------------------------------------------------- */

Test(table, evicts_the_entry_idle_the_longest_when_full)
{
	struct af_table *t = table_new(sizeof(struct acct), 128, 3);
	bool created;

	upsert(t, "a", T0 + 1 * SEC, NULL);
	upsert(t, "b", T0 + 2 * SEC, NULL);
	upsert(t, "c", T0 + 3 * SEC, NULL);
	upsert(t, "a", T0 + 4 * SEC, NULL); /* a is fresh again; b is the oldest */
	upsert(t, "d", T0 + 5 * SEC, &created);
	cr_assert(created);
	cr_assert_null(find(t, "b"));
	cr_assert_not_null(find(t, "a"));
	cr_assert_not_null(find(t, "c"));
	cr_assert_not_null(find(t, "d"));
	cr_assert_eq(stats_of(t).entries, 3);
	cr_assert_eq(stats_of(t).evictions, 1);
	af_table_free(t);
}

Test(table, does_not_count_find_as_a_touch)
{
	struct af_table *t = table_new(sizeof(struct acct), 128, 2);

	upsert(t, "a", T0 + 1 * SEC, NULL);
	upsert(t, "b", T0 + 2 * SEC, NULL);
	cr_assert_not_null(find(t, "a"));
	upsert(t, "c", T0 + 3 * SEC, NULL);
	cr_assert_null(find(t, "a"));
	cr_assert_not_null(find(t, "b"));
	af_table_free(t);
}

Test(table, a_touch_at_an_older_time_leaves_the_entry_where_it_is)
{
	struct af_table *t = table_new(sizeof(struct acct), 128, 2);

	upsert(t, "a", T0 + 5 * SEC, NULL);
	upsert(t, "b", T0 + 6 * SEC, NULL);
	upsert(t, "a", T0 + 1 * SEC, NULL); /* late event: a was seen at +5 s already */
	cr_assert_eq(af_table_last_seen(t, find(t, "a")), T0 + 5 * SEC);
	upsert(t, "c", T0 + 7 * SEC, NULL);
	cr_assert_null(find(t, "a"));
	cr_assert_not_null(find(t, "b"));
	af_table_free(t);
}

Test(table, calls_on_evict_with_the_value_and_key_before_reusing_the_slot)
{
	struct af_table *t = table_new(sizeof(struct acct), 128, 2);
	struct evict_log log = {0};
	bool created;
	struct acct *c;

	af_table_on_evict(t, log_evict, &log);
	upsert(t, "alice@example.com", T0 + 1 * SEC, NULL)->signins = 11;
	upsert(t, "bob@example.com", T0 + 2 * SEC, NULL)->signins = 22;
	c = upsert(t, "carol@example.com", T0 + 3 * SEC, &created);
	cr_assert_eq(log.n, 1);
	cr_assert_str_eq(log.keys[0], "alice@example.com");
	cr_assert_eq(log.signins_seen, 11, "the callback must see the value before it is cleared");
	cr_assert(created);
	cr_assert_eq(c->signins, 0, "a reused slot must be handed out zeroed");
	af_table_free(t);
	cr_assert_eq(log.n, 1, "af_table_free does not call on_evict");
}

Test(table, stays_within_its_cap_under_a_flood_of_new_keys)
{
	const size_t cap = 10000, flood = 1000000;
	struct af_table *t = table_new(sizeof(struct acct), 128, cap);
	char key[32];
	unsigned i;

	for (i = 0; i < cap; i++) {
		key_name(key, sizeof(key), i);
		upsert(t, key, T0 + i, NULL);
	}
	cr_assert_eq(stats_of(t).entries, cap);
	for (; i < cap + flood; i++) {
		key_name(key, sizeof(key), i);
		upsert(t, key, T0 + i, NULL)->signins = i;
		cr_assert_leq(stats_of(t).entries, cap);
	}
	struct af_table_stats st = stats_of(t);
	cr_assert_eq(st.entries, cap);
	cr_assert_eq(st.evictions, flood);
	/* The newest cap keys are the ones left. */
	for (i = cap + flood - cap; i < cap + flood; i++) {
		key_name(key, sizeof(key), i);
		struct acct *a = find(t, key);
		cr_assert_not_null(a, "%s lost", key);
		cr_assert_eq(a->signins, i);
	}
	key_name(key, sizeof(key), cap + flood - cap - 1);
	cr_assert_null(find(t, key));
	af_table_free(t);
}

/* --- expiry ---------------------------------------------------------------- */

Test(table, expires_idle_entries_at_most_budget_per_call)
{
	struct af_table *t = table_new(sizeof(struct acct), 128, 16);
	struct evict_log log = {0};
	char key[32];

	af_table_on_evict(t, log_evict, &log);
	for (unsigned i = 0; i < 10; i++) {
		key_name(key, sizeof(key), i);
		upsert(t, key, T0 + i * SEC, NULL);
	}
	/* At +20 s with 15 s idle, entries seen before +5 s are idle: 0..4. */
	cr_assert_eq(af_table_expire(t, T0 + 20 * SEC, 15 * SEC, 3), 3);
	cr_assert_eq(stats_of(t).entries, 7);
	cr_assert_eq(af_table_expire(t, T0 + 20 * SEC, 15 * SEC, 3), 2);
	cr_assert_eq(af_table_expire(t, T0 + 20 * SEC, 15 * SEC, 3), 0);
	cr_assert_eq(stats_of(t).entries, 5);
	cr_assert_eq(stats_of(t).expirations, 5);
	cr_assert_eq(stats_of(t).evictions, 0);
	cr_assert_eq(log.n, 5);
	cr_assert_str_eq(log.keys[0], "user0@example.com");
	cr_assert_str_eq(log.keys[4], "user4@example.com");
	cr_assert_null(find(t, "user4@example.com"));
	cr_assert_not_null(find(t, "user5@example.com"));
	af_table_free(t);
}

Test(table, does_not_expire_an_entry_idle_exactly_the_limit)
{
	struct af_table *t = table_new(sizeof(struct acct), 128, 4);

	upsert(t, "a", T0, NULL);
	cr_assert_eq(af_table_expire(t, T0 + 15 * SEC, 15 * SEC, 10), 0);
	cr_assert_eq(af_table_expire(t, T0 + 15 * SEC + 1, 15 * SEC, 10), 1);
	cr_assert_null(find(t, "a"));
	af_table_free(t);
}

Test(table, expiry_stops_at_the_first_entry_that_is_not_idle)
{
	struct af_table *t = table_new(sizeof(struct acct), 128, 4);

	upsert(t, "a", T0 + 1 * SEC, NULL);
	upsert(t, "b", T0 + 100 * SEC, NULL);
	upsert(t, "c", T0 + 2 * SEC, NULL); /* created late: queued behind b */
	cr_assert_eq(af_table_expire(t, T0 + 110 * SEC, 50 * SEC, 10), 1);
	cr_assert_null(find(t, "a"));
	cr_assert_not_null(find(t, "c"));
	cr_assert_eq(af_table_expire(t, T0 + 200 * SEC, 50 * SEC, 10), 2);
	cr_assert_eq(stats_of(t).entries, 0);
	af_table_free(t);
}

/* --- remove ---------------------------------------------------------------- */

Test(table, removes_an_entry_and_creates_it_afresh_on_the_next_upsert)
{
	struct af_table *t = table_new(sizeof(struct acct), 128, 4);
	struct evict_log log = {0};
	bool created;
	struct acct *a;

	af_table_on_evict(t, log_evict, &log);
	a = upsert(t, "alice@example.com", T0, NULL);
	a->signins = 5;
	upsert(t, "bob@example.com", T0, NULL);
	af_table_remove(t, a);
	cr_assert_null(find(t, "alice@example.com"));
	cr_assert_not_null(find(t, "bob@example.com"));
	cr_assert_eq(log.n, 1);
	cr_assert_eq(log.signins_seen, 5);
	cr_assert_eq(stats_of(t).removals, 1);
	cr_assert_eq(stats_of(t).entries, 1);
	a = upsert(t, "alice@example.com", T0 + SEC, &created);
	cr_assert(created);
	cr_assert_eq(a->signins, 0);
	cr_assert_eq(stats_of(t).entries, 2);
	af_table_free(t);
}

Test(table, keeps_the_rest_of_a_probe_run_reachable_after_a_removal)
{
	/* Twelve keys on one hash share one probe run; removing from its
	 * middle must shift the later ones back, not lose them. */
	struct af_table *t = table_new(sizeof(struct acct), 128, 32);
	char key[32];
	struct acct *v[12];

	for (unsigned i = 0; i < 12; i++) {
		key_name(key, sizeof(key), i);
		v[i] = af_table_upsert(t, 99, key, strlen(key), T0, NULL);
		v[i]->signins = i;
	}
	af_table_remove(t, v[3]);
	af_table_remove(t, v[0]);
	af_table_remove(t, v[7]);
	for (unsigned i = 0; i < 12; i++) {
		key_name(key, sizeof(key), i);
		struct acct *a = af_table_find(t, 99, key, strlen(key));
		if (i == 0 || i == 3 || i == 7) {
			cr_assert_null(a, "%s still there", key);
		} else {
			cr_assert_not_null(a, "%s lost", key);
			cr_assert_eq(a->signins, i);
		}
	}
	af_table_free(t);
}

/* --- each, order, determinism --------------------------------------------- */

struct visit {
	char keys[16][32];
	int64_t seen[16];
	size_t n;
};

static void record_visit(void *ctx, void *value, uint64_t hash, const void *key, size_t key_len,
                         int64_t seen)
{
	struct visit *vis = ctx;

	(void)value;
	cr_assert_eq(hash, XXH3_64bits(key, key_len), "each passes the entry's hash");
	cr_assert_lt(vis->n, 16);
	memcpy(vis->keys[vis->n], key, key_len);
	vis->keys[vis->n][key_len] = '\0';
	vis->seen[vis->n] = seen;
	vis->n++;
}

Test(table, each_visits_every_entry_oldest_first)
{
	struct af_table *t = table_new(sizeof(struct acct), 128, 8);
	struct visit vis = {0};

	upsert(t, "a", T0 + 1 * SEC, NULL);
	upsert(t, "b", T0 + 2 * SEC, NULL);
	upsert(t, "c", T0 + 3 * SEC, NULL);
	upsert(t, "a", T0 + 4 * SEC, NULL);
	af_table_each(t, record_visit, &vis);
	cr_assert_eq(vis.n, 3);
	cr_assert_str_eq(vis.keys[0], "b");
	cr_assert_str_eq(vis.keys[1], "c");
	cr_assert_str_eq(vis.keys[2], "a");
	cr_assert_eq(vis.seen[2], T0 + 4 * SEC);
	af_table_free(t);
}

static void rebuild_into(void *ctx, void *value, uint64_t hash, const void *key, size_t key_len,
                         int64_t seen)
{
	struct af_table *t = ctx;
	bool created;
	struct acct *copy = af_table_upsert(t, hash, key, key_len, seen, &created);

	cr_assert(created);
	memcpy(copy, value, sizeof(*copy));
}

Test(table, rebuilds_the_same_eviction_order_from_each_in_order)
{
	struct af_table *t = table_new(sizeof(struct acct), 128, 3);
	struct af_table *u = table_new(sizeof(struct acct), 128, 3);

	upsert(t, "a", T0 + 5 * SEC, NULL)->signins = 1;
	upsert(t, "b", T0 + 2 * SEC, NULL)->signins = 2; /* late, but queued after a */
	upsert(t, "c", T0 + 9 * SEC, NULL)->signins = 3;
	af_table_each(t, rebuild_into, u);
	upsert(t, "d", T0 + 10 * SEC, NULL);
	upsert(u, "d", T0 + 10 * SEC, NULL);
	cr_assert_null(find(u, "a"), "the copy must evict what the original evicts");
	cr_assert_null(find(t, "a"));
	cr_assert_eq(find(u, "b")->signins, 2);
	cr_assert_eq(af_table_last_seen(u, find(u, "b")), T0 + 2 * SEC);
	af_table_free(t);
	af_table_free(u);
}

/* Eviction order for a fixed call sequence, with hash chosen by the caller:
 * the order must not depend on the hash values (probe layout). */
static void run_sequence(uint64_t (*h)(const char *), struct evict_log *log)
{
	struct af_table *t = table_new(sizeof(struct acct), 128, 16);
	char key[32];
	uint64_t x = 12345;

	af_table_on_evict(t, log_evict, log);
	for (unsigned i = 0; i < 2000; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		key_name(key, sizeof(key), (unsigned)(x >> 33) % 40);
		int64_t jitter = (int64_t)((x >> 20) % 5) * SEC; /* slightly out of order */
		af_table_upsert(t, h(key), key, strlen(key), T0 + i * SEC - jitter, NULL);
		if (i % 100 == 99)
			af_table_expire(t, T0 + i * SEC, 30 * SEC, 2);
	}
	af_table_free(t);
}

static uint64_t hash_weak(const char *key)
{
	return strlen(key) % 3; /* almost every key collides */
}

Test(table, evicts_in_an_order_set_by_the_calls_alone)
{
	struct evict_log a = {0}, b = {0}, c = {0};

	run_sequence(hash_of, &a);
	run_sequence(hash_of, &b);
	run_sequence(hash_weak, &c);
	cr_assert_gt(a.n, 64);
	cr_assert_eq(a.n, b.n);
	cr_assert_eq(a.n, c.n);
	for (size_t i = 0; i < 64; i++) {
		cr_assert_str_eq(a.keys[i], b.keys[i]);
		cr_assert_str_eq(a.keys[i], c.keys[i], "eviction %zu differs with another hash", i);
	}
}

/* --- sizes ----------------------------------------------------------------- */

Test(table, rejects_impossible_sizes)
{
	struct af_table *t = (struct af_table *)&t;

	cr_assert_eq(af_table_new(0, 128, 16, &t), AF_E_INVALID);
	cr_assert_eq(af_table_new(64, 128, 0, &t), AF_E_INVALID);
	cr_assert_eq(af_table_new(64, AF_TABLE_KEY_MAX + 1, 16, &t), AF_E_INVALID);
	cr_assert_eq(af_table_new(64, 128, AF_TABLE_CAP_MAX + 1, &t), AF_E_INVALID);
	cr_assert_eq(af_table_new(SIZE_MAX, 128, 16, &t), AF_E_INVALID);
	cr_assert_eq(af_table_new(SIZE_MAX / 8, 128, 16, &t), AF_E_INVALID);
	cr_assert_eq(t, (struct af_table *)&t, "*out must be left alone on failure");
}

Test(table, aligns_every_value_for_any_type)
{
	struct af_table *t = table_new(3, 16, 8);
	char key[4] = "k0";

	for (char c = '0'; c < '8'; c++) {
		key[1] = c;
		void *v = af_table_upsert(t, (uint64_t)c, key, 2, T0, NULL);
		cr_assert_eq((uintptr_t)v % alignof(max_align_t), 0);
	}
	cr_assert_eq(stats_of(t).value_stride, alignof(max_align_t));
	af_table_free(t);
}

Test(table, reports_the_memory_it_allocated)
{
	struct af_table *t = table_new(448, 128, 1000);
	struct af_table_stats st = stats_of(t);

	/* 448 value + 144 key record (12 + 128, rounded up to 8) + 16 eviction
	 * order, and 2048 probe entries of 8 bytes. */
	cr_assert_eq(st.cap, 1000);
	cr_assert_eq(st.value_stride, 448);
	cr_assert_geq(st.bytes, 1000 * (448 + 144 + 16) + 2048 * 8);
	cr_assert_lt(st.bytes, 1000 * (448 + 144 + 16) + 2048 * 8 + 4096);
	cr_assert_float_eq(st.bytes_per_entry, (double)st.bytes / 1000, 1e-9);
	af_table_free(t);
}

/* --- against a naive model ------------------------------------------------- */

/* The model: an array of live keys with last-seen time and the sequence
 * number of their last advance; the oldest advance is evicted. */
struct model {
	int key[24];
	int64_t seen[24];
	uint64_t order[24];
	size_t n;
	uint64_t clock;
};

static int model_find(const struct model *m, int key)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->key[i] == key)
			return (int)i;
	return -1;
}

static void model_drop(struct model *m, size_t i)
{
	m->n--;
	m->key[i] = m->key[m->n];
	m->seen[i] = m->seen[m->n];
	m->order[i] = m->order[m->n];
}

static size_t model_oldest(const struct model *m)
{
	size_t o = 0;

	for (size_t i = 1; i < m->n; i++)
		if (m->order[i] < m->order[o])
			o = i;
	return o;
}

/* The keys handed to on_evict, the last RING of them kept. */
#define RING 256
struct model_evicted {
	int keys[RING];
	size_t n;
};

static int evicted(const struct model_evicted *ev, size_t i)
{
	return ev->keys[i % RING];
}

static void note_model_evict(void *ctx, void *value, const void *key, size_t key_len)
{
	struct model_evicted *ev = ctx;
	int k;

	(void)key_len;
	memcpy(&k, key, sizeof(k));
	cr_assert_eq(((struct acct *)value)->signins, (uint64_t)k, "value and key out of step");
	ev->keys[ev->n++ % RING] = k;
}

Test(table, matches_a_naive_model_under_random_operations)
{
	const size_t cap = 24;
	struct af_table *t = table_new(sizeof(struct acct), sizeof(int), cap);
	struct model m = {0};
	struct model_evicted ev = {0};
	size_t expected_evictions = 0;
	uint64_t x = 99;

	af_table_on_evict(t, note_model_evict, &ev);
	for (int step = 0; step < 20000; step++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		int k = (int)((x >> 33) % 60);
		/* A weak hash (8 values) packs the table with equal hashes and
		 * long probe runs, so removals shift entries back often. */
		uint64_t h = (uint64_t)(k % 8) * 0x9e3779b97f4a7c15ULL;
		int64_t now = T0 + step * SEC - (int64_t)((x >> 12) % 8) * SEC;
		unsigned op = (unsigned)(x >> 24) % 10;
		int i = model_find(&m, k);
		struct acct *v = af_table_find(t, h, &k, sizeof(k));

		cr_assert_eq(v != NULL, i >= 0, "step %d: presence of %d differs", step, k);
		if (op < 7) {
			bool created;
			v = af_table_upsert(t, h, &k, sizeof(k), now, &created);
			cr_assert_eq(created, i < 0);
			if (i < 0) {
				if (m.n == cap) {
					size_t o = model_oldest(&m);
					cr_assert_eq(evicted(&ev, ev.n - 1), m.key[o],
					             "step %d: evicted the wrong key", step);
					model_drop(&m, o);
					expected_evictions++;
				}
				m.key[m.n] = k;
				m.seen[m.n] = now;
				m.order[m.n] = m.clock++;
				m.n++;
				v->signins = (uint64_t)k;
			} else if (now > m.seen[i]) {
				m.seen[i] = now;
				m.order[i] = m.clock++;
			}
		} else if (op < 9) {
			if (i >= 0) {
				af_table_remove(t, v);
				cr_assert_eq(evicted(&ev, ev.n - 1), k);
				model_drop(&m, (size_t)i);
			}
		} else {
			int64_t idle = 20 * SEC;
			size_t n = af_table_expire(t, now, idle, 2);
			for (size_t j = 0; j < n; j++) {
				size_t o = model_oldest(&m);
				cr_assert_gt(now - m.seen[o], idle);
				cr_assert_eq(evicted(&ev, ev.n - n + j), m.key[o]);
				model_drop(&m, o);
			}
			if (n < 2 && m.n > 0)
				cr_assert_leq(now - m.seen[model_oldest(&m)], idle);
		}
		cr_assert_eq(stats_of(t).entries, m.n);
	}
	cr_assert_gt(expected_evictions, 0);
	cr_assert_eq(stats_of(t).evictions, expected_evictions);
	cr_assert_gt(stats_of(t).collisions, 0);
	af_table_free(t);
}
