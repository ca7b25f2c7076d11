/* geo.c - the enrich stage: the shared, reloadable database set (the hub),
 * its watcher thread, and the per-thread readers that fill ev->geo.
 *
 * Thread: af_geo_hub_open/watch/close on the main thread; the watcher
 * thread (or af_geo_hub_check's caller) opens replaced files and swaps
 * sets; each af_geo_reader on its own worker thread.
 * In: events with ev->src set. Out: ev->geo (see geo.h for the rules).
 *
 * DESIGN: a "set" is the databases in use at one moment, numbered by a
 * generation. Readers find it through one atomic pointer; nothing else is
 * shared with them and they never write to shared memory except their own
 * ck_epoch record. A reload builds a new set, publishes it with a release
 * store, then calls ck_epoch_synchronize_wait: when it returns, every
 * section that could have loaded the old pointer has ended, so the old set
 * can be freed. A database that did not change is shared by the old and new
 * set, reference counted; the counts are touched only by whoever holds the
 * hub's mutex (the watcher or af_geo_hub_check, never a reader), so they
 * are plain integers. This keeps an unchanged 60 MB City database from
 * being mapped twice, and an unchanged file from being reopened at all.
 *
 * When is a file replaced? Its stat() (device, inode, size, mtime) differs
 * from the stamp of the database in use:
 *  - a new inode that is not a retry (geoipupdate writes a temporary file
 *    and rename(2)s it over the old one, so the new file is complete the
 *    moment it appears): reloaded at once;
 *  - the same inode with a new size or mtime (someone writes over the file
 *    in place, e.g. cp), or a file that changes again after a failed
 *    reload: reloaded only when two checks one interval apart see the same
 *    stamp, so a file is not opened while it is being written. (Writing a
 *    database in place is unsafe anyway: libmaxminddb maps the file, so
 *    readers see the bytes change under them, and a shrinking file can
 *    fault them. Only rename is a safe way to replace one.)
 * A reload that fails keeps the database in use, logs one warning and is
 * counted; that file is not tried again until its stamp changes.
 * Failures are not published: a set only ever holds databases that opened.
 * The corporate-network and hosting-ASN lists are loaded once at open.
 *
 * ThreadSanitizer cannot see ck_epoch's synchronisation (inline assembly
 * and an uninstrumented library), so it would call the free of an old set
 * a race with the reads of its last readers. Under TSan only, leaving a
 * section releases and the end of a grace period acquires one TSan sync
 * object, telling it the happens-before edge that ck_epoch guarantees. The
 * annotations compile to nothing otherwise.
 */
#include "pipeline/enrich/geo.h"

#include <assert.h>
#include <ck_epoch.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pipeline/enrich/geo_cache.h"
#include "pipeline/enrich/netlist.h"

#if defined(__SANITIZE_THREAD__)
#define GEO_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GEO_TSAN 1
#endif
#endif
#ifdef GEO_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define tsan_acquire(p) __tsan_acquire(p)
#define tsan_release(p) __tsan_release(p)
#else
#define tsan_acquire(p) ((void)(p))
#define tsan_release(p) ((void)(p))
#endif

#define ROLES 3 /* indexed by enum af_geo_db_role */
_Static_assert(AF_GEO_DB_ANON == ROLES - 1, "one slot per database role");

/* How long the reloading thread sleeps between looks at a reader that is
 * still in a section of the old set. Readers hold sections for a batch. */
#define GRACE_POLL_NS 50000L

/* One open database and the number of sets holding it. */
struct dbref {
	struct af_geo_db *db;
	unsigned refs; /* under hub->lock (or with no watcher running) */
};

struct af_geo_set {
	uint64_t generation;
	struct af_geo_db *db[ROLES]; /* NULL: role not configured */
	struct dbref *ref[ROLES];
};

/* What the watcher remembers about one file between checks. */
struct watch {
	struct af_geo_db_stamp pending; /* changed in place: waiting to settle */
	struct af_geo_db_stamp failed;  /* the file as it was when a reload failed */
	bool has_pending, has_failed;
};

struct af_geo_hub {
	/* The current set. Written only under lock; read by readers with
	 * acquire loads and by lock holders with relaxed ones. */
	_Atomic(struct af_geo_set *) cur;
	ck_epoch_t epoch;

