/* test_mmdb_write.c - af_mmdbw: databases written to a mkdtemp directory
 * and read back with libmaxminddb (MMDB_open, MMDB_lookup_string /
 * MMDB_lookup_sockaddr, MMDB_get_value) and with auditflow's own geo hub:
 * value types, IPv4 / IPv6 / IPv4-mapped lookups, defaults and overlapping
 * networks, metadata, one copy per distinct value, reproducible bytes,
 * refused input, and MaxMind's reference test databases rebuilt from
 * their JSON sources (tests/data/geo/) answering as the originals do.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/enrich/geo.h"
#include "pipeline/enrich/mmdb_write.h"
#include "pipeline/ip.h"

#define GEO(name) AF_TEST_DATA "/geo/" name

/* A GeoIP2-City-like record: nested maps, an array, every hinted type. */
#define CITY_LONDON                                                                                \
	"{\"city\":{\"geoname_id\":2643743,\"names\":{\"en\":\"London\",\"de\":\"London\"}},"      \
	"\"continent\":{\"code\":\"EU\",\"geoname_id\":6255148},"                                  \
	"\"country\":{\"geoname_id\":2635167,\"is_in_european_union\":false,"                      \
	"\"iso_code\":\"GB\",\"names\":{\"en\":\"United Kingdom\"}},"                              \
	"\"location\":{\"accuracy_radius\":10,\"latitude\":51.5142,\"longitude\":-0.0931,"         \
	"\"metro_code\":0,\"time_zone\":\"Europe/London\"},"                                       \
	"\"subdivisions\":[{\"geoname_id\":6269131,\"iso_code\":\"ENG\","                          \
	"\"names\":{\"en\":\"England\"}}]}"
#define ASN_GOOGLE                                                                                 \
	"{\"autonomous_system_number\":15169,\"autonomous_system_organization\":\"Google Inc.\"}"

static char errstr[512];

/* ---- helpers ---- */

struct scratch {
	char dir[64];
	char path[128];
};

static void scratch_new(struct scratch *s)
{
	snprintf(s->dir, sizeof s->dir, "/tmp/af_test_mmdbw.XXXXXX");
	cr_assert_not_null(mkdtemp(s->dir), "mkdtemp: %s", strerror(errno));
}

/* s->path set to the file name in the scratch directory. */
static const char *scratch_file(struct scratch *s, const char *name)
{
	snprintf(s->path, sizeof s->path, "%s/%s", s->dir, name);
	return s->path;
}

/* How many entries the scratch directory holds. */
static unsigned scratch_count(const struct scratch *s)
{
	DIR *d = opendir(s->dir);
	struct dirent *e;
	unsigned n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void scratch_free(struct scratch *s)
{
	DIR *d = opendir(s->dir);
	struct dirent *e;
	char path[512];

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", s->dir, e->d_name);
		cr_assert_eq(unlink(path), 0, "unlink %s: %s", path, strerror(errno));
	}
	closedir(d);
	cr_assert_eq(rmdir(s->dir), 0, "rmdir %s: %s", s->dir, strerror(errno));
}

static struct af_mmdbw *writer(const char *type)
{
	struct af_mmdbw *w = NULL;

	cr_assert_eq(af_mmdbw_new(type, &w), AF_OK);
	cr_assert_not_null(w);
	return w;
}

static void insert(struct af_mmdbw *w, const char *cidr, const char *json)
{
	errstr[0] = '\0';
	cr_assert_eq(af_mmdbw_insert(w, cidr, json, errstr, sizeof errstr), AF_OK, "%s: %s", cidr,
	             errstr);
}

static void write_db(struct af_mmdbw *w, const char *path)
{
	errstr[0] = '\0';
	cr_assert_eq(af_mmdbw_write(w, path, errstr, sizeof errstr), AF_OK, "%s: %s", path, errstr);
}

static void open_db(const char *path, MMDB_s *db)
{
	int rc = MMDB_open(path, MMDB_MODE_MMAP, db);

	cr_assert_eq(rc, MMDB_SUCCESS, "MMDB_open %s: %s", path, MMDB_strerror(rc));
}

/* Write w to name in s and open it as db. */
static void write_and_open(struct af_mmdbw *w, struct scratch *s, const char *name, MMDB_s *db)
{
	write_db(w, scratch_file(s, name));
	open_db(s->path, db);
}

static MMDB_lookup_result_s lookup(const MMDB_s *db, const char *ip)
{
	int gai = 0, rc = MMDB_SUCCESS;
	MMDB_lookup_result_s res = MMDB_lookup_string(db, ip, &gai, &rc);

	cr_assert_eq(gai, 0, "%s: %s", ip, gai_strerror(gai));
	cr_assert_eq(rc, MMDB_SUCCESS, "%s: %s", ip, MMDB_strerror(rc));
	return res;
}

/* The value at the NULL-terminated path in the record found for ip. */
static MMDB_entry_data_s value_of(const MMDB_s *db, const char *ip, ...)
{
	MMDB_lookup_result_s res = lookup(db, ip);
	MMDB_entry_data_s v;
	va_list ap;
	int rc;

	cr_assert(res.found_entry, "%s: not found", ip);
	va_start(ap, ip);
	rc = MMDB_vget_value(&res.entry, &v, ap);
	va_end(ap);
	cr_assert_eq(rc, MMDB_SUCCESS, "%s: %s", ip, MMDB_strerror(rc));
	cr_assert(v.has_data, "%s: no such path", ip);
	return v;
}

/* The string at path (NULL-terminated) for ip, copied to a static buffer. */
static const char *string_of(const MMDB_s *db, const char *ip, ...)
{
	static char text[256];
	MMDB_lookup_result_s res = lookup(db, ip);
	MMDB_entry_data_s v;
	va_list ap;
	int rc;

	cr_assert(res.found_entry, "%s: not found", ip);
	va_start(ap, ip);
	rc = MMDB_vget_value(&res.entry, &v, ap);
	va_end(ap);
	cr_assert_eq(rc, MMDB_SUCCESS, "%s: %s", ip, MMDB_strerror(rc));
	cr_assert(v.has_data && v.type == MMDB_DATA_TYPE_UTF8_STRING, "%s: not a string", ip);
	cr_assert_lt(v.data_size, sizeof text);
	memcpy(text, v.utf8_string, v.data_size);
	text[v.data_size] = '\0';
	return text;
}

/* Bytes of values: libmaxminddb's data_section_size runs to the end of
 * the file, through the metadata marker (14 bytes) and the metadata. */
static size_t data_bytes(const MMDB_s *db)
{
	return db->data_section_size - db->metadata_section_size - 14;
}

