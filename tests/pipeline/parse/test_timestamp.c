/* test_timestamp.c - af_ts_parse and af_ts_format, form by form, against
 * timegm/gmtime_r as a reference on random times, and the fast path for the
 * usual ISO layout against the general scanner on generated text. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "near_miss.h"
#include "pipeline/parse/timestamp.h"

#define S                1000000000LL
#define T20250825_055800 1756101480LL /* 2025-08-25T05:58:00Z, in seconds */

static bool parse(const char *s, int64_t *ns)
{
	return af_ts_parse(s, strlen(s), ns);
}

static int64_t parse_ok(const char *s)
{
	int64_t ns = -1;

	cr_assert(parse(s, &ns), "should parse: \"%s\"", s);
	return ns;
}

static void assert_rejected(const char *s)
{
	int64_t ns;

	cr_assert_not(parse(s, &ns), "should reject: \"%s\"", s);
}

Test(timestamp, reads_iso_with_z_as_utc)
{
	cr_assert_eq(parse_ok("2025-08-25T05:58:00Z"), T20250825_055800 * S);
}

Test(timestamp, reads_iso_without_zone_as_utc)
{
	cr_assert_eq(parse_ok("2025-08-25T05:58:00"), T20250825_055800 * S);
}

Test(timestamp, accepts_a_space_or_lowercase_t_between_date_and_time)
{
	cr_assert_eq(parse_ok("2025-08-25 05:58:00"), T20250825_055800 * S);
	cr_assert_eq(parse_ok("2025-08-25t05:58:00z"), T20250825_055800 * S);
}

Test(timestamp, converts_an_offset_to_utc_in_all_three_spellings)
{
	int64_t want = (T20250825_055800 - 7 * 3600) * S;

	cr_assert_eq(parse_ok("2025-08-25T05:58:00+07:00"), want);
	cr_assert_eq(parse_ok("2025-08-25T05:58:00+0700"), want);
	cr_assert_eq(parse_ok("2025-08-25T05:58:00+07"), want);
}

Test(timestamp, converts_a_negative_offset_with_minutes_to_utc)
{
	cr_assert_eq(parse_ok("2025-08-25T05:58:00-03:30"),
	             (T20250825_055800 + 3 * 3600 + 1800) * S);
	cr_assert_eq(parse_ok("2025-08-25T05:58:00-00:00"), T20250825_055800 * S);
}

Test(timestamp, carries_an_offset_across_midnight_into_the_previous_day)
{
	/* 2025-08-25T00:30+07:00 is 2025-08-24T17:30Z */
	cr_assert_eq(parse_ok("2025-08-25T00:30:00+07:00"), (1756080000LL - 6 * 3600 - 1800) * S);
}

Test(timestamp, reads_one_to_nine_fraction_digits)
{
	int64_t base = T20250825_055800 * S;

	cr_assert_eq(parse_ok("2025-08-25T05:58:00.1Z"), base + 100000000);
	cr_assert_eq(parse_ok("2025-08-25T05:58:00.12Z"), base + 120000000);
	cr_assert_eq(parse_ok("2025-08-25T05:58:00.123Z"), base + 123000000);
	cr_assert_eq(parse_ok("2025-08-25T05:58:00.123456Z"), base + 123456000);
	cr_assert_eq(parse_ok("2025-08-25T05:58:00.123456789Z"), base + 123456789);
}

Test(timestamp, reads_the_seven_digit_fraction_of_microsoft_logs)
{
	cr_assert_eq(parse_ok("2025-08-25T05:58:00.1234567Z"), T20250825_055800 * S + 123456700);
	cr_assert_eq(parse_ok("2025-08-25 05:58:00.1234567"), T20250825_055800 * S + 123456700);
}

Test(timestamp, rejects_ten_fraction_digits_or_a_bare_dot)
{
	assert_rejected("2025-08-25T05:58:00.1234567890Z");
	assert_rejected("2025-08-25T05:58:00.Z");
	assert_rejected("2025-08-25T05:58:00.");
}

Test(timestamp, reads_a_dotnet_json_date_in_milliseconds)
{
	cr_assert_eq(parse_ok("/Date(1724565480000)/"), 1724565480000LL * 1000000);
	cr_assert_eq(parse_ok("/Date(1724565480123)/"), 1724565480123LL * 1000000);
	cr_assert_eq(parse_ok("/Date(0)/"), 0);
}

