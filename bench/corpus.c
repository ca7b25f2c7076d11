/* corpus.c - generate the benchmark corpus (corpus.h).
 *
 * Thread: the caller's, once, before any timing.
 * In: options. Out: a buffer of JSON records with padding, their offsets,
 * lengths and types.
 *
 * DESIGN: records are written with printf-style templates in the key order
 * the exporters use, with the value shapes they use (ClientIP with a port on
 * some Exchange records, "\\Sent Items" with its escaped backslash, ISO
 * times with and without fractions, the diagnostic form's string
 * "location" beside the sign-in's object one), because the parse stage's
 * cost depends on those details. Generation is not timed; it favours being
 * easy to read over being fast. All randomness comes from one splitmix64
 * stream seeded by the caller, and values derived from an account or an
 * address index (GUIDs, SIDs) from a hash of that index, so a given seed
 * gives the same bytes everywhere.
 */
#include "bench/corpus.h"

#include "bench/bench_util.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* 2025-08-01T00:00:00Z: where the corpus's clock starts. */
#define CORPUS_EPOCH_MS 1754006400000LL

/* A growing output buffer; oom sticks once an allocation failed. */
struct sbuf {
	char *p;
	size_t len;
	size_t cap;
	bool oom;
};

struct gen {
	uint64_t rng;
	const double *zipf; /* cumulative weights of ranks 0..accounts-1 */
	uint32_t accounts;
	int64_t t_ms; /* event time of the record being written */
	struct sbuf *b;
};

/* What a record says about its account. */
struct acct {
	uint32_t idx;
	char upn[96];   /* lower case, as the Management Activity API writes it */
	char cased[96]; /* capitalised, as Entra sign-ins often carry it */
	char name[64];  /* display name */
	char tenant[40];
	char org_id[40];
	char puid[20]; /* Exchange/SharePoint user key */
	char sid[64];
};

static const char *const first_names[] = {
    "an",    "binh",   "chi",   "dung",   "hoa",   "lan",   "minh",  "nam",   "thu",   "tuan",
    "alice", "bob",    "carol", "david",  "emma",  "frank", "grace", "henry", "irene", "jack",
    "karen", "leo",    "maria", "nina",   "oscar", "paul",  "quinn", "rosa",  "sam",   "tara",
    "uma",   "victor", "wendy", "xavier", "yuki",  "zoe",   "aiko",  "bjorn", "chen",  "dmitri",
};

static const char *const last_names[] = {
    "nguyen",  "tran",     "le",    "pham",     "hoang",    "vu",     "dang",   "bui",
    "do",      "ngo",      "smith", "johnson",  "brown",    "jones",  "garcia", "miller",
    "davis",   "martinez", "lopez", "wilson",   "anderson", "taylor", "thomas", "moore",
    "jackson", "martin",   "lee",   "thompson", "white",    "harris", "clark",  "lewis",
    "walker",  "hall",     "young", "king",     "wright",   "scott",  "green",  "baker",
};

static const char *const domains[] = {"contoso.com", "contoso.vn", "fabrikam.com",
                                      "northwindtraders.com"};

static const char *const user_agents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Mobile/15E148",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "python-requests/2.31.0",
    "BAV2ROPC",
};

static const char *const client_infos[] = {
    "Client=OWA;Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80;",
    "Client=MSExchangeRPC",
    "Client=REST;Client=RESTSystem;;",
    "Client=Microsoft.Exchange.ActiveSync;Apple-iPhone15C2/2104.252;",
    "Client=WebServices;Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook "
    "16.0.17328; Pro);",
};

/* Well-known first-party application ids and the resource each signs in to. */
static const char *const aad_apps[][2] = {
    {"00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online"},
    {"00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online"},
    {"4765445b-32c6-49b0-83e6-1d93765276ca", "OfficeHome"},
    {"1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams"},
};

static const char *const client_apps[] = {"Browser", "Mobile Apps and Desktop clients",
                                          "Exchange ActiveSync", "Authenticated SMTP"};

