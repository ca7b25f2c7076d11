/* snapshot.h - the snapshot file: sections of state written whole or not at
 * all, read back only when nothing in them is damaged and they were written
 * by a build that lays its state out the same way.
 *
 * Thread: one owner per writer or reader; no locks. A writer makes
 * syscalls (it is for checkpoints, never the record path).
 * In: tagged sections of bytes (a shard's tables, source positions). Out:
 * a file, and views of its sections when read back.
 *
 * Format, all integers little-endian (the writer refuses a big-endian
 * host rather than write something another host misreads):
 *   header, 64 bytes:
 *     magic "AFSNAP\r\n" (a text-mode copy or a truncated transfer shows),
 *     u32 format version (AF_SNAP_VERSION), u32 header size (64),
 *     u64 layout (the caller's fingerprint of its structures: a snapshot is
 *       refused by a build whose fingerprint differs),
 *     u64 created (ms since the epoch, wall clock; informative),
 *     u32 sections, u32 zero,
 *     u64 body length, u64 XXH3-64 of the body,
 *     u64 XXH3-64 of the 56 bytes before it;
 *   body: each section a 16-byte head (u32 tag, u32 zero, u64 length) and
 *   its bytes, padded with zeros to a multiple of 8.
 *
 * DESIGN: written to "PATH.tmp" first, with the header last (the lengths
 * and the body's hash are known only then), then fsync, rename over PATH
 * and fsync of the folder: a crash at any point leaves the old snapshot or
 * the new one, never a mix, and a torn temporary file is never mistaken
 * for a snapshot. A reader maps the file and checks the header, the
 * lengths and the body's hash before it hands out any section, so a
 * section's parser sees only bytes the writer wrote; it still checks what
 * it reads against its own bounds (af_snap_take), since a file can be
 * forged as easily as damaged.
 */
#ifndef AF_SNAPSHOT_H
#define AF_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"

#define AF_SNAP_VERSION 1u
#define AF_SNAP_HEADER  64u

struct af_snap_writer;
struct af_snap_reader;

/* ---- writing ---- */

/* Start a snapshot to replace path (borrowed) when committed, with the
 * caller's layout fingerprint. Returns AF_OK, AF_E_IO (errstr names the
 * file and why), AF_E_NOMEM, or AF_E_INVALID on a big-endian host. */
af_err_t af_snap_create(const char *path, uint64_t layout, struct af_snap_writer **out,
                        char *errstr, size_t errstr_size);

/* Begin a section with tag; the previous one, if open, ends. */
void af_snap_begin(struct af_snap_writer *w, uint32_t tag);

/* Append len bytes of data (borrowed) to the open section. A write error
 * is kept and reported by af_snap_commit; later calls do nothing.
 * @pre a section is open. Cost: a copy into a 64 KiB buffer; a write(2)
 * each time it fills. */
void af_snap_put(struct af_snap_writer *w, const void *data, size_t len);

/* Little-endian integers, for the counts and offsets around raw bytes. */
void af_snap_put_u32(struct af_snap_writer *w, uint32_t v);
void af_snap_put_u64(struct af_snap_writer *w, uint64_t v);

/* Finish: header, fsync, rename over the path, fsync of its folder. Frees
 * w whatever happens; on failure the old snapshot, if any, is left as it
 * was and the temporary file removed. Returns AF_OK or AF_E_IO (errstr
 * says which step failed). */
af_err_t af_snap_commit(struct af_snap_writer *w, char *errstr, size_t errstr_size);

/* Give up: remove the temporary file and free w. NULL is a no-op. */
void af_snap_abort(struct af_snap_writer *w);

/* ---- reading ---- */

/* Open path (borrowed) and check it whole: AF_OK; AF_E_IO when it cannot
 * be read (errno kept; ENOENT when there is none); AF_E_FORMAT when it is
 * not a snapshot, is truncated or damaged, is of another format version,
 * or was written by a build with another layout. errstr names the file
 * and the fault in every case.
 * Cost: maps the file and hashes it once. */
af_err_t af_snap_open(const char *path, uint64_t layout, struct af_snap_reader **out, char *errstr,
                      size_t errstr_size);

/* When the snapshot was written (ms since the epoch), and how many
 * sections it holds. */
uint64_t af_snap_created_ms(const struct af_snap_reader *r);
uint32_t af_snap_sections(const struct af_snap_reader *r);

/* A view into one section: its bytes (borrowed from the reader, valid until
 * af_snap_close) and how far a parser has read. */
struct af_snap_view {
	const uint8_t *p;
	size_t len, at;
	bool bad; /* a take asked for more than was left */
};

/* Section i (0-based, in the order written) into *v, with its tag.
 * @pre i < af_snap_sections(r). */
void af_snap_section(const struct af_snap_reader *r, uint32_t i, uint32_t *tag,
                     struct af_snap_view *v);

/* The first section with tag into *v; false when there is none. */
bool af_snap_find(const struct af_snap_reader *r, uint32_t tag, struct af_snap_view *v);

/* Copy the next len bytes of v into dst and advance; when fewer are left,
 * set v->bad, zero dst and return false (every later take fails too). */
bool af_snap_take(struct af_snap_view *v, void *dst, size_t len);
bool af_snap_take_u32(struct af_snap_view *v, uint32_t *x);
bool af_snap_take_u64(struct af_snap_view *v, uint64_t *x);

/* Whether v was read exactly to its end without a short take. */
static inline bool af_snap_done(const struct af_snap_view *v)
{
	return !v->bad && v->at == v->len;
}

/* Unmap and free; NULL is a no-op. */
void af_snap_close(struct af_snap_reader *r);

#endif
