/* file_impl.h - the file reader's state, shared by its files; internal.
 *
 * Thread: the source thread; an af_file is not shared.
 * In/out: struct af_file and the steps of its state machine; nothing here
 * is for modules outside ingest/file*.c, which use ingest/file.h.
 *
 * DESIGN: af_file_next (ingest/file.c) calls the step of f->state until one
 * returns STEP_GOT (a record in *rec) or STEP_MORE (fill the buffer and
 * call again); a step that changed the state returns STEP_AGAIN. A step
 * looks at the buffer from pos to end and does no I/O of its own.
 *
 * Positions. `line` is the line of the scan cursor `pos`; scanners count
 * the '\n' they pass. `buf_off` is the file offset of buf[0].
 */
#ifndef AF_INGEST_FILE_IMPL_H
#define AF_INGEST_FILE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/csv.h"
#include "ingest/file.h"
#include "ingest/scan.h"

struct af_decomp;

enum af_file_state {
	ST_START,      /* before the BOM check */
	ST_DETECT,     /* before the first byte of content: JSON or CSV */
	ST_TOP,        /* between top-level JSON values */
	ST_LINE,       /* inside a record that ends at the end of its line */
	ST_VALUE,      /* inside a record cut by the bracket scanner */
	ST_ARRAY,      /* between the elements of an array or envelope */
	ST_ENV_TAIL,   /* after an envelope's array, before its '}' */
	ST_CSV_ROW,    /* between or inside CSV rows */
	ST_SKIP_LINE,  /* over the rest of an oversize line */
	ST_SKIP_VALUE, /* over the rest of an oversize value (or envelope tail) */
	ST_SKIP_ROW,   /* over the rest of an oversize CSV row */
	ST_DONE,       /* the current file is finished */
};

enum af_file_mode {
	MODE_UNDECIDED = 0,
	MODE_LINES,
	MODE_BRACKETS,
};

/* What a step did: returned a record, needs more bytes, or changed state
 * and should run again. */
enum af_file_step { STEP_GOT, STEP_MORE, STEP_AGAIN };

enum af_file_nul { NUL_NO, NUL_YES, NUL_UNKNOWN };

struct af_file {
	size_t max; /* resolved max_record_bytes */
	uint32_t input;
	enum af_file_format format;

	char **paths; /* every file, in reading order */
	size_t npaths;
	size_t next;      /* index of the next file to open */
	const char *path; /* the file being read */
	int fd;           /* -1 when none is open */
	bool own_fd;
	struct af_decomp *dz;
	uint64_t done_before; /* compressed bytes of the files finished */
	uint64_t total;

	char *buf; /* cap + AF_FILE_PADDING bytes; buf[end] is kept 0 */
	size_t cap, pos, end, rec;
	uint64_t buf_off;
	uint64_t line, rec_line, top_line;
	bool in_rec;    /* bytes from rec on must be kept */
	bool eof;       /* the file has no more bytes */
	bool truncated; /* ... because its stream ended early or is corrupt */
	bool has_nul;   /* the line being cut holds a NUL byte */
	bool top_value; /* the value being scanned is top-level, not an element */
	bool envelope;  /* the array being read is an envelope's */
	bool probe;     /* undecided mode: the first value ended on its line */
	enum af_file_state state;
	enum af_file_mode mode;
	struct af_scan sc;

	struct af_csv_scan csv;
	size_t audit_col;
	char *scratch; /* max + AF_FILE_PADDING: the unquoted AuditData */
};

/* ---- small helpers of every step ---- */

static inline size_t af_file_trim_end(const char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t' ||
	                   s[len - 1] == '\n'))
		len--;
	return len;
}

/* The bytes still needed fill the whole buffer: the open record (or the
 * header or envelope prefix being looked at) is longer than any record may
 * be, and no read can add to it. */
static inline bool af_file_no_room(const struct af_file *f)
{
	size_t keep = f->in_rec ? f->rec : f->pos;
	return keep == 0 && f->end == f->cap;
}

static inline void af_file_set_format(struct af_file *f, enum af_file_format format)
{
	if (f->next == 1 && f->format == AF_FORMAT_UNKNOWN)
		f->format = format;
}

/* ---- records (file_record.c) ---- */

/* Fill *rec with data[0..len) as it is, or with an excerpt of at most
 * 4 KiB when reason is a failure. Returns STEP_GOT. */
enum af_file_step af_file_emit_reason(struct af_record *rec, enum af_reason reason,
                                      const char *data, size_t len, uint64_t offset, uint64_t line);

/* A cut record: checked for size (over f->max: OVERSIZE) and, as nul
 * says, NUL bytes. */
enum af_file_step af_file_emit(struct af_file *f, struct af_record *rec, const char *data,
                               size_t len, uint64_t offset, uint64_t line, enum af_file_nul nul);

/* The open record, from f->rec to stop (exclusive), trailing blanks
 * trimmed; closes it. */
enum af_file_step af_file_emit_cut(struct af_file *f, struct af_record *rec, size_t stop,
                                   enum af_file_nul nul);

/* The stream ended early: the bytes pending become a TRUNCATED_STREAM
 * record and the file is done. */
enum af_file_step af_file_emit_truncated(struct af_file *f, struct af_record *rec);

/* The open record filled the buffer: an OVERSIZE record of its start; the
 * state becomes skip, which goes over the rest. */
enum af_file_step af_file_emit_oversize(struct af_file *f, struct af_record *rec,
                                        enum af_file_state skip);

/* ---- the end of the data (every step) ---- */

/* Every byte in the buffer is used and no record is open: read more, or
 * else the file is done, after a TRUNCATED_STREAM record of its end when
 * its stream ended early. */
static inline enum af_file_step af_file_end_of_data(struct af_file *f, struct af_record *rec)
{
	if (!f->eof)
		return STEP_MORE;
	if (f->truncated)
		return af_file_emit_truncated(f, rec);
	f->state = ST_DONE;
	return STEP_AGAIN;
}

/* ---- steps: JSON (file_json.c) ---- */

enum af_file_step af_file_step_top(struct af_file *f, struct af_record *rec);
enum af_file_step af_file_step_line(struct af_file *f, struct af_record *rec);
enum af_file_step af_file_step_value(struct af_file *f, struct af_record *rec);
enum af_file_step af_file_step_array(struct af_file *f, struct af_record *rec);
enum af_file_step af_file_step_env_tail(struct af_file *f, struct af_record *rec);
enum af_file_step af_file_step_skip_value(struct af_file *f, struct af_record *rec);
enum af_file_step af_file_step_skip_line(struct af_file *f, struct af_record *rec);

/* ---- steps: CSV (file_csv.c) ---- */

enum af_file_step af_file_step_csv_row(struct af_file *f, struct af_record *rec);
enum af_file_step af_file_step_skip_row(struct af_file *f, struct af_record *rec);

#endif
