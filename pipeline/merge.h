/* merge.h - merge several inputs, each roughly in event-time order, into one
 * stream in event-time order, absorbing local disorder within a window, so
 * that the output order and the late verdicts depend only on each input's
 * own record sequence, never on how the reads of the inputs interleave.
 *
 * Thread: one owner (the replay source thread, or one shard of the runtime);
 * not shared, no locks.
 * In: copies of events, each naming its input in ev->pos.input and its record
 * number within that input in ev->pos.seq, with what the caller knows of the
 * input's frontier; frontier advances without an event; the end of each input.
 * Out: the events ordered by (key, pos.input, pos.seq), each with the late
 * verdict given to it when it was pushed.
 *
 * Frontier: F_i, the largest event time seen so far in input i, over the whole
 * input and not only the events pushed here: a push raises it to the
 * frontier the caller gives and to the event's own time, af_merge_advance
 * raises it with no event. INT64_MIN before anything is known. Several shards,
 * each merging its own subset of the events, reach the same F_i at the same
 * record when each is told the whole input's frontier in input order (a
 * batch-end marker carrying the batch's largest time), so they agree on every
 * verdict and on the relative order of the events they share.
 *
 * Late and key: an event of input i pushed when F_i (raised by this push) is
 * F is late iff ts < F - window (saturating); its key is max(ts, F - window),
 * so a late event sorts as if it had arrived at the edge of the window. Its
 * ts_ns is left as it was: that is the time the caller applies to state.
 *
 * Release: W = min over unfinished inputs of (F_i - window). The buffered
 * minimum leaves when its key < W; nothing leaves while an unfinished input
 * has F_i == INT64_MIN; everything leaves, in order, once every input is
 * finished. Why this is a pure function of the inputs: F_i never falls, so
 * any later event of input i has key >= F_i - window >= W; an event with key
 * < W therefore precedes everything still to come, and the output is the sort
 * by (key, input, seq) of all the pushed events, whatever the interleaving
 * (W is strict because a later event of input j can have key exactly W).
 * The one exception is a full buffer: af_merge_pop then forces the minimum
 * out before it is safe, and counts it (af_merge_forced); only then can the
 * order depend on the interleaving, and the caller should report it.
 *
 * Use: loop { i = af_merge_next_input(m); if i == UINT32_MAX break; read one
 * event of input i and af_merge_push it, or af_merge_finish(m, i) at its end;
 * then af_merge_pop until it returns false }. Reading the input with the
 * smallest frontier keeps every input's frontier close to W, so the buffer
 * holds about a window's worth of events per input.
 */
#ifndef AF_MERGE_H
#define AF_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"
#include "pipeline/event.h"

struct af_merge;

/* A merger of ninputs inputs (numbered 0..ninputs-1) holding at most
 * max_buffered events. Returns NULL when out of memory.
 * @pre ninputs >= 1, window_ns >= 0, 1 <= max_buffered <= UINT32_MAX.
 * Cost: allocates max_buffered events (~sizeof(struct af_event) each) now,
 * nothing afterwards. */
struct af_merge *af_merge_new(uint32_t ninputs, int64_t window_ns, size_t max_buffered);

/* Frees m and the events still buffered; NULL is ignored. */
void af_merge_free(struct af_merge *m);

/* Which input to read next: the unfinished, awake input with the smallest
 * frontier (INT64_MIN, nothing known yet, first), the lowest number on a
 * tie. UINT32_MAX once every input is finished or idle. Cost: O(1). */
uint32_t af_merge_next_input(const struct af_merge *m);

/* Copy *ev (borrowed) into the buffer, raise its input's frontier to
 * max(frontier, ev->ts_ns) and judge it late or not against that (see the
 * top of this file).
 * frontier: the largest event time the caller knows of among the records of
 * the input up to and including this one; INT64_MIN for "only this event"
 * (the merge's own maximum of the input's pushes is then the frontier).
 * It must not cover records after this one, or the verdicts would depend on
 * how far ahead the caller happened to look.
 * @pre !af_merge_full(m) (pop until af_merge_pop returns false after each
 * push); ev->pos.input < ninputs and that input is not finished; the events of
 * one input are pushed in their record order.
 * Cost: O(log buffered) into the heap, O(1) onto its input's run, plus
 * O(log ninputs) when the frontier rises. */
void af_merge_push(struct af_merge *m, const struct af_event *ev, int64_t frontier);

/* Raise input's frontier to frontier, with no event: how a shard learns of
 * the records of the input that went to other shards. A lower frontier than
 * the current one changes nothing.
 * @pre input < ninputs; frontier covers only records before any event of the
 * input pushed afterwards (the same rule as af_merge_push's frontier).
 * Advancing a finished input is harmless. Cost: O(log ninputs) when it rises. */
void af_merge_advance(struct af_merge *m, uint32_t input, int64_t frontier);

