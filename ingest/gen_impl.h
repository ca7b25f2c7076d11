/* gen_impl.h - the generator's model, shared by gen.c (PRNG, organisation,
 * timeline, driver), gen_scenarios.c (what people and attackers do) and
 * gen_names.c (people and addresses) and gen_write.c (the export
 * formats); internal: other modules use gen.h.
 *
 * Thread: the caller of af_gen_run; nothing here is shared.
 *
 * DESIGN: an event is a small fixed struct (who, when, from which network,
 * what, and a seed from which the writer re-derives the details: recipients,
 * subjects, sizes). Scenarios push events into one pending vector per output
 * file; after each simulated day the driver sorts the vectors by (time,
 * push order) and writes every event earlier than the earliest time the next
 * day can produce. Memory thus holds about two days of events, whatever
 * --days is, and the output is in event-time order.
 */
#ifndef AF_INGEST_GEN_IMPL_H
#define AF_INGEST_GEN_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/gen.h"

#define AF_GEN_DOMAIN "contoso.example"
#define AF_GEN_NS     1000000000LL
#define AF_GEN_MIN    (60 * AF_GEN_NS)
#define AF_GEN_HOUR   (3600 * AF_GEN_NS)
#define AF_GEN_DAY    (86400 * AF_GEN_NS)
/* No local time is further east of UTC than this: a day's events are never
 * earlier than its UTC midnight minus this much (the flush rule). */
#define AF_GEN_MAX_EAST (14 * AF_GEN_HOUR)

/* ---- PRNG: xoshiro256**, seeded through splitmix64 ---------------------- */

struct af_gen_rng {
	uint64_t s[4];
};

/* splitmix64's finaliser: a bijection of 64-bit values. */
uint64_t af_gen_mix(uint64_t x);

/* A generator for the stream named by (a, b, c, d): independent streams per
 * account and day, so one account's activity never shifts another's. */
void af_gen_rng_seed(struct af_gen_rng *r, uint64_t a, uint64_t b, uint64_t c, uint64_t d);
uint64_t af_gen_rng_u64(struct af_gen_rng *r);
/* Uniform in [0, n); 0 when n is 0. */
uint32_t af_gen_rng_below(struct af_gen_rng *r, uint32_t n);
/* Uniform in [lo, hi]. @pre lo <= hi. */
int64_t af_gen_rng_range(struct af_gen_rng *r, int64_t lo, int64_t hi);
/* True with probability per_mille / 1000. */
bool af_gen_rng_chance(struct af_gen_rng *r, uint32_t per_mille);

/* ---- places, networks ---------------------------------------------------- */

struct af_gen_place {
	const char *cc;   /* ISO 3166-1 alpha-2 */
	const char *city; /* UTF-8 */
	double lat, lon;
	int tz_min; /* fixed offset from UTC (no DST: August offsets) */
};

enum af_gen_net_kind {
	AF_GEN_NET_OFFICE,     /* an office's egress (NAT) */
	AF_GEN_NET_VPN,        /* the corporate VPN's egress in a country */
	AF_GEN_NET_HOME,       /* a residential ISP */
	AF_GEN_NET_MOBILE,     /* a mobile carrier (IPv4 or IPv6) */
	AF_GEN_NET_DATACENTER, /* the company's servers (the bulk mailers) */
	AF_GEN_NET_HOSTING,    /* a hosting provider an attacker rents from */
	AF_GEN_NET_ANONYMIZER, /* a commercial VPN / anonymizer */
	AF_GEN_NET_MAILHOST,   /* a partner's outbound mail servers */
	AF_GEN_NET_KIND_COUNT
};

struct af_gen_net {
	uint8_t addr[16]; /* IPv4 in the first 4 bytes */
	bool v6;
	uint8_t prefix; /* 24 (IPv4) or 48 (IPv6) */
	uint8_t kind;   /* enum af_gen_net_kind */
	bool hosting, anonymous, corporate;
	bool used; /* some written record comes from it */
	const struct af_gen_place *place;
	uint16_t radius_km;
	uint32_t asn;
	char as_org[48];
};

/* Longest address text (IPv6), with its NUL. */
#define AF_GEN_IP_MAX 48

/* The text of host `host` in net (IPv4: host is the last octet, 0 the
 * network; IPv6: the subnet and interface id are derived from host, 0 the
 * network), as af_ip_format writes it. Returns the length. */
