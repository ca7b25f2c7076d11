/* test_conformance.c - real public audit records (tests/data/corpus, see
 * SOURCE.md there) through af_parse_record, one record per line: per file,
 * the exact number of events by schema and kind and of dead letters by
 * reason, and a handful of fields checked record by record.
 *
 * The counts were checked by eye against the records. What may surprise:
 * - The panther-labs files are the Log objects of detection-rule tests, so
 *   several are fragments (no event time, no identity) or belong to other
 *   products (GitHub, Zendesk lines in the Okta file): those are
 *   unknown_schema or missing_field, as they should be.
 * - A CloudTrail or Okta record without its event time (eventTime,
 *   published) is unknown_schema, not missing_field: the time is part of
 *   how the schema is told.
 * - A failed CloudTrail console login of an IAM user carries no arn, so its
 *   account is the bare user name ("anaya") while the same user's successful
 *   login is "arn:aws:iam::111122223333:user/anaya".
 * - Forwarding to a subdomain of the account's domain counts as external
 *   (bart.simpson@springfield.simpsons.com from homer.simpson@simpsons.com).
 * - SharePoint's AddedToSecureLink is not a file access (only File*
 *   operations are).
 * - Entra's country "China" (a name, not a code) leaves the country empty.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/parse/json.h"
#include "pipeline/parse/parse.h"
#include "pipeline/parse/timestamp.h"

#define MAX_LINES 128

struct corpus {
	size_t n;
	struct af_event ev[MAX_LINES];
	enum af_reason reason[MAX_LINES];
	const char *detail[MAX_LINES];
	unsigned schema[AF_SCHEMA_COUNT];
	unsigned kind[AF_KIND_COUNT];
	unsigned why[AF_REASON_COUNT];
};

/* Parse every line of tests/data/corpus/name with ps. Caller frees. */
static struct corpus *run_with(struct af_parser *ps, const char *name)
{
	char path[512];
	struct corpus *c = calloc(1, sizeof *c);
	char *line = NULL, *buf = NULL;
	size_t cap = 0, buf_cap = 0;
	ssize_t n;

	cr_assert_not_null(c);
	snprintf(path, sizeof path, "%s/corpus/%s", AF_TEST_DATA, name);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	while ((n = getline(&line, &cap, f)) > 0) {
		size_t len = (size_t)n;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		cr_assert_lt(c->n, MAX_LINES);
		if (buf_cap < len + AF_JSON_PADDING) {
			buf_cap = len + AF_JSON_PADDING;
			buf = realloc(buf, buf_cap);
			cr_assert_not_null(buf);
		}
		memcpy(buf, line, len);
		memset(buf + len, ' ', AF_JSON_PADDING);
		size_t i = c->n++;
		c->ev[i].pos.line = c->n;
		c->reason[i] = af_parse_record(ps, buf, len, &c->ev[i], &c->detail[i]);
		if (c->reason[i] == AF_REASON_NONE) {
			c->schema[c->ev[i].schema]++;
			c->kind[c->ev[i].kind]++;
		} else {
			c->why[c->reason[i]]++;
		}
	}
	free(buf);
	free(line);
	fclose(f);
	return c;
}

static struct corpus *run(const char *name)
{
	char err[128];
	struct af_parser *ps = af_parser_new(1 << 20, err, sizeof err);

	cr_assert_not_null(ps, "%s", err);
	struct corpus *c = run_with(ps, name);
	af_parser_free(ps);
	return c;
}

/* The event of 1-based line ln, which must have parsed. */
static const struct af_event *at(const struct corpus *c, size_t ln)
{
	cr_assert_leq(ln, c->n);
	cr_assert_eq(c->reason[ln - 1], AF_REASON_NONE, "line %zu: %s (%s)", ln,
	             af_reason_name(c->reason[ln - 1]), c->detail[ln - 1]);
	return &c->ev[ln - 1];
}

static void assert_dead(const struct corpus *c, size_t ln, enum af_reason reason,
                        const char *detail)
{
	cr_assert_eq(c->reason[ln - 1], reason, "line %zu: %s, want %s", ln,
	             af_reason_name(c->reason[ln - 1]), af_reason_name(reason));
	if (detail)
		cr_assert_str_eq(c->detail[ln - 1], detail, "line %zu", ln);
}

static void assert_time(const struct af_event *ev, const char *want)
{
	char text[AF_TS_TEXT_MAX];

	af_ts_format(ev->ts_ns, text, sizeof text);
	cr_assert_str_eq(text, want);
}

