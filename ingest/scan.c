/* scan.c - JSON byte scanners for the file reader (see ingest/scan.h).
 *
 * Thread: the source thread, through ingest/file_json.c.
 * In: a span of bytes and the caller's scan state. Out: where a value ends,
 * or that it goes on; whether an object opens an envelope.
 *
 * DESIGN: string bodies are the bulk of an audit record, so they are
 * skipped eight bytes at a time with a SWAR test for '"', '\\' and '\n';
 * outside strings a 256-entry class table finds the next bracket, quote or
 * line break.
 */
#include "ingest/scan.h"

#include <string.h>
#include <strings.h>

/* ---- where a value ends ---- */

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

enum af_scan_res af_scan_value(struct af_scan *sc, const char *buf, size_t *posp, size_t end,
                               uint64_t *line, bool stop_nl)
{
	const char *p = buf + *posp, *e = buf + end;
	enum af_scan_res res = AF_SCAN_MORE;

	if (sc->scalar) {
		while (p < e && !is_scalar_end(*p))
			p++;
		if (p < e)
			res = AF_SCAN_DONE;
		goto out;
	}
	while (p < e) {
		if (sc->in_str) {
			if (sc->esc) {
				if (*p == '\n') {
					res = AF_SCAN_BROKEN;
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
				res = AF_SCAN_BROKEN;
				goto out;
			}
			sc->in_str = false;
			p++;
			if (sc->depth == 0) {
				res = AF_SCAN_DONE;
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
				res = AF_SCAN_DONE;
				goto out;
			}
			sc->depth--;
			break;
		case CLS_QUOTE: sc->in_str = true; break;
		case CLS_NL:
			if (stop_nl) {
				res = AF_SCAN_NEWLINE;
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

/* ---- envelope ---- */

enum af_scan_env af_scan_envelope(const char *p, const char *e, bool final, bool one_line,
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
				return final ? AF_SCAN_ENV_NO : AF_SCAN_ENV_MORE;
			if (strncasecmp(q, key, klen) != 0)
				return AF_SCAN_ENV_NO;
			q += klen;
			continue;
		}
		if (q == e)
			return final ? AF_SCAN_ENV_NO : AF_SCAN_ENV_MORE;
		if (*q != (part == 1 ? ':' : '['))
			return AF_SCAN_ENV_NO;
		q++;
	}
	*after = q;
	return AF_SCAN_ENV_YES;
}