size_t af_gen_ip_format(const struct af_gen_net *net, uint32_t host, char *buf);

/* ---- the organisation ---------------------------------------------------- */

enum af_gen_profile {
	AF_GEN_P_OFFICE,    /* at the office most days, home otherwise */
	AF_GEN_P_HYBRID,    /* home most days */
	AF_GEN_P_MOBILE,    /* office, plus a phone on the carrier's network */
	AF_GEN_P_VPN,       /* alternates between the office and the VPN */
	AF_GEN_P_TRAVELLER, /* office, and one flight to another office */
	AF_GEN_P_BULK,      /* a service account sending newsletters */
	AF_GEN_P_COUNT
};

/* Where an account's sign-ins are exported: Entra's sign-in log, or the
 * unified audit log's UserLoggedIn/UserLoginFailed. Each sign-in is written
 * once, in one form: both forms of one sign-in have different ids, so a
 * replay would count it twice. */
enum af_gen_form { AF_GEN_FORM_ENTRA, AF_GEN_FORM_UAL };

#define AF_GEN_HOME_NETS 4

struct af_gen_office {
	const struct af_gen_place *place;
	uint8_t group;   /* name list (language) */
	uint16_t weight; /* share of the accounts */
	uint16_t net_office, net_vpn, net_mobile4, net_mobile6;
	uint16_t net_home[AF_GEN_HOME_NETS]; /* two ISPs, two /24s each */
};

struct af_gen_account {
	char upn[64];
	char name[64]; /* display name, UTF-8 */
	uint8_t office;
	uint8_t profile;   /* enum af_gen_profile */
	uint8_t form;      /* enum af_gen_form */
	uint8_t device;    /* browser and phone user agents */
	bool pinned;       /* chosen by a scenario: keep office and profile */
	uint16_t home_net; /* index into the networks */
	uint8_t home_host;
	uint8_t office_pct;  /* chance of a day at the office */
	uint8_t evening_pct; /* chance of checking mail in the evening */
	uint16_t day_start;  /* local minutes after midnight */
	uint16_t day_end;
	uint16_t signins;    /* per working day */
	uint16_t sends;      /* per working day */
	int32_t trip_day;    /* day of departure; -1: no trip */
	uint8_t trip_len;    /* days away, departure to return */
	uint8_t trip_office; /* destination */
	int32_t trip_truth;  /* index of the trip's new_asn truth line; -1 */
	int64_t trip_arrival; /* first sign-in abroad (ns); set on departure day */
};

/* ---- events -------------------------------------------------------------- */

enum af_gen_type {
	AF_GEN_EV_SIGNIN,   /* Entra signIn, or UserLoggedIn/UserLoginFailed */
	AF_GEN_EV_SEND,     /* Send */
	AF_GEN_EV_ACCESS,   /* MailItemsAccessed */
	AF_GEN_EV_DELETE,   /* MoveToDeletedItems / SoftDelete / HardDelete */
	AF_GEN_EV_RULE,     /* New-InboxRule */
	AF_GEN_EV_FORWARD,  /* Set-Mailbox -ForwardingSmtpAddress */
	AF_GEN_EV_PASSWORD, /* Change user password. */
	AF_GEN_EV_TRACE,    /* one message: a trace row per recipient */
};

/* Sign-in applications (variant of AF_GEN_EV_SIGNIN). */
enum af_gen_app {
	AF_GEN_APP_OUTLOOK, /* Outlook desktop (Microsoft Office) */
	AF_GEN_APP_TEAMS,
	AF_GEN_APP_OWA,
	AF_GEN_APP_OFFICEHOME,
	AF_GEN_APP_SHAREPOINT,
	AF_GEN_APP_MOBILE,   /* Outlook Mobile */
	AF_GEN_APP_MAILER,   /* the bulk senders' mailing application */
	AF_GEN_APP_ATTACKER, /* a browser on the attacker's machine */
	AF_GEN_APP_ROPC,     /* a password-spray tool (legacy ROPC flow) */
	AF_GEN_APP_COUNT
};

