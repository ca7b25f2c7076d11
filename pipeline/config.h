/* config.h - auditflow's configuration: one YAML file plus command-line options.
 *
 * Thread: built on the main thread at start-up (af_config_init, then
 * af_config_parse_args or af_config_load/af_config_set); read-only afterwards,
 * when any thread may read it without locks.
 * In: a YAML file (-c FILE), the command line, environment variables named
 * as ${NAME} in the file's values.
 * Out: struct af_config, one nested struct per section; modules take the
 * section they need (const struct af_config_input *, ...).
 *
 * DESIGN: every key is one row of a declarative table (pipeline/config_table.c):
 * its dotted name, type, default, field offset, range or choices, command-line
 * option, the subcommands that accept it, and help. The engine (config*.c) has
 * no knowledge of any particular key: YAML parsing, validation, command-line
 * overrides, --help and the YAML dump are all driven by the rows. Adding a key
 * is adding a struct member and a row; adding a section is adding a struct, a
 * row array and one line in the section list. The row macros (AF_CONFIG_SIZE,
 * ...) take the member path, derive the key's name from it and fail to
 * compile when the member's C type does not match the row's type.
 *
 * Value syntax (the same in the file and on the command line):
 *   duration  "90s", "10m", "24h", "7d", "500ms", "250us", "10ns", or a plain
 *             number of seconds ("1.5"); stored as int64_t nanoseconds.
 *   size      "4096", "4KiB", "1MiB", "1GiB", "1TiB" (powers of 1024), "1KB",
 *             "1MB", ... (powers of 1000), "512B"; units ignore case; stored
 *             as uint64_t bytes.
 *   uint      decimal digits; stored as uint32_t or uint64_t (the member's).
 *   double    a decimal number, optionally with an exponent ("1e6").
 *   bool      true/false, yes/no, on/off (any case).
 *   enum      one of the row's named choices; stored as int (the index).
 *   string    any non-empty text; stored as const char *, owned by the config.
 *   strlist   a YAML sequence of strings (a single scalar is a one-item list),
 *             or a repeated command-line option; stored as af_config_strlist.
 * In the file, a null value (~, null, or nothing after the colon) restores
 * the key's default.
 */
#ifndef AF_CONFIG_H
#define AF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pipeline/err.h"

/* A list of strings. items[0..count) are owned by the config that holds the
 * list; readers must not modify or free them. */
struct af_config_strlist {
	char **items;
	size_t count;
};

/* output.format */
enum af_output_format {
	AF_OUTPUT_NATIVE = 0,
	AF_OUTPUT_OCSF,
	AF_OUTPUT_ECS,
	AF_OUTPUT_TABLE, /* a line of columns for a person; file outputs only */
};

struct af_config_input {
	int64_t reorder_window;     /* ns; how long events wait to be put in order */
	uint64_t max_record_bytes;  /* longer records are dead-lettered */
	int64_t dedup_retention;    /* ns; how long a record id is remembered */
	uint64_t dedup_max_entries; /* cap on remembered record ids */
};

struct af_config_output {
	const char *alerts;    /* path; "-" = stdout */
	int format;            /* enum af_output_format */
	const char *events;    /* path for normalized events, or NULL = none */
	const char *dlq;       /* path for dead letters, or NULL = none */
	const char *summary;   /* path for the run summary, or NULL = none */
	uint64_t dlq_raw_max;  /* bytes of a bad record copied into its dead letter */
	uint64_t rotate_bytes; /* a file output past this is renamed FILE.1; 0 = never */
	uint32_t rotate_keep;  /* FILE.1 .. FILE.N kept; older ones are removed */
};

/* Field paths in the geo databases (dotted, "country.iso_code"); NULL =
 * detected from the database. */
struct af_config_geo_fields {
	const char *country, *city, *latitude, *longitude, *accuracy_radius;
	const char *asn, *as_org;
	const char *anonymous, *vpn, *hosting, *proxy, *tor;
};

struct af_config_geo {
	const char *city;               /* City or Country database, or NULL */
	const char *asn;                /* ASN database, or NULL */
	const char *anon;               /* Anonymous-IP database, or NULL */
	const char *corporate_networks; /* file of egress CIDRs, or NULL */
	const char *hosting_asns;       /* file of VPN/hosting ASNs, or NULL */
	int64_t reload_interval;        /* ns between checks for replaced files; 0 = never */
	uint64_t cache_entries;         /* per thread, per cache */
	struct af_config_geo_fields fields;
};