Test(timestamp, ignores_the_display_offset_of_a_dotnet_date)
{
	cr_assert_eq(parse_ok("/Date(1724565480000+0000)/"), 1724565480000LL * 1000000);
	cr_assert_eq(parse_ok("/Date(1724565480000+0700)/"), 1724565480000LL * 1000000);
	cr_assert_eq(parse_ok("/Date(1724565480000-0530)/"), 1724565480000LL * 1000000);
}

Test(timestamp, rejects_malformed_dotnet_dates)
{
	assert_rejected("/Date()/");
	assert_rejected("/Date(-1000)/");
	assert_rejected("/Date(1724565480000)");
	assert_rejected("/Date(1724565480000+00)/");
	assert_rejected("/Date(1724565480000+2500)/");
	assert_rejected("/Date(17245654800x0)/");
	assert_rejected("/Date(99999999999999999999)/");
	assert_rejected("/date(1724565480000)/");
}

Test(timestamp, reads_the_purview_us_form_with_am_and_pm)
{
	cr_assert_eq(parse_ok("8/25/2025 5:58:00 AM"), T20250825_055800 * S);
	cr_assert_eq(parse_ok("8/25/2025 5:58:00 PM"), 1756144680LL * S);
	cr_assert_eq(parse_ok("08/25/2025 05:58:00 am"), T20250825_055800 * S);
}

Test(timestamp, reads_12_am_as_midnight_and_12_pm_as_noon)
{
	cr_assert_eq(parse_ok("8/25/2025 12:00:00 AM"), 1756080000LL * S);
	cr_assert_eq(parse_ok("8/25/2025 12:00:00 PM"), 1756123200LL * S);
}

Test(timestamp, reads_the_us_form_in_24_hour_time_without_am_pm)
{
	cr_assert_eq(parse_ok("8/25/2025 17:58:00"), 1756144680LL * S);
	cr_assert_eq(parse_ok("8/25/2025 0:00:00"), 1756080000LL * S);
}

Test(timestamp, rejects_us_hours_outside_the_twelve_hour_clock)
{
	assert_rejected("8/25/2025 13:00:00 PM");
	assert_rejected("8/25/2025 0:00:00 AM");
	assert_rejected("8/25/2025 24:00:00");
	assert_rejected("8/25/2025 5:58:00 XM");
	assert_rejected("8/25/2025 5:58:00  AM");
	assert_rejected("8/25/25 5:58:00 AM");
	assert_rejected("25/8/2025 5:58:00");
}

Test(timestamp, knows_which_years_are_leap_years)
{
	cr_assert_eq(parse_ok("2024-02-29T00:00:00Z"), 1709164800LL * S);
	cr_assert_eq(parse_ok("2000-02-29T12:00:00Z"), 951825600LL * S);
	assert_rejected("2025-02-29T00:00:00Z");
	assert_rejected("2100-02-29T00:00:00Z");
	assert_rejected("2/29/2025 1:00:00 AM");
}

Test(timestamp, rejects_days_beyond_the_end_of_their_month)
{
	assert_rejected("2025-04-31T00:00:00Z");
	assert_rejected("2025-02-30T00:00:00Z");
	assert_rejected("2025-01-32T00:00:00Z");
	assert_rejected("2025-01-00T00:00:00Z");
	assert_rejected("2025-13-01T00:00:00Z");
	assert_rejected("2025-00-01T00:00:00Z");
	cr_assert(parse_ok("2025-12-31T23:59:59Z") > 0);
}

Test(timestamp, rejects_hours_minutes_and_seconds_out_of_range)
{
	assert_rejected("2025-08-25T24:00:00Z");
	assert_rejected("2025-08-25T23:60:00Z");
	assert_rejected("2025-08-25T23:59:61Z");
	assert_rejected("2025-08-25T05:58:00+24:00");
	assert_rejected("2025-08-25T05:58:00+07:60");
}

Test(timestamp, reads_a_leap_second_as_the_last_nanosecond_of_its_minute)
{
	int64_t next_day = 1767225600LL * S; /* 2026-01-01T00:00:00Z */

	cr_assert_eq(parse_ok("2025-12-31T23:59:60Z"), next_day - 1);
	cr_assert_eq(parse_ok("2025-12-31T23:59:60.5Z"), next_day - 1);
}

