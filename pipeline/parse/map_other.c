/* map_other.c - identity sources beyond Microsoft that cost a few lines
 * each because the one-pass extraction already reads their fields: Okta
 * System Log (user.session.start sign-ins) and AWS CloudTrail
 * (ConsoleLogin).
 *
 * Thread: the parser's owner.
 * In: slots. Out: sign-in events for the sign-in types, "other" for the
 * rest of each source's events.
 */
#include <stdlib.h>
#include <string.h>

#include "pipeline/parse/mapper.h"

enum af_reason af_map_okta(struct af_map *m, struct af_event *ev)
{
	ev->schema = AF_SCHEMA_OKTA;
	enum af_reason r = af_map_time(m, ev, af_map_slot(m, AF_F_PUBLISHED), "published");
	if (r != AF_REASON_NONE)
		return r;
	r = af_map_account(m, ev, af_map_slot(m, AF_F_ACTOR_ALT_ID), "actor.alternateId");
	if (r != AF_REASON_NONE)
		return r;
	const struct af_jval *type = af_map_slot(m, AF_F_EVENT_TYPE);
	if (type->type != AF_J_STRING) {
		m->detail = "eventType";
		return AF_REASON_WRONG_TYPE;
	}
	af_map_copy(ev, ev->action, sizeof(ev->action), type);
	af_map_copy(ev, ev->record_id, sizeof(ev->record_id), af_map_slot(m, AF_F_UUID));
	af_map_ip(ev, af_map_slot(m, AF_F_OKTA_CLIENT_IP));
	const struct af_jval *ua = af_map_slot(m, AF_F_OKTA_USER_AGENT);
	if (ua->type == AF_J_STRING)
		ev->ua_hash = af_map_hash_raw(ua->s, ua->len);
	const struct af_jval *dn = af_map_slot(m, AF_F_ACTOR_DISPLAY_NAME);
	if (dn->type == AF_J_STRING)
		ev->name_hash = af_map_hash_lower(dn->s, dn->len);
	const struct af_jval *result = af_map_slot(m, AF_F_OKTA_RESULT);
	if (af_map_val_ieq(result, "SUCCESS") || af_map_val_ieq(result, "ALLOW"))
		ev->outcome = AF_OUTCOME_SUCCESS;
	else if (af_map_val_ieq(result, "FAILURE") || af_map_val_ieq(result, "DENY"))
		ev->outcome = AF_OUTCOME_FAILURE;
	if (af_map_val_ieq(type, "user.session.start")) {
		/* No result is not a failure: guessing either way would feed the
		 * sign-in rules (as map_entra.c, dead-letter it). A result that is
		 * neither (CHALLENGE, SKIPPED) leaves the kind "other". */
		if (!af_map_has(m, AF_F_OKTA_RESULT)) {
			m->detail = "outcome.result";
			return AF_REASON_MISSING_FIELD;
		}
		if (ev->outcome != AF_OUTCOME_UNKNOWN)
			ev->kind = ev->outcome == AF_OUTCOME_SUCCESS ? AF_KIND_SIGNIN_OK
			                                             : AF_KIND_SIGNIN_FAILED;
		ev->flags |= AF_EV_INTERACTIVE;
	}
	af_map_copy(ev, ev->geo.city, sizeof(ev->geo.city), af_map_slot(m, AF_F_OKTA_CITY));
	double la, lo;
	if (af_map_number(af_map_slot(m, AF_F_OKTA_LAT), &la) &&
	    af_map_number(af_map_slot(m, AF_F_OKTA_LON), &lo) && la >= -90 && la <= 90 &&
	    lo >= -180 && lo <= 180) {
		ev->geo.lat = la;
		ev->geo.lon = lo;
		ev->geo.flags |= AF_GEO_HAS_LOCATION;
	}
	if (ev->geo.city[0] || (ev->geo.flags & AF_GEO_HAS_LOCATION))
		ev->flags |= AF_EV_GEO_FROM_RECORD;
	return AF_REASON_NONE;
}

enum af_reason af_map_cloudtrail(struct af_map *m, struct af_event *ev)
{
	ev->schema = AF_SCHEMA_CLOUDTRAIL;
	enum af_reason r = af_map_time(m, ev, af_map_slot(m, AF_F_EVENT_TIME), "eventTime");
	if (r != AF_REASON_NONE)
		return r;
	static const enum af_field account_fields[] = {AF_F_IDENTITY_ARN, AF_F_IDENTITY_USER};
	const struct af_jval *acct = af_map_first(m, account_fields, 2);
	r = af_map_account(m, ev, acct ? acct : af_map_slot(m, AF_F_IDENTITY_ARN),
	                   "userIdentity.arn");
	if (r != AF_REASON_NONE)
		return r;
	const struct af_jval *name = af_map_slot(m, AF_F_EVENT_NAME);
	if (name->type != AF_J_STRING) {
		m->detail = "eventName";
		return AF_REASON_WRONG_TYPE;
	}
	af_map_copy(ev, ev->action, sizeof(ev->action), name);
	af_map_copy(ev, ev->record_id, sizeof(ev->record_id), af_map_slot(m, AF_F_EVENT_ID));
	/* sourceIPAddress may be a service name ("signin.amazonaws.com"):
	 * af_ip_parse then reports no address, as it should. */
	af_map_ip(ev, af_map_slot(m, AF_F_SOURCE_IP));
	const struct af_jval *ua = af_map_slot(m, AF_F_USER_AGENT);
	if (ua->type == AF_J_STRING)
		ev->ua_hash = af_map_hash_raw(ua->s, ua->len);
	if (af_map_val_ieq(name, "ConsoleLogin")) {
		const struct af_jval *res = af_map_slot(m, AF_F_CONSOLE_LOGIN);
		if (!af_map_has(m, AF_F_CONSOLE_LOGIN)) {
			m->detail = "responseElements.ConsoleLogin";
			return AF_REASON_MISSING_FIELD;
		}
		bool ok = af_map_val_ieq(res, "Success");
		ev->kind = ok ? AF_KIND_SIGNIN_OK : AF_KIND_SIGNIN_FAILED;
		ev->outcome = ok ? AF_OUTCOME_SUCCESS : AF_OUTCOME_FAILURE;
		ev->flags |= AF_EV_INTERACTIVE;
	}
	return AF_REASON_NONE;
}
