/* bench_corpus.c - the corpus `auditflow bench` measures, and geo
 * databases that know its addresses.
 *
 * Thread: the main thread, before any measurement.
 * In: the bench options. Out: struct af_bench_corpus (bench_impl.h): the
 * seed-incident scenario of ingest/gen.h (the baseline organisation with
 * DESIGN.md's attack) as one buffer of JSON lines in event-time order and
 * as a file; City, ASN and Anonymous-IP databases and a corporate list for
 * its networks (af_bench_geo_write).
 *
 * DESIGN:
 *  - One stream, not three files: the generator's sign-ins, mailbox audit
 *    and message trace are merged by event time (each record parsed once
 *    here for its time), so every stage and every thread count sees the
 *    same records in the same order, and the detect stage on one thread
 *    must raise exactly the alerts the runtime raises.
 *  - --events N: the generator is asked for as many days as it takes
 *    (proportionally more, up to its limit), then the first N records in
 *    event time are kept. A cut corpus may end before the attack.
 *  - --addresses N: the generator's organisation uses a few thousand
 *    addresses, too few to miss a per-thread geo cache. With N, the client
 *    address of every Entra sign-in (signins.jsonl's ipAddress) is redrawn:
 *    network i of networks.jsonl owns about N / (networks) addresses in a
 *    /48 of its own, 2001:db8:(8000+i)::/48 (gen uses 2001:db8:1::/48 and
 *    2001:db8:100::/40 only), ranked Zipf-wise (exponent 1), and a sign-in
 *    from network i gets one of them, so its country, city, ASN and flags
 *    are unchanged. The databases map each such /48 to its network's
 *    values. So the corpus holds at most N drawn addresses plus the ones
 *    of the other records; the report counts the distinct addresses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "bench/bench_util.h"
#include "cmd/bench_impl.h"
#include "ingest/gen.h"
#include "pipeline/enrich/mmdb_write.h"
#include "pipeline/parse/json.h"
#include "pipeline/parse/parse.h"
#include "pipeline/state/keyset.h"
#include "sinks/jsonw.h"

/* The record files, in the order ties in event time are broken. */
static const char *const record_files[] = {AF_GEN_SIGNINS_FILE, AF_GEN_AUDIT_FILE,
                                           AF_GEN_TRACE_FILE};
#define NFILES (sizeof(record_files) / sizeof(record_files[0]))

/* The /48s --addresses draws from: 2001:db8:(CLONE_BASE + i)::/48. */
#define CLONE_BASE 0x8000u
#define CLONE_MAX  0x8000u

/* Where an Entra sign-in holds the address --addresses replaces. */
static const char ip_key[] = "\"ipAddress\":\"";

/* One record while the files are merged. */
struct ref {
	const char *p;
	int64_t ts;
	uint64_t seq;       /* line within its file, from 0 */
	uint64_t addr_hash; /* of the address it carries in the corpus; 0 none */
	uint64_t rank;      /* its drawn address within its network */
	uint32_t len;
	uint32_t net;      /* 1 + the network of its drawn address; 0 kept */
	uint32_t addr_off; /* where the replaced address text starts */
	uint32_t addr_len;
	uint8_t file;
};

struct merge {
	char *text[NFILES]; /* the files, each padded */
	size_t text_len[NFILES];
	struct ref *refs;
	size_t n, cap;
	double *cdf;    /* Zipf weights of the ranks in a network */
	size_t per_net; /* addresses of the first (N mod networks) networks */
	uint64_t rng;
};

/* dir/name into path (AF_BENCH_PATH_MAX bytes: the work directory's
 * length is checked when it is made). */
static const char *path_in(char *path, const char *dir, const char *name)
{
	snprintf(path, AF_BENCH_PATH_MAX, "%s/%s", dir, name);
	return path;
}

