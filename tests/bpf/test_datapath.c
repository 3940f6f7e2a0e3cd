// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_datapath.c - packet fixtures for the XDP programs.
 *
 * Each case builds an input packet, runs it through the real program with
 * BPF_PROG_TEST_RUN, and compares the XDP action and the output packet byte
 * for byte with an expected packet built independently by tests/bpf/pkt.c.
 * The expected backend of a flow is computed in user space from the shared
 * flow hash and the Maglev table the test installed, so the fixtures also
 * pin down that `lbctl explain` (same code) agrees with the datapath.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "harness.h"
#include "pkt.h"
#include "dp.h"
#include "maglev.h"
#include "lb_abi.h"
#include "lb_hash.h"
#include "lb.skel.h"
#include "decap.skel.h"

#define SEED 0x1234abcd5678ef01ULL
#define CT_SIZE 262144

static const uint8_t LB_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t CLIENT_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0xaa };
static const char *ENCAP_SRC4 = "198.51.100.254";
static const char *ENCAP_SRC6 = "2001:db8:b::fe";

static struct lb *skel;
static struct lb_dp dp;
static int prog_fd;

/* ---------------------------------------------------------------- VIPs */

#define MAX_TBE 16

struct tbe {
	const char *addr;
	uint32_t weight;
	uint32_t id; /* assigned */
};

struct tvip {
	const char *addr;
	uint16_t port;
	uint8_t proto;
	uint32_t flags;
	uint32_t size;
	int nbe;
	struct tbe be[MAX_TBE];
	uint32_t id; /* assigned */
	uint32_t *table; /* what the datapath has */
};

static uint32_t next_vip_id, next_be_id = 1;

static void be_mac(uint32_t id, uint8_t mac[6])
{
	uint8_t m[6] = { 0x02, 0xbe, 0, 0, (uint8_t)(id >> 8), (uint8_t)id };

	memcpy(mac, m, 6);
}

static int family_of(const char *a)
{
	uint8_t b[16];

	return pkt_addr(a, b);
}

static void addr_of(const char *a, union lb_addr *out)
{
	memset(out, 0, sizeof(*out));
	pkt_addr(a, out->bytes);
}

static int write_backend(uint32_t id, const char *addr, uint32_t vip_id,
			 uint8_t flags, uint32_t gen)
{
	struct lb_backend b = {};

	addr_of(addr, &b.addr);
	b.family = family_of(addr) == 4 ? LB_FAMILY_V4 : LB_FAMILY_V6;
	be_mac(id, b.mac);
	b.flags = flags;
	b.gen = gen;
	b.vip_id = vip_id;
	return bpf_map_update_elem(dp.backends, &id, &b, BPF_ANY);
}

/* Build and install v's table from the backends with weight > 0. */
static int install_table(struct tvip *v)
{
	struct maglev_backend mb[MAX_TBE];
	int err;

	for (int i = 0; i < v->nbe; i++) {
		union lb_addr a;

		addr_of(v->be[i].addr, &a);
		mb[i].id = v->be[i].id;
		mb[i].weight = v->be[i].weight;
		mb[i].key = maglev_key(&a, sizeof(a));
	}
	err = maglev_build(mb, v->nbe, v->table, v->size);
	if (!err)
		err = lb_dp_install_table(&dp, v->id, v->table, v->size);
	return err;
}

static int add_vip(struct tvip *v)
{
	struct lb_vip_key k = {};
	struct lb_vip val = {};
	struct lb_addr_key ak = {};
	struct lb_vip_addr av = { 0 };
	int fam = family_of(v->addr) == 4 ? LB_FAMILY_V4 : LB_FAMILY_V6;

	if (!v->size)
		v->size = LB_MAGLEV_DEFAULT_SIZE;
	v->id = next_vip_id++;
	v->table = calloc(v->size, sizeof(uint32_t));
	for (int i = 0; i < v->nbe; i++) {
		v->be[i].id = next_be_id++;
		if (write_backend(v->be[i].id, v->be[i].addr, v->id,
				  LB_BE_F_USABLE, 1))
			return -errno;
	}
	if (install_table(v))
		return -1;
	addr_of(v->addr, &k.addr);
	k.port = htons(v->port);
	k.proto = v->proto;
	k.family = fam;
	val.vip_id = v->id;
	val.flags = v->flags;
	val.table_size = v->size;
	if (bpf_map_update_elem(dp.vips, &k, &val, BPF_ANY))
		return -errno;
	ak.addr = k.addr;
	ak.family = fam;
	bpf_map_lookup_elem(dp.vip_addrs, &ak, &av);
	av.vip_count++;
	return bpf_map_update_elem(dp.vip_addrs, &ak, &av, BPF_ANY) ? -errno :
								      0;
}

static struct tbe *be_by_id(struct tvip *v, uint32_t id)
{
	for (int i = 0; i < v->nbe; i++)
		if (v->be[i].id == id)
			return &v->be[i];
	return NULL;
}

/* The flow as the datapath keys it. */
static void flow_of(const struct pkt_spec *s, struct lb_flow *f)
{
	memset(f, 0, sizeof(*f));
	addr_of(s->src, &f->src);
	addr_of(s->dst, &f->dst);
	f->family = s->family == 4 ? LB_FAMILY_V4 : LB_FAMILY_V6;
	f->proto = s->proto;
	f->sport = htons(s->sport);
	f->dport = htons(s->dport);
}

static uint32_t flow_hash(const struct tvip *v, const struct lb_flow *f)
{
	return lb_hash_flow(f, SEED, !!(v->flags & LB_VIP_F_HASH_SRC));
}

/* The backend the Maglev table gives a flow (no connection table). */
static uint32_t table_choice(const struct tvip *v, const struct pkt_spec *s)
{
	struct lb_flow f;

	flow_of(s, &f);
	return v->table[lb_hash_slot(flow_hash(v, &f), v->size)];
}

/* ---------------------------------------------------------------- running */

static int run(int fd, const struct pkt *in, struct pkt *out)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->b,
		    .data_size_in = (uint32_t)in->len, .data_out = out->b,
		    .data_size_out = sizeof(out->b), .repeat = 1);
	int err;

	memset(out, 0, sizeof(*out));
	err = bpf_prog_test_run_opts(fd, &o);
	if (err)
		return -errno;
	out->len = o.data_size_out;
	return (int)o.retval;
}

static const char *action_name(int a)
{
	static const char *n[] = { "ABORTED", "DROP", "PASS", "TX",
				   "REDIRECT" };
	static char buf[32];

	if (a >= 0 && a < 5)
		return n[a];
	snprintf(buf, sizeof(buf), "error %d", a);
	return buf;
}

/* One fixture: action and, unless dropped, the output bytes. */
static int expect_fd(int fd, const char *name, const struct pkt *in, int action,
		     const struct pkt *want)
{
	struct pkt out;
	char diff[160];
	int got = run(fd, in, &out);

	if (got != action) {
		t_fail(name, "action %s, want %s", action_name(got),
		       action_name(action));
		return 0;
	}
	if (action != XDP_DROP) {
		if (!want)
			want = in;
		if (*pkt_diff(&out, want, diff, sizeof(diff))) {
			t_fail(name, "output differs: %s", diff);
			return 0;
		}
	}
	t_pass(name);
	return 1;
}

static int expect(const char *name, const struct pkt *in, int action,
		  const struct pkt *want)
{
	return expect_fd(prog_fd, name, in, action, want);
}

/* Expected L2 DSR output: the same packet, MACs rewritten. */
static void want_dsr(const struct pkt *in, uint32_t be_id, struct pkt *w)
{
	*w = *in;
	be_mac(be_id, w->b);
	memcpy(w->b + 6, LB_MAC, 6);
}

static void want_encap(const struct tvip *v, const struct pkt_spec *s,
		       const struct pkt *in, uint32_t be_id, struct pkt *w)
{
	struct tvip *vv = (struct tvip *)v;
	struct tbe *b = be_by_id(vv, be_id);
	int ofam = family_of(b->addr);
	uint8_t mac[6];
	struct lb_flow f;

	flow_of(s, &f);
	be_mac(be_id, mac);
	pkt_encap(in, 14 + 4 * s->nvlan, ofam,
		  ofam == 4 ? ENCAP_SRC4 : ENCAP_SRC6, b->addr, mac, LB_MAC,
		  s->tos, flow_hash(v, &f), w);
}

static uint64_t stat(enum lb_stat idx)
{
	struct lb_counter c;

	lb_dp_counter(dp.stats, idx, &c);
	return c.packets;
}

static void spec_init(struct pkt_spec *s, int family, const char *src,
		      const char *dst, uint8_t proto, uint16_t sport,
		      uint16_t dport)
{
	memset(s, 0, sizeof(*s));
	s->family = family;
	memcpy(s->dmac, LB_MAC, 6);
	memcpy(s->smac, CLIENT_MAC, 6);
	s->src = src;
	s->dst = dst;
	s->proto = proto;
	s->sport = sport;
	s->dport = dport;
	s->tcp_flags = proto == 6 ? 0x02 : 0;
	s->payload = "hello, balancer";
	s->payload_len = 15;
}

/* ---------------------------------------------------------------- VIP set */

