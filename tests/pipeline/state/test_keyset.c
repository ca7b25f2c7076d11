/* test_keyset.c - af_keyset: exact counts below its limit, the sketch's
 * estimate past it, key 0, repeats, and memory that stops growing; and its
 * state through a snapshot: a set loaded from another's snapshot, at any
 * cut of a call sequence, answers every later call as the original does
 * (the moment the exact set gives way to the sketch included) and ends in
 * the same bytes; a damaged or short state, or one larger than the new
 * set's max, is refused.
 *
 * The call sequences are made here with splitmix64: fresh keys, repeats of
 * earlier ones and key 0, against limits small enough that the sketch
 * takes over before some cuts and after others. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/snapshot.h"
#include "pipeline/state/hll.h"
#include "pipeline/state/keyset.h"

/* Distinct, well spread keys (a 64-bit mix of i). */
static uint64_t key_of(uint64_t i)
{
	i += 0x9e3779b97f4a7c15ULL;
	i = (i ^ (i >> 30)) * 0xbf58476d1ce4e5b9ULL;
	i = (i ^ (i >> 27)) * 0x94d049bb133111ebULL;
	return i ^ (i >> 31);
}

Test(keyset, counts_distinct_keys_exactly_below_its_limit)
{
	struct af_keyset ks;
	cr_assert_eq(af_keyset_init_max(&ks, 5000), AF_OK);
	for (uint64_t i = 0; i < 5000; i++) {
		cr_assert(af_keyset_add(&ks, key_of(i)));
		cr_assert_not(af_keyset_add(&ks, key_of(i)), "a repeat is not new");
	}
	cr_assert_eq(af_keyset_count(&ks), 5000);
	cr_assert(af_keyset_exact(&ks));
	af_keyset_fini(&ks);
}

Test(keyset, counts_key_zero_once)
{
	struct af_keyset ks;
	cr_assert_eq(af_keyset_init(&ks), AF_OK);
	cr_assert(af_keyset_add(&ks, 0));
	cr_assert_not(af_keyset_add(&ks, 0));
	cr_assert(af_keyset_add(&ks, 7));
	cr_assert_eq(af_keyset_count(&ks), 2);
	af_keyset_fini(&ks);
}

Test(keyset, estimates_past_its_limit_within_a_few_percent_in_fixed_memory)
{
	struct af_keyset ks;
	cr_assert_eq(af_keyset_init_max(&ks, 1000), AF_OK);
	for (uint64_t i = 0; i < 1000; i++)
		af_keyset_add(&ks, key_of(i));
	cr_assert(af_keyset_exact(&ks));
	af_keyset_add(&ks, key_of(1000));
	cr_assert_not(af_keyset_exact(&ks), "the 1001st key hands over to the sketch");
	cr_assert_null(ks.slots, "the exact slots are freed");
	for (uint64_t i = 1001; i < 200000; i++)
		af_keyset_add(&ks, key_of(i));
	/* Repeats change nothing. */
	for (uint64_t i = 0; i < 200000; i += 7)
		af_keyset_add(&ks, key_of(i));
	double n = (double)af_keyset_count(&ks);
	cr_assert(n > 200000 * 0.97 && n < 200000 * 1.03, "estimate %.0f of 200000", n);
	af_keyset_fini(&ks);
}

Test(keyset, keeps_the_keys_seen_before_the_switch_in_the_estimate)
{
	struct af_keyset ks;
	cr_assert_eq(af_keyset_init_max(&ks, 50000), AF_OK);
	for (uint64_t i = 0; i < 50000; i++)
		af_keyset_add(&ks, key_of(i));
	/* One new key: the count must stay near 50001, not restart. */
	af_keyset_add(&ks, key_of(50000));
	double n = (double)af_keyset_count(&ks);
	cr_assert(n > 50001 * 0.97 && n < 50001 * 1.03, "estimate %.0f of 50001", n);
	af_keyset_fini(&ks);
}