/* The whole file at dir/name, followed by AF_JSON_PADDING zero bytes. */
static af_err_t slurp(const char *dir, const char *name, char **out, size_t *len, char *errstr,
                      size_t errstr_size)
{
	af_err_t err = AF_E_IO;
	char path[AF_BENCH_PATH_MAX];
	FILE *f = fopen(path_in(path, dir, name), "rb");
	struct stat st;
	char *buf = NULL;

	if (!f || fstat(fileno(f), &st) != 0)
		goto cleanup;
	buf = calloc((size_t)st.st_size + AF_JSON_PADDING, 1);
	if (!buf) {
		err = AF_E_NOMEM;
		goto cleanup;
	}
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		goto cleanup;
	*out = buf;
	*len = (size_t)st.st_size;
	buf = NULL;
	err = AF_OK;
cleanup:
	if (err != AF_OK)
		snprintf(errstr, errstr_size, "%s: %s", path,
		         err == AF_E_NOMEM ? "out of memory" : strerror(errno ? errno : EIO));
	if (f)
		fclose(f);
	free(buf);
	return err;
}

/* --- the generator ---------------------------------------------------- */

static af_err_t generate(const struct af_bench_opts *o, uint32_t days, const char *dir,
                         uint64_t *records, char *errstr, size_t errstr_size)
{
	struct af_gen_opts g;
	struct af_gen_stats st = {0};

	af_gen_opts_init(&g);
	g.scenario = AF_GEN_SEED_INCIDENT;
	g.seed = o->seed;
	g.accounts = o->accounts;
	g.days = days;
	af_err_t err = af_gen_opts_check(&g, errstr, errstr_size);
	if (err == AF_OK)
		err = af_gen_run(&g, dir, &st, errstr, errstr_size);
	*records = st.signins + st.audit + st.trace;
	return err;
}

/* Generate o's days, and more while --events asks for more records. */
static af_err_t generate_enough(const struct af_bench_opts *o, const char *dir,
                                struct af_bench_corpus *c, char *errstr, size_t errstr_size)
{
	uint32_t days = o->days;
	uint64_t got = 0;
	af_err_t err = generate(o, days, dir, &got, errstr, errstr_size);

	/* Weekends are quieter than weekdays: a tenth more days, and a few
	 * tries, reach the count whatever the week looks like. */
	for (int tries = 0;
	     err == AF_OK && tries < 4 && got > 0 && got < o->events && days < AF_GEN_DAYS_MAX;
	     tries++) {
		double want = (double)days * (double)o->events / (double)got * 1.1 + 1;
		days = want > AF_GEN_DAYS_MAX ? AF_GEN_DAYS_MAX : (uint32_t)want;
		err = generate(o, days, dir, &got, errstr, errstr_size);
	}
	c->days = days;
	c->generated = got;
	return err;
}

/* --- the networks ------------------------------------------------------- */

enum {
	N_NETWORK,
	N_COUNTRY,
	N_CITY,
	N_LAT,
	N_LON,
	N_RADIUS,
	N_ASN,
	N_AS_ORG,
	N_HOSTING,
	N_ANONYMOUS,
	N_CORPORATE,
	N_SLOTS
};

static const struct af_jpath net_paths[] = {
    {"network", N_NETWORK, 0},
    {"country", N_COUNTRY, 0},
    {"city", N_CITY, 0},
    {"lat", N_LAT, 0},
    {"lon", N_LON, 0},
    {"radius", N_RADIUS, 0},
    {"asn", N_ASN, 0},
    {"as_org", N_AS_ORG, 0},
    {"hosting", N_HOSTING, 0},
    {"anonymous", N_ANONYMOUS, 0},
    {"corporate", N_CORPORATE, 0},
};

static bool flag(const struct af_jval *v)
{
	bool b = false;

	return af_jval_bool(v, &b) && b;
}

/* w's text as an owned string; NULL when it overflowed or on no memory. */
static char *jsonw_take(const struct af_jsonw *w)
{
	if (w->flags & AF_JSONW_OVERFLOW)
		return NULL;
	return strndup(w->buf, w->len);
}

/* The databases' values for a network, the way scripts/gen-mmdb maps a
 * line of networks.jsonl to GeoIP2 records. */
