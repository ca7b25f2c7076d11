/* gen_write.c - the generator's events as the exporters write them: Entra
 * sign-ins in Graph form, Management Activity API records, message trace
 * rows; then truth.jsonl and networks.jsonl.
 *
 * Thread: the caller of af_gen_run.
 * In: events in time order per file (gen.c's flush). Out: JSON lines
 * through sinks/jsonw.h, one buffered writer per file.
 *
 * The record shapes follow the real exports as far as the parse stage reads
 * them (pipeline/parse/fields.c) and a little further, so the files also
 * look right to a person and to other tools: Graph's createdDateTime with
 * "Z", the audit log's CreationTime without a zone, ErrorNumber as a string,
 * ResultStatus "Success" even on UserLoginFailed, "ip:port" client
 * addresses on admin cmdlets, Received with milliseconds.
 *
 * DESIGN: record ids are counters, not random: the n-th record of a file
 * gets a UUID whose last 48 bits are a keyed permutation of n (so they look
 * random and never repeat) and whose fourth group names the file, so no two
 * records of a run share an id. A trace message's rows share its
 * MessageTraceId and differ by recipient, as in Exchange.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/gen_impl.h"
#include "pipeline/parse/timestamp.h"
#include "sinks/jsonw.h"

struct af_gen_writer {
	struct af_jsonw *w[AF_GEN_OUT_COUNT];
	uint64_t lines[AF_GEN_OUT_COUNT];
	uint64_t ids[AF_GEN_OUT_COUNT];
	uint64_t key; /* from the seed: ids differ between seeds */
	char org_id[40];
};

static const char *const out_names[AF_GEN_OUT_COUNT] = {AF_GEN_SIGNINS_FILE, AF_GEN_AUDIT_FILE,
                                                        AF_GEN_TRACE_FILE};

/* UUID spaces (the fourth group's second hex digit). */
enum { SPACE_SIGNINS, SPACE_AUDIT, SPACE_TRACE, SPACE_OTHER };

#define WRITE_BUF (1u << 20)

/* ---- text helpers -------------------------------------------------------- */

static const char hexdig[] = "0123456789abcdef";

static char *hex(char *p, uint64_t v, int digits)
{
	for (int i = digits - 1; i >= 0; i--)
		p[i] = hexdig[v & 15], v >>= 4;
	return p + digits;
}

#define M48 ((1ULL << 48) - 1)

/* A permutation of 48-bit values, keyed: xor, odd multiplications and
 * xor-shifts are each invertible modulo 2^48. */
static uint64_t perm48(uint64_t x, uint64_t key)
{
	x = (x ^ key) & M48;
	x = (x * 0x9E3779B97F4BULL) & M48;
	x ^= x >> 23;
	x = (x * 0xC2B2AE3D27D5ULL) & M48;
	x ^= x >> 21;
	return x;
}

/* The n-th UUID of space (version 4 layout, 36 characters and a NUL). */
static void uuid(char *out, uint64_t key, unsigned space, uint64_t n)
{
	uint64_t hi = af_gen_mix(key ^ ((uint64_t)space << 56) ^ n);
	char *p = hex(out, hi >> 32, 8);
	*p++ = '-';
	p = hex(p, hi >> 16, 4);
	*p++ = '-';
	*p++ = '4';
	p = hex(p, hi, 3);
	*p++ = '-';
	p = hex(p, 0x8000u | (space & 3u) << 12 | ((hi >> 52) & 0xfff), 4);
	*p++ = '-';
	p = hex(p, perm48(n, af_gen_mix(key ^ space)), 12);
	*p = '\0';
}

/* A UUID that only has to look like one (correlation ids, item ids). */
static void uuid_any(char *out, uint64_t key, uint64_t seed)
{
	uuid(out, key ^ 0x5851F42D4C957F2DULL, SPACE_OTHER, af_gen_mix(seed));
}

/* ns as the exports write it: Graph's "2025-08-01T08:12:33Z", the audit
 * log's "2025-08-01T08:12:33" (no zone), message trace's
 * "2025-08-01T08:12:33.120Z" (always milliseconds). */
enum tstyle { T_GRAPH, T_UAL, T_TRACE };

static void fmt_time(char *buf, int64_t ns, enum tstyle style)
{
	size_t n = af_ts_format(ns, buf, AF_TS_TEXT_MAX);
	if (style == T_UAL)
		buf[n - 1] = '\0';
	else if (style == T_TRACE && ns % AF_GEN_NS == 0)
		memcpy(buf + n - 1, ".000Z", 6);
}

/* The client address of ev, with a port when the event says so. */
static void client_ip(const struct af_gen *g, const struct af_gen_ev *ev, bool port, char *buf)
{
	const struct af_gen_net *n = &g->nets[ev->net];
	char ip[AF_GEN_IP_MAX];
	af_gen_ip_format(n, ev->host, ip);
	if (port && (ev->flags & AF_GEN_EVF_PORT)) {
		unsigned p = 1024 + (unsigned)(ev->rseed % 60000);
		snprintf(buf, AF_GEN_IP_MAX + 10, n->v6 ? "[%s]:%u" : "%s:%u", ip, p);
	} else {
		memcpy(buf, ip, strlen(ip) + 1);
	}
}

/* ---- catalogues ---------------------------------------------------------- */

