/* test_gen.c - the scenario generator (ingest/gen.h): its options, that its
 * output is deterministic, that every record parses into the event it is
 * meant to be, in time order and with an id of its own, that the truth and
 * networks files describe the records, that the baseline does not look like
 * an attack, and that each attack shows in the records as intended.
 *
 * Each test generates into a fresh mkdtemp directory, reads the files back
 * through the real parse stage (af_parse_record) and removes them.
 */
#include <criterion/criterion.h>

#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/gen.h"
#include "pipeline/ip.h"
#include "pipeline/parse/json.h"
#include "pipeline/parse/parse.h"
#include "pipeline/parse/timestamp.h"

#define NS  1000000000LL
#define DAY (86400 * NS)

static char tmpdir[64];

static void make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/af_test_gen_XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tmpdir(void)
{
	nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(gen, .init = make_tmpdir, .fini = remove_tmpdir);

/* ---- generating and reading back ---------------------------------------- */

enum { F_SIGNINS, F_AUDIT, F_TRACE, F_COUNT };
static const char *const rec_files[F_COUNT] = {AF_GEN_SIGNINS_FILE, AF_GEN_AUDIT_FILE,
                                               AF_GEN_TRACE_FILE};

/* One parsed record. */
struct rec {
	int file;
	struct af_event ev;
	char op[48]; /* Operation, for audit records */
};

struct truth {
	char rule[32];
	char account[128]; /* "" for null */
	char address[64];  /* "" for null */
	int64_t from, to;
};

struct net {
	struct af_ip ip;
	unsigned prefix;
	char country[4];
	double lat, lon, radius;
	bool used;
};

struct run {
	char dir[PATH_MAX];
	struct af_gen_opts opts;
	struct af_gen_stats st;
	struct rec *recs;
	size_t n;
	struct truth *truth;
	size_t n_truth;
	struct net *nets;
	size_t n_nets;
};

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = malloc((size_t)n + 1);
	cr_assert_not_null(p);
	cr_assert_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return p;
}

/* The string value of "key" in one JSON line, into out; false when the
 * value is null or the key absent. Good enough for the generator's own
 * lines, which have no escaped quotes in these values. */
static bool json_str(const char *line, const char *key, char *out, size_t size)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(line, pat);
	if (!p)
		return false;
	p += strlen(pat);
	if (*p != '"')
		return false;
	const char *e = strchr(p + 1, '"');
	cr_assert_not_null(e);
	size_t n = (size_t)(e - p - 1);
	cr_assert_lt(n, size, "%s too long in %s", key, line);
	memcpy(out, p + 1, n);
	out[n] = '\0';
	return true;
}

static double json_num(const char *line, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(line, pat);
	cr_assert_not_null(p, "%s in %s", key, line);
	return strtod(p + strlen(pat), NULL);
}

/* The kind a record is meant to parse into, from its text. */
static enum af_kind intended_kind(int file, const char *line, const char *op)
{
	if (file == F_SIGNINS)
		return strstr(line, "\"errorCode\":0,") ? AF_KIND_SIGNIN_OK : AF_KIND_SIGNIN_FAILED;
	if (file == F_TRACE)
		return AF_KIND_MAIL_SEND;
	static const struct {
		const char *op;
		enum af_kind kind;
	} ops[] = {
	    {"UserLoggedIn", AF_KIND_SIGNIN_OK},
	    {"UserLoginFailed", AF_KIND_SIGNIN_FAILED},
	    {"Send", AF_KIND_MAIL_SEND},
	    {"MailItemsAccessed", AF_KIND_MAIL_ACCESS},
	    {"MoveToDeletedItems", AF_KIND_MAIL_DELETE},
	    {"SoftDelete", AF_KIND_MAIL_DELETE},
	    {"HardDelete", AF_KIND_MAIL_DELETE},
	    {"New-InboxRule", AF_KIND_INBOX_RULE},
	    {"Set-Mailbox", AF_KIND_MAILBOX_FORWARD},
	    {"Change user password.", AF_KIND_OTHER},
	};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(op, ops[i].op) == 0)
			return ops[i].kind;
	cr_assert_fail("unexpected Operation %s", op);
	return AF_KIND_OTHER;
}

static void read_records(struct run *r)
{
	char err[256];
	static char buf[1 << 16];
	struct af_parser *ps = af_parser_new(sizeof(buf) - AF_JSON_PADDING, err, sizeof(err));
	cr_assert_not_null(ps, "%s", err);
	size_t cap = 0;
	for (int f = 0; f < F_COUNT; f++) {
		char path[PATH_MAX + 64];
		snprintf(path, sizeof(path), "%s/%s", r->dir, rec_files[f]);
		char *text = slurp(path, NULL);
		for (char *line = text; *line;) {
			char *nl = strchr(line, '\n');
			cr_assert_not_null(nl, "%s: the last line has no newline", rec_files[f]);
			size_t len = (size_t)(nl - line);
			cr_assert_lt(len + AF_JSON_PADDING, sizeof(buf));
			memcpy(buf, line, len);
			memset(buf + len, ' ', AF_JSON_PADDING);
			if (r->n == cap) {
				cap = cap ? cap * 2 : 4096;
				r->recs = realloc(r->recs, cap * sizeof(*r->recs));
				cr_assert_not_null(r->recs);
			}
			struct rec *rc = &r->recs[r->n++];
			memset(rc, 0, sizeof(*rc));
			rc->file = f;
			const char *detail = NULL;
			enum af_reason why = af_parse_record(ps, buf, len, &rc->ev, &detail);
			*nl = '\0';
			cr_assert_eq(why, AF_REASON_NONE, "%s: %s: %s", rec_files[f], detail, line);
			if (f == F_AUDIT)
				cr_assert(json_str(line, "Operation", rc->op, sizeof(rc->op)));
			cr_assert_eq(rc->ev.kind, intended_kind(f, line, rc->op), "%s", line);
			line = nl + 1;
		}
		free(text);
	}
	af_parser_free(ps);
}

