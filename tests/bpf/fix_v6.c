// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* fix_v6.c - IPv6 VIPs: L2 DSR and IP6IP6; IPv6 in IPv4 is refused. */
#include "fixture.h"

static const struct fx cases[] = {
	{ .name = "dsr_v6_tcp",
	  .in = FX6("2001:db8:c::1", "2001:db8:f::10", 6, 40000, 80),
	  .action = XDP_TX, .out = FX_DSR, .vip = &v6_tcp,
	  .backend = "2001:db8:b::2", .stat = LB_STAT_TX },
	{ .name = "dsr_v6_tcp_traffic_class",
	  .in = FX6("2001:db8:c::1", "2001:db8:f::10", 6, 40000, 80,
		    .tos = 0x28),
	  .action = XDP_TX, .out = FX_DSR, .vip = &v6_tcp,
	  .backend = "2001:db8:b::2", .stat = LB_STAT_TX },
	/* hop-by-hop, routing, destination options */
	{ .name = "dsr_v6_ext_headers",
	  .in = FX6("2001:db8:c::2", "2001:db8:f::10", 6, 40001, 80,
		    .ext = { 0, 43, 60 }, .next = 3),
	  .action = XDP_TX, .out = FX_DSR, .vip = &v6_tcp,
	  .backend = "2001:db8:b::2", .stat = LB_STAT_TX },
	{ .name = "dsr_v6_udp",
	  .in = FX6("2001:db8:c::3", "2001:db8:f::10", 17, 5353, 53),
	  .action = XDP_TX, .out = FX_DSR, .vip = &v6_udp,
	  .backend = "2001:db8:b::1", .stat = LB_STAT_TX },
	{ .name = "dsr_v6_vlan1",
	  .in = FX6("2001:db8:c::3", "2001:db8:f::10", 6, 40002, 80,
		    .nvlan = 1, .vlan_tci = { 7 }),
	  .action = XDP_TX, .out = FX_DSR, .vip = &v6_tcp,
	  .backend = "2001:db8:b::3", .stat = LB_STAT_TX },
	/* an atomic fragment (offset 0, no M) is a whole packet */
	{ .name = "dsr_v6_atomic_fragment",
	  .in = FX6("2001:db8:c::1", "2001:db8:f::10", 6, 40000, 80,
		    .ext = { 44 }, .next = 1),
	  .action = XDP_TX, .out = FX_DSR, .vip = &v6_tcp,
	  .backend = "2001:db8:b::2", .stat = LB_STAT_TX },
	/* four extension headers: the parser's limit, still parsed */
	{ .name = "dsr_v6_four_ext_headers",
	  .in = FX6("2001:db8:c::1", "2001:db8:f::10", 6, 40000, 80,
		    .ext = { 0, 60, 43, 60 }, .next = 4),
	  .action = XDP_TX, .out = FX_DSR, .vip = &v6_tcp,
	  .backend = "2001:db8:b::2", .stat = LB_STAT_TX },

	/* IP6IP6 with a traffic class and extension headers */
	{ .name = "ip6ip6_v6_tcp",
	  .in = FX6("2001:db8:c::10", "2001:db8:f::20", 6, 40000, 443,
		    .tos = 0x48),
	  .action = XDP_TX, .out = FX_ENCAP, .vip = &v6_encap,
	  .backend = "2001:db8:b::4", .flow_label = 0xdee54,
	  .stat = LB_STAT_ENCAP },
	{ .name = "ip6ip6_v6_ext_header",
	  .in = FX6("2001:db8:c::10", "2001:db8:f::20", 6, 40000, 443,
		    .tos = 0x48, .ext = { 60 }, .next = 1),
	  .action = XDP_TX, .out = FX_ENCAP, .vip = &v6_encap,
	  .backend = "2001:db8:b::4", .flow_label = 0xdee54,
	  .stat = LB_STAT_ENCAP },

	/* IPv6 in IPv4 does not exist: dropped, and counted as such */
	{ .name = "6in4_refused",
	  .in = FX6("2001:db8:c::13", "2001:db8:f::30", 6, 40003, 80),
	  .action = XDP_DROP, .out = FX_NONE,
	  .stat = LB_STAT_DROP_UNSUPPORTED },
};

static const struct fx_count counts[] = {
	{ "6in4_counted_unsupported", LB_STAT_DROP_UNSUPPORTED, 1 },
};

FX_TABLE(fix_v6, cases, counts);
