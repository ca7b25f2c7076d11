/* test_deliver.c - the outlet of `auditflow run` end to end, with real
 * outputs: Kafka topics on librdkafka's mock cluster (tests/kafka_mock.h:
 * a Kafka-protocol broker in this process, reached over loopback TCP and
 * read back by a real consumer), an HTTP webhook on a libmicrohttpd server
 * whose answers are scripted (tests/sinks/http_server.h), syslog over TCP
 * to a loopback listener, and the alerts, dead-letter and events files in
 * a mkdtemp directory.
 * Checked: where each kind of document goes (and under which key); that
 * a token is settled only once every output has settled it, and never
 * passed while one is outstanding; retries and dead letters that carry
 * the document; back-pressure from a full output and from the window,
 * with every document arriving exactly once and in order; what close
 * reports; which output an open error names.
 * Waits are generous deadlines, never timing assertions.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "sinks/deliver.h"
#include "sinks/jsonw.h"
#include "sinks_test.h"
#include "tests/sinks/http_server.h"
#include "tests/sinks/loopback.h"
#include "tests/kafka_mock.h"

#define DEADLINE_MS 30000 /* for what must happen: generous */

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the broker ---- */

/* Topics "alerts" (4 partitions), "dlq" (2) and "events" (1, so that its
 * order can be checked). */
static void cluster_start(struct af_kmock *c)
{
	af_kmock_start(c, false);
	af_kmock_topic(c, "alerts", 4);
	af_kmock_topic(c, "dlq", 2);
	af_kmock_topic(c, "events", 1);
}

/* How many of msgs[0..n) have the value text. */
static size_t msgs_with(const struct af_kmock_msg *m, size_t n, const char *text)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += strcmp(m[i].value, text) == 0;
	return k;
}

/* ---- the fixture: files, outputs, the outlet ---- */

static struct {
	char dir[64];
	char alerts_path[128], dlq_path[128], events_path[128];
	struct af_alert_out *alerts;
	struct af_dlq *dlq;
	struct af_ecs_out *events;
	struct af_kmock c;
	struct af_httpd srv;
	char url[128];
	struct af_deliver *d;
	const struct af_rt_outlet *o;
	uint64_t next;   /* the next token */
	uint64_t agains; /* offers answered AF_E_AGAIN */
} fx;

static void setup(void)
{
	char err[512];

	memset(&fx, 0, sizeof fx);
	strcpy(fx.dir, "/tmp/af_deliver_XXXXXX");
	cr_assert_not_null(mkdtemp(fx.dir));
	snprintf(fx.alerts_path, sizeof fx.alerts_path, "%s/alerts.jsonl", fx.dir);
	snprintf(fx.dlq_path, sizeof fx.dlq_path, "%s/dlq.jsonl", fx.dir);
	snprintf(fx.events_path, sizeof fx.events_path, "%s/events.jsonl", fx.dir);
	fx.alerts = af_alert_out_open(fx.alerts_path, AF_OUTPUT_NATIVE, NULL, err, sizeof err);
	cr_assert_not_null(fx.alerts, "%s", err);
	fx.dlq = af_dlq_open(fx.dlq_path, 0, err, sizeof err);
	cr_assert_not_null(fx.dlq, "%s", err);
	fx.events = af_ecs_open(fx.events_path, err, sizeof err);
	cr_assert_not_null(fx.events, "%s", err);
}

/* Close the files (the outlet first, when a test left it open). */
static void files_close(void)
{
	char err[512];

	if (fx.d != NULL)
		af_deliver_close(fx.d, 0, NULL, 0);
	fx.d = NULL;
	if (fx.alerts != NULL)
		cr_assert_eq(af_alert_out_close(fx.alerts, err, sizeof err), AF_OK, "%s", err);
	if (fx.dlq != NULL)
		cr_assert_eq(af_dlq_close(fx.dlq, err, sizeof err), AF_OK, "%s", err);
	if (fx.events != NULL)
		cr_assert_eq(af_ecs_close(fx.events, err, sizeof err), AF_OK, "%s", err);
	fx.alerts = NULL;
	fx.dlq = NULL;
	fx.events = NULL;
}

