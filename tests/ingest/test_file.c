/* test_file.c - the file reader: formats, compression, framing failures,
 * positions, directories and errors.
 *
 * Each test writes its input into a fresh mkdtemp directory, reads every
 * record with af_file_next and checks the copies. Reading a record also
 * touches its last padding byte, so AddressSanitizer fails the test when a
 * view is not followed by AF_FILE_PADDING readable bytes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, strndup */
#endif
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "ingest/file.h"

#define MIB (1024u * 1024)

static char tmpdir[PATH_MAX];

static void make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/af_test_file_XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tmpdir(void)
{
	nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(file, .init = make_tmpdir, .fini = remove_tmpdir);

/* ---- helpers ---- */

struct rec_copy {
	char *data; /* NUL-terminated copy */
	size_t len;
	enum af_reason reason;
	uint64_t line, offset;
	char *path;
	uint32_t input;
};

struct recs {
	struct rec_copy *r;
	size_t n, cap;
};

/* Path of name inside the test directory; a fresh string the caller
 * frees. */
static char *tmp_path(const char *name)
{
	char *p;
	cr_assert_neq(asprintf(&p, "%s/%s", tmpdir, name), -1);
	return p;
}

static char *write_file(const char *name, const void *data, size_t len)
{
	char *path = tmp_path(name);
	FILE *fp = fopen(path, "wb");
	cr_assert_not_null(fp, "%s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, fp), len);
	cr_assert_eq(fclose(fp), 0);
	return path;
}

static char *write_str(const char *name, const char *s)
{
	return write_file(name, s, strlen(s));
}

static void push(struct recs *out, const struct af_record *rec)
{
	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 16;
		out->r = realloc(out->r, out->cap * sizeof(*out->r));
		cr_assert_not_null(out->r);
	}
	struct rec_copy *c = &out->r[out->n++];
	c->data = malloc(rec->len + 1);
	cr_assert_not_null(c->data);
	memcpy(c->data, rec->data, rec->len);
	c->data[rec->len] = '\0';
	c->len = rec->len;
	c->reason = rec->reason;
	c->line = rec->line;
	c->offset = rec->offset;
	c->path = strdup(rec->path);
	c->input = rec->input;
}

static void drain(struct af_file *f, struct recs *out)
{
	char err[512] = "";
	struct af_record rec;
	af_err_t e;
	while ((e = af_file_next(f, &rec, err, sizeof(err))) == AF_OK) {
		/* simdjson reads up to AF_FILE_PADDING bytes past the end. */
		volatile char last = rec.data[rec.len + AF_FILE_PADDING - 1];
		(void)last;
		push(out, &rec);
	}
	cr_assert_eq(e, AF_EOF, "af_file_next: %d %s", e, err);
}

static void read_all(const char *path, size_t max, struct recs *out)
{
	struct af_file_opts opts = {.max_record_bytes = max, .input = 7};
	char err[512] = "";
	struct af_file *f = af_file_open(path, &opts, err, sizeof(err));
	cr_assert_not_null(f, "af_file_open: %s", err);
	drain(f, out);
	af_file_close(f);
}

static void free_recs(struct recs *out)
{
	for (size_t i = 0; i < out->n; i++) {
		free(out->r[i].data);
		free(out->r[i].path);
	}
	free(out->r);
	memset(out, 0, sizeof(*out));
}

/* Read the file made of s and check its records are exactly want[]. */
static void expect_records(const char *s, const char *const *want, size_t nwant)
{
	char *path = write_str("in.json", s);
	struct recs got = {0};
	read_all(path, 0, &got);
	cr_assert_eq(got.n, nwant, "got %zu records, want %zu", got.n, nwant);
	for (size_t i = 0; i < nwant; i++) {
		cr_assert_eq(got.r[i].reason, AF_REASON_NONE, "record %zu: reason %d", i,
		             got.r[i].reason);
		cr_assert_str_eq(got.r[i].data, want[i], "record %zu", i);
	}
	free_recs(&got);
	free(path);
}

#define EXPECT(s, ...)                                                                             \
	do {                                                                                       \
		const char *const want_[] = {__VA_ARGS__};                                         \
		expect_records(s, want_, sizeof(want_) / sizeof(want_[0]));                        \
	} while (0)

static unsigned char *gzip_bytes(const void *src, size_t len, size_t *out_len)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	size_t cap = deflateBound(&z, len);
	unsigned char *dst = malloc(cap);
	cr_assert_not_null(dst);
	z.next_in = (Bytef *)src;
	z.avail_in = (uInt)len;
	z.next_out = dst;
	z.avail_out = (uInt)cap;
	cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	*out_len = z.total_out;
	deflateEnd(&z);
	return dst;
}

static unsigned char *zstd_bytes(const void *src, size_t len, size_t *out_len)
{
	size_t cap = ZSTD_compressBound(len);
	unsigned char *dst = malloc(cap);
	cr_assert_not_null(dst);
	*out_len = ZSTD_compress(dst, cap, src, len, 3);
	cr_assert(!ZSTD_isError(*out_len));
	return dst;
}

/* n JSON lines that do not compress much: {"n":i,"r":"<hex>"}. */
static char *noisy_lines(size_t n, size_t *len)
{
	size_t cap = n * 100 + 1, used = 0;
	char *s = malloc(cap);
	cr_assert_not_null(s);
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < n; i++) {
		used += (size_t)snprintf(s + used, cap - used, "{\"n\":%zu,\"r\":\"", i);
		for (int k = 0; k < 4; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			used += (size_t)snprintf(s + used, cap - used, "%016llx",
			                         (unsigned long long)x);
		}
		used += (size_t)snprintf(s + used, cap - used, "\"}\n");
	}
	*len = used;
	return s;
}