static struct tvip v4_tcp = {
	.addr = "203.0.113.10",
	.port = 80,
	.proto = 6,
	.nbe = 3,
	.be = { { "198.51.100.1", 1 },
		{ "198.51.100.2", 1 },
		{ "198.51.100.3", 1 } },
};
static struct tvip v4_udp = {
	.addr = "203.0.113.10",
	.port = 53,
	.proto = 17,
	.size = 251,
	.nbe = 2,
	.be = { { "198.51.100.1", 1 }, { "198.51.100.2", 1 } },
};
static struct tvip v4_udp_all = {
	/* same address, all other UDP ports */
	.addr = "203.0.113.10",
	.port = 0,
	.proto = 17,
	.size = 251,
	.flags = LB_VIP_F_ENCAP,
	.nbe = 1,
	.be = { { "198.51.100.9", 1 } },
};
static struct tvip v4_all = {
	.addr = "203.0.113.20",
	.port = 0,
	.proto = 6,
	.size = 1021,
	.flags = LB_VIP_F_ENCAP,
	.nbe = 2,
	.be = { { "198.51.100.4", 1 }, { "198.51.100.5", 1 } },
};
static struct tvip v4_in_v6 = {
	.addr = "203.0.113.30",
	.port = 80,
	.proto = 6,
	.size = 1021,
	.flags = LB_VIP_F_ENCAP,
	.nbe = 2,
	.be = { { "2001:db8:b::4", 1 }, { "2001:db8:b::5", 1 } },
};
static struct tvip v4_src = {
	.addr = "203.0.113.40",
	.port = 80,
	.proto = 6,
	.size = 1021,
	.flags = LB_VIP_F_HASH_SRC,
	.nbe = 3,
	.be = { { "198.51.100.1", 1 },
		{ "198.51.100.2", 1 },
		{ "198.51.100.3", 1 } },
};
static struct tvip v4_empty = {
	.addr = "203.0.113.50",
	.port = 80,
	.proto = 6,
	.size = 251,
	.nbe = 1,
	.be = { { "198.51.100.1", 0 } }, /* weight 0: no entry */
};
static struct tvip v6_tcp = {
	.addr = "2001:db8:f::10",
	.port = 80,
	.proto = 6,
	.nbe = 3,
	.be = { { "2001:db8:b::1", 1 },
		{ "2001:db8:b::2", 1 },
		{ "2001:db8:b::3", 1 } },
};
static struct tvip v6_encap = {
	.addr = "2001:db8:f::20",
	.port = 443,
	.proto = 6,
	.size = 1021,
	.flags = LB_VIP_F_ENCAP,
	.nbe = 2,
	.be = { { "2001:db8:b::4", 1 }, { "2001:db8:b::5", 1 } },
};
static struct tvip v6_udp = {
	.addr = "2001:db8:f::10",
	.port = 53,
	.proto = 17,
	.size = 251,
	.nbe = 2,
	.be = { { "2001:db8:b::1", 1 }, { "2001:db8:b::2", 1 } },
};
static struct tvip v4_ten = {
	/* distribution: 10 equal backends */
	.addr = "203.0.113.60",
	.port = 80,
	.proto = 6,
	.nbe = 10,
	.be = { { "198.51.100.11", 1 },
		{ "198.51.100.12", 1 },
		{ "198.51.100.13", 1 },
		{ "198.51.100.14", 1 },
		{ "198.51.100.15", 1 },
		{ "198.51.100.16", 1 },
		{ "198.51.100.17", 1 },
		{ "198.51.100.18", 1 },
		{ "198.51.100.19", 1 },
		{ "198.51.100.20", 1 } },
};
static struct tvip v4_weighted = {
	/* distribution: weights 1:2:3 */
	.addr = "203.0.113.70",
	.port = 80,
	.proto = 6,
	.nbe = 3,
	.be = { { "198.51.100.21", 1 },
		{ "198.51.100.22", 2 },
		{ "198.51.100.23", 3 } },
};
static struct tvip v4_vlan_encap = {
	.addr = "203.0.113.80",
	.port = 80,
	.proto = 6,
	.size = 251,
	.flags = LB_VIP_F_ENCAP,
	.nbe = 1,
	.be = { { "198.51.100.30", 1 } },
};

static struct tvip v6_in_v4 = {
	/* not configurable through lbd: the datapath must refuse it too */
	.addr = "2001:db8:f::30",
	.port = 80,
	.proto = 6,
	.size = 251,
	.flags = LB_VIP_F_ENCAP,
	.nbe = 1,
	.be = { { "198.51.100.31", 1 } },
};

static struct tvip v4_lab = {
	/* the address of the randomized packet runs that found defects */
	.addr = "10.251.0.1", .port = 80, .proto = 6,
	.size = 251,	      .nbe = 1,	  .be = { { "198.51.100.40", 1 } },
};

static struct tvip *all_vips[] = {
	&v4_tcp, &v4_udp,      &v4_udp_all,    &v4_all,	  &v4_in_v6,
	&v4_src, &v4_empty,    &v6_tcp,	       &v6_encap, &v6_udp,
	&v4_ten, &v4_weighted, &v4_vlan_encap, &v6_in_v4, &v4_lab,
};

static int setup(void)
{
	struct lb_config cfg = {};
	uint32_t zero = 0;
	int err;

	skel = lb__open();
	if (!skel)
		return -errno;
	bpf_map__set_max_entries(skel->maps.lb_conntrack, CT_SIZE);
	err = lb__load(skel);
	if (err)
		return err;
	prog_fd = bpf_program__fd(skel->progs.lb_xdp);
	dp.vips = bpf_map__fd(skel->maps.lb_vips);
	dp.vip_addrs = bpf_map__fd(skel->maps.lb_vip_addrs);
	dp.backends = bpf_map__fd(skel->maps.lb_backends);
	dp.maglev = bpf_map__fd(skel->maps.lb_maglev);
	dp.conntrack = bpf_map__fd(skel->maps.lb_conntrack);
	dp.config = bpf_map__fd(skel->maps.lb_config);
	dp.stats = bpf_map__fd(skel->maps.lb_stats);
	dp.vip_stats = bpf_map__fd(skel->maps.lb_vip_stats);
	dp.backend_stats = bpf_map__fd(skel->maps.lb_backend_stats);

	cfg.hash_seed = SEED;
	memcpy(cfg.src_mac, LB_MAC, 6);
	inet_pton(AF_INET, ENCAP_SRC4, &cfg.encap_src_v4);
	inet_pton(AF_INET6, ENCAP_SRC6, cfg.encap_src_v6);
	cfg.max_pkt_size = 1500;
	if (bpf_map_update_elem(dp.config, &zero, &cfg, BPF_ANY))
		return -errno;
	for (size_t i = 0; i < sizeof(all_vips) / sizeof(all_vips[0]); i++) {
		err = add_vip(all_vips[i]);
		if (err)
			return err;
	}
	return 0;
}

/* ---------------------------------------------------------------- cases */

static void test_forwarding(void)
{
	struct pkt_spec s;
	struct pkt in, w;
	uint32_t be;

	/* L2 DSR, IPv4 TCP SYN */
	spec_init(&s, 4, "192.0.2.1", "203.0.113.10", 6, 40000, 80);
	pkt_build(&s, &in);
	be = table_choice(&v4_tcp, &s);
	want_dsr(&in, be, &w);
	expect("dsr_v4_tcp_syn", &in, XDP_TX, &w);

	/* ToS/DSCP untouched by DSR */
	spec_init(&s, 4, "192.0.2.2", "203.0.113.10", 6, 40001, 80);
	s.tos = 0xb8;
	pkt_build(&s, &in);
	want_dsr(&in, table_choice(&v4_tcp, &s), &w);
	expect("dsr_v4_tcp_tos_kept", &in, XDP_TX, &w);

	/* L2 DSR, IPv4 UDP */
	spec_init(&s, 4, "192.0.2.3", "203.0.113.10", 17, 5353, 53);
	pkt_build(&s, &in);
	want_dsr(&in, table_choice(&v4_udp, &s), &w);
	expect("dsr_v4_udp", &in, XDP_TX, &w);

	/* exact port beats the all-ports VIP of the same address */
	spec_init(&s, 4, "192.0.2.3", "203.0.113.10", 17, 5353, 54);
	pkt_build(&s, &in);
	want_encap(&v4_udp_all, &s, &in, table_choice(&v4_udp_all, &s), &w);
	expect("all_ports_v4_udp_other_port", &in, XDP_TX, &w);

	/* IPv4 with options (IHL 8) */
	spec_init(&s, 4, "192.0.2.4", "203.0.113.10", 6, 40002, 80);
	s.ip_opt_len = 12;
	pkt_build(&s, &in);
	want_dsr(&in, table_choice(&v4_tcp, &s), &w);
	expect("dsr_v4_ip_options", &in, XDP_TX, &w);

	/* one and two VLAN tags */
	spec_init(&s, 4, "192.0.2.5", "203.0.113.10", 6, 40003, 80);
	s.nvlan = 1;
	s.vlan_tci[0] = 100;
	pkt_build(&s, &in);
	want_dsr(&in, table_choice(&v4_tcp, &s), &w);
	expect("dsr_v4_vlan1", &in, XDP_TX, &w);
	s.nvlan = 2;
	s.vlan_tpid[0] = 0x88a8;
	s.vlan_tci[1] = 200;
	pkt_build(&s, &in);
	want_dsr(&in, table_choice(&v4_tcp, &s), &w);
	expect("dsr_v4_qinq", &in, XDP_TX, &w);

	/* IPv6 DSR: TCP, traffic class, extension headers, UDP */
	spec_init(&s, 6, "2001:db8:c::1", "2001:db8:f::10", 6, 40000, 80);
	pkt_build(&s, &in);
	want_dsr(&in, table_choice(&v6_tcp, &s), &w);
	expect("dsr_v6_tcp", &in, XDP_TX, &w);
	s.tos = 0x28;
	pkt_build(&s, &in);
	want_dsr(&in, table_choice(&v6_tcp, &s), &w);
	expect("dsr_v6_tcp_traffic_class", &in, XDP_TX, &w);
	spec_init(&s, 6, "2001:db8:c::2", "2001:db8:f::10", 6, 40001, 80);
	s.ext[0] = 0; /* hop-by-hop */
	s.ext[1] = 43; /* routing */
	s.ext[2] = 60; /* destination options */
	s.next = 3;
	pkt_build(&s, &in);
	want_dsr(&in, table_choice(&v6_tcp, &s), &w);
	expect("dsr_v6_ext_headers", &in, XDP_TX, &w);
	spec_init(&s, 6, "2001:db8:c::3", "2001:db8:f::10", 17, 5353, 53);
	pkt_build(&s, &in);
	want_dsr(&in, table_choice(&v6_udp, &s), &w);
	expect("dsr_v6_udp", &in, XDP_TX, &w);
	spec_init(&s, 6, "2001:db8:c::3", "2001:db8:f::10", 6, 40002, 80);
	s.nvlan = 1;
	s.vlan_tci[0] = 7;
	pkt_build(&s, &in);
	want_dsr(&in, table_choice(&v6_tcp, &s), &w);
	expect("dsr_v6_vlan1", &in, XDP_TX, &w);
}

