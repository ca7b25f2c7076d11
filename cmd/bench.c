/* bench.c - `auditflow bench [--accounts N] [--days D] [--events N]
 * [--addresses N] [--seed S] [--runs R] [--json] [-j THREADS]
 * [--batch-size N] [--geo-city MMDB --geo-asn MMDB] [-c CONFIG]`.
 *
 * Thread: the main thread; the runtime's threads during end-to-end runs.
 * In: the command line. Out: the report on stdout (a table, or one JSON
 * object with --json); progress on stderr when it is a terminal.
 *
 * DESIGN: bench's own options describe the corpus and the measuring, not
 * the engine, so they are no configuration keys (as gen's are not): they
 * are taken out of the command line here and every other word goes to the
 * configuration parser as bench's (-j, --batch-size, --geo-*, -c).
 * Measurements are interleaved, one round of every figure per run (framing,
 * the stages and the floor, then end to end at 1..N threads), so a slow
 * spell of the machine spreads over all figures rather than landing on
 * one; each figure is the median of its runs. The stages and the floor
 * take turns to go first, so neither always runs on the other's leftovers.
 * The floor is per core, so the pipeline is set against it per core: at T
 * threads, T x the end-to-end wall time per event over the floor's time
 * per event, how many times the floor one core spends. SIGINT and SIGTERM
 * are blocked and looked for between steps, so the work directory (the
 * corpus file is as big as the corpus) is always removed.
 */
#include "cmd/bench.h"
#include "cmd/cli.h"
#include "cmd/replay.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "cmd/bench_impl.h"
#include "ingest/gen.h"
#include "pipeline/parse/parse.h"
#include "pipeline/rules/rule.h"
#include "pipeline/runtime/runtime.h"
#include "sinks/jsonw.h"

/* Largest --addresses: the Zipf weights of a network's share are held in
 * memory (8 bytes an address of the largest share). */
#define ADDRESSES_MAX 100000000ull

enum stage { ST_FRAMING, ST_PARSE, ST_ENRICH, ST_DETECT, ST_COUNT };

static const char *const stage_names[ST_COUNT] = {"framing", "parse", "enrich", "detect"};

/* Per end-to-end thread count, each run's figures. */
struct e2e_runs {
	double *s, *p50, *p99, *rss;
	struct af_bench_e2e first; /* run 1, for counts and alerts */
	bool same_alerts;          /* every run raised the alerts of 1 thread */
};

struct bench {
	struct af_bench_opts o;
	struct af_config cfg;
	uint32_t threads; /* end to end at 1..threads */
	bool geo_built;
	bool progress;
	char *dir;
	sigset_t stop, old_mask;
	bool masked; /* old_mask holds the mask to restore */
	struct af_bench_corpus c;
	struct af_geo_hub *hub;
	double *stage_s[ST_COUNT]; /* per run */
	uint64_t stage_events[ST_COUNT];
	double *state_resident;      /* per run */
	double *floor_s;             /* per run */
	struct af_bench_floor floor; /* run 1's */
	struct af_bench_pass pass;   /* run 1's */
	bool stage_alerts_stable;    /* every pass raised run 1's alerts */
	struct e2e_runs *e2e;        /* threads entries */
	bool peak_reset;
	char parse_kernel[32];
	char err[1024];
};

bool af_bench_stopped(const sigset_t *stop)
{
	sigset_t pending;

	if (sigpending(&pending) != 0)
		return false;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(stop, sig) == 1 && sigismember(&pending, sig) == 1)
			return true;
	return false;
}

static void usage(FILE *out)
{
	fputs("usage: auditflow bench [OPTIONS]\n"
	      "\n"
	      "Measure auditflow on this machine. An invented organisation's audit logs (the\n"
	      "seed-incident scenario of auditflow gen, merged by event time) are held in\n"
	      "memory with geo databases built for their networks; then framing, parse,\n"
	      "enrich and detect are timed on one thread each, and the whole pipeline at 1\n"
	      "to THREADS threads (-j, default: online CPUs).\n"
	      "\n"
	      "  --accounts N   accounts in the organisation (default 2000)\n"
	      "  --days D       days of logs (default 7; at least 2)\n"
	      "  --events N     keep the first N records in event time, generating more\n"
	      "                 days when D days hold fewer (default: all of them)\n"
	      "  --addresses N  give the Entra sign-ins N client addresses, drawn Zipf-wise\n"
	      "                 within their own networks (default: the generator's own)\n"
	      "  --seed S       seed of the generator and the draws (default 1)\n"
	      "  --runs R       measure every figure R times, report the median (default 3)\n"
	      "  --json         print one JSON object instead of the table\n"
	      "\n"
	      "--geo-city and --geo-asn (or a configuration's geo section) use those\n"
	      "databases instead of building them. Time and memory: about 720 bytes a\n"
	      "record; the defaults make about 1.1 million records, held twice while\n"
	      "the corpus is built.\n\n",
	      out);
}

