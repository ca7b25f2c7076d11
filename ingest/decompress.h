/* decompress.h - the bytes of one file, with gzip or zstd undone.
 *
 * Thread: the source thread, through the file reader (ingest/file.c). An
 * af_decomp is not shared; one serves every file of an input in turn.
 * In: a file descriptor, read in large chunks. Out: the decompressed bytes,
 * in whatever amounts the codec yields, into the caller's buffer.
 *
 * DESIGN: the codec is chosen per file from its first bytes (gzip 1f 8b,
 * zstd 28 b5 2f fd, anything else is passed through), so a directory may mix
 * them. Concatenated gzip members and zstd frames are read as one stream. A
 * stream that stops inside a member or frame, or that the codec rejects,
 * ends with AF_E_RECORD rather than AF_E_IO: the bytes before it are good,
 * and the reader reports the loss as a record (AF_REASON_TRUNCATED_STREAM)
 * and goes on. Uncompressed input is read straight into the caller's
 * buffer, without a copy.
 */
#ifndef AF_INGEST_DECOMPRESS_H
#define AF_INGEST_DECOMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"

enum af_codec {
	AF_CODEC_NONE = 0,
	AF_CODEC_GZIP,
	AF_CODEC_ZSTD,
};

struct af_decomp;

/* A decompressor with its input buffer (256 KiB); codec contexts are made
 * on first use and kept for the next files. Returns NULL when out of
 * memory. */
struct af_decomp *af_decomp_new(void);

/* Free d and its codec contexts; d may be NULL. Does not close the fd. */
void af_decomp_free(struct af_decomp *d);

/* Start reading fd (borrowed; the caller closes it), named name in messages
 * (borrowed; must outlive the reading). Reads the first bytes to choose the
 * codec. Returns AF_OK, or AF_E_IO / AF_E_NOMEM with errstr written. */
af_err_t af_decomp_reset(struct af_decomp *d, int fd, const char *name, char *errstr,
                         size_t errstr_size);

/* Up to cap decompressed bytes into dst; *got is how many (> 0 on AF_OK).
 * Returns AF_OK, AF_EOF at the clean end of the stream, AF_E_RECORD when
 * the stream is truncated or corrupt (errstr says which; the stream is
 * over), AF_E_IO when read() fails, AF_E_NOMEM.
 * @pre af_decomp_reset succeeded; cap > 0.
 * Cost: at most one read() per call for uncompressed input; compressed
 * input is read 256 KiB at a time. */
af_err_t af_decomp_read(struct af_decomp *d, char *dst, size_t cap, size_t *got, char *errstr,
                        size_t errstr_size);

/* Codec of the current file. */
enum af_codec af_decomp_codec(const struct af_decomp *d);

/* Bytes read from the current file's descriptor so far (compressed). */
uint64_t af_decomp_consumed(const struct af_decomp *d);

#endif
