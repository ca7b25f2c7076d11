/* syslog.h - alerts (and any other text) to a syslog receiver as RFC 5424
 * messages, over UDP (RFC 5426), TCP with octet counting (RFC 6587), or a
 * Unix socket, stream or datagram (/dev/log).
 *
 * Thread: the sink thread owns a handle; every call on it comes from that
 * thread. Not thread-safe. af_syslog_severity is pure.
 * In: struct af_alert (pipeline/alert.h), or text with a message id.
 * Out: one message per alert:
 *
 *   <131>1 2025-08-25T05:58:00.000000Z host auditflow 4242 new_country
 *   [auditflow@32473 id="00000abcdef01234" rule="new_country"
 *   account="user@example.com"] BOM{"id":"00000abcdef01234",...}
 *
 *   PRI        facility * 8 + severity; facility local0 (16) unless set;
 *              severity from the alert's (af_syslog_severity).
 *   TIMESTAMP  the alert's event time, UTC, always 6 fraction digits (the
 *              most RFC 5424 allows; nanoseconds are floored).
 *   HOSTNAME   opts.hostname or gethostname(); APP-NAME "auditflow";
 *              PROCID the process id; MSGID the rule id. Each is cut to
 *              its RFC 5424 length, and bytes outside printable US-ASCII
 *              become '_'.
 *   SD         one element, SD-ID opts.sd_id, with id (16 hex digits), rule
 *              and account (left out for per-address alerts); in values,
 *              '"', '\' and ']' are escaped with '\' and invalid UTF-8
 *              becomes U+FFFD. opts.sd_id NULL: "-" (no structured data).
 *              The default SD-ID "auditflow@32473" uses 32473, the
 *              enterprise number IANA reserves for documentation (RFC
 *              5612): a deployment that owns a private enterprise number
 *              should set its own.
 *   MSG        the alert as alert_out.h writes it (native JSON unless
 *              opts.format says otherwise), after the UTF-8 BOM (EF BB BF)
 *              that RFC 5424 asks for when MSG is UTF-8; opts.bom false
 *              leaves it out, and a raw text that is not valid UTF-8 never
 *              gets it.
 *
 * Framing: udp and unix-dgram send one message per datagram. tcp and unix
 * (stream) send "LEN SP MSG" frames (RFC 6587 octet counting), so a
 * message may hold newlines.
 *
 * Size: a message longer than opts.max_msg bytes is cut at a UTF-8
 * boundary (MSG is cut; if the header and structured data alone do not
 * fit, the structured data becomes "-") and counted in stats.truncated.
 * A cut JSON text is no longer valid JSON; the count says it happened.
 * Default max_msg: 8192 for datagrams (RFC 5426: receivers must take 480
 * bytes over IPv4 and 1180 over IPv6 and should take 2048; Linux syslog
 * daemons take 8192 or more; set 2048 for an unknown receiver over the
 * network), 65536 for streams.
 *
 * Delivery and back-pressure: nothing is dropped silently. A message is
 * queued (a bounded byte queue, opts.queue_bytes) and leaves from there;
 * sockets are non-blocking and no call waits longer than the time it is
 * given. When the queue cannot take a message, send returns AF_E_AGAIN and
 * the caller must hold it, call af_syslog_poll and try again.
 *   - Streams: a connection that breaks (the receiver closed it, a reset,
 *     a failed write) is made again, at once after a working connection,
 *     then with exponential backoff (opts.backoff_min_ms doubling up to
 *     opts.backoff_max_ms) while attempts fail; the queue keeps every
 *     message meanwhile, and a message cut off in the middle of a frame is
 *     sent again whole, so order is kept. Host names are resolved once, at
 *     open; each attempt uses the next of the addresses found.
 *     Limit: syslog over TCP has no acknowledgements, so bytes the kernel
 *     accepted just before a receiver vanished without closing (a crash,
 *     a cut cable) can be lost; a receiver that closes the connection is
 *     noticed before the next write (its end-of-stream is read first).
 *   - unix-dgram: a receiver that is gone (a syslog daemon restarting) is
 *     handled like a broken stream: messages wait and go once it is back.
 *   - udp: a datagram the kernel refuses (an ICMP port unreachable for an
 *     earlier one makes the next send fail, no route, ...) is counted in
 *     stats.failed, its cause kept, and not retried; af_syslog_poll and
 *     af_syslog_flush then return AF_E_IO once with the count and cause.
 *     UDP cannot tell whether an accepted datagram arrived.
 *
 * DESIGN: one queue format for every transport: frames "LEN SP MSG" back
 * to back. A stream writes the bytes as they are; a datagram socket sends
 * each MSG on its own. The frame length is read back from the queue, so
 * after a partial write the start of the unfinished frame is known without
 * any side table, and a reconnect resends from there.
 */
