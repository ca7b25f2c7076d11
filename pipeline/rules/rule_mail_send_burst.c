/* rule_mail_send_burst.c - mail_send_burst: an account sending at least
 * max(floor, mean + k sigma) of its own hourly sends within
 * rules.mail_send_burst.window (10 minutes, at most an hour).
 *
 * Thread: the shard that owns the account.
 * In: audit Send events; the account's send window (acct->sends, also read
 * by sent_items_bypass) and hourly baseline (acct->send_base), which this
 * rule alone updates. Out: an alert whose id is (rule, account, start of
 * the oldest bucket of the window that crossed the bar), in decimal ns.
 *
 * DESIGN: the bar is the account's own: a help desk or a newsletter owner
 * sending hundreds an hour every day is judged against that, a person who
 * sends ten a day against the floor. The window's count is compared with a
 * whole hour of the baseline, not scaled down to the window: an account
 * that sends its usual hour's worth in one go (a script, a newsletter) is
 * no burst; only more than its usual hour is. The baseline counts completed hours
 * only, so the burst is compared with the time before it; until it holds
 * rules.mail_send_burst.min_hours hours the floor alone is the bar. The
 * standard deviation is taken as at least one mail, so a perfectly steady
 * sender does not alert on one extra message.
 * Message trace rows are not counted: each is one recipient of a message
 * the audit log already counts as one Send (they are mass_recipients'
 * input), so counting them would turn one mail to 300 people into 300
 * sends, and an account seen in both exports would be counted twice.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "pipeline/rules/rule.h"

#define HOUR_NS INT64_C(3600000000000)

/* The weight of the newest hour in the baseline: about the last 20 hours
 * (a working day and its evening) carry most of the weight. */
#define ALPHA 0.05

/* The bar the window's count must reach, and whether the baseline set it. */
static uint32_t bar(const struct af_config_rule_mail_send_burst *c, const struct af_baseline *b,
                    bool *from_baseline)
{
	*from_baseline = false;
	if (!af_baseline_ready(b, c->min_hours))
		return c->floor;
	double sd = af_baseline_stddev(b);
	double v = ceil(af_baseline_mean(b) + c->k * (sd > 1.0 ? sd : 1.0));

	if (v <= (double)c->floor)
		return c->floor;
	*from_baseline = true;
	return v >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void apply(struct af_rule_env *env, const struct af_event *ev)
{
	const struct af_rule *self = &af_rule_mail_send_burst;
	const struct af_config_rule_mail_send_burst *c = &env->cfg->mail_send_burst;
	struct af_account *acct = env->acct;
	int64_t width = af_rule_bucket(c->window), start = 0;
	char trigger[24], span[32];
	bool from_baseline;
	struct af_alert a;

	if (ev->schema == AF_SCHEMA_MSGTRACE)
		return;
	/* Adding first folds the hours completed before this send into the
	 * baseline; the hour in progress is never part of the bar. */
	af_baseline_add(&acct->send_base, HOUR_NS, ALPHA, ev->ts_ns, 1);
	if (af_window_add(&acct->sends, width, AF_RULE_WINDOW_BUCKETS, ev->ts_ns, 1) !=
	    AF_WINDOW_ADDED)
		return;
	int64_t now = af_rule_window_now(&acct->sends, width, ev->ts_ns);
	uint32_t count = af_window_sum(&acct->sends, width, AF_RULE_WINDOW_BUCKETS, now);
	uint32_t need = bar(c, &acct->send_base, &from_baseline);

	if (count < need || af_rule_suppressed(env, self, ev->ts_ns))
		return;
	af_window_first_ts(&acct->sends, width, AF_RULE_WINDOW_BUCKETS, now, &start);
	snprintf(trigger, sizeof(trigger), "%" PRId64, start);
	af_rule_alert_init(&a, self, c->severity, ev, trigger);
	af_alert_observe(&a, "count", count);
	af_alert_observe(&a, "window_minutes", (double)c->window / 60e9);
	af_alert_observe(&a, "threshold", need);
	af_alert_observe(&a, "baseline_mean", af_baseline_mean(&acct->send_base));
	af_alert_observe(&a, "baseline_stddev", af_baseline_stddev(&acct->send_base));
	af_rule_span(span, sizeof(span), c->window);
	af_rule_message(&a, "%s sent %" PRIu32 " messages within %s; its bar is %" PRIu32 " (%s).",
	                ev->account, count, span, need,
	                from_baseline ? "its usual rate plus margin" : "the floor");
	af_rule_raise(env, self, &a);
}

const struct af_rule af_rule_mail_send_burst = {
    .id = "mail_send_burst",
    .num = AF_RULE_MAIL_SEND_BURST,
    .kinds = AF_RULE_KIND(AF_KIND_MAIL_SEND),
    .scope = AF_RULE_SCOPE_ACCOUNT,
    AF_RULE_CFG(mail_send_burst),
    .apply = apply,
};
