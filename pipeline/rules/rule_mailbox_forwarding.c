/* rule_mailbox_forwarding.c - mailbox_forwarding: Set-Mailbox forwarding
 * the account's mail to an address outside its domain.
 *
 * Thread: the shard that owns the account.
 * In: mailbox forwarding events; AF_EV_FORWARD_EXTERNAL, set by the schema
 * mapper, says the target's domain is not the account's. Out: an alert
 * whose id is (rule, account, record id).
 *
 * DESIGN: forwarding to a colleague is delegation and says nothing;
 * forwarding everything to another domain copies every future mail out,
 * including the password reset that would end a takeover. Clearing the
 * forwarding (no AF_EV_FORWARD) is no alert. Stateless.
 */
#include <stdio.h>

#include "pipeline/rules/rule.h"

static void apply(struct af_rule_env *env, const struct af_event *ev)
{
	const struct af_rule *self = &af_rule_mailbox_forwarding;
	struct af_alert a;

	if (!(ev->flags & AF_EV_FORWARD_EXTERNAL) || af_rule_suppressed(env, self, ev->ts_ns))
		return;

	af_rule_alert_init(&a, self, env->cfg->mailbox_forwarding.severity, ev, ev->record_id);
	af_alert_observe_text(&a, "operation", ev->action[0] != '\0' ? ev->action : "unknown");
	if (ev->recipient[0] != '\0')
		af_alert_observe_text(&a, "forward_to", ev->recipient);
	af_rule_message(&a, "%s's mailbox now forwards its mail to an external address%s%s.",
	                ev->account, ev->recipient[0] != '\0' ? " " : "", ev->recipient);
	af_rule_raise(env, self, &a);
}

const struct af_rule af_rule_mailbox_forwarding = {
    .id = "mailbox_forwarding",
    .num = AF_RULE_MAILBOX_FORWARDING,
    .kinds = AF_RULE_KIND(AF_KIND_MAILBOX_FORWARD),
    .scope = AF_RULE_SCOPE_ACCOUNT,
    AF_RULE_CFG(mailbox_forwarding),
    .apply = apply,
};
