/* http.h - HTTP sinks through libcurl's multi interface: Splunk HEC,
 * Elasticsearch/OpenSearch _bulk and a generic JSON webhook.
 *
 * Thread: one thread owns a sink (the runtime's sink thread): open, submit,
 * poll, flush, stats and close all run there. Not thread-safe. libcurl runs
 * inside af_http_poll on that thread; it starts no thread of its own (the
 * threaded resolver aside) and raises no signal (CURLOPT_NOSIGNAL).
 * In: JSON documents (an alert, an ECS event), each with the caller's token.
 * Out: HTTP requests, and one on_done call per document: delivered, or
 * dead-lettered with a reason.
 *
 * Bodies, per kind:
 *   HEC      {"time":<s.ms>,<fixed fields>"event":<doc>} per document, one
 *            per line (HEC reads concatenated event objects); "time" from the
 *            document's time field when it holds an RFC 3339 time, else left
 *            out (HEC then stamps the arrival time). Authorization: Splunk
 *            <token>. Path /services/collector/event.
 *   ES       NDJSON: {"index":{"_index":"<index>","_id":"<id>"}} then the
 *            document, each line ending in '\n'. _id is the document's id
 *            field (default "id": the alert id, which is derived from what
 *            the alert is about), so a retried request overwrites the copy
 *            an earlier attempt may have indexed and never duplicates it.
 *            The "index" action is used rather than "create" for that reason:
 *            "create" would answer a retry with 409 and dead-letter an alert
 *            that is in fact stored. Path /_bulk. A 200 answer is read item
 *            by item: 2xx ok, 429 and 5xx retried, others dead-lettered with
 *            the item's error type and reason.
 *   WEBHOOK  a JSON array of the documents, or with webhook_single one
 *            document per request. The URL is used as given.
 *
 * Outcomes of a whole request:
 *   2xx                      delivered (ES: per item, above)
 *   transport error, 408,
 *   429, 5xx                 retried after a back-off; 429 and 503 honour
 *                            Retry-After (seconds or an HTTP date)
 *   400, 413, 422 on a
 *   request of several docs  each document is sent again alone, so the
 *                            answer names the one at fault (HEC, webhook;
 *                            HEC may then see the others twice)
 *   other 4xx, 3xx, or the
 *   above on a lone doc      dead-lettered: "HTTP 400: <start of the body>"
 * Redirects are not followed (they would carry the credentials elsewhere).
 *
 * DESIGN: the sink owns a bounded queue of copies (items and bytes capped at
 * open), counted until each document is settled, in flight included; a full
 * queue answers AF_E_AGAIN and the caller stops reading (back-pressure, never
 * a drop). Documents are numbered as submitted. Requests take documents in
 * that order: retried ones first (kept sorted by number), then new ones, so
 * first attempts leave in submission order (with max_in_flight 1 they also
 * arrive in it). A retryable failure puts its documents back at the head
 * and closes a gate for the whole sink: delay = random(0, min(cap, base *
 * 2^failures)) ("full jitter"), at least Retry-After; the failure count
 * resets when a request succeeds. The jitter comes from a PRNG seeded at
 * open, so a test that fixes the seed sees the same delays.
 * Secrets (HEC token, password, bearer token, API key, the password in the
 * URL, the key's passphrase, extra header values) are replaced by "***" in
 * every text this module writes: errstr, reasons, last_error.
 */
#ifndef AF_SINKS_HTTP_H
#define AF_SINKS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"

enum af_http_kind {
	AF_HTTP_HEC = 1, /* Splunk HTTP Event Collector */
	AF_HTTP_ES,      /* Elasticsearch / OpenSearch _bulk */
	AF_HTTP_WEBHOOK, /* generic JSON webhook */
};

/* Called once per document when it is settled. ok: delivered; else
 * dead-lettered: reason says why (redacted) and doc[0..len) is the sink's
 * copy of the document (for ES with its raw line breaks made blanks, as
 * it was sent), so the caller can dead-letter it whole. reason and doc
 * are borrowed for the call (NULL, and len 0, when ok). Runs on the owning
 * thread inside af_http_poll; it may call af_http_submit, not af_http_poll
 * or af_http_close. */
typedef void (*af_http_done_fn)(void *ctx, uint64_t token, bool ok, const char *reason,
                                const char *doc, size_t len);

/* Options of af_http_open. Zero or NULL means the default in brackets. All
 * strings are borrowed for the call (the sink keeps copies). */
struct af_http_opts {
	enum af_http_kind kind; /* required */
	/* http:// or https://. HEC: the server ("https://splunk:8088"); the
	 * path /services/collector/event is added when the URL has no path.
	 * ES: the server or an index ("https://es:9200/alerts"); /_bulk is
	 * added unless the path ends with it. WEBHOOK: used as given. A query
	 * string is kept. */
	const char *url;

