/* test_geo_db.c - af_geo_db on MaxMind's reference test databases (known
 * answers from their JSON listings in tests/data/geo/): City, Country,
 * ASN and Anonymous-IP layouts, IPv4, IPv6 and IPv4-mapped addresses,
 * configured paths, role mismatches, each broken database, missing and
 * non-MMDB files, file identity and metadata; and flat layouts, from small
 * databases written at run time with MaxMind::DB::Writer (Perl) when it is
 * installed. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <maxminddb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/enrich/geo_db.h"

#define GEO(name) AF_TEST_DATA "/geo/" name

static char errstr[512];

static struct af_geo_db *open_ok(const char *path, enum af_geo_db_role role,
                                 const struct af_geo_db_paths *paths)
{
	struct af_geo_db *db = NULL;
	af_err_t err = af_geo_db_open(path, role, paths, &db, errstr, sizeof(errstr));

	cr_assert_eq(err, AF_OK, "%s: %s", path, errstr);
	cr_assert_not_null(db);
	return db;
}

static void open_fails(const char *path, enum af_geo_db_role role,
                       const struct af_geo_db_paths *paths)
{
	struct af_geo_db *db = (struct af_geo_db *)&db;

	errstr[0] = '\0';
	cr_assert_eq(af_geo_db_open(path, role, paths, &db, errstr, sizeof(errstr)), AF_E_CONFIG,
	             "%s opened", path);
	cr_assert_null(db);
	cr_assert(strstr(errstr, path) != NULL, "errstr does not name the file: %s", errstr);
}

static struct af_ip ip_of(const char *text)
{
	struct af_ip ip;

	cr_assert(af_ip_parse(text, strlen(text), &ip), "%s", text);
	return ip;
}

/* Lookup and decode text in db into *geo; false when there is no answer. */
static bool answer(const struct af_geo_db *db, const char *text, struct af_geo *geo)
{
	struct af_ip ip = ip_of(text);
	uint32_t off;

	if (!af_geo_db_lookup(db, &ip, &off))
		return false;
	cr_assert(af_geo_db_decode(db, off, geo), "%s: record not decoded", text);
	return true;
}

static uint32_t offset_of(const struct af_geo_db *db, const char *text)
{
	struct af_ip ip = ip_of(text);
	uint32_t off = UINT32_MAX;

	cr_assert(af_geo_db_lookup(db, &ip, &off), "%s not found", text);
	return off;
}

/* ---- City and Country ---- */

Test(geo_db, answers_an_ipv4_address_from_a_city_database)
{
	struct af_geo_db *db = open_ok(GEO("GeoIP2-City-Test.mmdb"), AF_GEO_DB_LOCATION, NULL);
	struct af_geo geo = {0};

	cr_assert(answer(db, "81.2.69.160", &geo));
	cr_assert_str_eq(geo.country, "GB");
	cr_assert_str_eq(geo.city, "London");
	cr_assert_float_eq(geo.lat, 51.5142, 1e-9);
	cr_assert_float_eq(geo.lon, -0.0931, 1e-9);
	cr_assert_eq(geo.radius_km, 100);
	cr_assert_eq(geo.flags, AF_GEO_FOUND | AF_GEO_HAS_LOCATION);
	af_geo_db_close(db);
}

Test(geo_db, answers_an_ipv6_address_from_a_city_database)
{
	struct af_geo_db *db = open_ok(GEO("GeoIP2-City-Test.mmdb"), AF_GEO_DB_LOCATION, NULL);
	struct af_geo geo = {0};

	cr_assert(answer(db, "2001:218::1", &geo));
	cr_assert_str_eq(geo.country, "JP");
	cr_assert_str_eq(geo.city, "");
	cr_assert_float_eq(geo.lat, 35.68536, 1e-9);
	cr_assert_float_eq(geo.lon, 139.75309, 1e-9);
	cr_assert_eq(geo.radius_km, 100);
	cr_assert_eq(geo.flags, AF_GEO_FOUND | AF_GEO_HAS_LOCATION);
	af_geo_db_close(db);
}