/* The keys one of two runtime cores gets: those whose top bit is 1 (the
 * runtime picks a key's core from its top bits). The sketch must spread
 * them over all its registers: reading its register from the key's own top
 * bits, it counted 3 million such accounts as 22,714. */
Test(keyset, estimates_keys_that_share_their_top_bits_as_well_as_any)
{
	static const uint64_t tops[] = {0x8000000000000000ULL, 0xc000000000000000ULL,
	                                0xff00000000000000ULL};
	for (size_t t = 0; t < sizeof(tops) / sizeof(tops[0]); t++) {
		struct af_keyset ks;
		cr_assert_eq(af_keyset_init_max(&ks, 1000), AF_OK);
		for (uint64_t i = 0; i < 300000; i++)
			af_keyset_add(&ks, key_of(i) | tops[t]);
		cr_assert_not(af_keyset_exact(&ks));
		double n = (double)af_keyset_count(&ks);
		cr_assert(n > 300000 * 0.97 && n < 300000 * 1.03,
		          "estimate %.0f of 300000 keys with top bits %016llx", n,
		          (unsigned long long)tops[t]);
		af_keyset_fini(&ks);
	}
}

/* ---- snapshots ---- */

/* Offsets in a saved state (keyset.h documents the format). */
#define AT_MODE  8
#define AT_ZERO  12 /* exact */
#define AT_COUNT 16
#define AT_KEYS  24
#define AT_P     12 /* sketch */
#define AT_REGS  16

static char dir[64], path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/af-keyset-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/keyset.snap", dir);
}

static void teardown(void)
{
	unlink(path);
	rmdir(dir);
}

TestSuite(keyset, .init = setup, .fini = teardown);

/* A saved state, copied out of its snapshot file. */
struct blob {
	uint8_t *p;
	size_t len;
};

static struct blob save(const struct af_keyset *ks)
{
	struct af_snap_writer *w;
	struct af_snap_reader *r;
	struct af_snap_view v;
	char err[512];
	cr_assert_eq(af_snap_create(path, 0, &w, err, sizeof(err)), AF_OK, "%s", err);
	af_snap_begin(w, 1);
	af_keyset_save(ks, w);
	cr_assert_eq(af_snap_commit(w, err, sizeof(err)), AF_OK, "%s", err);
	cr_assert_eq(af_snap_open(path, 0, &r, err, sizeof(err)), AF_OK, "%s", err);
	cr_assert(af_snap_find(r, 1, &v));
	struct blob b = {.p = malloc(v.len + 1), .len = v.len};
	cr_assert_not_null(b.p);
	memcpy(b.p, v.p, v.len);
	af_snap_close(r);
	return b;
}

/* A set made as make(max) makes them: max 0 is af_keyset_init's. */
static void make(struct af_keyset *ks, size_t max)
{
	cr_assert_eq(max ? af_keyset_init_max(ks, max) : af_keyset_init(ks), AF_OK);
}

/* Load b (its first len bytes) into a fresh set of max; the error. */
static af_err_t load_len(struct af_keyset *ks, size_t max, const struct blob *b, size_t len,
                         char *err, size_t err_size)
{
	make(ks, max);
	struct af_snap_view v = {.p = b->p, .len = len};
	return af_keyset_load(ks, &v, err, err_size);
}

static af_err_t load(struct af_keyset *ks, size_t max, const struct blob *b, char *err,
                     size_t err_size)
{
	return load_len(ks, max, b, b->len, err, err_size);
}

static void assert_same_bytes(const struct blob *a, const struct blob *b, const char *what)
{
	cr_assert_eq(a->len, b->len, "%s: %zu bytes, not %zu", what, b->len, a->len);
	cr_assert(memcmp(a->p, b->p, a->len) == 0, "%s: the states differ", what);
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t x = 0;
	for (int i = 7; i >= 0; i--)
		x = x << 8 | p[i];
	return x;
}