static const struct {
	const char *client; /* clientAppUsed */
	const char *name;   /* appDisplayName */
	const char *id;     /* appId */
	const char *resource;
} apps[AF_GEN_APP_COUNT] = {
    [AF_GEN_APP_OUTLOOK] = {"Mobile Apps and Desktop clients", "Microsoft Office",
                            "d3590ed6-52b3-4102-aeff-aad2292ab01c", "Office 365 Exchange Online"},
    [AF_GEN_APP_TEAMS] = {"Mobile Apps and Desktop clients", "Microsoft Teams",
                          "1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams Services"},
    [AF_GEN_APP_OWA] = {"Browser", "Office 365 Exchange Online",
                        "00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online"},
    [AF_GEN_APP_OFFICEHOME] = {"Browser", "OfficeHome", "4765445b-32c6-49b0-83e6-1d93765276ca",
                               "OfficeHome"},
    [AF_GEN_APP_SHAREPOINT] = {"Browser", "Office 365 SharePoint Online",
                               "00000003-0000-0ff1-ce00-000000000000",
                               "Office 365 SharePoint Online"},
    [AF_GEN_APP_MOBILE] = {"Mobile Apps and Desktop clients", "Outlook Mobile",
                           "27922004-5251-4030-b22d-91ecd9a37ea4", "Office 365 Exchange Online"},
    [AF_GEN_APP_MAILER] = {"Mobile Apps and Desktop clients", "Contoso Mailer",
                           "6c1b2f3e-0a4d-4e8b-9f57-2d1c3b4a5e6f", "Microsoft Graph"},
    [AF_GEN_APP_ATTACKER] = {"Browser", "OfficeHome", "4765445b-32c6-49b0-83e6-1d93765276ca",
                             "OfficeHome"},
    [AF_GEN_APP_ROPC] = {"Mobile Apps and Desktop clients", "Azure Active Directory PowerShell",
                         "1b730954-1685-4b74-9bfd-dac224a7b894", "Windows Azure Active Directory"},
};

static const char *const ua_browser[6] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/127.0.0.0 Safari/537.36 Edg/127.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/127.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/127.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
};
static const char *const ua_outlook_win =
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)";
static const char *const ua_outlook_mac =
    "Microsoft Office/16.0 (Macintosh; Mac OS X 14.5; Microsoft Outlook 16.88)";
static const char *const ua_phone[2] = {"Outlook-iOS/2.0", "Outlook-Android/2.0"};
static const char *const ua_mailer = "ContosoMailer/3.2";
static const char *const ua_attacker =
    "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0";
static const char *const ua_ropc = "BAV2ROPC";

static const char *signin_ua(const struct af_gen *g, const struct af_gen_ev *ev)
{
	unsigned dev = ev->account < g->n_acct ? g->acct[ev->account].device : 0;
	switch (ev->variant) {
	case AF_GEN_APP_OUTLOOK: return dev == 2 || dev == 3 ? ua_outlook_mac : ua_outlook_win;
	case AF_GEN_APP_MOBILE: return ua_phone[dev % 2];
	case AF_GEN_APP_MAILER: return ua_mailer;
	case AF_GEN_APP_ATTACKER: return ua_attacker;
	case AF_GEN_APP_ROPC: return ua_ropc;
	default: return ua_browser[dev % 6];
	}
}

static void client_info(const struct af_gen *g, const struct af_gen_ev *ev, char *buf, size_t size)
{
	unsigned dev = g->acct[ev->account].device;
	switch (ev->client) {
	case AF_GEN_CL_OWA: snprintf(buf, size, "Client=OWA;%s", ua_browser[dev % 6]); break;
	case AF_GEN_CL_MOBILE:
		snprintf(buf, size, "Client=REST;Client=RESTSystem;%s;", ua_phone[dev % 2]);
		break;
	case AF_GEN_CL_MAILER:
		snprintf(buf, size, "Client=REST;Client=RESTSystem;%s;", ua_mailer);
		break;
	case AF_GEN_CL_ATTACKER_REST: snprintf(buf, size, "Client=REST;Client=RESTSystem;;"); break;
	case AF_GEN_CL_ATTACKER_OWA: snprintf(buf, size, "Client=OWA;%s", ua_attacker); break;
	default: snprintf(buf, size, "Client=MSExchangeRPC"); break;
	}
}

/* Why a sign-in failed: Entra's failureReason and the audit log's
 * LogonError. */
static void failure(int32_t code, const char **reason, const char **logon_error)
{
	switch (code) {
	case 0:
		*reason = "Other.";
		*logon_error = NULL;
		break;
	case 50126:
		*reason = "Error validating credentials due to invalid username or password.";
		*logon_error = "InvalidUserNameOrPassword";
		break;
	case 50140:
		*reason =
		    "This error occurred due to 'Keep me signed in' interrupt when the user was "
		    "signing in.";
		*logon_error = "KmsiInterrupt";
		break;
	case 50074:
		*reason = "Strong Authentication is required.";
		*logon_error = "UserStrongAuthClientAuthNRequiredInterrupt";
		break;
	case 50053:
		*reason = "The account is locked, you've tried to sign in too many times with an "
		          "incorrect user ID or password.";
		*logon_error = "IdsLocked";
		break;
	case 50034:
		*reason = "The user account does not exist in the tenant directory.";
		*logon_error = "UserAccountNotFound";
		break;
	default:
		*reason = "Other.";
		*logon_error = "Unknown";
		break;
	}
}