static void test_encap(void)
{
	struct pkt_spec s;
	struct pkt in, w;

	/* IPIP on an all-ports VIP; ToS copied to the outer header */
	spec_init(&s, 4, "192.0.2.10", "203.0.113.20", 6, 40000, 8080);
	s.tos = 0x10;
	pkt_build(&s, &in);
	want_encap(&v4_all, &s, &in, table_choice(&v4_all, &s), &w);
	expect("ipip_v4_all_ports", &in, XDP_TX, &w);
	spec_init(&s, 4, "192.0.2.10", "203.0.113.20", 6, 40000, 22);
	pkt_build(&s, &in);
	want_encap(&v4_all, &s, &in, table_choice(&v4_all, &s), &w);
	expect("ipip_v4_all_ports_other", &in, XDP_TX, &w);

	/* IPIP with IP options in the inner packet */
	spec_init(&s, 4, "192.0.2.11", "203.0.113.20", 6, 40001, 80);
	s.ip_opt_len = 8;
	pkt_build(&s, &in);
	want_encap(&v4_all, &s, &in, table_choice(&v4_all, &s), &w);
	expect("ipip_v4_ip_options", &in, XDP_TX, &w);

	/* IPIP keeps one and two VLAN tags in front of the outer header */
	spec_init(&s, 4, "192.0.2.12", "203.0.113.80", 6, 40002, 80);
	s.nvlan = 1;
	s.vlan_tci[0] = 10;
	pkt_build(&s, &in);
	want_encap(&v4_vlan_encap, &s, &in, table_choice(&v4_vlan_encap, &s),
		   &w);
	expect("ipip_v4_vlan1", &in, XDP_TX, &w);
	s.nvlan = 2;
	s.vlan_tpid[0] = 0x88a8;
	s.vlan_tci[1] = 20;
	pkt_build(&s, &in);
	want_encap(&v4_vlan_encap, &s, &in, table_choice(&v4_vlan_encap, &s),
		   &w);
	expect("ipip_v4_qinq", &in, XDP_TX, &w);

	/* IPv4 in IPv6 */
	spec_init(&s, 4, "192.0.2.13", "203.0.113.30", 6, 40003, 80);
	s.tos = 0x20;
	pkt_build(&s, &in);
	want_encap(&v4_in_v6, &s, &in, table_choice(&v4_in_v6, &s), &w);
	expect("4in6_v4_tcp", &in, XDP_TX, &w);
	s.nvlan = 1;
	s.vlan_tci[0] = 30;
	pkt_build(&s, &in);
	want_encap(&v4_in_v6, &s, &in, table_choice(&v4_in_v6, &s), &w);
	expect("4in6_v4_vlan1", &in, XDP_TX, &w);

	/* IPv6 in IPv4 does not exist: dropped, and counted as such */
	{
		uint64_t before = stat(LB_STAT_DROP_UNSUPPORTED);

		spec_init(&s, 6, "2001:db8:c::13", "2001:db8:f::30", 6, 40003,
			  80);
		pkt_build(&s, &in);
		expect("6in4_refused", &in, XDP_DROP, NULL);
		T_CHECK("6in4_counted_unsupported",
			stat(LB_STAT_DROP_UNSUPPORTED) == before + 1,
			"drop_unsupported %llu -> %llu",
			(unsigned long long)before,
			(unsigned long long)stat(LB_STAT_DROP_UNSUPPORTED));
	}

	/* IP6IP6 with a traffic class and extension headers */
	spec_init(&s, 6, "2001:db8:c::10", "2001:db8:f::20", 6, 40000, 443);
	s.tos = 0x48;
	pkt_build(&s, &in);
	want_encap(&v6_encap, &s, &in, table_choice(&v6_encap, &s), &w);
	expect("ip6ip6_v6_tcp", &in, XDP_TX, &w);
	s.ext[0] = 60;
	s.next = 1;
	pkt_build(&s, &in);
	want_encap(&v6_encap, &s, &in, table_choice(&v6_encap, &s), &w);
	expect("ip6ip6_v6_ext_header", &in, XDP_TX, &w);
}

/* ------------------------------------------------- too big to encapsulate */

static void set_max_pkt_size(uint32_t size)
{
	struct lb_config cfg;
	uint32_t zero = 0;

	bpf_map_lookup_elem(dp.config, &zero, &cfg);
	cfg.max_pkt_size = size;
	bpf_map_update_elem(dp.config, &zero, &cfg, BPF_ANY);
}

/* payload bytes that differ from their neighbours, so a quote is checkable */
static uint8_t pattern[PKT_MAX];

/* A TCP (ACK) or UDP packet whose IP datagram is l3_len bytes long, DF set
 * for IPv4.  s keeps the spec for variations. */
static void big_packet(struct pkt_spec *s, int family, const char *src,
		       const char *dst, uint8_t proto, uint16_t dport,
		       size_t l3_len, struct pkt *out)
{
	size_t hdrs = (family == 4 ? 20 : 40) + (proto == 6 ? 20 : 8);

	spec_init(s, family, src, dst, proto, 41000, dport);
	s->tcp_flags = proto == 6 ? 0x10 : 0;
	s->frag = family == 4 ? 0x4000 : 0; /* DF */
	s->payload = pattern;
	s->payload_len = l3_len - hdrs;
	pkt_build(s, out);
}

/*
 * What the datapath sent, checked field by field against the packet that
 * caused it (for a readable failure; the full byte compare follows).
 * Returns NULL when right, else what is wrong.
 */
static const char *check_too_big(const struct pkt *out, const struct pkt *in,
				 int l3_off, uint32_t mtu, size_t quote)
{
	const uint8_t *iip = in->b + l3_off, *o = out->b + l3_off;
	int v4 = (iip[0] >> 4) == 4;
	size_t iplen = v4 ? 20 : 40, len = 8 + quote;
	const uint8_t *ic = o + iplen;
	uint32_t ps;

	if (out->len != (size_t)l3_off + iplen + len)
		return "length";
	if (memcmp(out->b, in->b + 6, 6) || memcmp(out->b + 6, in->b, 6))
		return "MACs not swapped";
	if (memcmp(out->b + 12, in->b + 12, l3_off - 12))
		return "VLAN tags / EtherType changed";
	if (v4) {
		if (o[0] != 0x45 || o[9] != 1)
			return "IPv4 version/IHL/protocol";
		if ((size_t)(o[2] << 8 | o[3]) != 20 + len)
			return "IPv4 total length";
		if (pkt_csum(o, 20, 0))
			return "IPv4 header checksum invalid";
		if (memcmp(o + 12, iip + 16, 4) || memcmp(o + 16, iip + 12, 4))
			return "IPv4 addresses: want VIP -> client";
		if (ic[0] != 3 || ic[1] != 4)
			return "ICMP type/code, want 3/4";
		ps = 0;
	} else {
		if (o[0] >> 4 != 6 || o[6] != 58)
			return "IPv6 version/next header";
		if ((size_t)(o[4] << 8 | o[5]) != len)
			return "IPv6 payload length";
		if (memcmp(o + 8, iip + 24, 16) || memcmp(o + 24, iip + 8, 16))
			return "IPv6 addresses: want VIP -> client";
		if (ic[0] != 2 || ic[1] != 0)
			return "ICMPv6 type/code, want 2/0";
		ps = pkt_pseudo(6, o + 8, o + 24, 58, len);
	}
	if (((uint32_t)ic[4] << 24 | (uint32_t)ic[5] << 16 | ic[6] << 8 |
	     ic[7]) != mtu)
		return "MTU";
	if (pkt_csum(ic, len, ps))
		return "ICMP checksum invalid";
	if (memcmp(ic + 8, iip, quote))
		return "quote differs from the original packet";
	return NULL;
}

static int expect_too_big(const char *name, const struct pkt *in, int l3_off,
			  uint32_t mtu, size_t quote)
{
	struct pkt out, want;
	char diff[160];
	const char *why;
	int got = run(prog_fd, in, &out);

	if (got != XDP_TX) {
		t_fail(name, "action %s, want TX", action_name(got));
		return 0;
	}
	why = check_too_big(&out, in, l3_off, mtu, quote);
	if (why) {
		t_fail(name, "%s", why);
		return 0;
	}
	pkt_too_big(in, l3_off, mtu, quote, &want);
	if (*pkt_diff(&out, &want, diff, sizeof(diff))) {
		t_fail(name, "output differs: %s", diff);
		return 0;
	}
	t_pass(name);
	return 1;
}

/*
 * max_pkt_size 1500: IPIP adds 20 bytes, IP6IP6 and 4in6 40.  A client
 * packet that does not fit is answered with the ICMP error (quote capped at
 * 576 bytes of ICMPv4 / 1280 of ICMPv6 in all), or dropped when none may be
 * sent; one that fits exactly is forwarded.
 */
