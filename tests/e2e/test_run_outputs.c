/* test_run_outputs.c - the outputs of `auditflow run` that come from the
 * configuration file, end to end: a generated scenario produced with kcat
 * into `auditflow broker`, consumed by the real binary whose -c file names
 * an HTTP webhook (webhook.h's server, whose answer this test decides,
 * checking the bearer token the file takes from the environment), a
 * syslog output (a Unix datagram socket this test reads) and size
 * rotation of the events file. Every alert printed reaches the webhook
 * once and syslog once, as an RFC 5424 message; the rotated events files
 * hold every event, each file cut after the line that reached the size.
 *
 * Thread: the test's; the webhook (webhook.h) answers on libmicrohttpd's
 * thread and the syslog socket is read on a thread of this test, both
 * into buffers under a mutex, read by the test after the run has exited.
 * Links: webhook.c and libmicrohttpd (tests/CMakeLists.txt).
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "run.h"
#include "scenario.h"
#include "webhook.h"

#define HOOK_TOKEN      "e2e-bearer-7f3a9c"
#define ROTATE_BYTES    (1u << 20)
#define FACILITY_LOCAL3 19

/* ---- the webhook: every request's body, and whether its token was right ---- */

struct hook {
	struct af_e2e_webhook w;
	char *bodies; /* each request's body, then '\n' */
	size_t len, cap;
	size_t requests, bad_auth;
};

static bool grow(char **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return true;
	size_t cap2 = *cap ? *cap : 4096;
	while (cap2 < need)
		cap2 *= 2;
	char *q = realloc(*p, cap2);
	if (q == NULL)
		return false;
	*p = q;
	*cap = cap2;
	return true;
}

/* The webhook's answer: 200 once the body is kept, 500 when it cannot be
 * (out of memory), whatever the token; a wrong or missing token is
 * counted for the test to fail on. */
static unsigned hook_answer(void *arg, const struct af_e2e_webhook_req *req, const char **answer)
{
	struct hook *h = arg;
	(void)answer;
	h->requests++;
	if (req->authorization == NULL || strcmp(req->authorization, "Bearer " HOOK_TOKEN) != 0)
		h->bad_auth++;
	if (!grow(&h->bodies, &h->cap, h->len + req->body_len + 2))
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	memcpy(h->bodies + h->len, req->body, req->body_len);
	h->len += req->body_len;
	h->bodies[h->len++] = '\n';
	h->bodies[h->len] = '\0';
	return MHD_HTTP_OK;
}

static void hook_start(struct hook *h)
{
	char err[256];
	cr_assert_eq(af_e2e_webhook_open(&h->w, hook_answer, h, err, sizeof(err)), 0, "%s", err);
}

static void hook_stop(struct hook *h)
{
	af_e2e_webhook_close(&h->w);
	free(h->bodies);
	memset(h, 0, sizeof(*h));
}

/* ---- the syslog receiver: a Unix datagram socket read on a thread ---- */

struct sink {
	bool open;
	int fd;
	pthread_t th;
	bool running;
	atomic_bool stop;
	pthread_mutex_t mu;
	char **msg; /* each datagram, NUL-terminated */
	size_t *msg_len;
	size_t n, cap;
};

static void sink_take(struct sink *s, const char *buf, size_t len)
{
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return;
	memcpy(copy, buf, len);
	copy[len] = '\0';
	pthread_mutex_lock(&s->mu);
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char **m = realloc(s->msg, cap * sizeof(*m));
		if (m != NULL)
			s->msg = m;
		size_t *l = realloc(s->msg_len, cap * sizeof(*l));
		if (l != NULL)
			s->msg_len = l;
		if (m != NULL && l != NULL)
			s->cap = cap;
	}
	if (s->n < s->cap) {
		s->msg[s->n] = copy;
		s->msg_len[s->n++] = len;
		copy = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	free(copy);
}