/* Mail clients (client of SEND, ACCESS, DELETE, RULE, FORWARD). */
enum af_gen_client {
	AF_GEN_CL_OUTLOOK,
	AF_GEN_CL_OWA,
	AF_GEN_CL_MOBILE,
	AF_GEN_CL_MAILER,
	AF_GEN_CL_ATTACKER_REST,
	AF_GEN_CL_ATTACKER_OWA,
	AF_GEN_CL_COUNT
};

/* Recipients of SEND and TRACE (variant). */
enum af_gen_rcpt_mode {
	AF_GEN_RCPT_NORMAL,     /* colleagues and the sender's contacts */
	AF_GEN_RCPT_HARVEST,    /* harvested addresses, from index rseed */
	AF_GEN_RCPT_SUBSCRIBER, /* one subscriber of the newsletter */
	AF_GEN_RCPT_DROP,       /* the attacker's own test mailbox */
	AF_GEN_RCPT_INBOUND,    /* trace only: a contact writes to the account */
};

/* Variants of DELETE, RULE, PASSWORD. */
enum {
	AF_GEN_DEL_INBOX = 0,   /* MoveToDeletedItems from Inbox */
	AF_GEN_DEL_SOFT,        /* SoftDelete from Deleted Items */
	AF_GEN_DEL_SENT,        /* HardDelete from Sent Items */
	AF_GEN_RULE_BENIGN = 0, /* newsletters to a folder of their own */
	AF_GEN_RULE_HIDE,       /* replies to RSS Feeds, marked read */
	AF_GEN_RULE_BEC,        /* a partner's mail to RSS Feeds, marked read */
	AF_GEN_ACCESS_SYNC = 0,
	AF_GEN_ACCESS_BIND,
};

/* af_gen_ev.flags */
enum {
	AF_GEN_EVF_INTERACTIVE = 1u << 0, /* sign-in */
	AF_GEN_EVF_NO_SAVE = 1u << 1,     /* send: SaveToSentItems false */
	AF_GEN_EVF_SELF_NAME = 1u << 2,   /* send: every recipient named as the sender */
	AF_GEN_EVF_PORT = 1u << 3,        /* the client address carries a port */
};

struct af_gen_ev {
	int64_t ts;       /* ns since the epoch, UTC */
	uint64_t seq;     /* push order: ties in time keep it */
	uint64_t rseed;   /* details (recipients, subjects, sizes) */
	uint32_t account; /* index; >= the account count: a sprayed name that
	                     does not exist (AF_GEN_EV_SIGNIN only) */
	int32_t code;     /* sign-in error (AADSTS); 0 success */
	uint32_t host;    /* within net */
	uint16_t net;
	uint16_t nrcpt;  /* recipients asked for (SEND, TRACE) */
	uint8_t type;    /* enum af_gen_type */
	uint8_t variant; /* app, recipient mode, or as above */
	uint8_t client;  /* enum af_gen_client */
	uint8_t flags;   /* AF_GEN_EVF_* */
};

enum af_gen_file { AF_GEN_OUT_SIGNINS, AF_GEN_OUT_AUDIT, AF_GEN_OUT_TRACE, AF_GEN_OUT_COUNT };

struct af_gen_vec {
	struct af_gen_ev *v;
	size_t n, cap;
};

/* One line of truth.jsonl. */
struct af_gen_truth {
	const char *rule;
	uint32_t account; /* UINT32_MAX: none (per-address rule) */
	uint16_t net;     /* the address, for per-address rules */
	uint32_t host;
	bool has_address;
	int64_t from, to;
	char note[200];
};

/* A scenario's attack plan, filled by af_gen_scenario_plan. */
struct af_gen_attack {
	int32_t day; /* -1: none */
	uint32_t victim;
	uint16_t net; /* the attacker's network */
	uint32_t host;
};

struct af_gen_writer;

struct af_gen {
	struct af_gen_opts opts;
	int64_t base_day;      /* days since the epoch of day 0's date */
	int64_t start, end;    /* records outside [start, end) are not written */
	int32_t first_workday; /* first Monday-to-Friday day; -1 none */

	struct af_gen_office *offices;
	size_t n_offices;
	struct af_gen_net *nets;
	size_t n_nets, cap_nets;
	uint16_t net_datacenter;
	uint16_t net_attacker;   /* US hosting (seed-incident) */
	uint16_t net_anonymizer; /* password-spray */
	uint16_t net_bec;        /* bec-inbox-rule */
	uint16_t net_forward;    /* forwarding */
	uint16_t *net_partner;   /* per partner domain: its mail servers */