	/* credentials (secrets): at most one way */
	const char *hec_token; /* HEC: required */
	const char *username;  /* HTTP basic, with password */
	const char *password;
	const char *bearer_token; /* Authorization: Bearer */
	const char *api_key;      /* Authorization: ApiKey (Elasticsearch) */
	/* more request headers, "Name: value" each, NULL-terminated; the
	 * values count as secrets. May be NULL. */
	const char *const *headers;

	/* ES */
	const char *es_index; /* [none: the URL names the index] */
	const char *id_field; /* top-level field for _id ["id"]; "" none */
	/* HEC */
	const char *time_field;     /* top-level RFC 3339 time ["ts"]; "" none */
	const char *hec_sourcetype; /* [none] */
	const char *hec_index;      /* [none] */
	const char *hec_source;     /* [none] */
	/* WEBHOOK */
	bool webhook_single; /* one document per request, not an array */

	/* TLS: the peer is verified unless tls_insecure */
	const char *ca_file;     /* [the system's] */
	const char *ca_path;     /* [the system's] */
	const char *client_cert; /* PEM */
	const char *client_key;  /* PEM */
	const char *client_key_password;
	bool tls_insecure;

	uint32_t connect_timeout_ms; /* [10000] */
	uint32_t timeout_ms;         /* whole request [60000] */

	uint32_t batch_items;   /* documents per request [500; 1 if webhook_single] */
	uint32_t batch_bytes;   /* body bytes per request [1000000]; a larger
	                         * document goes alone */
	uint32_t linger_ms;     /* a partial batch waits this long [100] */
	uint32_t queue_items;   /* documents held, in flight included [10000] */
	size_t queue_bytes;     /* document bytes held [64 MiB] */
	uint32_t max_in_flight; /* concurrent requests [2] */

	uint32_t backoff_base_ms;    /* [100] */
	uint32_t backoff_cap_ms;     /* [30000] */
	uint32_t retry_after_max_ms; /* longest Retry-After obeyed [300000] */
	uint32_t max_retries;        /* then dead-letter [0: never give up] */
	uint64_t seed;               /* jitter PRNG [0: from the clock and pid] */

	af_http_done_fn on_done; /* required */
	void *ctx;               /* passed to on_done */
};

struct af_http;

/* Counters since open. */
struct af_http_stats {
	uint64_t requests;      /* requests completed, whatever the outcome */
	uint64_t items_ok;      /* documents delivered */
	uint64_t items_retried; /* documents put back to be sent again */
	uint64_t items_dead;    /* documents dead-lettered */
	uint64_t bytes;         /* request body bytes sent */
	uint32_t in_flight;     /* requests running now */
	uint32_t queue_items;   /* documents held now (queued and in flight) */
	size_t queue_bytes;     /* their bytes */
	char last_error[256];   /* the last failure, redacted; "" none yet */
};

/* Open a sink: check the options, build the endpoint and headers, make the
 * curl handles. No connection is made until documents arrive.
 * opts: borrowed. Returns NULL and writes errstr (redacted, naming the URL
 * without credentials) on a bad option or when out of memory.
 * Thread: the future owner. */
struct af_http *af_http_open(const struct af_http_opts *opts, char *errstr, size_t errstr_size);

/* Queue a copy of doc[0..len) under token; on_done will report it once.
 * doc: borrowed; one JSON value (an object for HEC's time and ES's _id),
 * not checked beyond that: the server judges it.
 * Returns AF_OK; AF_E_AGAIN when the queue is full (call af_http_poll and
 * try again: nothing was taken); AF_E_INVALID when len is 0 or above
 * queue_bytes (it can never fit); AF_E_NOMEM.
 * Cost: one malloc and copy; ES and HEC look up one top-level field. */
af_err_t af_http_submit(struct af_http *h, uint64_t token, const char *doc, size_t len);

/* Start requests that are due, run the transfers, settle finished requests
 * (on_done calls). Waits for sockets and timers, at most timeout_ms (0:
 * not at all), and returns as soon as a request has finished or when
 * nothing is held. Returns AF_OK, or AF_E_NOMEM/AF_E_INTERNAL when curl's
 * multi handle fails (last_error says how).
 * Cost: a curl_multi_perform and curl_multi_poll per turn. */
af_err_t af_http_poll(struct af_http *h, int timeout_ms);

/* Send the documents submitted so far without waiting for their linger
 * time (at shutdown, say: flush, then poll until af_http_pending is 0). */
void af_http_flush(struct af_http *h);

/* Documents held: queued, waiting to be retried, or in flight. */
uint32_t af_http_pending(const struct af_http *h);

/* Copy the counters into *out. */
void af_http_stats(const struct af_http *h, struct af_http_stats *out);

/* Abort what is running and free h. Documents still held get no on_done
 * call: they are not delivered, and an at-least-once caller must not
 * count them as such. NULL is a no-op. */
void af_http_close(struct af_http *h);

#endif
