/* geo_db.c - one MaxMind-format database: open (with its layout and file
 * identity), lookup by address, decode of a record into struct af_geo.
 *
 * Thread: open/close on the thread managing databases; lookup and decode
 * on any number of threads at once: after MMDB_open the MMDB_s is only
 * read (libmaxminddb finds the IPv4 start node inside MMDB_open, so no
 * lookup writes to it), and the layout is fixed.
 * In: a .mmdb path, a role, configured paths. Out: data-section offsets
 * and struct af_geo fields.
 *
 * DESIGN: the file is opened here first and libmaxminddb maps it through
 * /proc/self/fd/N, so the stamp (fstat of our descriptor) describes exactly
 * the file mapped even if the path is renamed over meanwhile, as
 * geoipupdate does. Where /proc is missing, the path is mapped and stat()ed
 * right after: a replacement between the two goes unseen by the stamp
 * (unless the sizes differ: see af_geo_db_map). Lookups use
 * MMDB_lookup_sockaddr on an address built from struct af_ip: no text, no
 * getaddrinfo, no allocation.
 */
#include "pipeline/enrich/geo_db.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/enrich/geo_layout.h"

struct af_geo_db {
	MMDB_s mmdb;
	struct af_geo_layout layout; /* keys point into it: never copied */
	struct af_geo_db_stamp stamp;
	char *path;
};

