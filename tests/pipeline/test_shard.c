/* test_shard.c - a shard's state through a snapshot: a shard loaded from
 * another's snapshot goes on exactly as the original would have (the same
 * alerts, in the same order, and the same state, down to the bytes of its
 * next snapshot), HyperLogLog blocks included; a snapshot that does not fit
 * the caps, or is cut short, is refused.
 *
 * The events are made here: forty accounts over thirty days signing in
 * from their usual places and sometimes from far away, failing against
 * each other from a few spraying addresses, and mailing from a pool of
 * recipients, so that every table fills and distinct counters of both
 * kinds (accounts' recipients, addresses' accounts) go past their exact
 * size into HyperLogLog blocks. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "pipeline/config.h"
#include "pipeline/ip.h"
#include "pipeline/shard.h"
#include "pipeline/snapshot.h"

#define SEC  INT64_C(1000000000)
#define HOUR (3600 * SEC)
#define T0   (INT64_C(1756101480) * SEC)

#define NEVENTS 20000
#define NALERTS 4096

struct place {
	const char *ip, *cc;
	double lat, lon;
	uint32_t asn;
};

static const struct place places[] = {
    {"192.0.2.10", "DE", 50.11, 8.68, 64501},      {"192.0.2.77", "FR", 48.85, 2.35, 64502},
    {"198.51.100.7", "US", 39.04, -77.49, 64511},  {"203.0.113.24", "VN", 21.03, 105.85, 64500},
    {"203.0.113.99", "BR", -23.55, -46.63, 64520}, {"2001:db8::5", "JP", 35.68, 139.69, 64530},
};
#define NPLACES (sizeof(places) / sizeof(places[0]))

static struct af_config cfg;
static struct af_event *events;

struct tally {
	size_t n;
	struct af_alert a[NALERTS];
};

static void on_alert(void *ctx, const struct af_alert *a)
{
	struct tally *t = ctx;
	cr_assert_lt(t->n, NALERTS);
	t->a[t->n++] = *a;
}

/* A small deterministic generator (splitmix64). */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void make_events(void)
{
	uint64_t rs = 42;
	events = calloc(NEVENTS, sizeof(*events));
	cr_assert_not_null(events);
	for (size_t i = 0; i < NEVENTS; i++) {
		struct af_event *ev = &events[i];
		uint64_t r = next_rand(&rs);
		unsigned account = (unsigned)(r % 40);
		unsigned roll = (unsigned)((r >> 8) % 100);
		/* An account's usual place, or now and then another one. */
		const struct place *p = &places[roll < 5 ? (r >> 16) % NPLACES : account % 3];
		ev->ts_ns = T0 + (int64_t)i * (30 * 24 * HOUR / NEVENTS);
		snprintf(ev->account, sizeof(ev->account), "user%u@contoso.example", account);
		ev->account_hash = XXH3_64bits(ev->account, strlen(ev->account));
		snprintf(ev->record_id, sizeof(ev->record_id), "rec-%zu", i);
		ev->pos.seq = i;
		ev->schema = AF_SCHEMA_ENTRA_GRAPH;
		ev->kind = AF_KIND_SIGNIN_OK;
		ev->outcome = AF_OUTCOME_SUCCESS;
		if (roll >= 60 && roll < 75) {
			/* A spray: the same few addresses against every account. */
			p = &places[3 + (r >> 20) % 2];
			ev->kind = AF_KIND_SIGNIN_FAILED;
			ev->outcome = AF_OUTCOME_FAILURE;
			ev->error_code = 50126;
		} else if (roll >= 75) {
			ev->kind = AF_KIND_MAIL_SEND;
			ev->schema = AF_SCHEMA_MSGTRACE;
			snprintf(ev->recipient, sizeof(ev->recipient), "r%u@fabrikam.example",
			         (unsigned)((r >> 24) % (account < 4 ? 400 : 12)));
			ev->recipient_count = 1;
		}
		cr_assert(af_ip_parse(p->ip, strlen(p->ip), &ev->src));
		snprintf(ev->geo.country, sizeof(ev->geo.country), "%s", p->cc);
		ev->geo.lat = p->lat;
		ev->geo.lon = p->lon;
		ev->geo.radius_km = 20;
		ev->geo.asn = p->asn;
		ev->geo.flags = AF_GEO_FOUND | AF_GEO_HAS_LOCATION;
	}
}

