/* http_body.c - what the HTTP sink sends: the endpoint, the headers, the
 * body of a request per kind, and the redaction of secrets from its texts.
 *
 * Thread: the sink's owner (see sinks/http.h).
 * In: the options at open; documents as they are batched.
 * Out: the endpoint URL, the header list, body bytes, redacted text.
 *
 * DESIGN: what every piece of a body shares (the ES action line up to its
 * _id, HEC's fixed fields) is escaped once at open into h->prefix, so a
 * document costs a few memcpy: its own bytes, the prefix, its id or time.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pipeline/parse/timestamp.h"
#include "sinks/http_impl.h"
#include "sinks/jsonw.h"

/* Longest option text escaped into the body prefix. */
#define PREFIX_MAX 4096

bool af_http_buf_reserve(struct af_http_buf *b, size_t more)
{
	size_t need = b->len + more + AF_HTTP_PAD;
	if (need <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (p == NULL)
		return false;
	b->p = p;
	b->cap = cap;
	return true;
}

bool af_http_buf_add(struct af_http_buf *b, const char *s, size_t n)
{
	if (!af_http_buf_reserve(b, n))
		return false;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return true;
}

void af_http_redact(const struct af_http *h, char *s, size_t size)
{
	for (uint32_t i = 0; i < h->nsecrets; i++) {
		const char *sec = h->secrets[i];
		size_t n = strlen(sec);
		char *p = s;

		if (n == 0)
			continue;
		while ((p = strstr(p, sec)) != NULL) {
			size_t avail = size - 1 - (size_t)(p - s); /* chars from p on */
			size_t tail = strlen(p + n);
			size_t stars = avail < 3 ? avail : 3;
			size_t keep = tail < avail - stars ? tail : avail - stars;
			memmove(p + stars, p + n, keep);
			memcpy(p, "***", stars);
			p[stars + keep] = '\0';
			p += stars;
		}
	}
}

/* ---- set-up ---- */

static af_err_t secret_add(struct af_http *h, const char *s, size_t n)
{
	if (h->nsecrets == AF_HTTP_SECRETS_MAX)
		return AF_E_CONFIG;
	char *c = strndup(s, n);
	if (c == NULL)
		return AF_E_NOMEM;
	h->secrets[h->nsecrets++] = c;
	return AF_OK;
}

/* Text that goes into a header line must not end it early. */
static bool header_safe(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

static char *dup_curl(char *s)
{
	char *c = s != NULL ? strdup(s) : NULL;
	curl_free(s);
	return c;
}

/* The endpoint from the URL: the kind's path added, and a copy without
 * user and password for messages. Keeps the URL's password as a secret. */
static af_err_t endpoint(struct af_http *h, const char *url, int *url_auth, char *errstr,
                         size_t errstr_size)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *path = NULL, *user = NULL, *pass = NULL, *fixed = NULL;
	af_err_t err = AF_E_CONFIG;
	CURLUcode rc;

	if (u == NULL)
		return AF_E_NOMEM;
	rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (rc != CURLUE_OK) {
		snprintf(errstr, errstr_size, "http sink: cannot read the URL: %s",
		         curl_url_strerror(rc));
		goto cleanup;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
		snprintf(errstr, errstr_size,
		         "http sink: the URL must start with http:// or https://");
		goto cleanup;
	}
	if (curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK &&
	    (err = secret_add(h, pass, strlen(pass))) != AF_OK)
		goto cleanup;
	err = AF_E_CONFIG;
	*url_auth = curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK;
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto cleanup;
	size_t plen = strlen(path);
	while (plen > 0 && path[plen - 1] == '/')
		plen--;
	bool bulk = plen >= 6 && memcmp(path + plen - 6, "/_bulk", 6) == 0;
	if ((h->kind == AF_HTTP_HEC && plen == 0) || (h->kind == AF_HTTP_ES && !bulk)) {
		if (asprintf(&fixed, "%.*s%s", (int)plen, path,
		             h->kind == AF_HTTP_HEC ? "/services/collector/event" : "/_bulk") < 0) {
			fixed = NULL;
			err = AF_E_NOMEM;
			goto cleanup;
		}
		if (curl_url_set(u, CURLUPART_PATH, fixed, 0) != CURLUE_OK)
			goto cleanup;
	}
	char *s = NULL;
	if (curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK || (h->url = dup_curl(s)) == NULL)
		goto cleanup;
	s = NULL;
	curl_url_set(u, CURLUPART_USER, NULL, 0);
	curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
	if (curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK ||
	    (h->url_shown = dup_curl(s)) == NULL)
		goto cleanup;
	err = AF_OK;
cleanup:
	if (err == AF_E_CONFIG && errstr[0] == '\0')
		snprintf(errstr, errstr_size, "http sink: cannot make the endpoint from the URL");
	curl_free(scheme);
	curl_free(path);
	curl_free(user);
	curl_free(pass);
	free(fixed);
	curl_url_cleanup(u);
	return err;
}

static af_err_t header_add(struct af_http *h, const char *a, const char *b)
{
	char *line = NULL;
	if (asprintf(&line, "%s%s", a, b) < 0)
		return AF_E_NOMEM;
	struct curl_slist *l = curl_slist_append(h->headers, line);
	free(line);
	if (l == NULL)
		return AF_E_NOMEM;
	h->headers = l;
	return AF_OK;
}

/* The Authorization header or basic credentials, one way at most. */
static af_err_t auth(struct af_http *h, const struct af_http_opts *o, int url_auth, char *errstr,
                     size_t errstr_size)
{
	int ways = url_auth + (o->hec_token != NULL) +
	           (o->username != NULL || o->password != NULL) + (o->bearer_token != NULL) +
	           (o->api_key != NULL);
	const char *creds[] = {o->hec_token, o->password, o->bearer_token, o->api_key,
	                       o->client_key_password};
	af_err_t err;

	if (ways > 1) {
		snprintf(errstr, errstr_size,
		         "http sink %s: give one of hec_token, username/password, bearer_token, "
		         "api_key or credentials in the URL",
		         h->url_shown);
		return AF_E_CONFIG;
	}
	if ((h->kind == AF_HTTP_HEC) != (o->hec_token != NULL)) {
		snprintf(errstr, errstr_size, "http sink %s: %s", h->url_shown,
		         h->kind == AF_HTTP_HEC ? "Splunk HEC needs hec_token"
		                                : "hec_token is for Splunk HEC only");
		return AF_E_CONFIG;
	}
	for (size_t i = 0; i < sizeof creds / sizeof creds[0]; i++) {
		if (creds[i] == NULL)
			continue;
		if (!header_safe(creds[i])) {
			snprintf(errstr, errstr_size,
			         "http sink %s: a credential holds a line break", h->url_shown);
			return AF_E_CONFIG;
		}
		if ((err = secret_add(h, creds[i], strlen(creds[i]))) != AF_OK)
			return err;
	}
	if (o->hec_token != NULL)
		return header_add(h, "Authorization: Splunk ", o->hec_token);
	if (o->bearer_token != NULL)
		return header_add(h, "Authorization: Bearer ", o->bearer_token);
	if (o->api_key != NULL)
		return header_add(h, "Authorization: ApiKey ", o->api_key);
	return AF_OK;
}

static af_err_t headers(struct af_http *h, const struct af_http_opts *o, char *errstr,
                        size_t errstr_size)
{
	af_err_t err;

	err = header_add(h, "Content-Type: ",
	                 h->kind == AF_HTTP_ES ? "application/x-ndjson" : "application/json");
	/* curl would wait up to a second for "100 Continue" before a large body. */
	if (err == AF_OK)
		err = header_add(h, "Expect:", "");
	for (size_t i = 0; err == AF_OK && o->headers != NULL && o->headers[i] != NULL; i++) {
		const char *line = o->headers[i], *colon = strchr(line, ':');
		if (colon == NULL || colon == line || !header_safe(line)) {
			snprintf(errstr, errstr_size,
			         "http sink %s: extra header %zu is not one \"Name: value\" line",
			         h->url_shown, i + 1);
			return AF_E_CONFIG;
		}
		const char *v = colon + 1 + strspn(colon + 1, " \t");
		if (*v != '\0' && (err = secret_add(h, v, strlen(v))) == AF_E_CONFIG) {
			snprintf(errstr, errstr_size, "http sink %s: too many extra headers",
			         h->url_shown);
			return err;
		}
		if (err == AF_OK)
			err = header_add(h, line, "");
	}
	return err;
}

/* ES: {"index":{"_index":"<index>" ; HEC: "sourcetype":"..",... each
 * followed by a comma. */
static af_err_t prefix(struct af_http *h, const struct af_http_opts *o, char *errstr,
                       size_t errstr_size)
{
	char buf[PREFIX_MAX];
	struct af_jsonw w;
	size_t from = 0;

	af_jsonw_init(&w, buf, sizeof buf, NULL);
	af_jsonw_object_begin(&w);
	if (h->kind == AF_HTTP_ES) {
		af_jsonw_key(&w, "index");
		af_jsonw_object_begin(&w);
		if (o->es_index != NULL)
			af_jsonw_field_string(&w, "_index", o->es_index);
	} else if (h->kind == AF_HTTP_HEC) {
		const char *keys[] = {"sourcetype", "index", "source"};
		const char *vals[] = {o->hec_sourcetype, o->hec_index, o->hec_source};
		for (size_t i = 0; i < 3; i++)
			if (vals[i] != NULL)
				af_jsonw_field_string(&w, keys[i], vals[i]);
		from = 1;
	}
	if (w.flags & AF_JSONW_OVERFLOW) {
		snprintf(errstr, errstr_size, "http sink %s: index or source names are too long",
		         h->url_shown);
		return AF_E_CONFIG;
	}
	if (!af_http_buf_add(&h->prefix, buf + from, w.len - from))
		return AF_E_NOMEM;
	if (h->kind == AF_HTTP_HEC && w.len > 1 && !af_http_buf_add(&h->prefix, ",", 1))
		return AF_E_NOMEM;
	return AF_OK;
}

af_err_t af_http_setup(struct af_http *h, const struct af_http_opts *o, char *errstr,
                       size_t errstr_size)
{
	int url_auth = 0;
	af_err_t err;

	errstr[0] = '\0';
	if (o->url == NULL) {
		snprintf(errstr, errstr_size, "http sink: no URL");
		return AF_E_CONFIG;
	}
	if ((err = endpoint(h, o->url, &url_auth, errstr, errstr_size)) != AF_OK)
		return err;
	if ((err = auth(h, o, url_auth, errstr, errstr_size)) != AF_OK ||
	    (err = headers(h, o, errstr, errstr_size)) != AF_OK ||
	    (err = prefix(h, o, errstr, errstr_size)) != AF_OK)
		return err;
	const char *field = h->kind == AF_HTTP_ES    ? (o->id_field ? o->id_field : "id")
	                    : h->kind == AF_HTTP_HEC ? (o->time_field ? o->time_field : "ts")
	                                             : "";
	if (field[0] != '\0' && (h->field = strdup(field)) == NULL)
		return AF_E_NOMEM;
	return AF_OK;
}

/* ---- documents and bodies ---- */

void af_http_item_scan(struct af_http *h, struct af_http_item *it)
{
	const char *v;
	size_t n;
	bool str;

	if (h->field == NULL ||
	    !af_http_json_field(h->json, it->doc, it->len, h->field, &v, &n, &str))
		return;
	if (h->kind == AF_HTTP_ES) {
		/* A string's raw text is already escaped for a JSON string. */
		it->id_off = (uint32_t)(v - it->doc);
		it->id_len = (uint32_t)n;
	} else if (str) {
		it->has_time = af_ts_parse(v, n, &it->time_ns);
	}
}

void af_http_body_begin(const struct af_http *h, struct af_http_buf *b)
{
	(void)h;
	b->len = 0;
}

bool af_http_body_add(const struct af_http *h, struct af_http_buf *b, const struct af_http_item *it,
                      bool first)
{
	const char *doc = it->doc;
	size_t len = it->len;

	switch (h->kind) {
	case AF_HTTP_ES: {
		/* ES's prefix holds '{"index":{' and maybe '"_index":"x"'. */
		bool more = h->prefix.len > sizeof "{\"index\":{" - 1;
		if (!af_http_buf_add(b, h->prefix.p, h->prefix.len))
			return false;
		if (it->id_len > 0 &&
		    (!af_http_buf_add(b, more ? ",\"_id\":\"" : "\"_id\":\"", more ? 8 : 7) ||
		     !af_http_buf_add(b, doc + it->id_off, it->id_len) ||
		     !af_http_buf_add(b, "\"", 1)))
			return false;
		return af_http_buf_add(b, "}}\n", 3) && af_http_buf_add(b, doc, len) &&
		       af_http_buf_add(b, "\n", 1);
	}
	case AF_HTTP_HEC: {
		char t[48];
		int n = 0;
		if (it->has_time)
			n = snprintf(t, sizeof t, "\"time\":%" PRId64 ".%03d,",
			             it->time_ns / 1000000000,
			             (int)(it->time_ns % 1000000000 / 1000000));
		return af_http_buf_add(b, "{", 1) && af_http_buf_add(b, t, (size_t)n) &&
		       af_http_buf_add(b, h->prefix.p, h->prefix.len) &&
		       af_http_buf_add(b, "\"event\":", 8) && af_http_buf_add(b, doc, len) &&
		       af_http_buf_add(b, "}\n", 2);
	}
	default:
		if (h->single)
			return af_http_buf_add(b, doc, len);
		return af_http_buf_add(b, first ? "[" : ",", 1) && af_http_buf_add(b, doc, len);
	}
}

bool af_http_body_end(const struct af_http *h, struct af_http_buf *b)
{
	if (h->kind == AF_HTTP_WEBHOOK && !h->single)
		return af_http_buf_add(b, "]", 1);
	return true;
}
