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
 * A steady bulk sender is judged against itself: the bar is the larger of
 * the threshold and peak_factor times the account's busiest window so far
 * (acct->rcpt_peak, folded when a window leaves the count, halving every
 * peak_half_life), so a newsletter reaching 300 people every working hour
 * is quiet while a person whose busiest hour reached 20 is held to the
 * threshold. The windows being counted are never part of their own bar, so
 * an attacker who spreads 300 addresses over a few hours still crosses the
 * threshold before the peak can follow. Until an account has a window
 * behind it, the threshold alone is the bar.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "pipeline/rules/rule.h"

/* Before an add at ts opens a later window, fold into the account's
 * decaying peak the windows that leave the count: only those, so the
 * window in progress and the one before it (what the count spans) never
 * raise their own bar, and a sender cannot lift the bar by sending. */
static void fold_peak(struct af_account *acct, const struct af_config_rule_mass_recipients *c,
                      int64_t ts)
{
	struct af_distinct_window *dw = &acct->rcpts;
	int64_t epoch = ts / c->window;

	if (dw->epoch == INT64_MIN || epoch <= dw->epoch)
		return;
	double decay = exp2(-(double)c->window / (double)c->peak_half_life);
	/* The peak stands as of the window before the previous one; walk it
	 * to the window before ts's previous one, folding what leaves. */
	acct->rcpt_peak =
	    af_baseline_peak(acct->rcpt_peak, (double)af_distinct_count(&dw->prev), decay, 1);
	if (epoch >= dw->epoch + 2) {
		acct->rcpt_peak = af_baseline_peak(acct->rcpt_peak,
		                                   (double)af_distinct_count(&dw->cur), decay, 1);
		acct->rcpt_peak = af_baseline_peak(acct->rcpt_peak, 0.0, decay,
		                                   (uint64_t)(epoch - 2 - dw->epoch));
	}
}

/* The count that raises an alert, and whether the account's peak set it. */
static uint64_t bar(const struct af_config_rule_mass_recipients *c, const struct af_account *acct,
                    bool *from_peak)
{
	double v = ceil(c->peak_factor * (double)acct->rcpt_peak);

	*from_peak = v > (double)c->threshold;
	if (!*from_peak)
		return c->threshold;
	return v >= 1e18 ? UINT64_MAX : (uint64_t)v;
}

static void apply(struct af_rule_env *env, const struct af_event *ev)
{
	const struct af_rule *self = &af_rule_mass_recipients;
	const struct af_config_rule_mass_recipients *c = &env->cfg->mass_recipients;
	struct af_account *acct = env->acct;
	char lower[AF_RECIPIENT_MAX], trigger[24], span[32];
	struct af_alert a;
	bool from_peak;
	size_t len = 0;

	if (ev->schema != AF_SCHEMA_MSGTRACE || ev->recipient[0] == '\0')
		return;
	for (; ev->recipient[len] != '\0' && len < sizeof(lower) - 1; len++)
		lower[len] = (char)tolower((unsigned char)ev->recipient[len]);
	lower[len] = '\0';
	fold_peak(acct, c, ev->ts_ns);
	if (af_dwin_add(&acct->rcpts, env->pool, c->window, ev->ts_ns, XXH3_64bits(lower, len)) !=
	    AF_WINDOW_ADDED)
		return;
	/* A late row (previous epoch) is judged with both epochs, as in order. */
	uint64_t count = af_dwin_count(&acct->rcpts, env->pool, c->window, ev->ts_ns);
	uint64_t need = bar(c, acct, &from_peak);
	if (count < need || af_rule_suppressed(env, self, ev->ts_ns))
		return;

	/* The counted span starts with the epoch before the newest: known
	 * from the counted rows alone, not their order within it. */
	snprintf(trigger, sizeof(trigger), "%" PRId64, (acct->rcpts.epoch - 1) * c->window);
	af_rule_alert_init(&a, self, c->severity, ev, trigger);
	af_alert_observe(&a, "recipients", (double)count);
	af_alert_observe(&a, "window_minutes", (double)c->window / 60e9);
	af_alert_observe(&a, "threshold", (double)need);
	af_alert_observe(&a, "peak", acct->rcpt_peak);
	af_alert_observe(&a, "approximate", af_dwin_saturated(&acct->rcpts));
	af_rule_span(span, sizeof(span), c->window);
	af_rule_message(&a,
	                "%s sent mail to %" PRIu64 " distinct recipients within %s; its bar is %" PRIu64
	                " (%s).",
	                ev->account, count, span, need,
	                from_peak ? "its busiest window times the margin" : "the threshold");
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
