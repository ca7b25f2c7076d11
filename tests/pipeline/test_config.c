/* test_config.c - the configuration engine: values, YAML file, command line, help.
 *
 * Fixtures are in tests/data/config/; files made on the fly go in a mkdtemp
 * directory removed by the fixture.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/config.h"

#define DATA(name) AF_TEST_DATA "/config/" name

#define NS_PER_S 1000000000LL

static struct af_config cfg;
static char err[512];

static void setup(void)
{
	af_config_init(&cfg);
	err[0] = '\0';
}

static void teardown(void)
{
	af_config_fini(&cfg);
}

TestSuite(config, .init = setup, .fini = teardown);

static af_err_t set(const char *key, const char *text)
{
	return af_config_set(&cfg, key, text, err, sizeof(err));
}

static af_err_t load(const char *path)
{
	return af_config_load(&cfg, path, err, sizeof(err));
}

static af_err_t args(unsigned command, int argc, const char **argv)
{
	return af_config_parse_args(&cfg, command, argc, (char **)argv, err, sizeof(err));
}

/* ---- defaults ---- */

Test(config, starts_with_the_documented_defaults)
{
	cr_assert_eq(cfg.input.reorder_window, 600 * NS_PER_S);
	cr_assert_eq(cfg.input.max_record_bytes, 1u << 20);
	cr_assert_eq(cfg.input.dedup_retention, 24 * 3600 * NS_PER_S);
	cr_assert_eq(cfg.input.dedup_max_entries, 4194304u);
	cr_assert_str_eq(cfg.output.alerts, "-");
	cr_assert_eq(cfg.output.format, AF_OUTPUT_NATIVE);
	cr_assert_null(cfg.output.events);
	cr_assert_null(cfg.output.dlq);
	cr_assert_null(cfg.output.summary);
	cr_assert_eq(cfg.output.dlq_raw_max, 4096u);
	cr_assert_eq(cfg.runtime.threads, 0u);
	cr_assert(cfg.replay.progress);
	cr_assert_eq(cfg.replay.speed, 0.0);
	cr_assert_eq(cfg.cli.args.count, 0u);
	cr_assert_null(cfg.cli.config_path);
}

Test(config, every_row_has_help_and_a_default_that_passes_its_own_validation)
{
	size_t n;
	const struct af_config_section *sec = af_config_sections(&n);

	for (size_t s = 0; s < n; s++) {
		for (size_t i = 0; i < sec[s].count; i++) {
			const struct af_config_key *k = &sec[s].keys[i];

			cr_assert_not_null(k->help, "%s has no help", k->key);
			cr_assert(strncmp(k->key, sec[s].name, strlen(sec[s].name)) == 0 &&
			              k->key[strlen(sec[s].name)] == '.',
			          "%s is not under section %s", k->key, sec[s].name);
			if (k->def != NULL)
				cr_assert_eq(set(k->key, k->def), AF_OK, "%s", err);
		}
	}
}

/* ---- value syntax, through af_config_set ---- */

Test(config, durations_accept_units_and_plain_seconds)
{
	static const struct {
		const char *text;
		int64_t ns;
	} cases[] = {
	    {"90s", 90 * NS_PER_S},
	    {"10m", 600 * NS_PER_S},
	    {"24h", 86400 * NS_PER_S},
	    {"7d", 7 * 86400 * NS_PER_S},
	    {"500ms", NS_PER_S / 2},
	    {"250us", 250000},
	    {"10ns", 10},
	    {"2", 2 * NS_PER_S},
	    {"1.5", 3 * NS_PER_S / 2},
	    {"0.25h", 900 * NS_PER_S},
	    {"0", 0},
	    {"3 m", 180 * NS_PER_S},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(set("input.reorder_window", cases[i].text), AF_OK, "%s: %s",
		             cases[i].text, err);
		cr_assert_eq(cfg.input.reorder_window, cases[i].ns, "%s", cases[i].text);
	}
}

Test(config, durations_reject_unknown_units_signs_and_garbage)
{
	static const char *const bad[] = {"10x", "-5m", "5mm", "m", "", "1.", "1e3", "10 m s"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(set("input.dedup_retention", bad[i]), AF_E_CONFIG, "%s", bad[i]);
		cr_assert_eq(cfg.input.dedup_retention, 24 * 3600 * NS_PER_S);
	}
	cr_assert_eq(set("input.dedup_retention", "10x"), AF_E_CONFIG);
	cr_assert_str_eq(err, "input.dedup_retention: expected a duration such as 90s, 10m, 24h, "
	                      "7d, 500ms or seconds, got \"10x\"");
}

Test(config, sizes_accept_binary_and_decimal_units)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} cases[] = {
	    {"4096", 4096},         {"4KiB", 4096},   {"1MiB", 1u << 20},
	    {"128MiB", 128u << 20}, {"2KB", 2000},    {"3MB", 3000000},
	    {"2048B", 2048},        {"64kib", 65536}, {"8 MiB", 8u << 20},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(set("input.max_record_bytes", cases[i].text), AF_OK, "%s: %s",
		             cases[i].text, err);
		cr_assert_eq(cfg.input.max_record_bytes, cases[i].bytes, "%s", cases[i].text);
	}
}

