/* test.h - `auditflow test FILE.yaml...`: rule tests that users write.
 *
 * Thread: the main thread.
 *
 * A test file holds cases: input records and the alerts they must raise
 * (rule, account, and optionally fields of "observed"), under settings of
 * the user's own (their thresholds, their geo databases). Each case runs
 * through the real engine, a replay with one worker, from a fresh state;
 * the command reports each case as ok or FAIL with what differed.
 *
 *   settings:           configuration keys, nested or dotted, as in a
 *                       configuration file (optional)
 *   config: FILE        a configuration file read first (optional)
 *   cases:
 *     - name: TEXT
 *       settings: {...}  over the file's (optional)
 *       records:         each a mapping (written as one JSON object) or a
 *                        string holding one JSON text
 *       expect:          alerts in any order; [] means none
 *         - {rule: R, account: A, observed: {FIELD: VALUE, ...}}
 *       others: ignore   alerts beyond expect are allowed (optional)
 *
 * Paths in a file are relative to its folder. Plain scalars that read as
 * JSON numbers, true, false or null become those in a record; every other
 * scalar is a string.
 */
#ifndef AF_CMD_TEST_H
#define AF_CMD_TEST_H

/* Run `auditflow test` with the arguments after "test". Returns the exit
 * status: 0 every case passed (and --help), 1 a case failed or could not
 * run, 2 a usage error or a test file that cannot be read or is not one. */
int af_test_main(int argc, char **argv);

#endif
