/* file.c - cut audit export files into records: inputs, buffer, format.
 *
 * Thread: the source thread (replay); an af_file is not shared.
 * In: a path, "-" (stdin) or a directory; the bytes come through
 * ingest/decompress.c, which undoes gzip and zstd. Out: one record view at
 * a time (see file.h), or a framing failure carried as a record with its
 * reason.
 *
 * DESIGN
 * Steps. The reader is a state machine (ingest/file_impl.h): af_file_next
 * runs the step of the current state until one returns a record, and fills
 * the buffer when one needs more bytes. This file opens the inputs, fills
 * the buffer and detects the format; the steps that cut records are in
 * ingest/file_json.c (JSON values and lines) and ingest/file_csv.c (CSV
 * rows), and ingest/file_record.c applies the size and NUL-byte rules to
 * what they cut.
 *
 * Buffer. One buffer of cap = max(2 * max_record_bytes, 64 KiB) bytes plus
 * padding, made at open. A record being cut starts at `rec`; when the
 * scanner reaches the end of the data, the bytes from `rec` on are moved
 * to the front and the rest of the buffer is filled. If a record still has
 * no end when the buffer is full, it is longer than max_record_bytes: its
 * first 4 KiB are returned as an OVERSIZE record and the scanner goes on
 * over the rest, dropping each buffer-full, so memory does not depend on
 * the input. The scanners keep their state (bracket depth, in-string,
 * escape, CSV quote parity) between fills for that reason.
 *
 * Format. Per file, after an optional UTF-8 BOM and blank space: a '{' or
 * '[' means JSON. Anything else is read as a CSV header; if it names an
 * AuditData column the file is a Purview CSV export, otherwise it is read
 * as JSON (whose lines are then returned as records and rejected by the
 * parser). At each top-level JSON value: '[' yields the elements; '{'
 * whose first key is "records" (any case) holding an array yields that
 * array's elements; anything else is one record.
 */
#include "ingest/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingest/csv.h"
#include "ingest/decompress.h"
#include "ingest/file_impl.h"

#define AF_FILE_DEFAULT_MAX (1024u * 1024)
#define AF_FILE_LIMIT_MAX   (1024u * 1024 * 1024)
#define AF_FILE_MIN_BUF     (64u * 1024)

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
{
	if (!errstr || errstr_size == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errstr, errstr_size, fmt, ap);
	va_end(ap);
}

/* ---- steps: the start of a file, and its format ---- */

static enum af_file_step step_start(struct af_file *f)
{
	const unsigned char *b = (const unsigned char *)f->buf + f->pos;
	if (f->end - f->pos < 3 && !f->eof)
		return STEP_MORE;
	if (f->end - f->pos >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf)
		f->pos += 3;
	f->state = ST_DETECT;
	return STEP_AGAIN;
}

/* Blanks before the first content; then JSON, or a CSV header naming
 * AuditData. */
static enum af_file_step step_detect(struct af_file *f, struct af_record *rec)
{
	char *b = f->buf;
	while (f->pos < f->end) {
		char c = b[f->pos];
		if (c == '\n')
			f->line++;
		else if (c != ' ' && c != '\t' && c != '\r')
			break;
		f->pos++;
	}
	if (f->pos == f->end)
		return af_file_end_of_data(f, rec);
	if (b[f->pos] == '{' || b[f->pos] == '[') {
		f->state = ST_TOP;
		return STEP_AGAIN;
	}
	struct af_csv_scan s;
	af_csv_scan_init(&s);
	const char *nl = af_csv_scan_row(&s, b + f->pos, b + f->end);
	if (!nl && !f->eof && !af_file_no_room(f))
		return STEP_MORE;
	/* A stream cut inside the first row leaves the format unknown: the
	 * rest of the row might have named AuditData (quoted line breaks let
	 * a header span lines) or not. Its bytes are what the cut lost, not
	 * JSON lines nor a header. */
	if (!nl && f->truncated)
		return af_file_emit_truncated(f, rec);
	const char *row_end = nl ? nl : b + f->end;
	size_t len = af_file_trim_end(b + f->pos, (size_t)(row_end - (b + f->pos)));
	long col = nl || f->eof ? af_csv_find_column(b + f->pos, len, "AuditData") : -1;
	if (col < 0) {
		f->state = ST_TOP;
		return STEP_AGAIN;
	}
	af_file_set_format(f, AF_FORMAT_CSV);
	f->audit_col = (size_t)col;
	f->line += s.newlines + (nl ? 1 : 0);
	f->pos = (size_t)(row_end - b) + (nl ? 1 : 0);
	f->state = ST_CSV_ROW;
	return STEP_AGAIN;
}

