/* map_entra.c - Entra ID sign-ins (and directory audits) in the three shapes
 * they are exported in: the Graph signIn resource (createdDateTime at the
 * top), the diagnostic-settings / Event Hub form (time, category and the
 * sign-in under "properties"), and Log Analytics' SigninLogs table
 * (TimeGenerated, flat columns, LocationDetails).
 *
 * Thread: the parser's owner.
 * In: slots (fields.c maps the three shapes onto the same slots). Out: a
 * sign-in event (ok or failed, by status.errorCode / resultType), or
 * "other" for directory audit categories.
 *
 * DESIGN: a sign-in record with no status at all is dead-lettered as a
 * missing field rather than guessed to be a success: a guess would feed
 * the familiarity baselines with sign-ins that may have failed.
 */
#include <string.h>

#include "pipeline/parse/mapper.h"

static bool is_ascii_letter(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static void set_location(struct af_event *ev, const struct af_jval *city,
                         const struct af_jval *country, const struct af_jval *lat,
                         const struct af_jval *lon)
{
	bool any = false;
	/* Only an ISO 3166 alpha-2 code: "China" or two bytes of one UTF-8
	 * letter must not land in the two-letter field. */
	if (country->type == AF_J_STRING && country->len == 2 && is_ascii_letter(country->s[0]) &&
	    is_ascii_letter(country->s[1])) {
		ev->geo.country[0] = (char)(country->s[0] & ~0x20);
		ev->geo.country[1] = (char)(country->s[1] & ~0x20);
		any = true;
	}
	if (af_jval_has_str(city)) {
		af_map_copy(ev, ev->geo.city, sizeof(ev->geo.city), city);
		any = true;
	}
	double la, lo;
	if (af_map_number(lat, &la) && af_map_number(lon, &lo) && la >= -90 && la <= 90 && lo >= -180 &&
	    lo <= 180 && !(la == 0 && lo == 0)) {
		ev->geo.lat = la;
		ev->geo.lon = lo;
		ev->geo.flags |= AF_GEO_HAS_LOCATION;
		any = true;
	}
	if (any)
		ev->flags |= AF_EV_GEO_FROM_RECORD;
}

static void map_location(struct af_map *m, struct af_event *ev)
{
	const struct af_jval *details = af_map_slot(m, AF_F_LOCATION_DETAILS);
	if (details->type == AF_J_OBJECT || details->type == AF_J_STRING) {
		if (af_jparser_sub(m->jp, m->locd_spec, details->s, details->len, m->elem) ==
		    AF_REASON_NONE)
			set_location(ev, &m->elem[AF_LOCD_CITY], &m->elem[AF_LOCD_COUNTRY],
			             &m->elem[AF_LOCD_LAT], &m->elem[AF_LOCD_LON]);
		return;
	}
	set_location(ev, af_map_slot(m, AF_F_LOC_CITY), af_map_slot(m, AF_F_LOC_COUNTRY),
	             af_map_slot(m, AF_F_LOC_LAT), af_map_slot(m, AF_F_LOC_LON));
}

enum af_reason af_map_entra(struct af_map *m, struct af_event *ev)
{
	const struct af_jval *cat = af_map_slot(m, AF_F_CATEGORY);
	if (af_map_has(m, AF_F_TIME))
		ev->schema = AF_SCHEMA_ENTRA_DIAG;
	else if (af_map_has(m, AF_F_CREATION_TIME))
		ev->schema = AF_SCHEMA_ENTRA_SENTINEL;
	else
		ev->schema = AF_SCHEMA_ENTRA_GRAPH;

	static const enum af_field time_fields[] = {AF_F_CREATED, AF_F_TIME, AF_F_CREATION_TIME};
	enum af_reason r = af_map_time(m, ev, af_map_first(m, time_fields, 3), "createdDateTime");
	if (r != AF_REASON_NONE)
		return r;
	static const enum af_field account_fields[] = {AF_F_UPN, AF_F_SP_NAME, AF_F_INITIATOR_UPN,
	                                               AF_F_INITIATOR_APP};
	const struct af_jval *acct = af_map_first(m, account_fields, 4);
	const struct af_jval *init = af_map_slot(m, AF_F_INITIATED_BY);
	if (!acct && init->type == AF_J_STRING &&
	    af_jparser_sub(m->jp, m->init_spec, init->s, init->len, m->elem) == AF_REASON_NONE) {
		/* Log Analytics writes initiatedBy as JSON text. */
		if (af_jval_has_str(&m->elem[AF_INIT_UPN]))
			acct = &m->elem[AF_INIT_UPN];
		else if (af_jval_has_str(&m->elem[AF_INIT_APP]))
			acct = &m->elem[AF_INIT_APP];
	}
	r = af_map_account(m, ev, acct ? acct : af_map_slot(m, AF_F_UPN), "userPrincipalName");
	if (r != AF_REASON_NONE)
		return r;
	static const enum af_field ip_fields[] = {AF_F_IP_ADDRESS, AF_F_CALLER_IP};
	af_map_ip(ev, af_map_first(m, ip_fields, 2));
	af_map_copy(ev, ev->record_id, sizeof(ev->record_id), af_map_slot(m, AF_F_ID));
	const struct af_jval *op = af_map_slot(m, AF_F_OPERATION_NAME);
	if (op->type == AF_J_STRING)
		af_map_copy(ev, ev->action, sizeof(ev->action), op);
	else
		af_map_copy_text(ev, ev->action, sizeof(ev->action), "Sign-in activity", 16, false);

	bool signin = af_map_is_signin_category(cat) || cat->type == AF_J_ABSENT;
	if (!signin) {
		ev->kind = AF_KIND_OTHER;
		return AF_REASON_NONE;
	}

	int64_t code;
	bool failed;
	const struct af_jval *rt = af_map_slot(m, AF_F_RESULT_TYPE);
	if (af_jval_int(af_map_slot(m, AF_F_STATUS_ERROR), &code) || af_jval_int(rt, &code)) {
		failed = code != 0;
	} else if (af_map_val_ieq(rt, "Success") || af_map_val_ieq(rt, "Failure") ||
	           af_map_val_ieq(rt, "Failed")) {
		/* Some pipelines rewrite resultType as a word. */
		code = 0;
		failed = !af_map_val_ieq(rt, "Success");
	} else {
		m->detail = af_map_has(m, AF_F_STATUS_ERROR) ? "status.errorCode" : "status";
		return af_map_has(m, AF_F_STATUS_ERROR) ? AF_REASON_WRONG_TYPE
		                                        : AF_REASON_MISSING_FIELD;
	}
	ev->error_code = (int32_t)code;
	ev->kind = failed ? AF_KIND_SIGNIN_FAILED : AF_KIND_SIGNIN_OK;
	ev->outcome = failed ? AF_OUTCOME_FAILURE : AF_OUTCOME_SUCCESS;

	static const enum af_field app_fields[] = {AF_F_CLIENT_APP, AF_F_APP_DISPLAY_NAME};
	af_map_copy(ev, ev->app, sizeof(ev->app), af_map_first(m, app_fields, 2));
	const struct af_jval *ua = af_map_slot(m, AF_F_USER_AGENT);
	if (ua->type == AF_J_STRING)
		ev->ua_hash = af_map_hash_raw(ua->s, ua->len);
	const struct af_jval *dn = af_map_slot(m, AF_F_USER_DISPLAY_NAME);
	if (dn->type == AF_J_STRING)
		ev->name_hash = af_map_hash_lower(dn->s, dn->len);
	bool interactive;
	if (af_jval_bool(af_map_slot(m, AF_F_IS_INTERACTIVE), &interactive)) {
		if (interactive)
			ev->flags |= AF_EV_INTERACTIVE;
	} else if (af_map_val_ieq(cat, "SignInLogs") || cat->type == AF_J_ABSENT) {
		ev->flags |= AF_EV_INTERACTIVE;
	}
	map_location(m, ev);
	return AF_REASON_NONE;
}
