/* geo_layout.c - layout of a MaxMind-format database: which path holds
 * each geo fact, decided once at open; and the value checks every decode
 * applies (see geo_layout.h for the order: configured, probed, implied by
 * database_type).
 *
 * Thread: detection on the thread opening the database; af_geo_layout_take
 * on any thread (it touches only its arguments).
 * In: an opened MMDB_s (read-only), role, configured dotted paths.
 * Out: struct af_geo_layout, or AF_E_CONFIG naming the file.
 *
 * DESIGN: probing walks the search tree depth first from the root, left
 * (lower addresses) first, with an explicit stack: a search tree is at
 * most 128 levels deep, so the stack is bounded by the address width and
 * the walk by AF_GEO_PROBE_NODES, which also caps the cost on a corrupt
 * tree whose records point back up (a DAG or worse). Records that are not
 * valid data or node references are skipped, never followed.
 */
#include "pipeline/enrich/geo_layout.h"
#include "pipeline/utf8.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- candidate paths ---- */

static const char *const k_country_iso[] = {"country", "iso_code", NULL};
static const char *const k_country_code[] = {"country_code", NULL};
static const char *const k_country_iso_code[] = {"country_iso_code", NULL};
static const char *const k_country[] = {"country", NULL};
static const char *const k_city_en[] = {"city", "names", "en", NULL};
static const char *const k_city[] = {"city", NULL};
static const char *const k_city_name[] = {"city_name", NULL};
static const char *const k_loc_lat[] = {"location", "latitude", NULL};
static const char *const k_latitude[] = {"latitude", NULL};
static const char *const k_lat[] = {"lat", NULL};
static const char *const k_loc_lon[] = {"location", "longitude", NULL};
static const char *const k_longitude[] = {"longitude", NULL};
static const char *const k_lon[] = {"lon", NULL};
static const char *const k_lng[] = {"lng", NULL};
static const char *const k_loc_radius[] = {"location", "accuracy_radius", NULL};
static const char *const k_radius[] = {"accuracy_radius", NULL};
static const char *const k_asn_long[] = {"autonomous_system_number", NULL};
static const char *const k_traits_asn[] = {"traits", "autonomous_system_number", NULL};
static const char *const k_asn[] = {"asn", NULL};
static const char *const k_asorg_long[] = {"autonomous_system_organization", NULL};
static const char *const k_traits_asorg[] = {"traits", "autonomous_system_organization", NULL};
static const char *const k_as_name[] = {"as_name", NULL};
static const char *const k_as_org[] = {"as_org", NULL};
static const char *const k_organization[] = {"organization", NULL};
static const char *const k_is_anonymous[] = {"is_anonymous", NULL};
static const char *const k_anonymous[] = {"anonymous", NULL};
static const char *const k_is_vpn[] = {"is_anonymous_vpn", NULL};
static const char *const k_vpn[] = {"vpn", NULL};
static const char *const k_is_hosting[] = {"is_hosting_provider", NULL};
static const char *const k_hosting[] = {"hosting", NULL};
static const char *const k_is_proxy[] = {"is_public_proxy", NULL};
static const char *const k_proxy[] = {"proxy", NULL};
static const char *const k_is_tor[] = {"is_tor_exit_node", NULL};
static const char *const k_tor[] = {"tor", NULL};

#define AF_GEO_CANDIDATES 6

/* Per fact, in order of preference, NULL-terminated. Index 0 is the path
 * MaxMind's own databases use. */
static const char *const *const af_geo_candidates[AF_GEO_F_COUNT][AF_GEO_CANDIDATES] = {
    [AF_GEO_F_COUNTRY] = {k_country_iso, k_country_code, k_country_iso_code, k_country, NULL},
    [AF_GEO_F_CITY] = {k_city_en, k_city, k_city_name, NULL},
    [AF_GEO_F_LAT] = {k_loc_lat, k_latitude, k_lat, NULL},
    [AF_GEO_F_LON] = {k_loc_lon, k_longitude, k_lon, k_lng, NULL},
    [AF_GEO_F_RADIUS] = {k_loc_radius, k_radius, NULL},
    [AF_GEO_F_ASN] = {k_asn_long, k_traits_asn, k_asn, NULL},
    [AF_GEO_F_AS_ORG] = {k_asorg_long, k_traits_asorg, k_as_name, k_as_org, k_organization, NULL},
    [AF_GEO_F_ANONYMOUS] = {k_is_anonymous, k_anonymous, NULL},
    [AF_GEO_F_VPN] = {k_is_vpn, k_vpn, NULL},
    [AF_GEO_F_HOSTING] = {k_is_hosting, k_hosting, NULL},
    [AF_GEO_F_PROXY] = {k_is_proxy, k_proxy, NULL},
    [AF_GEO_F_TOR] = {k_is_tor, k_tor, NULL},
};