static void af_geo_db_stamp_of(const struct stat *st, struct af_geo_db_stamp *out)
{
	out->dev = (uint64_t)st->st_dev;
	out->ino = (uint64_t)st->st_ino;
	out->size = (uint64_t)st->st_size;
	out->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* MMDB_open the file behind fd (whose fstat is in *st) into db->mmdb and
 * set db->stamp. Returns an MMDB_* status; errno kept for I/O errors. */
static int af_geo_db_map(struct af_geo_db *db, int fd, const struct stat *st)
{
	char self[64];
	struct stat now = *st;
	int rc;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	rc = MMDB_open(self, MMDB_MODE_MMAP, &db->mmdb);
	if (rc == MMDB_FILE_OPEN_ERROR) {
		/* No /proc: map the path and stat it at once (the race above). */
		rc = MMDB_open(db->path, MMDB_MODE_MMAP, &db->mmdb);
		if (rc == MMDB_SUCCESS && stat(db->path, &now) != 0)
			now = *st;
	}
	if (rc != MMDB_SUCCESS)
		return rc;
	af_geo_db_stamp_of(&now, &db->stamp);
	/* Changed between the stat and the map: a stamp no file has makes the
	 * reload watcher look again. */
	if ((uint64_t)db->mmdb.file_size != db->stamp.size)
		memset(&db->stamp, 0, sizeof(db->stamp));
	return MMDB_SUCCESS;
}

af_err_t af_geo_db_open(const char *path, enum af_geo_db_role role,
                        const struct af_geo_db_paths *paths, struct af_geo_db **out, char *errstr,
                        size_t errstr_size)
{
	struct af_geo_db *db = NULL;
	bool mapped = false;
	af_err_t err = AF_E_CONFIG;
	struct stat st;
	int fd = -1, rc;

	*out = NULL;
	db = calloc(1, sizeof(*db));
	if (db)
		db->path = strdup(path);
	if (!db || !db->path) {
		snprintf(errstr, errstr_size, "geo database %s: out of memory", path);
		err = AF_E_NOMEM;
		goto cleanup;
	}
	/* O_NONBLOCK: a FIFO given by mistake must not hang the open. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(errstr, errstr_size, "geo database %s: %s", path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(errstr, errstr_size, "geo database %s: not a regular file", path);
		goto cleanup;
	}
	rc = af_geo_db_map(db, fd, &st);
	if (rc != MMDB_SUCCESS) {
		int saved = errno;

		snprintf(errstr, errstr_size,
		         "geo database %s: not a usable MaxMind DB file: %s%s%s", path,
		         MMDB_strerror(rc),
		         rc == MMDB_IO_ERROR || rc == MMDB_FILE_OPEN_ERROR ? ": " : "",
		         rc == MMDB_IO_ERROR || rc == MMDB_FILE_OPEN_ERROR ? strerror(saved) : "");
		goto cleanup;
	}
	mapped = true;
	if (db->mmdb.metadata.ip_version != 4 && db->mmdb.metadata.ip_version != 6) {
		snprintf(errstr, errstr_size,
		         "geo database %s: unsupported ip_version %u in metadata", path,
		         (unsigned)db->mmdb.metadata.ip_version);
		goto cleanup;
	}
	err = af_geo_layout_detect(&db->mmdb, role, paths, &db->layout, path, errstr, errstr_size);
	if (err != AF_OK)
		goto cleanup;
	*out = db;
	db = NULL;
cleanup:
	if (fd >= 0)
		close(fd);
	if (db) {
		if (mapped)
			MMDB_close(&db->mmdb);
		free(db->path);
		free(db);
	}
	return err;
}

void af_geo_db_close(struct af_geo_db *db)
{
	if (!db)
		return;
	MMDB_close(&db->mmdb);
	free(db->path);
	free(db);
}

void af_geo_sockaddr(const struct af_ip *ip, union af_geo_sockaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (ip->family == AF_IP_V4) {
		out->v4.sin_family = AF_INET;
		memcpy(&out->v4.sin_addr, ip->bytes + 12, 4);
	} else if (ip->family == AF_IP_V6) {
		out->v6.sin6_family = AF_INET6;
		memcpy(&out->v6.sin6_addr, ip->bytes, 16);
	}
}

bool af_geo_db_lookup(const struct af_geo_db *db, const struct af_ip *ip, uint32_t *offset)
{
	union af_geo_sockaddr addr;
	MMDB_lookup_result_s res;
	int mmdb_err = MMDB_SUCCESS;

	assert(ip->family == AF_IP_V4 || ip->family == AF_IP_V6);
	af_geo_sockaddr(ip, &addr);
	if (addr.sa.sa_family == AF_UNSPEC)
		return false;
	/* Errors (a corrupt tree, an IPv6 address in an IPv4-only database)
	 * are "no answer": the caller counts them as unknown. */
	res = MMDB_lookup_sockaddr(&db->mmdb, &addr.sa, &mmdb_err);
	if (mmdb_err != MMDB_SUCCESS || !res.found_entry)
		return false;
	*offset = res.entry.offset;
	return true;
}

bool af_geo_db_decode(const struct af_geo_db *db, uint32_t offset, struct af_geo *geo)
{
	static const char *const top[] = {NULL};
	const uint32_t both = (1u << AF_GEO_F_LAT) | (1u << AF_GEO_F_LON);
	MMDB_entry_s entry = {.mmdb = &db->mmdb, .offset = offset};
	MMDB_entry_data_s v;
	struct af_geo out = *geo;
	uint32_t got = 0;

	/* The record itself must be a map: anything else is a broken data
	 * section (or an offset that did not come from af_geo_db_lookup). */
	if (MMDB_aget_value(&entry, &v, top) != MMDB_SUCCESS || !v.has_data ||
	    v.type != MMDB_DATA_TYPE_MAP)
		return false;
	for (int f = 0; f < AF_GEO_F_COUNT; f++) {
		if (!(db->layout.served & (1u << f)))
			continue;
		if (MMDB_aget_value(&entry, &v, db->layout.key[f]) == MMDB_SUCCESS &&
		    af_geo_layout_take(f, &v, &out))
			got |= 1u << f;
	}
	/* A coordinate alone is no location. */
	if ((got & both) != both) {
		out.lat = geo->lat;
		out.lon = geo->lon;
		got &= ~both;
	} else {
		out.flags |= AF_GEO_HAS_LOCATION;
	}
	if (got)
		out.flags |= AF_GEO_FOUND;
	*geo = out;
	return true;
}

void af_geo_db_stamp(const struct af_geo_db *db, struct af_geo_db_stamp *out)
{
	*out = db->stamp;
}

const char *af_geo_db_path(const struct af_geo_db *db)
{
	return db->path;
}

const char *af_geo_db_type(const struct af_geo_db *db)
{
	return db->mmdb.metadata.database_type ? db->mmdb.metadata.database_type : "";
}

uint64_t af_geo_db_build_epoch(const struct af_geo_db *db)
{
	return db->mmdb.metadata.build_epoch;
}
