/* test_syslog.c - the syslog sink against real listeners on loopback and on
 * Unix sockets in a scratch directory: exact RFC 5424 messages (checked
 * against the grammar as well), structured-data escaping, octet-counted
 * TCP frames read back in pieces, partial writes, a receiver that goes away
 * and comes back, datagram truncation at a UTF-8 boundary, back-pressure,
 * failure counts and bad targets.
 *
 * Waits on sockets are bounded (5 s, or a bounded number of polls) so that a
 * broken sink fails a test instead of hanging it; no test asserts timing.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sinks/alert_out.h"
#include "sinks/jsonw.h"
#include "sinks/syslog.h"
#include "tests/sinks/sinks_test.h"

#define AF_BOM     "\xEF\xBB\xBF"
#define AF_WAIT_MS 5000
#define AF_POLLS   500

static struct af_test_dir t;
static char err[512];
static char got[1 << 17];
static char want[1 << 17];
static char target[160]; /* the sink's target, for af_opts */

static void af_setup(void)
{
	af_test_dir_make(&t, "syslog.sock");
	err[0] = '\0';
}

static void af_teardown(void)
{
	af_test_dir_remove(&t);
}

TestSuite(syslog, .init = af_setup, .fini = af_teardown);

/* --- alerts (af_test_alert, sinks_test.h) --- */

/* The alert's native JSON, as alert_out.h writes it. */
static const char *af_json(const struct af_alert *a)
{
	static char buf[1 << 14];
	static char text[1 << 14];
	struct af_jsonw w;

	af_jsonw_init(&w, buf, sizeof buf, NULL);
	af_alert_out_format(&w, a, AF_OUTPUT_NATIVE);
	memcpy(text, w.buf, w.len);
	text[w.len] = '\0';
	return text;
}

/* --- the sink --- */

/* Options every test starts from: a fixed hostname, short backoff. */
static void af_opts(struct af_syslog_opts *o, const char *to)
{
	af_syslog_opts_init(o);
	o->target = to;
	o->hostname = "testhost";
	o->backoff_min_ms = 5;
	o->backoff_max_ms = 20;
}

static struct af_syslog *af_open(const struct af_syslog_opts *o)
{
	struct af_syslog *s = NULL;

	cr_assert_eq(af_syslog_open(o, &s, err, sizeof err), AF_OK, "%s", err);
	cr_assert_not_null(s);
	return s;
}

static void af_close(struct af_syslog *s)
{
	cr_assert_eq(af_syslog_close(s, AF_WAIT_MS, err, sizeof err), AF_OK, "%s", err);
}

/* Queue text as a raw message at time 0; it must be taken. */
static void af_send_text(struct af_syslog *s, const char *msgid, int severity, const char *text)
{
	cr_assert_eq(af_syslog_send_raw(s, msgid, severity, text, strlen(text), 0), AF_OK, "%s",
	             text);
}

/* The last message received (got) holds part. */
static void af_assert_got(const char *part)
{
	cr_assert_not_null(strstr(got, part), "no \"%s\" in %s", part, got);
}

/* af_syslog_open refuses o with AF_E_CONFIG, leaves no handle, and the
 * error says reason. */
static void af_assert_rejected(const struct af_syslog_opts *o, const char *reason)
{
	static char dummy;
	struct af_syslog *s = (struct af_syslog *)&dummy;

	err[0] = '\0';
	cr_assert_eq(af_syslog_open(o, &s, err, sizeof err), AF_E_CONFIG, "%s: %s", o->target, err);
	cr_assert_null(s);
	cr_assert_not_null(strstr(err, reason), "%s: %s", o->target, err);
}

static struct af_syslog_stats af_stats(const struct af_syslog *s)
{
	struct af_syslog_stats st;

	af_syslog_stats(s, &st);
	return st;
}

/* The header of a message with no structured data, as the sink writes it
 * with af_opts, into buf; returns buf. */
static char *af_head(char *buf, int pri, const char *ts, const char *msgid)
{
	sprintf(buf, "<%d>1 %s testhost auditflow %ld %s -", pri, ts, (long)getpid(), msgid);
	return buf;
}

/* --- listeners --- */

/* A socket bound to loopback (port 0: any), listening if a stream, or -1
 * when the family is not available. *port gets the bound port. */
static int af_try_bind(int family, int type, int port, int rcvbuf, int *bound)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd = socket(family, type | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		in->sin_port = htons((uint16_t)port);
		len = sizeof *in;
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		in6->sin6_port = htons((uint16_t)port);
		len = sizeof *in6;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
	    (type == SOCK_STREAM && listen(fd, 8) != 0)) {
		close(fd);
		return -1;
	}
	len = sizeof ss;
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*bound = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
	                                 : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static int af_bind(int family, int type, int port, int rcvbuf, int *bound)
{
	int fd = af_try_bind(family, type, port, rcvbuf, bound);

	cr_assert_geq(fd, 0, "cannot bind a loopback socket: %s", strerror(errno));
	return fd;
}

/* A Unix socket bound at t.path (listening if a stream). */
static int af_bind_unix(int type)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	strcpy(un.sun_path, t.path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&un, sizeof un), 0, "%s", strerror(errno));
	if (type == SOCK_STREAM)
		cr_assert_eq(listen(fd, 8), 0);
	return fd;
}

static void af_wait_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	cr_assert_eq(poll(&p, 1, AF_WAIT_MS), 1, "nothing arrived");
}

