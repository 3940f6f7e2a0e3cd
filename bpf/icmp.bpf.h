/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * icmp.bpf.h - ICMP errors the balancer sends itself: "fragmentation
 * needed" (ICMPv4 type 3 code 4) and "packet too big" (ICMPv6 type 2) for a
 * client packet that fits the client's path but not the MTU once an outer
 * header is added.  Dropping it silently would be a black hole: the client
 * sees the VIP as the end of its path, never learns about the tunnel, and
 * retransmits the same full-sized segment until the connection dies.
 *
 * Choices, and why:
 * - Source address: the VIP, for IPv4 and IPv6.  A host matches an ICMP
 *   error to its socket by the quoted header and accepts any source, but the
 *   error must reach it: the VIP is the one address of ours that the
 *   client's path is known to route back and that its stateful firewall
 *   relates to the flow, while the balancer's own address may be private or
 *   filtered.  For IPv6 it is also an address of this node (RFC 4443 2.2).
 * - Built in place: the L2 header is kept with the MACs swapped (back to
 *   the hop the frame came from, VLAN tags as they were), a new IP header
 *   and the ICMP header go in front of the original IP header, which stays
 *   where it is and becomes the quote, and the tail is cut off.
 * - Quote: as much of the original datagram as fits in 576 bytes for ICMPv4
 *   (RFC 1812 4.3.2.3; RFC 792 needs only the IP header and 8 bytes) and in
 *   the IPv6 minimum MTU for ICMPv6 (RFC 4443 2.4(c)).  The packet is always
 *   longer than the MTU reported, which is at least 68 / 1280, so an IPv4
 *   quote always holds the IP header and 8 bytes more, and an IPv6 quote is
 *   always 1232 bytes.  For the same reason the answer is never longer than
 *   the packet that caused it (for IPv4 once the MTU is 576 or more), so it
 *   cannot be used to amplify traffic towards a spoofed source.
 * - MTU reported: max_pkt_size minus the outer header, raised to the
 *   minimum MTU of the family (68, RFC 791; 1280, RFC 8200 5).  If the
 *   packet already fits that MTU, telling the client would not make it send
 *   less (RFC 8201 4: a node never goes below 1280), so it is dropped.
 * - Not answered, dropped and counted as drop_too_big:
 *   - An ICMP error forwarded for the flow it quotes (RFC 1122 3.2.2).
 *   - IPv4 with DF clear.  "Fragmentation needed" is only for DF packets
 *     (RFC 792, RFC 1191): the sender lets the path fragment instead, but
 *     fragmenting in XDP (the inner packet, each fragment encapsulated and
 *     reassembled by the backend) is not done.  Linux sets DF on TCP and,
 *     by default, on UDP, so this concerns senders that turned path MTU
 *     discovery off.
 *   - A source that is not one unicast host (RFC 1122 3.2.2, RFC 4443
 *     2.4(e)): unspecified, loopback, multicast, broadcast, or a frame sent
 *     to a link-layer group address.
 */
#ifndef LB_ICMP_BPF_H
#define LB_ICMP_BPF_H

#define LB_ICMP4_MAX_LEN 576 /* RFC 1812 4.3.2.3 */
#define LB_ICMP6_MAX_LEN 1280 /* RFC 4443 2.4(c) */
#define LB_IPV4_MIN_MTU 68 /* RFC 791 */
#define LB_IPV6_MIN_MTU 1280 /* RFC 8200 5 */
#define LB_IPTOS_PREC_INTERNETCONTROL 0xc0 /* what Linux sends errors with */

/*
 * ICMPv4 "fragmentation needed" and ICMPv6 "packet too big" share a layout:
 * the 32-bit word after the checksum carries the MTU.  In ICMPv4 its first
 * 16 bits are unused (zero) and the next-hop MTU is the second half, which
 * is what a 32-bit MTU below 65536 in network order looks like.
 */
struct lb_icmp_too_big {
	__u8 type;
	__u8 code;
	__sum16 csum;
	__be32 mtu;
};