static void wr32(uint8_t *p, uint32_t x)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(x >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t x)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(x >> (8 * i));
}

static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* n keys to add: about half repeats of earlier ones, one in twenty key 0,
 * the rest fresh. */
static uint64_t *make_keys(uint64_t seed, size_t n)
{
	uint64_t *k = malloc(n * sizeof(*k));
	cr_assert_not_null(k);
	for (size_t i = 0; i < n; i++) {
		uint64_t r = next_rand(&seed);
		unsigned roll = (unsigned)(r % 20);
		if (roll == 0)
			k[i] = 0;
		else if (roll < 10 && i > 0)
			k[i] = k[(r >> 8) % i];
		else
			k[i] = next_rand(&seed);
	}
	return k;
}

/* What a set answered to each add: its result, then count and exactness. */
struct answers {
	bool *added, *exact;
	size_t *count;
};

static struct answers answers_new(size_t n)
{
	struct answers a = {calloc(n, 1), calloc(n, 1), calloc(n, sizeof(size_t))};
	cr_assert(a.added && a.exact && a.count);
	return a;
}

static void answers_free(struct answers *a)
{
	free(a->added);
	free(a->exact);
	free(a->count);
}

static void run(struct af_keyset *ks, const uint64_t *keys, size_t from, size_t to,
                struct answers *a)
{
	for (size_t i = from; i < to; i++) {
		a->added[i] = af_keyset_add(ks, keys[i]);
		a->count[i] = af_keyset_count(ks);
		a->exact[i] = af_keyset_exact(ks);
	}
}

/* The first add after which the set is a sketch; n when it never is. */
static size_t switch_at(const struct answers *a, size_t n)
{
	size_t i = 0;
	while (i < n && a->exact[i])
		i++;
	return i;
}

/* For each cut: B adds keys up to it and saves, C loads that and adds the
 * rest; C answers every add as A, which added them all, did, and ends in
 * A's bytes. */
static void check_cuts(struct af_keyset *a, size_t max, const uint64_t *keys, size_t n,
                       const struct answers *whole, const size_t *cuts, size_t ncuts)
{
	struct blob end = save(a);
	for (size_t c = 0; c < ncuts; c++) {
		size_t cut = cuts[c];
		cr_assert_leq(cut, n);
		struct af_keyset b, l;
		struct answers got = answers_new(n);
		make(&b, max);
		run(&b, keys, 0, cut, &got);
		struct blob mid = save(&b);
		af_keyset_fini(&b);

		char err[256];
		cr_assert_eq(load(&l, max, &mid, err, sizeof(err)), AF_OK, "cut %zu: %s", cut, err);
		free(mid.p);
		if (cut > 0) {
			cr_assert_eq(af_keyset_count(&l), whole->count[cut - 1], "cut %zu", cut);
			cr_assert_eq(af_keyset_exact(&l), whole->exact[cut - 1], "cut %zu", cut);
		} else {
			cr_assert_eq(af_keyset_count(&l), 0);
			cr_assert(af_keyset_exact(&l));
		}
		run(&l, keys, cut, n, &got);
		for (size_t i = cut; i < n; i++) {
			cr_assert_eq(got.added[i], whole->added[i], "cut %zu, add %zu", cut, i);
			cr_assert_eq(got.count[i], whole->count[i], "cut %zu, add %zu", cut, i);
			cr_assert_eq(got.exact[i], whole->exact[i], "cut %zu, add %zu", cut, i);
		}
		struct blob last = save(&l);
		char what[64];
		snprintf(what, sizeof(what), "cut at %zu", cut);
		assert_same_bytes(&end, &last, what);
		free(last.p);
		af_keyset_fini(&l);
		answers_free(&got);
	}
	free(end.p);
}

