/* test_snapshot.c - the snapshot file: what is written comes back section
 * by section, a commit replaces the old file whole, and every kind of
 * damage (truncation, a flipped bit anywhere, another version or layout,
 * not a snapshot at all) is refused with a message that names the file. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/snapshot.h"

#define LAYOUT 0x5eed5eed12345678ull

static char dir[64], path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/af-snap-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.snap", dir);
}

static void teardown(void)
{
	char tmp[160];
	unlink(path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	rmdir(dir);
}

TestSuite(snapshot, .init = setup, .fini = teardown);

/* Sections: a small one, an empty one, and one of 200 KiB (past the
 * writer's buffer) with a counted pattern. */
static void write_three(uint32_t seed)
{
	struct af_snap_writer *w;
	char err[512];
	cr_assert_eq(af_snap_create(path, LAYOUT, &w, err, sizeof(err)), AF_OK, "%s", err);
	af_snap_begin(w, 7);
	af_snap_put_u32(w, seed);
	af_snap_put_u64(w, 0x0102030405060708ull);
	af_snap_put(w, "abc", 3);
	af_snap_begin(w, 8);
	af_snap_begin(w, 9);
	for (uint32_t i = 0; i < 50000; i++)
		af_snap_put_u32(w, i * seed);
	cr_assert_eq(af_snap_commit(w, err, sizeof(err)), AF_OK, "%s", err);
}

static struct af_snap_reader *open_ok(void)
{
	struct af_snap_reader *r;
	char err[512];
	cr_assert_eq(af_snap_open(path, LAYOUT, &r, err, sizeof(err)), AF_OK, "%s", err);
	return r;
}

Test(snapshot, gives_back_each_section_as_written)
{
	write_three(3);
	struct af_snap_reader *r = open_ok();
	cr_assert_eq(af_snap_sections(r), 3);
	cr_assert_gt(af_snap_created_ms(r), 1700000000000ull);

	struct af_snap_view v;
	uint32_t tag, u32;
	uint64_t u64;
	char abc[3];
	af_snap_section(r, 0, &tag, &v);
	cr_assert_eq(tag, 7);
	cr_assert(af_snap_take_u32(&v, &u32) && u32 == 3);
	cr_assert(af_snap_take_u64(&v, &u64) && u64 == 0x0102030405060708ull);
	cr_assert(af_snap_take(&v, abc, 3) && memcmp(abc, "abc", 3) == 0);
	cr_assert(af_snap_done(&v));

	af_snap_section(r, 1, &tag, &v);
	cr_assert_eq(tag, 8);
	cr_assert_eq(v.len, 0);
	cr_assert(af_snap_done(&v));

	cr_assert(af_snap_find(r, 9, &v));
	for (uint32_t i = 0; i < 50000; i++) {
		cr_assert(af_snap_take_u32(&v, &u32));
		cr_assert_eq(u32, i * 3, "word %u", i);
	}
	cr_assert(af_snap_done(&v));
	cr_assert_not(af_snap_find(r, 10, &v));
	af_snap_close(r);
}

Test(snapshot, a_short_take_fails_and_keeps_failing)
{
	write_three(5);
	struct af_snap_reader *r = open_ok();
	struct af_snap_view v;
	uint32_t tag;
	uint64_t x = 1;
	af_snap_section(r, 0, &tag, &v);
	char all[15];
	cr_assert(af_snap_take(&v, all, sizeof(all)));
	cr_assert_not(af_snap_take_u64(&v, &x));
	cr_assert_eq(x, 0, "a short take gives zeros");
	cr_assert(v.bad);
	cr_assert_not(af_snap_done(&v));
	af_snap_close(r);
}

Test(snapshot, a_commit_replaces_the_old_file_and_leaves_no_temporary)
{
	write_three(3);
	write_three(4);
	struct af_snap_reader *r = open_ok();
	struct af_snap_view v;
	uint32_t tag, seed;
	af_snap_section(r, 0, &tag, &v);
	cr_assert(af_snap_take_u32(&v, &seed));
	cr_assert_eq(seed, 4);
	af_snap_close(r);
	char tmp[160];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	cr_assert_eq(access(tmp, F_OK), -1);
}

