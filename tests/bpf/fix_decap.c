// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fix_decap.c - the backend-side decap program: a tunnel packet for one of
 * its addresses (198.51.100.1, 2001:db8:b::1) leaves as the inner packet,
 * L2 header and VLAN tags kept; anything else passes untouched.
 */
#include "fixture.h"

#define DECAP(nm, in_, ofam, odst)                               \
	{                                                        \
		.name = nm, .prog = FX_PROG_DECAP, .in = in_,    \
		.tunnel = { ofam, odst, 0 }, .action = XDP_PASS, \
		.out = FX_DECAP                                  \
	}
#define INNER4(nv)                                                  \
	FX4("192.0.2.1", "203.0.113.10", 6, 40000, 80, .nvlan = nv, \
	    .vlan_tci = { 11, 12 })
#define INNER6(nv)                                                        \
	FX6("2001:db8:c::1", "2001:db8:f::10", 6, 40000, 80, .nvlan = nv, \
	    .vlan_tci = { 11, 12 })

static const struct fx cases[] = {
	DECAP("decap_ipip", INNER4(0), 4, "198.51.100.1"),
	DECAP("decap_ipip_qinq", INNER4(2), 4, "198.51.100.1"),
	DECAP("decap_ip6ip6", INNER6(0), 6, "2001:db8:b::1"),
	DECAP("decap_4in6", INNER4(0), 6, "2001:db8:b::1"),
	DECAP("decap_4in6_vlan", INNER4(1), 6, "2001:db8:b::1"),
	DECAP("decap_ip6ip6_qinq", INNER6(2), 6, "2001:db8:b::1"),
	/* a tunnel packet for another host, and plain traffic: untouched */
	{ .name = "decap_other_host_pass",
	  .prog = FX_PROG_DECAP,
	  .in = INNER4(0),
	  .tunnel = { 4, "198.51.100.2", 0 },
	  .action = XDP_PASS,
	  .out = FX_SAME },
	{ .name = "decap_plain_pass",
	  .prog = FX_PROG_DECAP,
	  .in = INNER4(0),
	  .action = XDP_PASS,
	  .out = FX_SAME },
	/* outer header but no inner one */
	{ .name = "decap_truncated_drop",
	  .prog = FX_PROG_DECAP,
	  .in = INNER4(0),
	  .tunnel = { 4, "198.51.100.1", 14 + 20 + 10 },
	  .action = XDP_DROP,
	  .out = FX_NONE },
};

FX_TABLE_NOCOUNT(fix_decap, cases);
