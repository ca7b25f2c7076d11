/* jsonw.c - the JSON text writer: buffering, escaping, numbers, UTF-8.
 *
 * Thread: the thread that owns the writer. In: values. Out: JSON text in the
 * writer's buffer and, with a FILE, in the file.
 *
 * DESIGN: every append goes through one bounds check against `limit`. On
 * overflow without a FILE, limit is pulled down to len, so every later
 * append fails the check too and the buffer stays a clean prefix; reset puts
 * limit back. A string or key that fits even at worst-case expansion (6
 * output bytes per input byte) is escaped straight into the buffer in one
 * pass that copies 8 plain ASCII bytes per step (a SWAR test for control,
 * quote, backslash and high-bit bytes); longer ones go in chunks cut at
 * character boundaries, and the last bytes of a fixed buffer are filled
 * exactly, one piece at a time, so overflow is reported only when the text
 * really does not fit.
 * Rotation is checked only where a line ends (af_jsonw_end_line, and each
 * line of af_jsonw_write_lines), never in the drain, which may run in the
 * middle of a value: the whole buffer is written out first, so the file
 * being renamed ends with the line that reached the size.
 * Opening to append cuts the file back to its last '\n' rather than
 * completing or skipping the partial line: a line is only ever unfinished
 * when the process died in a write, the resumed run raises everything after
 * its checkpoint again, so the cut record comes back whole, and the file is
 * valid JSON Lines from its first byte to its last.
 */
#include "sinks/jsonw.h"

#include "pipeline/utf8.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AF_JSONW_DEFAULT_BUF (64 * 1024)

static const char af_jsonw_hex[] = "0123456789abcdef";

void af_jsonw_init(struct af_jsonw *w, char *buf, size_t size, FILE *out)
{
	assert(size >= AF_JSONW_MIN_BUF);
	memset(w, 0, sizeof *w);
	w->buf = buf;
	w->size = size;
	w->limit = size;
	w->out = out;
}

/* Write the buffer to out and empty it. After a failed write the text is
 * dropped: the file is already incomplete and keeping the bytes would only
 * stall the writer. */
static void af_jsonw_drain(struct af_jsonw *w)
{
	if (w->len == 0)
		return;
	if (!(w->flags & AF_JSONW_IO_ERROR)) {
		errno = 0;
		size_t n = fwrite(w->buf, 1, w->len, w->out);
		w->written += n;
		w->file_bytes += n;
		if (n != w->len) {
			w->flags |= AF_JSONW_IO_ERROR;
			w->io_errno = errno ? errno : EIO;
		}
	}
	w->len = 0;
}

/* Slow path of af_jsonw_room: make n bytes available, or freeze the buffer.
 * n is at most AF_JSONW_MIN_BUF, so an empty buffer always has room. */
static bool af_jsonw_make_room(struct af_jsonw *w, size_t n)
{
	if (w->out == NULL) {
		w->flags |= AF_JSONW_OVERFLOW;
		w->limit = w->len;
		return false;
	}
	af_jsonw_drain(w);
	return n <= w->limit;
}

static inline bool af_jsonw_room(struct af_jsonw *w, size_t n)
{
	return w->limit - w->len >= n || af_jsonw_make_room(w, n);
}

static inline void af_jsonw_putc(struct af_jsonw *w, char c)
{
	if (af_jsonw_room(w, 1))
		w->buf[w->len++] = c;
}

