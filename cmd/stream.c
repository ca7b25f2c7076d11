/* stream.c - the pieces `auditflow replay` and `auditflow run` share (see
 * stream.h).
 *
 * Thread: the main thread of either command.
 */
#include "cmd/stream.h"
#include "pipeline/clock.h"

#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cmd/replay.h"

int af_stream_open_geo(const struct af_config *cfg, struct af_geo_hub **out)
{
	struct af_geo_hub_opts opts;
	char err[512];

	af_replay_geo_opts(&cfg->geo, &opts);
	if (af_geo_hub_open(&opts, out, err, sizeof(err)) != AF_OK) {
		fprintf(stderr, "auditflow: %s\n", err);
		return 2;
	}
	if (af_geo_hub_watch(*out, err, sizeof(err)) != AF_OK) {
		fprintf(stderr, "auditflow: %s\n", err);
		return 1;
	}
	return 0;
}

int af_stream_files_open(struct af_stream_files *f, const struct af_config *cfg,
                         struct af_summary *counts)
{
	const struct af_config_output *out = &cfg->output;
	char err[512];

	f->dlq = af_dlq_open(out->dlq, out->dlq_raw_max, err, sizeof(err));
	if (f->dlq == NULL)
		goto fail;
	if (out->events) {
		f->events = af_ecs_open(out->events, err, sizeof(err));
		if (f->events == NULL)
			goto fail;
	}
	f->alerts = af_alert_out_open(out->alerts, (enum af_output_format)out->format, counts, err,
	                              sizeof(err));
	if (f->alerts == NULL)
		goto fail;
	if (out->rotate_bytes > 0) {
		/* Files only: standard output, pipes and devices never rotate
		 * (the calls say so by returning false, which is no error). */
		(void)af_alert_out_rotate_by_size(f->alerts, out->rotate_bytes, out->rotate_keep);
		(void)af_dlq_rotate_by_size(f->dlq, out->rotate_bytes, out->rotate_keep);
		if (f->events != NULL)
			(void)af_ecs_rotate_by_size(f->events, out->rotate_bytes, out->rotate_keep);
	}
	return 0;
fail:
	fprintf(stderr, "auditflow: %s\n", err);
	return 1;
}

int af_stream_files_close(struct af_stream_files *f, int status)
{
	char err[512];
	af_err_t e[3];

	e[0] = af_dlq_close(f->dlq, err, sizeof(err));
	if (e[0] != AF_OK)
		fprintf(stderr, "auditflow: %s\n", err);
	e[1] = af_ecs_close(f->events, err, sizeof(err));
	if (e[1] != AF_OK)
		fprintf(stderr, "auditflow: %s\n", err);
	e[2] = af_alert_out_close(f->alerts, err, sizeof(err));
	if (e[2] != AF_OK)
		fprintf(stderr, "auditflow: %s\n", err);
	f->dlq = NULL;
	f->events = NULL;
	f->alerts = NULL;
	if (status == 0 && (e[0] != AF_OK || e[1] != AF_OK || e[2] != AF_OK))
		status = 1;
	return status;
}

void af_stream_block_signals(sigset_t *stop_set, sigset_t *old)
{
	sigemptyset(stop_set);
	sigaddset(stop_set, SIGINT);
	sigaddset(stop_set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, stop_set, old);
}

int af_stream_supervise(struct af_runtime *rt, const sigset_t *stop_set, const char *doing,
                        void (*tick)(void *ctx), void *ctx)
{
	int stopped = 0;
	double ticked = 0;
	/* 10 ms: the run is seen to end within that (a short replay is not
	 * held up), at a cost of a hundred wake-ups a second. */
	struct timespec wait = {0, 10 * 1000 * 1000};

	while (!af_runtime_done(rt)) {
		int sig = sigtimedwait(stop_set, NULL, &wait);
		if (sig > 0) {
			if (stopped) {
				fprintf(stderr, "\nauditflow: second signal, exiting at once\n");
				_exit(128 + sig);
			}
			stopped = sig;
			af_runtime_stop(rt);
			fprintf(stderr, "\nauditflow: %s: %s (again to quit at once)\n",
			        sig == SIGINT ? "interrupted" : "terminated", doing);
		}
		double now = af_clock_s();
		if (tick != NULL && now - ticked >= 0.5) {
			tick(ctx);
			ticked = now;
		}
	}
	return stopped;
}

void af_stream_syslog_opts(const struct af_config_syslog *c, struct af_syslog_opts *o)
{
	af_syslog_opts_init(o);
	o->target = c->target;
	o->facility = c->facility;
	o->format = c->format;
	o->app_name = c->app_name;
	o->sd_id = c->sd_id;
}
