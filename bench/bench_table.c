/* bench_table.c - the state table benchmark: single-thread upserts/s and
 * finds/s of af_table over a Zipf mix of account keys, the cost of
 * creating entries into a full table (every one evicts), and the memory an
 * entry really costs.
 *
 * Thread: main only.
 * In: options (see usage()). Out: a table on stdout, or one JSON line with
 * --json; exit 0, 1 when a check fails (a key present is not found, the
 * table holds more than its cap), 2 on a usage error.
 *
 * DESIGN: the keys are account names ("u0001234@tenant056.example.com"),
 * hashed with xxh3 before timing, as the parse stage does; the timed loops
 * do only what a shard does per event: upsert (or find) and touch the
 * value. The Zipf ranks are mapped to keys through a random permutation,
 * so the hot accounts are scattered over the slabs as they would be after
 * a day of arrivals, not packed into the first slots. Event times advance
 * by one microsecond per operation.
 *
 * Phases: fill (cap new keys into an empty table, once; the resident set
 * is read from /proc/self/statm before af_table_new and after the fill,
 * so the difference is what the entries cost in committed pages), then
 * upsert and find over the Zipf mix, --passes times each, the median pass
 * reported, then flood (as many new keys again into the full table, each
 * one evicting the oldest). Nothing here asserts a speed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "bench/bench_util.h"
#include "pipeline/state/table.h"

#define MAX_PASSES 99
#define KEY_STRIDE 48 /* bytes per key text in the bench's own key array */
#define STEP_NS    1000

struct bench_opts {
	size_t keys, ops;
	double zipf_s;
	size_t value_size, key_max;
	unsigned passes;
	uint64_t seed;
	bool json;
};

/* What the timed loops write into each value, so the value is touched. */
struct bench_value {
	uint64_t hits;
	int64_t first_ns;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_table [--keys N] [--ops N] [--zipf S] [--value-size B]\n"
	           "                   [--key-max B] [--passes N] [--seed S] [--json]\n"
	           "  --keys N        distinct accounts, and the table's cap (default 1000000)\n"
	           "  --ops N         operations per upsert or find pass (default 4000000)\n"
	           "  --zipf S        Zipf exponent of the mix (default 0.99)\n"
	           "  --value-size B  bytes of state per account (default 448)\n"
	           "  --key-max B     longest key the table holds, 32 or more (default 128)\n"
	           "  --passes N      timed passes of upsert and of find (default 3)\n"
	           "  --seed S        seed of the keys' order and of the mix (default 1)\n"
	           "  --json          one JSON object instead of the table\n");
}

/* 0 on success, 2 on a usage error (after saying why), -1 for --help. */
static int parse_args(int argc, char **argv, struct bench_opts *o)
{
	*o = (struct bench_opts){
	    .keys = 1000000,
	    .ops = 4000000,
	    .zipf_s = 0.99,
	    .value_size = 448,
	    .key_max = 128,
	    .passes = 3,
	    .seed = 1,
	};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;

		if (strcmp(a, "--keys") == 0 && af_bench_parse_u64(v, 1, 100000000, &n)) {
			o->keys = (size_t)n;
		} else if (strcmp(a, "--ops") == 0 && af_bench_parse_u64(v, 1, 1000000000, &n)) {
			o->ops = (size_t)n;
		} else if (strcmp(a, "--zipf") == 0 &&
		           af_bench_parse_double(v, 0, 10, &o->zipf_s)) {
		} else if (strcmp(a, "--value-size") == 0 &&
		           af_bench_parse_u64(v, 16, 1 << 20, &n)) {
			o->value_size = (size_t)n;
		} else if (strcmp(a, "--key-max") == 0 &&
		           af_bench_parse_u64(v, 32, AF_TABLE_KEY_MAX, &n)) {
			o->key_max = (size_t)n;
		} else if (strcmp(a, "--passes") == 0 && af_bench_parse_u64(v, 1, MAX_PASSES, &n)) {
			o->passes = (unsigned)n;
		} else if (strcmp(a, "--seed") == 0 && af_bench_parse_u64(v, 0, UINT64_MAX, &n)) {
			o->seed = n;
		} else if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return -1;
		} else {
			fprintf(stderr, "bench_table: bad option or value: %s%s%s\n", a,
			        v ? " " : "", v ? v : "");
			usage(stderr);
			return 2;
		}
		i++; /* the option's value */
	}
	return 0;
}

/* --- the workload ---------------------------------------------------------- */

struct workload {
	size_t nkeys;   /* 2 * keys: the first half fill and mix, the second flood */
	char *text;     /* nkeys * KEY_STRIDE */
	uint8_t *len;   /* nkeys */
	uint64_t *hash; /* nkeys */
	uint32_t *mix;  /* ops key indices below keys, Zipf over a permutation */
};

static void workload_fini(struct workload *w)
{
	free(w->text);
	free(w->len);
	free(w->hash);
	free(w->mix);
}

