/* config_args.c - the command line of a subcommand, and its --help.
 *
 * Thread: main thread at start-up only.
 * In: the words after the subcommand's name; the rows' options and help.
 * Out: af_config_parse_args fills struct af_config (the file given with -c
 * first, then the options over it) and cfg->cli; af_config_help writes the
 * options of a command and every key.
 *
 * DESIGN: options are rows too (a row's opt, opt_short and commands), so
 * the command line needs no list of its own. Arguments are read in two
 * passes: the first collects the options and finds -c, the second applies
 * the options after the file is loaded, so the command line wins whatever
 * the order of the words.
 */
#include <stdlib.h>
#include <string.h>

#include "pipeline/config_impl.h"

static const char *const command_names[] = {"replay", "run", "bench", "validate"};

static const char *command_name(unsigned command)
{
	for (size_t i = 0; i < sizeof(command_names) / sizeof(command_names[0]); i++)
		if (command == 1u << i)
			return command_names[i];
	return "?";
}

static const char *type_name(const struct af_config_key *k)
{
	static const char *const names[] = {
	    [AF_CONFIG_T_BOOL] = "bool",     [AF_CONFIG_T_UINT] = "integer",
	    [AF_CONFIG_T_DOUBLE] = "number", [AF_CONFIG_T_DURATION] = "duration",
	    [AF_CONFIG_T_SIZE] = "size",     [AF_CONFIG_T_ENUM] = "choice",
	    [AF_CONFIG_T_STRING] = "string", [AF_CONFIG_T_STRLIST] = "list of strings",
	};
	return names[k->type];
}

/* ---- command line ---- */

struct cli_opt {
	const struct af_config_key *k;
	const char *label; /* the option as written, for messages */
	int label_len;
	const char *value; /* NULL: a bool flag without a value */
	bool negated;      /* --no-FLAG */
};

/* The row whose option is name[0..len) (or short letter c when len == 0). */
static const struct af_config_key *opt_find(const char *name, size_t len, char c)
{
	size_t n;
	const struct af_config_section *sec = af_config_sections(&n);

	for (size_t s = 0; s < n; s++) {
		for (size_t i = 0; i < sec[s].count; i++) {
			const struct af_config_key *k = &sec[s].keys[i];

			if (len == 0 ? (c != 0 && k->opt_short == c)
			             : (k->opt != NULL && strlen(k->opt) == len &&
			                strncmp(k->opt, name, len) == 0))
				return k;
		}
	}
	return NULL;
}

static bool is_long(const char *arg, const char *name, size_t len)
{
	return strlen(name) == len && strncmp(arg, name, len) == 0;
}

enum cli_kind { CLI_ROW, CLI_CONFIG, CLI_HELP, CLI_UNKNOWN };

/* What the option word arg is. Fills o (label, row, negated) and *value when
 * the value is in the word itself ("--opt=value", "-ovalue"). */
static enum cli_kind cli_lookup(const char *arg, struct cli_opt *o, const char **value)
{
	const char *name = arg + 2, *eq;
	size_t len;

	o->label = arg;
	if (arg[1] != '-') {
		o->label_len = 2;
		*value = arg[2] != '\0' ? arg + 2 : NULL;
		if (arg[1] == 'h' && *value == NULL)
			return CLI_HELP;
		if (arg[1] == 'c')
			return CLI_CONFIG;
		o->k = opt_find(NULL, 0, arg[1]);
		return o->k ? CLI_ROW : CLI_UNKNOWN;
	}
	eq = strchr(name, '=');
	len = eq ? (size_t)(eq - name) : strlen(name);
	o->label_len = (int)(len + 2);
	*value = eq ? eq + 1 : NULL;
	if (is_long(name, "help", len))
		return CLI_HELP;
	if (is_long(name, "config", len))
		return CLI_CONFIG;
	o->k = opt_find(name, len, 0);
	if (o->k == NULL && len > 3 && strncmp(name, "no-", 3) == 0) {
		o->k = opt_find(name + 3, len - 3, 0);
		o->negated = true;
		if (o->k != NULL && o->k->type != AF_CONFIG_T_BOOL)
			o->k = NULL;
	}
	return o->k ? CLI_ROW : CLI_UNKNOWN;
}