struct af_config_runtime {
	uint32_t threads;       /* worker threads; 0 = online CPUs */
	uint32_t batch_records; /* records per batch from the source */
};

struct af_config_replay {
	bool progress; /* progress line on stderr */
	double speed;  /* event-time speed-up over real time; 0 = as fast as possible */
};

/* rules: the detection rules (pipeline/rules/). Every rule has enabled,
 * severity (enum af_severity of pipeline/alert.h: low, medium, high,
 * critical) and suppression (ns; 0 = rules.suppression); the rest is its
 * own. Defaults and the reasoning behind them are in config_table.c. */
struct af_config_rule_new_country {
	bool enabled;
	int severity;
	int64_t suppression;
};

struct af_config_rule_new_asn {
	bool enabled;
	int severity;
	int severity_risky; /* when the address is hosting, VPN, proxy, Tor or anonymous */
	int64_t suppression;
};

struct af_config_rule_impossible_travel {
	bool enabled;
	int severity;
	int64_t suppression;
	double max_kmh;         /* faster than this, beyond both accuracy radii, alerts */
	double min_km;          /* ...when at least this far apart beyond the radii */
	uint32_t max_radius_km; /* a location less precise than this gives no distance */
	bool skip_hosting;      /* hosting addresses give no distance either */
};

struct af_config_rule_signin_fail_burst {
	bool enabled;
	int severity;
	int64_t suppression;
	uint32_t threshold; /* failed sign-ins of an account... */
	int64_t window;     /* ns; ...within this */
};

struct af_config_rule_password_spray {
	bool enabled;
	int severity;
	int64_t suppression;
	uint32_t threshold;  /* distinct accounts failing from one address... */
	int64_t window;      /* ns; ...within this */
	bool skip_corporate; /* no alert for corporate egress or internal addresses */
};

struct af_config_rule_mail_send_burst {
	bool enabled;
	int severity;
	int64_t suppression;
	int64_t window;     /* ns; Send events counted within this... */
	uint32_t floor;     /* ...alert at max(floor, mean + k sigma) of the */
	double k;           /* account's hourly baseline; below floor never */
	uint32_t min_hours; /* hours of baseline before mean + k sigma counts */
};

struct af_config_rule_mass_recipients {
	bool enabled;
	int severity;
	int64_t suppression;
	uint32_t threshold;     /* distinct recipients (message trace) of an account... */
	int64_t window;         /* ns; ...within this (counted over one to two windows) */
	double peak_factor;     /* ...or this many times the account's decaying peak */
	int64_t peak_half_life; /* ns; the peak halves in this much event time */
};

struct af_config_rule_sent_items_bypass {
	bool enabled;
	int severity;
	int64_t suppression;
	const char *clients; /* ClientInfoString words of SMTP/API clients, comma-separated */
};

struct af_config_rule_plain {
	bool enabled;
	int severity;
	int64_t suppression;
};

struct af_config_rule_sender_name_spoof {
	bool enabled;
	int severity;
	int64_t suppression;
	uint32_t min_recipients; /* recipients of one send sharing one display name */
};

struct af_config_rule_account_takeover {
	bool enabled;
	int severity;
	int64_t suppression;
	int64_t window; /* ns; a mail alert this long after an anomalous sign-in */
};

struct af_config_rules {
	int64_t history;           /* ns; familiarity unseen this long is forgotten */
	uint32_t learning_days;    /* history-based rules wait this many days... */
	uint32_t learning_signins; /* ...or this many successful sign-ins, whichever is first */
	int64_t suppression;       /* ns; a rule's default re-alert period per account */
	const char *benign_codes;  /* sign-in error codes that are no failed password,
	                              comma-separated (checked by af_rules_check) */
	struct af_config_rule_new_country new_country;
	struct af_config_rule_new_asn new_asn;
	struct af_config_rule_impossible_travel impossible_travel;
	struct af_config_rule_signin_fail_burst signin_fail_burst;
	struct af_config_rule_password_spray password_spray;
	struct af_config_rule_mail_send_burst mail_send_burst;
	struct af_config_rule_mass_recipients mass_recipients;
	struct af_config_rule_sent_items_bypass sent_items_bypass;
	struct af_config_rule_plain inbox_rule_tamper;
	struct af_config_rule_plain mailbox_forwarding;
	struct af_config_rule_sender_name_spoof sender_name_spoof;
	struct af_config_rule_account_takeover account_takeover;
};

