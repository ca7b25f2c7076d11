/* test_json.c - the simdjson shim behind json.h: what a spec extracts from a
 * record (key casing, nesting, shared slots, escapes, every JSON type), the
 * walks over arrays and JSON held in strings, every way a record is refused,
 * and that the portable and AVX2 kernels extract the same slots.
 *
 * Records are written with ' for " to stay readable; rec() swaps them back.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/parse/json.h"

enum {
	S_TIME,
	S_OP,
	S_USER_NAME,
	S_USER_CITY,
	S_IP,
	S_STATUS,
	S_STATUS_CODE,
	S_COUNT,
	S_OK,
	S_GONE,
	S_OBJ,
	S_ARR,
	S_QUOTED,
	S_PARAMS,
	S_N
};

static const struct af_jpath paths[] = {
    {"CreationTime", S_TIME, 0},
    {"Operation", S_OP, 0},
    {"user.name", S_USER_NAME, 0},
    {"user.address.city", S_USER_CITY, 0},
    {"ipAddress", S_IP, 0},
    {"properties.ipAddress", S_IP, 0},
    {"status", S_STATUS, 0},
    {"status.errorCode", S_STATUS_CODE, 0},
    {"count", S_COUNT, 0},
    {"ok", S_OK, 0},
    {"gone", S_GONE, 0},
    {"obj", S_OBJ, 0},
    {"arr", S_ARR, 0},
    {"say\"hi", S_QUOTED, 0},
    {"Parameters", S_PARAMS, 0},
};

enum { NV_NAME, NV_VALUE, NV_N };

static const struct af_jpath nv_paths[] = {
    {"Name", NV_NAME, 0},
    {"Value", NV_VALUE, 0},
};

static struct af_jspec *spec;
static struct af_jspec *nv_spec;
static struct af_jparser *jp;
static struct af_jval slots[S_N];
/* Records are copied here, followed by the padding simdjson reads. */
static char buf[1 << 16];

static void setup(void)
{
	char err[128];

	spec = af_jspec_new(paths, sizeof paths / sizeof paths[0], S_N, err, sizeof err);
	cr_assert_not_null(spec, "%s", err);
	nv_spec = af_jspec_new(nv_paths, NV_N, NV_N, err, sizeof err);
	cr_assert_not_null(nv_spec, "%s", err);
	jp = af_jparser_new(sizeof buf - AF_JSON_PADDING);
	cr_assert_not_null(jp);
}

static void teardown(void)
{
	af_jparser_free(jp);
	af_jspec_free(nv_spec);
	af_jspec_free(spec);
}

TestSuite(json, .init = setup, .fini = teardown);

/* Extract spec from the first len bytes of text, as they are. */
static enum af_reason extract_n(struct af_jparser *p, const char *text, size_t len,
                                struct af_jval *out)
{
	cr_assert_lt(len + AF_JSON_PADDING, sizeof buf);
	memcpy(buf, text, len);
	memset(buf + len, ' ', AF_JSON_PADDING);
	return af_jparser_extract(p, spec, buf, len, out);
}

/* Extract from text with every ' turned into ". */
static enum af_reason rec(const char *text)
{
	size_t len = strlen(text);
	char tmp[4096];

	cr_assert_lt(len, sizeof tmp);
	for (size_t i = 0; i < len; i++)
		tmp[i] = text[i] == '\'' ? '"' : text[i];
	return extract_n(jp, tmp, len, slots);
}

static void assert_text(const struct af_jval *v, enum af_jtype type, const char *want)
{
	cr_assert_eq(v->type, type, "type %d, want %d", v->type, type);
	cr_assert_eq(v->len, strlen(want), "\"%.*s\" is not \"%s\"", (int)v->len, v->s, want);
	cr_assert(memcmp(v->s, want, v->len) == 0, "\"%.*s\" is not \"%s\"", (int)v->len, v->s,
	          want);
}

static void assert_all_absent(const struct af_jval *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(v[i].type, AF_J_ABSENT, "slot %zu is %d", i, v[i].type);
}

