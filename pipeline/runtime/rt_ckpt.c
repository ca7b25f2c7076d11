/* rt_ckpt.c - the runtime's checkpoints: each party writes its own part
 * (the source its positions, each shard its state), the sink writes the
 * manifest that makes them one checkpoint, and a run starting over loads
 * them all before its threads start (see runtime.h).
 *
 * Thread: af_rt_ckpt_source on the source thread; af_rt_ckpt_core on each
 * core thread; af_rt_ckpt_part_done and af_rt_ckpt_sink on the sink thread;
 * af_runtime_restore and af_runtime_checkpoint_remove on the controlling
 * thread.
 * In: the runtime's state at a batch boundary. Out: snapshot files
 * (pipeline/snapshot.h) in cfg->state.dir: source.ID.snap,
 * core-I.ID.snap, and the manifest, checkpoint.
 *
 * DESIGN: the checkpoint's cut is a batch number B. The source starts it
 * when it hands on batch B - 1: its positions are then exactly those after
 * that batch. A shard writes its part when it has read the marker of
 * batch B - 1: every item of the batches before B is in its state (applied
 * or waiting in its reorder buffer) and none after. So nobody stops for
 * anybody: each writes at its own point of the same cut, at most a batch
 * apart. The checkpoint counts only once the manifest is written, and the
 * sink writes it only when every shard's part is written and the outputs
 * hold everything the shards raised before writing them: a run resumed
 * from it loses nothing, and raises again only what was raised after it.
 * The parts are named by checkpoint number, so the previous checkpoint
 * stays whole until the manifest of the next replaces it.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "pipeline/clock.h"
#include "pipeline/runtime/rt_impl.h"
#include "pipeline/snapshot.h"

#define TAG(a, b, c, d)                                                                            \
	((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define TAG_MANIFEST TAG('M', 'A', 'N', 'I')
#define TAG_RUN      TAG('R', 'U', 'N', ' ')
#define TAG_SOURCE   TAG('S', 'R', 'C', ' ')
#define TAG_CORE     TAG('C', 'O', 'R', 'E')
#define TAG_SHARD    TAG('S', 'H', 'R', 'D')
#define TAG_MERGE    TAG('M', 'E', 'R', 'G')
#define TAG_DEDUP    TAG('D', 'D', 'U', 'P')
#define TAG_KEYSET   TAG('K', 'S', 'E', 'T')

#define MANIFEST "checkpoint"

/* The fingerprint of everything written raw in a checkpoint. */
static uint64_t layout(void)
{
	const uint64_t parts[] = {af_shard_layout(), af_merge_layout(), sizeof(struct af_summary),
	                          AF_REASON_COUNT,   AF_KIND_COUNT,     AF_SCHEMA_COUNT};
	return XXH3_64bits(parts, sizeof(parts));
}

static void name_source(char *buf, size_t size, const char *dir, uint64_t id)
{
	snprintf(buf, size, "%s/source.%" PRIu64 ".snap", dir, id);
}

static void name_core(char *buf, size_t size, const char *dir, uint32_t core, uint64_t id)
{
	snprintf(buf, size, "%s/core-%" PRIu32 ".%" PRIu64 ".snap", dir, core, id);
}

/* --- writing --- */

bool af_rt_ckpt_source(struct af_runtime *rt)
{
	char path[PATH_MAX], err[400], msg[512];
	struct af_snap_writer *w;

	name_source(path, sizeof(path), rt->ckpt_dir, rt->ckpt_id);
	if (af_snap_create(path, layout(), &w, err, sizeof(err)) != AF_OK)
		goto fail;
	af_snap_begin(w, TAG_RUN);
	af_snap_put_u64(w, rt->ckpt_id);
	af_snap_put_u64(w, rt->ckpt_batch);
	af_snap_put_u64(w, rt->records);
	af_snap_put_u32(w, rt->src.ninputs);
	for (uint32_t i = 0; i < rt->src.ninputs; i++)
		af_snap_put_u64(w, (uint64_t)af_runtime_frontier(rt, i));
	/* The file table: events waiting in the reorder buffers name their
	 * file by index. */
	af_snap_put_u32(w, rt->npaths);
	for (uint32_t i = 0; i < rt->npaths; i++) {
		const char *p = af_runtime_path(rt, i);
		af_snap_put_u32(w, (uint32_t)strlen(p));
		af_snap_put(w, p, strlen(p));
	}
	af_snap_begin(w, TAG_SOURCE);
	rt->src.save(rt->src.ctx, w);
	if (af_snap_commit(w, err, sizeof(err)) != AF_OK)
		goto fail;
	return true;
fail:
	snprintf(msg, sizeof(msg), "cannot write a checkpoint: %s", err);
	af_rt_fail(rt, RT_WHO_SOURCE, msg);
	return false;
}

