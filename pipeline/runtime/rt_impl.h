/* rt_impl.h - the runtime's insides, shared by runtime.c (set-up, source,
 * sink, control) and rt_core.c (the core threads). Not a public header.
 *
 * Thread: see each structure; everything here is made before the threads
 * start and freed after they are joined.
 */
#ifndef AF_RT_IMPL_H
#define AF_RT_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pipeline/clock.h"
#include "pipeline/dedup.h"
#include "pipeline/event.h"
#include "pipeline/merge.h"
#include "pipeline/parse/parse.h"
#include "pipeline/reason.h"
#include "pipeline/runtime/pool.h"
#include "pipeline/runtime/ring.h"
#include "pipeline/runtime/runtime.h"
#include "pipeline/shard.h"
#include "pipeline/state/keyset.h"
#include "sinks/jsonw.h"

/* Slots of each mesh ring. 1024 pointers: at a few hundred nanoseconds an
 * event, a quarter of a millisecond of work queued between two cores,
 * enough to ride out one being descheduled briefly. */
#define RT_MESH_SLOTS 1024u
/* Items a worker gathers per destination before one burst push, and a
 * shard pops per burst. */
#define RT_STAGE 32u
#define RT_LOOK  64u
/* Batches per core in the source's pool: one being parsed, two queued. */
#define RT_BATCHES_PER_CORE 3u
/* Messages to the sink per core (alerts and text chunks). */
#define RT_MSGS 32u
/* Bytes of text a message carries (dead-letter and event lines). */
#define RT_TEXT_MIN (64u * 1024u)
/* Events the reorder buffers may hold in all, shared among the shards. */
#define RT_MERGE_MAX (256u * 1024u)
#define RT_MERGE_MIN 4096u
/* Files in the run's table: chunks of 1024 paths. */
#define RT_PATH_CHUNK  1024u
#define RT_PATH_CHUNKS 1024u

/* Batch latency histogram: bucket k holds latencies in
 * [2^(k/RT_LAT_STEPS), 2^((k+1)/RT_LAT_STEPS)) nanoseconds. */
#define RT_LAT_STEPS   16u
#define RT_LAT_BUCKETS (40u * RT_LAT_STEPS)

/* Where a thread sleeps when it has had nothing to do for a while, until
 * a thread that hands it something wakes it (af_rt_unpark) or a timeout
 * passes. One owner parks on it; any thread may wake it.
 *
 * DESIGN: an event count on a futex. The owner announces that it is about
 * to park (waiting = 1), then, after a full fence, reads seq and looks for
 * work once more: that look is the caller's next try (see rt_backoff). A
 * waker publishes its work (a ring push, an object given back), then,
 * after a full fence, reads waiting and, when set, bumps seq and wakes the
 * futex. The two fences order the announcement against the publication:
 * either the owner's last look sees the work, or the waker sees waiting
 * and bumps seq, and the futex wait then returns at once or is woken. So a
 * wake-up is never lost, and a waker pays a fence and a load while the
 * owner is busy. The timeout is for what no one signals (the clock:
 * metrics publication, a Kafka source's hold). */
struct rt_park {
	_Atomic uint32_t seq;     /* the futex word */
	_Atomic uint32_t waiting; /* the owner is parked or about to be */
};

/* Wake park's owner if it is parked or about to park. Any thread, after
 * publishing what the owner waits for. Cost: a fence and a load; a futex
 * wake only when the owner is parked. */
void af_rt_unpark(struct rt_park *park);

/* A waiting loop's state: spin, then yield, then sleep a few short steps;
 * then, with a park, arm it (announce, and return at once: the caller's
 * next try is the last look) and, at the next call, sleep on it until
 * woken or park_s have passed. Without a park, sleep a little longer each
 * time, up to a millisecond. The loop calls af_rt_backoff after each try
 * that found nothing to do and af_rt_backoff_reset after each that did. */
struct rt_backoff {
	unsigned n;
	struct rt_park *park; /* NULL: never park */
	double park_s;        /* the longest sleep on the park */
	uint32_t key;         /* seq read when armed */
	bool armed;
};
void af_rt_backoff(struct rt_backoff *b);
void af_rt_backoff_reset(struct rt_backoff *b);

