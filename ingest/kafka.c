/* kafka.c - the Kafka source: open (configuration, the consumer, the
 * subscription), close, the getters and the input table.
 *
 * Thread: the source thread (see ingest/kafka.h); the log callback runs on
 * librdkafka's threads and touches nothing but the logger.
 * In: the options. Out: a subscribed consumer and the source's tables;
 * at close, the resume points committed.
 *
 * DESIGN: refusing overrides. The two settings at-least-once rests on are
 * checked after every -X has been applied, by reading them back from the
 * configuration (rd_kafka_conf_get), so every spelling librdkafka takes
 * ("true", "1", "t", aliases) is caught, not only the one we would think
 * of. Secrets: -X entries go through pipeline/kafka_conf.h, shared with
 * the Kafka sink; the source keeps copies of the secret ones and redacts
 * by value every text it writes afterwards (errors, last_error).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/kafka_impl.h"
#include "pipeline/clock.h"
#include "pipeline/kafka_conf.h"

/* fmt's text into out, the -X secrets as "***". */
static void format_clean(const struct af_kafka_src *s, char *out, size_t size, const char *fmt,
                         va_list ap)
{
	char text[KSRC_ERRSTR];
	vsnprintf(text, sizeof(text), fmt, ap);
	af_kafka_conf_redact((const char *const *)s->secrets, s->nsecrets, text, out, size);
}

void af_kafka_note(struct af_kafka_src *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	format_clean(s, s->st.last_error, sizeof(s->st.last_error), fmt, ap);
	va_end(ap);
}

void af_kafka_fail(struct af_kafka_src *s, af_err_t err, const char *fmt, ...)
{
	if (s->fatal != AF_OK)
		return;
	va_list ap;
	va_start(ap, fmt);
	format_clean(s, s->fatal_msg, sizeof(s->fatal_msg), fmt, ap);
	va_end(ap);
	s->fatal = err;
}

/* ---- inputs ---- */

uint32_t af_kafka_input_find(struct af_kafka_src *s, const char *topic, int32_t partition)
{
	uint32_t h = s->last_hit;
	if (h < s->ninputs && s->in[h].partition == partition && strcmp(s->in[h].topic, topic) == 0)
		return h;
	/* Not per record: messages of a partition come in runs. */
	for (uint32_t i = 0; i < s->ninputs; i++) {
		if (s->in[i].partition == partition && strcmp(s->in[i].topic, topic) == 0) {
			s->last_hit = i;
			return i;
		}
	}
	return KSRC_NONE;
}

uint32_t af_kafka_input_get(struct af_kafka_src *s, const char *topic, int32_t partition)
{
	uint32_t i = af_kafka_input_find(s, topic, partition);
	if (i != KSRC_NONE)
		return i;
	if (s->ninputs == s->max_inputs) {
		af_kafka_fail(s, AF_E_CONFIG,
		              "kafka: %s[%" PRId32 "] would be partition %" PRIu32
		              " of this run, more than max_inputs (%" PRIu32 ")",
		              topic, partition, s->ninputs + 1, s->max_inputs);
		return KSRC_NONE;
	}
	struct af_kafka_input *in = &s->in[s->ninputs];
	in->topic = strdup(topic);
	if (!in->topic || asprintf(&in->name, "%s[%" PRId32 "]", topic, partition) < 0) {
		free(in->topic);
		in->topic = NULL;
		in->name = NULL;
		af_kafka_fail(s, AF_E_NOMEM, "kafka: out of memory numbering %s[%" PRId32 "]",
		              topic, partition);
		return KSRC_NONE;
	}
	in->partition = partition;
	in->stored = in->committed = in->handed = in->rewound = -1;
	in->seen = in->part = in->resume = in->lost_at = -1;
	in->head = in->tail = KSRC_NONE;
	return s->ninputs++;
}

/* ---- configuration ---- */

/* One of our own settings; only the broker list comes from the user, and
 * it is no secret. */
static af_err_t set_ours(rd_kafka_conf_t *conf, const char *key, const char *value, char *errstr,
                         size_t errstr_size)
{
	char why[512];
	if (rd_kafka_conf_set(conf, key, value, why, sizeof(why)) == RD_KAFKA_CONF_OK)
		return AF_OK;
	snprintf(errstr, errstr_size, "kafka: %s: %s", key, why);
	return AF_E_CONFIG;
}

