/* replay.c - `auditflow replay FILE...`: read exports, parse, merge by event
 * time, drop re-delivered duplicates, write normalized events, dead letters
 * and the summary.
 *
 * Thread: the main thread.
 * In: the inputs named on the command line (ingest/file.h).
 * Out: --events-out (ECS JSON lines), --dlq (dead letters), --summary
 * (one JSON object), -o (alerts; the rules arrive with the detection
 * stage), and a readable summary on stderr.
 *
 * DESIGN: the order of work is fixed so that output depends only on input:
 * the merge tells which input to read next (the one furthest behind in event
 * time), dead letters are written in read order, and events leave the merge
 * in (time, input, record number) order before duplicate suppression, so
 * "which copy of a re-delivered record counts" never depends on timing.
 */
#include "cmd/replay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ingest/file.h"
#include "pipeline/dedup.h"
#include "pipeline/enrich/geo.h"
#include "pipeline/merge.h"
#include "pipeline/parse/parse.h"
#include "pipeline/rules/rule.h"
#include "pipeline/shard.h"
#include "pipeline/state/keyset.h"
#include "sinks/alert_out.h"
#include "sinks/dlq.h"
#include "sinks/events_ecs.h"
#include "sinks/summary.h"

/* Events the reorder buffer may hold: bounds memory (~1 KiB each) whatever
 * the window and the input rate. */
#define REPLAY_MERGE_MAX (256u * 1024u)


struct replay_input {
	struct af_file *file;
	const char *last_path; /* the reader's path pointer last seen */
	uint32_t last_file;    /* its index in paths[] */
};