bool af_rt_ckpt_core(struct rt_core *c, uint64_t id)
{
	struct af_runtime *rt = c->rt;
	char path[PATH_MAX], err[400], msg[512];
	struct af_snap_writer *w;

	name_core(path, sizeof(path), rt->ckpt_dir, c->id, id);
	if (af_snap_create(path, layout(), &w, err, sizeof(err)) != AF_OK)
		goto fail;
	af_snap_begin(w, TAG_CORE);
	af_snap_put_u64(w, id);
	af_snap_put_u64(w, c->expected);
	af_snap_put_u32(w, c->id);
	af_snap_put_u32(w, rt->n);
	af_snap_put_u32(w, rt->src.ninputs);
	for (uint32_t i = 0; i < rt->src.ninputs; i++) {
		uint8_t done = c->input_done[i];
		af_snap_put(w, &done, 1);
	}
	af_snap_put(w, &c->sum, sizeof(c->sum));
	af_snap_begin(w, TAG_SHARD);
	af_shard_save(c->shard, w);
	af_snap_begin(w, TAG_MERGE);
	af_merge_save(c->merge, w);
	af_snap_begin(w, TAG_DEDUP);
	af_dedup_save(c->dedup, w);
	af_snap_begin(w, TAG_KEYSET);
	af_keyset_save(&c->accounts, w);
	if (af_snap_commit(w, err, sizeof(err)) != AF_OK)
		goto fail;
	return true;
fail:
	snprintf(msg, sizeof(msg), "cannot write a checkpoint: %s", err);
	af_rt_fail(rt, (int)c->id + 2, msg);
	return false;
}

void af_rt_ckpt_part_done(struct af_runtime *rt, uint64_t id, uint64_t tokens)
{
	/* One checkpoint at a time: the source starts none while this one is
	 * busy, so its number is still the one the shards wrote. */
	if (id != rt->ckpt_id)
		return;
	rt->ckpt_parts++;
	rt->ckpt_token = tokens;
}

/* Remove the files of checkpoint id, which the manifest no longer names.
 * A file that stays behind only takes room. */
static void remove_parts(const struct af_runtime *rt, uint64_t id)
{
	char path[PATH_MAX];

	name_source(path, sizeof(path), rt->ckpt_dir, id);
	unlink(path);
	for (uint32_t i = 0; i < rt->n; i++) {
		name_core(path, sizeof(path), rt->ckpt_dir, i, id);
		unlink(path);
	}
}

void af_rt_ckpt_sink(struct af_runtime *rt, uint64_t settled)
{
	char path[PATH_MAX], err[400], msg[512];
	struct af_snap_writer *w;

	if (rt->ckpt_dir == NULL || rt->ckpt_parts < rt->n || settled < rt->ckpt_token ||
	    rt->outlet_failed)
		return;
	rt->ckpt_parts = 0;
	/* The files take what the outputs settled into their buffers (an
	 * outlet writes them on this thread too): out to the kernel before
	 * the manifest, so a crash after it loses none of those lines. */
	if ((rt->sinks.alerts != NULL && af_alert_out_flush(rt->sinks.alerts) != AF_OK) ||
	    (rt->sinks.dlq != NULL && af_dlq_flush(rt->sinks.dlq) != AF_OK) ||
	    (rt->sinks.events != NULL && af_ecs_flush(rt->sinks.events) != AF_OK))
		rt->sink_io_failed = true;
	/* An output that lost something must not be skipped on a resume:
	 * the last good checkpoint stays the one to resume from. */
	if (rt->sink_io_failed)
		goto done;
	snprintf(path, sizeof(path), "%s/" MANIFEST, rt->ckpt_dir);
	if (af_snap_create(path, layout(), &w, err, sizeof(err)) != AF_OK)
		goto fail;
	af_snap_begin(w, TAG_MANIFEST);
	af_snap_put_u64(w, rt->ckpt_id);
	af_snap_put_u64(w, rt->ckpt_batch);
	af_snap_put_u32(w, rt->n);
	af_snap_put_u32(w, rt->src.ninputs);
	if (af_snap_commit(w, err, sizeof(err)) != AF_OK)
		goto fail;
	if (rt->ckpt_id > 1)
		remove_parts(rt, rt->ckpt_id - 1);
	uint64_t took = (uint64_t)((af_clock_s() - rt->ckpt_started) * 1e9);
	atomic_store_explicit(&rt->ckpt_last_ns, took, memory_order_relaxed);
	if (took > atomic_load_explicit(&rt->ckpt_max_ns, memory_order_relaxed))
		atomic_store_explicit(&rt->ckpt_max_ns, took, memory_order_relaxed);
	atomic_fetch_add_explicit(&rt->ckpt_done, 1, memory_order_relaxed);
done:
	/* Pairs with the source's acquire in ckpt_due: the next checkpoint
	 * starts after this one's files are settled. */
	atomic_store_explicit(&rt->ckpt_busy, false, memory_order_release);
	af_rt_unpark(&rt->source_park);
	return;
fail:
	snprintf(msg, sizeof(msg), "cannot write a checkpoint: %s", err);
	af_rt_fail(rt, RT_WHO_SINK, msg);
}

