/* test_rule_impossible_travel.c - impossible_travel: the alert, the speed,
 * distance and radius edges, and the false alarms it must not raise:
 * imprecise and anonymizer locations, two familiar places (VPN and office),
 * one carrier's addresses in one country; learning, suppression while the
 * anchor keeps moving, late sign-ins, deterministic ids. */
#include <math.h>

#include "rules_test.h"

TestSuite(impossible_travel, .init = rt_setup, .fini = rt_teardown);

/* Kilometres per degree of longitude on the equator (mean Earth radius). */
#define KM_PER_DEG 111.1950802

/* A point on the equator km east of the origin (0, 10), with no accuracy
 * radius, in another network than the origin's. */
static struct rt_place east(const char *ip, double km)
{
	return rt_at(ip, "GA", 0.0, 10.0 + km / KM_PER_DEG, 0, 64521);
}

static struct rt_place origin(void)
{
	return rt_at("198.18.50.1", "GA", 0.0, 10.0, 0, 64520);
}

/* An account used to the origin: twelve days of sign-ins there. */
static void origin_history(void)
{
	struct rt_place o = origin();

	rt_signins(T0 - 12 * DAY, &o, 12, DAY);
}

Test(impossible_travel, fires_for_hanoi_then_ashburn_an_hour_later)
{
	rt_history(&HANOI);
	struct af_event from = rt_signin(T0 - HOUR, &HANOI);
	struct af_event to = rt_signin(T0, &ASHBURN);

	cr_assert_eq(rt_count("impossible_travel"), 1);
	const struct af_alert *a = rt_alert("impossible_travel", 0);
	cr_assert_eq(a->severity, AF_SEV_HIGH);
	cr_assert_str_eq(a->account, RT_ACCOUNT);
	cr_assert_eq(a->ts_ns, T0);
	cr_assert_str_eq(rt_text(a, "from"), "VN");
	cr_assert_str_eq(rt_text(a, "to"), "US");
	/* 13326 km between the cities, less 20 + 50 km of radii. */
	cr_assert_eq(rt_num(a, "km"), 13256);
	cr_assert_eq(rt_num(a, "minutes"), 60);
	cr_assert_eq(rt_num(a, "kmh"), 13256);
	cr_assert_eq(rt_num(a, "radius_km"), 70);
	cr_assert_eq(a->nevidence, 2);
	cr_assert_str_eq(a->evidence[0], from.record_id);
	cr_assert_str_eq(a->evidence[1], to.record_id);
	cr_assert_str_eq(a->message, "an@contoso.example signed in from US (Ashburn, AS64511 "
	                             "Example Hosting LLC) 60 minutes after a sign-in from VN "
	                             "(AS64500) 13256 km away beyond the accuracy radii: 13256 "
	                             "km/h.");
}

Test(impossible_travel, is_quiet_when_the_trip_could_be_flown)
{
	rt_history(&HANOI);
	rt_signin(T0 - 12 * HOUR, &HANOI);
	rt_signin(T0, &FRANKFURT); /* 8680 km in 12 h: 723 km/h */
	cr_assert_eq(rt_count("impossible_travel"), 0);
}

Test(impossible_travel, fires_just_above_the_speed_limit_and_not_at_it)
{
	struct rt_place far = east("198.18.51.1", 1000.0);

	struct rt_place o = origin();

	origin_history();
	rt_signin(T0 - 2 * HOUR, &o);
	rt_signin(T0 - 2 * HOUR + 61 * MIN, &far); /* 1000 km in 61 minutes: 984 km/h */
	cr_assert_eq(rt_count("impossible_travel"), 0);
	rt_restart();
	origin_history();
	rt_signin(T0 - 2 * HOUR, &o);
	rt_signin(T0 - 2 * HOUR + 59 * MIN, &far); /* ...in 59 minutes: 1017 km/h */
	cr_assert_eq(rt_count("impossible_travel"), 1);
	cr_assert_eq(rt_num(rt_alert("impossible_travel", 0), "kmh"), 1017);
}

/* The last history sign-in is at T0 - DAY; these place the jump relative
 * to it. */
#define AFTER_HISTORY (T0 - DAY)

