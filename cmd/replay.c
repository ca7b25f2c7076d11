/* replay.c - `auditflow replay FILE...`: read exports through the
 * multi-threaded pipeline (pipeline/runtime/runtime.h) and write alerts,
 * normalized events, dead letters and the summary.
 *
 * Thread: the main thread sets up, then waits for the run to end while it
 * draws the progress line and takes SIGINT/SIGTERM; the runtime's source
 * thread calls this file's fill.
 * In: the inputs named on the command line (ingest/file.h).
 * Out: -o (alerts), --events-out (ECS JSON lines), --dlq (dead letters),
 * --summary (one JSON object), a readable summary on stderr, and log
 * lines on stderr (pipeline/log.h: notices, warnings, errors).
 *
 * DESIGN: the source reads whole batches from one input at a time, taking
 * next the input whose events the workers have seen the least far into
 * (af_runtime_frontier), so several exports of the same period advance
 * together and the reorder buffers stay small. Which input it reads when
 * depends on timing; what comes out does not (see pipeline/merge.h): each
 * record carries its number within its input, and the shards order events
 * by their input's own frontier.
 * A first SIGINT or SIGTERM stops reading and lets the pipeline finish what
 * it has read: the alerts, the summary and exit 0 follow as for a complete
 * run over a shorter input. A second one exits at once.
 */
#include "cmd/replay.h"
#include "pipeline/clock.h"
#include "cmd/stream.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ingest/file.h"
#include "pipeline/enrich/geo.h"
#include "pipeline/rules/rule.h"
#include "pipeline/runtime/runtime.h"
#include "sinks/alert_out.h"
#include "sinks/alert_report.h"
#include "sinks/dlq.h"
#include "sinks/events_ecs.h"
#include "sinks/summary.h"

struct replay_input {
	struct af_file *file;
	bool eof;
	bool held;            /* rec was read but did not fit its batch */
	struct af_record rec; /* the held record (its bytes stay valid: this
	                         input is not read again before it is used) */
	uint64_t seq;         /* records read from this input */
	/* The last record put in a batch: a resumed replay checks that it
	 * finds it where it was (the input is the same). */
	uint64_t last_offset, last_line;
	const char *path;    /* the file of the records last read ... */
	uint32_t path_index; /* ... and its index in the run's table */
};

/* The closing report's bounds: accounts and addresses tallied, and shown. */
#define REPORT_SUBJECTS_MAX 10000
#define REPORT_TOP          10

struct replay {
	const struct af_config *cfg;
	struct replay_input *inputs;
	uint32_t ninputs;
	struct af_geo_hub *geo;
	struct af_runtime *rt;
	struct af_stream_files files;
	struct af_summary sum;
	struct af_geo_reader_stats geo_stats; /* kept at the end for the summary */
	struct af_geo_hub_stats hub_stats;
	struct af_alert_report *report;           /* the alerts for the closing report */
	_Atomic uint64_t bytes_done, bytes_total; /* published by fill */
	bool progress;                            /* a progress line on stderr (a terminal) */
	double progress_t0;                       /* when the run started */
	struct af_log log;                        /* made before anything is opened */
	char errstr[512];
};

/* The unfinished input the workers have seen least far into; among those
 * not seen yet, the one read least (so each gets its first batch early). */
static int pick_input(struct replay *r)
{
	int best = -1;
	int64_t best_f = 0;

	for (uint32_t i = 0; i < r->ninputs; i++) {
		if (r->inputs[i].eof)
			continue;
		int64_t f = af_runtime_frontier(r->rt, i);
		if (best < 0 || f < best_f ||
		    (f == best_f && r->inputs[i].seq < r->inputs[best].seq)) {
			best = (int)i;
			best_f = f;
		}
	}
	return best;
}

