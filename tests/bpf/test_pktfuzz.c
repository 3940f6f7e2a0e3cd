// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_pktfuzz.c - randomized packets through the XDP datapath, each judged
 * by an oracle.
 *
 * The oracle has its own parser and checksum and knows the test's VIP set;
 * it takes nothing from bpf/ but the ABI header (counter indices).  From the
 * bytes alone it decides what the balancer must do, and checks what it did:
 * - a packet not addressed to a VIP address is passed, never sent on;
 * - PASS leaves the bytes unchanged;
 * - a forwarded packet goes to a usable backend of the VIP it is addressed
 *   to (an ICMP too-big: of the VIP whose flow it quotes, on the address it
 *   was sent to); DSR changes only the MACs; encapsulation keeps the inner
 *   packet byte for byte behind a valid outer header within the MTU;
 * - an echo reply or an ICMP error built by the balancer has valid
 *   checksums and lengths, and only goes to a source that may get one;
 * - a malformed packet to a VIP address is dropped, with its reason;
 * - the counters moved by exactly this packet's verdict (global, the VIP's
 *   and its backends').
 * Inputs: flows to VIPs and elsewhere, echo requests, too-big errors, other
 * protocols, ARP and garbage, mutated: truncation at any length, byte flips
 * per header, bad IHL, IPv4 options, IP lengths above and below the frame,
 * Ethernet padding, fragments, IPv6 extension header chains, VLAN stacks,
 * damaged ICMP quotes.
 *
 *   LB_FUZZ_SEED=N     the seed (default 1; printed either way)
 *   LB_FUZZ_PACKETS=N  how many packets (default 60000)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "harness.h"
#include "dpsetup.h"
#include "lb.skel.h"

#define CT_SIZE 65536
#define MAX_FAILS 10

/* ---------------------------------------------------------------- VIPs */

static struct tvip va = { .addr = "10.0.0.1",
			  .port = 80,
			  .proto = 6,
			  .size = 251,
			  .nbe = 2,
			  .be = { { "10.1.0.1", 1 }, { "10.1.0.2", 1 } } };
static struct tvip vb = { .addr = "10.0.0.1",
			  .port = 53,
			  .proto = 17,
			  .size = 251,
			  .nbe = 1,
			  .be = { { "10.1.0.3", 1 } } };
static struct tvip vc = { .addr = "10.0.0.2",
			  .port = 0,
			  .proto = 6,
			  .flags = LB_VIP_F_ENCAP,
			  .size = 251,
			  .nbe = 2,
			  .be = { { "10.1.0.4", 1 }, { "10.1.0.5", 1 } } };
static struct tvip vd = { .addr = "10.0.0.2",
			  .port = 53,
			  .proto = 17,
			  .flags = LB_VIP_F_ENCAP,
			  .size = 251,
			  .nbe = 1,
			  .be = { { "2001:db8:1::6", 1 } } };
static struct tvip ve = { /* a VIP whose only backend takes no flows */
			  .addr = "10.0.0.3", .port = 80,
			  .proto = 6,	      .size = 251,
			  .nbe = 1,	      .be = { { "10.1.0.7", 0 } }
};
static struct tvip vf = { .addr = "2001:db8::1",
			  .port = 80,
			  .proto = 6,
			  .size = 251,
			  .nbe = 2,
			  .be = { { "2001:db8:1::1", 1 },
				  { "2001:db8:1::2", 1 } } };
static struct tvip vg = { .addr = "2001:db8::1",
			  .port = 53,
			  .proto = 17,
			  .flags = LB_VIP_F_ENCAP,
			  .size = 251,
			  .nbe = 1,
			  .be = { { "2001:db8:1::3", 1 } } };
static struct tvip vh = { .addr = "2001:db8::2",
			  .port = 0,
			  .proto = 17,
			  .flags = LB_VIP_F_ENCAP,
			  .size = 251,
			  .nbe = 1,
			  .be = { { "2001:db8:1::4", 1 } } };
static struct tvip vi = { .addr = "2001:db8::2",
			  .port = 443,
			  .proto = 6,
			  .size = 251,
			  .nbe = 1,
			  .be = { { "2001:db8:1::5", 1 } } };
static struct tvip *vips[] = { &va, &vb, &vc, &vd, &ve, &vf, &vg, &vh, &vi };
#define NVIPS (sizeof(vips) / sizeof(vips[0]))

static const char *const vip_addrs4[] = { "10.0.0.1", "10.0.0.2", "10.0.0.3" };
static const char *const vip_addrs6[] = { "2001:db8::1", "2001:db8::2" };
static const uint16_t vip_ports[] = { 80, 53, 443, 8080, 22 };

/* the VIPs as the oracle reads them: parsed once */
static struct ovip {
	struct tvip *v;
	int fam;
	uint8_t addr[16];
	uint8_t be_addr[MAX_TBE][16];
	int be_fam[MAX_TBE];
} ovips[NVIPS];

static uint8_t encap_src4[16], encap_src6[16];

/* ---------------------------------------------------------------- random */

static uint64_t rng_state;

