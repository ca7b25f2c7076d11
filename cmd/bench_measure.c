/* bench_measure.c - the measurements of `auditflow bench`: the file
 * reader's framing, parse, enrich and detect on one thread, the floor
 * (a bare parse and a bare pair of geo look-ups) on one thread, and the
 * whole runtime at a given thread count, over one corpus.
 *
 * Thread: the main thread; af_bench_e2e starts the runtime's threads and
 * waits for them (the corpus is read-only meanwhile).
 * In: the corpus (bench_impl.h), the configuration, the geo hub.
 * Out: seconds, counts, alerts (a count and an order-free digest of their
 * JSON lines), memory figures.
 *
 * DESIGN:
 *  - The single-thread stages run as the runtime's worker and shard do,
 *    batch by batch (runtime.batch_records records): parse the batch, then
 *    enrich it inside one reader section, then apply it to one shard; each
 *    stage's time is summed over the batches. So each stage is timed on its
 *    own, with the caches in the state the pipeline leaves them in, and no
 *    array of a million events is built to time a stage in isolation.
 *    Framing the batch (memchr over the buffer) is outside every figure.
 *  - framing is measured separately on the real path: ingest/file.h over
 *    the corpus file (from the page cache), as a replay reads.
 *  - The shard's resident growth while it applies events (read from
 *    /proc/self/statm around each batch's detect, outside the timings)
 *    is the state's real memory: af_shard_stats' bytes are what the tables
 *    reserve at their caps, which says nothing per account.
 *  - The floor is what a program written for exactly this corpus would
 *    spend at least on each record, on one core: the bare simdjson
 *    On-Demand loop of bench/parse_bare.h reading the fields our mappers
 *    read, and MMDB_lookup_sockaddr in the City and ASN databases on the
 *    client address. Everything that is not that is done before the clock
 *    starts: the records' lengths are taken from the buffer (so no memchr
 *    is timed, as no framing is in the stages), and each address is found
 *    by our parser and made a socket address. The look-ups stop at the
 *    tree walk: no value is read from the data section (enrich decodes
 *    and caches them), the Anonymous-IP database and the corporate list
 *    are left out, and nothing is detected.
 *  - End to end, the source frames records from the corpus buffer into
 *    batches as one input; alerts go to a file so that their lines can be
 *    compared across thread counts (there are few); dead letters are only
 *    counted; no event output. The time runs from af_runtime_start to the
 *    end of af_runtime_wait; the pools made by af_runtime_new are outside.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "pipeline/enrich/geo_db.h"
#include "bench/bench_util.h"
#include "bench/parse_bare.h"
#include "cmd/bench_impl.h"
#include "ingest/file.h"
#include "pipeline/parse/parse.h"
#include "pipeline/runtime/runtime.h"
#include "pipeline/shard.h"
#include "sinks/alert_out.h"
#include "sinks/dlq.h"
#include "sinks/jsonw.h"

/* Bytes of a dead letter's excerpt when a record is oversize, as the file
 * reader keeps. */
#define OVERSIZE_EXCERPT 4096u

/* Batches between two looks for a stop signal. */
#define STOP_EVERY 64u

/* --- framing ----------------------------------------------------------- */

af_err_t af_bench_framing(const struct af_bench_corpus *c, const struct af_config *cfg,
                          const sigset_t *stop, double *seconds, uint64_t *records, char *errstr,
                          size_t errstr_size)
{
	struct af_file_opts fo = {.max_record_bytes = cfg->input.max_record_bytes};
	struct af_record rec;
	uint64_t n = 0;
	af_err_t err;
	double t0 = af_clock_s();
	struct af_file *f = af_file_open(c->path, &fo, errstr, errstr_size);

	if (!f)
		return AF_E_IO;
	while ((err = af_file_next(f, &rec, errstr, errstr_size)) == AF_OK) {
		if ((++n & 0xffff) == 0 && af_bench_stopped(stop)) {
			err = AF_E_INTERNAL;
			snprintf(errstr, errstr_size, "interrupted");
			break;
		}
	}
	*seconds = af_clock_s() - t0;
	*records = n;
	af_file_close(f);
	return err == AF_EOF ? AF_OK : err;
}

/* --- the stages on one thread ------------------------------------------ */

