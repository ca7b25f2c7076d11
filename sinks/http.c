/* http.c - the HTTP sink's queue, requests and outcomes (see sinks/http.h).
 *
 * Thread: the sink's owner; libcurl's multi interface runs inside
 * af_http_poll on that thread.
 * In: documents from af_http_submit. Out: requests through curl, on_done
 * per document.
 *
 * DESIGN: a document lives in exactly one place from submit to on_done:
 * the fresh queue, the retry list, or a request slot; settling it frees
 * it. That is what makes "each document ends once, delivered or
 * dead-lettered" hold by construction: every path out of a request
 * (success, per-item answer, retry, isolation, dead letter) hands each
 * item to one of done_ok, done_dead or the back list, and the back list
 * is merged into the retry list by submission number.
 * Opening and closing are in http_open.c, bodies and headers in
 * http_body.c, the JSON reading in http_json.cpp.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sinks/http_impl.h"
#include "pipeline/clock.h"

/* Room for a reason: status, an error type and the start of a body. */
#define REASON_MAX 512

/* Bytes of an answer quoted in a reason. */
#define EXCERPT_MAX 200

/* splitmix64: small, seedable, good enough for jitter. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* src into dst[size], redacted before it is cut, so that no piece of a
 * secret survives the cut. */
static void redacted(const struct af_http *h, const char *src, char *dst, size_t size)
{
	char buf[2 * REASON_MAX];
	size_t n = strnlen(src, sizeof buf - 1);

	memcpy(buf, src, n);
	buf[n] = '\0';
	af_http_redact(h, buf, sizeof buf);
	n = strnlen(buf, size - 1);
	memcpy(dst, buf, n);
	dst[n] = '\0';
}

static void last_error(struct af_http *h, const char *text)
{
	redacted(h, text, h->st.last_error, sizeof h->st.last_error);
}

/* ---- settling documents ---- */

static void item_free(struct af_http *h, struct af_http_item *it)
{
	h->held--;
	h->held_bytes -= it->len;
	free(it);
}

static void done_ok(struct af_http *h, struct af_http_item *it)
{
	h->st.items_ok++;
	h->on_done(h->ctx, it->token, true, NULL, NULL, 0);
	item_free(h, it);
}

static void done_dead(struct af_http *h, struct af_http_item *it, const char *reason)
{
	char text[REASON_MAX];

	redacted(h, reason, text, sizeof text);
	h->st.items_dead++;
	h->on_done(h->ctx, it->token, false, text, it->doc, it->len);
	item_free(h, it);
}

/* Documents going back to the queue, in submission order. */
struct back {
	struct af_http_item *head, **tail;
	bool any;
};

static void back_init(struct back *b)
{
	b->head = NULL;
	b->tail = &b->head;
	b->any = false;
}

/* Send it again later (alone: in a request of its own), or give up on it
 * after max_retries. */
static void back_add(struct af_http *h, struct back *b, struct af_http_item *it, bool alone,
                     const char *reason)
{
	if (h->max_retries > 0 && it->attempts > h->max_retries) {
		char text[2 * REASON_MAX];
		snprintf(text, sizeof text, "gave up after %u attempts: %s", it->attempts, reason);
		done_dead(h, it, text);
		return;
	}
	it->alone |= alone;
	it->next = NULL;
	*b->tail = it;
	b->tail = &it->next;
	b->any = true;
	h->st.items_retried++;
}

/* Merge the back list into the retry list, both sorted by seq. */
static void back_merge(struct af_http *h, struct back *b)
{
	struct af_http_item *x = h->retry, *y = b->head, *head = NULL, **t = &head;

	while (x != NULL && y != NULL) {
		struct af_http_item **from = x->seq < y->seq ? &x : &y;
		*t = *from;
		t = &(*from)->next;
		*from = (*from)->next;
	}
	*t = x != NULL ? x : y;
	h->retry = head;
	back_init(b);
}

/* Close the gate after a retryable failure: full jitter under an
 * exponential ceiling, and no sooner than Retry-After (seconds, -1 none). */
