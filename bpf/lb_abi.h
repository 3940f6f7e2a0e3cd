/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * lb_abi.h - the one definition of everything the XDP datapath and user space
 * both read: map keys and values, flags, statistics indices, limits.
 *
 * Rules: fixed-width types only, byte order in the type (__be*), explicit
 * padding, a size assertion per struct.  Any change to a struct layout or to
 * the meaning of a field bumps LB_ABI_VERSION, so that a restarted lbd can
 * tell whether the pinned maps it finds are still readable by its program.
 */
#ifndef LB_ABI_H
#define LB_ABI_H

#ifdef __BPF__
/* vmlinux.h is already included by the BPF side */
#else
#include <linux/types.h>
#endif

#define LB_ABI_VERSION 5
/* The oldest pinned layout whose connection table lbd can carry over
 * (layouts 1 and 2 keep every flow in lb_conntrack under a struct lb_flow;
 * lbd moves the IPv4 ones to lb_ct4 or lb_conntrack4).  Layout 3 held a
 * counter per entry of lb_stats, where 4 holds one block of all counters
 * per CPU; 5 adds lb_ct4 (IPv4 flows to a VIP of one port, which 3 and 4
 * keep in lb_conntrack4) and the counter conntrack_evict. */
#define LB_ABI_MIGRATE_FROM 1

/* Map sizes (the connection table size is a load-time setting). */
#define LB_MAX_VIPS 1024
#define LB_MAX_BACKENDS 16384 /* (VIP, backend) pairs, fleet-wide id space */
#define LB_MAX_VIP_ADDRS 1024
#define LB_MAX_DECAP_ADDRS 64
#define LB_CT_DEFAULT_SIZE 1000000
#define LB_MAGLEV_DEFAULT_SIZE 65537
#define LB_MAGLEV_MAX_SIZE 655373

/* Backend id 0 is never assigned, so that a zeroed slot is "no backend". */
#define LB_BACKEND_NONE 0

/*
 * A Maglev table holds 16-bit backend ids, LB_MAGLEV_IDS_PER_VALUE to one
 * array value (one 64-byte block): slot s is ids[s % 32] of value s / 32.
 * A BPF array pads every value to 8 bytes, so a table of one __u32 per
 * value took 8 bytes a slot; this takes 2, a quarter of the cache footprint
 * (65537 slots: 128 KiB instead of 512 KiB).
 */
#define LB_MAGLEV_IDS_PER_VALUE 32
struct lb_maglev_ids {
	__u16 ids[LB_MAGLEV_IDS_PER_VALUE]; /* backend ids, LB_BACKEND_NONE = 0 */
};
_Static_assert(sizeof(struct lb_maglev_ids) == 64, "lb_maglev_ids layout");
_Static_assert(LB_MAX_BACKENDS <= 65536, "backend ids fit Maglev entries");
/* Values of a table of size slots. */
#define LB_MAGLEV_VALUES(size) \
	(((size) + LB_MAGLEV_IDS_PER_VALUE - 1) / LB_MAGLEV_IDS_PER_VALUE)

/* Address families as stored in keys (not AF_* so the BPF side needs none). */
enum lb_family {
	LB_FAMILY_NONE = 0,
	LB_FAMILY_V4 = 4,
	LB_FAMILY_V6 = 6,
};

/*
 * An IPv4 or IPv6 address in network byte order.  IPv4 uses v4 (word 0)
 * and leaves words 1..3 zero, so that keys hash and compare consistently.
 */
union lb_addr {
	__be32 v4;
	__be32 v6[4];
	__u8 bytes[16];
};

/* lb_vips key: a virtual service.  port 0 = all ports of (addr, proto). */
struct lb_vip_key {
	union lb_addr addr;
	__be16 port; /* network order; 0 matches any destination port */
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family; /* enum lb_family */
};
_Static_assert(sizeof(struct lb_vip_key) == 20, "lb_vip_key layout");