static uint64_t rnd(void) /* splitmix64 */
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rn(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

static int chance(unsigned int pct)
{
	return rn(100) < pct;
}

/* ---------------------------------------------------------------- bytes */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)be16(p) << 16 | be16(p + 2);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* The one's complement sum of a message (RFC 1071), not complemented. */
static uint32_t osum(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += be16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* A message with its checksum in place sums to 0xffff. */
static int csum_ok(const uint8_t *p, size_t len, uint32_t seed)
{
	return osum(p, len, seed) == 0xffff;
}

static uint32_t pseudo6(const uint8_t *src, const uint8_t *dst, size_t len,
			uint8_t nh)
{
	uint32_t s = osum(src, 16, 0);

	s = osum(dst, 16, s);
	return osum((const uint8_t[]){ 0, 0, len >> 8, len & 0xff, 0, 0, 0,
				       nh },
		    8, s);
}

/* ---------------------------------------------------------------- oracle */

static const struct ovip *o_lookup(int fam, const uint8_t *addr, uint16_t port,
				   uint8_t proto)
{
	const struct ovip *any = NULL;

	for (size_t i = 0; i < NVIPS; i++) {
		const struct ovip *o = &ovips[i];

		if (o->fam != fam || memcmp(o->addr, addr, fam == 4 ? 4 : 16) ||
		    o->v->proto != proto)
			continue;
		if (o->v->port == port)
			return o;
		if (!o->v->port)
			any = o;
	}
	return any;
}

static int o_is_vip_addr(int fam, const uint8_t *addr)
{
	for (size_t i = 0; i < NVIPS; i++)
		if (ovips[i].fam == fam &&
		    !memcmp(ovips[i].addr, addr, fam == 4 ? 4 : 16))
			return 1;
	return 0;
}

static int o_has_backend(const struct ovip *o)
{
	for (int i = 0; i < o->v->nbe; i++)
		if (o->v->be[i].weight)
			return 1;
	return 0;
}

/* The usable backend of o whose MAC a frame was sent to, or -1. */
static int o_backend(const struct ovip *o, const uint8_t *mac)
{
	for (int i = 0; i < o->v->nbe; i++) {
		uint8_t m[6];

		fx_be_mac(o->v->be[i].id, m);
		if (!memcmp(m, mac, 6))
			return o->v->be[i].weight ? i : -1;
	}
	return -1;
}

/* What the oracle reads from a frame. */
struct opkt {
	size_t len;
	size_t l3; /* 0: not IP, or its destination is unreadable */
	int fam;
	int vipaddr; /* destination is a VIP address */
	enum lb_stat bad; /* malformed: the drop reason, else LB_STAT_RX */
	int frag;
	uint8_t src[16], dst[16];
	uint8_t tos;
	int df;
	size_t end; /* end of the IP datagram */
	size_t l4;
	int proto; /* -1: none */
	uint16_t sport, dport;
};

static int is_ext(int nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60;
}

/* The IP header at off: family, addresses, and whether the destination is
 * a VIP address. */
static void o_addrs(struct opkt *o, const uint8_t *b, size_t off, int fam)
{
	size_t alen = fam == 4 ? 4 : 16, at = off + (fam == 4 ? 12 : 8);

	o->fam = fam;
	o->l3 = off;
	memcpy(o->src, b + at, alen);
	memcpy(o->dst, b + at + alen, alen);
	o->vipaddr = o_is_vip_addr(fam, o->dst);
}

static void o_parse(const uint8_t *b, size_t len, struct opkt *o)
{
	size_t off = 14, need = 0;
	uint16_t et;

	memset(o, 0, sizeof(*o));
	o->len = len;
	o->proto = -1;
	o->bad = LB_STAT_RX;
	if (len < 14)
		return;
	et = be16(b + 12);
	for (int i = 0; i < 2 && (et == 0x8100 || et == 0x88a8); i++) {
		if (off + 4 > len)
			return;
		et = be16(b + off + 2);
		off += 4;
	}
	if (et == 0x0800) {
		size_t hlen, tot;

		if (off + 20 > len)
			return;
		o_addrs(o, b, off, 4);
		o->tos = b[off + 1];
		o->df = !!(b[off + 6] & 0x40);
		hlen = (size_t)(b[off] & 0xf) * 4;
		tot = be16(b + off + 2);
		if (b[off] >> 4 != 4 || hlen < 20 || tot < hlen) {
			o->bad = LB_STAT_DROP_BAD_HEADER;
			return;
		}
		if (off + tot > len) {
			o->bad = LB_STAT_DROP_TRUNCATED;
			return;
		}
		o->end = off + tot;
		if (be16(b + off + 6) & 0x3fff) {
			o->frag = 1;
			return;
		}
		o->proto = b[off + 9];
		o->l4 = off + hlen;
	} else if (et == 0x86dd) {
		size_t p;
		int nh;

		if (off + 40 > len)
			return;
		o_addrs(o, b, off, 6);
		o->tos = (uint8_t)((b[off] & 0xf) << 4 | b[off + 1] >> 4);
		if (b[off] >> 4 != 6) {
			o->bad = LB_STAT_DROP_BAD_HEADER;
			return;
		}
		if (off + 40 + be16(b + off + 4) > len) {
			o->bad = LB_STAT_DROP_TRUNCATED;
			return;
		}
		o->end = off + 40 + be16(b + off + 4);
		nh = b[off + 6];
		p = off + 40;
		/* RFC 8200 4: up to four headers are walked; AH counts its
		 * length in 4-byte units less 2 (RFC 4302), the rest in 8-byte
		 * units less 1; a fragment header with an offset or M flag
		 * makes a fragment */
		for (int i = 0; i < 4 && is_ext(nh); i++) {
			int next;

			if (p + 8 > o->end) {
				o->bad = LB_STAT_DROP_BAD_LENGTH;
				return;
			}
			next = b[p];
			if (nh == 44) {
				if (be16(b + p + 2) & 0xfff9) {
					o->frag = 1;
					return;
				}
				p += 8;
			} else if (nh == 51) {
				p += ((size_t)b[p + 1] + 2) * 4;
			} else {
				p += ((size_t)b[p + 1] + 1) * 8;
			}
			nh = next;
		}
		if (is_ext(nh)) {
			o->bad = LB_STAT_DROP_EXTHDR_LIMIT;
			return;
		}
		if (p > o->end) {
			o->bad = LB_STAT_DROP_BAD_LENGTH;
			return;
		}
		o->proto = nh;
		o->l4 = p;
	} else {
		return;
	}
	if (o->proto == 6)
		need = 20;
	else if (o->proto == 17 || o->proto == 1 || o->proto == 58)
		need = 8;
	if (need && o->l4 + need > o->end) {
		o->bad = LB_STAT_DROP_BAD_LENGTH;
		return;
	}
	if (o->proto == 6 || o->proto == 17) {
		o->sport = be16(b + o->l4);
		o->dport = be16(b + o->l4 + 2);
	}
}

/* RFC 1122 3.2.2, RFC 4443 2.4(e): who may get an answer from us. */
static int o_may_answer(const uint8_t *b, const struct opkt *o)
{
	static const uint8_t zero[16], one[16] = { [15] = 1 };

	if (b[0] & 1) /* sent to a group MAC */
		return 0;
	if (o->fam == 4)
		return o->src[0] != 0 && o->src[0] != 127 && o->src[0] < 224;
	return o->src[0] != 0xff && memcmp(o->src, zero, 16) &&
	       memcmp(o->src, one, 16);
}

enum okind { K_PASS, K_DROP, K_FWD, K_ECHO, K_PTB_SENT, K_PASS_OR_DROP };

struct expect {
	enum okind kind;
	enum lb_stat reason; /* K_DROP, K_PASS_OR_DROP */
	const struct ovip *vip; /* K_FWD, and the VIP whose counters to watch */
	int icmp_err; /* K_FWD: an ICMP too-big sent on */
	uint32_t mtu; /* K_PTB_SENT */
	const char *why; /* what the oracle saw, for a failure report */
};

static void drop(struct expect *e, enum lb_stat reason, const char *why)
{
	e->kind = K_DROP;
	e->reason = reason;
	e->why = why;
}

/* A packet of VIP o's flow (or an ICMP error quoting one), to be sent on. */
static void o_forward(const uint8_t *b, const struct opkt *p,
		      const struct ovip *o, int icmp_err, struct expect *e)
{
	size_t l3len = p->end - p->l3, olen;
	uint32_t mtu;

	e->vip = o;
	e->icmp_err = icmp_err;
	if (!o_has_backend(o))
		return drop(e, LB_STAT_DROP_NO_BACKEND, "VIP without backend");
	if (!(o->v->flags & LB_VIP_F_ENCAP)) {
		e->kind = K_FWD;
		e->why = "DSR to the VIP's backend";
		return;
	}
	/* the test's encapsulating VIPs have backends of one family */
	olen = o->be_fam[0] == 6 ? 40 : 20;
	if (l3len + olen <= FX_MAX_PKT_SIZE) {
		e->kind = K_FWD;
		e->why = "encapsulated to the VIP's backend";
		return;
	}
	if (icmp_err)
		return drop(e, LB_STAT_DROP_TOO_BIG,
			    "ICMP error too big to encapsulate");
	/* too big once encapsulated: "fragmentation needed" to a DF sender,
	 * "packet too big" in IPv6, reporting the MTU less the outer header,
	 * never below the family's minimum; only if that helps */
	mtu = FX_MAX_PKT_SIZE - (uint32_t)olen;
	if (p->fam == 4 && mtu < 68)
		mtu = 68;
	if (p->fam == 6 && mtu < 1280)
		mtu = 1280;
	if ((p->fam == 4 && !p->df) || mtu >= l3len || !o_may_answer(b, p))
		return drop(e, LB_STAT_DROP_TOO_BIG, "too big, no ICMP error");
	e->kind = K_PTB_SENT;
	e->mtu = mtu;
	e->why = "too big: ICMP error to the sender";
}

/* An ICMP too-big to a VIP address: the flow it quotes, and its VIP. */
static void o_too_big(const uint8_t *b, const struct opkt *p, struct expect *e)
{
	size_t q = p->l4 + 8, hlen;
	const uint8_t *qsrc;
	uint8_t qproto;
	const struct ovip *o;

	if (q + (p->fam == 4 ? 20 : 40) > p->end)
		return drop(e, LB_STAT_DROP_BAD_LENGTH,
			    "quote past the IP length");
	if (p->fam == 4) {
		hlen = (size_t)(b[q] & 0xf) * 4;
		if (b[q] >> 4 != 4 || hlen < 20 || (be16(b + q + 6) & 0x1fff))
			return drop(e, LB_STAT_DROP_ICMP_BAD_QUOTE,
				    "quote is no IPv4 header");
		qsrc = b + q + 12;
		qproto = b[q + 9];
	} else {
		hlen = 40;
		if (b[q] >> 4 != 6)
			return drop(e, LB_STAT_DROP_ICMP_BAD_QUOTE,
				    "quote is no IPv6 header");
		qsrc = b + q + 8;
		qproto = b[q + 6];
	}
	if (q + hlen + 4 > p->end)
		return drop(e, LB_STAT_DROP_BAD_LENGTH,
			    "quoted ports past the IP length");
	if (memcmp(qsrc, p->dst, p->fam == 4 ? 4 : 16))
		return drop(e, LB_STAT_DROP_ICMP_VIP_MISMATCH,
			    "quote from another address than the destination");
	/* the quote is the backend's reply: its source port is the VIP's */
	o = o_lookup(p->fam, p->dst, be16(b + q + hlen), qproto);
	if (!o)
		return drop(e, LB_STAT_DROP_NO_BACKEND, "quotes no VIP's flow");
	o_forward(b, p, o, 1, e);
}

static void o_decide(const uint8_t *b, const struct opkt *p, struct expect *e)
{
	const struct ovip *o;
	int icmp4 = p->fam == 4 && p->proto == 1;
	int icmp6 = p->fam == 6 && p->proto == 58;

	memset(e, 0, sizeof(*e));
	e->kind = K_PASS;
	e->why = "not for a VIP address";
	if (!p->fam || !p->l3 || !p->vipaddr)
		return;
	if (p->bad != LB_STAT_RX) {
		/* an ICMP number of the other family is no VIP protocol:
		 * passed or, short, dropped as malformed */
		if (p->bad == LB_STAT_DROP_BAD_LENGTH &&
		    ((p->fam == 4 && p->proto == 58) ||
		     (p->fam == 6 && p->proto == 1))) {
			e->kind = K_PASS_OR_DROP;
			e->reason = p->bad;
			e->why = "short ICMP of the other family";
			return;
		}
		return drop(e, p->bad, "malformed, to a VIP address");
	}
	if (p->frag)
		return drop(e, LB_STAT_DROP_FRAGMENT,
			    "fragment to a VIP address");
	if (icmp4 || icmp6) {
		uint8_t type = b[p->l4], code = b[p->l4 + 1];

		if ((icmp4 && type == 8 && code == 0) ||
		    (icmp6 && type == 128 && code == 0)) {
			if (!o_may_answer(b, p))
				return drop(
					e, LB_STAT_DROP_BAD_SOURCE,
					"echo from a source without answer");
			e->kind = K_ECHO;
			e->why = "echo request to a VIP address";
			return;
		}
		if ((icmp4 && type == 3 && code == 4) || (icmp6 && type == 2))
			return o_too_big(b, p, e);
		e->why = "other ICMP to a VIP address";
		return;
	}
	if (p->proto != 6 && p->proto != 17) {
		e->why = "other protocol to a VIP address";
		return;
	}
	o = o_lookup(p->fam, p->dst, p->dport, (uint8_t)p->proto);
	if (!o) {
		e->why = "VIP address, no VIP on the port";
		return;
	}
	o_forward(b, p, o, 0, e);
}

/* ------------------------------------------------------- output checks */

static const char *chk_fwd(const struct pkt *in, const struct pkt *out,
			   const struct opkt *p, const struct expect *e,
			   int *be_out)
{
	const struct ovip *o = e->vip;
	int be = o_backend(o, out->b);
	size_t l3 = p->l3, olen, l3len = p->end - p->l3;
	const uint8_t *h;

	*be_out = be;
	if (out->len < 14)
		return "output shorter than Ethernet";
	if (be < 0)
		return "sent to a MAC that is no usable backend of the VIP";
	if (memcmp(out->b + 6, LB_MAC, 6))
		return "source MAC is not the balancer's";
	if (!(o->v->flags & LB_VIP_F_ENCAP)) {
		if (out->len != in->len ||
		    memcmp(out->b + 12, in->b + 12, in->len - 12))
			return "DSR changed more than the MACs";
		return NULL;
	}
	olen = o->be_fam[be] == 6 ? 40 : 20;
	if (out->len != in->len + olen)
		return "encapsulated length is not input + outer header";
	if (memcmp(out->b + 12, in->b + 12, l3 - 2 - 12))
		return "VLAN tags changed";
	if (be16(out->b + l3 - 2) != (olen == 40 ? 0x86dd : 0x0800))
		return "EtherType is not the outer header's";
	if (memcmp(out->b + l3 + olen, in->b + l3, in->len - l3))
		return "inner packet changed";
	h = out->b + l3;
	if (olen == 20) {
		if (h[0] != 0x45 || be16(h + 2) != l3len + 20 ||
		    !csum_ok(h, 20, 0))
			return "outer IPv4 header: version, length or checksum";
		if (h[9] != (p->fam == 4 ? 4 : 41) || h[8] == 0)
			return "outer IPv4 header: protocol or TTL";
		if (memcmp(h + 12, encap_src4, 4) ||
		    memcmp(h + 16, o->be_addr[be], 4))
			return "outer IPv4 addresses";
		if (be16(h + 2) > FX_MAX_PKT_SIZE)
			return "outer packet above the MTU";
	} else {
		if (h[0] >> 4 != 6 ||
		    (uint8_t)((h[0] & 0xf) << 4 | h[1] >> 4) != p->tos)
			return "outer IPv6 header: version or traffic class";
		if (be16(h + 4) != l3len || h[6] != (p->fam == 4 ? 4 : 41) ||
		    h[7] == 0)
			return "outer IPv6 header: length, next header or hops";
		if (memcmp(h + 8, encap_src6, 16) ||
		    memcmp(h + 24, o->be_addr[be], 16))
			return "outer IPv6 addresses";
		if (40 + l3len > FX_MAX_PKT_SIZE)
			return "outer packet above the MTU";
	}
	return NULL;
}

static const char *chk_l2_back(const struct pkt *in, const struct pkt *out,
			       size_t l3)
{
	if (out->len < l3)
		return "output shorter than its L2 header";
	if (memcmp(out->b, in->b + 6, 6) || memcmp(out->b + 6, in->b, 6))
		return "MACs not swapped";
	if (memcmp(out->b + 12, in->b + 12, l3 - 12))
		return "VLAN tags or EtherType changed";
	return NULL;
}

static const char *chk_echo(const struct pkt *in, const struct pkt *out,
			    const struct opkt *p)
{
	const uint8_t *i = in->b + p->l3, *h = out->b + p->l3;
	size_t l4 = p->l4, mlen = p->end - p->l4;
	const char *why = chk_l2_back(in, out, p->l3);

	if (why)
		return why;
	if (out->len != in->len)
		return "echo reply length differs";
	if (memcmp(out->b + l4 + 4, in->b + l4 + 4, in->len - l4 - 4) ||
	    out->b[l4 + 1] != in->b[l4 + 1])
		return "echo reply data changed";
	if (p->fam == 4) {
		size_t hlen = (size_t)(i[0] & 0xf) * 4;

		if (memcmp(h, i, 8) || h[9] != i[9] ||
		    memcmp(h + 20, i + 20, hlen - 20))
			return "echo reply IPv4 header changed";
		/* the updates keep a valid checksum valid (and a bad one
		 * bad: the datapath does not verify requests) */
		if (csum_ok(h, hlen, 0) != csum_ok(i, hlen, 0))
			return "echo reply IPv4 header checksum invalid";
		if (memcmp(h + 12, i + 16, 4) || memcmp(h + 16, i + 12, 4))
			return "echo reply addresses not swapped";
		if (out->b[l4] != 0)
			return "echo reply type is not 0";
		if (csum_ok(out->b + l4, mlen, 0) !=
		    csum_ok(in->b + l4, mlen, 0))
			return "echo reply ICMP checksum invalid";
	} else {
		if (memcmp(h, i, 7) || memcmp(h + 40, i + 40, l4 - p->l3 - 40))
			return "echo reply IPv6 header changed";
		if (memcmp(h + 8, i + 24, 16) || memcmp(h + 24, i + 8, 16))
			return "echo reply addresses not swapped";
		if (out->b[l4] != 129)
			return "echo reply type is not 129";
		if (csum_ok(out->b + l4, mlen,
			    pseudo6(h + 8, h + 24, mlen, 58)) !=
		    csum_ok(in->b + l4, mlen, pseudo6(i + 8, i + 24, mlen, 58)))
			return "echo reply ICMPv6 checksum invalid";
	}
	return NULL;
}

static const char *chk_too_big_sent(const struct pkt *in, const struct pkt *out,
				    const struct opkt *p, uint32_t mtu)
{
	const uint8_t *h = out->b + p->l3;
	size_t l3len = p->end - p->l3, iplen = p->fam == 4 ? 20 : 40;
	size_t cap = p->fam == 4 ? 576 - 28 : 1280 - 48, quote, mlen;
	const uint8_t *ic = h + iplen;
	const char *why = chk_l2_back(in, out, p->l3);

	if (why)
		return why;
	quote = l3len < cap ? l3len : cap;
	mlen = 8 + quote;
	if (out->len != p->l3 + iplen + mlen)
		return "ICMP error length";
	if (memcmp(ic + 8, in->b + p->l3, quote))
		return "ICMP error quote differs from the packet";
	if (p->fam == 4) {
		if (h[0] != 0x45 || be16(h + 2) != 20 + mlen || h[9] != 1 ||
		    !csum_ok(h, 20, 0))
			return "ICMP error IPv4 header";
		if (memcmp(h + 12, p->dst, 4) || memcmp(h + 16, p->src, 4))
			return "ICMP error addresses";
		if (ic[0] != 3 || ic[1] != 4 || be32(ic + 4) != mtu)
			return "ICMP error type, code or MTU";
		if (!csum_ok(ic, mlen, 0))
			return "ICMP error checksum invalid";
	} else {
		if (h[0] >> 4 != 6 || be16(h + 4) != mlen || h[6] != 58)
			return "ICMPv6 error header";
		if (memcmp(h + 8, p->dst, 16) || memcmp(h + 24, p->src, 16))
			return "ICMPv6 error addresses";
		if (ic[0] != 2 || ic[1] != 0 || be32(ic + 4) != mtu)
			return "ICMPv6 error type, code or MTU";
		if (!csum_ok(ic, mlen, pseudo6(h + 8, h + 24, mlen, 58)))
			return "ICMPv6 error checksum invalid";
	}
	return NULL;
}

/* ---------------------------------------------------------------- counters */

static int read_stats(uint64_t s[LB_STAT_MAX])
{
	struct lb_counter c[LB_STAT_MAX];
	int err = lb_dp_stats(dp.stats, c);

	for (uint32_t k = 0; k < LB_STAT_MAX; k++)
		s[k] = c[k].packets;
	return err;
}

struct vcount {
	struct lb_counter vip, be[MAX_TBE];
};

static void read_vip(const struct ovip *o, struct vcount *c)
{
	memset(c, 0, sizeof(*c));
	if (!o)
		return;
	lb_dp_counter(dp.vip_stats, o->v->id, &c->vip);
	for (int i = 0; i < o->v->nbe; i++)
		lb_dp_counter(dp.backend_stats, o->v->be[i].id, &c->be[i]);
}

static const char *chk_counters(const struct expect *e, int action,
				const uint64_t *s0, const uint64_t *s1,
				const struct vcount *c0,
				const struct vcount *c1, int be, size_t len)
{
	static char buf[128];
	static const char *names[LB_STAT_MAX] = { LB_STAT_NAMES };
	uint64_t outcomes = 0;
	int drop_reason = -1, fwd = action == XDP_TX && e->kind == K_FWD;

	for (int i = 0; i < LB_STAT_MAX; i++) {
		if (i == LB_STAT_PASS || i == LB_STAT_TX ||
		    i >= LB_STAT_DROP_FIRST)
			outcomes += s1[i] - s0[i];
		if (i >= LB_STAT_DROP_FIRST && s1[i] != s0[i])
			drop_reason = i;
	}
	if (s1[LB_STAT_RX] - s0[LB_STAT_RX] != 1 || outcomes != 1)
		return "rx and the outcome counters did not grow by one";
	if (action == XDP_PASS && s1[LB_STAT_PASS] == s0[LB_STAT_PASS])
		return "passed, but pass did not grow";
	if (action == XDP_TX && s1[LB_STAT_TX] == s0[LB_STAT_TX])
		return "sent, but tx did not grow";
	if (action == XDP_DROP && drop_reason != (int)e->reason) {
		snprintf(buf, sizeof(buf), "dropped as %s, want %s",
			 drop_reason >= 0 ? names[drop_reason] : "nothing",
			 names[e->reason]);
		return buf;
	}
	if (s1[LB_STAT_ICMP_ECHO] - s0[LB_STAT_ICMP_ECHO] !=
	    (uint64_t)(action == XDP_TX && e->kind == K_ECHO))
		return "icmp_echo_reply does not match the verdict";
	if (s1[LB_STAT_ICMP_PTB] - s0[LB_STAT_ICMP_PTB] !=
	    (uint64_t)(fwd && e->icmp_err))
		return "icmp_too_big_forwarded does not match the verdict";
	if (s1[LB_STAT_PTB_SENT] - s0[LB_STAT_PTB_SENT] !=
	    (uint64_t)(action == XDP_TX && e->kind == K_PTB_SENT))
		return "too_big_sent does not match the verdict";
	if (s1[LB_STAT_ENCAP] - s0[LB_STAT_ENCAP] !=
	    (uint64_t)(fwd && (e->vip->v->flags & LB_VIP_F_ENCAP)))
		return "encap does not match the verdict";
	if (!e->vip)
		return NULL;
	if (c1->vip.packets - c0->vip.packets != (uint64_t)fwd ||
	    c1->vip.bytes - c0->vip.bytes != (fwd ? len : 0))
		return "the VIP's counter does not match the verdict";
	for (int i = 0; i < e->vip->v->nbe; i++) {
		int mine = fwd && i == be;

		if (c1->be[i].packets - c0->be[i].packets != (uint64_t)mine ||
		    c1->be[i].bytes - c0->be[i].bytes != (mine ? len : 0))
			return "a backend's counter does not match the verdict";
	}
	return NULL;
}

/* ---------------------------------------------------------------- inputs */

static const char *v4_special[] = { "0.1.2.3", "127.0.0.1", "224.0.0.5",
				    "240.1.2.3", "255.255.255.255" };
static const char *v6_special[] = { "::", "::1", "ff02::1" };

static void rand_src(int fam, char *buf, size_t size)
{
	if (chance(8)) {
		snprintf(buf, size, "%s",
			 fam == 4 ? v4_special[rn(5)] : v6_special[rn(3)]);
		return;
	}
	if (fam == 4)
		snprintf(buf, size, "192.0.%u.%u", rn(4), rn(256));
	else
		snprintf(buf, size, "2001:db8:c::%x", rn(0x10000));
}

static void rand_dst(int fam, char *buf, size_t size)
{
	if (chance(85))
		snprintf(buf, size, "%s",
			 fam == 4 ? vip_addrs4[rn(3)] : vip_addrs6[rn(2)]);
	else
		snprintf(buf, size, "%s",
			 fam == 4 ? "10.0.0.9" : "2001:db8::9");
}

static uint16_t rand_port(void)
{
	return chance(80) ? vip_ports[rn(5)] : (uint16_t)rn(65536);
}

static uint8_t payload[PKT_MAX];

/* n payload bytes: random, or all zero */
static void fill_payload(size_t n)
{
	int zero = chance(30);

	for (size_t i = 0; i < n && i < sizeof(payload); i++)
		payload[i] = zero ? 0 : (uint8_t)rnd();
}

/* mostly small; often around the MTU once an outer header is added */
static size_t rand_payload_len(size_t room)
{
	uint32_t r = rn(100);
	size_t n = r < 70 ? rn(80) : r < 85 ? rn(1500) : 1380 + rn(100);

	return n < room ? n : room;
}

static void base_spec(struct pkt_spec *s, int fam, const char *src,
		      const char *dst, uint8_t proto)
{
	static const uint8_t lb_mac[6] = FX_LB_MAC, client[6] = FX_CLIENT_MAC;

	memset(s, 0, sizeof(*s));
	s->family = fam;
	memcpy(s->dmac, lb_mac, 6);
	memcpy(s->smac, client, 6);
	if (chance(5)) { /* a group address */
		memset(s->dmac, 0xff, 6);
		s->dmac[0] = (uint8_t)(rn(2) ? 1 : 0x33);
	}
	s->src = src;
	s->dst = dst;
	s->proto = proto;
	s->tos = chance(30) ? (uint8_t)rnd() : 0;
	s->ttl = (uint8_t)(1 + rn(255));
	s->payload = payload;
	if (chance(25)) {
		s->nvlan = 1 + (int)rn(2);
		for (int i = 0; i < 2; i++) {
			s->vlan_tpid[i] = rn(2) ? 0x8100 : 0x88a8;
			s->vlan_tci[i] = (uint16_t)rn(4096);
		}
	}
	if (fam == 4) {
		s->frag = chance(60) ? 0x4000 : 0; /* DF */
		if (chance(15))
			s->ip_opt_len = 4 * (int)rn(11);
	} else if (chance(25)) {
		static const uint8_t kinds[] = { 0, 43, 60, 44 };

		s->next = (int)rn(5);
		for (int i = 0; i < s->next; i++)
			s->ext[i] = kinds[rn(4)];
	}
}

/* Insert an IPv6 extension header right after the fixed header. */
static void insert_ext6(struct pkt *p, size_t l3, uint8_t kind)
{
	size_t len = kind == 51 ? 12 : 8 * (1 + rn(2));
	uint8_t *h = p->b + l3 + 40;

	if (p->len + len > PKT_MAX || p->len < l3 + 40)
		return;
	memmove(h + len, h, p->len - l3 - 40);
	memset(h, 0, len);
	h[0] = p->b[l3 + 6];
	h[1] = kind == 51 ? (uint8_t)(len / 4 - 2) : (uint8_t)(len / 8 - 1);
	if (kind == 44)
		put16(h + 2,
		      (uint16_t)rnd()); /* offset and M: maybe a fragment */
	p->b[l3 + 6] = kind;
	put16(p->b + l3 + 4, (uint16_t)(be16(p->b + l3 + 4) + len));
	p->len += len;
}

/* An ICMP too-big to a VIP address, quoting some flow. */
static void gen_too_big(int fam, struct pkt_spec *s, struct pkt *p, char *src,
			char *dst, size_t bufsz)
{
	static struct pkt quoted;
	struct pkt_spec q;
	char qsrc[64], client[64];
	size_t qlen, hdrs;

	rand_src(fam, src, bufsz);
	rand_dst(fam, dst, bufsz);
	/* usually the VIP the error was sent to; else another address */
	if (chance(80))
		snprintf(qsrc, sizeof(qsrc), "%s", dst);
	else
		rand_dst(fam, qsrc, sizeof(qsrc));
	snprintf(client, sizeof(client), "%s",
		 fam == 4 ? "192.0.2.7" : "2001:db8:c::7");
	base_spec(&q, fam, qsrc, client, chance(70) ? 6 : 17);
	q.no_eth = 1;
	q.nvlan = 0;
	q.next = 0;
	q.sport = rand_port();
	q.dport = (uint16_t)rn(65536);
	q.tcp_flags = 0x10;
	hdrs = (fam == 4 ? 20 + (size_t)q.ip_opt_len : 40) +
	       (q.proto == 6 ? 20 : 8);
	q.payload_len = chance(80) ? rn(64) : rn((uint32_t)(1480 - hdrs));
	fill_payload(q.payload_len);
	pkt_build(&q, &quoted);
	if (chance(8)) /* the quote is not of the error's family */
		quoted.b[0] = (uint8_t)((fam == 4 ? 0x60 : 0x40) |
					(quoted.b[0] & 0xf));
	qlen = quoted.len;
	if (chance(40)) /* errors quote a prefix of the packet */
		qlen = (fam == 4 ? 20 : 40) + rn((uint32_t)(qlen + 1));
	if (qlen > quoted.len)
		qlen = quoted.len;
	base_spec(s, fam, src, dst, fam == 4 ? 1 : 58);
	s->icmp_type = fam == 4 ? 3 : 2;
	s->icmp_code = fam == 4 ? 4 : (uint8_t)(chance(90) ? 0 : rn(256));
	s->icmp_rest = chance(50) ? 1280 : (uint32_t)rnd();
	s->payload = quoted.b;
	s->payload_len = qlen;
	pkt_build(s, p);
}

/* One random input; returns a short description of how it was made. */
static const char *gen(struct pkt *p)
{
	static char src[64], dst[64];
	struct pkt_spec s;
	int fam = rn(2) ? 4 : 6;
	uint32_t what = rn(100);
	const char *desc;
	size_t l3;

	if (what < 5) { /* garbage */
		p->len = 14 + rn(200);
		for (size_t i = 0; i < p->len; i++)
			p->b[i] = (uint8_t)rnd();
		if (chance(50))
			put16(p->b + 12, rn(2) ? 0x0800 : 0x86dd);
		return "garbage";
	}
	if (what < 8) { /* ARP or another EtherType */
		memset(p->b, 0xff, 6);
		memcpy(p->b + 6, CLIENT_MAC, 6);
		put16(p->b + 12, rn(2) ? 0x0806 : (uint16_t)rnd());
		p->len = 14 + 28 + rn(40);
		for (size_t i = 14; i < p->len; i++)
			p->b[i] = (uint8_t)rnd();
		return "not IP";
	}
	if (what < 23) {
		gen_too_big(fam, &s, p, src, dst, sizeof(src));
		desc = "ICMP too-big";
	} else {
		rand_src(fam, src, sizeof(src));
		rand_dst(fam, dst, sizeof(dst));
		if (what < 40) { /* echo request */
			base_spec(&s, fam, src, dst, fam == 4 ? 1 : 58);
			s.icmp_type = fam == 4 ? 8 : 128;
			s.icmp_rest = chance(30) ? 0 : (uint32_t)rnd();
			if (chance(10)) /* another type or code */
				s.icmp_type = (uint8_t)rnd();
			if (chance(5))
				s.icmp_code = (uint8_t)rnd();
			desc = "ICMP echo";
		} else if (what < 45) { /* another protocol */
			static const uint8_t other[] = { 4, 41, 47, 132, 1, 58 };

			base_spec(&s, fam, src, dst, other[rn(6)]);
			desc = "other protocol";
		} else {
			base_spec(&s, fam, src, dst, rn(2) ? 6 : 17);
			s.sport = (uint16_t)(1024 + rn(64512));
			s.dport = rand_port();
			s.tcp_flags = (uint8_t)(rn(2) ? 0x02 : rnd());
			desc = "TCP/UDP";
		}
		s.payload_len = rand_payload_len(
			1500 - (fam == 4 ? 20 + (size_t)s.ip_opt_len : 40) -
			(s.proto == 6 ? 20 : 8));
		if (s.proto == 1 || s.proto == 58)
			s.payload_len = chance(30) ? 0 : s.payload_len;
		fill_payload(s.payload_len);
		pkt_build(&s, p);
	}

	/* mutations */
	l3 = 14 + 4 * (size_t)s.nvlan;
	if (fam == 6 && chance(10)) {
		static const uint8_t kinds[] = { 0, 43, 60, 44, 51 };
		int n = 1 + (int)rn(5);

		for (int i = 0; i < n; i++)
			insert_ext6(p, l3, kinds[rn(5)]);
	}
	if (fam == 4 && chance(5)) /* a fragment */
		put16(p->b + l3 + 6, (uint16_t)(be16(p->b + l3 + 6) |
						(rn(2) ? 0x2000 : rn(0x2000))));
	if (chance(20)) { /* Ethernet padding or trailer */
		size_t n = rn(48);

		for (size_t i = 0; i < n && p->len < PKT_MAX; i++)
			p->b[p->len++] = chance(50) ? 0 : (uint8_t)rnd();
	}
	if (chance(15) && p->len >= l3 + 40) { /* the IP length */
		size_t cur = fam == 4 ? be16(p->b + l3 + 2) :
					be16(p->b + l3 + 4) + 40;
		size_t v = chance(60) ? rn((uint32_t)cur + 1) :
					cur + 1 + rn(64);

		if (fam == 4) {
			put16(p->b + l3 + 2, (uint16_t)v);
			if (chance(50)) { /* keep the header checksum valid */
				size_t h = (size_t)(p->b[l3] & 0xf) * 4;

				put16(p->b + l3 + 10, 0);
				put16(p->b + l3 + 10,
				      (uint16_t)~osum(p->b + l3, h, 0));
			}
		} else {
			put16(p->b + l3 + 4, (uint16_t)(v < 40 ? 0 : v - 40));
		}
	}
	if (fam == 4 && chance(4) && p->len > l3) /* bad IHL */
		p->b[l3] = (uint8_t)(0x40 | rn(16));
	if (chance(15) && p->len > 0) { /* byte flips in one header */
		static const size_t from[] = { 0, 12, 14, 34, 54, 62 };
		size_t at = from[rn(6)] + rn(24);

		if (at < p->len)
			p->b[at] ^= (uint8_t)(1 + rn(255));
	}
	if (chance(3) && p->len + 4 <= PKT_MAX && p->len >= 14) {
		/* one more VLAN tag than the parser takes */
		memmove(p->b + 16, p->b + 12, p->len - 12);
		put16(p->b + 12, 0x8100);
		p->len += 4;
	}
	/* truncated anywhere; BPF_PROG_TEST_RUN takes no frame below 14 */
	if (chance(12) && p->len > 14)
		p->len = 14 + rn((uint32_t)p->len - 14 + 1);
	return desc;
}

/* ---------------------------------------------------------------- main */

static void hex(const char *tag, const struct pkt *p)
{
	printf("  %s (%zu bytes): ", tag, p->len);
	for (size_t i = 0; i < p->len; i++)
		printf("%02x", p->b[i]);
	printf("\n");
}

static int setup(struct lb **skel)
{
	int err = fx_load(skel, CT_SIZE, vips, NVIPS);

	if (err)
		return err;
	for (size_t i = 0; i < NVIPS; i++) {
		ovips[i].v = vips[i];
		ovips[i].fam = pkt_addr(vips[i]->addr, ovips[i].addr);
		for (int b = 0; b < vips[i]->nbe; b++)
			ovips[i].be_fam[b] = pkt_addr(vips[i]->be[b].addr,
						      ovips[i].be_addr[b]);
	}
	pkt_addr(FX_ENCAP_SRC4, encap_src4);
	pkt_addr(FX_ENCAP_SRC6, encap_src6);
	return 0;
}

/* How often each verdict was seen: the run must reach every kind. */
struct coverage {
	uint64_t pass, fwd_dsr, fwd_encap, icmp_fwd, echo, ptb_sent;
	uint64_t drops[LB_STAT_MAX];
};

int main(void)
{
	static const char *names[LB_STAT_MAX] = { LB_STAT_NAMES };
	static struct pkt in, out;
	uint64_t seed = 1, n = 60000, fails = 0, s0[LB_STAT_MAX],
		 s1[LB_STAT_MAX];
	struct coverage cov = {};
	struct lb *skel = NULL;
	const char *env;
	int err;

	if (geteuid() != 0)
		t_skip_all("tests/bpf needs root (BPF_PROG_TEST_RUN)");
	if (!getenv("LB_TEST_VERBOSE"))
		libbpf_set_print(NULL);
	env = getenv("LB_FUZZ_SEED");
	if (env && *env)
		seed = strtoull(env, NULL, 0);
	env = getenv("LB_FUZZ_PACKETS");
	if (env && *env)
		n = strtoull(env, NULL, 0);
	printf("pktfuzz: seed %" PRIu64 ", %" PRIu64
	       " packets (LB_FUZZ_SEED, LB_FUZZ_PACKETS)\n",
	       seed, n);
	fflush(stdout);
	rng_state = seed;
	err = setup(&skel);
	if (err) {
		t_fail("pktfuzz_setup", "loading the datapath failed: %d", err);
		return t_exit();
	}

	for (uint64_t i = 0; i < n && fails < MAX_FAILS; i++) {
		struct vcount c0, c1;
		struct expect e;
		struct opkt p;
		const char *desc = gen(&in), *why = NULL;
		int action, be = -1;

		o_parse(in.b, in.len, &p);
		o_decide(in.b, &p, &e);
		read_vip(e.vip, &c0);
		if (read_stats(s0)) {
			t_fail("pktfuzz_oracle", "cannot read the counters");
			break;
		}
		action = fx_run(fx_prog_fd, &in, &out);
		read_stats(s1);
		read_vip(e.vip, &c1);

		switch (action) {
		case XDP_PASS:
			if (e.kind != K_PASS && e.kind != K_PASS_OR_DROP)
				why = "passed";
			else if (out.len != in.len ||
				 memcmp(out.b, in.b, in.len))
				why = "passed with changed bytes";
			cov.pass++;
			break;
		case XDP_DROP:
			if (e.kind != K_DROP && e.kind != K_PASS_OR_DROP)
				why = "dropped";
			else
				cov.drops[e.reason]++;
			break;
		case XDP_TX:
			if (e.kind == K_FWD) {
				why = chk_fwd(&in, &out, &p, &e, &be);
				if (e.icmp_err)
					cov.icmp_fwd++;
				else if (e.vip->v->flags & LB_VIP_F_ENCAP)
					cov.fwd_encap++;
				else
					cov.fwd_dsr++;
			} else if (e.kind == K_ECHO) {
				why = chk_echo(&in, &out, &p);
				cov.echo++;
			} else if (e.kind == K_PTB_SENT) {
				why = chk_too_big_sent(&in, &out, &p, e.mtu);
				cov.ptb_sent++;
			} else {
				why = "sent";
			}
			break;
		default:
			why = "no XDP verdict (test run failed)";
		}
		if (!why)
			why = chk_counters(&e, action, s0, s1, &c0, &c1, be,
					   in.len);
		if (why) {
			fails++;
			printf("packet %" PRIu64 " (%s): %s %s; oracle: %s\n",
			       i, desc, fx_action_name(action), why, e.why);
			hex("in", &in);
			if (action == XDP_TX || action == XDP_PASS)
				hex("out", &out);
		}
	}

	printf("pktfuzz: pass %" PRIu64 ", DSR %" PRIu64 ", encap %" PRIu64
	       ", ICMP error forwarded %" PRIu64 ", echo reply %" PRIu64
	       ", too-big sent %" PRIu64 "\n",
	       cov.pass, cov.fwd_dsr, cov.fwd_encap, cov.icmp_fwd, cov.echo,
	       cov.ptb_sent);
	printf("pktfuzz: drops");
	for (int i = LB_STAT_DROP_FIRST; i < LB_STAT_MAX; i++)
		if (cov.drops[i])
			printf(" %s %" PRIu64, names[i], cov.drops[i]);
	printf("\n");
	if (fails) {
		t_fail("pktfuzz_oracle",
		       "%" PRIu64 " packets against the oracle (seed %" PRIu64
		       "; rerun with LB_FUZZ_SEED=%" PRIu64 ")",
		       fails, seed, seed);
	} else if (n >= 20000 && (!cov.pass || !cov.fwd_dsr || !cov.fwd_encap ||
				  !cov.icmp_fwd || !cov.echo || !cov.ptb_sent ||
				  !cov.drops[LB_STAT_DROP_BAD_LENGTH] ||
				  !cov.drops[LB_STAT_DROP_BAD_SOURCE] ||
				  !cov.drops[LB_STAT_DROP_ICMP_VIP_MISMATCH] ||
				  !cov.drops[LB_STAT_DROP_ICMP_BAD_QUOTE] ||
				  !cov.drops[LB_STAT_DROP_TRUNCATED] ||
				  !cov.drops[LB_STAT_DROP_FRAGMENT] ||
				  !cov.drops[LB_STAT_DROP_TOO_BIG])) {
		t_fail("pktfuzz_oracle",
		       "a verdict class was never reached (seed %" PRIu64 ")",
		       seed);
	} else {
		printf("pktfuzz: %" PRIu64
		       " packets agree with the oracle (seed %" PRIu64 ")\n",
		       n, seed);
		t_pass("pktfuzz_oracle");
	}
	lb__destroy(skel);
	return t_exit();
}