struct replay {
	const struct af_config *cfg;
	struct replay_input *inputs;
	uint32_t ninputs;
	char **paths; /* the run's file table: event pos.file indexes it */
	uint32_t npaths, paths_cap;
	struct af_parser *parser;
	struct af_geo_hub *geo;
	struct af_geo_reader *geo_reader;
	struct af_geo_reader_stats geo_stats; /* kept at close for the summary */
	struct af_geo_hub_stats hub_stats;
	struct af_merge *merge;
	struct af_dedup *dedup;
	struct af_keyset accounts;
	struct af_dlq *dlq;
	struct af_ecs_out *events;
	struct af_alert_out *alerts;
	struct af_shard *shard;
	struct af_summary sum;
	uint64_t seq;
	int64_t pace_first_ts; /* --speed: event time of the first event */
	struct timespec pace_start;
	bool io_failed;
	bool progress;      /* a progress line on stderr (a terminal) */
	double progress_t0; /* when the run started */
	double progress_at; /* when the line was last drawn */
	char errstr[512];
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Index of path in the run's file table, adding it when new. The reader's
 * path pointer is stable while a file is read, so the lookup is a pointer
 * comparison per record. */
static uint32_t file_index(struct replay *r, struct replay_input *in, const char *path)
{
	if (path == in->last_path)
		return in->last_file;
	if (r->npaths == r->paths_cap) {
		uint32_t cap = r->paths_cap ? r->paths_cap * 2 : 16;
		char **p = realloc(r->paths, cap * sizeof(*p));
		if (!p)
			return in->last_file;
		r->paths = p;
		r->paths_cap = cap;
	}
	char *copy = strdup(path ? path : "");
	if (!copy)
		return in->last_file;
	r->paths[r->npaths] = copy;
	in->last_path = path;
	in->last_file = r->npaths++;
	return in->last_file;
}

/* --speed X: hold an event until X times its event-time offset has passed. */
static void pace(struct replay *r, int64_t ts_ns)
{
	double speed = r->cfg->replay.speed;
	if (speed <= 0)
		return;
	if (r->pace_first_ts == INT64_MIN) {
		r->pace_first_ts = ts_ns;
		clock_gettime(CLOCK_MONOTONIC, &r->pace_start);
		return;
	}
	double due = (double)(ts_ns - r->pace_first_ts) / 1e9 / speed;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double elapsed = (double)(now.tv_sec - r->pace_start.tv_sec) +
	                 (double)(now.tv_nsec - r->pace_start.tv_nsec) / 1e9;
	if (due > elapsed) {
		double wait = due - elapsed;
		struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
		nanosleep(&ts, NULL);
	}
}

/* An event leaves the merge: duplicates are dropped here, in event order,
 * then it is enriched (with the databases current at that moment: a
 * reload during a paced replay shows in the events after it). */
static void emit(struct replay *r, struct af_event *ev, bool late)
{
	if (late)
		r->sum.late++;
	if (ev->dedup_key != 0 && af_dedup_check(r->dedup, ev->dedup_key, ev->ts_ns)) {
		r->sum.duplicates++;
		return;
	}
	pace(r, ev->ts_ns);
	/* One epoch section per event: the replay may block next (a pipe on
	 * stdin, --speed), and a reload must not wait for it. Sections are
	 * cheap (a fence on entry); the runtime's workers hold one per batch. */
	af_geo_reader_enter(r->geo_reader);
	af_geo_enrich(r->geo_reader, ev);
	af_geo_reader_leave(r->geo_reader);
	af_shard_apply(r->shard, ev);
	r->sum.events_ok++;
	r->sum.by_kind[ev->kind]++;
	r->sum.by_schema[ev->schema]++;
	af_keyset_add(&r->accounts, ev->account_hash);
	if (r->events &&
	    af_ecs_write(r->events, ev, r->paths[ev->pos.file]) != AF_OK)
		r->io_failed = true;
}

static void drain(struct replay *r)
{
	struct af_event ev;
	bool late;
	while (af_merge_pop(r->merge, &ev, &late))
		emit(r, &ev, late);
}

static void dead_letter(struct replay *r, enum af_reason reason, const char *detail,
                        const struct af_record *rec)
{
	r->sum.events_invalid++;
	r->sum.invalid_by_reason[reason]++;
	if (af_dlq_write(r->dlq, reason, detail, rec->path, rec->line, rec->offset, rec->input,
	                 rec->data, rec->len) != AF_OK)
		r->io_failed = true;
}

/* The progress line: bytes read of the inputs' total (when known), rate,
 * ETA. Drawn at most twice a second; the clock is read every 4096 records
 * so the per-record cost is a counter test. */
static void progress(struct replay *r, bool final)
{
	if (!r->progress || (!final && (r->sum.events_in & 4095) != 0))
		return;
	double now = now_s();
	if (!final && now - r->progress_at < 0.5)
		return;
	r->progress_at = now;
	uint64_t done = 0, total = 0;
	bool known = true; /* the total is unknown if any input's is (a pipe) */
	for (uint32_t i = 0; i < r->ninputs; i++) {
		uint64_t d, t;
		af_file_progress(r->inputs[i].file, &d, &t);
		done += d;
		total += t;
		known = known && t > 0;
	}
	if (!known)
		total = 0;
	double elapsed = now - r->progress_t0;
	double rate = elapsed > 0 ? (double)r->sum.events_in / elapsed : 0;
	char pos[64] = "";
	if (total > 0 && done <= total) {
		double frac = (double)done / (double)total;
		double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
		snprintf(pos, sizeof(pos), " %5.1f%% of %.1f MB, ETA %.0f s", frac * 100,
		         (double)total / 1e6, eta);
	} else {
		snprintf(pos, sizeof(pos), " %.1f MB read", (double)done / 1e6);
	}
	fprintf(stderr, "\r\033[K%llu events, %.0f/s, %llu invalid%s",
	        (unsigned long long)r->sum.events_in, rate,
	        (unsigned long long)r->sum.events_invalid, pos);
	if (final)
		fputc('\n', stderr);
}

/* Read one record from input i and route it. Returns 0, or 1 on a read
 * error (message printed). */
static int step(struct replay *r, uint32_t i)
{
	struct replay_input *in = &r->inputs[i];
	struct af_record rec;
	af_err_t err = af_file_next(in->file, &rec, r->errstr, sizeof(r->errstr));
	if (err == AF_EOF) {
		af_merge_finish(r->merge, i);
		drain(r);
		return 0;
	}
	if (err != AF_OK) {
		fprintf(stderr, "auditflow: %s\n", r->errstr);
		return 1;
	}
	r->sum.events_in++;
	progress(r, false);
	if (rec.reason != AF_REASON_NONE) {
		dead_letter(r, rec.reason, NULL, &rec);
		return 0;
	}
	struct af_event ev;
	ev.pos.input = i;
	ev.pos.file = file_index(r, in, rec.path);
	ev.pos.line = rec.line;
	ev.pos.offset = rec.offset;
	ev.pos.seq = r->seq++;
	const char *detail = NULL;
	enum af_reason reason = af_parse_record(r->parser, rec.data, rec.len, &ev, &detail);
	if (reason != AF_REASON_NONE) {
		dead_letter(r, reason, detail, &rec);
		return 0;
	}
	af_merge_push(r->merge, &ev);
	drain(r);
	return 0;
}

/* The hub's options from the geo section (paths borrowed from g). */
static void geo_opts(const struct af_config_geo *g, struct af_geo_hub_opts *opts)
{
	const struct af_config_geo_fields *f = &g->fields;
	const char *paths[AF_GEO_F_COUNT] = {
		[AF_GEO_F_COUNTRY] = f->country,     [AF_GEO_F_CITY] = f->city,
		[AF_GEO_F_LAT] = f->latitude,        [AF_GEO_F_LON] = f->longitude,
		[AF_GEO_F_RADIUS] = f->accuracy_radius, [AF_GEO_F_ASN] = f->asn,
		[AF_GEO_F_AS_ORG] = f->as_org,       [AF_GEO_F_ANONYMOUS] = f->anonymous,
		[AF_GEO_F_VPN] = f->vpn,             [AF_GEO_F_HOSTING] = f->hosting,
		[AF_GEO_F_PROXY] = f->proxy,         [AF_GEO_F_TOR] = f->tor,
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
	geo_opts(&cfg->geo, &opts);
	err = af_geo_hub_open(&opts, &hub, errstr, errstr_size);
	if (err == AF_OK)
		af_geo_hub_close(hub);
	return err;
}

/* The enrich stage: databases and lists from the configuration. A bad
 * database or list is a configuration error (exit 2). */
static int open_geo(struct replay *r)
{
	const struct af_config_geo *g = &r->cfg->geo;
	struct af_geo_hub_opts opts;

	geo_opts(g, &opts);
	if (af_geo_hub_open(&opts, &r->geo, r->errstr, sizeof(r->errstr)) != AF_OK) {
		fprintf(stderr, "auditflow: %s\n", r->errstr);
		return 2;
	}
	if (af_geo_hub_watch(r->geo, r->errstr, sizeof(r->errstr)) != AF_OK) {
		fprintf(stderr, "auditflow: %s\n", r->errstr);
		return 1;
	}
	r->geo_reader = af_geo_reader_new(r->geo, g->cache_entries);
	if (!r->geo_reader) {
		fprintf(stderr, "auditflow: out of memory\n");
		return 1;
	}
	return 0;
}

static int open_outputs(struct replay *r)
{
	const struct af_config_output *out = &r->cfg->output;
	r->dlq = af_dlq_open(out->dlq, out->dlq_raw_max, r->errstr, sizeof(r->errstr));
	if (!r->dlq)
		goto fail;
	if (out->events) {
		r->events = af_ecs_open(out->events, r->errstr, sizeof(r->errstr));
		if (!r->events)
			goto fail;
	}
	r->alerts = af_alert_out_open(out->alerts, (enum af_output_format)out->format, &r->sum,
	                              r->errstr, sizeof(r->errstr));
	if (!r->alerts)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "auditflow: %s\n", r->errstr);
	return 1;
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
		r->inputs[i].file = af_file_open(args->items[i], &opts, r->errstr,
		                                 sizeof(r->errstr));
		if (!r->inputs[i].file) {
			fprintf(stderr, "auditflow: %s\n", r->errstr);
			return 1;
		}
		r->inputs[i].last_file = UINT32_MAX;
	}
	return 0;
}

