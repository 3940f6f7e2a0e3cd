// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fix_conntrack.c - the connection table, as a sequence: each fixture's
 * pre hook changes the state (Maglev table, backend entries) that the
 * next packets meet.  X = 198.51.100.2, the backend the table gives the
 * flow 192.0.2.100:42000 -> 203.0.113.10:80; Y = 198.51.100.1.
 */
#include "fixture.h"

#define X "198.51.100.2"
#define Y "198.51.100.1"
#define UX "198.51.100.1" /* the UDP flow's backend */
#define UY "198.51.100.2"

static void table_y_only(void)
{
	fx_only_backend(&v4_tcp, Y);
}

static void table_x_only(void)
{
	fx_only_backend(&v4_tcp, X);
}

static void udp_table_uy_only(void)
{
	fx_only_backend(&v4_udp, UY);
}

static void udp_table_restore(void)
{
	fx_only_backend(&v4_udp, NULL);
}

static void x_down(void)
{
	fx_write_backend(&v4_tcp, X, 0, 1);
}

static void x_up(void)
{
	fx_write_backend(&v4_tcp, X, LB_BE_F_USABLE, 1);
}

/* Y's id given to a new backend (generation 2); the table names X only */
static void y_reassigned(void)
{
	fx_write_backend(&v4_tcp, Y, LB_BE_F_USABLE, 2);
	fx_only_backend(&v4_tcp, X);
}

static void restore(void)
{
	fx_write_backend(&v4_tcp, Y, LB_BE_F_USABLE, 1);
	fx_only_backend(&v4_tcp, NULL);
}

#define SYN 0x02
#define ACK 0x10
/* a TCP packet from src:sport to the VIP 203.0.113.10:80, sent to be by
 * L2 DSR, after the state change pre */
#define CT_TCP(name_, src, sport, flags, pre_, be, stat_)                     \
	{                                                                     \
		.name = name_,                                                \
		.in = FX4(src, "203.0.113.10", 6, sport, 80,                  \
			  .tcp_flags = flags),                                \
		.pre = pre_, .action = XDP_TX, .out = FX_DSR, .vip = &v4_tcp, \
		.backend = be, .stat = stat_                                  \
	}

