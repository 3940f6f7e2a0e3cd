/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * parse.bpf.h - header parsing.  Every parser checks its bounds against
 * data_end before reading and returns 0 or a positive LB_STAT_DROP_* reason;
 * whether a malformed packet is dropped or passed is decided by the caller,
 * which knows whether it was addressed to a VIP.
 */
#ifndef LB_PARSE_BPF_H
#define LB_PARSE_BPF_H

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define ETH_ALEN 6

#define IP_MF 0x2000
#define IP_DF 0x4000
#define IP_OFFSET 0x1FFF

#define LB_IPPROTO_HOPOPTS 0
#define LB_IPPROTO_ROUTING 43
#define LB_IPPROTO_FRAGMENT 44
#define LB_IPPROTO_AH 51
#define LB_IPPROTO_ICMPV6 58
#define LB_IPPROTO_DSTOPTS 60

#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4
#define ICMP_ECHO 8
#define ICMPV6_PKT_TOOBIG 2
#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_ECHO_REPLY 129

#define TCP_FLAG_SYN 0x02

/*
 * Packet offsets as the verifier needs them: a packet pointer plus a
 * variable offset only gets a checked range when offset + access stays
 * below 64 KiB, so offsets are masked to their real bounds (the L2 header is
 * at most 22 bytes; IPv6 extension headers are capped in number).
 */
#define LB_L3(data, pkt) ((data) + ((pkt)->l3_off & 0x3f))
#define LB_L4(data, pkt) ((data) + ((pkt)->l4_off & 0x3fff))

struct lb_vlan_hdr {
	__be16 tci;
	__be16 proto; /* the encapsulated EtherType */
};

struct lb_l4_ports {
	__be16 src;
	__be16 dst;
};

/* What the parsers learned about a packet.  Offsets are from ctx->data. */
struct lb_pkt {
	struct lb_flow flow;
	__u32 pkt_len; /* data_end - data */
	__u16 l3_off; /* Ethernet + VLAN tags */
	__u16 l4_off; /* start of the transport header */
	__u16 l3_len; /* IP datagram length from its header */
	__be16 l3_proto; /* the innermost EtherType */
	__u8 dst_known; /* flow.dst and family are valid */
	__u8 fragment; /* a fragment (not an atomic one) */
	__u8 tcp_flags;
	__u8 tos; /* IPv4 TOS or IPv6 traffic class */
	__u8 df; /* IPv4 don't-fragment bit */
	__u8 icmp_err; /* an ICMP error, forwarded for the flow it quotes */
	__u8 ct4; /* an IPv4 flow to a VIP of one port: remembered in lb_ct4 */
	__u8 pad;
};

/* Ethernet and up to LB_MAX_VLAN_TAGS 802.1Q/802.1ad tags. */
static __always_inline int lb_parse_eth(void *data, void *data_end,
					struct lb_pkt *pkt)
{
	struct ethhdr *eth = data;
	__u16 off = sizeof(*eth);
	__be16 proto;

	if ((void *)(eth + 1) > data_end)
		return LB_STAT_DROP_TRUNCATED;
	proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < LB_MAX_VLAN_TAGS; i++) {
		struct lb_vlan_hdr *vh = data + off;

		if (proto != bpf_htons(ETH_P_8021Q) &&
		    proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > data_end)
			return LB_STAT_DROP_TRUNCATED;
		proto = vh->proto;
		off += sizeof(*vh);
	}
	pkt->l3_off = off;
	pkt->l3_proto = proto;
	return 0;
}

/*
 * Whether len bytes at offset off lie inside the IP datagram.  The caller
 * has checked that the datagram lies inside the frame, so what lies beyond
 * its end is Ethernet padding or trailing garbage, never a header.
 */
static __always_inline int lb_in_datagram(const struct lb_pkt *pkt, __u32 off,
					  __u32 len)
{
	return off + len <= (__u32)pkt->l3_off + pkt->l3_len;
}

/* The transport header: bounded by the IP length (LB_STAT_DROP_BAD_LENGTH),
 * and, for the verifier, by the frame. */
static __always_inline int lb_parse_l4(void *data, void *data_end,
				       struct lb_pkt *pkt)
{
	void *l4 = LB_L4(data, pkt);
	__u32 need;

	switch (pkt->flow.proto) {
	case IPPROTO_TCP:
		need = sizeof(struct tcphdr);
		break;
	case IPPROTO_UDP:
		need = sizeof(struct udphdr);
		break;
	case IPPROTO_ICMP:
	case LB_IPPROTO_ICMPV6:
		/* type, code, checksum and the 4-byte rest of header */
		need = 8;
		break;
	default:
		return 0;
	}
	if (!lb_in_datagram(pkt, pkt->l4_off, need))
		return LB_STAT_DROP_BAD_LENGTH;

