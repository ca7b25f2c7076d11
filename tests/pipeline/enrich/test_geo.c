/* test_geo.c - the enrich stage through the hub and a reader: known answers
 * from MaxMind's test databases (tests/data/geo/, values from the .json
 * beside them) and from the scenario databases (tests/data/geo/scenario/,
 * values in its README), cache counting, internal addresses, record
 * locations, corporate and hosting lists, reloads (by rename, in place,
 * failed, through the watcher) and readers running while databases are
 * swapped.
 *
 * Databases that a test replaces are copies in a mkdtemp directory; the
 * committed fixtures are never written.
 *
 * Under ThreadSanitizer, Criterion cannot run at all (its shared arena is
 * mapped at a random address, which TSan's reserved ranges cover, and
 * after that it crashes in its runner; Snaipe/Criterion#274). Built with
 * TSan, this file therefore has its own main() at the end, which runs the
 * swap scenarios (the tests that TSan makes meaningful) without Criterion
 * and exits 1 on a wrong answer; TSan itself fails the run on a race.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/enrich/geo.h"
#include "pipeline/ip.h"

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

#define GEO_DATA AF_TEST_DATA "/geo/"
#define CITY     GEO_DATA "GeoIP2-City-Test.mmdb"
#define ASN      GEO_DATA "GeoLite2-ASN-Test.mmdb"
#define ANON     GEO_DATA "GeoIP2-Anonymous-IP-Test.mmdb"
#define BROKEN   GEO_DATA "MaxMind-DB-test-broken-search-tree-24.mmdb"
#define SC_CITY  GEO_DATA "scenario/city.mmdb"
#define SC_CITY2 GEO_DATA "scenario/city-v2.mmdb" /* 198.51.100.0/24 moved US -> NL */
#define SC_ASN   GEO_DATA "scenario/asn.mmdb"
#define SC_ANON  GEO_DATA "scenario/anon.mmdb"

/* A scratch directory and the paths of the files tests put in it. */
struct scratch {
	char dir[64];
	char city[128];
	char tmp[128];
	char list[128];
};

/* The helpers up to event_from report failure instead of asserting, so
 * the swap scenario can also run without Criterion (see main below). */
static bool scratch_make(struct scratch *s)
{
	snprintf(s->dir, sizeof s->dir, "/tmp/af_test_geo.XXXXXX");
	if (mkdtemp(s->dir) == NULL)
		return false;
	snprintf(s->city, sizeof s->city, "%s/city.mmdb", s->dir);
	snprintf(s->tmp, sizeof s->tmp, "%s/incoming.tmp", s->dir);
	snprintf(s->list, sizeof s->list, "%s/list.txt", s->dir);
	return true;
}

static bool scratch_remove(struct scratch *s)
{
	unlink(s->city);
	unlink(s->tmp);
	unlink(s->list);
	return rmdir(s->dir) == 0;
}

/* Copy the first len bytes of src (all of it if len is SIZE_MAX) to dst,
 * writing dst in place (the same inode if it exists). */
static bool copy_file(const char *src, const char *dst, size_t len)
{
	FILE *in = fopen(src, "rb");
	FILE *out = fopen(dst, "wb");
	char buf[4096];
	size_t n;
	bool ok = in != NULL && out != NULL;

	while (ok && len > 0 && (n = fread(buf, 1, len < sizeof buf ? len : sizeof buf, in)) > 0) {
		ok = fwrite(buf, 1, n, out) == n;
		len -= n;
	}
	if (in != NULL)
		fclose(in);
	if (out != NULL && fclose(out) != 0)
		ok = false;
	return ok;
}

/* Replace the scratch city database the way geoipupdate does: write a new
 * file beside it, then rename it over. */
static bool replace_city(struct scratch *s, const char *src, size_t len)
{
	return copy_file(src, s->tmp, len) && rename(s->tmp, s->city) == 0;
}

static bool parse_ip(const char *ip, struct af_event *ev)
{
	memset(ev, 0, sizeof *ev);
	return ip == NULL || af_ip_parse(ip, strlen(ip), &ev->src);
}

/* Criterion versions. */

static void scratch_new(struct scratch *s)
{
	cr_assert(scratch_make(s), "mkdtemp: %s", strerror(errno));
}

static void scratch_free(struct scratch *s)
{
	cr_assert(scratch_remove(s), "rmdir %s: %s", s->dir, strerror(errno));
}

static void put_city(struct scratch *s, const char *src, size_t len)
{
	cr_assert(replace_city(s, src, len), "replacing %s by %s: %s", s->city, src,
	          strerror(errno));
}

