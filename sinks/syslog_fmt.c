/* syslog_fmt.c - RFC 5424 messages for the syslog sink (syslog_impl.h):
 * PRI, RFC 3339 timestamp with microseconds, header fields made safe,
 * structured data with escaping, the BOM before UTF-8 MSG, and the cut to
 * the size limit at a UTF-8 boundary.
 *
 * Thread: the sink thread, which owns the formatter with its handle.
 * In: options, alerts, raw texts. Out: struct af_syslog_msg views.
 *
 * DESIGN: every bound is fixed when the formatter is set up (field limits,
 * the 2 KiB head buffer, the 32 KiB JSON buffer), so formatting never
 * allocates and never fails: what does not fit is cut, and the message
 * says so (msg.cut) for the sink to count.
 */
#include "sinks/syslog_impl.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/config.h"
#include "pipeline/parse/timestamp.h"
#include "pipeline/utf8.h"
#include "sinks/alert_out.h"

#define AF_SL_JSON_MAX   (32u << 10) /* any alert in any format fits */
#define AF_SL_MSGID_MAX  32
#define AF_SL_SDNAME_MAX 32
#define AF_SL_RULE_MAX   64 /* bytes of the rule id kept in the SD value */
#define AF_SL_NS_PER_S   INT64_C(1000000000)

int af_syslog_severity(enum af_severity sev)
{
	switch (sev) {
	case AF_SEV_CRITICAL: return AF_SYSLOG_SEV_CRIT;
	case AF_SEV_HIGH: return AF_SYSLOG_SEV_ERR;
	case AF_SEV_MEDIUM: return AF_SYSLOG_SEV_WARNING;
	default: return AF_SYSLOG_SEV_NOTICE;
	}
}

/* --- options --- */

/* RFC 5424 6.3.2: SD-NAME is 1..32 printable US-ASCII but '=', SP, ']' and
 * '"'; a private SD-ID is name@ followed by an enterprise number (digits,
 * possibly dotted). */
static bool af_sl_sd_id_valid(const char *id)
{
	size_t n = strlen(id);
	const char *at = strchr(id, '@');

	if (n == 0 || n > AF_SL_SDNAME_MAX || at == NULL || at == id || at[1] == '\0')
		return false;
	for (const char *p = id; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '=' || *p == ']' || *p == '"')
			return false;
	const char *num = at + 1;
	if (num[strspn(num, "0123456789.")] != '\0' || num[0] == '.' ||
	    num[strlen(num) - 1] == '.' || strstr(num, "..") != NULL)
		return false;
	return true;
}

af_err_t af_syslog_fmt_check(const struct af_syslog_opts *o, char *errstr, size_t errstr_size)
{
	if (o->facility < 0 || o->facility > AF_SYSLOG_FACILITY_MAX) {
		snprintf(errstr, errstr_size, "syslog facility %d is not between 0 and %d",
		         o->facility, AF_SYSLOG_FACILITY_MAX);
		return AF_E_CONFIG;
	}
	if (o->format < AF_OUTPUT_NATIVE || o->format > AF_OUTPUT_ECS) {
		snprintf(errstr, errstr_size, "syslog output format %d is unknown", o->format);
		return AF_E_CONFIG;
	}
	if (o->sd_id != NULL && !af_sl_sd_id_valid(o->sd_id)) {
		snprintf(errstr, errstr_size,
		         "syslog SD-ID \"%s\" is not NAME@NUMBER (at most 32 printable characters "
		         "without '=', ']', '\"' or spaces; NUMBER an enterprise number)",
		         o->sd_id);
		return AF_E_CONFIG;
	}
	return AF_OK;
}

/* s as a header field: printable US-ASCII only (others become '_'), cut to
 * max bytes; empty becomes the NILVALUE "-". dst holds max + 1. */
static void af_sl_field(char *dst, size_t max, const char *s)
{
	size_t n = 0;

	for (; s != NULL && s[n] != '\0' && n < max; n++)
		dst[n] = s[n] > ' ' && s[n] < 0x7f ? s[n] : '_';
	if (n == 0)
		dst[n++] = '-';
	dst[n] = '\0';
}

