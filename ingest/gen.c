/* gen.c - the generator's frame: its PRNG, the organisation (offices,
 * networks, accounts), the event timeline and the run that ties them to the
 * writer (see ingest/gen.h; what people and attackers do is in
 * gen_scenarios.c, the export formats in gen_write.c).
 *
 * Thread: the caller of af_gen_run.
 * In: options. Out: the files of gen.h.
 *
 * DESIGN: the network plan is fixed (the same for every seed and size), so
 * a networks.jsonl, and the databases built from it, fit any run; only
 * which networks were used varies. Where the tree's committed scenario
 * databases (tests/data/geo/scenario) already place a network, the plan
 * agrees with them: 192.0.2.0/24 Frankfurt AS64496, 203.0.113.0/24 Hanoi
 * AS64500, 198.51.100.0/24 Ashburn AS64511 (hosting), 2001:db8:1::/48 Tokyo
 * AS64497. Everything else comes from 198.18.0.0/15 in /24s and from
 * 2001:db8::/32 in /48s, with private-use AS numbers.
 *
 * The run simulates day by day; after each day the pending events earlier
 * than the next day's earliest possible event are sorted and written, so the
 * output is in time order while memory holds about two days.
 */
#include "ingest/gen_impl.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pipeline/ip.h"

/* ---- PRNG ---------------------------------------------------------------- */

uint64_t af_gen_mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

