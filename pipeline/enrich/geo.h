/* geo.h - the enrich stage: geo/ASN/anonymizer facts for every event's
 * source address, from databases that can be replaced while running.
 *
 * Thread: one af_geo_hub per process, opened at start-up; its watcher
 * thread reloads replaced files. One af_geo_reader per worker thread,
 * never shared: it holds that thread's caches and epoch record.
 * In: struct af_event with ev->src set by the parse stage.
 * Out: ev->geo filled: from the databases; marked internal (and not looked
 * up) for private, loopback, link-local and reserved addresses; from the
 * record's own location (Entra) when the databases have no answer; with
 * AF_GEO_CORPORATE for configured egress networks and AF_GEO_HOSTING for
 * configured hosting/VPN ASNs.
 *
 * DESIGN: readers enter an epoch section (ck_epoch) for a batch of events
 * and use the database set current at entry; a reload publishes a new set
 * with one atomic store and frees the old one only after every reader has
 * left the sections that could see it. Each reader caches results by
 * address (addresses repeat heavily in real logs) and decoded records by
 * data-section offset (many addresses share one record), in fixed-size
 * tables made at creation: bounded memory, no locks, no allocation per
 * event. A reader drops its caches when it sees a new set.
 */
#ifndef AF_GEO_H
#define AF_GEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/enrich/geo_db.h"
#include "pipeline/err.h"
#include "pipeline/event.h"

struct af_geo_hub_opts {
	const char *city;              /* City or Country database, or NULL */
	const char *asn;               /* ASN database, or NULL */
	const char *anon;              /* Anonymous-IP database, or NULL */
	struct af_geo_db_paths paths;  /* configured field paths (NULL = detect) */
	const char *corporate_networks; /* file of CIDRs, one per line, or NULL */
	const char *hosting_asns;      /* file of ASNs, one per line, or NULL */
	int64_t reload_interval_ns;    /* how often files are checked; 0 = never */
};

struct af_geo_hub;

/* Open the databases and lists named in opts (each may be absent; with none
 * at all, enrichment still classifies internal addresses and keeps record
 * locations). Returns AF_OK, or AF_E_CONFIG with errstr naming the file and
 * the cause (the caller exits 2), or AF_E_NOMEM. opts is borrowed. */
af_err_t af_geo_hub_open(const struct af_geo_hub_opts *opts, struct af_geo_hub **out,
                         char *errstr, size_t errstr_size);

/* Start the watcher thread (if reload_interval_ns > 0). A file replaced on
 * disk (new inode, size or mtime, as geoipupdate does it by rename) is
 * opened, checked and swapped in; a failed reload keeps the old database,
 * is logged on stderr with the cause and counted. */
af_err_t af_geo_hub_watch(struct af_geo_hub *hub, char *errstr, size_t errstr_size);

/* Check the files once now, as the watcher does (for tests and signals).
 * Returns the number of databases swapped in. @locality not concurrently
 * with the watcher's own check (the hub serialises them). */
unsigned af_geo_hub_check(struct af_geo_hub *hub);

/* Stop the watcher, close everything. @pre every reader freed. */
void af_geo_hub_close(struct af_geo_hub *hub);

struct af_geo_hub_stats {
	uint64_t reloads;         /* databases swapped in */
	uint64_t reload_failures; /* replaced files that could not be used */
	uint64_t generation;      /* current set's number, from 1 */
};
void af_geo_hub_stats(struct af_geo_hub *hub, struct af_geo_hub_stats *out);

struct af_geo_reader;

/* A reader for the calling thread with caches of cache_entries entries
 * each (rounded up to a power of two; 0 = 65536). NULL on no memory.
 * Cost: allocates the caches now, never later. */
struct af_geo_reader *af_geo_reader_new(struct af_geo_hub *hub, size_t cache_entries);
void af_geo_reader_free(struct af_geo_reader *r);

/* Enter / leave an epoch section; enrich only inside one. Keep sections to
 * a batch of events: a reload waits for them to end. */
void af_geo_reader_enter(struct af_geo_reader *r);
void af_geo_reader_leave(struct af_geo_reader *r);

/* Fill ev->geo as described above. @pre inside a section.
 * Cost: a cache probe when the address was seen; else one tree walk per
 * database and, for records not yet decoded, their decoding. */
void af_geo_enrich(struct af_geo_reader *r, struct af_event *ev);

struct af_geo_reader_stats {
	uint64_t lookups;        /* events with an address to look up */
	uint64_t addr_hits;      /* answered by the address cache */
	uint64_t record_hits;    /* tree walked, record decoded before */
	uint64_t record_misses;  /* record decoded now */
	uint64_t not_found;      /* no database had an answer */
	uint64_t internal;       /* private/reserved: not looked up */
	uint64_t from_record;    /* the record's own location kept */
};
void af_geo_reader_stats(const struct af_geo_reader *r, struct af_geo_reader_stats *out);

#endif