static void publish_progress(struct replay *r)
{
	uint64_t done = 0, total = 0;
	bool known = true; /* the total is unknown if any input's is (a pipe) */

	for (uint32_t i = 0; i < r->ninputs; i++) {
		uint64_t d, t;
		af_file_progress(r->inputs[i].file, &d, &t);
		done += d;
		total += t;
		known = known && t > 0;
	}
	atomic_store_explicit(&r->bytes_done, done, memory_order_relaxed);
	atomic_store_explicit(&r->bytes_total, known ? total : 0, memory_order_relaxed);
}

/* The source's fill (the runtime's source thread): one batch from one
 * input. A record that does not fit is held for the next batch of its
 * input. */
static af_err_t fill(void *ctx, struct af_runtime *rt, struct af_rt_batch *b, char *errstr,
                     size_t errstr_size)
{
	struct replay *r = ctx;
	int i = pick_input(r);

	if (i < 0)
		return AF_EOF;
	struct replay_input *in = &r->inputs[i];
	b->input = (uint32_t)i;
	for (;;) {
		if (!in->held) {
			af_err_t err = af_file_next(in->file, &in->rec, errstr, errstr_size);
			if (err == AF_EOF) {
				in->eof = true;
				b->last = true;
				break;
			}
			if (err != AF_OK)
				return err;
		}
		if (in->rec.path != in->path) {
			/* Per input, so that switching inputs adds nothing. */
			in->path_index = af_runtime_path_add(rt, in->rec.path);
			in->path = in->rec.path;
		}
		struct af_rt_rec rec = {
		    .file = in->path_index,
		    .reason = in->rec.reason,
		    .line = in->rec.line,
		    .offset = in->rec.offset,
		    .seq = in->seq,
		};
		if (!af_rt_batch_add(b, in->rec.data, in->rec.len, &rec)) {
			in->held = true;
			break;
		}
		in->held = false;
		in->seq++;
		in->last_offset = in->rec.offset;
		in->last_line = in->rec.line;
	}
	publish_progress(r);
	return AF_OK;
}

/* The source's part of a checkpoint (the runtime's source thread): per
 * input, its name and how many records of it are in batches handed on. */
static void save(void *ctx, struct af_snap_writer *w)
{
	struct replay *r = ctx;

	af_snap_put_u32(w, r->ninputs);
	for (uint32_t i = 0; i < r->ninputs; i++) {
		const struct replay_input *in = &r->inputs[i];
		const char *name = r->cfg->cli.args.items[i];
		af_snap_put_u32(w, (uint32_t)strlen(name));
		af_snap_put(w, name, strlen(name));
		af_snap_put_u64(w, in->seq);
		af_snap_put_u64(w, in->eof);
		af_snap_put_u64(w, in->last_offset);
		af_snap_put_u64(w, in->last_line);
	}
}

/* Go on from a checkpoint (the main thread, before the run): every input
 * is read again up to where the checkpoint left it, which works for every
 * format and compression, and shows when an input has changed since. */
