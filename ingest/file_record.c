/* file_record.c - turn the bytes a step cut into an af_record.
 *
 * Thread: the source thread, inside af_file_next (ingest/file.c).
 * In: a span of the reader's buffer (or scratch buffer) with its offset
 * and line. Out: *rec filled: the span, or a framing failure (OVERSIZE,
 * NUL_BYTES, TRUNCATED_STREAM) whose data is an excerpt of at most 4 KiB.
 *
 * DESIGN: every record leaves through af_file_emit_reason, so the rules
 * that make a failure (too long, holds a NUL byte) and the excerpt limit
 * are applied in one place whatever the format.
 */
#include <string.h>

#include "ingest/file_impl.h"

#define AF_FILE_EXCERPT 4096u

static inline size_t excerpt_len(size_t len)
{
	return len < AF_FILE_EXCERPT ? len : AF_FILE_EXCERPT;
}

enum af_file_step af_file_emit_reason(struct af_record *rec, enum af_reason reason,
                                      const char *data, size_t len, uint64_t offset, uint64_t line)
{
	rec->reason = reason;
	rec->data = data;
	rec->len = reason == AF_REASON_NONE ? len : excerpt_len(len);
	rec->offset = offset;
	rec->line = line;
	return STEP_GOT;
}

enum af_file_step af_file_emit(struct af_file *f, struct af_record *rec, const char *data,
                               size_t len, uint64_t offset, uint64_t line, enum af_file_nul nul)
{
	enum af_reason reason = AF_REASON_NONE;
	if (len > f->max)
		reason = AF_REASON_OVERSIZE;
	else if (nul == NUL_YES || (nul == NUL_UNKNOWN && memchr(data, 0, len)))
		reason = AF_REASON_NUL_BYTES;
	return af_file_emit_reason(rec, reason, data, len, offset, line);
}

enum af_file_step af_file_emit_cut(struct af_file *f, struct af_record *rec, size_t stop,
                                   enum af_file_nul nul)
{
	size_t len = af_file_trim_end(f->buf + f->rec, stop - f->rec);
	f->in_rec = false;
	return af_file_emit(f, rec, f->buf + f->rec, len, f->buf_off + f->rec, f->rec_line, nul);
}

enum af_file_step af_file_emit_truncated(struct af_file *f, struct af_record *rec)
{
	size_t from = f->in_rec ? f->rec : f->pos;
	uint64_t line = f->in_rec ? f->rec_line : f->line;
	f->in_rec = false;
	f->state = ST_DONE;
	return af_file_emit_reason(rec, AF_REASON_TRUNCATED_STREAM, f->buf + from, f->end - from,
	                           f->buf_off + from, line);
}

enum af_file_step af_file_emit_oversize(struct af_file *f, struct af_record *rec,
                                        enum af_file_state skip)
{
	f->in_rec = false;
	f->state = skip;
	return af_file_emit_reason(rec, AF_REASON_OVERSIZE, f->buf + f->rec, f->end - f->rec,
	                           f->buf_off + f->rec, f->rec_line);
}