static void read_truth(struct run *r)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", r->dir, AF_GEN_TRUTH_FILE);
	char *text = slurp(path, NULL);
	size_t cap = 0;
	for (char *line = text; *line;) {
		char *nl = strchr(line, '\n');
		cr_assert_not_null(nl);
		*nl = '\0';
		if (r->n_truth == cap) {
			cap = cap ? cap * 2 : 16;
			r->truth = realloc(r->truth, cap * sizeof(*r->truth));
		}
		struct truth *t = &r->truth[r->n_truth++];
		memset(t, 0, sizeof(*t));
		char ts[64], note[256];
		cr_assert(json_str(line, "rule", t->rule, sizeof(t->rule)), "%s", line);
		json_str(line, "account", t->account, sizeof(t->account));
		json_str(line, "address", t->address, sizeof(t->address));
		cr_assert(strstr(line, "\"account\":") && strstr(line, "\"address\":"), "%s", line);
		cr_assert(json_str(line, "from", ts, sizeof(ts)), "%s", line);
		cr_assert(af_ts_parse(ts, strlen(ts), &t->from), "%s", line);
		cr_assert(json_str(line, "to", ts, sizeof(ts)), "%s", line);
		cr_assert(af_ts_parse(ts, strlen(ts), &t->to), "%s", line);
		cr_assert(json_str(line, "note", note, sizeof(note)) && note[0], "%s", line);
		line = nl + 1;
	}
	free(text);
}

static void read_networks(struct run *r)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", r->dir, AF_GEN_NETWORKS_FILE);
	char *text = slurp(path, NULL);
	size_t cap = 0;
	for (char *line = text; *line;) {
		char *nl = strchr(line, '\n');
		cr_assert_not_null(nl);
		*nl = '\0';
		if (r->n_nets == cap) {
			cap = cap ? cap * 2 : 64;
			r->nets = realloc(r->nets, cap * sizeof(*r->nets));
		}
		struct net *n = &r->nets[r->n_nets++];
		memset(n, 0, sizeof(*n));
		char cidr[64], s[64];
		cr_assert(json_str(line, "network", cidr, sizeof(cidr)), "%s", line);
		char *slash = strchr(cidr, '/');
		cr_assert_not_null(slash);
		*slash = '\0';
		n->prefix = (unsigned)atoi(slash + 1);
		cr_assert(af_ip_parse(cidr, strlen(cidr), &n->ip), "%s", cidr);
		cr_assert(json_str(line, "country", n->country, sizeof(n->country)));
		cr_assert(json_str(line, "city", s, sizeof(s)));
		cr_assert(json_str(line, "as_org", s, sizeof(s)));
		n->lat = json_num(line, "lat");
		n->lon = json_num(line, "lon");
		n->radius = json_num(line, "radius");
		cr_assert_gt(json_num(line, "asn"), 0);
		cr_assert(strstr(line, "\"hosting\":") && strstr(line, "\"anonymous\":"));
		line = nl + 1;
	}
	free(text);
}

static struct run *generate(enum af_gen_scenario sc, uint32_t accounts, uint32_t days,
                            uint64_t seed, const char *sub)
{
	struct run *r = calloc(1, sizeof(*r));
	cr_assert_not_null(r);
	snprintf(r->dir, sizeof(r->dir), "%s/%s", tmpdir, sub);
	af_gen_opts_init(&r->opts);
	r->opts.scenario = sc;
	r->opts.accounts = accounts;
	r->opts.days = days;
	r->opts.seed = seed;
	char err[256] = "";
	cr_assert_eq(af_gen_run(&r->opts, r->dir, &r->st, err, sizeof(err)), AF_OK, "%s", err);
	return r;
}

static struct run *generate_and_read(enum af_gen_scenario sc, uint32_t accounts, uint32_t days)
{
	struct run *r = generate(sc, accounts, days, 7, af_gen_scenario_name(sc));
	read_records(r);
	read_truth(r);
	read_networks(r);
	return r;
}

static void run_free(struct run *r)
{
	free(r->recs);
	free(r->truth);
	free(r->nets);
	free(r);
}

static struct net *net_of(struct run *r, const struct af_ip *ip)
{
	for (size_t i = 0; i < r->n_nets; i++) {
		struct net *n = &r->nets[i];
		size_t bytes = n->ip.family == AF_IP_V4 ? 12 + n->prefix / 8 : n->prefix / 8;
		if (n->ip.family == ip->family && memcmp(n->ip.bytes, ip->bytes, bytes) == 0)
			return n;
	}
	return NULL;
}

static bool is_signin(const struct rec *rc)
{
	return rc->ev.kind == AF_KIND_SIGNIN_OK || rc->ev.kind == AF_KIND_SIGNIN_FAILED;
}

static const struct truth *find_truth(const struct run *r, const char *rule, const char *account)
{
	for (size_t i = 0; i < r->n_truth; i++)
		if (strcmp(r->truth[i].rule, rule) == 0 &&
		    (!account || strcmp(r->truth[i].account, account) == 0))
			return &r->truth[i];
	return NULL;
}

