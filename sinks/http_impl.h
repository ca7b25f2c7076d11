/* http_impl.h - what the pieces of the HTTP sink share: the sink itself,
 * its documents and requests, and the helpers of http_body.c (bodies,
 * endpoint, headers, redaction) and http_json.cpp (simdjson). Internal to
 * sinks/http*.
 *
 * Thread: the sink's owner, like everything in sinks/http.h.
 */
#ifndef AF_SINKS_HTTP_IMPL_H
#define AF_SINKS_HTTP_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"
#include "sinks/http.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Readable bytes kept after every document and answer: simdjson reads up
 * to this far past the end (checked against SIMDJSON_PADDING). */
#define AF_HTTP_PAD 64

/* Most secrets a sink redacts: five credentials and the extra headers. */
#define AF_HTTP_SECRETS_MAX 16

/* A growable byte buffer; AF_HTTP_PAD bytes past len are always owned. */
struct af_http_buf {
	char *p;
	size_t len, cap;
};

/* One document held by the sink, from submit until on_done. */
struct af_http_item {
	struct af_http_item *next; /* in the fresh queue, the retry list or a request */
	uint64_t token;
	uint64_t seq;    /* submission number: the order requests keep */
	uint64_t t_ms;   /* when submitted, for the linger time */
	int64_t time_ns; /* HEC "time", if has_time */
	uint32_t len;
	uint32_t attempts;       /* requests that have carried it */
	uint32_t id_off, id_len; /* ES _id: raw JSON string text in doc; id_len 0 none */
	bool has_time;
	bool alone; /* a 4xx on its batch: it goes in a request of its own */
	char doc[]; /* len bytes, then AF_HTTP_PAD */
};

/* One request slot: reused, its curl handle and buffers with it. */
struct af_http_req {
	void *easy;                 /* CURL * */
	struct af_http_item *items; /* in seq order */
	uint32_t n;
	bool busy;
	struct af_http_buf body;
	struct af_http_buf resp;
	bool resp_cut;    /* the answer was longer than AF_HTTP_RESP_MAX */
	char errbuf[256]; /* CURL_ERROR_SIZE */
};

/* Answers are kept up to this size (an ES _bulk answer for 500 documents
 * is ~100 KB; error pages are small). */
#define AF_HTTP_RESP_MAX ((size_t)16 << 20)

struct af_http_json;

struct af_http {
	int kind;    /* enum af_http_kind */
	bool single; /* webhook: one document per request */
	uint32_t batch_items, batch_bytes, linger_ms;
	uint32_t queue_items_max;
	size_t queue_bytes_max;
	uint32_t max_in_flight;
	uint32_t backoff_base_ms, backoff_cap_ms, retry_after_max_ms, max_retries;
	uint32_t connect_timeout_ms, timeout_ms;
	af_http_done_fn on_done;
	void *ctx;

	char *url;                 /* the endpoint */
	char *url_shown;           /* without user and password, for messages */
	char *field;               /* id field (ES) or time field (HEC); NULL none */
	struct af_http_buf prefix; /* ES: action line up to _id; HEC: fixed fields */
	char *secrets[AF_HTTP_SECRETS_MAX];
	uint32_t nsecrets;

	bool curl_inited; /* curl_global_init done: undo at close */
	void *multi;      /* CURLM * */
	void *headers;    /* struct curl_slist * */
	struct af_http_json *json;
	struct af_http_req *reqs;
	uint32_t nreqs, busy;

	struct af_http_item *fresh, *fresh_tail; /* never sent, in seq order */
	struct af_http_item *retry;              /* back from a request, in seq order */
	uint32_t held;                           /* documents held (queued + in flight) */
	size_t held_bytes;
	size_t fresh_bytes; /* bytes of the fresh queue */
	uint32_t nfresh;
	uint64_t next_seq;
	uint64_t flush_seq; /* fresh documents below it go without lingering */
	uint64_t resume_ms; /* the back-off gate: nothing starts before */
	uint32_t failures;  /* consecutive retryable failures */
	uint64_t rng;

	struct af_http_stats st;
};

/* ---- http_body.c ---- */

/* Make room for more bytes (plus AF_HTTP_PAD). false when out of memory. */
bool af_http_buf_reserve(struct af_http_buf *b, size_t more);
bool af_http_buf_add(struct af_http_buf *b, const char *s, size_t n);

/* Replace every secret in s (NUL-terminated, in a buffer of size bytes)
 * by "***", cutting what no longer fits. */
void af_http_redact(const struct af_http *h, char *s, size_t size);

/* Fill the endpoint, headers, body prefix and secrets of h from opts.
 * AF_E_CONFIG with errstr (not yet redacted) on a bad option. */
af_err_t af_http_setup(struct af_http *h, const struct af_http_opts *o, char *errstr,
                       size_t errstr_size);

/* Look up the id or time field of a new document (ES, HEC). */
void af_http_item_scan(struct af_http *h, struct af_http_item *it);

/* Start a body, add one document's piece, close the body. false when out
 * of memory. */
void af_http_body_begin(const struct af_http *h, struct af_http_buf *b);
bool af_http_body_add(const struct af_http *h, struct af_http_buf *b, const struct af_http_item *it,
                      bool first);
bool af_http_body_end(const struct af_http *h, struct af_http_buf *b);

/* ---- http_json.cpp ---- */

struct af_http_json *af_http_json_new(void);
void af_http_json_free(struct af_http_json *j);

/* The value of the top-level key of the object doc[0..len) (AF_HTTP_PAD
 * readable after it): a string's raw text between its quotes, or a
 * number's text. false when absent, of another type, or not an object. */
bool af_http_json_field(struct af_http_json *j, const char *doc, size_t len, const char *key,
                        const char **val, size_t *val_len, bool *is_string);

/* Whether an ES _bulk answer says "errors":false, found by a scan of its
 * first bytes: ES writes took, errors, then items. */
bool af_http_bulk_all_ok(const char *buf, size_t len);

/* One item of a _bulk answer: i from 0, its status, and its error's type
 * and reason (unescaped; empty when there is none). Views valid for the
 * call. */
typedef void (*af_http_bulk_fn)(void *ctx, uint32_t i, int status, const char *type,
                                size_t type_len, const char *reason, size_t reason_len);

/* Walk items[] of a _bulk answer buf[0..len) (AF_HTTP_PAD readable after
 * it), calling fn per item; *n gets how many. AF_E_RECORD when the text is
 * not such an answer (items before the fault have been reported). */
af_err_t af_http_json_bulk(struct af_http_json *j, const char *buf, size_t len, af_http_bulk_fn fn,
                           void *ctx, uint32_t *n);

#ifdef __cplusplus
}
#endif

#endif