static void write_list(struct scratch *s, const char *text)
{
	FILE *f = fopen(s->list, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

static struct af_geo_hub *hub_open(const struct af_geo_hub_opts *opts)
{
	struct af_geo_hub *hub = NULL;
	char err[512] = "";
	af_err_t rc = af_geo_hub_open(opts, &hub, err, sizeof err);

	cr_assert_eq(rc, AF_OK, "af_geo_hub_open: %s", err);
	cr_assert_not_null(hub);
	return hub;
}

/* A hub over one database with a list file written from text: the
 * corporate networks (hosting false) or the hosting ASNs (hosting true). */
static struct af_geo_hub *hub_with_list(struct scratch *s, const char *text, const char *db,
                                        bool hosting)
{
	struct af_geo_hub_opts opts = {0};

	write_list(s, text);
	if (hosting) {
		opts.asn = db;
		opts.hosting_asns = s->list;
	} else {
		opts.city = db;
		opts.corporate_networks = s->list;
	}
	return hub_open(&opts);
}

static struct af_event event_from(const char *ip)
{
	struct af_event ev;

	cr_assert(parse_ip(ip, &ev), "bad test address %s", ip);
	return ev;
}

/* Enrich ev in a section of its own. */
static void enrich(struct af_geo_reader *r, struct af_event *ev)
{
	af_geo_reader_enter(r);
	af_geo_enrich(r, ev);
	af_geo_reader_leave(r);
}

static struct af_geo geo_of(struct af_geo_reader *r, const char *ip)
{
	struct af_event ev = event_from(ip);

	enrich(r, &ev);
	return ev.geo;
}

/* An Entra-style event that carries its own location. */
static struct af_event event_with_record_location(const char *ip)
{
	struct af_event ev = event_from(ip);

	ev.flags |= AF_EV_GEO_FROM_RECORD;
	snprintf(ev.geo.country, sizeof ev.geo.country, "VN");
	snprintf(ev.geo.city, sizeof ev.geo.city, "Hanoi");
	ev.geo.lat = 21.0285;
	ev.geo.lon = 105.8542;
	ev.geo.flags = AF_GEO_HAS_LOCATION;
	return ev;
}

static struct af_geo_reader_stats reader_stats(const struct af_geo_reader *r)
{
	struct af_geo_reader_stats st;

	af_geo_reader_stats(r, &st);
	return st;
}

static struct af_geo_hub_stats hub_stats(struct af_geo_hub *hub)
{
	struct af_geo_hub_stats st;

	af_geo_hub_stats(hub, &st);
	return st;
}

/* --- known answers ------------------------------------------------------ */

Test(geo, fills_country_city_and_location_from_the_city_database)
{
	struct af_geo_hub_opts opts = {.city = CITY};
	struct af_geo_hub *hub = hub_open(&opts);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);
	struct af_geo g = geo_of(r, "81.2.69.142");

	cr_assert_str_eq(g.country, "GB");
	cr_assert_str_eq(g.city, "London");
	cr_assert_float_eq(g.lat, 51.5142, 1e-9);
	cr_assert_float_eq(g.lon, -0.0931, 1e-9);
	cr_assert_eq(g.radius_km, 10);
	cr_assert(g.flags & AF_GEO_FOUND);
	cr_assert(g.flags & AF_GEO_HAS_LOCATION);
	cr_assert_eq(g.asn, 0);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
}

Test(geo, looks_up_ipv6_addresses)
{
	struct af_geo_hub_opts opts = {.city = CITY};
	struct af_geo_hub *hub = hub_open(&opts);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);
	struct af_geo jp = geo_of(r, "2001:218::1");
	struct af_geo sd = geo_of(r, "2001:480:10::1");

	cr_assert_str_eq(jp.country, "JP");
	cr_assert_str_eq(jp.city, "");
	cr_assert_float_eq(jp.lat, 35.68536, 1e-9);
	cr_assert_str_eq(sd.country, "US");
	cr_assert_str_eq(sd.city, "San Diego");
	cr_assert_eq(sd.radius_km, 20);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
}

Test(geo, fills_asn_and_organization_from_the_asn_database)
{
	struct af_geo_hub_opts opts = {.asn = ASN};
	struct af_geo_hub *hub = hub_open(&opts);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);
	struct af_geo g = geo_of(r, "1.128.0.1");

	cr_assert_eq(g.asn, 1221);
	cr_assert_str_eq(g.as_org, "Telstra Pty Ltd");
	cr_assert_str_eq(g.country, "");
	cr_assert(g.flags & AF_GEO_FOUND);
	cr_assert_not(g.flags & AF_GEO_HAS_LOCATION);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
}

Test(geo, merges_the_answers_of_the_city_asn_and_anonymizer_databases)
{
	struct af_geo_hub_opts opts = {.city = CITY, .asn = ASN, .anon = ANON};
	struct af_geo_hub *hub = hub_open(&opts);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);
	struct af_geo se = geo_of(r, "89.160.20.112");
	struct af_geo gb = geo_of(r, "81.2.69.142");
	uint32_t anon = AF_GEO_ANONYMOUS | AF_GEO_VPN | AF_GEO_HOSTING | AF_GEO_PROXY | AF_GEO_TOR;

	/* 89.160.20.112: city and ASN, not an anonymizer */
	cr_assert_str_eq(se.country, "SE");
	cr_assert_str_eq(se.city, "Linköping");
	cr_assert_eq(se.asn, 29518);
	cr_assert_eq(se.flags & anon, 0);
	/* 81.2.69.142: city and every anonymizer flag, no ASN */
	cr_assert_str_eq(gb.city, "London");
	cr_assert_eq(gb.asn, 0);
	cr_assert_eq(gb.flags & anon, anon);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
}

