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
#define LB_HASH_K4 0xd6e8feb86659fd93ULL
#define LB_HASH_K5 0xa0761d6478bd642fULL
#define LB_HASH_K6 0x8ebc6af09c88c6e3ULL
#define LB_HASH_K7 0x589965cc75374cc3ULL

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

/*
 * The lb_vips_slots index of a VIP key, from its fields (the address as
 * four words, the port as stored): the top bits of a multiply chain.  No
 * seed: the keys are the operator's VIPs.
 */
static __always_inline __u32 lb_vip_slot_idx(__u32 a0, __u32 a1, __u32 a2,
					     __u32 a3, __u16 port, __u8 proto,
					     __u8 family)
{
	__u64 h = ((__u64)port << 16) | ((__u64)proto << 8) | family;

	h = lb_hash_round(h, ((__u64)a0 << 32) | a1);
	h = lb_hash_round(h, ((__u64)a2 << 32) | a3);
	return (__u32)((h * LB_HASH_K2) >> (64 - LB_VIP_SLOT_BITS));
}

static __always_inline __u32 lb_vip_slot_of(const struct lb_vip_key *k)
{
	return lb_vip_slot_idx(k->addr.v6[0], k->addr.v6[1], k->addr.v6[2],
			       k->addr.v6[3], k->port, k->proto, k->family);
}

/*
 * A slot's check from its fields (key, flags, VIP): a sum of independent
 * products, so that it costs about one multiply's latency; defined on the
 * fields' values so that the datapath computes it from the fields it has
 * just loaded, with no copy of the slot.  Never 0 (a slot never written is
 * all zero).
 */
static __always_inline __u32 lb_vip_slot_sum(__u32 a0, __u32 a1, __u32 a2,
					     __u32 a3, __u16 port, __u8 proto,
					     __u8 family, __u32 flags,
					     __u32 vip_id, __u32 vip_flags,
					     __u32 table_size)
{
	__u64 t = ((__u64)port << 48) | ((__u64)proto << 40) |
		  ((__u64)family << 32) | flags;
	__u64 h = a0 * LB_HASH_K1 + a1 * LB_HASH_K2 + a2 * LB_HASH_K3 +
		  a3 * LB_HASH_K4 + t * LB_HASH_K5 +
		  (((__u64)vip_id << 32) | vip_flags) * LB_HASH_K6 +
		  table_size * LB_HASH_K7;

	h ^= h >> 31;
	return (__u32)(h >> 32) | 1;
}

static __always_inline __u32 lb_vip_slot_check(const struct lb_vip_slot *s)
{
	return lb_vip_slot_sum(s->key.addr.v6[0], s->key.addr.v6[1],
			       s->key.addr.v6[2], s->key.addr.v6[3],
			       s->key.port, s->key.proto, s->key.family,
			       s->flags, s->vip.vip_id, s->vip.flags,
			       s->vip.table_size);
}

#endif /* LB_HASH_H */
