/* json_shim.cpp - simdjson On-Demand behind the C API of json.h.
 *
 * Thread: whichever thread owns the af_jparser (one per worker).
 * In: a padded JSON record and a compiled spec. Out: slots and arrays.
 *
 * DESIGN: the walk visits each object once. For every key it finds the
 * closing quote and lower-cases the key 16 bytes at a time (json_spec.hpp),
 * hashes the folded words and probes that level's table, so a field the
 * spec does not want costs a few instructions and simdjson skips its value
 * when the loop advances. Arrays the spec walks ("recipientList[]") are read
 * in the same pass into per-parser element tables, so mappers never parse
 * the same bytes twice. Stage 1 (finding the structure) is simdjson's
 * run-time dispatched kernel; stage 2, compiled here, is scalar code whose
 * speed does not depend on -m flags, so one build serves every x86-64 CPU.
 * No exceptions: every simdjson call is checked through its error code.
 */
#include "pipeline/parse/json_spec.hpp"

#define SIMDJSON_EXCEPTIONS 0
#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

using namespace simdjson;

struct af_jarray_store {
	std::vector<struct af_jval> elems; /* AF_JSON_ARRAY_MAX * stride */
	uint32_t n = 0, total = 0, stride = 0;
};

struct af_jparser {
	ondemand::parser main;
	ondemand::parser sub;
	std::vector<char> scratch;
	const af_jspec *arrays_for = nullptr; /* the spec arrays[] is sized for */
	std::vector<af_jarray_store> arrays;  /* by array id; [0] unused */
	dom::parser check; /* full validation, on the error path only */
	const char *kernel = "";
	/* simdjson's portable kernel checks UTF-8 only inside strings; the
	 * SIMD kernels check the whole record. With the portable one we check
	 * the whole record first, so a record is rejected or accepted the
	 * same on every CPU. */
	bool check_utf8 = false;
	explicit af_jparser(size_t max) : main(max), sub(max) {}
};