Test(timestamp, allows_blanks_around_the_text)
{
	cr_assert_eq(parse_ok("  2025-08-25T05:58:00Z\t\r\n"), T20250825_055800 * S);
	cr_assert_eq(parse_ok(" /Date(1724565480000)/ "), 1724565480000LL * 1000000);
	cr_assert_eq(parse_ok(" 8/25/2025 5:58:00 AM "), T20250825_055800 * S);
}

Test(timestamp, rejects_everything_else)
{
	static const char *const bad[] = {"",
	                                  "   ",
	                                  "-",
	                                  "now",
	                                  "2025-08-25",
	                                  "2025-08-25T05:58",
	                                  "2025-08-25T05:58:00ZZ",
	                                  "2025-08-25T05:58:00 Z",
	                                  "2025-08-25T05:58:00+7:00",
	                                  "2025-08-25T05:58:00+07:0",
	                                  "2025-08-25T05:58:00+070",
	                                  "2025-08-25X05:58:00",
	                                  "2025/08/25 05:58:00",
	                                  "2025-8-25T05:58:00Z",
	                                  "2025-08-25T5:58:00Z",
	                                  "2025-08-25T05:58:00,123Z",
	                                  "20250825T055800Z",
	                                  "1756101480",
	                                  "2025-08-25T05:58:00Z junk",
	                                  "+2025-08-25T05:58:00Z"};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_rejected(bad[i]);
}

Test(timestamp, rejects_times_before_1970_after_the_offset)
{
	assert_rejected("1969-12-31T23:59:59Z");
	assert_rejected("1970-01-01T00:30:00+01:00");
	cr_assert_eq(parse_ok("1970-01-01T00:00:00Z"), 0);
	cr_assert_eq(parse_ok("1969-12-31T23:00:00-01:00"), 0);
}

Test(timestamp, rejects_times_beyond_the_int64_nanosecond_range)
{
	cr_assert_eq(parse_ok("2262-04-11T23:47:16.854775807Z"), INT64_MAX);
	assert_rejected("2262-04-11T23:47:16.854775808Z");
	assert_rejected("2262-04-12T00:00:00Z");
	assert_rejected("9999-12-31T23:59:59Z");
	assert_rejected("/Date(9223372036855)/");
}

Test(timestamp, reads_only_the_given_length_of_a_longer_buffer)
{
	const char buf[] = "2025-08-25T05:58:00Z-and-more";
	int64_t ns;

	cr_assert(af_ts_parse(buf, 20, &ns));
	cr_assert_eq(ns, T20250825_055800 * S);
	cr_assert_not(af_ts_parse(buf, 21, &ns));
	cr_assert(af_ts_parse(buf, 19, &ns)); /* no zone: UTC */
	cr_assert_not(af_ts_parse(buf, 18, &ns));
}

static void assert_formats(int64_t ns, const char *want)
{
	char buf[AF_TS_TEXT_MAX];
	size_t n = af_ts_format(ns, buf, sizeof buf);

	cr_assert_str_eq(buf, want);
	cr_assert_eq(n, strlen(want));
}

Test(timestamp, formats_whole_seconds_without_a_fraction)
{
	assert_formats(T20250825_055800 * S, "2025-08-25T05:58:00Z");
	assert_formats(0, "1970-01-01T00:00:00Z");
}

Test(timestamp, formats_the_fraction_in_groups_of_three_digits)
{
	assert_formats(T20250825_055800 * S + 120000000, "2025-08-25T05:58:00.120Z");
	assert_formats(T20250825_055800 * S + 123456000, "2025-08-25T05:58:00.123456Z");
	assert_formats(T20250825_055800 * S + 123456700, "2025-08-25T05:58:00.123456700Z");
	assert_formats(T20250825_055800 * S + 1, "2025-08-25T05:58:00.000000001Z");
}

Test(timestamp, formats_the_ends_of_the_int64_range)
{
	assert_formats(INT64_MAX, "2262-04-11T23:47:16.854775807Z");
	assert_formats(-1, "1969-12-31T23:59:59.999999999Z");
	assert_formats(INT64_MIN, "1677-09-21T00:12:43.145224192Z");
}

/* xorshift64*: a fixed-seed generator, so a failure can be replayed. */
static uint64_t next_random(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545F4914F6CDD1DULL;
}