static bool net_values(struct af_bench_net *n, const struct af_jval *s)
{
	char buf[1024];
	struct af_jsonw w;
	int64_t v;

	af_jsonw_init(&w, buf, sizeof(buf), NULL);
	af_jsonw_object_begin(&w);
	af_jsonw_key(&w, "country");
	af_jsonw_object_begin(&w);
	af_jsonw_field_string_len(&w, "iso_code", s[N_COUNTRY].s, s[N_COUNTRY].len);
	af_jsonw_object_end(&w);
	if (s[N_CITY].type == AF_J_STRING) {
		af_jsonw_key(&w, "city");
		af_jsonw_object_begin(&w);
		af_jsonw_key(&w, "names");
		af_jsonw_object_begin(&w);
		af_jsonw_field_string_len(&w, "en", s[N_CITY].s, s[N_CITY].len);
		af_jsonw_object_end(&w);
		af_jsonw_object_end(&w);
	}
	af_jsonw_key(&w, "location");
	af_jsonw_object_begin(&w);
	af_jsonw_key(&w, "latitude");
	af_jsonw_raw(&w, s[N_LAT].s, s[N_LAT].len);
	af_jsonw_key(&w, "longitude");
	af_jsonw_raw(&w, s[N_LON].s, s[N_LON].len);
	if (af_jval_int(&s[N_RADIUS], &v) && v >= 0)
		af_jsonw_field_uint(&w, "accuracy_radius", (uint64_t)v);
	af_jsonw_object_end(&w);
	af_jsonw_object_end(&w);
	n->city = jsonw_take(&w);

	if (!af_jval_int(&s[N_ASN], &v) || v < 0)
		return false;
	af_jsonw_init(&w, buf, sizeof(buf), NULL);
	af_jsonw_object_begin(&w);
	af_jsonw_field_uint(&w, "autonomous_system_number", (uint64_t)v);
	if (s[N_AS_ORG].type == AF_J_STRING)
		af_jsonw_field_string_len(&w, "autonomous_system_organization", s[N_AS_ORG].s,
		                          s[N_AS_ORG].len);
	af_jsonw_object_end(&w);
	n->asn = jsonw_take(&w);

	bool hosting = flag(&s[N_HOSTING]), anonymous = flag(&s[N_ANONYMOUS]);
	if (hosting || anonymous) {
		af_jsonw_init(&w, buf, sizeof(buf), NULL);
		af_jsonw_object_begin(&w);
		if (hosting)
			af_jsonw_field_bool(&w, "is_hosting_provider", true);
		if (anonymous) {
			af_jsonw_field_bool(&w, "is_anonymous", true);
			af_jsonw_field_bool(&w, "is_anonymous_vpn", true);
		}
		af_jsonw_object_end(&w);
		n->anon = jsonw_take(&w);
		if (!n->anon)
			return false;
	}
	n->corporate = flag(&s[N_CORPORATE]);
	return n->city && n->asn;
}

/* "a.b.c.d/n" or "v6/n" into n->base and n->bits. */
static bool net_cidr(struct af_bench_net *n, const struct af_jval *v)
{
	const char *slash = v->type == AF_J_STRING ? memchr(v->s, '/', v->len) : NULL;
	char *end;

	if (!slash || v->len >= sizeof(n->cidr) ||
	    !af_ip_parse(v->s, (size_t)(slash - v->s), &n->base))
		return false;
	memcpy(n->cidr, v->s, v->len);
	n->cidr[v->len] = '\0';
	unsigned long bits = strtoul(slash + 1, &end, 10);
	unsigned max = af_ip_is_v4(&n->base) ? 32 : 128;
	if (end != v->s + v->len || bits > max)
		return false;
	n->bits = (unsigned)bits + (af_ip_is_v4(&n->base) ? 96 : 0);
	return true;
}

static void nets_free(struct af_bench_nets *nets)
{
	for (size_t i = 0; i < nets->n; i++) {
		free(nets->v[i].city);
		free(nets->v[i].asn);
		free(nets->v[i].anon);
	}
	free(nets->v);
	nets->v = NULL;
	nets->n = 0;
}

