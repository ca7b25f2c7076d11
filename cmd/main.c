/* main.c - the auditflow command: picks the subcommand and hands it a
 * parsed configuration.
 *
 * Thread: the main thread.
 * Exit status (part of the interface): 0 success, 1 runtime failure,
 * 2 usage or configuration error. Bad records never change it.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/bench.h"
#include "cmd/broker.h"
#include "cmd/gen.h"
#include "cmd/replay.h"
#include "cmd/test.h"
#include "cmd/run.h"
#include "pipeline/config.h"

#define AF_VERSION "0.1.0"

static void usage(FILE *out)
{
	fputs("usage: auditflow COMMAND [OPTIONS]\n"
	      "\n"
	      "  run       consume audit records from Kafka and deliver alerts, at\n"
	      "            least once: auditflow run -b BROKERS -t TOPIC [OPTIONS]\n"
	      "  replay    run exported audit logs (files, directories, - for stdin)\n"
	      "            through the engine: auditflow replay [OPTIONS] FILE...\n"
	      "  validate  check a configuration file, its rule settings and the\n"
	      "            geo databases and lists it names: auditflow validate -c FILE\n"
	      "  gen       write a synthetic organisation's audit logs with an attack\n"
	      "            embedded: auditflow gen --scenario NAME [OPTIONS]\n"
	      "  bench     measure every stage and the whole pipeline on this machine,\n"
	      "            on a generated corpus: auditflow bench [OPTIONS]\n"
	      "  broker    a local Kafka-protocol broker for trying auditflow and for\n"
	      "            tests, not production: auditflow broker [OPTIONS]\n"
	      "  version   print the version\n"
	      "\n"
	      "  test      run rule tests: records and the alerts they must raise,\n"
	      "            under your settings: auditflow test FILE.yaml...\n"
	      "\n"
	      "auditflow COMMAND --help lists a command's options and every\n"
	      "configuration key.\n",
	      out);
}

static int cmd_replay(int argc, char **argv)
{
	struct af_config cfg;
	char err[1024];
	af_config_init(&cfg);
	int status;
	if (af_config_parse_args(&cfg, AF_CMD_REPLAY, argc, argv, err, sizeof(err)) != AF_OK) {
		fprintf(stderr, "auditflow replay: %s\n", err);
		status = 2;
	} else if (cfg.cli.help) {
		fputs("usage: auditflow replay [OPTIONS] FILE...   (- reads stdin; a directory "
		      "means its files in name order)\n\n",
		      stdout);
		af_config_help(stdout, AF_CMD_REPLAY);
		status = 0;
	} else {
		status = af_replay_main(&cfg);
	}
	af_config_fini(&cfg);
	return status;
}

static int cmd_run(int argc, char **argv)
{
	struct af_config cfg;
	char err[1024];
	af_config_init(&cfg);
	int status;
	if (af_config_parse_args(&cfg, AF_CMD_RUN, argc, argv, err, sizeof(err)) != AF_OK) {
		fprintf(stderr, "auditflow run: %s\n", err);
		status = 2;
	} else if (cfg.cli.help) {
		fputs("usage: auditflow run [OPTIONS] -b BROKERS -t TOPIC...   (Kafka in; options "
		      "as kcat's)\n\n",
		      stdout);
		af_config_help(stdout, AF_CMD_RUN);
		status = 0;
	} else {
		status = af_run_main(&cfg);
	}
	af_config_fini(&cfg);
	return status;
}

static int cmd_validate(int argc, char **argv)
{
	struct af_config cfg;
	char err[1024];
	af_config_init(&cfg);
	int status = 0;
	if (af_config_parse_args(&cfg, AF_CMD_VALIDATE, argc, argv, err, sizeof(err)) != AF_OK) {
		fprintf(stderr, "auditflow validate: %s\n", err);
		status = 2;
	} else if (cfg.cli.help) {
		fputs("usage: auditflow validate -c FILE\n\n", stdout);
		af_config_help(stdout, AF_CMD_VALIDATE);
	} else if (!cfg.cli.config_path || cfg.cli.args.count != 0) {
		fputs("usage: auditflow validate -c FILE\n", stderr);
		status = 2;
	} else if (af_replay_check(&cfg, err, sizeof(err)) != AF_OK) {
		fprintf(stderr, "auditflow validate: %s: %s\n", cfg.cli.config_path, err);
		status = 2;
	} else {
		printf("%s: ok\n", cfg.cli.config_path);
	}
	af_config_fini(&cfg);
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "replay") == 0)
		return cmd_replay(argc - 2, argv + 2);
	if (strcmp(cmd, "validate") == 0)
		return cmd_validate(argc - 2, argv + 2);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("auditflow %s\n", AF_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "gen") == 0)
		return af_gen_main(argc - 2, argv + 2);
	if (strcmp(cmd, "bench") == 0)
		return af_bench_main(argc - 2, argv + 2);
	if (strcmp(cmd, "broker") == 0)
		return af_broker_main(argc - 2, argv + 2);
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (strcmp(cmd, "test") == 0)
		return af_test_main(argc - 2, argv + 2);
	fprintf(stderr, "auditflow: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
