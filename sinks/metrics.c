/* metrics.c - /metrics and /health over libmicrohttpd; see metrics.h.
 *
 * DESIGN: one internal polling thread (MHD_USE_INTERNAL_POLLING_THREAD),
 * so requests are answered one at a time and a callback never runs beside
 * itself; each answer is rendered into memory whole (open_memstream) and
 * handed to libmicrohttpd to free, so a slow client holds no lock of ours.
 */
#include "sinks/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct af_metrics {
	struct MHD_Daemon *d;
	af_metrics_render_fn *render;
	af_metrics_health_fn *health;
	void *ctx;
	uint16_t port;
};

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *type,
                              char *body, size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
	    len, body, body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	enum MHD_Result ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
	struct af_metrics *m = cls;
	char *body = NULL;
	size_t len = 0;
	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;

	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return answer(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", NULL, 0);
	bool metrics = strcmp(url, "/metrics") == 0, health = strcmp(url, "/health") == 0;
	if (!metrics && !health) {
		body = strdup("not found: /metrics or /health\n");
		return answer(c, MHD_HTTP_NOT_FOUND, "text/plain", body, body ? strlen(body) : 0);
	}
	FILE *out = open_memstream(&body, &len);
	if (out == NULL)
		return MHD_NO;
	bool healthy = true;
	if (metrics)
		m->render(m->ctx, out);
	else
		healthy = m->health(m->ctx, out);
	if (fclose(out) != 0) {
		free(body);
		return MHD_NO;
	}
	if (metrics)
		return answer(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body,
		              len);
	return answer(c, healthy ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "application/json",
	              body, len);
}

/* "ADDR:PORT" or "[ADDR]:PORT" into sa. */
static bool parse_listen(const char *listen, struct sockaddr_storage *sa)
{
	char host[64];
	const char *colon = strrchr(listen, ':');
	const char *h = listen;
	size_t hlen;

	if (colon == NULL)
		return false;
	hlen = (size_t)(colon - listen);
	if (hlen >= 2 && listen[0] == '[' && colon[-1] == ']') {
		h = listen + 1;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return false;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port > 65535)
		return false;
	memset(sa, 0, sizeof(*sa));
	struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		return true;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		return true;
	}
	return false;
}

af_err_t af_metrics_check(const char *listen, char *errstr, size_t errstr_size)
{
	struct sockaddr_storage sa;

	if (parse_listen(listen, &sa))
		return AF_OK;
	snprintf(errstr, errstr_size,
	         "metrics address '%s' is not ADDR:PORT (127.0.0.1:9464, [::1]:9464) or off",
	         listen);
	return AF_E_CONFIG;
}

af_err_t af_metrics_open(const char *listen, af_metrics_render_fn *render,
                         af_metrics_health_fn *health, void *ctx, struct af_metrics **out,
                         char *errstr, size_t errstr_size)
{
	struct sockaddr_storage sa;
	struct af_metrics *m;

	*out = NULL;
	if (!parse_listen(listen, &sa))
		return af_metrics_check(listen, errstr, errstr_size);
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(errstr, errstr_size, "out of memory");
		return AF_E_NOMEM;
	}
	m->render = render;
	m->health = health;
	m->ctx = ctx;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;
	if (sa.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	m->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, m, MHD_OPTION_SOCK_ADDR,
	                        (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
	                        MHD_OPTION_END);
	if (m->d == NULL) {
		snprintf(errstr, errstr_size, "cannot serve metrics on %s: %s", listen,
		         errno ? strerror(errno) : "libmicrohttpd refused it");
		free(m);
		return AF_E_IO;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
	m->port = info ? info->port : 0;
	*out = m;
	return AF_OK;
}

uint16_t af_metrics_port(const struct af_metrics *m)
{
	return m->port;
}

void af_metrics_close(struct af_metrics *m)
{
	if (m == NULL)
		return;
	MHD_stop_daemon(m->d);
	free(m);
}