/* What the command line held besides options; filled by af_config_parse_args. */
/* Bounds on the detection state a shard keeps. */
struct af_config_state {
	uint64_t max_accounts;       /* accounts kept; the longest idle is evicted past it */
	uint64_t max_addresses;      /* source addresses kept (password spray) */
	int64_t idle;                /* ns; state unseen this long (event time) is dropped */
	uint64_t hll_blocks;         /* HyperLogLog blocks (1 KiB) for distinct counts */
	const char *dir;             /* checkpoints (pipeline/checkpoint.h), or NULL */
	int64_t checkpoint_interval; /* ns between checkpoints; 0 = only at a stop */
	bool fresh;                  /* remove the checkpoint in dir, do not resume */
};

/* kafka: the consumer of `auditflow run` and the topics it writes to;
 * names and short options follow kcat. */
struct af_config_kafka {
	const char *brokers;             /* bootstrap servers, or NULL */
	struct af_config_strlist topics; /* names, or ^regex */
	const char *group;               /* consumer group */
	const char *offset;              /* beginning|end|stored|N|-N|s@MS */
	bool exit_at_end;                /* stop once every partition is read */
	struct af_config_strlist props;  /* librdkafka key=value settings */
	uint32_t max_partitions;         /* partitions one run can number */
	const char *alerts_topic;        /* alerts to this topic, or NULL */
	const char *dlq_topic;           /* dead letters to this topic, or NULL */
	const char *events_topic;        /* ECS events to this topic, or NULL */
};

/* http.kind */
enum af_config_http_kind {
	AF_CONFIG_HTTP_NONE = 0, /* no HTTP output */
	AF_CONFIG_HTTP_HEC,      /* Splunk HTTP Event Collector */
	AF_CONFIG_HTTP_ES,       /* Elasticsearch / OpenSearch _bulk */
	AF_CONFIG_HTTP_WEBHOOK,  /* a JSON array per request to any URL */
};

/* http: the HTTP output of `auditflow run` (sinks/http.h). The secrets
 * (token, password, bearer_token, api_key) are rows marked secret: never
 * shown, meant to come from the environment as ${NAME}. */
struct af_config_http {
	int kind;                 /* enum af_config_http_kind */
	const char *url;          /* server, index or webhook URL, or NULL */
	const char *token;        /* HEC token, or NULL */
	const char *username;     /* HTTP basic, with password */
	const char *password;     /* or NULL */
	const char *bearer_token; /* or NULL */
	const char *api_key;      /* Elasticsearch API key, or NULL */
	const char *index;        /* ES index / HEC index, or NULL */
	const char *sourcetype;   /* HEC sourcetype, or NULL */
	const char *ca_file;      /* PEM bundle to verify the server, or NULL */
	bool tls_insecure;        /* no verification of the server at all */
	bool events;              /* ECS events too, not only alerts */
	uint32_t batch_items;     /* documents per request */
	uint32_t max_retries;     /* then dead-letter; 0 = never give up */
	int64_t linger;           /* ns a partial batch waits for more */
	int64_t backoff;          /* ns before the first retry (doubling, with jitter) */
	int64_t backoff_max;      /* ns between retries at most */
};

/* syslog: the syslog output of `auditflow run` (sinks/syslog.h). */
struct af_config_syslog {
	const char *target;   /* udp://, tcp://, unix://, unix-dgram://, or NULL */
	int facility;         /* 0..23 (kern .. local7), the RFC 5424 number */
	const char *app_name; /* APP-NAME */
	int format;           /* enum af_output_format of MSG; table not allowed */
	const char *sd_id;    /* SD-ID of the structured data */
};

/* metrics: the HTTP endpoint of `auditflow run` (sinks/metrics.h); by
 * default on loopback, on the port Prometheus' list of exporters gives. */
#define AF_METRICS_LISTEN_DEFAULT "127.0.0.1:9464"
struct af_config_metrics {
	const char *listen;      /* "ADDR:PORT", or "off" */
	int64_t unhealthy_after; /* ns a source disconnected or an output failing
	                            may last before /health answers 503 */
};

/* log: the operational log of `auditflow run` and `replay` on stderr
 * (pipeline/log.h). */
struct af_config_log {
	int format; /* enum af_log_format: logfmt, json */
	int level;  /* enum af_log_level: error, warn, info, debug */
};

