/* merge.h - merge several inputs, each roughly in event-time order, into one
 * stream in event-time order, absorbing local disorder within a window.
 *
 * Thread: one owner (the replay source thread); not shared, no locks.
 * In: copies of events, each naming its input in ev->pos.input, and the end
 * of each input. Out: the events, ordered by (ts_ns, pos.input, pos.seq),
 * each flagged late if it had to leave after a later event already had.
 *
 * Use: loop { i = af_merge_next_input(m); if i == UINT32_MAX break; read one
 * event of input i and af_merge_push it, or af_merge_finish(m, i) at its end;
 * then af_merge_pop until it returns false }. Reading the input with the
 * smallest frontier keeps every input's frontier close to the watermark, so
 * the buffer holds about a window's worth of events per input.
 *
 * Watermark: the smallest frontier (largest ts pushed so far) among the
 * inputs not finished; -infinity while one of them has pushed nothing;
 * +infinity when all are finished. An event leaves once its ts <= watermark
 * - window, or when the buffer is full. Whenever no input's disorder (how far
 * an event can be earlier than one read before it from the same input)
 * reaches window_ns and the buffer does not fill, the output is sorted and
 * nothing is late.
 */
#ifndef AF_MERGE_H
#define AF_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/event.h"

struct af_merge;

/* A merger of ninputs inputs (numbered 0..ninputs-1) holding at most
 * max_buffered events. Returns NULL when out of memory.
 * @pre ninputs >= 1, window_ns >= 0, max_buffered >= 1.
 * Cost: allocates max_buffered events (~sizeof(struct af_event) each) now,
 * nothing afterwards. */
struct af_merge *af_merge_new(uint32_t ninputs, int64_t window_ns, size_t max_buffered);

/* Frees m and the events still buffered; NULL is ignored. */
void af_merge_free(struct af_merge *m);

/* Which input to read next: the unfinished input with the smallest frontier,
 * the lowest number on a tie; inputs that have pushed nothing come first.
 * UINT32_MAX once every input is finished. Cost: O(1). */
uint32_t af_merge_next_input(const struct af_merge *m);

/* Copy *ev (borrowed) into the buffer and advance its input's frontier.
 * @pre !af_merge_full(m) (pop until af_merge_pop returns false after each
 * push); ev->pos.input < ninputs and that input is not finished.
 * Cost: O(log buffered + ninputs). */
void af_merge_push(struct af_merge *m, const struct af_event *ev);

/* Input has ended; it no longer holds the watermark back.
 * @pre input < ninputs. Finishing twice is harmless. Cost: O(ninputs). */
void af_merge_finish(struct af_merge *m, uint32_t input);

/* The next event ready to leave, copied into *out: the buffered minimum by
 * (ts_ns, pos.input, pos.seq) when its ts <= watermark - window or the buffer
 * is full. *late is set when its ts is earlier than that of an event popped
 * before (it arrived later than the window allows; it is delivered anyway).
 * Returns false, leaving *out and *late alone, when nothing is ready.
 * Cost: O(log buffered). */
bool af_merge_pop(struct af_merge *m, struct af_event *out, bool *late);

/* Events buffered now. */
size_t af_merge_buffered(const struct af_merge *m);

/* Whether the buffer is at max_buffered (af_merge_pop will return one). */
bool af_merge_full(const struct af_merge *m);

#endif
