// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* pkt.c - packet builder for datapath fixtures. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "pkt.h"

int pkt_addr(const char *text, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, text, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, text, out) == 1)
		return 6;
	return 0;
}

static uint32_t sum16(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

uint16_t pkt_csum(const void *data, size_t len, uint32_t seed)
{
	uint32_t sum = sum16(data, len, seed);

	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

uint32_t pkt_pseudo(int family, const uint8_t *src, const uint8_t *dst,
		    uint8_t proto, size_t len)
{
	uint32_t sum = 0;
	int alen = family == 4 ? 4 : 16;

	sum = sum16(src, alen, sum);
	sum = sum16(dst, alen, sum);
	sum += proto;
	sum += (uint32_t)len & 0xffff;
	sum += (uint32_t)(len >> 16);
	return sum;
}

/* L2 header; returns its length.  The last EtherType is et. */
static size_t build_l2(const struct pkt_spec *s, uint8_t *b, uint16_t et)
{
	size_t off = 12;

	memcpy(b, s->dmac, 6);
	memcpy(b + 6, s->smac, 6);
	for (int i = 0; i < s->nvlan; i++) {
		put16(b + off, s->vlan_tpid[i] ? s->vlan_tpid[i] : 0x8100);
		put16(b + off + 2, s->vlan_tci[i]);
		off += 4;
	}
	put16(b + off, et);
	return off + 2;
}

/* The transport header and payload at b; returns the length. */
static size_t build_l4(const struct pkt_spec *s, uint8_t *b, const uint8_t *src,
		       const uint8_t *dst)
{
	size_t len;
	uint32_t ps;

	switch (s->proto) {
	case 6:
		memset(b, 0, 20);
		put16(b, s->sport);
		put16(b + 2, s->dport);
		put32(b + 4, 1000);
		put32(b + 8, s->tcp_flags & 0x10 ? 2000 : 0);
		b[12] = 5 << 4;
		b[13] = s->tcp_flags;
		put16(b + 14, 65535);
		memcpy(b + 20, s->payload, s->payload_len);
		len = 20 + s->payload_len;
		ps = pkt_pseudo(s->family, src, dst, 6, len);
		put16(b + 16, pkt_csum(b, len, ps));
		return len;
	case 17:
		put16(b, s->sport);
		put16(b + 2, s->dport);
		len = 8 + s->payload_len;
		put16(b + 4, (uint16_t)len);
		put16(b + 6, 0);
		memcpy(b + 8, s->payload, s->payload_len);
		ps = pkt_pseudo(s->family, src, dst, 17, len);
		put16(b + 6, pkt_csum(b, len, ps) ?: 0xffff);
		return len;
	case 1:
	case 58:
		b[0] = s->icmp_type;
		b[1] = s->icmp_code;
		put16(b + 2, 0);
		put32(b + 4, s->icmp_rest);
		memcpy(b + 8, s->payload, s->payload_len);
		len = 8 + s->payload_len;
		ps = s->proto == 58 ? pkt_pseudo(6, src, dst, 58, len) : 0;
		put16(b + 2, pkt_csum(b, len, ps));
		return len;
	default:
		memcpy(b, s->payload, s->payload_len);
		return s->payload_len;
	}
}

size_t pkt_build(const struct pkt_spec *s, struct pkt *p)
{
	uint8_t src[16], dst[16];
	uint8_t *ip;
	size_t l2 = 0, l4len;

	memset(p, 0, sizeof(*p));
	pkt_addr(s->src, src);
	pkt_addr(s->dst, dst);
	if (!s->no_eth)
		l2 = build_l2(s, p->b, s->family == 4 ? 0x0800 : 0x86dd);
	ip = p->b + l2;

	if (s->family == 4) {
		size_t hlen = 20 + s->ip_opt_len;

		l4len = build_l4(s, ip + hlen, src, dst);
		ip[0] = 0x40 | (s->bad_ihl ? (size_t)s->bad_ihl : hlen / 4);
		ip[1] = s->tos;
		put16(ip + 2, (uint16_t)(hlen + l4len));
		put16(ip + 4, 0x1234);
		put16(ip + 6, s->frag);
		ip[8] = s->ttl ? s->ttl : 64;
		ip[9] = s->proto;
		put16(ip + 10, 0);
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		memset(ip + 20, 1, s->ip_opt_len); /* NOP options */
		put16(ip + 10, pkt_csum(ip, hlen, 0));
		p->len = l2 + hlen + l4len;
	} else {
		size_t off = 40;
		uint8_t nh = s->proto;

		/* extension headers, built back to front for next-header */
		uint8_t chain[6];
		int n = 0;

		for (int i = 0; i < s->next; i++)
			chain[n++] = s->ext[i];
		if (s->v6_frag)
			chain[n++] = 44;
		for (int i = 0; i < n; i++) {
			uint8_t *eh = ip + off;
			uint8_t next = i + 1 < n ? chain[i + 1] : s->proto;

			memset(eh, 0, 8);
			eh[0] = next;
			if (chain[i] == 44) {
				put16(eh + 2, (uint16_t)s->v6_frag);
				put32(eh + 4, 0xabcd);
			} else {
				eh[1] = 0; /* 8 bytes */
				eh[2] = 1; /* PadN option of 4 bytes */
				eh[3] = 4;
			}
			off += 8;
		}
		if (n)
			nh = chain[0];
		l4len = build_l4(s, ip + off, src, dst);
		put32(ip, 6U << 28 | (uint32_t)s->tos << 20 | 0x12345);
		put16(ip + 4, (uint16_t)(off - 40 + l4len));
		ip[6] = nh;
		ip[7] = s->ttl ? s->ttl : 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
		p->len = l2 + off + l4len;
	}
	return p->len;
}

size_t pkt_encap(const struct pkt *in, int l3_off, int outer_family,
		 const char *osrc, const char *odst, const uint8_t dmac[6],
		 const uint8_t smac[6], uint8_t tos, uint32_t flow_label,
		 struct pkt *out)
{
	const uint8_t *iip = in->b + l3_off;
	uint8_t src[16], dst[16];
	int inner_v4 = (iip[0] >> 4) == 4;
	size_t ilen = inner_v4 ? (size_t)(iip[2] << 8 | iip[3]) :
				 40 + (size_t)(iip[4] << 8 | iip[5]);
	size_t olen = outer_family == 4 ? 20 : 40;
	uint8_t *o;

	pkt_addr(osrc, src);
	pkt_addr(odst, dst);
	memset(out, 0, sizeof(*out));
	memcpy(out->b, in->b, l3_off);
	memcpy(out->b, dmac, 6);
	memcpy(out->b + 6, smac, 6);
	put16(out->b + l3_off - 2, outer_family == 4 ? 0x0800 : 0x86dd);
	o = out->b + l3_off;
	if (outer_family == 4) {
		o[0] = 0x45;
		o[1] = tos;
		put16(o + 2, (uint16_t)(ilen + 20));
		put16(o + 4, 0);
		put16(o + 6, 0x4000);
		o[8] = 64;
		o[9] = inner_v4 ? 4 : 41;
		put16(o + 10, 0);
		memcpy(o + 12, src, 4);
		memcpy(o + 16, dst, 4);
		put16(o + 10, pkt_csum(o, 20, 0));
	} else {
		put32(o,
		      6U << 28 | (uint32_t)tos << 20 | (flow_label & 0xfffff));
		put16(o + 4, (uint16_t)ilen);
		o[6] = inner_v4 ? 4 : 41;
		o[7] = 64;
		memcpy(o + 8, src, 16);
		memcpy(o + 24, dst, 16);
	}
	/* everything after the L2 header, trailing padding included */
	memcpy(o + olen, iip, in->len - l3_off);
	out->len = in->len + olen;
	return out->len;
}

size_t pkt_too_big(const struct pkt *in, int l3_off, uint32_t mtu, size_t quote,
		   struct pkt *out)
{
	const uint8_t *iip = in->b + l3_off;
	int v4 = (iip[0] >> 4) == 4;
	size_t iplen = v4 ? 20 : 40, len = 8 + quote;
	uint8_t *o = out->b + l3_off, *ic = o + iplen;

	memset(out, 0, sizeof(*out));
	memcpy(out->b, in->b, l3_off);
	memcpy(out->b, in->b + 6, 6);
	memcpy(out->b + 6, in->b, 6);
	ic[0] = v4 ? 3 : 2;
	ic[1] = v4 ? 4 : 0;
	put32(ic + 4, mtu);
	memcpy(ic + 8, iip, quote);
	if (v4) {
		o[0] = 0x45;
		o[1] = 0xc0;
		put16(o + 2, (uint16_t)(20 + len));
		put16(o + 6, 0x4000);
		o[8] = 64;
		o[9] = 1;
		memcpy(o + 12, iip + 16, 4);
		memcpy(o + 16, iip + 12, 4);
		put16(o + 10, pkt_csum(o, 20, 0));
		put16(ic + 2, pkt_csum(ic, len, 0));
	} else {
		put32(o, 6U << 28);
		put16(o + 4, (uint16_t)len);
		o[6] = 58;
		o[7] = 64;
		memcpy(o + 8, iip + 24, 16);
		memcpy(o + 24, iip + 8, 16);
		put16(ic + 2,
		      pkt_csum(ic, len, pkt_pseudo(6, o + 8, o + 24, 58, len)));
	}
	out->len = l3_off + iplen + len;
	return out->len;
}

size_t pkt_hex(const char *hex, struct pkt *p)
{
	static const char digits[] = "0123456789abcdef";
	int hi = -1;

	memset(p, 0, sizeof(*p));
	for (; *hex; hex++) {
		const char *d = strchr(digits, tolower((unsigned char)*hex));

		if (*hex == ' ')
			continue;
		if (!*hex || !d || p->len >= PKT_MAX)
			return p->len = 0;
		if (hi < 0) {
			hi = (int)(d - digits);
			continue;
		}
		p->b[p->len++] = (uint8_t)(hi << 4 | (int)(d - digits));
		hi = -1;
	}
	return hi < 0 ? p->len : (p->len = 0);
}

const char *pkt_diff(const struct pkt *got, const struct pkt *want, char *buf,
		     size_t size)
{
	size_t n = got->len < want->len ? got->len : want->len;

	buf[0] = 0;
	for (size_t i = 0; i < n; i++) {
		if (got->b[i] != want->b[i]) {
			snprintf(
				buf, size,
				"byte %zu: got 0x%02x want 0x%02x (len %zu/%zu)",
				i, got->b[i], want->b[i], got->len, want->len);
			return buf;
		}
	}
	if (got->len != want->len)
		snprintf(buf, size, "length: got %zu want %zu", got->len,
			 want->len);
	return buf;
}