static const char *const subjects[] = {"Re: Q3 planning",
                                       "Meeting notes",
                                       "Updated forecast",
                                       "Re: Contract draft",
                                       "Travel approval",
                                       "Re: Budget review",
                                       "Weekly status",
                                       "Customer feedback",
                                       "Re: Project timeline",
                                       "Agenda for Thursday",
                                       "Re: Quick question",
                                       "Slides for the review",
                                       "Re: Order confirmation",
                                       "Shipping schedule",
                                       "Re: Invoice query",
                                       "Training invitation",
                                       "Re: Lunch?",
                                       "Draft proposal",
                                       "Re: Pricing",
                                       "Minutes: steering committee",
                                       "Re: Onboarding",
                                       "Holiday cover",
                                       "Re: Support ticket",
                                       "Quarterly report"};
#define N_SUBJECTS (sizeof(subjects) / sizeof(subjects[0]))
static const char *const phish_subjects[] = {"Invoice documents", "Payment advice",
                                             "Remittance details - shared document"};

static const char *subject(const struct af_gen_ev *ev)
{
	switch (ev->variant) {
	case AF_GEN_RCPT_HARVEST: return phish_subjects[ev->rseed % 3];
	case AF_GEN_RCPT_SUBSCRIBER: return "Contoso newsletter: what's new this week";
	case AF_GEN_RCPT_DROP: return "test";
	default: return subjects[af_gen_mix(ev->rseed) % N_SUBJECTS];
	}
}

static uint64_t message_size(const struct af_gen_ev *ev)
{
	uint64_t h = af_gen_mix(ev->rseed ^ 0xA5A5A5A5u);
	if (ev->variant == AF_GEN_RCPT_HARVEST)
		return 48000 + h % 600;
	if (ev->variant == AF_GEN_RCPT_SUBSCRIBER)
		return 64000 + h % 4000;
	return 3000 + h % 120000;
}

/* The mailbox server of the account's region, for OriginatingServer. */
static void mailbox_server(const struct af_gen *g, uint32_t a, char *buf, size_t size)
{
	static const char *const prefix[] = {"FR3P281MB", "LO2P265MB", "BL1PR12MB", "SG2PR04MB",
	                                     "TYCPR01MB", "CP3PR80MB", "PN2PR01MB", "SY4PR01MB"};
	unsigned o = g->acct[a].office % 8;
	snprintf(buf, size, "%s%04u (15.20.7875.018)", prefix[o], 1000 + (unsigned)(a % 9000));
}

/* ---- records ------------------------------------------------------------- */

static void put_entra(struct af_gen *g, struct af_jsonw *w, const struct af_gen_ev *ev,
                      const char *id)
{
	struct af_gen_writer *wr = g->out;
	const struct af_gen_net *n = &g->nets[ev->net];
	char t[AF_TS_TEXT_MAX], ip[AF_GEN_IP_MAX], guid[40], upn[128];
	bool ghost = ev->account >= g->n_acct;
	const char *reason, *logon_error;
	failure(ev->code, &reason, &logon_error);
	fmt_time(t, ev->ts, T_GRAPH);
	af_gen_ip_format(n, ev->host, ip);

	af_jsonw_object_begin(w);
	af_jsonw_field_string(w, "id", id);
	af_jsonw_field_string(w, "createdDateTime", t);
	if (ghost) {
		af_gen_name_ghost(ev->account - g->n_acct, upn, sizeof(upn));
		af_jsonw_field_null(w, "userDisplayName");
		af_jsonw_field_string(w, "userPrincipalName", upn);
		af_jsonw_field_string(w, "userId", "");
	} else {
		const struct af_gen_account *a = &g->acct[ev->account];
		uuid(guid, wr->key, SPACE_OTHER, ev->account);
		af_jsonw_field_string(w, "userDisplayName", a->name);
		af_jsonw_field_string(w, "userPrincipalName", a->upn);
		af_jsonw_field_string(w, "userId", guid);
	}
	af_jsonw_field_string(w, "appId", apps[ev->variant].id);
	af_jsonw_field_string(w, "appDisplayName", apps[ev->variant].name);
	af_jsonw_field_string(w, "ipAddress", ip);
	af_jsonw_field_string(w, "clientAppUsed", apps[ev->variant].client);
	af_jsonw_field_string(w, "userAgent", signin_ua(g, ev));
	uuid_any(guid, wr->key, ev->rseed);
	af_jsonw_field_string(w, "correlationId", guid);
	af_jsonw_field_string(w, "conditionalAccessStatus",
	                      ev->code == 0 ? "success" : "notApplied");
	af_jsonw_field_bool(w, "isInteractive", ev->flags & AF_GEN_EVF_INTERACTIVE);
	af_jsonw_field_string(w, "resourceDisplayName", apps[ev->variant].resource);
	af_jsonw_field_string(w, "riskLevelDuringSignIn", "none");
	af_jsonw_key(w, "status");
	af_jsonw_object_begin(w);
	af_jsonw_field_int(w, "errorCode", ev->code);
	af_jsonw_field_string(w, "failureReason", reason);
	af_jsonw_field_null(w, "additionalDetails");
	af_jsonw_object_end(w);
	af_jsonw_key(w, "location");
	af_jsonw_object_begin(w);
	af_jsonw_field_string(w, "city", n->place->city);
	af_jsonw_field_null(w, "state");
	af_jsonw_field_string(w, "countryOrRegion", n->place->cc);
	af_jsonw_key(w, "geoCoordinates");
	af_jsonw_object_begin(w);
	af_jsonw_field_null(w, "altitude");
	af_jsonw_field_double_fixed(w, "latitude", n->place->lat, 4);
	af_jsonw_field_double_fixed(w, "longitude", n->place->lon, 4);
	af_jsonw_object_end(w);
	af_jsonw_object_end(w);
	af_jsonw_object_end(w);
}