/* Resident bytes now, from an open /proc/self/statm; -1 unknown. */
static int64_t resident(int statm)
{
	char buf[128];
	unsigned long size, pages;
	ssize_t n = statm >= 0 ? pread(statm, buf, sizeof(buf) - 1, 0) : -1;

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "%lu %lu", &size, &pages) != 2)
		return -1;
	return (int64_t)pages * sysconf(_SC_PAGESIZE);
}

struct alerts {
	uint64_t n, digest;
	char line[64 * 1024];
};

/* The digest of an alert: the xxh3 of its native JSON line (newline
 * excluded), summed, so the order alerts arrive in does not count. */
static void count_alert(void *ctx, const struct af_alert *a)
{
	struct alerts *x = ctx;
	struct af_jsonw w;

	af_jsonw_init(&w, x->line, sizeof(x->line), NULL);
	af_alert_out_format(&w, a, AF_OUTPUT_NATIVE);
	x->digest += XXH3_64bits(w.buf, w.len);
	x->n++;
}

struct pass_ctx {
	struct af_parser *ps;
	struct af_geo_reader *geo;
	struct af_shard *shard;
	struct af_event *ev;
	const char **rec;
	size_t *len;
	bool *ok;
	struct alerts *alerts;
	int statm;
};

static void pass_free(struct pass_ctx *x)
{
	af_shard_free(x->shard);
	af_geo_reader_free(x->geo);
	af_parser_free(x->ps);
	free(x->ev);
	free(x->rec);
	free(x->len);
	free(x->ok);
	free(x->alerts);
	if (x->statm >= 0)
		close(x->statm);
}

static af_err_t pass_new(struct pass_ctx *x, const struct af_config *cfg, struct af_geo_hub *hub,
                         char *errstr, size_t errstr_size)
{
	size_t b = cfg->runtime.batch_records;

	memset(x, 0, sizeof(*x));
	x->statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	x->ev = calloc(b, sizeof(*x->ev));
	x->rec = calloc(b, sizeof(*x->rec));
	x->len = calloc(b, sizeof(*x->len));
	x->ok = calloc(b, sizeof(*x->ok));
	x->alerts = calloc(1, sizeof(*x->alerts));
	x->ps = af_parser_new(cfg->input.max_record_bytes, errstr, errstr_size);
	if (hub)
		x->geo = af_geo_reader_new(hub, cfg->geo.cache_entries);
	if (!x->ev || !x->rec || !x->len || !x->ok || !x->alerts || !x->ps || (hub && !x->geo)) {
		snprintf(errstr, errstr_size, "out of memory setting up the stages");
		return AF_E_NOMEM;
	}
	return af_shard_new(cfg, count_alert, x->alerts, &x->shard, errstr, errstr_size);
}

af_err_t af_bench_stages(const struct af_bench_corpus *c, const struct af_config *cfg,
                         struct af_geo_hub *hub, const sigset_t *stop, struct af_bench_pass *p,
                         char *errstr, size_t errstr_size)
{
	struct pass_ctx x;
	size_t batch = cfg->runtime.batch_records;
	const char *pos = c->buf, *end = c->buf + c->len;
	uint64_t seq = 0, batches = 0;
	af_err_t err = pass_new(&x, cfg, hub, errstr, errstr_size);

	memset(p, 0, sizeof(*p));
	while (err == AF_OK && pos < end) {
		size_t k = 0;
		for (; k < batch && pos < end; k++) {
			const char *nl = memchr(pos, '\n', (size_t)(end - pos));
			x.rec[k] = pos;
			x.len[k] = (size_t)(nl - pos);
			pos = nl + 1;
		}
		double t0 = af_clock_s();
		for (size_t i = 0; i < k; i++) {
			const char *detail;
			memset(&x.ev[i].pos, 0, sizeof(x.ev[i].pos));
			x.ev[i].pos.seq = seq++;
			x.ev[i].pos.line = seq;
			/* the file reader dead-letters these before the parser */
			x.ok[i] = x.len[i] <= cfg->input.max_record_bytes &&
			          af_parse_record(x.ps, x.rec[i], x.len[i], &x.ev[i], &detail) ==
			              AF_REASON_NONE;
		}
		double t1 = af_clock_s();
		if (x.geo) {
			af_geo_reader_enter(x.geo);
			for (size_t i = 0; i < k; i++)
				if (x.ok[i])
					af_geo_enrich(x.geo, &x.ev[i]);
			af_geo_reader_leave(x.geo);
		}
		double t2 = af_clock_s();
		int64_t rss0 = resident(x.statm);
		double t3 = af_clock_s();
		for (size_t i = 0; i < k; i++) {
			if (x.ok[i]) {
				af_shard_apply(x.shard, &x.ev[i]);
				p->events++;
			}
		}
		double t4 = af_clock_s();
		int64_t rss1 = resident(x.statm);
		if (rss0 >= 0 && rss1 >= 0)
			p->state_resident += rss1 - rss0;
		p->parse_s += t1 - t0;
		p->enrich_s += t2 - t1;
		p->detect_s += t4 - t3;
		p->parsed += k;
		if (++batches % STOP_EVERY == 0 && af_bench_stopped(stop)) {
			err = AF_E_INTERNAL;
			snprintf(errstr, errstr_size, "interrupted");
		}
	}
	if (err == AF_OK) {
		struct af_shard_stats st;
		af_shard_stats(x.shard, &st);
		p->accounts = st.accounts;
		p->state_alloc = st.bytes;
		p->alerts = x.alerts->n;
		p->alert_digest = x.alerts->digest;
		if (x.geo)
			af_geo_reader_stats(x.geo, &p->geo);
	}
	pass_free(&x);
	return err;
}