static void assert_ip(const struct af_event *ev, const char *want)
{
	char text[AF_IP_TEXT_MAX];

	af_ip_format(&ev->src, text, sizeof text);
	cr_assert_str_eq(text, want);
}

/* --- Management Activity API --- */

Test(conformance, maps_the_m365_azure_ad_sign_in_records)
{
	struct corpus *c = run("m365_audit_azuread.jsonl");

	cr_assert_eq(c->n, 4);
	cr_assert_eq(c->schema[AF_SCHEMA_M365], 4);
	cr_assert_eq(c->kind[AF_KIND_SIGNIN_FAILED], 1);
	cr_assert_eq(c->kind[AF_KIND_SIGNIN_OK], 1);
	cr_assert_eq(c->kind[AF_KIND_OTHER], 2);

	/* UserLoginFailed with ResultStatus "Success". */
	const struct af_event *ev = at(c, 1);
	cr_assert_eq(ev->kind, AF_KIND_SIGNIN_FAILED);
	cr_assert_eq(ev->outcome, AF_OUTCOME_FAILURE);
	cr_assert_str_eq(ev->account, "sample.user@yourorg.onmicrosoft.com");
	assert_time(ev, "2022-12-12T15:57:57Z");
	assert_ip(ev, "1.2.3.4");
	cr_assert_neq(ev->ua_hash, 0);
	cr_assert_str_eq(ev->record_id, "abc-def-123");

	ev = at(c, 2);
	cr_assert_eq(ev->kind, AF_KIND_SIGNIN_OK);
	cr_assert_eq(ev->ua_hash, at(c, 1)->ua_hash);

	ev = at(c, 3);
	cr_assert_str_eq(ev->account, "serviceprincipal_aa-bb-ccc");
	cr_assert_str_eq(ev->action, "Update user.");
	cr_assert_eq(ev->outcome, AF_OUTCOME_SUCCESS);
	cr_assert_eq(ev->src.family, AF_IP_NONE);
	free(c);
}

Test(conformance, maps_the_m365_exchange_admin_records_with_lower_cased_keys)
{
	struct corpus *c = run("m365_audit_exchange.jsonl");

	cr_assert_eq(c->n, 10);
	cr_assert_eq(c->schema[AF_SCHEMA_M365], 10);
	cr_assert_eq(c->kind[AF_KIND_MAILBOX_FORWARD], 7);
	cr_assert_eq(c->kind[AF_KIND_INBOX_RULE], 3);

	const struct af_event *ev = at(c, 1);
	cr_assert_str_eq(ev->account, "homer.simpson@simpsons.onmicrosoft.com");
	cr_assert_eq(ev->flags, AF_EV_FORWARD | AF_EV_FORWARD_EXTERNAL);
	cr_assert_str_eq(ev->recipient, "peter.griffin@familyguy.com");
	cr_assert_eq(ev->outcome, AF_OUTCOME_SUCCESS);
	assert_time(ev, "2022-12-12T22:19:00Z");

	/* marge.simpson@simpsons.com from homer.simpson@simpsons.com. */
	cr_assert_eq(at(c, 2)->flags, AF_EV_FORWARD);
	/* ForwardTo external@example.com and DeleteMessage True. */
	cr_assert_eq(at(c, 3)->flags, AF_EV_RULE_DELETE | AF_EV_FORWARD | AF_EV_FORWARD_EXTERNAL);
	cr_assert_eq(at(c, 4)->flags, AF_EV_FORWARD | AF_EV_FORWARD_EXTERNAL);
	cr_assert_eq(at(c, 7)->flags, AF_EV_FORWARD | AF_EV_FORWARD_EXTERNAL);
	cr_assert_str_eq(at(c, 8)->recipient, "evil@simpsons2.com");
	cr_assert_eq(at(c, 9)->flags, AF_EV_FORWARD);

	/* MoveToFolder "MYFolder": an inbox rule that hides nothing. */
	ev = at(c, 10);
	cr_assert_eq(ev->kind, AF_KIND_INBOX_RULE);
	cr_assert_eq(ev->flags, 0);
	assert_ip(ev, "1.2.3.4");
	cr_assert_eq(ev->src.port, 10736);
	assert_time(ev, "2025-07-07T09:11:11Z");
	free(c);
}