void af_gen_rng_seed(struct af_gen_rng *r, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	uint64_t x = af_gen_mix(af_gen_mix(af_gen_mix(af_gen_mix(a) ^ b) ^ c) ^ d);
	for (int i = 0; i < 4; i++) {
		x += 0x9E3779B97F4A7C15ULL;
		r->s[i] = af_gen_mix(x);
	}
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t af_gen_rng_u64(struct af_gen_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

uint32_t af_gen_rng_below(struct af_gen_rng *r, uint32_t n)
{
	/* Multiply-shift: the bias for n far below 2^32 is far below what any
	 * scenario could show. */
	return (uint32_t)(((af_gen_rng_u64(r) >> 32) * (uint64_t)n) >> 32);
}

int64_t af_gen_rng_range(struct af_gen_rng *r, int64_t lo, int64_t hi)
{
	assert(lo <= hi);
	uint64_t span = (uint64_t)(hi - lo) + 1;
	if (span == 0)
		return (int64_t)af_gen_rng_u64(r);
	return lo + (int64_t)(af_gen_rng_u64(r) % span);
}

bool af_gen_rng_chance(struct af_gen_rng *r, uint32_t per_mille)
{
	return af_gen_rng_below(r, 1000) < per_mille;
}

/* ---- places and offices -------------------------------------------------- */

enum {
	PL_FRANKFURT,
	PL_LONDON,
	PL_NEW_YORK,
	PL_HANOI,
	PL_TOKYO,
	PL_SAO_PAULO,
	PL_BENGALURU,
	PL_SYDNEY,
	PL_ASHBURN,
	PL_AMSTERDAM,
	PL_LAGOS,
	PL_SINGAPORE,
	PL_DUBLIN,
	PL_PARIS,
	PL_CHICAGO,
	PL_ZURICH,
	PL_TORONTO,
	PL_SEOUL,
	PL_COUNT
};

static const struct af_gen_place places[PL_COUNT] = {
    [PL_FRANKFURT] = {"DE", "Frankfurt", 50.1109, 8.6821, 120},
    [PL_LONDON] = {"GB", "London", 51.5074, -0.1278, 60},
    [PL_NEW_YORK] = {"US", "New York", 40.7128, -74.006, -240},
    [PL_HANOI] = {"VN", "Hanoi", 21.0285, 105.8542, 420},
    [PL_TOKYO] = {"JP", "Tokyo", 35.6762, 139.6503, 540},
    [PL_SAO_PAULO] = {"BR", "S\xc3\xa3o Paulo", -23.5505, -46.6333, -180},
    [PL_BENGALURU] = {"IN", "Bengaluru", 12.9716, 77.5946, 330},
    [PL_SYDNEY] = {"AU", "Sydney", -33.8688, 151.2093, 600},
    [PL_ASHBURN] = {"US", "Ashburn", 39.0438, -77.4874, -240},
    [PL_AMSTERDAM] = {"NL", "Amsterdam", 52.3676, 4.9041, 120},
    [PL_LAGOS] = {"NG", "Lagos", 6.5244, 3.3792, 60},
    [PL_SINGAPORE] = {"SG", "Singapore", 1.3521, 103.8198, 480},
    [PL_DUBLIN] = {"IE", "Dublin", 53.3498, -6.2603, 60},
    [PL_PARIS] = {"FR", "Paris", 48.8566, 2.3522, 120},
    [PL_CHICAGO] = {"US", "Chicago", 41.8781, -87.6298, -300},
    [PL_ZURICH] = {"CH", "Z\xc3\xbcrich", 47.3769, 8.5417, 120},
    [PL_TORONTO] = {"CA", "Toronto", 43.6532, -79.3832, -240},
    [PL_SEOUL] = {"KR", "Seoul", 37.5665, 126.978, 540},
};

/* Office i: its place, name list (gen_names.c: 0 English, 1 German,
 * 2 Vietnamese, 3 Japanese, 4 Portuguese, 5 Indian) and share of people.
 * The scenarios name offices by these indices (AF_GEN_OFFICE_* in
 * gen_scenarios.c). */
static const struct {
	int place;
	uint8_t group;
	uint16_t weight;
} office_plan[] = {
    {PL_FRANKFURT, 1, 30}, {PL_LONDON, 0, 12},   {PL_NEW_YORK, 0, 18}, {PL_HANOI, 2, 10},
    {PL_TOKYO, 3, 8},      {PL_SAO_PAULO, 4, 8}, {PL_BENGALURU, 5, 9}, {PL_SYDNEY, 0, 5},
};
#define N_OFFICES (sizeof(office_plan) / sizeof(office_plan[0]))

/* Where each partner's mail servers are (index: partner domain). */
static const int partner_places[] = {PL_DUBLIN, PL_PARIS,     PL_CHICAGO,   PL_ZURICH,  PL_TORONTO,
                                     PL_SEOUL,  PL_AMSTERDAM, PL_SINGAPORE, PL_ASHBURN, PL_DUBLIN};

/* ---- networks ------------------------------------------------------------ */

struct net_pool {
	uint32_t v4;  /* next /24 of 198.18.0.0/15 */
	uint32_t v6;  /* next /48 of 2001:db8:100::/40 */
	uint32_t asn; /* next private-use AS number */
};

static struct af_gen_net *net_new(struct af_gen *g, uint16_t *index)
{
	if (g->n_nets == g->cap_nets) {
		size_t cap = g->cap_nets ? g->cap_nets * 2 : 64;
		struct af_gen_net *n = realloc(g->nets, cap * sizeof(*n));
		if (!n)
			return NULL;
		g->nets = n;
		g->cap_nets = cap;
	}
	struct af_gen_net *n = &g->nets[g->n_nets];
	memset(n, 0, sizeof(*n));
	*index = (uint16_t)g->n_nets++;
	return n;
}

/* A network of kind at place: addr (4 or 16 bytes) when fixed, else the
 * next one of the pool. */
static struct af_gen_net *net_add(struct af_gen *g, struct net_pool *pool, uint16_t *index,
                                  enum af_gen_net_kind kind, int place, bool v6,
                                  const uint8_t *addr, uint16_t radius, uint32_t asn,
                                  const char *as_org)
{
	struct af_gen_net *n = net_new(g, index);
	if (!n)
		return NULL;
	n->kind = (uint8_t)kind;
	n->v6 = v6;
	n->prefix = v6 ? 48 : 24;
	if (addr) {
		memcpy(n->addr, addr, v6 ? 16 : 4);
	} else if (v6) {
		uint32_t x = 0x100 + pool->v6++;
		const uint8_t a[6] = {0x20, 0x01, 0x0d, 0xb8, (uint8_t)(x >> 8), (uint8_t)x};
		memcpy(n->addr, a, sizeof(a));
	} else {
		uint32_t x = pool->v4++;
		assert(x < 512);
		n->addr[0] = 198;
		n->addr[1] = (uint8_t)(18 + x / 256);
		n->addr[2] = (uint8_t)(x % 256);
	}
	n->place = &places[place];
	n->radius_km = radius;
	n->asn = asn;
	snprintf(n->as_org, sizeof(n->as_org), "%s", as_org);
	n->hosting = kind == AF_GEN_NET_HOSTING || kind == AF_GEN_NET_ANONYMIZER ||
	             kind == AF_GEN_NET_DATACENTER || kind == AF_GEN_NET_MAILHOST;
	n->anonymous = kind == AF_GEN_NET_ANONYMIZER;
	n->corporate =
	    kind == AF_GEN_NET_OFFICE || kind == AF_GEN_NET_VPN || kind == AF_GEN_NET_DATACENTER;
	return n;
}

static af_err_t build_office_nets(struct af_gen *g, struct net_pool *pool, struct af_gen_office *o)
{
	static const uint8_t frankfurt[4] = {192, 0, 2, 0};
	static const uint8_t hanoi[4] = {203, 0, 113, 0};
	static const uint8_t tokyo6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1};
	int pl = (int)(o->place - places);
	const char *cc = o->place->cc;
	char org[48];
	bool ok = true;

	if (pl == PL_FRANKFURT) {
		ok &= net_add(g, pool, &o->net_office, AF_GEN_NET_OFFICE, pl, false, frankfurt, 20,
		              64496, "Example Transit") != NULL;
	} else if (pl == PL_HANOI) {
		ok &= net_add(g, pool, &o->net_office, AF_GEN_NET_OFFICE, pl, false, hanoi, 20,
		              64500, "Example VN Telecom") != NULL;
	} else {
		snprintf(org, sizeof(org), "Example %s Business Networks", cc);
		ok &= net_add(g, pool, &o->net_office, AF_GEN_NET_OFFICE, pl, false, NULL, 20,
		              pool->asn++, org) != NULL;
	}
	ok &= net_add(g, pool, &o->net_vpn, AF_GEN_NET_VPN, pl, false, NULL, 20, 65000,
	              "Contoso Corporate Network") != NULL;
	for (int isp = 0; isp < 2; isp++) {
		snprintf(org, sizeof(org), isp == 0 ? "Example %s Broadband" : "Example %s Cable",
		         cc);
		uint32_t asn = pool->asn++;
		for (int k = 0; k < 2; k++)
			ok &= net_add(g, pool, &o->net_home[isp * 2 + k], AF_GEN_NET_HOME, pl,
			              false, NULL, 25, asn, org) != NULL;
	}
	snprintf(org, sizeof(org), "Example %s Mobile", cc);
	uint32_t masn = pool->asn++;
	if (pl == PL_TOKYO) {
		ok &= net_add(g, pool, &o->net_mobile4, AF_GEN_NET_MOBILE, pl, false, NULL, 10,
		              64497, "Example JP Networks") != NULL;
		ok &= net_add(g, pool, &o->net_mobile6, AF_GEN_NET_MOBILE, pl, true, tokyo6, 10,
		              64497, "Example JP Networks") != NULL;
	} else {
		/* A carrier's addresses are placed at the city with a radius
		 * of the country's size, as geo databases place them. */
		ok &= net_add(g, pool, &o->net_mobile4, AF_GEN_NET_MOBILE, pl, false, NULL, 200,
		              masn, org) != NULL;
		ok &= net_add(g, pool, &o->net_mobile6, AF_GEN_NET_MOBILE, pl, true, NULL, 200,
		              masn, org) != NULL;
	}
	return ok ? AF_OK : AF_E_NOMEM;
}

static af_err_t build_nets(struct af_gen *g)
{
	static const uint8_t ashburn[4] = {198, 51, 100, 0};
	struct net_pool pool = {.v4 = 0, .v6 = 0, .asn = 64512};
	g->n_offices = N_OFFICES;
	g->offices = calloc(N_OFFICES, sizeof(*g->offices));
	g->net_partner = calloc(af_gen_partner_count, sizeof(*g->net_partner));
	if (!g->offices || !g->net_partner)
		return AF_E_NOMEM;
	for (size_t i = 0; i < N_OFFICES; i++) {
		struct af_gen_office *o = &g->offices[i];
		o->place = &places[office_plan[i].place];
		o->group = office_plan[i].group;
		o->weight = office_plan[i].weight;
		af_err_t err = build_office_nets(g, &pool, o);
		if (err != AF_OK)
			return err;
	}
	bool ok = true;
	ok &= net_add(g, &pool, &g->net_datacenter, AF_GEN_NET_DATACENTER, PL_FRANKFURT, false,
	              NULL, 50, 65001, "Example Colocation GmbH") != NULL;
	ok &= net_add(g, &pool, &g->net_attacker, AF_GEN_NET_HOSTING, PL_ASHBURN, false, ashburn,
	              50, 64511, "Example Hosting LLC") != NULL;
	ok &= net_add(g, &pool, &g->net_anonymizer, AF_GEN_NET_ANONYMIZER, PL_AMSTERDAM, false,
	              NULL, 100, 64502, "Example Privacy VPN") != NULL;
	ok &= net_add(g, &pool, &g->net_bec, AF_GEN_NET_HOSTING, PL_LAGOS, false, NULL, 50, 64503,
	              "Example Cloud Servers") != NULL;
	ok &= net_add(g, &pool, &g->net_forward, AF_GEN_NET_HOSTING, PL_SINGAPORE, false, NULL, 50,
	              64504, "Example VPS Hosting") != NULL;
	for (uint32_t i = 0; i < af_gen_partner_count; i++) {
		char org[48];
		snprintf(org, sizeof(org), "Example Mail Hosting %u", (unsigned)i + 1);
		int pl = partner_places[i % (sizeof(partner_places) / sizeof(partner_places[0]))];
		ok &= net_add(g, &pool, &g->net_partner[i], AF_GEN_NET_MAILHOST, pl, false, NULL,
		              50, 65100 + i, org) != NULL;
	}
	return ok ? AF_OK : AF_E_NOMEM;
}

size_t af_gen_ip_format(const struct af_gen_net *net, uint32_t host, char *buf)
{
	struct af_ip ip;
	memset(&ip, 0, sizeof(ip));
	if (!net->v6) {
		assert(host <= 254);
		ip.family = AF_IP_V4;
		ip.bytes[10] = ip.bytes[11] = 0xff;
		memcpy(ip.bytes + 12, net->addr, 3);
		ip.bytes[15] = (uint8_t)host;
	} else {
		/* A /48: a subnet and an interface id per host. */
		ip.family = AF_IP_V6;
		memcpy(ip.bytes, net->addr, 6);
		if (host != 0) {
			uint64_t iid = af_gen_mix(host ^ 0x6A09E667F3BCC908ULL);
			ip.bytes[7] = (uint8_t)af_gen_mix(host);
			for (int i = 0; i < 8; i++)
				ip.bytes[8 + i] = (uint8_t)(iid >> (56 - 8 * i));
		}
	}
	return af_ip_format(&ip, buf, AF_GEN_IP_MAX);
}

/* ---- accounts ------------------------------------------------------------ */

/* Stream tags for af_gen_rng_seed. */
enum { TAG_ORG = 1, TAG_ACCOUNT = 2 };

static void draw_profiles(struct af_gen *g)
{
	uint32_t n = g->n_acct;
	uint32_t n_bulk = n >= 10 ? 1 + n / 500 : 0;
	uint32_t total_weight = 0;
	for (size_t i = 0; i < g->n_offices; i++)
		total_weight += g->offices[i].weight;
	bool traveller = false;
	for (uint32_t i = 0; i < n; i++) {
		struct af_gen_account *a = &g->acct[i];
		struct af_gen_rng r;
		af_gen_rng_seed(&r, g->opts.seed, TAG_ORG, i, 0);
		a->trip_day = -1;
		a->trip_truth = -1;
		a->trip_arrival = 0;
		if (i >= n - n_bulk) {
			a->office = 0; /* the mailers run at headquarters */
			a->profile = AF_GEN_P_BULK;
			continue;
		}
		uint32_t w = af_gen_rng_below(&r, total_weight);
		size_t o = 0;
		while (w >= g->offices[o].weight)
			w -= g->offices[o++].weight;
		a->office = (uint8_t)o;
		uint32_t p = af_gen_rng_below(&r, 1000);
		a->profile = p < 500   ? AF_GEN_P_OFFICE
		             : p < 700 ? AF_GEN_P_HYBRID
		             : p < 850 ? AF_GEN_P_MOBILE
		             : p < 960 ? AF_GEN_P_VPN
		                       : AF_GEN_P_TRAVELLER;
		traveller |= a->profile == AF_GEN_P_TRAVELLER;
	}
	/* A baseline worth the name has someone who flies. */
	if (!traveller && n >= 20 && g->opts.days >= 10) {
		for (uint32_t i = 0; i < n; i++) {
			if (g->acct[i].profile == AF_GEN_P_OFFICE) {
				g->acct[i].profile = AF_GEN_P_TRAVELLER;
				break;
			}
		}
	}
}

static void draw_details(struct af_gen *g)
{
	uint32_t per_group[AF_GEN_NAME_GROUPS] = {0};
	uint32_t bulk = 0;
	const struct af_gen_opts *o = &g->opts;
	for (uint32_t i = 0; i < g->n_acct; i++) {
		struct af_gen_account *a = &g->acct[i];
		const struct af_gen_office *off = &g->offices[a->office];
		struct af_gen_rng r;
		af_gen_rng_seed(&r, o->seed, TAG_ACCOUNT, i, 0);
		if (a->profile == AF_GEN_P_BULK) {
			af_gen_name_bulk(a, bulk++);
			a->form = AF_GEN_FORM_ENTRA;
		} else {
			af_gen_name_person(a, off->group, per_group[off->group]++);
			if (!a->pinned)
				a->form = af_gen_rng_chance(&r, 250) ? AF_GEN_FORM_UAL
				                                     : AF_GEN_FORM_ENTRA;
		}
		a->device = (uint8_t)af_gen_rng_below(&r, 6);
		a->home_net = off->net_home[af_gen_rng_below(&r, AF_GEN_HOME_NETS)];
		a->home_host = (uint8_t)(2 + af_gen_rng_below(&r, 253));
		static const uint8_t office_pct[AF_GEN_P_COUNT] = {
		    [AF_GEN_P_OFFICE] = 80, [AF_GEN_P_HYBRID] = 35,    [AF_GEN_P_MOBILE] = 75,
		    [AF_GEN_P_VPN] = 50,    [AF_GEN_P_TRAVELLER] = 85, [AF_GEN_P_BULK] = 0};
		a->office_pct = office_pct[a->profile];
		a->evening_pct = (uint8_t)(10 + af_gen_rng_below(&r, 31));
		a->day_start = (uint16_t)af_gen_rng_range(&r, 450, 570);
		a->day_end = (uint16_t)(a->day_start + af_gen_rng_range(&r, 480, 570));
		a->signins = (uint16_t)af_gen_rng_range(&r, o->signins_lo, o->signins_hi);
		/* Most people send little, a few send a lot. */
		uint64_t u = af_gen_rng_below(&r, 1001);
		a->sends = (uint16_t)(o->sends_lo + (o->sends_hi - o->sends_lo) * u * u / 1000000);
		if (a->profile == AF_GEN_P_TRAVELLER && o->days >= 10) {
			a->trip_len = (uint8_t)(3 + af_gen_rng_below(&r, 3));
			int32_t lo = (int32_t)o->days / 3;
			int32_t hi = (int32_t)o->days - a->trip_len - 1;
			if (hi >= lo) {
				a->trip_day = (int32_t)af_gen_rng_range(&r, lo, hi);
				uint32_t k = 1 + af_gen_rng_below(&r, (uint32_t)g->n_offices - 1);
				a->trip_office = (uint8_t)((a->office + k) % g->n_offices);
			}
		}
	}
}

/* ---- timeline ------------------------------------------------------------ */

void af_gen_push(struct af_gen *g, enum af_gen_file f, struct af_gen_ev *ev)
{
	/* The exports' resolution: seconds, milliseconds in message trace. */
	ev->ts -= ev->ts % (f == AF_GEN_OUT_TRACE ? 1000000 : AF_GEN_NS);
	assert(ev->ts >= g->flushed_to);
	struct af_gen_vec *v = &g->pend[f];
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 4096;
		struct af_gen_ev *n = realloc(v->v, cap * sizeof(*n));
		if (!n) {
			g->nomem = true;
			return;
		}
		v->v = n;
		v->cap = cap;
	}
	ev->seq = g->seq++;
	v->v[v->n++] = *ev;
}