static void test_too_big_encap(void)
{
	uint64_t sent = stat(LB_STAT_PTB_SENT);
	uint64_t dropped = stat(LB_STAT_DROP_TOO_BIG);
	uint64_t nsent = 0, ndropped = 0;
	struct pkt_spec s;
	struct pkt in, w;

	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + 3);

	/* each family of encapsulation, one byte over */
	big_packet(&s, 4, "192.0.2.20", "203.0.113.20", 6, 8080, 1481, &in);
	nsent += expect_too_big("too_big_ipip_v4_tcp", &in, 14, 1480, 548);
	big_packet(&s, 4, "192.0.2.21", "203.0.113.10", 17, 5000, 1500, &in);
	nsent += expect_too_big("too_big_ipip_v4_udp", &in, 14, 1480, 548);
	big_packet(&s, 4, "192.0.2.22", "203.0.113.30", 6, 80, 1461, &in);
	nsent += expect_too_big("too_big_4in6_v4", &in, 14, 1460, 548);
	big_packet(&s, 6, "2001:db8:c::22", "2001:db8:f::20", 6, 443, 1461,
		   &in);
	nsent += expect_too_big("too_big_ip6ip6", &in, 14, 1460, 1232);
	big_packet(&s, 6, "2001:db8:c::23", "2001:db8:f::20", 6, 443, 1500,
		   &in);
	nsent += expect_too_big("too_big_ip6ip6_full_mtu", &in, 14, 1460, 1232);

	/* exactly at the limit: forwarded, not answered */
	big_packet(&s, 4, "192.0.2.20", "203.0.113.20", 6, 8080, 1480, &in);
	want_encap(&v4_all, &s, &in, table_choice(&v4_all, &s), &w);
	expect("ipip_v4_exactly_mtu", &in, XDP_TX, &w);
	big_packet(&s, 4, "192.0.2.22", "203.0.113.30", 6, 80, 1460, &in);
	want_encap(&v4_in_v6, &s, &in, table_choice(&v4_in_v6, &s), &w);
	expect("4in6_v4_exactly_mtu", &in, XDP_TX, &w);
	big_packet(&s, 6, "2001:db8:c::22", "2001:db8:f::20", 6, 443, 1460,
		   &in);
	want_encap(&v6_encap, &s, &in, table_choice(&v6_encap, &s), &w);
	expect("ip6ip6_exactly_mtu", &in, XDP_TX, &w);

	/* VLAN tags stay in front; IPv4 options are part of the quote */
	big_packet(&s, 4, "192.0.2.24", "203.0.113.80", 6, 80, 1481, &in);
	s.nvlan = 2;
	s.vlan_tpid[0] = 0x88a8;
	s.vlan_tci[0] = 21;
	s.vlan_tci[1] = 22;
	pkt_build(&s, &in);
	nsent += expect_too_big("too_big_ipip_v4_qinq", &in, 22, 1480, 548);
	big_packet(&s, 6, "2001:db8:c::24", "2001:db8:f::20", 6, 443, 1461,
		   &in);
	s.nvlan = 1;
	s.vlan_tci[0] = 23;
	pkt_build(&s, &in);
	nsent += expect_too_big("too_big_ip6ip6_vlan1", &in, 18, 1460, 1232);
	big_packet(&s, 4, "192.0.2.25", "203.0.113.20", 6, 80, 1481 - 12, &in);
	s.ip_opt_len = 12;
	pkt_build(&s, &in);
	nsent += expect_too_big("too_big_ipip_v4_ip_options", &in, 14, 1480,
				548);

	/* no ICMP error possible: dropped and counted */
	big_packet(&s, 4, "192.0.2.26", "203.0.113.20", 6, 8080, 1481, &in);
	s.frag = 0; /* DF clear: fragmenting is allowed, but not done */
	pkt_build(&s, &in);
	ndropped +=
		expect("too_big_ipip_v4_df_clear_dropped", &in, XDP_DROP, NULL);
	big_packet(&s, 4, "224.0.0.9", "203.0.113.20", 6, 8080, 1481, &in);
	ndropped += expect("too_big_v4_multicast_source_dropped", &in, XDP_DROP,
			   NULL);
	big_packet(&s, 4, "0.0.0.0", "203.0.113.20", 6, 8080, 1481, &in);
	ndropped += expect("too_big_v4_unspecified_source_dropped", &in,
			   XDP_DROP, NULL);
	big_packet(&s, 6, "ff02::1", "2001:db8:f::20", 6, 443, 1461, &in);
	ndropped += expect("too_big_v6_multicast_source_dropped", &in, XDP_DROP,
			   NULL);
	big_packet(&s, 6, "::1", "2001:db8:f::20", 6, 443, 1461, &in);
	ndropped += expect("too_big_v6_loopback_source_dropped", &in, XDP_DROP,
			   NULL);
	big_packet(&s, 4, "192.0.2.27", "203.0.113.20", 6, 8080, 1481, &in);
	memset(in.b, 0xff, 6); /* sent to the link-layer broadcast */
	ndropped +=
		expect("too_big_v4_l2_broadcast_dropped", &in, XDP_DROP, NULL);

	/*
	 * A small MTU: the whole packet fits in the quote, and every length
	 * mod 4 exercises the checksum's tail.  IPv4 MTU 400 - 20 = 380.
	 */
	set_max_pkt_size(400);
	for (size_t len = 449; len <= 452; len++) {
		char name[64];

		snprintf(name, sizeof(name), "too_big_ipip_v4_whole_quote_%zu",
			 len);
		big_packet(&s, 4, "192.0.2.28", "203.0.113.20", 6, 8080, len,
			   &in);
		nsent += expect_too_big(name, &in, 14, 380, len);
	}
	/* IPv6 never reports below 1280 ... */
	big_packet(&s, 6, "2001:db8:c::28", "2001:db8:f::20", 6, 443, 1281,
		   &in);
	nsent += expect_too_big("too_big_ip6ip6_mtu_floor_1280", &in, 14, 1280,
				1232);
	/* ... so a packet that fits 1280 cannot be helped: dropped */
	big_packet(&s, 6, "2001:db8:c::28", "2001:db8:f::20", 6, 443, 1280,
		   &in);
	ndropped += expect("too_big_ip6ip6_below_min_mtu_dropped", &in,
			   XDP_DROP, NULL);
	/* IPv4 never below 68 (RFC 791) */
	set_max_pkt_size(80);
	big_packet(&s, 4, "192.0.2.29", "203.0.113.20", 6, 8080, 101, &in);
	nsent += expect_too_big("too_big_ipip_v4_mtu_floor_68", &in, 14, 68,
				101);
	big_packet(&s, 4, "192.0.2.29", "203.0.113.20", 6, 8080, 68, &in);
	ndropped += expect("too_big_ipip_v4_below_min_mtu_dropped", &in,
			   XDP_DROP, NULL);
	set_max_pkt_size(1500);

	T_CHECK("too_big_sent_counted", stat(LB_STAT_PTB_SENT) == sent + nsent,
		"too_big_sent grew by %llu, want %llu",
		(unsigned long long)(stat(LB_STAT_PTB_SENT) - sent),
		(unsigned long long)nsent);
	T_CHECK("drop_too_big_counted",
		stat(LB_STAT_DROP_TOO_BIG) == dropped + ndropped,
		"drop_too_big grew by %llu, want %llu",
		(unsigned long long)(stat(LB_STAT_DROP_TOO_BIG) - dropped),
		(unsigned long long)ndropped);
}

static void test_pass(void)
{
	struct pkt_spec s;
	struct pkt in;
	uint64_t before = stat(LB_STAT_PASS);

	spec_init(&s, 4, "192.0.2.1", "203.0.113.99", 6, 40000, 80);
	pkt_build(&s, &in);
	expect("pass_v4_not_vip", &in, XDP_PASS, NULL);
	spec_init(&s, 6, "2001:db8:c::1", "2001:db8:f::99", 6, 40000, 80);
	pkt_build(&s, &in);
	expect("pass_v6_not_vip", &in, XDP_PASS, NULL);
	/* VIP address, port without a VIP */
	spec_init(&s, 4, "192.0.2.1", "203.0.113.10", 6, 40000, 81);
	pkt_build(&s, &in);
	expect("pass_v4_vip_addr_other_port", &in, XDP_PASS, NULL);
	/* ARP */
	memset(&in, 0, sizeof(in));
	memset(in.b, 0xff, 6);
	memcpy(in.b + 6, CLIENT_MAC, 6);
	in.b[12] = 0x08;
	in.b[13] = 0x06;
	in.len = 14 + 28;
	expect("pass_arp", &in, XDP_PASS, NULL);
	/* tunnel packets not addressed to a VIP */
	spec_init(&s, 4, "192.0.2.1", "198.51.100.1", 4, 0, 0);
	pkt_build(&s, &in);
	expect("pass_ipip_not_vip", &in, XDP_PASS, NULL);
	spec_init(&s, 6, "2001:db8:c::1", "2001:db8:b::1", 41, 0, 0);
	pkt_build(&s, &in);
	expect("pass_ip6ip6_not_vip", &in, XDP_PASS, NULL);
	spec_init(&s, 6, "2001:db8:c::1", "2001:db8:b::1", 4, 0, 0);
	pkt_build(&s, &in);
	expect("pass_4in6_not_vip", &in, XDP_PASS, NULL);
	/* a protocol without a VIP to a VIP address (GRE) */
	spec_init(&s, 4, "192.0.2.1", "203.0.113.10", 47, 0, 0);
	pkt_build(&s, &in);
	expect("pass_v4_gre_to_vip_addr", &in, XDP_PASS, NULL);
	/* malformed, but not for a VIP: the host must stay reachable */
	spec_init(&s, 4, "192.0.2.1", "203.0.113.99", 6, 40000, 80);
	s.bad_ihl = 3;
	pkt_build(&s, &in);
	expect("pass_v4_bad_ihl_not_vip", &in, XDP_PASS, NULL);
	spec_init(&s, 4, "192.0.2.1", "203.0.113.99", 6, 40000, 80);
	s.frag = 0x2000;
	pkt_build(&s, &in);
	expect("pass_v4_fragment_not_vip", &in, XDP_PASS, NULL);
	T_CHECK("pass_counted", stat(LB_STAT_PASS) == before + 10,
		"pass grew by %llu, want 10",
		(unsigned long long)(stat(LB_STAT_PASS) - before));
}

/* Truncate a VIP packet at every length; below min_drop it is passed (its
 * destination is unreadable), from there on dropped as truncated. */
static void truncations(const char *tag, const struct pkt *full,
			size_t min_drop)
{
	uint64_t before = stat(LB_STAT_DROP_TRUNCATED);
	size_t drops = 0;
	int ok = 1;

	for (size_t len = 14; len < full->len && ok; len++) {
		struct pkt in = *full, out;
		int want = len < min_drop ? XDP_PASS : XDP_DROP;
		int got;

		in.len = len;
		got = run(prog_fd, &in, &out);
		if (got != want) {
			char name[64];

			snprintf(name, sizeof(name), "truncated_%s", tag);
			t_fail(name, "at %zu bytes: %s, want %s", len,
			       action_name(got), action_name(want));
			ok = 0;
		}
		drops += want == XDP_DROP;
	}
	if (ok) {
		char name[64];

		snprintf(name, sizeof(name), "truncated_%s", tag);
		T_CHECK(name, stat(LB_STAT_DROP_TRUNCATED) == before + drops,
			"drop_truncated grew by %llu, want %zu",
			(unsigned long long)(stat(LB_STAT_DROP_TRUNCATED) -
					     before),
			drops);
	}
}