/* The n-th line (0-based) of s, without its newline. */
static char *nth_line(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s = strchr(s, '\n') + 1;
	return strndup(s, strcspn(s, "\n"));
}

/* ---- JSON Lines ---- */

Test(file, reads_one_record_per_json_line)
{
	EXPECT("{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n", "{\"a\":1}", "{\"b\":2}", "{\"c\":3}");
}

Test(file, returns_a_last_record_without_a_newline)
{
	EXPECT("{\"a\":1}\n{\"b\":2}", "{\"a\":1}", "{\"b\":2}");
}

Test(file, skips_blank_lines_and_strips_the_cr_of_crlf)
{
	EXPECT("\r\n{\"a\":1}\r\n\r\n  \n{\"b\":2}\r\n\n", "{\"a\":1}", "{\"b\":2}");
}

Test(file, reports_the_line_and_offset_of_each_json_line)
{
	char *path = write_str("in.jsonl", "{\"a\":1}\n\n{\"b\":22}\r\n{\"c\":3}");
	struct recs got = {0};
	read_all(path, 0, &got);
	cr_assert_eq(got.n, 3);
	cr_assert_eq(got.r[0].line, 1);
	cr_assert_eq(got.r[0].offset, 0);
	cr_assert_eq(got.r[1].line, 3);
	cr_assert_eq(got.r[1].offset, 9);
	cr_assert_eq(got.r[2].line, 4);
	cr_assert_eq(got.r[2].offset, 19);
	cr_assert_str_eq(got.r[2].path, path);
	cr_assert_eq(got.r[2].input, 7);
	free_recs(&got);
	free(path);
}

Test(file, skips_a_utf8_bom_and_counts_it_in_offsets)
{
	char *path = write_str("bom.jsonl", "\xef\xbb\xbf{\"a\":1}\n{\"b\":2}\n");
	struct recs got = {0};
	read_all(path, 0, &got);
	cr_assert_eq(got.n, 2);
	cr_assert_str_eq(got.r[0].data, "{\"a\":1}");
	cr_assert_eq(got.r[0].offset, 3);
	cr_assert_eq(got.r[0].line, 1);
	cr_assert_eq(got.r[1].offset, 11);
	free_recs(&got);
	free(path);
}

Test(file, does_not_let_a_broken_line_swallow_the_next_line)
{
	EXPECT("{\"a\":1}\n{\"b\":[1,\n{\"c\":\"x\n{\"d\":4}\n", "{\"a\":1}", "{\"b\":[1,",
	       "{\"c\":\"x", "{\"d\":4}");
}

Test(file, reads_json_lines_whose_first_line_is_broken)
{
	EXPECT("{\"a\":[1,\n{\"b\":2}\n{\"c\":3}\n", "{\"a\":[1,", "{\"b\":2}", "{\"c\":3}");
}

Test(file, returns_a_line_that_is_not_json_as_a_record)
{
	EXPECT("{\"a\":1}\nnot json at all\n{\"b\":2}\n", "{\"a\":1}", "not json at all",
	       "{\"b\":2}");
}

Test(file, reports_nul_bytes_in_a_line)
{
	static const char s[] = "{\"a\":1}\n{\"b\":\"x\0y\"}\n{\"c\":3}\n";
	char *path = write_file("nul.jsonl", s, sizeof(s) - 1);
	struct recs got = {0};
	read_all(path, 0, &got);
	cr_assert_eq(got.n, 3);
	cr_assert_eq(got.r[0].reason, AF_REASON_NONE);
	cr_assert_eq(got.r[1].reason, AF_REASON_NUL_BYTES);
	cr_assert_eq(got.r[1].len, 11);
	cr_assert_eq(memcmp(got.r[1].data, "{\"b\":\"x\0y\"}", 11), 0);
	cr_assert_str_eq(got.r[2].data, "{\"c\":3}");
	free_recs(&got);
	free(path);
}

Test(file, yields_nothing_for_an_empty_file)
{
	char *path = write_str("empty.json", "");
	struct recs got = {0};
	read_all(path, 0, &got);
	cr_assert_eq(got.n, 0);
	free(path);
}

Test(file, keeps_returning_eof_after_the_end)
{
	char *path = write_str("one.json", "{\"a\":1}\n");
	char err[256];
	struct af_file *f = af_file_open(path, NULL, err, sizeof(err));
	cr_assert_not_null(f, "%s", err);
	struct af_record rec;
	cr_assert_eq(af_file_next(f, &rec, err, sizeof(err)), AF_OK);
	cr_assert_eq(af_file_next(f, &rec, err, sizeof(err)), AF_EOF);
	cr_assert_eq(af_file_next(f, &rec, err, sizeof(err)), AF_EOF);
	af_file_close(f);
	free(path);
}

/* ---- concatenated and pretty-printed values ---- */

Test(file, reads_pretty_printed_concatenated_values)
{
	EXPECT("{\n  \"a\": 1,\n  \"b\": {\"c\": [1, 2]}\n}\n{\n  \"d\": \"}]\"\n}\n",
	       "{\n  \"a\": 1,\n  \"b\": {\"c\": [1, 2]}\n}", "{\n  \"d\": \"}]\"\n}");
}

Test(file, reports_the_first_line_of_each_pretty_printed_value)
{
	char *path = write_str("pretty.json", "{\n  \"a\": 1\n}\n\n{\n  \"b\": 2\n}\n");
	struct recs got = {0};
	read_all(path, 0, &got);
	cr_assert_eq(got.n, 2);
	cr_assert_eq(got.r[0].line, 1);
	cr_assert_eq(got.r[1].line, 5);
	cr_assert_eq(got.r[1].offset, 14);
	free_recs(&got);
	free(path);
}