/* Per-VIP flags (lb_vip.flags). */
#define LB_VIP_F_ENCAP (1U << 0) /* IPIP/IP6IP6/4in6 instead of L2 DSR */
#define LB_VIP_F_HASH_SRC (1U << 1) /* hash the source address only */
/* Flows remembered on a backend that is down by health check stay on it
 * (lbd: --on-down keep); without it they are re-hashed.  New flows avoid a
 * down backend either way: it is not in the Maglev table. */
#define LB_VIP_F_ON_DOWN_KEEP (1U << 2)

/* lb_vips value. */
struct lb_vip {
	__u32 vip_id; /* index into lb_maglev and lb_vip_stats */
	__u32 flags; /* LB_VIP_F_* */
	__u32 table_size; /* entries of this VIP's Maglev table (prime) */
	__u32 pad;
};
_Static_assert(sizeof(struct lb_vip) == 16, "lb_vip layout");

/* lb_vip_slots value (see LB_VIP_SLOTS) */
struct lb_vip_slot {
	struct lb_vip_key key;
	__u32 flags; /* LB_VIP_SLOT_F_* */
	struct lb_vip vip;
	__u32 check; /* lb_vip_slot_check() of the 40 bytes above */
	__u32 pad;
};
_Static_assert(sizeof(struct lb_vip_slot) == 48, "lb_vip_slot layout");

/*
 * lb_vip_slots: an index of lb_vips in an array, so that the datapath finds
 * a VIP with a multiply and one array read instead of a hash-map lookup
 * (the kernel's hash of the key, a bucket walk and a compare).  A key's slot
 * is lb_vip_slot_of(key).  A slot holds a copy of one VIP (the one whose
 * slot it is; others that fall on it are found in lb_vips) and says whether
 * any other VIP key falls on it (LB_VIP_SLOT_F_SHARED).  lb_vips stays the
 * whole truth: the datapath reads it when a slot does not answer (another
 * key on a shared slot, a slot never written, a check that fails).
 *
 * check = lb_vip_slot_check(slot), never 0: user space rewrites a slot with
 * one copy that a packet on another CPU may read half old and half new; such
 * a read fails the check and the packet asks lb_vips instead.  A slot never
 * written (all zero) fails it too, so a datapath whose slots nobody fills
 * works from lb_vips alone.
 *
 * Order of writes (lbd): a VIP is added to lb_vips before its slot names
 * it, and its slot stops naming it before it leaves lb_vips.
 */
#define LB_VIP_SLOT_BITS 13
#define LB_VIP_SLOTS (1U << LB_VIP_SLOT_BITS)
#define LB_VIP_SLOT_F_USED (1U << 0) /* key and vip are a VIP's */
#define LB_VIP_SLOT_F_SHARED (1U << 1) /* other VIP keys fall on this slot */

/* lb_vip_addrs and decap_addrs key: a bare address. */
struct lb_addr_key {
	union lb_addr addr;
	__u8 family; /* enum lb_family */
	__u8 pad[3];
};
_Static_assert(sizeof(struct lb_addr_key) == 20, "lb_addr_key layout");

/* lb_vip_addrs value: an address that carries at least one VIP. */
struct lb_vip_addr {
	__u32 vip_count; /* number of VIPs on this address (0 never stored) */
	__u32 flags; /* reserved, 0 */
};
_Static_assert(sizeof(struct lb_vip_addr) == 8, "lb_vip_addr layout");

/* Backend flags (lb_backend.flags). */
#define LB_BE_F_USABLE (1U << 0) /* may receive packets (up or draining) */
/* Down by its health check only (configured, next-hop MAC known): may keep
 * the flows remembered on it, on a VIP with LB_VIP_F_ON_DOWN_KEEP.  A
 * deleted backend's entry is zeroed and keeps nothing. */
#define LB_BE_F_HEALTH_DOWN (1U << 1)

