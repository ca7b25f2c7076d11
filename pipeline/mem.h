/* mem.h - advice to the kernel about large zero-filled tables.
 *
 * Thread: any (pure advice on the caller's memory).
 * In: a region just obtained from calloc. Out: nothing; the kernel may back
 * it with 2 MiB pages.
 *
 * DESIGN: the state tables, the dedup table and the geo caches are calloc'd
 * at their caps and filled as keys arrive, so their pages are first read (a
 * probe finding nothing maps the shared zero page) and later written (a
 * copy-on-write fault that must flush the page from every core's TLB: an
 * interrupt to each core running one of our threads). Per 4 KiB page, that
 * cost 10 % of a two-thread run. With 2 MiB pages it happens 512 times less
 * often, and pages still arrive only where the table is used.
 */
#ifndef AF_MEM_H
#define AF_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

/* Regions smaller than this are left alone: a huge page would not fit. */
#define AF_MEM_HUGE_MIN ((size_t)4 << 20)

/* Ask for huge pages over the whole pages inside [p, p + bytes). Failure
 * (no THP support) changes nothing but speed, so it is ignored. */
static inline void af_mem_advise_huge(void *p, size_t bytes)
{
	if (p == NULL || bytes < AF_MEM_HUGE_MIN)
		return;
	uintptr_t start = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
	uintptr_t end = ((uintptr_t)p + bytes) & ~(uintptr_t)4095;
	if (end > start)
		(void)madvise((void *)start, end - start, MADV_HUGEPAGE);
}

#endif