Test(config, sizes_reject_fractions_and_unknown_units)
{
	static const char *const bad[] = {"1.5MiB", "4K",   "4 KiBs",
	                                  "-1",     "lots", "99999999999999999999"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(set("input.max_record_bytes", bad[i]), AF_E_CONFIG, "%s", bad[i]);
	cr_assert_eq(cfg.input.max_record_bytes, 1u << 20);
}

Test(config, a_size_outside_its_range_names_the_key_and_the_range)
{
	cr_assert_eq(set("input.max_record_bytes", "512"), AF_E_CONFIG);
	cr_assert_str_eq(err, "input.max_record_bytes: \"512\" is out of range 1KiB..256MiB");
	cr_assert_eq(set("input.max_record_bytes", "257MiB"), AF_E_CONFIG);
	cr_assert_eq(set("input.max_record_bytes", "1GiB"), AF_E_CONFIG);
	cr_assert_str_eq(err, "input.max_record_bytes: \"1GiB\" is out of range 1KiB..256MiB");
	cr_assert_eq(set("input.max_record_bytes", "256MiB"), AF_OK);
	cr_assert_eq(cfg.input.max_record_bytes, 256u << 20);
	cr_assert_eq(set("output.dlq_raw_max", "0"), AF_OK);
	cr_assert_eq(cfg.output.dlq_raw_max, 0u);
}

Test(config, integers_outside_their_range_are_rejected)
{
	cr_assert_eq(set("input.dedup_max_entries", "1023"), AF_E_CONFIG);
	cr_assert_str_eq(err, "input.dedup_max_entries: \"1023\" is out of range 1024..1073741824");
	cr_assert_eq(set("input.dedup_max_entries", "1073741825"), AF_E_CONFIG);
	cr_assert_eq(set("runtime.threads", "1025"), AF_E_CONFIG);
	cr_assert_eq(set("runtime.threads", "99999999999"), AF_E_CONFIG);
	cr_assert_eq(cfg.runtime.threads, 0u);
	cr_assert_eq(set("runtime.threads", "1024"), AF_OK);
	cr_assert_eq(cfg.runtime.threads, 1024u);
}

Test(config, integers_reject_anything_but_digits)
{
	static const char *const bad[] = {"4k", "2.0", "-1", "0x10", "", "eight"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(set("runtime.threads", bad[i]), AF_E_CONFIG, "%s", bad[i]);
	cr_assert_str_eq(err, "runtime.threads: expected a whole number, got \"eight\"");
}

Test(config, bools_accept_true_false_yes_no_on_off_in_any_case)
{
	static const struct {
		const char *text;
		bool value;
	} cases[] = {
	    {"false", false}, {"true", true}, {"no", false},    {"yes", true},
	    {"off", false},   {"on", true},   {"FALSE", false}, {"Yes", true},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(set("replay.progress", cases[i].text), AF_OK, "%s", cases[i].text);
		cr_assert_eq(cfg.replay.progress, cases[i].value, "%s", cases[i].text);
	}
}

Test(config, bools_reject_other_words)
{
	cr_assert_eq(set("replay.progress", "1"), AF_E_CONFIG);
	cr_assert_eq(set("replay.progress", "nope"), AF_E_CONFIG);
	cr_assert_str_eq(err,
	                 "replay.progress: expected true or false (yes/no, on/off), got \"nope\"");
	cr_assert(cfg.replay.progress);
}

Test(config, enums_accept_their_named_choices)
{
	cr_assert_eq(set("output.format", "ecs"), AF_OK);
	cr_assert_eq(cfg.output.format, AF_OUTPUT_ECS);
	cr_assert_eq(set("output.format", "ocsf"), AF_OK);
	cr_assert_eq(cfg.output.format, AF_OUTPUT_OCSF);
	cr_assert_eq(set("output.format", "native"), AF_OK);
	cr_assert_eq(cfg.output.format, AF_OUTPUT_NATIVE);
}

Test(config, enums_reject_other_words_and_list_the_choices)
{
	cr_assert_eq(set("output.format", "cef"), AF_E_CONFIG);
	cr_assert_str_eq(err, "output.format: expected one of native|ocsf|ecs|table, got \"cef\"");
	cr_assert_eq(cfg.output.format, AF_OUTPUT_NATIVE);
}

Test(config, doubles_accept_decimals_and_exponents_within_the_range)
{
	cr_assert_eq(set("replay.speed", "2.5"), AF_OK);
	cr_assert_eq(cfg.replay.speed, 2.5);
	cr_assert_eq(set("replay.speed", "1e6"), AF_OK);
	cr_assert_eq(cfg.replay.speed, 1e6);
	cr_assert_eq(set("replay.speed", "1.5e6"), AF_E_CONFIG);
	cr_assert_str_eq(err, "replay.speed: \"1.5e6\" is out of range 0..1e6");
	cr_assert_eq(set("replay.speed", "-1"), AF_E_CONFIG);
	cr_assert_eq(cfg.replay.speed, 1e6);
}

Test(config, doubles_reject_hex_infinity_and_nan)
{
	static const char *const bad[] = {"0x10", "inf", "nan", "1e", "fast", ""};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(set("replay.speed", bad[i]), AF_E_CONFIG, "%s", bad[i]);
	cr_assert_eq(cfg.replay.speed, 0.0);
}

Test(config, strings_replace_the_default_and_each_other)
{
	cr_assert_eq(set("output.alerts", "a.jsonl"), AF_OK);
	cr_assert_eq(set("output.alerts", "b.jsonl"), AF_OK);
	cr_assert_str_eq(cfg.output.alerts, "b.jsonl");
	cr_assert_eq(set("output.dlq", "dead.jsonl"), AF_OK);
	cr_assert_str_eq(cfg.output.dlq, "dead.jsonl");
	/* The sanitizer build catches a leak or double free in fini. */
}

Test(config, empty_strings_are_rejected)
{
	cr_assert_eq(set("output.alerts", ""), AF_E_CONFIG);
	cr_assert_str_eq(err, "output.alerts: expected a non-empty string");
	cr_assert_str_eq(cfg.output.alerts, "-");
}

Test(config, set_rejects_an_unknown_key)
{
	cr_assert_eq(set("input.reorder", "5m"), AF_E_CONFIG);
	cr_assert_str_eq(err, "input.reorder: unknown key");
}

Test(config, set_says_a_section_is_not_a_key)
{
	cr_assert_eq(set("replay", "5m"), AF_E_CONFIG);
	cr_assert_str_eq(err, "replay: is a section, not a key");
}

/* ---- the YAML file ---- */

Test(config, load_reads_nested_sections_into_every_field)
{
	cr_assert_eq(load(DATA("full.yaml")), AF_OK, "%s", err);
	cr_assert_eq(cfg.input.reorder_window, 90 * NS_PER_S);
	cr_assert_eq(cfg.input.max_record_bytes, 2u << 20);
	cr_assert_eq(cfg.input.dedup_retention, 7 * 86400 * NS_PER_S);
	cr_assert_eq(cfg.input.dedup_max_entries, 2048u);
	cr_assert_str_eq(cfg.output.alerts, "/var/log/auditflow/alerts.jsonl");
	cr_assert_eq(cfg.output.format, AF_OUTPUT_OCSF);
	cr_assert_str_eq(cfg.output.events, "events.jsonl");
	cr_assert_str_eq(cfg.output.dlq, "dlq.jsonl");
	cr_assert_str_eq(cfg.output.summary, "summary.json");
	cr_assert_eq(cfg.output.dlq_raw_max, 1000u);
	cr_assert_eq(cfg.runtime.threads, 8u);
	cr_assert_not(cfg.replay.progress);
	cr_assert_eq(cfg.replay.speed, 2.5);
}

Test(config, load_accepts_dotted_keys_at_the_top_level)
{
	cr_assert_eq(load(DATA("dotted.yaml")), AF_OK, "%s", err);
	cr_assert_eq(cfg.input.reorder_window, NS_PER_S / 2);
	cr_assert_eq(cfg.output.format, AF_OUTPUT_ECS);
}

Test(config, load_accepts_an_empty_file_and_keeps_the_defaults)
{
	cr_assert_eq(load(DATA("empty.yaml")), AF_OK, "%s", err);
	cr_assert_eq(cfg.input.reorder_window, 600 * NS_PER_S);
}

Test(config, load_reports_an_unknown_key_with_line_and_column)
{
	cr_assert_eq(load(DATA("unknown_key.yaml")), AF_E_CONFIG);
	cr_assert_str_eq(err, DATA("unknown_key.yaml") ":3:3: unknown key input.reorder_windw");
}

Test(config, load_rejects_a_mapping_where_a_value_is_expected)
{
	cr_assert_eq(load(DATA("mapping_for_scalar.yaml")), AF_E_CONFIG);
	cr_assert_str_eq(err,
	                 DATA("mapping_for_scalar.yaml") ":3:5: input.reorder_window: "
	                                                 "expected a duration such as 90s, 10m, "
	                                                 "24h, 7d, 500ms or seconds, got a "
	                                                 "mapping");
}

Test(config, load_rejects_a_value_where_a_section_is_expected)
{
	cr_assert_eq(load(DATA("scalar_for_section.yaml")), AF_E_CONFIG);
	cr_assert_str_eq(err, DATA("scalar_for_section.yaml") ":1:9: output is a section: "
	                                                      "expected a mapping, got a scalar");
}

Test(config, load_rejects_a_sequence_for_a_single_value)
{
	cr_assert_eq(load(DATA("sequence_for_scalar.yaml")), AF_E_CONFIG);
	cr_assert_str_eq(err, DATA("sequence_for_scalar.yaml") ":2:11: output.format: expected "
	                                                       "one of native|ocsf|ecs|table, got a "
	                                                       "sequence");
}

Test(config, load_reports_a_yaml_syntax_error_with_its_position)
{
	cr_assert_eq(load(DATA("syntax_error.yaml")), AF_E_CONFIG);
	cr_assert(strncmp(err, DATA("syntax_error.yaml") ":3:2: YAML syntax error: ",
	                  strlen(DATA("syntax_error.yaml") ":3:2: YAML syntax error: ")) == 0,
	          "%s", err);
}

Test(config, load_reports_an_out_of_range_value_with_its_position)
{
	cr_assert_eq(load(DATA("out_of_range.yaml")), AF_E_CONFIG);
	cr_assert_str_eq(err, DATA("out_of_range.yaml") ":2:21: input.max_record_bytes: "
	                                                "\"512MiB\" is out of range 1KiB..256MiB");
}

Test(config, load_reports_a_key_given_twice)
{
	cr_assert_eq(load(DATA("duplicate.yaml")), AF_E_CONFIG);
	cr_assert_str_eq(err, DATA("duplicate.yaml") ":5:3: runtime.threads: key given twice");
}

Test(config, load_reports_a_file_that_cannot_be_opened)
{
	cr_assert_eq(load(DATA("no_such_file.yaml")), AF_E_CONFIG);
	cr_assert_str_eq(err, DATA("no_such_file.yaml") ": cannot open: No such file or directory");
}

Test(config, load_reports_a_directory)
{
	cr_assert_eq(load(AF_TEST_DATA "/config"), AF_E_CONFIG);
	cr_assert_str_eq(err, AF_TEST_DATA "/config: is a directory");
}

Test(config, load_rejects_a_second_document)
{
	cr_assert_eq(load(DATA("two_documents.yaml")), AF_E_CONFIG);
	cr_assert_str_eq(err, DATA("two_documents.yaml") ":4:1: only one YAML document is allowed");
}

Test(config, load_takes_a_null_value_as_the_default)
{
	cr_assert_eq(set("output.alerts", "x.jsonl"), AF_OK);
	cr_assert_eq(set("output.dlq", "d.jsonl"), AF_OK);
	cr_assert_eq(set("runtime.threads", "6"), AF_OK);
	cr_assert_eq(load(DATA("null_default.yaml")), AF_OK, "%s", err);
	cr_assert_str_eq(cfg.output.alerts, "-");
	cr_assert_null(cfg.output.dlq);
	cr_assert_eq(cfg.runtime.threads, 0u);
}

/* The variables tests/data/config/env.yaml refers to; threads is the text of
 * the one it reads as runtime.threads. */
static void set_env_yaml_vars(const char *threads)
{
	setenv("AF_TEST_DIR", "/srv/af", 1);
	setenv("AF_TEST_NAME", "night", 1);
	setenv("AF_TEST_THREADS", threads, 1);
}

Test(config, load_substitutes_environment_variables_in_values)
{
	set_env_yaml_vars("12");
	cr_assert_eq(load(DATA("env.yaml")), AF_OK, "%s", err);
	cr_assert_str_eq(cfg.output.dlq, "/srv/af/dlq-night.jsonl");
	cr_assert_eq(cfg.runtime.threads, 12u);
}

Test(config, load_keeps_a_doubled_dollar_brace_as_a_literal)
{
	set_env_yaml_vars("12");
	cr_assert_eq(load(DATA("env.yaml")), AF_OK, "%s", err);
	cr_assert_str_eq(cfg.output.alerts, "${HOME} costs $5");
}

Test(config, load_reports_an_undefined_variable_by_name)
{
	unsetenv("AF_TEST_NOT_DEFINED_ANYWHERE");
	cr_assert_eq(load(DATA("env_undefined.yaml")), AF_E_CONFIG);
	cr_assert_str_eq(err, DATA("env_undefined.yaml") ":2:12: output.summary: environment "
	                                                 "variable AF_TEST_NOT_DEFINED_ANYWHERE "
	                                                 "is not defined");
}

Test(config, load_checks_a_substituted_value_like_any_other)
{
	set_env_yaml_vars("many");
	cr_assert_eq(load(DATA("env.yaml")), AF_E_CONFIG);
	cr_assert_str_eq(err, DATA("env.yaml") ":5:12: runtime.threads: expected a whole number, "
	                                       "got \"many\"");
}

/* ---- dump ---- */

struct tmpdir {
	char path[64];
	char file[96];
};

static void tmp_make(struct tmpdir *t)
{
	strcpy(t->path, "/tmp/af_config_XXXXXX");
	cr_assert_not_null(mkdtemp(t->path));
	snprintf(t->file, sizeof(t->file), "%s/cfg.yaml", t->path);
}

static void tmp_remove(struct tmpdir *t)
{
	unlink(t->file);
	rmdir(t->path);
}

Test(config, dump_reads_back_to_the_same_values)
{
	struct af_config back;
	struct tmpdir t;
	FILE *f;

	cr_assert_eq(load(DATA("full.yaml")), AF_OK, "%s", err);
	cr_assert_eq(set("output.events", "odd \"name\" with ${braces}\tand tab"), AF_OK);
	cr_assert_eq(set("replay.speed", "0.1"), AF_OK);
	cr_assert_eq(set("input.reorder_window", "1500ms"), AF_OK);
	tmp_make(&t);
	f = fopen(t.file, "w");
	cr_assert_not_null(f);
	cr_assert_eq(af_config_dump(&cfg, f), AF_OK);
	fclose(f);

	af_config_init(&back);
	cr_assert_eq(af_config_load(&back, t.file, err, sizeof(err)), AF_OK, "%s", err);
	tmp_remove(&t);
	cr_assert_eq(back.input.reorder_window, cfg.input.reorder_window);
	cr_assert_eq(back.input.max_record_bytes, cfg.input.max_record_bytes);
	cr_assert_eq(back.input.dedup_retention, cfg.input.dedup_retention);
	cr_assert_eq(back.input.dedup_max_entries, cfg.input.dedup_max_entries);
	cr_assert_str_eq(back.output.alerts, cfg.output.alerts);
	cr_assert_eq(back.output.format, cfg.output.format);
	cr_assert_str_eq(back.output.events, "odd \"name\" with ${braces}\tand tab");
	cr_assert_str_eq(back.output.dlq, cfg.output.dlq);
	cr_assert_str_eq(back.output.summary, cfg.output.summary);
	cr_assert_eq(back.output.dlq_raw_max, cfg.output.dlq_raw_max);
	cr_assert_eq(back.runtime.threads, cfg.runtime.threads);
	cr_assert_eq(back.replay.progress, cfg.replay.progress);
	cr_assert_eq(back.replay.speed, 0.1);
	af_config_fini(&back);
}

Test(config, dump_writes_unset_paths_as_null)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_eq(af_config_dump(&cfg, f), AF_OK);
	fclose(f);
	cr_assert_not_null(
	    strstr(text, "output:\n  alerts: \"-\"\n  format: native\n  events: ~\n"), "%s", text);
	cr_assert_not_null(strstr(text, "  reorder_window: 10m\n  max_record_bytes: 1MiB\n"), "%s",
	                   text);
	free(text);
}

/* ---- the command line ---- */

Test(config, options_after_the_config_file_win_over_it)
{
	const char *argv[] = {"-c", DATA("cli_base.yaml"), "--reorder-window", "30s", "-j", "7"};

	cr_assert_eq(args(AF_CMD_REPLAY, 6, argv), AF_OK, "%s", err);
	cr_assert_eq(cfg.input.reorder_window, 30 * NS_PER_S);
	cr_assert_eq(cfg.runtime.threads, 7u);
	cr_assert_eq(cfg.output.format, AF_OUTPUT_ECS, "the file's other values stay");
	cr_assert_str_eq(cfg.cli.config_path, DATA("cli_base.yaml"));
}

Test(config, options_before_the_config_file_win_over_it)
{
	const char *argv[] = {"--format",           "ocsf",       "--dlq",
	                      "cli-dlq.jsonl",      "--progress", "--config",
	                      DATA("cli_base.yaml")};

	cr_assert_eq(args(AF_CMD_REPLAY, 7, argv), AF_OK, "%s", err);
	cr_assert_eq(cfg.output.format, AF_OUTPUT_OCSF);
	cr_assert_str_eq(cfg.output.dlq, "cli-dlq.jsonl");
	cr_assert(cfg.replay.progress);
	cr_assert_eq(cfg.input.reorder_window, 300 * NS_PER_S, "the file's other values stay");
}

Test(config, options_accept_an_equals_sign_value)
{
	const char *argv[] = {"--max-record-bytes=64KiB", "--speed=2", "--events-out=ev.jsonl"};

	cr_assert_eq(args(AF_CMD_REPLAY, 3, argv), AF_OK, "%s", err);
	cr_assert_eq(cfg.input.max_record_bytes, 64u << 10);
	cr_assert_eq(cfg.replay.speed, 2.0);
	cr_assert_str_eq(cfg.output.events, "ev.jsonl");
}

Test(config, short_options_take_the_next_word_or_an_attached_value)
{
	const char *argv[] = {"-o", "alerts.jsonl", "-j4"};

	cr_assert_eq(args(AF_CMD_RUN, 3, argv), AF_OK, "%s", err);
	cr_assert_str_eq(cfg.output.alerts, "alerts.jsonl");
	cr_assert_eq(cfg.runtime.threads, 4u);
}

Test(config, a_dash_value_is_taken_as_the_option_value)
{
	const char *argv[] = {"--summary", "x.json", "-o", "-"};

	cr_assert_eq(set("output.alerts", "file.jsonl"), AF_OK);
	cr_assert_eq(args(AF_CMD_REPLAY, 4, argv), AF_OK, "%s", err);
	cr_assert_str_eq(cfg.output.alerts, "-");
	cr_assert_eq(cfg.cli.args.count, 0u);
}

Test(config, no_flag_turns_a_bool_off_over_the_file)
{
	const char *argv[] = {"--no-progress"};

	cr_assert(cfg.replay.progress);
	cr_assert_eq(args(AF_CMD_REPLAY, 1, argv), AF_OK, "%s", err);
	cr_assert_not(cfg.replay.progress);
}

Test(config, bool_flag_turns_it_on_over_the_file)
{
	const char *argv[] = {"--progress", "-c", DATA("cli_base.yaml")};

	cr_assert_eq(args(AF_CMD_REPLAY, 3, argv), AF_OK, "%s", err);
	cr_assert(cfg.replay.progress);
}

Test(config, bool_flag_accepts_an_explicit_value)
{
	const char *argv[] = {"--progress=off"};

	cr_assert_eq(args(AF_CMD_REPLAY, 1, argv), AF_OK, "%s", err);
	cr_assert_not(cfg.replay.progress);
}

Test(config, no_flag_takes_no_value)
{
	const char *argv[] = {"--no-progress=yes"};

	cr_assert_eq(args(AF_CMD_REPLAY, 1, argv), AF_E_CONFIG);
	cr_assert_str_eq(err, "option --no-progress takes no value");
}

Test(config, an_unknown_option_is_named)
{
	const char *argv[] = {"file.jsonl", "--reorder-windw=5m"};

	cr_assert_eq(args(AF_CMD_REPLAY, 2, argv), AF_E_CONFIG);
	cr_assert_str_eq(err, "unknown option --reorder-windw");
}

Test(config, an_unknown_short_option_is_named)
{
	const char *argv[] = {"-z"};

	cr_assert_eq(args(AF_CMD_REPLAY, 1, argv), AF_E_CONFIG);
	cr_assert_str_eq(err, "unknown option -z");
}

Test(config, an_option_of_another_command_is_rejected)
{
	const char *argv[] = {"-j", "2", "--speed", "3"};

	cr_assert_eq(args(AF_CMD_BENCH, 4, argv), AF_E_CONFIG);
	cr_assert_str_eq(err, "option --speed is not accepted by auditflow bench");
}

Test(config, an_option_without_its_value_is_rejected)
{
	const char *argv[] = {"--dlq"};

	cr_assert_eq(args(AF_CMD_REPLAY, 1, argv), AF_E_CONFIG);
	cr_assert_str_eq(err, "option --dlq needs a value");
}

Test(config, a_bad_option_value_names_the_option_and_the_key)
{
	const char *argv[] = {"--format", "cef"};

	cr_assert_eq(args(AF_CMD_REPLAY, 2, argv), AF_E_CONFIG);
	cr_assert_str_eq(err, "option --format (output.format): expected one of native|ocsf|ecs|table, "
	                      "got \"cef\"");
}

Test(config, positionals_are_kept_in_order_with_dash_for_stdin)
{
	const char *argv[] = {"a.jsonl", "-j", "2", "-", "b.json.gz", "--no-progress"};

	cr_assert_eq(args(AF_CMD_REPLAY, 6, argv), AF_OK, "%s", err);
	cr_assert_eq(cfg.cli.args.count, 3u);
	cr_assert_str_eq(cfg.cli.args.items[0], "a.jsonl");
	cr_assert_str_eq(cfg.cli.args.items[1], "-");
	cr_assert_str_eq(cfg.cli.args.items[2], "b.json.gz");
	cr_assert_eq(cfg.runtime.threads, 2u);
}

Test(config, everything_after_double_dash_is_positional)
{
	const char *argv[] = {"--speed", "4", "--", "--speed", "-o", "x"};

	cr_assert_eq(args(AF_CMD_REPLAY, 6, argv), AF_OK, "%s", err);
	cr_assert_eq(cfg.replay.speed, 4.0);
	cr_assert_str_eq(cfg.output.alerts, "-");
	cr_assert_eq(cfg.cli.args.count, 3u);
	cr_assert_str_eq(cfg.cli.args.items[0], "--speed");
	cr_assert_str_eq(cfg.cli.args.items[1], "-o");
	cr_assert_str_eq(cfg.cli.args.items[2], "x");
}

Test(config, help_flag_is_reported_without_loading_anything)
{
	const char *argv[] = {"--help", "--no-such-option", "-c", DATA("no_such_file.yaml")};

	cr_assert_eq(args(AF_CMD_REPLAY, 4, argv), AF_OK, "%s", err);
	cr_assert(cfg.cli.help);
}

Test(config, a_bad_config_file_is_reported_with_its_position)
{
	const char *argv[] = {"--speed", "2", "-c", DATA("unknown_key.yaml")};

	cr_assert_eq(args(AF_CMD_REPLAY, 4, argv), AF_E_CONFIG);
	cr_assert_str_eq(err, DATA("unknown_key.yaml") ":3:3: unknown key input.reorder_windw");
}

Test(config, a_second_config_file_is_rejected)
{
	const char *argv[] = {"-c", DATA("empty.yaml"), "-c", DATA("full.yaml")};

	cr_assert_eq(args(AF_CMD_VALIDATE, 4, argv), AF_E_CONFIG);
	cr_assert_str_eq(err, "option -c: only one configuration file may be given");
}

/* ---- help ---- */

static char *help_text(unsigned command)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_not_null(f);
	af_config_help(f, command);
	fclose(f);
	return text;
}

