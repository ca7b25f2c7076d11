/* mem.h - large zero-filled tables mapped in before use.
 *
 * Thread: any (pure advice on the caller's memory).
 * In: a region just obtained from calloc. Out: nothing; its pages are
 * mapped writable now, with 2 MiB pages where the kernel can.
 *
 * DESIGN: the state tables' probe arrays, the dedup table and the geo caches
 * are calloc'd at their caps and filled as keys arrive, in random places. Left
 * to fault in, their pages are first read (a probe finding nothing maps the
 * shared zero page) and later written (a copy-on-write fault that must flush
 * the page from every core's TLB: an interrupt to each core running one of
 * our threads): 10 % of a two-thread run with 4 KiB pages, and with 2 MiB
 * pages still a quarter of a short run, in zeroing whole huge pages on the
 * hot path. So they are written in at start-up instead (MADV_POPULATE_WRITE,
 * on huge pages where the kernel has them): a few tens of MB resident from
 * the start, paid once, before the first record.
 */
#ifndef AF_MEM_H
#define AF_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

/* Regions smaller than this are left alone: a huge page would not fit. */
#define AF_MEM_HUGE_MIN ((size_t)4 << 20)

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* Ask for huge pages over the whole pages inside [p, p + bytes) and fault
 * them in writable now. Failure (no THP, an older kernel) changes nothing
 * but speed, so it is ignored. The contents stay zero. */
static inline void af_mem_prefault(void *p, size_t bytes)
{
	if (p == NULL || bytes < AF_MEM_HUGE_MIN)
		return;
	uintptr_t start = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
	uintptr_t end = ((uintptr_t)p + bytes) & ~(uintptr_t)4095;
	if (end <= start)
		return;
	(void)madvise((void *)start, end - start, MADV_HUGEPAGE);
	(void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
}

#endif