/* Cuts at the ends, around the switch to the sketch and at random. */
static size_t cuts_of(size_t n, size_t sw, uint64_t seed, size_t *cuts)
{
	size_t k = 0;
	cuts[k++] = 0;
	cuts[k++] = n;
	for (size_t d = 0; d < 3; d++)
		if (sw + d >= 1 && sw + d - 1 <= n)
			cuts[k++] = sw + d - 1; /* before the add that switches, at, after */
	for (int i = 0; i < 6; i++)
		cuts[k++] = (size_t)(next_rand(&seed) % (n + 1));
	return k;
}

static void check_sequence(uint64_t seed, size_t max, size_t n)
{
	uint64_t *keys = make_keys(seed, n);
	struct answers whole = answers_new(n);
	struct af_keyset a;
	make(&a, max);
	run(&a, keys, 0, n, &whole);
	size_t sw = switch_at(&whole, n);
	size_t cuts[16];
	size_t ncuts = cuts_of(n, sw, seed, cuts);
	check_cuts(&a, max, keys, n, &whole, cuts, ncuts);
	af_keyset_fini(&a);
	answers_free(&whole);
	free(keys);
}

Test(keyset, goes_on_from_a_snapshot_exactly_as_without_one)
{
	for (uint64_t seed = 1; seed <= 4; seed++) {
		uint64_t *keys = make_keys(seed, 2000);
		struct answers whole = answers_new(2000);
		struct af_keyset a;
		make(&a, 250);
		run(&a, keys, 0, 2000, &whole);
		/* The sequence does what the test is for: the sketch takes over
		 * mid-way, and key 0 and repeats come on both sides of it. */
		size_t sw = switch_at(&whole, 2000);
		cr_assert(sw > 300 && sw < 1000, "seed %llu: the switch at %zu",
		          (unsigned long long)seed, sw);
		cr_assert_eq(whole.count[sw - 1], 250);
		size_t zeros_before = 0, zeros_after = 0;
		for (size_t i = 0; i < 2000; i++) {
			if (keys[i] == 0 && i < sw)
				zeros_before++;
			else if (keys[i] == 0)
				zeros_after++;
		}
		cr_assert(zeros_before > 0 && zeros_after > 0);
		af_keyset_fini(&a);
		answers_free(&whole);
		free(keys);
		check_sequence(seed, 250, 2000);
	}
}

Test(keyset, goes_on_exactly_when_the_sketch_takes_over_at_its_first_keys)
{
	for (uint64_t seed = 11; seed <= 13; seed++) {
		check_sequence(seed, 1, 300);
		check_sequence(seed, 2, 300);
	}
}

Test(keyset, goes_on_exactly_when_it_stays_exact)
{
	/* Past the first table's size, so the set grows before and after
	 * cuts. */
	check_sequence(21, 0, 6000);
}

Test(keyset, goes_on_exactly_after_a_cut_at_every_add_around_the_switch)
{
	uint64_t *keys = make_keys(31, 400);
	struct answers whole = answers_new(400);
	struct af_keyset a;
	make(&a, 40);
	run(&a, keys, 0, 400, &whole);
	size_t sw = switch_at(&whole, 400);
	cr_assert(sw > 10 && sw < 390);
	size_t cuts[12];
	for (size_t i = 0; i < 12; i++)
		cuts[i] = sw - 6 + i;
	check_cuts(&a, 40, keys, 400, &whole, cuts, 12);
	af_keyset_fini(&a);
	answers_free(&whole);
	free(keys);
}

