/* run.c - helpers for end-to-end tests; see run.h. Linked into each e2e
 * test executable by tests/CMakeLists.txt.
 *
 * DESIGN: the broker helpers never sleep for a fixed time in the hope the
 * broker is ready; they poll a condition (the bootstrap file, the child's
 * exit) under a deadline, so a loaded machine makes a test slower, not
 * flaky. They report through errstr rather than asserting, so a suite's
 * .fini may call them too. */
#include "run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

char *af_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (cap - n - 1 == 0) {
			cap *= 2;
			char *b = realloc(buf, cap);
			if (!b) {
				free(buf);
				buf = NULL;
			} else {
				buf = b;
			}
		}
	}
	fclose(f);
	if (!buf)
		return NULL;
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

int af_spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(data, 1, len, f);
	return (fclose(f) == 0 && w == len) ? 0 : -1;
}

char *af_tmpdir(void)
{
	char tmpl[] = "/tmp/af-e2e-XXXXXX";
	char *d = mkdtemp(tmpl);
	return d ? strdup(d) : NULL;
}

void af_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char path[4096];
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* A child's exit status from waitpid's: 128+signal for a signal. */
static int exit_status(int ws)
{
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* Start argv with stdin from stdin_path (NULL: /dev/null), stdout and
 * stderr to out_path and err_path; posix_spawnp's answer (0 or an errno
 * value). */
static int spawn_to(pid_t *pid, const char *const *argv, const char *stdin_path,
                    const char *out_path, const char *err_path)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, stdin_path ? stdin_path : "/dev/null", O_RDONLY,
	                                 0);
	posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int rc = posix_spawnp(pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

double af_e2e_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void af_e2e_nap(void)
{
	struct timespec ts = {0, 10 * 1000 * 1000};
	nanosleep(&ts, NULL);
}

/* How long a child may run before it counts as hung: under ctest's 300 s
 * per test, so that a hang fails with the child's stacks rather than a
 * bare timeout. AF_E2E_CHILD_S overrides it. */
static int child_limit_s(void)
{
	const char *v = getenv("AF_E2E_CHILD_S");
	int n = v ? atoi(v) : 0;
	return n > 0 ? n : 240;
}

/* The stacks of every thread of pid, by gdb when it is installed. */
static char *stacks_of(pid_t pid)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "gdb -p %d -batch -ex 'thread apply all bt' 2>&1", (int)pid);
	FILE *f = popen(cmd, "r");
	size_t cap = 1 << 16, len = 0;
	char *text = malloc(cap);
	if (text == NULL || f == NULL) {
		if (f != NULL)
			pclose(f);
		free(text);
		return strdup("(no stacks: gdb did not start)");
	}
	size_t got;
	while ((got = fread(text + len, 1, cap - 1 - len, f)) > 0) {
		len += got;
		if (len == cap - 1) {
			char *more = realloc(text, cap * 2);
			if (more == NULL)
				break;
			text = more;
			cap *= 2;
		}
	}
	text[len] = '\0';
	pclose(f);
	return text;
}

int af_e2e_wait(pid_t pid, int *status, char **report)
{
	double end = af_e2e_now_s() + child_limit_s();
	int ws;
	*report = NULL;
	for (;;) {
		pid_t got = waitpid(pid, &ws, WNOHANG);
		if (got == pid) {
			*status = exit_status(ws);
			return 0;
		}
		if (got < 0) {
			*status = -1;
			return -1;
		}
		if (af_e2e_now_s() > end)
			break;
		af_e2e_nap();
	}
	char *stacks = stacks_of(pid);
	size_t n = strlen(stacks) + 128;
	*report = malloc(n);
	if (*report != NULL)
		snprintf(*report, n, "pid %d did not exit within %d s; its threads:\n%s", (int)pid,
		         child_limit_s(), stacks);
	free(stacks);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	*status = -1;
	return -1;
}