/* Read datagrams until told to stop, then what is left. */
static void *sink_main(void *arg)
{
	struct sink *s = arg;
	static char buf[1 << 16];
	for (;;) {
		bool last = atomic_load_explicit(&s->stop, memory_order_acquire);
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		if (!last && poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			sink_take(s, buf, (size_t)n);
		else if (last)
			return NULL;
	}
}

static void sink_start(struct sink *s, const char *path)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	cr_assert_lt(strlen(path), sizeof(un.sun_path));
	strcpy(un.sun_path, path);
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s->fd, 0);
	s->open = true;
	cr_assert_eq(bind(s->fd, (struct sockaddr *)&un, sizeof(un)), 0, "bind %s", path);
	cr_assert_eq(pthread_mutex_init(&s->mu, NULL), 0);
	atomic_store(&s->stop, false);
	cr_assert_eq(pthread_create(&s->th, NULL, sink_main, s), 0);
	s->running = true;
}

/* Stop reading (after the datagrams already sent are read). */
static void sink_join(struct sink *s)
{
	if (!s->running)
		return;
	atomic_store_explicit(&s->stop, true, memory_order_release);
	pthread_join(s->th, NULL);
	s->running = false;
}

static void sink_stop(struct sink *s)
{
	if (!s->open)
		return;
	sink_join(s);
	close(s->fd);
	for (size_t i = 0; i < s->n; i++)
		free(s->msg[i]);
	free(s->msg);
	free(s->msg_len);
	pthread_mutex_destroy(&s->mu);
	memset(s, 0, sizeof(*s));
}

/* ---- the suite ---- */

static struct af_e2e_broker broker;
static struct hook hook;
static struct sink syslog_sink;

static void outputs_fini(void)
{
	hook_stop(&hook);
	sink_stop(&syslog_sink);
	af_e2e_broker_close(&broker);
	af_e2e_teardown();
}

TestSuite(run_outputs, .init = af_e2e_setup, .fini = outputs_fini, .timeout = 600);

static const char *const topics[] = {"signins", "audit", "messagetrace"};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every 16-digit value after pat in text, sorted, one per line. Owned. */
static char *ids_after(const char *text, const char *pat)
{
	size_t n = 0, cap = 16, plen = strlen(pat);
	char **ids = malloc(cap * sizeof(*ids));
	cr_assert_not_null(ids);
	for (const char *p = text; (p = strstr(p, pat)) != NULL; p += plen) {
		if (n == cap)
			cr_assert_not_null(ids = realloc(ids, (cap *= 2) * sizeof(*ids)));
		ids[n++] = strndup(p + plen, 16);
	}
	qsort(ids, n, sizeof(*ids), cmp_str);
	char *out = calloc(n * 17 + 1, 1);
	cr_assert_not_null(out);
	for (size_t i = 0; i < n; i++) {
		strcat(out, ids[i]);
		strcat(out, "\n");
		free(ids[i]);
	}
	free(ids);
	return out;
}

/* Check that m[0..len) is one RFC 5424 message as sinks/syslog.h writes it
 * for an alert: PRI of facility local3 and an alert severity, version 1, a
 * UTC timestamp with 6 fraction digits, a host name, the configured
 * APP-NAME, a process id, the rule as MSGID, the structured data with the
 * alert id, then a BOM and the alert's JSON naming the same id and rule.
 * Copies the id into id[17]. */
static void check_rfc5424(const char *m, size_t len, char id[17])
{
	int pri = -1, pos = 0;
	cr_assert_eq(sscanf(m, "<%d>1 %n", &pri, &pos), 1, "%s", m);
	cr_assert_gt(pos, 0, "%s", m);
	cr_assert(pri >= FACILITY_LOCAL3 * 8 + 2 && pri <= FACILITY_LOCAL3 * 8 + 5,
	          "PRI %d: local3 and crit..notice", pri);
	const char *p = m + pos;
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ ";
	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		cr_assert(shape[i] == 'd' ? (p[i] >= '0' && p[i] <= '9') : p[i] == shape[i],
		          "timestamp: %s", m);
	p += sizeof(shape) - 1;
	const char *host_end = strchr(p, ' ');
	cr_assert(host_end != NULL && host_end > p, "hostname: %s", m);
	p = host_end + 1;
	cr_assert(strncmp(p, "auditflow-e2e ", 14) == 0, "APP-NAME: %s", m);
	p += 14;
	cr_assert(*p >= '1' && *p <= '9', "PROCID: %s", m);
	while (*p >= '0' && *p <= '9')
		p++;
	cr_assert_eq(*p++, ' ', "%s", m);
	const char *msgid_end = strchr(p, ' ');
	cr_assert_not_null(msgid_end, "%s", m);
	char rule[64];
	snprintf(rule, sizeof(rule), "%.*s", (int)(msgid_end - p), p);
	p = msgid_end + 1;
	static const char sd[] = "[auditflow@32473 id=\"";
	cr_assert(strncmp(p, sd, sizeof(sd) - 1) == 0, "SD: %s", m);
	p += sizeof(sd) - 1;
	memcpy(id, p, 16);
	id[16] = '\0';
	cr_assert_eq(strspn(id, "0123456789abcdef"), 16, "id: %s", m);
	const char *msg = strstr(p, "] \xEF\xBB\xBF{");
	cr_assert_not_null(msg, "BOM and JSON after the SD: %s", m);
	msg += 5;
	cr_assert_eq(m[len - 1], '}', "the whole alert, uncut: %s", m);
	char want[128];
	snprintf(want, sizeof(want), "{\"id\":\"%s\",\"rule\":\"%s\"", id, rule);
	cr_assert(strncmp(msg, want, strlen(want)) == 0, "MSG names the id and MSGID's rule: %s",
	          m);
}

