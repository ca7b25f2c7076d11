/* test_account.c - per-account state: its size (the 512-byte budget), a
 * fresh account, what af_account_learn folds in and what it leaves out,
 * the learning period, familiar places, the travel anchor, the anomaly
 * mark and the return of HLL blocks. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/config.h"
#include "pipeline/state/account.h"

#define SEC  INT64_C(1000000000)
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)
#define T0   (INT64_C(1756101480) * SEC) /* 2025-08-25T05:58:00Z */

static struct af_config cfg;
static struct af_account acct;
static struct af_account_cold cold;

static void setup(void)
{
	af_config_init(&cfg);
	af_account_init(&acct, T0);
	af_account_cold_init(&cold);
}

static void teardown(void)
{
	af_config_fini(&cfg);
}

TestSuite(account, .init = setup, .fini = teardown);

/* A sign-in of kind at ts from ip in cc/asn at (lat, lon) with radius. */
static struct af_event signin(enum af_kind kind, int64_t ts, const char *ip, const char *cc,
                              uint32_t asn, double lat, double lon, uint32_t radius)
{
	static unsigned n;
	struct af_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = (uint8_t)kind;
	ev.ts_ns = ts;
	strcpy(ev.account, "an@contoso.example");
	snprintf(ev.record_id, sizeof(ev.record_id), "rec-%u", ++n);
	cr_assert(af_ip_parse(ip, strlen(ip), &ev.src));
	snprintf(ev.geo.country, sizeof(ev.geo.country), "%s", cc);
	ev.geo.asn = asn;
	ev.geo.lat = lat;
	ev.geo.lon = lon;
	ev.geo.radius_km = radius;
	ev.geo.flags = AF_GEO_FOUND | AF_GEO_HAS_LOCATION;
	return ev;
}

static struct af_event hanoi(int64_t ts)
{
	return signin(AF_KIND_SIGNIN_OK, ts, "203.0.113.24", "VN", 64500, 21.0285, 105.8542, 20);
}

static void learn(const struct af_event *ev)
{
	af_account_learn(&acct, &cold, &cfg.rules, ev);
}

Test(account, fits_in_512_bytes_of_hot_state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	char want[64];

	cr_assert_leq(sizeof(struct af_account), 512);
	af_account_size_report(f);
	fclose(f);
	snprintf(want, sizeof(want), "struct af_account: %zu bytes hot (budget 512)\n",
	         sizeof(struct af_account));
	cr_assert(strncmp(text, want, strlen(want)) == 0, "%s", text);
	cr_assert(strstr(text, "familiarity (8+6+6 x 10)    200\n") != NULL, "%s", text);
	cr_log_info("%s", text);
	free(text);
}

Test(account, starts_with_nothing_learned)
{
	cr_assert_eq(acct.first_min, (uint32_t)(T0 / MIN));
	cr_assert_eq(acct.last_min, acct.first_min);
	cr_assert_eq(acct.signins, 0);
	cr_assert_eq(acct.travel.flags, 0);
	cr_assert_eq(acct.anomaly_min, 0);
	cr_assert_eq(af_window_sum(&acct.fails, MIN, 10, T0), 0);
	cr_assert_eq(af_window_sum(&acct.sends, MIN, 10, T0), 0);
	cr_assert_eq(af_baseline_current(&acct.send_base), 0);
	cr_assert_eq(acct.send_base.period, INT64_MIN, "the baseline is initialised, not zeroed");
	cr_assert_eq(acct.rcpts.epoch, INT64_MIN, "the distinct window is initialised");
	for (int i = 0; i < AF_ACCOUNT_RULES; i++)
		cr_assert_eq(acct.suppress_until[i], 0);
	cr_assert_eq(af_account_country_count(&acct, &cfg.rules, T0), 0);
	cr_assert_not(af_account_learned(&acct, &cfg.rules, T0 + 30 * DAY));
}

