/* config_table.c - every configuration key of auditflow, one row each.
 *
 * Thread: static data, read by the main thread at start-up.
 * In/out: nothing; pipeline/config*.c read these rows to parse the YAML file
 * and the command line, validate, print --help and dump the configuration.
 *
 * To add a key: a member in the section's struct (pipeline/config.h) and a
 * row here. To add a section: a struct, a member of struct af_config, a row
 * array and one line in sections[]. Options follow DESIGN.md's command line.
 */
#include <stddef.h>

#include "pipeline/config.h"
#include "pipeline/kafka_conf.h"
#include "pipeline/log.h"

#define STREAM_CMDS (AF_CMD_REPLAY | AF_CMD_RUN)

static const struct af_config_key input_keys[] = {
    {
        AF_CONFIG_DURATION(input.reorder_window),
        .def = "10m",
        .opt = "reorder-window",
        .commands = STREAM_CMDS,
        .metavar = "DURATION",
        .help = "how long (event time) events wait to be put in order; older arrivals are late",
    },
    {
        AF_CONFIG_SIZE(input.max_record_bytes),
        .def = "1MiB",
        .min = "1KiB",
        .max = "256MiB",
        .opt = "max-record-bytes",
        .commands = STREAM_CMDS,
        .metavar = "SIZE",
        .help = "records longer than this are dead-lettered as oversize",
    },
    {
        AF_CONFIG_DURATION(input.dedup_retention),
        .def = "24h",
        .help = "how long a record id is remembered to drop duplicates",
    },
    {
        AF_CONFIG_UINT(input.dedup_max_entries),
        .def = "4194304",
        .min = "1024",
        .max = "1073741824",
        .help = "most record ids remembered; the oldest are forgotten first",
    },
};

static const char *const output_formats[] = {"native", "ocsf", "ecs", "table", NULL};

static const struct af_config_key output_keys[] = {
    {
        AF_CONFIG_STRING(output.alerts),
        .def = "-",
        .opt_short = 'o',
        .commands = STREAM_CMDS,
        .metavar = "FILE",
        .help = "where alerts are written, one JSON line each; \"-\" is stdout",
    },
    {
        AF_CONFIG_ENUM(output.format),
        .def = "native",
        .choices = output_formats,
        .opt = "format",
        .commands = STREAM_CMDS,
        .help = "alert schema: auditflow's own, OCSF or Elastic Common Schema; or table, "
                "columns for a person (network outputs then get auditflow's own)",
    },
    {
        AF_CONFIG_STRING(output.events),
        .opt = "events-out",
        .commands = STREAM_CMDS,
        .metavar = "FILE",
        .help = "also write every normalized event here (ECS JSON lines)",
    },
    {
        AF_CONFIG_STRING(output.dlq),
        .opt = "dlq",
        .commands = STREAM_CMDS,
        .metavar = "FILE",
        .help = "write unusable records here with their reason and position",
    },
    {
        AF_CONFIG_STRING(output.summary),
        .opt = "summary",
        .commands = STREAM_CMDS,
        .metavar = "FILE",
        .help = "write the run's counts here as one JSON object at exit",
    },
    {
        AF_CONFIG_SIZE(output.dlq_raw_max),
        .def = "4KiB",
        .min = "0",
        .max = "1MiB",
        .help = "bytes of a bad record copied into its dead letter",
    },
    /* Rotation happens in the file writer (sinks/jsonw.c), after the line
     * that passes the size, so every file holds whole lines. */
    {
        AF_CONFIG_SIZE(output.rotate_bytes),
        .def = "0",
        .min = "0",
        .max = "1TiB",
        .help = "a file output (alerts, events, dead letters; never stdout) that reaches this "
                "size is renamed FILE.1 after the line that did it and started afresh; 0 = never",
    },
    {
        AF_CONFIG_UINT(output.rotate_keep),
        .def = "5",
        .min = "1",
        .max = "1000",
        .help = "rotated files kept, FILE.1 (newest) to FILE.N; the oldest is removed",
    },
};

#define GEO_FIELD(m, what)                                                                         \
	{                                                                                          \
		AF_CONFIG_STRING(geo.fields.m),                                                    \
		    .metavar = "PATH",                                                             \
		    .help = "path of the " what " in the database's records (default: detected)",  \
	}