Test(timestamp, agrees_with_timegm_on_random_dates)
{
	uint64_t rng = 0x1234567887654321ULL;

	for (int i = 0; i < 100000; i++) {
		struct tm tm = {0};
		char text[64];
		int64_t ns;

		tm.tm_year = 1970 + (int)(next_random(&rng) % 292) - 1900;
		tm.tm_mon = (int)(next_random(&rng) % 12);
		tm.tm_mday = 1 + (int)(next_random(&rng) % 28);
		tm.tm_hour = (int)(next_random(&rng) % 24);
		tm.tm_min = (int)(next_random(&rng) % 60);
		tm.tm_sec = (int)(next_random(&rng) % 60);
		snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
		         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		cr_assert(parse(text, &ns), "%s", text);
		cr_assert_eq(ns, (int64_t)timegm(&tm) * S, "%s", text);
	}
}

Test(timestamp, formats_what_gmtime_formats_and_parses_it_back)
{
	uint64_t rng = 42;

	for (int i = 0; i < 100000; i++) {
		int64_t ns = (int64_t)(next_random(&rng) >> 1); /* [0, INT64_MAX] */
		char buf[AF_TS_TEXT_MAX], want[64];
		struct tm tm;
		time_t t = (time_t)(ns / S);
		int64_t back;

		if (i % 3 == 0)
			ns -= ns % S; /* whole seconds, too */
		gmtime_r(&t, &tm);
		strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S", &tm);
		af_ts_format(ns, buf, sizeof buf);
		cr_assert_eq(strncmp(buf, want, 19), 0, "%s vs %s", buf, want);
		cr_assert(parse(buf, &back), "%s", buf);
		cr_assert_eq(back, ns, "%s", buf);
	}
}

/* s read as it is (the fast path, when it takes it) and after a blank (the
 * general scanners) must give the same answer and time. */
static void assert_paths_agree(const char *s, size_t len)
{
	struct af_test_spellings sp;
	int64_t fast = -1, general = -2;

	af_test_spell(s, len, &sp);
	bool a = af_ts_parse(sp.exact, len, &fast);
	bool b = af_ts_parse(sp.padded, sp.padded_len, &general);
	af_test_unspell(&sp);
	cr_assert_eq(a, b, "\"%.*s\": fast path %d, general %d", (int)len, s, a, b);
	if (a)
		cr_assert_eq(fast, general, "\"%.*s\": %lld vs %lld", (int)len, s, (long long)fast,
		             (long long)general);
}

static void assert_paths_agree_str(const char *s)
{
	assert_paths_agree(s, strlen(s));
}

/* date followed by each time of day, fraction and zone below, on both
 * paths; returns how many of those texts are valid times. */
static size_t check_tails(const char *date)
{
	static const char *const times[] = {"00:00:00", "23:59:59", "23:59:60", "12:34:56",
	                                    "24:00:00", "23:60:00", "23:59:61", "99:99:99"};
	static const char *const fractions[] = {
	    "",         ".1",        ".12",        ".123",        ".1234", ".12345", ".123456",
	    ".1234567", ".12345678", ".123456789", ".1234567890", ".",     ".12x"};
	static const char *const zones[] = {"",      "Z",   "z",      "+07:00", "-03:30", "+0700",
	                                    "-0330", "+07", "-00:00", "+24:00", "+07:60", "+7:00",
	                                    "+07:0", "ZZ",  "Z ",     " ",      "\t\r\n", "x"};
	size_t accepted = 0;

	for (size_t t = 0; t < sizeof times / sizeof times[0]; t++)
		for (size_t f = 0; f < sizeof fractions / sizeof fractions[0]; f++)
			for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
				char s[80];
				int64_t ns;
				int n = snprintf(s, sizeof s, "%s%s%s%s", date, times[t],
				                 fractions[f], zones[z]);

				assert_paths_agree(s, (size_t)n);
				accepted += af_ts_parse(s, (size_t)n, &ns);
			}
	return accepted;
}