static const struct {
	int code;
	const char *logon_error;
	const char *reason;
} failures[] = {
    {50126, "InvalidUserNameOrPassword",
     "Error validating credentials due to invalid username or password."},
    {50053, "IdsLocked", "Account is locked because user tried to sign in too many times."},
    {50074, "UserStrongAuthClientAuthNRequired", "Strong Authentication is required."},
    {50057, "UserAccountDisabled", "User account is disabled."},
};

static const struct {
	const char *city, *state, *country;
	double lat, lon;
} places[] = {
    {"Hanoi", "Ha Noi", "VN", 21.0285, 105.8542},
    {"Ho Chi Minh City", "Ho Chi Minh", "VN", 10.8231, 106.6297},
    {"Seattle", "Washington", "US", 47.6062, -122.3321},
    {"Ashburn", "Virginia", "US", 39.0438, -77.4874},
    {"London", "England", "GB", 51.5072, -0.1276},
    {"Amsterdam", "North Holland", "NL", 52.3676, 4.9041},
    {"Singapore", "Singapore", "SG", 1.3521, 103.8198},
    {"Tokyo", "Tokyo", "JP", 35.6762, 139.6503},
};

static const char *const subjects[] = {
    "Q3 budget review",
    "Re: Invoice 4471",
    "Meeting notes - project Lotus",
    "Fwd: contract draft",
    "Weekly status",
    "L\341\273\213ch h\341\273\215p tu\341\272\247n", /* Vietnamese, in UTF-8 */
    "Re: Re: shipping schedule",
    "Updated price list",
    "Lunch on Friday?",
};

static const char *const sent_folders[] = {"\\\\Sent Items", "\\\\Sent Items", "\\\\Sent Items",
                                           "\\\\Drafts", "\\\\Outbox"};

static const char *const sites[] = {"Finance", "HR", "Sales", "Engineering", "Legal", "Marketing"};

static const char *const files[][2] = {
    {"budget-2025.xlsx", "xlsx"}, {"Board deck Q3.pptx", "pptx"}, {"contract-v7.docx", "docx"},
    {"payroll_aug.csv", "csv"},   {"roadmap.pdf", "pdf"},         {"notes.txt", "txt"},
};

static const char *const trace_status[] = {"Delivered",      "Delivered", "Delivered", "Delivered",
                                           "Delivered",      "Delivered", "Delivered", "Expanded",
                                           "FilteredAsSpam", "Failed"};

static const char *const type_names[AF_CORPUS_TYPE_COUNT] = {
    [AF_CORPUS_AAD_LOGIN_OK] = "aad_login_ok",
    [AF_CORPUS_AAD_LOGIN_FAILED] = "aad_login_failed",
    [AF_CORPUS_EXO_SEND] = "exchange_send",
    [AF_CORPUS_EXO_MAIL_ACCESS] = "exchange_mail_items_accessed",
    [AF_CORPUS_SPO_FILE_ACCESS] = "sharepoint_file_accessed",
    [AF_CORPUS_ENTRA_SIGNIN] = "entra_signin_diagnostic",
    [AF_CORPUS_MSGTRACE] = "message_trace",
};

/* Percent of records of each type. */
static const unsigned type_mix[AF_CORPUS_TYPE_COUNT] = {
    [AF_CORPUS_AAD_LOGIN_OK] = 22,    [AF_CORPUS_AAD_LOGIN_FAILED] = 6,
    [AF_CORPUS_EXO_SEND] = 12,        [AF_CORPUS_EXO_MAIL_ACCESS] = 20,
    [AF_CORPUS_SPO_FILE_ACCESS] = 14, [AF_CORPUS_ENTRA_SIGNIN] = 14,
    [AF_CORPUS_MSGTRACE] = 12,
};

const char *af_corpus_type_name(enum af_corpus_type type)
{
	return (unsigned)type < AF_CORPUS_TYPE_COUNT ? type_names[type] : "unknown";
}

/* --- randomness --- */

/* splitmix64's finalizer: hashes an index into the values derived from it */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(struct gen *g)
{
	return af_bench_rnd(&g->rng);
}