af_err_t af_syslog_fmt_init(struct af_syslog_fmt *f, const struct af_syslog_opts *o, size_t max_msg)
{
	f->facility = o->facility;
	f->format = o->format;
	f->bom = o->bom;
	f->max_msg = max_msg;
	if (o->hostname != NULL) {
		af_sl_field(f->host, AF_SYSLOG_HOST_MAX, o->hostname);
	} else {
		char name[AF_SYSLOG_HOST_MAX + 1] = "";
		if (gethostname(name, sizeof name) != 0)
			name[0] = '\0';
		name[AF_SYSLOG_HOST_MAX] = '\0';
		af_sl_field(f->host, AF_SYSLOG_HOST_MAX, name);
	}
	af_sl_field(f->app, AF_SYSLOG_APP_MAX, o->app_name);
	snprintf(f->procid, sizeof f->procid, "%ld", (long)getpid());

	if (o->sd_id != NULL && (f->sd_id = strdup(o->sd_id)) == NULL)
		return AF_E_NOMEM;
	f->json = malloc(AF_SL_JSON_MAX);
	if (f->json == NULL)
		return AF_E_NOMEM;
	af_jsonw_init(&f->jw, f->json, AF_SL_JSON_MAX, NULL);
	return AF_OK;
}

void af_syslog_fmt_fini(struct af_syslog_fmt *f)
{
	free(f->json);
	free(f->sd_id);
	f->json = f->sd_id = NULL;
}

/* --- text --- */

static size_t af_sl_put(char *buf, size_t at, const char *s, size_t n)
{
	memcpy(buf + at, s, n);
	return at + n;
}

static size_t af_sl_put_str(char *buf, size_t at, const char *s)
{
	return af_sl_put(buf, at, s, strlen(s));
}

/* v in decimal; returns the new end. @pre 21 bytes of room. */
static size_t af_sl_put_uint(char *buf, size_t at, uint64_t v)
{
	return at + (size_t)snprintf(buf + at, 21, "%" PRIu64, v);
}

/* RFC 3339 UTC with 6 fraction digits, nanoseconds floored:
 * "2025-08-25T05:58:00.000000Z" (27 bytes). af_ts_format gives the date
 * and time of day; only the fixed-width fraction is made here. */
static size_t af_sl_put_time(char *buf, size_t at, int64_t ns)
{
	char t[AF_TS_TEXT_MAX];

	/* The whole seconds are formatted as ns again: keep that in range. */
	if (ns < INT64_MIN + AF_SL_NS_PER_S)
		ns = INT64_MIN + AF_SL_NS_PER_S;
	int64_t sec = ns / AF_SL_NS_PER_S, frac = ns % AF_SL_NS_PER_S;
	if (frac < 0) {
		frac += AF_SL_NS_PER_S;
		sec--;
	}
	af_ts_format(sec * AF_SL_NS_PER_S, t, sizeof t);
	at = af_sl_put(buf, at, t, 19); /* YYYY-MM-DDTHH:MM:SS */
	buf[at++] = '.';
	int64_t us = frac / 1000;
	for (int i = 5; i >= 0; i--) {
		buf[at + (size_t)i] = (char)('0' + us % 10);
		us /= 10;
	}
	at += 6;
	buf[at++] = 'Z';
	return at;
}

/* s[0..len) as an SD PARAM-VALUE: '"', '\' and ']' escaped (RFC 5424,
 * 6.3.3), a byte that does not start a valid UTF-8 sequence replaced by
 * U+FFFD (the value must be UTF-8). At most 3 * len bytes. */
static size_t af_sl_put_value(char *buf, size_t at, const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			if (c == '"' || c == '\\' || c == ']')
				buf[at++] = '\\';
			buf[at++] = (char)c;
			i++;
			continue;
		}
		size_t n = af_utf8_lead_len(c);
		if (n > 1 && n <= len - i && af_jsonw_utf8_valid(s + i, n)) {
			at = af_sl_put(buf, at, s + i, n);
			i += n;
		} else {
			at = af_sl_put(buf, at, "\xEF\xBF\xBD", 3);
			i++;
		}
	}
	return at;
}

/* "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID " into f->head; returns
 * its length, where the structured data starts. */
static size_t af_sl_head(struct af_syslog_fmt *f, int severity, int64_t ts_ns, const char *msgid)
{
	char id[AF_SL_MSGID_MAX + 1];
	size_t at = 0;

	f->head[at++] = '<';
	at = af_sl_put_uint(f->head, at, (uint64_t)(f->facility * 8 + severity));
	at = af_sl_put(f->head, at, ">1 ", 3);
	at = af_sl_put_time(f->head, at, ts_ns);
	f->head[at++] = ' ';
	at = af_sl_put_str(f->head, at, f->host);
	f->head[at++] = ' ';
	at = af_sl_put_str(f->head, at, f->app);
	f->head[at++] = ' ';
	at = af_sl_put_str(f->head, at, f->procid);
	f->head[at++] = ' ';
	af_sl_field(id, AF_SL_MSGID_MAX, msgid);
	at = af_sl_put_str(f->head, at, id);
	f->head[at++] = ' ';
	return at;
}

