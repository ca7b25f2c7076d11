/* runtime.h - the multi-threaded pipeline: one source thread, N core
 * threads (each a worker and a shard), one sink thread.
 *
 * Thread: af_runtime_new, _start, _wait and _free on one controlling thread
 * (the main thread); af_runtime_stop and the progress readers from any
 * thread; the source's fill callback on the source thread.
 * In: batches of framed records from a source (files now, Kafka later).
 * Out: alerts, dead letters and normalized events to the sinks given, and
 * the run's counts.
 *
 * DESIGN (DESIGN.md, "Threads"):
 *  - The source thread fills batches from a pool and numbers them; batch b
 *    goes to core b mod N. A batch holds records of one input only, each
 *    with its number within that input.
 *  - Core i parses and enriches its batches, then routes each event: the
 *    account part to the core that owns the account, the address part (if
 *    an address rule reads it) to the core that owns the address; one copy
 *    when both are the same core. Routing goes through an N x N mesh of SPSC
 *    rings (pipeline/runtime/ring.h). After a batch's last record, core i
 *    sends a marker to every core: the batch's number, input, largest
 *    event time and whether it ends its input.
 *  - Core j, as a shard, reads its inbound rings in batch order: all of
 *    batch b from core b mod N up to its marker, then batch b+1 from the
 *    next core. So a shard sees its events in input order whatever N is,
 *    and every shard sees every marker, hence the same per-input event-time
 *    frontiers. Its event-time merge (pipeline/merge.h) orders events by a
 *    key computed from the event and its input's frontier alone, so every
 *    account's (and address's) events reach the rules in the same order for
 *    any N and any batch size: the alert set is the same.
 *  - Each core is both worker and shard so that N threads use N cores: a
 *    core that cannot hand on its work (ring full, pool empty) keeps
 *    draining its inbound rings meanwhile, which is also what keeps the
 *    mesh free of deadlock (a shard only ever waits for an earlier batch
 *    than the ones filling the rings to it).
 *  - Alerts, dead-letter lines and event lines go from each core to the
 *    sink thread through one more SPSC ring per core; messages, events and
 *    batches come from pools made at start-up and go back to their owner
 *    through rings (pipeline/runtime/pool.h). Nothing on the per-record
 *    path allocates, locks or makes a system call.
 *  - Back-pressure: a full ring or an empty pool stops the producer, which
 *    waits with a backoff (spin, yield, three short sleeps, then asleep on
 *    a futex until the consumer wakes it) until the consumer catches up.
 *    Every bound is fixed at start-up.
 *  - Idle: a thread with nothing to do sleeps the same way, and whoever
 *    hands it work wakes it (rt_park in rt_impl.h): an idle pipeline wakes
 *    about 20 times a second a thread, for what nobody signals. A wake
 *    costs the waker a fence while the thread is awake, a system call when
 *    it sleeps: per batch or burst of events, never per record.
 *  - Stop (af_runtime_stop, e.g. on SIGINT): the source stops reading; the
 *    batches already read are processed, every shard flushes its merge, the
 *    sink writes everything out, and the threads end. With a state folder
 *    the shards keep their merges instead: the stop's checkpoint holds the
 *    events still buffered (the summary's "held"), and the resumed run lets
 *    them out where an uninterrupted run would, so its alerts are the same. A fatal error on any
 *    thread stops all of them at once (af_runtime_wait says which).
 */
#ifndef AF_RUNTIME_H
#define AF_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/config.h"
#include "pipeline/enrich/geo.h"
#include "pipeline/err.h"
#include "pipeline/snapshot.h"
#include "sinks/alert_out.h"
#include "sinks/dlq.h"
#include "sinks/events_ecs.h"
#include "sinks/summary.h"

/* Most core threads. */
#define AF_RT_THREADS_MAX 64