Test(geo, sets_only_the_anonymizer_flags_the_record_has)
{
	struct af_geo_hub_opts opts = {.anon = ANON};
	struct af_geo_hub *hub = hub_open(&opts);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);
	struct af_geo g = geo_of(r, "71.160.223.5");

	cr_assert_eq(
	    g.flags & (AF_GEO_ANONYMOUS | AF_GEO_VPN | AF_GEO_HOSTING | AF_GEO_PROXY | AF_GEO_TOR),
	    AF_GEO_ANONYMOUS | AF_GEO_HOSTING);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
}

Test(geo, gives_the_same_answers_with_a_tiny_cache)
{
	static const char *const ips[] = {"81.2.69.142",  "89.160.20.112", "216.160.83.56",
	                                  "175.16.199.1", "2001:218::1",   "81.2.69.150"};
	static const char *const cities[] = {"London",    "Linköping", "Milton",
	                                     "Changchun", "",          "London"};
	struct af_geo_hub_opts opts = {.city = CITY};
	struct af_geo_hub *hub = hub_open(&opts);
	struct af_geo_reader *r = af_geo_reader_new(hub, 2);

	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < sizeof ips / sizeof ips[0]; i++)
			cr_assert_str_eq(geo_of(r, ips[i]).city, cities[i], "%s", ips[i]);
	}
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
}

/* --- caches --------------------------------------------------------------- */

Test(geo, counts_a_repeated_address_as_one_address_cache_hit)
{
	struct af_geo_hub_opts opts = {.city = CITY};
	struct af_geo_hub *hub = hub_open(&opts);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);
	struct af_geo first = geo_of(r, "216.160.83.56");
	struct af_geo second = geo_of(r, "216.160.83.56");
	struct af_geo_reader_stats st = reader_stats(r);

	cr_assert_str_eq(second.city, "Milton");
	cr_assert_eq(memcmp(&first, &second, sizeof first), 0);
	cr_assert_eq(st.lookups, 2);
	cr_assert_eq(st.addr_hits, 1);
	cr_assert_eq(st.record_misses, 1);
	cr_assert_eq(st.record_hits, 0);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
}

Test(geo, counts_two_addresses_of_one_network_as_one_record_hit)
{
	struct af_geo_hub_opts opts = {.city = CITY};
	struct af_geo_hub *hub = hub_open(&opts);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);
	struct af_geo a = geo_of(r, "81.2.69.142"); /* both in 81.2.69.142/31 */
	struct af_geo b = geo_of(r, "81.2.69.143");
	struct af_geo_reader_stats st = reader_stats(r);

	cr_assert_str_eq(a.city, "London");
	cr_assert_str_eq(b.city, "London");
	cr_assert_eq(st.addr_hits, 0);
	cr_assert_eq(st.record_misses, 1);
	cr_assert_eq(st.record_hits, 1);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
}

Test(geo, readers_keep_separate_caches_and_counts)
{
	struct af_geo_hub_opts opts = {.city = CITY};
	struct af_geo_hub *hub = hub_open(&opts);
	struct af_geo_reader *r1 = af_geo_reader_new(hub, 0);
	struct af_geo_reader *r2 = af_geo_reader_new(hub, 0);

	geo_of(r1, "216.160.83.56");
	cr_assert_str_eq(geo_of(r2, "216.160.83.56").city, "Milton");
	cr_assert_eq(reader_stats(r2).addr_hits, 0);
	cr_assert_eq(reader_stats(r2).record_misses, 1);
	cr_assert_eq(reader_stats(r1).lookups, 1);
	af_geo_reader_free(r1);
	af_geo_reader_free(r2);
	af_geo_hub_close(hub);
}

Test(geo, reuses_the_epoch_record_of_a_freed_reader)
{
	struct af_geo_hub_opts opts = {.city = CITY};
	struct af_geo_hub *hub = hub_open(&opts);

	for (int i = 0; i < 5; i++) {
		struct af_geo_reader *r = af_geo_reader_new(hub, 16);

		cr_assert_not_null(r);
		cr_assert_str_eq(geo_of(r, "81.2.69.142").city, "London");
		af_geo_reader_free(r);
	}
	af_geo_hub_close(hub); /* frees the records; ASan checks for leaks */
}

Test(geo, refuses_a_cache_size_too_large_to_allocate)
{
	struct af_geo_hub_opts opts = {.city = CITY};
	struct af_geo_hub *hub = hub_open(&opts);

	cr_assert_null(af_geo_reader_new(hub, SIZE_MAX));
	af_geo_hub_close(hub);
}

/* --- internal addresses and record locations ------------------------------ */

Test(geo, marks_internal_addresses_without_looking_them_up)
{
	static const char *const ips[] = {"10.1.2.3", "192.168.0.1", "127.0.0.1", "fe80::1",
	                                  "100.64.0.1"};
	struct af_geo_hub_opts opts = {.city = CITY};
	struct af_geo_hub *hub = hub_open(&opts);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);
	struct af_geo_reader_stats st;

	for (size_t i = 0; i < sizeof ips / sizeof ips[0]; i++) {
		struct af_geo g = geo_of(r, ips[i]);

		cr_assert_eq(g.flags, AF_GEO_INTERNAL, "%s", ips[i]);
		cr_assert_str_eq(g.country, "");
	}
	st = reader_stats(r);
	cr_assert_eq(st.internal, 5);
	cr_assert_eq(st.lookups, 0);
	cr_assert_eq(st.record_misses, 0);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
}