/* Uniform in [0, n). */
static uint32_t below(struct gen *g, uint32_t n)
{
	return (uint32_t)(((rnd(g) >> 32) * n) >> 32);
}

static bool chance(struct gen *g, unsigned percent)
{
	return below(g, 100) < percent;
}

/* A Zipf rank in [0, accounts): rank 0 is the most frequent. */
static uint32_t zipf(struct gen *g)
{
	return (uint32_t)af_bench_zipf_rank(g->zipf, g->accounts, af_bench_unit(&g->rng));
}

#define PICK(g, a) ((a)[below((g), (uint32_t)N(a))])

/* --- output --- */

static bool sb_reserve(struct sbuf *b, size_t more)
{
	if (b->oom)
		return false;
	if (b->len + more <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 1u << 20;
	while (cap < b->len + more)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	for (size_t want = 512;;) {
		if (!sb_reserve(b, want))
			return;
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		want = (size_t)n + 1;
	}
}

/* --- values --- */

/* A GUID from 128 bits. */
static void guid_from(uint64_t a, uint64_t b, char out[37])
{
	snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
	         (unsigned)((a >> 16) & 0xffff), (unsigned)(a & 0xfff),
	         (unsigned)(((b >> 48) & 0x3fff) | 0x8000),
	         (unsigned long long)(b & 0xffffffffffffULL));
}

static void guid(struct gen *g, char out[37])
{
	uint64_t a = rnd(g);
	guid_from(a, rnd(g), out);
}

/* A GUID that is always the same for (what, key). */
static void guid_of(uint64_t what, uint64_t key, char out[37])
{
	uint64_t a = mix64(what * 0x100000001b3ULL + key);
	guid_from(a, mix64(a ^ what), out);
}

/* Exchange item ids are long base64 strings. */
static void item_id(struct gen *g, const char *prefix, size_t n, char *out)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t p = strlen(prefix);
	memcpy(out, prefix, p);
	for (size_t i = 0; i < n; i++)
		out[p + i] = b64[below(g, 64)];
	out[p + n] = '\0';
}

static void account_of(uint32_t idx, struct acct *a)
{
	const size_t nf = N(first_names), nl = N(last_names);
	const char *f = first_names[idx % nf];
	const char *l = last_names[(idx / nf) % nl];
	uint32_t gen = (uint32_t)(idx / (nf * nl));
	const char *d = domains[mix64(idx) % N(domains)];
	char num[12] = "";
	if (gen > 0)
		snprintf(num, sizeof num, "%u", gen);
	a->idx = idx;
	snprintf(a->upn, sizeof a->upn, "%s.%s%s@%s", f, l, num, d);
	snprintf(a->cased, sizeof a->cased, "%c%s.%c%s%s@%c%s", f[0] & ~0x20, f + 1, l[0] & ~0x20,
	         l + 1, num, d[0] & ~0x20, d + 1);
	snprintf(a->name, sizeof a->name, "%c%s %c%s", f[0] & ~0x20, f + 1, l[0] & ~0x20, l + 1);
	size_t dl = strcspn(d, ".");
	snprintf(a->tenant, sizeof a->tenant, "%.*s.onmicrosoft.com", (int)dl, d);
	guid_of(1, mix64(dl) ^ (uint64_t)d[0], a->org_id);
	uint64_t h = mix64(idx + 0x5151);
	snprintf(a->puid, sizeof a->puid, "1003%012llX",
	         (unsigned long long)(h & 0xffffffffffffULL));
	snprintf(a->sid, sizeof a->sid, "S-1-5-21-%u-%u-%u-%u", (unsigned)(h >> 40) + 1000000000u,
	         (unsigned)(h >> 20 & 0xfffff) + 100000000u, 1122334455u, 1000u + idx);
}

/* The text of source address number idx: mostly IPv4 from public ranges,
 * some IPv6; port appends ":port" (IPv6 in brackets) as Exchange writes. */