Test(impossible_travel, needs_at_least_the_minimum_distance)
{
	struct rt_place near = east("198.18.52.1", 490.0);
	struct rt_place far = east("198.18.53.1", 510.0);

	origin_history();
	rt_signin(AFTER_HISTORY + 5 * MIN, &near);
	cr_assert_eq(rt_count("impossible_travel"), 0);
	rt_restart();
	origin_history();
	rt_signin(AFTER_HISTORY + 5 * MIN, &far);
	cr_assert_eq(rt_count("impossible_travel"), 1);
}

Test(impossible_travel, subtracts_both_accuracy_radii_from_the_distance)
{
	struct rt_place o = origin(), far = east("198.18.54.1", 667.0);

	o.radius_km = 100;
	far.radius_km = 100; /* 667 - 200 = 467 km: under the minimum */
	rt_signins(T0 - 12 * DAY, &o, 12, DAY);
	rt_signin(AFTER_HISTORY + 5 * MIN, &far);
	cr_assert_eq(rt_count("impossible_travel"), 0);
	rt_restart();
	o.radius_km = 50;
	far.radius_km = 50; /* 567 km */
	rt_signins(T0 - 12 * DAY, &o, 12, DAY);
	rt_signin(AFTER_HISTORY + 5 * MIN, &far);
	cr_assert_eq(rt_count("impossible_travel"), 1);
	cr_assert_eq(rt_num(rt_alert("impossible_travel", 0), "km"), 567);
	cr_assert_eq(rt_num(rt_alert("impossible_travel", 0), "radius_km"), 100);
}

Test(impossible_travel, the_limits_are_configurable)
{
	struct rt_place far = east("198.18.55.1", 1000.0);

	rt_set("rules.impossible_travel.max_kmh", "2000");
	rt_set("rules.impossible_travel.min_km", "1500");
	origin_history();
	rt_signin(AFTER_HISTORY + 5 * MIN, &far); /* 12000 km/h but only 1000 km */
	cr_assert_eq(rt_count("impossible_travel"), 0);
}

Test(impossible_travel, an_imprecise_location_gives_no_distance)
{
	struct rt_place vague = ASHBURN;

	vague.radius_km = 201;
	rt_history(&HANOI);
	rt_signin(T0 - HOUR, &HANOI);
	rt_signin(T0, &vague);
	cr_assert_eq(rt_count("impossible_travel"), 0);
	cr_assert_eq(memcmp(acct.travel.country, "VN", 2), 0, "an imprecise place is no anchor");
}

Test(impossible_travel, a_radius_at_the_limit_is_still_precise)
{
	struct rt_place edge = ASHBURN;

	edge.radius_km = 200;
	rt_history(&HANOI);
	rt_signin(T0 - HOUR, &HANOI);
	rt_signin(T0, &edge);
	cr_assert_eq(rt_count("impossible_travel"), 1);
}

Test(impossible_travel, the_radius_limit_is_configurable)
{
	rt_set("rules.impossible_travel.max_radius_km", "40");
	rt_history(&HANOI);
	rt_signin(T0 - HOUR, &HANOI);
	rt_signin(T0, &ASHBURN); /* radius 50 */
	cr_assert_eq(rt_count("impossible_travel"), 0);
}

Test(impossible_travel, an_anonymizer_gives_no_distance)
{
	const uint32_t flags[] = {AF_GEO_VPN, AF_GEO_PROXY, AF_GEO_TOR, AF_GEO_ANONYMOUS,
	                          AF_GEO_VPN | AF_GEO_HOSTING};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		struct rt_place relay = ASHBURN;

		relay.flags = flags[i];
		rt_restart();
		rt_history(&HANOI);
		rt_signin(T0 - HOUR, &HANOI);
		rt_signin(T0, &relay);
		cr_assert_eq(rt_count("impossible_travel"), 0, "flags %#x", flags[i]);
		/* Nor is it an anchor: home again an hour later is no trip. */
		rt_signin(T0 + HOUR, &HANOI);
		cr_assert_eq(rt_count("impossible_travel"), 0, "flags %#x", flags[i]);
	}
}