Test(geo, keeps_the_record_location_of_an_internal_address)
{
	struct af_geo_hub_opts opts = {.city = CITY};
	struct af_geo_hub *hub = hub_open(&opts);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);
	struct af_event ev = event_with_record_location("10.0.0.7");

	enrich(r, &ev);
	cr_assert_str_eq(ev.geo.city, "Hanoi");
	cr_assert(ev.geo.flags & AF_GEO_INTERNAL);
	cr_assert(ev.flags & AF_EV_GEO_FROM_RECORD);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
}

Test(geo, leaves_an_event_without_an_address_alone)
{
	struct af_geo_hub_opts opts = {.city = CITY};
	struct af_geo_hub *hub = hub_open(&opts);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);
	struct af_event ev = event_with_record_location(NULL);
	struct af_event before = ev;
	struct af_geo_reader_stats st;

	enrich(r, &ev);
	cr_assert_eq(memcmp(&ev, &before, sizeof ev), 0);
	st = reader_stats(r);
	cr_assert_eq(st.lookups + st.internal + st.not_found, 0);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
}

Test(geo, keeps_the_record_location_when_no_database_has_an_answer)
{
	struct af_geo_hub_opts opts = {.city = CITY, .asn = ASN};
	struct af_geo_hub *hub = hub_open(&opts);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);
	struct af_event ev = event_with_record_location("1.1.1.1"); /* in neither */
	struct af_geo_reader_stats st;

	enrich(r, &ev);
	cr_assert_str_eq(ev.geo.country, "VN");
	cr_assert_str_eq(ev.geo.city, "Hanoi");
	cr_assert_float_eq(ev.geo.lat, 21.0285, 1e-9);
	cr_assert_not(ev.geo.flags & AF_GEO_FOUND);
	cr_assert(ev.flags & AF_EV_GEO_FROM_RECORD);
	st = reader_stats(r);
	cr_assert_eq(st.not_found, 1);
	cr_assert_eq(st.from_record, 1);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
}

Test(geo, replaces_the_record_location_when_a_database_answers)
{
	struct af_geo_hub_opts opts = {.asn = ASN};
	struct af_geo_hub *hub = hub_open(&opts);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);
	struct af_event ev = event_with_record_location("1.128.0.1");

	/* Only the ASN database answers: nothing of the record is kept,
	 * so location and ASN never come from two different sources. */
	enrich(r, &ev);
	cr_assert_eq(ev.geo.asn, 1221);
	cr_assert_str_eq(ev.geo.country, "");
	cr_assert_str_eq(ev.geo.city, "");
	cr_assert_not(ev.geo.flags & AF_GEO_HAS_LOCATION);
	cr_assert_not(ev.flags & AF_EV_GEO_FROM_RECORD);
	cr_assert_eq(reader_stats(r).from_record, 0);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
}

Test(geo, clears_what_the_event_had_when_no_database_has_an_answer)
{
	struct af_geo_hub_opts opts = {.city = CITY};
	struct af_geo_hub *hub = hub_open(&opts);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);
	struct af_event ev = event_with_record_location("1.1.1.1");
	struct af_geo none;

	ev.flags &= ~(uint32_t)AF_EV_GEO_FROM_RECORD; /* not the record's own */
	enrich(r, &ev);
	memset(&none, 0, sizeof none);
	cr_assert_eq(memcmp(&ev.geo, &none, sizeof none), 0);
	cr_assert_eq(reader_stats(r).not_found, 1);
	cr_assert_eq(reader_stats(r).from_record, 0);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
}

Test(geo, classifies_internal_addresses_and_keeps_record_locations_without_databases)
{
	struct af_geo_hub_opts opts = {0};
	struct af_geo_hub *hub = hub_open(&opts);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);
	struct af_event ev = event_with_record_location("81.2.69.142");

	cr_assert_eq(geo_of(r, "10.1.1.1").flags, AF_GEO_INTERNAL);
	enrich(r, &ev);
	cr_assert_str_eq(ev.geo.city, "Hanoi");
	cr_assert_eq(reader_stats(r).from_record, 1);
	cr_assert_eq(hub_stats(hub).generation, 1);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
}

/* --- corporate networks and hosting ASNs ----------------------------------- */

Test(geo, marks_addresses_in_corporate_networks)
{
	struct scratch s;
	struct af_geo_hub *hub;
	struct af_geo_reader *r;
	struct af_geo in, out;

	scratch_new(&s);
	hub = hub_with_list(&s, "# egress\n81.2.69.128/25\n2001:db8::/32\n", CITY, false);
	r = af_geo_reader_new(hub, 0);
	in = geo_of(r, "81.2.69.142");
	out = geo_of(r, "81.2.69.100");
	cr_assert(in.flags & AF_GEO_CORPORATE);
	cr_assert_str_eq(in.city, "London");
	cr_assert_not(out.flags & AF_GEO_CORPORATE);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
	scratch_free(&s);
}

Test(geo, marks_a_corporate_address_also_when_the_record_location_is_kept)
{
	struct scratch s;
	struct af_geo_hub *hub;
	struct af_geo_reader *r;
	struct af_event ev = event_with_record_location("2001:db8::5");

	scratch_new(&s);
	hub = hub_with_list(&s, "2001:db8::/32\n", CITY, false);
	r = af_geo_reader_new(hub, 0);
	enrich(r, &ev);
	cr_assert_str_eq(ev.geo.city, "Hanoi");
	cr_assert(ev.geo.flags & AF_GEO_CORPORATE);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
	scratch_free(&s);
}

