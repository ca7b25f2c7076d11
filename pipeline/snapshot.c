/* snapshot.c - the snapshot file; see snapshot.h. */
#include "pipeline/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#define SNAP_MAGIC    "AFSNAP\r\n"
#define SNAP_BUF      (64u * 1024u)
#define SNAP_HEAD     16u /* a section's head */
#define SNAP_HASHED   56u /* header bytes its own hash covers */
#define SNAP_PATH_MAX 4096

struct af_snap_writer {
	int fd;
	char path[SNAP_PATH_MAX], tmp[SNAP_PATH_MAX + 8];
	uint64_t layout;
	uint64_t off;      /* file offset of the next byte put */
	uint64_t head_off; /* the open section's head; 0: none open */
	uint32_t sections;
	int err;          /* first errno of a failed write; 0 none */
	const char *step; /* what failed */
	size_t used;
	uint8_t buf[SNAP_BUF];
};

struct af_snap_reader {
	uint8_t *map;
	size_t size;
	uint64_t created_ms;
	uint32_t nsections;
	uint64_t *at; /* [nsections]: file offset of each section's head */
};

static bool little_endian(void)
{
	const uint16_t one = 1;
	return *(const uint8_t *)&one == 1;
}

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* ---- writing ---- */

static void fail_write(struct af_snap_writer *w, const char *step)
{
	if (w->err == 0) {
		w->err = errno ? errno : EIO;
		w->step = step;
	}
}

static void write_all(struct af_snap_writer *w, const uint8_t *p, size_t len, uint64_t at)
{
	while (len > 0 && w->err == 0) {
		ssize_t n = pwrite(w->fd, p, len, (off_t)at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fail_write(w, "writing");
			return;
		}
		p += n;
		len -= (size_t)n;
		at += (uint64_t)n;
	}
}

static void flush(struct af_snap_writer *w)
{
	write_all(w, w->buf, w->used, w->off - w->used);
	w->used = 0;
}

static void put(struct af_snap_writer *w, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len > 0 && w->err == 0) {
		size_t n = SNAP_BUF - w->used < len ? SNAP_BUF - w->used : len;
		memcpy(w->buf + w->used, p, n);
		w->used += n;
		w->off += n;
		p += n;
		len -= n;
		if (w->used == SNAP_BUF)
			flush(w);
	}
}

static void end_section(struct af_snap_writer *w)
{
	if (w->head_off == 0)
		return;
	uint64_t len = w->off - w->head_off - SNAP_HEAD;
	static const uint8_t zeros[8];
	put(w, zeros, (8 - w->off % 8) % 8);
	flush(w);
	uint8_t b[8];
	le64(b, len);
	write_all(w, b, sizeof(b), w->head_off + 8);
	w->head_off = 0;
}

af_err_t af_snap_create(const char *path, uint64_t layout, struct af_snap_writer **out,
                        char *errstr, size_t errstr_size)
{
	*out = NULL;
	if (!little_endian()) {
		snprintf(errstr, errstr_size,
		         "snapshot %s: this host is big-endian; snapshots "
		         "are little-endian only",
		         path);
		return AF_E_INVALID;
	}
	if (strlen(path) >= SNAP_PATH_MAX) {
		snprintf(errstr, errstr_size, "snapshot path too long: %.80s...", path);
		return AF_E_INVALID;
	}
	struct af_snap_writer *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		snprintf(errstr, errstr_size, "snapshot %s: out of memory", path);
		return AF_E_NOMEM;
	}
	snprintf(w->path, sizeof(w->path), "%s", path);
	snprintf(w->tmp, sizeof(w->tmp), "%s.tmp", path);
	w->layout = layout;
	w->fd = open(w->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		int e = errno;
		snprintf(errstr, errstr_size, "snapshot %s: cannot create: %s", w->tmp,
		         strerror(e));
		free(w);
		errno = e;
		return AF_E_IO;
	}
	static const uint8_t header[AF_SNAP_HEADER];
	put(w, header, sizeof(header));
	*out = w;
	return AF_OK;
}

void af_snap_begin(struct af_snap_writer *w, uint32_t tag)
{
	end_section(w);
	w->head_off = w->off;
	w->sections++;
	uint8_t head[SNAP_HEAD] = {0};
	le32(head, tag);
	put(w, head, sizeof(head));
}

void af_snap_put(struct af_snap_writer *w, const void *data, size_t len)
{
	put(w, data, len);
}

void af_snap_put_u32(struct af_snap_writer *w, uint32_t v)
{
	uint8_t b[4];
	le32(b, v);
	put(w, b, sizeof(b));
}