namespace {

/* 3.0.1's document has no at_end(): past the last token the iterator
 * reports OUT_OF_BOUNDS for its location. */
bool at_end(ondemand::document &doc)
{
	return doc.current_location().error() == OUT_OF_BOUNDS;
}

/* Why a record is unusable, once On-Demand has refused it or found it is
 * not an object. Kernels meet problems in different orders (and On-Demand
 * checks lazily), so the reason is decided here, by a full validation in
 * a fixed precedence: a NUL byte, then invalid UTF-8, then oversize, then
 * "not an object" for valid JSON of another type, else malformed JSON.
 * The same refused record gets the same reason on every CPU. This is the
 * error path only: the full check costs a second parse of the record. */
enum af_reason classify(af_jparser *p, error_code err, const char *buf, size_t len)
{
	if (memchr(buf, 0, len) != nullptr)
		return AF_REASON_NUL_BYTES;
	if (err == UTF8_ERROR || !validate_utf8(buf, len))
		return AF_REASON_INVALID_UTF8;
	if (err == CAPACITY)
		return AF_REASON_OVERSIZE;
	dom::element root;
	if (p->check.parse(buf, len, false).get(root) != SUCCESS)
		return AF_REASON_MALFORMED_JSON;
	return root.is_object() ? AF_REASON_MALFORMED_JSON : AF_REASON_NOT_OBJECT;
}

std::string_view trim_end(std::string_view sv)
{
	while (!sv.empty() &&
	       (sv.back() == ' ' || sv.back() == '\t' || sv.back() == '\n' || sv.back() == '\r'))
		sv.remove_suffix(1);
	return sv;
}

/* Store v into slot. Returns the simdjson error, if any. */
error_code store(ondemand::value &v, ondemand::json_type t, struct af_jval *slot)
{
	std::string_view sv;
	error_code err = SUCCESS;
	switch (t) {
	case ondemand::json_type::string:
		err = v.get_string().get(sv);
		slot->type = AF_J_STRING;
		break;
	case ondemand::json_type::number:
		/* Raw text runs up to the next token, blanks included. */
		sv = trim_end(v.raw_json_token());
		slot->type = AF_J_NUMBER;
		break;
	case ondemand::json_type::boolean: {
		bool b = false;
		err = v.get_bool().get(b);
		slot->type = AF_J_BOOL;
		slot->b = b;
		break;
	}
	case ondemand::json_type::null: {
		bool is_null = false;
		err = v.is_null().get(is_null);
		if (!err && !is_null)
			err = TAPE_ERROR;
		slot->type = AF_J_NULL;
		break;
	}
	case ondemand::json_type::object: {
		ondemand::object o;
		err = v.get_object().get(o);
		if (!err)
			err = o.raw_json().get(sv);
		sv = trim_end(sv);
		slot->type = AF_J_OBJECT;
		break;
	}
	case ondemand::json_type::array: {
		ondemand::array a;
		err = v.get_array().get(a);
		if (!err)
			err = a.raw_json().get(sv);
		sv = trim_end(sv);
		slot->type = AF_J_ARRAY;
		break;
	}
	}
	if (err) {
		slot->type = AF_J_ABSENT;
		return err;
	}
	slot->s = sv.data();
	slot->len = (uint32_t)sv.size();
	return SUCCESS;
}

struct walker {
	const af_jspec &spec;
	af_jparser *p; /* element tables; NULL when the spec walks no array */
};

error_code walk(ondemand::object &obj, const walker &w, int node, struct af_jval *slots);

/* Walk the elements of an array value into its element table. */
error_code walk_array(ondemand::value &v, const walker &w, const af_jentry &e,
                      struct af_jval *slots)
{
	ondemand::array arr;
	error_code err = v.get_array().get(arr);
	if (err)
		return err;
	af_jarray_store &a = w.p->arrays[(size_t)e.array];
	for (auto eres : arr) {
		ondemand::value ev;
		err = std::move(eres).get(ev);
		if (err)
			return err;
		a.total++;
		if (a.n >= AF_JSON_ARRAY_MAX)
			continue; /* counted; the iterator skips the value */
		ondemand::json_type t;
		err = ev.type().get(t);
		if (err)
			return err;
		struct af_jval *es = &a.elems[(size_t)a.n * a.stride];
		memset(es, 0, a.stride * sizeof(*es));
		a.n++;
		if (t != ondemand::json_type::object)
			continue;
		ondemand::object o;
		err = ev.get_object().get(o);
		if (!err)
			err = walk(o, w, e.elem_node, es);
		if (err)
			return err;
	}
	if (e.slot >= 0) {
		slots[e.slot].type = AF_J_ARRAY;
		slots[e.slot].s = nullptr;
		slots[e.slot].len = a.total;
	}
	return SUCCESS;
}

error_code walk(ondemand::object &obj, const walker &w, int node, struct af_jval *slots)
{
	const af_jnode &n = w.spec.nodes[(size_t)node];
	alignas(16) uint8_t key[AF_JKEY_MAX];
	for (auto fres : obj) {
		ondemand::field field;
		error_code err = std::move(fres).get(field);
		if (err)
			return err;
		int len = af_jkey_scan(field.key().raw(), key);
		if (len == -2)
			continue; /* longer than any key a spec names */
		if (len == -1) {
			std::string_view uk;
			err = field.unescaped_key().get(uk);
			if (err)
				return err;
			if (!af_jkey_fold(uk.data(), uk.size(), key))
				continue;
			len = (int)uk.size();
		}
		int idx = af_jnode_find(n, key, (size_t)len, af_jkey_hash(key, (size_t)len));
		if (idx < 0)
			continue;
		const af_jentry &e = n.entries[(size_t)idx];
		ondemand::value v = field.value();
		ondemand::json_type t;
		err = v.type().get(t);
		if (err)
			return err;
		if (t == ondemand::json_type::object && e.child >= 0) {
			ondemand::object sub;
			err = v.get_object().get(sub);
			if (!err)
				err = walk(sub, w, e.child, slots);
		} else if (t == ondemand::json_type::array && e.elem_node >= 0 && w.p) {
			err = walk_array(v, w, e, slots);
		} else if (e.slot >= 0) {
			err = store(v, t, &slots[e.slot]);
		}
		if (err)
			return err;
	}
	return SUCCESS;
}

/* Size the element tables for spec (once per spec) and empty them. */
bool arrays_reset(af_jparser *p, const af_jspec &spec)
{
	if (p->arrays_for != &spec) {
		p->arrays.assign(spec.stride.size(), af_jarray_store());
		for (size_t i = 1; i < spec.stride.size(); i++) {
			p->arrays[i].stride = spec.stride[i];
			p->arrays[i].elems.resize((size_t)AF_JSON_ARRAY_MAX * spec.stride[i]);
		}
		p->arrays_for = &spec;
	}
	for (auto &a : p->arrays)
		a.n = a.total = 0;
	return spec.stride.size() > 1;
}

enum af_reason extract_with(af_jparser *p, ondemand::parser &parser, const walker &w,
                            const char *buf, size_t len, struct af_jval *slots)
{
	memset(slots, 0, w.spec.nslots * sizeof(*slots));
	if (p->check_utf8 && !validate_utf8(buf, len))
		return classify(p, UTF8_ERROR, buf, len);
	ondemand::document doc;
	error_code err = parser.iterate(buf, len, len + SIMDJSON_PADDING).get(doc);
	if (err)
		return classify(p, err, buf, len);
	ondemand::json_type t;
	err = doc.type().get(t);
	if (err || t != ondemand::json_type::object)
		return classify(p, err, buf, len);
	ondemand::object obj;
	err = doc.get_object().get(obj);
	if (!err)
		err = walk(obj, w, 0, slots);
	if (!err && !at_end(doc))
		err = TRAILING_CONTENT;
	if (err) {
		memset(slots, 0, w.spec.nslots * sizeof(*slots));
		return classify(p, err, buf, len);
	}
	return AF_REASON_NONE;
}

/* Copy text into the padded scratch buffer; returns its start. */
const char *to_scratch(af_jparser *p, const char *text, size_t len)
{
	size_t need = len + SIMDJSON_PADDING;
	if (p->scratch.size() < need)
		p->scratch.resize(need);
	memcpy(p->scratch.data(), text, len);
	memset(p->scratch.data() + len, ' ', SIMDJSON_PADDING);
	return p->scratch.data();
}

} // namespace

