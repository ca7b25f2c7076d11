/* rule_sender_name_spoof.c - sender_name_spoof: a send whose recipients
 * carry the sender's own display name, or one whose many recipients all
 * carry one identical display name.
 *
 * Thread: the shard that owns the account.
 * In: sends (audit events and message trace rows) with the mapper's
 * AF_EV_NAME_SELF, rcpt_name_hash (the recipients' one shared display
 * name) and recipient_count. Out: an alert whose id is (rule, account,
 * "self") or (rule, account, the shared name's hash in hex): one spoofed
 * name, one id, whichever row of the send shows it first.
 *
 * DESIGN: DESIGN.md's incident sent 300 mails whose every recipient was
 * named like the sender, so the victim's contacts saw a familiar name
 * twice. People do not write to themselves by another address in bulk, and
 * real recipients have names of their own: a single recipient sharing the
 * sender's name already counts (rare and cheap to check), a shared
 * foreign name counts from rules.sender_name_spoof.min_recipients
 * recipients in one send. Stateless: the mapper sees the whole message.
 */
#include <inttypes.h>
#include <stdio.h>

#include "pipeline/rules/rule.h"

static void apply(struct af_rule_env *env, const struct af_event *ev)
{
	const struct af_rule *self = &af_rule_sender_name_spoof;
	const struct af_config_rule_sender_name_spoof *c = &env->cfg->sender_name_spoof;
	uint64_t own = ev->name_hash != 0 ? ev->name_hash : env->acct->name_hash;
	bool is_self =
	    (ev->flags & AF_EV_NAME_SELF) || (ev->rcpt_name_hash != 0 && ev->rcpt_name_hash == own);
	bool shared = ev->rcpt_name_hash != 0 && ev->recipient_count >= c->min_recipients;
	char trigger[24];
	struct af_alert a;

	if ((!is_self && !shared) || af_rule_suppressed(env, self, ev->ts_ns))
		return;
	if (is_self)
		snprintf(trigger, sizeof(trigger), "self");
	else
		snprintf(trigger, sizeof(trigger), "%016" PRIx64, ev->rcpt_name_hash);
	af_rule_alert_init(&a, self, c->severity, ev, trigger);
	af_alert_observe_text(&a, "how", is_self ? "sender_name" : "shared_name");
	af_alert_observe(&a, "recipients", ev->recipient_count);
	if (is_self)
		af_rule_message(
		    &a,
		    "%s sent mail to %" PRIu32 " recipient%s named with the sender's own "
		    "display name.",
		    ev->account, ev->recipient_count, ev->recipient_count == 1 ? "" : "s");
	else
		af_rule_message(&a,
		                "%s sent mail to %" PRIu32
		                " recipients who all carry one identical "
		                "display name.",
		                ev->account, ev->recipient_count);
	af_rule_raise(env, self, &a);
}

const struct af_rule af_rule_sender_name_spoof = {
    .id = "sender_name_spoof",
    .num = AF_RULE_SENDER_NAME_SPOOF,
    .kinds = AF_RULE_KIND(AF_KIND_MAIL_SEND),
    .scope = AF_RULE_SCOPE_ACCOUNT,
    AF_RULE_CFG(sender_name_spoof),
    .apply = apply,
};