Test(geo_db, answers_an_ipv4_mapped_ipv6_address_as_its_ipv4_address)
{
	struct af_geo_db *db = open_ok(GEO("GeoIP2-City-Test.mmdb"), AF_GEO_DB_LOCATION, NULL);
	struct af_ip mapped = ip_of("::ffff:216.160.83.56");
	struct af_geo geo = {0};
	uint32_t off;

	cr_assert_eq(mapped.family, AF_IP_V4);
	cr_assert(af_geo_db_lookup(db, &mapped, &off));
	cr_assert_eq(off, offset_of(db, "216.160.83.56"));
	cr_assert(af_geo_db_decode(db, off, &geo));
	cr_assert_str_eq(geo.country, "US");
	cr_assert_str_eq(geo.city, "Milton");
	cr_assert_float_eq(geo.lat, 47.2513, 1e-9);
	cr_assert_float_eq(geo.lon, -122.3149, 1e-9);
	cr_assert_eq(geo.radius_km, 22);
	af_geo_db_close(db);
}

Test(geo_db, has_no_answer_for_an_address_not_in_the_database)
{
	struct af_geo_db *db = open_ok(GEO("GeoIP2-City-Test.mmdb"), AF_GEO_DB_LOCATION, NULL);
	struct af_ip v4 = ip_of("1.0.0.1"), v6 = ip_of("2001:db8::1");
	uint32_t off = 12345;

	cr_assert_not(af_geo_db_lookup(db, &v4, &off));
	cr_assert_not(af_geo_db_lookup(db, &v6, &off));
	cr_assert_eq(off, 12345);
	af_geo_db_close(db);
}

Test(geo_db, gives_addresses_of_one_network_one_record_offset)
{
	struct af_geo_db *db = open_ok(GEO("GeoIP2-City-Test.mmdb"), AF_GEO_DB_LOCATION, NULL);

	cr_assert_eq(offset_of(db, "81.2.69.160"), offset_of(db, "81.2.69.191"));
	cr_assert_neq(offset_of(db, "81.2.69.160"), offset_of(db, "81.2.69.142"));
	af_geo_db_close(db);
}

Test(geo_db, keeps_a_city_name_in_utf8)
{
	struct af_geo_db *db = open_ok(GEO("GeoIP2-City-Test.mmdb"), AF_GEO_DB_LOCATION, NULL);
	struct af_geo geo = {0};

	cr_assert(answer(db, "89.160.20.112", &geo));
	cr_assert_str_eq(geo.country, "SE");
	cr_assert_str_eq(geo.city, "Link\xc3\xb6ping");
	cr_assert_eq(geo.radius_km, 76);
	af_geo_db_close(db);
}

Test(geo_db, leaves_geo_unknown_for_a_record_without_location_facts)
{
	struct af_geo_db *db = open_ok(GEO("GeoIP2-City-Test.mmdb"), AF_GEO_DB_LOCATION, NULL);
	struct af_geo geo = {0}, zero = {0};

	/* 2.3.3.0/24 holds only a continent. */
	cr_assert(answer(db, "2.3.3.1", &geo));
	cr_assert_eq(memcmp(&geo, &zero, sizeof(geo)), 0);
	af_geo_db_close(db);
}

Test(geo_db, fills_only_the_fields_of_its_role)
{
	struct af_geo_db *db = open_ok(GEO("GeoIP2-City-Test.mmdb"), AF_GEO_DB_LOCATION, NULL);
	struct af_geo geo = {.asn = 7018, .as_org = "AT&T Services", .flags = AF_GEO_VPN};

	cr_assert(answer(db, "81.2.69.160", &geo));
	cr_assert_str_eq(geo.country, "GB");
	cr_assert_eq(geo.asn, 7018);
	cr_assert_str_eq(geo.as_org, "AT&T Services");
	cr_assert_eq(geo.flags, AF_GEO_VPN | AF_GEO_FOUND | AF_GEO_HAS_LOCATION);
	af_geo_db_close(db);
}

