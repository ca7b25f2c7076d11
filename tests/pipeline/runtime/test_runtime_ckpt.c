/* test_runtime_ckpt.c - the runtime's checkpoints (pipeline/runtime/
 * runtime.h, rt_ckpt.c) through its real threads: a source written here
 * (fill, and save/restore of how many records of each input it has handed
 * on) reads JSON lines made with records.h, alerts go to files in a
 * mkdtemp directory, dead letters are only counted, and the checkpoints go
 * to a folder inside that directory.
 *
 * Covered: a run stopped after K batches (every K from before the first
 * batch to after the last) and resumed from its checkpoint by a fresh
 * runtime raises, over both runs, exactly the alerts of a run that was
 * never stopped, and the resumed run's summary counts what the
 * uninterrupted one does, for 1, 2 and 3 threads, with and without
 * periodic checkpoints on the way; a resumed run stopped again resumes
 * again, its checkpoint numbered on; periodic checkpoints happen and leave
 * only the last one's files; af_runtime_restore finds none in an empty folder and refuses a
 * checkpoint of another thread count or number of inputs, a damaged
 * manifest and a truncated core part; af_runtime_checkpoint_remove
 * removes every checkpoint file and nothing else, and accepts a missing
 * folder.
 *
 * Thread: each test runs the runtime's threads and waits for them. The
 * source's fill and save run on the runtime's source thread, its restore
 * on the test's thread before the start; the test reads the source only
 * after af_runtime_wait (the join orders it). Criterion asserts on the
 * test's thread only.
 * No test asserts timing: a stop is asked for from inside fill after a
 * given number of batches, so where a run is cut does not depend on the
 * scheduler; what the threads do meanwhile may, and the checks hold
 * whatever it is.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/config.h"
#include "pipeline/reason.h"
#include "pipeline/runtime/runtime.h"
#include "pipeline/snapshot.h"
#include "sinks/alert_out.h"
#include "sinks/dlq.h"
#include "sinks/summary.h"

#include "records.h"

/* 2025-08-25T06:00:00Z, in seconds. */
#define T0 INT64_C(1756101600)

#define INPUTS_MAX 4
/* Records per batch in most runs: small, so a run is dozens of batches
 * and a cut can fall anywhere. */
#define BATCH 16
#define NEVER UINT64_MAX

/* ---- the checkpointing source ---- */

struct ck_input {
	struct af_recs_cursor cur;
	bool ended; /* its last batch is handed on */
};

/* Reads its inputs in turn, a batch at a time. Its position is, per
 * input, how many records it has handed on; that and whose turn is next is
 * what it saves, so a resumed source hands on the very batches the
 * uninterrupted one would have. */
struct ck_src {
	struct ck_input in[INPUTS_MAX];
	uint32_t ninputs;
	uint32_t turn;       /* next input to read */
	uint64_t handed;     /* batches handed on in this run */
	uint64_t stop_after; /* ask for a stop once this many are handed on; NEVER */
	uint32_t restores;   /* times restore was called */
};

/* inputs borrowed: they outlive every run of s. */
static void ck_src_init(struct ck_src *s, const struct af_recs *inputs, uint32_t ninputs)
{
	memset(s, 0, sizeof(*s));
	cr_assert_leq(ninputs, INPUTS_MAX);
	s->ninputs = ninputs;
	s->stop_after = NEVER;
	for (uint32_t i = 0; i < ninputs; i++)
		s->in[i].cur.in = &inputs[i];
}

static af_err_t ck_fill(void *ctx, struct af_runtime *rt, struct af_rt_batch *b, char *errstr,
                        size_t errstr_size)
{
	struct ck_src *s = ctx;
	struct ck_input *in = NULL;

	if (s->handed == s->stop_after) {
		/* Only when asked to stop before the first batch: a later
		 * stop is asked for with the batch that reaches the count,
		 * and fill is not called again. */
		af_runtime_stop(rt);
		return AF_E_AGAIN;
	}
	for (uint32_t t = 0; t < s->ninputs && in == NULL; t++) {
		uint32_t i = (s->turn + t) % s->ninputs;
		if (!s->in[i].ended) {
			in = &s->in[i];
			b->input = i;
			s->turn = (i + 1) % s->ninputs;
		}
	}
	if (in == NULL)
		return AF_EOF;
	uint32_t file = af_runtime_path_index(rt, "memory");
	if (file == UINT32_MAX) {
		snprintf(errstr, errstr_size, "the file table is full");
		return AF_E_NOMEM;
	}
	if (af_recs_fill(&in->cur, b, file, SIZE_MAX) == 0 && !af_recs_ended(&in->cur)) {
		/* Not a Criterion assert: this is the source thread. */
		snprintf(errstr, errstr_size, "record %zu fit no empty batch", in->cur.next);
		return AF_E_INVALID;
	}
	if (af_recs_ended(&in->cur)) {
		in->ended = true;
		b->last = true;
	}
	/* Asked with the batch still in hand: the runtime hands it on, then
	 * sees the stop and checkpoints after it. */
	if (++s->handed == s->stop_after)
		af_runtime_stop(rt);
	return AF_OK;
}

static void ck_save(void *ctx, struct af_snap_writer *w)
{
	const struct ck_src *s = ctx;

	af_snap_put_u32(w, s->ninputs);
	af_snap_put_u32(w, s->turn);
	for (uint32_t i = 0; i < s->ninputs; i++) {
		uint8_t ended = s->in[i].ended;
		af_snap_put_u64(w, s->in[i].cur.next);
		af_snap_put(w, &ended, 1);
	}
}