static void insert_fails(struct af_mmdbw *w, const char *cidr, const char *json)
{
	errstr[0] = '\0';
	cr_assert_eq(af_mmdbw_insert(w, cidr, json, errstr, sizeof errstr), AF_E_INVALID,
	             "%s %s was accepted", cidr, json);
	cr_assert(strstr(errstr, cidr) != NULL, "errstr does not name the network: %s", errstr);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* ---- values ---- */

Test(mmdb_write, round_trips_a_city_record_with_its_geoip2_types)
{
	struct scratch s;
	struct af_mmdbw *w = writer("GeoLite2-City");
	const char *ip = "81.2.69.142";
	MMDB_entry_data_s v;
	MMDB_s db;

	scratch_new(&s);
	insert(w, "81.2.69.0/24", CITY_LONDON);
	write_and_open(w, &s, "city.mmdb", &db);
	cr_assert_str_eq(string_of(&db, ip, "city", "names", "en", NULL), "London");
	cr_assert_str_eq(string_of(&db, ip, "city", "names", "de", NULL), "London");
	cr_assert_str_eq(string_of(&db, ip, "country", "iso_code", NULL), "GB");
	cr_assert_str_eq(string_of(&db, ip, "subdivisions", "0", "iso_code", NULL), "ENG");
	v = value_of(&db, ip, "location", "latitude", NULL);
	cr_assert_eq(v.type, MMDB_DATA_TYPE_DOUBLE);
	cr_assert_eq(v.double_value, 51.5142);
	v = value_of(&db, ip, "location", "longitude", NULL);
	cr_assert_eq(v.type, MMDB_DATA_TYPE_DOUBLE);
	cr_assert_eq(v.double_value, -0.0931);
	v = value_of(&db, ip, "location", "accuracy_radius", NULL);
	cr_assert_eq(v.type, MMDB_DATA_TYPE_UINT16);
	cr_assert_eq(v.uint16, 10);
	v = value_of(&db, ip, "location", "metro_code", NULL);
	cr_assert_eq(v.type, MMDB_DATA_TYPE_UINT16);
	cr_assert_eq(v.uint16, 0);
	v = value_of(&db, ip, "city", "geoname_id", NULL);
	cr_assert_eq(v.type, MMDB_DATA_TYPE_UINT32);
	cr_assert_eq(v.uint32, 2643743);
	v = value_of(&db, ip, "country", "is_in_european_union", NULL);
	cr_assert_eq(v.type, MMDB_DATA_TYPE_BOOLEAN);
	cr_assert_eq(v.boolean, false);
	v = value_of(&db, ip, "subdivisions", NULL);
	cr_assert_eq(v.type, MMDB_DATA_TYPE_ARRAY);
	cr_assert_eq(v.data_size, 1);
	MMDB_close(&db);
	af_mmdbw_free(w);
	scratch_free(&s);
}

Test(mmdb_write, round_trips_an_asn_record_with_a_uint32_number)
{
	struct scratch s;
	struct af_mmdbw *w = writer("GeoLite2-ASN");
	MMDB_entry_data_s v;
	MMDB_s db;

	scratch_new(&s);
	insert(w, "1.0.0.0/24", ASN_GOOGLE);
	write_and_open(w, &s, "asn.mmdb", &db);
	v = value_of(&db, "1.0.0.1", "autonomous_system_number", NULL);
	cr_assert_eq(v.type, MMDB_DATA_TYPE_UINT32);
	cr_assert_eq(v.uint32, 15169);
	cr_assert_str_eq(string_of(&db, "1.0.0.1", "autonomous_system_organization", NULL),
	                 "Google Inc.");
	MMDB_close(&db);
	af_mmdbw_free(w);
	scratch_free(&s);
}

Test(mmdb_write, types_other_numbers_by_how_they_are_written)
{
	struct scratch s;
	struct af_mmdbw *w = writer("Test");
	const char *ip = "192.0.2.1";
	MMDB_entry_data_s v;
	MMDB_s db;

	scratch_new(&s);
	insert(w, "192.0.2.0/24",
	       "{\"small\":7,\"zero\":0,\"big\":5000000000,\"top\":18446744073709551615,"
	       "\"neg\":-5,\"min\":-2147483648,\"frac\":1.5,\"exp\":1e3,\"negexp\":-2.5E-1,"
	       "\"yes\":true,\"list\":[1,\"x\",false,[],{}]}");
	write_and_open(w, &s, "t.mmdb", &db);
	v = value_of(&db, ip, "small", NULL);
	cr_assert(v.type == MMDB_DATA_TYPE_UINT32 && v.uint32 == 7);
	v = value_of(&db, ip, "zero", NULL);
	cr_assert(v.type == MMDB_DATA_TYPE_UINT32 && v.uint32 == 0);
	v = value_of(&db, ip, "big", NULL);
	cr_assert(v.type == MMDB_DATA_TYPE_UINT64 && v.uint64 == 5000000000ull);
	v = value_of(&db, ip, "top", NULL);
	cr_assert(v.type == MMDB_DATA_TYPE_UINT64 && v.uint64 == UINT64_MAX);
	v = value_of(&db, ip, "neg", NULL);
	cr_assert(v.type == MMDB_DATA_TYPE_INT32 && v.int32 == -5);
	v = value_of(&db, ip, "min", NULL);
	cr_assert(v.type == MMDB_DATA_TYPE_INT32 && v.int32 == INT32_MIN);
	v = value_of(&db, ip, "frac", NULL);
	cr_assert(v.type == MMDB_DATA_TYPE_DOUBLE && v.double_value == 1.5);
	v = value_of(&db, ip, "exp", NULL);
	cr_assert(v.type == MMDB_DATA_TYPE_DOUBLE && v.double_value == 1000.0);
	v = value_of(&db, ip, "negexp", NULL);
	cr_assert(v.type == MMDB_DATA_TYPE_DOUBLE && v.double_value == -0.25);
	v = value_of(&db, ip, "yes", NULL);
	cr_assert(v.type == MMDB_DATA_TYPE_BOOLEAN && v.boolean);
	v = value_of(&db, ip, "list", NULL);
	cr_assert(v.type == MMDB_DATA_TYPE_ARRAY && v.data_size == 5);
	v = value_of(&db, ip, "list", "0", NULL);
	cr_assert(v.type == MMDB_DATA_TYPE_UINT32 && v.uint32 == 1);
	cr_assert_str_eq(string_of(&db, ip, "list", "1", NULL), "x");
	v = value_of(&db, ip, "list", "2", NULL);
	cr_assert(v.type == MMDB_DATA_TYPE_BOOLEAN && !v.boolean);
	v = value_of(&db, ip, "list", "3", NULL);
	cr_assert(v.type == MMDB_DATA_TYPE_ARRAY && v.data_size == 0);
	v = value_of(&db, ip, "list", "4", NULL);
	cr_assert(v.type == MMDB_DATA_TYPE_MAP && v.data_size == 0);
	MMDB_close(&db);
	af_mmdbw_free(w);
	scratch_free(&s);
}

Test(mmdb_write, stores_a_latitude_written_as_an_integer_as_a_double)
{
	struct scratch s;
	struct af_mmdbw *w = writer("GeoLite2-City");
	MMDB_entry_data_s v;
	MMDB_s db;

	scratch_new(&s);
	insert(w, "192.0.2.0/24", "{\"location\":{\"latitude\":47,\"longitude\":-8}}");
	write_and_open(w, &s, "city.mmdb", &db);
	v = value_of(&db, "192.0.2.9", "location", "latitude", NULL);
	cr_assert(v.type == MMDB_DATA_TYPE_DOUBLE && v.double_value == 47.0);
	v = value_of(&db, "192.0.2.9", "location", "longitude", NULL);
	cr_assert(v.type == MMDB_DATA_TYPE_DOUBLE && v.double_value == -8.0);
	MMDB_close(&db);
	af_mmdbw_free(w);
	scratch_free(&s);
}

Test(mmdb_write, refuses_a_value_that_does_not_fit_its_geoip2_type)
{
	static const char *const bad[] = {
	    "{\"location\":{\"accuracy_radius\":70000}}",
	    "{\"location\":{\"accuracy_radius\":-1}}",
	    "{\"location\":{\"accuracy_radius\":1.5}}",
	    "{\"location\":{\"accuracy_radius\":\"10\"}}",
	    "{\"location\":{\"metro_code\":65536}}",
	    "{\"city\":{\"geoname_id\":4294967296}}",
	    "{\"autonomous_system_number\":-3}",
	    "{\"autonomous_system_number\":[15169]}",
	    "{\"location\":{\"latitude\":\"51.5\"}}",
	};
	struct af_mmdbw *w = writer("GeoLite2-City");

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		insert_fails(w, "192.0.2.0/24", bad[i]);
		cr_assert(strstr(errstr, "takes") != NULL, "%s: %s", bad[i], errstr);
	}
	af_mmdbw_free(w);
}