Test(impossible_travel, a_hosting_address_counts_unless_configured_not_to)
{
	rt_history(&HANOI);
	rt_signin(T0 - HOUR, &HANOI);
	rt_signin(T0, &ASHBURN);
	cr_assert_eq(rt_count("impossible_travel"), 1);
	rt_set("rules.impossible_travel.skip_hosting", "true");
	rt_restart();
	rt_history(&HANOI);
	rt_signin(T0 - HOUR, &HANOI);
	rt_signin(T0, &ASHBURN);
	cr_assert_eq(rt_count("impossible_travel"), 0);
}

/* The corporate VPN's egress in Frankfurt. */
static struct rt_place corporate_vpn(void)
{
	struct rt_place vpn = FRANKFURT;

	vpn.flags = AF_GEO_CORPORATE;
	return vpn;
}

/* The office in Hanoi and the VPN, used on alternate days for two weeks,
 * then the office at T0. */
static void office_and_vpn_history(const struct rt_place *vpn)
{
	for (int i = 0; i < 14; i++)
		rt_signin(T0 - (14 - i) * DAY, i % 2 ? vpn : &HANOI);
	rt_signin(T0, &HANOI);
}

Test(impossible_travel, flipping_between_two_familiar_places_is_no_travel)
{
	struct rt_place vpn = corporate_vpn();

	office_and_vpn_history(&vpn);
	rt_signin(T0 + 20 * MIN, &vpn);
	rt_signin(T0 + 40 * MIN, &HANOI);
	cr_assert_eq(rt_count("impossible_travel"), 0);
	cr_assert_eq(nalerts, 0);
}

Test(impossible_travel, one_familiar_place_is_not_enough)
{
	struct rt_place vpn = corporate_vpn();

	office_and_vpn_history(&vpn);
	rt_signin(T0 + 20 * MIN, &TOKYO); /* never seen */
	cr_assert_eq(rt_count("impossible_travel"), 1);
}

Test(impossible_travel, a_familiar_country_and_network_operator_is_a_familiar_place)
{
	/* The VPN's egress moved to another /24 of the same operator. */
	struct rt_place vpn = corporate_vpn(), moved = vpn;

	moved.ip = "198.18.77.1";
	office_and_vpn_history(&vpn);
	rt_signin(T0 + 20 * MIN, &moved);
	cr_assert_eq(rt_count("impossible_travel"), 0);
}

Test(impossible_travel, one_carriers_addresses_in_one_country_are_no_travel)
{
	/* A phone on a carrier the account never used: its gateways are
	 * geolocated to Hanoi one moment and Ho Chi Minh City (1138 km) the
	 * next. */
	struct rt_place north = rt_at("198.18.60.9", "VN", 21.0285, 105.8542, 20, 64501);
	struct rt_place south = rt_at("198.18.61.9", "VN", 10.8231, 106.6297, 20, 64501);

	rt_history(&HANOI);
	rt_signin(T0, &north);
	rt_signin(T0 + 10 * MIN, &south);
	rt_signin(T0 + 20 * MIN, &north);
	cr_assert_eq(rt_count("impossible_travel"), 0);
}

Test(impossible_travel, another_operator_in_the_same_country_is_still_travel)
{
	struct rt_place south = rt_at("198.18.61.9", "VN", 10.8231, 106.6297, 20, 64501);

	rt_history(&HANOI);
	rt_signin(T0, &HANOI);
	rt_signin(T0 + 10 * MIN, &south);
	cr_assert_eq(rt_count("impossible_travel"), 1);
}

Test(impossible_travel, stays_quiet_while_the_account_is_learning)
{
	rt_signins(T0 - HOUR, &HANOI, 5, MIN);
	rt_signin(T0, &TOKYO);
	cr_assert_eq(nalerts, 0);
}

Test(impossible_travel, a_signin_without_a_location_is_neither_judged_nor_an_anchor)
{
	struct rt_place nowhere = ASHBURN;

	nowhere.lat = 0;
	nowhere.lon = 0; /* no AF_GEO_HAS_LOCATION */
	rt_history(&HANOI);
	rt_signin(T0 - HOUR, &HANOI);
	rt_signin(T0, &nowhere);
	cr_assert_eq(rt_count("impossible_travel"), 0);
	cr_assert_eq(memcmp(acct.travel.country, "VN", 2), 0);
}