static af_err_t restore(void *ctx, struct af_snap_view *v, char *errstr, size_t errstr_size)
{
	struct replay *r = ctx;
	char name[4096];
	uint32_t n, len;

	if (!af_snap_take_u32(v, &n) || n != r->ninputs)
		goto damaged;
	for (uint32_t i = 0; i < n; i++) {
		struct replay_input *in = &r->inputs[i];
		const char *now = r->cfg->cli.args.items[i];
		uint64_t seq, eof, last_offset, last_line;
		if (!af_snap_take_u32(v, &len) || len >= sizeof(name) ||
		    !af_snap_take(v, name, len))
			goto damaged;
		name[len] = '\0';
		if (!af_snap_take_u64(v, &seq) || !af_snap_take_u64(v, &eof) ||
		    !af_snap_take_u64(v, &last_offset) || !af_snap_take_u64(v, &last_line) ||
		    eof > 1)
			goto damaged;
		if (strcmp(name, now) != 0) {
			snprintf(errstr, errstr_size,
			         "input %" PRIu32 " was %s when the checkpoint was taken, not %s "
			         "(give the same inputs in the same order)",
			         i + 1, name, now);
			return AF_E_CONFIG;
		}
		if (seq > 0 && strcmp(now, "-") == 0) {
			snprintf(errstr, errstr_size,
			         "standard input cannot be read again to resume");
			return AF_E_CONFIG;
		}
		for (uint64_t k = 0; k < seq; k++) {
			af_err_t err = af_file_next(in->file, &in->rec, errstr, errstr_size);
			if (err == AF_EOF) {
				snprintf(errstr, errstr_size,
				         "%s has changed since the checkpoint was taken: it had at "
				         "least %" PRIu64 " records, now %" PRIu64,
				         now, seq, k);
				return AF_E_CONFIG;
			}
			if (err != AF_OK)
				return err;
		}
		if (seq > 0 && (in->rec.offset != last_offset || in->rec.line != last_line)) {
			snprintf(
			    errstr, errstr_size,
			    "%s has changed since the checkpoint was taken: its record %" PRIu64
			    " was at byte %" PRIu64 ", now at %" PRIu64,
			    now, seq, last_offset, in->rec.offset);
			return AF_E_CONFIG;
		}
		in->seq = seq;
		in->eof = eof;
		in->last_offset = last_offset;
		in->last_line = last_line;
	}
	return AF_OK;
damaged:
	snprintf(errstr, errstr_size, "damaged: the inputs' positions do not read back");
	return AF_E_FORMAT;
}

/* The progress line: bytes read of the inputs' total (when known), rate,
 * ETA. */
static void progress(struct replay *r, bool final)
{
	if (!r->progress)
		return;
	uint64_t records, invalid, alerts;
	af_runtime_progress(r->rt, &records, &invalid, &alerts);
	uint64_t done = atomic_load_explicit(&r->bytes_done, memory_order_relaxed);
	uint64_t total = atomic_load_explicit(&r->bytes_total, memory_order_relaxed);
	double elapsed = af_clock_s() - r->progress_t0;
	double rate = elapsed > 0 ? (double)records / elapsed : 0;
	char pos[64] = "";
	if (total > 0 && done <= total) {
		double frac = (double)done / (double)total;
		double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
		snprintf(pos, sizeof(pos), " %5.1f%% of %.1f MB, ETA %.0f s", frac * 100,
		         (double)total / 1e6, eta);
	} else {
		snprintf(pos, sizeof(pos), " %.1f MB read", (double)done / 1e6);
	}
	fprintf(stderr, "\r\033[K%llu events, %.0f/s, %llu invalid, %llu alerts,%s",
	        (unsigned long long)records, rate, (unsigned long long)invalid,
	        (unsigned long long)alerts, pos);
	if (final)
		fputc('\n', stderr);
}

void af_replay_geo_opts(const struct af_config_geo *g, struct af_geo_hub_opts *opts)
{
	const struct af_config_geo_fields *f = &g->fields;
	const char *paths[AF_GEO_F_COUNT] = {
	    [AF_GEO_F_COUNTRY] = f->country,
	    [AF_GEO_F_CITY] = f->city,
	    [AF_GEO_F_LAT] = f->latitude,
	    [AF_GEO_F_LON] = f->longitude,
	    [AF_GEO_F_RADIUS] = f->accuracy_radius,
	    [AF_GEO_F_ASN] = f->asn,
	    [AF_GEO_F_AS_ORG] = f->as_org,
	    [AF_GEO_F_ANONYMOUS] = f->anonymous,
	    [AF_GEO_F_VPN] = f->vpn,
	    [AF_GEO_F_HOSTING] = f->hosting,
	    [AF_GEO_F_PROXY] = f->proxy,
	    [AF_GEO_F_TOR] = f->tor,
	};

	memset(opts, 0, sizeof(*opts));
	opts->city = g->city;
	opts->asn = g->asn;
	opts->anon = g->anon;
	opts->corporate_networks = g->corporate_networks;
	opts->hosting_asns = g->hosting_asns;
	opts->reload_interval_ns = g->reload_interval;
	memcpy(opts->paths.field, paths, sizeof(paths));
}