Test(mmdb_write, decodes_string_escapes_to_utf8)
{
	struct scratch s;
	struct af_mmdbw *w = writer("Test");
	MMDB_s db;

	scratch_new(&s);
	insert(w, "192.0.2.0/24",
	       "{\"s\":\"q\\\"b\\\\s\\/n\\n\\u00e9\\u4e2d\\ud83d\\ude00\",\"raw\":\"Linköping\"}");
	write_and_open(w, &s, "t.mmdb", &db);
	cr_assert_str_eq(string_of(&db, "192.0.2.1", "s", NULL),
	                 "q\"b\\s/n\n\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80");
	cr_assert_str_eq(string_of(&db, "192.0.2.1", "raw", NULL), "Linköping");
	MMDB_close(&db);
	af_mmdbw_free(w);
	scratch_free(&s);
}

/* ---- networks ---- */

Test(mmdb_write, answers_an_ipv6_network_for_its_addresses)
{
	struct scratch s;
	struct af_mmdbw *w = writer("GeoLite2-ASN");
	MMDB_lookup_result_s res;
	MMDB_s db;

	scratch_new(&s);
	insert(w, "2001:db8::/32", "{\"autonomous_system_number\":64496}");
	insert(w, "2001:db8:1:2::/64", "{\"autonomous_system_number\":64497}");
	insert(w, "2001:db8:ffff::1", "{\"autonomous_system_number\":64498}");
	write_and_open(w, &s, "asn.mmdb", &db);
	cr_assert_eq(value_of(&db, "2001:db8::1", "autonomous_system_number", NULL).uint32, 64496);
	cr_assert_eq(value_of(&db, "2001:db8:1:2:ffff::9", "autonomous_system_number", NULL).uint32,
	             64497);
	cr_assert_eq(value_of(&db, "2001:db8:ffff::1", "autonomous_system_number", NULL).uint32,
	             64498);
	cr_assert_eq(value_of(&db, "2001:db8:ffff::2", "autonomous_system_number", NULL).uint32,
	             64496);
	res = lookup(&db, "2001:db8:1:2::1");
	cr_assert_eq(res.netmask, 64);
	res = lookup(&db, "2001:db8:ffff::1");
	cr_assert_eq(res.netmask, 128);
	MMDB_close(&db);
	af_mmdbw_free(w);
	scratch_free(&s);
}

Test(mmdb_write, answers_an_ipv4_network_for_its_ipv4_and_ipv4_mapped_forms)
{
	struct scratch s;
	struct af_mmdbw *w = writer("GeoLite2-City");
	struct sockaddr_in sin = {.sin_family = AF_INET};
	MMDB_lookup_result_s res;
	int rc = MMDB_SUCCESS;
	MMDB_s db;

	scratch_new(&s);
	insert(w, "81.2.69.0/24", CITY_LONDON);
	write_and_open(w, &s, "city.mmdb", &db);
	cr_assert_str_eq(string_of(&db, "81.2.69.142", "country", "iso_code", NULL), "GB");
	cr_assert_str_eq(string_of(&db, "::ffff:81.2.69.142", "country", "iso_code", NULL), "GB");
	cr_assert_str_eq(string_of(&db, "::81.2.69.142", "country", "iso_code", NULL), "GB");
	cr_assert_eq(inet_pton(AF_INET, "81.2.69.1", &sin.sin_addr), 1);
	res = MMDB_lookup_sockaddr(&db, (const struct sockaddr *)&sin, &rc);
	cr_assert_eq(rc, MMDB_SUCCESS);
	cr_assert(res.found_entry);
	/* libmaxminddb counts an IPv4 lookup's bits from the IPv6 root. */
	cr_assert_eq(res.netmask, 96 + 24);
	cr_assert_not(lookup(&db, "81.2.70.1").found_entry);
	cr_assert_not(lookup(&db, "::ffff:81.2.70.1").found_entry);
	MMDB_close(&db);
	af_mmdbw_free(w);
	scratch_free(&s);
}

