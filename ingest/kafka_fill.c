/* kafka_fill.c - the Kafka source's data path: messages into batches, the
 * stash, pending messages and completion, hold.
 *
 * Thread: the source thread (see ingest/kafka.h).
 * In: messages from rd_kafka_consumer_poll. Out: records in the caller's
 * batch; offsets stored as records complete.
 *
 * DESIGN: one message at a time is cut into records (the cursor); it
 * stays the cursor across calls until its last record has found room in a
 * batch, so a message is never split inside a record and never skipped. A
 * batch is of one partition: a message of another one that comes while a
 * batch fills waits in the stash (a ring with holes: taking the oldest
 * message of a given partition leaves a hole, filled when the ring is
 * compacted), and the stash is served before the consumer, oldest first,
 * so every partition's messages leave in their order. A message is given
 * a pending entry at its first record (see kafka_impl.h); one that yields
 * no record joins the entry before it, or is stored at once when none is
 * pending, so it never holds an offset back.
 */
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "ingest/kafka_impl.h"
#include "pipeline/clock.h"

enum fill { FILL_DONE, FILL_FULL, FILL_SMALL };
enum got { GOT_NONE, GOT_EVENT, GOT_MSG };

/* ---- pending entries ---- */

static uint32_t pend_push(struct af_kafka_src *s, struct af_kafka_input *in, int64_t offset)
{
	uint32_t i = s->pool_free;
	assert(i != KSRC_NONE); /* pending < max_pending when a message starts */
	s->pool_free = s->pool[i].next;
	s->pool[i] = (struct af_kafka_pend){.first = offset, .last = offset, .next = KSRC_NONE};
	if (in->tail == KSRC_NONE)
		in->head = i;
	else
		s->pool[in->tail].next = i;
	in->tail = i;
	s->pending++;
	return i;
}

static void pend_pop(struct af_kafka_src *s, struct af_kafka_input *in)
{
	uint32_t i = in->head;
	in->head = s->pool[i].next;
	if (in->head == KSRC_NONE)
		in->tail = KSRC_NONE;
	s->pool[i].next = s->pool_free;
	s->pool_free = i;
	s->pending--;
}

/* Store next (the offset after the last completed message) for commit. */
static void store_offset(struct af_kafka_src *s, uint32_t input, int64_t next)
{
	struct af_kafka_input *in = &s->in[input];
	if (!in->assigned || next <= in->stored)
		return;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, in->topic, in->partition)->offset = next;
	rd_kafka_resp_err_t err = rd_kafka_offsets_store(s->rk, l);
	if (!err)
		err = l->elems[0].err;
	rd_kafka_topic_partition_list_destroy(l);
	if (err) {
		/* Not assigned any more (a revocation librdkafka saw first):
		 * the next owner reads the messages again. */
		s->st.client_errors++;
		af_kafka_note(s, "storing offset %" PRId64 " of %s: %s", next, in->name,
		              rd_kafka_err2str(err));
		return;
	}
	in->stored = next;
}

/* A message that hands nothing on: it completes with the messages before
 * it, at once when none is pending. */
static void pass_over(struct af_kafka_src *s, uint32_t input, int64_t offset)
{
	struct af_kafka_input *in = &s->in[input];
	if (in->tail != KSRC_NONE) {
		assert(s->pool[in->tail].done);
		s->pool[in->tail].last = offset;
	} else {
		store_offset(s, input, offset + 1);
	}
}

/* Whether records this process handed on of input are not complete yet. */
static bool handed_unfinished(const struct af_kafka_input *in)
{
	return in->next_seq > in->done_to;
}

/* A pending entry for the message at offset that completes with every
 * record of in handed on so far (a message read again: its first
 * hand-over is among them). */
static uint32_t pend_cover(struct af_kafka_src *s, struct af_kafka_input *in, int64_t offset)
{
	uint32_t i = pend_push(s, in, offset);
	s->pool[i].last_seq = in->next_seq - 1;
	return i;
}

/* A message of input this process cut whole before its partition was
 * taken away and given back: nothing is handed on again, and it completes
 * once every record handed on so far has (they include its own). */