/* Input has ended; it no longer holds W back.
 * @pre input < ninputs. Finishing twice is harmless. Cost: O(log ninputs). */
void af_merge_finish(struct af_merge *m, uint32_t input);

/* Input is idle (a Kafka partition at its end): it no longer holds W back
 * until its next push, which makes it hold W from its own frontier again.
 * An event of an input back from idle may sort before events already
 * released (they left while nothing held them): order is then arrival
 * order, as in any stream whose watermark ignores idle partitions.
 * @pre input < ninputs. Cost: O(log ninputs). */
void af_merge_idle(struct af_merge *m, uint32_t input);

/* The next event ready to leave, copied into *out: the buffered minimum by
 * (key, pos.input, pos.seq) when its key < W, when every input is finished,
 * or when the buffer is full (a forced pop, counted). *late is the verdict
 * given at push (its ts was more than the window before its input's frontier;
 * it is delivered anyway). Returns false, leaving *out and *late alone, when
 * nothing is ready. Cost: O(log buffered). */
bool af_merge_pop(struct af_merge *m, struct af_event *out, bool *late);

/* af_merge_pop without the copy: the event in the buffer, or NULL when none
 * is ready. The caller may read and change it until the next push (which
 * may reuse its slot) or pop. */
struct af_event *af_merge_pop_ref(struct af_merge *m, bool *late);

/* Input holds W back again from its own frontier, as at its next push
 * (no-op when not idle): for a shard that learns of an input's records
 * from a batch marker only. @pre input < ninputs. Cost: O(log ninputs). */
void af_merge_wake(struct af_merge *m, uint32_t input);

/* af_merge_pop_ref that releases the buffered minimum even when it is not
 * safe yet (counted as forced): for a caller that must let an old event go
 * (the runtime, when a held event would hold its completion back too far).
 * NULL only when the buffer is empty. */
struct af_event *af_merge_pop_forced(struct af_merge *m, bool *late);

/* The event that leaves next (ready or not), borrowed until the next push
 * or pop; NULL when the buffer is empty. For prefetching what applying it
 * will touch. */
const struct af_event *af_merge_peek(const struct af_merge *m);

/* How many pops so far released their event before it was safe (a full
 * buffer, or af_merge_pop_forced): zero means the output so far is the
 * order described at the top of this file, whatever the interleaving. */
uint64_t af_merge_forced(const struct af_merge *m);

/* Events buffered now. */
size_t af_merge_buffered(const struct af_merge *m);

/* Call fn(ev, ctx) on every event buffered now, in no particular order;
 * ev is borrowed for the call. Cost: O(buffered). */
void af_merge_each(const struct af_merge *m, void (*fn)(const struct af_event *ev, void *ctx),
                   void *ctx);

/* Whether the buffer is at max_buffered (af_merge_pop will return one). */
bool af_merge_full(const struct af_merge *m);

/* ---- snapshots (pipeline/snapshot.h) ---- */

struct af_snap_writer;
struct af_snap_view;

/* The fingerprint of what af_merge_save writes whole: struct af_event's
 * size and the places of the fields the loader reads in it. A build that
 * changes them cannot read an older build's snapshot, and says so. */
uint64_t af_merge_layout(void);

/* Write m's state into the open section of w (borrowed): the parameters,
 * the forced count, each input's frontier and whether it is finished or
 * idle, and every buffered event (raw, see af_merge_layout) with the key
 * and late verdict push gave it, in the order the merge holds them. A
 * merge loaded from this answers every later call as m does (the same
 * events out, in the same order, with the same verdicts; the same
 * next_input, buffered, full and forced) and saves the same bytes after
 * the same calls. m is not changed. An event af_merge_pop_ref or
 * af_merge_pop_forced handed out has left and is not written.
 * Thread: m's owner, between two calls. @pre a section of w is open.
 * Cost: O(buffered + ninputs); about buffered * sizeof(struct af_event)
 * bytes written. */
void af_merge_save(const struct af_merge *m, struct af_snap_writer *w);

/* Load what af_merge_save wrote, v (borrowed) read to its end, into m,
 * made by af_merge_new with the same ninputs and window as the saved one
 * and room for its events; whatever m held is replaced. Returns AF_OK;
 * AF_E_CONFIG (errstr says which) when the saved merge had another number
 * of inputs, another window, or more events than m's max_buffered;
 * AF_E_FORMAT (errstr says what) when v is short, has bytes left over, or
 * holds what no merge could: an input state, an event's input, key or
 * verdict that push could not have made, a heap or run out of order.
 * Another max_buffered that holds the saved events is accepted: m then
 * goes on as a merge of its own size would (it is full at another count),
 * and nodes its shorter runs cannot hold go to its heap, which orders them
 * the same. m is unusable after a failure: free it.
 * Thread: m's owner. Cost: O(buffered + ninputs), no allocation. */
af_err_t af_merge_load(struct af_merge *m, struct af_snap_view *v, char *errstr,
                       size_t errstr_size);

#endif