Test(snapshot, an_aborted_write_leaves_the_old_snapshot)
{
	write_three(3);
	struct af_snap_writer *w;
	char err[512];
	cr_assert_eq(af_snap_create(path, LAYOUT, &w, err, sizeof(err)), AF_OK, "%s", err);
	af_snap_begin(w, 1);
	af_snap_put_u32(w, 99);
	af_snap_abort(w);
	struct af_snap_reader *r = open_ok();
	cr_assert_eq(af_snap_sections(r), 3);
	af_snap_close(r);
}

static char *slurp(size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	char *b = malloc(*len);
	cr_assert_eq(fread(b, 1, *len, f), *len);
	fclose(f);
	return b;
}

static void spit(const char *b, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(b, 1, len, f), len);
	fclose(f);
}

/* The open's answer and message for the file as it is now. */
static af_err_t try_open(char *err, size_t err_size)
{
	struct af_snap_reader *r = NULL;
	af_err_t e = af_snap_open(path, LAYOUT, &r, err, err_size);
	af_snap_close(r);
	return e;
}

Test(snapshot, refuses_every_truncation_naming_the_file)
{
	write_three(3);
	size_t len;
	char *b = slurp(&len);
	char err[512];
	for (size_t cut = 0; cut < len; cut += cut < 256 ? 1 : 4093) {
		spit(b, cut);
		cr_assert_eq(try_open(err, sizeof(err)), AF_E_FORMAT, "cut at %zu", cut);
		cr_assert_not_null(strstr(err, path), "%s", err);
	}
	free(b);
}

Test(snapshot, refuses_a_flipped_bit_anywhere)
{
	write_three(3);
	size_t len;
	char *b = slurp(&len);
	char err[512];
	for (size_t at = 0; at < len; at += at < 512 ? 1 : 997) {
		b[at] ^= 0x10;
		spit(b, len);
		cr_assert_eq(try_open(err, sizeof(err)), AF_E_FORMAT, "bit flipped at %zu", at);
		b[at] ^= 0x10;
	}
	free(b);
}

Test(snapshot, says_so_for_another_layout_and_another_file)
{
	write_three(3);
	struct af_snap_reader *r = NULL;
	char err[512];
	cr_assert_eq(af_snap_open(path, LAYOUT + 1, &r, err, sizeof(err)), AF_E_FORMAT);
	cr_assert_not_null(strstr(err, "lays out its state differently"), "%s", err);

	char text[80];
	memset(text, ' ', sizeof(text));
	memcpy(text, "{\"not\": \"a snapshot\"}", 21);
	spit(text, sizeof(text));
	cr_assert_eq(try_open(err, sizeof(err)), AF_E_FORMAT);
	cr_assert_not_null(strstr(err, "not an auditflow snapshot"), "%s", err);

	unlink(path);
	cr_assert_eq(try_open(err, sizeof(err)), AF_E_IO);
	cr_assert_eq(errno, ENOENT);
	cr_assert_not_null(strstr(err, path), "%s", err);
}

Test(snapshot, a_failed_commit_says_which_step_and_leaves_the_old_one)
{
	write_three(3);
	/* The snapshot's path is taken by a folder: the rename fails. */
	struct af_snap_writer *w;
	char err[512], other[160];
	snprintf(other, sizeof(other), "%s/sub", dir);
	cr_assert_eq(mkdir(other, 0700), 0);
	char inner[200];
	snprintf(inner, sizeof(inner), "%s/x", other);
	cr_assert_eq(close(open(inner, O_CREAT | O_WRONLY, 0600)), 0);
	cr_assert_eq(af_snap_create(other, LAYOUT, &w, err, sizeof(err)), AF_OK, "%s", err);
	af_snap_begin(w, 1);
	cr_assert_eq(af_snap_commit(w, err, sizeof(err)), AF_E_IO);
	cr_assert_not_null(strstr(err, "renaming it over the old one"), "%s", err);
	char tmp[200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", other);
	cr_assert_eq(access(tmp, F_OK), -1, "the temporary file is removed");
	unlink(inner);
	rmdir(other);
	struct af_snap_reader *r = open_ok();
	af_snap_close(r);
}