static double km(double lat1, double lon1, double lat2, double lon2)
{
	const double rad = 3.14159265358979323846 / 180.0;
	double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
	double h = sin(dlat / 2) * sin(dlat / 2) +
	           cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
	return 2 * 6371.0 * asin(sqrt(h));
}

static int by_account_then_time(const void *pa, const void *pb)
{
	const struct rec *a = *(const struct rec *const *)pa, *b = *(const struct rec *const *)pb;
	int c = strcmp(a->ev.account, b->ev.account);
	if (c)
		return c;
	return a->ev.ts_ns < b->ev.ts_ns ? -1 : a->ev.ts_ns > b->ev.ts_ns;
}

/* The successful sign-ins, by account then time. */
static const struct rec **signins_ok(struct run *r, size_t *n)
{
	const struct rec **v = malloc(r->n * sizeof(*v));
	cr_assert_not_null(v);
	*n = 0;
	for (size_t i = 0; i < r->n; i++)
		if (r->recs[i].ev.kind == AF_KIND_SIGNIN_OK)
			v[(*n)++] = &r->recs[i];
	qsort(v, *n, sizeof(*v), by_account_then_time);
	return v;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const enum af_gen_scenario all_scenarios[] = {AF_GEN_BASELINE, AF_GEN_SEED_INCIDENT,
                                                     AF_GEN_PASSWORD_SPRAY, AF_GEN_BEC_INBOX_RULE,
                                                     AF_GEN_FORWARDING};
#define N_SCENARIOS (sizeof(all_scenarios) / sizeof(all_scenarios[0]))

/* ---- options ------------------------------------------------------------- */

Test(gen, knows_every_scenario_by_its_command_line_name)
{
	for (size_t i = 0; i < N_SCENARIOS; i++) {
		enum af_gen_scenario s = AF_GEN_SCENARIO_COUNT;
		cr_assert(af_gen_scenario_parse(af_gen_scenario_name(all_scenarios[i]), &s));
		cr_assert_eq(s, all_scenarios[i]);
	}
	enum af_gen_scenario s;
	cr_assert(af_gen_scenario_parse("seed-incident", &s));
	cr_assert_eq(s, AF_GEN_SEED_INCIDENT);
	cr_assert_not(af_gen_scenario_parse("ransomware", &s));
	cr_assert_not(af_gen_scenario_parse("Baseline", &s));
}

Test(gen, rejects_options_it_cannot_generate)
{
	struct af_gen_opts o;
	char err[256];
	af_gen_opts_init(&o);
	cr_assert_eq(af_gen_opts_check(&o, err, sizeof(err)), AF_OK);
	o.accounts = 0;
	cr_assert_eq(af_gen_opts_check(&o, err, sizeof(err)), AF_E_CONFIG);
	cr_assert(strstr(err, "--accounts"), "%s", err);
	af_gen_opts_init(&o);
	o.days = 0;
	cr_assert_eq(af_gen_opts_check(&o, err, sizeof(err)), AF_E_CONFIG);
	af_gen_opts_init(&o);
	o.scenario = AF_GEN_FORWARDING;
	o.days = 1;
	cr_assert_eq(af_gen_opts_check(&o, err, sizeof(err)), AF_E_CONFIG);
	cr_assert(strstr(err, "forwarding"), "%s", err);
	af_gen_opts_init(&o);
	o.signins_lo = 70;
	cr_assert_eq(af_gen_opts_check(&o, err, sizeof(err)), AF_E_CONFIG);
	af_gen_opts_init(&o);
	o.sends_hi = AF_GEN_PER_DAY_MAX + 1;
	cr_assert_eq(af_gen_opts_check(&o, err, sizeof(err)), AF_E_CONFIG);
	struct af_gen_stats st;
	o.sends_hi = 50;
	o.accounts = AF_GEN_ACCOUNTS_MAX + 1;
	cr_assert_eq(af_gen_run(&o, tmpdir, &st, err, sizeof(err)), AF_E_CONFIG);
}

Test(gen, reports_a_directory_it_cannot_make)
{
	char file[PATH_MAX + 16], dir[PATH_MAX + 32], err[512] = "";
	snprintf(file, sizeof(file), "%s/plain", tmpdir);
	FILE *f = fopen(file, "w");
	cr_assert_not_null(f);
	fclose(f);
	snprintf(dir, sizeof(dir), "%s/sub", file);
	struct af_gen_opts o;
	af_gen_opts_init(&o);
	o.accounts = 5;
	o.days = 1;
	struct af_gen_stats st;
	cr_assert_eq(af_gen_run(&o, dir, &st, err, sizeof(err)), AF_E_IO);
	cr_assert(strstr(err, "plain"), "%s", err);
}

/* ---- determinism --------------------------------------------------------- */

static bool same_files(const char *a, const char *b)
{
	static const char *const names[] = {AF_GEN_SIGNINS_FILE, AF_GEN_AUDIT_FILE,
	                                    AF_GEN_TRACE_FILE, AF_GEN_TRUTH_FILE,
	                                    AF_GEN_NETWORKS_FILE};
	bool same = true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char pa[PATH_MAX + 64], pb[PATH_MAX + 64];
		snprintf(pa, sizeof(pa), "%s/%s", a, names[i]);
		snprintf(pb, sizeof(pb), "%s/%s", b, names[i]);
		size_t la, lb;
		char *x = slurp(pa, &la), *y = slurp(pb, &lb);
		if (i < 3)
			cr_assert_gt(la, 0, "%s is empty", pa);
		same &= la == lb && memcmp(x, y, la) == 0;
		free(x);
		free(y);
	}
	return same;
}

