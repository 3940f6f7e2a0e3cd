// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_datapath.c - the fixture runner for the XDP programs.
 *
 * Loads the datapath, installs the VIPs below, and runs every fixture table
 * of the fix_*.c files (see fixture.h) through the real program with
 * BPF_PROG_TEST_RUN: one loop, one comparison per fixture of the XDP action,
 * the output bytes (built independently by pkt.c from the golden backend),
 * and the counters the packet moved.
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
#include "fixture.h"
#include "lb.skel.h"
#include "decap.skel.h"

#define CT_SIZE 262144

static const uint8_t DECAP_MAC[6] = { 0x02, 0xbe, 0, 0, 0, 0x99 };
uint8_t pattern[PKT_MAX];

static struct lb *skel;
static struct decap *dskel;
static int decap_fd = -1;

/* ---------------------------------------------------------------- VIPs */

struct tvip v4_tcp = {
	.addr = "203.0.113.10",
	.port = 80,
	.proto = 6,
	.nbe = 3,
	.be = { { "198.51.100.1", 1 },
		{ "198.51.100.2", 1 },
		{ "198.51.100.3", 1 } },
};
struct tvip v4_udp = {
	.addr = "203.0.113.10",
	.port = 53,
	.proto = 17,
	.size = 251,
	.nbe = 2,
	.be = { { "198.51.100.1", 1 }, { "198.51.100.2", 1 } },
};
struct tvip v4_udp_all = {
	/* same address, all other UDP ports */
	.addr = "203.0.113.10",
	.port = 0,
	.proto = 17,
	.size = 251,
	.flags = LB_VIP_F_ENCAP,
	.nbe = 1,
	.be = { { "198.51.100.9", 1 } },
};
struct tvip v4_all = {
	.addr = "203.0.113.20",
	.port = 0,
	.proto = 6,
	.size = 1021,
	.flags = LB_VIP_F_ENCAP,
	.nbe = 2,
	.be = { { "198.51.100.4", 1 }, { "198.51.100.5", 1 } },
};
struct tvip v4_in_v6 = {
	.addr = "203.0.113.30",
	.port = 80,
	.proto = 6,
	.size = 1021,
	.flags = LB_VIP_F_ENCAP,
	.nbe = 2,
	.be = { { "2001:db8:b::4", 1 }, { "2001:db8:b::5", 1 } },
};
struct tvip v4_src = {
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
struct tvip v4_empty = {
	.addr = "203.0.113.50",
	.port = 80,
	.proto = 6,
	.size = 251,
	.nbe = 1,
	.be = { { "198.51.100.1", 0 } }, /* weight 0: no entry */
};
struct tvip v6_tcp = {
	.addr = "2001:db8:f::10",
	.port = 80,
	.proto = 6,
	.nbe = 3,
	.be = { { "2001:db8:b::1", 1 },
		{ "2001:db8:b::2", 1 },
		{ "2001:db8:b::3", 1 } },
};
struct tvip v6_encap = {
	.addr = "2001:db8:f::20",
	.port = 443,
	.proto = 6,
	.size = 1021,
	.flags = LB_VIP_F_ENCAP,
	.nbe = 2,
	.be = { { "2001:db8:b::4", 1 }, { "2001:db8:b::5", 1 } },
};
struct tvip v6_udp = {
	.addr = "2001:db8:f::10",
	.port = 53,
	.proto = 17,
	.size = 251,
	.nbe = 2,
	.be = { { "2001:db8:b::1", 1 }, { "2001:db8:b::2", 1 } },
};
struct tvip v4_ten = {
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
struct tvip v4_weighted = {
	/* distribution: weights 1:2:3 */
	.addr = "203.0.113.70",
	.port = 80,
	.proto = 6,
	.nbe = 3,
	.be = { { "198.51.100.21", 1 },
		{ "198.51.100.22", 2 },
		{ "198.51.100.23", 3 } },
};
struct tvip v4_vlan_encap = {
	.addr = "203.0.113.80",
	.port = 80,
	.proto = 6,
	.size = 251,
	.flags = LB_VIP_F_ENCAP,
	.nbe = 1,
	.be = { { "198.51.100.30", 1 } },
};

struct tvip v6_in_v4 = {
	/* not configurable through lbd: the datapath must refuse it too */
	.addr = "2001:db8:f::30",
	.port = 80,
	.proto = 6,
	.size = 251,
	.flags = LB_VIP_F_ENCAP,
	.nbe = 1,
	.be = { { "198.51.100.31", 1 } },
};

struct tvip v4_lab = {
	/* the address of the randomized packet runs that found defects */
	.addr = "10.251.0.1", .port = 80, .proto = 6,
	.size = 251,	      .nbe = 1,	  .be = { { "198.51.100.40", 1 } },
};

struct tvip v4_keep = {
	/* --on-down keep */
	.addr = "203.0.113.90",
	.port = 80,
	.proto = 6,
	.flags = LB_VIP_F_ON_DOWN_KEEP,
	.size = 251,
	.nbe = 2,
	.be = { { "198.51.100.41", 1 }, { "198.51.100.42", 1 } },
};
struct tvip v4_rehash = {
	/* --on-down rehash */
	.addr = "203.0.113.91",
	.port = 80,
	.proto = 6,
	.size = 251,
	.nbe = 2,
	.be = { { "198.51.100.43", 1 }, { "198.51.100.44", 1 } },
};
struct tvip v6_keep = {
	.addr = "2001:db8:f::90",
	.port = 80,
	.proto = 6,
	.flags = LB_VIP_F_ON_DOWN_KEEP,
	.size = 251,
	.nbe = 2,
	.be = { { "2001:db8:b::41", 1 }, { "2001:db8:b::42", 1 } },
};

static struct tvip *all_vips[] = {
	&v4_tcp,  &v4_udp,	&v4_udp_all,	&v4_all,   &v4_in_v6,
	&v4_src,  &v4_empty,	&v6_tcp,	&v6_encap, &v6_udp,
	&v4_ten,  &v4_weighted, &v4_vlan_encap, &v6_in_v4, &v4_lab,
	&v4_keep, &v4_rehash,	&v6_keep,
};

static struct tbe *be_by_addr(struct tvip *v, const char *addr)
{
	for (int i = 0; v && addr && i < v->nbe; i++)
		if (!strcmp(v->be[i].addr, addr))
			return &v->be[i];
	return NULL;
}

uint32_t fx_be_id(struct tvip *v, const char *addr)
{
	struct tbe *b = be_by_addr(v, addr);

	return b ? b->id : 0;
}

/* The address of the backend whose MAC a frame was sent to ("?" if none). */
static const char *be_of_mac(const uint8_t *mac)
{
	for (size_t i = 0; i < sizeof(all_vips) / sizeof(all_vips[0]); i++)
		for (int b = 0; b < all_vips[i]->nbe; b++) {
			uint8_t m[6];

			fx_be_mac(all_vips[i]->be[b].id, m);
			if (!memcmp(m, mac, 6))
				return all_vips[i]->be[b].addr;
		}
	return "?";
}

/* ------------------------------------------------------ hooks' helpers */

int fx_write_backend(struct tvip *v, const char *addr, uint8_t flags,
		     uint32_t gen)
{
	struct tbe *b = be_by_addr(v, addr);

	return b ? fx_write_backend_id(b->id, b->addr, v->id, flags, gen) :
		   -ENOENT;
}

int fx_delete_backend(struct tvip *v, const char *addr)
{
	struct tbe *b = be_by_addr(v, addr);
	struct lb_backend zero = {};

	if (!b)
		return -ENOENT;
	return bpf_map_update_elem(dp.backends, &b->id, &zero, BPF_ANY) ?
		       -errno :
		       0;
}

int fx_only_backend(struct tvip *v, const char *addr)
{
	struct tvip saved = *v;
	int err;

	for (int i = 0; addr && i < v->nbe; i++)
		v->be[i].weight = !strcmp(v->be[i].addr, addr);
	err = fx_install_table(v);
	/* the configured weights stay what the VIP says */
	for (int i = 0; i < v->nbe; i++)
		v->be[i].weight = saved.be[i].weight;
	return err;
}

/* The flow as the datapath keys it. */
static void flow_of(const struct pkt_spec *s, struct lb_flow *f)
{
	memset(f, 0, sizeof(*f));
	fx_addr_of(s->src, &f->src);
	fx_addr_of(s->dst, &f->dst);
	f->family = s->family == 4 ? LB_FAMILY_V4 : LB_FAMILY_V6;
	f->proto = s->proto;
	f->sport = htons(s->sport);
	f->dport = htons(s->dport);
}

int fx_ct_set(const struct pkt_spec *flow, struct tvip *v, const char *addr,
	      uint32_t gen)
{
	struct tbe *b = be_by_addr(v, addr);
	struct lb_conn c = { .backend_gen = gen };
	struct lb_flow f;

	if (!b)
		return -ENOENT;
	c.backend_id = b->id;
	flow_of(flow, &f);
	return lb_dp_ct_update(&dp, &f, &c, BPF_ANY);
}

int fx_ct_del(const struct pkt_spec *flow)
{
	struct lb_flow f;

	flow_of(flow, &f);
	return lb_dp_ct_delete(&dp, &f);
}

static int setup(void)
{
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + 3);
	return fx_load(&skel, CT_SIZE, all_vips,
		       sizeof(all_vips) / sizeof(all_vips[0]));
}

static int setup_decap(void)
{
	struct lb_addr_key k = {};
	uint32_t one = 1;
	int fd;

	dskel = decap__open_and_load();
	if (!dskel)
		return -errno;
	decap_fd = bpf_program__fd(dskel->progs.decap_xdp);
	fd = bpf_map__fd(dskel->maps.decap_addrs);
	k.family = LB_FAMILY_V4;
	fx_addr_of("198.51.100.1", &k.addr);
	if (bpf_map_update_elem(fd, &k, &one, 0))
		return -errno;
	k.family = LB_FAMILY_V6;
	fx_addr_of("2001:db8:b::1", &k.addr);
	return bpf_map_update_elem(fd, &k, &one, 0) ? -errno : 0;
}

/* ---------------------------------------------------------------- running */

static void snapshot(uint64_t s[LB_STAT_MAX])
{
	for (int i = 0; i < LB_STAT_MAX; i++)
		s[i] = fx_stat(i);
}

/* Set the IP length field of p, keeping its bytes; fixes the IPv4 header
 * checksum, pads the frame to the Ethernet minimum. */
static void set_l3_len(struct pkt *p, int l3_off, uint16_t len)
{
	uint8_t *ip = p->b + l3_off;

	if ((ip[0] >> 4) == 4) {
		size_t hlen = (size_t)(ip[0] & 0xf) * 4;
		uint16_t c;

		ip[2] = len >> 8;
		ip[3] = len & 0xff;
		ip[10] = ip[11] = 0;
		c = pkt_csum(ip, hlen, 0);
		ip[10] = c >> 8;
		ip[11] = c & 0xff;
	} else {
		ip[4] = (uint16_t)(len - 40) >> 8;
		ip[5] = (len - 40) & 0xff;
	}
	if (p->len < 60)
		p->len = 60;
}

static void build_icmp_err(const struct fx_icmp_err *e, struct pkt *out)
{
	struct pkt_spec q = FX_BIG(e->family, e->vip, e->client, 6, e->cport,
				   e->quote, .sport = e->vport);
	struct pkt_spec s = { FX_SPEC_DEFAULTS(e->family, e->router,
					       e->outer_dst,
					       e->family == 4 ? 1 : 58, 0, 0) };
	size_t hdrs = e->family == 4 ? 40 : 60;
	struct pkt quoted;

	q.frag = 0;
	q.payload_len = e->quote > hdrs ? e->quote - hdrs : 0;
	q.no_eth = 1;
	pkt_build(&q, &quoted);
	s.icmp_type = e->family == 4 ? 3 : 2;
	s.icmp_code = e->family == 4 ? 4 : 0;
	s.icmp_rest = e->family == 4 ? 1400 : 1280;
	s.payload = quoted.b;
	s.payload_len = e->quote;
	pkt_build(&s, out);
}

static size_t l3_off_of(const struct fx *f)
{
	return 14 + 4 * (size_t)f->in.nvlan;
}

static void build_input(const struct fx *f, struct pkt *in)
{
	if (f->in_hex) {
		pkt_hex(f->in_hex, in);
	} else if (f->err.family) {
		build_icmp_err(&f->err, in);
	} else if (f->tunnel.outer_family) {
		struct pkt inner;

		pkt_build(&f->in, &inner);
		pkt_encap(&inner, (int)l3_off_of(f), f->tunnel.outer_family,
			  f->tunnel.outer_family == 4 ? FX_ENCAP_SRC4 :
							FX_ENCAP_SRC6,
			  f->tunnel.outer_dst, DECAP_MAC, LB_MAC, 0,
			  f->tunnel.cut ? 0 : 7, in);
		if (f->tunnel.cut)
			in->len = f->tunnel.cut;
	} else {
		pkt_build(&f->in, in);
	}
	if (f->l3_len)
		set_l3_len(in, (int)l3_off_of(f), f->l3_len);
	if (f->edit)
		f->edit(in);
}

/* The expected output of f for input in; returns an error text or NULL. */
static const char *build_want(const struct fx *f, const struct pkt *in,
			      struct pkt *w)
{
	struct tbe *b = be_by_addr(f->vip, f->backend);
	uint8_t mac[6];

