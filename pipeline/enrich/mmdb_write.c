/* mmdb_write.c - the MaxMind DB writer: networks in a tree of nodes in
 * one array, pointing to values kept once each (mmdb_value.c), the file
 * written breadth first.
 *
 * Thread: the writer's owner only (see mmdb_write.h).
 * In: networks and JSON objects. Out: .mmdb files.
 *
 * DESIGN: a record in memory is a uint32_t: 0 empty; a node index (node 0
 * is the root, which no record points to); AF_MMDBW_VALUE | a value id; or
 * AF_MMDBW_ALIAS, the one record at ::ffff:0:0/96, which the file fills
 * with whatever ::/96 (the IPv4 space) holds when it is written. An insert
 * that covers ::ffff:0:0/96 replaces the alias with its value like every
 * other record below it, so the alias is walked to and put back after it.
 */
#include "pipeline/enrich/mmdb_write.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/enrich/mmdb_value.h"

#define AF_MMDBW_RECORD_BITS 28
#define AF_MMDBW_RECORD_MAX  ((1u << AF_MMDBW_RECORD_BITS) - 1)
/* More nodes could never be written with 28-bit records. */
#define AF_MMDBW_NODES_MAX (1u << AF_MMDBW_RECORD_BITS)
/* Nodes one insert may add: its own path and the alias path. */
#define AF_MMDBW_INSERT_NODES (128 + 96)

#define AF_MMDBW_EMPTY 0u
#define AF_MMDBW_VALUE 0x80000000u
#define AF_MMDBW_ALIAS 0xffffffffu
#define AF_MMDBW_UNSET UINT32_MAX /* write: not yet numbered / placed */

/* A value id below AF_MMDBW_VALUES_MAX never makes a record that reads as
 * a node or as the alias. */
_Static_assert((AF_MMDBW_VALUE | AF_MMDBW_VALUES_MAX) == AF_MMDBW_ALIAS,
               "value ids end just below the alias");

/* libmaxminddb refuses build_epoch 0; 2025-01-01T00:00:00Z, as
 * scripts/gen-mmdb uses, keeps output reproducible. */
#define AF_MMDBW_EPOCH_DEFAULT 1735689600u
/* libmaxminddb refuses a data section under 3 bytes; a smaller one is
 * padded with empty maps (0xE0) that no record points to. */
#define AF_MMDBW_DATA_MIN 3

static const uint8_t af_mmdbw_mapped[16] = {[10] = 0xff, [11] = 0xff}; /* ::ffff:0:0 */

struct af_mmdbw_node {
	uint32_t rec[2]; /* left (bit 0), right (bit 1) */
};

struct af_mmdbw {
	char *type;
	uint64_t build_epoch;
	struct af_mmdbw_node *nodes;
	size_t nnodes, node_cap;
	struct af_mmdbw_values values;
};

/* ---- the tree ---- */

static bool af_mmdbw_is_node(uint32_t rec)
{
	return rec != AF_MMDBW_EMPTY && rec < AF_MMDBW_VALUE;
}

static unsigned af_mmdbw_bit(const uint8_t a[16], unsigned i)
{
	return (a[i >> 3] >> (7 - (i & 7))) & 1;
}

/* Room for one insert's new nodes, so placing them cannot fail midway. */
static af_err_t af_mmdbw_reserve_nodes(struct af_mmdbw *w)
{
	if (w->nnodes + AF_MMDBW_INSERT_NODES > AF_MMDBW_NODES_MAX)
		return AF_E_INVALID;
	if (!af_mmdbw_grow((void **)&w->nodes, &w->node_cap, w->nnodes + AF_MMDBW_INSERT_NODES,
	                   sizeof(*w->nodes)))
		return AF_E_NOMEM;
	return AF_OK;
}

/* Set the record of the network a/plen to rec, splitting what it passes
 * through: a record that held data (or nothing) becomes a node whose two
 * records hold it, so the rest of that network keeps it.
 * @pre af_mmdbw_reserve_nodes succeeded. */
static void af_mmdbw_place(struct af_mmdbw *w, const uint8_t a[16], unsigned plen, uint32_t rec)
{
	uint32_t cur = 0;

	if (plen == 0) {
		w->nodes[0].rec[0] = w->nodes[0].rec[1] = rec;
		return;
	}
	for (unsigned i = 0; i + 1 < plen; i++) {
		uint32_t *r = &w->nodes[cur].rec[af_mmdbw_bit(a, i)];

		if (!af_mmdbw_is_node(*r)) {
			/* Nothing is ever inserted below the alias (see cidr). */
			assert(*r != AF_MMDBW_ALIAS);
			assert(w->nnodes < w->node_cap);
			w->nodes[w->nnodes].rec[0] = w->nodes[w->nnodes].rec[1] = *r;
			*r = (uint32_t)w->nnodes++;
		}
		cur = *r;
	}
	w->nodes[cur].rec[af_mmdbw_bit(a, plen - 1)] = rec;
}

