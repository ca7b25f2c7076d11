/* fuzz_snapshot.c - libFuzzer target for the snapshot loader
 * (pipeline/snapshot.h) and the states a checkpoint holds: a shard's
 * (af_shard_load), its reorder buffer's (af_merge_load), its duplicate
 * filter's (af_dedup_load) and its distinct-account count's
 * (af_keyset_load).
 *
 * Thread: libFuzzer's, one input at a time.
 * In: any bytes, taken as a snapshot file (written to a scratch file and
 * opened as --state-dir's would be) and as the bytes of a section on their
 * own, given to each loader in turn, so that the loaders' framing is
 * reached without first forging the file's checksum. Out: nothing; a
 * crash, a sanitizer report, a leak or an abort() is the finding.
 *
 * What the headers promise is checked:
 *   - a file is either opened, with sections whose views lie inside it, or
 *     refused with AF_E_FORMAT (AF_E_IO, AF_E_NOMEM) and a message naming
 *     it;
 *   - a state either loads, or is refused with AF_E_FORMAT, AF_E_CONFIG
 *     (or, for the filter and the count, AF_E_NOMEM) and a message;
 *   - a state that loads, saved again, loads again and saves to the same
 *     bytes (save and load are inverse on what load accepts).
 * The values inside a state are not judged: a snapshot's checksum stands
 * between them and a damaged disk, so a loaded value is trusted as its
 * writer's; no event is applied to what was loaded.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scratch.h"
#include "pipeline/config.h"
#include "pipeline/dedup.h"
#include "pipeline/merge.h"
#include "pipeline/shard.h"
#include "pipeline/snapshot.h"
#include "pipeline/state/keyset.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SHARD_TAG 1u

static char dir[256], in_path[300], out_path[300], again_path[300];
static struct af_config cfg;

static void remove_files(void)
{
	unlink(in_path);
	unlink(out_path);
	unlink(again_path);
	char tmp[320];
	snprintf(tmp, sizeof(tmp), "%s.tmp", out_path);
	unlink(tmp);
	rmdir(dir);
}

static void ignore_alert(void *ctx, const struct af_alert *a)
{
	(void)ctx;
	(void)a;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	CHECK(af_fuzz_scratch(dir, sizeof(dir), "fuzz_snapshot", remove_files));
	snprintf(in_path, sizeof(in_path), "%s/in.snap", dir);
	snprintf(out_path, sizeof(out_path), "%s/out.snap", dir);
	snprintf(again_path, sizeof(again_path), "%s/again.snap", dir);
	/* Small caps: the fuzzer finds the limits in a few entries. */
	af_config_init(&cfg);
	char err[256];
	if (af_config_set(&cfg, "state.max_accounts", "64", err, sizeof(err)) != AF_OK ||
	    af_config_set(&cfg, "state.max_addresses", "64", err, sizeof(err)) != AF_OK ||
	    af_config_set(&cfg, "state.hll_blocks", "16", err, sizeof(err)) != AF_OK)
		abort();
	return 0;
}

/* One kind of state: how to make an empty one, load into it, save it and
 * free it. Small sizes, so that the fuzzer finds the limits in a few
 * entries; a saved state must match them (inputs, window, retention) to
 * load. */
struct kind {
	void *(*fresh)(void);
	af_err_t (*load)(void *st, struct af_snap_view *v, char *errstr, size_t errstr_size);
	void (*save)(void *st, struct af_snap_writer *w);
	void (*drop)(void *st);
	bool nomem; /* the loader may answer AF_E_NOMEM */
};

static void *shard_fresh(void)
{
	struct af_shard *s;
	char err[256];
	if (af_shard_new(&cfg, ignore_alert, NULL, &s, err, sizeof(err)) != AF_OK)
		abort();
	return s;
}

static af_err_t shard_load(void *st, struct af_snap_view *v, char *err, size_t n)
{
	return af_shard_load(st, v, err, n);
}

static void shard_save(void *st, struct af_snap_writer *w)
{
	af_shard_save(st, w);
}

static void shard_drop(void *st)
{
	af_shard_free(st);
}

#define MERGE_INPUTS    4u
#define MERGE_WINDOW_NS 1000000000LL
#define MERGE_MAX       64u

static void *merge_fresh(void)
{
	struct af_merge *m = af_merge_new(MERGE_INPUTS, MERGE_WINDOW_NS, MERGE_MAX);
	if (m == NULL)
		abort();
	return m;
}

static af_err_t merge_load(void *st, struct af_snap_view *v, char *err, size_t n)
{
	return af_merge_load(st, v, err, n);
}

