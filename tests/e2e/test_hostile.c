/* test_hostile.c - `auditflow replay` on a file written to break it: every
 * dead-letter reason, deep nesting, huge strings, numbers out of range,
 * invalid escapes and surrogates, invalid UTF-8, NUL bytes, binary junk,
 * a 100 MB line, duplicates, and truncated gzip and zstd streams. The run
 * must exit 0, and every record must be accounted for: events_in =
 * events_ok + events_invalid + duplicates, each invalid one written to the
 * dead-letter file with its reason. Run under ASan+UBSan by `make test`
 * (the sanitizer suite runs this binary against the sanitized auditflow).
 *
 * The file is built here, record by record, with the reason each must get,
 * so a record that changes verdict fails the test by name.
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "run.h"

TestSuite(hostile, .init = af_e2e_setup, .fini = af_e2e_teardown);

/* A valid M365 record whose Id is id (distinct ids: distinct events). */
#define GOOD(id)                                                                                   \
	"{\"CreationTime\":\"2025-08-25T05:58:00\",\"Id\":\"" id "\",\"Operation\":"               \
	"\"UserLoggedIn\",\"UserId\":\"a@b.example\",\"Workload\":\"AzureActiveDirectory\","       \
	"\"ClientIP\":\"198.51.100.7\",\"ResultStatus\":\"Success\"}"

/* The head of a valid record, for records that end in something hostile. */
#define HEAD                                                                                       \
	"{\"CreationTime\":\"2025-08-25T05:58:00\",\"Operation\":\"Send\",\"Workload\":"           \
	"\"Exchange\",\"UserId\":"

struct rec {
	const char *name;   /* what it tries */
	const char *text;   /* the line, without its newline; NULL: built */
	size_t len;         /* 0: strlen(text) */
	const char *reason; /* the dead-letter reason it must get; NULL: ok;
	                       "duplicate" for a repeat */
};

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		b->p = realloc(b->p, b->cap);
		cr_assert_not_null(b->p);
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void put_str(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* A record with depth nested arrays as its account (in_account) or in a
 * field no mapper reads. */
static char *deep(size_t depth, bool in_account, size_t *len)
{
	struct buf b = {0};
	put_str(&b, in_account ? HEAD : HEAD "\"a@b.example\",\"Extra\":");
	for (size_t i = 0; i < depth; i++)
		put_str(&b, "[");
	for (size_t i = 0; i < depth; i++)
		put_str(&b, "]");
	put_str(&b, "}");
	*len = b.len;
	return b.p;
}

/* A record with a string value of n bytes in a field the mappers ignore. */
static char *huge_string(size_t n, size_t *len)
{
	struct buf b = {0};
	put_str(&b, "{\"CreationTime\":\"2025-08-25T06:00:00\",\"Id\":\"huge-");
	char tag[32];
	snprintf(tag, sizeof(tag), "%zu", n);
	put_str(&b, tag);
	put_str(&b, "\",\"Operation\":\"UserLoggedIn\",\"UserId\":\"c@b.example\","
	            "\"Workload\":\"AzureActiveDirectory\",\"Padding\":\"");
	char chunk[4096];
	memset(chunk, 'x', sizeof(chunk));
	for (size_t left = n; left > 0;) {
		size_t k = left < sizeof(chunk) ? left : sizeof(chunk);
		put(&b, chunk, k);
		left -= k;
	}
	put_str(&b, "\"}");
	*len = b.len;
	return b.p;
}

/* Bytes 0x01..0xff but '\n', in a fixed scramble: no JSON at all. */
static char *junk(size_t n, size_t *len)
{
	char *p = malloc(n);
	cr_assert_not_null(p);
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		unsigned char c = (unsigned char)(x % 255 + 1);
		p[i] = c == '\n' ? '?' : (char)c;
	}
	*len = n;
	return p;
}

static const char *reason_at(const struct rec *recs, size_t n, size_t line)
{
	return line >= 1 && line <= n ? recs[line - 1].reason : NULL;
}

