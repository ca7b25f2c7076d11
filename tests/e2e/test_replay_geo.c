/* test_replay_geo.c - `auditflow replay` with geo/ASN databases, end to end:
 * real mmdb files (the scenario databases in tests/data/geo/scenario, built
 * by tests/geo/make-scenario-mmdb.pl), real records, the real binary. */
#include <criterion/criterion.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

#define GEO      AF_TEST_DATA "/geo/"
#define SCENARIO AF_TEST_DATA "/geo/scenario/"
#define DEMO     AF_TEST_DATA "/demo/"

extern char **environ;

TestSuite(replay_geo, .init = af_e2e_setup, .fini = af_e2e_teardown);

/* The first line of text holding needle, as its own string (owned). */
static char *line_with(const char *text, const char *needle)
{
	const char *hit = strstr(text, needle);
	if (!hit)
		return NULL;
	const char *start = hit;
	while (start > text && start[-1] != '\n')
		start--;
	size_t len = strcspn(start, "\n");
	return strndup(start, len);
}

Test(replay_geo, adds_country_city_and_asn_to_every_event_with_a_public_address)
{
	const char *events = af_e2e_path("events.jsonl");
	const char *args[] = {"replay",
	                      "--no-progress",
	                      "--geo-city",
	                      SCENARIO "city.mmdb",
	                      "--geo-asn",
	                      SCENARIO "asn.mmdb",
	                      "--geo-anon",
	                      SCENARIO "anon.mmdb",
	                      "--events-out",
	                      events,
	                      DEMO "purview-export.csv",
	                      NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	char *s = af_slurp(events, NULL);
	cr_assert_not_null(s);
	cr_assert_not_null(strstr(s, "\"source.geo.country_iso_code\":\"US\""), "%s", s);
	cr_assert_not_null(strstr(s, "\"source.geo.city_name\":\"Ashburn\""), "%s", s);
	cr_assert_not_null(strstr(s, "\"source.as.number\":64511"), "%s", s);
	cr_assert_not_null(strstr(s, "\"auditflow.geo.hosting\":true"), "%s", s);
	free(s);
	af_run_free(&r);
}

Test(replay_geo, prefers_the_database_over_the_location_an_entra_record_carries)
{
	/* The demo's Entra sign-ins say Hanoi for 203.0.113.24; the scenario
	 * database says the same network is Hanoi too, with an ASN, which
	 * only the database can give. */
	const char *events = af_e2e_path("events.jsonl");
	const char *args[] = {"replay",
	                      "--no-progress",
	                      "--geo-city",
	                      SCENARIO "city.mmdb",
	                      "--geo-asn",
	                      SCENARIO "asn.mmdb",
	                      "--events-out",
	                      events,
	                      DEMO "signins.jsonl",
	                      NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	char *s = af_slurp(events, NULL);
	char *first = line_with(s, "203.0.113.24");
	cr_assert_not_null(first, "%s", s);
	cr_assert_not_null(strstr(first, "\"source.geo.country_iso_code\":\"VN\""), "%s", first);
	cr_assert_not_null(strstr(first, "\"source.as.number\":64500"), "%s", first);
	free(first);
	free(s);
	af_run_free(&r);
}

Test(replay_geo, keeps_the_records_own_location_without_databases)
{
	const char *events = af_e2e_path("events.jsonl");
	const char *args[] = {"replay", "--no-progress",      "--events-out",
	                      events,   DEMO "signins.jsonl", NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	char *s = af_slurp(events, NULL);
	char *line = line_with(s, "198.51.100.7");
	cr_assert_not_null(line);
	cr_assert_not_null(strstr(line, "\"source.geo.city_name\":\"Ashburn\""), "%s", line);
	cr_assert_null(strstr(line, "source.as.number"), "%s", line);
	free(line);
	free(s);
	af_run_free(&r);
}

Test(replay_geo, exits_2_naming_a_database_that_does_not_exist)
{
	const char *args[] = {
	    "replay", "--no-progress", "--geo-city", "/nonexistent/city.mmdb", DEMO "signins.jsonl",
	    NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 2, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.err, "/nonexistent/city.mmdb"), "%s", r.err);
	af_run_free(&r);
}

Test(replay_geo, exits_2_on_each_of_maxminds_broken_databases_or_answers_unknown)
{
	static const char *const broken[] = {
	    GEO "MaxMind-DB-test-broken-pointers-24.mmdb",
	    GEO "MaxMind-DB-test-broken-search-tree-24.mmdb",
	    GEO "GeoIP2-City-Test-Invalid-Node-Count.mmdb",
	    GEO "GeoIP2-City-Test-Broken-Double-Format.mmdb",
	};
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		const char *args[] = {"replay",  "--no-progress",      "--geo-city",
		                      broken[i], DEMO "signins.jsonl", NULL};
		struct af_run r;
		cr_assert_eq(af_run(&r, NULL, args), 0);
		cr_assert(r.status == 0 || r.status == 2, "%s: exit %d: %s", broken[i], r.status,
		          r.err);
		if (r.status == 2)
			cr_assert_not_null(strstr(r.err, broken[i]), "%s", r.err);
		af_run_free(&r);
	}
}

Test(replay_geo, marks_a_configured_corporate_network)
{
	const char *nets = af_e2e_path("corporate.txt");
	const char *text = "# Hanoi office\n203.0.113.0/24\n";
	cr_assert_eq(af_spit(nets, text, strlen(text)), 0);
	const char *cfg = af_e2e_path("auditflow.yaml");
	char yaml[4200];
	snprintf(yaml, sizeof(yaml), "geo:\n  corporate_networks: %s\n", nets);
	cr_assert_eq(af_spit(cfg, yaml, strlen(yaml)), 0);
	const char *events = af_e2e_path("events.jsonl");
	const char *args[] = {
	    "replay", "-c", cfg, "--no-progress", "--events-out", events, DEMO "signins.jsonl",
	    NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	char *s = af_slurp(events, NULL);
	char *office = line_with(s, "203.0.113.24");
	char *attacker = line_with(s, "198.51.100.7");
	cr_assert_not_null(strstr(office, "\"auditflow.geo.corporate\":true"), "%s", office);
	cr_assert_null(strstr(attacker, "corporate"), "%s", attacker);
	free(office);
	free(attacker);
	free(s);
	af_run_free(&r);
}

/* Records one second apart in event time, replayed at --speed 10, so the
 * run lasts seconds while the database file is replaced underneath it. */
static void write_slow_input(const char *path, int n)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	for (int i = 0; i < n; i++)
		fprintf(f,
		        "{\"CreationTime\":\"2025-08-25T13:%02d:%02d\",\"Id\":\"r%d\","
		        "\"Operation\":\"UserLoggedIn\",\"Workload\":\"AzureActiveDirectory\","
		        "\"RecordType\":15,\"UserId\":\"an@contoso.example\","
		        "\"ClientIP\":\"198.51.100.7\"}\n",
		        i / 60, i % 60, i);
	cr_assert_eq(fclose(f), 0);
}

static int copy_file(const char *from, const char *to)
{
	size_t len;
	char *data = af_slurp(from, &len);
	if (!data)
		return -1;
	int rc = af_spit(to, data, len);
	free(data);
	return rc;
}

Test(replay_geo, answers_from_a_replaced_database_after_it_is_swapped_in)
{
	const char *db = af_e2e_path("city.mmdb");
	const char *next = af_e2e_path("city.mmdb.new");
	const char *input = af_e2e_path("slow.jsonl");
	const char *events = af_e2e_path("events.jsonl");
	const char *cfg = af_e2e_path("auditflow.yaml");
	cr_assert_eq(copy_file(SCENARIO "city.mmdb", db), 0);
	write_slow_input(input, 40);
	const char *yaml = "geo:\n  reload_interval: 50ms\n";
	cr_assert_eq(af_spit(cfg, yaml, strlen(yaml)), 0);

	const char *argv[] = {AF_BIN,    "replay", "-c",         cfg, "--no-progress",
	                      "--speed", "10",     "--geo-city", db,  "--events-out",
	                      events,    input,    NULL};
	pid_t pid;
	cr_assert_eq(posix_spawn(&pid, AF_BIN, NULL, NULL, (char *const *)argv, environ), 0);
	/* 40 records at 0.1 s each: swap the file by rename, as geoipupdate
	 * does, about a second in. */
	struct timespec wait = {1, 0};
	nanosleep(&wait, NULL);
	cr_assert_eq(copy_file(SCENARIO "city-v2.mmdb", next), 0);
	cr_assert_eq(rename(next, db), 0);
	int ws;
	cr_assert_eq(waitpid(pid, &ws, 0), pid);
	cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);

	char *s = af_slurp(events, NULL);
	cr_assert_not_null(s);
	cr_assert_eq(af_count_lines(s), 40);
	const char *first_line_end = strchr(s, '\n');
	const char *last = s + strlen(s) - 1;
	while (last > s && last[-1] != '\n')
		last--;
	cr_assert_not_null(strstr(s, "\"source.geo.country_iso_code\":\"US\""));
	cr_assert(strstr(s, "\"source.geo.country_iso_code\":\"US\"") < first_line_end,
	          "the first event has the first database's answer");
	cr_assert_not_null(strstr(last, "\"source.geo.country_iso_code\":\"NL\""),
	                   "the last event has the new database's answer: %s", last);
	free(s);
}
