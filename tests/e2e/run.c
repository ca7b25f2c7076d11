/* run.c - helpers for end-to-end tests; see run.h. Linked into each e2e
 * test executable by tests/CMakeLists.txt. */
#include "run.h"

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

int af_run_argv(struct af_run *r, const char *stdin_path, const char *const *argv)
{
	memset(r, 0, sizeof(*r));
	char *dir = af_tmpdir();
	if (!dir)
		return -1;
	char out_path[4096], err_path[4096];
	snprintf(out_path, sizeof(out_path), "%s/stdout", dir);
	snprintf(err_path, sizeof(err_path), "%s/stderr", dir);

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, stdin_path ? stdin_path : "/dev/null", O_RDONLY,
	                                 0);
	posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		af_rmdir(dir);
		free(dir);
		return -1;
	}
	int ws;
	waitpid(pid, &ws, 0);
	r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	r->out = af_slurp(out_path, NULL);
	r->err = af_slurp(err_path, NULL);
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