Test(config, help_mentions_every_key)
{
	size_t n;
	const struct af_config_section *sec = af_config_sections(&n);
	char *text = help_text(AF_CMD_REPLAY);

	for (size_t s = 0; s < n; s++)
		for (size_t i = 0; i < sec[s].count; i++)
			cr_assert_not_null(strstr(text, sec[s].keys[i].key), "%s missing",
			                   sec[s].keys[i].key);
	free(text);
}

Test(config, help_shows_an_option_with_its_key_and_default)
{
	char *text = help_text(AF_CMD_REPLAY);

	cr_assert_not_null(strstr(text, "--reorder-window DURATION"), "%s", text);
	cr_assert_not_null(strstr(text, "(input.reorder_window, default 10m)"), "%s", text);
	cr_assert_not_null(strstr(text, "--progress, --no-progress"), "%s", text);
	cr_assert_not_null(strstr(text, "--format native|ocsf|ecs"), "%s", text);
	cr_assert_not_null(strstr(text, "-o FILE"), "%s", text);
	free(text);
}

Test(config, help_lists_only_the_options_of_the_command)
{
	char *text = help_text(AF_CMD_BENCH);

	cr_assert_not_null(strstr(text, "-j THREADS"), "%s", text);
	cr_assert_null(strstr(text, "--speed"), "%s", text);
	cr_assert_null(strstr(text, "--dlq"), "%s", text);
	free(text);
}

