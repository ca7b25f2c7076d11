/* test_jsonw.c - the JSON writer: structure, escaping, UTF-8, numbers,
 * buffering, write errors, rotation by size, and opening to append (the
 * partial last line cut). The fast string scanner is checked against a
 * naive byte-by-byte reference on random input. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sinks/jsonw.h"
#include "pipeline/utf8.h"
#include "tests/sinks/sinks_test.h"

static char text[1 << 16];

/* The writer's text as a NUL-terminated string (static storage). */
static const char *af_text(const struct af_jsonw *w)
{
	cr_assert_lt(w->len, sizeof text);
	memcpy(text, w->buf, w->len);
	text[w->len] = '\0';
	return text;
}

static struct af_jsonw *af_writer(void)
{
	static char buf[1 << 16];
	static struct af_jsonw w;

	af_jsonw_init(&w, buf, sizeof buf, NULL);
	return &w;
}

/* Reference escaper: one byte at a time, the rules of jsonw.h spelled out. */
static size_t af_ref_escape(const unsigned char *s, size_t len, char *out)
{
	size_t n = 0;

	out[n++] = '"';
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t seq = 0;
		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c == '\n') {
			n += (size_t)sprintf(out + n, "\\n");
		} else if (c == '\t') {
			n += (size_t)sprintf(out + n, "\\t");
		} else if (c == '\r') {
			n += (size_t)sprintf(out + n, "\\r");
		} else if (c == '\b') {
			n += (size_t)sprintf(out + n, "\\b");
		} else if (c == '\f') {
			n += (size_t)sprintf(out + n, "\\f");
		} else if (c < 0x20) {
			n += (size_t)sprintf(out + n, "\\u%04x", c);
		} else if (c < 0x80) {
			out[n++] = (char)c;
		} else {
			uint32_t cp = 0;
			size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
			if (need > 0 && i + need <= len) {
				cp = c & (0xFF >> (need + 1));
				seq = need;
				for (size_t k = 1; k < need; k++) {
					if ((s[i + k] & 0xC0) != 0x80) {
						seq = 0;
						break;
					}
					cp = cp << 6 | (s[i + k] & 0x3F);
				}
				static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
				if (seq && (cp < min[need] || cp > 0x10FFFF ||
				            (cp >= 0xD800 && cp <= 0xDFFF)))
					seq = 0;
			}
			if (seq) {
				memcpy(out + n, s + i, seq);
				n += seq;
				i += seq;
				continue;
			}
			memcpy(out + n, "\xEF\xBF\xBD", 3);
			n += 3;
		}
		i++;
	}
	out[n++] = '"';
	out[n] = '\0';
	return n;
}

Test(jsonw, writes_nested_containers_with_commas)
{
	struct af_jsonw *w = af_writer();

	af_jsonw_object_begin(w);
	af_jsonw_field_string(w, "a", "x");
	af_jsonw_key(w, "b");
	af_jsonw_array_begin(w);
	af_jsonw_int(w, 1);
	af_jsonw_object_begin(w);
	af_jsonw_object_end(w);
	af_jsonw_array_begin(w);
	af_jsonw_array_end(w);
	af_jsonw_null(w);
	af_jsonw_array_end(w);
	af_jsonw_key(w, "c");
	af_jsonw_object_begin(w);
	af_jsonw_field_bool(w, "d", true);
	af_jsonw_field_bool(w, "e", false);
	af_jsonw_object_end(w);
	af_jsonw_object_end(w);
	cr_assert_str_eq(af_text(w),
	                 "{\"a\":\"x\",\"b\":[1,{},[],null],\"c\":{\"d\":true,\"e\":false}}");
	cr_assert_eq(w->depth, 0);
}

Test(jsonw, separates_top_level_values_by_newlines_not_commas)
{
	struct af_jsonw *w = af_writer();

	af_jsonw_object_begin(w);
	af_jsonw_field_int(w, "n", 1);
	af_jsonw_object_end(w);
	cr_assert_eq(af_jsonw_end_line(w), AF_OK);
	af_jsonw_object_begin(w);
	af_jsonw_field_int(w, "n", 2);
	af_jsonw_object_end(w);
	cr_assert_eq(af_jsonw_end_line(w), AF_OK);
	cr_assert_str_eq(af_text(w), "{\"n\":1}\n{\"n\":2}\n");
}

Test(jsonw, escapes_quote_and_backslash_and_keeps_slash_and_del)
{
	struct af_jsonw *w = af_writer();

	af_jsonw_string(w, "a\"b\\c/d\x7f");
	cr_assert_str_eq(af_text(w), "\"a\\\"b\\\\c/d\x7f\"");
}

Test(jsonw, escapes_every_control_character)
{
	static const char *const short_forms[32] = {
	    ['\b'] = "\\b", ['\t'] = "\\t", ['\n'] = "\\n", ['\f'] = "\\f", ['\r'] = "\\r",
	};
	for (unsigned c = 0; c < 0x20; c++) {
		struct af_jsonw *w = af_writer();
		char in = (char)c, want[16];
		if (short_forms[c] != NULL)
			snprintf(want, sizeof want, "\"%s\"", short_forms[c]);
		else
			snprintf(want, sizeof want, "\"\\u%04x\"", c);
		cr_assert_eq(af_jsonw_string_len(w, &in, 1), 0);
		cr_assert_str_eq(af_text(w), want, "byte 0x%02x", c);
	}
}

