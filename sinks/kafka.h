/* kafka.h - documents (alerts, dead letters, ECS events) to a Kafka topic
 * through librdkafka's idempotent producer, one delivery report each.
 *
 * Thread: one thread owns a sink (the runtime's sink thread): open, submit,
 * poll, flush, pending, stats and close all run there. Not thread-safe.
 * librdkafka runs its own threads (one per broker and a main one) but calls
 * back only inside af_kafka_sink_poll and af_kafka_sink_flush, on the owner.
 * librdkafka's own log lines go to opts.log, redacted, from its threads
 * (pipeline/kafka_conf.h, af_kafka_conf_log; -X log_level=N quiets it).
 * In: JSON documents, each with the caller's token and an optional key.
 * Out: Kafka messages (key = the account, value = the document, byte for
 * byte), and one on_done call per accepted document: delivered (the
 * partition leader and every in-sync replica have it), or dead-lettered
 * with a reason.
 *
 * Producer settings (the defaults; -X KEY=VALUE in opts.props wins where a
 * setting is not refused):
 *   enable.idempotence=true, acks=all  forced: a user value that turns
 *       either off is refused at open (AF_E_CONFIG naming the key). With
 *       both, a request retried after a lost answer is not written twice,
 *       and retries cannot reorder an account's alerts; acks=1 would let a
 *       leader that dies lose alerts already reported delivered.
 *   message.timeout.ms=0 (no limit)  librdkafka keeps retrying a document
 *       through a broker outage, however long, instead of failing it after
 *       five minutes: during an outage the held documents fill the queue,
 *       submit answers AF_E_AGAIN and the source pauses (back-pressure), and
 *       nothing is dropped or dead-lettered because a broker was away. A
 *       user who prefers to give up sets it (-X message.timeout.ms=N): the
 *       documents that time out come back as dead letters ("kafka: Local:
 *       Message timed out"), never silently.
 *   compression.type=zstd  alerts and ECS events are JSON with the same
 *       keys and values over and over, and a batch shrinks several times;
 *       zstd compresses better than gzip for less CPU, and brokers since
 *       Kafka 2.1 take it. Any librdkafka codec may be set instead (none,
 *       gzip, snappy, lz4), e.g. for an older broker.
 *   linger.ms  opts.linger_ms; client.id "auditflow".
 *   queue.buffering.max.messages / .kbytes  at least the sink's own caps,
 *       so our count, not librdkafka's, says when the queue is full.
 * Refused as well: delivery.report.only.error=true (no report for a
 * delivered document: it would stay pending for ever) and transactional.id
 * (the sink runs no transactions; every produce would fail).
 *
 * Outcomes, per document:
 *   delivered                              on_done(ok)
 *   a retriable error (leader moved, a
 *   broker down or timing out, ...)        retried by librdkafka, unseen
 *   a permanent error (too large for the
 *   client's or the broker's
 *   message.max.bytes, not authorized,
 *   the topic deleted (once librdkafka
 *   has believed it for
 *   topic.metadata.propagation.max.ms,
 *   30 s), an epoch bumped over it, a
 *   finite message.timeout.ms)             on_done(false, "kafka: <librdkafka's
 *                                          text>", e.g. "kafka: Broker: Message
 *                                          size too large")
 *   a fatal idempotence error (the
 *   broker lost track of the producer's
 *   sequence numbers)                      the documents held fail as above,
 *                                          and every later submit, poll and
 *                                          flush returns AF_E_IO; stats say
 *                                          why (stats.fatal, last_error)
 *
 * The topic is looked up at open (a metadata request, bounded by
 * opts.metadata_timeout_ms): a topic the brokers say does not exist fails
 * the open. Without that check, documents for it would wait for ever under
 * message.timeout.ms=0. Brokers that do not answer in time do not fail the
 * open (they may be starting); stats.topic_checked stays false and
 * last_error says so.
 *
 * Secrets: the values of secret -X keys (pipeline/kafka_conf.h: keys
 * containing "password", "secret", "sasl.oauthbearer.config", "ssl.key")
 * are shown as "***" in every text this module writes (errstr, reasons,
 * last_error), and an unknown key's value is never shown (it may be a
 * secret under a misspelt key).
 *
 * DESIGN: the sink counts what it holds itself (documents and their key
 * and value bytes, from submit until on_done) and answers AF_E_AGAIN beyond
 * opts.queue_items / opts.queue_bytes, so back-pressure is the same as the
 * other sinks' whatever librdkafka is doing. The token rides in the
 * message's opaque, so a delivery report needs no side table. A document
 * librdkafka refuses outright at produce time for a reason that will not
 * pass (too large, topic unknown) is still accepted (a copy kept) and
 * settled as a dead letter on the next poll, so a caller sees every
 * permanent failure in one place, on_done, document included.
 */
#ifndef AF_SINKS_KAFKA_H
#define AF_SINKS_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"
#include "pipeline/log.h"

#define AF_KAFKA_QUEUE_ITEMS_DEFAULT      100000u
#define AF_KAFKA_QUEUE_BYTES_DEFAULT      ((size_t)64 << 20)
#define AF_KAFKA_LINGER_MS_DEFAULT        5u
#define AF_KAFKA_METADATA_TIMEOUT_DEFAULT 10000u

/* Called once per accepted document when it is settled. ok: delivered;
 * else dead-lettered: reason says why (redacted) and doc[0..len) is the
 * document as submitted, so the caller can dead-letter it whole. reason
 * and doc are borrowed for the call (NULL, and len 0, when ok). Runs on
 * the owning thread inside af_kafka_sink_poll or af_kafka_sink_flush; it
 * may call af_kafka_sink_submit, pending and stats, not poll, flush or
 * close. */
