/* account.h - everything auditflow remembers about one account: what it is
 * used to (countries, ASNs, networks), where it last signed in, its recent
 * failures and sends, and when each rule last alerted on it.
 *
 * Thread: the shard that owns the account (route by account hash); no
 * locks, no allocation except the HLL blocks the recipients counter takes
 * from the shard's pool.
 * In: the account's events, in input order. The rules (pipeline/rules/)
 * read the state and update their own counters; af_account_learn then folds
 * the event into what the account is used to.
 * Out: the state the rules judge by.
 *
 * DESIGN: memory is the budget. A shard keeps every active account, so
 * struct af_account, the hot part, is at most 512 bytes (a static assert
 * holds it there; af_account_size_report prints the breakdown): times are
 * minutes or days since the epoch, locations floats, familiarity 10-byte
 * entries in sets of 8 countries, 6 ASNs and 6 networks. The record ids an
 * alert cites as evidence are text (up to 80 bytes each) and are read only
 * when an alert is raised, so they live apart in struct af_account_cold;
 * the shard keeps one of each per account and passes both.
 *
 * Who writes what:
 *   af_account_learn: first/last seen, signins, name_hash, the familiarity
 *     sets and the travel anchor (with cold->travel_record);
 *   the rules: their own windows (fails: signin_fail_burst; sends,
 *     send_base, rcpts: the mail rules), suppression times (through
 *     af_rule_raise), the last anomaly (af_account_note_anomaly sets it;
 *     account_takeover clears anomaly_min once it has raised on it, so a
 *     takeover is raised once per anomaly).
 *
 * Times before 1970 are not supported (@pre ts >= 0 everywhere).
 */
#ifndef AF_ACCOUNT_H
#define AF_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "pipeline/config.h"
#include "pipeline/event.h"
#include "pipeline/state/baseline.h"
#include "pipeline/state/distinct.h"
#include "pipeline/state/familiar.h"
#include "pipeline/state/window.h"

/* Familiarity set sizes: countries change least and cost most when
 * forgotten (a new_country alert), networks churn most (mobile carriers)
 * and only help impossible_travel recognise a place. */
#define AF_ACCOUNT_COUNTRIES 8
#define AF_ACCOUNT_ASNS      6
#define AF_ACCOUNT_NETS      6

/* Suppression slots: one per account-scope rule (pipeline/rules/rule.h
 * numbers them 0..AF_ACCOUNT_RULES-1). */
#define AF_ACCOUNT_RULES 11

/* Hot state is held to this many bytes per account. */
#define AF_ACCOUNT_HOT_MAX 512

/* The travel anchor: the last successful sign-in with a usable location
 * (af_account_travel_usable), for impossible_travel. */
enum {
	AF_TRAVEL_SET = 1u << 0,      /* the anchor holds a sign-in */
	AF_TRAVEL_FAMILIAR = 1u << 1, /* its place was familiar when it happened */
};

struct af_travel {
	uint32_t ts_s; /* event time, s since the epoch */
	float lat, lon;
	uint32_t asn;       /* 0 unknown */
	char country[2];    /* ISO alpha-2, not NUL-terminated; "\0\0" unknown */
	uint16_t radius_km; /* accuracy radius, saturating; 0 unknown */
	uint8_t flags;      /* AF_TRAVEL_* */
};

struct af_account {
	uint32_t first_min;   /* minute (since the epoch) of the first event */
	uint32_t last_min;    /* minute of the latest event */
	uint32_t signins;     /* successful sign-ins, saturating */
	uint32_t anomaly_min; /* minute of the last anomalous sign-in that
	                         raised an alert (for account_takeover); 0 none,
	                         or already used by account_takeover */
	uint64_t name_hash;   /* xxh3 of the account's display name; 0 unknown */
	struct af_travel travel;

	struct af_window fails; /* failed sign-ins (signin_fail_burst) */

	/* The mail rules' counters (mail_send_burst, mass_recipients). */
	struct af_window sends;          /* sends in the burst window */
	struct af_baseline send_base;    /* sends per hour, EWMA */
	struct af_distinct_window rcpts; /* distinct recipients in the window */
	float rcpt_peak; /* most distinct recipients of one window (epoch),
	                    decaying (mass_recipients) */

