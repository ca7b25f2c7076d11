/* bench_parse.c - the parse benchmark: single-thread events/s of our parse
 * stage (af_parse_record) against a bare simdjson On-Demand loop that reads
 * the same fields from the same bytes (parse_bare.cpp), in one run.
 *
 * Thread: main only. The benchmark is single-threaded by design and pins
 * itself to the CPU it starts on when the kernel allows (--no-pin to
 * leave scheduling alone).
 * In: options (see usage()). Out: a table on stdout, or one JSON object
 * with --json; exit 0, 1 when a record fails to parse or the two sides
 * disagree about a record, 2 on a usage error.
 *
 * DESIGN: honesty first. Both sides read the same buffer in the same order,
 * records framed exactly as the file reader hands them over (a view with
 * padding after it). The bare loop runs the simdjson kernel our parser
 * picked (af_bare_new takes its name), so neither side runs a slower
 * kernel. A warm-up pass runs both sides record by record and checks that
 * they read the same values (account, id, action, folder, client,
 * recipients, error code...), so the loop we compare with cannot quietly
 * skip work; it also checks that every record parses, and counts them per
 * type. Timed passes then alternate which side goes first and the median
 * pass of each side is reported. Nothing here asserts a speed: the goal
 * (ours at 70% of the bare loop or better) is read off the report.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "bench/corpus.h"
#include "bench/parse_bare.h"
#include "pipeline/event.h"
#include "pipeline/parse/fields.h"
#include "pipeline/parse/json.h"
#include "pipeline/parse/parse.h"

#define MAX_PASSES AF_BENCH_MEDIAN_MAX

struct bench_opts {
	struct af_corpus_opts corpus;
	unsigned passes;
	bool json;
	bool pin;
	bool breakdown;   /* also time the extraction alone */
	const char *dump; /* write the corpus as JSON lines here and stop */
};

/* One side's timed passes. */
struct side {
	double *pass_s;
	double median_s;
	uint64_t checksum;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_parse [--events N] [--accounts N] [--passes N] [--seed S]\n"
	           "                   [--json] [--no-pin] [--breakdown] [--dump FILE]\n"
	           "  --events N    records in the corpus (default 200000)\n"
	           "  --accounts N  distinct accounts, Zipf-distributed (default 10000)\n"
	           "  --passes N    timed passes per side after one warm-up (default 5)\n"
	           "  --seed S      corpus seed (default 1)\n"
	           "  --json        one JSON object instead of the table\n"
	           "  --no-pin      do not pin the benchmark to one CPU\n"
	           "  --breakdown   also time our stage's JSON extraction alone (the\n"
	           "                simdjson shim's walk with the record spec, no mapper)\n"
	           "  --dump FILE   write the corpus as JSON lines to FILE and exit\n");
}

/* 0 on success, 2 on a usage error (after saying why), -1 for --help. */
static int parse_args(int argc, char **argv, struct bench_opts *o)
{
	*o = (struct bench_opts){
	    .corpus = {.events = 200000, .accounts = 10000, .seed = 1},
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
		} else if (strcmp(a, "--passes") == 0 && af_bench_parse_u64(v, 1, MAX_PASSES, &n)) {
			o->passes = (unsigned)n;
		} else if (strcmp(a, "--seed") == 0 && af_bench_parse_u64(v, 0, UINT64_MAX, &n)) {
			o->corpus.seed = n;
		} else if (strcmp(a, "--dump") == 0 && v) {
			o->dump = v;
		} else if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		} else if (strcmp(a, "--no-pin") == 0) {
			o->pin = false;
			continue;
		} else if (strcmp(a, "--breakdown") == 0) {
			o->breakdown = true;
			continue;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return -1;
		} else {
			fprintf(stderr, "bench_parse: bad option or value: %s%s%s\n", a,
			        v ? " " : "", v ? v : "");
			usage(stderr);
			return 2;
		}
		i++; /* the option's value */
	}
	return 0;
}

