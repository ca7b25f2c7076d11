/* json_shim.cpp - the only C++ in auditflow: simdjson On-Demand behind the C
 * API of json.h.
 *
 * Thread: whichever thread owns the af_jparser (one per worker).
 * In: a padded JSON record and a compiled spec. Out: slots.
 *
 * Built twice on x86-64: once for any CPU (simdjson's portable kernel) and
 * once with AVX2 (its haswell kernel), each as an af_jshim_ops table;
 * json.cpp picks one at run time. simdjson's On-Demand API is compiled into
 * the caller, so the choice has to be made here rather than inside simdjson.
 *
 * DESIGN: a spec is a small tree with one open-addressing table per object
 * level, keyed by the lower-cased key. The walk hashes each raw key while
 * looking for its closing quote (keys are short and almost never escaped),
 * so a field the spec does not want costs one hash and one probe; simdjson
 * skips its value when the loop advances. No exceptions: every simdjson
 * call is checked through its error code.
 */
#include "pipeline/parse/json_spec.hpp"

#define SIMDJSON_EXCEPTIONS 0
#include <simdjson.h>

#include <cstdio>
#include <cstring>
#include <new>
#include <vector>

#ifndef AF_JSHIM_VARIANT
#define AF_JSHIM_VARIANT generic
#define AF_JSHIM_NAME "generic"
#endif
#define AF_JSHIM_CAT2(a, b) a##b
#define AF_JSHIM_CAT(a, b) AF_JSHIM_CAT2(a, b)
#define AF_JSHIM_OPS AF_JSHIM_CAT(af_jshim_ops_, AF_JSHIM_VARIANT)

using namespace simdjson;

namespace {

/* 3.0.1's document has no at_end(): past the last token the iterator
 * reports OUT_OF_BOUNDS for its location. */
bool at_end(ondemand::document &doc)
{
	return doc.current_location().error() == OUT_OF_BOUNDS;
}

struct shim_parser {
	ondemand::parser main;
	ondemand::parser sub;
	std::vector<char> scratch;
	explicit shim_parser(size_t max) : main(max), sub(max) {}
};

enum af_reason classify(error_code err, const char *buf, size_t len)
{
	if (memchr(buf, 0, len) != nullptr)
		return AF_REASON_NUL_BYTES;
	switch (err) {
	case UTF8_ERROR: return AF_REASON_INVALID_UTF8;
	case CAPACITY: return AF_REASON_OVERSIZE;
	default: return AF_REASON_MALFORMED_JSON;
	}
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
		sv = v.raw_json_token();
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
		slot->type = AF_J_OBJECT;
		break;
	}
	case ondemand::json_type::array: {
		ondemand::array a;
		err = v.get_array().get(a);
		if (!err)
			err = a.raw_json().get(sv);
		slot->type = AF_J_ARRAY;
		break;
	}
	}
	if (err) {
		slot->type = AF_J_ABSENT;
		return err;
	}
	/* Raw text (numbers, objects, arrays) runs up to the next token,
	 * blanks included. */
	if (slot->type == AF_J_NUMBER || slot->type == AF_J_OBJECT || slot->type == AF_J_ARRAY)
		while (!sv.empty() && (sv.back() == ' ' || sv.back() == '\t' ||
		                       sv.back() == '\n' || sv.back() == '\r'))
			sv.remove_suffix(1);
	slot->s = sv.data();
	slot->len = (uint32_t)sv.size();
	return SUCCESS;
}

error_code walk(ondemand::object &obj, const af_jspec &spec, int node, struct af_jval *slots)
{
	const af_jnode &n = spec.nodes[(size_t)node];
	for (auto fres : obj) {
		ondemand::field field;
		error_code err = std::move(fres).get(field);
		if (err)
			return err;
		/* Hash the raw key up to its closing quote; fall back to the
		 * unescaped key in the rare case it has escapes. */
		const char *raw = field.key().raw();
		uint64_t h = af_jhash_seed;
		size_t len = 0;
		bool escaped = false;
		while (raw[len] != '"') {
			if (raw[len] == '\\') {
				escaped = true;
				break;
			}
			h = af_jhash_step(h, (unsigned char)raw[len]);
			len++;
		}
		const char *key = raw;
		if (escaped) {
			std::string_view uk;
			err = field.unescaped_key().get(uk);
			if (err)
				return err;
			key = uk.data();
			len = uk.size();
			h = af_jhash_key(key, len);
		}
		int idx = af_jnode_find(n, key, len, h);
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
				err = walk(sub, spec, e.child, slots);
			if (err)
				return err;
			continue;
		}
		if (e.slot < 0)
			continue;
		err = store(v, t, &slots[e.slot]);
		if (err)
			return err;
	}
	return SUCCESS;
}