static const struct fx cases[] = {
	/* a SYN picks X from the table, and is not remembered... */
	{ .name = "conntrack_syn_picks_table_backend",
	  .in = FX4("192.0.2.100", "203.0.113.10", 6, 42000, 80),
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v4_tcp,
	  .backend = X,
	  .stat = LB_STAT_CT_MISS },
	/* ...the flow's first packet that is not a SYN is */
	CT_TCP("conntrack_first_non_syn_remembered", "192.0.2.100", 42000, ACK,
	       NULL, X, LB_STAT_CT_MISS),
	/* the table changes so that the flow's slot now names Y */
	{ .name = "conntrack_keeps_flow_after_table_change",
	  .in = FX4("192.0.2.100", "203.0.113.10", 6, 42000, 80,
		    .tcp_flags = 0x10),
	  .pre = table_y_only,
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v4_tcp,
	  .backend = X,
	  .stat = LB_STAT_CT_HIT },
	/* a SYN flood leaves the table alone: a SYN on Y, then the table
	 * names X only, and the flow's ACK is a miss that goes to X */
	CT_TCP("conntrack_syn_not_remembered", "192.0.2.104", 42004, SYN, NULL,
	       Y, LB_STAT_CT_MISS),
	CT_TCP("conntrack_syn_left_no_entry", "192.0.2.104", 42004, ACK,
	       table_x_only, X, LB_STAT_CT_MISS),
	/* that flow is now remembered on X; a new connection on the same
	 * ports (a SYN) when the table names Y re-points the entry, so that
	 * its ACK follows the SYN to Y even once the table names X again */
	CT_TCP("conntrack_syn_of_reused_ports_follows_table", "192.0.2.104",
	       42004, SYN, table_y_only, Y, LB_STAT_CT_MISS),
	CT_TCP("conntrack_reused_ports_ack_follows_syn", "192.0.2.104", 42004,
	       ACK, table_x_only, Y, LB_STAT_CT_HIT),
	/* a new connection (SYN) of another flow follows the new table */
	{ .name = "conntrack_new_flow_follows_new_table",
	  .in = FX4("192.0.2.101", "203.0.113.10", 6, 42001, 80),
	  .pre = table_y_only,
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v4_tcp,
	  .backend = Y,
	  .stat = LB_STAT_CT_MISS },
	/* UDP uses the connection table too */
	{ .name = "conntrack_udp_first_packet",
	  .in = FX4("192.0.2.102", "203.0.113.10", 17, 7000, 53),
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v4_udp,
	  .backend = UX,
	  .stat = LB_STAT_CT_MISS },
	{ .name = "conntrack_udp_keeps_backend",
	  .in = FX4("192.0.2.102", "203.0.113.10", 17, 7000, 53),
	  .pre = udp_table_uy_only,
	  .post = udp_table_restore,
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v4_udp,
	  .backend = UX,
	  .stat = LB_STAT_CT_HIT },
	/* X goes down: its flow is re-hashed onto the table, not dropped */
	{ .name = "conntrack_down_backend_rehashed",
	  .in = FX4("192.0.2.100", "203.0.113.10", 6, 42000, 80,
		    .tcp_flags = 0x10),
	  .pre = x_down,
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v4_tcp,
	  .backend = Y,
	  .stat = LB_STAT_CT_STALE },
	/* ...and remembered on Y from then on */
	{ .name = "conntrack_rehashed_flow_stays",
	  .in = FX4("192.0.2.100", "203.0.113.10", 6, 42000, 80,
		    .tcp_flags = 0x10),
	  .pre = x_up,
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v4_tcp,
	  .backend = Y,
	  .stat = LB_STAT_CT_HIT },
	/* a flow first seen on a non-SYN packet is remembered too */
	{ .name = "conntrack_learn_on_non_syn",
	  .in = FX4("192.0.2.103", "203.0.113.10", 6, 42003, 80,
		    .tcp_flags = 0x10),
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v4_tcp,
	  .backend = Y,
	  .stat = LB_STAT_CT_MISS },
	/* an id re-assigned to another backend (new generation): re-hashed */
	{ .name = "conntrack_reassigned_id_rehashed",
	  .in = FX4("192.0.2.103", "203.0.113.10", 6, 42003, 80,
		    .tcp_flags = 0x10),
	  .pre = y_reassigned,
	  .post = restore,
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v4_tcp,
	  .backend = X,
	  .stat = LB_STAT_CT_STALE },
};

static const struct fx_count counts[] = {
	{ "conntrack_hit_counted", LB_STAT_CT_HIT, 4 },
	{ "conntrack_stale_counted", LB_STAT_CT_STALE, 2 },
};

FX_TABLE(fix_conntrack, cases, counts);

/*
 * A backend that fails its health check: lbd takes it out of the Maglev
 * table and marks its entry LB_BE_F_HEALTH_DOWN.  On a VIP with
 * LB_VIP_F_ON_DOWN_KEEP (--on-down keep) the flows remembered on it stay;
 * on another they move.  New flows avoid it either way, and a deleted
 * backend's flows always move.  KX/KY: the backends of 203.0.113.90:80,
 * KX the one the table gives 192.0.2.110:44000; RX/RY: of 203.0.113.91:80.
 */
#define KX "198.51.100.41"
#define KY "198.51.100.42"
#define RX "198.51.100.44"
#define RY "198.51.100.43"
#define K6X "2001:db8:b::42"
#define K6Y "2001:db8:b::41"

static void kx_health_down(void)
{
	fx_write_backend(&v4_keep, KX, LB_BE_F_HEALTH_DOWN, 1);
	fx_only_backend(&v4_keep, KY);
}

static void kx_deleted(void)
{
	fx_delete_backend(&v4_keep, KX);
}

static void keep_restore(void)
{
	fx_write_backend(&v4_keep, KX, LB_BE_F_USABLE, 1);
	fx_only_backend(&v4_keep, NULL);
}