/* lb_backends value, indexed by backend id. */
struct lb_backend {
	union lb_addr addr; /* the backend's address (encap destination) */
	__u8 mac[6]; /* next-hop MAC: the backend's, or the gateway's */
	__u8 family; /* enum lb_family of addr */
	__u8 flags; /* LB_BE_F_* */
	__u32 gen; /* bumped whenever the id is reassigned */
	__u32 vip_id; /* the VIP this backend entry belongs to */
};
_Static_assert(sizeof(struct lb_backend) == 32, "lb_backend layout");

/* lb_conntrack key: an IPv6 flow as the client sent it (layouts 1 and 2:
 * every flow; IPv4 flows are in lb_conntrack4 now). */
struct lb_flow {
	union lb_addr src;
	union lb_addr dst;
	__be16 sport; /* network order; 0 for protocols without ports */
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};
_Static_assert(sizeof(struct lb_flow) == 40, "lb_flow layout");

/*
 * lb_conntrack4 key: an IPv4 flow as the client sent it.  16 bytes where
 * struct lb_flow takes 40: the kernel hashes and compares fewer words, and
 * a table entry (the kernel's header, key and value) takes 80 bytes instead
 * of 104, so that more flows stay in the CPU's caches.
 */
struct lb_flow4 {
	__be32 src;
	__be32 dst;
	__be16 sport; /* network order; 0 for protocols without ports */
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};
_Static_assert(sizeof(struct lb_flow4) == 16, "lb_flow4 layout");

/* The lb_conntrack4 key of an IPv4 flow (f->family == LB_FAMILY_V4). */
static inline __attribute__((always_inline)) void
lb_flow4_of(const struct lb_flow *f, struct lb_flow4 *k)
{
	k->src = f->src.v4;
	k->dst = f->dst.v4;
	k->sport = f->sport;
	k->dport = f->dport;
	k->proto = f->proto;
	k->pad[0] = 0;
	k->pad[1] = 0;
	k->pad[2] = 0;
}

/* lb_conntrack and lb_conntrack4 value. */
struct lb_conn {
	__u32 backend_id;
	__u32 backend_gen; /* lb_backend.gen when the entry was made */
	__u64 created_ns; /* CLOCK_MONOTONIC_COARSE at creation (ABI 1: the
			   * precise CLOCK_MONOTONIC, same epoch) */
};
_Static_assert(sizeof(struct lb_conn) == 16, "lb_conn layout");

/*
 * lb_ct4: the connection table of IPv4 flows to VIPs of one port (flows to
 * a VIP of every port, and IPv6 flows, stay in lb_conntrack4 and
 * lb_conntrack).  An array of lines of LB_CT4_WAYS words; its live part is
 * the first 2^bits lines (struct lb_ct4_state), which lbd sizes to the
 * flows it holds, so that the lines of the live flows stay few.
 *
 * A flow's key (source address, source port, VIP id: LB_CT4_KEY_BITS) is
 * mixed with the seed by a bijection, x = lb_ct4_mix(key ^ seed); the
 * flow's line is x's low bits, and its word holds x >> LB_CT4_MIN_BITS, so
 * that line and word give back x, and so the key, exactly, at every live
 * size from 2^LB_CT4_MIN_BITS lines up.
 *
 * Word: [63:18] x >> LB_CT4_MIN_BITS, [17] valid, [16] ref (a packet found
 * it since lbd's last sweep), [15:14] the backend's generation (low bits),
 * [13:0] the backend's id.  0 is an empty word.  Every write is a
 * compare-and-swap of one whole word: no reader sees half an entry.
 *
 * While lbd resizes the live part, old_bits is the size entries are moved
 * from: a reader looks in the line of old_bits and then in the line of
 * bits; a new flow goes to the line of bits.  lbd copies an entry to its
 * new line before it clears the old word, so that a reader finds one of
 * the two.
 */
