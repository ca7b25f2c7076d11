/* ip.c - IP addresses as audit logs write them (see pipeline/ip.h).
 *
 * Thread: any; pure functions of their arguments, no state.
 * In: the text of an address field (a view, not NUL-terminated). Out: a
 * struct af_ip (16 bytes, IPv4 stored IPv4-mapped, optional port); or that
 * address written back as text.
 *
 * DESIGN: the shape decides the form before any digit is read. A leading '['
 * is a bracketed IPv6 address with an optional ":port" after the ']'.
 * Otherwise the number of colons decides: none is IPv4, exactly one is
 * IPv4:port (an IPv6 address always has at least two), two or more is IPv6,
 * where a "%zone" suffix (fe80::1%eth0) is accepted and dropped because a
 * zone names an interface of the logging host, not part of the address.
 * The family is then taken from the bytes, not from the text: anything in
 * ::ffff:0:0/96 is IPv4, so "::ffff:1.2.3.4" and "1.2.3.4" are one value.
 *
 * Strictness, chosen to match inet_pton (used by the tests as a reference):
 * IPv4 is exactly four decimal octets 0..255, and an octet with a leading
 * zero ("01.2.3.4") is rejected, since inet_aton and many tools read it as
 * octal and the address would be ambiguous. IPv6 groups are 1..4 hex digits
 * in either case; "::" stands for at least one zero group; an IPv4 tail may
 * fill the last 32 bits. A port is 1..5 decimal digits up to 65535; port 0 is
 * accepted but cannot be told from "no port". "-", "unknown" and everything
 * else that is not an address are rejected.
 *
 * Most records carry a plain dotted IPv4 address, so af_ip_parse first reads
 * the text as exactly that in one pass, with no search for colons or
 * brackets. It only ever accepts: text it does not read whole as four
 * octets (a blank, a colon, a fifth digit, a leading zero, 256) goes to the
 * general path above, which then decides alone, so the two cannot disagree.
 */
#include "pipeline/ip.h"

#include <assert.h>
#include <string.h>

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int hex_value(char c)
{
	/* Two unsigned range tests: below '0' (or 'a') wraps to a large value;
	 * c | 0x20 folds 'A'..'F' onto 'a'..'f' and no other byte onto them. */
	unsigned digit = (unsigned char)c - (unsigned)'0';
	unsigned letter = ((unsigned char)c | 0x20u) - (unsigned)'a';

	if (digit <= 9)
		return (int)digit;
	if (letter <= 5)
		return (int)letter + 10;
	return -1;
}

/* Exactly [p, end) as dotted IPv4 into out[4]. */
static bool parse_v4(const char *p, const char *end, uint8_t out[4])
{
	for (int i = 0; i < 4; i++) {
		int v = 0, n = 0;

		if (i > 0 && (p == end || *p++ != '.'))
			return false;
		while (p < end && *p >= '0' && *p <= '9') {
			if (n == 1 && v == 0)
				return false; /* leading zero */
			v = v * 10 + (*p++ - '0');
			if (++n > 3 || v > 255)
				return false;
		}
		if (n == 0)
			return false;
		out[i] = (uint8_t)v;
	}
	return p == end;
}

/* Exactly [p, end) as IPv6 (no zone, no brackets) into out[16]. */
static bool parse_v6(const char *p, const char *end, uint8_t out[16])
{
	uint16_t words[8];
	int n = 0;
	int gap = -1; /* index in words where "::" stands, or -1 */

	if (p < end && *p == ':') {
		if (end - p < 2 || p[1] != ':')
			return false;
		gap = 0;
		p += 2;
	}
	while (p < end) {
		const char *group = p;
		unsigned v = 0;
		int h;

		while (p < end && (h = hex_value(*p)) >= 0 && p - group < 4) {
			v = v << 4 | (unsigned)h;
			p++;
		}
		if (p < end && *p == '.') {
			/* An IPv4 tail: the rest of the text, in the last 32 bits. */
			uint8_t v4[4];

			if (n > 6 || !parse_v4(group, end, v4))
				return false;
			words[n++] = (uint16_t)(v4[0] << 8 | v4[1]);
			words[n++] = (uint16_t)(v4[2] << 8 | v4[3]);
			p = end;
			break;
		}
		if (p == group || n == 8)
			return false;
		words[n++] = (uint16_t)v;
		if (p == end)
			break;
		if (*p++ != ':')
			return false; /* a fifth hex digit or a stray byte */
		if (p < end && *p == ':') {
			if (gap >= 0)
				return false;
			gap = n;
			p++;
		} else if (p == end) {
			return false; /* a single trailing colon */
		}
	}
	if (gap < 0 ? n != 8 : n > 7)
		return false;

	int fill = 8 - n; /* zero groups the "::" stands for */
	for (int i = 0, w = 0; i < 8; i++) {
		uint16_t v = 0;

		if (gap < 0 || i < gap || i >= gap + fill)
			v = words[w++];
		out[2 * i] = (uint8_t)(v >> 8);
		out[2 * i + 1] = (uint8_t)v;
	}
	return true;
}

