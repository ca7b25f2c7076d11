/* kafka.h - the Kafka source: a consumer-group member that cuts messages
 * into records for the runtime, at least once.
 *
 * Thread: the runtime's source thread only: open, next, complete, hold, the
 * getters and close. Not thread-safe. librdkafka runs threads of its own
 * but calls back (rebalances, errors, commit results) only inside next,
 * hold and close, on this thread (its log lines aside: to opts.log, from
 * its threads, redacted).
 * In: the messages of the subscribed topics (names or "^regex"), as a
 * member of a consumer group (librdkafka's high-level consumer).
 * Out: batches of records (struct af_rt_batch), each of one partition;
 * offsets stored for commit as the runtime reports records completed.
 *
 * Inputs. Each partition gets an input number the first time it is
 * assigned, 0..max_inputs-1, kept for the life of the source (a partition
 * revoked and assigned again keeps its number and its record numbering).
 * A record's struct af_rt_rec says: file = the input, offset = the Kafka
 * offset of its message, line = its 1-based place within the message, seq
 * = its number within the input in this process, from 0, never reused.
 *
 * Payloads. A message holds one record, a JSON array of records, the Event
 * Hub envelope {"records":[...]}, or JSON Lines (one record per line, each
 * line also an array or an envelope); leading blanks and a UTF-8 BOM are
 * skipped; the rules are the file reader's (ingest/file.h), applied to one
 * message. A record never spans messages. Longer than max_record_bytes: a
 * record with reason AF_REASON_OVERSIZE holding its first 4 KiB at most; a
 * NUL byte inside: AF_REASON_NUL_BYTES, the same excerpt. Anything else,
 * malformed JSON included, is a record: the parser judges it. A message
 * with no record (null value, empty, blanks, [] ...) is counted in
 * stats.empty and completes with the messages before it.
 *
 * Offsets (at least once). librdkafka stores nothing by itself
 * (enable.auto.offset.store=false). af_kafka_src_complete(input, seq)
 * stores the offset after the last message all of whose records have seq
 * <= seq, so a committed offset never passes a record that is not yet
 * processed. The source commits what is stored itself, every
 * auto.commit.interval.ms while enable.auto.commit is true (both librdkafka's
 * settings and defaults, read from the configuration; librdkafka's own
 * auto-commit is turned off), asynchronously. librdkafka retries a
 * commit refused for a reason a moment cures, so an older commit can land
 * after a newer one and move the group's offsets back: the next periodic
 * commit mends that, and the commits of a revocation or close wait until
 * every periodic commit in flight has its answer, so nothing lands after
 * them. No periodic commit is sent while the group rebalances. On revocation
 * (a rebalance, or close) the source commits synchronously, for each
 * partition it gives up, its resume point: the stored offset; else, when
 * nothing completed in this assignment, the first message not completed;
 * else the consumer's position (so a partition started at "end" or "N"
 * does not rewind when it comes back). A lost assignment (session timed
 * out: another member may own the partitions already) commits nothing.
 * Messages handed on and not completed when their partition is revoked are
 * read again by the partition's next owner: records can come twice (on a
 * rebalance, a crash, a close with work in flight), never not at all.
 * When the next owner is this process again (a lost assignment, a
 * rebalance that gives the partition back), the records it has handed on
 * already are not handed on again: the pipeline has them, in order, and a
 * record applied twice could count twice once the duplicate filter's
 * retention has passed (a catch-up run crosses days of event time in
 * seconds). Such a message (stats.again) completes once every record of
 * its partition handed on before it came again has (its first hand-over
 * among them).
 *
 * Start (opts.offset), applied to the first assignment of each partition
 * in this process only; a later assignment of the same partition resumes
 * from the group's committed offset (a rebalance never rewinds):
 *   stored     the group's committed offset, else auto.offset.reset
 *              (default here: earliest, since re-reading audit logs is
 *              better than losing them)
 *   beginning  the oldest message;  end  only messages produced from now
 *   N          offset N;  -N  the last N messages of each partition
 *   s@MS       the first message whose timestamp is >= MS (ms since the
 *              epoch), by rd_kafka_offsets_for_times; end when none is.
 * Another process of the same group assigned the partition later applies
 * its own --offset to it: it is the first assignment there.
 *
 * Pause. At most max_pending messages are handed on and not completed;
 * when that many are, the source pauses every assigned partition and
 * answers AF_E_AGAIN until completions bring the count down to half, then
 * resumes (the gap stops a pause and a resume per completion). A hold
 * (af_kafka_src_hold) longer than 200 ms pauses too, until the next call
 * of af_kafka_src_next. While paused the consumer is still served, so
 * rebalances happen and max.poll.interval.ms is met. A message the
 * consumer still hands over then is kept (in the stash below) or, when the
 * stash is full, rewound to (rd_kafka_seek_partitions) so that it is
 * fetched again after the resume: none is lost.
 *
 * Batches and the stash. A batch holds records of one partition. While a
 * batch fills, messages of other partitions wait in a stash of
 * opts.stash_messages messages, in arrival order; the next batch starts
 * with the oldest of them. A message that does not fit in the rest of a
 * batch goes on in the next batch, from the record where it stopped.
 *
 * End (opts.exit_at_end, kcat's -e). af_kafka_src_next answers AF_EOF when
 * at least one partition is assigned, every assigned partition has
 * reported its end (partition EOF) since its last message, and no message
 * waits in the stash or half-handed. Records handed on may still be in
 * the runtime; completions after AF_EOF are still stored, and close
 * commits them. Subtleties: a partition assigned later (a rebalance, a new
 * partition of a ^regex subscription) restarts the wait until it reaches
 * its own end; a member left with no partition does not end (an eager
 * rebalance passes through an empty assignment, so "all of none" would end
 * every member at each rebalance), nor does a ^regex that matches no topic.
 *
 * Errors. Broker connections that fail or drop (transport errors, all
 * brokers down) are counted in stats.client_errors with the text in
 * stats.last_error, and librdkafka reconnects by itself; unreachable
 * bootstrap servers at open are not an error either: stats.connected
 * stays false until a broker answers. AF_E_IO ends the run for: a fatal
 * client error (rd_kafka_fatal_error), a topic subscribed by name that the
 * cluster says does not exist or may not be read, a failed rewind. More
 * partitions than max_inputs is AF_E_CONFIG.
 *
 * Lag (af_kafka_src_lag): the partition's high watermark, as librdkafka
 * last saw it in a fetch answer (rd_kafka_get_watermark_offsets: cached,
 * no request), minus the offset after the last message handed on (before
 * any, the consumer's position). Statistics (statistics.interval.ms) are
 * not used, so they stay free for the user.
 *
 * librdkafka settings: the defaults below, then opts.props in order.
 *   group.id                       opts.group [auditflow]
 *   partition.assignment.strategy  cooperative-sticky; an eager one (range,
 *                                  roundrobin) works as well
 *   auto.offset.reset              earliest
 *   queued.max.messages.kbytes     262144, and queued.min.messages 1000000
 *                                  (librdkafka's prefetch, all partitions
 *                                  together: at most 256 MiB, and a fetch's
 *                                  overshoot). librdkafka 2.0.2 stops
 *                                  fetching for up to a second each time
 *                                  either is reached, however soon the
 *                                  queue drains (its issue #2879; 2.1 made
 *                                  the wait fetch.queue.backoff.ms), so the
 *                                  bound must hold about a second of what
 *                                  the pipeline consumes or it starves:
 *                                  bench/kafka/README.md. Lower it with -X
 *                                  where memory is short.
 *   client.id                      auditflow
 *   enable.auto.offset.store=false and enable.partition.eof=true are the
 *   source's own: setting either the other way is refused (AF_E_CONFIG
 *   naming the key). -X entries are applied and judged by
 *   pipeline/kafka_conf.h: the values of secret keys ("password",
 *   "secret", "sasl.oauthbearer.config", "ssl.key" ...) are shown as "***"
 *   in every text this module writes, and an unknown key's value is never
 *   shown.
 */