Test(timestamp, reads_every_date_and_tail_alike_on_the_fast_and_the_general_path)
{
	static const int years[] = {0,    1600, 1969, 1970, 1971, 1972, 1999, 2000, 2024,
	                            2025, 2096, 2099, 2100, 2101, 2262, 2263, 9999};
	static const int days[] = {0, 1, 9, 28, 29, 30, 31, 32};
	size_t accepted = 0;

	for (size_t y = 0; y < sizeof years / sizeof years[0]; y++)
		for (int m = 0; m <= 13; m++)
			for (size_t d = 0; d < sizeof days / sizeof days[0]; d++) {
				char date[40];

				snprintf(date, sizeof date, "%04d-%02d-%02d%c", years[y], m,
				         days[d], "Tt "[(y + d) % 3]);
				accepted += check_tails(date);
			}
	cr_assert_gt(accepted, 10000, "the grid should hold valid times");
}

Test(timestamp, reads_every_fraction_length_alike_on_both_paths_and_exactly)
{
	static const char *const zones[] = {"", "Z", "+01:00", "-0130"};
	static const char digits[] = "9081726354";

	for (int n = 0; n <= 11; n++)
		for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
			char s[64];
			int64_t ns;

			snprintf(s, sizeof s, "2025-08-25T05:58:00.%.*s%s", n, digits, zones[z]);
			assert_paths_agree_str(s);
			cr_assert_eq(af_ts_parse(s, strlen(s), &ns), n >= 1 && n <= 9, "%s", s);
		}
	/* 1 to 9 digits are scaled to ns, whatever follows them. */
	int64_t want = 0;
	for (int n = 1; n <= 9; n++) {
		char s[64];
		int64_t scale = 1;

		for (int i = n; i < 9; i++)
			scale *= 10;
		want = want * 10 + (digits[n - 1] - '0');
		snprintf(s, sizeof s, "2025-08-25T05:58:00.%.*sZ", n, digits);
		cr_assert_eq(parse_ok(s), T20250825_055800 * S + want * scale, "%s", s);
		snprintf(s, sizeof s, "2025-08-25T05:58:00.%.*s", n, digits);
		cr_assert_eq(parse_ok(s), T20250825_055800 * S + want * scale, "%s", s);
	}
}

Test(timestamp, refuses_a_stray_byte_at_any_position_alike_on_both_paths)
{
	static const char *const bases[] = {"2025-08-25T05:58:00", "2024-02-29T23:59:60.1234567Z",
	                                    "2025-08-25 05:58:00.123+07:00",
	                                    "1970-01-01T00:00:00.000000001-01:00"};
	static const char strays[] = {
	    '0', '5', '9',  '-',  ':',        'T',        't',     ' ',     '.',        'Z',    '+',
	    '/', 'x', '\t', '\0', (char)0x80, (char)0xff, '0' - 1, '9' + 1, 'T' ^ 0x20, '-' + 1};

	for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++)
		af_test_each_near_miss(bases[b], strays, sizeof strays, assert_paths_agree);
}

Test(timestamp, reads_random_near_iso_text_alike_on_both_paths)
{
	static const char alphabet[] = "0123456789012345678901234567890123456789--::TZ.+ ";
	uint64_t rng = 0x0ddba11cafef00dULL;

	for (int i = 0; i < 300000; i++) {
		char s[48];
		int64_t ns = (int64_t)(next_random(&rng) % (4102444800LL * S)); /* to 2100 */
		size_t len = af_ts_format(ns, s, sizeof s);
		int muts = (int)(next_random(&rng) % 3);

		/* A formatted time, then up to two bytes changed and the end
		 * moved: mostly valid, often just not. */
		for (int j = 0; j < muts; j++)
			s[next_random(&rng) % len] =
			    alphabet[next_random(&rng) % (sizeof alphabet - 1)];
		if (next_random(&rng) % 4 == 0)
			len = 19 + next_random(&rng) % (len - 18);
		assert_paths_agree(s, len);
	}
}

/* Every day of 1970..2099 (the month-table years) and on to 2262: the day
 * number af_ts_parse finds is the one af_ts_format's inverse arithmetic
 * writes the date from. */
Test(timestamp, finds_the_day_number_of_every_date_from_1970_to_2262)
{
	int64_t last = INT64_MAX / (86400 * S);

	for (int64_t day = 0; day <= last; day++) {
		char s[AF_TS_TEXT_MAX];
		int64_t ns = day * 86400 * S + (day % 86400) * S;
		int64_t back;

		af_ts_format(ns, s, sizeof s);
		cr_assert(parse(s, &back), "%s", s);
		cr_assert_eq(back, ns, "%s", s);
	}
}
