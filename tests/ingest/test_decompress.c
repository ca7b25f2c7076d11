/* test_decompress.c - codec detection, gzip members, zstd frames, and how a
 * short or corrupt stream ends. Inputs are built in memory with zlib and
 * libzstd and passed through a temporary file. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "ingest/decompress.h"

struct blob {
	unsigned char *p;
	size_t len;
};

static struct blob gzip_blob(const char *s)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	size_t cap = deflateBound(&z, strlen(s));
	struct blob b = {malloc(cap), 0};
	cr_assert_not_null(b.p);
	z.next_in = (Bytef *)s;
	z.avail_in = (uInt)strlen(s);
	z.next_out = b.p;
	z.avail_out = (uInt)cap;
	cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	b.len = z.total_out;
	deflateEnd(&z);
	return b;
}

static struct blob zstd_blob(const char *s)
{
	size_t cap = ZSTD_compressBound(strlen(s));
	struct blob b = {malloc(cap), 0};
	cr_assert_not_null(b.p);
	b.len = ZSTD_compress(b.p, cap, s, strlen(s), 3);
	cr_assert(!ZSTD_isError(b.len));
	return b;
}

static struct blob concat(struct blob a, struct blob b)
{
	struct blob c = {malloc(a.len + b.len), a.len + b.len};
	cr_assert_not_null(c.p);
	memcpy(c.p, a.p, a.len);
	memcpy(c.p + a.len, b.p, b.len);
	free(a.p);
	free(b.p);
	return c;
}

/* A file holding bytes, opened for reading and already unlinked. */
static int file_of(const void *p, size_t len)
{
	char path[] = "/tmp/af_test_decompress_XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	cr_assert_eq(write(fd, p, len), (ssize_t)len);
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

struct result {
	char *text; /* everything decoded, NUL-terminated */
	size_t len;
	af_err_t end; /* what the last read returned */
	char err[512];
};

/* Decode the whole file in reads of at most chunk bytes. */
static struct result decode(const void *p, size_t len, size_t chunk, enum af_codec *codec,
                            uint64_t *consumed)
{
	int fd = file_of(p, len);
	struct af_decomp *d = af_decomp_new();
	cr_assert_not_null(d);
	struct result r = {0};
	cr_assert_eq(af_decomp_reset(d, fd, "test", r.err, sizeof(r.err)), AF_OK);
	if (codec)
		*codec = af_decomp_codec(d);
	size_t cap = 1024;
	r.text = malloc(cap);
	cr_assert_not_null(r.text);
	for (;;) {
		if (cap - r.len < chunk + 1) {
			cap = 2 * cap + chunk;
			r.text = realloc(r.text, cap);
			cr_assert_not_null(r.text);
		}
		size_t got;
		r.end = af_decomp_read(d, r.text + r.len, chunk, &got, r.err, sizeof(r.err));
		if (r.end != AF_OK)
			break;
		cr_assert_gt(got, 0);
		cr_assert_leq(got, chunk);
		r.len += got;
	}
	r.text[r.len] = '\0';
	if (consumed)
		*consumed = af_decomp_consumed(d);
	af_decomp_free(d);
	close(fd);
	return r;
}

/* Decode b (and free it): it must be read with codec want_codec and end
 * cleanly, decoded to want. */
static void expect_decoded(struct blob b, enum af_codec want_codec, const char *want)
{
	enum af_codec codec;
	struct result r = decode(b.p, b.len, 4096, &codec, NULL);
	cr_assert_eq(codec, want_codec);
	cr_assert_eq(r.end, AF_EOF, "%s", r.err);
	cr_assert_str_eq(r.text, want);
	free(r.text);
	free(b.p);
}

Test(decompress, passes_plain_bytes_through)
{
	const char *s = "{\"a\":1}\n";
	enum af_codec codec;
	struct result r = decode(s, strlen(s), 4096, &codec, NULL);
	cr_assert_eq(codec, AF_CODEC_NONE);
	cr_assert_eq(r.end, AF_EOF);
	cr_assert_str_eq(r.text, s);
	free(r.text);
}

Test(decompress, ends_an_empty_file_at_once)
{
	struct result r = decode("", 0, 4096, NULL, NULL);
	cr_assert_eq(r.end, AF_EOF);
	cr_assert_eq(r.len, 0);
	free(r.text);
}

Test(decompress, inflates_a_gzip_file)
{
	expect_decoded(gzip_blob("hello, gzip\n"), AF_CODEC_GZIP, "hello, gzip\n");
}

Test(decompress, reads_through_concatenated_gzip_members)
{
	struct blob b = concat(gzip_blob("first "), gzip_blob("second"));
	struct result r = decode(b.p, b.len, 4096, NULL, NULL);
	cr_assert_eq(r.end, AF_EOF, "%s", r.err);
	cr_assert_str_eq(r.text, "first second");
	free(r.text);
	free(b.p);
}

Test(decompress, decodes_several_zstd_frames)
{
	expect_decoded(concat(zstd_blob("one "), zstd_blob("two")), AF_CODEC_ZSTD, "one two");
}

Test(decompress, delivers_output_in_reads_smaller_than_the_codec_yields)
{
	char s[5000];
	for (size_t i = 0; i < sizeof(s) - 1; i++)
		s[i] = (char)('a' + i % 26);
	s[sizeof(s) - 1] = '\0';
	struct blob g = gzip_blob(s), z = zstd_blob(s);
	struct result rg = decode(g.p, g.len, 7, NULL, NULL);
	struct result rz = decode(z.p, z.len, 7, NULL, NULL);
	cr_assert_eq(rg.end, AF_EOF, "%s", rg.err);
	cr_assert_eq(rz.end, AF_EOF, "%s", rz.err);
	cr_assert_str_eq(rg.text, s);
	cr_assert_str_eq(rz.text, s);
	free(rg.text);
	free(rz.text);
	free(g.p);
	free(z.p);
}

Test(decompress, reports_a_truncated_gzip_stream)
{
	struct blob b = gzip_blob("a complete text that will lose its trailer");
	struct result r = decode(b.p, b.len - 3, 4096, NULL, NULL);
	cr_assert_eq(r.end, AF_E_RECORD);
	cr_assert_not_null(strstr(r.err, "ends early"), "%s", r.err);
	cr_assert_str_eq(r.text, "a complete text that will lose its trailer");
	free(r.text);
	free(b.p);
}

Test(decompress, reports_a_truncated_zstd_stream)
{
	struct blob b = zstd_blob("a frame cut short");
	struct result r = decode(b.p, b.len - 2, 4096, NULL, NULL);
	cr_assert_eq(r.end, AF_E_RECORD);
	cr_assert_not_null(strstr(r.err, "test: zstd stream"), "%s", r.err);
	free(r.text);
	free(b.p);
}

Test(decompress, rejects_bytes_after_a_gzip_member_that_are_not_gzip)
{
	struct blob g = gzip_blob("member");
	struct blob junk = {malloc(4), 4};
	memcpy(junk.p, "junk", 4);
	struct blob b = concat(g, junk);
	struct result r = decode(b.p, b.len, 4096, NULL, NULL);
	cr_assert_eq(r.end, AF_E_RECORD);
	cr_assert_str_eq(r.text, "member");
	cr_assert_not_null(strstr(r.err, "not gzip"), "%s", r.err);
	free(r.text);
	free(b.p);
}

Test(decompress, reports_corrupt_zstd_data)
{
	struct blob b = zstd_blob("some text in a frame that gets damaged in the middle");
	for (size_t i = 6; i < b.len; i++)
		b.p[i] = 0xff;
	struct result r = decode(b.p, b.len, 4096, NULL, NULL);
	cr_assert_eq(r.end, AF_E_RECORD);
	cr_assert_not_null(strstr(r.err, "corrupt"), "%s", r.err);
	free(r.text);
	free(b.p);
}

Test(decompress, counts_the_compressed_bytes_read)
{
	struct blob b = gzip_blob("counted bytes");
	uint64_t consumed = 0;
	struct result r = decode(b.p, b.len, 4096, NULL, &consumed);
	cr_assert_eq(consumed, b.len);
	free(r.text);
	free(b.p);
}
