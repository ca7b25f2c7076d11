/* bench_detect.c - the detect-stage benchmark: single-thread events/s of
 * af_shard_apply (account and address tables, every rule, learning) over
 * the parse benchmark's corpus, and the memory one account really costs.
 *
 * Thread: main only. Single-threaded by design; pins itself to the CPU it
 * starts on when the kernel allows (--no-pin to leave scheduling alone).
 * In: options (see usage()). Out: a table on stdout, or one JSON object
 * with --json; with --sizes, af_account_size_report on stderr. Exit 0; 1
 * when a record fails to parse, two passes over the same events raise
 * different alerts or keep different state, or the memory phase's shard
 * evicts or expires an account; 2 on a usage error.
 *
 * DESIGN: only the stage is timed. The corpus is parsed once, before any
 * timing, with af_parse_record as bench_parse times it, and each event
 * gets a synthetic geo in place of the enrich stage: a place drawn from a
 * fixed, weighted table of 31 (country, city, location, accuracy radius,
 * ASN, organisation, hosting/VPN/Tor flags) by a hash of its source
 * address, so an address always lands in the same place, as with a real
 * database, and familiarity, new_country, new_asn and impossible_travel do
 * their real work (Vietnamese and US access networks dominate; a few
 * percent of addresses are cloud hosting, fewer VPN or Tor; some radii
 * are too coarse for a travel distance). Events are then put in event
 * time order (a stable sort: the Entra records' sign-in time precedes
 * their record time by seconds), which is what the shard expects of each
 * account. Every pass gets a fresh shard, made and freed outside the
 * clock, so every pass sees the same sequence from an empty state: the
 * alerts raised (count, per rule and a checksum of ids and times in order)
 * and the state held must be identical in every pass, which checks that
 * the stage is deterministic. A fresh shard's slabs are committed as
 * entries first use them, so each timed pass includes those page faults
 * (the report counts them).
 *
 * Memory: the table allocates its slabs at the caps but writes only its
 * probe array (and the HLL pool its free list) at creation, so the
 * resident set is read three times: before af_shard_new, after it, and
 * after N accounts have each had a few events. (after events - after new)
 * / N is what an account costs in committed pages; (after new - before)
 * is the fixed price of the caps, shown apart.
 */
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <xxhash.h>

#include "bench/bench_util.h"
#include "bench/corpus.h"
#include "pipeline/config.h"
#include "pipeline/enrich/netlist.h" /* af_ip_is_internal */
#include "pipeline/event.h"
#include "pipeline/parse/parse.h"
#include "pipeline/rules/rule.h"
#include "pipeline/shard.h"
#include "pipeline/state/account.h"

#define N(a)       (sizeof(a) / sizeof((a)[0]))
#define MAX_PASSES AF_BENCH_MEDIAN_MAX

/* Events per account in the memory phase: 2 sign-ins, an Exchange send
 * and its message trace row. */
#define MEM_EVENTS 4

/* 2025-08-01T00:00:00Z, where the memory phase's clock starts. */
#define MEM_EPOCH_NS 1754006400000000000LL

struct bench_opts {
	struct af_corpus_opts corpus;
	uint64_t mem_accounts;
	unsigned passes;
	bool json;
	bool pin;
	bool sizes;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: bench_detect [--events N] [--accounts N] [--mem-accounts N] [--passes N]\n"
	        "                    [--seed S] [--json] [--no-pin] [--sizes]\n"
	        "  --events N        records in the corpus (default 1000000)\n"
	        "  --accounts N      distinct accounts, Zipf-distributed (default 100000)\n"
	        "  --mem-accounts N  accounts in the memory phase, 1000 or more (default 1000000)\n"
	        "  --passes N        timed passes after one warm-up (default 5)\n"
	        "  --seed S          corpus seed (default 1)\n"
	        "  --json            one JSON object instead of the table\n"
	        "  --no-pin          do not pin the benchmark to one CPU\n"
	        "  --sizes           write af_account_size_report to stderr\n");
}