static af_err_t ck_restore(void *ctx, struct af_snap_view *v, char *errstr, size_t errstr_size)
{
	struct ck_src *s = ctx;
	uint32_t n, turn;

	s->restores++;
	if (!af_snap_take_u32(v, &n) || !af_snap_take_u32(v, &turn))
		goto bad;
	if (n != s->ninputs) {
		snprintf(errstr, errstr_size, "saved reading %u inputs; this source reads %u", n,
		         s->ninputs);
		return AF_E_CONFIG;
	}
	if (turn >= n)
		goto bad;
	for (uint32_t i = 0; i < n; i++) {
		struct af_recs_cursor *cur = &s->in[i].cur;
		uint64_t next;
		uint8_t ended;
		if (!af_snap_take_u64(v, &next) || !af_snap_take(v, &ended, 1) ||
		    next > cur->in->n || ended > 1)
			goto bad;
		/* The byte offsets follow from the records skipped, as
		 * af_recs_fill counts them. */
		cur->next = (size_t)next;
		cur->offset = 0;
		for (size_t k = 0; k < cur->next; k++)
			cur->offset += cur->in->v[k].len + 1;
		s->in[i].ended = ended;
	}
	s->turn = turn;
	return AF_OK;
bad:
	snprintf(errstr, errstr_size, "the source's positions are damaged");
	return AF_E_FORMAT;
}

static struct af_rt_source ck_source(struct ck_src *s)
{
	return (struct af_rt_source){
	    .ctx = s,
	    .ninputs = s->ninputs,
	    .fill = ck_fill,
	    .save = ck_save,
	    .restore = ck_restore,
	};
}

/* ---- runs ---- */

/* What one run ended with. */
struct ck_outcome {
	struct af_summary sum;
	uint64_t checkpoints;
	uint64_t restored_id; /* 0: it started afresh */
	bool ended;           /* the source said AF_EOF */
};

/* Run cfg (borrowed) over s into alerts_path, resuming first from the
 * checkpoint in cfg->state.dir when resume is set (which must load); the
 * run must end without error. label names the run in messages. */
static void ck_run(const struct af_config *cfg, struct ck_src *s, const char *alerts_path,
                   bool resume, const char *label, struct ck_outcome *out)
{
	char err[512];
	struct af_runtime *rt = NULL;

	memset(out, 0, sizeof(*out));
	af_summary_init(&out->sum);
	struct af_dlq *dlq = af_dlq_open(NULL, 0, err, sizeof(err));
	cr_assert_not_null(dlq, "%s", err);
	struct af_alert_out *alerts =
	    af_alert_out_open(alerts_path, AF_OUTPUT_NATIVE, NULL, err, sizeof(err));
	cr_assert_not_null(alerts, "%s", err);
	struct af_rt_source src = ck_source(s);
	struct af_rt_sinks sinks = {.alerts = alerts, .dlq = dlq};

	cr_assert_eq(af_runtime_new(cfg, &src, &sinks, NULL, &rt, err, sizeof(err)), AF_OK,
	             "%s: %s", label, err);
	if (resume) {
		af_err_t e = af_runtime_restore(rt, &out->restored_id, err, sizeof(err));
		cr_assert_eq(e, AF_OK, "%s: restore said %d: %s", label, e, err);
		cr_assert_geq(out->restored_id, 1, "%s", label);
		cr_assert_eq(s->restores, 1, "%s: the source's restore was not called once", label);
	}
	cr_assert_eq(af_runtime_start(rt, err, sizeof(err)), AF_OK, "%s: %s", label, err);
	af_err_t e = af_runtime_wait(rt, &out->sum, err, sizeof(err));
	cr_assert_eq(e, AF_OK, "%s: %s", label, err);
	out->checkpoints = af_runtime_checkpoints(rt, NULL, NULL);
	out->ended = af_runtime_ended(rt);
	af_runtime_free(rt);
	cr_assert_eq(af_alert_out_close(alerts, err, sizeof(err)), AF_OK, "%s", err);
	cr_assert_eq(af_dlq_close(dlq, err, sizeof(err)), AF_OK, "%s", err);
}

/* Make a runtime for cfg over s, try to restore it, and free it. Returns
 * what af_runtime_restore said, with *id and errstr. */
static af_err_t ck_try_restore(const struct af_config *cfg, struct ck_src *s, uint64_t *id,
                               char *errstr, size_t errstr_size)
{
	char err[512];
	struct af_runtime *rt = NULL;
	struct af_dlq *dlq = af_dlq_open(NULL, 0, err, sizeof(err));
	cr_assert_not_null(dlq, "%s", err);
	struct af_alert_out *alerts =
	    af_alert_out_open("/dev/null", AF_OUTPUT_NATIVE, NULL, err, sizeof(err));
	cr_assert_not_null(alerts, "%s", err);
	struct af_rt_source src = ck_source(s);
	struct af_rt_sinks sinks = {.alerts = alerts, .dlq = dlq};

	cr_assert_eq(af_runtime_new(cfg, &src, &sinks, NULL, &rt, err, sizeof(err)), AF_OK, "%s",
	             err);
	errstr[0] = '\0';
	*id = 0;
	af_err_t e = af_runtime_restore(rt, id, errstr, errstr_size);
	af_runtime_free(rt);
	cr_assert_eq(af_alert_out_close(alerts, err, sizeof(err)), AF_OK, "%s", err);
	cr_assert_eq(af_dlq_close(dlq, err, sizeof(err)), AF_OK, "%s", err);
	return e;
}

/* A scratch whose runs checkpoint into its folder "state" at interval
 * (a duration; "0": only at a stop). */
static void ck_scratch_init(struct af_recs_scratch *sc, uint32_t threads, uint32_t batch,
                            const char *interval, char *state, size_t state_size)
{
	af_recs_scratch_init(sc, threads, batch);
	snprintf(state, state_size, "%s/state", sc->dir);
	af_recs_scratch_set(sc, "state.dir", state);
	af_recs_scratch_set(sc, "state.checkpoint_interval", interval);
}

/* Remove the checkpoint folder (whatever checkpoint is in it) and the
 * scratch. */
static void ck_scratch_fini(struct af_recs_scratch *sc, const char *state)
{
	char err[512];

	cr_assert_eq(af_runtime_checkpoint_remove(state, err, sizeof(err)), AF_OK, "%s", err);
	rmdir(state);
	af_recs_scratch_fini(sc);
}