Test(geo, marks_addresses_of_hosting_asns)
{
	struct scratch s;
	struct af_geo_hub *hub;
	struct af_geo_reader *r;
	struct af_geo telstra, google;

	scratch_new(&s);
	hub = hub_with_list(&s, "AS1221\n64500\n", ASN, true);
	r = af_geo_reader_new(hub, 0);
	telstra = geo_of(r, "1.128.0.1");
	google = geo_of(r, "1.0.0.1");
	cr_assert(telstra.flags & AF_GEO_HOSTING);
	cr_assert_eq(google.asn, 15169);
	cr_assert_not(google.flags & AF_GEO_HOSTING);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
	scratch_free(&s);
}

/* --- opening ---------------------------------------------------------------- */

Test(geo, refuses_to_open_with_a_missing_database_and_names_it)
{
	struct af_geo_hub_opts opts = {.city = CITY, .asn = GEO_DATA "no-such.mmdb"};
	struct af_geo_hub *hub = (struct af_geo_hub *)&opts; /* must be reset */
	char err[512] = "";

	cr_assert_eq(af_geo_hub_open(&opts, &hub, err, sizeof err), AF_E_CONFIG);
	cr_assert_null(hub);
	cr_assert_not_null(strstr(err, "no-such.mmdb"), "%s", err);
}

Test(geo, refuses_to_open_with_a_missing_list)
{
	struct af_geo_hub_opts opts = {.city = CITY, .hosting_asns = GEO_DATA "no-such.txt"};
	struct af_geo_hub *hub = NULL;
	char err[512] = "";

	cr_assert_eq(af_geo_hub_open(&opts, &hub, err, sizeof err), AF_E_CONFIG);
	cr_assert_null(hub);
	cr_assert_not_null(strstr(err, "no-such.txt"), "%s", err);
}

/* --- the scenario databases ------------------------------------------------------ */

Test(geo, knows_the_demo_attacker_and_user_from_the_scenario_databases)
{
	struct af_geo_hub_opts opts = {.city = SC_CITY, .asn = SC_ASN, .anon = SC_ANON};
	struct af_geo_hub *hub = hub_open(&opts);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);
	struct af_geo attacker = geo_of(r, "198.51.100.7");
	struct af_geo user = geo_of(r, "203.0.113.24");
	struct af_geo tokyo = geo_of(r, "2001:db8:1::5");

	cr_assert_str_eq(attacker.country, "US");
	cr_assert_str_eq(attacker.city, "Ashburn");
	cr_assert_float_eq(attacker.lat, 39.0438, 1e-9);
	cr_assert_float_eq(attacker.lon, -77.4874, 1e-9);
	cr_assert_eq(attacker.radius_km, 50);
	cr_assert_eq(attacker.asn, 64511);
	cr_assert_str_eq(attacker.as_org, "Example Hosting LLC");
	cr_assert_eq(attacker.flags & (AF_GEO_ANONYMOUS | AF_GEO_HOSTING | AF_GEO_VPN),
	             AF_GEO_ANONYMOUS | AF_GEO_HOSTING);
	cr_assert_str_eq(user.country, "VN");
	cr_assert_str_eq(user.city, "Hanoi");
	cr_assert_eq(user.asn, 64500);
	cr_assert_str_eq(user.as_org, "Example VN Telecom");
	cr_assert_not(user.flags & (AF_GEO_ANONYMOUS | AF_GEO_HOSTING));
	cr_assert_str_eq(tokyo.city, "Tokyo");
	cr_assert_eq(tokyo.asn, 64497);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
}

/* --- reloads ------------------------------------------------------------------ */

#define ATTACKER "198.51.100.7" /* US Ashburn in city.mmdb, NL Amsterdam in city-v2 */

/* A hub on a scratch copy of the scenario City database, plus its ASN
 * database. */
static struct af_geo_hub *hub_on_scratch(struct scratch *s, int64_t interval_ns)
{
	struct af_geo_hub_opts opts = {
	    .asn = SC_ASN,
	    .reload_interval_ns = interval_ns,
	};

	scratch_new(s);
	put_city(s, SC_CITY, SIZE_MAX);
	opts.city = s->city;
	return hub_open(&opts);
}

Test(geo, does_not_reload_unchanged_files)
{
	struct scratch s;
	struct af_geo_hub *hub = hub_on_scratch(&s, 0);

	cr_assert_eq(af_geo_hub_check(hub), 0);
	cr_assert_eq(af_geo_hub_check(hub), 0);
	cr_assert_eq(hub_stats(hub).reloads, 0);
	cr_assert_eq(hub_stats(hub).generation, 1);
	af_geo_hub_close(hub);
	scratch_free(&s);
}

