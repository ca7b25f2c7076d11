/* fuzz_config.c - libFuzzer target for the configuration loader
 * (pipeline/config.h).
 *
 * Thread: libFuzzer's, one input at a time.
 * In: any bytes, taken as the YAML file of `-c FILE`. Out: nothing; a
 * crash, a sanitizer report, a leak or an abort() is the finding.
 *
 * DESIGN: the input goes the way a user's file goes: written to a file
 * (in a private directory, on /dev/shm when there is one) and given to
 * af_config_parse_args as "-c FILE", then, when it loads, through the
 * checks a job runs before it starts that need nothing outside the
 * configuration: af_rules_check (replay, run, validate) and the syslog
 * output's af_syslog_fmt_check (run). The geo databases and lists it may
 * name are not opened: a fuzzed path could be any file.
 * What config.h promises is checked too:
 *   - a file that does not load fails with AF_E_CONFIG and a message that
 *     starts with the file's name, or with AF_E_NOMEM;
 *   - af_config_dump of a loaded configuration is a file af_config_load
 *     reads back to the same values, secrets excepted (those read back as
 *     "***", or "KEY=***" for a secret entry of a list), and dumping what
 *     was read back gives the same text again.
 * A few environment variables are set at start, so that ${NAME} in a
 * value expands to text that is hard to write back (quotes, '$', '{',
 * line breaks, YAML indicators, non-ASCII); the dictionary
 * (tests/fuzz/fuzz_config.dict) names them. Every configuration is freed
 * (af_config_fini) before the next input; the files are rewritten for
 * each.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>

#include "scratch.h"
#include "cmd/stream.h"
#include "pipeline/config.h"
#include "pipeline/rules/rule.h"
#include "sinks/syslog.h"
#include "sinks/syslog_impl.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void remove_files(void);


#define SECRET_SHOWN "***"

/* libFuzzer gives no context pointer: the directory lives for the process
 * (removed at exit). */
static char dir[64];
static char in_path[96], dump_path[96];