static char dir[64], path[128], other[128];

static void setup(void)
{
	af_config_init(&cfg);
	char err[256];
	cr_assert_eq(af_config_set(&cfg, "state.max_accounts", "64", err, sizeof(err)), AF_OK, "%s",
	             err);
	cr_assert_eq(af_config_set(&cfg, "state.max_addresses", "64", err, sizeof(err)), AF_OK,
	             "%s", err);
	make_events();
	snprintf(dir, sizeof(dir), "/tmp/af-shard-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/shard.snap", dir);
	snprintf(other, sizeof(other), "%s/other.snap", dir);
}

static void teardown(void)
{
	unlink(path);
	unlink(other);
	rmdir(dir);
	free(events);
	af_config_fini(&cfg);
}

TestSuite(shard, .init = setup, .fini = teardown);

static struct af_shard *shard_new(struct tally *t)
{
	struct af_shard *s;
	char err[256];
	cr_assert_eq(af_shard_new(&cfg, on_alert, t, &s, err, sizeof(err)), AF_OK, "%s", err);
	return s;
}

static void apply(struct af_shard *s, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		af_shard_apply(s, &events[i]);
}

static void save_to(struct af_shard *s, const char *p)
{
	struct af_snap_writer *w;
	char err[512];
	cr_assert_eq(af_snap_create(p, af_shard_layout(), &w, err, sizeof(err)), AF_OK, "%s", err);
	af_snap_begin(w, 1);
	af_shard_save(s, w);
	cr_assert_eq(af_snap_commit(w, err, sizeof(err)), AF_OK, "%s", err);
}

static void save(struct af_shard *s)
{
	save_to(s, path);
}

/* The shard section of the snapshot at p, into *v, from a reader the
 * caller closes. */
static struct af_snap_reader *section_of(const char *p, struct af_snap_view *v)
{
	struct af_snap_reader *r;
	char err[512];
	cr_assert_eq(af_snap_open(p, af_shard_layout(), &r, err, sizeof(err)), AF_OK, "%s", err);
	cr_assert(af_snap_find(r, 1, v));
	return r;
}

/* Load the snapshot at path into a new shard; its error (and errstr). */
static af_err_t load(struct af_shard **out, struct tally *t, char *err, size_t err_size)
{
	struct af_snap_view v;
	struct af_snap_reader *r = section_of(path, &v);
	*out = shard_new(t);
	af_err_t e = af_shard_load(*out, &v, err, err_size);
	af_snap_close(r);
	return e;
}

static void assert_same_alert(const struct af_alert *a, const struct af_alert *b, size_t i)
{
	cr_assert_eq(a->id, b->id, "alert %zu: another id", i);
	cr_assert_str_eq(a->rule, b->rule, "alert %zu", i);
	cr_assert_eq(a->ts_ns, b->ts_ns, "alert %zu", i);
	cr_assert_str_eq(a->account, b->account, "alert %zu", i);
	cr_assert_str_eq(a->message, b->message, "alert %zu", i);
	cr_assert_eq(a->nobserved, b->nobserved, "alert %zu", i);
	for (uint8_t k = 0; k < a->nobserved; k++)
		cr_assert_str_eq(a->observed[k].name, b->observed[k].name, "alert %zu", i);
}

