/* account.c - per-account state: init, learning, familiarity questions and
 * the memory report; see account.h.
 *
 * Thread: the shard owning the account. No allocation.
 */
#include "pipeline/state/account.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

_Static_assert(sizeof(struct af_account) <= AF_ACCOUNT_HOT_MAX,
               "struct af_account is the hot per-account state: at most 512 bytes");

#define MIN_NS INT64_C(60000000000)
#define DAY_NS INT64_C(86400000000000)

uint32_t af_account_minute(int64_t ts)
{
	assert(ts >= 0);
	int64_t m = ts / MIN_NS;
	return m > UINT32_MAX ? UINT32_MAX : (uint32_t)m;
}

void af_account_init(struct af_account *acct, int64_t now)
{
	memset(acct, 0, sizeof(*acct));
	acct->first_min = af_account_minute(now);
	acct->last_min = acct->first_min;
	af_window_init(&acct->fails);
	af_window_init(&acct->sends);
	af_baseline_init(&acct->send_base);
	af_dwin_init(&acct->rcpts);
	/* memset left the familiarity sets empty, the anchor unset and every
	 * suppression slot at 0 (never alerted). */
}

void af_account_cold_init(struct af_account_cold *cold)
{
	memset(cold, 0, sizeof(*cold));
}

void af_account_fini(struct af_account *acct, struct af_hll_pool *pool)
{
	af_dwin_reset(&acct->rcpts, pool);
}

/* Copy a NUL-terminated id into a fixed field, cut to fit. Record ids are
 * ASCII in every schema; a cut inside a multi-byte character would be
 * repaired by the alert's own UTF-8 cut when it is cited. */