static const struct af_config_key geo_keys[] = {
    {
        AF_CONFIG_STRING(geo.city),
        .opt = "geo-city",
        .commands = STREAM_CMDS | AF_CMD_BENCH,
        .metavar = "MMDB",
        .help = "City or Country database (GeoIP2, GeoLite2 or a flat layout)",
    },
    {
        AF_CONFIG_STRING(geo.asn),
        .opt = "geo-asn",
        .commands = STREAM_CMDS | AF_CMD_BENCH,
        .metavar = "MMDB",
        .help = "ASN database (GeoLite2/GeoIP2 ASN or a flat layout)",
    },
    {
        AF_CONFIG_STRING(geo.anon),
        .opt = "geo-anon",
        .commands = STREAM_CMDS | AF_CMD_BENCH,
        .metavar = "MMDB",
        .help = "Anonymous-IP database (VPN, hosting, proxy, Tor flags)",
    },
    {
        AF_CONFIG_STRING(geo.corporate_networks),
        .metavar = "FILE",
        .help = "file of corporate egress networks (CIDR per line): marked corporate",
    },
    {
        AF_CONFIG_STRING(geo.hosting_asns),
        .metavar = "FILE",
        .help = "file of known VPN/hosting ASNs (one per line): marked hosting",
    },
    {
        AF_CONFIG_DURATION(geo.reload_interval),
        .def = "60s",
        .help = "how often database files are checked for replacement; 0 = never",
    },
    {
        AF_CONFIG_UINT(geo.cache_entries),
        .def = "65536",
        .min = "16",
        .max = "16777216",
        .help = "entries of each per-thread geo cache (by address, by record)",
    },
    GEO_FIELD(country, "ISO country code"),
    GEO_FIELD(city, "city name"),
    GEO_FIELD(latitude, "latitude"),
    GEO_FIELD(longitude, "longitude"),
    GEO_FIELD(accuracy_radius, "accuracy radius (km)"),
    GEO_FIELD(asn, "autonomous system number"),
    GEO_FIELD(as_org, "autonomous system organization"),
    GEO_FIELD(anonymous, "anonymizer flag"),
    GEO_FIELD(vpn, "VPN flag"),
    GEO_FIELD(hosting, "hosting-provider flag"),
    GEO_FIELD(proxy, "public-proxy flag"),
    GEO_FIELD(tor, "Tor exit flag"),
};

static const struct af_config_key runtime_keys[] = {
    {
        AF_CONFIG_UINT(runtime.threads),
        .def = "0",
        .min = "0",
        .max = "1024",
        .opt_short = 'j',
        .commands = STREAM_CMDS | AF_CMD_BENCH,
        .metavar = "THREADS",
        .help = "worker threads; 0 = one per online CPU",
    },
    {
        /* 256 records of ~1 KiB: a quarter of a MiB per hand-over, so the
         * per-batch costs (ring hand-offs, a marker per shard, an epoch
         * section) are spread over enough records to vanish, while a
         * batch still fits in L2 while a worker parses it. */
        AF_CONFIG_UINT(runtime.batch_records),
        .def = "256",
        .min = "1",
        .max = "65536",
        .opt = "batch-size",
        .commands = STREAM_CMDS | AF_CMD_BENCH,
        .metavar = "RECORDS",
        .help = "records the source hands to a worker at once",
    },
};

/* Replay-only: pacing and a progress line mean nothing to a Kafka consumer. */
static const struct af_config_key replay_keys[] = {
    {
        AF_CONFIG_BOOL(replay.progress),
        .def = "true",
        .opt = "progress",
        .commands = AF_CMD_REPLAY,
        .help = "show a progress line on stderr",
    },
    {
        AF_CONFIG_DOUBLE(replay.speed),
        .def = "0",
        .min = "0",
        .max = "1e6",
        .opt = "speed",
        .commands = AF_CMD_REPLAY,
        .metavar = "X",
        .help = "replay at X times the events' own pace; 0 = as fast as possible",
    },
};

/* rules: pipeline/rules/. Every default below says why it is what it is;
 * the published rules it is weighed against are Microsoft Sentinel's
 * analytics (Azure/Azure-Sentinel), Elastic's detection-rules, Entra ID
 * Protection's risk detections and Defender for Cloud Apps' anomaly
 * policies. A rule's suppression of 0 means rules.suppression. */
static const char *const severities[] = {"low", "medium", "high", "critical", NULL};

#define RULE_ENABLED(r)                                                                            \
	{                                                                                          \
		AF_CONFIG_BOOL(rules.r.enabled),                                                   \
		    .def = "true",                                                                 \
		    .help = "run " #r " (false: it never alerts and keeps no counts)",             \
	}
#define RULE_SEVERITY(r, d)                                                                        \
	{                                                                                          \
		AF_CONFIG_ENUM(rules.r.severity), .def = d, .choices = severities,                 \
		                                  .help = "severity of " #r " alerts",             \
	}
#define RULE_SUPPRESSION(r)                                                                        \
	{                                                                                          \
		AF_CONFIG_DURATION(rules.r.suppression),                                           \
		    .def = "0", .min = "0", .max = "365d",                                         \
		    .help = "no second " #r " alert for the same subject within this; 0 = "        \
		            "rules.suppression",                                                   \
	}

