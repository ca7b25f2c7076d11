/* fuzz_parse.c - libFuzzer target for the parse stage.
 *
 * Thread: libFuzzer's, one input at a time.
 * In: any bytes, taken as one framed record. Out: nothing; a crash, a
 * sanitizer report or an abort() is the finding.
 *
 * DESIGN: the record is copied to a heap buffer exactly len + padding long,
 * so AddressSanitizer sees any read past the padding simdjson may use; the
 * padding holds the record's own first bytes rather than blanks, as the
 * file reader's buffer holds whatever follows the record. Each input is
 * parsed by two parsers, one forced to the portable kernel and one on the
 * kernel this CPU picks, and the results must agree byte for byte: the
 * portable kernel is the reference for the SIMD one. The one exception is
 * documented in json.h: On-Demand validates lazily, so a record that is
 * not valid JSON may be read differently by the two kernels (accepted by
 * one and refused by the other, refused for different reasons, or read
 * up to different points); then a full validation must say the record is
 * not valid JSON. For valid JSON the kernels must agree exactly.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/parse/json.h"
#include "pipeline/parse/parse.h"

/* Longest record the fuzzer is run with (scripts/fuzz-run: -max_len). */
#define FUZZ_MAX_RECORD 65536

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer gives no context pointer: the parsers live for the process. */
static struct af_parser *reference;
static struct af_parser *native;
static struct af_jparser *checker;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	setenv("AF_JSON_KERNEL", "fallback", 1);
	reference = af_parser_new(FUZZ_MAX_RECORD, err, sizeof err);
	unsetenv("AF_JSON_KERNEL");
	if (reference)
		native = af_parser_new(FUZZ_MAX_RECORD, err, sizeof err);
	checker = af_jparser_new(FUZZ_MAX_RECORD);
	if (!reference || !native || !checker) {
		fprintf(stderr, "fuzz_parse: %s\n", err);
		abort();
	}
	return 0;
}

/* True if the NUL-terminated field s[0..cap) is whole UTF-8: simdjson has
 * validated the record, so a bad sequence means a string was cut inside a
 * character. */
static bool whole_utf8(const char *field, size_t cap)
{
	const unsigned char *s = (const unsigned char *)field;
	const unsigned char *end = memchr(s, 0, cap);

	if (!end)
		return false;
	while (s < end) {
		size_t n = *s < 0x80         ? 1
		           : (*s >> 5) == 6  ? 2
		           : (*s >> 4) == 14 ? 3
		           : (*s >> 3) == 30 ? 4
		                             : 0;
		if (n == 0 || (size_t)(end - s) < n)
			return false;
		for (size_t i = 1; i < n; i++)
			if ((s[i] & 0xC0) != 0x80)
				return false;
		s += n;
	}
	return true;
}

#define WHOLE(f) whole_utf8((f), sizeof(f))

static enum af_reason parse(struct af_parser *ps, const char *buf, size_t len, struct af_event *ev,
                            const char **detail)
{
	memset(ev, 0, sizeof(*ev));
	ev->pos.line = 1;
	*detail = NULL;
	enum af_reason r = af_parse_record(ps, buf, len, ev, detail);
	if (r != AF_REASON_NONE && *detail == NULL)
		abort(); /* parse.h: never NULL on failure */
	if (ev->pos.line != 1)
		abort(); /* parse.h: the caller owns ev->pos */
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + AF_JSON_PADDING);
	struct af_event a, b;
	const char *da, *db;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	for (size_t i = 0; i < AF_JSON_PADDING; i++)
		buf[size + i] = size ? (char)data[i % size] : ' ';

	enum af_reason ra = parse(reference, buf, size, &a, &da);
	enum af_reason rb = parse(native, buf, size, &b, &db);
	/* Events must match when both succeed; a failed parse leaves a
	 * partial event, and its detail names where the kernel stopped. */
	bool differ = ra != rb || (ra == AF_REASON_NONE && memcmp(&a, &b, sizeof(a)) != 0);
	if (differ && af_jparser_validate(checker, buf, size) == AF_REASON_NONE) {
		fprintf(stderr, "fuzz_parse: kernels disagree: %s (%s) vs %s (%s)\n",
		        af_reason_name(ra), da ? da : "", af_reason_name(rb), db ? db : "");
		abort();
	}
	if (ra == AF_REASON_NONE) {
		/* Every string field is terminated inside its array and cut, if
		 * at all, between characters. */
		if (!WHOLE(a.account) || !WHOLE(a.action) || !WHOLE(a.app) || !WHOLE(a.folder) ||
		    !WHOLE(a.recipient) || !WHOLE(a.record_id) || !WHOLE(a.geo.city) ||
		    !WHOLE(a.geo.country))
			abort();
		if (a.account[0] == '\0' || a.account_hash == 0 || a.schema == AF_SCHEMA_NONE ||
		    a.kind >= AF_KIND_COUNT || a.schema >= AF_SCHEMA_COUNT)
			abort();
	}
	free(buf);
	return 0;
}
