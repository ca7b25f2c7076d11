/* test_http.c - the HTTP sinks against a real HTTP server on loopback: a
 * libmicrohttpd daemon (tests/sinks/http_server.h) started by each test on
 * an ephemeral port, whose answers are scripted request by request
 * (status, Retry-After, body, per item _bulk statuses, a dropped
 * connection). Checked: every document ends exactly once, delivered or
 * dead-lettered; what is retried arrives again; what the bodies and
 * headers hold; back-pressure; secrets kept out of every text. No timing
 * is asserted but "not before" for Retry-After.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sinks/http.h"
#include "tests/sinks/http_server.h"

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the sink's side ---- */

#define DOCS 64

struct outcome {
	int ok[DOCS];
	int dead[DOCS];
	char reason[DOCS][512];
	char doc[DOCS][128]; /* a dead letter's document as given back */
};

static void on_done(void *ctx, uint64_t token, bool ok, const char *reason, const char *doc,
                    size_t len)
{
	struct outcome *o = ctx;
	cr_assert_lt(token, DOCS);
	if (ok) {
		cr_assert_null(reason);
		cr_assert_null(doc);
		cr_assert_eq(len, 0);
		o->ok[token]++;
	} else {
		cr_assert_not_null(doc);
		cr_assert_lt(len, sizeof o->doc[token]);
		o->dead[token]++;
		snprintf(o->reason[token], sizeof o->reason[token], "%s", reason);
		memcpy(o->doc[token], doc, len);
		o->doc[token][len] = '\0';
	}
}

static struct outcome out;
static struct af_httpd srv;
static struct af_http *sink; /* the test's, closed by teardown */
static char err[512];
static char url[128];

static void setup(void)
{
	memset(&out, 0, sizeof out);
	err[0] = '\0';
}

/* The sink first: closing it aborts what it still has in flight to the
 * server. */
static void teardown(void)
{
	if (sink != NULL)
		af_http_close(sink);
	sink = NULL;
	af_httpd_stop(&srv);
}

TestSuite(http, .init = setup, .fini = teardown);

/* Start the server with the script (answering _bulk by default for an ES
 * sink) and return options for a sink against it: quick back-off, fixed
 * seed. The test may change them before open_sink. */
static struct af_http_opts serve(enum af_http_kind kind, const char *path,
                                 const struct af_httpd_reply *script, size_t n)
{
	af_httpd_start(&srv, kind == AF_HTTP_ES, script, n);
	snprintf(url, sizeof url, "http://127.0.0.1:%u%s", srv.port, path);
	struct af_http_opts o = {
	    .kind = kind,
	    .url = url,
	    .hec_token = kind == AF_HTTP_HEC ? "tok-3b9f2c71" : NULL,
	    .es_index = kind == AF_HTTP_ES ? "alerts" : NULL,
	    .max_in_flight = 1,
	    .backoff_base_ms = 5,
	    .backoff_cap_ms = 40,
	    .linger_ms = 60000, /* tests send with af_http_flush */
	    .seed = 42,
	    .on_done = on_done,
	    .ctx = &out,
	};
	return o;
}

/* The test's sink; teardown closes it. */
static struct af_http *open_sink(const struct af_http_opts *o)
{
	sink = af_http_open(o, err, sizeof err);
	cr_assert_not_null(sink, "%s", err);
	return sink;
}

/* The text af_http_open refused o with. */
static const char *refusal(const struct af_http_opts *o)
{
	cr_assert_null(af_http_open(o, err, sizeof err));
	return err;
}

/* {"id":"d<i>","n":<i>} */
static void submit(struct af_http *h, uint64_t i)
{
	char doc[64];
	int n = snprintf(doc, sizeof doc, "{\"id\":\"d%02u\",\"n\":%u}", (unsigned)i, (unsigned)i);
	cr_assert_eq(af_http_submit(h, i, doc, (size_t)n), AF_OK);
}

/* Poll until nothing is held; a stuck sink fails after 8 s (a hang guard,
 * not a timing check). */
static void settle(struct af_http *h)
{
	uint64_t give_up = mono_ms() + 8000;
	while (af_http_pending(h) > 0) {
		cr_assert_eq(af_http_poll(h, 50), AF_OK);
		cr_assert_lt(mono_ms(), give_up, "the sink did not settle its documents");
	}
}

