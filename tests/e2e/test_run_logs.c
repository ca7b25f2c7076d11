/* test_run_logs.c - the log lines of `auditflow run` end to end: the
 * demo's sign-ins produced into `auditflow broker` and read to the end
 * (-e) by the real binary. With --log-format json every line on stderr
 * before the closing summary is a JSON object with ts, level and msg
 * (librdkafka's debug lines, the producer's too, included); by default
 * every line is logfmt; --log-level error hides the warnings and notices;
 * and a SASL password and a Splunk HEC token given to the run appear
 * nowhere in what it writes, librdkafka's debug output included.
 *
 * Thread: the test's; the broker, kcat and the run are real processes;
 * the HEC endpoint is webhook.h's server, on its own thread.
 * Links: webhook.c and libmicrohttpd (tests/CMakeLists.txt).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/parse/json.h"
#include "run.h"
#include "webhook.h"

#define DEMO AF_TEST_DATA "/demo/signins.jsonl"
/* The closing summary's first line: what comes before it is the log. */
#define SUMMARY_START "  events in "
#define SASL_SECRET   "S3cretPa55"
#define HEC_SECRET    "hec-7d1e0c5b-secret"

static struct af_e2e_broker broker;
static struct af_e2e_webhook hec;

static void logs_fini(void)
{
	af_e2e_webhook_close(&hec);
	af_e2e_broker_close(&broker);
	af_e2e_teardown();
}

TestSuite(run_logs, .init = af_e2e_setup, .fini = logs_fini, .timeout = 280);

