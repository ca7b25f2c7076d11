/* deliver.h - every output of `auditflow run` behind the runtime's outlet:
 * alert lines to a file or stdout, alerts, dead letters and ECS events to
 * Kafka topics, alerts (and events) to an HTTP sink, alerts to syslog,
 * and what no output can take to the dead-letter file.
 *
 * Thread: the runtime's sink thread, through the outlet (open and close on
 * the controlling thread, before start and after wait). Not thread-safe.
 * In: alerts and chunks of dead-letter or event lines, each with the
 * runtime's token (pipeline/runtime/runtime.h, struct af_rt_outlet).
 * Out: the outputs' writes; how many tokens are settled.
 *
 * Where each kind goes:
 *   alert        alerts_file; alerts_topic (key: the account, or the
 *                address of a per-address alert); HTTP; syslog
 *   dead letters dlq_file (the chunk as given); dlq_topic, one message
 *                per line, no key
 *   events       events_file (the chunk as given); events_topic, one
 *                message per line, no key; HTTP, one document per line,
 *                with http_events
 *
 * DESIGN: a token is settled when every output it went to has settled it:
 * file outputs when written, syslog when queued (syslog has no
 * acknowledgement), Kafka on its delivery report, HTTP on the server's
 * answer. A document an output gives up on (a permanent error, or a
 * refusal for good when offered) is written to the dead-letter file as an
 * "undeliverable" line and counted: settled, never silently lost:
 *
 *   {"reason":"undeliverable","output":"kafka:alerts","detail":"kafka:
 *    Broker: Message size too large","document":"{\"id\":...}"}
 *
 * "output" is "kafka:TOPIC", "http" or "syslog"; "document" holds the
 * document's text (one line of a chunk, or the alert as formatted for the
 * topics and HTTP), or "document_base64" its bytes when they are not
 * UTF-8. Syslog says only how many messages it gave up after queueing
 * them: that line has "count" instead of a document.
 * Each token's outstanding count sits in a ring of AF_DELIVER_WINDOW
 * entries: tokens further ahead of the oldest unsettled one are refused
 * (AF_E_AGAIN), so a slow output back-pressures the pipeline and memory
 * stays bounded. An output that refuses part of a document (a full queue)
 * leaves the rest in a stash offered again before anything new, from the
 * line where that output stopped: a document is never sent twice to one
 * output, nor skipped by one, and each output gets a chunk's lines in
 * order.
 */
#ifndef AF_SINKS_DELIVER_H
#define AF_SINKS_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/config.h"
#include "pipeline/err.h"
#include "pipeline/log.h"
#include "pipeline/runtime/runtime.h"
#include "sinks/alert_out.h"
#include "sinks/dlq.h"
#include "sinks/events_ecs.h"
#include "sinks/http.h"
#include "sinks/syslog.h"

/* Tokens outstanding at most. */
#define AF_DELIVER_WINDOW 65536u

struct af_deliver_opts {
	/* Files (borrowed; the caller opens and closes them). */
	struct af_alert_out *alerts_file; /* NULL: none */
	struct af_dlq *dlq_file;          /* required (it may only count) */
	struct af_ecs_out *events_file;   /* NULL: none */
	enum af_output_format format;     /* alerts to topics, HTTP, syslog */

	/* Kafka topics: brokers and -X settings for the producer. */
	const char *brokers;
	const char *const *props;
	size_t nprops;
	const char *alerts_topic; /* NULL: none */
	const char *dlq_topic;    /* NULL: none */
	const char *events_topic; /* NULL: none */

	/* HTTP (NULL: none; on_done and ctx are set here) and whether ECS
	 * events go there too, one document per line. */
	const struct af_http_opts *http;
	bool http_events;
	/* Syslog (NULL: none). */
	const struct af_syslog_opts *syslog;
	/* Where the Kafka producers' librdkafka lines go (borrowed; must
	 * outlive d) [af_log_default]. */
	const struct af_log *log;
};

struct af_deliver_stats {
	uint64_t documents;     /* tokens taken */
	uint64_t settled;       /* tokens settled from 0 without a gap */
	uint64_t undeliverable; /* documents an output gave up on */
	uint64_t refused;       /* offers an output or the window answered
	                           AF_E_AGAIN (a stashed document offered
	                           again counts again) */
};

struct af_deliver;

/* Open the network outputs named in opts (borrowed; strings copied by the
 * outputs). Returns AF_OK, or AF_E_CONFIG/AF_E_IO/AF_E_NOMEM with errstr
 * naming the output first ("alerts topic 'T': ...", "dead-letter topic",
 * "events topic", "HTTP output: ...", "syslog output: ..."): a topic
 * without brokers, a topic the brokers do not have, a bad -X, a bad HTTP
 * or syslog option. *out is NULL on failure.
 * Thread: the controlling thread. Cost: a metadata round trip per topic
 * (up to 10 s each when no broker answers). */
af_err_t af_deliver_open(const struct af_deliver_opts *opts, struct af_deliver **out, char *errstr,
                         size_t errstr_size);

/* The outlet to give the runtime (af_rt_sinks.outlet); valid until close. */
const struct af_rt_outlet *af_deliver_outlet(struct af_deliver *d);

void af_deliver_stats(const struct af_deliver *d, struct af_deliver_stats *out);

/* For metrics and health, from any thread: the counters as the sink
 * thread last published them (after each document and serving round),
 * and how long the oldest document not yet settled has waited (0: none
 * waits), in seconds. Takes d's metrics mutex. */
void af_deliver_health(struct af_deliver *d, struct af_deliver_stats *out, double *waiting_s);

/* Deliver what is held for up to timeout_ms (HTTP batches leave without
 * lingering), then close the network outputs and free d. What is still
 * held then is dropped, not dead-lettered: it was never settled, so an
 * at-least-once source reads it again. Returns AF_OK, or AF_E_IO with
 * errstr when tokens were still unsettled ("N of M documents were not
 * delivered within T ms; kafka:alerts holds 3"), when a Kafka producer
 * had failed for good, or when syslog could not send what it had queued.
 * NULL is a no-op. Thread: the controlling thread, after the runtime. */
af_err_t af_deliver_close(struct af_deliver *d, int timeout_ms, char *errstr, size_t errstr_size);

#endif