/* Keep copies of the secret -X entries, to redact later texts with. */
static af_err_t keep_secrets(struct af_kafka_src *s, const struct af_kafka_src_opts *o)
{
	if (o->nprops == 0)
		return AF_OK;
	s->secrets = calloc(o->nprops, sizeof(*s->secrets));
	if (!s->secrets)
		return AF_E_NOMEM;
	for (size_t i = 0; i < o->nprops; i++) {
		if (!af_kafka_conf_is_secret(o->props[i]))
			continue;
		if (!(s->secrets[s->nsecrets++] = strdup(o->props[i])))
			return AF_E_NOMEM;
	}
	return AF_OK;
}

/* Refuse a user value that breaks at-least-once: read the key back. */
static af_err_t check_kept(rd_kafka_conf_t *conf, const char *key, const char *want,
                           const char *why, char *errstr, size_t errstr_size)
{
	char val[32];
	size_t len = sizeof(val);
	if (rd_kafka_conf_get(conf, key, val, &len) != RD_KAFKA_CONF_OK || strcmp(val, want) != 0) {
		snprintf(errstr, errstr_size, "kafka: -X %s: refused: %s; leave %s unset", key, why,
		         key);
		return AF_E_CONFIG;
	}
	return AF_OK;
}

static af_err_t parse_start(struct af_kafka_src *s, const char *offset, char *errstr,
                            size_t errstr_size)
{
	const char *num = NULL;
	s->start_value = 0;
	if (!offset || strcmp(offset, "stored") == 0)
		s->start = KSTART_STORED;
	else if (strcmp(offset, "beginning") == 0)
		s->start = KSTART_BEGINNING;
	else if (strcmp(offset, "end") == 0)
		s->start = KSTART_END;
	else if (strncmp(offset, "s@", 2) == 0)
		s->start = KSTART_TIME, num = offset + 2;
	else if (offset[0] == '-')
		s->start = KSTART_TAIL, num = offset + 1;
	else
		s->start = KSTART_ABS, num = offset;
	if (num) {
		char *end;
		unsigned long long v = strtoull(num, &end, 10);
		if (num[0] < '0' || num[0] > '9' || *end != '\0' || v > INT64_MAX / 2 ||
		    (s->start == KSTART_TAIL && v == 0)) {
			snprintf(errstr, errstr_size,
			         "--offset '%s': expected beginning, end, stored, N, -N (N > 0) "
			         "or s@MS (a timestamp in ms)",
			         offset);
			return AF_E_CONFIG;
		}
		s->start_value = (int64_t)v;
	}
	return AF_OK;
}

/* librdkafka's log lines, from its threads: s->secrets and s->log are
 * read-only from open to close, so reading them there is safe. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	const struct af_kafka_src *s = rd_kafka_opaque(rk);
	af_kafka_conf_log(s->log, (const char *const *)s->secrets, s->nsecrets, "consumer", NULL,
	                  level, fac, buf);
}

/* librdkafka's enable.auto.commit and auto.commit.interval.ms, as the
 * user left them, become the source's periodic commit (kafka.h,
 * "Offsets"); librdkafka's own auto-commit is turned off, since it cannot
 * keep an older commit's late retry from landing after a newer one. */
static af_err_t take_commit_conf(struct af_kafka_src *s, rd_kafka_conf_t *conf, char *errstr,
                                 size_t errstr_size)
{
	char v[32];
	size_t n = sizeof(v);
	bool on = rd_kafka_conf_get(conf, "enable.auto.commit", v, &n) != RD_KAFKA_CONF_OK ||
	          strcmp(v, "true") == 0;
	long ms = 5000; /* librdkafka's default */
	n = sizeof(v);
	if (rd_kafka_conf_get(conf, "auto.commit.interval.ms", v, &n) == RD_KAFKA_CONF_OK)
		ms = strtol(v, NULL, 10);
	s->commit_every = on && ms > 0 ? (double)ms / 1000.0 : 0;
	s->commit_at = af_clock_s() + s->commit_every;
	return set_ours(conf, "enable.auto.commit", "false", errstr, errstr_size);
}