/* The config file: the scenario's geo.yaml and the sections under test. */
static void write_config(const char *path, const char *socket_path)
{
	char *geo = af_slurp(af_e2e_path("geo.yaml"), NULL);
	cr_assert_not_null(geo);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f,
	        "%s\n"
	        "output:\n"
	        "  rotate_bytes: %u\n"
	        "  rotate_keep: 100\n"
	        "http:\n"
	        "  kind: webhook\n"
	        "  url: \"http://127.0.0.1:%u/alerts\"\n"
	        "  bearer_token: \"${AF_E2E_HOOK_TOKEN}\"\n"
	        "  batch_items: 3\n"
	        "syslog:\n"
	        "  target: \"unix-dgram://%s\"\n"
	        "  facility: local3\n"
	        "  app_name: auditflow-e2e\n",
	        geo, ROTATE_BYTES, hook.w.port, socket_path);
	cr_assert_eq(fclose(f), 0);
	free(geo);
}

/* Lines in the events file and its rotated copies; each rotated one is
 * checked: at least the size, ending with the line that reached it.
 * *files gets the number of rotated copies. */
static size_t events_lines(const char *path, size_t *files)
{
	size_t lines = 0;
	char name[512];
	*files = 0;
	for (int i = 0; i <= 100; i++) {
		if (i == 0)
			snprintf(name, sizeof(name), "%s", path);
		else
			snprintf(name, sizeof(name), "%s.%d", path, i);
		size_t len = 0;
		char *text = af_slurp(name, &len);
		if (text == NULL) {
			cr_assert_neq(i, 0, "%s is missing", name);
			break;
		}
		if (i > 0) {
			(*files)++;
			cr_assert_geq(len, ROTATE_BYTES, "%s: %zu bytes", name, len);
			cr_assert_lt(len, ROTATE_BYTES + 16384, "%s: cut after the line", name);
			cr_assert_eq(text[len - 1], '\n', "%s ends with a whole line", name);
		}
		cr_assert(len == 0 || (text[0] == '{' && text[len - 1] == '\n'), "%s", name);
		lines += af_count_lines(text);
		free(text);
	}
	return lines;
}