static void assert_refused(const char *text, size_t len, enum af_reason want)
{
	memset(slots, 0x5a, sizeof slots);
	enum af_reason r = extract_n(jp, text, len, slots);
	cr_assert_eq(r, want, "\"%.*s\": %s, want %s", (int)len, text, af_reason_name(r),
	             af_reason_name(want));
	assert_all_absent(slots, S_N);
}

#define REFUSED(lit, reason) assert_refused(lit, sizeof(lit) - 1, reason)

/* --- keys --- */

Test(json, matches_keys_without_regard_to_ascii_case)
{
	cr_assert_eq(rec("{'creationtime':'2025-08-25T05:58:00Z','OPERATION':'Send'}"),
	             AF_REASON_NONE);
	assert_text(&slots[S_TIME], AF_J_STRING, "2025-08-25T05:58:00Z");
	assert_text(&slots[S_OP], AF_J_STRING, "Send");
}

Test(json, follows_a_dotted_path_into_nested_objects)
{
	cr_assert_eq(rec("{'user':{'id':7,'address':{'zip':'1','CITY':'Hanoi'},'Name':'Ann'}}"),
	             AF_REASON_NONE);
	assert_text(&slots[S_USER_NAME], AF_J_STRING, "Ann");
	assert_text(&slots[S_USER_CITY], AF_J_STRING, "Hanoi");
}

Test(json, lets_a_nested_and_a_top_level_path_share_one_slot)
{
	cr_assert_eq(rec("{'properties':{'ipAddress':'198.51.100.7'}}"), AF_REASON_NONE);
	assert_text(&slots[S_IP], AF_J_STRING, "198.51.100.7");
	cr_assert_eq(rec("{'IPADDRESS':'2001:db8::1'}"), AF_REASON_NONE);
	assert_text(&slots[S_IP], AF_J_STRING, "2001:db8::1");
}

Test(json, stores_a_string_at_a_key_that_is_also_a_prefix)
{
	cr_assert_eq(rec("{'status':'Delivered'}"), AF_REASON_NONE);
	assert_text(&slots[S_STATUS], AF_J_STRING, "Delivered");
	cr_assert_eq(slots[S_STATUS_CODE].type, AF_J_ABSENT);
}

Test(json, recurses_into_an_object_at_a_key_that_is_also_a_prefix)
{
	cr_assert_eq(rec("{'status':{'errorCode':50126,'failureReason':'Invalid password'}}"),
	             AF_REASON_NONE);
	assert_text(&slots[S_STATUS_CODE], AF_J_NUMBER, "50126");
	cr_assert_eq(slots[S_STATUS].type, AF_J_ABSENT);
}

Test(json, skips_a_scalar_where_the_spec_expects_an_object)
{
	cr_assert_eq(rec("{'user':'ann','properties':[1,2],'Operation':'Send'}"), AF_REASON_NONE);
	cr_assert_eq(slots[S_USER_NAME].type, AF_J_ABSENT);
	cr_assert_eq(slots[S_IP].type, AF_J_ABSENT);
	assert_text(&slots[S_OP], AF_J_STRING, "Send");
}

Test(json, matches_a_key_written_with_unicode_escapes)
{
	cr_assert_eq(rec("{'Oper\\u0061tion':'Send','\\u0063ount':3}"), AF_REASON_NONE);
	assert_text(&slots[S_OP], AF_J_STRING, "Send");
	assert_text(&slots[S_COUNT], AF_J_NUMBER, "3");
}

Test(json, matches_a_key_holding_an_escaped_quote)
{
	cr_assert_eq(rec("{'say\\'hi':'there'}"), AF_REASON_NONE);
	assert_text(&slots[S_QUOTED], AF_J_STRING, "there");
}

Test(json, ignores_keys_the_spec_does_not_name)
{
	cr_assert_eq(rec("{'Id':'x','user':{'id':1,'nested':{'deep':[{'a':{}}]}},'other':null}"),
	             AF_REASON_NONE);
	assert_all_absent(slots, S_N);
}

Test(json, keeps_the_last_of_two_keys_that_differ_only_in_case)
{
	cr_assert_eq(rec("{'Operation':'Send','operation':'SendAs'}"), AF_REASON_NONE);
	assert_text(&slots[S_OP], AF_J_STRING, "SendAs");
}

