/* log.h - the operational log of `auditflow run` and `replay`: one line
 * per event (a warning, an error, a start or stop notice, a line of
 * librdkafka's), logfmt or JSON, filtered by level.
 *
 * Thread: any. A logger is made once on the main thread at start-up
 * (af_log_init) and only read afterwards, so every thread may log through
 * it without a lock.
 * In: a level, a message and a few key/value fields.
 * Out: one line on the logger's descriptor (standard error), written with
 * one write(2).
 *
 *   logfmt: ts=2025-08-25T05:58:00.123Z level=warn msg="geo: reload failed" component=geo
 *   json:   {"ts":"2025-08-25T05:58:00.123Z","level":"warn","msg":"...","component":"geo"}
 *
 * ts is the wall clock in RFC 3339 UTC with milliseconds; level is error,
 * warn, info or debug; msg is the text; the fields follow in the caller's
 * order. logfmt quotes a value that is empty or holds a space, '=', '"',
 * '\', a control character or invalid UTF-8, and escapes inside the quotes
 * as JSON does ("\"", "\\", "\n", "\u001b"); JSON strings are escaped per
 * RFC 8259. Invalid UTF-8 becomes U+FFFD in both, so a line is always valid
 * UTF-8 and never holds a raw line break. A line is at most AF_LOG_LINE_MAX
 * bytes: a longer one has its values cut (at character boundaries) and
 * gains truncated=true.
 *
 * DESIGN: no process-wide logger. A logger is a value the command makes
 * from its configuration (log.format, log.level) and hands to what logs:
 * cmd/stream.h's functions take one, and the Kafka source, the Kafka sink
 * and the geo hub take one in their options (NULL: af_log_default(), which
 * is what a test or a tool that never configures logging gets). Lines from
 * several threads never interleave: each is formatted whole on the caller's
 * stack and written with one write(2), and a write of at most PIPE_BUF
 * bytes to a pipe is atomic (to a file, Linux serialises writes to one
 * open file). The logger knows nothing of secrets: whatever may carry one
 * (librdkafka's lines, -X errors, HTTP answers) is redacted before it gets
 * here (pipeline/kafka_conf.h, sinks/http.h).
 */
#ifndef AF_LOG_H
#define AF_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* log.level; the configuration's choices are in this order. */
enum af_log_level {
	AF_LOG_ERROR = 0, /* the run fails or loses something */
	AF_LOG_WARN,      /* it goes on, but someone should look */
	AF_LOG_INFO,      /* start, stop, where things are served (default) */
	AF_LOG_DEBUG,     /* for whoever is chasing a problem (librdkafka's debug) */
};

/* log.format; the configuration's choices are in this order. */
enum af_log_format {
	AF_LOG_LOGFMT = 0,
	AF_LOG_JSON,
};

/* Longest line, its newline included: PIPE_BUF, so that a line reaches a
 * pipe in one piece. */
#define AF_LOG_LINE_MAX 4096
/* Most fields a line takes, and the longest key: a line with every field
 * cut short always fits in AF_LOG_LINE_MAX. */
#define AF_LOG_FIELDS_MAX 8
#define AF_LOG_KEY_MAX    32

struct af_log {
	int fd;                    /* where lines go (borrowed: never closed) */
	enum af_log_format format; /* of every line */
	enum af_log_level level;   /* lines less severe than this are dropped */
};

/* One key/value field. Both borrowed for the call. key: fixed by the code,
 * 1 to AF_LOG_KEY_MAX bytes of [a-z0-9_.]; value: any NUL-terminated text
 * (NULL: the field is left out). */
struct af_log_field {
	const char *key;
	const char *value;
};

/* Make a logger writing lines of format at level or more severe to fd. */
void af_log_init(struct af_log *lg, int fd, enum af_log_format format, enum af_log_level level);

/* The logger of whoever did not make one: standard error, logfmt, info.
 * Static, read-only. */
const struct af_log *af_log_default(void);

/* lg, or af_log_default() when lg is NULL. */
const struct af_log *af_log_or_default(const struct af_log *lg);

/* Whether a line at level would be written. */
static inline bool af_log_on(const struct af_log *lg, enum af_log_level level)
{
	return level <= lg->level;
}

/* The name of level ("error", ...). */
const char *af_log_level_name(enum af_log_level level);

/* The level of a syslog severity (librdkafka's log levels): 0-3 error,
 * 4 warn, 5-6 info, 7 and above debug. */
enum af_log_level af_log_level_of_syslog(int severity);

/* Format one line into buf[size]: ts (ns since the epoch, wall clock),
 * level, msg (NUL-terminated, borrowed), then fields[0..nfields) (values
 * NULL skipped), and a newline. Returns the line's length (no NUL is
 * added), at most AF_LOG_LINE_MAX. Pure: for af_log_write and for tests.
 * @pre size >= AF_LOG_LINE_MAX; nfields <= AF_LOG_FIELDS_MAX; ts_ns >= 0. */
size_t af_log_format_line(char *buf, size_t size, enum af_log_format format, int64_t ts_ns,
                          enum af_log_level level, const char *msg,
                          const struct af_log_field *fields, size_t nfields);

/* Write one line at level, now, when lg lets it through. Errors writing
 * are ignored: there is nowhere left to report them.
 * @pre as for af_log_format_line.
 * Cost: a clock read, formatting on the stack (4 KiB) and a write(2). */
void af_log_write(const struct af_log *lg, enum af_log_level level, const char *msg,
                  const struct af_log_field *fields, size_t nfields);

/* The same with the message formatted as printf does, and one field
 * component=COMPONENT (NULL: none). */
void af_log_printf(const struct af_log *lg, enum af_log_level level, const char *component,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* af_log_printf when lg lets level through: a line filtered out costs one
 * compare, its arguments are not even evaluated. */
#define AF_LOG(lg, level, component, ...)                                                          \
	do {                                                                                       \
		const struct af_log *af_log_lg_ = (lg);                                            \
		if (af_log_on(af_log_lg_, (level)))                                                \
			af_log_printf(af_log_lg_, (level), (component), __VA_ARGS__);              \
	} while (0)

#endif
