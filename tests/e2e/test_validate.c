/* test_validate.c - `auditflow validate -c FILE` end to end. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

/* Write yaml as the file name in a fresh folder and run `auditflow validate
 * -c` on it into *r; path gets the file's path. Returns the folder, which
 * validate_done removes. */
static char *validate(const char *name, const char *yaml, char *path, size_t path_size,
                      struct af_run *r)
{
	char *dir = af_tmpdir();
	snprintf(path, path_size, "%s/%s", dir, name);
	cr_assert_eq(af_spit(path, yaml, strlen(yaml)), 0);
	const char *args[] = {"validate", "-c", path, NULL};
	cr_assert_eq(af_run(r, NULL, args), 0);
	return dir;
}

static void validate_done(char *dir, struct af_run *r)
{
	af_run_free(r);
	af_rmdir(dir);
	free(dir);
}

Test(validate, accepts_a_good_file_and_exits_0)
{
	char path[4096];
	struct af_run r;
	char *dir = validate("ok.yaml", "input:\n  reorder_window: 5m\noutput:\n  format: ecs\n",
	                     path, sizeof(path), &r);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "ok"));
	validate_done(dir, &r);
}

Test(validate, names_file_line_and_column_of_an_unknown_key_and_exits_2)
{
	char path[4096];
	struct af_run r;
	char *dir = validate("bad.yaml", "input:\n  reorder_window: 5m\n  reoder_window: 6m\n",
	                     path, sizeof(path), &r);
	cr_assert_eq(r.status, 2);
	char want[4200];
	snprintf(want, sizeof(want), "%s:3:", path);
	cr_assert_not_null(strstr(r.err, want), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "reoder_window"), "%s", r.err);
	validate_done(dir, &r);
}

Test(validate, rejects_a_value_out_of_range_and_exits_2)
{
	char path[4096];
	struct af_run r;
	char *dir =
	    validate("range.yaml", "input:\n  max_record_bytes: 1TiB\n", path, sizeof(path), &r);
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "max_record_bytes"), "%s", r.err);
	validate_done(dir, &r);
}

Test(validate, refuses_bad_rule_settings_with_exit_2)
{
	char path[4096];
	struct af_run r;
	char *dir = validate("codes.yaml", "rules:\n  benign_codes: \"50140,KMSI\"\n", path,
	                     sizeof(path), &r);
	cr_assert_eq(r.status, 2, "%s", r.out);
	cr_assert_not_null(strstr(r.err, "rules.benign_codes"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "KMSI"), "%s", r.err);
	validate_done(dir, &r);
}

Test(validate, opens_the_geo_databases_it_names)
{
	char path[4096];
	struct af_run r;
	char *dir = validate("geo.yaml",
	                     "geo:\n  city: " AF_TEST_DATA "/geo/scenario/city.mmdb\n"
	                     "  asn: /nonexistent/asn.mmdb\n",
	                     path, sizeof(path), &r);
	cr_assert_eq(r.status, 2, "%s", r.out);
	cr_assert_not_null(strstr(r.err, "/nonexistent/asn.mmdb"), "%s", r.err);
	validate_done(dir, &r);
}

Test(validate, accepts_real_geo_databases)
{
	char path[4096];
	struct af_run r;
	char *dir = validate("geo.yaml",
	                     "geo:\n  city: " AF_TEST_DATA "/geo/scenario/city.mmdb\n"
	                     "  asn: " AF_TEST_DATA "/geo/scenario/asn.mmdb\n",
	                     path, sizeof(path), &r);
	cr_assert_eq(r.status, 0, "%s", r.err);
	validate_done(dir, &r);
}

/* Every configuration of examples/ validates, with its databases and lists
 * where the test puts them (the files of tests/data under the names the
 * examples use) and its secrets in the environment. */
Test(validate, accepts_every_example_configuration)
{
	static const char *const examples[] = {"replay-files",  "kafka",   "splunk-hec",
	                                       "elasticsearch", "webhook", "syslog"};
	static const char *const dbs[][2] = {
	    {"GeoLite2-City-Test.mmdb", "GeoLite2-City.mmdb"},
	    {"GeoLite2-ASN-Test.mmdb", "GeoLite2-ASN.mmdb"},
	    {"GeoIP2-Anonymous-IP-Test.mmdb", "GeoIP2-Anonymous-IP.mmdb"}};
	char *dir = af_tmpdir(), path[4096];
	size_t len;

	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		snprintf(path, sizeof(path), "%s/geo/%s", AF_TEST_DATA, dbs[i][0]);
		char *db = af_slurp(path, &len);
		cr_assert_not_null(db, "%s", path);
		snprintf(path, sizeof(path), "%s/%s", dir, dbs[i][1]);
		cr_assert_eq(af_spit(path, db, len), 0);
		free(db);
	}
	snprintf(path, sizeof(path), "%s/corporate-networks.txt", dir);
	cr_assert_eq(af_spit(path, "10.0.0.0/8\n", 11), 0);
	setenv("KAFKA_PASSWORD", "k", 1);
	setenv("HEC_TOKEN", "h", 1);
	setenv("ES_API_KEY", "e", 1);
	setenv("WEBHOOK_TOKEN", "w", 1);
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		snprintf(path, sizeof(path), "%s/examples/%s.yaml", AF_SOURCE_DIR, examples[i]);
		char *text = af_slurp(path, &len);
		cr_assert_not_null(text, "%s", path);
		/* The examples' folders, /var/lib/GeoIP/ and /etc/auditflow/,
		 * become the test's. */
		char *out = malloc(len * 2 + 1), *w = out;
		cr_assert_not_null(out);
		for (const char *p = text; *p;) {
			if (strncmp(p, "/var/lib/GeoIP/", 15) == 0 ||
			    strncmp(p, "/etc/auditflow/", 15) == 0) {
				w += sprintf(w, "%s/", dir);
				p += 15;
			} else {
				*w++ = *p++;
			}
		}
		*w = '\0';
		snprintf(path, sizeof(path), "%s/%s.yaml", dir, examples[i]);
		cr_assert_eq(af_spit(path, out, strlen(out)), 0);
		const char *args[] = {"validate", "-c", path, NULL};
		struct af_run r;
		cr_assert_eq(af_run(&r, NULL, args), 0);
		cr_assert_eq(r.status, 0, "examples/%s.yaml: %s", examples[i], r.err);
		af_run_free(&r);
		free(out);
		free(text);
	}
	af_rmdir(dir);
	free(dir);
}
