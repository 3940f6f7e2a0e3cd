// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fix_malformed.c - what is passed up untouched, and what is dropped with
 * which reason: not for a VIP, malformed, truncated, fragments, too many
 * extension headers, no backend.
 */
#include <string.h>

#include "fixture.h"

/* the ARP request of a client */
#define ARP_HEX                                              \
	"ffffffffffff 0200000000aa 0806"                     \
	"00000000000000000000000000000000000000000000000000" \
	"000000"

/* Insert a fifth extension header (8-byte DSTOPTS) in front of the first;
 * hop-by-hop must come first in real life, the parser only counts. */
static void insert_fifth_ext(struct pkt *p)
{
	size_t at = 14 + 40;

	memmove(p->b + at + 8, p->b + at, p->len - at);
	memset(p->b + at, 0, 8);
	p->b[at] = 0; /* next: the old first (hop-by-hop) */
	p->b[at + 2] = 1;
	p->b[at + 3] = 4;
	p->b[14 + 6] = 60; /* IPv6 next header: DSTOPTS */
	p->b[14 + 5] += 8; /* payload length */
	p->len += 8;
}

static const struct fx cases[] = {
	/* passed up untouched */
	{ .name = "pass_v4_not_vip",
	  .in = FX4("192.0.2.1", "203.0.113.99", 6, 40000, 80),
	  .action = XDP_PASS,
	  .out = FX_SAME,
	  .stat = LB_STAT_PASS },
	{ .name = "pass_v6_not_vip",
	  .in = FX6("2001:db8:c::1", "2001:db8:f::99", 6, 40000, 80),
	  .action = XDP_PASS,
	  .out = FX_SAME,
	  .stat = LB_STAT_PASS },
	/* VIP address, port without a VIP */
	{ .name = "pass_v4_vip_addr_other_port",
	  .in = FX4("192.0.2.1", "203.0.113.10", 6, 40000, 81),
	  .action = XDP_PASS,
	  .out = FX_SAME,
	  .stat = LB_STAT_PASS },
	{ .name = "pass_arp",
	  .in_hex = ARP_HEX,
	  .action = XDP_PASS,
	  .out = FX_SAME,
	  .stat = LB_STAT_PASS },
	/* tunnel packets not addressed to a VIP */
	{ .name = "pass_ipip_not_vip",
	  .in = FX4("192.0.2.1", "198.51.100.1", 4, 0, 0),
	  .action = XDP_PASS,
	  .out = FX_SAME,
	  .stat = LB_STAT_PASS },
	{ .name = "pass_ip6ip6_not_vip",
	  .in = FX6("2001:db8:c::1", "2001:db8:b::1", 41, 0, 0),
	  .action = XDP_PASS,
	  .out = FX_SAME,
	  .stat = LB_STAT_PASS },
	{ .name = "pass_4in6_not_vip",
	  .in = FX6("2001:db8:c::1", "2001:db8:b::1", 4, 0, 0),
	  .action = XDP_PASS,
	  .out = FX_SAME,
	  .stat = LB_STAT_PASS },
	/* a protocol without a VIP to a VIP address (GRE) */
	{ .name = "pass_v4_gre_to_vip_addr",
	  .in = FX4("192.0.2.1", "203.0.113.10", 47, 0, 0),
	  .action = XDP_PASS,
	  .out = FX_SAME,
	  .stat = LB_STAT_PASS },
	/* malformed, but not for a VIP: the host must stay reachable */
	{ .name = "pass_v4_bad_ihl_not_vip",
	  .in = FX4("192.0.2.1", "203.0.113.99", 6, 40000, 80, .bad_ihl = 3),
	  .action = XDP_PASS,
	  .out = FX_SAME,
	  .stat = LB_STAT_PASS },
	{ .name = "pass_v4_fragment_not_vip",
	  .in = FX4("192.0.2.1", "203.0.113.99", 6, 40000, 80, .frag = 0x2000),
	  .action = XDP_PASS,
	  .out = FX_SAME,
	  .stat = LB_STAT_PASS },

	/* bad IHL and a total length shorter than the header */
	{ .name = "drop_v4_bad_ihl",
	  .in = FX4("192.0.2.1", "203.0.113.10", 6, 40000, 80, .bad_ihl = 4),
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_BAD_HEADER },
	{ .name = "drop_v4_total_length_lt_header",
	  .in = FX4("192.0.2.1", "203.0.113.10", 6, 40000, 80, .ip_opt_len = 8),
	  .l3_len = 24, /* < IHL 7 * 4 */
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_BAD_HEADER },

	/*
	 * The IP length, not the frame, bounds the transport header: a
	 * datagram that ends before its TCP/UDP/ICMP header, followed by
	 * Ethernet padding that happens to hold one, is malformed.
	 */
	{ .name = "drop_v4_tcp_header_past_ip_length",
	  .in = FX4("192.0.2.1", "203.0.113.10", 6, 40000, 80,
		    .payload_len = 0),
	  .l3_len = 24,
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_BAD_LENGTH },
	{ .name = "drop_v4_udp_header_past_ip_length",
	  .in = FX4("192.0.2.1", "203.0.113.10", 17, 40000, 53,
		    .payload_len = 0),
	  .l3_len = 27,
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_BAD_LENGTH },
	{ .name = "drop_v4_icmp_header_past_ip_length",
	  .in = FX4("192.0.2.1", "203.0.113.10", 1, 0, 0, .icmp_type = 8,
		    .payload_len = 0),
	  .l3_len = 20,
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_BAD_LENGTH },
	{ .name = "drop_v6_tcp_header_past_payload_length",
	  .in = FX6("2001:db8:c::1", "2001:db8:f::10", 6, 40000, 80,
		    .payload_len = 0),
	  .l3_len = 40 + 19,
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_BAD_LENGTH },
	{ .name = "drop_v6_udp_header_past_payload_length",
	  .in = FX6("2001:db8:c::1", "2001:db8:f::10", 17, 40000, 53,
		    .payload_len = 0),
	  .l3_len = 40,
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_BAD_LENGTH },
	{ .name = "drop_v6_ext_header_past_payload_length",
	  .in = FX6("2001:db8:c::1", "2001:db8:f::10", 6, 40000, 80,
		    .payload_len = 0, .ext = { 60 }, .next = 1),
	  .l3_len = 40 + 4,
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_BAD_LENGTH },
	/* a length above the frame is a truncated frame */
	{ .name = "drop_v4_total_length_above_frame",
	  .in = FX4("192.0.2.1", "203.0.113.10", 6, 40000, 80),
	  .l3_len = 20 + 20 + 15 + 1,
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_TRUNCATED },
	{ .name = "drop_v6_payload_length_above_frame",
	  .in = FX6("2001:db8:c::1", "2001:db8:f::10", 6, 40000, 80),
	  .l3_len = 40 + 20 + 15 + 1,
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_TRUNCATED },

	/* fragments */
	{ .name = "drop_v4_first_fragment", /* MF, offset 0 */
	  .in = FX4("192.0.2.1", "203.0.113.10", 6, 40000, 80, .frag = 0x2000),
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_FRAGMENT },
	{ .name = "drop_v4_later_fragment", /* offset 128, last */
	  .in = FX4("192.0.2.1", "203.0.113.10", 6, 40000, 80, .frag = 0x0010),
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_FRAGMENT },
	{ .name = "drop_v6_fragment", /* M flag */
	  .in = FX6("2001:db8:c::1", "2001:db8:f::10", 6, 40000, 80,
		    .v6_frag = 0x0001),
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_FRAGMENT },

	/* five extension headers: one more than the parser walks */
	{ .name = "drop_v6_ext_header_limit",
	  .in = FX6("2001:db8:c::1", "2001:db8:f::10", 6, 40000, 80,
		    .ext = { 0, 60, 43, 60 }, .next = 4),
	  .edit = insert_fifth_ext,
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_EXTHDR_LIMIT },

	/* VIP without usable backends */
	{ .name = "drop_vip_without_backend",
	  .in = FX4("192.0.2.1", "203.0.113.50", 6, 40000, 80),
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_NO_BACKEND },
};

