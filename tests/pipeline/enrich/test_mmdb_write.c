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
#include "tests/sinks/sinks_test.h"

#define GEO(name)  AF_TEST_DATA "/geo/" name
#define NELEM(arr) (sizeof(arr) / sizeof((arr)[0]))

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

/* ---- helpers: scratch directory, writer ---- */

/* A mkdtemp directory that may hold several files (a database, its
 * replacement, a writer's temporary file); freed with all it holds. */
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

static void insert_fails(struct af_mmdbw *w, const char *cidr, const char *json)
{
	errstr[0] = '\0';
	cr_assert_eq(af_mmdbw_insert(w, cidr, json, errstr, sizeof errstr), AF_E_INVALID,
	             "%s %s was accepted", cidr, json);
	cr_assert(strstr(errstr, cidr) != NULL, "errstr does not name the network: %s", errstr);
}

/* A network and its value, inserted in table order. */
struct net {
	const char *cidr;
	const char *json;
};

static void insert_all(struct af_mmdbw *w, const struct net *nets, size_t n)
{
	for (size_t i = 0; i < n; i++)
		insert(w, nets[i].cidr, nets[i].json);
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

/* A written database, open, in a scratch directory of its own. */
struct built {
	struct scratch s;
	MMDB_s db;
};

/* Write w to t.mmdb (b->s.path) in a new scratch directory and open it. */
static void open_written(struct built *b, struct af_mmdbw *w)
{
	scratch_new(&b->s);
	write_db(w, scratch_file(&b->s, "t.mmdb"));
	open_db(b->s.path, &b->db);
}

/* A database of type holding nets, written and opened. */
static void build(struct built *b, const char *type, const struct net *nets, size_t n)
{
	struct af_mmdbw *w = writer(type);

	insert_all(w, nets, n);
	open_written(b, w);
	af_mmdbw_free(w);
}

static void built_close(struct built *b)
{
	MMDB_close(&b->db);
	scratch_free(&b->s);
}

/* ---- helpers: reading back ---- */

static MMDB_lookup_result_s lookup(const MMDB_s *db, const char *ip)
{
	int gai = 0, rc = MMDB_SUCCESS;
	MMDB_lookup_result_s res = MMDB_lookup_string(db, ip, &gai, &rc);

	cr_assert_eq(gai, 0, "%s: %s", ip, gai_strerror(gai));
	cr_assert_eq(rc, MMDB_SUCCESS, "%s: %s", ip, MMDB_strerror(rc));
	return res;
}

/* The value at path (ap, NULL-terminated) in the record found for ip,
 * which must be of type (an MMDB_DATA_TYPE_*). */
static MMDB_entry_data_s value_va(const MMDB_s *db, const char *ip, uint32_t type, va_list ap)
{
	MMDB_lookup_result_s res = lookup(db, ip);
	MMDB_entry_data_s v;
	int rc;

	cr_assert(res.found_entry, "%s: not found", ip);
	rc = MMDB_vget_value(&res.entry, &v, ap);
	cr_assert_eq(rc, MMDB_SUCCESS, "%s: %s", ip, MMDB_strerror(rc));
	cr_assert(v.has_data, "%s: no such path", ip);
	cr_assert_eq(v.type, type, "%s: type %u, want %u", ip, (unsigned)v.type, (unsigned)type);
	return v;
}

/* The value of type at the NULL-terminated path for ip. */
static MMDB_entry_data_s value_of(const MMDB_s *db, const char *ip, uint32_t type, ...)
{
	MMDB_entry_data_s v;
	va_list ap;

	va_start(ap, type);
	v = value_va(db, ip, type, ap);
	va_end(ap);
	return v;
}

/* The string at path (NULL-terminated) for ip, copied to a static buffer. */
static const char *string_of(const MMDB_s *db, const char *ip, ...)
{
	static char text[256];
	MMDB_entry_data_s v;
	va_list ap;

	va_start(ap, ip);
	v = value_va(db, ip, MMDB_DATA_TYPE_UTF8_STRING, ap);
	va_end(ap);
	cr_assert_lt(v.data_size, sizeof text);
	memcpy(text, v.utf8_string, v.data_size);
	text[v.data_size] = '\0';
	return text;
}

/* An address and the "n" of the record it finds; n NULL: no record. */
struct answer {
	const char *ip;
	const char *n;
};

static void expect_answers(const MMDB_s *db, const struct answer *a, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (a[i].n == NULL)
			cr_assert_not(lookup(db, a[i].ip).found_entry, "%s: found", a[i].ip);
		else
			cr_assert_str_eq(string_of(db, a[i].ip, "n", NULL), a[i].n, "for %s",
			                 a[i].ip);
	}
}

