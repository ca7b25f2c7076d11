/* webhook.c - the end-to-end tests' HTTP webhook: a libmicrohttpd daemon
 * on loopback that gathers each request's body and hands the whole
 * request to the test's callback for the answer (see webhook.h).
 *
 * Thread: open and close on the test's thread; handle and completed on
 * the daemon's internal polling thread.
 * In: HTTP requests, their bodies in pieces. Out: the callback's answer.
 *
 * DESIGN: the body grows in a buffer hung on the connection (con_cls) and
 * freed in the completed callback, which libmicrohttpd calls however the
 * request ends, so a request cut short leaks nothing.
 */
#include "webhook.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/http_impl.h"

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **con_cls)
{
	struct af_e2e_webhook *w = cls;
	struct af_http_buf *b = *con_cls;
	(void)method;
	(void)version;

	if (b == NULL) {
		*con_cls = b = calloc(1, sizeof(*b));
		return b != NULL ? MHD_YES : MHD_NO;
	}
	if (*data_size > 0) {
		/* The buffer owns AF_HTTP_PAD bytes past len: room for the NUL
		 * the callback is promised. */
		if (!af_http_buf_add(b, data, *data_size))
			return MHD_NO;
		b->p[b->len] = '\0';
		*data_size = 0;
		return MHD_YES;
	}
	struct af_e2e_webhook_req req = {
	    .url = url,
	    .authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"),
	    .body = b->p ? b->p : "",
	    .body_len = b->len,
	};
	const char *answer = "{}";
	pthread_mutex_lock(&w->mu);
	unsigned status = w->fn(w->arg, &req, &answer);
	pthread_mutex_unlock(&w->mu);

	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(strlen(answer), (void *)answer, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	enum MHD_Result ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
	struct af_http_buf *b = *con_cls;
	(void)cls;
	(void)c;
	(void)toe;
	if (b != NULL) {
		free(b->p);
		free(b);
		*con_cls = NULL;
	}
}

af_err_t af_e2e_webhook_open(struct af_e2e_webhook *w, af_e2e_webhook_fn fn, void *arg,
                             char *errstr, size_t errstr_size)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int rc = pthread_mutex_init(&w->mu, NULL);
	if (rc != 0) {
		snprintf(errstr, errstr_size, "webhook: mutex: %s", strerror(rc));
		return AF_E_INTERNAL;
	}
	w->mu_ok = true;
	/* Before the daemon's thread exists, which reads them. */
	w->fn = fn;
	w->arg = arg;
	w->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handle, w,
	                        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	                        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
	if (w->d == NULL) {
		snprintf(errstr, errstr_size, "webhook: the server did not start on 127.0.0.1");
		return AF_E_IO;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_BIND_PORT);
	if (info == NULL || info->port == 0) {
		snprintf(errstr, errstr_size, "webhook: the server's port is unknown");
		return AF_E_IO;
	}
	w->port = info->port;
	return AF_OK;
}

void af_e2e_webhook_close(struct af_e2e_webhook *w)
{
	if (w->d != NULL)
		MHD_stop_daemon(w->d);
	if (w->mu_ok)
		pthread_mutex_destroy(&w->mu);
	memset(w, 0, sizeof(*w));
}

void af_e2e_webhook_lock(struct af_e2e_webhook *w)
{
	pthread_mutex_lock(&w->mu);
}

void af_e2e_webhook_unlock(struct af_e2e_webhook *w)
{
	pthread_mutex_unlock(&w->mu);
}