Test(mmdb_write, takes_an_ipv4_mapped_network_as_the_ipv4_network)
{
	struct scratch s;
	struct af_mmdbw *w = writer("Test");
	MMDB_s db;

	scratch_new(&s);
	insert(w, "::ffff:198.51.100.0/120", "{\"n\":\"doc\"}");
	write_and_open(w, &s, "t.mmdb", &db);
	cr_assert_str_eq(string_of(&db, "198.51.100.77", "n", NULL), "doc");
	cr_assert_str_eq(string_of(&db, "::ffff:198.51.100.77", "n", NULL), "doc");
	cr_assert_not(lookup(&db, "198.51.101.1").found_entry);
	MMDB_close(&db);
	af_mmdbw_free(w);
	scratch_free(&s);
}

Test(mmdb_write, answers_a_default_network_where_nothing_more_specific_was_inserted)
{
	struct scratch s;
	struct af_mmdbw *w = writer("Test");
	MMDB_s db;

	scratch_new(&s);
	insert(w, "81.2.69.0/24", "{\"n\":\"v4\"}");
	insert(w, "::/0", "{\"n\":\"default\"}"); /* wins everywhere so far */
	insert(w, "81.2.69.0/24", "{\"n\":\"v4\"}");
	insert(w, "2001:db8::/32", "{\"n\":\"v6\"}");
	write_and_open(w, &s, "t.mmdb", &db);
	cr_assert_str_eq(string_of(&db, "81.2.69.1", "n", NULL), "v4");
	cr_assert_str_eq(string_of(&db, "::ffff:81.2.69.1", "n", NULL), "v4");
	cr_assert_str_eq(string_of(&db, "2001:db8::1", "n", NULL), "v6");
	cr_assert_str_eq(string_of(&db, "1.1.1.1", "n", NULL), "default");
	cr_assert_str_eq(string_of(&db, "::ffff:1.1.1.1", "n", NULL), "default");
	cr_assert_str_eq(string_of(&db, "2a00:1450::1", "n", NULL), "default");
	cr_assert_str_eq(string_of(&db, "::", "n", NULL), "default");
	MMDB_close(&db);
	af_mmdbw_free(w);
	scratch_free(&s);
}

Test(mmdb_write, an_ipv4_default_covers_ipv4_only)
{
	struct scratch s;
	struct af_mmdbw *w = writer("Test");
	MMDB_s db;

	scratch_new(&s);
	insert(w, "0.0.0.0/0", "{\"n\":\"any v4\"}");
	insert(w, "203.0.113.0/24", "{\"n\":\"doc\"}");
	write_and_open(w, &s, "t.mmdb", &db);
	cr_assert_str_eq(string_of(&db, "8.8.8.8", "n", NULL), "any v4");
	cr_assert_str_eq(string_of(&db, "::ffff:8.8.8.8", "n", NULL), "any v4");
	cr_assert_str_eq(string_of(&db, "203.0.113.5", "n", NULL), "doc");
	cr_assert_not(lookup(&db, "2a00:1450::1").found_entry);
	MMDB_close(&db);
	af_mmdbw_free(w);
	scratch_free(&s);
}

Test(mmdb_write, a_later_overlapping_insert_replaces_only_the_addresses_it_covers)
{
	struct scratch s;
	struct af_mmdbw *w = writer("Test");
	MMDB_s db;

	scratch_new(&s);
	insert(w, "10.0.0.0/8", "{\"n\":\"A\"}");
	insert(w, "10.1.0.0/16", "{\"n\":\"B\"}");
	insert(w, "10.1.2.0/24", "{\"n\":\"C\"}");
	insert(w, "10.1.0.0/17", "{\"n\":\"D\"}");
	write_and_open(w, &s, "t.mmdb", &db);
	cr_assert_str_eq(string_of(&db, "10.0.0.1", "n", NULL), "A");
	cr_assert_str_eq(string_of(&db, "10.255.255.255", "n", NULL), "A");
	cr_assert_str_eq(string_of(&db, "10.1.0.0", "n", NULL), "D");
	cr_assert_str_eq(string_of(&db, "10.1.2.3", "n", NULL), "D");
	cr_assert_str_eq(string_of(&db, "10.1.127.255", "n", NULL), "D");
	cr_assert_str_eq(string_of(&db, "10.1.128.0", "n", NULL), "B");
	cr_assert_str_eq(string_of(&db, "10.1.255.255", "n", NULL), "B");
	cr_assert_not(lookup(&db, "11.0.0.0").found_entry);
	MMDB_close(&db);
	af_mmdbw_free(w);
	scratch_free(&s);
}

Test(mmdb_write, drops_the_values_a_wider_insert_replaced_everywhere)
{
	struct scratch s;
	struct af_mmdbw *both = writer("Test");
	struct af_mmdbw *one = writer("Test");
	MMDB_s a, b;

	scratch_new(&s);
	insert(both, "10.1.2.0/24", "{\"n\":\"replaced\"}");
	insert(both, "10.0.0.0/8", "{\"n\":\"A\"}");
	insert(one, "10.0.0.0/8", "{\"n\":\"A\"}");
	write_and_open(both, &s, "both.mmdb", &a);
	write_and_open(one, &s, "one.mmdb", &b);
	cr_assert_str_eq(string_of(&a, "10.1.2.3", "n", NULL), "A");
	cr_assert_eq(data_bytes(&a), data_bytes(&b));
	cr_assert_eq(a.metadata.node_count, b.metadata.node_count);
	MMDB_close(&a);
	MMDB_close(&b);
	af_mmdbw_free(both);
	af_mmdbw_free(one);
	scratch_free(&s);
}

Test(mmdb_write, finds_nothing_for_an_address_outside_every_network)
{
	struct scratch s;
	struct af_mmdbw *w = writer("Test");
	struct af_mmdbw *empty = writer("Test");
	MMDB_s db, none;

	scratch_new(&s);
	insert(w, "81.2.69.0/24", "{\"n\":1}");
	insert(w, "2001:db8::/32", "{\"n\":2}");
	write_and_open(w, &s, "t.mmdb", &db);
	write_and_open(empty, &s, "empty.mmdb", &none);
	cr_assert_not(lookup(&db, "81.2.70.0").found_entry);
	cr_assert_not(lookup(&db, "81.2.68.255").found_entry);
	cr_assert_not(lookup(&db, "2001:db9::").found_entry);
	cr_assert_not(lookup(&db, "::ffff:81.2.68.255").found_entry);
	cr_assert_not(lookup(&none, "81.2.69.1").found_entry);
	cr_assert_not(lookup(&none, "2001:db8::1").found_entry);
	MMDB_close(&db);
	MMDB_close(&none);
	af_mmdbw_free(w);
	af_mmdbw_free(empty);
	scratch_free(&s);
}