	char *path[ROLES]; /* owned copies; NULL: role not configured */
	char *field[AF_GEO_F_COUNT];
	struct af_geo_db_paths paths; /* points into field[] */
	struct af_netset *corporate;  /* NULL: none configured */
	struct af_asnset *hosting;
	int64_t interval_ns;
	const struct af_log *log; /* borrowed; read-only after open */

	bool watching; /* the watcher thread was started (main thread only) */
	pthread_t thread;

	pthread_mutex_t lock; /* serialises checks; guards all below and refs */
	pthread_cond_t wake;  /* signalled at close; CLOCK_MONOTONIC */
	bool stop;
	struct watch watch[ROLES];

	/* For af_geo_hub_stats, which must not wait behind a grace period:
	 * written under lock, read without it. All relaxed: counters for
	 * display, ordering nothing else. */
	_Atomic uint64_t reloads, reload_failures, generation;
};

struct af_geo_reader {
	struct af_geo_hub *hub;
	ck_epoch_record_t *rec;       /* in hub->epoch for good; freed at close */
	const struct af_geo_set *set; /* the section's set; NULL outside */
	struct af_geo_addr_cache addr;
	struct af_geo_rec_cache recs[ROLES]; /* empty for roles not configured */
	struct af_geo_reader_stats st;
};

CK_STACK_CONTAINER(struct ck_epoch_record, record_next, record_of)

static void set_release(struct af_geo_set *set)
{
	if (set == NULL)
		return;
	for (int i = 0; i < ROLES; i++) {
		struct dbref *ref = set->ref[i];

		if (ref != NULL && --ref->refs == 0) {
			af_geo_db_close(ref->db);
			free(ref);
		}
	}
	free(set);
}

/* A set holding fresh[i] where given, else old's database for role i.
 * Takes ownership of fresh[] on success; NULL on no memory. */
static struct af_geo_set *set_new(const struct af_geo_set *old, struct af_geo_db *fresh[ROLES])
{
	struct af_geo_set *set = calloc(1, sizeof(*set));
	struct dbref *refs[ROLES] = {0};

	if (set == NULL)
		goto fail;
	for (int i = 0; i < ROLES; i++) {
		if (fresh[i] != NULL && (refs[i] = calloc(1, sizeof(*refs[i]))) == NULL)
			goto fail;
	}
	set->generation = old != NULL ? old->generation + 1 : 1;
	for (int i = 0; i < ROLES; i++) {
		if (fresh[i] != NULL) {
			refs[i]->db = fresh[i];
			set->ref[i] = refs[i];
		} else if (old != NULL && old->ref[i] != NULL) {
			set->ref[i] = old->ref[i];
		}
		if (set->ref[i] != NULL) {
			set->ref[i]->refs++;
			set->db[i] = set->ref[i]->db;
		}
	}
	return set;
fail:
	for (int i = 0; i < ROLES; i++)
		free(refs[i]);
	free(set);
	return NULL;
}