#ifndef AF_SYSLOG_H
#define AF_SYSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/alert.h"
#include "pipeline/err.h"

/* Syslog facilities and severities (RFC 5424, section 6.2.1). */
#define AF_SYSLOG_FACILITY_LOCAL0 16
#define AF_SYSLOG_FACILITY_MAX    23
#define AF_SYSLOG_SEV_CRIT        2
#define AF_SYSLOG_SEV_ERR         3
#define AF_SYSLOG_SEV_WARNING     4
#define AF_SYSLOG_SEV_NOTICE      5
#define AF_SYSLOG_SEV_INFO        6
#define AF_SYSLOG_SEV_DEBUG       7

#define AF_SYSLOG_SD_ID_DEFAULT "auditflow@32473" /* 32473: RFC 5612, documentation only */
#define AF_SYSLOG_APP_NAME      "auditflow"

#define AF_SYSLOG_MSG_MIN            480 /* RFC 5426's floor for IPv4 receivers */
#define AF_SYSLOG_DGRAM_MSG_DEFAULT  8192
#define AF_SYSLOG_DGRAM_MSG_MAX      65507 /* largest UDP payload over IPv4 */
#define AF_SYSLOG_STREAM_MSG_DEFAULT 65536
#define AF_SYSLOG_STREAM_MSG_MAX     (16u << 20)
#define AF_SYSLOG_QUEUE_DEFAULT      (1u << 20)

enum af_syslog_transport {
	AF_SYSLOG_UDP = 0,    /* udp://HOST:PORT */
	AF_SYSLOG_TCP,        /* tcp://HOST:PORT */
	AF_SYSLOG_UNIX,       /* unix:///path, a stream socket */
	AF_SYSLOG_UNIX_DGRAM, /* unix-dgram:///path, e.g. /dev/log */
};

/* Fill with af_syslog_opts_init, then change what is wanted. Strings are
 * borrowed: copied by af_syslog_open. */
struct af_syslog_opts {
	const char *target;          /* required; see enum af_syslog_transport. HOST
	                                is a name, an IPv4 address or an IPv6
	                                address in brackets ("[::1]") */
	int facility;                /* 0..23; default AF_SYSLOG_FACILITY_LOCAL0 */
	int format;                  /* enum af_output_format of MSG; default native */
	const char *sd_id;           /* SD-ID "name@number"; NULL: no structured data */
	bool bom;                    /* UTF-8 BOM before MSG; default true */
	const char *hostname;        /* HOSTNAME; NULL: gethostname() */
	const char *app_name;        /* APP-NAME; default AF_SYSLOG_APP_NAME */
	size_t max_msg;              /* bytes of a message, framing excluded;
	                                0: the transport's default (above) */
	size_t queue_bytes;          /* queue capacity; 0: AF_SYSLOG_QUEUE_DEFAULT,
	                                or room for 4 messages of max_msg if more */
	uint32_t backoff_min_ms;     /* first wait after a failed connect; 100 */
	uint32_t backoff_max_ms;     /* longest wait; 5000 */
	uint32_t connect_timeout_ms; /* a TCP connect that takes longer fails; 5000 */
};

/* Counters since open. */
struct af_syslog_stats {
	uint64_t sent;             /* messages written whole to the socket */
	uint64_t failed;           /* messages given up: refused datagrams, and
	                              messages still queued at close */
	uint64_t truncated;        /* messages cut to max_msg */
	uint64_t queued;           /* messages waiting now */
	uint64_t queued_bytes;     /* their bytes, framing included */
	uint64_t disconnects;      /* working connections that broke */
	uint64_t reconnects;       /* connections made after the first one */
	uint64_t connect_failures; /* connect attempts that failed */
	bool connected;            /* a connection (or a datagram peer) is up */
};

