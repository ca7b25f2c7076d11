/* test_mapper.c - the word-at-a-time helpers the mappers share (mapper.h,
 * parse.c): case-blind comparison, lower-casing copies and their hashes,
 * each held to a byte-by-byte reference on every byte value and on
 * generated text. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "pipeline/parse/mapper.h"
#include "pipeline/utf8.h"

/* xorshift64*: a fixed-seed generator, so a failure can be replayed. */
static uint64_t next_random(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545F4914F6CDD1DULL;
}

/* The byte rule of the lower-casing copies: ASCII capitals only. */
static char lower_byte(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c | 0x20) : c;
}

/* Text rich in what the word tests must tell apart: the letters at both
 * ends of each case, the bytes next to them ('@' '[' '`' '{'), the bytes
 * 0x20 away from letters, and bytes with bit 7 set. */
static void random_text(uint64_t *rng, char *s, size_t len)
{
	static const char tricky[] = "AZaz@[`{ \x7f\x80\xc1\xdb\xe1\xfa\xff\x00-.09Kk";

	for (size_t i = 0; i < len; i++)
		s[i] = next_random(rng) % 2 ? tricky[next_random(rng) % (sizeof tricky - 1)]
		                            : (char)next_random(rng);
}

Test(mapper, finds_the_capitals_of_every_byte_value_in_every_position)
{
	for (int pos = 0; pos < 8; pos++)
		for (int c = 0; c < 256; c++) {
			/* The byte among neighbours that are capitals, so that
			 * a carry between bytes would show. */
			uint64_t w = 0x5a5a5a5a5a5a5a5aULL & ~(0xffULL << (8 * pos));
			uint64_t bits = af_map_upper_bits(w | (uint64_t)c << (8 * pos));
			uint64_t want = 0x2020202020202020ULL & ~(0xffULL << (8 * pos));

			if (c >= 'A' && c <= 'Z')
				want |= 0x20ULL << (8 * pos);
			cr_assert_eq(bits, want, "byte 0x%02x at %d", c, pos);
		}
}

/* "qq..a..q" against "QQ..b..Q" (len bytes, a and b at pos). */
static void assert_pair_compares_alike(size_t len, size_t pos, char a, char b)
{
	char s[18], lit[18];

	memset(s, 'q', len);
	memset(lit, 'Q', len);
	lit[len] = '\0';
	s[pos] = a;
	lit[pos] = b;
	struct af_jval v = {.s = s, .len = (uint32_t)len, .type = AF_J_STRING};

	cr_assert_eq(af_map_ieq_n(s, lit, len), af_jval_ieq(&v, lit),
	             "0x%02x vs 0x%02x at %zu of %zu", (unsigned char)a, (unsigned char)b, pos,
	             len);
}

Test(mapper, compares_every_pair_of_byte_values_as_af_jval_ieq_does)
{
	/* Each pair in each position of texts of lengths 1..17, which takes
	 * every branch of af_map_ieq_n (bytes, half words, words and the
	 * overlapping last word). */
	for (size_t len = 1; len <= 17; len++) {
		size_t step = len > 3 ? 3 : 1;

		for (size_t pos = 0; pos < len; pos += step)
			for (int a = 0; a < 256; a++)
				for (int b = 1; b < 256; b++)
					assert_pair_compares_alike(len, pos, (char)a, (char)b);
	}
}

Test(mapper, compares_random_text_as_af_jval_ieq_does)
{
	uint64_t rng = 0x6d617070657221ULL;
	size_t equal = 0;

	for (int i = 0; i < 200000; i++) {
		size_t len = next_random(&rng) % 40;
		char s[48], lit[48];

		random_text(&rng, s, len);
		/* The literal: the text with letters' case flipped and, now and
		 * then, one byte changed; no NUL inside (it is a C string). */
		for (size_t k = 0; k < len; k++) {
			char c = s[k] == '\0' ? 'n' : s[k];
			bool letter = (c | 0x20) >= 'a' && (c | 0x20) <= 'z';

			lit[k] = letter && next_random(&rng) % 2 ? (char)(c ^ 0x20) : c;
		}
		if (len > 0 && next_random(&rng) % 4 == 0)
			lit[next_random(&rng) % len] = (char)(1 + next_random(&rng) % 255);
		lit[len] = '\0';
		struct af_jval v = {.s = s, .len = (uint32_t)len, .type = AF_J_STRING};
		bool want = af_jval_ieq(&v, lit);

		cr_assert_eq(af_map_ieq(s, len, lit), want, "len %zu", len);
		cr_assert_eq(af_map_val_ieq(&v, lit), want, "len %zu", len);
		equal += want;
	}
	cr_assert_gt(equal, 10000, "the generator should make equal pairs");
}

