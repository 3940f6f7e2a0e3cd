// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fix_icmp.c - ICMP addressed to a VIP: echo requests answered by the
 * balancer, too-big errors sent on to the backend of the flow they quote,
 * and what is refused of either.
 */
#include "fixture.h"

/* An echo reply from the VIP to the client, MACs swapped, TTL 64. */
#define REPLY4(vip, client, ...)                                              \
	{                                                                     \
		FX_SPEC_DEFAULTS(4, vip, client, 1, 0, 0),                    \
			.dmac = FX_CLIENT_MAC, .smac = FX_LB_MAC, __VA_ARGS__ \
	}
#define REPLY6(vip, client, ...)                                  \
	{                                                         \
		FX_SPEC_DEFAULTS(6, vip, client, 58, 0, 0),       \
			.dmac = FX_CLIENT_MAC, .smac = FX_LB_MAC, \
			.icmp_type = 129, __VA_ARGS__             \
	}

#define ECHO_BAD4(nm, src, ...)                                         \
	{                                                               \
		.name = nm,                                             \
		.in = FX4(src, "203.0.113.10", 1, 0, 0, .icmp_type = 8, \
			  __VA_ARGS__),                                 \
		.action = XDP_DROP, .out = FX_NONE,                     \
		.stat = LB_STAT_DROP_BAD_SOURCE                         \
	}
#define ECHO_BAD6(nm, src, ...)                                              \
	{                                                                    \
		.name = nm,                                                  \
		.in = FX6(src, "2001:db8:f::10", 58, 0, 0, .icmp_type = 128, \
			  __VA_ARGS__),                                      \
		.action = XDP_DROP, .out = FX_NONE,                          \
		.stat = LB_STAT_DROP_BAD_SOURCE                              \
	}
#define GROUP_MAC(b0) .dmac = { b0, 0xff, 0xff, 0xff, 0xff, 0xff }

/* the flow 192.0.2.77:41000 -> 203.0.113.10:80 that an error quotes */
static const struct pkt_spec flow77 =
	FX4("192.0.2.77", "203.0.113.10", 6, 41000, 80);

static void ct_flow77_on_be1(void)
{
	fx_ct_set(&flow77, &v4_tcp, "198.51.100.1", 1);
}

static void ct_flow77_del(void)
{
	fx_ct_del(&flow77);
}

/* the quoted header is IPv6 in an ICMPv4 error, and the other way round */
static void quote_v6_in_v4(struct pkt *p)
{
	p->b[14 + 20 + 8] = 0x65; /* version 6, IHL 5 */
}

static void quote_v4_in_v6(struct pkt *p)
{
	p->b[14 + 40 + 8] = 0x40 | (p->b[14 + 40 + 8] & 0x0f);
}