Test(conformance, maps_the_m365_sharepoint_sharing_records_as_other)
{
	struct corpus *c = run("m365_audit_sharepoint.jsonl");

	cr_assert_eq(c->n, 5);
	cr_assert_eq(c->schema[AF_SCHEMA_M365], 5);
	cr_assert_eq(c->kind[AF_KIND_OTHER], 5);
	for (size_t ln = 1; ln <= 5; ln++) {
		const struct af_event *ev = at(c, ln);
		cr_assert_str_eq(ev->account, "my.user@yourorg.onmicrosoft.com");
		cr_assert_str_eq(ev->action, "AddedToSecureLink");
		cr_assert_neq(ev->ua_hash, 0);
		cr_assert_eq(ev->outcome, AF_OUTCOME_UNKNOWN);
	}
	assert_time(at(c, 1), "2022-12-12T19:31:41Z");
	free(c);
}

Test(conformance, maps_the_log_analytics_office_activity_record)
{
	struct corpus *c = run("OfficeActivityEvents.json");

	cr_assert_eq(c->n, 1);
	cr_assert_eq(c->schema[AF_SCHEMA_M365], 1);
	cr_assert_eq(c->kind[AF_KIND_MAIL_ACCESS], 1);

	const struct af_event *ev = at(c, 1);
	cr_assert_str_eq(ev->account, "pgustavo@simulandlabs.com");
	assert_time(ev, "2021-08-02T13:32:07Z");
	assert_ip(ev, "1.2.3.4");
	cr_assert_str_eq(ev->app, "Client=REST;;");
	cr_assert_str_eq(ev->record_id, "699e0b10-1c53-403e-976f-ce0847a92b44");
	cr_assert_eq(ev->outcome, AF_OUTCOME_SUCCESS);
	free(c);
}

/* --- Entra ID --- */

Test(conformance, maps_the_entra_diagnostic_sign_ins_and_audits)
{
	struct corpus *c = run("azure_entra_signin_audit_eventhub.jsonl");

	cr_assert_eq(c->n, 47);
	cr_assert_eq(c->schema[AF_SCHEMA_ENTRA_DIAG], 47);
	cr_assert_eq(c->kind[AF_KIND_SIGNIN_OK], 16);
	cr_assert_eq(c->kind[AF_KIND_SIGNIN_FAILED], 10);
	cr_assert_eq(c->kind[AF_KIND_OTHER], 21);

	/* A directory audit: the initiator is the account. */
	const struct af_event *ev = at(c, 1);
	cr_assert_eq(ev->kind, AF_KIND_OTHER);
	cr_assert_str_eq(ev->account, "denethor@lotr.com");
	cr_assert_str_eq(ev->action, "Authentication Methods Policy Update");
	assert_ip(ev, "1.2.3.4");
	assert_time(ev, "2025-01-15T14:20:35.456Z");

	ev = at(c, 10);
	cr_assert_eq(ev->kind, AF_KIND_SIGNIN_FAILED);
	cr_assert_eq(ev->error_code, 50126);
	cr_assert_str_eq(ev->account, "peregrin@lotr.com");
	cr_assert_str_eq(ev->geo.country, "US");
	cr_assert_str_eq(ev->geo.city, "New York");
	assert_ip(ev, "3.3.3.3");
	cr_assert_str_eq(ev->app, "Azure Portal");

	/* ServicePrincipalSignInLogs with lower-cased top-level keys; the
	 * sign-in's createdDateTime, not the record's time. */
	ev = at(c, 12);
	cr_assert_eq(ev->kind, AF_KIND_SIGNIN_FAILED);
	cr_assert_eq(ev->error_code, 7000215);
	cr_assert_str_eq(ev->account, "some-service-principal");
	cr_assert_str_eq(ev->geo.country, "IE");
	cr_assert(ev->geo.flags & AF_GEO_HAS_LOCATION);
	cr_assert_float_eq(ev->geo.lat, 51.35555555555555, 1e-9);
	assert_time(ev, "2023-07-26T22:58:30.983201900Z");
	cr_assert_eq(ev->flags & AF_EV_INTERACTIVE, 0);

	ev = at(c, 15);
	cr_assert_eq(ev->kind, AF_KIND_SIGNIN_OK);
	cr_assert_str_eq(ev->account, "jane.doe@example.com");
	assert_time(ev, "2026-02-18T07:32:50.552947800Z");

	/* countryOrRegion "China". */
	ev = at(c, 28);
	cr_assert_str_eq(ev->geo.country, "");
	cr_assert_str_eq(ev->geo.city, "Beijing");

	ev = at(c, 38);
	cr_assert_str_eq(ev->account, "radahn@starscourge.onmicrosoft.com");
	cr_assert_eq(ev->src.family, AF_IP_NONE);
	cr_assert_str_eq(ev->record_id, "PIM_123415");
	free(c);
}