Test(account, learns_the_country_network_and_operator_of_a_successful_signin)
{
	struct af_event ev = hanoi(T0 + HOUR);

	learn(&ev);
	cr_assert_eq(acct.signins, 1);
	cr_assert_eq(acct.last_min, (uint32_t)((T0 + HOUR) / MIN));
	cr_assert(af_account_knows_country(&acct, &cfg.rules, "VN", T0 + HOUR));
	cr_assert(af_account_knows_asn(&acct, &cfg.rules, 64500, T0 + HOUR));
	cr_assert(af_account_knows_net(&acct, &cfg.rules, &ev.src, T0 + HOUR));
	cr_assert_not(af_account_knows_country(&acct, &cfg.rules, "US", T0 + HOUR));
}

Test(account, learns_nothing_from_a_failed_signin_but_the_time)
{
	struct af_event ev = signin(AF_KIND_SIGNIN_FAILED, T0 + HOUR, "198.51.100.7", "US", 64511,
	                            39.0438, -77.4874, 50);

	learn(&ev);
	cr_assert_eq(acct.signins, 0);
	cr_assert_eq(acct.last_min, (uint32_t)((T0 + HOUR) / MIN));
	cr_assert_not(af_account_knows_country(&acct, &cfg.rules, "US", T0 + HOUR));
	cr_assert_not(af_account_knows_asn(&acct, &cfg.rules, 64511, T0 + HOUR));
	cr_assert_eq(acct.travel.flags, 0);
}

Test(account, a_late_event_does_not_move_last_seen_back)
{
	struct af_event now = hanoi(T0 + HOUR), late = hanoi(T0 + MIN);

	learn(&now);
	learn(&late);
	cr_assert_eq(acct.last_min, (uint32_t)((T0 + HOUR) / MIN));
	cr_assert_eq(acct.signins, 2);
}

Test(account, an_internal_address_teaches_no_country_or_operator)
{
	struct af_event ev = signin(AF_KIND_SIGNIN_OK, T0, "10.1.2.3", "VN", 64500, 0, 0, 0);

	ev.geo.flags = AF_GEO_INTERNAL;
	learn(&ev);
	cr_assert_not(af_account_knows_country(&acct, &cfg.rules, "VN", T0));
	cr_assert_not(af_account_knows_asn(&acct, &cfg.rules, 64500, T0));
}

Test(account, keeps_the_six_most_recent_operators)
{
	for (uint32_t i = 0; i < 10; i++) {
		struct af_event ev = signin(AF_KIND_SIGNIN_OK, T0 + i * HOUR, "203.0.113.24", "VN",
		                            64600 + i, 21.0, 105.8, 20);
		learn(&ev);
	}
	cr_assert_eq(af_account_asn_count(&acct, &cfg.rules, T0 + 10 * HOUR), AF_ACCOUNT_ASNS);
	for (uint32_t i = 0; i < 10; i++)
		cr_assert_eq(af_account_knows_asn(&acct, &cfg.rules, 64600 + i, T0 + 10 * HOUR),
		             i >= 10 - AF_ACCOUNT_ASNS, "AS%u", 64600 + i);
}

Test(account, forgets_what_it_has_not_seen_within_the_history)
{
	struct af_event ev = hanoi(T0);

	learn(&ev);
	cr_assert(af_account_knows_country(&acct, &cfg.rules, "VN", T0 + 89 * DAY));
	cr_assert_not(af_account_knows_country(&acct, &cfg.rules, "VN", T0 + 90 * DAY));
}

Test(account, is_learned_after_seven_days_and_ten_signins_both)
{
	for (int i = 0; i < 9; i++) {
		struct af_event ev = hanoi(T0 + i * MIN);
		learn(&ev);
	}
	cr_assert_not(af_account_learned(&acct, &cfg.rules, T0 + 8 * DAY), "nine sign-ins");
	struct af_event tenth = hanoi(T0 + 10 * MIN);
	learn(&tenth);
	cr_assert_not(af_account_learned(&acct, &cfg.rules, T0 + HOUR), "one hour");
	cr_assert_not(af_account_learned(&acct, &cfg.rules, T0 + 7 * DAY - 1));
	cr_assert(af_account_learned(&acct, &cfg.rules, T0 + 7 * DAY));
}

