/* kafka.c - the Kafka sink: librdkafka's idempotent producer behind the
 * sinks' common shape (bounded queue, AF_E_AGAIN, one on_done per
 * document; see sinks/kafka.h).
 *
 * Thread: the sink's owner. librdkafka's own threads enter this file only
 * in log_cb, which reads nothing but what open fixed (the secrets, the
 * logger, the topic): delivery reports and errors are queued by
 * librdkafka and served by rd_kafka_poll / rd_kafka_flush, which only the
 * owner calls.
 * In: documents from af_kafka_sink_submit. Out: Kafka messages; on_done per
 * document; counters.
 *
 * DESIGN: the configuration is built in three layers, in order: ours
 * (defaults), opts (brokers, linger, queue caps), the user's -X. After
 * each -X the guarded settings are read back from the configuration
 * itself, so a refusal names the key the user wrote whatever alias or
 * spelling of the value it used ("request.required.acks=1", "acks=0",
 * "enable.idempotence=0").
 * DESIGN: redaction is by value (pipeline/kafka_conf.h): the secret -X
 * entries are copied before anything is applied, and every text written
 * out passes through say(), which replaces their values by "***" wherever
 * they occur, in our words or in librdkafka's.
 * DESIGN: a failed document goes back to on_done with its bytes, from the
 * delivery report's payload (librdkafka's copy) or, for a produce-time
 * refusal, from a copy held with the refusal: the caller dead-letters the
 * document itself, not a reference to it.
 */
#include "sinks/kafka.h"

#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/kafka_conf.h"

/* The token rides in the message's opaque pointer. */
_Static_assert(sizeof(void *) >= sizeof(uint64_t), "a token must fit in a pointer");

#define AF_KS_TEXT_MAX 1024 /* a message before redaction and cutting */

/* A document librdkafka refused at produce time for good; settled as a
 * dead letter on the next poll. Held (counted) until then, with a copy of
 * the document for on_done. */
struct af_ks_refusal {
	struct af_ks_refusal *next;
	uint64_t token;
	size_t bytes; /* key and value, as counted */
	rd_kafka_resp_err_t err;
	size_t len;
	char doc[]; /* len bytes */
};

struct af_kafka_sink {
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	char *topic;
	char *brokers;
	af_kafka_done_fn on_done;
	void *ctx;

	uint32_t held, held_max; /* documents from submit to on_done */
	size_t held_bytes, held_bytes_max;
	struct af_ks_refusal *refused, **refused_tail;
	bool fatal;
	bool closing; /* reports served from now on call no on_done */

	char **secrets; /* the secret -X entries, "key=value", owned */
	size_t nsecrets;
	const struct af_log *log; /* librdkafka's lines go there (borrowed) */

	struct af_kafka_sink_stats st; /* pending, pending_bytes: from held */
};

/* ---- texts ---- */

static void vsay(const struct af_kafka_sink *s, char *dst, size_t size, const char *fmt, va_list ap)
{
	char text[AF_KS_TEXT_MAX];

	vsnprintf(text, sizeof(text), fmt, ap);
	af_kafka_conf_redact((const char *const *)s->secrets, s->nsecrets, text, dst, size);
}

/* printf into dst[size], redacted. */
__attribute__((format(printf, 4, 5))) static void say(const struct af_kafka_sink *s, char *dst,
                                                      size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(s, dst, size, fmt, ap);
	va_end(ap);
}

/* printf into last_error, redacted; once the producer has failed for
 * good, that reason stays. */
__attribute__((format(printf, 2, 3))) static void note(struct af_kafka_sink *s, const char *fmt,
                                                       ...)
{
	va_list ap;

	if (s->fatal)
		return;
	va_start(ap, fmt);
	vsay(s, s->st.last_error, sizeof(s->st.last_error), fmt, ap);
	va_end(ap);
}

/* librdkafka's log lines, from its threads (see Thread above). */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	const struct af_kafka_sink *s = rd_kafka_opaque(rk);
	af_kafka_conf_log(s->log, (const char *const *)s->secrets, s->nsecrets, "producer",
	                  s->topic, level, fac, buf);
}

/* ---- settling documents ---- */

