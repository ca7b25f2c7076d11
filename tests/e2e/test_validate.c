/* test_validate.c - `auditflow validate -c FILE` end to end. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

Test(validate, accepts_a_good_file_and_exits_0)
{
	char *dir = af_tmpdir();
	char path[4096];
	snprintf(path, sizeof(path), "%s/ok.yaml", dir);
	const char *yaml = "input:\n  reorder_window: 5m\noutput:\n  format: ecs\n";
	cr_assert_eq(af_spit(path, yaml, strlen(yaml)), 0);
	const char *args[] = {"validate", "-c", path, NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "ok"));
	af_run_free(&r);
	af_rmdir(dir);
	free(dir);
}

Test(validate, names_file_line_and_column_of_an_unknown_key_and_exits_2)
{
	char *dir = af_tmpdir();
	char path[4096];
	snprintf(path, sizeof(path), "%s/bad.yaml", dir);
	const char *yaml = "input:\n  reorder_window: 5m\n  reoder_window: 6m\n";
	cr_assert_eq(af_spit(path, yaml, strlen(yaml)), 0);
	const char *args[] = {"validate", "-c", path, NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 2);
	char want[4200];
	snprintf(want, sizeof(want), "%s:3:", path);
	cr_assert_not_null(strstr(r.err, want), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "reoder_window"), "%s", r.err);
	af_run_free(&r);
	af_rmdir(dir);
	free(dir);
}

Test(validate, rejects_a_value_out_of_range_and_exits_2)
{
	char *dir = af_tmpdir();
	char path[4096];
	snprintf(path, sizeof(path), "%s/range.yaml", dir);
	const char *yaml = "input:\n  max_record_bytes: 1TiB\n";
	cr_assert_eq(af_spit(path, yaml, strlen(yaml)), 0);
	const char *args[] = {"validate", "-c", path, NULL};
	struct af_run r;
	cr_assert_eq(af_run(&r, NULL, args), 0);
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "max_record_bytes"), "%s", r.err);
	af_run_free(&r);
	af_rmdir(dir);
	free(dir);
}
