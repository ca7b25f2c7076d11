/* broker.h - `auditflow broker`: a local Kafka-protocol broker (librdkafka's
 * mock cluster) for trying auditflow and for tests; not for production.
 *
 * Thread: the main thread, which waits for SIGINT or SIGTERM while the mock
 * cluster (and, with --port, the bootstrap relay; with --control, the
 * fault-injection channel of broker_ctl.h) serve from their own threads.
 */
#ifndef AF_CMD_BROKER_H
#define AF_CMD_BROKER_H

/* Run `auditflow broker` with the arguments after "broker" (argv[0] is the
 * first option; argv need not be NULL-terminated). Blocks SIGINT and
 * SIGTERM in the calling thread before any thread starts, serves until one
 * of them arrives, then stops every thread and returns the process exit
 * status: 0 after a signal (and for --help), 1 runtime failure (the
 * cluster, the --port listener, the --bootstrap-file or the --control FIFO
 * cannot be made), 2 usage error (also a --control path that exists and is
 * not a FIFO).
 *
 * Out: the bootstrap address, alone on one flushed line, on stdout (and in
 * --bootstrap-file once every topic exists, and the --control FIFO is
 * open); then on stdout only the answers to --control commands, one flushed
 * line each ("ok ..." or "error ..."), in the order the commands came; what
 * listens where and the retention warning on stderr.
 *
 * @pre called from the main thread of a process that has started no other
 *      thread (the signal mask must be inherited by every thread).
 */
int af_broker_main(int argc, char **argv);

#endif