Test(geo_db, answers_a_country_without_a_location_from_a_country_database)
{
	struct af_geo_db *db = open_ok(GEO("GeoIP2-Country-Test.mmdb"), AF_GEO_DB_LOCATION, NULL);
	struct af_geo geo = {0};

	cr_assert(answer(db, "81.2.69.160", &geo));
	cr_assert_str_eq(geo.country, "GB");
	cr_assert_str_eq(geo.city, "");
	cr_assert_eq(geo.radius_km, 0);
	cr_assert_eq(geo.flags, AF_GEO_FOUND);
	af_geo_db_close(db);
}

Test(geo_db, answers_from_a_geolite2_city_database)
{
	struct af_geo_db *db = open_ok(GEO("GeoLite2-City-Test.mmdb"), AF_GEO_DB_LOCATION, NULL);
	struct af_geo geo = {0};

	cr_assert(answer(db, "216.160.83.56", &geo));
	cr_assert_str_eq(geo.country, "US");
	cr_assert_str_eq(geo.city, "Milton");
	cr_assert_eq(geo.radius_km, 22);
	cr_assert(geo.flags & AF_GEO_HAS_LOCATION);
	af_geo_db_close(db);
}

/* ---- ASN and Anonymous-IP ---- */

Test(geo_db, answers_asn_and_organization_from_an_asn_database)
{
	struct af_geo_db *db = open_ok(GEO("GeoLite2-ASN-Test.mmdb"), AF_GEO_DB_ASN, NULL);
	struct af_geo geo = {0};

	cr_assert(answer(db, "1.0.0.1", &geo));
	cr_assert_eq(geo.asn, 15169);
	cr_assert_str_eq(geo.as_org, "Google Inc.");
	cr_assert_eq(geo.flags, AF_GEO_FOUND);
	cr_assert_str_eq(geo.country, "");
	af_geo_db_close(db);
}

Test(geo_db, answers_an_asn_without_organization)
{
	struct af_geo_db *db = open_ok(GEO("GeoLite2-ASN-Test.mmdb"), AF_GEO_DB_ASN, NULL);
	struct af_geo geo = {0};

	cr_assert(answer(db, "12.81.96.1", &geo));
	cr_assert_eq(geo.asn, 7018);
	cr_assert_str_eq(geo.as_org, "");
	af_geo_db_close(db);
}

Test(geo_db, sets_every_anonymizer_flag_the_record_has)
{
	struct af_geo_db *db = open_ok(GEO("GeoIP2-Anonymous-IP-Test.mmdb"), AF_GEO_DB_ANON, NULL);
	struct af_geo geo = {0};

	cr_assert(answer(db, "81.2.69.160", &geo));
	cr_assert_eq(geo.flags, AF_GEO_FOUND | AF_GEO_ANONYMOUS | AF_GEO_VPN | AF_GEO_HOSTING |
	                            AF_GEO_PROXY | AF_GEO_TOR);
	af_geo_db_close(db);
}

Test(geo_db, sets_only_the_anonymizer_flags_the_record_has)
{
	struct af_geo_db *db = open_ok(GEO("GeoIP2-Anonymous-IP-Test.mmdb"), AF_GEO_DB_ANON, NULL);
	struct af_geo geo = {0}, tor = {0};

	cr_assert(answer(db, "1.2.0.1", &geo));
	cr_assert_eq(geo.flags, AF_GEO_FOUND | AF_GEO_ANONYMOUS | AF_GEO_VPN);
	cr_assert(answer(db, "65.0.0.1", &tor));
	cr_assert_eq(tor.flags, AF_GEO_FOUND | AF_GEO_ANONYMOUS | AF_GEO_TOR);
	af_geo_db_close(db);
}