static int af_accept(int listener)
{
	af_wait_readable(listener);
	int fd = accept(listener, NULL, NULL);
	cr_assert_geq(fd, 0, "%s", strerror(errno));
	return fd;
}

/* One datagram into got (NUL-terminated); returns its length. */
static size_t af_recv_dgram(int fd)
{
	af_wait_readable(fd);
	ssize_t n = recv(fd, got, sizeof got - 1, 0);
	cr_assert_gt(n, 0);
	got[n] = '\0';
	return (size_t)n;
}

/* One octet-counted frame from a stream into got (NUL-terminated), read at
 * most chunk bytes at a time, so frames arrive split across reads; the
 * length is read byte by byte. Returns the message's length. */
static size_t af_read_frame(int fd, size_t chunk)
{
	size_t len = 0, have = 0, digits = 0;
	char c;

	for (;;) {
		af_wait_readable(fd);
		cr_assert_eq(recv(fd, &c, 1, 0), 1, "the stream ended inside a frame length");
		if (c == ' ')
			break;
		cr_assert(isdigit((unsigned char)c) && (digits > 0 || c != '0'),
		          "bad frame length byte 0x%02x", (unsigned char)c);
		len = len * 10 + (size_t)(c - '0');
		digits++;
	}
	cr_assert(digits > 0 && len < sizeof got);
	while (have < len) {
		size_t want_n = len - have < chunk ? len - have : chunk;
		af_wait_readable(fd);
		ssize_t n = recv(fd, got + have, want_n, 0);
		cr_assert_gt(n, 0, "the stream ended inside a frame");
		have += (size_t)n;
	}
	got[len] = '\0';
	return len;
}

/* A UDP receiver on a fresh loopback port (returned), named in target. */
static int af_udp_receiver(void)
{
	int port, fd = af_bind(AF_INET, SOCK_DGRAM, 0, 0, &port);

	snprintf(target, sizeof target, "udp://127.0.0.1:%d", port);
	return fd;
}

/* A UDP receiver (*fd), and o aimed at it. */
static void af_opts_udp(struct af_syslog_opts *o, int *fd)
{
	*fd = af_udp_receiver();
	af_opts(o, target);
}

/* A UDP receiver (*fd), and a sink with af_opts aimed at it. */
static struct af_syslog *af_open_udp(int *fd)
{
	struct af_syslog_opts o;

	af_opts_udp(&o, fd);
	return af_open(&o);
}

/* A TCP listener on a fresh loopback port (returned; *port gets the port;
 * rcvbuf as af_bind), and o aimed at it. */
static int af_opts_tcp(struct af_syslog_opts *o, int rcvbuf, int *port)
{
	int l = af_bind(AF_INET, SOCK_STREAM, 0, rcvbuf, port);

	snprintf(target, sizeof target, "tcp://127.0.0.1:%d", *port);
	af_opts(o, target);
	return l;
}

/* o aimed at scheme://t.path. */
static void af_opts_unix(struct af_syslog_opts *o, const char *scheme)
{
	snprintf(target, sizeof target, "%s://%s", scheme, t.path);
	af_opts(o, target);
}

/* A sink with af_opts aimed at scheme://t.path. */
static struct af_syslog *af_open_unix(const char *scheme)
{
	struct af_syslog_opts o;

	af_opts_unix(&o, scheme);
	return af_open(&o);
}

/* --- RFC 5424 grammar --- */

struct af_5424 {
	int pri;
	char ts[64], host[300], app[64], procid[160], msgid[64];
	bool sd_nil;
	char sd_id[64];
	int nparams;
	char names[8][40];
	char values[8][512];
	bool bom;
	const char *msg;
	size_t msg_len;
};

/* A header field: 1..max printable US-ASCII bytes, then SP. */
static void af_token(const char *m, size_t len, size_t *i, char *out, size_t max)
{
	size_t n = 0;

	while (*i < len && m[*i] != ' ') {
		cr_assert(m[*i] > ' ' && m[*i] < 0x7f, "byte 0x%02x in a header field",
		          (unsigned char)m[*i]);
		cr_assert_lt(n, max, "a header field is longer than %zu", max);
		out[n++] = m[(*i)++];
	}
	cr_assert(n > 0 && *i < len, "empty header field or no SP after it");
	out[n] = '\0';
	(*i)++;
}

/* An SD-NAME: 1..32 printable US-ASCII but '=', SP, ']', '"'. */
static void af_sd_name(const char *m, size_t len, size_t *i, char *out)
{
	size_t n = 0;

	while (*i < len && m[*i] != ' ' && m[*i] != '=' && m[*i] != ']') {
		cr_assert(m[*i] > ' ' && m[*i] < 0x7f && m[*i] != '"');
		cr_assert_lt(n, 32);
		out[n++] = m[(*i)++];
	}
	cr_assert_gt(n, 0);
	out[n] = '\0';
}

/* Parse m[0..len) by RFC 5424's ABNF (one SD-ELEMENT at most, as the sink
 * writes); any deviation fails the test. PARAM-VALUEs come back unescaped. */