static void teardown(void)
{
	files_close();
	af_httpd_stop(&fx.srv);
	af_kmock_stop(&fx.c);
	unlink(fx.alerts_path);
	unlink(fx.dlq_path);
	unlink(fx.events_path);
	rmdir(fx.dir);
}

TestSuite(deliver, .init = setup, .fini = teardown);

/* Quick reconnects after a broker outage, and librdkafka's log of an
 * expected outage kept off the test output. */
static const char *const quiet[] = {"reconnect.backoff.ms=50", "reconnect.backoff.max.ms=200",
                                    "log_level=2"};

/* Options with the three files and, with kafka, the three topics. */
static struct af_deliver_opts opts_files(bool kafka)
{
	struct af_deliver_opts o = {
	    .alerts_file = fx.alerts,
	    .dlq_file = fx.dlq,
	    .events_file = fx.events,
	    .format = AF_OUTPUT_NATIVE,
	};
	if (kafka) {
		cluster_start(&fx.c);
		o.brokers = fx.c.bootstraps;
		o.props = quiet;
		o.nprops = 3;
		o.alerts_topic = "alerts";
		o.dlq_topic = "dlq";
		o.events_topic = "events";
	}
	return o;
}

/* A webhook that takes one document per request, one request at a time,
 * against the scripted server; quick retries. */
static struct af_http_opts http_opts(const struct af_httpd_reply *script, size_t n)
{
	af_httpd_start(&fx.srv, false, script, n);
	snprintf(fx.url, sizeof fx.url, "http://127.0.0.1:%u/hook", fx.srv.port);
	return (struct af_http_opts){
	    .kind = AF_HTTP_WEBHOOK,
	    .url = fx.url,
	    .webhook_single = true,
	    .max_in_flight = 1,
	    .linger_ms = 1,
	    .backoff_base_ms = 5,
	    .backoff_cap_ms = 20,
	    .seed = 7,
	};
}

static void open_ok(const struct af_deliver_opts *o)
{
	char err[512] = "";

	cr_assert_eq(af_deliver_open(o, &fx.d, err, sizeof err), AF_OK, "%s", err);
	cr_assert_not_null(fx.d);
	fx.o = af_deliver_outlet(fx.d);
}

static af_err_t open_err(const struct af_deliver_opts *o, char *err, size_t size)
{
	struct af_deliver *d = (struct af_deliver *)&d; /* must be reset */
	af_err_t e = af_deliver_open(o, &d, err, size);

	cr_assert_null(d);
	return e;
}

/* Close the outlet within a generous deadline (everything is delivered),
 * then the files, so that they can be read. */
static void close_ok(void)
{
	char err[512] = "";

	cr_assert_eq(af_deliver_close(fx.d, DEADLINE_MS, err, sizeof err), AF_OK, "%s", err);
	fx.d = NULL;
	files_close();
}

static struct af_deliver_stats stats(void)
{
	struct af_deliver_stats st;
	af_deliver_stats(fx.d, &st);
	return st;
}

/* Hand over the next token's alert a or, when a is NULL, its lines of
 * kind, offering again (after serving the outputs) while the outlet
 * answers AF_E_AGAIN. */
static void give(const struct af_alert *a, enum af_rt_lines kind, const char *text)
{
	char err[512] = "";
	af_err_t e;

	for (uint64_t give_up = mono_ms() + DEADLINE_MS;;) {
		e = a != NULL ? fx.o->alert(fx.o->ctx, fx.next, a, err, sizeof err)
		              : fx.o->lines(fx.o->ctx, fx.next, kind, text, strlen(text), err,
		                            sizeof err);
		if (e != AF_E_AGAIN || mono_ms() > give_up)
			break;
		fx.agains++;
		fx.o->settled(fx.o->ctx, 10);
	}
	cr_assert_eq(e, AF_OK, "token %llu: %s", (unsigned long long)fx.next, err);
	fx.next++;
}

static void give_alert(const struct af_alert *a)
{
	give(a, AF_RT_LINES_EVENTS, NULL);
}

static void give_lines(enum af_rt_lines kind, const char *text)
{
	give(NULL, kind, text);
}

