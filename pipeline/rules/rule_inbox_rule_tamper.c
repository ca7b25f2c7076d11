/* rule_inbox_rule_tamper.c - inbox_rule_tamper: New-InboxRule, Set-InboxRule
 * or UpdateInboxRules creating a rule that deletes mail, moves it to
 * Deleted Items, RSS, Archive or junk, marks it read, or forwards or
 * redirects it to another domain.
 *
 * Thread: the shard that owns the account.
 * In: inbox rule events, whose flags (AF_EV_RULE_*, AF_EV_FORWARD*) the
 * schema mapper set from the rule's parameters. Out: an alert whose id is
 * (rule, account, record id): one change of a rule, one id, however often
 * it is replayed.
 *
 * DESIGN: these are the actions an attacker's rule takes to keep the
 * victim from seeing replies, bounces and warnings about the mails sent in
 * their name. Forwarding inside the organisation is delegation (an
 * assistant), so only an external forward counts; a rule that only files
 * mail into an ordinary folder is housekeeping. Stateless: every change is
 * judged on its own.
 */
#include <stdio.h>
#include <string.h>

#include "pipeline/rules/rule.h"

static void apply(struct af_rule_env *env, const struct af_event *ev)
{
	const struct af_rule *self = &af_rule_inbox_rule_tamper;
	uint32_t f = ev->flags;
	char what[160] = "";
	size_t len = 0;
	struct af_alert a;

	if (!(f & (AF_EV_RULE_DELETE | AF_EV_RULE_MOVE | AF_EV_RULE_MARK_READ |
	           AF_EV_FORWARD_EXTERNAL)))
		return;
	if (af_rule_suppressed(env, self, ev->ts_ns))
		return;

	/* "deletes mail, marks mail read and forwards ...": what the rule does. */
	const struct {
		uint32_t flag;
		const char *text;
	} acts[] = {
	    {AF_EV_RULE_DELETE, "deletes mail"},
	    {AF_EV_RULE_MOVE, "moves mail to Deleted/RSS/Archive"},
	    {AF_EV_RULE_MARK_READ, "marks mail read"},
	    {AF_EV_FORWARD_EXTERNAL, "forwards mail outside the organisation"},
	};
	unsigned n = 0, total = 0;

	for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++)
		total += (f & acts[i].flag) != 0;
	for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
		if (!(f & acts[i].flag) || len >= sizeof(what))
			continue;
		n++;
		len += (size_t)snprintf(what + len, sizeof(what) - len, "%s%s",
		                        n == 1 ? "" : (n == total ? " and " : ", "), acts[i].text);
	}

	af_rule_alert_init(&a, self, env->cfg->inbox_rule_tamper.severity, ev, ev->record_id);
	af_alert_observe_text(&a, "operation", ev->action[0] != '\0' ? ev->action : "unknown");
	af_alert_observe(&a, "deletes", (f & AF_EV_RULE_DELETE) != 0);
	af_alert_observe(&a, "moves", (f & AF_EV_RULE_MOVE) != 0);
	af_alert_observe(&a, "marks_read", (f & AF_EV_RULE_MARK_READ) != 0);
	af_alert_observe(&a, "forwards_external", (f & AF_EV_FORWARD_EXTERNAL) != 0);
	af_rule_message(&a, "%s set an inbox rule (%s) that %s.", ev->account,
	                ev->action[0] != '\0' ? ev->action : "unknown operation", what);
	af_rule_raise(env, self, &a);
}

const struct af_rule af_rule_inbox_rule_tamper = {
    .id = "inbox_rule_tamper",
    .num = AF_RULE_INBOX_RULE_TAMPER,
    .kinds = AF_RULE_KIND(AF_KIND_INBOX_RULE),
    .scope = AF_RULE_SCOPE_ACCOUNT,
    AF_RULE_CFG(inbox_rule_tamper),
    .apply = apply,
};
