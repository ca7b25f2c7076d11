/* kafka_mock.c - the tests' Kafka-protocol broker (librdkafka's mock
 * cluster) and the consumer that reads a topic back; see kafka_mock.h.
 *
 * Thread: the test's. In: topics to make and read. Out: bootstrap lists,
 * consumers, message copies (the caller frees them).
 */
#include "tests/kafka_mock.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_DEADLINE_MS 30000 /* for what must happen: generous */
#define READ_POLL_MS     100

void af_kmock_quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	(void)level;
	(void)fac;
	(void)buf;
}

/* Quiet a configuration as af_kmock_start's silent says. */
static void conf_quiet(rd_kafka_conf_t *conf, bool silent)
{
	char err[512];

	if (silent)
		rd_kafka_conf_set_log_cb(conf, af_kmock_quiet_log);
	else
		cr_assert_eq(rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err),
		             RD_KAFKA_CONF_OK, "%s", err);
}

void af_kmock_start(struct af_kmock *k, bool silent)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	conf_quiet(conf, silent);
	k->host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
	cr_assert_not_null(k->host, "%s", err);
	k->mc = rd_kafka_mock_cluster_new(k->host, 1);
	cr_assert_not_null(k->mc);
	snprintf(k->bootstraps, sizeof k->bootstraps, "%s",
	         rd_kafka_mock_cluster_bootstraps(k->mc));
}

void af_kmock_topic(struct af_kmock *k, const char *name, int partitions)
{
	cr_assert_eq(rd_kafka_mock_topic_create(k->mc, name, partitions, 1),
	             RD_KAFKA_RESP_ERR_NO_ERROR, "topic %s", name);
}

void af_kmock_stop(struct af_kmock *k)
{
	if (k->mc != NULL)
		rd_kafka_mock_cluster_destroy(k->mc);
	if (k->host != NULL)
		rd_kafka_destroy(k->host);
	k->mc = NULL;
	k->host = NULL;
}

rd_kafka_t *af_kmock_consumer(const struct af_kmock *k, const char *group, bool silent)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *set[][2] = {{"bootstrap.servers", k->bootstraps},
	                        {"group.id", group},
	                        {"enable.auto.commit", "false"}};

	for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
		cr_assert_eq(rd_kafka_conf_set(conf, set[i][0], set[i][1], err, sizeof err),
		             RD_KAFKA_CONF_OK, "%s", err);
	conf_quiet(conf, silent);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
	cr_assert_not_null(rk, "%s", err);
	return rk;
}

/* p[0..len) NUL-terminated, on the heap. */
static char *copy(const void *p, size_t len)
{
	char *s = malloc(len + 1);

	cr_assert_not_null(s);
	if (len > 0)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

/* Every partition of topic in a new list, each at offset. */
static rd_kafka_topic_partition_list_t *all_parts(const char *topic, int partitions, int64_t offset)
{
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(partitions);

	for (int p = 0; p < partitions; p++)
		rd_kafka_topic_partition_list_add(parts, topic, p)->offset = offset;
	return parts;
}

struct af_kmock_msg *af_kmock_read(const struct af_kmock *k, const char *topic, int partitions,
                                   size_t want)
{
	rd_kafka_t *rk = af_kmock_consumer(k, "af-test-read", false);
	rd_kafka_topic_partition_list_t *parts =
	    all_parts(topic, partitions, RD_KAFKA_OFFSET_BEGINNING);

	cr_assert_eq(rd_kafka_assign(rk, parts), 0);
	rd_kafka_topic_partition_list_destroy(parts);

	struct af_kmock_msg *out = calloc(want + 1, sizeof *out);
	size_t n = 0;
	cr_assert_not_null(out);
	for (int tries = 0; n < want && tries < READ_DEADLINE_MS / READ_POLL_MS; tries++) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, READ_POLL_MS);
		if (m == NULL)
			continue;
		cr_assert_eq(m->err, 0, "consumer: %s", rd_kafka_message_errstr(m));
		struct af_kmock_msg *o = &out[n++];
		o->partition = m->partition;
		o->offset = m->offset;
		o->vlen = m->len;
		o->klen = m->key_len;
		o->value = copy(m->payload, m->len);
		o->key = copy(m->key, m->key_len);
		rd_kafka_message_destroy(m);
	}
	cr_assert_eq(n, want, "%s: read %zu of %zu messages", topic, n, want);

	/* The end offsets, all in one ListOffsets request ("latest" is
	 * timestamp -1). */
	int64_t total = 0;
	parts = all_parts(topic, partitions, -1);
	cr_assert_eq(rd_kafka_offsets_for_times(rk, parts, READ_DEADLINE_MS), 0);
	for (int p = 0; p < partitions; p++) {
		cr_assert_eq(parts->elems[p].err, 0);
		total += parts->elems[p].offset;
	}
	rd_kafka_topic_partition_list_destroy(parts);
	cr_assert_eq(total, (int64_t)want, "%s holds %lld messages, not %zu", topic,
	             (long long)total, want);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return out;
}

void af_kmock_msgs_free(struct af_kmock_msg *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].key);
		free(m[i].value);
	}
	free(m);
}