/* librdkafka's statistics, every statistics.interval.ms (a second unless
 * -X says otherwise), on the source thread's poll: a broker connection in
 * state UP is a broker that answers, the only sign an idle topic gives
 * that the brokers are back after an outage (metrics' health). json is
 * NUL-terminated and librdkafka's to free. */
static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	struct af_kafka_src *s = opaque;
	(void)rk;
	(void)len;
	if (strstr(json, "\"state\":\"UP\"") != NULL) {
		s->answered = true;
		s->all_down = false;
	}
	return 0;
}

static af_err_t make_conf(struct af_kafka_src *s, const struct af_kafka_src_opts *o,
                          rd_kafka_conf_t **out, char *errstr, size_t errstr_size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *defaults[][2] = {
	    {"bootstrap.servers", o->brokers},
	    {"group.id", o->group ? o->group : AF_KAFKA_SRC_GROUP_DEFAULT},
	    {"client.id", "auditflow"},
	    {"partition.assignment.strategy", "cooperative-sticky"},
	    {"auto.offset.reset", "earliest"},
	    {"queued.max.messages.kbytes", "262144"},
	    {"queued.min.messages", "1000000"},
	    {"enable.auto.offset.store", "false"},
	    {"enable.partition.eof", "true"},
	    {"statistics.interval.ms", "1000"},
	};
	af_err_t e = AF_OK;
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]) && e == AF_OK; i++)
		e = set_ours(conf, defaults[i][0], defaults[i][1], errstr, errstr_size);
	for (size_t i = 0; i < o->nprops && e == AF_OK; i++) {
		char why[512];
		if ((e = af_kafka_conf_set(conf, o->props[i], i, why, sizeof(why))) != AF_OK)
			snprintf(errstr, errstr_size, "kafka: %s", why);
	}
	if (e == AF_OK)
		e = check_kept(conf, "enable.auto.offset.store", "false",
		               "auditflow stores a message's offset itself, once its records are "
		               "processed and their alerts accepted (at least once)",
		               errstr, errstr_size);
	if (e == AF_OK)
		e = check_kept(conf, "enable.partition.eof", "true",
		               "auditflow needs partition ends to know when it has caught up "
		               "(-e, lag)",
		               errstr, errstr_size);
	if (e == AF_OK)
		e = take_commit_conf(s, conf, errstr, errstr_size);
	if (e != AF_OK) {
		rd_kafka_conf_destroy(conf);
		return e;
	}
	rd_kafka_conf_set_opaque(conf, s);
	rd_kafka_conf_set_log_cb(conf, log_cb);
	rd_kafka_conf_set_error_cb(conf, af_kafka_error_cb);
	rd_kafka_conf_set_stats_cb(conf, stats_cb);
	rd_kafka_conf_set_rebalance_cb(conf, af_kafka_rebalance_cb);
	*out = conf;
	return AF_OK;
}

static af_err_t check_opts(const struct af_kafka_src_opts *o, char *errstr, size_t errstr_size)
{
	if (!o->brokers || !o->brokers[0]) {
		snprintf(errstr, errstr_size, "kafka: no brokers (-b HOST:PORT)");
		return AF_E_CONFIG;
	}
	if (o->ntopics == 0) {
		snprintf(errstr, errstr_size, "kafka: no topic (-t TOPIC)");
		return AF_E_CONFIG;
	}
	for (size_t i = 0; i < o->ntopics; i++) {
		if (!o->topics[i] || !o->topics[i][0] || strcmp(o->topics[i], "^") == 0) {
			snprintf(errstr, errstr_size, "kafka: topic %zu is empty", i + 1);
			return AF_E_CONFIG;
		}
	}
	if (o->group && !o->group[0]) {
		snprintf(errstr, errstr_size, "kafka: empty group (-G)");
		return AF_E_CONFIG;
	}
	return AF_OK;
}