/* One record in a batch: its bytes are b->bytes[off, off + len). */
struct af_rt_rec {
	uint32_t off, len;
	uint32_t file;   /* af_runtime_path index of the file it came from */
	uint32_t reason; /* AF_REASON_NONE, or why framing rejected it (then
	                    the bytes are the excerpt kept for the dead letter) */
	uint64_t line;   /* 1-based line of its first byte; 0 unknown */
	uint64_t offset; /* byte offset of its first byte in the input */
	uint64_t seq;    /* its number within its input, from 0 */
};

/* A batch: records of one input, in input order. The source fills input,
 * last and the records (af_rt_batch_add); the runtime the rest. */
struct af_rt_batch {
	uint64_t number;     /* set by the runtime */
	double filled_at;    /* set by the runtime: when the source handed it on */
	uint32_t input;      /* which input the records are from */
	bool last;           /* no record of this input follows this batch */
	bool idle;           /* after these records (maybe none) the input is
	                        idle: it holds no event back until its next
	                        record (pipeline/merge.h, af_merge_idle) */
	uint64_t checkpoint; /* set by the runtime: 0, or the checkpoint
	                        taken after this batch */
	bool stop;           /* set by the runtime: the empty last batch of a
	                        stopped run, whose checkpoint keeps what the
	                        reorder buffers hold */
	uint32_t count;      /* records held */
	uint32_t cap;        /* record slots */
	size_t used;         /* bytes held */
	size_t size;         /* byte capacity: at least max_record_bytes, and
	                        AF_JSON_PADDING readable bytes beyond it (the
	                        parser's read-ahead past the last record) */
	struct af_rt_rec *rec;
	char *bytes;
};

/* Append a record (data borrowed, copied). Returns false, adding nothing,
 * when the batch has no slot or not len bytes left: hand the batch over
 * and add the record to the next one. A record of up to max_record_bytes
 * always fits in an empty batch. rec's off and len are set here. */
bool af_rt_batch_add(struct af_rt_batch *b, const char *data, size_t len,
                     const struct af_rt_rec *rec);

struct af_runtime;

/* Where batches come from. Thread: every callback runs on the source
 * thread only. */
struct af_rt_source {
	void *ctx;
	uint32_t ninputs; /* inputs the records can name, 0..ninputs-1 */
	/* Every input starts idle (b->idle) rather than unknown: inputs that
	 * come and go (Kafka partitions), most never seen. Files: false, so
	 * that no event leaves before every input has said where it is. */
	bool inputs_start_idle;
	/* Fill b (empty) with the next records and set b->input, b->last and
	 * b->idle. Returns AF_OK (b may hold no records only when b->last or
	 * b->idle is set), AF_E_AGAIN when nothing came for now (b unused;
	 * fill is called again unless the run is stopping), AF_EOF when every
	 * input has ended (b unused), or another error with errstr written
	 * (the run fails). af_runtime_frontier tells which input is furthest
	 * behind. */
	af_err_t (*fill)(void *ctx, struct af_runtime *rt, struct af_rt_batch *b, char *errstr,
	                 size_t errstr_size);
	/* Optional (NULL: records are forgotten once read). Every record of
	 * input with seq <= seq is done: applied by its shards, and whatever
	 * it raised (alerts, dead letters, event lines) accepted by the
	 * outputs. Called in batch order; a Kafka source stores offsets here.
	 * With complete set, the runtime keeps at most AF_RT_TRACK batches
	 * read and not done, and waits (calling hold) for the rest. */
	void (*complete)(void *ctx, uint32_t input, uint64_t seq);
	/* Optional: called about every 10 ms while the source waits for the
	 * pipeline (back-pressure): a Kafka source pauses its partitions and
	 * keeps its consumer served. */
	void (*hold)(void *ctx);
	/* Checkpoints (cfg->state.dir): save writes, into the open section of
	 * w, where the source stands after every record it has put in the
	 * batches handed on so far (a record held back for the next batch is
	 * not among them); restore reads that back from v before the run
	 * starts, to go on from there (the main thread), reading v to its
	 * end: AF_OK, or AF_E_CONFIG / AF_E_FORMAT with errstr when the
	 * inputs are not those the checkpoint was taken of. Both needed for
	 * checkpoints. */
	void (*save)(void *ctx, struct af_snap_writer *w);
	af_err_t (*restore)(void *ctx, struct af_snap_view *v, char *errstr, size_t errstr_size);
	/* With checkpoints: fill's AF_EOF is a stop, not the end of the
	 * inputs (a Kafka topic at its end for now, -e): the reorder buffers
	 * are kept in the stop's checkpoint for the next run to go on with. */
	bool end_is_stop;
};

