/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * encap.bpf.h - rewriting a packet towards its backend: L2 direct server
 * return (MAC rewrite only) and IPIP / IP6IP6 / IPv4-in-IPv6 encapsulation.
 */
#ifndef LB_ENCAP_BPF_H
#define LB_ENCAP_BPF_H

/* Outer header length for a backend of this family. */
static __always_inline __u32 lb_encap_len(const struct lb_backend *be)
{
	return be->family == LB_FAMILY_V6 ? sizeof(struct ipv6hdr) :
					    sizeof(struct iphdr);
}

/* Copy a MAC address as a 4-byte and a 2-byte word: packets and map
 * values may be read and written unaligned (the verifier allows it where
 * the CPU does it efficiently), and clang would copy byte by byte. */
static __always_inline void lb_mac_copy(__u8 *dst, const __u8 *src)
{
	*(__u32 *)dst = *(const __u32 *)src;
	*(__u16 *)(dst + 4) = *(const __u16 *)(src + 4);
}

static __always_inline int lb_fwd_l2(void *data, void *data_end,
				     const struct lb_backend *be,
				     const struct lb_config *cfg)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return LB_STAT_DROP_TRUNCATED;
	lb_mac_copy(eth->h_dest, be->mac);
	lb_mac_copy(eth->h_source, cfg->src_mac);
	return 0;
}

/*
 * After bpf_xdp_adjust_head(ctx, -shift) the old L2 header starts shift bytes
 * into the packet: write a new one at the start with these MACs, the old
 * EtherType and its nvlan VLAN tags.  shift >= 20 > ETH_HLEN, and the tags
 * move by the same distance, so no copy overlaps its source.
 */
static __always_inline int lb_move_l2(void *data, void *data_end, __u32 shift,
				      __u8 nvlan, const __u8 *dmac,
				      const __u8 *smac)
{
	struct ethhdr *neth = data, *oeth = data + shift;

	if ((void *)(neth + 1) > data_end || (void *)(oeth + 1) > data_end)
		return LB_STAT_DROP_TRUNCATED;
	lb_mac_copy(neth->h_dest, dmac);
	lb_mac_copy(neth->h_source, smac);
	neth->h_proto = oeth->h_proto;
#pragma unroll
	for (int i = 0; i < LB_MAX_VLAN_TAGS; i++) {
		struct lb_vlan_hdr *nv = data + sizeof(*neth) + i * 4;
		struct lb_vlan_hdr *ov = data + shift + sizeof(*neth) + i * 4;

		if (i >= nvlan)
			break;
		if ((void *)(ov + 1) > data_end)
			return LB_STAT_DROP_TRUNCATED;
		*nv = *ov;
	}
	return 0;
}

/*
 * Prepend an outer IPv4 or IPv6 header between the L2 header (Ethernet and
 * any VLAN tags, which are kept) and the packet's IP header.
 */
static __always_inline int lb_fwd_encap(struct xdp_md *ctx, struct lb_pkt *pkt,
					const struct lb_backend *be,
					const struct lb_config *cfg, __u32 hash)
{
	__u32 olen = lb_encap_len(be);
	void *data, *data_end;
	__u8 nvlan = (pkt->l3_off - sizeof(struct ethhdr)) / 4;
	__u8 inner = pkt->flow.family;
	int err;

	/* IPv6 in IPv4 is not implemented (lbd refuses to configure it):
	 * never send an IPv6 packet behind an outer header that says IPIP */
	if (inner == LB_FAMILY_V6 && be->family == LB_FAMILY_V4)
		return LB_STAT_DROP_UNSUPPORTED;
	if (bpf_xdp_adjust_head(ctx, -(int)olen))
		return LB_STAT_DROP_ADJUST_FAILED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;

	err = lb_move_l2(data, data_end, olen, nvlan, be->mac, cfg->src_mac);
	if (err)
		return err;

	if (be->family == LB_FAMILY_V6) {
		struct ipv6hdr *oip6 = LB_L3(data, pkt);
		/* the innermost EtherType ends the L2 header; masked so the
		 * verifier sees a non-negative, bounded offset */
		__be16 *l3_proto = data + ((pkt->l3_off - 2) & 0x3f);

		if ((void *)(oip6 + 1) > data_end ||
		    (void *)(l3_proto + 1) > data_end)
			return LB_STAT_DROP_TRUNCATED;
		*l3_proto = bpf_htons(ETH_P_IPV6);
		*(__be32 *)oip6 = bpf_htonl(6U << 28 | (__u32)pkt->tos << 20 |
					    (hash & 0xfffff));
		oip6->payload_len = bpf_htons(pkt->l3_len);
		oip6->nexthdr = inner == LB_FAMILY_V4 ? IPPROTO_IPIP :
							IPPROTO_IPV6;
		oip6->hop_limit = LB_ENCAP_TTL;
		__builtin_memcpy(&oip6->saddr, cfg->encap_src_v6, 16);
		__builtin_memcpy(&oip6->daddr, be->addr.v6, 16);
	} else {
		struct iphdr *oip = LB_L3(data, pkt);
		__be16 w0 = bpf_htons(0x4500 | pkt->tos); /* version, IHL 5 */
		__be16 tot = bpf_htons(pkt->l3_len + sizeof(*oip));
		__be16 w4 = bpf_htons(LB_ENCAP_TTL << 8 | IPPROTO_IPIP);
		__be32 saddr = cfg->encap_src_v4, daddr = be->addr.v4;
		/* the checksum from the values, not read back from the
		 * packet: a 16-bit load across two narrower stores just made
		 * waits for them to reach the cache */
		__u64 sum = (__u64)w0 + tot + bpf_htons(IP_DF) + w4 +
			    (saddr & 0xffff) + (saddr >> 16) +
			    (daddr & 0xffff) + (daddr >> 16);

		if ((void *)(oip + 1) > data_end)
			return LB_STAT_DROP_TRUNCATED;
		*(__be16 *)oip = w0;
		oip->tot_len = tot;
		oip->id = 0;
		oip->frag_off = bpf_htons(IP_DF);
		*(__be16 *)&oip->ttl = w4;
		oip->check = lb_csum_fold(sum);
		oip->saddr = saddr;
		oip->daddr = daddr;
	}
	return 0;
}

#endif /* LB_ENCAP_BPF_H */
