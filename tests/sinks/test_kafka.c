/* test_kafka.c - the Kafka sink against a real Kafka-protocol broker in
 * this process: librdkafka's mock cluster (tests/kafka_mock.h), reached
 * over TCP on loopback like any broker, and read back by a real librdkafka
 * consumer. Produce errors and broker outages are injected through the
 * mock's controls. Checked: every accepted document ends exactly once in
 * on_done with its token, and is in the topic once, byte for byte, under
 * its key; one account stays on one partition in order; back-pressure;
 * permanent and fatal failures come back with a reason; refused and bad
 * -X settings are named and secrets are never echoed.
 * Waits are generous deadlines, never timing assertions.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "pipeline/kafka_conf.h"
#include "sinks/kafka.h"
#include "tests/kafka_mock.h"
#include "tests/sinks/loopback.h"

#define TOPIC          "alerts"
#define DEADLINE_MS    30000 /* for what must happen: generous */
#define APIKEY_PRODUCE 0

/* ---- the broker ---- */

/* A broker whose topic has `partitions` partitions. */
static void cluster_start(struct af_kmock *c, int partitions)
{
	af_kmock_start(c, false);
	af_kmock_topic(c, TOPIC, partitions);
}

/* ---- what on_done was told ---- */

#define REC_MAX 512

struct rec {
	size_t n;
	uint64_t token[REC_MAX];
	bool ok[REC_MAX];
	char reason[REC_MAX][200];
	size_t doc_len[REC_MAX]; /* of a dead letter's document */
	uint32_t doc_hash[REC_MAX];
	char doc_head[REC_MAX][256]; /* its first bytes */
};

/* FNV-1a: enough to tell a document from another here. */
static uint32_t fnv1a(const char *p, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

static void record(void *ctx, uint64_t token, bool ok, const char *reason, const char *doc,
                   size_t len)
{
	struct rec *r = ctx;

	cr_assert_lt(r->n, REC_MAX);
	cr_assert_eq(ok, reason == NULL, "a reason exactly when not ok");
	cr_assert_eq(ok, doc == NULL, "the document exactly when not ok");
	cr_assert_eq(ok, len == 0);
	r->token[r->n] = token;
	r->ok[r->n] = ok;
	snprintf(r->reason[r->n], sizeof r->reason[0], "%s", reason ? reason : "");
	r->doc_len[r->n] = len;
	r->doc_hash[r->n] = fnv1a(doc, len);
	if (len > 0)
		memcpy(r->doc_head[r->n], doc,
		       len < sizeof r->doc_head[0] ? len : sizeof r->doc_head[0]);
	r->n++;
}

/* Whether dead letter i carried doc[0..len) back. */
static bool rec_doc_is(const struct rec *r, size_t i, const char *doc, size_t len)
{
	size_t head = len < sizeof r->doc_head[0] ? len : sizeof r->doc_head[0];
	return r->doc_len[i] == len && r->doc_hash[i] == fnv1a(doc, len) &&
	       memcmp(r->doc_head[i], doc, head) == 0;
}

/* How often on_done named token. */
static size_t rec_count(const struct rec *r, uint64_t token)
{
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++)
		k += r->token[i] == token;
	return k;
}

/* ---- the sink ---- */

static struct af_kafka_sink_opts opts_for(const struct af_kmock *c, struct rec *r)
{
	return (struct af_kafka_sink_opts){
	    .brokers = c->bootstraps, .topic = TOPIC, .on_done = record, .ctx = r};
}

static struct af_kafka_sink *open_ok(const struct af_kafka_sink_opts *o)
{
	struct af_kafka_sink *s = NULL;
	char err[512] = "";

	cr_assert_eq(af_kafka_sink_open(o, &s, err, sizeof err), AF_OK, "%s", err);
	cr_assert_not_null(s);
	return s;
}

static af_err_t open_err(const struct af_kafka_sink_opts *o, char *err, size_t size)
{
	struct af_kafka_sink *s = (struct af_kafka_sink *)&s; /* must be reset */
	af_err_t e = af_kafka_sink_open(o, &s, err, size);

	cr_assert_null(s, "opened: %s", o->topic);
	return e;
}

/* Start a broker whose topic has `partitions` partitions and open a sink
 * on it that tells r, with props (borrowed; NULL when nprops is 0). */