void af_snap_put_u64(struct af_snap_writer *w, uint64_t v)
{
	uint8_t b[8];
	le64(b, v);
	put(w, b, sizeof(b));
}

/* Hash what was written of the body, read back through a mapping. */
static uint64_t body_hash(struct af_snap_writer *w)
{
	uint64_t body = w->off - AF_SNAP_HEADER;
	if (body == 0)
		return XXH3_64bits(NULL, 0);
	void *m = mmap(NULL, (size_t)w->off, PROT_READ, MAP_SHARED, w->fd, 0);
	if (m == MAP_FAILED) {
		fail_write(w, "reading it back");
		return 0;
	}
	uint64_t h = XXH3_64bits((const uint8_t *)m + AF_SNAP_HEADER, (size_t)body);
	munmap(m, (size_t)w->off);
	return h;
}

static void sync_folder(struct af_snap_writer *w)
{
	char copy[SNAP_PATH_MAX];
	snprintf(copy, sizeof(copy), "%s", w->path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		fail_write(w, "syncing its folder");
	if (fd >= 0)
		close(fd);
}

af_err_t af_snap_commit(struct af_snap_writer *w, char *errstr, size_t errstr_size)
{
	end_section(w);
	flush(w);
	uint8_t h[AF_SNAP_HEADER] = {0};
	if (w->err == 0) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		memcpy(h, SNAP_MAGIC, 8);
		le32(h + 8, AF_SNAP_VERSION);
		le32(h + 12, AF_SNAP_HEADER);
		le64(h + 16, w->layout);
		le64(h + 24, (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u);
		le32(h + 32, w->sections);
		le64(h + 40, w->off - AF_SNAP_HEADER);
		le64(h + 48, body_hash(w));
		le64(h + 56, XXH3_64bits(h, SNAP_HASHED));
		write_all(w, h, sizeof(h), 0);
	}
	if (w->err == 0 && fsync(w->fd) != 0)
		fail_write(w, "syncing");
	if (close(w->fd) != 0)
		fail_write(w, "closing");
	w->fd = -1;
	if (w->err == 0 && rename(w->tmp, w->path) != 0)
		fail_write(w, "renaming it over the old one");
	if (w->err == 0)
		sync_folder(w);
	af_err_t e = AF_OK;
	if (w->err != 0) {
		snprintf(errstr, errstr_size, "snapshot %s: %s failed: %s", w->path, w->step,
		         strerror(w->err));
		unlink(w->tmp);
		errno = w->err;
		e = AF_E_IO;
	}
	free(w);
	return e;
}

void af_snap_abort(struct af_snap_writer *w)
{
	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	unlink(w->tmp);
	free(w);
}

/* ---- reading ---- */

static af_err_t bad(struct af_snap_reader *r, const char *path, char *errstr, size_t errstr_size,
                    const char *why)
{
	snprintf(errstr, errstr_size, "snapshot %s: %s", path, why);
	af_snap_close(r);
	return AF_E_FORMAT;
}

/* Walk the sections: each head within the body, its reserved word zero,
 * its padding zero, the count as the header says. */
static const char *index_sections(struct af_snap_reader *r)
{
	uint64_t at = AF_SNAP_HEADER, end = r->size;
	for (uint32_t i = 0; i < r->nsections; i++) {
		if (end - at < SNAP_HEAD)
			return "a section runs past the end";
		const uint8_t *head = r->map + at;
		uint64_t len = rd64(head + 8);
		if (rd32(head + 4) != 0)
			return "a section head is damaged";
		if (len > end - at - SNAP_HEAD)
			return "a section runs past the end";
		uint64_t pad = (8 - len % 8) % 8;
		if (pad > end - at - SNAP_HEAD - len)
			return "a section runs past the end";
		for (uint64_t k = 0; k < pad; k++)
			if (r->map[at + SNAP_HEAD + len + k] != 0)
				return "a section's padding is damaged";
		r->at[i] = at;
		at += SNAP_HEAD + len + pad;
	}
	return at == end ? NULL : "bytes follow the last section";
}

af_err_t af_snap_open(const char *path, uint64_t layout, struct af_snap_reader **out, char *errstr,
                      size_t errstr_size)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		int e = errno;
		snprintf(errstr, errstr_size, "snapshot %s: cannot read: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		errno = e;
		return AF_E_IO;
	}
	struct af_snap_reader *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		close(fd);
		snprintf(errstr, errstr_size, "snapshot %s: out of memory", path);
		return AF_E_NOMEM;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return bad(r, path, errstr, errstr_size, "not a regular file");
	}
	if ((uint64_t)st.st_size < AF_SNAP_HEADER) {
		close(fd);
		return bad(r, path, errstr, errstr_size, "truncated: shorter than its header");
	}
	r->size = (size_t)st.st_size;
	r->map = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (r->map == MAP_FAILED) {
		int e = errno;
		r->map = NULL;
		snprintf(errstr, errstr_size, "snapshot %s: cannot map: %s", path, strerror(e));
		af_snap_close(r);
		errno = e;
		return AF_E_IO;
	}
	const uint8_t *h = r->map;
	char why[160];
	if (memcmp(h, SNAP_MAGIC, 8) != 0)
		return bad(r, path, errstr, errstr_size, "not an auditflow snapshot");
	if (rd64(h + 56) != XXH3_64bits(h, SNAP_HASHED))
		return bad(r, path, errstr, errstr_size, "its header is damaged");
	if (rd32(h + 8) != AF_SNAP_VERSION || rd32(h + 12) != AF_SNAP_HEADER) {
		snprintf(why, sizeof(why), "format version %u; this build reads version %u",
		         rd32(h + 8), AF_SNAP_VERSION);
		return bad(r, path, errstr, errstr_size, why);
	}
	if (rd64(h + 16) != layout)
		return bad(r, path, errstr, errstr_size,
		           "written by a build that lays out its state differently (another "
		           "version of auditflow, or another state setting)");
	if (rd64(h + 40) != r->size - AF_SNAP_HEADER) {
		snprintf(why, sizeof(why), "truncated or extended: %zu bytes, the header says %llu",
		         r->size, (unsigned long long)(rd64(h + 40) + AF_SNAP_HEADER));
		return bad(r, path, errstr, errstr_size, why);
	}
	if (rd64(h + 48) != XXH3_64bits(h + AF_SNAP_HEADER, r->size - AF_SNAP_HEADER))
		return bad(r, path, errstr, errstr_size, "damaged: its checksum does not match");
	r->created_ms = rd64(h + 24);
	r->nsections = rd32(h + 32);
	if (r->nsections > (r->size - AF_SNAP_HEADER) / SNAP_HEAD)
		return bad(r, path, errstr, errstr_size, "damaged: too many sections for its size");
	r->at = calloc(r->nsections ? r->nsections : 1, sizeof(*r->at));
	if (r->at == NULL) {
		af_snap_close(r);
		snprintf(errstr, errstr_size, "snapshot %s: out of memory", path);
		return AF_E_NOMEM;
	}
	const char *fault = index_sections(r);
	if (fault != NULL)
		return bad(r, path, errstr, errstr_size, fault);
	*out = r;
	return AF_OK;
}

