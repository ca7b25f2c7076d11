/* syslog.c - the syslog sink: messages (made by syslog_fmt.c) into a
 * bounded queue of octet-counted frames, written to a non-blocking socket
 * that is connected again when it breaks (see syslog.h).
 *
 * Thread: the sink thread, which makes every call on a handle.
 * In: alerts, or text with a message id. Out: bytes on a UDP, TCP or Unix
 * socket; counters.
 *
 * DESIGN: the connection is a three-state machine (down, connecting, up)
 * that af_sl_step moves on without ever blocking; af_sl_run, behind
 * af_syslog_poll and af_syslog_flush, is the only place that waits, in
 * poll(2), bounded by the caller's time. A syslog receiver never sends on a
 * stream, so a readable stream socket means the receiver closed or reset
 * it: reading that before each write notices a closed receiver before
 * messages are written into a connection that is already gone, where they
 * would be lost.
 */
#include "sinks/syslog.h"
#include "pipeline/clock.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/config.h"
#include "sinks/syslog_impl.h"

#define AF_SL_ADDRS_MAX   8           /* addresses kept from one look-up */
#define AF_SL_WRITE_BATCH (16u << 10) /* stream bytes that trigger a write */
#define AF_SL_PEER_READS  16          /* reads of unexpected receiver bytes per step */

#define AF_SL_NS_PER_MS INT64_C(1000000)
#define AF_SL_NS_PER_S  INT64_C(1000000000)

enum af_sl_state {
	AF_SL_DOWN = 0,   /* no socket; deadline_ns: when to try again */
	AF_SL_CONNECTING, /* connect in progress; deadline_ns: when it fails */
	AF_SL_UP,
};

struct af_sl_addr {
	struct sockaddr_storage sa;
	socklen_t len;
};

struct af_syslog {
	enum af_syslog_transport transport;
	char *target; /* owned copy, for messages */
	struct af_sl_addr addrs[AF_SL_ADDRS_MAX];
	size_t naddrs, next_addr;

	int fd;
	enum af_sl_state state;
	int64_t deadline_ns; /* CLOCK_MONOTONIC */
	uint32_t fails;      /* failed attempts since a message last went out */
	bool wrote;          /* a whole message went out on this connection */
	bool ever_up;

	uint32_t backoff_min_ms, backoff_max_ms, connect_timeout_ms;
	struct af_syslog_fmt fmt;

	/* Frames "LEN SP MSG" in q[q_start..q_end); the first q_sent bytes of
	 * them are written on the current connection. q_start is always at
	 * a frame's start. */
	char *q;
	size_t q_cap, q_start, q_end, q_sent;
	uint64_t q_count;

	struct af_syslog_stats st; /* queued, queued_bytes, connected: computed */
	uint64_t failed_reported;
	char last_error[256];
};

static bool af_sl_stream(const struct af_syslog *s)
{
	return s->transport == AF_SYSLOG_TCP || s->transport == AF_SYSLOG_UNIX;
}

void af_syslog_opts_init(struct af_syslog_opts *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->facility = AF_SYSLOG_FACILITY_LOCAL0;
	opts->format = AF_OUTPUT_NATIVE;
	opts->sd_id = AF_SYSLOG_SD_ID_DEFAULT;
	opts->bom = true;
	opts->app_name = AF_SYSLOG_APP_NAME;
	opts->backoff_min_ms = 100;
	opts->backoff_max_ms = 5000;
	opts->connect_timeout_ms = 5000;
}

/* --- the queue --- */

/* The frame at q[at]: its whole length; *hdr gets the length of "LEN SP". */
static size_t af_sl_frame(const struct af_syslog *s, size_t at, size_t *hdr)
{
	size_t len = 0, i = at;

	while (s->q[i] != ' ')
		len = len * 10 + (size_t)(s->q[i++] - '0');
	*hdr = i + 1 - at;
	return *hdr + len;
}

static void af_sl_pop(struct af_syslog *s, size_t frame_len)
{
	s->q_start += frame_len;
	if (--s->q_count == 0)
		s->q_start = s->q_end = 0;
}