Test(gen, writes_the_same_bytes_for_the_same_options)
{
	struct run *a = generate(AF_GEN_SEED_INCIDENT, 40, 5, 42, "a");
	struct run *b = generate(AF_GEN_SEED_INCIDENT, 40, 5, 42, "b");
	cr_assert(same_files(a->dir, b->dir));
	cr_assert_eq(a->st.audit, b->st.audit);
	run_free(a);
	run_free(b);
}

Test(gen, writes_other_bytes_for_another_seed)
{
	struct run *a = generate(AF_GEN_BASELINE, 40, 3, 1, "a");
	struct run *b = generate(AF_GEN_BASELINE, 40, 3, 2, "b");
	cr_assert_not(same_files(a->dir, b->dir));
	run_free(a);
	run_free(b);
}

/* ---- every scenario: records, order, ids, truth, networks ---------------- */

Test(gen, parses_every_record_of_every_scenario_into_its_intended_kind)
{
	for (size_t i = 0; i < N_SCENARIOS; i++) {
		/* read_records asserts the kind of each record. */
		struct run *r = generate_and_read(all_scenarios[i], 40, 6);
		cr_assert_eq(r->n, r->st.signins + r->st.audit + r->st.trace);
		size_t per_file[F_COUNT] = {0};
		for (size_t k = 0; k < r->n; k++) {
			per_file[r->recs[k].file]++;
			cr_assert_eq(r->recs[k].ev.schema,
			             r->recs[k].file == F_SIGNINS ? AF_SCHEMA_ENTRA_GRAPH
			             : r->recs[k].file == F_AUDIT ? AF_SCHEMA_M365
			                                          : AF_SCHEMA_MSGTRACE);
			cr_assert_neq(r->recs[k].ev.src.family, AF_IP_NONE,
			              "every record has an address");
		}
		cr_assert_gt(per_file[F_SIGNINS], 0);
		cr_assert_gt(per_file[F_AUDIT], 0);
		cr_assert_gt(per_file[F_TRACE], 0);
		run_free(r);
	}
}

Test(gen, keeps_each_file_in_event_time_order)
{
	for (size_t i = 0; i < N_SCENARIOS; i++) {
		struct run *r = generate_and_read(all_scenarios[i], 40, 6);
		for (size_t k = 1; k < r->n; k++)
			if (r->recs[k].file == r->recs[k - 1].file)
				cr_assert_geq(r->recs[k].ev.ts_ns, r->recs[k - 1].ev.ts_ns,
				              "%s record %zu", rec_files[r->recs[k].file], k);
		run_free(r);
	}
}

Test(gen, gives_every_record_an_id_of_its_own)
{
	for (size_t i = 0; i < N_SCENARIOS; i++) {
		struct run *r = generate_and_read(all_scenarios[i], 40, 6);
		/* A trace row is known by its message's id and its recipient. */
		char **ids = malloc(r->n * sizeof(*ids));
		for (size_t k = 0; k < r->n; k++) {
			const struct af_event *ev = &r->recs[k].ev;
			cr_assert_neq(ev->record_id[0], '\0');
			size_t n = strlen(ev->record_id) + strlen(ev->recipient) + 2;
			ids[k] = malloc(n);
			snprintf(ids[k], n, "%s|%s", ev->record_id,
			         r->recs[k].file == F_TRACE ? ev->recipient : "");
		}
		qsort(ids, r->n, sizeof(*ids), str_cmp);
		for (size_t k = 1; k < r->n; k++)
			cr_assert_str_neq(ids[k], ids[k - 1]);
		for (size_t k = 0; k < r->n; k++)
			free(ids[k]);
		free(ids);
		run_free(r);
	}
}

Test(gen, writes_records_only_within_the_days_asked_for)
{
	struct af_gen_opts o;
	af_gen_opts_init(&o);
	o.scenario = AF_GEN_PASSWORD_SPRAY;
	o.accounts = 30;
	o.days = 4;
	const char *start = "2024-02-27T06:00:00Z"; /* across a leap day */
	cr_assert(af_ts_parse(start, strlen(start), &o.start_ns));
	struct run *r = calloc(1, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "%s/leap", tmpdir);
	char err[256];
	cr_assert_eq(af_gen_run(&o, r->dir, &r->st, err, sizeof(err)), AF_OK, "%s", err);
	read_records(r);
	read_truth(r);
	int64_t end = o.start_ns + 4 * DAY;
	for (size_t k = 0; k < r->n; k++) {
		cr_assert_geq(r->recs[k].ev.ts_ns, o.start_ns);
		cr_assert_lt(r->recs[k].ev.ts_ns, end);
	}
	cr_assert_eq(r->n_truth, 1);
	cr_assert_geq(r->truth[0].from, o.start_ns);
	cr_assert_lt(r->truth[0].to, end);
	run_free(r);
}

