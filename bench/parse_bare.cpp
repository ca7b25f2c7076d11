/* parse_bare.cpp - the bare simdjson On-Demand loop of the parse benchmark
 * (parse_bare.h).
 *
 * Thread: the owner of the af_bare (the benchmark's only thread).
 * In: one padded record. Out: views of the fields our mappers use and a
 * checksum.
 *
 * Built with the same flags as pipeline/parse/json_shim.cpp; both use the
 * stage 1 kernel simdjson picks at run time, and af_bare_new forces the
 * one our parser reports, so neither side runs a slower kernel.
 *
 * DESIGN: the natural hand-written loop for known shapes. Each object is
 * iterated once and its keys compared exactly (a switch on the first byte,
 * then raw string comparison, which never unescapes a key); a nested object
 * from which one or two values are wanted (Item.ParentFolder.Path,
 * status.errorCode, an array element's Name and Value) is read with
 * find_field_unordered, whose forward scan costs the same as iterating when
 * the keys come in the expected order. The fields read are, per shape,
 * the ones its mapper uses, with the first present of a mapper's
 * alternatives (ClientIP before ActorIpAddress) and only where the mapper
 * looks (ResultStatus but for sign-ins, Workload for file operations);
 * values are decoded as a mapper needs them (strings unescaped, errorCode
 * and coordinates as numbers) and then only summed or kept as views.
 */
#include "bench/parse_bare.h"

#define SIMDJSON_EXCEPTIONS 0
#include <simdjson.h>

#include <cstdio>
#include <cstring>
#include <new>
#include <string_view>

