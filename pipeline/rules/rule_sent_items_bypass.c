/* rule_sent_items_bypass.c - sent_items_bypass: mail sent without leaving a
 * copy in Sent Items: a send with SaveToSentItems false from an SMTP or
 * API client, or a delete out of Sent Items shortly after sends.
 *
 * Thread: the shard that owns the account.
 * In: audit Send events and mail deletes; for the delete, the account's
 * send window (acct->sends), which mail_send_burst counts and which runs
 * before this rule, so a send is in the window when its own delete comes.
 * Out: an alert whose id is (rule, account, record id of the send or the
 * delete).
 *
 * DESIGN: Outlook and OWA always save what they send; a script using SMTP
 * AUTH, EWS or Graph (ClientInfoString "Client=REST") chooses, and an
 * attacker chooses not to, so the victim finds nothing in Sent Items. The
 * client words are rules.sent_items_bypass.clients (default
 * "Client=REST,SMTP,EWS,Graph"), matched case-insensitively anywhere in
 * the client string. A send that does not say (no SaveToSentItems) is no
 * evidence. Attackers using Outlook itself delete the copy instead: a
 * delete from Sent Items counts when the account sent within
 * mail_send_burst's window (so it needs that rule enabled). Message trace
 * rows carry neither field and are skipped.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/rules/rule.h"

/* Whether the word (len bytes) occurs in s, ignoring ASCII case. */
static bool contains_word(const char *s, const char *word, size_t len)
{
	if (len == 0)
		return false;
	for (; *s != '\0'; s++) {
		size_t i = 0;

		while (i < len && s[i] != '\0' &&
		       tolower((unsigned char)s[i]) == tolower((unsigned char)word[i]))
			i++;
		if (i == len)
			return true;
	}
	return false;
}

/* The first word of list (comma-separated) that app contains, as a pointer
 * into list with its length in *len; NULL when none. */
static const char *client_match(const char *list, const char *app, size_t *len)
{
	const char *p = list != NULL ? list : "";

	while (*p != '\0') {
		p += strspn(p, ", \t");
		size_t n = strcspn(p, ",");

		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (contains_word(app, p, n)) {
			*len = n;
			return p;
		}
		p += strcspn(p, ",");
	}
	return NULL;
}

static void apply(struct af_rule_env *env, const struct af_event *ev)
{
	const struct af_rule *self = &af_rule_sent_items_bypass;
	const struct af_config_rules *cfg = env->cfg;
	struct af_alert a;
	char span[32];

	if (ev->kind == AF_KIND_MAIL_SEND) {
		const char *word;
		size_t len = 0;

		if (ev->schema == AF_SCHEMA_MSGTRACE ||
		    (ev->flags & (AF_EV_SAVE_SENT_KNOWN | AF_EV_SAVE_SENT)) !=
		        AF_EV_SAVE_SENT_KNOWN)
			return;
		word = client_match(cfg->sent_items_bypass.clients, ev->app, &len);
		if (word == NULL || af_rule_suppressed(env, self, ev->ts_ns))
			return;
		char client[AF_ALERT_TEXT_MAX];

		snprintf(client, sizeof(client), "%.*s", (int)len, word);
		af_rule_alert_init(&a, self, cfg->sent_items_bypass.severity, ev, ev->record_id);
		af_alert_observe_text(&a, "how", "not_saved");
		af_alert_observe_text(&a, "client", client);
		af_rule_message(&a,
		                "%s sent mail through %s without saving it to Sent Items "
		                "(client \"%s\").",
		                ev->account, client, ev->app);
		af_rule_raise(env, self, &a);
		return;
	}

	/* A delete out of Sent Items after sends. */
	if (!(ev->flags & AF_EV_FROM_SENT_ITEMS) || !af_rule_enabled(&af_rule_mail_send_burst, cfg))
		return;
	int64_t window = cfg->mail_send_burst.window;
	int64_t width = af_rule_bucket(window);
	uint32_t sends = af_window_sum(&env->acct->sends, width, AF_RULE_WINDOW_BUCKETS,
	                               af_rule_window_now(&env->acct->sends, width, ev->ts_ns));
	if (sends == 0 || af_rule_suppressed(env, self, ev->ts_ns))
		return;
	af_rule_alert_init(&a, self, cfg->sent_items_bypass.severity, ev, ev->record_id);
	af_alert_observe_text(&a, "how", "deleted_from_sent_items");
	af_alert_observe(&a, "sends_in_window", sends);
	af_alert_observe(&a, "window_minutes", (double)window / 60e9);
	af_rule_span(span, sizeof(span), window);
	af_rule_message(&a, "%s deleted mail from Sent Items within %s of sending %u message%s.",
	                ev->account, span, (unsigned)sends, sends == 1 ? "" : "s");
	af_rule_raise(env, self, &a);
}

const struct af_rule af_rule_sent_items_bypass = {
    .id = "sent_items_bypass",
    .num = AF_RULE_SENT_ITEMS_BYPASS,
    .kinds = AF_RULE_KIND(AF_KIND_MAIL_SEND) | AF_RULE_KIND(AF_KIND_MAIL_DELETE),
    .scope = AF_RULE_SCOPE_ACCOUNT,
    AF_RULE_CFG(sent_items_bypass),
    .apply = apply,
};