Test(gen, writes_a_truth_file_whose_lines_point_into_the_records)
{
	for (size_t i = 0; i < N_SCENARIOS; i++) {
		struct run *r = generate_and_read(all_scenarios[i], 40, 12);
		cr_assert_eq(r->n_truth, r->st.truth);
		static const char *const rules[] = {
		    "new_country",        "impossible_travel", "new_asn",
		    "signin_fail_burst",  "password_spray",    "mail_send_burst",
		    "mass_recipients",    "sent_items_bypass", "inbox_rule_tamper",
		    "mailbox_forwarding", "sender_name_spoof", "account_takeover"};
		for (size_t t = 0; t < r->n_truth; t++) {
			const struct truth *tr = &r->truth[t];
			bool known = false;
			for (size_t k = 0; k < sizeof(rules) / sizeof(rules[0]); k++)
				known |= strcmp(tr->rule, rules[k]) == 0;
			cr_assert(known, "rule %s", tr->rule);
			bool per_ip = strcmp(tr->rule, "password_spray") == 0;
			cr_assert_eq(tr->account[0] == '\0', per_ip, "%s", tr->rule);
			cr_assert_eq(tr->address[0] != '\0', per_ip, "%s", tr->rule);
			cr_assert_leq(tr->from, tr->to);
			cr_assert_geq(tr->from, r->opts.start_ns);
			cr_assert_lt(tr->to, r->opts.start_ns + (int64_t)r->opts.days * DAY);
			/* Some record of the account (or from the address) is
			 * at the line's first moment. */
			struct af_ip ip;
			if (per_ip)
				cr_assert(af_ip_parse(tr->address, strlen(tr->address), &ip));
			bool seen = false;
			for (size_t k = 0; k < r->n && !seen; k++) {
				const struct af_event *ev = &r->recs[k].ev;
				if (ev->ts_ns == tr->from)
					seen = per_ip ? memcmp(ev->src.bytes, ip.bytes, 16) == 0
					              : strcmp(ev->account, tr->account) == 0;
			}
			cr_assert(seen, "%s %s%s at its from time", tr->rule, tr->account,
			          tr->address);
		}
		run_free(r);
	}
}

Test(gen, lists_every_network_it_uses_once_in_reserved_ranges)
{
	for (size_t i = 0; i < N_SCENARIOS; i++) {
		struct run *r = generate_and_read(all_scenarios[i], 40, 6);
		cr_assert_eq(r->n_nets, r->st.networks);
		for (size_t k = 0; k < r->n; k++) {
			struct net *n = net_of(r, &r->recs[k].ev.src);
			cr_assert_not_null(n, "an address outside networks.jsonl");
			n->used = true;
		}
		for (size_t k = 0; k < r->n_nets; k++) {
			const struct net *n = &r->nets[k];
			cr_assert(n->used, "network %zu listed but unused", k);
			for (size_t j = 0; j < k; j++)
				cr_assert(memcmp(n->ip.bytes, r->nets[j].ip.bytes, 16) != 0);
			const uint8_t *b = n->ip.bytes;
			if (n->ip.family == AF_IP_V4) {
				cr_assert_eq(n->prefix, 24);
				/* 198.18.0.0/15 (benchmarking) or RFC 5737. */
				bool ok = (b[12] == 198 && (b[13] == 18 || b[13] == 19)) ||
				          (b[12] == 192 && b[13] == 0 && b[14] == 2) ||
				          (b[12] == 198 && b[13] == 51 && b[14] == 100) ||
				          (b[12] == 203 && b[13] == 0 && b[14] == 113);
				cr_assert(ok, "%u.%u.%u.0", b[12], b[13], b[14]);
			} else {
				cr_assert_eq(n->prefix, 48);
				cr_assert(b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d &&
				          b[3] == 0xb8);
			}
		}
		run_free(r);
	}
}

/* ---- the baseline does not look like an attack --------------------------- */

Test(gen, baseline_travels_no_faster_than_a_plane)
{
	struct run *r = generate_and_read(AF_GEN_BASELINE, 60, 14);
	size_t n;
	const struct rec **v = signins_ok(r, &n);
	size_t pairs = 0;
	for (size_t k = 1; k < n; k++) {
		if (strcmp(v[k]->ev.account, v[k - 1]->ev.account) != 0)
			continue;
		const struct net *a = net_of(r, &v[k - 1]->ev.src), *b = net_of(r, &v[k]->ev.src);
		cr_assert(a && b);
		double d = km(a->lat, a->lon, b->lat, b->lon) - a->radius - b->radius;
		double h = (double)(v[k]->ev.ts_ns - v[k - 1]->ev.ts_ns) / (3600.0 * NS);
		if (d > 0) {
			pairs++;
			cr_assert_gt(h, 0, "%s jumps %.0f km at once", v[k]->ev.account, d);
			cr_assert_leq(d / h, 1000.0, "%s: %.0f km in %.2f h", v[k]->ev.account, d,
			              h);
		}
	}
	cr_assert_gt(pairs, 0, "someone travelled");
	free(v);
	run_free(r);
}

Test(gen, baseline_countries_change_only_on_the_business_trips_it_names)
{
	struct run *r = generate_and_read(AF_GEN_BASELINE, 60, 14);
	size_t n, trips = 0;
	const struct rec **v = signins_ok(r, &n);
	for (size_t k = 0; k < n;) {
		size_t j = k;
		const struct net *home = net_of(r, &v[k]->ev.src);
		int64_t abroad = -1;
		for (; j < n && strcmp(v[j]->ev.account, v[k]->ev.account) == 0; j++) {
			const struct net *x = net_of(r, &v[j]->ev.src);
			if (abroad < 0 && strcmp(x->country, home->country) != 0)
				abroad = v[j]->ev.ts_ns;
		}
		const struct truth *t = find_truth(r, "new_country", v[k]->ev.account);
		if (abroad < 0) {
			cr_assert_null(t, "%s never left %s", v[k]->ev.account, home->country);
		} else {
			cr_assert_not_null(t, "%s abroad without a truth line", v[k]->ev.account);
			cr_assert_eq(t->from, abroad);
			cr_assert_not_null(find_truth(r, "new_asn", v[k]->ev.account));
			trips++;
		}
		k = j;
	}
	cr_assert_gt(trips, 0);
	for (size_t i = 0; i < r->n_truth; i++)
		cr_assert(strcmp(r->truth[i].rule, "new_country") == 0 ||
		              strcmp(r->truth[i].rule, "new_asn") == 0,
		          "baseline truth has %s", r->truth[i].rule);
	free(v);
	run_free(r);
}