/* Batches read and not yet done, at most, when the source tracks
 * completion; an event held back longer than that (a record far ahead in
 * event time) is let out early, counted as a forced release. */
#define AF_RT_TRACK 4096u

/* Records read and not yet done, at most, for a source that tracks
 * completion under cfg: AF_RT_TRACK full batches. A source with a bound of
 * its own on what it has handed on (Kafka's pending messages) must allow
 * at least this, or it would stop reading while the reorder buffers wait
 * for the records it holds back. */
uint64_t af_runtime_tracked_max(const struct af_config *cfg);

/* Outputs that deliver later (Kafka, HTTP, syslog): every alert, chunk of
 * dead-letter lines and chunk of event lines goes to them with a token,
 * numbered from 0 in the order handed over. Thread: the sink thread.
 * With an outlet, the runtime writes nothing to sinks.alerts/events (the
 * outlet does whatever is wanted with them); dead letters go to the
 * outlet only as well. */
enum af_rt_lines { AF_RT_LINES_DLQ, AF_RT_LINES_EVENTS };
struct af_rt_outlet {
	void *ctx;
	/* Take a (borrowed, copied if kept) alert or text of whole lines.
	 * AF_E_AGAIN: full, nothing taken (the runtime polls and offers it
	 * again); another error ends the run (errstr). */
	af_err_t (*alert)(void *ctx, uint64_t token, const struct af_alert *a, char *errstr,
	                  size_t errstr_size);
	af_err_t (*lines)(void *ctx, uint64_t token, enum af_rt_lines kind, const char *text,
	                  size_t len, char *errstr, size_t errstr_size);
	/* Serve deliveries, waiting at most timeout_ms; return how many
	 * tokens from 0 on are settled without a gap (delivered, or given to
	 * the dead-letter output when they never can be). */
	uint64_t (*settled)(void *ctx, int timeout_ms);
	/* Whether it takes event lines (an events file, topic or HTTP
	 * output): the cores format events only when someone takes them. */
	bool events;
};

/* Where results go; all borrowed, used by the sink thread only between
 * af_runtime_start and af_runtime_wait. dlq is required (it may only
 * count); events may be NULL. The shards count alerts by rule into
 * af_runtime_wait's summary (so a checkpoint holds the counts), so alerts
 * must be opened without counts. */
struct af_alert_report;

struct af_rt_sinks {
	struct af_alert_out *alerts;
	struct af_dlq *dlq;
	struct af_ecs_out *events;
	const struct af_rt_outlet *outlet; /* NULL: none (see above) */
	/* Each alert handed on is also counted here by the sink thread; NULL:
	 * none. Read it only after af_runtime_wait. */
	struct af_alert_report *report;
};

/* A runtime for cfg (borrowed; must outlive it: threads, batch size,
 * bounds, rules, pacing), reading from *src and writing to *sinks (both
 * copied; what they point to is borrowed), enriching with hub (borrowed;
 * NULL: no enrichment), into *out.
 * Returns AF_OK, AF_E_CONFIG (rules; errstr says which), or AF_E_NOMEM.
 * Cost: every pool, ring and table, made here. */
af_err_t af_runtime_new(const struct af_config *cfg, const struct af_rt_source *src,
                        const struct af_rt_sinks *sinks, struct af_geo_hub *hub,
                        struct af_runtime **out, char *errstr, size_t errstr_size);

/* Core threads the runtime runs (the -j value after "0 = online CPUs"). */
uint32_t af_runtime_threads(const struct af_runtime *rt);

/* Start the threads. Block the signals the caller wants to handle before
 * calling: the threads inherit the mask. Returns AF_E_IO (errstr) when a
 * thread cannot be started; the ones started are stopped and joined. */