/* 0 on success, 2 on a usage error (after saying why), -1 for --help. */
static int parse_args(int argc, char **argv, struct bench_opts *o)
{
	*o = (struct bench_opts){
	    .corpus = {.events = 1000000, .accounts = 100000, .seed = 1},
	    .mem_accounts = 1000000,
	    .passes = 5,
	    .pin = true,
	};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;
		if (strcmp(a, "--events") == 0 && af_bench_parse_u64(v, 1, 100000000, &n)) {
			o->corpus.events = (size_t)n;
		} else if (strcmp(a, "--accounts") == 0 &&
		           af_bench_parse_u64(v, 1, 100000000, &n)) {
			o->corpus.accounts = (uint32_t)n;
		} else if (strcmp(a, "--mem-accounts") == 0 &&
		           af_bench_parse_u64(v, 1000, 100000000, &n)) {
			/* fewer would be lost in page granularity (and the
			 * reference shard below has 16) */
			o->mem_accounts = n;
		} else if (strcmp(a, "--passes") == 0 && af_bench_parse_u64(v, 1, MAX_PASSES, &n)) {
			o->passes = (unsigned)n;
		} else if (strcmp(a, "--seed") == 0 && af_bench_parse_u64(v, 0, UINT64_MAX, &n)) {
			o->corpus.seed = n;
		} else if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		} else if (strcmp(a, "--no-pin") == 0) {
			o->pin = false;
			continue;
		} else if (strcmp(a, "--sizes") == 0) {
			o->sizes = true;
			continue;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return -1;
		} else {
			fprintf(stderr, "bench_detect: bad option or value: %s%s%s\n", a,
			        v ? " " : "", v ? v : "");
			usage(stderr);
			return 2;
		}
		i++; /* the option's value */
	}
	return 0;
}

/* Minor page faults of this process so far. */
static uint64_t minor_faults(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? (uint64_t)ru.ru_minflt : 0;
}

/* --- synthetic geo ----------------------------------------------------------- */

/* Where an address is. Weights are relative shares of addresses (not of events:
 * the corpus's addresses follow a Zipf law, so the share of events from a
 * place depends on which hot addresses land there). Radii above
 * rules.impossible_travel.max_radius_km (200 by default) give no travel
 * distance, as a country-level answer for a mobile carrier does not. */
static const struct place {
	const char *country, *city;
	double lat, lon;
	uint32_t radius_km, asn;
	const char *as_org;
	uint32_t flags; /* AF_GEO_* besides FOUND and HAS_LOCATION */
	unsigned weight;
} places[] = {
    {"VN", "Hanoi", 21.0285, 105.8542, 20, 45899, "VNPT Corp", 0, 120},
    {"VN", "Hanoi", 21.0285, 105.8542, 20, 7552, "Viettel Group", 0, 110},
    {"VN", "Ho Chi Minh City", 10.8231, 106.6297, 10, 18403, "FPT Telecom", 0, 110},
    {"VN", "Ho Chi Minh City", 10.8231, 106.6297, 20, 7552, "Viettel Group", 0, 70},
    {"VN", "Da Nang", 16.0544, 108.2022, 50, 45899, "VNPT Corp", 0, 30},
    {"VN", "", 16.1667, 107.8333, 500, 7552, "Viettel Group", 0, 30},
    {"US", "Seattle", 47.6062, -122.3321, 10, 7922, "Comcast Cable", 0, 50},
    {"US", "New York", 40.7128, -74.0060, 20, 701, "Verizon Business", 0, 40},
    {"US", "Chicago", 41.8781, -87.6298, 20, 7018, "AT&T Services", 0, 30},
    {"US", "San Jose", 37.3382, -121.8863, 10, 7922, "Comcast Cable", 0, 20},
    {"US", "", 37.7510, -97.8220, 1000, 21928, "T-Mobile USA", 0, 20},
    {"US", "Ashburn", 39.0438, -77.4874, 1000, 14618, "Amazon.com", AF_GEO_HOSTING, 12},
    {"US", "Boardman", 45.8399, -119.7006, 1000, 16509, "Amazon.com", AF_GEO_HOSTING, 5},
    {"US", "Des Moines", 41.5868, -93.6250, 100, 8075, "Microsoft Corporation", AF_GEO_HOSTING, 8},
    {"GB", "London", 51.5072, -0.1276, 20, 2856, "British Telecommunications", 0, 30},
    {"GB", "Manchester", 53.4808, -2.2426, 20, 5089, "Virgin Media", 0, 10},
    {"NL", "Amsterdam", 52.3676, 4.9041, 5, 14061, "DigitalOcean", AF_GEO_HOSTING, 5},
    {"DE", "Frankfurt", 50.1109, 8.6821, 5, 24940, "Hetzner Online", AF_GEO_HOSTING, 5},
    {"FR", "Roubaix", 50.6942, 3.1746, 5, 16276, "OVH SAS", AF_GEO_HOSTING, 4},
    {"SG", "Singapore", 1.3521, 103.8198, 5, 7473, "Singapore Telecommunications", 0, 25},
    {"JP", "Tokyo", 35.6762, 139.6503, 20, 2914, "NTT America", 0, 20},
    {"AU", "Sydney", -33.8688, 151.2093, 20, 1221, "Telstra", 0, 12},
    {"IN", "Mumbai", 19.0760, 72.8777, 50, 55836, "Reliance Jio", 0, 12},
    {"KR", "Seoul", 37.5665, 126.9780, 10, 4766, "Korea Telecom", 0, 10},
    {"TH", "Bangkok", 13.7563, 100.5018, 20, 7470, "True Internet", 0, 10},
    {"BR", "Sao Paulo", -23.5505, -46.6333, 20, 28573, "Claro", 0, 8},
    {"NG", "Lagos", 6.5244, 3.3792, 100, 29465, "MTN Nigeria", 0, 5},
    {"RU", "Moscow", 55.7558, 37.6173, 20, 12389, "Rostelecom", 0, 5},
    {"CH", "Zurich", 47.3769, 8.5417, 50, 9009, "M247 Europe",
     AF_GEO_VPN | AF_GEO_ANONYMOUS | AF_GEO_HOSTING, 4},
    {"DE", "Berlin", 52.5200, 13.4050, 100, 60729, "Stiftung Erneuerbare Freiheit",
     AF_GEO_TOR | AF_GEO_ANONYMOUS, 3},
    {"ZA", "Johannesburg", -26.2041, 28.0473, 20, 3741, "Internet Solutions", 0, 5},
};