/* Stop a run of cfg over inputs after `after` batches, leaving its
 * checkpoint in cfg's folder. */
static void ck_checkpoint_after(const struct af_config *cfg, const struct af_recs *inputs,
                                uint32_t ninputs, uint64_t after)
{
	struct ck_src s;
	struct ck_outcome o;

	ck_src_init(&s, inputs, ninputs);
	s.stop_after = after;
	ck_run(cfg, &s, "/dev/null", false, "the run to checkpoint", &o);
	cr_assert_geq(o.checkpoints, 1, "the stopped run wrote no checkpoint");
}

/* ---- files and folders ---- */

/* A file's bytes (NUL added), with their count in *len. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	cr_assert_not_null(f, "cannot open %s: %s", path, strerror(errno));
	do {
		if (cap - n < 4096) {
			cap = cap ? 2 * cap : 65536;
			buf = realloc(buf, cap + 1);
			cr_assert_not_null(buf);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

static void spill(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file's distinct lines, sorted: views into text (owned). */
struct ck_lines {
	char *text;
	char **v;
	size_t n;
	size_t read; /* lines in the file, repeats included */
};

static void lines_read(struct ck_lines *l, const char *path)
{
	size_t len, i = 0;

	l->text = slurp(path, &len);
	l->v = calloc(len / 2 + 1, sizeof(*l->v));
	cr_assert_not_null(l->v);
	for (char *save = NULL, *p = strtok_r(l->text, "\n", &save); p != NULL;
	     p = strtok_r(NULL, "\n", &save))
		l->v[i++] = p;
	l->read = i;
	qsort(l->v, i, sizeof(*l->v), cmp_str);
	l->n = 0;
	for (size_t k = 0; k < i; k++)
		if (l->n == 0 || strcmp(l->v[l->n - 1], l->v[k]) != 0)
			l->v[l->n++] = l->v[k];
}

static void lines_free(struct ck_lines *l)
{
	free(l->v);
	free(l->text);
	memset(l, 0, sizeof(*l));
}

static size_t lines_with(const struct ck_lines *l, const char *needle)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		n += strstr(l->v[i], needle) != NULL;
	return n;
}

/* The lines of a and b together, as a set, into *u: views into theirs
 * (u owns no text; a and b must outlive it). */
static void lines_union(const struct ck_lines *a, const struct ck_lines *b, struct ck_lines *u)
{
	size_t i = 0, j = 0;

	memset(u, 0, sizeof(*u));
	u->v = calloc(a->n + b->n + 1, sizeof(*u->v));
	cr_assert_not_null(u->v);
	while (i < a->n || j < b->n) {
		char *next;
		if (j == b->n || (i < a->n && strcmp(a->v[i], b->v[j]) <= 0))
			next = a->v[i++];
		else
			next = b->v[j++];
		if (u->n == 0 || strcmp(u->v[u->n - 1], next) != 0)
			u->v[u->n++] = next;
	}
	u->read = u->n;
}

/* How got differs from want, as sets: lines only in got (extra) and only
 * in want (missing), each with the first of them. */
struct ck_diff {
	size_t extra, missing;
	const char *first_extra, *first_missing;
};

static struct ck_diff lines_diff(const struct ck_lines *got, const struct ck_lines *want)
{
	struct ck_diff d = {.first_extra = "", .first_missing = ""};

	for (size_t i = 0, j = 0; i < got->n || j < want->n;) {
		int c = i == got->n ? 1 : j == want->n ? -1 : strcmp(got->v[i], want->v[j]);
		if (c < 0) {
			if (d.extra++ == 0)
				d.first_extra = got->v[i];
			i++;
		} else if (c > 0) {
			if (d.missing++ == 0)
				d.first_missing = want->v[j];
			j++;
		} else {
			i++;
			j++;
		}
	}
	return d;
}

static void expect_no_extra(const struct ck_diff *d, const char *label)
{
	cr_expect_eq(d->extra, 0, "%s: %zu alerts the uninterrupted run did not raise, first: %s",
	             label, d->extra, d->first_extra);
}

static void expect_none_missing(const struct ck_diff *d, const char *label)
{
	cr_expect_eq(d->missing, 0, "%s: %zu alerts of the uninterrupted run missing, first: %s",
	             label, d->missing, d->first_missing);
}

/* The names in a folder but . and .., sorted, one a line. */
static char *folder_listing(const char *dir)
{
	DIR *d = opendir(dir);
	char **v = NULL;
	size_t n = 0, len = 1;
	struct dirent *de;

	cr_assert_not_null(d, "cannot list %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		v = realloc(v, (n + 1) * sizeof(*v));
		cr_assert_not_null(v);
		v[n] = strdup(de->d_name);
		cr_assert_not_null(v[n]);
		len += strlen(v[n++]) + 1;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_str);
	char *out = malloc(len), *o = out;
	cr_assert_not_null(out);
	*o = '\0';
	for (size_t i = 0; i < n; i++) {
		o += sprintf(o, "%s\n", v[i]);
		free(v[i]);
	}
	free(v);
	return out;
}

/* The files of checkpoint id of a run of threads cores, as
 * folder_listing lists them. */
static char *checkpoint_listing(uint64_t id, uint32_t threads)
{
	char **v = calloc(threads + 2, sizeof(*v));
	size_t len = 1;

	cr_assert_not_null(v);
	cr_assert_geq(asprintf(&v[0], "checkpoint"), 0);
	cr_assert_geq(asprintf(&v[1], "source.%llu.snap", (unsigned long long)id), 0);
	for (uint32_t i = 0; i < threads; i++)
		cr_assert_geq(asprintf(&v[2 + i], "core-%u.%llu.snap", i, (unsigned long long)id),
		              0);
	for (uint32_t i = 0; i < threads + 2; i++)
		len += strlen(v[i]) + 1;
	qsort(v, threads + 2, sizeof(*v), cmp_str);
	char *out = malloc(len), *o = out;
	cr_assert_not_null(out);
	*o = '\0';
	for (uint32_t i = 0; i < threads + 2; i++) {
		o += sprintf(o, "%s\n", v[i]);
		free(v[i]);
	}
	free(v);
	return out;
}