/* Send what is held without waiting for linger, then settle. */
static void drain(struct af_http *h)
{
	af_http_flush(h);
	settle(h);
}

/* Every one of docs [0, n) settled exactly once; returns how many died. */
static int settled_once(int n)
{
	int dead = 0;
	for (int i = 0; i < n; i++) {
		cr_assert_eq(out.ok[i] + out.dead[i], 1, "document %d settled %d times", i,
		             out.ok[i] + out.dead[i]);
		dead += out.dead[i];
	}
	return dead;
}

/* Docs [0, n) submitted and drained, each settled once; returns how many
 * died. */
static int send_docs(struct af_http *h, int n)
{
	for (int i = 0; i < n; i++)
		submit(h, (uint64_t)i);
	drain(h);
	return settled_once(n);
}

static struct af_http_stats stats_of(struct af_http *h)
{
	struct af_http_stats st;
	af_http_stats(h, &st);
	return st;
}

/* One document through a webhook sink to the end, against the scripted
 * server; the sink is returned for its counters. */
static struct af_http *one_doc(const struct af_httpd_reply *script, size_t n, uint32_t max_retries)
{
	struct af_http_opts o = serve(AF_HTTP_WEBHOOK, "/hook", script, n);
	o.max_retries = max_retries;
	struct af_http *h = open_sink(&o);

	submit(h, 0);
	drain(h);
	return h;
}

/* What request i should have been; NULL fields are not checked. */
struct want {
	const char *url, *auth, *ctype, *body;
};

static void expect_request(size_t i, struct want w)
{
	cr_assert_lt(i, af_httpd_count(&srv), "request %zu never came", i);
	const struct af_httpd_req *q = &srv.reqs[i];
	if (w.url != NULL)
		cr_assert_str_eq(q->url, w.url, "request %zu: url", i);
	if (w.auth != NULL)
		cr_assert_str_eq(q->auth, w.auth, "request %zu: Authorization", i);
	if (w.ctype != NULL)
		cr_assert_str_eq(q->ctype, w.ctype, "request %zu: Content-Type", i);
	if (w.body != NULL)
		cr_assert_str_eq(q->body, w.body, "request %zu: body", i);
}

static void expect_in(const char *text, const char *part)
{
	cr_assert_not_null(strstr(text, part), "'%s' not in: %s", part, text);
}

static void expect_not_in(const char *text, const char *part)
{
	cr_assert_null(strstr(text, part), "'%s' in: %s", part, text);
}

#define SCRIPT(s) (s), sizeof(s) / sizeof((s)[0])

/* ---- Splunk HEC ---- */

Test(http, hec_sends_events_with_the_token_in_the_authorization_header)
{
	struct af_http_opts o = serve(AF_HTTP_HEC, "", NULL, 0);
	struct af_http *h = open_sink(&o);

	cr_assert_eq(send_docs(h, 2), 0);
	cr_assert_eq(af_httpd_count(&srv), 1);
	expect_request(0, (struct want){.url = "/services/collector/event",
	                                .auth = "Splunk tok-3b9f2c71",
	                                .body = "{\"event\":{\"id\":\"d00\",\"n\":0}}\n"
	                                        "{\"event\":{\"id\":\"d01\",\"n\":1}}\n"});
}

Test(http, hec_stamps_an_event_with_the_time_of_its_document)
{
	struct af_http_opts o = serve(AF_HTTP_HEC, "", NULL, 0);
	o.hec_sourcetype = "auditflow:alert";
	struct af_http *h = open_sink(&o);
	const char *doc = "{\"id\":\"x\",\"ts\":\"2025-08-25T05:58:00.120Z\"}";

	cr_assert_eq(af_http_submit(h, 0, doc, strlen(doc)), AF_OK);
	drain(h);
	cr_assert_eq(settled_once(1), 0);
	expect_request(0, (struct want){.body = "{\"time\":1756101480.120,\"sourcetype\":"
	                                        "\"auditflow:alert\",\"event\":{\"id\":\"x\","
	                                        "\"ts\":\"2025-08-25T05:58:00.120Z\"}}\n"});
}

