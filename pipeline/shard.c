/* shard.c - the detect stage; see shard.h. */
#include "pipeline/shard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "pipeline/rules/rule.h"
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
