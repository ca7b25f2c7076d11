/* replay.h - `auditflow replay`: historical export files through the engine.
 *
 * Thread: the main thread (this replay runs the stages in one
 * thread; the runtime spreads them over workers without changing them).
 */
#ifndef AF_CMD_REPLAY_H
#define AF_CMD_REPLAY_H

#include "pipeline/config.h"

/* Run a replay with cfg (parsed; cfg->cli.args are the inputs). Returns the
 * process exit status: 0 success, 1 runtime failure (an input that cannot
 * be read, an output that cannot be written), 2 usage error. Messages go to
 * stderr. */
int af_replay_main(const struct af_config *cfg);

#endif
