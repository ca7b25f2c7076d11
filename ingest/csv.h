/* csv.h - split rows of an RFC 4180 CSV file (the Purview audit export).
 *
 * Thread: the source thread, through the file reader (ingest/file_csv.c); the
 * functions keep no state beyond the caller's af_csv_scan.
 * In: bytes of the file. Out: where a row ends, which column holds a header
 * name, and one field of a row, unquoted, copied into the caller's buffer.
 *
 * DESIGN: finding the end of a row needs only the quote parity: every '"'
 * toggles it (a doubled "" toggles twice) and a '\n' ends the row when the
 * parity is even. That state is one bit, so the scan resumes across reads
 * and can skip a row longer than any buffer. Splitting a complete row into
 * fields is a second, separate pass, done only for the one field wanted.
 * The splitter is lenient where exports are sloppy: a quote inside an
 * unquoted field is data, and bytes after a closing quote are dropped.
 */
#ifndef AF_INGEST_CSV_H
#define AF_INGEST_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a row scan stands; caller's storage, reset with af_csv_scan_init at
 * the first byte of each row. */
struct af_csv_scan {
	bool in_quotes;
	uint64_t newlines; /* '\n' passed inside quoted fields of this row */
};

void af_csv_scan_init(struct af_csv_scan *s);

/* Scan [p, end) for the '\n' that ends the current row. Returns it, or NULL
 * when the row goes on past end (the state in s carries over: call again
 * with the bytes that follow). The '\r' of a CRLF is left to the caller.
 * Cost: one pass, stopping only at '"' and '\n'. */
const char *af_csv_scan_row(struct af_csv_scan *s, const char *p, const char *end);

/* Index of the column named name in the header row [row, row + len), the
 * names compared ASCII case-insensitively after unquoting and trimming
 * blanks; -1 when absent. row excludes the line break. */
long af_csv_find_column(const char *row, size_t len, const char *name);

enum af_csv_field_status {
	AF_CSV_FIELD_OK = 0,
	AF_CSV_FIELD_MISSING,  /* the row has fewer columns */
	AF_CSV_FIELD_TOO_LONG, /* more than cap bytes; the first cap copied */
};

struct af_csv_field {
	size_t len;        /* bytes written to dst */
	size_t offset;     /* of the field's first content byte, from row */
	uint64_t newlines; /* '\n' in the row before that byte */
};

/* Copy field col (0-based) of the complete row [row, row + len) into dst
 * (cap bytes, caller's), with the enclosing quotes removed and each ""
 * turned into ". row excludes the line break. Fills *out.
 * Cost: the fields before col are skipped with memchr. */
enum af_csv_field_status af_csv_copy_field(const char *row, size_t len, size_t col, char *dst,
                                           size_t cap, struct af_csv_field *out);

#endif
