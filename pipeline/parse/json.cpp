/* json.cpp - compiling a spec (json.h) from its paths.
 *
 * Thread: start-up; the spec is read-only afterwards and shared.
 * In: paths with their slots. Out: a tree of per-level key tables.
 */
#include "pipeline/parse/json_spec.hpp"

#include <cstdio>
#include <cstring>
#include <new>

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

/* The entry for key in node, created when new. */
static size_t node_entry(af_jspec *spec, size_t node, const char *key, size_t len)
{
	uint8_t folded[AF_JKEY_MAX];
	af_jkey_fold(key, len, folded);
	std::vector<af_jentry> &entries = spec->nodes[node].entries;
	for (size_t i = 0; i < entries.size(); i++)
		if (entries[i].len == len && memcmp(entries[i].key, folded, len) == 0)
			return i;
	af_jentry e;
	memcpy(e.key, folded, sizeof(folded));
	e.len = (uint32_t)len;
	e.hash = af_jkey_hash(folded, len);
	entries.push_back(e);
	return entries.size() - 1;
}

static int new_node(af_jspec *spec)
{
	spec->nodes.emplace_back();
	return (int)spec->nodes.size() - 1;
}

/* Add one path to spec; false and errstr on a bad path. */
static bool spec_add(af_jspec *spec, const struct af_jpath *path, char *errstr, size_t errstr_size)
{
	const char *p = path->path;
	if (path->array == 0 && path->slot >= spec->nslots) {
		snprintf(errstr, errstr_size, "path '%s': slot %u out of range", p,
		         (unsigned)path->slot);
		return false;
	}
	size_t node = 0;
	bool in_array = false;
	const char *seg = p;
	for (;;) {
		const char *dot = strchr(seg, '.');
		size_t len = dot ? (size_t)(dot - seg) : strlen(seg);
		bool each = len >= 2 && seg[len - 2] == '[' && seg[len - 1] == ']';
		size_t klen = each ? len - 2 : len;
		if (klen == 0 || klen > AF_JKEY_MAX || (each && (in_array || !dot))) {
			snprintf(errstr, errstr_size,
			         "path '%s': empty or too long key, or misplaced []", p);
			return false;
		}
		size_t idx = node_entry(spec, node, seg, klen);
		af_jentry *e = &spec->nodes[node].entries[idx];
		if (!dot) {
			if (e->slot >= 0) {
				snprintf(errstr, errstr_size, "path '%s' given twice", p);
				return false;
			}
			e->slot = path->slot;
			if (in_array) {
				uint32_t &stride = spec->stride[path->array];
				if (path->slot + 1u > stride)
					stride = path->slot + 1u;
			}
			return true;
		}
		if (each) {
			if (path->array == 0) {
				snprintf(errstr, errstr_size, "path '%s': [] needs an array id", p);
				return false;
			}
			if (e->elem_node < 0) {
				int child = new_node(spec); /* invalidates e */
				e = &spec->nodes[node].entries[idx];
				e->elem_node = child;
				e->array = path->array;
			} else if (e->array != path->array) {
				snprintf(errstr, errstr_size, "path '%s': array id differs", p);
				return false;
			}
			if (spec->stride.size() <= path->array)
				spec->stride.resize(path->array + 1u, 0);
			in_array = true;
			node = (size_t)e->elem_node;
		} else {
			if (e->child < 0) {
				int child = new_node(spec);
				e = &spec->nodes[node].entries[idx];
				e->child = child;
			}
			node = (size_t)e->child;
		}
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
	spec->stride.resize(1, 0);
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

} // extern "C"