/* Append s[0..n), in pieces when it is larger than the space left. */
static void af_jsonw_put(struct af_jsonw *w, const char *s, size_t n)
{
	while (n > w->limit - w->len) {
		size_t k = w->limit - w->len;
		memcpy(w->buf + w->len, s, k);
		w->len += k;
		s += k;
		n -= k;
		if (!af_jsonw_make_room(w, 1))
			return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

/* The comma (or nothing) before a value. */
static inline void af_jsonw_sep(struct af_jsonw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->need_comma && w->depth > 0)
		af_jsonw_putc(w, ',');
}

void af_jsonw_reset(struct af_jsonw *w)
{
	w->len = 0;
	w->limit = w->size;
	w->depth = 0;
	w->need_comma = false;
	w->after_key = false;
	w->flags &= AF_JSONW_IO_ERROR;
}

af_err_t af_jsonw_flush(struct af_jsonw *w)
{
	if (w->out == NULL)
		return AF_OK;
	af_jsonw_drain(w);
	if (!(w->flags & AF_JSONW_IO_ERROR) && fflush(w->out) != 0) {
		w->flags |= AF_JSONW_IO_ERROR;
		w->io_errno = errno ? errno : EIO;
	}
	return (w->flags & AF_JSONW_IO_ERROR) ? AF_E_IO : AF_OK;
}

/* Fail the writer as a failed write does, remembering it was a rotation. */
static void af_jsonw_rotate_fail(struct af_jsonw *w, int err)
{
	w->flags |= AF_JSONW_IO_ERROR;
	w->io_errno = err;
	w->rotate_failed = true;
}

/* PATH.n into buf, or false when it does not fit. */
static bool af_jsonw_rotated_name(const struct af_jsonw *w, uint32_t n, char *buf, size_t size)
{
	int len = snprintf(buf, size, "%s.%u", w->path, n);
	return len > 0 && (size_t)len < size;
}

/* Shift PATH.1.. up by one (PATH.keep is replaced), rename PATH to PATH.1
 * and open PATH afresh. The buffer is written out first, so the old file
 * ends where the caller's last line ended. On failure the writer keeps the
 * FILE it has and fails: nothing already written is lost. */
static void af_jsonw_rotate(struct af_jsonw *w)
{
	char from[PATH_MAX + 16], to[PATH_MAX + 16];
	FILE *f;

	af_jsonw_drain(w);
	if (w->flags & AF_JSONW_IO_ERROR)
		return;
	for (uint32_t i = w->rotate_keep; i > 1; i--) {
		if (!af_jsonw_rotated_name(w, i - 1, from, sizeof from) ||
		    !af_jsonw_rotated_name(w, i, to, sizeof to)) {
			af_jsonw_rotate_fail(w, ENAMETOOLONG);
			return;
		}
		if (rename(from, to) != 0 && errno != ENOENT) {
			af_jsonw_rotate_fail(w, errno);
			return;
		}
	}
	if (!af_jsonw_rotated_name(w, 1, to, sizeof to)) {
		af_jsonw_rotate_fail(w, ENAMETOOLONG);
		return;
	}
	if (rename(w->path, to) != 0) {
		af_jsonw_rotate_fail(w, errno);
		return;
	}
	f = fopen(w->path, "we");
	if (f == NULL) {
		af_jsonw_rotate_fail(w, errno);
		return;
	}
	setvbuf(f, NULL, _IONBF, 0);
	/* Unbuffered and drained: the close has nothing left to write. */
	fclose(w->out);
	w->out = f;
	w->file_bytes = 0;
}

/* After a line: rotate when the file with what is buffered reaches the
 * size. */
static inline void af_jsonw_rotate_check(struct af_jsonw *w)
{
	if (w->rotate_bytes != 0 && w->file_bytes + w->len >= w->rotate_bytes)
		af_jsonw_rotate(w);
}

bool af_jsonw_rotate_by_size(struct af_jsonw *w, uint64_t max_bytes, uint32_t keep)
{
	struct stat open_st, path_st;

	assert(keep >= 1);
	w->rotate_bytes = 0;
	/* The path must still name the file written (lstat: not through a
	 * symbolic link such as /dev/stdout), or a rename would move
	 * something else. */
	if (max_bytes == 0 || !w->owned || strcmp(w->path, "-") == 0 ||
	    fstat(fileno(w->out), &open_st) != 0 || !S_ISREG(open_st.st_mode) ||
	    lstat(w->path, &path_st) != 0 || !S_ISREG(path_st.st_mode) ||
	    path_st.st_dev != open_st.st_dev || path_st.st_ino != open_st.st_ino)
		return false;
	w->rotate_bytes = max_bytes;
	w->rotate_keep = keep;
	return true;
}

af_err_t af_jsonw_write_lines(struct af_jsonw *w, const char *text, size_t len)
{
	assert(w->depth == 0 && !w->after_key);
	while (len > 0 && w->rotate_bytes != 0) {
		uint64_t have = w->file_bytes + w->len;
		/* The line that reaches the size ends at or after from. */
		uint64_t from = have >= w->rotate_bytes ? 0 : w->rotate_bytes - have - 1;
		const char *nl;

		if (from >= len || (nl = memchr(text + from, '\n', len - (size_t)from)) == NULL)
			break;
		size_t n = (size_t)(nl - text) + 1;
		af_jsonw_put(w, text, n);
		af_jsonw_rotate(w);
		text += n;
		len -= n;
	}
	af_jsonw_put(w, text, len);
	w->need_comma = false;
	return af_jsonw_flush(w);
}

af_err_t af_jsonw_end_line(struct af_jsonw *w)
{
	assert(w->depth == 0 && !w->after_key);
	af_jsonw_putc(w, '\n');
	w->need_comma = false;
	af_jsonw_rotate_check(w);
	if (w->out != NULL && w->len >= w->size / 2)
		af_jsonw_drain(w);
	if (w->flags & AF_JSONW_IO_ERROR)
		return AF_E_IO;
	if (w->flags & AF_JSONW_OVERFLOW)
		return AF_E_INVALID;
	return AF_OK;
}

/* Standard output through a descriptor of our own, so closing the writer
 * leaves stdout open; stdio's pending output goes first to keep the order. */
static FILE *af_jsonw_fopen_stdout(char *errstr, size_t errstr_size)
{
	FILE *f = NULL;
	int fd;

	fflush(stdout);
	fd = dup(STDOUT_FILENO);
	if (fd >= 0) {
		f = fdopen(fd, "w");
		if (f == NULL) {
			int saved = errno;
			close(fd);
			errno = saved;
		}
	}
	if (f == NULL)
		snprintf(errstr, errstr_size, "cannot write to standard output: %s",
		         strerror(errno));
	return f;
}

static FILE *af_jsonw_fopen_truncate(const char *path, char *errstr, size_t errstr_size)
{
	FILE *f = fopen(path, "we");

	if (f == NULL)
		snprintf(errstr, errstr_size, "cannot open %s for writing: %s", path,
		         strerror(errno));
	return f;
}

/* *end gets the length of the first size bytes of fd up to and including
 * the last '\n' among them (0 when there is none), read backwards a chunk
 * at a time. False with errno set when a read fails or comes up short (the
 * file shrank under us). */
static bool af_jsonw_last_line_end(int fd, uint64_t size, uint64_t *end)
{
	char chunk[4096];
	uint64_t pos = size;
	const char *nl;

	while (pos > 0) {
		size_t n = pos < sizeof chunk ? (size_t)pos : sizeof chunk;
		ssize_t got;

		pos -= n;
		do
			got = pread(fd, chunk, n, (off_t)pos);
		while (got < 0 && errno == EINTR);
		if (got != (ssize_t)n) {
			if (got >= 0)
				errno = EIO;
			return false;
		}
		nl = memrchr(chunk, '\n', n);
		if (nl != NULL) {
			*end = pos + (uint64_t)(nl - chunk) + 1;
			return true;
		}
	}
	*end = 0;
	return true;
}

/* Open path to append to it, created if missing. A regular file loses the
 * bytes after its last '\n' (*cut gets their count, *kept what stays);
 * anything else is opened as af_jsonw_fopen_truncate opens it, nothing cut.
 * DESIGN: the file is stat'ed before it is opened because reading the tail
 * needs O_RDWR, and O_RDWR on a FIFO neither waits for a reader nor sees
 * one leave, which would change what writing to a pipe means. */
static FILE *af_jsonw_fopen_append(const char *path, uint64_t *kept, uint64_t *cut, char *errstr,
                                   size_t errstr_size)
{
	struct stat st;
	uint64_t end;
	FILE *f = NULL;
	int fd = -1;

	*kept = 0;
	*cut = 0;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return af_jsonw_fopen_truncate(path, errstr, errstr_size);
	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
	if (fd < 0) {
		snprintf(errstr, errstr_size, "cannot open %s for appending: %s", path,
		         strerror(errno));
		goto cleanup;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(errstr, errstr_size, "cannot stat %s: %s", path, strerror(errno));
		goto cleanup;
	}
	/* Not regular only if the path was swapped since the stat: write to
	 * what was opened, as for any other non-regular file. */
	if (S_ISREG(st.st_mode)) {
		if (!af_jsonw_last_line_end(fd, (uint64_t)st.st_size, &end)) {
			snprintf(errstr, errstr_size, "cannot read the end of %s: %s", path,
			         strerror(errno));
			goto cleanup;
		}
		if (end < (uint64_t)st.st_size && ftruncate(fd, (off_t)end) != 0) {
			snprintf(errstr, errstr_size, "cannot cut the partial last line of %s: %s",
			         path, strerror(errno));
			goto cleanup;
		}
		*kept = end;
		*cut = (uint64_t)st.st_size - end;
	}
	f = fdopen(fd, "a");
	if (f == NULL) {
		snprintf(errstr, errstr_size, "cannot open %s for appending: %s", path,
		         strerror(errno));
		goto cleanup;
	}
	fd = -1;

cleanup:;
	int saved = errno;
	if (fd >= 0)
		close(fd);
	errno = saved;
	return f;
}

/* af_jsonw_open and af_jsonw_open_append: they differ only in how a path
 * other than "-" is opened. */
static struct af_jsonw *af_jsonw_open_mode(const char *path, size_t buf_size, bool append,
                                           uint64_t *cut, char *errstr, size_t errstr_size)
{
	struct af_jsonw *ret = NULL, *w = NULL;
	uint64_t kept = 0, cut_bytes = 0;
	char *buf = NULL, *copy = NULL;
	FILE *f = NULL;

	if (buf_size == 0)
		buf_size = AF_JSONW_DEFAULT_BUF;
	if (buf_size < AF_JSONW_MIN_BUF)
		buf_size = AF_JSONW_MIN_BUF;

	if (strcmp(path, "-") == 0)
		f = af_jsonw_fopen_stdout(errstr, errstr_size);
	else if (append)
		f = af_jsonw_fopen_append(path, &kept, &cut_bytes, errstr, errstr_size);
	else
		f = af_jsonw_fopen_truncate(path, errstr, errstr_size);
	if (f == NULL)
		goto cleanup;
	setvbuf(f, NULL, _IONBF, 0);

	w = calloc(1, sizeof *w);
	buf = malloc(buf_size);
	copy = strdup(path);
	if (w == NULL || buf == NULL || copy == NULL) {
		snprintf(errstr, errstr_size, "out of memory opening %s", path);
		goto cleanup;
	}
	af_jsonw_init(w, buf, buf_size, f);
	w->owned = true;
	w->path = copy;
	w->file_bytes = kept;
	if (cut != NULL)
		*cut = cut_bytes;
	ret = w;
	w = NULL;
	buf = NULL;
	copy = NULL;
	f = NULL;

cleanup:;
	int saved = errno;
	if (f != NULL)
		fclose(f);
	free(w);
	free(buf);
	free(copy);
	errno = saved;
	return ret;
}

struct af_jsonw *af_jsonw_open(const char *path, size_t buf_size, char *errstr, size_t errstr_size)
{
	return af_jsonw_open_mode(path, buf_size, false, NULL, errstr, errstr_size);
}

struct af_jsonw *af_jsonw_open_append(const char *path, size_t buf_size, uint64_t *cut,
                                      char *errstr, size_t errstr_size)
{
	return af_jsonw_open_mode(path, buf_size, true, cut, errstr, errstr_size);
}

af_err_t af_jsonw_close(struct af_jsonw *w, char *errstr, size_t errstr_size)
{
	af_err_t err = AF_OK;

	if (w == NULL)
		return AF_OK;
	assert(w->owned);
	af_jsonw_drain(w);
	if (w->flags & AF_JSONW_IO_ERROR) {
		err = AF_E_IO;
		snprintf(errstr, errstr_size, "cannot %s %s: %s",
		         w->rotate_failed ? "rotate" : "write to", w->path, strerror(w->io_errno));
	}
	if (fclose(w->out) != 0 && err == AF_OK) {
		err = AF_E_IO;
		snprintf(errstr, errstr_size, "cannot close %s: %s", w->path, strerror(errno));
	}
	free(w->buf);
	free(w->path);
	free(w);
	return err;
}

void af_jsonw_object_begin(struct af_jsonw *w)
{
	af_jsonw_sep(w);
	af_jsonw_putc(w, '{');
	if (++w->depth > AF_JSONW_MAX_DEPTH)
		w->flags |= AF_JSONW_TOO_DEEP;
	w->need_comma = false;
}

void af_jsonw_object_end(struct af_jsonw *w)
{
	assert(w->depth > 0 && !w->after_key);
	af_jsonw_putc(w, '}');
	w->depth--;
	w->need_comma = true;
}

void af_jsonw_array_begin(struct af_jsonw *w)
{
	af_jsonw_sep(w);
	af_jsonw_putc(w, '[');
	if (++w->depth > AF_JSONW_MAX_DEPTH)
		w->flags |= AF_JSONW_TOO_DEEP;
	w->need_comma = false;
}

void af_jsonw_array_end(struct af_jsonw *w)
{
	assert(w->depth > 0 && !w->after_key);
	af_jsonw_putc(w, ']');
	w->depth--;
	w->need_comma = true;
}

/* ---- UTF-8 ---- */

#define AF_ONES  0x0101010101010101ull
#define AF_HIGHS 0x8080808080808080ull

/* True if none of the 8 bytes of x needs care in a JSON string: no control
 * byte, quote, backslash or byte >= 0x80. Each term is the classic
 * "has a byte less than n" / "has a zero byte" test; `| x` adds high bits. */
static inline bool af_jsonw_word_plain(uint64_t x)
{
	uint64_t q = x ^ (AF_ONES * '"');
	uint64_t b = x ^ (AF_ONES * '\\');
	uint64_t t = ((x - AF_ONES * 0x20) & ~x) | ((q - AF_ONES) & ~q) | ((b - AF_ONES) & ~b) | x;
	return (t & AF_HIGHS) == 0;
}

/* 1 for bytes copied into a string as they are: printable ASCII but quote
 * and backslash. One load instead of four compares on the byte path. */
static const uint8_t af_jsonw_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 10 */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 20 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 30 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 40 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 50 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 60 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 70 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 80 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 90 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* a0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* b0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* c0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* d0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* e0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* f0 */
};