af_err_t af_replay_check(const struct af_config *cfg, char *errstr, size_t errstr_size)
{
	struct af_geo_hub_opts opts;
	struct af_geo_hub *hub = NULL;
	af_err_t err = af_rules_check(&cfg->rules, errstr, errstr_size);

	if (err != AF_OK)
		return err;
	af_replay_geo_opts(&cfg->geo, &opts);
	err = af_geo_hub_open(&opts, &hub, errstr, errstr_size);
	if (err == AF_OK)
		af_geo_hub_close(hub);
	return err;
}

static int open_inputs(struct replay *r)
{
	const struct af_config_strlist *args = &r->cfg->cli.args;
	r->ninputs = (uint32_t)args->count;
	r->inputs = calloc(r->ninputs, sizeof(*r->inputs));
	if (!r->inputs)
		return 1;
	for (uint32_t i = 0; i < r->ninputs; i++) {
		struct af_file_opts opts = {
		    .max_record_bytes = r->cfg->input.max_record_bytes,
		    .input = i,
		};
		r->inputs[i].file =
		    af_file_open(args->items[i], &opts, r->errstr, sizeof(r->errstr));
		if (!r->inputs[i].file) {
			AF_LOG(&r->log, AF_LOG_ERROR, "input", "%s", r->errstr);
			return 1;
		}
	}
	return 0;
}

/* One line on the enrich stage for the end of the run, when it looked
 * anything up. */
static void print_geo_stats(const struct replay *r)
{
	const struct af_geo_reader_stats s = r->geo_stats;
	const struct af_geo_hub_stats h = r->hub_stats;
	if (s.lookups == 0 && s.internal == 0)
		return;
	double hit = s.lookups ? 100.0 * (double)s.addr_hits / (double)s.lookups : 0;
	fprintf(stderr,
	        "  geo: %llu looked up (%.1f%% from the address cache, %llu records decoded), "
	        "%llu unknown, %llu internal, %llu kept the record's location; "
	        "%llu reloads, %llu failed\n",
	        (unsigned long long)s.lookups, hit, (unsigned long long)s.record_misses,
	        (unsigned long long)s.not_found, (unsigned long long)s.internal,
	        (unsigned long long)s.from_record, (unsigned long long)h.reloads,
	        (unsigned long long)h.reload_failures);
}

static int close_all(struct replay *r, int status)
{
	if (r->rt) {
		af_runtime_geo_stats(r->rt, &r->geo_stats);
		af_runtime_free(r->rt);
		r->rt = NULL;
	}
	if (r->geo) {
		af_geo_hub_stats(r->geo, &r->hub_stats);
		af_geo_hub_close(r->geo);
	}
	status = af_stream_files_close(&r->files, &r->log, status);
	for (uint32_t i = 0; i < r->ninputs && r->inputs; i++)
		af_file_close(r->inputs[i].file);
	free(r->inputs);
	af_alert_report_free(r->report);
	r->report = NULL;
	return status;
}

/* The progress line, about twice a second while the run goes. */
static void progress_tick(void *ctx)
{
	progress(ctx, false);
}