	switch (f->out) {
	case FX_SAME:
	case FX_NONE:
	case FX_TRUNCATE:
		*w = *in;
		return NULL;
	case FX_DSR:
		if (!b)
			return "fixture names no backend of its VIP";
		*w = *in;
		fx_be_mac(b->id, w->b);
		memcpy(w->b + 6, LB_MAC, 6);
		return NULL;
	case FX_ENCAP: {
		int ofam;

		if (!b)
			return "fixture names no backend of its VIP";
		ofam = fx_family_of(b->addr);
		fx_be_mac(b->id, mac);
		pkt_encap(in, (int)l3_off_of(f), ofam,
			  ofam == 4 ? FX_ENCAP_SRC4 : FX_ENCAP_SRC6, b->addr,
			  mac, LB_MAC, f->in.tos, f->flow_label, w);
		return NULL;
	}
	case FX_SPEC:
		pkt_build(&f->want, w);
		return NULL;
	case FX_HEX:
		return pkt_hex(f->want_hex, w) ? NULL : "bad want_hex";
	case FX_TOO_BIG:
		pkt_too_big(in, (int)l3_off_of(f), f->mtu, f->quote, w);
		return NULL;
	case FX_DECAP:
		pkt_build(&f->in, w);
		memcpy(w->b, DECAP_MAC, 6);
		memcpy(w->b + 6, LB_MAC, 6);
		return NULL;
	}
	return "unknown output kind";
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

/* Cut the input at every length; see FX_TRUNCATE. */
static int run_truncations(const struct fx *f, const struct pkt *full)
{
	uint64_t before = fx_stat(LB_STAT_DROP_TRUNCATED);
	size_t drops = 0;

	for (size_t len = 14; len < full->len; len++) {
		struct pkt in = *full, out;
		int want = len < f->trunc_min ? XDP_PASS : XDP_DROP;
		int got;

		in.len = len;
		got = fx_run(fx_prog_fd, &in, &out);
		if (got != want) {
			t_fail(f->name, "at %zu bytes: %s, want %s", len,
			       fx_action_name(got), fx_action_name(want));
			return 0;
		}
		drops += want == XDP_DROP;
	}
	return T_CHECK(
		f->name, fx_stat(LB_STAT_DROP_TRUNCATED) == before + drops,
		"drop_truncated grew by %llu, want %zu",
		(unsigned long long)(fx_stat(LB_STAT_DROP_TRUNCATED) - before),
		drops);
}

/* Counters of a forwarded packet: its VIP's and its backend's. */
static const char *check_fwd_counters(const struct fx *f,
				      const struct lb_counter *v0,
				      const struct lb_counter *b0,
				      const struct pkt *in)
{
	struct tbe *b = be_by_addr(f->vip, f->backend);
	struct lb_counter v1, b1;

	lb_dp_counter(dp.vip_stats, f->vip->id, &v1);
	lb_dp_counter(dp.backend_stats, b->id, &b1);
	if (v1.packets - v0->packets != 1 || v1.bytes - v0->bytes != in->len)
		return "the VIP's counter did not grow by the packet";
	if (b1.packets - b0->packets != 1 || b1.bytes - b0->bytes != in->len)
		return "the backend's counter did not grow by the packet";
	return NULL;
}

/* Global counters: exactly one outcome (pass, tx or a drop reason) grew
 * by one, the one of the action; and .stat grew by one. */
static const char *check_counters(const struct fx *f, int action,
				  const uint64_t *s0, const uint64_t *s1,
				  char *buf, size_t size)
{
	uint64_t outcomes = s1[LB_STAT_PASS] - s0[LB_STAT_PASS] +
			    s1[LB_STAT_TX] - s0[LB_STAT_TX];
	static const char *names[LB_STAT_MAX] = { LB_STAT_NAMES };

	for (int i = LB_STAT_DROP_FIRST; i < LB_STAT_MAX; i++)
		outcomes += s1[i] - s0[i];
	if (s1[LB_STAT_RX] - s0[LB_STAT_RX] != 1 || outcomes != 1)
		return "rx and the outcome counters did not grow by one";
	if ((action == XDP_PASS && s1[LB_STAT_PASS] == s0[LB_STAT_PASS]) ||
	    (action == XDP_TX && s1[LB_STAT_TX] == s0[LB_STAT_TX]))
		return "the action's counter did not grow";
	if (f->stat != LB_STAT_RX && s1[f->stat] - s0[f->stat] != 1) {
		snprintf(buf, size, "%s grew by %llu, want 1", names[f->stat],
			 (unsigned long long)(s1[f->stat] - s0[f->stat]));
		return buf;
	}
	return NULL;
}

static void run_fixture(const struct fx *f)
{
	int fd = f->prog == FX_PROG_DECAP ? decap_fd : fx_prog_fd;
	uint64_t s0[LB_STAT_MAX], s1[LB_STAT_MAX];
	struct lb_counter v0 = {}, b0 = {};
	static struct pkt in, out, want;
	char diff[160], buf[256];
	const char *why;
	int got;

	build_input(f, &in);
	if (f->pre)
		f->pre();
	if (f->out == FX_TRUNCATE) {
		run_truncations(f, &in);
		goto out;
	}
	if (f->out == FX_DSR || f->out == FX_ENCAP) {
		struct tbe *b = be_by_addr(f->vip, f->backend);

		if (!b) {
			t_fail(f->name, "%s is no backend of the fixture's VIP",
			       f->backend ? f->backend : "(none)");
			goto out;
		}
		lb_dp_counter(dp.vip_stats, f->vip->id, &v0);
		lb_dp_counter(dp.backend_stats, b->id, &b0);
	}
	snapshot(s0);
	got = fx_run(fd, &in, &out);
	snapshot(s1);
	if (got != f->action) {
		t_fail(f->name, "action %s, want %s", fx_action_name(got),
		       fx_action_name(f->action));
		goto out;
	}
	why = build_want(f, &in, &want);
	if (!why && f->out == FX_TOO_BIG)
		why = check_too_big(&out, &in, (int)l3_off_of(f), f->mtu,
				    f->quote);
	if (!why && f->out != FX_NONE &&
	    *pkt_diff(&out, &want, diff, sizeof(diff))) {
		if (f->out == FX_DSR || f->out == FX_ENCAP) {
			const uint8_t *o = out.b + l3_off_of(f);
			int v6 = o[-2] == 0x86 && o[-1] == 0xdd;

			snprintf(buf, sizeof(buf),
				 "%s; sent to backend %s, outer flow label "
				 "0x%05x",
				 diff, be_of_mac(out.b),
				 v6 ? (o[1] & 0xf) << 16 | o[2] << 8 | o[3] :
				      0);
			why = buf;
		} else {
			why = diff;
		}
	}
	if (!why && fd == fx_prog_fd)
		why = check_counters(f, got, s0, s1, buf, sizeof(buf));
	if (!why && (f->out == FX_DSR || f->out == FX_ENCAP))
		why = check_fwd_counters(f, &v0, &b0, &in);
	if (why)
		t_fail(f->name, "%s", why);
	else
		t_pass(f->name);
out:
	if (f->post)
		f->post();
}

/* Packets counted for a VIP, and for all of its backends together. */
static void vip_packets(const struct tvip *v, uint64_t *vip, uint64_t *bes)
{
	struct lb_counter c;

	lb_dp_counter(dp.vip_stats, v->id, &c);
	*vip = c.packets;
	*bes = 0;
	for (int i = 0; i < v->nbe; i++) {
		lb_dp_counter(dp.backend_stats, v->be[i].id, &c);
		*bes += c.packets;
	}
}

#define MAX_COUNTS 16

static void run_table(const struct fx_table *t)
{
	uint64_t s0[LB_STAT_MAX], v0[MAX_COUNTS] = {}, b0[MAX_COUNTS] = {};

	snapshot(s0);
	for (size_t i = 0; i < t->ncounts && i < MAX_COUNTS; i++)
		if (t->counts[i].vip)
			vip_packets(t->counts[i].vip, &v0[i], &b0[i]);
	for (size_t i = 0; i < t->n; i++)
		run_fixture(&t->cases[i]);
	for (size_t i = 0; i < t->ncounts && i < MAX_COUNTS; i++) {
		const struct fx_count *c = &t->counts[i];
		uint64_t d = fx_stat(c->stat) - s0[c->stat], v1, b1;

		if (c->vip) {
			vip_packets(c->vip, &v1, &b1);
			T_CHECK(c->name,
				v1 - v0[i] == c->delta &&
					b1 - b0[i] == c->delta,
				"over %s the VIP counted %llu, its backends "
				"%llu, want %llu",
				t->name, (unsigned long long)(v1 - v0[i]),
				(unsigned long long)(b1 - b0[i]),
				(unsigned long long)c->delta);
			continue;
		}
		T_CHECK(c->name, d == c->delta,
			"grew by %llu over %s, want %llu",
			(unsigned long long)d, t->name,
			(unsigned long long)c->delta);
	}
}

int main(void)
{
	static const struct fx_table *tables[] = {
		&fix_v4,
		&fix_v6,
		&fix_too_big_sent,
		&fix_malformed,
		&fix_truncated,
		&fix_icmp,
		&fix_icmp_no_backend,
		&fix_conntrack,
		&fix_ondown,
		&fix_decap,
	};
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
	err = setup_decap();
	T_CHECK("decap_loads", !err, "decap load failed: %d", err);
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		run_table(tables[i]);
	fx_stats_tests();
	fx_layout_tests(CT_SIZE);
	fx_vip_slot_tests();
	if (dskel)
		decap__destroy(dskel);
	lb__destroy(skel);
	return t_exit();
}