static af_err_t nets_read(const char *dir, struct af_bench_nets *nets, char *errstr,
                          size_t errstr_size)
{
	char *text = NULL;
	size_t len = 0, lines = 0;
	struct af_jspec *spec = NULL;
	struct af_jparser *jp = NULL;
	struct af_jval slots[N_SLOTS];
	af_err_t err = slurp(dir, AF_GEN_NETWORKS_FILE, &text, &len, errstr, errstr_size);

	if (err != AF_OK)
		return err;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	err = AF_E_NOMEM;
	nets->v = calloc(lines + 1, sizeof(*nets->v));
	spec = af_jspec_new(net_paths, N_SLOTS, N_SLOTS, errstr, errstr_size);
	jp = af_jparser_new(len + 1);
	if (!nets->v || !spec || !jp)
		goto cleanup;
	err = AF_E_INVALID;
	for (char *line = text, *end = text + len; line < end;) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
		struct af_bench_net *net = &nets->v[nets->n];
		if (n > 0) {
			/* the padding after the file's last line is zeroed, and a
			 * record in the middle has the next lines after it */
			if (af_jparser_extract(jp, spec, line, n, slots) != AF_REASON_NONE ||
			    slots[N_COUNTRY].type != AF_J_STRING ||
			    slots[N_LAT].type != AF_J_NUMBER || slots[N_LON].type != AF_J_NUMBER ||
			    !net_cidr(net, &slots[N_NETWORK])) {
				snprintf(errstr, errstr_size, "%s/%s: line %zu: not a network", dir,
				         AF_GEN_NETWORKS_FILE, nets->n + 1);
				goto cleanup;
			}
			nets->n++;
			if (!net_values(net, slots)) {
				snprintf(errstr, errstr_size, "%s/%s: line %zu: bad values", dir,
				         AF_GEN_NETWORKS_FILE, nets->n);
				goto cleanup;
			}
		}
		line += n + 1;
	}
	err = AF_OK;
cleanup:
	if (err == AF_E_NOMEM)
		snprintf(errstr, errstr_size, "out of memory reading the networks");
	if (err != AF_OK)
		nets_free(nets);
	af_jparser_free(jp);
	af_jspec_free(spec);
	free(text);
	return err;
}

/* The network holding ip (the longest prefix), or -1. */
static long net_of(const struct af_bench_nets *nets, const struct af_ip *ip)
{
	long best = -1;

	for (size_t i = 0; i < nets->n; i++) {
		const struct af_bench_net *n = &nets->v[i];
		unsigned whole = n->bits / 8, rest = n->bits % 8;
		if (memcmp(n->base.bytes, ip->bytes, whole) != 0)
			continue;
		if (rest && (n->base.bytes[whole] ^ ip->bytes[whole]) >> (8 - rest))
			continue;
		if (best < 0 || n->bits > nets->v[best].bits)
			best = (long)i;
	}
	return best;
}

/* Address `rank` of network i's /48 (rank 0 is ...::1). */
static void drawn_addr(size_t i, uint64_t rank, struct af_ip *ip)
{
	uint32_t x = CLONE_BASE + (uint32_t)i;
	uint64_t host = rank + 1;

	memset(ip, 0, sizeof(*ip));
	ip->family = AF_IP_V6;
	ip->bytes[0] = 0x20;
	ip->bytes[1] = 0x01;
	ip->bytes[2] = 0x0d;
	ip->bytes[3] = 0xb8;
	ip->bytes[4] = (uint8_t)(x >> 8);
	ip->bytes[5] = (uint8_t)x;
	for (int k = 0; k < 8; k++)
		ip->bytes[15 - k] = (uint8_t)(host >> (8 * k));
}

/* Network i's /48 as text, into buf (AF_IP_TEXT_MAX + 8 bytes). */
static void drawn_cidr(size_t i, char *buf)
{
	struct af_ip ip;

	drawn_addr(i, 0, &ip);
	memset(ip.bytes + 6, 0, sizeof(ip.bytes) - 6);
	size_t n = af_ip_format(&ip, buf, AF_IP_TEXT_MAX);
	snprintf(buf + n, 8, "/48");
}

/* --- merging ------------------------------------------------------------- */

/* Networks that own drawn addresses. */
static size_t drawn_nets(const struct af_bench_nets *nets)
{
	return nets->n < CLONE_MAX ? nets->n : CLONE_MAX;
}

/* How many addresses network i owns of o->addresses. */
static uint64_t net_share(const struct af_bench_opts *o, const struct af_bench_nets *nets, size_t i)
{
	size_t m = drawn_nets(nets);

	if (i >= m)
		return 0;
	return o->addresses / m + (i < o->addresses % m);
}

/* Decide whether ref r (an Entra sign-in with address ip) gets a drawn
 * address, and which; set its address hash either way. */