/* --- values --- */

Test(json, unescapes_string_values)
{
	cr_assert_eq(rec("{'Operation':'a\\'b\\\\c\\/d\\u00e9\\n\\ud83d\\ude00'}"), AF_REASON_NONE);
	assert_text(&slots[S_OP], AF_J_STRING, "a\"b\\c/d\xc3\xa9\n\xf0\x9f\x98\x80");
}

Test(json, reads_an_empty_string_as_a_string_of_length_zero)
{
	cr_assert_eq(rec("{'Operation':''}"), AF_REASON_NONE);
	cr_assert_eq(slots[S_OP].type, AF_J_STRING);
	cr_assert_eq(slots[S_OP].len, 0);
	cr_assert_not(af_jval_has_str(&slots[S_OP]));
}

Test(json, keeps_numbers_as_their_text)
{
	cr_assert_eq(rec("{'count':-12.50e+3}"), AF_REASON_NONE);
	assert_text(&slots[S_COUNT], AF_J_NUMBER, "-12.50e+3");
	cr_assert_eq(rec("{'count':18446744073709551616}"), AF_REASON_NONE);
	assert_text(&slots[S_COUNT], AF_J_NUMBER, "18446744073709551616");
}

Test(json, trims_the_blanks_after_a_number)
{
	cr_assert_eq(rec("{'count': 42 \r\n\t,'ok':true}"), AF_REASON_NONE);
	assert_text(&slots[S_COUNT], AF_J_NUMBER, "42");
	cr_assert_eq(rec("{'count':7 }"), AF_REASON_NONE);
	assert_text(&slots[S_COUNT], AF_J_NUMBER, "7");
}

Test(json, reads_booleans)
{
	cr_assert_eq(rec("{'ok':true,'gone':false}"), AF_REASON_NONE);
	cr_assert_eq(slots[S_OK].type, AF_J_BOOL);
	cr_assert(slots[S_OK].b);
	cr_assert_eq(slots[S_GONE].type, AF_J_BOOL);
	cr_assert_not(slots[S_GONE].b);
}

Test(json, tells_null_from_absent)
{
	cr_assert_eq(rec("{'gone':null}"), AF_REASON_NONE);
	cr_assert_eq(slots[S_GONE].type, AF_J_NULL);
	cr_assert_eq(slots[S_OK].type, AF_J_ABSENT);
}

Test(json, returns_an_object_as_its_raw_text)
{
	cr_assert_eq(rec("{'obj':{'a':[1, 2],'b':'\\u0041'} ,'ok':true}"), AF_REASON_NONE);
	assert_text(&slots[S_OBJ], AF_J_OBJECT, "{\"a\":[1, 2],\"b\":\"\\u0041\"}");
	cr_assert_eq(slots[S_OK].type, AF_J_BOOL);
}

Test(json, returns_an_array_as_its_raw_text)
{
	cr_assert_eq(rec("{'arr':[ 1 ,{'x':[]} ]\n}"), AF_REASON_NONE);
	assert_text(&slots[S_ARR], AF_J_ARRAY, "[ 1 ,{\"x\":[]} ]");
}

Test(json, resets_every_slot_before_each_record)
{
	cr_assert_eq(rec("{'Operation':'Send','count':1,'ok':true}"), AF_REASON_NONE);
	cr_assert_eq(rec("{'CreationTime':'t'}"), AF_REASON_NONE);
	assert_text(&slots[S_TIME], AF_J_STRING, "t");
	cr_assert_eq(slots[S_OP].type, AF_J_ABSENT);
	cr_assert_eq(slots[S_COUNT].type, AF_J_ABSENT);
	cr_assert_eq(slots[S_OK].type, AF_J_ABSENT);
}

Test(json, accepts_blanks_around_the_object)
{
	cr_assert_eq(rec(" \t{'Operation':'Send'}\r\n"), AF_REASON_NONE);
	assert_text(&slots[S_OP], AF_J_STRING, "Send");
}