static void af_parse_5424(const char *m, size_t len, struct af_5424 *p)
{
	static const char mask[] = "DDDD-DD-DDTDD:DD:DD.DDDDDDZ";
	size_t i = 1, nd = 0;

	memset(p, 0, sizeof *p);
	cr_assert(len > 0 && m[0] == '<', "no PRI");
	while (i < len && isdigit((unsigned char)m[i]) && nd < 3) {
		p->pri = p->pri * 10 + (m[i++] - '0');
		nd++;
	}
	cr_assert(nd > 0 && i < len && m[i] == '>' && p->pri <= 191, "bad PRI");
	i++;
	cr_assert(i + 2 <= len && m[i] == '1' && m[i + 1] == ' ', "VERSION is not 1");
	i += 2;
	af_token(m, len, &i, p->ts, sizeof p->ts - 1);
	cr_assert_eq(strlen(p->ts), strlen(mask), "TIMESTAMP %s", p->ts);
	for (size_t k = 0; mask[k] != '\0'; k++)
		cr_assert(mask[k] == 'D' ? isdigit((unsigned char)p->ts[k]) : p->ts[k] == mask[k],
		          "TIMESTAMP %s", p->ts);
	af_token(m, len, &i, p->host, 255);
	af_token(m, len, &i, p->app, 48);
	af_token(m, len, &i, p->procid, 128);
	af_token(m, len, &i, p->msgid, 32);
	cr_assert_lt(i, len, "no STRUCTURED-DATA");
	if (m[i] == '-') {
		p->sd_nil = true;
		i++;
	} else {
		cr_assert_eq(m[i++], '[', "STRUCTURED-DATA is neither - nor [");
		af_sd_name(m, len, &i, p->sd_id);
		while (i < len && m[i] == ' ') {
			char *v = p->values[p->nparams];
			size_t n = 0;
			cr_assert_lt(p->nparams, 8);
			i++;
			af_sd_name(m, len, &i, p->names[p->nparams]);
			cr_assert(i + 1 < len && m[i] == '=' && m[i + 1] == '"');
			for (i += 2; i < len && m[i] != '"'; i++) {
				if (m[i] == '\\' && i + 1 < len &&
				    (m[i + 1] == '"' || m[i + 1] == '\\' || m[i + 1] == ']'))
					i++;
				else
					cr_assert_neq(m[i], ']', "unescaped ] in a PARAM-VALUE");
				cr_assert_lt(n, 511);
				v[n++] = m[i];
			}
			cr_assert_lt(i, len, "unterminated PARAM-VALUE");
			cr_assert(af_jsonw_utf8_valid(v, n), "PARAM-VALUE is not UTF-8");
			v[n] = '\0';
			i++;
			p->nparams++;
		}
		cr_assert(i < len && m[i] == ']', "SD-ELEMENT not closed");
		i++;
	}
	if (i == len)
		return;
	cr_assert_eq(m[i++], ' ', "no SP before MSG");
	if (len - i >= 3 && memcmp(m + i, AF_BOM, 3) == 0) {
		p->bom = true;
		i += 3;
		cr_assert(af_jsonw_utf8_valid(m + i, len - i), "MSG after a BOM is not UTF-8");
	}
	p->msg = m + i;
	p->msg_len = len - i;
}

/* One alert sent over UDP: af_udp_case sets up the alert (af_test_alert)
 * and the options (af_opts) for a test to change; af_udp_send sends it,
 * leaving the datagram in got and parsed in p. */
struct af_udp_case {
	struct af_alert a;
	struct af_syslog_opts o;
	struct af_5424 p;
};

static struct af_udp_case *af_udp_case(void)
{
	static struct af_udp_case c;

	af_test_alert(&c.a);
	af_opts(&c.o, NULL);
	return &c;
}

/* The target is set here. */
static void af_udp_send(struct af_udp_case *c)
{
	int fd = af_udp_receiver();

	c->o.target = target;
	struct af_syslog *s = af_open(&c->o);
	cr_assert_eq(af_syslog_send_alert(s, &c->a), AF_OK);
	size_t n = af_recv_dgram(fd);
	af_close(s);
	close(fd);
	af_parse_5424(got, n, &c->p);
}

/* --- messages --- */

Test(syslog, sends_an_alert_as_one_rfc5424_datagram_over_udp)
{
	struct af_udp_case *c = af_udp_case();

	af_udp_send(c);
	snprintf(want, sizeof want,
	         "<131>1 2025-08-25T05:58:00.000000Z testhost auditflow %ld new_country "
	         "[auditflow@32473 id=\"00000abcdef01234\" rule=\"new_country\" "
	         "account=\"user@example.com\"] " AF_BOM "%s",
	         (long)getpid(), af_json(&c->a));
	cr_assert_str_eq(got, want);
	cr_assert_eq(c->p.pri, 16 * 8 + 3);
	cr_assert(c->p.bom);
	cr_assert_eq(c->p.msg_len, strlen(af_json(&c->a)));
}

Test(syslog, maps_alert_severities_to_syslog_severities)
{
	cr_assert_eq(af_syslog_severity(AF_SEV_CRITICAL), 2);
	cr_assert_eq(af_syslog_severity(AF_SEV_HIGH), 3);
	cr_assert_eq(af_syslog_severity(AF_SEV_MEDIUM), 4);
	cr_assert_eq(af_syslog_severity(AF_SEV_LOW), 5);
	cr_assert_eq(af_syslog_severity((enum af_severity)200), 5);
}

Test(syslog, puts_the_configured_facility_and_the_alert_severity_in_the_pri)
{
	struct af_udp_case *c = af_udp_case();

	c->a.severity = AF_SEV_CRITICAL;
	c->o.facility = 10; /* authpriv */
	af_udp_send(c);
	cr_assert_eq(c->p.pri, 10 * 8 + 2);
	cr_assert(strncmp(got, "<82>1 ", 6) == 0, "%s", got);
}