Test(file, splits_values_concatenated_on_one_line)
{
	EXPECT("{\"a\":1}{\"b\":2} {\"c\":3}\n{\"d\":4}", "{\"a\":1}", "{\"b\":2}", "{\"c\":3}",
	       "{\"d\":4}");
}

Test(file, ignores_brackets_and_escaped_quotes_inside_strings)
{
	EXPECT("{\n \"a\": \"{[\\\"]}\\\\\",\n \"b\": \"\\\\\"\n}\n{\n \"c\": 1\n}\n",
	       "{\n \"a\": \"{[\\\"]}\\\\\",\n \"b\": \"\\\\\"\n}", "{\n \"c\": 1\n}");
}

Test(file, ends_a_record_at_a_raw_newline_inside_a_string)
{
	EXPECT("{\n \"a\": \"bro\nken\"\n}\n{\n \"b\": 2\n}\n", "{\n \"a\": \"bro", "ken\"", "}",
	       "{\n \"b\": 2\n}");
}

Test(file, returns_a_truncated_value_at_end_of_file_as_a_record)
{
	EXPECT("{\n \"a\": 1\n}\n{\n \"b\": [1,", "{\n \"a\": 1\n}", "{\n \"b\": [1,");
}

/* ---- arrays and envelopes ---- */

Test(file, yields_the_elements_of_a_json_array)
{
	EXPECT("[{\"a\":1},{\"b\":[2,3]} , {\"c\":\"]\"}]", "{\"a\":1}", "{\"b\":[2,3]}",
	       "{\"c\":\"]\"}");
}

Test(file, yields_the_elements_of_concatenated_arrays)
{
	EXPECT("[\n  {\"a\": 1},\n  {\"b\": 2}\n]\n[{\"c\":3}][]\n[ {\"d\":4} ]", "{\"a\": 1}",
	       "{\"b\": 2}", "{\"c\":3}", "{\"d\":4}");
}

Test(file, returns_non_object_elements_as_records)
{
	EXPECT("[1, \"two\", null, [3], {\"x\":true}, -4.5e3]", "1", "\"two\"", "null", "[3]",
	       "{\"x\":true}", "-4.5e3");
}

Test(file, reports_the_line_of_each_array_element)
{
	char *path = write_str("array.json", "[\n  {\"a\": 1},\n\n  {\"b\": 2}\n]\n");
	struct recs got = {0};
	read_all(path, 0, &got);
	cr_assert_eq(got.n, 2);
	cr_assert_eq(got.r[0].line, 2);
	cr_assert_eq(got.r[0].offset, 4);
	cr_assert_eq(got.r[1].line, 4);
	cr_assert_eq(got.r[1].offset, 17);
	free_recs(&got);
	free(path);
}

Test(file, returns_a_truncated_element_at_end_of_file_as_a_record)
{
	EXPECT("[{\"a\":1},{\"b\":\"unfinis", "{\"a\":1}", "{\"b\":\"unfinis");
}

Test(file, yields_the_records_of_a_diagnostic_envelope)
{
	EXPECT("{\n  \"records\": [\n    {\"a\": 1},\n    {\"b\": 2}\n  ]\n}\n", "{\"a\": 1}",
	       "{\"b\": 2}");
}

Test(file, reads_one_envelope_per_line)
{
	char *path = write_str("eh.json", "{\"records\":[{\"a\":1},{\"b\":2}]}\n"
	                                  "{\"records\":[{\"c\":3}]}\n"
	                                  "{\"records\":[]}\n"
	                                  "{\"records\":[{\"d\":4}]}");
	struct recs got = {0};
	read_all(path, 0, &got);
	cr_assert_eq(got.n, 4);
	cr_assert_str_eq(got.r[0].data, "{\"a\":1}");
	cr_assert_str_eq(got.r[1].data, "{\"b\":2}");
	cr_assert_str_eq(got.r[2].data, "{\"c\":3}");
	cr_assert_eq(got.r[2].line, 2);
	cr_assert_eq(got.r[2].offset, 42);
	cr_assert_str_eq(got.r[3].data, "{\"d\":4}");
	cr_assert_eq(got.r[3].line, 4);
	free_recs(&got);
	free(path);
}

Test(file, does_not_let_a_broken_envelope_line_swallow_the_next_line)
{
	EXPECT("{\"records\":[{\"a\":1}]}\n{\"records\":[{\"b\":2},{\"c\":\n"
	       "{\"records\":[{\"d\":4}]}\n",
	       "{\"a\":1}", "{\"b\":2}", "{\"c\":", "{\"d\":4}");
}

Test(file, matches_the_records_key_in_any_case)
{
	EXPECT("{\"Records\":[{\"a\":1}]}\n{ \"RECORDS\" : [ {\"b\":2} ] }\n", "{\"a\":1}",
	       "{\"b\":2}");
}

Test(file, skips_envelope_members_after_the_records_array)
{
	EXPECT("{\"records\":[{\"a\":1}],\"next\":{\"x\":\"}\"}}\n{\"records\":[{\"b\":2}]}\n",
	       "{\"a\":1}", "{\"b\":2}");
}

Test(file, keeps_an_object_whose_records_key_holds_no_array_whole)
{
	EXPECT("{\"records\":5,\"a\":1}\n{\"other\":[{\"a\":1}]}\n", "{\"records\":5,\"a\":1}",
	       "{\"other\":[{\"a\":1}]}");
}

