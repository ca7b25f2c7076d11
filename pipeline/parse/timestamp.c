/* timestamp.c - event times as the audit exports write them (see timestamp.h).
 *
 * Thread: any; pure functions of their arguments, no state.
 * In: the text of a time field (a view, not NUL-terminated). Out: ns since the
 * Unix epoch, UTC; or that number written back as RFC 3339 text.
 *
 * DESIGN: one small scanner per form, chosen by the first bytes ("/Date(",
 * "dddd-", else the US M/D/YYYY form), each reading fixed fields and checking
 * ranges as it goes. The calendar date becomes a day number by days-from-civil
 * arithmetic on the proleptic Gregorian calendar (years counted from March so
 * that the leap day is the last day of a counting year), which needs no
 * timegm, no TZ, no locale and no table beyond the days per month.
 *
 * The exports write one layout almost always, "YYYY-MM-DDThh:mm:ss" and a
 * fraction and zone, so af_ts_parse first tries a fast path that checks the
 * 19 fixed bytes as three 8-byte words (a word test each instead of a branch
 * per byte), reads a fraction of up to 8 digits as one word, and the zone and
 * the calendar checks with the general scanner's own functions. Whatever the
 * fast path does not take whole (a leading blank, a short or odd head, a
 * tail it cannot read) goes to the general scanners unchanged, so the two
 * cannot disagree: the fast path decides only text whose every byte the
 * general ISO scanner would read the same way. Years 1970..2099, where every
 * fourth year is a leap year, take their day number from a month table
 * instead of the era arithmetic.
 *
 * Leap seconds: second 60 is accepted, since UTC sources may write one at the
 * end of a minute, and read as the last nanosecond of second 59 of the same
 * minute. POSIX time has no slot for it; this keeps the time inside its own
 * minute and day and after every earlier instant of that minute, where rolling
 * it into the next minute would reorder it against that minute's events.
 */
#include "pipeline/parse/timestamp.h"

#include <assert.h>
#include <string.h>

#define NS_PER_S  1000000000LL
#define S_PER_DAY 86400LL

struct cursor {
	const char *p;
	const char *end;
};

/* The calendar fields a scanner fills; offset_s is what to subtract. */
struct civil {
	int year, month, day;
	int hour, minute, second;
	int32_t frac_ns;
	int32_t offset_s;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool at_end(const struct cursor *c)
{
	return c->p == c->end;
}

static bool peek(const struct cursor *c, char ch)
{
	return c->p < c->end && *c->p == ch;
}

static bool take(struct cursor *c, char ch)
{
	if (!peek(c, ch))
		return false;
	c->p++;
	return true;
}

/* Exactly n digits. */
static bool take_digits(struct cursor *c, int n, int *out)
{
	int v = 0;

	if (c->end - c->p < n)
		return false;
	for (int i = 0; i < n; i++) {
		if (!is_digit(c->p[i]))
			return false;
		v = v * 10 + (c->p[i] - '0');
	}
	c->p += n;
	*out = v;
	return true;
}

/* One or two digits (US month, day and hour). */
static bool take_1or2(struct cursor *c, int *out)
{
	if (!take_digits(c, 1, out))
		return false;
	if (c->p < c->end && is_digit(*c->p))
		*out = *out * 10 + (*c->p++ - '0');
	return true;
}

/* Optional "." and 1..9 digits, scaled to ns. A dot without digits, or
 * more than 9 digits, is rejected rather than silently rounded. */
static bool take_fraction(struct cursor *c, int32_t *ns)
{
	int32_t v = 0;
	int n = 0;

	*ns = 0;
	if (!take(c, '.'))
		return true;
	while (c->p < c->end && is_digit(*c->p)) {
		if (++n > 9)
			return false;
		v = v * 10 + (*c->p++ - '0');
	}
	if (n == 0)
		return false;
	for (; n < 9; n++)
		v *= 10;
	*ns = v;
	return true;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* 1970..2099: every fourth year is a leap year, none of the century rule
 * applies (2000 is one, 2100 is beyond), so the common years need no
 * division at all. */
static bool in_fast_years(int y)
{
	return y >= 1970 && y <= 2099;
}

static int days_in_month(int y, int m)
{
	static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m != 2)
		return days[m - 1];
	return (in_fast_years(y) ? (y & 3) == 0 : is_leap(y)) ? 29 : 28;
}

/* Days from 1970-01-01 to y-m-d; valid for any year, negative before 1970. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	/* Shift the year to start on March 1: February, the month of variable
	 * length, becomes the last month, so day-of-year does not depend on
	 * whether the year is a leap year. */
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;                                   /* [0, 399] */
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */

