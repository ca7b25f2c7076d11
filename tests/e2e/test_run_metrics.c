/* test_run_metrics.c - `auditflow run --metrics` end to end: /metrics
 * scraped while the run consumes the embedded broker's topic counts what
 * the summary counts at the end (records, dead letters, alerts), in the
 * Prometheus text format, with no account or address in a label; /health
 * answers 200, turns 503 while the brokers are down longer than
 * --unhealthy-after, and 200 again once they are back.
 *
 * Thread: the test's; the broker, kcat and the run are real processes,
 * the scrapes plain HTTP/1.0 over loopback.
 * DESIGN: no timing assertions: every wait polls towards a state (the
 * counts reached, the health flipped) with a deadline against a hang.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "run.h"

#define DEMO AF_TEST_DATA "/demo/"
/* Deadline for a state to be reached; against a hang. */
#define WAIT_S 90
/* The demo's sign-ins and three records that are not JSON. */
#define RECORDS 31
#define BAD     3

static struct af_e2e_broker broker;
static struct af_e2e_proc proc;

static void fini(void)
{
	af_e2e_proc_kill(&proc);
	af_e2e_broker_close(&broker);
	af_e2e_teardown();
}

TestSuite(run_metrics, .init = af_e2e_setup, .fini = fini, .timeout = 280);

/* GET path on 127.0.0.1:port: the status (0 when no answer) and the body
 * (owned). */
static int request(unsigned port, const char *method, const char *path, char **body)
{
	char req[256], buf[65536];
	size_t len = 0;
	ssize_t n;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	*body = NULL;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", method, path);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return 0;
	}
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	int status = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return 0;
	const char *b = strstr(buf, "\r\n\r\n");
	*body = strdup(b ? b + 4 : "");
	return status;
}

static int get(unsigned port, const char *path, char **body)
{
	return request(port, "GET", path, body);
}

/* The value of the sample line that starts with name (its labels
 * included), as a real number; -1 when absent. */
static double sample_real(const char *text, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, name, len) == 0 && p[len] == ' ')
			return strtod(p + len + 1, NULL);
	return -1;
}

/* The same, for counts (its integer part). */
static long long sample(const char *text, const char *name)
{
	return (long long)sample_real(text, name);
}

/* The sum of every sample of metric name (any labels). */
static long long total(const char *text, const char *name)
{
	long long sum = 0;
	size_t len = strlen(name);
	for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, name, len) == 0 && (p[len] == '{' || p[len] == ' '))
			sum += strtoll(strchr(p + len, ' ') + 1, NULL, 10);
	return sum;
}

static void ctl(const char *command)
{
	char answer[1024], err[1024];
	cr_assert_eq(af_e2e_broker_ctl(&broker, command, answer, sizeof(answer), err, sizeof(err)),
	             0, "%s: %s", command, err);
	cr_assert(strncmp(answer, "ok", 2) == 0, "%s: the broker answered '%s'", command, answer);
}

/* Poll /health until it answers want with a body that holds says (NULL:
 * any); the last body (owned). */
static char *health_says(unsigned port, int want, const char *says)
{
	double end = af_e2e_now_s() + WAIT_S;
	char *body = NULL;
	int status = 0;
	while (af_e2e_now_s() < end) {
		free(body);
		status = get(port, "/health", &body);
		if (status == want && (says == NULL || strstr(body, says) != NULL))
			return body;
		usleep(100 * 1000);
	}
	cr_assert_fail("/health still answers %d (%s), not %d with %s", status, body ? body : "",
	               want, says ? says : "any body");
	return NULL;
}

static char *health_becomes(unsigned port, int want)
{
	return health_says(port, want, NULL);
}

/* A broker (controlled from the test) whose topic signins (2 partitions)
 * holds the demo's sign-ins, then three messages that are not records. */
