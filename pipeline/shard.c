/* shard.c - the detect stage; see shard.h. */
#include "pipeline/shard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "pipeline/rules/rule.h"
#include "pipeline/snapshot.h"
#include "pipeline/state/account.h"
#include "pipeline/state/addr.h"
#include "pipeline/state/distinct.h"
#include "pipeline/state/table.h"

/* Entries expired per event at most: spreading expiry keeps any one event
 * cheap; at one or two per event the tables drain faster than they fill. */
#define SHARD_EXPIRE_BUDGET 2

/* An account's value in the table: the hot state the rules judge by and
 * the cold part read only when an alert is raised. */
struct shard_account {
	struct af_account hot;
	struct af_account_cold cold;
};

struct af_shard {
	const struct af_config *cfg;
	struct af_table *accounts;
	struct af_table *addrs;
	struct af_hll_pool *pool;
	unsigned account_kinds; /* AF_RULE_KIND bits any account rule reads */
	unsigned addr_kinds;    /* ... any address rule reads */
	af_shard_emit_fn *emit;
	void *emit_ctx;
};

static void account_evicted(void *ctx, void *value, const void *key, size_t key_len)
{
	struct af_shard *s = ctx;
	struct shard_account *sa = value;
	(void)key;
	(void)key_len;
	af_account_fini(&sa->hot, s->pool);
}

static void addr_evicted(void *ctx, void *value, const void *key, size_t key_len)
{
	struct af_shard *s = ctx;
	(void)key;
	(void)key_len;
	af_addr_fini(value, s->pool);
}

af_err_t af_shard_new(const struct af_config *cfg, af_shard_emit_fn *emit, void *emit_ctx,
                      struct af_shard **out, char *errstr, size_t errstr_size)
{
	af_err_t err = af_rules_check(&cfg->rules, errstr, errstr_size);
	if (err != AF_OK)
		return err;
	struct af_shard *s = calloc(1, sizeof(*s));
	if (!s)
		goto nomem;
	s->cfg = cfg;
	s->emit = emit;
	s->emit_ctx = emit_ctx;
	s->account_kinds = af_rules_kinds(&cfg->rules, AF_RULE_SCOPE_ACCOUNT);
	s->addr_kinds = af_rules_kinds(&cfg->rules, AF_RULE_SCOPE_ADDRESS);
	s->pool = af_hll_pool_new(cfg->state.hll_blocks);
	if (!s->pool ||
	    af_table_new(sizeof(struct shard_account), AF_ACCOUNT_MAX, cfg->state.max_accounts,
	                 &s->accounts) != AF_OK ||
	    af_table_new(sizeof(struct af_addr), sizeof(((struct af_ip *)0)->bytes),
	                 cfg->state.max_addresses, &s->addrs) != AF_OK)
		goto nomem;
	af_table_on_evict(s->accounts, account_evicted, s);
	af_table_on_evict(s->addrs, addr_evicted, s);
	*out = s;
	return AF_OK;
nomem:
	af_shard_free(s);
	snprintf(errstr, errstr_size, "out of memory for the detection state (state.* caps)");
	return AF_E_NOMEM;
}

void af_shard_free(struct af_shard *s)
{
	if (!s)
		return;
	af_table_free(s->accounts);
	af_table_free(s->addrs);
	af_hll_pool_free(s->pool);
	free(s);
}

static void apply_account(struct af_shard *s, const struct af_event *ev)
{
	bool created;
	/* An entry idle past state.idle restarts here, whether or not expiry
	 * reached it first, which depends on the other keys of this shard: so
	 * the same account gets the same fresh start whatever the sharding. */
	struct shard_account *sa =
	    af_table_upsert_idle(s->accounts, ev->account_hash, ev->account, strlen(ev->account),
	                         ev->ts_ns, s->cfg->state.idle, &created);
	if (created) {
		af_account_init(&sa->hot, ev->ts_ns);
		af_account_cold_init(&sa->cold);
	}
	if (s->account_kinds & AF_RULE_KIND(ev->kind)) {
		struct af_rule_env env = {
			.cfg = &s->cfg->rules,
			.acct = &sa->hot,
			.cold = &sa->cold,
			.pool = s->pool,
			.emit = s->emit,
			.emit_ctx = s->emit_ctx,
		};
		af_rules_apply(&env, AF_RULE_SCOPE_ACCOUNT, ev);
	}
	af_account_learn(&sa->hot, &sa->cold, &s->cfg->rules, ev);
}