/* Serve the outputs until every token handed over is settled. */
static void settle_all(void)
{
	uint64_t give_up = mono_ms() + DEADLINE_MS, got;

	while ((got = fx.o->settled(fx.o->ctx, 50)) < fx.next)
		cr_assert_lt(mono_ms(), give_up, "%llu of %llu tokens settled",
		             (unsigned long long)got, (unsigned long long)fx.next);
	cr_assert_eq(got, fx.next, "settled past the tokens handed over");
}

/* ---- documents ---- */

/* Alert i: account user<i>@example.com, or per-address (no account,
 * from 198.51.100.<i>) when per_address. */
static void alert_make(struct af_alert *a, int i, bool per_address)
{
	char ip[32];

	af_test_alert(a);
	a->id = 0x1000u + (uint64_t)i;
	if (per_address) {
		a->rule = "password_spray";
		a->account[0] = '\0';
		snprintf(ip, sizeof ip, "198.51.100.%d", i);
		cr_assert(af_ip_parse(ip, strlen(ip), &a->src));
	} else {
		snprintf(a->account, sizeof a->account, "user%d@example.com", i);
	}
}

/* The alert as the topics and HTTP get it (native JSON). Free it. */
static char *alert_json(const struct af_alert *a)
{
	char buf[8192];
	struct af_jsonw w;

	af_jsonw_init(&w, buf, sizeof buf, NULL);
	af_alert_out_format(&w, a, AF_OUTPUT_NATIVE);
	cr_assert_eq(w.flags & AF_JSONW_OVERFLOW, 0);
	return strndup(w.buf, w.len);
}

/* An ECS-like event line (no newline), number i of chunk c. */
static void event_line(char *buf, size_t size, int c, int i)
{
	snprintf(buf, size, "{\"event.kind\":\"event\",\"chunk\":%d,\"n\":%d}", c, i);
}

/* Lines [from, to) of chunk c, each ending in '\n'. */
static void event_chunk(char *buf, size_t size, int c, int from, int to)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int i = from; i < to; i++) {
		event_line(buf + n, size - n, c, i);
		n += strlen(buf + n);
		cr_assert_lt(n + 1, size);
		buf[n++] = '\n';
		buf[n] = '\0';
	}
}

static char *read_path(const char *path)
{
	return af_test_read_file(path, NULL);
}

static size_t count_lines(const char *text)
{
	size_t n = 0;
	for (; *text != '\0'; text++)
		n += *text == '\n';
	return n;
}

/* The file at path holds chunks a then b as given, and nothing else. */
static void assert_file_holds(const char *path, const char *a, const char *b, const char *why)
{
	char *file = read_path(path), *both = malloc(strlen(a) + strlen(b) + 1);

	cr_assert_not_null(both);
	strcpy(both, a);
	strcat(both, b);
	cr_assert_str_eq(file, both, "%s", why);
	free(both);
	free(file);
}

/* The text of doc[0..len) as a JSON string value, with its quotes. */
static void json_string(const char *doc, size_t len, char *out, size_t size)
{
	struct af_jsonw w;

	af_jsonw_init(&w, out, size - 1, NULL);
	af_jsonw_string_len(&w, doc, len);
	cr_assert_eq(w.flags & AF_JSONW_OVERFLOW, 0);
	out[w.len] = '\0';
}

/* The one undeliverable line of text that names output. */
static const char *dead_line(const char *text, const char *output)
{
	char want[128];
	const char *hit = NULL;

	snprintf(want, sizeof want, "{\"reason\":\"undeliverable\",\"output\":\"%s\"", output);
	for (const char *p = text; (p = strstr(p, want)) != NULL; p++) {
		cr_assert_null(hit, "two undeliverable lines for %s:\n%s", output, text);
		hit = p;
	}
	cr_assert_not_null(hit, "no undeliverable line for %s in:\n%s", output, text);
	return hit;
}

/* Hand over chunks a then b as lines of kind, settle them, close, and
 * check that the file at path holds them as given. */
static void give_chunks_and_close(enum af_rt_lines kind, const char *a, const char *b,
                                  const char *path)
{
	give_lines(kind, a);
	give_lines(kind, b);
	settle_all();
	close_ok();
	assert_file_holds(path, a, b, "the file holds the chunks as given");
}

/* ---- where each kind goes ---- */