static void ip_of(uint32_t idx, unsigned port, char *out, size_t size)
{
	static const unsigned char first_octet[] = {13, 20,  23,  40,  52,  81,
	                                            91, 104, 113, 146, 185, 203};
	uint64_t h = mix64((uint64_t)idx * 2654435761u + 17);
	if (h % 100 < 12) {
		char v6[48];
		snprintf(v6, sizeof v6, "2603:10%02x:%x:%x::%x", (unsigned)(h >> 8 & 0xff),
		         (unsigned)(h >> 16 & 0xffff), (unsigned)(h >> 32 & 0xfff),
		         (unsigned)(h >> 44 & 0xffff));
		if (port)
			snprintf(out, size, "[%s]:%u", v6, port);
		else
			snprintf(out, size, "%s", v6);
		return;
	}
	char v4[16];
	snprintf(v4, sizeof v4, "%u.%u.%u.%u", first_octet[(h >> 8) % sizeof first_octet],
	         (unsigned)(h >> 16 & 0xff), (unsigned)(h >> 24 & 0xff),
	         (unsigned)(h >> 32) % 254 + 1);
	if (port)
		snprintf(out, size, "%s:%u", v4, port);
	else
		snprintf(out, size, "%s", v4);
}

/* Event time as text; frac_digits 0 (none), 3 or 7; z appends "Z". */
static void time_of(int64_t ms, int frac_digits, bool z, char *out, size_t size)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
	unsigned frac = (unsigned)(ms % 1000);
	if (frac_digits == 3)
		n += (size_t)snprintf(out + n, size - n, ".%03u", frac);
	else if (frac_digits == 7)
		n += (size_t)snprintf(out + n, size - n, ".%03u%04u", frac, frac * 7 % 10000);
	if (z)
		snprintf(out + n, size - n, "Z");
}

/* --- records --- */

static void put_aad_login(struct gen *g, const struct acct *a, const char *ip, bool failed)
{
	char t[40], id[37], ukey[37], s1[37];
	unsigned app = below(g, (uint32_t)N(aad_apps));
	unsigned f = below(g, (uint32_t)N(failures));
	time_of(g->t_ms, 0, false, t, sizeof t);
	guid(g, id);
	guid(g, s1);
	guid_of(2, a->idx, ukey);
	sb_printf(g->b,
	          "{\"CreationTime\":\"%s\",\"Id\":\"%s\",\"Operation\":\"%s\","
	          "\"OrganizationId\":\"%s\",\"RecordType\":15,\"ResultStatus\":\"Success\","
	          "\"UserKey\":\"%s\",\"UserType\":0,\"Version\":1,"
	          "\"Workload\":\"AzureActiveDirectory\",\"ClientIP\":\"%s\",\"ObjectId\":\"%s\","
	          "\"UserId\":\"%s\",\"AzureActiveDirectoryEventType\":1,"
	          "\"ExtendedProperties\":[{\"Name\":\"ResultStatusDetail\",\"Value\":\"%s\"},"
	          "{\"Name\":\"UserAgent\",\"Value\":\"%s\"},"
	          "{\"Name\":\"RequestType\",\"Value\":\"%s\"}],\"ModifiedProperties\":[],"
	          "\"Actor\":[{\"ID\":\"%s\",\"Type\":0},{\"ID\":\"%s\",\"Type\":5}],"
	          "\"ActorContextId\":\"%s\",\"ActorIpAddress\":\"%s\",\"InterSystemsId\":\"%s\","
	          "\"SupportTicketId\":\"\","
	          "\"Target\":[{\"ID\":\"%s\",\"Type\":0}],\"TargetContextId\":\"%s\","
	          "\"ApplicationId\":\"%s\",\"ErrorNumber\":\"%d\"%s%s%s}",
	          t, id, failed ? "UserLoginFailed" : "UserLoggedIn", a->org_id, ukey, ip,
	          aad_apps[app][0], a->upn, failed ? "Success" : "Redirect", PICK(g, user_agents),
	          failed ? "Login:login" : "OAuth2:Authorize", ukey, a->upn, a->org_id, ip, s1,
	          aad_apps[app][0], a->org_id, aad_apps[app][0], failed ? failures[f].code : 0,
	          failed ? ",\"LogonError\":\"" : "", failed ? failures[f].logon_error : "",
	          failed ? "\"" : "");
}