static void test_drop(void)
{
	struct pkt_spec s;
	struct pkt in;
	uint64_t before;

	/* every header boundary: Ethernet, VLAN, IP, extension header, L4 */
	spec_init(&s, 4, "192.0.2.1", "203.0.113.10", 6, 40000, 80);
	s.payload_len = 0;
	pkt_build(&s, &in);
	truncations("v4_tcp", &in, 14 + 20);
	s.nvlan = 2;
	pkt_build(&s, &in);
	truncations("v4_qinq_tcp", &in, 22 + 20);
	spec_init(&s, 4, "192.0.2.1", "203.0.113.10", 17, 40000, 53);
	s.payload_len = 0;
	s.ip_opt_len = 4;
	pkt_build(&s, &in);
	truncations("v4_udp_options", &in, 14 + 20);
	spec_init(&s, 6, "2001:db8:c::1", "2001:db8:f::10", 6, 40000, 80);
	s.payload_len = 0;
	s.ext[0] = 0;
	s.ext[1] = 60;
	s.next = 2;
	pkt_build(&s, &in);
	truncations("v6_ext_tcp", &in, 14 + 40);
	spec_init(&s, 6, "2001:db8:c::1", "2001:db8:f::10", 17, 40000, 53);
	s.payload_len = 0;
	pkt_build(&s, &in);
	truncations("v6_udp", &in, 14 + 40);

	/* bad IHL and a total length shorter than the header */
	before = stat(LB_STAT_DROP_BAD_HEADER);
	spec_init(&s, 4, "192.0.2.1", "203.0.113.10", 6, 40000, 80);
	s.bad_ihl = 4;
	pkt_build(&s, &in);
	expect("drop_v4_bad_ihl", &in, XDP_DROP, NULL);
	spec_init(&s, 4, "192.0.2.1", "203.0.113.10", 6, 40000, 80);
	s.ip_opt_len = 8;
	pkt_build(&s, &in);
	in.b[14 + 2] = 0;
	in.b[14 + 3] = 24; /* < IHL 7 * 4 */
	expect("drop_v4_total_length_lt_header", &in, XDP_DROP, NULL);
	T_CHECK("drop_bad_header_counted",
		stat(LB_STAT_DROP_BAD_HEADER) == before + 2,
		"drop_bad_header did not grow by 2");

	/*
	 * The IP length, not the frame, bounds the transport header: a
	 * datagram that ends before its TCP/UDP/ICMP header, followed by
	 * Ethernet padding that happens to hold one, is malformed.  A length
	 * above the frame is a truncated frame.
	 */
	before = stat(LB_STAT_DROP_BAD_LENGTH);
	{
		static const struct {
			const char *name;
			int family;
			uint8_t proto;
			uint16_t dport, l3_len; /* IPv4 total / IPv6 payload */
		} short_len[] = {
			{ "drop_v4_tcp_header_past_ip_length", 4, 6, 80, 24 },
			{ "drop_v4_udp_header_past_ip_length", 4, 17, 53, 27 },
			{ "drop_v4_icmp_header_past_ip_length", 4, 1, 0, 20 },
			{ "drop_v6_tcp_header_past_payload_length", 6, 6, 80,
			  19 },
			{ "drop_v6_udp_header_past_payload_length", 6, 17, 53,
			  0 },
			{ "drop_v6_ext_header_past_payload_length", 6, 6, 80,
			  4 },
		};

		for (size_t i = 0; i < sizeof(short_len) / sizeof(short_len[0]);
		     i++) {
			int v4 = short_len[i].family == 4;

			spec_init(&s, short_len[i].family,
				  v4 ? "192.0.2.1" : "2001:db8:c::1",
				  v4 ? "203.0.113.10" : "2001:db8:f::10",
				  short_len[i].proto, 40000,
				  short_len[i].dport);
			s.icmp_type = 8;
			s.payload_len = 0;
			if (strstr(short_len[i].name, "ext_header")) {
				s.ext[0] = 60;
				s.next = 1;
			}
			pkt_build(&s, &in);
			/* the headers stay in the frame; only the length
			 * field says the datagram ends earlier */
			in.b[14 + (v4 ? 2 : 4)] = short_len[i].l3_len >> 8;
			in.b[14 + (v4 ? 3 : 5)] = short_len[i].l3_len & 0xff;
			if (v4) {
				in.b[14 + 10] = in.b[14 + 11] = 0;
				uint16_t c = pkt_csum(in.b + 14, 20, 0);

				in.b[14 + 10] = c >> 8;
				in.b[14 + 11] = c & 0xff;
			}
			if (in.len < 60)
				in.len = 60;
			expect(short_len[i].name, &in, XDP_DROP, NULL);
		}
		T_CHECK("drop_bad_length_counted",
			stat(LB_STAT_DROP_BAD_LENGTH) ==
				before + sizeof(short_len) /
						 sizeof(short_len[0]),
			"drop_bad_length grew by %llu",
			(unsigned long long)(stat(LB_STAT_DROP_BAD_LENGTH) -
					     before));
	}
	before = stat(LB_STAT_DROP_TRUNCATED);
	spec_init(&s, 4, "192.0.2.1", "203.0.113.10", 6, 40000, 80);
	pkt_build(&s, &in);
	in.b[14 + 3] += 1; /* total length one above the frame */
	in.b[14 + 11] -= 1;
	expect("drop_v4_total_length_above_frame", &in, XDP_DROP, NULL);
	spec_init(&s, 6, "2001:db8:c::1", "2001:db8:f::10", 6, 40000, 80);
	pkt_build(&s, &in);
	in.b[14 + 5] += 1;
	expect("drop_v6_payload_length_above_frame", &in, XDP_DROP, NULL);
	T_CHECK("drop_length_above_frame_counted_truncated",
		stat(LB_STAT_DROP_TRUNCATED) == before + 2,
		"drop_truncated did not grow by 2");

	/* fragments */
	before = stat(LB_STAT_DROP_FRAGMENT);
	spec_init(&s, 4, "192.0.2.1", "203.0.113.10", 6, 40000, 80);
	s.frag = 0x2000; /* MF, offset 0: first fragment */
	pkt_build(&s, &in);
	expect("drop_v4_first_fragment", &in, XDP_DROP, NULL);
	s.frag = 0x0010; /* offset 128, last fragment */
	pkt_build(&s, &in);
	expect("drop_v4_later_fragment", &in, XDP_DROP, NULL);
	spec_init(&s, 6, "2001:db8:c::1", "2001:db8:f::10", 6, 40000, 80);
	s.v6_frag = 0x0001; /* M flag */
	pkt_build(&s, &in);
	expect("drop_v6_fragment", &in, XDP_DROP, NULL);
	T_CHECK("drop_fragment_counted",
		stat(LB_STAT_DROP_FRAGMENT) == before + 3,
		"drop_fragment did not grow by 3");
	/* an atomic fragment (offset 0, no M) is a whole packet */
	s.v6_frag = 0;
	s.ext[0] = 44;
	s.next = 1;
	pkt_build(&s, &in);
	{
		struct pkt w;

		want_dsr(&in, table_choice(&v6_tcp, &s), &w);
		expect("dsr_v6_atomic_fragment", &in, XDP_TX, &w);
	}

	/* too many extension headers */
	spec_init(&s, 6, "2001:db8:c::1", "2001:db8:f::10", 6, 40000, 80);
	s.ext[0] = 0;
	s.ext[1] = 60;
	s.ext[2] = 43;
	s.ext[3] = 60;
	s.next = 4;
	s.v6_frag = 0; /* 4 is the limit: still parsed */
	pkt_build(&s, &in);
	{
		struct pkt w;

		want_dsr(&in, table_choice(&v6_tcp, &s), &w);
		expect("dsr_v6_four_ext_headers", &in, XDP_TX, &w);
	}
	before = stat(LB_STAT_DROP_EXTHDR_LIMIT);
	/* build 5 headers by hand: insert another 8-byte DSTOPTS */
	{
		struct pkt five = in;
		size_t at = 14 + 40;

		memmove(five.b + at + 8, five.b + at, in.len - at);
		memset(five.b + at, 0, 8);
		five.b[at] = 0; /* next: the old first (hop-by-hop) */
		five.b[at + 2] = 1;
		five.b[at + 3] = 4;
		five.b[14 + 6] = 60; /* IPv6 next header: DSTOPTS */
		five.b[14 + 5] += 8; /* payload length */
		five.len += 8;
		/* hop-by-hop must come first in real life; the parser does
		 * not care, it counts headers */
		expect("drop_v6_ext_header_limit", &five, XDP_DROP, NULL);
	}
	T_CHECK("drop_exthdr_limit_counted",
		stat(LB_STAT_DROP_EXTHDR_LIMIT) == before + 1,
		"drop_exthdr_limit did not grow");

	/* VIP without usable backends */
	before = stat(LB_STAT_DROP_NO_BACKEND);
	spec_init(&s, 4, "192.0.2.1", "203.0.113.50", 6, 40000, 80);
	pkt_build(&s, &in);
	expect("drop_vip_without_backend", &in, XDP_DROP, NULL);
	T_CHECK("drop_no_backend_counted",
		stat(LB_STAT_DROP_NO_BACKEND) == before + 1,
		"drop_no_backend did not grow");
}

