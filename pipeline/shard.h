/* shard.h - the detect stage: one shard's state tables and rules.
 *
 * Thread: the shard's owner only (the replay's main thread today; one
 * worker per shard in the runtime). No locks; no allocation after
 * af_shard_new.
 * In: enriched events, in input order for each account and address (the
 * router sends an account's events, and an address's, to one shard).
 * Out: alerts, through the emit callback, copied by the callee.
 *
 * DESIGN: a shard owns two tables (pipeline/state/table.h): accounts,
 * keyed by the account's hash and text, holding struct af_account with its
 * cold part; and source addresses, holding struct af_addr for the
 * per-address rules. For each event the account-scope rules run on the
 * account's state, then the account learns from the event (familiarity,
 * travel anchor); then, when the event interests an address-scope rule,
 * those run on the address's state. Idle state is expired a little at a
 * time, by event time, so a pause costs nothing and memory stays under the
 * configured caps.
 */
#ifndef AF_SHARD_H
#define AF_SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/alert.h"
#include "pipeline/config.h"
#include "pipeline/err.h"
#include "pipeline/event.h"

struct af_shard;

typedef void af_shard_emit_fn(void *ctx, const struct af_alert *a);

/* A shard with the rules of cfg->rules and the bounds of cfg->state.
 * cfg is borrowed and must outlive the shard. emit receives each alert.
 * Returns AF_OK, AF_E_CONFIG (errstr says which rule setting is wrong) or
 * AF_E_NOMEM. Cost: allocates the tables and the HLL pool at their caps. */
af_err_t af_shard_new(const struct af_config *cfg, af_shard_emit_fn *emit, void *emit_ctx,
                      struct af_shard **out, char *errstr, size_t errstr_size);
void af_shard_free(struct af_shard *s);

/* Apply one event. Cost: two table probes and the rules for its kind. */
void af_shard_apply(struct af_shard *s, const struct af_event *ev);

/* The parts of an event a shard applies. With N shards, an event's account
 * part goes to the shard that owns the account and its address part to the
 * shard that owns the source address (password spray), which may be
 * another one: the account rules and the address rules never read each
 * other's state. */
enum { AF_SHARD_ACCOUNT = 1u << 0, AF_SHARD_ADDRESS = 1u << 1 };

/* af_shard_apply for the parts in parts only (AF_SHARD_* bits). */
void af_shard_apply_parts(struct af_shard *s, const struct af_event *ev, unsigned parts);

/* Start loading the account state applying ev will read first (the
 * runtime calls it for the next event while it applies this one). */
void af_shard_prefetch(const struct af_shard *s, const struct af_event *ev);

/* ---- snapshots (pipeline/snapshot.h) ---- */

struct af_snap_writer;
struct af_snap_view;

/* The fingerprint of the state's layout in a snapshot: the sizes of the
 * values and blocks a shard writes whole. A build that changes them
 * cannot read an older build's snapshot, and says so. */
uint64_t af_shard_layout(void);

/* Write the shard's state into the open section of w: each table's
 * entries in eviction order (hash, last-seen time, key, value), and the
 * HyperLogLog blocks the values hold. Applying the same events to s and
 * to a shard loaded from this gives the same alerts and state.
 * Thread: the shard's owner, between two events.
 * Cost: O(entries); about the state's size in bytes written. */
void af_shard_save(struct af_shard *s, struct af_snap_writer *w);

/* Load what af_shard_save wrote, v (borrowed) read to its end, into s,
 * which has applied no event yet. AF_E_FORMAT (errstr says what) when v
 * is short, has bytes left over, or holds an entry twice; AF_E_CONFIG when
 * it holds more accounts, addresses or blocks than this shard's caps
 * (state.*) allow. s is unusable after a failure: free it.
 * Cost: O(entries). */
af_err_t af_shard_load(struct af_shard *s, struct af_snap_view *v, char *errstr,
                       size_t errstr_size);

struct af_shard_stats {
	uint64_t accounts, addresses;  /* held now */
	uint64_t account_evictions;    /* dropped at the cap */
	uint64_t account_expirations;  /* dropped for being idle */
	uint64_t address_evictions, address_expirations;
	uint64_t hll_refused;          /* distinct counters left exact-only */
	size_t bytes;                  /* allocated for state */
};
void af_shard_stats(const struct af_shard *s, struct af_shard_stats *out);

#endif