Test(run_outputs, sends_each_alert_to_the_webhook_and_to_syslog_and_rotates_the_events_file)
{
	const char *const gen[] = {"--accounts", "30", "--days", "4", NULL};
	af_scn_make("seed-incident", gen);
	const char *const extra[] = {"--topic", "signins:2",      "--topic", "audit:2",
	                             "--topic", "messagetrace:2", NULL};
	af_scn_to_broker(&broker, extra, NULL);

	hook_start(&hook);
	char sock[256], conf[256], events[256], summary[256];
	snprintf(sock, sizeof(sock), "%s", af_e2e_path("syslog.sock"));
	snprintf(conf, sizeof(conf), "%s", af_e2e_path("outputs.yaml"));
	snprintf(events, sizeof(events), "%s", af_e2e_path("events.jsonl"));
	snprintf(summary, sizeof(summary), "%s", af_e2e_path("summary.json"));
	sink_start(&syslog_sink, sock);
	write_config(conf, sock);
	setenv("AF_E2E_HOOK_TOKEN", HOOK_TOKEN, 1);

	struct af_run r;
	const char *const args[] = {
	    "run",      "-c",        conf,           "-b",   broker.addr, "-G",    "outs",
	    "-e",       "-t",        topics[0],      "-t",   topics[1],   "-t",    topics[2],
	    "--offset", "beginning", "--events-out", events, "--summary", summary, NULL};
	cr_assert_eq(af_run(&r, NULL, args), 0, "auditflow could not be started");
	cr_assert_eq(r.status, 0, "auditflow run failed: %s", r.err);
	cr_assert_null(strstr(r.err, HOOK_TOKEN), "the token is never shown: %s", r.err);
	sink_join(&syslog_sink);

	char *printed = ids_after(r.out, "{\"id\":\"");
	size_t nalerts = af_count_lines(printed);
	cr_assert_gt(nalerts, 0, "the scenario raises alerts; stderr:\n%s", r.err);
	cr_assert_eq(nalerts, af_count_lines(r.out), "one id per alert line");

	/* The webhook: every alert once, in batches of at most 3, with the
	 * token from the environment on every request. */
	char *posted = ids_after(hook.bodies ? hook.bodies : "", "{\"id\":\"");
	cr_assert_str_eq(posted, printed, "the webhook got other alerts; stderr:\n%s", r.err);
	cr_assert_geq(hook.requests, (nalerts + 2) / 3);
	cr_assert_eq(hook.bad_auth, 0, "every request carries Bearer <the token>");

	/* Syslog: one RFC 5424 message per alert. */
	cr_assert_eq(syslog_sink.n, nalerts, "syslog got %zu messages for %zu alerts",
	             syslog_sink.n, nalerts);
	size_t cap = nalerts * 24 + 1;
	char *sd_ids = calloc(cap, 1);
	cr_assert_not_null(sd_ids);
	for (size_t i = 0; i < syslog_sink.n; i++) {
		char id[17];
		check_rfc5424(syslog_sink.msg[i], syslog_sink.msg_len[i], id);
		strcat(sd_ids, "{\"id\":\"");
		strcat(sd_ids, id);
	}
	char *logged = ids_after(sd_ids, "{\"id\":\"");
	cr_assert_str_eq(logged, printed, "syslog got other alerts");

	/* The events file: rotated, every event kept in whole lines. */
	size_t rotated = 0;
	size_t lines = events_lines(events, &rotated);
	char *sum = af_slurp(summary, NULL);
	cr_assert_not_null(sum);
	cr_assert_eq((long long)lines, af_json_int(sum, "events_ok"),
	             "every event is in the events files");
	cr_assert_geq(rotated, 2, "the events file was rotated");
	cr_log_info("%zu alerts; %zu webhook requests; %zu syslog messages; %zu events in %zu "
	            "rotated files and the current one",
	            nalerts, hook.requests, syslog_sink.n, lines, rotated);

	free(sum);
	free(logged);
	free(sd_ids);
	free(posted);
	free(printed);
	af_run_free(&r);
}

/* run with option value (and a broker nobody answers at) exits 2 before
 * reading anything, saying want. Under timeout(1): were the option
 * accepted, run would wait for that broker for ever. */
static void assert_refused(const char *option, const char *value, const char *want)
{
	struct af_run r;
	const char *const argv[] = {"timeout", "60",    AF_BIN, "run", "-b", "127.0.0.1:9",
	                            "-t",      "audit", option, value, NULL};
	cr_assert_eq(af_run_argv(&r, NULL, argv), 0, "timeout could not be started");
	cr_assert_eq(r.status, 2, "status %d (124: not refused), stderr: %s", r.status, r.err);
	cr_assert_not_null(strstr(r.err, want), "%s", r.err);
	af_run_free(&r);
}

Test(run_outputs, refuses_an_http_url_without_a_kind)
{
	assert_refused("--http-url", "http://127.0.0.1:9/hook", "http.kind");
}

Test(run_outputs, refuses_a_syslog_target_it_cannot_parse)
{
	assert_refused("--syslog", "syslog.example:514", "syslog output");
}