Test(hostile, accounts_for_every_record_of_a_file_built_to_break_the_reader_and_parser,
     .timeout = 600)
{
	size_t deep_len, huge_len, giant_len, junk_len;
	size_t deep_account_len;
	char *deep_rec = deep(100000, false, &deep_len);
	char *deep_account = deep(100000, true, &deep_account_len);
	char *huge_rec = huge_string(512 * 1024, &huge_len);
	char *giant_rec = huge_string(100u * 1024 * 1024, &giant_len);
	char *junk_rec = junk(3000, &junk_len);
	static const char nul_rec[] = HEAD "\"a@b.example\",\"Subject\":\"one\0two\"}";

	const struct rec recs[] = {
	    {"a valid record", GOOD("good-1"), 0, NULL},
	    {"the same record again", GOOD("good-1"), 0, "duplicate"},
	    {"a record cut short", "{\"CreationTime\": \"2025", 0, "malformed_json"},
	    {"an array of records holding a number", "[42]", 0, "not_object"},
	    {"a bare string", "\"just a string\"", 0, "not_object"},
	    {"null", "null", 0, "not_object"},
	    {"an object of no known schema", "{\"hello\":\"world\"}", 0, "unknown_schema"},
	    {"a null account", HEAD "null}", 0, "missing_field"},
	    {"a number for the account", HEAD "42}", 0, "wrong_type"},
	    {"an account out of any number's range", HEAD "1e999999}", 0, "wrong_type"},
	    {"no time",
	     "{\"Operation\":\"Send\",\"Workload\":\"Exchange\",\"UserId\":\"a@b.example\"}", 0,
	     "missing_field"},
	    {"a time that is words",
	     "{\"CreationTime\":\"yesterday\",\"Operation\":\"Send\",\"Workload\":\"Exchange\","
	     "\"UserId\":\"a@b.example\"}",
	     0, "bad_timestamp"},
	    {"a time past every calendar",
	     "{\"CreationTime\":\"2025-13-45T99:99:99\",\"Operation\":\"Send\",\"Workload\":"
	     "\"Exchange\",\"UserId\":\"a@b.example\"}",
	     0, "bad_timestamp"},
	    {"a time in year 99999",
	     "{\"CreationTime\":\"99999-01-01T00:00:00\",\"Operation\":\"Send\",\"Workload\":"
	     "\"Exchange\",\"UserId\":\"a@b.example\"}",
	     0, "bad_timestamp"},
	    {"a number too long for any integer",
	     HEAD "\"a@b.example\",\"Count\":123456789012345678901234567890123456789}", 0, NULL},
	    {"an invalid escape", HEAD "\"a\\qb@b.example\"}", 0, "malformed_json"},
	    {"a lone surrogate escape", HEAD "\"a\\ud800@b.example\"}", 0, "malformed_json"},
	    {"invalid UTF-8", HEAD "\"\xff\xfe@b.example\"}", 0, "invalid_utf8"},
	    {"an overlong UTF-8 slash", HEAD "\"a\xc0\xaf@b.example\"}", 0, "invalid_utf8"},
	    {"a NUL byte", nul_rec, sizeof(nul_rec) - 1, "nul_bytes"},
	    {"binary junk", junk_rec, junk_len, "invalid_utf8"},
	    {"nesting 100,000 deep in a field no mapper reads", deep_rec, deep_len, NULL},
	    {"nesting 100,000 deep as the account", deep_account, deep_account_len, "wrong_type"},
	    {"a 512 KiB string", huge_rec, huge_len, NULL},
	    {"a 100 MB line", giant_rec, giant_len, "oversize"},
	    {"a valid record after all that", GOOD("good-2"), 0, NULL},
	};
	const size_t n = sizeof(recs) / sizeof(recs[0]);

	struct buf file = {0};
	for (size_t i = 0; i < n; i++) {
		put(&file, recs[i].text, recs[i].len ? recs[i].len : strlen(recs[i].text));
		put_str(&file, "\n");
	}
	const char *input = af_e2e_path("hostile.jsonl");
	cr_assert_eq(af_spit(input, file.p, file.len), 0);

	/* Valid records of their own, compressed and cut off part way. */
	struct buf head = {0};
	for (size_t i = 0; i < 200; i++) {
		char line[512];
		snprintf(line, sizeof(line),
		         "{\"CreationTime\":\"2025-08-25T07:%02zu:%02zu\",\"Id\":\"cut-%zu\","
		         "\"Operation\":\"UserLoggedIn\",\"UserId\":\"d@b.example\","
		         "\"Workload\":\"AzureActiveDirectory\"}\n",
		         i / 60, i % 60, i);
		put_str(&head, line);
	}
	size_t zcap = ZSTD_compressBound(head.len);
	char *z = malloc(zcap);
	size_t zlen = ZSTD_compress(z, zcap, head.p, head.len, 3);
	cr_assert(!ZSTD_isError(zlen));
	const char *cut_zst = af_e2e_path("cut.jsonl.zst");
	cr_assert_eq(af_spit(cut_zst, z, zlen * 2 / 3), 0);
	uLongf glen = compressBound((uLong)head.len);
	Bytef *g = malloc(glen);
	cr_assert_eq(compress2(g, &glen, (const Bytef *)head.p, (uLong)head.len, 6), Z_OK);
	/* zlib's compress2 writes a zlib stream; the reader wants gzip, so
	 * wrap the deflate body in a gzip header and cut before the end. */
	const unsigned char gzhead[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
	struct buf gz = {0};
	put(&gz, gzhead, sizeof(gzhead));
	put(&gz, g + 2, (glen - 6) / 2);
	const char *cut_gz = af_e2e_path("cut.jsonl.gz");
	cr_assert_eq(af_spit(cut_gz, gz.p, gz.len), 0);

	const char *dlq = af_e2e_path("dlq.jsonl");
	const char *summary = af_e2e_path("summary.json");
	const char *args[] = {"replay", "--no-progress", "--dlq", dlq,    "--summary",
	                      summary,  input,           cut_zst, cut_gz, NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 0, "bad records do not change the exit status: %s", r.err);

	char *s = af_slurp(summary, NULL);
	cr_assert_not_null(s);
	long long in = af_json_int(s, "events_in"), ok = af_json_int(s, "events_ok");
	long long invalid = af_json_int(s, "events_invalid"), dup = af_json_int(s, "duplicates");
	cr_assert_eq(in, ok + invalid + dup, "in = ok + invalid + duplicates: %s", s);
	cr_assert_eq(af_json_int(s, "truncated_stream"), 2, "one per cut stream: %s", s);

	/* Every dead letter names its line; each line of the hostile file
	 * got the reason written for it. */
	char *d = af_slurp(dlq, NULL);
	cr_assert_not_null(d);
	cr_assert_eq((long long)af_count_lines(d), invalid, "one dead letter each: %s", s);
	size_t want_invalid = 0, want_dup = 0, want_ok = 0;
	for (size_t i = 0; i < n; i++) {
		if (recs[i].reason == NULL)
			want_ok++;
		else if (strcmp(recs[i].reason, "duplicate") == 0)
			want_dup++;
		else
			want_invalid++;
	}
	size_t seen = 0;
	for (const char *line = d; *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char *copy = strndup(line, len);
		if (strstr(copy, "hostile.jsonl") != NULL) {
			long long at = af_json_int(copy, "line");
			const char *want = reason_at(recs, n, (size_t)at);
			cr_assert_not_null(want, "line %lld should not be a dead letter: %.300s",
			                   at, copy);
			char key[64];
			snprintf(key, sizeof(key), "\"reason\":\"%s\"", want);
			cr_assert_not_null(strstr(copy, key), "line %lld (%s) wants %s: %.300s", at,
			                   recs[at - 1].name, want, copy);
			seen++;
		}
		free(copy);
		line = end ? end + 1 : line + len;
	}
	cr_assert_eq(seen, want_invalid, "dead letters from the hostile file: %zu of %zu: %s", seen,
	             want_invalid, s);
	cr_assert_eq(invalid, (long long)want_invalid + 2, "and one per cut stream: %s", s);
	cr_assert_eq(dup, (long long)want_dup, "%s", s);
	cr_assert_geq(ok, (long long)want_ok, "what the cut streams kept comes on top: %s", s);

	free(d);
	free(s);
	af_run_free(&r);
	free(gz.p);
	free(g);
	free(z);
	free(head.p);
	free(file.p);
	free(deep_rec);
	free(deep_account);
	free(huge_rec);
	free(giant_rec);
	free(junk_rec);
}