/* Frame m as "LEN SP MSG" and queue it. */
static af_err_t af_sl_queue(struct af_syslog *s, const struct af_syslog_msg *m)
{
	char num[24];
	size_t nd = (size_t)snprintf(num, sizeof num, "%zu ", m->len);
	size_t need = nd + m->len;

	if (s->q_cap - (s->q_end - s->q_start) < need)
		return AF_E_AGAIN;
	if (s->q_cap - s->q_end < need) {
		memmove(s->q, s->q + s->q_start, s->q_end - s->q_start);
		s->q_end -= s->q_start;
		s->q_start = 0;
	}
	memcpy(s->q + s->q_end, num, nd);
	s->q_end += nd;
	for (size_t i = 0; i < AF_SYSLOG_PARTS; i++) {
		/* memcpy's pointers must be valid even for 0 bytes: an empty
		 * raw text may come as NULL. */
		if (m->part[i].len == 0)
			continue;
		memcpy(s->q + s->q_end, m->part[i].p, m->part[i].len);
		s->q_end += m->part[i].len;
	}
	s->q_count++;
	if (m->cut)
		s->st.truncated++;
	return AF_OK;
}

/* --- the connection --- */

static void af_sl_error(struct af_syslog *s, const char *what, int err)
{
	if (err != 0)
		snprintf(s->last_error, sizeof s->last_error, "syslog %s: %s: %s", s->target, what,
		         strerror(err));
	else
		snprintf(s->last_error, sizeof s->last_error, "syslog %s: %s", s->target, what);
}

/* The connection is gone, or never came. The queue stays; a frame cut off
 * mid-way is sent again whole. Right after a working connection the next
 * attempt is at once; otherwise it waits, doubling each time. */
static void af_sl_down(struct af_syslog *s, const char *what, int err)
{
	af_sl_error(s, what, err);
	if (s->state == AF_SL_UP)
		s->st.disconnects++;
	else
		s->st.connect_failures++;
	bool worked = s->state == AF_SL_UP && s->wrote;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->state = AF_SL_DOWN;
	s->q_sent = 0;
	s->deadline_ns = af_clock_ns();
	if (worked) {
		s->fails = 0;
		return;
	}
	s->fails++;
	uint64_t ms = (uint64_t)s->backoff_min_ms << (s->fails - 1 < 20 ? s->fails - 1 : 20);
	if (ms > s->backoff_max_ms)
		ms = s->backoff_max_ms;
	s->deadline_ns += (int64_t)ms * AF_SL_NS_PER_MS;
	s->next_addr = (s->next_addr + 1) % s->naddrs;
}

static void af_sl_up(struct af_syslog *s)
{
	s->state = AF_SL_UP;
	s->wrote = false;
	if (s->ever_up)
		s->st.reconnects++;
	s->ever_up = true;
}

