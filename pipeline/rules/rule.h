/* rule.h - the detection rules framework: what a rule is, what it may touch,
 * how it raises an alert, and the registry of every rule.
 *
 * Thread: the shard that owns the state a rule reads (an account, or an
 * address for per-address rules); rules never share state across shards.
 * In: one normalized event at a time, in input order for its account or
 * address, with that account's or address's state. Out: alerts, through
 * env->emit, by value.
 *
 * DESIGN: a rule is a function of (shard state, event): it reads the
 * state, updates its own counters in it, and may emit alerts; it touches
 * nothing else (no globals, no clock, no allocation). The shard calls
 * af_rules_apply for the account scope, then af_account_learn (so a rule
 * judges an event against what was known before it), and af_rules_apply
 * for the address scope on the address route. Everything rules have in
 * common is here, once: reading a rule's enabled flag and suppression from
 * the configuration by offset, filling an alert from the event, the
 * deterministic alert id, the message cut at a UTF-8 boundary, and
 * suppression, which keeps one "quiet until" minute per rule and account
 * (or address) and never stops a rule's counting.
 *
 * Rule numbers are part of the account state's layout (they index its
 * suppression slots), so every rule of DESIGN.md has its number here, also
 * the ones written later; account-scope rules come first.
 */
#ifndef AF_RULE_H
#define AF_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/alert.h"
#include "pipeline/config.h"
#include "pipeline/err.h"
#include "pipeline/event.h"
#include "pipeline/state/account.h"
#include "pipeline/state/addr.h"
#include "pipeline/state/distinct.h"

enum af_rule_scope {
	AF_RULE_SCOPE_ACCOUNT = 0, /* state: struct af_account (+ cold) */
	AF_RULE_SCOPE_ADDRESS,     /* state: struct af_addr */
};

enum af_rule_num {
	AF_RULE_NEW_COUNTRY = 0,
	AF_RULE_NEW_ASN,
	AF_RULE_IMPOSSIBLE_TRAVEL,
	AF_RULE_SIGNIN_FAIL_BURST,
	AF_RULE_MAIL_SEND_BURST,
	AF_RULE_MASS_RECIPIENTS,
	AF_RULE_SENT_ITEMS_BYPASS,
	AF_RULE_INBOX_RULE_TAMPER,
	AF_RULE_MAILBOX_FORWARDING,
	AF_RULE_SENDER_NAME_SPOOF,
	AF_RULE_ACCOUNT_TAKEOVER,
	AF_RULE_NUM_ACCOUNT, /* not a rule: the number of account-scope rules */
	AF_RULE_PASSWORD_SPRAY = AF_RULE_NUM_ACCOUNT,
	AF_RULE_NUM, /* not a rule: the number of rules */
};

_Static_assert(AF_RULE_NUM_ACCOUNT == AF_ACCOUNT_RULES,
               "one suppression slot in struct af_account per account-scope rule");

/* The bit of an event kind in af_rule.kinds. */
#define AF_RULE_KIND(kind) (1u << (kind))

/* Buckets of a rule's counting window (struct af_window): a window W is
 * counted in AF_RULE_WINDOW_BUCKETS buckets of W / AF_RULE_WINDOW_BUCKETS,
 * so an event counts for between 9/10 W and W after its time. */
#define AF_RULE_WINDOW_BUCKETS 10u

/* What a rule may touch: the configuration, the state of its scope, the
 * shard's HLL pool, and the way out for alerts. All borrowed. */
struct af_rule_env {
	const struct af_config_rules *cfg;
	struct af_account *acct;      /* account scope; NULL on the address route */
	struct af_account_cold *cold; /* its cold part; NULL with acct */
	struct af_addr *addr;         /* address scope; NULL on the account route */
	struct af_hll_pool *pool;     /* the shard's HLL blocks */
	/* Called once per alert raised; a is valid only during the call (the
	 * callee copies it, e.g. into the sink ring). */
	void (*emit)(void *ctx, const struct af_alert *a);
	void *emit_ctx;
	/* Bits (1u << rule number) of the rules that raised an alert on the
	 * event being judged: af_rules_apply clears it, af_rule_raise sets it,
	 * account_takeover (last) reads it. */
	unsigned raised;
};

struct af_rule {
	const char *id;         /* DESIGN.md's rule id; static text */
	unsigned num;           /* enum af_rule_num */
	unsigned kinds;         /* AF_RULE_KIND bits of the event kinds it looks at */
	int scope;              /* enum af_rule_scope */
	size_t cfg_enabled;     /* offsets in struct af_config_rules of the */
	size_t cfg_suppression; /* rule's enabled (bool) and suppression (int64_t) */
	/* Judge ev. Called only for ev->kind in kinds, with the state of the
	 * rule's scope in env, and only while the rule is enabled. */
	void (*apply)(struct af_rule_env *env, const struct af_event *ev);
};

/* .cfg_enabled and .cfg_suppression of the rule whose configuration is
 * the member m of struct af_config_rules. */
#define AF_RULE_CFG(m)                                                                             \
	.cfg_enabled = offsetof(struct af_config_rules, m.enabled),                                \
	.cfg_suppression = offsetof(struct af_config_rules, m.suppression)

/* ---- the rules (one file each) ---- */