int af_run_argv(struct af_run *r, const char *stdin_path, const char *const *argv)
{
	memset(r, 0, sizeof(*r));
	char *dir = af_tmpdir();
	if (!dir)
		return -1;
	char out_path[4096], err_path[4096];
	snprintf(out_path, sizeof(out_path), "%s/stdout", dir);
	snprintf(err_path, sizeof(err_path), "%s/stderr", dir);

	pid_t pid;
	int rc = spawn_to(&pid, argv, stdin_path, out_path, err_path);
	if (rc != 0) {
		af_rmdir(dir);
		free(dir);
		return -1;
	}
	char *hang = NULL;
	af_e2e_wait(pid, &r->status, &hang);
	r->out = af_slurp(out_path, NULL);
	r->err = af_slurp(err_path, NULL);
	if (hang != NULL) {
		/* The report after what the child wrote, for the assertion. */
		size_t n = (r->err ? strlen(r->err) : 0) + strlen(hang) + 2;
		char *both = malloc(n);
		if (both != NULL) {
			snprintf(both, n, "%s\n%s", r->err ? r->err : "", hang);
			free(r->err);
			r->err = both;
		}
		free(hang);
	}
	af_rmdir(dir);
	free(dir);
	return 0;
}

int af_run(struct af_run *r, const char *stdin_path, const char *const *args)
{
	const char *argv[64];
	size_t n = 0;
	argv[n++] = AF_BIN;
	for (size_t i = 0; args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return af_run_argv(r, stdin_path, argv);
}

void af_run_free(struct af_run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

long long af_json_int(const char *json, const char *key)
{
	char pat[256];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(json, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	return strtoll(p, NULL, 10);
}

char *af_e2e_dir;

void af_e2e_setup(void)
{
	af_e2e_dir = af_tmpdir();
	if (!af_e2e_dir)
		abort();
}

void af_e2e_teardown(void)
{
	af_rmdir(af_e2e_dir);
	free(af_e2e_dir);
	af_e2e_dir = NULL;
}

const char *af_e2e_path(const char *name)
{
	static char buf[8][4096];
	static unsigned k;
	char *p = buf[k++ % 8];
	snprintf(p, sizeof(buf[0]), "%s/%s", af_e2e_dir, name);
	return p;
}

size_t af_count_lines(const char *s)
{
	size_t n = 0;
	for (; s && *s; s++)
		if (*s == '\n')
			n++;
	return n;
}

/* ---- the broker ---- */

/* Poll until the bootstrap file holds a whole line, which becomes b->addr;
 * -1 if the broker exits first or the deadline passes. */
static int broker_wait_ready(struct af_e2e_broker *b, char *errstr, size_t errstr_size)
{
	double end = af_e2e_now_s() + AF_E2E_BROKER_WAIT_S;

	for (;;) {
		char *addr = af_slurp(af_e2e_path("bootstrap"), NULL);
		if (addr != NULL) {
			size_t len = strlen(addr);
			if (len == 0 || addr[len - 1] != '\n') {
				snprintf(errstr, errstr_size,
				         "the bootstrap file does not hold a whole line: '%s'",
				         addr);
				free(addr);
				return -1;
			}
			addr[len - 1] = '\0';
			b->addr = addr;
			return 0;
		}
		int ws;
		if (waitpid(b->pid, &ws, WNOHANG) == b->pid) {
			b->pid = 0;
			char *err = af_slurp(af_e2e_path("broker.err"), NULL);
			snprintf(errstr, errstr_size,
			         "the broker exited (status %d) before it was ready: %s",
			         exit_status(ws), err ? err : "");
			free(err);
			return -1;
		}
		if (af_e2e_now_s() > end) {
			snprintf(errstr, errstr_size, "no bootstrap file after %d s",
			         AF_E2E_BROKER_WAIT_S);
			return -1;
		}
		af_e2e_nap();
	}
}

/* The value of --control in extra ("--control V" or "--control=V"), or
 * NULL. */
static const char *control_option(const char *const *extra)
{
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
		if (strcmp(extra[i], "--control") == 0)
			return extra[i + 1];
		if (strncmp(extra[i], "--control=", 10) == 0)
			return extra[i] + 10;
	}
	return NULL;
}

/* Append extra (NULL-terminated, or NULL) to argv[0..*n) of cap slots and
 * end it with NULL. Returns 0, or -1 with errstr when they do not fit. */
static int argv_append(const char **argv, size_t *n, size_t cap, const char *const *extra,
                       const char *what, char *errstr, size_t errstr_size)
{
	size_t first = *n;
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
		if (*n == cap - 1) {
			snprintf(errstr, errstr_size, "more %s options than %zu", what, *n - first);
			return -1;
		}
		argv[(*n)++] = extra[i];
	}
	argv[*n] = NULL;
	return 0;
}

int af_e2e_broker_open(struct af_e2e_broker *b, const char *const *extra, char *errstr,
                       size_t errstr_size)
{
	const char *argv[32] = {AF_BIN, "broker", "--bootstrap-file", af_e2e_path("bootstrap")};
	size_t n = 4;
	posix_spawn_file_actions_t fa;
	int rc, in[2] = {-1, -1};
	const char *control = control_option(extra);

	memset(b, 0, sizeof(*b));
	if (argv_append(argv, &n, 32, extra, "broker", errstr, errstr_size) != 0)
		return -1;
	/* Close-on-exec, so that only the broker holds the read end and no
	 * other child (kcat) keeps the write end open. */
	if (control && strcmp(control, "-") == 0 && pipe2(in, O_CLOEXEC) != 0) {
		snprintf(errstr, errstr_size, "pipe: %s", strerror(errno));
		return -1;
	}
	if (control && strcmp(control, "-") != 0 && !(b->ctl_path = strdup(control))) {
		snprintf(errstr, errstr_size, "out of memory");
		return -1;
	}

	posix_spawn_file_actions_init(&fa);
	if (in[0] >= 0)
		posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, af_e2e_path("broker.out"),
	                                 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, af_e2e_path("broker.err"),
	                                 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	rc = posix_spawn(&b->pid, AF_BIN, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (in[0] >= 0) {
		close(in[0]);
		b->ctl_stdin = true;
		b->ctl_fd = in[1];
	}
	if (rc != 0) {
		b->pid = 0;
		snprintf(errstr, errstr_size, "cannot start %s: %s", AF_BIN, strerror(rc));
		af_e2e_broker_close(b);
		return -1;
	}
	if (broker_wait_ready(b, errstr, errstr_size) != 0) {
		af_e2e_broker_close(b);
		return -1;
	}
	/* The broker prints the address before it writes the file. */
	b->out_seen = strlen(b->addr) + 1;
	return 0;
}

int af_e2e_broker_stop(struct af_e2e_broker *b, int sig, int *status, char *errstr,
                       size_t errstr_size)
{
	double end = af_e2e_now_s() + AF_E2E_BROKER_WAIT_S;
	int ws;

	if (b->pid <= 0 || kill(b->pid, sig) != 0) {
		snprintf(errstr, errstr_size, "no broker to stop");
		return -1;
	}
	while (waitpid(b->pid, &ws, WNOHANG) != b->pid) {
		if (af_e2e_now_s() > end) {
			snprintf(errstr, errstr_size, "the broker did not stop within %d s",
			         AF_E2E_BROKER_WAIT_S);
			return -1;
		}
		af_e2e_nap();
	}
	b->pid = 0;
	*status = exit_status(ws);
	return 0;
}

void af_e2e_broker_close(struct af_e2e_broker *b)
{
	if (b->pid > 0) {
		kill(b->pid, SIGKILL);
		waitpid(b->pid, NULL, 0);
	}
	af_e2e_broker_ctl_eof(b);
	free(b->addr);
	free(b->ctl_path);
	memset(b, 0, sizeof(*b));
}

/* -1 with errstr (the broker's stderr) if the broker has exited. */
static int broker_gone(struct af_e2e_broker *b, char *errstr, size_t errstr_size)
{
	int ws;

	if (b->pid > 0 && waitpid(b->pid, &ws, WNOHANG) != b->pid)
		return 0;
	char *err = b->pid > 0 ? af_slurp(af_e2e_path("broker.err"), NULL) : NULL;
	snprintf(errstr, errstr_size, "the broker is not running%s%s", err ? "; it said: " : "",
	         err ? err : "");
	free(err);
	b->pid = 0;
	return -1;
}

/* Write all of line to fd with SIGPIPE held off, so a broker that died
 * makes this fail with EPIPE rather than kill the test. */
static int write_nosigpipe(int fd, const char *line, size_t len)
{
	sigset_t pipe_set, old;
	ssize_t w = 0;
	size_t done = 0;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	while (done < len && ((w = write(fd, line + done, len - done)) > 0 || errno == EINTR))
		done += w > 0 ? (size_t)w : 0;
	int saved = errno;
	if (done < len && saved == EPIPE) {
		struct timespec zero = {0, 0};
		sigtimedwait(&pipe_set, NULL, &zero); /* the pending one, if any */
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return done == len ? 0 : -1;
}

/* Send line to the FIFO: open it as a new writer (the broker reopens its
 * end after each writer, so it may be between two opens: ENXIO, retry),
 * write and close. */
static int ctl_send_fifo(struct af_e2e_broker *b, const char *line, size_t len, char *errstr,
                         size_t errstr_size)
{
	double end = af_e2e_now_s() + AF_E2E_BROKER_WAIT_S;
	int fd;

	while ((fd = open(b->ctl_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		if (errno != ENXIO || af_e2e_now_s() > end) {
			snprintf(errstr, errstr_size, "cannot open %s: %s", b->ctl_path,
			         strerror(errno));
			return -1;
		}
		if (broker_gone(b, errstr, errstr_size) != 0)
			return -1;
		af_e2e_nap();
	}
	int rc = write_nosigpipe(fd, line, len);
	if (rc != 0)
		snprintf(errstr, errstr_size, "write to %s: %s", b->ctl_path, strerror(errno));
	close(fd);
	return rc;
}

/* Wait for the broker's next whole line on stdout after b->out_seen. */
static int ctl_answer(struct af_e2e_broker *b, char *answer, size_t answer_size, char *errstr,
                      size_t errstr_size)
{
	double end = af_e2e_now_s() + AF_E2E_BROKER_WAIT_S;

	for (;;) {
		size_t len = 0;
		char *out = af_slurp(af_e2e_path("broker.out"), &len);
		char *nl = out && len > b->out_seen ? strchr(out + b->out_seen, '\n') : NULL;
		if (nl) {
			snprintf(answer, answer_size, "%.*s", (int)(nl - out - b->out_seen),
			         out + b->out_seen);
			b->out_seen = (size_t)(nl - out) + 1;
			free(out);
			return 0;
		}
		free(out);
		if (broker_gone(b, errstr, errstr_size) != 0)
			return -1;
		if (af_e2e_now_s() > end) {
			snprintf(errstr, errstr_size, "no answer within %d s",
			         AF_E2E_BROKER_WAIT_S);
			return -1;
		}
		af_e2e_nap();
	}
}

int af_e2e_broker_ctl(struct af_e2e_broker *b, const char *command, char *answer,
                      size_t answer_size, char *errstr, size_t errstr_size)
{
	char line[4096];
	int len = snprintf(line, sizeof(line), "%s\n", command);

	if (len < 0 || (size_t)len >= sizeof(line)) {
		snprintf(errstr, errstr_size, "command longer than %zu bytes", sizeof(line) - 2);
		return -1;
	}
	if (b->ctl_stdin && b->ctl_fd >= 0) {
		if (write_nosigpipe(b->ctl_fd, line, (size_t)len) != 0) {
			snprintf(errstr, errstr_size, "write to the broker's stdin: %s",
			         strerror(errno));
			return -1;
		}
	} else if (b->ctl_path) {
		if (ctl_send_fifo(b, line, (size_t)len, errstr, errstr_size) != 0)
			return -1;
	} else {
		snprintf(errstr, errstr_size, "the broker has no control channel (open)");
		return -1;
	}
	return ctl_answer(b, answer, answer_size, errstr, errstr_size);
}

void af_e2e_broker_ctl_eof(struct af_e2e_broker *b)
{
	if (b->ctl_stdin && b->ctl_fd >= 0)
		close(b->ctl_fd);
	b->ctl_fd = -1;
}

/* ---- kcat ---- */

int af_e2e_produce(const char *brokers, const char *topic, const char *path,
                   const char *const *extra, char *errstr, size_t errstr_size)
{
	const char *argv[32] = {"kcat", "-P", "-b", brokers, "-t", topic, "-z", "zstd", "-l", path};
	size_t n = 10;
	struct af_run r;

	if (argv_append(argv, &n, 32, extra, "kcat", errstr, errstr_size) != 0)
		return -1;
	if (af_run_argv(&r, NULL, argv) != 0) {
		snprintf(errstr, errstr_size, "kcat could not be started");
		return -1;
	}
	int rc = r.status == 0 ? 0 : -1;
	if (rc != 0)
		snprintf(errstr, errstr_size, "kcat -P %s (status %d): %s", topic, r.status,
		         r.err ? r.err : "");
	af_run_free(&r);
	return rc;
}

char *af_e2e_consume(const char *brokers, const char *topic, char *errstr, size_t errstr_size)
{
	const char *const argv[] = {"kcat", "-C", "-b", brokers,     "-t", topic,
	                            "-e",   "-q", "-o", "beginning", NULL};
	struct af_run r;

	if (af_run_argv(&r, NULL, argv) != 0) {
		snprintf(errstr, errstr_size, "kcat could not be started");
		return NULL;
	}
	char *out = NULL;
	if (r.status == 0 && r.out != NULL) {
		out = r.out;
		r.out = NULL;
	} else {
		snprintf(errstr, errstr_size, "kcat -C %s (status %d): %s", topic, r.status,
		         r.err ? r.err : "");
	}
	af_run_free(&r);
	return out;
}

/* ---- alerts ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *af_e2e_sorted_lines(const char *text, bool unique)
{
	size_t n = af_count_lines(text), k = 0, len = 0;
	char *copy = strdup(text), **lines = calloc(n ? n : 1, sizeof(*lines));
	char *out = malloc(strlen(text) + 2);
	if (copy == NULL || lines == NULL || out == NULL) {
		free(copy);
		free(lines);
		free(out);
		return NULL;
	}
	for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l != NULL && k < n;
	     l = strtok_r(NULL, "\n", &save))
		lines[k++] = l;
	qsort(lines, k, sizeof(*lines), cmp_str);
	out[0] = '\0';
	for (size_t i = 0; i < k; i++)
		if (!unique || i == 0 || strcmp(lines[i], lines[i - 1]) != 0)
			len += (size_t)sprintf(out + len, "%s\n", lines[i]);
	free(lines);
	free(copy);
	return out;
}

struct af_e2e_stamp af_e2e_stamp_of(const char *path)
{
	struct stat st;
	struct af_e2e_stamp s = {0};

	if (stat(path, &st) == 0) {
		s.there = true;
		s.ino = st.st_ino;
		s.mtime = st.st_mtim;
	}
	return s;
}

bool af_e2e_stamp_same(struct af_e2e_stamp a, struct af_e2e_stamp b)
{
	return a.there == b.there && a.ino == b.ino && a.mtime.tv_sec == b.mtime.tv_sec &&
	       a.mtime.tv_nsec == b.mtime.tv_nsec;
}

char *af_e2e_alert_ids(const char *text)
{
	static const char key[] = "\"id\":\"";
	size_t n = 0, total = 1;
	char **ids = NULL, *out = NULL;

	for (const char *p = text; (p = strstr(p, key)) != NULL; p += sizeof(key) - 1)
		n++;
	if ((ids = calloc(n ? n : 1, sizeof(*ids))) == NULL)
		return NULL;
	const char *p = text;
	for (size_t i = 0; i < n; i++) {
		p = strstr(p, key) + sizeof(key) - 1;
		if ((ids[i] = strndup(p, strcspn(p, "\"\n"))) == NULL)
			goto cleanup;
		total += strlen(ids[i]) + 1;
	}
	qsort(ids, n, sizeof(*ids), cmp_str);
	if ((out = malloc(total)) == NULL)
		goto cleanup;
	char *w = out;
	*w = '\0';
	for (size_t i = 0; i < n; i++)
		w += sprintf(w, "%s\n", ids[i]);
cleanup:
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return out;
}

/* ---- programs in the background ---- */

int af_e2e_spawn(struct af_e2e_proc *p, const char *const *argv, const char *out_path,
                 const char *err_path, char *errstr, size_t errstr_size)
{
	memset(p, 0, sizeof(*p));
	int rc = spawn_to(&p->pid, argv, NULL, out_path, err_path);
	if (rc != 0) {
		p->pid = 0;
		snprintf(errstr, errstr_size, "cannot start %s: %s", argv[0], strerror(rc));
		return -1;
	}
	return 0;
}

bool af_e2e_running(struct af_e2e_proc *p)
{
	int ws;

	if (p->pid <= 0)
		return false;
	if (waitpid(p->pid, &ws, WNOHANG) != p->pid)
		return true;
	p->pid = 0;
	p->status = exit_status(ws);
	return false;
}

int af_e2e_reap(struct af_e2e_proc *p, int timeout_s, char *errstr, size_t errstr_size)
{
	double end = af_e2e_now_s() + timeout_s;

	while (af_e2e_running(p)) {
		if (af_e2e_now_s() > end) {
			snprintf(errstr, errstr_size, "pid %d did not exit within %d s",
			         (int)p->pid, timeout_s);
			return -1;
		}
		af_e2e_nap();
	}
	return 0;
}

void af_e2e_proc_kill(struct af_e2e_proc *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
	}
	p->pid = 0;
}
