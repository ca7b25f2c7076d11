/* kafka_impl.h - the Kafka source's state, shared by its files; internal.
 *
 * Thread: the source thread; an af_kafka_src is not shared.
 * In/out: struct af_kafka_src and the functions its files call on each
 * other; nothing here is for modules outside ingest/kafka*.c, which use
 * ingest/kafka.h.
 *
 * Files: kafka.c (open, close, getters, configuration), kafka_fill.c
 * (batches, the stash, pending messages, completion, hold), kafka_group.c
 * (rebalances, commits, pause, client events), kafka_split.c (one
 * payload into records), kafka_ckpt.c (checkpoints).
 *
 * DESIGN: pending messages. A message handed on and not completed is an
 * entry of one pool of max_pending entries made at open; each input
 * chains its entries in a FIFO (head, tail, next), so completing is
 * popping from the head and nothing is allocated per message. An entry
 * knows the seq of its last record and whether all of its records are
 * handed on (done): a message cut across batches stays at the head until
 * its last record is completed.
 */
#ifndef AF_INGEST_KAFKA_IMPL_H
#define AF_INGEST_KAFKA_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "ingest/kafka.h"

#define KSRC_NONE    UINT32_MAX
#define KSRC_EXCERPT 4096u /* bytes kept of a failed record */
#define KSRC_HOLD_S  0.2   /* a hold pauses after this long */
#define KSRC_WAIT_MS 10000 /* offsets_for_times, seeks, a revocation's commit: a bound */
/* The commit at close, tries and waits together: the Java consumer's
 * close() default, long enough for the coordinator to move or come back. */
#define KSRC_CLOSE_MS 30000
#define KSRC_RETRY_MS 100  /* between tries of the last commit */
#define KSRC_REJOIN_S 30.0 /* none assigned: revoked ones are gone after */
/* Periodic commits in flight at most: librdkafka holds each while the
 * coordinator is away; past this many the next waits for an answer. */
#define KSRC_COMMITS_MAX 8
#define KSRC_ERRSTR      512

/* ---- one payload into records (kafka_split.c) ---- */

enum af_kafka_split_state { KSPLIT_TOP, KSPLIT_ARRAY, KSPLIT_TAIL, KSPLIT_DONE };
enum af_kafka_split_mode { KSPLIT_UNDECIDED, KSPLIT_LINES, KSPLIT_BRACKETS };

/* A cursor into one payload. Plain data: copy it to remember a place. */
struct af_kafka_split {
	const char *p; /* borrowed: the payload */
	size_t len, pos;
	uint64_t index; /* records cut so far */
	uint8_t state;  /* enum af_kafka_split_state */
	uint8_t mode;   /* enum af_kafka_split_mode */
	bool envelope;  /* the array being read is an envelope's */
	bool probe;     /* undecided: the first value ended on its line */
};

/* Start cutting p[0..len) (borrowed; must outlive the cursor). */
void af_kafka_split_init(struct af_kafka_split *sp, const char *p, size_t len);

/* The next record: true with [*start, *start + *len) of the payload
 * (never empty), false at the end. Cost: one pass over the bytes. */
bool af_kafka_split_next(struct af_kafka_split *sp, size_t *start, size_t *len);

/* ---- state ---- */

enum af_kafka_start {
	KSTART_STORED,
	KSTART_BEGINNING,
	KSTART_END,
	KSTART_ABS,
	KSTART_TAIL,
	KSTART_TIME
};

/* A message handed on and not completed: an entry of the pending pool. */
struct af_kafka_pend {
	int64_t first;     /* its offset */
	int64_t last;      /* the offset of the last message it stands for
	                      (empty messages after it join it) */
	uint64_t last_seq; /* seq of its last record handed on */
	uint32_t next;     /* next entry of its input's FIFO or of the free list */
	bool done;         /* every record of it handed on */
};

