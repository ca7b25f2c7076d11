/* run.c - `auditflow run`: consume audit records from Kafka through the
 * multi-threaded pipeline and deliver alerts, dead letters and enriched
 * events to the outputs, at least once.
 *
 * Thread: the main thread sets up, then waits for the run to end and takes
 * SIGINT/SIGTERM; the runtime's source thread calls this file's fill,
 * complete and hold; its sink thread drives the outputs (sinks/deliver.h).
 * In: Kafka topics (ingest/kafka.h), options and configuration as kcat's.
 * Out: alerts to -o (stdout by default), --alerts-topic, HTTP, syslog;
 * dead letters to --dlq and --dlq-topic; events to --events-out and
 * --events-topic; the summary; log lines on stderr (pipeline/log.h:
 * notices, warnings, errors and librdkafka's lines, every secret
 * redacted before it gets there).
 *
 * DESIGN: each partition is an input of the event-time merge (up to
 * kafka.max_partitions over the run). Every input holds the merge back
 * until it is known: an assigned partition until its records come (the
 * first may be older than anything read so far), so a catch-up run orders
 * each account's events as replay does, whatever the fetch order. A
 * partition at its end, no longer assigned, or never assigned is declared
 * idle and holds nothing back: alerts come as soon as the records that
 * raise them have arrived, not when the busiest partition moves on. Offsets are stored only for
 * records the pipeline has applied and whose alerts the outputs have accepted
 * (pipeline/runtime/runtime.h, completion tracking); a stop (SIGINT,
 * SIGTERM, or -e at the end) finishes what was read, delivers it, stores
 * its offsets and commits them before the consumer leaves the group.
 *
 * With --state-dir, the checkpoints hold each partition's position
 * (ingest/kafka.h, af_kafka_src_save) with the file table numbering and
 * which inputs were declared idle; the next run with the same folder
 * starts every partition it held where the checkpoint left it, whatever
 * the group committed, with the state and the reorder buffers as they
 * were. A stop, -e's included, keeps the reorder buffers for that run (the
 * checkpoint is never removed: a topic goes on).
 */
#include "cmd/run.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/run_metrics.h"
#include "cmd/stream.h"
#include "pipeline/clock.h"
#include "ingest/kafka.h"
#include "pipeline/enrich/geo.h"
#include "pipeline/rules/rule.h"
#include "pipeline/runtime/runtime.h"
#include "pipeline/snapshot.h"
#include "sinks/alert_out.h"
#include "sinks/deliver.h"
#include "sinks/dlq.h"
#include "sinks/events_ecs.h"
#include "sinks/metrics.h"
#include "sinks/summary.h"

/* How long fill waits for a message before it looks for idle partitions
 * and lets the source thread check for a stop. */
#define RUN_POLL_MS 100
/* How long the outputs get to deliver what is held at the end. */
#define RUN_CLOSE_MS 30000

struct run {
	const struct af_config *cfg;
	struct af_kafka_src *src;
	struct af_geo_hub *geo;
	struct af_runtime *rt;
	struct af_stream_files files;
	struct af_deliver *out;
	struct af_summary sum;
	struct af_kafka_src_stats ks; /* the source's counters after its close */
	uint32_t ninputs;
	uint32_t *path;                 /* [ninputs]: the input's index in the file table + 1 */
	bool *idle;                     /* [ninputs]: declared idle since its last records */
	uint32_t idle_at;               /* where the next idle scan starts */
	uint64_t changes_seen;          /* af_kafka_src_changes at the last scan */
	bool rescan;                    /* the last scan found an input: look again */
	struct af_run_metrics *metrics; /* NULL: metrics off */
	struct af_log log;              /* made before anything is opened */
	char errstr[512];
};

/* An input to declare idle now: never numbered (no such partition), gone
 * to another member (af_kafka_src_released), or at its end; not declared
 * since its last records.
 * UINT32_MAX when none, and always before the first assignment: until
 * then nothing is known, and every input holds the merge back. The inputs
 * are looked over only when the source reports a change, when the last
 * look found one (there may be more), or when the source has nothing to
 * hand on (starved); declaring an input idle later than it could have
 * been only holds events a little longer, never reorders them. */