int32_t af_gen_truth_add(struct af_gen *g, const char *rule, uint32_t account, int64_t from,
                         int64_t to, const char *note)
{
	if (g->n_truth == g->cap_truth) {
		size_t cap = g->cap_truth ? g->cap_truth * 2 : 16;
		struct af_gen_truth *t = realloc(g->truth, cap * sizeof(*t));
		if (!t) {
			g->nomem = true;
			return -1;
		}
		g->truth = t;
		g->cap_truth = cap;
	}
	struct af_gen_truth *t = &g->truth[g->n_truth];
	memset(t, 0, sizeof(*t));
	t->rule = rule;
	t->account = account;
	t->from = from;
	t->to = to;
	snprintf(t->note, sizeof(t->note), "%s", note);
	return (int32_t)g->n_truth++;
}

static int ev_cmp(const void *pa, const void *pb)
{
	const struct af_gen_ev *a = pa, *b = pb;
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Write every pending event earlier than bound, in time order. */
static af_err_t flush(struct af_gen *g, int64_t bound)
{
	for (int f = 0; f < AF_GEN_OUT_COUNT; f++) {
		struct af_gen_vec *v = &g->pend[f];
		if (v->n == 0)
			continue;
		qsort(v->v, v->n, sizeof(*v->v), ev_cmp);
		size_t i = 0;
		for (; i < v->n && v->v[i].ts < bound; i++) {
			const struct af_gen_ev *ev = &v->v[i];
			if (ev->ts < g->start || ev->ts >= g->end)
				continue;
			af_err_t err = af_gen_writer_put(g, (enum af_gen_file)f, ev);
			if (err != AF_OK)
				return err;
		}
		memmove(v->v, v->v + i, (v->n - i) * sizeof(*v->v));
		v->n -= i;
	}
	if (bound > g->flushed_to)
		g->flushed_to = bound;
	return AF_OK;
}

/* ---- options ------------------------------------------------------------- */

static const char *const scenario_names[AF_GEN_SCENARIO_COUNT] = {
    [AF_GEN_BASELINE] = "baseline",
    [AF_GEN_SEED_INCIDENT] = "seed-incident",
    [AF_GEN_PASSWORD_SPRAY] = "password-spray",
    [AF_GEN_BEC_INBOX_RULE] = "bec-inbox-rule",
    [AF_GEN_FORWARDING] = "forwarding",
};

const char *af_gen_scenario_name(enum af_gen_scenario s)
{
	return (unsigned)s < AF_GEN_SCENARIO_COUNT ? scenario_names[s] : "?";
}

bool af_gen_scenario_parse(const char *name, enum af_gen_scenario *out)
{
	for (int s = 0; s < AF_GEN_SCENARIO_COUNT; s++) {
		if (strcmp(name, scenario_names[s]) == 0) {
			*out = (enum af_gen_scenario)s;
			return true;
		}
	}
	return false;
}

/* 2025-08-01T00:00:00Z */
#define DEFAULT_START (1754006400LL * AF_GEN_NS)
/* 2200-01-01T00:00:00Z: far enough, and far from int64 overflow. */
#define LATEST_START (7258118400LL * AF_GEN_NS)

void af_gen_opts_init(struct af_gen_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->scenario = AF_GEN_BASELINE;
	o->seed = 1;
	o->accounts = 200;
	o->days = 14;
	o->start_ns = DEFAULT_START;
	o->signins_lo = 20;
	o->signins_hi = 60;
	o->sends_lo = 5;
	o->sends_hi = 50;
}

af_err_t af_gen_opts_check(const struct af_gen_opts *o, char *errstr, size_t errstr_size)
{
	if ((unsigned)o->scenario >= AF_GEN_SCENARIO_COUNT) {
		snprintf(errstr, errstr_size, "unknown scenario");
		return AF_E_CONFIG;
	}
	if (o->accounts < 1 || o->accounts > AF_GEN_ACCOUNTS_MAX) {
		snprintf(errstr, errstr_size, "--accounts must be 1 to %u", AF_GEN_ACCOUNTS_MAX);
		return AF_E_CONFIG;
	}
	if (o->days < 1 || o->days > AF_GEN_DAYS_MAX) {
		snprintf(errstr, errstr_size, "--days must be 1 to %u", AF_GEN_DAYS_MAX);
		return AF_E_CONFIG;
	}
	if (o->scenario != AF_GEN_BASELINE && o->days < 2) {
		snprintf(errstr, errstr_size,
		         "scenario %s needs --days 2 or more (a day of history before the attack)",
		         af_gen_scenario_name(o->scenario));
		return AF_E_CONFIG;
	}
	if (o->signins_lo < 1 || o->signins_lo > o->signins_hi ||
	    o->signins_hi > AF_GEN_PER_DAY_MAX) {
		snprintf(errstr, errstr_size,
		         "sign-ins per day must be LO-HI with 1 <= LO <= HI <= %u",
		         AF_GEN_PER_DAY_MAX);
		return AF_E_CONFIG;
	}
	if (o->sends_lo > o->sends_hi || o->sends_hi > AF_GEN_PER_DAY_MAX) {
		snprintf(errstr, errstr_size,
		         "sends per day must be LO-HI with 0 <= LO <= HI <= %u",
		         AF_GEN_PER_DAY_MAX);
		return AF_E_CONFIG;
	}
	if (o->start_ns < 0 || o->start_ns > LATEST_START) {
		snprintf(errstr, errstr_size, "--start must be between 1970 and 2200");
		return AF_E_CONFIG;
	}
	return AF_OK;
}

/* ---- the run ------------------------------------------------------------- */

/* mkdir -p. */
static af_err_t make_dirs(const char *dir, char *errstr, size_t errstr_size)
{
	size_t len = strlen(dir);
	char *p = malloc(len + 1);
	if (!p) {
		snprintf(errstr, errstr_size, "out of memory");
		return AF_E_NOMEM;
	}
	memcpy(p, dir, len + 1);
	af_err_t err = AF_OK;
	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char c = p[i];
		p[i] = '\0';
		struct stat st;
		if (mkdir(p, 0777) != 0 &&
		    !(errno == EEXIST && stat(p, &st) == 0 && S_ISDIR(st.st_mode))) {
			snprintf(errstr, errstr_size, "%s: cannot create the directory: %s", p,
			         errno == EEXIST ? "a file of that name exists" : strerror(errno));
			err = AF_E_IO;
			break;
		}
		p[i] = c;
	}
	free(p);
	return err;
}