/* The fields every Management Activity API record starts with. */
static void ual_begin(struct af_gen *g, struct af_jsonw *w, const struct af_gen_ev *ev,
                      const char *id, const char *op, int record_type, const char *result,
                      const char *workload, bool port)
{
	struct af_gen_writer *wr = g->out;
	const struct af_gen_account *a = &g->acct[ev->account];
	char t[AF_TS_TEXT_MAX], ip[AF_GEN_IP_MAX + 10], key[40];
	fmt_time(t, ev->ts, T_UAL);
	client_ip(g, ev, port, ip);
	af_jsonw_object_begin(w);
	af_jsonw_field_string(w, "CreationTime", t);
	af_jsonw_field_string(w, "Id", id);
	af_jsonw_field_string(w, "Operation", op);
	af_jsonw_field_string(w, "OrganizationId", wr->org_id);
	af_jsonw_field_int(w, "RecordType", record_type);
	af_jsonw_field_string(w, "ResultStatus", result);
	if (strcmp(workload, "Exchange") == 0) {
		/* Exchange writes the user's PUID, Entra the object id. */
		char *p = key;
		memcpy(p, "1003", 4);
		p = hex(p + 4, af_gen_mix(wr->key ^ ev->account), 12);
		*p = '\0';
		for (char *c = key; *c; c++)
			if (*c >= 'a' && *c <= 'f')
				*c = (char)(*c - 'a' + 'A');
	} else {
		uuid(key, wr->key, SPACE_OTHER, ev->account);
	}
	af_jsonw_field_string(w, "UserKey", key);
	af_jsonw_field_int(w, "UserType", 0);
	af_jsonw_field_int(w, "Version", 1);
	af_jsonw_field_string(w, "Workload", workload);
	af_jsonw_field_string(w, "ClientIP", ip);
	af_jsonw_field_string(w, "UserId", a->upn);
}

static void put_ual_signin(struct af_gen *g, struct af_jsonw *w, const struct af_gen_ev *ev,
                           const char *id)
{
	const char *reason, *logon_error;
	char ip[AF_GEN_IP_MAX + 10], num[16];
	failure(ev->code, &reason, &logon_error);
	ual_begin(g, w, ev, id, ev->code ? "UserLoginFailed" : "UserLoggedIn", 15, "Success",
	          "AzureActiveDirectory", false);
	client_ip(g, ev, false, ip);
	af_jsonw_field_string(w, "ObjectId", apps[ev->variant].id);
	af_jsonw_field_int(w, "AzureActiveDirectoryEventType", 1);
	af_jsonw_key(w, "ExtendedProperties");
	af_jsonw_array_begin(w);
	static const char *const names[3] = {"ResultStatusDetail", "UserAgent", "RequestType"};
	const char *values[3] = {ev->code ? "UserError" : "Success", signin_ua(g, ev),
	                         ev->flags & AF_GEN_EVF_INTERACTIVE ? "OAuth2:Authorize"
	                                                            : "OAuth2:Token"};
	for (int i = 0; i < 3; i++) {
		af_jsonw_object_begin(w);
		af_jsonw_field_string(w, "Name", names[i]);
		af_jsonw_field_string(w, "Value", values[i]);
		af_jsonw_object_end(w);
	}
	af_jsonw_array_end(w);
	af_jsonw_field_string(w, "ActorIpAddress", ip);
	af_jsonw_field_string(w, "ApplicationId", apps[ev->variant].id);
	snprintf(num, sizeof(num), "%d", (int)ev->code);
	af_jsonw_field_string(w, "ErrorNumber", num);
	if (logon_error)
		af_jsonw_field_string(w, "LogonError", logon_error);
	af_jsonw_object_end(w);
}

/* Fields of the Exchange mailbox records (item, item group, aggregated). */
static void mailbox_fields(struct af_gen *g, struct af_jsonw *w, const struct af_gen_ev *ev)
{
	const struct af_gen_account *a = &g->acct[ev->account];
	char info[300], server[48];
	client_info(g, ev, info, sizeof(info));
	mailbox_server(g, ev->account, server, sizeof(server));
	af_jsonw_field_string(w, "ClientInfoString", info);
	af_jsonw_field_bool(w, "ExternalAccess", false);
	af_jsonw_field_int(w, "LogonType", 0);
	af_jsonw_field_string(w, "LogonUserDisplayName", a->name);
	af_jsonw_field_string(w, "MailboxOwnerUPN", a->upn);
	af_jsonw_field_string(w, "OrganizationName", "contoso.onmicrosoft.com");
	af_jsonw_field_string(w, "OriginatingServer", server);
}

static void message_id(const struct af_gen *g, const struct af_gen_ev *ev, char *buf, size_t size)
{
	char h[17];
	hex(h, af_gen_mix(ev->rseed ^ (uint64_t)ev->account << 40 ^ g->out->key), 16);
	h[16] = '\0';
	snprintf(buf, size, "<%s@%s>", h, AF_GEN_DOMAIN);
}

