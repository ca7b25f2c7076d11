/* deliver.c - the outputs of `auditflow run` behind the runtime's outlet
 * (see deliver.h for the design).
 *
 * Thread: the runtime's sink thread (outlet calls); open and close on the
 * controlling thread.
 * In: tokens with alerts or chunks of lines. Out: the outputs' writes,
 * undeliverable lines in the dead-letter file, the settled count.
 *
 * DESIGN: every output a document goes to owes its token one settlement:
 * Kafka and HTTP through on_done, syslog and a permanent refusal at the
 * moment of offering. left[token] counts what is still owed, so a token
 * stashed for a full output (syslog included) is never counted settled
 * before that output has taken it.
 * DESIGN: one wait serves every output: the outputs that hold something
 * take turns waiting in slices, the others are polled without waiting,
 * and the wait ends as soon as a token settles. A single output holding
 * documents gets the whole wait.
 */
#include "sinks/deliver.h"
#include "pipeline/clock.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sinks/jsonw.h"
#include "sinks/kafka.h"

/* The outputs a document can go to, as bits of a mask; the bit order is
 * the order a document is offered in. */
enum {
	OUT_K_ALERTS = 1u << 0,
	OUT_K_DLQ = 1u << 1,
	OUT_K_EVENTS = 1u << 2,
	OUT_HTTP = 1u << 3,
	OUT_SYSLOG = 1u << 4,
	OUT_COUNT = 5,
};

/* Bytes of one formatted alert: the struct's texts escaped at worst six
 * times, plus the names. */
#define ALERT_JSON_MAX (64u * 1024u)

/* The undeliverable line's buffer at open; it grows for large documents. */
#define DEAD_LINE_MIN 4096u

/* Longest wait on one output while another also holds documents. */
#define WAIT_SLICE_MS 5

enum doc_kind { DOC_ALERT, DOC_DLQ, DOC_EVENTS };

struct af_deliver;

/* What an output's on_done needs to know. */
struct out_ctx {
	struct af_deliver *d;
	const char *name; /* "kafka:TOPIC", "http", "syslog" */
};

/* The document being handed out: offered to the outputs left in mask,
 * lowest bit first; for lines, the output of the lowest bit has taken
 * every line before `at`. Whatever an output refuses for now stays here
 * and is offered again before anything new. */
struct stash {
	bool used;
	enum doc_kind kind;
	uint64_t token;
	unsigned mask;
	char *text;
	size_t len, cap, at;
	char key[AF_ACCOUNT_MAX + AF_IP_TEXT_MAX];
	size_t keylen;
	struct af_alert alert; /* DOC_ALERT, for syslog */
};

struct af_deliver {
	struct af_deliver_opts o;
	struct af_rt_outlet outlet;
	struct af_kafka_sink *k[3]; /* alerts, dlq, events */
	struct af_http *http;
	struct af_syslog *syslog;
	struct out_ctx ctx[OUT_COUNT];
	char names[3][300];
	uint32_t *left; /* [AF_DELIVER_WINDOW]: settlements a token awaits */
	uint64_t next;  /* tokens taken */
	uint64_t done;  /* settled from 0 without a gap */
	struct stash st;
	char *json; /* ALERT_JSON_MAX */
	char *dead; /* an undeliverable line */
	size_t dead_cap;
	uint64_t syslog_failed; /* syslog's given-up messages already reported */
	unsigned turn;          /* the output that waited last */
	struct af_deliver_stats stats;
	double *taken_at; /* [AF_DELIVER_WINDOW]: when each token was taken */
	/* For af_deliver_health on another thread: the stats and when the
	 * oldest unsettled token was taken (0: none), under pub_mu. */
	pthread_mutex_t pub_mu;
	struct af_deliver_stats pub;
	double pub_oldest;
};

static const unsigned topic_bits[3] = {OUT_K_ALERTS, OUT_K_DLQ, OUT_K_EVENTS};

static unsigned bit_index(unsigned bit)
{
	return (unsigned)__builtin_ctz(bit);
}

/* --- settling --- */

/* Write an undeliverable line: the output, why, and the document (NULL:
 * not known, e.g. syslog's count of messages given up, then count says
 * how many). */