/* A "Test" database of nets answers each of want. */
static void expect_db(const struct net *nets, size_t nnets, const struct answer *want, size_t nwant)
{
	struct built b;

	build(&b, "Test", nets, nnets);
	expect_answers(&b.db, want, nwant);
	built_close(&b);
}

/* Bytes of values: libmaxminddb's data_section_size runs to the end of
 * the file, through the metadata marker (14 bytes) and the metadata. */
static size_t data_bytes(const MMDB_s *db)
{
	return db->data_section_size - db->metadata_section_size - 14;
}

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

/* The answer of db for ip as text (the record rendered, then " /netmask");
 * "-" when not found. Caller frees. */
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

/* The geo facts a hub opened with opts gives an event from ip. */
static struct af_geo geo_of(const struct af_geo_hub_opts *opts, const char *ip)
{
	struct af_geo_hub *hub = NULL;
	struct af_geo_reader *r;
	struct af_event ev;

	cr_assert_eq(af_geo_hub_open(opts, &hub, errstr, sizeof errstr), AF_OK, "%s", errstr);
	r = af_geo_reader_new(hub, 64);
	cr_assert_not_null(r);
	memset(&ev, 0, sizeof ev);
	cr_assert(af_ip_parse(ip, strlen(ip), &ev.src), "%s", ip);
	af_geo_reader_enter(r);
	af_geo_enrich(r, &ev);
	af_geo_reader_leave(r);
	af_geo_reader_free(r);
	af_geo_hub_close(hub);
	return ev.geo;
}

/* g's facts as one line of text, to compare them all at once: 12
 * significant digits keep the coordinates as exact as a 1e-9 tolerance. */
static const char *geo_text(const struct af_geo *g)
{
	static char text[256];

	snprintf(text, sizeof text, "%s|%s|%.12g,%.12g|%u km|AS%u %s", g->country, g->city, g->lat,
	         g->lon, (unsigned)g->radius_km, (unsigned)g->asn, g->as_org);
	return text;
}

/* ---- values ---- */

Test(mmdb_write, round_trips_a_city_record_with_its_geoip2_types)
{
	static const struct net nets[] = {{"81.2.69.0/24", CITY_LONDON}};
	const char *ip = "81.2.69.142";
	struct built b;
	const MMDB_s *db = &b.db;

	build(&b, "GeoLite2-City", nets, NELEM(nets));
	cr_assert_str_eq(string_of(db, ip, "city", "names", "en", NULL), "London");
	cr_assert_str_eq(string_of(db, ip, "city", "names", "de", NULL), "London");
	cr_assert_str_eq(string_of(db, ip, "country", "iso_code", NULL), "GB");
	cr_assert_str_eq(string_of(db, ip, "subdivisions", "0", "iso_code", NULL), "ENG");
	cr_assert_eq(
	    value_of(db, ip, MMDB_DATA_TYPE_DOUBLE, "location", "latitude", NULL).double_value,
	    51.5142);
	cr_assert_eq(
	    value_of(db, ip, MMDB_DATA_TYPE_DOUBLE, "location", "longitude", NULL).double_value,
	    -0.0931);
	cr_assert_eq(
	    value_of(db, ip, MMDB_DATA_TYPE_UINT16, "location", "accuracy_radius", NULL).uint16,
	    10);
	cr_assert_eq(value_of(db, ip, MMDB_DATA_TYPE_UINT16, "location", "metro_code", NULL).uint16,
	             0);
	cr_assert_eq(value_of(db, ip, MMDB_DATA_TYPE_UINT32, "city", "geoname_id", NULL).uint32,
	             2643743);
	cr_assert_not(
	    value_of(db, ip, MMDB_DATA_TYPE_BOOLEAN, "country", "is_in_european_union", NULL)
	        .boolean);
	cr_assert_eq(value_of(db, ip, MMDB_DATA_TYPE_ARRAY, "subdivisions", NULL).data_size, 1);
	built_close(&b);
}