Test(deliver, writes_alerts_to_the_file_and_the_topic_keyed_by_account_or_address)
{
	struct af_deliver_opts o = opts_files(true);
	struct af_alert a[3];
	char *json[3];
	open_ok(&o);

	for (int i = 0; i < 3; i++) {
		alert_make(&a[i], i + 1, i == 2);
		json[i] = alert_json(&a[i]);
		give_alert(&a[i]);
	}
	settle_all();
	close_ok();

	char *file = read_path(fx.alerts_path);
	cr_assert_eq(count_lines(file), 3);
	for (int i = 0; i < 3; i++)
		cr_assert_not_null(strstr(file, json[i]), "alert %d not in the file:\n%s", i, file);
	struct af_kmock_msg *m = af_kmock_read(&fx.c, "alerts", 4, 3);
	static const char *const keys[] = {"user1@example.com", "user2@example.com",
	                                   "198.51.100.3"};
	for (int i = 0; i < 3; i++) {
		size_t j = 0;
		while (j < 3 && strcmp(m[j].value, json[i]) != 0)
			j++;
		cr_assert_lt(j, 3, "alert %d not in the topic", i);
		cr_assert_str_eq(m[j].key, keys[i]);
		free(json[i]);
	}
	af_kmock_msgs_free(m, 3);
	free(file);
}

Test(deliver, settles_an_alert_only_once_the_topic_has_acknowledged_it)
{
	struct af_deliver_opts o = opts_files(true);
	struct af_alert a;
	o.dlq_topic = NULL;
	open_ok(&o);
	alert_make(&a, 1, false);

	cr_assert_eq(rd_kafka_mock_broker_set_down(fx.c.mc, 1), 0);
	give_alert(&a);
	/* Token 1 goes to files only: settled at once, but not passed on
	 * while token 0 is outstanding. */
	give_lines(AF_RT_LINES_DLQ, "{\"reason\":\"malformed_json\"}\n");
	cr_assert_eq(fx.o->settled(fx.o->ctx, 300), 0, "settled before the broker acknowledged");
	cr_assert_eq(fx.o->settled(fx.o->ctx, 0), 0);
	cr_assert_eq(stats().settled, 0);

	cr_assert_eq(rd_kafka_mock_broker_set_up(fx.c.mc, 1), 0);
	settle_all();
	cr_assert_eq(stats().settled, 2);
	cr_assert_eq(stats().undeliverable, 0);
	close_ok();
}

Test(deliver, sends_dead_letter_chunks_to_the_file_and_one_message_per_line_to_the_topic)
{
	struct af_deliver_opts o = opts_files(true);
	static const char *const chunks[] = {
	    "{\"reason\":\"malformed_json\",\"raw\":\"{x\"}\n"
	    "{\"reason\":\"not_object\",\"raw\":\"[1]\"}\n"
	    "{\"reason\":\"bad_timestamp\",\"raw\":\"{}\"}\n",
	    "{\"reason\":\"oversize\",\"raw_len\":9}\n"
	    "{\"reason\":\"unknown_schema\",\"raw\":\"{\\\"a\\\":1}\"}\n"};
	open_ok(&o);

	give_chunks_and_close(AF_RT_LINES_DLQ, chunks[0], chunks[1], fx.dlq_path);
	struct af_kmock_msg *m = af_kmock_read(&fx.c, "dlq", 2, 5);
	for (int c = 0; c < 2; c++) {
		for (const char *p = chunks[c]; *p != '\0'; p = strchr(p, '\n') + 1) {
			char line[256];
			snprintf(line, sizeof line, "%.*s", (int)strcspn(p, "\n"), p);
			cr_assert_eq(msgs_with(m, 5, line), 1, "not once in the topic: %s", line);
		}
	}
	for (int i = 0; i < 5; i++)
		cr_assert_eq(m[i].klen, 0, "dead letters have no key");
	af_kmock_msgs_free(m, 5);
}

