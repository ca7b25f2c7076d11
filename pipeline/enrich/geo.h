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
 * event. Cache entries carry the number (generation) of the set they were
 * computed from, so a reader's caches go stale all at once when it first
 * enters a section of a new set, without being cleared.
 * Databases that did not change are shared by the old and the new set
 * (reference counted by the hub), not reopened.
 */
#ifndef AF_GEO_H
#define AF_GEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/enrich/geo_db.h"
#include "pipeline/err.h"
#include "pipeline/event.h"
#include "pipeline/log.h"

struct af_geo_hub_opts {
	const char *city;               /* City or Country database, or NULL */
	const char *asn;                /* ASN database, or NULL */
	const char *anon;               /* Anonymous-IP database, or NULL */
	struct af_geo_db_paths paths;   /* configured field paths (NULL = detect) */
	const char *corporate_networks; /* file of CIDRs, one per line, or NULL */
	const char *hosting_asns;       /* file of ASNs, one per line, or NULL */
	int64_t reload_interval_ns;     /* how often files are checked; 0 = never */
	/* Where a failed reload is said (borrowed; must outlive the hub)
	 * [af_log_default]. */
	const struct af_log *log;
};

struct af_geo_hub;

/* Open the databases and lists named in opts (each may be absent; with none
 * at all, enrichment still classifies internal addresses and keeps record
 * locations). Returns AF_OK, or AF_E_CONFIG with errstr naming the file and
 * the cause (the caller exits 2), or AF_E_NOMEM; *out is NULL on failure.
 * opts and its strings are borrowed (the hub copies the paths it needs for
 * reloads). The lists are read once: only the databases are reloaded.
 * Thread: the main thread, before any reader exists. */
af_err_t af_geo_hub_open(const struct af_geo_hub_opts *opts, struct af_geo_hub **out, char *errstr,
                         size_t errstr_size);

/* Start the watcher thread (if reload_interval_ns > 0; else nothing to do).
 * A file replaced on disk (new inode, size or mtime, as geoipupdate does it
 * by rename) is opened, checked and swapped in: a new inode at once, a file
 * written in place (or changing again after a failed reload) once two
 * checks one interval apart see it unchanged. A failed reload (corrupt or
 * missing file, wrong kind of database) keeps the old database, prints one
 * warning in the log (opts.log) naming the file and the cause, is counted, and is not
 * retried until the file changes again. AF_E_INTERNAL with errstr if the
 * thread cannot be started. @pre called at most once per hub. */
af_err_t af_geo_hub_watch(struct af_geo_hub *hub, char *errstr, size_t errstr_size);

/* Check the files once now, as the watcher does (for tests and signals).
 * Returns the number of databases swapped in. Safe to call while the
 * watcher runs: the hub serialises the two with a mutex.
 * @pre the calling thread is not inside a reader section (a swap waits for
 * every section that may see the old set to end).
 * Cost: a stat() per database; on a swap, opening the file and waiting for
 * readers' current sections to end. */
unsigned af_geo_hub_check(struct af_geo_hub *hub);

/* Stop the watcher (promptly, whatever the interval), close everything;
 * NULL is ignored. @pre every reader freed. */
void af_geo_hub_close(struct af_geo_hub *hub);

struct af_geo_hub_stats {
	uint64_t reloads;         /* databases swapped in */
	uint64_t reload_failures; /* replaced files that could not be used */
	uint64_t generation;      /* current set's number, from 1 */
};
/* Thread: any; never waits (not one snapshot: during a swap, generation
 * may already count a set whose reload is not yet in reloads). */
void af_geo_hub_stats(struct af_geo_hub *hub, struct af_geo_hub_stats *out);

struct af_geo_reader;

/* A reader for one thread with caches of cache_entries entries each
 * (rounded up to a power of two; 0 = 65536): one by address, one per
 * configured database by record. NULL on no memory, or if cache_entries
 * exceeds 2^26. hub is borrowed and must outlive the reader. The reader
 * may be made on another thread and handed over (e.g. by pthread_create).
 * Cost: allocates the caches now, never later: about 170 bytes an entry a
 * cache (~45 MB at the default with three databases; pages are faulted in
 * as entries are first used). */
struct af_geo_reader *af_geo_reader_new(struct af_geo_hub *hub, size_t cache_entries);
/* NULL is ignored. @pre outside a section. */
void af_geo_reader_free(struct af_geo_reader *r);

/* Enter / leave an epoch section; enrich only inside one. A section uses
 * the set current when it was entered, throughout. Keep sections to a
 * batch of events: a reload waits for them to end. @pre sections are not
 * nested. Cost: a full memory fence at enter. */
void af_geo_reader_enter(struct af_geo_reader *r);
void af_geo_reader_leave(struct af_geo_reader *r);

/* Fill ev->geo as described above. Precedence:
 *  - ev->src.family == AF_IP_NONE: nothing to look up; ev is left as is
 *    (a record location stays);
 *  - an internal address: not looked up; AF_GEO_INTERNAL is added to the
 *    record's location if ev has one (AF_EV_GEO_FROM_RECORD), else ev->geo
 *    is cleared to just that flag;
 *  - a database had an answer (AF_GEO_FOUND: some field decoded): the
 *    merged answer of all databases, plus AF_GEO_CORPORATE / _HOSTING,
 *    replaces ev->geo whole (nothing of the record is kept, so location and
 *    ASN never come from two sources) and AF_EV_GEO_FROM_RECORD is cleared;
 *  - no answer and a record location: kept, with AF_GEO_CORPORATE added if
 *    the address is in a corporate network (counted in from_record);
 *  - no answer and no record location: ev->geo becomes the empty answer
 *    (only AF_GEO_CORPORATE, if any).
 * @pre inside a section.
 * Cost: a cache probe when the address was seen; else one tree walk per
 * database and, for records not yet decoded, their decoding; no lock,
 * allocation or syscall. */
void af_geo_enrich(struct af_geo_reader *r, struct af_event *ev);

struct af_geo_reader_stats {
	uint64_t lookups;       /* events with an address to look up */
	uint64_t addr_hits;     /* answered by the address cache */
	uint64_t record_hits;   /* tree walked, record decoded before */
	uint64_t record_misses; /* record decoded now */
	uint64_t not_found;     /* no database had an answer (of lookups) */
	uint64_t internal;      /* private/reserved: not looked up */
	uint64_t from_record;   /* the record's own location kept (of not_found) */
};
/* Thread: the reader's own (the counts are plain, unsynchronised). */
void af_geo_reader_stats(const struct af_geo_reader *r, struct af_geo_reader_stats *out);

#endif
