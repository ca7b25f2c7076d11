/* decompress.c - the bytes of one file, with gzip or zstd undone.
 *
 * Thread: the source thread (see decompress.h). In: a file descriptor. Out:
 * decompressed bytes into the caller's buffer.
 *
 * DESIGN: a stream is "between members" (gzip) or "between frames" (zstd)
 * when the codec has reported the end of the last one; running out of input
 * there is a clean end, anywhere else it is a truncated stream. The codec
 * is asked for output before more input is read, because it may still hold
 * decoded bytes that did not fit the caller's buffer last time.
 */
#include "ingest/decompress.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#define AF_DECOMP_IN_SIZE (256u * 1024)

struct af_decomp {
	int fd;
	const char *name;
	enum af_codec codec;
	unsigned char *in;     /* AF_DECOMP_IN_SIZE bytes of compressed input */
	size_t in_pos, in_len; /* unread input is in[in_pos, in_len) */
	bool in_eof;           /* read() returned 0 */
	uint64_t consumed;
	z_stream z;
	bool z_ready; /* inflateInit2 done */
	bool member;  /* inside a gzip member */
	ZSTD_DCtx *zs;
	size_t zs_hint; /* last ZSTD_decompressStream result: 0 between frames */
	/* A codec failure found while it still returned bytes: reported by
	 * the next call, so the good bytes before it are delivered first. */
	af_err_t failed;
	char fail_msg[512];
};

struct af_decomp *af_decomp_new(void)
{
	struct af_decomp *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->in = malloc(AF_DECOMP_IN_SIZE);
	if (!d->in) {
		free(d);
		return NULL;
	}
	d->fd = -1;
	return d;
}

void af_decomp_free(struct af_decomp *d)
{
	if (!d)
		return;
	if (d->z_ready)
		inflateEnd(&d->z);
	ZSTD_freeDCtx(d->zs);
	free(d->in);
	free(d);
}

/* Keep the unread input and read more after it. Sets in_eof at the end. */
static af_err_t refill(struct af_decomp *d, char *errstr, size_t errstr_size)
{
	size_t left = d->in_len - d->in_pos;
	if (d->in_pos > 0) {
		memmove(d->in, d->in + d->in_pos, left);
		d->in_pos = 0;
		d->in_len = left;
	}
	ssize_t n;
	do
		n = read(d->fd, d->in + d->in_len, AF_DECOMP_IN_SIZE - d->in_len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(errstr, errstr_size, "%s: read: %s", d->name, strerror(errno));
		return AF_E_IO;
	}
	if (n == 0)
		d->in_eof = true;
	d->in_len += (size_t)n;
	d->consumed += (uint64_t)n;
	return AF_OK;
}