/* A partition, from its first assignment on. */
struct af_kafka_input {
	char *topic; /* owned */
	char *name;  /* "topic[partition]", owned */
	int32_t partition;
	bool assigned; /* now */
	bool started;  /* assigned once: opts.offset no longer applies */
	bool eof;      /* partition EOF seen since its last message */
	uint64_t next_seq;
	uint64_t done_to;  /* records of seq < done_to are complete */
	int64_t stored;    /* offset last stored in this assignment; -1 none */
	int64_t committed; /* offset last committed in this assignment; -1 none */
	/* The offset after the last message cut whole in this assignment: -1
	 * until one is, then equal to seen below. Not folded into seen, since
	 * lag needs the difference: until a message is cut in a new
	 * assignment, seen says where this process left off, not where the
	 * group resumed (another member may have read further since), so lag
	 * takes the consumer's position instead (kafka.h, "Lag"). */
	int64_t handed;
	/* What this process has handed on, across assignments: the offset
	 * after the last message cut whole (-1 none), and a message cut in
	 * part when its partition was taken away (-1 none) with its records
	 * handed on. */
	int64_t seen;
	int64_t part;
	uint64_t part_records;
	int64_t rewound; /* offset a seek gave back, until it comes again; -1 */
	/* Restored from a checkpoint (kafka_ckpt.c): the offset the first
	 * assignment starts at, in place of opts.offset; -1 none. */
	int64_t resume;
	/* Taken away as lost while the commit at close was under way (a
	 * refused commit makes librdkafka drop the assignment): its resume
	 * point then, to commit once the group hands it back; -1 none. */
	int64_t lost_at;
	uint32_t head, tail; /* pending FIFO; KSRC_NONE when empty */
	uint32_t stashed;    /* its messages in the stash */
};

/* A message held back: a slot of the stash ring (msg NULL: taken). */
struct af_kafka_held {
	rd_kafka_message_t *msg;
	uint32_t input;
};

/* The message being cut into the batches. */
struct af_kafka_cursor {
	rd_kafka_message_t *msg; /* owned; NULL: none */
	uint32_t input;
	uint32_t pend; /* its pending entry; KSRC_NONE before its first record */
	bool again;    /* cut in part before (resume_part) */
	struct af_kafka_split sp;
};

struct af_kafka_src {
	rd_kafka_t *rk;
	bool exit_at_end;
	size_t max_record;
	enum af_kafka_start start;
	int64_t start_value; /* N, -N's N, or the timestamp */
	char **names;        /* topics subscribed by name (not ^regex), owned */
	size_t nnames;
	/* [nnames]: a handle on each named topic from open to close (NULL
	 * where librdkafka refused one), so that its partitions exist and
	 * have their leader before the group assigns them: a partition
	 * assigned at a logical offset (--offset beginning, end, -N) before
	 * its leader is known waits 500 ms in librdkafka 2.0.2 for its
	 * offset look-up (rd_kafka_toppar_offset_request). */
	rd_kafka_topic_t **handles;
	char **secrets; /* the secret -X entries ("key=value"), owned */
	size_t nsecrets;
	const struct af_log *log; /* librdkafka's lines go there (borrowed) */

	struct af_kafka_input *in;
	uint32_t ninputs, max_inputs;
	uint32_t last_hit; /* input of the last message looked up */

	struct af_kafka_pend *pool;
	uint32_t pool_free; /* free list head */
	uint32_t max_pending, pending;

	/* The stash: a ring of cap slots; live ones in [head, head + span),
	 * taken ones inside it NULL until compacted. */
	struct af_kafka_held *stash;
	uint32_t stash_cap, stash_head, stash_span, stash_live;

	struct af_kafka_cursor cur;

	uint32_t assigned;
	double none_since;  /* when assigned last fell to 0 */
	uint64_t changes;   /* af_kafka_src_changes */
	bool paused;        /* the assigned partitions are paused (by us) */
	bool pause_pending; /* ... because max_pending was reached */
	bool holding;       /* af_kafka_src_hold called since the last next */
	double hold_since;
	bool closing;    /* close runs: revocations commit nothing more */
	bool committing; /* af_kafka_commit_final runs: lost ones keep lost_at */
	/* Our commits: the periodic one every commit_every s (0: none) from
	 * commit_at on, asynchronous, its result served from commitq; at most
	 * KSRC_COMMITS_MAX in flight. */
	rd_kafka_queue_t *commitq;
	double commit_every, commit_at;
	uint32_t commits_in_flight;
	bool rebalancing;         /* since rebalancing_since: no periodic commit */
	bool rejoin_after_assign; /* the next assignment is not the last one */
	double rebalancing_since;
	bool all_down;  /* "all brokers down" since a broker last answered */
	bool answered;  /* a broker answered at least once */
	af_err_t fatal; /* AF_OK, or the error every call now answers */
	char fatal_msg[KSRC_ERRSTR];
	struct af_kafka_src_stats st;
};