int af_replay_main(const struct af_config *cfg)
{
	struct replay r = {.cfg = cfg};
	af_summary_init(&r.sum);
	int status = 0;
	double t0 = af_clock_s();
	r.progress = cfg->replay.progress && isatty(STDERR_FILENO);
	r.progress_t0 = t0;
	af_stream_log_init(&r.log, cfg);

	if (cfg->cli.args.count == 0) {
		fprintf(stderr, "auditflow replay: no input files (use - for stdin); "
		                "see auditflow replay --help\n");
		return 2;
	}
	if (af_rules_check(&cfg->rules, r.errstr, sizeof(r.errstr)) != AF_OK) {
		AF_LOG(&r.log, AF_LOG_ERROR, "rules", "%s", r.errstr);
		return 2;
	}
	int geo_status = af_stream_open_geo(cfg, &r.log, &r.geo);
	if (geo_status != 0)
		return close_all(&r, geo_status);
	bool resume = false;
	if (af_stream_state(cfg, &r.log, &resume) != 0)
		return close_all(&r, 1);
	if (open_inputs(&r) != 0 || af_stream_files_open(&r.files, cfg, &r.log, resume) != 0)
		return close_all(&r, 1);

	struct af_rt_source src = {
	    .ctx = &r, .ninputs = r.ninputs, .fill = fill, .save = save, .restore = restore};
	r.report = af_alert_report_new(REPORT_SUBJECTS_MAX);
	if (r.report == NULL) {
		AF_LOG(&r.log, AF_LOG_ERROR, "replay", "out of memory");
		return close_all(&r, 1);
	}
	struct af_rt_sinks sinks = {.alerts = r.files.alerts,
	                            .dlq = r.files.dlq,
	                            .events = r.files.events,
	                            .report = r.report};
	af_err_t err = af_runtime_new(cfg, &src, &sinks, r.geo, &r.rt, r.errstr, sizeof(r.errstr));
	if (err != AF_OK) {
		AF_LOG(&r.log, AF_LOG_ERROR, "replay", "cannot start: %s", r.errstr);
		return close_all(&r, err == AF_E_CONFIG ? 2 : 1);
	}
	if (resume && (status = af_stream_resume(r.rt, cfg, &r.log)) != 0)
		return close_all(&r, status);

	/* The stop signals go to this thread's sigtimedwait only: blocked
	 * before the threads start, so they inherit the mask. */
	sigset_t stop_set, old_set;
	af_stream_block_signals(&stop_set, &old_set);
	if (af_runtime_start(r.rt, r.errstr, sizeof(r.errstr)) != AF_OK) {
		AF_LOG(&r.log, AF_LOG_ERROR, "replay", "%s", r.errstr);
		pthread_sigmask(SIG_SETMASK, &old_set, NULL);
		return close_all(&r, 1);
	}
	af_stream_supervise(r.rt, &r.log, &stop_set, "finishing the records already read",
	                    progress_tick, &r);
	bool failed = af_runtime_wait(r.rt, &r.sum, r.errstr, sizeof(r.errstr)) != AF_OK;
	/* The progress line ends before anything else is said. */
	progress(&r, true);
	if (failed) {
		AF_LOG(&r.log, AF_LOG_ERROR, "replay", "%s", r.errstr);
		status = 1;
	}
	/* A replay read to its end is done with its checkpoint: the same
	 * command starts over. */
	status = af_stream_state_end(r.rt, cfg, &r.log, status, af_runtime_ended(r.rt));
	pthread_sigmask(SIG_SETMASK, &old_set, NULL);
	uint64_t forced = af_runtime_reorder_forced(r.rt);
	r.sum.wall_s = af_clock_s() - t0;

	struct af_alert_report *report = r.report;
	r.report = NULL;
	status = close_all(&r, status);
	if (cfg->output.summary &&
	    af_summary_write(&r.sum, cfg->output.summary, r.errstr, sizeof(r.errstr)) != AF_OK) {
		AF_LOG(&r.log, AF_LOG_ERROR, "output", "%s", r.errstr);
		status = status ? status : 1;
	}
	af_summary_print(stderr, &r.sum);
	af_alert_report_print(stderr, report, REPORT_TOP);
	af_alert_report_free(report);
	print_geo_stats(&r);
	if (forced > 0)
		AF_LOG(&r.log, AF_LOG_WARN, "replay",
		       "the reorder buffers overflowed %llu times: inputs too far apart in event "
		       "time, so the order of those events (and alerts that depend on it) may vary "
		       "between runs",
		       (unsigned long long)forced);
	if (r.sum.events_invalid > 0 && !cfg->output.dlq)
		AF_LOG(&r.log, AF_LOG_WARN, "replay",
		       "%llu records were unusable; --dlq FILE writes each with its reason and "
		       "position",
		       (unsigned long long)r.sum.events_invalid);
	return status;
}
