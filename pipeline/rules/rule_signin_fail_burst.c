/* rule_signin_fail_burst.c - signin_fail_burst: at least `threshold` failed
 * sign-ins of one account within `window` (10 in 10 minutes): password
 * guessing against it, or, after a takeover and a password reset, the
 * attacker still trying the old password.
 *
 * Thread: the shard that owns the account.
 * In: failed sign-ins; the account's failure window (struct af_window in
 * AF_RULE_WINDOW_BUCKETS buckets), which this rule alone updates.
 * Out: an alert whose id is (rule, account, start of the oldest bucket of
 * the window that crossed the threshold), in decimal ns: the same failures
 * give the same id whatever their arrival order within the ring.
 *
 * DESIGN: interrupts are not failures (rules.benign_codes: MFA required,
 * "stay signed in?", a stale token), or every MFA prompt of a busy morning
 * would count. The window keeps counting while the rule is suppressed, so
 * the alert after the suppression period reports the burst as it is then.
 * Needs no learning period: it compares with a threshold, not history.
 */
#include <inttypes.h>
#include <stdio.h>

#include "pipeline/rules/rule.h"

#define MIN_NS INT64_C(60000000000)

static void apply(struct af_rule_env *env, const struct af_event *ev)
{
	const struct af_rule *self = &af_rule_signin_fail_burst;
	const struct af_config_rule_signin_fail_burst *c = &env->cfg->signin_fail_burst;
	struct af_account *acct = env->acct;
	int64_t width = af_rule_bucket(c->window), start = 0;
	char trigger[24], span[32], ip[AF_IP_TEXT_MAX];
	struct af_alert a;

	if (!af_rule_failed_password(env->cfg, ev))
		return;
	if (af_window_add(&acct->fails, width, AF_RULE_WINDOW_BUCKETS, ev->ts_ns, 1) !=
	    AF_WINDOW_ADDED)
		return;
	int64_t now = af_rule_window_now(&acct->fails, width, ev->ts_ns);
	uint32_t count = af_window_sum(&acct->fails, width, AF_RULE_WINDOW_BUCKETS, now);
	if (count < c->threshold || af_rule_suppressed(env, self, ev->ts_ns))
		return;

	af_window_first_ts(&acct->fails, width, AF_RULE_WINDOW_BUCKETS, now, &start);
	snprintf(trigger, sizeof(trigger), "%" PRId64, start);
	af_rule_alert_init(&a, self, c->severity, ev, trigger);
	af_alert_observe(&a, "count", count);
	af_alert_observe(&a, "window_minutes", (double)c->window / MIN_NS);
	af_alert_observe(&a, "threshold", c->threshold);
	af_alert_observe(&a, "error_code", ev->error_code);

	af_rule_span(span, sizeof(span), c->window);
	af_ip_format(&ev->src, ip, sizeof(ip));
	af_rule_message(
	    &a, "%s failed to sign in %" PRIu32 " times within %s (last error %" PRId32 "%s%s).",
	    ev->account, count, span, ev->error_code, ip[0] != '\0' ? ", from " : "", ip);
	af_rule_raise(env, self, &a);
}

const struct af_rule af_rule_signin_fail_burst = {
    .id = "signin_fail_burst",
    .num = AF_RULE_SIGNIN_FAIL_BURST,
    .kinds = AF_RULE_KIND(AF_KIND_SIGNIN_FAILED),
    .scope = AF_RULE_SCOPE_ACCOUNT,
    AF_RULE_CFG(signin_fail_burst),
    .apply = apply,
};
