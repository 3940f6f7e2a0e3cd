// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* fix_v4.c - IPv4 VIPs: L2 DSR, IPIP and IPv4 in IPv6. */
#include "fixture.h"

static const struct fx cases[] = {
	/* L2 DSR */
	{ .name = "dsr_v4_tcp_syn",
	  .in = FX4("192.0.2.1", "203.0.113.10", 6, 40000, 80),
	  .action = XDP_TX, .out = FX_DSR, .vip = &v4_tcp,
	  .backend = "198.51.100.1", .stat = LB_STAT_TX },
	{ .name = "dsr_v4_tcp_tos_kept",
	  .in = FX4("192.0.2.2", "203.0.113.10", 6, 40001, 80, .tos = 0xb8),
	  .action = XDP_TX, .out = FX_DSR, .vip = &v4_tcp,
	  .backend = "198.51.100.1", .stat = LB_STAT_TX },
	{ .name = "dsr_v4_udp",
	  .in = FX4("192.0.2.3", "203.0.113.10", 17, 5353, 53),
	  .action = XDP_TX, .out = FX_DSR, .vip = &v4_udp,
	  .backend = "198.51.100.2", .stat = LB_STAT_TX },
	/* exact port beats the all-ports VIP of the same address */
	{ .name = "all_ports_v4_udp_other_port",
	  .in = FX4("192.0.2.3", "203.0.113.10", 17, 5353, 54),
	  .action = XDP_TX, .out = FX_ENCAP, .vip = &v4_udp_all,
	  .backend = "198.51.100.9", .stat = LB_STAT_ENCAP },
	{ .name = "dsr_v4_ip_options",
	  .in = FX4("192.0.2.4", "203.0.113.10", 6, 40002, 80,
		    .ip_opt_len = 12),
	  .action = XDP_TX, .out = FX_DSR, .vip = &v4_tcp,
	  .backend = "198.51.100.3", .stat = LB_STAT_TX },
	{ .name = "dsr_v4_vlan1",
	  .in = FX4("192.0.2.5", "203.0.113.10", 6, 40003, 80, .nvlan = 1,
		    .vlan_tci = { 100 }),
	  .action = XDP_TX, .out = FX_DSR, .vip = &v4_tcp,
	  .backend = "198.51.100.3", .stat = LB_STAT_TX },
	{ .name = "dsr_v4_qinq",
	  .in = FX4("192.0.2.5", "203.0.113.10", 6, 40003, 80, .nvlan = 2,
		    .vlan_tpid = { 0x88a8 }, .vlan_tci = { 100, 200 }),
	  .action = XDP_TX, .out = FX_DSR, .vip = &v4_tcp,
	  .backend = "198.51.100.3", .stat = LB_STAT_TX },

	/* IPIP on an all-ports VIP; ToS copied to the outer header */
	{ .name = "ipip_v4_all_ports",
	  .in = FX4("192.0.2.10", "203.0.113.20", 6, 40000, 8080,
		    .tos = 0x10),
	  .action = XDP_TX, .out = FX_ENCAP, .vip = &v4_all,
	  .backend = "198.51.100.4", .stat = LB_STAT_ENCAP },
	{ .name = "ipip_v4_all_ports_other",
	  .in = FX4("192.0.2.10", "203.0.113.20", 6, 40000, 22),
	  .action = XDP_TX, .out = FX_ENCAP, .vip = &v4_all,
	  .backend = "198.51.100.4", .stat = LB_STAT_ENCAP },
	/* IPIP with IP options in the inner packet */
	{ .name = "ipip_v4_ip_options",
	  .in = FX4("192.0.2.11", "203.0.113.20", 6, 40001, 80,
		    .ip_opt_len = 8),
	  .action = XDP_TX, .out = FX_ENCAP, .vip = &v4_all,
	  .backend = "198.51.100.4", .stat = LB_STAT_ENCAP },
	/* IPIP keeps one and two VLAN tags in front of the outer header */
	{ .name = "ipip_v4_vlan1",
	  .in = FX4("192.0.2.12", "203.0.113.80", 6, 40002, 80, .nvlan = 1,
		    .vlan_tci = { 10 }),
	  .action = XDP_TX, .out = FX_ENCAP, .vip = &v4_vlan_encap,
	  .backend = "198.51.100.30", .stat = LB_STAT_ENCAP },
	{ .name = "ipip_v4_qinq",
	  .in = FX4("192.0.2.12", "203.0.113.80", 6, 40002, 80, .nvlan = 2,
		    .vlan_tpid = { 0x88a8 }, .vlan_tci = { 10, 20 }),
	  .action = XDP_TX, .out = FX_ENCAP, .vip = &v4_vlan_encap,
	  .backend = "198.51.100.30", .stat = LB_STAT_ENCAP },

	/* IPv4 in IPv6: the outer flow label is the flow's hash */
	{ .name = "4in6_v4_tcp",
	  .in = FX4("192.0.2.13", "203.0.113.30", 6, 40003, 80, .tos = 0x20),
	  .action = XDP_TX, .out = FX_ENCAP, .vip = &v4_in_v6,
	  .backend = "2001:db8:b::5", .flow_label = 0x9ef39,
	  .stat = LB_STAT_ENCAP },
	{ .name = "4in6_v4_vlan1",
	  .in = FX4("192.0.2.13", "203.0.113.30", 6, 40003, 80, .tos = 0x20,
		    .nvlan = 1, .vlan_tci = { 30 }),
	  .action = XDP_TX, .out = FX_ENCAP, .vip = &v4_in_v6,
	  .backend = "2001:db8:b::5", .flow_label = 0x9ef39,
	  .stat = LB_STAT_ENCAP },
};

FX_TABLE_NOCOUNT(fix_v4, cases);
