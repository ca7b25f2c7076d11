/* file.c - cut audit export files into records.
 *
 * Thread: the source thread (replay); an af_file is not shared.
 * In: a path, "-" (stdin) or a directory; the bytes come through
 * ingest/decompress.c, which undoes gzip and zstd. Out: one record view at
 * a time (see file.h), or a framing failure carried as a record with its
 * reason.
 *
 * DESIGN
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
 *
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
 *    time, stopping only at '"', '\\' and '\n'.
 * A raw '\n' inside a string is invalid JSON, so in either mode it ends the
 * record (the parser will reject it) rather than swallowing what follows.
 * One more guard for a JSON Lines file whose first line is cut short
 * outside a string: while the mode is undecided, a first value still open
 * at the end of its line whose next line starts with '{' is taken to be a
 * broken line, and the file is read as LINES.
 *
 * Positions. `line` is the line of the scan cursor `pos`; scanners count
 * the '\n' they pass. `buf_off` is the file offset of buf[0].
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
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingest/csv.h"
#include "ingest/decompress.h"

#define AF_FILE_DEFAULT_MAX (1024u * 1024)
#define AF_FILE_LIMIT_MAX   (1024u * 1024 * 1024)
#define AF_FILE_MIN_BUF     (64u * 1024)
#define AF_FILE_EXCERPT     4096u

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
enum step { STEP_GOT, STEP_MORE, STEP_AGAIN };

/* The bracket scanner's state, kept across fills. */
struct af_scan {
	uint32_t depth; /* brackets open */
	bool in_str;
	bool esc;    /* the last byte was a backslash inside a string */
	bool scalar; /* a bare scalar element: ends at a delimiter */
};

enum scan_res {
	SCAN_MORE,    /* consumed everything; the value goes on */
	SCAN_DONE,    /* the value ended just before pos */
	SCAN_BROKEN,  /* a raw '\n' inside a string, at pos */
	SCAN_NEWLINE, /* a '\n' outside strings, at pos (when asked to stop) */
};

enum nul_known { NUL_NO, NUL_YES, NUL_UNKNOWN };

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

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
{
	if (!errstr || errstr_size == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errstr, errstr_size, fmt, ap);
	va_end(ap);
}

/* ---- bracket scanner ---- */

enum { CLS_NONE, CLS_OPEN, CLS_CLOSE, CLS_QUOTE, CLS_NL };

static const unsigned char af_json_cls[256] = {
    ['{'] = CLS_OPEN,  ['['] = CLS_OPEN,  [']'] = CLS_CLOSE,
    ['}'] = CLS_CLOSE, ['"'] = CLS_QUOTE, ['\n'] = CLS_NL,
};

#define AF_ONES  0x0101010101010101ull
#define AF_HIGHS 0x8080808080808080ull

/* Nonzero when some byte of v equals the byte repeated in pat. */
static inline uint64_t has_byte(uint64_t v, uint64_t pat)
{
	uint64_t x = v ^ pat;
	return (x - AF_ONES) & ~x & AF_HIGHS;
}

/* First '"', '\\' or '\n' in [p, e), or e: eight bytes per step. */
static const char *skip_string_body(const char *p, const char *e)
{
	while (e - p >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		if (has_byte(v, AF_ONES * '"') | has_byte(v, AF_ONES * '\\') |
		    has_byte(v, AF_ONES * '\n'))
			break;
		p += 8;
	}
	while (p < e && *p != '"' && *p != '\\' && *p != '\n')
		p++;
	return p;
}

