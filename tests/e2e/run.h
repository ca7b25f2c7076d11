/* run.h - run the real auditflow binary from an end-to-end test.
 *
 * Thread: the test's. Spawns AF_BIN with argv, stdin from a file (or
 * /dev/null), stdout and stderr to files in the test's temporary folder;
 * or starts `auditflow broker` in the background for tests that need a
 * Kafka-protocol broker, sends it fault-injection commands, and stops it;
 * produces to and consumes from it with kcat; or starts any program in
 * the background and waits for it (a run a test breaks the broker under).
 */
#ifndef AF_TEST_RUN_H
#define AF_TEST_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* 1 when the test is built with a sanitizer, as the binary it drives then
 * is (several times slower): the long end-to-end tests size their
 * scenarios down under one, since the sanitizers find as much in less. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define AF_E2E_SANITIZED 1
#else
#define AF_E2E_SANITIZED 0
#endif

struct af_run {
	int status; /* exit status, or 128+signal */
	char *out;  /* stdout, NUL-terminated, owned (free with af_run_free) */
	char *err;  /* stderr, likewise */
};

/* Run AF_BIN with args (NULL-terminated, without argv[0]). stdin_path may
 * be NULL. Returns 0, or -1 if the process could not be started. */
int af_run(struct af_run *r, const char *stdin_path, const char *const *args);
void af_run_free(struct af_run *r);

/* Run any program: argv[0] is its path or a name looked up in PATH. A
 * child still running after 240 s (AF_E2E_CHILD_S) is hung: killed, with
 * status -1 and its threads' stacks after its stderr. */
int af_run_argv(struct af_run *r, const char *stdin_path, const char *const *argv);

/* Wait for child pid: 0 with *status its exit status (128+signal), or -1
 * when it is still running after 240 s (AF_E2E_CHILD_S) or cannot be
 * waited for. A hung child is killed, and *report (owned, else NULL) holds
 * its threads' stacks (gdb, when installed). */
int af_e2e_wait(pid_t pid, int *status, char **report);

/* A fresh temporary folder (mkdtemp) whose path is returned (owned). */
char *af_tmpdir(void);

/* Remove dir and the files in it (one level). */
void af_rmdir(const char *dir);

/* Whole file as a NUL-terminated string (owned), or NULL. */
char *af_slurp(const char *path, size_t *len);

/* Write len bytes to path; 0 or -1. */
int af_spit(const char *path, const void *data, size_t len);

/* Value of the integer field "key" in a flat JSON text, or -1 if absent. */
long long af_json_int(const char *json, const char *key);

/* A test's scratch folder: af_e2e_setup makes it (TestSuite .init),
 * af_e2e_teardown removes it (.fini), af_e2e_path names a file in it (one
 * of 8 rotating buffers, so a few may be used at once). */
extern char *af_e2e_dir;
void af_e2e_setup(void);
void af_e2e_teardown(void);
const char *af_e2e_path(const char *name);

/* Lines in s. */
size_t af_count_lines(const char *s);

/* Monotonic seconds; a 10 ms sleep, for polling loops. */
double af_e2e_now_s(void);
void af_e2e_nap(void);

/* The lines of text sorted, each once when unique; owned, NULL when out of
 * memory. */
char *af_e2e_sorted_lines(const char *text, bool unique);

/* What tells one version of a file from the next when each is written to
 * a temporary file and renamed over the last (a checkpoint's manifest): a
 * new inode, a new time. */
struct af_e2e_stamp {
	bool there;
	ino_t ino;
	struct timespec mtime;
};
struct af_e2e_stamp af_e2e_stamp_of(const char *path);
bool af_e2e_stamp_same(struct af_e2e_stamp a, struct af_e2e_stamp b);

/* An `auditflow broker` running in the background (librdkafka's mock
 * cluster on loopback), for tests that produce to or consume from Kafka.
 * Zero it before af_e2e_broker_open. Keep it where the suite's .fini can
 * reach it, so a test that an assertion ends early does not leave the
 * broker running: .fini calls af_e2e_broker_close (before
 * af_e2e_teardown). */
struct af_e2e_broker {
	pid_t pid;  /* 0: not running */
	char *addr; /* bootstrap address ("127.0.0.1:PORT[,...]"), owned */
	/* The control channel, when extra gave --control: */
	bool ctl_stdin;  /* "-": ctl_fd writes to the broker's stdin */
	int ctl_fd;      /* valid while ctl_stdin */
	char *ctl_path;  /* a FIFO, owned; NULL when none */
	size_t out_seen; /* bytes of broker.out read: the address, answers */
};

/* How long af_e2e_broker_open waits for the bootstrap file and
 * af_e2e_broker_stop for the exit: a deadline against a hang, not a
 * timing check (both poll every 10 ms). */
#define AF_E2E_BROKER_WAIT_S 20

