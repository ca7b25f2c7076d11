/* rules_test.h - the harness the rule tests share: events made by hand, run
 * through the rules on one account's state and one address's state, as the
 * shard will (account rules, then af_account_learn, then address rules),
 * with every alert collected.
 *
 * Each test file is its own program (tests/CMakeLists.txt), so each gets
 * its own copy of the state below. The account under test is RT_ACCOUNT:
 * events of other accounts only take the address route, the way a shard
 * would route them elsewhere.
 *
 * Use: TestSuite(name, .init = rt_setup, .fini = rt_teardown); change cfg
 * (rt_set) before the first event; rt_restart() forgets all state but the
 * configuration, to replay a sequence.
 */
#ifndef AF_TESTS_PIPELINE_RULES_RULES_TEST_H
#define AF_TESTS_PIPELINE_RULES_RULES_TEST_H

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "pipeline/config.h"
#include "pipeline/ip.h"
#include "pipeline/rules/rule.h"
#include "pipeline/state/account.h"
#include "pipeline/state/addr.h"

#define SEC  INT64_C(1000000000)
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)
#define T0   (INT64_C(1756101480) * SEC) /* 2025-08-25T05:58:00Z, a minute boundary */

#define RT_ACCOUNT    "an@contoso.example"
#define RT_ALERTS_MAX 128

/* Where a sign-in comes from: what enrichment would have filled in. */
struct rt_place {
	const char *ip;
	const char *cc, *city;
	double lat, lon;
	uint32_t radius_km, asn;
	const char *as_org;
	uint32_t flags; /* AF_GEO_*; AF_GEO_HAS_LOCATION is added when lat/lon are given */
};

/* The scenario databases' places (tests/data/geo/scenario/README.md), and
 * a few more. */
static const struct rt_place HANOI = {
    .ip = "203.0.113.24",
    .cc = "VN",
    .city = "Hanoi",
    .lat = 21.0285,
    .lon = 105.8542,
    .radius_km = 20,
    .asn = 64500,
    .as_org = "Example VN Telecom",
};
static const struct rt_place ASHBURN = {
    .ip = "198.51.100.7",
    .cc = "US",
    .city = "Ashburn",
    .lat = 39.0438,
    .lon = -77.4874,
    .radius_km = 50,
    .asn = 64511,
    .as_org = "Example Hosting LLC",
    .flags = AF_GEO_HOSTING | AF_GEO_ANONYMOUS, /* as MaxMind flags hosting */
};
static const struct rt_place FRANKFURT = {
    .ip = "192.0.2.10",
    .cc = "DE",
    .city = "Frankfurt",
    .lat = 50.1109,
    .lon = 8.6821,
    .radius_km = 20,
    .asn = 64496,
    .as_org = "Example Transit",
};
static const struct rt_place TOKYO = {
    .ip = "2001:db8:1::5",
    .cc = "JP",
    .city = "Tokyo",
    .lat = 35.6762,
    .lon = 139.6503,
    .radius_km = 10,
    .asn = 64497,
    .as_org = "Example JP Networks",
};

static struct af_config cfg;
static struct af_account acct;
static struct af_account_cold cold;
static struct af_addr addr;
static struct af_hll_pool *pool;
static bool acct_started;
static struct af_alert alerts[RT_ALERTS_MAX];
static size_t nalerts;
static unsigned nrecords;

static inline void rt_state_init(void)
{
	pool = af_hll_pool_new(16);
	cr_assert_not_null(pool);
	af_addr_init(&addr);
	af_account_cold_init(&cold);
	acct_started = false;
	nalerts = 0;
	nrecords = 0;
}

static inline void rt_state_fini(void)
{
	if (acct_started)
		af_account_fini(&acct, pool);
	af_addr_fini(&addr, pool);
	af_hll_pool_free(pool);
}

static inline void rt_setup(void)
{
	af_config_init(&cfg);
	rt_state_init();
}

static inline void rt_teardown(void)
{
	rt_state_fini();
	af_config_fini(&cfg);
}

/* Forget every state and alert; keep the configuration. */
static inline void rt_restart(void)
{
	rt_state_fini();
	rt_state_init();
}

/* Set a configuration key, which must be accepted. */
static inline void rt_set(const char *key, const char *value)
{
	char err[256];

	cr_assert_eq(af_config_set(&cfg, key, value, err, sizeof(err)), AF_OK, "%s", err);
}

static inline void rt_emit(void *ctx, const struct af_alert *a)
{
	(void)ctx;
	cr_assert_lt(nalerts, RT_ALERTS_MAX, "too many alerts");
	alerts[nalerts++] = *a;
}

/* Run ev as the shard would: the account route (for RT_ACCOUNT), then the
 * address route. */
