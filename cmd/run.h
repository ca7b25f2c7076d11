/* run.h - `auditflow run`: Kafka in, alerts out, at least once.
 *
 * Thread: the main thread (the runtime starts its own).
 */
#ifndef AF_CMD_RUN_H
#define AF_CMD_RUN_H

#include "pipeline/config.h"

/* Run the consumer with cfg (parsed; the kafka section names brokers and
 * topics). Returns the process exit status: 0 success (a stop by signal
 * or -e at the end included), 1 runtime failure, 2 usage or configuration
 * error. Messages go to stderr: log lines as cfg->log says
 * (pipeline/log.h), then the closing summary; usage errors as plain
 * text. */
int af_run_main(const struct af_config *cfg);

#endif