Test(json, accepts_an_empty_object)
{
	cr_assert_eq(rec("{}"), AF_REASON_NONE);
	assert_all_absent(slots, S_N);
}

/* --- walking arrays and JSON held in strings --- */

struct seen {
	int calls;
	int stop_after;
	char names[8][16];
	char values[8][16];
	enum af_jtype value_types[8];
};

static bool on_nv(void *vctx, const struct af_jval *nv)
{
	struct seen *seen = vctx;
	int i = seen->calls++;

	cr_assert_lt(i, 8);
	if (nv[NV_NAME].type == AF_J_STRING)
		snprintf(seen->names[i], sizeof seen->names[i], "%.*s", (int)nv[NV_NAME].len,
		         nv[NV_NAME].s);
	if (nv[NV_VALUE].type == AF_J_STRING || nv[NV_VALUE].type == AF_J_NUMBER)
		snprintf(seen->values[i], sizeof seen->values[i], "%.*s", (int)nv[NV_VALUE].len,
		         nv[NV_VALUE].s);
	seen->value_types[i] = nv[NV_VALUE].type;
	return seen->stop_after == 0 || seen->calls < seen->stop_after;
}

static enum af_reason each(const struct af_jval *v, struct seen *seen)
{
	struct af_jval elem[NV_N];

	return af_jparser_each(jp, nv_spec, v->s, v->len, elem, on_nv, seen);
}

Test(json, walks_the_objects_of_an_array)
{
	struct seen seen = {0};

	cr_assert_eq(rec("{'Parameters':[{'Name':'ForwardTo','Value':'a@b.com'},"
	                 "{'name':'DeleteMessage','value':true},{'Value':5}]}"),
	             AF_REASON_NONE);
	cr_assert_eq(slots[S_PARAMS].type, AF_J_ARRAY);
	cr_assert_eq(each(&slots[S_PARAMS], &seen), AF_REASON_NONE);
	cr_assert_eq(seen.calls, 3);
	cr_assert_str_eq(seen.names[0], "ForwardTo");
	cr_assert_str_eq(seen.values[0], "a@b.com");
	cr_assert_str_eq(seen.names[1], "DeleteMessage");
	cr_assert_eq(seen.value_types[1], AF_J_BOOL);
	cr_assert_str_eq(seen.names[2], "");
	cr_assert_str_eq(seen.values[2], "5");
}

Test(json, passes_absent_slots_for_an_element_that_is_not_an_object)
{
	struct seen seen = {0};

	cr_assert_eq(rec("{'Parameters':['x',{'Name':'n'},null,[{'Name':'inner'}]]}"),
	             AF_REASON_NONE);
	cr_assert_eq(each(&slots[S_PARAMS], &seen), AF_REASON_NONE);
	cr_assert_eq(seen.calls, 4);
	cr_assert_str_eq(seen.names[0], "");
	cr_assert_str_eq(seen.names[1], "n");
	cr_assert_str_eq(seen.names[2], "");
	cr_assert_str_eq(seen.names[3], "");
	cr_assert_eq(seen.value_types[3], AF_J_ABSENT);
}

Test(json, stops_walking_when_the_callback_says_so)
{
	struct seen seen = {.stop_after = 2};

	cr_assert_eq(rec("{'Parameters':[{'Name':'a'},{'Name':'b'},{'Name':'c'}]}"),
	             AF_REASON_NONE);
	cr_assert_eq(each(&slots[S_PARAMS], &seen), AF_REASON_NONE);
	cr_assert_eq(seen.calls, 2);
	cr_assert_str_eq(seen.names[1], "b");
}

Test(json, walks_an_array_held_as_json_text_in_a_string)
{
	struct seen seen = {0};

	/* Log Analytics writes nested arrays as strings. */
	cr_assert_eq(rec("{'Parameters':'[{\\'Name\\':\\'MoveToFolder\\',"
	                 "\\'Value\\':\\'RSS Feeds\\'}]'}"),
	             AF_REASON_NONE);
	cr_assert_eq(slots[S_PARAMS].type, AF_J_STRING);
	cr_assert_eq(each(&slots[S_PARAMS], &seen), AF_REASON_NONE);
	cr_assert_eq(seen.calls, 1);
	cr_assert_str_eq(seen.names[0], "MoveToFolder");
	cr_assert_str_eq(seen.values[0], "RSS Feeds");
}

