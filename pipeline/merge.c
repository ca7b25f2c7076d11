/* merge.c - event-time merge of several inputs with a bounded reorder window.
 *
 * Thread: the owner of the handle only (see merge.h).
 * In: events pushed per input, input ends. Out: events in (ts, input, seq)
 * order, with a late flag.
 *
 * DESIGN: the events themselves sit still in a slab of max_buffered slots;
 * the binary min-heap orders small nodes (ts, input, seq, slot), so sifting
 * moves 24 bytes instead of a whole struct af_event. A stack of free slot
 * numbers hands slots out and takes them back. The key includes the input
 * and the record number, so equal times leave in one order whatever the
 * interleaving of the reads.
 *
 * The watermark and the input to read next are kept up to date on push and
 * finish (a scan of the inputs), not recomputed on every pop, since the
 * caller pops after every push and most pops find nothing ready.
 */
#include "pipeline/merge.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct node {
	int64_t ts;
	uint64_t seq;
	uint32_t input;
	uint32_t slot;
};

struct input {
	int64_t frontier; /* largest ts pushed; INT64_MIN before the first */
	bool finished;
};

struct af_merge {
	struct af_event *events; /* slab of cap slots */
	uint32_t *free_slots;    /* stack of unused slot numbers */
	size_t nfree;
	struct node *heap;
	size_t size, cap;
	struct input *inputs;
	uint32_t ninputs;
	uint32_t next;     /* unfinished input with the smallest frontier */
	int64_t watermark; /* its frontier; INT64_MAX when all are finished */
	int64_t window_ns;
	int64_t max_popped; /* largest ts popped; INT64_MIN before the first */
};

struct af_merge *af_merge_new(uint32_t ninputs, int64_t window_ns, size_t max_buffered)
{
	struct af_merge *m;

	assert(ninputs >= 1 && window_ns >= 0 && max_buffered >= 1);
	assert(max_buffered <= UINT32_MAX);
	m = calloc(1, sizeof *m);
	if (m == NULL)
		return NULL;
	m->events = malloc(max_buffered * sizeof *m->events);
	m->free_slots = malloc(max_buffered * sizeof *m->free_slots);
	m->heap = malloc(max_buffered * sizeof *m->heap);
	m->inputs = malloc(ninputs * sizeof *m->inputs);
	if (m->events == NULL || m->free_slots == NULL || m->heap == NULL || m->inputs == NULL) {
		af_merge_free(m);
		return NULL;
	}
	/* Slot 0 on top, so slots are used from the lowest. */
	for (size_t i = 0; i < max_buffered; i++)
		m->free_slots[i] = (uint32_t)(max_buffered - 1 - i);
	m->nfree = max_buffered;
	m->cap = max_buffered;
	for (uint32_t i = 0; i < ninputs; i++)
		m->inputs[i] = (struct input){.frontier = INT64_MIN, .finished = false};
	m->ninputs = ninputs;
	m->next = 0;
	m->watermark = INT64_MIN;
	m->window_ns = window_ns;
	m->max_popped = INT64_MIN;
	return m;
}

void af_merge_free(struct af_merge *m)
{
	if (m == NULL)
		return;
	free(m->events);
	free(m->free_slots);
	free(m->heap);
	free(m->inputs);
	free(m);
}

static void update_watermark(struct af_merge *m)
{
	m->next = UINT32_MAX;
	m->watermark = INT64_MAX;
	for (uint32_t i = 0; i < m->ninputs; i++) {
		const struct input *in = &m->inputs[i];

		if (!in->finished && (m->next == UINT32_MAX || in->frontier < m->watermark)) {
			m->next = i;
			m->watermark = in->frontier;
		}
	}
}

uint32_t af_merge_next_input(const struct af_merge *m)
{
	return m->next;
}

static bool before(const struct node *a, const struct node *b)
{
	if (a->ts != b->ts)
		return a->ts < b->ts;
	if (a->input != b->input)
		return a->input < b->input;
	return a->seq < b->seq;
}

void af_merge_push(struct af_merge *m, const struct af_event *ev)
{
	uint32_t input = ev->pos.input;

	assert(m->size < m->cap);
	assert(input < m->ninputs && !m->inputs[input].finished);

	uint32_t slot = m->free_slots[--m->nfree];
	memcpy(&m->events[slot], ev, sizeof *ev);
	struct node n = {.ts = ev->ts_ns, .seq = ev->pos.seq, .input = input, .slot = slot};

	size_t i = m->size++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!before(&n, &m->heap[parent]))
			break;
		m->heap[i] = m->heap[parent];
		i = parent;
	}
	m->heap[i] = n;

	struct input *in = &m->inputs[input];
	if (ev->ts_ns > in->frontier || in->frontier == INT64_MIN) {
		in->frontier = ev->ts_ns;
		update_watermark(m);
	}
}

void af_merge_finish(struct af_merge *m, uint32_t input)
{
	assert(input < m->ninputs);
	m->inputs[input].finished = true;
	update_watermark(m);
}

static int64_t sub_saturated(int64_t a, int64_t b)
{
	return a < INT64_MIN + b ? INT64_MIN : a - b;
}

static bool ready(const struct af_merge *m, int64_t ts)
{
	if (m->size == m->cap || m->next == UINT32_MAX)
		return true;
	/* Nothing is ready while some input has pushed nothing. */
	if (m->watermark == INT64_MIN)
		return false;
	return ts <= sub_saturated(m->watermark, m->window_ns);
}

bool af_merge_pop(struct af_merge *m, struct af_event *out, bool *late)
{
	if (m->size == 0 || !ready(m, m->heap[0].ts))
		return false;

	struct node top = m->heap[0];
	memcpy(out, &m->events[top.slot], sizeof *out);
	m->free_slots[m->nfree++] = top.slot;
	*late = top.ts < m->max_popped;
	if (top.ts > m->max_popped)
		m->max_popped = top.ts;

	/* Sift the last node down from the root. */
	struct node last = m->heap[--m->size];
	size_t i = 0;
	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= m->size)
			break;
		if (child + 1 < m->size && before(&m->heap[child + 1], &m->heap[child]))
			child++;
		if (!before(&m->heap[child], &last))
			break;
		m->heap[i] = m->heap[child];
		i = child;
	}
	if (m->size > 0)
		m->heap[i] = last;
	return true;
}

size_t af_merge_buffered(const struct af_merge *m)
{
	return m->size;
}

bool af_merge_full(const struct af_merge *m)
{
	return m->size == m->cap;
}
