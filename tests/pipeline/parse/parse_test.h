/* parse_test.h - the fixture the parse-stage tests share (test_parse.c and
 * test_map_*.c): a parser made before each test and freed after it, the event
 * and dead-letter detail of the last record parsed, and helpers that parse a
 * record written with ' for " (so it stays readable) and check the result.
 *
 * Each test file is its own program (tests/CMakeLists.txt builds one
 * executable per test_*.c), so each gets its own copy of the state below.
 * The helpers keep the short names the tests call on nearly every line.
 *
 * Use: TestSuite(name, .init = af_parse_test_setup, .fini = af_parse_test_teardown);
 */
#ifndef AF_TESTS_PIPELINE_PARSE_PARSE_TEST_H
#define AF_TESTS_PIPELINE_PARSE_PARSE_TEST_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <xxhash.h>

#include "pipeline/parse/json.h"
#include "pipeline/parse/parse.h"

#define T0 1756101480000000000LL /* 2025-08-25T05:58:00Z */

static struct af_parser *ps;
static struct af_event ev;
static const char *detail;
/* The record as the parser reads it, followed by the padding simdjson reads. */
static char buf[1 << 16];

static inline void af_parse_test_setup(void)
{
	char err[128];

	ps = af_parser_new(sizeof buf - AF_JSON_PADDING, err, sizeof err);
	cr_assert_not_null(ps, "%s", err);
}

static inline void af_parse_test_teardown(void)
{
	af_parser_free(ps);
}

/* Pad the len bytes already in buf and parse them into ev and detail. */
static inline enum af_reason af_parse_test_buf(size_t len)
{
	memset(buf + len, ' ', AF_JSON_PADDING);
	detail = NULL;
	return af_parse_record(ps, buf, len, &ev, &detail);
}

/* Parse the first len bytes of text as they are. */
static inline enum af_reason parse_n(const char *text, size_t len)
{
	cr_assert_lt(len + AF_JSON_PADDING, sizeof buf);
	memcpy(buf, text, len);
	return af_parse_test_buf(len);
}

/* Parse text with every ' turned into ". */
static inline enum af_reason parse(const char *text)
{
	size_t len = strlen(text);

	cr_assert_lt(len + AF_JSON_PADDING, sizeof buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = text[i] == '\'' ? '"' : text[i];
	return af_parse_test_buf(len);
}

/* parse(text), which must give an event of this schema. */
static inline void parse_as(const char *text, enum af_schema schema)
{
	enum af_reason r = parse(text);

	cr_assert_eq(r, AF_REASON_NONE, "%s (%s): %s", af_reason_name(r), detail, text);
	cr_assert_eq(ev.schema, schema, "%s", af_schema_name(ev.schema));
}

/* parse(text), which must be dead-lettered for want with a detail, and with
 * want_detail as that detail unless it is NULL. */
static inline void parse_fails(const char *text, enum af_reason want, const char *want_detail)
{
	enum af_reason r = parse(text);

	cr_assert_eq(r, want, "%s (%s), want %s: %s", af_reason_name(r), detail,
	             af_reason_name(want), text);
	cr_assert_not_null(detail);
	if (want_detail)
		cr_assert_str_eq(detail, want_detail);
}

/* xxh3 of a lower-case literal, as the mappers hash names. */
static inline uint64_t h(const char *lower)
{
	return XXH3_64bits(lower, strlen(lower));
}

#endif