/* A broker holding the demo's sign-ins in topic signins. */
static void broker_with_signins(void)
{
	char err[1024];
	const char *const extra[] = {"--topic", "signins:1", "--topic", "alerts:1", NULL};
	cr_assert_eq(af_e2e_broker_open(&broker, extra, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(af_e2e_produce(broker.addr, "signins", DEMO, NULL, err, sizeof(err)), 0, "%s",
	             err);
}

/* auditflow run over signins to the end, as group, with the extra options
 * (NULL-terminated, at most 24). */
static void run_to_end(struct af_run *r, const char *group, const char *const *extra)
{
	const char *args[48] = {"run",       "-b",
	                        broker.addr, "-t",
	                        "signins",   "-G",
	                        group,       "-e",
	                        "--offset",  "beginning",
	                        "--metrics", "127.0.0.1:0",
	                        "-o",        af_e2e_path("alerts.jsonl"),
	                        "--summary", af_e2e_path("summary.json")};
	size_t n = 16;
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	cr_assert_eq(af_run(r, NULL, args), 0, "auditflow could not be started");
	cr_assert_eq(r->status, 0, "auditflow run failed: %s", r->err);
}

/* The log: stderr up to the closing summary, cut there (in place). */
static char *log_part(char *err)
{
	char *summary = strstr(err, SUMMARY_START);
	cr_assert_not_null(summary, "no closing summary in: %s", err);
	cr_assert(summary == err || summary[-1] == '\n', "the summary starts a line: %s", err);
	*summary = '\0';
	return err;
}

/* Whether s is "YYYY-MM-DDTHH:MM:SS.mmmZ". */
static bool rfc3339_ms(const char *s, size_t len)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	if (len != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; i < len; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
			return false;
	return true;
}

static bool a_level(const char *s, size_t len)
{
	static const char *const levels[] = {"error", "warn", "info", "debug"};
	for (size_t i = 0; i < 4; i++)
		if (len == strlen(levels[i]) && memcmp(s, levels[i], len) == 0)
			return true;
	return false;
}

Test(run_logs, writes_every_line_before_the_summary_as_a_json_object_with_ts_level_and_msg)
{
	enum { S_TS, S_LEVEL, S_MSG, S_COMPONENT, S_CLIENT, S_COUNT };
	static const struct af_jpath paths[] = {
	    {"ts", S_TS, 0},         {"level", S_LEVEL, 0},
	    {"msg", S_MSG, 0},       {"component", S_COMPONENT, 0},
	    {"client", S_CLIENT, 0},
	};
	char err[256];
	struct af_jspec *spec = af_jspec_new(paths, S_COUNT, S_COUNT, err, sizeof(err));
	struct af_jparser *p = af_jparser_new(1 << 16);
	cr_assert(spec != NULL && p != NULL, "%s", err);

	broker_with_signins();
	struct af_run r;
	/* librdkafka's debug lines, the consumer's and the alerts
	 * producer's, are the most varied text the log carries. */
	const char *const extra[] = {"--log-format",   "json",   "--log-level",
	                             "debug",          "-X",     "debug=cgrp,conf,topic",
	                             "--alerts-topic", "alerts", NULL};
	run_to_end(&r, "json", extra);
	char *log = log_part(r.err);

	size_t lines = 0, producer = 0, metrics = 0;
	static char buf[(1 << 16) + AF_JSON_PADDING];
	for (char *at = log, *nl; (nl = strchr(at, '\n')) != NULL; at = nl + 1) {
		size_t len = (size_t)(nl - at);
		cr_assert_lt(len, 1 << 16);
		memset(buf, 0, len + AF_JSON_PADDING);
		memcpy(buf, at, len);
		struct af_jval v[S_COUNT];
		cr_assert_eq(af_jparser_validate(p, buf, len), AF_REASON_NONE,
		             "line %zu is not a JSON object: %s", lines + 1, buf);
		cr_assert_eq(af_jparser_extract(p, spec, buf, len, v), AF_REASON_NONE, "%s", buf);
		cr_assert(v[S_TS].type == AF_J_STRING && rfc3339_ms(v[S_TS].s, v[S_TS].len),
		          "ts: %s", buf);
		cr_assert(v[S_LEVEL].type == AF_J_STRING && a_level(v[S_LEVEL].s, v[S_LEVEL].len),
		          "level: %s", buf);
		cr_assert(v[S_MSG].type == AF_J_STRING && v[S_MSG].len > 0, "msg: %s", buf);
		producer += af_jval_ieq(&v[S_CLIENT], "producer");
		metrics += af_jval_ieq(&v[S_COMPONENT], "metrics");
		lines++;
	}
	cr_assert(*log == '\0' || log[strlen(log) - 1] == '\n', "the log ends with a whole line");
	cr_assert_gt(lines, 20, "librdkafka's debug lines are in the log: %zu lines", lines);
	cr_assert_gt(producer, 0, "the producer's lines go through the log too");
	cr_assert_eq(metrics, 1, "the metrics notice is one line");
	cr_log_info("%zu JSON lines before the summary", lines);
	af_jparser_free(p);
	af_jspec_free(spec);
	af_run_free(&r);
}

/* A run that logs a warning (librdkafka's: a SASL user name is set but
 * no SASL mechanism) and notices (where metrics are served, the start),
 * at level (NULL: the default); r->err cut at the summary. */
static void run_warning_and_notice(struct af_run *r, const char *group, const char *level)
{
	const char *extra[] = {"-X", "sasl.username=e2e", NULL, NULL, NULL};
	if (level != NULL) {
		extra[2] = "--log-level";
		extra[3] = level;
	}
	run_to_end(r, group, extra);
	(void)log_part(r->err);
}

Test(run_logs, writes_logfmt_lines_with_level_and_msg_by_default)
{
	broker_with_signins();
	struct af_run r;
	run_warning_and_notice(&r, "logfmt", NULL);

	size_t lines = 0;
	for (char *at = r.err, *nl; (nl = strchr(at, '\n')) != NULL; at = nl + 1, lines++) {
		*nl = '\0';
		cr_assert_eq(strncmp(at, "ts=", 3), 0, "line %zu: %s", lines + 1, at);
		cr_assert(rfc3339_ms(at + 3, 24) && at[27] == ' ', "ts: %s", at);
		cr_assert_eq(strncmp(at + 28, "level=", 6), 0, "level second: %s", at);
		cr_assert_not_null(strstr(at, " msg="), "%s", at);
		*nl = '\n';
	}
	cr_assert_geq(lines, 3, "%s", r.err);
	cr_assert_not_null(strstr(r.err, " level=warn msg="), "librdkafka's warning: %s", r.err);
	cr_assert_not_null(strstr(r.err, " facility=CONFWARN"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, " level=info msg=\"metrics at http://127.0.0.1:"), "%s",
	                   r.err);
	af_run_free(&r);
}

Test(run_logs, writes_no_warning_or_notice_at_log_level_error)
{
	broker_with_signins();
	struct af_run r;
	run_warning_and_notice(&r, "quiet", "error");
	cr_assert_str_eq(r.err, "", "nothing before the summary");
	af_run_free(&r);
}

/* The HEC endpoint refuses every request, and its answer repeats the
 * Authorization header it got, token and all: the text of every dead
 * letter starts from it. Counts requests with the token. */
static size_t hec_with_token;

static unsigned hec_answer(void *arg, const struct af_e2e_webhook_req *req, const char **answer)
{
	static char body[512];
	(void)arg;
	const char *auth = req->authorization ? req->authorization : "";
	hec_with_token += strcmp(auth, "Splunk " HEC_SECRET) == 0;
	snprintf(body, sizeof(body), "{\"text\":\"Invalid token\",\"code\":4,\"got\":\"%s\"}",
	         auth);
	*answer = body;
	return MHD_HTTP_UNAUTHORIZED;
}

/* Whether secret is anywhere in the file at path (which must exist). */
static bool file_holds(const char *path, const char *secret)
{
	char *text = af_slurp(path, NULL);
	cr_assert_not_null(text, "%s is missing", path);
	bool found = strstr(text, secret) != NULL;
	free(text);
	return found;
}

Test(run_logs, never_shows_a_sasl_password_or_an_hec_token)
{
	char err[256];
	hec_with_token = 0;
	cr_assert_eq(af_e2e_webhook_open(&hec, hec_answer, NULL, err, sizeof(err)), 0, "%s", err);
	char conf[256], dlq[256];
	snprintf(conf, sizeof(conf), "%s", af_e2e_path("hec.yaml"));
	snprintf(dlq, sizeof(dlq), "%s", af_e2e_path("dlq.jsonl"));
	char yaml[512];
	int n = snprintf(yaml, sizeof(yaml),
	                 "http:\n"
	                 "  kind: hec\n"
	                 "  url: \"http://127.0.0.1:%u\"\n"
	                 "  token: \"${AF_E2E_HEC_TOKEN}\"\n",
	                 hec.port);
	cr_assert_eq(af_spit(conf, yaml, (size_t)n), 0);
	setenv("AF_E2E_HEC_TOKEN", HEC_SECRET, 1);

	broker_with_signins();
	struct af_run r;
	/* librdkafka 2.x writes "[redacted]" for sasl.password in its own
	 * configuration dump, so the password is also pasted into a setting
	 * it shows as it is (client.id, which names the client in many of
	 * its lines), as a secret given under the wrong key would be: the
	 * log must redact it there too. -X debug=all: every line librdkafka
	 * has, the consumer's and the alerts producer's. */
	const char *const extra[] = {"-c",
	                             conf,
	                             "--dlq",
	                             dlq,
	                             "--alerts-topic",
	                             "alerts",
	                             "--log-level",
	                             "debug",
	                             "-X",
	                             "sasl.password=" SASL_SECRET,
	                             "-X",
	                             "client.id=af-" SASL_SECRET,
	                             "-X",
	                             "debug=all",
	                             NULL};
	run_to_end(&r, "secrets", extra);

	const char *const secrets[] = {SASL_SECRET, HEC_SECRET};
	for (size_t i = 0; i < 2; i++) {
		cr_assert_null(strstr(r.err, secrets[i]), "%s on stderr", secrets[i]);
		cr_assert_null(strstr(r.out, secrets[i]), "%s on stdout", secrets[i]);
		cr_assert(!file_holds(af_e2e_path("summary.json"), secrets[i]), "%s", secrets[i]);
		cr_assert(!file_holds(af_e2e_path("alerts.jsonl"), secrets[i]), "%s", secrets[i]);
		cr_assert(!file_holds(dlq, secrets[i]), "%s in a dead letter", secrets[i]);
	}
	/* Not vacuous: the secrets were in use, and texts that held them
	 * were written, redacted. */
	cr_assert_gt(hec_with_token, 0, "the HEC endpoint got the token");
	cr_assert_not_null(strstr(r.err, "client.id = af-***"),
	                   "librdkafka's configuration dump, redacted");
	cr_assert_not_null(strstr(r.err, "sasl.password = [redacted]"),
	                   "librdkafka's own redaction");
	cr_assert(file_holds(dlq, "Splunk ***"), "the refusal, redacted, in the dead letters");
	cr_assert_not_null(strstr(r.err, "documents could not be delivered"), "%s", r.err);
	af_run_free(&r);
}