Test(geo_db, sets_no_flag_for_an_empty_anonymizer_record)
{
	struct af_geo_db *db = open_ok(GEO("GeoIP2-Anonymous-IP-Test.mmdb"), AF_GEO_DB_ANON, NULL);
	struct af_geo geo = {0};

	/* The test database answers the rest of the space with an empty map. */
	if (answer(db, "2001:218::1", &geo))
		cr_assert_eq(geo.flags, 0);
	af_geo_db_close(db);
}

/* ---- threads ---- */

struct worker {
	const struct af_geo_db *db;
	bool agreed;
};

/* Answers of every thread must equal the ones known from one thread. */
static void *lookup_repeatedly(void *arg)
{
	static const struct {
		const char *ip, *country, *city;
	} known[] = {
	    {"81.2.69.160", "GB", "London"},   {"2001:218::1", "JP", ""},
	    {"216.160.83.56", "US", "Milton"}, {"89.160.20.112", "SE", "Link\xc3\xb6ping"},
	    {"2a02:d3c0::1", "GB", ""},        {"175.16.199.1", "CN", "Changchun"},
	};
	struct worker *w = arg;

	w->agreed = true;
	for (int round = 0; round < 500; round++)
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
			struct af_ip ip;
			struct af_geo geo = {0};
			uint32_t off;

			if (!af_ip_parse(known[i].ip, strlen(known[i].ip), &ip) ||
			    !af_geo_db_lookup(w->db, &ip, &off) ||
			    !af_geo_db_decode(w->db, off, &geo) ||
			    strcmp(geo.country, known[i].country) != 0 ||
			    strcmp(geo.city, known[i].city) != 0)
				w->agreed = false;
		}
	return NULL;
}