Test(mmdb_write, writes_sibling_networks_with_one_value_as_their_parent)
{
	struct scratch s;
	struct af_mmdbw *w = writer("Test");
	MMDB_s db;

	scratch_new(&s);
	insert(w, "192.0.2.0/25", "{\"n\":\"A\"}");
	insert(w, "192.0.2.128/25", "{\"n\":\"A\"}");
	insert(w, "198.51.100.0/25", "{\"n\":\"A\"}");
	insert(w, "198.51.100.128/25", "{\"n\":\"B\"}");
	write_and_open(w, &s, "t.mmdb", &db);
	cr_assert_str_eq(string_of(&db, "192.0.2.200", "n", NULL), "A");
	cr_assert_eq(lookup(&db, "192.0.2.200").netmask, 96 + 24);
	cr_assert_str_eq(string_of(&db, "198.51.100.1", "n", NULL), "A");
	cr_assert_eq(lookup(&db, "198.51.100.1").netmask, 96 + 25);
	cr_assert_str_eq(string_of(&db, "198.51.100.129", "n", NULL), "B");
	MMDB_close(&db);
	af_mmdbw_free(w);
	scratch_free(&s);
}

/* ---- the file ---- */

Test(mmdb_write, writes_the_metadata_readers_expect)
{
	struct scratch s;
	struct af_mmdbw *w = writer("GeoIP2-Anonymous-IP");
	MMDB_description_s *d;
	MMDB_s db;

	scratch_new(&s);
	af_mmdbw_set_build_epoch(w, 1735689600);
	insert(w, "81.2.69.0/24", "{\"is_anonymous\":true}");
	write_and_open(w, &s, "anon.mmdb", &db);
	cr_assert_str_eq(db.metadata.database_type, "GeoIP2-Anonymous-IP");
	cr_assert_eq(db.metadata.ip_version, 6);
	cr_assert_eq(db.metadata.record_size, 28);
	cr_assert_eq(db.metadata.binary_format_major_version, 2);
	cr_assert_eq(db.metadata.binary_format_minor_version, 0);
	cr_assert_eq(db.metadata.build_epoch, 1735689600);
	cr_assert_eq(db.metadata.languages.count, 1);
	cr_assert_str_eq(db.metadata.languages.names[0], "en");
	cr_assert_eq(db.metadata.description.count, 1);
	d = db.metadata.description.descriptions[0];
	cr_assert_str_eq(d->language, "en");
	cr_assert_str_eq(d->description, "GeoIP2-Anonymous-IP written by auditflow");
	/* The tree is node_count 7-byte nodes, then the 16-byte separator. */
	cr_assert_eq(db.data_section - db.file_content, (ptrdiff_t)db.metadata.node_count * 7 + 16);
	/* Root, 95 nodes down to ::ffff:0:0/96 and to ::/96 (shared to
	 * bit 80), 24 for the /24. */
	cr_assert_eq(db.metadata.node_count, 1 + 80 + 2 * 15 + 24);
	MMDB_close(&db);
	af_mmdbw_free(w);
	scratch_free(&s);
}

Test(mmdb_write, uses_a_fixed_build_epoch_unless_one_is_set)
{
	struct scratch s;
	struct af_mmdbw *w = writer("Test");
	MMDB_s db;

	scratch_new(&s);
	write_and_open(w, &s, "t.mmdb", &db);
	cr_assert_eq(db.metadata.build_epoch, 1735689600); /* 2025-01-01T00:00:00Z */
	MMDB_close(&db);
	af_mmdbw_free(w);
	scratch_free(&s);
}

Test(mmdb_write, stores_a_value_shared_by_many_networks_once)
{
	struct scratch s;
	struct af_mmdbw *many = writer("GeoLite2-City");
	struct af_mmdbw *one = writer("GeoLite2-City");
	char cidr[32], json[sizeof(CITY_LONDON) + 32];
	struct stat st;
	MMDB_s a, b;

	scratch_new(&s);
	insert(one, "81.2.69.0/24", CITY_LONDON);
	for (unsigned i = 0; i < 20000; i++) {
		snprintf(cidr, sizeof cidr, "100.%u.%u.0/24", i >> 8, i & 255);
		/* Equal values written differently each time: new text, same bytes. */
		snprintf(json, sizeof json, "%*s%s", (int)(i % 7), "", CITY_LONDON);
		insert(many, cidr, json);
	}
	write_and_open(many, &s, "many.mmdb", &a);
	write_and_open(one, &s, "one.mmdb", &b);
	cr_assert_eq(data_bytes(&a), data_bytes(&b));
	cr_assert_str_eq(string_of(&a, "100.78.31.200", "city", "names", "en", NULL), "London");
	cr_assert_eq(stat(scratch_file(&s, "many.mmdb"), &st), 0);
	/* The tree dominates: far less than one value per network. */
	cr_assert_lt((size_t)st.st_size, (size_t)a.metadata.node_count * 7 + 4096);
	cr_assert_lt((size_t)st.st_size, 20000 * (sizeof(CITY_LONDON) / 4));
	MMDB_close(&a);
	MMDB_close(&b);
	af_mmdbw_free(many);
	af_mmdbw_free(one);
	scratch_free(&s);
}

/* The same sequence of inserts each call. */
static void insert_mixture(struct af_mmdbw *w)
{
	insert(w, "::/0", "{\"n\":\"default\"}");
	insert(w, "81.2.69.0/24", CITY_LONDON);
	insert(w, "2001:db8::/32", "{\"n\":\"v6\",\"x\":[1,2.5,true]}");
	insert(w, "81.2.69.128/25", "{\"n\":\"half\"}");
	insert(w, "1.0.0.0/24", ASN_GOOGLE);
	insert(w, "10.0.0.0/8", "{\"n\":-7}");
}

Test(mmdb_write, points_past_24_bits_of_record_on_both_sides_of_a_node)
{
	/* A 16.8 MB value first in the data section puts the next values'
	 * record numbers above 2^24, in the 4 bits 28-bit records keep in the
	 * middle byte of a node. */
	enum { BIG = 16800000 };
	struct scratch s;
	struct af_mmdbw *w = writer("Test");
	char *json = malloc(BIG + 16);
	MMDB_entry_data_s v;
	MMDB_s db;

	cr_assert_not_null(json);
	memcpy(json, "{\"big\":\"", 8);
	memset(json + 8, 'x', BIG);
	memcpy(json + 8 + BIG, "\"}", 3);
	scratch_new(&s);
	insert(w, "10.0.0.0/8", json);
	insert(w, "192.0.2.0/25", "{\"n\":\"left\"}");
	insert(w, "192.0.2.128/25", "{\"n\":\"right\"}");
	write_and_open(w, &s, "t.mmdb", &db);
	cr_assert_gt(data_bytes(&db), (size_t)1 << 24);
	v = value_of(&db, "10.1.2.3", "big", NULL);
	cr_assert(v.type == MMDB_DATA_TYPE_UTF8_STRING && v.data_size == BIG);
	cr_assert_str_eq(string_of(&db, "192.0.2.1", "n", NULL), "left");
	cr_assert_str_eq(string_of(&db, "192.0.2.200", "n", NULL), "right");
	MMDB_close(&db);
	free(json);
	af_mmdbw_free(w);
	scratch_free(&s);
}