static void stamp_of(const struct stat *st, struct af_geo_db_stamp *out)
{
	out->dev = (uint64_t)st->st_dev;
	out->ino = (uint64_t)st->st_ino;
	out->size = (uint64_t)st->st_size;
	out->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static bool stamp_eq(const struct af_geo_db_stamp *a, const struct af_geo_db_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns;
}

/* Whether the file of one role should be (re)opened now, by the rules in
 * the DESIGN note. A file that cannot be stat()ed gets the zero stamp:
 * opening it then fails with the real cause, and it is not tried again
 * until it can be stat()ed. */
static bool watch_due(struct watch *w, const char *path, const struct af_geo_db *db,
                      struct af_geo_db_stamp *now)
{
	struct af_geo_db_stamp in_use;
	struct stat st;

	memset(now, 0, sizeof(*now));
	if (stat(path, &st) == 0)
		stamp_of(&st, now);
	af_geo_db_stamp(db, &in_use);
	if (stamp_eq(now, &in_use)) {
		w->has_pending = w->has_failed = false;
		return false;
	}
	if (w->has_failed && stamp_eq(now, &w->failed))
		return false;
	if (!w->has_failed && (now->dev != in_use.dev || now->ino != in_use.ino))
		return true;
	if (w->has_pending && stamp_eq(now, &w->pending))
		return true;
	w->pending = *now;
	w->has_pending = true;
	return false;
}

static void grace_wait(ck_epoch_t *epoch, ck_epoch_record_t *rec, void *arg)
{
	struct timespec ts = {0, GRACE_POLL_NS};

	(void)epoch;
	(void)rec;
	(void)arg;
	nanosleep(&ts, NULL);
}

/* One check of every file, and the swap if any reopened.
 * @locks hub->lock held. */
static unsigned check_locked(struct af_geo_hub *hub)
{
	/* relaxed: only lock holders store cur, and we hold the lock */
	struct af_geo_set *old = atomic_load_explicit(&hub->cur, memory_order_relaxed);
	struct af_geo_db *fresh[ROLES] = {0};
	struct af_geo_set *set;
	unsigned n = 0;

	for (int i = 0; i < ROLES; i++) {
		struct af_geo_db_stamp now;
		char err[512];

		if (hub->path[i] == NULL ||
		    !watch_due(&hub->watch[i], hub->path[i], old->db[i], &now))
			continue;
		if (af_geo_db_open(hub->path[i], (enum af_geo_db_role)i, &hub->paths, &fresh[i],
		                   err, sizeof(err)) != AF_OK) {
			AF_LOG(hub->log, AF_LOG_WARN, "geo",
			       "reload failed, database in use kept: %s", err);
			atomic_fetch_add_explicit(&hub->reload_failures, 1, memory_order_relaxed);
			hub->watch[i].failed = now;
			hub->watch[i].has_failed = true;
			hub->watch[i].has_pending = false;
			fresh[i] = NULL;
			continue;
		}
		n++;
	}
	if (n == 0)
		return 0;
	set = set_new(old, fresh);
	if (set == NULL) {
		/* Not remembered as failed: the files are tried again next time. */
		AF_LOG(hub->log, AF_LOG_WARN, "geo",
		       "reload failed, database in use kept: out of memory");
		for (int i = 0; i < ROLES; i++) {
			if (fresh[i] != NULL)
				atomic_fetch_add_explicit(&hub->reload_failures, 1,
				                          memory_order_relaxed);
			af_geo_db_close(fresh[i]);
		}
		return 0;
	}
	for (int i = 0; i < ROLES; i++) {
		if (fresh[i] != NULL)
			hub->watch[i].has_pending = hub->watch[i].has_failed = false;
	}
	/* release: pairs with the acquire load in af_geo_reader_enter; a
	 * reader that sees the new pointer sees the set and its databases
	 * fully built. The store-then-scan vs enter-then-load ordering the
	 * grace period needs is given by the full fences in
	 * ck_epoch_synchronize_wait and ck_epoch_begin. */
	atomic_store_explicit(&hub->cur, set, memory_order_release);
	atomic_store_explicit(&hub->generation, set->generation, memory_order_relaxed);
	ck_epoch_synchronize_wait(&hub->epoch, grace_wait, NULL);
	tsan_acquire(&hub->epoch);
	set_release(old);
	atomic_fetch_add_explicit(&hub->reloads, n, memory_order_relaxed);
	return n;
}

unsigned af_geo_hub_check(struct af_geo_hub *hub)
{
	unsigned n;

	pthread_mutex_lock(&hub->lock);
	n = check_locked(hub);
	pthread_mutex_unlock(&hub->lock);
	return n;
}

static void *watch_main(void *arg)
{
	struct af_geo_hub *hub = arg;

	pthread_mutex_lock(&hub->lock);
	while (!hub->stop) {
		struct timespec at;
		int rc = 0;

		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_sec += (time_t)(hub->interval_ns / 1000000000);
		at.tv_nsec += (long)(hub->interval_ns % 1000000000);
		if (at.tv_nsec >= 1000000000) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000;
		}
		while (!hub->stop && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&hub->wake, &hub->lock, &at);
		if (!hub->stop)
			check_locked(hub);
	}
	pthread_mutex_unlock(&hub->lock);
	return NULL;
}