static void message_again(struct af_kafka_src *s, uint32_t input, int64_t offset)
{
	struct af_kafka_input *in = &s->in[input];
	s->st.again++;
	if (!handed_unfinished(in)) {
		pass_over(s, input, offset);
	} else if (in->tail != KSRC_NONE && s->pool[in->tail].last_seq == in->next_seq - 1) {
		/* The entry before covers the same records: join it. */
		pass_over(s, input, offset);
	} else {
		s->pool[pend_cover(s, in, offset)].done = true;
	}
}

/* ---- the stash ---- */

static inline struct af_kafka_held *slot(struct af_kafka_src *s, uint32_t k)
{
	return &s->stash[(s->stash_head + k) % s->stash_cap];
}

/* Advance the head over taken slots. */
static void stash_trim(struct af_kafka_src *s)
{
	while (s->stash_span > 0 && slot(s, 0)->msg == NULL) {
		s->stash_head = (s->stash_head + 1) % s->stash_cap;
		s->stash_span--;
	}
}

static void stash_compact(struct af_kafka_src *s)
{
	uint32_t j = 0;
	for (uint32_t k = 0; k < s->stash_span; k++) {
		if (slot(s, k)->msg == NULL)
			continue;
		if (j != k) {
			*slot(s, j) = *slot(s, k);
			slot(s, k)->msg = NULL;
		}
		j++;
	}
	s->stash_span = j;
}

static bool stash_push(struct af_kafka_src *s, rd_kafka_message_t *m, uint32_t input)
{
	if (s->stash_span == s->stash_cap)
		stash_compact(s);
	if (s->stash_span == s->stash_cap)
		return false;
	*slot(s, s->stash_span++) = (struct af_kafka_held){.msg = m, .input = input};
	s->stash_live++;
	s->in[input].stashed++;
	return true;
}

/* The oldest held message of want (KSRC_NONE: of any input). */
static rd_kafka_message_t *stash_take(struct af_kafka_src *s, uint32_t want, uint32_t *input)
{
	if (s->stash_live == 0 || (want != KSRC_NONE && s->in[want].stashed == 0))
		return NULL;
	for (uint32_t k = 0; k < s->stash_span; k++) {
		struct af_kafka_held *h = slot(s, k);
		if (h->msg == NULL || (want != KSRC_NONE && h->input != want))
			continue;
		rd_kafka_message_t *m = h->msg;
		*input = h->input;
		h->msg = NULL;
		s->stash_live--;
		s->in[*input].stashed--;
		stash_trim(s);
		return m;
	}
	return NULL;
}

/* Offset of the oldest held message of input, or -1. */
static int64_t stash_first(struct af_kafka_src *s, uint32_t input)
{
	for (uint32_t k = 0; k < s->stash_span && s->in[input].stashed; k++) {
		struct af_kafka_held *h = slot(s, k);
		if (h->msg && h->input == input)
			return h->msg->offset;
	}
	return -1;
}

static void stash_drop(struct af_kafka_src *s, uint32_t input)
{
	for (uint32_t k = 0; k < s->stash_span; k++) {
		struct af_kafka_held *h = slot(s, k);
		if (h->msg == NULL || (input != KSRC_NONE && h->input != input))
			continue;
		rd_kafka_message_destroy(h->msg);
		h->msg = NULL;
		s->stash_live--;
		s->in[h->input].stashed--;
	}
	stash_trim(s);
}

/* ---- revocation and close ---- */

static void cursor_drop(struct af_kafka_src *s)
{
	rd_kafka_message_destroy(s->cur.msg);
	s->cur.msg = NULL;
	s->cur.pend = KSRC_NONE;
}

void af_kafka_drop_input(struct af_kafka_src *s, uint32_t input)
{
	struct af_kafka_input *in = &s->in[input];
	while (in->head != KSRC_NONE)
		pend_pop(s, in);
	stash_drop(s, input);
	if (s->cur.msg && s->cur.input == input) {
		if (s->cur.pend != KSRC_NONE) {
			/* Cut in part: the rest is cut when it comes again. */
			in->part = s->cur.msg->offset;
			in->part_records = s->cur.sp.index;
		}
		cursor_drop(s);
	}
	in->eof = false;
	in->rewound = -1;
}