#ifndef AF_INGEST_KAFKA_H
#define AF_INGEST_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"
#include "pipeline/log.h"
#include "pipeline/runtime/runtime.h"

#define AF_KAFKA_SRC_GROUP_DEFAULT       "auditflow"
#define AF_KAFKA_SRC_MAX_RECORD_DEFAULT  ((size_t)1 << 20)
#define AF_KAFKA_SRC_MAX_INPUTS_DEFAULT  1024u
#define AF_KAFKA_SRC_MAX_PENDING_DEFAULT 65536u
#define AF_KAFKA_SRC_STASH_DEFAULT       1024u

/* Options of af_kafka_src_open. Zero or NULL means the default in
 * brackets. All strings are borrowed for the call (the source keeps
 * copies of what it needs). */
struct af_kafka_src_opts {
	const char *brokers; /* required: bootstrap.servers, "host:port,..." */
	/* required: at least one; a name, or "^regex" for every matching
	 * topic (librdkafka's subscribe semantics) */
	const char *const *topics;
	size_t ntopics;
	const char *group;  /* consumer group [auditflow] */
	const char *offset; /* beginning|end|stored|N|-N|s@MS [stored] */
	bool exit_at_end;   /* AF_EOF at the end of every partition (-e) */
	/* librdkafka settings, "key=value" each (kcat's -X), applied after the
	 * defaults, in order; may be NULL when nprops is 0 */
	const char *const *props;
	size_t nprops;
	size_t max_record_bytes; /* longer records: AF_REASON_OVERSIZE [1 MiB] */
	uint32_t max_inputs;     /* partitions this run can number [1024] */
	uint32_t max_pending;    /* messages handed on, not completed [65536] */
	uint32_t stash_messages; /* messages held back for a later batch [1024] */
	/* librdkafka's log lines (pipeline/kafka_conf.h, af_kafka_conf_log),
	 * client=consumer; borrowed, must outlive the source [af_log_default] */
	const struct af_log *log;
};

