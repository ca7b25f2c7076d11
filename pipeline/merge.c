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
 * in time order, each Kafka partition in its own), and a heap pays a sift
 * of log2(n) unpredictable branches per event for nothing then. So each
 * input also has a run: a FIFO of nodes in increasing order. An event that
 * sorts after the tail of its input's run is appended to it; any other goes
 * to the heap. The next event out is the least of the heap's top and the
 * runs' heads: the union of sorted sequences, in order, so the output is
 * the same as with the heap alone. Sorted input costs O(1) a push and
 * O(log inputs) a pop, and its slots are read back in the order written.
 * The runs share one array, max_buffered nodes in all (at most
 * MERGE_RUN_CAP an input); with too many inputs for that to give each a
 * useful run, the heap alone orders.
 *
 * Two tournament trees over the inputs keep what every push and pop asks
 * for without a scan of the inputs (a Kafka source has one input for every
 * partition it may ever be given, 256 by default, most of them idle): one
 * holds, at each node, the input with the least run head in its subtree,
 * the other the awake unfinished input with the smallest frontier (the
 * lowest number on a tie). A change to one input replays the matches on its
 * path to the root, and stops as soon as a match's winner is unchanged and
 * is another input: nothing above can change then.
 *
 * A snapshot (af_merge_save) holds the heap in its array order and each
 * run in its FIFO order, with each node's key and verdict beside its event,
 * and a loader puts them back where they were: the node order is then the
 * original's exactly, so even nodes equal in (key, input, seq), which the
 * preconditions rule out but a caller could push, leave in the same order,
 * and the two merges go on to save the same bytes. What is left out does
 * not decide any answer: slot numbers (a slot shows only as the address
 * pop_ref hands out, good until the next push or pop, and the free stack
 * gives that slot to the next push in both), the position of a run in its
 * ring, the cached least node (a pure function of the nodes) and the two
 * trees (a pure function of the inputs' states, rebuilt at load).
 */
#include "pipeline/merge.h"

#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "pipeline/snapshot.h"

struct node {
	int64_t key;
	uint64_t seq;
	uint32_t input;
	uint32_t slot;
};

/* The most nodes one input's run holds; fewer when max_buffered spread
 * over the inputs gives less, and no runs when that is under
 * MERGE_RUN_MIN. Nodes that find their run full go to the heap. */
#define MERGE_RUN_CAP 4096u
#define MERGE_RUN_MIN 8u

/* A tree slot with no input in it. */
#define NONE UINT32_MAX

struct input {
	int64_t frontier; /* F_i; INT64_MIN while nothing is known */
	bool finished;
	bool idle;                  /* af_merge_idle: holds W back no more until its next push */
	uint32_t run_head, run_len; /* its run: a ring in runs[i * run_cap] */
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
	struct node *runs; /* ninputs * run_cap; NULL: no runs */
	uint32_t run_cap;  /* a power of two */
	/* Tournament trees of 2 * leaves slots: leaf i at leaves + i, node k's
	 * players at 2k and 2k + 1, the winner at 1; NONE where no input. */
	uint32_t leaves;      /* a power of two >= ninputs */
	uint32_t *run_tree;   /* the least run head */
	uint32_t *front_tree; /* the smallest frontier of an awake input */
	uint32_t next;        /* unfinished input with the smallest frontier */
	int64_t min_frontier; /* its frontier; INT64_MAX when all are finished */
	int64_t window_ns;
	uint64_t forced;
	/* Where the least node is, found by the last pop for its prefetch and
	 * kept for the next peek and pop; any push may change it. */
	uint32_t least_from;
	bool least_known;
};

static bool before(const struct node *a, const struct node *b)
{
	if (a->key != b->key)
		return a->key < b->key;
	if (a->input != b->input)
		return a->input < b->input;
	return a->seq < b->seq;
}

static struct node *run_at(const struct af_merge *m, uint32_t input, uint32_t k)
{
	return &m->runs[(size_t)input * m->run_cap +
	                ((m->inputs[input].run_head + k) & (m->run_cap - 1))];
}

/* The match of two run-tree players: a from the lower inputs. */
static uint32_t run_match(const struct af_merge *m, uint32_t a, uint32_t b)
{
	if (a == NONE || b == NONE)
		return a == NONE ? b : a;
	return before(run_at(m, b, 0), run_at(m, a, 0)) ? b : a;
}

static bool awake(const struct input *in)
{
	return !in->finished && !in->idle;
}

/* The match of two frontier-tree players: a from the lower inputs, so a
 * tie goes to the lower number. */
static uint32_t front_match(const struct af_merge *m, uint32_t a, uint32_t b)
{
	if (a == NONE || b == NONE)
		return a == NONE ? b : a;
	return m->inputs[b].frontier < m->inputs[a].frontier ? b : a;
}

/* Replay input's path in tree after its leaf changed (see the top). */
static void tree_update(const struct af_merge *m, uint32_t *tree, uint32_t input, bool playing,
                        uint32_t (*match)(const struct af_merge *, uint32_t, uint32_t))
{
	uint32_t k = m->leaves + input;
	tree[k] = playing ? input : NONE;
	for (k >>= 1; k >= 1; k >>= 1) {
		uint32_t was = tree[k];
		uint32_t won = match(m, tree[2 * k], tree[2 * k + 1]);
		if (won == was && won != input)
			return;
		tree[k] = won;
	}
}

static void run_changed(struct af_merge *m, uint32_t input)
{
	tree_update(m, m->run_tree, input, m->inputs[input].run_len > 0, run_match);
}

/* After input's frontier rose, or it finished, slept or woke. */
static void front_changed(struct af_merge *m, uint32_t input)
{
	tree_update(m, m->front_tree, input, awake(&m->inputs[input]), front_match);
	m->next = m->front_tree[1];
	m->min_frontier = m->next == NONE ? INT64_MAX : m->inputs[m->next].frontier;
}

/* Nothing buffered, every input unknown and awake, nothing forced; the
 * trees are left for trees_build. */
static void clear(struct af_merge *m)
{
	/* Slot 0 on top, so slots are used from the lowest. */
	for (size_t i = 0; i < m->cap; i++)
		m->free_slots[i] = (uint32_t)(m->cap - 1 - i);
	m->nfree = m->cap;
	m->size = 0;
	m->heap_size = 0;
	for (uint32_t i = 0; i < m->ninputs; i++)
		m->inputs[i] = (struct input){.frontier = INT64_MIN};
	m->forced = 0;
	m->least_known = false;
}

/* Both trees, next and min_frontier from the inputs' states, whole. */
static void trees_build(struct af_merge *m)
{
	for (size_t k = 0; k < 2 * (size_t)m->leaves; k++)
		m->run_tree[k] = m->front_tree[k] = NONE;
	for (uint32_t i = 0; i < m->ninputs; i++) {
		if (m->inputs[i].run_len > 0)
			m->run_tree[m->leaves + i] = i;
		if (awake(&m->inputs[i]))
			m->front_tree[m->leaves + i] = i;
	}
	for (uint32_t k = m->leaves - 1; k >= 1; k--) {
		m->run_tree[k] = run_match(m, m->run_tree[2 * k], m->run_tree[2 * k + 1]);
		m->front_tree[k] = front_match(m, m->front_tree[2 * k], m->front_tree[2 * k + 1]);
	}
	m->next = m->front_tree[1];
	m->min_frontier = m->next == NONE ? INT64_MAX : m->inputs[m->next].frontier;
}

struct af_merge *af_merge_new(uint32_t ninputs, int64_t window_ns, size_t max_buffered)
{
	struct af_merge *m;

	assert(ninputs >= 1 && window_ns >= 0 && max_buffered >= 1);
	assert(max_buffered <= UINT32_MAX);
	m = calloc(1, sizeof *m);
	if (m == NULL)
		return NULL;
	m->leaves = 1;
	while (m->leaves < ninputs)
		m->leaves *= 2;
	m->run_cap = MERGE_RUN_CAP;
	while (m->run_cap >= MERGE_RUN_MIN && (size_t)m->run_cap * ninputs > max_buffered)
		m->run_cap /= 2;
	m->events = malloc(max_buffered * sizeof *m->events);
	m->late = malloc(max_buffered * sizeof *m->late);
	m->free_slots = malloc(max_buffered * sizeof *m->free_slots);
	m->heap = malloc(max_buffered * sizeof *m->heap);
	m->inputs = malloc(ninputs * sizeof *m->inputs);
	m->run_tree = malloc(2 * (size_t)m->leaves * sizeof *m->run_tree);
	m->front_tree = malloc(2 * (size_t)m->leaves * sizeof *m->front_tree);
	if (m->run_cap >= MERGE_RUN_MIN)
		m->runs = malloc((size_t)m->run_cap * ninputs * sizeof *m->runs);
	if (m->events == NULL || m->late == NULL || m->free_slots == NULL || m->heap == NULL ||
	    m->inputs == NULL || m->run_tree == NULL || m->front_tree == NULL ||
	    (m->run_cap >= MERGE_RUN_MIN && m->runs == NULL)) {
		af_merge_free(m);
		return NULL;
	}
	m->cap = max_buffered;
	m->ninputs = ninputs;
	m->window_ns = window_ns;
	clear(m);
	/* Every input awake at INT64_MIN: the lowest number leads; no runs. */
	trees_build(m);
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
	free(m->runs);
	free(m->run_tree);
	free(m->front_tree);
	free(m->inputs);
	free(m);
}

static void raise_frontier(struct af_merge *m, uint32_t input, int64_t frontier)
{
	struct input *in = &m->inputs[input];

	if (frontier <= in->frontier)
		return;
	in->frontier = frontier;
	if (awake(in))
		front_changed(m, input);
}

uint32_t af_merge_next_input(const struct af_merge *m)
{
	return m->next;
}

static int64_t sub_saturated(int64_t a, int64_t b)
{
	return a < INT64_MIN + b ? INT64_MIN : a - b;
}

static void heap_insert(struct af_merge *m, const struct node *n)
{
	size_t i = m->heap_size++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!before(n, &m->heap[parent]))
			break;
		m->heap[i] = m->heap[parent];
		i = parent;
	}
	m->heap[i] = *n;
}

