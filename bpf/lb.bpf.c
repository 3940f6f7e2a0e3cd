// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * lb.bpf.c - the XDP entry point of the load balancer.
 *
 * Packet path: parse -> VIP lookup -> backend (connection table, else the
 * VIP's Maglev table) -> rewrite (L2 DSR or encapsulation) -> XDP_TX.  A
 * packet too big to encapsulate is answered with an ICMP error instead.
 * Anything not addressed to a VIP is passed up untouched.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define __BPF__ 1
#include "lb_abi.h"
#include "lb_hash.h"
#include "maps.bpf.h"
#include "csum.bpf.h"
#include "parse.bpf.h"
#include "encap.bpf.h"
#include "icmp.bpf.h"
#include "ct4.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* ABI version of the maps this object was built for; lbd reads it from
 * .rodata to decide whether pinned maps can be adopted. */
const volatile __u32 lb_abi_version = LB_ABI_VERSION;

static __always_inline int lb_is_vip_addr(const struct lb_flow *f)
{
	struct lb_addr_key k = {};

	k.addr = f->dst;
	k.family = f->family;
	return bpf_map_lookup_elem(&lb_vip_addrs, &k) != NULL;
}

/*
 * The VIP of (dst, port, proto, family), into *out: 1 if there is one.
 * Its slot in lb_vip_slots answers when its check holds: with its copy if
 * it names the key, with "none" if it names another key and no other key
 * falls on it.  Else (a shared slot, a slot being rewritten or never
 * written) lb_vips does.  Each field of the slot is loaded once
 * (volatile), and what is checked is what is used.
 */
static __always_inline int lb_vip_get(const union lb_addr *dst, __be16 port,
				      __u8 proto, __u8 family,
				      struct lb_vip *out)
{
	__u32 a0 = dst->v6[0], a1 = dst->v6[1], a2 = dst->v6[2],
	      a3 = dst->v6[3];
	__u32 idx = lb_vip_slot_idx(a0, a1, a2, a3, port, proto, family);
	const volatile struct lb_vip_slot *s;
	struct lb_vip_key k = {};
	struct lb_vip *v;

	s = bpf_map_lookup_elem(&lb_vip_slots, &idx);
	if (s) {
		__u32 s0 = s->key.addr.v6[0], s1 = s->key.addr.v6[1],
		      s2 = s->key.addr.v6[2], s3 = s->key.addr.v6[3];
		__u16 sport = s->key.port;
		__u8 sproto = s->key.proto, sfamily = s->key.family;
		__u32 flags = s->flags, id = s->vip.vip_id;
		__u32 vflags = s->vip.flags, size = s->vip.table_size;

		if (s->check == lb_vip_slot_sum(s0, s1, s2, s3, sport, sproto,
						sfamily, flags, id, vflags,
						size)) {
			if ((flags & LB_VIP_SLOT_F_USED) &&
			    !((s0 ^ a0) | (s1 ^ a1) | (s2 ^ a2) | (s3 ^ a3) |
			      (sport ^ port) | (sproto ^ proto) |
			      (sfamily ^ family))) {
				out->vip_id = id;
				out->flags = vflags;
				out->table_size = size;
				return 1;
			}
			if (!(flags & LB_VIP_SLOT_F_SHARED))
				return 0;
		}
	}
	k.addr = *dst;
	k.port = port;
	k.proto = proto;
	k.family = family;
	v = bpf_map_lookup_elem(&lb_vips, &k);
	if (!v)
		return 0;
	*out = *v;
	return 1;
}

/* The VIP of pkt's flow's destination port, else of its address's port 0,
 * into *out: 1 if there is one.  Sets pkt->ct4 for an IPv4 flow to a VIP
 * of its destination port. */
static __always_inline int lb_find_vip(struct lb_pkt *pkt, struct lb_vip *out)
{
	const struct lb_flow *f = &pkt->flow;

	if (lb_vip_get(&f->dst, f->dport, f->proto, f->family, out)) {
		pkt->ct4 = f->family == LB_FAMILY_V4;
		return 1;
	}
	pkt->ct4 = 0;
	return lb_vip_get(&f->dst, 0, f->proto, f->family, out);
}

static __always_inline int lb_backend_ok(const struct lb_backend *be,
					 const struct lb_vip *vip)
{
	return (be->flags & LB_BE_F_USABLE) && be->vip_id == vip->vip_id;
}

/* The flow hash is needed on a miss (Maglev slot) and for an IPv6 outer
 * header's flow label; a remembered IPv4 or DSR flow never computes it. */
static __always_inline int lb_needs_hash(const struct lb_vip *vip,
					 const struct lb_backend *be)
{
	return (vip->flags & LB_VIP_F_ENCAP) && be->family == LB_FAMILY_V6;
}

/* Whether a flow remembered on be may go on there: be is usable, or down by
 * its health check on a VIP that keeps such flows (--on-down keep). */
static __always_inline int lb_backend_keeps(const struct lb_backend *be,
					    const struct lb_vip *vip)
{
	if (be->vip_id != vip->vip_id)
		return 0;
	if (be->flags & LB_BE_F_USABLE)
		return 1;
	return (be->flags & LB_BE_F_HEALTH_DOWN) &&
	       (vip->flags & LB_VIP_F_ON_DOWN_KEEP);
}

/*
 * The flow's connection-table entry, into *c: 1 if there is one.  An IPv4
 * flow to a VIP of one port is in lb_ct4 (r says where), any other in the
 * kernel's table of its family (k4: its lb_conntrack4 key).  The verifier
 * inlines a map lookup only at a call site that sees one map, and clang
 * would merge the two calls into one that takes either map.  An asm
 * statement after the IPv4 call keeps them apart; it is an instruction
 * that does nothing but is not dropped by the JIT (a move of a register
 * to itself would be, and two line-info records at one machine address
 * make bpftool's dump give up on source lines).
 */
static __always_inline int lb_ct_lookup(const struct lb_pkt *pkt,
					const struct lb_vip *vip, __u64 seed,
					const struct lb_flow4 *k4,
					struct lb_ct4_ref *r, struct lb_conn *c)
{
	const struct lb_flow *f = &pkt->flow;
	struct lb_conn *e;

	if (pkt->ct4)
		return lb_ct4_find(lb_ct4_key(f->src.v4, f->sport, vip->vip_id),
				   seed, r, c);
	if (f->family == LB_FAMILY_V4) {
		e = bpf_map_lookup_elem(&lb_conntrack4, k4);
		asm volatile("if %0 == 0 goto +0" : "+r"(e));
	} else {
		e = bpf_map_lookup_elem(&lb_conntrack, f);
	}
	if (!e)
		return 0;
	*c = *e;
	return 1;
}

/* Remember the flow: c in the table lb_ct_lookup() looked in. */
static __always_inline void lb_ct_update(const struct lb_pkt *pkt,
					 const struct lb_flow4 *k4,
					 struct lb_ct4_ref *r,
					 const struct lb_conn *c, __u64 flags,
					 struct lb_stats_block *st)
{
	const struct lb_flow *f = &pkt->flow;
	long err;

	if (pkt->ct4) {
		if (lb_ct4_write(r, c->backend_id, c->backend_gen))
			lb_stat(st, LB_STAT_CT_EVICT, 0);
	} else if (f->family == LB_FAMILY_V4) {
		err = bpf_map_update_elem(&lb_conntrack4, k4, c, flags);
		asm volatile("%0 |= 0" : "+r"(err)); /* as in lb_ct_lookup */
	} else {
		bpf_map_update_elem(&lb_conntrack, f, c, flags);
	}
}

/* Whether remembered entry c was made for backend be as it is now (lb_ct4
 * keeps the low bits of the generation). */
static __always_inline int lb_gen_is(const struct lb_pkt *pkt,
				     const struct lb_backend *be,
				     const struct lb_conn *c)
{
	if (pkt->ct4)
		return (be->gen & LB_CT4_GEN_MASK) == c->backend_gen;
	return be->gen == c->backend_gen;
}

/* The backend id in slot of a VIP's Maglev table (LB_BACKEND_NONE if the
 * table or the slot is missing): 32 16-bit ids to a value. */
static __always_inline __u32 lb_maglev_id(void *table, __u32 slot)
{
	__u32 key = slot / LB_MAGLEV_IDS_PER_VALUE;
	struct lb_maglev_ids *v = bpf_map_lookup_elem(table, &key);

	if (!v)
		return LB_BACKEND_NONE;
	return v->ids[slot % LB_MAGLEV_IDS_PER_VALUE];
}

/*
 * Choose the backend of a flow.  The connection table comes first unless
 * this is a TCP SYN (a new connection always follows the current table); a
 * remembered backend that is gone or re-assigned, or down while the VIP
 * does not keep flows on down backends, is forgotten and the flow
 * re-hashed.  learn = 0 looks up without remembering (ICMP errors).
 * *hash_out is the flow hash where lb_needs_hash() or on a miss, else 0.
 *
 * A SYN never adds an entry: a TCP flow is remembered from its first
 * packet that is not a SYN (the handshake's ACK), so a SYN flood, spoofed
 * or not, never evicts an established flow, and a retransmitted SYN
 * writes nothing.  The price: a table change between a SYN and the ACK
 * that follows it (one round trip) sends the ACK to the new backend,
 * which resets that one connection.  A SYN of a flow that is remembered
 * (a client reusing its port) re-points the entry at the table's choice,
 * so that the new connection's ACK follows its SYN.
 */
static __always_inline struct lb_backend *
lb_pick_backend(struct lb_pkt *pkt, const struct lb_vip *vip,
		const struct lb_config *cfg, struct lb_stats_block *st,
		__u32 *hash_out, __u32 *id_out, int learn)
{
	int syn = pkt->flow.proto == IPPROTO_TCP &&
		  (pkt->tcp_flags & TCP_FLAG_SYN);
	struct lb_conn cb, *conn = &cb;
	struct lb_ct4_ref r = {};
	struct lb_backend *be;
	struct lb_flow4 k4;
	struct lb_conn nc;
	void *table;
	__u32 hash, id;

	if (pkt->flow.family == LB_FAMILY_V4 && !pkt->ct4)
		lb_flow4_of(&pkt->flow, &k4);
	if (!syn) {
		if (lb_ct_lookup(pkt, vip, cfg->hash_seed, &k4, &r, conn)) {
			id = conn->backend_id;
			be = bpf_map_lookup_elem(&lb_backends, &id);
			if (be && lb_backend_keeps(be, vip) &&
			    lb_gen_is(pkt, be, conn)) {
				lb_stat(st, LB_STAT_CT_HIT, 0);
				if (lb_needs_hash(vip, be))
					*hash_out = lb_hash_flow(
						&pkt->flow, cfg->hash_seed,
						vip->flags & LB_VIP_F_HASH_SRC);
				*id_out = id;
				return be;
			}
			lb_stat(st, LB_STAT_CT_STALE, 0);
		}
	}

	hash = lb_hash_flow(&pkt->flow, cfg->hash_seed,
			    vip->flags & LB_VIP_F_HASH_SRC);
	*hash_out = hash;
	table = bpf_map_lookup_elem(&lb_maglev, &vip->vip_id);
	if (!table)
		return NULL;
	id = lb_maglev_id(table, lb_hash_slot(hash, vip->table_size));
	if (id == LB_BACKEND_NONE)
		return NULL;
	be = bpf_map_lookup_elem(&lb_backends, &id);
	if (!be || !lb_backend_ok(be, vip))
		return NULL;

	lb_stat(st, LB_STAT_CT_MISS, 0);
	if (learn) {
		__u64 flags = BPF_ANY;

		if (syn) {
			/* only a remembered flow that the table now sends
			 * elsewhere is written, as a whole (BPF_EXIST) */
			if (!lb_ct_lookup(pkt, vip, cfg->hash_seed, &k4, &r,
					  conn) ||
			    (conn->backend_id == id &&
			     lb_gen_is(pkt, be, conn)))
				goto out;
			flags = BPF_EXIST;
		}
		nc.backend_id = id;
		nc.backend_gen = be->gen;
		/* the coarse clock reads a value the timer tick keeps, where
		 * bpf_ktime_get_ns() reads the clock source: only explain
		 * reads it, and a tick's precision is plenty there */
		nc.created_ns = bpf_ktime_get_coarse_ns();
		lb_ct_update(pkt, &k4, &r, &nc, flags, st);
	}
out:
	*id_out = id;
	return be;
}

/* Send a packet of a VIP's flow to its backend; returns an XDP action. */
static __always_inline int lb_forward(struct xdp_md *ctx, struct lb_pkt *pkt,
				      const struct lb_vip *vip,
				      const struct lb_config *cfg,
				      struct lb_stats_block *st, int learn)
{
	struct lb_backend *be;
	__u32 hash = 0, id = 0, len = pkt->pkt_len;
	int err;

	be = lb_pick_backend(pkt, vip, cfg, st, &hash, &id, learn);
	if (!be) {
		lb_stat(st, LB_STAT_DROP_NO_BACKEND, len);
		return XDP_DROP;
	}

	if (vip->flags & LB_VIP_F_ENCAP) {
		__u32 olen = lb_encap_len(be);

		if (cfg->max_pkt_size && pkt->l3_len + olen > cfg->max_pkt_size)
			return lb_too_big(ctx, pkt, st, cfg->max_pkt_size,
					  olen);
		err = lb_fwd_encap(ctx, pkt, be, cfg, hash);
		if (!err)
			lb_stat(st, LB_STAT_ENCAP, len + olen);
	} else {
		if (be->family != pkt->flow.family) {
			lb_stat(st, LB_STAT_DROP_UNSUPPORTED, len);
			return XDP_DROP;
		}
		err = lb_fwd_l2((void *)(long)ctx->data,
				(void *)(long)ctx->data_end, be, cfg);
	}
	if (err) {
		lb_stat(st, err, len);
		return XDP_DROP;
	}
	lb_count(&lb_vip_stats, vip->vip_id, len);
	lb_count(&lb_backend_stats, id, len);
	lb_stat(st, LB_STAT_TX, len);
	return XDP_TX;
}

static __always_inline void lb_swap_macs(struct ethhdr *eth)
{
	__u8 tmp[ETH_ALEN];

	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
}

/*
 * The ICMPv4 checksum after an incremental update.  RFC 1624's equation
 * yields 0x0000 both when the message sums to 0xffff (right) and when the
 * message is all zero (an echo reply with id 0, seq 0 and a zero payload),
 * whose checksum is 0xffff.  0xffff is valid in both cases: a receiver adds
 * it to a sum of 0xffff and still gets 0xffff.  ICMPv6 needs no such care:
 * its sum covers the pseudo-header, which is never zero, so the update is
 * exact there.
 */
static __always_inline __u16 lb_icmp4_csum_nonzero(__u16 csum)
{
	return csum ? csum : 0xffff;
}

/* Answer an echo request to a VIP address in place; returns XDP_TX, or
 * a negative LB_STAT_DROP_* reason. */
static __always_inline int lb_icmp_echo(void *data, void *data_end,
					struct lb_pkt *pkt,
					struct lb_stats_block *st)
{
	struct ethhdr *eth = data;
	__u16 old, new;

	if ((void *)(eth + 1) > data_end)
		return -LB_STAT_DROP_TRUNCATED;
	/* the same filter as for ICMP errors (see icmp.bpf.h) */
	if (!lb_may_answer(data, data_end, pkt))
		return -LB_STAT_DROP_BAD_SOURCE;

	/* Checksums are patched per RFC 1624 on host-order values of the
	 * 16-bit words that change: (TTL, protocol) and (type, code). */
	if (pkt->flow.family == LB_FAMILY_V4) {
		struct iphdr *iph = LB_L3(data, pkt);
		struct icmphdr *ic = LB_L4(data, pkt);

		if ((void *)(iph + 1) > data_end || (void *)(ic + 1) > data_end)
			return -LB_STAT_DROP_TRUNCATED;
		old = (__u16)iph->ttl << 8 | iph->protocol;
		new = (__u16)LB_ENCAP_TTL << 8 | iph->protocol;
		iph->ttl = LB_ENCAP_TTL;
		iph->check = bpf_htons(
			lb_csum_replace16(bpf_ntohs(iph->check), old, new));
		iph->daddr = iph->saddr;
		iph->saddr = pkt->flow.dst.v4;
		old = (__u16)ic->type << 8 | ic->code;
		new = (__u16)ICMP_ECHOREPLY << 8 | ic->code;
		ic->type = ICMP_ECHOREPLY;
		ic->checksum = bpf_htons(lb_icmp4_csum_nonzero(
			lb_csum_replace16(bpf_ntohs(ic->checksum), old, new)));
	} else {
		struct ipv6hdr *ip6 = LB_L3(data, pkt);
		struct icmp6hdr *ic6 = LB_L4(data, pkt);

		if ((void *)(ip6 + 1) > data_end ||
		    (void *)(ic6 + 1) > data_end)
			return -LB_STAT_DROP_TRUNCATED;
		/* swapping the addresses leaves the pseudo-header sum as is */
		__builtin_memcpy(&ip6->daddr, &ip6->saddr, 16);
		__builtin_memcpy(&ip6->saddr, &pkt->flow.dst, 16);
		ip6->hop_limit = LB_ENCAP_TTL;
		old = (__u16)ic6->icmp6_type << 8 | ic6->icmp6_code;
		new = (__u16)ICMPV6_ECHO_REPLY << 8 | ic6->icmp6_code;
		ic6->icmp6_type = ICMPV6_ECHO_REPLY;
		ic6->icmp6_cksum = bpf_htons(lb_csum_replace16(
			bpf_ntohs(ic6->icmp6_cksum), old, new));
	}
	lb_swap_macs(eth);
	lb_stat(st, LB_STAT_ICMP_ECHO, pkt->pkt_len);
	lb_stat(st, LB_STAT_TX, pkt->pkt_len);
	return XDP_TX;
}

/*
 * An ICMP "fragmentation needed" / "packet too big" addressed to a VIP
 * quotes a packet the backend sent to the client (source = VIP).  Rebuild
 * the client's flow from the quote, reversed, and send the ICMP message to
 * the backend that owns that flow so path-MTU discovery works through us.
 * The quote must be an IP header of the error's own family, lie inside the
 * error's datagram, and come from the VIP address the error was sent to:
 * an error sent to one VIP never reaches the backends of another.  The
 * message then takes the one forwarding path (lb_forward), MTU check and
 * counters included; only the backend is picked from the quoted flow.
 * Returns an XDP action, or a negative LB_STAT_DROP_* reason.
 */
static __always_inline int lb_icmp_too_big(struct xdp_md *ctx,
					   struct lb_pkt *pkt,
					   const struct lb_config *cfg,
					   struct lb_stats_block *st)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 qoff = pkt->l4_off + 8, hlen;
	void *quote = LB_L4(data, pkt) + 8;
	struct lb_l4_ports *ports;
	struct lb_pkt inner = *pkt;
	struct lb_vip vip;
	int ret;

	if (pkt->flow.family == LB_FAMILY_V4) {
		struct iphdr *iph = quote;

		if (!lb_in_datagram(pkt, qoff, sizeof(*iph)))
			return -LB_STAT_DROP_BAD_LENGTH;
		if ((void *)(iph + 1) > data_end)
			return -LB_STAT_DROP_TRUNCATED;
		hlen = (__u32)iph->ihl * 4;
		/* a later fragment quotes no ports */
		if (iph->version != 4 || hlen < sizeof(*iph) ||
		    (iph->frag_off & bpf_htons(IP_OFFSET)))
			return -LB_STAT_DROP_ICMP_BAD_QUOTE;
		inner.flow.src.v4 = iph->daddr;
		inner.flow.dst.v4 = iph->saddr;
		inner.flow.proto = iph->protocol;
	} else {
		struct ipv6hdr *ip6 = quote;

		if (!lb_in_datagram(pkt, qoff, sizeof(*ip6)))
			return -LB_STAT_DROP_BAD_LENGTH;
		if ((void *)(ip6 + 1) > data_end)
			return -LB_STAT_DROP_TRUNCATED;
		if (ip6->version != 6)
			return -LB_STAT_DROP_ICMP_BAD_QUOTE;
		hlen = sizeof(*ip6);
		__builtin_memcpy(&inner.flow.src, &ip6->daddr, 16);
		__builtin_memcpy(&inner.flow.dst, &ip6->saddr, 16);
		inner.flow.proto = ip6->nexthdr;
	}
	if (!lb_in_datagram(pkt, qoff + hlen, sizeof(*ports)))
		return -LB_STAT_DROP_BAD_LENGTH;
	ports = quote + (hlen & 0x3c);
	if ((void *)(ports + 1) > data_end)
		return -LB_STAT_DROP_TRUNCATED;
	inner.flow.sport = ports->dst;
	inner.flow.dport = ports->src;

	/* v4 addresses leave words 1..3 zero on both sides */
	if (inner.flow.dst.v6[0] != pkt->flow.dst.v6[0] ||
	    inner.flow.dst.v6[1] != pkt->flow.dst.v6[1] ||
	    inner.flow.dst.v6[2] != pkt->flow.dst.v6[2] ||
	    inner.flow.dst.v6[3] != pkt->flow.dst.v6[3])
		return -LB_STAT_DROP_ICMP_VIP_MISMATCH;
	if (!lb_find_vip(&inner, &vip))
		return -LB_STAT_DROP_NO_BACKEND;

	/* the pick uses the quoted flow; the rewrite, the length checks and
	 * the counters act on the outer packet, whose offsets inner kept */
	inner.tcp_flags = 0;
	inner.icmp_err = 1;
	ret = lb_forward(ctx, &inner, &vip, cfg, st, 0);
	if (ret == XDP_TX)
		lb_stat(st, LB_STAT_ICMP_PTB, pkt->pkt_len);
	return ret;
}