static void undeliverable(struct af_deliver *d, const char *output, const char *reason,
                          const char *doc, size_t len, uint64_t count)
{
	struct af_jsonw w;
	size_t need = 256 + 6 * (strlen(output) + strlen(reason)) + (doc != NULL ? 6 * len : 0);

	d->stats.undeliverable += count;
	if (need > d->dead_cap) {
		char *p = realloc(d->dead, need);
		if (p != NULL) {
			d->dead = p;
			d->dead_cap = need;
		}
	}
	af_jsonw_init(&w, d->dead, d->dead_cap, NULL);
	af_jsonw_object_begin(&w);
	af_jsonw_field_string(&w, "reason", "undeliverable");
	af_jsonw_field_string(&w, "output", output);
	af_jsonw_field_string(&w, "detail", reason);
	if (doc == NULL) {
		af_jsonw_field_uint(&w, "count", count);
	} else if (need > d->dead_cap) {
		/* Out of memory for the document: say so rather than lose
		 * the line. */
		af_jsonw_field_uint(&w, "document_len", len);
		af_jsonw_field_string(&w, "document_lost", "out of memory");
	} else if (af_jsonw_utf8_valid(doc, len)) {
		af_jsonw_field_string_len(&w, "document", doc, len);
	} else {
		af_jsonw_key(&w, "document_base64");
		af_jsonw_base64(&w, doc, len);
	}
	af_jsonw_object_end(&w);
	if (af_jsonw_end_line(&w) == AF_OK)
		af_dlq_write_text(d->o.dlq_file, w.buf, w.len);
}

static void settle_one(struct af_deliver *d, uint64_t token)
{
	uint32_t *l = &d->left[token % AF_DELIVER_WINDOW];

	assert(*l > 0);
	if (*l > 0)
		(*l)--;
}

static void on_done(void *vctx, uint64_t token, bool ok, const char *reason, const char *doc,
                    size_t len)
{
	struct out_ctx *c = vctx;

	if (!ok)
		undeliverable(c->d, c->name, reason, doc, len, 1);
	settle_one(c->d, token);
}

static void advance(struct af_deliver *d)
{
	while (d->done < d->next && d->left[d->done % AF_DELIVER_WINDOW] == 0)
		d->done++;
	d->stats.settled = d->done;
	/* Metrics: once a document and a serving round, never per record. */
	pthread_mutex_lock(&d->pub_mu);
	d->pub = d->stats;
	d->pub_oldest = d->done < d->next ? d->taken_at[d->done % AF_DELIVER_WINDOW] : 0;
	pthread_mutex_unlock(&d->pub_mu);
}

/* --- offering to the outputs --- */

/* The next line of text from *at: its bytes without the '\n'; blank
 * lines are skipped. */
static bool next_line(const char *text, size_t len, size_t *at, const char **line, size_t *n)
{
	while (*at < len && text[*at] == '\n')
		(*at)++;
	if (*at >= len)
		return false;
	const char *s = text + *at;
	const char *e = memchr(s, '\n', len - *at);
	*line = s;
	*n = e ? (size_t)(e - s) : len - *at;
	return true;
}

static size_t count_lines(const char *text, size_t len)
{
	size_t at = 0, n = 0, k;
	const char *line;

	while (next_line(text, len, &at, &line, &k)) {
		n++;
		at += k;
	}
	return n;
}

static af_err_t offer_one(struct af_deliver *d, unsigned bit, const struct stash *s,
                          const char *doc, size_t len)
{
	switch (bit) {
	case OUT_K_ALERTS:
		return af_kafka_sink_submit(d->k[0], s->token, s->key, s->keylen, doc, len);
	case OUT_K_DLQ: return af_kafka_sink_submit(d->k[1], s->token, NULL, 0, doc, len);
	case OUT_K_EVENTS: return af_kafka_sink_submit(d->k[2], s->token, NULL, 0, doc, len);
	case OUT_HTTP: return af_http_submit(d->http, s->token, doc, len);
	case OUT_SYSLOG: return af_syslog_send_alert(d->syslog, &s->alert);
	}
	return AF_E_INTERNAL;
}

/* Why an output refused a document for good. */
static void refusal(struct af_deliver *d, unsigned bit, af_err_t e, char *why, size_t size)
{
	struct af_kafka_sink_stats ks;

	if (e == AF_E_IO && bit <= OUT_K_EVENTS) {
		af_kafka_sink_stats(d->k[bit_index(bit)], &ks);
		snprintf(why, size, "refused: %s", ks.last_error);
	} else if (e == AF_E_INVALID) {
		snprintf(why, size, "refused: larger than the output's queue can ever hold");
	} else {
		snprintf(why, size, "refused: %s", af_err_str(e));
	}
}