static bool workload_init(struct workload *w, const struct bench_opts *o)
{
	uint64_t rs = o->seed;
	double *cdf = NULL;
	uint32_t *perm = NULL;
	bool ok = false;

	*w = (struct workload){.nkeys = 2 * o->keys};
	w->text = malloc(w->nkeys * KEY_STRIDE);
	w->len = malloc(w->nkeys);
	w->hash = malloc(w->nkeys * sizeof(*w->hash));
	w->mix = malloc(o->ops * sizeof(*w->mix));
	cdf = malloc(o->keys * sizeof(*cdf));
	perm = malloc(o->keys * sizeof(*perm));
	if (!w->text || !w->len || !w->hash || !w->mix || !cdf || !perm)
		goto cleanup;
	for (size_t i = 0; i < w->nkeys; i++) {
		char *k = w->text + i * KEY_STRIDE;
		int n = snprintf(k, KEY_STRIDE, "u%07zu@tenant%03zu.example.com", i, i % 997);
		w->len[i] = (uint8_t)n;
		w->hash[i] = XXH3_64bits(k, (size_t)n);
	}
	for (size_t i = 0; i < o->keys; i++)
		perm[i] = (uint32_t)i;
	for (size_t i = o->keys - 1; i > 0; i--) {
		size_t j = af_bench_rnd(&rs) % (i + 1);
		uint32_t tmp = perm[i];
		perm[i] = perm[j];
		perm[j] = tmp;
	}
	double sum = af_bench_zipf_fill(cdf, o->keys, o->zipf_s);
	for (size_t i = 0; i < o->ops; i++) {
		/* scaled draw over unnormalized weights: keeps the mix of earlier runs */
		double u = af_bench_unit(&rs) * sum;

		w->mix[i] = perm[af_bench_zipf_rank(cdf, o->keys, u)];
	}
	ok = true;
cleanup:
	free(cdf);
	free(perm);
	if (!ok)
		workload_fini(w);
	return ok;
}

/* --- phases ------------------------------------------------------------------ */

struct report {
	double fill_s, upsert_s, find_s, flood_s; /* median where there are passes */
	size_t rss_before, rss_after;
	size_t distinct; /* distinct keys in the mix */
	size_t misses;   /* finds that missed: must be 0 */
	uint64_t checksum;
	struct af_table_stats st;      /* after the flood */
	struct af_table_stats st_full; /* after the fill */
};

static struct bench_value *upsert_key(struct af_table *t, const struct workload *w, size_t k,
                                      int64_t now)
{
	bool created;
	struct bench_value *v =
	    af_table_upsert(t, w->hash[k], w->text + k * KEY_STRIDE, w->len[k], now, &created);

	if (created)
		v->first_ns = now;
	v->hits++;
	return v;
}

static int run(const struct bench_opts *o, const struct workload *w, struct report *r)
{
	struct af_table *t = NULL;
	double pass_u[MAX_PASSES], pass_f[MAX_PASSES];
	int64_t now = 1756101480LL * 1000000000LL;
	int rc = 1;
	af_err_t err;
	double t0;

	r->rss_before = af_bench_rss_bytes();
	err = af_table_new(o->value_size, o->key_max, o->keys, &t);
	if (err != AF_OK) {
		fprintf(stderr, "bench_table: af_table_new: %s\n", af_err_str(err));
		goto cleanup;
	}
	t0 = af_clock_s();
	for (size_t k = 0; k < o->keys; k++)
		upsert_key(t, w, k, now += STEP_NS);
	r->fill_s = af_clock_s() - t0;
	r->rss_after = af_bench_rss_bytes();
	af_table_stats(t, &r->st_full);

	for (unsigned p = 0; p < o->passes; p++) {
		t0 = af_clock_s();
		for (size_t i = 0; i < o->ops; i++)
			upsert_key(t, w, w->mix[i], now += STEP_NS);
		pass_u[p] = af_clock_s() - t0;

		uint64_t sum = 0;
		size_t misses = 0;
		t0 = af_clock_s();
		for (size_t i = 0; i < o->ops; i++) {
			size_t k = w->mix[i];
			const struct bench_value *v =
			    af_table_find(t, w->hash[k], w->text + k * KEY_STRIDE, w->len[k]);
			if (v)
				sum += v->hits;
			else
				misses++;
		}
		pass_f[p] = af_clock_s() - t0;
		r->checksum = sum;
		r->misses += misses;
	}
	r->upsert_s = af_bench_median(pass_u, o->passes);
	r->find_s = af_bench_median(pass_f, o->passes);

	t0 = af_clock_s();
	for (size_t k = o->keys; k < w->nkeys; k++)
		upsert_key(t, w, k, now += STEP_NS);
	r->flood_s = af_clock_s() - t0;
	af_table_stats(t, &r->st);

	rc = 0;
	if (r->misses) {
		fprintf(stderr, "bench_table: FAIL: %zu finds missed keys that were present\n",
		        r->misses);
		rc = 1;
	}
	if (r->st.entries > r->st.cap || r->st.evictions != o->keys) {
		fprintf(stderr,
		        "bench_table: FAIL: after the flood %zu entries (cap %zu), %" PRIu64
		        " evictions (expected %zu)\n",
		        r->st.entries, r->st.cap, r->st.evictions, o->keys);
		rc = 1;
	}
cleanup:
	af_table_free(t);
	return rc;
}