/* The place an address hash draws. */
static const struct place *place_of(uint64_t h)
{
	unsigned total = 0;

	for (size_t i = 0; i < N(places); i++)
		total += places[i].weight;
	unsigned u = (unsigned)((h >> 32) % total);
	for (size_t i = 0; i < N(places); i++) {
		if (u < places[i].weight)
			return &places[i];
		u -= places[i].weight;
	}
	return &places[0];
}

/* Give ev the geo the enrich stage would, from the table instead of a
 * database: internal addresses keep the record's location (if any) and
 * are flagged; every other address is found. Events without an address
 * keep what the parse stage gave them. */
static void synth_geo(struct af_event *ev)
{
	if (ev->src.family == AF_IP_NONE)
		return;
	if (af_ip_is_internal(&ev->src)) {
		if (!(ev->flags & AF_EV_GEO_FROM_RECORD))
			memset(&ev->geo, 0, sizeof(ev->geo));
		ev->geo.flags |= AF_GEO_INTERNAL;
		return;
	}
	uint64_t h = XXH3_64bits(ev->src.bytes, sizeof(ev->src.bytes));
	const struct place *p = place_of(h);
	struct af_geo *g = &ev->geo;

	memset(g, 0, sizeof(*g));
	snprintf(g->country, sizeof(g->country), "%s", p->country);
	snprintf(g->city, sizeof(g->city), "%s", p->city);
	snprintf(g->as_org, sizeof(g->as_org), "%s", p->as_org);
	/* a few kilometres apart within a city, as networks are */
	g->lat = p->lat + ((double)(h & 0xffff) / 65535.0 - 0.5) * 0.1;
	g->lon = p->lon + ((double)(h >> 16 & 0xffff) / 65535.0 - 0.5) * 0.1;
	g->radius_km = p->radius_km;
	g->asn = p->asn;
	g->flags = AF_GEO_FOUND | AF_GEO_HAS_LOCATION | p->flags;
	ev->flags &= ~(uint32_t)AF_EV_GEO_FROM_RECORD;
}

/* --- the events -------------------------------------------------------------- */

struct events {
	struct af_event *ev;
	size_t count;
	size_t bytes;      /* corpus record text */
	size_t reordered;  /* records earlier than the one before them */
	size_t hosting;    /* events from hosting addresses */
	size_t anonymous;  /* ... from VPN, Tor or anonymous ones */
	size_t internal;   /* ... from internal addresses */
	size_t no_address; /* events without a source address */
	size_t by_kind[AF_KIND_COUNT];
};

struct ts_index {
	int64_t ts;
	size_t i;
};

/* By time, then by position: a stable order. */
static int cmp_ts_index(const void *a, const void *b)
{
	const struct ts_index *x = a, *y = b;

	if (x->ts != y->ts)
		return (x->ts > y->ts) - (x->ts < y->ts);
	return (x->i > y->i) - (x->i < y->i);
}

/* Put e->ev in non-decreasing event time, keeping the record order among
 * equal times. False when out of memory. */
static bool events_sort(struct events *e)
{
	struct ts_index *idx = malloc(e->count * sizeof(*idx));
	struct af_event *sorted = malloc(e->count * sizeof(*sorted));

	if (!idx || !sorted) {
		free(idx);
		free(sorted);
		return false;
	}
	for (size_t i = 0; i < e->count; i++)
		idx[i] = (struct ts_index){e->ev[i].ts_ns, i};
	qsort(idx, e->count, sizeof(*idx), cmp_ts_index);
	for (size_t i = 0; i < e->count; i++)
		sorted[i] = e->ev[idx[i].i];
	free(idx);
	free(e->ev);
	e->ev = sorted;
	return true;
}

/* Build the corpus, parse every record, give each event its geo and put
 * them in time order. False (after saying why) on any failure. */