af_err_t af_geo_hub_watch(struct af_geo_hub *hub, char *errstr, size_t errstr_size)
{
	int rc;

	assert(!hub->watching);
	if (hub->interval_ns <= 0)
		return AF_OK;
	rc = pthread_create(&hub->thread, NULL, watch_main, hub);
	if (rc != 0) {
		snprintf(errstr, errstr_size, "geo: cannot start the database watcher: %s",
		         strerror(rc));
		return AF_E_INTERNAL;
	}
	hub->watching = true;
	return AF_OK;
}

static af_err_t copy_str(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL)
		return AF_OK;
	*out = strdup(s);
	return *out != NULL ? AF_OK : AF_E_NOMEM;
}

/* The parts of open that only allocate. */
static af_err_t hub_copy_opts(struct af_geo_hub *hub, const struct af_geo_hub_opts *opts)
{
	const char *path[ROLES] = {
	    [AF_GEO_DB_LOCATION] = opts->city,
	    [AF_GEO_DB_ASN] = opts->asn,
	    [AF_GEO_DB_ANON] = opts->anon,
	};

	for (int i = 0; i < ROLES; i++) {
		if (copy_str(path[i], &hub->path[i]) != AF_OK)
			return AF_E_NOMEM;
	}
	for (int f = 0; f < AF_GEO_F_COUNT; f++) {
		if (copy_str(opts->paths.field[f], &hub->field[f]) != AF_OK)
			return AF_E_NOMEM;
		hub->paths.field[f] = hub->field[f];
	}
	hub->interval_ns = opts->reload_interval_ns;
	return AF_OK;
}

static af_err_t hub_init_sync(struct af_geo_hub *hub)
{
	pthread_condattr_t attr;
	int rc;

	if (pthread_mutex_init(&hub->lock, NULL) != 0)
		return AF_E_INTERNAL;
	if (pthread_condattr_init(&attr) != 0)
		goto fail_mutex;
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&hub->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (rc != 0)
		goto fail_mutex;
	return AF_OK;
fail_mutex:
	pthread_mutex_destroy(&hub->lock);
	return AF_E_INTERNAL;
}

/* Frees what open built, also when it stopped half way.
 * @pre the watcher stopped, every reader freed (all epoch records free). */
static void hub_free(struct af_geo_hub *hub)
{
	ck_stack_entry_t *e, *next;

	set_release(atomic_load_explicit(&hub->cur, memory_order_relaxed));
	CK_STACK_FOREACH_SAFE(&hub->epoch.records, e, next)
	{
		free(record_of(e));
	}
	af_netset_free(hub->corporate);
	af_asnset_free(hub->hosting);
	for (int i = 0; i < ROLES; i++)
		free(hub->path[i]);
	for (int f = 0; f < AF_GEO_F_COUNT; f++)
		free(hub->field[f]);
	pthread_cond_destroy(&hub->wake);
	pthread_mutex_destroy(&hub->lock);
	free(hub);
}

