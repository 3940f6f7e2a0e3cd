// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fix_too_big_sent.c - packets too big to encapsulate.  With max_pkt_size
 * 1500, IPIP adds 20 bytes, IP6IP6 and 4in6 40.  A client packet that does
 * not fit is answered with the ICMP error (quote capped at 576 bytes of
 * ICMPv4 / 1280 of ICMPv6 in all), or dropped when none may be sent; one
 * that fits exactly is forwarded.
 */
#include "fixture.h"

#define SENT(nm, in_, mtu_, quote_)                                         \
	{                                                                   \
		.name = nm, .in = in_, .action = XDP_TX, .out = FX_TOO_BIG, \
		.mtu = mtu_, .quote = quote_, .stat = LB_STAT_PTB_SENT      \
	}
#define REFUSED(nm, in_)                                                   \
	{                                                                  \
		.name = nm, .in = in_, .action = XDP_DROP, .out = FX_NONE, \
		.stat = LB_STAT_DROP_TOO_BIG                               \
	}

static void mtu_400(void)
{
	fx_set_max_pkt_size(400);
}

static void mtu_80(void)
{
	fx_set_max_pkt_size(80);
}

static void mtu_1500(void)
{
	fx_set_max_pkt_size(1500);
}

static const struct fx cases[] = {
	/* each family of encapsulation, one byte over */
	SENT("too_big_ipip_v4_tcp",
	     FX_BIG(4, "192.0.2.20", "203.0.113.20", 6, 8080, 1481), 1480, 548),
	SENT("too_big_ipip_v4_udp",
	     FX_BIG(4, "192.0.2.21", "203.0.113.10", 17, 5000, 1500), 1480,
	     548),
	SENT("too_big_4in6_v4",
	     FX_BIG(4, "192.0.2.22", "203.0.113.30", 6, 80, 1461), 1460, 548),
	SENT("too_big_ip6ip6",
	     FX_BIG(6, "2001:db8:c::22", "2001:db8:f::20", 6, 443, 1461), 1460,
	     1232),
	SENT("too_big_ip6ip6_full_mtu",
	     FX_BIG(6, "2001:db8:c::23", "2001:db8:f::20", 6, 443, 1500), 1460,
	     1232),

	/* exactly at the limit: forwarded, not answered */
	{ .name = "ipip_v4_exactly_mtu",
	  .in = FX_BIG(4, "192.0.2.20", "203.0.113.20", 6, 8080, 1480),
	  .action = XDP_TX,
	  .out = FX_ENCAP,
	  .vip = &v4_all,
	  .backend = "198.51.100.5",
	  .stat = LB_STAT_ENCAP },
	{ .name = "4in6_v4_exactly_mtu",
	  .in = FX_BIG(4, "192.0.2.22", "203.0.113.30", 6, 80, 1460),
	  .action = XDP_TX,
	  .out = FX_ENCAP,
	  .vip = &v4_in_v6,
	  .backend = "2001:db8:b::4",
	  .flow_label = 0x578e6,
	  .stat = LB_STAT_ENCAP },
	{ .name = "ip6ip6_exactly_mtu",
	  .in = FX_BIG(6, "2001:db8:c::22", "2001:db8:f::20", 6, 443, 1460),
	  .action = XDP_TX,
	  .out = FX_ENCAP,
	  .vip = &v6_encap,
	  .backend = "2001:db8:b::5",
	  .flow_label = 0x80c1a,
	  .stat = LB_STAT_ENCAP },

	/* VLAN tags stay in front; IPv4 options are part of the quote */
	SENT("too_big_ipip_v4_qinq",
	     FX_BIG(4, "192.0.2.24", "203.0.113.80", 6, 80, 1481, .nvlan = 2,
		    .vlan_tpid = { 0x88a8 }, .vlan_tci = { 21, 22 }),
	     1480, 548),
	SENT("too_big_ip6ip6_vlan1",
	     FX_BIG(6, "2001:db8:c::24", "2001:db8:f::20", 6, 443, 1461,
		    .nvlan = 1, .vlan_tci = { 23 }),
	     1460, 1232),
	SENT("too_big_ipip_v4_ip_options",
	     FX_BIG(4, "192.0.2.25", "203.0.113.20", 6, 80, 1481 - 12,
		    .ip_opt_len = 12),
	     1480, 548),

	/* no ICMP error possible: dropped and counted */
	REFUSED("too_big_ipip_v4_df_clear_dropped",
		FX_BIG(4, "192.0.2.26", "203.0.113.20", 6, 8080, 1481,
		       .frag = 0)),
	REFUSED("too_big_v4_multicast_source_dropped",
		FX_BIG(4, "224.0.0.9", "203.0.113.20", 6, 8080, 1481)),
	REFUSED("too_big_v4_unspecified_source_dropped",
		FX_BIG(4, "0.0.0.0", "203.0.113.20", 6, 8080, 1481)),
	REFUSED("too_big_v6_multicast_source_dropped",
		FX_BIG(6, "ff02::1", "2001:db8:f::20", 6, 443, 1461)),
	REFUSED("too_big_v6_loopback_source_dropped",
		FX_BIG(6, "::1", "2001:db8:f::20", 6, 443, 1461)),
	REFUSED("too_big_v4_l2_broadcast_dropped",
		FX_BIG(4, "192.0.2.27", "203.0.113.20", 6, 8080, 1481,
		       .dmac = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff })),

	/* a small MTU: the whole packet fits in the quote, and every length
	 * mod 4 exercises the checksum's tail.  IPv4 MTU 400 - 20 = 380. */
	{ .name = "too_big_ipip_v4_whole_quote_449",
	  .in = FX_BIG(4, "192.0.2.28", "203.0.113.20", 6, 8080, 449),
	  .pre = mtu_400,
	  .action = XDP_TX,
	  .out = FX_TOO_BIG,
	  .mtu = 380,
	  .quote = 449,
	  .stat = LB_STAT_PTB_SENT },
	SENT("too_big_ipip_v4_whole_quote_450",
	     FX_BIG(4, "192.0.2.28", "203.0.113.20", 6, 8080, 450), 380, 450),
	SENT("too_big_ipip_v4_whole_quote_451",
	     FX_BIG(4, "192.0.2.28", "203.0.113.20", 6, 8080, 451), 380, 451),
	SENT("too_big_ipip_v4_whole_quote_452",
	     FX_BIG(4, "192.0.2.28", "203.0.113.20", 6, 8080, 452), 380, 452),
	/* IPv6 never reports below 1280 ... */
	SENT("too_big_ip6ip6_mtu_floor_1280",
	     FX_BIG(6, "2001:db8:c::28", "2001:db8:f::20", 6, 443, 1281), 1280,
	     1232),
	/* ... so a packet that fits 1280 cannot be helped: dropped */
	REFUSED("too_big_ip6ip6_below_min_mtu_dropped",
		FX_BIG(6, "2001:db8:c::28", "2001:db8:f::20", 6, 443, 1280)),
	/* IPv4 never below 68 (RFC 791) */
	{ .name = "too_big_ipip_v4_mtu_floor_68",
	  .in = FX_BIG(4, "192.0.2.29", "203.0.113.20", 6, 8080, 101),
	  .pre = mtu_80,
	  .action = XDP_TX,
	  .out = FX_TOO_BIG,
	  .mtu = 68,
	  .quote = 101,
	  .stat = LB_STAT_PTB_SENT },
	{ .name = "too_big_ipip_v4_below_min_mtu_dropped",
	  .in = FX_BIG(4, "192.0.2.29", "203.0.113.20", 6, 8080, 68),
	  .post = mtu_1500,
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_TOO_BIG },
};

static const struct fx_count counts[] = {
	{ "too_big_sent_counted", LB_STAT_PTB_SENT, 14 },
	{ "drop_too_big_counted", LB_STAT_DROP_TOO_BIG, 8 },
};

FX_TABLE(fix_too_big_sent, cases, counts);