Test(keyset, saving_changes_nothing_later)
{
	uint64_t *keys = make_keys(41, 1000);
	struct answers plain = answers_new(1000), saved = answers_new(1000);
	struct af_keyset a, b;
	make(&a, 200);
	make(&b, 200);
	run(&a, keys, 0, 1000, &plain);
	for (size_t from = 0; from < 1000; from += 100) {
		struct blob x = save(&b);
		free(x.p);
		run(&b, keys, from, from + 100, &saved);
	}
	for (size_t i = 0; i < 1000; i++) {
		cr_assert_eq(saved.added[i], plain.added[i], "add %zu", i);
		cr_assert_eq(saved.count[i], plain.count[i], "add %zu", i);
		cr_assert_eq(saved.exact[i], plain.exact[i], "add %zu", i);
	}
	struct blob ea = save(&a), eb = save(&b);
	assert_same_bytes(&ea, &eb, "at the end");
	free(ea.p);
	free(eb.p);
	af_keyset_fini(&a);
	af_keyset_fini(&b);
	answers_free(&plain);
	answers_free(&saved);
	free(keys);
}

Test(keyset, writes_equal_sets_as_equal_bytes_whatever_the_slot_layout)
{
	/* 512 keys and 0: with 0 first the table grows at the 512th key, with
	 * 0 last it never does; reversed, every key sits elsewhere. */
	struct af_keyset first, last, reversed;
	make(&first, 0);
	make(&last, 0);
	make(&reversed, 0);
	af_keyset_add(&first, 0);
	for (uint64_t i = 0; i < 512; i++) {
		af_keyset_add(&first, key_of(i));
		af_keyset_add(&last, key_of(i));
		af_keyset_add(&reversed, key_of(511 - i));
	}
	af_keyset_add(&last, 0);
	af_keyset_add(&reversed, 0);
	cr_assert_neq(first.mask, last.mask, "the layouts differ");
	cr_assert_eq(af_keyset_count(&first), 513);
	struct blob bf = save(&first), bl = save(&last), br = save(&reversed);
	assert_same_bytes(&bf, &bl, "0 first or last");
	assert_same_bytes(&bf, &br, "in reverse");
	cr_assert_eq(bf.len, AT_KEYS + 512 * 8);
	cr_assert_eq(rd64(bf.p + AT_COUNT), 513);
	for (size_t i = 1; i < 512; i++)
		cr_assert_lt(rd64(bf.p + AT_KEYS + 8 * (i - 1)), rd64(bf.p + AT_KEYS + 8 * i));
	free(bf.p);
	free(bl.p);
	free(br.p);
	af_keyset_fini(&first);
	af_keyset_fini(&last);
	af_keyset_fini(&reversed);
}

Test(keyset, writes_more_keys_than_one_sorting_chunk_holds_in_order)
{
	/* 80,000 keys: past the 65,536 sorted per pass over the slots. */
	enum { N = 80000 };
	struct af_keyset fwd, rev, l;
	make(&fwd, 100000);
	make(&rev, 100000);
	for (uint64_t i = 0; i < N; i++) {
		af_keyset_add(&fwd, key_of(i));
		af_keyset_add(&rev, key_of(N - 1 - i));
	}
	struct blob bf = save(&fwd), br = save(&rev);
	assert_same_bytes(&bf, &br, "in reverse");
	cr_assert_eq(bf.len, AT_KEYS + (size_t)N * 8);
	for (size_t i = 1; i < N; i++)
		cr_assert_lt(rd64(bf.p + AT_KEYS + 8 * (i - 1)), rd64(bf.p + AT_KEYS + 8 * i),
		             "key %zu", i);
	char err[256];
	cr_assert_eq(load(&l, 100000, &bf, err, sizeof(err)), AF_OK, "%s", err);
	for (uint64_t i = 0; i < N; i++)
		cr_assert_not(af_keyset_add(&l, key_of(i)), "key %llu is held",
		              (unsigned long long)i);
	cr_assert_eq(af_keyset_count(&l), N);
	free(bf.p);
	free(br.p);
	af_keyset_fini(&fwd);
	af_keyset_fini(&rev);
	af_keyset_fini(&l);
}