#define MAX_RCPT 8

static void put_send(struct af_gen *g, struct af_jsonw *w, const struct af_gen_ev *ev,
                     const char *id)
{
	struct af_gen_rcpt rc[MAX_RCPT];
	size_t n = af_gen_recipients(g, ev, rc, MAX_RCPT);
	char mid[64], item[40];
	ual_begin(g, w, ev, id, "Send", 2, "Succeeded", "Exchange", true);
	mailbox_fields(g, w, ev);
	af_jsonw_field_int(w, "InternalLogonType", 0);
	af_jsonw_field_bool(w, "SaveToSentItems", !(ev->flags & AF_GEN_EVF_NO_SAVE));
	af_jsonw_key(w, "Item");
	af_jsonw_object_begin(w);
	uuid_any(item, g->out->key, ev->rseed ^ 0x1);
	af_jsonw_field_string(w, "Id", item);
	message_id(g, ev, mid, sizeof(mid));
	af_jsonw_field_string(w, "InternetMessageId", mid);
	af_jsonw_key(w, "ParentFolder");
	af_jsonw_object_begin(w);
	af_jsonw_field_string(w, "Path", "\\Drafts");
	af_jsonw_object_end(w);
	af_jsonw_field_uint(w, "SizeInBytes", message_size(ev));
	af_jsonw_field_string(w, "Subject", subject(ev));
	af_jsonw_object_end(w);
	af_jsonw_field_uint(w, "recipientCount", n);
	af_jsonw_key(w, "recipientList");
	af_jsonw_array_begin(w);
	for (size_t i = 0; i < n; i++) {
		af_jsonw_object_begin(w);
		af_jsonw_field_string(w, "Address", rc[i].addr);
		af_jsonw_field_string(w, "Name", rc[i].name);
		af_jsonw_object_end(w);
	}
	af_jsonw_array_end(w);
	af_jsonw_object_end(w);
}

static void nv(struct af_jsonw *w, const char *name, const char *value)
{
	af_jsonw_object_begin(w);
	af_jsonw_field_string(w, "Name", name);
	af_jsonw_field_string(w, "Value", value);
	af_jsonw_object_end(w);
}

static void put_access(struct af_gen *g, struct af_jsonw *w, const struct af_gen_ev *ev,
                       const char *id)
{
	ual_begin(g, w, ev, id, "MailItemsAccessed", 50, "Succeeded", "Exchange", false);
	mailbox_fields(g, w, ev);
	bool bind = ev->variant == AF_GEN_ACCESS_BIND;
	af_jsonw_field_uint(w, "OperationCount", 1 + ev->rseed % (bind ? 200 : 12));
	af_jsonw_key(w, "OperationProperties");
	af_jsonw_array_begin(w);
	nv(w, "MailAccessType", bind ? "Bind" : "Sync");
	nv(w, "IsThrottled", "False");
	af_jsonw_array_end(w);
	af_jsonw_key(w, "Folders");
	af_jsonw_array_begin(w);
	af_jsonw_object_begin(w);
	af_jsonw_field_string(w, "Path", bind && (ev->rseed & 1) ? "\\Sent Items" : "\\Inbox");
	af_jsonw_object_end(w);
	af_jsonw_array_end(w);
	af_jsonw_object_end(w);
}

static void put_delete(struct af_gen *g, struct af_jsonw *w, const struct af_gen_ev *ev,
                       const char *id)
{
	static const char *const ops[] = {"MoveToDeletedItems", "SoftDelete", "HardDelete"};
	static const char *const folders[] = {"\\Inbox", "\\Deleted Items", "\\Sent Items"};
	unsigned v = ev->variant < 3 ? ev->variant : 0;
	char item[40];
	ual_begin(g, w, ev, id, ops[v], 3, "Succeeded", "Exchange", false);
	mailbox_fields(g, w, ev);
	af_jsonw_field_bool(w, "CrossMailboxOperation", false);
	af_jsonw_key(w, "Folder");
	af_jsonw_object_begin(w);
	af_jsonw_field_string(w, "Path", folders[v]);
	af_jsonw_object_end(w);
	if (v == AF_GEN_DEL_INBOX) {
		af_jsonw_key(w, "DestFolder");
		af_jsonw_object_begin(w);
		af_jsonw_field_string(w, "Path", "\\Deleted Items");
		af_jsonw_object_end(w);
	}
	/* The attacker removes the two test mails. */
	unsigned n = v == AF_GEN_DEL_SENT ? 2 : 1 + (unsigned)(ev->rseed % 3);
	af_jsonw_key(w, "AffectedItems");
	af_jsonw_array_begin(w);
	for (unsigned i = 0; i < n; i++) {
		af_jsonw_object_begin(w);
		uuid_any(item, g->out->key, ev->rseed + i);
		af_jsonw_field_string(w, "Id", item);
		af_jsonw_field_string(w, "Subject",
		                      v == AF_GEN_DEL_SENT
		                          ? "test"
		                          : subjects[af_gen_mix(ev->rseed + i) % N_SUBJECTS]);
		af_jsonw_key(w, "ParentFolder");
		af_jsonw_object_begin(w);
		af_jsonw_field_string(w, "Path", folders[v]);
		af_jsonw_object_end(w);
		af_jsonw_object_end(w);
	}
	af_jsonw_array_end(w);
	af_jsonw_object_end(w);
}