/* True if the first plen bits of a and b agree. */
static bool af_mmdbw_same_prefix(const uint8_t a[16], const uint8_t b[16], unsigned plen)
{
	unsigned whole = plen / 8, rest = plen % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	return rest == 0 || ((a[whole] ^ b[whole]) & (0xFF00 >> rest) & 0xFF) == 0;
}

/* What the IPv4 space (::/96) holds: a node, a value, or empty. */
static uint32_t af_mmdbw_ipv4_root(const struct af_mmdbw *w)
{
	uint32_t r = w->nodes[0].rec[0];

	for (unsigned i = 1; i < 96 && af_mmdbw_is_node(r); i++)
		r = w->nodes[r].rec[0];
	return r;
}

/* Parse cidr into a (IPv6 bits; IPv4 at ::a.b.c.d) and plen. */
static af_err_t af_mmdbw_cidr(const char *cidr, uint8_t a[16], unsigned *plen, char *errstr,
                              size_t errstr_size)
{
	char text[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(cidr, '/'), *why = NULL;
	size_t alen = slash ? (size_t)(slash - cidr) : strlen(cidr);
	unsigned max = 128, bits, base = 0;

	memset(a, 0, 16);
	if (alen >= sizeof(text)) {
		why = "not an IPv4 or IPv6 address";
		goto fail;
	}
	memcpy(text, cidr, alen);
	text[alen] = '\0';
	if (inet_pton(AF_INET, text, a + 12) == 1) {
		max = 32, base = 96;
	} else if (inet_pton(AF_INET6, text, a) != 1) {
		why = "not an IPv4 or IPv6 address";
		goto fail;
	}
	bits = max;
	if (slash) {
		const char *p = slash + 1;

		/* 1 to 3 digits, no sign, no leading zero. */
		if (!af_mmdbw_digit(p[0]) || (p[0] == '0' && p[1] != '\0') || strlen(p) > 3) {
			why = max == 32 ? "prefix length is not 0..32"
			                : "prefix length is not 0..128";
			goto fail;
		}
		for (bits = 0; *p; p++) {
			if (!af_mmdbw_digit(*p)) {
				bits = max + 1;
				break;
			}
			bits = bits * 10 + (unsigned)(*p - '0');
		}
		if (bits > max) {
			why = max == 32 ? "prefix length is not 0..32"
			                : "prefix length is not 0..128";
			goto fail;
		}
	}
	for (unsigned i = base + bits; i < 128; i++) {
		if (af_mmdbw_bit(a, i)) {
			why = "the address has bits set after the prefix";
			goto fail;
		}
	}
	/* ::ffff:a.b.c.d/n is a.b.c.d/(n - 96): the alias already answers
	 * there. Shorter prefixes have bits set after them (the ffff), so
	 * they were refused above. */
	if (base == 0 && bits >= 96 && af_mmdbw_same_prefix(a, af_mmdbw_mapped, 96))
		a[10] = a[11] = 0;
	*plen = base + bits;
	return AF_OK;
fail:
	snprintf(errstr, errstr_size, "network \"%s\": %s", cidr, why);
	return AF_E_INVALID;
}

/* ---- the public face ---- */

af_err_t af_mmdbw_new(const char *database_type, struct af_mmdbw **out)
{
	struct af_mmdbw *w = calloc(1, sizeof(*w));
	af_err_t err = AF_E_NOMEM;

	*out = NULL;
	if (!w)
		return AF_E_NOMEM;
	w->type = strdup(database_type);
	w->build_epoch = AF_MMDBW_EPOCH_DEFAULT;
	if (!w->type)
		goto cleanup;
	err = af_mmdbw_values_init(&w->values);
	if (err == AF_OK)
		err = af_mmdbw_reserve_nodes(w);
	if (err != AF_OK)
		goto cleanup;
	w->nodes[0].rec[0] = w->nodes[0].rec[1] = AF_MMDBW_EMPTY;
	w->nnodes = 1;
	af_mmdbw_place(w, af_mmdbw_mapped, 96, AF_MMDBW_ALIAS);
	*out = w;
	w = NULL;
cleanup:
	af_mmdbw_free(w);
	return err;
}

void af_mmdbw_free(struct af_mmdbw *w)
{
	if (!w)
		return;
	free(w->type);
	free(w->nodes);
	af_mmdbw_values_fini(&w->values);
	free(w);
}

void af_mmdbw_set_build_epoch(struct af_mmdbw *w, uint64_t epoch)
{
	assert(epoch != 0);
	w->build_epoch = epoch;
}

af_err_t af_mmdbw_insert(struct af_mmdbw *w, const char *cidr, const char *json, char *errstr,
                         size_t errstr_size)
{
	uint8_t a[16];
	unsigned plen;
	uint32_t id;
	af_err_t err;

	err = af_mmdbw_cidr(cidr, a, &plen, errstr, errstr_size);
	if (err != AF_OK)
		return err;
	err = af_mmdbw_reserve_nodes(w);
	if (err != AF_OK) {
		snprintf(errstr, errstr_size, "network \"%s\": %s", cidr,
		         err == AF_E_NOMEM ? "out of memory"
		                           : "the tree would outgrow 28-bit records");
		return err;
	}
	err = af_mmdbw_values_add(&w->values, cidr, json, &id, errstr, errstr_size);
	if (err != AF_OK)
		return err;
	af_mmdbw_place(w, a, plen, AF_MMDBW_VALUE | id);
	if (plen <= 96 && af_mmdbw_same_prefix(a, af_mmdbw_mapped, plen))
		af_mmdbw_place(w, af_mmdbw_mapped, 96, AF_MMDBW_ALIAS);
	return AF_OK;
}

/* The metadata map (its marker not included). */
static bool af_mmdbw_metadata(const struct af_mmdbw *w, uint32_t node_count, struct af_mmdbw_buf *m)
{
	static const char suffix[] = " written by auditflow";
	size_t tlen = strlen(w->type);

	return tlen <= AF_MMDBW_FIELD_MAX - sizeof(suffix) && af_mmdbw_head(m, AF_MMDBW_T_MAP, 9) &&
	       af_mmdbw_put_text(m, "binary_format_major_version") &&
	       af_mmdbw_put_uint(m, AF_MMDBW_T_UINT16, 2) &&
	       af_mmdbw_put_text(m, "binary_format_minor_version") &&
	       af_mmdbw_put_uint(m, AF_MMDBW_T_UINT16, 0) && af_mmdbw_put_text(m, "build_epoch") &&
	       af_mmdbw_put_uint(m, AF_MMDBW_T_UINT64, w->build_epoch) &&
	       af_mmdbw_put_text(m, "database_type") && af_mmdbw_put_text(m, w->type) &&
	       af_mmdbw_put_text(m, "description") && af_mmdbw_head(m, AF_MMDBW_T_MAP, 1) &&
	       af_mmdbw_put_text(m, "en") &&
	       af_mmdbw_head(m, AF_MMDBW_T_STRING, (uint32_t)(tlen + sizeof(suffix) - 1)) &&
	       af_mmdbw_put(m, w->type, tlen) && af_mmdbw_put(m, suffix, sizeof(suffix) - 1) &&
	       af_mmdbw_put_text(m, "ip_version") && af_mmdbw_put_uint(m, AF_MMDBW_T_UINT16, 6) &&
	       af_mmdbw_put_text(m, "languages") && af_mmdbw_head(m, AF_MMDBW_T_ARRAY, 1) &&
	       af_mmdbw_put_text(m, "en") && af_mmdbw_put_text(m, "node_count") &&
	       af_mmdbw_put_uint(m, AF_MMDBW_T_UINT32, node_count) &&
	       af_mmdbw_put_text(m, "record_size") &&
	       af_mmdbw_put_uint(m, AF_MMDBW_T_UINT16, AF_MMDBW_RECORD_BITS);
}

/* What the file holds, computed before any byte is written. */
struct af_mmdbw_plan {
	uint32_t *as;     /* w node -> itself, or the one record its whole
	                     subtree amounts to (a value, or empty) */
	uint32_t *num;    /* w node -> file node number, once numbered */
	uint32_t *order;  /* breadth-first queue: file node k is order[k] */
	uint32_t *vorder; /* the data section: value ids in this order */
	size_t *voff;     /* value id -> offset in the data section */
	uint32_t ipv4;    /* what the alias stands for */
	size_t node_count, nv, data_size;
};

/* Fill plan->as for node and all it reaches, children first, so that two
 * sibling networks with one value become their parent network, as
 * MaxMind's writer has them; count the nodes that stay and give each value
 * met an offset, in the order met (collapsing merges equal values only,
 * so every value met is still referenced). Recursion is as deep as the
 * tree: at most 128. */
static uint32_t af_mmdbw_collapse(const struct af_mmdbw *w, struct af_mmdbw_plan *plan,
                                  uint32_t node)
{
	uint32_t side[2];

	if (plan->as[node] != AF_MMDBW_UNSET)
		return plan->as[node];
	/* The right child is needed after the whole left subtree: load it now. */
	if (af_mmdbw_is_node(w->nodes[node].rec[1])) {
		__builtin_prefetch(&w->nodes[w->nodes[node].rec[1]]);
		__builtin_prefetch(&plan->as[w->nodes[node].rec[1]]);
	}
	for (int i = 0; i < 2; i++) {
		uint32_t r = w->nodes[node].rec[i];

		if (r == AF_MMDBW_ALIAS)
			r = plan->ipv4;
		if (af_mmdbw_is_node(r)) {
			r = af_mmdbw_collapse(w, plan, r);
		} else if ((r & AF_MMDBW_VALUE) && plan->voff[r & ~AF_MMDBW_VALUE] == SIZE_MAX) {
			uint32_t id = r & ~AF_MMDBW_VALUE;

			plan->voff[id] = plan->data_size;
			plan->data_size += w->values.vals[id].len;
			plan->vorder[plan->nv++] = id;
		}
		side[i] = r;
	}
	/* The root stays a node, whatever it holds. */
	if (node != 0 && side[0] == side[1] && !af_mmdbw_is_node(side[0])) {
		plan->as[node] = side[0];
	} else {
		plan->as[node] = node;
		plan->node_count++;
	}
	return plan->as[node];
}

static af_err_t af_mmdbw_plan(const struct af_mmdbw *w, struct af_mmdbw_plan *plan)
{
	plan->as = malloc(w->nnodes * sizeof(*plan->as));
	plan->num = malloc(w->nnodes * sizeof(*plan->num));
	plan->order = malloc(w->nnodes * sizeof(*plan->order));
	plan->vorder = malloc((w->values.nvals + 1) * sizeof(*plan->vorder));
	plan->voff = malloc((w->values.nvals + 1) * sizeof(*plan->voff));
	if (!plan->as || !plan->num || !plan->order || !plan->vorder || !plan->voff)
		return AF_E_NOMEM;
	memset(plan->as, 0xff, w->nnodes * sizeof(*plan->as));
	memset(plan->num, 0xff, w->nnodes * sizeof(*plan->num));
	memset(plan->voff, 0xff, (w->values.nvals + 1) * sizeof(*plan->voff));
	plan->ipv4 = af_mmdbw_ipv4_root(w);
	af_mmdbw_collapse(w, plan, 0);
	/* The largest record: node_count + 16 + the last value's offset. */
	if ((uint64_t)plan->node_count + 16 + plan->data_size > AF_MMDBW_RECORD_MAX)
		return AF_E_INVALID;
	return AF_OK;
}

/* The file's record for rec, numbering (and queueing) a node not yet met:
 * nodes are numbered in the breadth-first order they are written in. */
static uint32_t af_mmdbw_file_record(struct af_mmdbw_plan *plan, uint32_t rec, uint32_t *n)
{
	if (rec == AF_MMDBW_ALIAS)
		rec = plan->ipv4;
	if (af_mmdbw_is_node(rec))
		rec = plan->as[rec];
	if (af_mmdbw_is_node(rec)) {
		if (plan->num[rec] == AF_MMDBW_UNSET) {
			plan->num[rec] = *n;
			plan->order[(*n)++] = rec;
		}
		return plan->num[rec];
	}
	if (rec & AF_MMDBW_VALUE)
		return (uint32_t)(plan->node_count + 16 + plan->voff[rec & ~AF_MMDBW_VALUE]);
	return (uint32_t)plan->node_count;
}

/* The tree, the separator, the data section and the metadata to f. */
static bool af_mmdbw_emit(const struct af_mmdbw *w, struct af_mmdbw_plan *plan,
                          const struct af_mmdbw_buf *meta, FILE *f)
{
	static const uint8_t zeros[16];
	static const char marker[] = "\xab\xcd\xef"
	                             "MaxMind.com";
	uint8_t buf[7 * 4096];
	size_t used = 0;
	uint32_t n = 1;
	bool ok = true;

	plan->num[0] = 0;
	plan->order[0] = 0;
	for (uint32_t k = 0; k < n; k++) {
		const struct af_mmdbw_node *nd = &w->nodes[plan->order[k]];
		uint32_t l, r;
		uint8_t *o = buf + used;

		/* The queue says which nodes come next; their loads are cache
		 * misses on a large tree, so start them early. */
		if (k + 16 < n)
			__builtin_prefetch(&w->nodes[plan->order[k + 16]]);
		if (k + 8 < n) {
			const struct af_mmdbw_node *ahead = &w->nodes[plan->order[k + 8]];

			for (int i = 0; i < 2; i++)
				if (af_mmdbw_is_node(ahead->rec[i]))
					__builtin_prefetch(&plan->as[ahead->rec[i]]);
		}
		l = af_mmdbw_file_record(plan, nd->rec[0], &n);
		r = af_mmdbw_file_record(plan, nd->rec[1], &n);

		/* 28-bit records: each one's top four bits share the middle byte. */
		o[0] = (uint8_t)(l >> 16), o[1] = (uint8_t)(l >> 8), o[2] = (uint8_t)l;
		o[3] = (uint8_t)(((l >> 24) & 0x0F) << 4 | ((r >> 24) & 0x0F));
		o[4] = (uint8_t)(r >> 16), o[5] = (uint8_t)(r >> 8), o[6] = (uint8_t)r;
		used += 7;
		if (used == sizeof(buf)) {
			ok = ok && fwrite(buf, 1, used, f) == used;
			used = 0;
		}
	}
	assert(n == plan->node_count);
	ok = ok && fwrite(buf, 1, used, f) == used;
	ok = ok && fwrite(zeros, 1, sizeof(zeros), f) == sizeof(zeros);
	for (size_t i = 0; ok && i < plan->nv; i++) {
		const struct af_mmdbw_val *v = &w->values.vals[plan->vorder[i]];

		ok = fwrite(w->values.data.p + v->off, 1, v->len, f) == v->len;
	}
	for (size_t i = plan->data_size; ok && i < AF_MMDBW_DATA_MIN; i++)
		ok = fputc(0xE0, f) != EOF;
	ok = ok && fwrite(marker, 1, sizeof(marker) - 1, f) == sizeof(marker) - 1;
	return ok && fwrite(meta->p, 1, meta->len, f) == meta->len;
}

af_err_t af_mmdbw_write(struct af_mmdbw *w, const char *path, char *errstr, size_t errstr_size)
{
	struct af_mmdbw_plan plan = {0};
	struct af_mmdbw_buf meta = {0};
	char *tmp = NULL;
	FILE *f = NULL;
	int fd = -1, saved, closed;
	af_err_t err;

	err = af_mmdbw_plan(w, &plan);
	if (err == AF_E_INVALID) {
		snprintf(errstr, errstr_size,
		         "%s: %zu nodes and %zu bytes of data do not fit 28-bit records", path,
		         plan.node_count, plan.data_size);
		goto cleanup;
	}
	tmp = malloc(strlen(path) + sizeof(".tmp.XXXXXX"));
	if (err != AF_OK || !tmp || !af_mmdbw_metadata(w, (uint32_t)plan.node_count, &meta)) {
		err = AF_E_NOMEM;
		snprintf(errstr, errstr_size, "%s: out of memory", path);
		goto cleanup;
	}
	err = AF_E_IO;
	sprintf(tmp, "%s.tmp.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		saved = errno;
		free(tmp);
		tmp = NULL; /* nothing to unlink */
		snprintf(errstr, errstr_size, "%s: cannot create a temporary file beside it: %s",
		         path, strerror(saved));
		goto cleanup;
	}
	/* mkostemp makes it 0600; a database is for every reader. */
	if (fchmod(fd, 0644) != 0 || !(f = fdopen(fd, "wb"))) {
		snprintf(errstr, errstr_size, "%s: %s", tmp, strerror(errno));
		goto cleanup;
	}
	fd = -1; /* f owns it */
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	if (!af_mmdbw_emit(w, &plan, &meta, f) || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		snprintf(errstr, errstr_size, "%s: write failed: %s", tmp, strerror(errno));
		goto cleanup;
	}
	closed = fclose(f);
	f = NULL;
	if (closed != 0 || rename(tmp, path) != 0) {
		snprintf(errstr, errstr_size, "%s: %s failed: %s", path,
		         closed != 0 ? "close" : "rename", strerror(errno));
		goto cleanup;
	}
	free(tmp);
	tmp = NULL;
	err = AF_OK;
cleanup:
	saved = errno;
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(plan.as);
	free(plan.num);
	free(plan.order);
	free(plan.vorder);
	free(plan.voff);
	free(meta.p);
	errno = saved;
	return err;
}