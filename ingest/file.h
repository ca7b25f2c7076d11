/* file.h - cut audit export files into records.
 *
 * Thread: the source thread (replay). One af_file per input argument; it is
 * not shared.
 * In: a path ("-" = stdin) or a directory (its regular, non-hidden files,
 * in strcmp order of their names, read as one input one after the other).
 * Formats, detected from the content, per file:
 *   - JSON Lines (one record per line), or concatenated JSON values;
 *   - a JSON array of records (a Management Activity API content blob);
 *   - the Azure diagnostic envelope {"records":[...]} (Event Hub export),
 *     also one envelope per line;
 *   - the Purview audit-search CSV export (RFC 4180; the record is the JSON
 *     in the AuditData column), with or without a UTF-8 BOM.
 * Each may be gzip- or zstd-compressed (detected by magic bytes; concatenated
 * gzip members and zstd frames are read through).
 * Out: one record at a time, a view into the reader's buffer with its source
 * position, or a framing failure (oversize, truncated stream, NUL byte, bad
 * CSV row) carrying the reason and the record's first bytes.
 *
 * DESIGN: reading is chunked into a buffer of fixed size made at open; a
 * record longer than max_record_bytes is skipped by scanning, never buffered,
 * so memory does not depend on the input. Record views are followed by at
 * least AF_FILE_PADDING readable bytes, as simdjson requires.
 */
#ifndef AF_INGEST_FILE_H
#define AF_INGEST_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"
#include "pipeline/reason.h"

#define AF_FILE_PADDING 64

struct af_file_opts {
	size_t max_record_bytes; /* records longer are dead-lettered; 0 = 1 MiB */
	uint32_t input;          /* index stored in every record's position */
};

enum af_file_format {
	AF_FORMAT_UNKNOWN = 0,
	AF_FORMAT_JSON_LINES,
	AF_FORMAT_JSON_ARRAY,
	AF_FORMAT_RECORDS_ENVELOPE,
	AF_FORMAT_CSV,
};

struct af_record {
	const char *data;    /* borrowed; valid until the next af_file_next */
	size_t len;          /* bytes of the record (for a failure: of the
	                        excerpt kept, at most 4 KiB) */
	enum af_reason reason; /* AF_REASON_NONE, or why framing rejected it */
	const char *path;    /* borrowed: the file the record came from */
	uint64_t line;       /* 1-based line of the record's first byte */
	uint64_t offset;     /* byte offset in the decompressed file */
	uint32_t input;      /* opts.input */
};

struct af_file;

/* Open path for reading. opts is borrowed and may be NULL (defaults).
 * Returns NULL and writes errstr (naming the path and the cause) when it
 * cannot be opened or read; a directory without regular files is an error
 * too. For a directory, only the first file is opened here.
 * Cost: allocates the read buffer (about 2 x max_record_bytes), a scratch
 * buffer of max_record_bytes for CSV fields, and 256 KiB of compressed
 * input; nothing more is allocated while reading. */
struct af_file *af_file_open(const char *path, const struct af_file_opts *opts,
                             char *errstr, size_t errstr_size);

/* Next record into *rec. Returns AF_OK (rec filled; check rec->reason),
 * AF_EOF at the end of the input (and on every call after), or AF_E_IO when
 * a file cannot be opened or read (errstr names the file and errno's text;
 * the rest of that file is dropped, and a further call goes on with the
 * next file of a directory). A framing failure is not an error: it is a
 * record with reason set, and reading continues after it:
 *   - AF_REASON_OVERSIZE: longer than max_record_bytes; data is its first
 *     4 KiB (at most), and the rest is skipped;
 *   - AF_REASON_TRUNCATED_STREAM: the gzip/zstd stream ended early or is
 *     corrupt; it follows every complete record before the damage, data
 *     holds the partial bytes pending (possibly none), and the file ends;
 *   - AF_REASON_NUL_BYTES: the record holds a NUL byte;
 *   - AF_REASON_MALFORMED_CSV: a CSV row with an unterminated quote at the
 *     end of the file, or without the AuditData column; data is the row.
 * A record that is not valid JSON (a broken line, a non-object array
 * element, a value cut short at the end of the file) comes out with
 * AF_REASON_NONE: judging JSON is the parser's job.
 * For CSV, data is the unquoted AuditData field, copied; line and offset
 * are those of its first byte. */
af_err_t af_file_next(struct af_file *f, struct af_record *rec, char *errstr,
                      size_t errstr_size);

/* Format of the first file, known once its first top-level value or CSV
 * header has been read (AF_FORMAT_UNKNOWN before, and for a file that is
 * neither JSON nor an AuditData CSV). Concatenated JSON values count as
 * AF_FORMAT_JSON_LINES. */
enum af_file_format af_file_format(const struct af_file *f);

/* Bytes of compressed input consumed so far (over every file of a
 * directory) and the total size when known: the file's size, the sum of a
 * directory's file sizes, 0 for stdin and pipes. For progress reporting. */
void af_file_progress(const struct af_file *f, uint64_t *done, uint64_t *total);

/* Close and free; f may be NULL. */
void af_file_close(struct af_file *f);

#endif
