/* fuzz_csv.c - libFuzzer target for the CSV splitter (ingest/csv.h).
 *
 * Thread: libFuzzer's, one input at a time.
 * In: any bytes, taken as CSV text. Out: nothing; a crash, a sanitizer
 * report or an abort() is the finding.
 *
 * DESIGN: each function is checked against a naive reference written here
 * byte by byte, as the style guide asks of a fast path:
 *  - af_csv_scan_row over the whole text, row after row, must find the row
 *    ends and quoted line breaks a plain quote-parity walk finds, and must
 *    find the same when the text is fed in pieces cut at points drawn from
 *    the input (the scan state carries over, as the file reader needs);
 *  - every row (and the whole input, taken as one row) is copied to a heap
 *    buffer of its exact length, so AddressSanitizer sees a read past it;
 *    af_csv_find_column must agree with the reference splitter for
 *    "AuditData" and for the row's own first name, and af_csv_copy_field,
 *    into a heap buffer exactly cap bytes long, must give the reference's
 *    field (or its first cap bytes and TOO_LONG) at the reference's offset,
 *    for a bounded set of columns and caps.
 * Nothing is kept between inputs.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_csv: %s:%d: check failed: %s\n", __FILE__, __LINE__, \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Columns of a row looked at in full; past it, a sample. */
#define FULL_COLS 48

/* A field as the reference splitter sees it: content [cs, ce) of the row,
 * inside the quotes of a quoted one. */
struct ref_field {
	size_t cs, ce;
	bool quoted;
};

struct ref_row {
	struct ref_field *f;
	size_t n;
};

/* Split row[0..len) the way csv.h describes it, one byte at a time: a
 * field that opens with '"' runs to the first '"' not followed by another
 * (or to the end), and anything between that quote and the next ',' is
 * dropped; any other field runs to the next ','. A trailing ',' makes an
 * empty last field. */
static void ref_split(const char *row, size_t len, struct ref_row *out)
{
	size_t cap = 8, pos = 0;

	out->n = 0;
	out->f = malloc(cap * sizeof(*out->f));
	CHECK(out->f != NULL);
	for (;;) {
		struct ref_field fld = {.quoted = pos < len && row[pos] == '"'};
		size_t i;

		if (fld.quoted) {
			fld.cs = pos + 1;
			for (i = fld.cs; i < len; i++) {
				if (row[i] != '"')
					continue;
				if (i + 1 < len && row[i + 1] == '"') {
					i++;
					continue;
				}
				break;
			}
			fld.ce = i;
			if (i < len)
				i++; /* past the closing quote */
			while (i < len && row[i] != ',')
				i++;
		} else {
			fld.cs = pos;
			for (i = pos; i < len && row[i] != ','; i++)
				;
			fld.ce = i;
		}
		if (out->n == cap) {
			cap *= 2;
			out->f = realloc(out->f, cap * sizeof(*out->f));
			CHECK(out->f != NULL);
		}
		out->f[out->n++] = fld;
		if (i >= len)
			return;
		pos = i + 1;
	}
}

