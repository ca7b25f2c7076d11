/* kafka_mock.h - a Kafka-protocol broker for the tests: librdkafka's mock
 * cluster (rdkafka_mock.h) in the test process, reached over loopback TCP
 * like any broker, and a real consumer that reads a topic back from its
 * start. Shared by tests/sinks/test_kafka.c, tests/sinks/test_deliver.c
 * and tests/ingest/test_kafka.c.
 *
 * Thread: the test's: every call asserts with Criterion on failure. The
 * cluster itself runs on the threads of its host handle.
 * In: the topics to make, what to read back.
 * Out: the cluster's bootstrap list for the clients under test, consumers,
 * and copies of the messages a topic holds.
 *
 * DESIGN: reading back assigns the partitions (no group join, so no wait
 * for the mock's group coordinator) and then checks the end offsets, so
 * that a test sees a duplicate as surely as a loss.
 */
#ifndef AF_TEST_KAFKA_MOCK_H
#define AF_TEST_KAFKA_MOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* One broker. Zero-initialised is stopped. */
struct af_kmock {
	rd_kafka_t *host; /* hosts the mock cluster only */
	rd_kafka_mock_cluster_t *mc;
	char bootstraps[256]; /* a test may point its clients elsewhere here */
};

/* Start a one-broker cluster with no topics.
 * silent: the host logs nothing (for tests that break the broker on
 * purpose); otherwise it logs errors only (a handle without bootstrap
 * servers warns at level 5).
 * @pre k is stopped. */
void af_kmock_start(struct af_kmock *k, bool silent);

/* Make topic name (borrowed) with `partitions` partitions. */
void af_kmock_topic(struct af_kmock *k, const char *name, int partitions);

/* Destroy the cluster and its host; k is stopped again. A stopped k is
 * left as it is. */
void af_kmock_stop(struct af_kmock *k);

/* A librdkafka log callback that drops every line: for the clients of a
 * test that breaks the broker on purpose. */
void af_kmock_quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/* A consumer of k's cluster in group (borrowed), auto-commit off; silent
 * as for af_kmock_start. The caller owns it (rd_kafka_destroy).
 * Cost: a client's threads; no request until it is used. */
rd_kafka_t *af_kmock_consumer(const struct af_kmock *k, const char *group, bool silent);

/* A message read back: its place and copies of its key and value. */
struct af_kmock_msg {
	int32_t partition;
	int64_t offset;
	char *key, *value; /* NUL-terminated; "" for none */
	size_t klen, vlen;
};

/* Read want messages of topic (borrowed; partitions 0..partitions-1) from
 * the start, and assert that they come within 30 s and that the topic
 * holds no more (its end offsets add up to want: the mock's logs start at
 * 0). Returns them in the order read (offset order within a partition);
 * the caller owns them (af_kmock_msgs_free with want).
 * Cost: a consumer made and closed; one ListOffsets round trip. */
struct af_kmock_msg *af_kmock_read(const struct af_kmock *k, const char *topic, int partitions,
                                   size_t want);

/* Free m and the n messages in it. */
void af_kmock_msgs_free(struct af_kmock_msg *m, size_t n);

#endif