struct af_config_cli {
	struct af_config_strlist args; /* positional arguments in order ("-" kept) */
	char *config_path;             /* the -c FILE given, or NULL */
	bool help;                     /* -h or --help was given */
};

struct af_config {
	struct af_config_input input;
	struct af_config_output output;
	struct af_config_geo geo;
	struct af_config_runtime runtime;
	struct af_config_replay replay;
	struct af_config_rules rules;
	struct af_config_state state;
	struct af_config_kafka kafka;
	struct af_config_http http;
	struct af_config_syslog syslog;
	struct af_config_metrics metrics;
	struct af_config_log log;
	struct af_config_cli cli; /* not configurable; no rows */
};

/* Subcommands, as a bitmask: a row's option is accepted by the commands in
 * its mask. */
enum af_command {
	AF_CMD_REPLAY = 1u << 0,
	AF_CMD_RUN = 1u << 1,
	AF_CMD_BENCH = 1u << 2,
	AF_CMD_VALIDATE = 1u << 3,
};

/* Set every key to its default; cfg->cli empty.
 * Cost: no allocation (string defaults point at the table's text). */
void af_config_init(struct af_config *cfg);

/* Free what cfg owns (strings, lists, cli) and leave it zeroed; calling it
 * twice is harmless. cfg itself is the caller's. */
void af_config_fini(struct af_config *cfg);

/* Read the YAML file at path over cfg's current values. Nested mappings map
 * to dotted keys ("input: {reorder_window: 5m}" sets input.reorder_window; a
 * dotted key "input.reorder_window: 5m" is the same). ${NAME} in a value is
 * replaced by the environment variable's value; "$${" stays a literal "${".
 * Returns AF_OK, AF_E_CONFIG with errstr "FILE:LINE:COLUMN: message" naming
 * the key for an unknown or repeated key, a value of the wrong type or shape,
 * a value out of range, an undefined variable or a YAML syntax error
 * ("FILE: message" when the file cannot be read), or AF_E_NOMEM.
 * On failure cfg holds a mix of old and new values; it still needs
 * af_config_fini and should not be used otherwise.
 * @pre cfg initialised (af_config_init). */
af_err_t af_config_load(struct af_config *cfg, const char *path, char *errstr, size_t errstr_size);

/* Set one key ("output.dlq") from text, validated as in a file. For a
 * strlist key, text is appended as one more item. No ${VAR} substitution
 * (on the command line the shell does that). Returns AF_OK, AF_E_CONFIG
 * (errstr "KEY: message" for an unknown key, a malformed value or one out of
 * range; cfg unchanged) or AF_E_NOMEM. text is borrowed (copied if kept).
 * @pre cfg initialised. */
af_err_t af_config_set(struct af_config *cfg, const char *key, const char *text, char *errstr,
                       size_t errstr_size);

/* Parse the arguments of one subcommand: argv[0..argc) are the words after
 * the subcommand's name (no program name). command is one AF_CMD_* bit.
 * Accepted: "--opt value", "--opt=value", "-o value", "-ovalue", bool flags
 * as "--flag" / "--no-flag" / "--flag=BOOL", repeated options for strlist
 * keys (the command line's items replace the file's), "-c FILE" /
 * "--config FILE", "-h" / "--help" (sets cfg->cli.help and stops parsing),
 * "--" (everything after it is positional). Every other word, "-" included,
 * is positional and is appended to cfg->cli.args in order.
 * The config file, if any, is loaded first and the options applied after it,
 * whatever their order: the command line wins.
 * Returns AF_OK, AF_E_CONFIG with errstr naming the option (unknown, not
 * accepted by this command, missing or bad value, -c given twice) or the
 * file's error as af_config_load writes it, or AF_E_NOMEM. argv is borrowed.
 * @pre cfg initialised. */
af_err_t af_config_parse_args(struct af_config *cfg, unsigned command, int argc, char **argv,
                              char *errstr, size_t errstr_size);

/* Write the option help for command (one AF_CMD_* bit; 0 = none) and then
 * every configuration key with its type, default, range and help. */
void af_config_help(FILE *out, unsigned command);

/* Write cfg's effective values as a YAML document that af_config_load reads
 * back to the same values, secrets excepted: a secret key's value (a row's
 * secret flag) is written "***", and so is the value of a secret entry of
 * a KEY=VALUE list ("sasl.password=***"; a row's secret_entry), so a dump
 * can be shown or logged. Returns AF_OK or AF_E_IO if writing failed. */