Test(deliver, sends_event_chunks_to_the_file_and_the_events_topic_in_order)
{
	struct af_deliver_opts o = opts_files(true);
	char chunk[2][1024], line[128];
	open_ok(&o);

	event_chunk(chunk[0], sizeof chunk[0], 0, 0, 4);
	event_chunk(chunk[1], sizeof chunk[1], 1, 0, 3);
	give_chunks_and_close(AF_RT_LINES_EVENTS, chunk[0], chunk[1], fx.events_path);
	struct af_kmock_msg *m = af_kmock_read(&fx.c, "events", 1, 7);
	for (int i = 0; i < 7; i++) {
		event_line(line, sizeof line, i < 4 ? 0 : 1, i < 4 ? i : i - 4);
		cr_assert_str_eq(m[i].value, line, "message %d", i);
	}
	af_kmock_msgs_free(m, 7);
}

/* ---- HTTP: retries and dead letters ---- */

/* Open the outlet with the files and the webhook h, hand over alert 1 and
 * settle it; returns the alert's JSON (free it). */
static char *give_one_http_alert(struct af_deliver_opts *o, struct af_http_opts *h)
{
	struct af_alert a;

	o->http = h;
	open_ok(o);
	alert_make(&a, 1, false);
	char *json = alert_json(&a);

	give_alert(&a);
	settle_all();
	return json;
}

Test(deliver, settles_an_http_alert_after_the_retry_that_follows_a_500)
{
	static const struct af_httpd_reply answers[] = {{.status = 500}, {.status = 200}};
	struct af_deliver_opts o = opts_files(false);
	struct af_http_opts h = http_opts(answers, 2);
	char *json = give_one_http_alert(&o, &h);

	cr_assert_eq(af_httpd_count(&fx.srv), 2, "one failed request, one retry");
	cr_assert_str_eq(fx.srv.reqs[0].body, json);
	cr_assert_str_eq(fx.srv.reqs[1].body, json);
	cr_assert_eq(stats().undeliverable, 0);
	close_ok();
	char *dlq = read_path(fx.dlq_path);
	cr_assert_str_eq(dlq, "");
	free(dlq);
	free(json);
}

Test(deliver, writes_an_undeliverable_line_with_the_alert_when_http_answers_400)
{
	static const struct af_httpd_reply answers[] = {{.status = 400}};
	struct af_deliver_opts o = opts_files(false);
	struct af_http_opts h = http_opts(answers, 1);
	char doc[8192];
	char *json = give_one_http_alert(&o, &h);

	cr_assert_eq(stats().undeliverable, 1);
	cr_assert_eq(stats().settled, 1, "a dead-lettered alert is settled");
	close_ok();

	char *dlq = read_path(fx.dlq_path);
	const char *line = dead_line(dlq, "http");
	cr_assert_not_null(strstr(line, "\"detail\":\"HTTP 400"), "%s", line);
	char want[8300];
	json_string(json, strlen(json), doc, sizeof doc);
	snprintf(want, sizeof want, "\"document\":%s}\n", doc);
	cr_assert_not_null(strstr(line, want), "the alert is not the document:\n%s", line);
	cr_assert_eq(count_lines(dlq), 1);
	free(dlq);
	free(json);
}

Test(deliver, writes_a_document_that_is_not_utf8_as_base64)
{
	static const struct af_httpd_reply answers[] = {{.status = 400}};
	static const char bad[] = "{\"n\":\"\xff\xfe\"}";
	struct af_deliver_opts o = opts_files(false);
	struct af_http_opts h = http_opts(answers, 1);
	char chunk[64];
	o.http = &h;
	o.http_events = true;
	open_ok(&o);

	snprintf(chunk, sizeof chunk, "%s\n", bad);
	give_lines(AF_RT_LINES_EVENTS, chunk);
	settle_all();
	close_ok();

	char *dlq = read_path(fx.dlq_path);
	const char *line = dead_line(dlq, "http");
	const char *b64 = strstr(line, "\"document_base64\":\"");
	cr_assert_not_null(b64, "%s", line);
	b64 += strlen("\"document_base64\":\"");
	unsigned char raw[64];
	size_t n = af_test_base64_decode(b64, strcspn(b64, "\""), raw);
	cr_assert_eq(n, strlen(bad));
	cr_assert_arr_eq(raw, bad, n, "the bytes come back exactly");
	free(dlq);
}

