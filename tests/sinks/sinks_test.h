/* sinks_test.h - helpers shared by the sink tests: a scratch directory,
 * reading a file back whole, a base64 decoder to check what the writers
 * encode, and the alert the alert writers are tested with. Header-only:
 * tests/CMakeLists.txt builds only test_*.c files.
 */
#ifndef AF_TESTS_SINKS_TEST_H
#define AF_TESTS_SINKS_TEST_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/alert.h"

/* 2025-08-25T05:58:00Z in ns, the time of af_test_alert. */
#define AF_TS_2025_08_25_0558 (INT64_C(1756101480) * 1000000000)

/* A scratch directory made with mkdtemp, and the path of one file in it. */
struct af_test_dir {
	char dir[64];
	char path[128];
};

static inline void af_test_dir_make(struct af_test_dir *t, const char *file)
{
	strcpy(t->dir, "/tmp/af_sinks_XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof t->path, "%s/%s", t->dir, file);
}

static inline void af_test_dir_remove(struct af_test_dir *t)
{
	unlink(t->path);
	rmdir(t->dir);
}

/* The whole file at path, NUL-terminated; *len gets its length. Free it. */
static inline char *af_test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	cr_assert_not_null(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

/* Decode base64 text s[0..len) (with padding) into out; returns the bytes
 * written, or (size_t)-1 on a character outside the alphabet. */
static inline size_t af_test_base64_decode(const char *s, size_t len, unsigned char *out)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = 0;
	unsigned v = 0;
	int bits = 0;

	for (size_t i = 0; i < len && s[i] != '='; i++) {
		const char *p = strchr(alphabet, s[i]);
		if (p == NULL || s[i] == '\0')
			return (size_t)-1;
		v = (v << 6) | (unsigned)(p - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(v >> bits);
			v &= (1u << bits) - 1;
		}
	}
	return n;
}

/* A new_country alert for user@example.com from 198.51.100.7 (geo: US),
 * one observation, one piece of evidence; the id has leading zeros. Tests
 * that need more set it on top. */
static inline void af_test_alert(struct af_alert *a)
{
	memset(a, 0, sizeof *a);
	a->id = UINT64_C(0x00000abcdef01234);
	a->rule = "new_country";
	a->severity = AF_SEV_HIGH;
	a->ts_ns = AF_TS_2025_08_25_0558;
	strcpy(a->account, "user@example.com");
	cr_assert(af_ip_parse("198.51.100.7", 12, &a->src));
	strcpy(a->geo.country, "US");
	af_alert_observe_text(a, "country", "US");
	af_alert_add_evidence(a, "r-1");
	strcpy(a->message, "user@example.com signed in from US");
}

#endif