Test(account, learning_zero_days_and_signins_still_needs_one_signin)
{
	char err[128];

	cr_assert_eq(af_config_set(&cfg, "rules.learning_days", "0", err, sizeof(err)), AF_OK);
	cr_assert_eq(af_config_set(&cfg, "rules.learning_signins", "0", err, sizeof(err)), AF_OK);
	cr_assert_not(af_account_learned(&acct, &cfg.rules, T0));
	struct af_event ev = hanoi(T0);
	learn(&ev);
	cr_assert(af_account_learned(&acct, &cfg.rules, T0));
}

Test(account, a_place_is_familiar_by_network_or_by_operator_and_country)
{
	struct af_event home = hanoi(T0);
	struct af_event other_net =
	    signin(AF_KIND_SIGNIN_OK, T0, "198.18.1.1", "VN", 64500, 10.8, 106.6, 20);
	struct af_event other_country =
	    signin(AF_KIND_SIGNIN_OK, T0, "198.18.2.1", "KH", 64500, 11.5, 104.9, 20);
	struct af_event same_net_elsewhere =
	    signin(AF_KIND_SIGNIN_OK, T0, "203.0.113.99", "US", 64999, 39.0, -77.0, 20);

	cr_assert_not(af_account_place_familiar(&acct, &cfg.rules, &home));
	learn(&home);
	cr_assert(af_account_place_familiar(&acct, &cfg.rules, &home));
	cr_assert(af_account_place_familiar(&acct, &cfg.rules, &other_net));
	cr_assert_not(af_account_place_familiar(&acct, &cfg.rules, &other_country));
	cr_assert(af_account_place_familiar(&acct, &cfg.rules, &same_net_elsewhere));
}

Test(account, the_travel_anchor_is_the_last_usable_located_signin)
{
	struct af_event first = hanoi(T0), again = hanoi(T0 + HOUR);

	learn(&first);
	cr_assert_eq(acct.travel.flags, AF_TRAVEL_SET, "a first place is not familiar yet");
	cr_assert_eq(acct.travel.ts_s, (uint32_t)(T0 / SEC));
	cr_assert_eq(memcmp(acct.travel.country, "VN", 2), 0);
	cr_assert_eq(acct.travel.asn, 64500);
	cr_assert_eq(acct.travel.radius_km, 20);
	cr_assert_float_eq(acct.travel.lat, 21.0285f, 1e-4);
	cr_assert_float_eq(acct.travel.lon, 105.8542f, 1e-4);
	cr_assert_str_eq(cold.travel_record, first.record_id);
	learn(&again);
	cr_assert_eq(acct.travel.flags, AF_TRAVEL_SET | AF_TRAVEL_FAMILIAR);
	cr_assert_str_eq(cold.travel_record, again.record_id);
}

Test(account, an_older_signin_does_not_move_the_anchor)
{
	struct af_event now = hanoi(T0 + HOUR), late = hanoi(T0);

	learn(&now);
	learn(&late);
	cr_assert_eq(acct.travel.ts_s, (uint32_t)((T0 + HOUR) / SEC));
	cr_assert_str_eq(cold.travel_record, now.record_id);
}

Test(account, imprecise_and_relayed_locations_are_no_anchor)
{
	struct af_event home = hanoi(T0);
	struct af_event vague =
	    signin(AF_KIND_SIGNIN_OK, T0 + HOUR, "198.18.3.1", "US", 64511, 39.0, -77.0, 500);
	struct af_event vpn =
	    signin(AF_KIND_SIGNIN_OK, T0 + HOUR, "198.18.4.1", "US", 64511, 39.0, -77.0, 20);
	struct af_event hosting = vpn;

	vpn.geo.flags |= AF_GEO_VPN;
	hosting.geo.flags |= AF_GEO_HOSTING | AF_GEO_ANONYMOUS;
	learn(&home);
	learn(&vague);
	learn(&vpn);
	cr_assert_eq(memcmp(acct.travel.country, "VN", 2), 0);
	cr_assert_str_eq(cold.travel_record, home.record_id);
	cr_assert(af_account_knows_country(&acct, &cfg.rules, "US", T0 + HOUR),
	          "still learned for familiarity");
	learn(&hosting);
	cr_assert_eq(memcmp(acct.travel.country, "US", 2), 0, "hosting is where it says");
}