/* ---- the inputs ---- */

struct ck_plan {
	int64_t t_s;
	int n; /* the order made: the record's id, and the tie-break */
	bool failed;
	char account[40], ip[40];
};

static int cmp_plan(const void *a, const void *b)
{
	const struct ck_plan *x = a, *y = b;

	if (x->t_s != y->t_s)
		return x->t_s < y->t_s ? -1 : 1;
	return x->n - y->n;
}

static void plan_add(struct ck_plan *p, int *n, int64_t t_s, bool failed, const char *account,
                     const char *ip)
{
	p[*n] = (struct ck_plan){.t_s = t_s, .n = *n, .failed = failed};
	snprintf(p[*n].account, sizeof(p[*n].account), "%s", account);
	snprintf(p[*n].ip, sizeof(p[*n].ip), "%s", ip);
	(*n)++;
}

/* count failures of account from ip, gap_s apart from t_s. */
static void plan_burst(struct ck_plan *p, int *n, const char *account, const char *ip, int64_t t_s,
                       int count, int gap_s)
{
	for (int i = 0; i < count; i++)
		plan_add(p, n, t_s + (int64_t)gap_s * i, true, account, ip);
}

/* Failures of count accounts (every stride-th from first) from one ip,
 * gap_s apart from t_s. */
static void plan_spray(struct ck_plan *p, int *n, const char *ip, int64_t t_s, int count, int first,
                       int stride, int gap_s)
{
	char account[40];

	for (int i = 0; i < count; i++) {
		snprintf(account, sizeof(account), "u%02d@fabrikam.example", first + stride * i);
		plan_add(p, n, t_s + (int64_t)gap_s * i, true, account, ip);
	}
}

/* Dead letters spread through the inputs, in turn. */
static void add_bad(struct af_recs *in, int k)
{
	switch (k % 5) {
	case 0: af_recs_add(in, "{\"CreationTime\":\"2025-08-25T07:00:00\",\"Id\":"); break;
	case 1: af_recs_add(in, "not a record %d", k); break;
	case 2: af_recs_add(in, "[%d,\"a list\"]", k); break;
	case 3: af_recs_add(in, "{\"what\":\"unknown\",\"k\":%d}", k); break;
	case 4:
		af_recs_add_rejected(in, AF_REASON_OVERSIZE, "{\"CreationTime\":\"2025-08-25");
		break;
	}
}

/* Three hours of sign-ins of 48 accounts spread over ninputs inputs in
 * turn, the same hours in each: ordinary successes, failure bursts on a
 * few accounts (signin_fail_burst, one account twice) and two sprays
 * (password_spray, IPv4 and IPv6), every input in event order but for
 * neighbours swapped now and then (the reorder buffers put them back);
 * and in each input a dead letter every 41 records and a repeated record
 * (a duplicate) every 57. */
static void ck_inputs(struct af_recs *in, uint32_t ninputs)
{
	struct ck_plan *p = calloc(1024, sizeof(*p));
	int n = 0, k = 0;
	char account[40], ip[40];

	cr_assert_not_null(p);
	for (int step = 0; step < 120; step++)
		for (int a = 0; a < 5; a++) {
			int who = (step * 5 + a) % 48;
			snprintf(account, sizeof(account), "u%02d@fabrikam.example", who);
			snprintf(ip, sizeof(ip), "203.0.113.%d", 10 + who);
			plan_add(p, &n, T0 + 90 * step + 11 * a, false, account, ip);
		}
	plan_burst(p, &n, "u07@fabrikam.example", "198.51.100.7", T0 + 1800, 12, 40);
	plan_burst(p, &n, "u21@fabrikam.example", "2001:db8:21::4", T0 + 5000, 11, 25);
	plan_burst(p, &n, "u33@fabrikam.example", "198.51.100.33", T0 + 8000, 14, 30);
	plan_burst(p, &n, "u07@fabrikam.example", "198.51.100.8", T0 + 9500, 12, 35);
	plan_spray(p, &n, "192.0.2.99", T0 + 3000 + 7, 8, 1, 5, 70);
	plan_spray(p, &n, "2001:db8:beef::5", T0 + 6500 + 3, 6, 4, 7, 100);
	cr_assert_lt(n, 1024);
	qsort(p, (size_t)n, sizeof(*p), cmp_plan);

	for (uint32_t i = 0; i < ninputs; i++) {
		int made = 0;
		for (int at = (int)i; at < n; at += (int)ninputs, made++) {
			/* Every 23rd record of an input swaps with the next. */
			int pick = at;
			if (made % 23 == 21 && at + (int)ninputs < n)
				pick = at + (int)ninputs;
			else if (made % 23 == 22)
				pick = at - (int)ninputs;
			const struct ck_plan *e = &p[pick];
			char id[24];
			snprintf(id, sizeof(id), "ck-%d", e->n);
			if (e->n % 2 == 0)
				af_recs_m365_signin(&in[i], id, e->account, e->ip, e->t_s,
				                    e->failed);
			else
				af_recs_entra_signin(&in[i], id, e->account, e->ip, e->t_s,
				                     e->failed ? 50126 : 0);
			if (in[i].n % 41 == 40)
				add_bad(&in[i], k++);
			if (in[i].n % 57 == 56)
				af_recs_repeat(&in[i], in[i].n - 4);
		}
	}
	free(p);
}

static void ck_inputs_free(struct af_recs *in, uint32_t ninputs)
{
	for (uint32_t i = 0; i < ninputs; i++)
		af_recs_free(&in[i]);
}

/* ---- a stop and a resume against the uninterrupted run ---- */

#define NINPUTS 3

/* Every failure from the third in a window alerts, and nothing is
 * suppressed: an alert's count and evidence then depend on exactly which
 * failures were applied before it, so an alert raised from events applied
 * out of their order, or from only some of them, shows as a line the
 * uninterrupted run never wrote. */