void af_kafka_drop_all(struct af_kafka_src *s)
{
	stash_drop(s, KSRC_NONE);
	if (s->cur.msg)
		cursor_drop(s);
}

int64_t af_kafka_resume_offset(struct af_kafka_src *s, uint32_t input)
{
	struct af_kafka_input *in = &s->in[input];
	if (in->stored >= 0)
		return in->stored;
	/* Nothing completed in this assignment: the first message held, in
	 * the order they came (pending, the cursor, the stash), or rewound. */
	int64_t off = -1;
	if (in->head != KSRC_NONE)
		off = s->pool[in->head].first;
	else if (s->cur.msg && s->cur.input == input)
		off = s->cur.msg->offset;
	else
		off = stash_first(s, input);
	if (in->rewound >= 0 && (off < 0 || in->rewound < off))
		off = in->rewound;
	if (off >= 0)
		return off;
	/* Nothing taken: where the consumer stands (the start offset
	 * resolved), so a later assignment does not rewind. */
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, in->topic, in->partition);
	if (rd_kafka_position(s->rk, l) == RD_KAFKA_RESP_ERR_NO_ERROR && !l->elems[0].err)
		off = l->elems[0].offset;
	rd_kafka_topic_partition_list_destroy(l);
	return off >= 0 ? off : -1;
}

bool af_kafka_all_at_end(const struct af_kafka_src *s)
{
	if (s->assigned == 0 || s->stash_live > 0 || s->cur.msg)
		return false;
	for (uint32_t i = 0; i < s->ninputs; i++)
		if (s->in[i].assigned && !s->in[i].eof)
			return false;
	return true;
}

/* ---- the consumer ---- */

static int wait_ms(double deadline)
{
	if (deadline < 0)
		return -1;
	double left = deadline - af_clock_s();
	return left <= 0 ? 0 : (int)(left * 1000.0) + 1;
}

/* Poll once: a message of an assigned partition (GOT_MSG, *m and *input
 * set), an event served (GOT_EVENT), or nothing in timeout_ms. */
static enum got receive(struct af_kafka_src *s, int timeout_ms, rd_kafka_message_t **m,
                        uint32_t *input)
{
	rd_kafka_message_t *msg = rd_kafka_consumer_poll(s->rk, timeout_ms);
	if (!msg)
		return GOT_NONE;
	if (msg->err) {
		af_kafka_event(s, msg);
		rd_kafka_message_destroy(msg);
		return GOT_EVENT;
	}
	s->answered = true;
	s->all_down = false;
	uint32_t i = af_kafka_input_find(s, rd_kafka_topic_name(msg->rkt), msg->partition);
	if (i == KSRC_NONE || !s->in[i].assigned) {
		/* Of a partition revoked a moment ago: its next owner has it. */
		rd_kafka_message_destroy(msg);
		return GOT_EVENT;
	}
	struct af_kafka_input *in = &s->in[i];
	in->eof = false;
	if (in->rewound >= 0 && msg->offset >= in->rewound)
		in->rewound = -1;
	*m = msg;
	*input = i;
	return GOT_MSG;
}

/* Give m back to librdkafka: fetch it again after the resume. */
static void rewind_to(struct af_kafka_src *s, rd_kafka_message_t *m, uint32_t input)
{
	struct af_kafka_input *in = &s->in[input];
	int64_t offset = m->offset;
	rd_kafka_message_destroy(m);
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, in->topic, in->partition)->offset = offset;
	/* A timeout makes the seek wait until no message fetched before it
	 * can be handed over any more. */
	rd_kafka_error_t *error = rd_kafka_seek_partitions(s->rk, l, KSRC_WAIT_MS);
	const char *why = error             ? rd_kafka_error_string(error)
	                  : l->elems[0].err ? rd_kafka_err2str(l->elems[0].err)
	                                    : NULL;
	if (why)
		af_kafka_fail(s, AF_E_IO, "kafka: cannot rewind %s to offset %" PRId64 ": %s",
		              in->name, offset, why);
	else
		s->st.rewinds++;
	if (in->rewound < 0 || offset < in->rewound)
		in->rewound = offset;
	if (error)
		rd_kafka_error_destroy(error);
	rd_kafka_topic_partition_list_destroy(l);
}

