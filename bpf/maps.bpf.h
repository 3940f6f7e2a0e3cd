/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* maps.bpf.h - the datapath's maps.  Layouts live in lb_abi.h. */
#ifndef LB_MAPS_BPF_H
#define LB_MAPS_BPF_H

/* VIPs: (address, port, proto) -> VIP id and flags.  NO_PREALLOC so that a
 * replaced value is freed after an RCU grace period, never reused under a
 * reader that still holds it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_VIPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lb_vip_key);
	__type(value, struct lb_vip);
} lb_vips SEC(".maps");

/* The array index of lb_vips (see LB_VIP_SLOTS in lb_abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_VIP_SLOTS);
	__type(key, __u32);
	__type(value, struct lb_vip_slot);
} lb_vip_slots SEC(".maps");

/* Addresses that carry a VIP: decides drop-vs-pass for fragments, malformed
 * packets and ICMP, which have no usable port. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_VIP_ADDRS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lb_addr_key);
	__type(value, struct lb_vip_addr);
} lb_vip_addrs SEC(".maps");

/* Backends by id: where to send a packet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct lb_backend);
} lb_backends SEC(".maps");

/* One Maglev lookup table per VIP: slot -> backend id, 32 slots to a
 * value (struct lb_maglev_ids).  Tables are built off to the side by lbd
 * and swapped in with one update of the outer map, so a packet sees either
 * the old table or the new one, never a mix.  BPF_F_INNER_MAP lets each
 * VIP have its own (prime) table size. */
struct lb_maglev_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__uint(max_entries, LB_MAGLEV_VALUES(LB_MAGLEV_DEFAULT_SIZE));
	/* sizes, not BTF types: clang leaves a struct that only an inner
	 * map's template names as a declaration without a size */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct lb_maglev_ids));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, LB_MAX_VIPS);
	__type(key, __u32);
	__array(values, struct lb_maglev_table);
} lb_maglev SEC(".maps");

/* Connection tables: flow -> backend, IPv6 flows in lb_conntrack, IPv4
 * flows in lb_conntrack4 under a key of 16 bytes instead of 40 (see struct
 * lb_flow4).  Each is one hash table shared by all CPUs with one common LRU
 * (each CPU keeps a small local free list in front of it).  Per-CPU LRU
 * lists (BPF_F_NO_COMMON_LRU) measured slower on new flows, from one CPU
 * and from all at once (bench/DATAPATH.md), and split the table so that a
 * CPU evicts while others still have room.  The loader sets both to the
 * same size: that many flows of each family. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LB_CT_DEFAULT_SIZE);
	__type(key, struct lb_flow);
	__type(value, struct lb_conn);
} lb_conntrack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LB_CT_DEFAULT_SIZE);
	__type(key, struct lb_flow4);
	__type(value, struct lb_conn);
} lb_conntrack4 SEC(".maps");

/* IPv4 flows to VIPs of one port (see struct lb_ct4_line): the loader
 * sizes it with the connection table, lbd sizes its live part.  Both are
 * mmapable, so that lbd reads and writes words in place, and a line of
 * an mmapable array starts on a cache line. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, LB_CT4_LINES(LB_CT_DEFAULT_SIZE));
	__type(key, __u32);
	__type(value, struct lb_ct4_line);
} lb_ct4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_ct4_state);
} lb_ct4_state SEC(".maps");

/* Settings that lbd owns (seed, own MAC, encap sources): one entry. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_config);
} lb_config SEC(".maps");

/* Global counters: one block per CPU (index 0), a counter per enum
 * lb_stat, so that a packet looks the block up once for all it counts. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_stats_block);
} lb_stats SEC(".maps");

/* Packets/bytes forwarded per VIP id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct lb_counter);
} lb_vip_stats SEC(".maps");

/* Packets/bytes forwarded per backend id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct lb_counter);
} lb_backend_stats SEC(".maps");

static __always_inline void lb_count(void *map, __u32 idx, __u64 bytes)
{
	struct lb_counter *c = bpf_map_lookup_elem(map, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/* This CPU's block of global counters (never NULL for index 0 of a
 * per-CPU array, but the verifier wants it checked once). */
static __always_inline struct lb_stats_block *lb_stats_block(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&lb_stats, &zero);
}

/* Count a packet of bytes under global counter idx (an enum lb_stat). */
static __always_inline void lb_stat(struct lb_stats_block *st, __u32 idx,
				    __u64 bytes)
{
	struct lb_counter *c = &st->c[idx & (LB_STAT_SLOTS - 1)];

	c->packets++;
	c->bytes += bytes;
}

#endif /* LB_MAPS_BPF_H */