/* --- options ------------------------------------------------------------ */

/* Apply bench option name (without "--") = value. Returns 1 taken, 0 not
 * bench's, -1 bad value (message in err). */
static int own_option(struct af_bench_opts *o, const char *name, const char *value, char *err,
                      size_t err_size)
{
	struct {
		const char *name;
		uint64_t min, max;
	} const rows[] = {
	    {"accounts", 1, AF_GEN_ACCOUNTS_MAX},
	    {"days", 1, AF_GEN_DAYS_MAX},
	    {"events", 1, UINT64_MAX},
	    {"addresses", 1, ADDRESSES_MAX},
	    {"seed", 0, UINT64_MAX},
	    {"runs", 1, AF_BENCH_MEDIAN_MAX},
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (strcmp(name, rows[i].name) != 0)
			continue;
		if (!af_bench_parse_u64(value, rows[i].min, rows[i].max, &v)) {
			snprintf(err, err_size, "--%s: '%s' is not a number from %llu to %llu",
			         name, value ? value : "", (unsigned long long)rows[i].min,
			         (unsigned long long)rows[i].max);
			return -1;
		}
		switch (i) {
		case 0: o->accounts = (uint32_t)v; break;
		case 1: o->days = (uint32_t)v; break;
		case 2: o->events = v; break;
		case 3: o->addresses = v; break;
		case 4: o->seed = v; break;
		default: o->runs = (unsigned)v; break;
		}
		return 1;
	}
	return 0;
}

/* Take bench's options out of argv; the rest go to the configuration
 * parser in order. Returns 0, or 2 with err written. */
static int parse_args(struct bench *b, int argc, char **argv)
{
	char **rest = calloc((size_t)argc + 1, sizeof(*rest));
	int nrest = 0, status = 2;

	if (!rest) {
		snprintf(b->err, sizeof(b->err), "out of memory");
		return 1;
	}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			while (i < argc)
				rest[nrest++] = argv[i++];
			break;
		}
		if (strcmp(a, "--json") == 0) {
			b->o.json = true;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			rest[nrest++] = argv[i];
			continue;
		}
		char name[32];
		const char *inline_value;
		if (!af_cli_split(a, name, sizeof(name), &inline_value)) {
			rest[nrest++] = argv[i];
			continue;
		}
		const char *value =
		    inline_value ? inline_value : (i + 1 < argc ? argv[i + 1] : NULL);
		int r = own_option(&b->o, name, value, b->err, sizeof(b->err));
		if (r < 0)
			goto cleanup;
		if (r == 0)
			rest[nrest++] = argv[i];
		else if (!inline_value)
			i++;
	}
	if (af_config_parse_args(&b->cfg, AF_CMD_BENCH, nrest, rest, b->err, sizeof(b->err)) !=
	    AF_OK)
		goto cleanup;
	if (!b->cfg.cli.help && b->cfg.cli.args.count > 0) {
		snprintf(b->err, sizeof(b->err), "unexpected argument '%s'",
		         b->cfg.cli.args.items[0]);
		goto cleanup;
	}
	status = 0;
cleanup:
	free(rest);
	return status;
}

/* --- set-up ---------------------------------------------------------------- */

/* The hub's options from the configuration's geo section (paths borrowed). */
static void say(const struct bench *b, const char *what)
{
	if (b->progress)
		fprintf(stderr, "\r\033[Kauditflow bench: %s", what);
}

/* Corpus, databases and hub. Returns an exit status. */
static int prepare(struct bench *b)
{
	struct af_geo_hub_opts h;
	af_err_t err;
	bool given = b->cfg.geo.city || b->cfg.geo.asn || b->cfg.geo.anon;

	say(b, "generating the corpus");
	err =
	    af_bench_corpus_build(&b->o, &b->cfg, b->dir, &b->stop, &b->c, b->err, sizeof(b->err));
	if (err != AF_OK)
		return err == AF_E_CONFIG ? 2 : 1;
	if (!given) {
		say(b, "writing the geo databases");
		err = af_bench_geo_write(&b->c, b->dir, &b->cfg, b->err, sizeof(b->err));
		if (err != AF_OK)
			return 1;
		b->geo_built = true;
	}
	af_replay_geo_opts(&b->cfg.geo, &h);
	err = af_geo_hub_open(&h, &b->hub, b->err, sizeof(b->err));
	if (err != AF_OK)
		return given ? 2 : 1;
	struct af_parser *ps = af_parser_new(b->cfg.input.max_record_bytes, b->err, sizeof(b->err));
	if (!ps)
		return 1;
	snprintf(b->parse_kernel, sizeof(b->parse_kernel), "%s", af_parser_kernel(ps));
	af_parser_free(ps);
	return 0;
}