Test(mmdb_write, round_trips_an_asn_record_with_a_uint32_number)
{
	static const struct net nets[] = {{"1.0.0.0/24", ASN_GOOGLE}};
	struct built b;

	build(&b, "GeoLite2-ASN", nets, NELEM(nets));
	cr_assert_eq(
	    value_of(&b.db, "1.0.0.1", MMDB_DATA_TYPE_UINT32, "autonomous_system_number", NULL)
	        .uint32,
	    15169);
	cr_assert_str_eq(string_of(&b.db, "1.0.0.1", "autonomous_system_organization", NULL),
	                 "Google Inc.");
	built_close(&b);
}

Test(mmdb_write, types_other_numbers_by_how_they_are_written)
{
	static const struct net nets[] = {
	    {"192.0.2.0/24",
	     "{\"small\":7,\"zero\":0,\"big\":5000000000,\"top\":18446744073709551615,"
	     "\"neg\":-5,\"min\":-2147483648,\"frac\":1.5,\"exp\":1e3,\"negexp\":-2.5E-1,"
	     "\"yes\":true,\"list\":[1,\"x\",false,[],{}]}"},
	};
	struct built b;
	char *got;

	build(&b, "Test", nets, NELEM(nets));
	/* Every value with its type, keys sorted; /120: the /24 from the
	 * IPv6 root. */
	got = answer(&b.db, "192.0.2.1");
	cr_assert_str_eq(got, "{big=u64:5000000000,exp=d:1000,frac=d:1.5,"
	                      "list=[u32:1,s:x,b:0,[],{},],min=i32:-2147483648,neg=i32:-5,"
	                      "negexp=d:-0.25,small=u32:7,top=u64:18446744073709551615,yes=b:1,"
	                      "zero=u32:0,} /120");
	free(got);
	built_close(&b);
}

Test(mmdb_write, stores_a_latitude_written_as_an_integer_as_a_double)
{
	static const struct net nets[] = {
	    {"192.0.2.0/24", "{\"location\":{\"latitude\":47,\"longitude\":-8}}"},
	};
	struct built b;
	char *got;

	build(&b, "GeoLite2-City", nets, NELEM(nets));
	got = answer(&b.db, "192.0.2.9");
	cr_assert_str_eq(got, "{location={latitude=d:47,longitude=d:-8,},} /120");
	free(got);
	built_close(&b);
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

	for (size_t i = 0; i < NELEM(bad); i++) {
		insert_fails(w, "192.0.2.0/24", bad[i]);
		cr_assert(strstr(errstr, "takes") != NULL, "%s: %s", bad[i], errstr);
	}
	af_mmdbw_free(w);
}

Test(mmdb_write, decodes_string_escapes_to_utf8)
{
	static const struct net nets[] = {
	    {"192.0.2.0/24",
	     "{\"s\":\"q\\\"b\\\\s\\/n\\n\\u00e9\\u4e2d\\ud83d\\ude00\",\"raw\":\"Linköping\"}"},
	};
	struct built b;

	build(&b, "Test", nets, NELEM(nets));
	cr_assert_str_eq(string_of(&b.db, "192.0.2.1", "s", NULL),
	                 "q\"b\\s/n\n\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80");
	cr_assert_str_eq(string_of(&b.db, "192.0.2.1", "raw", NULL), "Linköping");
	built_close(&b);
}

