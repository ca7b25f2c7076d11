/* addr.c - per-address state; see addr.h.
 *
 * Thread: the shard owning the address. No allocation.
 */
#include "pipeline/state/addr.h"

void af_addr_init(struct af_addr *addr)
{
	af_dwin_init(&addr->accounts);
	af_window_init(&addr->fails);
	addr->suppress_until = 0;
}

void af_addr_fini(struct af_addr *addr, struct af_hll_pool *pool)
{
	af_dwin_reset(&addr->accounts, pool);
}