static int dump_corpus(const struct af_corpus *c, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "bench_parse: cannot write %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < c->count; i++) {
		fwrite(c->buf + c->off[i], 1, c->len[i], f);
		fputc('\n', f);
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "bench_parse: cannot write %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}

/* --- the warm-up pass: every record parses, and both sides agree --- */

/* True if an event field (NUL-terminated, cut at cap - 1 bytes) holds the
 * bare loop's view of the same value, lower-cased when lower is set. */
static bool same_text(const char *field, size_t cap, struct af_bare_str v, bool lower)
{
	if (!v.s)
		return false;
	size_t n = v.len < cap - 1 ? v.len : cap - 1;
	if (strlen(field) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = v.s[i];
		if (lower && c >= 'A' && c <= 'Z')
			c = (char)(c | 0x20);
		if (field[i] != c)
			return false;
	}
	return true;
}

#define HAS(br, field) ((br)->f[field].s != NULL)

/* NULL when our event and the bare loop's reading of a record of this type
 * agree; otherwise what differs. */
static const char *disagreement(enum af_corpus_type type, const struct af_event *ev,
                                const struct af_bare_rec *br)
{
	static const uint8_t kinds[AF_CORPUS_TYPE_COUNT] = {
	    [AF_CORPUS_AAD_LOGIN_OK] = AF_KIND_SIGNIN_OK,
	    [AF_CORPUS_AAD_LOGIN_FAILED] = AF_KIND_SIGNIN_FAILED,
	    [AF_CORPUS_EXO_SEND] = AF_KIND_MAIL_SEND,
	    [AF_CORPUS_EXO_MAIL_ACCESS] = AF_KIND_MAIL_ACCESS,
	    [AF_CORPUS_SPO_FILE_ACCESS] = AF_KIND_FILE_ACCESS,
	    [AF_CORPUS_ENTRA_SIGNIN] = AF_KIND_SIGNIN_OK,
	    [AF_CORPUS_MSGTRACE] = AF_KIND_MAIL_SEND,
	};
	uint8_t kind = kinds[type];
	uint8_t schema = AF_SCHEMA_M365;
	if (type == AF_CORPUS_ENTRA_SIGNIN) {
		schema = AF_SCHEMA_ENTRA_DIAG;
		if (br->error_code != 0)
			kind = AF_KIND_SIGNIN_FAILED;
	} else if (type == AF_CORPUS_MSGTRACE) {
		schema = AF_SCHEMA_MSGTRACE;
	}
	if (ev->kind != kind)
		return "kind";
	if (ev->schema != schema)
		return "schema";
	if (ev->ts_ns <= 0 || !HAS(br, AF_BARE_TIME))
		return "time";
	if (!same_text(ev->account, sizeof(ev->account), br->f[AF_BARE_ACCOUNT], true))
		return "account";
	if (!same_text(ev->record_id, sizeof(ev->record_id), br->f[AF_BARE_ID], false))
		return "record id";
	if (!same_text(ev->action, sizeof(ev->action), br->f[AF_BARE_ACTION], false))
		return "action";
	if (ev->src.family == AF_IP_NONE || !HAS(br, AF_BARE_IP))
		return "source address";
	if ((ev->ua_hash != 0) != HAS(br, AF_BARE_UA))
		return "user agent";

	switch (type) {
	case AF_CORPUS_AAD_LOGIN_OK:
	case AF_CORPUS_AAD_LOGIN_FAILED:
		if (!HAS(br, AF_BARE_ERROR) ||
		    ev->error_code != (int32_t)strtol(br->f[AF_BARE_ERROR].s, NULL, 10))
			return "error code";
		break;
	case AF_CORPUS_EXO_SEND:
		if (!same_text(ev->folder, sizeof(ev->folder), br->f[AF_BARE_FOLDER], false))
			return "folder";
		if (ev->recipient_count != br->recipients || br->recipients == 0)
			return "recipients";
		if (br->save_sent < 0 || !(ev->flags & AF_EV_SAVE_SENT_KNOWN) ||
		    !!(ev->flags & AF_EV_SAVE_SENT) != br->save_sent)
			return "SaveToSentItems";
		if ((ev->name_hash != 0) != HAS(br, AF_BARE_NAME))
			return "sender display name";
		if (!same_text(ev->app, sizeof(ev->app), br->f[AF_BARE_APP], false))
			return "client";
		break;
	case AF_CORPUS_EXO_MAIL_ACCESS:
		if (!same_text(ev->app, sizeof(ev->app), br->f[AF_BARE_APP], false))
			return "client";
		break;
	case AF_CORPUS_ENTRA_SIGNIN:
		if (ev->error_code != br->error_code)
			return "error code";
		if (!same_text(ev->app, sizeof(ev->app), br->f[AF_BARE_APP], false))
			return "client app";
		if ((ev->name_hash != 0) != HAS(br, AF_BARE_NAME))
			return "display name";
		break;
	case AF_CORPUS_MSGTRACE:
		if (!same_text(ev->recipient, sizeof(ev->recipient), br->f[AF_BARE_RECIPIENT],
		               true))
			return "recipient";
		if (ev->recipient_count != 1)
			return "recipient count";
		break;
	default: break;
	}
	return NULL;
}

static void show_record(const struct af_corpus *c, size_t i)
{
	fprintf(stderr, "bench_parse: record %zu (%s, %u bytes): %.*s\n", i,
	        af_corpus_type_name((enum af_corpus_type)c->type[i]), c->len[i], (int)c->len[i],
	        c->buf + c->off[i]);
}

/* Parse every record with both sides, compare, count parses per type.
 * False (after saying which record and why) on any failure. */
static bool warm_up(const struct af_corpus *c, struct af_parser *ps, struct af_bare *bare,
                    size_t ok[AF_CORPUS_TYPE_COUNT])
{
	struct af_event ev = {0};
	struct af_bare_rec br;
	for (size_t i = 0; i < c->count; i++) {
		const char *rec = c->buf + c->off[i];
		enum af_corpus_type type = (enum af_corpus_type)c->type[i];
		const char *detail = NULL;
		enum af_reason r = af_parse_record(ps, rec, c->len[i], &ev, &detail);
		if (r != AF_REASON_NONE) {
			fprintf(stderr,
			        "bench_parse: FAIL: our parser rejected a generated record: "
			        "%s (%s)\n",
			        af_reason_name(r), detail);
			show_record(c, i);
			return false;
		}
		if (!af_bare_record(bare, rec, c->len[i], &br)) {
			fprintf(stderr, "bench_parse: FAIL: the bare loop rejected a record\n");
			show_record(c, i);
			return false;
		}
		const char *what = disagreement(type, &ev, &br);
		if (what) {
			fprintf(stderr,
			        "bench_parse: FAIL: ours and the bare loop disagree on %s\n", what);
			show_record(c, i);
			return false;
		}
		ok[type]++;
	}
	for (unsigned t = 0; t < AF_CORPUS_TYPE_COUNT; t++) {
		if (ok[t] != c->per_type[t]) {
			fprintf(stderr, "bench_parse: FAIL: %s: %zu of %zu parsed\n",
			        af_corpus_type_name((enum af_corpus_type)t), ok[t], c->per_type[t]);
			return false;
		}
	}
	return true;
}

/* --- timed passes --- */

/* Seconds for one pass of our stage over the corpus; < 0 if a record
 * failed (it cannot after warm_up, but a failure must not look fast). */
static double pass_ours(const struct af_corpus *c, struct af_parser *ps, uint64_t *sum)
{
	struct af_event ev = {0};
	const char *detail;
	uint64_t s = 0;
	size_t bad = 0;
	double t0 = af_clock_s();
	for (size_t i = 0; i < c->count; i++) {
		if (af_parse_record(ps, c->buf + c->off[i], c->len[i], &ev, &detail) !=
		    AF_REASON_NONE)
			bad++;
		s += ev.account_hash ^ (uint64_t)ev.ts_ns;
	}
	double t = af_clock_s() - t0;
	*sum = s;
	return bad ? -1 : t;
}

static double pass_bare(const struct af_corpus *c, struct af_bare *bare, uint64_t *sum)
{
	struct af_bare_rec br;
	uint64_t s = 0;
	size_t bad = 0;
	double t0 = af_clock_s();
	for (size_t i = 0; i < c->count; i++) {
		if (!af_bare_record(bare, c->buf + c->off[i], c->len[i], &br))
			bad++;
		s += br.sum;
	}
	double t = af_clock_s() - t0;
	*sum = s;
	return bad ? -1 : t;
}

/* The first half of our stage alone: the shim's one-pass extraction of
 * every field any mapper reads, as af_parse_record starts with. */
static double pass_extract(const struct af_corpus *c, struct af_jparser *jp,
                           const struct af_jspec *spec, uint64_t *sum)
{
	struct af_jval slots[AF_F_COUNT];
	uint64_t s = 0;
	size_t bad = 0;
	double t0 = af_clock_s();
	for (size_t i = 0; i < c->count; i++) {
		if (af_jparser_extract(jp, spec, c->buf + c->off[i], c->len[i], slots) !=
		    AF_REASON_NONE)
			bad++;
		s += slots[AF_F_ID].len;
	}
	double t = af_clock_s() - t0;
	*sum = s;
	return bad ? -1 : t;
}

/* --- report --- */

struct report {
	const struct bench_opts *o;
	const struct af_corpus *c;
	int cpu;
	const char *kernel_ours, *kernel_bare;
	const struct side *ours, *bare;
	const struct side *extract; /* NULL without --breakdown */
	const size_t *ok;
};

static void print_side_json(const char *name, const struct side *s, const struct report *r)
{
	double n = (double)r->c->count;
	printf("\"%s\":{\"events_per_s\":%.0f,\"ns_per_event\":%.1f,\"mb_per_s\":%.1f,"
	       "\"checksum\":\"%016" PRIx64 "\",\"pass_ns_per_event\":[",
	       name, n / s->median_s, s->median_s * 1e9 / n,
	       (double)r->c->bytes / s->median_s / 1e6, s->checksum);
	for (unsigned p = 0; p < r->o->passes; p++)
		printf("%s%.1f", p ? "," : "", s->pass_s[p] * 1e9 / n);
	printf("]}");
}

static void print_json(const struct report *r)
{
	const struct af_corpus *c = r->c;
	printf("{\"benchmark\":\"parse\",\"events\":%zu,\"bytes\":%zu,\"avg_record_bytes\":%.1f,"
	       "\"max_record_bytes\":%zu,\"accounts\":%u,\"seed\":%" PRIu64 ",\"passes\":%u,"
	       "\"cpu\":%d,\"kernel\":{\"ours\":\"%s\",\"bare\":\"%s\""
	       "},",
	       c->count, c->bytes, (double)c->bytes / (double)c->count, c->max_len,
	       r->o->corpus.accounts, r->o->corpus.seed, r->o->passes, r->cpu, r->kernel_ours,
	       r->kernel_bare);
	print_side_json("ours", r->ours, r);
	printf(",");
	print_side_json("bare", r->bare, r);
	if (r->extract) {
		printf(",");
		print_side_json("ours_extract", r->extract, r);
	}
	printf(",\"ratio\":%.4f,\"parsed_ok\":{", r->bare->median_s / r->ours->median_s);
	for (unsigned t = 0; t < AF_CORPUS_TYPE_COUNT; t++)
		printf("%s\"%s\":%zu", t ? "," : "", af_corpus_type_name((enum af_corpus_type)t),
		       r->ok[t]);
	printf("}}\n");
}

static void print_side_row(const char *label, const struct side *s, const struct report *r)
{
	double n = (double)r->c->count;
	printf("%-26s %12.0f %10.1f %10.1f\n", label, n / s->median_s, s->median_s * 1e9 / n,
	       (double)r->c->bytes / s->median_s / 1e6);
}

static void print_table(const struct report *r)
{
	const struct af_corpus *c = r->c;
	printf("parse benchmark (single thread)\n");
	printf(
	    "corpus   %zu records, %.1f MB, %.0f B average, %zu B max; %u accounts; seed %" PRIu64
	    "\n",
	    c->count, (double)c->bytes / 1e6, (double)c->bytes / (double)c->count, c->max_len,
	    r->o->corpus.accounts, r->o->corpus.seed);
	if (r->cpu >= 0)
		printf("cpu      pinned to cpu %d\n", r->cpu);
	else
		printf("cpu      not pinned\n");
	printf("kernel   ours: %s, bare: %s (simdjson's stage 1 kernel, chosen at run time)\n",
	       r->kernel_ours, r->kernel_bare);
	printf("passes   1 warm-up, then %u timed per side; median pass shown\n\n", r->o->passes);
	printf("%-26s %12s %10s %10s\n", "", "events/s", "ns/event", "MB/s");
	print_side_row("ours (af_parse_record)", r->ours, r);
	print_side_row("bare simdjson loop", r->bare, r);
	printf("%-26s %11.1f%%\n", "ours / bare", 100.0 * r->bare->median_s / r->ours->median_s);
	if (r->extract) {
		print_side_row("ours: extraction only", r->extract, r);
		printf("%-26s %11.1f%%\n", "  share of ours' time",
		       100.0 * r->extract->median_s / r->ours->median_s);
	}
	printf("\n");
	printf("parsed OK by ours, per record type (every record must):\n");
	for (unsigned t = 0; t < AF_CORPUS_TYPE_COUNT; t++)
		printf("  %-30s %10zu\n", af_corpus_type_name((enum af_corpus_type)t), r->ok[t]);
}

int main(int argc, char **argv)
{
	int rc = 1;
	struct bench_opts o;
	struct af_corpus c = {0};
	struct af_parser *ps = NULL;
	struct af_bare *bare = NULL;
	struct af_jparser *jp = NULL;
	struct af_jspec *spec = NULL;
	struct side ours = {0}, bare_side = {0}, extract = {0};
	size_t ok[AF_CORPUS_TYPE_COUNT] = {0};
	char err[256];

	int a = parse_args(argc, argv, &o);
	if (a != 0)
		return a < 0 ? 0 : a;
	if (af_corpus_init(&c, &o.corpus, err, sizeof(err)) != AF_OK) {
		fprintf(stderr, "bench_parse: %s\n", err);
		goto cleanup;
	}
	if (o.dump) {
		rc = dump_corpus(&c, o.dump);
		goto cleanup;
	}
	int cpu = o.pin ? af_bench_pin_cpu() : -1;
	ps = af_parser_new(c.max_len, err, sizeof(err));
	if (!ps) {
		fprintf(stderr, "bench_parse: parser: %s\n", err);
		goto cleanup;
	}
	bare = af_bare_new(c.max_len, af_parser_kernel(ps), err, sizeof(err));
	ours.pass_s = calloc(o.passes, sizeof(double));
	bare_side.pass_s = calloc(o.passes, sizeof(double));
	if (!bare || !ours.pass_s || !bare_side.pass_s) {
		fprintf(stderr, "bench_parse: %s\n", bare ? "out of memory" : err);
		goto cleanup;
	}
	if (!warm_up(&c, ps, bare, ok))
		goto cleanup;
	if (o.breakdown) {
		jp = af_jparser_new(c.max_len);
		spec = af_jspec_new(af_fields_record, af_fields_record_count, AF_F_COUNT, err,
		                    sizeof(err));
		extract.pass_s = calloc(o.passes, sizeof(double));
		if (!jp || !spec || !extract.pass_s) {
			fprintf(stderr, "bench_parse: extraction: %s\n",
			        spec ? "out of memory" : err);
			goto cleanup;
		}
		if (pass_extract(&c, jp, spec, &extract.checksum) < 0) {
			fprintf(stderr, "bench_parse: FAIL: extraction rejected a record\n");
			goto cleanup;
		}
	}

	for (unsigned p = 0; p < o.passes; p++) {
		/* Alternate which side goes first, so neither always runs on
		 * the other's leftovers (caches, clock ramp). */
		if (p % 2 == 0) {
			ours.pass_s[p] = pass_ours(&c, ps, &ours.checksum);
			bare_side.pass_s[p] = pass_bare(&c, bare, &bare_side.checksum);
		} else {
			bare_side.pass_s[p] = pass_bare(&c, bare, &bare_side.checksum);
			ours.pass_s[p] = pass_ours(&c, ps, &ours.checksum);
		}
		if (o.breakdown)
			extract.pass_s[p] = pass_extract(&c, jp, spec, &extract.checksum);
		if (ours.pass_s[p] < 0 || bare_side.pass_s[p] < 0 ||
		    (o.breakdown && extract.pass_s[p] < 0)) {
			fprintf(stderr, "bench_parse: FAIL: a record failed in a timed pass\n");
			goto cleanup;
		}
	}
	ours.median_s = af_bench_median(ours.pass_s, o.passes);
	bare_side.median_s = af_bench_median(bare_side.pass_s, o.passes);
	if (o.breakdown)
		extract.median_s = af_bench_median(extract.pass_s, o.passes);

	struct report r = {
	    .o = &o,
	    .c = &c,
	    .cpu = cpu,
	    .kernel_ours = af_parser_kernel(ps),
	    .kernel_bare = af_bare_kernel(bare),
	    .ours = &ours,
	    .bare = &bare_side,
	    .extract = o.breakdown ? &extract : NULL,
	    .ok = ok,
	};
	if (o.json)
		print_json(&r);
	else
		print_table(&r);
	rc = fflush(stdout) == 0 ? 0 : 1;
cleanup:
	free(ours.pass_s);
	free(bare_side.pass_s);
	free(extract.pass_s);
	af_jspec_free(spec);
	af_jparser_free(jp);
	af_bare_free(bare);
	af_parser_free(ps);
	af_corpus_fini(&c);
	return rc;
}