Test(http, hec_never_writes_its_token_in_a_reason_or_the_last_error)
{
	static const struct af_httpd_reply script[] = {{.status = 401, .echo_auth = true}};
	struct af_http_opts o = serve(AF_HTTP_HEC, "", SCRIPT(script));
	struct af_http *h = open_sink(&o);

	submit(h, 0);
	drain(h);
	struct af_http_stats st = stats_of(h);
	cr_assert_eq(out.dead[0], 1);
	expect_in(srv.reqs[0].auth, "tok-3b9f2c71");
	expect_in(out.reason[0], "HTTP 401");
	expect_in(out.reason[0], "Splunk ***");
	expect_not_in(out.reason[0], "tok-3b9f2c71");
	expect_not_in(st.last_error, "tok-3b9f2c71");
	cr_assert_neq(st.last_error[0], '\0');
}

/* ---- outcomes of whole requests ---- */

Test(http, retries_a_500_until_the_server_takes_the_document)
{
	static const struct af_httpd_reply script[] = {{.status = 500}, {.status = 503}};
	struct af_http_stats st = stats_of(one_doc(SCRIPT(script), 0));

	cr_assert_eq(settled_once(1), 0);
	cr_assert_eq(af_httpd_carried(&srv, "\"d00\""), 3);
	cr_assert_eq(st.requests, 3);
	cr_assert_eq(st.items_retried, 2);
	cr_assert_eq(st.items_ok, 1);
	expect_in(st.last_error, "HTTP 503");
}

Test(http, waits_for_retry_after_before_sending_again)
{
	static const struct af_httpd_reply script[] = {{.status = 429, .retry_after = 1}};
	one_doc(SCRIPT(script), 0);

	cr_assert_eq(settled_once(1), 0);
	cr_assert_eq(af_httpd_count(&srv), 2);
	/* Not before: one second from the answer, so from the first arrival
	 * (the clock is read in whole milliseconds on both sides). */
	cr_assert_geq(srv.reqs[1].t_ms - srv.reqs[0].t_ms, 999);
}

Test(http, dead_letters_a_document_the_server_rejects_with_the_reason)
{
	static const struct af_httpd_reply script[] = {
	    {.status = 400, .body = "{\"text\":\"bad field\"}"}};
	struct af_http_stats st = stats_of(one_doc(SCRIPT(script), 0));

	cr_assert_eq(settled_once(1), 1);
	cr_assert_eq(af_httpd_count(&srv), 1);
	expect_in(out.reason[0], "HTTP 400");
	expect_in(out.reason[0], "bad field");
	cr_assert_str_eq(out.doc[0], "{\"id\":\"d00\",\"n\":0}", "the document comes back");
	cr_assert_eq(st.items_dead, 1);
}

Test(http, sends_each_document_of_a_rejected_batch_alone_to_find_the_bad_one)
{
	static const struct af_httpd_reply script[] = {
	    {.status = 400}, {.status = 200}, {.status = 400, .body = "{\"text\":\"d01 is bad\"}"}};
	struct af_http_opts o = serve(AF_HTTP_WEBHOOK, "/hook", SCRIPT(script));
	struct af_http *h = open_sink(&o);

	cr_assert_eq(send_docs(h, 3), 1);
	cr_assert_eq(out.dead[1], 1);
	expect_in(out.reason[1], "d01 is bad");
	cr_assert_str_eq(out.doc[1], "{\"id\":\"d01\",\"n\":1}");
	cr_assert_eq(af_httpd_count(&srv), 4);
	expect_request(1, (struct want){.body = "[{\"id\":\"d00\",\"n\":0}]"});
	expect_request(2, (struct want){.body = "[{\"id\":\"d01\",\"n\":1}]"});
}

Test(http, gives_up_after_max_retries_with_the_last_failure_as_reason)
{
	static const struct af_httpd_reply script[] = {
	    {.status = 502}, {.status = 502}, {.status = 502}};
	one_doc(SCRIPT(script), 2);

	cr_assert_eq(settled_once(1), 1);
	cr_assert_eq(af_httpd_count(&srv), 3);
	expect_in(out.reason[0], "gave up after 3 attempts: HTTP 502");
}

Test(http, retries_after_the_server_drops_the_connection)
{
	static const struct af_httpd_reply script[] = {{.reset = true}};
	one_doc(SCRIPT(script), 0);

	cr_assert_eq(settled_once(1), 0);
	cr_assert_eq(af_httpd_carried(&srv, "\"d00\""), 2);
}

