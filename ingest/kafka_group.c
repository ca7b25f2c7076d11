/* kafka_group.c - the Kafka source in its consumer group: rebalances
 * (numbering, start offsets, commits on revocation), pause and resume, and
 * the client's events (errors, partition ends), and the commits.
 *
 * Thread: the source thread: librdkafka calls these back inside
 * rd_kafka_consumer_poll, rd_kafka_consumer_close and the commit calls.
 * In: librdkafka's rebalance and error callbacks, our commits' results,
 * and the events consumer_poll returns. Out: the assignment taken
 * (incremental or whole), offsets committed, the source's state updated.
 *
 * DESIGN: both protocols. With cooperative-sticky (the default) a
 * rebalance hands out or takes back only the partitions that move, with
 * rd_kafka_incremental_assign/unassign, and the others keep flowing; with
 * an eager strategy every rebalance revokes everything and assigns anew
 * (rd_kafka_assign). The handling is the same per partition: a revoked
 * partition's resume point is committed (unless the assignment was lost)
 * and what the source holds of it is dropped; an assigned one starts at
 * opts.offset the first time, at the committed offset after that.
 */
#include <inttypes.h>
#include <string.h>

#include "ingest/kafka_impl.h"
#include "pipeline/clock.h"

/* librdkafka answers NULL when it knows no protocol (no group joined yet,
 * or left already: a revocation during close). */
static bool cooperative(rd_kafka_t *rk)
{
	const char *p = rd_kafka_rebalance_protocol(rk);
	return p != NULL && strcmp(p, "COOPERATIVE") == 0;
}

/* ---- pause ---- */

