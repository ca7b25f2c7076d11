/* http_open.c - making and freeing an HTTP sink: defaults, the curl
 * handles and the options every request shares (see sinks/http.h).
 *
 * Thread: the sink's owner.
 * In: struct af_http_opts. Out: a ready struct af_http, or errstr.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sinks/http_impl.h"

/* Most requests in flight at once. */
#define IN_FLIGHT_MAX 64

_Static_assert(sizeof(((struct af_http_req *)0)->errbuf) >= CURL_ERROR_SIZE,
               "curl writes CURL_ERROR_SIZE bytes of error text");

/* A seed that differs between processes, so that many auditflow instances
 * behind one server do not retry in step. */
static uint64_t seed_default(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_sec * 1000000000u ^
	       (uint64_t)ts.tv_nsec ^ (uint64_t)time(NULL);
}

void af_http_stats(const struct af_http *h, struct af_http_stats *out)
{
	*out = h->st;
	out->in_flight = h->busy;
	out->queue_items = h->held;
	out->queue_bytes = h->held_bytes;
}

static size_t resp_write(char *p, size_t size, size_t n, void *arg)
{
	struct af_http_req *r = arg;
	size_t len = size * n;

	if (r->resp.len + len > AF_HTTP_RESP_MAX || !af_http_buf_add(&r->resp, p, len))
		r->resp_cut = true; /* keep reading: the status still counts */
	return len;
}

/* The options every request of the sink shares. false if curl refuses one. */
static bool easy_setup(struct af_http *h, struct af_http_req *r, const struct af_http_opts *o)
{
	CURL *e = r->easy;
	int bad = 0;

	bad |= curl_easy_setopt(e, CURLOPT_URL, h->url) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, (struct curl_slist *)h->headers) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
	bad |=
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)h->connect_timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)h->timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, resp_write) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, r) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o->tls_insecure ? 0L : 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, o->tls_insecure ? 0L : 2L) != CURLE_OK;
	if (o->ca_file != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file) != CURLE_OK;
	if (o->ca_path != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_CAPATH, o->ca_path) != CURLE_OK;
	if (o->client_cert != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_SSLCERT, o->client_cert) != CURLE_OK;
	if (o->client_key != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_SSLKEY, o->client_key) != CURLE_OK;
	if (o->client_key_password != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_KEYPASSWD, o->client_key_password) != CURLE_OK;
	if (o->username != NULL || o->password != NULL) {
		bad |= curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_USERNAME, o->username ? o->username : "") !=
		       CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_PASSWORD, o->password ? o->password : "") !=
		       CURLE_OK;
	}
	return !bad;
}

#define DEF(v, d) ((v) != 0 ? (v) : (d))

struct af_http *af_http_open(const struct af_http_opts *o, char *errstr, size_t errstr_size)
{
	struct af_http *h = calloc(1, sizeof(*h));
	af_err_t err = AF_E_NOMEM;

	errstr[0] = '\0';
	if (h == NULL)
		goto cleanup;
	if (o->kind < AF_HTTP_HEC || o->kind > AF_HTTP_WEBHOOK || o->on_done == NULL) {
		snprintf(errstr, errstr_size, "http sink: %s",
		         o->on_done == NULL ? "no on_done callback" : "unknown kind");
		err = AF_E_CONFIG;
		goto cleanup;
	}
	h->kind = o->kind;
	h->single = o->kind == AF_HTTP_WEBHOOK && o->webhook_single;
	h->batch_items = h->single ? 1 : DEF(o->batch_items, 500);
	h->batch_bytes = DEF(o->batch_bytes, 1000000);
	h->linger_ms = DEF(o->linger_ms, 100);
	h->queue_items_max = DEF(o->queue_items, 10000);
	h->queue_bytes_max = DEF(o->queue_bytes, (size_t)64 << 20);
	h->max_in_flight = DEF(o->max_in_flight, 2);
	if (h->max_in_flight > IN_FLIGHT_MAX)
		h->max_in_flight = IN_FLIGHT_MAX;
	h->backoff_base_ms = DEF(o->backoff_base_ms, 100);
	h->backoff_cap_ms = DEF(o->backoff_cap_ms, 30000);
	h->retry_after_max_ms = DEF(o->retry_after_max_ms, 300000);
	h->max_retries = o->max_retries;
	h->connect_timeout_ms = DEF(o->connect_timeout_ms, 10000);
	h->timeout_ms = DEF(o->timeout_ms, 60000);
	h->on_done = o->on_done;
	h->ctx = o->ctx;
	h->rng = o->seed != 0 ? o->seed : seed_default();

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto cleanup;
	h->curl_inited = true;
	if ((h->json = af_http_json_new()) == NULL)
		goto cleanup;
	if ((err = af_http_setup(h, o, errstr, errstr_size)) != AF_OK)
		goto cleanup;
	err = AF_E_NOMEM;
	if ((h->multi = curl_multi_init()) == NULL ||
	    (h->reqs = calloc(h->max_in_flight, sizeof(*h->reqs))) == NULL)
		goto cleanup;
	for (; h->nreqs < h->max_in_flight; h->nreqs++) {
		struct af_http_req *r = &h->reqs[h->nreqs];
		if ((r->easy = curl_easy_init()) == NULL)
			goto cleanup;
		if (!easy_setup(h, r, o)) {
			snprintf(errstr, errstr_size,
			         "http sink %s: this libcurl refuses an option (TLS or protocol)",
			         h->url_shown);
			err = AF_E_CONFIG;
			h->nreqs++;
			goto cleanup;
		}
	}
	return h;
cleanup:
	if (errstr[0] == '\0')
		snprintf(errstr, errstr_size, "http sink: %s", af_err_str(err));
	if (h != NULL)
		af_http_redact(h, errstr, errstr_size);
	af_http_close(h);
	return NULL;
}

static void list_free(struct af_http_item *it)
{
	while (it != NULL) {
		struct af_http_item *next = it->next;
		free(it);
		it = next;
	}
}

void af_http_close(struct af_http *h)
{
	if (h == NULL)
		return;
	for (uint32_t i = 0; i < h->nreqs; i++) {
		struct af_http_req *r = &h->reqs[i];
		if (r->busy)
			curl_multi_remove_handle(h->multi, r->easy);
		curl_easy_cleanup(r->easy);
		list_free(r->items);
		free(r->body.p);
		free(r->resp.p);
	}
	free(h->reqs);
	list_free(h->fresh);
	list_free(h->retry);
	curl_multi_cleanup(h->multi);
	curl_slist_free_all(h->headers);
	af_http_json_free(h->json);
	for (uint32_t i = 0; i < h->nsecrets; i++) {
		explicit_bzero(h->secrets[i], strlen(h->secrets[i]));
		free(h->secrets[i]);
	}
	free(h->url);
	free(h->url_shown);
	free(h->field);
	free(h->prefix.p);
	if (h->curl_inited)
		curl_global_cleanup();
	free(h);
}