Test(geo_db, answers_the_same_from_several_threads_at_once)
{
	struct af_geo_db *db = open_ok(GEO("GeoIP2-City-Test.mmdb"), AF_GEO_DB_LOCATION, NULL);
	struct worker w[4];
	pthread_t t[4];

	for (int i = 0; i < 4; i++) {
		w[i].db = db;
		cr_assert_eq(pthread_create(&t[i], NULL, lookup_repeatedly, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(pthread_join(t[i], NULL), 0);
		cr_assert(w[i].agreed, "thread %d got another answer", i);
	}
	af_geo_db_close(db);
}

/* ---- configuration and roles ---- */

Test(geo_db, lets_a_configured_path_override_detection)
{
	struct af_geo_db_paths paths = {0};
	struct af_geo_db *db;
	struct af_geo geo = {0};

	paths.field[AF_GEO_F_CITY] = "country.names.en";
	db = open_ok(GEO("GeoIP2-City-Test.mmdb"), AF_GEO_DB_LOCATION, &paths);
	cr_assert(answer(db, "81.2.69.160", &geo));
	cr_assert_str_eq(geo.city, "United Kingdom");
	cr_assert_str_eq(geo.country, "GB");
	af_geo_db_close(db);
}

Test(geo_db, reads_configured_paths_through_arrays)
{
	struct af_geo_db_paths paths = {0};
	struct af_geo_db *db;
	struct af_geo geo = {0};

	paths.field[AF_GEO_F_CITY] = "subdivisions.0.names.en";
	db = open_ok(GEO("GeoIP2-City-Test.mmdb"), AF_GEO_DB_LOCATION, &paths);
	cr_assert(answer(db, "81.2.69.160", &geo));
	cr_assert_str_eq(geo.city, "England");
	af_geo_db_close(db);
}

Test(geo_db, ignores_configured_paths_of_other_roles)
{
	struct af_geo_db_paths paths = {0};
	struct af_geo_db *db;
	struct af_geo geo = {0};

	paths.field[AF_GEO_F_ASN] = "no..such";
	paths.field[AF_GEO_F_TOR] = "city";
	db = open_ok(GEO("GeoIP2-City-Test.mmdb"), AF_GEO_DB_LOCATION, &paths);
	cr_assert(answer(db, "81.2.69.160", &geo));
	cr_assert_eq(geo.asn, 0);
	cr_assert_eq(geo.flags & AF_GEO_TOR, 0);
	af_geo_db_close(db);
}

Test(geo_db, rejects_a_configured_path_with_an_empty_key)
{
	struct af_geo_db_paths paths = {0};

	paths.field[AF_GEO_F_COUNTRY] = "country..iso_code";
	open_fails(GEO("GeoIP2-City-Test.mmdb"), AF_GEO_DB_LOCATION, &paths);
	cr_assert(strstr(errstr, "country..iso_code") != NULL, "%s", errstr);
}

Test(geo_db, rejects_an_asn_database_opened_for_location)
{
	open_fails(GEO("GeoLite2-ASN-Test.mmdb"), AF_GEO_DB_LOCATION, NULL);
	cr_assert(strstr(errstr, "location") != NULL, "%s", errstr);
}

Test(geo_db, rejects_a_city_database_opened_for_anonymizers)
{
	open_fails(GEO("GeoIP2-City-Test.mmdb"), AF_GEO_DB_ANON, NULL);
	open_fails(GEO("GeoIP2-City-Test.mmdb"), AF_GEO_DB_ASN, NULL);
}

/* ---- identity and metadata ---- */

Test(geo_db, stamps_the_file_it_opened)
{
	const char *path = GEO("GeoIP2-Country-Test.mmdb");
	struct af_geo_db *db = open_ok(path, AF_GEO_DB_LOCATION, NULL);
	struct af_geo_db_stamp stamp;
	struct stat st;

	cr_assert_eq(stat(path, &st), 0);
	af_geo_db_stamp(db, &stamp);
	cr_assert_eq(stamp.dev, (uint64_t)st.st_dev);
	cr_assert_eq(stamp.ino, (uint64_t)st.st_ino);
	cr_assert_eq(stamp.size, (uint64_t)st.st_size);
	cr_assert_eq(stamp.mtime_ns, (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
	af_geo_db_close(db);
}

Test(geo_db, reports_path_type_and_build_epoch)
{
	const char *path = GEO("GeoIP2-City-Test.mmdb");
	struct af_geo_db *db = open_ok(path, AF_GEO_DB_LOCATION, NULL);

	cr_assert_str_eq(af_geo_db_path(db), path);
	cr_assert_str_eq(af_geo_db_type(db), "GeoIP2-City");
	cr_assert_eq(af_geo_db_build_epoch(db), 1770245369);
	af_geo_db_close(db);
}

Test(geo_db, ignores_closing_null)
{
	af_geo_db_close(NULL);
}

/* ---- bad input ---- */

Test(geo_db, names_a_missing_file_and_the_cause)
{
	open_fails(GEO("no-such-database.mmdb"), AF_GEO_DB_LOCATION, NULL);
	cr_assert(strstr(errstr, "No such file") != NULL, "%s", errstr);
}

Test(geo_db, rejects_a_directory)
{
	open_fails(AF_TEST_DATA "/geo", AF_GEO_DB_LOCATION, NULL);
}

Test(geo_db, rejects_a_database_with_an_invalid_node_count)
{
	open_fails(GEO("GeoIP2-City-Test-Invalid-Node-Count.mmdb"), AF_GEO_DB_LOCATION, NULL);
	cr_assert(strstr(errstr, MMDB_strerror(MMDB_INVALID_METADATA_ERROR)) != NULL, "%s", errstr);
}

Test(geo_db, leaves_coordinates_unknown_when_their_doubles_are_broken)
{
	struct af_geo_db *db =
	    open_ok(GEO("GeoIP2-City-Test-Broken-Double-Format.mmdb"), AF_GEO_DB_LOCATION, NULL);
	struct af_geo geo = {0};

	cr_assert(answer(db, "81.2.69.160", &geo));
	cr_assert_str_eq(geo.country, "GB");
	cr_assert_str_eq(geo.city, "London");
	cr_assert_eq(geo.lat, 0.0);
	cr_assert_eq(geo.lon, 0.0);
	cr_assert_eq(geo.flags & AF_GEO_HAS_LOCATION, 0);
	af_geo_db_close(db);
}

Test(geo_db, rejects_test_databases_without_geo_data)
{
	open_fails(GEO("MaxMind-DB-test-broken-pointers-24.mmdb"), AF_GEO_DB_LOCATION, NULL);
	open_fails(GEO("MaxMind-DB-test-broken-search-tree-24.mmdb"), AF_GEO_DB_ASN, NULL);
}

/* Look up and decode every address of 1.1.1.0/24 and a few others in a
 * broken test database, opened with its "ip" strings as the city; returns
 * how many decoded. Whatever the damage, answers are "unknown" or a
 * record's own text. */
static unsigned sweep(const struct af_geo_db *db)
{
	static const char *const others[] = {"::1", "2001:db8::1", "255.255.255.255", "0.0.0.0"};
	unsigned decoded = 0;
	char text[32];

	for (int i = 0; i < 256 + 4; i++) {
		struct af_geo geo = {0};
		struct af_ip ip;
		uint32_t off;

		if (i < 256)
			snprintf(text, sizeof(text), "1.1.1.%d", i);
		else
			snprintf(text, sizeof(text), "%s", others[i - 256]);
		ip = ip_of(text);
		if (!af_geo_db_lookup(db, &ip, &off))
			continue;
		if (!af_geo_db_decode(db, off, &geo))
			continue;
		decoded++;
		cr_assert(strncmp(geo.city, "1.1.1.", 6) == 0, "%s: %s", text, geo.city);
	}
	return decoded;
}

Test(geo_db, answers_unknown_where_pointers_are_broken)
{
	struct af_geo_db_paths paths = {.field[AF_GEO_F_CITY] = "ip"};
	struct af_geo_db *db =
	    open_ok(GEO("MaxMind-DB-test-broken-pointers-24.mmdb"), AF_GEO_DB_LOCATION, &paths);
	struct af_ip bad_data = ip_of("1.1.1.16"), bad_tree = ip_of("1.1.1.32");
	struct af_geo geo = {0};
	uint32_t off;

	cr_assert(answer(db, "1.1.1.1", &geo));
	cr_assert_str_eq(geo.city, "1.1.1.1");
	/* The record of 1.1.1.16 points outside the data section; the tree
	 * record of 1.1.1.32 points past the end of the file. */
	if (af_geo_db_lookup(db, &bad_data, &off))
		cr_assert_not(af_geo_db_decode(db, off, &geo));
	cr_assert_not(af_geo_db_lookup(db, &bad_tree, &off));
	cr_assert_gt(sweep(db), 0);
	af_geo_db_close(db);
}

Test(geo_db, answers_unknown_or_right_where_the_search_tree_is_broken)
{
	struct af_geo_db_paths paths = {.field[AF_GEO_F_CITY] = "ip"};
	struct af_geo_db *db =
	    open_ok(GEO("MaxMind-DB-test-broken-search-tree-24.mmdb"), AF_GEO_DB_LOCATION, &paths);
	struct af_geo geo = {0};

	cr_assert(answer(db, "1.1.1.1", &geo));
	cr_assert_str_eq(geo.city, "1.1.1.1");
	cr_assert_gt(sweep(db), 0);
	af_geo_db_close(db);
}

Test(geo_db, does_not_decode_an_offset_outside_the_data_section)
{
	struct af_geo_db *db = open_ok(GEO("GeoIP2-City-Test.mmdb"), AF_GEO_DB_LOCATION, NULL);
	struct af_geo geo = {.asn = 1}, before = geo;

	cr_assert_not(af_geo_db_decode(db, 0x7fffffff, &geo));
	cr_assert_not(af_geo_db_decode(db, UINT32_MAX, &geo));
	cr_assert_eq(memcmp(&geo, &before, sizeof(geo)), 0);
	af_geo_db_close(db);
}

/* ---- files made at run time ---- */

static char tmp_dir[64];

static void tmp_init(void)
{
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/af_geo_db_XXXXXX");
	cr_assert_not_null(mkdtemp(tmp_dir));
}

static void tmp_fini(void)
{
	DIR *d = opendir(tmp_dir);
	struct dirent *e;
	char path[sizeof(tmp_dir) + sizeof(e->d_name) + 1];

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmp_dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(tmp_dir);
}

TestSuite(geo_db_files, .init = tmp_init, .fini = tmp_fini);

static const char *tmp_file(const char *name, const char *content)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(content, f);
	cr_assert_eq(fclose(f), 0);
	return path;
}

Test(geo_db_files, names_a_file_that_is_not_a_maxmind_db_and_the_cause)
{
	const char *path = tmp_file("junk.mmdb", "this is not a MaxMind DB file\n");

	open_fails(path, AF_GEO_DB_LOCATION, NULL);
	cr_assert(strstr(errstr, MMDB_strerror(MMDB_INVALID_METADATA_ERROR)) != NULL, "%s", errstr);
}

Test(geo_db_files, rejects_an_empty_file)
{
	open_fails(tmp_file("empty.mmdb", ""), AF_GEO_DB_LOCATION, NULL);
}

Test(geo_db_files, rejects_a_fifo_without_waiting_for_a_writer, .timeout = 10)
{
	char path[sizeof(tmp_dir) + 16];

	snprintf(path, sizeof(path), "%s/fifo.mmdb", tmp_dir);
	cr_assert_eq(mkfifo(path, 0600), 0);
	open_fails(path, AF_GEO_DB_LOCATION, NULL);
}

/* Write a database with MaxMind::DB::Writer: ip_version 4, types a Perl
 * list of key => type, inserts Perl statements on $tree. Skips the test
 * when the module is missing. Returns the path. */
static const char *flat_db(const char *types, const char *inserts)
{
	static char db[256];
	char cmd[600];
	const char *script;
	char text[4096];

	if (system("perl -MMaxMind::DB::Writer::Tree -e1 >/dev/null 2>&1") != 0)
		cr_skip_test("MaxMind::DB::Writer::Tree (libmaxmind-db-writer-perl) is missing");
	snprintf(text, sizeof(text),
	         "use strict;\nuse warnings;\nuse MaxMind::DB::Writer::Tree;\n"
	         "my %%types = (%s);\n"
	         "my $tree = MaxMind::DB::Writer::Tree->new(ip_version => 4, record_size => 24,\n"
	         "  database_type => 'Flat-Test', languages => ['en'],\n"
	         "  description => { en => 'flat layout test' },\n"
	         "  map_key_type_callback => sub { $types{ $_[0] } },\n"
	         "  remove_reserved_networks => 0);\n"
	         "%s\n"
	         "open my $fh, '>:raw', $ARGV[0] or die \"$ARGV[0]: $!\";\n"
	         "$tree->write_tree($fh);\nclose $fh or die \"$ARGV[0]: $!\";\n",
	         types, inserts);
	script = tmp_file("flat.pl", text);
	snprintf(db, sizeof(db), "%s/flat.mmdb", tmp_dir);
	snprintf(cmd, sizeof(cmd), "perl '%s' '%s'", script, db);
	cr_assert_eq(system(cmd), 0, "%s failed", cmd);
	return db;
}

static const char *flat_location_db(void)
{
	return flat_db("country_code => 'utf8_string', city => 'utf8_string', "
	               "latitude => 'double', longitude => 'float', accuracy_radius => 'uint16', "
	               "asn => 'uint32', as_name => 'utf8_string', vpn => 'boolean', "
	               "hosting => 'boolean'",
	               "$tree->insert_network('203.0.113.0/24', { country_code => 'vn', "
	               "city => \"\\x{e9}\" x 30, latitude => 10.75, longitude => 106.5, "
	               "accuracy_radius => 50, asn => 64500, as_name => 'Example Transit', "
	               "vpn => 1, hosting => 0 });");
}

Test(geo_db_files, detects_a_flat_location_layout)
{
	struct af_geo_db *db = open_ok(flat_location_db(), AF_GEO_DB_LOCATION, NULL);
	struct af_geo geo = {0};

	cr_assert_str_eq(af_geo_db_type(db), "Flat-Test");
	cr_assert(answer(db, "203.0.113.9", &geo));
	cr_assert_str_eq(geo.country, "VN");
	cr_assert_float_eq(geo.lat, 10.75, 1e-9);
	cr_assert_float_eq(geo.lon, 106.5, 1e-6);
	cr_assert_eq(geo.radius_km, 50);
	cr_assert_eq(geo.flags, AF_GEO_FOUND | AF_GEO_HAS_LOCATION);
	cr_assert_eq(geo.asn, 0);
	af_geo_db_close(db);
}

Test(geo_db_files, cuts_a_long_city_name_at_a_utf8_boundary)
{
	struct af_geo_db *db = open_ok(flat_location_db(), AF_GEO_DB_LOCATION, NULL);
	struct af_geo geo = {0};

	/* 30 two-byte characters into 47 bytes: 23 whole ones. */
	cr_assert(answer(db, "203.0.113.9", &geo));
	cr_assert_eq(strlen(geo.city), 46);
	for (size_t i = 0; i < 46; i += 2)
		cr_assert(geo.city[i] == '\xc3' && geo.city[i + 1] == '\xa9');
	af_geo_db_close(db);
}

Test(geo_db_files, detects_a_flat_asn_layout)
{
	struct af_geo_db *db = open_ok(flat_location_db(), AF_GEO_DB_ASN, NULL);
	struct af_geo geo = {0};

	cr_assert(answer(db, "203.0.113.9", &geo));
	cr_assert_eq(geo.asn, 64500);
	cr_assert_str_eq(geo.as_org, "Example Transit");
	cr_assert_str_eq(geo.country, "");
	af_geo_db_close(db);
}

Test(geo_db_files, detects_flat_anonymizer_flags)
{
	struct af_geo_db *db = open_ok(flat_location_db(), AF_GEO_DB_ANON, NULL);
	struct af_geo geo = {0};

	cr_assert(answer(db, "203.0.113.9", &geo));
	cr_assert_eq(geo.flags, AF_GEO_FOUND | AF_GEO_VPN);
	af_geo_db_close(db);
}

Test(geo_db_files, reads_an_asn_written_as_text)
{
	const char *path = flat_db("asn => 'utf8_string', organization => 'utf8_string'",
	                           "$tree->insert_network('198.51.100.0/24', "
	                           "{ asn => 'AS64501', organization => 'Example Org' });");
	struct af_geo_db *db = open_ok(path, AF_GEO_DB_ASN, NULL);
	struct af_geo geo = {0};

	cr_assert(answer(db, "198.51.100.1", &geo));
	cr_assert_eq(geo.asn, 64501);
	cr_assert_str_eq(geo.as_org, "Example Org");
	af_geo_db_close(db);
}

Test(geo_db_files, has_no_answer_for_ipv6_in_an_ipv4_database)
{
	struct af_geo_db *db = open_ok(flat_location_db(), AF_GEO_DB_LOCATION, NULL);
	struct af_ip v6 = ip_of("2001:db8::1");
	uint32_t off;

	cr_assert_not(af_geo_db_lookup(db, &v6, &off));
	af_geo_db_close(db);
}
