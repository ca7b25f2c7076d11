/* http_server.c - the sink tests' scripted HTTP server (libmicrohttpd on
 * loopback); see http_server.h.
 *
 * Thread: the handlers run on the daemon's polling thread and meet the
 * test's thread only under s->mu; the rest runs on the test's thread.
 * In: requests, answered from the script. Out: what they carried.
 */
#include "tests/sinks/http_server.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A request's body as it comes in, piece by piece. */
struct upload {
	char *p;
	size_t len;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Items in an NDJSON body: one action line and one document each. */
static size_t bulk_items(const char *body, size_t len)
{
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += body[i] == '\n';
	return lines / 2;
}

/* A _bulk answer for n items with the scripted statuses (cycled). */
static char *bulk_answer(const char *items, size_t n)
{
	size_t cap = 256 + n * 256, len = 0;
	char *out = malloc(cap);
	const char *p = items;

	cr_assert_not_null(out);
	len += (size_t)snprintf(out, cap, "{\"took\":3,\"errors\":%s,\"items\":[",
	                        items != NULL ? "true" : "false");
	for (size_t i = 0; i < n; i++) {
		int status = 201;
		if (items != NULL) {
			if (*p == '\0')
				p = items;
			status = atoi(p);
			p += strcspn(p, ",");
			p += *p == ',';
		}
		const char *err = status == 429 ? ",\"error\":{\"type\":\"es_rejected_execution_"
		                                  "exception\",\"reason\":\"queue full\"}"
		                  : status >= 300
		                      ? ",\"error\":{\"type\":\"mapper_parsing_exception\","
		                        "\"reason\":\"failed to parse field [n]\"}"
		                      : "";
		len += (size_t)snprintf(out + len, cap - len,
		                        "%s{\"index\":{\"_index\":\"a\",\"status\":%d%s}}",
		                        i > 0 ? "," : "", status, err);
	}
	snprintf(out + len, cap - len, "]}");
	return out;
}

static enum MHD_Result httpd_handle(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version, const char *data,
                                    size_t *data_size, void **con_cls)
{
	struct af_httpd *s = cls;
	struct upload *up = *con_cls;
	(void)method;
	(void)version;

	if (up == NULL) {
		*con_cls = calloc(1, sizeof(*up));
		return *con_cls != NULL ? MHD_YES : MHD_NO;
	}
	if (*data_size > 0) {
		up->p = realloc(up->p, up->len + *data_size + 1);
		memcpy(up->p + up->len, data, *data_size);
		up->len += *data_size;
		up->p[up->len] = '\0';
		*data_size = 0;
		return MHD_YES;
	}

	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	struct af_httpd_reply r = {0};
	pthread_mutex_lock(&s->mu);
	size_t i = s->n;
	if (i < AF_HTTPD_REQS) {
		struct af_httpd_req *q = &s->reqs[i];
		snprintf(q->url, sizeof q->url, "%s", url);
		snprintf(q->auth, sizeof q->auth, "%s", auth ? auth : "");
		snprintf(q->ctype, sizeof q->ctype, "%s", ctype ? ctype : "");
		q->body = up->p;
		q->len = up->len;
		q->t_ms = mono_ms();
		up->p = NULL;
		s->n++;
	}
	if (i < s->nscript)
		r = s->script[i];
	const char *body_in = i < AF_HTTPD_REQS ? s->reqs[i].body : NULL;
	size_t len_in = i < AF_HTTPD_REQS ? s->reqs[i].len : 0;
	pthread_mutex_unlock(&s->mu);

	if (r.reset)
		return MHD_NO;
	int status = r.status ? r.status : 200;
	char *text = NULL;
	if (r.echo_auth)
		(void)!asprintf(&text, "{\"text\":\"bad request from %s\"}", auth ? auth : "");
	else if (r.body != NULL)
		text = strdup(r.body);
	else if (s->es && status == 200)
		text = bulk_answer(r.items, body_in ? bulk_items(body_in, len_in) : 0);
	else
		text = strdup(status == 200 ? "{\"text\":\"Success\",\"code\":0}"
		                            : "{\"text\":\"no\"}");
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (r.retry_after > 0) {
		char ra[16];
		snprintf(ra, sizeof ra, "%d", r.retry_after);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void httpd_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                            enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;
	(void)cls;
	(void)c;
	(void)toe;
	if (up != NULL) {
		free(up->p);
		free(up);
		*con_cls = NULL;
	}
}

void af_httpd_listen(struct af_httpd *s, uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, port, NULL, NULL, httpd_handle, s,
	                        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	                        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1U, MHD_OPTION_NOTIFY_COMPLETED,
	                        httpd_completed, NULL, MHD_OPTION_END);
	cr_assert_not_null(s->d, "cannot start the test server");
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	cr_assert_not_null(info);
	s->port = info->port;
}

void af_httpd_start(struct af_httpd *s, bool es, const struct af_httpd_reply *script, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->started = true;
	pthread_mutex_init(&s->mu, NULL);
	s->es = es;
	s->script = script;
	s->nscript = n;
	af_httpd_listen(s, 0);
}

void af_httpd_down(struct af_httpd *s)
{
	MHD_stop_daemon(s->d);
	s->d = NULL;
}

void af_httpd_stop(struct af_httpd *s)
{
	if (!s->started)
		return;
	if (s->d != NULL)
		MHD_stop_daemon(s->d);
	s->d = NULL;
	for (size_t i = 0; i < s->n && i < AF_HTTPD_REQS; i++)
		free(s->reqs[i].body);
	pthread_mutex_destroy(&s->mu);
	s->started = false;
}

size_t af_httpd_count(struct af_httpd *s)
{
	pthread_mutex_lock(&s->mu);
	size_t n = s->n;
	pthread_mutex_unlock(&s->mu);
	return n;
}

size_t af_httpd_carried(struct af_httpd *s, const char *text)
{
	size_t k = 0;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->n && i < AF_HTTPD_REQS; i++)
		k += s->reqs[i].body != NULL && strstr(s->reqs[i].body, text) != NULL;
	pthread_mutex_unlock(&s->mu);
	return k;
}
