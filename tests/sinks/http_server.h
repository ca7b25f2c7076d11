/* http_server.h - the HTTP server the sink tests send to: a libmicrohttpd
 * daemon on 127.0.0.1 whose answers are scripted request by request
 * (status, Retry-After, body, per-item _bulk statuses, a dropped
 * connection), and which keeps what each request carried. Shared by
 * tests/sinks/test_http.c and tests/sinks/test_deliver.c.
 *
 * Thread: start, listen, down and stop on the test's thread (they assert
 * with Criterion); the daemon answers on its own polling thread; count
 * and carried may be called while it runs (they take the mutex).
 * In: the script (borrowed; it must outlive the server).
 * Out: the requests seen, in order of arrival: reqs[0..n), the first
 * AF_HTTPD_REQS of them.
 *
 * DESIGN: a request's answer is chosen by its number, not its content, so
 * that a test can say "the first attempt fails, the retry succeeds".
 */
#ifndef AF_TEST_HTTP_SERVER_H
#define AF_TEST_HTTP_SERVER_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How request i is answered. Zero-initialised: the default answer. */
struct af_httpd_reply {
	int status;        /* 0: the default answer (success) */
	int retry_after;   /* seconds; 0 none */
	const char *body;  /* NULL: the default for the status */
	const char *items; /* _bulk: per-item statuses, "201,429,400" */
	bool reset;        /* close the connection without an answer */
	bool echo_auth;    /* the body repeats the Authorization header */
};

#define AF_HTTPD_REQS 256

/* What a request carried. */
struct af_httpd_req {
	char url[256];
	char auth[256];
	char ctype[64];
	char *body; /* NUL-terminated; owned by the server */
	size_t len;
	uint64_t t_ms; /* CLOCK_MONOTONIC, when it was answered */
};

/* The server. Zero-initialised is not started (af_httpd_stop does
 * nothing). reqs and n are written under mu while the daemon runs. */
struct af_httpd {
	bool started;
	struct MHD_Daemon *d; /* NULL while down */
	uint16_t port;
	bool es; /* default answers are _bulk answers */
	const struct af_httpd_reply *script;
	size_t nscript;
	pthread_mutex_t mu;
	struct af_httpd_req reqs[AF_HTTPD_REQS];
	size_t n;
};

/* Start on an ephemeral port (s->port). Request i gets script[i] (borrowed),
 * the default answer beyond n; es: a default success answers a _bulk
 * request item by item. */
void af_httpd_start(struct af_httpd *s, bool es, const struct af_httpd_reply *script, size_t n);

/* Stop listening (connections are refused), keeping what was seen.
 * @pre started and up. */
void af_httpd_down(struct af_httpd *s);

/* Listen again on 127.0.0.1:port (0: any free port), going on with the
 * script's numbering. @pre started and down. */
void af_httpd_listen(struct af_httpd *s, uint16_t port);

/* Stop and free what was seen. A server not started is left as it is. */
void af_httpd_stop(struct af_httpd *s);

/* How many requests came. */
size_t af_httpd_count(struct af_httpd *s);

/* How many of the requests kept carried text (a document's id, say). */
size_t af_httpd_carried(struct af_httpd *s, const char *text);

#endif