static const struct af_config_key rules_keys[] = {
    /* 90 days: a quarter holds the rhythm of most working lives (the
     * monthly visit to another office, the holiday abroad) so those stay
     * familiar, while a country last seen a year ago is news again.
     * Sentinel's "Authentication Attempt from New Country" looks back only
     * 14 days, which re-alerts on every traveller who goes monthly. */
    {
        AF_CONFIG_DURATION(rules.history),
        .def = "90d",
        .min = "1d",
        .max = "3650d",
        .help = "countries, ASNs and networks not seen for this long are forgotten",
    },
    /* A week covers one whole working cycle (office days, home days, a
     * weekend on the phone), and it is the initial learning period Defender
     * for Cloud Apps gives its anomaly policies. Both must hold: a busy
     * account reaches ten sign-ins in its first morning, long before its
     * evening at home or its weekend on the phone has been seen (ending the
     * learning there raised a new_asn for most accounts on their first
     * evening), and an account that signs in twice a week has not shown
     * its habits after seven days. */
    {
        AF_CONFIG_UINT(rules.learning_days),
        .def = "7",
        .min = "0",
        .max = "365",
        .help = "rules that compare with history stay quiet for an account for this many days...",
    },
    {
        AF_CONFIG_UINT(rules.learning_signins),
        .def = "10",
        .min = "0",
        .max = "1000000",
        .help = "...and until it has this many successful sign-ins",
    },
    /* A day: an analyst works an incident within a working day, and a
     * second alert of the same kind for the same account inside it adds no
     * information; counts keep running, so the next alert after it says
     * how far things went. */
    {
        AF_CONFIG_DURATION(rules.suppression),
        .def = "24h",
        .min = "0",
        .max = "365d",
        .help = "default: no second alert of a rule for the same account (or address) within this",
    },
    /* Entra ID reports these as failed sign-ins, but each is an interrupt
     * or a step after the password, not a wrong password, so none is
     * evidence of guessing (Sentinel's sign-in failure rules drop them too):
     *   50140 "Keep me signed in" prompt shown (KmsiInterrupt);
     *   50074 MFA required after a correct password (strong auth interrupt);
     *   50076 MFA required by location or policy, also on token refresh;
     *   70043 refresh token expired under a sign-in frequency policy: no
     *         password was typed at all;
     *   50097 device authentication required;
     *   50125 interrupted for password-reset registration;
     *   50158 an external security challenge (third-party MFA) pending;
     *   50072 the user must enrol in MFA first;
     *   16000 the user must choose among several signed-in accounts.
     * 50126 (invalid user name or password), 50053 (locked) and the like
     * stay failures. */
    {
        AF_CONFIG_STRING(rules.benign_codes),
        .def = "50140,50074,50076,70043,50097,50125,50158,50072,16000",
        .metavar = "CODES",
        .help = "sign-in error codes that are not failed passwords (comma-separated)",
    },

    /* new_country: high, as Entra ID Protection's "new country" detection is
     * rated in SigmaHQ's rule for it: after the learning period an account
     * signing in from a country it has not used for 90 days is the first
     * sign of a leaked password (DESIGN.md's incident), and travellers are
     * few enough to triage. Sentinel rates its 14-day variant medium. */
    RULE_ENABLED(new_country),
    RULE_SEVERITY(new_country, "high"),
    RULE_SUPPRESSION(new_country),

    /* new_asn: low on its own, since people change networks all the time
     * (a new home ISP, a hotel, a phone abroad); high when the network is a
     * hosting provider, VPN, proxy, Tor exit or anonymizer (or on the
     * configured hosting ASN list), the way attackers with a leaked
     * password usually arrive; Entra ID Protection treats anonymous IPs as
     * a risk of their own. */
    RULE_ENABLED(new_asn),
    RULE_SEVERITY(new_asn, "low"),
    {
        AF_CONFIG_ENUM(rules.new_asn.severity_risky),
        .def = "high",
        .choices = severities,
        .help = "severity when the new ASN is hosting, VPN, proxy, Tor or anonymous",
    },
    RULE_SUPPRESSION(new_asn),

    /* impossible_travel: high, as Entra's impossibleTravel is rated in
     * SigmaHQ: what is left after familiar locations, imprecise locations
     * and anonymizers are taken out is rarely benign. */
    RULE_ENABLED(impossible_travel),
    RULE_SEVERITY(impossible_travel, "high"),
    RULE_SUPPRESSION(impossible_travel),
    /* Airliners cruise at 800-950 km/h and every trip adds airports and
     * roads, so no person covers ground faster than about 1000 km/h door to
     * door; published rules use 800-1000 km/h. Speed is computed on the
     * distance left after subtracting both accuracy radii, so the margin is
     * already generous. */
    {
        AF_CONFIG_DOUBLE(rules.impossible_travel.max_kmh),
        .def = "1000",
        .min = "1",
        .max = "1e6",
        .help = "sign-ins whose distance beyond the accuracy radii needs more than this km/h alert",
    },
    /* Below 500 km, neighbouring cities, mobile gateways and geolocation
     * error dominate: a jump from one city to the next in minutes is
     * normal for a phone. */
    {
        AF_CONFIG_DOUBLE(rules.impossible_travel.min_km),
        .def = "500",
        .min = "0",
        .max = "20100",
        .help = "...and only when they are at least this far apart beyond the radii",
    },
    /* MaxMind's accuracy radius is where the address lies with about 67%
     * confidence; beyond 200 km it is a region or a country centroid, and
     * a distance from it proves nothing. */
    {
        AF_CONFIG_UINT(rules.impossible_travel.max_radius_km),
        .def = "200",
        .min = "1",
        .max = "20000",
        .help = "a location with a larger accuracy radius is too imprecise for a distance",
    },
    /* Anonymizers (VPN, proxy, Tor, anonymous) never give a distance: their
     * location is the exit's, not the person's. A hosting address is where
     * it says (a data centre) and a session from a rented server across the
     * world an hour after one from home is DESIGN.md's incident itself (its
     * attacker is a US hosting address, flagged anonymous as MaxMind flags
     * every hosting range), so hosting still counts by default; a user's own
     * cloud VM or proxy becomes familiar after its first use. */
    {
        AF_CONFIG_BOOL(rules.impossible_travel.skip_hosting),
        .def = "false",
        .help = "treat hosting addresses like anonymizers: no distance, no alert",
    },

    /* signin_fail_burst: 10 failures in 10 minutes is the brute-force
     * threshold Sentinel and Elastic publish; medium, because a phone with
     * an old password produces the same burst, though after a takeover it
     * is the attacker locked out. */
    RULE_ENABLED(signin_fail_burst),
    RULE_SEVERITY(signin_fail_burst, "medium"),
    RULE_SUPPRESSION(signin_fail_burst),
    {
        AF_CONFIG_UINT(rules.signin_fail_burst.threshold),
        .def = "10",
        .min = "1",
        .max = "65535",
        .help = "failed sign-ins of one account (benign codes excluded) that raise an alert...",
    },
    {
        AF_CONFIG_DURATION(rules.signin_fail_burst.window),
        .def = "10m",
        .min = "1m",
        .max = "24h",
        .help = "...within this window (10 buckets of a tenth of it)",
    },

    /* password_spray: 5 distinct accounts failing from one address in 20
     * minutes; sprays stay under per-account lockout by trying each
     * account rarely, so the signal is breadth, not depth (Sentinel's Okta
     * rule uses 15 accounts in 5 minutes, Elastic's M365 rule 25 failures
     * in 30 minutes; 5 in 20 catches a slow spray early). High: one
     * address failing against many accounts has no benign reading outside
     * the organisation's own networks. */
    RULE_ENABLED(password_spray),
    RULE_SEVERITY(password_spray, "high"),
    RULE_SUPPRESSION(password_spray),
    {
        AF_CONFIG_UINT(rules.password_spray.threshold),
        .def = "5",
        .min = "2",
        .max = "1000000",
        .help = "distinct accounts failing sign-in from one address that raise an alert...",
    },
    {
        AF_CONFIG_DURATION(rules.password_spray.window),
        .def = "20m",
        .min = "1m",
        .max = "24h",
        .help = "...within this window (counted over one to two windows: may fire early)",
    },
    /* An office's egress NATs hundreds of people, and five of them
     * mistyping a password in twenty minutes is an ordinary Monday. */
    {
        AF_CONFIG_BOOL(rules.password_spray.skip_corporate),
        .def = "true",
        .help = "no spray alert for corporate egress networks or internal addresses",
    },

    /* mail_send_burst: the incident's 300 phishing mails went out as 30
     * Send operations of 10 recipients within 10 minutes. 20 sends in 10
     * minutes is two a minute, sustained: faster than anyone writes or
     * answers mail by hand, trivial for a script (Defender for Office
     * 365's outbound limits are per day and per hour, set for containment,
     * not detection; Sentinel's mail surge hunting uses a per-user
     * baseline). An account's own hourly baseline, once it has a day of
     * hours, raises the bar to mean + 4 sigma of a whole hour's sends, so
     * a ticket system or a mailing-list owner is judged against itself.
     * Medium: bulk mail has benign readings (a newsletter, a greeting). */
    RULE_ENABLED(mail_send_burst),
    RULE_SEVERITY(mail_send_burst, "medium"),
    RULE_SUPPRESSION(mail_send_burst),
    {
        AF_CONFIG_DURATION(rules.mail_send_burst.window),
        .def = "10m",
        .min = "1m",
        .max = "1h",
        .help = "sends (audit Send events) of one account counted within this window...",
    },
    {
        AF_CONFIG_UINT(rules.mail_send_burst.floor),
        .def = "20",
        .min = "1",
        .max = "1000000",
        .help = "...alert at this many, or more when the account's baseline is higher",
    },
    {
        AF_CONFIG_DOUBLE(rules.mail_send_burst.k),
        .def = "4",
        .min = "0",
        .max = "100",
        .help = "...or above a whole hour's baseline mean by this many standard deviations",
    },
    {
        AF_CONFIG_UINT(rules.mail_send_burst.min_hours),
        .def = "24",
        .min = "1",
        .max = "65535",
        .help = "hours of baseline before it may raise the bar above the floor",
    },

    /* mass_recipients: 100 distinct recipients in an hour; a person's own
     * mail reaches a few dozen people on a busy day, and the incident's
     * 300 harvested addresses were 300 distinct recipients. Medium, as a
     * large announcement is a benign reading. */
    RULE_ENABLED(mass_recipients),
    RULE_SEVERITY(mass_recipients, "medium"),
    RULE_SUPPRESSION(mass_recipients),
    {
        AF_CONFIG_UINT(rules.mass_recipients.threshold),
        .def = "100",
        .min = "2",
        .max = "1000000",
        .help = "distinct recipients of one account (message trace) that raise an alert...",
    },
    {
        AF_CONFIG_DURATION(rules.mass_recipients.window),
        .def = "1h",
        .min = "1m",
        .max = "24h",
        .help = "...within this window (counted over one to two windows: may fire early)",
    },
    /* A mailing-list owner or a notification service reaches hundreds of
     * distinct people every working hour, every week: its bar is its own
     * busiest window (decaying, so a retired campaign does not hide a
     * later abuse forever) times three, since the count spans up to two
     * windows and a campaign has good and bad hours. A week's half-life
     * carries the peak over a weekend and a holiday; a person whose
     * busiest hour is 20 recipients keeps the fixed threshold. */
    {
        AF_CONFIG_DOUBLE(rules.mass_recipients.peak_factor),
        .def = "3",
        .min = "0",
        .max = "1000",
        .help = "...or this many times the account's busiest window (0: the threshold alone)",
    },
    {
        AF_CONFIG_DURATION(rules.mass_recipients.peak_half_life),
        .def = "7d",
        .min = "1h",
        .max = "365d",
        .help = "the busiest window's count halves over this much event time",
    },

    /* sent_items_bypass: Outlook and OWA save what they send; a send that
     * skips Sent Items comes from a script: SMTP AUTH, EWS or Graph called
     * directly (ClientInfoString "Client=REST" is Graph/REST), the way the
     * incident's mails left no copy. Microsoft's own guidance on
     * compromised accounts lists exactly these clients. High: a person
     * does not choose to leave no copy. */
    RULE_ENABLED(sent_items_bypass),
    RULE_SEVERITY(sent_items_bypass, "high"),
    RULE_SUPPRESSION(sent_items_bypass),
    {
        AF_CONFIG_STRING(rules.sent_items_bypass.clients),
        .def = "Client=REST,SMTP,EWS,Graph",
        .metavar = "WORDS",
        .help = "client words (in ClientInfoString, case-insensitive) of SMTP/API senders",
    },

    /* inbox_rule_tamper: a rule that deletes, hides or forwards mail is how
     * an attacker keeps the victim from seeing replies and bounces
     * (Sentinel's "Malicious Inbox Rule", Elastic's M365 inbox rule
     * rules). Medium: people file mail away too; forwarding outside is
     * rated by mailbox_forwarding's reasoning below. */
    RULE_ENABLED(inbox_rule_tamper),
    RULE_SEVERITY(inbox_rule_tamper, "medium"),
    RULE_SUPPRESSION(inbox_rule_tamper),

    /* mailbox_forwarding: all mail of the account to another domain is
     * data theft until shown otherwise (Sentinel and Elastic rate their
     * external forwarding rules high; internal forwarding is delegation). */
    RULE_ENABLED(mailbox_forwarding),
    RULE_SEVERITY(mailbox_forwarding, "high"),
    RULE_SUPPRESSION(mailbox_forwarding),

    /* sender_name_spoof: the incident's mails carried the sender's own name
     * as every recipient's name. 5 recipients sharing one display name in
     * one send is no mailing list (which has one address) and no reply-all
     * (whose recipients have their own names). High. */
    RULE_ENABLED(sender_name_spoof),
    RULE_SEVERITY(sender_name_spoof, "high"),
    RULE_SUPPRESSION(sender_name_spoof),
    {
        AF_CONFIG_UINT(rules.sender_name_spoof.min_recipients),
        .def = "5",
        .min = "2",
        .max = "1000000",
        .help = "recipients of one send sharing one display name that raise an alert",
    },

    /* account_takeover: the chain DESIGN.md's incident is about: an
     * anomalous sign-in and within a day (one working day of an attacker
     * using the session) a mail alert on the same account. Critical: each
     * half alone has benign readings, both together rarely. */
    RULE_ENABLED(account_takeover),
    RULE_SEVERITY(account_takeover, "critical"),
    RULE_SUPPRESSION(account_takeover),
    {
        AF_CONFIG_DURATION(rules.account_takeover.window),
        .def = "24h",
        .min = "1m",
        .max = "30d",
        .help = "a mail alert this long after an anomalous sign-in completes the chain",
    },
};