Test(gen, baseline_failures_are_typos_not_bursts_or_sprays)
{
	struct run *r = generate_and_read(AF_GEN_BASELINE, 200, 10);
	const struct rec **f = malloc(r->n * sizeof(*f));
	size_t n = 0, typos = 0;
	for (size_t k = 0; k < r->n; k++) {
		if (r->recs[k].ev.kind != AF_KIND_SIGNIN_FAILED)
			continue;
		f[n++] = &r->recs[k];
		int32_t c = r->recs[k].ev.error_code;
		cr_assert(c == 50126 || c == 50140 || c == 50074, "error %d", c);
		typos += c == 50126;
	}
	cr_assert_gt(typos, 0);
	qsort(f, n, sizeof(*f), by_account_then_time);
	/* No account fails 5 times in 10 minutes. */
	for (size_t k = 4; k < n; k++)
		if (strcmp(f[k]->ev.account, f[k - 4]->ev.account) == 0)
			cr_assert_gt(f[k]->ev.ts_ns - f[k - 4]->ev.ts_ns, 600 * NS, "%s",
			             f[k]->ev.account);
	/* No address fails for 10 accounts in 20 minutes. */
	for (size_t k = 0; k < n; k++) {
		const char *names[10];
		size_t distinct = 0;
		for (size_t j = 0; j < n && distinct < 10; j++) {
			int64_t dt = f[j]->ev.ts_ns - f[k]->ev.ts_ns;
			if (dt < 0 || dt > 1200 * NS ||
			    memcmp(f[j]->ev.src.bytes, f[k]->ev.src.bytes, 16))
				continue;
			bool dup = false;
			for (size_t d = 0; d < distinct; d++)
				dup |= strcmp(names[d], f[j]->ev.account) == 0;
			if (!dup)
				names[distinct++] = f[j]->ev.account;
		}
		cr_assert_lt(distinct, 10);
	}
	free(f);
	run_free(r);
}

Test(gen, baseline_mail_is_saved_named_and_kept_as_people_do)
{
	struct run *r = generate_and_read(AF_GEN_BASELINE, 60, 10);
	size_t sends = 0;
	for (size_t k = 0; k < r->n; k++) {
		const struct af_event *ev = &r->recs[k].ev;
		cr_assert_eq(ev->flags &
		                 (AF_EV_NAME_SELF | AF_EV_FROM_SENT_ITEMS | AF_EV_RULE_DELETE |
		                  AF_EV_RULE_MOVE | AF_EV_RULE_MARK_READ | AF_EV_FORWARD),
		             0, "%s %s", ev->account, ev->action);
		cr_assert_neq(ev->kind, AF_KIND_MAILBOX_FORWARD);
		if (r->recs[k].file == F_AUDIT && ev->kind == AF_KIND_MAIL_SEND) {
			sends++;
			cr_assert(ev->flags & AF_EV_SAVE_SENT_KNOWN);
			cr_assert(ev->flags & AF_EV_SAVE_SENT, "%s", ev->account);
			cr_assert_gt(ev->recipient_count, 0);
		}
	}
	cr_assert_gt(sends, 0);
	run_free(r);
}

static bool is_bulk(const char *account)
{
	return strncmp(account, "newsletter", 10) == 0;
}

Test(gen, baseline_volumes_are_those_of_an_office)
{
	struct run *r = generate_and_read(AF_GEN_BASELINE, 100, 7); /* Fri..Thu: 5 working days */
	size_t signins = 0, sends = 0, bulk_sends = 0, weekend_bulk = 0;
	for (size_t k = 0; k < r->n; k++) {
		const struct rec *rc = &r->recs[k];
		bool bulk = is_bulk(rc->ev.account);
		bool send = rc->file == F_AUDIT && rc->ev.kind == AF_KIND_MAIL_SEND;
		if (bulk) {
			if (send) {
				bulk_sends++;
				/* Aug 2-3, 2025 were a weekend. */
				int64_t day = (rc->ev.ts_ns - r->opts.start_ns) / DAY;
				weekend_bulk += day == 1 || day == 2;
			}
			continue;
		}
		signins += is_signin(rc);
		sends += send;
	}
	/* 99 people; weekends and evenings add a little. */
	double per_signins = (double)signins / (99 * 5), per_sends = (double)sends / (99 * 5);
	cr_assert(per_signins >= 20 && per_signins <= 60, "%.1f sign-ins a day", per_signins);
	cr_assert(per_sends >= 5 && per_sends <= 50, "%.1f sends a day", per_sends);
	/* One newsletter account: 150-300 an hour, 9 hours, 5 days. */
	cr_assert(bulk_sends >= 5 * 9 * 135 && bulk_sends <= 5 * 9 * 330, "%zu", bulk_sends);
	cr_assert_eq(weekend_bulk, 0);
	run_free(r);
}