static inline bool af_jsonw_byte_plain(uint8_t c)
{
	return af_jsonw_plain[c];
}

/* Bytes at the start of s[0..len) that can be copied into a string as is. */
static size_t af_jsonw_plain_run(const char *s, size_t len)
{
	size_t i = 0;
	uint64_t x;

	while (i + 8 <= len) {
		memcpy(&x, s + i, 8);
		if (!af_jsonw_word_plain(x))
			break;
		i += 8;
	}
	while (i < len && af_jsonw_byte_plain((uint8_t)s[i]))
		i++;
	return i;
}

/* Length of the well-formed sequence (RFC 3629, table 3-7 of Unicode) that
 * starts s[0..len) with a byte >= 0x80, or 0 if there is none. */
static size_t af_jsonw_utf8_seq(const uint8_t *s, size_t len)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xBF;

	if (c < 0xC2)
		return 0;
	if (c < 0xE0)
		return len >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c < 0xF0) {
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
		if (len < 3 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80)
			return 0;
		return 3;
	}
	if (c < 0xF5) {
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
		if (len < 4 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80 ||
		    (s[3] & 0xC0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

bool af_jsonw_utf8_valid(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, n;
	uint64_t x;

	while (i < len) {
		if (i + 8 <= len) {
			memcpy(&x, p + i, 8);
			if ((x & AF_HIGHS) == 0) {
				i += 8;
				continue;
			}
		}
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = af_jsonw_utf8_seq(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/* ---- strings ---- */

/* The escape of c (a control byte, quote or backslash) at p; returns the
 * end. At most 6 bytes. */
static inline char *af_jsonw_escape_byte(char *p, uint8_t c)
{
	*p++ = '\\';
	switch (c) {
	case '"': *p++ = '"'; break;
	case '\\': *p++ = '\\'; break;
	case '\b': *p++ = 'b'; break;
	case '\f': *p++ = 'f'; break;
	case '\n': *p++ = 'n'; break;
	case '\r': *p++ = 'r'; break;
	case '\t': *p++ = 't'; break;
	default:
		memcpy(p, "u00", 3);
		p[3] = af_jsonw_hex[c >> 4];
		p[4] = af_jsonw_hex[c & 0xf];
		p += 5;
		break;
	}
	return p;
}

/* One character at s[0..len) that is not plain: an escape, a valid
 * multi-byte sequence, or U+FFFD for an invalid byte. Writes at *p and
 * returns the input bytes used. */
static size_t af_jsonw_escape_char(char **p, const char *s, size_t len, size_t *replaced)
{
	uint8_t c = (uint8_t)s[0];
	size_t n;

	if (c < 0x80) {
		*p = af_jsonw_escape_byte(*p, c);
		return 1;
	}
	n = af_jsonw_utf8_seq((const uint8_t *)s, len);
	if (n > 0) {
		memcpy(*p, s, n);
		*p += n;
		return n;
	}
	memcpy(*p, "\xEF\xBF\xBD", 3);
	*p += 3;
	(*replaced)++;
	return 1;
}

/* Escape s[0..len) straight into p, which has room for 6 * len bytes (the
 * worst case: every byte a \u00XX). Returns the end; adds the bytes
 * replaced by U+FFFD to *replaced. */
static char *af_jsonw_escape_into(char *p, const char *s, size_t len, size_t *replaced)
{
	char *start = p;
	size_t i = 0;
	uint64_t x;

	while (i < len) {
		if (len - i >= 8) {
			memcpy(&x, s + i, 8);
			if (af_jsonw_word_plain(x)) {
				memcpy(p, &x, 8);
				p += 8;
				i += 8;
				continue;
			}
		} else if (len >= 8 && (size_t)(p - start) == i) {
			/* A short tail after verbatim output (escapes always
			 * lengthen it): test the last 8 bytes, overlapping what was
			 * copied, and store them over the same place. */
			memcpy(&x, s + len - 8, 8);
			if (af_jsonw_word_plain(x)) {
				p += len - i;
				memcpy(p - 8, &x, 8);
				return p;
			}
		}
		if (af_jsonw_byte_plain((uint8_t)s[i]))
			*p++ = s[i++];
		else
			i += af_jsonw_escape_char(&p, s + i, len - i, replaced);
	}
	return p;
}

/* Room for len input bytes at worst-case expansion plus extra bytes. */
static inline bool af_jsonw_fits(const struct af_jsonw *w, size_t len, size_t extra)
{
	size_t room = w->limit - w->len;

	return room >= extra && (room - extra) / 6 >= len;
}

/* The exact, byte-at-a-time path, for the tail of a fixed buffer where the
 * worst-case reservation would report overflow too early. */
static size_t af_jsonw_escape_tail(struct af_jsonw *w, const char *s, size_t len)
{
	size_t i = 0, run, n, replaced = 0;
	char e[6];

	while (i < len) {
		run = af_jsonw_plain_run(s + i, len - i);
		af_jsonw_put(w, s + i, run);
		i += run;
		if (i == len)
			break;
		if ((uint8_t)s[i] < 0x80) {
			af_jsonw_put(w, e, (size_t)(af_jsonw_escape_byte(e, (uint8_t)s[i]) - e));
			i++;
			continue;
		}
		n = af_jsonw_utf8_seq((const uint8_t *)s + i, len - i);
		if (n > 0) {
			af_jsonw_put(w, s + i, n);
			i += n;
		} else {
			af_jsonw_put(w, "\xEF\xBF\xBD", 3);
			replaced++;
			i++;
		}
	}
	return replaced;
}

/* The body of a string (no quotes), in chunks that fit at worst-case
 * expansion, cut at character boundaries. Returns the bytes replaced. */
static size_t af_jsonw_escape(struct af_jsonw *w, const char *s, size_t len)
{
	size_t i = 0, k, room, replaced = 0;

	while (i < len) {
		room = (w->limit - w->len) / 6;
		k = len - i;
		if (k <= room || room >= 4) {
			/* A chunk of at least 4 bytes always holds a whole character. */
			if (k > room)
				k = af_utf8_cut(s + i, len - i, room);
			char *end = af_jsonw_escape_into(w->buf + w->len, s + i, k, &replaced);
			w->len = (size_t)(end - w->buf);
			i += k;
		} else if (w->out != NULL) {
			af_jsonw_drain(w);
		} else {
			replaced += af_jsonw_escape_tail(w, s + i, len - i);
			break;
		}
	}
	return replaced;
}

void af_jsonw_key_len(struct af_jsonw *w, const char *key, size_t len)
{
	size_t replaced = 0;

	assert(w->depth > 0 && !w->after_key);
	if (af_jsonw_fits(w, len, 4)) {
		char *p = w->buf + w->len;
		if (w->need_comma)
			*p++ = ',';
		*p++ = '"';
		p = af_jsonw_escape_into(p, key, len, &replaced);
		*p++ = '"';
		*p++ = ':';
		w->len = (size_t)(p - w->buf);
	} else {
		if (w->need_comma)
			af_jsonw_putc(w, ',');
		af_jsonw_putc(w, '"');
		replaced = af_jsonw_escape(w, key, len);
		af_jsonw_put(w, "\":", 2);
	}
	if (replaced > 0)
		w->flags |= AF_JSONW_REPLACED;
	w->after_key = true;
	w->need_comma = true;
}

size_t af_jsonw_string_len(struct af_jsonw *w, const char *s, size_t len)
{
	size_t replaced = 0;

	if (af_jsonw_fits(w, len, 3)) {
		char *p = w->buf + w->len;
		if (w->after_key)
			w->after_key = false;
		else if (w->need_comma && w->depth > 0)
			*p++ = ',';
		*p++ = '"';
		p = af_jsonw_escape_into(p, s, len, &replaced);
		*p++ = '"';
		w->len = (size_t)(p - w->buf);
	} else {
		af_jsonw_sep(w);
		af_jsonw_putc(w, '"');
		replaced = af_jsonw_escape(w, s, len);
		af_jsonw_putc(w, '"');
	}
	if (replaced > 0)
		w->flags |= AF_JSONW_REPLACED;
	w->need_comma = true;
	return replaced;
}

void af_jsonw_base64(struct af_jsonw *w, const void *data, size_t len)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *p = data;
	char out[64];
	size_t n = 0;
	uint32_t v;

	af_jsonw_sep(w);
	af_jsonw_putc(w, '"');
	for (; len >= 3; p += 3, len -= 3) {
		v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
		out[n++] = alphabet[v >> 18];
		out[n++] = alphabet[(v >> 12) & 63];
		out[n++] = alphabet[(v >> 6) & 63];
		out[n++] = alphabet[v & 63];
		if (n == sizeof out) {
			af_jsonw_put(w, out, n);
			n = 0;
		}
	}
	if (len > 0) {
		v = (uint32_t)p[0] << 16 | (len == 2 ? (uint32_t)p[1] << 8 : 0);
		out[n++] = alphabet[v >> 18];
		out[n++] = alphabet[(v >> 12) & 63];
		out[n++] = len == 2 ? alphabet[(v >> 6) & 63] : '=';
		out[n++] = '=';
	}
	af_jsonw_put(w, out, n);
	af_jsonw_putc(w, '"');
	w->need_comma = true;
}

/* ---- numbers ---- */

/* Decimal digits of v into out (>= 20 bytes); returns the count. */
static size_t af_jsonw_fmt_u64(char *out, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/* A number's text, with its comma. @pre len <= AF_JSONW_MIN_BUF. */
static void af_jsonw_number(struct af_jsonw *w, const char *text, size_t len)
{
	af_jsonw_sep(w);
	if (af_jsonw_room(w, len)) {
		memcpy(w->buf + w->len, text, len);
		w->len += len;
	}
	w->need_comma = true;
}

void af_jsonw_uint(struct af_jsonw *w, uint64_t v)
{
	char text[24];

	af_jsonw_number(w, text, af_jsonw_fmt_u64(text, v));
}

void af_jsonw_int(struct af_jsonw *w, int64_t v)
{
	char text[24];
	size_t n = 0;

	if (v < 0) {
		text[n++] = '-';
		n += af_jsonw_fmt_u64(text + 1, (uint64_t)0 - (uint64_t)v);
	} else {
		n = af_jsonw_fmt_u64(text, (uint64_t)v);
	}
	af_jsonw_number(w, text, n);
}

void af_jsonw_double(struct af_jsonw *w, double v)
{
	char text[40];
	int n = 0;

	if (!isfinite(v)) {
		af_jsonw_null(w);
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(text, sizeof text, "%.*g", prec, v);
		if (strtod(text, NULL) == v)
			break;
	}
	af_jsonw_number(w, text, (size_t)n);
}

void af_jsonw_double_fixed(struct af_jsonw *w, double v, int decimals)
{
	static const uint64_t pow10[10] = {
	    1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
	};
	char text[48];
	size_t n = 0;
	double scaled;
	long long q;
	uint64_t m, ip, fp;

	assert(decimals >= 0 && decimals <= 9);
	if (!isfinite(v)) {
		af_jsonw_null(w);
		return;
	}
	scaled = v * (double)pow10[decimals];
	if (!(fabs(scaled) < 9007199254740992.0)) {
		/* Beyond 2^53 the fixed decimals carry nothing. */
		af_jsonw_double(w, v);
		return;
	}
	q = llround(scaled);
	if (q < 0)
		text[n++] = '-';
	m = q < 0 ? (uint64_t)0 - (uint64_t)q : (uint64_t)q;
	ip = m / pow10[decimals];
	fp = m % pow10[decimals];
	n += af_jsonw_fmt_u64(text + n, ip);
	if (fp != 0) {
		int d = decimals;
		while (fp % 10 == 0) {
			fp /= 10;
			d--;
		}
		text[n++] = '.';
		for (int i = d - 1; i >= 0; i--) {
			text[n + (size_t)i] = (char)('0' + fp % 10);
			fp /= 10;
		}
		n += (size_t)d;
	}
	af_jsonw_number(w, text, n);
}

void af_jsonw_bool(struct af_jsonw *w, bool v)
{
	af_jsonw_number(w, v ? "true" : "false", v ? 4 : 5);
}

void af_jsonw_null(struct af_jsonw *w)
{
	af_jsonw_number(w, "null", 4);
}

void af_jsonw_raw(struct af_jsonw *w, const char *json, size_t len)
{
	af_jsonw_sep(w);
	af_jsonw_put(w, json, len);
	w->need_comma = true;
}