/* ---- networks ---- */

Test(mmdb_write, answers_an_ipv6_network_for_its_addresses)
{
	static const struct net nets[] = {
	    {"2001:db8::/32", "{\"autonomous_system_number\":64496}"},
	    {"2001:db8:1:2::/64", "{\"autonomous_system_number\":64497}"},
	    {"2001:db8:ffff::1", "{\"autonomous_system_number\":64498}"},
	};
	static const struct {
		const char *ip;
		uint32_t asn;
		uint16_t netmask; /* 0: not checked */
	} want[] = {
	    {"2001:db8::1", 64496, 0},      {"2001:db8:1:2:ffff::9", 64497, 0},
	    {"2001:db8:1:2::1", 64497, 64}, {"2001:db8:ffff::1", 64498, 128},
	    {"2001:db8:ffff::2", 64496, 0},
	};
	struct built b;

	build(&b, "GeoLite2-ASN", nets, NELEM(nets));
	for (size_t i = 0; i < NELEM(want); i++) {
		const char *ip = want[i].ip;

		cr_assert_eq(
		    value_of(&b.db, ip, MMDB_DATA_TYPE_UINT32, "autonomous_system_number", NULL)
		        .uint32,
		    want[i].asn, "%s", ip);
		if (want[i].netmask != 0)
			cr_assert_eq(lookup(&b.db, ip).netmask, want[i].netmask, "%s", ip);
	}
	built_close(&b);
}

Test(mmdb_write, answers_an_ipv4_network_for_its_ipv4_and_ipv4_mapped_forms)
{
	static const struct net nets[] = {{"81.2.69.0/24", CITY_LONDON}};
	struct sockaddr_in sin = {.sin_family = AF_INET};
	MMDB_lookup_result_s res;
	int rc = MMDB_SUCCESS;
	struct built b;

	build(&b, "GeoLite2-City", nets, NELEM(nets));
	cr_assert_str_eq(string_of(&b.db, "81.2.69.142", "country", "iso_code", NULL), "GB");
	cr_assert_str_eq(string_of(&b.db, "::ffff:81.2.69.142", "country", "iso_code", NULL), "GB");
	cr_assert_str_eq(string_of(&b.db, "::81.2.69.142", "country", "iso_code", NULL), "GB");
	cr_assert_eq(inet_pton(AF_INET, "81.2.69.1", &sin.sin_addr), 1);
	res = MMDB_lookup_sockaddr(&b.db, (const struct sockaddr *)&sin, &rc);
	cr_assert_eq(rc, MMDB_SUCCESS);
	cr_assert(res.found_entry);
	/* libmaxminddb counts an IPv4 lookup's bits from the IPv6 root. */
	cr_assert_eq(res.netmask, 96 + 24);
	cr_assert_not(lookup(&b.db, "81.2.70.1").found_entry);
	cr_assert_not(lookup(&b.db, "::ffff:81.2.70.1").found_entry);
	built_close(&b);
}

Test(mmdb_write, takes_an_ipv4_mapped_network_as_the_ipv4_network)
{
	static const struct net nets[] = {{"::ffff:198.51.100.0/120", "{\"n\":\"doc\"}"}};
	static const struct answer want[] = {
	    {"198.51.100.77", "doc"},
	    {"::ffff:198.51.100.77", "doc"},
	    {"198.51.101.1", NULL},
	};

	expect_db(nets, NELEM(nets), want, NELEM(want));
}

