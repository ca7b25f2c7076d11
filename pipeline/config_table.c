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

static const char *const output_formats[] = {"native", "ocsf", "ecs", NULL};

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
        .help = "alert schema: auditflow's own, OCSF or Elastic Common Schema",
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
};

#define GEO_FIELD(m, what)                                                                         \
	{                                                                                          \
		AF_CONFIG_STRING(geo.fields.m), .metavar = "PATH",                                 \
		.help = "path of the " what " in the database's records (default: detected)",    \
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

#define SECTION(name, rows)                                                                        \
	{                                                                                          \
		name, rows, sizeof(rows) / sizeof((rows)[0])                                       \
	}

static const struct af_config_section sections[] = {
    SECTION("input", input_keys),
    SECTION("output", output_keys),
    SECTION("geo", geo_keys),
    SECTION("runtime", runtime_keys),
    SECTION("replay", replay_keys),
};

const struct af_config_section *af_config_sections(size_t *count)
{
	*count = sizeof(sections) / sizeof(sections[0]);
	return sections;
}