/* Fields every Exchange mailbox audit record carries after Workload. */
static void put_exo_common(struct gen *g, const struct acct *a, const char *ip, const char *bare_ip,
                           const char *client_info)
{
	char mbx[37];
	guid_of(3, a->idx, mbx);
	sb_printf(g->b,
	          "\"ClientIP\":\"%s\",\"UserId\":\"%s\",\"ClientIPAddress\":\"%s\","
	          "\"ClientInfoString\":\"%s\",\"ExternalAccess\":false,\"InternalLogonType\":0,"
	          "\"LogonType\":0,\"MailboxGuid\":\"%s\",\"MailboxOwnerSid\":\"%s\","
	          "\"MailboxOwnerUPN\":\"%s\",\"OrganizationName\":\"%s\","
	          "\"OriginatingServer\":\"SG2PR04MB%04u (15.20.7452.000)\"",
	          ip, a->upn, bare_ip, client_info, mbx, a->sid, a->upn, a->tenant,
	          (unsigned)(a->idx % 9000) + 1000);
}

static void put_exo_head(struct gen *g, const struct acct *a, const char *op, int record_type)
{
	char t[40], id[37];
	time_of(g->t_ms, 0, false, t, sizeof t);
	guid(g, id);
	sb_printf(g->b,
	          "{\"CreationTime\":\"%s\",\"Id\":\"%s\",\"Operation\":\"%s\","
	          "\"OrganizationId\":\"%s\",\"RecordType\":%d,\"ResultStatus\":\"Succeeded\","
	          "\"UserKey\":\"%s\",\"UserType\":0,\"Version\":1,\"Workload\":\"Exchange\",",
	          t, id, op, a->org_id, record_type, a->puid);
}

static void put_exo_send(struct gen *g, const struct acct *a, const char *ip, const char *bare_ip)
{
	char item[96], folder[64];
	put_exo_head(g, a, "Send", 2);
	put_exo_common(g, a, ip, bare_ip, PICK(g, client_infos));
	item_id(g, "RgAAAAD", 48, item);
	item_id(g, "LgAAAAD", 40, folder);
	bool self_named = chance(g, 2); /* the spoofing pattern of the incident */
	sb_printf(g->b,
	          ",\"Item\":{\"Id\":\"%s\",\"InternetMessageId\":\"<SG2PR04MB%04u%08X@"
	          "SG2PR04MB%04u.apcprd04.prod.outlook.com>\",\"ParentFolder\":{\"Id\":\"%s\","
	          "\"Path\":\"%s\"},\"SizeInBytes\":%u,\"Subject\":\"%s\"},"
	          "\"SaveToSentItems\":%s,\"LogonUserDisplayName\":\"%s\"",
	          item, (unsigned)(a->idx % 9000) + 1000, (unsigned)rnd(g),
	          (unsigned)(a->idx % 9000) + 1000, folder, PICK(g, sent_folders),
	          2000 + below(g, 60000), PICK(g, subjects), chance(g, 95) ? "true" : "false",
	          a->name);
	static const unsigned rcpt_counts[] = {1, 1, 1, 1, 2, 2, 3, 4};
	unsigned n = PICK(g, rcpt_counts);
	sb_printf(g->b, ",\"recipientCount\":%u,\"recipientList\":[", n);
	for (unsigned i = 0; i < n; i++) {
		struct acct r;
		account_of(zipf(g), &r);
		sb_printf(g->b, "%s{\"Address\":\"%s\",\"Name\":\"%s\"}", i ? "," : "", r.upn,
		          self_named ? a->name : r.name);
	}
	sb_printf(g->b, "]}");
}