Test(file, detects_the_format_of_the_first_file)
{
	static const struct {
		const char *text;
		enum af_file_format format;
	} cases[] = {
	    {"{\"a\":1}\n", AF_FORMAT_JSON_LINES},
	    {"[{\"a\":1}]", AF_FORMAT_JSON_ARRAY},
	    {"{\"records\":[{\"a\":1}]}", AF_FORMAT_RECORDS_ENVELOPE},
	    {"CreationDate,UserIds,Operations,AuditData\nx,y,z,\"{}\"\n", AF_FORMAT_CSV},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *path = write_str("fmt", cases[i].text);
		char err[256];
		struct af_file *f = af_file_open(path, NULL, err, sizeof(err));
		cr_assert_not_null(f, "%s", err);
		struct af_record rec;
		cr_assert_eq(af_file_next(f, &rec, err, sizeof(err)), AF_OK);
		cr_assert_eq(af_file_format(f), cases[i].format, "case %zu", i);
		af_file_close(f);
		free(path);
	}
}

/* ---- compression ---- */

Test(file, reads_gzip_compressed_json_lines)
{
	const char *text = "{\"a\":1}\n{\"b\":2}\n";
	size_t n;
	unsigned char *gz = gzip_bytes(text, strlen(text), &n);
	char *path = write_file("in.jsonl.gz", gz, n);
	struct recs got = {0};
	read_all(path, 0, &got);
	cr_assert_eq(got.n, 2);
	cr_assert_str_eq(got.r[1].data, "{\"b\":2}");
	cr_assert_eq(got.r[1].offset, 8);
	free_recs(&got);
	free(gz);
	free(path);
}

/* Write a and b compressed apart (two gzip members, two zstd frames), one
 * after the other, as the file name; returns its path, which the caller
 * frees. */
static char *write_two_parts(const char *name,
                             unsigned char *(*compress)(const void *, size_t, size_t *),
                             const char *a, const char *b)
{
	size_t na, nb;
	unsigned char *za = compress(a, strlen(a), &na);
	unsigned char *zb = compress(b, strlen(b), &nb);
	unsigned char *both = malloc(na + nb);
	memcpy(both, za, na);
	memcpy(both + na, zb, nb);
	char *path = write_file(name, both, na + nb);
	free(za);
	free(zb);
	free(both);
	return path;
}

Test(file, reads_through_concatenated_gzip_members)
{
	/* The member boundary falls inside the second record. */
	char *path = write_two_parts("two.gz", gzip_bytes, "{\"a\":1}\n{\"b\":", "2}\n{\"c\":3}\n");
	struct recs got = {0};
	read_all(path, 0, &got);
	cr_assert_eq(got.n, 3);
	cr_assert_str_eq(got.r[1].data, "{\"b\":2}");
	cr_assert_str_eq(got.r[2].data, "{\"c\":3}");
	free_recs(&got);
	free(path);
}

Test(file, reads_several_zstd_frames)
{
	char *path = write_two_parts("two.zst", zstd_bytes, "[{\"a\":1},", "{\"b\":2}]\n");
	struct recs got = {0};
	read_all(path, 0, &got);
	cr_assert_eq(got.n, 2);
	cr_assert_str_eq(got.r[0].data, "{\"a\":1}");
	cr_assert_str_eq(got.r[1].data, "{\"b\":2}");
	free_recs(&got);
	free(path);
}

/* Cut the compressed text in half: every record before the cut comes out
 * whole, then one truncated_stream record holding a prefix of the next
 * line, then the end. */
static void check_truncated(unsigned char *(*compress)(const void *, size_t, size_t *))
{
	size_t len, n;
	char *text = noisy_lines(4000, &len);
	unsigned char *z = compress(text, len, &n);
	char *path = write_file("cut", z, n / 2);
	struct recs got = {0};
	read_all(path, 0, &got);
	cr_assert_gt(got.n, 2);
	size_t k = got.n - 1;
	cr_assert_lt(k, 4000);
	for (size_t i = 0; i < k; i++) {
		char *want = nth_line(text, i);
		cr_assert_eq(got.r[i].reason, AF_REASON_NONE);
		cr_assert_str_eq(got.r[i].data, want, "record %zu", i);
		free(want);
	}
	struct rec_copy *t = &got.r[k];
	cr_assert_eq(t->reason, AF_REASON_TRUNCATED_STREAM);
	char *next = nth_line(text, k);
	cr_assert_leq(t->len, strlen(next));
	cr_assert_eq(memcmp(t->data, next, t->len), 0);
	cr_assert_eq(t->line, k + 1);
	free(next);
	free_recs(&got);
	free(path);
	free(z);
	free(text);
}

Test(file, reports_a_truncated_gzip_stream_after_its_complete_records)
{
	check_truncated(gzip_bytes);
}

Test(file, reports_a_truncated_zstd_stream_after_its_complete_records)
{
	check_truncated(zstd_bytes);
}

Test(file, reports_a_gzip_stream_cut_at_a_line_end_with_an_empty_excerpt)
{
	const char *text = "{\"a\":1}\n{\"b\":2}\n";
	size_t n;
	unsigned char *gz = gzip_bytes(text, strlen(text), &n);
	/* Drop the size field of the trailer: all data decodes, the stream
	 * does not end. */
	char *path = write_file("cut.gz", gz, n - 4);
	struct recs got = {0};
	read_all(path, 0, &got);
	cr_assert_eq(got.n, 3);
	cr_assert_str_eq(got.r[1].data, "{\"b\":2}");
	cr_assert_eq(got.r[2].reason, AF_REASON_TRUNCATED_STREAM);
	cr_assert_eq(got.r[2].len, 0);
	cr_assert_eq(got.r[2].line, 3);
	cr_assert_eq(got.r[2].offset, 16);
	free_recs(&got);
	free(gz);
	free(path);
}