/* doc[0..len): the document, for a dead letter. */
static void settle(struct af_kafka_sink *s, uint64_t token, size_t bytes, rd_kafka_resp_err_t err,
                   const char *doc, size_t len)
{
	char reason[256];

	s->held--;
	s->held_bytes -= bytes;
	if (s->closing)
		return;
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		s->st.delivered++;
		s->on_done(s->ctx, token, true, NULL, NULL, 0);
		return;
	}
	/* librdkafka's texts name the error ("Broker: Message size too large");
	 * its enum names are for programmers. */
	say(s, reason, sizeof(reason), "kafka: %s%s", rd_kafka_err2str(err),
	    s->fatal ? " (fatal producer error)" : "");
	note(s, "%s (a document for topic '%s' dead-lettered)", reason, s->topic);
	s->st.failed++;
	s->on_done(s->ctx, token, false, reason, doc, len);
}

/* Dead-letter the produce-time refusals, oldest first. on_done may submit
 * and so add more; they are settled in the same turn. */
static void settle_refused(struct af_kafka_sink *s)
{
	struct af_ks_refusal *r;

	while ((r = s->refused) != NULL) {
		s->refused = r->next;
		if (s->refused == NULL)
			s->refused_tail = &s->refused;
		settle(s, r->token, r->bytes, r->err, r->doc, r->len);
		free(r);
	}
}

/* ---- librdkafka callbacks (owner thread, inside rd_kafka_poll/flush) ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	settle(opaque, (uint64_t)(uintptr_t)m->_private, m->len + m->key_len, m->err, m->payload,
	       m->len);
}

static void note_fatal(struct af_kafka_sink *s)
{
	char why[512];
	rd_kafka_resp_err_t err = rd_kafka_fatal_error(s->rk, why, sizeof(why));

	note(s, "kafka: fatal producer error, no more documents accepted: %s (%s)",
	     rd_kafka_err2str(err), why);
	s->fatal = true;
	s->st.fatal = true;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct af_kafka_sink *s = opaque;

	(void)rk;
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		note_fatal(s);
		return;
	}
	s->st.client_errors++;
	note(s, "kafka: %s", reason);
}

/* ---- configuration ---- */

/* Copy the secret -X entries ("key=value") before any is applied: every
 * text written from now on is redacted with them. */
static af_err_t collect_secrets(struct af_kafka_sink *s, const struct af_kafka_sink_opts *o)
{
	if (o->nprops == 0)
		return AF_OK;
	s->secrets = calloc(o->nprops, sizeof(*s->secrets));
	if (s->secrets == NULL)
		return AF_E_NOMEM;
	for (size_t i = 0; i < o->nprops; i++) {
		if (!af_kafka_conf_is_secret(o->props[i]))
			continue;
		if ((s->secrets[s->nsecrets] = strdup(o->props[i])) == NULL)
			return AF_E_NOMEM;
		s->nsecrets++;
	}
	return AF_OK;
}

/* A value in conf, "" when unset. */
static void conf_value(rd_kafka_conf_t *conf, const char *key, char *buf, size_t size)
{
	size_t n = size;
	if (rd_kafka_conf_get(conf, key, buf, &n) != RD_KAFKA_CONF_OK)
		buf[0] = '\0';
}

/* Why conf would lose or duplicate alerts silently, or NULL. */
static const char *guard_broken(rd_kafka_conf_t *conf)
{
	char v[256];

	conf_value(conf, "enable.idempotence", v, sizeof(v));
	if (strcmp(v, "true") != 0)
		return "the sink needs enable.idempotence=true: without it a retried request can "
		       "write an alert twice and retries can reorder an account's alerts";
	conf_value(conf, "acks", v, sizeof(v));
	if (strcmp(v, "-1") != 0)
		return "the sink needs acks=all (-1): with fewer acknowledgements a leader that "
		       "fails can lose alerts already reported delivered";
	conf_value(conf, "delivery.report.only.error", v, sizeof(v));
	if (strcmp(v, "false") != 0)
		return "the sink needs a delivery report for every document to know it is stored";
	conf_value(conf, "transactional.id", v, sizeof(v));
	if (v[0] != '\0')
		return "the sink does not run transactions";
	return NULL;
}