/* The field's text with "" turned into ", into dst (room for ce - cs). */
static size_t ref_unquote(const char *row, const struct ref_field *fld, char *dst)
{
	size_t n = 0;

	for (size_t i = fld->cs; i < fld->ce; i++) {
		dst[n++] = row[i];
		if (fld->quoted && row[i] == '"')
			i++; /* the second quote of the pair */
	}
	return n;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static long ref_find(const char *row, const struct ref_row *rr, const char *name)
{
	size_t nlen = strlen(name);

	for (size_t i = 0; i < rr->n; i++) {
		size_t cs = rr->f[i].cs, ce = rr->f[i].ce;

		while (cs < ce && blank(row[cs]))
			cs++;
		while (ce > cs && (blank(row[ce - 1]) || row[ce - 1] == '\r'))
			ce--;
		if (ce - cs == nlen && strncasecmp(row + cs, name, nlen) == 0)
			return (long)i;
	}
	return -1;
}

/* A deterministic stream of numbers drawn from the input. */
static uint64_t mix(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void check_copy(const char *row, size_t len, const struct ref_row *rr, size_t col,
                       size_t cap, char *want)
{
	char *dst = malloc(cap ? cap : 1);
	struct af_csv_field out = {0};
	enum af_csv_field_status st;

	CHECK(dst != NULL);
	st = af_csv_copy_field(row, len, col, dst, cap, &out);
	if (col >= rr->n) {
		CHECK(st == AF_CSV_FIELD_MISSING);
		free(dst);
		return;
	}
	const struct ref_field *fld = &rr->f[col];
	size_t full = ref_unquote(row, fld, want);
	uint64_t nl = 0;

	for (size_t i = 0; i < fld->cs; i++)
		nl += row[i] == '\n';
	CHECK(st == (full > cap ? AF_CSV_FIELD_TOO_LONG : AF_CSV_FIELD_OK));
	CHECK(out.len == (full > cap ? cap : full));
	CHECK(memcmp(dst, want, out.len) == 0);
	CHECK(out.offset == fld->cs);
	CHECK(out.newlines == nl);
	free(dst);
}

/* One complete row (no line break of its own, though quoted fields may
 * hold some). */
static void check_row(const char *src, size_t len, uint64_t *rng)
{
	char *row = malloc(len ? len : 1);
	char *want = malloc(len ? len : 1);
	struct ref_row rr;
	char first[64];

	CHECK(row != NULL && want != NULL);
	memcpy(row, src, len);
	ref_split(row, len, &rr);

	CHECK(af_csv_find_column(row, len, "AuditData") == ref_find(row, &rr, "AuditData"));
	/* The first field's own text as a name: a hit is likely. */
	size_t flen = rr.f[0].ce - rr.f[0].cs;
	if (flen < sizeof(first) && !memchr(row + rr.f[0].cs, '\0', flen)) {
		memcpy(first, row + rr.f[0].cs, flen);
		first[flen] = '\0';
		CHECK(af_csv_find_column(row, len, first) == ref_find(row, &rr, first));
	}

	for (size_t k = 0; k < FULL_COLS + 4; k++) {
		size_t col = k < FULL_COLS ? k : (size_t)(mix(rng) % (rr.n + 2));
		if (k < FULL_COLS && k > rr.n)
			break;
		size_t flen_col = col < rr.n ? rr.f[col].ce - rr.f[col].cs : 0;
		check_copy(row, len, &rr, col, len, want);
		check_copy(row, len, &rr, col, (size_t)(mix(rng) % (flen_col + 2)), want);
	}
	free(rr.f);
	free(want);
	free(row);
}

/* The reference row end: the first '\n' at even quote parity, from p. */
static const char *ref_row_end(const char *p, const char *end, uint64_t *newlines)
{
	bool q = false;

	*newlines = 0;
	for (; p < end; p++) {
		if (*p == '"')
			q = !q;
		else if (*p == '\n' && !q)
			return p;
		else if (*p == '\n')
			(*newlines)++;
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly the input's length, so a read past the end is caught. */
	char *text = malloc(size ? size : 1);
	const char *end;
	uint64_t rng = size;

	CHECK(text != NULL);
	memcpy(text, data, size);
	end = text + size;
	for (size_t i = 0; i < size && i < 16; i++)
		rng = rng * 131 + data[i];

	const char *p = text;
	for (;;) {
		struct af_csv_scan one, parts;
		uint64_t want_nl;
		const char *want = ref_row_end(p, end, &want_nl);
		const char *got, *q = p;

		af_csv_scan_init(&one);
		got = af_csv_scan_row(&one, p, end);
		CHECK(got == want);
		CHECK(one.newlines == want_nl);

		/* The same row fed in pieces. */
		af_csv_scan_init(&parts);
		do {
			size_t left = (size_t)(end - q);
			size_t step = left ? 1 + (size_t)(mix(&rng) % (left < 64 ? left : 64)) : 0;
			got = af_csv_scan_row(&parts, q, q + step);
			q += step;
		} while (got == NULL && q < end);
		CHECK(got == want);
		CHECK(parts.newlines == one.newlines);
		CHECK(parts.in_quotes == one.in_quotes);

		check_row(p, (size_t)((want ? want : end) - p), &rng);
		if (want == NULL)
			break;
		p = want + 1;
	}
	/* The whole text as one row: any bytes, line breaks included. */
	check_row(text, size, &rng);
	free(text);
	return 0;
}