Test(keyset, refuses_an_exact_set_larger_than_its_max)
{
	struct af_keyset a, b;
	make(&a, 500);
	for (uint64_t i = 0; i < 400; i++)
		af_keyset_add(&a, key_of(i));
	struct blob x = save(&a);
	char err[256];
	cr_assert_eq(load(&b, 399, &x, err, sizeof(err)), AF_E_CONFIG);
	cr_assert_not_null(strstr(err, "400 keys"), "%s", err);
	cr_assert_not_null(strstr(err, "at most 399"), "%s", err);
	cr_assert_not_null(strstr(err, "max"), "%s", err);
	af_keyset_fini(&b);
	/* Exactly full is not too large: the next new key switches. */
	cr_assert_eq(load(&b, 400, &x, err, sizeof(err)), AF_OK, "%s", err);
	cr_assert(af_keyset_exact(&b));
	cr_assert(af_keyset_add(&b, key_of(400)));
	cr_assert_not(af_keyset_exact(&b));
	af_keyset_fini(&b);
	free(x.p);
	af_keyset_fini(&a);
}

Test(keyset, keeps_a_saved_sketch_a_sketch_under_another_max)
{
	struct af_keyset a, b;
	make(&a, 10);
	for (uint64_t i = 0; i < 50; i++)
		af_keyset_add(&a, key_of(i));
	cr_assert_not(af_keyset_exact(&a));
	struct blob x = save(&a);
	char err[256];
	cr_assert_eq(load(&b, 1000, &x, err, sizeof(err)), AF_OK, "%s", err);
	cr_assert_not(af_keyset_exact(&b));
	cr_assert_eq(af_keyset_count(&b), af_keyset_count(&a));
	free(x.p);
	af_keyset_fini(&a);
	af_keyset_fini(&b);
}

/* A saved sketch of a few hundred keys. */
static struct blob sketch_blob(void)
{
	struct af_keyset a;
	make(&a, 10);
	for (uint64_t i = 0; i < 300; i++)
		af_keyset_add(&a, key_of(i));
	cr_assert_not(af_keyset_exact(&a));
	struct blob x = save(&a);
	af_keyset_fini(&a);
	cr_assert_eq(x.len, AT_REGS + AF_HLL_REGS(AF_KEYSET_HLL_P));
	return x;
}

/* A saved exact set: 0 and 100 keys. */
static struct blob exact_blob(void)
{
	struct af_keyset a;
	make(&a, 1000);
	af_keyset_add(&a, 0);
	for (uint64_t i = 0; i < 100; i++)
		af_keyset_add(&a, key_of(i));
	struct blob x = save(&a);
	af_keyset_fini(&a);
	cr_assert_eq(x.len, AT_KEYS + 100 * 8);
	return x;
}

static void assert_refused(const struct blob *x, size_t max, const char *why)
{
	struct af_keyset b;
	char err[256] = "";
	cr_assert_eq(load(&b, max, x, err, sizeof(err)), AF_E_FORMAT, "%s", why);
	cr_assert_not_null(strstr(err, "damaged"), "%s: %s", why, err);
	af_keyset_fini(&b);
}

Test(keyset, refuses_a_register_beyond_the_largest_rank)
{
	struct blob x = sketch_blob();
	struct af_keyset b;
	char err[256];
	/* The largest rank possible at the precision loads ... */
	x.p[AT_REGS + 77] = (uint8_t)AF_HLL_RANK_MAX(AF_KEYSET_HLL_P);
	cr_assert_eq(load(&b, 10, &x, err, sizeof(err)), AF_OK, "%s", err);
	af_keyset_fini(&b);
	/* ... one more does not. */
	x.p[AT_REGS + 77] = (uint8_t)(AF_HLL_RANK_MAX(AF_KEYSET_HLL_P) + 1);
	assert_refused(&x, 10, "rank 52");
	x.p[AT_REGS + 77] = 255;
	assert_refused(&x, 10, "rank 255");
	free(x.p);
}

