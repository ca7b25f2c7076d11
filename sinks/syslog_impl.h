/* syslog_impl.h - the RFC 5424 formatter the syslog sink is built on:
 * syslog_fmt.c turns an alert or a raw text into the bytes of one message
 * (PRI, timestamp, header fields, structured data, BOM, MSG cut to the size
 * limit); syslog.c frames, queues and sends them. Internal to sinks/syslog*.
 *
 * Thread: the sink thread, like everything in sinks/syslog.h.
 * In: options (checked here), alerts and raw texts. Out: struct
 * af_syslog_msg, three views that together are the message.
 *
 * DESIGN: the formatter never copies MSG. The header and structured data
 * are built in the formatter's own buffer, an alert's JSON in its scratch
 * writer, and a raw text stays where the caller has it; the message is
 * handed over as views and copied once, into the queue.
 */
#ifndef AF_SINKS_SYSLOG_IMPL_H
#define AF_SINKS_SYSLOG_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/alert.h"
#include "pipeline/err.h"
#include "sinks/jsonw.h"
#include "sinks/syslog.h"

/* RFC 5424 field limits (section 6). */
#define AF_SYSLOG_HOST_MAX  255
#define AF_SYSLOG_APP_MAX   48
#define AF_SYSLOG_PROCID_SZ 24 /* a pid in decimal, with its NUL */

/* Header and structured data. Bound: "<191>1 " 7, timestamp and SP 28,
 * host 256, app 49, pid 21, msgid 33; SD: "[" + SD-ID 33, id 22, rule
 * 9 + 3 * 64, account 12 + 3 * 127 (each byte is at most 3 bytes out: an
 * escape is 2, U+FFFD 3), "]" 1: about 1080, so 2048 always holds it. */
#define AF_SYSLOG_HEAD_MAX 2048

/* What is the same in every message of a sink, and the buffers the
 * formatter builds in. Filled by af_syslog_fmt_init. */
struct af_syslog_fmt {
	int facility, format; /* format: enum af_output_format */
	bool bom;
	char *sd_id; /* owned; NULL: "-" */
	char host[AF_SYSLOG_HOST_MAX + 1];
	char app[AF_SYSLOG_APP_MAX + 1];
	char procid[AF_SYSLOG_PROCID_SZ];
	size_t max_msg; /* bytes of a message, framing excluded */

	char head[AF_SYSLOG_HEAD_MAX];
	struct af_jsonw jw;
	char *json; /* owned; jw's buffer */
};

/* The pieces of one message, in order. */
enum {
	AF_SYSLOG_PART_HEAD = 0, /* header, SP, structured data */
	AF_SYSLOG_PART_PRE,      /* SP and the BOM before MSG, SP alone, or nothing */
	AF_SYSLOG_PART_MSG,      /* MSG, already cut */
	AF_SYSLOG_PARTS,
};

/* One formatted message: its bytes are part[0], part[1], part[2] one after
 * the other, len in all (at most max_msg). The views point into the
 * formatter or into the text given to af_syslog_fmt_raw: valid until the
 * next call on the formatter, or while that text is. */
struct af_syslog_msg {
	struct af_syslog_part {
		const char *p;
		size_t len;
	} part[AF_SYSLOG_PARTS];
	size_t len;
	bool cut; /* shorter than it was meant to be: count it as truncated */
};

/* Check the options that shape messages (facility, format, SD-ID).
 * Returns AF_OK, or AF_E_CONFIG with errstr saying which is wrong. */
af_err_t af_syslog_fmt_check(const struct af_syslog_opts *opts, char *errstr, size_t errstr_size);

/* Set f up from opts (hostname: gethostname() when NULL) for messages of
 * at most max_msg bytes. opts: borrowed, strings copied.
 * Returns AF_OK or AF_E_NOMEM; either way af_syslog_fmt_fini frees f.
 * @pre f is zeroed; af_syslog_fmt_check passed; max_msg >= AF_SYSLOG_MSG_MIN
 * Cost: a gethostname(2) when no hostname is given; the 32 KiB JSON buffer
 * is allocated here and never again. */
af_err_t af_syslog_fmt_init(struct af_syslog_fmt *f, const struct af_syslog_opts *opts,
                            size_t max_msg);

/* Free what f owns. A zeroed f is fine. */
void af_syslog_fmt_fini(struct af_syslog_fmt *f);

/* a as one message into *m: MSGID the rule, structured data from the alert,
 * MSG the alert in f's format. a: borrowed, not referred to by *m.
 * Cost: af_alert_out_format into f's scratch writer; no allocation. */
void af_syslog_fmt_alert(struct af_syslog_fmt *f, const struct af_alert *a,
                         struct af_syslog_msg *m);

/* text[0..len) as the MSG of one message into *m, with MSGID msgid (NULL or
 * "": "-"), no structured data. text: borrowed, and *m refers to it.
 * @pre 0 <= severity <= AF_SYSLOG_SEV_DEBUG */
void af_syslog_fmt_raw(struct af_syslog_fmt *f, const char *msgid, int severity, const char *text,
                       size_t len, int64_t ts_ns, struct af_syslog_msg *m);

#endif
