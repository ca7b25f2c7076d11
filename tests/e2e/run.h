/* run.h - run the real auditflow binary from an end-to-end test.
 *
 * Thread: the test's. Spawns AF_BIN with argv, stdin from a file (or
 * /dev/null), stdout and stderr to files in the test's temporary folder.
 */
#ifndef AF_TEST_RUN_H
#define AF_TEST_RUN_H

#include <stddef.h>

struct af_run {
	int status; /* exit status, or 128+signal */
	char *out;  /* stdout, NUL-terminated, owned (free with af_run_free) */
	char *err;  /* stderr, likewise */
};

/* Run AF_BIN with args (NULL-terminated, without argv[0]). stdin_path may
 * be NULL. Returns 0, or -1 if the process could not be started. */
int af_run(struct af_run *r, const char *stdin_path, const char *const *args);
void af_run_free(struct af_run *r);

/* Run any program: argv[0] is its path or a name looked up in PATH. */
int af_run_argv(struct af_run *r, const char *stdin_path, const char *const *argv);

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

#endif
