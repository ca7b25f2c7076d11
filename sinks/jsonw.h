/* jsonw.h - a small JSON text writer shared by every sink.
 *
 * Thread: whichever thread owns the writer; one writer is never shared.
 * In: values, keys and containers, one call each. Out: JSON text appended to
 * a buffer, and, when the writer has a FILE, written to it.
 *
 * Two ways to use it:
 *   - caller's buffer, no FILE (af_jsonw_init with out = NULL): the text of
 *     one message is built in place, e.g. for a Kafka or HTTP sink. A write
 *     that does not fit sets AF_JSONW_OVERFLOW; from then on nothing more is
 *     appended, so the buffer holds a prefix of the intended text, which is
 *     not valid JSON. af_jsonw_reset() starts the next message.
 *   - a file (af_jsonw_open, af_jsonw_open_append, or af_jsonw_init with a
 *     FILE): the buffer is the write buffer. af_jsonw_end_line() ends a JSON
 *     line and writes the buffer out once it is half full, so lines normally
 *     reach the file whole, in one write; a value larger than the buffer is
 *     written out in pieces. A failed write sets AF_JSONW_IO_ERROR (sticky,
 *     errno kept) and the text is dropped. A run that resumes opens its file
 *     with af_jsonw_open_append, which first cuts off the partial line a
 *     killed process may have left, so the file stays valid JSON Lines.
 *     A file opened by path may be rotated by size (af_jsonw_rotate_by_size):
 *     after the line that takes it to the size, FILE becomes FILE.1 (FILE.1
 *     FILE.2, and so on up to the number kept) and a new FILE is started, so
 *     every file holds whole lines, and no output module repeats the logic.
 *
 * Commas are automatic: a value or key after another one in the same
 * container gets its comma. Strings are escaped per RFC 8259 (quote,
 * backslash, \b \f \n \r \t, other control characters as \u00XX); bytes that
 * are not valid UTF-8 are each replaced by U+FFFD, so the output is always
 * valid UTF-8 JSON, and AF_JSONW_REPLACED records that it happened.
 *
 * DESIGN: the writer never allocates after it is made and never calls stdio
 * on the per-value path: a bounds check and a memcpy per piece. Numbers are
 * formatted by hand (integers, fixed-point doubles); only the round-trip
 * double falls back to snprintf. Output does not depend on the locale: the
 * program never calls setlocale, so "%g" uses '.'.
 */
#ifndef AF_JSONW_H
#define AF_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/err.h"

/* Smallest buffer a writer accepts: room for any number or escape. */
#define AF_JSONW_MIN_BUF 64

/* af_jsonw.flags */
enum {
	AF_JSONW_OVERFLOW = 1u << 0, /* the buffer was full and there is no FILE */
	AF_JSONW_IO_ERROR = 1u << 1, /* writing to the FILE failed; see io_errno */
	AF_JSONW_REPLACED = 1u << 2, /* invalid UTF-8 was replaced by U+FFFD */
	AF_JSONW_TOO_DEEP = 1u << 3, /* containers nested past AF_JSONW_MAX_DEPTH */
};

#define AF_JSONW_MAX_DEPTH 64

/* Fields are read-only for callers except through the functions below;
 * buf[0..len) is the text not yet written out. */
struct af_jsonw {
	char *buf;        /* borrowed (init) or owned (open) */
	size_t len;       /* bytes used in buf */
	size_t limit;     /* bytes usable now: size, or len once overflowed */
	size_t size;      /* capacity of buf */
	FILE *out;        /* borrowed (init) or owned (open); NULL: no file */
	uint32_t depth;   /* open containers */
	bool need_comma;  /* a value was written in the current container */
	bool after_key;   /* a key was written; its value comes next */
	bool owned;       /* made by af_jsonw_open */
	unsigned flags;   /* AF_JSONW_* */
	int io_errno;     /* errno of the first failed write */
	uint64_t written; /* bytes written to out so far */
	char *path;       /* owned copy, for messages (open only) */
	/* Rotation by size (af_jsonw_rotate_by_size); rotate_bytes 0: off. */
	uint64_t file_bytes;   /* bytes the current file holds: kept at open
	                        * (af_jsonw_open_append) plus written since */
	uint64_t rotate_bytes; /* rotate once the file holds this much */
	uint32_t rotate_keep;  /* FILE.1 .. FILE.rotate_keep */
	bool rotate_failed;    /* IO_ERROR came from a rename or a reopen */
};

/* Prepare w over the caller's buffer buf of size bytes; with out non-NULL,
 * full buffers are written to out.
 * buf: borrowed; must outlive w. out: borrowed; not closed by the writer.
 * @pre size >= AF_JSONW_MIN_BUF. */