af_err_t af_config_parse_args(struct af_config *cfg, unsigned command, int argc, char **argv,
                              char *errstr, size_t errstr_size)
{
	struct cli_opt *opts = calloc((size_t)argc + 1, sizeof(*opts));
	unsigned char *cli_seen = calloc(af_config_key_count() + 1, 1);
	const char *config = NULL;
	size_t nopts = 0;
	bool positional_only = false;
	char why[320];
	af_err_t err = AF_E_NOMEM;

	af_config_strlist_clear(&cfg->cli.args);
	free(cfg->cli.config_path);
	cfg->cli.config_path = NULL;
	cfg->cli.help = false;
	if (opts == NULL || cli_seen == NULL)
		goto cleanup;

	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *value;
		struct cli_opt o = {0};
		enum cli_kind kind;

		if (positional_only || arg[0] != '-' || arg[1] == '\0') {
			if (af_config_strlist_push(&cfg->cli.args, arg) != AF_OK)
				goto cleanup;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			positional_only = true;
			continue;
		}
		kind = cli_lookup(arg, &o, &value);
		if (kind == CLI_HELP) {
			cfg->cli.help = true;
			err = AF_OK;
			goto cleanup;
		}
		if (kind == CLI_UNKNOWN) {
			err = af_config_fail(errstr, errstr_size, AF_E_CONFIG,
			                     "unknown option %.*s", o.label_len, arg);
			goto cleanup;
		}
		if (kind == CLI_ROW && !(o.k->commands & command)) {
			err = af_config_fail(errstr, errstr_size, AF_E_CONFIG,
			                     "option %.*s is not accepted by auditflow %s",
			                     o.label_len, arg, command_name(command));
			goto cleanup;
		}
		if (kind == CLI_ROW && o.k->type == AF_CONFIG_T_BOOL) {
			/* Only "--flag=BOOL" carries a value. */
			if (value != NULL && (o.negated || arg[1] != '-')) {
				err =
				    af_config_fail(errstr, errstr_size, AF_E_CONFIG,
				                   "option %.*s takes no value", o.label_len, arg);
				goto cleanup;
			}
		} else if (value == NULL) {
			if (i + 1 >= argc) {
				err = af_config_fail(errstr, errstr_size, AF_E_CONFIG,
				                     "option %.*s needs a value", o.label_len, arg);
				goto cleanup;
			}
			value = argv[++i];
		}
		if (kind == CLI_CONFIG && config != NULL) {
			err =
			    af_config_fail(errstr, errstr_size, AF_E_CONFIG,
			                   "option %.*s: only one configuration file may be given",
			                   o.label_len, arg);
			goto cleanup;
		}
		if (kind == CLI_CONFIG) {
			config = value;
			continue;
		}
		o.value = value;
		opts[nopts++] = o;
	}

	if (config != NULL) {
		cfg->cli.config_path = strdup(config);
		if (cfg->cli.config_path == NULL)
			goto cleanup;
		err = af_config_load(cfg, config, errstr, errstr_size);
		if (err != AF_OK)
			goto cleanup;
	}
	/* After the file, so the command line wins whatever the order. */
	for (size_t i = 0; i < nopts; i++) {
		const struct cli_opt *o = &opts[i];
		size_t idx = af_config_key_index(o->k);
		const char *value = o->value ? o->value : o->negated ? "false" : "true";

		/* A list given on the command line replaces the file's. */
		if (o->k->type == AF_CONFIG_T_STRLIST && !cli_seen[idx])
			af_config_strlist_clear(af_config_field(cfg, o->k));
		cli_seen[idx] = 1;
		err = af_config_assign(cfg, o->k, value, why, sizeof(why));
		if (err != AF_OK) {
			af_config_fail(errstr, errstr_size, err, "option %.*s (%s): %s",
			               o->label_len, o->label, o->k->key, why);
			goto cleanup;
		}
	}
	err = AF_OK;
