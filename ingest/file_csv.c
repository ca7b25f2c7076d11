/* file_csv.c - the file reader's steps that cut Purview CSV rows.
 *
 * Thread: the source thread, inside af_file_next (ingest/file.c).
 * In: the reader's buffer from pos to end, after a CSV header that names
 * an AuditData column (found by the format detection in ingest/file.c).
 * Out: one record per row, the row's AuditData field unquoted into the
 * reader's scratch buffer; a MALFORMED_CSV record for a row without that
 * column or with an unterminated quote at the end of the file.
 *
 * DESIGN: a row is found with the quote-parity scanner of ingest/csv.c,
 * whose state carries over buffer fills; only a complete row is split into
 * fields, and only for the one field wanted. A row longer than the buffer
 * is reported as OVERSIZE and skipped with the same scanner.
 */
#include "ingest/csv.h"
#include "ingest/file_impl.h"

/* A complete CSV row [row, row + len): its AuditData field is the record. */
static enum af_file_step emit_row(struct af_file *f, struct af_record *rec, const char *row,
                                  size_t len)
{
	struct af_csv_field fld;
	uint64_t off = f->buf_off + (uint64_t)(row - f->buf);
	enum af_csv_field_status st =
	    af_csv_copy_field(row, len, f->audit_col, f->scratch, f->max, &fld);
	if (st == AF_CSV_FIELD_MISSING)
		return af_file_emit_reason(rec, AF_REASON_MALFORMED_CSV, row, len, off,
		                           f->rec_line);
	off += fld.offset;
	uint64_t line = f->rec_line + fld.newlines;
	if (st == AF_CSV_FIELD_TOO_LONG)
		return af_file_emit_reason(rec, AF_REASON_OVERSIZE, f->scratch, fld.len, off, line);
	return af_file_emit(f, rec, f->scratch, fld.len, off, line, NUL_UNKNOWN);
}

enum af_file_step af_file_step_csv_row(struct af_file *f, struct af_record *rec)
{
	char *b = f->buf;
	if (!f->in_rec) {
		while (f->pos < f->end) {
			if (b[f->pos] == '\n') {
				f->pos++;
				f->line++;
			} else if (b[f->pos] == '\r' && f->pos + 1 < f->end &&
			           b[f->pos + 1] == '\n') {
				f->pos += 2;
				f->line++;
			} else if (b[f->pos] == '\r' && f->pos + 1 == f->end && f->eof) {
				f->pos++;
			} else {
				break;
			}
		}
		if (f->pos == f->end || (f->pos + 1 == f->end && b[f->pos] == '\r' && !f->eof))
			return af_file_end_of_data(f, rec);
		f->in_rec = true;
		f->rec = f->pos;
		f->rec_line = f->line;
		af_csv_scan_init(&f->csv);
	}
	const char *nl = af_csv_scan_row(&f->csv, b + f->pos, b + f->end);
	if (nl) {
		size_t len = (size_t)(nl - (b + f->rec));
		if (len > 0 && b[f->rec + len - 1] == '\r')
			len--;
		f->pos = (size_t)(nl - b) + 1;
		f->line = f->rec_line + f->csv.newlines + 1;
		f->in_rec = false;
		return emit_row(f, rec, b + f->rec, len);
	}
	f->pos = f->end;
	if (!f->eof && !af_file_no_room(f))
		return STEP_MORE;
	if (f->truncated)
		return af_file_emit_truncated(f, rec);
	if (f->eof) {
		f->in_rec = false;
		f->line = f->rec_line + f->csv.newlines;
		if (f->csv.in_quotes)
			return af_file_emit_reason(rec, AF_REASON_MALFORMED_CSV, b + f->rec,
			                           f->end - f->rec, f->buf_off + f->rec,
			                           f->rec_line);
		return emit_row(f, rec, b + f->rec, af_file_trim_end(b + f->rec, f->end - f->rec));
	}
	return af_file_emit_oversize(f, rec, ST_SKIP_ROW);
}

enum af_file_step af_file_step_skip_row(struct af_file *f, struct af_record *rec)
{
	const char *nl = af_csv_scan_row(&f->csv, f->buf + f->pos, f->buf + f->end);
	if (nl) {
		f->pos = (size_t)(nl - f->buf) + 1;
		f->line = f->rec_line + f->csv.newlines + 1;
		f->state = ST_CSV_ROW;
		return STEP_AGAIN;
	}
	f->pos = f->end;
	return af_file_end_of_data(f, rec);
}
