/* geo_cache.h - the per-reader caches of the enrich stage (internal to
 * pipeline/enrich/geo.c): answers by address, decoded records by offset.
 *
 * Thread: the owning reader's thread only; no synchronisation inside.
 * In: keys (a 16-byte address, or a data-section offset) and the number of
 * the database set they were computed under. Out: the cached struct af_geo,
 * or a slot to fill.
 *
 * DESIGN: both caches are direct-mapped tables of a power-of-two size, made
 * once and never grown: a new key simply overwrites whatever shared its
 * slot. Every entry carries the set generation it was filled under and a
 * lookup must match it, so a reload invalidates every entry at once without
 * touching the tables (clearing would write tens of MB per reader per reload
 * and fault in pages the reader never used). Generation 0 is never a set's
 * number, so the zeroed tables start empty.
 */
#ifndef AF_GEO_CACHE_H
#define AF_GEO_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"
#include "pipeline/event.h"
#include "pipeline/ip.h"

struct af_geo_addr_entry;
struct af_geo_rec_entry;

/* The final merged answer for an address. */
struct af_geo_addr_cache {
	struct af_geo_addr_entry *slots;
	unsigned shift; /* 64 - log2(number of slots) */
};

/* The decoded fields of one database's records. */
struct af_geo_rec_cache {
	struct af_geo_rec_entry *slots;
	unsigned shift;
};

/* The number of slots a request for entries gives: entries rounded up to a
 * power of two, 0 meaning the default (65536). 0 if that overflows. */
size_t af_geo_cache_slots(size_t entries);

/* Make a cache of af_geo_cache_slots(entries) slots into the caller's c.
 * AF_E_NOMEM (c left empty; fini is still safe) or AF_E_INVALID for a size
 * that overflows. Cost: one zeroed allocation of about 170 bytes a slot;
 * pages are faulted in as slots are first used. */
af_err_t af_geo_addr_cache_init(struct af_geo_addr_cache *c, size_t entries);
void af_geo_addr_cache_fini(struct af_geo_addr_cache *c);

/* The answer cached for ip under generation gen, or NULL. Borrowed: valid
 * until the next put into c. */
const struct af_geo *af_geo_addr_cache_get(const struct af_geo_addr_cache *c,
                                           const struct af_ip *ip, uint64_t gen);

/* Remember geo as the answer for ip under gen, replacing the slot's entry.
 * @pre gen != 0. */
void af_geo_addr_cache_put(struct af_geo_addr_cache *c, const struct af_ip *ip, uint64_t gen,
                           const struct af_geo *geo);

af_err_t af_geo_rec_cache_init(struct af_geo_rec_cache *c, size_t entries);
void af_geo_rec_cache_fini(struct af_geo_rec_cache *c);

/* The fields decoded from the record at offset under gen, or NULL.
 * Borrowed: valid until the next put into c. */
const struct af_geo *af_geo_rec_cache_get(const struct af_geo_rec_cache *c, uint32_t offset,
                                          uint64_t gen);

/* Remember geo as the decoding of the record at offset under gen.
 * @pre gen != 0. */
void af_geo_rec_cache_put(struct af_geo_rec_cache *c, uint32_t offset, uint64_t gen,
                          const struct af_geo *geo);

#endif