static void test_icmp(void)
{
	struct pkt_spec s, r;
	struct pkt in, w;
	uint64_t before = stat(LB_STAT_ICMP_ECHO);

	/* echo request to a v4 VIP address: answered by the balancer */
	spec_init(&s, 4, "192.0.2.1", "203.0.113.10", 1, 0, 0);
	s.icmp_type = 8;
	s.icmp_rest = 0x00010002;
	s.ttl = 61;
	pkt_build(&s, &in);
	r = s;
	memcpy(r.dmac, CLIENT_MAC, 6);
	memcpy(r.smac, LB_MAC, 6);
	r.src = s.dst;
	r.dst = s.src;
	r.icmp_type = 0;
	r.ttl = 64;
	pkt_build(&r, &w);
	expect("icmp_v4_echo_reply", &in, XDP_TX, &w);
	s.nvlan = 1;
	s.vlan_tci[0] = 5;
	r.nvlan = 1;
	r.vlan_tci[0] = 5;
	pkt_build(&s, &in);
	pkt_build(&r, &w);
	expect("icmp_v4_echo_reply_vlan", &in, XDP_TX, &w);

	spec_init(&s, 6, "2001:db8:c::1", "2001:db8:f::10", 58, 0, 0);
	s.icmp_type = 128;
	s.icmp_rest = 0x00030004;
	s.ttl = 50;
	pkt_build(&s, &in);
	r = s;
	memcpy(r.dmac, CLIENT_MAC, 6);
	memcpy(r.smac, LB_MAC, 6);
	r.src = s.dst;
	r.dst = s.src;
	r.icmp_type = 129;
	r.ttl = 64;
	pkt_build(&r, &w);
	expect("icmp_v6_echo_reply", &in, XDP_TX, &w);
	T_CHECK("icmp_echo_counted", stat(LB_STAT_ICMP_ECHO) == before + 3,
		"icmp_echo_reply did not grow by 3");

	/*
	 * An echo whose reply is all zero (id 0, seq 0, zero payload): the
	 * one case where RFC 1624's incremental update yields 0x0000 while
	 * the checksum of the message is 0xffff.  Frame from a randomized
	 * run, the expected reply written out.
	 */
	{
		struct pkt zin, zwant;

		pkt_hex("02fa00000002 02cc0a7ee1ec 0800"
			"45000020a33e400040011381 c613b30e 0afb0001"
			"0800f7ff00000000 00000000",
			&zin);
		pkt_hex("02cc0a7ee1ec 02fa00000002 0800"
			"45000020a33e400040011381 0afb0001 c613b30e"
			"0000ffff00000000 00000000",
			&zwant);
		expect("icmp_v4_echo_all_zero_reply_csum_ffff", &zin, XDP_TX,
		       &zwant);
	}
	/* the ICMPv6 checksum covers the pseudo-header, never all zero: the
	 * same update is exact there (id 0, seq 0, no payload) */
	spec_init(&s, 6, "2001:db8:c::1", "2001:db8:f::10", 58, 0, 0);
	s.icmp_type = 128;
	s.payload_len = 0;
	pkt_build(&s, &in);
	r = s;
	memcpy(r.dmac, CLIENT_MAC, 6);
	memcpy(r.smac, LB_MAC, 6);
	r.src = s.dst;
	r.dst = s.src;
	r.icmp_type = 129;
	pkt_build(&r, &w);
	expect("icmp_v6_echo_zero_id_seq", &in, XDP_TX, &w);

	/* no answer to a source that is not one unicast host, nor to a
	 * frame sent to a link-layer group address (the answer would carry
	 * the group address as its source MAC) */
	{
		static const struct {
			const char *name, *src;
			uint8_t dmac0; /* 0: the balancer's MAC */
		} bad[] = {
			{ "icmp_v4_echo_from_broadcast_drop", "255.255.255.255",
			  0 },
			{ "icmp_v4_echo_from_multicast_drop", "224.0.0.1", 0 },
			{ "icmp_v4_echo_from_reserved_drop", "240.0.0.1", 0 },
			{ "icmp_v4_echo_from_this_network_drop", "0.1.2.3", 0 },
			{ "icmp_v4_echo_from_loopback_drop", "127.0.0.1", 0 },
			{ "icmp_v4_echo_to_l2_broadcast_drop", "192.0.2.1",
			  0xff },
			{ "icmp_v4_echo_to_l2_multicast_drop", "192.0.2.1",
			  0x01 },
			{ "icmp_v6_echo_from_unspecified_drop", "::", 0 },
			{ "icmp_v6_echo_from_loopback_drop", "::1", 0 },
			{ "icmp_v6_echo_from_multicast_drop", "ff02::1", 0 },
			{ "icmp_v6_echo_to_l2_multicast_drop", "2001:db8:c::1",
			  0x33 },
		};
		uint64_t bs = stat(LB_STAT_DROP_BAD_SOURCE);
		size_t n = sizeof(bad) / sizeof(bad[0]);

		for (size_t i = 0; i < n; i++) {
			int v4 = family_of(bad[i].src) == 4;

			spec_init(&s, v4 ? 4 : 6, bad[i].src,
				  v4 ? "203.0.113.10" : "2001:db8:f::10",
				  v4 ? 1 : 58, 0, 0);
			s.icmp_type = v4 ? 8 : 128;
			if (bad[i].dmac0) {
				memset(s.dmac, 0xff, 6);
				s.dmac[0] = bad[i].dmac0;
			}
			pkt_build(&s, &in);
			expect(bad[i].name, &in, XDP_DROP, NULL);
		}
		T_CHECK("drop_bad_source_counted",
			stat(LB_STAT_DROP_BAD_SOURCE) == bs + n,
			"drop_bad_source grew by %llu, want %zu",
			(unsigned long long)(stat(LB_STAT_DROP_BAD_SOURCE) -
					     bs),
			n);
	}

	/* echo to a non-VIP address and other ICMP to a VIP: passed */
	spec_init(&s, 4, "192.0.2.1", "203.0.113.99", 1, 0, 0);
	s.icmp_type = 8;
	pkt_build(&s, &in);
	expect("icmp_v4_echo_not_vip_pass", &in, XDP_PASS, NULL);
	spec_init(&s, 4, "192.0.2.1", "203.0.113.10", 1, 0, 0);
	s.icmp_type = 13; /* timestamp */
	pkt_build(&s, &in);
	expect("icmp_v4_other_type_pass", &in, XDP_PASS, NULL);
	spec_init(&s, 6, "2001:db8:c::1", "2001:db8:f::99", 58, 0, 0);
	s.icmp_type = 128;
	pkt_build(&s, &in);
	expect("icmp_v6_echo_not_vip_pass", &in, XDP_PASS, NULL);
}

/*
 * An ICMP too-big sent to outer_dst about the backend's reply (quote:
 * vip:vport -> client:cport) of a flow, with quote bytes of that reply
 * (IPv4 28, IPv6 48 for the bare headers; more quotes its payload).
 */
static void build_too_big_q(int family, const char *router,
			    const char *outer_dst, const char *vip,
			    uint16_t vport, const char *client, uint16_t cport,
			    size_t quote, struct pkt *out)
{
	struct pkt_spec q, s;
	struct pkt quoted;
	size_t hdrs = family == 4 ? 40 : 60;

	spec_init(&q, family, vip, client, 6, vport, cport);
	q.tcp_flags = 0x10;
	q.payload = pattern;
	q.payload_len = quote > hdrs ? quote - hdrs : 0;
	q.no_eth = 1;
	pkt_build(&q, &quoted);
	spec_init(&s, family, router, outer_dst, family == 4 ? 1 : 58, 0, 0);
	s.icmp_type = family == 4 ? 3 : 2;
	s.icmp_code = family == 4 ? 4 : 0;
	s.icmp_rest = family == 4 ? 1400 : 1280;
	s.payload = quoted.b;
	s.payload_len = quote;
	pkt_build(&s, out);
}

static void build_too_big(int family, const char *router, const char *vip,
			  uint16_t vport, const char *client, uint16_t cport,
			  struct pkt *out)
{
	build_too_big_q(family, router, vip, vip, vport, client, cport,
			family == 4 ? 28 : 48, out);
}

static void test_too_big(void)
{
	struct pkt_spec flow;
	struct pkt in, w;
	uint64_t before = stat(LB_STAT_ICMP_PTB);
	struct lb_flow f;
	struct lb_conn c = {};
	uint32_t be, other;

	/* v4: no conntrack entry -> the flow's hash decides */
	spec_init(&flow, 4, "192.0.2.77", "203.0.113.10", 6, 41000, 80);
	be = table_choice(&v4_tcp, &flow);
	build_too_big(4, "192.0.2.254", "203.0.113.10", 80, "192.0.2.77", 41000,
		      &in);
	want_dsr(&in, be, &w);
	expect("icmp_v4_frag_needed_to_flow_backend", &in, XDP_TX, &w);

	/* v4: a connection-table entry wins over the hash */
	other = v4_tcp.be[0].id == be ? v4_tcp.be[1].id : v4_tcp.be[0].id;
	flow_of(&flow, &f);
	c.backend_id = other;
	c.backend_gen = 1;
	bpf_map_update_elem(dp.conntrack, &f, &c, BPF_ANY);
	want_dsr(&in, other, &w);
	expect("icmp_v4_frag_needed_follows_conntrack", &in, XDP_TX, &w);
	bpf_map_delete_elem(dp.conntrack, &f);

	/* v6 packet too big */
	spec_init(&flow, 6, "2001:db8:c::77", "2001:db8:f::10", 6, 41000, 80);
	be = table_choice(&v6_tcp, &flow);
	build_too_big(6, "2001:db8:c::fe", "2001:db8:f::10", 80,
		      "2001:db8:c::77", 41000, &in);
	want_dsr(&in, be, &w);
	expect("icmp_v6_packet_too_big_to_flow_backend", &in, XDP_TX, &w);

	/* through an encapsulating VIP: the ICMP message is tunnelled */
	{
		struct pkt_spec os;

		spec_init(&flow, 6, "2001:db8:c::78", "2001:db8:f::20", 6,
			  41001, 443);
		be = table_choice(&v6_encap, &flow);
		build_too_big(6, "2001:db8:c::fe", "2001:db8:f::20", 443,
			      "2001:db8:c::78", 41001, &in);
		/* outer flow label comes from the quoted flow's hash */
		spec_init(&os, 6, "2001:db8:c::78", "2001:db8:f::20", 6, 41001,
			  443);
		want_encap(&v6_encap, &os, &in, be, &w);
		expect("icmp_v6_packet_too_big_encap", &in, XDP_TX, &w);
	}
	T_CHECK("icmp_too_big_counted", stat(LB_STAT_ICMP_PTB) == before + 4,
		"icmp_too_big_forwarded grew by %llu, want 4",
		(unsigned long long)(stat(LB_STAT_ICMP_PTB) - before));

	/* quoting a flow of no VIP: dropped (it was sent to a VIP address) */
	build_too_big(4, "192.0.2.254", "203.0.113.10", 9999, "192.0.2.77",
		      41000, &in);
	expect("icmp_v4_frag_needed_unknown_vip_drop", &in, XDP_DROP, NULL);
}

/* Set the IP length of in (L2 header of 14 bytes), fixing the IPv4
 * header checksum; the frame keeps its bytes. */
static void set_l3_len(struct pkt *in, uint16_t len)
{
	uint8_t *ip = in->b + 14;

	if ((ip[0] >> 4) == 4) {
		uint16_t c;

		ip[2] = len >> 8;
		ip[3] = len & 0xff;
		ip[10] = ip[11] = 0;
		c = pkt_csum(ip, 20, 0);
		ip[10] = c >> 8;
		ip[11] = c & 0xff;
	} else {
		ip[4] = (len - 40) >> 8;
		ip[5] = (len - 40) & 0xff;
	}
}

static int64_t stat_delta(enum lb_stat idx, uint64_t before)
{
	return (int64_t)(stat(idx) - before);
}