static void gen_free(struct af_gen *g)
{
	for (int f = 0; f < AF_GEN_OUT_COUNT; f++)
		free(g->pend[f].v);
	free(g->truth);
	free(g->acct);
	free(g->nets);
	free(g->net_partner);
	free(g->offices);
}

static int weekday(int64_t days_since_epoch)
{
	return (int)((days_since_epoch + 4) % 7); /* 1970-01-01 was a Thursday; 0 Sunday */
}

af_err_t af_gen_run(const struct af_gen_opts *o, const char *dir, struct af_gen_stats *st,
                    char *errstr, size_t errstr_size)
{
	struct af_gen g;
	memset(&g, 0, sizeof(g));
	memset(st, 0, sizeof(*st));
	af_err_t err = af_gen_opts_check(o, errstr, errstr_size);
	if (err != AF_OK)
		return err;
	g.opts = *o;
	g.base_day = o->start_ns / AF_GEN_DAY;
	g.start = o->start_ns;
	g.end = o->start_ns + (int64_t)o->days * AF_GEN_DAY;
	g.flushed_to = INT64_MIN;
	g.first_workday = -1;
	for (uint32_t d = 0; d < o->days && g.first_workday < 0; d++) {
		int wd = weekday(g.base_day + d);
		if (wd != 0 && wd != 6)
			g.first_workday = (int32_t)d;
	}
	g.n_acct = o->accounts;
	g.acct = calloc(g.n_acct, sizeof(*g.acct));
	if (!g.acct || build_nets(&g) != AF_OK) {
		err = AF_E_NOMEM;
		goto nomem;
	}
	draw_profiles(&g);
	af_gen_scenario_plan(&g);
	draw_details(&g);
	if (g.nomem) {
		err = AF_E_NOMEM;
		goto nomem;
	}
	err = make_dirs(dir, errstr, errstr_size);
	if (err != AF_OK)
		goto cleanup;
	err = af_gen_writer_open(&g, dir, errstr, errstr_size);
	if (err != AF_OK)
		goto cleanup;

	for (uint32_t d = 0; d < o->days && err == AF_OK; d++) {
		for (uint32_t a = 0; a < g.n_acct; a++)
			af_gen_baseline_day(&g, a, d);
		af_gen_scenario_day(&g, d);
		if (g.nomem) {
			err = AF_E_NOMEM;
			break;
		}
		/* Day d+1 starts no earlier than its UTC midnight less the
		 * easternmost offset. */
		err = flush(&g, (g.base_day + d + 1) * AF_GEN_DAY - AF_GEN_MAX_EAST);
	}
	if (err == AF_OK)
		err = flush(&g, INT64_MAX);
	if (err == AF_OK && g.nomem)
		err = AF_E_NOMEM;
	if (err == AF_OK) {
		err = af_gen_writer_close(&g, dir, st, errstr, errstr_size);
	} else {
		/* The writer's own message names the file that failed. */
		af_err_t cerr = af_gen_writer_close(&g, NULL, st, errstr, errstr_size);
		if (err == AF_E_IO && cerr == AF_OK)
			snprintf(errstr, errstr_size, "%s: write failed", dir);
	}
nomem:
	if (err == AF_E_NOMEM)
		snprintf(errstr, errstr_size, "out of memory");
cleanup:
	gen_free(&g);
	return err;
}