static bool alloc_runs(struct bench *b)
{
	unsigned r = b->o.runs;
	bool ok = true;

	for (int s = 0; s < ST_COUNT; s++)
		ok &= (b->stage_s[s] = calloc(r, sizeof(double))) != NULL;
	ok &= (b->state_resident = calloc(r, sizeof(double))) != NULL;
	ok &= (b->floor_s = calloc(r, sizeof(double))) != NULL;
	b->e2e = calloc(b->threads, sizeof(*b->e2e));
	if (!ok || !b->e2e)
		return false;
	for (uint32_t t = 0; t < b->threads; t++) {
		struct e2e_runs *e = &b->e2e[t];
		ok &= (e->s = calloc(r, sizeof(double))) != NULL;
		ok &= (e->p50 = calloc(r, sizeof(double))) != NULL;
		ok &= (e->p99 = calloc(r, sizeof(double))) != NULL;
		ok &= (e->rss = calloc(r, sizeof(double))) != NULL;
		e->same_alerts = true;
	}
	return ok;
}

static void free_runs(struct bench *b)
{
	for (int s = 0; s < ST_COUNT; s++)
		free(b->stage_s[s]);
	free(b->state_resident);
	free(b->floor_s);
	for (uint32_t t = 0; b->e2e && t < b->threads; t++) {
		free(b->e2e[t].s);
		free(b->e2e[t].p50);
		free(b->e2e[t].p99);
		free(b->e2e[t].rss);
	}
	free(b->e2e);
}

/* --- measuring -------------------------------------------------------------- */

/* Run r of parse, enrich and detect. Returns an exit status. */
static int measure_stages(struct bench *b, unsigned r)
{
	struct af_bench_pass p;
	char what[96];

	snprintf(what, sizeof(what), "run %u of %u: parse, enrich, detect", r + 1, b->o.runs);
	say(b, what);
	if (af_bench_stages(&b->c, &b->cfg, b->hub, &b->stop, &p, b->err, sizeof(b->err)) != AF_OK)
		return 1;
	b->stage_s[ST_PARSE][r] = p.parse_s;
	b->stage_s[ST_ENRICH][r] = p.enrich_s;
	b->stage_s[ST_DETECT][r] = p.detect_s;
	b->state_resident[r] = (double)p.state_resident;
	b->stage_events[ST_PARSE] = p.parsed;
	b->stage_events[ST_ENRICH] = b->stage_events[ST_DETECT] = p.events;
	if (r == 0) {
		b->pass = p;
		b->stage_alerts_stable = true;
	} else if (p.alerts != b->pass.alerts || p.alert_digest != b->pass.alert_digest) {
		b->stage_alerts_stable = false;
	}
	return 0;
}

/* Run r of the floor. Returns an exit status. */
static int measure_floor(struct bench *b, unsigned r)
{
	struct af_bench_floor f;
	char what[96];

	snprintf(what, sizeof(what), "run %u of %u: the floor", r + 1, b->o.runs);
	say(b, what);
	if (af_bench_floor(&b->c, &b->cfg, b->parse_kernel, &b->stop, &f, b->err, sizeof(b->err)) !=
	    AF_OK)
		return 1;
	b->floor_s[r] = f.seconds;
	if (r == 0)
		b->floor = f;
	return 0;
}