Test(http, delivers_once_the_server_is_back_after_being_down)
{
	struct af_http_opts o = serve(AF_HTTP_WEBHOOK, "/hook", NULL, 0);
	uint16_t port = srv.port;
	struct af_http *h = open_sink(&o);
	struct af_http_stats st;

	af_httpd_down(&srv);
	submit(h, 0);
	submit(h, 1);
	af_http_flush(h);
	uint64_t give_up = mono_ms() + 8000;
	do {
		cr_assert_eq(af_http_poll(h, 20), AF_OK);
		af_http_stats(h, &st);
		cr_assert_lt(mono_ms(), give_up);
	} while (st.items_retried < 4); /* two failed attempts */
	cr_assert_eq(af_http_pending(h), 2);
	cr_assert_neq(st.last_error[0], '\0');

	af_httpd_listen(&srv, port);
	drain(h);
	cr_assert_eq(settled_once(2), 0);
	cr_assert_eq(af_httpd_count(&srv), 1);
	expect_request(
	    0, (struct want){.body = "[{\"id\":\"d00\",\"n\":0},{\"id\":\"d01\",\"n\":1}]"});
}

Test(http, keeps_the_order_of_first_attempts_across_retries)
{
	static const struct af_httpd_reply script[] = {
	    {.status = 200}, {.status = 500}, {.status = 429}};
	struct af_http_opts o = serve(AF_HTTP_WEBHOOK, "/hook", SCRIPT(script));
	o.batch_items = 3;
	struct af_http *h = open_sink(&o);
	char id[16];

	cr_assert_eq(send_docs(h, 20), 0);
	/* The first request carrying each document comes in submission order. */
	size_t last = 0;
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof id, "\"d%02d\"", i);
		size_t first = AF_HTTPD_REQS;
		for (size_t r = 0; r < srv.n && first == AF_HTTPD_REQS; r++)
			if (strstr(srv.reqs[r].body, id) != NULL)
				first = r;
		cr_assert_geq(first, last, "%s first sent in request %zu, after %zu", id, first,
		              last);
		last = first;
	}
	/* The failed batch (d03..d05) went again before anything newer. */
	expect_request(3,
	               (struct want){.body = "[{\"id\":\"d03\",\"n\":3},{\"id\":\"d04\",\"n\":4},"
	                                     "{\"id\":\"d05\",\"n\":5}]"});
}

/* ---- back-pressure ---- */

/* Doc i, refused while the queue was full, is taken once what was held has
 * gone; docs [0, i] are then all delivered, once. */
static void takes_it_once_drained(struct af_http *h, uint64_t i)
{
	drain(h);
	submit(h, i);
	drain(h);
	cr_assert_eq(settled_once((int)i + 1), 0);
}

Test(http, answers_again_when_the_queue_is_full_and_takes_more_once_drained)
{
	struct af_http_opts o = serve(AF_HTTP_WEBHOOK, "/hook", NULL, 0);
	o.queue_items = 3;
	struct af_http *h = open_sink(&o);

	for (int i = 0; i < 3; i++)
		submit(h, (uint64_t)i);
	cr_assert_eq(af_http_submit(h, 3, "{}", 2), AF_E_AGAIN);
	cr_assert_eq(af_http_pending(h), 3);
	takes_it_once_drained(h, 3);
}

Test(http, counts_bytes_in_flight_against_the_queue_bound)
{
	struct af_http_opts o = serve(AF_HTTP_WEBHOOK, "/hook", NULL, 0);
	o.queue_bytes = 40;
	struct af_http *h = open_sink(&o);

	submit(h, 0); /* 18 bytes */
	submit(h, 1);
	cr_assert_eq(af_http_submit(h, 2, "{\"id\":\"d02\",\"n\":2}", 18), AF_E_AGAIN);
	af_http_flush(h);
	cr_assert_eq(af_http_poll(h, 0), AF_OK); /* the request starts */
	if (stats_of(h).in_flight == 1)          /* still held while in flight */
		cr_assert_eq(af_http_submit(h, 2, "{\"id\":\"d02\",\"n\":2}", 18), AF_E_AGAIN);
	cr_assert_eq(af_http_submit(h, 2, "{}", 0), AF_E_INVALID);
	const char *big = "{\"pad\":\"x..............................\"}";
	cr_assert_gt(strlen(big), 40);
	cr_assert_eq(af_http_submit(h, 2, big, strlen(big)), AF_E_INVALID);
	takes_it_once_drained(h, 2);
}