static void af_sl_connect(struct af_syslog *s)
{
	const struct af_sl_addr *ad = &s->addrs[s->next_addr];
	int type = af_sl_stream(s) ? SOCK_STREAM : SOCK_DGRAM;

	s->fd = socket(ad->sa.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		af_sl_down(s, "socket", errno);
		return;
	}
	if (s->transport == AF_SYSLOG_TCP) {
		/* Frames are batched here; once written they should leave. */
		int one = 1;
		(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	if (connect(s->fd, (const struct sockaddr *)&ad->sa, ad->len) == 0) {
		af_sl_up(s);
	} else if (errno == EINPROGRESS || errno == EINTR) {
		s->state = AF_SL_CONNECTING;
		s->deadline_ns = af_clock_ns() + (int64_t)s->connect_timeout_ms * AF_SL_NS_PER_MS;
	} else {
		af_sl_down(s, "connect", errno);
	}
}

static void af_sl_check_connect(struct af_syslog *s)
{
	struct pollfd p = {.fd = s->fd, .events = POLLOUT};

	if (poll(&p, 1, 0) > 0) {
		int err = 0;
		socklen_t len = sizeof err;
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err == 0)
			af_sl_up(s);
		else
			af_sl_down(s, "connect", err);
	} else if (af_clock_ns() >= s->deadline_ns) {
		af_sl_down(s, "connect", ETIMEDOUT);
	}
}

/* A stream receiver sends nothing: end-of-stream or an error here means
 * the connection is over. Stray bytes are read and ignored. */
static void af_sl_check_peer(struct af_syslog *s)
{
	char junk[256];

	for (int i = 0; i < AF_SL_PEER_READS; i++) {
		ssize_t n = recv(s->fd, junk, sizeof junk, MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n == 0)
			af_sl_down(s, "the receiver closed the connection", 0);
		else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			af_sl_down(s, "connection", errno);
		return;
	}
}

static void af_sl_sent(struct af_syslog *s, size_t frame_len)
{
	af_sl_pop(s, frame_len);
	s->st.sent++;
	s->wrote = true;
	s->fails = 0;
}

/* Write queued bytes until the queue is empty or the socket is full. */
static void af_sl_drain_stream(struct af_syslog *s)
{
	while (s->state == AF_SL_UP && s->q_count > 0) {
		size_t hdr;
		ssize_t n = send(s->fd, s->q + s->q_start + s->q_sent,
		                 s->q_end - s->q_start - s->q_sent, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				af_sl_down(s, "write", errno);
			return;
		}
		s->q_sent += (size_t)n;
		while (s->q_count > 0) {
			size_t len = af_sl_frame(s, s->q_start, &hdr);
			if (len > s->q_sent)
				break;
			s->q_sent -= len;
			af_sl_sent(s, len);
		}
	}
}

/* Send queued messages, one datagram each. */
static void af_sl_drain_dgram(struct af_syslog *s)
{
	while (s->state == AF_SL_UP && s->q_count > 0) {
		size_t hdr, len = af_sl_frame(s, s->q_start, &hdr);
		if (send(s->fd, s->q + s->q_start + hdr, len - hdr, MSG_NOSIGNAL) >= 0) {
			af_sl_sent(s, len);
			continue;
		}
		int err = errno;
		if (err == EINTR)
			continue;
		if (err == EAGAIN || err == EWOULDBLOCK)
			return;
		if (s->transport == AF_SYSLOG_UNIX_DGRAM &&
		    (err == ECONNREFUSED || err == ENOTCONN || err == ECONNRESET ||
		     err == ENOENT)) {
			/* The daemon went away (a restart): wait for it. */
			af_sl_down(s, "send", err);
			return;
		}
		af_sl_error(s, "send", err);
		af_sl_pop(s, len);
		s->st.failed++;
	}
}

/* Everything that can be done now, without waiting. */
static void af_sl_step(struct af_syslog *s)
{
	if (s->state == AF_SL_UP && af_sl_stream(s))
		af_sl_check_peer(s);
	if (s->state == AF_SL_DOWN && af_clock_ns() >= s->deadline_ns)
		af_sl_connect(s);
	if (s->state == AF_SL_CONNECTING)
		af_sl_check_connect(s);
	if (s->state == AF_SL_UP) {
		if (af_sl_stream(s))
			af_sl_drain_stream(s);
		else
			af_sl_drain_dgram(s);
	}
}

/* Sleep until the socket can move, a retry or connect deadline, or until. */
static void af_sl_wait(struct af_syslog *s, int64_t until)
{
	struct pollfd p = {.fd = -1};
	int64_t end = until;

	if (s->state != AF_SL_UP && s->deadline_ns < end)
		end = s->deadline_ns;
	if (s->state == AF_SL_CONNECTING)
		p = (struct pollfd){.fd = s->fd, .events = POLLOUT};
	else if (s->state == AF_SL_UP)
		p = (struct pollfd){.fd = s->fd,
		                    .events = POLLOUT | (af_sl_stream(s) ? POLLIN : 0)};
	int64_t now = af_clock_ns();
	if (end <= now)
		return;
	(void)poll(&p, p.fd >= 0 ? 1 : 0,
	           (int)((end - now + AF_SL_NS_PER_MS - 1) / AF_SL_NS_PER_MS));
}

static void af_sl_run(struct af_syslog *s, int timeout_ms)
{
	int64_t until = af_clock_ns() + (int64_t)timeout_ms * AF_SL_NS_PER_MS;

	assert(timeout_ms >= 0);
	for (;;) {
		af_sl_step(s);
		if (s->q_count == 0 || af_clock_ns() >= until)
			return;
		af_sl_wait(s, until);
	}
}

/* AF_E_IO once for the messages given up since the last report. */
static af_err_t af_sl_report(struct af_syslog *s, char *errstr, size_t errstr_size)
{
	uint64_t n = s->st.failed - s->failed_reported;

	if (n == 0)
		return AF_OK;
	s->failed_reported = s->st.failed;
	snprintf(errstr, errstr_size, "%" PRIu64 " syslog message%s not delivered; last: %s", n,
	         n == 1 ? "" : "s", s->last_error);
	return AF_E_IO;
}

/* --- opening --- */

static af_err_t af_sl_resolve(struct af_syslog *s, const char *host, const char *port, char *errstr,
                              size_t errstr_size)
{
	struct addrinfo hints = {0}, *res = NULL;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = s->transport == AF_SYSLOG_TCP ? SOCK_STREAM : SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		snprintf(errstr, errstr_size, "syslog target \"%s\": cannot resolve \"%s\": %s",
		         s->target, host, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return AF_E_CONFIG;
	}
	for (struct addrinfo *ai = res; ai != NULL && s->naddrs < AF_SL_ADDRS_MAX;
	     ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof s->addrs[0].sa)
			continue;
		memcpy(&s->addrs[s->naddrs].sa, ai->ai_addr, ai->ai_addrlen);
		s->addrs[s->naddrs++].len = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	if (s->naddrs == 0) {
		snprintf(errstr, errstr_size, "syslog target \"%s\": \"%s\" has no usable address",
		         s->target, host);
		return AF_E_CONFIG;
	}
	return AF_OK;
}

/* HOST:PORT (HOST may be "[v6]") after the scheme; resolves it. */
static af_err_t af_sl_target_inet(struct af_syslog *s, const char *rest, char *errstr,
                                  size_t errstr_size)
{
	char host[256];
	const char *colon, *hs = rest, *he;

	if (rest[0] == '[') {
		hs = rest + 1;
		he = strchr(hs, ']');
		if (he == NULL || he[1] != ':') {
			snprintf(errstr, errstr_size,
			         "syslog target \"%s\": expected [IPV6]:PORT after the scheme",
			         s->target);
			return AF_E_CONFIG;
		}
		colon = he + 1;
	} else {
		colon = strrchr(rest, ':');
		if (colon == NULL) {
			snprintf(
			    errstr, errstr_size,
			    "syslog target \"%s\": no port (expected HOST:PORT after the scheme)",
			    s->target);
			return AF_E_CONFIG;
		}
		if (memchr(rest, ':', (size_t)(colon - rest)) != NULL) {
			snprintf(errstr, errstr_size,
			         "syslog target \"%s\": an IPv6 address needs brackets, as in "
			         "[::1]:514",
			         s->target);
			return AF_E_CONFIG;
		}
		he = colon;
	}
	if (he == hs || (size_t)(he - hs) >= sizeof host) {
		snprintf(errstr, errstr_size, "syslog target \"%s\": %s host", s->target,
		         he == hs ? "no" : "too long a");
		return AF_E_CONFIG;
	}
	const char *port = colon + 1;
	size_t plen = strlen(port);
	unsigned long pn = 0;
	bool digits = plen > 0 && plen <= 5 && strspn(port, "0123456789") == plen;
	if (digits)
		pn = strtoul(port, NULL, 10);
	if (!digits || pn < 1 || pn > 65535) {
		snprintf(errstr, errstr_size,
		         "syslog target \"%s\": the port must be a number from 1 to 65535",
		         s->target);
		return AF_E_CONFIG;
	}
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	return af_sl_resolve(s, host, port, errstr, errstr_size);
}

static af_err_t af_sl_target_unix(struct af_syslog *s, const char *path, char *errstr,
                                  size_t errstr_size)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&s->addrs[0].sa;
	size_t len = strlen(path);

	if (path[0] != '/') {
		snprintf(errstr, errstr_size,
		         "syslog target \"%s\": a Unix socket needs an absolute path, as in "
		         "unix:///dev/log",
		         s->target);
		return AF_E_CONFIG;
	}
	if (len >= sizeof un->sun_path) {
		snprintf(errstr, errstr_size,
		         "syslog target \"%s\": the socket path is longer than %zu bytes",
		         s->target, sizeof un->sun_path - 1);
		return AF_E_CONFIG;
	}
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, path, len + 1);
	s->addrs[0].len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	s->naddrs = 1;
	return AF_OK;
}

