/* kafka_conf.c - -X KEY=VALUE settings for librdkafka: apply, judge
 * secrecy, redact, and log librdkafka's lines redacted (see kafka_conf.h).
 *
 * Thread: any. In: "key=value" entries and texts. Out: configurations set,
 * errors naming the key, redacted texts and log lines.
 *
 * DESIGN: redaction is by value, not by position in a format string: a
 * secret is replaced wherever it turns up, in our words or librdkafka's,
 * so a text assembled from several pieces cannot leak one by accident.
 */
#include "pipeline/kafka_conf.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The longest key taken; librdkafka's longest is under 64 bytes. */
#define KEY_MAX 256

bool af_kafka_conf_is_secret(const char *key)
{
	static const char *const marks[] = {"password", "secret", "sasl.oauthbearer.config",
	                                    "ssl.key", "ssl_key"};
	size_t len = strcspn(key, "=");

	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		size_t m = strlen(marks[i]);
		for (size_t at = 0; at + m <= len; at++)
			if (strncasecmp(key + at, marks[i], m) == 0)
				return true;
	}
	return false;
}

/* The value of a secret entry, or NULL (not secret, no '=', empty). */
static const char *secret_value(const char *prop)
{
	const char *eq = strchr(prop, '=');

	if (eq == NULL || eq == prop || eq[1] == '\0' || !af_kafka_conf_is_secret(prop))
		return NULL;
	return eq + 1;
}

void af_kafka_conf_redact(const char *const *props, size_t nprops, const char *text, char *out,
                          size_t out_size)
{
	size_t n = 0;

	while (*text != '\0' && n + 1 < out_size) {
		size_t skip = 0;
		for (size_t i = 0; i < nprops; i++) {
			const char *v = secret_value(props[i]);
			size_t len = v != NULL ? strlen(v) : 0;
			if (len > skip && strncmp(text, v, len) == 0)
				skip = len;
		}
		if (skip == 0) {
			out[n++] = *text++;
			continue;
		}
		for (const char *m = "***"; *m != '\0' && n + 1 < out_size; m++)
			out[n++] = *m;
		text += skip;
	}
	out[n] = '\0';
}

void af_kafka_conf_show(const char *prop, size_t index, char *out, size_t out_size)
{
	const char *eq = strchr(prop, '=');

	if (eq == NULL || eq == prop)
		snprintf(out, out_size, "#%zu", index + 1);
	else if (af_kafka_conf_is_secret(prop))
		snprintf(out, out_size, "%.*s=***", (int)(eq - prop), prop);
	else
		snprintf(out, out_size, "%s", prop);
}

void af_kafka_conf_log(const struct af_log *lg, const char *const *props, size_t nprops,
                       const char *client, const char *topic, int level, const char *fac,
                       const char *buf)
{
	enum af_log_level lv = af_log_level_of_syslog(level);
	char clean[AF_LOG_LINE_MAX];

	if (!af_log_on(lg, lv))
		return;
	af_kafka_conf_redact(props, nprops, buf, clean, sizeof(clean));
	const struct af_log_field fields[] = {
	    {"component", "kafka"},
	    {"client", client},
	    {"topic", topic},
	    {"facility", fac},
	};
	af_log_write(lg, lv, clean, fields, sizeof(fields) / sizeof(fields[0]));
}

af_err_t af_kafka_conf_set(rd_kafka_conf_t *conf, const char *prop, size_t index, char *errstr,
                           size_t errstr_size)
{
	const char *eq = strchr(prop, '=');
	char key[KEY_MAX], why[512], clean[512], shown[KEY_MAX + 600];

	if (eq == NULL || eq == prop) {
		snprintf(errstr, errstr_size, "-X setting #%zu is not KEY=VALUE", index + 1);
		return AF_E_CONFIG;
	}
	size_t klen = (size_t)(eq - prop);
	if (klen >= sizeof(key)) {
		snprintf(errstr, errstr_size,
		         "-X setting #%zu: no such librdkafka setting (a key of %zu bytes)",
		         index + 1, klen);
		return AF_E_CONFIG;
	}
	memcpy(key, prop, klen);
	key[klen] = '\0';
	switch (rd_kafka_conf_set(conf, key, eq + 1, why, sizeof(why))) {
	case RD_KAFKA_CONF_OK: return AF_OK;
	case RD_KAFKA_CONF_UNKNOWN:
		snprintf(errstr, errstr_size,
		         "-X %s: no such librdkafka setting (see librdkafka's CONFIGURATION.md)",
		         key);
		return AF_E_CONFIG;
	default:
		af_kafka_conf_redact(&prop, 1, why, clean, sizeof(clean));
		af_kafka_conf_show(prop, index, shown, sizeof(shown));
		snprintf(errstr, errstr_size, "-X %s: %s", shown, clean);
		return AF_E_CONFIG;
	}
}
