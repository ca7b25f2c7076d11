/* config_dump.c - write a configuration's effective values as YAML.
 *
 * Thread: main thread at start-up only.
 * In: a struct af_config. Out: a YAML document on a FILE, one mapping per
 * section, that af_config_load reads back to the same values.
 *
 * DESIGN: each value is written in the largest unit that holds it exactly
 * (durations, sizes) or the shortest form that reads back the same
 * (doubles), so the dump stays readable and still round-trips. Secrets are
 * the exception: a dump is for showing, so a secret value is written as
 * "***" (an entry "KEY=VALUE" as "KEY=***") and reads back as that text.
 */
#include <stdlib.h>
#include <string.h>

#include "pipeline/config_impl.h"
#include "pipeline/utf8.h"

/* ---- dump ---- */

static void dump_duration(FILE *out, int64_t ns)
{
	static const struct {
		const char *name;
		int64_t ns;
	} units[] = {
	    {"d", 86400000000000}, {"h", 3600000000000}, {"m", 60000000000},
	    {"s", 1000000000},     {"ms", 1000000},      {"us", 1000},
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ns % units[i].ns == 0) {
			fprintf(out, "%lld%s", (long long)(ns / units[i].ns), units[i].name);
			return;
		}
	}
	fprintf(out, "%lldns", (long long)ns);
}

static void dump_size(FILE *out, uint64_t bytes)
{
	static const char *const units[] = {"TiB", "GiB", "MiB", "KiB"};

	for (size_t i = 0; i < 4 && bytes != 0; i++) {
		unsigned shift = 10 * (4 - (unsigned)i);

		if (bytes % (1ull << shift) == 0) {
			fprintf(out, "%llu%s", (unsigned long long)(bytes >> shift), units[i]);
			return;
		}
	}
	fprintf(out, "%llu", (unsigned long long)bytes);
}

/* The shortest %g form that reads back as the same double. */
static void dump_double(FILE *out, double d)
{
	char buf[40];

	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	fputs(buf, out);
}

/* The code point of the UTF-8 sequence at s[0..len) into *cp, and its
 * length; 0 when it is not a whole, shortest-form sequence. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n = af_utf8_lead_len(s[0]);
	static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};

	if (n == 1 || n > len)
		return 0;
	*cp = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	if (*cp < min[n] || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n;
}

/* Code points a YAML reader refuses in a scalar (C1 controls, U+FFFE,
 * U+FFFF) or takes for something else (U+0085, U+2028 and U+2029 are
 * line breaks, folded into a space; U+FEFF is a byte order mark): they
 * are written as escapes. */
static bool yaml_needs_escape(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff ||
	       cp == 0xfffe || cp == 0xffff;
}

/* s[0..len) inside a YAML double-quoted scalar that af_config_load reads
 * back as that text: a '$' before '{' is doubled so it is not taken for a
 * ${VAR}. Bytes that are not UTF-8 (a value can only get them from the
 * environment) have no YAML form and are written as they are. */
static void dump_string_body(FILE *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp = c;
		size_t n = c < 0x80 ? 1 : utf8_decode((const unsigned char *)s + i, len - i, &cp);

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else if (c == '$' && i + 1 < len && s[i + 1] == '{')
			fputs("$$", out);
		else if (n > 1 && yaml_needs_escape(cp))
			fprintf(out, "\\u%04x", (unsigned)cp);
		else
			fwrite(s + i, 1, n > 1 ? n : 1, out);
		if (n > 1)
			i += n - 1;
	}
}

static void dump_string(FILE *out, const char *s)
{
	fputc('"', out);
	dump_string_body(out, s, strlen(s));
	fputc('"', out);
}

#define SECRET_SHOWN "***"

/* A list entry, with its value hidden when it is a secret: "KEY=***" for
 * a KEY=VALUE entry, "***" for the rest. */
static void dump_entry(FILE *out, const struct af_config_key *k, const char *item)
{
	const char *eq = strchr(item, '=');

	if (!af_config_value_secret(k, item)) {
		dump_string(out, item);
	} else if (k->secret || eq == NULL) {
		dump_string(out, SECRET_SHOWN);
	} else {
		fputc('"', out);
		dump_string_body(out, item, (size_t)(eq - item));
		fputs("=" SECRET_SHOWN "\"", out);
	}
}

static void dump_value(FILE *out, const struct af_config *cfg, const struct af_config_key *k)
{
	const void *p = af_config_field_c(cfg, k);
	const struct af_config_strlist *l;

	switch (k->type) {
	case AF_CONFIG_T_BOOL: fputs(*(const bool *)p ? "true" : "false", out); return;
	case AF_CONFIG_T_UINT:
		fprintf(out, "%llu",
		        k->size == sizeof(uint32_t) ? (unsigned long long)*(const uint32_t *)p
		                                    : (unsigned long long)*(const uint64_t *)p);
		return;
	case AF_CONFIG_T_DOUBLE: dump_double(out, *(const double *)p); return;
	case AF_CONFIG_T_DURATION: dump_duration(out, *(const int64_t *)p); return;
	case AF_CONFIG_T_SIZE: dump_size(out, *(const uint64_t *)p); return;
	case AF_CONFIG_T_ENUM: fputs(k->choices[*(const int *)p], out); return;
	case AF_CONFIG_T_STRING:
		if (*(const char *const *)p == NULL)
			fputs("~", out);
		else if (k->secret)
			dump_string(out, SECRET_SHOWN);
		else
			dump_string(out, *(const char *const *)p);
		return;
	case AF_CONFIG_T_STRLIST:
		l = p;
		fputc('[', out);
		for (size_t i = 0; i < l->count; i++) {
			if (i > 0)
				fputs(", ", out);
			dump_entry(out, k, l->items[i]);
		}
		fputc(']', out);
		return;
	}
}

af_err_t af_config_dump(const struct af_config *cfg, FILE *out)
{
	size_t n;
	const struct af_config_section *sec = af_config_sections(&n);

	for (size_t s = 0; s < n; s++) {
		size_t skip = strlen(sec[s].name) + 1;

		fprintf(out, "%s:\n", sec[s].name);
		for (size_t i = 0; i < sec[s].count; i++) {
			fprintf(out, "  %s: ", sec[s].keys[i].key + skip);
			dump_value(out, cfg, &sec[s].keys[i]);
			fputc('\n', out);
		}
	}
	return ferror(out) ? AF_E_IO : AF_OK;
}