	/* Per account-scope rule: the minute until which it stays quiet
	 * (rounded up); 0 = never alerted. */
	uint32_t suppress_until[AF_ACCOUNT_RULES];

	struct af_fam_entry countries[AF_ACCOUNT_COUNTRIES];
	struct af_fam_entry asns[AF_ACCOUNT_ASNS];
	struct af_fam_entry nets[AF_ACCOUNT_NETS];

	uint8_t anomaly_rule; /* rule number of that anomaly's alert */
};

/* The cold part: text read only when an alert is raised. */
struct af_account_cold {
	uint64_t anomaly_alert;                /* id of the last anomaly's alert; 0 none */
	char anomaly_record[AF_RECORD_ID_MAX]; /* record id of that sign-in */
	char travel_record[AF_RECORD_ID_MAX];  /* record id of the travel anchor */
};

/* A fresh account first seen at now (the time of its first event): nothing
 * familiar, empty windows, no suppression.
 * @pre now >= 0. */
void af_account_init(struct af_account *acct, int64_t now);

/* An empty cold part. */
void af_account_cold_init(struct af_account_cold *cold);

/* Return the blocks the account's distinct counters hold to pool (the one
 * they took them from). Call before the account's storage is dropped
 * (eviction); the account must be initialised again before reuse. */
void af_account_fini(struct af_account *acct, struct af_hll_pool *pool);

/* Fold ev into what the account is used to, after the rules have judged it:
 * last seen, and for a successful sign-in the count, the country, ASN and
 * network (first/last day, count; expired after cfg->history) and the
 * travel anchor when its location is usable. A display name hash is kept
 * when the event carries one. cfg and ev are borrowed.
 * Cost: O(set sizes), no allocation. */
void af_account_learn(struct af_account *acct, struct af_account_cold *cold,
                      const struct af_config_rules *cfg, const struct af_event *ev);

/* Whether the rules that compare with history may judge the account at ts:
 * cfg->learning_days have passed since it was first seen and it has at
 * least cfg->learning_signins successful sign-ins (and at least one). */
bool af_account_learned(const struct af_account *acct, const struct af_config_rules *cfg,
                        int64_t ts);

/* Whether the account knows this country / ASN / network at ts (a live
 * entry within cfg->history). 0 and "" are never known. */
bool af_account_knows_country(const struct af_account *acct, const struct af_config_rules *cfg,
                              const char *country, int64_t ts);
bool af_account_knows_asn(const struct af_account *acct, const struct af_config_rules *cfg,
                          uint32_t asn, int64_t ts);
bool af_account_knows_net(const struct af_account *acct, const struct af_config_rules *cfg,
                          const struct af_ip *ip, int64_t ts);

/* Whether ev comes from a place the account is used to: its network is
 * known, or both its ASN and its country are (a phone hopping between a
 * carrier's networks in one country, a VPN egress used before). */
bool af_account_place_familiar(const struct af_account *acct, const struct af_config_rules *cfg,
                               const struct af_event *ev);

/* Whether geo says where the person is precisely enough for a distance:
 * it has a location, is not internal, its accuracy radius is at most
 * cfg->impossible_travel.max_radius_km (0, unknown, is accepted), it is no
 * anonymizer (VPN, proxy, Tor, or anonymous without being hosting) and,
 * with cfg->impossible_travel.skip_hosting, no hosting address. */
bool af_account_travel_usable(const struct af_config_rules *cfg, const struct af_geo *geo);

/* Remember an anomalous sign-in (new_country, impossible_travel, risky
 * new_asn) whose alert was raised: its time, rule number and alert id, and
 * its record id in cold. record_id is borrowed. */
void af_account_note_anomaly(struct af_account *acct, struct af_account_cold *cold, unsigned rule,
                             int64_t ts, uint64_t alert_id, const char *record_id);

/* Live familiarity entries of each kind at ts. */
unsigned af_account_country_count(const struct af_account *acct, const struct af_config_rules *cfg,
                                  int64_t ts);
unsigned af_account_asn_count(const struct af_account *acct, const struct af_config_rules *cfg,
                              int64_t ts);

/* Minutes since the epoch of ts, saturating at UINT32_MAX. @pre ts >= 0. */
uint32_t af_account_minute(int64_t ts);

/* Write the sizes of struct af_account and its parts, and of the cold
 * part, to out: the memory budget as built. */
void af_account_size_report(FILE *out);

#endif