Test(impossible_travel, a_failed_signin_is_no_anchor)
{
	rt_history(&HANOI);
	rt_signin(T0 - HOUR, &HANOI);
	rt_fail(T0 - 30 * MIN, RT_ACCOUNT, &TOKYO, 50126);
	rt_signin(T0, &HANOI);
	cr_assert_eq(rt_count("impossible_travel"), 0);
}

Test(impossible_travel, does_not_alert_again_within_the_suppression_period)
{
	rt_history(&HANOI);
	rt_signin(T0 - HOUR, &HANOI);
	rt_signin(T0, &ASHBURN);
	rt_signin(T0 + 2 * HOUR, &HANOI); /* back: impossible again, suppressed */
	cr_assert_eq(rt_count("impossible_travel"), 1);
	cr_assert_eq(memcmp(acct.travel.country, "VN", 2), 0, "the anchor keeps moving");
	/* Ashburn is familiar by now; Tokyo is not. */
	rt_signin(T0 + 25 * HOUR, &HANOI);
	rt_signin(T0 + 26 * HOUR, &TOKYO);
	cr_assert_eq(rt_count("impossible_travel"), 2);
	cr_assert_eq(rt_num(rt_alert("impossible_travel", 1), "minutes"), 60);
}

Test(impossible_travel, compares_a_late_signin_by_the_time_between_them)
{
	rt_history(&HANOI);
	rt_signin(T0, &HANOI);
	struct af_event late = rt_signin(T0 - 30 * MIN, &ASHBURN);

	cr_assert_eq(rt_count("impossible_travel"), 1);
	const struct af_alert *a = rt_alert("impossible_travel", 0);
	cr_assert_eq(rt_num(a, "minutes"), 30);
	cr_assert(strstr(a->message, " 30 minutes before a sign-in from VN") != NULL, "%s",
	          a->message);
	cr_assert_str_eq(a->evidence[1], late.record_id);
	cr_assert_eq(memcmp(acct.travel.country, "VN", 2), 0,
	             "an older sign-in does not move the anchor");
	cr_assert_eq(acct.travel.ts_s, (uint32_t)(T0 / SEC));
}

Test(impossible_travel, id_is_made_from_the_two_signins)
{
	char trigger[64];

	rt_history(&HANOI);
	rt_signin(T0 - HOUR, &HANOI);
	rt_signin(T0, &ASHBURN);
	snprintf(trigger, sizeof(trigger), "VN@%" PRId64 ">US@%" PRId64, (T0 - HOUR) / SEC,
	         T0 / SEC);
	cr_assert_eq(rt_alert("impossible_travel", 0)->id,
	             af_alert_id("impossible_travel", RT_ACCOUNT, trigger));
}

Test(impossible_travel, the_same_sequence_gives_the_same_id_whatever_the_history)
{
	uint64_t id;

	rt_history(&HANOI);
	rt_signin(T0 - HOUR, &HANOI);
	rt_signin(T0, &ASHBURN);
	id = rt_alert("impossible_travel", 0)->id;
	rt_restart();
	rt_signins(T0 - 30 * DAY, &HANOI, 40, 12 * HOUR);
	rt_signin(T0 - HOUR, &HANOI);
	rt_signin(T0, &ASHBURN);
	cr_assert_eq(rt_alert("impossible_travel", 0)->id, id);
}

Test(impossible_travel, marks_the_signin_as_anomalous_for_account_takeover)
{
	rt_history(&HANOI);
	rt_signin(T0 - HOUR, &HANOI);
	rt_signin(T0, &ASHBURN);
	/* new_country, new_asn and impossible_travel all fired; the last
	 * raised is remembered. */
	cr_assert_eq(acct.anomaly_rule, AF_RULE_IMPOSSIBLE_TRAVEL);
	cr_assert_eq(cold.anomaly_alert, rt_alert("impossible_travel", 0)->id);
}

Test(impossible_travel, works_with_ipv6_places)
{
	rt_history(&TOKYO);
	rt_signin(T0 - HOUR, &TOKYO);
	rt_signin(T0, &FRANKFURT);
	cr_assert_eq(rt_count("impossible_travel"), 1);
	cr_assert_eq(round(rt_num(rt_alert("impossible_travel", 0), "km")),
	             round(9331.4 - 10 - 20));
}