/* Counters since open, and the state now. */
struct af_kafka_src_stats {
	uint64_t messages;      /* messages handed on or skipped as empty */
	uint64_t records;       /* records handed on (failures included) */
	uint64_t bytes;         /* payload bytes of those messages */
	uint64_t empty;         /* messages with no record (tombstones ...) */
	uint64_t again;         /* messages read again after their partition
	                           came back, whose records this run had
	                           handed on already (not handed on twice) */
	uint64_t oversize;      /* records handed on as AF_REASON_OVERSIZE */
	uint64_t nul_bytes;     /* records handed on as AF_REASON_NUL_BYTES */
	uint64_t rebalances;    /* assignments and revocations taken */
	uint64_t commits;       /* offset commits the group accepted */
	uint64_t commit_errors; /* offset commits that failed (retried later
	                           by the periodic commit or the next
	                           revocation) */
	uint64_t paused;        /* times the partitions were paused */
	uint64_t rewinds;       /* messages given back to librdkafka by a seek
	                           (the stash was full during a pause) */
	uint64_t client_errors; /* errors librdkafka reported and works
	                           through: brokers down, timeouts, ... */
	uint32_t assigned;      /* partitions assigned now */
	uint32_t inputs;        /* partitions numbered so far */
	uint32_t pending;       /* messages handed on and not completed */
	uint32_t stashed;       /* messages waiting in the stash */
	bool is_paused;         /* the partitions are paused now */
	bool connected;         /* a broker answered since open and since the
	                           last "all brokers down" (see DESIGN: best
	                           effort, from what the consumer sees) */
	char last_error[256];   /* the latest client error, redacted; "" none */
};

struct af_kafka_src;

/* Check the options, build the librdkafka configuration (defaults, then
 * o->props), make the consumer and subscribe; *out gets the source. The
 * group is joined in the background: partitions come with later calls of
 * af_kafka_src_next.
 * Returns AF_OK; AF_E_CONFIG with errstr naming the option or -X key at
 * fault (no brokers or topics, an empty topic, a bad offset, a -X that is
 * not KEY=VALUE, an unknown key, a bad value, a refused override);
 * AF_E_NOMEM; AF_E_INTERNAL when librdkafka cannot make the consumer or
 * subscribe for another reason (errstr says why). *out is NULL on failure.
 * errstr never holds a secret.
 * Cost: allocates every table at once: max_inputs input slots, max_pending
 * pending slots (32 bytes each), stash_messages stash slots. */
af_err_t af_kafka_src_open(const struct af_kafka_src_opts *o, struct af_kafka_src **out,
                           char *errstr, size_t errstr_size);

/* Fill b with records of one partition, waiting up to timeout_ms (-1: no
 * limit) for the first message; once the batch holds a record it takes
 * only what is there already. b->input is set, b->last stays false (a
 * partition never ends).
 * Returns AF_OK with b->count >= 1; AF_E_AGAIN when nothing came in time,
 * or the source is paused (max_pending reached: complete some records);
 * AF_EOF with exit_at_end, see End above (b unused); AF_E_IO (fatal
 * client error, missing topic, failed rewind), AF_E_CONFIG (max_inputs
 * exceeded), AF_E_NOMEM or AF_E_INVALID (b smaller than max_record_bytes)
 * with errstr written: the run fails, and every later call answers the
 * same. Serves rebalances and errors (see DESIGN).
 * @pre b is empty (count 0, used 0) and its size is at least
 * max_record_bytes (af_rt_batch_add's contract).
 * Cost: a queue pop per message, a copy of each record; no allocation
 * per message. */
af_err_t af_kafka_src_next(struct af_kafka_src *s, struct af_rt_batch *b, int timeout_ms,
                           char *errstr, size_t errstr_size);

/* Every record of input with seq <= seq has been processed and its alerts
 * accepted: store the offset after the last message it wholly covers
 * (rd_kafka_offsets_store; committed by the periodic commit or at
 * revocation), and
 * resume the partitions once half of max_pending is free. seq not handed
 * on yet, or an input revoked since, is harmless. Unknown inputs are
 * ignored.
 * Cost: one allocation and librdkafka call when an offset moves. */
