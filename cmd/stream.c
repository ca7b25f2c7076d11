/* stream.c - the pieces `auditflow replay` and `auditflow run` share (see
 * stream.h).
 *
 * Thread: the main thread of either command.
 * Out: the notices and errors of these pieces, to the command's logger.
 */
#include "cmd/stream.h"
#include "pipeline/clock.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cmd/replay.h"

void af_stream_log_init(struct af_log *lg, const struct af_config *cfg)
{
	af_log_init(lg, STDERR_FILENO, (enum af_log_format)cfg->log.format,
	            (enum af_log_level)cfg->log.level);
}

int af_stream_open_geo(const struct af_config *cfg, const struct af_log *lg,
                       struct af_geo_hub **out)
{
	struct af_geo_hub_opts opts;
	char err[512];

	af_replay_geo_opts(&cfg->geo, &opts);
	opts.log = lg;
	if (af_geo_hub_open(&opts, out, err, sizeof(err)) != AF_OK) {
		AF_LOG(lg, AF_LOG_ERROR, "geo", "%s", err);
		return 2;
	}
	if (af_geo_hub_watch(*out, err, sizeof(err)) != AF_OK) {
		AF_LOG(lg, AF_LOG_ERROR, "geo", "%s", err);
		return 1;
	}
	return 0;
}

int af_stream_files_open(struct af_stream_files *f, const struct af_config *cfg,
                         const struct af_log *lg, bool append)
{
	const struct af_config_output *out = &cfg->output;
	enum af_output_format format = (enum af_output_format)out->format;
	uint64_t cut[3] = {0, 0, 0};
	char err[512];

	/* The shards count the alerts (a checkpoint holds the counts). */
	if (append) {
		f->dlq = af_dlq_open_append(out->dlq, out->dlq_raw_max, &cut[0], err, sizeof(err));
		if (f->dlq != NULL && out->events)
			f->events = af_ecs_open_append(out->events, &cut[1], err, sizeof(err));
		if (f->dlq != NULL && (f->events != NULL || !out->events))
			f->alerts = af_alert_out_open_append(out->alerts, format, NULL, &cut[2],
			                                     err, sizeof(err));
	} else {
		f->dlq = af_dlq_open(out->dlq, out->dlq_raw_max, err, sizeof(err));
		if (f->dlq != NULL && out->events)
			f->events = af_ecs_open(out->events, err, sizeof(err));
		if (f->dlq != NULL && (f->events != NULL || !out->events))
			f->alerts = af_alert_out_open(out->alerts, format, NULL, err, sizeof(err));
	}
	if (f->alerts == NULL)
		goto fail;
	const char *names[3] = {out->dlq, out->events, out->alerts};
	for (int i = 0; i < 3; i++)
		if (cut[i] > 0)
			AF_LOG(lg, AF_LOG_WARN, "output",
			       "%s ended in a line cut short (%llu bytes); removed, it comes again",
			       names[i], (unsigned long long)cut[i]);
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
	AF_LOG(lg, AF_LOG_ERROR, "output", "%s", err);
	return 1;
}

int af_stream_files_close(struct af_stream_files *f, const struct af_log *lg, int status)
{
	char err[512];
	af_err_t e[3];

	e[0] = af_dlq_close(f->dlq, err, sizeof(err));
	if (e[0] != AF_OK)
		AF_LOG(lg, AF_LOG_ERROR, "output", "%s", err);
	e[1] = af_ecs_close(f->events, err, sizeof(err));
	if (e[1] != AF_OK)
		AF_LOG(lg, AF_LOG_ERROR, "output", "%s", err);
	e[2] = af_alert_out_close(f->alerts, err, sizeof(err));
	if (e[2] != AF_OK)
		AF_LOG(lg, AF_LOG_ERROR, "output", "%s", err);
	f->dlq = NULL;
	f->events = NULL;
	f->alerts = NULL;
	if (status == 0 && (e[0] != AF_OK || e[1] != AF_OK || e[2] != AF_OK))
		status = 1;
	return status;
}