Test(config, load_reports_bytes_that_are_not_utf8_with_their_position)
{
	struct tmpdir t;
	FILE *f;

	tmp_make(&t);
	f = fopen(t.file, "w");
	cr_assert_not_null(f);
	fputs("input:\n  reorder_window: \"5\xff\"\n", f);
	fclose(f);
	cr_assert_eq(load(t.file), AF_E_CONFIG);
	tmp_remove(&t);
	cr_assert(strstr(err, "/cfg.yaml:2:21: invalid leading UTF-8 octet") != NULL, "%s", err);
}

/* ---- outputs of `auditflow run`: http, syslog, rotation; secrets ---- */

Test(config, starts_with_no_http_or_syslog_output_and_no_rotation)
{
	cr_assert_eq(cfg.http.kind, AF_CONFIG_HTTP_NONE);
	cr_assert_null(cfg.http.url);
	cr_assert_null(cfg.http.token);
	cr_assert_null(cfg.http.username);
	cr_assert_null(cfg.http.password);
	cr_assert_null(cfg.http.bearer_token);
	cr_assert_null(cfg.http.api_key);
	cr_assert_null(cfg.http.index);
	cr_assert_null(cfg.http.sourcetype);
	cr_assert_null(cfg.http.ca_file);
	cr_assert_not(cfg.http.tls_insecure);
	cr_assert_not(cfg.http.events);
	cr_assert_eq(cfg.http.batch_items, 500u);
	cr_assert_eq(cfg.http.max_retries, 0u);
	cr_assert_eq(cfg.http.linger, INT64_C(100000000), "100ms");
	cr_assert_eq(cfg.http.backoff, INT64_C(100000000), "100ms");
	cr_assert_eq(cfg.http.backoff_max, INT64_C(30000000000), "30s");
	cr_assert_null(cfg.syslog.target);
	cr_assert_eq(cfg.syslog.facility, 16, "local0");
	cr_assert_str_eq(cfg.syslog.app_name, "auditflow");
	cr_assert_eq(cfg.syslog.format, AF_OUTPUT_NATIVE);
	cr_assert_str_eq(cfg.syslog.sd_id, "auditflow@32473");
	cr_assert_eq(cfg.output.rotate_bytes, 0u);
	cr_assert_eq(cfg.output.rotate_keep, 5u);
}

