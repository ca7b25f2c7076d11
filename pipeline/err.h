/* err.h - the one error type of auditflow.
 *
 * Every function that can fail returns af_err_t: 0 is success, a negative
 * value names the failure. af_err_str() gives the text. Functions that touch
 * the outside world (files, sockets, configuration) also take
 * (errstr, errstr_size) and write a sentence a person can act on.
 */
#ifndef AF_ERR_H
#define AF_ERR_H

typedef enum af_err {
	AF_OK = 0,
	AF_EOF = -1,           /* end of input; not a failure */
	AF_E_NOMEM = -2,
	AF_E_IO = -3,          /* read/write/open failed; errno kept */
	AF_E_CONFIG = -4,      /* configuration or usage error (exit 2) */
	AF_E_INVALID = -5,     /* an argument or value is out of range */
	AF_E_RECORD = -6,      /* a record is unusable; see enum af_reason */
	AF_E_INTERNAL = -7,
	AF_E_AGAIN = -8,       /* full for now (a sink's queue): poll, offer again */
	AF_E_FORMAT = -9,      /* a file auditflow wrote is damaged, or of another version */
} af_err_t;

/* Static text for err; never NULL. */
const char *af_err_str(af_err_t err);

#endif
