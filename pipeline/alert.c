/* alert.c - making an alert: its id, its observations and its evidence.
 *
 * Thread: the shard that raises the alert (pure functions on the caller's
 * struct; no shared state).
 * In: what a rule saw. Out: fields of struct af_alert, bounded and cut at
 * UTF-8 boundaries, ready to be copied into the sink ring.
 *
 * DESIGN: the id hashes rule, subject and trigger each followed by a NUL.
 * The parts are C strings, so none contains a NUL: the byte string
 * determines the triple, and ("ab","c") and ("a","bc") hash different
 * input. 0 is kept free so that "no id" can never be mistaken for one.
 */
#include "pipeline/alert.h"

#include <assert.h>
#include <string.h>
#define XXH_INLINE_ALL /* one streaming hash per alert; inlined like parse.c */
#include <xxhash.h>

#include "pipeline/utf8.h"

const char *af_severity_name(enum af_severity sev)
{
	static const char *const names[AF_SEV_COUNT] = {
	    [AF_SEV_LOW] = "low",
	    [AF_SEV_MEDIUM] = "medium",
	    [AF_SEV_HIGH] = "high",
	    [AF_SEV_CRITICAL] = "critical",
	};
	return (unsigned)sev < AF_SEV_COUNT ? names[sev] : "unknown";
}

uint64_t af_alert_id(const char *rule, const char *subject, const char *trigger)
{
	XXH3_state_t st;
	uint64_t h;

	assert(rule != NULL && subject != NULL && trigger != NULL);
	XXH3_64bits_reset(&st);
	/* strlen + 1: the NUL is the separator. */
	XXH3_64bits_update(&st, rule, strlen(rule) + 1);
	XXH3_64bits_update(&st, subject, strlen(subject) + 1);
	XXH3_64bits_update(&st, trigger, strlen(trigger) + 1);
	h = XXH3_64bits_digest(&st);
	return h != 0 ? h : 1;
}

/* Copy s into dst of size bytes, cut at a UTF-8 boundary, NUL-terminated. */
static void af_alert_copy(char *dst, size_t size, const char *s)
{
	size_t n = af_utf8_cut(s, strlen(s), size - 1);

	memcpy(dst, s, n);
	dst[n] = '\0';
}

void af_alert_observe(struct af_alert *a, const char *name, double num)
{
	struct af_alert_value *v;

	if (a->nobserved >= AF_ALERT_OBSERVED_MAX)
		return;
	v = &a->observed[a->nobserved++];
	v->name = name;
	v->num = num;
	v->text[0] = '\0';
}

void af_alert_observe_text(struct af_alert *a, const char *name, const char *text)
{
	struct af_alert_value *v;

	/* An empty text would read back as the number 0. */
	if (a->nobserved >= AF_ALERT_OBSERVED_MAX || text[0] == '\0')
		return;
	v = &a->observed[a->nobserved++];
	v->name = name;
	v->num = 0;
	af_alert_copy(v->text, sizeof v->text, text);
}

void af_alert_add_evidence(struct af_alert *a, const char *record_id)
{
	if (a->nevidence >= AF_ALERT_EVIDENCE_MAX || record_id[0] == '\0')
		return;
	af_alert_copy(a->evidence[a->nevidence++], AF_RECORD_ID_MAX, record_id);
}