/* Fields of an Exchange admin cmdlet record. */
static void admin_fields(struct af_gen *g, struct af_jsonw *w, const struct af_gen_ev *ev,
                         const char *object_id)
{
	char server[48];
	mailbox_server(g, ev->account, server, sizeof(server));
	af_jsonw_field_string(w, "ObjectId", object_id);
	af_jsonw_field_bool(w, "ExternalAccess", false);
	af_jsonw_field_string(w, "OrganizationName", "contoso.onmicrosoft.com");
	af_jsonw_field_string(w, "OriginatingServer", server);
}

static void put_rule(struct af_gen *g, struct af_jsonw *w, const struct af_gen_ev *ev,
                     const char *id)
{
	const struct af_gen_account *a = &g->acct[ev->account];
	const char *name = ev->variant == AF_GEN_RULE_BENIGN ? "Newsletters"
	                   : ev->variant == AF_GEN_RULE_HIDE ? "."
	                                                     : "..";
	char obj[200], from[96];
	snprintf(obj, sizeof(obj), "%s\\%s", a->upn, name);
	ual_begin(g, w, ev, id, "New-InboxRule", 1, "True", "Exchange", true);
	admin_fields(g, w, ev, obj);
	af_jsonw_key(w, "Parameters");
	af_jsonw_array_begin(w);
	nv(w, "AlwaysDeleteOutlookRulesBlob", "False");
	nv(w, "Force", "False");
	nv(w, "Name", name);
	switch (ev->variant) {
	case AF_GEN_RULE_BENIGN:
		snprintf(from, sizeof(from), "news@%s",
		         af_gen_partner_domains[ev->rseed % af_gen_partner_count]);
		nv(w, "From", from);
		nv(w, "MoveToFolder", "Newsletters");
		break;
	case AF_GEN_RULE_HIDE:
		nv(w, "SubjectOrBodyContainsWords", "invoice;payment;document;phishing;hacked");
		nv(w, "MoveToFolder", "RSS Feeds");
		nv(w, "MarkAsRead", "True");
		nv(w, "StopProcessingRules", "True");
		break;
	default:
		snprintf(from, sizeof(from), "%s",
		         af_gen_partner_domains[ev->rseed % af_gen_partner_count]);
		nv(w, "FromAddressContainsWords", from);
		nv(w, "SubjectContainsWords", "payment;invoice;bank details");
		nv(w, "MoveToFolder", "RSS Feeds");
		nv(w, "MarkAsRead", "True");
		break;
	}
	af_jsonw_array_end(w);
	af_jsonw_object_end(w);
}

static void put_forward(struct af_gen *g, struct af_jsonw *w, const struct af_gen_ev *ev,
                        const char *id)
{
	const struct af_gen_account *a = &g->acct[ev->account];
	ual_begin(g, w, ev, id, "Set-Mailbox", 1, "True", "Exchange", true);
	admin_fields(g, w, ev, a->upn);
	af_jsonw_key(w, "Parameters");
	af_jsonw_array_begin(w);
	nv(w, "Identity", a->upn);
	nv(w, "ForwardingSmtpAddress", "smtp:inbox.archive@mailsync-backup.example");
	nv(w, "DeliverToMailboxAndForward", "True");
	af_jsonw_array_end(w);
	af_jsonw_object_end(w);
}

static void put_password(struct af_gen *g, struct af_jsonw *w, const struct af_gen_ev *ev,
                         const char *id)
{
	const struct af_gen_account *a = &g->acct[ev->account];
	char guid[40], target[48];
	ual_begin(g, w, ev, id, "Change user password.", 8, "Success", "AzureActiveDirectory",
	          false);
	af_jsonw_field_string(w, "ObjectId", a->upn);
	uuid(guid, g->out->key, SPACE_OTHER, ev->account);
	snprintf(target, sizeof(target), "User_%s", guid);
	af_jsonw_key(w, "Target");
	af_jsonw_array_begin(w);
	af_jsonw_object_begin(w);
	af_jsonw_field_string(w, "ID", target);
	af_jsonw_field_int(w, "Type", 2);
	af_jsonw_object_end(w);
	af_jsonw_object_begin(w);
	af_jsonw_field_string(w, "ID", a->upn);
	af_jsonw_field_int(w, "Type", 5);
	af_jsonw_object_end(w);
	af_jsonw_array_end(w);
	af_jsonw_object_end(w);
}

/* Delivery status of the i-th recipient's row. */
static const char *trace_status(const struct af_gen_ev *ev, size_t i, const char *rcpt)
{
	uint32_t roll = (uint32_t)(af_gen_mix(ev->rseed ^ (i * 0x9E3779B97F4A7C15ULL)) % 1000);
	const char *dom = strchr(rcpt, '@');
	if (ev->variant == AF_GEN_RCPT_INBOUND)
		return roll < 30 ? "FilteredAsSpam" : "Delivered";
	if (dom && strcmp(dom + 1, AF_GEN_DOMAIN) == 0)
		return "Delivered";
	if (ev->variant == AF_GEN_RCPT_HARVEST)
		return roll < 40 ? "Failed" : roll < 60 ? "FilteredAsSpam" : "Delivered";
	return roll < 10 ? "Failed" : "Delivered";
}

