/* rules.c - the registry: every rule, in the order they run on an event;
 * look-up by id; running a scope's rules; the start-up check of what the
 * rules read from the configuration.
 *
 * Thread: the registry is static const data, read by any thread; rules run
 * on the shard that owns the state (see rule.h).
 *
 * DESIGN: the order is the order of alerts raised by one event: sign-in
 * rules first (new_country before new_asn before impossible_travel, the
 * order an analyst reads them in), then the mail rules, with
 * account_takeover last among the account rules so that it sees what the
 * others raised on the same event. A rule is added by writing its file,
 * declaring it in rule.h and listing it here.
 */
#include "pipeline/rules/rule.h"

#include <stdio.h>
#include <string.h>

_Static_assert(AF_SEV_LOW == 0 && AF_SEV_MEDIUM == 1 && AF_SEV_HIGH == 2 && AF_SEV_CRITICAL == 3,
               "rules.*.severity choices (config_table.c) are enum af_severity in order");

/* One rule a line, in running order. */
/* clang-format off */
static const struct af_rule *const registry[] = {
	&af_rule_new_country,
	&af_rule_new_asn,
	&af_rule_impossible_travel,
	&af_rule_signin_fail_burst,
	&af_rule_mail_send_burst,
	&af_rule_mass_recipients,
	&af_rule_sent_items_bypass,
	&af_rule_inbox_rule_tamper,
	&af_rule_mailbox_forwarding,
	&af_rule_sender_name_spoof,
	&af_rule_account_takeover,
	&af_rule_password_spray,
};
/* clang-format on */

const struct af_rule *const *af_rules_all(size_t *count)
{
	*count = sizeof(registry) / sizeof(registry[0]);
	return registry;
}

const struct af_rule *af_rules_find(const char *id)
{
	for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
		if (strcmp(registry[i]->id, id) == 0)
			return registry[i];
	return NULL;
}

unsigned af_rules_kinds(const struct af_config_rules *cfg, int scope)
{
	unsigned kinds = 0;

	for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
		if (registry[i]->scope == scope && af_rule_enabled(registry[i], cfg))
			kinds |= registry[i]->kinds;
	return kinds;
}

void af_rules_apply(struct af_rule_env *env, int scope, const struct af_event *ev)
{
	unsigned bit = AF_RULE_KIND(ev->kind);

	env->raised = 0;
	for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++) {
		const struct af_rule *r = registry[i];

		if (r->scope == scope && (r->kinds & bit) && af_rule_enabled(r, env->cfg))
			r->apply(env, ev);
	}
}

af_err_t af_rules_check(const struct af_config_rules *cfg, char *errstr, size_t errstr_size)
{
	const char *p = cfg->benign_codes != NULL ? cfg->benign_codes : "";

	if (strspn(p, " \t") == strlen(p) || strcmp(p, "none") == 0)
		return AF_OK;
	while (*p != '\0') {
		size_t sep = strspn(p, ", \t");
		size_t digits = strspn(p + sep, "0123456789");
		size_t word = strcspn(p + sep, ", \t");

		p += sep;
		if (word == 0)
			break;
		if (digits != word || digits > 9) {
			snprintf(
			    errstr, errstr_size,
			    "rules.benign_codes: \"%.*s\" is not an error code (expected numbers "
			    "separated by commas, or \"none\")",
			    (int)(word > 32 ? 32 : word), p);
			return AF_E_CONFIG;
		}
		p += word;
	}
	return AF_OK;
}