/* Offer one document to one output. Returns false when the output is
 * full for now (offer it again later); true when it is dealt with: taken,
 * or refused for good and written as undeliverable. Outputs without an
 * acknowledgement (syslog) settle their share on taking. */
static bool offer_doc(struct af_deliver *d, unsigned bit, const struct stash *s, const char *doc,
                      size_t len)
{
	af_err_t e = offer_one(d, bit, s, doc, len);

	if (e == AF_E_AGAIN) {
		d->stats.refused++;
		return false;
	}
	if (e != AF_OK) {
		char why[320];
		refusal(d, bit, e, why, sizeof(why));
		undeliverable(d, d->ctx[bit_index(bit)].name, why, doc, len, 1);
		settle_one(d, s->token);
	} else if (bit == OUT_SYSLOG) {
		settle_one(d, s->token);
	}
	return true;
}

/* Offer the stashed document to the outputs left in its mask, in bit
 * order, each from where it stopped. Returns true when every one has
 * dealt with it (the stash is then empty). */
static bool offer(struct af_deliver *d, struct stash *s)
{
	while (s->mask != 0) {
		unsigned bit = s->mask & -s->mask;
		if (s->kind == DOC_ALERT) {
			if (!offer_doc(d, bit, s, s->text, s->len))
				return false;
		} else {
			const char *line;
			size_t n;
			while (next_line(s->text, s->len, &s->at, &line, &n)) {
				if (!offer_doc(d, bit, s, line, n))
					return false;
				s->at += n;
			}
		}
		/* The next output starts from the first line. */
		s->mask &= ~bit;
		s->at = 0;
	}
	s->used = false;
	return true;
}

static bool stash_text(struct stash *s, const char *text, size_t len)
{
	if (s->cap < len) {
		char *p = realloc(s->text, len);
		if (p == NULL)
			return false;
		s->text = p;
		s->cap = len;
	}
	memcpy(s->text, text, len);
	s->len = len;
	return true;
}

/* Whether token may be taken now: nothing stashed, and room in the ring. */
static bool can_take(struct af_deliver *d, uint64_t token)
{
	assert(token == d->next);
	if (d->st.used && !offer(d, &d->st))
		return false;
	advance(d);
	if (token - d->done >= AF_DELIVER_WINDOW) {
		d->stats.refused++;
		return false;
	}
	return true;
}

/* Take the stash's token: per_output documents to each output in mask. */
static af_err_t take(struct af_deliver *d, unsigned mask, size_t per_output, char *errstr,
                     size_t errstr_size)
{
	struct stash *s = &d->st;
	uint64_t owed = (uint64_t)__builtin_popcount(mask) * per_output;

	if (owed > UINT32_MAX) {
		snprintf(errstr, errstr_size, "a chunk of %zu lines is too many to track",
		         per_output);
		return AF_E_INTERNAL;
	}
	d->left[s->token % AF_DELIVER_WINDOW] = (uint32_t)owed;
	d->taken_at[s->token % AF_DELIVER_WINDOW] = af_clock_s();
	d->next = s->token + 1;
	d->stats.documents++;
	s->mask = mask;
	s->at = 0;
	s->used = true;
	offer(d, s);
	advance(d);
	return AF_OK;
}

static af_err_t outlet_alert(void *ctx, uint64_t token, const struct af_alert *a, char *errstr,
                             size_t errstr_size)
{
	struct af_deliver *d = ctx;
	struct stash *s = &d->st;

	if (!can_take(d, token))
		return AF_E_AGAIN;
	if (d->o.alerts_file != NULL && af_alert_out_write(d->o.alerts_file, a) != AF_OK) {
		snprintf(errstr, errstr_size, "cannot write the alerts file");
		return AF_E_IO;
	}
	unsigned mask = (d->k[0] ? OUT_K_ALERTS : 0u) | (d->http ? OUT_HTTP : 0u) |
	                (d->syslog ? OUT_SYSLOG : 0u);
	s->kind = DOC_ALERT;
	s->token = token;
	s->keylen = 0;
	if (mask != 0) {
		/* Syslog formats its own message; the text is what a dead
		 * letter shows if it refuses. */
		struct af_jsonw w;
		af_jsonw_init(&w, d->json, ALERT_JSON_MAX, NULL);
		af_alert_out_format(&w, a, d->o.format);
		if (w.flags & AF_JSONW_OVERFLOW) {
			snprintf(errstr, errstr_size, "an alert of rule %s is too large to deliver",
			         a->rule);
			return AF_E_INTERNAL;
		}
		if (!stash_text(s, w.buf, w.len)) {
			snprintf(errstr, errstr_size, "out of memory delivering an alert");
			return AF_E_NOMEM;
		}
		/* Key: the account, or the address of a per-address alert,
		 * so that a subject's alerts stay in order on one partition. */
		if (a->account[0]) {
			s->keylen = strlen(a->account);
			memcpy(s->key, a->account, s->keylen);
		} else {
			s->keylen = af_ip_format(&a->src, s->key, sizeof(s->key));
		}
	}
	if (mask & OUT_SYSLOG)
		s->alert = *a;
	return take(d, mask, 1, errstr, errstr_size);
}