Test(geo, answers_from_a_database_replaced_by_rename_after_a_check)
{
	struct scratch s;
	struct af_geo_hub *hub = hub_on_scratch(&s, 0);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);
	struct af_geo after;

	cr_assert_str_eq(geo_of(r, ATTACKER).city, "Ashburn");
	put_city(&s, SC_CITY2, SIZE_MAX);
	cr_assert_eq(af_geo_hub_check(hub), 1);
	/* the same reader, whose caches hold the old answer */
	after = geo_of(r, ATTACKER);
	cr_assert_str_eq(after.country, "NL");
	cr_assert_str_eq(after.city, "Amsterdam");
	cr_assert_eq(after.radius_km, 20);
	/* the ASN database was not replaced and still answers */
	cr_assert_eq(after.asn, 64511);
	cr_assert_eq(hub_stats(hub).reloads, 1);
	cr_assert_eq(hub_stats(hub).generation, 2);
	cr_assert_eq(reader_stats(r).addr_hits, 0);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
	scratch_free(&s);
}

Test(geo, keeps_the_old_database_when_the_new_file_is_corrupt)
{
	struct scratch s;
	struct af_geo_hub *hub = hub_on_scratch(&s, 0);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);

	put_city(&s, SC_CITY2, 1000); /* a truncated copy: no metadata */
	cr_assert_eq(af_geo_hub_check(hub), 0);
	cr_assert_str_eq(geo_of(r, ATTACKER).city, "Ashburn");
	cr_assert_eq(hub_stats(hub).reload_failures, 1);
	cr_assert_eq(hub_stats(hub).generation, 1);
	/* not tried again until the file changes again */
	cr_assert_eq(af_geo_hub_check(hub), 0);
	cr_assert_eq(hub_stats(hub).reload_failures, 1);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
	scratch_free(&s);
}

/* Replace the scratch City database with a whole copy of src, which a
 * check must refuse: one failed reload, the old answers kept. */
static void check_refuses_replacement(const char *src)
{
	struct scratch s;
	struct af_geo_hub *hub = hub_on_scratch(&s, 0);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);

	put_city(&s, src, SIZE_MAX);
	cr_assert_eq(af_geo_hub_check(hub), 0);
	cr_assert_eq(hub_stats(hub).reload_failures, 1);
	cr_assert_str_eq(geo_of(r, ATTACKER).city, "Ashburn");
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
	scratch_free(&s);
}

Test(geo, keeps_the_old_database_when_maxminds_broken_test_file_replaces_it)
{
	check_refuses_replacement(BROKEN);
}

Test(geo, keeps_the_old_database_when_an_asn_database_replaces_the_city_one)
{
	check_refuses_replacement(SC_ASN);
}

Test(geo, keeps_the_old_database_when_the_file_disappears)
{
	struct scratch s;
	struct af_geo_hub *hub = hub_on_scratch(&s, 0);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);

	cr_assert_eq(unlink(s.city), 0);
	cr_assert_eq(af_geo_hub_check(hub), 0);
	cr_assert_eq(af_geo_hub_check(hub), 0);
	cr_assert_eq(hub_stats(hub).reload_failures, 1);
	cr_assert_str_eq(geo_of(r, ATTACKER).city, "Ashburn");
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
	scratch_free(&s);
}

Test(geo, reports_a_failed_reload_in_one_line_naming_the_file, .init = cr_redirect_stderr)
{
	struct scratch s;
	struct af_geo_hub *hub = hub_on_scratch(&s, 0);
	char text[2048] = "";
	size_t n;

	put_city(&s, SC_CITY2, 1000);
	cr_assert_eq(af_geo_hub_check(hub), 0);
	cr_assert_eq(af_geo_hub_check(hub), 0); /* not reported twice */
	fflush(stderr);
	n = fread(text, 1, sizeof text - 1, cr_get_redirected_stderr());
	text[n] = '\0';
	cr_assert_not_null(strstr(text, s.city), "%s", text);
	cr_assert_not_null(strchr(text, '\n'));
	cr_assert_eq(strchr(text, '\n'), text + n - 1, "more than one line: %s", text);
	af_geo_hub_close(hub);
	scratch_free(&s);
}

Test(geo, retries_a_failed_file_once_its_replacement_has_settled)
{
	struct scratch s;
	struct af_geo_hub *hub = hub_on_scratch(&s, 0);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);

	put_city(&s, SC_CITY2, 1000);
	cr_assert_eq(af_geo_hub_check(hub), 0);
	put_city(&s, SC_CITY2, SIZE_MAX);
	/* After a failure the file may be one still being copied: it must
	 * look the same on two checks before it is read. */
	cr_assert_eq(af_geo_hub_check(hub), 0);
	cr_assert_eq(af_geo_hub_check(hub), 1);
	cr_assert_str_eq(geo_of(r, ATTACKER).city, "Amsterdam");
	cr_assert_eq(hub_stats(hub).reload_failures, 1);
	cr_assert_eq(hub_stats(hub).reloads, 1);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
	scratch_free(&s);
}

Test(geo, waits_for_a_file_written_in_place_to_settle)
{
	struct scratch s;
	struct af_geo_hub *hub = hub_on_scratch(&s, 0);
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);
	struct stat before, after;

	cr_assert_eq(stat(s.city, &before), 0);
	cr_assert(copy_file(SC_CITY2, s.city, SIZE_MAX)); /* same inode, new contents */
	cr_assert_eq(stat(s.city, &after), 0);
	cr_assert_eq(before.st_ino, after.st_ino);
	/* (The mapping in use already shows the new bytes: writing in place
	 * is unsafe, which is why geoipupdate renames. The hub only makes
	 * sure it opens a file that has stopped changing.) */
	cr_assert_eq(af_geo_hub_check(hub), 0);
	cr_assert_eq(af_geo_hub_check(hub), 1);
	cr_assert_str_eq(geo_of(r, ATTACKER).city, "Amsterdam");
	cr_assert_eq(hub_stats(hub).reload_failures, 0);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
	scratch_free(&s);
}

