/* rule_password_spray.c - password_spray: one source address failing to
 * sign in as at least `threshold` distinct accounts within `window` (5 in
 * 20 minutes).
 *
 * Thread: the shard that owns the address (the address route).
 * In: failed sign-ins from the address; its struct af_addr, which this
 * rule alone updates.
 * Out: an alert with no account (written as null), the address in src, the
 * number of accounts in observed; its id is (rule, address text, start of
 * the oldest bucket of its failures counted), in decimal ns.
 *
 * DESIGN: a spray stays under each account's lockout by trying each
 * account once or twice, so the signal is how many accounts, not how many
 * failures: a windowed distinct count of account hashes (exact up to 8,
 * then HyperLogLog from the shard's pool). That counter has tumbling epochs
 * of one window and counts the current and the previous epoch, so it sees
 * between one and two windows of history: it can fire early, never late
 * (pipeline/state/distinct.h). Interrupt codes are not failed passwords
 * (rules.benign_codes), and by default an office's egress or an internal
 * relay, where many people's typos meet, is not judged (skip_corporate).
 */
#include <inttypes.h>
#include <stdio.h>

#include "pipeline/rules/rule.h"

#define MIN_NS INT64_C(60000000000)

static void apply(struct af_rule_env *env, const struct af_event *ev)
{
	const struct af_rule *self = &af_rule_password_spray;
	const struct af_config_rule_password_spray *c = &env->cfg->password_spray;
	struct af_addr *addr = env->addr;
	/* Failures are counted over two windows, the reach of the distinct
	 * counter, so the alert's two counts cover about the same span. */
	int64_t width = af_rule_bucket(2 * c->window), start = 0;
	char trigger[24], span[32], ip[AF_IP_TEXT_MAX];
	struct af_alert a;

	if (ev->src.family == AF_IP_NONE || !af_rule_failed_password(env->cfg, ev))
		return;
	if (c->skip_corporate && (ev->geo.flags & (AF_GEO_CORPORATE | AF_GEO_INTERNAL)))
		return;
	if (af_dwin_add(&addr->accounts, env->pool, c->window, ev->ts_ns, ev->account_hash) !=
	    AF_WINDOW_ADDED)
		return;
	af_window_add(&addr->fails, width, AF_RULE_WINDOW_BUCKETS, ev->ts_ns, 1);
	uint64_t accounts = af_dwin_count(&addr->accounts, env->pool, c->window, ev->ts_ns);
	if (accounts < c->threshold || af_rule_suppressed(env, self, ev->ts_ns))
		return;

	int64_t now = af_rule_window_now(&addr->fails, width, ev->ts_ns);
	uint32_t failures = af_window_sum(&addr->fails, width, AF_RULE_WINDOW_BUCKETS, now);
	if (!af_window_first_ts(&addr->fails, width, AF_RULE_WINDOW_BUCKETS, now, &start))
		start = ev->ts_ns / width * width;
	snprintf(trigger, sizeof(trigger), "%" PRId64, start);
	af_rule_alert_init(&a, self, c->severity, ev, trigger);
	af_alert_observe(&a, "accounts", (double)accounts);
	af_alert_observe(&a, "failures", failures);
	af_alert_observe(&a, "window_minutes", (double)c->window / MIN_NS);
	af_alert_observe(&a, "threshold", c->threshold);
	if (af_dwin_saturated(&addr->accounts))
		af_alert_observe_text(&a, "accounts_bound", "lower");

	af_rule_span(span, sizeof(span), c->window);
	af_ip_format(&ev->src, ip, sizeof(ip));
	af_rule_message(&a,
	                "%s failed to sign in as %" PRIu64 " distinct accounts within about %s "
	                "(%" PRIu32 " failures, the latest as %s).",
	                ip, accounts, span, failures, ev->account);
	af_rule_raise(env, self, &a);
}

const struct af_rule af_rule_password_spray = {
    .id = "password_spray",
    .num = AF_RULE_PASSWORD_SPRAY,
    .kinds = AF_RULE_KIND(AF_KIND_SIGNIN_FAILED),
    .scope = AF_RULE_SCOPE_ADDRESS,
    AF_RULE_CFG(password_spray),
    .apply = apply,
};