static af_err_t outlet_lines(void *ctx, uint64_t token, enum af_rt_lines kind, const char *text,
                             size_t len, char *errstr, size_t errstr_size)
{
	struct af_deliver *d = ctx;
	struct stash *s = &d->st;
	unsigned mask;

	if (!can_take(d, token))
		return AF_E_AGAIN;
	if (kind == AF_RT_LINES_DLQ) {
		if (af_dlq_write_text(d->o.dlq_file, text, len) != AF_OK) {
			snprintf(errstr, errstr_size, "cannot write the dead-letter file");
			return AF_E_IO;
		}
		mask = d->k[1] ? OUT_K_DLQ : 0u;
	} else {
		if (d->o.events_file != NULL &&
		    af_ecs_write_text(d->o.events_file, text, len) != AF_OK) {
			snprintf(errstr, errstr_size, "cannot write the events file");
			return AF_E_IO;
		}
		mask =
		    (d->k[2] ? OUT_K_EVENTS : 0u) | (d->http && d->o.http_events ? OUT_HTTP : 0u);
	}
	s->kind = kind == AF_RT_LINES_DLQ ? DOC_DLQ : DOC_EVENTS;
	s->token = token;
	s->keylen = 0;
	size_t lines = 0;
	if (mask != 0) {
		if (!stash_text(s, text, len)) {
			snprintf(errstr, errstr_size, "out of memory delivering lines");
			return AF_E_NOMEM;
		}
		lines = count_lines(text, len);
	}
	return take(d, mask, lines, errstr, errstr_size);
}

/* --- serving the outputs --- */

/* The outputs that hold documents not yet settled (syslog: queued). */
static unsigned busy_outputs(const struct af_deliver *d)
{
	unsigned busy = 0;

	for (int i = 0; i < 3; i++)
		if (d->k[i] != NULL && af_kafka_sink_pending(d->k[i]) > 0)
			busy |= topic_bits[i];
	if (d->http != NULL && af_http_pending(d->http) > 0)
		busy |= OUT_HTTP;
	if (d->syslog != NULL) {
		struct af_syslog_stats st;
		af_syslog_stats(d->syslog, &st);
		if (st.queued > 0)
			busy |= OUT_SYSLOG;
	}
	return busy;
}

/* Syslog has no acknowledgement: a message it gives up on later (a
 * refused datagram) was settled when queued, so it is reported here, by
 * count: syslog does not say which. */
static void syslog_poll(struct af_deliver *d, int wait)
{
	char err[256];
	struct af_syslog_stats st;

	if (af_syslog_poll(d->syslog, wait, err, sizeof(err)) == AF_OK)
		return;
	af_syslog_stats(d->syslog, &st);
	uint64_t n = st.failed - d->syslog_failed;
	d->syslog_failed = st.failed;
	if (n > 0)
		undeliverable(d, "syslog", err, NULL, 0, n);
}

static void poll_output(struct af_deliver *d, unsigned bit, int wait)
{
	switch (bit) {
	case OUT_K_ALERTS:
	case OUT_K_DLQ:
	case OUT_K_EVENTS:
		/* A fatal producer error shows in the refusals that follow. */
		af_kafka_sink_poll(d->k[bit_index(bit)], wait);
		break;
	case OUT_HTTP: af_http_poll(d->http, wait); break;
	case OUT_SYSLOG: syslog_poll(d, wait); break;
	}
}

static unsigned configured(const struct af_deliver *d)
{
	unsigned m = 0;

	for (int i = 0; i < 3; i++)
		if (d->k[i] != NULL)
			m |= topic_bits[i];
	return m | (d->http ? OUT_HTTP : 0u) | (d->syslog ? OUT_SYSLOG : 0u);
}