Test(json, walks_an_empty_array_without_calling_back)
{
	struct seen seen = {0};

	cr_assert_eq(rec("{'Parameters':[]}"), AF_REASON_NONE);
	cr_assert_eq(each(&slots[S_PARAMS], &seen), AF_REASON_NONE);
	cr_assert_eq(seen.calls, 0);
}

Test(json, refuses_to_walk_text_that_is_not_an_array)
{
	struct seen seen = {0};
	static const char *const bad[] = {"not json", "{\"Name\":\"x\"}", "[{\"Name\":", ""};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct af_jval elem[NV_N];
		enum af_reason r =
		    af_jparser_each(jp, nv_spec, bad[i], strlen(bad[i]), elem, on_nv, &seen);
		cr_assert_eq(r, AF_REASON_MALFORMED_JSON, "\"%s\": %s", bad[i], af_reason_name(r));
	}
	cr_assert_eq(seen.calls, 0);
}

Test(json, keeps_the_record_slots_valid_while_walking_a_sub_array)
{
	struct seen seen = {0};

	cr_assert_eq(rec("{'Operation':'New-InboxRule','Parameters':'[{\\'Name\\':\\'a\\'}]'}"),
	             AF_REASON_NONE);
	cr_assert_eq(each(&slots[S_PARAMS], &seen), AF_REASON_NONE);
	assert_text(&slots[S_OP], AF_J_STRING, "New-InboxRule");
}

Test(json, extracts_a_spec_from_an_object_slot)
{
	struct af_jval sub[S_N];

	cr_assert_eq(rec("{'obj':{'ipAddress':'10.0.0.1','status':{'errorCode':0}}}"),
	             AF_REASON_NONE);
	cr_assert_eq(af_jparser_sub(jp, spec, slots[S_OBJ].s, slots[S_OBJ].len, sub),
	             AF_REASON_NONE);
	assert_text(&sub[S_IP], AF_J_STRING, "10.0.0.1");
	assert_text(&sub[S_STATUS_CODE], AF_J_NUMBER, "0");
	cr_assert_eq(sub[S_OP].type, AF_J_ABSENT);
}

Test(json, extracts_a_spec_from_json_text_in_a_string)
{
	struct af_jval sub[S_N];

	cr_assert_eq(rec("{'obj':'{\\'user\\':{\\'name\\':\\'Ann\\'}}','Operation':'x'}"),
	             AF_REASON_NONE);
	cr_assert_eq(slots[S_OBJ].type, AF_J_STRING);
	cr_assert_eq(af_jparser_sub(jp, spec, slots[S_OBJ].s, slots[S_OBJ].len, sub),
	             AF_REASON_NONE);
	assert_text(&sub[S_USER_NAME], AF_J_STRING, "Ann");
	assert_text(&slots[S_OP], AF_J_STRING, "x");
}

Test(json, refuses_a_sub_extraction_from_text_that_is_not_an_object)
{
	struct af_jval sub[S_N];

	cr_assert_eq(af_jparser_sub(jp, spec, "[1]", 3, sub), AF_REASON_NOT_OBJECT);
	cr_assert_eq(af_jparser_sub(jp, spec, "{\"a\":", 5, sub), AF_REASON_MALFORMED_JSON);
	cr_assert_eq(af_jparser_sub(jp, spec, "Unknown", 7, sub), AF_REASON_MALFORMED_JSON);
}

/* --- records refused --- */

Test(json, refuses_malformed_json)
{
	REFUSED("{\"Operation\":}", AF_REASON_MALFORMED_JSON);
	REFUSED("{\"Operation\" \"Send\"}", AF_REASON_MALFORMED_JSON);
	REFUSED("{\"Operation\":\"Send\",}", AF_REASON_MALFORMED_JSON);
	REFUSED("{'Operation':'Send'}", AF_REASON_MALFORMED_JSON);
	REFUSED("{\"Operation\":\"\\q\"}", AF_REASON_MALFORMED_JSON);
	REFUSED("", AF_REASON_MALFORMED_JSON);
	REFUSED("   ", AF_REASON_MALFORMED_JSON);
}