static const struct fx cases[] = {
	/* echo request to a VIP address: answered by the balancer */
	{ .name = "icmp_v4_echo_reply",
	  .in = FX4("192.0.2.1", "203.0.113.10", 1, 0, 0, .icmp_type = 8,
		    .icmp_rest = 0x00010002, .ttl = 61),
	  .action = XDP_TX,
	  .out = FX_SPEC,
	  .want = REPLY4("203.0.113.10", "192.0.2.1", .icmp_rest = 0x00010002),
	  .stat = LB_STAT_ICMP_ECHO },
	{ .name = "icmp_v4_echo_reply_vlan",
	  .in = FX4("192.0.2.1", "203.0.113.10", 1, 0, 0, .icmp_type = 8,
		    .icmp_rest = 0x00010002, .ttl = 61, .nvlan = 1,
		    .vlan_tci = { 5 }),
	  .action = XDP_TX,
	  .out = FX_SPEC,
	  .want = REPLY4("203.0.113.10", "192.0.2.1", .icmp_rest = 0x00010002,
			 .nvlan = 1, .vlan_tci = { 5 }),
	  .stat = LB_STAT_ICMP_ECHO },
	{ .name = "icmp_v6_echo_reply",
	  .in = FX6("2001:db8:c::1", "2001:db8:f::10", 58, 0, 0,
		    .icmp_type = 128, .icmp_rest = 0x00030004, .ttl = 50),
	  .action = XDP_TX,
	  .out = FX_SPEC,
	  .want = REPLY6("2001:db8:f::10", "2001:db8:c::1",
			 .icmp_rest = 0x00030004),
	  .stat = LB_STAT_ICMP_ECHO },
	/*
	 * An echo whose reply is all zero (id 0, seq 0, zero payload): the
	 * one case where RFC 1624's incremental update yields 0x0000 while
	 * the checksum of the message is 0xffff.  Frame from a randomized
	 * run, the expected reply written out.
	 */
	{ .name = "icmp_v4_echo_all_zero_reply_csum_ffff",
	  .in_hex = "02fa00000002 02cc0a7ee1ec 0800"
		    "45000020a33e400040011381 c613b30e 0afb0001"
		    "0800f7ff00000000 00000000",
	  .action = XDP_TX,
	  .out = FX_HEX,
	  .want_hex = "02cc0a7ee1ec 02fa00000002 0800"
		      "45000020a33e400040011381 0afb0001 c613b30e"
		      "0000ffff00000000 00000000",
	  .stat = LB_STAT_ICMP_ECHO },
	/* the ICMPv6 checksum covers the pseudo-header, never all zero:
	 * the same update is exact there (id 0, seq 0, no payload) */
	{ .name = "icmp_v6_echo_zero_id_seq",
	  .in = FX6("2001:db8:c::1", "2001:db8:f::10", 58, 0, 0,
		    .icmp_type = 128, .payload_len = 0),
	  .action = XDP_TX,
	  .out = FX_SPEC,
	  .want = REPLY6("2001:db8:f::10", "2001:db8:c::1", .payload_len = 0),
	  .stat = LB_STAT_ICMP_ECHO },

	/* no answer to a source that is not one unicast host, nor to a
	 * frame sent to a link-layer group address (the answer would carry
	 * the group address as its source MAC) */
	ECHO_BAD4("icmp_v4_echo_from_broadcast_drop", "255.255.255.255"),
	ECHO_BAD4("icmp_v4_echo_from_multicast_drop", "224.0.0.1"),
	ECHO_BAD4("icmp_v4_echo_from_reserved_drop", "240.0.0.1"),
	ECHO_BAD4("icmp_v4_echo_from_this_network_drop", "0.1.2.3"),
	ECHO_BAD4("icmp_v4_echo_from_loopback_drop", "127.0.0.1"),
	ECHO_BAD4("icmp_v4_echo_to_l2_broadcast_drop", "192.0.2.1",
		  GROUP_MAC(0xff)),
	ECHO_BAD4("icmp_v4_echo_to_l2_multicast_drop", "192.0.2.1",
		  GROUP_MAC(0x01)),
	ECHO_BAD6("icmp_v6_echo_from_unspecified_drop", "::"),
	ECHO_BAD6("icmp_v6_echo_from_loopback_drop", "::1"),
	ECHO_BAD6("icmp_v6_echo_from_multicast_drop", "ff02::1"),
	ECHO_BAD6("icmp_v6_echo_to_l2_multicast_drop", "2001:db8:c::1",
		  GROUP_MAC(0x33)),

	/* echo to a non-VIP address and other ICMP to a VIP: passed */
	{ .name = "icmp_v4_echo_not_vip_pass",
	  .in = FX4("192.0.2.1", "203.0.113.99", 1, 0, 0, .icmp_type = 8),
	  .action = XDP_PASS,
	  .out = FX_SAME,
	  .stat = LB_STAT_PASS },
	{ .name = "icmp_v4_other_type_pass", /* timestamp */
	  .in = FX4("192.0.2.1", "203.0.113.10", 1, 0, 0, .icmp_type = 13),
	  .action = XDP_PASS,
	  .out = FX_SAME,
	  .stat = LB_STAT_PASS },
	{ .name = "icmp_v6_echo_not_vip_pass",
	  .in = FX6("2001:db8:c::1", "2001:db8:f::99", 58, 0, 0,
		    .icmp_type = 128),
	  .action = XDP_PASS,
	  .out = FX_SAME,
	  .stat = LB_STAT_PASS },

	/* too-big about a VIP flow: to the flow's backend, unchanged */
	{ .name = "icmp_v4_frag_needed_to_flow_backend",
	  .err = { 4, "192.0.2.254", "203.0.113.10", "203.0.113.10", 80,
		   "192.0.2.77", 41000, 28 },
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v4_tcp,
	  .backend = "198.51.100.3",
	  .stat = LB_STAT_ICMP_PTB },
	/* a connection-table entry wins over the hash */
	{ .name = "icmp_v4_frag_needed_follows_conntrack",
	  .err = { 4, "192.0.2.254", "203.0.113.10", "203.0.113.10", 80,
		   "192.0.2.77", 41000, 28 },
	  .pre = ct_flow77_on_be1,
	  .post = ct_flow77_del,
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v4_tcp,
	  .backend = "198.51.100.1",
	  .stat = LB_STAT_ICMP_PTB },
	{ .name = "icmp_v6_packet_too_big_to_flow_backend",
	  .err = { 6, "2001:db8:c::fe", "2001:db8:f::10", "2001:db8:f::10", 80,
		   "2001:db8:c::77", 41000, 48 },
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v6_tcp,
	  .backend = "2001:db8:b::2",
	  .stat = LB_STAT_ICMP_PTB },
	/* through an encapsulating VIP the error is tunnelled; the outer
	 * flow label comes from the quoted flow's hash */
	{ .name = "icmp_v6_packet_too_big_encap",
	  .err = { 6, "2001:db8:c::fe", "2001:db8:f::20", "2001:db8:f::20", 443,
		   "2001:db8:c::78", 41001, 48 },
	  .action = XDP_TX,
	  .out = FX_ENCAP,
	  .vip = &v6_encap,
	  .backend = "2001:db8:b::4",
	  .flow_label = 0x0e759,
	  .stat = LB_STAT_ICMP_PTB },
	/* quoting a flow of no VIP: dropped (it was sent to a VIP address) */
	{ .name = "icmp_v4_frag_needed_unknown_vip_drop",
	  .err = { 4, "192.0.2.254", "203.0.113.10", "203.0.113.10", 9999,
		   "192.0.2.77", 41000, 28 },
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_NO_BACKEND },

	/* sent to VIP address A, quoting a flow of VIP B: not A's */
	{ .name = "icmp_v4_too_big_quoting_other_vip_drop",
	  .err = { 4, "192.0.2.254", "203.0.113.10", "203.0.113.20", 8080,
		   "192.0.2.77", 41000, 28 },
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_ICMP_VIP_MISMATCH },
	{ .name = "icmp_v6_too_big_quoting_other_vip_drop",
	  .err = { 6, "2001:db8:c::fe", "2001:db8:f::10", "2001:db8:f::20", 443,
		   "2001:db8:c::77", 41000, 48 },
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_ICMP_VIP_MISMATCH },
	/* the quote is not an IP header of the error's family */
	{ .name = "icmp_v4_too_big_quote_not_ipv4_drop",
	  .err = { 4, "192.0.2.254", "203.0.113.10", "203.0.113.10", 80,
		   "192.0.2.77", 41000, 28 },
	  .edit = quote_v6_in_v4,
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_ICMP_BAD_QUOTE },
	{ .name = "icmp_v6_too_big_quote_not_ipv6_drop",
	  .err = { 6, "2001:db8:c::fe", "2001:db8:f::10", "2001:db8:f::10", 80,
		   "2001:db8:c::77", 41000, 48 },
	  .edit = quote_v4_in_v6,
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_ICMP_BAD_QUOTE },
	/* the datagram ends inside the quoted ports; the frame goes on */
	{ .name = "icmp_v4_too_big_quote_past_ip_length_drop",
	  .err = { 4, "192.0.2.254", "203.0.113.10", "203.0.113.10", 80,
		   "192.0.2.77", 41000, 28 },
	  .l3_len = 20 + 8 + 20 + 2,
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_BAD_LENGTH },
	{ .name = "icmp_v6_too_big_quote_past_ip_length_drop",
	  .err = { 6, "2001:db8:c::fe", "2001:db8:f::10", "2001:db8:f::10", 80,
		   "2001:db8:c::77", 41000, 48 },
	  .l3_len = 40 + 8 + 40 + 2,
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_BAD_LENGTH },
	/* encapsulated, the error would exceed max_pkt_size 1500: the same
	 * MTU check as any forwarded packet (no ICMP about an ICMP error) */
	{ .name = "icmp_v6_too_big_1496_not_encapsulated_past_mtu",
	  .err = { 6, "2001:db8:c::fe", "2001:db8:f::20", "2001:db8:f::20", 443,
		   "2001:db8:c::78", 41001, 1496 - 48 },
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_TOO_BIG },
	{ .name = "icmp_v4_too_big_1481_not_encapsulated_past_mtu",
	  .err = { 4, "192.0.2.254", "203.0.113.20", "203.0.113.20", 8080,
		   "192.0.2.78", 41001, 1481 - 28 },
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_TOO_BIG },
	/* a forwarded error counts for its VIP as for its backend (the
	 * runner checks both counters of every forwarded fixture) */
	{ .name = "icmp_v4_too_big_forwarded_counted",
	  .err = { 4, "192.0.2.254", "203.0.113.10", "203.0.113.10", 80,
		   "192.0.2.80", 41003, 28 },
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v4_tcp,
	  .backend = "198.51.100.1",
	  .stat = LB_STAT_ICMP_PTB },
};

