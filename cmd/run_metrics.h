/* run_metrics.h - what `auditflow run` serves at /metrics and /health
 * (sinks/metrics.h): the runtime's counts, the Kafka source's counters and
 * consumer lag, the outputs' deliveries and checkpoints, in Prometheus
 * text exposition; and whether the run is healthy.
 *
 * Thread: open and close on the main thread; af_run_metrics_source on the
 * runtime's source thread (the Kafka source is that thread's alone, so it
 * publishes its counters for the server's thread, under a mutex, at most
 * four times a second); the rest is read on the server's thread.
 * DESIGN: healthy means the brokers have answered within
 * metrics.unhealthy_after (librdkafka's own view: the source is
 * "connected") and no document has waited longer than that to be
 * delivered to an output. No label carries an account or an address.
 */
#ifndef AF_CMD_RUN_METRICS_H
#define AF_CMD_RUN_METRICS_H

#include "ingest/kafka.h"
#include "pipeline/config.h"
#include "pipeline/err.h"
#include "pipeline/runtime/runtime.h"
#include "sinks/deliver.h"

struct af_run_metrics;

/* Serve cfg->metrics.listen for rt, src and out (all borrowed; they must
 * outlive it) into *out; *out stays NULL when the setting is "off".
 * Returns AF_OK, AF_E_CONFIG or AF_E_IO (errstr: the address). */
af_err_t af_run_metrics_open(const struct af_config *cfg, struct af_runtime *rt,
                             struct af_kafka_src *src, struct af_deliver *out,
                             struct af_run_metrics **m, char *errstr, size_t errstr_size);

/* The port served (for a listen address with port 0). */
uint16_t af_run_metrics_port(const struct af_run_metrics *m);

/* Publish the source's counters and lag, at most every quarter second.
 * Thread: the runtime's source thread only. m may be NULL. */
void af_run_metrics_source(struct af_run_metrics *m);

/* Stop serving and free m; NULL is ignored. */
void af_run_metrics_close(struct af_run_metrics *m);

#endif