Test(http, sends_a_partial_batch_when_flushed_without_waiting_for_linger)
{
	struct af_http_opts o = serve(AF_HTTP_WEBHOOK, "/hook", NULL, 0);
	struct af_http *h = open_sink(&o);

	submit(h, 0);
	cr_assert_eq(af_http_poll(h, 30), AF_OK);
	cr_assert_eq(af_httpd_count(&srv), 0); /* lingering (60 s) */
	drain(h);                              /* flushes */
	cr_assert_eq(settled_once(1), 0);
	cr_assert_eq(af_httpd_count(&srv), 1);
}

Test(http, sends_a_full_batch_without_waiting_for_linger)
{
	struct af_http_opts o = serve(AF_HTTP_WEBHOOK, "/hook", NULL, 0);
	o.batch_items = 2;
	struct af_http *h = open_sink(&o);

	submit(h, 0);
	submit(h, 1);
	settle(h); /* no flush */
	cr_assert_eq(settled_once(2), 0);
}

/* ---- Elasticsearch _bulk ---- */

Test(http, es_writes_an_action_line_with_the_id_then_the_document)
{
	struct af_http_opts o = serve(AF_HTTP_ES, "", NULL, 0);
	struct af_http *h = open_sink(&o);
	const char *pretty = "{\"id\":\"p\",\n \"n\": 9}";

	submit(h, 0);
	cr_assert_eq(af_http_submit(h, 1, pretty, strlen(pretty)), AF_OK);
	drain(h);
	cr_assert_eq(settled_once(2), 0);
	expect_request(0,
	               (struct want){.url = "/_bulk",
	                             .ctype = "application/x-ndjson",
	                             .body = "{\"index\":{\"_index\":\"alerts\",\"_id\":\"d00\"}}\n"
	                                     "{\"id\":\"d00\",\"n\":0}\n"
	                                     "{\"index\":{\"_index\":\"alerts\",\"_id\":\"p\"}}\n"
	                                     "{\"id\":\"p\",  \"n\": 9}\n"});
}

Test(http, es_uses_the_index_of_the_url_when_none_is_given)
{
	struct af_http_opts o = serve(AF_HTTP_ES, "/alerts-2025/", NULL, 0);
	o.es_index = NULL;
	struct af_http *h = open_sink(&o);

	cr_assert_eq(af_http_submit(h, 0, "{\"n\":1}", 7), AF_OK);
	drain(h);
	cr_assert_eq(settled_once(1), 0);
	expect_request(
	    0, (struct want){.url = "/alerts-2025/_bulk", .body = "{\"index\":{}}\n{\"n\":1}\n"});
}

Test(http, es_retries_429_items_and_dead_letters_400_items_of_a_bulk_answer)
{
	static const struct af_httpd_reply script[] = {{.items = "201,429,400,503"}};
	struct af_http_opts o = serve(AF_HTTP_ES, "", SCRIPT(script));
	struct af_http *h = open_sink(&o);

	cr_assert_eq(send_docs(h, 4), 1);
	struct af_http_stats st = stats_of(h);
	cr_assert_eq(out.dead[2], 1);
	expect_in(out.reason[2], "HTTP 400 mapper_parsing_exception: failed to parse field [n]");
	cr_assert_str_eq(out.doc[2], "{\"id\":\"d02\",\"n\":2}", "the item's own document");
	cr_assert_eq(af_httpd_count(&srv), 2);
	/* Only the 429 and 503 items went again, under the same _id. */
	expect_request(1,
	               (struct want){.body = "{\"index\":{\"_index\":\"alerts\",\"_id\":\"d01\"}}\n"
	                                     "{\"id\":\"d01\",\"n\":1}\n"
	                                     "{\"index\":{\"_index\":\"alerts\",\"_id\":\"d03\"}}\n"
	                                     "{\"id\":\"d03\",\"n\":3}\n"});
	cr_assert_eq(st.items_ok, 3);
	cr_assert_eq(st.items_retried, 2);
	cr_assert_eq(st.items_dead, 1);
}