/* --- reading --- */

/* Open one file of the checkpoint and find its first section, tag. */
static af_err_t open_part(const char *path, uint32_t tag, struct af_snap_reader **r,
                          struct af_snap_view *v, char *errstr, size_t errstr_size)
{
	af_err_t err = af_snap_open(path, layout(), r, errstr, errstr_size);

	if (err != AF_OK)
		return err;
	if (!af_snap_find(*r, tag, v)) {
		snprintf(errstr, errstr_size, "%s: damaged: a section is missing", path);
		return AF_E_FORMAT;
	}
	return AF_OK;
}

/* A section of an open part, into *v; AF_E_FORMAT naming the file when
 * it is missing. */
static af_err_t part_section(const struct af_snap_reader *r, const char *path, uint32_t tag,
                             struct af_snap_view *v, char *errstr, size_t errstr_size)
{
	if (af_snap_find(r, tag, v))
		return AF_OK;
	snprintf(errstr, errstr_size, "%s: damaged: a section is missing", path);
	return AF_E_FORMAT;
}

/* A loader's failure, with the file it was reading in front. */
static af_err_t in_file(af_err_t err, const char *path, const char *what, char *errstr,
                        size_t errstr_size)
{
	char inner[400];

	if (err == AF_OK)
		return AF_OK;
	snprintf(inner, sizeof(inner), "%s", errstr);
	snprintf(errstr, errstr_size, "%s: %s: %s", path, what, inner);
	return err;
}

static af_err_t short_file(const char *path, char *errstr, size_t errstr_size)
{
	snprintf(errstr, errstr_size, "%s: damaged: a section is cut short or too long", path);
	return AF_E_FORMAT;
}

/* The source's part: numbering, frontiers, the file table, and the
 * source's own positions. */
static af_err_t restore_source(struct af_runtime *rt, uint64_t id, uint64_t batch, char *errstr,
                               size_t errstr_size)
{
	char path[PATH_MAX];
	struct af_snap_reader *r = NULL;
	struct af_snap_view v;
	uint64_t got_id, got_batch, records;
	uint32_t ninputs, npaths;
	char *name = NULL;
	af_err_t err;

	name_source(path, sizeof(path), rt->ckpt_dir, id);
	err = open_part(path, TAG_RUN, &r, &v, errstr, errstr_size);
	if (err != AF_OK)
		goto cleanup;
	err = short_file(path, errstr, errstr_size);
	if (!af_snap_take_u64(&v, &got_id) || !af_snap_take_u64(&v, &got_batch) ||
	    !af_snap_take_u64(&v, &records) || !af_snap_take_u32(&v, &ninputs))
		goto cleanup;
	if (got_id != id || got_batch != batch || ninputs != rt->src.ninputs) {
		snprintf(errstr, errstr_size, "%s: belongs to another checkpoint", path);
		goto cleanup;
	}
	for (uint32_t i = 0; i < ninputs; i++) {
		uint64_t f;
		if (!af_snap_take_u64(&v, &f))
			goto cleanup;
		atomic_store_explicit(&rt->frontier[i], (int64_t)f, memory_order_relaxed);
	}
	if (!af_snap_take_u32(&v, &npaths) || npaths > RT_PATH_CHUNK * RT_PATH_CHUNKS)
		goto cleanup;
	for (uint32_t i = 0; i < npaths; i++) {
		uint32_t len;
		if (!af_snap_take_u32(&v, &len) || len > v.len - v.at)
			goto cleanup;
		name = malloc((size_t)len + 1);
		if (name == NULL) {
			err = AF_E_NOMEM;
			snprintf(errstr, errstr_size, "out of memory reading %s", path);
			goto cleanup;
		}
		af_snap_take(&v, name, len);
		name[len] = '\0';
		if (af_runtime_path_add(rt, name) != i) {
			err = AF_E_NOMEM;
			snprintf(errstr, errstr_size, "out of memory reading %s", path);
			goto cleanup;
		}
		free(name);
		name = NULL;
	}
	if (!af_snap_done(&v))
		goto cleanup;
	rt->records = records;
	atomic_store_explicit(&rt->pub_records, records, memory_order_relaxed);
	err = part_section(r, path, TAG_SOURCE, &v, errstr, errstr_size);
	if (err != AF_OK)
		goto cleanup;
	err = rt->src.restore(rt->src.ctx, &v, errstr, errstr_size);
	if (err == AF_E_FORMAT)
		err = in_file(err, path, "source", errstr, errstr_size);
	if (err == AF_OK && !af_snap_done(&v))
		err = short_file(path, errstr, errstr_size);
cleanup:
	free(name);
	af_snap_close(r);
	return err;
}