static void gate(struct af_http *h, uint64_t now, long long retry_after)
{
	uint32_t shift = h->failures < 31 ? h->failures : 31;
	uint64_t ceiling = (uint64_t)h->backoff_base_ms << shift;
	if (ceiling > h->backoff_cap_ms)
		ceiling = h->backoff_cap_ms;
	uint64_t delay = rng_next(&h->rng) % (ceiling + 1);
	if (retry_after >= 0) {
		uint64_t ra = (uint64_t)retry_after * 1000;
		if (ra > h->retry_after_max_ms)
			ra = h->retry_after_max_ms;
		if (delay < ra)
			delay = ra;
	}
	h->failures++;
	if (now + delay > h->resume_ms)
		h->resume_ms = now + delay;
}

/* Every document of a list the same way. */
enum fate { FATE_OK, FATE_RETRY, FATE_ALONE, FATE_DEAD };

static void settle_all(struct af_http *h, struct af_http_item *items, enum fate fate,
                       const char *reason)
{
	struct back b;

	back_init(&b);
	while (items != NULL) {
		struct af_http_item *it = items;
		items = it->next;
		switch (fate) {
		case FATE_OK: done_ok(h, it); break;
		case FATE_DEAD: done_dead(h, it, reason); break;
		default: back_add(h, &b, it, fate == FATE_ALONE, reason); break;
		}
	}
	back_merge(h, &b);
}

/* ---- Elasticsearch _bulk answers ---- */

struct bulk_walk {
	struct af_http *h;
	struct af_http_item *cur; /* the item the next answer is about */
	struct back back;
};

static void bulk_item(void *ctx, uint32_t i, int status, const char *type, size_t type_len,
                      const char *reason, size_t reason_len)
{
	struct bulk_walk *w = ctx;
	struct af_http_item *it = w->cur;
	char text[REASON_MAX];

	(void)i;
	if (it == NULL)
		return; /* more answers than documents: nothing to settle */
	w->cur = it->next;
	if (status >= 200 && status < 300) {
		done_ok(w->h, it);
		return;
	}
	snprintf(text, sizeof text, "HTTP %d %.*s: %.*s", status, (int)type_len, type,
	         (int)reason_len, reason);
	last_error(w->h, text);
	if (status == 429 || status >= 500)
		back_add(w->h, &w->back, it, false, text);
	else
		done_dead(w->h, it, text);
}

/* A 2xx _bulk answer: per item. Items the answer does not cover (it was
 * cut or unreadable) are retried: with _id, a second copy overwrites. */
static void bulk_settle(struct af_http *h, struct af_http_req *r, struct af_http_item *items,
                        uint64_t now)
{
	struct bulk_walk w = {.h = h, .cur = items};
	uint32_t n = 0;

	if (af_http_bulk_all_ok(r->resp.p, r->resp.len)) {
		h->failures = 0;
		settle_all(h, items, FATE_OK, NULL);
		return;
	}
	back_init(&w.back);
	af_err_t err = af_http_json_bulk(h->json, r->resp.p, r->resp.len, bulk_item, &w, &n);
	if (err != AF_OK || w.cur != NULL) {
		const char *why =
		    r->resp_cut ? "_bulk answer too long to read" : "unreadable _bulk answer";
		last_error(h, why);
		while (w.cur != NULL) {
			struct af_http_item *it = w.cur;
			w.cur = it->next;
			back_add(h, &w.back, it, false, why);
		}
	}
	if (w.back.any)
		gate(h, now, -1);
	else
		h->failures = 0;
	back_merge(h, &w.back);
}

/* ---- one finished request ---- */

/* The start of the answer, on one line, redacted before it is cut. */
static void excerpt(const struct af_http *h, const struct af_http_req *r, char *out, size_t size)
{
	char scratch[4096];
	size_t n = r->resp.len < sizeof scratch - 1 ? r->resp.len : sizeof scratch - 1;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)r->resp.p[i];
		scratch[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	scratch[n] = '\0';
	af_http_redact(h, scratch, sizeof scratch);
	snprintf(out, size, "%.*s", EXCERPT_MAX, scratch);
}

