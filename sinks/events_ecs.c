/* events_ecs.c - one normalized event as one ECS JSON object.
 *
 * Thread: the caller's (af_ecs_format); the thread owning the output
 * (af_ecs_open/open_append/write/close). In: struct af_event. Out: ECS JSON text; the
 * field list and the choices behind it are in events_ecs.h.
 */
#include "sinks/events_ecs.h"

#include <stdlib.h>

#include "pipeline/ip.h"
#include "pipeline/parse/timestamp.h"

struct af_ecs_out {
	struct af_jsonw *w; /* owned */
};

/* A name for each AF_EV_* bit that has no field of its own. */
static const struct {
	uint32_t bit;
	const char *name;
} af_ecs_flag_names[] = {
    {AF_EV_INTERACTIVE, "interactive"},
    {AF_EV_FROM_SENT_ITEMS, "from_sent_items"},
    {AF_EV_RULE_DELETE, "rule_delete"},
    {AF_EV_RULE_MOVE, "rule_move"},
    {AF_EV_RULE_MARK_READ, "rule_mark_read"},
    {AF_EV_FORWARD, "forward"},
    {AF_EV_FORWARD_EXTERNAL, "forward_external"},
    {AF_EV_GEO_FROM_RECORD, "geo_from_record"},
    {AF_EV_NAME_SELF, "name_self"},
};

static const struct {
	uint32_t bit;
	const char *key;
} af_ecs_geo_flags[] = {
    {AF_GEO_INTERNAL, "auditflow.geo.internal"},
    {AF_GEO_ANONYMOUS, "auditflow.geo.anonymous"},
    {AF_GEO_VPN, "auditflow.geo.vpn"},
    {AF_GEO_HOSTING, "auditflow.geo.hosting"},
    {AF_GEO_PROXY, "auditflow.geo.proxy"},
    {AF_GEO_TOR, "auditflow.geo.tor"},
    {AF_GEO_CORPORATE, "auditflow.geo.corporate"},
};

#define AF_ECS_NFLAGS (sizeof af_ecs_flag_names / sizeof af_ecs_flag_names[0])
#define AF_ECS_NGEO   (sizeof af_ecs_geo_flags / sizeof af_ecs_geo_flags[0])

/* event.category as an ECS array; left out for other events. */
static void af_ecs_category(struct af_jsonw *w, enum af_kind kind)
{
	const char *first, *second = NULL;

	switch (kind) {
	case AF_KIND_SIGNIN_OK:
	case AF_KIND_SIGNIN_FAILED: first = "authentication"; break;
	case AF_KIND_MAIL_SEND:
	case AF_KIND_MAIL_DELETE:
	case AF_KIND_MAIL_ACCESS: first = "email"; break;
	case AF_KIND_INBOX_RULE:
	case AF_KIND_MAILBOX_FORWARD:
		first = "email";
		second = "configuration";
		break;
	case AF_KIND_FILE_ACCESS: first = "file"; break;
	default: return;
	}
	af_jsonw_key(w, "event.category");
	af_jsonw_array_begin(w);
	af_jsonw_string(w, first);
	if (second != NULL)
		af_jsonw_string(w, second);
	af_jsonw_array_end(w);
}

void af_ecs_source(struct af_jsonw *w, const struct af_ip *src, const struct af_geo *g)
{
	char ip[AF_IP_TEXT_MAX];
	size_t n;

	if (src->family != AF_IP_NONE) {
		n = af_ip_format(src, ip, sizeof ip);
		if (n > 0)
			af_jsonw_field_string_len(w, "source.ip", ip, n);
	}
	if (src->port != 0)
		af_jsonw_field_uint(w, "source.port", src->port);
	if (g->country[0] != '\0')
		af_jsonw_field_string(w, "source.geo.country_iso_code", g->country);
	if (g->city[0] != '\0')
		af_jsonw_field_string(w, "source.geo.city_name", g->city);
	if (g->flags & AF_GEO_HAS_LOCATION) {
		af_jsonw_key(w, "source.geo.location");
		af_jsonw_object_begin(w);
		af_jsonw_field_double_fixed(w, "lat", g->lat, 6);
		af_jsonw_field_double_fixed(w, "lon", g->lon, 6);
		af_jsonw_object_end(w);
	}
	if (g->asn != 0)
		af_jsonw_field_uint(w, "source.as.number", g->asn);
	if (g->as_org[0] != '\0')
		af_jsonw_field_string(w, "source.as.organization.name", g->as_org);
	if (g->radius_km != 0)
		af_jsonw_field_uint(w, "auditflow.geo.radius_km", g->radius_km);
	for (size_t i = 0; i < AF_ECS_NGEO; i++)
		if (g->flags & af_ecs_geo_flags[i].bit)
			af_jsonw_field_bool(w, af_ecs_geo_flags[i].key, true);
}

