/* dlq.c - the dead-letter output: counts per reason and JSON lines.
 *
 * Thread: the one thread that owns the dead-letter output. In: unusable
 * records with their reason and position. Out: counters, and JSON lines
 * through a jsonw writer that owns the file (see dlq.h for the line).
 */
#include "sinks/dlq.h"
#include "pipeline/utf8.h"

#include <stdlib.h>
#include <string.h>

#include "sinks/jsonw.h"

struct af_dlq {
	struct af_jsonw *w; /* owned; NULL: count only */
	size_t raw_max;
	uint64_t counts[AF_REASON_COUNT];
};

/* af_dlq_open and af_dlq_open_append differ only in how the file opens. */
static struct af_dlq *af_dlq_open_mode(const char *path, size_t raw_max, bool append, uint64_t *cut,
                                       char *errstr, size_t errstr_size)
{
	struct af_dlq *dlq = calloc(1, sizeof *dlq);

	if (cut != NULL)
		*cut = 0;
	if (dlq == NULL) {
		snprintf(errstr, errstr_size, "out of memory opening the dead-letter output");
		return NULL;
	}
	dlq->raw_max = raw_max ? raw_max : AF_DLQ_RAW_MAX_DEFAULT;
	if (path != NULL) {
		if (append)
			dlq->w = af_jsonw_open_append(path, 0, cut, errstr, errstr_size);
		else
			dlq->w = af_jsonw_open(path, 0, errstr, errstr_size);
		if (dlq->w == NULL) {
			free(dlq);
			return NULL;
		}
	}
	return dlq;
}

struct af_dlq *af_dlq_open(const char *path, size_t raw_max, char *errstr, size_t errstr_size)
{
	return af_dlq_open_mode(path, raw_max, false, NULL, errstr, errstr_size);
}

struct af_dlq *af_dlq_open_append(const char *path, size_t raw_max, uint64_t *cut, char *errstr,
                                  size_t errstr_size)
{
	return af_dlq_open_mode(path, raw_max, true, cut, errstr, errstr_size);
}

/* The record's bytes: text cut at a UTF-8 boundary when they are text,
 * base64 of the exact bytes otherwise. */
static void af_dlq_raw(struct af_jsonw *w, const char *raw, size_t raw_len, size_t raw_max)
{
	size_t keep = raw_len < raw_max ? raw_len : raw_max;
	size_t cut = af_utf8_cut(raw, raw_len, keep);

	if (memchr(raw, '\0', cut) == NULL && af_jsonw_utf8_valid(raw, cut)) {
		af_jsonw_field_string_len(w, "raw", raw, cut);
		keep = cut;
	} else {
		af_jsonw_key(w, "raw_base64");
		af_jsonw_base64(w, raw, keep);
	}
	af_jsonw_field_uint(w, "raw_len", raw_len);
	af_jsonw_field_bool(w, "raw_truncated", keep < raw_len);
}

bool af_dlq_rotate_by_size(struct af_dlq *dlq, uint64_t max_bytes, uint32_t keep)
{
	return dlq->w != NULL && af_jsonw_rotate_by_size(dlq->w, max_bytes, keep);
}

af_err_t af_dlq_write(struct af_dlq *dlq, enum af_reason reason, const char *detail,
                      const char *path, uint64_t line, uint64_t offset, uint32_t input,
                      const char *raw, size_t raw_len)
{
	if ((unsigned)reason < AF_REASON_COUNT)
		dlq->counts[reason]++;
	if (dlq->w == NULL)
		return AF_OK;
	af_dlq_format(dlq->w, dlq->raw_max, reason, detail, path, line, offset, input, raw,
	              raw_len);
	return af_jsonw_end_line(dlq->w);
}

void af_dlq_format(struct af_jsonw *w, size_t raw_max, enum af_reason reason, const char *detail,
                   const char *path, uint64_t line, uint64_t offset, uint32_t input,
                   const char *raw, size_t raw_len)
{
	if (raw_max == 0)
		raw_max = AF_DLQ_RAW_MAX_DEFAULT;
	af_jsonw_object_begin(w);
	af_jsonw_field_string(w, "reason", af_reason_name(reason));
	if (detail != NULL)
		af_jsonw_field_string(w, "detail", detail);
	af_jsonw_key(w, "source");
	af_jsonw_object_begin(w);
	if (path != NULL)
		af_jsonw_field_string(w, "path", path);
	af_jsonw_field_uint(w, "line", line);
	af_jsonw_field_uint(w, "offset", offset);
	af_jsonw_field_uint(w, "input", input);
	af_jsonw_object_end(w);
	af_dlq_raw(w, raw_len ? raw : "", raw_len, raw_max);
	af_jsonw_object_end(w);
}

af_err_t af_dlq_write_text(struct af_dlq *dlq, const char *text, size_t len)
{
	if (dlq->w == NULL || len == 0)
		return AF_OK;
	return af_jsonw_write_lines(dlq->w, text, len);
}

bool af_dlq_enabled(const struct af_dlq *dlq)
{
	return dlq->w != NULL;
}

size_t af_dlq_raw_max(const struct af_dlq *dlq)
{
	return dlq->raw_max;
}

uint64_t af_dlq_count(const struct af_dlq *dlq, enum af_reason reason)
{
	return (unsigned)reason < AF_REASON_COUNT ? dlq->counts[reason] : 0;
}

uint64_t af_dlq_total(const struct af_dlq *dlq)
{
	uint64_t total = 0;

	for (size_t i = 0; i < AF_REASON_COUNT; i++)
		total += dlq->counts[i];
	return total;
}

af_err_t af_dlq_flush(struct af_dlq *dlq)
{
	return dlq->w != NULL ? af_jsonw_flush(dlq->w) : AF_OK;
}

af_err_t af_dlq_close(struct af_dlq *dlq, char *errstr, size_t errstr_size)
{
	af_err_t err;

	if (dlq == NULL)
		return AF_OK;
	err = af_jsonw_close(dlq->w, errstr, errstr_size);
	free(dlq);
	return err;
}