static void copy_id(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

bool af_account_learned(const struct af_account *acct, const struct af_config_rules *cfg,
                        int64_t ts)
{
	if (acct->signins == 0 || acct->signins < cfg->learning_signins)
		return false;
	return ts - (int64_t)acct->first_min * MIN_NS >= (int64_t)cfg->learning_days * DAY_NS;
}

bool af_account_knows_country(const struct af_account *acct, const struct af_config_rules *cfg,
                              const char *country, int64_t ts)
{
	return af_fam_find(acct->countries, AF_ACCOUNT_COUNTRIES, af_fam_country_key(country),
	                   af_fam_day(ts), af_fam_days(cfg->history)) != NULL;
}

bool af_account_knows_asn(const struct af_account *acct, const struct af_config_rules *cfg,
                          uint32_t asn, int64_t ts)
{
	return af_fam_find(acct->asns, AF_ACCOUNT_ASNS, asn, af_fam_day(ts),
	                   af_fam_days(cfg->history)) != NULL;
}

bool af_account_knows_net(const struct af_account *acct, const struct af_config_rules *cfg,
                          const struct af_ip *ip, int64_t ts)
{
	return af_fam_find(acct->nets, AF_ACCOUNT_NETS, af_fam_net_key(ip), af_fam_day(ts),
	                   af_fam_days(cfg->history)) != NULL;
}

bool af_account_place_familiar(const struct af_account *acct, const struct af_config_rules *cfg,
                               const struct af_event *ev)
{
	if (af_account_knows_net(acct, cfg, &ev->src, ev->ts_ns))
		return true;
	return af_account_knows_asn(acct, cfg, ev->geo.asn, ev->ts_ns) &&
	       af_account_knows_country(acct, cfg, ev->geo.country, ev->ts_ns);
}

bool af_account_travel_usable(const struct af_config_rules *cfg, const struct af_geo *geo)
{
	const uint32_t relays = AF_GEO_VPN | AF_GEO_PROXY | AF_GEO_TOR;
	uint32_t f = geo->flags;

	if (!(f & AF_GEO_HAS_LOCATION) || (f & AF_GEO_INTERNAL))
		return false;
	if (geo->radius_km > cfg->impossible_travel.max_radius_km)
		return false;
	/* MaxMind sets is_anonymous on every hosting range too; anonymous
	 * without hosting is a relay of some other kind. */
	if ((f & relays) || ((f & AF_GEO_ANONYMOUS) && !(f & AF_GEO_HOSTING)))
		return false;
	return !(cfg->impossible_travel.skip_hosting && (f & AF_GEO_HOSTING));
}

/* Move the travel anchor to ev, unless the anchor is newer. familiar is
 * whether ev's place was familiar before ev was learned. */
static void learn_travel(struct af_account *acct, struct af_account_cold *cold,
                         const struct af_event *ev, bool familiar)
{
	struct af_travel *t = &acct->travel;
	int64_t s = ev->ts_ns / INT64_C(1000000000);
	uint32_t ts_s = s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;

	if ((t->flags & AF_TRAVEL_SET) && ts_s < t->ts_s)
		return;
	t->ts_s = ts_s;
	t->lat = (float)ev->geo.lat;
	t->lon = (float)ev->geo.lon;
	t->asn = ev->geo.asn;
	memcpy(t->country, ev->geo.country, sizeof(t->country));
	t->radius_km = ev->geo.radius_km > UINT16_MAX ? UINT16_MAX : (uint16_t)ev->geo.radius_km;
	t->flags = AF_TRAVEL_SET | (familiar ? AF_TRAVEL_FAMILIAR : 0);
	copy_id(cold->travel_record, sizeof(cold->travel_record), ev->record_id);
}

void af_account_learn(struct af_account *acct, struct af_account_cold *cold,
                      const struct af_config_rules *cfg, const struct af_event *ev)
{
	uint32_t min = af_account_minute(ev->ts_ns);
	uint16_t day, history;
	bool familiar, usable;

	if (min > acct->last_min)
		acct->last_min = min;
	if (ev->name_hash != 0)
		acct->name_hash = ev->name_hash;
	if (ev->kind != AF_KIND_SIGNIN_OK)
		return;
	if (acct->signins < UINT32_MAX)
		acct->signins++;

	/* Whether the place was familiar is asked before it is learned, or
	 * every anchor would be familiar. */
	usable = af_account_travel_usable(cfg, &ev->geo);
	familiar = usable && af_account_place_familiar(acct, cfg, ev);

	day = af_fam_day(ev->ts_ns);
	history = af_fam_days(cfg->history);
	if (!(ev->geo.flags & AF_GEO_INTERNAL)) {
		af_fam_see(acct->countries, AF_ACCOUNT_COUNTRIES,
		           af_fam_country_key(ev->geo.country), day, history);
		af_fam_see(acct->asns, AF_ACCOUNT_ASNS, ev->geo.asn, day, history);
	}
	af_fam_see(acct->nets, AF_ACCOUNT_NETS, af_fam_net_key(&ev->src), day, history);
	if (usable)
		learn_travel(acct, cold, ev, familiar);
}

void af_account_note_anomaly(struct af_account *acct, struct af_account_cold *cold, unsigned rule,
                             int64_t ts, uint64_t alert_id, const char *record_id)
{
	uint32_t min = af_account_minute(ts);

	/* A late anomaly does not move the chain's anchor back in time. */
	if (acct->anomaly_min != 0 && min < acct->anomaly_min)
		return;
	acct->anomaly_min = min != 0 ? min : 1;
	acct->anomaly_rule = (uint8_t)rule;
	cold->anomaly_alert = alert_id;
	copy_id(cold->anomaly_record, sizeof(cold->anomaly_record), record_id);
}

unsigned af_account_country_count(const struct af_account *acct, const struct af_config_rules *cfg,
                                  int64_t ts)
{
	return af_fam_count(acct->countries, AF_ACCOUNT_COUNTRIES, af_fam_day(ts),
	                    af_fam_days(cfg->history));
}

unsigned af_account_asn_count(const struct af_account *acct, const struct af_config_rules *cfg,
                              int64_t ts)
{
	return af_fam_count(acct->asns, AF_ACCOUNT_ASNS, af_fam_day(ts), af_fam_days(cfg->history));
}

void af_account_size_report(FILE *out)
{
	const struct af_account *a = NULL;
	size_t fam = sizeof(a->countries) + sizeof(a->asns) + sizeof(a->nets);
	size_t mail = sizeof(a->sends) + sizeof(a->send_base) + sizeof(a->rcpts) +
	              sizeof(a->rcpt_peak);
	size_t scalars = offsetof(struct af_account, travel);

	fprintf(out, "struct af_account: %zu bytes hot (budget %d)\n", sizeof(struct af_account),
	        AF_ACCOUNT_HOT_MAX);
	fprintf(out, "  times, counts, name hash   %4zu\n", scalars);
	fprintf(out, "  travel anchor              %4zu\n", sizeof(a->travel));
	fprintf(out, "  failed sign-in window      %4zu\n", sizeof(a->fails));
	fprintf(out, "  mail windows and baseline  %4zu\n", mail);
	fprintf(out, "  suppression (%2d rules)     %4zu\n", AF_ACCOUNT_RULES,
	        sizeof(a->suppress_until));
	fprintf(out, "  familiarity (%d+%d+%d x %zu)   %4zu\n", AF_ACCOUNT_COUNTRIES,
	        AF_ACCOUNT_ASNS, AF_ACCOUNT_NETS, sizeof(struct af_fam_entry), fam);
	fprintf(out, "  other, padding             %4zu\n",
	        sizeof(struct af_account) - scalars - sizeof(a->travel) - sizeof(a->fails) - mail -
	            sizeof(a->suppress_until) - fam);
	fprintf(out, "struct af_account_cold: %zu bytes (record ids for evidence)\n",
	        sizeof(struct af_account_cold));
}