static void af_ecs_auditflow(struct af_jsonw *w, const struct af_event *ev)
{
	bool any = false;

	af_jsonw_field_string(w, "auditflow.kind", af_kind_name((enum af_kind)ev->kind));
	if (ev->app[0] != '\0')
		af_jsonw_field_string(w, "auditflow.app", ev->app);
	if (ev->folder[0] != '\0')
		af_jsonw_field_string(w, "auditflow.folder", ev->folder);
	if (ev->flags & AF_EV_SAVE_SENT_KNOWN)
		af_jsonw_field_bool(w, "auditflow.save_to_sent_items",
		                    (ev->flags & AF_EV_SAVE_SENT) != 0);
	if (ev->recipient_count != 0)
		af_jsonw_field_uint(w, "auditflow.recipient_count", ev->recipient_count);
	for (size_t i = 0; i < AF_ECS_NFLAGS; i++) {
		if (!(ev->flags & af_ecs_flag_names[i].bit))
			continue;
		if (!any) {
			af_jsonw_key(w, "auditflow.flags");
			af_jsonw_array_begin(w);
			any = true;
		}
		af_jsonw_string(w, af_ecs_flag_names[i].name);
	}
	if (any)
		af_jsonw_array_end(w);
	if (ev->flags & AF_EV_TRUNCATED)
		af_jsonw_field_bool(w, "auditflow.truncated", true);
}

void af_ecs_format(struct af_jsonw *w, const struct af_event *ev, const char *source_path)
{
	char ts[AF_TS_TEXT_MAX];
	size_t n = af_ts_format(ev->ts_ns, ts, sizeof ts);
	char code[16];

	af_jsonw_object_begin(w);
	af_jsonw_field_string_len(w, "@timestamp", ts, n);
	af_jsonw_field_string(w, "event.kind", "event");
	af_ecs_category(w, (enum af_kind)ev->kind);
	if (ev->action[0] != '\0')
		af_jsonw_field_string(w, "event.action", ev->action);
	if (ev->outcome != AF_OUTCOME_UNKNOWN)
		af_jsonw_field_string(w, "event.outcome",
		                      af_outcome_name((enum af_outcome)ev->outcome));
	if (ev->schema != AF_SCHEMA_NONE)
		af_jsonw_field_string(w, "event.provider",
		                      af_schema_name((enum af_schema)ev->schema));
	if (ev->record_id[0] != '\0')
		af_jsonw_field_string(w, "event.id", ev->record_id);
	if (ev->error_code != 0) {
		n = (size_t)snprintf(code, sizeof code, "%d", (int)ev->error_code);
		af_jsonw_field_string_len(w, "event.code", code, n);
	}
	if (ev->account[0] != '\0')
		af_jsonw_field_string(w, "user.name", ev->account);
	af_ecs_source(w, &ev->src, &ev->geo);
	if (ev->recipient[0] != '\0') {
		af_jsonw_key(w, "email.to.address");
		af_jsonw_array_begin(w);
		af_jsonw_string(w, ev->recipient);
		af_jsonw_array_end(w);
	}
	af_ecs_auditflow(w, ev);
	if (source_path != NULL && source_path[0] != '\0')
		af_jsonw_field_string(w, "log.file.path", source_path);
	if (ev->pos.line != 0)
		af_jsonw_field_uint(w, "log.file.line", ev->pos.line);
	if ((source_path != NULL && source_path[0] != '\0') || ev->pos.offset != 0)
		af_jsonw_field_uint(w, "log.offset", ev->pos.offset);
	af_jsonw_object_end(w);
}

/* af_ecs_open and af_ecs_open_append differ only in how the file opens. */
static struct af_ecs_out *af_ecs_open_mode(const char *path, bool append, uint64_t *cut,
                                           char *errstr, size_t errstr_size)
{
	struct af_ecs_out *out = calloc(1, sizeof *out);

	if (out == NULL) {
		snprintf(errstr, errstr_size, "out of memory opening %s", path);
		return NULL;
	}
	if (append)
		out->w = af_jsonw_open_append(path, 0, cut, errstr, errstr_size);
	else
		out->w = af_jsonw_open(path, 0, errstr, errstr_size);
	if (out->w == NULL) {
		free(out);
		return NULL;
	}
	return out;
}

struct af_ecs_out *af_ecs_open(const char *path, char *errstr, size_t errstr_size)
{
	return af_ecs_open_mode(path, false, NULL, errstr, errstr_size);
}

struct af_ecs_out *af_ecs_open_append(const char *path, uint64_t *cut, char *errstr,
                                      size_t errstr_size)
{
	return af_ecs_open_mode(path, true, cut, errstr, errstr_size);
}

bool af_ecs_rotate_by_size(struct af_ecs_out *out, uint64_t max_bytes, uint32_t keep)
{
	return af_jsonw_rotate_by_size(out->w, max_bytes, keep);
}

af_err_t af_ecs_write(struct af_ecs_out *out, const struct af_event *ev, const char *source_path)
{
	af_ecs_format(out->w, ev, source_path);
	return af_jsonw_end_line(out->w);
}

af_err_t af_ecs_write_text(struct af_ecs_out *out, const char *text, size_t len)
{
	if (len == 0)
		return AF_OK;
	return af_jsonw_write_lines(out->w, text, len);
}

af_err_t af_ecs_flush(struct af_ecs_out *out)
{
	return af_jsonw_flush(out->w);
}

af_err_t af_ecs_close(struct af_ecs_out *out, char *errstr, size_t errstr_size)
{
	af_err_t err;

	if (out == NULL)
		return AF_OK;
	err = af_jsonw_close(out->w, errstr, errstr_size);
	free(out);
	return err;
}
