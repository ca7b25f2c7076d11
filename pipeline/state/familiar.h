/* familiar.h - what an account is used to: a small bounded set of keys (the
 * countries, ASNs or networks it signs in from), each with the day it was
 * first and last seen and how often.
 *
 * Thread: the shard that owns the account the set is embedded in; no locks,
 * no allocation.
 * In: keys (nonzero 32-bit values, see the key helpers below) and days.
 * Out: whether a key is familiar, how many keys are, the most recent ones.
 *
 * DESIGN: an entry is 10 bytes (the key as two 16-bit halves keeps its
 * alignment at 2, so an array of them has no padding) and a set is an array
 * of a few entries with its capacity passed to every call, so each account
 * sizes its sets to its memory budget (pipeline/state/account.h). Days are
 * days since the epoch as uint16_t (until 2149). An entry is live while its
 * last day is within `history` days of the day asked about; an expired
 * entry is as good as empty and is the first to be reused. The array is
 * kept in the order of the latest sighting, most recent first (a sighting
 * moves its entry to the front: at most a few dozen bytes moved), so when
 * the set is full the last entry, the one seen least recently, is
 * replaced: exact LRU with no timestamps finer than a day, and which key
 * goes depends only on the sequence of sightings.
 */
#ifndef AF_FAMILIAR_H
#define AF_FAMILIAR_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline/ip.h"

struct af_fam_entry {
	uint16_t key[2]; /* low, high half of the key; 0 = empty slot */
	uint16_t first;  /* day first seen */
	uint16_t last;   /* day last seen */
	uint16_t count;  /* sightings, saturating at UINT16_MAX */
};

static inline uint32_t af_fam_key(const struct af_fam_entry *e)
{
	return (uint32_t)e->key[0] | (uint32_t)e->key[1] << 16;
}

/* The day of ts (ns since the epoch), saturating at UINT16_MAX.
 * @pre ts >= 0. */
uint16_t af_fam_day(int64_t ts);

/* A history duration (ns) in whole days, rounded up, within 1..UINT16_MAX. */
uint16_t af_fam_days(int64_t history_ns);

/* An empty set of cap entries (zero-filled is empty too). */
void af_fam_init(struct af_fam_entry *set, unsigned cap);

/* Whether e holds a key seen within history days of day: day - last <
 * history (a day before last, from a late event, counts as live). */
bool af_fam_live(const struct af_fam_entry *e, uint16_t day, uint16_t history);

/* The live entry for key, or NULL. key 0 is never found.
 * Cost: O(cap). */
const struct af_fam_entry *af_fam_find(const struct af_fam_entry *set, unsigned cap, uint32_t key,
                                       uint16_t day, uint16_t history);

/* Record a sighting of key on day and move its entry to the front: a live
 * entry gets last = max(last, day), first = min(first, day) and count + 1;
 * otherwise the key takes an expired or empty slot, or replaces the least
 * recently seen entry, with first = last = day and count 1 (an expired
 * entry of the same key starts over: it was forgotten). key 0 is ignored.
 * Cost: O(cap), and a move of up to cap - 1 entries. */
void af_fam_see(struct af_fam_entry *set, unsigned cap, uint32_t key, uint16_t day,
                uint16_t history);

/* Number of live entries. */
unsigned af_fam_count(const struct af_fam_entry *set, unsigned cap, uint16_t day, uint16_t history);

/* Up to max live keys into keys[], most recently seen first; returns how
 * many. */
unsigned af_fam_recent(const struct af_fam_entry *set, unsigned cap, uint16_t day, uint16_t history,
                       uint32_t *keys, unsigned max);

/* ---- keys ---- */

/* A country code ("US") as a key: its two letters, upper-cased; 0 when
 * country is not two ASCII letters. */
uint32_t af_fam_country_key(const char *country);

/* The two letters of a country key into out (3 bytes: two letters, NUL). */
void af_fam_country_text(uint32_t key, char out[3]);

/* The network of ip as a key: an IPv4 address's /24, exactly (top bit set,
 * the three bytes below it); an IPv6 address's /48, its xxh3 cut to 31
 * bits (collisions among the few networks of one account are negligible).
 * 0 for AF_IP_NONE. */
uint32_t af_fam_net_key(const struct af_ip *ip);

#endif
