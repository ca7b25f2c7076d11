/* fuzz_file.c - libFuzzer target for the file reader (ingest/file.h).
 *
 * Thread: libFuzzer's, one input at a time.
 * In: any bytes, taken as the content of an audit export file. Out:
 * nothing; a crash, a sanitizer report or an abort() is the finding.
 *
 * DESIGN: af_file_open takes a path, so the content is written to files
 * in a private directory (on /dev/shm when there is one) and read back
 * with af_file_next to the end, in several ways that must agree:
 *   plain     the content as it is (JSON, CSV or neither: the reader
 *             decides from the content; the file's name plays no part);
 *   packed    compressed here, gzip or zstd (drawn from the input), as
 *             one member or frame or as two cut at a point drawn from the
 *             input: the records must be exactly the plain ones.
 *             Decompression is chosen by magic bytes, and the codec hands
 *             on one member or frame at a time, so two of them end a read
 *             inside the content, where the reader must keep its place;
 *   truncated the packed bytes cut short inside a member or frame:
 *             the plain records up to some point, then one
 *             TRUNCATED_STREAM record, then EOF;
 *   padded    blanks put before the content (after a BOM) so that it
 *             crosses the end of the reader's full buffer at a point drawn
 *             from the input: the plain records, their offsets moved by
 *             the blanks (one input in 32: 64 KiB of blanks is slow);
 *   long      the content repeated past two full buffers, plain and as
 *             two zstd frames: both agree, records longer than the buffer
 *             are skipped (one input in sixteen, first 64 records);
 *   directory the content twice, as two files of a directory: the plain
 *             records twice, so nothing of one file leaks into the next
 *             (one input in two);
 *   csv       the content after a header naming AuditData, read as the
 *             rows of a Purview export.
 * Raw input that starts with the gzip or zstd magic reaches the codecs
 * with corrupt streams directly (its records are then checked only for
 * what holds of any record, and its directory run). Every record of every
 * run is checked against what file.h promises: a known reason; no NUL
 * byte and at most max_record_bytes in a good record; at most 4 KiB in a
 * failure's excerpt; AF_FILE_PADDING readable bytes after the view; an
 * offset inside the content and a line that is 1 + the line breaks before
 * that offset; the view equal to the content at its offset (for CSV
 * fields, to the field unquoted); EOF again after EOF; progress equal to
 * the file's size at the end. max_record_bytes is drawn from the input
 * too, small enough that the buffer is its minimum (64 KiB).
 *
 * libFuzzer gives no context pointer: the directory and the compressor
 * contexts live for the process (removed at exit); everything made for an
 * input is freed before the next.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>
#include <zlib.h>
#include <zstd.h>

#include "scratch.h"
#include "ingest/file.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The run being read, for messages; AF_FUZZ_TRACE=1 in the environment
 * prints every record of every run (to triage a finding). */
static bool trace;

static void remove_files(void);


#define EXCERPT_MAX  4096u
#define MIN_BUF      (64u * 1024) /* the reader's smallest buffer (file.c) */
#define INPUT_INDEX  3u
#define UNKNOWN_MAX  (16u << 20)
#define LONG_RECORDS 64 /* records read of a long run: the first tell */

static const char csv_header[] = "RecordId,AuditData,Operation\r\n";
static const unsigned char bom[3] = {0xef, 0xbb, 0xbf};

/* ---- the process's files and codecs ---- */

static char dir[64];
static char in_path[96], dir_path[96], dir_first[112], dir_second[112];
static z_stream deflater;
static ZSTD_CCtx *zcctx;