static void put_exo_access(struct gen *g, const struct acct *a, const char *ip, const char *bare_ip)
{
	char folder[64];
	put_exo_head(g, a, "MailItemsAccessed", 50);
	put_exo_common(g, a, ip, bare_ip, PICK(g, client_infos));
	item_id(g, "LgAAAAD", 40, folder);
	unsigned n = 1 + below(g, 2);
	sb_printf(g->b,
	          ",\"OperationProperties\":[{\"Name\":\"MailAccessType\",\"Value\":\"Bind\"},"
	          "{\"Name\":\"IsThrottled\",\"Value\":\"False\"}],"
	          "\"Folders\":[{\"FolderItems\":[");
	for (unsigned i = 0; i < n; i++)
		sb_printf(g->b,
		          "%s{\"InternetMessageId\":\"<%08X%04X@SG2PR04MB%04u.apcprd04.prod."
		          "outlook.com>\"}",
		          i ? "," : "", (unsigned)rnd(g), below(g, 0x10000), 1000 + below(g, 9000));
	sb_printf(g->b, "],\"Id\":\"%s\",\"Path\":\"\\\\Inbox\"}],\"OperationCount\":%u}", folder,
	          n);
}

static void put_spo_file(struct gen *g, const struct acct *a, const char *ip)
{
	char t[40], id[37], corr[37], list[37], site[37], sess[37];
	time_of(g->t_ms, 0, false, t, sizeof t);
	guid(g, id);
	guid(g, corr);
	guid(g, sess);
	unsigned s = below(g, (uint32_t)N(sites));
	unsigned f = below(g, (uint32_t)N(files));
	guid_of(4, s, list);
	guid_of(5, s, site);
	const char *host = a->tenant; /* "contoso.onmicrosoft.com" -> "contoso" */
	int hl = (int)strcspn(host, ".");
	sb_printf(g->b,
	          "{\"CreationTime\":\"%s\",\"Id\":\"%s\",\"Operation\":\"FileAccessed\","
	          "\"OrganizationId\":\"%s\",\"RecordType\":6,\"UserKey\":\"i:0h.f|membership|"
	          "%s@live.com\",\"UserType\":0,\"Version\":1,\"Workload\":\"SharePoint\","
	          "\"ClientIP\":\"%s\",\"ObjectId\":\"https://%.*s.sharepoint.com/sites/%s/"
	          "Shared Documents/%s\",\"UserId\":\"%s\",\"AppAccessContext\":{"
	          "\"AADSessionId\":\"%s\",\"CorrelationId\":\"%s\"},\"CorrelationId\":\"%s\","
	          "\"EventSource\":\"SharePoint\",\"ItemType\":\"File\",\"ListId\":\"%s\","
	          "\"Site\":\"%s\",\"UserAgent\":\"%s\","
	          "\"SourceFileExtension\":\"%s\",\"SiteUrl\":\"https://%.*s.sharepoint.com/sites/"
	          "%s/\",\"SourceFileName\":\"%s\",\"SourceRelativeUrl\":\"Shared Documents\"}",
	          t, id, a->org_id, a->puid, ip, hl, host, sites[s], files[f][0], a->upn, sess,
	          corr, corr, list, site, PICK(g, user_agents), files[f][1], hl, host, sites[s],
	          files[f][0]);
}

