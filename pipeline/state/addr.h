/* addr.h - what auditflow remembers about one source address: which
 * accounts failed to sign in from it lately, for password_spray.
 *
 * Thread: the shard that owns the address (the second route, by address
 * hash); no locks, no allocation except HLL blocks from the shard's pool.
 * In: failed sign-ins from the address, in input order. Out: the state
 * password_spray judges by and updates.
 *
 * DESIGN: a spray tries many accounts a few times each, so what matters is
 * breadth: a windowed distinct count of the accounts (exact up to 8, then
 * HyperLogLog) beside a plain count of the failures, whose oldest bucket is
 * the alert's deterministic window start. 152 bytes an address; only
 * addresses with failures need one.
 */
#ifndef AF_ADDR_H
#define AF_ADDR_H

#include <stdint.h>

#include "pipeline/state/distinct.h"
#include "pipeline/state/window.h"

struct af_addr {
	struct af_distinct_window accounts; /* distinct accounts failing (by account hash) */
	struct af_window fails;             /* failures, in the rule's buckets */
	uint32_t suppress_until;            /* minute until which password_spray stays
	                                       quiet (rounded up); 0 = never alerted */
};

/* An empty address state in caller's storage (zero-filled is NOT empty:
 * call this). */
void af_addr_init(struct af_addr *addr);

/* Return the blocks the distinct counter holds to pool. Call before the
 * storage is dropped; initialise again before reuse. */
void af_addr_fini(struct af_addr *addr, struct af_hll_pool *pool);

#endif