static const char *const dense_alerts[] = {
    "rules.suppression",
    "0",
    "rules.signin_fail_burst.threshold",
    "3",
    /* Tables sized for these inputs, not the defaults' millions: each
     * test makes a runtime per cut, and under ASan most of a run is
     * spent mapping and poisoning what it allocates. */
    "state.max_accounts",
    "8192",
    "state.max_addresses",
    "8192",
    "state.hll_blocks",
    "64",
    "input.max_record_bytes",
    "64KiB",
    "input.dedup_max_entries",
    "65536",
    NULL,
};

static void set_dense_alerts(struct af_recs_scratch *sc)
{
	for (size_t i = 0; dense_alerts[i] != NULL; i += 2)
		af_recs_scratch_set(sc, dense_alerts[i], dense_alerts[i + 1]);
}

/* The uninterrupted run of a thread count: its alerts, its counts and
 * how many batches its source handed on. */
struct ck_truth {
	struct ck_lines alerts;
	struct af_summary sum;
	uint64_t batches;
};

static void ck_truth_run(const struct af_recs *in, uint32_t threads, struct ck_truth *t)
{
	struct af_recs_scratch sc;
	struct ck_src s;
	struct ck_outcome o;

	af_recs_scratch_init(&sc, threads, BATCH);
	set_dense_alerts(&sc);
	ck_src_init(&s, in, NINPUTS);
	ck_run(&sc.cfg, &s, sc.alerts_path, false, "the uninterrupted run", &o);
	cr_assert(o.ended);
	cr_assert_eq(o.checkpoints, 0);
	lines_read(&t->alerts, sc.alerts_path);
	t->sum = o.sum;
	t->batches = s.handed;
	af_recs_scratch_fini(&sc);

	/* The test means something only if the input makes all of this. */
	cr_assert_eq(t->alerts.read, t->sum.alerts, "the alert file and the summary disagree");
	cr_assert_eq(t->alerts.n, t->alerts.read, "the uninterrupted run repeated an alert");
	cr_assert_geq(lines_with(&t->alerts, "\"rule\":\"signin_fail_burst\""), 3);
	cr_assert_geq(lines_with(&t->alerts, "\"rule\":\"password_spray\""), 2);
	cr_assert_gt(t->sum.events_invalid, 0);
	cr_assert_gt(t->sum.duplicates, 0);
	cr_assert_gt(t->batches, 20);
}

static void expect_same_counts(const struct af_summary *got, const struct af_summary *want,
                               const char *label)
{
	cr_expect_eq(got->events_in, want->events_in, "%s: events_in", label);
	cr_expect_eq(got->events_ok, want->events_ok, "%s: events_ok", label);
	cr_expect_eq(got->events_invalid, want->events_invalid, "%s: events_invalid", label);
	cr_expect_eq(got->duplicates, want->duplicates, "%s: duplicates", label);
	cr_expect_eq(got->late, want->late, "%s: late", label);
	cr_expect_eq(got->alerts, want->alerts, "%s: alerts", label);
	cr_expect_eq(got->accounts, want->accounts, "%s: accounts", label);
	for (unsigned r = 0; r < AF_REASON_COUNT; r++)
		cr_expect_eq(got->invalid_by_reason[r], want->invalid_by_reason[r], "%s: %s", label,
		             af_reason_name((enum af_reason)r));
	for (uint32_t i = 0; i < want->rules_n; i++) {
		uint64_t n = 0;
		for (uint32_t j = 0; j < got->rules_n; j++)
			if (strcmp(got->alerts_by_rule[j].name, want->alerts_by_rule[i].name) == 0)
				n = got->alerts_by_rule[j].count;
		cr_expect_eq(n, want->alerts_by_rule[i].count, "%s: alerts of %s", label,
		             want->alerts_by_rule[i].name);
	}
}

/* Stop a run after `after` batches, resume it in a fresh runtime, and
 * hold both against the truth. */
static uint64_t stop_and_resume(const struct af_recs *in, uint32_t threads, uint64_t after,
                                const char *interval, const struct ck_truth *t)
{
	struct af_recs_scratch sc;
	char state[128], manifest[160], resumed_path[160], label[160];
	struct ck_src s;
	struct ck_outcome first, second;
	struct ck_lines a1, a2;

	ck_scratch_init(&sc, threads, BATCH, interval, state, sizeof(state));
	set_dense_alerts(&sc);
	snprintf(manifest, sizeof(manifest), "%s/checkpoint", state);
	snprintf(resumed_path, sizeof(resumed_path), "%s/alerts-resumed.jsonl", sc.dir);
	snprintf(label, sizeof(label), "-j %u, stopped after %llu of %llu batches, interval %s",
	         threads, (unsigned long long)after, (unsigned long long)t->batches, interval);

	ck_src_init(&s, in, NINPUTS);
	s.stop_after = after;
	ck_run(&sc.cfg, &s, sc.alerts_path, false, label, &first);
	cr_assert_eq(s.handed, after, "%s: the source handed on another count", label);
	cr_expect_not(first.ended, "%s: a stopped run said its source ended", label);
	cr_assert_geq(first.checkpoints, 1, "%s: the stop wrote no checkpoint", label);
	cr_assert(exists(manifest), "%s: no %s", label, manifest);
	/* What the stop kept in its reorder buffers is counted as held, so
	 * the stopped run's own counts add up too. */
	cr_expect(af_summary_consistent(&first.sum), "%s: the stopped run's counts", label);
	cr_expect_leq(first.sum.events_ok + first.sum.held, t->sum.events_ok,
	              "%s: the stopped run applied or held more than there is", label);

	ck_src_init(&s, in, NINPUTS);
	ck_run(&sc.cfg, &s, resumed_path, true, label, &second);
	cr_expect(second.ended, "%s: the resumed run did not read to the end", label);
	cr_expect_eq(second.restored_id, first.checkpoints,
	             "%s: resumed from checkpoint %llu of %llu", label,
	             (unsigned long long)second.restored_id, (unsigned long long)first.checkpoints);

	lines_read(&a1, sc.alerts_path);
	lines_read(&a2, resumed_path);
	struct ck_lines both;
	lines_union(&a1, &a2, &both);
	struct ck_diff d = lines_diff(&both, &t->alerts);
	expect_no_extra(&d, label);
	expect_none_missing(&d, label);
	lines_free(&both);
	expect_same_counts(&second.sum, &t->sum, label);
	cr_expect(af_summary_consistent(&second.sum), "%s", label);
	lines_free(&a1);
	lines_free(&a2);
	unlink(resumed_path);
	ck_scratch_fini(&sc, state);
	return first.sum.held;
}