static void apply_address(struct af_shard *s, const struct af_event *ev)
{
	bool created;
	const uint8_t *key = ev->src.bytes;
	uint64_t hash = XXH3_64bits(key, sizeof(ev->src.bytes));

	struct af_addr *addr = af_table_upsert_idle(s->addrs, hash, key, sizeof(ev->src.bytes),
	                                            ev->ts_ns, s->cfg->state.idle, &created);
	if (created)
		af_addr_init(addr);
	struct af_rule_env env = {
		.cfg = &s->cfg->rules,
		.addr = addr,
		.pool = s->pool,
		.emit = s->emit,
		.emit_ctx = s->emit_ctx,
	};
	af_rules_apply(&env, AF_RULE_SCOPE_ADDRESS, ev);
}

void af_shard_prefetch(const struct af_shard *s, const struct af_event *ev)
{
	af_table_prefetch(s->accounts, ev->account_hash);
}

void af_shard_apply(struct af_shard *s, const struct af_event *ev)
{
	af_shard_apply_parts(s, ev, AF_SHARD_ACCOUNT | AF_SHARD_ADDRESS);
}

void af_shard_apply_parts(struct af_shard *s, const struct af_event *ev, unsigned parts)
{
	if ((parts & AF_SHARD_ACCOUNT) && ev->account[0] != '\0')
		apply_account(s, ev);
	if ((parts & AF_SHARD_ADDRESS) && ev->src.family != AF_IP_NONE &&
	    (s->addr_kinds & AF_RULE_KIND(ev->kind)))
		apply_address(s, ev);
	af_table_expire(s->accounts, ev->ts_ns, s->cfg->state.idle, SHARD_EXPIRE_BUDGET);
	af_table_expire(s->addrs, ev->ts_ns, s->cfg->state.idle, SHARD_EXPIRE_BUDGET);
}

void af_shard_stats(const struct af_shard *s, struct af_shard_stats *out)
{
	struct af_table_stats a, d;
	struct af_hll_pool_stats p;
	af_table_stats(s->accounts, &a);
	af_table_stats(s->addrs, &d);
	af_hll_pool_stats(s->pool, &p);
	*out = (struct af_shard_stats){
		.accounts = a.entries,
		.addresses = d.entries,
		.account_evictions = a.evictions,
		.account_expirations = a.expirations,
		.address_evictions = d.evictions,
		.address_expirations = d.expirations,
		.hll_refused = p.refused,
		.bytes = a.bytes + d.bytes + p.capacity * 1024u,
	};
}

/* ---- snapshots ---- */

/* The distinct counters a value holds, whose blocks are written after it. */
static void counters_of(bool account, void *value, struct af_distinct *d[2])
{
	struct af_distinct_window *w = account ? &((struct shard_account *)value)->hot.rcpts
	                                       : &((struct af_addr *)value)->accounts;
	d[0] = &w->cur;
	d[1] = &w->prev;
}

struct save_ctx {
	struct af_snap_writer *w;
	bool account;
	size_t value_size;
};

static void save_entry(void *ctx, void *value, uint64_t hash, const void *key, size_t key_len,
                       int64_t last_seen_ns)
{
	struct save_ctx *c = ctx;
	struct af_distinct *d[2];
	counters_of(c->account, value, d);
	af_snap_put_u64(c->w, hash);
	af_snap_put_u64(c->w, (uint64_t)last_seen_ns);
	af_snap_put_u32(c->w, (uint32_t)key_len);
	af_snap_put(c->w, key, key_len);
	/* The blocks' addresses are written as zeros, so that equal states
	 * give equal bytes. */
	struct af_hll_block *blk[2] = {d[0]->hll, d[1]->hll};
	d[0]->hll = d[1]->hll = NULL;
	af_snap_put(c->w, value, c->value_size);
	d[0]->hll = blk[0];
	d[1]->hll = blk[1];
	uint8_t blocks = (uint8_t)((blk[0] != NULL) | (blk[1] != NULL) << 1);
	af_snap_put(c->w, &blocks, 1);
	for (int i = 0; i < 2; i++)
		if (blk[i] != NULL)
			af_snap_put(c->w, blk[i], sizeof(*blk[i]));
}