static void draw(struct merge *m, const struct af_bench_opts *o, const struct af_bench_nets *nets,
                 struct ref *r, const struct af_ip *ip)
{
	r->addr_hash = ip->family != AF_IP_NONE ? XXH3_64bits(ip->bytes, sizeof(ip->bytes)) : 0;
	if (o->addresses == 0 || r->file != 0 || ip->family == AF_IP_NONE)
		return;
	long i = net_of(nets, ip);
	uint64_t share = i >= 0 ? net_share(o, nets, (size_t)i) : 0;
	const char *key = share ? memmem(r->p, r->len, ip_key, sizeof(ip_key) - 1) : NULL;
	if (!key)
		return;
	const char *text = key + sizeof(ip_key) - 1;
	const char *quote = memchr(text, '"', (size_t)(r->p + r->len - text));
	if (!quote)
		return;
	double u = af_bench_unit(&m->rng) * m->cdf[share - 1];
	struct af_ip drawn;
	r->net = (uint32_t)i + 1;
	r->rank = af_bench_zipf_rank(m->cdf, share, u);
	r->addr_off = (uint32_t)(text - r->p);
	r->addr_len = (uint32_t)(quote - text);
	drawn_addr((size_t)i, r->rank, &drawn);
	r->addr_hash = XXH3_64bits(drawn.bytes, sizeof(drawn.bytes));
}

/* Cut every file into refs, parsing each record for its time (and
 * address). A record the parser refuses keeps its place in its file. */
static af_err_t frame_all(struct merge *m, const struct af_bench_opts *o,
                          const struct af_config *cfg, const struct af_bench_nets *nets,
                          uint64_t *invalid, char *errstr, size_t errstr_size)
{
	struct af_parser *ps = af_parser_new(cfg->input.max_record_bytes, errstr, errstr_size);
	struct af_event ev;

	if (!ps)
		return AF_E_NOMEM;
	for (size_t f = 0; f < NFILES; f++) {
		int64_t last_ts = INT64_MIN;
		uint64_t seq = 0;
		for (char *line = m->text[f], *end = line + m->text_len[f]; line < end;) {
			char *nl = memchr(line, '\n', (size_t)(end - line));
			size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
			if (len > 0 && len <= UINT32_MAX) {
				if (m->n == m->cap) {
					size_t cap = m->cap ? 2 * m->cap : 1 << 16;
					struct ref *refs = realloc(m->refs, cap * sizeof(*refs));
					if (!refs) {
						af_parser_free(ps);
						snprintf(errstr, errstr_size,
						         "out of memory merging");
						return AF_E_NOMEM;
					}
					m->refs = refs;
					m->cap = cap;
				}
				struct ref *r = &m->refs[m->n++];
				const char *detail;
				memset(r, 0, sizeof(*r));
				memset(&ev.pos, 0, sizeof(ev.pos));
				r->p = line;
				r->len = (uint32_t)len;
				r->file = (uint8_t)f;
				r->seq = seq++;
				if (af_parse_record(ps, line, len, &ev, &detail) ==
				    AF_REASON_NONE) {
					last_ts = ev.ts_ns;
					draw(m, o, nets, r, &ev.src);
				} else {
					(*invalid)++;
				}
				r->ts = last_ts;
			}
			line += len + 1;
		}
	}
	af_parser_free(ps);
	return AF_OK;
}

