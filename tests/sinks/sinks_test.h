/* sinks_test.h - helpers shared by the sink tests: a scratch directory,
 * reading a file back whole, and a base64 decoder to check what the writers
 * encode. Header-only: tests/CMakeLists.txt builds only test_*.c files.
 */
#ifndef AF_TESTS_SINKS_TEST_H
#define AF_TESTS_SINKS_TEST_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

#endif
