/* rule_account_takeover.c - account_takeover: an anomalous sign-in
 * (new_country, impossible_travel, risky new_asn) followed within
 * rules.account_takeover.window by a mail alert on the same account
 * (mail_send_burst, mass_recipients, sent_items_bypass, sender_name_spoof,
 * inbox_rule_tamper, mailbox_forwarding).
 *
 * Thread: the shard that owns the account.
 * In: mail events, after every other account rule has judged them
 * (registry order), with env->raised saying which of them raised an alert
 * on this event; the account's last anomaly (af_account_note_anomaly).
 * Out: one alert per anomaly, whose id is (rule, account, the anomaly
 * alert's id in hex): the same sign-in gives the same takeover id,
 * whichever mail alert completed the chain. Its evidence: the mail event's
 * record id, then the anomalous sign-in's.
 *
 * DESIGN: each half alone has benign readings (a trip abroad; a
 * newsletter), both on one account within a day is DESIGN.md's incident.
 * The anomaly is consumed when the alert is raised (anomaly_min = 0), so a
 * day of attacker mail after one sign-in is one takeover; a mail alert
 * held back by its own suppression completes no chain, since nothing new
 * was seen. A mail alert before the anomaly (minute precision) is no chain.
 */
#include <inttypes.h>
#include <stdio.h>

#include "pipeline/rules/rule.h"

#define MIN_NS INT64_C(60000000000)

/* The rule numbers whose alerts complete the chain. */
#define MAIL_RULES                                                                                 \
	((1u << AF_RULE_MAIL_SEND_BURST) | (1u << AF_RULE_MASS_RECIPIENTS) |                       \
	 (1u << AF_RULE_SENT_ITEMS_BYPASS) | (1u << AF_RULE_SENDER_NAME_SPOOF) |                   \
	 (1u << AF_RULE_INBOX_RULE_TAMPER) | (1u << AF_RULE_MAILBOX_FORWARDING))

/* The id of the registered rule numbered num, or "a mail rule". */
static const char *rule_id(unsigned num)
{
	size_t n;
	const struct af_rule *const *all = af_rules_all(&n);

	for (size_t i = 0; i < n; i++)
		if (all[i]->num == num)
			return all[i]->id;
	return "a mail rule";
}

static void apply(struct af_rule_env *env, const struct af_event *ev)
{
	const struct af_rule *self = &af_rule_account_takeover;
	const struct af_config_rule_account_takeover *c = &env->cfg->account_takeover;
	struct af_account *acct = env->acct;
	unsigned mail = env->raised & MAIL_RULES, first = 0;
	char trigger[24], span[32];
	struct af_alert a;

	if (mail == 0 || acct->anomaly_min == 0)
		return;
	int64_t anomaly = (int64_t)acct->anomaly_min * MIN_NS;
	/* anomaly_min is the anomaly's minute, rounded down: a mail event in
	 * the same minute is after it when its minute is. */
	if (ev->ts_ns / MIN_NS < (int64_t)acct->anomaly_min || ev->ts_ns - anomaly > c->window)
		return;
	if (af_rule_suppressed(env, self, ev->ts_ns))
		return;
	while (!(mail & (1u << first)))
		first++;

	snprintf(trigger, sizeof(trigger), "%016" PRIx64, env->cold->anomaly_alert);
	af_rule_alert_init(&a, self, c->severity, ev, trigger);
	af_alert_add_evidence(&a, env->cold->anomaly_record);
	af_alert_observe_text(&a, "anomaly", rule_id(acct->anomaly_rule));
	af_alert_observe_text(&a, "mail_alert", rule_id(first));
	af_alert_observe(&a, "minutes_after", (double)((ev->ts_ns - anomaly) / MIN_NS));
	af_rule_span(span, sizeof(span), ev->ts_ns - anomaly);
	af_rule_message(&a, "%s: %s followed %s by %s: the account is likely taken over.",
	                ev->account, rule_id(acct->anomaly_rule), span, rule_id(first));
	if (af_rule_raise(env, self, &a))
		acct->anomaly_min = 0;
}

const struct af_rule af_rule_account_takeover = {
    .id = "account_takeover",
    .num = AF_RULE_ACCOUNT_TAKEOVER,
    .kinds = AF_RULE_KIND(AF_KIND_MAIL_SEND) | AF_RULE_KIND(AF_KIND_MAIL_DELETE) |
             AF_RULE_KIND(AF_KIND_INBOX_RULE) | AF_RULE_KIND(AF_KIND_MAILBOX_FORWARD),
    .scope = AF_RULE_SCOPE_ACCOUNT,
    AF_RULE_CFG(account_takeover),
    .apply = apply,
};