/* The alert's SD-ELEMENT after the header; returns the new length. */
static size_t af_sl_sd_alert(struct af_syslog_fmt *f, const struct af_alert *a, size_t at)
{
	static const char digits[] = "0123456789abcdef";
	char hex[16];
	uint64_t id = a->id;

	for (int i = 15; i >= 0; i--) {
		hex[i] = digits[id & 0xf];
		id >>= 4;
	}
	f->head[at++] = '[';
	at = af_sl_put_str(f->head, at, f->sd_id);
	at = af_sl_put_str(f->head, at, " id=\"");
	at = af_sl_put(f->head, at, hex, sizeof hex);
	at = af_sl_put_str(f->head, at, "\" rule=\"");
	const char *rule = a->rule != NULL ? a->rule : "";
	size_t rlen = strnlen(rule, AF_SL_RULE_MAX + 1);
	at = af_sl_put_value(f->head, at, rule, af_utf8_cut(rule, rlen, AF_SL_RULE_MAX));
	f->head[at++] = '"';
	size_t alen = strnlen(a->account, sizeof a->account);
	if (alen > 0) {
		at = af_sl_put_str(f->head, at, " account=\"");
		at = af_sl_put_value(f->head, at, a->account, alen);
		f->head[at++] = '"';
	}
	f->head[at++] = ']';
	assert(at <= AF_SYSLOG_HEAD_MAX);
	return at;
}

/* --- the message --- */

/* head[0..head_len) (structured data from sd), then SP [BOM] body, cut so
 * the message holds at most max_msg bytes, as the views of *m. */
static void af_sl_fit(struct af_syslog_fmt *f, size_t head_len, size_t sd, const char *body,
                      size_t body_len, bool cut, struct af_syslog_msg *m)
{
	if (head_len > f->max_msg) {
		/* Only a long hostname with long SD values gets here; the
		 * alert's facts are in MSG as well. */
		f->head[sd] = '-';
		head_len = sd + 1;
		cut = true;
	}
	size_t pre = 0, keep = 0;
	if (body_len > 0) {
		bool bom = f->bom && af_jsonw_utf8_valid(body, body_len);
		pre = bom ? 4 : 1;
		if (head_len + pre < f->max_msg)
			keep = af_utf8_cut(body, body_len, f->max_msg - head_len - pre);
		if (keep < body_len)
			cut = true;
		if (keep == 0)
			pre = 0;
	}
	m->part[AF_SYSLOG_PART_HEAD] = (struct af_syslog_part){f->head, head_len};
	m->part[AF_SYSLOG_PART_PRE] = (struct af_syslog_part){" \xEF\xBB\xBF", pre};
	m->part[AF_SYSLOG_PART_MSG] = (struct af_syslog_part){body, keep};
	m->len = head_len + pre + keep;
	m->cut = cut;
}

void af_syslog_fmt_alert(struct af_syslog_fmt *f, const struct af_alert *a, struct af_syslog_msg *m)
{
	size_t sd =
	    af_sl_head(f, af_syslog_severity((enum af_severity)a->severity), a->ts_ns, a->rule);
	size_t len = sd;

	if (f->sd_id != NULL)
		len = af_sl_sd_alert(f, a, sd);
	else
		f->head[len++] = '-';
	af_jsonw_reset(&f->jw);
	af_alert_out_format(&f->jw, a, (enum af_output_format)f->format);
	bool cut = (f->jw.flags & AF_JSONW_OVERFLOW) != 0;
	af_sl_fit(f, len, sd, f->jw.buf, f->jw.len, cut, m);
}

void af_syslog_fmt_raw(struct af_syslog_fmt *f, const char *msgid, int severity, const char *text,
                       size_t len, int64_t ts_ns, struct af_syslog_msg *m)
{
	assert(severity >= 0 && severity <= AF_SYSLOG_SEV_DEBUG);
	size_t sd = af_sl_head(f, severity, ts_ns, msgid);
	f->head[sd] = '-';
	af_sl_fit(f, sd + 1, sd, text, len, false, m);
}