/* The next busy output after the one that waited last. */
static unsigned next_turn(struct af_deliver *d, unsigned busy)
{
	for (unsigned i = 1; i <= OUT_COUNT; i++) {
		unsigned bit = 1u << ((d->turn + i) % OUT_COUNT);
		if (busy & bit) {
			d->turn = bit_index(bit);
			return bit;
		}
	}
	return 0;
}

static uint64_t outlet_settled(void *ctx, int timeout_ms)
{
	struct af_deliver *d = ctx;
	uint64_t start = d->done;
	uint64_t deadline = af_clock_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	unsigned all = configured(d);

	for (;;) {
		if (d->st.used)
			offer(d, &d->st);
		unsigned busy = busy_outputs(d);
		uint64_t now = af_clock_ms();
		uint64_t left = deadline > now ? deadline - now : 0;
		unsigned waiter = next_turn(d, busy);
		int wait = (int)(busy != waiter && left > WAIT_SLICE_MS ? WAIT_SLICE_MS : left);
		for (unsigned bit = 1; bit < (1u << OUT_COUNT); bit <<= 1)
			if (all & bit)
				poll_output(d, bit, bit == waiter ? wait : 0);
		advance(d);
		if (d->done != start || busy == 0 || af_clock_ms() >= deadline)
			break;
	}
	if (d->st.used)
		offer(d, &d->st);
	advance(d);
	return d->done;
}

/* --- open and close --- */

static af_err_t open_topic(struct af_deliver *d, int i, const char *topic, char *errstr,
                           size_t errstr_size)
{
	static const char *const what[3] = {"alerts", "dead-letter", "events"};
	char err[512];

	if (topic == NULL)
		return AF_OK;
	if (d->o.brokers == NULL || d->o.brokers[0] == '\0') {
		snprintf(errstr, errstr_size, "%s topic '%s': no Kafka brokers given (-b)", what[i],
		         topic);
		return AF_E_CONFIG;
	}
	struct out_ctx *c = &d->ctx[bit_index(topic_bits[i])];
	snprintf(d->names[i], sizeof(d->names[i]), "kafka:%s", topic);
	c->d = d;
	c->name = d->names[i];
	struct af_kafka_sink_opts ko = {
	    .brokers = d->o.brokers,
	    .topic = topic,
	    .props = d->o.props,
	    .nprops = d->o.nprops,
	    .on_done = on_done,
	    .ctx = c,
	    .log = d->o.log,
	};
	af_err_t e = af_kafka_sink_open(&ko, &d->k[i], err, sizeof(err));
	if (e != AF_OK)
		snprintf(errstr, errstr_size, "%s topic '%s': %s", what[i], topic, err);
	return e;
}

af_err_t af_deliver_open(const struct af_deliver_opts *opts, struct af_deliver **out, char *errstr,
                         size_t errstr_size)
{
	struct af_deliver *d = calloc(1, sizeof(*d));
	char err[512];
	af_err_t e = AF_E_NOMEM;

	*out = NULL;
	if (d == NULL)
		goto nomem;
	d->o = *opts;
	pthread_mutex_init(&d->pub_mu, NULL);
	d->left = calloc(AF_DELIVER_WINDOW, sizeof(*d->left));
	d->taken_at = calloc(AF_DELIVER_WINDOW, sizeof(*d->taken_at));
	d->json = malloc(ALERT_JSON_MAX);
	d->dead = malloc(DEAD_LINE_MIN);
	d->dead_cap = DEAD_LINE_MIN;
	if (d->left == NULL || d->taken_at == NULL || d->json == NULL || d->dead == NULL)
		goto nomem;
	d->outlet = (struct af_rt_outlet){.ctx = d,
	                                  .alert = outlet_alert,
	                                  .lines = outlet_lines,
	                                  .settled = outlet_settled,
	                                  .events = opts->events_file != NULL ||
	                                            opts->events_topic != NULL ||
	                                            (opts->http != NULL && opts->http_events)};
	if ((e = open_topic(d, 0, opts->alerts_topic, errstr, errstr_size)) != AF_OK ||
	    (e = open_topic(d, 1, opts->dlq_topic, errstr, errstr_size)) != AF_OK ||
	    (e = open_topic(d, 2, opts->events_topic, errstr, errstr_size)) != AF_OK)
		goto fail;
	if (opts->http != NULL) {
		struct out_ctx *c = &d->ctx[bit_index(OUT_HTTP)];
		c->d = d;
		c->name = "http";
		struct af_http_opts ho = *opts->http;
		ho.on_done = on_done;
		ho.ctx = c;
		d->http = af_http_open(&ho, err, sizeof(err));
		if (d->http == NULL) {
			snprintf(errstr, errstr_size, "HTTP output: %s", err);
			e = AF_E_CONFIG;
			goto fail;
		}
	}
	if (opts->syslog != NULL) {
		d->ctx[bit_index(OUT_SYSLOG)] = (struct out_ctx){d, "syslog"};
		e = af_syslog_open(opts->syslog, &d->syslog, err, sizeof(err));
		if (e != AF_OK) {
			snprintf(errstr, errstr_size, "syslog output: %s", err);
			goto fail;
		}
	}
	*out = d;
	return AF_OK;
nomem:
	snprintf(errstr, errstr_size, "out of memory opening the outputs");
	e = AF_E_NOMEM;
fail:
	af_deliver_close(d, 0, NULL, 0);
	return e;
}

