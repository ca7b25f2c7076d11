/* merge.c - event-time merge of several inputs with a bounded reorder window.
 *
 * Thread: the owner of the handle only (see merge.h).
 * In: events pushed per input with a frontier, frontier advances, input ends.
 * Out: events in (key, input, seq) order, each with its late verdict.
 *
 * DESIGN: the events themselves sit still in a slab of max_buffered slots;
 * the binary min-heap orders small nodes (key, input, seq, slot), so sifting
 * moves 24 bytes instead of a whole struct af_event. The late verdicts sit
 * beside the slab, one byte per slot, rather than in the node, which would
 * pad it to 32. A stack of free slot numbers hands slots out and takes them
 * back. The key is fixed at push from the input's own frontier, and the order
 * includes the input and the record number, so the order of two events never
 * depends on what else happened to be read in between.
 *
 * Most events arrive in key order within their input (exports are written
 * in time order), and a heap pays a sift of log2(n) unpredictable branches
 * per event for nothing then. So each input (when there are at most
 * MERGE_RUN_INPUTS) also has a run: a FIFO of nodes in increasing order. An
 * event that sorts after the tail of its input's run is appended to it; any
 * other goes to the heap. The next event out is the least of the heap's top
 * and the runs' heads: the union of sorted sequences, in order, so the
 * output is the same as with the heap alone. Sorted input costs O(1) a
 * push and a pop, and its slots are read back in the order written.
 *
 * The smallest frontier and the input it belongs to are kept up to date when a
 * frontier rises or an input finishes (a scan of the inputs), not recomputed
 * on every pop, since the caller pops after every push and most pops find
 * nothing ready.
 */
#include "pipeline/merge.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct node {
	int64_t key;
	uint64_t seq;
	uint32_t input;
	uint32_t slot;
};

/* Runs: inputs beyond this many use the heap alone (the pop scans the
 * runs' heads); a run holds up to MERGE_RUN_CAP nodes, the rest go to the
 * heap. */
#define MERGE_RUN_INPUTS 8u
#define MERGE_RUN_CAP    4096u

struct input {
	int64_t frontier; /* F_i; INT64_MIN while nothing is known */
	bool finished;
	bool idle; /* af_merge_idle: holds W back no more until its next push */
	struct node *run; /* MERGE_RUN_CAP nodes, a ring; NULL: no run */
	uint32_t run_head, run_len;
};

struct af_merge {
	struct af_event *events; /* slab of cap slots */
	bool *late;              /* verdict of the event in each slot */
	uint32_t *free_slots;    /* stack of unused slot numbers */
	size_t nfree;
	struct node *heap;
	size_t heap_size;
	size_t size, cap; /* events held (heap and runs), and the most */
	struct input *inputs;
	uint32_t ninputs;
	uint32_t next;        /* unfinished input with the smallest frontier */
	int64_t min_frontier; /* its frontier; INT64_MAX when all are finished */
	int64_t window_ns;
	uint64_t forced;
	/* Where the least node is, found by the last pop for its prefetch and
	 * kept for the next peek and pop; any push may change it. */
	uint32_t least_from;
	bool least_known;
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
	m->late = malloc(max_buffered * sizeof *m->late);
	m->free_slots = malloc(max_buffered * sizeof *m->free_slots);
	m->heap = malloc(max_buffered * sizeof *m->heap);
	m->inputs = malloc(ninputs * sizeof *m->inputs);
	if (m->events == NULL || m->late == NULL || m->free_slots == NULL || m->heap == NULL ||
	    m->inputs == NULL) {
		af_merge_free(m);
		return NULL;
	}
	/* Slot 0 on top, so slots are used from the lowest. */
	for (size_t i = 0; i < max_buffered; i++)
		m->free_slots[i] = (uint32_t)(max_buffered - 1 - i);
	m->nfree = max_buffered;
	m->cap = max_buffered;
	for (uint32_t i = 0; i < ninputs; i++) {
		m->inputs[i] = (struct input){.frontier = INT64_MIN, .finished = false};
		if (ninputs <= MERGE_RUN_INPUTS) {
			m->inputs[i].run = malloc(MERGE_RUN_CAP * sizeof(struct node));
			if (m->inputs[i].run == NULL) {
				m->ninputs = i + 1;
				af_merge_free(m);
				return NULL;
			}
		}
	}
	m->ninputs = ninputs;
	m->next = 0;
	m->min_frontier = INT64_MIN;
	m->window_ns = window_ns;
	m->forced = 0;
	return m;
}

