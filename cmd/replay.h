/* replay.h - `auditflow replay`: historical export files through the engine.
 *
 * Thread: the main thread (this replay runs the stages in one
 * thread; the runtime spreads them over workers without changing them).
 */
#ifndef AF_CMD_REPLAY_H
#define AF_CMD_REPLAY_H

#include "pipeline/config.h"
#include "pipeline/err.h"

/* Run a replay with cfg (parsed; cfg->cli.args are the inputs). Returns the
 * process exit status: 0 success, 1 runtime failure (an input that cannot
 * be read, an output that cannot be written), 2 usage error. Messages go to
 * stderr: log lines as cfg->log says (pipeline/log.h), the progress line
 * and the closing summary; usage errors as plain text. */
int af_replay_main(const struct af_config *cfg);

/* What a replay checks at start-up beyond the configuration's syntax: the
 * rule settings (af_rules_check) and the geo databases and lists, opened
 * and closed again. Returns AF_OK, or AF_E_CONFIG (or the hub's error)
 * with errstr naming the setting or file. For `auditflow validate`. */
af_err_t af_replay_check(const struct af_config *cfg, char *errstr, size_t errstr_size);

struct af_geo_hub_opts;

/* The geo hub's options from the configuration's geo section (every path
 * borrowed from g), for any command that enriches (replay, bench). */
void af_replay_geo_opts(const struct af_config_geo *g, struct af_geo_hub_opts *opts);

#endif
