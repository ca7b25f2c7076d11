/* mix.h - a 64-bit bijective mixer for keys whose bits are not spread
 * evenly (addresses, or hashes whose top bits already chose a core).
 *
 * Thread: any; pure.
 * DESIGN: MurmurHash3's 64-bit finaliser: every input bit reaches every
 * output bit, and it is a bijection, so distinct keys stay distinct.
 */
#ifndef AF_MIX_H
#define AF_MIX_H

#include <stdint.h>

static inline uint64_t af_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

#endif