static void remove_files(void)
{
	unlink(in_path);
	unlink(dir_first);
	unlink(dir_second);
	rmdir(dir_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	CHECK(af_fuzz_scratch(dir, sizeof(dir), "fuzz_file", remove_files));
	snprintf(in_path, sizeof(in_path), "%s/in", dir);
	snprintf(dir_path, sizeof(dir_path), "%s/d", dir);
	snprintf(dir_first, sizeof(dir_first), "%s/1", dir_path);
	snprintf(dir_second, sizeof(dir_second), "%s/2", dir_path);
	CHECK(mkdir(dir_path, 0700) == 0);
	trace = getenv("AF_FUZZ_TRACE") != NULL;
	CHECK(deflateInit2(&deflater, 1, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
	zcctx = ZSTD_createCCtx();
	CHECK(zcctx != NULL);
	return 0;
}

static void write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const char *s = p;

	CHECK(fd >= 0);
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		CHECK(w > 0);
		s += w;
		n -= (size_t)w;
	}
	CHECK(close(fd) == 0);
}

/* ---- byte buffers ---- */

struct bytes {
	unsigned char *p;
	size_t len, cap;
};

static void bytes_reserve(struct bytes *b, size_t more)
{
	if (b->len + more <= b->cap)
		return;
	b->cap = (b->len + more) * 2;
	b->p = realloc(b->p, b->cap);
	CHECK(b->p != NULL);
}

static void bytes_add(struct bytes *b, const void *p, size_t n)
{
	bytes_reserve(b, n);
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* One gzip member of p[0..n) appended to b. */
static void gzip_member(struct bytes *b, const unsigned char *p, size_t n)
{
	size_t bound = deflateBound(&deflater, n) + 32;

	bytes_reserve(b, bound);
	CHECK(deflateReset(&deflater) == Z_OK);
	deflater.next_in = (Bytef *)p;
	deflater.avail_in = (uInt)n;
	deflater.next_out = b->p + b->len;
	deflater.avail_out = (uInt)bound;
	CHECK(deflate(&deflater, Z_FINISH) == Z_STREAM_END);
	b->len += bound - deflater.avail_out;
}

/* One zstd frame of p[0..n) appended to b. */
static void zstd_frame(struct bytes *b, const unsigned char *p, size_t n)
{
	size_t bound = ZSTD_compressBound(n);

	bytes_reserve(b, bound);
	size_t r = ZSTD_compressCCtx(zcctx, b->p + b->len, bound, p, n, 1);
	CHECK(!ZSTD_isError(r));
	b->len += r;
}

/* ---- one run of the reader ---- */

/* A record as read, its view copied into the run's bytes. */
struct rec {
	size_t at, len; /* of the copy in run.bytes */
	enum af_reason reason;
	uint64_t line, offset;
	unsigned file; /* 0, or 1 for the second file of a directory */
};

struct run {
	struct rec *r;
	size_t n, cap;
	struct bytes bytes;
	enum af_file_format format;
	bool stopped; /* before the end: at UNKNOWN_MAX or the limit */
};

static void run_free(struct run *run)
{
	free(run->r);
	free(run->bytes.p);
	memset(run, 0, sizeof(*run));
}

/* '\n' in p[0..n), with memchr: a byte loop here would be instrumented
 * for the fuzzer and cost more than the reader it checks. */
static uint64_t count_newlines(const unsigned char *p, size_t n)
{
	const unsigned char *e = p + n;
	uint64_t k = 0;

	while ((p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		k++;
		p++;
	}
	return k;
}

/* What a record's view must be: the content at its offset, or for a CSV
 * field that was quoted, that field unquoted from its offset on. */
static void check_view(const struct af_record *rec, const unsigned char *c, size_t n,
                       enum af_file_format format)
{
	size_t off = (size_t)rec->offset;
	const unsigned char *d = (const unsigned char *)rec->data;
	bool raw_reason =
	    rec->reason == AF_REASON_MALFORMED_CSV || rec->reason == AF_REASON_TRUNCATED_STREAM;

	if (format != AF_FORMAT_CSV || raw_reason || off == 0 || c[off - 1] != '"') {
		CHECK(rec->len <= n - off);
		CHECK(rec->len == 0 || memcmp(d, c + off, rec->len) == 0);
		return;
	}
	/* A quoted field: each '"' of the view is the first of a pair. */
	size_t i = off;
	for (size_t k = 0; k < rec->len; k++) {
		CHECK(i < n && c[i] == d[k]);
		if (c[i] == '"') {
			CHECK(i + 1 < n && c[i + 1] == '"');
			i++;
		}
		i++;
	}
}

/* Read path to the end with max_record_bytes max, checking each record
 * against the decompressed content c[0..n) of the file it came from (every
 * file of a run holds the same content, or a prefix of it when cut); c is
 * NULL when that content is not known (the input was compressed itself):
 * then the run stops after about 16 MiB, as a few KiB can hold gigabytes.
 * It stops too after limit records, when limit is not 0. */
static void run_read_upto(struct run *run, const char *path, size_t max, const unsigned char *c,
                          size_t n, bool compressed, size_t limit)
{
	struct af_file_opts opts = {.max_record_bytes = max, .input = INPUT_INDEX};
	char err[512] = "";
	struct af_file *f = af_file_open(path, &opts, err, sizeof(err));
	struct af_record rec;
	const char *last_path = NULL;
	unsigned file = 0;
	size_t nl_at = 0;
	uint64_t nl_count = 0, last_offset = 0;
	af_err_t e;

	if (f == NULL) {
		fprintf(stderr, "fuzz_file: af_file_open: %s\n", err);
		af_fuzz_fail(__FILE__, __LINE__, "af_file_open");
	}
	memset(run, 0, sizeof(*run));
	while ((e = af_file_next(f, &rec, err, sizeof(err))) == AF_OK) {
		if (trace)
			fprintf(stderr, "%s: #%zu reason %d line %llu offset %llu len %zu\n", af_fuzz_stage,
			        run->n, rec.reason, (unsigned long long)rec.line,
			        (unsigned long long)rec.offset, rec.len);
		CHECK(rec.path != NULL && rec.input == INPUT_INDEX);
		if (last_path != NULL && strcmp(last_path, rec.path) != 0) {
			file++;
			nl_at = 0;
			nl_count = 0;
			last_offset = 0;
		}
		last_path = rec.path;
		CHECK(file < 2);
		if ((c == NULL && rec.offset > UNKNOWN_MAX) || (limit && run->n == limit))
			break;
		if (c != NULL)
			CHECK(run->n <= 2 * (n + 2)); /* every record moves on */

		CHECK(rec.reason == AF_REASON_NONE || rec.reason == AF_REASON_OVERSIZE ||
		      rec.reason == AF_REASON_TRUNCATED_STREAM ||
		      rec.reason == AF_REASON_NUL_BYTES || rec.reason == AF_REASON_MALFORMED_CSV);
		CHECK(rec.data != NULL);
		if (rec.reason == AF_REASON_NONE) {
			CHECK(rec.len <= max);
			CHECK(memchr(rec.data, 0, rec.len) == NULL);
		} else {
			CHECK(rec.len <= EXCERPT_MAX);
		}
		if (rec.reason == AF_REASON_NUL_BYTES && rec.len < EXCERPT_MAX)
			CHECK(memchr(rec.data, 0, rec.len) != NULL);
		if (rec.reason == AF_REASON_TRUNCATED_STREAM)
			CHECK(compressed);
		/* simdjson may read this far past the view. */
		volatile unsigned char pad = 0;
		for (size_t i = 0; i < AF_FILE_PADDING; i++)
			pad ^= (unsigned char)rec.data[rec.len + i];
		(void)pad;

		CHECK(rec.offset >= last_offset && rec.line >= 1);
		last_offset = rec.offset;
		if (c != NULL) {
			CHECK(rec.offset <= n);
			nl_count += count_newlines(c + nl_at, (size_t)rec.offset - nl_at);
			nl_at = (size_t)rec.offset;
			CHECK(rec.line == 1 + nl_count);
		}

		if (run->n == run->cap) {
			run->cap = run->cap ? 2 * run->cap : 16;
			run->r = realloc(run->r, run->cap * sizeof(*run->r));
			CHECK(run->r != NULL);
		}
		run->r[run->n++] = (struct rec){.at = run->bytes.len,
		                                .len = rec.len,
		                                .reason = rec.reason,
		                                .line = rec.line,
		                                .offset = rec.offset,
		                                .file = file};
		bytes_add(&run->bytes, rec.data, rec.len);
		run->format = af_file_format(f);
		if (c != NULL)
			check_view(&rec, c, n, run->format);
	}
	if (e == AF_OK) {
		run->stopped = true;
		af_file_close(f);
		return;
	}
	if (e != AF_EOF) {
		fprintf(stderr, "fuzz_file: af_file_next: %d %s\n", e, err);
		af_fuzz_fail(__FILE__, __LINE__, "af_file_next");
	}
	CHECK(af_file_next(f, &rec, err, sizeof(err)) == AF_EOF);
	run->format = af_file_format(f);

	uint64_t done, total;
	bool cut = run->n > 0 && run->r[run->n - 1].reason == AF_REASON_TRUNCATED_STREAM;
	af_file_progress(f, &done, &total);
	CHECK(done <= total);
	if (!cut)
		CHECK(done == total);
	af_file_close(f);
}

static void run_read(struct run *run, const char *path, size_t max, const unsigned char *c,
                     size_t n, bool compressed)
{
	run_read_upto(run, path, max, c, n, compressed, 0);
}

static bool rec_same(const struct run *a, size_t i, const struct run *b, size_t j, uint64_t shift)
{
	const struct rec *x = &a->r[i], *y = &b->r[j];

	return x->len == y->len && x->reason == y->reason && x->line == y->line &&
	       x->offset + shift == y->offset &&
	       (x->len == 0 || memcmp(a->bytes.p + x->at, b->bytes.p + y->at, x->len) == 0);
}

/* b holds a's records, each moved by shift bytes. */
static void expect_same(const struct run *a, const struct run *b, uint64_t shift)
{
	CHECK(a->n == b->n);
	CHECK(a->format == b->format);
	for (size_t i = 0; i < a->n; i++)
		CHECK(rec_same(a, i, b, i, shift));
}

/* ---- the runs ---- */

/* A deterministic stream of numbers drawn from the input. */
static uint64_t mix(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The content compressed as one member or frame, or as two cut at split
 * (0: one); gzip when gz, else zstd. *first_len: bytes of the first. */
static void compress_content(struct bytes *out, bool gz, const uint8_t *data, size_t size,
                             size_t split, size_t *first_len)
{
	out->len = 0;
	if (split == 0 || split >= size) {
		(gz ? gzip_member : zstd_frame)(out, data, size);
		*first_len = out->len;
		return;
	}
	(gz ? gzip_member : zstd_frame)(out, data, split);
	*first_len = out->len;
	(gz ? gzip_member : zstd_frame)(out, data + split, size - split);
}

/* The stream cut inside a member or frame, after its magic bytes. */
static void check_truncated(const struct run *plain, const struct bytes *z, bool gz,
                            size_t first_len, size_t max, const uint8_t *data, size_t size,
                            uint64_t *rng)
{
	size_t magic = gz ? 2 : 4;
	struct run cut;

	if (z->len <= magic + 1)
		return;
	size_t at = magic + (size_t)(mix(rng) % (z->len - magic));
	if (at == first_len)
		at--; /* between two members is a clean end */
	af_fuzz_stage = gz ? "truncated gzip" : "truncated zstd";
	write_file(in_path, z->p, at);
	run_read(&cut, in_path, max, data, size, true);
	CHECK(cut.n >= 1 && cut.n <= plain->n + 1);
	CHECK(cut.r[cut.n - 1].reason == AF_REASON_TRUNCATED_STREAM);
	for (size_t i = 0; i + 1 < cut.n; i++)
		CHECK(rec_same(plain, i, &cut, i, 0));
	run_free(&cut);
}

/* Whether the reader will decompress the content itself (decompress.c
 * looks at the first bytes): then its records are not views of data. */
static bool has_magic(const uint8_t *data, size_t size)
{
	return (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) ||
	       (size >= 4 && data[0] == 0x28 && data[1] == 0xb5 && data[2] == 0x2f &&
	        data[3] == 0xfd);
}

static void check_padded(const struct run *plain, size_t max, const uint8_t *data, size_t size,
                         uint64_t *rng)
{
	size_t head = size >= 3 && memcmp(data, bom, 3) == 0 ? 3 : 0;
	size_t buf = 2 * max > MIN_BUF ? 2 * max : MIN_BUF;
	size_t inside = 1 + (size_t)(mix(rng) % size); /* content bytes in the first read */
	size_t blanks = buf > inside + head ? buf - inside - head : 0;
	struct bytes padded = {0};
	struct run run;

	bytes_add(&padded, data, head);
	bytes_reserve(&padded, blanks);
	memset(padded.p + padded.len, mix(rng) % 2 ? ' ' : '\t', blanks);
	padded.len += blanks;
	bytes_add(&padded, data + head, size - head);
	af_fuzz_stage = "padded";
	write_file(in_path, padded.p, padded.len);
	run_read(&run, in_path, max, padded.p, padded.len, false);
	CHECK(plain->n == run.n && plain->format == run.format);
	for (size_t i = 0; i < plain->n; i++)
		CHECK(rec_same(plain, i, &run, i, plain->r[i].offset >= head ? blanks : 0));
	run_free(&run);
	free(padded.p);
}

/* The content as two files of a directory: its records twice. c is the
 * decompressed content, or NULL when unknown. */
static void check_directory(const struct run *plain, size_t max, const uint8_t *data, size_t size,
                            const uint8_t *c, bool magic)
{
	struct run run;

	af_fuzz_stage = "directory";
	write_file(dir_first, data, size);
	write_file(dir_second, data, size);
	run_read(&run, dir_path, max, c, size, magic);
	CHECK(run.n == 2 * plain->n && run.format == plain->format);
	for (size_t i = 0; i < run.n; i++) {
		CHECK(run.r[i].file == (i < plain->n ? 0u : 1u));
		CHECK(rec_same(plain, i % plain->n, &run, i, 0));
	}
	run_free(&run);
}

/* The content repeated past two full buffers, read plain and as two zstd
 * frames cut at a point drawn from the input: a record longer than the
 * buffer is reported and skipped, never buffered, whatever a read ends
 * on, and the two runs agree on their first LONG_RECORDS records (a long
 * record comes early, and many short ones would only cost time). */
static void check_long(size_t max, const uint8_t *data, size_t size, uint64_t *rng)
{
	struct bytes text = {0}, z = {0};
	struct run plain, packed;
	size_t first_len;

	bytes_add(&text, data, size);
	while (text.len <= 2 * MIN_BUF) {
		bytes_reserve(&text, text.len); /* may move text.p: copy after */
		memcpy(text.p + text.len, text.p, text.len);
		text.len *= 2;
	}
	af_fuzz_stage = "long";
	write_file(in_path, text.p, text.len);
	run_read_upto(&plain, in_path, max, text.p, text.len, false, LONG_RECORDS);
	af_fuzz_stage = "long zstd";
	compress_content(&z, false, text.p, text.len, 1 + (size_t)(mix(rng) % (text.len - 1)),
	                 &first_len);
	write_file(in_path, z.p, z.len);
	run_read_upto(&packed, in_path, max, text.p, text.len, false, LONG_RECORDS);
	expect_same(&plain, &packed, 0);
	run_free(&plain);
	run_free(&packed);
	free(z.p);
	free(text.p);
}

static void check_csv(size_t max, const uint8_t *data, size_t size)
{
	struct bytes text = {0};
	struct run run;

	af_fuzz_stage = "csv";
	bytes_add(&text, csv_header, sizeof(csv_header) - 1);
	bytes_add(&text, data, size);
	write_file(in_path, text.p, text.len);
	run_read(&run, in_path, max, text.p, text.len, false);
	CHECK(run.format == AF_FORMAT_CSV);
	run_free(&run);
	free(text.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t maxes[] = {48, 1000, 32768, 32768};
	bool magic = has_magic(data, size);
	const uint8_t *content = magic ? NULL : data;
	uint64_t rng = size;
	struct run plain;
	size_t max;

	for (size_t i = 0; i < size; i++)
		rng = (rng ^ data[i]) * 0x100000001b3ull;
	max = maxes[mix(&rng) % 4];

	af_fuzz_stage = "plain";
	write_file(in_path, data, size);
	run_read(&plain, in_path, max, content, size, magic);
	if (!magic) {
		struct bytes z = {0};
		size_t first_len;

		/* One codec per input: each costs a run and a truncated run. */
		bool gz = mix(&rng) % 2;
		size_t split = size > 1 && mix(&rng) % 2 ? 1 + (size_t)(mix(&rng) % (size - 1)) : 0;
		struct run run;

		af_fuzz_stage = gz ? "gzip" : "zstd";
		compress_content(&z, gz, data, size, split, &first_len);
		write_file(in_path, z.p, z.len);
		run_read(&run, in_path, max, data, size, false);
		expect_same(&plain, &run, 0);
		run_free(&run);
		check_truncated(&plain, &z, gz, first_len, max, data, size, &rng);
		free(z.p);
		/* Two members or frames already put a read's end inside the
		 * content; this puts it at the buffer's end, but costs 64 KiB
		 * of blanks: one input in thirty-two, to keep the runs fast. */
		if (size > 0 && mix(&rng) % 32 == 0)
			check_padded(&plain, max, data, size, &rng);
		if (size > 0 && mix(&rng) % 16 == 0)
			check_long(max, data, size, &rng);
	}
	if (plain.n > 0 && !plain.stopped && mix(&rng) % 2 == 0)
		check_directory(&plain, max, data, size, content, magic);
	check_csv(max, data, size);
	run_free(&plain);
	return 0;
}