static bool events_init(struct events *e, const struct bench_opts *o)
{
	struct af_corpus c = {0};
	struct af_parser *ps = NULL;
	char err[256];
	bool ok = false;

	if (af_corpus_init(&c, &o->corpus, err, sizeof(err)) != AF_OK) {
		fprintf(stderr, "bench_detect: %s\n", err);
		goto cleanup;
	}
	ps = af_parser_new(c.max_len, err, sizeof(err));
	if (!ps) {
		fprintf(stderr, "bench_detect: parser: %s\n", err);
		goto cleanup;
	}
	e->ev = calloc(c.count, sizeof(*e->ev));
	if (!e->ev) {
		fprintf(stderr, "bench_detect: out of memory for %zu events\n", c.count);
		goto cleanup;
	}
	e->bytes = c.bytes;
	for (size_t i = 0; i < c.count; i++) {
		struct af_event *ev = &e->ev[i];
		const char *detail = NULL;
		enum af_reason r = af_parse_record(ps, c.buf + c.off[i], c.len[i], ev, &detail);
		if (r != AF_REASON_NONE) {
			fprintf(stderr,
			        "bench_detect: FAIL: record %zu (%s) did not parse: %s (%s)\n", i,
			        af_corpus_type_name((enum af_corpus_type)c.type[i]),
			        af_reason_name(r), detail ? detail : "");
			goto cleanup;
		}
		synth_geo(ev);
		if (i > 0 && ev->ts_ns < e->ev[i - 1].ts_ns)
			e->reordered++;
		if (ev->src.family == AF_IP_NONE)
			e->no_address++;
		else if (ev->geo.flags & AF_GEO_INTERNAL)
			e->internal++;
		if (ev->geo.flags & AF_GEO_HOSTING)
			e->hosting++;
		if (ev->geo.flags & (AF_GEO_VPN | AF_GEO_ANONYMOUS | AF_GEO_TOR | AF_GEO_PROXY))
			e->anonymous++;
		if (ev->kind < AF_KIND_COUNT)
			e->by_kind[ev->kind]++;
	}
	e->count = c.count;
	if (e->reordered && !events_sort(e)) {
		fprintf(stderr, "bench_detect: out of memory sorting %zu events\n", e->count);
		goto cleanup;
	}
	ok = true;
cleanup:
	af_parser_free(ps);
	af_corpus_fini(&c);
	return ok;
}

static void events_fini(struct events *e)
{
	free(e->ev);
	memset(e, 0, sizeof(*e));
}

/* --- alerts ------------------------------------------------------------------ */

/* What a pass raised: the emit callback's context. */
struct tally {
	const struct af_rule *const *rules; /* the registry, to number alerts */
	size_t nrules;
	uint64_t alerts;
	uint64_t checksum; /* of ids and times, in the order raised */
	uint64_t by_rule[AF_RULE_NUM];
	uint64_t unknown_rule;
};

static void tally_init(struct tally *t)
{
	*t = (struct tally){0};
	t->rules = af_rules_all(&t->nrules);
}

static void on_alert(void *ctx, const struct af_alert *a)
{
	struct tally *t = ctx;
	size_t i;

	t->alerts++;
	t->checksum = (t->checksum ^ a->id) * 0x100000001B3ULL + (uint64_t)a->ts_ns;
	/* a->rule is the rule's own id text; compare pointers first */
	for (i = 0; i < t->nrules && t->rules[i]->id != a->rule; i++)
		;
	if (i == t->nrules)
		for (i = 0; i < t->nrules && strcmp(t->rules[i]->id, a->rule) != 0; i++)
			;
	if (i < t->nrules && t->rules[i]->num < AF_RULE_NUM)
		t->by_rule[t->rules[i]->num]++;
	else
		t->unknown_rule++;
}

static bool tally_equal(const struct tally *a, const struct tally *b)
{
	return a->alerts == b->alerts && a->checksum == b->checksum &&
	       a->unknown_rule == b->unknown_rule &&
	       memcmp(a->by_rule, b->by_rule, sizeof(a->by_rule)) == 0;
}

/* The id of rule number num, or "?". */
static const char *rule_name(const struct tally *t, unsigned num)
{
	for (size_t i = 0; i < t->nrules; i++)
		if (t->rules[i]->num == num)
			return t->rules[i]->id;
	return "?";
}

/* --- the timed passes -------------------------------------------------------- */

struct pass {
	double s;        /* seconds in af_shard_apply */
	uint64_t faults; /* minor page faults meanwhile */
	struct tally tally;
	struct af_shard_stats st;
};

/* One pass over every event on a fresh shard; creation and freeing are
 * not timed. False (after saying why) when the shard cannot be made. */
