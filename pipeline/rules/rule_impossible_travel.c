/* rule_impossible_travel.c - impossible_travel: two successful sign-ins of
 * one account so far apart, for the time between them, that no person
 * could have made both.
 *
 * Thread: the shard that owns the account.
 * In: a successful sign-in, and the account's travel anchor (the last
 * successful sign-in with a usable location, kept by af_account_learn).
 * Out: an alert whose id is (rule, account, "<from>@<time>><to>@<time>"):
 * the two sign-ins, whatever else arrived between them. A raised alert
 * marks the sign-in as anomalous for account_takeover.
 *
 * DESIGN: the distance is the great-circle distance minus both accuracy
 * radii (the closest the two places can be), and the speed is that over
 * the time between the sign-ins. No alert, because the distance would be
 * made up or the trip is a known one:
 *   - either location is imprecise (radius above max_radius_km), internal,
 *     or an anonymizer's (VPN, proxy, Tor: the exit's place, not the
 *     person's); hosting too with skip_hosting (af_account_travel_usable;
 *     the anchor is only ever set from a usable location);
 *   - both places are familiar to the account (its VPN egress and its
 *     office, used alternately): the anchor remembers whether its place was
 *     familiar when it happened, the current one is asked now;
 *   - both are in one ASN and one country: a carrier's or ISP's addresses
 *     are geolocated wherever its gateways are and move with address
 *     churn, not with the person;
 *   - the distance is under min_km, or the speed at most max_kmh;
 *   - the account is still learning (its familiar places are not known).
 * Times are of event time, so a late sign-in is compared with the anchor by
 * the absolute time between them.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/rules/rule.h"

#define EARTH_KM 6371.0088 /* mean Earth radius (IUGG) */
#define S_NS     INT64_C(1000000000)

static double radians(double deg)
{
	return deg * (M_PI / 180.0);
}

/* Great-circle distance by the haversine formula, stable for short
 * distances; the clamp keeps rounding from taking asin out of its domain. */
static double distance_km(double lat1, double lon1, double lat2, double lon2)
{
	double dlat = radians(lat2 - lat1), dlon = radians(lon2 - lon1);
	double h = sin(dlat / 2) * sin(dlat / 2) +
	           cos(radians(lat1)) * cos(radians(lat2)) * sin(dlon / 2) * sin(dlon / 2);

	if (h > 1.0)
		h = 1.0;
	return 2.0 * EARTH_KM * asin(sqrt(h));
}

static void apply(struct af_rule_env *env, const struct af_event *ev)
{
	const struct af_rule *self = &af_rule_impossible_travel;
	const struct af_config_rules *cfg = env->cfg;
	const struct af_config_rule_impossible_travel *c = &cfg->impossible_travel;
	struct af_account *acct = env->acct;
	const struct af_travel *t = &acct->travel;
	char from[3], to[3], trigger[64], place[160], span[32];
	struct af_alert a;

	if (!(t->flags & AF_TRAVEL_SET) || !af_account_travel_usable(cfg, &ev->geo))
		return;
	if (!af_account_learned(acct, cfg, ev->ts_ns))
		return;
	memcpy(from, t->country, 2);
	from[2] = '\0';
	snprintf(to, sizeof(to), "%.2s", ev->geo.country);
	if (t->asn != 0 && t->asn == ev->geo.asn && from[0] != '\0' && strcmp(from, to) == 0)
		return;
	if ((t->flags & AF_TRAVEL_FAMILIAR) && af_account_place_familiar(acct, cfg, ev))
		return;

	double raw = distance_km(t->lat, t->lon, ev->geo.lat, ev->geo.lon);
	double radii = (double)t->radius_km + (double)ev->geo.radius_km;
	double km = raw - radii;
	if (km < c->min_km || km <= 0)
		return;
	int64_t dt = ev->ts_ns - (int64_t)t->ts_s * S_NS;
	const char *order = dt >= 0 ? "after" : "before";
	if (dt < 0)
		dt = -dt;
	/* Sign-ins in the same second: a second, not a division by zero. */
	double hours = (double)(dt > S_NS ? dt : S_NS) / (3600.0 * S_NS);
	double kmh = km / hours;
	if (kmh <= c->max_kmh)
		return;
	if (af_rule_suppressed(env, self, ev->ts_ns))
		return;

	snprintf(trigger, sizeof(trigger), "%s@%" PRIu32 ">%s@%" PRId64, from, t->ts_s, to,
	         ev->ts_ns / S_NS);
	af_rule_alert_init(&a, self, c->severity, ev, trigger);
	/* Evidence in time order: the anchor's sign-in, then this one. */
	a.nevidence = 0;
	af_alert_add_evidence(&a, env->cold->travel_record);
	af_alert_add_evidence(&a, ev->record_id);
	af_alert_observe_text(&a, "from", from);
	af_alert_observe_text(&a, "to", to);
	af_alert_observe(&a, "km", round(km));
	af_alert_observe(&a, "minutes", round((double)dt / (60.0 * S_NS)));
	af_alert_observe(&a, "kmh", round(kmh));
	af_alert_observe(&a, "radius_km", radii);

	af_rule_place(place, sizeof(place), &ev->geo);
	af_rule_span(span, sizeof(span), dt);
	af_rule_message(&a,
	                "%s signed in from %s %s %s a sign-in from %s (AS%" PRIu32 ") "
	                "%.0f km away beyond the accuracy radii: %.0f km/h.",
	                ev->account, place, span, order,
	                from[0] != '\0' ? from : "an unknown country", t->asn, km, kmh);
	if (af_rule_raise(env, self, &a))
		af_account_note_anomaly(acct, env->cold, self->num, ev->ts_ns, a.id, ev->record_id);
}

const struct af_rule af_rule_impossible_travel = {
    .id = "impossible_travel",
    .num = AF_RULE_IMPOSSIBLE_TRAVEL,
    .kinds = AF_RULE_KIND(AF_KIND_SIGNIN_OK),
    .scope = AF_RULE_SCOPE_ACCOUNT,
    AF_RULE_CFG(impossible_travel),
    .apply = apply,
};