af_err_t af_geo_hub_open(const struct af_geo_hub_opts *opts, struct af_geo_hub **out, char *errstr,
                         size_t errstr_size)
{
	struct af_geo_hub *hub = calloc(1, sizeof(*hub));
	struct af_geo_db *db[ROLES] = {0};
	struct af_geo_set *set;
	af_err_t err;

	*out = NULL;
	if (hub == NULL) {
		snprintf(errstr, errstr_size, "geo: out of memory");
		return AF_E_NOMEM;
	}
	if (hub_init_sync(hub) != AF_OK) {
		free(hub);
		snprintf(errstr, errstr_size, "geo: cannot create the hub's mutex");
		return AF_E_INTERNAL;
	}
	ck_epoch_init(&hub->epoch);
	atomic_init(&hub->cur, NULL);
	atomic_init(&hub->reloads, 0);
	atomic_init(&hub->reload_failures, 0);
	atomic_init(&hub->generation, 1);
	hub->log = af_log_or_default(opts->log);
	err = hub_copy_opts(hub, opts);
	if (err != AF_OK) {
		snprintf(errstr, errstr_size, "geo: out of memory");
		goto cleanup;
	}
	for (int i = 0; i < ROLES; i++) {
		if (hub->path[i] == NULL)
			continue;
		err = af_geo_db_open(hub->path[i], (enum af_geo_db_role)i, &hub->paths, &db[i],
		                     errstr, errstr_size);
		if (err != AF_OK)
			goto cleanup;
	}
	if (opts->corporate_networks != NULL) {
		err =
		    af_netset_load(opts->corporate_networks, &hub->corporate, errstr, errstr_size);
		if (err != AF_OK)
			goto cleanup;
	}
	if (opts->hosting_asns != NULL) {
		err = af_asnset_load(opts->hosting_asns, &hub->hosting, errstr, errstr_size);
		if (err != AF_OK)
			goto cleanup;
	}
	set = set_new(NULL, db);
	if (set == NULL) {
		err = AF_E_NOMEM;
		snprintf(errstr, errstr_size, "geo: out of memory");
		goto cleanup;
	}
	memset(db, 0, sizeof(db)); /* the set owns them now */
	/* relaxed: no reader exists yet; af_geo_reader_new's caller got the
	 * hub from this thread, through whatever made it known to them. */
	atomic_store_explicit(&hub->cur, set, memory_order_relaxed);
	*out = hub;
	return AF_OK;
cleanup:
	for (int i = 0; i < ROLES; i++)
		af_geo_db_close(db[i]);
	hub_free(hub);
	return err;
}

void af_geo_hub_close(struct af_geo_hub *hub)
{
	if (hub == NULL)
		return;
	if (hub->watching) {
		pthread_mutex_lock(&hub->lock);
		hub->stop = true;
		pthread_cond_signal(&hub->wake);
		pthread_mutex_unlock(&hub->lock);
		pthread_join(hub->thread, NULL);
	}
	hub_free(hub);
}

void af_geo_hub_stats(struct af_geo_hub *hub, struct af_geo_hub_stats *out)
{
	/* relaxed: see struct af_geo_hub; the three are not one snapshot */
	out->reloads = atomic_load_explicit(&hub->reloads, memory_order_relaxed);
	out->reload_failures = atomic_load_explicit(&hub->reload_failures, memory_order_relaxed);
	out->generation = atomic_load_explicit(&hub->generation, memory_order_relaxed);
}

struct af_geo_reader *af_geo_reader_new(struct af_geo_hub *hub, size_t cache_entries)
{
	struct af_geo_reader *r = calloc(1, sizeof(*r));
	ck_epoch_record_t *rec;

	if (r == NULL)
		return NULL;
	r->hub = hub;
	if (af_geo_addr_cache_init(&r->addr, cache_entries) != AF_OK)
		goto fail;
	for (int i = 0; i < ROLES; i++) {
		if (hub->path[i] != NULL &&
		    af_geo_rec_cache_init(&r->recs[i], cache_entries) != AF_OK)
			goto fail;
	}
	/* Records cannot leave an epoch once registered: reuse a freed
	 * reader's, else add one (the hub frees them all at close). */
	rec = ck_epoch_recycle(&hub->epoch, r);
	if (rec == NULL) {
		rec = aligned_alloc(_Alignof(ck_epoch_record_t), sizeof(ck_epoch_record_t));
		if (rec == NULL)
			goto fail;
		memset(rec, 0, sizeof(*rec));
		ck_epoch_register(&hub->epoch, rec, r);
	}
	r->rec = rec;
	return r;
fail:
	af_geo_reader_free(r);
	return NULL;
}

void af_geo_reader_free(struct af_geo_reader *r)
{
	if (r == NULL)
		return;
	assert(r->set == NULL);
	if (r->rec != NULL)
		ck_epoch_unregister(r->rec);
	af_geo_addr_cache_fini(&r->addr);
	for (int i = 0; i < ROLES; i++)
		af_geo_rec_cache_fini(&r->recs[i]);
	free(r);
}

void af_geo_reader_enter(struct af_geo_reader *r)
{
	assert(r->set == NULL);
	ck_epoch_begin(r->rec, NULL);
	/* acquire: pairs with the release store in check_locked, so the set
	 * and its databases are seen as built; the epoch section begun above
	 * keeps them alive until af_geo_reader_leave. */
	r->set = atomic_load_explicit(&r->hub->cur, memory_order_acquire);
}