Test(deliver, gives_up_on_a_line_an_output_can_never_take_and_delivers_the_rest_of_the_chunk)
{
	struct af_deliver_opts o = opts_files(false);
	struct af_http_opts h = http_opts(NULL, 0);
	char chunk[1024], line[3][300];
	h.queue_bytes = 100; /* the middle line can never fit */
	o.http = &h;
	o.http_events = true;
	open_ok(&o);

	event_line(line[0], sizeof line[0], 0, 0);
	snprintf(line[1], sizeof line[1], "{\"big\":\"%0200d\"}", 7);
	event_line(line[2], sizeof line[2], 0, 2);
	snprintf(chunk, sizeof chunk, "%s\n%s\n%s\n", line[0], line[1], line[2]);
	give_lines(AF_RT_LINES_EVENTS, chunk);
	/* A later token waits for that one: the count must come out even. */
	give_lines(AF_RT_LINES_DLQ, "{\"reason\":\"oversize\"}\n");
	settle_all();
	cr_assert_eq(stats().settled, 2);
	cr_assert_eq(stats().undeliverable, 1);
	cr_assert_eq(af_httpd_count(&fx.srv), 2);
	cr_assert_str_eq(fx.srv.reqs[0].body, line[0]);
	cr_assert_str_eq(fx.srv.reqs[1].body, line[2]);
	close_ok();

	char *dlq = read_path(fx.dlq_path), want[400];
	const char *dead = dead_line(dlq, "http");
	snprintf(want, sizeof want, "\"document\":\"{\\\"big\\\":\\\"%0200d\\\"}\"}", 7);
	cr_assert_not_null(strstr(dead, want), "%s", dead);
	cr_assert_not_null(strstr(dead, "refused"), "%s", dead);
	free(dlq);
}

Test(deliver, dead_letters_a_line_the_topic_rejects_with_the_line_as_the_document)
{
	static const char *const props[] = {"message.max.bytes=1000", "log_level=2"};
	struct af_deliver_opts o = opts_files(true);
	char chunk[4096], big[2100];
	o.props = props;
	o.nprops = 2;
	open_ok(&o);

	memset(big, 'x', 2000);
	big[2000] = '\0';
	snprintf(chunk, sizeof chunk, "{\"n\":1}\n{\"big\":\"%s\"}\n{\"n\":3}\n", big);
	give_lines(AF_RT_LINES_DLQ, chunk);
	settle_all();
	cr_assert_eq(stats().undeliverable, 1);
	close_ok();

	char *dlq = read_path(fx.dlq_path), want[2200];
	const char *dead = dead_line(dlq, "kafka:dlq");
	cr_assert_not_null(strstr(dead, "Message size too large"), "%s", dead);
	snprintf(want, sizeof want, "\"document\":\"{\\\"big\\\":\\\"%s\\\"}\"}", big);
	cr_assert_not_null(strstr(dead, want), "%s", dead);
	struct af_kmock_msg *m = af_kmock_read(&fx.c, "dlq", 2, 2);
	cr_assert_eq(msgs_with(m, 2, "{\"n\":1}"), 1);
	cr_assert_eq(msgs_with(m, 2, "{\"n\":3}"), 1);
	af_kmock_msgs_free(m, 2);
	free(dlq);
}

/* ---- back-pressure ---- */

Test(deliver, answers_again_when_an_output_is_full_and_delivers_each_alert_once_in_order)
{
	struct af_deliver_opts o = opts_files(false);
	struct af_http_opts h = http_opts(NULL, 0);
	struct af_alert a;
	char *json[20];
	h.queue_items = 2;
	o.http = &h;
	open_ok(&o);

	for (int i = 0; i < 20; i++) {
		alert_make(&a, i, false);
		json[i] = alert_json(&a);
		give_alert(&a);
	}
	cr_assert_gt(fx.agains, 0, "the outlet never answered AF_E_AGAIN");
	settle_all();
	cr_assert_eq(af_httpd_count(&fx.srv), 20);
	for (int i = 0; i < 20; i++)
		cr_assert_str_eq(fx.srv.reqs[i].body, json[i], "request %d", i);
	close_ok();

	char *file = read_path(fx.alerts_path), *p = file;
	cr_assert_eq(count_lines(file), 20, "each alert written to the file once");
	for (int i = 0; i < 20; i++) {
		cr_assert_eq(strncmp(p, json[i], strlen(json[i])), 0, "line %d", i);
		p = strchr(p, '\n') + 1;
		free(json[i]);
	}
	free(file);
}