Test(gen, takes_the_volumes_asked_for)
{
	struct af_gen_opts o;
	af_gen_opts_init(&o);
	o.accounts = 30;
	o.days = 7;
	const char *monday = "2025-08-04T00:00:00Z";
	cr_assert(af_ts_parse(monday, strlen(monday), &o.start_ns));
	o.signins_lo = o.signins_hi = 100;
	o.sends_lo = o.sends_hi = 0;
	struct run *r = calloc(1, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "%s/vol", tmpdir);
	char err[256];
	cr_assert_eq(af_gen_run(&o, r->dir, &r->st, err, sizeof(err)), AF_OK, "%s", err);
	read_records(r);
	size_t signins = 0, sends = 0;
	for (size_t k = 0; k < r->n; k++) {
		const struct rec *rc = &r->recs[k];
		if (is_bulk(rc->ev.account))
			continue;
		signins += is_signin(rc);
		sends += rc->file == F_AUDIT && rc->ev.kind == AF_KIND_MAIL_SEND;
	}
	/* 29 people, 5 working days of 75-125 each, and a little more in
	 * evenings and at the weekend. */
	cr_assert(signins >= 29 * 5 * 70 && signins <= 29 * 5 * 140, "%zu", signins);
	/* Only evening and weekend mail: the working day sends none. */
	cr_assert_lt(sends, 29 * 5);
	run_free(r);
}

/* ---- the attacks ---------------------------------------------------------- */

Test(gen, seed_incident_truth_names_the_ten_rules_for_one_account)
{
	struct run *r = generate_and_read(AF_GEN_SEED_INCIDENT, 40, 12);
	static const char *const rules[] = {
	    "new_country",      "new_asn",           "impossible_travel", "mail_send_burst",
	    "mass_recipients",  "sender_name_spoof", "sent_items_bypass", "inbox_rule_tamper",
	    "account_takeover", "signin_fail_burst"};
	const struct truth *t0 = find_truth(r, "mail_send_burst", NULL);
	cr_assert_not_null(t0);
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		const struct truth *t = find_truth(r, rules[i], t0->account);
		cr_assert_not_null(t, "%s", rules[i]);
		cr_assert_str_empty(t->address);
	}
	/* The order DESIGN.md tells: sign-in anomalies, mail abuse, then
	 * the failures after the reset. */
	cr_assert_lt(find_truth(r, "new_country", t0->account)->from, t0->from);
	cr_assert_gt(find_truth(r, "signin_fail_burst", t0->account)->from, t0->to);
	run_free(r);
}

Test(gen, seed_incident_records_show_the_takeover_as_designed)
{
	struct run *r = generate_and_read(AF_GEN_SEED_INCIDENT, 40, 12);
	const struct truth *burst = find_truth(r, "mail_send_burst", NULL);
	cr_assert_not_null(burst);
	const char *victim = burst->account;
	const struct truth *t = find_truth(r, "new_country", victim);
	size_t spoofed = 0, sent_deletes = 0, hiding_rules = 0, before_vn = 0, fails = 0;
	int64_t reset = -1;
	for (size_t k = 0; k < r->n; k++)
		if (strcmp(r->recs[k].op, "Change user password.") == 0)
			reset = r->recs[k].ev.ts_ns;
	cr_assert_geq(reset, 0);
	for (size_t k = 0; k < r->n; k++) {
		const struct rec *rc = &r->recs[k];
		const struct af_event *ev = &rc->ev;
		if (strcmp(ev->account, victim) != 0)
			continue;
		if (ev->kind == AF_KIND_SIGNIN_OK && ev->ts_ns < t->from) {
			const struct net *n = net_of(r, &ev->src);
			cr_assert_str_eq(n->country, "VN", "a user normally in Vietnam");
			before_vn++;
		}
		if (ev->kind == AF_KIND_SIGNIN_OK && ev->ts_ns == t->from) {
			cr_assert_str_eq(net_of(r, &ev->src)->country, "US");
			cr_assert_str_eq(ev->geo.country, "US", "Entra's location in the record");
		}
		if (rc->file == F_AUDIT && ev->kind == AF_KIND_MAIL_SEND &&
		    (ev->flags & AF_EV_NAME_SELF)) {
			spoofed++;
			cr_assert_eq(ev->flags & AF_EV_SAVE_SENT, 0);
			cr_assert(ev->flags & AF_EV_SAVE_SENT_KNOWN);
			cr_assert(strncmp(ev->app, "Client=REST", 11) == 0, "%s", ev->app);
			if (ev->recipient_count > 1)
				cr_assert_neq(ev->rcpt_name_hash, 0, "one name shared by all");
		}
		sent_deletes +=
		    ev->kind == AF_KIND_MAIL_DELETE && (ev->flags & AF_EV_FROM_SENT_ITEMS);
		hiding_rules += ev->kind == AF_KIND_INBOX_RULE && (ev->flags & AF_EV_RULE_MOVE) &&
		                (ev->flags & AF_EV_RULE_MARK_READ);
		if (ev->ts_ns > reset && ev->kind == AF_KIND_SIGNIN_FAILED &&
		    !strcmp(net_of(r, &ev->src)->country, "US"))
			fails++;
	}
	cr_assert_gt(before_vn, 20);
	cr_assert_eq(spoofed, 300);
	cr_assert_eq(sent_deletes, 1);
	cr_assert_eq(hiding_rules, 1);
	cr_assert_eq(fails, 20);
	run_free(r);
}

