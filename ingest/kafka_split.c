/* kafka_split.c - cut one Kafka message payload into records.
 *
 * Thread: the source thread, through ingest/kafka_fill.c; the cursor is
 * the caller's storage and holds all the state.
 * In: a whole payload (a message is in memory as one piece). Out: the
 * spans of its records, one per call.
 *
 * DESIGN: the same framing as the file reader (ingest/file_json.c), with
 * the bracket scanner of ingest/scan.h, but over one complete buffer, so
 * there is never "need more bytes": a value still open at the end of the
 * payload ends there, and the parser will reject it. The mode is decided
 * by the first top-level value as in a file:
 *  - LINES when it starts and ends on one line and only blanks follow it
 *    there: JSON Lines (or one array or envelope per line). An object is
 *    then the rest of its line, so a broken line never swallows the next;
 *    array elements are scanned but a '\n' ends them and their container.
 *  - BRACKETS when it spans lines (pretty-printed, or several values run
 *    together): every value is cut by bracket depth.
 * While undecided, a first value still open at the end of its line whose
 * next line starts with '{' is taken for a broken JSON line (LINES).
 * A payload that does not start with '{' or '[' is cut into lines.
 */
#include <string.h>

#include "ingest/kafka_impl.h"
#include "ingest/scan.h"

static inline bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

void af_kafka_split_init(struct af_kafka_split *sp, const char *p, size_t len)
{
	memset(sp, 0, sizeof(*sp));
	sp->p = p;
	sp->len = len;
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		sp->pos = 3;
	sp->state = KSPLIT_TOP;
	sp->mode = KSPLIT_UNDECIDED;
}

/* A top-level value or container ended: the first one decides the mode
 * (it ended on its line if the mode is still undecided: any '\n' crossed
 * has made it BRACKETS). */
static void top_done(struct af_kafka_split *sp)
{
	sp->state = KSPLIT_TOP;
	if (sp->mode == KSPLIT_UNDECIDED)
		sp->probe = true;
}

static bool emit(struct af_kafka_split *sp, size_t from, size_t to, size_t *start, size_t *len)
{
	while (to > from && (is_blank(sp->p[to - 1]) || sp->p[to - 1] == '\n'))
		to--;
	*start = from;
	*len = to - from;
	sp->index++;
	return true;
}

/* Cut the value starting at from: top-level (an object) or an element. */
static bool cut_value(struct af_kafka_split *sp, size_t from, bool top, size_t *start, size_t *len)
{
	struct af_scan sc = {0};
	uint64_t lines = 0;
	char c = sp->p[from];
	sp->pos = from;
	if (c == '"') {
		sc.in_str = true;
		sp->pos++;
	} else if (c != '{' && c != '[') {
		sc.scalar = true;
		sp->pos++;
	}
	for (;;) {
		enum af_scan_res r = af_scan_value(&sc, sp->p, &sp->pos, sp->len, &lines,
		                                   sp->mode != KSPLIT_BRACKETS);
		switch (r) {
		case AF_SCAN_DONE:
		case AF_SCAN_BROKEN:
			if (top)
				top_done(sp);
			return emit(sp, from, sp->pos, start, len);
		case AF_SCAN_MORE:
			/* The payload ended inside the value. */
			return emit(sp, from, sp->len, start, len);
		case AF_SCAN_NEWLINE:
			if (sp->mode == KSPLIT_LINES)
				return emit(sp, from, sp->pos, start, len);
			if (top && sp->pos + 1 < sp->len && sp->p[sp->pos + 1] == '{') {
				sp->mode = KSPLIT_LINES;
				return emit(sp, from, sp->pos, start, len);
			}
			sp->mode = KSPLIT_BRACKETS;
			sp->pos++;
			break;
		}
	}
}

static bool step_top(struct af_kafka_split *sp, size_t *start, size_t *len)
{
	const char *p = sp->p;
	while (sp->pos < sp->len) {
		char c = p[sp->pos];
		if (c == '\n') {
			if (sp->probe) {
				sp->probe = false;
				sp->mode = KSPLIT_LINES;
			}
		} else if (!is_blank(c)) {
			break;
		}
		sp->pos++;
	}
	if (sp->pos == sp->len) {
		sp->state = KSPLIT_DONE;
		return false;
	}
	if (sp->probe) {
		/* Another value on the first value's line: not JSON Lines. */
		sp->probe = false;
		sp->mode = KSPLIT_BRACKETS;
	}
	size_t from = sp->pos;
	if (p[from] == '[') {
		sp->pos++;
		sp->envelope = false;
		sp->state = KSPLIT_ARRAY;
		return false;
	}
	if (p[from] == '{') {
		const char *after;
		if (af_scan_envelope(p + from, p + sp->len, true, sp->mode == KSPLIT_LINES,
		                     &after) == AF_SCAN_ENV_YES) {
			sp->pos = (size_t)(after - p);
			sp->envelope = true;
			sp->state = KSPLIT_ARRAY;
			return false;
		}
		if (sp->mode != KSPLIT_LINES)
			return cut_value(sp, from, true, start, len);
	}
	/* The rest of the line: a JSON line, or something that is not JSON. */
	const char *nl = memchr(p + from, '\n', sp->len - from);
	size_t to = nl ? (size_t)(nl - p) : sp->len;
	sp->pos = nl ? to + 1 : to;
	return emit(sp, from, to, start, len);
}

static bool step_array(struct af_kafka_split *sp, size_t *start, size_t *len)
{
	const char *p = sp->p;
	while (sp->pos < sp->len) {
		char c = p[sp->pos];
		if (c == '\n') {
			if (sp->mode == KSPLIT_LINES) {
				/* The line ends the container. */
				sp->state = KSPLIT_TOP;
				return false;
			}
			sp->mode = KSPLIT_BRACKETS;
		} else if (!is_blank(c) && c != ',') {
			break;
		}
		sp->pos++;
	}
	if (sp->pos == sp->len) {
		sp->state = KSPLIT_DONE;
		return false;
	}
	if (p[sp->pos] == ']') {
		sp->pos++;
		if (sp->envelope)
			sp->state = KSPLIT_TAIL;
		else
			top_done(sp);
		return false;
	}
	return cut_value(sp, sp->pos, false, start, len);
}

/* After an envelope's array: skip the rest of its object (other keys). */
static void step_tail(struct af_kafka_split *sp)
{
	struct af_scan sc = {.depth = 1};
	uint64_t lines = 0;
	enum af_scan_res r =
	    af_scan_value(&sc, sp->p, &sp->pos, sp->len, &lines, sp->mode == KSPLIT_LINES);
	if (r == AF_SCAN_MORE)
		sp->state = KSPLIT_DONE;
	else if (r == AF_SCAN_DONE)
		top_done(sp);
	else
		sp->state = KSPLIT_TOP;
}

bool af_kafka_split_next(struct af_kafka_split *sp, size_t *start, size_t *len)
{
	for (;;) {
		switch ((enum af_kafka_split_state)sp->state) {
		case KSPLIT_TOP:
			if (step_top(sp, start, len))
				return true;
			break;
		case KSPLIT_ARRAY:
			if (step_array(sp, start, len))
				return true;
			break;
		case KSPLIT_TAIL: step_tail(sp); break;
		case KSPLIT_DONE: return false;
		}
	}
}
