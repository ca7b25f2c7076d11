/* log.c - the operational log: one line formatted and written per call
 * (see log.h).
 *
 * Thread: any; a logger is read-only once made.
 * In: a level, a message, fields. Out: one line on the logger's descriptor.
 *
 * DESIGN: both formats are built with the JSON writer (sinks/jsonw.h) over
 * a buffer on the stack: JSON's strings for JSON, and for logfmt the
 * quoted values, whose escapes are JSON's. So there is one escaper in the
 * tree, and both formats replace invalid UTF-8 the same way. A line that
 * does not fit is formatted again with its values cut: the message halved
 * each time, the fields to a fixed length, shorter and shorter, until it
 * fits. That is rare (librdkafka's longest lines are a few hundred bytes)
 * and costs a few more passes over 4 KiB, never an allocation.
 */
#include "pipeline/log.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/parse/timestamp.h"
#include "pipeline/utf8.h"
#include "sinks/jsonw.h"

#define NS_PER_S  1000000000
#define NS_PER_MS 1000000

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static const struct af_log default_log = {
    .fd = STDERR_FILENO,
    .format = AF_LOG_LOGFMT,
    .level = AF_LOG_INFO,
};

void af_log_init(struct af_log *lg, int fd, enum af_log_format format, enum af_log_level level)
{
	*lg = (struct af_log){.fd = fd, .format = format, .level = level};
}

const struct af_log *af_log_default(void)
{
	return &default_log;
}

const struct af_log *af_log_or_default(const struct af_log *lg)
{
	return lg != NULL ? lg : &default_log;
}

const char *af_log_level_name(enum af_log_level level)
{
	assert(level >= AF_LOG_ERROR && level <= AF_LOG_DEBUG);
	return level_names[level];
}

enum af_log_level af_log_level_of_syslog(int severity)
{
	if (severity <= 3)
		return AF_LOG_ERROR;
	if (severity == 4)
		return AF_LOG_WARN;
	if (severity <= 6)
		return AF_LOG_INFO;
	return AF_LOG_DEBUG;
}

/* "2025-08-25T05:58:00.123Z" into ts[AF_TS_TEXT_MAX]: af_ts_format's date
 * and time of day, and always three digits of milliseconds (it trims the
 * fraction, and log lines read better in one width). @pre ns >= 0. */
static void format_ts(int64_t ns, char *ts)
{
	int64_t s = ns / NS_PER_S;
	int ms = (int)(ns % NS_PER_S / NS_PER_MS);

	af_ts_format(s * NS_PER_S, ts, AF_TS_TEXT_MAX);
	snprintf(ts + 19, AF_TS_TEXT_MAX - 19, ".%03dZ", ms);
}

/* Whether logfmt may write s[0..len) as it is: not empty, and nothing a
 * reader would take for the end of the value or of the line, nor an
 * escape, nor bytes that are not UTF-8. */
static bool logfmt_plain(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == 0x7f || c == '=' || c == '"' || c == '\\')
			return false;
	}
	return af_jsonw_utf8_valid(s, len);
}

/* key and the value s[0..len) onto the line: ,"key":"s" in JSON, " key=s"
 * in logfmt. For logfmt the writer is used at depth 0, where it adds no
 * separators, so af_jsonw_raw appends text as it is. */
static void put_field(struct af_jsonw *w, enum af_log_format format, const char *key, const char *s,
                      size_t len)
{
	if (format == AF_LOG_JSON) {
		af_jsonw_field_string_len(w, key, s, len);
		return;
	}
	af_jsonw_raw(w, " ", 1);
	af_jsonw_raw(w, key, strlen(key));
	af_jsonw_raw(w, "=", 1);
	if (logfmt_plain(s, len))
		af_jsonw_raw(w, s, len);
	else
		af_jsonw_string_len(w, s, len);
}

/* One attempt at the line in buf[size]: the message cut to msg_max bytes
 * and each field's value to field_max, with truncated=true when cut is
 * set. Returns its length, or 0 when it does not fit. */