enum af_reason extract_with(ondemand::parser &parser, const af_jspec &spec, const char *buf,
                            size_t len, size_t capacity, struct af_jval *slots)
{
	memset(slots, 0, spec.nslots * sizeof(*slots));
	ondemand::document doc;
	error_code err = parser.iterate(buf, len, capacity).get(doc);
	if (err)
		return classify(err, buf, len);
	ondemand::json_type t;
	err = doc.type().get(t);
	if (err)
		return classify(err, buf, len);
	if (t != ondemand::json_type::object)
		return AF_REASON_NOT_OBJECT;
	ondemand::object obj;
	err = doc.get_object().get(obj);
	if (!err)
		err = walk(obj, spec, 0, slots);
	if (!err && !at_end(doc))
		err = TRAILING_CONTENT;
	if (err) {
		memset(slots, 0, spec.nslots * sizeof(*slots));
		return classify(err, buf, len);
	}
	return AF_REASON_NONE;
}

/* Copy text into the padded scratch buffer; returns its start. */
const char *to_scratch(shim_parser *p, const char *text, size_t len)
{
	size_t need = len + SIMDJSON_PADDING;
	if (p->scratch.size() < need)
		p->scratch.resize(need);
	memcpy(p->scratch.data(), text, len);
	memset(p->scratch.data() + len, ' ', SIMDJSON_PADDING);
	return p->scratch.data();
}


void *shim_new(size_t max_record)
{
	return new (std::nothrow) shim_parser(max_record + SIMDJSON_PADDING);
}

void shim_free(void *impl)
{
	delete static_cast<shim_parser *>(impl);
}

enum af_reason shim_extract(void *impl, const struct af_jspec *spec, const char *buf, size_t len,
                            struct af_jval *slots)
{
	shim_parser *p = static_cast<shim_parser *>(impl);
	return extract_with(p->main, *spec, buf, len, len + SIMDJSON_PADDING, slots);
}

enum af_reason shim_sub(void *impl, const struct af_jspec *spec, const char *text, size_t len,
                        struct af_jval *slots)
{
	shim_parser *p = static_cast<shim_parser *>(impl);
	const char *buf = to_scratch(p, text, len);
	return extract_with(p->sub, *spec, buf, len, len + SIMDJSON_PADDING, slots);
}

enum af_reason shim_each(void *impl, const struct af_jspec *elem_spec, const char *text,
                         size_t len, struct af_jval *elem_slots, af_jeach_fn *fn, void *ctx)
{
	shim_parser *p = static_cast<shim_parser *>(impl);
	const char *buf = to_scratch(p, text, len);
	ondemand::document doc;
	ondemand::array arr;
	error_code err = p->sub.iterate(buf, len, len + SIMDJSON_PADDING).get(doc);
	if (!err)
		err = doc.get_array().get(arr);
	if (err)
		return AF_REASON_MALFORMED_JSON;
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
				err = walk(o, *elem_spec, 0, elem_slots);
			if (err)
				return AF_REASON_MALFORMED_JSON;
		}
		if (!fn(ctx, elem_slots))
			break;
	}
	return AF_REASON_NONE;
}

} // namespace

extern const struct af_jshim_ops AF_JSHIM_OPS;
const struct af_jshim_ops AF_JSHIM_OPS = {
	.name = AF_JSHIM_NAME,
	.new_parser = shim_new,
	.free_parser = shim_free,
	.extract = shim_extract,
	.sub = shim_sub,
	.each = shim_each,
};
