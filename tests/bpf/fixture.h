/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fixture.h - the datapath fixtures as tables.
 *
 * A fixture names its input (a packet spec, a hex string, or an ICMP error
 * quoting a flow), the XDP action it must get, and what must come out,
 * down to the backend: written as a literal address (and, for an IPv6
 * outer header, the literal flow label), never recomputed with the hash
 * and Maglev code under test.  Output packets are built by pkt.c, which
 * computes every length and checksum from scratch.  One runner loop
 * (test_datapath.c) runs the tables of the fix_*.c files in order; a
 * fixture that needs state (a connection-table entry, a backend marked
 * down, another Maglev table) says so with a pre hook, and undoes it in
 * post or in a later fixture.
 */
#ifndef LB_TEST_FIXTURE_H
#define LB_TEST_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <linux/bpf.h> /* XDP_* actions */

#include "dpsetup.h"

/* Designated initializers below set defaults that a fixture may
 * override (FX4/FX6): that is what -Woverride-init would flag; and table
 * rows leave the fields they do not need zero. */
#pragma GCC diagnostic ignored "-Woverride-init"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

extern struct tvip v4_tcp, v4_udp, v4_udp_all, v4_all, v4_in_v6, v4_src,
	v4_empty, v6_tcp, v6_encap, v6_udp, v4_ten, v4_weighted, v4_vlan_encap,
	v6_in_v4, v4_lab, v4_keep, v4_rehash, v6_keep;

/* What must come out of the program. */
enum fx_out {
	FX_SAME, /* the input, unchanged (XDP_PASS) */
	FX_NONE, /* nothing compared (XDP_DROP) */
	FX_DSR, /* the input with MACs: backend's, balancer's */
	FX_ENCAP, /* an outer header to the backend in front of the input */
	FX_SPEC, /* the packet built from .want (echo replies) */
	FX_TOO_BIG, /* the ICMP error to the sender: .mtu, .quote bytes */
	FX_HEX, /* the bytes of .want_hex */
	FX_DECAP, /* through the decap program: the inner packet */
	FX_TRUNCATE, /* the input cut at every length: PASS below
			.trunc_min, DROP (drop_truncated) from there on */
};

/* An ICMP too-big sent to outer_dst, quoting quote bytes of the reply
 * vip:vport -> client:cport (TCP ACK). */
struct fx_icmp_err {
	int family;
	const char *router, *outer_dst, *vip;
	uint16_t vport;
	const char *client;
	uint16_t cport;
	size_t quote;
};

/* Encapsulated input for the decap program. */
struct fx_tunnel {
	int outer_family;
	const char *outer_dst;
	size_t cut; /* cut the result to this length (0 = whole) */
};

enum fx_prog { FX_PROG_LB = 0, FX_PROG_DECAP };

struct fx {
	const char *name;
	/* input: in_hex, else err.family set, else the spec (with tunnel) */
	struct pkt_spec in;
	const char *in_hex;
	struct fx_icmp_err err;
	struct fx_tunnel tunnel;
	enum fx_prog prog;
	/* set the IP length field (IPv4 total, IPv6 40 + payload) to this,
	 * keeping the frame's bytes; pad the frame to at least 60 */
	uint16_t l3_len;
	void (*edit)(struct pkt *p); /* any other change to the input */
	void (*pre)(void); /* state before the run */
	void (*post)(void); /* state after it */
	/* expected */
	int action;
	enum fx_out out;
	struct tvip *vip; /* FX_DSR / FX_ENCAP: the VIP of ... */
	const char *backend; /* ... this backend (golden) */
	uint32_t flow_label; /* FX_ENCAP to IPv6: the outer label (golden) */
	struct pkt_spec want; /* FX_SPEC */
	const char *want_hex; /* FX_HEX */
	uint32_t mtu; /* FX_TOO_BIG */
	size_t quote;
	size_t trunc_min; /* FX_TRUNCATE */
	/* a global counter that must grow by exactly 1 packet (the outcome
	 * or another counter of this packet; LB_STAT_RX = not checked) */
	enum lb_stat stat;
};

