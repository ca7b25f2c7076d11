/* mmdb_write.h - a small MaxMind DB (.mmdb) writer: networks with JSON
 * values in, a database file that libmaxminddb (and so af_geo_db) reads
 * out. For `auditflow bench` and tests, which build City, ASN and
 * Anonymous-IP databases of any size without Perl's MaxMind::DB::Writer.
 *
 * Thread: a writer belongs to the thread that made it; calls on one writer
 * are never concurrent. Different writers are independent.
 * In: networks ("81.2.69.0/24", "2001:db8::/32", a bare address) and a
 * JSON object per network. Out: one .mmdb file per af_mmdbw_write.
 *
 * The file: binary format 2.0, an IPv6 tree (ip_version 6) of 28-bit
 * records, IPv4 networks at ::a.b.c.d/(96 + n) (where libmaxminddb looks
 * an IPv4 address up in an IPv6 database) and ::ffff:0:0/96 aliased to
 * that IPv4 subtree, so an IPv4-mapped address gets the same answer. The
 * 6to4 range 2002::/16 is not aliased: it holds what is inserted there.
 * Metadata: database_type as given, languages ["en"], description
 * {"en": "<database_type> written by auditflow"}, build_epoch
 * 1735689600 (2025-01-01) unless set. The same inserts and epoch give the
 * same bytes.
 *
 * JSON to MaxMind types:
 *   object -> map (keys in the order given; a key twice is an error),
 *   array -> array, string -> UTF-8 string, true/false -> boolean;
 *   a number with a fraction or an exponent -> double;
 *   an integer 0 .. 2^32-1 -> uint32, 2^32 .. 2^64-1 -> uint64,
 *   -2^31 .. -1 -> int32; other integers and null are errors.
 * A map key with one of these GeoIP2 names fixes the type of its value
 * (at any depth), as MaxMind's databases have it:
 *   accuracy_radius, metro_code          -> uint16 (integer 0 .. 65535)
 *   geoname_id, autonomous_system_number -> uint32 (integer 0 .. 2^32-1)
 *   latitude, longitude                  -> double (any number, so "51"
 *                                           is 51.0, not a uint32)
 * A value that does not fit its key's type is an error, not converted.
 *
 * DESIGN: each value is encoded to MaxMind bytes at insert and kept once
 * (deduplicated by those bytes, hashed), so the networks only hold small
 * value ids. The tree is one array of two-record nodes in memory; an
 * insert walks its prefix, splitting a data record it passes through into
 * a node whose two records both keep that data, so a later, more specific
 * insert replaces exactly the addresses it covers. The file is written
 * breadth first from the root: only nodes and values still reachable are
 * written (what later inserts replaced is dropped), values in the order a
 * depth-first walk of the tree meets them, so the output depends only on
 * the inserts.
 * Two sibling networks with equal values are written as their parent
 * network, as MaxMind's writer does: a lookup's netmask can be shorter
 * than the prefix inserted, never the answer different.
 */
#ifndef AF_MMDB_WRITE_H
#define AF_MMDB_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"

struct af_mmdbw;

/* A writer for an empty database of type database_type ("GeoLite2-City",
 * "GeoLite2-ASN", "GeoIP2-Anonymous-IP" ...; af_geo_db detects its layout
 * from the words of this name and from the records). Returns AF_OK and
 * *out (the caller's, freed with af_mmdbw_free), or AF_E_NOMEM with *out
 * NULL. database_type is copied. @pre database_type is non-NULL UTF-8. */
af_err_t af_mmdbw_new(const char *database_type, struct af_mmdbw **out);

/* Free w and everything it holds; NULL is ignored. */
void af_mmdbw_free(struct af_mmdbw *w);

/* The metadata's build_epoch (seconds since 1970) for later writes;
 * a fixed 2025-01-01 until set, so output stays reproducible unless a
 * time is given. @pre epoch > 0 (libmaxminddb refuses a database whose
 * build_epoch is 0). */
void af_mmdbw_set_build_epoch(struct af_mmdbw *w, uint64_t epoch);

/* Map the network cidr to the value in json (a JSON object, typed as
 * described above). cidr is "a.b.c.d/n" (n 0..32), "ipv6/n" (n 0..128),
 * or a bare address (/32, /128); an IPv4-mapped network ::ffff:a.b.c.d/n
 * (n >= 96) is the IPv4 network a.b.c.d/(n - 96). Bits after the prefix
 * must be zero. The addresses cidr covers answer with this value from now
 * on, whatever earlier inserts gave them; the rest keep theirs.
 * Returns AF_OK; AF_E_INVALID with errstr naming the network and the
 * cause (for bad JSON, the byte offset) when cidr or json is malformed or
 * a value does not fit its type, or when the tree would outgrow 28-bit
 * records; AF_E_NOMEM. On failure the database is as it was.
 * cidr and json are borrowed for the call.
 * Cost: a hash of json, and when it is not one of the last ~1000 distinct
 * texts, one pass over it and a hash lookup of the encoded value; up to 128
 * node steps (plus 96 to restore the IPv4-mapped alias when the network
 * covers ::ffff:0:0/96). Allocates only to grow its arrays (amortised) and
 * to keep a copy of json for the repeat check (at most 1024 copies).
 * Memory: 8 bytes a tree node (a /24 among a million scattered ones takes
 * about five); nodes a later insert replaced stay until af_mmdbw_free. */
af_err_t af_mmdbw_insert(struct af_mmdbw *w, const char *cidr, const char *json, char *errstr,
                         size_t errstr_size);

/* Write the database to path: to a temporary file beside it (mode 0644),
 * flushed with fsync, then renamed over path, so a reader of path sees
 * the old file or the new one, never a part. Each value is stored once in
 * the data section however many networks share it. w is not changed:
 * more inserts and writes may follow. Returns AF_OK; AF_E_IO with errstr
 * naming the file and strerror when it cannot be written (no temporary
 * file is left behind); AF_E_INVALID when the written tree and data
 * would not fit 28-bit records; AF_E_NOMEM.
 * Cost: a depth-first and a breadth-first pass over the tree; 12 bytes
 * of scratch per node; output through a 1 MiB buffer; an fsync. */
af_err_t af_mmdbw_write(struct af_mmdbw *w, const char *path, char *errstr, size_t errstr_size);

#endif