void af_kafka_src_complete(struct af_kafka_src *s, uint32_t input, uint64_t seq);

/* The runtime cannot take a batch now (back-pressure): call it again and
 * again while that lasts. The first 200 ms cost nothing; after that the
 * partitions are paused and each call serves the consumer (rebalances,
 * errors, max.poll.interval.ms) without taking any message out of reach:
 * the next af_kafka_src_next resumes. */
void af_kafka_src_hold(struct af_kafka_src *s);

/* "topic[partition]" of input; NULL when input is not numbered. Borrowed:
 * valid until close. */
const char *af_kafka_src_input_name(const struct af_kafka_src *s, uint32_t input);

/* Whether input is assigned, has reported its end since its last message,
 * and has no message waiting here: consumed up to its high watermark,
 * nothing newer yet. */
bool af_kafka_src_at_end(const struct af_kafka_src *s, uint32_t input);

/* A count that moves whenever a partition is assigned, revoked or reaches
 * its end: a caller watching af_kafka_src_assigned and af_kafka_src_at_end
 * needs to look again only when it has moved (or when nothing else has
 * come: a partition's end can also wait behind its stashed messages).
 * 0 before the first assignment. */
uint64_t af_kafka_src_changes(const struct af_kafka_src *s);

/* Whether input is assigned to this consumer now (false for an input
 * never numbered, or revoked since). */
bool af_kafka_src_assigned(const struct af_kafka_src *s, uint32_t input);

/* Whether input was assigned and is gone elsewhere: revoked while this
 * consumer holds another partition, or revoked and no partition assigned
 * to this consumer for 30 s since. A consumer that loses every partition
 * (its session timed out in an outage; an eager rebalance) mostly gets
 * them back; until then their records to come are awaited rather than
 * overtaken by the others'. */
bool af_kafka_src_released(const struct af_kafka_src *s, uint32_t input);

/* Consumer lag of input (see Lag above) into *lag. Returns AF_OK;
 * AF_E_AGAIN when not known yet (no fetch answer yet); AF_E_INVALID when
 * input is not assigned now. */
af_err_t af_kafka_src_lag(const struct af_kafka_src *s, uint32_t input, int64_t *lag);

/* Copy the counters and the state into *out. */
void af_kafka_src_stats(const struct af_kafka_src *s, struct af_kafka_src_stats *out);

/* ---- checkpoints (pipeline/snapshot.h) ---- */

struct af_snap_writer;
struct af_snap_view;

/* Write into the open section of w (borrowed) every partition numbered so
 * far, in input order: its topic and partition, and where this process
 * stands in it: after the last message cut whole, and within a message
 * cut in part (the cursor's, or one whose partition was taken away), the
 * records of it handed on. Call between batches (the runtime's src.save).
 * Cost: O(partitions). */
void af_kafka_src_save(const struct af_kafka_src *s, struct af_snap_writer *w);

/* Read back what af_kafka_src_save wrote, before the first
 * af_kafka_src_next: the partitions get the same input numbers, and the
 * first assignment of each in this process starts at its position (in
 * place of opts.offset and the group's committed offset), skipping the
 * records of a message cut in part that were handed on before. A
 * partition with no position starts as opts.offset says. Returns AF_OK;
 * AF_E_FORMAT when v does not hold what save writes; AF_E_CONFIG (errstr)
 * when it numbers more partitions than max_inputs. DESIGN: a checkpoint
 * speaks for the partitions this process held; another member of the
 * group that took one over meanwhile has read on from the committed
 * offset, and the resumed run reads those records again (at least once). */
af_err_t af_kafka_src_restore(struct af_kafka_src *s, struct af_snap_view *v, char *errstr,
                              size_t errstr_size);

/* Commit the resume points of the assigned partitions synchronously (see
 * Offsets), leave the group, drop what was not handed on and free s.
 * A commit that fails with an error a moment cures (a rebalance under way:
 * another member joining or leaving; the coordinator moving, loading or
 * timing out; a dropped connection) is tried again, the partitions paused
 * and the consumer served in between so that the rebalance completes,
 * for up to 30 s. The counters after that commit go to *last (NULL: not
 * wanted). NULL is a no-op. Returns AF_OK, or AF_E_IO with errstr
 * when the commit or the close failed (s is freed all the same: the
 * uncommitted records will be read again). */
af_err_t af_kafka_src_close(struct af_kafka_src *s, struct af_kafka_src_stats *last, char *errstr,
                            size_t errstr_size);

#endif