Test(gen, password_spray_fails_one_address_against_thirty_accounts_in_twenty_minutes)
{
	uint32_t sizes[] = {5, 100};
	for (size_t s = 0; s < 2; s++) {
		struct run *r = generate_and_read(AF_GEN_PASSWORD_SPRAY, sizes[s], 4);
		cr_assert_eq(r->n_truth, 1);
		const struct truth *t = &r->truth[0];
		cr_assert_str_eq(t->rule, "password_spray");
		struct af_ip ip;
		cr_assert(af_ip_parse(t->address, strlen(t->address), &ip));
		char **names = malloc(r->n * sizeof(*names));
		size_t n = 0, ok = 0;
		for (size_t k = 0; k < r->n; k++) {
			const struct af_event *ev = &r->recs[k].ev;
			if (memcmp(ev->src.bytes, ip.bytes, 16) != 0)
				continue;
			ok += ev->kind != AF_KIND_SIGNIN_FAILED;
			cr_assert_geq(ev->ts_ns, t->from);
			cr_assert_leq(ev->ts_ns, t->to);
			names[n++] = (char *)ev->account;
		}
		cr_assert_eq(ok, 0, "the spray never succeeds");
		cr_assert_leq(t->to - t->from, 1200 * NS);
		qsort(names, n, sizeof(*names), str_cmp);
		size_t distinct = n > 0;
		for (size_t k = 1; k < n; k++)
			distinct += strcmp(names[k], names[k - 1]) != 0;
		cr_assert_geq(distinct, 30, "%zu accounts", distinct);
		cr_assert_eq(distinct, n, "one try per account");
		const struct net *net = net_of(r, &ip);
		cr_assert_not_null(net);
		free(names);
		run_free(r);
	}
}

/* The takeover's sign-in: the victim at home shortly before, the attacker
 * abroad at truth's new_country time. Returns the victim. */
static const char *check_takeover_signin(struct run *r, const char *home_cc)
{
	const struct truth *t = find_truth(r, "account_takeover", NULL);
	cr_assert_not_null(t);
	cr_assert_not_null(find_truth(r, "new_country", t->account));
	cr_assert_not_null(find_truth(r, "new_asn", t->account));
	const struct truth *it = find_truth(r, "impossible_travel", t->account);
	cr_assert_not_null(it);
	const struct rec *before = NULL, *attack = NULL;
	for (size_t k = 0; k < r->n; k++) {
		const struct rec *rc = &r->recs[k];
		if (rc->ev.kind != AF_KIND_SIGNIN_OK || strcmp(rc->ev.account, t->account) != 0)
			continue;
		if (rc->ev.ts_ns < it->from)
			before = rc;
		else if (rc->ev.ts_ns == it->from)
			attack = rc;
	}
	cr_assert(before && attack);
	const struct net *a = net_of(r, &before->ev.src), *b = net_of(r, &attack->ev.src);
	cr_assert_str_eq(a->country, home_cc);
	cr_assert_str_neq(b->country, home_cc);
	double h = (double)(attack->ev.ts_ns - before->ev.ts_ns) / (3600.0 * NS);
	double d = km(a->lat, a->lon, b->lat, b->lon) - a->radius - b->radius;
	cr_assert_gt(d / h, 1000.0, "impossible: %.0f km in %.2f h", d, h);
	return t->account;
}

Test(gen, bec_inbox_rule_hides_a_partners_mail_after_a_foreign_sign_in)
{
	struct run *r = generate_and_read(AF_GEN_BEC_INBOX_RULE, 40, 12);
	const char *victim = check_takeover_signin(r, "US");
	const struct truth *rule = find_truth(r, "inbox_rule_tamper", victim);
	cr_assert_not_null(rule);
	size_t n = 0;
	for (size_t k = 0; k < r->n; k++) {
		const struct rec *rc = &r->recs[k];
		if (rc->ev.kind != AF_KIND_INBOX_RULE || strcmp(rc->ev.account, victim) != 0)
			continue;
		cr_assert_eq(rc->ev.ts_ns, rule->from);
		cr_assert(rc->ev.flags & AF_EV_RULE_MOVE);
		cr_assert(rc->ev.flags & AF_EV_RULE_MARK_READ);
		cr_assert_neq(rc->ev.src.port, 0, "admin cmdlets log ip:port");
		n++;
	}
	cr_assert_eq(n, 1);
	/* This victim's sign-ins come from the unified audit log. */
	for (size_t k = 0; k < r->n; k++)
		if (is_signin(&r->recs[k]) && strcmp(r->recs[k].ev.account, victim) == 0)
			cr_assert_eq(r->recs[k].file, F_AUDIT);
	run_free(r);
}

Test(gen, forwarding_sends_mail_to_another_domain_after_a_foreign_sign_in)
{
	struct run *r = generate_and_read(AF_GEN_FORWARDING, 40, 12);
	const char *victim = check_takeover_signin(r, "GB");
	const struct truth *fwd = find_truth(r, "mailbox_forwarding", victim);
	cr_assert_not_null(fwd);
	size_t n = 0;
	for (size_t k = 0; k < r->n; k++) {
		const struct af_event *ev = &r->recs[k].ev;
		if (ev->kind != AF_KIND_MAILBOX_FORWARD)
			continue;
		cr_assert_str_eq(ev->account, victim);
		cr_assert_eq(ev->ts_ns, fwd->from);
		cr_assert(ev->flags & AF_EV_FORWARD_EXTERNAL);
		cr_assert(strstr(ev->recipient, "@mailsync-backup.example"), "%s", ev->recipient);
		n++;
	}
	cr_assert_eq(n, 1);
	run_free(r);
}

Test(gen, gives_a_one_person_organisation_its_attack)
{
	for (size_t i = 1; i < N_SCENARIOS; i++) {
		struct run *r = generate_and_read(all_scenarios[i], 1, 2);
		cr_assert_gt(r->n_truth, 0, "%s", af_gen_scenario_name(all_scenarios[i]));
		run_free(r);
	}
}
