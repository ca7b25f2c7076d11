/* rule_new_country.c - new_country: a successful sign-in from a country the
 * account has not used within its history (rules.history, 90 days).
 *
 * Thread: the shard that owns the account.
 * In: successful sign-ins with the account's state before they are learned.
 * Out: an alert whose id is (rule, account, country), so one country raises
 * one id however often and in whatever order it is replayed. An alert that
 * is raised marks the sign-in as anomalous for account_takeover.
 *
 * DESIGN: the country is the coarse, stable key: mobile carriers and ISPs
 * move addresses and cities about inside a country all the time, so
 * neither a new network nor a new city is a new location. Internal
 * addresses and unknown countries say nothing. The rule stays quiet while
 * the account is learning (af_account_learned), since every country is new
 * to an account seen for an hour.
 */
#include <stdio.h>
#include <string.h>

#include "pipeline/rules/rule.h"

/* Countries listed in the message; the rest are counted. */
#define SHOWN 4

/* "VN, DE" or "VN, DE, JP, FR and 2 more" or "none". */
static void seen_before(char *buf, size_t size, const struct af_account *acct, uint16_t day,
                        uint16_t history)
{
	uint32_t keys[AF_ACCOUNT_COUNTRIES];
	unsigned n = af_fam_recent(acct->countries, AF_ACCOUNT_COUNTRIES, day, history, keys,
	                           AF_ACCOUNT_COUNTRIES);
	size_t len = 0;

	buf[0] = '\0';
	if (n == 0) {
		snprintf(buf, size, "none");
		return;
	}
	for (unsigned i = 0; i < n && i < SHOWN && len < size; i++) {
		char cc[3];

		af_fam_country_text(keys[i], cc);
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", cc);
	}
	if (n > SHOWN && len < size)
		snprintf(buf + len, size - len, " and %u more", n - SHOWN);
}

static void apply(struct af_rule_env *env, const struct af_event *ev)
{
	const struct af_rule *self = &af_rule_new_country;
	const struct af_config_rules *cfg = env->cfg;
	struct af_account *acct = env->acct;
	uint32_t key = af_fam_country_key(ev->geo.country);
	char cc[3], place[160], seen[64];
	struct af_alert a;

	if (key == 0 || (ev->geo.flags & AF_GEO_INTERNAL))
		return;
	if (!af_account_learned(acct, cfg, ev->ts_ns) ||
	    af_account_knows_country(acct, cfg, ev->geo.country, ev->ts_ns))
		return;
	if (af_rule_suppressed(env, self, ev->ts_ns))
		return;

	af_fam_country_text(key, cc);
	af_rule_alert_init(&a, self, cfg->new_country.severity, ev, cc);
	af_alert_observe_text(&a, "country", cc);
	af_alert_observe(&a, "known_countries", af_account_country_count(acct, cfg, ev->ts_ns));
	if (ev->geo.asn != 0) {
		af_alert_observe(&a, "asn", ev->geo.asn);
		af_alert_observe_text(&a, "as_org", ev->geo.as_org);
		af_alert_observe(&a, "known_asn", af_account_knows_asn(acct, cfg, ev->geo.asn,
		                                                       ev->ts_ns));
	}
	af_rule_place(place, sizeof(place), &ev->geo);
	seen_before(seen, sizeof(seen), acct, af_fam_day(ev->ts_ns), af_fam_days(cfg->history));
	af_rule_message(&a, "%s signed in from %s for the first time; seen before: %s.",
	                ev->account, place, seen);
	if (af_rule_raise(env, self, &a))
		af_account_note_anomaly(acct, env->cold, self->num, ev->ts_ns, a.id, ev->record_id);
}

const struct af_rule af_rule_new_country = {
    .id = "new_country",
    .num = AF_RULE_NEW_COUNTRY,
    .kinds = AF_RULE_KIND(AF_KIND_SIGNIN_OK),
    .scope = AF_RULE_SCOPE_ACCOUNT,
    AF_RULE_CFG(new_country),
    .apply = apply,
};