Test(shard, goes_on_from_a_snapshot_exactly_as_without_one)
{
	static struct tally whole, before, after;
	struct af_shard *a = shard_new(&whole);
	apply(a, 0, NEVENTS);
	cr_assert_gt(whole.n, 20, "the events raise alerts (%zu)", whole.n);

	for (size_t cut = 1500; cut < NEVENTS; cut += 7001) {
		before.n = after.n = 0;
		struct af_shard *b = shard_new(&before);
		apply(b, 0, cut);
		struct af_shard_stats bs;
		af_shard_stats(b, &bs);
		save(b);
		af_shard_free(b);

		struct af_shard *c;
		char err[512];
		cr_assert_eq(load(&c, &after, err, sizeof(err)), AF_OK, "%s", err);
		struct af_shard_stats cs;
		af_shard_stats(c, &cs);
		cr_assert_eq(cs.accounts, bs.accounts);
		cr_assert_eq(cs.addresses, bs.addresses);
		apply(c, cut, NEVENTS);
		cr_assert_eq(before.n + after.n, whole.n, "cut at %zu: %zu + %zu alerts, not %zu",
		             cut, before.n, after.n, whole.n);
		for (size_t i = 0; i < before.n; i++)
			assert_same_alert(&before.a[i], &whole.a[i], i);
		for (size_t i = 0; i < after.n; i++)
			assert_same_alert(&after.a[i], &whole.a[before.n + i], before.n + i);

		/* The same state: the same bytes in a snapshot. */
		struct af_snap_view va, vc;
		save_to(a, path);
		save_to(c, other);
		struct af_snap_reader *ra = section_of(path, &va), *rc = section_of(other, &vc);
		cr_assert_eq(va.len, vc.len);
		cr_assert(memcmp(va.p, vc.p, va.len) == 0, "cut at %zu: the states differ", cut);
		af_snap_close(ra);
		af_snap_close(rc);
		af_shard_free(c);
	}
	af_shard_free(a);
}

Test(shard, keeps_its_distinct_counters_blocks)
{
	static struct tally t, u;
	struct af_shard *a = shard_new(&t);
	apply(a, 0, NEVENTS / 2);
	save(a);
	char err[512];
	struct af_snap_view v;
	struct af_snap_reader *r = section_of(path, &v);
	/* Blocks are 1248 bytes each: a snapshot without any would be far
	 * smaller than the values alone plus a few blocks. */
	cr_assert_gt(v.len, 4 * 1248, "%zu bytes", v.len);
	af_snap_close(r);
	struct af_shard *b;
	cr_assert_eq(load(&b, &u, err, sizeof(err)), AF_OK, "%s", err);
	af_shard_free(a);
	af_shard_free(b);
}

Test(shard, refuses_a_snapshot_larger_than_its_caps)
{
	static struct tally t, u;
	struct af_shard *a = shard_new(&t);
	apply(a, 0, NEVENTS);
	save(a);
	af_shard_free(a);
	char err[512];
	cr_assert_eq(af_config_set(&cfg, "state.max_accounts", "16", err, sizeof(err)), AF_OK);
	struct af_shard *b;
	cr_assert_eq(load(&b, &u, err, sizeof(err)), AF_E_CONFIG);
	cr_assert_not_null(strstr(err, "state.max_accounts"), "%s", err);
	af_shard_free(b);
}

Test(shard, refuses_a_state_cut_short_or_with_bytes_left_over)
{
	static struct tally t, u;
	struct af_shard *a = shard_new(&t);
	apply(a, 0, 3000);
	save(a);
	af_shard_free(a);
	char err[512];
	struct af_snap_view whole;
	struct af_snap_reader *r = section_of(path, &whole);
	for (size_t keep = 0; keep < whole.len; keep += keep < 64 ? 1 : 1777) {
		struct af_snap_view v = whole;
		v.len = keep;
		struct af_shard *b = shard_new(&u);
		cr_assert_eq(af_shard_load(b, &v, err, sizeof(err)), AF_E_FORMAT, "kept %zu", keep);
		af_shard_free(b);
	}
	/* A whole state, then a byte more. */
	uint8_t *longer = malloc(whole.len + 1);
	memcpy(longer, whole.p, whole.len);
	longer[whole.len] = 0;
	struct af_snap_view v = {.p = longer, .len = whole.len + 1};
	struct af_shard *b = shard_new(&u);
	cr_assert_eq(af_shard_load(b, &v, err, sizeof(err)), AF_E_FORMAT);
	cr_assert_not_null(strstr(err, "bytes follow"), "%s", err);
	af_shard_free(b);
	free(longer);
	af_snap_close(r);
}