void af_jsonw_init(struct af_jsonw *w, char *buf, size_t size, FILE *out);

/* Open path for writing (created or truncated; "-" is standard output,
 * which is flushed first and then written through its own descriptor) with
 * a write buffer of buf_size bytes (0: 64 KiB). The file is unbuffered in
 * stdio: the writer's buffer is the only one, so a failed write is seen at
 * the af_jsonw_end_line() that triggers it, not only at close.
 * Returns NULL and writes errstr naming the path and the cause on failure. */
struct af_jsonw *af_jsonw_open(const char *path, size_t buf_size, char *errstr, size_t errstr_size);

/* Open path as af_jsonw_open does, but keep what it holds: for a run that
 * resumes from a checkpoint and must add to its earlier output. A missing
 * file is created. A regular file that exists is cut back to the end of
 * its last '\n' (ftruncate): the bytes after it are a partial line left by
 * a process killed in mid-write (the writer writes its buffer in chunks
 * that need not end at a line), and the resumed run writes that record
 * again; a file with no '\n' at all is emptied. Writes then go at the end
 * (O_APPEND). file_bytes starts at the size kept, so rotation by size
 * (af_jsonw_rotate_by_size) counts the lines already there.
 * "-" and paths that are not regular files (a FIFO, /dev/null, a device)
 * are opened exactly as af_jsonw_open opens them, and nothing is cut.
 * cut: may be NULL; on success gets the bytes cut off (0 when the file
 * ended in '\n', was empty, was created or is not a regular file).
 * @pre a regular file at path is readable as well as writable (its end is
 * read to find the last line), and no other process writes to it.
 * Returns NULL and writes errstr naming the path and the cause on failure;
 * the file may then already have been cut.
 * Cost: an extra stat and fstat, and reads backwards from the end in
 * 4 KiB chunks until a '\n': about the length of the partial line. */
struct af_jsonw *af_jsonw_open_append(const char *path, size_t buf_size, uint64_t *cut,
                                      char *errstr, size_t errstr_size);

/* Write out what is buffered, close the file and free w (from
 * af_jsonw_open). Returns AF_OK, or AF_E_IO with errstr naming the path and
 * the cause if any write since open failed, or the close did. NULL is a
 * no-op. */
af_err_t af_jsonw_close(struct af_jsonw *w, char *errstr, size_t errstr_size);

/* Rotate the file by size: once a line ends with the file holding at
 * least max_bytes, the file is renamed FILE.1 (FILE.1 to FILE.2, ... up to
 * FILE.keep, whose old content is dropped) and FILE is created afresh; a
 * line is never split between two files. max_bytes 0 turns rotation off.
 * Only a regular file opened by name rotates: standard output ("-"), a
 * pipe, a device, a path through a symbolic link (/dev/stdout) or a
 * writer over the caller's FILE never do, and get false. A rename or
 * reopen that fails sets AF_JSONW_IO_ERROR as a failed write does (the
 * output stops; the lines written so far stay in the old file), and
 * af_jsonw_close names the rotation.
 * Returns true when rotation is on. Thread: the owner.
 * @pre keep >= 1.
 * Cost: an fstat and an lstat here; a rotation costs keep renames and an
 * open, at the end of the line that reaches the size. */
bool af_jsonw_rotate_by_size(struct af_jsonw *w, uint64_t max_bytes, uint32_t keep);

/* Write text[0..len), whole lines each ending in '\n' (formatted by
 * another writer, say on another thread), then flush. With rotation on,
 * the file is rotated after the line that reaches the size, as
 * af_jsonw_end_line does. Returns AF_OK, or AF_E_IO once a write failed.
 * text: borrowed. @pre no container is open.
 * Cost: a memchr for the line that reaches the size; a write(2). */
af_err_t af_jsonw_write_lines(struct af_jsonw *w, const char *text, size_t len);

/* Forget the buffered text and the container state; clears OVERFLOW,
 * REPLACED and TOO_DEEP, keeps IO_ERROR (a lost write stays lost). */
void af_jsonw_reset(struct af_jsonw *w);

/* Write buffered bytes to out. AF_OK with no FILE or nothing buffered;
 * AF_E_IO if this or an earlier write failed. Cost: one write(2). */
af_err_t af_jsonw_flush(struct af_jsonw *w);

/* End a top-level value: append '\n' and, with a FILE, write the buffer out
 * if it is at least half full (and rotate the file when the line takes it
 * to the rotation size). Returns AF_E_IO if any write failed so far,
 * AF_E_INVALID if the text overflowed a buffer with no FILE.
 * @pre no container is open. */
af_err_t af_jsonw_end_line(struct af_jsonw *w);

