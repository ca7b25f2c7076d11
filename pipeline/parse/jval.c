/* jval.c - small helpers on values the JSON shim extracted.
 *
 * Thread: any. Plain C on views; no parsing state, no allocation.
 */
#include <string.h>
#include <strings.h>

#include "pipeline/parse/json.h"

bool af_jval_int(const struct af_jval *v, int64_t *out)
{
	if (v->type != AF_J_NUMBER && v->type != AF_J_STRING)
		return false;
	const char *s = v->s;
	size_t n = v->len, i = 0;
	bool neg = false;
	if (n > 0 && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n || n - i > 18)
		return false;
	int64_t x = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (s[i] - '0');
	}
	*out = neg ? -x : x;
	return true;
}

bool af_jval_bool(const struct af_jval *v, bool *out)
{
	if (v->type == AF_J_BOOL) {
		*out = v->b;
		return true;
	}
	if (af_jval_ieq(v, "true")) {
		*out = true;
		return true;
	}
	if (af_jval_ieq(v, "false")) {
		*out = false;
		return true;
	}
	return false;
}