static int ref_cmp(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Copy the kept refs into one buffer, with their drawn addresses. */
static af_err_t assemble(const struct merge *m, size_t n, struct af_bench_corpus *c)
{
	size_t cap = AF_JSON_PADDING;
	struct af_keyset addrs;

	for (size_t k = 0; k < n; k++)
		cap += m->refs[k].len + 1 + (m->refs[k].net ? AF_IP_TEXT_MAX : 0);
	c->buf = calloc(cap, 1);
	if (!c->buf || af_keyset_init(&addrs) != AF_OK)
		return AF_E_NOMEM;
	char *out = c->buf;
	for (size_t k = 0; k < n; k++) {
		const struct ref *r = &m->refs[k];
		const char *start = out;
		if (r->net) {
			struct af_ip ip;
			drawn_addr(r->net - 1, r->rank, &ip);
			memcpy(out, r->p, r->addr_off);
			out += r->addr_off;
			out += af_ip_format(&ip, out, AF_IP_TEXT_MAX);
			size_t tail = r->len - r->addr_off - r->addr_len;
			memcpy(out, r->p + r->addr_off + r->addr_len, tail);
			out += tail;
			c->rewritten++;
		} else {
			memcpy(out, r->p, r->len);
			out += r->len;
		}
		c->bytes += (size_t)(out - start);
		*out++ = '\n';
		if (r->addr_hash)
			af_keyset_add(&addrs, r->addr_hash);
	}
	c->len = (size_t)(out - c->buf);
	c->records = n;
	c->distinct_addresses = af_keyset_count(&addrs);
	af_keyset_fini(&addrs);
	return AF_OK;
}

static af_err_t write_file(const char *path, const char *buf, size_t len, char *errstr,
                           size_t errstr_size)
{
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(buf, 1, len, f) == len;

	if (f && fclose(f) != 0)
		ok = false;
	if (!ok) {
		snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno ? errno : EIO));
		return AF_E_IO;
	}
	return AF_OK;
}

static af_err_t zipf_weights(struct merge *m, const struct af_bench_opts *o,
                             const struct af_bench_nets *nets)
{
	m->rng = o->seed ^ 0x6a09e667f3bcc909ULL;
	if (o->addresses == 0 || nets->n == 0)
		return AF_OK;
	m->per_net = (size_t)net_share(o, nets, 0);
	m->cdf = malloc(m->per_net * sizeof(*m->cdf));
	if (!m->cdf)
		return AF_E_NOMEM;
	af_bench_zipf_fill(m->cdf, m->per_net, 1.0);
	return AF_OK;
}

af_err_t af_bench_corpus_build(const struct af_bench_opts *o, const struct af_config *cfg,
                               const char *dir, const sigset_t *stop, struct af_bench_corpus *c,
                               char *errstr, size_t errstr_size)
{
	struct merge m = {0};
	char path[AF_BENCH_PATH_MAX];
	af_err_t err;

	memset(c, 0, sizeof(*c));
	err = generate_enough(o, dir, c, errstr, errstr_size);
	if (err == AF_OK)
		err = nets_read(dir, &c->nets, errstr, errstr_size);
	for (size_t f = 0; f < NFILES && err == AF_OK; f++) {
		err = slurp(dir, record_files[f], &m.text[f], &m.text_len[f], errstr, errstr_size);
		unlink(path_in(path, dir, record_files[f]));
	}
	if (err != AF_OK)
		goto cleanup;
	err = AF_E_NOMEM;
	snprintf(errstr, errstr_size, "out of memory building the corpus");
	if (zipf_weights(&m, o, &c->nets) != AF_OK)
		goto cleanup;
	err = frame_all(&m, o, cfg, &c->nets, &c->invalid, errstr, errstr_size);
	if (err != AF_OK)
		goto cleanup;
	if (af_bench_stopped(stop)) {
		err = AF_E_INTERNAL;
		snprintf(errstr, errstr_size, "interrupted");
		goto cleanup;
	}
	qsort(m.refs, m.n, sizeof(*m.refs), ref_cmp);
	size_t keep = o->events && o->events < m.n ? (size_t)o->events : m.n;
	err = assemble(&m, keep, c);
	if (err != AF_OK) {
		snprintf(errstr, errstr_size, "out of memory building the corpus");
		goto cleanup;
	}
	c->path = strdup(path_in(path, dir, "corpus.jsonl"));
	err = c->path ? write_file(c->path, c->buf, c->len, errstr, errstr_size) : AF_E_NOMEM;
cleanup:
	for (size_t f = 0; f < NFILES; f++)
		free(m.text[f]);
	free(m.refs);
	free(m.cdf);
	if (err != AF_OK)
		af_bench_corpus_fini(c);
	return err;
}

void af_bench_corpus_fini(struct af_bench_corpus *c)
{
	if (c->path)
		unlink(c->path);
	free(c->path);
	free(c->buf);
	nets_free(&c->nets);
	memset(c, 0, sizeof(*c));
}

/* --- geo databases ------------------------------------------------------- */

/* Insert every network (and its drawn /48) with the value that pick
 * gives it; networks whose value is NULL are left out. */