Test(config, http_kind_takes_hec_es_webhook_and_none)
{
	cr_assert_eq(set("http.kind", "hec"), AF_OK);
	cr_assert_eq(cfg.http.kind, AF_CONFIG_HTTP_HEC);
	cr_assert_eq(set("http.kind", "es"), AF_OK);
	cr_assert_eq(cfg.http.kind, AF_CONFIG_HTTP_ES);
	cr_assert_eq(set("http.kind", "webhook"), AF_OK);
	cr_assert_eq(cfg.http.kind, AF_CONFIG_HTTP_WEBHOOK);
	cr_assert_eq(set("http.kind", "none"), AF_OK);
	cr_assert_eq(cfg.http.kind, AF_CONFIG_HTTP_NONE);
	cr_assert_eq(set("http.kind", "splunk"), AF_E_CONFIG);
	cr_assert_str_eq(err, "http.kind: expected one of none|hec|es|webhook, got \"splunk\"");
}

Test(config, http_linger_and_backoff_take_durations)
{
	cr_assert_eq(set("http.linger", "0"), AF_OK);
	cr_assert_eq(cfg.http.linger, 0);
	cr_assert_eq(set("http.backoff", "250ms"), AF_OK);
	cr_assert_eq(cfg.http.backoff, INT64_C(250000000));
	cr_assert_eq(set("http.backoff_max", "2m"), AF_OK);
	cr_assert_eq(cfg.http.backoff_max, INT64_C(120000000000));
	cr_assert_eq(set("http.backoff_max", "soon"), AF_E_CONFIG);
}