static void settle(struct af_http *h, struct af_http_req *r, CURLcode rc, uint64_t now)
{
	struct af_http_item *items = r->items;
	char text[REASON_MAX], body[EXCERPT_MAX + 1];
	long status = 0;

	r->items = NULL;
	h->st.requests++;
	if (r->resp.p != NULL)
		r->resp.p[r->resp.len] = '\0'; /* the buffer keeps AF_HTTP_PAD spare */
	if (rc != CURLE_OK) {
		snprintf(text, sizeof text, "%s: %s", h->url_shown,
		         r->errbuf[0] != '\0' ? r->errbuf : curl_easy_strerror(rc));
		last_error(h, text);
		gate(h, now, -1);
		settle_all(h, items, FATE_RETRY, text);
		return;
	}
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300) {
		if (h->kind == AF_HTTP_ES) {
			bulk_settle(h, r, items, now);
		} else {
			h->failures = 0;
			settle_all(h, items, FATE_OK, NULL);
		}
		return;
	}
	excerpt(h, r, body, sizeof body);
	snprintf(text, sizeof text, "HTTP %ld from %s%s: %s", status, h->url_shown,
	         status >= 300 && status < 400 ? " (redirects are not followed)" : "", body);
	last_error(h, text);
	if (status == 408 || status == 429 || status >= 500) {
		curl_off_t ra = -1;
		if (status == 429 || status == 503)
			curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &ra);
		gate(h, now, ra > 0 ? (long long)ra : -1);
		settle_all(h, items, FATE_RETRY, text);
	} else if ((status == 400 || status == 413 || status == 422) && r->n > 1) {
		/* One document may be at fault: find which, one per request. */
		settle_all(h, items, FATE_ALONE, text);
	} else {
		settle_all(h, items, FATE_DEAD, text);
	}
}

/* ---- starting requests ---- */

static bool batch_due(const struct af_http *h, uint64_t now)
{
	if (now < h->resume_ms)
		return false;
	if (h->retry != NULL)
		return true;
	if (h->fresh == NULL)
		return false;
	return h->nfresh >= h->batch_items || h->fresh_bytes >= h->batch_bytes ||
	       h->fresh->seq < h->flush_seq || now >= h->fresh->t_ms + h->linger_ms;
}

/* When a batch may next become due; UINT64_MAX when only curl can help. */
static uint64_t next_due(const struct af_http *h, uint64_t now)
{
	if (h->busy == h->nreqs || (h->retry == NULL && h->fresh == NULL))
		return UINT64_MAX;
	if (now < h->resume_ms)
		return h->resume_ms;
	if (batch_due(h, now))
		return now;
	return h->fresh->t_ms + h->linger_ms;
}

static struct af_http_item *unlink_head(struct af_http *h)
{
	struct af_http_item *it = h->retry;

	if (it != NULL) {
		h->retry = it->next;
		return it;
	}
	it = h->fresh;
	h->fresh = it->next;
	if (h->fresh == NULL)
		h->fresh_tail = NULL;
	h->nfresh--;
	h->fresh_bytes -= it->len;
	return it;
}

/* Give a batch that was never sent back whole: the documents keep their
 * place, and the attempt does not count. */
static void batch_unsend(struct af_http *h, struct af_http_req *r)
{
	struct back b;

	back_init(&b);
	while (r->items != NULL) {
		struct af_http_item *it = r->items;
		r->items = it->next;
		it->attempts--;
		it->next = NULL;
		*b.tail = it;
		b.tail = &it->next;
	}
	back_merge(h, &b);
}

/* Move the next batch into r and write its body: retried documents first,
 * then fresh ones, within batch_items and batch_bytes (a first document
 * larger than batch_bytes goes alone). */
static bool batch_take(struct af_http *h, struct af_http_req *r)
{
	struct af_http_buf *b = &r->body;
	struct af_http_item **tail = &r->items;

	af_http_body_begin(h, b);
	r->n = 0;
	for (;;) {
		struct af_http_item *it = h->retry != NULL ? h->retry : h->fresh;
		if (it == NULL || (r->n > 0 && (it->alone || r->n >= h->batch_items)))
			break;
		size_t mark = b->len;
		if (!af_http_body_add(h, b, it, r->n == 0)) {
			b->len = mark;
			if (r->n == 0)
				return false;
			break;
		}
		if (r->n > 0 && b->len + 1 > h->batch_bytes) {
			b->len = mark;
			break;
		}
		unlink_head(h);
		it->next = NULL;
		it->attempts++;
		*tail = it;
		tail = &it->next;
		r->n++;
		if (it->alone)
			break;
	}
	if (af_http_body_end(h, b))
		return true;
	/* No room for the closing bracket. */
	batch_unsend(h, r);
	return false;
}