static enum af_file_step step(struct af_file *f, struct af_record *rec)
{
	switch (f->state) {
	case ST_START: return step_start(f);
	case ST_DETECT: return step_detect(f, rec);
	case ST_TOP: return af_file_step_top(f, rec);
	case ST_LINE: return af_file_step_line(f, rec);
	case ST_VALUE: return af_file_step_value(f, rec);
	case ST_ARRAY: return af_file_step_array(f, rec);
	case ST_ENV_TAIL: return af_file_step_env_tail(f, rec);
	case ST_CSV_ROW: return af_file_step_csv_row(f, rec);
	case ST_SKIP_LINE: return af_file_step_skip_line(f, rec);
	case ST_SKIP_VALUE: return af_file_step_skip_value(f, rec);
	case ST_SKIP_ROW: return af_file_step_skip_row(f, rec);
	case ST_DONE: break;
	}
	return STEP_MORE;
}

/* ---- buffer and files ---- */

/* Keep the bytes still needed, move them to the front, read after them. */
static af_err_t fill(struct af_file *f, char *errstr, size_t errstr_size)
{
	size_t keep = f->in_rec ? f->rec : f->pos;
	if (keep > 0) {
		memmove(f->buf, f->buf + keep, f->end - keep);
		f->end -= keep;
		f->pos -= keep;
		if (f->in_rec)
			f->rec -= keep;
		f->buf_off += keep;
	}
	if (!af_file_no_room(f)) {
		size_t got;
		char msg[512];
		af_err_t err =
		    af_decomp_read(f->dz, f->buf + f->end, f->cap - f->end, &got, msg, sizeof(msg));
		if (err == AF_OK) {
			f->end += got;
		} else if (err == AF_EOF) {
			f->eof = true;
		} else if (err == AF_E_RECORD) {
			/* Reported as a truncated_stream record, not an error. */
			f->eof = true;
			f->truncated = true;
		} else {
			set_err(errstr, errstr_size, "%s", msg);
			f->state = ST_DONE;
			return err;
		}
	}
	f->buf[f->end] = '\0';
	return AF_OK;
}

static void close_current(struct af_file *f)
{
	if (f->fd < 0)
		return;
	f->done_before += af_decomp_consumed(f->dz);
	if (f->own_fd)
		close(f->fd);
	f->fd = -1;
}

/* Close the file being read and open the next; AF_EOF when none is left. */
static af_err_t open_next(struct af_file *f, char *errstr, size_t errstr_size)
{
	close_current(f);
	if (f->next == f->npaths)
		return AF_EOF;
	const char *path = f->paths[f->next++];
	f->path = path;
	if (strcmp(path, "-") == 0) {
		f->fd = STDIN_FILENO;
		f->own_fd = false;
	} else {
		f->fd = open(path, O_RDONLY | O_CLOEXEC);
		f->own_fd = true;
		if (f->fd < 0) {
			set_err(errstr, errstr_size, "%s: %s", path, strerror(errno));
			return AF_E_IO;
		}
	}
	f->pos = f->end = f->rec = 0;
	f->buf[0] = '\0';
	f->buf_off = 0;
	f->line = 1;
	f->in_rec = f->eof = f->truncated = f->probe = false;
	f->mode = MODE_UNDECIDED;
	f->state = ST_START;
	char msg[256];
	af_err_t err = af_decomp_reset(f->dz, f->fd, path, msg, sizeof(msg));
	if (err != AF_OK) {
		set_err(errstr, errstr_size, "%s", msg);
		close_current(f);
		f->state = ST_DONE;
	}
	return err;
}

static int cmp_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directory's regular, non-hidden files, sorted. Paths share the
 * prefix "dir/", so sorting them sorts the names. */