/* Pause or resume parts, or the whole assignment when parts is NULL. */
static void pause_resume(struct af_kafka_src *s, rd_kafka_topic_partition_list_t *parts, bool pause)
{
	rd_kafka_topic_partition_list_t *l = parts;
	if (!l && rd_kafka_assignment(s->rk, &l) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	if (l->cnt > 0) {
		if (pause)
			rd_kafka_pause_partitions(s->rk, l);
		else
			rd_kafka_resume_partitions(s->rk, l);
	}
	if (l != parts)
		rd_kafka_topic_partition_list_destroy(l);
}

void af_kafka_pause(struct af_kafka_src *s)
{
	if (s->paused)
		return;
	pause_resume(s, NULL, true);
	s->paused = true;
	s->st.paused++;
}

void af_kafka_maybe_resume(struct af_kafka_src *s)
{
	if (!s->paused || s->holding)
		return;
	if (s->pause_pending && s->pending > s->max_pending / 2)
		return;
	pause_resume(s, NULL, false);
	s->paused = false;
	s->pause_pending = false;
}

/* ---- assignment ---- */

/* Where the first assignment of a partition starts, by time: look the
 * offsets up for the partitions in times and write them into parts. */
static void start_by_time(struct af_kafka_src *s, rd_kafka_topic_partition_list_t *parts,
                          rd_kafka_topic_partition_list_t *times)
{
	rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(s->rk, times, KSRC_WAIT_MS);
	for (int i = 0; i < times->cnt; i++) {
		const rd_kafka_topic_partition_t *t = &times->elems[i];
		rd_kafka_resp_err_t e = err ? err : t->err;
		if (e) {
			af_kafka_fail(s, AF_E_IO,
			              "kafka: --offset s@%" PRId64 ": looking up %s[%" PRId32
			              "]: %s",
			              s->start_value, t->topic, t->partition, rd_kafka_err2str(e));
			return;
		}
		rd_kafka_topic_partition_t *p =
		    rd_kafka_topic_partition_list_find(parts, t->topic, t->partition);
		/* -1: no message that late; that is the end. */
		if (p)
			p->offset = t->offset >= 0 ? t->offset : RD_KAFKA_OFFSET_END;
	}
}

static void set_start(struct af_kafka_src *s, rd_kafka_topic_partition_list_t *parts)
{
	rd_kafka_topic_partition_list_t *times = NULL;
	for (int i = 0; i < parts->cnt; i++) {
		rd_kafka_topic_partition_t *p = &parts->elems[i];
		uint32_t input = af_kafka_input_find(s, p->topic, p->partition);
		if (input == KSRC_NONE || s->in[input].started)
			continue;
		if (s->in[input].resume >= 0) {
			/* Where the checkpoint resumed from left it. */
			p->offset = s->in[input].resume;
			continue;
		}
		switch (s->start) {
		case KSTART_STORED: break;
		case KSTART_BEGINNING: p->offset = RD_KAFKA_OFFSET_BEGINNING; break;
		case KSTART_END: p->offset = RD_KAFKA_OFFSET_END; break;
		case KSTART_ABS: p->offset = s->start_value; break;
		case KSTART_TAIL: p->offset = RD_KAFKA_OFFSET_TAIL(s->start_value); break;
		case KSTART_TIME:
			if (!times)
				times = rd_kafka_topic_partition_list_new(parts->cnt);
			rd_kafka_topic_partition_list_add(times, p->topic, p->partition)->offset =
			    s->start_value;
			break;
		}
	}
	if (times) {
		start_by_time(s, parts, times);
		rd_kafka_topic_partition_list_destroy(times);
	}
}

static void on_assign(struct af_kafka_src *s, rd_kafka_topic_partition_list_t *parts)
{
	for (int i = 0; i < parts->cnt; i++)
		af_kafka_input_get(s, parts->elems[i].topic, parts->elems[i].partition);
	set_start(s, parts);
	/* Taken even when the run has failed (too many partitions, say), so
	 * that librdkafka's state stays consistent until close. */
	const char *why = NULL;
	rd_kafka_error_t *error = NULL;
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
	if (cooperative(s->rk))
		error = rd_kafka_incremental_assign(s->rk, parts);
	else
		err = rd_kafka_assign(s->rk, parts);
	if (error || err) {
		why = error ? rd_kafka_error_string(error) : rd_kafka_err2str(err);
		af_kafka_fail(s, AF_E_IO, "kafka: cannot take the assigned partitions: %s", why);
		if (error)
			rd_kafka_error_destroy(error);
		return;
	}
	for (int i = 0; i < parts->cnt; i++) {
		uint32_t input =
		    af_kafka_input_find(s, parts->elems[i].topic, parts->elems[i].partition);
		if (input == KSRC_NONE)
			continue;
		struct af_kafka_input *in = &s->in[input];
		if (!in->assigned)
			s->assigned++;
		in->assigned = true;
		in->started = true;
		in->eof = false;
		s->changes++;
		/* librdkafka forgets a partition's stored offset on assign. */
		in->stored = in->committed = in->handed = in->rewound = -1;
	}
	if (s->paused && parts->cnt > 0)
		rd_kafka_pause_partitions(s->rk, parts);
}

static void unassign_input(struct af_kafka_src *s, uint32_t input)
{
	af_kafka_drop_input(s, input);
	if (s->in[input].assigned && --s->assigned == 0)
		s->none_since = af_clock_s();
	s->in[input].assigned = false;
	s->changes++;
}

/* Give up the partitions in parts, or every assigned input when parts is
 * NULL (a failed rebalance, whose list librdkafka does not promise): what
 * the source holds of them is dropped, and a pause of ours is undone,
 * since librdkafka keeps a partition's pause through its revocation (one
 * given back after our resume would stay paused for good). Handing them
 * back to librdkafka is the caller's, after this. */
static void give_up(struct af_kafka_src *s, rd_kafka_topic_partition_list_t *parts)
{
	if (parts) {
		for (int i = 0; i < parts->cnt; i++) {
			uint32_t input = af_kafka_input_find(s, parts->elems[i].topic,
			                                     parts->elems[i].partition);
			if (input != KSRC_NONE)
				unassign_input(s, input);
		}
	} else {
		for (uint32_t i = 0; i < s->ninputs; i++)
			if (s->in[i].assigned)
				unassign_input(s, i);
	}
	if (s->paused)
		pause_resume(s, parts, false);
}

/* Where input resumes: its resume point, or where the commit at close
 * lost it if that is further (given back, it holds nothing yet). */
static int64_t resume_at(struct af_kafka_src *s, uint32_t input)
{
	int64_t off = af_kafka_resume_offset(s, input);
	return s->in[input].lost_at > off ? s->in[input].lost_at : off;
}

/* A lost assignment during the commit at close: each partition's resume
 * point is kept, to commit once the group hands it back (the member joins
 * again at once). Its records up to there are done: handed on, their
 * alerts accepted. */
static void keep_lost(struct af_kafka_src *s, const rd_kafka_topic_partition_list_t *parts)
{
	for (int i = 0; i < parts->cnt; i++) {
		uint32_t input =
		    af_kafka_input_find(s, parts->elems[i].topic, parts->elems[i].partition);
		if (input != KSRC_NONE && s->in[input].assigned)
			s->in[input].lost_at = resume_at(s, input);
	}
}

static void on_revoke(struct af_kafka_src *s, rd_kafka_topic_partition_list_t *parts)
{
	if (s->committing && rd_kafka_assignment_lost(s->rk))
		keep_lost(s, parts);
	if (!s->closing && !rd_kafka_assignment_lost(s->rk)) {
		rd_kafka_resp_err_t err =
		    af_kafka_commit_resume(s, parts, af_clock_s() + KSRC_WAIT_MS / 1000.0);
		if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
			af_kafka_note(s, "committing offsets of revoked partitions: %s",
			              rd_kafka_err2str(err));
	}
	give_up(s, parts);
	rd_kafka_error_t *error = NULL;
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
	if (cooperative(s->rk))
		error = rd_kafka_incremental_unassign(s->rk, parts);
	else
		err = rd_kafka_assign(s->rk, NULL);
	if (error || err) {
		s->st.client_errors++;
		af_kafka_note(s, "giving partitions back: %s",
		              error ? rd_kafka_error_string(error) : rd_kafka_err2str(err));
	}
	if (error)
		rd_kafka_error_destroy(error);
}

/* A rebalance is under way: no periodic commit until it ends. A commit
 * sent meanwhile carries a generation about to be replaced, and one
 * refused for an old generation makes librdkafka drop the whole
 * assignment as lost (rd_kafka_cgrp_op_handle_OffsetCommit), so that
 * everything not committed would be read again. */
static void rebalancing(struct af_kafka_src *s)
{
	s->rebalancing = true;
	s->rebalancing_since = af_clock_s();
}

/* Where the group's rebalance stands, for the periodic commit, which
 * holds from a revocation (or a refusal that says a rebalance is under
 * way) to the assignment that ends the rebalance, as librdkafka's own
 * auto-commit holds until its group is steady. librdkafka calls for an
 * assignment at the end of every rebalance, an empty one when nothing new
 * comes. Eager: all revoked, then the new assignment. Cooperative: a
 * revocation is followed by an assignment in the same round, and then the
 * member joins again (rd_kafka_cgrp_incr_unassign_done), so the second
 * assignment ends it; a lost assignment's revocation joins again at once. */
static void track_rebalance(struct af_kafka_src *s, rd_kafka_resp_err_t err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
		rebalancing(s);
		s->rejoin_after_assign = cooperative(s->rk) && !rd_kafka_assignment_lost(s->rk);
		break;
	case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
		if (s->rejoin_after_assign) {
			s->rejoin_after_assign = false;
			rebalancing(s);
		} else {
			s->rebalancing = false;
		}
		break;
	default: s->rebalancing = s->rejoin_after_assign = false; break;
	}
}