extern const struct af_rule af_rule_new_country;
extern const struct af_rule af_rule_new_asn;
extern const struct af_rule af_rule_impossible_travel;
extern const struct af_rule af_rule_signin_fail_burst;
extern const struct af_rule af_rule_password_spray;
extern const struct af_rule af_rule_mail_send_burst;
extern const struct af_rule af_rule_mass_recipients;
extern const struct af_rule af_rule_sent_items_bypass;
extern const struct af_rule af_rule_inbox_rule_tamper;
extern const struct af_rule af_rule_mailbox_forwarding;
extern const struct af_rule af_rule_sender_name_spoof;
extern const struct af_rule af_rule_account_takeover;

/* ---- the registry (rules.c) ---- */

/* Every rule, in the order they run on an event; static data. */
const struct af_rule *const *af_rules_all(size_t *count);

/* The rule with this id, or NULL. Cost: a walk over the registry. */
const struct af_rule *af_rules_find(const char *id);

/* The union of the kinds the enabled rules of scope look at: the shard
 * sends an event to the address route only if its kind is in
 * af_rules_kinds(cfg, AF_RULE_SCOPE_ADDRESS). */
unsigned af_rules_kinds(const struct af_config_rules *cfg, int scope);

/* Run every enabled rule of scope whose kinds include ev->kind, in
 * registry order. env holds the state of that scope.
 * @pre env->acct and env->cold set for AF_RULE_SCOPE_ACCOUNT, env->addr for
 *      AF_RULE_SCOPE_ADDRESS; ev->ts_ns >= 0. */
void af_rules_apply(struct af_rule_env *env, int scope, const struct af_event *ev);

/* Check what the rules read from cfg beyond what the configuration table
 * validates: rules.benign_codes must be error codes (digits) separated by
 * commas or blanks, or "none". AF_OK, or AF_E_CONFIG with a sentence in
 * errstr. Call once at start-up (and from `auditflow validate`). */
af_err_t af_rules_check(const struct af_config_rules *cfg, char *errstr, size_t errstr_size);

/* ---- for the rules (rule.c) ---- */

/* Whether rule is enabled in cfg. */
bool af_rule_enabled(const struct af_rule *rule, const struct af_config_rules *cfg);

/* The rule's suppression period in ns: its own, or rules.suppression
 * when its own is 0. 0 = none. */
int64_t af_rule_suppression(const struct af_rule *rule, const struct af_config_rules *cfg);

/* Bucket width for a counting window of window ns (AF_RULE_WINDOW_BUCKETS
 * buckets). @pre window >= AF_RULE_WINDOW_BUCKETS. */
int64_t af_rule_bucket(int64_t window);

/* The time a counting window is judged at after an event at ts: ts, or the
 * start of w's newest bucket when ts is older (a late event): a late event
 * is judged with everything counted so far, so whether and when a burst
 * fires does not depend on which of its events came last.
 * @pre width as for af_window_add. */
int64_t af_rule_window_now(const struct af_window *w, int64_t width, int64_t ts);

/* Whether ev is a failed sign-in that counts as a failed password: kind
 * AF_KIND_SIGNIN_FAILED and its error code not in cfg->benign_codes. */
bool af_rule_failed_password(const struct af_config_rules *cfg, const struct af_event *ev);

/* Whether the rule is quiet at ts for env's account (account scope) or
 * address: an alert of it was raised less than its suppression period
 * before. Rules ask before building an alert, to save the work. */
bool af_rule_suppressed(const struct af_rule_env *env, const struct af_rule *rule, int64_t ts);

/* Raise a, unless the rule is quiet at a->ts_ns: emit it and keep the
 * rule quiet for its suppression period from a->ts_ns (rounded up to the
 * next minute). Returns whether a was emitted. a is borrowed.
 * This is the only way a rule emits, so suppression is the same for all. */
bool af_rule_raise(struct af_rule_env *env, const struct af_rule *rule, const struct af_alert *a);

/* Fill a from ev for rule: every field zeroed, then rule, severity, the
 * event's time, account ("" for address scope, written as null), source
 * address and geo, the event's record id as the first evidence, and the id
 * af_alert_id(rule id, subject, trigger) with subject the account, or the
 * address as text for address scope. trigger is what the alert is about
 * (the new country, the ASN, a window start): never arrival order. All
 * borrowed. Cost: zeroes about 2 KiB; call it only to raise. */
void af_rule_alert_init(struct af_alert *a, const struct af_rule *rule, int severity,
                        const struct af_event *ev, const char *trigger);

/* Set a->message from a printf format, cut to fit at a UTF-8 boundary. */
__attribute__((format(printf, 2, 3))) void af_rule_message(struct af_alert *a, const char *fmt,
                                                           ...);

/* Where geo places an address, for messages: "US (Ashburn, AS64511 Example
 * Hosting LLC)", "US (AS64500)", "US", or "an unknown place". Writes at
 * most size bytes, NUL included. */
void af_rule_place(char *buf, size_t size, const struct af_geo *geo);

/* A window or a span of time for messages: "10 minutes", "1 minute",
 * "90 seconds", "2.5 hours". */
void af_rule_span(char *buf, size_t size, int64_t ns);

#endif