namespace
{

using namespace simdjson;

struct bare_parser {
	ondemand::parser parser;
	explicit bare_parser(size_t max) : parser(max)
	{
	}
};

void keep(struct af_bare_rec *r, int field, std::string_view sv)
{
	r->f[field].s = sv.data();
	r->f[field].len = (uint32_t)sv.size();
	r->sum += sv.size();
}

error_code read_str(ondemand::value &v, struct af_bare_rec *r, int field)
{
	std::string_view sv;
	error_code err = v.get_string().get(sv);
	if (!err)
		keep(r, field, sv);
	return err;
}

/* True if the record's Operation, read already (it comes early in every
 * Management Activity record), starts with prefix. */
bool op_is(const struct af_bare_rec *r, std::string_view prefix)
{
	const struct af_bare_str &op = r->f[AF_BARE_ACTION];
	return op.s && op.len >= prefix.size() && memcmp(op.s, prefix.data(), prefix.size()) == 0;
}

/* A string a mapper inspects but the benchmark does not compare. */
error_code read_sum(ondemand::value &v, struct af_bare_rec *r)
{
	std::string_view sv;
	error_code err = v.get_string().get(sv);
	r->sum += sv.size();
	return err;
}

/* An array of objects, each holding the strings first and second (looked
 * up in that order); both are summed and handed to on_pair. */
template <typename F>
error_code read_pairs(ondemand::value &v, std::string_view first, std::string_view second,
                      struct af_bare_rec *r, F on_pair)
{
	ondemand::array arr;
	error_code err = v.get_array().get(arr);
	if (err)
		return err;
	for (auto elem : arr) {
		ondemand::object o;
		std::string_view a, b;
		if ((err = elem.get_object().get(o)) ||
		    (err = o.find_field_unordered(first).get_string().get(a)) ||
		    (err = o.find_field_unordered(second).get_string().get(b)))
			return err;
		r->sum += a.size() + b.size();
		on_pair(a, b);
	}
	return SUCCESS;
}

/* ExtendedProperties: [{"Name": ..., "Value": ...}, ...]; the user agent
 * is the value named UserAgent. */
error_code read_ext_props(ondemand::value &v, struct af_bare_rec *r)
{
	auto user_agent = [r](std::string_view name, std::string_view value) {
		if (name == "UserAgent")
			keep(r, AF_BARE_UA, value);
	};
	return read_pairs(v, "Name", "Value", r, user_agent);
}

/* recipientList: [{"Address": ..., "Name": ...}, ...] */
error_code read_recipients(ondemand::value &v, struct af_bare_rec *r)
{
	return read_pairs(v, "Address", "Name", r,
	                  [r](std::string_view, std::string_view) { r->recipients++; });
}

/* Item.ParentFolder.Path */
error_code read_item(ondemand::value &v, struct af_bare_rec *r)
{
	std::string_view path;
	error_code err = v.find_field_unordered("ParentFolder")
	                     .find_field_unordered("Path")
	                     .get_string()
	                     .get(path);
	if (err == NO_SUCH_FIELD)
		return SUCCESS;
	if (!err)
		keep(r, AF_BARE_FOLDER, path);
	return err;
}

error_code read_bool(ondemand::value &v, struct af_bare_rec *r, int8_t *out)
{
	bool b = false;
	error_code err = v.get_bool().get(b);
	r->sum += b;
	if (out)
		*out = b;
	return err;
}

/* An Entra sign-in's location: city, countryOrRegion, geoCoordinates. */
error_code read_location(ondemand::value &v, struct af_bare_rec *r)
{
	ondemand::object loc, geo;
	std::string_view city, country;
	double lat = 0, lon = 0;
	error_code err;
	if ((err = v.get_object().get(loc)) ||
	    (err = loc.find_field_unordered("city").get_string().get(city)) ||
	    (err = loc.find_field_unordered("countryOrRegion").get_string().get(country)) ||
	    (err = loc.find_field_unordered("geoCoordinates").get_object().get(geo)) ||
	    (err = geo.find_field_unordered("latitude").get_double().get(lat)) ||
	    (err = geo.find_field_unordered("longitude").get_double().get(lon)))
		return err;
	r->sum += city.size() + country.size() + (uint64_t)(int64_t)(lat * 1e4) +
	          (uint64_t)(int64_t)(lon * 1e4);
	return SUCCESS;
}

/* The sign-in under an Entra diagnostic record's "properties". */
error_code read_signin(ondemand::value &v, struct af_bare_rec *r)
{
	ondemand::object obj;
	error_code err = v.get_object().get(obj);
	if (err)
		return err;
	for (auto fres : obj) {
		ondemand::field field;
		if ((err = std::move(fres).get(field)))
			return err;
		ondemand::raw_json_string k = field.key();
		ondemand::value &fv = field.value();
		switch (k.raw()[0]) {
		case 'c':
			if (k == "createdDateTime")
				err = read_str(fv, r, AF_BARE_TIME);
			else if (k == "clientAppUsed")
				err = read_str(fv, r, AF_BARE_APP);
			break;
		case 'i':
			if (k == "id")
				err = read_str(fv, r, AF_BARE_ID);
			else if (k == "ipAddress")
				err = read_str(fv, r, AF_BARE_IP);
			else if (k == "isInteractive")
				err = read_bool(fv, r, nullptr);
			break;
		case 'l':
			if (k == "location")
				err = read_location(fv, r);
			break;
		case 's':
			if (k == "status") {
				int64_t code = 0;
				err = fv.find_field_unordered("errorCode").get_int64().get(code);
				r->error_code = code;
				r->sum += (uint64_t)code;
			}
			break;
		case 'u':
			if (k == "userPrincipalName")
				err = read_str(fv, r, AF_BARE_ACCOUNT);
			else if (k == "userDisplayName")
				err = read_str(fv, r, AF_BARE_NAME);
			else if (k == "userAgent")
				err = read_str(fv, r, AF_BARE_UA);
			break;
		}
		if (err)
			return err;
	}
	return SUCCESS;
}

/* The top level of any record of the corpus: Management Activity API
 * records, the Entra diagnostic envelope and message trace rows have no
 * key in common that means different things, so one switch serves all. */
error_code read_record(ondemand::object &obj, struct af_bare_rec *r)
{
	for (auto fres : obj) {
		ondemand::field field;
		error_code err = std::move(fres).get(field);
		if (err)
			return err;
		ondemand::raw_json_string k = field.key();
		ondemand::value &fv = field.value();
		switch (k.raw()[0]) {
		case 'C':
			if (k == "CreationTime")
				err = read_str(fv, r, AF_BARE_TIME);
			else if (k == "ClientIP" || k == "ClientIPAddress")
				err = read_str(fv, r, AF_BARE_IP);
			else if (k == "ClientInfoString")
				err = read_str(fv, r, AF_BARE_APP);
			break;
		case 'E':
			if (k == "ErrorNumber")
				err = read_str(fv, r, AF_BARE_ERROR);
			else if (k == "ExtendedProperties")
				err = read_ext_props(fv, r);
			break;
		case 'F':
			if (k == "FromIP")
				err = read_str(fv, r, AF_BARE_IP);
			break;
		case 'I':
			if (k == "Id")
				err = read_str(fv, r, AF_BARE_ID);
			else if (k == "Item")
				err = read_item(fv, r);
			break;
		case 'L':
			if (k == "LogonError")
				err = read_sum(fv, r);
			else if (k == "LogonUserDisplayName")
				err = read_str(fv, r, AF_BARE_NAME);
			break;
		case 'M':
			if (k == "MessageTraceId")
				err = read_str(fv, r, AF_BARE_ID);
			break;
		case 'O':
			if (k == "Operation")
				err = read_str(fv, r, AF_BARE_ACTION);
			break;
		case 'R':
			if (k == "ResultStatus" && !op_is(r, "UserLog"))
				err = read_sum(fv, r); /* sign-ins ignore it */
			else if (k == "Received")
				err = read_str(fv, r, AF_BARE_TIME);
			else if (k == "RecipientAddress")
				err = read_str(fv, r, AF_BARE_RECIPIENT);
			break;
		case 'S':
			if (k == "SaveToSentItems")
				err = read_bool(fv, r, &r->save_sent);
			else if (k == "SenderAddress")
				err = read_str(fv, r, AF_BARE_ACCOUNT);
			else if (k == "Status")
				err = read_str(fv, r, AF_BARE_ACTION);
			break;
		case 'U':
			if (k == "UserId")
				err = read_str(fv, r, AF_BARE_ACCOUNT);
			else if (k == "UserAgent")
				err = read_str(fv, r, AF_BARE_UA);
			break;
		case 'W':
			if (k == "Workload" && op_is(r, "File"))
				err = read_sum(fv, r); /* only file operations use it */
			break;
		case 'c':
			if (k == "category")
				err = read_sum(fv, r);
			break;
		case 'o':
			if (k == "operationName")
				err = read_str(fv, r, AF_BARE_ACTION);
			break;
		case 'p':
			if (k == "properties")
				err = read_signin(fv, r);
			break;
		case 'r':
			if (k == "recipientCount") {
				int64_t n = 0;
				err = fv.get_int64().get(n);
				r->sum += (uint64_t)n;
			} else if (k == "recipientList") {
				err = read_recipients(fv, r);
			}
			break;
		}
		if (err)
			return err;
	}
	return SUCCESS;
}

void *bare_new(size_t max_record)
{
	bare_parser *p = new (std::nothrow) bare_parser(max_record + SIMDJSON_PADDING);
	if (p && p->parser.allocate(max_record + SIMDJSON_PADDING) != SUCCESS) {
		delete p;
		return nullptr;
	}
	return p;
}

void bare_free(void *impl)
{
	delete static_cast<bare_parser *>(impl);
}

bool bare_record(void *impl, const char *buf, size_t len, struct af_bare_rec *rec)
{
	bare_parser *p = static_cast<bare_parser *>(impl);
	*rec = af_bare_rec{};
	rec->save_sent = -1;
	ondemand::document doc;
	ondemand::object obj;
	if (p->parser.iterate(buf, len, len + SIMDJSON_PADDING).get(doc) ||
	    doc.get_object().get(obj))
		return false;
	return read_record(obj, rec) == SUCCESS;
}

} // namespace