static void put_entra_signin(struct gen *g, const struct acct *a, const char *ip)
{
	char t[40], created[40], id[37], corr[37];
	time_of(g->t_ms, 7, true, t, sizeof t);
	time_of(g->t_ms - 1000 - below(g, 3000), 7, true, created, sizeof created);
	guid(g, id);
	guid(g, corr);
	unsigned app = below(g, (uint32_t)N(aad_apps));
	unsigned pl = (unsigned)(mix64(a->idx + 7) % N(places));
	if (chance(g, 5))
		pl = below(g, (uint32_t)N(places)); /* travel, or an attacker */
	bool failed = chance(g, 12);
	unsigned f = below(g, (uint32_t)N(failures));
	int code = failed ? failures[f].code : 0;
	sb_printf(g->b,
	          "{\"time\":\"%s\",\"resourceId\":\"/tenants/%s/providers/Microsoft.aadiam\","
	          "\"operationName\":\"Sign-in activity\",\"operationVersion\":\"1.0\","
	          "\"category\":\"SignInLogs\",\"tenantId\":\"%s\",\"resultType\":\"%d\","
	          "\"resultDescription\":\"%s\",\"durationMs\":0,"
	          "\"callerIpAddress\":\"%s\",\"correlationId\":\"%s\",\"identity\":\"%s\","
	          "\"Level\":4,\"location\":\"%s\",\"properties\":{\"id\":\"%s\","
	          "\"createdDateTime\":\"%s\",\"userDisplayName\":\"%s\","
	          "\"userPrincipalName\":\"%s\",\"appId\":\"%s\","
	          "\"appDisplayName\":\"%s\",\"ipAddress\":\"%s\",\"clientAppUsed\":\"%s\","
	          "\"userAgent\":\"%s\",\"conditionalAccessStatus\":\"%s\","
	          "\"isInteractive\":%s,\"status\":{\"errorCode\":%d%s%s%s},"
	          "\"location\":{\"city\":\"%s\",\"state\":\"%s\",\"countryOrRegion\":\"%s\","
	          "\"geoCoordinates\":{\"latitude\":%.4f,\"longitude\":%.4f}},"
	          "\"riskLevelAggregated\":\"none\",\"tokenIssuerType\":\"AzureAD\"}}",
	          t, a->org_id, a->org_id, code, failed ? failures[f].reason : "", ip, corr,
	          a->name, places[pl].country, id, created, a->name, a->cased, aad_apps[app][0],
	          aad_apps[app][1], ip, PICK(g, client_apps), PICK(g, user_agents),
	          failed ? "notApplied" : "success", chance(g, 80) ? "true" : "false", code,
	          failed ? ",\"failureReason\":\"" : "", failed ? failures[f].reason : "",
	          failed ? "\"" : "", places[pl].city, places[pl].state, places[pl].country,
	          places[pl].lat, places[pl].lon);
}

static void put_msgtrace(struct gen *g, const struct acct *a, const char *ip)
{
	char t[40], day[40], next[40], mtid[37];
	struct acct r;
	account_of(zipf(g), &r);
	time_of(g->t_ms, 3, true, t, sizeof t);
	time_of(g->t_ms - g->t_ms % 86400000, 0, true, day, sizeof day);
	time_of(g->t_ms - g->t_ms % 86400000 + 86400000, 0, true, next, sizeof next);
	guid(g, mtid);
	sb_printf(g->b,
	          "{\"Organization\":\"%s\",\"MessageId\":\"<%08X.%u@%s>\",\"Received\":\"%s\","
	          "\"SenderAddress\":\"%s\",\"RecipientAddress\":\"%s\",\"Subject\":\"%s\","
	          "\"Status\":\"%s\",\"ToIP\":\"\",\"FromIP\":\"%s\",\"Size\":%u,"
	          "\"MessageTraceId\":\"%s\",\"StartDate\":\"%s\",\"EndDate\":\"%s\",\"Index\":%u}",
	          a->tenant, (unsigned)rnd(g), below(g, 100000), strchr(a->upn, '@') + 1, t, a->upn,
	          chance(g, 70) ? r.upn : "partner.desk@example.org", PICK(g, subjects),
	          PICK(g, trace_status), ip, 2000 + below(g, 200000), mtid, day, next,
	          below(g, 5000));
}

static enum af_corpus_type pick_type(struct gen *g)
{
	unsigned u = below(g, 100);
	for (unsigned t = 0; t < AF_CORPUS_TYPE_COUNT; t++) {
		if (u < type_mix[t])
			return (enum af_corpus_type)t;
		u -= type_mix[t];
	}
	return AF_CORPUS_AAD_LOGIN_OK;
}