static const struct fx_count counts[] = {
	{ "pass_counted", LB_STAT_PASS, 10 },
	{ "drop_bad_header_counted", LB_STAT_DROP_BAD_HEADER, 2 },
	{ "drop_bad_length_counted", LB_STAT_DROP_BAD_LENGTH, 6 },
	{ "drop_length_above_frame_counted_truncated", LB_STAT_DROP_TRUNCATED,
	  2 },
	{ "drop_fragment_counted", LB_STAT_DROP_FRAGMENT, 3 },
	{ "drop_exthdr_limit_counted", LB_STAT_DROP_EXTHDR_LIMIT, 1 },
	{ "drop_no_backend_counted", LB_STAT_DROP_NO_BACKEND, 1 },
};

FX_TABLE(fix_malformed, cases, counts);

/* Every header boundary: Ethernet, VLAN, IP, extension header, L4.  Below
 * trunc_min the destination is unreadable and the packet is passed. */
static const struct fx truncated[] = {
	{ .name = "truncated_v4_tcp",
	  .in = FX4("192.0.2.1", "203.0.113.10", 6, 40000, 80,
		    .payload_len = 0),
	  .out = FX_TRUNCATE,
	  .trunc_min = 14 + 20 },
	{ .name = "truncated_v4_qinq_tcp",
	  .in = FX4("192.0.2.1", "203.0.113.10", 6, 40000, 80, .payload_len = 0,
		    .nvlan = 2),
	  .out = FX_TRUNCATE,
	  .trunc_min = 22 + 20 },
	{ .name = "truncated_v4_udp_options",
	  .in = FX4("192.0.2.1", "203.0.113.10", 17, 40000, 53,
		    .payload_len = 0, .ip_opt_len = 4),
	  .out = FX_TRUNCATE,
	  .trunc_min = 14 + 20 },
	{ .name = "truncated_v6_ext_tcp",
	  .in = FX6("2001:db8:c::1", "2001:db8:f::10", 6, 40000, 80,
		    .payload_len = 0, .ext = { 0, 60 }, .next = 2),
	  .out = FX_TRUNCATE,
	  .trunc_min = 14 + 40 },
	{ .name = "truncated_v6_udp",
	  .in = FX6("2001:db8:c::1", "2001:db8:f::10", 17, 40000, 53,
		    .payload_len = 0),
	  .out = FX_TRUNCATE,
	  .trunc_min = 14 + 40 },
};

FX_TABLE_NOCOUNT(fix_truncated, truncated);