uint64_t af_snap_created_ms(const struct af_snap_reader *r)
{
	return r->created_ms;
}

uint32_t af_snap_sections(const struct af_snap_reader *r)
{
	return r->nsections;
}

void af_snap_section(const struct af_snap_reader *r, uint32_t i, uint32_t *tag,
                     struct af_snap_view *v)
{
	const uint8_t *head = r->map + r->at[i];
	*tag = rd32(head);
	*v = (struct af_snap_view){.p = head + SNAP_HEAD, .len = (size_t)rd64(head + 8)};
}

bool af_snap_find(const struct af_snap_reader *r, uint32_t tag, struct af_snap_view *v)
{
	for (uint32_t i = 0; i < r->nsections; i++) {
		uint32_t t;
		af_snap_section(r, i, &t, v);
		if (t == tag)
			return true;
	}
	return false;
}

bool af_snap_take(struct af_snap_view *v, void *dst, size_t len)
{
	if (v->bad || len > v->len - v->at) {
		v->bad = true;
		memset(dst, 0, len);
		return false;
	}
	memcpy(dst, v->p + v->at, len);
	v->at += len;
	return true;
}

bool af_snap_take_u32(struct af_snap_view *v, uint32_t *x)
{
	uint8_t b[4];
	bool ok = af_snap_take(v, b, sizeof(b));
	*x = rd32(b);
	return ok;
}

bool af_snap_take_u64(struct af_snap_view *v, uint64_t *x)
{
	uint8_t b[8];
	bool ok = af_snap_take(v, b, sizeof(b));
	*x = rd64(b);
	return ok;
}

void af_snap_close(struct af_snap_reader *r)
{
	if (r == NULL)
		return;
	if (r->map != NULL)
		munmap(r->map, r->size);
	free(r->at);
	free(r);
}