/* What travels the mesh: an event copy or a batch's marker. */
enum { RT_ITEM_EVENT, RT_ITEM_MARKER };

struct rt_item {
	uint32_t type;
	uint32_t input;      /* marker: the batch's input */
	bool last;           /* marker: the batch ends its input */
	bool idle;           /* marker: the input is idle after the batch */
	bool active;         /* marker: the batch held records (the input is
	                        awake again in every shard from here) */
	uint64_t batch;      /* marker: the batch's number */
	int64_t frontier;    /* event: largest event time in its batch up to and
	                        including it; marker: in the whole batch */
	bool counts;         /* marker: to the shard of the worker that cut the
	                        batch, carrying invalid[] */
	uint64_t checkpoint; /* marker: 0, or the checkpoint each shard writes
	                        its part of once it has read this marker */
	bool stop;           /* marker: of a stopped run's last batch */
	union {
		struct af_event ev; /* event only; ev.flags carries AF_EV_PART_* */
		/* Marker with counts: the batch's records dead-lettered, by
		 * reason. Counted by the shard as it reads the marker, so a
		 * shard's counts cover exactly the batches it has read (what a
		 * checkpoint at a batch boundary needs), however far ahead its
		 * worker is. */
		uint32_t invalid[AF_REASON_COUNT];
	};
};

/* What travels to the sink. RT_MSG_DONE: a shard has applied every event
 * of the batches before `done`, and sent what they raised before this
 * message (completion tracking only). RT_MSG_CHECKPOINT: a shard has
 * written its part of checkpoint `done`, and sent before this message
 * everything it raised from the state the part holds. */
enum { RT_MSG_ALERT, RT_MSG_DLQ, RT_MSG_EVENTS, RT_MSG_DONE, RT_MSG_CHECKPOINT };

struct rt_msg {
	uint32_t type;
	uint32_t len;  /* text bytes */
	uint64_t done; /* RT_MSG_DONE: batches; RT_MSG_CHECKPOINT: its id */
	struct af_alert alert;
	char text[]; /* text chunk of whole lines */
};

/* A text chunk being filled: lines are formatted into line[] and copied
 * into the message when whole, so a line never straddles two messages. */
struct rt_text {
	struct rt_msg *msg; /* NULL: none started */
	uint32_t type;
	char *line;
	size_t line_size;
};

/* One core thread: a worker (parse, enrich, route) and a shard. */
struct rt_core {
	struct af_runtime *rt;
	uint32_t id;
	pthread_t thread;
	bool started;

	/* Worker side. */
	struct af_parser *parser;
	struct af_geo_reader *geo;
	unsigned addr_kinds;        /* event kinds an address rule reads */
	struct af_pool *items;      /* rt_items; lane j: returned by core j */
	struct af_ring *in_batches; /* from the source */
	struct af_rt_batch *batch;  /* being worked on, or NULL */
	uint32_t rec_i;             /* next record of it */
	int64_t batch_max;          /* largest event time in it so far */
	uint32_t marker_next;       /* markers sent for it so far */
	struct rt_item *pend[2];    /* routed items waiting for stage room */
	uint32_t pend_dst[2];
	uint32_t npend;
	struct rt_item *copy_of; /* an item whose address copy awaits an item */
	uint32_t copy_dst;
	void **stage;     /* [N][RT_STAGE] */
	uint32_t *nstage; /* [N] */
	bool out_closed;
	struct rt_text dlq;
	uint32_t batch_invalid[AF_REASON_COUNT]; /* this batch's dead letters so far */
	uint64_t records_done;

	/* Shard side. */
	struct af_config cfg; /* the run's, with this shard's share of the caps */
	struct af_shard *shard;
	struct af_merge *merge;
	struct af_dedup *dedup;
	struct af_keyset accounts;
	uint64_t expected; /* next batch number to read */
	struct rt_look {
		void *item[RT_LOOK];
		uint32_t at, n;
	} * look;         /* [N]: popped from mesh[j][id], not yet read */
	void **ret;       /* [N][RT_STAGE]: items to give back to core j */
	uint32_t *nret;   /* [N] */
	bool *input_done; /* [ninputs] */
	bool shard_done;
	bool stopped; /* read the marker of a stopped run's last batch */
	/* Completion tracking (the source's complete set; else NULL): events
	 * of batch b waiting in the merge, at track[b % AF_RT_TRACK]; every
	 * batch before track_base is done here; done_sent: the last
	 * track_base told to the sink. */
	uint32_t *track;
	uint64_t track_base, done_sent;
	struct rt_text events;

