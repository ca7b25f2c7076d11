/* test_csv.c - finding row ends, header columns and unquoted fields in
 * RFC 4180 text. */
#include <criterion/criterion.h>

#include <string.h>

#include "ingest/csv.h"

static const char *row_end(const char *s, struct af_csv_scan *st)
{
	af_csv_scan_init(st);
	return af_csv_scan_row(st, s, s + strlen(s));
}

Test(csv, ends_a_row_at_its_newline)
{
	const char *s = "a,b,c\nd,e,f\n";
	struct af_csv_scan st;
	cr_assert_eq(row_end(s, &st), s + 5);
	cr_assert_eq(st.newlines, 0);
}

Test(csv, does_not_end_a_row_at_a_newline_inside_quotes)
{
	const char *s = "a,\"b\nc\"\"\n\",d\nnext\n";
	struct af_csv_scan st;
	cr_assert_eq(row_end(s, &st), strchr(s, 'd') + 1);
	cr_assert_eq(st.newlines, 2);
}

Test(csv, finds_no_end_in_an_unterminated_row)
{
	struct af_csv_scan st;
	cr_assert_null(row_end("a,\"b\nc\n", &st));
	cr_assert(st.in_quotes);
}

Test(csv, resumes_a_row_scan_across_chunks)
{
	const char *s = "x,\"1\n2\",\"\"\"\n\"\nrest";
	size_t n = strlen(s);
	for (size_t cut = 0; cut <= n; cut++) {
		struct af_csv_scan st;
		af_csv_scan_init(&st);
		const char *end = af_csv_scan_row(&st, s, s + cut);
		if (!end)
			end = af_csv_scan_row(&st, s + cut, s + n);
		cr_assert_eq(end, s + 13, "cut at %zu", cut);
		cr_assert_eq(st.newlines, 2, "cut at %zu", cut);
	}
}

Test(csv, finds_the_auditdata_column_of_the_old_layout)
{
	const char *h = "CreationDate,UserIds,Operations,AuditData";
	cr_assert_eq(af_csv_find_column(h, strlen(h), "AuditData"), 3);
}

Test(csv, finds_the_auditdata_column_of_a_quoted_new_layout)
{
	const char *h = "\"RecordId\",\"CreationDate\",\"RecordType\",\"Operation\",\"UserId\","
	                "\"AuditData\",\"AssociatedAdminUnits\"";
	cr_assert_eq(af_csv_find_column(h, strlen(h), "AuditData"), 5);
}

Test(csv, matches_the_column_name_in_any_case_and_with_blanks)
{
	const char *h = "a, auditdata ,c\r";
	cr_assert_eq(af_csv_find_column(h, strlen(h), "AuditData"), 1);
}

Test(csv, returns_minus_one_when_the_column_is_absent)
{
	const char *h = "a,AuditDataX,\"Audit\"";
	cr_assert_eq(af_csv_find_column(h, strlen(h), "AuditData"), -1);
}

static enum af_csv_field_status field(const char *row, size_t col, char *dst, size_t cap,
                                      struct af_csv_field *out)
{
	return af_csv_copy_field(row, strlen(row), col, dst, cap, out);
}

/* The field copied into dst is exactly want. */
static void assert_copied(const char *dst, const struct af_csv_field *fld, const char *want)
{
	cr_assert_eq(fld->len, strlen(want));
	cr_assert_eq(memcmp(dst, want, fld->len), 0);
}

Test(csv, copies_a_quoted_field_turning_doubled_quotes_into_one)
{
	char dst[64];
	struct af_csv_field fld;
	const char *row = "1,\"x,y\",\"{\"\"a\"\":\"\"b,c\"\"}\",tail";
	cr_assert_eq(field(row, 2, dst, sizeof(dst), &fld), AF_CSV_FIELD_OK);
	assert_copied(dst, &fld, "{\"a\":\"b,c\"}");
	cr_assert_eq(fld.offset, 9);
}

Test(csv, copies_an_unquoted_field)
{
	char dst[64];
	struct af_csv_field fld;
	cr_assert_eq(field("a,bc,d", 1, dst, sizeof(dst), &fld), AF_CSV_FIELD_OK);
	assert_copied(dst, &fld, "bc");
	cr_assert_eq(fld.offset, 2);
}

Test(csv, copies_an_empty_last_field)
{
	char dst[8];
	struct af_csv_field fld;
	cr_assert_eq(field("a,b,", 2, dst, sizeof(dst), &fld), AF_CSV_FIELD_OK);
	cr_assert_eq(fld.len, 0);
	cr_assert_eq(fld.offset, 4);
}

Test(csv, reports_a_missing_field)
{
	char dst[8];
	struct af_csv_field fld;
	cr_assert_eq(field("a,\"b,c\"", 2, dst, sizeof(dst), &fld), AF_CSV_FIELD_MISSING);
}

Test(csv, reports_a_field_longer_than_the_destination)
{
	char dst[4];
	struct af_csv_field fld;
	cr_assert_eq(field("\"ab\"\"cd\"", 0, dst, sizeof(dst), &fld), AF_CSV_FIELD_TOO_LONG);
	assert_copied(dst, &fld, "ab\"c");
}

Test(csv, accepts_a_field_exactly_as_long_as_the_destination)
{
	char dst[4];
	struct af_csv_field fld;
	cr_assert_eq(field("x,\"a\"\"bc\"", 1, dst, sizeof(dst), &fld), AF_CSV_FIELD_OK);
	assert_copied(dst, &fld, "a\"bc");
}

Test(csv, counts_the_newlines_before_the_field)
{
	char dst[16];
	struct af_csv_field fld;
	cr_assert_eq(field("\"a\nb\",\"c\r\nd\",\"e\"", 2, dst, sizeof(dst), &fld),
	             AF_CSV_FIELD_OK);
	cr_assert_eq(fld.newlines, 2);
	cr_assert_eq(fld.offset, 14);
	cr_assert_eq(fld.len, 1);
}

Test(csv, treats_a_quote_inside_an_unquoted_field_as_data)
{
	char dst[16];
	struct af_csv_field fld;
	cr_assert_eq(field("ab\"c,d", 0, dst, sizeof(dst), &fld), AF_CSV_FIELD_OK);
	assert_copied(dst, &fld, "ab\"c");
}