Test(account, usable_locations_follow_the_travel_configuration)
{
	struct af_geo g;
	char err[128];

	memset(&g, 0, sizeof(g));
	cr_assert_not(af_account_travel_usable(&cfg.rules, &g), "no location");
	g.flags = AF_GEO_HAS_LOCATION;
	g.radius_km = 200;
	cr_assert(af_account_travel_usable(&cfg.rules, &g));
	g.radius_km = 201;
	cr_assert_not(af_account_travel_usable(&cfg.rules, &g));
	g.radius_km = 0;
	cr_assert(af_account_travel_usable(&cfg.rules, &g), "an unknown radius is accepted");
	g.flags |= AF_GEO_HOSTING;
	cr_assert(af_account_travel_usable(&cfg.rules, &g));
	cr_assert_eq(
	    af_config_set(&cfg, "rules.impossible_travel.skip_hosting", "yes", err, sizeof(err)),
	    AF_OK);
	cr_assert_not(af_account_travel_usable(&cfg.rules, &g));
	g.flags = AF_GEO_HAS_LOCATION | AF_GEO_INTERNAL;
	cr_assert_not(af_account_travel_usable(&cfg.rules, &g));
	g.flags = AF_GEO_HAS_LOCATION | AF_GEO_TOR;
	cr_assert_not(af_account_travel_usable(&cfg.rules, &g));
}

Test(account, keeps_the_latest_display_name_hash)
{
	struct af_event a = hanoi(T0), b = hanoi(T0 + MIN);

	a.name_hash = 0x1234;
	learn(&a);
	learn(&b); /* carries none */
	cr_assert_eq(acct.name_hash, 0x1234);
	b.name_hash = 0x5678;
	learn(&b);
	cr_assert_eq(acct.name_hash, 0x5678);
}

Test(account, remembers_the_latest_anomaly_and_not_an_older_one)
{
	af_account_note_anomaly(&acct, &cold, 2, T0 + HOUR, 0xabc, "rec-9");
	cr_assert_eq(acct.anomaly_min, (uint32_t)((T0 + HOUR) / MIN));
	cr_assert_eq(acct.anomaly_rule, 2);
	cr_assert_eq(cold.anomaly_alert, 0xabc);
	cr_assert_str_eq(cold.anomaly_record, "rec-9");
	af_account_note_anomaly(&acct, &cold, 0, T0, 0xdef, "rec-1");
	cr_assert_eq(cold.anomaly_alert, 0xabc);
	af_account_note_anomaly(&acct, &cold, 0, T0 + 2 * HOUR, 0xdef, "rec-12");
	cr_assert_eq(cold.anomaly_alert, 0xdef);
	cr_assert_eq(acct.anomaly_rule, 0);
}

Test(account, fini_returns_the_recipient_counters_blocks)
{
	struct af_hll_pool *pool = af_hll_pool_new(2);
	struct af_hll_pool_stats st;

	cr_assert_not_null(pool);
	for (uint64_t i = 1; i <= 40; i++)
		af_dwin_add(&acct.rcpts, pool, 10 * MIN, T0, i * 0x9e3779b97f4a7c15ull);
	af_hll_pool_stats(pool, &st);
	cr_assert_eq(st.in_use, 1);
	af_account_fini(&acct, pool);
	af_hll_pool_stats(pool, &st);
	cr_assert_eq(st.in_use, 0);
	af_hll_pool_free(pool);
}