void af_kafka_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct af_kafka_src *s = opaque;
	s->answered = true;
	s->all_down = false;
	s->st.rebalances++;
	track_rebalance(s, err);
	switch (err) {
	case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS: on_assign(s, parts); break;
	case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS: on_revoke(s, parts); break;
	default:
		/* librdkafka's contract for a failed rebalance: drop it all. */
		s->st.client_errors++;
		af_kafka_note(s, "rebalance failed: %s", rd_kafka_err2str(err));
		give_up(s, NULL);
		rd_kafka_assign(rk, NULL);
		break;
	}
}

/* ---- commits ---- */

/* The result of one of our commits (synchronous or periodic): counted
 * here, and each partition's offset committed remembered. */
static void commit_result(struct af_kafka_src *s, rd_kafka_resp_err_t err,
                          const rd_kafka_topic_partition_list_t *offsets)
{
	for (int i = 0; !err && offsets && i < offsets->cnt; i++)
		err = offsets->elems[i].err;
	if (err) {
		s->st.commit_errors++;
		af_kafka_note(s, "offset commit: %s", rd_kafka_err2str(err));
		return;
	}
	s->st.commits++;
	s->answered = true;
	s->all_down = false;
	for (int i = 0; offsets && i < offsets->cnt; i++) {
		const rd_kafka_topic_partition_t *p = &offsets->elems[i];
		uint32_t input = af_kafka_input_find(s, p->topic, p->partition);
		/* The latest answer, not the highest offset: answers come in
		 * the order the commits landed, so an older commit's late
		 * retry shows here, and the next periodic commit mends it. */
		if (input != KSRC_NONE && s->in[input].assigned && p->offset >= 0)
			s->in[input].committed = p->offset;
	}
}