static struct af_kafka_sink *start_open(struct af_kmock *c, struct rec *r, int partitions,
                                        const char *const *props, size_t nprops)
{
	cluster_start(c, partitions);
	struct af_kafka_sink_opts o = opts_for(c, r);
	o.props = props;
	o.nprops = nprops;
	return open_ok(&o);
}

static void flush_ok(struct af_kafka_sink *s)
{
	char err[512] = "";
	cr_assert_eq(af_kafka_sink_flush(s, DEADLINE_MS, err, sizeof err), AF_OK, "%s", err);
	cr_assert_eq(af_kafka_sink_pending(s), 0);
}

/* Document i: JSON with quotes, escapes and UTF-8, its number inside. */
static size_t doc_make(int i, char *buf, size_t size)
{
	int n = snprintf(buf, size,
	                 "{\"id\":\"%016x\",\"rule\":\"new_country\",\"n\":%d,"
	                 "\"message\":\"sign-in from \\\"Vi\xe1\xbb\x87t Nam\\\"\\n\"}",
	                 (unsigned)i * 2654435761u, i);
	cr_assert(n > 0 && (size_t)n < size);
	return (size_t)n;
}

static size_t key_make(int account, char *buf, size_t size)
{
	int n = snprintf(buf, size, "user%d@example.com", account);
	cr_assert(n > 0 && (size_t)n < size);
	return (size_t)n;
}

/* Document i under account's key, token 1000 + i. */
static af_err_t submit_doc(struct af_kafka_sink *s, int i, int account)
{
	char doc[256], key[64];
	size_t len = doc_make(i, doc, sizeof doc), klen = key_make(account, key, sizeof key);
	return af_kafka_sink_submit(s, 1000 + (uint64_t)i, key, klen, doc, len);
}

/* Report j of r dead-letters document i (token 1000 + i) and carries it
 * back; its reason is the caller's to check. */
static void check_dead_doc(const struct rec *r, size_t j, int i)
{
	char doc[256];
	size_t len = doc_make(i, doc, sizeof doc);

	cr_assert_not(r->ok[j]);
	cr_assert_eq(r->token[j], 1000 + (uint64_t)i);
	cr_assert(rec_doc_is(r, j, doc, len), "the document comes back from the report");
}

/* ---- reading the topic back ---- */

/* Each of documents 0..n-1 in msgs once, byte for byte, under the key of
 * account i % accounts; returns nothing, asserts. */
static void check_topic_holds(const struct af_kmock_msg *msgs, int n, int accounts)
{
	int *seen = calloc((size_t)n, sizeof *seen);

	cr_assert_not_null(seen);
	for (int j = 0; j < n; j++) {
		const struct af_kmock_msg *m = &msgs[j];
		char doc[256], key[64];
		int i = -1;
		const char *at = memmem(m->value, m->vlen, "\"n\":", 4);
		cr_assert_not_null(at, "%.*s", (int)m->vlen, m->value);
		cr_assert_eq(sscanf(at, "\"n\":%d", &i), 1);
		cr_assert(i >= 0 && i < n, "document %d", i);
		seen[i]++;
		size_t len = doc_make(i, doc, sizeof doc),
		       klen = key_make(i % accounts, key, sizeof key);
		cr_assert_eq(m->vlen, len);
		cr_assert_arr_eq(m->value, doc, len, "document %d is not byte-identical", i);
		cr_assert_eq(m->klen, klen);
		cr_assert_arr_eq(m->key, key, klen);
	}
	for (int i = 0; i < n; i++)
		cr_assert_eq(seen[i], 1, "document %d is in the topic %d times", i, seen[i]);
	free(seen);
}

/* Close s, check that the topic (`partitions` of it) holds documents
 * 0..n-1 as check_topic_holds says, and stop the broker. */
static void close_check_stop(struct af_kmock *c, struct af_kafka_sink *s, int partitions, int n,
                             int accounts)
{
	af_kafka_sink_close(s);
	struct af_kmock_msg *msgs = af_kmock_read(c, TOPIC, partitions, (size_t)n);
	check_topic_holds(msgs, n, accounts);
	af_kmock_msgs_free(msgs, (size_t)n);
	af_kmock_stop(c);
}

/* Each of tokens 1000..1000+n-1 once in r, ok. */
static void check_all_ok(const struct rec *r, int n)
{
	cr_assert_eq(r->n, (size_t)n);
	for (int i = 0; i < n; i++)
		cr_assert_eq(rec_count(r, 1000 + (uint64_t)i), 1, "token %d", 1000 + i);
	for (size_t i = 0; i < r->n; i++)
		cr_assert(r->ok[i], "token %llu: %s", (unsigned long long)r->token[i],
		          r->reason[i]);
}