Test(mmdb_write, writes_identical_bytes_for_identical_inserts)
{
	struct scratch s;
	struct af_mmdbw *w1 = writer("Test");
	struct af_mmdbw *w2 = writer("Test");
	char *a, *b, *c;
	size_t la, lb, lc;

	scratch_new(&s);
	insert_mixture(w1);
	insert_mixture(w2);
	write_db(w1, scratch_file(&s, "a.mmdb"));
	write_db(w2, scratch_file(&s, "b.mmdb"));
	write_db(w1, scratch_file(&s, "c.mmdb")); /* a second write of one writer */
	a = slurp(scratch_file(&s, "a.mmdb"), &la);
	b = slurp(scratch_file(&s, "b.mmdb"), &lb);
	c = slurp(scratch_file(&s, "c.mmdb"), &lc);
	cr_assert_eq(la, lb);
	cr_assert_eq(la, lc);
	cr_assert_eq(memcmp(a, b, la), 0);
	cr_assert_eq(memcmp(a, c, la), 0);
	free(a);
	free(b);
	free(c);
	af_mmdbw_free(w1);
	af_mmdbw_free(w2);
	scratch_free(&s);
}

Test(mmdb_write, replaces_the_file_by_rename_and_leaves_no_temporary_file)
{
	struct scratch s;
	struct af_mmdbw *w = writer("Test");
	struct stat before, after;
	MMDB_s db;

	scratch_new(&s);
	insert(w, "192.0.2.0/24", "{\"n\":\"old\"}");
	write_db(w, scratch_file(&s, "t.mmdb"));
	cr_assert_eq(stat(s.path, &before), 0);
	cr_assert_eq(before.st_mode & 0777, 0644);
	insert(w, "192.0.2.0/24", "{\"n\":\"new\"}");
	write_and_open(w, &s, "t.mmdb", &db);
	cr_assert_eq(stat(s.path, &after), 0);
	cr_assert_neq(before.st_ino, after.st_ino);
	cr_assert_str_eq(string_of(&db, "192.0.2.1", "n", NULL), "new");
	cr_assert_eq(scratch_count(&s), 1);
	MMDB_close(&db);
	af_mmdbw_free(w);
	scratch_free(&s);
}

Test(mmdb_write, reports_a_file_it_cannot_create)
{
	struct scratch s;
	struct af_mmdbw *w = writer("Test");

	scratch_new(&s);
	insert(w, "192.0.2.0/24", "{\"n\":1}");
	scratch_file(&s, "missing/t.mmdb");
	errstr[0] = '\0';
	cr_assert_eq(af_mmdbw_write(w, s.path, errstr, sizeof errstr), AF_E_IO);
	cr_assert(strstr(errstr, s.path) != NULL, "%s", errstr);
	cr_assert(strstr(errstr, strerror(ENOENT)) != NULL, "%s", errstr);
	cr_assert_eq(scratch_count(&s), 0);
	af_mmdbw_free(w);
	scratch_free(&s);
}

/* ---- refused input ---- */

Test(mmdb_write, refuses_malformed_networks)
{
	static const char *const bad[] = {
	    "",
	    "nonsense",
	    "300.1.2.3/24",
	    "1.2.3.0/33",
	    "1.2.3.4/24",
	    "1.2.3.0/",
	    "1.2.3.0/-1",
	    "1.2.3.0/024",
	    "1.2.3.0/2x",
	    "1.2.3.0/24/1",
	    "01.2.3.0/24",
	    "2001:db8::/129",
	    "2001:db8::1/32",
	    "::ffff:0:0/95",
	    "1.2.3",
	    "1.2.3.0 /24",
	    "[2001:db8::]/32",
	};
	struct af_mmdbw *w = writer("Test");

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		insert_fails(w, bad[i], "{\"n\":1}");
	af_mmdbw_free(w);
}

Test(mmdb_write, refuses_malformed_json_and_keeps_the_database_as_it_was)
{
	static const char *const bad[] = {
	    "",
	    "[1]",
	    "\"text\"",
	    "{",
	    "{\"a\":}",
	    "{\"a\" 1}",
	    "{a:1}",
	    "{\"a\":1,}",
	    "{\"a\":[1,]}",
	    "{\"a\":1}}",
	    "{\"a\":1} x",
	    "{\"a\":null}",
	    "{\"a\":tru}",
	    "{\"a\":01}",
	    "{\"a\":1.}",
	    "{\"a\":.5}",
	    "{\"a\":1e}",
	    "{\"a\":+1}",
	    "{\"a\":1e999}",
	    "{\"a\":-2147483649}",
	    "{\"a\":18446744073709551616}",
	    "{\"a\":\"x\\q\"}",
	    "{\"a\":\"\\u12\"}",
	    "{\"a\":\"\\udc00\"}",
	    "{\"a\":\"\\ud800x\"}",
	    "{\"a\":\"tab\there\"}",
	    "{\"a\":\"unterminated}",
	    "{\"a\":\"\xff\"}",
	    "{\"a\":1,\"a\":2}",
	    "{\"m\":{\"k\":1,\"k\":1}}",
	};
	struct scratch s;
	struct af_mmdbw *w = writer("Test");
	char deep[400];
	size_t n = 0;
	MMDB_s db;

	scratch_new(&s);
	insert(w, "192.0.2.0/24", "{\"n\":\"kept\"}");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		insert_fails(w, "192.0.2.0/24", bad[i]);
		cr_assert(strstr(errstr, "JSON") != NULL || strstr(errstr, "UTF-8") != NULL,
		          "%s: %s", bad[i], errstr);
	}
	/* 100 levels of nesting: beyond what the writer takes. */
	n += (size_t)snprintf(deep + n, sizeof deep - n, "{\"a\":");
	for (int i = 0; i < 100; i++)
		deep[n++] = '[';
	for (int i = 0; i < 100; i++)
		deep[n++] = ']';
	snprintf(deep + n, sizeof deep - n, "}");
	insert_fails(w, "192.0.2.0/24", deep);
	cr_assert(strstr(errstr, "nested too deeply") != NULL, "%s", errstr);
	write_and_open(w, &s, "t.mmdb", &db);
	cr_assert_str_eq(string_of(&db, "192.0.2.1", "n", NULL), "kept");
	MMDB_close(&db);
	af_mmdbw_free(w);
	scratch_free(&s);
}