Test(mmdb_write, answers_a_default_network_where_nothing_more_specific_was_inserted)
{
	static const struct net nets[] = {
	    {"81.2.69.0/24", "{\"n\":\"v4\"}"},
	    {"::/0", "{\"n\":\"default\"}"}, /* wins everywhere so far */
	    {"81.2.69.0/24", "{\"n\":\"v4\"}"},
	    {"2001:db8::/32", "{\"n\":\"v6\"}"},
	};
	static const struct answer want[] = {
	    {"81.2.69.1", "v4"},    {"::ffff:81.2.69.1", "v4"},    {"2001:db8::1", "v6"},
	    {"1.1.1.1", "default"}, {"::ffff:1.1.1.1", "default"}, {"2a00:1450::1", "default"},
	    {"::", "default"},
	};

	expect_db(nets, NELEM(nets), want, NELEM(want));
}

Test(mmdb_write, an_ipv4_default_covers_ipv4_only)
{
	static const struct net nets[] = {
	    {"0.0.0.0/0", "{\"n\":\"any v4\"}"},
	    {"203.0.113.0/24", "{\"n\":\"doc\"}"},
	};
	static const struct answer want[] = {
	    {"8.8.8.8", "any v4"},
	    {"::ffff:8.8.8.8", "any v4"},
	    {"203.0.113.5", "doc"},
	    {"2a00:1450::1", NULL},
	};

	expect_db(nets, NELEM(nets), want, NELEM(want));
}

Test(mmdb_write, a_later_overlapping_insert_replaces_only_the_addresses_it_covers)
{
	static const struct net nets[] = {
	    {"10.0.0.0/8", "{\"n\":\"A\"}"},
	    {"10.1.0.0/16", "{\"n\":\"B\"}"},
	    {"10.1.2.0/24", "{\"n\":\"C\"}"},
	    {"10.1.0.0/17", "{\"n\":\"D\"}"},
	};
	static const struct answer want[] = {
	    {"10.0.0.1", "A"},     {"10.255.255.255", "A"}, {"10.1.0.0", "D"},
	    {"10.1.2.3", "D"},     {"10.1.127.255", "D"},   {"10.1.128.0", "B"},
	    {"10.1.255.255", "B"}, {"11.0.0.0", NULL},
	};

	expect_db(nets, NELEM(nets), want, NELEM(want));
}

Test(mmdb_write, drops_the_values_a_wider_insert_replaced_everywhere)
{
	static const struct net both_nets[] = {
	    {"10.1.2.0/24", "{\"n\":\"replaced\"}"},
	    {"10.0.0.0/8", "{\"n\":\"A\"}"},
	};
	static const struct answer want[] = {{"10.1.2.3", "A"}};
	struct built both, one;

	build(&both, "Test", both_nets, NELEM(both_nets));
	build(&one, "Test", both_nets + 1, 1); /* the wider insert alone */
	expect_answers(&both.db, want, NELEM(want));
	cr_assert_eq(data_bytes(&both.db), data_bytes(&one.db));
	cr_assert_eq(both.db.metadata.node_count, one.db.metadata.node_count);
	built_close(&both);
	built_close(&one);
}

Test(mmdb_write, finds_nothing_for_an_address_outside_every_network)
{
	static const struct net nets[] = {
	    {"81.2.69.0/24", "{\"n\":1}"},
	    {"2001:db8::/32", "{\"n\":2}"},
	};
	static const struct answer outside[] = {
	    {"81.2.70.0", NULL},
	    {"81.2.68.255", NULL},
	    {"2001:db9::", NULL},
	    {"::ffff:81.2.68.255", NULL},
	};
	static const struct answer anywhere[] = {{"81.2.69.1", NULL}, {"2001:db8::1", NULL}};

	expect_db(nets, NELEM(nets), outside, NELEM(outside));
	expect_db(NULL, 0, anywhere, NELEM(anywhere));
}