/* One of our settings; what opts gave is named in the error. */
static af_err_t conf_ours(struct af_kafka_sink *s, rd_kafka_conf_t *conf, const char *key,
                          const char *value, const char *from, char *errstr, size_t errstr_size)
{
	char why[512];

	if (rd_kafka_conf_set(conf, key, value, why, sizeof(why)) == RD_KAFKA_CONF_OK)
		return AF_OK;
	say(s, errstr, errstr_size, "kafka: %s %s: %s", from, value, why);
	return AF_E_CONFIG;
}

/* The user's -X number i ("key=value"), then the guards. */
static af_err_t conf_user(struct af_kafka_sink *s, rd_kafka_conf_t *conf, size_t i,
                          const char *prop, char *errstr, size_t errstr_size)
{
	char why[512], shown[512];

	if (af_kafka_conf_set(conf, prop, i, why, sizeof(why)) != AF_OK) {
		say(s, errstr, errstr_size, "kafka: %s", why);
		return AF_E_CONFIG;
	}
	const char *broken = guard_broken(conf);
	if (broken != NULL) {
		af_kafka_conf_show(prop, i, shown, sizeof(shown));
		say(s, errstr, errstr_size, "kafka: -X %s refused: %s", shown, broken);
		return AF_E_CONFIG;
	}
	return AF_OK;
}

static af_err_t build_conf(struct af_kafka_sink *s, rd_kafka_conf_t *conf,
                           const struct af_kafka_sink_opts *o, uint32_t linger_ms, char *errstr,
                           size_t errstr_size)
{
	static const char *const fixed[][2] = {
	    {"client.id", "auditflow"},  {"enable.idempotence", "true"}, {"acks", "all"},
	    {"message.timeout.ms", "0"}, {"compression.type", "zstd"},
	};
	char linger[16], items[16], kbytes[16];
	size_t kb = s->held_bytes_max / 1024 + 1;
	af_err_t e = AF_OK;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) && e == AF_OK; i++)
		e = conf_ours(s, conf, fixed[i][0], fixed[i][1], fixed[i][0], errstr, errstr_size);
	snprintf(linger, sizeof(linger), "%u", linger_ms);
	snprintf(items, sizeof(items), "%u", s->held_max > INT32_MAX ? INT32_MAX : s->held_max);
	snprintf(kbytes, sizeof(kbytes), "%zu", kb > INT32_MAX ? (size_t)INT32_MAX : kb);
	if (e == AF_OK)
		e = conf_ours(s, conf, "bootstrap.servers", o->brokers, "brokers", errstr,
		              errstr_size);
	if (e == AF_OK)
		e = conf_ours(s, conf, "linger.ms", linger, "linger_ms", errstr, errstr_size);
	if (e == AF_OK)
		e = conf_ours(s, conf, "queue.buffering.max.messages", items, "queue_items", errstr,
		              errstr_size);
	if (e == AF_OK)
		e = conf_ours(s, conf, "queue.buffering.max.kbytes", kbytes, "queue_bytes", errstr,
		              errstr_size);
	for (size_t i = 0; i < o->nprops && e == AF_OK; i++)
		e = conf_user(s, conf, i, o->props[i], errstr, errstr_size);
	return e;
}

/* ---- open and close ---- */

/* Ask the brokers about the topic. Only an answer that it cannot be used
 * fails the open; silence is noted and tolerated. */
static af_err_t check_topic(struct af_kafka_sink *s, uint32_t timeout_ms, char *errstr,
                            size_t errstr_size)
{
	const struct rd_kafka_metadata *md = NULL;
	int wait = timeout_ms > INT32_MAX ? INT32_MAX : (int)timeout_ms;
	rd_kafka_resp_err_t err = rd_kafka_metadata(s->rk, 0, s->rkt, &md, wait);

	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		note(s,
		     "kafka: brokers %s did not answer at open within %u ms (%s): topic "
		     "'%s' not checked; documents wait for the brokers",
		     s->brokers, timeout_ms, rd_kafka_err2str(err), s->topic);
		return AF_OK;
	}
	err = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
	rd_kafka_metadata_destroy(md);
	switch (err) {
	case RD_KAFKA_RESP_ERR_NO_ERROR:
	case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE: /* there, electing a leader */
		s->st.topic_checked = true;
		return AF_OK;
	case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
		say(s, errstr, errstr_size,
		    "kafka: topic '%s' does not exist on %s, and the brokers did not create "
		    "it: create it first",
		    s->topic, s->brokers);
		return AF_E_CONFIG;
	case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
		say(s, errstr, errstr_size, "kafka: topic '%s' on %s: %s", s->topic, s->brokers,
		    rd_kafka_err2str(err));
		return AF_E_CONFIG;
	default:
		note(s, "kafka: topic '%s' at open: %s", s->topic, rd_kafka_err2str(err));
		return AF_OK;
	}
}

