/* webhook.h - an HTTP webhook for end-to-end tests: a libmicrohttpd
 * daemon on an ephemeral 127.0.0.1 port that reads each request's whole
 * body and lets the test decide the answer and keep what it wants.
 * Shared by tests/e2e/test_run_outputs.c and tests/e2e/test_sink_outage.c
 * (tests/sinks/http_server.h is the unit tests' scripted server).
 *
 * Thread: open and close on the test's thread; the test's callback runs
 * on the daemon's one polling thread, under the webhook's mutex, which the
 * test takes with af_e2e_webhook_lock to read what the callback kept while
 * the daemon runs.
 * In: per request, its URL, its Authorization header and its whole body.
 * Out: the answer the callback chooses: a status and a short JSON body.
 */
#ifndef AF_TEST_WEBHOOK_H
#define AF_TEST_WEBHOOK_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"

/* One whole request, as the callback sees it. All borrowed: valid for the
 * call only. */
struct af_e2e_webhook_req {
	const char *url;
	const char *authorization; /* the header's value; NULL when absent */
	const char *body;          /* NUL-terminated ("" when empty) */
	size_t body_len;           /* bytes of body, without the NUL */
};

/* Decide the answer to req and keep what the test wants of it. Returns
 * the HTTP status; *answer is "{}" on entry and may be pointed at another
 * body (borrowed for the call; copied into the response).
 * Thread: the daemon's, with the webhook's mutex held; calls are one at a
 * time. arg is the one given to af_e2e_webhook_open. */
typedef unsigned (*af_e2e_webhook_fn)(void *arg, const struct af_e2e_webhook_req *req,
                                      const char **answer);

/* Zero it before af_e2e_webhook_open and keep it where the suite's .fini
 * can close it when an assertion ends the test early. */
struct af_e2e_webhook {
	struct MHD_Daemon *d; /* NULL: not answering */
	uint16_t port;        /* where it listens, once open */
	af_e2e_webhook_fn fn;
	void *arg;
	bool mu_ok; /* mu initialised (close destroys it) */
	pthread_mutex_t mu;
};

/* Start answering on 127.0.0.1 at a port the system picks (w->port),
 * each whole request through fn(arg, ...). arg is borrowed: it must
 * outlive the daemon (until af_e2e_webhook_close). Returns 0; AF_E_IO
 * when the daemon cannot start or its port is unknown, AF_E_INTERNAL when
 * its mutex cannot be made, with errstr filled (w is then safe to
 * close). Cost: starts a thread.
 * @pre w zeroed. */
af_err_t af_e2e_webhook_open(struct af_e2e_webhook *w, af_e2e_webhook_fn fn, void *arg,
                             char *errstr, size_t errstr_size);

/* Stop answering: waits for the daemon's thread, so fn is not called
 * again; what fn kept is the test's. Then zeroes w. Safe on a zeroed or
 * already closed w. */
void af_e2e_webhook_close(struct af_e2e_webhook *w);

/* Hold off the callback while the test reads what it keeps.
 * @pre w open. */
void af_e2e_webhook_lock(struct af_e2e_webhook *w);
void af_e2e_webhook_unlock(struct af_e2e_webhook *w);

#endif