Test(geo, watcher_thread_swaps_in_a_replaced_database, .timeout = 60)
{
	struct scratch s;
	struct af_geo_hub *hub = hub_on_scratch(&s, 2000000); /* 2 ms */
	struct af_geo_reader *r = af_geo_reader_new(hub, 0);
	char err[256] = "";
	const struct timespec pause = {0, 1000000};

	cr_assert_eq(af_geo_hub_watch(hub, err, sizeof err), AF_OK, "%s", err);
	cr_assert_str_eq(geo_of(r, ATTACKER).city, "Ashburn");
	put_city(&s, SC_CITY2, SIZE_MAX);
	/* No timing is asserted: wait as long as the test's timeout allows. */
	while (hub_stats(hub).reloads == 0)
		nanosleep(&pause, NULL);
	cr_assert_str_eq(geo_of(r, ATTACKER).city, "Amsterdam");
	cr_assert_eq(hub_stats(hub).generation, 2);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
	scratch_free(&s);
}

Test(geo, close_stops_a_watcher_that_is_waiting_a_long_interval, .timeout = 60)
{
	struct scratch s;
	struct af_geo_hub *hub = hub_on_scratch(&s, 3600LL * 1000000000); /* an hour */
	char err[256] = "";

	cr_assert_eq(af_geo_hub_watch(hub, err, sizeof err), AF_OK, "%s", err);
	af_geo_hub_close(hub); /* must not wait out the hour */
	scratch_free(&s);
}

/* --- readers running through swaps ----------------------------------------------- */

#define MAX_READERS 4

/* The addresses a reader enriches in each section; [0] and [1] are in the
 * network city-v2.mmdb moved, the others the same in both versions. */
static const char *const swap_ips[] = {ATTACKER, "198.51.100.200", "203.0.113.24", "192.0.2.1"};

struct spinner {
	struct af_geo_reader *r;
	atomic_bool *stop;
	atomic_ulong sections;
	unsigned long wrong;    /* answers from neither version, or mixed */
	unsigned long old_seen; /* sections that saw city.mmdb */
	unsigned long new_seen; /* sections that saw city-v2.mmdb */
};

/* 0: the answer of city.mmdb, 1: of city-v2.mmdb, -1: neither. */
static int version_of(const struct af_geo *g)
{
	if (g->asn != 64511)
		return -1;
	if (strcmp(g->country, "US") == 0 && strcmp(g->city, "Ashburn") == 0 && g->lat == 39.0438 &&
	    g->lon == -77.4874 && g->radius_km == 50)
		return 0;
	if (strcmp(g->country, "NL") == 0 && strcmp(g->city, "Amsterdam") == 0 &&
	    g->lat == 52.3676 && g->lon == 4.9041 && g->radius_km == 20)
		return 1;
	return -1;
}

static bool is_fixed_answer(const struct af_geo *g, size_t i)
{
	if (i == 2)
		return strcmp(g->city, "Hanoi") == 0 && g->asn == 64500;
	return strcmp(g->city, "Frankfurt") == 0 && g->asn == 64496;
}

/* Enrich continuously, a few events per section. Within one section every
 * answer must come from the one set the section sees. */
static void *spin(void *arg)
{
	struct spinner *sp = arg;
	struct af_event templ[sizeof swap_ips / sizeof swap_ips[0]];

	for (size_t i = 0; i < sizeof templ / sizeof templ[0]; i++) {
		if (!parse_ip(swap_ips[i], &templ[i]))
			sp->wrong++;
	}
	/* relaxed: the flag orders nothing; join hands the counts over */
	while (!atomic_load_explicit(sp->stop, memory_order_relaxed)) {
		int seen = -1;

		af_geo_reader_enter(sp->r);
		for (size_t i = 0; i < sizeof templ / sizeof templ[0]; i++) {
			struct af_event ev = templ[i];

			af_geo_enrich(sp->r, &ev);
			if (i >= 2) {
				sp->wrong += !is_fixed_answer(&ev.geo, i);
				continue;
			}
			int v = version_of(&ev.geo);

			if (v < 0 || (seen >= 0 && v != seen))
				sp->wrong++;
			seen = v;
		}
		af_geo_reader_leave(sp->r);
		sp->old_seen += seen == 0;
		sp->new_seen += seen == 1;
		/* release: pairs with the acquire in wait_sections */
		atomic_fetch_add_explicit(&sp->sections, 1, memory_order_release);
	}
	return NULL;
}

/* Wait until the reader has begun and ended a whole section after this
 * call: two more ends, as the first may close a section begun before. */
static void wait_sections(struct spinner *sp)
{
	unsigned long s0 = atomic_load_explicit(&sp->sections, memory_order_acquire);

	while (atomic_load_explicit(&sp->sections, memory_order_acquire) < s0 + 2)
		sched_yield();
}