static bool pass_run(const struct af_config *cfg, const struct events *e, struct pass *p)
{
	struct af_shard *s = NULL;
	char err[256];

	tally_init(&p->tally);
	if (af_shard_new(cfg, on_alert, &p->tally, &s, err, sizeof(err)) != AF_OK) {
		fprintf(stderr, "bench_detect: shard: %s\n", err);
		return false;
	}
	uint64_t f0 = minor_faults();
	double t0 = af_clock_s();
	for (size_t i = 0; i < e->count; i++)
		af_shard_apply(s, &e->ev[i]);
	p->s = af_clock_s() - t0;
	p->faults = minor_faults() - f0;
	af_shard_stats(s, &p->st);
	af_shard_free(s);
	return true;
}

/* Whether pass b did what pass a did; says what differs when not. */
static bool pass_same(const struct pass *a, const struct pass *b, unsigned n)
{
	const struct af_shard_stats *x = &a->st, *y = &b->st;

	if (!tally_equal(&a->tally, &b->tally)) {
		fprintf(stderr,
		        "bench_detect: FAIL: pass %u raised %" PRIu64
		        " alerts (checksum %016" PRIx64 "), the warm-up %" PRIu64 " (%016" PRIx64
		        ")\n",
		        n, b->tally.alerts, b->tally.checksum, a->tally.alerts, a->tally.checksum);
		return false;
	}
	if (x->accounts != y->accounts || x->addresses != y->addresses ||
	    x->account_evictions != y->account_evictions ||
	    x->account_expirations != y->account_expirations ||
	    x->address_evictions != y->address_evictions ||
	    x->address_expirations != y->address_expirations || x->hll_refused != y->hll_refused) {
		fprintf(stderr, "bench_detect: FAIL: pass %u kept other state than the warm-up\n",
		        n);
		return false;
	}
	return true;
}

/* --- the memory phase -------------------------------------------------------- */

struct mem {
	uint64_t accounts;
	size_t rss_before_new, rss_after_new, rss_after_fill;
	struct af_shard_stats st;
	double table_per_account; /* the account table's allocation per entry */
	struct tally tally;
};

/* Event k (0..MEM_EVENTS-1) of memory-phase account i, at time t: two
 * successful sign-ins from two addresses of the account's own, then a
 * send from Outlook on the web and its message trace row, so the
 * familiarity sets, travel anchor, send window, baseline and distinct
 * recipients all hold something. */
static void mem_event(struct af_event *ev, uint64_t i, unsigned k, int64_t t)
{
	static const unsigned char first_octet[] = {13, 20,  23,  40,  52,  81,
	                                            91, 104, 113, 146, 185, 203};
	int len;

	memset(ev, 0, sizeof(*ev));
	ev->ts_ns = t;
	len = snprintf(ev->account, sizeof(ev->account), "u%08" PRIu64 ".mem@contoso.com", i);
	ev->account_hash = XXH3_64bits(ev->account, (size_t)len);
	ev->name_hash = XXH3_64bits_withSeed(ev->account, (size_t)len, 1);
	snprintf(ev->record_id, sizeof(ev->record_id), "mem-%" PRIu64 "-%u", i, k);
	ev->dedup_key = XXH3_64bits(ev->record_id, strlen(ev->record_id)) | 1;

	/* sign-in k from the account's address k; mail from address 0 */
	uint64_t h = XXH3_64bits_withSeed(&i, sizeof(i), k == 1 ? 2 : 1);
	ev->src.family = AF_IP_V4;
	ev->src.bytes[10] = ev->src.bytes[11] = 0xff;
	ev->src.bytes[12] = first_octet[h % sizeof(first_octet)];
	ev->src.bytes[13] = (uint8_t)(h >> 8);
	ev->src.bytes[14] = (uint8_t)(h >> 16);
	ev->src.bytes[15] = (uint8_t)(h >> 24);
	synth_geo(ev);

	ev->schema = AF_SCHEMA_M365;
	ev->outcome = AF_OUTCOME_SUCCESS;
	if (k < 2) {
		ev->kind = AF_KIND_SIGNIN_OK;
		ev->flags |= AF_EV_INTERACTIVE;
		ev->ua_hash = 0x5bd1e9955bd1e995ULL;
		snprintf(ev->action, sizeof(ev->action), "UserLoggedIn");
	} else if (k == 2) {
		ev->kind = AF_KIND_MAIL_SEND;
		ev->flags |= AF_EV_SAVE_SENT_KNOWN | AF_EV_SAVE_SENT;
		ev->recipient_count = 1;
		snprintf(ev->action, sizeof(ev->action), "Send");
		snprintf(ev->app, sizeof(ev->app), "Client=OWA;Mozilla/5.0");
		snprintf(ev->folder, sizeof(ev->folder), "\\Sent Items");
	} else {
		ev->kind = AF_KIND_MAIL_SEND;
		ev->schema = AF_SCHEMA_MSGTRACE;
		ev->recipient_count = 1;
		snprintf(ev->recipient, sizeof(ev->recipient), "partner%" PRIu64 "@example.org",
		         i % 1000);
	}
}