/* Containers. A container or value at depth 0 gets no comma: top-level
 * values are separated by af_jsonw_end_line(). */
void af_jsonw_object_begin(struct af_jsonw *w);
void af_jsonw_object_end(struct af_jsonw *w);
void af_jsonw_array_begin(struct af_jsonw *w);
void af_jsonw_array_end(struct af_jsonw *w);

/* A key, escaped like a string. @pre inside an object.
 * Cost: with room for the worst case (6 bytes per byte), one pass that
 * copies 8 plain bytes per step; otherwise a chunked path. */
void af_jsonw_key_len(struct af_jsonw *w, const char *key, size_t len);

/* A string value. s is borrowed, need not be NUL-terminated and may
 * contain NUL (written \u0000). Returns how many bytes were replaced by
 * U+FFFD (0 for valid UTF-8). Cost: as af_jsonw_key_len. */
size_t af_jsonw_string_len(struct af_jsonw *w, const char *s, size_t len);

/* data[0..len) as a base64 string value (RFC 4648, with padding), so that
 * arbitrary bytes survive exactly. */
void af_jsonw_base64(struct af_jsonw *w, const void *data, size_t len);

void af_jsonw_int(struct af_jsonw *w, int64_t v);
void af_jsonw_uint(struct af_jsonw *w, uint64_t v);

/* The shortest of %.15g, %.16g and %.17g that reads back as v; null when v
 * is not finite. Cost: up to three snprintf and strtod: for occasional
 * values (summaries), not per event. */
void af_jsonw_double(struct af_jsonw *w, double v);

/* v rounded to decimals (0..9) places after the point, trailing zeros
 * trimmed ("37.751", "-122.4", "5"); null when v is not finite. Formatted
 * by hand when |v| * 10^decimals < 2^53, as coordinates always are.
 * Cost: tens of ns. For lat/lon, 6 places (0.1 m) is plenty. */
void af_jsonw_double_fixed(struct af_jsonw *w, double v, int decimals);

void af_jsonw_bool(struct af_jsonw *w, bool v);
void af_jsonw_null(struct af_jsonw *w);

/* json[0..len) as one value, copied as is. @pre it is one valid JSON value. */
void af_jsonw_raw(struct af_jsonw *w, const char *json, size_t len);

/* NUL-terminated forms and key + value in one call. Inline, so that the
 * length of a literal key is known at compile time. */
static inline void af_jsonw_key(struct af_jsonw *w, const char *key)
{
	af_jsonw_key_len(w, key, strlen(key));
}

static inline size_t af_jsonw_string(struct af_jsonw *w, const char *s)
{
	return af_jsonw_string_len(w, s, strlen(s));
}

static inline size_t af_jsonw_field_string(struct af_jsonw *w, const char *key, const char *s)
{
	af_jsonw_key(w, key);
	return af_jsonw_string(w, s);
}

static inline size_t af_jsonw_field_string_len(struct af_jsonw *w, const char *key, const char *s,
                                               size_t len)
{
	af_jsonw_key(w, key);
	return af_jsonw_string_len(w, s, len);
}

static inline void af_jsonw_field_int(struct af_jsonw *w, const char *key, int64_t v)
{
	af_jsonw_key(w, key);
	af_jsonw_int(w, v);
}

static inline void af_jsonw_field_uint(struct af_jsonw *w, const char *key, uint64_t v)
{
	af_jsonw_key(w, key);
	af_jsonw_uint(w, v);
}

static inline void af_jsonw_field_double(struct af_jsonw *w, const char *key, double v)
{
	af_jsonw_key(w, key);
	af_jsonw_double(w, v);
}

static inline void af_jsonw_field_double_fixed(struct af_jsonw *w, const char *key, double v,
                                               int decimals)
{
	af_jsonw_key(w, key);
	af_jsonw_double_fixed(w, v, decimals);
}

static inline void af_jsonw_field_bool(struct af_jsonw *w, const char *key, bool v)
{
	af_jsonw_key(w, key);
	af_jsonw_bool(w, v);
}

static inline void af_jsonw_field_null(struct af_jsonw *w, const char *key)
{
	af_jsonw_key(w, key);
	af_jsonw_null(w);
}

static inline void af_jsonw_field_raw(struct af_jsonw *w, const char *key, const char *json,
                                      size_t len)
{
	af_jsonw_key(w, key);
	af_jsonw_raw(w, json, len);
}

/* True if s[0..len) is valid UTF-8 (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF). NUL bytes are valid UTF-8.
 * Cost: 8 bytes per step while the text is ASCII. */
bool af_jsonw_utf8_valid(const char *s, size_t len);

#endif