/* ---- auditflow's reader ---- */

Test(mmdb_write, a_written_city_and_asn_pair_enrich_an_event_through_the_geo_hub)
{
	struct scratch s;
	struct af_mmdbw *city = writer("GeoLite2-City");
	struct af_mmdbw *asn = writer("GeoLite2-ASN");
	char city_path[128], asn_path[128];
	struct af_geo_hub_opts opts = {0};
	struct af_geo_hub *hub = NULL;
	struct af_geo_reader *r;
	struct af_event ev, ev6;

	scratch_new(&s);
	insert(city, "81.2.69.0/24", CITY_LONDON);
	insert(city, "2a02:c7f::/32",
	       "{\"country\":{\"iso_code\":\"DE\"},\"city\":{\"names\":{\"en\":\"Berlin\"}},"
	       "\"location\":{\"latitude\":52,\"longitude\":13.4,\"accuracy_radius\":200}}");
	insert(asn, "81.2.69.0/24", ASN_GOOGLE);
	insert(asn, "2a02:c7f::/32",
	       "{\"autonomous_system_number\":64500,\"autonomous_system_organization\":\"Doc\"}");
	write_db(city, scratch_file(&s, "city.mmdb"));
	snprintf(city_path, sizeof city_path, "%s", s.path);
	write_db(asn, scratch_file(&s, "asn.mmdb"));
	snprintf(asn_path, sizeof asn_path, "%s", s.path);
	opts.city = city_path;
	opts.asn = asn_path;
	cr_assert_eq(af_geo_hub_open(&opts, &hub, errstr, sizeof errstr), AF_OK, "%s", errstr);
	r = af_geo_reader_new(hub, 64);
	cr_assert_not_null(r);
	memset(&ev, 0, sizeof ev);
	memset(&ev6, 0, sizeof ev6);
	cr_assert(af_ip_parse("81.2.69.142", strlen("81.2.69.142"), &ev.src));
	cr_assert(af_ip_parse("2a02:c7f:1::9", strlen("2a02:c7f:1::9"), &ev6.src));
	af_geo_reader_enter(r);
	af_geo_enrich(r, &ev);
	af_geo_enrich(r, &ev6);
	af_geo_reader_leave(r);
	cr_assert_str_eq(ev.geo.country, "GB");
	cr_assert_str_eq(ev.geo.city, "London");
	cr_assert_float_eq(ev.geo.lat, 51.5142, 1e-9);
	cr_assert_float_eq(ev.geo.lon, -0.0931, 1e-9);
	cr_assert_eq(ev.geo.radius_km, 10);
	cr_assert_eq(ev.geo.asn, 15169);
	cr_assert_str_eq(ev.geo.as_org, "Google Inc.");
	cr_assert(ev.geo.flags & AF_GEO_FOUND);
	cr_assert(ev.geo.flags & AF_GEO_HAS_LOCATION);
	cr_assert_str_eq(ev6.geo.country, "DE");
	cr_assert_str_eq(ev6.geo.city, "Berlin");
	cr_assert_float_eq(ev6.geo.lat, 52.0, 1e-9);
	cr_assert_eq(ev6.geo.radius_km, 200);
	cr_assert_eq(ev6.geo.asn, 64500);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
	af_mmdbw_free(city);
	af_mmdbw_free(asn);
	scratch_free(&s);
}

Test(mmdb_write, a_written_anonymous_ip_database_sets_the_geo_hub_flags)
{
	struct scratch s;
	struct af_mmdbw *anon = writer("GeoIP2-Anonymous-IP");
	struct af_geo_hub_opts opts = {0};
	struct af_geo_hub *hub = NULL;
	struct af_geo_reader *r;
	struct af_event ev;

	scratch_new(&s);
	insert(anon, "81.2.69.0/24",
	       "{\"is_anonymous\":true,\"is_anonymous_vpn\":true,\"is_hosting_provider\":false}");
	write_db(anon, scratch_file(&s, "anon.mmdb"));
	opts.anon = s.path;
	cr_assert_eq(af_geo_hub_open(&opts, &hub, errstr, sizeof errstr), AF_OK, "%s", errstr);
	r = af_geo_reader_new(hub, 64);
	cr_assert_not_null(r);
	memset(&ev, 0, sizeof ev);
	cr_assert(af_ip_parse("81.2.69.7", strlen("81.2.69.7"), &ev.src));
	af_geo_reader_enter(r);
	af_geo_enrich(r, &ev);
	af_geo_reader_leave(r);
	cr_assert_eq(ev.geo.flags & (AF_GEO_ANONYMOUS | AF_GEO_VPN | AF_GEO_HOSTING),
	             AF_GEO_ANONYMOUS | AF_GEO_VPN);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
	af_mmdbw_free(anon);
	scratch_free(&s);
}

/* ---- MaxMind's reference databases, rebuilt ---- */

static int cmp_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A record as text with its types, map keys sorted, so two databases that
 * order keys differently compare equal. Returns the entry after it. */
static MMDB_entry_data_list_s *render(MMDB_entry_data_list_s *e, FILE *out)
{
	MMDB_entry_data_s *d = &e->entry_data;
	uint32_t n = d->data_size;

	switch (d->type) {
	case MMDB_DATA_TYPE_MAP: {
		char **parts = calloc(n ? n : 1, sizeof(*parts));

		cr_assert_not_null(parts);
		e = e->next;
		for (uint32_t i = 0; i < n; i++) {
			size_t len;
			FILE *m = open_memstream(&parts[i], &len);

			fprintf(m, "%.*s=", (int)e->entry_data.data_size,
			        e->entry_data.utf8_string);
			e = render(e->next, m);
			fclose(m);
		}
		qsort(parts, n, sizeof(*parts), cmp_text);
		fputc('{', out);
		for (uint32_t i = 0; i < n; i++) {
			fprintf(out, "%s,", parts[i]);
			free(parts[i]);
		}
		fputc('}', out);
		free(parts);
		return e;
	}
	case MMDB_DATA_TYPE_ARRAY:
		e = e->next;
		fputc('[', out);
		for (uint32_t i = 0; i < n; i++) {
			e = render(e, out);
			fputc(',', out);
		}
		fputc(']', out);
		return e;
	case MMDB_DATA_TYPE_UTF8_STRING: fprintf(out, "s:%.*s", (int)n, d->utf8_string); break;
	case MMDB_DATA_TYPE_DOUBLE: fprintf(out, "d:%.17g", d->double_value); break;
	case MMDB_DATA_TYPE_FLOAT: fprintf(out, "f:%.9g", (double)d->float_value); break;
	case MMDB_DATA_TYPE_UINT16: fprintf(out, "u16:%u", (unsigned)d->uint16); break;
	case MMDB_DATA_TYPE_UINT32: fprintf(out, "u32:%u", (unsigned)d->uint32); break;
	case MMDB_DATA_TYPE_INT32: fprintf(out, "i32:%d", (int)d->int32); break;
	case MMDB_DATA_TYPE_UINT64: fprintf(out, "u64:%llu", (unsigned long long)d->uint64); break;
	case MMDB_DATA_TYPE_BOOLEAN: fprintf(out, "b:%d", (int)d->boolean); break;
	default: fprintf(out, "type%u", (unsigned)d->type); break;
	}
	return e->next;
}

