/* test_dlq.c - the dead-letter output: exact lines, truncation at a UTF-8
 * boundary, base64 for bytes that are not text, counts, write errors. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/dlq.h"
#include "tests/sinks/sinks_test.h"

static struct af_test_dir t;
static char err[256];

static void af_setup(void)
{
	af_test_dir_make(&t, "dlq.jsonl");
	err[0] = '\0';
}

static void af_teardown(void)
{
	af_test_dir_remove(&t);
}

TestSuite(dlq, .init = af_setup, .fini = af_teardown);

/* Write one record through a fresh DLQ and return the file's text. */
static char *af_one(enum af_reason reason, const char *detail, const char *path, const char *raw,
                    size_t raw_len, size_t raw_max)
{
	struct af_dlq *dlq = af_dlq_open(t.path, raw_max, err, sizeof err);

	cr_assert_not_null(dlq, "%s", err);
	cr_assert_eq(af_dlq_write(dlq, reason, detail, path, 12, 3456, 2, raw, raw_len), AF_OK);
	cr_assert_eq(af_dlq_close(dlq, err, sizeof err), AF_OK, "%s", err);
	return af_test_read_file(t.path, NULL);
}

/* The base64 text of "raw_base64" in line, decoded into out. */
static size_t af_raw_base64(const char *line, unsigned char *out)
{
	const char *p = strstr(line, "\"raw_base64\":\"");
	cr_assert_not_null(p, "%s", line);
	p += strlen("\"raw_base64\":\"");
	const char *end = strchr(p, '"');
	cr_assert_not_null(end);
	return af_test_base64_decode(p, (size_t)(end - p), out);
}

Test(dlq, writes_a_record_as_one_json_line)
{
	const char *raw = "{\"Id\": 1,";
	char *got =
	    af_one(AF_REASON_MALFORMED_JSON, "unexpected end", "in/a.json", raw, strlen(raw), 0);

	cr_assert_str_eq(got, "{\"reason\":\"malformed_json\",\"detail\":\"unexpected end\","
	                      "\"source\":{\"path\":\"in/a.json\",\"line\":12,\"offset\":3456,"
	                      "\"input\":2},\"raw\":\"{\\\"Id\\\": 1,\",\"raw_len\":9,"
	                      "\"raw_truncated\":false}\n");
	free(got);
}

Test(dlq, leaves_out_detail_and_path_when_there_are_none)
{
	char *got = af_one(AF_REASON_NOT_OBJECT, NULL, NULL, "[]", 2, 0);

	cr_assert_str_eq(got,
	                 "{\"reason\":\"not_object\",\"source\":{\"line\":12,\"offset\":3456,"
	                 "\"input\":2},\"raw\":\"[]\",\"raw_len\":2,\"raw_truncated\":false}\n");
	free(got);
}

Test(dlq, escapes_control_characters_in_the_raw_text)
{
	char *got = af_one(AF_REASON_MALFORMED_CSV, NULL, NULL, "a\tb\r\n", 5, 0);

	cr_assert_not_null(strstr(got, "\"raw\":\"a\\tb\\r\\n\""), "%s", got);
	free(got);
}

Test(dlq, truncates_the_raw_text_at_a_utf8_boundary)
{
	/* "ab€c": keeping 3 or 4 bytes would split the euro sign. */
	char *got = af_one(AF_REASON_OVERSIZE, NULL, NULL,
	                   "ab\xe2\x82\xac"
	                   "c",
	                   6, 4);

	cr_assert_not_null(strstr(got, "\"raw\":\"ab\",\"raw_len\":6,\"raw_truncated\":true}"),
	                   "%s", got);
	free(got);
}

Test(dlq, keeps_a_whole_character_that_fits)
{
	char *got = af_one(AF_REASON_OVERSIZE, NULL, NULL,
	                   "ab\xe2\x82\xac"
	                   "c",
	                   6, 5);

	cr_assert_not_null(strstr(got, "\"raw\":\"ab\xe2\x82\xac\",\"raw_len\":6,"
	                               "\"raw_truncated\":true}"),
	                   "%s", got);
	free(got);
}

Test(dlq, keeps_raw_max_bytes_by_default_when_given_zero)
{
	static char raw[AF_DLQ_RAW_MAX_DEFAULT + 100];
	char *got, *p;

	memset(raw, 'x', sizeof raw);
	got = af_one(AF_REASON_OVERSIZE, NULL, NULL, raw, sizeof raw, 0);
	p = strstr(got, "\"raw\":\"");
	cr_assert_not_null(p);
	p += strlen("\"raw\":\"");
	cr_assert_eq(strspn(p, "x"), AF_DLQ_RAW_MAX_DEFAULT);
	cr_assert_not_null(strstr(got, "\"raw_truncated\":true"));
	free(got);
}