static void save_table(struct af_table *t, struct af_snap_writer *w, bool account,
                       size_t value_size)
{
	struct af_table_stats st;
	af_table_stats(t, &st);
	af_snap_put_u64(w, st.entries);
	struct save_ctx c = {.w = w, .account = account, .value_size = value_size};
	af_table_each(t, save_entry, &c);
}

uint64_t af_shard_layout(void)
{
	const uint64_t sizes[] = {sizeof(struct shard_account), sizeof(struct af_addr),
	                          sizeof(struct af_hll_block), AF_ACCOUNT_MAX,
	                          sizeof(((struct af_ip *)0)->bytes)};
	return XXH3_64bits(sizes, sizeof(sizes));
}

void af_shard_save(struct af_shard *s, struct af_snap_writer *w)
{
	save_table(s->accounts, w, true, sizeof(struct shard_account));
	save_table(s->addrs, w, false, sizeof(struct af_addr));
}

static af_err_t load_table(struct af_shard *s, struct af_snap_view *v, bool account,
                           char *errstr, size_t errstr_size)
{
	struct af_table *t = account ? s->accounts : s->addrs;
	const char *what = account ? "accounts" : "addresses";
	size_t value_size = account ? sizeof(struct shard_account) : sizeof(struct af_addr);
	size_t key_max = account ? AF_ACCOUNT_MAX : sizeof(((struct af_ip *)0)->bytes);
	struct af_table_stats st;
	af_table_stats(t, &st);
	uint64_t n;
	if (!af_snap_take_u64(v, &n))
		goto short_view;
	if (n > st.cap) {
		snprintf(errstr, errstr_size,
		         "it holds %llu %s a shard; this run allows %zu (state.max_%s)",
		         (unsigned long long)n, what, st.cap, what);
		return AF_E_CONFIG;
	}
	/* The value is read into an aligned buffer, then its counters'
	 * pointers, meaningless here, are cleared before anything reads them. */
	_Alignas(max_align_t) uint8_t value[sizeof(struct shard_account) > sizeof(struct af_addr)
	                                        ? sizeof(struct shard_account)
	                                        : sizeof(struct af_addr)];
	uint8_t key[AF_ACCOUNT_MAX > 16 ? AF_ACCOUNT_MAX : 16];
	for (uint64_t i = 0; i < n; i++) {
		uint64_t hash, seen;
		uint32_t key_len;
		uint8_t blocks;
		if (!af_snap_take_u64(v, &hash) || !af_snap_take_u64(v, &seen) ||
		    !af_snap_take_u32(v, &key_len))
			goto short_view;
		if (key_len > key_max || (int64_t)seen < 0) {
			snprintf(errstr, errstr_size, "damaged: an entry of %s has a bad key or time",
			         what);
			return AF_E_FORMAT;
		}
		if (!af_snap_take(v, key, key_len) || !af_snap_take(v, value, value_size) ||
		    !af_snap_take(v, &blocks, 1))
			goto short_view;
		struct af_distinct *d[2];
		counters_of(account, value, d);
		d[0]->hll = d[1]->hll = NULL;
		bool created;
		void *slot = af_table_upsert(t, hash, key, key_len, (int64_t)seen, &created);
		if (!created) {
			snprintf(errstr, errstr_size, "damaged: an entry of %s comes twice", what);
			return AF_E_FORMAT;
		}
		memcpy(slot, value, value_size);
		counters_of(account, slot, d);
		for (int k = 0; k < 2; k++) {
			if (!(blocks & (1u << k)))
				continue;
			struct af_hll_block content;
			if (!af_snap_take(v, &content, sizeof(content)))
				goto short_view;
			if (af_distinct_restore(d[k], s->pool, &content) != AF_OK) {
				snprintf(errstr, errstr_size,
				         "it holds more distinct-count blocks than this run allows "
				         "(state.hll_blocks)");
				return AF_E_CONFIG;
			}
		}
	}
	return AF_OK;
short_view:
	snprintf(errstr, errstr_size, "damaged: the %s of a shard end short", what);
	return AF_E_FORMAT;
}

af_err_t af_shard_load(struct af_shard *s, struct af_snap_view *v, char *errstr,
                       size_t errstr_size)
{
	af_err_t e = load_table(s, v, true, errstr, errstr_size);
	if (e == AF_OK)
		e = load_table(s, v, false, errstr, errstr_size);
	if (e == AF_OK && !af_snap_done(v)) {
		snprintf(errstr, errstr_size, "damaged: bytes follow a shard's state");
		e = AF_E_FORMAT;
	}
	return e;
}