/* kafka.c */
/* Set stats.last_error (the caller counts the error where it belongs). */
void af_kafka_note(struct af_kafka_src *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Fail the run: every later call answers err with this message. The first
 * failure wins. */
void af_kafka_fail(struct af_kafka_src *s, af_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Input of (topic, partition), or KSRC_NONE when it was never assigned. */
uint32_t af_kafka_input_find(struct af_kafka_src *s, const char *topic, int32_t partition);
/* The same, numbering it when new; KSRC_NONE (and the run failed) when
 * max_inputs are numbered already or memory runs out. */
uint32_t af_kafka_input_get(struct af_kafka_src *s, const char *topic, int32_t partition);

/* kafka_fill.c */
/* Give every message and pending entry of input back (revocation). */
void af_kafka_drop_input(struct af_kafka_src *s, uint32_t input);
/* Where input's next owner should start: see "Offsets" in kafka.h; -1 when
 * unknown. */
int64_t af_kafka_resume_offset(struct af_kafka_src *s, uint32_t input);
/* Drop every held message (close). */
void af_kafka_drop_all(struct af_kafka_src *s);
/* Keep m (of input; takes ownership) for a later batch: in the stash, or,
 * when the stash is full, give it back by seeking its partition to it so
 * that it is fetched again (a failed seek fails the run). */
void af_kafka_keep(struct af_kafka_src *s, rd_kafka_message_t *m, uint32_t input);
/* Every assigned partition at its end, at least one assigned, nothing
 * held: the -e condition. */
bool af_kafka_all_at_end(const struct af_kafka_src *s);
/* Serve the consumer without taking anything (paused, or closing):
 * rebalances and events, and any message still handed over kept in the
 * stash or rewound to, so no resume point moves past it. Waits up to
 * timeout_ms for the first. */
void af_kafka_serve(struct af_kafka_src *s, int timeout_ms);

/* kafka_group.c */
void af_kafka_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t *parts, void *opaque);
void af_kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque);
/* A message with err set that consumer_poll returned (EOF, consumer
 * errors). */
void af_kafka_event(struct af_kafka_src *s, const rd_kafka_message_t *m);
/* Commit the resume points of the inputs in parts (NULL: every assigned
 * input) synchronously, once the periodic commit in flight, if any, has
 * its result (waited for until deadline, af_clock_s time). Returns the
 * commit's error (0 when nothing was to commit). */
rd_kafka_resp_err_t af_kafka_commit_resume(struct af_kafka_src *s,
                                           const rd_kafka_topic_partition_list_t *parts,
                                           double deadline);
/* The commit at close: af_kafka_commit_resume of every assigned input,
 * tried again while the error is one a moment cures (a rebalance, the
 * coordinator, the connection), for up to KSRC_CLOSE_MS. A partition the
 * group takes away as lost meanwhile is waited for and its resume point
 * committed once it is assigned again; RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST
 * if it never is. Returns the last try's error. Each try is counted in
 * stats (commits, commit_errors). */
rd_kafka_resp_err_t af_kafka_commit_final(struct af_kafka_src *s);
/* The periodic commit: serve the results of those in flight; when
 * commit_at has come and fewer than KSRC_COMMITS_MAX are in flight,
 * commit asynchronously the stored offsets the group does not hold yet.
 * Called on every af_kafka_src_next and hold.
 * Cost: a clock read and a queue poll; an allocation when it commits. */
void af_kafka_commit_tick(struct af_kafka_src *s);
void af_kafka_pause(struct af_kafka_src *s);
/* Resume when nothing holds the pause any more (no hold, pending at most
 * half of max_pending). */
void af_kafka_maybe_resume(struct af_kafka_src *s);

#endif