/* A cut after every batch, from before the first (the checkpoint holds
 * nothing) to after the last (the resumed run only sees its inputs end):
 * the inputs are read in turn, so most cuts leave some inputs a batch
 * behind the others, with events of theirs still to come between events
 * the shards hold. A few again with a checkpoint after nearly every batch
 * on the way, so the stop's has to wait for the one in flight. */
static void stop_and_resume_anywhere(uint32_t threads)
{
	struct af_recs in[NINPUTS] = {0};
	struct ck_truth t = {0};

	ck_inputs(in, NINPUTS);
	ck_truth_run(in, threads, &t);
	uint64_t held = 0;
	for (uint64_t after = 0; after <= t.batches; after++)
		held += stop_and_resume(in, threads, after, "0", &t);
	cr_expect_gt(held, 0, "-j %u: no stop kept an event in its checkpoint", threads);
	const uint64_t on_the_way[] = {5, t.batches / 2 + 1, t.batches};
	for (size_t i = 0; i < sizeof(on_the_way) / sizeof(on_the_way[0]); i++)
		stop_and_resume(in, threads, on_the_way[i], "1ns", &t);
	lines_free(&t.alerts);
	ck_inputs_free(in, NINPUTS);
}

Test(runtime_ckpt, resumes_a_stopped_run_to_the_alerts_and_counts_of_an_uninterrupted_one_j1,
     .timeout = 300)
{
	stop_and_resume_anywhere(1);
}

Test(runtime_ckpt, resumes_a_stopped_run_to_the_alerts_and_counts_of_an_uninterrupted_one_j2,
     .timeout = 300)
{
	stop_and_resume_anywhere(2);
}

Test(runtime_ckpt, resumes_a_stopped_run_to_the_alerts_and_counts_of_an_uninterrupted_one_j3,
     .timeout = 300)
{
	stop_and_resume_anywhere(3);
}

/* ---- a resumed run stopped again ---- */

/* Stop after first_k batches, resume and stop again after second_k more,
 * then resume to the end. What the stops themselves raise is held to the
 * uninterrupted run above; here, the three runs together miss none of its
 * alerts, the last raises none it did not, and the last one's counts are
 * its counts: a checkpoint taken of restored state holds all of it. */
static void stop_twice(const struct af_recs *in, uint32_t threads, uint64_t first_k,
                       uint64_t second_k, const struct ck_truth *t)
{
	struct af_recs_scratch sc;
	char state[128], path2[160], path3[160], label[192];
	struct ck_src s;
	struct ck_outcome o1, o2, o3;
	struct ck_lines l1, l2, l3, l12, all;

	ck_scratch_init(&sc, threads, BATCH, "0", state, sizeof(state));
	set_dense_alerts(&sc);
	snprintf(path2, sizeof(path2), "%s/alerts-2.jsonl", sc.dir);
	snprintf(path3, sizeof(path3), "%s/alerts-3.jsonl", sc.dir);
	snprintf(label, sizeof(label), "-j %u, stopped after %llu and %llu more of %llu batches",
	         threads, (unsigned long long)first_k, (unsigned long long)second_k,
	         (unsigned long long)t->batches);

	ck_src_init(&s, in, NINPUTS);
	s.stop_after = first_k;
	ck_run(&sc.cfg, &s, sc.alerts_path, false, label, &o1);
	cr_assert_eq(o1.checkpoints, 1, "%s", label);

	ck_src_init(&s, in, NINPUTS);
	s.stop_after = second_k;
	ck_run(&sc.cfg, &s, path2, true, label, &o2);
	cr_expect_eq(o2.restored_id, 1, "%s", label);
	cr_assert_eq(o2.checkpoints, 1, "%s", label);
	/* The second stop's checkpoint goes on from the first's number and
	 * replaces it. */
	char *got = folder_listing(state);
	char *want = checkpoint_listing(2, threads);
	cr_expect_str_eq(got, want, "%s", label);
	free(got);
	free(want);

	ck_src_init(&s, in, NINPUTS);
	ck_run(&sc.cfg, &s, path3, true, label, &o3);
	cr_expect_eq(o3.restored_id, 2, "%s", label);
	cr_expect(o3.ended, "%s: the last run did not read to the end", label);
	expect_same_counts(&o3.sum, &t->sum, label);

	lines_read(&l1, sc.alerts_path);
	lines_read(&l2, path2);
	lines_read(&l3, path3);
	lines_union(&l1, &l2, &l12);
	lines_union(&l12, &l3, &all);
	struct ck_diff d = lines_diff(&all, &t->alerts);
	expect_none_missing(&d, label);
	d = lines_diff(&l3, &t->alerts);
	expect_no_extra(&d, label);
	lines_free(&all);
	lines_free(&l12);
	lines_free(&l1);
	lines_free(&l2);
	lines_free(&l3);
	unlink(path2);
	unlink(path3);
	ck_scratch_fini(&sc, state);
}

Test(runtime_ckpt, resumes_a_resumed_run_that_was_stopped_again_to_the_uninterrupted_counts,
     .timeout = 300)
{
	for (uint32_t threads = 2; threads <= 3; threads++) {
		struct af_recs in[NINPUTS] = {0};
		struct ck_truth t = {0};

		ck_inputs(in, NINPUTS);
		ck_truth_run(in, threads, &t);
		/* At once both times; at once the second time; twice in the
		 * middle; the second stop with the last batch. */
		const uint64_t cuts[][2] = {
		    {0, 0}, {3, 0}, {7, 11}, {t.batches / 2, 1}, {t.batches - 2, 2},
		};
		for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
			stop_twice(in, threads, cuts[i][0], cuts[i][1], &t);
		lines_free(&t.alerts);
		ck_inputs_free(in, NINPUTS);
	}
}