	/* To the sink. */
	struct af_pool *msgs; /* one lane: the sink */
	struct af_ring *to_sink;

	uint64_t latency[RT_LAT_BUCKETS];   /* batches by latency */
	struct af_summary sum;              /* this core's counts */
	struct af_geo_reader_stats pub_geo; /* under pub_mu, like pub_sum */
	_Atomic uint64_t pub_invalid;       /* published for progress */
	_Atomic uint64_t pub_alerts;        /* likewise: alerts this shard raised */
	/* The counts for metrics: a copy of sum, taken at a batch boundary
	 * at most every RT_PUB_S (and at the end), under pub_mu. */
	pthread_mutex_t pub_mu;
	struct af_summary pub_sum;
	double pub_at;
	bool pub_stale; /* sum has moved since the last copy */
	/* Time blocked downstream, in ns, for metrics (this core's thread
	 * adds, anyone reads): the worker with a batch in hand and no room in
	 * the mesh or no free item; the shard waiting for a free message to
	 * the sink. */
	_Atomic uint64_t blocked_worker_ns, blocked_shard_ns;
	char errstr[256];
	/* Where this core's thread sleeps when idle: woken by the source (a
	 * batch), the other cores (mesh items, items given back, room in the
	 * mesh) and the sink (messages given back). Apart from the hot fields
	 * above, which other threads' wakes would otherwise pull away. */
	char park_pad[64];
	struct rt_park park;
	char park_pad2[64];
};

struct af_runtime {
	const struct af_config *cfg;
	struct af_rt_source src;
	struct af_rt_sinks sinks;
	bool events_wanted; /* an events file, or an outlet that takes events */
	struct af_geo_hub *hub;
	uint32_t n;
	struct rt_core *cores;
	struct af_ring **mesh;   /* [from * n + to] */
	struct af_pool *batches; /* owner: the source; lane i: core i */
	size_t text_size;        /* bytes of a message's text */

	pthread_t source_thread, sink_thread;
	bool source_started, sink_started;
	atomic_bool stop;       /* graceful: read no more */
	atomic_bool abort;      /* fatal: everyone out now */
	atomic_int fatal;       /* 0 none; else 1 + the thread that failed first */
	atomic_uint running;    /* threads not yet finished */
	atomic_bool sink_ended; /* the sink confirms nothing more */
	char source_err[512];
	char sink_err[512];
	bool sink_io_failed;
	pthread_mutex_t lat_mu;   /* metrics: guards lat */
	struct af_rt_latency lat; /* counted by the sink thread */
	bool outlet_failed; /* the outlet refused for good: deliver and confirm nothing more */

	_Atomic int64_t pace_first_ts; /* --speed: the first event's time */
	double pace_start;             /* --speed: when the run started */

	/* Completion tracking: the sink publishes how many batches from 0 on
	 * are done; the source remembers each batch's input and last record
	 * (track_seq[b % AF_RT_TRACK], UINT64_MAX: none) to tell its source. */
	_Atomic uint64_t done_batches;
	uint32_t *track_input;
	uint64_t *track_seq;
	/* The sink's side: per core, DONE messages waiting for the outlet to
	 * settle the tokens handed over before them. */
	struct rt_done_fifo {
		uint64_t done[16], token[16];
		uint32_t head, len;
		uint64_t confirmed;
	} * done_fifo;

	_Atomic uint64_t pub_records; /* published by the source */
	uint64_t records;
	uint64_t next_batch; /* the source's next batch number */
	bool source_ended;   /* the source said AF_EOF: every input was read */

