/* file_json.c - the file reader's steps that cut JSON records.
 *
 * Thread: the source thread, inside af_file_next (ingest/file.c).
 * In: the reader's buffer from pos to end, in a JSON file: top-level
 * values, arrays, {"records":[...]} envelopes, JSON Lines.
 * Out: one record cut from the buffer (through ingest/file_record.c), or
 * "need more bytes", or the next state.
 *
 * DESIGN
 * Lines or brackets. How a top-level object is cut depends on the file's
 * mode, decided once from its first top-level value:
 *  - LINES when that value starts and ends on one line and nothing but
 *    blanks follows it on that line: the file is JSON Lines (or one
 *    envelope or array per line). A record is then the rest of its line,
 *    found with strchrnul ('\n' or the NUL sentinel after the data, which
 *    also reveals NUL bytes in the line in the same pass), so framing runs
 *    at memchr speed and a broken line never swallows the next one. Array
 *    and envelope elements on such a line are still bracket-scanned, but a
 *    '\n' ends them and their container.
 *  - BRACKETS when the first value spans lines (pretty-printed or
 *    concatenated values): every value is cut by a bracket scanner that
 *    counts depth outside strings and skips string bodies eight bytes at a
 *    time, stopping only at '"', '\\' and '\n' (ingest/scan.c).
 * A raw '\n' inside a string is invalid JSON, so in either mode it ends the
 * record (the parser will reject it) rather than swallowing what follows.
 * One more guard for a JSON Lines file whose first line is cut short
 * outside a string: while the mode is undecided, a first value still open
 * at the end of its line whose next line starts with '{' is taken to be a
 * broken line, and the file is read as LINES.
 */
#include <string.h>

#include "ingest/file_impl.h"
#include "ingest/scan.h"

/* A top-level value or container ended: the first one decides the mode. */
static void top_done(struct af_file *f)
{
	if (f->mode != MODE_UNDECIDED)
		return;
	if (f->line == f->top_line)
		f->probe = true;
	else
		f->mode = MODE_BRACKETS;
}

enum af_file_step af_file_step_top(struct af_file *f, struct af_record *rec)
{
	char *b = f->buf;
	while (f->pos < f->end) {
		char c = b[f->pos];
		if (c == '\n') {
			f->line++;
			if (f->probe) {
				f->probe = false;
				f->mode = MODE_LINES;
			}
		} else if (c != ' ' && c != '\t' && c != '\r') {
			break;
		}
		f->pos++;
	}
	if (f->pos == f->end)
		return af_file_end_of_data(f, rec);
	if (f->probe) {
		/* Another value on the first value's line: not JSON Lines. */
		f->probe = false;
		f->mode = MODE_BRACKETS;
	}
	char c = b[f->pos];
	f->rec = f->pos;
	f->rec_line = f->line;
	f->top_line = f->line;
	if (c == '[') {
		af_file_set_format(f, AF_FORMAT_JSON_ARRAY);
		f->pos++;
		f->envelope = false;
		f->state = ST_ARRAY;
		return STEP_AGAIN;
	}
	if (c == '{') {
		const char *after;
		enum af_scan_env env =
		    af_scan_envelope(b + f->pos, b + f->end, f->eof || af_file_no_room(f),
		                     f->mode == MODE_LINES, &after);
		if (env == AF_SCAN_ENV_MORE)
			return STEP_MORE;
		if (env == AF_SCAN_ENV_YES) {
			for (const char *q = b + f->pos; q < after; q++)
				f->line += *q == '\n';
			af_file_set_format(f, AF_FORMAT_RECORDS_ENVELOPE);
			f->pos = (size_t)(after - b);
			f->envelope = true;
			f->state = ST_ARRAY;
			return STEP_AGAIN;
		}
		af_file_set_format(f, AF_FORMAT_JSON_LINES);
		f->in_rec = true;
		if (f->mode != MODE_LINES) {
			memset(&f->sc, 0, sizeof(f->sc));
			f->top_value = true;
			f->state = ST_VALUE;
			return STEP_AGAIN;
		}
	}
	/* A line record: JSON Lines, or something that is not JSON. */
	f->in_rec = true;
	f->has_nul = false;
	f->state = ST_LINE;
	return STEP_AGAIN;
}

enum af_file_step af_file_step_line(struct af_file *f, struct af_record *rec)
{
	char *b = f->buf, *e = b + f->end;
	char *p = b + f->pos;
	if (!f->has_nul) {
		p = strchrnul(p, '\n'); /* stops at the sentinel b[end] at worst */
		if (p < e && *p == '\0')
			f->has_nul = true;
	}
	if (f->has_nul) {
		p = memchr(p, '\n', (size_t)(e - p));
		if (!p)
			p = e;
	}
	f->pos = (size_t)(p - b);
	enum af_file_nul nul = f->has_nul ? NUL_YES : NUL_NO;
	if (p < e) {
		f->state = ST_TOP;
		enum af_file_step r = af_file_emit_cut(f, rec, f->pos, nul);
		f->pos++;
		f->line++;
		return r;
	}
	if (!f->eof && !af_file_no_room(f))
		return STEP_MORE;
	if (f->truncated)
		return af_file_emit_truncated(f, rec);
	if (f->eof) {
		f->state = ST_TOP;
		return af_file_emit_cut(f, rec, f->end, nul);
	}
	return af_file_emit_oversize(f, rec, ST_SKIP_LINE);
}