Test(dlq, writes_invalid_utf8_as_base64_that_decodes_to_the_same_bytes)
{
	const char raw[] = "{\"a\":\"\xff\xfe\xc3\"}";
	unsigned char back[64];
	char *got = af_one(AF_REASON_INVALID_UTF8, NULL, "x.json", raw, sizeof raw - 1, 0);

	cr_assert_null(strstr(got, "\"raw\":"), "%s", got);
	cr_assert_eq(af_raw_base64(got, back), sizeof raw - 1);
	cr_assert_eq(memcmp(back, raw, sizeof raw - 1), 0);
	cr_assert_not_null(strstr(got, "\"raw_len\":11,\"raw_truncated\":false}"), "%s", got);
	free(got);
}

Test(dlq, writes_nul_bytes_as_base64)
{
	const char raw[] = {'a', '\0', 'b'};
	unsigned char back[8];
	char *got = af_one(AF_REASON_NUL_BYTES, NULL, NULL, raw, 3, 0);

	cr_assert_not_null(strstr(got, "\"raw_base64\":\"YQBi\""), "%s", got);
	cr_assert_eq(af_raw_base64(got, back), 3);
	cr_assert_eq(memcmp(back, raw, 3), 0);
	free(got);
}

Test(dlq, truncates_base64_bytes_at_exactly_raw_max)
{
	const char raw[] = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";
	unsigned char back[16];
	char *got = af_one(AF_REASON_INVALID_UTF8, NULL, NULL, raw, 10, 4);

	cr_assert_eq(af_raw_base64(got, back), 4);
	cr_assert_not_null(strstr(got, "\"raw_len\":10,\"raw_truncated\":true}"), "%s", got);
	free(got);
}

Test(dlq, writes_an_empty_record)
{
	char *got = af_one(AF_REASON_MISSING_FIELD, NULL, NULL, NULL, 0, 0);

	cr_assert_not_null(strstr(got, "\"raw\":\"\",\"raw_len\":0,\"raw_truncated\":false}"), "%s",
	                   got);
	free(got);
}

Test(dlq, counts_records_per_reason)
{
	struct af_dlq *dlq = af_dlq_open(t.path, 0, err, sizeof err);

	cr_assert_not_null(dlq, "%s", err);
	af_dlq_write(dlq, AF_REASON_MALFORMED_JSON, NULL, NULL, 1, 0, 0, "x", 1);
	af_dlq_write(dlq, AF_REASON_MALFORMED_JSON, NULL, NULL, 2, 2, 0, "y", 1);
	af_dlq_write(dlq, AF_REASON_BAD_TIMESTAMP, NULL, NULL, 3, 4, 0, "{}", 2);
	cr_assert_eq(af_dlq_count(dlq, AF_REASON_MALFORMED_JSON), 2);
	cr_assert_eq(af_dlq_count(dlq, AF_REASON_BAD_TIMESTAMP), 1);
	cr_assert_eq(af_dlq_count(dlq, AF_REASON_OVERSIZE), 0);
	cr_assert_eq(af_dlq_count(dlq, AF_REASON_COUNT), 0);
	cr_assert_eq(af_dlq_total(dlq), 3);
	cr_assert_eq(af_dlq_close(dlq, err, sizeof err), AF_OK, "%s", err);

	char *got = af_test_read_file(t.path, NULL);
	size_t lines = 0;
	for (const char *p = got; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, 3);
	free(got);
}

Test(dlq, counts_without_writing_when_given_no_path)
{
	struct af_dlq *dlq = af_dlq_open(NULL, 0, err, sizeof err);

	cr_assert_not_null(dlq, "%s", err);
	cr_assert_eq(af_dlq_write(dlq, AF_REASON_OVERSIZE, NULL, NULL, 1, 0, 0, "x", 1), AF_OK);
	cr_assert_eq(af_dlq_count(dlq, AF_REASON_OVERSIZE), 1);
	cr_assert_eq(af_dlq_flush(dlq), AF_OK);
	cr_assert_eq(af_dlq_close(dlq, err, sizeof err), AF_OK);
}

Test(dlq, reports_a_full_disk_when_closing)
{
	struct af_dlq *dlq = af_dlq_open("/dev/full", 0, err, sizeof err);

	cr_assert_not_null(dlq, "%s", err);
	af_dlq_write(dlq, AF_REASON_MALFORMED_JSON, NULL, NULL, 1, 0, 0, "x", 1);
	cr_assert_eq(af_dlq_close(dlq, err, sizeof err), AF_E_IO);
	cr_assert_not_null(strstr(err, "/dev/full"), "%s", err);
	cr_assert_not_null(strstr(err, "No space left on device"), "%s", err);
}