static __always_inline int lb_handle_icmp(struct xdp_md *ctx,
					  struct lb_pkt *pkt,
					  const struct lb_config *cfg,
					  struct lb_stats_block *st)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *ic = LB_L4(data, pkt);
	int ret;

	if ((void *)(ic + 2) > data_end)
		return XDP_PASS;
	if (pkt->flow.family == LB_FAMILY_V4) {
		if (ic[0] == ICMP_ECHO && ic[1] == 0)
			ret = lb_icmp_echo(data, data_end, pkt, st);
		else if (ic[0] == ICMP_DEST_UNREACH &&
			 ic[1] == ICMP_FRAG_NEEDED)
			ret = lb_icmp_too_big(ctx, pkt, cfg, st);
		else
			return XDP_PASS;
	} else {
		if (ic[0] == ICMPV6_ECHO_REQUEST && ic[1] == 0)
			ret = lb_icmp_echo(data, data_end, pkt, st);
		else if (ic[0] == ICMPV6_PKT_TOOBIG)
			ret = lb_icmp_too_big(ctx, pkt, cfg, st);
		else
			return XDP_PASS;
	}
	if (ret < 0) {
		lb_stat(st, -ret, pkt->pkt_len);
		return XDP_DROP;
	}
	return ret;
}

SEC("xdp")
int lb_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct lb_stats_block *st;
	struct lb_pkt pkt = {};
	struct lb_config *cfg;
	struct lb_vip vip;
	__u32 zero = 0;
	int err;

	st = lb_stats_block();
	if (!st)
		return XDP_PASS;
	pkt.pkt_len = data_end - data;
	lb_stat(st, LB_STAT_RX, pkt.pkt_len);

	err = lb_parse_eth(data, data_end, &pkt);
	if (err)
		goto pass;
	if (pkt.l3_proto == bpf_htons(ETH_P_IP))
		err = lb_parse_ipv4(data, data_end, &pkt);
	else if (pkt.l3_proto == bpf_htons(ETH_P_IPV6))
		err = lb_parse_ipv6(data, data_end, &pkt);
	else
		goto pass;

	/* Malformed, fragmented or ICMP: only the address can tell a VIP. */
	if (err || pkt.fragment || pkt.flow.proto == IPPROTO_ICMP ||
	    pkt.flow.proto == LB_IPPROTO_ICMPV6) {
		if (!pkt.dst_known || !lb_is_vip_addr(&pkt.flow))
			goto pass;
		if (err)
			goto drop;
		cfg = bpf_map_lookup_elem(&lb_config, &zero);
		if (!cfg)
			goto pass;
		if (pkt.fragment) {
			if (cfg->flags & LB_CFG_F_PASS_FRAGMENTS)
				goto pass;
			err = LB_STAT_DROP_FRAGMENT;
			goto drop;
		}
		if ((pkt.flow.family == LB_FAMILY_V4 &&
		     pkt.flow.proto == IPPROTO_ICMP) ||
		    (pkt.flow.family == LB_FAMILY_V6 &&
		     pkt.flow.proto == LB_IPPROTO_ICMPV6)) {
			err = lb_handle_icmp(ctx, &pkt, cfg, st);
			if (err == XDP_PASS)
				goto pass;
			return err;
		}
	}

	if (pkt.flow.proto != IPPROTO_TCP && pkt.flow.proto != IPPROTO_UDP)
		goto pass;
	if (!lb_find_vip(&pkt, &vip))
		goto pass;
	cfg = bpf_map_lookup_elem(&lb_config, &zero);
	if (!cfg)
		goto pass;
	return lb_forward(ctx, &pkt, &vip, cfg, st, 1);

drop:
	lb_stat(st, err, pkt.pkt_len);
	return XDP_DROP;
pass:
	lb_stat(st, LB_STAT_PASS, pkt.pkt_len);
	return XDP_PASS;
}