extern "C" {

struct af_jparser *af_jparser_new(size_t max_record)
{
	/* simdjson picks its stage 1 kernel when a parser allocates; a forced
	 * kernel is swapped in around this parser's allocation only. */
	const implementation *saved = get_active_implementation();
	const char *force = getenv("AF_JSON_KERNEL");
	if (force && *force) {
		const implementation *impl = get_available_implementations()[force];
		if (impl && impl->supported_by_runtime_system())
			get_active_implementation() = impl;
	}
	af_jparser *p = new (std::nothrow) af_jparser(max_record + SIMDJSON_PADDING);
	bool ok = p && p->main.allocate(max_record + SIMDJSON_PADDING) == SUCCESS &&
	          p->sub.allocate(max_record + SIMDJSON_PADDING) == SUCCESS;
	if (p) {
		p->kernel = get_active_implementation()->name().data();
		p->check_utf8 = get_active_implementation()->name() == "fallback";
	}
	get_active_implementation() = saved;
	if (!ok) {
		delete p;
		return nullptr;
	}
	return p;
}

void af_jparser_free(struct af_jparser *p)
{
	delete p;
}

const char *af_jparser_kernel(const struct af_jparser *p)
{
	return p->kernel;
}

enum af_reason af_jparser_extract(struct af_jparser *p, const struct af_jspec *spec,
                                  const char *buf, size_t len, struct af_jval *slots)
{
	walker w{*spec, arrays_reset(p, *spec) ? p : nullptr};
	return extract_with(p, p->main, w, buf, len, slots);
}

enum af_reason af_jparser_validate(struct af_jparser *p, const char *buf, size_t len)
{
	dom::element root;
	if (memchr(buf, 0, len) == nullptr && validate_utf8(buf, len) &&
	    p->check.parse(buf, len, false).get(root) == SUCCESS && root.is_object())
		return AF_REASON_NONE;
	return classify(p, SUCCESS, buf, len);
}

void af_jparser_array(const struct af_jparser *p, unsigned array, struct af_jarray *out)
{
	if (array == 0 || array >= p->arrays.size()) {
		*out = af_jarray{nullptr, 0, 0, 0};
		return;
	}
	const af_jarray_store &a = p->arrays[array];
	*out = af_jarray{a.elems.data(), a.n, a.total, a.stride};
}

enum af_reason af_jparser_sub(struct af_jparser *p, const struct af_jspec *spec,
                              const char *text, size_t len, struct af_jval *slots)
{
	const char *buf = to_scratch(p, text, len);
	/* JSON inside a string was never seen by stage 1 as JSON: validate
	 * it whole, so every kernel accepts and refuses the same texts. */
	dom::element root;
	if (p->check.parse(buf, len, false).get(root) != SUCCESS) {
		memset(slots, 0, spec->nslots * sizeof(*slots));
		return AF_REASON_MALFORMED_JSON;
	}
	walker w{*spec, nullptr};
	return extract_with(p, p->sub, w, buf, len, slots);
}

enum af_reason af_jparser_each(struct af_jparser *p, const struct af_jspec *elem_spec,
                               const char *text, size_t len, struct af_jval *elem_slots,
                               af_jeach_fn *fn, void *ctx)
{
	const char *buf = to_scratch(p, text, len);
	dom::element root; /* as in af_jparser_sub */
	if (p->check.parse(buf, len, false).get(root) != SUCCESS)
		return AF_REASON_MALFORMED_JSON;
	ondemand::document doc;
	ondemand::array arr;
	error_code err = p->sub.iterate(buf, len, len + SIMDJSON_PADDING).get(doc);
	if (!err)
		err = doc.get_array().get(arr);
	if (err)
		return AF_REASON_MALFORMED_JSON;
	walker w{*elem_spec, nullptr};
	for (auto eres : arr) {
		ondemand::value v;
		err = std::move(eres).get(v);
		if (err)
			return AF_REASON_MALFORMED_JSON;
		memset(elem_slots, 0, elem_spec->nslots * sizeof(*elem_slots));
		ondemand::json_type t;
		err = v.type().get(t);
		if (err)
			return AF_REASON_MALFORMED_JSON;
		if (t == ondemand::json_type::object) {
			ondemand::object o;
			err = v.get_object().get(o);
			if (!err)
				err = walk(o, w, 0, elem_slots);
			if (err)
				return AF_REASON_MALFORMED_JSON;
		}
		if (!fn(ctx, elem_slots))
			break;
	}
	return AF_REASON_NONE;
}

} // extern "C"