/* Make a shard whose caps hold m->accounts accounts with nothing expiring,
 * read the resident set around its creation and after MEM_EVENTS events
 * for each account. False (after saying why) on failure, or when the
 * shard did not keep every account. */
static bool mem_run(struct mem *m)
{
	struct af_config cfg;
	struct af_shard *s = NULL;
	char err[256], text[32];
	bool ok = false;

	af_config_init(&cfg);
	tally_init(&m->tally);
	snprintf(text, sizeof(text), "%" PRIu64, m->accounts);
	/* The events span MEM_EVENTS * accounts ms (a day and a half at
	 * 30 million accounts); a year of idle time expires nothing. */
	if (af_config_set(&cfg, "state.max_accounts", text, err, sizeof(err)) != AF_OK ||
	    af_config_set(&cfg, "state.idle", "365d", err, sizeof(err)) != AF_OK) {
		fprintf(stderr, "bench_detect: memory phase: %s\n", err);
		goto cleanup;
	}
	m->rss_before_new = af_bench_rss_bytes();
	if (af_shard_new(&cfg, on_alert, &m->tally, &s, err, sizeof(err)) != AF_OK) {
		fprintf(stderr, "bench_detect: memory phase: %s\n", err);
		goto cleanup;
	}
	m->rss_after_new = af_bench_rss_bytes();
	/* Round by round, so each account's events are in time order and
	 * the table sees the accounts arrive as a day's first sign-ins do. */
	for (unsigned k = 0; k < MEM_EVENTS; k++) {
		for (uint64_t i = 0; i < m->accounts; i++) {
			struct af_event ev;
			int64_t t = MEM_EPOCH_NS + (int64_t)(k * m->accounts + i) * 1000000;
			mem_event(&ev, i, k, t);
			af_shard_apply(s, &ev);
		}
	}
	m->rss_after_fill = af_bench_rss_bytes();
	af_shard_stats(s, &m->st);
	if (m->st.accounts != m->accounts || m->st.account_evictions || m->st.account_expirations) {
		fprintf(stderr,
		        "bench_detect: FAIL: memory phase: %" PRIu64 " of %" PRIu64
		        " accounts held (%" PRIu64 " evicted, %" PRIu64 " expired)\n",
		        m->st.accounts, m->accounts, m->st.account_evictions,
		        m->st.account_expirations);
		goto cleanup;
	}
	if (m->rss_before_new == 0 || m->rss_after_new == 0 || m->rss_after_fill == 0) {
		fprintf(stderr, "bench_detect: FAIL: memory phase: cannot read the resident set\n");
		goto cleanup;
	}
	/* What the account table alone allocates per entry: the same shard
	 * at the smallest account cap holds the address table and the HLL
	 * pool as before, so the difference is N - 16 accounts' worth. */
	af_shard_free(s);
	s = NULL;
	struct af_shard_stats small;
	if (af_config_set(&cfg, "state.max_accounts", "16", err, sizeof(err)) != AF_OK ||
	    af_shard_new(&cfg, on_alert, &m->tally, &s, err, sizeof(err)) != AF_OK) {
		fprintf(stderr, "bench_detect: memory phase: %s\n", err);
		goto cleanup;
	}
	af_shard_stats(s, &small);
	m->table_per_account = (double)(m->st.bytes - small.bytes) / (double)(m->accounts - 16);
	ok = true;
cleanup:
	af_shard_free(s);
	af_config_fini(&cfg);
	return ok;
}

/* --- report ------------------------------------------------------------------ */

struct report {
	const struct bench_opts *o;
	const struct events *e;
	int cpu;
	const struct pass *pass; /* o->passes timed passes */
	const struct pass *warm; /* the warm-up pass: alerts and state */
	double median_s;
	double median_faults;
	const struct mem *m;
};

static double share(size_t part, size_t whole)
{
	return whole ? (double)part / (double)whole : 0;
}

static double mem_per_account(const struct mem *m)
{
	/* signed: under a sanitizer's allocator the resident set can move
	 * either way */
	return ((double)m->rss_after_fill - (double)m->rss_after_new) / (double)m->accounts;
}