/* ICMP too-big errors that must not be forwarded, and what is counted. */
static void test_too_big_checks(void)
{
	uint64_t mismatch = stat(LB_STAT_DROP_ICMP_VIP_MISMATCH);
	uint64_t badq = stat(LB_STAT_DROP_ICMP_BAD_QUOTE);
	uint64_t badlen = stat(LB_STAT_DROP_BAD_LENGTH);
	uint64_t toobig = stat(LB_STAT_DROP_TOO_BIG);
	uint64_t fwd, nobe;
	struct lb_counter vc0, vc, bc0, bc;
	struct pkt_spec flow;
	struct pkt in;
	uint32_t be;

	/* sent to VIP address A (203.0.113.10), quoting a flow of VIP B
	 * (203.0.113.20, all TCP ports): not A's to forward */
	build_too_big_q(4, "192.0.2.254", "203.0.113.10", "203.0.113.20", 8080,
			"192.0.2.77", 41000, 28, &in);
	expect("icmp_v4_too_big_quoting_other_vip_drop", &in, XDP_DROP, NULL);
	build_too_big_q(6, "2001:db8:c::fe", "2001:db8:f::10", "2001:db8:f::20",
			443, "2001:db8:c::77", 41000, 48, &in);
	expect("icmp_v6_too_big_quoting_other_vip_drop", &in, XDP_DROP, NULL);
	T_CHECK("drop_icmp_vip_mismatch_counted",
		stat_delta(LB_STAT_DROP_ICMP_VIP_MISMATCH, mismatch) == 2,
		"drop_icmp_vip_mismatch grew by %lld, want 2",
		(long long)stat_delta(LB_STAT_DROP_ICMP_VIP_MISMATCH,
				      mismatch));

	/* the quote is not an IP header of the error's family */
	build_too_big(4, "192.0.2.254", "203.0.113.10", 80, "192.0.2.77", 41000,
		      &in);
	in.b[14 + 20 + 8] = 0x65; /* version 6, IHL 5 */
	expect("icmp_v4_too_big_quote_not_ipv4_drop", &in, XDP_DROP, NULL);
	build_too_big(6, "2001:db8:c::fe", "2001:db8:f::10", 80,
		      "2001:db8:c::77", 41000, &in);
	in.b[14 + 40 + 8] = 0x40 | (in.b[14 + 40 + 8] & 0x0f);
	expect("icmp_v6_too_big_quote_not_ipv6_drop", &in, XDP_DROP, NULL);
	T_CHECK("drop_icmp_bad_quote_counted",
		stat_delta(LB_STAT_DROP_ICMP_BAD_QUOTE, badq) == 2,
		"drop_icmp_bad_quote grew by %lld, want 2",
		(long long)stat_delta(LB_STAT_DROP_ICMP_BAD_QUOTE, badq));

	/* the datagram ends inside the quoted ports; the frame goes on */
	build_too_big(4, "192.0.2.254", "203.0.113.10", 80, "192.0.2.77", 41000,
		      &in);
	set_l3_len(&in, 20 + 8 + 20 + 2);
	expect("icmp_v4_too_big_quote_past_ip_length_drop", &in, XDP_DROP,
	       NULL);
	build_too_big(6, "2001:db8:c::fe", "2001:db8:f::10", 80,
		      "2001:db8:c::77", 41000, &in);
	set_l3_len(&in, 40 + 8 + 40 + 2);
	expect("icmp_v6_too_big_quote_past_ip_length_drop", &in, XDP_DROP,
	       NULL);
	T_CHECK("drop_bad_length_counted_for_quote",
		stat_delta(LB_STAT_DROP_BAD_LENGTH, badlen) == 2,
		"drop_bad_length grew by %lld, want 2",
		(long long)stat_delta(LB_STAT_DROP_BAD_LENGTH, badlen));

	/* encapsulated, the error would exceed max_pkt_size 1500: the same
	 * MTU check as any forwarded packet (no ICMP about an ICMP error) */
	build_too_big_q(6, "2001:db8:c::fe", "2001:db8:f::20", "2001:db8:f::20",
			443, "2001:db8:c::78", 41001, 1496 - 48, &in);
	expect("icmp_v6_too_big_1496_not_encapsulated_past_mtu", &in, XDP_DROP,
	       NULL);
	build_too_big_q(4, "192.0.2.254", "203.0.113.20", "203.0.113.20", 8080,
			"192.0.2.78", 41001, 1481 - 28, &in);
	expect("icmp_v4_too_big_1481_not_encapsulated_past_mtu", &in, XDP_DROP,
	       NULL);
	T_CHECK("drop_too_big_counted_for_icmp_error",
		stat_delta(LB_STAT_DROP_TOO_BIG, toobig) == 2,
		"drop_too_big grew by %lld, want 2",
		(long long)stat_delta(LB_STAT_DROP_TOO_BIG, toobig));

	/* counted as forwarded only when it is: a VIP without backends */
	fwd = stat(LB_STAT_ICMP_PTB);
	nobe = stat(LB_STAT_DROP_NO_BACKEND);
	build_too_big(4, "192.0.2.254", "203.0.113.50", 80, "192.0.2.79", 41002,
		      &in);
	expect("icmp_v4_too_big_vip_without_backend_drop", &in, XDP_DROP, NULL);
	T_CHECK("icmp_too_big_forwarded_not_counted_when_dropped",
		stat_delta(LB_STAT_ICMP_PTB, fwd) == 0 &&
			stat_delta(LB_STAT_DROP_NO_BACKEND, nobe) == 1,
		"icmp_too_big_forwarded +%lld (want 0), drop_no_backend "
		"+%lld (want 1)",
		(long long)stat_delta(LB_STAT_ICMP_PTB, fwd),
		(long long)stat_delta(LB_STAT_DROP_NO_BACKEND, nobe));

	/* a forwarded error counts for its VIP as for its backend */
	spec_init(&flow, 4, "192.0.2.80", "203.0.113.10", 6, 41003, 80);
	be = table_choice(&v4_tcp, &flow);
	build_too_big(4, "192.0.2.254", "203.0.113.10", 80, "192.0.2.80", 41003,
		      &in);
	lb_dp_counter(dp.vip_stats, v4_tcp.id, &vc0);
	lb_dp_counter(dp.backend_stats, be, &bc0);
	{
		struct pkt w;

		want_dsr(&in, be, &w);
		expect("icmp_v4_too_big_forwarded_counted", &in, XDP_TX, &w);
	}
	lb_dp_counter(dp.vip_stats, v4_tcp.id, &vc);
	lb_dp_counter(dp.backend_stats, be, &bc);
	T_CHECK("icmp_too_big_counts_for_vip_and_backend",
		vc.packets - vc0.packets == 1 &&
			vc.bytes - vc0.bytes == in.len &&
			bc.packets - bc0.packets == 1 &&
			bc.bytes - bc0.bytes == in.len,
		"VIP +%llu packets +%llu bytes, backend +%llu +%llu, "
		"want 1 and %zu each",
		(unsigned long long)(vc.packets - vc0.packets),
		(unsigned long long)(vc.bytes - vc0.bytes),
		(unsigned long long)(bc.packets - bc0.packets),
		(unsigned long long)(bc.bytes - bc0.bytes), in.len);
}

static void test_conntrack(void)
{
	struct pkt_spec s;
	struct pkt in, w;
	uint32_t x, y;
	uint64_t hit, stale;
	struct tvip saved = v4_tcp;
	struct tbe *bx;

	/* a SYN picks X from the table */
	spec_init(&s, 4, "192.0.2.100", "203.0.113.10", 6, 42000, 80);
	pkt_build(&s, &in);
	x = table_choice(&v4_tcp, &s);
	want_dsr(&in, x, &w);
	expect("conntrack_syn_picks_table_backend", &in, XDP_TX, &w);

	/* the table changes so that the flow's slot now names Y */
	y = v4_tcp.be[0].id == x ? v4_tcp.be[1].id : v4_tcp.be[0].id;
	for (int i = 0; i < v4_tcp.nbe; i++)
		v4_tcp.be[i].weight = v4_tcp.be[i].id == y;
	install_table(&v4_tcp);

	hit = stat(LB_STAT_CT_HIT);
	s.tcp_flags = 0x10; /* ACK */
	pkt_build(&s, &in);
	want_dsr(&in, x, &w);
	expect("conntrack_keeps_flow_after_table_change", &in, XDP_TX, &w);
	T_CHECK("conntrack_hit_counted", stat(LB_STAT_CT_HIT) == hit + 1,
		"conntrack_hit did not grow");

	/* a new connection (SYN) of another flow follows the new table */
	spec_init(&s, 4, "192.0.2.101", "203.0.113.10", 6, 42001, 80);
	pkt_build(&s, &in);
	want_dsr(&in, y, &w);
	expect("conntrack_new_flow_follows_new_table", &in, XDP_TX, &w);

	/* UDP uses the connection table too */
	{
		struct pkt_spec u;
		struct tvip su = v4_udp;
		uint32_t ux, uy;

		spec_init(&u, 4, "192.0.2.102", "203.0.113.10", 17, 7000, 53);
		pkt_build(&u, &in);
		ux = table_choice(&v4_udp, &u);
		want_dsr(&in, ux, &w);
		expect("conntrack_udp_first_packet", &in, XDP_TX, &w);
		uy = v4_udp.be[0].id == ux ? v4_udp.be[1].id : v4_udp.be[0].id;
		for (int i = 0; i < v4_udp.nbe; i++)
			v4_udp.be[i].weight = v4_udp.be[i].id == uy;
		install_table(&v4_udp);
		want_dsr(&in, ux, &w);
		expect("conntrack_udp_keeps_backend", &in, XDP_TX, &w);
		v4_udp = su;
		install_table(&v4_udp);
	}

	/* X goes down: its flow is re-hashed onto the table, not dropped */
	stale = stat(LB_STAT_CT_STALE);
	spec_init(&s, 4, "192.0.2.100", "203.0.113.10", 6, 42000, 80);
	s.tcp_flags = 0x10;
	pkt_build(&s, &in);
	bx = be_by_id(&v4_tcp, x);
	write_backend(x, bx->addr, v4_tcp.id, 0, 1);
	want_dsr(&in, y, &w);
	expect("conntrack_down_backend_rehashed", &in, XDP_TX, &w);
	T_CHECK("conntrack_stale_counted", stat(LB_STAT_CT_STALE) == stale + 1,
		"conntrack_stale did not grow");
	/* ...and remembered on Y from then on */
	write_backend(x, bx->addr, v4_tcp.id, LB_BE_F_USABLE, 1);
	expect("conntrack_rehashed_flow_stays", &in, XDP_TX, &w);

	/* an id re-assigned to another backend (new generation): re-hashed */
	spec_init(&s, 4, "192.0.2.103", "203.0.113.10", 6, 42003, 80);
	s.tcp_flags = 0x10;
	pkt_build(&s, &in);
	want_dsr(&in, y, &w);
	expect("conntrack_learn_on_non_syn", &in, XDP_TX, &w);
	bx = be_by_id(&v4_tcp, y);
	write_backend(y, bx->addr, v4_tcp.id, LB_BE_F_USABLE, 2);
	/* table now names X only */
	for (int i = 0; i < v4_tcp.nbe; i++)
		v4_tcp.be[i].weight = v4_tcp.be[i].id == x;
	install_table(&v4_tcp);
	want_dsr(&in, x, &w);
	expect("conntrack_reassigned_id_rehashed", &in, XDP_TX, &w);
	write_backend(y, bx->addr, v4_tcp.id, LB_BE_F_USABLE, 1);

	/* restore the VIP */
	v4_tcp = saved;
	install_table(&v4_tcp);
}