Test(jsonw, escapes_control_characters_inside_long_ascii_runs)
{
	struct af_jsonw *w = af_writer();

	af_jsonw_string(w, "0123456789abcdef\x01zyxwvutsrqponm\nABCDEFGH");
	cr_assert_str_eq(af_text(w), "\"0123456789abcdef\\u0001zyxwvutsrqponm\\nABCDEFGH\"");
}

Test(jsonw, writes_a_nul_byte_inside_a_string_as_u0000)
{
	struct af_jsonw *w = af_writer();

	af_jsonw_string_len(w, "a\0b", 3);
	cr_assert_str_eq(af_text(w), "\"a\\u0000b\"");
}

Test(jsonw, passes_valid_multibyte_utf8_through)
{
	struct af_jsonw *w = af_writer();
	const char *s = "\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 H\xc3\xa0 N\xe1\xbb\x99i";

	cr_assert_eq(af_jsonw_string(w, s), 0);
	cr_assert_eq(w->flags & AF_JSONW_REPLACED, 0);
	cr_assert_eq(w->len, strlen(s) + 2);
	cr_assert_eq(memcmp(w->buf + 1, s, strlen(s)), 0);
}

Test(jsonw, replaces_an_invalid_byte_with_u_fffd_and_reports_it)
{
	struct af_jsonw *w = af_writer();

	cr_assert_eq(af_jsonw_string(w, "a\xff"
	                                "b"),
	             1);
	cr_assert_str_eq(af_text(w), "\"a\xef\xbf\xbd"
	                             "b\"");
	cr_assert(w->flags & AF_JSONW_REPLACED);
}

Test(jsonw, replaces_each_byte_of_a_truncated_sequence)
{
	struct af_jsonw *w = af_writer();

	/* A 3-byte lead and one continuation, then the end of the string. */
	cr_assert_eq(af_jsonw_string(w, "x\xe2\x82"), 2);
	cr_assert_str_eq(af_text(w), "\"x\xef\xbf\xbd\xef\xbf\xbd\"");
}

Test(jsonw, replaces_overlongs_surrogates_and_code_points_above_u10ffff)
{
	static const char *const bad[] = {
	    "\xc0\xaf",         /* overlong '/' */
	    "\xe0\x80\xaf",     /* overlong, 3 bytes */
	    "\xed\xa0\x80",     /* U+D800 */
	    "\xf4\x90\x80\x80", /* U+110000 */
	    "\xf8\x88\x80\x80", /* 5-byte form */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct af_jsonw *w = af_writer();
		size_t len = strlen(bad[i]);
		cr_assert_eq(af_jsonw_string(w, bad[i]), len, "case %zu", i);
		cr_assert_eq(w->len, 2 + 3 * len);
		cr_assert_not(af_jsonw_utf8_valid(bad[i], len), "case %zu", i);
	}
}

Test(jsonw, escapes_keys_like_strings)
{
	struct af_jsonw *w = af_writer();

	af_jsonw_object_begin(w);
	af_jsonw_field_int(w, "a\"b\n", 1);
	af_jsonw_object_end(w);
	cr_assert_str_eq(af_text(w), "{\"a\\\"b\\n\":1}");
}

Test(jsonw, copies_plain_ascii_of_every_length_whole)
{
	const char *s = "The quick brown fox jumps over the lazy dog 0123456789";
	char want[80];

	for (size_t len = 0; len <= strlen(s); len++) {
		struct af_jsonw *w = af_writer();
		af_jsonw_string_len(w, s, len);
		snprintf(want, sizeof want, "\"%.*s\"", (int)len, s);
		cr_assert_str_eq(af_text(w), want, "length %zu", len);
	}
}

Test(jsonw, escapes_a_special_byte_in_the_last_word_of_a_long_string)
{
	for (size_t at = 8; at < 20; at++) {
		struct af_jsonw *w = af_writer();
		char s[21], want[40];
		memset(s, 'k', 20);
		s[20] = '\0';
		s[at] = '"';
		af_jsonw_string(w, s);
		snprintf(want, sizeof want, "\"%.*s\\\"%s\"", (int)at, s, s + at + 1);
		cr_assert_str_eq(af_text(w), want, "quote at %zu", at);
	}
}

Test(jsonw, escapes_random_bytes_exactly_like_the_reference)
{
	static unsigned char in[300];
	static char want[300 * 6 + 3];
	/* Bytes biased toward the interesting ones so every path is hit. */
	static const unsigned char pool[] = {'a',  'Z',  ' ',  '"',  '\\', '\n', 0x01, 0x1f,
	                                     0x7f, 0x80, 0xbf, 0xc2, 0xc3, 0xe0, 0xe2, 0xed,
	                                     0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x9f, 0x90};
	srand(12345);
	for (int round = 0; round < 3000; round++) {
		struct af_jsonw *w = af_writer();
		size_t len = (size_t)rand() % sizeof in;
		bool ascii = round % 3 == 0;
		for (size_t i = 0; i < len; i++)
			in[i] = ascii && rand() % 16 ? (unsigned char)('a' + rand() % 26)
			                             : pool[(size_t)rand() % sizeof pool];
		size_t n = af_ref_escape(in, len, want);
		af_jsonw_string_len(w, (const char *)in, len);
		cr_assert_eq(w->len, n, "round %d", round);
		cr_assert_eq(memcmp(w->buf, want, n), 0, "round %d", round);
	}
}

