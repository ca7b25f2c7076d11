/* test_log.c - the operational log: logfmt's quoting and escaping, JSON's
 * escaping (control characters, invalid UTF-8) checked by parsing the line
 * back with the record parser, the cut of a line past the limit, the level
 * filter, and whole lines from several threads, read through a pipe. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/log.h"
#include "pipeline/parse/json.h"

/* 2025-08-25T05:58:00.123456789Z */
#define TS 1756101480123456789LL

static char line[AF_LOG_LINE_MAX + 1];

/* One line formatted at TS, NUL-terminated (static storage). */
static const char *fmt_line(enum af_log_format format, enum af_log_level level, const char *msg,
                            const struct af_log_field *fields, size_t nfields)
{
	size_t n =
	    af_log_format_line(line, AF_LOG_LINE_MAX, format, TS, level, msg, fields, nfields);
	cr_assert_leq(n, AF_LOG_LINE_MAX);
	line[n] = '\0';
	return line;
}

/* Check that value, as the field k of a logfmt line, is written shown. */
static void expect_logfmt(const char *value, const char *shown)
{
	const struct af_log_field f = {"k", value};
	char want[AF_LOG_LINE_MAX];
	snprintf(want, sizeof(want), "ts=2025-08-25T05:58:00.123Z level=info msg=m k=%s\n", shown);
	cr_assert_str_eq(fmt_line(AF_LOG_LOGFMT, AF_LOG_INFO, "m", &f, 1), want);
}

/* ---- JSON, read back ---- */

enum { S_TS, S_LEVEL, S_MSG, S_COMPONENT, S_TRUNCATED, S_COUNT };

struct parsed {
	char ts[64], level[16], msg[AF_LOG_LINE_MAX], component[AF_LOG_LINE_MAX];
	bool truncated;
};

/* Parse a JSON line (the newline its last byte) as the record parser
 * does: a valid JSON object, whole; its string fields unescaped. */
static struct parsed parse_json(const char *text)
{
	static const struct af_jpath paths[] = {
	    {"ts", S_TS, 0},
	    {"level", S_LEVEL, 0},
	    {"msg", S_MSG, 0},
	    {"component", S_COMPONENT, 0},
	    {"truncated", S_TRUNCATED, 0},
	};
	char err[256], buf[AF_LOG_LINE_MAX + AF_JSON_PADDING] = {0};
	struct af_jval v[S_COUNT];
	struct parsed out = {0};
	size_t len = strlen(text);

	cr_assert(len > 0 && text[len - 1] == '\n', "one line, newline ended: %s", text);
	cr_assert_null(memchr(text, '\n', len - 1), "no line break inside: %s", text);
	memcpy(buf, text, len - 1);
	struct af_jspec *spec = af_jspec_new(paths, S_COUNT, S_COUNT, err, sizeof(err));
	struct af_jparser *p = af_jparser_new(AF_LOG_LINE_MAX);
	cr_assert(spec != NULL && p != NULL, "%s", err);
	cr_assert_eq(af_jparser_validate(p, buf, len - 1), AF_REASON_NONE, "not JSON: %s", text);
	cr_assert_eq(af_jparser_extract(p, spec, buf, len - 1, v), AF_REASON_NONE, "%s", text);
	char *dst[] = {out.ts, out.level, out.msg, out.component};
	size_t cap[] = {sizeof(out.ts), sizeof(out.level), sizeof(out.msg), sizeof(out.component)};
	for (int i = S_TS; i <= S_COMPONENT; i++) {
		if (v[i].type == AF_J_ABSENT)
			continue;
		cr_assert_eq(v[i].type, AF_J_STRING, "slot %d: %s", i, text);
		cr_assert_lt(v[i].len, cap[i]);
		memcpy(dst[i], v[i].s, v[i].len);
	}
	out.truncated = v[S_TRUNCATED].type == AF_J_BOOL && v[S_TRUNCATED].b;
	af_jparser_free(p);
	af_jspec_free(spec);
	return out;
}

/* ---- a logger writing to a pipe ---- */

struct capture {
	int fd[2];
	struct af_log lg;
};

static void capture_open(struct capture *c, enum af_log_format format, enum af_log_level level)
{
	cr_assert_eq(pipe(c->fd), 0);
	af_log_init(&c->lg, c->fd[1], format, level);
}

/* Close the writing end and read all that was written (owned). */
static char *capture_close(struct capture *c)
{
	size_t len = 0, cap = 1 << 16;
	char *text = malloc(cap + 1);
	ssize_t n;

	cr_assert_not_null(text);
	close(c->fd[1]);
	while ((n = read(c->fd[0], text + len, cap - len)) > 0) {
		len += (size_t)n;
		if (len == cap)
			cr_assert_not_null(text = realloc(text, (cap *= 2) + 1));
	}
	close(c->fd[0]);
	text[len] = '\0';
	return text;
}