af_err_t af_config_dump(const struct af_config *cfg, FILE *out);

/* ---- Tables: for pipeline/config_table.c and whoever adds a section. ---- */

enum af_config_type {
	AF_CONFIG_T_BOOL,
	AF_CONFIG_T_UINT,
	AF_CONFIG_T_DOUBLE,
	AF_CONFIG_T_DURATION,
	AF_CONFIG_T_SIZE,
	AF_CONFIG_T_ENUM,
	AF_CONFIG_T_STRING,
	AF_CONFIG_T_STRLIST,
};

/* One configuration key. Defaults and bounds are written as text in the
 * key's own syntax ("10m", "1KiB") and parsed by the same code as user input,
 * so --help shows them as written. */
struct af_config_key {
	const char *key;            /* dotted name, from the row macro */
	enum af_config_type type;   /* from the row macro */
	size_t offset;              /* of the member in struct af_config */
	size_t size;                /* of the member */
	const char *def;            /* default; NULL = none (strings, lists only) */
	const char *min, *max;      /* inclusive bounds, or NULL */
	const char *const *choices; /* enum names, NULL-terminated; index = value */
	const char *opt;            /* long option without "--", or NULL */
	char opt_short;             /* short option letter, or 0 */
	unsigned commands;          /* AF_CMD_* bits accepting the option */
	const char *metavar;        /* value's name in --help ("FILE") */
	const char *help;           /* one line */
	/* A secret (a password, a token): the value is never written by the
	 * configuration engine (dump: "***"; messages leave it out), --help
	 * says so and asks for ${NAME}, and no row that is secret should
	 * have a command-line option (argv is visible to other users). */
	bool secret;
	/* For a strlist of KEY=VALUE entries: whether an entry's value is a
	 * secret (judged on the entry; pure), shown then as "KEY=***". NULL:
	 * no entry is. */
	bool (*secret_entry)(const char *entry);
};

struct af_config_section {
	const char *name; /* the keys' first component */
	const struct af_config_key *keys;
	size_t count;
};

/* The sections, in the order --help and the dump show them; static data.
 * Defined in pipeline/config_table.c. */
const struct af_config_section *af_config_sections(size_t *count);

/* Row macros: .key, .type, .offset and .size for the member at path m of
 * struct af_config (e.g. AF_CONFIG_SIZE(input.max_record_bytes)). The
 * _Generic term makes a negative array size, a compile error, when the
 * member's type is not one the row type stores. */
/* _Generic's associations confuse clang-format. */
/* clang-format off */
#define AF_CONFIG_MEMBER_(m) (((struct af_config *)0)->m)
#define AF_CONFIG_ROW_(t, m, ...)                                                                  \
	.key = #m, .type = (t),                                                                    \
	.offset = offsetof(struct af_config, m) +                                                  \
		  0 * sizeof(char[_Generic(AF_CONFIG_MEMBER_(m), __VA_ARGS__, default: -1)]),      \
	.size = sizeof(AF_CONFIG_MEMBER_(m))

#define AF_CONFIG_BOOL(m)     AF_CONFIG_ROW_(AF_CONFIG_T_BOOL, m, bool: 1)
#define AF_CONFIG_UINT(m)     AF_CONFIG_ROW_(AF_CONFIG_T_UINT, m, uint32_t: 1, uint64_t: 1)
#define AF_CONFIG_DOUBLE(m)   AF_CONFIG_ROW_(AF_CONFIG_T_DOUBLE, m, double: 1)
#define AF_CONFIG_DURATION(m) AF_CONFIG_ROW_(AF_CONFIG_T_DURATION, m, int64_t: 1)
#define AF_CONFIG_SIZE(m)     AF_CONFIG_ROW_(AF_CONFIG_T_SIZE, m, uint64_t: 1)
#define AF_CONFIG_ENUM(m)     AF_CONFIG_ROW_(AF_CONFIG_T_ENUM, m, int: 1)
#define AF_CONFIG_STRING(m)   AF_CONFIG_ROW_(AF_CONFIG_T_STRING, m, const char *: 1)
#define AF_CONFIG_STRLIST(m)  AF_CONFIG_ROW_(AF_CONFIG_T_STRLIST, m, struct af_config_strlist: 1)
/* clang-format on */

#endif