Test(file, reports_corrupt_gzip_data_as_a_truncated_stream)
{
	size_t len, n;
	char *text = noisy_lines(2000, &len);
	unsigned char *gz = gzip_bytes(text, len, &n);
	for (size_t i = n / 2; i < n / 2 + 64; i++)
		gz[i] ^= 0x5a;
	char *path = write_file("bad.gz", gz, n);
	struct recs got = {0};
	read_all(path, 0, &got);
	cr_assert_gt(got.n, 1);
	cr_assert_eq(got.r[got.n - 1].reason, AF_REASON_TRUNCATED_STREAM);
	for (size_t i = 0; i + 1 < got.n; i++)
		cr_assert_neq(got.r[i].reason, AF_REASON_TRUNCATED_STREAM);
	free_recs(&got);
	free(gz);
	free(path);
	free(text);
}

/* ---- oversize ---- */

/* A line of about total bytes: {"big":"xxx...x"} */
static char *big_line(size_t total)
{
	char *s = malloc(total + 1);
	cr_assert_not_null(s);
	memset(s, 'x', total);
	memcpy(s, "{\"big\":\"", 8);
	memcpy(s + total - 2, "\"}", 2);
	s[total] = '\0';
	return s;
}

Test(file, skips_an_oversize_json_line_without_buffering_it)
{
	size_t big = 5 * MIB;
	char *line = big_line(big);
	size_t len = big + 64;
	char *text = malloc(len + 1);
	int n = snprintf(text, len + 1, "{\"a\":1}\n%s\n{\"b\":2}\n", line);
	char *path = write_file("big.jsonl", text, (size_t)n);
	struct recs got = {0};
	read_all(path, MIB, &got);
	cr_assert_eq(got.n, 3);
	cr_assert_eq(got.r[1].reason, AF_REASON_OVERSIZE);
	cr_assert_eq(got.r[1].len, 4096);
	cr_assert_eq(memcmp(got.r[1].data, line, 4096), 0);
	cr_assert_eq(got.r[1].line, 2);
	cr_assert_eq(got.r[1].offset, 8);
	cr_assert_eq(got.r[2].reason, AF_REASON_NONE);
	cr_assert_str_eq(got.r[2].data, "{\"b\":2}");
	cr_assert_eq(got.r[2].line, 3);
	cr_assert_eq(got.r[2].offset, 8 + big + 1);
	free_recs(&got);
	free(path);
	free(text);
	free(line);
}

Test(file, skips_an_oversize_line_inside_a_gzip_stream)
{
	size_t big = 5 * MIB;
	char *line = big_line(big);
	char *text = malloc(big + 64);
	int n = snprintf(text, big + 64, "%s\n{\"b\":2}\n", line);
	size_t gn;
	unsigned char *gz = gzip_bytes(text, (size_t)n, &gn);
	char *path = write_file("big.gz", gz, gn);
	struct recs got = {0};
	read_all(path, MIB, &got);
	cr_assert_eq(got.n, 2);
	cr_assert_eq(got.r[0].reason, AF_REASON_OVERSIZE);
	cr_assert_str_eq(got.r[1].data, "{\"b\":2}");
	cr_assert_eq(got.r[1].offset, big + 1);
	free_recs(&got);
	free(gz);
	free(path);
	free(text);
	free(line);
}

Test(file, skips_an_oversize_element_inside_an_array)
{
	/* A 5 MiB element full of brackets and escaped quotes in strings, so
	 * the scanner's state must survive every refill. */
	static const char item[] = "{\"k\":\"]}\\\"[{\\\\\",\"v\":[1,{\"w\":2}]},\n";
	size_t ilen = sizeof(item) - 1, count = 5 * MIB / ilen;
	size_t cap = count * ilen + 256, used = 0;
	char *text = malloc(cap);
	used += (size_t)snprintf(text, cap, "[\n{\"a\":1},\n{\"big\":[\n");
	size_t big_start = used - strlen("{\"big\":[\n");
	for (size_t i = 0; i < count; i++) {
		memcpy(text + used, item, ilen);
		used += ilen;
	}
	used += (size_t)snprintf(text + used, cap - used, "{}]},\n{\"c\":3}\n]\n");
	char *path = write_file("big.json", text, used);
	struct recs got = {0};
	read_all(path, MIB, &got);
	cr_assert_eq(got.n, 3);
	cr_assert_str_eq(got.r[0].data, "{\"a\":1}");
	cr_assert_eq(got.r[1].reason, AF_REASON_OVERSIZE);
	cr_assert_eq(got.r[1].len, 4096);
	cr_assert_eq(got.r[1].offset, big_start);
	cr_assert_eq(got.r[1].line, 3);
	cr_assert_eq(memcmp(got.r[1].data, text + big_start, 4096), 0);
	cr_assert_eq(got.r[2].reason, AF_REASON_NONE);
	cr_assert_str_eq(got.r[2].data, "{\"c\":3}");
	cr_assert_eq(got.r[2].line, 4 + count + 1);
	free_recs(&got);
	free(path);
	free(text);
}

Test(file, reports_a_record_just_over_the_limit_and_accepts_one_at_it)
{
	char *path =
	    write_str("limit.jsonl", "{\"a\":\"123456\"}\n{\"a\":\"1234567\"}\n[\"12345678\"]");
	struct recs got = {0};
	read_all(path, 14, &got);
	cr_assert_eq(got.n, 3);
	cr_assert_eq(got.r[0].reason, AF_REASON_NONE);
	cr_assert_eq(got.r[1].reason, AF_REASON_OVERSIZE);
	cr_assert_str_eq(got.r[1].data, "{\"a\":\"1234567\"}");
	cr_assert_eq(got.r[2].reason, AF_REASON_NONE);
	cr_assert_str_eq(got.r[2].data, "\"12345678\"");
	free_recs(&got);
	free(path);
}