static inline bool is_scalar_end(char c)
{
	return c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Scan the value in buf from *posp to end, moving *posp. stop_nl: return
 * SCAN_NEWLINE at a '\n' outside strings instead of counting it in *line. */
static enum scan_res scan_value(struct af_scan *sc, const char *buf, size_t *posp, size_t end,
                                uint64_t *line, bool stop_nl)
{
	const char *p = buf + *posp, *e = buf + end;
	enum scan_res res = SCAN_MORE;

	if (sc->scalar) {
		while (p < e && !is_scalar_end(*p))
			p++;
		if (p < e)
			res = SCAN_DONE;
		goto out;
	}
	while (p < e) {
		if (sc->in_str) {
			if (sc->esc) {
				if (*p == '\n') {
					res = SCAN_BROKEN;
					goto out;
				}
				sc->esc = false;
				p++;
				continue;
			}
			p = skip_string_body(p, e);
			if (p == e)
				break;
			if (*p == '\\') {
				sc->esc = true;
				p++;
				continue;
			}
			if (*p == '\n') {
				res = SCAN_BROKEN;
				goto out;
			}
			sc->in_str = false;
			p++;
			if (sc->depth == 0) {
				res = SCAN_DONE;
				goto out;
			}
			continue;
		}
		while (p < e && af_json_cls[(unsigned char)*p] == CLS_NONE)
			p++;
		if (p == e)
			break;
		switch (af_json_cls[(unsigned char)*p]) {
		case CLS_NONE: break;
		case CLS_OPEN: sc->depth++; break;
		case CLS_CLOSE:
			if (sc->depth <= 1) {
				sc->depth = 0;
				p++;
				res = SCAN_DONE;
				goto out;
			}
			sc->depth--;
			break;
		case CLS_QUOTE: sc->in_str = true; break;
		case CLS_NL:
			if (stop_nl) {
				res = SCAN_NEWLINE;
				goto out;
			}
			(*line)++;
			break;
		}
		p++;
	}
out:
	*posp = (size_t)(p - buf);
	return res;
}

/* ---- records ---- */

static size_t trim_end(const char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t' ||
	                   s[len - 1] == '\n'))
		len--;
	return len;
}

static inline size_t excerpt_len(size_t len)
{
	return len < AF_FILE_EXCERPT ? len : AF_FILE_EXCERPT;
}

static enum step emit_reason(struct af_record *rec, enum af_reason reason, const char *data,
                             size_t len, uint64_t offset, uint64_t line)
{
	rec->reason = reason;
	rec->data = data;
	rec->len = reason == AF_REASON_NONE ? len : excerpt_len(len);
	rec->offset = offset;
	rec->line = line;
	return STEP_GOT;
}

/* A cut record: checked for size and NUL bytes. */
static enum step emit(struct af_file *f, struct af_record *rec, const char *data, size_t len,
                      uint64_t offset, uint64_t line, enum nul_known nul)
{
	enum af_reason reason = AF_REASON_NONE;
	if (len > f->max)
		reason = AF_REASON_OVERSIZE;
	else if (nul == NUL_YES || (nul == NUL_UNKNOWN && memchr(data, 0, len)))
		reason = AF_REASON_NUL_BYTES;
	return emit_reason(rec, reason, data, len, offset, line);
}

/* The record of the file's current position, cut at pos: from rec when a
 * record is open. */
static enum step emit_cut(struct af_file *f, struct af_record *rec, size_t stop, enum nul_known nul)
{
	size_t len = trim_end(f->buf + f->rec, stop - f->rec);
	f->in_rec = false;
	return emit(f, rec, f->buf + f->rec, len, f->buf_off + f->rec, f->rec_line, nul);
}

/* The stream ended early: the bytes pending become the excerpt. */
static enum step emit_truncated(struct af_file *f, struct af_record *rec)
{
	size_t from = f->in_rec ? f->rec : f->pos;
	uint64_t line = f->in_rec ? f->rec_line : f->line;
	f->in_rec = false;
	f->state = ST_DONE;
	return emit_reason(rec, AF_REASON_TRUNCATED_STREAM, f->buf + from, f->end - from,
	                   f->buf_off + from, line);
}

/* The open record filled the buffer: report its start, skip the rest. */
static enum step emit_oversize(struct af_file *f, struct af_record *rec, enum af_file_state skip)
{
	f->in_rec = false;
	f->state = skip;
	return emit_reason(rec, AF_REASON_OVERSIZE, f->buf + f->rec, f->end - f->rec,
	                   f->buf_off + f->rec, f->rec_line);
}

/* The bytes still needed fill the whole buffer: the open record (or the
 * header or envelope prefix being looked at) is longer than any record may
 * be, and no read can add to it. */