	switch (pkt->flow.proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end)
			return LB_STAT_DROP_TRUNCATED;
		pkt->flow.sport = th->source;
		pkt->flow.dport = th->dest;
		pkt->tcp_flags = ((__u8 *)th)[13];
		return 0;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end)
			return LB_STAT_DROP_TRUNCATED;
		pkt->flow.sport = uh->source;
		pkt->flow.dport = uh->dest;
		return 0;
	}
	case IPPROTO_ICMP:
	case LB_IPPROTO_ICMPV6:
		/* type, code, checksum and the 4-byte rest of header */
		if (l4 + 8 > data_end)
			return LB_STAT_DROP_TRUNCATED;
		return 0;
	}
	return 0;
}

/* IPv4, options included (IHL > 5). */
static __always_inline int lb_parse_ipv4(void *data, void *data_end,
					 struct lb_pkt *pkt)
{
	struct iphdr *iph = LB_L3(data, pkt);
	__u32 hlen, tot;

	if ((void *)(iph + 1) > data_end)
		return LB_STAT_DROP_TRUNCATED;
	pkt->flow.family = LB_FAMILY_V4;
	pkt->flow.src.v4 = iph->saddr;
	pkt->flow.dst.v4 = iph->daddr;
	pkt->flow.proto = iph->protocol;
	pkt->dst_known = 1;
	pkt->tos = iph->tos;
	pkt->df = !!(iph->frag_off & bpf_htons(IP_DF));

	hlen = (__u32)iph->ihl * 4;
	tot = bpf_ntohs(iph->tot_len);
	if (iph->version != 4 || hlen < sizeof(*iph) || tot < hlen)
		return LB_STAT_DROP_BAD_HEADER;
	if (pkt->l3_off + tot > pkt->pkt_len)
		return LB_STAT_DROP_TRUNCATED;
	pkt->l3_len = tot;
	pkt->l4_off = pkt->l3_off + hlen;
	if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET)) {
		pkt->fragment = 1;
		return 0;
	}
	return lb_parse_l4(data, data_end, pkt);
}

/* IPv6 with a bounded walk over extension headers. */
static __always_inline int lb_parse_ipv6(void *data, void *data_end,
					 struct lb_pkt *pkt)
{
	struct ipv6hdr *ip6 = LB_L3(data, pkt);
	__u32 off, plen;
	__u8 nh;

	if ((void *)(ip6 + 1) > data_end)
		return LB_STAT_DROP_TRUNCATED;
	pkt->flow.family = LB_FAMILY_V6;
	__builtin_memcpy(&pkt->flow.src, &ip6->saddr, 16);
	__builtin_memcpy(&pkt->flow.dst, &ip6->daddr, 16);
	pkt->dst_known = 1;
	pkt->tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
	if (ip6->version != 6)
		return LB_STAT_DROP_BAD_HEADER;
	plen = bpf_ntohs(ip6->payload_len);
	if (pkt->l3_off + sizeof(*ip6) + plen > pkt->pkt_len)
		return LB_STAT_DROP_TRUNCATED;
	pkt->l3_len = sizeof(*ip6) + plen;
	nh = ip6->nexthdr;
	off = pkt->l3_off + sizeof(*ip6);

#pragma unroll
	for (int i = 0; i < LB_MAX_EXT_HDRS; i++) {
		/* every extension header starts (next header, length) */
		__u8 *eh = data + (off & 0xffff);

		if (nh != LB_IPPROTO_HOPOPTS && nh != LB_IPPROTO_ROUTING &&
		    nh != LB_IPPROTO_DSTOPTS && nh != LB_IPPROTO_FRAGMENT &&
		    nh != LB_IPPROTO_AH)
			break;
		if (!lb_in_datagram(pkt, off, 8))
			return LB_STAT_DROP_BAD_LENGTH;
		if ((void *)(eh + 8) > data_end)
			return LB_STAT_DROP_TRUNCATED;
		if (nh == LB_IPPROTO_FRAGMENT) {
			/* offset (13 bits) and M flag; both zero = atomic */
			if ((eh[2] << 8 | eh[3]) & 0xfff9) {
				pkt->flow.proto = eh[0];
				pkt->fragment = 1;
				return 0;
			}
			off += 8;
		} else if (nh == LB_IPPROTO_AH) {
			off += ((__u32)eh[1] + 2) * 4;
		} else {
			off += ((__u32)eh[1] + 1) * 8;
		}
		nh = eh[0];
	}
	pkt->flow.proto = nh;
	if (nh == LB_IPPROTO_HOPOPTS || nh == LB_IPPROTO_ROUTING ||
	    nh == LB_IPPROTO_DSTOPTS || nh == LB_IPPROTO_FRAGMENT ||
	    nh == LB_IPPROTO_AH)
		return LB_STAT_DROP_EXTHDR_LIMIT;
	if (!lb_in_datagram(pkt, off, 0))
		return LB_STAT_DROP_BAD_LENGTH;
	pkt->l4_off = off;
	return lb_parse_l4(data, data_end, pkt);
}

#endif /* LB_PARSE_BPF_H */