Test(file, cuts_records_that_cross_the_end_of_a_full_buffer)
{
	/* The odd quote keeps the CSV header check looking until the buffer
	 * is full; the records after it must still be cut normally. */
	size_t cap = 300000, used = 0;
	char *text = malloc(cap);
	used += (size_t)snprintf(text, cap, "not \"csv\n");
	size_t n = 0;
	while (used < cap - 100)
		used += (size_t)snprintf(text + used, cap - used, "{\"n\":%zu}\n", n++);
	char *path = write_file("many.jsonl", text, used);
	struct recs got = {0};
	read_all(path, 100, &got);
	cr_assert_eq(got.n, n + 1);
	for (size_t i = 0; i < got.n; i++)
		cr_assert_eq(got.r[i].reason, AF_REASON_NONE, "record %zu", i);
	char want[32];
	snprintf(want, sizeof(want), "{\"n\":%zu}", n - 1);
	cr_assert_str_eq(got.r[n].data, want);
	cr_assert_eq(got.r[n].line, n + 1);
	free_recs(&got);
	free(path);
	free(text);
}

/* ---- CSV ---- */

Test(file, reads_the_old_purview_csv_layout)
{
	struct recs got = {0};
	read_all(AF_TEST_DATA "/ingest/purview_old.csv", 0, &got);
	cr_assert_eq(got.n, 2);
	cr_assert_str_eq(got.r[0].data,
	                 "{\"CreationTime\":\"2024-03-01T10:00:00\",\"Id\":\"1\",\"Operation\":"
	                 "\"UserLoggedIn\",\"UserId\":\"alice@contoso.com\",\"ClientIP\":"
	                 "\"198.51.100.7\"}");
	cr_assert_eq(got.r[0].line, 2);
	cr_assert_eq(got.r[0].offset, 42 + 61);
	cr_assert_str_eq(got.r[1].data,
	                 "{\"CreationTime\":\"2024-03-01T10:05:00\",\"Id\":\"2\",\"Operation\":"
	                 "\"Send\",\"UserId\":\"bob@contoso.com\",\"Item\":{\"Subject\":"
	                 "\"Hello, \\\"world\\\"\"}}");
	cr_assert_eq(got.r[1].line, 3);
	free_recs(&got);
}

Test(file, reads_the_new_purview_csv_layout_with_bom_and_crlf)
{
	struct recs got = {0};
	read_all(AF_TEST_DATA "/ingest/purview_new.csv", 0, &got);
	cr_assert_eq(got.n, 2);
	cr_assert_str_eq(got.r[0].data,
	                 "{\"CreationTime\":\"2024-03-02T08:00:00\",\"Id\":\"3\",\"Operation\":"
	                 "\"UserLoggedIn\",\"UserId\":\"carol@contoso.com\"}");
	cr_assert_eq(got.r[0].line, 2);
	cr_assert_str_eq(got.r[1].data,
	                 "{\"CreationTime\":\"2024-03-02T08:01:00\",\"Id\":\"4\",\"Operation\":"
	                 "\"Set-InboxRule\",\"Parameters\":[{\"Name\":\"DeleteMessage\","
	                 "\"Value\":\"True\"}]}");
	cr_assert_eq(got.r[1].line, 4);
	free_recs(&got);
}

Test(file, keeps_newlines_inside_quoted_csv_fields)
{
	char *path = write_str("ml.csv", "CreationDate,UserIds,Operations,auditdata\r\n"
	                                 "2024,\"a\nb\",Op,\"{\r\n  \"\"x\"\": 1\r\n}\"\r\n"
	                                 "2025,c,Op,\"{\"\"y\"\":2}\"");
	struct recs got = {0};
	read_all(path, 0, &got);
	cr_assert_eq(got.n, 2);
	cr_assert_str_eq(got.r[0].data, "{\r\n  \"x\": 1\r\n}");
	cr_assert_eq(got.r[0].line, 3);
	cr_assert_eq(got.r[0].offset, 43 + 15);
	cr_assert_str_eq(got.r[1].data, "{\"y\":2}");
	cr_assert_eq(got.r[1].line, 6);
	free_recs(&got);
	free(path);
}

Test(file, reports_an_unterminated_csv_quote_at_eof_as_malformed)
{
	char *path = write_str("open.csv", "CreationDate,UserIds,Operations,AuditData\n"
	                                   "1,u,o,\"{}\"\n"
	                                   "2,u,o,\"{\"\"a\"\":1}\n");
	struct recs got = {0};
	read_all(path, 0, &got);
	cr_assert_eq(got.n, 2);
	cr_assert_str_eq(got.r[0].data, "{}");
	cr_assert_eq(got.r[1].reason, AF_REASON_MALFORMED_CSV);
	cr_assert_eq(got.r[1].line, 3);
	cr_assert_eq(strncmp(got.r[1].data, "2,u,o,", 6), 0);
	free_recs(&got);
	free(path);
}

Test(file, reports_a_csv_row_without_the_auditdata_column_as_malformed)
{
	char *path = write_str("short.csv", "CreationDate,UserIds,Operations,AuditData\n"
	                                    "1,u,o\n"
	                                    "2,u,o,\"{}\"\n");
	struct recs got = {0};
	read_all(path, 0, &got);
	cr_assert_eq(got.n, 2);
	cr_assert_eq(got.r[0].reason, AF_REASON_MALFORMED_CSV);
	cr_assert_str_eq(got.r[0].data, "1,u,o");
	cr_assert_eq(got.r[0].line, 2);
	cr_assert_str_eq(got.r[1].data, "{}");
	free_recs(&got);
	free(path);
}