af_err_t af_runtime_start(struct af_runtime *rt, char *errstr, size_t errstr_size);

/* Ask for a graceful stop: read no more, finish what was read. Thread: any;
 * async-signal-safe (one atomic store). */
void af_runtime_stop(struct af_runtime *rt);

/* Whether every thread has finished (af_runtime_wait will not block).
 * Thread: any. */
bool af_runtime_done(const struct af_runtime *rt);

/* Join the threads and add the run's counts into *sum (alerts excepted:
 * see struct af_rt_sinks). Returns AF_OK, or the first fatal error with
 * its message in errstr (the threads were stopped at once). */
af_err_t af_runtime_wait(struct af_runtime *rt, struct af_summary *sum, char *errstr,
                         size_t errstr_size);

/* Checkpoints. With cfg->state.dir set, the runtime writes a checkpoint
 * every cfg->state.checkpoint_interval (0: none on the way) and one at a
 * graceful stop: the source's positions, every shard's state, and last a
 * manifest, DIR/checkpoint, that makes them valid. A checkpoint is valid
 * only once the outputs have accepted every alert, dead letter and event
 * raised from the state it holds; what was raised after it may be raised
 * again by a run resumed from it (with the same ids). Files in DIR:
 * "checkpoint", "source.ID.snap", "core-I.ID.snap" (pipeline/snapshot.h
 * format each). A failure to write one is fatal to the run.
 *
 * Load the checkpoint of cfg->state.dir, if any, into rt: the shards'
 * state, the file table, the numbering, and the source's positions
 * (through src.restore). Returns AF_OK with *id set; AF_EOF when the
 * folder holds no checkpoint; AF_E_CONFIG when it was taken by a run of
 * another shape (threads, inputs); AF_E_FORMAT when a file of it is
 * damaged, truncated or of another build; AF_E_IO when one cannot be
 * read. errstr names the file and the fault. With completion tracking
 * (src.complete), the restored events count against their batches: the
 * batches from the checkpoint on are done, and completed, only once the
 * events held before them have left. @pre not started. Thread: the
 * controlling thread. */
af_err_t af_runtime_restore(struct af_runtime *rt, uint64_t *id, char *errstr, size_t errstr_size);

/* Remove every checkpoint file from dir (borrowed): the manifest first, so
 * no half-removed checkpoint is ever taken for one. A folder that does not
 * exist holds none. Returns AF_OK or AF_E_IO (errstr). */
af_err_t af_runtime_checkpoint_remove(const char *dir, char *errstr, size_t errstr_size);

/* Checkpoints this run completed, and how long the last one and the
 * longest one took from the moment the source started it to its manifest
 * (seconds; either may be NULL). Thread: any. */
uint64_t af_runtime_checkpoints(const struct af_runtime *rt, double *last_s, double *max_s);

/* Back-pressure, stage by stage: seconds each stage has spent blocked by
 * the next one so far, and how full the rings between them are now (0 to
 * 1; a snapshot). */
struct af_rt_pressure {
	double source_s;     /* no free batch, a full ring to a core, or the
	                        completion allowance used up (the outputs behind) */
	double worker_s;     /* summed over the cores: a batch in hand, and the mesh
	                        full or every item downstream */
	double shard_s;      /* summed over the cores: no free message to the sink */
	double batches_fill; /* source -> cores */
	double mesh_fill;    /* workers -> shards */
	double sink_fill;    /* shards -> sink */
};
/* Thread: any. */
void af_runtime_pressure(const struct af_runtime *rt, struct af_rt_pressure *out);

/* The geo hub's reload counts; false when the run enriches with none.
 * Thread: any. */
bool af_runtime_geo_hub_stats(const struct af_runtime *rt, struct af_geo_hub_stats *out);

/* Whether the source read every input to its end (it said AF_EOF), as
 * opposed to a stop or a failure. @pre after af_runtime_wait. */
bool af_runtime_ended(const struct af_runtime *rt);

/* Free the runtime; NULL is ignored. @pre not started, or waited for. */
void af_runtime_free(struct af_runtime *rt);