Test(config, syslog_facility_names_map_to_their_rfc5424_numbers)
{
	static const struct {
		const char *name;
		int number;
	} cases[] = {{"kern", 0},   {"user", 1},    {"auth", 4},   {"authpriv", 10},
	             {"audit", 13}, {"local0", 16}, {"local7", 23}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(set("syslog.facility", cases[i].name), AF_OK, "%s", err);
		cr_assert_eq(cfg.syslog.facility, cases[i].number, "%s", cases[i].name);
	}
	cr_assert_eq(set("syslog.facility", "local8"), AF_E_CONFIG);
}

Test(config, syslog_format_takes_the_alert_schemas_but_not_table)
{
	cr_assert_eq(set("syslog.format", "ecs"), AF_OK);
	cr_assert_eq(cfg.syslog.format, AF_OUTPUT_ECS);
	cr_assert_eq(set("syslog.format", "ocsf"), AF_OK);
	cr_assert_eq(cfg.syslog.format, AF_OUTPUT_OCSF);
	cr_assert_eq(set("syslog.format", "table"), AF_E_CONFIG);
	cr_assert_eq(cfg.syslog.format, AF_OUTPUT_OCSF);
}

Test(config, http_batch_items_must_be_at_least_one)
{
	cr_assert_eq(set("http.batch_items", "0"), AF_E_CONFIG);
	cr_assert_eq(set("http.batch_items", "100"), AF_OK);
	cr_assert_eq(cfg.http.batch_items, 100u);
	cr_assert_eq(set("http.max_retries", "8"), AF_OK);
	cr_assert_eq(cfg.http.max_retries, 8u);
}