static size_t format_cut(char *buf, size_t size, enum af_log_format format, const char *ts,
                         enum af_log_level level, const char *msg, size_t msg_max,
                         const struct af_log_field *fields, size_t nfields, size_t field_max,
                         bool cut)
{
	struct af_jsonw w;
	size_t len = strlen(msg);

	af_jsonw_init(&w, buf, size, NULL);
	if (format == AF_LOG_JSON) {
		af_jsonw_object_begin(&w);
		af_jsonw_field_string(&w, "ts", ts);
	} else {
		af_jsonw_raw(&w, "ts=", 3);
		af_jsonw_raw(&w, ts, strlen(ts));
	}
	put_field(&w, format, "level", level_names[level], strlen(level_names[level]));
	put_field(&w, format, "msg", msg, af_utf8_cut(msg, len, msg_max));
	for (size_t i = 0; i < nfields; i++) {
		const char *v = fields[i].value;
		assert(fields[i].key != NULL && strlen(fields[i].key) <= AF_LOG_KEY_MAX);
		if (v != NULL)
			put_field(&w, format, fields[i].key, v,
			          af_utf8_cut(v, strlen(v), field_max));
	}
	if (cut && format == AF_LOG_JSON) {
		af_jsonw_key(&w, "truncated");
		af_jsonw_bool(&w, true);
	} else if (cut) {
		af_jsonw_raw(&w, " truncated=true", 15);
	}
	if (format == AF_LOG_JSON)
		af_jsonw_object_end(&w);
	return af_jsonw_end_line(&w) == AF_OK ? w.len : 0;
}

size_t af_log_format_line(char *buf, size_t size, enum af_log_format format, int64_t ts_ns,
                          enum af_log_level level, const char *msg,
                          const struct af_log_field *fields, size_t nfields)
{
	/* The field lengths of the attempts after the first. The last
	 * always fits: AF_LOG_FIELDS_MAX keys of AF_LOG_KEY_MAX bytes and
	 * values of 64 bytes at 6 bytes each (every byte a \u00XX) come to
	 * under 3.5 KiB, the rest of the line to under 100 bytes. */
	static const size_t field_cuts[] = {1024, 256, 64};
	char ts[AF_TS_TEXT_MAX];
	size_t msg_len = strlen(msg), n;

	assert(size >= AF_LOG_LINE_MAX && nfields <= AF_LOG_FIELDS_MAX);
	assert(level >= AF_LOG_ERROR && level <= AF_LOG_DEBUG && ts_ns >= 0);
	/* Never more than AF_LOG_LINE_MAX, whatever size says. */
	size = AF_LOG_LINE_MAX;
	format_ts(ts_ns, ts);
	n = format_cut(buf, size, format, ts, level, msg, msg_len, fields, nfields, SIZE_MAX,
	               false);
	for (size_t k = 0; n == 0 && k < sizeof(field_cuts) / sizeof(field_cuts[0]); k++) {
		for (size_t m = msg_len; n == 0; m /= 2) {
			n = format_cut(buf, size, format, ts, level, msg, m, fields, nfields,
			               field_cuts[k], true);
			if (m == 0)
				break;
		}
	}
	assert(n > 0);
	return n;
}

/* buf[0..len) to fd, the rest after a short write; given up on an error. */
static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		len -= (size_t)w;
	}
}

void af_log_write(const struct af_log *lg, enum af_log_level level, const char *msg,
                  const struct af_log_field *fields, size_t nfields)
{
	char line[AF_LOG_LINE_MAX];
	struct timespec now;
	int saved = errno; /* a caller may log between a failure and its strerror */

	if (!af_log_on(lg, level))
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t ns = (int64_t)now.tv_sec * NS_PER_S + now.tv_nsec;
	size_t n = af_log_format_line(line, sizeof(line), lg->format, ns < 0 ? 0 : ns, level, msg,
	                              fields, nfields);
	write_all(lg->fd, line, n);
	errno = saved;
}

void af_log_printf(const struct af_log *lg, enum af_log_level level, const char *component,
                   const char *fmt, ...)
{
	char msg[AF_LOG_LINE_MAX];
	const struct af_log_field field = {"component", component};
	va_list ap;

	if (!af_log_on(lg, level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	af_log_write(lg, level, msg, &field, component != NULL ? 1 : 0);
}