Test(jsonw, escapes_random_bytes_like_the_reference_through_a_small_flushed_buffer)
{
	static unsigned char in[700];
	static char want[700 * 6 + 3];
	static const unsigned char pool[] = {'a',  '"',  '\\', 0x01, 0xc3, 0xa9, 0xe2,
	                                     0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xff};
	char small[AF_JSONW_MIN_BUF];

	srand(99);
	for (int round = 0; round < 500; round++) {
		char *mem = NULL;
		size_t memlen = 0;
		FILE *f = open_memstream(&mem, &memlen);
		struct af_jsonw w;
		size_t len = (size_t)rand() % sizeof in;

		cr_assert_not_null(f);
		for (size_t i = 0; i < len; i++)
			in[i] = pool[(size_t)rand() % sizeof pool];
		af_jsonw_init(&w, small, sizeof small, f);
		af_jsonw_string_len(&w, (const char *)in, len);
		cr_assert_eq(af_jsonw_flush(&w), AF_OK);
		fclose(f);
		size_t n = af_ref_escape(in, len, want);
		cr_assert_eq(memlen, n, "round %d", round);
		cr_assert_eq(memcmp(mem, want, n), 0, "round %d", round);
		free(mem);
	}
}

Test(jsonw, fills_a_fixed_buffer_to_the_last_byte_without_overflow)
{
	char buf[AF_JSONW_MIN_BUF];
	char s[AF_JSONW_MIN_BUF];
	struct af_jsonw w;

	/* Quotes take 2 bytes; a tab escapes to 2; the rest fills the buffer. */
	memset(s, 'x', sizeof s);
	s[0] = '\t';
	af_jsonw_init(&w, buf, sizeof buf, NULL);
	af_jsonw_string_len(&w, s, sizeof buf - 3);
	cr_assert_eq(w.flags, 0);
	cr_assert_eq(w.len, sizeof buf);
	cr_assert_eq(memcmp(buf, "\"\\txxx", 6), 0);
	cr_assert_eq(buf[sizeof buf - 1], '"');
	af_jsonw_reset(&w);
	af_jsonw_string_len(&w, s, sizeof buf - 2);
	cr_assert(w.flags & AF_JSONW_OVERFLOW);
}

Test(jsonw, tells_valid_utf8_from_invalid_at_any_position)
{
	char s[64];

	memset(s, 'a', sizeof s);
	cr_assert(af_jsonw_utf8_valid(s, sizeof s));
	cr_assert(af_jsonw_utf8_valid("", 0));
	cr_assert(af_jsonw_utf8_valid("\xe2\x82\xac\xf0\x9f\x98\x80", 7));
	for (size_t at = 0; at < sizeof s; at++) {
		memset(s, 'a', sizeof s);
		s[at] = (char)0x80;
		cr_assert_not(af_jsonw_utf8_valid(s, sizeof s), "stray byte at %zu", at);
	}
	/* A sequence cut by the end of the range. */
	cr_assert_not(af_jsonw_utf8_valid("ab\xe2\x82", 4));
}

Test(jsonw, cuts_utf8_text_before_a_split_character)
{
	const char *s = "ab\xe2\x82\xac"
	                "c"; /* "ab€c", € at 2..4 */

	cr_assert_eq(af_utf8_cut(s, 6, 6), 6);
	cr_assert_eq(af_utf8_cut(s, 6, 5), 5);
	cr_assert_eq(af_utf8_cut(s, 6, 4), 2);
	cr_assert_eq(af_utf8_cut(s, 6, 3), 2);
	cr_assert_eq(af_utf8_cut(s, 6, 2), 2);
	cr_assert_eq(af_utf8_cut(s, 6, 0), 0);
	/* 4-byte character: every cut inside it goes back to its start. */
	cr_assert_eq(af_utf8_cut("x\xf0\x9f\x98\x80", 5, 4), 1);
	cr_assert_eq(af_utf8_cut("x\xf0\x9f\x98\x80", 5, 2), 1);
	/* Stray continuation bytes after ASCII: nothing to keep whole. */
	cr_assert_eq(af_utf8_cut("a\x80\x80\x80", 4, 2), 2);
}

Test(jsonw, writes_integer_extremes)
{
	struct af_jsonw *w = af_writer();

	af_jsonw_array_begin(w);
	af_jsonw_int(w, INT64_MIN);
	af_jsonw_int(w, INT64_MAX);
	af_jsonw_int(w, 0);
	af_jsonw_int(w, -7);
	af_jsonw_uint(w, UINT64_MAX);
	af_jsonw_array_end(w);
	cr_assert_str_eq(af_text(w), "[-9223372036854775808,9223372036854775807,0,-7,"
	                             "18446744073709551615]");
}