/* The answer of db for ip as text: "-" when not found. Caller frees. */
static char *answer(const MMDB_s *db, const char *ip)
{
	MMDB_lookup_result_s res = lookup(db, ip);
	MMDB_entry_data_list_s *list = NULL;
	char *text = NULL;
	size_t len;
	FILE *m;
	int rc;

	if (!res.found_entry)
		return strdup("-");
	rc = MMDB_get_entry_data_list(&res.entry, &list);
	cr_assert_eq(rc, MMDB_SUCCESS, "%s: %s", ip, MMDB_strerror(rc));
	m = open_memstream(&text, &len);
	render(list, m);
	fprintf(m, " /%u", (unsigned)res.netmask);
	fclose(m);
	MMDB_free_entry_data_list(list);
	return text;
}

/* The first and last address of the network cidr (IPv6 text for both
 * families, as the reference sources write ::a.b.c.d/n too). */
static void network_ends(const char *cidr, char first[64], char last[64])
{
	char addr[64];
	const char *slash = strchr(cidr, '/');
	uint8_t a[16] = {0}, b[16];
	unsigned plen, base = 0;

	cr_assert_not_null(slash, "%s", cidr);
	snprintf(addr, sizeof addr, "%.*s", (int)(slash - cidr), cidr);
	plen = (unsigned)atoi(slash + 1);
	if (inet_pton(AF_INET, addr, a + 12) == 1)
		base = 96;
	else
		cr_assert_eq(inet_pton(AF_INET6, addr, a), 1, "%s", cidr);
	memcpy(b, a, 16);
	for (unsigned i = base + plen; i < 128; i++)
		b[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	cr_assert_not_null(inet_ntop(AF_INET6, a, first, 64));
	cr_assert_not_null(inet_ntop(AF_INET6, b, last, 64));
}

/* Rebuild name.mmdb from name.json (an array of {"NETWORK": {VALUE}}
 * objects), then compare both databases' answers for the first and last
 * address of every network, in IPv6, IPv4 and IPv4-mapped form. Returns
 * the number of networks. */
static unsigned compare_with_reference(const char *name, const char *type)
{
	struct scratch s;
	struct af_mmdbw *w = writer(type);
	char path[256], first[64], last[64];
	char **nets = NULL;
	unsigned n = 0, cap = 0, checked = 0;
	size_t len;
	char *text, *p;
	MMDB_s ref, ours;

	snprintf(path, sizeof path, GEO("%s.json"), name);
	text = slurp(path, &len);
	for (p = text; (p = strchr(p, '{')) != NULL;) {
		char *key = strchr(p, '"') + 1, *end = strchr(key, '"'), *val;
		int depth = 0;
		bool in_string = false;

		*end = '\0';
		val = strchr(end + 1, '{');
		/* The value object: to its matching brace, strings skipped. */
		for (p = val;; p++) {
			if (in_string) {
				if (*p == '\\')
					p++;
				else if (*p == '"')
					in_string = false;
			} else if (*p == '"') {
				in_string = true;
			} else if (*p == '{' || *p == '[') {
				depth++;
			} else if ((*p == '}' || *p == ']') && --depth == 0) {
				break;
			}
		}
		*++p = '\0';
		insert(w, key, val);
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			nets = realloc(nets, cap * sizeof(*nets));
			cr_assert_not_null(nets);
		}
		nets[n++] = key;
		p++;
	}
	scratch_new(&s);
	write_and_open(w, &s, "rebuilt.mmdb", &ours);
	snprintf(path, sizeof path, GEO("%s.mmdb"), name);
	open_db(path, &ref);
	cr_assert_str_eq(ours.metadata.database_type, ref.metadata.database_type);
	for (unsigned i = 0; i < n; i++) {
		network_ends(nets[i], first, last);
		for (int end = 0; end < 2; end++) {
			const char *ip = end ? last : first;
			char forms[3][80];
			int nforms = 1;

			snprintf(forms[0], sizeof forms[0], "%s", ip);
			if (strncmp(ip, "::", 2) == 0 && strchr(ip, '.') != NULL) {
				snprintf(forms[1], sizeof forms[1], "%s", ip + 2);
				snprintf(forms[2], sizeof forms[2], "::ffff:%s", ip + 2);
				nforms = 3;
			}
			for (int f = 0; f < nforms; f++) {
				char *want = answer(&ref, forms[f]);
				char *got = answer(&ours, forms[f]);

				cr_assert_str_eq(got, want, "%s (network %s): got %s, want %s",
				                 forms[f], nets[i], got, want);
				free(want);
				free(got);
				checked++;
			}
		}
	}
	cr_assert_geq(checked, 2 * n);
	MMDB_close(&ref);
	MMDB_close(&ours);
	free(nets);
	free(text);
	af_mmdbw_free(w);
	scratch_free(&s);
	return n;
}

Test(mmdb_write, rebuilds_maxminds_city_test_database_with_the_same_answers)
{
	cr_assert_eq(compare_with_reference("GeoIP2-City-Test", "GeoIP2-City"), 251);
}

Test(mmdb_write, rebuilds_maxminds_asn_test_database_with_the_same_answers)
{
	cr_assert_eq(compare_with_reference("GeoLite2-ASN-Test", "GeoLite2-ASN"), 720);
}

Test(mmdb_write, rebuilds_maxminds_anonymous_ip_test_database_with_the_same_answers)
{
	cr_assert_eq(compare_with_reference("GeoIP2-Anonymous-IP-Test", "GeoIP2-Anonymous-IP"), 12);
}