static void remove_files(void)
{
	unlink(in_path);
	unlink(dump_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	CHECK(af_fuzz_scratch(dir, sizeof(dir), "fuzz_config", remove_files));
	snprintf(in_path, sizeof(in_path), "%s/in.yaml", dir);
	snprintf(dump_path, sizeof(dump_path), "%s/dump.yaml", dir);
	setenv("AF_FUZZ_WORD", "word", 1);
	setenv("AF_FUZZ_NUM", "42", 1);
	setenv("AF_FUZZ_EMPTY", "", 1);
	setenv("AF_FUZZ_ODD", "a\"b'c\\d${NOT_A_VAR}$${x}$ {}[],:#&*!|>%@`\t\r\n- ? end", 1);
	/* é, U+0085 (a YAML line break), U+2028, U+FEFF, U+0080 (a C1
	 * control), an emoji. */
	setenv("AF_FUZZ_UTF8",
	       "\xc3\xa9 \xc2\x85 \xe2\x80\xa8 \xef\xbb\xbf \xc2\x80 \xf0\x9f\x99\x82", 1);
	setenv("AF_FUZZ_PROP", "sasl.password=hunter2", 1);
	return 0;
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	CHECK(f != NULL);
	CHECK(n == 0 || fwrite(p, 1, n, f) == n);
	CHECK(fclose(f) == 0);
}

/* ---- the checks a job runs before it starts ---- */

static void check_before_start(const struct af_config *cfg)
{
	struct af_syslog_opts sl;
	char err[512] = "";
	af_err_t e;

	e = af_rules_check(&cfg->rules, err, sizeof(err));
	CHECK(e == AF_OK || (e == AF_E_CONFIG && strncmp(err, "rules.", 6) == 0));

	/* As auditflow run builds them. */
	af_stream_syslog_opts(&cfg->syslog, &sl);
	err[0] = '\0';
	e = af_syslog_fmt_check(&sl, err, sizeof(err));
	CHECK(e == AF_OK || (e == AF_E_CONFIG && err[0] != '\0'));
}

/* ---- the dump reads back ---- */

static char *dump(const struct af_config *cfg, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	CHECK(f != NULL);
	CHECK(af_config_dump(cfg, f) == AF_OK);
	CHECK(fclose(f) == 0);
	return text;
}

/* How a secret entry of a list reads back. */
static bool entry_shown(const char *item, const char *back)
{
	const char *eq = strchr(item, '=');
	size_t key = eq ? (size_t)(eq - item) : 0;

	if (eq == NULL)
		return strcmp(back, SECRET_SHOWN) == 0;
	return strncmp(back, item, key) == 0 && strcmp(back + key, "=" SECRET_SHOWN) == 0;
}

/* Whether the list entry is one the dump hides (config.h: a secret row,
 * or a row of KEY=VALUE entries whose value is a secret or which is no
 * KEY=VALUE at all). */
static bool entry_secret(const struct af_config_key *k, const char *item)
{
	if (k->secret)
		return true;
	return k->secret_entry != NULL && (strchr(item, '=') == NULL || k->secret_entry(item));
}

static void same_value(const struct af_config *a, const struct af_config *b,
                       const struct af_config_key *k)
{
	const char *pa = (const char *)a + k->offset, *pb = (const char *)b + k->offset;
	const struct af_config_strlist *la, *lb;
	const char *sa, *sb;

	switch (k->type) {
	case AF_CONFIG_T_BOOL: CHECK(*(const bool *)pa == *(const bool *)pb); return;
	case AF_CONFIG_T_UINT:
	case AF_CONFIG_T_SIZE:
	case AF_CONFIG_T_DURATION:
	case AF_CONFIG_T_ENUM:
	case AF_CONFIG_T_DOUBLE:
		/* Stored as themselves: the same bytes are the same value
		 * (a double that reads back as -0 for 0 would differ). */
		CHECK(memcmp(pa, pb, k->size) == 0);
		return;
	case AF_CONFIG_T_STRING:
		sa = *(const char *const *)pa;
		sb = *(const char *const *)pb;
		CHECK((sa == NULL) == (sb == NULL));
		if (sa != NULL)
			CHECK(strcmp(sb, k->secret ? SECRET_SHOWN : sa) == 0);
		return;
	case AF_CONFIG_T_STRLIST:
		la = (const struct af_config_strlist *)pa;
		lb = (const struct af_config_strlist *)pb;
		CHECK(la->count == lb->count);
		for (size_t i = 0; i < la->count; i++) {
			if (!entry_secret(k, la->items[i]))
				CHECK(strcmp(la->items[i], lb->items[i]) == 0);
			else if (k->secret)
				CHECK(strcmp(lb->items[i], SECRET_SHOWN) == 0);
			else
				CHECK(entry_shown(la->items[i], lb->items[i]));
		}
		return;
	}
	abort();
}

static void check_dump_reads_back(const struct af_config *cfg)
{
	struct af_config back;
	char err[1024] = "";
	size_t len1, len2, nsec;
	char *text1 = dump(cfg, &len1), *text2;

	write_file(dump_path, text1, len1);
	af_config_init(&back);
	if (af_config_load(&back, dump_path, err, sizeof(err)) != AF_OK) {
		fprintf(stderr, "fuzz_config: the dump does not load: %s\n---\n%s---\n", err,
		        text1);
		af_fuzz_fail(__FILE__, __LINE__, "af_config_load of the dump");
	}
	const struct af_config_section *sec = af_config_sections(&nsec);
	for (size_t s = 0; s < nsec; s++)
		for (size_t i = 0; i < sec[s].count; i++)
			same_value(cfg, &back, &sec[s].keys[i]);
	text2 = dump(&back, &len2);
	if (len1 != len2 || memcmp(text1, text2, len1) != 0) {
		fprintf(stderr, "fuzz_config: dump, load, dump differs:\n---\n%s---\n%s---\n",
		        text1, text2);
		af_fuzz_fail(__FILE__, __LINE__, "the second dump");
	}
	free(text1);
	free(text2);
	af_config_fini(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct af_config cfg;
	char err[1024] = "";
	char *argv[] = {"-c", in_path};
	af_err_t e;

	write_file(in_path, data, size);
	af_config_init(&cfg);
	e = af_config_parse_args(&cfg, AF_CMD_REPLAY, 2, argv, err, sizeof(err));
	if (e == AF_OK) {
		CHECK(cfg.cli.config_path != NULL && strcmp(cfg.cli.config_path, in_path) == 0);
		CHECK(cfg.cli.args.count == 0 && !cfg.cli.help);
		check_before_start(&cfg);
		check_dump_reads_back(&cfg);
	} else {
		CHECK(e == AF_E_NOMEM ||
		      (e == AF_E_CONFIG && strncmp(err, in_path, strlen(in_path)) == 0));
		CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	}
	af_config_fini(&cfg);
	return 0;
}