void af_kafka_keep(struct af_kafka_src *s, rd_kafka_message_t *m, uint32_t input)
{
	if (!stash_push(s, m, input))
		rewind_to(s, m, input);
}

void af_kafka_serve(struct af_kafka_src *s, int timeout_ms)
{
	for (uint32_t n = 0; n <= s->stash_cap && s->fatal == AF_OK; n++) {
		rd_kafka_message_t *m;
		uint32_t input;
		enum got g = receive(s, n == 0 ? timeout_ms : 0, &m, &input);
		if (g == GOT_NONE)
			return;
		if (g == GOT_MSG)
			af_kafka_keep(s, m, input);
	}
}

/* The next message for a batch of want (KSRC_NONE: any, the batch is
 * empty): from the stash, else from the consumer until deadline, holding
 * back other partitions' messages while the stash has room. */
static bool take(struct af_kafka_src *s, uint32_t want, double deadline, rd_kafka_message_t **m,
                 uint32_t *input)
{
	if ((*m = stash_take(s, want, input)))
		return true;
	while (s->fatal == AF_OK) {
		if (want != KSRC_NONE && s->stash_live == s->stash_cap)
			return false;
		enum got g = receive(s, wait_ms(deadline), m, input);
		if (g == GOT_NONE)
			return false;
		if (g == GOT_MSG) {
			if (want == KSRC_NONE || *input == want)
				return true;
			bool kept = stash_push(s, *m, *input);
			assert(kept); /* room was checked above */
			(void)kept;
			continue;
		}
		if (want == KSRC_NONE && s->exit_at_end && af_kafka_all_at_end(s))
			return false;
	}
	return false;
}

/* ---- batches ---- */

/* The cursor's message was cut in part before its partition was taken
 * away: skip the records handed on then; it completes with them. */
static void resume_part(struct af_kafka_src *s)
{
	struct af_kafka_cursor *c = &s->cur;
	struct af_kafka_input *in = &s->in[c->input];
	size_t start, len;
	s->st.again++;
	c->again = true;
	while (c->sp.index < in->part_records && af_kafka_split_next(&c->sp, &start, &len))
		;
	if (handed_unfinished(in))
		c->pend = pend_cover(s, in, c->msg->offset);
}

/* Cut the cursor's message into b until it ends (FILL_DONE, cursor
 * released) or b is full (FILL_FULL; FILL_SMALL when b is empty). */
static enum fill cursor_fill(struct af_kafka_src *s, struct af_rt_batch *b)
{
	struct af_kafka_cursor *c = &s->cur;
	struct af_kafka_input *in = &s->in[c->input];
	size_t start, len;
	for (;;) {
		struct af_kafka_split save = c->sp;
		if (!af_kafka_split_next(&c->sp, &start, &len))
			break;
		const char *data = c->sp.p + start;
		struct af_rt_rec r = {.file = c->input,
		                      .reason = AF_REASON_NONE,
		                      .line = c->sp.index,
		                      .offset = (uint64_t)c->msg->offset,
		                      .seq = in->next_seq};
		size_t keep = len;
		if (len > s->max_record) {
			r.reason = AF_REASON_OVERSIZE;
			keep = s->max_record < KSRC_EXCERPT ? s->max_record : KSRC_EXCERPT;
		} else if (memchr(data, '\0', len)) {
			r.reason = AF_REASON_NUL_BYTES;
			keep = len < KSRC_EXCERPT ? len : KSRC_EXCERPT;
		}
		if (!af_rt_batch_add(b, data, keep, &r)) {
			c->sp = save;
			return b->count == 0 ? FILL_SMALL : FILL_FULL;
		}
		if (c->pend == KSRC_NONE)
			c->pend = pend_push(s, in, c->msg->offset);
		s->pool[c->pend].last_seq = in->next_seq++;
		s->st.records++;
		s->st.oversize += r.reason == AF_REASON_OVERSIZE;
		s->st.nul_bytes += r.reason == AF_REASON_NUL_BYTES;
	}
	if (c->pend == KSRC_NONE) {
		s->st.empty += !c->again;
		pass_over(s, c->input, c->msg->offset);
	} else {
		s->pool[c->pend].done = true;
	}
	in->handed = c->msg->offset + 1;
	if (in->handed > in->seen)
		in->seen = in->handed;
	if (in->part == c->msg->offset)
		in->part = -1;
	cursor_drop(s);
	return FILL_DONE;
}

