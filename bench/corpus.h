/* corpus.h - an in-memory corpus of realistic audit records for the
 * benchmarks.
 *
 * Thread: whoever builds it; read-only afterwards, so any number of threads
 * may read one corpus.
 * In: a record count, an account count and a seed. Out: records back to
 * back in one buffer, each followed by AF_CORPUS_PADDING bytes (a newline,
 * then blanks), as the file reader hands records to the parse stage.
 *
 * DESIGN: the mix follows what a tenant's audit stream is made of: the
 * Management Activity API's sign-ins (AzureActiveDirectoryStsLogon), Exchange
 * sends and MailItemsAccessed, SharePoint file access, plus Entra sign-ins in
 * the diagnostic-settings form and message trace rows. Accounts and source
 * addresses are drawn from Zipf distributions (a few busy accounts and
 * egress addresses, a long tail), so per-account work downstream sees a
 * realistic skew. The same seed gives the same bytes on every machine.
 */
#ifndef AF_BENCH_CORPUS_H
#define AF_BENCH_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"

/* Bytes after each record; simdjson reads up to this far past the end. */
#define AF_CORPUS_PADDING 64

/* What a generated record is; the benchmark counts parses per type. */
enum af_corpus_type {
	AF_CORPUS_AAD_LOGIN_OK,     /* UserLoggedIn, RecordType 15 */
	AF_CORPUS_AAD_LOGIN_FAILED, /* UserLoginFailed, with LogonError */
	AF_CORPUS_EXO_SEND,         /* Exchange Send with recipients */
	AF_CORPUS_EXO_MAIL_ACCESS,  /* Exchange MailItemsAccessed */
	AF_CORPUS_SPO_FILE_ACCESS,  /* SharePoint FileAccessed */
	AF_CORPUS_ENTRA_SIGNIN,     /* Entra sign-in, diagnostic-settings form */
	AF_CORPUS_MSGTRACE,         /* Exchange message trace row */
	AF_CORPUS_TYPE_COUNT
};

struct af_corpus_opts {
	size_t events;     /* records to generate; > 0 */
	uint32_t accounts; /* distinct accounts (Zipf, exponent 1); > 0 */
	uint64_t seed;
};

struct af_corpus {
	char *buf; /* all records, each followed by its padding */
	size_t buf_len;
	size_t count;   /* records */
	size_t *off;    /* count offsets of the records in buf */
	uint32_t *len;  /* count record lengths, padding excluded */
	uint8_t *type;  /* count enum af_corpus_type */
	size_t bytes;   /* sum of len[] */
	size_t max_len; /* longest record */
	size_t per_type[AF_CORPUS_TYPE_COUNT];
};

/* Generate a corpus into *c (caller's storage; fini releases what init
 * made). Returns AF_OK, AF_E_INVALID for a zero count, or AF_E_NOMEM; on
 * failure *c holds nothing to release and errstr says why.
 * Cost: about a second per million records, all in memory (~1 KB each). */
af_err_t af_corpus_init(struct af_corpus *c, const struct af_corpus_opts *opts, char *errstr,
                        size_t errstr_size);
void af_corpus_fini(struct af_corpus *c);

/* Stable snake_case name of a record type ("exchange_send"). */
const char *af_corpus_type_name(enum af_corpus_type type);

#endif