const struct af_rt_outlet *af_deliver_outlet(struct af_deliver *d)
{
	return &d->outlet;
}

void af_deliver_stats(const struct af_deliver *d, struct af_deliver_stats *out)
{
	*out = d->stats;
}

void af_deliver_health(struct af_deliver *d, struct af_deliver_stats *out, double *waiting_s)
{
	pthread_mutex_lock(&d->pub_mu);
	*out = d->pub;
	double oldest = d->pub_oldest;
	pthread_mutex_unlock(&d->pub_mu);
	*waiting_s = oldest > 0 ? af_clock_s() - oldest : 0;
}

/* What each output still holds, for the message at close: ", kafka:x
 * holds 3". */
static void held_text(const struct af_deliver *d, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < 3; i++) {
		uint32_t k = d->k[i] != NULL ? af_kafka_sink_pending(d->k[i]) : 0;
		if (k > 0 && n < size)
			n += (size_t)snprintf(buf + n, size - n, "; %s holds %u", d->names[i], k);
	}
	uint32_t h = d->http != NULL ? af_http_pending(d->http) : 0;
	if (h > 0 && n < size)
		n += (size_t)snprintf(buf + n, size - n, "; http holds %u", h);
	if (d->st.used && n < size)
		snprintf(buf + n, size - n, "; one waits for a full output");
}

/* The first fatal producer error, for close. */
static const char *failed_output(const struct af_deliver *d, char *buf, size_t size)
{
	struct af_kafka_sink_stats st;

	for (int i = 0; i < 3; i++) {
		if (d->k[i] == NULL)
			continue;
		af_kafka_sink_stats(d->k[i], &st);
		if (st.fatal) {
			snprintf(buf, size, "%s: %s", d->names[i], st.last_error);
			return buf;
		}
	}
	return NULL;
}

af_err_t af_deliver_close(struct af_deliver *d, int timeout_ms, char *errstr, size_t errstr_size)
{
	af_err_t ret = AF_OK;
	char err[512], held[256];

	if (d == NULL)
		return AF_OK;
	uint64_t deadline = af_clock_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		uint64_t now = af_clock_ms();
		if (d->http != NULL)
			af_http_flush(d->http); /* no lingering now */
		outlet_settled(d, (int)(deadline > now ? deadline - now : 0));
		if ((d->done == d->next && !d->st.used) || af_clock_ms() >= deadline)
			break;
	}
	if (d->done != d->next || d->st.used) {
		held_text(d, held, sizeof(held));
		if (errstr != NULL)
			snprintf(errstr, errstr_size,
			         "%llu of %llu documents were not delivered within %d ms%s",
			         (unsigned long long)(d->next - d->done),
			         (unsigned long long)d->next, timeout_ms, held);
		ret = AF_E_IO;
	} else if (failed_output(d, err, sizeof(err)) != NULL) {
		if (errstr != NULL)
			snprintf(errstr, errstr_size, "%s", err);
		ret = AF_E_IO;
	}
	if (d->syslog != NULL) {
		uint64_t now = af_clock_ms();
		int rest = (int)(deadline > now ? deadline - now : 0);
		if (af_syslog_close(d->syslog, rest, err, sizeof(err)) != AF_OK && ret == AF_OK) {
			if (errstr != NULL)
				snprintf(errstr, errstr_size, "%s", err);
			ret = AF_E_IO;
		}
	}
	af_http_close(d->http);
	for (int i = 0; i < 3; i++)
		af_kafka_sink_close(d->k[i]);
	free(d->st.text);
	free(d->left);
	free(d->taken_at);
	pthread_mutex_destroy(&d->pub_mu);
	free(d->json);
	free(d->dead);
	free(d);
	return ret;
}