Test(mmdb_write, writes_sibling_networks_with_one_value_as_their_parent)
{
	static const struct net nets[] = {
	    {"192.0.2.0/25", "{\"n\":\"A\"}"},
	    {"192.0.2.128/25", "{\"n\":\"A\"}"},
	    {"198.51.100.0/25", "{\"n\":\"A\"}"},
	    {"198.51.100.128/25", "{\"n\":\"B\"}"},
	};
	static const struct answer want[] = {
	    {"192.0.2.200", "A"},
	    {"198.51.100.1", "A"},
	    {"198.51.100.129", "B"},
	};
	struct built b;

	build(&b, "Test", nets, NELEM(nets));
	expect_answers(&b.db, want, NELEM(want));
	cr_assert_eq(lookup(&b.db, "192.0.2.200").netmask, 96 + 24);
	cr_assert_eq(lookup(&b.db, "198.51.100.1").netmask, 96 + 25);
	built_close(&b);
}

/* ---- the file ---- */

Test(mmdb_write, writes_the_metadata_readers_expect)
{
	struct af_mmdbw *w = writer("GeoIP2-Anonymous-IP");
	const MMDB_metadata_s *m;
	MMDB_description_s *d;
	struct built b;

	af_mmdbw_set_build_epoch(w, 1735689600);
	insert(w, "81.2.69.0/24", "{\"is_anonymous\":true}");
	open_written(&b, w);
	m = &b.db.metadata;
	cr_assert_str_eq(m->database_type, "GeoIP2-Anonymous-IP");
	cr_assert_eq(m->ip_version, 6);
	cr_assert_eq(m->record_size, 28);
	cr_assert_eq(m->binary_format_major_version, 2);
	cr_assert_eq(m->binary_format_minor_version, 0);
	cr_assert_eq(m->build_epoch, 1735689600);
	cr_assert_eq(m->languages.count, 1);
	cr_assert_str_eq(m->languages.names[0], "en");
	cr_assert_eq(m->description.count, 1);
	d = m->description.descriptions[0];
	cr_assert_str_eq(d->language, "en");
	cr_assert_str_eq(d->description, "GeoIP2-Anonymous-IP written by auditflow");
	/* The tree is node_count 7-byte nodes, then the 16-byte separator. */
	cr_assert_eq(b.db.data_section - b.db.file_content, (ptrdiff_t)m->node_count * 7 + 16);
	/* Root, 95 nodes down to ::ffff:0:0/96 and to ::/96 (shared to
	 * bit 80), 24 for the /24. */
	cr_assert_eq(m->node_count, 1 + 80 + 2 * 15 + 24);
	built_close(&b);
	af_mmdbw_free(w);
}

Test(mmdb_write, uses_a_fixed_build_epoch_unless_one_is_set)
{
	struct built b;

	build(&b, "Test", NULL, 0);
	cr_assert_eq(b.db.metadata.build_epoch, 1735689600); /* 2025-01-01T00:00:00Z */
	built_close(&b);
}

Test(mmdb_write, stores_a_value_shared_by_many_networks_once)
{
	static const struct net nets[] = {{"81.2.69.0/24", CITY_LONDON}};
	struct af_mmdbw *many = writer("GeoLite2-City");
	char cidr[32], json[sizeof(CITY_LONDON) + 32];
	struct built a, one;
	struct stat st;

	for (unsigned i = 0; i < 20000; i++) {
		snprintf(cidr, sizeof cidr, "100.%u.%u.0/24", i >> 8, i & 255);
		/* Equal values written differently each time: new text, same bytes. */
		snprintf(json, sizeof json, "%*s%s", (int)(i % 7), "", CITY_LONDON);
		insert(many, cidr, json);
	}
	open_written(&a, many);
	build(&one, "GeoLite2-City", nets, NELEM(nets));
	cr_assert_eq(data_bytes(&a.db), data_bytes(&one.db));
	cr_assert_str_eq(string_of(&a.db, "100.78.31.200", "city", "names", "en", NULL), "London");
	cr_assert_eq(stat(a.s.path, &st), 0);
	/* The tree dominates: far less than one value per network. */
	cr_assert_lt((size_t)st.st_size, (size_t)a.db.metadata.node_count * 7 + 4096);
	cr_assert_lt((size_t)st.st_size, 20000 * (sizeof(CITY_LONDON) / 4));
	built_close(&a);
	built_close(&one);
	af_mmdbw_free(many);
}