	/* 719468 = days from 0000-03-01 to 1970-01-01. */
	return era * 146097 + doe - 719468;
}

/* days_from_civil for a valid date; 1970..2099 by the month table. */
static int64_t days_of(int y, int m, int d)
{
	/* Days before the first of each month in a common year. */
	static const unsigned short before[12] = {0,   31,  59,  90,  120, 151,
	                                          181, 212, 243, 273, 304, 334};

	if (!in_fast_years(y))
		return days_from_civil(y, m, d);
	/* (y - 1969) / 4 leap days fall in 1970..y-1: 1972, 1976, ... */
	return (int64_t)(y - 1970) * 365 + (y - 1969) / 4 + before[m - 1] +
	       (m > 2 && (y & 3) == 0) + d - 1;
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;                                      /* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
	int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Checks the fields and turns them into ns; false when out of range or
 * outside [1970-01-01, the int64 ns limit in 2262]. */
static bool civil_to_ns(const struct civil *cv, int64_t *ns)
{
	int second = cv->second;
	int64_t frac = cv->frac_ns;

	/* The year has 4 digits; whether it is in range is decided on the
	 * result, after the offset. */
	if (cv->month < 1 || cv->month > 12)
		return false;
	if (cv->day < 1 || cv->day > days_in_month(cv->year, cv->month))
		return false;
	if (cv->hour > 23 || cv->minute > 59 || second > 60)
		return false;
	if (second == 60) {
		second = 59;
		frac = NS_PER_S - 1;
	}
	/* At most ~2.5e11 s for year 9999: no overflow before the check. */
	int64_t s = days_of(cv->year, cv->month, cv->day) * S_PER_DAY + cv->hour * 3600 +
	            cv->minute * 60 + second - cv->offset_s;
	if (s < 0 || s > (INT64_MAX - frac) / NS_PER_S)
		return false;
	*ns = s * NS_PER_S + frac;
	return true;
}

/* "Z", "+hh:mm", "+hhmm", "+hh" (or '-'), or nothing (UTC). */
static bool take_zone(struct cursor *c, int32_t *offset_s)
{
	int hh, mm = 0, sign;

	*offset_s = 0;
	if (at_end(c))
		return true;
	if (take(c, 'Z') || take(c, 'z'))
		return true;
	if (take(c, '+'))
		sign = 1;
	else if (take(c, '-'))
		sign = -1;
	else
		return false;
	if (!take_digits(c, 2, &hh) || hh > 23)
		return false;
	if (take(c, ':')) {
		if (!take_digits(c, 2, &mm))
			return false;
	} else if (!at_end(c) && !take_digits(c, 2, &mm)) {
		return false;
	}
	if (mm > 59)
		return false;
	*offset_s = sign * (hh * 3600 + mm * 60);
	return true;
}

/* YYYY-MM-DD(T|t| )hh:mm:ss[.f][zone] */
static bool parse_iso(struct cursor *c, int64_t *ns)
{
	struct civil cv = {0};

	if (!take_digits(c, 4, &cv.year) || !take(c, '-') || !take_digits(c, 2, &cv.month) ||
	    !take(c, '-') || !take_digits(c, 2, &cv.day))
		return false;
	if (!take(c, 'T') && !take(c, 't') && !take(c, ' '))
		return false;
	if (!take_digits(c, 2, &cv.hour) || !take(c, ':') || !take_digits(c, 2, &cv.minute) ||
	    !take(c, ':') || !take_digits(c, 2, &cv.second))
		return false;
	if (!take_fraction(c, &cv.frac_ns) || !take_zone(c, &cv.offset_s) || !at_end(c))
		return false;
	return civil_to_ns(&cv, ns);
}

/* M/D/YYYY h:mm:ss[.f][ AM| PM]: Purview's CSV export, US culture. */
static bool parse_us(struct cursor *c, int64_t *ns)
{
	struct civil cv = {0};

	if (!take_1or2(c, &cv.month) || !take(c, '/') || !take_1or2(c, &cv.day) || !take(c, '/') ||
	    !take_digits(c, 4, &cv.year) || !take(c, ' '))
		return false;
	if (!take_1or2(c, &cv.hour) || !take(c, ':') || !take_digits(c, 2, &cv.minute) ||
	    !take(c, ':') || !take_digits(c, 2, &cv.second) || !take_fraction(c, &cv.frac_ns))
		return false;
	if (take(c, ' ')) {
		bool pm;

		if (take(c, 'A') || take(c, 'a'))
			pm = false;
		else if (take(c, 'P') || take(c, 'p'))
			pm = true;
		else
			return false;
		if (!take(c, 'M') && !take(c, 'm'))
			return false;
		if (cv.hour < 1 || cv.hour > 12)
			return false;
		/* 12 AM is midnight, 12 PM is noon. */
		cv.hour = cv.hour % 12 + (pm ? 12 : 0);
	}
	if (!at_end(c))
		return false;
	return civil_to_ns(&cv, ns);
}

/* /Date(ms)/ or /Date(ms+hhmm)/. The ms are already UTC; .NET appends the
 * writer's local offset only as a hint for display, so it is checked for
 * shape and ignored. Negative ms (before 1970) are rejected. */
static bool parse_dotnet(struct cursor *c, int64_t *ns)
{
	int64_t ms = 0;
	int n = 0;

	c->p += 6; /* "/Date(" */
	while (c->p < c->end && is_digit(*c->p)) {
		ms = ms * 10 + (*c->p++ - '0');
		if (ms > INT64_MAX / 1000000)
			return false;
		n++;
	}
	if (n == 0)
		return false;
	if (peek(c, '+') || peek(c, '-')) {
		int hhmm;

		c->p++;
		if (!take_digits(c, 4, &hhmm) || hhmm / 100 > 23 || hhmm % 100 > 59)
			return false;
	}
	if (!take(c, ')') || !take(c, '/') || !at_end(c))
		return false;
	*ns = ms * 1000000;
	return true;
}

/* The 8 bytes at p as a number whose byte i (from the low end) is p[i]. */
static uint64_t load_le64(const char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof w);
	if (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
		w = __builtin_bswap64(w);
	return w;
}

/* Non-zero unless every byte of w marked in digits (0x80 there) is '0'..'9'
 * and every byte marked in seps (0xff there) equals that byte of want.
 * want holds '0' at the digit bytes: after the xor a digit is 0..9, and
 * adding 0x76 sets bit 7 of exactly the bytes above 9 (a byte with bit 7
 * already set is caught by the or). A carry out of a byte happens only from
 * a byte that is itself refused, so it cannot hide anything. */
static uint64_t word_mismatch(uint64_t w, uint64_t want, uint64_t digits, uint64_t seps)
{
	uint64_t x = w ^ want;
	uint64_t add = (digits >> 7) * 0x76;

	return (x & seps) | (((x + add) | x) & digits);
}

/* Bit 7 set in each byte of x (text xor '0') that is not a digit, and
 * possibly in bytes after the first such: a carry comes only out of a byte
 * that is not a digit, so the lowest flagged byte is exact. */
static uint64_t non_digits(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101;

	return ((x + 0x76 * ones) | x) & 0x80 * ones;
}

/* take_fraction for the fast path: the digits of a fraction read as one
 * word (the 8 bytes after the dot, or the last 8 of the text moved down to
 * start there), their count from the first non-digit and their value by
 * pairing digits in three multiplications. Eight digits in a row may run
 * on to a ninth or tenth: those, and a dot without digits, are left to
 * take_fraction.
 * @pre the 8 bytes before c->end are readable. */
static bool take_fraction_fast(struct cursor *c, int32_t *ns)
{
	const uint64_t zeros = 0x3030303030303030;
	const char *digits = c->p + 1;
	uint64_t x;

	if (!peek(c, '.') || digits == c->end)
		return take_fraction(c, ns);
	if (c->end - digits >= 8) {
		x = load_le64(digits) ^ zeros;
	} else {
		/* The bytes before the digits shifted out; the zero bytes
		 * shifted in are 0x30 after the xor: not digits. */
		int skip = (int)(8 - (c->end - digits));
		x = (load_le64(c->end - 8) >> (8 * skip)) ^ zeros;
	}
	uint64_t stop = non_digits(x);
	if (stop == 0)
		return take_fraction(c, ns);
	int n = __builtin_ctzll(stop) / 8;
	if (n == 0)
		return take_fraction(c, ns);
	/* The n digits as an 8-digit number: the bytes after them zeroed,
	 * so it is the fraction times 10^(8 - n). */
	x &= ~0ULL >> (8 * (8 - n));
	x = (x * 10 + (x >> 8)) & 0x00ff00ff00ff00ff;
	x = (x * 100 + (x >> 16)) & 0x0000ffff0000ffff;
	x = (x * 10000 + (x >> 32)) & 0xffffffff;
	*ns = (int32_t)x * 10;
	c->p = digits + n;
	return true;
}

/* Each byte of w (digits 0..9) times 10 plus the next byte: byte i is then
 * the two-digit number that starts at byte i (at most 99, so no carry). */
static uint64_t digit_pairs(uint64_t w)
{
	return w * 10 + (w >> 8);
}

static int byte_at(uint64_t w, int i)
{
	return (int)(w >> (8 * i) & 0xff);
}

/* "YYYY-MM-DD(T|t| )hh:mm:ss" then what parse_iso reads after its head,
 * at the very start and end of s[0..len): true with *ok set when decided,
 * false to leave the text to the general scanners (which then see exactly
 * what parse_iso would have seen here, since the text has no blank at
 * either end when this path decides). */
static bool parse_iso_fast(const char *s, size_t len, int64_t *ns, bool *ok)
{
	/* Bytes 0..7 "YYYY-MM-", 8..9 "DD", 11..18 "hh:mm:ss" (little-endian
	 * constants: byte 0 is the lowest). */
	const uint64_t date_want = 0x2d30302d30303030, date_digits = 0x0080800080808080,
	               date_seps = 0xff0000ff00000000;
	const uint64_t day_want = 0x3030, day_digits = 0x8080;
	const uint64_t time_want = 0x30303a30303a3030, time_digits = 0x8080008080008080,
	               time_seps = 0x0000ff0000ff0000;
	struct civil cv = {0};

	if (len < 19)
		return false;
	uint64_t date = load_le64(s), day = load_le64(s + 8), tod = load_le64(s + 11);
	char sep = s[10];
	if (word_mismatch(date, date_want, date_digits, date_seps) |
	    word_mismatch(day, day_want, day_digits, 0) |
	    word_mismatch(tod, time_want, time_digits, time_seps))
		return false;
	if (sep != 'T' && sep != 't' && sep != ' ')
		return false;
	/* The separators are 0 after the xor, the digits their values. Of
	 * day only byte 0 is read: the unchecked bytes above it can only
	 * carry further up. */
	date = digit_pairs(date ^ date_want);
	day = digit_pairs(day ^ day_want);
	tod = digit_pairs(tod ^ time_want);
	cv.year = byte_at(date, 0) * 100 + byte_at(date, 2);
	cv.month = byte_at(date, 5);
	cv.day = byte_at(day, 0);
	cv.hour = byte_at(tod, 0);
	cv.minute = byte_at(tod, 3);
	cv.second = byte_at(tod, 6);

	struct cursor c = {s + 19, s + len};
	if (!take_fraction_fast(&c, &cv.frac_ns) || !take_zone(&c, &cv.offset_s) || !at_end(&c))
		return false;
	*ok = civil_to_ns(&cv, ns);
	return true;
}

bool af_ts_parse(const char *s, size_t len, int64_t *ns)
{
	bool ok;

	if (parse_iso_fast(s, len, ns, &ok))
		return ok;

	struct cursor c = {s, s + len};

	while (c.p < c.end && is_blank(*c.p))
		c.p++;
	while (c.end > c.p && is_blank(c.end[-1]))
		c.end--;
	if (c.end - c.p >= 6 && c.p[0] == '/' && c.p[1] == 'D' && c.p[2] == 'a' && c.p[3] == 't' &&
	    c.p[4] == 'e' && c.p[5] == '(')
		return parse_dotnet(&c, ns);
	if (c.end - c.p >= 5 && c.p[4] == '-')
		return parse_iso(&c, ns);
	return parse_us(&c, ns);
}

/* n digits of v, zero-padded; returns the byte after them. */
static char *put_digits(char *p, int64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

size_t af_ts_format(int64_t ns, char *buf, size_t size)
{
	assert(size >= AF_TS_TEXT_MAX);
	(void)size;

	/* Floor division, so times before 1970 keep a positive fraction. */
	int64_t s = ns / NS_PER_S;
	int64_t frac = ns % NS_PER_S;
	if (frac < 0) {
		frac += NS_PER_S;
		s--;
	}
	int64_t days = s / S_PER_DAY;
	int64_t sod = s % S_PER_DAY;
	if (sod < 0) {
		sod += S_PER_DAY;
		days--;
	}
	int64_t y;
	int m, d;
	civil_from_days(days, &y, &m, &d);

	/* int64 ns spans 1677..2262, so the year always has 4 digits. */
	char *p = put_digits(buf, y, 4);
	*p++ = '-';
	p = put_digits(p, m, 2);
	*p++ = '-';
	p = put_digits(p, d, 2);
	*p++ = 'T';
	p = put_digits(p, sod / 3600, 2);
	*p++ = ':';
	p = put_digits(p, sod / 60 % 60, 2);
	*p++ = ':';
	p = put_digits(p, sod % 60, 2);
	if (frac != 0) {
		*p++ = '.';
		if (frac % 1000000 == 0)
			p = put_digits(p, frac / 1000000, 3);
		else if (frac % 1000 == 0)
			p = put_digits(p, frac / 1000, 6);
		else
			p = put_digits(p, frac, 9);
	}
	*p++ = 'Z';
	*p = '\0';
	return (size_t)(p - buf);
}