/* Records read, records dead-lettered and alerts raised so far, for a
 * progress line. Thread: any; approximate while the run goes (published
 * per batch and per alert; a restored run's alerts count from its
 * checkpoint's). */
void af_runtime_progress(const struct af_runtime *rt, uint64_t *records, uint64_t *invalid,
                         uint64_t *alerts);

/* The latency from an alert's event time to its hand-over to the outputs
 * (wall clock), for metrics: counts per bucket, each bucket's upper bound
 * in af_rt_latency_bounds (seconds), the last bucket unbounded. A replay
 * of old logs lands in the last bucket; a stream shows how far behind its
 * alerts come. */
#define AF_RT_LATENCY_BUCKETS 12
extern const double af_rt_latency_bounds[AF_RT_LATENCY_BUCKETS - 1];
struct af_rt_latency {
	uint64_t count[AF_RT_LATENCY_BUCKETS]; /* per bucket, not cumulative */
	uint64_t n;                            /* alerts measured */
	double sum_s;                          /* of their latencies (0 when ahead) */
};

/* The alerts' latencies so far. Thread: any; takes the runtime's metrics
 * mutex (the sink thread counts under it, once an alert). */
void af_runtime_alert_latency(const struct af_runtime *rt, struct af_rt_latency *out);

/* The run's counts so far, as af_runtime_wait gives them at the end, for
 * metrics: each core's as it published them last (at a batch boundary,
 * every quarter second), events_in as the source counted them. A stopped
 * run's held events are not in events_ok yet, and events read since the
 * cores last published are only in events_in.
 * Thread: any; takes each core's metrics mutex in turn. */
void af_runtime_stats(const struct af_runtime *rt, struct af_summary *out);

/* The largest event time the workers have seen in input so far
 * (INT64_MIN before any): the source reads next from the input furthest
 * behind, so the inputs advance together and the shards' reorder buffers
 * stay small. Thread: any. */
int64_t af_runtime_frontier(const struct af_runtime *rt, uint32_t input);

/* The index of path in the run's file table, adding it when new (records
 * name their file by it). New means a pointer other than the last one
 * passed: a reader passes the same pointer, unchanged, for every record of
 * a file. Returns UINT32_MAX when the table is full or out of memory. path
 * borrowed (copied). Thread: the source thread only. */
uint32_t af_runtime_path_index(struct af_runtime *rt, const char *path);
/* Add path to the file table whatever was passed before (a name built in
 * a reused buffer) and return its index, or UINT32_MAX as above. */
uint32_t af_runtime_path_add(struct af_runtime *rt, const char *path);

/* The path of a file index seen in a record. Thread: any thread that got
 * the index through the pipeline (or after af_runtime_wait). */
const char *af_runtime_path(const struct af_runtime *rt, uint32_t index);

/* The enrich stage's counters summed over the cores (as each core last
 * published them: every quarter second while it works; thread: any), and
 * the reorder buffers' forced releases (events let out before their turn
 * because a buffer was full, or, with completion tracking, because an
 * event was held longer than AF_RT_TRACK batches: the only cases in which
 * order depends on timing; @pre after af_runtime_wait). */
void af_runtime_geo_stats(const struct af_runtime *rt, struct af_geo_reader_stats *out);
uint64_t af_runtime_reorder_forced(const struct af_runtime *rt);

/* Batches done (see af_rt_source.complete), counted from the first
 * without a gap; 0 when the source does not track completion.
 * Thread: any. */
uint64_t af_runtime_batches_done(const struct af_runtime *rt);

/* Batch latency: from the moment the source hands a batch on to the
 * moment its worker has routed its last event and sent its markers
 * (queueing, parse, enrich, route), as quantiles in seconds over every
 * batch of the run (q in [0, 1], e.g. 0.5 and 0.99); 0 when no batch
 * ran. Resolution: sixteen buckets per power of two (4 %).
 * @pre after af_runtime_wait. */
double af_runtime_batch_latency(const struct af_runtime *rt, double q);

#endif