#define LB_CT4_WAYS 8
#define LB_CT4_MIN_BITS 12 /* 4096 lines: 32768 flows, 256 KiB */
#define LB_CT4_MAX_BITS 21 /* 2 Mi lines: 16 Mi flows, 128 MiB */
#define LB_CT4_KEY_BITS 58
#define LB_CT4_KEY_MASK ((1ULL << LB_CT4_KEY_BITS) - 1)
#define LB_CT4_TAG_SHIFT 18
#define LB_CT4_VALID (1ULL << 17)
#define LB_CT4_REF (1ULL << 16)
#define LB_CT4_GEN_SHIFT 14
#define LB_CT4_GEN_MASK 3U
#define LB_CT4_ID_MASK 0x3fffU
_Static_assert(LB_MAX_BACKENDS - 1 <= LB_CT4_ID_MASK, "lb_ct4 backend id");
_Static_assert(LB_MAX_VIPS <= 1024, "lb_ct4 key holds 10 bits of VIP id");
_Static_assert(LB_CT4_KEY_BITS - LB_CT4_MIN_BITS + LB_CT4_TAG_SHIFT == 64,
	       "lb_ct4 word");

/* Lines of lb_ct4 for a connection table of n flows: a power of two, at
 * most half full with n flows, within the limits above. */
#define LB_CT4_LINES_RAW(n) (((n) + LB_CT4_WAYS / 2 - 1) / (LB_CT4_WAYS / 2))
#define LB_CT4_LINES(n)                                   \
	(LB_CT4_LINES_RAW(n) <= (1U << LB_CT4_MIN_BITS) ? \
		 (1U << LB_CT4_MIN_BITS) :                \
	 LB_CT4_LINES_RAW(n) >= (1U << LB_CT4_MAX_BITS) ? \
		 (1U << LB_CT4_MAX_BITS) :                \
		 (2U << (31 - __builtin_clz(LB_CT4_LINES_RAW(n) - 1))))

struct lb_ct4_line {
	__u64 w[LB_CT4_WAYS];
};

/* lb_ct4_state value (one entry), written by lbd as one 8-byte word. */
struct lb_ct4_state {
	__u32 bits; /* live part: 2^bits lines */
	__u32 old_bits; /* == bits, except while lbd moves entries */
};

/* The key of an IPv4 flow (addresses and ports in network order). */
static inline __attribute__((always_inline)) __u64
lb_ct4_key(__be32 src, __be16 sport, __u32 vip_id)
{
	return ((__u64)src << 26) | ((__u64)sport << 10) | (vip_id & 0x3ff);
}

/* A bijection of LB_CT4_KEY_BITS-bit words: shifts of at least half the
 * width and multiplies by odd numbers, both invertible modulo 2^58. */
#define LB_CT4_MUL1 0x2545f4914f6cdd1dULL
#define LB_CT4_MUL2 0x9e3779b97f4a7c15ULL
static inline __attribute__((always_inline)) __u64 lb_ct4_mix(__u64 k,
							      __u64 seed)
{
	__u64 x = (k ^ seed) & LB_CT4_KEY_MASK;

	x ^= x >> 29;
	x = (x * LB_CT4_MUL1) & LB_CT4_KEY_MASK;
	x ^= x >> 29;
	x = (x * LB_CT4_MUL2) & LB_CT4_KEY_MASK;
	x ^= x >> 29;
	return x;
}

/* The word of mixed key x for a backend. */
static inline __attribute__((always_inline)) __u64
lb_ct4_word(__u64 x, __u32 id, __u32 gen)
{
	return ((x >> LB_CT4_MIN_BITS) << LB_CT4_TAG_SHIFT) | LB_CT4_VALID |
	       ((__u64)(gen & LB_CT4_GEN_MASK) << LB_CT4_GEN_SHIFT) |
	       (id & LB_CT4_ID_MASK);
}

