/* gen.h - `auditflow gen`: write a scenario's synthetic audit logs (see
 * ingest/gen.h for what is written).
 *
 * Thread: the main thread.
 */
#ifndef AF_CMD_GEN_H
#define AF_CMD_GEN_H

/* Run `auditflow gen` with the arguments after "gen" (argv[0] is the first
 * option; argv need not be NULL-terminated). Returns the process exit
 * status: 0 success (and --help), 1 runtime failure (a directory or file
 * that cannot be made or written, out of memory), 2 usage error. Messages
 * and the closing summary go to stderr, --help to stdout. */
int af_gen_main(int argc, char **argv);

#endif
