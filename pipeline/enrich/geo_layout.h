/* geo_layout.h - internal to pipeline/enrich: where in a MaxMind-format
 * record each geo fact lives (its layout), how that is decided for one
 * database, and which values each fact accepts.
 *
 * Thread: af_geo_layout_detect at open, on the thread that opens the
 * database; af_geo_layout_take from any thread (pure).
 * In: an opened MMDB_s, the role it is opened for, configured paths.
 * Out: a NULL-terminated key array per fact, ready for MMDB_aget_value, so
 * no dotted string is split per lookup.
 *
 * DESIGN: each fact has a short list of candidate paths, the MaxMind
 * nested one first (country.iso_code), then the flat names free
 * redistributions use (country_code, latitude, asn, as_name ...). Probing
 * reads up to AF_GEO_PROBE_RECORDS data records, walking the search tree
 * from the root, and keeps per fact the first candidate that holds an
 * acceptable value in any of them: one record alone may lack a fact (a
 * City database has country-only and anycast-only records), and a flat
 * name like "country" is a map in the nested layout, which the value check
 * rejects. A fact probing did not find falls back to the path implied by
 * a MaxMind database_type (GeoIP2-City, GeoLite2-ASN ...), so a database
 * whose first records happen to lack a city still gets city.names.en. A
 * configured path wins over both.
 */
#ifndef AF_GEO_LAYOUT_H
#define AF_GEO_LAYOUT_H

#include <maxminddb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/enrich/geo_db.h"
#include "pipeline/err.h"
#include "pipeline/event.h"

#define AF_GEO_PATH_DEPTH    8    /* keys in one path */
#define AF_GEO_PATH_TEXT     128  /* one configured dotted path, NUL included */
#define AF_GEO_PROBE_RECORDS 32   /* distinct data records probing reads */
#define AF_GEO_PROBE_NODES   4096 /* search-tree nodes probing may read */

struct af_geo_layout {
	/* key[f]: the path of fact f, NULL-terminated; key[f][0] == NULL
	 * when the database does not serve f (outside its role, or not
	 * found). Keys point at static strings or into text[]. */
	const char *key[AF_GEO_F_COUNT][AF_GEO_PATH_DEPTH + 1];
	char text[AF_GEO_F_COUNT][AF_GEO_PATH_TEXT]; /* configured paths, split in place */
	uint32_t served;                             /* bit f: key[f] is set */
	uint32_t configured;                         /* bit f: key[f] came from the configuration */
};

/* Bit mask (1u << f) of the facts role fills. */
uint32_t af_geo_layout_role_fields(enum af_geo_db_role role);

/* A short name of role, for messages: "location", "ASN", "anonymizer". */
const char *af_geo_layout_role_name(enum af_geo_db_role role);

/* A short name of fact f, for messages: "country", "latitude" ... */
const char *af_geo_layout_field_name(enum af_geo_field f);

/* Decide lay for mmdb opened for role: configured paths (paths may be
 * NULL; only the role's facts are read from it), else probing, else the
 * database_type's layout. file names the database in messages (borrowed).
 * Returns AF_OK, or AF_E_CONFIG with errstr naming file when a configured
 * path is malformed (empty key, more than AF_GEO_PATH_DEPTH keys, longer
 * than AF_GEO_PATH_TEXT) or the database serves none of the role's facts.
 * @pre lay is where the layout stays: its keys point into it (do not copy).
 * Cost: up to AF_GEO_PROBE_NODES node reads and a few thousand
 * MMDB_aget_value calls; no allocation. */
af_err_t af_geo_layout_detect(const MMDB_s *mmdb, enum af_geo_db_role role,
                              const struct af_geo_db_paths *paths, struct af_geo_layout *lay,
                              const char *file, char *errstr, size_t errstr_size);

/* Take v, the value found at fact f's path, into geo's field for f if it
 * is of a type and range f accepts: a 2-3 letter code (upper-cased) for
 * the country; a string for city and as_org (cut at a UTF-8 boundary);
 * double or float in range for lat/lon; an unsigned integer (any width)
 * or int32 >= 0 fitting 32 bits for radius and ASN, or for the ASN a
 * string "AS64500"/"64500"; a boolean (or an integer, nonzero = true)
 * for the anonymizer flags: true sets their AF_GEO_* bit, false is taken
 * (the record answered) but clears nothing.
 * Returns false and leaves geo as it was for anything else.
 * Cost: a copy of at most 64 bytes; no allocation. */
bool af_geo_layout_take(enum af_geo_field f, const MMDB_entry_data_s *v, struct af_geo *geo);

#endif