/* ---- periodic checkpoints ---- */

Test(runtime_ckpt, takes_checkpoints_on_the_way_and_keeps_only_the_last_ones_files, .timeout = 120)
{
	for (uint32_t threads = 2; threads <= 3; threads++) {
		struct af_recs_scratch sc;
		struct af_recs in[2] = {0};
		char state[128];
		struct ck_src s;
		struct ck_outcome o;

		/* Enough batches that a checkpoint taken one at a time, with its
		 * fsyncs, is followed by others even on a loaded machine. */
		af_recs_ordinary(&in[0], "p", T0, 6000);
		af_recs_ordinary(&in[1], "q", T0 + 13, 6000);
		ck_scratch_init(&sc, threads, 8, "1ns", state, sizeof(state));
		ck_src_init(&s, in, 2);
		ck_run(&sc.cfg, &s, sc.alerts_path, false, sc.label, &o);
		cr_expect(o.ended, "%s", sc.label);
		cr_expect_eq(o.sum.events_in, 12000, "%s", sc.label);
		cr_expect_eq(o.sum.events_ok, 12000, "%s", sc.label);
		cr_assert_gt(o.checkpoints, 1, "%s: %llu checkpoints", sc.label,
		             (unsigned long long)o.checkpoints);

		/* Numbered from 1 in a fresh folder, one at a time, so the
		 * last is number o.checkpoints. */
		char *got = folder_listing(state);
		char *want = checkpoint_listing(o.checkpoints, threads);
		cr_expect_str_eq(got, want, "%s", sc.label);
		free(got);
		free(want);
		ck_scratch_fini(&sc, state);
		ck_inputs_free(in, 2);
	}
}

/* ---- refusals ---- */

Test(runtime_ckpt, restore_finds_no_checkpoint_in_an_empty_folder, .timeout = 30)
{
	struct af_recs_scratch sc;
	struct af_recs in[NINPUTS] = {0};
	char state[128], err[512];
	struct ck_src s;
	uint64_t id;

	ck_inputs(in, NINPUTS);
	ck_scratch_init(&sc, 2, BATCH, "0", state, sizeof(state));
	ck_src_init(&s, in, NINPUTS);
	af_err_t e = ck_try_restore(&sc.cfg, &s, &id, err, sizeof(err));
	cr_expect_eq(e, AF_EOF, "restore said %d: %s", e, err);
	cr_expect_eq(s.restores, 0, "the source was restored from nothing");
	ck_scratch_fini(&sc, state);
	ck_inputs_free(in, NINPUTS);
}

Test(runtime_ckpt, restore_refuses_a_checkpoint_taken_with_another_thread_count, .timeout = 30)
{
	struct af_recs_scratch sc, other;
	struct af_recs in[NINPUTS] = {0};
	char state[128], manifest[160], err[512];
	struct ck_src s;
	uint64_t id;

	ck_inputs(in, NINPUTS);
	ck_scratch_init(&sc, 2, BATCH, "0", state, sizeof(state));
	snprintf(manifest, sizeof(manifest), "%s/checkpoint", state);
	ck_checkpoint_after(&sc.cfg, in, NINPUTS, 7);

	af_recs_scratch_init(&other, 3, BATCH);
	af_recs_scratch_set(&other, "state.dir", state);
	ck_src_init(&s, in, NINPUTS);
	af_err_t e = ck_try_restore(&other.cfg, &s, &id, err, sizeof(err));
	cr_expect_eq(e, AF_E_CONFIG, "restore said %d: %s", e, err);
	cr_expect_not_null(strstr(err, manifest), "the message names no file: %s", err);
	cr_expect_eq(s.restores, 0);
	af_recs_scratch_fini(&other);

	/* The same checkpoint loads with the thread count it was taken with. */
	ck_src_init(&s, in, NINPUTS);
	e = ck_try_restore(&sc.cfg, &s, &id, err, sizeof(err));
	cr_expect_eq(e, AF_OK, "restore said %d: %s", e, err);
	ck_scratch_fini(&sc, state);
	ck_inputs_free(in, NINPUTS);
}

Test(runtime_ckpt, restore_refuses_a_checkpoint_taken_of_another_number_of_inputs, .timeout = 30)
{
	struct af_recs_scratch sc;
	struct af_recs in[INPUTS_MAX] = {0};
	char state[128], err[512];
	struct ck_src s;
	uint64_t id;

	ck_inputs(in, NINPUTS);
	af_recs_ordinary(&in[NINPUTS], "extra", T0, 30);
	ck_scratch_init(&sc, 2, BATCH, "0", state, sizeof(state));
	ck_checkpoint_after(&sc.cfg, in, NINPUTS, 7);

	for (uint32_t n = NINPUTS - 1; n <= NINPUTS + 1; n += 2) {
		ck_src_init(&s, in, n);
		af_err_t e = ck_try_restore(&sc.cfg, &s, &id, err, sizeof(err));
		cr_expect_eq(e, AF_E_CONFIG, "%u inputs: restore said %d: %s", n, e, err);
		cr_expect_not_null(strstr(err, state), "%u inputs: the message names no file: %s",
		                   n, err);
	}
	ck_src_init(&s, in, NINPUTS);
	af_err_t e = ck_try_restore(&sc.cfg, &s, &id, err, sizeof(err));
	cr_expect_eq(e, AF_OK, "the same inputs: restore said %d: %s", e, err);
	ck_scratch_fini(&sc, state);
	ck_inputs_free(in, INPUTS_MAX);
}

