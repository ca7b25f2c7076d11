/* geo_db.h - one MaxMind-format database, opened, its layout known, looked
 * up by address and decoded into the normalized event's geo facts.
 *
 * Thread: af_geo_db_open/close on the thread that manages databases (start-
 * up, the reload watcher); af_geo_db_lookup and af_geo_db_decode from any
 * number of threads at once (libmaxminddb reads a read-only mapping).
 * In: a .mmdb file (GeoIP2/GeoLite2 City or Country, ASN, Anonymous-IP, or
 * the flat layouts free redistributions use). Out: struct af_geo fields.
 *
 * DESIGN: the tree walk (lookup) and the decoding are separate calls, so a
 * caller can cache decoded results by the record's data-section offset:
 * many addresses share one record. The layout (which path holds the
 * country, the city, the ASN ...) is decided once at open, from the
 * metadata's database_type and from probing a record, and may be given in
 * the configuration instead.
 */
#ifndef AF_GEO_DB_H
#define AF_GEO_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "pipeline/err.h"
#include "pipeline/event.h"
#include "pipeline/ip.h"

/* What a database is opened for. */
enum af_geo_db_role {
	AF_GEO_DB_LOCATION = 0, /* City or Country: country, city, lat/lon, radius */
	AF_GEO_DB_ASN,          /* autonomous system number and organization */
	AF_GEO_DB_ANON,         /* anonymizer / VPN / hosting / proxy / Tor flags */
};

/* The facts a layout can name, each a path of map keys into a record. */
enum af_geo_field {
	AF_GEO_F_COUNTRY = 0, /* ISO 3166-1 alpha-2 */
	AF_GEO_F_CITY,
	AF_GEO_F_LAT,
	AF_GEO_F_LON,
	AF_GEO_F_RADIUS, /* accuracy radius, km */
	AF_GEO_F_ASN,
	AF_GEO_F_AS_ORG,
	AF_GEO_F_ANONYMOUS,
	AF_GEO_F_VPN,
	AF_GEO_F_HOSTING,
	AF_GEO_F_PROXY,
	AF_GEO_F_TOR,
	AF_GEO_F_COUNT
};

/* Configured paths, dotted ("country.iso_code", "city.names.en"; a
 * numeric key indexes an array: "subdivisions.0.iso_code"); NULL entries
 * are decided by the layout detection. A database reads only the entries
 * of its role's fields, so one struct serves all three databases.
 * Borrowed for the call only (af_geo_db_open copies what it keeps). */
struct af_geo_db_paths {
	const char *field[AF_GEO_F_COUNT];
};

struct af_geo_db;

/* Open path for role. paths may be NULL (detect everything).
 * Returns AF_OK and *out, or AF_E_CONFIG with errstr naming the file and
 * the cause (libmaxminddb's MMDB_strerror text where it has one):
 * missing, unreadable, not a regular file, not a MaxMind DB, corrupt
 * metadata or search tree, a malformed configured path, or a database
 * that serves none of role's fields (e.g. an ASN database given as
 * --geo-city); AF_E_NOMEM. *out is NULL on failure. path and paths are
 * borrowed; *out is the caller's, freed with af_geo_db_close.
 * Thread: the thread managing databases.
 * Cost: maps the file; reads up to a few thousand tree nodes and records
 * to detect the layout (see geo_layout.h). */
af_err_t af_geo_db_open(const char *path, enum af_geo_db_role role,
                        const struct af_geo_db_paths *paths, struct af_geo_db **out, char *errstr,
                        size_t errstr_size);

/* Close db; NULL is ignored. @pre no thread is inside a lookup on db. */
void af_geo_db_close(struct af_geo_db *db);

/* An address as libmaxminddb's MMDB_lookup_sockaddr takes it. */
union af_geo_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

/* ip as a socket address (AF_IP_V4: its IPv4 address); all zero, family
 * AF_UNSPEC, for AF_IP_NONE. Thread: any (pure). */
void af_geo_sockaddr(const struct af_ip *ip, union af_geo_sockaddr *out);

/* Walk the search tree for ip (AF_IP_V4: the IPv4 address, which an IPv6
 * database answers from its IPv4 subtree). Returns true and the record's
 * data-section offset in *offset (0 is a valid offset) when the database
 * has an answer; false, *offset untouched, when it has none, the tree is
 * broken, or ip is IPv6 and the database IPv4-only (counted by the caller
 * as "unknown", never an error). Addresses of one network share a record
 * and so an offset. @pre ip->family is AF_IP_V4 or AF_IP_V6.
 * Thread: any, concurrently. Cost: one tree walk (memory-latency bound);
 * no allocation, no syscall. */
bool af_geo_db_lookup(const struct af_geo_db *db, const struct af_ip *ip, uint32_t *offset);

/* Decode the record at offset (from af_geo_db_lookup on this db) into the
 * fields of geo this database's role fills (AF_GEO_DB_LOCATION: country,
 * city, lat, lon, radius_km; ASN: asn, as_org; ANON: the AF_GEO_ANONYMOUS
 * ... flags, which are only ever set, never cleared), leaving the others
 * as they are. A field missing from the record, of the wrong type or out
 * of range (or not decodable) is left as it was. lat and lon are written,
 * with AF_GEO_HAS_LOCATION, only when both decode; AF_GEO_FOUND is set
 * when any field decodes. Strings are cut at a UTF-8 boundary to their
 * field (struct af_geo has no truncation flag). Returns false, geo
 * untouched, if the record cannot be decoded at all (a broken data
 * section, an offset past it); true otherwise, even if nothing decoded.
 * Thread: any, concurrently. Cost: one MMDB_aget_value per field of the
 * role (precomputed key arrays); no allocation. */
bool af_geo_db_decode(const struct af_geo_db *db, uint32_t offset, struct af_geo *geo);

/* Identity of the file opened (device, inode, size, mtime), for the reload
 * watcher to compare with a fresh stat(). It is the fstat of the very file
 * mapped (libmaxminddb opens it through /proc/self/fd); without /proc it
 * is a stat() of the path right after mapping, so a replacement in between
 * goes unseen until the next one (an all-zero stamp when the sizes show
 * it, which forces a reload). */
struct af_geo_db_stamp {
	uint64_t dev, ino, size;
	int64_t mtime_ns;
};
void af_geo_db_stamp(const struct af_geo_db *db, struct af_geo_db_stamp *out);

/* The file's path (borrowed from db), database_type from its metadata
 * ("" if it has none; borrowed from db), and its build epoch (seconds
 * since 1970), for logs and metrics. */
const char *af_geo_db_path(const struct af_geo_db *db);
const char *af_geo_db_type(const struct af_geo_db *db);
uint64_t af_geo_db_build_epoch(const struct af_geo_db *db);

#endif