Test(jsonw, writes_doubles_that_read_back_exactly)
{
	const double vals[] = {0.1, 1.0 / 3, 1e300, -2.5e-300, 37.751, 123456789.125, 5e-324};

	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		struct af_jsonw *w = af_writer();
		af_jsonw_double(w, vals[i]);
		cr_assert_eq(strtod(af_text(w), NULL), vals[i], "%s", text);
	}
	struct af_jsonw *w = af_writer();
	af_jsonw_array_begin(w);
	af_jsonw_double(w, 0.1);
	af_jsonw_double(w, 37.751);
	af_jsonw_double(w, 2.0);
	af_jsonw_array_end(w);
	cr_assert_str_eq(af_text(w), "[0.1,37.751,2]");
}

Test(jsonw, writes_non_finite_doubles_as_null)
{
	struct af_jsonw *w = af_writer();

	af_jsonw_array_begin(w);
	af_jsonw_double(w, NAN);
	af_jsonw_double(w, INFINITY);
	af_jsonw_double_fixed(w, -INFINITY, 6);
	af_jsonw_double_fixed(w, NAN, 2);
	af_jsonw_array_end(w);
	cr_assert_str_eq(af_text(w), "[null,null,null,null]");
}

Test(jsonw, writes_fixed_precision_doubles_trimmed)
{
	struct af_jsonw *w = af_writer();

	af_jsonw_array_begin(w);
	af_jsonw_double_fixed(w, 37.751, 6);
	af_jsonw_double_fixed(w, -122.4194, 6);
	af_jsonw_double_fixed(w, 5.0, 6);
	af_jsonw_double_fixed(w, 0.0000004, 6);
	af_jsonw_double_fixed(w, -0.0000004, 6);
	af_jsonw_double_fixed(w, -0.5, 6);
	af_jsonw_double_fixed(w, 0.000001, 6);
	af_jsonw_double_fixed(w, 2.345, 1);
	af_jsonw_double_fixed(w, 21.0277, 0);
	af_jsonw_array_end(w);
	cr_assert_str_eq(af_text(w), "[37.751,-122.4194,5,0,0,-0.5,0.000001,2.3,21]");
}

Test(jsonw, falls_back_to_round_trip_for_huge_fixed_values)
{
	struct af_jsonw *w = af_writer();

	af_jsonw_double_fixed(w, 1e300, 6);
	cr_assert_eq(strtod(af_text(w), NULL), 1e300);
}

Test(jsonw, copies_raw_json_as_a_value)
{
	struct af_jsonw *w = af_writer();

	af_jsonw_object_begin(w);
	af_jsonw_field_raw(w, "a", "[1,2]", 5);
	af_jsonw_field_raw(w, "b", "{\"c\":null}", 10);
	af_jsonw_object_end(w);
	cr_assert_str_eq(af_text(w), "{\"a\":[1,2],\"b\":{\"c\":null}}");
}

Test(jsonw, encodes_base64_test_vectors_of_rfc_4648)
{
	static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const out[] = {"\"\"",         "\"Zg==\"",     "\"Zm8=\"",    "\"Zm9v\"",
	                                  "\"Zm9vYg==\"", "\"Zm9vYmE=\"", "\"Zm9vYmFy\""};
	for (size_t i = 0; i < 7; i++) {
		struct af_jsonw *w = af_writer();
		af_jsonw_base64(w, in[i], strlen(in[i]));
		cr_assert_str_eq(af_text(w), out[i]);
	}
}

Test(jsonw, round_trips_arbitrary_bytes_through_base64)
{
	static unsigned char in[1000], back[1000];

	srand(7);
	for (size_t len = 0; len <= sizeof in; len += 37) {
		struct af_jsonw *w = af_writer();
		for (size_t i = 0; i < len; i++)
			in[i] = (unsigned char)rand();
		af_jsonw_base64(w, in, len);
		cr_assert_eq(w->len, 2 + (len + 2) / 3 * 4);
		size_t n = af_test_base64_decode(w->buf + 1, w->len - 2, back);
		cr_assert_eq(n, len);
		cr_assert_eq(memcmp(in, back, len), 0);
	}
}

Test(jsonw, flags_overflow_of_a_fixed_buffer_and_stops_appending)
{
	char buf[AF_JSONW_MIN_BUF];
	struct af_jsonw w;

	af_jsonw_init(&w, buf, sizeof buf, NULL);
	af_jsonw_object_begin(&w);
	af_jsonw_field_string(&w, "k",
	                      "0123456789012345678901234567890123456789"
	                      "0123456789012345678901234567890123456789");
	size_t len = w.len;
	cr_assert(w.flags & AF_JSONW_OVERFLOW);
	cr_assert_leq(len, sizeof buf);
	/* A short value after the overflow must not land after the gap. */
	af_jsonw_int(&w, 1);
	af_jsonw_object_end(&w);
	cr_assert_eq(w.len, len);
	cr_assert_eq(af_jsonw_end_line(&w), AF_E_INVALID);
	af_jsonw_reset(&w);
	cr_assert_eq(w.flags, 0);
	af_jsonw_int(&w, 42);
	cr_assert_eq(w.len, 2);
	cr_assert_eq(memcmp(buf, "42", 2), 0);
}