int af_stream_state(const struct af_config *cfg, const struct af_log *lg, bool *resume)
{
	char path[PATH_MAX], err[512];
	const char *dir = cfg->state.dir;

	*resume = false;
	if (dir == NULL)
		return 0;
	if (cfg->state.fresh) {
		if (af_runtime_checkpoint_remove(dir, err, sizeof(err)) != AF_OK) {
			AF_LOG(lg, AF_LOG_ERROR, "checkpoint", "%s", err);
			return 1;
		}
		return 0;
	}
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	*resume = access(path, F_OK) == 0;
	return 0;
}

int af_stream_resume(struct af_runtime *rt, const struct af_config *cfg, const struct af_log *lg)
{
	char err[1024];
	uint64_t id = 0, records = 0, invalid = 0, alerts = 0;
	af_err_t e = af_runtime_restore(rt, &id, err, sizeof(err));

	if (e == AF_EOF)
		return 0; /* removed since it was looked for: start afresh */
	if (e != AF_OK) {
		AF_LOG(lg, AF_LOG_ERROR, "checkpoint", "cannot resume: %s; --fresh starts over",
		       err);
		return e == AF_E_IO || e == AF_E_NOMEM ? 1 : 2;
	}
	af_runtime_progress(rt, &records, &invalid, &alerts);
	AF_LOG(lg, AF_LOG_INFO, "checkpoint",
	       "resuming from checkpoint %llu in %s (%llu records already read, %llu alerts "
	       "raised)",
	       (unsigned long long)id, cfg->state.dir, (unsigned long long)records,
	       (unsigned long long)alerts);
	return 0;
}

int af_stream_state_end(struct af_runtime *rt, const struct af_config *cfg, const struct af_log *lg,
                        int status, bool complete)
{
	char err[512];
	double max_s = 0;
	uint64_t n = af_runtime_checkpoints(rt, NULL, &max_s);

	if (cfg->state.dir == NULL)
		return status;
	if (status == 0 && complete) {
		if (af_runtime_checkpoint_remove(cfg->state.dir, err, sizeof(err)) != AF_OK) {
			AF_LOG(lg, AF_LOG_ERROR, "checkpoint", "%s", err);
			return 1;
		}
		return status;
	}
	if (n > 0)
		AF_LOG(lg, AF_LOG_INFO, "checkpoint",
		       "%llu checkpoints written in %s (the longest took %.3f s); the same command "
		       "resumes from the last",
		       (unsigned long long)n, cfg->state.dir, max_s);
	return status;
}

void af_stream_block_signals(sigset_t *stop_set, sigset_t *old)
{
	sigemptyset(stop_set);
	sigaddset(stop_set, SIGINT);
	sigaddset(stop_set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, stop_set, old);
}

/* On a terminal, a line break first: the line so far holds the "^C" the
 * terminal echoed, or replay's progress line. */
static void break_line(const struct af_log *lg)
{
	if (isatty(lg->fd)) {
		ssize_t n = write(lg->fd, "\n", 1);
		(void)n;
	}
}

int af_stream_supervise(struct af_runtime *rt, const struct af_log *lg, const sigset_t *stop_set,
                        const char *doing, void (*tick)(void *ctx), void *ctx)
{
	int stopped = 0;
	double ticked = 0, started = af_clock_s();
	/* 10 ms for the first second: a short replay is seen to end within
	 * that and is not held up. Then 100 ms: a long run's end is seen a
	 * little later, and an idle one wakes this thread 10 times a second,
	 * not 100. */
	struct timespec wait = {0, 10 * 1000 * 1000};

	while (!af_runtime_done(rt)) {
		if (af_clock_s() - started >= 1.0)
			wait.tv_nsec = 100 * 1000 * 1000;
		int sig = sigtimedwait(stop_set, NULL, &wait);
		if (sig > 0) {
			break_line(lg);
			if (stopped) {
				AF_LOG(lg, AF_LOG_WARN, "signal", "second signal, exiting at once");
				_exit(128 + sig);
			}
			stopped = sig;
			af_runtime_stop(rt);
			AF_LOG(lg, AF_LOG_INFO, "signal", "%s: %s (again to quit at once)",
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