static void print_json(const struct report *r)
{
	const struct events *e = r->e;
	const struct af_shard_stats *st = &r->warm->st;
	const struct tally *t = &r->warm->tally;
	const struct mem *m = r->m;
	double n = (double)e->count;

	printf("{\"benchmark\":\"detect\",\"events\":%zu,\"accounts\":%" PRIu32 ",\"seed\":%" PRIu64
	       ",\"passes\":%u,\"cpu\":%d,\"rules\":%zu,\"reordered\":%zu,"
	       "\"avg_record_bytes\":%.1f,",
	       e->count, r->o->corpus.accounts, r->o->corpus.seed, r->o->passes, r->cpu, t->nrules,
	       e->reordered, (double)e->bytes / n);
	printf("\"geo\":{\"places\":%zu,\"hosting_share\":%.4f,\"anonymous_share\":%.4f,"
	       "\"internal\":%zu,\"no_address\":%zu},",
	       N(places), share(e->hosting, e->count), share(e->anonymous, e->count), e->internal,
	       e->no_address);
	printf("\"events_by_kind\":{");
	for (unsigned k = 0; k < AF_KIND_COUNT; k++)
		printf("%s\"%s\":%zu", k ? "," : "", af_kind_name((enum af_kind)k), e->by_kind[k]);
	printf("},");
	printf("\"detect\":{\"events_per_s\":%.0f,\"ns_per_event\":%.1f,\"faults_per_pass\":%.0f,"
	       "\"pass_ns_per_event\":[",
	       n / r->median_s, r->median_s * 1e9 / n, r->median_faults);
	for (unsigned p = 0; p < r->o->passes; p++)
		printf("%s%.1f", p ? "," : "", r->pass[p].s * 1e9 / n);
	printf("]},");
	printf("\"alerts\":{\"per_pass\":%" PRIu64 ",\"checksum\":\"%016" PRIx64
	       "\",\"identical\":true},\"alerts_by_rule\":{",
	       t->alerts, t->checksum);
	for (unsigned k = 0; k < AF_RULE_NUM; k++)
		printf("%s\"%s\":%" PRIu64, k ? "," : "", rule_name(t, k), t->by_rule[k]);
	printf("},\"state\":{\"accounts\":%" PRIu64 ",\"addresses\":%" PRIu64
	       ",\"account_evictions\":%" PRIu64 ",\"account_expirations\":%" PRIu64
	       ",\"address_evictions\":%" PRIu64 ",\"address_expirations\":%" PRIu64
	       ",\"hll_refused\":%" PRIu64 ",\"bytes\":%zu},",
	       st->accounts, st->addresses, st->account_evictions, st->account_expirations,
	       st->address_evictions, st->address_expirations, st->hll_refused, st->bytes);
	printf("\"memory\":{\"accounts\":%" PRIu64 ",\"events_per_account\":%d,"
	       "\"rss_before_new\":%zu,\"rss_after_new\":%zu,\"rss_after_events\":%zu,"
	       "\"bytes_per_account\":%.1f,\"creation_bytes\":%.0f,\"alloc_bytes\":%zu,"
	       "\"alloc_per_account\":%.1f,\"table_bytes_per_account\":%.1f,"
	       "\"sizeof_account\":%zu,\"sizeof_account_cold\":%zu,\"alerts\":%" PRIu64 "}}\n",
	       m->accounts, MEM_EVENTS, m->rss_before_new, m->rss_after_new, m->rss_after_fill,
	       mem_per_account(m), (double)m->rss_after_new - (double)m->rss_before_new,
	       m->st.bytes, (double)m->st.bytes / (double)m->accounts, m->table_per_account,
	       sizeof(struct af_account), sizeof(struct af_account_cold), m->tally.alerts);
}