Test(syslog, writes_the_event_time_in_utc_with_microseconds)
{
	struct af_udp_case *c = af_udp_case();

	c->a.ts_ns = AF_TS_2025_08_25_0558 + 123456789;
	af_udp_send(c);
	cr_assert_str_eq(c->p.ts, "2025-08-25T05:58:00.123456Z");
}

Test(syslog, escapes_quote_backslash_and_bracket_in_structured_data)
{
	struct af_udp_case *c = af_udp_case();
	const char *nasty = "ev\"il]\\x@example.com";

	strcpy(c->a.account, nasty);
	af_udp_send(c);
	af_assert_got(" account=\"ev\\\"il\\]\\\\x@example.com\"]");
	cr_assert_str_eq(c->p.sd_id, "auditflow@32473");
	cr_assert_eq(c->p.nparams, 3);
	cr_assert_str_eq(c->p.names[0], "id");
	cr_assert_str_eq(c->p.values[0], "00000abcdef01234");
	cr_assert_str_eq(c->p.names[1], "rule");
	cr_assert_str_eq(c->p.values[1], "new_country");
	cr_assert_str_eq(c->p.names[2], "account");
	cr_assert_str_eq(c->p.values[2], nasty);
}

Test(syslog, replaces_invalid_utf8_in_a_structured_data_value)
{
	struct af_udp_case *c = af_udp_case();

	strcpy(c->a.account, "b\xff\x64\xc3\xa9"); /* \x64: d */
	af_udp_send(c);
	cr_assert_str_eq(c->p.values[2], "b\xef\xbf\xbd\x64\xc3\xa9");
}

Test(syslog, leaves_out_the_account_of_a_per_address_alert)
{
	struct af_udp_case *c = af_udp_case();

	c->a.account[0] = '\0';
	c->a.rule = "password_spray";
	af_udp_send(c);
	cr_assert_eq(c->p.nparams, 2);
	cr_assert_str_eq(c->p.msgid, "password_spray");
	cr_assert_str_eq(c->p.values[1], "password_spray");
}

Test(syslog, writes_no_structured_data_when_the_sd_id_is_null)
{
	struct af_udp_case *c = af_udp_case();
	char head[256];

	c->o.sd_id = NULL;
	af_udp_send(c);
	cr_assert(c->p.sd_nil);
	snprintf(want, sizeof want, "%s " AF_BOM "%s",
	         af_head(head, 131, "2025-08-25T05:58:00.000000Z", "new_country"), af_json(&c->a));
	cr_assert_str_eq(got, want);
}

Test(syslog, names_the_structured_data_with_a_configured_sd_id)
{
	struct af_udp_case *c = af_udp_case();

	c->o.sd_id = "alerts@1.3.6";
	af_udp_send(c);
	cr_assert_str_eq(c->p.sd_id, "alerts@1.3.6");
}

Test(syslog, leaves_out_the_bom_when_told_to)
{
	struct af_udp_case *c = af_udp_case();

	c->o.bom = false;
	af_udp_send(c);
	cr_assert_not(c->p.bom);
	cr_assert_eq(c->p.msg_len, strlen(af_json(&c->a)));
	cr_assert(memcmp(c->p.msg, af_json(&c->a), c->p.msg_len) == 0);
}

Test(syslog, writes_the_alert_in_the_configured_format)
{
	struct af_udp_case *c = af_udp_case();

	c->o.format = AF_OUTPUT_OCSF;
	af_udp_send(c);
	cr_assert(strncmp(c->p.msg, "{\"class_uid\":2004,", 18) == 0, "%s", c->p.msg);
}

Test(syslog, sends_raw_text_with_its_msgid_and_no_structured_data)
{
	char head[256];
	int fd;
	struct af_syslog *s = af_open_udp(&fd);

	cr_assert_eq(af_syslog_send_raw(s, "event", 6, "{\"a\":1}", 7, AF_TS_2025_08_25_0558),
	             AF_OK);
	cr_assert_eq(af_syslog_send_raw(s, NULL, 7, "", 0, AF_TS_2025_08_25_0558), AF_OK);
	af_recv_dgram(fd);
	snprintf(want, sizeof want, "%s " AF_BOM "{\"a\":1}",
	         af_head(head, 134, "2025-08-25T05:58:00.000000Z", "event"));
	cr_assert_str_eq(got, want);
	af_recv_dgram(fd);
	cr_assert_str_eq(got, af_head(head, 135, "2025-08-25T05:58:00.000000Z", "-"));
	af_close(s);
	close(fd);
}

Test(syslog, sends_no_bom_before_raw_text_that_is_not_utf8)
{
	char head[256];
	int fd;
	struct af_syslog *s = af_open_udp(&fd);

	af_send_text(s, "x", 5, "a\xff");
	size_t n = af_recv_dgram(fd);
	snprintf(want, sizeof want, "%s a\xff",
	         af_head(head, 133, "1970-01-01T00:00:00.000000Z", "x"));
	cr_assert_eq(n, strlen(want));
	cr_assert_str_eq(got, want);
	af_close(s);
	close(fd);
}

Test(syslog, rejects_a_raw_severity_out_of_range)
{
	int fd;
	struct af_syslog *s = af_open_udp(&fd);

	cr_assert_eq(af_syslog_send_raw(s, "x", 8, "a", 1, 0), AF_E_INVALID);
	cr_assert_eq(af_syslog_send_raw(s, "x", -1, "a", 1, 0), AF_E_INVALID);
	cr_assert_eq(af_stats(s).queued + af_stats(s).sent, 0);
	af_close(s);
	close(fd);
}