struct af_bare {
	void *impl;
	const char *stage1;
};

extern "C" {

struct af_bare *af_bare_new(size_t max_record, const char *kernel, char *errstr, size_t errstr_size)
{
	/* As af_jparser_new: simdjson binds the stage 1 kernel when the
	 * parser allocates, so swap the wanted one in around that. */
	const implementation *saved = get_active_implementation();
	const implementation *impl = get_available_implementations()[kernel];
	if (!impl || !impl->supported_by_runtime_system()) {
		snprintf(errstr, errstr_size, "simdjson has no usable '%s' kernel here", kernel);
		return nullptr;
	}
	get_active_implementation() = impl;
	af_bare *b = new (std::nothrow) af_bare();
	if (b) {
		b->impl = bare_new(max_record);
		b->stage1 = impl->name().data();
	}
	get_active_implementation() = saved;
	if (!b || !b->impl) {
		if (b)
			bare_free(b->impl);
		delete b;
		snprintf(errstr, errstr_size, "out of memory");
		return nullptr;
	}
	return b;
}

void af_bare_free(struct af_bare *b)
{
	if (!b)
		return;
	bare_free(b->impl);
	delete b;
}

const char *af_bare_kernel(const struct af_bare *b)
{
	return b->stage1;
}

bool af_bare_record(struct af_bare *b, const char *buf, size_t len, struct af_bare_rec *rec)
{
	return bare_record(b->impl, buf, len, rec);
}

} // extern "C"