static uint32_t next_idle(struct run *r, bool starved)
{
	uint64_t changes = af_kafka_src_changes(r->src);

	if (changes == 0 || (!starved && !r->rescan && changes == r->changes_seen))
		return UINT32_MAX;
	r->changes_seen = changes;
	r->rescan = false;
	for (uint32_t k = 0; k < r->ninputs; k++) {
		uint32_t i = (r->idle_at + k) % r->ninputs;
		if (r->idle[i])
			continue;
		if (af_kafka_src_input_name(r->src, i) == NULL ||
		    af_kafka_src_released(r->src, i) || af_kafka_src_at_end(r->src, i)) {
			r->idle_at = i + 1;
			r->rescan = true;
			return i;
		}
	}
	return UINT32_MAX;
}

/* Hand on an empty batch that declares input idle. */
static af_err_t declare_idle(struct run *r, struct af_rt_batch *b, uint32_t input)
{
	r->idle[input] = true;
	b->input = input;
	b->idle = true;
	return AF_OK;
}

/* The source's fill (the runtime's source thread). */
static af_err_t fill(void *ctx, struct af_runtime *rt, struct af_rt_batch *b, char *errstr,
                     size_t errstr_size)
{
	struct run *r = ctx;
	af_run_metrics_source(r->metrics);
	/* Idle declarations first: an assigned partition holds the merge
	 * back from the start (its first records may be older than anything
	 * read so far), so only what cannot send anything is let go. */
	uint32_t idle = next_idle(r, false);
	if (idle != UINT32_MAX)
		return declare_idle(r, b, idle);
	af_err_t e = af_kafka_src_next(r->src, b, RUN_POLL_MS, errstr, errstr_size);
	/* At the end (-e) too: every partition is at its end then, and
	 * holds nothing back, as it would in a run that went on; so what a
	 * state folder's checkpoint keeps at -e does not hang on how soon
	 * each partition was seen to end. */
	if ((e == AF_E_AGAIN || e == AF_EOF) && (idle = next_idle(r, true)) != UINT32_MAX)
		return declare_idle(r, b, idle);
	if (e != AF_OK)
		return e;
	uint32_t i = b->input;
	if (r->path[i] == 0) {
		/* A partition's first batch: its name in the file table, for
		 * the positions of dead letters and events. */
		char name[512];
		snprintf(name, sizeof(name), "kafka:%s", af_kafka_src_input_name(r->src, i));
		uint32_t p = af_runtime_path_add(rt, name);
		if (p == UINT32_MAX) {
			snprintf(errstr, errstr_size, "too many partitions to name");
			return AF_E_NOMEM;
		}
		r->path[i] = p + 1;
	}
	for (uint32_t k = 0; k < b->count; k++)
		b->rec[k].file = r->path[i] - 1;
	r->idle[i] = false;
	return AF_OK;
}

static void complete(void *ctx, uint32_t input, uint64_t seq)
{
	struct run *r = ctx;
	af_kafka_src_complete(r->src, input, seq);
}

static void hold(void *ctx)
{
	struct run *r = ctx;
	af_kafka_src_hold(r->src);
}

/* The source's part of a checkpoint: the partitions' positions, then for
 * each input its index in the file table (+1, 0 none) and whether it was
 * declared idle (the shards' reorder buffers agree). */
static void save(void *ctx, struct af_snap_writer *w)
{
	struct run *r = ctx;

	af_kafka_src_save(r->src, w);
	af_snap_put_u32(w, r->ninputs);
	for (uint32_t i = 0; i < r->ninputs; i++) {
		af_snap_put_u32(w, r->path[i]);
		af_snap_put(w, &(uint8_t){r->idle[i]}, 1);
	}
}

static af_err_t restore(void *ctx, struct af_snap_view *v, char *errstr, size_t errstr_size)
{
	struct run *r = ctx;
	uint32_t n;

	af_err_t e = af_kafka_src_restore(r->src, v, errstr, errstr_size);
	if (e != AF_OK)
		return e;
	if (!af_snap_take_u32(v, &n))
		return AF_E_FORMAT;
	if (n != r->ninputs) {
		snprintf(errstr, errstr_size,
		         "taken with kafka.max_partitions %" PRIu32 "; this run has %" PRIu32, n,
		         r->ninputs);
		return AF_E_CONFIG;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint8_t idle;
		if (!af_snap_take_u32(v, &r->path[i]) || !af_snap_take(v, &idle, 1) || idle > 1)
			return AF_E_FORMAT;
		r->idle[i] = idle;
	}
	return AF_OK;
}

/* Log r->errstr as an error of component; returns status. */
static int fail(struct run *r, const char *component, int status)
{
	AF_LOG(&r->log, AF_LOG_ERROR, component, "%s", r->errstr);
	return status;
}