/* --- UDP --- */

Test(syslog, cuts_an_oversize_datagram_at_a_utf8_boundary_and_counts_it)
{
	struct af_syslog_opts o;
	char head[256], text[2000];
	int fd;

	/* ASCII, then "\xc3\xa9" (2 bytes each), lined up so that the byte
	 * budget for MSG ends inside one of them: the cut must step back. */
	af_head(head, 134, "1970-01-01T00:00:00.000000Z", "big");
	size_t budget = 480 - strlen(head) - 4; /* SP and BOM */
	size_t ascii = budget % 2 == 0 ? 1 : 2, tlen = ascii;
	memset(text, 'x', ascii);
	while (tlen + 2 <= sizeof text) {
		memcpy(text + tlen, "\xc3\xa9", 2);
		tlen += 2;
	}
	af_opts_udp(&o, &fd);
	o.max_msg = 480;
	struct af_syslog *s = af_open(&o);
	cr_assert_eq(af_syslog_send_raw(s, "big", 6, text, tlen, 0), AF_OK);
	size_t n = af_recv_dgram(fd);
	cr_assert_eq(n, 479, "%zu bytes: %s", n, got);
	snprintf(want, sizeof want, "%s " AF_BOM "%.*s", head, (int)(budget - 1), text);
	cr_assert_str_eq(got, want);
	cr_assert(af_jsonw_utf8_valid(got, n));
	cr_assert_eq(af_stats(s).truncated, 1);
	cr_assert_eq(af_stats(s).sent, 1);
	af_close(s);
	close(fd);
}

Test(syslog, counts_and_reports_udp_sends_the_kernel_refuses)
{
	struct af_syslog_opts o;
	int fd;

	af_opts_udp(&o, &fd);
	close(fd); /* nobody listens there now: ICMP port unreachable */
	struct af_syslog *s = af_open(&o);
	int sends = 0;
	while (af_stats(s).failed == 0 && sends < AF_POLLS) {
		af_send_text(s, "x", 5, "hello");
		sends++;
	}
	struct af_syslog_stats st = af_stats(s);
	cr_assert_geq(st.failed, 1);
	cr_assert_eq(st.sent + st.failed, (uint64_t)sends);
	cr_assert_eq(st.queued, 0);
	cr_assert_eq(af_syslog_poll(s, 0, err, sizeof err), AF_E_IO);
	cr_assert_not_null(strstr(err, "not delivered"), "%s", err);
	cr_assert_not_null(strstr(err, "Connection refused"), "%s", err);
	cr_assert_not_null(strstr(af_syslog_last_error(s), target), "%s", af_syslog_last_error(s));
	cr_assert_eq(af_syslog_poll(s, 0, err, sizeof err), AF_OK, "reported only once");
	cr_assert_eq(af_syslog_close(s, 0, err, sizeof err), AF_OK, "%s", err);
}

Test(syslog, sends_to_an_ipv6_address_in_brackets)
{
	struct af_syslog_opts o;
	int port, fd = af_try_bind(AF_INET6, SOCK_DGRAM, 0, 0, &port);

	if (fd < 0)
		cr_skip_test("no IPv6 loopback here");
	snprintf(target, sizeof target, "udp://[::1]:%d", port);
	af_opts(&o, target);
	struct af_syslog *s = af_open(&o);
	af_send_text(s, "v6", 6, "hi");
	af_recv_dgram(fd);
	af_assert_got(" v6 - " AF_BOM "hi");
	af_close(s);
	close(fd);
}

/* --- TCP --- */

Test(syslog, frames_tcp_messages_with_octet_counts_that_arrive_in_pieces)
{
	static struct af_alert a;
	struct af_syslog_opts o;
	struct af_5424 p;
	char head[256];
	int port, l = af_opts_tcp(&o, 0, &port);

	struct af_syslog *s = af_open(&o);
	af_test_alert(&a);
	for (int i = 0; i < 3; i++) {
		a.id = (uint64_t)i + 1;
		cr_assert_eq(af_syslog_send_alert(s, &a), AF_OK);
	}
	af_send_text(s, "multi", 6, "line 1\nline 2");
	cr_assert_eq(af_syslog_flush(s, AF_WAIT_MS, err, sizeof err), AF_OK, "%s", err);
	int c = af_accept(l);
	for (int i = 0; i < 3; i++) {
		size_t n = af_read_frame(c, 7);
		af_parse_5424(got, n, &p);
		a.id = (uint64_t)i + 1;
		cr_assert_eq(p.msg_len, strlen(af_json(&a)));
		cr_assert(memcmp(p.msg, af_json(&a), p.msg_len) == 0, "%s", got);
		cr_assert_eq(p.values[0][15], (char)('1' + i));
	}
	af_read_frame(c, 7);
	snprintf(want, sizeof want, "%s " AF_BOM "line 1\nline 2",
	         af_head(head, 134, "1970-01-01T00:00:00.000000Z", "multi"));
	cr_assert_str_eq(got, want);
	cr_assert_eq(af_stats(s).sent, 4);
	af_close(s);
	close(c);
	close(l);
}