static void test_hash_modes(void)
{
	struct pkt_spec a, b;
	struct pkt in, out;
	int same = 1, spread = 0;
	uint8_t first[6] = { 0 };

	/* source-address hashing: every port of a client, one backend */
	for (int i = 0; i < 64; i++) {
		spec_init(&a, 4, "192.0.2.200", "203.0.113.40", 6,
			  (uint16_t)(30000 + i), 80);
		pkt_build(&a, &in);
		if (run(prog_fd, &in, &out) != XDP_TX) {
			same = 0;
			break;
		}
		if (i == 0)
			memcpy(first, out.b, 6);
		else if (memcmp(first, out.b, 6))
			same = 0;
	}
	T_CHECK("hash_src_only_sticky", same,
		"one client's ports went to several backends");
	/* ...while different clients still spread */
	for (int i = 0; i < 64; i++) {
		char src[32];

		snprintf(src, sizeof(src), "192.0.2.%d", i + 1);
		spec_init(&b, 4, src, "203.0.113.40", 6, 30000, 80);
		pkt_build(&b, &in);
		if (run(prog_fd, &in, &out) == XDP_TX &&
		    memcmp(first, out.b, 6))
			spread++;
	}
	T_CHECK("hash_src_only_spreads_clients", spread > 10 && spread < 60,
		"%d of 64 clients off the first backend", spread);
}

/* Random flows through the real program; count backends by MAC. */
static void distribution(const char *name, struct tvip *v, int nflows,
			 double tolerance)
{
	uint64_t counts[MAX_TBE] = { 0 };
	uint64_t wsum = 0;
	unsigned int rs = 12345;
	struct pkt_spec s;
	struct pkt in, out;
	char src[64];
	int bad = 0;

	for (int i = 0; i < v->nbe; i++)
		wsum += v->be[i].weight;
	for (int i = 0; i < nflows; i++) {
		uint32_t r = (uint32_t)rand_r(&rs) << 16 ^
			     (uint32_t)rand_r(&rs);
		uint8_t m[6];

		snprintf(src, sizeof(src), "10.%u.%u.%u", (r >> 16) & 0xff,
			 (r >> 8) & 0xff, r & 0xff);
		spec_init(&s, 4, src, v->addr, 6,
			  (uint16_t)(1024 + rand_r(&rs) % 60000), v->port);
		s.payload_len = 0;
		pkt_build(&s, &in);
		if (run(prog_fd, &in, &out) != XDP_TX) {
			bad++;
			continue;
		}
		for (int b = 0; b < v->nbe; b++) {
			be_mac(v->be[b].id, m);
			if (!memcmp(m, out.b, 6))
				counts[b]++;
		}
	}
	if (bad) {
		t_fail(name, "%d flows not forwarded", bad);
		return;
	}
	for (int b = 0; b < v->nbe; b++) {
		double want = (double)nflows * v->be[b].weight / wsum;
		double dev = (counts[b] - want) / want;

		printf("  %s: backend %s weight %u got %llu (%.2f%% off)\n",
		       name, v->be[b].addr, v->be[b].weight,
		       (unsigned long long)counts[b], dev * 100);
		if (dev > tolerance || dev < -tolerance) {
			t_fail(name, "backend %s got %llu, want %.0f +-%.0f%%",
			       v->be[b].addr, (unsigned long long)counts[b],
			       want, tolerance * 100);
			return;
		}
	}
	t_pass(name);
}

static void test_stats(void)
{
	struct lb_counter vc, bc;
	struct pkt_spec s;
	struct pkt in, out;
	uint32_t be;
	struct lb_counter vc0, bc0;

	spec_init(&s, 4, "192.0.2.150", "203.0.113.10", 6, 43000, 80);
	pkt_build(&s, &in);
	be = table_choice(&v4_tcp, &s);
	lb_dp_counter(dp.vip_stats, v4_tcp.id, &vc0);
	lb_dp_counter(dp.backend_stats, be, &bc0);
	for (int i = 0; i < 5; i++)
		run(prog_fd, &in, &out);
	lb_dp_counter(dp.vip_stats, v4_tcp.id, &vc);
	lb_dp_counter(dp.backend_stats, be, &bc);
	T_CHECK("stats_per_vip",
		vc.packets == vc0.packets + 5 &&
			vc.bytes == vc0.bytes + 5 * in.len,
		"vip counter +%llu packets +%llu bytes, want +5 / +%zu",
		(unsigned long long)(vc.packets - vc0.packets),
		(unsigned long long)(vc.bytes - vc0.bytes), 5 * in.len);
	T_CHECK("stats_per_backend",
		bc.packets == bc0.packets + 5 &&
			bc.bytes == bc0.bytes + 5 * in.len,
		"backend counter +%llu packets, want +5",
		(unsigned long long)(bc.packets - bc0.packets));
	{
		static const char *names[LB_STAT_MAX] = { LB_STAT_NAMES };
		int unnamed = -1;

		for (int i = 0; i < LB_STAT_MAX && unnamed < 0; i++)
			if (!names[i] || !*names[i])
				unnamed = i;
		T_CHECK("stats_every_counter_named", unnamed < 0,
			"counter %d has no name in LB_STAT_NAMES", unnamed);
	}
	{
		uint64_t outcomes = stat(LB_STAT_PASS) + stat(LB_STAT_TX);

		for (int i = LB_STAT_DROP_FIRST; i < LB_STAT_MAX; i++)
			outcomes += stat(i);
		T_CHECK("stats_rx_sums_outcomes", stat(LB_STAT_RX) == outcomes,
			"rx %llu != pass + tx + drops %llu",
			(unsigned long long)stat(LB_STAT_RX),
			(unsigned long long)outcomes);
	}
}

/* ---------------------------------------------------------------- decap */

static void test_decap(void)
{
	struct decap *d = decap__open_and_load();
	struct lb_addr_key k = {};
	uint32_t one = 1;
	struct pkt_spec s;
	struct pkt inner, enc, want;
	uint8_t bmac[6] = { 0x02, 0xbe, 0, 0, 0, 0x99 };
	int fd;

	if (!T_CHECK("decap_loads", d != NULL, "decap load failed: %d", -errno))
		return;
	fd = bpf_program__fd(d->progs.decap_xdp);
	k.family = LB_FAMILY_V4;
	addr_of("198.51.100.1", &k.addr);
	bpf_map_update_elem(bpf_map__fd(d->maps.decap_addrs), &k, &one, 0);
	k.family = LB_FAMILY_V6;
	addr_of("2001:db8:b::1", &k.addr);
	bpf_map_update_elem(bpf_map__fd(d->maps.decap_addrs), &k, &one, 0);

	struct {
		const char *name;
		int family, ofam, nvlan;
		const char *src, *dst, *odst;
	} cases[] = {
		{ "decap_ipip", 4, 4, 0, "192.0.2.1", "203.0.113.10",
		  "198.51.100.1" },
		{ "decap_ipip_qinq", 4, 4, 2, "192.0.2.1", "203.0.113.10",
		  "198.51.100.1" },
		{ "decap_ip6ip6", 6, 6, 0, "2001:db8:c::1", "2001:db8:f::10",
		  "2001:db8:b::1" },
		{ "decap_4in6", 4, 6, 0, "192.0.2.1", "203.0.113.10",
		  "2001:db8:b::1" },
		{ "decap_4in6_vlan", 4, 6, 1, "192.0.2.1", "203.0.113.10",
		  "2001:db8:b::1" },
		{ "decap_ip6ip6_qinq", 6, 6, 2, "2001:db8:c::1",
		  "2001:db8:f::10", "2001:db8:b::1" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		spec_init(&s, cases[i].family, cases[i].src, cases[i].dst, 6,
			  40000, 80);
		s.nvlan = cases[i].nvlan;
		s.vlan_tci[0] = 11;
		s.vlan_tci[1] = 12;
		pkt_build(&s, &inner);
		pkt_encap(&inner, 14 + 4 * s.nvlan, cases[i].ofam,
			  cases[i].ofam == 4 ? ENCAP_SRC4 : ENCAP_SRC6,
			  cases[i].odst, bmac, LB_MAC, 0, 7, &enc);
		want = inner;
		memcpy(want.b, bmac, 6);
		memcpy(want.b + 6, LB_MAC, 6);
		expect_fd(fd, cases[i].name, &enc, XDP_PASS, &want);
	}
	/* a tunnel packet for another host, and plain traffic: untouched */
	spec_init(&s, 4, "192.0.2.1", "203.0.113.10", 6, 40000, 80);
	pkt_build(&s, &inner);
	pkt_encap(&inner, 14, 4, ENCAP_SRC4, "198.51.100.2", bmac, LB_MAC, 0, 0,
		  &enc);
	expect_fd(fd, "decap_other_host_pass", &enc, XDP_PASS, NULL);
	expect_fd(fd, "decap_plain_pass", &inner, XDP_PASS, NULL);
	/* outer header but no inner one */
	pkt_encap(&inner, 14, 4, ENCAP_SRC4, "198.51.100.1", bmac, LB_MAC, 0, 0,
		  &enc);
	enc.len = 14 + 20 + 10;
	expect_fd(fd, "decap_truncated_drop", &enc, XDP_DROP, NULL);
	decap__destroy(d);
}

int main(void)
{
	int err;

	if (geteuid() != 0)
		t_skip_all("tests/bpf needs root (BPF_PROG_TEST_RUN)");
	if (!getenv("LB_TEST_VERBOSE"))
		libbpf_set_print(NULL);
	err = setup();
	if (err) {
		t_fail("setup", "loading the datapath failed: %d (%s)", err,
		       strerror(-err));
		return t_exit();
	}
	test_forwarding();
	test_encap();
	test_too_big_encap();
	test_pass();
	test_drop();
	test_icmp();
	test_too_big();
	test_too_big_checks();
	test_conntrack();
	test_hash_modes();
	distribution("distribution_10_equal_backends", &v4_ten, 100000, 0.05);
	distribution("distribution_weights_1_2_3", &v4_weighted, 100000, 0.05);
	test_stats();
	test_decap();
	lb__destroy(skel);
	return t_exit();
}
