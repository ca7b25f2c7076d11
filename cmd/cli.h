/* cli.h - splitting a long option ("--name" or "--name=value") for the
 * subcommands that parse their own options (gen, bench, broker).
 *
 * Thread: any (pure). In: one argument. Out: its name and inline value.
 */
#ifndef AF_CLI_H
#define AF_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* The name of arg (without "--") into name[size], and into *value what
 * follows '=' (borrowed from arg), or NULL when there is no '=' (the value,
 * if the option takes one, is the next argument). Returns false, name
 * unset, when the name does not fit.
 * @pre arg starts with "--"; size > 0. */
static inline bool af_cli_split(const char *arg, char *name, size_t size, const char **value)
{
	const char *eq = strchr(arg + 2, '=');
	size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);

	if (len >= size)
		return false;
	memcpy(name, arg + 2, len);
	name[len] = '\0';
	*value = eq ? eq + 1 : NULL;
	return true;
}

#endif