static af_err_t start_due(struct af_http *h, uint64_t now)
{
	while (h->busy < h->nreqs && batch_due(h, now)) {
		struct af_http_req *r = h->reqs;
		while (r->busy)
			r++;
		/* The answer buffer exists before the answer, so it can
		 * always be terminated and scanned. */
		if (!af_http_buf_reserve(&r->resp, 0) || !batch_take(h, r)) {
			last_error(h, "out of memory for a request body");
			return AF_E_NOMEM;
		}
		r->resp.len = 0;
		r->resp_cut = false;
		r->errbuf[0] = '\0';
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body.p);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body.len);
		if (curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) {
			batch_unsend(h, r);
			last_error(h, "curl cannot start a request");
			return AF_E_INTERNAL;
		}
		r->busy = true;
		h->busy++;
		h->st.bytes += r->body.len;
	}
	return AF_OK;
}

/* Settle every finished request; returns how many. */
static uint32_t reap(struct af_http *h)
{
	uint32_t n = 0;
	int left;
	CURLMsg *m;

	while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		CURL *easy = m->easy_handle;
		CURLcode rc = m->data.result;
		struct af_http_req *r = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
		curl_multi_remove_handle(h->multi, easy);
		r->busy = false;
		h->busy--;
		settle(h, r, rc, af_clock_ms());
		n++;
	}
	return n;
}

af_err_t af_http_poll(struct af_http *h, int timeout_ms)
{
	uint64_t now = af_clock_ms();
	uint64_t deadline = now + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	af_err_t err = AF_OK;
	CURLMcode mc;
	int running;

	for (;;) {
		if ((err = start_due(h, now)) != AF_OK)
			return err;
		if ((mc = curl_multi_perform(h->multi, &running)) != CURLM_OK)
			break;
		if (reap(h) > 0) {
			/* Freed slots and requeued documents: start what is due
			 * before handing control back. */
			now = af_clock_ms();
			if ((err = start_due(h, now)) != AF_OK)
				return err;
			mc = curl_multi_perform(h->multi, &running);
			break;
		}
		now = af_clock_ms();
		if (h->held == 0 || now >= deadline)
			return AF_OK;
		uint64_t until = next_due(h, now);
		if (until > deadline)
			until = deadline;
		int wait = (int)(until > now ? until - now : 0);
		if ((mc = curl_multi_poll(h->multi, NULL, 0, wait, NULL)) != CURLM_OK)
			break;
		now = af_clock_ms();
	}
	if (mc == CURLM_OK)
		return AF_OK;
	last_error(h, curl_multi_strerror(mc));
	return mc == CURLM_OUT_OF_MEMORY ? AF_E_NOMEM : AF_E_INTERNAL;
}

/* ---- the public rest ---- */

af_err_t af_http_submit(struct af_http *h, uint64_t token, const char *doc, size_t len)
{
	if (len == 0 || len > h->queue_bytes_max || len > UINT32_MAX - AF_HTTP_PAD)
		return AF_E_INVALID;
	if (h->held >= h->queue_items_max || h->held_bytes + len > h->queue_bytes_max)
		return AF_E_AGAIN;
	struct af_http_item *it = malloc(sizeof(*it) + len + AF_HTTP_PAD);
	if (it == NULL)
		return AF_E_NOMEM;
	memset(it, 0, sizeof(*it));
	memcpy(it->doc, doc, len);
	memset(it->doc + len, 0, AF_HTTP_PAD);
	it->len = (uint32_t)len;
	if (h->kind == AF_HTTP_ES) {
		/* NDJSON: a raw line break can only be a blank between tokens
		 * (inside a string it would be invalid JSON), so a space does. */
		for (char *p = it->doc; (p = memchr(p, '\n', len - (size_t)(p - it->doc))); p++)
			*p = ' ';
		for (char *p = it->doc; (p = memchr(p, '\r', len - (size_t)(p - it->doc))); p++)
			*p = ' ';
	}
	af_http_item_scan(h, it);
	it->token = token;
	it->seq = h->next_seq++;
	it->t_ms = af_clock_ms();
	if (h->fresh_tail != NULL)
		h->fresh_tail->next = it;
	else
		h->fresh = it;
	h->fresh_tail = it;
	h->nfresh++;
	h->fresh_bytes += len;
	h->held++;
	h->held_bytes += len;
	return AF_OK;
}

void af_http_flush(struct af_http *h)
{
	h->flush_seq = h->next_seq;
}

uint32_t af_http_pending(const struct af_http *h)
{
	return h->held;
}