/* ---- logfmt ---- */

Test(log, writes_a_logfmt_line_as_ts_level_msg_then_the_fields_in_order)
{
	const struct af_log_field f[] = {{"component", "geo"}, {"file", "/var/lib/City.mmdb"}};
	cr_assert_str_eq(fmt_line(AF_LOG_LOGFMT, AF_LOG_WARN, "reload failed", f, 2),
	                 "ts=2025-08-25T05:58:00.123Z level=warn msg=\"reload failed\" "
	                 "component=geo file=/var/lib/City.mmdb\n");
}

Test(log, writes_three_digits_of_milliseconds_even_when_they_are_zero)
{
	char buf[AF_LOG_LINE_MAX + 1];
	size_t n = af_log_format_line(buf, AF_LOG_LINE_MAX, AF_LOG_LOGFMT, 1756101480000000000LL,
	                              AF_LOG_INFO, "x", NULL, 0);
	buf[n] = '\0';
	cr_assert_str_eq(buf, "ts=2025-08-25T05:58:00.000Z level=info msg=x\n");
}

Test(log, leaves_a_logfmt_value_without_spaces_or_quotes_unquoted)
{
	expect_logfmt("http://127.0.0.1:9464/metrics,a-b_c.d",
	              "http://127.0.0.1:9464/metrics,a-b_c.d");
}

Test(log, quotes_a_logfmt_value_that_holds_a_space)
{
	expect_logfmt("a b", "\"a b\"");
}

Test(log, quotes_a_logfmt_value_that_holds_an_equals_sign)
{
	expect_logfmt("a=b", "\"a=b\"");
}

Test(log, quotes_an_empty_logfmt_value)
{
	expect_logfmt("", "\"\"");
}

Test(log, escapes_quotes_and_backslashes_inside_a_quoted_logfmt_value)
{
	expect_logfmt("say \"hi\" C:\\x", "\"say \\\"hi\\\" C:\\\\x\"");
}

Test(log, quotes_a_logfmt_value_with_a_backslash_so_no_reader_unescapes_it)
{
	expect_logfmt("a\\n", "\"a\\\\n\"");
}

Test(log, escapes_control_characters_in_logfmt_so_a_value_cannot_start_a_new_line)
{
	expect_logfmt("one\ntwo\r\t\x1b[31m\x7f", "\"one\\ntwo\\r\\t\\u001b[31m\x7f\"");
}

Test(log, forges_no_field_when_a_value_holds_a_key_and_value_of_its_own)
{
	/* A value that would read as "level=error" outside quotes. */
	expect_logfmt("x level=error", "\"x level=error\"");
}

Test(log, keeps_valid_non_ascii_text_in_logfmt_as_it_is)
{
	expect_logfmt("Zürich-東京", "Zürich-東京");
}