struct af_syslog;

/* The defaults above. */
void af_syslog_opts_init(struct af_syslog_opts *opts);

/* The syslog severity of an alert severity: critical -> 2 (crit), high -> 3
 * (err), medium -> 4 (warning), low -> 5 (notice); anything else -> 5.
 * A person reading a syslog console sorts by these words, so each
 * auditflow severity takes the syslog one of the same weight; emergency
 * and alert (0, 1) mean the system itself is unusable and are never used. */
int af_syslog_severity(enum af_severity sev);

/* Parse opts->target, resolve its host (getaddrinfo, once: IPv4 and IPv6),
 * check the options, and start connecting (without waiting: a receiver
 * that is not there yet is retried, see above). *out gets the handle.
 * Returns AF_OK; AF_E_CONFIG with errstr naming the target and what is
 * wrong (a bad target, a host that does not resolve, an option out of
 * range); AF_E_NOMEM. *out is NULL on failure.
 * Cost: one DNS look-up for a host name, which may block; the buffers
 * (queue_bytes and 32 KiB) are allocated here and never again. */
af_err_t af_syslog_open(const struct af_syslog_opts *opts, struct af_syslog **out, char *errstr,
                        size_t errstr_size);

/* Queue a as one message. a: borrowed.
 * Returns AF_OK once queued (the message will be delivered or counted as
 * failed); AF_E_AGAIN when the queue has no room for it (nothing was
 * queued; poll and offer it again).
 * A datagram leaves at once if it can. Stream bytes are written once 16 KiB
 * are queued, or by af_syslog_flush / af_syslog_poll: call af_syslog_flush
 * whenever the input runs dry, so alerts are not held back.
 * Cost: af_alert_out_format into a scratch buffer, a copy into the queue,
 * maybe a send(2). */
af_err_t af_syslog_send_alert(struct af_syslog *s, const struct af_alert *a);

/* Queue text[0..len) as the MSG of one message with MSGID msgid (NULL or
 * "": "-"), syslog severity 0..7, event time ts_ns, and no structured data.
 * text: borrowed, need not be NUL-terminated. Returns as
 * af_syslog_send_alert, or AF_E_INVALID for a severity out of range. */
af_err_t af_syslog_send_raw(struct af_syslog *s, const char *msgid, int severity, const char *text,
                            size_t len, int64_t ts_ns);

/* Make progress for up to timeout_ms (0: only what can be done now):
 * connect when a retry is due, write what the socket takes, wait for the
 * socket or the retry while messages are queued. Returns as soon as the
 * queue is empty, so an idle handle returns at once.
 * Returns AF_OK, or AF_E_IO with errstr (count and last cause) when
 * messages were given up since the last report; each is reported once.
 * @pre timeout_ms >= 0 */
af_err_t af_syslog_poll(struct af_syslog *s, int timeout_ms, char *errstr, size_t errstr_size);

/* Write everything queued, waiting up to timeout_ms for that.
 * Returns AF_OK when nothing is left queued; AF_E_AGAIN with errstr (how
 * many, and the last failure) when messages are still queued (a receiver
 * away, a full socket): they are kept, so this is not a failure; AF_E_IO
 * as af_syslog_poll (reported first).
 * @pre timeout_ms >= 0 */
af_err_t af_syslog_flush(struct af_syslog *s, int timeout_ms, char *errstr, size_t errstr_size);

/* Counters and the queue's state now. */
void af_syslog_stats(const struct af_syslog *s, struct af_syslog_stats *stats);

/* The latest delivery or connect failure as a sentence naming the target
 * ("" when there has been none). Valid until the next call on s. */
const char *af_syslog_last_error(const struct af_syslog *s);

/* Flush for up to timeout_ms, then close and free s. Messages still queued
 * then are counted as failed. Returns AF_OK, or AF_E_IO with errstr saying
 * how many messages were not delivered (now or unreported before) and the
 * last cause. NULL is a no-op.
 * @pre timeout_ms >= 0 */
af_err_t af_syslog_close(struct af_syslog *s, int timeout_ms, char *errstr, size_t errstr_size);

#endif