/* The value being scanned ended at stop (exclusive). */
static enum af_file_step end_value(struct af_file *f, struct af_record *rec, size_t stop)
{
	if (f->top_value) {
		f->state = ST_TOP;
		top_done(f);
	} else {
		f->state = ST_ARRAY;
	}
	return af_file_emit_cut(f, rec, stop, NUL_UNKNOWN);
}

enum af_file_step af_file_step_value(struct af_file *f, struct af_record *rec)
{
	enum af_scan_res r =
	    af_scan_value(&f->sc, f->buf, &f->pos, f->end, &f->line, f->mode != MODE_BRACKETS);
	switch (r) {
	case AF_SCAN_DONE:
	case AF_SCAN_BROKEN: return end_value(f, rec, f->pos);
	case AF_SCAN_NEWLINE:
		if (f->mode == MODE_LINES)
			return end_value(f, rec, f->pos);
		if (f->top_value) {
			/* Undecided: is the first value a broken JSON line? */
			if (f->pos + 1 == f->end && !f->eof && !af_file_no_room(f))
				return STEP_MORE;
			if (f->pos + 1 < f->end && f->buf[f->pos + 1] == '{') {
				f->mode = MODE_LINES;
				return end_value(f, rec, f->pos);
			}
		}
		f->mode = MODE_BRACKETS;
		f->line++;
		f->pos++;
		return STEP_AGAIN;
	case AF_SCAN_MORE: break;
	}
	if (!f->eof && !af_file_no_room(f))
		return STEP_MORE;
	if (f->truncated)
		return af_file_emit_truncated(f, rec);
	if (f->eof)
		return end_value(f, rec, f->end);
	return af_file_emit_oversize(f, rec, ST_SKIP_VALUE);
}

/* Go over the blanks inside an array or envelope, and the commas between
 * its elements when commas is set. False when there is nothing to look at
 * after them, with *r what the step returns: the line ended in LINES mode,
 * and the container with it; or the data in the buffer ended. */
static bool skip_blanks_inside(struct af_file *f, struct af_record *rec, bool commas,
                               enum af_file_step *r)
{
	char *b = f->buf;
	while (f->pos < f->end) {
		char c = b[f->pos];
		if (c == '\n') {
			if (f->mode == MODE_LINES) {
				f->state = ST_TOP;
				*r = STEP_AGAIN;
				return false;
			}
			f->mode = MODE_BRACKETS;
			f->line++;
		} else if (c != ' ' && c != '\t' && c != '\r' && (c != ',' || !commas)) {
			break;
		}
		f->pos++;
	}
	if (f->pos == f->end) {
		*r = af_file_end_of_data(f, rec);
		return false;
	}
	return true;
}

enum af_file_step af_file_step_array(struct af_file *f, struct af_record *rec)
{
	char *b = f->buf;
	enum af_file_step r;
	if (!skip_blanks_inside(f, rec, true, &r))
		return r;
	char c = b[f->pos];
	if (c == ']') {
		f->pos++;
		if (f->envelope) {
			f->state = ST_ENV_TAIL;
		} else {
			f->state = ST_TOP;
			top_done(f);
		}
		return STEP_AGAIN;
	}
	f->rec = f->pos;
	f->rec_line = f->line;
	f->in_rec = true;
	f->top_value = false;
	memset(&f->sc, 0, sizeof(f->sc));
	if (c == '"') {
		f->sc.in_str = true;
		f->pos++;
	} else if (c != '{' && c != '[') {
		f->sc.scalar = true;
		f->pos++;
	}
	f->state = ST_VALUE;
	return STEP_AGAIN;
}

enum af_file_step af_file_step_env_tail(struct af_file *f, struct af_record *rec)
{
	char *b = f->buf;
	enum af_file_step r;
	if (!skip_blanks_inside(f, rec, false, &r))
		return r;
	f->top_value = true;
	if (b[f->pos] == '}') {
		f->pos++;
		f->state = ST_TOP;
		top_done(f);
		return STEP_AGAIN;
	}
	/* More members after the array: skip them as the inside of an object. */
	memset(&f->sc, 0, sizeof(f->sc));
	f->sc.depth = 1;
	f->state = ST_SKIP_VALUE;
	return STEP_AGAIN;
}

enum af_file_step af_file_step_skip_value(struct af_file *f, struct af_record *rec)
{
	enum af_scan_res r =
	    af_scan_value(&f->sc, f->buf, &f->pos, f->end, &f->line, f->mode != MODE_BRACKETS);
	if (r == AF_SCAN_NEWLINE && f->mode != MODE_LINES) {
		f->mode = MODE_BRACKETS;
		f->line++;
		f->pos++;
		return STEP_AGAIN;
	}
	if (r == AF_SCAN_MORE) {
		if (!f->eof)
			return STEP_MORE;
		if (f->truncated)
			return af_file_emit_truncated(f, rec);
	}
	if (f->top_value) {
		f->state = ST_TOP;
		top_done(f);
	} else {
		f->state = ST_ARRAY;
	}
	return STEP_AGAIN;
}

enum af_file_step af_file_step_skip_line(struct af_file *f, struct af_record *rec)
{
	char *p = memchr(f->buf + f->pos, '\n', f->end - f->pos);
	if (p) {
		f->pos = (size_t)(p - f->buf) + 1;
		f->line++;
		f->state = ST_TOP;
		return STEP_AGAIN;
	}
	f->pos = f->end;
	return af_file_end_of_data(f, rec);
}
