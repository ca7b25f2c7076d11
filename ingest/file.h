/* file.h - cut audit export files into records.
 *
 * Thread: the source thread (replay). One af_file per input argument; it is
 * not shared.
 * In: a path ("-" = stdin) or a directory (its regular files, in name order,
 * read as one input). Formats, detected from the content, per file:
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

/* Open path for reading. Returns NULL and writes errstr (naming the path and
 * the cause) when it cannot be opened or read; an empty directory is an
 * error too. */
struct af_file *af_file_open(const char *path, const struct af_file_opts *opts,
                             char *errstr, size_t errstr_size);

/* Next record into *rec. Returns AF_OK (rec filled; check rec->reason),
 * AF_EOF at the end of the input, or AF_E_IO when reading fails (errstr
 * names the file and errno's text). A framing failure is not an error:
 * it is a record with reason set, and reading continues after it. */
af_err_t af_file_next(struct af_file *f, struct af_record *rec, char *errstr,
                      size_t errstr_size);

/* Format of the file being read (of the first file, for a directory). */
enum af_file_format af_file_format(const struct af_file *f);

/* Bytes of compressed input consumed so far and the total size when known
 * (0 for stdin and pipes): for progress reporting. */
void af_file_progress(const struct af_file *f, uint64_t *done, uint64_t *total);

/* Close and free; f may be NULL. */
void af_file_close(struct af_file *f);

#endif
