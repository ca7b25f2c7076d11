/* records.c - the runtime tests' records and a run's scratch (see
 * records.h).
 *
 * Thread: making on the test's thread (Criterion asserts); af_recs_fill on
 * the source's thread.
 * In: ids, accounts, addresses and times. Out: JSON lines per input,
 * batches filled from them, and a directory and configuration per run.
 */
#include "records.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/reason.h"

#define SEC INT64_C(1000000000)

void af_recs_push(struct af_recs *in, char *text, size_t len, uint32_t reason)
{
	if (in->n == in->cap) {
		in->cap = in->cap ? 2 * in->cap : 64;
		in->v = realloc(in->v, in->cap * sizeof(*in->v));
		cr_assert_not_null(in->v);
	}
	in->v[in->n++] = (struct af_recs_line){.text = text, .len = len, .reason = reason};
}

void af_recs_add(struct af_recs *in, const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;

	va_start(ap, fmt);
	int len = vasprintf(&text, fmt, ap);
	va_end(ap);
	cr_assert_geq(len, 0);
	af_recs_push(in, text, (size_t)len, AF_REASON_NONE);
}

void af_recs_add_rejected(struct af_recs *in, uint32_t reason, const char *text)
{
	char *copy = strdup(text);

	cr_assert_not_null(copy);
	af_recs_push(in, copy, strlen(copy), reason);
}

void af_recs_repeat(struct af_recs *in, size_t i)
{
	char *copy = strdup(in->v[i].text);

	cr_assert_not_null(copy);
	af_recs_push(in, copy, in->v[i].len, in->v[i].reason);
}

void af_recs_free(struct af_recs *in)
{
	for (size_t i = 0; i < in->n; i++)
		free(in->v[i].text);
	free(in->v);
	memset(in, 0, sizeof(*in));
}

void af_recs_note_ts(struct af_recs *in, int64_t t_s)
{
	if (!in->has_ts || t_s * SEC > in->max_ts_ns)
		in->max_ts_ns = t_s * SEC;
	in->has_ts = true;
}

void af_recs_iso(char *buf, size_t size, int64_t t_s, bool zulu)
{
	time_t t = (time_t)t_s;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, zulu ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%dT%H:%M:%S", &tm);
}

void af_recs_m365_signin(struct af_recs *in, const char *id, const char *account, const char *ip,
                         int64_t t_s, bool failed)
{
	char ts[32];

	af_recs_iso(ts, sizeof(ts), t_s, false);
	af_recs_add(
	    in,
	    "{\"CreationTime\":\"%s\",\"Id\":\"%s\",\"Operation\":\"%s\","
	    "\"OrganizationId\":\"11-aa-22-bb\",\"RecordType\":15,\"ResultStatus\":\"Success\","
	    "\"UserKey\":\"1003BFFD%s\",\"UserType\":0,\"Workload\":\"AzureActiveDirectory\","
	    "\"ClientIP\":\"%s\",\"UserId\":\"%s\",\"AzureActiveDirectoryEventType\":1,"
	    "\"ExtendedProperties\":[{\"Name\":\"UserAgent\",\"Value\":\"Mozilla/5.0\"},"
	    "{\"Name\":\"RequestType\",\"Value\":\"Login:login\"}]%s}",
	    ts, id, failed ? "UserLoginFailed" : "UserLoggedIn", id, ip, account,
	    failed ? ",\"LogonError\":\"InvalidUserNameOrPassword\",\"ErrorNumber\":\"50126\""
	           : "");
	af_recs_note_ts(in, t_s);
}

void af_recs_entra_signin(struct af_recs *in, const char *id, const char *upn, const char *ip,
                          int64_t t_s, int error)
{
	char ts[32];

	af_recs_iso(ts, sizeof(ts), t_s, true);
	af_recs_add(
	    in,
	    "{\"time\":\"%s\",\"category\":\"SignInLogs\",\"operationName\":\"Sign-in "
	    "activity\",\"resultType\":\"%d\",\"callerIpAddress\":\"%s\",\"properties\":"
	    "{\"id\":\"%s\",\"createdDateTime\":\"%s\",\"userPrincipalName\":\"%s\","
	    "\"ipAddress\":\"%s\",\"clientAppUsed\":\"Browser\",\"appDisplayName\":\"Office "
	    "365 Exchange Online\",\"isInteractive\":true,\"status\":{\"errorCode\":%d}}}",
	    ts, error, ip, id, ts, upn, ip, error);
	af_recs_note_ts(in, t_s);
}

void af_recs_ordinary(struct af_recs *in, const char *tag, int64_t start_s, int count)
{
	for (int i = 0; i < count; i++) {
		char id[48], account[48], ip[32];

		snprintf(id, sizeof(id), "%s-%d", tag, i);
		snprintf(account, sizeof(account), "user%02d@contoso.example", i % 7);
		snprintf(ip, sizeof(ip), "203.0.113.%d", 10 + i % 7);
		if (i % 2 == 0)
			af_recs_m365_signin(in, id, account, ip, start_s + 60 * i, false);
		else
			af_recs_entra_signin(in, id, account, ip, start_s + 60 * i, 0);
	}
}

size_t af_recs_fill(struct af_recs_cursor *cur, struct af_rt_batch *b, uint32_t file, size_t max)
{
	size_t added = 0;

	while (added < max && cur->next < cur->in->n) {
		const struct af_recs_line *l = &cur->in->v[cur->next];
		struct af_rt_rec rec = {
		    .file = file,
		    .reason = l->reason,
		    .line = cur->next + 1,
		    .offset = cur->offset,
		    .seq = cur->next,
		};
		if (!af_rt_batch_add(b, l->text, l->len, &rec))
			break;
		cur->next++;
		cur->offset += l->len + 1;
		added++;
	}
	return added;
}

bool af_recs_ended(const struct af_recs_cursor *cur)
{
	return cur->next == cur->in->n;
}

void af_recs_scratch_init(struct af_recs_scratch *sc, uint32_t threads, uint32_t batch)
{
	char text[16];

	memset(sc, 0, sizeof(*sc));
	strcpy(sc->dir, "/tmp/af_runtime_XXXXXX");
	cr_assert_not_null(mkdtemp(sc->dir));
	snprintf(sc->alerts_path, sizeof(sc->alerts_path), "%s/alerts.jsonl", sc->dir);
	snprintf(sc->dlq_path, sizeof(sc->dlq_path), "%s/dlq.jsonl", sc->dir);
	snprintf(sc->events_path, sizeof(sc->events_path), "%s/events.jsonl", sc->dir);
	snprintf(sc->label, sizeof(sc->label), "-j %u batch %u", threads, batch);
	af_config_init(&sc->cfg);
	snprintf(text, sizeof(text), "%u", threads);
	af_recs_scratch_set(sc, "runtime.threads", text);
	snprintf(text, sizeof(text), "%u", batch);
	af_recs_scratch_set(sc, "runtime.batch_records", text);
}

void af_recs_scratch_set(struct af_recs_scratch *sc, const char *key, const char *value)
{
	char err[256];

	cr_assert_eq(af_config_set(&sc->cfg, key, value, err, sizeof(err)), AF_OK, "%s", err);
}

void af_recs_scratch_fini(struct af_recs_scratch *sc)
{
	unlink(sc->alerts_path);
	unlink(sc->dlq_path);
	unlink(sc->events_path);
	rmdir(sc->dir);
	af_config_fini(&sc->cfg);
}