static af_err_t insert_all(struct af_mmdbw *w, const struct af_bench_corpus *c,
                           const char *(*pick)(const struct af_bench_net *), char *errstr,
                           size_t errstr_size)
{
	af_err_t err = AF_OK;

	for (size_t i = 0; i < c->nets.n && err == AF_OK; i++) {
		const char *value = pick(&c->nets.v[i]);
		if (!value)
			continue;
		err = af_mmdbw_insert(w, c->nets.v[i].cidr, value, errstr, errstr_size);
		if (err == AF_OK && c->rewritten && i < drawn_nets(&c->nets)) {
			char cidr[AF_IP_TEXT_MAX + 8];
			drawn_cidr(i, cidr);
			err = af_mmdbw_insert(w, cidr, value, errstr, errstr_size);
		}
	}
	return err;
}

static const char *pick_city(const struct af_bench_net *n)
{
	return n->city;
}

static const char *pick_asn(const struct af_bench_net *n)
{
	return n->asn;
}

static const char *pick_anon(const struct af_bench_net *n)
{
	return n->anon;
}

static const char *pick_corporate(const struct af_bench_net *n)
{
	return n->corporate ? n->cidr : NULL;
}

/* One database of type `type` at dir/name, keyed `key` in cfg. */
static af_err_t write_db(const struct af_bench_corpus *c, const char *dir, const char *name,
                         const char *type, const char *(*pick)(const struct af_bench_net *),
                         const char *key, struct af_config *cfg, char *errstr, size_t errstr_size)
{
	struct af_mmdbw *w = NULL;
	char path[AF_BENCH_PATH_MAX];
	af_err_t err = af_mmdbw_new(type, &w);

	if (err != AF_OK)
		snprintf(errstr, errstr_size, "out of memory writing %s", name);
	if (err == AF_OK)
		err = insert_all(w, c, pick, errstr, errstr_size);
	if (err == AF_OK)
		err = af_mmdbw_write(w, path_in(path, dir, name), errstr, errstr_size);
	if (err == AF_OK)
		err = af_config_set(cfg, key, path, errstr, errstr_size);
	af_mmdbw_free(w);
	return err;
}

/* The corporate networks, one CIDR a line, for geo.corporate_networks. */
static af_err_t write_corporate(const struct af_bench_corpus *c, const char *dir,
                                struct af_config *cfg, char *errstr, size_t errstr_size)
{
	char path[AF_BENCH_PATH_MAX];
	FILE *f = fopen(path_in(path, dir, "corporate.txt"), "w");

	if (!f) {
		snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
		return AF_E_IO;
	}
	for (size_t i = 0; i < c->nets.n; i++) {
		if (!pick_corporate(&c->nets.v[i]))
			continue;
		fprintf(f, "%s\n", c->nets.v[i].cidr);
		if (c->rewritten && i < drawn_nets(&c->nets)) {
			char cidr[AF_IP_TEXT_MAX + 8];
			drawn_cidr(i, cidr);
			fprintf(f, "%s\n", cidr);
		}
	}
	if (fclose(f) != 0) {
		snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
		return AF_E_IO;
	}
	return af_config_set(cfg, "geo.corporate_networks", path, errstr, errstr_size);
}

af_err_t af_bench_geo_write(const struct af_bench_corpus *c, const char *dir, struct af_config *cfg,
                            char *errstr, size_t errstr_size)
{
	bool anon = false;
	af_err_t err;

	for (size_t i = 0; i < c->nets.n; i++)
		anon |= c->nets.v[i].anon != NULL;
	err = write_db(c, dir, "city.mmdb", "GeoIP2-City", pick_city, "geo.city", cfg, errstr,
	               errstr_size);
	if (err == AF_OK)
		err = write_db(c, dir, "asn.mmdb", "GeoLite2-ASN", pick_asn, "geo.asn", cfg, errstr,
		               errstr_size);
	if (err == AF_OK && anon)
		err = write_db(c, dir, "anon.mmdb", "GeoIP2-Anonymous-IP", pick_anon, "geo.anon",
		               cfg, errstr, errstr_size);
	if (err == AF_OK)
		err = write_corporate(c, dir, cfg, errstr, errstr_size);
	return err;
}