#define SECTION(name, rows)                                                                        \
	{                                                                                          \
		name, rows, sizeof(rows) / sizeof((rows)[0])                                       \
	}

/* Memory is bounded by these caps, not by the input: an account costs about
 * 1 KiB with its key and index (struct af_account is held to 512 hot bytes),
 * an address about 0.4 KiB. idle defaults to the familiarity history: an
 * account dropped sooner would come back with no history and raise
 * new_country for its usual country. */
static const struct af_config_key state_keys[] = {
    {
        AF_CONFIG_UINT(state.max_accounts),
        .def = "1000000",
        .min = "16",
        .max = "1000000000",
        .help = "accounts whose state is kept; past it the longest idle is evicted",
    },
    {
        AF_CONFIG_UINT(state.max_addresses),
        .def = "1000000",
        .min = "16",
        .max = "1000000000",
        .help = "source addresses whose state is kept (password spray)",
    },
    {
        AF_CONFIG_DURATION(state.idle),
        .def = "90d",
        .help = "state not seen for this long (event time) is dropped",
    },
    {
        AF_CONFIG_UINT(state.hll_blocks),
        .def = "16384",
        .min = "0",
        .max = "16777216",
        .help = "1 KiB HyperLogLog blocks for large distinct counts, shared per shard",
    },
    {
        AF_CONFIG_STRING(state.dir),
        .opt = "state-dir",
        .commands = STREAM_CMDS,
        .metavar = "DIR",
        .help = "keep checkpoints in DIR and resume from the last one after a crash or stop",
    },
    {
        /* Work redone after a crash is at most this much of the run; each
         * checkpoint writes every shard's state, so far below a second it
         * costs more than it saves. */
        AF_CONFIG_DURATION(state.checkpoint_interval),
        .def = "30s",
        .opt = "checkpoint-interval",
        .commands = STREAM_CMDS,
        .metavar = "DURATION",
        .help = "time between checkpoints (with --state-dir); 0 = only at a stop",
    },
    {
        AF_CONFIG_BOOL(state.fresh),
        .def = "false",
        .opt = "fresh",
        .commands = STREAM_CMDS,
        .help = "start over: remove the checkpoint in --state-dir instead of resuming",
    },
};

