/* records.h - the runtime tests' records: JSON lines of the sign-in forms
 * the parser knows, made in memory, kept per input in the order a source
 * hands them over, and copied into the runtime's batches; and a run's
 * scratch (its files and configuration). Shared by test_runtime.c and
 * test_runtime_track.c.
 *
 * Thread: making and freeing on the test's thread; af_recs_fill on
 * whichever thread runs the source's fill (the runtime's source thread),
 * reading records that no thread changes while the run goes.
 * In: what each test wants (ids, accounts, addresses, times in seconds).
 * Out: struct af_recs (owned by the caller's variable, freed with
 * af_recs_free) and filled batches.
 *
 * Making a record asserts with Criterion on failure (out of memory), so it
 * must run on the test's thread; af_recs_fill asserts nothing.
 */
#ifndef AF_TEST_RECORDS_H
#define AF_TEST_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/config.h"
#include "pipeline/runtime/runtime.h"

/* One record: its bytes, and AF_REASON_NONE or the reason the framing
 * already rejected it (then the bytes are the excerpt kept). */
struct af_recs_line {
	char *text;
	size_t len;
	uint32_t reason;
};

/* One input's records, in the order the source hands them over; record k
 * has seq k and line k + 1. Zero-initialised is empty. */
struct af_recs {
	struct af_recs_line *v;
	size_t n, cap;
	int64_t max_ts_ns; /* latest event time among the records made with a time */
	bool has_ts;       /* max_ts_ns is set */
};

/* Append text (takes ownership: freed by af_recs_free), len bytes. */
void af_recs_push(struct af_recs *in, char *text, size_t len, uint32_t reason);

/* Append the record printf formats (parseable or not: no time noted). */
void af_recs_add(struct af_recs *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append a record the framing rejected; text borrowed (copied). */
void af_recs_add_rejected(struct af_recs *in, uint32_t reason, const char *text);

/* Append a copy of record i: a duplicate (same id, same bytes). */
void af_recs_repeat(struct af_recs *in, size_t i);

/* Free every record; in is empty again. */
void af_recs_free(struct af_recs *in);

/* Note an event time (seconds) made outside the helpers below. */
void af_recs_note_ts(struct af_recs *in, int64_t t_s);

/* "2025-08-25T06:00:00" for t_s (seconds since the epoch), Z appended when
 * zulu. */
void af_recs_iso(char *buf, size_t size, int64_t t_s, bool zulu);

/* A Management Activity API sign-in: UserLoggedIn, or UserLoginFailed with
 * error 50126 when failed. All texts borrowed. */
void af_recs_m365_signin(struct af_recs *in, const char *id, const char *account, const char *ip,
                         int64_t t_s, bool failed);

/* An Entra sign-in in the diagnostic-settings form; error 0 is a success. */
void af_recs_entra_signin(struct af_recs *in, const char *id, const char *upn, const char *ip,
                          int64_t t_s, int error);

/* count successful sign-ins of seven accounts from seven addresses, one a
 * minute from start_s, in both forms by turns, ids "<tag>-<n>". */
void af_recs_ordinary(struct af_recs *in, const char *tag, int64_t start_s, int count);

/* Where a source is in one input: the next record to hand over and its
 * byte offset. Zero-initialised but for in: at the start. */
struct af_recs_cursor {
	const struct af_recs *in; /* borrowed */
	size_t next;
	uint64_t offset;
};

/* Add the cursor's next records to b (af_rt_batch_add) while they fit, at
 * most max of them, each naming file, its line, offset and seq; move the
 * cursor past them. Sets nothing else of b (input, last, idle).
 * Returns how many were added: 0 into an empty b, with records left, means
 * the next record fits no batch at all. */
size_t af_recs_fill(struct af_recs_cursor *cur, struct af_rt_batch *b, uint32_t file, size_t max);

/* Whether the cursor has handed over every record. */
bool af_recs_ended(const struct af_recs_cursor *cur);

/* A run's scratch: a mkdtemp directory for the sinks' files, and the
 * configuration: the defaults but for the thread count and batch size. */
struct af_recs_scratch {
	char dir[64];
	char alerts_path[128], dlq_path[128], events_path[128]; /* not created */
	char label[48]; /* "-j 2 batch 3", for the messages of a series */
	struct af_config cfg;
};

/* Make the directory and the configuration (asserts on failure). */
void af_recs_scratch_init(struct af_recs_scratch *sc, uint32_t threads, uint32_t batch);

/* Set one configuration key (asserts that it is accepted). */
void af_recs_scratch_set(struct af_recs_scratch *sc, const char *key, const char *value);

/* Remove the files and the directory; free the configuration. */
void af_recs_scratch_fini(struct af_recs_scratch *sc);

#endif