static int open_source(struct run *r)
{
	const struct af_config_kafka *k = &r->cfg->kafka;

	if (k->brokers == NULL || k->topics.count == 0) {
		fprintf(stderr, "auditflow run: needs brokers (-b) and at least one topic (-t); "
		                "see auditflow run --help\n");
		return 2;
	}
	r->ninputs = k->max_partitions;
	r->path = calloc(r->ninputs, sizeof(*r->path));
	r->idle = calloc(r->ninputs, sizeof(*r->idle));
	if (r->path == NULL || r->idle == NULL) {
		snprintf(r->errstr, sizeof(r->errstr), "out of memory");
		return fail(r, "run", 1);
	}
	struct af_kafka_src_opts o = {
	    .brokers = k->brokers,
	    .topics = (const char *const *)k->topics.items,
	    .ntopics = k->topics.count,
	    .group = k->group,
	    .offset = k->offset,
	    .exit_at_end = k->exit_at_end,
	    .props = (const char *const *)k->props.items,
	    .nprops = k->props.count,
	    .max_record_bytes = r->cfg->input.max_record_bytes,
	    .max_inputs = r->ninputs,
	    /* The runtime's bound governs (a message holds one record or
	     * more, so as many messages as records is enough). */
	    .max_pending = (uint32_t)af_runtime_tracked_max(r->cfg),
	    .log = &r->log,
	};
	af_err_t e = af_kafka_src_open(&o, &r->src, r->errstr, sizeof(r->errstr));
	if (e != AF_OK)
		return fail(r, "kafka", e == AF_E_CONFIG || e == AF_E_INVALID ? 2 : 1);
	return 0;
}

/* A duration of the http section in the sink's milliseconds: at least 1
 * (0 is the sink's "unset"), at most UINT32_MAX. */
