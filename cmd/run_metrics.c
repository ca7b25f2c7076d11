/* run_metrics.c - `auditflow run`'s /metrics and /health; see
 * run_metrics.h.
 */
#include "cmd/run_metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/alert.h"
#include "pipeline/clock.h"
#include "pipeline/event.h"
#include "pipeline/reason.h"
#include "sinks/metrics.h"
#include "sinks/summary.h"

/* How often the source thread publishes its counters. */
#define SOURCE_PUB_S 0.25

/* A partition's lag as last published. */
struct lag {
	char topic[256];
	int partition;
	int64_t lag;
};

struct af_run_metrics {
	const struct af_config *cfg;
	struct af_runtime *rt;
	struct af_kafka_src *src; /* the source thread's */
	struct af_deliver *out;
	struct af_metrics *server;
	double started;
	/* Published by the source thread, under mu: */
	pthread_mutex_t mu;
	double pub_at; /* the source thread's; not under mu */
	struct af_kafka_src_stats ks;
	struct lag *lags; /* [cfg->kafka.max_partitions] */
	uint32_t nlags;
	double disconnected_since; /* 0: connected */
};

void af_run_metrics_source(struct af_run_metrics *m)
{
	if (m == NULL)
		return;
	double now = af_clock_s();
	if (now - m->pub_at < SOURCE_PUB_S)
		return;
	m->pub_at = now;
	struct af_kafka_src_stats ks;
	af_kafka_src_stats(m->src, &ks);
	pthread_mutex_lock(&m->mu);
	m->ks = ks;
	if (ks.connected)
		m->disconnected_since = 0;
	else if (m->disconnected_since == 0)
		m->disconnected_since = now;
	m->nlags = 0;
	for (uint32_t i = 0; i < ks.inputs && m->nlags < m->cfg->kafka.max_partitions; i++) {
		int64_t lag;
		const char *name = af_kafka_src_input_name(m->src, i);
		if (name == NULL || af_kafka_src_lag(m->src, i, &lag) != AF_OK)
			continue;
		/* "topic[partition]" */
		const char *open = strrchr(name, '[');
		struct lag *l = &m->lags[m->nlags++];
		size_t tlen = open ? (size_t)(open - name) : strlen(name);
		if (tlen >= sizeof(l->topic))
			tlen = sizeof(l->topic) - 1;
		memcpy(l->topic, name, tlen);
		l->topic[tlen] = '\0';
		l->partition = open ? atoi(open + 1) : -1;
		l->lag = lag;
	}
	pthread_mutex_unlock(&m->mu);
}

/* A label value as the exposition format wants it: \, " and newline
 * escaped. */
static void label(FILE *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(out, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", out);
		else
			fputc(*v, out);
	}
}

