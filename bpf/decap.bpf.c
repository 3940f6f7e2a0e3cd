// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * decap.bpf.c - XDP program for backend hosts: strips the outer IPv4/IPv6
 * header that the balancer added (IPIP, IP6IP6, IPv4-in-IPv6) when the
 * outer destination is one of this host's addresses, and passes the inner
 * packet up the stack.  Backend kernels without tunnel modules need it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define __BPF__ 1
#include "lb_abi.h"
#include "parse.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Outer destinations this host accepts tunnelled packets for. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_DECAP_ADDRS);
	__type(key, struct lb_addr_key);
	__type(value, struct lb_decap_addr);
} decap_addrs SEC(".maps");

/* Counters, indexed by enum lb_decap_stat. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_DECAP_STAT_MAX);
	__type(key, __u32);
	__type(value, struct lb_counter);
} decap_stats SEC(".maps");

static __always_inline void decap_count(__u32 idx, __u64 bytes)
{
	struct lb_counter *c = bpf_map_lookup_elem(&decap_stats, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

SEC("xdp")
int decap_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct lb_pkt pkt = {};
	struct lb_addr_key k = {};
	__u32 olen, len = data_end - data;
	__be16 inner_proto;
	__u8 nvlan;

	decap_count(LB_DECAP_RX, len);
	if (lb_parse_eth(data, data_end, &pkt))
		goto pass;

	if (pkt.l3_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = LB_L3(data, &pkt);

		if ((void *)(iph + 1) > data_end)
			goto pass;
		if (iph->protocol != IPPROTO_IPIP &&
		    iph->protocol != IPPROTO_IPV6)
			goto pass;
		if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
			goto pass;
		k.family = LB_FAMILY_V4;
		k.addr.v4 = iph->daddr;
		olen = (__u32)iph->ihl * 4;
		if (olen < sizeof(*iph))
			goto pass;
		inner_proto = iph->protocol == IPPROTO_IPIP ?
				      bpf_htons(ETH_P_IP) :
				      bpf_htons(ETH_P_IPV6);
	} else if (pkt.l3_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = LB_L3(data, &pkt);

		if ((void *)(ip6 + 1) > data_end)
			goto pass;
		if (ip6->nexthdr != IPPROTO_IPIP &&
		    ip6->nexthdr != IPPROTO_IPV6)
			goto pass;
		k.family = LB_FAMILY_V6;
		__builtin_memcpy(&k.addr, &ip6->daddr, 16);
		olen = sizeof(*ip6);
		inner_proto = ip6->nexthdr == IPPROTO_IPIP ?
				      bpf_htons(ETH_P_IP) :
				      bpf_htons(ETH_P_IPV6);
	} else {
		goto pass;
	}
	if (!bpf_map_lookup_elem(&decap_addrs, &k))
		goto pass;
	if (LB_L3(data, &pkt) + (olen & 0x7f) + sizeof(struct iphdr) >
	    data_end) {
		decap_count(LB_DECAP_DROP_TRUNCATED, len);
		return XDP_DROP;
	}

	/* Move the L2 header (Ethernet + tags) forward over the outer IP
	 * header.  With two tags it overlaps its new place by two bytes, so
	 * the copy runs from the end towards the start. */
	nvlan = (pkt.l3_off - sizeof(struct ethhdr)) / 4;
	{
		__be16 *inner_et =
			data + (olen & 0x7f) + ((pkt.l3_off - 2) & 0x3f);
		struct ethhdr *oeth = data;
		struct ethhdr *neth = data + (olen & 0x7f);

		if ((void *)(inner_et + 1) > data_end ||
		    (void *)(neth + 1) > data_end)
			goto pass;
#pragma unroll
		for (int i = LB_MAX_VLAN_TAGS - 1; i >= 0; i--) {
			struct lb_vlan_hdr *ov = data + sizeof(*oeth) + i * 4;
			struct lb_vlan_hdr *nv =
				data + (olen & 0x7f) + sizeof(*oeth) + i * 4;

			if (i >= nvlan)
				continue;
			if ((void *)(nv + 1) > data_end)
				goto pass;
			*nv = *ov;
		}
		/* olen >= 20 > 12: the MAC copies cannot overlap their source */
		neth->h_proto = oeth->h_proto;
		__builtin_memcpy(neth->h_source, oeth->h_source, ETH_ALEN);
		__builtin_memcpy(neth->h_dest, oeth->h_dest, ETH_ALEN);
		/* last: the innermost EtherType may sit in a copied tag */
		*inner_et = inner_proto;
	}
	if (bpf_xdp_adjust_head(ctx, (int)olen)) {
		decap_count(LB_DECAP_DROP_ADJUST_FAILED, len);
		return XDP_DROP;
	}
	decap_count(LB_DECAP_DONE, len);
	return XDP_PASS;
pass:
	decap_count(LB_DECAP_PASS, len);
	return XDP_PASS;
}