/* The mappers call af_map_ieq with literals, which the compiler folds into
 * constants: these cases run that folded code. */
Test(mapper, compares_literal_names_without_regard_to_case_only)
{
	cr_assert(af_map_ieq("mailitemsaccessed", 17, "MailItemsAccessed"));
	cr_assert(af_map_ieq("MAILITEMSACCESSED", 17, "MailItemsAccessed"));
	cr_assert_not(af_map_ieq("MailItemsAccesse@", 17, "MailItemsAccessed"));
	cr_assert_not(af_map_ieq("MailItemsAccessed ", 18, "MailItemsAccessed"));
	cr_assert_not(af_map_ieq("MailItemsAccesse", 16, "MailItemsAccessed"));
	cr_assert(af_map_ieq("uSERaGENT", 9, "UserAgent"));
	cr_assert_not(af_map_ieq("UserAgenT\x01", 9, "UserAgenU"));
	cr_assert(af_map_ieq("sendas", 6, "SendAs"));
	cr_assert_not(af_map_ieq("Send@s", 6, "SendAs"));
	cr_assert(af_map_ieq("SEND", 4, "Send"));
	cr_assert_not(af_map_ieq("Sen\x04", 4, "Send"));
	cr_assert(af_map_ieq("new-inboxrule", 13, "New-InboxRule"));
	cr_assert_not(af_map_ieq("New\rInboxRule", 13, "New-InboxRule"));
	cr_assert(af_map_ieq("", 0, ""));
	cr_assert_not(af_map_ieq("x", 1, ""));
	/* '@' and '`' (and '[' and '{') are 0x20 apart but are not letters. */
	cr_assert_not(af_map_ieq("`", 1, "@"));
	cr_assert_not(af_map_ieq("{[", 2, "[{"));
	struct af_jval num = {.s = "Success", .len = 7, .type = AF_J_NUMBER};
	cr_assert_not(af_map_val_ieq(&num, "Success"));
}

Test(mapper, lower_cases_a_copy_as_the_byte_rule_does_at_every_length)
{
	uint64_t rng = 0x10e3c0b1ULL;

	for (int i = 0; i < 50000; i++) {
		size_t len = next_random(&rng) % 300, cap = 1 + next_random(&rng) % 200;
		char *s = malloc(len ? len : 1), dst[208], want[208];
		struct af_event ev = {0};

		cr_assert_not_null(s);
		random_text(&rng, s, len);
		memset(dst, 0x55, sizeof dst);
		size_t n = af_map_copy_text(&ev, dst, cap, s, len, true);
		cr_assert_eq(n, af_utf8_cut(s, len, cap - 1));
		for (size_t k = 0; k < n; k++)
			want[k] = lower_byte(s[k]);
		cr_assert_arr_eq(dst, want, n, "len %zu cap %zu", len, cap);
		cr_assert_eq(dst[n], '\0');
		cr_assert_eq(dst[n + 1], 0x55, "nothing written past the NUL");
		cr_assert_eq((ev.flags & AF_EV_TRUNCATED) != 0, n < len);
		free(s);
	}
}

Test(mapper, hashes_the_lower_cased_text_from_a_copy_or_from_the_text)
{
	uint64_t rng = 0x4a54ULL;

	for (int i = 0; i < 20000; i++) {
		size_t len = next_random(&rng) % 700, cap = 1 + next_random(&rng) % 200;
		char *s = malloc(len ? len : 1), *low = malloc(len ? len : 1), dst[208];
		struct af_event ev = {0};

		cr_assert(s && low);
		random_text(&rng, s, len);
		for (size_t k = 0; k < len; k++)
			low[k] = lower_byte(s[k]);
		uint64_t want = len == 0 ? 0 : XXH3_64bits(low, len);
		if (len > 0 && want == 0)
			want = 1;
		cr_assert_eq(af_map_hash_lower(s, len), want, "len %zu", len);
		/* Whole or cut, the copy gives the hash of the whole text. */
		size_t n = af_map_copy_text(&ev, dst, cap, s, len, true);
		cr_assert_eq(af_map_hash_lowered(s, len, dst, n), want, "len %zu cap %zu", len,
		             cap);
		free(s);
		free(low);
	}
}