static const struct af_config_key kafka_keys[] = {
    {
        AF_CONFIG_STRING(kafka.brokers),
        .opt_short = 'b',
        .commands = AF_CMD_RUN,
        .metavar = "BROKERS",
        .help = "Kafka bootstrap servers, host:port[,host:port...] (kcat's -b)",
    },
    {
        AF_CONFIG_STRLIST(kafka.topics),
        .opt_short = 't',
        .commands = AF_CMD_RUN,
        .metavar = "TOPIC",
        .help = "topic to consume, repeatable; ^ starts a regular expression",
    },
    {
        AF_CONFIG_STRING(kafka.group),
        .def = "auditflow",
        .opt_short = 'G',
        .commands = AF_CMD_RUN,
        .metavar = "GROUP",
        .help = "consumer group; partitions are shared among its members",
    },
    {
        AF_CONFIG_STRING(kafka.offset),
        .def = "stored",
        .opt = "offset",
        .commands = AF_CMD_RUN,
        .metavar = "WHERE",
        .help = "where a partition starts the first time this run gets it: beginning, end, "
                "stored (the group's, else the earliest), N, -N (N from the end), s@MS (a time)",
    },
    {
        AF_CONFIG_BOOL(kafka.exit_at_end),
        .def = "false",
        .opt_short = 'e',
        .commands = AF_CMD_RUN,
        .help = "exit once every assigned partition has been read to its end",
    },
    {
        AF_CONFIG_STRLIST(kafka.props),
        .opt_short = 'X',
        .commands = AF_CMD_RUN,
        .metavar = "KEY=VALUE",
        .help = "librdkafka setting for the consumer and producers, repeatable "
                "(security.protocol, sasl.*, ssl.*, ...); values of keys holding password, "
                "secret, ssl.key or sasl.oauthbearer.config are secrets (never shown)",
        .secret_entry = af_kafka_conf_is_secret,
    },
    {
        /* Each partition is an input of the event-time merge; 256 covers
         * the topics an audit pipeline uses, at 1 KiB of state each. */
        AF_CONFIG_UINT(kafka.max_partitions),
        .def = "256",
        .min = "1",
        .max = "65536",
        .help = "most partitions one run can be assigned over its life",
    },
    {
        AF_CONFIG_STRING(kafka.alerts_topic),
        .opt = "alerts-topic",
        .commands = AF_CMD_RUN,
        .metavar = "TOPIC",
        .help = "also send alerts to this Kafka topic (key: the account)",
    },
    {
        AF_CONFIG_STRING(kafka.dlq_topic),
        .opt = "dlq-topic",
        .commands = AF_CMD_RUN,
        .metavar = "TOPIC",
        .help = "also send dead letters to this Kafka topic",
    },
    {
        AF_CONFIG_STRING(kafka.events_topic),
        .opt = "events-topic",
        .commands = AF_CMD_RUN,
        .metavar = "TOPIC",
        .help = "send every enriched event (ECS JSON) to this Kafka topic",
    },
};

