/* netlist.c - sets of networks and of AS numbers, and the built-in test for
 * internal addresses (see pipeline/enrich/netlist.h).
 *
 * Thread: loading on the thread that opens the enrich stage (start-up or a
 * reload); the finished sets are read-only and read from every worker.
 * In: text, one entry per line: "a.b.c.d", "a.b.c.d/n", an IPv6 address,
 * "ipv6/n"; or "64500", "AS64500", "as64500". Out: sorted arrays searched by
 * bisection.
 *
 * DESIGN: a network becomes the closed range [first, last] of 128-bit
 * addresses in the same form as struct af_ip (IPv4 as ::ffff:a.b.c.d, so
 * "10.0.0.0/8" is ::ffff:10.0.0.0/104), and one list holds both families.
 * Once loaded, the ranges are sorted by their first address and every
 * overlapping or touching pair is merged, so the ranges are disjoint and
 * not adjacent: the one range that can hold an address is the last one
 * starting at or below it, found by one binary search.
 *
 * Entry syntax: the address is read by af_ip_parse, minus the forms that
 * only make sense in a log record (a port, brackets, an IPv6 zone). An IPv4
 * prefix counts IPv4 bits (0..32), an IPv6 prefix counts all 128. A host
 * part with bits set beyond the prefix ("10.0.0.1/8") is accepted and
 * masked to its network (10.0.0.0/8): lists are written by hand, often by
 * pasting an address and a mask, and the meaning is never in doubt. '#'
 * starts a comment anywhere on a line; blanks around an entry are ignored;
 * anything else after the entry is an error rather than silently ignored,
 * since a forgotten comma or a second address on one line is a mistake the
 * author wants to hear about.
 */
#include "pipeline/enrich/netlist.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A 128-bit address as two native words, most significant first, so that
 * ordering and "plus one" are integer operations. */
struct addr128 {
	uint64_t hi, lo;
};

struct net_range {
	struct addr128 first, last; /* inclusive */
};

struct af_netset {
	struct net_range *ranges; /* sorted, disjoint, not adjacent */
	size_t n, cap;
};

struct af_asnset {
	uint32_t *asns; /* sorted, unique */
	size_t n, cap;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* ---- one entry's text ------------------------------------------------- */

/* Trim [*p, *end) to the entry: drop a comment if allowed, then blanks.
 * Returns the length of the first token and sets *rest to what follows it,
 * blanks skipped (so *rest == *end means nothing follows). */
static size_t entry_token(const char **p, const char **end, bool comments, const char **rest)
{
	const char *s = *p, *e = *end, *t;
	size_t len;

	if (comments) {
		const char *hash = memchr(s, '#', (size_t)(e - s));

		if (hash != NULL)
			e = hash;
	}
	while (s < e && is_blank(*s))
		s++;
	while (e > s && is_blank(e[-1]))
		e--;
	t = s;
	while (t < e && !is_blank(*t))
		t++;
	len = (size_t)(t - s);
	*p = s;
	*end = e;
	while (t < e && is_blank(*t))
		t++;
	*rest = t;
	return len;
}

/* Parse a decimal number of at most max_digits digits, exactly [p, end). */
static bool parse_decimal(const char *p, const char *end, int max_digits, uint64_t *out)
{
	uint64_t v = 0;

	if (p == end || end - p > max_digits)
		return false;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return true;
}

static struct addr128 addr_from_bytes(const uint8_t b[16])
{
	struct addr128 a = {0, 0};

	for (int i = 0; i < 8; i++) {
		a.hi = a.hi << 8 | b[i];
		a.lo = a.lo << 8 | b[8 + i];
	}
	return a;
}

/* The range of the network holding base with a prefix of bits (0..128). */
static struct net_range range_of(struct addr128 base, unsigned bits)
{
	struct net_range r;
	uint64_t hi_host, lo_host; /* host-part masks */

