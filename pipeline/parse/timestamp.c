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
 * Leap seconds: second 60 is accepted, since UTC sources may write one at the
 * end of a minute, and read as the last nanosecond of second 59 of the same
 * minute. POSIX time has no slot for it; this keeps the time inside its own
 * minute and day and after every earlier instant of that minute, where rolling
 * it into the next minute would reorder it against that minute's events.
 */
#include "pipeline/parse/timestamp.h"

#include <assert.h>

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

static int days_in_month(int y, int m)
{
	static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
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
	int64_t s = days_from_civil(cv->year, cv->month, cv->day) * S_PER_DAY + cv->hour * 3600 +
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

bool af_ts_parse(const char *s, size_t len, int64_t *ns)
{
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