Test(config, rotation_takes_a_size_and_keeps_at_least_one_file)
{
	cr_assert_eq(set("output.rotate_bytes", "10MiB"), AF_OK);
	cr_assert_eq(cfg.output.rotate_bytes, 10u << 20);
	cr_assert_eq(set("output.rotate_keep", "0"), AF_E_CONFIG);
	cr_assert_eq(set("output.rotate_keep", "30"), AF_OK);
	cr_assert_eq(cfg.output.rotate_keep, 30u);
}

Test(config, run_takes_http_url_and_syslog_options_and_replay_does_not)
{
	const char *argv[] = {"--http-url", "https://hec.example:8088", "--syslog",
	                      "udp://127.0.0.1:514"};

	cr_assert_eq(args(AF_CMD_RUN, 4, argv), AF_OK, "%s", err);
	cr_assert_str_eq(cfg.http.url, "https://hec.example:8088");
	cr_assert_str_eq(cfg.syslog.target, "udp://127.0.0.1:514");
	af_config_fini(&cfg);
	af_config_init(&cfg);
	cr_assert_eq(args(AF_CMD_REPLAY, 2, argv), AF_E_CONFIG);
}

Test(config, no_secret_key_has_a_command_line_option)
{
	size_t n;
	const struct af_config_section *sec = af_config_sections(&n);
	size_t secrets = 0;

	for (size_t s = 0; s < n; s++) {
		for (size_t i = 0; i < sec[s].count; i++) {
			const struct af_config_key *k = &sec[s].keys[i];

			if (!k->secret)
				continue;
			secrets++;
			cr_assert(k->opt == NULL && k->opt_short == 0, "%s has an option", k->key);
		}
	}
	cr_assert_eq(secrets, 4u, "http.token, password, bearer_token, api_key");
}

/* cfg dumped, as text (owned). */
static char *dump_text(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_not_null(f);
	cr_assert_eq(af_config_dump(&cfg, f), AF_OK);
	fclose(f);
	return text;
}

Test(config, dump_writes_secret_keys_as_stars)
{
	cr_assert_eq(set("http.kind", "hec"), AF_OK);
	cr_assert_eq(set("http.token", "hec-4f1e-secret"), AF_OK);
	cr_assert_eq(set("http.password", "pw-secret"), AF_OK);
	cr_assert_eq(set("http.api_key", "key-secret"), AF_OK);
	cr_assert_eq(set("http.username", "splunker"), AF_OK);
	char *text = dump_text();

	cr_assert_null(strstr(text, "secret\""), "%s", text);
	cr_assert_not_null(strstr(text, "http:\n  kind: hec\n  url: ~\n  token: \"***\"\n"), "%s",
	                   text);
	cr_assert_not_null(strstr(text, "  username: \"splunker\"\n  password: \"***\"\n"), "%s",
	                   text);
	cr_assert_not_null(strstr(text, "  bearer_token: ~\n  api_key: \"***\"\n"),
	                   "an unset secret shows as unset: %s", text);
	free(text);
}