Test(file, skips_an_oversize_csv_row_without_buffering_it)
{
	size_t big = 3 * MIB;
	size_t cap = big + 256, used = 0;
	char *text = malloc(cap);
	used += (size_t)snprintf(text, cap, "CreationDate,UserIds,Operations,AuditData\n1,u,o,\"");
	size_t row_start = strlen("CreationDate,UserIds,Operations,AuditData\n");
	/* "" pairs and line breaks inside the quotes, across refills. */
	for (size_t i = 0; i < big / 8; i++) {
		memcpy(text + used, i % 1000 ? "\"\"ab\"\",x" : "\"\"ab\"\"\n\n", 8);
		used += 8;
	}
	used += (size_t)snprintf(text + used, cap - used, "\"\n2,u,o,\"{\"\"ok\"\":1}\"\n");
	char *path = write_file("big.csv", text, used);
	struct recs got = {0};
	read_all(path, MIB, &got);
	cr_assert_eq(got.n, 2);
	cr_assert_eq(got.r[0].reason, AF_REASON_OVERSIZE);
	cr_assert_eq(got.r[0].len, 4096);
	cr_assert_eq(got.r[0].offset, row_start);
	cr_assert_eq(memcmp(got.r[0].data, text + row_start, 4096), 0);
	cr_assert_str_eq(got.r[1].data, "{\"ok\":1}");
	size_t breaks = 2 * ((big / 8 + 999) / 1000);
	cr_assert_eq(got.r[1].line, 3 + breaks);
	free_recs(&got);
	free(path);
	free(text);
}

Test(file, reports_an_auditdata_field_over_the_limit_as_oversize)
{
	char *path = write_str("long.csv", "CreationDate,UserIds,Operations,AuditData\n"
	                                   "1,u,o,\"{\"\"a\"\":\"\"0123456789\"\"}\"\n"
	                                   "2,u,o,\"{}\"\n");
	struct recs got = {0};
	read_all(path, 10, &got);
	cr_assert_eq(got.n, 2);
	cr_assert_eq(got.r[0].reason, AF_REASON_OVERSIZE);
	cr_assert_str_eq(got.r[0].data, "{\"a\":\"0123");
	cr_assert_eq(got.r[1].reason, AF_REASON_NONE);
	free_recs(&got);
	free(path);
}

Test(file, reads_a_csv_header_without_auditdata_as_json)
{
	EXPECT("a,b,c\n{\"x\":1}\n", "a,b,c", "{\"x\":1}");
}

/* ---- directories, stdin, errors, progress ---- */

Test(file, reads_a_directory_in_name_order_as_one_input)
{
	const char *array = "[{\"a\":1},\n{\"a\":2}]";
	size_t gn;
	unsigned char *gz = gzip_bytes(array, strlen(array), &gn);
	char *pa = write_file("a.json.gz", gz, gn);
	const char *b = "\n{\"b\":1}\n";
	const char *c = "CreationDate,UserIds,Operations,AuditData\n1,u,o,\"{}\"\n";
	char *pb = write_str("b.jsonl", b);
	char *pc = write_str("c.csv", c);
	char *ph = write_str(".hidden", "{\"hidden\":1}\n");
	char *sub = tmp_path("sub");
	cr_assert_eq(mkdir(sub, 0700), 0);
	char *ps = write_str("sub/z.json", "{\"sub\":1}\n");

	char err[256];
	struct af_file *f = af_file_open(tmpdir, NULL, err, sizeof(err));
	cr_assert_not_null(f, "%s", err);
	struct recs got = {0};
	drain(f, &got);
	cr_assert_eq(af_file_format(f), AF_FORMAT_JSON_ARRAY);
	uint64_t done, total;
	af_file_progress(f, &done, &total);
	cr_assert_eq(total, gn + strlen(b) + strlen(c));
	cr_assert_eq(done, total);
	af_file_close(f);

	cr_assert_eq(got.n, 4);
	cr_assert_str_eq(got.r[0].data, "{\"a\":1}");
	cr_assert_str_eq(got.r[0].path, pa);
	cr_assert_str_eq(got.r[1].data, "{\"a\":2}");
	cr_assert_eq(got.r[1].line, 2);
	cr_assert_str_eq(got.r[2].data, "{\"b\":1}");
	cr_assert_str_eq(got.r[2].path, pb);
	cr_assert_eq(got.r[2].line, 2);
	cr_assert_eq(got.r[2].offset, 1);
	cr_assert_str_eq(got.r[3].data, "{}");
	cr_assert_str_eq(got.r[3].path, pc);
	free_recs(&got);
	free(gz);
	free(pa);
	free(pb);
	free(pc);
	free(ph);
	free(ps);
	free(sub);
}

Test(file, reports_a_file_of_a_directory_that_vanished_as_an_io_error)
{
	char *pa = write_str("a.json", "{\"a\":1}\n");
	char *pb = write_str("b.json", "{\"b\":1}\n");
	char *pc = write_str("c.json", "{\"c\":1}\n");
	char err[256] = "";
	struct af_file *f = af_file_open(tmpdir, NULL, err, sizeof(err));
	cr_assert_not_null(f, "%s", err);
	cr_assert_eq(unlink(pb), 0);
	struct af_record rec;
	cr_assert_eq(af_file_next(f, &rec, err, sizeof(err)), AF_OK);
	cr_assert_eq(af_file_next(f, &rec, err, sizeof(err)), AF_E_IO);
	cr_assert_not_null(strstr(err, pb), "%s", err);
	cr_assert_not_null(strstr(err, strerror(ENOENT)), "%s", err);
	/* The caller may go on with the files after it. */
	cr_assert_eq(af_file_next(f, &rec, err, sizeof(err)), AF_OK);
	cr_assert_eq(strncmp(rec.data, "{\"c\":1}", rec.len), 0);
	cr_assert_eq(af_file_next(f, &rec, err, sizeof(err)), AF_EOF);
	af_file_close(f);
	free(pa);
	free(pb);
	free(pc);
}