Test(syslog, resolves_a_host_name_at_open)
{
	struct af_syslog_opts o;
	int port, l = af_bind(AF_INET, SOCK_STREAM, 0, 0, &port);

	snprintf(target, sizeof target, "tcp://localhost:%d", port);
	af_opts(&o, target);
	struct af_syslog *s = af_open(&o);
	af_send_text(s, "name", 6, "hi");
	cr_assert_eq(af_syslog_flush(s, AF_WAIT_MS, err, sizeof err), AF_OK, "%s", err);
	int c = af_accept(l);
	af_read_frame(c, 4096);
	af_assert_got(" name - " AF_BOM "hi");
	af_close(s);
	close(c);
	close(l);
}

/* Poll s (without waiting) and read c until total bytes have arrived into
 * buf; the waiting is on the receiving side, and gives up after AF_POLLS
 * waits in a row with nothing new. */
static void af_pump(struct af_syslog *s, int c, char *buf, size_t total)
{
	size_t have = 0;

	for (int idle = 0; have < total && idle < AF_POLLS; idle++) {
		struct pollfd p = {.fd = c, .events = POLLIN};
		(void)af_syslog_poll(s, 0, err, sizeof err);
		if (poll(&p, 1, 10) != 1)
			continue;
		ssize_t n = recv(c, buf + have, total - have, MSG_DONTWAIT);
		if (n > 0) {
			have += (size_t)n;
			idle = -1;
		}
	}
	cr_assert_eq(have, total, "only %zu of %zu bytes arrived", have, total);
}

/* A raw message of 8 MiB (beyond net.ipv4.tcp_wmem's 4 MiB cap) to a TCP
 * receiver with a 64 KiB receive buffer, so that it cannot be written at
 * once. af_big_send opens the sink and sends it; af_big_receive reads the
 * whole frame (want: its header, as the receiver should see it) and checks
 * it; af_big_free closes and frees. */
struct af_big {
	char *text, *buf;  /* the message; what arrived */
	size_t len, total; /* their lengths: the message's, the frame's */
	int port, l, c;    /* the listener, the accepted connection */
	struct af_syslog *s;
};

static void af_big_send(struct af_big *b)
{
	struct af_syslog_opts o;
	char head[256];

	b->len = (size_t)8 << 20;
	b->text = malloc(b->len);
	b->buf = malloc(b->len + 256);
	cr_assert(b->text != NULL && b->buf != NULL);
	for (size_t i = 0; i < b->len; i++)
		b->text[i] = (char)('a' + i % 26);
	af_head(head, 134, "1970-01-01T00:00:00.000000Z", "big");
	int n = snprintf(want, sizeof want, "%zu %s " AF_BOM, strlen(head) + 4 + b->len, head);
	b->total = (size_t)n + b->len;

	b->l = af_opts_tcp(&o, 1 << 16, &b->port);
	o.max_msg = (size_t)9 << 20;
	o.queue_bytes = (size_t)10 << 20;
	b->s = af_open(&o);
	b->c = af_accept(b->l);
	cr_assert_eq(af_syslog_send_raw(b->s, "big", 6, b->text, b->len, 0), AF_OK);
	cr_assert_eq(af_syslog_flush(b->s, 0, err, sizeof err), AF_E_AGAIN,
	             "8 MiB fitted in the socket buffers at once");
	cr_assert_gt(af_stats(b->s).queued_bytes, 0);
}

static void af_big_receive(struct af_big *b)
{
	af_pump(b->s, b->c, b->buf, b->total);
	size_t head = strlen(want);
	cr_assert(memcmp(b->buf, want, head) == 0, "frame header %.*s", (int)head, b->buf);
	cr_assert(memcmp(b->buf + head, b->text, b->len) == 0, "the message arrived changed");
	cr_assert_eq(af_stats(b->s).sent, 1);
}

static void af_big_free(struct af_big *b)
{
	af_close(b->s);
	free(b->text);
	free(b->buf);
	close(b->c);
	close(b->l);
}

Test(syslog, writes_a_message_larger_than_the_socket_buffers_in_pieces)
{
	struct af_big b;

	af_big_send(&b);
	af_big_receive(&b);
	cr_assert_eq(af_stats(b.s).truncated, 0);
	af_big_free(&b);
}