static af_err_t list_dir(struct af_file *f, const char *dir, char *errstr, size_t errstr_size)
{
	af_err_t err = AF_E_IO;
	size_t cap = 0;
	size_t dlen = strlen(dir);
	const char *sep = dlen > 0 && dir[dlen - 1] == '/' ? "" : "/";
	DIR *d = opendir(dir);
	if (!d) {
		set_err(errstr, errstr_size, "%s: %s", dir, strerror(errno));
		return AF_E_IO;
	}
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno) {
				set_err(errstr, errstr_size, "%s: %s", dir, strerror(errno));
				goto cleanup;
			}
			break;
		}
		struct stat st;
		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, 0) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (f->npaths == cap) {
			cap = cap ? cap * 2 : 16;
			char **p = realloc(f->paths, cap * sizeof(*p));
			if (!p)
				goto nomem;
			f->paths = p;
		}
		size_t n = dlen + strlen(sep) + strlen(de->d_name) + 1;
		char *path = malloc(n);
		if (!path)
			goto nomem;
		snprintf(path, n, "%s%s%s", dir, sep, de->d_name);
		f->paths[f->npaths++] = path;
		f->total += (uint64_t)st.st_size;
	}
	if (f->npaths == 0) {
		set_err(errstr, errstr_size, "%s: the directory holds no regular files", dir);
		goto cleanup;
	}
	qsort(f->paths, f->npaths, sizeof(*f->paths), cmp_paths);
	err = AF_OK;
	goto cleanup;
nomem:
	set_err(errstr, errstr_size, "%s: out of memory listing the directory", dir);
	err = AF_E_NOMEM;
cleanup:
	closedir(d);
	return err;
}

struct af_file *af_file_open(const char *path, const struct af_file_opts *opts, char *errstr,
                             size_t errstr_size)
{
	struct af_file *f = calloc(1, sizeof(*f));
	if (!f) {
		set_err(errstr, errstr_size, "%s: out of memory", path);
		return NULL;
	}
	f->fd = -1;
	f->max = opts && opts->max_record_bytes ? opts->max_record_bytes : AF_FILE_DEFAULT_MAX;
	f->input = opts ? opts->input : 0;
	if (f->max > AF_FILE_LIMIT_MAX) {
		set_err(errstr, errstr_size, "%s: max_record_bytes %zu is over the limit of %u",
		        path, f->max, AF_FILE_LIMIT_MAX);
		goto fail;
	}

	bool is_stdin = strcmp(path, "-") == 0;
	struct stat st = {0};
	if (!is_stdin && stat(path, &st) != 0) {
		set_err(errstr, errstr_size, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!is_stdin && S_ISDIR(st.st_mode)) {
		if (list_dir(f, path, errstr, errstr_size) != AF_OK)
			goto fail;
	} else {
		f->paths = calloc(1, sizeof(*f->paths));
		if (!f->paths || !(f->paths[0] = strdup(path)))
			goto nomem;
		f->npaths = 1;
		if (!is_stdin && S_ISREG(st.st_mode))
			f->total = (uint64_t)st.st_size;
	}

	f->cap = 2 * f->max < AF_FILE_MIN_BUF ? AF_FILE_MIN_BUF : 2 * f->max;
	/* Zeroed, so the padding after a record never holds uninitialised
	 * bytes. */
	f->buf = calloc(1, f->cap + AF_FILE_PADDING);
	f->scratch = calloc(1, f->max + AF_FILE_PADDING);
	f->dz = af_decomp_new();
	if (!f->buf || !f->scratch || !f->dz)
		goto nomem;
	if (open_next(f, errstr, errstr_size) != AF_OK)
		goto fail;
	return f;
nomem:
	set_err(errstr, errstr_size, "%s: out of memory", path);
fail:
	af_file_close(f);
	return NULL;
}

af_err_t af_file_next(struct af_file *f, struct af_record *rec, char *errstr, size_t errstr_size)
{
	for (;;) {
		if (f->state == ST_DONE) {
			af_err_t err = open_next(f, errstr, errstr_size);
			if (err != AF_OK)
				return err;
			continue;
		}
		enum af_file_step r = step(f, rec);
		if (r == STEP_GOT) {
			rec->path = f->path;
			rec->input = f->input;
			return AF_OK;
		}
		if (r == STEP_MORE) {
			af_err_t err = fill(f, errstr, errstr_size);
			if (err != AF_OK)
				return err;
		}
	}
}

enum af_file_format af_file_format(const struct af_file *f)
{
	return f->format;
}

void af_file_progress(const struct af_file *f, uint64_t *done, uint64_t *total)
{
	*done = f->done_before + (f->fd >= 0 ? af_decomp_consumed(f->dz) : 0);
	*total = f->total;
}

void af_file_close(struct af_file *f)
{
	if (!f)
		return;
	close_current(f);
	for (size_t i = 0; i < f->npaths; i++)
		free(f->paths[i]);
	free(f->paths);
	free(f->buf);
	free(f->scratch);
	af_decomp_free(f->dz);
	free(f);
}