static af_err_t alloc_tables(struct af_kafka_src *s, const struct af_kafka_src_opts *o)
{
	s->max_record = o->max_record_bytes ? o->max_record_bytes : AF_KAFKA_SRC_MAX_RECORD_DEFAULT;
	s->max_inputs = o->max_inputs ? o->max_inputs : AF_KAFKA_SRC_MAX_INPUTS_DEFAULT;
	s->max_pending = o->max_pending ? o->max_pending : AF_KAFKA_SRC_MAX_PENDING_DEFAULT;
	s->stash_cap = o->stash_messages ? o->stash_messages : AF_KAFKA_SRC_STASH_DEFAULT;
	s->in = calloc(s->max_inputs, sizeof(*s->in));
	s->pool = calloc(s->max_pending, sizeof(*s->pool));
	s->stash = calloc(s->stash_cap, sizeof(*s->stash));
	s->names = calloc(o->ntopics, sizeof(*s->names));
	s->handles = calloc(o->ntopics, sizeof(*s->handles));
	if (!s->in || !s->pool || !s->stash || !s->names || !s->handles)
		return AF_E_NOMEM;
	for (uint32_t i = 0; i < s->max_pending; i++)
		s->pool[i].next = i + 1 < s->max_pending ? i + 1 : KSRC_NONE;
	s->pool_free = 0;
	for (size_t i = 0; i < o->ntopics; i++) {
		if (o->topics[i][0] == '^')
			continue;
		if (!(s->names[s->nnames++] = strdup(o->topics[i])))
			return AF_E_NOMEM;
	}
	s->cur.pend = KSRC_NONE;
	s->last_hit = KSRC_NONE;
	return AF_OK;
}

static void free_tables(struct af_kafka_src *s)
{
	for (uint32_t i = 0; i < s->ninputs; i++) {
		free(s->in[i].topic);
		free(s->in[i].name);
	}
	for (size_t i = 0; i < s->nnames; i++)
		free(s->names[i]);
	free(s->names);
	free(s->handles);
	for (size_t i = 0; i < s->nsecrets; i++)
		free(s->secrets[i]);
	free(s->secrets);
	free(s->in);
	free(s->pool);
	free(s->stash);
	free(s);
}

static af_err_t subscribe(struct af_kafka_src *s, const struct af_kafka_src_opts *o, char *errstr,
                          size_t errstr_size)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)o->ntopics);
	for (size_t i = 0; i < o->ntopics; i++)
		rd_kafka_topic_partition_list_add(l, o->topics[i], RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t err = rd_kafka_subscribe(s->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (err) {
		snprintf(errstr, errstr_size, "kafka: cannot subscribe: %s", rd_kafka_err2str(err));
		return err == RD_KAFKA_RESP_ERR__INVALID_ARG ? AF_E_CONFIG : AF_E_INTERNAL;
	}
	/* Only a faster start: a topic without a handle still works. */
	for (size_t i = 0; i < s->nnames; i++)
		s->handles[i] = rd_kafka_topic_new(s->rk, s->names[i], NULL);
	return AF_OK;
}

static void drop_handles(struct af_kafka_src *s)
{
	for (size_t i = 0; s->handles && i < s->nnames; i++) {
		if (s->handles[i])
			rd_kafka_topic_destroy(s->handles[i]);
		s->handles[i] = NULL;
	}
}

af_err_t af_kafka_src_open(const struct af_kafka_src_opts *o, struct af_kafka_src **out,
                           char *errstr, size_t errstr_size)
{
	*out = NULL;
	af_err_t e = check_opts(o, errstr, errstr_size);
	if (e != AF_OK)
		return e;
	struct af_kafka_src *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(errstr, errstr_size, "kafka: out of memory");
		return AF_E_NOMEM;
	}
	rd_kafka_conf_t *conf = NULL;
	s->exit_at_end = o->exit_at_end;
	s->log = af_log_or_default(o->log);
	if ((e = parse_start(s, o->offset, errstr, errstr_size)) != AF_OK)
		goto cleanup;
	if ((e = alloc_tables(s, o)) != AF_OK || (e = keep_secrets(s, o)) != AF_OK) {
		snprintf(errstr, errstr_size, "kafka: out of memory for the source's tables");
		goto cleanup;
	}
	if ((e = make_conf(s, o, &conf, errstr, errstr_size)) != AF_OK)
		goto cleanup;
	char err[512];
	s->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	if (!s->rk) {
		/* On failure the configuration is still ours. The text may
		 * quote a setting (a key file that cannot be read, say). */
		char clean[512];
		af_kafka_conf_redact(o->props, o->nprops, err, clean, sizeof(clean));
		snprintf(errstr, errstr_size, "kafka: cannot make the consumer: %s", clean);
		e = AF_E_CONFIG;
		goto cleanup;
	}
	conf = NULL;
	/* Rebalances, errors and commit results come out of consumer_poll. */
	rd_kafka_poll_set_consumer(s->rk);
	s->commitq = rd_kafka_queue_new(s->rk);
	if ((e = subscribe(s, o, errstr, errstr_size)) != AF_OK)
		goto cleanup;
	*out = s;
	return AF_OK;
cleanup:
	if (conf)
		rd_kafka_conf_destroy(conf);
	drop_handles(s);
	if (s->commitq)
		rd_kafka_queue_destroy(s->commitq);
	if (s->rk)
		rd_kafka_destroy(s->rk);
	free_tables(s);
	return e;
}