/* --- the floor ------------------------------------------------------------ */

/* A record as the timed loop takes it: the next one starts len + 1 bytes
 * further on (after its newline). */
struct floor_rec {
	union af_geo_sockaddr addr; /* sa_family AF_UNSPEC: the record has none */
	uint32_t len;
};

struct floor_ctx {
	MMDB_s mmdb[2];
	unsigned dbs; /* mmdb[0..dbs) are open */
	struct af_bare *bare;
	struct af_parser *ps; /* finds the addresses, before the clock */
	struct af_event *ev;
	struct floor_rec *recs;
	size_t n;
};

static void floor_free(struct floor_ctx *x)
{
	for (unsigned d = 0; d < x->dbs; d++)
		MMDB_close(&x->mmdb[d]);
	af_bare_free(x->bare);
	af_parser_free(x->ps);
	free(x->ev);
	free(x->recs);
}

/* Open the databases and the bare loop; frame every record of c and find
 * its address. */
static af_err_t floor_new(struct floor_ctx *x, const struct af_bench_corpus *c,
                          const struct af_config *cfg, const char *kernel, const sigset_t *stop,
                          char *errstr, size_t errstr_size)
{
	const char *paths[2] = {cfg->geo.city, cfg->geo.asn};
	size_t max = cfg->input.max_record_bytes;
	const char *pos = c->buf, *end = c->buf + c->len;

	memset(x, 0, sizeof(*x));
	for (int k = 0; k < 2; k++) {
		if (!paths[k])
			continue;
		int rc = MMDB_open(paths[k], MMDB_MODE_MMAP, &x->mmdb[x->dbs]);
		if (rc != MMDB_SUCCESS) {
			snprintf(errstr, errstr_size, "%s: %s%s%s", paths[k], MMDB_strerror(rc),
			         rc == MMDB_IO_ERROR ? ": " : "",
			         rc == MMDB_IO_ERROR ? strerror(errno) : "");
			return AF_E_IO;
		}
		x->dbs++;
	}
	x->bare = af_bare_new(max, kernel, errstr, errstr_size);
	if (!x->bare)
		return AF_E_NOMEM;
	x->ps = af_parser_new(max, errstr, errstr_size);
	x->ev = calloc(1, sizeof(*x->ev));
	x->recs = calloc(c->records ? c->records : 1, sizeof(*x->recs));
	if (!x->ps || !x->ev || !x->recs) {
		snprintf(errstr, errstr_size, "out of memory setting up the floor");
		return AF_E_NOMEM;
	}
	while (pos < end && x->n < c->records) {
		const char *nl = memchr(pos, '\n', (size_t)(end - pos));
		struct floor_rec *r = &x->recs[x->n++];
		const char *detail;
		/* the corpus's records are shorter (bench_corpus.c's frame_all) */
		r->len = (uint32_t)(nl - pos);
		memset(&x->ev->pos, 0, sizeof(x->ev->pos));
		if (r->len <= max &&
		    af_parse_record(x->ps, pos, r->len, x->ev, &detail) == AF_REASON_NONE)
			af_geo_sockaddr(&x->ev->src, &r->addr);
		pos = nl + 1;
		if ((x->n & 0xffff) == 0 && af_bench_stopped(stop)) {
			snprintf(errstr, errstr_size, "interrupted");
			return AF_E_INTERNAL;
		}
	}
	return AF_OK;
}