Test(deliver, resumes_a_partly_taken_chunk_at_the_line_where_each_output_stopped)
{
	/* librdkafka takes 3 messages at a time, the HTTP sink 4: both
	 * refuse in the middle of a chunk of 10, at different lines. */
	static const char *const props[] = {"queue.buffering.max.messages=3", "log_level=2"};
	struct af_deliver_opts o = opts_files(true);
	struct af_http_opts h = http_opts(NULL, 0);
	char chunk[2][2048], line[128];
	o.props = props;
	o.nprops = 2;
	o.alerts_topic = o.dlq_topic = NULL;
	h.queue_items = 4;
	o.http = &h;
	o.http_events = true;
	open_ok(&o);

	event_chunk(chunk[0], sizeof chunk[0], 0, 0, 10);
	event_chunk(chunk[1], sizeof chunk[1], 1, 0, 5);
	give_lines(AF_RT_LINES_EVENTS, chunk[0]);
	give_lines(AF_RT_LINES_EVENTS, chunk[1]);
	cr_assert_gt(fx.agains, 0, "no output refused part of a chunk");
	settle_all();
	cr_assert_eq(af_httpd_count(&fx.srv), 15);
	for (int i = 0; i < 15; i++) {
		event_line(line, sizeof line, i < 10 ? 0 : 1, i < 10 ? i : i - 10);
		cr_assert_str_eq(fx.srv.reqs[i].body, line, "HTTP request %d", i);
	}
	close_ok();

	struct af_kmock_msg *m = af_kmock_read(&fx.c, "events", 1, 15);
	for (int i = 0; i < 15; i++) {
		event_line(line, sizeof line, i < 10 ? 0 : 1, i < 10 ? i : i - 10);
		cr_assert_str_eq(m[i].value, line, "message %d", i);
	}
	af_kmock_msgs_free(m, 15);
	assert_file_holds(fx.events_path, chunk[0], chunk[1],
	                  "the events file holds each chunk once");
}

Test(deliver, refuses_a_token_beyond_the_window_of_outstanding_ones)
{
	struct af_deliver_opts o = opts_files(false);
	char url[64], err[512] = "";
	/* Nothing is sent: documents wait for a batch that never fills. */
	struct af_http_opts h = {.kind = AF_HTTP_WEBHOOK,
	                         .url = url,
	                         .batch_items = 1000000,
	                         .linger_ms = 600000,
	                         .queue_items = AF_DELIVER_WINDOW + 10};
	snprintf(url, sizeof url, "http://127.0.0.1:%u/hook", af_test_closed_port());
	o.events_file = NULL;
	o.http = &h;
	o.http_events = true;
	open_ok(&o);

	for (uint64_t t = 0; t < AF_DELIVER_WINDOW; t++)
		cr_assert_eq(
		    fx.o->lines(fx.o->ctx, t, AF_RT_LINES_EVENTS, "{}\n", 3, err, sizeof err),
		    AF_OK, "token %llu: %s", (unsigned long long)t, err);
	cr_assert_eq(fx.o->lines(fx.o->ctx, AF_DELIVER_WINDOW, AF_RT_LINES_EVENTS, "{}\n", 3, err,
	                         sizeof err),
	             AF_E_AGAIN);
	struct af_deliver_stats st = stats();
	cr_assert_eq(st.documents, AF_DELIVER_WINDOW, "the refused token was not taken");
	cr_assert_eq(st.refused, 1);
	cr_assert_eq(st.settled, 0);
	cr_assert_eq(af_deliver_close(fx.d, 0, err, sizeof err), AF_E_IO);
	fx.d = NULL;
	cr_assert_not_null(strstr(err, "65536 of 65536 documents were not delivered"), "%s", err);
	cr_assert_not_null(strstr(err, "http holds 65536"), "%s", err);
}

/* ---- syslog ---- */

