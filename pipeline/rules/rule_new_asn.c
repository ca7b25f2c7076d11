/* rule_new_asn.c - new_asn: a successful sign-in from an autonomous system
 * (network operator) the account has not used within its history; severity
 * up when the address is a hosting provider, VPN, proxy, Tor exit or
 * anonymizer (the configured hosting-ASN list marks hosting too).
 *
 * Thread: the shard that owns the account.
 * In: successful sign-ins with the account's state before they are learned.
 * Out: an alert whose id is (rule, account, "AS<number>"). A risky one that
 * is raised marks the sign-in as anomalous for account_takeover.
 *
 * DESIGN: the ASN, not the address or its /24, is the unit: a phone on one
 * carrier changes addresses constantly and stays in one ASN, so carrier
 * churn is not news, while an attacker renting a server shows up as an
 * operator the account never used. Quiet while the account is learning.
 * An ordinary (not risky) new ASN in a country the account has not used
 * either is left to new_country, whose alert names the ASN: one sign-in,
 * one alert, as a traveller's first sign-in abroad is new in both ways.
 * A risky one is raised as well, since that is what makes it high.
 * An address in a configured corporate egress network (geo.corporate_networks)
 * is the organisation's own, whatever operator carries it: a traveller's
 * first day at the office abroad is not news.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/rules/rule.h"

#define RISKY (AF_GEO_HOSTING | AF_GEO_VPN | AF_GEO_ANONYMOUS | AF_GEO_PROXY | AF_GEO_TOR)
#define SHOWN 4

/* "hosting, anonymous": the flags that made the address risky. */
static void risk_text(char *buf, size_t size, uint32_t flags)
{
	static const struct {
		uint32_t flag;
		const char *name;
	} names[] = {
	    {AF_GEO_HOSTING, "hosting"},     {AF_GEO_VPN, "VPN"},
	    {AF_GEO_PROXY, "proxy"},         {AF_GEO_TOR, "Tor"},
	    {AF_GEO_ANONYMOUS, "anonymous"},
	};
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && len < size; i++)
		if (flags & names[i].flag)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
			                        names[i].name);
}

static void seen_before(char *buf, size_t size, const struct af_account *acct, uint16_t day,
                        uint16_t history)
{
	uint32_t keys[AF_ACCOUNT_ASNS];
	unsigned n =
	    af_fam_recent(acct->asns, AF_ACCOUNT_ASNS, day, history, keys, AF_ACCOUNT_ASNS);
	size_t len = 0;

	if (n == 0) {
		snprintf(buf, size, "none");
		return;
	}
	buf[0] = '\0';
	for (unsigned i = 0; i < n && i < SHOWN && len < size; i++)
		len +=
		    (size_t)snprintf(buf + len, size - len, "%sAS%" PRIu32, i ? ", " : "", keys[i]);
	if (n > SHOWN && len < size)
		snprintf(buf + len, size - len, " and %u more", n - SHOWN);
}

static void apply(struct af_rule_env *env, const struct af_event *ev)
{
	const struct af_rule *self = &af_rule_new_asn;
	const struct af_config_rules *cfg = env->cfg;
	struct af_account *acct = env->acct;
	uint32_t asn = ev->geo.asn;
	char trigger[16], risk[48], seen[80], org[80] = "";
	struct af_alert a;
	bool risky;

	if (asn == 0 || (ev->geo.flags & (AF_GEO_INTERNAL | AF_GEO_CORPORATE)))
		return;
	if (!af_account_learned(acct, cfg, ev->ts_ns) ||
	    af_account_knows_asn(acct, cfg, asn, ev->ts_ns))
		return;
	risky = (ev->geo.flags & RISKY) != 0;
	if (!risky && cfg->new_country.enabled && af_fam_country_key(ev->geo.country) != 0 &&
	    !af_account_knows_country(acct, cfg, ev->geo.country, ev->ts_ns))
		return;
	if (af_rule_suppressed(env, self, ev->ts_ns))
		return;

	risk_text(risk, sizeof(risk), ev->geo.flags);
	snprintf(trigger, sizeof(trigger), "AS%" PRIu32, asn);
	af_rule_alert_init(&a, self, risky ? cfg->new_asn.severity_risky : cfg->new_asn.severity,
	                   ev, trigger);
	af_alert_observe(&a, "asn", asn);
	af_alert_observe_text(&a, "as_org", ev->geo.as_org);
	af_alert_observe_text(&a, "country", ev->geo.country);
	af_alert_observe(&a, "known_asns", af_account_asn_count(acct, cfg, ev->ts_ns));
	af_alert_observe_text(&a, "risk", risk);

	if (ev->geo.as_org[0] != '\0')
		snprintf(org, sizeof(org), " %s", ev->geo.as_org);
	seen_before(seen, sizeof(seen), acct, af_fam_day(ev->ts_ns), af_fam_days(cfg->history));
	af_rule_message(&a,
	                "%s signed in from AS%" PRIu32 "%s%s%s%s in %s for the first time; "
	                "seen before: %s.",
	                ev->account, asn, org, risky ? " (" : "", risk, risky ? ")" : "",
	                ev->geo.country[0] != '\0' ? ev->geo.country : "an unknown country", seen);
	if (af_rule_raise(env, self, &a) && risky)
		af_account_note_anomaly(acct, env->cold, self->num, ev->ts_ns, a.id, ev->record_id);
}

const struct af_rule af_rule_new_asn = {
    .id = "new_asn",
    .num = AF_RULE_NEW_ASN,
    .kinds = AF_RULE_KIND(AF_KIND_SIGNIN_OK),
    .scope = AF_RULE_SCOPE_ACCOUNT,
    AF_RULE_CFG(new_asn),
    .apply = apply,
};