void af_merge_free(struct af_merge *m)
{
	if (m == NULL)
		return;
	free(m->events);
	free(m->late);
	free(m->free_slots);
	free(m->heap);
	for (uint32_t i = 0; m->inputs != NULL && i < m->ninputs; i++)
		free(m->inputs[i].run);
	free(m->inputs);
	free(m);
}

static void update_min_frontier(struct af_merge *m)
{
	m->next = UINT32_MAX;
	m->min_frontier = INT64_MAX;
	for (uint32_t i = 0; i < m->ninputs; i++) {
		const struct input *in = &m->inputs[i];

		if (!in->finished && !in->idle &&
		    (m->next == UINT32_MAX || in->frontier < m->min_frontier)) {
			m->next = i;
			m->min_frontier = in->frontier;
		}
	}
}

/* Only a rise can move the minimum, and only if this input could hold it. */
static void raise_frontier(struct af_merge *m, uint32_t input, int64_t frontier)
{
	struct input *in = &m->inputs[input];

	if (frontier <= in->frontier)
		return;
	in->frontier = frontier;
	if (!in->finished && !in->idle)
		update_min_frontier(m);
}

uint32_t af_merge_next_input(const struct af_merge *m)
{
	return m->next;
}

static int64_t sub_saturated(int64_t a, int64_t b)
{
	return a < INT64_MIN + b ? INT64_MIN : a - b;
}

static bool before(const struct node *a, const struct node *b)
{
	if (a->key != b->key)
		return a->key < b->key;
	if (a->input != b->input)
		return a->input < b->input;
	return a->seq < b->seq;
}

void af_merge_push(struct af_merge *m, const struct af_event *ev, int64_t frontier)
{
	uint32_t input = ev->pos.input;

	assert(m->size < m->cap);
	assert(input < m->ninputs && !m->inputs[input].finished);
	m->least_known = false;
	if (m->inputs[input].idle) {
		/* Back from idle: it holds W again, from its own frontier. */
		m->inputs[input].idle = false;
		update_min_frontier(m);
	}

	raise_frontier(m, input, frontier > ev->ts_ns ? frontier : ev->ts_ns);
	int64_t edge = sub_saturated(m->inputs[input].frontier, m->window_ns);
	bool late = ev->ts_ns < edge;

	uint32_t slot = m->free_slots[--m->nfree];
	memcpy(&m->events[slot], ev, sizeof *ev);
	m->late[slot] = late;
	struct node n = {
	    .key = late ? edge : ev->ts_ns, .seq = ev->pos.seq, .input = input, .slot = slot};

	m->size++;
	struct input *in = &m->inputs[input];
	if (in->run != NULL && in->run_len < MERGE_RUN_CAP &&
	    (in->run_len == 0 ||
	     before(&in->run[(in->run_head + in->run_len - 1) % MERGE_RUN_CAP], &n))) {
		in->run[(in->run_head + in->run_len++) % MERGE_RUN_CAP] = n;
		return;
	}
	size_t i = m->heap_size++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!before(&n, &m->heap[parent]))
			break;
		m->heap[i] = m->heap[parent];
		i = parent;
	}
	m->heap[i] = n;
}

/* The least node held: the heap's top or a run's head. Returns the input
 * whose run holds it, or UINT32_MAX for the heap. @pre m->size > 0. */
static uint32_t least(const struct af_merge *m, const struct node **out)
{
	const struct node *best = m->heap_size > 0 ? &m->heap[0] : NULL;
	uint32_t from = UINT32_MAX;

	for (uint32_t i = 0; i < m->ninputs && m->inputs[0].run != NULL; i++) {
		const struct input *in = &m->inputs[i];
		if (in->run_len == 0)
			continue;
		const struct node *h = &in->run[in->run_head];
		if (best == NULL || before(h, best)) {
			best = h;
			from = i;
		}
	}
	*out = best;
	return from;
}

/* The first node of the heap (from UINT32_MAX) or of input from's run. */
static const struct node *first_of(const struct af_merge *m, uint32_t from)
{
	if (from == UINT32_MAX)
		return &m->heap[0];
	return &m->inputs[from].run[m->inputs[from].run_head];
}