af_err_t af_kafka_src_close(struct af_kafka_src *s, struct af_kafka_src_stats *last, char *errstr,
                            size_t errstr_size)
{
	if (!s)
		return AF_OK;
	af_err_t e = AF_OK;
	/* The resume points are taken while the held messages still say
	 * where the unhanded ones begin. */
	rd_kafka_resp_err_t err = af_kafka_commit_final(s);
	if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
		snprintf(errstr, errstr_size, "kafka: committing offsets at close: %s",
		         rd_kafka_err2str(err));
		e = AF_E_IO;
	}
	if (last)
		af_kafka_src_stats(s, last);
	/* librdkafka waits for every message to be destroyed before it lets
	 * go of the handle. */
	af_kafka_drop_all(s);
	s->closing = true;
	err = rd_kafka_consumer_close(s->rk);
	if (err && e == AF_OK) {
		snprintf(errstr, errstr_size, "kafka: leaving the group: %s",
		         rd_kafka_err2str(err));
		e = AF_E_IO;
	}
	drop_handles(s);
	rd_kafka_queue_destroy(s->commitq);
	rd_kafka_destroy(s->rk);
	free_tables(s);
	return e;
}

/* ---- getters ---- */

const char *af_kafka_src_input_name(const struct af_kafka_src *s, uint32_t input)
{
	return input < s->ninputs ? s->in[input].name : NULL;
}

bool af_kafka_src_at_end(const struct af_kafka_src *s, uint32_t input)
{
	if (input >= s->ninputs)
		return false;
	const struct af_kafka_input *in = &s->in[input];
	return in->assigned && in->eof && in->stashed == 0 &&
	       !(s->cur.msg && s->cur.input == input);
}

uint64_t af_kafka_src_changes(const struct af_kafka_src *s)
{
	return s->changes;
}

bool af_kafka_src_assigned(const struct af_kafka_src *s, uint32_t input)
{
	return input < s->ninputs && s->in[input].assigned;
}

bool af_kafka_src_released(const struct af_kafka_src *s, uint32_t input)
{
	if (input >= s->ninputs || s->in[input].assigned || !s->in[input].started)
		return false;
	return s->assigned > 0 || af_clock_s() - s->none_since >= KSRC_REJOIN_S;
}

af_err_t af_kafka_src_lag(const struct af_kafka_src *s, uint32_t input, int64_t *lag)
{
	if (input >= s->ninputs || !s->in[input].assigned)
		return AF_E_INVALID;
	const struct af_kafka_input *in = &s->in[input];
	int64_t lo, hi, pos = in->handed;
	if (rd_kafka_get_watermark_offsets(s->rk, in->topic, in->partition, &lo, &hi) || hi < 0)
		return AF_E_AGAIN;
	if (pos < 0) {
		rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
		rd_kafka_topic_partition_list_add(l, in->topic, in->partition);
		if (rd_kafka_position(s->rk, l) == RD_KAFKA_RESP_ERR_NO_ERROR && !l->elems[0].err)
			pos = l->elems[0].offset;
		rd_kafka_topic_partition_list_destroy(l);
		if (pos < 0)
			return AF_E_AGAIN;
	}
	*lag = hi > pos ? hi - pos : 0;
	return AF_OK;
}

void af_kafka_src_stats(const struct af_kafka_src *s, struct af_kafka_src_stats *out)
{
	*out = s->st;
	out->assigned = s->assigned;
	out->inputs = s->ninputs;
	out->pending = s->pending;
	out->stashed = s->stash_live;
	out->is_paused = s->paused;
	out->connected = s->answered && !s->all_down;
}