static uint32_t http_ms(int64_t ns)
{
	int64_t ms = ns / 1000000;
	return ms < 1 ? 1u : ms > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

/* The HTTP output's options from the http section; false (and r->errstr)
 * when the section names no usable output. Strings stay the config's. */
static bool http_opts(struct run *r, struct af_http_opts *o)
{
	const struct af_config_http *c = &r->cfg->http;
	static const enum af_http_kind kinds[] = {
	    [AF_CONFIG_HTTP_HEC] = AF_HTTP_HEC,
	    [AF_CONFIG_HTTP_ES] = AF_HTTP_ES,
	    [AF_CONFIG_HTTP_WEBHOOK] = AF_HTTP_WEBHOOK,
	};

	if (c->url == NULL) {
		snprintf(r->errstr, sizeof(r->errstr),
		         "HTTP output: http.kind is set but http.url (--http-url) is not");
		return false;
	}
	*o = (struct af_http_opts){
	    .kind = kinds[c->kind],
	    .url = c->url,
	    .hec_token = c->token,
	    .username = c->username,
	    .password = c->password,
	    .bearer_token = c->bearer_token,
	    .api_key = c->api_key,
	    .es_index = c->kind == AF_CONFIG_HTTP_ES ? c->index : NULL,
	    .hec_index = c->kind == AF_CONFIG_HTTP_HEC ? c->index : NULL,
	    .hec_sourcetype = c->sourcetype,
	    .ca_file = c->ca_file,
	    .tls_insecure = c->tls_insecure,
	    .batch_items = c->batch_items,
	    .max_retries = c->max_retries,
	    .linger_ms = http_ms(c->linger),
	    .backoff_base_ms = http_ms(c->backoff),
	    .backoff_cap_ms = http_ms(c->backoff_max),
	};
	return true;
}

static int open_outputs(struct run *r, bool append)
{
	const struct af_config *cfg = r->cfg;
	const struct af_config_output *out = &cfg->output;
	const struct af_config_kafka *k = &cfg->kafka;
	struct af_http_opts http;
	struct af_syslog_opts syslog;

	if (cfg->http.url != NULL && cfg->http.kind == AF_CONFIG_HTTP_NONE) {
		snprintf(r->errstr, sizeof(r->errstr),
		         "HTTP output: http.url (--http-url) is set but http.kind is none; set it "
		         "to hec, es or webhook");
		return fail(r, "output", 2);
	}
	if (cfg->http.kind != AF_CONFIG_HTTP_NONE && !http_opts(r, &http))
		return fail(r, "output", 2);
	af_stream_syslog_opts(&cfg->syslog, &syslog);

	if (af_stream_files_open(&r->files, cfg, &r->log, append) != 0)
		return 1;
	struct af_deliver_opts d = {
	    .alerts_file = r->files.alerts,
	    .dlq_file = r->files.dlq,
	    .events_file = r->files.events,
	    .format = out->format == AF_OUTPUT_TABLE ? AF_OUTPUT_NATIVE
	                                             : (enum af_output_format)out->format,
	    .brokers = k->brokers,
	    .props = (const char *const *)k->props.items,
	    .nprops = k->props.count,
	    .alerts_topic = k->alerts_topic,
	    .dlq_topic = k->dlq_topic,
	    .events_topic = k->events_topic,
	    .http = cfg->http.kind != AF_CONFIG_HTTP_NONE ? &http : NULL,
	    .http_events = cfg->http.events,
	    .syslog = cfg->syslog.target != NULL ? &syslog : NULL,
	    .log = &r->log,
	};
	af_err_t e = af_deliver_open(&d, &r->out, r->errstr, sizeof(r->errstr));
	if (e != AF_OK)
		return fail(r, "output", e == AF_E_CONFIG ? 2 : 1);
	return 0;
}

static int close_all(struct run *r, int status)
{
	char err[512];

	/* First: it reads the runtime, the source and the outputs. */
	af_run_metrics_close(r->metrics);
	r->metrics = NULL;
	if (r->rt != NULL) {
		af_runtime_free(r->rt);
		r->rt = NULL;
	}
	if (r->out != NULL && af_deliver_close(r->out, RUN_CLOSE_MS, err, sizeof(err)) != AF_OK) {
		AF_LOG(&r->log, AF_LOG_ERROR, "output", "%s", err);
		status = status ? status : 1;
	}
	/* After the outputs: every completion is in, so the commit at close
	 * covers everything delivered. */
	if (r->src != NULL && af_kafka_src_close(r->src, &r->ks, err, sizeof(err)) != AF_OK) {
		AF_LOG(&r->log, AF_LOG_ERROR, "kafka", "%s", err);
		status = status ? status : 1;
	}
	if (r->geo != NULL)
		af_geo_hub_close(r->geo);
	status = af_stream_files_close(&r->files, &r->log, status);
	free(r->path);
	free(r->idle);
	return status;
}

/* The start notice: what is read, from where, as which group. */
static void say_started(struct run *r)
{
	const struct af_config_kafka *k = &r->cfg->kafka;
	char topics[1024] = "";
	size_t n = 0;

	for (size_t i = 0; i < k->topics.count && n < sizeof(topics); i++)
		n += (size_t)snprintf(topics + n, sizeof(topics) - n, "%s%s", i ? "," : "",
		                      k->topics.items[i]);
	const struct af_log_field f[] = {
	    {"component", "kafka"},
	    {"brokers", k->brokers},
	    {"group", k->group ? k->group : AF_KAFKA_SRC_GROUP_DEFAULT},
	    {"topics", topics},
	};
	af_log_write(&r->log, AF_LOG_INFO, "started", f, sizeof(f) / sizeof(f[0]));
}

int af_run_main(const struct af_config *cfg)
{
	struct run r = {.cfg = cfg};
	int status;
	double t0 = af_clock_s();

	af_stream_log_init(&r.log, cfg);
	af_summary_init(&r.sum);
	if (cfg->cli.args.count != 0) {
		fprintf(stderr, "auditflow run: reads Kafka, not files (use auditflow replay for "
		                "files); see auditflow run --help\n");
		return 2;
	}
	if (af_rules_check(&cfg->rules, r.errstr, sizeof(r.errstr)) != AF_OK)
		return fail(&r, "rules", 2);
	/* Before anything is opened: a typo here is a usage error. */
	if (strcmp(cfg->metrics.listen, "off") != 0 &&
	    af_metrics_check(cfg->metrics.listen, r.errstr, sizeof(r.errstr)) != AF_OK)
		return fail(&r, "metrics", 2);
	bool resume = false;
	if ((status = af_stream_open_geo(cfg, &r.log, &r.geo)) != 0 ||
	    (status = af_stream_state(cfg, &r.log, &resume)) != 0 ||
	    (status = open_outputs(&r, resume)) != 0 || (status = open_source(&r)) != 0)
		return close_all(&r, status);

	struct af_rt_source src = {
	    .ctx = &r,
	    .ninputs = r.ninputs,
	    .inputs_start_idle = false,
	    .fill = fill,
	    .complete = complete,
	    .hold = hold,
	    .save = save,
	    .restore = restore,
	    .end_is_stop = true,
	};
	struct af_rt_sinks sinks = {.alerts = r.files.alerts,
	                            .dlq = r.files.dlq,
	                            .events = r.files.events,
	                            .outlet = af_deliver_outlet(r.out)};
	af_err_t err = af_runtime_new(cfg, &src, &sinks, r.geo, &r.rt, r.errstr, sizeof(r.errstr));
	if (err != AF_OK)
		return close_all(&r, fail(&r, "run", err == AF_E_CONFIG ? 2 : 1));
	if (resume && (status = af_stream_resume(r.rt, cfg, &r.log)) != 0)
		return close_all(&r, status);
	err = af_run_metrics_open(cfg, r.rt, r.src, r.out, &r.metrics, r.errstr, sizeof(r.errstr));
	if (err == AF_E_IO && strcmp(cfg->metrics.listen, AF_METRICS_LISTEN_DEFAULT) == 0) {
		/* The default port taken (another run on this host): run on
		 * without, and say so; an address asked for must be served. */
		AF_LOG(&r.log, AF_LOG_WARN, "metrics",
		       "%s; running without metrics (--metrics ADDR:PORT)", r.errstr);
	} else if (err != AF_OK) {
		return close_all(&r, fail(&r, "metrics", err == AF_E_CONFIG ? 2 : 1));
	}
	if (r.metrics != NULL) {
		/* The port bound, which port 0 leaves to the system. */
		const char *colon = strrchr(cfg->metrics.listen, ':');
		AF_LOG(&r.log, AF_LOG_INFO, "metrics",
		       "metrics at http://%.*s:%u/metrics, health at /health",
		       (int)(colon - cfg->metrics.listen), cfg->metrics.listen,
		       af_run_metrics_port(r.metrics));
	}

	sigset_t stop_set, old_set;
	af_stream_block_signals(&stop_set, &old_set);
	if (af_runtime_start(r.rt, r.errstr, sizeof(r.errstr)) != AF_OK) {
		pthread_sigmask(SIG_SETMASK, &old_set, NULL);
		return close_all(&r, fail(&r, "run", 1));
	}
	say_started(&r);
	af_stream_supervise(r.rt, &r.log, &stop_set,
	                    "finishing and delivering what was read, then committing its offsets",
	                    NULL, NULL);
	status = 0;
	if (af_runtime_wait(r.rt, &r.sum, r.errstr, sizeof(r.errstr)) != AF_OK)
		status = fail(&r, "run", 1);
	/* A topic never ends: the checkpoint stays for the next run. */
	status = af_stream_state_end(r.rt, cfg, &r.log, status, false);
	pthread_sigmask(SIG_SETMASK, &old_set, NULL);
	uint64_t forced = af_runtime_reorder_forced(r.rt);
	struct af_deliver_stats ds;
	af_deliver_stats(r.out, &ds);
	r.sum.wall_s = af_clock_s() - t0;

	status = close_all(&r, status);
	const struct af_kafka_src_stats ks = r.ks;
	if (cfg->output.summary &&
	    af_summary_write(&r.sum, cfg->output.summary, r.errstr, sizeof(r.errstr)) != AF_OK)
		status = status ? status : fail(&r, "output", 1);
	af_summary_print(stderr, &r.sum);
	fprintf(stderr,
	        "  kafka: %llu messages, %llu records, %llu empty, %llu read again; %llu "
	        "rebalances, %llu commits (%llu failed); %llu client errors%s%s\n",
	        (unsigned long long)ks.messages, (unsigned long long)ks.records,
	        (unsigned long long)ks.empty, (unsigned long long)ks.again,
	        (unsigned long long)ks.rebalances, (unsigned long long)ks.commits,
	        (unsigned long long)ks.commit_errors, (unsigned long long)ks.client_errors,
	        ks.last_error[0] ? ", last: " : "", ks.last_error);
	if (ds.undeliverable > 0)
		AF_LOG(&r.log, AF_LOG_WARN, "output",
		       "%llu documents could not be delivered; each is in the dead-letter output "
		       "with the reason",
		       (unsigned long long)ds.undeliverable);
	if (forced > 0)
		AF_LOG(&r.log, AF_LOG_WARN, "run",
		       "%llu events were let out of the reorder buffers before their turn "
		       "(partitions far apart in event time, or a record far ahead of the others)",
		       (unsigned long long)forced);
	return status;
}
