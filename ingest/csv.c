/* csv.c - split rows of an RFC 4180 CSV file (the Purview audit export).
 *
 * Thread: the source thread (see csv.h). In: bytes of the file. Out: row
 * ends, a column index, one unquoted field.
 *
 * DESIGN: see csv.h. Inside a quoted field every '"' belongs to a "" pair
 * except the closing one, so once the closing quote is found the content
 * can be unescaped by copying the runs between quotes.
 */
#include "ingest/csv.h"

#include <string.h>
#include <strings.h>

void af_csv_scan_init(struct af_csv_scan *s)
{
	s->in_quotes = false;
	s->newlines = 0;
}

const char *af_csv_scan_row(struct af_csv_scan *s, const char *p, const char *end)
{
	for (; p < end; p++) {
		if (*p == '"') {
			s->in_quotes = !s->in_quotes;
		} else if (*p == '\n') {
			if (!s->in_quotes)
				return p;
			s->newlines++;
		}
	}
	return NULL;
}

/* Bounds of the field that starts at p: its content is [*cs, *ce), inside
 * the quotes of a quoted field. Returns where the field ends: at the ','
 * after it, or at e. An unterminated quoted field runs to e. */
static const char *field_bounds(const char *p, const char *e, const char **cs, const char **ce,
                                bool *quoted)
{
	*quoted = p < e && *p == '"';
	if (p >= e) {
		*cs = *ce = e;
		return e;
	}
	if (!*quoted) {
		const char *comma = memchr(p, ',', (size_t)(e - p));
		*cs = p;
		*ce = comma ? comma : e;
		return *ce;
	}
	*cs = ++p;
	for (;;) {
		const char *q = memchr(p, '"', (size_t)(e - p));
		if (!q) {
			*ce = e;
			return e;
		}
		if (q + 1 < e && q[1] == '"') {
			p = q + 2;
			continue;
		}
		*ce = q;
		const char *comma = memchr(q + 1, ',', (size_t)(e - q - 1));
		return comma ? comma : e;
	}
}

long af_csv_find_column(const char *row, size_t len, const char *name)
{
	const char *p = row, *e = row + len;
	size_t name_len = strlen(name);
	for (long i = 0;; i++) {
		const char *cs, *ce;
		bool quoted;
		const char *next = field_bounds(p, e, &cs, &ce, &quoted);
		while (cs < ce && (*cs == ' ' || *cs == '\t'))
			cs++;
		while (ce > cs && (ce[-1] == ' ' || ce[-1] == '\t' || ce[-1] == '\r'))
			ce--;
		if ((size_t)(ce - cs) == name_len && strncasecmp(cs, name, name_len) == 0)
			return i;
		if (next == e)
			return -1;
		p = next + 1;
	}
}

enum af_csv_field_status af_csv_copy_field(const char *row, size_t len, size_t col, char *dst,
                                           size_t cap, struct af_csv_field *out)
{
	const char *p = row, *e = row + len;
	const char *cs, *ce;
	bool quoted;
	for (size_t i = 0;; i++) {
		const char *next = field_bounds(p, e, &cs, &ce, &quoted);
		if (i == col)
			break;
		if (next == e)
			return AF_CSV_FIELD_MISSING;
		p = next + 1;
	}

	out->offset = (size_t)(cs - row);
	out->newlines = 0;
	for (const char *q = row; (q = memchr(q, '\n', (size_t)(cs - q))) != NULL; q++)
		out->newlines++;

	size_t n = 0;
	enum af_csv_field_status st = AF_CSV_FIELD_OK;
	const char *s = cs;
	while (s < ce) {
		const char *q = quoted ? memchr(s, '"', (size_t)(ce - s)) : NULL;
		/* A run ends just after the first quote of a "" pair. */
		size_t run = (size_t)((q ? q + 1 : ce) - s);
		if (run > cap - n) {
			memcpy(dst + n, s, cap - n);
			n = cap;
			st = AF_CSV_FIELD_TOO_LONG;
			break;
		}
		memcpy(dst + n, s, run);
		n += run;
		s = q ? q + 2 : ce;
	}
	out->len = n;
	return st;
}