/* Run r of every figure. Returns an exit status. */
static int measure_round(struct bench *b, unsigned r, const char *alerts_path)
{
	double s;
	uint64_t framed;
	char what[96];

	snprintf(what, sizeof(what), "run %u of %u: framing", r + 1, b->o.runs);
	say(b, what);
	if (af_bench_framing(&b->c, &b->cfg, &b->stop, &s, &framed, b->err, sizeof(b->err)) !=
	    AF_OK)
		return 1;
	b->stage_s[ST_FRAMING][r] = s;
	b->stage_events[ST_FRAMING] = framed;

	/* the stages first on even runs, the floor first on odd ones */
	for (int k = 0; k < 2; k++) {
		int status = (k == 0) == (r % 2 == 0) ? measure_stages(b, r) : measure_floor(b, r);
		if (status != 0)
			return status;
	}

	for (uint32_t t = 0; t < b->threads; t++) {
		struct e2e_runs *e = &b->e2e[t];
		struct af_bench_e2e run;
		snprintf(what, sizeof(what), "run %u of %u: end to end, %u thread%s", r + 1,
		         b->o.runs, t + 1, t ? "s" : "");
		say(b, what);
		if (af_bench_e2e(&b->c, &b->cfg, b->hub, t + 1, alerts_path, &b->stop, &run, b->err,
		                 sizeof(b->err)) != AF_OK)
			return 1;
		e->s[r] = run.seconds;
		e->p50[r] = run.p50_s;
		e->p99[r] = run.p99_s;
		e->rss[r] = (double)run.peak_rss;
		if (r == 0)
			e->first = run;
		const struct af_bench_e2e *ref = &b->e2e[0].first;
		if (run.alerts != ref->alerts || run.alert_digest != ref->alert_digest)
			e->same_alerts = false;
		b->peak_reset = run.peak_reset;
	}
	return 0;
}

/* --- the report ---------------------------------------------------------------- */

