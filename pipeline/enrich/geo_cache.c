/* geo_cache.c - the per-reader caches of the enrich stage: fixed-size,
 * direct-mapped, keyed with the database set's generation.
 *
 * Thread: the owning reader's thread only (see geo_cache.h).
 * In: an address or a data-section offset, and a generation. Out: a cached
 * struct af_geo or NULL.
 *
 * DESIGN: direct-mapped rather than set-associative: a probe is one slot
 * and one compare, and a conflict costs one tree walk, which the record
 * cache then usually answers. Slots are chosen from the top bits of a mixed
 * 64-bit hash, so addresses that differ only in their last octet (IPv4 in
 * the low bytes of an IPv4-mapped key) still spread over the whole table.
 */
#include "pipeline/enrich/geo_cache.h"
#include "pipeline/mem.h"
#include "pipeline/mix.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SLOTS ((size_t)65536)
/* Beyond this a cache would be tens of GB per reader: surely a mistake. */
#define MAX_SLOTS ((size_t)1 << 26)

struct af_geo_addr_entry {
	uint64_t gen; /* 0: empty */
	uint8_t addr[16];
	struct af_geo geo;
};

struct af_geo_rec_entry {
	uint64_t gen; /* 0: empty */
	uint32_t offset;
	struct af_geo geo;
};

static size_t addr_slot(unsigned shift, const uint8_t addr[16])
{
	uint64_t hi, lo;

	memcpy(&hi, addr, 8);
	memcpy(&lo, addr + 8, 8);
	return (size_t)(af_mix64(hi * 0x9E3779B97F4A7C15ull ^ lo) >> shift);
}

static size_t rec_slot(unsigned shift, uint32_t offset)
{
	return (size_t)(af_mix64(offset) >> shift);
}

size_t af_geo_cache_slots(size_t entries)
{
	size_t n = 1;

	if (entries == 0)
		return DEFAULT_SLOTS;
	if (entries > MAX_SLOTS)
		return 0;
	while (n < entries)
		n <<= 1;
	return n;
}

static unsigned shift_for(size_t slots)
{
	unsigned bits = 0;

	while (((size_t)1 << bits) < slots)
		bits++;
	return 64 - bits;
}

/* Allocate a zeroed table; *shift says how many hash bits to drop. */
static af_err_t table_new(size_t entries, size_t entry_size, void **slots, unsigned *shift)
{
	size_t n = af_geo_cache_slots(entries);

	*slots = NULL;
	if (n == 0)
		return AF_E_INVALID;
	if (n < 2)
		n = 2; /* one slot would need a shift by 64, which C leaves undefined */
	*slots = calloc(n, entry_size);
	if (*slots == NULL)
		return AF_E_NOMEM;
	af_mem_prefault(*slots, n * entry_size);
	*shift = shift_for(n);
	return AF_OK;
}

af_err_t af_geo_addr_cache_init(struct af_geo_addr_cache *c, size_t entries)
{
	void *slots;
	af_err_t err = table_new(entries, sizeof(struct af_geo_addr_entry), &slots, &c->shift);

	c->slots = slots;
	return err;
}

void af_geo_addr_cache_fini(struct af_geo_addr_cache *c)
{
	free(c->slots);
	c->slots = NULL;
}

const struct af_geo *af_geo_addr_cache_get(const struct af_geo_addr_cache *c,
                                           const struct af_ip *ip, uint64_t gen)
{
	const struct af_geo_addr_entry *e = &c->slots[addr_slot(c->shift, ip->bytes)];

	if (e->gen != gen || memcmp(e->addr, ip->bytes, sizeof(e->addr)) != 0)
		return NULL;
	return &e->geo;
}

void af_geo_addr_cache_put(struct af_geo_addr_cache *c, const struct af_ip *ip, uint64_t gen,
                           const struct af_geo *geo)
{
	struct af_geo_addr_entry *e = &c->slots[addr_slot(c->shift, ip->bytes)];

	assert(gen != 0);
	e->gen = gen;
	memcpy(e->addr, ip->bytes, sizeof(e->addr));
	e->geo = *geo;
}

af_err_t af_geo_rec_cache_init(struct af_geo_rec_cache *c, size_t entries)
{
	void *slots;
	af_err_t err = table_new(entries, sizeof(struct af_geo_rec_entry), &slots, &c->shift);

	c->slots = slots;
	return err;
}

void af_geo_rec_cache_fini(struct af_geo_rec_cache *c)
{
	free(c->slots);
	c->slots = NULL;
}

const struct af_geo *af_geo_rec_cache_get(const struct af_geo_rec_cache *c, uint32_t offset,
                                          uint64_t gen)
{
	const struct af_geo_rec_entry *e = &c->slots[rec_slot(c->shift, offset)];

	if (e->gen != gen || e->offset != offset)
		return NULL;
	return &e->geo;
}

void af_geo_rec_cache_put(struct af_geo_rec_cache *c, uint32_t offset, uint64_t gen,
                          const struct af_geo *geo)
{
	struct af_geo_rec_entry *e = &c->slots[rec_slot(c->shift, offset)];

	assert(gen != 0);
	e->gen = gen;
	e->offset = offset;
	e->geo = *geo;
}
