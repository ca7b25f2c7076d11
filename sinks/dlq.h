/* dlq.h - the dead-letter output: one JSON line per unusable record.
 *
 * Thread: one thread writes (in replay, whichever thread the runtime gives
 * the dead-letter output to); records from other threads reach it through a
 * ring. Not thread-safe.
 * In: a reason, an optional detail, the record's source position and its
 * bytes. Out: a counter per reason and, with a path, a line like
 *
 *   {"reason":"malformed_json","detail":"...","source":{"path":"a.json",
 *    "line":12,"offset":3456,"input":0},"raw":"{\"Id\":...","raw_len":5000,
 *    "raw_truncated":true}
 *
 * "detail" is left out when there is none, "source.path" when the record has
 * no file. "raw" holds the record cut to raw_max bytes at a UTF-8 boundary;
 * when those bytes are not valid UTF-8 or hold a NUL, "raw_base64" holds
 * them instead (cut to raw_max bytes exactly), so they can be recovered
 * byte for byte. "raw_len" is the length of the whole record as given.
 *
 * DESIGN: the bytes of a record that failed parsing are the evidence a
 * person needs; escaping them as text would lose invalid bytes (they become
 * U+FFFD), so such records switch to base64 instead.
 */
#ifndef AF_DLQ_H
#define AF_DLQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"
#include "pipeline/reason.h"

struct af_jsonw;

/* raw_max used when af_dlq_open is given 0. */
#define AF_DLQ_RAW_MAX_DEFAULT 4096

struct af_dlq;

/* Open the dead-letter output at path (created or truncated; "-" is
 * standard output; "/dev/stdout" works too). path NULL: count only, write
 * nothing. raw_max: bytes of each record kept (0: AF_DLQ_RAW_MAX_DEFAULT).
 * Returns NULL and writes errstr (naming the path and the cause) on failure. */
struct af_dlq *af_dlq_open(const char *path, size_t raw_max, char *errstr, size_t errstr_size);

/* Open the dead-letter output as af_dlq_open does, keeping the lines the
 * file holds, for a run resumed from a checkpoint (sinks/jsonw.h,
 * af_jsonw_open_append): a missing file is created, a partial last line is
 * cut off and *cut (may be NULL) gets its length (0 when nothing was cut or
 * path is NULL), and new lines go after the old ones. path NULL: count
 * only, as af_dlq_open. The counters start at 0: the lines already in the
 * file are not counted.
 * Returns NULL and writes errstr (naming the path and the cause) on failure. */
struct af_dlq *af_dlq_open_append(const char *path, size_t raw_max, uint64_t *cut, char *errstr,
                                  size_t errstr_size);

/* Rotate the file by size, as af_jsonw_rotate_by_size (sinks/jsonw.h).
 * Returns false, and never rotates, for an output that only counts,
 * standard output, or anything but a regular file. @pre keep >= 1. */
bool af_dlq_rotate_by_size(struct af_dlq *dlq, uint64_t max_bytes, uint32_t keep);

/* Count one unusable record and write its line.
 * detail: borrowed, may be NULL. path: borrowed, may be NULL (no file).
 * line: 1-based, 0 unknown. raw: borrowed, raw_len bytes, need not be
 * NUL-terminated and may hold any bytes.
 * Returns AF_OK, or AF_E_IO once a write has failed (the record is still
 * counted; af_dlq_close gives the cause).
 * Cost: a copy and escape of at most raw_max bytes; a write(2) when the
 * buffer is half full. */
af_err_t af_dlq_write(struct af_dlq *dlq, enum af_reason reason, const char *detail,
                      const char *path, uint64_t line, uint64_t offset, uint32_t input,
                      const char *raw, size_t raw_len);

/* One dead-letter line, without its newline, into w (a writer over the
 * caller's buffer, say): the same text af_dlq_write writes, so a worker
 * thread can format dead letters and hand the text to the thread that owns
 * the output. raw_max 0 means AF_DLQ_RAW_MAX_DEFAULT. All pointers
 * borrowed. Thread: any (touches only w). */
void af_dlq_format(struct af_jsonw *w, size_t raw_max, enum af_reason reason, const char *detail,
                   const char *path, uint64_t line, uint64_t offset, uint32_t input,
                   const char *raw, size_t raw_len);

/* Write text (whole lines from af_dlq_format, each ending in '\n') to the
 * output and flush it; nothing when the output only counts. The lines are
 * not counted here (af_dlq_count): the formatting thread keeps the
 * counts. Returns AF_E_IO once a write has failed. */
af_err_t af_dlq_write_text(struct af_dlq *dlq, const char *text, size_t len);

/* Whether dead letters go to a file (else they are only counted), and the
 * raw excerpt limit: what a formatting thread needs to know. Thread: any,
 * after open (neither changes). */
bool af_dlq_enabled(const struct af_dlq *dlq);
size_t af_dlq_raw_max(const struct af_dlq *dlq);

/* Records counted for reason so far (0 for reasons out of range). */
uint64_t af_dlq_count(const struct af_dlq *dlq, enum af_reason reason);

/* Records counted for all reasons. */
uint64_t af_dlq_total(const struct af_dlq *dlq);

/* Write buffered lines out now (e.g. on a timer, so a tail -f sees them).
 * AF_E_IO if this or an earlier write failed. */
af_err_t af_dlq_flush(struct af_dlq *dlq);

/* Write what is buffered, close the file and free dlq. Returns AF_OK, or
 * AF_E_IO with errstr naming the path and the cause if any write failed
 * (a full disk does not pass silently). NULL is a no-op. */
af_err_t af_dlq_close(struct af_dlq *dlq, char *errstr, size_t errstr_size);

#endif
