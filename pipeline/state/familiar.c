/* familiar.c - bounded familiarity sets; see familiar.h.
 *
 * Thread: the shard owning the account. No allocation.
 */
#include "pipeline/state/familiar.h"

#include <assert.h>
#include <string.h>
#define XXH_INLINE_ALL /* one short hash per IPv6 sign-in */
#include <xxhash.h>

_Static_assert(sizeof(struct af_fam_entry) == 10, "a familiarity entry is 10 bytes");

#define DAY_NS INT64_C(86400000000000)

uint16_t af_fam_day(int64_t ts)
{
	assert(ts >= 0);
	int64_t d = ts / DAY_NS;
	return d > UINT16_MAX ? UINT16_MAX : (uint16_t)d;
}

uint16_t af_fam_days(int64_t history_ns)
{
	if (history_ns <= DAY_NS)
		return 1;
	int64_t d = history_ns / DAY_NS + (history_ns % DAY_NS != 0);
	return d > UINT16_MAX ? UINT16_MAX : (uint16_t)d;
}

void af_fam_init(struct af_fam_entry *set, unsigned cap)
{
	memset(set, 0, cap * sizeof(*set));
}

bool af_fam_live(const struct af_fam_entry *e, uint16_t day, uint16_t history)
{
	if (af_fam_key(e) == 0)
		return false;
	return day <= e->last || (unsigned)(day - e->last) < history;
}

const struct af_fam_entry *af_fam_find(const struct af_fam_entry *set, unsigned cap, uint32_t key,
                                       uint16_t day, uint16_t history)
{
	if (key == 0)
		return NULL;
	for (unsigned i = 0; i < cap; i++)
		if (af_fam_key(&set[i]) == key)
			return af_fam_live(&set[i], day, history) ? &set[i] : NULL;
	return NULL;
}

/* Move set[i] to the front, shifting set[0..i) back by one: the array is
 * kept in order of the latest sighting, most recent first. */
static void to_front(struct af_fam_entry *set, unsigned i)
{
	struct af_fam_entry e = set[i];

	memmove(&set[1], &set[0], i * sizeof(*set));
	set[0] = e;
}

void af_fam_see(struct af_fam_entry *set, unsigned cap, uint32_t key, uint16_t day,
                uint16_t history)
{
	unsigned i, at = cap;

	if (key == 0 || cap == 0)
		return;
	for (i = 0; i < cap; i++)
		if (af_fam_key(&set[i]) == key)
			break;
	if (i < cap && af_fam_live(&set[i], day, history)) {
		struct af_fam_entry *e = &set[i];

		if (day > e->last)
			e->last = day;
		if (day < e->first)
			e->first = day;
		if (e->count < UINT16_MAX)
			e->count++;
		to_front(set, i);
		return;
	}
	if (i < cap) {
		at = i; /* forgotten: it starts over */
	} else {
		/* A free slot (empty or expired), else the last: the least
		 * recently seen. */
		for (at = 0; at < cap - 1; at++)
			if (!af_fam_live(&set[at], day, history))
				break;
	}
	set[at].key[0] = (uint16_t)key;
	set[at].key[1] = (uint16_t)(key >> 16);
	set[at].first = day;
	set[at].last = day;
	set[at].count = 1;
	to_front(set, at);
}

unsigned af_fam_count(const struct af_fam_entry *set, unsigned cap, uint16_t day, uint16_t history)
{
	unsigned n = 0;

	for (unsigned i = 0; i < cap; i++)
		n += af_fam_live(&set[i], day, history);
	return n;
}

unsigned af_fam_recent(const struct af_fam_entry *set, unsigned cap, uint16_t day, uint16_t history,
                       uint32_t *keys, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < cap && n < max; i++)
		if (af_fam_live(&set[i], day, history))
			keys[n++] = af_fam_key(&set[i]);
	return n;
}

/* ---- keys ---- */

static bool ascii_letter(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

uint32_t af_fam_country_key(const char *country)
{
	if (!ascii_letter(country[0]) || !ascii_letter(country[1]) || country[2] != '\0')
		return 0;
	return (uint32_t)(unsigned char)upper(country[0]) << 8 |
	       (uint32_t)(unsigned char)upper(country[1]);
}

void af_fam_country_text(uint32_t key, char out[3])
{
	out[0] = (char)(key >> 8 & 0xff);
	out[1] = (char)(key & 0xff);
	out[2] = '\0';
}

uint32_t af_fam_net_key(const struct af_ip *ip)
{
	uint32_t key;

	switch (ip->family) {
	case AF_IP_V4:
		return 0x80000000u | (uint32_t)ip->bytes[12] << 16 | (uint32_t)ip->bytes[13] << 8 |
		       ip->bytes[14];
	case AF_IP_V6:
		/* The /48 is the first six bytes; the top bit stays clear so
		 * no IPv6 key equals an IPv4 one. */
		key = (uint32_t)(XXH3_64bits(ip->bytes, 6) >> 33);
		return key != 0 ? key : 1;
	default: return 0;
	}
}
