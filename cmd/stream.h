/* stream.h - what `auditflow replay` and `auditflow run` share around the
 * runtime: the logger, the geo hub from the configuration, the file
 * outputs, and the wait for the run's end that takes the stop signals.
 *
 * Thread: the main thread of either command.
 * Out: notices and errors as lines of the command's logger (lg,
 * pipeline/log.h), which must outlive what is opened with it.
 */
#ifndef AF_CMD_STREAM_H
#define AF_CMD_STREAM_H

#include <signal.h>
#include <stdbool.h>

#include "pipeline/config.h"
#include "pipeline/enrich/geo.h"
#include "pipeline/log.h"
#include "pipeline/runtime/runtime.h"
#include "sinks/alert_out.h"
#include "sinks/dlq.h"
#include "sinks/events_ecs.h"
#include "sinks/syslog.h"
#include "sinks/summary.h"

/* The syslog output's options as the configuration's syslog section sets
 * them (strings borrowed from c); the rest af_syslog_opts_init's. */
void af_stream_syslog_opts(const struct af_config_syslog *c, struct af_syslog_opts *o);

/* The command's logger, as cfg->log says, writing to standard error. */
void af_stream_log_init(struct af_log *lg, const struct af_config *cfg);

/* Open and watch the geo hub of cfg->geo into *out; its failed reloads
 * are logged to lg. Returns the exit status: 0, 2 for a bad database or
 * list, 1 when the watch cannot start (the message logged; *out may be
 * set and is the caller's to close). */
int af_stream_open_geo(const struct af_config *cfg, const struct af_log *lg,
                       struct af_geo_hub **out);

/* The file outputs: dead letters (--dlq, or counting only), events
 * (--events-out, or none) and alerts (-o). */
struct af_stream_files {
	struct af_dlq *dlq;
	struct af_ecs_out *events;
	struct af_alert_out *alerts;
};

/* Open them from cfg->output, rotating by size as output.rotate_bytes
 * says; truncated, or with append (a run resumed from a checkpoint) kept
 * and added to, a line cut short by a crash removed first (a warning).
 * Alerts are not counted here: the runtime's shards count them.
 * Returns 0, or 1 with the message logged (what was opened stays in *f
 * for af_stream_files_close). */
int af_stream_files_open(struct af_stream_files *f, const struct af_config *cfg,
                         const struct af_log *lg, bool append);

/* Close what is open in *f; returns status, or 1 when it was 0 and a
 * close failed (the message logged). */
int af_stream_files_close(struct af_stream_files *f, const struct af_log *lg, int status);

/* Checkpoints (--state-dir, pipeline/runtime/runtime.h). Before the
 * outputs are opened: with --fresh, remove the checkpoint; else set
 * *resume when the folder holds one. Returns 0, or 1 with the message
 * logged. */
int af_stream_state(const struct af_config *cfg, const struct af_log *lg, bool *resume);

/* Load the checkpoint into rt (not started). Returns 0 ("resuming from
 * checkpoint N", info), or the exit status with the message logged: 2
 * when the checkpoint is damaged or does not fit this run (it says that
 * --fresh starts over), 1 when it cannot be read. */
int af_stream_resume(struct af_runtime *rt, const struct af_config *cfg, const struct af_log *lg);

/* After the run: when it ended complete (status 0 and, for a replay, every
 * input read), remove the checkpoint; when it stopped with one, say so.
 * Returns status, or 1 when it was 0 and the removal failed. */
int af_stream_state_end(struct af_runtime *rt, const struct af_config *cfg, const struct af_log *lg,
                        int status, bool complete);

/* SIGINT and SIGTERM blocked in this thread (and the threads it starts
 * from now on), for af_stream_supervise; *old gets the mask to restore. */
void af_stream_block_signals(sigset_t *stop_set, sigset_t *old);

/* Wait until rt is done, taking the stop signals: the first asks rt to
 * stop ("interrupted: <doing> (again to quit at once)", info), a second
 * exits the process at once with 128 + the signal (a warning). tick, when
 * not NULL, is called about twice a second (a progress line). Returns the
 * signal that stopped reading, or 0. */
int af_stream_supervise(struct af_runtime *rt, const struct af_log *lg, const sigset_t *stop_set,
                        const char *doing, void (*tick)(void *ctx), void *ctx);

#endif