void af_merge_push(struct af_merge *m, const struct af_event *ev, int64_t frontier)
{
	uint32_t input = ev->pos.input;
	struct input *in = &m->inputs[input];

	assert(m->size < m->cap);
	assert(input < m->ninputs && !in->finished);
	m->least_known = false;
	if (in->idle) {
		/* Back from idle: it holds W again, from its own frontier. */
		in->idle = false;
		front_changed(m, input);
	}

	raise_frontier(m, input, frontier > ev->ts_ns ? frontier : ev->ts_ns);
	int64_t edge = sub_saturated(in->frontier, m->window_ns);
	bool late = ev->ts_ns < edge;

	uint32_t slot = m->free_slots[--m->nfree];
	memcpy(&m->events[slot], ev, sizeof *ev);
	m->late[slot] = late;
	struct node n = {
	    .key = late ? edge : ev->ts_ns, .seq = ev->pos.seq, .input = input, .slot = slot};

	m->size++;
	if (m->runs != NULL && in->run_len < m->run_cap &&
	    (in->run_len == 0 || before(run_at(m, input, in->run_len - 1), &n))) {
		*run_at(m, input, in->run_len++) = n;
		if (in->run_len == 1)
			run_changed(m, input);
		return;
	}
	heap_insert(m, &n);
}