/* Completion tracking: a restored event counts against its batch, as
 * when it was pushed, and its batch is not done until it leaves. */
static void track_held(const struct af_event *ev, void *ctx)
{
	struct rt_core *c = ctx;

	c->track[ev->pos.batch % AF_RT_TRACK]++;
	if (ev->pos.batch < c->track_base)
		c->track_base = ev->pos.batch;
}

/* Core i's part: its counts, its shard, reorder buffer, duplicate filter
 * and account set. */
static af_err_t restore_core(struct rt_core *c, uint64_t id, uint64_t batch, char *errstr,
                             size_t errstr_size)
{
	struct af_runtime *rt = c->rt;
	char path[PATH_MAX];
	struct af_snap_reader *r = NULL;
	struct af_snap_view v;
	uint64_t got_id, expected;
	uint32_t core, n, ninputs;
	af_err_t err;

	name_core(path, sizeof(path), rt->ckpt_dir, c->id, id);
	err = open_part(path, TAG_CORE, &r, &v, errstr, errstr_size);
	if (err != AF_OK)
		goto cleanup;
	err = short_file(path, errstr, errstr_size);
	if (!af_snap_take_u64(&v, &got_id) || !af_snap_take_u64(&v, &expected) ||
	    !af_snap_take_u32(&v, &core) || !af_snap_take_u32(&v, &n) ||
	    !af_snap_take_u32(&v, &ninputs))
		goto cleanup;
	if (got_id != id || expected != batch || core != c->id || n != rt->n ||
	    ninputs != rt->src.ninputs) {
		snprintf(errstr, errstr_size, "%s: belongs to another checkpoint", path);
		goto cleanup;
	}
	for (uint32_t i = 0; i < ninputs; i++) {
		uint8_t done;
		if (!af_snap_take(&v, &done, 1) || done > 1)
			goto cleanup;
		c->input_done[i] = done;
	}
	if (!af_snap_take(&v, &c->sum, sizeof(c->sum)) || !af_snap_done(&v))
		goto cleanup;
	atomic_store_explicit(&c->pub_invalid, c->sum.events_invalid, memory_order_relaxed);
	atomic_store_explicit(&c->pub_alerts, c->sum.alerts, memory_order_relaxed);
	c->expected = batch;
	c->track_base = c->done_sent = batch;

	err = part_section(r, path, TAG_SHARD, &v, errstr, errstr_size);
	if (err == AF_OK)
		err = in_file(af_shard_load(c->shard, &v, errstr, errstr_size), path, "shard",
		              errstr, errstr_size);
	if (err == AF_OK)
		err = part_section(r, path, TAG_MERGE, &v, errstr, errstr_size);
	if (err == AF_OK)
		err = in_file(af_merge_load(c->merge, &v, errstr, errstr_size), path,
		              "reorder buffer", errstr, errstr_size);
	if (err == AF_OK && c->track != NULL) {
		af_merge_each(c->merge, track_held, c);
		c->done_sent = c->track_base;
	}
	if (err == AF_OK)
		err = part_section(r, path, TAG_DEDUP, &v, errstr, errstr_size);
	if (err == AF_OK)
		err = in_file(af_dedup_load(c->dedup, &v, errstr, errstr_size), path,
		              "duplicate filter", errstr, errstr_size);
	if (err == AF_OK)
		err = part_section(r, path, TAG_KEYSET, &v, errstr, errstr_size);
	if (err == AF_OK)
		err = in_file(af_keyset_load(&c->accounts, &v, errstr, errstr_size), path,
		              "account set", errstr, errstr_size);
cleanup:
	af_snap_close(r);
	return err;
}