/* http: one HTTP output for `auditflow run` (sinks/http.h). Secrets have
 * no command-line option: argv is visible to every user of the machine;
 * the file takes them as ${NAME} from the environment. */
static const char *const http_kinds[] = {"none", "hec", "es", "webhook", NULL};

#define HTTP_SECRET(m, what)                                                                       \
	{                                                                                          \
		AF_CONFIG_STRING(http.m), .metavar = "SECRET", .secret = true, .help = what,       \
	}

static const struct af_config_key http_keys[] = {
    {
        AF_CONFIG_ENUM(http.kind),
        .def = "none",
        .choices = http_kinds,
        .help = "auditflow run sends alerts over HTTP: hec (Splunk HTTP Event Collector), es "
                "(Elasticsearch/OpenSearch _bulk), webhook (a JSON array per request); none = no "
                "HTTP output",
    },
    {
        AF_CONFIG_STRING(http.url),
        .opt = "http-url",
        .commands = AF_CMD_RUN,
        .metavar = "URL",
        .help = "http(s) URL: the HEC server (path /services/collector/event added), the ES "
                "server or index (/_bulk added), or the webhook as given",
    },
    HTTP_SECRET(token, "Splunk HEC token (hec: required)"),
    {
        AF_CONFIG_STRING(http.username),
        .metavar = "NAME",
        .help = "user for HTTP basic authentication, with http.password",
    },
    HTTP_SECRET(password, "password for HTTP basic authentication"),
    HTTP_SECRET(bearer_token, "token sent as Authorization: Bearer"),
    HTTP_SECRET(api_key, "Elasticsearch API key, sent as Authorization: ApiKey"),
    {
        AF_CONFIG_STRING(http.index),
        .metavar = "INDEX",
        .help = "es: the index (else the URL names it); hec: the index events go to",
    },
    {
        AF_CONFIG_STRING(http.sourcetype),
        .metavar = "NAME",
        .help = "hec: the sourcetype of the events",
    },
    {
        AF_CONFIG_STRING(http.ca_file),
        .metavar = "FILE",
        .help = "PEM certificates that verify the server (default: the system's)",
    },
    {
        AF_CONFIG_BOOL(http.tls_insecure),
        .def = "false",
        .help = "do not verify the server's certificate (tests only: anyone can listen in)",
    },
    {
        AF_CONFIG_BOOL(http.events),
        .def = "false",
        .help = "send every enriched event (ECS JSON) there too, not only alerts",
    },
    /* The sink's own default: a request of 500 alerts is well under a
     * megabyte, what HEC and _bulk take comfortably. */
    {
        AF_CONFIG_UINT(http.batch_items),
        .def = "500",
        .min = "1",
        .max = "100000",
        .help = "documents per request at most",
    },
    /* 0: a server that is down holds the pipeline back (and the Kafka
     * offsets with it) until it is back, rather than losing alerts to the
     * dead-letter file after a few minutes. */
    {
        AF_CONFIG_UINT(http.max_retries),
        .def = "0",
        .min = "0",
        .max = "1000000",
        .help = "retries of a failing document before it goes to the dead-letter output; "
                "0 = never give up (a server that is down holds the pipeline back)",
    },
    /* The sink's own defaults: a tenth of a second adds nothing a SIEM
     * would notice, and a retry starts as soon and backs off to half a
     * minute, so a server that has been down a while is not flooded the
     * moment it comes back. */
    {
        AF_CONFIG_DURATION(http.linger),
        .def = "100ms",
        .help = "how long a partial batch waits for more documents before it is sent",
    },
    {
        AF_CONFIG_DURATION(http.backoff),
        .def = "100ms",
        .help = "wait before the first retry of a failed request; doubled at each retry, "
                "with jitter",
    },
    {
        AF_CONFIG_DURATION(http.backoff_max),
        .def = "30s",
        .help = "longest wait between two retries (a Retry-After from the server is "
                "obeyed up to 5 minutes)",
    },
};

