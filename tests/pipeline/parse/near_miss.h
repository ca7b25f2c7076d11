/* near_miss.h - what the fast-path tests of test_timestamp.c and test_ip.c
 * share: the two spellings of a text that send it down each path of its
 * parser, and the texts one byte away from a good one.
 *
 * af_ts_parse and af_ip_parse try the usual form first on text that starts
 * with a digit and leave the rest to a general path that trims blanks, so
 * a text and the same text after a blank must read alike: that holds each
 * fast path to its general path on any text.
 */
#ifndef AF_TESTS_PIPELINE_PARSE_NEAR_MISS_H
#define AF_TESTS_PIPELINE_PARSE_NEAR_MISS_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* s[0..len) spelled for each path: exact is a heap copy of exactly len
 * bytes (so that a sanitizer build sees a read past the end), padded is
 * " " s, padded_len bytes. Release with af_test_unspell. */
struct af_test_spellings {
	char *exact;
	char padded[96];
	size_t padded_len;
};

static inline void af_test_spell(const char *s, size_t len, struct af_test_spellings *sp)
{
	cr_assert_lt(len, sizeof sp->padded - 1);
	sp->exact = malloc(len ? len : 1);
	cr_assert_not_null(sp->exact);
	memcpy(sp->exact, s, len);
	sp->padded[0] = ' ';
	memcpy(sp->padded + 1, s, len);
	sp->padded_len = len + 1;
}

static inline void af_test_unspell(struct af_test_spellings *sp)
{
	free(sp->exact);
}

/* check(text, len) on base cut at every length, and with each of
 * strays[0..n) put in place of each byte and inserted before each. */
static inline void af_test_each_near_miss(const char *base, const char *strays, size_t n,
                                          void (*check)(const char *s, size_t len))
{
	size_t len = strlen(base);
	char s[80];

	cr_assert_lt(len, sizeof s - 1);
	for (size_t at = 0; at <= len; at++) {
		check(base, at);
		for (size_t k = 0; k < n; k++) {
			memcpy(s, base, len);
			if (at < len) {
				s[at] = strays[k];
				check(s, len);
			}
			memcpy(s, base, at);
			s[at] = strays[k];
			memcpy(s + at + 1, base + at, len - at);
			check(s, len + 1);
		}
	}
}

#endif