af_err_t af_bench_floor(const struct af_bench_corpus *c, const struct af_config *cfg,
                        const char *kernel, const sigset_t *stop, struct af_bench_floor *f,
                        char *errstr, size_t errstr_size)
{
	struct floor_ctx x;
	struct af_bare_rec br;
	size_t batch = cfg->runtime.batch_records, max = cfg->input.max_record_bytes;
	uint64_t batches = 0;
	const char *pos = c->buf;
	af_err_t err = floor_new(&x, c, cfg, kernel, stop, errstr, errstr_size);

	memset(f, 0, sizeof(*f));
	f->dbs = x.dbs;
	/* Timed batch by batch, as the stages are, so that the looks for a
	 * stop signal stay outside the clock. */
	for (size_t i = 0; err == AF_OK && i < x.n;) {
		size_t stop_at = x.n - i > batch ? i + batch : x.n;
		uint64_t sum = 0, records = 0, rejected = 0, lookups = 0, found = 0;
		double t0 = af_clock_s();
		for (; i < stop_at; i++) {
			const struct floor_rec *r = &x.recs[i];
			if (r->len <= max) {
				rejected += !af_bare_record(x.bare, pos, r->len, &br);
				sum += br.sum;
				records++;
			}
			if (r->addr.sa.sa_family != AF_UNSPEC) {
				for (unsigned d = 0; d < x.dbs; d++) {
					int mmdb_err = MMDB_SUCCESS;
					MMDB_lookup_result_s res = MMDB_lookup_sockaddr(
					    &x.mmdb[d], &r->addr.sa, &mmdb_err);
					found += mmdb_err == MMDB_SUCCESS && res.found_entry;
					sum += res.entry.offset;
				}
				lookups += x.dbs;
			}
			pos += r->len + 1;
		}
		f->seconds += af_clock_s() - t0;
		f->checksum += sum;
		f->records += records;
		f->rejected += rejected;
		f->lookups += lookups;
		f->found += found;
		if (++batches % STOP_EVERY == 0 && af_bench_stopped(stop)) {
			err = AF_E_INTERNAL;
			snprintf(errstr, errstr_size, "interrupted");
		}
	}
	floor_free(&x);
	return err;
}

/* --- end to end ---------------------------------------------------------- */

/* The source: records framed from the corpus buffer, as one input. */
struct mem_source {
	const struct af_bench_corpus *c;
	size_t pos;        /* where the next record starts */
	uint64_t seq;      /* records handed on */
	uint32_t file;     /* the corpus's index in the runtime's file table */
	size_t max_record; /* longer records go on as oversize dead letters */
	bool ended;
};

static af_err_t fill(void *ctx, struct af_runtime *rt, struct af_rt_batch *b, char *errstr,
                     size_t errstr_size)
{
	struct mem_source *s = ctx;
	const struct af_bench_corpus *c = s->c;

	(void)errstr;
	(void)errstr_size;
	if (s->ended)
		return AF_EOF;
	if (s->seq == 0 && s->pos == 0)
		s->file = af_runtime_path_index(rt, c->path);
	b->input = 0;
	while (s->pos < c->len) {
		const char *p = c->buf + s->pos;
		const char *nl = memchr(p, '\n', c->len - s->pos);
		size_t len = (size_t)(nl - p);
		struct af_rt_rec rec = {
		    .file = s->file,
		    .reason = AF_REASON_NONE,
		    .line = s->seq + 1,
		    .offset = s->pos,
		    .seq = s->seq,
		};
		size_t take = len;
		if (len > s->max_record) {
			rec.reason = AF_REASON_OVERSIZE;
			take = s->max_record < OVERSIZE_EXCERPT ? s->max_record : OVERSIZE_EXCERPT;
		}
		if (!af_rt_batch_add(b, p, take, &rec))
			return AF_OK;
		s->pos += len + 1;
		s->seq++;
	}
	b->last = true;
	s->ended = true;
	return AF_OK;
}