struct swap_run {
	int readers;  /* in: 1..MAX_READERS */
	int swaps;    /* in: how many times city.mmdb is replaced */
	bool watcher; /* in: swaps found by the watcher thread, else by af_geo_hub_check */
	unsigned long wrong, old_seen, new_seen; /* out: sums over the readers */
	struct af_geo_hub_stats hub;             /* out: at the end */
};

/* Readers enrich while the city database is replaced run->swaps times,
 * alternating city.mmdb and city-v2.mmdb; every reader completes a section
 * between two swaps. Returns NULL, or what went wrong in the setup. */
static const char *run_swaps(struct swap_run *run)
{
	struct af_geo_hub_opts opts = {.asn = SC_ASN};
	struct af_geo_hub *hub = NULL;
	struct spinner sp[MAX_READERS];
	pthread_t t[MAX_READERS];
	atomic_bool stop;
	struct scratch s;
	const char *fail = NULL;
	const struct timespec pause = {0, 100000};
	char err[512];
	int started = 0;

	memset(sp, 0, sizeof sp);
	atomic_init(&stop, false);
	if (!scratch_make(&s))
		return "cannot make a scratch directory";
	opts.city = s.city;
	opts.reload_interval_ns = run->watcher ? 1000000 : 0;
	if (!replace_city(&s, SC_CITY, SIZE_MAX) ||
	    af_geo_hub_open(&opts, &hub, err, sizeof err) != AF_OK ||
	    (run->watcher && af_geo_hub_watch(hub, err, sizeof err) != AF_OK)) {
		fail = "cannot set up the hub";
		goto cleanup;
	}
	for (; started < run->readers; started++) {
		sp[started].stop = &stop;
		atomic_init(&sp[started].sections, 0);
		sp[started].r = af_geo_reader_new(hub, 64);
		if (sp[started].r == NULL ||
		    pthread_create(&t[started], NULL, spin, &sp[started]) != 0) {
			af_geo_reader_free(sp[started].r);
			fail = "cannot start a reader";
			goto stop;
		}
	}
	for (int k = 0; k < run->swaps; k++) {
		for (int i = 0; i < started; i++)
			wait_sections(&sp[i]);
		if (!replace_city(&s, k % 2 == 0 ? SC_CITY2 : SC_CITY, SIZE_MAX)) {
			fail = "cannot replace the database";
			goto stop;
		}
		if (run->watcher) {
			while (hub_stats(hub).reloads < (uint64_t)k + 1)
				nanosleep(&pause, NULL);
		} else if (af_geo_hub_check(hub) != 1) {
			fail = "a replaced database was not swapped in";
			goto stop;
		}
	}
	for (int i = 0; i < started; i++)
		wait_sections(&sp[i]);
stop:
	/* relaxed: see spin */
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	for (int i = 0; i < started; i++) {
		pthread_join(t[i], NULL);
		run->wrong += sp[i].wrong;
		run->old_seen += sp[i].old_seen;
		run->new_seen += sp[i].new_seen;
		af_geo_reader_free(sp[i].r);
	}
	af_geo_hub_stats(hub, &run->hub);
cleanup:
	af_geo_hub_close(hub);
	if (!scratch_remove(&s) && fail == NULL)
		fail = "cannot remove the scratch directory";
	return fail;
}

static void assert_swap_run(struct swap_run *run)
{
	const char *fail = run_swaps(run);

	cr_assert_null(fail, "%s", fail);
	cr_assert_eq(run->wrong, 0);
	cr_assert_gt(run->old_seen, 0);
	cr_assert_gt(run->new_seen, 0);
	cr_assert_eq(run->hub.generation, 1 + (uint64_t)run->swaps);
	cr_assert_eq(run->hub.reload_failures, 0);
}

Test(geo, a_reader_sees_one_whole_database_or_the_other_while_they_are_swapped, .timeout = 300)
{
	struct swap_run run = {.readers = 1, .swaps = 200};

	assert_swap_run(&run);
}

Test(geo, readers_see_whole_databases_while_the_watcher_swaps_them, .timeout = 300)
{
	struct swap_run run = {.readers = 2, .swaps = 50, .watcher = true};

	assert_swap_run(&run);
}

#ifdef UNDER_TSAN
/* Replaces Criterion's main under ThreadSanitizer (see the top of the
 * file): the swap scenarios, checked by hand; the arguments CTest passes
 * for Criterion are ignored. */
int main(void)
{
	struct swap_run runs[] = {
	    {.readers = 1, .swaps = 200},
	    {.readers = 3, .swaps = 50, .watcher = true},
	};
	int failed = 0;

	for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
		struct swap_run *run = &runs[i];
		const char *fail = run_swaps(run);
		bool ok = fail == NULL && run->wrong == 0 && run->old_seen > 0 &&
		          run->new_seen > 0 && run->hub.generation == 1 + (uint64_t)run->swaps &&
		          run->hub.reload_failures == 0;

		printf("%s: %d reader(s), %d swaps by %s: %s; wrong %lu, sections on old %lu, "
		       "on new %lu, generation %llu\n",
		       ok ? "ok" : "FAIL", run->readers, run->swaps,
		       run->watcher ? "the watcher" : "af_geo_hub_check", fail ? fail : "ran",
		       run->wrong, run->old_seen, run->new_seen,
		       (unsigned long long)run->hub.generation);
		failed |= !ok;
	}
	return failed;
}
#endif