static const struct fx_count counts[] = {
	{ "icmp_echo_counted", LB_STAT_ICMP_ECHO, 5 },
	{ "drop_bad_source_counted", LB_STAT_DROP_BAD_SOURCE, 11 },
	{ "icmp_too_big_counted", LB_STAT_ICMP_PTB, 5 },
	{ "drop_icmp_vip_mismatch_counted", LB_STAT_DROP_ICMP_VIP_MISMATCH, 2 },
	{ "drop_icmp_bad_quote_counted", LB_STAT_DROP_ICMP_BAD_QUOTE, 2 },
	{ "drop_bad_length_counted_for_quote", LB_STAT_DROP_BAD_LENGTH, 2 },
	{ "drop_too_big_counted_for_icmp_error", LB_STAT_DROP_TOO_BIG, 2 },
	/* three errors forwarded to backends of 203.0.113.10:80 */
	{ "icmp_too_big_counts_for_vip_and_backend", LB_STAT_RX, 3, &v4_tcp },
};

FX_TABLE(fix_icmp, cases, counts);

/* An error about a flow of a VIP without backends: dropped, and not
 * counted as forwarded. */
static const struct fx no_backend[] = {
	{ .name = "icmp_v4_too_big_vip_without_backend_drop",
	  .err = { 4, "192.0.2.254", "203.0.113.50", "203.0.113.50", 80,
		   "192.0.2.79", 41002, 28 },
	  .action = XDP_DROP,
	  .out = FX_NONE,
	  .stat = LB_STAT_DROP_NO_BACKEND },
};

static const struct fx_count no_backend_counts[] = {
	{ "icmp_too_big_forwarded_not_counted_when_dropped", LB_STAT_ICMP_PTB,
	  0 },
};

FX_TABLE(fix_icmp_no_backend, no_backend, no_backend_counts);