/* Poll until pred or the deadline. */
#define POLL_UNTIL(s, cond)                                                                        \
	do {                                                                                       \
		for (int t_ = 0; !(cond) && t_ < DEADLINE_MS / 50; t_++)                           \
			af_kafka_sink_poll((s), 50);                                               \
		cr_assert(cond, "not so after %d ms: %s", DEADLINE_MS, #cond);                     \
	} while (0)

/* ---- delivery ---- */

Test(kafka, delivers_documents_byte_identical_with_keys_and_one_ok_each)
{
	struct af_kmock c = {0};
	struct rec r = {0};
	struct af_kafka_sink *s = start_open(&c, &r, 4, NULL, 0);

	for (int i = 0; i < 60; i++)
		cr_assert_eq(submit_doc(s, i, i % 7), AF_OK);
	flush_ok(s);
	check_all_ok(&r, 60);
	struct af_kafka_sink_stats st;
	af_kafka_sink_stats(s, &st);
	cr_assert_eq(st.submitted, 60);
	cr_assert_eq(st.delivered, 60);
	cr_assert_eq(st.failed, 0);
	cr_assert(st.topic_checked);
	close_check_stop(&c, s, 4, 60, 7);
}

Test(kafka, keeps_an_account_on_one_partition_in_submit_order)
{
	struct af_kmock c = {0};
	struct rec r = {0};
	struct af_kafka_sink *s = start_open(&c, &r, 8, NULL, 0);

	/* Three accounts, interleaved, through several batches. */
	for (int i = 0; i < 90; i++) {
		cr_assert_eq(submit_doc(s, i, i % 3), AF_OK);
		if (i % 10 == 9)
			af_kafka_sink_poll(s, 10);
	}
	flush_ok(s);
	check_all_ok(&r, 90);
	af_kafka_sink_close(s);

	struct af_kmock_msg *msgs = af_kmock_read(&c, TOPIC, 8, 90);
	check_topic_holds(msgs, 90, 3);
	for (int a = 0; a < 3; a++) {
		int32_t part = -1;
		int64_t last_off = -1;
		int last_n = -1;
		for (int j = 0; j < 90; j++) {
			int n;
			sscanf(memmem(msgs[j].value, msgs[j].vlen, "\"n\":", 4), "\"n\":%d", &n);
			if (n % 3 != a)
				continue;
			if (part < 0)
				part = msgs[j].partition;
			cr_assert_eq(msgs[j].partition, part, "account %d on two partitions", a);
			/* The consumer reads a partition in offset order. */
			cr_assert_gt(msgs[j].offset, last_off);
			cr_assert_gt(n, last_n, "account %d: document %d after %d", a, n, last_n);
			last_off = msgs[j].offset;
			last_n = n;
		}
	}
	af_kmock_msgs_free(msgs, 90);
	af_kmock_stop(&c);
}

Test(kafka, sends_documents_without_a_key_when_given_none)
{
	struct af_kmock c = {0};
	struct rec r = {0};
	struct af_kafka_sink *s = start_open(&c, &r, 2, NULL, 0);

	cr_assert_eq(af_kafka_sink_submit(s, 7, NULL, 0, "{\"dead\":1}", 10), AF_OK);
	flush_ok(s);
	cr_assert_eq(r.n, 1);
	cr_assert(r.ok[0]);
	cr_assert_eq(r.token[0], 7);
	af_kafka_sink_close(s);
	struct af_kmock_msg *msgs = af_kmock_read(&c, TOPIC, 2, 1);
	cr_assert_eq(msgs[0].klen, 0);
	cr_assert_eq(msgs[0].vlen, 10);
	cr_assert_arr_eq(msgs[0].value, "{\"dead\":1}", 10);
	af_kmock_msgs_free(msgs, 1);
	af_kmock_stop(&c);
}

/* ---- back-pressure ---- */

Test(kafka, answers_again_when_full_and_takes_the_document_after_poll)
{
	struct af_kmock c = {0};
	struct rec r = {0};
	cluster_start(&c, 1);
	struct af_kafka_sink_opts o = opts_for(&c, &r);
	o.queue_items = 3;
	struct af_kafka_sink *s = open_ok(&o);

	for (int i = 0; i < 3; i++)
		cr_assert_eq(submit_doc(s, i, 0), AF_OK);
	cr_assert_eq(submit_doc(s, 3, 0), AF_E_AGAIN);
	cr_assert_eq(af_kafka_sink_pending(s), 3, "nothing taken");
	POLL_UNTIL(s, af_kafka_sink_pending(s) < 3);
	cr_assert_eq(submit_doc(s, 3, 0), AF_OK);
	flush_ok(s);
	check_all_ok(&r, 4);
	struct af_kafka_sink_stats st;
	af_kafka_sink_stats(s, &st);
	cr_assert_eq(st.refused, 1);
	cr_assert_eq(st.submitted, 4);
	close_check_stop(&c, s, 1, 4, 1);
}

Test(kafka, caps_the_bytes_held_and_refuses_a_document_that_can_never_fit)
{
	struct af_kmock c = {0};
	struct rec r = {0};
	char doc[256], key[64];
	cluster_start(&c, 1);
	size_t len = doc_make(0, doc, sizeof doc), klen = key_make(0, key, sizeof key);
	struct af_kafka_sink_opts o = opts_for(&c, &r);
	o.queue_bytes = 2 * (len + klen) + 10; /* two documents, not three */
	struct af_kafka_sink *s = open_ok(&o);

	cr_assert_eq(af_kafka_sink_submit(s, 1, key, klen, doc, len), AF_OK);
	cr_assert_eq(af_kafka_sink_submit(s, 2, key, klen, doc, len), AF_OK);
	cr_assert_eq(af_kafka_sink_submit(s, 3, key, klen, doc, len), AF_E_AGAIN);
	struct af_kafka_sink_stats st;
	af_kafka_sink_stats(s, &st);
	cr_assert_eq(st.pending, 2);
	cr_assert_eq(st.pending_bytes, 2 * (len + klen));
	cr_assert_eq(af_kafka_sink_submit(s, 4, NULL, 0, doc, o.queue_bytes + 1), AF_E_INVALID);
	cr_assert_eq(af_kafka_sink_submit(s, 5, key, klen, doc, 0), AF_E_INVALID);
	flush_ok(s);
	cr_assert_eq(af_kafka_sink_submit(s, 3, key, klen, doc, len), AF_OK);
	flush_ok(s);
	cr_assert_eq(r.n, 3);
	cr_assert_eq(rec_count(&r, 4) + rec_count(&r, 5), 0, "refused documents get no on_done");
	af_kafka_sink_close(s);
	af_kmock_stop(&c);
}

/* ---- retries and outages ---- */

Test(kafka, delivers_every_document_once_through_retriable_produce_errors)
{
	struct af_kmock c = {0};
	struct rec r = {0};
	/* One request in flight: the 2.0.2 mock does not check the
	 * producer's sequence numbers, so it would store a later batch sent
	 * while an earlier one failed (a real broker answers
	 * OUT_OF_ORDER_SEQUENCE_NUMBER), and librdkafka rightly takes that
	 * success as an acknowledgement of the earlier batch, which the mock
	 * never stored. */
	static const char *const props[] = {"max.in.flight=1"};
	struct af_kafka_sink *s = start_open(&c, &r, 2, props, 1);

	rd_kafka_mock_push_request_errors(
	    c.mc, APIKEY_PRODUCE, 6, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
	    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
	    RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
	    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
	    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
	for (int i = 0; i < 40; i++) {
		cr_assert_eq(submit_doc(s, i, i % 5), AF_OK);
		if (i % 8 == 7)
			af_kafka_sink_poll(s, 20); /* several requests, so several errors */
	}
	flush_ok(s);
	check_all_ok(&r, 40);
	close_check_stop(&c, s, 2, 40, 5);
}

/* Reconnect quickly once the broker is back (the backoff grows to 10 s),
 * and keep librdkafka's log of the expected outage off the test output. */
static const char *const outage[] = {"reconnect.backoff.ms=50", "reconnect.backoff.max.ms=200",
                                     "log_level=2"};

Test(kafka, delivers_everything_after_the_broker_comes_back)
{
	struct af_kmock c = {0};
	struct rec r = {0};
	struct af_kafka_sink *s = start_open(&c, &r, 1, outage, 3);

	cr_assert_eq(rd_kafka_mock_broker_set_down(c.mc, 1), 0);
	for (int i = 0; i < 20; i++)
		cr_assert_eq(submit_doc(s, i, i % 4), AF_OK);
	struct af_kafka_sink_stats st;
	af_kafka_sink_stats(s, &st);
	for (int t = 0; st.client_errors == 0 && t < DEADLINE_MS / 50; t++) {
		af_kafka_sink_poll(s, 50);
		af_kafka_sink_stats(s, &st);
	}
	cr_assert_gt(st.client_errors, 0, "the outage is reported");
	cr_assert_neq(st.last_error[0], '\0');
	cr_assert_eq(r.n, 0, "nothing settles while the broker is down");
	cr_assert_eq(af_kafka_sink_pending(s), 20);

	cr_assert_eq(rd_kafka_mock_broker_set_up(c.mc, 1), 0);
	flush_ok(s);
	check_all_ok(&r, 20);
	close_check_stop(&c, s, 1, 20, 4);
}

Test(kafka, flush_returns_again_with_a_count_when_the_deadline_passes)
{
	struct af_kmock c = {0};
	struct rec r = {0};
	char err[512] = "";
	struct af_kafka_sink *s = start_open(&c, &r, 1, outage, 3);

	cr_assert_eq(rd_kafka_mock_broker_set_down(c.mc, 1), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(submit_doc(s, i, 0), AF_OK);
	cr_assert_eq(af_kafka_sink_flush(s, 300, err, sizeof err), AF_E_AGAIN);
	cr_assert_not_null(strstr(err, "3 documents"), "%s", err);
	cr_assert_not_null(strstr(err, TOPIC), "%s", err);
	cr_assert_eq(af_kafka_sink_pending(s), 3, "kept, not dropped");
	cr_assert_eq(r.n, 0);

	cr_assert_eq(rd_kafka_mock_broker_set_up(c.mc, 1), 0);
	flush_ok(s);
	check_all_ok(&r, 3);
	af_kafka_sink_close(s);
	af_kmock_stop(&c);
}

Test(kafka, close_with_documents_pending_calls_no_on_done)
{
	struct af_kmock c = {0};
	struct rec r = {0};
	static const char *const props[] = {"message.max.bytes=1000", "log_level=2"};
	static char big[2000];
	struct af_kafka_sink *s = start_open(&c, &r, 1, props, 2);

	cr_assert_eq(rd_kafka_mock_broker_set_down(c.mc, 1), 0);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(submit_doc(s, i, i), AF_OK);
	/* and one refused at produce time, to be dead-lettered at the next poll */
	memset(big, 'x', sizeof big);
	cr_assert_eq(af_kafka_sink_submit(s, 99, NULL, 0, big, sizeof big), AF_OK);
	cr_assert_eq(af_kafka_sink_pending(s), 6);
	af_kafka_sink_close(s);
	cr_assert_eq(r.n, 0, "on_done called %zu times after close", r.n);
	af_kmock_stop(&c);
}

/* ---- permanent and fatal failures ---- */

Test(kafka, dead_letters_a_document_larger_than_message_max_bytes)
{
	struct af_kmock c = {0};
	struct rec r = {0};
	static const char *const props[] = {"message.max.bytes=1000"};
	static char big[3000];
	struct af_kafka_sink *s = start_open(&c, &r, 1, props, 1);

	memset(big, 'x', sizeof big);
	cr_assert_eq(af_kafka_sink_submit(s, 1, "a", 1, big, sizeof big), AF_OK);
	cr_assert_eq(submit_doc(s, 0, 0), AF_OK);
	flush_ok(s);
	cr_assert_eq(r.n, 2);
	cr_assert_eq(rec_count(&r, 1), 1);
	for (size_t i = 0; i < r.n; i++) {
		if (r.token[i] != 1) {
			cr_assert(r.ok[i]);
			continue;
		}
		cr_assert_not(r.ok[i]);
		cr_assert_str_eq(r.reason[i], "kafka: Broker: Message size too large");
		cr_assert(rec_doc_is(&r, i, big, sizeof big), "the document comes back whole");
	}
	struct af_kafka_sink_stats st;
	af_kafka_sink_stats(s, &st);
	cr_assert_eq(st.failed, 1);
	cr_assert_eq(st.delivered, 1);
	cr_assert_not_null(strstr(st.last_error, "Message size too large"), "%s", st.last_error);
	close_check_stop(&c, s, 1, 1, 1);
}

Test(kafka, dead_letters_a_document_the_broker_rejects_for_good_and_goes_on)
{
	struct af_kmock c = {0};
	struct rec r = {0};
	struct af_kafka_sink *s = start_open(&c, &r, 1, NULL, 0);

	rd_kafka_mock_push_request_errors(c.mc, APIKEY_PRODUCE, 1,
	                                  RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
	cr_assert_eq(submit_doc(s, 0, 0), AF_OK);
	flush_ok(s);
	cr_assert_eq(r.n, 1);
	check_dead_doc(&r, 0, 0);
	cr_assert_str_eq(r.reason[0], "kafka: Broker: Message size too large");

	cr_assert_eq(submit_doc(s, 1, 0), AF_OK);
	flush_ok(s);
	cr_assert_eq(r.n, 2);
	cr_assert(r.ok[1], "%s", r.reason[1]);
	cr_assert_eq(r.token[1], 1001);
	af_kafka_sink_close(s);
	af_kmock_stop(&c);
}

Test(kafka, stops_taking_documents_after_a_fatal_idempotence_error)
{
	struct af_kmock c = {0};
	struct rec r = {0};
	char err[512] = "";
	static const char *const props[] = {"log_level=1"}; /* the fatal error only */
	struct af_kafka_sink *s = start_open(&c, &r, 1, props, 1);

	cr_assert_eq(submit_doc(s, 0, 0), AF_OK);
	flush_ok(s);
	/* The broker answers as if it had lost the producer's sequence. */
	rd_kafka_mock_push_request_errors(c.mc, APIKEY_PRODUCE, 1,
	                                  RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
	cr_assert_eq(submit_doc(s, 1, 0), AF_OK);
	cr_assert_eq(af_kafka_sink_flush(s, DEADLINE_MS, err, sizeof err), AF_E_IO, "%s", err);
	cr_assert_not_null(strstr(err, "fatal"), "%s", err);
	cr_assert_eq(r.n, 2, "the document in flight is settled");
	check_dead_doc(&r, 1, 1);
	cr_assert_not_null(strstr(r.reason[1], "out of order sequence"), "%s", r.reason[1]);

	cr_assert_eq(submit_doc(s, 2, 0), AF_E_IO);
	cr_assert_eq(af_kafka_sink_poll(s, 0), AF_E_IO);
	struct af_kafka_sink_stats st;
	af_kafka_sink_stats(s, &st);
	cr_assert(st.fatal);
	cr_assert_not_null(strstr(st.last_error, "fatal"), "%s", st.last_error);
	cr_assert_not_null(strstr(st.last_error, "out of order sequence"), "%s", st.last_error);
	cr_assert_eq(st.pending, 0);
	af_kafka_sink_close(s);
	af_kmock_stop(&c);
}

/* ---- the topic at open ---- */

Test(kafka, fails_open_for_a_topic_the_brokers_do_not_have)
{
	struct af_kmock c = {0};
	struct rec r = {0};
	char err[512] = "";
	cluster_start(&c, 1);
	struct af_kafka_sink_opts o = opts_for(&c, &r);

	/* A broker with auto-creation off answers UNKNOWN_TOPIC_OR_PART.
	 * (The 2.0.2 mock itself creates any topic asked for: it speaks
	 * Metadata up to v2, before clients could say not to.) */
	rd_kafka_mock_topic_set_error(c.mc, "missing", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
	o.topic = "missing";
	cr_assert_eq(open_err(&o, err, sizeof err), AF_E_CONFIG);
	cr_assert_not_null(strstr(err, "topic 'missing' does not exist"), "%s", err);
	cr_assert_not_null(strstr(err, c.bootstraps), "%s", err);

	af_kmock_stop(&c);
}

Test(kafka, opens_when_the_brokers_do_not_answer_and_says_so)
{
	struct rec r = {0};
	char brokers[64];
	static const char *const quiet[] = {"log_level=0"};
	snprintf(brokers, sizeof brokers, "127.0.0.1:%d", af_test_closed_port());
	struct af_kafka_sink_opts o = {.brokers = brokers,
	                               .topic = TOPIC,
	                               .props = quiet,
	                               .nprops = 1,
	                               .metadata_timeout_ms = 300,
	                               .on_done = record,
	                               .ctx = &r};
	struct af_kafka_sink *s = open_ok(&o);
	struct af_kafka_sink_stats st;

	af_kafka_sink_stats(s, &st);
	cr_assert_not(st.topic_checked);
	cr_assert_not_null(strstr(st.last_error, "did not answer"), "%s", st.last_error);
	cr_assert_not_null(strstr(st.last_error, brokers), "%s", st.last_error);
	cr_assert_eq(submit_doc(s, 0, 0), AF_OK);
	af_kafka_sink_close(s);
	cr_assert_eq(r.n, 0);
}

/* ---- settings ---- */

/* Opened against a broker nobody needs to reach: every case fails first. */
static struct af_kafka_sink_opts offline_opts(struct rec *r, const char *const *props,
                                              size_t nprops)
{
	return (struct af_kafka_sink_opts){.brokers = "127.0.0.1:1",
	                                   .topic = TOPIC,
	                                   .props = props,
	                                   .nprops = nprops,
	                                   .metadata_timeout_ms = 100,
	                                   .on_done = record,
	                                   .ctx = r};
}

/* Opening offline with props fails as a bad setting, with an error that
 * names `named`; err (size bytes) keeps the error. label names the case
 * in a failure. */
static void open_refused(const char *const *props, size_t nprops, const char *named,
                         const char *label, char *err, size_t size)
{
	struct rec r = {0};
	struct af_kafka_sink_opts o = offline_opts(&r, props, nprops);

	err[0] = '\0';
	cr_assert_eq(open_err(&o, err, size), AF_E_CONFIG, "%s", label);
	cr_assert_not_null(strstr(err, named), "%s: %s", label, err);
}

Test(kafka, refuses_settings_that_would_lose_or_duplicate_alerts_naming_the_key)
{
	static const struct {
		const char *prop, *named;
	} cases[] = {
	    {"enable.idempotence=false", "-X enable.idempotence=false refused"},
	    {"enable.idempotence=0", "-X enable.idempotence=0 refused"},
	    {"acks=1", "-X acks=1 refused"},
	    {"acks=0", "-X acks=0 refused"},
	    {"request.required.acks=1", "-X request.required.acks=1 refused"},
	    {"delivery.report.only.error=true", "-X delivery.report.only.error=true refused"},
	    {"transactional.id=af", "-X transactional.id=af refused"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[512];
		const char *props[] = {"linger.ms=1", cases[i].prop};
		open_refused(props, 2, cases[i].named, cases[i].prop, err, sizeof err);
	}
}

Test(kafka, accepts_the_guarded_settings_at_their_safe_values)
{
	struct af_kmock c = {0};
	struct rec r = {0};
	static const char *const props[] = {"enable.idempotence=true", "acks=-1",
	                                    "request.required.acks=all", "compression.type=lz4",
	                                    "message.timeout.ms=60000"};
	struct af_kafka_sink *s = start_open(&c, &r, 1, props, 5);

	cr_assert_eq(submit_doc(s, 0, 0), AF_OK);
	flush_ok(s);
	check_all_ok(&r, 1);
	af_kafka_sink_close(s);
	af_kmock_stop(&c);
}

Test(kafka, names_the_key_of_a_bad_or_unknown_setting)
{
	static const struct {
		const char *prop, *named;
	} cases[] = {
	    {"no.such.setting=1", "-X no.such.setting: no such librdkafka setting"},
	    {"linger.ms=banana", "-X linger.ms=banana: "},
	    {"compression.type=rar", "-X compression.type=rar: "},
	    {"=5", "-X setting #1 is not KEY=VALUE"},
	    {"linger.ms", "-X setting #1 is not KEY=VALUE"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[512];
		open_refused(&cases[i].prop, 1, cases[i].named, cases[i].prop, err, sizeof err);
	}
}

Test(kafka, never_echoes_a_secret_in_an_error)
{
	static const char *const cases[][3] = {
	    /* a secret, then a bad setting after it */
	    {"sasl.password=hunter2", "no.such.setting=1", "no.such.setting"},
	    {"sasl.password=hunter2", "linger.ms=hunter2", "linger.ms"},
	    /* a secret key with a value librdkafka rejects at rd_kafka_new */
	    {"security.protocol=ssl", "ssl.key.pem=hunter2", "ssl"},
	    {"ssl.keystore.password=hunter2", "acks=1", "acks=1 refused"},
	    /* a secret under a misspelt key, and one without its key */
	    {"sasl.pasword=hunter2", "linger.ms=1", "sasl.pasword"},
	    {"hunter2", "linger.ms=1", "#1 is not KEY=VALUE"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[512], label[32];
		snprintf(label, sizeof label, "case %zu", i);
		open_refused(cases[i], 2, cases[i][2], label, err, sizeof err);
		cr_assert_null(strstr(err, "hunter2"), "%s: %s", label, err);
	}
}

Test(kafka, requires_brokers_a_topic_and_on_done)
{
	struct rec r = {0};
	char err[512] = "";
	struct af_kafka_sink_opts o = offline_opts(&r, NULL, 0);

	o.brokers = "";
	cr_assert_eq(open_err(&o, err, sizeof err), AF_E_CONFIG);
	cr_assert_not_null(strstr(err, "no brokers"), "%s", err);
	o = offline_opts(&r, NULL, 0);
	o.topic = NULL;
	cr_assert_eq(open_err(&o, err, sizeof err), AF_E_CONFIG);
	cr_assert_not_null(strstr(err, "no topic"), "%s", err);
	o = offline_opts(&r, NULL, 0);
	o.on_done = NULL;
	cr_assert_eq(open_err(&o, err, sizeof err), AF_E_CONFIG);
	cr_assert_not_null(strstr(err, "on_done"), "%s", err);
}

/* ---- the shared -X module (pipeline/kafka_conf.h) ---- */

Test(kafka_conf, judges_a_key_secret_by_its_name_in_any_case)
{
	cr_assert(af_kafka_conf_is_secret("sasl.password"));
	cr_assert(af_kafka_conf_is_secret("ssl.keystore.password=x"));
	cr_assert(af_kafka_conf_is_secret("sasl.oauthbearer.client.secret"));
	cr_assert(af_kafka_conf_is_secret("sasl.oauthbearer.config"));
	cr_assert(af_kafka_conf_is_secret("ssl.key.pem"));
	cr_assert(af_kafka_conf_is_secret("SASL.PASSWORD"));
	cr_assert_not(af_kafka_conf_is_secret("sasl.username"));
	cr_assert_not(af_kafka_conf_is_secret("linger.ms=password"), "judged by the key only");
}

Test(kafka_conf, redacts_every_secret_value_longest_first_and_cuts_after)
{
	static const char *const props[] = {"sasl.password=hunter2", "linger.ms=5",
	                                    "ssl.key.password=hunter22", "ssl.key.pem="};
	char out[64];

	af_kafka_conf_redact(props, 4, "a hunter22 b hunter2 c 5", out, sizeof out);
	cr_assert_str_eq(out, "a *** b *** c 5");
	af_kafka_conf_redact(props, 4, "xx hunter2", out, 6);
	cr_assert_str_eq(out, "xx **", "no piece of the secret survives the cut");
}

Test(kafka_conf, shows_an_entry_with_a_secret_value_hidden)
{
	char out[64];

	af_kafka_conf_show("acks=1", 0, out, sizeof out);
	cr_assert_str_eq(out, "acks=1");
	af_kafka_conf_show("sasl.password=hunter2", 0, out, sizeof out);
	cr_assert_str_eq(out, "sasl.password=***");
	af_kafka_conf_show("hunter2", 2, out, sizeof out);
	cr_assert_str_eq(out, "#3");
}

Test(kafka_conf, names_the_key_of_a_failed_setting_without_its_secret)
{
	static const struct {
		const char *prop, *says;
	} cases[] = {
	    {"linger.ms=banana", "-X linger.ms=banana: "},
	    {"no.such=hunter2", "-X no.such: no such librdkafka setting"},
	    {"hunter2", "-X setting #1 is not KEY=VALUE"},
	    {"=hunter2", "-X setting #1 is not KEY=VALUE"},
	    {"compression.type=hunter2", "-X compression.type=hunter2: "},
	    {"ssl.key.password=", NULL},
	};
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[512] = "";
		af_err_t e = af_kafka_conf_set(conf, cases[i].prop, 0, err, sizeof err);
		if (cases[i].says == NULL) {
			cr_assert_eq(e, AF_OK, "%s: %s", cases[i].prop, err);
			continue;
		}
		cr_assert_eq(e, AF_E_CONFIG, "%s", cases[i].prop);
		cr_assert_not_null(strstr(err, cases[i].says), "%s: %s", cases[i].prop, err);
		if (strncmp(cases[i].prop, "compression", 11) != 0)
			cr_assert_null(strstr(err, "hunter2"), "%s: %s", cases[i].prop, err);
	}
	char err[512] = "";
	cr_assert_eq(af_kafka_conf_set(conf, "linger.ms=7", 0, err, sizeof err), AF_OK, "%s", err);
	char v[16];
	size_t n = sizeof v;
	cr_assert_eq(rd_kafka_conf_get(conf, "linger.ms", v, &n), RD_KAFKA_CONF_OK);
	cr_assert_str_eq(v, "7");
	rd_kafka_conf_destroy(conf);
}