/* least(), or what the last pop found while no push came since. */
static uint32_t least_cached(struct af_merge *m, const struct node **out)
{
	if (!m->least_known) {
		m->least_from = least(m, out);
		m->least_known = true;
		return m->least_from;
	}
	*out = first_of(m, m->least_from);
	return m->least_from;
}

static void heap_remove_top(struct af_merge *m)
{
	struct node last = m->heap[--m->heap_size];
	size_t i = 0;
	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= m->heap_size)
			break;
		if (child + 1 < m->heap_size && before(&m->heap[child + 1], &m->heap[child]))
			child++;
		if (!before(&m->heap[child], &last))
			break;
		m->heap[i] = m->heap[child];
		i = child;
	}
	if (m->heap_size > 0)
		m->heap[i] = last;
}

void af_merge_advance(struct af_merge *m, uint32_t input, int64_t frontier)
{
	assert(input < m->ninputs);
	raise_frontier(m, input, frontier);
}

void af_merge_finish(struct af_merge *m, uint32_t input)
{
	assert(input < m->ninputs);
	m->inputs[input].finished = true;
	update_min_frontier(m);
}

void af_merge_wake(struct af_merge *m, uint32_t input)
{
	assert(input < m->ninputs);
	if (!m->inputs[input].idle)
		return;
	m->inputs[input].idle = false;
	update_min_frontier(m);
}

void af_merge_idle(struct af_merge *m, uint32_t input)
{
	assert(input < m->ninputs);
	if (m->inputs[input].idle)
		return;
	m->inputs[input].idle = true;
	update_min_frontier(m);
}

/* Whether a key is safe to release: no event still to come can sort before
 * it (see merge.h). */
static bool safe(const struct af_merge *m, int64_t key)
{
	if (m->next == UINT32_MAX)
		return true;
	/* An input that has told us nothing could still send anything. */
	if (m->min_frontier == INT64_MIN)
		return false;
	return key < sub_saturated(m->min_frontier, m->window_ns);
}

static struct af_event *pop_ref(struct af_merge *m, bool *late, bool force)
{
	const struct node *top;

	if (m->size == 0)
		return NULL;
	uint32_t from = least_cached(m, &top);
	if (!safe(m, top->key)) {
		if (m->size < m->cap && !force)
			return NULL;
		m->forced++;
	}
	uint32_t slot = top->slot;
	if (from == UINT32_MAX) {
		heap_remove_top(m);
	} else {
		struct input *in = &m->inputs[from];
		in->run_head = (in->run_head + 1) % MERGE_RUN_CAP;
		in->run_len--;
	}
	m->size--;
	m->least_known = false;
	*late = m->late[slot];
	m->free_slots[m->nfree++] = slot;
	if (m->size > 0) {
		/* The next to leave was written a window ago and may have left
		 * the cache: start loading it while the caller applies this. */
		least_cached(m, &top);
		const char *next = (const char *)&m->events[top->slot];
		for (size_t off = 0; off < sizeof(struct af_event); off += 64)
			__builtin_prefetch(next + off);
	}
	return &m->events[slot];
}

struct af_event *af_merge_pop_ref(struct af_merge *m, bool *late)
{
	return pop_ref(m, late, false);
}

struct af_event *af_merge_pop_forced(struct af_merge *m, bool *late)
{
	return pop_ref(m, late, true);
}

bool af_merge_pop(struct af_merge *m, struct af_event *out, bool *late)
{
	const struct af_event *ev = af_merge_pop_ref(m, late);

	if (ev == NULL)
		return false;
	memcpy(out, ev, sizeof *out);
	return true;
}

const struct af_event *af_merge_peek(const struct af_merge *m)
{
	const struct node *top;

	if (m->size == 0)
		return NULL;
	if (m->least_known) /* what the last pop found: no second scan */
		top = first_of(m, m->least_from);
	else
		least(m, &top);
	return &m->events[top->slot];
}

uint64_t af_merge_forced(const struct af_merge *m)
{
	return m->forced;
}

size_t af_merge_buffered(const struct af_merge *m)
{
	return m->size;
}

bool af_merge_full(const struct af_merge *m)
{
	return m->size == m->cap;
}