af_err_t af_decomp_reset(struct af_decomp *d, int fd, const char *name, char *errstr,
                         size_t errstr_size)
{
	d->fd = fd;
	d->name = name;
	d->in_pos = 0;
	d->in_len = 0;
	d->in_eof = false;
	d->consumed = 0;
	d->member = false;
	d->zs_hint = 0;
	d->failed = AF_OK;
	d->codec = AF_CODEC_NONE;
	while (d->in_len < 4 && !d->in_eof) {
		af_err_t err = refill(d, errstr, errstr_size);
		if (err != AF_OK)
			return err;
	}
	const unsigned char *m = d->in;
	if (d->in_len >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		d->codec = AF_CODEC_GZIP;
	else if (d->in_len >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		d->codec = AF_CODEC_ZSTD;

	if (d->codec == AF_CODEC_GZIP && !d->z_ready) {
		memset(&d->z, 0, sizeof(d->z));
		/* 16 + 15: gzip wrapper only, largest window. */
		if (inflateInit2(&d->z, 16 + 15) != Z_OK) {
			snprintf(errstr, errstr_size, "%s: cannot set up gzip decoding", name);
			return AF_E_NOMEM;
		}
		d->z_ready = true;
	}
	if (d->codec == AF_CODEC_ZSTD) {
		if (!d->zs)
			d->zs = ZSTD_createDCtx();
		if (!d->zs) {
			snprintf(errstr, errstr_size, "%s: cannot set up zstd decoding", name);
			return AF_E_NOMEM;
		}
		ZSTD_DCtx_reset(d->zs, ZSTD_reset_session_only);
	}
	return AF_OK;
}

static af_err_t read_plain(struct af_decomp *d, char *dst, size_t cap, size_t *got, char *errstr,
                           size_t errstr_size)
{
	size_t left = d->in_len - d->in_pos;
	if (left > 0) {
		size_t n = left < cap ? left : cap;
		memcpy(dst, d->in + d->in_pos, n);
		d->in_pos += n;
		*got = n;
		return AF_OK;
	}
	if (d->in_eof)
		return AF_EOF;
	ssize_t n;
	do
		n = read(d->fd, dst, cap);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(errstr, errstr_size, "%s: read: %s", d->name, strerror(errno));
		return AF_E_IO;
	}
	if (n == 0) {
		d->in_eof = true;
		return AF_EOF;
	}
	d->consumed += (uint64_t)n;
	*got = (size_t)n;
	return AF_OK;
}

/* The stream failed (what: why, as text) after producing n bytes: deliver
 * them first, and report the failure on this call or the next, and on
 * every call after. */
static af_err_t fail(struct af_decomp *d, af_err_t err, size_t n, size_t *got, char *errstr,
                     size_t errstr_size, const char *what, const char *why)
{
	const char *codec = d->codec == AF_CODEC_GZIP ? "gzip" : "zstd";
	snprintf(d->fail_msg, sizeof(d->fail_msg), "%s: %s stream %s%s%s%s", d->name, codec, what,
	         why ? " (" : "", why ? why : "", why ? ")" : "");
	d->failed = err;
	if (n > 0) {
		*got = n;
		return AF_OK;
	}
	snprintf(errstr, errstr_size, "%s", d->fail_msg);
	return err;
}

static af_err_t read_gzip(struct af_decomp *d, char *dst, size_t cap, size_t *got, char *errstr,
                          size_t errstr_size)
{
	uInt room = cap > UINT_MAX ? UINT_MAX : (uInt)cap;
	for (;;) {
		af_err_t err;
		size_t left = d->in_len - d->in_pos;
		if (!d->member) {
			if (left < 2 && !d->in_eof) {
				if ((err = refill(d, errstr, errstr_size)) != AF_OK)
					return err;
				continue;
			}
			if (left == 0)
				return AF_EOF;
			if (left < 2 || d->in[d->in_pos] != 0x1f || d->in[d->in_pos + 1] != 0x8b) {
				return fail(d, AF_E_RECORD, 0, got, errstr, errstr_size,
				            "is followed by data that is not gzip", NULL);
			}
			inflateReset(&d->z);
			d->member = true;
		}
		d->z.next_in = d->in + d->in_pos;
		d->z.avail_in = (uInt)left;
		d->z.next_out = (Bytef *)dst;
		d->z.avail_out = room;
		int ret = inflate(&d->z, Z_NO_FLUSH);
		d->in_pos = d->in_len - d->z.avail_in;
		size_t n = room - d->z.avail_out;
		if (ret == Z_STREAM_END) {
			d->member = false;
		} else if (ret == Z_MEM_ERROR) {
			return fail(d, AF_E_NOMEM, n, got, errstr, errstr_size, "cannot be decoded",
			            "out of memory");
		} else if (ret != Z_OK && !(ret == Z_BUF_ERROR && d->z.avail_in == 0)) {
			return fail(d, AF_E_RECORD, n, got, errstr, errstr_size, "is corrupt",
			            d->z.msg);
		}
		if (n > 0) {
			*got = n;
			return AF_OK;
		}
		if (d->member && d->in_pos == d->in_len) {
			if (d->in_eof)
				return fail(d, AF_E_RECORD, 0, got, errstr, errstr_size,
				            "ends early", NULL);
			if ((err = refill(d, errstr, errstr_size)) != AF_OK)
				return err;
		}
	}
}

static af_err_t read_zstd(struct af_decomp *d, char *dst, size_t cap, size_t *got, char *errstr,
                          size_t errstr_size)
{
	for (;;) {
		size_t left = d->in_len - d->in_pos;
		if (left == 0) {
			if (!d->in_eof) {
				af_err_t err = refill(d, errstr, errstr_size);
				if (err != AF_OK)
					return err;
				continue;
			}
			if (d->zs_hint == 0)
				return AF_EOF;
		}
		ZSTD_inBuffer in = {d->in + d->in_pos, left, 0};
		ZSTD_outBuffer out = {dst, cap, 0};
		size_t r = ZSTD_decompressStream(d->zs, &out, &in);
		d->in_pos += in.pos;
		if (ZSTD_isError(r))
			return fail(d, AF_E_RECORD, out.pos, got, errstr, errstr_size, "is corrupt",
			            ZSTD_getErrorName(r));
		d->zs_hint = r;
		if (out.pos > 0) {
			*got = out.pos;
			return AF_OK;
		}
		if (left == 0) {
			/* No input left, none coming, and nothing more decoded. */
			return fail(d, AF_E_RECORD, 0, got, errstr, errstr_size, "ends early",
			            NULL);
		}
	}
}

af_err_t af_decomp_read(struct af_decomp *d, char *dst, size_t cap, size_t *got, char *errstr,
                        size_t errstr_size)
{
	*got = 0;
	if (d->failed != AF_OK) {
		snprintf(errstr, errstr_size, "%s", d->fail_msg);
		return d->failed;
	}
	switch (d->codec) {
	case AF_CODEC_GZIP: return read_gzip(d, dst, cap, got, errstr, errstr_size);
	case AF_CODEC_ZSTD: return read_zstd(d, dst, cap, got, errstr, errstr_size);
	case AF_CODEC_NONE: break;
	}
	return read_plain(d, dst, cap, got, errstr, errstr_size);
}

enum af_codec af_decomp_codec(const struct af_decomp *d)
{
	return d->codec;
}

uint64_t af_decomp_consumed(const struct af_decomp *d)
{
	return d->consumed;
}