/* A group check after a table: a global counter grew by delta over it;
 * or, with vip set, the VIP's packet counter and the sum of its backends'
 * both grew by delta. */
struct fx_count {
	const char *name;
	enum lb_stat stat;
	uint64_t delta;
	struct tvip *vip;
};

struct fx_table {
	const char *name;
	const struct fx *cases;
	size_t n;
	const struct fx_count *counts;
	size_t ncounts;
};

#define FX_TABLE(nm, c, k)                                                \
	const struct fx_table nm = { #nm, c, sizeof(c) / sizeof(c[0]), k, \
				     sizeof(k) / sizeof(k[0]) }
#define FX_TABLE_NOCOUNT(nm, c) \
	const struct fx_table nm = { #nm, c, sizeof(c) / sizeof(c[0]), NULL, 0 }

extern const struct fx_table fix_v4, fix_v6, fix_icmp, fix_too_big_sent,
	fix_malformed, fix_truncated, fix_conntrack, fix_decap,
	fix_icmp_no_backend, fix_ondown;

/* Input specs: defaults of every fixture (client -> VIP, payload "hello,
 * balancer", SYN for TCP); later initializers override them. */
#define FX_SPEC_DEFAULTS(fam, s, d, pr, sp, dp_)                           \
	.family = fam, .dmac = FX_LB_MAC, .smac = FX_CLIENT_MAC, .src = s, \
	.dst = d, .proto = pr, .sport = sp, .dport = dp_,                  \
	.tcp_flags = (pr) == 6 ? 0x02 : 0, .payload = "hello, balancer",   \
	.payload_len = 15
#define FX4(s, d, pr, sp, dp_, ...)                                 \
	{                                                           \
		FX_SPEC_DEFAULTS(4, s, d, pr, sp, dp_), __VA_ARGS__ \
	}
#define FX6(s, d, pr, sp, dp_, ...)                                 \
	{                                                           \
		FX_SPEC_DEFAULTS(6, s, d, pr, sp, dp_), __VA_ARGS__ \
	}

/* payload bytes that differ from their neighbours (quotes are checkable) */
extern uint8_t pattern[PKT_MAX];

/* A TCP ACK or UDP datagram of exactly l3 bytes, IPv4 with DF. */
#define FX_BIG(fam, s, d, pr, dp_, l3, ...)                                  \
	{                                                                    \
		FX_SPEC_DEFAULTS(fam, s, d, pr, 41000, dp_),                 \
			.tcp_flags = (pr) == 6 ? 0x10 : 0,                   \
			.frag = (fam) == 4 ? 0x4000 : 0, .payload = pattern, \
			.payload_len = (l3) - ((fam) == 4 ? 20 : 40) -       \
				       ((pr) == 6 ? 20 : 8),                 \
			__VA_ARGS__                                          \
	}

/* Shared with the fix_*.c files (test_datapath.c). */
uint32_t fx_be_id(struct tvip *v, const char *addr); /* 0 if none */
int fx_write_backend(struct tvip *v, const char *addr, uint8_t flags,
		     uint32_t gen);
/* Checks that are no packet fixture: distribution, counters (fix_stats.c) */
void fx_stats_tests(void);
/* Map layouts read byte for byte, a SYN flood (fix_layout.c) */
void fx_layout_tests(uint32_t ct_size);
/* The VIP index: slots against lb_vips (fix_vipslots.c) */
void fx_vip_slot_tests(void);
/* Zero a backend's entry, as lbd does when it is deleted. */
int fx_delete_backend(struct tvip *v, const char *addr);
/* Give only the backend at addr a weight (NULL: the configured weights)
 * and install the VIP's table. */
int fx_only_backend(struct tvip *v, const char *addr);
int fx_ct_set(const struct pkt_spec *flow, struct tvip *v, const char *addr,
	      uint32_t gen);
int fx_ct_del(const struct pkt_spec *flow);

#endif /* LB_TEST_FIXTURE_H */
