/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * dp.h - operations on the datapath's maps by file descriptor, shared by
 * lbd, the tests and the benchmarks.  Map layouts are in bpf/lb_abi.h.
 */
#ifndef LB_DP_H
#define LB_DP_H

#include <stdint.h>
#include <linux/types.h>

#include "lb_abi.h"

/* The datapath's maps: a descriptor for each of LB_MAPS (bpf/lb_abi.h). */
struct lb_dp {
#define LB_DP_FIELD(field, name) int field;
	LB_MAPS(LB_DP_FIELD)
#undef LB_DP_FIELD
};

/* X(field, name) for each map: see LB_MAPS */
#define LB_DP_MAPS(X) LB_MAPS(X)

/*
 * Build a Maglev table map of size entries filled from table[] and swap it
 * in for vip_id with one update of the outer map: readers see the old table
 * or the new one, never a mix.  Returns 0 or -errno.
 */
int lb_dp_install_table(const struct lb_dp *dp, uint32_t vip_id,
			const uint32_t *table, uint32_t size);

/*
 * The same in two steps, for many tables at once: a table map filled from
 * table[] (its fd, or -errno), then n of them swapped in with one batch
 * update of the outer map.  The kernel waits for an RCU grace period after
 * each update of a map-in-map (about 12 ms here): one wait for n tables,
 * not n.  The caller closes the fds.  0 or -errno.
 */
int lb_dp_table_create(uint32_t vip_id, const uint32_t *table, uint32_t size);
int lb_dp_install_tables(const struct lb_dp *dp, const uint32_t *vip_ids,
			 const int *fds, uint32_t n);

/*
 * Write table[] into the table installed for vip_id, in place: only the
 * values (32 slots each) that differ, with no swap and so no wait for a
 * grace period.  A reader may meet some slots changed and others not yet;
 * each slot holds its old or its new backend, and a packet reads one slot,
 * so every flow goes to one or the other, as with a swap.  -ENOENT when
 * there is no table, -EMSGSIZE when its size differs; 0 or -errno.
 */
int lb_dp_update_table(const struct lb_dp *dp, uint32_t vip_id,
		       const uint32_t *table, uint32_t size);

/* The whole installed table of vip_id (size slots) into table[]; 0, or
 * -ENOENT when the VIP has none, -EMSGSIZE when it has a table of another
 * size, or -errno. */
int lb_dp_table_read(const struct lb_dp *dp, uint32_t vip_id, uint32_t size,
		     uint32_t *table);

/* Remove a VIP's table (its packets then drop with "no backend"). */
int lb_dp_remove_table(const struct lb_dp *dp, uint32_t vip_id);
/* The tables of n VIPs at once (one RCU grace period); 0 or -errno. */
int lb_dp_remove_tables(const struct lb_dp *dp, const uint32_t *vip_ids,
			uint32_t n);

/* Read a table back (for explain and tests); returns 0 or -errno. */
int lb_dp_table_lookup(const struct lb_dp *dp, uint32_t vip_id, uint32_t slot,
		       uint32_t *backend_id);

/*
 * A flow's entry in the connection table it is in: lb_ct4 for an IPv4
 * flow to a VIP of its destination port, lb_conntrack4 (under its struct
 * lb_flow4 key) for another IPv4 flow, lb_conntrack for an IPv6 one.
 * Each returns 0 or -errno (-ENOENT: no entry).
 */
int lb_dp_ct_lookup(const struct lb_dp *dp, const struct lb_flow *f,
		    struct lb_conn *c);
int lb_dp_ct_update(const struct lb_dp *dp, const struct lb_flow *f,
		    const struct lb_conn *c, uint64_t flags);
int lb_dp_ct_delete(const struct lb_dp *dp, const struct lb_flow *f);

/*
 * lb_ct4 (lb_abi.h): the same for a flow that is there (an IPv4 flow to a
 * VIP of its destination port: else -EOPNOTSUPP).  A new entry counts as
 * used since the last sweep.
 */
int lb_dp_ct4_lookup(const struct lb_dp *dp, const struct lb_flow *f,
		     struct lb_conn *c);
int lb_dp_ct4_update(const struct lb_dp *dp, const struct lb_flow *f,
		     const struct lb_conn *c, uint64_t flags);
int lb_dp_ct4_delete(const struct lb_dp *dp, const struct lb_flow *f);

/* lb_ct4's state: the live size (2^bits lines), old_bits != bits while
 * a resize moves entries.  0 or -errno. */
int lb_dp_ct4_state(const struct lb_dp *dp, struct lb_ct4_state *s);

/*
 * Make lb_ct4's live part 2^bits lines (LB_CT4_MIN_BITS..LB_CT4_MAX_BITS,
 * within the map): the datapath looks in both sizes while every entry
 * moves to its line of the new one (an entry whose new line is full is
 * dropped, and learned again from its next packet).  Waits about 20 ms
 * for packets that read the old size.  0, -ERANGE (size), -EBUSY (a resize
 * did not finish: only its own size finishes it) or -errno.
 */
