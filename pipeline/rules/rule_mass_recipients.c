/* rule_mass_recipients.c - mass_recipients: an account's mail reaching at
 * least rules.mass_recipients.threshold distinct recipients within
 * rules.mass_recipients.window, counted from message trace rows.
 *
 * Thread: the shard that owns the account.
 * In: message trace rows (one per recipient of a message); the account's
 * distinct recipients window (acct->rcpts), which this rule alone
 * updates, with blocks from the shard's HLL pool. Out: an alert whose id
 * is (rule, account, start of the epoch before the newest, decimal ns).
 *
 * DESIGN: the audit log's Send event says how many recipients, not who;
 * only the trace names each one, and distinct addresses (not rows) tell
 * one mail to 300 harvested addresses from 300 mails to one colleague.
 * Addresses are compared lower-cased. The count covers one to two windows
 * (struct af_distinct_window), so it may fire early, never late.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "pipeline/rules/rule.h"

static void apply(struct af_rule_env *env, const struct af_event *ev)
{
	const struct af_rule *self = &af_rule_mass_recipients;
	const struct af_config_rule_mass_recipients *c = &env->cfg->mass_recipients;
	struct af_account *acct = env->acct;
	char lower[AF_RECIPIENT_MAX], trigger[24], span[32];
	struct af_alert a;
	size_t len = 0;

	if (ev->schema != AF_SCHEMA_MSGTRACE || ev->recipient[0] == '\0')
		return;
	for (; ev->recipient[len] != '\0' && len < sizeof(lower) - 1; len++)
		lower[len] = (char)tolower((unsigned char)ev->recipient[len]);
	lower[len] = '\0';
	if (af_dwin_add(&acct->rcpts, env->pool, c->window, ev->ts_ns, XXH3_64bits(lower, len)) !=
	    AF_WINDOW_ADDED)
		return;
	/* A late row (previous epoch) is judged with both epochs, as in order. */
	uint64_t count = af_dwin_count(&acct->rcpts, env->pool, c->window, ev->ts_ns);
	if (count < c->threshold || af_rule_suppressed(env, self, ev->ts_ns))
		return;

	/* The counted span starts with the epoch before the newest: known
	 * from the counted rows alone, not their order within it. */
	snprintf(trigger, sizeof(trigger), "%" PRId64, (acct->rcpts.epoch - 1) * c->window);
	af_rule_alert_init(&a, self, c->severity, ev, trigger);
	af_alert_observe(&a, "recipients", (double)count);
	af_alert_observe(&a, "window_minutes", (double)c->window / 60e9);
	af_alert_observe(&a, "threshold", c->threshold);
	af_alert_observe(&a, "approximate", af_dwin_saturated(&acct->rcpts));
	af_rule_span(span, sizeof(span), c->window);
	af_rule_message(&a, "%s sent mail to %" PRIu64 " distinct recipients within %s.",
	                ev->account, count, span);
	af_rule_raise(env, self, &a);
}

const struct af_rule af_rule_mass_recipients = {
    .id = "mass_recipients",
    .num = AF_RULE_MASS_RECIPIENTS,
    .kinds = AF_RULE_KIND(AF_KIND_MAIL_SEND),
    .scope = AF_RULE_SCOPE_ACCOUNT,
    AF_RULE_CFG(mass_recipients),
    .apply = apply,
};