static af_err_t af_sl_target(struct af_syslog *s, char *errstr, size_t errstr_size)
{
	static const struct {
		const char *scheme;
		enum af_syslog_transport transport;
	} schemes[] = {
	    {"udp://", AF_SYSLOG_UDP},
	    {"tcp://", AF_SYSLOG_TCP},
	    {"unix://", AF_SYSLOG_UNIX},
	    {"unix-dgram://", AF_SYSLOG_UNIX_DGRAM},
	};

	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
		size_t n = strlen(schemes[i].scheme);
		if (strncmp(s->target, schemes[i].scheme, n) != 0)
			continue;
		s->transport = schemes[i].transport;
		if (s->transport == AF_SYSLOG_TCP || s->transport == AF_SYSLOG_UDP)
			return af_sl_target_inet(s, s->target + n, errstr, errstr_size);
		return af_sl_target_unix(s, s->target + n, errstr, errstr_size);
	}
	snprintf(errstr, errstr_size,
	         "syslog target \"%s\": expected udp://HOST:PORT, tcp://HOST:PORT, unix:///path "
	         "or unix-dgram:///path",
	         s->target);
	return AF_E_CONFIG;
}

/* The options after the target: the message's (af_syslog_fmt_check), then
 * the sizes, which depend on the transport (*max_msg gets the message
 * size), and the timing. */