/* Whether the source names one unicast host that may get an ICMP error. */
static __always_inline int lb_src_is_host(const struct lb_flow *f)
{
	const __u8 *a = f->src.bytes;

	if (f->family == LB_FAMILY_V4)
		/* 0/8 "this network", 127/8 loopback, 224/4 multicast,
		 * 240/4 reserved and the limited broadcast */
		return a[0] != 0 && a[0] != 127 && a[0] < 224;
	if (a[0] == 0xff) /* multicast */
		return 0;
	/* :: unspecified, ::1 loopback */
	return f->src.v6[0] || f->src.v6[1] || f->src.v6[2] ||
	       (f->src.v6[3] && f->src.v6[3] != bpf_htonl(1));
}

/*
 * Whether the balancer may answer this packet's sender at all (an echo
 * reply or an ICMP error): its source names one unicast host, and the
 * frame was not sent to a link-layer group address, whose answer would
 * carry the group address as its source MAC.
 */
static __always_inline int lb_may_answer(void *data, void *data_end,
					 const struct lb_pkt *pkt)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end || (eth->h_dest[0] & 1))
		return 0;
	return lb_src_is_host(&pkt->flow);
}

/*
 * The MTU to tell the sender of a packet that is too big once olen bytes
 * of outer header are added, or 0 when no ICMP error is to be sent.
 */
static __always_inline __u32 lb_too_big_mtu(const struct lb_pkt *pkt,
					    __u32 max_pkt_size, __u32 olen)
{
	__u32 mtu = max_pkt_size > olen ? max_pkt_size - olen : 0;

	/* never an ICMP error about an ICMP error (RFC 1122 3.2.2) */
	if (pkt->icmp_err)
		return 0;
	if (pkt->flow.family == LB_FAMILY_V4) {
		if (!pkt->df)
			return 0;
		if (mtu < LB_IPV4_MIN_MTU)
			mtu = LB_IPV4_MIN_MTU;
	} else if (mtu < LB_IPV6_MIN_MTU) {
		mtu = LB_IPV6_MIN_MTU;
	}
	if (mtu >= pkt->l3_len)
		return 0;
	return mtu;
}

/*
 * The Internet checksum of the packet from off to its end, seed included.
 *
 * A global (not static, not inlined) function: the verifier checks it once,
 * with off unknown, and walks its loop of up to 320 words that one time.
 * Inlined, the walk was verified again for every path that reaches it with
 * other known offsets and checked ranges (family times VLAN tags: nine),
 * and the program took 80k instructions to verify instead of 21k.
 * lb.bpf.c is the only file that includes this header, so the symbol is
 * defined once.
 */
__noinline int lb_icmp_csum(struct xdp_md *ctx, __u32 off, __u64 seed)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	/* off < 64 + 40: masked so the verifier sees it bounded */
	return lb_csum_fold(lb_csum_to_end(data + (off & 0x7f), data_end, seed,
					   LB_ICMP6_MAX_LEN / 4));
}

/*
 * Turn the packet into the ICMP error to its sender (see the top of this
 * file); returns 0 when the result is ready for XDP_TX, else an
 * LB_STAT_DROP_* reason.  Counts too_big_sent and tx itself.
 */