static void head(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(FILE *out, const char *name, const char *type, const char *help, double v)
{
	head(out, name, type, help);
	fprintf(out, "%s %.17g\n", name, v);
}

/* One sample of name with one label, key="value" (escaped). */
static void labelled(FILE *out, const char *name, const char *key, const char *value, double v)
{
	fprintf(out, "%s{%s=\"", name, key);
	label(out, value);
	fprintf(out, "\"} %.17g\n", v);
}

/* Enrichment, checkpoints and back-pressure. */
static void render_pipeline(const struct af_run_metrics *m, FILE *out)
{
	struct af_geo_reader_stats g;
	struct af_geo_hub_stats h = {0};
	double last_s = 0, max_s = 0;

	af_runtime_geo_stats(m->rt, &g);
	one(out, "auditflow_geo_lookups_total", "counter", "events with an address to look up",
	    (double)g.lookups);
	head(out, "auditflow_geo_cache_hits_total", "counter",
	     "look-ups answered from a cache: by address, or by the database record decoded "
	     "before");
	labelled(out, "auditflow_geo_cache_hits_total", "cache", "address", (double)g.addr_hits);
	labelled(out, "auditflow_geo_cache_hits_total", "cache", "record", (double)g.record_hits);
	one(out, "auditflow_geo_records_decoded_total", "counter",
	    "database records decoded (cache misses)", (double)g.record_misses);
	one(out, "auditflow_geo_not_found_total", "counter",
	    "look-ups no database answered (the record's own location kept, if any)",
	    (double)g.not_found);
	bool geo = af_runtime_geo_hub_stats(m->rt, &h);
	one(out, "auditflow_geo_reloads_total", "counter", "databases swapped in while running",
	    (double)h.reloads);
	one(out, "auditflow_geo_reload_failures_total", "counter",
	    "replaced databases that could not be used (the old ones kept)",
	    (double)h.reload_failures);
	one(out, "auditflow_geo_generation", "gauge",
	    "the database set in use, from 1 (0: no databases)", geo ? (double)h.generation : 0);

	uint64_t n = af_runtime_checkpoints(m->rt, &last_s, &max_s);
	one(out, "auditflow_checkpoints_total", "counter", "checkpoints completed (--state-dir)",
	    (double)n);
	one(out, "auditflow_checkpoint_last_duration_seconds", "gauge",
	    "from the last checkpoint's start to its manifest", last_s);
	one(out, "auditflow_checkpoint_max_duration_seconds", "gauge",
	    "the longest checkpoint so far", max_s);

	struct af_rt_pressure p;
	af_runtime_pressure(m->rt, &p);
	head(out, "auditflow_blocked_seconds_total", "counter",
	     "time a stage waited for the next one (back-pressure): source for the cores "
	     "(or the outputs' acknowledgements), worker for the shards, shard for the "
	     "output thread");
	labelled(out, "auditflow_blocked_seconds_total", "stage", "source", p.source_s);
	labelled(out, "auditflow_blocked_seconds_total", "stage", "worker", p.worker_s);
	labelled(out, "auditflow_blocked_seconds_total", "stage", "shard", p.shard_s);
	head(out, "auditflow_ring_fill_ratio", "gauge",
	     "how full the rings between two stages are, 0 to 1");
	labelled(out, "auditflow_ring_fill_ratio", "ring", "batches", p.batches_fill);
	labelled(out, "auditflow_ring_fill_ratio", "ring", "mesh", p.mesh_fill);
	labelled(out, "auditflow_ring_fill_ratio", "ring", "sink", p.sink_fill);
}

static void render(void *ctx, FILE *out)
{
	struct af_run_metrics *m = ctx;
	struct af_summary s;
	struct af_kafka_src_stats ks;
	struct af_deliver_stats ds;
	double waiting = 0;

	af_runtime_stats(m->rt, &s);
	pthread_mutex_lock(&m->mu);
	ks = m->ks;
	pthread_mutex_unlock(&m->mu);
	if (m->out != NULL)
		af_deliver_health(m->out, &ds, &waiting);
	else
		memset(&ds, 0, sizeof(ds));

	one(out, "auditflow_up", "gauge", "1 while the run serves", 1);
	one(out, "auditflow_uptime_seconds", "gauge", "seconds since the run started",
	    af_clock_s() - m->started);
	head(out, "auditflow_events_received_total", "counter",
	     "records read from the source (each becomes an event, a dead letter or a "
	     "duplicate)");
	labelled(out, "auditflow_events_received_total", "source", "kafka", (double)s.events_in);
	head(out, "auditflow_events_total", "counter", "records by what became of them");
	labelled(out, "auditflow_events_total", "result", "ok", (double)s.events_ok);
	labelled(out, "auditflow_events_total", "result", "dead_letter", (double)s.events_invalid);
	labelled(out, "auditflow_events_total", "result", "duplicate", (double)s.duplicates);
	head(out, "auditflow_dead_letters_total", "counter", "records dead-lettered, by reason");
	for (unsigned r = 0; r < AF_REASON_COUNT; r++)
		if (r != AF_REASON_NONE)
			labelled(out, "auditflow_dead_letters_total", "reason",
			         af_reason_name((enum af_reason)r), (double)s.invalid_by_reason[r]);
	one(out, "auditflow_events_late_total", "counter",
	    "events older than the reorder window allowed (applied late)", (double)s.late);
	head(out, "auditflow_events_by_kind_total", "counter", "events by kind");
	for (unsigned k = 0; k < AF_KIND_COUNT; k++)
		labelled(out, "auditflow_events_by_kind_total", "kind",
		         af_kind_name((enum af_kind)k), (double)s.by_kind[k]);
	head(out, "auditflow_alerts_total", "counter", "alerts raised, by rule");
	for (uint32_t i = 0; i < s.rules_n; i++)
		labelled(out, "auditflow_alerts_total", "rule", s.alerts_by_rule[i].name,
		         (double)s.alerts_by_rule[i].count);
	head(out, "auditflow_alerts_by_severity_total", "counter", "alerts raised, by severity");
	for (unsigned v = 0; v < AF_SEV_COUNT; v++)
		labelled(out, "auditflow_alerts_by_severity_total", "severity",
		         af_severity_name((enum af_severity)v), (double)s.alerts_by_severity[v]);
	struct af_rt_latency lat;
	af_runtime_alert_latency(m->rt, &lat);
	head(out, "auditflow_alert_latency_seconds", "histogram",
	     "from an alert's event time to its hand-over to the outputs");
	uint64_t cum = 0;
	for (unsigned k = 0; k < AF_RT_LATENCY_BUCKETS - 1; k++) {
		cum += lat.count[k];
		fprintf(out, "auditflow_alert_latency_seconds_bucket{le=\"%g\"} %llu\n",
		        af_rt_latency_bounds[k], (unsigned long long)cum);
	}
	fprintf(out, "auditflow_alert_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
	        (unsigned long long)lat.n);
	fprintf(out, "auditflow_alert_latency_seconds_sum %.17g\n", lat.sum_s);
	fprintf(out, "auditflow_alert_latency_seconds_count %llu\n", (unsigned long long)lat.n);
	one(out, "auditflow_accounts", "gauge",
	    "distinct accounts seen (an estimate past 2^20 a thread)", (double)s.accounts);
	one(out, "auditflow_accounts_evicted_total", "counter",
	    "account states dropped at state.max_accounts", (double)s.accounts_evicted);
	one(out, "auditflow_addresses_evicted_total", "counter",
	    "address states dropped at state.max_addresses", (double)s.addresses_evicted);
	render_pipeline(m, out);

	one(out, "auditflow_kafka_messages_total", "counter", "Kafka messages read",
	    (double)ks.messages);
	one(out, "auditflow_kafka_bytes_total", "counter", "Kafka payload bytes read",
	    (double)ks.bytes);
	one(out, "auditflow_kafka_rebalances_total", "counter", "assignments and revocations",
	    (double)ks.rebalances);
	one(out, "auditflow_kafka_commits_total", "counter", "offset commits accepted",
	    (double)ks.commits);
	one(out, "auditflow_kafka_commit_errors_total", "counter", "offset commits that failed",
	    (double)ks.commit_errors);
	one(out, "auditflow_kafka_client_errors_total", "counter",
	    "errors librdkafka reported and worked through", (double)ks.client_errors);
	one(out, "auditflow_kafka_paused_total", "counter",
	    "times the partitions were paused (back-pressure)", (double)ks.paused);
	one(out, "auditflow_kafka_assigned_partitions", "gauge", "partitions assigned now",
	    (double)ks.assigned);
	one(out, "auditflow_kafka_connected", "gauge", "1 when a broker has answered",
	    ks.connected);
	head(out, "auditflow_kafka_consumer_lag", "gauge",
	     "messages between the partition's end and this run's position");
	pthread_mutex_lock(&m->mu);
	for (uint32_t i = 0; i < m->nlags; i++) {
		fputs("auditflow_kafka_consumer_lag{topic=\"", out);
		label(out, m->lags[i].topic);
		fprintf(out, "\",partition=\"%d\"} %lld\n", m->lags[i].partition,
		        (long long)m->lags[i].lag);
	}
	pthread_mutex_unlock(&m->mu);

	one(out, "auditflow_output_documents_total", "counter",
	    "alerts and chunks of lines handed to the outputs", (double)ds.documents);
	one(out, "auditflow_output_settled_total", "counter",
	    "of those, delivered or dead-lettered, in order", (double)ds.settled);
	one(out, "auditflow_output_undeliverable_total", "counter",
	    "documents an output gave up on (in the dead-letter output)", (double)ds.undeliverable);
	one(out, "auditflow_output_refused_total", "counter",
	    "offers refused because the outputs were full (back-pressure)", (double)ds.refused);
	one(out, "auditflow_output_oldest_waiting_seconds", "gauge",
	    "how long the oldest document not yet delivered has waited", waiting);
}

static bool health(void *ctx, FILE *out)
{
	struct af_run_metrics *m = ctx;
	double limit = (double)m->cfg->metrics.unhealthy_after / 1e9, now = af_clock_s();
	struct af_deliver_stats ds;
	double waiting = 0;

	pthread_mutex_lock(&m->mu);
	double since = m->disconnected_since;
	pthread_mutex_unlock(&m->mu);
	if (m->out != NULL)
		af_deliver_health(m->out, &ds, &waiting);
	double down = since > 0 ? now - since : 0;
	bool source_ok = down <= limit, output_ok = waiting <= limit;
	fprintf(out,
	        "{\"status\":\"%s\",\"source\":{\"ok\":%s,\"disconnected_s\":%.1f},"
	        "\"outputs\":{\"ok\":%s,\"oldest_waiting_s\":%.1f},\"unhealthy_after_s\":%.1f}\n",
	        source_ok && output_ok ? "ok" : "unhealthy", source_ok ? "true" : "false", down,
	        output_ok ? "true" : "false", waiting, limit);
	return source_ok && output_ok;
}

af_err_t af_run_metrics_open(const struct af_config *cfg, struct af_runtime *rt,
                             struct af_kafka_src *src, struct af_deliver *out,
                             struct af_run_metrics **mp, char *errstr, size_t errstr_size)
{
	struct af_run_metrics *m;

	*mp = NULL;
	if (cfg->metrics.listen == NULL || strcmp(cfg->metrics.listen, "off") == 0)
		return AF_OK;
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->lags = calloc(cfg->kafka.max_partitions, sizeof(*m->lags))) == NULL) {
		free(m);
		snprintf(errstr, errstr_size, "out of memory");
		return AF_E_NOMEM;
	}
	m->cfg = cfg;
	m->rt = rt;
	m->src = src;
	m->out = out;
	m->started = af_clock_s();
	pthread_mutex_init(&m->mu, NULL);
	af_err_t e = af_metrics_open(cfg->metrics.listen, render, health, m, &m->server, errstr,
	                             errstr_size);
	if (e != AF_OK) {
		af_run_metrics_close(m);
		return e;
	}
	*mp = m;
	return AF_OK;
}

uint16_t af_run_metrics_port(const struct af_run_metrics *m)
{
	return af_metrics_port(m->server);
}

void af_run_metrics_close(struct af_run_metrics *m)
{
	if (m == NULL)
		return;
	af_metrics_close(m->server);
	pthread_mutex_destroy(&m->mu);
	free(m->lags);
	free(m);
}