static void rx_health_down(void)
{
	fx_write_backend(&v4_rehash, RX, LB_BE_F_HEALTH_DOWN, 1);
	fx_only_backend(&v4_rehash, RY);
}

static void rehash_restore(void)
{
	fx_write_backend(&v4_rehash, RX, LB_BE_F_USABLE, 1);
	fx_only_backend(&v4_rehash, NULL);
}

static void k6x_health_down(void)
{
	fx_write_backend(&v6_keep, K6X, LB_BE_F_HEALTH_DOWN, 1);
	fx_only_backend(&v6_keep, K6Y);
}

static void keep6_restore(void)
{
	fx_write_backend(&v6_keep, K6X, LB_BE_F_USABLE, 1);
	fx_only_backend(&v6_keep, NULL);
}

#define KEEP_FLOW(...) \
	FX4("192.0.2.110", "203.0.113.90", 6, 44000, 80, __VA_ARGS__)

static const struct fx ondown[] = {
	/* the flow's first packet after its SYN: the one that is remembered */
	{ .name = "ondown_keep_first_packet",
	  .in = KEEP_FLOW(.tcp_flags = 0x10),
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v4_keep,
	  .backend = KX,
	  .stat = LB_STAT_CT_MISS },
	{ .name = "ondown_keep_flow_stays_on_down_backend",
	  .in = KEEP_FLOW(.tcp_flags = 0x10),
	  .pre = kx_health_down,
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v4_keep,
	  .backend = KX,
	  .stat = LB_STAT_CT_HIT },
	/* an ICMP error about the kept flow goes where the flow goes */
	{ .name = "ondown_keep_icmp_too_big_follows_flow",
	  .err = { 4, "192.0.2.254", "203.0.113.90", "203.0.113.90", 80,
		   "192.0.2.110", 44000, 28 },
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v4_keep,
	  .backend = KX,
	  .stat = LB_STAT_ICMP_PTB },
	{ .name = "ondown_keep_new_flow_avoids_down_backend",
	  .in = FX4("192.0.2.111", "203.0.113.90", 6, 44001, 80),
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v4_keep,
	  .backend = KY,
	  .stat = LB_STAT_CT_MISS },
	/* deleted: the entry is gone, the flow moves */
	{ .name = "ondown_keep_deleted_backend_rehashed",
	  .in = KEEP_FLOW(.tcp_flags = 0x10),
	  .pre = kx_deleted,
	  .post = keep_restore,
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v4_keep,
	  .backend = KY,
	  .stat = LB_STAT_CT_STALE },

	{ .name = "ondown_rehash_first_packet",
	  .in = FX4("192.0.2.120", "203.0.113.91", 6, 45000, 80,
		    .tcp_flags = 0x10),
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v4_rehash,
	  .backend = RX,
	  .stat = LB_STAT_CT_MISS },
	{ .name = "ondown_rehash_flow_moves_off_down_backend",
	  .in = FX4("192.0.2.120", "203.0.113.91", 6, 45000, 80,
		    .tcp_flags = 0x10),
	  .pre = rx_health_down,
	  .post = rehash_restore,
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v4_rehash,
	  .backend = RY,
	  .stat = LB_STAT_CT_STALE },

	{ .name = "ondown_keep_v6_first_packet",
	  .in = FX6("2001:db8:c::110", "2001:db8:f::90", 6, 44000, 80,
		    .tcp_flags = 0x10),
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v6_keep,
	  .backend = K6X,
	  .stat = LB_STAT_CT_MISS },
	{ .name = "ondown_keep_v6_flow_stays_on_down_backend",
	  .in = FX6("2001:db8:c::110", "2001:db8:f::90", 6, 44000, 80,
		    .tcp_flags = 0x10),
	  .pre = k6x_health_down,
	  .post = keep6_restore,
	  .action = XDP_TX,
	  .out = FX_DSR,
	  .vip = &v6_keep,
	  .backend = K6X,
	  .stat = LB_STAT_CT_HIT },
};

FX_TABLE_NOCOUNT(fix_ondown, ondown);