static __always_inline int lb_send_too_big(struct xdp_md *ctx,
					   const struct lb_pkt *pkt,
					   struct lb_stats_block *st, __u32 mtu)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	int v4 = pkt->flow.family == LB_FAMILY_V4;
	__u32 iplen = v4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	__u32 hdr = iplen + sizeof(struct lb_icmp_too_big);
	__u32 quote = (v4 ? LB_ICMP4_MAX_LEN : LB_ICMP6_MAX_LEN) - hdr;
	__u8 nvlan = (pkt->l3_off - sizeof(struct ethhdr)) / 4;
	struct ethhdr *eth = data;
	__u8 dmac[ETH_ALEN], smac[ETH_ALEN];
	struct lb_icmp_too_big *ic;
	__u64 sum = 0;
	int err;

	if ((void *)(eth + 1) > data_end)
		return LB_STAT_DROP_TRUNCATED;
	__builtin_memcpy(dmac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(smac, eth->h_dest, ETH_ALEN);
	if (quote > pkt->l3_len)
		quote = pkt->l3_len;

	/* room for the new IP and ICMP headers in front; then cut everything
	 * after the quote, Ethernet padding included */
	if (bpf_xdp_adjust_head(ctx, -(int)hdr))
		return LB_STAT_DROP_ADJUST_FAILED;
	if (bpf_xdp_adjust_tail(ctx,
				(int)(pkt->l3_off + quote) - (int)pkt->pkt_len))
		return LB_STAT_DROP_ADJUST_FAILED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;

	/* back to the hop the frame came from */
	err = lb_move_l2(data, data_end, hdr, nvlan, dmac, smac);
	if (err)
		return err;

	if (v4) {
		struct iphdr *iph = LB_L3(data, pkt);

		ic = (void *)(iph + 1);
		if ((void *)(ic + 1) > data_end)
			return LB_STAT_DROP_TRUNCATED;
		*(__u8 *)iph = 0x45; /* version 4, IHL 5 */
		iph->tos = LB_IPTOS_PREC_INTERNETCONTROL;
		iph->tot_len = bpf_htons(hdr + quote);
		/* DF makes it an atomic datagram: the ID may be 0 (RFC 6864) */
		iph->id = 0;
		iph->frag_off = bpf_htons(IP_DF);
		iph->ttl = LB_ENCAP_TTL;
		iph->protocol = IPPROTO_ICMP;
		iph->check = 0;
		iph->saddr = pkt->flow.dst.v4;
		iph->daddr = pkt->flow.src.v4;
		iph->check = lb_ipv4_hdr_csum(iph);
		ic->type = ICMP_DEST_UNREACH;
		ic->code = ICMP_FRAG_NEEDED;
	} else {
		struct ipv6hdr *ip6 = LB_L3(data, pkt);

		ic = (void *)(ip6 + 1);
		if ((void *)(ic + 1) > data_end)
			return LB_STAT_DROP_TRUNCATED;
		*(__be32 *)ip6 = bpf_htonl(6U << 28); /* class 0, label 0 */
		ip6->payload_len = bpf_htons(sizeof(*ic) + quote);
		ip6->nexthdr = LB_IPPROTO_ICMPV6;
		ip6->hop_limit = LB_ENCAP_TTL;
		__builtin_memcpy(&ip6->saddr, &pkt->flow.dst, 16);
		__builtin_memcpy(&ip6->daddr, &pkt->flow.src, 16);
		/* pseudo-header (RFC 8200 8.1): both addresses, the 32-bit
		 * upper-layer length and next header, in network order */
#pragma unroll
		for (int i = 0; i < 4; i++)
			sum += (__u64)pkt->flow.src.v6[i] + pkt->flow.dst.v6[i];
		sum += bpf_htonl(sizeof(*ic) + quote);
		sum += bpf_htonl(LB_IPPROTO_ICMPV6);
		ic->type = ICMPV6_PKT_TOOBIG;
		ic->code = 0;
	}
	ic->mtu = bpf_htonl(mtu);
	/* the packet now ends with the quote: sum the ICMP message to it */
	ic->csum = 0;
	ic->csum = lb_icmp_csum(ctx, pkt->l3_off + iplen, sum);

	lb_stat(st, LB_STAT_PTB_SENT, pkt->l3_off + hdr + quote);
	lb_stat(st, LB_STAT_TX, pkt->l3_off + hdr + quote);
	return 0;
}

/*
 * A packet of an encapsulating VIP that would not fit max_pkt_size with
 * its olen bytes of outer header: answer with an ICMP error when one can
 * be sent, else drop it.  Returns the XDP action; counts the outcome.
 */
static __always_inline int lb_too_big(struct xdp_md *ctx,
				      const struct lb_pkt *pkt,
				      struct lb_stats_block *st,
				      __u32 max_pkt_size, __u32 olen)
{
	__u32 mtu = lb_too_big_mtu(pkt, max_pkt_size, olen);
	int err = LB_STAT_DROP_TOO_BIG;

	if (mtu && lb_may_answer((void *)(long)ctx->data,
				 (void *)(long)ctx->data_end, pkt))
		err = lb_send_too_big(ctx, pkt, st, mtu);
	if (err) {
		lb_stat(st, err, pkt->pkt_len);
		return XDP_DROP;
	}
	return XDP_TX;
}

#endif /* LB_ICMP_BPF_H */