static void put_record(struct gen *g, enum af_corpus_type type)
{
	struct acct a;
	account_of(zipf(g), &a);
	/* Source addresses share the accounts' Zipf law, drawn independently:
	 * a few busy egress addresses, a long tail. */
	uint32_t ip_idx = zipf(g);
	char ip[64], bare_ip[64];
	ip_of(ip_idx, 0, bare_ip, sizeof bare_ip);
	switch (type) {
	case AF_CORPUS_AAD_LOGIN_OK: put_aad_login(g, &a, bare_ip, false); break;
	case AF_CORPUS_AAD_LOGIN_FAILED: put_aad_login(g, &a, bare_ip, true); break;
	case AF_CORPUS_EXO_SEND:
	case AF_CORPUS_EXO_MAIL_ACCESS:
		ip_of(ip_idx, chance(g, 30) ? 1024 + below(g, 60000) : 0, ip, sizeof ip);
		if (type == AF_CORPUS_EXO_SEND)
			put_exo_send(g, &a, ip, bare_ip);
		else
			put_exo_access(g, &a, ip, bare_ip);
		break;
	case AF_CORPUS_SPO_FILE_ACCESS: put_spo_file(g, &a, bare_ip); break;
	case AF_CORPUS_ENTRA_SIGNIN: put_entra_signin(g, &a, bare_ip); break;
	case AF_CORPUS_MSGTRACE: put_msgtrace(g, &a, bare_ip); break;
	case AF_CORPUS_TYPE_COUNT: break;
	}
}

af_err_t af_corpus_init(struct af_corpus *c, const struct af_corpus_opts *opts, char *errstr,
                        size_t errstr_size)
{
	af_err_t err = AF_E_NOMEM;
	struct sbuf b = {0};
	double *cdf = NULL;

	memset(c, 0, sizeof(*c));
	if (opts->events == 0 || opts->accounts == 0) {
		snprintf(errstr, errstr_size, "corpus: events and accounts must be at least 1");
		return AF_E_INVALID;
	}
	cdf = malloc(opts->accounts * sizeof(*cdf));
	c->off = malloc(opts->events * sizeof(*c->off));
	c->len = malloc(opts->events * sizeof(*c->len));
	c->type = malloc(opts->events * sizeof(*c->type));
	if (!cdf || !c->off || !c->len || !c->type)
		goto cleanup;

	double sum = 0;
	for (uint32_t i = 0; i < opts->accounts; i++)
		cdf[i] = sum += 1.0 / (double)(i + 1);
	for (uint32_t i = 0; i < opts->accounts; i++)
		cdf[i] /= sum;

	struct gen g = {
	    .rng = opts->seed,
	    .zipf = cdf,
	    .accounts = opts->accounts,
	    .t_ms = CORPUS_EPOCH_MS,
	    .b = &b,
	};
	for (size_t i = 0; i < opts->events; i++) {
		g.t_ms += below(&g, 2000);
		enum af_corpus_type type = pick_type(&g);
		size_t start = b.len;
		put_record(&g, type);
		if (!sb_reserve(&b, AF_CORPUS_PADDING))
			goto cleanup;
		size_t len = b.len - start;
		b.p[b.len] = '\n';
		memset(b.p + b.len + 1, ' ', AF_CORPUS_PADDING - 1);
		b.len += AF_CORPUS_PADDING;
		c->off[i] = start;
		c->len[i] = (uint32_t)len;
		c->type[i] = (uint8_t)type;
		c->bytes += len;
		if (len > c->max_len)
			c->max_len = len;
		c->per_type[type]++;
	}
	c->buf = b.p;
	c->buf_len = b.len;
	c->count = opts->events;
	b.p = NULL;
	err = AF_OK;
cleanup:
	free(cdf);
	free(b.p);
	if (err != AF_OK) {
		snprintf(errstr, errstr_size, "corpus: out of memory for %zu records",
		         opts->events);
		af_corpus_fini(c);
	}
	return err;
}

void af_corpus_fini(struct af_corpus *c)
{
	free(c->buf);
	free(c->off);
	free(c->len);
	free(c->type);
	memset(c, 0, sizeof(*c));
}
