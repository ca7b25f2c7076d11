/* utf8.h - cutting UTF-8 text to a byte budget without splitting a
 * character: every bounded string field (event, geo, dead letters, JSON
 * output) is cut with this one rule.
 *
 * Thread: any; pure functions.
 */
#ifndef AF_UTF8_H
#define AF_UTF8_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

/* Sequence length a lead byte announces; 1 for ASCII and stray bytes. */
static inline size_t af_utf8_lead_len(uint8_t c)
{
	if (c >= 0xF0 && c < 0xF8)
		return 4;
	if (c >= 0xE0 && c < 0xF0)
		return 3;
	if (c >= 0xC0 && c < 0xE0)
		return 2;
	return 1;
}

/* The largest n <= max such that s[0..n) does not end inside a multi-byte
 * sequence of s[0..len): the place to cut s to at most max bytes. Walks back
 * over at most 3 continuation bytes to the lead byte and cuts before it only
 * if its sequence reaches past max; stray continuation bytes with no lead
 * are invalid anyway and are cut at max.
 * Cost: at most 4 byte reads. */
static inline size_t af_utf8_cut(const char *s, size_t len, size_t max)
{
	const uint8_t *p = (const uint8_t *)s;

	if (max >= len)
		return len;
	for (size_t back = 0; back <= 3 && back <= max; back++) {
		size_t at = max - back;
		if ((p[at] & 0xC0) != 0x80)
			return at + af_utf8_lead_len(p[at]) > max ? at : max;
	}
	return max;
}

#endif