Test(mmdb_write, points_past_24_bits_of_record_on_both_sides_of_a_node)
{
	/* A 16.8 MB value first in the data section puts the next values'
	 * record numbers above 2^24, in the 4 bits 28-bit records keep in the
	 * middle byte of a node. */
	enum { BIG = 16800000 };
	char *json = malloc(BIG + 16);
	struct net nets[] = {
	    {"10.0.0.0/8", json},
	    {"192.0.2.0/25", "{\"n\":\"left\"}"},
	    {"192.0.2.128/25", "{\"n\":\"right\"}"},
	};
	static const struct answer want[] = {{"192.0.2.1", "left"}, {"192.0.2.200", "right"}};
	struct built b;

	cr_assert_not_null(json);
	memcpy(json, "{\"big\":\"", 8);
	memset(json + 8, 'x', BIG);
	memcpy(json + 8 + BIG, "\"}", 3);
	build(&b, "Test", nets, NELEM(nets));
	cr_assert_gt(data_bytes(&b.db), (size_t)1 << 24);
	cr_assert_eq(value_of(&b.db, "10.1.2.3", MMDB_DATA_TYPE_UTF8_STRING, "big", NULL).data_size,
	             BIG);
	expect_answers(&b.db, want, NELEM(want));
	built_close(&b);
	free(json);
}

/* The same sequence of inserts each call. */
static void insert_mixture(struct af_mmdbw *w)
{
	static const struct net nets[] = {
	    {"::/0", "{\"n\":\"default\"}"},
	    {"81.2.69.0/24", CITY_LONDON},
	    {"2001:db8::/32", "{\"n\":\"v6\",\"x\":[1,2.5,true]}"},
	    {"81.2.69.128/25", "{\"n\":\"half\"}"},
	    {"1.0.0.0/24", ASN_GOOGLE},
	    {"10.0.0.0/8", "{\"n\":-7}"},
	};

	insert_all(w, nets, NELEM(nets));
}

Test(mmdb_write, writes_identical_bytes_for_identical_inserts)
{
	static const char *const names[] = {"a.mmdb", "b.mmdb", "c.mmdb"};
	struct scratch s;
	struct af_mmdbw *w1 = writer("Test");
	struct af_mmdbw *w2 = writer("Test");
	char *bytes[3];
	size_t len[3];

	scratch_new(&s);
	insert_mixture(w1);
	insert_mixture(w2);
	write_db(w1, scratch_file(&s, names[0]));
	write_db(w2, scratch_file(&s, names[1]));
	write_db(w1, scratch_file(&s, names[2])); /* a second write of one writer */
	for (int i = 0; i < 3; i++)
		bytes[i] = af_test_read_file(scratch_file(&s, names[i]), &len[i]);
	for (int i = 1; i < 3; i++) {
		cr_assert_eq(len[i], len[0], "%s", names[i]);
		cr_assert_eq(memcmp(bytes[i], bytes[0], len[0]), 0, "%s", names[i]);
	}
	for (int i = 0; i < 3; i++)
		free(bytes[i]);
	af_mmdbw_free(w1);
	af_mmdbw_free(w2);
	scratch_free(&s);
}