cleanup:
	if (err == AF_E_NOMEM)
		af_config_fail(errstr, errstr_size, err, "out of memory");
	free(opts);
	free(cli_seen);
	return err;
}

/* ---- help ---- */

static void opt_synopsis(const struct af_config_key *k, char *buf, size_t size)
{
	char meta[160];
	size_t len = 0;

	if (k->type == AF_CONFIG_T_ENUM) {
		for (size_t i = 0; k->choices[i] != NULL && len < sizeof(meta); i++)
			len += (size_t)snprintf(meta + len, sizeof(meta) - len, "%s%s",
			                        i ? "|" : "", k->choices[i]);
	} else {
		snprintf(meta, sizeof(meta), "%s", k->metavar ? k->metavar : "VALUE");
	}
	if (k->type == AF_CONFIG_T_BOOL && k->opt != NULL && k->opt_short != 0)
		snprintf(buf, size, "-%c, --%s, --no-%s", k->opt_short, k->opt, k->opt);
	else if (k->type == AF_CONFIG_T_BOOL && k->opt != NULL)
		snprintf(buf, size, "--%s, --no-%s", k->opt, k->opt);
	else if (k->type == AF_CONFIG_T_BOOL)
		snprintf(buf, size, "-%c", k->opt_short);
	else if (k->opt != NULL && k->opt_short != 0)
		snprintf(buf, size, "-%c, --%s %s", k->opt_short, k->opt, meta);
	else if (k->opt != NULL)
		snprintf(buf, size, "--%s %s", k->opt, meta);
	else
		snprintf(buf, size, "-%c %s", k->opt_short, meta);
}

void af_config_help(FILE *out, unsigned command)
{
	size_t n;
	const struct af_config_section *sec = af_config_sections(&n);
	char syn[200];

	if (command != 0) {
		fprintf(out, "Options of auditflow %s:\n", command_name(command));
		fprintf(out, "  %-30s %s\n", "-c, --config FILE",
		        "read the configuration from FILE (YAML); options override it");
		fprintf(out, "  %-30s %s\n", "-h, --help", "show this help");
		for (size_t s = 0; s < n; s++) {
			for (size_t i = 0; i < sec[s].count; i++) {
				const struct af_config_key *k = &sec[s].keys[i];

				if (!(k->commands & command))
					continue;
				opt_synopsis(k, syn, sizeof(syn));
				fprintf(out, "  %-30s %s\n  %-30s (%s, default %s%s)\n", syn,
				        k->help, "", k->key, k->def ? k->def : "none",
				        k->type == AF_CONFIG_T_STRLIST ? "; repeatable" : "");
			}
		}
		fprintf(out, "\n");
	}
	fprintf(out, "Configuration keys (the -c file; \"section: {key: value}\" or dotted keys;\n"
	             "${NAME} in a value is the environment variable, the way to give a secret;\n"
	             "$${ is a literal ${):\n");
	for (size_t s = 0; s < n; s++) {
		for (size_t i = 0; i < sec[s].count; i++) {
			const struct af_config_key *k = &sec[s].keys[i];

			fprintf(out, "  %s (%s", k->key, type_name(k));
			if (k->type == AF_CONFIG_T_ENUM) {
				for (size_t c = 0; k->choices[c] != NULL; c++)
					fprintf(out, "%s%s", c ? "|" : ": ", k->choices[c]);
			}
			fprintf(out, "; default %s", k->def ? k->def : "none");
			if (k->min != NULL || k->max != NULL)
				fprintf(out, "; range %s..%s", k->min ? k->min : "",
				        k->max ? k->max : "");
			if (k->secret)
				fputs("; secret: never shown, write it as ${NAME}", out);
			fprintf(out, ")\n      %s\n", k->help);
		}
	}
}