af_err_t af_runtime_restore(struct af_runtime *rt, uint64_t *id, char *errstr, size_t errstr_size)
{
	char path[PATH_MAX];
	struct af_snap_reader *r = NULL;
	struct af_snap_view v;
	uint64_t got_id, batch;
	uint32_t n, ninputs;
	af_err_t err;

	snprintf(path, sizeof(path), "%s/" MANIFEST, rt->ckpt_dir);
	err = af_snap_open(path, layout(), &r, errstr, errstr_size);
	if (err == AF_E_IO && errno == ENOENT)
		return AF_EOF;
	if (err != AF_OK)
		return err;
	err = short_file(path, errstr, errstr_size);
	if (!af_snap_find(r, TAG_MANIFEST, &v) || !af_snap_take_u64(&v, &got_id) ||
	    !af_snap_take_u64(&v, &batch) || !af_snap_take_u32(&v, &n) ||
	    !af_snap_take_u32(&v, &ninputs) || !af_snap_done(&v))
		goto cleanup;
	err = AF_E_CONFIG;
	if (n != rt->n) {
		snprintf(errstr, errstr_size,
		         "%s was taken by a run with %" PRIu32 " threads; this one has %" PRIu32
		         " (-j %" PRIu32 " resumes it)",
		         path, n, rt->n, n);
		goto cleanup;
	}
	if (ninputs != rt->src.ninputs) {
		snprintf(errstr, errstr_size,
		         "%s was taken reading %" PRIu32 " inputs; this run reads %" PRIu32
		         " (give the same inputs)",
		         path, ninputs, rt->src.ninputs);
		goto cleanup;
	}
	err = restore_source(rt, got_id, batch, errstr, errstr_size);
	for (uint32_t i = 0; err == AF_OK && i < rt->n; i++)
		err = restore_core(&rt->cores[i], got_id, batch, errstr, errstr_size);
	if (err != AF_OK)
		goto cleanup;
	rt->next_batch = batch;
	rt->ckpt_id = got_id;
	atomic_store_explicit(&rt->done_batches, batch, memory_order_relaxed);
	*id = got_id;
cleanup:
	af_snap_close(r);
	return err;
}

/* Whether name is one of the files a checkpoint is made of (or a
 * temporary file of one). */
static bool ckpt_file(const char *name)
{
	size_t len = strlen(name);
	bool snap = (len > 5 && strcmp(name + len - 5, ".snap") == 0) ||
	            (len > 9 && strcmp(name + len - 9, ".snap.tmp") == 0);

	if (strcmp(name, MANIFEST) == 0 || strcmp(name, MANIFEST ".tmp") == 0)
		return true;
	return snap && (strncmp(name, "source.", 7) == 0 || strncmp(name, "core-", 5) == 0);
}

af_err_t af_runtime_checkpoint_remove(const char *dir, char *errstr, size_t errstr_size)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/" MANIFEST, dir);
	if (unlink(path) != 0 && errno != ENOENT)
		goto fail;
	d = opendir(dir);
	if (d == NULL) {
		if (errno == ENOENT)
			return AF_OK;
		snprintf(path, sizeof(path), "%s", dir);
		goto fail;
	}
	while ((de = readdir(d)) != NULL) {
		if (!ckpt_file(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) != 0 && errno != ENOENT) {
			int saved = errno;
			closedir(d);
			errno = saved;
			goto fail;
		}
	}
	closedir(d);
	return AF_OK;
fail:
	snprintf(errstr, errstr_size, "cannot remove the checkpoint %s: %s", path, strerror(errno));
	return AF_E_IO;
}

af_err_t af_rt_ckpt_prepare(struct af_runtime *rt, char *errstr, size_t errstr_size)
{
	struct stat st;

	if (mkdir(rt->ckpt_dir, 0700) != 0 && errno != EEXIST)
		goto fail;
	if (stat(rt->ckpt_dir, &st) != 0)
		goto fail;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		goto fail;
	}
	if (access(rt->ckpt_dir, W_OK | X_OK) != 0)
		goto fail;
	return AF_OK;
fail:
	snprintf(errstr, errstr_size, "state folder %s: %s", rt->ckpt_dir, strerror(errno));
	return AF_E_CONFIG;
}