Test(dlq, reports_a_full_disk_on_flush)
{
	struct af_dlq *dlq = af_dlq_open("/dev/full", 0, err, sizeof err);

	cr_assert_not_null(dlq, "%s", err);
	af_dlq_write(dlq, AF_REASON_MALFORMED_JSON, NULL, NULL, 1, 0, 0, "x", 1);
	cr_assert_eq(af_dlq_flush(dlq), AF_E_IO);
	cr_assert_eq(af_dlq_write(dlq, AF_REASON_MALFORMED_JSON, NULL, NULL, 2, 1, 0, "y", 1),
	             AF_E_IO);
	cr_assert_eq(af_dlq_count(dlq, AF_REASON_MALFORMED_JSON), 2);
	cr_assert_eq(af_dlq_close(dlq, err, sizeof err), AF_E_IO);
}

Test(dlq, names_the_path_when_it_cannot_open_it)
{
	cr_assert_null(af_dlq_open("/nonexistent-dir/dlq.jsonl", 0, err, sizeof err));
	cr_assert_not_null(strstr(err, "/nonexistent-dir/dlq.jsonl"), "%s", err);
}

Test(dlq, writes_to_dev_stdout, .init = cr_redirect_stdout)
{
	struct af_dlq *dlq = af_dlq_open("/dev/stdout", 0, err, sizeof err);

	cr_assert_not_null(dlq, "%s", err);
	af_dlq_write(dlq, AF_REASON_NOT_OBJECT, NULL, NULL, 1, 0, 0, "7", 1);
	cr_assert_eq(af_dlq_close(dlq, err, sizeof err), AF_OK, "%s", err);
	cr_assert_stdout_eq_str("{\"reason\":\"not_object\",\"source\":{\"line\":1,\"offset\":0,"
	                        "\"input\":0},\"raw\":\"7\",\"raw_len\":1,"
	                        "\"raw_truncated\":false}\n");
}

/* ---- opening to append ---- */

Test(dlq, a_second_output_opened_to_append_adds_its_lines_after_the_first)
{
	char *first, *got, want[512];
	struct af_dlq *dlq;
	uint64_t cut = 99;

	first = af_one(AF_REASON_MALFORMED_JSON, "unexpected end", "a.json", "{\"Id\":", 6, 0);
	dlq = af_dlq_open_append(t.path, 0, &cut, err, sizeof err);
	cr_assert_not_null(dlq, "%s", err);
	cr_assert_eq(cut, 0);
	cr_assert_eq(af_dlq_write(dlq, AF_REASON_NOT_OBJECT, NULL, NULL, 12, 3456, 2, "[]", 2),
	             AF_OK);
	cr_assert_eq(af_dlq_close(dlq, err, sizeof err), AF_OK, "%s", err);

	snprintf(want, sizeof want, "%s%s", first,
	         "{\"reason\":\"not_object\",\"source\":{\"line\":12,\"offset\":3456,"
	         "\"input\":2},\"raw\":\"[]\",\"raw_len\":2,\"raw_truncated\":false}\n");
	got = af_test_read_file(t.path, NULL);
	cr_assert_str_eq(got, want);
	free(got);
	free(first);
}

Test(dlq, appending_cuts_the_partial_line_a_killed_writer_left)
{
	char *first, *got;
	struct af_dlq *dlq;
	uint64_t cut = 0;
	FILE *f;

	first = af_one(AF_REASON_NOT_OBJECT, NULL, NULL, "[]", 2, 0);
	f = fopen(t.path, "ab");
	cr_assert_not_null(f);
	fputs("{\"reason\":\"not_obj", f);
	fclose(f);

	dlq = af_dlq_open_append(t.path, 0, &cut, err, sizeof err);
	cr_assert_not_null(dlq, "%s", err);
	cr_assert_eq(cut, strlen("{\"reason\":\"not_obj"));
	cr_assert_eq(af_dlq_write(dlq, AF_REASON_NOT_OBJECT, NULL, NULL, 12, 3456, 2, "[]", 2),
	             AF_OK);
	cr_assert_eq(af_dlq_close(dlq, err, sizeof err), AF_OK, "%s", err);

	got = af_test_read_file(t.path, NULL);
	cr_assert_eq(strlen(got), 2 * strlen(first));
	cr_assert_eq(strncmp(got, first, strlen(first)), 0, "%s", got);
	cr_assert_str_eq(got + strlen(first), first);
	free(got);
	free(first);
}

Test(dlq, appending_without_a_path_counts_only)
{
	struct af_dlq *dlq;
	uint64_t cut = 99;

	dlq = af_dlq_open_append(NULL, 0, &cut, err, sizeof err);
	cr_assert_not_null(dlq, "%s", err);
	cr_assert_eq(cut, 0);
	cr_assert_not(af_dlq_enabled(dlq));
	cr_assert_eq(af_dlq_write(dlq, AF_REASON_OVERSIZE, NULL, NULL, 1, 0, 0, "x", 1), AF_OK);
	cr_assert_eq(af_dlq_count(dlq, AF_REASON_OVERSIZE), 1);
	cr_assert_eq(af_dlq_close(dlq, err, sizeof err), AF_OK);
}