static const char *const af_geo_field_names[AF_GEO_F_COUNT] = {
    [AF_GEO_F_COUNTRY] = "country",
    [AF_GEO_F_CITY] = "city",
    [AF_GEO_F_LAT] = "latitude",
    [AF_GEO_F_LON] = "longitude",
    [AF_GEO_F_RADIUS] = "accuracy radius",
    [AF_GEO_F_ASN] = "ASN",
    [AF_GEO_F_AS_ORG] = "AS organization",
    [AF_GEO_F_ANONYMOUS] = "anonymous",
    [AF_GEO_F_VPN] = "VPN",
    [AF_GEO_F_HOSTING] = "hosting",
    [AF_GEO_F_PROXY] = "public proxy",
    [AF_GEO_F_TOR] = "Tor exit",
};

#define BIT(f) (1u << (f))

#define AF_GEO_LOCATION_FIELDS                                                                     \
	(BIT(AF_GEO_F_COUNTRY) | BIT(AF_GEO_F_CITY) | BIT(AF_GEO_F_LAT) | BIT(AF_GEO_F_LON) |      \
	 BIT(AF_GEO_F_RADIUS))
#define AF_GEO_ASN_FIELDS (BIT(AF_GEO_F_ASN) | BIT(AF_GEO_F_AS_ORG))
#define AF_GEO_ANON_FIELDS                                                                         \
	(BIT(AF_GEO_F_ANONYMOUS) | BIT(AF_GEO_F_VPN) | BIT(AF_GEO_F_HOSTING) |                     \
	 BIT(AF_GEO_F_PROXY) | BIT(AF_GEO_F_TOR))

/* Words of a MaxMind database_type ("GeoIP2-City", "GeoLite2-ASN",
 * "GeoIP2-Anonymous-IP", "DBIP-City-Lite" ...) and the facts whose index-0
 * path such a database is known to use. */
static const struct {
	const char *word;
	uint32_t fields;
} af_geo_type_words[] = {
    {"City", AF_GEO_LOCATION_FIELDS},
    {"Country", AF_GEO_LOCATION_FIELDS},
    {"Enterprise", AF_GEO_LOCATION_FIELDS},
    {"ASN", AF_GEO_ASN_FIELDS},
    {"ISP", AF_GEO_ASN_FIELDS},
    {"Anonymous", AF_GEO_ANON_FIELDS},
};

uint32_t af_geo_layout_role_fields(enum af_geo_db_role role)
{
	switch (role) {
	case AF_GEO_DB_LOCATION: return AF_GEO_LOCATION_FIELDS;
	case AF_GEO_DB_ASN: return AF_GEO_ASN_FIELDS;
	case AF_GEO_DB_ANON: return AF_GEO_ANON_FIELDS;
	}
	return 0;
}

const char *af_geo_layout_role_name(enum af_geo_db_role role)
{
	switch (role) {
	case AF_GEO_DB_LOCATION: return "location";
	case AF_GEO_DB_ASN: return "ASN";
	case AF_GEO_DB_ANON: return "anonymizer";
	}
	return "unknown";
}

const char *af_geo_layout_field_name(enum af_geo_field f)
{
	return (unsigned)f < AF_GEO_F_COUNT ? af_geo_field_names[f] : "unknown";
}

/* Examples of what a role looks for, for the "offers nothing" message. */
static const char *af_geo_layout_role_hint(enum af_geo_db_role role)
{
	switch (role) {
	case AF_GEO_DB_LOCATION:
		return "country.iso_code, city.names.en, location.latitude, or flat "
		       "country_code, city, latitude";
	case AF_GEO_DB_ASN:
		return "autonomous_system_number, autonomous_system_organization, or flat asn, "
		       "as_name";
	case AF_GEO_DB_ANON:
		return "is_anonymous, is_anonymous_vpn, is_tor_exit_node, or flat vpn, tor";
	}
	return "";
}