	struct af_gen_account *acct;
	uint32_t n_acct;
	uint32_t n_ghosts; /* sprayed names that do not exist */

	struct af_gen_vec pend[AF_GEN_OUT_COUNT];
	uint64_t seq;
	int64_t flushed_to; /* every event before this is written */
	bool nomem;

	struct af_gen_truth *truth;
	size_t n_truth, cap_truth;
	struct af_gen_attack atk;

	struct af_gen_writer *out;
};

/* Local midnight of day d in a zone tz_min east of UTC, in ns. */
static inline int64_t af_gen_midnight(const struct af_gen *g, int64_t d, int tz_min)
{
	return (g->base_day + d) * AF_GEN_DAY - (int64_t)tz_min * AF_GEN_MIN;
}

/* Append ev to the pending events of file f (seq is set here, and the time
 * cut to the file's resolution: seconds, milliseconds for message trace).
 * @pre ev->ts >= g->flushed_to (see the DESIGN note above). */
void af_gen_push(struct af_gen *g, enum af_gen_file f, struct af_gen_ev *ev);

/* Append a truth line; returns its index, or -1 when out of memory. */
int32_t af_gen_truth_add(struct af_gen *g, const char *rule, uint32_t account, int64_t from,
                         int64_t to, const char *note);

/* ---- names (gen_names.c) --------------------------------------------- */

/* Number of name lists (languages) offices draw from. */
#define AF_GEN_NAME_GROUPS 6

/* Fill a->upn and a->name for the k-th account of name list group (k
 * counted per group: distinct k give distinct addresses). */
void af_gen_name_person(struct af_gen_account *a, unsigned group, uint32_t k);
/* The b-th bulk sender's address and name. */
void af_gen_name_bulk(struct af_gen_account *a, uint32_t b);
/* The k-th name a spray tries that is no account. */
void af_gen_name_ghost(uint32_t k, char *upn, size_t size);

struct af_gen_rcpt {
	char addr[96];
	char name[80];
};

/* Recipients of a SEND or TRACE event (the same for both, from
 * ev->rseed), at most max. Returns how many. */
size_t af_gen_recipients(const struct af_gen *g, const struct af_gen_ev *ev,
                         struct af_gen_rcpt *out, size_t max);
/* The external contact that writes an inbound message (AF_GEN_RCPT_INBOUND). */
void af_gen_inbound_sender(const struct af_gen *g, const struct af_gen_ev *ev,
                           struct af_gen_rcpt *out);
/* Contacts each account writes to and hears from. */
#define AF_GEN_CONTACTS 40

/* Partner domain of contact k of account a; the index for g->net_partner. */
uint32_t af_gen_contact_domain(uint32_t a, uint32_t k);
/* Number of partner domains. */
extern const uint32_t af_gen_partner_count;
extern const char *const af_gen_partner_domains[];

/* ---- scenarios (gen_scenarios.c) ----------------------------------------- */

/* Choose the attack's day and accounts; may pin accounts to an office and
 * profile before their details are drawn. Called once, after the offices,
 * networks and profiles exist. */
void af_gen_scenario_plan(struct af_gen *g);
/* One account's day of ordinary work. */
void af_gen_baseline_day(struct af_gen *g, uint32_t a, uint32_t day);
/* The scenario's events of day `day` (nothing on other days). */
void af_gen_scenario_day(struct af_gen *g, uint32_t day);

/* ---- output (gen_write.c) ------------------------------------------------ */

/* Open the three record files in dir. */
af_err_t af_gen_writer_open(struct af_gen *g, const char *dir, char *errstr, size_t errstr_size);
/* Write one event of file f (several lines for a trace message). */
af_err_t af_gen_writer_put(struct af_gen *g, enum af_gen_file f, const struct af_gen_ev *ev);
/* Close the record files; then, with dir non-NULL and nothing failed,
 * write truth.jsonl and networks.jsonl into dir. Fills *st, frees the
 * writer and returns the first failure (errstr names the file). With dir
 * NULL (after a failure elsewhere) the record files are just closed. */
af_err_t af_gen_writer_close(struct af_gen *g, const char *dir, struct af_gen_stats *st,
                             char *errstr, size_t errstr_size);

#endif
