/* fuzz_snapshot.c - libFuzzer target for the snapshot loader
 * (pipeline/snapshot.h) and a shard's state in it (af_shard_load).
 *
 * Thread: libFuzzer's, one input at a time.
 * In: any bytes, taken twice: as a snapshot file (written to a scratch
 * file and opened as --state-dir's would be) and as the bytes of a shard's
 * section on their own, so that the shard loader's framing is reached
 * without first forging the file's checksum. Out: nothing; a crash, a
 * sanitizer report, a leak or an abort() is the finding.
 *
 * What the headers promise is checked:
 *   - a file is either opened, with sections whose views lie inside it, or
 *     refused with AF_E_FORMAT (AF_E_IO, AF_E_NOMEM) and a message naming
 *     it;
 *   - a shard's state either loads, or is refused with AF_E_FORMAT or
 *     AF_E_CONFIG and a message;
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
#include "pipeline/shard.h"
#include "pipeline/snapshot.h"

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

static struct af_shard *shard_new(void)
{
	struct af_shard *s;
	char err[256];
	if (af_shard_new(&cfg, ignore_alert, NULL, &s, err, sizeof(err)) != AF_OK)
		abort();
	return s;
}

/* Save s as the one shard section of path. */
static void save(struct af_shard *s, const char *path)
{
	struct af_snap_writer *w;
	char err[512];
	CHECK(af_snap_create(path, af_shard_layout(), &w, err, sizeof(err)) == AF_OK);
	af_snap_begin(w, SHARD_TAG);
	af_shard_save(s, w);
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

/* Load v into a fresh shard; when it loads, the round trip through a file
 * holds. */
static void try_state(struct af_snap_view *v)
{
	char err[512] = "";
	struct af_shard *s = shard_new();
	af_err_t e = af_shard_load(s, v, err, sizeof(err));
	CHECK(e == AF_OK || e == AF_E_FORMAT || e == AF_E_CONFIG);
	CHECK(e == AF_OK || err[0] != '\0');
	if (e == AF_OK) {
		save(s, out_path);
		struct af_snap_view once, twice;
		struct af_snap_reader *r = open_ok(out_path, &once);
		struct af_shard *t = shard_new();
		CHECK(af_shard_load(t, &once, err, sizeof(err)) == AF_OK);
		save(t, again_path);
		struct af_snap_reader *q = open_ok(again_path, &twice);
		CHECK(once.len == twice.len && memcmp(once.p, twice.p, once.len) == 0);
		af_snap_close(q);
		af_snap_close(r);
		af_shard_free(t);
	}
	af_shard_free(s);
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
				try_state(&v);
		}
		af_snap_close(r);
	}
	struct af_snap_view raw = {.p = data, .len = size};
	try_state(&raw);
	return 0;
}
