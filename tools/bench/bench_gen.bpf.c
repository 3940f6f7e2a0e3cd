// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench_gen.bpf.c - the packet generator of the forwarding benchmark.
 *
 * Run with BPF_PROG_TEST_RUN, BPF_F_TEST_XDP_LIVE_FRAMES and repeat = N, it
 * turns N page-pool frames into real packets sent out of gen_ifindex.  The
 * pages are recycled with whatever the path downstream wrote into them
 * (MACs, NAT-rewritten addresses and checksums, TTL), so every header field
 * and both checksums are written again on every run; only the payload,
 * which nothing rewrites, is left as the template put it.
 *
 * Each packet belongs to the next flow of a round-robin over nflows UDP
 * flows (bench_abi.h), so that the device under test sees nflows
 * concurrent flows.  One test run executes on one CPU with migration
 * disabled, so the flow counter needs no atomic operation.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bench_abi.h"

#define ETH_P_IP 0x0800

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader before load. */
const volatile __u32 gen_ifindex; /* where the frames go */
const volatile __u8 gen_dmac[6]; /* the device under test */
const volatile __u8 gen_smac[6]; /* our interface */
const volatile __be32 gen_saddr_base; /* first source address */
const volatile __be32 gen_daddr; /* the VIP */
const volatile __u16 gen_sport_base; /* host order */
const volatile __be16 gen_dport;
/*
 * Unfolded ones' complement sums of the 16-bit words (as loaded from
 * memory) of everything but the source address and port: the IPv4 header
 * and the UDP pseudo-header, header and payload.  Adding the varying words
 * per packet gives the full checksums.
 */
const volatile __u32 gen_ip_sum;
const volatile __u32 gen_udp_sum;

/* Changed between runs through the skeleton's mmapped .data and .bss. */
__u32 gen_nflows = 1;
__u32 gen_next; /* next flow number */
__u64 gen_short; /* frames shorter than the template: never sent */

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

SEC("xdp")
int bench_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct udphdr *uh = (void *)(iph + 1);
	__u32 flow = gen_next, nflows = gen_nflows, sum;
	__be32 saddr;
	__be16 sport;
	__u16 csum;

	if (data + BENCH_GEN_FRAME_LEN > data_end) {
		gen_short++;
		return XDP_DROP;
	}
	gen_next = flow + 1 >= nflows ? 0 : flow + 1;
	saddr = bpf_htonl(bpf_ntohl(gen_saddr_base) + flow / BENCH_GEN_PORTS);
	sport = bpf_htons(gen_sport_base + flow % BENCH_GEN_PORTS);

	/* element by element: a memcpy from a cast-away-volatile const
	 * would be folded to the zeros the object file holds */
	for (int i = 0; i < 6; i++) {
		eth->h_dest[i] = gen_dmac[i];
		eth->h_source[i] = gen_smac[i];
	}
	eth->h_proto = bpf_htons(ETH_P_IP);

	*(__u8 *)iph = 0x45; /* version 4, IHL 5 */
	iph->tos = 0;
	iph->tot_len = bpf_htons(BENCH_GEN_FRAME_LEN - sizeof(*eth));
	iph->id = 0;
	iph->frag_off = 0;
	iph->ttl = 64;
	iph->protocol = IPPROTO_UDP;
	iph->saddr = saddr;
	iph->daddr = gen_daddr;
	sum = gen_ip_sum + (saddr & 0xffff) + (saddr >> 16);
	iph->check = csum_fold(sum);

	uh->source = sport;
	uh->dest = gen_dport;
	uh->len = bpf_htons(BENCH_GEN_FRAME_LEN - sizeof(*eth) - sizeof(*iph));
	sum = gen_udp_sum + (saddr & 0xffff) + (saddr >> 16) + sport;
	csum = csum_fold(sum);
	uh->check = csum ? csum : 0xffff; /* 0 means "no checksum" in UDP */

	return bpf_redirect(gen_ifindex, 0);
}