Test(jsonw, flushes_a_full_buffer_to_its_file_and_loses_nothing)
{
	char buf[AF_JSONW_MIN_BUF], *mem = NULL;
	size_t memlen = 0;
	FILE *f = open_memstream(&mem, &memlen);
	struct af_jsonw w;
	static char big[5000];

	cr_assert_not_null(f);
	memset(big, 'x', sizeof big - 1);
	af_jsonw_init(&w, buf, sizeof buf, f);
	for (int i = 0; i < 50; i++) {
		af_jsonw_object_begin(&w);
		af_jsonw_field_int(&w, "i", i);
		af_jsonw_field_string(&w, "s", i == 25 ? big : "a\tb");
		af_jsonw_object_end(&w);
		cr_assert_eq(af_jsonw_end_line(&w), AF_OK);
	}
	cr_assert_eq(af_jsonw_flush(&w), AF_OK);
	fclose(f);
	cr_assert_eq(w.flags, 0);
	cr_assert_eq(w.written, memlen);

	/* Rebuild the expected text in one big buffer and compare. */
	struct af_jsonw *ref = af_writer();
	for (int i = 0; i < 50; i++) {
		af_jsonw_object_begin(ref);
		af_jsonw_field_int(ref, "i", i);
		af_jsonw_field_string(ref, "s", i == 25 ? big : "a\tb");
		af_jsonw_object_end(ref);
		af_jsonw_end_line(ref);
	}
	cr_assert_eq(memlen, ref->len);
	cr_assert_eq(memcmp(mem, ref->buf, memlen), 0);
	free(mem);
}

Test(jsonw, flags_nesting_deeper_than_the_limit)
{
	struct af_jsonw *w = af_writer();

	for (int i = 0; i < AF_JSONW_MAX_DEPTH; i++)
		af_jsonw_array_begin(w);
	cr_assert_eq(w->flags & AF_JSONW_TOO_DEEP, 0);
	af_jsonw_array_begin(w);
	cr_assert(w->flags & AF_JSONW_TOO_DEEP);
}

