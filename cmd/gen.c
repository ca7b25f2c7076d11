/* gen.c - `auditflow gen --scenario NAME [--seed S] [--accounts N]
 * [--days D] [--out DIR] [--start TIME] [--signins-per-day LO-HI]
 * [--sends-per-day LO-HI]`.
 *
 * Thread: the main thread.
 * In: the command line. Out: the scenario's files (ingest/gen.h) and one
 * line on stderr saying what was written.
 *
 * DESIGN: gen's options describe the synthetic world, not the engine, so
 * they are no configuration keys: a small parser here, not the
 * configuration table. "--opt VALUE" and "--opt=VALUE" both work.
 */
#include "cmd/gen.h"
#include "cmd/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/gen.h"
#include "pipeline/parse/timestamp.h"

static void usage(FILE *out)
{
	fputs("usage: auditflow gen --scenario NAME [OPTIONS]\n"
	      "\n"
	      "Write an invented organisation's audit logs, with an attack embedded, into\n"
	      "DIR: signins.jsonl (Entra sign-ins), audit.jsonl (Management Activity API),\n"
	      "messagetrace.jsonl (message trace), truth.jsonl (the alerts the records must\n"
	      "raise) and networks.jsonl (the networks used, to build geo/ASN databases).\n"
	      "Replay the three record files: auditflow replay DIR/signins.jsonl\n"
	      "DIR/audit.jsonl DIR/messagetrace.jsonl. Same options, same bytes.\n"
	      "\n"
	      "  --scenario NAME          baseline, seed-incident, password-spray,\n"
	      "                           bec-inbox-rule or forwarding (required)\n"
	      "  --seed S                 PRNG seed (default 1)\n"
	      "  --accounts N             accounts in the organisation (default 200)\n"
	      "  --days D                 days to simulate (default 14)\n"
	      "  --out DIR                output directory, made if missing (default ./gen-out)\n"
	      "  --start TIME             beginning of day 0, RFC 3339 (default\n"
	      "                           2025-08-01T00:00:00Z)\n"
	      "  --signins-per-day LO-HI  a person's sign-ins per working day (default 20-60)\n"
	      "  --sends-per-day LO-HI    a person's sends per working day (default 5-50)\n"
	      "  -h, --help               this text\n",
	      out);
}

/* An unsigned decimal (or 0x hex) number no larger than max. */
static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	if (*s == '\0' || *s == '-' || *s == '+' || *s == ' ')
		return false;
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, hex ? 16 : 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

/* "LO-HI" */
static bool parse_range(const char *s, uint32_t *lo, uint32_t *hi)
{
	const char *dash = strchr(s, '-');
	if (!dash || dash == s || dash - s >= 16)
		return false;
	char first[16];
	memcpy(first, s, (size_t)(dash - s));
	first[dash - s] = '\0';
	uint64_t a, b;
	if (!parse_u64(first, UINT32_MAX, &a) || !parse_u64(dash + 1, UINT32_MAX, &b))
		return false;
	*lo = (uint32_t)a;
	*hi = (uint32_t)b;
	return true;
}

/* Apply option name = value to o (and *out). False, with a message in
 * err, when the value is wrong or the option unknown. */
static bool apply(struct af_gen_opts *o, const char **out, bool *have_scenario, const char *name,
                  const char *value, char *err, size_t err_size)
{
	uint64_t v;
	if (strcmp(name, "scenario") == 0) {
		if (!af_gen_scenario_parse(value, &o->scenario)) {
			snprintf(err, err_size,
			         "unknown scenario '%s' (baseline, seed-incident, password-spray, "
			         "bec-inbox-rule, forwarding)",
			         value);
			return false;
		}
		*have_scenario = true;
	} else if (strcmp(name, "seed") == 0) {
		if (!parse_u64(value, UINT64_MAX, &o->seed)) {
			snprintf(err, err_size, "--seed: '%s' is not an unsigned 64-bit number",
			         value);
			return false;
		}
	} else if (strcmp(name, "accounts") == 0 || strcmp(name, "days") == 0) {
		if (!parse_u64(value, UINT32_MAX, &v)) {
			snprintf(err, err_size, "--%s: '%s' is not a number", name, value);
			return false;
		}
		if (name[0] == 'a')
			o->accounts = (uint32_t)v;
		else
			o->days = (uint32_t)v;
	} else if (strcmp(name, "out") == 0) {
		if (value[0] == '\0') {
			snprintf(err, err_size, "--out: empty directory name");
			return false;
		}
		*out = value;
	} else if (strcmp(name, "start") == 0) {
		if (!af_ts_parse(value, strlen(value), &o->start_ns)) {
			snprintf(err, err_size,
			         "--start: '%s' is not a time (e.g. 2025-08-01T00:00:00Z)", value);
			return false;
		}
	} else if (strcmp(name, "signins-per-day") == 0) {
		if (!parse_range(value, &o->signins_lo, &o->signins_hi)) {
			snprintf(err, err_size, "--signins-per-day: '%s' is not LO-HI", value);
			return false;
		}
	} else if (strcmp(name, "sends-per-day") == 0) {
		if (!parse_range(value, &o->sends_lo, &o->sends_hi)) {
			snprintf(err, err_size, "--sends-per-day: '%s' is not LO-HI", value);
			return false;
		}
	} else {
		snprintf(err, err_size, "unknown option '--%s'", name);
		return false;
	}
	return true;
}

int af_gen_main(int argc, char **argv)
{
	struct af_gen_opts o;
	af_gen_opts_init(&o);
	const char *out = "gen-out";
	bool have_scenario = false;
	char err[512];

	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
			fprintf(stderr, "auditflow gen: unexpected argument '%s'\n", arg);
			usage(stderr);
			return 2;
		}
		char name[32];
		const char *value;
		if (!af_cli_split(arg, name, sizeof(name), &value)) {
			fprintf(stderr, "auditflow gen: unknown option '%s'\n", arg);
			return 2;
		}
		if (value == NULL && i + 1 < argc) {
			value = argv[++i];
		} else if (value == NULL) {
			fprintf(stderr, "auditflow gen: option '--%s' needs a value\n", name);
			return 2;
		}
		if (!apply(&o, &out, &have_scenario, name, value, err, sizeof(err))) {
			fprintf(stderr, "auditflow gen: %s\n", err);
			return 2;
		}
	}
	if (!have_scenario) {
		fputs("auditflow gen: --scenario is required\n", stderr);
		usage(stderr);
		return 2;
	}
	struct af_gen_stats st;
	af_err_t e = af_gen_run(&o, out, &st, err, sizeof(err));
	if (e != AF_OK) {
		fprintf(stderr, "auditflow gen: %s\n", err);
		return e == AF_E_CONFIG ? 2 : 1;
	}
	char start[AF_TS_TEXT_MAX];
	af_ts_format(o.start_ns, start, sizeof(start));
	fprintf(stderr,
	        "auditflow gen: %s, seed %llu, %u accounts, %u days from %s: %llu sign-ins, %llu "
	        "audit records, %llu trace rows, %llu truth lines, %llu networks in %s\n",
	        af_gen_scenario_name(o.scenario), (unsigned long long)o.seed, o.accounts, o.days,
	        start, (unsigned long long)st.signins, (unsigned long long)st.audit,
	        (unsigned long long)st.trace, (unsigned long long)st.truth,
	        (unsigned long long)st.networks, out);
	return 0;
}