/* Whether word w holds mixed key x. */
static inline __attribute__((always_inline)) int lb_ct4_holds(__u64 w, __u64 x)
{
	return (w & LB_CT4_VALID) &&
	       (w >> LB_CT4_TAG_SHIFT) == (x >> LB_CT4_MIN_BITS);
}

/* lb_config value (a single entry, index 0), written by lbd. */
struct lb_config {
	__u64 hash_seed; /* the same on every LB of a fleet */
	__u8 src_mac[6]; /* MAC of the interface the program runs on */
	__u8 pad[2];
	__be32 encap_src_v4; /* outer source of IPIP */
	__be32 encap_src_v6[4]; /* outer source of IP6IP6 / 4in6 */
	__u32 max_pkt_size; /* L3 MTU of the interface; 0 = do not check */
	__u32 flags; /* LB_CFG_F_* */
	__u32 reserved;
};
_Static_assert(sizeof(struct lb_config) == 48, "lb_config layout");

#define LB_CFG_F_PASS_FRAGMENTS (1U << 0) /* pass VIP fragments up, not drop */

/* A packets/bytes pair, the value of every statistics map. */
struct lb_counter {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct lb_counter) == 16, "lb_counter layout");

/*
 * Global statistics (lb_stats index), with the names lbd, lbctl and the
 * metrics show: one list, X(enumerator, name).  Numbers are never reused:
 * add new entries at the end only.
 */
#define LB_STATS(X)                                                 \
	/* every packet the program saw */                          \
	X(LB_STAT_RX, "rx")                                         \
	/* passed up: not for a VIP */                              \
	X(LB_STAT_PASS, "pass")                                     \
	/* forwarded to a backend */                                \
	X(LB_STAT_TX, "tx")                                         \
	/* connection table gave the backend */                     \
	X(LB_STAT_CT_HIT, "conntrack_hit")                          \
	/* backend chosen by the Maglev table */                    \
	X(LB_STAT_CT_MISS, "conntrack_miss")                        \
	/* remembered backend unusable: re-hashed */                \
	X(LB_STAT_CT_STALE, "conntrack_stale")                      \
	/* a remembered flow made room for a new one */             \
	X(LB_STAT_CT_EVICT, "conntrack_evict")                      \
	/* echo requests to a VIP answered */                       \
	X(LB_STAT_ICMP_ECHO, "icmp_echo_reply")                     \
	/* ICMP too-big sent on to the flow's backend */            \
	X(LB_STAT_ICMP_PTB, "icmp_too_big_forwarded")               \
	/* forwarded with encapsulation */                          \
	X(LB_STAT_ENCAP, "encap")                                   \
	/* too big to encapsulate: told the client */               \
	X(LB_STAT_PTB_SENT, "too_big_sent")                         \
	/* drops: one counter per reason */                         \
	X(LB_STAT_DROP_TRUNCATED, "drop_truncated")                 \
	X(LB_STAT_DROP_BAD_HEADER, "drop_bad_header")               \
	X(LB_STAT_DROP_FRAGMENT, "drop_fragment")                   \
	X(LB_STAT_DROP_NO_BACKEND, "drop_no_backend")               \
	X(LB_STAT_DROP_UNSUPPORTED, "drop_unsupported")             \
	X(LB_STAT_DROP_ADJUST_FAILED, "drop_adjust_failed")         \
	X(LB_STAT_DROP_TOO_BIG, "drop_too_big")                     \
	X(LB_STAT_DROP_EXTHDR_LIMIT, "drop_exthdr_limit")           \
	/* IP length ends before a header it needs */               \
	X(LB_STAT_DROP_BAD_LENGTH, "drop_bad_length")               \
	/* ICMP error quoting no IP header */                       \
	X(LB_STAT_DROP_ICMP_BAD_QUOTE, "drop_icmp_bad_quote")       \
	/* quotes another VIP than its dest */                      \
	X(LB_STAT_DROP_ICMP_VIP_MISMATCH, "drop_icmp_vip_mismatch") \
	/* echo from a source that gets no answer */                \
	X(LB_STAT_DROP_BAD_SOURCE, "drop_bad_source")