/* One message: a row per recipient. Returns the rows written. */
static af_err_t put_trace(struct af_gen *g, struct af_jsonw *w, const struct af_gen_ev *ev,
                          const char *id, uint64_t *rows)
{
	struct af_gen_rcpt rc[MAX_RCPT], sender;
	size_t n = af_gen_recipients(g, ev, rc, MAX_RCPT);
	const char *from;
	if (ev->variant == AF_GEN_RCPT_INBOUND) {
		af_gen_inbound_sender(g, ev, &sender);
		from = sender.addr;
	} else {
		from = g->acct[ev->account].upn;
	}
	char t[AF_TS_TEXT_MAX], ip[AF_GEN_IP_MAX], mid[64], subj[128];
	fmt_time(t, ev->ts, T_TRACE);
	af_gen_ip_format(&g->nets[ev->net], ev->host, ip);
	message_id(g, ev, mid, sizeof(mid));
	const char *sj = subject(ev);
	/* A partner's answer, unless the subject is one already. */
	bool reply = ev->variant == AF_GEN_RCPT_INBOUND && strncmp(sj, "Re: ", 4) != 0;
	snprintf(subj, sizeof(subj), "%s%s", reply ? "RE: " : "", sj);
	for (size_t i = 0; i < n; i++) {
		af_jsonw_object_begin(w);
		af_jsonw_field_string(w, "Organization", "contoso.onmicrosoft.com");
		af_jsonw_field_string(w, "MessageId", mid);
		af_jsonw_field_string(w, "Received", t);
		af_jsonw_field_string(w, "SenderAddress", from);
		af_jsonw_field_string(w, "RecipientAddress", rc[i].addr);
		af_jsonw_field_string(w, "Subject", subj);
		af_jsonw_field_string(w, "Status", trace_status(ev, i, rc[i].addr));
		af_jsonw_field_null(w, "ToIP");
		af_jsonw_field_string(w, "FromIP", ip);
		af_jsonw_field_uint(w, "Size", message_size(ev));
		af_jsonw_field_string(w, "MessageTraceId", id);
		af_jsonw_object_end(w);
		af_err_t err = af_jsonw_end_line(w);
		if (err != AF_OK)
			return err;
		(*rows)++;
	}
	return AF_OK;
}

af_err_t af_gen_writer_put(struct af_gen *g, enum af_gen_file f, const struct af_gen_ev *ev)
{
	struct af_gen_writer *wr = g->out;
	struct af_jsonw *w = wr->w[f];
	char id[40];
	uuid(id, wr->key, (unsigned)f, wr->ids[f]++);
	g->nets[ev->net].used = true;
	if (f == AF_GEN_OUT_TRACE)
		return put_trace(g, w, ev, id, &wr->lines[f]);
	if (f == AF_GEN_OUT_SIGNINS) {
		put_entra(g, w, ev, id);
	} else {
		switch (ev->type) {
		case AF_GEN_EV_SIGNIN: put_ual_signin(g, w, ev, id); break;
		case AF_GEN_EV_SEND: put_send(g, w, ev, id); break;
		case AF_GEN_EV_ACCESS: put_access(g, w, ev, id); break;
		case AF_GEN_EV_DELETE: put_delete(g, w, ev, id); break;
		case AF_GEN_EV_RULE: put_rule(g, w, ev, id); break;
		case AF_GEN_EV_FORWARD: put_forward(g, w, ev, id); break;
		default: put_password(g, w, ev, id); break;
		}
	}
	wr->lines[f]++;
	return af_jsonw_end_line(w);
}

/* ---- open, close, truth, networks ---------------------------------------- */

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

af_err_t af_gen_writer_open(struct af_gen *g, const char *dir, char *errstr, size_t errstr_size)
{
	struct af_gen_writer *wr = calloc(1, sizeof(*wr));
	if (!wr) {
		snprintf(errstr, errstr_size, "out of memory");
		return AF_E_NOMEM;
	}
	wr->key = af_gen_mix(g->opts.seed ^ 0x243F6A8885A308D3ULL);
	uuid(wr->org_id, wr->key, SPACE_OTHER, M48);
	g->out = wr;
	for (int f = 0; f < AF_GEN_OUT_COUNT; f++) {
		char *path = path_join(dir, out_names[f]);
		if (!path) {
			snprintf(errstr, errstr_size, "out of memory");
			af_gen_writer_close(g, NULL, &(struct af_gen_stats){0}, NULL, 0);
			return AF_E_NOMEM;
		}
		wr->w[f] = af_jsonw_open(path, WRITE_BUF, errstr, errstr_size);
		free(path);
		if (!wr->w[f]) {
			af_gen_writer_close(g, NULL, &(struct af_gen_stats){0}, NULL, 0);
			return AF_E_IO;
		}
	}
	return AF_OK;
}

static int truth_cmp(const void *pa, const void *pb)
{
	const struct af_gen_truth *a = *(const struct af_gen_truth *const *)pa;
	const struct af_gen_truth *b = *(const struct af_gen_truth *const *)pb;
	if (a->from != b->from)
		return a->from < b->from ? -1 : 1;
	return a < b ? -1 : a > b;
}