	assert(bits <= 128);
	if (bits >= 64) {
		hi_host = 0;
		lo_host = bits == 128 ? 0 : UINT64_MAX >> (bits - 64);
	} else {
		hi_host = bits == 0 ? UINT64_MAX : UINT64_MAX >> bits;
		lo_host = UINT64_MAX;
	}
	r.first.hi = base.hi & ~hi_host;
	r.first.lo = base.lo & ~lo_host;
	r.last.hi = base.hi | hi_host;
	r.last.lo = base.lo | lo_host;
	return r;
}

/* Parse one network from exactly [p, end) (a token: no blanks). Returns
 * NULL and *r, or the reason it is not a network. */
static const char *parse_network(const char *p, const char *end, struct net_range *r)
{
	const char *slash = memchr(p, '/', (size_t)(end - p));
	const char *addr_end = slash != NULL ? slash : end;
	size_t colons = 0;
	struct af_ip ip;
	unsigned bits;

	for (const char *c = p; c < addr_end; c++) {
		if (*c == ':')
			colons++;
		else if (*c == '[' || *c == ']' || *c == '%')
			return "not an IP address (no brackets or zone in a network list)";
	}
	/* One colon is IPv4:port to af_ip_parse; a network has no port. */
	if (colons == 1 || !af_ip_parse(p, (size_t)(addr_end - p), &ip))
		return "not an IP address";

	/* The prefix counts bits of the family as written: "::ffff:10.0.0.0/104"
	 * and "10.0.0.0/8" are the same network. */
	bool v4_text = colons == 0;
	unsigned max_bits = v4_text ? 32 : 128;
	bits = max_bits;
	if (slash != NULL) {
		uint64_t v;

		if (!parse_decimal(slash + 1, end, 3, &v))
			return "prefix length is not a number";
		if (v > max_bits)
			return v4_text ? "prefix length out of range (0..32 for IPv4)"
			               : "prefix length out of range (0..128 for IPv6)";
		bits = (unsigned)v;
	}
	*r = range_of(addr_from_bytes(ip.bytes), v4_text ? 96 + bits : bits);
	return NULL;
}

/* Parse one AS number from exactly [p, end): "64500", "AS64500", "as64500". */
static const char *parse_asn(const char *p, const char *end, uint32_t *asn)
{
	uint64_t v;

	if (end - p >= 2 && (p[0] == 'A' || p[0] == 'a') && (p[1] == 'S' || p[1] == 's'))
		p += 2;
	/* 11 digits, so that 4294967296 and beyond are told as out of range. */
	if (!parse_decimal(p, end, 11, &v)) {
		for (const char *c = p; c < end; c++) {
			if (*c < '0' || *c > '9')
				return "not an AS number";
		}
		if (p == end)
			return "not an AS number";
		return "AS number out of range (0..4294967295)";
	}
	if (v > UINT32_MAX)
		return "AS number out of range (0..4294967295)";
	*asn = (uint32_t)v;
	return NULL;
}

/* ---- growing arrays ---------------------------------------------------- */

/* Room for one more item in items (n used of *cap); returns the array,
 * perhaps moved, or NULL (items unchanged) when memory runs out. */
static void *grow(void *items, size_t *cap, size_t n, size_t size)
{
	size_t new_cap;
	void *p;

	if (n < *cap)
		return items;
	new_cap = *cap == 0 ? 16 : *cap * 2;
	if (new_cap > SIZE_MAX / size)
		return NULL;
	p = realloc(items, new_cap * size);
	if (p != NULL)
		*cap = new_cap;
	return p;
}

static af_err_t netset_add(struct af_netset *set, const struct net_range *r)
{
	struct net_range *ranges = grow(set->ranges, &set->cap, set->n, sizeof *ranges);

	if (ranges == NULL)
		return AF_E_NOMEM;
	set->ranges = ranges;
	set->ranges[set->n++] = *r;
	return AF_OK;
}

static af_err_t asnset_add(struct af_asnset *set, uint32_t asn)
{
	uint32_t *asns = grow(set->asns, &set->cap, set->n, sizeof *asns);

	if (asns == NULL)
		return AF_E_NOMEM;
	set->asns = asns;
	set->asns[set->n++] = asn;
	return AF_OK;
}

static int addr_cmp(struct addr128 a, struct addr128 b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if (a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	return addr_cmp(((const struct net_range *)a)->first, ((const struct net_range *)b)->first);
}

/* True if the range starting at next touches or overlaps one ending at last. */
static bool touches(struct addr128 last, struct addr128 next)
{
	if (addr_cmp(next, last) <= 0)
		return true;
	if (last.hi == UINT64_MAX && last.lo == UINT64_MAX)
		return true; /* last ends the address space; nothing lies beyond */
	last.lo++;
	if (last.lo == 0)
		last.hi++;
	return addr_cmp(next, last) == 0;
}

static void netset_finish(struct af_netset *set)
{
	size_t out = 0;

	if (set->n == 0)
		return;
	qsort(set->ranges, set->n, sizeof *set->ranges, range_cmp);
	for (size_t i = 1; i < set->n; i++) {
		struct net_range *cur = &set->ranges[out];

		if (touches(cur->last, set->ranges[i].first)) {
			if (addr_cmp(set->ranges[i].last, cur->last) > 0)
				cur->last = set->ranges[i].last;
		} else {
			set->ranges[++out] = set->ranges[i];
		}
	}
	set->n = out + 1;
}

static int asn_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static void asnset_finish(struct af_asnset *set)
{
	size_t out = 0;

	if (set->n == 0)
		return;
	qsort(set->asns, set->n, sizeof *set->asns, asn_cmp);
	for (size_t i = 1; i < set->n; i++) {
		if (set->asns[i] != set->asns[out])
			set->asns[++out] = set->asns[i];
	}
	set->n = out + 1;
}

/* ---- files ------------------------------------------------------------- */

/* Called with one entry's token; returns NULL or why it is malformed. */
typedef const char *(*entry_fn)(void *set, const char *p, const char *end, af_err_t *err);

static const char *add_network_entry(void *set, const char *p, const char *end, af_err_t *err)
{
	struct net_range r;
	const char *why = parse_network(p, end, &r);

	if (why == NULL)
		*err = netset_add(set, &r);
	return why;
}

static const char *add_asn_entry(void *set, const char *p, const char *end, af_err_t *err)
{
	uint32_t asn;
	const char *why = parse_asn(p, end, &asn);

	if (why == NULL)
		*err = asnset_add(set, asn);
	return why;
}

/* Read path line by line, handing each entry to add. */
static af_err_t load_lines(const char *path, entry_fn add, void *set, char *errstr,
                           size_t errstr_size)
{
	af_err_t err = AF_OK;
	char *line = NULL;
	size_t line_cap = 0, lineno = 0;
	ssize_t len;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
		return AF_E_CONFIG;
	}
	errno = 0;
	while ((len = getline(&line, &line_cap, f)) >= 0) {
		const char *p = line, *end = line + len, *rest, *why;
		size_t tok;

		lineno++;
		tok = entry_token(&p, &end, true, &rest);
		if (tok == 0)
			continue;
		if (rest != end) {
			snprintf(errstr, errstr_size,
			         "%s:%zu: \"%.*s\": unexpected text after the entry", path, lineno,
			         (int)(end - p), p);
			err = AF_E_CONFIG;
			goto cleanup;
		}
		why = add(set, p, p + tok, &err);
		if (err != AF_OK) {
			snprintf(errstr, errstr_size, "%s:%zu: %s", path, lineno, af_err_str(err));
			goto cleanup;
		}
		if (why != NULL) {
			snprintf(errstr, errstr_size, "%s:%zu: \"%.*s\": %s", path, lineno,
			         (int)tok, p, why);
			err = AF_E_CONFIG;
			goto cleanup;
		}
		errno = 0;
	}
	if (ferror(f)) {
		/* getline's errno: EISDIR for a directory, EIO, ENOMEM. */
		int e = errno != 0 ? errno : EIO;

		snprintf(errstr, errstr_size, "%s: %s", path, strerror(e));
		err = e == ENOMEM ? AF_E_NOMEM : AF_E_CONFIG;
	}
cleanup:
	free(line);
	fclose(f);
	return err;
}

/* ---- networks ---------------------------------------------------------- */

af_err_t af_netset_load(const char *path, struct af_netset **out, char *errstr, size_t errstr_size)
{
	struct af_netset *set = calloc(1, sizeof *set);
	af_err_t err;

	*out = NULL;
	if (set == NULL) {
		snprintf(errstr, errstr_size, "%s: %s", path, af_err_str(AF_E_NOMEM));
		return AF_E_NOMEM;
	}
	err = load_lines(path, add_network_entry, set, errstr, errstr_size);
	if (err != AF_OK) {
		af_netset_free(set);
		return err;
	}
	netset_finish(set);
	*out = set;
	return AF_OK;
}

af_err_t af_netset_from_strings(const char *const *cidrs, struct af_netset **out, char *errstr,
                                size_t errstr_size)
{
	struct af_netset *set = calloc(1, sizeof *set);
	af_err_t err = AF_OK;

	*out = NULL;
	if (set == NULL)
		goto nomem;
	for (size_t i = 0; cidrs[i] != NULL; i++) {
		const char *p = cidrs[i], *end = p + strlen(p), *rest, *why;
		size_t tok = entry_token(&p, &end, false, &rest);

		if (tok == 0 || rest != end) {
			snprintf(errstr, errstr_size, "\"%s\": %s", cidrs[i],
			         tok == 0 ? "empty entry" : "unexpected text after the entry");
			err = AF_E_INVALID;
			goto cleanup;
		}
		why = add_network_entry(set, p, p + tok, &err);
		if (err != AF_OK)
			goto nomem;
		if (why != NULL) {
			snprintf(errstr, errstr_size, "\"%s\": %s", cidrs[i], why);
			err = AF_E_INVALID;
			goto cleanup;
		}
	}
	netset_finish(set);
	*out = set;
	return AF_OK;
nomem:
	snprintf(errstr, errstr_size, "%s", af_err_str(AF_E_NOMEM));
	err = AF_E_NOMEM;
cleanup:
	af_netset_free(set);
	return err;
}

void af_netset_free(struct af_netset *set)
{
	if (set == NULL)
		return;
	free(set->ranges);
	free(set);
}

bool af_netset_has(const struct af_netset *set, const struct af_ip *ip)
{
	struct addr128 a = addr_from_bytes(ip->bytes);
	size_t lo = 0, hi = set->n; /* answer: the last range in [0, lo) with first <= a */

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr_cmp(set->ranges[mid].first, a) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && addr_cmp(a, set->ranges[lo - 1].last) <= 0;
}

size_t af_netset_count(const struct af_netset *set)
{
	return set->n;
}

/* ---- internal addresses ------------------------------------------------ */

/* DESIGN: the ranges are fixed by the RFCs, so they are tests on the leading
 * bytes rather than a table: a few compares, no search, on every event.
 *
 * The documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
 * 2001:db8::/32) are deliberately not internal. They never appear in real
 * traffic, so treating them as public costs nothing in production, while the
 * examples, the demo and the tests use them as the public addresses of users
 * and attackers and need them looked up like any other.
 *
 * Other special-purpose blocks (192.0.0.0/24, 198.18.0.0/15, NAT64
 * 64:ff9b::/96 ...) are left to the databases: they are rare in audit logs,
 * and a lookup that finds nothing leaves the event "unknown", which is no
 * worse for the rules than "internal". */
static bool v4_is_internal(const uint8_t b[4])
{
	if (b[0] == 0 || b[0] == 10 || b[0] == 127)
		return true; /* "this network" 0/8, RFC 1918 10/8, loopback 127/8 */
	if (b[0] == 100)
		return (b[1] & 0xc0) == 64; /* CGNAT 100.64.0.0/10 */
	if (b[0] == 169)
		return b[1] == 254; /* link-local 169.254.0.0/16 */
	if (b[0] == 172)
		return (b[1] & 0xf0) == 16; /* RFC 1918 172.16.0.0/12 */
	if (b[0] == 192)
		return b[1] == 168; /* RFC 1918 192.168.0.0/16 */
	/* 224/4 multicast; 240/4 reserved, which holds 255.255.255.255. */
	return b[0] >= 224;
}

bool af_ip_is_internal(const struct af_ip *ip)
{
	static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t zero[15] = {0};
	const uint8_t *b = ip->bytes;

	/* The bytes decide, not ip->family: a mapped address is IPv4 either way. */
	if (memcmp(b, v4_mapped, sizeof v4_mapped) == 0)
		return v4_is_internal(b + 12);
	if (b[0] == 0xff)
		return true; /* multicast ff00::/8 */
	if ((b[0] & 0xfe) == 0xfc)
		return true; /* unique local fc00::/7 */
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return true; /* link-local fe80::/10 */
	/* :: (unspecified, also an AF_IP_NONE value) and ::1 (loopback). */
	return b[15] <= 1 && memcmp(b, zero, sizeof zero) == 0;
}

/* ---- AS numbers -------------------------------------------------------- */

af_err_t af_asnset_load(const char *path, struct af_asnset **out, char *errstr, size_t errstr_size)
{
	struct af_asnset *set = calloc(1, sizeof *set);
	af_err_t err;

	*out = NULL;
	if (set == NULL) {
		snprintf(errstr, errstr_size, "%s: %s", path, af_err_str(AF_E_NOMEM));
		return AF_E_NOMEM;
	}
	err = load_lines(path, add_asn_entry, set, errstr, errstr_size);
	if (err != AF_OK) {
		af_asnset_free(set);
		return err;
	}
	asnset_finish(set);
	*out = set;
	return AF_OK;
}

void af_asnset_free(struct af_asnset *set)
{
	if (set == NULL)
		return;
	free(set->asns);
	free(set);
}

bool af_asnset_has(const struct af_asnset *set, uint32_t asn)
{
	size_t lo = 0, hi = set->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (set->asns[mid] < asn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < set->n && set->asns[lo] == asn;
}

size_t af_asnset_count(const struct af_asnset *set)
{
	return set->n;
}
