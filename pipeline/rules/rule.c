/* rule.c - what every rule shares: its configuration by offset, failed
 * passwords, filling an alert, messages, and suppression; see rule.h.
 *
 * Thread: the shard running the rule. No allocation, no globals.
 */
#include "pipeline/rules/rule.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/utf8.h"

#define MIN_NS INT64_C(60000000000)

bool af_rule_enabled(const struct af_rule *rule, const struct af_config_rules *cfg)
{
	bool on;

	memcpy(&on, (const char *)cfg + rule->cfg_enabled, sizeof(on));
	return on;
}

int64_t af_rule_suppression(const struct af_rule *rule, const struct af_config_rules *cfg)
{
	int64_t own;

	memcpy(&own, (const char *)cfg + rule->cfg_suppression, sizeof(own));
	return own > 0 ? own : cfg->suppression;
}

int64_t af_rule_bucket(int64_t window)
{
	assert(window >= (int64_t)AF_RULE_WINDOW_BUCKETS);
	return window / AF_RULE_WINDOW_BUCKETS;
}

int64_t af_rule_window_now(const struct af_window *w, int64_t width, int64_t ts)
{
	if (w->newest != INT64_MIN && w->newest > ts / width)
		return w->newest * width;
	return ts;
}

/* Whether code is one of the numbers in list (digits separated by commas
 * or blanks; other words, such as "none", match nothing). */
static bool code_listed(const char *list, int32_t code)
{
	const char *p = list;

	while (*p != '\0') {
		int64_t v = 0;
		bool digits = false;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		for (; *p >= '0' && *p <= '9'; p++, digits = true)
			if (v <= INT32_MAX)
				v = v * 10 + (*p - '0');
		if (digits && v == code && (*p == '\0' || *p == ',' || *p == ' ' || *p == '\t'))
			return true;
		while (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t')
			p++;
	}
	return false;
}

bool af_rule_failed_password(const struct af_config_rules *cfg, const struct af_event *ev)
{
	if (ev->kind != AF_KIND_SIGNIN_FAILED)
		return false;
	return cfg->benign_codes == NULL || !code_listed(cfg->benign_codes, ev->error_code);
}

/* The rule's "quiet until" minute for env's account or address. */
static uint32_t *quiet_slot(const struct af_rule_env *env, const struct af_rule *rule)
{
	if (rule->scope == AF_RULE_SCOPE_ADDRESS)
		return &env->addr->suppress_until;
	assert(rule->num < AF_ACCOUNT_RULES);
	return &env->acct->suppress_until[rule->num];
}

bool af_rule_suppressed(const struct af_rule_env *env, const struct af_rule *rule, int64_t ts)
{
	uint32_t until = *quiet_slot(env, rule);

	return until != 0 && ts < (int64_t)until * MIN_NS;
}

bool af_rule_raise(struct af_rule_env *env, const struct af_rule *rule, const struct af_alert *a)
{
	int64_t period = af_rule_suppression(rule, env->cfg);

	if (af_rule_suppressed(env, rule, a->ts_ns))
		return false;
	if (period > 0) {
		/* Rounded up to a whole minute: quiet at least the period, at
		 * most a minute more, in 4 bytes of state. */
		int64_t end = a->ts_ns > INT64_MAX - period ? INT64_MAX : a->ts_ns + period;
		int64_t min = end / MIN_NS + (end % MIN_NS != 0);
		*quiet_slot(env, rule) = min > UINT32_MAX ? UINT32_MAX : (uint32_t)min;
	}
	env->raised |= 1u << rule->num;
	env->emit(env->emit_ctx, a);
	return true;
}

void af_rule_alert_init(struct af_alert *a, const struct af_rule *rule, int severity,
                        const struct af_event *ev, const char *trigger)
{
	char ip[AF_IP_TEXT_MAX];
	const char *subject;

	memset(a, 0, sizeof(*a));
	a->rule = rule->id;
	a->severity = (uint8_t)severity;
	a->ts_ns = ev->ts_ns;
	a->src = ev->src;
	a->geo = ev->geo;
	if (rule->scope == AF_RULE_SCOPE_ACCOUNT) {
		/* Both fields are AF_ACCOUNT_MAX bytes and NUL-terminated. */
		memcpy(a->account, ev->account, sizeof(a->account));
		subject = a->account;
	} else {
		af_ip_format(&ev->src, ip, sizeof(ip));
		subject = ip;
	}
	af_alert_add_evidence(a, ev->record_id);
	a->id = af_alert_id(rule->id, subject, trigger);
}

void af_rule_message(struct af_alert *a, const char *fmt, ...)
{
	char buf[AF_ALERT_MESSAGE_MAX * 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	/* vsnprintf may have cut inside a character: cut again, cleanly. */
	len = af_utf8_cut(buf, len, sizeof(a->message) - 1);
	memcpy(a->message, buf, len);
	a->message[len] = '\0';
}

void af_rule_place(char *buf, size_t size, const struct af_geo *geo)
{
	char asn[96] = "";
	const char *cc = geo->country[0] != '\0' ? geo->country : "an unknown place";

	if (geo->asn != 0)
		snprintf(asn, sizeof(asn), "AS%" PRIu32 "%s%s", geo->asn,
		         geo->as_org[0] != '\0' ? " " : "", geo->as_org);
	if (geo->city[0] != '\0' && asn[0] != '\0')
		snprintf(buf, size, "%s (%s, %s)", cc, geo->city, asn);
	else if (geo->city[0] != '\0' || asn[0] != '\0')
		snprintf(buf, size, "%s (%s)", cc, geo->city[0] != '\0' ? geo->city : asn);
	else
		snprintf(buf, size, "%s", cc);
}

void af_rule_span(char *buf, size_t size, int64_t ns)
{
	if (ns < 0)
		ns = -ns;
	if (ns < 2 * MIN_NS && ns % MIN_NS != 0)
		snprintf(buf, size, "%" PRId64 " seconds", ns / INT64_C(1000000000));
	else if (ns < 120 * MIN_NS)
		snprintf(buf, size, "%" PRId64 " minute%s", ns / MIN_NS,
		         ns / MIN_NS == 1 ? "" : "s");
	else
		snprintf(buf, size, "%.1f hours", (double)ns / (60.0 * MIN_NS));
}