Test(config, dump_hides_the_values_of_secret_kafka_settings)
{
	cr_assert_eq(set("kafka.props", "security.protocol=SASL_SSL"), AF_OK);
	cr_assert_eq(set("kafka.props", "sasl.password=hunter2"), AF_OK);
	cr_assert_eq(set("kafka.props", "SSL.KEY.PASSWORD=hunter3"), AF_OK);
	cr_assert_eq(set("kafka.props", "sasl.oauthbearer.config=principal=hunter4"), AF_OK);
	cr_assert_eq(set("kafka.props", "hunter5"), AF_OK);
	char *text = dump_text();

	cr_assert_null(strstr(text, "hunter"), "%s", text);
	cr_assert_not_null(strstr(text, "  props: [\"security.protocol=SASL_SSL\", "
	                                "\"sasl.password=***\", \"SSL.KEY.PASSWORD=***\", "
	                                "\"sasl.oauthbearer.config=***\", \"***\"]\n"),
	                   "%s", text);
	free(text);
}

Test(config, load_takes_a_secret_from_the_environment_and_the_dump_hides_it)
{
	struct tmpdir t;
	FILE *f;

	setenv("AF_TEST_HEC_TOKEN", "11111111-2222-3333-4444-555555555555", 1);
	tmp_make(&t);
	f = fopen(t.file, "w");
	cr_assert_not_null(f);
	fputs("http:\n  kind: hec\n  url: https://hec.example:8088\n"
	      "  token: ${AF_TEST_HEC_TOKEN}\n",
	      f);
	fclose(f);
	cr_assert_eq(load(t.file), AF_OK, "%s", err);
	tmp_remove(&t);
	cr_assert_str_eq(cfg.http.token, "11111111-2222-3333-4444-555555555555");
	char *text = dump_text();
	cr_assert_null(strstr(text, "5555"), "%s", text);
	free(text);
}

Test(config, a_bad_variable_reference_in_a_secret_is_reported_without_the_value)
{
	struct tmpdir t;
	FILE *f;

	tmp_make(&t);
	f = fopen(t.file, "w");
	cr_assert_not_null(f);
	fputs("http:\n  password: \"pa55${word\"\n", f);
	fclose(f);
	cr_assert_eq(load(t.file), AF_E_CONFIG);
	cr_assert_not_null(strstr(err, "http.password: unterminated"), "%s", err);
	cr_assert_null(strstr(err, "pa55"), "%s", err);
	f = fopen(t.file, "w");
	cr_assert_not_null(f);
	fputs("kafka:\n  props:\n    - \"sasl.password=pa66${w-rd}\"\n", f);
	fclose(f);
	af_config_fini(&cfg);
	af_config_init(&cfg);
	cr_assert_eq(load(t.file), AF_E_CONFIG);
	tmp_remove(&t);
	cr_assert_not_null(strstr(err, "kafka.props: bad variable name"), "%s", err);
	cr_assert_null(strstr(err, "pa66"), "%s", err);
	cr_assert_null(strstr(err, "w-rd"), "%s", err);
}

Test(config, help_says_which_keys_are_secrets)
{
	char *text = help_text(AF_CMD_RUN);

	cr_assert_not_null(strstr(text, "http.token (string; default none; secret"), "%s", text);
	cr_assert_not_null(strstr(text, "http.api_key (string; default none; secret"), "%s", text);
	cr_assert_not_null(strstr(text, "http.url (string; default none)\n"), "%s", text);
	cr_assert_not_null(strstr(text, "--http-url URL"), "%s", text);
	cr_assert_not_null(strstr(text, "--syslog TARGET"), "%s", text);
	free(text);
}

/* ---- findings of the fuzzer (tests/fuzz/fuzz_config.c) ---- */

/* Load text as a configuration file into c. */
static af_err_t load_text_into(struct af_config *c, const char *text)
{
	struct tmpdir t;
	FILE *f;
	af_err_t e;

	tmp_make(&t);
	f = fopen(t.file, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	e = af_config_load(c, t.file, err, sizeof(err));
	tmp_remove(&t);
	return e;
}

/* The fuzzer's file was http.url: "\N", U+0085: a YAML line break, which
 * the dump wrote raw inside its quotes and which read back as a space.
 * U+2028 and U+2029 are line breaks too; U+0080 (a C1 control) and
 * U+FFFE made the dump unreadable; U+FEFF is a byte order mark. */
Test(config, dump_escapes_what_yaml_reads_as_a_line_break_or_refuses)
{
	static const char *const odd[] = {"\xc2\x80",     "a\xe2\x80\xa8z", "\xe2\x80\xa9",
	                                  "\xef\xbb\xbf", "\xef\xbf\xbe",   "\xc2\x9f\xc3\xa9"};
	static const char *const keys[] = {"output.alerts",  "output.events", "output.dlq",
	                                   "output.summary", "geo.city",      "geo.asn"};
	struct af_config back;

	cr_assert_eq(load_text_into(&cfg, "http.url: \"\\N\"\n"), AF_OK, "%s", err);
	cr_assert_str_eq(cfg.http.url, "\xc2\x85");
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		cr_assert_eq(set(keys[i], odd[i]), AF_OK, "%s", err);
	char *text = dump_text();

	af_config_init(&back);
	cr_assert_eq(load_text_into(&back, text), AF_OK, "%s\n%s", err, text);
	cr_assert_str_eq(back.http.url, "\xc2\x85", "%s", text);
	cr_assert_not_null(strstr(text, "  url: \"\\u0085\"\n"), "%s", text);
	cr_assert_str_eq(back.output.alerts, odd[0]);
	cr_assert_str_eq(back.output.events, odd[1]);
	cr_assert_str_eq(back.output.dlq, odd[2]);
	cr_assert_str_eq(back.output.summary, odd[3]);
	cr_assert_str_eq(back.geo.city, odd[4]);
	cr_assert_str_eq(back.geo.asn, odd[5]);
	af_config_fini(&back);
	free(text);
}
