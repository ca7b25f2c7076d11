/* metrics.h - the HTTP endpoint of a long run: GET /metrics (Prometheus
 * text exposition) and GET /health, served by libmicrohttpd on a thread of
 * its own.
 *
 * Thread: open and close on the controlling thread; the callbacks run on
 * the server's thread, one request at a time, and must only read what
 * other threads publish for them (under a lock or through atomics).
 * In: what the callbacks write. Out: HTTP/1.1 answers: 200 with the
 * exposition (text/plain; version=0.0.4), 200 or 503 with the health
 * callback's JSON, 404 for any other path, 405 for a method other than GET
 * or HEAD.
 */
#ifndef AF_METRICS_H
#define AF_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pipeline/err.h"

/* Write the exposition to out (borrowed). */
typedef void af_metrics_render_fn(void *ctx, FILE *out);
/* Write a JSON object to out (borrowed); return whether the run is
 * healthy (200) or not (503). */
typedef bool af_metrics_health_fn(void *ctx, FILE *out);

struct af_metrics;

/* Serve on listen, "ADDR:PORT" (an IPv4 or IPv6 address, "[::1]:9464";
 * port 0 picks a free one, see af_metrics_port), with render and health
 * (both borrowed, called with ctx) until af_metrics_close. Returns AF_OK,
 * AF_E_CONFIG (errstr: the address is not one) or AF_E_IO (errstr: it
 * cannot be bound, with the cause). */
af_err_t af_metrics_open(const char *listen, af_metrics_render_fn *render,
                         af_metrics_health_fn *health, void *ctx, struct af_metrics **out,
                         char *errstr, size_t errstr_size);

/* Check that listen is an address af_metrics_open can take ("off" is the
 * caller's). Returns AF_OK or AF_E_CONFIG with errstr, as open would. */
af_err_t af_metrics_check(const char *listen, char *errstr, size_t errstr_size);

/* The port being served. */
uint16_t af_metrics_port(const struct af_metrics *m);

/* Stop serving (a request under way is finished first) and free m; NULL
 * is ignored. */
void af_metrics_close(struct af_metrics *m);

#endif