void af_geo_reader_leave(struct af_geo_reader *r)
{
	assert(r->set != NULL);
	r->set = NULL;
	tsan_release(&r->hub->epoch);
	ck_epoch_end(r->rec, NULL);
}

/* Add what one database's record says to geo. Each role fills its own
 * fields only, so the order of databases does not matter. */
static void merge(struct af_geo *geo, const struct af_geo *rec)
{
	if (rec->country[0] != '\0')
		memcpy(geo->country, rec->country, sizeof(geo->country));
	if (rec->city[0] != '\0')
		memcpy(geo->city, rec->city, sizeof(geo->city));
	if (rec->flags & AF_GEO_HAS_LOCATION) {
		geo->lat = rec->lat;
		geo->lon = rec->lon;
	}
	if (rec->radius_km != 0)
		geo->radius_km = rec->radius_km;
	if (rec->asn != 0)
		geo->asn = rec->asn;
	if (rec->as_org[0] != '\0')
		memcpy(geo->as_org, rec->as_org, sizeof(geo->as_org));
	geo->flags |= rec->flags; /* AF_GEO_FOUND too, when a field decoded */
}

/* The full answer for ip from the reader's set: every database, then the
 * configured lists. Cost: one tree walk per database, plus decoding on a
 * record cache miss. */
static void look_up(struct af_geo_reader *r, const struct af_ip *ip, struct af_geo *geo)
{
	const struct af_geo_set *set = r->set;
	const struct af_geo_hub *hub = r->hub;

	memset(geo, 0, sizeof(*geo));
	for (int i = 0; i < ROLES; i++) {
		const struct af_geo *rec;
		struct af_geo fields;
		uint32_t offset;

		if (set->db[i] == NULL || !af_geo_db_lookup(set->db[i], ip, &offset))
			continue;
		rec = af_geo_rec_cache_get(&r->recs[i], offset, set->generation);
		if (rec != NULL) {
			r->st.record_hits++;
		} else {
			r->st.record_misses++;
			memset(&fields, 0, sizeof(fields));
			/* A broken data section: no answer from this database
			 * (not cached; the address cache absorbs repeats). */
			if (!af_geo_db_decode(set->db[i], offset, &fields))
				continue;
			af_geo_rec_cache_put(&r->recs[i], offset, set->generation, &fields);
			rec = &fields;
		}
		merge(geo, rec);
	}
	if (hub->corporate != NULL && af_netset_has(hub->corporate, ip))
		geo->flags |= AF_GEO_CORPORATE;
	if (hub->hosting != NULL && geo->asn != 0 && af_asnset_has(hub->hosting, geo->asn))
		geo->flags |= AF_GEO_HOSTING;
}

void af_geo_enrich(struct af_geo_reader *r, struct af_event *ev)
{
	const struct af_geo *cached;
	struct af_geo geo;

	assert(r->set != NULL);
	if (ev->src.family == AF_IP_NONE)
		return;
	if (af_ip_is_internal(&ev->src)) {
		if (!(ev->flags & AF_EV_GEO_FROM_RECORD))
			memset(&ev->geo, 0, sizeof(ev->geo));
		ev->geo.flags |= AF_GEO_INTERNAL;
		r->st.internal++;
		return;
	}
	r->st.lookups++;
	cached = af_geo_addr_cache_get(&r->addr, &ev->src, r->set->generation);
	if (cached != NULL) {
		geo = *cached;
		r->st.addr_hits++;
	} else {
		look_up(r, &ev->src, &geo);
		af_geo_addr_cache_put(&r->addr, &ev->src, r->set->generation, &geo);
	}
	if (geo.flags & AF_GEO_FOUND) {
		ev->geo = geo;
		ev->flags &= ~(uint32_t)AF_EV_GEO_FROM_RECORD;
		return;
	}
	r->st.not_found++;
	if (ev->flags & AF_EV_GEO_FROM_RECORD) {
		ev->geo.flags |= geo.flags & AF_GEO_CORPORATE;
		r->st.from_record++;
		return;
	}
	ev->geo = geo;
}

void af_geo_reader_stats(const struct af_geo_reader *r, struct af_geo_reader_stats *out)
{
	*out = r->st;
}
