/* config_impl.h - what the configuration engine's files share; internal.
 *
 * Thread: main thread at start-up only, like pipeline/config.h.
 * In/out: rows (struct af_config_key) and a struct af_config; nothing here
 * is for modules outside pipeline/config*.c, which use pipeline/config.h.
 *
 * DESIGN: the engine is one idea per file: config.c finds rows and holds
 * init, fini and set; config_value.c turns text into a member's value;
 * config_yaml.c reads the file; config_args.c the command line and --help;
 * config_dump.c writes the values back as YAML. Every value, wherever it
 * comes from, goes through af_config_assign.
 */
#ifndef AF_CONFIG_IMPL_H
#define AF_CONFIG_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "pipeline/config.h"

/* Write the message to errstr (when errstr_size > 0) and return err, so a
 * failure is one statement: return af_config_fail(...). */
__attribute__((format(printf, 4, 5))) af_err_t af_config_fail(char *errstr, size_t errstr_size,
                                                              af_err_t err, const char *fmt, ...);

/* ---- rows (config.c) ---- */

/* The row named name ("output.dlq"), or NULL. Borrowed: static data.
 * Cost: a linear walk over every row. */
const struct af_config_key *af_config_key_find(const char *name);

/* True when some key is name + "." + more: name is a section or a group. */
bool af_config_key_is_prefix(const char *name);

/* Rows in all sections. */
size_t af_config_key_count(void);

/* Position of k among all rows (0..af_config_key_count()), for per-key
 * flags. @pre k is a row of af_config_sections(). */
size_t af_config_key_index(const struct af_config_key *k);

/* Whether text, a value of k (one entry of a list), must not be shown: k
 * is secret, or k's entries are KEY=VALUE and this one's value is a secret
 * (k->secret_entry), or it is no KEY=VALUE at all (a secret pasted without
 * its key, maybe). text borrowed. */
bool af_config_value_secret(const struct af_config_key *k, const char *text);

/* The member k describes. */
static inline void *af_config_field(struct af_config *cfg, const struct af_config_key *k)
{
	return (char *)cfg + k->offset;
}

static inline const void *af_config_field_c(const struct af_config *cfg,
                                            const struct af_config_key *k)
{
	return (const char *)cfg + k->offset;
}

/* ---- values (config_value.c) ---- */

/* Parse text as k's value, check its range and store it (append, for a
 * list). On failure cfg is unchanged and why says what is wrong with text.
 * Returns AF_OK, AF_E_CONFIG or AF_E_NOMEM. text is borrowed (copied if
 * kept). */
af_err_t af_config_assign(struct af_config *cfg, const struct af_config_key *k, const char *text,
                          char *why, size_t why_size);

/* Restore k's default (free a string that replaced it; empty a list). */
void af_config_reset(struct af_config *cfg, const struct af_config_key *k);

/* A string key back to its default; frees the value unless it is the
 * default's own text. @pre k->type == AF_CONFIG_T_STRING. */
void af_config_str_reset(struct af_config *cfg, const struct af_config_key *k);

/* Free every item and leave the list empty. */
void af_config_strlist_clear(struct af_config_strlist *l);

/* Append a copy of s. Returns AF_OK or AF_E_NOMEM (l unchanged). */
af_err_t af_config_strlist_push(struct af_config_strlist *l, const char *s);

/* What a value of k's type looks like, for "expected ..." messages. */
void af_config_type_expect(const struct af_config_key *k, char *buf, size_t size);

#endif