Test(mmdb_write, replaces_the_file_by_rename_and_leaves_no_temporary_file)
{
	static const struct answer want[] = {{"192.0.2.1", "new"}};
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
	write_db(w, s.path);
	open_db(s.path, &db);
	cr_assert_eq(stat(s.path, &after), 0);
	cr_assert_neq(before.st_ino, after.st_ino);
	expect_answers(&db, want, NELEM(want));
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

	for (size_t i = 0; i < NELEM(bad); i++)
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
	    "{\"a\":1;\"b\":2}",
	    "{\"a\":[1;2]}",
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
	static const struct answer want[] = {{"192.0.2.1", "kept"}};
	struct af_mmdbw *w = writer("Test");
	char deep[400];
	size_t n = 0;
	struct built b;

	insert(w, "192.0.2.0/24", "{\"n\":\"kept\"}");
	for (size_t i = 0; i < NELEM(bad); i++) {
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
	open_written(&b, w);
	expect_answers(&b.db, want, NELEM(want));
	built_close(&b);
	af_mmdbw_free(w);
}

/* ---- auditflow's reader ---- */

Test(mmdb_write, a_written_city_and_asn_pair_enrich_an_event_through_the_geo_hub)
{
	static const struct net city_nets[] = {
	    {"81.2.69.0/24", CITY_LONDON},
	    {"2a02:c7f::/32",
	     "{\"country\":{\"iso_code\":\"DE\"},\"city\":{\"names\":{\"en\":\"Berlin\"}},"
	     "\"location\":{\"latitude\":52,\"longitude\":13.4,\"accuracy_radius\":200}}"},
	};
	static const struct net asn_nets[] = {
	    {"81.2.69.0/24", ASN_GOOGLE},
	    {"2a02:c7f::/32",
	     "{\"autonomous_system_number\":64500,\"autonomous_system_organization\":\"Doc\"}"},
	};
	struct built city, asn;
	struct af_geo_hub_opts opts = {0};
	struct af_geo g;

	build(&city, "GeoLite2-City", city_nets, NELEM(city_nets));
	build(&asn, "GeoLite2-ASN", asn_nets, NELEM(asn_nets));
	opts.city = city.s.path;
	opts.asn = asn.s.path;
	g = geo_of(&opts, "81.2.69.142");
	cr_assert_str_eq(geo_text(&g), "GB|London|51.5142,-0.0931|10 km|AS15169 Google Inc.");
	cr_assert_eq(g.flags & (AF_GEO_FOUND | AF_GEO_HAS_LOCATION),
	             AF_GEO_FOUND | AF_GEO_HAS_LOCATION);
	g = geo_of(&opts, "2a02:c7f:1::9");
	cr_assert_str_eq(geo_text(&g), "DE|Berlin|52,13.4|200 km|AS64500 Doc");
	built_close(&city);
	built_close(&asn);
}

Test(mmdb_write, a_written_anonymous_ip_database_sets_the_geo_hub_flags)
{
	static const struct net nets[] = {
	    {"81.2.69.0/24",
	     "{\"is_anonymous\":true,\"is_anonymous_vpn\":true,\"is_hosting_provider\":false}"},
	};
	struct af_geo_hub_opts opts = {0};
	struct built anon;
	struct af_geo g;

	build(&anon, "GeoIP2-Anonymous-IP", nets, NELEM(nets));
	opts.anon = anon.s.path;
	g = geo_of(&opts, "81.2.69.7");
	cr_assert_eq(g.flags & (AF_GEO_ANONYMOUS | AF_GEO_VPN | AF_GEO_HOSTING),
	             AF_GEO_ANONYMOUS | AF_GEO_VPN);
	built_close(&anon);
}

/* ---- MaxMind's reference databases, rebuilt ---- */

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
	struct af_mmdbw *w = writer(type);
	char path[256], first[64], last[64];
	char **nets = NULL;
	unsigned n = 0, cap = 0, checked = 0;
	char *text, *p;
	struct built ours;
	MMDB_s ref;

	snprintf(path, sizeof path, GEO("%s.json"), name);
	text = af_test_read_file(path, NULL);
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
	open_written(&ours, w);
	snprintf(path, sizeof path, GEO("%s.mmdb"), name);
	open_db(path, &ref);
	cr_assert_str_eq(ours.db.metadata.database_type, ref.metadata.database_type);
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
				char *got = answer(&ours.db, forms[f]);

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
	built_close(&ours);
	free(nets);
	free(text);
	af_mmdbw_free(w);
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