/* The first node of the heap (from NONE) or of input from's run. */
static const struct node *first_of(const struct af_merge *m, uint32_t from)
{
	if (from == NONE)
		return &m->heap[0];
	return run_at(m, from, 0);
}

/* The least node held: the heap's top or the least run head. Returns the
 * input whose run holds it, or NONE for the heap. @pre m->size > 0. */
static uint32_t least(const struct af_merge *m, const struct node **out)
{
	uint32_t from = m->run_tree[1];

	if (from == NONE || (m->heap_size > 0 && before(&m->heap[0], run_at(m, from, 0))))
		from = NONE;
	*out = first_of(m, from);
	return from;
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
	front_changed(m, input);
}

void af_merge_wake(struct af_merge *m, uint32_t input)
{
	assert(input < m->ninputs);
	if (!m->inputs[input].idle)
		return;
	m->inputs[input].idle = false;
	front_changed(m, input);
}

void af_merge_idle(struct af_merge *m, uint32_t input)
{
	assert(input < m->ninputs);
	if (m->inputs[input].idle)
		return;
	m->inputs[input].idle = true;
	front_changed(m, input);
}

/* Whether a key is safe to release: no event still to come can sort before
 * it (see merge.h). */
static bool safe(const struct af_merge *m, int64_t key)
{
	if (m->next == NONE)
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
	if (from == NONE) {
		heap_remove_top(m);
	} else {
		struct input *in = &m->inputs[from];
		in->run_head = (in->run_head + 1) & (m->run_cap - 1);
		in->run_len--;
		run_changed(m, from);
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

void af_merge_each(const struct af_merge *m, void (*fn)(const struct af_event *ev, void *ctx),
                   void *ctx)
{
	for (size_t k = 0; k < m->heap_size; k++)
		fn(&m->events[m->heap[k].slot], ctx);
	for (uint32_t i = 0; i < m->ninputs; i++)
		for (uint32_t k = 0; k < m->inputs[i].run_len; k++)
			fn(&m->events[run_at(m, i, k)->slot], ctx);
}

bool af_merge_full(const struct af_merge *m)
{
	return m->size == m->cap;
}

/* ---- snapshots ---- */

/* An input's state bits in a snapshot. */
enum { SNAP_FINISHED = 1u << 0, SNAP_IDLE = 1u << 1 };

uint64_t af_merge_layout(void)
{
	/* The loader reads an event's input and record number from its raw
	 * bytes, so their places count as well as the sizes. */
	const uint64_t sizes[] = {sizeof(struct af_event),
	                          sizeof(struct af_pos),
	                          sizeof(struct af_geo),
	                          sizeof(struct af_ip),
	                          offsetof(struct af_event, ts_ns),
	                          offsetof(struct af_event, pos),
	                          offsetof(struct af_pos, input),
	                          offsetof(struct af_pos, seq)};
	return XXH3_64bits(sizes, sizeof(sizes));
}

static void save_node(const struct af_merge *m, const struct node *n, struct af_snap_writer *w)
{
	uint8_t late = m->late[n->slot];

	af_snap_put_u64(w, (uint64_t)n->key);
	af_snap_put(w, &late, 1);
	af_snap_put(w, &m->events[n->slot], sizeof(struct af_event));
}

void af_merge_save(const struct af_merge *m, struct af_snap_writer *w)
{
	af_snap_put_u32(w, m->ninputs);
	af_snap_put_u64(w, (uint64_t)m->window_ns);
	af_snap_put_u64(w, m->forced);
	af_snap_put_u64(w, m->size);
	af_snap_put_u64(w, m->heap_size);
	for (uint32_t i = 0; i < m->ninputs; i++) {
		const struct input *in = &m->inputs[i];

		af_snap_put_u64(w, (uint64_t)in->frontier);
		af_snap_put_u32(w,
		                (in->finished ? SNAP_FINISHED : 0u) | (in->idle ? SNAP_IDLE : 0u));
	}
	for (size_t k = 0; k < m->heap_size; k++)
		save_node(m, &m->heap[k], w);
	for (uint32_t i = 0; i < m->ninputs; i++) {
		af_snap_put_u32(w, m->inputs[i].run_len);
		for (uint32_t k = 0; k < m->inputs[i].run_len; k++)
			save_node(m, run_at(m, i, k), w);
	}
}

/* Read one node and its event into a free slot, as push would have made
 * it, into *n. False when v is short or the node breaks what push
 * guarantees: an input in range, a verdict of 0 or 1, the key the event's
 * own time when on time and above it when late, and a key no later than
 * its input's frontier allows (push fixed it from a frontier that has not
 * fallen since). @pre m->nfree > 0. */
static bool load_node(struct af_merge *m, struct af_snap_view *v, struct node *n, bool *damaged)
{
	uint32_t slot = m->free_slots[m->nfree - 1];
	struct af_event *ev = &m->events[slot];
	uint64_t key;
	uint8_t late;

	*damaged = false;
	if (!af_snap_take_u64(v, &key) || !af_snap_take(v, &late, 1) ||
	    !af_snap_take(v, ev, sizeof *ev))
		return false;
	*n = (struct node){
	    .key = (int64_t)key, .seq = ev->pos.seq, .input = ev->pos.input, .slot = slot};
	if (n->input >= m->ninputs || late > 1 ||
	    (late ? n->key <= ev->ts_ns : n->key != ev->ts_ns)) {
		*damaged = true;
		return false;
	}
	int64_t frontier = m->inputs[n->input].frontier;
	if (n->key > (late ? sub_saturated(frontier, m->window_ns) : frontier)) {
		*damaged = true;
		return false;
	}
	m->nfree--;
	m->late[slot] = late != 0;
	m->size++;
	return true;
}

af_err_t af_merge_load(struct af_merge *m, struct af_snap_view *v, char *errstr, size_t errstr_size)
{
	uint32_t ninputs;
	uint64_t window, forced, size, heap_size;
	struct node n, prev = {0};
	bool damaged = false;

	if (!af_snap_take_u32(v, &ninputs) || !af_snap_take_u64(v, &window) ||
	    !af_snap_take_u64(v, &forced) || !af_snap_take_u64(v, &size) ||
	    !af_snap_take_u64(v, &heap_size))
		goto short_view;
	if (ninputs != m->ninputs) {
		snprintf(errstr, errstr_size,
		         "the reorder buffer was saved merging %" PRIu32
		         " inputs; this run merges %" PRIu32 " (the inputs must be the same)",
		         ninputs, m->ninputs);
		return AF_E_CONFIG;
	}
	if ((int64_t)window != m->window_ns) {
		snprintf(errstr, errstr_size,
		         "the reorder buffer was saved with a window of %" PRId64
		         " ns; this run's is %" PRId64 " ns (input.reorder_window)",
		         (int64_t)window, m->window_ns);
		return AF_E_CONFIG;
	}
	if (size > m->cap) {
		snprintf(errstr, errstr_size,
		         "the reorder buffer holds %" PRIu64
		         " events; this run's holds at most %zu (its max_buffered)",
		         size, m->cap);
		return AF_E_CONFIG;
	}
	if (heap_size > size) {
		snprintf(errstr, errstr_size,
		         "damaged: the reorder buffer's heap holds more events than the buffer");
		return AF_E_FORMAT;
	}
	clear(m);
	m->forced = forced;
	for (uint32_t i = 0; i < m->ninputs; i++) {
		uint64_t frontier;
		uint32_t state;

		if (!af_snap_take_u64(v, &frontier) || !af_snap_take_u32(v, &state))
			goto short_view;
		if (state & ~(uint32_t)(SNAP_FINISHED | SNAP_IDLE)) {
			snprintf(errstr, errstr_size,
			         "damaged: input %" PRIu32 " of the reorder buffer has a bad state",
			         i);
			return AF_E_FORMAT;
		}
		m->inputs[i] = (struct input){.frontier = (int64_t)frontier,
		                              .finished = (state & SNAP_FINISHED) != 0,
		                              .idle = (state & SNAP_IDLE) != 0};
	}
	/* The heap goes back in its array order, checked to be a heap. */
	for (size_t k = 0; k < heap_size; k++) {
		if (!load_node(m, v, &n, &damaged))
			goto bad_node;
		if (k > 0 && before(&n, &m->heap[(k - 1) / 2])) {
			snprintf(errstr, errstr_size,
			         "damaged: the reorder buffer's heap is out of order");
			return AF_E_FORMAT;
		}
		m->heap[m->heap_size++] = n;
	}
	/* Each run back in its order; what a smaller run than the saved one
	 * cannot hold goes to the heap, as push would have sent it. */
	uint64_t left = size - heap_size;
	for (uint32_t i = 0; i < m->ninputs; i++) {
		struct input *in = &m->inputs[i];
		uint32_t len;

		if (!af_snap_take_u32(v, &len))
			goto short_view;
		if (len > left) {
			snprintf(
			    errstr, errstr_size,
			    "damaged: the reorder buffer's runs hold more events than it says");
			return AF_E_FORMAT;
		}
		left -= len;
		for (uint32_t k = 0; k < len; k++) {
			if (!load_node(m, v, &n, &damaged))
				goto bad_node;
			if (n.input != i || (k > 0 && !before(&prev, &n))) {
				snprintf(errstr, errstr_size,
				         "damaged: run %" PRIu32
				         " of the reorder buffer is out of order",
				         i);
				return AF_E_FORMAT;
			}
			if (m->runs != NULL && in->run_len < m->run_cap)
				*run_at(m, i, in->run_len++) = n;
			else
				heap_insert(m, &n);
			prev = n;
		}
	}
	if (left > 0) {
		snprintf(errstr, errstr_size,
		         "damaged: the reorder buffer's runs hold fewer events than it says");
		return AF_E_FORMAT;
	}
	if (!af_snap_done(v)) {
		snprintf(errstr, errstr_size, "damaged: bytes follow a reorder buffer's state");
		return AF_E_FORMAT;
	}
	trees_build(m);
	return AF_OK;
bad_node:
	if (damaged) {
		snprintf(errstr, errstr_size,
		         "damaged: an event of the reorder buffer has a bad input, key or verdict");
		return AF_E_FORMAT;
	}
short_view:
	snprintf(errstr, errstr_size, "damaged: a reorder buffer's state ends short");
	return AF_E_FORMAT;
}