Test(file, reports_a_read_error_as_an_io_error_naming_the_file)
{
	/* Reading /proc/self/mem at offset 0 fails with EIO. */
	char *pa = write_str("a.json", "{\"a\":1}\n");
	char *pb = tmp_path("b.json");
	cr_assert_eq(symlink("/proc/self/mem", pb), 0);
	char err[512] = "";
	struct af_file *f = af_file_open(tmpdir, NULL, err, sizeof(err));
	cr_assert_not_null(f, "%s", err);
	struct af_record rec;
	cr_assert_eq(af_file_next(f, &rec, err, sizeof(err)), AF_OK);
	cr_assert_eq(af_file_next(f, &rec, err, sizeof(err)), AF_E_IO);
	cr_assert_not_null(strstr(err, pb), "%s", err);
	af_file_close(f);
	free(pa);
	free(pb);
}

Test(file, fails_to_open_a_missing_file_naming_the_path_and_cause)
{
	char *path = tmp_path("missing.json");
	char err[512] = "";
	cr_assert_null(af_file_open(path, NULL, err, sizeof(err)));
	cr_assert_not_null(strstr(err, path), "%s", err);
	cr_assert_not_null(strstr(err, strerror(ENOENT)), "%s", err);
	free(path);
}

Test(file, fails_to_open_a_directory_without_regular_files)
{
	char *ph = write_str(".only-hidden", "{}\n");
	char err[512] = "";
	cr_assert_null(af_file_open(tmpdir, NULL, err, sizeof(err)));
	cr_assert_not_null(strstr(err, tmpdir), "%s", err);
	free(ph);
}

Test(file, reads_stdin_when_the_path_is_a_dash)
{
	char *path = write_str("stdin.jsonl", "{\"a\":1}\n{\"b\":2}\n");
	int fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(dup2(fd, STDIN_FILENO), STDIN_FILENO);
	close(fd);
	char err[256];
	struct af_file *f = af_file_open("-", NULL, err, sizeof(err));
	cr_assert_not_null(f, "%s", err);
	struct recs got = {0};
	drain(f, &got);
	uint64_t done, total;
	af_file_progress(f, &done, &total);
	cr_assert_eq(total, 0);
	cr_assert_eq(done, 16);
	af_file_close(f);
	cr_assert_eq(got.n, 2);
	cr_assert_str_eq(got.r[1].data, "{\"b\":2}");
	cr_assert_str_eq(got.r[1].path, "-");
	free_recs(&got);
	free(path);
}

Test(file, reports_progress_in_compressed_bytes)
{
	size_t len, n;
	char *text = noisy_lines(20000, &len);
	unsigned char *gz = gzip_bytes(text, len, &n);
	char *path = write_file("p.gz", gz, n);
	char err[256];
	struct af_file *f = af_file_open(path, NULL, err, sizeof(err));
	cr_assert_not_null(f, "%s", err);
	uint64_t done, total;
	af_file_progress(f, &done, &total);
	cr_assert_eq(total, n);
	cr_assert_lt(done, n);
	struct recs got = {0};
	drain(f, &got);
	cr_assert_eq(got.n, 20000);
	af_file_progress(f, &done, &total);
	cr_assert_eq(done, n);
	af_file_close(f);
	free_recs(&got);
	free(path);
	free(gz);
	free(text);
}

/* ---- findings of the fuzzer (tests/fuzz/fuzz_file.c) ---- */

/* The first n bytes of src as a gzip stream that stops there: flushed, so
 * every byte decodes, but never finished. */
static unsigned char *gzip_cut(const void *src, size_t n, size_t *out_len)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	size_t cap = deflateBound(&z, n) + 64;
	unsigned char *dst = malloc(cap);
	cr_assert_not_null(dst);
	z.next_in = (Bytef *)src;
	z.avail_in = (uInt)n;
	z.next_out = dst;
	z.avail_out = (uInt)cap;
	cr_assert_eq(deflate(&z, Z_SYNC_FLUSH), Z_OK);
	*out_len = z.total_out;
	deflateEnd(&z);
	return dst;
}

/* Whole, "\"\n\",AuditData" is a CSV header (its first name holds a line
 * break). Cut after "\"\n\"", the row has no end yet: reading its lines as
 * JSON records would hand on bytes the whole file has as a header. */
Test(file, reports_a_stream_cut_inside_the_first_row_as_one_truncated_record)
{
	static const char text[] = "\"\n\",AuditData";
	size_t n;
	unsigned char *gz = gzip_cut(text, 3, &n);
	char *path = write_file("cut-header.csv.gz", gz, n);
	struct recs got = {0};
	read_all(path, 0, &got);
	cr_assert_eq(got.n, 1);
	cr_assert_eq(got.r[0].reason, AF_REASON_TRUNCATED_STREAM);
	cr_assert_eq(got.r[0].len, 3);
	cr_assert_eq(memcmp(got.r[0].data, "\"\n\"", 3), 0);
	cr_assert_eq(got.r[0].line, 1);
	cr_assert_eq(got.r[0].offset, 0);
	free_recs(&got);
	free(path);
	free(gz);
}
