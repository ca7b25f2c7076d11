/* bench.h - `auditflow bench`: how fast auditflow is on this machine,
 * stage by stage and end to end, on a generated corpus held in memory.
 *
 * Thread: the main thread; the end-to-end runs start the runtime's
 * threads (pipeline/runtime/runtime.h) and join them before returning.
 * In: the command line (bench's own options and the engine's -j,
 * --batch-size, --geo-*, -c). Out: a table on stdout, or one JSON object
 * with --json; short progress lines on stderr when it is a terminal.
 */
#ifndef AF_CMD_BENCH_H
#define AF_CMD_BENCH_H

/* Run `auditflow bench` with argv[0..argc) (the words after "bench").
 * Returns the exit status: 0 measured (a thread count that raised other
 * alerts than one thread is a warning in the report, not a failure), 1 a
 * failure while building the corpus or measuring (or SIGINT/SIGTERM: the
 * work directory is removed first), 2 a usage or configuration error. */
int af_bench_main(int argc, char **argv);

#endif
