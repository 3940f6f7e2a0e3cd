/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * lb_hash.h - the flow hash, shared verbatim by the datapath and by user
 * space (lbctl explain, tests, the Maglev builder), so that both always agree
 * on where a flow goes.  Plain C on fixed-width types; no helpers.
 *
 * The hash is a multiply-xorshift chain over 64-bit words finished with the
 * murmur3 64-bit finaliser: a handful of multiplies per packet, every input
 * bit reaching every output bit.  The seed is fleet-wide, so LBs behind the
 * same ECMP group pick the same backend for the same flow.
 *
 * Addresses are read as host-order words of their network-order bytes: the
 * hash is defined per byte order of the machine, which is the same for every
 * LB of a fleet in practice (all x86-64 or all arm64 little-endian).
 */
#ifndef LB_HASH_H
#define LB_HASH_H

#include "lb_abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define LB_HASH_K1 0x9e3779b97f4a7c15ULL
#define LB_HASH_K2 0xff51afd7ed558ccdULL
#define LB_HASH_K3 0xc4ceb9fe1a85ec53ULL

static __always_inline __u64 lb_hash_round(__u64 h, __u64 v)
{
	h ^= v;
	h *= LB_HASH_K1;
	h ^= h >> 29;
	return h;
}

static __always_inline __u32 lb_hash_final(__u64 h)
{
	h ^= h >> 33;
	h *= LB_HASH_K2;
	h ^= h >> 33;
	h *= LB_HASH_K3;
	h ^= h >> 33;
	return (__u32)h;
}

static __always_inline __u64 lb_addr_hi(const union lb_addr *a)
{
	return ((__u64)a->v6[0] << 32) | a->v6[1];
}

static __always_inline __u64 lb_addr_lo(const union lb_addr *a)
{
	return ((__u64)a->v6[2] << 32) | a->v6[3];
}

/* Hash of a flow; src_only hashes the source address alone (stickiness). */
static __always_inline __u32 lb_hash_flow(const struct lb_flow *f, __u64 seed,
					  int src_only)
{
	__u64 h = seed ^ ((__u64)f->family << 56);

	if (f->family == LB_FAMILY_V4) {
		if (src_only)
			return lb_hash_final(lb_hash_round(h, f->src.v4));
		h = lb_hash_round(h, ((__u64)f->src.v4 << 32) | f->dst.v4);
	} else {
		h = lb_hash_round(h, lb_addr_hi(&f->src));
		h = lb_hash_round(h, lb_addr_lo(&f->src));
		if (src_only)
			return lb_hash_final(h);
		h = lb_hash_round(h, lb_addr_hi(&f->dst));
		h = lb_hash_round(h, lb_addr_lo(&f->dst));
	}
	h = lb_hash_round(h, ((__u64)f->sport << 24) | ((__u64)f->dport << 8) |
				     f->proto);
	return lb_hash_final(h);
}

/*
 * Map a 32-bit hash onto [0, size) with a multiply and a shift instead of a
 * division (Lemire's fast range reduction).  Unbiased enough for any size
 * far below 2^32; the Maglev table size only needs to be prime for building
 * the permutations, not for indexing.
 */
static __always_inline __u32 lb_hash_slot(__u32 hash, __u32 size)
{
	return (__u32)(((__u64)hash * size) >> 32);
}

#endif /* LB_HASH_H */
