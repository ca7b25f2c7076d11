/* kafka_conf.h - the user's librdkafka settings (kcat's -X KEY=VALUE), as
 * the Kafka source (ingest/kafka.c) and the Kafka sink (sinks/kafka.c)
 * both take them: applying one to a configuration with an error text that
 * names the key, telling which keys hold secrets, and keeping secret
 * values out of any text shown.
 *
 * Thread: any; pure functions over their arguments (rd_kafka_conf_set
 * aside, which touches only the configuration given).
 * In: "key=value" entries, librdkafka configurations, texts to show.
 * Out: errors that name the -X at fault; texts with secrets as "***".
 *
 * Secret keys: a key holding "password", "secret", "sasl.oauthbearer.config",
 * "ssl.key" or "ssl_key", in any case. Their values are never written by
 * these functions, and af_kafka_conf_redact removes them from texts that
 * others wrote (librdkafka's error strings repeat values). The value of an
 * unknown key is never shown either: it may be a secret under a misspelt
 * key. An entry that is not KEY=VALUE is named by its position only: it
 * may be a secret pasted without its key. librdkafka's own log lines reach
 * the log only through af_kafka_conf_log, redacted the same way.
 */
#ifndef AF_KAFKA_CONF_H
#define AF_KAFKA_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "pipeline/err.h"
#include "pipeline/log.h"

/* Whether the value under key is a secret. key: NUL-terminated, or a whole
 * "key=value" entry (judged by the part before '='). */
bool af_kafka_conf_is_secret(const char *key);

/* text into out[out_size] with the value of every secret entry of
 * props[0..nprops) ("key=value"; other entries and empty values ignored)
 * replaced by "***" wherever it occurs, the longest first where two start
 * at one place; cut to fit after the replacement, so that no piece of a
 * secret survives a cut. All borrowed; text and out must not overlap.
 * @pre out_size > 0.
 * Cost: O(len(text) * nprops); for error texts, not per record. */
void af_kafka_conf_redact(const char *const *props, size_t nprops, const char *text, char *out,
                          size_t out_size);

/* The entry as it may be shown: "key=value", "key=***" for a secret key;
 * "#N" (index + 1) when it is not KEY=VALUE. prop borrowed. */
void af_kafka_conf_show(const char *prop, size_t index, char *out, size_t out_size);

/* One of librdkafka's log lines (a log callback's level, fac and buf) as
 * a line of lg: at the level of its syslog severity
 * (af_log_level_of_syslog), the text as msg with the secrets of
 * props[0..nprops) as "***" (af_kafka_conf_redact), and the fields
 * component=kafka, client (its role: "consumer", "producer"), topic (NULL:
 * none) and facility (fac). librdkafka 2.x writes "[redacted]" for the
 * settings it knows to be sensitive; this catches the rest: a secret
 * repeated in an error text or pasted under another key.
 * Thread: librdkafka's, in a log callback; props must not change
 * meanwhile. All borrowed.
 * Cost: a compare when lg drops the level; else the redaction and a
 * write(2). */
void af_kafka_conf_log(const struct af_log *lg, const char *const *props, size_t nprops,
                       const char *client, const char *topic, int level, const char *fac,
                       const char *buf);

/* Apply -X entry prop ("key=value", number index from 0 among the -X) to
 * conf. Returns AF_OK, or AF_E_CONFIG with errstr, one of:
 *   "-X setting #N is not KEY=VALUE"            (nothing of it shown)
 *   "-X KEY: no such librdkafka setting (...)"  (the value not shown)
 *   "-X KEY=VALUE: <librdkafka's reason>"       (a bad value; a secret
 *                                                 key's value as "***",
 *                                                 also in the reason)
 * with no prefix: the caller adds its own ("kafka: "). prop borrowed;
 * librdkafka copies the value. */
af_err_t af_kafka_conf_set(rd_kafka_conf_t *conf, const char *prop, size_t index, char *errstr,
                           size_t errstr_size);

#endif
