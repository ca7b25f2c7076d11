/* config.c - the configuration engine's core: finding rows; init, fini, set.
 *
 * Thread: main thread at start-up only.
 * In: the rows of pipeline/config_table.c; a key name and a text value.
 * Out: a struct af_config at its defaults, with one key set, or freed; the
 * row look-ups that the YAML loader, the command line and the dump share
 * (declared in pipeline/config_impl.h).
 *
 * DESIGN: nothing in the engine names a key. A value goes text -> checked
 * value -> the member at the row's offset through one function,
 * af_config_assign (config_value.c), so the file (config_yaml.c), the
 * command line (config_args.c), af_config_set and the defaults share one
 * path and one set of messages. A key is known only if a row has that exact
 * name, and a prefix is a section only if some row starts with it. Rows are
 * found by a linear walk: there are few, and only start-up looks.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/config_impl.h"

af_err_t af_config_fail(char *errstr, size_t errstr_size, af_err_t err, const char *fmt, ...)
{
	va_list ap;

	if (errstr_size > 0) {
		va_start(ap, fmt);
		vsnprintf(errstr, errstr_size, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* ---- rows ---- */

const struct af_config_key *af_config_key_find(const char *name)
{
	size_t n;
	const struct af_config_section *sec = af_config_sections(&n);

	for (size_t s = 0; s < n; s++)
		for (size_t k = 0; k < sec[s].count; k++)
			if (strcmp(sec[s].keys[k].key, name) == 0)
				return &sec[s].keys[k];
	return NULL;
}

bool af_config_key_is_prefix(const char *name)
{
	size_t n, len = strlen(name);
	const struct af_config_section *sec = af_config_sections(&n);

	for (size_t s = 0; s < n; s++)
		for (size_t k = 0; k < sec[s].count; k++)
			if (strncmp(sec[s].keys[k].key, name, len) == 0 &&
			    sec[s].keys[k].key[len] == '.')
				return true;
	return false;
}

size_t af_config_key_count(void)
{
	size_t n, total = 0;
	const struct af_config_section *sec = af_config_sections(&n);

	for (size_t s = 0; s < n; s++)
		total += sec[s].count;
	return total;
}

size_t af_config_key_index(const struct af_config_key *k)
{
	size_t n, base = 0;
	const struct af_config_section *sec = af_config_sections(&n);

	for (size_t s = 0; s < n; s++) {
		for (size_t i = 0; i < sec[s].count; i++)
			if (&sec[s].keys[i] == k)
				return base + i;
		base += sec[s].count;
	}
	abort();
}

bool af_config_value_secret(const struct af_config_key *k, const char *text)
{
	if (k->secret)
		return true;
	return k->secret_entry != NULL && (strchr(text, '=') == NULL || k->secret_entry(text));
}

/* ---- public: init, fini, set ---- */

void af_config_init(struct af_config *cfg)
{
	size_t n;
	const struct af_config_section *sec = af_config_sections(&n);

	memset(cfg, 0, sizeof(*cfg));
	for (size_t s = 0; s < n; s++)
		for (size_t k = 0; k < sec[s].count; k++)
			af_config_reset(cfg, &sec[s].keys[k]);
}

void af_config_fini(struct af_config *cfg)
{
	size_t n;
	const struct af_config_section *sec = af_config_sections(&n);

	for (size_t s = 0; s < n; s++) {
		for (size_t k = 0; k < sec[s].count; k++) {
			const struct af_config_key *key = &sec[s].keys[k];

			if (key->type == AF_CONFIG_T_STRING)
				af_config_str_reset(cfg, key);
			else if (key->type == AF_CONFIG_T_STRLIST)
				af_config_strlist_clear(af_config_field(cfg, key));
		}
	}
	af_config_strlist_clear(&cfg->cli.args);
	free(cfg->cli.config_path);
	memset(cfg, 0, sizeof(*cfg));
}

af_err_t af_config_set(struct af_config *cfg, const char *key, const char *text, char *errstr,
                       size_t errstr_size)
{
	const struct af_config_key *k = af_config_key_find(key);
	char why[256];
	af_err_t err;

	if (k == NULL)
		return af_config_fail(errstr, errstr_size, AF_E_CONFIG, "%s: %s", key,
		                      af_config_key_is_prefix(key) ? "is a section, not a key"
		                                                   : "unknown key");
	err = af_config_assign(cfg, k, text, why, sizeof(why));
	if (err != AF_OK)
		return af_config_fail(errstr, errstr_size, err, "%s: %s", key, why);
	return AF_OK;
}