	/* Checkpoints (rt_ckpt.c), with cfg->state.dir set. The source starts
	 * checkpoint `ckpt_id` at batch number ckpt_batch (writing its own
	 * part) and sets ckpt_busy; each shard writes its part on reading the
	 * marker before that batch and tells the sink; the sink, once every
	 * shard has and the outputs hold what they raised before, writes the
	 * manifest and clears ckpt_busy. One checkpoint at a time. */
	const char *ckpt_dir;
	uint64_t ckpt_layout;
	uint64_t ckpt_id;    /* the last started (the source's) */
	uint64_t ckpt_batch; /* its first batch not reflected */
	atomic_bool ckpt_busy;
	uint32_t ckpt_parts;        /* the sink's count of parts written */
	uint64_t ckpt_token;        /* tokens handed to the outlet before the last part */
	_Atomic uint64_t ckpt_done; /* checkpoints completed (manifest written) */
	double ckpt_started;        /* when the source started the one in flight */
	/* From start to manifest, in ns: the last and the longest. Written
	 * by the sink thread, read by metrics (relaxed: figures, not flags). */
	_Atomic uint64_t ckpt_last_ns, ckpt_max_ns;
	/* The source's time waiting for the pipeline (no free batch, a full
	 * ring, the completion allowance used up), in ns. Source thread;
	 * read by metrics. */
	_Atomic uint64_t blocked_ns;
	_Atomic int64_t *frontier; /* [ninputs] */

	/* Where the source and the sink sleep when they wait (rt_park). The
	 * source: woken by cores that give a batch back or take one from
	 * their ring, by the sink (completions, a checkpoint done) and by a
	 * stop. The sink: woken by cores that send it a message or close
	 * their ring. */
	char park_pad[64];
	struct rt_park source_park;
	char park_pad2[64];
	struct rt_park sink_park;
	char park_pad3[64];

	char **path_chunk[RT_PATH_CHUNKS];
	uint32_t npaths;
	const char *last_path; /* the source's last lookup */
	uint32_t last_index;
};

/* Thread numbers for af_rt_fail: the cores are 2 + their id. */
enum { RT_WHO_SOURCE = 0, RT_WHO_SINK = 1 };

/* Add the time since t0 (af_clock_s) to *ns: the blocked-time counters of
 * metrics, kept by one thread and read by any (relaxed: a figure). */
static inline void af_rt_add_since(_Atomic uint64_t *ns, double t0)
{
	atomic_fetch_add_explicit(ns, (uint64_t)((af_clock_s() - t0) * 1e9), memory_order_relaxed);
}

/* How long a thread sleeps on its park at most: what nobody signals
 * (metrics publication of an idle shard) waits at most this long. */
#define RT_PARK_S 0.05

/* Wake every thread that may be parked (an abort). */
void af_rt_wake_all(struct af_runtime *rt);

/* Record a fatal error from thread `who` (first one wins) and stop
 * everyone. */
void af_rt_fail(struct af_runtime *rt, int who, const char *msg);

/* The core thread's body. */
void *af_rt_core_main(void *arg);

/* Checkpoints (rt_ckpt.c). Source thread: write the source's part of
 * checkpoint rt->ckpt_id (positions after the batches handed on so far).
 * A core thread: write core c's part. The sink thread: take a shard's
 * RT_MSG_CHECKPOINT, and write the manifest once it may (settled: outlet
 * tokens settled so far). Each returns false after af_rt_fail. Prepare:
 * make the folder if need be and check it can be written (AF_E_CONFIG). */
af_err_t af_rt_ckpt_prepare(struct af_runtime *rt, char *errstr, size_t errstr_size);
bool af_rt_ckpt_source(struct af_runtime *rt);
bool af_rt_ckpt_core(struct rt_core *c, uint64_t id);
void af_rt_ckpt_part_done(struct af_runtime *rt, uint64_t id, uint64_t tokens);
void af_rt_ckpt_sink(struct af_runtime *rt, uint64_t settled);

/* Core set-up and tear-down (rt_core.c). */
af_err_t af_rt_core_init(struct rt_core *c, struct af_runtime *rt, uint32_t id, char *errstr,
                         size_t errstr_size);
void af_rt_core_fini(struct rt_core *c);

#endif