Test(json, refuses_garbage_after_the_object)
{
	REFUSED("{\"Operation\":\"Send\"} x", AF_REASON_MALFORMED_JSON);
	REFUSED("{\"Operation\":\"Send\"}{\"Operation\":\"Send\"}", AF_REASON_MALFORMED_JSON);
	REFUSED("{\"Operation\":\"Send\"},", AF_REASON_MALFORMED_JSON);
}

Test(json, refuses_a_truncated_object)
{
	REFUSED("{\"Operation\":\"Send\"", AF_REASON_MALFORMED_JSON);
	REFUSED("{\"Operation\":\"Se", AF_REASON_MALFORMED_JSON);
	REFUSED("{\"user\":{\"name\":\"Ann\"}", AF_REASON_MALFORMED_JSON);
	REFUSED("{\"Operation\":", AF_REASON_MALFORMED_JSON);
	REFUSED("{", AF_REASON_MALFORMED_JSON);
}

Test(json, refuses_json_that_is_not_an_object)
{
	REFUSED("[{\"Operation\":\"Send\"}]", AF_REASON_NOT_OBJECT);
	REFUSED("\"Send\"", AF_REASON_NOT_OBJECT);
	REFUSED("42", AF_REASON_NOT_OBJECT);
	REFUSED("true", AF_REASON_NOT_OBJECT);
	REFUSED("null", AF_REASON_NOT_OBJECT);
}

Test(json, refuses_invalid_utf8)
{
	REFUSED("{\"Operation\":\"Se\xffnd\"}", AF_REASON_INVALID_UTF8);
	REFUSED("{\"Ope\xc3\x28ration\":\"Send\"}", AF_REASON_INVALID_UTF8);
	/* An overlong encoding of '/', and a lone continuation byte in a
	 * value the spec does not name: the whole record is checked. */
	REFUSED("{\"x\":\"\xc0\xaf\",\"Operation\":\"Send\"}", AF_REASON_INVALID_UTF8);
	REFUSED("{\"x\":\"\x80\"}", AF_REASON_INVALID_UTF8);
}

Test(json, refuses_invalid_utf8_outside_strings_with_either_kernel)
{
	static const char text[] = "{\"count\":39.\xd1" "4,\"Operation\":\"Send\"}";

	assert_refused(text, sizeof text - 1, AF_REASON_INVALID_UTF8);
	setenv("AF_JSON_KERNEL", "fallback", 1);
	struct af_jparser *portable = af_jparser_new(4096);
	unsetenv("AF_JSON_KERNEL");
	cr_assert_not_null(portable);
	enum af_reason r = extract_n(portable, text, sizeof text - 1, slots);
	cr_assert_eq(r, AF_REASON_INVALID_UTF8, "%s", af_reason_name(r));
	af_jparser_free(portable);
}

Test(json, refuses_a_nul_byte_anywhere_in_the_record)
{
	REFUSED("{\"Operation\":\"Se\0nd\"}", AF_REASON_NUL_BYTES);
	REFUSED("{\"other\":\"\0\",\"Operation\":\"Send\"}", AF_REASON_NUL_BYTES);
	REFUSED("{\"Operation\":\"Send\"}\0", AF_REASON_NUL_BYTES);
	REFUSED("{\"Operation\":\0\"Send\"}", AF_REASON_NUL_BYTES);
}

Test(json, refuses_unescaped_control_characters_in_strings)
{
	REFUSED("{\"other\":\"a\x01z\",\"Operation\":\"Send\"}", AF_REASON_MALFORMED_JSON);
}