static void flip_byte(const char *path, off_t at)
{
	int fd = open(path, O_RDWR);
	uint8_t c;

	cr_assert_geq(fd, 0, "cannot open %s: %s", path, strerror(errno));
	cr_assert_eq(pread(fd, &c, 1, at), 1, "%s has no byte %lld", path, (long long)at);
	c ^= 0x10;
	cr_assert_eq(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

Test(runtime_ckpt, restore_refuses_a_manifest_with_a_flipped_byte, .timeout = 30)
{
	struct af_recs_scratch sc;
	struct af_recs in[NINPUTS] = {0};
	char state[128], manifest[160], err[512];
	struct ck_src s;
	uint64_t id;
	struct stat st;

	ck_inputs(in, NINPUTS);
	ck_scratch_init(&sc, 2, BATCH, "0", state, sizeof(state));
	snprintf(manifest, sizeof(manifest), "%s/checkpoint", state);
	ck_checkpoint_after(&sc.cfg, in, NINPUTS, 7);
	cr_assert_eq(stat(manifest, &st), 0, "no %s", manifest);

	/* In the header (its layout field), in the body's first section and
	 * in its last byte; each flipped back before the next. */
	const off_t at[] = {20, AF_SNAP_HEADER + 16 + 2, st.st_size - 1};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		flip_byte(manifest, at[i]);
		ck_src_init(&s, in, NINPUTS);
		af_err_t e = ck_try_restore(&sc.cfg, &s, &id, err, sizeof(err));
		cr_expect_eq(e, AF_E_FORMAT, "byte %lld: restore said %d: %s", (long long)at[i], e,
		             err);
		cr_expect_not_null(strstr(err, manifest),
		                   "byte %lld: the message names no file: %s", (long long)at[i],
		                   err);
		cr_expect_eq(s.restores, 0, "byte %lld", (long long)at[i]);
		flip_byte(manifest, at[i]);
	}
	ck_src_init(&s, in, NINPUTS);
	af_err_t e = ck_try_restore(&sc.cfg, &s, &id, err, sizeof(err));
	cr_expect_eq(e, AF_OK, "mended: restore said %d: %s", e, err);
	ck_scratch_fini(&sc, state);
	ck_inputs_free(in, NINPUTS);
}

Test(runtime_ckpt, restore_refuses_a_core_part_cut_short_by_one_byte, .timeout = 30)
{
	struct af_recs_scratch sc;
	struct af_recs in[NINPUTS] = {0};
	char state[128], part[192], err[512];
	struct ck_src s;
	uint64_t id, taken;
	size_t len;

	ck_inputs(in, NINPUTS);
	ck_scratch_init(&sc, 3, BATCH, "0", state, sizeof(state));
	ck_checkpoint_after(&sc.cfg, in, NINPUTS, 11);
	ck_src_init(&s, in, NINPUTS);
	af_err_t e = ck_try_restore(&sc.cfg, &s, &id, err, sizeof(err));
	cr_assert_eq(e, AF_OK, "whole: restore said %d: %s", e, err);
	taken = id;

	for (uint32_t core = 0; core < 3; core++) {
		snprintf(part, sizeof(part), "%s/core-%u.%llu.snap", state, core,
		         (unsigned long long)taken);
		char *whole = slurp(part, &len);
		cr_assert_gt(len, AF_SNAP_HEADER);
		spill(part, whole, len - 1);
		ck_src_init(&s, in, NINPUTS);
		e = ck_try_restore(&sc.cfg, &s, &id, err, sizeof(err));
		cr_expect_eq(e, AF_E_FORMAT, "core %u: restore said %d: %s", core, e, err);
		cr_expect_not_null(strstr(err, part), "core %u: the message names no file: %s",
		                   core, err);
		spill(part, whole, len);
		free(whole);
	}
	ck_src_init(&s, in, NINPUTS);
	e = ck_try_restore(&sc.cfg, &s, &id, err, sizeof(err));
	cr_expect_eq(e, AF_OK, "mended: restore said %d: %s", e, err);
	ck_scratch_fini(&sc, state);
	ck_inputs_free(in, NINPUTS);
}

Test(runtime_ckpt, removing_a_checkpoint_leaves_none_of_its_files_and_nothing_else_gone,
     .timeout = 60)
{
	struct af_recs_scratch sc;
	struct af_recs in[NINPUTS] = {0};
	char state[128], path[192], err[512];
	struct ck_src s;
	uint64_t id;

	ck_inputs(in, NINPUTS);
	ck_scratch_init(&sc, 2, BATCH, "1ns", state, sizeof(state));
	ck_checkpoint_after(&sc.cfg, in, NINPUTS, 20);
	/* A part a crash left half written, and a file of someone else's. */
	snprintf(path, sizeof(path), "%s/core-1.99.snap.tmp", state);
	spill(path, "torn", 4);
	snprintf(path, sizeof(path), "%s/notes.txt", state);
	spill(path, "keep me\n", 8);

	cr_assert_eq(af_runtime_checkpoint_remove(state, err, sizeof(err)), AF_OK, "%s", err);
	char *left = folder_listing(state);
	cr_expect_str_eq(left, "notes.txt\n");
	free(left);
	ck_src_init(&s, in, NINPUTS);
	af_err_t e = ck_try_restore(&sc.cfg, &s, &id, err, sizeof(err));
	cr_expect_eq(e, AF_EOF, "after removal: restore said %d: %s", e, err);
	unlink(path);
	ck_scratch_fini(&sc, state);
	ck_inputs_free(in, NINPUTS);
}

Test(runtime_ckpt, removing_the_checkpoint_of_a_missing_folder_succeeds, .timeout = 30)
{
	struct af_recs_scratch sc;
	char missing[128], err[512];

	af_recs_scratch_init(&sc, 1, BATCH);
	snprintf(missing, sizeof(missing), "%s/never-made", sc.dir);
	err[0] = '\0';
	cr_expect_eq(af_runtime_checkpoint_remove(missing, err, sizeof(err)), AF_OK, "%s", err);
	cr_expect_not(exists(missing), "removing made the folder");
	af_recs_scratch_fini(&sc);
}