static void merge_save(void *st, struct af_snap_writer *w)
{
	af_merge_save(st, w);
}

static void merge_drop(void *st)
{
	af_merge_free(st);
}

#define DEDUP_RETENTION_NS (3600LL * 1000000000LL)
#define DEDUP_MAX          64u

static void *dedup_fresh(void)
{
	struct af_dedup *d = af_dedup_new(DEDUP_RETENTION_NS, DEDUP_MAX);
	if (d == NULL)
		abort();
	return d;
}

static af_err_t dedup_load(void *st, struct af_snap_view *v, char *err, size_t n)
{
	return af_dedup_load(st, v, err, n);
}

static void dedup_save(void *st, struct af_snap_writer *w)
{
	af_dedup_save(st, w);
}

static void dedup_drop(void *st)
{
	af_dedup_free(st);
}

#define KEYSET_MAX 64u

static void *keyset_fresh(void)
{
	struct af_keyset *ks = malloc(sizeof(*ks));
	if (ks == NULL || af_keyset_init_max(ks, KEYSET_MAX) != AF_OK)
		abort();
	return ks;
}

static af_err_t keyset_load(void *st, struct af_snap_view *v, char *err, size_t n)
{
	return af_keyset_load(st, v, err, n);
}

static void keyset_save(void *st, struct af_snap_writer *w)
{
	af_keyset_save(st, w);
}

static void keyset_drop(void *st)
{
	af_keyset_fini(st);
	free(st);
}

static const struct kind kinds[] = {
    {shard_fresh, shard_load, shard_save, shard_drop, false},
    {merge_fresh, merge_load, merge_save, merge_drop, false},
    {dedup_fresh, dedup_load, dedup_save, dedup_drop, true},
    {keyset_fresh, keyset_load, keyset_save, keyset_drop, true},
};

/* Save st as the one section of path. */
static void save(const struct kind *k, void *st, const char *path)
{
	struct af_snap_writer *w;
	char err[512];
	CHECK(af_snap_create(path, af_shard_layout(), &w, err, sizeof(err)) == AF_OK);
	af_snap_begin(w, SHARD_TAG);
	k->save(st, w);
	CHECK(af_snap_commit(w, err, sizeof(err)) == AF_OK);
}

static struct af_snap_reader *open_ok(const char *path, struct af_snap_view *v)
{
	struct af_snap_reader *r;
	char err[512];
	CHECK(af_snap_open(path, af_shard_layout(), &r, err, sizeof(err)) == AF_OK);
	CHECK(af_snap_find(r, SHARD_TAG, v));
	return r;
}

/* Load v into a fresh state of kind k; when it loads, the round trip
 * through a file holds. */
static void try_state(const struct kind *k, struct af_snap_view v)
{
	char err[512] = "";
	void *st = k->fresh();
	af_err_t e = k->load(st, &v, err, sizeof(err));
	CHECK(e == AF_OK || e == AF_E_FORMAT || e == AF_E_CONFIG || (k->nomem && e == AF_E_NOMEM));
	CHECK(e == AF_OK || err[0] != '\0');
	if (e == AF_OK) {
		save(k, st, out_path);
		struct af_snap_view once, twice;
		struct af_snap_reader *r = open_ok(out_path, &once);
		void *again = k->fresh();
		CHECK(k->load(again, &once, err, sizeof(err)) == AF_OK);
		save(k, again, again_path);
		struct af_snap_reader *q = open_ok(again_path, &twice);
		CHECK(once.len == twice.len && memcmp(once.p, twice.p, once.len) == 0);
		af_snap_close(q);
		af_snap_close(r);
		k->drop(again);
	}
	k->drop(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fopen(in_path, "wb");
	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	struct af_snap_reader *r = NULL;
	char err[512] = "";
	af_err_t e = af_snap_open(in_path, af_shard_layout(), &r, err, sizeof(err));
	CHECK(e == AF_OK || e == AF_E_FORMAT || e == AF_E_IO || e == AF_E_NOMEM);
	CHECK(e == AF_OK || strstr(err, in_path) != NULL);
	if (e == AF_OK) {
		for (uint32_t i = 0; i < af_snap_sections(r); i++) {
			uint32_t tag;
			struct af_snap_view v;
			af_snap_section(r, i, &tag, &v);
			CHECK(v.len <= size);
			if (tag == SHARD_TAG)
				try_state(&kinds[0], v);
		}
		af_snap_close(r);
	}
	struct af_snap_view raw = {.p = data, .len = size};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		try_state(&kinds[i], raw);
	return 0;
}