Test(json, refuses_a_record_larger_than_the_parser_was_made_for)
{
	struct af_jparser *small = af_jparser_new(100);
	char big[300];
	struct af_jval out[S_N];

	cr_assert_not_null(small);
	memset(big, ' ', sizeof big);
	memcpy(big, "{\"Operation\":\"Send\"", 19);
	big[sizeof big - 1] = '}';
	cr_assert_eq(extract_n(small, big, sizeof big, out), AF_REASON_OVERSIZE);
	cr_assert_eq(extract_n(small, big, 20, out), AF_REASON_MALFORMED_JSON);
	cr_assert_eq(extract_n(small, "{\"Operation\":\"Send\"}", 20, out), AF_REASON_NONE);
	af_jparser_free(small);
}

Test(json, parses_the_next_record_normally_after_a_refused_one)
{
	REFUSED("{\"Operation\":", AF_REASON_MALFORMED_JSON);
	cr_assert_eq(rec("{'Operation':'Send'}"), AF_REASON_NONE);
	assert_text(&slots[S_OP], AF_J_STRING, "Send");
}

/* --- specs --- */

Test(json, refuses_a_spec_with_an_empty_key)
{
	char err[128] = "";
	static const struct af_jpath bad[][1] = {
	    {{"a..b", 0, 0}}, {{"", 0, 0}}, {{".a", 0, 0}}, {{"a.", 0, 0}}};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_null(af_jspec_new(bad[i], 1, 1, err, sizeof err), "'%s'", bad[i][0].path);
		cr_assert(strstr(err, "empty") != NULL, "%s", err);
	}
}

Test(json, refuses_a_spec_whose_slot_is_out_of_range)
{
	char err[128] = "";
	static const struct af_jpath bad[] = {{"a", 0, 0}, {"b", 2, 0}};

	cr_assert_null(af_jspec_new(bad, 2, 2, err, sizeof err));
	cr_assert(strstr(err, "'b'") != NULL, "%s", err);
}

Test(json, refuses_a_spec_naming_one_path_twice)
{
	char err[128] = "";
	static const struct af_jpath bad[] = {{"a.b", 0, 0}, {"A.B", 1, 0}};

	cr_assert_null(af_jspec_new(bad, 2, 2, err, sizeof err));
	cr_assert(strstr(err, "twice") != NULL, "%s", err);
}

Test(json, reports_the_slot_count_of_a_spec)
{
	cr_assert_eq(af_jspec_nslots(spec), S_N);
}

/* --- value helpers --- */

static struct af_jval str(const char *s)
{
	return (struct af_jval){.s = s, .len = (uint32_t)strlen(s), .type = AF_J_STRING};
}

Test(json, reads_an_integer_from_a_number_or_a_string)
{
	int64_t n = 0;
	struct af_jval v = str("50126");

	cr_assert(af_jval_int(&v, &n));
	cr_assert_eq(n, 50126);
	v = str("-7");
	v.type = AF_J_NUMBER;
	cr_assert(af_jval_int(&v, &n));
	cr_assert_eq(n, -7);
	v = str("999999999999999999");
	cr_assert(af_jval_int(&v, &n));
	cr_assert_eq(n, 999999999999999999LL);
}

Test(json, refuses_an_integer_that_is_not_a_whole_decimal)
{
	static const char *const bad[] = {"",   "-",    "1.5", "1e3",
	                                  " 1", "0x10", "12a", "9999999999999999999"};
	int64_t n = 42;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct af_jval v = str(bad[i]);
		cr_assert_not(af_jval_int(&v, &n), "\"%s\"", bad[i]);
	}
	struct af_jval b = {.type = AF_J_BOOL, .b = true};
	cr_assert_not(af_jval_int(&b, &n));
	cr_assert_eq(n, 42);
}

Test(json, reads_a_boolean_from_a_bool_or_its_word)
{
	bool b = false;
	struct af_jval v = {.type = AF_J_BOOL, .b = true};

	cr_assert(af_jval_bool(&v, &b) && b);
	v = str("False");
	cr_assert(af_jval_bool(&v, &b) && !b);
	v = str("TRUE");
	cr_assert(af_jval_bool(&v, &b) && b);
	v = str("yes");
	cr_assert_not(af_jval_bool(&v, &b));
	v = str("1");
	v.type = AF_J_NUMBER;
	cr_assert_not(af_jval_bool(&v, &b));
}