static af_err_t af_sl_options(struct af_syslog *s, const struct af_syslog_opts *o, size_t *max_msg,
                              char *errstr, size_t errstr_size)
{
	bool dgram = !af_sl_stream(s);
	size_t max = dgram ? AF_SYSLOG_DGRAM_MSG_MAX : AF_SYSLOG_STREAM_MSG_MAX;
	af_err_t err = af_syslog_fmt_check(o, errstr, errstr_size);

	if (err != AF_OK)
		return err;
	*max_msg = o->max_msg
	               ? o->max_msg
	               : (dgram ? AF_SYSLOG_DGRAM_MSG_DEFAULT : AF_SYSLOG_STREAM_MSG_DEFAULT);
	if (*max_msg < AF_SYSLOG_MSG_MIN || *max_msg > max) {
		snprintf(errstr, errstr_size,
		         "syslog max_msg %zu is not between %d and %zu bytes for %s", *max_msg,
		         AF_SYSLOG_MSG_MIN, max, s->target);
		return AF_E_CONFIG;
	}
	size_t frame_max = *max_msg + 12; /* "LEN SP" */
	s->q_cap = o->queue_bytes;
	if (s->q_cap == 0)
		s->q_cap = frame_max * 4 > AF_SYSLOG_QUEUE_DEFAULT ? frame_max * 4
		                                                   : AF_SYSLOG_QUEUE_DEFAULT;
	if (s->q_cap < frame_max) {
		snprintf(errstr, errstr_size,
		         "syslog queue_bytes %zu cannot hold one message of max_msg %zu bytes",
		         s->q_cap, *max_msg);
		return AF_E_CONFIG;
	}
	if (o->backoff_min_ms == 0 || o->backoff_max_ms < o->backoff_min_ms ||
	    o->connect_timeout_ms == 0) {
		snprintf(errstr, errstr_size,
		         "syslog backoff must be 0 < min (%" PRIu32 " ms) <= max (%" PRIu32
		         " ms), and the connect timeout (%" PRIu32 " ms) above 0",
		         o->backoff_min_ms, o->backoff_max_ms, o->connect_timeout_ms);
		return AF_E_CONFIG;
	}
	s->backoff_min_ms = o->backoff_min_ms;
	s->backoff_max_ms = o->backoff_max_ms;
	s->connect_timeout_ms = o->connect_timeout_ms;
	return AF_OK;
}

static void af_sl_free(struct af_syslog *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->q);
	af_syslog_fmt_fini(&s->fmt);
	free(s->target);
	free(s);
}