Test(jsonw, writes_lines_to_a_file_it_opens)
{
	struct af_test_dir t;
	char err[256] = "";
	struct af_jsonw *w;
	char *got;

	af_test_dir_make(&t, "out.jsonl");
	w = af_jsonw_open(t.path, 0, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	af_jsonw_object_begin(w);
	af_jsonw_field_string(w, "a", "b");
	af_jsonw_object_end(w);
	cr_assert_eq(af_jsonw_end_line(w), AF_OK);
	cr_assert_eq(af_jsonw_close(w, err, sizeof err), AF_OK, "%s", err);
	got = af_test_read_file(t.path, NULL);
	cr_assert_str_eq(got, "{\"a\":\"b\"}\n");
	free(got);
	af_test_dir_remove(&t);
}

Test(jsonw, reports_a_full_disk_when_closing)
{
	char err[256] = "";
	struct af_jsonw *w = af_jsonw_open("/dev/full", 0, err, sizeof err);

	cr_assert_not_null(w, "%s", err);
	af_jsonw_string(w, "lost");
	af_jsonw_end_line(w);
	cr_assert_eq(af_jsonw_close(w, err, sizeof err), AF_E_IO);
	cr_assert_not_null(strstr(err, "/dev/full"), "%s", err);
	cr_assert_not_null(strstr(err, "No space left on device"), "%s", err);
}

Test(jsonw, reports_a_full_disk_at_the_line_that_fills_the_buffer)
{
	char err[256] = "";
	struct af_jsonw *w = af_jsonw_open("/dev/full", AF_JSONW_MIN_BUF, err, sizeof err);
	af_err_t rc = AF_OK;

	cr_assert_not_null(w, "%s", err);
	for (int i = 0; i < 10 && rc == AF_OK; i++) {
		af_jsonw_string(w, "0123456789012345678901234567890123456789");
		rc = af_jsonw_end_line(w);
	}
	cr_assert_eq(rc, AF_E_IO);
	cr_assert_eq(af_jsonw_close(w, err, sizeof err), AF_E_IO);
}

Test(jsonw, names_the_path_when_it_cannot_open_it)
{
	char err[256] = "";

	cr_assert_null(af_jsonw_open("/nonexistent-dir/x.json", 0, err, sizeof err));
	cr_assert_not_null(strstr(err, "/nonexistent-dir/x.json"), "%s", err);
	cr_assert_not_null(strstr(err, "No such file or directory"), "%s", err);
}

/* ---- rotation by size ---- */

/* One 30-byte line (29 bytes of JSON and '\n') numbered i. */
static void rot_line(struct af_jsonw *w, int i)
{
	af_jsonw_object_begin(w);
	af_jsonw_field_string(w, "line", "0123456789");
	af_jsonw_field_int(w, "n", 100 + i);
	af_jsonw_object_end(w);
	cr_assert_eq(af_jsonw_end_line(w), AF_OK);
}

/* A line after a failure: it is dropped. */
static void rot_line_lost(struct af_jsonw *w)
{
	af_jsonw_raw(w, "{\"lost\":true}", 13);
	cr_assert_eq(af_jsonw_end_line(w), AF_E_IO);
}

/* The text of lines [from, to) as rot_line writes them (static storage). */
static const char *rot_lines(int from, int to)
{
	static char buf[4096];
	size_t n = 0;

	buf[0] = '\0';
	for (int i = from; i < to; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n,
		                      "{\"line\":\"0123456789\",\"n\":%d}\n", 100 + i);
	return buf;
}

/* path.n into buf. */
static const char *rot_name(const struct af_test_dir *t, int n, char *buf, size_t size)
{
	snprintf(buf, size, "%s.%d", t->path, n);
	return buf;
}

/* The file at path.n (n 0: path itself) as text, owned; NULL when there is
 * none. */
static char *rot_read(const struct af_test_dir *t, int n)
{
	char name[160];

	if (n > 0)
		rot_name(t, n, name, sizeof name);
	else
		snprintf(name, sizeof name, "%s", t->path);
	if (access(name, F_OK) != 0)
		return NULL;
	return af_test_read_file(name, NULL);
}

/* Remove path.1 .. path.9, then path and the directory. */
static void rot_remove(struct af_test_dir *t)
{
	char name[160];

	for (int i = 1; i < 10; i++)
		unlink(rot_name(t, i, name, sizeof name));
	af_test_dir_remove(t);
}

static struct af_jsonw *rot_open(struct af_test_dir *t, uint64_t max_bytes, uint32_t keep)
{
	char err[256] = "";
	struct af_jsonw *w;

	af_test_dir_make(t, "out.jsonl");
	w = af_jsonw_open(t->path, 0, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	cr_assert(af_jsonw_rotate_by_size(w, max_bytes, keep));
	return w;
}

/* A file rotated at max_bytes keeping keep, lines 0..n written, closed. */
static void rot_write(struct af_test_dir *t, uint64_t max_bytes, uint32_t keep, int n)
{
	char err[256] = "";
	struct af_jsonw *w = rot_open(t, max_bytes, keep);

	for (int i = 0; i < n; i++)
		rot_line(w, i);
	cr_assert_eq(af_jsonw_close(w, err, sizeof err), AF_OK, "%s", err);
}

static void rot_assert_file(const struct af_test_dir *t, int n, const char *want)
{
	char *got = rot_read(t, n);

	cr_assert_not_null(got, "file .%d is missing", n);
	cr_assert_str_eq(got, want, "file .%d", n);
	free(got);
}

Test(jsonw, rotates_a_file_after_the_line_that_reaches_the_size)
{
	struct af_test_dir t;

	cr_assert_eq(strlen(rot_lines(0, 1)), 30);
	/* 3 lines are 90 bytes, 4 are 120: each full file holds 4 lines. */
	rot_write(&t, 100, 5, 10);
	rot_assert_file(&t, 2, rot_lines(0, 4));
	rot_assert_file(&t, 1, rot_lines(4, 8));
	rot_assert_file(&t, 0, rot_lines(8, 10));
	cr_assert_null(rot_read(&t, 3));
	rot_remove(&t);
}

Test(jsonw, keeps_only_the_newest_rotated_files)
{
	struct af_test_dir t;

	rot_write(&t, 100, 2, 22);
	/* Five rotations: the first three files are gone. */
	rot_assert_file(&t, 2, rot_lines(12, 16));
	rot_assert_file(&t, 1, rot_lines(16, 20));
	rot_assert_file(&t, 0, rot_lines(20, 22));
	cr_assert_null(rot_read(&t, 3));
	rot_remove(&t);
}

Test(jsonw, never_splits_a_line_longer_than_the_rotation_size)
{
	struct af_test_dir t;

	rot_write(&t, 10, 3, 3);
	rot_assert_file(&t, 3, rot_lines(0, 1));
	rot_assert_file(&t, 2, rot_lines(1, 2));
	rot_assert_file(&t, 1, rot_lines(2, 3));
	rot_assert_file(&t, 0, "");
	rot_remove(&t);
}

Test(jsonw, rotates_lines_written_as_text_at_the_line_that_reaches_the_size)
{
	struct af_test_dir t;
	char err[256] = "";
	struct af_jsonw *w = rot_open(&t, 100, 5);
	char chunk[4096];

	/* Two lines as one value first: text in the buffer counts too. */
	rot_line(w, 0);
	rot_line(w, 1);
	snprintf(chunk, sizeof chunk, "%s", rot_lines(2, 10));
	cr_assert_eq(af_jsonw_write_lines(w, chunk, strlen(chunk)), AF_OK);
	cr_assert_eq(af_jsonw_close(w, err, sizeof err), AF_OK, "%s", err);
	rot_assert_file(&t, 2, rot_lines(0, 4));
	rot_assert_file(&t, 1, rot_lines(4, 8));
	rot_assert_file(&t, 0, rot_lines(8, 10));
	rot_remove(&t);
}

Test(jsonw, writes_lines_as_text_whole_without_rotation)
{
	struct af_test_dir t;
	char err[256] = "";
	struct af_jsonw *w;
	const char *text = rot_lines(0, 10);

	af_test_dir_make(&t, "out.jsonl");
	w = af_jsonw_open(t.path, AF_JSONW_MIN_BUF, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	cr_assert_eq(af_jsonw_write_lines(w, text, strlen(text)), AF_OK);
	cr_assert_eq(w->len, 0, "flushed");
	cr_assert_eq(af_jsonw_close(w, err, sizeof err), AF_OK, "%s", err);
	rot_assert_file(&t, 0, rot_lines(0, 10));
	rot_remove(&t);
}

Test(jsonw, does_not_rotate_standard_output_a_device_or_a_symbolic_link)
{
	struct af_test_dir t;
	char err[256] = "", link_path[160];
	struct af_jsonw *w;

	w = af_jsonw_open("-", 0, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	cr_assert_not(af_jsonw_rotate_by_size(w, 1, 1));
	cr_assert_eq(af_jsonw_close(w, err, sizeof err), AF_OK, "%s", err);

	w = af_jsonw_open("/dev/null", 0, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	cr_assert_not(af_jsonw_rotate_by_size(w, 1, 1));
	rot_line(w, 0);
	cr_assert_eq(af_jsonw_close(w, err, sizeof err), AF_OK, "%s", err);
	cr_assert_eq(access("/dev/null.1", F_OK), -1, "nothing was renamed");

	af_test_dir_make(&t, "target.jsonl");
	snprintf(link_path, sizeof link_path, "%s/link.jsonl", t.dir);
	cr_assert_eq(symlink(t.path, link_path), 0);
	w = af_jsonw_open(link_path, 0, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	cr_assert_not(af_jsonw_rotate_by_size(w, 1, 1));
	cr_assert_eq(af_jsonw_close(w, err, sizeof err), AF_OK, "%s", err);
	unlink(link_path);
	rot_remove(&t);
}

Test(jsonw, a_rotation_size_of_zero_turns_rotation_off)
{
	struct af_test_dir t;
	char err[256] = "";
	struct af_jsonw *w = rot_open(&t, 30, 1);

	cr_assert_not(af_jsonw_rotate_by_size(w, 0, 1));
	for (int i = 0; i < 5; i++)
		rot_line(w, i);
	cr_assert_eq(af_jsonw_close(w, err, sizeof err), AF_OK, "%s", err);
	rot_assert_file(&t, 0, rot_lines(0, 5));
	cr_assert_null(rot_read(&t, 1));
	rot_remove(&t);
}

Test(jsonw, a_rotation_that_cannot_rename_stops_the_output_and_keeps_what_was_written)
{
	struct af_test_dir t;
	char err[256] = "", name[160];
	struct af_jsonw *w = rot_open(&t, 60, 1);

	/* A directory where FILE.1 should go: rename(2) refuses. */
	cr_assert_eq(mkdir(rot_name(&t, 1, name, sizeof name), 0700), 0);
	rot_line(w, 0);
	/* Line 1 takes the file to 60 bytes: the rotation fails. */
	af_jsonw_raw(w, rot_lines(1, 2), 29);
	cr_assert_eq(af_jsonw_end_line(w), AF_E_IO);
	rot_line_lost(w);
	cr_assert_eq(af_jsonw_close(w, err, sizeof err), AF_E_IO);
	cr_assert_not_null(strstr(err, "cannot rotate"), "%s", err);
	cr_assert_not_null(strstr(err, t.path), "%s", err);
	cr_assert_not_null(strstr(err, "Is a directory"), "%s", err);
	rmdir(name);
	rot_assert_file(&t, 0, rot_lines(0, 2));
	rot_remove(&t);
}

/* ---- opening to append ---- */

/* Open path to append; *cut is set first to a value open must overwrite. */
static struct af_jsonw *app_open(const char *path, uint64_t *cut)
{
	char err[256] = "";
	struct af_jsonw *w;

	*cut = 12345;
	w = af_jsonw_open_append(path, 0, cut, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	return w;
}

/* A scratch directory t with out.jsonl holding old (NULL: no file). */
static void app_file(struct af_test_dir *t, const char *old)
{
	FILE *f;

	af_test_dir_make(t, "out.jsonl");
	if (old == NULL)
		return;
	f = fopen(t->path, "wb");
	cr_assert_not_null(f, "cannot create %s", t->path);
	cr_assert_eq(fwrite(old, 1, strlen(old), f), strlen(old));
	cr_assert_eq(fclose(f), 0);
}

/* app_file, then opened to append, the cut checked against want_cut; the
 * caller writes and closes. */
static struct af_jsonw *app_open_over(struct af_test_dir *t, const char *old, uint64_t want_cut)
{
	struct af_jsonw *w;
	uint64_t cut;

	app_file(t, old);
	w = app_open(t->path, &cut);
	cr_assert_eq(cut, want_cut);
	return w;
}

static void app_close(struct af_jsonw *w)
{
	char err[256] = "";

	cr_assert_eq(af_jsonw_close(w, err, sizeof err), AF_OK, "%s", err);
}

/* Append lines [from, to) to a file holding old, which must lose
 * want_cut bytes; the file must then hold lines [0, to) exactly. */
static void app_check(const char *old, uint64_t want_cut, int from, int to)
{
	struct af_test_dir t;
	struct af_jsonw *w = app_open_over(&t, old, want_cut);

	for (int i = from; i < to; i++)
		rot_line(w, i);
	app_close(w);
	rot_assert_file(&t, 0, rot_lines(0, to));
	rot_remove(&t);
}

Test(jsonw, appending_keeps_the_lines_a_file_holds_and_adds_after_them)
{
	app_check(rot_lines(0, 2), 0, 2, 3);
}

Test(jsonw, appending_cuts_a_partial_last_line_and_reports_its_length)
{
	char old[256];

	snprintf(old, sizeof old, "%s{\"line\":\"0123", rot_lines(0, 2));
	app_check(old, strlen("{\"line\":\"0123"), 2, 3);
}

Test(jsonw, appending_cuts_a_partial_line_longer_than_one_read_back)
{
	static char old[20000];
	size_t n = (size_t)snprintf(old, sizeof old, "%s", rot_lines(0, 1));

	/* The newline sits 10000 bytes before the end, in an earlier 4 KiB
	 * chunk than the one that is read first. */
	memset(old + n, 'x', 10000);
	old[n + 10000] = '\0';
	app_check(old, 10000, 1, 2);
}

Test(jsonw, appending_empties_a_file_that_holds_no_newline)
{
	app_check("{\"torn\":", 8, 0, 1);
}

Test(jsonw, appending_creates_a_missing_file)
{
	app_check(NULL, 0, 0, 1);
}

Test(jsonw, appending_accepts_a_null_cut)
{
	struct af_test_dir t;
	char err[256] = "";
	struct af_jsonw *w;

	app_file(&t, "{\"torn\":");
	w = af_jsonw_open_append(t.path, 0, NULL, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	app_close(w);
	rot_assert_file(&t, 0, "");
	rot_remove(&t);
}

Test(jsonw, appending_to_a_fifo_writes_through_it_without_cutting)
{
	struct af_test_dir t;
	char got[256];
	uint64_t cut;
	struct af_jsonw *w;
	ssize_t n;
	int rfd;

	af_test_dir_make(&t, "out.fifo");
	cr_assert_eq(mkfifo(t.path, 0600), 0);
	/* A reader first, so that opening the writing end does not wait. */
	rfd = open(t.path, O_RDONLY | O_NONBLOCK);
	cr_assert_geq(rfd, 0);
	w = app_open(t.path, &cut);
	cr_assert_eq(cut, 0);
	rot_line(w, 0);
	app_close(w);
	n = read(rfd, got, sizeof got - 1);
	cr_assert_geq(n, 0);
	got[n] = '\0';
	cr_assert_str_eq(got, rot_lines(0, 1));
	close(rfd);
	af_test_dir_remove(&t);
}

Test(jsonw, appending_to_dev_null_writes_without_cutting)
{
	uint64_t cut;
	struct af_jsonw *w = app_open("/dev/null", &cut);

	cr_assert_eq(cut, 0);
	rot_line(w, 0);
	app_close(w);
}

/* Lines 2..5 appended with rotation at 100 bytes to a file holding old,
 * which keeps lines 0 and 1 (60 bytes) after want_cut bytes are cut: line
 * 3 takes the file to 120 bytes and rotates it. */
static void app_check_rotation(const char *old, uint64_t want_cut)
{
	struct af_test_dir t;
	struct af_jsonw *w = app_open_over(&t, old, want_cut);

	cr_assert(af_jsonw_rotate_by_size(w, 100, 5));
	for (int i = 2; i < 6; i++)
		rot_line(w, i);
	app_close(w);
	rot_assert_file(&t, 1, rot_lines(0, 4));
	rot_assert_file(&t, 0, rot_lines(4, 6));
	rot_remove(&t);
}

Test(jsonw, rotation_after_appending_counts_the_lines_already_in_the_file)
{
	/* Counting only what this writer wrote, line 5 would rotate it. */
	app_check_rotation(rot_lines(0, 2), 0);
}

Test(jsonw, rotation_after_cutting_counts_only_the_bytes_kept)
{
	char old[256];

	/* 87 bytes of which 27 are cut: were they still counted, line 2
	 * would rotate the file. */
	snprintf(old, sizeof old, "%s{\"line\":\"0123456789\",\"n\":10", rot_lines(0, 2));
	app_check_rotation(old, 27);
}

Test(jsonw, names_the_path_when_it_cannot_open_it_to_append)
{
	char err[256] = "";

	cr_assert_null(af_jsonw_open_append("/nonexistent-dir/x.json", 0, NULL, err, sizeof err));
	cr_assert_not_null(strstr(err, "/nonexistent-dir/x.json"), "%s", err);
	cr_assert_not_null(strstr(err, "No such file or directory"), "%s", err);
}
