/* http_json.cpp - the JSON the HTTP sink reads: one top-level field of a
 * document (ES _id, HEC time) and the items of an Elasticsearch _bulk
 * answer, through simdjson On-Demand.
 *
 * Thread: the HTTP sink's owner (one parser per sink).
 * In: a document or an answer, AF_HTTP_PAD readable bytes after it.
 * Out: a view of the field; each bulk item's status and error.
 *
 * DESIGN: a _bulk answer with "errors":false is the common case and is
 * settled by a scan of its first bytes (ES writes "took", "errors", then
 * "items"); only an answer with errors is parsed, item by item, and the
 * values needed are read as they pass, without building a tree. No
 * exceptions: every simdjson call is checked through its error code.
 */
#include "sinks/http_impl.h"

#define SIMDJSON_EXCEPTIONS 0
#include <simdjson.h>

#include <cstring>
#include <new>
#include <string_view>

using namespace simdjson;

static_assert(AF_HTTP_PAD >= SIMDJSON_PADDING, "documents need simdjson's padding");

/* Two parsers: a _bulk walk calls back into the sink, whose on_done may
 * submit a document, which is read with the other one. */
struct af_http_json {
	ondemand::parser doc;
	ondemand::parser bulk;
};

/* The error of one item: {"type":..,"reason":..} or, from old servers, a
 * bare string. */
static error_code read_error(ondemand::value v, std::string_view &type, std::string_view &reason)
{
	ondemand::json_type t;
	error_code e = v.type().get(t);
	if (e)
		return e;
	if (t == ondemand::json_type::string)
		return v.get_string().get(reason);
	if (t != ondemand::json_type::object)
		return SUCCESS;
	ondemand::object o;
	if ((e = v.get_object().get(o)))
		return e;
	for (auto f : o) {
		std::string_view k;
		if ((e = f.unescaped_key().get(k)))
			return e;
		if (k == "type")
			e = f.value().get_string().get(type);
		else if (k == "reason")
			e = f.value().get_string().get(reason);
		if (e)
			return e;
	}
	return SUCCESS;
}

/* One element of items[]: {"<action>":{"status":..,"error":..}}. */
static error_code read_item(ondemand::value el, af_http_bulk_fn fn, void *ctx, uint32_t *n)
{
	ondemand::object item;
	error_code e = el.get_object().get(item);
	if (e)
		return e;
	for (auto action : item) {
		ondemand::object r;
		if ((e = action.value().get_object().get(r)))
			return e;
		int64_t status = 0;
		std::string_view type, reason;
		for (auto f : r) {
			std::string_view k;
			if ((e = f.unescaped_key().get(k)))
				return e;
			if (k == "status")
				e = f.value().get_int64().get(status);
			else if (k == "error") {
				ondemand::value v;
				e = f.value().get(v);
				if (!e)
					e = read_error(v, type, reason);
			}
			if (e)
				return e;
		}
		fn(ctx, *n, (int)status, type.data(), type.size(), reason.data(), reason.size());
		(*n)++;
	}
	return SUCCESS;
}

extern "C" {

struct af_http_json *af_http_json_new(void)
{
	return new (std::nothrow) af_http_json();
}

void af_http_json_free(struct af_http_json *j)
{
	delete j;
}

bool af_http_json_field(struct af_http_json *j, const char *doc, size_t len, const char *key,
                        const char **val, size_t *val_len, bool *is_string)
{
	ondemand::document d;
	ondemand::object o;

	if (j->doc.iterate(doc, len, len + AF_HTTP_PAD).get(d) || d.get_object().get(o))
		return false;
	for (auto f : o) {
		std::string_view k, raw;
		ondemand::json_type t;
		if (f.unescaped_key().get(k))
			return false;
		if (k != key)
			continue;
		ondemand::value v;
		if (f.value().get(v) || v.type().get(t))
			return false;
		raw = v.raw_json_token();
		if (t != ondemand::json_type::string && t != ondemand::json_type::number)
			return false;
		/* The token runs up to the next one: trailing blanks. */
		while (!raw.empty() && strchr(" \t\r\n", raw.back()) != nullptr)
			raw.remove_suffix(1);
		*is_string = t == ondemand::json_type::string;
		if (*is_string) {
			if (raw.size() < 2)
				return false;
			raw = raw.substr(1, raw.size() - 2);
		}
		*val = raw.data();
		*val_len = raw.size();
		return true;
	}
	return false;
}

bool af_http_bulk_all_ok(const char *buf, size_t len)
{
	static const char key[] = "\"errors\"";
	const char *end = buf + len;
	const char *items = static_cast<const char *>(memchr(buf, '[', len));
	if (items != nullptr)
		end = items; /* the top-level keys come before the first array */
	const char *p =
	    static_cast<const char *>(memmem(buf, (size_t)(end - buf), key, sizeof key - 1));
	if (p == nullptr)
		return false;
	p += sizeof key - 1;
	while (p < end && strchr(" \t\r\n", *p) != nullptr)
		p++;
	if (p == end || *p != ':')
		return false;
	p++;
	while (p < end && strchr(" \t\r\n", *p) != nullptr)
		p++;
	return end - p >= 5 && memcmp(p, "false", 5) == 0;
}

af_err_t af_http_json_bulk(struct af_http_json *j, const char *buf, size_t len, af_http_bulk_fn fn,
                           void *ctx, uint32_t *n)
{
	ondemand::document d;
	ondemand::object o;
	bool seen = false;

	*n = 0;
	if (j->bulk.iterate(buf, len, len + AF_HTTP_PAD).get(d) || d.get_object().get(o))
		return AF_E_RECORD;
	for (auto f : o) {
		std::string_view k;
		if (f.unescaped_key().get(k))
			return AF_E_RECORD;
		if (k != "items")
			continue;
		ondemand::array a;
		if (f.value().get_array().get(a))
			return AF_E_RECORD;
		for (auto el : a) {
			ondemand::value v;
			if (el.get(v) || read_item(v, fn, ctx, n))
				return AF_E_RECORD;
		}
		seen = true;
	}
	return seen ? AF_OK : AF_E_RECORD;
}

} // extern "C"