/* ---- values ---- */

static bool af_geo_layout_string(const MMDB_entry_data_s *v, char *dst, size_t cap)
{
	size_t n;

	if (v->type != MMDB_DATA_TYPE_UTF8_STRING || v->data_size == 0)
		return false;
	n = af_utf8_cut(v->utf8_string, v->data_size, cap - 1);
	memcpy(dst, v->utf8_string, n);
	dst[n] = '\0';
	return true;
}

/* An unsigned integer of any width the format has (int32 when >= 0). */
static bool af_geo_layout_uint(const MMDB_entry_data_s *v, uint64_t *out)
{
	switch (v->type) {
	case MMDB_DATA_TYPE_UINT16: *out = v->uint16; return true;
	case MMDB_DATA_TYPE_UINT32: *out = v->uint32; return true;
	case MMDB_DATA_TYPE_UINT64: *out = v->uint64; return true;
	case MMDB_DATA_TYPE_INT32:
		if (v->int32 < 0)
			return false;
		*out = (uint64_t)v->int32;
		return true;
	}
	return false;
}

/* An ASN written as text, "AS64500" or "64500", as some flat databases do. */
static bool af_geo_layout_asn_text(const MMDB_entry_data_s *v, uint64_t *out)
{
	const char *s = v->utf8_string;
	size_t len = v->data_size, i = 0;
	uint64_t n = 0;

	if (v->type != MMDB_DATA_TYPE_UTF8_STRING)
		return false;
	if (len >= 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's'))
		i = 2;
	if (i == len || len - i > 10)
		return false;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	*out = n;
	return true;
}

static bool af_geo_layout_real(const MMDB_entry_data_s *v, double limit, double *out)
{
	double x;

	if (v->type == MMDB_DATA_TYPE_DOUBLE)
		x = v->double_value;
	else if (v->type == MMDB_DATA_TYPE_FLOAT)
		x = v->float_value;
	else
		return false;
	if (!isfinite(x) || x < -limit || x > limit)
		return false;
	*out = x;
	return true;
}

static bool af_geo_layout_flag(const MMDB_entry_data_s *v, uint32_t bit, struct af_geo *geo)
{
	uint64_t n;
	bool on;

	if (v->type == MMDB_DATA_TYPE_BOOLEAN)
		on = v->boolean;
	else if (af_geo_layout_uint(v, &n))
		on = n != 0;
	else
		return false;
	/* Never cleared: the hub also sets AF_GEO_HOSTING from its ASN list. */
	if (on)
		geo->flags |= bit;
	return true;
}