/* Poll s until stat(s) holds, a bounded number of times. */
#define AF_POLL_UNTIL(s, cond)                                                                     \
	do {                                                                                       \
		for (int i_ = 0; !(cond) && i_ < AF_POLLS; i_++)                                   \
			(void)af_syslog_poll((s), 10, err, sizeof err);                            \
		cr_assert(cond, "never happened: %s", #cond);                                      \
	} while (0)

Test(syslog, keeps_messages_in_order_while_the_tcp_receiver_is_away)
{
	struct af_syslog_opts o;
	char text[32];
	int port, again, l = af_opts_tcp(&o, 0, &port);

	struct af_syslog *s = af_open(&o);
	af_send_text(s, "m", 6, "message 0");
	cr_assert_eq(af_syslog_flush(s, AF_WAIT_MS, err, sizeof err), AF_OK, "%s", err);
	int c = af_accept(l);
	af_read_frame(c, 4096);
	af_assert_got("message 0");

	/* The receiver goes away altogether. */
	close(c);
	close(l);
	AF_POLL_UNTIL(s, af_stats(s).disconnects == 1);
	for (int i = 1; i <= 5; i++) {
		snprintf(text, sizeof text, "message %d", i);
		af_send_text(s, "m", 6, text);
	}
	cr_assert_eq(af_syslog_flush(s, 0, err, sizeof err), AF_E_AGAIN);
	cr_assert_eq(af_stats(s).queued, 5);
	cr_assert_not(af_stats(s).connected);

	/* It comes back on the same port. */
	l = af_bind(AF_INET, SOCK_STREAM, port, 0, &again);
	AF_POLL_UNTIL(s, af_stats(s).queued == 0);
	c = af_accept(l);
	for (int i = 1; i <= 5; i++) {
		af_read_frame(c, 5);
		snprintf(text, sizeof text, AF_BOM "message %d", i);
		cr_assert(strlen(got) > strlen(text) &&
		              strcmp(got + strlen(got) - strlen(text), text) == 0,
		          "frame %d is %s", i, got);
	}
	struct af_syslog_stats st = af_stats(s);
	cr_assert_eq(st.sent, 6);
	cr_assert_eq(st.failed, 0);
	cr_assert_eq(st.disconnects, 1);
	cr_assert_eq(st.reconnects, 1);
	cr_assert_geq(st.connect_failures, 1);
	cr_assert(st.connected);
	af_close(s);
	close(c);
	close(l);
}

Test(syslog, resends_a_frame_whole_after_the_connection_breaks_inside_it)
{
	struct af_big b;
	char part[1000];

	af_big_send(&b);
	af_wait_readable(b.c);
	cr_assert_gt(recv(b.c, part, sizeof part, 0), 0);
	close(b.c); /* unread bytes: the connection is reset mid-frame */

	AF_POLL_UNTIL(b.s, af_stats(b.s).reconnects == 1);
	b.c = af_accept(b.l);
	af_big_receive(&b);
	struct af_syslog_stats st = af_stats(b.s);
	cr_assert_eq(st.disconnects, 1);
	cr_assert_eq(st.queued, 0);
	af_big_free(&b);
}

/* --- Unix sockets --- */

/* A Unix receiver of type at t.path (returned), a sink aimed at it (*s),
 * and the shared alert (af_test_alert into *a) queued on the sink. */
static int af_unix_alert(int type, struct af_alert *a, struct af_syslog **s)
{
	int fd = af_bind_unix(type);

	*s = af_open_unix(type == SOCK_STREAM ? "unix" : "unix-dgram");
	af_test_alert(a);
	cr_assert_eq(af_syslog_send_alert(*s, a), AF_OK);
	return fd;
}

Test(syslog, sends_frames_on_a_unix_stream_socket)
{
	static struct af_alert a;
	struct af_syslog *s;
	struct af_5424 p;
	int l = af_unix_alert(SOCK_STREAM, &a, &s);

	af_send_text(s, "second", 6, "two");
	cr_assert_eq(af_syslog_flush(s, AF_WAIT_MS, err, sizeof err), AF_OK, "%s", err);
	int c = af_accept(l);
	af_parse_5424(got, af_read_frame(c, 3), &p);
	cr_assert_str_eq(p.msgid, "new_country");
	af_parse_5424(got, af_read_frame(c, 3), &p);
	cr_assert_str_eq(p.msgid, "second");
	af_close(s);
	close(c);
	close(l);
}

Test(syslog, sends_datagrams_on_a_unix_datagram_socket)
{
	static struct af_alert a;
	struct af_syslog *s;
	struct af_5424 p;
	int fd = af_unix_alert(SOCK_DGRAM, &a, &s);

	af_parse_5424(got, af_recv_dgram(fd), &p);
	cr_assert_str_eq(p.msgid, "new_country");
	cr_assert_str_eq(p.host, "testhost");
	cr_assert_eq(p.msg_len, strlen(af_json(&a)));
	af_close(s);
	close(fd);
}

/* A sink aimed at scheme://t.path, where nobody listens yet, with two
 * messages queued: MSGID a "first", then MSGID b "second". */
static struct af_syslog *af_open_unix_two_queued(const char *scheme)
{
	struct af_syslog *s = af_open_unix(scheme);

	af_send_text(s, "a", 6, "first");
	af_send_text(s, "b", 6, "second");
	return s;
}

Test(syslog, waits_for_a_unix_datagram_receiver_that_is_not_there_yet)
{
	struct af_syslog *s = af_open_unix_two_queued("unix-dgram");

	cr_assert_eq(af_syslog_flush(s, 0, err, sizeof err), AF_E_AGAIN);
	cr_assert_not_null(strstr(err, "2 syslog messages still queued"), "%s", err);
	cr_assert_eq(af_stats(s).queued, 2);
	cr_assert_geq(af_stats(s).connect_failures, 1);

	int fd = af_bind_unix(SOCK_DGRAM);
	AF_POLL_UNTIL(s, af_stats(s).queued == 0);
	af_recv_dgram(fd);
	af_assert_got(" a - " AF_BOM "first");
	af_recv_dgram(fd);
	af_assert_got(" b - " AF_BOM "second");
	cr_assert_eq(af_stats(s).failed, 0);
	af_close(s);
	close(fd);
}

/* --- back-pressure and failure --- */

Test(syslog, returns_again_when_the_queue_is_full_and_delivers_all_it_took)
{
	struct af_syslog_opts o;
	char text[100];
	int taken = 0;

	af_opts_unix(&o, "unix"); /* nobody there yet */
	o.max_msg = 480;
	o.queue_bytes = 2048;
	struct af_syslog *s = af_open(&o);
	memset(text, '.', sizeof text);
	for (;;) {
		int n = snprintf(text, sizeof text, "%d", taken);
		text[n] = '.';
		af_err_t e = af_syslog_send_raw(s, "q", 6, text, sizeof text, 0);
		if (e == AF_E_AGAIN)
			break;
		cr_assert_eq(e, AF_OK);
		cr_assert_lt(++taken, 100, "the queue never filled");
	}
	cr_assert_gt(taken, 1);
	struct af_syslog_stats st = af_stats(s);
	cr_assert_eq(st.queued, (uint64_t)taken);
	cr_assert_leq(st.queued_bytes, 2048);
	cr_assert_eq(st.sent + st.failed, 0);

	int l = af_bind_unix(SOCK_STREAM);
	AF_POLL_UNTIL(s, af_stats(s).queued == 0);
	int c = af_accept(l);
	for (int i = 0; i < taken; i++) {
		char key[16];
		af_read_frame(c, 64);
		snprintf(key, sizeof key, AF_BOM "%d.", i);
		cr_assert_not_null(strstr(got, key), "frame %d: %s", i, got);
	}
	cr_assert_eq(af_syslog_send_raw(s, "q", 6, text, sizeof text, 0), AF_OK,
	             "room again once the queue drained");
	af_close(s);
	close(c);
	close(l);
}

Test(syslog, counts_messages_still_queued_at_close_as_failed)
{
	struct af_syslog *s = af_open_unix_two_queued("unix");

	cr_assert_eq(af_syslog_close(s, 0, err, sizeof err), AF_E_IO);
	cr_assert_not_null(strstr(err, "2 syslog messages not delivered"), "%s", err);
	cr_assert_not_null(strstr(err, t.path), "%s", err);
}

Test(syslog, closing_null_is_a_no_op)
{
	cr_assert_eq(af_syslog_close(NULL, 0, err, sizeof err), AF_OK);
}

/* --- configuration --- */

Test(syslog, rejects_malformed_targets_with_a_reason)
{
	static const struct {
		const char *target, *reason;
	} cases[] = {
	    {"", "no syslog target given"},
	    {"syslog.example.com:514", "expected udp://HOST:PORT, tcp://HOST:PORT"},
	    {"http://127.0.0.1:514", "expected udp://HOST:PORT"},
	    {"udp://127.0.0.1", "no port"},
	    {"udp://:514", "no host"},
	    {"tcp://127.0.0.1:", "port must be a number from 1 to 65535"},
	    {"tcp://127.0.0.1:0", "port must be a number from 1 to 65535"},
	    {"tcp://127.0.0.1:65536", "port must be a number from 1 to 65535"},
	    {"tcp://127.0.0.1:51x", "port must be a number from 1 to 65535"},
	    {"tcp://127.0.0.1:514/path", "port must be a number from 1 to 65535"},
	    {"tcp://::1:514", "IPv6 address needs brackets"},
	    {"tcp://[::1", "expected [IPV6]:PORT"},
	    {"tcp://[::1]514", "expected [IPV6]:PORT"},
	    {"unix://dev/log", "needs an absolute path"},
	    {"unix-dgram://", "needs an absolute path"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct af_syslog_opts o;
		af_opts(&o, cases[i].target);
		af_assert_rejected(&o, cases[i].reason);
		if (cases[i].target[0] != '\0')
			cr_assert_not_null(strstr(err, cases[i].target), "%s", err);
	}
}

Test(syslog, rejects_a_unix_path_longer_than_a_socket_address_holds)
{
	struct af_syslog_opts o;
	char path[300] = "unix:///";

	memset(path + 8, 'p', 200);
	path[208] = '\0';
	af_opts(&o, path);
	af_assert_rejected(&o, "longer than 107 bytes");
}

Test(syslog, rejects_an_sd_id_that_rfc5424_does_not_allow)
{
	static const char *bad[] = {
	    "auditflow",        "@32473",           "auditflow@",
	    "audit flow@32473", "audit=flow@32473", "auditflow@32473x",
	    "auditflow@.1",     "auditflow@1..2",   "a_name_that_is_far_too_long@32473",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct af_syslog_opts o;
		af_opts(&o, "udp://127.0.0.1:514");
		o.sd_id = bad[i];
		af_assert_rejected(&o, "is not NAME@NUMBER");
	}
}

Test(syslog, rejects_sizes_and_ranges_out_of_bounds)
{
	/* Each row changes af_opts' values (facility local0, backoff 5..20 ms;
	 * sizes 0: the defaults) in one respect. */
	static const struct {
		size_t max_msg, queue_bytes;
		int facility;
		uint32_t backoff_min_ms, backoff_max_ms;
		const char *reason;
	} cases[] = {
	    {479, 0, AF_SYSLOG_FACILITY_LOCAL0, 5, 20, "max_msg 479 is not between 480 and 65507"},
	    {4096, 4096, AF_SYSLOG_FACILITY_LOCAL0, 5, 20, "cannot hold one message"},
	    {0, 0, 24, 5, 20, "facility 24"},
	    {0, 0, AF_SYSLOG_FACILITY_LOCAL0, 100, 50, "backoff"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct af_syslog_opts o;
		af_opts(&o, "udp://127.0.0.1:514");
		o.max_msg = cases[i].max_msg;
		o.queue_bytes = cases[i].queue_bytes;
		o.facility = cases[i].facility;
		o.backoff_min_ms = cases[i].backoff_min_ms;
		o.backoff_max_ms = cases[i].backoff_max_ms;
		af_assert_rejected(&o, cases[i].reason);
	}
}