/* Exactly [p, end) as a port number. */
static bool parse_port(const char *p, const char *end, uint16_t *port)
{
	unsigned v = 0;

	if (p == end || end - p > 5)
		return false;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* IPv6 text with an optional "%zone"; the zone is checked and dropped. */
static bool parse_v6_zoned(const char *p, const char *end, uint8_t out[16])
{
	const char *pct = memchr(p, '%', (size_t)(end - p));

	if (pct != NULL) {
		if (pct + 1 == end)
			return false;
		for (const char *z = pct + 1; z < end; z++) {
			if (*z <= ' ' || *z > '~' || *z == ']')
				return false;
		}
		end = pct;
	}
	return parse_v6(p, end, out);
}

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool parse_any(const char *p, const char *end, struct af_ip *ip)
{
	if (p == end)
		return false;
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		if (close == NULL || !parse_v6_zoned(p + 1, close, ip->bytes))
			return false;
		if (close + 1 == end)
			return true;
		return close[1] == ':' && parse_port(close + 2, end, &ip->port);
	}

	const char *colon = memchr(p, ':', (size_t)(end - p));
	if (colon == NULL) {
		memcpy(ip->bytes, v4_mapped_prefix, sizeof v4_mapped_prefix);
		return parse_v4(p, end, ip->bytes + 12);
	}
	if (memchr(colon + 1, ':', (size_t)(end - colon - 1)) == NULL) {
		memcpy(ip->bytes, v4_mapped_prefix, sizeof v4_mapped_prefix);
		return parse_v4(p, colon, ip->bytes + 12) && parse_port(colon + 1, end, &ip->port);
	}
	return parse_v6_zoned(p, end, ip->bytes);
}

/* Exactly s[0..len) as dotted IPv4, every octet 0..255 without a leading
 * zero; fills ip only on success. The text is read from a copy with zero
 * bytes after it, so no read needs a test for the end: a zero byte is
 * neither a digit nor a dot, and one inside the text is caught by the
 * length read. Each octet's digits are read without a loop: at most
 * three, then a dot (or the end, after the fourth). */
static bool parse_v4_plain(const char *s, size_t len, struct af_ip *ip)
{
	unsigned char b[16] = {0};
	uint8_t v4[4];
	size_t p = 0;

	if (len < 7 || len > 15)
		return false;
	if (len >= 8) {
		memcpy(b, s, 8);
		memcpy(b + len - 8, s + len - 8, 8);
	} else {
		memcpy(b, s, 7);
	}
	for (int i = 0; i < 4; i++) {
		unsigned v = (unsigned)b[p++] - '0', d;

		if (v > 9)
			return false;
		if ((d = (unsigned)b[p] - '0') <= 9) {
			if (v == 0)
				return false; /* leading zero */
			v = v * 10 + d;
			if ((d = (unsigned)b[++p] - '0') <= 9) {
				v = v * 10 + d;
				if (v > 255)
					return false;
				p++;
			}
		}
		v4[i] = (uint8_t)v;
		if (i < 3 && b[p++] != '.')
			return false;
	}
	if (p != len)
		return false;
	memset(ip, 0, sizeof *ip);
	memcpy(ip->bytes, v4_mapped_prefix, sizeof v4_mapped_prefix);
	memcpy(ip->bytes + 12, v4, sizeof v4);
	ip->family = AF_IP_V4;
	return true;
}

bool af_ip_parse(const char *s, size_t len, struct af_ip *ip)
{
	const char *p = s, *end = s + len;

	if (parse_v4_plain(s, len, ip))
		return true;

	while (p < end && is_blank(*p))
		p++;
	while (end > p && is_blank(end[-1]))
		end--;
	memset(ip, 0, sizeof *ip);
	if (!parse_any(p, end, ip)) {
		memset(ip, 0, sizeof *ip);
		return false;
	}
	ip->family =
	    memcmp(ip->bytes, v4_mapped_prefix, sizeof v4_mapped_prefix) == 0 ? AF_IP_V4 : AF_IP_V6;
	return true;
}

/* Decimal v (0..255) at p; returns the byte after it. */
static char *put_octet(char *p, unsigned v)
{
	if (v >= 100)
		*p++ = (char)('0' + v / 100);
	if (v >= 10)
		*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

/* Lowercase hex of v without leading zeros; returns the byte after it. */
static char *put_group(char *p, unsigned v)
{
	static const char digits[] = "0123456789abcdef";
	int shift = 12;

	while (shift > 0 && (v >> shift) == 0)
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		*p++ = digits[(v >> shift) & 0xf];
	return p;
}

size_t af_ip_format(const struct af_ip *ip, char *buf, size_t size)
{
	char *p = buf;

	assert(size >= AF_IP_TEXT_MAX);
	(void)size;
	if (ip->family == AF_IP_V4) {
		for (int i = 12; i < 16; i++) {
			if (i > 12)
				*p++ = '.';
			p = put_octet(p, ip->bytes[i]);
		}
	} else if (ip->family == AF_IP_V6) {
		unsigned words[8];
		int best = -1, best_len = 1; /* RFC 5952 4.2.2: never "::" for one group */

		for (int i = 0; i < 8; i++)
			words[i] = (unsigned)ip->bytes[2 * i] << 8 | ip->bytes[2 * i + 1];
		/* RFC 5952 4.2.3: the longest run of zero groups, the first on a tie. */
		for (int i = 0; i < 8;) {
			int j = i;

			while (j < 8 && words[j] == 0)
				j++;
			if (j - i > best_len) {
				best = i;
				best_len = j - i;
			}
			i = j > i ? j : i + 1;
		}
		for (int i = 0; i < 8; i++) {
			if (i == best) {
				*p++ = ':';
				*p++ = ':';
				i += best_len - 1;
				continue;
			}
			if (i > 0 && i != best + best_len)
				*p++ = ':';
			p = put_group(p, words[i]);
		}
	}
	*p = '\0';
	return (size_t)(p - buf);
}