#define LB_ABI_ENUMERATOR(id, name) id,
#define LB_ABI_NAME_OF(id, name) [id] = name,

enum lb_stat {
	LB_STATS(LB_ABI_ENUMERATOR) /* LB_STAT_RX is 0 */
	LB_STAT_MAX,
};
#define LB_STAT_DROP_FIRST LB_STAT_DROP_TRUNCATED

/*
 * lb_stats value: every global counter of one CPU, indexed by enum
 * lb_stat, in one block (the map's only entry).  Room for LB_STAT_SLOTS
 * counters, so that a new counter at the end changes no layout.  A power
 * of two: the datapath masks a variable index with LB_STAT_SLOTS - 1.
 */
#define LB_STAT_SLOTS 32
_Static_assert(LB_STAT_MAX <= LB_STAT_SLOTS, "lb_stats_block is full");
struct lb_stats_block {
	struct lb_counter c[LB_STAT_SLOTS];
};
_Static_assert(sizeof(struct lb_stats_block) == 512, "lb_stats_block layout");
/* { LB_STAT_NAMES }: an array of the names, indexed by enum lb_stat */
#define LB_STAT_NAMES LB_STATS(LB_ABI_NAME_OF)

/* Decap program statistics (decap_stats index), as lb-decap names them. */
#define LB_DECAP_STATS(X)                                  \
	X(LB_DECAP_RX, "rx")                               \
	/* outer header removed, inner passed up */        \
	X(LB_DECAP_DONE, "decapsulated")                   \
	/* not a tunnel packet for us: passed untouched */ \
	X(LB_DECAP_PASS, "passed")                         \
	X(LB_DECAP_DROP_TRUNCATED, "drop_truncated")       \
	X(LB_DECAP_DROP_ADJUST_FAILED, "drop_adjust_failed")

enum lb_decap_stat {
	LB_DECAP_STATS(LB_ABI_ENUMERATOR) /* LB_DECAP_RX is 0 */
	LB_DECAP_STAT_MAX,
};
#define LB_DECAP_STAT_NAMES LB_DECAP_STATS(LB_ABI_NAME_OF)

/* decap_addrs value: the key is an outer destination to decapsulate. */
struct lb_decap_addr {
	__u32 accept; /* 1 */
};
_Static_assert(sizeof(struct lb_decap_addr) == 4, "lb_decap_addr layout");

/*
 * The names of the datapath's programs and maps.  lbd pins them under
 * PIN/abi-N by these names, so they are part of the ABI: never renamed.
 * X(field, name): field is the map's descriptor in struct lb_dp (dp.h).
 */
#define LB_PROG_NAME "lb_xdp"
#define LB_MAPS(X)                     \
	X(vips, "lb_vips")             \
	X(vip_slots, "lb_vip_slots")   \
	X(vip_addrs, "lb_vip_addrs")   \
	X(backends, "lb_backends")     \
	X(maglev, "lb_maglev")         \
	X(conntrack, "lb_conntrack")   \
	X(conntrack4, "lb_conntrack4") \
	X(ct4, "lb_ct4")               \
	X(ct4_state, "lb_ct4_state")   \
	X(config, "lb_config")         \
	X(stats, "lb_stats")           \
	X(vip_stats, "lb_vip_stats")   \
	X(backend_stats, "lb_backend_stats")
/* lb-decap's program and maps (not pinned) */
#define LB_DECAP_PROG_NAME "decap_xdp"
#define LB_DECAP_ADDRS_MAP "decap_addrs"
#define LB_DECAP_STATS_MAP "decap_stats"

/* Limits of the parser. */
#define LB_MAX_VLAN_TAGS 2
#define LB_MAX_EXT_HDRS 4

/* Outer TTL / hop limit of encapsulated packets. */
#define LB_ENCAP_TTL 64

#endif /* LB_ABI_H */