struct lb_ct4_resize_result {
	uint64_t moved, dropped;
};
int lb_dp_ct4_resize(const struct lb_dp *dp, uint32_t bits,
		     struct lb_ct4_resize_result *res);

/*
 * One sweep of lb_ct4's live part: an entry a packet found since the last
 * sweep (or that was written since) is kept and marked unused, any other
 * is forgotten.  So a flow is forgotten after one to two sweep intervals
 * without a packet.  0, -EBUSY (a resize is moving entries) or -errno.
 */
struct lb_ct4_sweep_result {
	uint64_t lines, kept, freed;
};
int lb_dp_ct4_sweep(const struct lb_dp *dp, struct lb_ct4_sweep_result *res);

/* The largest live part lb_ct4's map holds, as a power of two. */
uint32_t lb_dp_ct4_max_bits(const struct lb_dp *dp);

/*
 * lbd's rule for lb_ct4's size, one step: double the live part when the
 * datapath evicted flows in more than one in LB_CT4_EVICT_SHARE of its
 * lookups (evicted, lookups: the counters' growth since the last step),
 * or when more than half of its words are in use (kept: the entries a
 * sweep kept, UINT64_MAX if not known); halve it when less than an eighth
 * are.  With eight words to a line some line is full long before the
 * table is: the flows of a line that has more than eight evict each other
 * on every packet, a share of the packets that falls quickly as the table
 * grows (60000 flows: 2% in 1 MiB, 0.08% in 2 MiB).  A resize that was
 * cut short is finished first.  *from, *to: the sizes
 * (bits).  1 if resized, 0 if not, or -errno.
 */
#define LB_CT4_EVICT_SHARE 256
int lb_dp_ct4_fit(const struct lb_dp *dp, uint64_t evicted, uint64_t lookups,
		  uint64_t kept, struct lb_ct4_resize_result *r, uint32_t *from,
		  uint32_t *to);

/* Forget the flows of lb_ct4 whose backend id i has ids[i] set (i < nids);
 * *purged: how many.  0 or -errno. */
int lb_dp_ct4_purge(const struct lb_dp *dp, const uint8_t *ids, uint32_t nids,
		    uint64_t *purged);

/* Forget every flow of lb_ct4 (benchmarks, tests).  0 or -errno. */
int lb_dp_ct4_clear(const struct lb_dp *dp);

/* fn(entry, arg) for every entry of lb_ct4 (backend id, and the low bits of
 * its generation).  0 or -errno. */
int lb_dp_ct4_each(const struct lb_dp *dp,
		   void (*fn)(const struct lb_conn *c, void *arg), void *arg);

/*
 * lb_vip_slots from lb_vips (see LB_VIP_SLOTS): slots[] for the n VIPs of
 * keys[] and vals[].  A slot that several keys fall on holds the smallest
 * key (bytewise), so that one set of VIPs always gives one set of slots.
 */
void lb_vip_slots_build(const struct lb_vip_key *keys,
			const struct lb_vip *vals, uint32_t n,
			struct lb_vip_slot *slots);

/*
 * Make lb_vip_slots say what lb_vips says: read every VIP, and rewrite the
 * slots that differ.  Call it after every write to lb_vips; before a VIP
 * leaves lb_vips, lb_dp_vip_slot_release() it.  0 or -errno.
 */
int lb_dp_sync_vip_slots(const struct lb_dp *dp);

/*
 * The same for a caller that keeps what it wrote: *shadow (LB_VIP_SLOTS
 * slots, malloc'd here on the first call, which reads the map) is what
 * lb_vip_slots holds, so that a sync compares with it instead of reading
 * the map again.  Only the owner of the maps may keep one.  A failed sync
 * frees it (the next one reads the map).  0 or -errno.
 */
int lb_dp_sync_vip_slots_kept(const struct lb_dp *dp,
			      struct lb_vip_slot **shadow);

/* If k's slot names k, empty it (the datapath then asks lb_vips about the
 * keys that fall on it until the next sync); shadow (or NULL) follows.
 * 0 or -errno. */
int lb_dp_vip_slot_release(const struct lb_dp *dp, const struct lb_vip_key *k,
			   struct lb_vip_slot *shadow);

/* Sum a per-CPU lb_counter over all possible CPUs. */
int lb_dp_counter(int map_fd, uint32_t idx, struct lb_counter *sum);

/* The global counters (lb_stats: one block per CPU), each summed over all
 * possible CPUs, in one system call.  0 or -errno (sums then zero). */
int lb_dp_stats(int map_fd, struct lb_counter sums[LB_STAT_MAX]);

/* Entries [0, n) of a per-CPU lb_counter array, each summed over all
 * possible CPUs, in a few batch reads instead of a system call per entry. */
int lb_dp_counters(int map_fd, uint32_t n, struct lb_counter *sums);

/* Zero a per-CPU lb_counter on every CPU. */
int lb_dp_counter_reset(int map_fd, uint32_t idx);

#endif /* LB_DP_H */