Test(http, es_retries_the_documents_of_an_unreadable_bulk_answer)
{
	static const struct af_httpd_reply script[] = {
	    {.body = "{\"took\":1,\"errors\":true,\"items\":[{\"ind"}};
	struct af_http_opts o = serve(AF_HTTP_ES, "", SCRIPT(script));

	cr_assert_eq(send_docs(open_sink(&o), 1), 0);
	cr_assert_eq(af_httpd_carried(&srv, "\"_id\":\"d00\""), 2);
}

Test(http, settles_every_document_exactly_once_under_mixed_answers)
{
	static const struct af_httpd_reply script[] = {
	    {.status = 500},          {.items = "201,429,400"}, {.reset = true},
	    {.status = 429},          {.items = "400,201,500"}, {.status = 503},
	    {.items = "201,201,429"}, {.status = 404},
	};
	struct af_http_opts o = serve(AF_HTTP_ES, "", SCRIPT(script));
	o.batch_items = 5;
	o.max_in_flight = 2;
	struct af_http *h = open_sink(&o);

	int dead = send_docs(h, 40);
	struct af_http_stats st = stats_of(h);
	cr_assert_eq(st.items_ok + st.items_dead, 40);
	cr_assert_eq(st.items_dead, (uint64_t)dead);
	cr_assert_gt(dead, 0);
	cr_assert_eq(st.queue_items, 0);
	cr_assert_eq(st.queue_bytes, 0);
	cr_assert_eq(st.in_flight, 0);
}

/* ---- webhook ---- */

Test(http, webhook_sends_a_json_array_of_the_documents)
{
	struct af_http_opts o = serve(AF_HTTP_WEBHOOK, "/hook?x=1", NULL, 0);
	o.bearer_token = "b-77d1e0";

	cr_assert_eq(send_docs(open_sink(&o), 2), 0);
	expect_request(
	    0, (struct want){.url = "/hook",
	                     .auth = "Bearer b-77d1e0",
	                     .ctype = "application/json",
	                     .body = "[{\"id\":\"d00\",\"n\":0},{\"id\":\"d01\",\"n\":1}]"});
}

Test(http, webhook_sends_one_document_per_request_when_asked)
{
	struct af_http_opts o = serve(AF_HTTP_WEBHOOK, "/hook", NULL, 0);
	o.webhook_single = true;

	cr_assert_eq(send_docs(open_sink(&o), 2), 0);
	cr_assert_eq(af_httpd_count(&srv), 2);
	expect_request(0, (struct want){.body = "{\"id\":\"d00\",\"n\":0}"});
	expect_request(1, (struct want){.body = "{\"id\":\"d01\",\"n\":1}"});
}

/* ---- opening ---- */

Test(http, refuses_hec_without_a_token)
{
	struct af_http_opts o = {
	    .kind = AF_HTTP_HEC, .url = "https://splunk.example:8088", .on_done = on_done};

	expect_in(refusal(&o), "hec_token");
}

Test(http, refuses_two_credentials_without_showing_either)
{
	struct af_http_opts o = {.kind = AF_HTTP_WEBHOOK,
	                         .url = "https://ops:pw-5a1c@hooks.example/in",
	                         .bearer_token = "b-77d1e0",
	                         .on_done = on_done};
	const char *e = refusal(&o);

	expect_in(e, "https://hooks.example/in");
	expect_not_in(e, "pw-5a1c");
	expect_not_in(e, "b-77d1e0");
}

Test(http, refuses_a_url_that_is_not_http)
{
	struct af_http_opts o = {
	    .kind = AF_HTTP_WEBHOOK, .url = "ftp://files.example/x", .on_done = on_done};

	expect_in(refusal(&o), "http://");
}

Test(http, refuses_a_header_that_would_split_the_request)
{
	const char *headers[] = {"X-Key: k1\r\nX-Evil: 1", NULL};
	struct af_http_opts o = {.kind = AF_HTTP_WEBHOOK,
	                         .url = "https://hooks.example/in",
	                         .headers = headers,
	                         .on_done = on_done};

	expect_in(refusal(&o), "extra header 1");
}