static af_err_t write_truth(struct af_gen *g, const char *dir, uint64_t *lines, char *errstr,
                            size_t errstr_size)
{
	char *path = path_join(dir, AF_GEN_TRUTH_FILE);
	const struct af_gen_truth **order = malloc((g->n_truth + 1) * sizeof(*order));
	struct af_jsonw *w = NULL;
	af_err_t err = AF_E_NOMEM;
	if (!path || !order) {
		snprintf(errstr, errstr_size, "out of memory");
		goto cleanup;
	}
	w = af_jsonw_open(path, 0, errstr, errstr_size);
	if (!w) {
		err = AF_E_IO;
		goto cleanup;
	}
	/* In time order, the order of the story; ties as added. */
	for (size_t i = 0; i < g->n_truth; i++)
		order[i] = &g->truth[i];
	qsort(order, g->n_truth, sizeof(*order), truth_cmp);
	for (size_t i = 0; i < g->n_truth; i++) {
		const struct af_gen_truth *t = order[i];
		char ts[AF_TS_TEXT_MAX], ip[AF_GEN_IP_MAX];
		af_jsonw_object_begin(w);
		af_jsonw_field_string(w, "rule", t->rule);
		if (t->account < g->n_acct)
			af_jsonw_field_string(w, "account", g->acct[t->account].upn);
		else
			af_jsonw_field_null(w, "account");
		if (t->has_address) {
			af_gen_ip_format(&g->nets[t->net], t->host, ip);
			af_jsonw_field_string(w, "address", ip);
		} else {
			af_jsonw_field_null(w, "address");
		}
		fmt_time(ts, t->from, T_GRAPH);
		af_jsonw_field_string(w, "from", ts);
		fmt_time(ts, t->to, T_GRAPH);
		af_jsonw_field_string(w, "to", ts);
		af_jsonw_field_string(w, "note", t->note);
		af_jsonw_object_end(w);
		af_jsonw_end_line(w);
		(*lines)++;
	}
	err = AF_OK;
cleanup:;
	af_err_t cerr = af_jsonw_close(w, errstr, errstr_size);
	if (err == AF_OK)
		err = cerr;
	free(order);
	free(path);
	return err;
}

static const char *const net_kinds[AF_GEN_NET_KIND_COUNT] = {
    [AF_GEN_NET_OFFICE] = "office",
    [AF_GEN_NET_VPN] = "vpn",
    [AF_GEN_NET_HOME] = "home",
    [AF_GEN_NET_MOBILE] = "mobile",
    [AF_GEN_NET_DATACENTER] = "datacenter",
    [AF_GEN_NET_HOSTING] = "hosting",
    [AF_GEN_NET_ANONYMIZER] = "anonymizer",
    [AF_GEN_NET_MAILHOST] = "mailhost",
};

static af_err_t write_networks(struct af_gen *g, const char *dir, uint64_t *lines, char *errstr,
                               size_t errstr_size)
{
	char *path = path_join(dir, AF_GEN_NETWORKS_FILE);
	if (!path) {
		snprintf(errstr, errstr_size, "out of memory");
		return AF_E_NOMEM;
	}
	struct af_jsonw *w = af_jsonw_open(path, 0, errstr, errstr_size);
	free(path);
	if (!w)
		return AF_E_IO;
	for (size_t i = 0; i < g->n_nets; i++) {
		const struct af_gen_net *n = &g->nets[i];
		if (!n->used)
			continue;
		char cidr[AF_GEN_IP_MAX + 8];
		size_t len = af_gen_ip_format(n, 0, cidr);
		snprintf(cidr + len, sizeof(cidr) - len, "/%u", n->prefix);
		af_jsonw_object_begin(w);
		af_jsonw_field_string(w, "network", cidr);
		af_jsonw_field_string(w, "country", n->place->cc);
		af_jsonw_field_string(w, "city", n->place->city);
		af_jsonw_field_double_fixed(w, "lat", n->place->lat, 4);
		af_jsonw_field_double_fixed(w, "lon", n->place->lon, 4);
		af_jsonw_field_uint(w, "radius", n->radius_km);
		af_jsonw_field_uint(w, "asn", n->asn);
		af_jsonw_field_string(w, "as_org", n->as_org);
		af_jsonw_field_bool(w, "hosting", n->hosting);
		af_jsonw_field_bool(w, "anonymous", n->anonymous);
		af_jsonw_field_bool(w, "corporate", n->corporate);
		af_jsonw_field_string(w, "kind", net_kinds[n->kind]);
		af_jsonw_object_end(w);
		af_jsonw_end_line(w);
		(*lines)++;
	}
	return af_jsonw_close(w, errstr, errstr_size);
}

af_err_t af_gen_writer_close(struct af_gen *g, const char *dir, struct af_gen_stats *st,
                             char *errstr, size_t errstr_size)
{
	struct af_gen_writer *wr = g->out;
	if (!wr)
		return AF_OK;
	af_err_t err = AF_OK;
	char scratch[256];
	for (int f = 0; f < AF_GEN_OUT_COUNT; f++) {
		/* The first failure's message is the one kept. */
		bool first = err == AF_OK && errstr != NULL;
		af_err_t e = af_jsonw_close(wr->w[f], first ? errstr : scratch,
		                            first ? errstr_size : sizeof(scratch));
		if (err == AF_OK)
			err = e;
	}
	st->signins = wr->lines[AF_GEN_OUT_SIGNINS];
	st->audit = wr->lines[AF_GEN_OUT_AUDIT];
	st->trace = wr->lines[AF_GEN_OUT_TRACE];
	if (err == AF_OK && dir) {
		err = write_truth(g, dir, &st->truth, errstr, errstr_size);
		if (err == AF_OK)
			err = write_networks(g, dir, &st->networks, errstr, errstr_size);
	}
	free(wr);
	g->out = NULL;
	return err;
}