static void sink_free(struct af_kafka_sink *s)
{
	struct af_ks_refusal *r, *next;

	if (s->rkt != NULL)
		rd_kafka_topic_destroy(s->rkt);
	if (s->rk != NULL)
		rd_kafka_destroy(s->rk);
	for (r = s->refused; r != NULL; r = next) {
		next = r->next;
		free(r);
	}
	for (size_t i = 0; i < s->nsecrets; i++)
		free(s->secrets[i]);
	free(s->secrets);
	free(s->topic);
	free(s->brokers);
	free(s);
}

af_err_t af_kafka_sink_open(const struct af_kafka_sink_opts *o, struct af_kafka_sink **out,
                            char *errstr, size_t errstr_size)
{
	struct af_kafka_sink *s;
	rd_kafka_conf_t *conf = NULL;
	char why[512];
	af_err_t e = AF_E_NOMEM;

	*out = NULL;
	if (o->brokers == NULL || o->brokers[0] == '\0' || o->topic == NULL ||
	    o->topic[0] == '\0' || o->on_done == NULL || (o->nprops > 0 && o->props == NULL)) {
		snprintf(errstr, errstr_size, "kafka: %s",
		         o->brokers == NULL || o->brokers[0] == '\0' ? "no brokers given"
		         : o->topic == NULL || o->topic[0] == '\0'   ? "no topic given"
		         : o->on_done == NULL                        ? "no on_done callback"
		                                                     : "nprops without props");
		return AF_E_CONFIG;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto nomem;
	s->refused_tail = &s->refused;
	s->on_done = o->on_done;
	s->ctx = o->ctx;
	s->log = af_log_or_default(o->log);
	s->held_max = o->queue_items ? o->queue_items : AF_KAFKA_QUEUE_ITEMS_DEFAULT;
	s->held_bytes_max = o->queue_bytes ? o->queue_bytes : AF_KAFKA_QUEUE_BYTES_DEFAULT;
	s->topic = strdup(o->topic);
	s->brokers = strdup(o->brokers);
	conf = rd_kafka_conf_new();
	if (s->topic == NULL || s->brokers == NULL || conf == NULL ||
	    collect_secrets(s, o) != AF_OK)
		goto nomem;

	e = build_conf(s, conf, o, o->linger_ms ? o->linger_ms : AF_KAFKA_LINGER_MS_DEFAULT, errstr,
	               errstr_size);
	if (e != AF_OK)
		goto cleanup;
	rd_kafka_conf_set_opaque(conf, s);
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_log_cb(conf, log_cb);
	s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
	if (s->rk == NULL) {
		/* Settings that are fine alone but not together (retries=0 or
		 * more than 5 requests in flight with idempotence, a missing
		 * key file, ...). */
		say(s, errstr, errstr_size, "kafka: %s", why);
		e = AF_E_CONFIG;
		goto cleanup;
	}
	conf = NULL; /* the producer owns it now */
	s->rkt = rd_kafka_topic_new(s->rk, s->topic, NULL);
	if (s->rkt == NULL) {
		say(s, errstr, errstr_size, "kafka: topic '%s': %s", s->topic,
		    rd_kafka_err2str(rd_kafka_last_error()));
		e = AF_E_CONFIG;
		goto cleanup;
	}
	e = check_topic(
	    s, o->metadata_timeout_ms ? o->metadata_timeout_ms : AF_KAFKA_METADATA_TIMEOUT_DEFAULT,
	    errstr, errstr_size);
	if (e != AF_OK)
		goto cleanup;
	*out = s;
	return AF_OK;
nomem:
	snprintf(errstr, errstr_size, "kafka: out of memory");
	e = AF_E_NOMEM;
cleanup:
	if (conf != NULL)
		rd_kafka_conf_destroy(conf);
	if (s != NULL)
		sink_free(s);
	return e;
}

void af_kafka_sink_close(struct af_kafka_sink *s)
{
	if (s == NULL)
		return;
	/* Purged documents are reported to nobody: the caller was told they
	 * get no on_done. Purging first keeps the destroy from waiting on
	 * brokers that are away; serving the purge reports (with closing set)
	 * frees the copies before librdkafka would count them as lost. */
	s->closing = true;
	rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	rd_kafka_poll(s->rk, 0);
	sink_free(s);
}

/* ---- the data path ---- */

af_err_t af_kafka_sink_submit(struct af_kafka_sink *s, uint64_t token, const char *key,
                              size_t keylen, const char *doc, size_t len)
{
	size_t bytes = keylen + len;
	const char *k = keylen > 0 ? key : NULL; /* an empty key is no key */
	rd_kafka_resp_err_t err;

	if (s->fatal)
		return AF_E_IO;
	if (len == 0 || bytes < len || bytes > s->held_bytes_max)
		return AF_E_INVALID;
	if (s->held >= s->held_max || bytes > s->held_bytes_max - s->held_bytes) {
		s->st.refused++;
		return AF_E_AGAIN;
	}
	/* librdkafka takes non-const pointers but copies (F_COPY) and never
	 * writes through them. */
	err = rd_kafka_producev(s->rk, RD_KAFKA_V_RKT(s->rkt), RD_KAFKA_V_KEY(k, keylen),
	                        RD_KAFKA_V_VALUE((void *)doc, len),
	                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
	                        RD_KAFKA_V_OPAQUE((void *)(uintptr_t)token), RD_KAFKA_V_END);
	switch (err) {
	case RD_KAFKA_RESP_ERR_NO_ERROR: break;
	case RD_KAFKA_RESP_ERR__QUEUE_FULL: /* a -X cap below ours */
		s->st.refused++;
		return AF_E_AGAIN;
	case RD_KAFKA_RESP_ERR__FATAL: note_fatal(s); return AF_E_IO;
	default: {
		/* Will not pass however often it is offered: a dead letter. */
		struct af_ks_refusal *r = malloc(sizeof(*r) + len);
		if (r == NULL)
			return AF_E_NOMEM;
		*r = (struct af_ks_refusal){.token = token, .bytes = bytes, .err = err, .len = len};
		memcpy(r->doc, doc, len);
		*s->refused_tail = r;
		s->refused_tail = &r->next;
		break;
	}
	}
	s->held++;
	s->held_bytes += bytes;
	s->st.submitted++;
	return AF_OK;
}

af_err_t af_kafka_sink_poll(struct af_kafka_sink *s, int timeout_ms)
{
	if (s->refused != NULL) {
		settle_refused(s);
		timeout_ms = 0; /* something was reported: return soon */
	}
	rd_kafka_poll(s->rk, timeout_ms);
	return s->fatal ? AF_E_IO : AF_OK;
}

af_err_t af_kafka_sink_flush(struct af_kafka_sink *s, int timeout_ms, char *errstr,
                             size_t errstr_size)
{
	settle_refused(s);
	if (s->held > 0) {
		rd_kafka_flush(s->rk, timeout_ms);
		settle_refused(s); /* what on_done submitted meanwhile */
	}
	if (s->fatal) {
		say(s, errstr, errstr_size, "%s", s->st.last_error);
		return AF_E_IO;
	}
	if (s->held == 0)
		return AF_OK;
	say(s, errstr, errstr_size,
	    "kafka: %u documents for topic '%s' not yet delivered after %d ms%s%s", s->held,
	    s->topic, timeout_ms, s->st.last_error[0] ? "; latest error: " : "", s->st.last_error);
	return AF_E_AGAIN;
}

uint32_t af_kafka_sink_pending(const struct af_kafka_sink *s)
{
	return s->held;
}

void af_kafka_sink_stats(const struct af_kafka_sink *s, struct af_kafka_sink_stats *out)
{
	*out = s->st;
	out->pending = s->held;
	out->pending_bytes = s->held_bytes;
}