Test(conformance, maps_the_log_analytics_audit_logs)
{
	struct corpus *c = run("AADAuditEvents.json");

	cr_assert_eq(c->n, 4);
	cr_assert_eq(c->schema[AF_SCHEMA_ENTRA_SENTINEL], 4);
	cr_assert_eq(c->kind[AF_KIND_OTHER], 4);

	/* InitiatedBy is JSON text; the operation name holds an en dash and
	 * is cut to fit, between characters. */
	const struct af_event *ev = at(c, 1);
	cr_assert_str_eq(ev->account, "pgustavo@simulandlabs.com");
	assert_time(ev, "2021-08-02T13:29:25.983Z");
	cr_assert_str_eq(ev->action, "Update application \xe2\x80\x93 Certificates and secrets");
	cr_assert(ev->flags & AF_EV_TRUNCATED);
	cr_assert_str_eq(ev->record_id,
	                 "Directory_10065ffb-8199-48bc-8ff5-912cb5b8295a_AUMVX_13992832");
	/* Two rows of one audit event share its id. */
	cr_assert_eq(at(c, 2)->dedup_key, ev->dedup_key);
	cr_assert_neq(at(c, 3)->dedup_key, ev->dedup_key);
	cr_assert_str_eq(at(c, 4)->action, "Add delegated permission grant");
	free(c);
}

/* --- Okta and CloudTrail --- */

Test(conformance, maps_or_dead_letters_each_okta_record)
{
	struct corpus *c = run("okta_systemlog.jsonl");

	cr_assert_eq(c->n, 78);
	cr_assert_eq(c->schema[AF_SCHEMA_OKTA], 57);
	cr_assert_eq(c->kind[AF_KIND_SIGNIN_OK], 11);
	cr_assert_eq(c->kind[AF_KIND_SIGNIN_FAILED], 4);
	cr_assert_eq(c->kind[AF_KIND_OTHER], 42);
	cr_assert_eq(c->why[AF_REASON_UNKNOWN_SCHEMA], 17);
	cr_assert_eq(c->why[AF_REASON_BAD_TIMESTAMP], 3);
	cr_assert_eq(c->why[AF_REASON_MISSING_FIELD], 1);

	/* user.session.start with no outcome at all. */
	assert_dead(c, 2, AF_REASON_MISSING_FIELD, "outcome.result");
	/* "published": "redacted". */
	assert_dead(c, 37, AF_REASON_BAD_TIMESTAMP, "published");
	/* GitHub's audit log. */
	assert_dead(c, 66, AF_REASON_UNKNOWN_SCHEMA, NULL);

	const struct af_event *ev = at(c, 6);
	cr_assert_eq(ev->kind, AF_KIND_SIGNIN_FAILED);
	cr_assert_str_eq(ev->account, "homer.simpson@duff.com");

	ev = at(c, 21);
	cr_assert_eq(ev->kind, AF_KIND_SIGNIN_OK);
	cr_assert_str_eq(ev->account, "casey.hill@hey.com");
	assert_ip(ev, "99.108.5.25");
	assert_time(ev, "2024-04-02T19:17:37.621Z");
	cr_assert_str_eq(ev->geo.city, "Atlanta");
	cr_assert_eq(at(c, 22)->kind, AF_KIND_SIGNIN_FAILED);

	/* user.account.report_suspicious_activity_by_enduser: 50 bytes. */
	ev = at(c, 55);
	cr_assert(ev->flags & AF_EV_TRUNCATED);
	cr_assert_eq(strlen(ev->action), AF_ACTION_MAX - 1);
	free(c);
}