typedef void (*af_kafka_done_fn)(void *ctx, uint64_t token, bool ok, const char *reason,
                                 const char *doc, size_t len);

/* Options of af_kafka_sink_open. Zero or NULL means the default in
 * brackets. All strings are borrowed for the call. */
struct af_kafka_sink_opts {
	const char *brokers; /* required: bootstrap.servers, "host:port,..." */
	const char *topic;   /* required */
	/* librdkafka settings, "key=value" each (kcat's -X), applied after
	 * the defaults above, in order; may be NULL when nprops is 0 */
	const char *const *props;
	size_t nprops;
	uint32_t queue_items;         /* documents held, in flight included [100000] */
	size_t queue_bytes;           /* their key and value bytes [64 MiB] */
	uint32_t linger_ms;           /* [5]; -X linger.ms=0 for none */
	uint32_t metadata_timeout_ms; /* the topic check at open [10000] */
	af_kafka_done_fn on_done;     /* required */
	void *ctx;                    /* passed to on_done */
	/* librdkafka's log lines, client=producer topic=TOPIC; borrowed, must
	 * outlive the sink [af_log_default] */
	const struct af_log *log;
};

/* Counters since open. */
struct af_kafka_sink_stats {
	uint64_t submitted;     /* documents accepted */
	uint64_t delivered;     /* on_done(ok) */
	uint64_t failed;        /* on_done(false): dead letters */
	uint64_t refused;       /* submits answered AF_E_AGAIN */
	uint64_t client_errors; /* errors librdkafka reported and works through:
	                           brokers down, requests timing out, ... */
	uint32_t pending;       /* documents held now */
	size_t pending_bytes;   /* their key and value bytes */
	bool topic_checked;     /* the brokers answered at open and had the topic */
	bool fatal;             /* the producer failed for good: see last_error */
	char last_error[256];   /* the latest error, redacted; "" none yet */
};

struct af_kafka_sink;

/* Check the options, build the librdkafka configuration (defaults, then
 * opts->props), make the producer and look the topic up (waits up to
 * opts->metadata_timeout_ms). *out gets the sink.
 * Returns AF_OK; AF_E_CONFIG with errstr naming the option or -X key at
 * fault (a missing broker list or topic, a -X that is not KEY=VALUE, an
 * unknown key, a bad value, a refused override, a topic the brokers say
 * does not exist or may not be written, settings librdkafka will not
 * combine, such as retries=0 with idempotence); AF_E_NOMEM. *out is NULL
 * on failure. errstr never holds a secret.
 * Thread: the future owner.
 * Cost: a metadata round trip, or the whole wait when no broker answers. */
af_err_t af_kafka_sink_open(const struct af_kafka_sink_opts *opts, struct af_kafka_sink **out,
                            char *errstr, size_t errstr_size);

/* Produce doc[0..len) with key[0..keylen) under token; on_done reports it
 * once. key: the account, so that all of an account's documents go to one
 * partition, in submission order; NULL or keylen 0: no key (a partition at
 * random: dead letters, say). key and doc: borrowed (librdkafka copies
 * them), need not be NUL-terminated.
 * Returns AF_OK once accepted; AF_E_AGAIN when the queue is full, here or
 * in librdkafka (nothing was taken: call af_kafka_sink_poll and offer it
 * again); AF_E_INVALID when len is 0 or keylen + len exceeds queue_bytes
 * (it can never fit); AF_E_IO after a fatal producer error (see
 * last_error); AF_E_NOMEM.
 * Cost: a malloc and copy inside librdkafka and a queue insert under its
 * partition lock; now and then a wake-up of a broker thread. */
af_err_t af_kafka_sink_submit(struct af_kafka_sink *s, uint64_t token, const char *key,
                              size_t keylen, const char *doc, size_t len);

/* Serve what librdkafka has reported (delivery reports -> on_done, errors
 * -> stats), waiting up to timeout_ms (0: not at all, -1: until something
 * comes) for the first report. Returns AF_OK, or AF_E_IO once the producer
 * has failed fatally (after serving the reports of the documents that
 * failed with it).
 * Cost: a queue pop per report; a callback per document. */
af_err_t af_kafka_sink_poll(struct af_kafka_sink *s, int timeout_ms);

/* Send what lingers now and wait up to timeout_ms (-1: no limit) until
 * every document held is settled, calling on_done as reports come.
 * Returns AF_OK when nothing is held any more; AF_E_AGAIN with errstr (how
 * many documents are left, and the latest error) when some are still held
 * (brokers away, say): they are kept, so this is not a failure; AF_E_IO
 * after a fatal producer error. */
af_err_t af_kafka_sink_flush(struct af_kafka_sink *s, int timeout_ms, char *errstr,
                             size_t errstr_size);

/* Documents held: accepted and not yet settled by on_done. */
uint32_t af_kafka_sink_pending(const struct af_kafka_sink *s);

/* Copy the counters into *out. */
void af_kafka_sink_stats(const struct af_kafka_sink *s, struct af_kafka_sink_stats *out);

/* Drop what is held and free s. Documents still held get no on_done call:
 * they may or may not reach the topic, and an at-least-once caller must
 * not count them as delivered (flush first to settle them). Returns
 * promptly even with brokers away. NULL is a no-op. */
void af_kafka_sink_close(struct af_kafka_sink *s);

#endif