static bool af_geo_layout_country(const MMDB_entry_data_s *v, struct af_geo *geo)
{
	char code[sizeof(geo->country)];
	size_t i;

	if (v->type != MMDB_DATA_TYPE_UTF8_STRING || v->data_size < 2 ||
	    v->data_size >= sizeof(code))
		return false;
	for (i = 0; i < v->data_size; i++) {
		char c = v->utf8_string[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return false;
		code[i] = c;
	}
	code[i] = '\0';
	memcpy(geo->country, code, sizeof(code));
	return true;
}

bool af_geo_layout_take(enum af_geo_field f, const MMDB_entry_data_s *v, struct af_geo *geo)
{
	uint64_t n;
	double x;

	if (!v->has_data)
		return false;
	switch (f) {
	case AF_GEO_F_COUNTRY: return af_geo_layout_country(v, geo);
	case AF_GEO_F_CITY: return af_geo_layout_string(v, geo->city, sizeof(geo->city));
	case AF_GEO_F_AS_ORG: return af_geo_layout_string(v, geo->as_org, sizeof(geo->as_org));
	case AF_GEO_F_LAT:
	case AF_GEO_F_LON:
		if (!af_geo_layout_real(v, f == AF_GEO_F_LAT ? 90.0 : 180.0, &x))
			return false;
		*(f == AF_GEO_F_LAT ? &geo->lat : &geo->lon) = x;
		return true;
	case AF_GEO_F_RADIUS:
	case AF_GEO_F_ASN:
		/* 0 is "unknown" in struct af_geo, so it is no answer either. */
		if (!af_geo_layout_uint(v, &n) &&
		    !(f == AF_GEO_F_ASN && af_geo_layout_asn_text(v, &n)))
			return false;
		if (n == 0 || n > UINT32_MAX)
			return false;
		*(f == AF_GEO_F_ASN ? &geo->asn : &geo->radius_km) = (uint32_t)n;
		return true;
	case AF_GEO_F_ANONYMOUS: return af_geo_layout_flag(v, AF_GEO_ANONYMOUS, geo);
	case AF_GEO_F_VPN: return af_geo_layout_flag(v, AF_GEO_VPN, geo);
	case AF_GEO_F_HOSTING: return af_geo_layout_flag(v, AF_GEO_HOSTING, geo);
	case AF_GEO_F_PROXY: return af_geo_layout_flag(v, AF_GEO_PROXY, geo);
	case AF_GEO_F_TOR: return af_geo_layout_flag(v, AF_GEO_TOR, geo);
	case AF_GEO_F_COUNT: break;
	}
	return false;
}

/* ---- configured paths ---- */

/* Split the configured dotted path of f into lay->text[f] / lay->key[f]. */
static af_err_t af_geo_layout_configure(struct af_geo_layout *lay, enum af_geo_field f,
                                        const char *dotted, const char *file, char *errstr,
                                        size_t errstr_size)
{
	size_t len = strlen(dotted), nkeys = 0;
	char *p = lay->text[f];
	const char *why = NULL;

	if (len >= sizeof(lay->text[f])) {
		why = "is too long";
		goto fail;
	}
	memcpy(p, dotted, len + 1);
	for (;;) {
		char *dot = strchr(p, '.');

		if (dot)
			*dot = '\0';
		if (*p == '\0') {
			why = "has an empty key";
			goto fail;
		}
		if (nkeys == AF_GEO_PATH_DEPTH) {
			why = "has too many keys";
			goto fail;
		}
		lay->key[f][nkeys++] = p;
		if (!dot)
			break;
		p = dot + 1;
	}
	lay->key[f][nkeys] = NULL;
	lay->served |= BIT(f);
	lay->configured |= BIT(f);
	return AF_OK;
fail:
	lay->key[f][0] = NULL;
	snprintf(errstr, errstr_size, "geo database %s: the configured path of the %s, \"%s\", %s",
	         file, af_geo_layout_field_name(f), dotted, why);
	return AF_E_CONFIG;
}

/* ---- probing ---- */

/* Data-section offsets of up to max distinct data records, from a walk of
 * the search tree (see DESIGN above). Returns how many. */
static unsigned af_geo_layout_sample(const MMDB_s *mmdb, uint32_t *off, unsigned max)
{
	struct {
		uint32_t node;
		uint32_t depth;
	} stack[136];
	uint32_t bits = mmdb->metadata.ip_version == 6 ? 128 : 32;
	unsigned top = 0, n = 0, reads = 0;

	if (mmdb->metadata.node_count == 0)
		return 0;
	stack[top].node = 0;
	stack[top++].depth = 0;
	while (top > 0 && n < max && reads < AF_GEO_PROBE_NODES) {
		MMDB_search_node_s node;
		uint32_t at, depth;
		uint64_t rec[2];
		uint8_t type[2];
		MMDB_entry_s entry[2];

		top--;
		at = stack[top].node;
		depth = stack[top].depth;
		reads++;
		if (MMDB_read_node(mmdb, at, &node) != MMDB_SUCCESS)
			continue;
		rec[0] = node.left_record;
		rec[1] = node.right_record;
		type[0] = node.left_record_type;
		type[1] = node.right_record_type;
		entry[0] = node.left_record_entry;
		entry[1] = node.right_record_entry;
		/* Data now, left first; child nodes pushed right first so the
		 * left one is read next. */
		for (int i = 0; i < 2 && n < max; i++) {
			unsigned j;

			if (type[i] != MMDB_RECORD_TYPE_DATA)
				continue;
			for (j = 0; j < n && off[j] != entry[i].offset; j++)
				;
			if (j == n)
				off[n++] = entry[i].offset;
		}
		for (int i = 1; i >= 0; i--) {
			if (type[i] != MMDB_RECORD_TYPE_SEARCH_NODE || depth + 1 >= bits ||
			    top == sizeof(stack) / sizeof(stack[0]) ||
			    rec[i] >= mmdb->metadata.node_count)
				continue;
			stack[top].node = (uint32_t)rec[i];
			stack[top++].depth = depth + 1;
		}
	}
	return n;
}

/* True if path holds a value f accepts in the record at offset. */
static bool af_geo_layout_holds(const MMDB_s *mmdb, uint32_t offset, enum af_geo_field f,
                                const char *const *path)
{
	MMDB_entry_s entry = {.mmdb = mmdb, .offset = offset};
	MMDB_entry_data_s v;
	struct af_geo scratch = {0};

	if (MMDB_aget_value(&entry, &v, path) != MMDB_SUCCESS)
		return false;
	return af_geo_layout_take(f, &v, &scratch);
}

/* The index of the first candidate of f that some sampled record holds,
 * or -1. */
static int af_geo_layout_probe(const MMDB_s *mmdb, const uint32_t *off, unsigned n,
                               enum af_geo_field f)
{
	for (int c = 0; c < AF_GEO_CANDIDATES && af_geo_candidates[f][c]; c++)
		for (unsigned i = 0; i < n; i++)
			if (af_geo_layout_holds(mmdb, off[i], f, af_geo_candidates[f][c]))
				return c;
	return -1;
}

/* The facts database_type says the database has at their index-0 paths:
 * any word of the type (split at '-', '_', ' ') found in the table. */
static uint32_t af_geo_layout_type_fields(const char *type)
{
	uint32_t fields = 0;
	const char *p = type ? type : "";

	while (*p) {
		size_t len = strcspn(p, "-_ ");

		for (size_t i = 0; i < sizeof(af_geo_type_words) / sizeof(af_geo_type_words[0]);
		     i++)
			if (strlen(af_geo_type_words[i].word) == len &&
			    memcmp(af_geo_type_words[i].word, p, len) == 0)
				fields |= af_geo_type_words[i].fields;
		p += len;
		p += strspn(p, "-_ ");
	}
	return fields;
}

static void af_geo_layout_set(struct af_geo_layout *lay, enum af_geo_field f,
                              const char *const *path)
{
	size_t i;

	for (i = 0; path[i] && i < AF_GEO_PATH_DEPTH; i++)
		lay->key[f][i] = path[i];
	lay->key[f][i] = NULL;
	lay->served |= BIT(f);
}

af_err_t af_geo_layout_detect(const MMDB_s *mmdb, enum af_geo_db_role role,
                              const struct af_geo_db_paths *paths, struct af_geo_layout *lay,
                              const char *file, char *errstr, size_t errstr_size)
{
	uint32_t want = af_geo_layout_role_fields(role);
	uint32_t implied = af_geo_layout_type_fields(mmdb->metadata.database_type);
	uint32_t off[AF_GEO_PROBE_RECORDS];
	unsigned n = 0;
	bool sampled = false;
	af_err_t err;

	memset(lay, 0, sizeof(*lay));
	for (int f = 0; f < AF_GEO_F_COUNT; f++) {
		int c;

		if (!(want & BIT(f)))
			continue;
		if (paths && paths->field[f]) {
			err = af_geo_layout_configure(lay, f, paths->field[f], file, errstr,
			                              errstr_size);
			if (err != AF_OK)
				return err;
			continue;
		}
		if (!sampled) {
			n = af_geo_layout_sample(mmdb, off, AF_GEO_PROBE_RECORDS);
			sampled = true;
		}
		c = af_geo_layout_probe(mmdb, off, n, f);
		if (c >= 0)
			af_geo_layout_set(lay, f, af_geo_candidates[f][c]);
		else if (implied & BIT(f))
			af_geo_layout_set(lay, f, af_geo_candidates[f][0]);
	}
	if (lay->served & want)
		return AF_OK;
	snprintf(errstr, errstr_size,
	         "geo database %s (type \"%s\") has no %s data: none of %u records read holds "
	         "%s; give the right file for this option or configure the field paths",
	         file, mmdb->metadata.database_type ? mmdb->metadata.database_type : "",
	         af_geo_layout_role_name(role), n, af_geo_layout_role_hint(role));
	return AF_E_CONFIG;
}