Test(conformance, maps_or_dead_letters_each_cloudtrail_record)
{
	struct corpus *c = run("aws_cloudtrail_console_signin.jsonl");

	cr_assert_eq(c->n, 32);
	cr_assert_eq(c->schema[AF_SCHEMA_CLOUDTRAIL], 24);
	cr_assert_eq(c->kind[AF_KIND_SIGNIN_OK], 15);
	cr_assert_eq(c->kind[AF_KIND_SIGNIN_FAILED], 4);
	cr_assert_eq(c->kind[AF_KIND_OTHER], 5);
	cr_assert_eq(c->why[AF_REASON_UNKNOWN_SCHEMA], 5);
	cr_assert_eq(c->why[AF_REASON_MISSING_FIELD], 2);
	cr_assert_eq(c->why[AF_REASON_BAD_TIMESTAMP], 1);

	const struct af_event *ev = at(c, 4);
	cr_assert_eq(ev->kind, AF_KIND_SIGNIN_OK);
	cr_assert_str_eq(ev->account, "arn:aws:iam::111122223333:user/anaya");
	assert_ip(ev, "192.0.2.0");
	assert_time(ev, "2022-11-10T16:24:34Z");
	cr_assert_str_eq(ev->record_id, "fed06f42-cb12-4764-8c69-121063dc79b9");

	ev = at(c, 5);
	cr_assert_eq(ev->kind, AF_KIND_SIGNIN_FAILED);
	cr_assert_str_eq(ev->account, "anaya");

	/* No eventTime. */
	assert_dead(c, 1, AF_REASON_UNKNOWN_SCHEMA, NULL);
	/* ConsoleLogin with no responseElements. */
	assert_dead(c, 10, AF_REASON_MISSING_FIELD, "responseElements.ConsoleLogin");
	/* An assumed role with neither arn nor userName. */
	assert_dead(c, 19, AF_REASON_MISSING_FIELD, "userIdentity.arn");
	assert_dead(c, 25, AF_REASON_BAD_TIMESTAMP, "eventTime");

	cr_assert_eq(at(c, 7)->kind, AF_KIND_OTHER);
	cr_assert_str_eq(at(c, 7)->action, "AssumeRole");
	cr_assert_eq(at(c, 24)->kind, AF_KIND_SIGNIN_FAILED);
	cr_assert_str_eq(at(c, 24)->account, "arn:aws:iam::123456789012:root");
	free(c);
}

/* --- the whole corpus --- */

static const char *const files[] = {
    "AADAuditEvents.json",
    "OfficeActivityEvents.json",
    "aws_cloudtrail_console_signin.jsonl",
    "azure_entra_signin_audit_eventhub.jsonl",
    "m365_audit_azuread.jsonl",
    "m365_audit_exchange.jsonl",
    "m365_audit_sharepoint.jsonl",
    "okta_systemlog.jsonl",
};

Test(conformance, gives_the_same_events_with_either_kernel)
{
	char err[128];

	setenv("AF_JSON_KERNEL", "fallback", 1);
	struct af_parser *generic = af_parser_new(1 << 20, err, sizeof err);
	unsetenv("AF_JSON_KERNEL");
	struct af_parser *native = af_parser_new(1 << 20, err, sizeof err);
	cr_assert_not_null(generic);
	cr_assert_not_null(native);
	for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
		struct corpus *a = run_with(generic, files[f]);
		struct corpus *b = run_with(native, files[f]);
		cr_assert_eq(a->n, b->n);
		for (size_t i = 0; i < a->n; i++) {
			cr_assert_eq(a->reason[i], b->reason[i], "%s:%zu", files[f], i + 1);
			cr_assert(memcmp(&a->ev[i], &b->ev[i], sizeof a->ev[i]) == 0, "%s:%zu",
			          files[f], i + 1);
		}
		free(a);
		free(b);
	}
	af_parser_free(generic);
	af_parser_free(native);
}

Test(conformance, accounts_for_every_line_of_every_file)
{
	for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
		struct corpus *c = run(files[f]);
		unsigned events = 0, dead = 0;

		for (size_t s = 0; s < AF_SCHEMA_COUNT; s++)
			events += c->schema[s];
		for (size_t r = 0; r < AF_REASON_COUNT; r++)
			dead += c->why[r];
		cr_assert_eq(events + dead, c->n, "%s", files[f]);
		cr_assert_eq(c->schema[AF_SCHEMA_NONE], 0, "%s", files[f]);
		for (size_t i = 0; i < c->n; i++) {
			if (c->reason[i] != AF_REASON_NONE) {
				cr_assert_not_null(c->detail[i]);
				continue;
			}
			cr_assert_neq(c->ev[i].account[0], '\0', "%s:%zu", files[f], i + 1);
			cr_assert_neq(c->ev[i].account_hash, 0, "%s:%zu", files[f], i + 1);
			cr_assert_eq(c->ev[i].pos.line, i + 1, "the caller's position is kept");
		}
		free(c);
	}
}
