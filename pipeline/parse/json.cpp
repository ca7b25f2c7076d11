/* json.cpp - spec compilation and the choice of shim variant.
 *
 * Thread: af_jspec_new at start-up; af_jparser_* on the parser's owner.
 * In: paths (json.h). Out: a compiled af_jspec; parsers bound to the
 * fastest shim variant this CPU runs (AF_JSON_KERNEL=generic forces the
 * portable one, for tests that compare the two).
 */
#include "pipeline/parse/json_spec.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

extern const struct af_jshim_ops af_jshim_ops_generic;
#if AF_HAVE_HASWELL_SHIM
extern const struct af_jshim_ops af_jshim_ops_haswell;
#endif

struct af_jparser {
	const struct af_jshim_ops *ops;
	void *impl;
};

static void node_index(af_jnode &n)
{
	size_t cap = 4;
	while (cap < n.entries.size() * 2)
		cap <<= 1;
	n.table.assign(cap, -1);
	n.mask = cap - 1;
	for (size_t e = 0; e < n.entries.size(); e++) {
		uint64_t i = n.entries[e].hash & n.mask;
		while (n.table[i] >= 0)
			i = (i + 1) & n.mask;
		n.table[i] = (int)e;
	}
}

/* Add one path to spec; false and errstr on a bad path. */
static bool spec_add(af_jspec *spec, const struct af_jpath *path, char *errstr, size_t errstr_size)
{
	if (path->slot >= spec->nslots) {
		snprintf(errstr, errstr_size, "path '%s': slot %u out of range", path->path,
		         (unsigned)path->slot);
		return false;
	}
	size_t node = 0;
	const char *seg = path->path;
	for (;;) {
		const char *dot = strchr(seg, '.');
		size_t len = dot ? (size_t)(dot - seg) : strlen(seg);
		if (len == 0) {
			snprintf(errstr, errstr_size, "path '%s': empty key", path->path);
			return false;
		}
		std::string key(seg, len);
		for (auto &c : key)
			c = (char)af_jlower((unsigned char)c);
		std::vector<af_jentry> &entries = spec->nodes[node].entries;
		size_t idx = 0;
		while (idx < entries.size() && entries[idx].key != key)
			idx++;
		if (idx == entries.size()) {
			af_jentry e;
			e.key = key;
			e.hash = af_jhash_key(key.data(), key.size());
			entries.push_back(e);
		}
		if (!dot) {
			if (entries[idx].slot >= 0) {
				snprintf(errstr, errstr_size, "path '%s' given twice", path->path);
				return false;
			}
			entries[idx].slot = path->slot;
			return true;
		}
		if (entries[idx].child < 0) {
			entries[idx].child = (int)spec->nodes.size();
			spec->nodes.emplace_back(); /* invalidates entries */
		}
		node = (size_t)spec->nodes[node].entries[idx].child;
		seg = dot + 1;
	}
}

extern "C" {

struct af_jspec *af_jspec_new(const struct af_jpath *paths, size_t npaths, size_t nslots,
                              char *errstr, size_t errstr_size)
{
	af_jspec *spec = new (std::nothrow) af_jspec();
	if (!spec) {
		snprintf(errstr, errstr_size, "out of memory");
		return nullptr;
	}
	spec->nslots = nslots;
	spec->nodes.emplace_back();
	for (size_t i = 0; i < npaths; i++) {
		if (!spec_add(spec, &paths[i], errstr, errstr_size)) {
			delete spec;
			return nullptr;
		}
	}
	for (auto &n : spec->nodes)
		node_index(n);
	return spec;
}

void af_jspec_free(struct af_jspec *spec)
{
	delete spec;
}

size_t af_jspec_nslots(const struct af_jspec *spec)
{
	return spec->nslots;
}

const char *af_jparser_kernel(const struct af_jparser *p)
{
	return p->ops->name;
}

static const struct af_jshim_ops *pick_ops(void)
{
	const char *force = getenv("AF_JSON_KERNEL");
	if (force && strcmp(force, "generic") == 0)
		return &af_jshim_ops_generic;
#if AF_HAVE_HASWELL_SHIM
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") &&
	    __builtin_cpu_supports("pclmul"))
		return &af_jshim_ops_haswell;
#endif
	return &af_jshim_ops_generic;
}

struct af_jparser *af_jparser_new(size_t max_record)
{
	af_jparser *p = new (std::nothrow) af_jparser();
	if (!p)
		return nullptr;
	p->ops = pick_ops();
	p->impl = p->ops->new_parser(max_record);
	if (!p->impl) {
		delete p;
		return nullptr;
	}
	return p;
}

void af_jparser_free(struct af_jparser *p)
{
	if (!p)
		return;
	p->ops->free_parser(p->impl);
	delete p;
}

enum af_reason af_jparser_extract(struct af_jparser *p, const struct af_jspec *spec,
                                  const char *buf, size_t len, struct af_jval *slots)
{
	return p->ops->extract(p->impl, spec, buf, len, slots);
}

enum af_reason af_jparser_sub(struct af_jparser *p, const struct af_jspec *spec,
                              const char *text, size_t len, struct af_jval *slots)
{
	return p->ops->sub(p->impl, spec, text, len, slots);
}

enum af_reason af_jparser_each(struct af_jparser *p, const struct af_jspec *elem_spec,
                               const char *text, size_t len, struct af_jval *elem_slots,
                               af_jeach_fn *fn, void *ctx)
{
	return p->ops->each(p->impl, elem_spec, text, len, elem_slots, fn, ctx);
}

} // extern "C"