Test(deliver, settles_a_syslog_alert_when_queued_and_a_stashed_one_only_once_taken)
{
	struct af_deliver_opts o = opts_files(false);
	struct af_syslog_opts so;
	char target[64];
	struct af_alert a;
	uint16_t port = af_test_closed_port();

	/* Nobody listens yet: messages stay queued; the queue holds two. */
	snprintf(target, sizeof target, "tcp://127.0.0.1:%u", port);
	af_syslog_opts_init(&so);
	so.target = target;
	so.max_msg = AF_SYSLOG_MSG_MIN;
	so.queue_bytes = 2 * (AF_SYSLOG_MSG_MIN + 12);
	so.backoff_min_ms = 10;
	so.backoff_max_ms = 50;
	o.syslog = &so;
	open_ok(&o);

	for (int i = 0; i < 3; i++) {
		alert_make(&a, i, false);
		give_alert(&a); /* the third is taken into the stash */
	}
	cr_assert_eq(fx.agains, 0);
	cr_assert_eq(fx.o->settled(fx.o->ctx, 50), 2, "queued: settled; stashed: not");
	alert_make(&a, 3, false);
	cr_assert_eq(fx.o->alert(fx.o->ctx, 3, &a, (char[64]){0}, 64), AF_E_AGAIN,
	             "nothing new while one is stashed");

	/* The receiver comes up; the queue drains, the stashed one goes. */
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int)), 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0, "port %u taken", port);
	cr_assert_eq(listen(fd, 4), 0);
	settle_all();
	cr_assert_eq(stats().settled, 3);
	close_ok();

	int c = accept(fd, NULL, NULL);
	cr_assert_geq(c, 0);
	char buf[4096];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof buf - 1 && (r = read(c, buf + n, sizeof buf - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	size_t frames = 0;
	for (char *p = buf; (p = strstr(p, "auditflow@32473 id=\"")) != NULL; p++)
		frames++;
	cr_assert_eq(frames, 3, "three messages arrive:\n%s", buf);
	close(c);
	close(fd);
}

/* ---- close ---- */

Test(deliver, reports_at_close_what_was_not_delivered_by_the_deadline)
{
	struct af_deliver_opts o = opts_files(true);
	struct af_alert a;
	char err[512] = "";
	open_ok(&o);

	cr_assert_eq(rd_kafka_mock_broker_set_down(fx.c.mc, 1), 0);
	for (int i = 0; i < 3; i++) {
		alert_make(&a, i, false);
		give_alert(&a);
	}
	cr_assert_eq(af_deliver_close(fx.d, 200, err, sizeof err), AF_E_IO);
	fx.d = NULL;
	cr_assert_not_null(strstr(err, "3 of 3 documents were not delivered within 200 ms"), "%s",
	                   err);
	cr_assert_not_null(strstr(err, "kafka:alerts holds 3"), "%s", err);
}

/* ---- open errors name the output ---- */

Test(deliver, names_the_topic_output_that_has_no_brokers)
{
	struct af_deliver_opts o = opts_files(false);
	char err[512] = "";

	o.dlq_topic = "dead";
	cr_assert_eq(open_err(&o, err, sizeof err), AF_E_CONFIG);
	cr_assert_not_null(strstr(err, "dead-letter topic 'dead': no Kafka brokers"), "%s", err);
}

Test(deliver, names_the_topic_output_the_brokers_do_not_have)
{
	struct af_deliver_opts o = opts_files(true);
	char err[512] = "";

	rd_kafka_mock_topic_set_error(fx.c.mc, "missing", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
	o.events_topic = "missing";
	cr_assert_eq(open_err(&o, err, sizeof err), AF_E_CONFIG);
	cr_assert_not_null(strstr(err, "events topic 'missing': "), "%s", err);
	cr_assert_not_null(strstr(err, "does not exist"), "%s", err);
}

Test(deliver, names_the_http_output_when_its_options_are_bad)
{
	struct af_deliver_opts o = opts_files(false);
	struct af_http_opts h = {.kind = AF_HTTP_WEBHOOK, .url = "ftp://files.example/x"};
	char err[512] = "";

	o.http = &h;
	cr_assert_eq(open_err(&o, err, sizeof err), AF_E_CONFIG);
	cr_assert_eq(strncmp(err, "HTTP output: ", 13), 0, "%s", err);
}