/* Forget the process's peak resident set so far (Linux's clear_refs 5);
 * false when the kernel does not allow it. Memory the runs before freed
 * but glibc kept in its arenas is given back first (malloc_trim), or each
 * run's peak would carry the earlier runs' leftovers: measured, the
 * resident set at the reset grew 232 -> 412 -> 514 MB over six runs. */
static bool peak_reset(void)
{
	malloc_trim(0);
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	bool ok = fd >= 0 && write(fd, "5", 1) == 1;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* The peak resident set (VmHWM) in bytes; 0 unknown. */
static uint64_t peak_rss(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

/* The digest count_alert would give the alert lines of the file at path. */
static af_err_t digest_file(const char *path, uint64_t *digest, char *errstr, size_t errstr_size)
{
	FILE *f = fopen(path, "rb");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f) {
		snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
		return AF_E_IO;
	}
	*digest = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			n--;
		*digest += XXH3_64bits(line, (size_t)n);
	}
	free(line);
	fclose(f);
	return AF_OK;
}

/* Wait for the run to end; a stop signal stops it (the caller reports). */
static bool supervise(struct af_runtime *rt, const sigset_t *stop)
{
	/* 1 ms: the run's end is seen within a millisecond, at the cost of
	 * a thousand short wake-ups a second on the main thread. */
	const struct timespec tick = {0, 1000 * 1000};
	bool stopped = false;

	while (!af_runtime_done(rt)) {
		if (sigtimedwait(stop, NULL, &tick) > 0 && !stopped) {
			af_runtime_stop(rt);
			stopped = true;
		}
	}
	return stopped;
}

af_err_t af_bench_e2e(const struct af_bench_corpus *c, const struct af_config *cfg,
                      struct af_geo_hub *hub, uint32_t threads, const char *alerts_path,
                      const sigset_t *stop, struct af_bench_e2e *e, char *errstr,
                      size_t errstr_size)
{
	struct af_config rc = *cfg; /* borrowed strings; never finalised */
	struct af_summary sum;
	struct af_runtime *rt = NULL;
	struct af_alert_out *out = NULL;
	struct af_dlq *dlq = NULL;
	struct mem_source src = {.c = c, .max_record = cfg->input.max_record_bytes};
	af_err_t err = AF_E_IO;

	memset(e, 0, sizeof(*e));
	rc.runtime.threads = threads;
	af_summary_init(&sum);
	dlq = af_dlq_open(NULL, 0, errstr, errstr_size);
	if (dlq)
		out = af_alert_out_open(alerts_path, AF_OUTPUT_NATIVE, NULL, errstr, errstr_size);
	if (!out)
		goto cleanup;
	struct af_rt_source so = {.ctx = &src, .ninputs = 1, .fill = fill};
	struct af_rt_sinks sinks = {.alerts = out, .dlq = dlq, .events = NULL};
	e->peak_reset = peak_reset();
	err = af_runtime_new(&rc, &so, &sinks, hub, &rt, errstr, errstr_size);
	if (err != AF_OK)
		goto cleanup;
	double t0 = af_clock_s();
	err = af_runtime_start(rt, errstr, errstr_size);
	if (err != AF_OK)
		goto cleanup;
	bool stopped = supervise(rt, stop);
	err = af_runtime_wait(rt, &sum, errstr, errstr_size);
	e->seconds = af_clock_s() - t0;
	e->peak_rss = peak_rss();
	e->p50_s = af_runtime_batch_latency(rt, 0.5);
	e->p99_s = af_runtime_batch_latency(rt, 0.99);
	if (err == AF_OK && stopped) {
		err = AF_E_INTERNAL;
		snprintf(errstr, errstr_size, "interrupted");
	}
cleanup:
	af_runtime_free(rt);
	if (out) {
		char msg[256];
		af_err_t e2 = af_alert_out_close(out, msg, sizeof(msg));
		if (err == AF_OK && e2 != AF_OK) {
			snprintf(errstr, errstr_size, "%s", msg);
			err = e2;
		}
	}
	if (dlq)
		af_dlq_close(dlq, NULL, 0);
	if (err == AF_OK)
		err = digest_file(alerts_path, &e->alert_digest, errstr, errstr_size);
	e->events_in = sum.events_in;
	e->events_ok = sum.events_ok;
	e->invalid = sum.events_invalid;
	e->alerts = sum.alerts;
	e->accounts = sum.accounts;
	return err;
}