af_err_t af_syslog_open(const struct af_syslog_opts *opts, struct af_syslog **out, char *errstr,
                        size_t errstr_size)
{
	struct af_syslog *s = calloc(1, sizeof *s);
	af_err_t err = AF_E_NOMEM;
	size_t max_msg = 0;

	*out = NULL;
	if (s == NULL)
		goto nomem;
	s->fd = -1;
	if (opts->target == NULL || opts->target[0] == '\0') {
		snprintf(errstr, errstr_size,
		         "no syslog target given (udp://HOST:PORT, tcp://HOST:PORT, unix:///path "
		         "or unix-dgram:///path)");
		err = AF_E_CONFIG;
		goto fail;
	}
	s->target = strdup(opts->target);
	if (s->target == NULL)
		goto nomem;
	err = af_sl_target(s, errstr, errstr_size);
	if (err == AF_OK)
		err = af_sl_options(s, opts, &max_msg, errstr, errstr_size);
	if (err != AF_OK)
		goto fail;

	if (af_syslog_fmt_init(&s->fmt, opts, max_msg) != AF_OK)
		goto nomem;
	s->q = malloc(s->q_cap);
	if (s->q == NULL)
		goto nomem;

	s->deadline_ns = af_clock_ns();
	af_sl_step(s);
	*out = s;
	return AF_OK;
nomem:
	snprintf(errstr, errstr_size, "out of memory opening syslog target %s",
	         opts->target != NULL ? opts->target : "");
	err = AF_E_NOMEM;
fail:
	if (s != NULL)
		af_sl_free(s);
	return err;
}

/* --- sending --- */

/* After queueing: a datagram goes now; stream bytes wait for a batch. */
static af_err_t af_sl_queued(struct af_syslog *s, af_err_t err)
{
	if (err == AF_OK &&
	    (!af_sl_stream(s) || s->q_end - s->q_start - s->q_sent >= AF_SL_WRITE_BATCH))
		af_sl_step(s);
	return err;
}

af_err_t af_syslog_send_alert(struct af_syslog *s, const struct af_alert *a)
{
	struct af_syslog_msg m;

	af_syslog_fmt_alert(&s->fmt, a, &m);
	return af_sl_queued(s, af_sl_queue(s, &m));
}

af_err_t af_syslog_send_raw(struct af_syslog *s, const char *msgid, int severity, const char *text,
                            size_t len, int64_t ts_ns)
{
	struct af_syslog_msg m;

	if (severity < 0 || severity > AF_SYSLOG_SEV_DEBUG)
		return AF_E_INVALID;
	af_syslog_fmt_raw(&s->fmt, msgid, severity, text, len, ts_ns, &m);
	return af_sl_queued(s, af_sl_queue(s, &m));
}

af_err_t af_syslog_poll(struct af_syslog *s, int timeout_ms, char *errstr, size_t errstr_size)
{
	af_sl_run(s, timeout_ms);
	return af_sl_report(s, errstr, errstr_size);
}

af_err_t af_syslog_flush(struct af_syslog *s, int timeout_ms, char *errstr, size_t errstr_size)
{
	af_sl_run(s, timeout_ms);
	af_err_t err = af_sl_report(s, errstr, errstr_size);
	if (err != AF_OK || s->q_count == 0)
		return err;
	snprintf(errstr, errstr_size, "%" PRIu64 " syslog messages still queued for %s%s%s",
	         s->q_count, s->target, s->last_error[0] != '\0' ? "; last: " : "", s->last_error);
	return AF_E_AGAIN;
}

void af_syslog_stats(const struct af_syslog *s, struct af_syslog_stats *stats)
{
	*stats = s->st;
	stats->queued = s->q_count;
	stats->queued_bytes = s->q_end - s->q_start;
	stats->connected = s->state == AF_SL_UP;
}

const char *af_syslog_last_error(const struct af_syslog *s)
{
	return s->last_error;
}

af_err_t af_syslog_close(struct af_syslog *s, int timeout_ms, char *errstr, size_t errstr_size)
{
	if (s == NULL)
		return AF_OK;
	af_sl_run(s, timeout_ms);
	if (s->q_count > 0) {
		s->st.failed += s->q_count;
		if (s->last_error[0] == '\0')
			af_sl_error(s, "still queued at close", 0);
	}
	af_err_t err = af_sl_report(s, errstr, errstr_size);
	af_sl_free(s);
	return err;
}