static void broker_with_demo(void)
{
	char err[1024];
	const char *const extra[] = {"--control", "-", "--topic", "signins:2", NULL};
	cr_assert_eq(af_e2e_broker_open(&broker, extra, err, sizeof(err)), 0, "%s", err);

	size_t len;
	char *demo = af_slurp(DEMO "signins.jsonl", &len);
	cr_assert_not_null(demo);
	const char *input = af_e2e_path("input.jsonl");
	FILE *f = fopen(input, "w");
	cr_assert_not_null(f);
	fwrite(demo, 1, len, f);
	fputs("not json\n{\"CreationTime\":\nnor this\n", f);
	cr_assert_eq(fclose(f), 0);
	free(demo);
	cr_assert_eq(af_e2e_produce(broker.addr, "signins", input, NULL, err, sizeof(err)), 0, "%s",
	             err);
}

/* Start `auditflow run` as proc on the broker's signins from the beginning,
 * serving metrics on a free port with --unhealthy-after 1s, with args
 * (NULL-terminated, at most 33) after those; its stderr in run.err.
 * Returns the port, from the line the run writes once it serves. */
static unsigned run_serving(const char *const *args)
{
	char err[1024];
	const char *argv[48] = {AF_BIN,
	                        "run",
	                        "-b",
	                        broker.addr,
	                        "-t",
	                        "signins",
	                        "-G",
	                        "metrics",
	                        "--offset",
	                        "beginning",
	                        "--metrics",
	                        "127.0.0.1:0",
	                        "--unhealthy-after",
	                        "1s"};
	size_t n = 14;
	for (size_t i = 0; args[i] != NULL; i++) {
		cr_assert_lt(n, 47);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	char errpath[4096];
	snprintf(errpath, sizeof(errpath), "%s", af_e2e_path("run.err"));
	cr_assert_eq(af_e2e_spawn(&proc, argv, af_e2e_path("run.out"), errpath, err, sizeof(err)),
	             0, "%s", err);

	unsigned port = 0;
	double end = af_e2e_now_s() + WAIT_S;
	while (port == 0 && af_e2e_now_s() < end && af_e2e_running(&proc)) {
		char *text = af_slurp(errpath, NULL);
		const char *at = text ? strstr(text, "metrics at http://127.0.0.1:") : NULL;
		if (at != NULL)
			port = (unsigned)atoi(at + strlen("metrics at http://127.0.0.1:"));
		free(text);
		if (port == 0)
			af_e2e_nap();
	}
	cr_assert_neq(port, 0, "the run says where it serves metrics");
	return port;
}

Test(run_metrics, counts_what_the_summary_counts_and_health_follows_the_brokers)
{
	char err[1024];

	broker_with_demo();
	/* Own copies: af_e2e_path's buffers are reused. */
	char summary[4096], state[4096], alerts[4096];
	snprintf(summary, sizeof(summary), "%s", af_e2e_path("summary.json"));
	snprintf(state, sizeof(state), "%s", af_e2e_path("state"));
	snprintf(alerts, sizeof(alerts), "%s", af_e2e_path("alerts.jsonl"));
	const char *const args[] = {"--geo-city",
	                            AF_TEST_DATA "/geo/GeoIP2-City-Test.mmdb",
	                            "--geo-asn",
	                            AF_TEST_DATA "/geo/GeoLite2-ASN-Test.mmdb",
	                            "--state-dir",
	                            state,
	                            "--checkpoint-interval",
	                            "0.2s",
	                            "-o",
	                            alerts,
	                            "--summary",
	                            summary,
	                            NULL};
	unsigned port = run_serving(args);
	double end;

	/* Every record read and judged. */
	char *m = NULL;
	end = af_e2e_now_s() + WAIT_S;
	do {
		free(m);
		cr_assert_eq(get(port, "/metrics", &m), 200);
		if (sample(m, "auditflow_events_received_total{source=\"kafka\"}") == RECORDS &&
		    sample(m, "auditflow_events_total{result=\"dead_letter\"}") == BAD &&
		    sample(m, "auditflow_events_total{result=\"ok\"}") > 0 &&
		    sample(m, "auditflow_alert_latency_seconds_count") > 0 &&
		    sample(m, "auditflow_checkpoints_total") > 0 &&
		    /* The source thread publishes its own counts, on its own
		     * quarter second. */
		    sample(m, "auditflow_kafka_messages_total") == RECORDS &&
		    sample(m, "auditflow_kafka_assigned_partitions") == 2)
			break;
		usleep(100 * 1000);
	} while (af_e2e_now_s() < end);
	cr_assert_eq(sample(m, "auditflow_events_received_total{source=\"kafka\"}"), RECORDS, "%s",
	             m);
	cr_assert_eq(sample(m, "auditflow_events_total{result=\"dead_letter\"}"), BAD, "%s", m);
	cr_assert_eq(sample(m, "auditflow_dead_letters_total{reason=\"malformed_json\"}"), BAD,
	             "%s", m);
	cr_assert_eq(sample(m, "auditflow_up"), 1, "%s", m);
	cr_assert_eq(sample(m, "auditflow_kafka_messages_total"), RECORDS, "%s", m);
	cr_assert_eq(sample(m, "auditflow_kafka_assigned_partitions"), 2, "%s", m);
	cr_assert_not_null(strstr(m, "# TYPE auditflow_alerts_total counter\n"), "%s", m);
	cr_assert_null(strstr(m, "@"), "no account in a label: %s", m);
	cr_assert_null(strstr(m, "contoso"), "no account in a label: %s", m);
	long long alerts_seen = total(m, "auditflow_alerts_total");
	/* The demo's events are from 2025: every alert is over a day late. */
	long long measured = sample(m, "auditflow_alert_latency_seconds_count");
	cr_assert_gt(measured, 0, "%s", m);
	/* Every sign-in has an address, looked up as it is parsed (before the
	 * reorder buffer, so before it counts as ok); the cache answers the
	 * repeats. */
	long long lookups = sample(m, "auditflow_geo_lookups_total");
	cr_assert_geq(lookups, sample(m, "auditflow_events_total{result=\"ok\"}"), "%s", m);
	cr_assert_leq(lookups, RECORDS - BAD, "%s", m);
	long long hits = sample(m, "auditflow_geo_cache_hits_total{cache=\"address\"}");
	cr_assert(hits > 0 && hits < lookups, "%s", m);
	cr_assert_leq(sample(m, "auditflow_geo_not_found_total"), lookups, "%s", m);
	cr_assert_eq(sample(m, "auditflow_geo_generation"), 1, "%s", m);
	cr_assert_eq(sample(m, "auditflow_geo_reloads_total"), 0, "%s", m);
	cr_assert_gt(sample(m, "auditflow_checkpoints_total"), 0, "%s", m);
	double last = sample_real(m, "auditflow_checkpoint_last_duration_seconds");
	cr_assert_gt(last, 0, "%s", m);
	cr_assert_geq(sample_real(m, "auditflow_checkpoint_max_duration_seconds"), last, "%s", m);
	static const char *const stages[] = {"source", "worker", "shard"};
	for (size_t i = 0; i < 3; i++) {
		char name[128];
		snprintf(name, sizeof(name), "auditflow_blocked_seconds_total{stage=\"%s\"}",
		         stages[i]);
		cr_assert_geq(sample_real(m, name), 0, "%s", m);
	}
	static const char *const rings[] = {"batches", "mesh", "sink"};
	for (size_t i = 0; i < 3; i++) {
		char name[128];
		snprintf(name, sizeof(name), "auditflow_ring_fill_ratio{ring=\"%s\"}", rings[i]);
		double fill = sample_real(m, name);
		cr_assert(fill >= 0 && fill <= 1, "%s", m);
	}
	cr_assert_eq(sample(m, "auditflow_alert_latency_seconds_bucket{le=\"+Inf\"}"), measured,
	             "%s", m);
	cr_assert_eq(sample(m, "auditflow_alert_latency_seconds_bucket{le=\"86400\"}"), 0, "%s", m);
	cr_assert_not_null(strstr(m, "# TYPE auditflow_alert_latency_seconds histogram\n"), "%s",
	                   m);
	cr_assert_eq(total(m, "auditflow_alerts_by_severity_total"), alerts_seen, "%s", m);

	char *body = health_becomes(port, 200);
	cr_assert_not_null(strstr(body, "\"status\":\"ok\""), "%s", body);
	free(body);
	cr_assert_eq(get(port, "/nothing", &body), 404);
	free(body);
	cr_assert_eq(request(port, "POST", "/metrics", &body), 405);
	free(body);

	ctl("down all");
	body = health_becomes(port, 503);
	cr_assert_not_null(strstr(body, "\"status\":\"unhealthy\",\"source\":{\"ok\":false"), "%s",
	                   body);
	free(body);
	ctl("up all");
	free(health_becomes(port, 200));

	kill(proc.pid, SIGINT);
	cr_assert_eq(af_e2e_reap(&proc, WAIT_S, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(proc.status, 0, "the run exited %d", proc.status);
	char *s = af_slurp(summary, NULL);
	cr_assert_not_null(s);
	cr_assert_eq(af_json_int(s, "events_in"), RECORDS, "%s", s);
	cr_assert_eq(af_json_int(s, "events_invalid"), BAD, "%s", s);
	/* The scrape saw what had been applied then; the stop applies the
	 * rest of the reorder buffer. */
	cr_assert_leq(alerts_seen, af_json_int(s, "alerts"), "%s\n%s", m, s);
	cr_assert_leq(measured, af_json_int(s, "alerts"), "%s\n%s", m, s);
	cr_assert_gt(af_json_int(s, "alerts"), 0, "%s", s);
	free(s);
	free(m);
}

Test(run_metrics, refuses_an_address_it_cannot_serve_with_exit_2)
{
	const char *args[] = {"run", "-b",        "127.0.0.1:1", "-t",
	                      "x",   "--metrics", "localhost",   NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 2, "%s", r.err);
	cr_assert_not_null(strstr(r.err, "metrics address 'localhost' is not ADDR:PORT"), "%s",
	                   r.err);
	af_run_free(&r);
}

/* A listening socket on 127.0.0.1 at a port the system picks; its port in
 * *port. */
static int listener(unsigned *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 1), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* An address the user asked for must be served: a taken one is an error,
 * found before anything is read. */
Test(run_metrics, exits_1_when_the_address_it_was_given_is_taken)
{
	unsigned port;
	int fd = listener(&port);
	char listen_at[64];
	snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%u", port);
	const char *args[] = {"run", "-b", "127.0.0.1:1", "-t", "x", "--metrics", listen_at, NULL};
	struct af_run r;

	cr_assert_eq(af_run(&r, NULL, args), 0);
	close(fd);
	cr_assert_eq(r.status, 1, "%s", r.err);
	char want[128];
	snprintf(want, sizeof(want), "cannot serve metrics on %s", listen_at);
	cr_assert_not_null(strstr(r.err, want), "%s", r.err);
	af_run_free(&r);
}

/* An output that cannot deliver: /health turns 503 once the oldest alert
 * has waited longer than --unhealthy-after, naming the outputs. */
Test(run_metrics, health_turns_when_an_output_cannot_deliver)
{
	broker_with_demo();
	char config[4096];
	snprintf(config, sizeof(config), "%s", af_e2e_path("webhook.yaml"));
	FILE *f = fopen(config, "w");
	cr_assert_not_null(f);
	/* Port 1 on loopback: refused at once, tried again and again. */
	fputs("http:\n  kind: webhook\n  url: http://127.0.0.1:1/hook\n  backoff_max: 1s\n", f);
	cr_assert_eq(fclose(f), 0);
	const char *const args[] = {"-c", config, NULL};
	unsigned port = run_serving(args);

	free(health_says(port, 503, "\"outputs\":{\"ok\":false"));
	char *m = NULL;
	cr_assert_eq(get(port, "/metrics", &m), 200);
	cr_assert_gt(sample_real(m, "auditflow_output_oldest_waiting_seconds"), 1.0, "%s", m);
	cr_assert_eq(sample(m, "auditflow_output_settled_total"), 0, "%s", m);
	free(m);
	/* A stop delivers what was read first, and this output never gives up
	 * (http.max_retries 0): the second signal is the way out. */
	kill(proc.pid, SIGTERM);
	usleep(500 * 1000);
	kill(proc.pid, SIGTERM);
	char err[512];
	cr_assert_eq(af_e2e_reap(&proc, WAIT_S, err, sizeof(err)), 0, "%s", err);
}