static void sync_done(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
	(void)rk;
	commit_result(opaque, err, offsets);
}

static void periodic_done(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
	(void)rk;
	struct af_kafka_src *s = opaque;
	s->commits_in_flight--;
	if (err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
	    err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
	    err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID)
		rebalancing(s);
	commit_result(s, err, offsets);
}

/* Wait for the periodic commits in flight: librdkafka retries a commit
 * refused for a reason a moment cures, and a retry that lands after a
 * later commit moves the group's offsets back. Only the commit queue is
 * served, so this may run inside a rebalance. */
static void settle(struct af_kafka_src *s, double deadline)
{
	while (s->commits_in_flight > 0 && af_clock_s() < deadline)
		rd_kafka_queue_poll_callback(s->commitq, KSRC_RETRY_MS);
	if (s->commits_in_flight > 0)
		af_kafka_note(s, "an offset commit is still unanswered; committing all the same");
}

rd_kafka_resp_err_t af_kafka_commit_resume(struct af_kafka_src *s,
                                           const rd_kafka_topic_partition_list_t *parts,
                                           double deadline)
{
	int n = parts ? parts->cnt : (int)s->ninputs;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n > 0 ? n : 1);
	for (int i = 0; i < n; i++) {
		uint32_t input =
		    parts ? af_kafka_input_find(s, parts->elems[i].topic, parts->elems[i].partition)
		          : (uint32_t)i;
		if (input == KSRC_NONE || !s->in[input].assigned)
			continue;
		int64_t off = resume_at(s, input);
		if (off >= 0)
			rd_kafka_topic_partition_list_add(l, s->in[input].topic,
			                                  s->in[input].partition)
			    ->offset = off;
	}
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
	if (l->cnt > 0) {
		settle(s, deadline);
		/* No queue: synchronous, sync_done called before it returns. */
		err = rd_kafka_commit_queue(s->rk, l, NULL, sync_done, s);
	}
	rd_kafka_topic_partition_list_destroy(l);
	return err;
}

void af_kafka_commit_tick(struct af_kafka_src *s)
{
	if (s->commits_in_flight > 0)
		rd_kafka_queue_poll_callback(s->commitq, 0);
	if (s->commit_every <= 0 || s->commits_in_flight >= KSRC_COMMITS_MAX || s->closing)
		return;
	double now = af_clock_s();
	if (now < s->commit_at)
		return;
	/* A rebalance that never ends for us is bounded all the same. */
	if (s->rebalancing && now - s->rebalancing_since < KSRC_REJOIN_S)
		return;
	s->rebalancing = false;
	s->commit_at = now + s->commit_every;
	rd_kafka_topic_partition_list_t *l = NULL;
	for (uint32_t i = 0; i < s->ninputs; i++) {
		const struct af_kafka_input *in = &s->in[i];
		if (!in->assigned || in->stored < 0 || in->stored <= in->committed)
			continue;
		if (!l)
			l = rd_kafka_topic_partition_list_new((int)s->assigned);
		rd_kafka_topic_partition_list_add(l, in->topic, in->partition)->offset = in->stored;
	}
	if (!l)
		return;
	rd_kafka_resp_err_t err = rd_kafka_commit_queue(s->rk, l, s->commitq, periodic_done, s);
	rd_kafka_topic_partition_list_destroy(l);
	if (err) {
		s->st.commit_errors++;
		af_kafka_note(s, "offset commit: %s", rd_kafka_err2str(err));
		return;
	}
	s->commits_in_flight++;
}

/* Errors of a commit that a moment cures: the group rebalancing (a
 * member joined or left; the generation moved on), the coordinator moving,
 * loading or slow, a dropped connection. */