/* A rule raised an alert: to the alerts output (which counts it by rule in
 * the summary). */
static void on_alert(void *ctx, const struct af_alert *a)
{
	struct replay *r = ctx;
	if (af_alert_out_write(r->alerts, a) != AF_OK)
		r->io_failed = true;
}

/* One line on the enrich stage for the end of the run, when it looked
 * anything up (from the counts close_all kept). */
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
	char err[512];
	if (r->dlq && af_dlq_close(r->dlq, err, sizeof(err)) != AF_OK) {
		fprintf(stderr, "auditflow: %s\n", err);
		status = status ? status : 1;
	}
	if (r->events && af_ecs_close(r->events, err, sizeof(err)) != AF_OK) {
		fprintf(stderr, "auditflow: %s\n", err);
		status = status ? status : 1;
	}
	if (r->alerts && af_alert_out_close(r->alerts, err, sizeof(err)) != AF_OK) {
		fprintf(stderr, "auditflow: %s\n", err);
		status = status ? status : 1;
	}
	af_shard_free(r->shard);
	for (uint32_t i = 0; i < r->ninputs && r->inputs; i++)
		af_file_close(r->inputs[i].file);
	free(r->inputs);
	for (uint32_t i = 0; i < r->npaths; i++)
		free(r->paths[i]);
	free(r->paths);
	af_parser_free(r->parser);
	if (r->geo_reader) {
		af_geo_reader_stats(r->geo_reader, &r->geo_stats);
		af_geo_hub_stats(r->geo, &r->hub_stats);
		af_geo_reader_free(r->geo_reader);
	}
	if (r->geo)
		af_geo_hub_close(r->geo);
	af_merge_free(r->merge);
	af_dedup_free(r->dedup);
	af_keyset_fini(&r->accounts);
	return status;
}