static void print_table(const struct report *r)
{
	const struct events *e = r->e;
	const struct af_shard_stats *st = &r->warm->st;
	const struct tally *t = &r->warm->tally;
	const struct mem *m = r->m;
	double n = (double)e->count;

	printf("detect benchmark (single thread): af_shard_apply, %zu rules\n", t->nrules);
	printf("corpus   %zu records parsed into events, %" PRIu32 " accounts, seed %" PRIu64
	       "; %zu out of time order before the sort\n",
	       e->count, r->o->corpus.accounts, r->o->corpus.seed, e->reordered);
	printf("geo      synthetic, %zu places by address hash: %.1f %% of events hosting, "
	       "%.1f %% VPN/Tor/anonymous,\n"
	       "         %zu internal, %zu without an address\n",
	       N(places), 100 * share(e->hosting, e->count), 100 * share(e->anonymous, e->count),
	       e->internal, e->no_address);
	printf("kinds   ");
	for (unsigned k = 0; k < AF_KIND_COUNT; k++)
		if (e->by_kind[k])
			printf(" %s %zu", af_kind_name((enum af_kind)k), e->by_kind[k]);
	printf("\n");
	if (r->cpu >= 0)
		printf("cpu      pinned to cpu %d\n", r->cpu);
	else
		printf("cpu      not pinned\n");
	printf("passes   1 warm-up, then %u timed, each on a fresh shard (creation untimed); "
	       "median shown\n\n",
	       r->o->passes);
	printf("%-30s %12s %10s %14s\n", "", "events/s", "ns/event", "faults/pass");
	printf("%-30s %12.0f %10.1f %14.0f\n\n", "af_shard_apply", n / r->median_s,
	       r->median_s * 1e9 / n, r->median_faults);
	printf("alerts   %" PRIu64 " per pass, identical in every pass (checksum %016" PRIx64 ")\n",
	       t->alerts, t->checksum);
	for (unsigned k = 0; k < AF_RULE_NUM; k++)
		printf("  %-28s %10" PRIu64 "\n", rule_name(t, k), t->by_rule[k]);
	printf("state    %" PRIu64 " accounts, %" PRIu64 " addresses held; evicted %" PRIu64
	       "/%" PRIu64 ", expired %" PRIu64 "/%" PRIu64 ", HLL refused %" PRIu64
	       "; %.1f MB allocated at the caps\n\n",
	       st->accounts, st->addresses, st->account_evictions, st->address_evictions,
	       st->account_expirations, st->address_expirations, st->hll_refused,
	       (double)st->bytes / 1e6);
	printf("memory   %" PRIu64 " accounts, %d events each (2 sign-ins, a send, its message "
	       "trace row)\n",
	       m->accounts, MEM_EVENTS);
	printf("  %-52s %10.1f MB\n", "resident before af_shard_new",
	       (double)m->rss_before_new / 1e6);
	printf("  %-52s %+10.1f MB\n", "af_shard_new (probe arrays, HLL pool written)",
	       ((double)m->rss_after_new - (double)m->rss_before_new) / 1e6);
	printf("  %-52s %+10.1f MB\n", "the accounts' events",
	       ((double)m->rss_after_fill - (double)m->rss_after_new) / 1e6);
	printf("  %-52s %10.1f B\n", "per account, resident (events / accounts)",
	       mem_per_account(m));
	printf("  %-52s %10.1f B\n", "per account, allocated (stats bytes / accounts)",
	       (double)m->st.bytes / (double)m->accounts);
	printf("  %-52s %10.1f B\n", "  of which the account table's own, per entry",
	       m->table_per_account);
	printf("  %-52s %10zu B hot, %zu B cold\n", "sizeof(struct af_account), _cold",
	       sizeof(struct af_account), sizeof(struct af_account_cold));
}

int main(int argc, char **argv)
{
	int rc = 1;
	struct bench_opts o;
	struct af_config cfg;
	struct events e = {0};
	struct pass warm = {0}, *pass = NULL;
	double *pass_s = NULL, *faults = NULL;
	struct mem m = {0};

	/* glibc raises its mmap threshold each time a mapped block is freed,
	 * after which blocks up to 32 MiB come from the heap, where a freed
	 * shard's pages stay resident: a later shard would then reuse pages
	 * committed by an earlier one, and neither its page faults nor the
	 * memory phase's resident set would say what a shard costs. A fixed
	 * threshold keeps every large block a fresh mapping. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	af_config_init(&cfg);
	int a = parse_args(argc, argv, &o);
	if (a != 0) {
		rc = a < 0 ? 0 : a;
		goto cleanup;
	}
	if (o.sizes)
		af_account_size_report(stderr);
	if (!events_init(&e, &o))
		goto cleanup;
	int cpu = o.pin ? af_bench_pin_cpu() : -1;
	pass = calloc(o.passes, sizeof(*pass));
	pass_s = calloc(o.passes, sizeof(*pass_s));
	faults = calloc(o.passes, sizeof(*faults));
	if (!pass || !pass_s || !faults) {
		fprintf(stderr, "bench_detect: out of memory\n");
		goto cleanup;
	}

	/* The warm-up's alerts and state are the reference for every pass. */
	if (!pass_run(&cfg, &e, &warm))
		goto cleanup;
	if (warm.tally.unknown_rule) {
		fprintf(stderr, "bench_detect: FAIL: %" PRIu64 " alerts name no known rule\n",
		        warm.tally.unknown_rule);
		goto cleanup;
	}
	for (unsigned p = 0; p < o.passes; p++) {
		if (!pass_run(&cfg, &e, &pass[p]) || !pass_same(&warm, &pass[p], p + 1))
			goto cleanup;
		pass_s[p] = pass[p].s;
		faults[p] = (double)pass[p].faults;
	}
	/* The events are done with; the memory phase reads the resident set
	 * without them in the way. */
	free(e.ev);
	e.ev = NULL;

	m.accounts = o.mem_accounts;
	if (!mem_run(&m))
		goto cleanup;

	struct report r = {
	    .o = &o,
	    .e = &e,
	    .cpu = cpu,
	    .pass = pass,
	    .warm = &warm,
	    .median_s = af_bench_median(pass_s, o.passes),
	    .median_faults = af_bench_median(faults, o.passes),
	    .m = &m,
	};
	if (o.json)
		print_json(&r);
	else
		print_table(&r);
	rc = fflush(stdout) == 0 ? 0 : 1;
cleanup:
	free(pass);
	free(pass_s);
	free(faults);
	events_fini(&e);
	af_config_fini(&cfg);
	return rc;
}