static bool commit_retriable(rd_kafka_resp_err_t err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
	case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION:
	case RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID:
	case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
	case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
	case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
	case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
	case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
	case RD_KAFKA_RESP_ERR__TRANSPORT:
	case RD_KAFKA_RESP_ERR__TIMED_OUT:
	case RD_KAFKA_RESP_ERR__WAIT_COORD: return true;
	default: return false;
	}
}

/* Partitions lost during the commit at close and not yet given back. */
static uint32_t lost_away(const struct af_kafka_src *s)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < s->ninputs; i++)
		n += s->in[i].lost_at >= 0 && !s->in[i].assigned;
	return n;
}

/* Tried again, until KSRC_CLOSE_MS have passed, while the error is one a
 * moment cures. In between, the partitions are paused and the consumer
 * served, so that a rebalance under way completes (the commit then
 * carries the new generation; a partition it took away has its resume
 * point committed by the revocation) and nothing moves a resume point: a
 * message still handed over is kept or rewound to. A partition the group
 * takes away as lost meanwhile (a refused commit, a session timed out) is
 * waited for: the member joins again at once, and a lone member gets it
 * back; it is then committed at the resume point it had. */
rd_kafka_resp_err_t af_kafka_commit_final(struct af_kafka_src *s)
{
	double deadline = af_clock_s() + KSRC_CLOSE_MS / 1000.0;
	for (uint32_t i = 0; i < s->ninputs; i++)
		s->in[i].lost_at = -1;
	s->committing = true;
	rd_kafka_resp_err_t err = af_kafka_commit_resume(s, NULL, deadline);
	uint32_t away = lost_away(s);

	while ((err ? commit_retriable(err) : away > 0) && s->fatal == AF_OK &&
	       af_clock_s() < deadline) {
		if (err)
			af_kafka_note(s, "offset commit at close: %s (trying again)",
			              rd_kafka_err2str(err));
		else
			af_kafka_note(s,
			              "offset commit at close: %" PRIu32 " partitions lost "
			              "meanwhile; waiting for the group to give them back",
			              away);
		af_kafka_pause(s);
		af_kafka_serve(s, KSRC_RETRY_MS);
		err = af_kafka_commit_resume(s, NULL, deadline);
		away = lost_away(s);
	}
	s->committing = false;
	if (!err && away > 0) {
		af_kafka_note(s,
		              "offset commit at close: %" PRIu32 " partitions lost and not given "
		              "back; their records since the last commit will be read again",
		              away);
		err = RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST;
	}
	return err;
}

/* ---- events ---- */

void af_kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct af_kafka_src *s = opaque;
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char why[KSRC_ERRSTR];
		rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof(why));
		af_kafka_fail(s, AF_E_IO, "kafka: fatal client error: %s: %s",
		              rd_kafka_err2name(orig), why);
		return;
	}
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
		s->all_down = true;
	s->st.client_errors++;
	af_kafka_note(s, "%s", reason);
}

static bool subscribed_by_name(const struct af_kafka_src *s, const char *topic)
{
	for (size_t i = 0; i < s->nnames; i++)
		if (strcmp(s->names[i], topic) == 0)
			return true;
	return false;
}

void af_kafka_event(struct af_kafka_src *s, const rd_kafka_message_t *m)
{
	const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : NULL;
	switch (m->err) {
	case RD_KAFKA_RESP_ERR__PARTITION_EOF: {
		s->answered = true;
		s->all_down = false;
		uint32_t i = topic ? af_kafka_input_find(s, topic, m->partition) : KSRC_NONE;
		if (i != KSRC_NONE && s->in[i].assigned) {
			s->in[i].eof = true;
			s->changes++;
		}
		return;
	}
	case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
	case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
	case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
		/* A ^regex matches what exists; a name must exist. */
		if (topic && subscribed_by_name(s, topic)) {
			af_kafka_fail(s, AF_E_IO, "kafka: topic '%s': %s", topic,
			              rd_kafka_message_errstr(m));
			return;
		}
		break;
	default: break;
	}
	s->st.client_errors++;
	if (topic)
		af_kafka_note(s, "%s[%" PRId32 "]: %s", topic, m->partition,
		              rd_kafka_message_errstr(m));
	else
		af_kafka_note(s, "%s", rd_kafka_message_errstr(m));
}