static size_t distinct_in_mix(const struct bench_opts *o, const struct workload *w)
{
	uint8_t *seen = calloc(o->keys, 1);
	size_t n = 0;

	if (!seen)
		return 0;
	for (size_t i = 0; i < o->ops; i++)
		if (!seen[w->mix[i]]) {
			seen[w->mix[i]] = 1;
			n++;
		}
	free(seen);
	return n;
}

/* --- output ------------------------------------------------------------------ */

static void print_json(const struct bench_opts *o, const struct report *r)
{
	double rss = (double)(r->rss_after - r->rss_before);

	printf("{\"benchmark\":\"table\",\"keys\":%zu,\"ops\":%zu,\"zipf\":%.3f,\"distinct\":%zu,"
	       "\"value_size\":%zu,\"key_max\":%zu,\"cap\":%zu,\"passes\":%u,",
	       o->keys, o->ops, o->zipf_s, r->distinct, o->value_size, o->key_max, r->st.cap,
	       o->passes);
	printf("\"fill\":{\"ops_per_s\":%.0f,\"ns_per_op\":%.1f},", (double)o->keys / r->fill_s,
	       r->fill_s * 1e9 / (double)o->keys);
	printf("\"upsert\":{\"ops_per_s\":%.0f,\"ns_per_op\":%.1f},", (double)o->ops / r->upsert_s,
	       r->upsert_s * 1e9 / (double)o->ops);
	printf("\"find\":{\"ops_per_s\":%.0f,\"ns_per_op\":%.1f,\"checksum\":%" PRIu64 "},",
	       (double)o->ops / r->find_s, r->find_s * 1e9 / (double)o->ops, r->checksum);
	printf("\"flood\":{\"ops_per_s\":%.0f,\"ns_per_op\":%.1f,\"evictions\":%" PRIu64
	       ",\"entries\":%zu},",
	       (double)o->keys / r->flood_s, r->flood_s * 1e9 / (double)o->keys, r->st.evictions,
	       r->st.entries);
	printf("\"memory\":{\"rss_delta_bytes\":%.0f,\"rss_bytes_per_entry\":%.1f,"
	       "\"alloc_bytes\":%zu,\"alloc_bytes_per_entry\":%.1f,\"value_stride\":%zu}}\n",
	       rss, rss / (double)o->keys, r->st_full.bytes, r->st_full.bytes_per_entry,
	       r->st_full.value_stride);
}

static void print_table(const struct bench_opts *o, const struct report *r)
{
	double rss = (double)(r->rss_after - r->rss_before);

	printf("state table benchmark (single thread)\n");
	printf("table    cap %zu, value %zu B (stride %zu), keys up to %zu B\n", r->st.cap,
	       o->value_size, r->st_full.value_stride, o->key_max);
	printf("mix      %zu ops over %zu keys, Zipf s = %.2f (%zu distinct)\n", o->ops, o->keys,
	       o->zipf_s, r->distinct);
	printf("passes   %u timed of upsert and of find, median shown\n\n", o->passes);
	printf("%-40s %12s %10s\n", "phase", "ops/s", "ns/op");
	printf("%-40s %12.0f %10.1f\n", "fill: upsert new keys, empty table",
	       (double)o->keys / r->fill_s, r->fill_s * 1e9 / (double)o->keys);
	printf("%-40s %12.0f %10.1f\n", "upsert: present keys, Zipf mix",
	       (double)o->ops / r->upsert_s, r->upsert_s * 1e9 / (double)o->ops);
	printf("%-40s %12.0f %10.1f\n", "find: present keys, Zipf mix", (double)o->ops / r->find_s,
	       r->find_s * 1e9 / (double)o->ops);
	printf("%-40s %12.0f %10.1f\n\n", "flood: new keys, full table (evicting)",
	       (double)o->keys / r->flood_s, r->flood_s * 1e9 / (double)o->keys);
	printf("%-40s %12s %10s\n", "memory at cap", "bytes", "B/entry");
	printf("%-40s %12.0f %10.1f\n", "resident (statm delta over the fill)", rss,
	       rss / (double)o->keys);
	printf("%-40s %12zu %10.1f\n", "allocated (af_table_stats)", r->st_full.bytes,
	       r->st_full.bytes_per_entry);
	printf("\nafter the flood: %zu entries, %" PRIu64 " evictions, %" PRIu64 " collisions\n",
	       r->st.entries, r->st.evictions, r->st.collisions);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct workload w;
	struct report r = {0};
	int rc = parse_args(argc, argv, &o);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (!workload_init(&w, &o)) {
		fprintf(stderr, "bench_table: out of memory for the workload\n");
		return 1;
	}
	r.distinct = distinct_in_mix(&o, &w);
	rc = run(&o, &w, &r);
	if (rc == 0) {
		if (o.json)
			print_json(&o, &r);
		else
			print_table(&o, &r);
	}
	workload_fini(&w);
	return rc;
}