/* Start `AF_BIN broker --bootstrap-file <scratch>/bootstrap extra...`
 * (extra: NULL-terminated options, or NULL; at most 27), stdin from
 * /dev/null (from a pipe that af_e2e_broker_ctl writes to, with
 * "--control" "-" in extra), stdout and stderr to broker.out and
 * broker.err in the test's scratch folder (af_e2e_path), and wait until
 * the bootstrap file holds a whole line. Returns 0 with b->pid and b->addr set, or -1 with errstr
 * (the broker's stderr when it exited first; the broker killed when it
 * did not answer in time).
 * @pre af_e2e_setup has run; b is zeroed or closed. */
int af_e2e_broker_open(struct af_e2e_broker *b, const char *const *extra, char *errstr,
                       size_t errstr_size);

/* Send sig to the broker and reap it; *status gets its exit status, or
 * 128+signal if a signal ended it. Returns 0, or -1 with errstr (no broker
 * running, or it did not exit within AF_E2E_BROKER_WAIT_S: then it stays
 * for af_e2e_broker_close). b->addr is kept.
 * @pre b was opened. */
int af_e2e_broker_stop(struct af_e2e_broker *b, int sig, int *status, char *errstr,
                       size_t errstr_size);

/* Kill the broker with SIGKILL if it still runs, reap it, close its
 * control pipe, free b->addr and b->ctl_path; b is zeroed again. Safe on a
 * zeroed or stopped b. */
void af_e2e_broker_close(struct af_e2e_broker *b);

/* Send command (one line, without its newline) to the control channel
 * that extra gave af_e2e_broker_open (--control - or --control PATH: each
 * command opens the FIFO, writes, and closes it again), and wait for the
 * broker's answer: its next line on stdout, copied without the newline
 * into answer[answer_size]. Returns 0, or -1 with errstr (no control
 * channel, a write failed, the broker exited, or no answer within
 * AF_E2E_BROKER_WAIT_S). Waits for the answer, not for its effect on
 * clients: the broker answers once the fault is in place.
 * @pre b was opened with --control; command is not blank and does not
 *      start with '#' (those get no answer). */
int af_e2e_broker_ctl(struct af_e2e_broker *b, const char *command, char *answer,
                      size_t answer_size, char *errstr, size_t errstr_size);

/* Close the broker's stdin (opened with --control -): it reads end of
 * file. Safe when already closed. */
void af_e2e_broker_ctl_eof(struct af_e2e_broker *b);

/* kcat -P the lines of path into topic (one message each) on brokers,
 * zstd-compressed (the embedded broker keeps about 5 MiB a partition as
 * stored), with the extra kcat options (NULL-terminated, or NULL; at most
 * 21). Returns 0, or -1 with errstr (kcat's stderr). */
int af_e2e_produce(const char *brokers, const char *topic, const char *path,
                   const char *const *extra, char *errstr, size_t errstr_size);

/* Every message of topic on brokers, one per line (kcat -C -e from the
 * beginning). Owned; NULL with errstr when kcat failed. */
char *af_e2e_consume(const char *brokers, const char *topic, char *errstr, size_t errstr_size);

/* The "id" values of the alert lines in text, sorted, one per line
 * (duplicates kept, so a set compared with it must hold each once).
 * Owned. */
char *af_e2e_alert_ids(const char *text);

/* A program running in the background: start it with af_e2e_spawn, send
 * it signals with kill(2), wait for it with af_e2e_reap. Zero it first,
 * and keep it where the suite's .fini can reach it, so that a test an
 * assertion ends early does not leave it running (af_e2e_proc_kill). */
struct af_e2e_proc {
	pid_t pid;  /* 0: not running (never started, or reaped) */
	int status; /* once reaped: exit status, or 128+signal */
};

/* Start argv (argv[0] a path, or a name looked up in PATH) with stdin
 * from /dev/null and stdout and stderr to out_path and err_path (created
 * or truncated). Returns 0, or -1 with errstr.
 * @pre p is zeroed or reaped. */
int af_e2e_spawn(struct af_e2e_proc *p, const char *const *argv, const char *out_path,
                 const char *err_path, char *errstr, size_t errstr_size);

/* Whether p still runs; when it has exited, reaps it (p->pid 0,
 * p->status set) and answers false. */
bool af_e2e_running(struct af_e2e_proc *p);

/* Wait up to timeout_s (a deadline against a hang, polled every 10 ms)
 * for p to exit and reap it. Returns 0 with p->status set (also when it
 * was reaped already), or -1 with errstr when it still runs.
 * @pre p was started. */
int af_e2e_reap(struct af_e2e_proc *p, int timeout_s, char *errstr, size_t errstr_size);

/* SIGKILL p if it still runs and reap it. Safe on a zeroed or reaped p. */
void af_e2e_proc_kill(struct af_e2e_proc *p);

#endif