static inline void rt_run(const struct af_event *ev)
{
	struct af_rule_env env = {
	    .cfg = &cfg.rules,
	    .pool = pool,
	    .emit = rt_emit,
	};

	if (strcmp(ev->account, RT_ACCOUNT) == 0) {
		if (!acct_started) {
			af_account_init(&acct, ev->ts_ns);
			acct_started = true;
		}
		env.acct = &acct;
		env.cold = &cold;
		af_rules_apply(&env, AF_RULE_SCOPE_ACCOUNT, ev);
		af_account_learn(&acct, &cold, &cfg.rules, ev);
		env.acct = NULL;
		env.cold = NULL;
	}
	env.addr = &addr;
	af_rules_apply(&env, AF_RULE_SCOPE_ADDRESS, ev);
}

/* An event of kind for account at ts from place p (NULL: no address, no
 * geo), with the next record id ("rec-1", "rec-2", ...). */
static inline struct af_event rt_event(enum af_kind kind, const char *account, int64_t ts,
                                       const struct rt_place *p)
{
	struct af_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.ts_ns = ts;
	ev.kind = (uint8_t)kind;
	ev.schema = AF_SCHEMA_ENTRA_GRAPH;
	ev.outcome = kind == AF_KIND_SIGNIN_FAILED ? AF_OUTCOME_FAILURE : AF_OUTCOME_SUCCESS;
	snprintf(ev.account, sizeof(ev.account), "%s", account);
	ev.account_hash = XXH3_64bits(ev.account, strlen(ev.account));
	snprintf(ev.record_id, sizeof(ev.record_id), "rec-%u", ++nrecords);
	if (p == NULL)
		return ev;
	cr_assert(af_ip_parse(p->ip, strlen(p->ip), &ev.src), "%s", p->ip);
	snprintf(ev.geo.country, sizeof(ev.geo.country), "%s", p->cc);
	snprintf(ev.geo.city, sizeof(ev.geo.city), "%s", p->city);
	snprintf(ev.geo.as_org, sizeof(ev.geo.as_org), "%s", p->as_org);
	ev.geo.lat = p->lat;
	ev.geo.lon = p->lon;
	ev.geo.radius_km = p->radius_km;
	ev.geo.asn = p->asn;
	ev.geo.flags = p->flags | AF_GEO_FOUND;
	if (p->lat != 0 || p->lon != 0)
		ev.geo.flags |= AF_GEO_HAS_LOCATION;
	return ev;
}

/* A successful sign-in of RT_ACCOUNT from p at ts, run. */
static inline struct af_event rt_signin(int64_t ts, const struct rt_place *p)
{
	struct af_event ev = rt_event(AF_KIND_SIGNIN_OK, RT_ACCOUNT, ts, p);

	rt_run(&ev);
	return ev;
}

/* A failed sign-in of account from p with error code at ts, run. */
static inline struct af_event rt_fail(int64_t ts, const char *account, const struct rt_place *p,
                                      int32_t code)
{
	struct af_event ev = rt_event(AF_KIND_SIGNIN_FAILED, account, ts, p);

	ev.error_code = code;
	rt_run(&ev);
	return ev;
}

/* n successful sign-ins from p, one every step, from ts on. */
static inline void rt_signins(int64_t ts, const struct rt_place *p, unsigned n, int64_t step)
{
	for (unsigned i = 0; i < n; i++)
		rt_signin(ts + (int64_t)i * step, p);
}

/* An account that has learned p: 12 sign-ins over the 12 days before T0. */
static inline void rt_history(const struct rt_place *p)
{
	rt_signins(T0 - 12 * DAY, p, 12, DAY);
}

/* Alerts of rule raised so far. */
static inline size_t rt_count(const char *rule)
{
	size_t n = 0;

	for (size_t i = 0; i < nalerts; i++)
		n += strcmp(alerts[i].rule, rule) == 0;
	return n;
}

/* The i-th alert of rule; the test fails if there is none. */
static inline const struct af_alert *rt_alert(const char *rule, size_t i)
{
	for (size_t k = 0; k < nalerts; k++)
		if (strcmp(alerts[k].rule, rule) == 0 && i-- == 0)
			return &alerts[k];
	cr_assert_fail("no alert %s #%zu", rule, i);
	return NULL;
}

/* The observation named name of a; the test fails if there is none. */
static inline const struct af_alert_value *rt_obs(const struct af_alert *a, const char *name)
{
	for (size_t i = 0; i < a->nobserved; i++)
		if (strcmp(a->observed[i].name, name) == 0)
			return &a->observed[i];
	cr_assert_fail("%s has no observation %s", a->rule, name);
	return NULL;
}

static inline double rt_num(const struct af_alert *a, const char *name)
{
	return rt_obs(a, name)->num;
}

static inline const char *rt_text(const struct af_alert *a, const char *name)
{
	return rt_obs(a, name)->text;
}

/* Whether a has an observation named name. */
static inline bool rt_has_obs(const struct af_alert *a, const char *name)
{
	for (size_t i = 0; i < a->nobserved; i++)
		if (strcmp(a->observed[i].name, name) == 0)
			return true;
	return false;
}

/* A place at (lat, lon) with the given radius, in its own network. */
static inline struct rt_place rt_at(const char *ip, const char *cc, double lat, double lon,
                                    uint32_t radius_km, uint32_t asn)
{
	struct rt_place p = {ip, cc, "", lat, lon, radius_km, asn, "", 0};

	return p;
}

#endif
