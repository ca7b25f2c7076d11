/* scan.h - JSON byte scanners for the file reader: where a value ends, and
 * whether an object opens a {"records":[ envelope. Internal to ingest/.
 *
 * Thread: the source thread, through the file reader (ingest/file_json.c);
 * the functions keep no state beyond the caller's af_scan.
 * In: a span of a buffer, which may end in the middle of a value.
 * Out: where the value ends, or that it goes on; the lines passed.
 *
 * DESIGN: the scanner does not parse JSON. It counts bracket depth outside
 * strings and skips string bodies, and keeps its state (depth, in-string,
 * escape) in struct af_scan between calls, so a value can be scanned across
 * buffer fills and one longer than any buffer can be skipped. A raw '\n'
 * inside a string is invalid JSON, so it ends the value (AF_SCAN_BROKEN)
 * rather than swallowing what follows; the parser will reject the value.
 */
#ifndef AF_INGEST_SCAN_H
#define AF_INGEST_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The bracket scanner's state, kept across fills. Caller's storage,
 * zeroed by the caller at the start of each value. */
struct af_scan {
	uint32_t depth; /* brackets open */
	bool in_str;
	bool esc;    /* the last byte was a backslash inside a string */
	bool scalar; /* a bare scalar element: ends at a delimiter */
};

enum af_scan_res {
	AF_SCAN_MORE,    /* consumed everything; the value goes on */
	AF_SCAN_DONE,    /* the value ended just before pos */
	AF_SCAN_BROKEN,  /* a raw '\n' inside a string, at pos */
	AF_SCAN_NEWLINE, /* a '\n' outside strings, at pos (when asked to stop) */
};

/* Scan the value in buf from *posp to end, moving *posp. stop_nl: return
 * AF_SCAN_NEWLINE at a '\n' outside strings instead of counting it in
 * *line. Reads only buf[*posp..end).
 * Cost: one pass; string bodies eight bytes per step. */
enum af_scan_res af_scan_value(struct af_scan *sc, const char *buf, size_t *posp, size_t end,
                               uint64_t *line, bool stop_nl);

enum af_scan_env { AF_SCAN_ENV_NO, AF_SCAN_ENV_YES, AF_SCAN_ENV_MORE };

/* Is the '{' at p the start of {"records":[ (any case, blanks between)?
 * On yes, *after is just past the '['. final: no more bytes will come
 * (else AF_SCAN_ENV_MORE when [p, e) is too short to tell).
 * one_line: a line break between the parts means no. */
enum af_scan_env af_scan_envelope(const char *p, const char *e, bool final, bool one_line,
                                  const char **after);

#endif