static bool no_room(const struct af_file *f)
{
	size_t keep = f->in_rec ? f->rec : f->pos;
	return keep == 0 && f->end == f->cap;
}

static void set_format(struct af_file *f, enum af_file_format format)
{
	if (f->next == 1 && f->format == AF_FORMAT_UNKNOWN)
		f->format = format;
}

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

/* ---- steps, one per state ---- */

static enum step step_start(struct af_file *f)
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
static enum step step_detect(struct af_file *f, struct af_record *rec)
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
	if (f->pos == f->end) {
		if (!f->eof)
			return STEP_MORE;
		if (f->truncated)
			return emit_truncated(f, rec);
		f->state = ST_DONE;
		return STEP_AGAIN;
	}
	if (b[f->pos] == '{' || b[f->pos] == '[') {
		f->state = ST_TOP;
		return STEP_AGAIN;
	}
	struct af_csv_scan s;
	af_csv_scan_init(&s);
	const char *nl = af_csv_scan_row(&s, b + f->pos, b + f->end);
	if (!nl && !f->eof && !no_room(f))
		return STEP_MORE;
	const char *row_end = nl ? nl : b + f->end;
	size_t len = trim_end(b + f->pos, (size_t)(row_end - (b + f->pos)));
	long col = nl || f->eof ? af_csv_find_column(b + f->pos, len, "AuditData") : -1;
	if (col < 0) {
		f->state = ST_TOP;
		return STEP_AGAIN;
	}
	set_format(f, AF_FORMAT_CSV);
	f->audit_col = (size_t)col;
	f->line += s.newlines + (nl ? 1 : 0);
	f->pos = (size_t)(row_end - b) + (nl ? 1 : 0);
	f->state = ST_CSV_ROW;
	return STEP_AGAIN;
}

enum env_res { ENV_NO, ENV_YES, ENV_MORE };

/* Is the '{' at p the start of {"records":[ (any case, blanks between)?
 * On yes, *after is just past the '['. final: no more bytes will come.
 * one_line: a line break between the parts means no. */
static enum env_res check_envelope(const char *p, const char *e, bool final, bool one_line,
                                   const char **after)
{
	static const char key[] = "\"records\"";
	const size_t klen = sizeof(key) - 1;
	const char *q = p + 1;
	for (int part = 0; part < 3; part++) {
		while (q < e &&
		       (*q == ' ' || *q == '\t' || *q == '\r' || (*q == '\n' && !one_line)))
			q++;
		if (part == 0) {
			if ((size_t)(e - q) < klen)
				return final ? ENV_NO : ENV_MORE;
			if (strncasecmp(q, key, klen) != 0)
				return ENV_NO;
			q += klen;
			continue;
		}
		if (q == e)
			return final ? ENV_NO : ENV_MORE;
		if (*q != (part == 1 ? ':' : '['))
			return ENV_NO;
		q++;
	}
	*after = q;
	return ENV_YES;
}

static enum step step_top(struct af_file *f, struct af_record *rec)
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
	if (f->pos == f->end) {
		if (!f->eof)
			return STEP_MORE;
		if (f->truncated)
			return emit_truncated(f, rec);
		f->state = ST_DONE;
		return STEP_AGAIN;
	}
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
		set_format(f, AF_FORMAT_JSON_ARRAY);
		f->pos++;
		f->envelope = false;
		f->state = ST_ARRAY;
		return STEP_AGAIN;
	}
	if (c == '{') {
		const char *after;
		enum env_res env = check_envelope(b + f->pos, b + f->end, f->eof || no_room(f),
		                                  f->mode == MODE_LINES, &after);
		if (env == ENV_MORE)
			return STEP_MORE;
		if (env == ENV_YES) {
			for (const char *q = b + f->pos; q < after; q++)
				f->line += *q == '\n';
			set_format(f, AF_FORMAT_RECORDS_ENVELOPE);
			f->pos = (size_t)(after - b);
			f->envelope = true;
			f->state = ST_ARRAY;
			return STEP_AGAIN;
		}
		set_format(f, AF_FORMAT_JSON_LINES);
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

static enum step step_line(struct af_file *f, struct af_record *rec)
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
	enum nul_known nul = f->has_nul ? NUL_YES : NUL_NO;
	if (p < e) {
		f->state = ST_TOP;
		enum step r = emit_cut(f, rec, f->pos, nul);
		f->pos++;
		f->line++;
		return r;
	}
	if (!f->eof && !no_room(f))
		return STEP_MORE;
	if (f->truncated)
		return emit_truncated(f, rec);
	if (f->eof) {
		f->state = ST_TOP;
		return emit_cut(f, rec, f->end, nul);
	}
	return emit_oversize(f, rec, ST_SKIP_LINE);
}