Test(json, compares_a_string_without_regard_to_case)
{
	struct af_jval v = str("SignInLogs");

	cr_assert(af_jval_ieq(&v, "signinlogs"));
	cr_assert_not(af_jval_ieq(&v, "SignInLog"));
	v.type = AF_J_NUMBER;
	cr_assert_not(af_jval_ieq(&v, "SignInLogs"));
}

/* --- the two kernels --- */

static const char *const kernel_records[] = {
    "{\"CreationTime\":\"2025-08-25T05:58:00\",\"Operation\":\"Send\",\"count\":3}",
    "{\"properties\":{\"ipAddress\":\"198.51.100.7\",\"status\":{\"errorCode\":50126}},"
    "\"status\":\"x\"}",
    "{\"user\":{\"name\":\"Nguy\\u1ec5n V\\u0103n A\",\"address\":{\"city\":\"H\\u00e0 "
    "N\\u1ed9i\"}}}",
    "{\"obj\":{\"deep\":[1,2,{\"a\":null}]},\"arr\":[\"x\",{\"y\":true}],\"ok\":false,"
    "\"gone\":null}",
    "{\"Oper\\u0061tion\":\"a\\\"b\",\"say\\\"hi\":\"q\",\"count\":-1.5e-7}",
    "{\"Parameters\":[{\"Name\":\"ForwardTo\",\"Value\":\"evil@example.net\"}],"
    "\"padding\":\"0123456789012345678901234567890123456789012345678901234567890123456789\"}",
    "{\"Operation\":\"Send\"} trailing",
    "{\"Operation\":\"Se\xff\"}",
    "[1,2,3]",
    "{\"Operation\":",
};

static void extract_all(struct af_jparser *p, size_t i, struct af_jval *out, char *copy,
                        enum af_reason *r)
{
	size_t len = strlen(kernel_records[i]);

	*r = extract_n(p, kernel_records[i], len, out);
	/* Views point into buf, which the next extraction overwrites. */
	size_t off = 0;
	for (size_t s = 0; s < S_N; s++) {
		if (out[s].type == AF_J_ABSENT || out[s].type == AF_J_NULL ||
		    out[s].type == AF_J_BOOL)
			continue;
		memcpy(copy + off, out[s].s, out[s].len);
		out[s].s = copy + off;
		off += out[s].len;
	}
}

Test(json, extracts_the_same_slots_with_the_portable_and_the_native_kernel)
{
	setenv("AF_JSON_KERNEL", "fallback", 1);
	struct af_jparser *generic = af_jparser_new(4096);
	unsetenv("AF_JSON_KERNEL");
	struct af_jparser *native = af_jparser_new(4096);

	cr_assert_not_null(generic);
	cr_assert_not_null(native);
	cr_assert_str_eq(af_jparser_kernel(generic), "fallback");
	if (strcmp(af_jparser_kernel(native), "fallback") == 0) {
		af_jparser_free(generic);
		af_jparser_free(native);
		cr_skip_test("this CPU runs only the portable kernel");
	}
	for (size_t i = 0; i < sizeof kernel_records / sizeof kernel_records[0]; i++) {
		struct af_jval a[S_N], b[S_N];
		char copy_a[4096], copy_b[4096];
		enum af_reason ra, rb;

		extract_all(generic, i, a, copy_a, &ra);
		extract_all(native, i, b, copy_b, &rb);
		cr_assert_eq(ra, rb, "record %zu: %s vs %s", i, af_reason_name(ra),
		             af_reason_name(rb));
		for (size_t s = 0; s < S_N; s++) {
			cr_assert_eq(a[s].type, b[s].type, "record %zu slot %zu", i, s);
			cr_assert_eq(a[s].len, b[s].len, "record %zu slot %zu", i, s);
			cr_assert_eq(a[s].b, b[s].b, "record %zu slot %zu", i, s);
			if (a[s].len)
				cr_assert(memcmp(a[s].s, b[s].s, a[s].len) == 0,
				          "record %zu slot %zu", i, s);
		}
	}
	af_jparser_free(generic);
	af_jparser_free(native);
}