int af_replay_main(const struct af_config *cfg)
{
	struct replay r = {.cfg = cfg, .pace_first_ts = INT64_MIN};
	af_summary_init(&r.sum);
	int status = 0;
	double t0 = now_s();
	r.progress = cfg->replay.progress && isatty(STDERR_FILENO);
	r.progress_t0 = t0;

	if (cfg->cli.args.count == 0) {
		fprintf(stderr, "auditflow replay: no input files (use - for stdin); "
		                "see auditflow replay --help\n");
		return 2;
	}
	if (af_keyset_init(&r.accounts) != AF_OK) {
		fprintf(stderr, "auditflow: out of memory\n");
		return 1;
	}
	r.parser = af_parser_new(cfg->input.max_record_bytes, r.errstr, sizeof(r.errstr));
	r.dedup = af_dedup_new(cfg->input.dedup_retention, cfg->input.dedup_max_entries);
	r.merge = af_merge_new((uint32_t)cfg->cli.args.count, cfg->input.reorder_window,
	                       REPLAY_MERGE_MAX);
	if (!r.parser || !r.dedup || !r.merge) {
		fprintf(stderr, "auditflow: cannot start: %s\n",
		        r.parser ? "out of memory" : r.errstr);
		return close_all(&r, 1);
	}
	int geo_status = open_geo(&r);
	if (geo_status != 0)
		return close_all(&r, geo_status);
	af_err_t shard_err = af_shard_new(cfg, on_alert, &r, &r.shard, r.errstr, sizeof(r.errstr));
	if (shard_err != AF_OK) {
		fprintf(stderr, "auditflow: %s\n", r.errstr);
		return close_all(&r, shard_err == AF_E_NOMEM ? 1 : 2);
	}
	if (open_inputs(&r) != 0 || open_outputs(&r) != 0)
		return close_all(&r, 1);

	uint32_t i;
	while ((i = af_merge_next_input(r.merge)) != UINT32_MAX) {
		if (step(&r, i) != 0) {
			status = 1;
			break;
		}
	}
	drain(&r);
	progress(&r, true);
	r.sum.accounts = af_keyset_count(&r.accounts);
	r.sum.wall_s = now_s() - t0;

	status = close_all(&r, status);
	if (r.io_failed && status == 0)
		status = 1;
	if (cfg->output.summary &&
	    af_summary_write(&r.sum, cfg->output.summary, r.errstr, sizeof(r.errstr)) != AF_OK) {
		fprintf(stderr, "auditflow: %s\n", r.errstr);
		status = status ? status : 1;
	}
	af_summary_print(stderr, &r.sum);
	print_geo_stats(&r);
	if (r.sum.events_invalid > 0 && !cfg->output.dlq)
		fprintf(stderr, "auditflow: %llu records were unusable; --dlq FILE writes each with "
		                "its reason and position\n",
		        (unsigned long long)r.sum.events_invalid);
	return status;
}