/* The value being scanned ended at stop (exclusive). */
static enum step end_value(struct af_file *f, struct af_record *rec, size_t stop)
{
	if (f->top_value) {
		f->state = ST_TOP;
		top_done(f);
	} else {
		f->state = ST_ARRAY;
	}
	return emit_cut(f, rec, stop, NUL_UNKNOWN);
}

static enum step step_value(struct af_file *f, struct af_record *rec)
{
	enum scan_res r =
	    scan_value(&f->sc, f->buf, &f->pos, f->end, &f->line, f->mode != MODE_BRACKETS);
	switch (r) {
	case SCAN_DONE:
	case SCAN_BROKEN: return end_value(f, rec, f->pos);
	case SCAN_NEWLINE:
		if (f->mode == MODE_LINES)
			return end_value(f, rec, f->pos);
		if (f->top_value) {
			/* Undecided: is the first value a broken JSON line? */
			if (f->pos + 1 == f->end && !f->eof && !no_room(f))
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
	case SCAN_MORE: break;
	}
	if (!f->eof && !no_room(f))
		return STEP_MORE;
	if (f->truncated)
		return emit_truncated(f, rec);
	if (f->eof)
		return end_value(f, rec, f->end);
	return emit_oversize(f, rec, ST_SKIP_VALUE);
}

static enum step step_array(struct af_file *f, struct af_record *rec)
{
	char *b = f->buf;
	while (f->pos < f->end) {
		char c = b[f->pos];
		if (c == '\n') {
			if (f->mode == MODE_LINES) {
				/* The line ended inside the container. */
				f->state = ST_TOP;
				return STEP_AGAIN;
			}
			f->mode = MODE_BRACKETS;
			f->line++;
		} else if (c != ' ' && c != '\t' && c != '\r' && c != ',') {
			break;
		}
		f->pos++;
	}
	if (f->pos == f->end) {
		if (!f->eof)
			return STEP_MORE;
		if (f->truncated)
			return emit_truncated(f, rec);
		f->state = ST_DONE;
		return STEP_AGAIN;
	}
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

static enum step step_env_tail(struct af_file *f, struct af_record *rec)
{
	char *b = f->buf;
	while (f->pos < f->end) {
		char c = b[f->pos];
		if (c == '\n') {
			if (f->mode == MODE_LINES) {
				f->state = ST_TOP;
				return STEP_AGAIN;
			}
			f->mode = MODE_BRACKETS;
			f->line++;
		} else if (c != ' ' && c != '\t' && c != '\r') {
			break;
		}
		f->pos++;
	}
	if (f->pos == f->end) {
		if (!f->eof)
			return STEP_MORE;
		if (f->truncated)
			return emit_truncated(f, rec);
		f->state = ST_DONE;
		return STEP_AGAIN;
	}
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

static enum step step_skip_value(struct af_file *f, struct af_record *rec)
{
	enum scan_res r =
	    scan_value(&f->sc, f->buf, &f->pos, f->end, &f->line, f->mode != MODE_BRACKETS);
	if (r == SCAN_NEWLINE && f->mode != MODE_LINES) {
		f->mode = MODE_BRACKETS;
		f->line++;
		f->pos++;
		return STEP_AGAIN;
	}
	if (r == SCAN_MORE) {
		if (!f->eof)
			return STEP_MORE;
		if (f->truncated)
			return emit_truncated(f, rec);
	}
	if (f->top_value) {
		f->state = ST_TOP;
		top_done(f);
	} else {
		f->state = ST_ARRAY;
	}
	return STEP_AGAIN;
}

static enum step step_skip_line(struct af_file *f, struct af_record *rec)
{
	char *p = memchr(f->buf + f->pos, '\n', f->end - f->pos);
	if (p) {
		f->pos = (size_t)(p - f->buf) + 1;
		f->line++;
		f->state = ST_TOP;
		return STEP_AGAIN;
	}
	f->pos = f->end;
	if (!f->eof)
		return STEP_MORE;
	if (f->truncated)
		return emit_truncated(f, rec);
	f->state = ST_DONE;
	return STEP_AGAIN;
}

/* A complete CSV row [row, row + len): its AuditData field is the record. */
static enum step emit_row(struct af_file *f, struct af_record *rec, const char *row, size_t len)
{
	struct af_csv_field fld;
	uint64_t off = f->buf_off + (uint64_t)(row - f->buf);
	enum af_csv_field_status st =
	    af_csv_copy_field(row, len, f->audit_col, f->scratch, f->max, &fld);
	if (st == AF_CSV_FIELD_MISSING)
		return emit_reason(rec, AF_REASON_MALFORMED_CSV, row, len, off, f->rec_line);
	off += fld.offset;
	uint64_t line = f->rec_line + fld.newlines;
	if (st == AF_CSV_FIELD_TOO_LONG)
		return emit_reason(rec, AF_REASON_OVERSIZE, f->scratch, fld.len, off, line);
	return emit(f, rec, f->scratch, fld.len, off, line, NUL_UNKNOWN);
}

static enum step step_csv_row(struct af_file *f, struct af_record *rec)
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
		if (f->pos == f->end || (f->pos + 1 == f->end && b[f->pos] == '\r' && !f->eof)) {
			if (!f->eof)
				return STEP_MORE;
			if (f->truncated)
				return emit_truncated(f, rec);
			f->state = ST_DONE;
			return STEP_AGAIN;
		}
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
	if (!f->eof && !no_room(f))
		return STEP_MORE;
	if (f->truncated)
		return emit_truncated(f, rec);
	if (f->eof) {
		f->in_rec = false;
		f->line = f->rec_line + f->csv.newlines;
		if (f->csv.in_quotes)
			return emit_reason(rec, AF_REASON_MALFORMED_CSV, b + f->rec,
			                   f->end - f->rec, f->buf_off + f->rec, f->rec_line);
		return emit_row(f, rec, b + f->rec, trim_end(b + f->rec, f->end - f->rec));
	}
	return emit_oversize(f, rec, ST_SKIP_ROW);
}

static enum step step_skip_row(struct af_file *f, struct af_record *rec)
{
	const char *nl = af_csv_scan_row(&f->csv, f->buf + f->pos, f->buf + f->end);
	if (nl) {
		f->pos = (size_t)(nl - f->buf) + 1;
		f->line = f->rec_line + f->csv.newlines + 1;
		f->state = ST_CSV_ROW;
		return STEP_AGAIN;
	}
	f->pos = f->end;
	if (!f->eof)
		return STEP_MORE;
	if (f->truncated)
		return emit_truncated(f, rec);
	f->state = ST_DONE;
	return STEP_AGAIN;
}

static enum step step(struct af_file *f, struct af_record *rec)
{
	switch (f->state) {
	case ST_START: return step_start(f);
	case ST_DETECT: return step_detect(f, rec);
	case ST_TOP: return step_top(f, rec);
	case ST_LINE: return step_line(f, rec);
	case ST_VALUE: return step_value(f, rec);
	case ST_ARRAY: return step_array(f, rec);
	case ST_ENV_TAIL: return step_env_tail(f, rec);
	case ST_CSV_ROW: return step_csv_row(f, rec);
	case ST_SKIP_LINE: return step_skip_line(f, rec);
	case ST_SKIP_VALUE: return step_skip_value(f, rec);
	case ST_SKIP_ROW: return step_skip_row(f, rec);
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
	if (!no_room(f)) {
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
		enum step r = step(f, rec);
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
