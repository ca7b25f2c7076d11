/* netlist.h - sets of networks (CIDR) and of autonomous system numbers,
 * loaded from files: corporate egress networks, known VPN/hosting ASNs,
 * and the built-in list of internal (private, loopback, reserved) ranges.
 *
 * Thread: loaded at start-up; read-only afterwards, shared by all threads.
 * In: text files, one entry per line ("203.0.113.0/24", "2001:db8::/32",
 * "64500" or "AS64500"), '#' starts a comment, blank lines ignored.
 * Out: membership tests.
 *
 * DESIGN: networks are kept as sorted, merged ranges of 128-bit addresses
 * (IPv4 as ::ffff:a.b.c.d, like struct af_ip), so a test is one binary
 * search, whatever the list's size.
 */
#ifndef AF_NETLIST_H
#define AF_NETLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"
#include "pipeline/ip.h"

struct af_netset;

/* Load a file of networks. Returns AF_OK and *out, or AF_E_CONFIG with
 * errstr "FILE:LINE: message" for a malformed entry, or "FILE: cause" when
 * it cannot be read. */
af_err_t af_netset_load(const char *path, struct af_netset **out, char *errstr,
                        size_t errstr_size);

/* A set from CIDR strings (NULL-terminated array), e.g. built-in lists.
 * AF_E_INVALID with errstr naming the bad entry. */
af_err_t af_netset_from_strings(const char *const *cidrs, struct af_netset **out, char *errstr,
                                size_t errstr_size);

void af_netset_free(struct af_netset *set);

/* True if ip is in set. Cost: a binary search; no allocation. */
bool af_netset_has(const struct af_netset *set, const struct af_ip *ip);

size_t af_netset_count(const struct af_netset *set); /* ranges after merging */

/* True if ip should not be looked up: private (RFC 1918, fc00::/7),
 * loopback, link-local, CGNAT (100.64.0.0/10), unspecified, multicast,
 * broadcast, and the IPv4 "reserved for future use" block. The
 * documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
 * 2001:db8::/32) are NOT internal: examples and tests use them as public.
 * Cost: a few comparisons; no allocation. */
bool af_ip_is_internal(const struct af_ip *ip);

struct af_asnset;

/* Load a file of ASNs. Errors as for af_netset_load. */
af_err_t af_asnset_load(const char *path, struct af_asnset **out, char *errstr,
                        size_t errstr_size);
void af_asnset_free(struct af_asnset *set);
bool af_asnset_has(const struct af_asnset *set, uint32_t asn);
size_t af_asnset_count(const struct af_asnset *set);

#endif