Test(log, replaces_invalid_utf8_in_logfmt_with_the_replacement_character)
{
	/* A stray continuation byte, an overlong '/', a lone surrogate. */
	expect_logfmt("a\x80"
	              "b\xC0\xAF"
	              "c\xED\xA0\x80",
	              "\"a\xEF\xBF\xBD"
	              "b\xEF\xBF\xBD\xEF\xBF\xBD"
	              "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

Test(log, quotes_the_message_by_the_same_rule_as_any_value)
{
	cr_assert_str_eq(
	    fmt_line(AF_LOG_LOGFMT, AF_LOG_ERROR, "cannot resume: \"x\"", NULL, 0),
	    "ts=2025-08-25T05:58:00.123Z level=error msg=\"cannot resume: \\\"x\\\"\"\n");
}

Test(log, leaves_out_a_field_whose_value_is_null)
{
	const struct af_log_field f[] = {{"a", NULL}, {"b", "2"}};
	cr_assert_str_eq(fmt_line(AF_LOG_LOGFMT, AF_LOG_DEBUG, "x", f, 2),
	                 "ts=2025-08-25T05:58:00.123Z level=debug msg=x b=2\n");
}

/* ---- JSON ---- */

Test(log, writes_a_json_line_as_one_object_with_ts_level_msg_and_the_fields)
{
	const struct af_log_field f = {"component", "kafka"};
	const char *text = fmt_line(AF_LOG_JSON, AF_LOG_WARN, "offset commit failed", &f, 1);
	cr_assert_str_eq(text, "{\"ts\":\"2025-08-25T05:58:00.123Z\",\"level\":\"warn\","
	                       "\"msg\":\"offset commit failed\",\"component\":\"kafka\"}\n");
	struct parsed p = parse_json(text);
	cr_assert_str_eq(p.ts, "2025-08-25T05:58:00.123Z");
	cr_assert_str_eq(p.level, "warn");
	cr_assert_str_eq(p.msg, "offset commit failed");
	cr_assert_str_eq(p.component, "kafka");
}

Test(log, escapes_quotes_backslashes_and_control_characters_in_json)
{
	const char *msg = "say \"hi\" C:\\x\none\ttwo\x01\x1b";
	const char *text = fmt_line(AF_LOG_JSON, AF_LOG_INFO, msg, NULL, 0);
	cr_assert_not_null(
	    strstr(text, "\"msg\":\"say \\\"hi\\\" C:\\\\x\\none\\ttwo\\u0001\\u001b\""), "%s",
	    text);
	cr_assert_str_eq(parse_json(text).msg, msg, "reads back as the text");
}

Test(log, replaces_invalid_utf8_in_json_with_the_replacement_character)
{
	const struct af_log_field f = {"component", "\xFF"
	                                            "x\xE2\x82"};
	const char *text = fmt_line(AF_LOG_JSON, AF_LOG_INFO,
	                            "a\x80"
	                            "b\xC0\xAF",
	                            &f, 1);
	struct parsed p = parse_json(text);
	cr_assert_str_eq(p.msg, "a\xEF\xBF\xBD"
	                        "b\xEF\xBF\xBD\xEF\xBF\xBD");
	cr_assert_str_eq(p.component, "\xEF\xBF\xBD"
	                              "x\xEF\xBF\xBD\xEF\xBF\xBD");
}

/* ---- lines past the limit ---- */

Test(log, cuts_a_logfmt_line_past_the_limit_and_says_it_was_truncated)
{
	char *msg = malloc(3 * AF_LOG_LINE_MAX);
	cr_assert_not_null(msg);
	memset(msg, 'a', 3 * AF_LOG_LINE_MAX - 1);
	msg[3 * AF_LOG_LINE_MAX - 1] = '\0';
	const struct af_log_field f = {"component", "kafka"};
	const char *text = fmt_line(AF_LOG_LOGFMT, AF_LOG_INFO, msg, &f, 1);
	size_t len = strlen(text);
	cr_assert_gt(len, AF_LOG_LINE_MAX / 2, "the message keeps what fits: %zu bytes", len);
	cr_assert_eq(text[len - 1], '\n');
	cr_assert_not_null(strstr(text, " component=kafka truncated=true\n"), "%.100s", text);
	free(msg);
}

Test(log, cuts_a_json_line_of_escapes_past_the_limit_and_keeps_it_valid)
{
	/* Every byte of the message and of every field becomes \u00XX. */
	static char msg[AF_LOG_LINE_MAX], val[AF_LOG_FIELDS_MAX][AF_LOG_LINE_MAX];
	struct af_log_field f[AF_LOG_FIELDS_MAX];
	memset(msg, '\x01', sizeof(msg) - 1);
	for (size_t i = 0; i < AF_LOG_FIELDS_MAX; i++) {
		memset(val[i], '\x02', sizeof(val[i]) - 1);
		f[i] = (struct af_log_field){i == 0 ? "component" : "k", val[i]};
	}
	const char *text = fmt_line(AF_LOG_JSON, AF_LOG_INFO, msg, f, AF_LOG_FIELDS_MAX);
	struct parsed p = parse_json(text);
	cr_assert(p.truncated, "%.200s", text);
	cr_assert_str_eq(p.level, "info");
}

Test(log, cuts_a_value_at_a_character_boundary)
{
	/* One ASCII byte, then 3-byte characters: the cut (at a power of
	 * two) falls inside one, and keeping its first bytes would leave
	 * invalid UTF-8, read back as U+FFFD. */
	char *msg = malloc(3 * AF_LOG_LINE_MAX + 2);
	cr_assert_not_null(msg);
	msg[0] = 'x';
	for (size_t i = 0; i < AF_LOG_LINE_MAX; i++)
		memcpy(msg + 1 + 3 * i, "\xE6\x9D\xB1", 3);
	msg[3 * AF_LOG_LINE_MAX + 1] = '\0';
	struct parsed p = parse_json(fmt_line(AF_LOG_JSON, AF_LOG_INFO, msg, NULL, 0));
	cr_assert(p.truncated);
	size_t n = strlen(p.msg);
	cr_assert_eq((n - 1) % 3, 0, "%zu bytes", n);
	cr_assert_eq(strncmp(p.msg, msg, n), 0, "a prefix of the message, whole characters");
	free(msg);
}

/* ---- levels and writing ---- */

Test(log, writes_lines_at_its_level_and_more_severe_ones)
{
	struct capture c;
	capture_open(&c, AF_LOG_LOGFMT, AF_LOG_WARN);
	af_log_printf(&c.lg, AF_LOG_ERROR, "run", "e%d", 1);
	af_log_printf(&c.lg, AF_LOG_WARN, NULL, "w%d", 2);
	char *text = capture_close(&c);
	cr_assert_eq(strncmp(text, "ts=", 3), 0, "%s", text);
	cr_assert_not_null(strstr(text, " level=error msg=e1 component=run\n"), "%s", text);
	cr_assert_not_null(strstr(text, " level=warn msg=w2\n"), "%s", text);
	free(text);
}

Test(log, drops_lines_less_severe_than_its_level)
{
	struct capture c;
	capture_open(&c, AF_LOG_JSON, AF_LOG_ERROR);
	af_log_printf(&c.lg, AF_LOG_WARN, "run", "w");
	af_log_printf(&c.lg, AF_LOG_INFO, "run", "i");
	af_log_write(&c.lg, AF_LOG_DEBUG, "d", NULL, 0);
	char *text = capture_close(&c);
	cr_assert_str_eq(text, "");
	free(text);
}

static int evaluated;

static int count_evaluation(void)
{
	return ++evaluated;
}

Test(log, does_not_evaluate_the_arguments_of_a_line_it_drops)
{
	struct capture c;
	capture_open(&c, AF_LOG_LOGFMT, AF_LOG_INFO);
	evaluated = 0;
	AF_LOG(&c.lg, AF_LOG_DEBUG, "run", "n=%d", count_evaluation());
	cr_assert_eq(evaluated, 0);
	AF_LOG(&c.lg, AF_LOG_INFO, "run", "n=%d", count_evaluation());
	cr_assert_eq(evaluated, 1);
	char *text = capture_close(&c);
	cr_assert_not_null(strstr(text, " level=info msg=\"n=1\" component=run\n"), "%s", text);
	free(text);
}

Test(log, takes_librdkafkas_syslog_severities_as_levels)
{
	cr_assert_eq(af_log_level_of_syslog(0), AF_LOG_ERROR);
	cr_assert_eq(af_log_level_of_syslog(3), AF_LOG_ERROR);
	cr_assert_eq(af_log_level_of_syslog(4), AF_LOG_WARN);
	cr_assert_eq(af_log_level_of_syslog(5), AF_LOG_INFO);
	cr_assert_eq(af_log_level_of_syslog(6), AF_LOG_INFO);
	cr_assert_eq(af_log_level_of_syslog(7), AF_LOG_DEBUG);
}

Test(log, gives_a_default_logger_on_stderr_in_logfmt_at_info)
{
	const struct af_log *lg = af_log_or_default(NULL);
	cr_assert_eq(lg, af_log_default());
	cr_assert_eq(lg->fd, STDERR_FILENO);
	cr_assert_eq(lg->format, AF_LOG_LOGFMT);
	cr_assert_eq(lg->level, AF_LOG_INFO);
}

/* ---- several threads ---- */

#define THREADS 4
#define LINES   500

static struct capture shared;

static void *log_lines(void *arg)
{
	char pad[600];
	int t = (int)(intptr_t)arg;
	/* Lines of different lengths, some past a few hundred bytes. */
	memset(pad, 'a' + t, sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (int i = 0; i < LINES; i++)
		af_log_printf(&shared.lg, AF_LOG_INFO, "t", "%d %d %.*s", t, i, (i * 7) % 600, pad);
	return NULL;
}

static void *drain(void *arg)
{
	return capture_close(arg);
}

Test(log, writes_each_line_whole_when_threads_log_at_once)
{
	pthread_t th[THREADS], reader;
	int next[THREADS] = {0};

	cr_assert_eq(pipe(shared.fd), 0);
	af_log_init(&shared.lg, shared.fd[1], AF_LOG_JSON, AF_LOG_INFO);
	/* The reader drains the pipe while the threads write, and closes the
	 * writing end once they are done (capture_close, after the joins). */
	int wfd = dup(shared.fd[1]);
	cr_assert_geq(wfd, 0);
	shared.lg.fd = wfd;
	for (int t = 0; t < THREADS; t++)
		cr_assert_eq(pthread_create(&th[t], NULL, log_lines, (void *)(intptr_t)t), 0);
	cr_assert_eq(pthread_create(&reader, NULL, drain, &shared), 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	close(wfd);
	void *text;
	pthread_join(reader, &text);

	size_t lines = 0;
	for (char *p = text, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		char one[AF_LOG_LINE_MAX + 1];
		size_t len = (size_t)(nl - p) + 1;
		cr_assert_leq(len, AF_LOG_LINE_MAX);
		memcpy(one, p, len);
		one[len] = '\0';
		struct parsed got = parse_json(one);
		int t = -1, i = -1;
		cr_assert_eq(sscanf(got.msg, "%d %d", &t, &i), 2, "%s", one);
		cr_assert(t >= 0 && t < THREADS, "%s", one);
		cr_assert_eq(i, next[t]++, "each thread's lines whole and in its order: %s", one);
		lines++;
	}
	cr_assert_eq(lines, THREADS * LINES);
	free(text);
}