Test(keyset, refuses_a_sketch_with_every_register_empty)
{
	struct blob x = sketch_blob();
	memset(x.p + AT_REGS, 0, AF_HLL_REGS(AF_KEYSET_HLL_P));
	assert_refused(&x, 10, "empty");
	free(x.p);
}

Test(keyset, refuses_a_sketch_of_another_precision)
{
	struct blob x = sketch_blob();
	wr32(x.p + AT_P, AF_KEYSET_HLL_P - 1);
	struct af_keyset b;
	char err[256];
	cr_assert_eq(load(&b, 10, &x, err, sizeof(err)), AF_E_FORMAT);
	cr_assert_not_null(strstr(err, "precision 13"), "%s", err);
	af_keyset_fini(&b);
	free(x.p);
}

Test(keyset, refuses_keys_out_of_order_repeated_or_zero)
{
	struct blob x = exact_blob();
	uint8_t k[8];
	memcpy(k, x.p + AT_KEYS + 8 * 40, 8);

	memcpy(x.p + AT_KEYS + 8 * 40, x.p + AT_KEYS + 8 * 41, 8);
	memcpy(x.p + AT_KEYS + 8 * 41, k, 8);
	assert_refused(&x, 1000, "two keys swapped");
	memcpy(x.p + AT_KEYS + 8 * 41, x.p + AT_KEYS + 8 * 40, 8);
	assert_refused(&x, 1000, "a key twice");
	memcpy(x.p + AT_KEYS + 8 * 41, k, 8);
	memcpy(x.p + AT_KEYS + 8 * 40, k, 8);
	assert_refused(&x, 1000, "a key twice, the other way");
	free(x.p);

	x = exact_blob();
	wr64(x.p + AT_KEYS, 0);
	assert_refused(&x, 1000, "key 0 among the keys");
	free(x.p);
}

Test(keyset, refuses_a_bad_mode_zero_flag_or_count)
{
	struct blob x = exact_blob();
	wr32(x.p + AT_MODE, 2);
	assert_refused(&x, 1000, "mode 2");
	wr32(x.p + AT_MODE, 0);
	wr32(x.p + AT_ZERO, 2);
	assert_refused(&x, 1000, "zero flag 2");
	wr32(x.p + AT_ZERO, 1);
	wr64(x.p, 100);
	assert_refused(&x, 1000, "101 keys under a max of 100");
	wr64(x.p, 0);
	assert_refused(&x, 1000, "max 0");
	wr64(x.p, 1000);
	/* A count that claims more keys than follow. */
	wr64(x.p + AT_COUNT, 1000);
	assert_refused(&x, 1000, "a count of 1000");
	free(x.p);
}

Test(keyset, refuses_a_state_cut_short_or_with_bytes_left_over)
{
	struct blob xs[2] = {exact_blob(), sketch_blob()};
	size_t maxes[2] = {1000, 10};
	char err[256];
	for (int i = 0; i < 2; i++) {
		struct blob *x = &xs[i];
		struct af_keyset b;
		for (size_t keep = 0; keep < x->len; keep += keep < 64 ? 1 : 97) {
			cr_assert_eq(load_len(&b, maxes[i], x, keep, err, sizeof(err)), AF_E_FORMAT,
			             "kept %zu of %zu", keep, x->len);
			af_keyset_fini(&b);
		}
		cr_assert_eq(load_len(&b, maxes[i], x, x->len - 1, err, sizeof(err)), AF_E_FORMAT);
		af_keyset_fini(&b);
		/* The whole state loads; a byte more does not. */
		cr_assert_eq(load(&b, maxes[i], x, err, sizeof(err)), AF_OK, "%s", err);
		af_keyset_fini(&b);
		x->p[x->len] = 0;
		cr_assert_eq(load_len(&b, maxes[i], x, x->len + 1, err, sizeof(err)), AF_E_FORMAT);
		cr_assert_not_null(strstr(err, "bytes follow"), "%s", err);
		af_keyset_fini(&b);
		free(x->p);
	}
}