/* syslog: one syslog output for `auditflow run` (sinks/syslog.h). The
 * facility names are RFC 5424's, in its order, so a name's index is its
 * number. */
static const char *const syslog_facilities[] = {
    "kern",   "user",     "mail",   "daemon", "auth",   "syslog", "lpr",   "news",   "uucp",
    "cron",   "authpriv", "ftp",    "ntp",    "audit",  "alert",  "clock", "local0", "local1",
    "local2", "local3",   "local4", "local5", "local6", "local7", NULL};
static const char *const syslog_formats[] = {"native", "ocsf", "ecs", NULL};

static const struct af_config_key syslog_keys[] = {
    {
        AF_CONFIG_STRING(syslog.target),
        .opt = "syslog",
        .commands = AF_CMD_RUN,
        .metavar = "TARGET",
        .help = "auditflow run sends alerts as RFC 5424 messages to udp://HOST:PORT, "
                "tcp://HOST:PORT, unix:///PATH or unix-dgram:///PATH (/dev/log)",
    },
    {
        AF_CONFIG_ENUM(syslog.facility),
        .def = "local0",
        .choices = syslog_facilities,
        .help = "the messages' facility",
    },
    {
        AF_CONFIG_STRING(syslog.app_name),
        .def = "auditflow",
        .metavar = "NAME",
        .help = "APP-NAME of the messages",
    },
    {
        AF_CONFIG_ENUM(syslog.format),
        .def = "native",
        .choices = syslog_formats,
        .help = "alert schema of the message text: auditflow's own, OCSF or ECS",
    },
    /* 32473 is the enterprise number RFC 5612 reserves for examples. */
    {
        AF_CONFIG_STRING(syslog.sd_id),
        .def = "auditflow@32473",
        .metavar = "NAME@NUMBER",
        .help = "SD-ID of the structured data (id, rule, account); use your own private "
                "enterprise number",
    },
};