/* n with thousands separators, into buf. */
static const char *thousands(uint64_t n, char *buf, size_t size)
{
	char digits[32];
	int len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n);
	size_t o = 0;

	for (int i = 0; i < len && o + 2 < size; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

/* A duration a person reads: "812 us", "3.4 ms", "1.20 s". */
static const char *duration(double s, char *buf, size_t size)
{
	if (s < 1e-3)
		snprintf(buf, size, "%.0f us", s * 1e6);
	else if (s < 1)
		snprintf(buf, size, "%.1f ms", s * 1e3);
	else
		snprintf(buf, size, "%.2f s", s);
	return buf;
}

struct rate {
	uint64_t events;
	double s; /* median seconds */
	double eps, ns, mbps;
};

static struct rate rate_of(const struct bench *b, uint64_t events, const double *runs)
{
	struct rate r = {.events = events, .s = af_bench_median(runs, b->o.runs)};

	if (r.s > 0 && events > 0) {
		r.eps = (double)events / r.s;
		r.ns = r.s * 1e9 / (double)events;
		r.mbps = (double)b->c.bytes / r.s / 1e6;
	}
	return r;
}

/* The floor's rate, per record given to it. */
static struct rate floor_rate(const struct bench *b)
{
	return rate_of(b, b->floor.records, b->floor_s);
}

/* parse + enrich + detect on one thread (the medians summed) per record
 * over the floor's time per record; 0 when unknown. */
static double stages_over_floor(const struct bench *b)
{
	struct rate f = floor_rate(b);
	double s = 0;

	for (int st = ST_PARSE; st <= ST_DETECT; st++)
		s += af_bench_median(b->stage_s[st], b->o.runs);
	if (f.ns <= 0 || b->stage_events[ST_PARSE] == 0)
		return 0;
	return s * 1e9 / (double)b->stage_events[ST_PARSE] / f.ns;
}

/* End to end / floor, per core, at t + 1 threads: the cores' time per
 * event (threads x wall time per event) over the floor's one core's;
 * 0 when unknown. */
static double e2e_over_floor(const struct bench *b, uint32_t t)
{
	struct rate e = rate_of(b, b->e2e[t].first.events_in, b->e2e[t].s);
	struct rate f = floor_rate(b);

	return f.ns > 0 ? (double)(t + 1) * e.ns / f.ns : 0;
}

/* The databases the floor looked up in, as words. */
static const char *floor_dbs(const struct bench *b)
{
	if (b->cfg.geo.city && b->cfg.geo.asn)
		return "the City and ASN databases";
	if (b->cfg.geo.city)
		return "the City database (no ASN database given)";
	if (b->cfg.geo.asn)
		return "the ASN database (no City database given)";
	return "no database (none given)";
}

static bool all_alerts_same(const struct bench *b)
{
	for (uint32_t t = 0; t < b->threads; t++)
		if (!b->e2e[t].same_alerts)
			return false;
	return true;
}

/* Whether the runtime raised the alerts the stages raised on one thread. */
static bool stages_match_e2e(const struct bench *b)
{
	return b->pass.alerts == b->e2e[0].first.alerts &&
	       b->pass.alert_digest == b->e2e[0].first.alert_digest;
}

static void print_table(const struct bench *b)
{
	const struct af_bench_corpus *c = &b->c;
	char n1[32], n2[32], d1[32], d2[32];

	printf("auditflow bench: %s records, %.1f MB (%.0f bytes a record), seed-incident "
	       "scenario: %u accounts x %u days, seed %llu\n",
	       thousands(c->records, n1, sizeof(n1)), (double)c->bytes / 1e6,
	       c->records ? (double)c->bytes / (double)c->records : 0, b->o.accounts, c->days,
	       (unsigned long long)b->o.seed);
	if (b->o.events)
		printf("  the first %s of %s generated records in event time (--events)\n",
		       thousands(c->records, n1, sizeof(n1)),
		       thousands(c->generated, n2, sizeof(n2)));
	printf("  %s distinct client addresses", thousands(c->distinct_addresses, n1, sizeof(n1)));
	if (c->rewritten)
		printf(" (%s sign-ins given one of %llu drawn addresses)\n",
		       thousands(c->rewritten, n2, sizeof(n2)), (unsigned long long)b->o.addresses);
	else
		printf(" (the generator's own)\n");
	if (b->geo_built)
		printf("  geo: City, ASN%s databases built for the corpus's %zu networks\n",
		       b->cfg.geo.anon ? " and Anonymous-IP" : "", c->nets.n);
	else
		printf("  geo: the databases given (%s%s%s)\n", b->cfg.geo.city ? "city " : "",
		       b->cfg.geo.asn ? "asn " : "", b->cfg.geo.anon ? "anon" : "");
	if (c->invalid)
		printf("  %llu records the parser refuses (dead letters in every figure)\n",
		       (unsigned long long)c->invalid);
	printf("  JSON kernel %s; batches of %u records; median of %u run%s; %ld online CPUs\n\n",
	       b->parse_kernel, b->cfg.runtime.batch_records, b->o.runs, b->o.runs > 1 ? "s" : "",
	       sysconf(_SC_NPROCESSORS_ONLN));

	printf("%-24s %12s %10s %10s\n", "stage, one thread", "events/s", "ns/event", "MB/s");
	for (int s = 0; s < ST_COUNT; s++) {
		struct rate r = rate_of(b, b->stage_events[s], b->stage_s[s]);
		const char *label = s == ST_FRAMING ? "framing (file reader)" : stage_names[s];
		printf("%-24s %12s %10.1f %10.1f\n", label,
		       thousands((uint64_t)r.eps, n1, sizeof(n1)), r.ns, r.mbps);
	}
	struct rate fr = floor_rate(b);
	printf("%-24s %12s %10.1f %10.1f\n", "floor (bare, see below)",
	       thousands((uint64_t)fr.eps, n1, sizeof(n1)), fr.ns, fr.mbps);

	printf("\n%-12s %12s %10s %9s %10s %10s %10s %8s %8s %9s\n", "end to end", "events/s",
	       "ns/event", "MB/s", "batch p50", "batch p99", "peak RSS", "alerts", "speedup",
	       "vs floor");
	double base = 0;
	for (uint32_t t = 0; t < b->threads; t++) {
		const struct e2e_runs *e = &b->e2e[t];
		struct rate r = rate_of(b, e->first.events_in, e->s);
		char label[32];
		if (t == 0)
			base = r.eps;
		snprintf(label, sizeof(label), "%u thread%s", t + 1, t ? "s" : "");
		printf("%-12s %12s %10.1f %9.1f %10s %10s %7.0f MB %6llu %s %7.2fx %8.2fx\n", label,
		       thousands((uint64_t)r.eps, n1, sizeof(n1)), r.ns, r.mbps,
		       duration(af_bench_median(e->p50, b->o.runs), d1, sizeof(d1)),
		       duration(af_bench_median(e->p99, b->o.runs), d2, sizeof(d2)),
		       af_bench_median(e->rss, b->o.runs) / 1e6,
		       (unsigned long long)e->first.alerts, e->same_alerts ? "\u2713" : "!",
		       base > 0 ? r.eps / base : 0, e2e_over_floor(b, t));
	}

	printf("\n");
	printf("vs floor: end to end / floor, per core: threads x end-to-end ns/event over the "
	       "floor's\n"
	       "  ns/event, how many times the floor's time one core spends on each event\n");
	printf("parse + enrich + detect / floor, one thread: %.2fx\n", stages_over_floor(b));
	printf("floor: one thread; per record, the bare simdjson On-Demand loop of "
	       "bench/parse_bare.cpp\n"
	       "  reading the fields the mappers read, then MMDB_lookup_sockaddr in %s\n"
	       "  on its client address (%s look-ups, %s answered); not in it: framing, finding "
	       "and\n"
	       "  parsing the address (done before the clock), reading the databases' values, "
	       "the\n"
	       "  Anonymous-IP database, the corporate list, detection, threads\n",
	       floor_dbs(b), thousands(b->floor.lookups, n1, sizeof(n1)),
	       thousands(b->floor.found, n2, sizeof(n2)));
	if (b->floor.rejected)
		printf("  (the bare loop refused %llu records; their time is in the floor)\n",
		       (unsigned long long)b->floor.rejected);
	if (b->peak_reset)
		printf("peak RSS: the process's peak during each run (reset before it), the "
		       "corpus's %.0f MB included\n",
		       (double)c->len / 1e6);
	else
		printf("peak RSS: the process's peak so far (the kernel would not reset it), the "
		       "corpus's %.0f MB included\n",
		       (double)c->len / 1e6);
	double resident = af_bench_median(b->state_resident, b->o.runs);
	printf("detect state: %s accounts held, %.0f resident bytes an account while detecting "
	       "(the tables reserve %.1f MB at their caps)\n",
	       thousands(b->pass.accounts, n1, sizeof(n1)),
	       b->pass.accounts ? resident / (double)b->pass.accounts : 0,
	       (double)b->pass.state_alloc / 1e6);
	const struct af_geo_reader_stats *g = &b->pass.geo;
	if (g->lookups > 0)
		printf("enrich: %.1f%% of %s look-ups answered by the address cache, %s records "
		       "decoded, %s not found\n",
		       100.0 * (double)g->addr_hits / (double)g->lookups,
		       thousands(g->lookups, n1, sizeof(n1)),
		       thousands(g->record_misses, n2, sizeof(n2)),
		       thousands(g->not_found, d1, sizeof(d1)));
	if (all_alerts_same(b))
		printf("alerts: %llu, the same on every thread count and run \u2713\n",
		       (unsigned long long)b->e2e[0].first.alerts);
	else
		printf("WARNING: alerts marked ! differ from one thread's (count or content): the "
		       "runtime should raise the same alerts whatever the thread count\n");
	if (!stages_match_e2e(b) || !b->stage_alerts_stable)
		printf("note: the stages on one thread raised %llu alerts%s, the runtime %llu\n",
		       (unsigned long long)b->pass.alerts,
		       b->stage_alerts_stable ? "" : " (not the same every run)",
		       (unsigned long long)b->e2e[0].first.alerts);
}

static void json_rate(struct af_jsonw *w, const struct rate *r)
{
	af_jsonw_field_uint(w, "events", r->events);
	af_jsonw_key(w, "seconds");
	af_jsonw_double(w, r->s);
	af_jsonw_key(w, "events_per_s");
	af_jsonw_double_fixed(w, r->eps, 1);
	af_jsonw_key(w, "ns_per_event");
	af_jsonw_double_fixed(w, r->ns, 2);
	af_jsonw_key(w, "mb_per_s");
	af_jsonw_double_fixed(w, r->mbps, 2);
}

static int print_json(const struct bench *b)
{
	const struct af_bench_corpus *c = &b->c;
	char buf[16384];
	struct af_jsonw w;

	af_jsonw_init(&w, buf, sizeof(buf), stdout);
	af_jsonw_object_begin(&w);
	af_jsonw_key(&w, "corpus");
	af_jsonw_object_begin(&w);
	af_jsonw_field_string(&w, "scenario", "seed-incident");
	af_jsonw_field_uint(&w, "seed", b->o.seed);
	af_jsonw_field_uint(&w, "accounts", b->o.accounts);
	af_jsonw_field_uint(&w, "days", c->days);
	af_jsonw_field_uint(&w, "records", c->records);
	af_jsonw_field_uint(&w, "generated", c->generated);
	af_jsonw_field_uint(&w, "bytes", c->bytes);
	af_jsonw_field_uint(&w, "invalid", c->invalid);
	af_jsonw_field_uint(&w, "distinct_addresses", c->distinct_addresses);
	af_jsonw_field_uint(&w, "addresses", b->o.addresses);
	af_jsonw_field_uint(&w, "rewritten", c->rewritten);
	af_jsonw_field_uint(&w, "networks", c->nets.n);
	af_jsonw_field_string(&w, "geo", b->geo_built ? "built" : "given");
	af_jsonw_object_end(&w);
	af_jsonw_field_uint(&w, "runs", b->o.runs);
	af_jsonw_field_uint(&w, "threads", b->threads);
	af_jsonw_field_uint(&w, "batch_records", b->cfg.runtime.batch_records);
	af_jsonw_field_string(&w, "parse_kernel", b->parse_kernel);
	af_jsonw_field_int(&w, "online_cpus", sysconf(_SC_NPROCESSORS_ONLN));

	af_jsonw_key(&w, "stages");
	af_jsonw_object_begin(&w);
	for (int s = 0; s < ST_COUNT; s++) {
		struct rate r = rate_of(b, b->stage_events[s], b->stage_s[s]);
		af_jsonw_key(&w, stage_names[s]);
		af_jsonw_object_begin(&w);
		json_rate(&w, &r);
		if (s == ST_ENRICH) {
			af_jsonw_field_uint(&w, "lookups", b->pass.geo.lookups);
			af_jsonw_field_uint(&w, "address_cache_hits", b->pass.geo.addr_hits);
			af_jsonw_field_uint(&w, "records_decoded", b->pass.geo.record_misses);
			af_jsonw_field_uint(&w, "not_found", b->pass.geo.not_found);
			af_jsonw_field_uint(&w, "internal", b->pass.geo.internal);
		}
		if (s == ST_DETECT) {
			double resident = af_bench_median(b->state_resident, b->o.runs);
			af_jsonw_field_uint(&w, "alerts", b->pass.alerts);
			af_jsonw_field_uint(&w, "accounts", b->pass.accounts);
			af_jsonw_key(&w, "state_resident_bytes_per_account");
			af_jsonw_double_fixed(
			    &w, b->pass.accounts ? resident / (double)b->pass.accounts : 0, 1);
			af_jsonw_field_uint(&w, "state_reserved_bytes", b->pass.state_alloc);
		}
		af_jsonw_object_end(&w);
	}
	struct rate fr = floor_rate(b);
	af_jsonw_key(&w, "floor");
	af_jsonw_object_begin(&w);
	json_rate(&w, &fr);
	af_jsonw_field_uint(&w, "databases", b->floor.dbs);
	af_jsonw_field_uint(&w, "lookups", b->floor.lookups);
	af_jsonw_field_uint(&w, "found", b->floor.found);
	af_jsonw_field_uint(&w, "rejected", b->floor.rejected);
	af_jsonw_key(&w, "stage_sum_ratio");
	af_jsonw_double_fixed(&w, stages_over_floor(b), 3);
	af_jsonw_object_end(&w);
	af_jsonw_object_end(&w);

	af_jsonw_key(&w, "end_to_end");
	af_jsonw_object_begin(&w);
	double base = 0;
	for (uint32_t t = 0; t < b->threads; t++) {
		const struct e2e_runs *e = &b->e2e[t];
		struct rate r = rate_of(b, e->first.events_in, e->s);
		char key[32];
		if (t == 0)
			base = r.eps;
		snprintf(key, sizeof(key), "threads_%u", t + 1);
		af_jsonw_key(&w, key);
		af_jsonw_object_begin(&w);
		af_jsonw_field_uint(&w, "threads", t + 1);
		json_rate(&w, &r);
		af_jsonw_key(&w, "batch_p50_s");
		af_jsonw_double(&w, af_bench_median(e->p50, b->o.runs));
		af_jsonw_key(&w, "batch_p99_s");
		af_jsonw_double(&w, af_bench_median(e->p99, b->o.runs));
		af_jsonw_field_uint(&w, "peak_rss_bytes",
		                    (uint64_t)af_bench_median(e->rss, b->o.runs));
		af_jsonw_field_uint(&w, "events_ok", e->first.events_ok);
		af_jsonw_field_uint(&w, "invalid", e->first.invalid);
		af_jsonw_field_uint(&w, "accounts", e->first.accounts);
		af_jsonw_field_uint(&w, "alerts", e->first.alerts);
		af_jsonw_field_bool(&w, "same_alerts", e->same_alerts);
		af_jsonw_key(&w, "speedup");
		af_jsonw_double_fixed(&w, base > 0 ? r.eps / base : 0, 3);
		af_jsonw_key(&w, "floor_ratio");
		af_jsonw_double_fixed(&w, e2e_over_floor(b, t), 3);
		af_jsonw_object_end(&w);
	}
	af_jsonw_object_end(&w);
	af_jsonw_field_bool(&w, "peak_rss_per_run", b->peak_reset);
	af_jsonw_field_bool(&w, "alerts_identical", all_alerts_same(b));
	af_jsonw_field_bool(&w, "stages_match_end_to_end",
	                    stages_match_e2e(b) && b->stage_alerts_stable);
	af_jsonw_object_end(&w);
	if (af_jsonw_end_line(&w) != AF_OK || af_jsonw_flush(&w) != AF_OK) {
		fprintf(stderr, "auditflow bench: cannot write the report: %s\n",
		        strerror(w.io_errno));
		return 1;
	}
	return 0;
}

/* --- main ----------------------------------------------------------------------- */

static int run(struct bench *b)
{
	char *alerts_path = NULL;
	int status;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	b->threads =
	    b->cfg.runtime.threads ? b->cfg.runtime.threads : (uint32_t)(cpus > 0 ? cpus : 1);
	if (b->threads > AF_RT_THREADS_MAX) {
		snprintf(b->err, sizeof(b->err), "-j %u: at most %u threads", b->threads,
		         AF_RT_THREADS_MAX);
		return 2;
	}
	if (af_rules_check(&b->cfg.rules, b->err, sizeof(b->err)) != AF_OK)
		return 2;
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	/* room for the names of the files made in it */
	size_t n = strlen(tmp) + 32;
	if (n > AF_BENCH_PATH_MAX - 32) {
		snprintf(b->err, sizeof(b->err), "TMPDIR is too long");
		return 1;
	}
	b->dir = malloc(n);
	if (!b->dir) {
		snprintf(b->err, sizeof(b->err), "out of memory");
		return 1;
	}
	snprintf(b->dir, n, "%s/auditflow-bench-XXXXXX", tmp);
	if (!mkdtemp(b->dir)) {
		snprintf(b->err, sizeof(b->err), "%s: %s", b->dir, strerror(errno));
		free(b->dir);
		b->dir = NULL;
		return 1;
	}
	status = prepare(b);
	if (status != 0)
		return status;
	if (!alloc_runs(b)) {
		snprintf(b->err, sizeof(b->err), "out of memory");
		return 1;
	}
	n = strlen(b->dir) + 16;
	alerts_path = malloc(n);
	if (!alerts_path) {
		snprintf(b->err, sizeof(b->err), "out of memory");
		return 1;
	}
	snprintf(alerts_path, n, "%s/alerts.jsonl", b->dir);
	for (unsigned r = 0; r < b->o.runs && status == 0; r++)
		status = measure_round(b, r, alerts_path);
	unlink(alerts_path);
	free(alerts_path);
	say(b, "");
	if (status != 0)
		return status;
	if (b->o.json)
		return print_json(b);
	print_table(b);
	return 0;
}

/* Remove the work directory and what is in it (one level). */
static void remove_dir(const char *dir)
{
	static const char *const files[] = {
	    AF_GEN_SIGNINS_FILE,  AF_GEN_AUDIT_FILE, AF_GEN_TRACE_FILE, AF_GEN_TRUTH_FILE,
	    AF_GEN_NETWORKS_FILE, "city.mmdb",       "asn.mmdb",        "anon.mmdb",
	    "corporate.txt",      "corpus.jsonl",    "alerts.jsonl",
	};
	char path[4096];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	if (rmdir(dir) != 0)
		fprintf(stderr, "auditflow bench: cannot remove %s: %s\n", dir, strerror(errno));
}

int af_bench_main(int argc, char **argv)
{
	struct bench *b = calloc(1, sizeof(*b));
	int status;

	if (!b) {
		fputs("auditflow bench: out of memory\n", stderr);
		return 1;
	}
	b->o = (struct af_bench_opts){.accounts = 2000, .days = 7, .seed = 1, .runs = 3};
	b->progress = isatty(STDERR_FILENO);
	af_config_init(&b->cfg);
	status = parse_args(b, argc, argv);
	if (status == 0 && b->cfg.cli.help) {
		usage(stdout);
		af_config_help(stdout, AF_CMD_BENCH);
		goto cleanup;
	}
	if (status == 0) {
		/* The threads inherit the mask: the signals wait for us. */
		sigemptyset(&b->stop);
		sigaddset(&b->stop, SIGINT);
		sigaddset(&b->stop, SIGTERM);
		b->masked = pthread_sigmask(SIG_BLOCK, &b->stop, &b->old_mask) == 0;
		status = run(b);
		if (b->progress)
			fputs("\r\033[K", stderr);
	}
	if (status != 0)
		fprintf(stderr, "auditflow bench: %s\n", b->err);
cleanup:
	af_geo_hub_close(b->hub);
	af_bench_corpus_fini(&b->c);
	if (b->dir)
		remove_dir(b->dir);
	free(b->dir);
	free_runs(b);
	af_config_fini(&b->cfg);
	bool masked = b->masked;
	sigset_t old = b->old_mask, stop = b->stop;
	free(b);
	if (masked) {
		/* A stop signal still pending was answered (exit 1): take it
		 * before unblocking, or it would end the process. */
		const struct timespec now = {0, 0};
		while (af_bench_stopped(&stop))
			sigtimedwait(&stop, NULL, &now);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	return status;
}