static af_err_t fill(struct af_kafka_src *s, struct af_rt_batch *b, int timeout_ms)
{
	double deadline = timeout_ms < 0 ? -1 : af_clock_s() + timeout_ms / 1000.0;
	uint32_t want = KSRC_NONE;
	enum fill f = FILL_DONE;
	if (s->cur.msg) {
		want = b->input = s->cur.input;
		f = cursor_fill(s, b);
	}
	while (f == FILL_DONE && s->fatal == AF_OK && b->count < b->cap) {
		if (s->pending >= s->max_pending) {
			s->pause_pending = true;
			af_kafka_pause(s);
			if (b->count == 0)
				af_kafka_serve(s, wait_ms(deadline));
			break;
		}
		rd_kafka_message_t *m;
		uint32_t input;
		/* Once a record is in, take only what is there already. */
		if (!take(s, want, b->count ? 0 : deadline, &m, &input))
			break;
		if (m->offset < s->in[input].seen) {
			message_again(s, input, m->offset);
			rd_kafka_message_destroy(m);
			continue;
		}
		if (want == KSRC_NONE)
			want = b->input = input;
		s->cur = (struct af_kafka_cursor){.msg = m, .input = input, .pend = KSRC_NONE};
		af_kafka_split_init(&s->cur.sp, m->payload, m->len);
		s->st.messages++;
		s->st.bytes += m->len;
		if (m->offset == s->in[input].part)
			resume_part(s);
		f = cursor_fill(s, b);
		if (b->count == 0)
			want = KSRC_NONE; /* only empty messages so far */
	}
	if (f == FILL_SMALL) {
		af_kafka_fail(s, AF_E_INVALID,
		              "kafka: a record of %s does not fit in an empty batch (%zu bytes, "
		              "%" PRIu32 " slots): batches must hold max_record_bytes",
		              s->in[s->cur.input].name, b->size, b->cap);
	}
	if (s->fatal != AF_OK)
		return s->fatal;
	if (b->count > 0)
		return AF_OK;
	return s->exit_at_end && af_kafka_all_at_end(s) ? AF_EOF : AF_E_AGAIN;
}

af_err_t af_kafka_src_next(struct af_kafka_src *s, struct af_rt_batch *b, int timeout_ms,
                           char *errstr, size_t errstr_size)
{
	assert(b->count == 0 && b->used == 0);
	b->last = false;
	if (s->holding) {
		s->holding = false;
		af_kafka_maybe_resume(s);
	}
	af_kafka_commit_tick(s);
	af_err_t e = s->fatal != AF_OK ? s->fatal : fill(s, b, timeout_ms);
	if (s->fatal != AF_OK)
		snprintf(errstr, errstr_size, "%s", s->fatal_msg);
	return e;
}

void af_kafka_src_complete(struct af_kafka_src *s, uint32_t input, uint64_t seq)
{
	if (input >= s->ninputs)
		return;
	struct af_kafka_input *in = &s->in[input];
	if (seq >= in->done_to)
		in->done_to = seq + 1;
	int64_t next = -1;
	while (in->head != KSRC_NONE) {
		const struct af_kafka_pend *p = &s->pool[in->head];
		if (!p->done || p->last_seq > seq)
			break;
		next = p->last + 1;
		pend_pop(s, in);
	}
	if (next >= 0)
		store_offset(s, input, next);
	af_kafka_maybe_resume(s);
}

void af_kafka_src_hold(struct af_kafka_src *s)
{
	af_kafka_commit_tick(s);
	double t = af_clock_s();
	if (!s->holding) {
		s->holding = true;
		s->hold_since = t;
		return;
	}
	if (t - s->hold_since < KSRC_HOLD_S || s->fatal != AF_OK)
		return;
	af_kafka_pause(s);
	af_kafka_serve(s, 0);
}