/* metrics: what `auditflow run` serves for Prometheus and for health
 * checks (sinks/metrics.h). Loopback by default: the counts say how busy a
 * security pipeline is, which need not leave the host unless asked. */
static const struct af_config_key metrics_keys[] = {
    {
        AF_CONFIG_STRING(metrics.listen),
        .def = AF_METRICS_LISTEN_DEFAULT,
        .opt = "metrics",
        .commands = AF_CMD_RUN,
        .metavar = "ADDR:PORT",
        .help = "serve Prometheus metrics at /metrics and a health check at /health on "
                "this address (port 0: any free one); off: none",
    },
    /* A minute: librdkafka reconnects in seconds, and a webhook's retries
     * back off to 30 s by default, so a shorter time would flap. */
    {
        AF_CONFIG_DURATION(metrics.unhealthy_after),
        .def = "60s",
        .opt = "unhealthy-after",
        .commands = AF_CMD_RUN,
        .metavar = "DURATION",
        .help = "/health answers 503 once the brokers have been unreachable, or an output "
                "has been refusing alerts, for this long",
    },
};

/* log: the operational log (pipeline/log.h). The choices are in the
 * order of enum af_log_format and enum af_log_level, whose values the
 * rows store. */
static const char *const log_formats[] = {"logfmt", "json", NULL};
static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
_Static_assert(AF_LOG_JSON == 1 && AF_LOG_DEBUG == 3, "log choices follow the enums");

static const struct af_config_key log_keys[] = {
    {
        AF_CONFIG_ENUM(log.format),
        .def = "logfmt",
        .choices = log_formats,
        .opt = "log-format",
        .commands = STREAM_CMDS,
        .help = "log lines on stderr (warnings, errors, notices, librdkafka's): logfmt "
                "(key=value) or json, one object a line; each has ts, level and msg",
    },
    /* info: the notices an operator wants (where metrics are served, a
     * checkpoint resumed) are info; librdkafka's debug output, which -X
     * debug=... turns on, is debug. */
    {
        AF_CONFIG_ENUM(log.level),
        .def = "info",
        .choices = log_levels,
        .opt = "log-level",
        .commands = STREAM_CMDS,
        .help = "least severe log line written (debug shows librdkafka's -X debug output)",
    },
};

static const struct af_config_section sections[] = {
    SECTION("input", input_keys),     SECTION("output", output_keys),
    SECTION("geo", geo_keys),         SECTION("runtime", runtime_keys),
    SECTION("replay", replay_keys),   SECTION("state", state_keys),
    SECTION("rules", rules_keys),     SECTION("kafka", kafka_keys),
    SECTION("http", http_keys),       SECTION("syslog", syslog_keys),
    SECTION("metrics", metrics_keys), SECTION("log", log_keys),
};

const struct af_config_section *af_config_sections(size_t *count)
{
	*count = sizeof(sections) / sizeof(sections[0]);
	return sections;
}
