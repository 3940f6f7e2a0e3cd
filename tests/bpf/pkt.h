/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pkt.h - a packet builder for the datapath fixtures.  It computes every
 * length and checksum from scratch (full RFC 1071 sums), independently of
 * the datapath's incremental updates, so a wrong checksum on either side
 * shows up as a byte mismatch.
 */
#ifndef LB_TEST_PKT_H
#define LB_TEST_PKT_H

#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 2048

struct pkt {
	uint8_t b[PKT_MAX];
	size_t len;
};

struct pkt_spec {
	int family; /* 4 or 6 */
	uint8_t dmac[6], smac[6];
	int nvlan; /* 0..2 */
	uint16_t vlan_tpid[2]; /* 0 = 0x8100 */
	uint16_t vlan_tci[2];
	const char *src, *dst; /* addresses as text */
	uint8_t proto; /* 6, 17, 1, 58, or anything (raw payload) */
	uint16_t sport, dport; /* TCP/UDP */
	uint8_t tcp_flags; /* 0x02 SYN, 0x10 ACK, ... */
	uint8_t tos; /* IPv4 TOS / IPv6 traffic class */
	uint8_t ttl; /* 0 = 64 */
	int ip_opt_len; /* IPv4 option bytes (multiple of 4, NOP-filled) */
	int bad_ihl; /* IPv4: write this IHL instead (1..4) */
	uint16_t frag; /* IPv4 frag_off field (host order); v6: frag hdr */
	int v6_frag; /* IPv6: add a fragment header with this offset|M */
	uint8_t ext[4]; /* IPv6 extension headers before L4 (0, 43, 60) */
	int next; /* number of ext[] */
	uint8_t icmp_type, icmp_code;
	uint32_t icmp_rest; /* id/seq or MTU word, host order */
	const void *payload;
	size_t payload_len;
	int no_eth; /* build the IP packet only */
};

/* Build the packet described by s into p; returns its length. */
size_t pkt_build(const struct pkt_spec *s, struct pkt *p);

/*
 * Build what the balancer should emit for an encapsulated packet: the L2
 * header of in (MACs replaced, innermost EtherType per the outer family),
 * an outer header, and in's IP packet.  flow_label is used for IPv6 outer.
 */
size_t pkt_encap(const struct pkt *in, int l3_off, int outer_family,
		 const char *osrc, const char *odst, const uint8_t dmac[6],
		 const uint8_t smac[6], uint8_t tos, uint32_t flow_label,
		 struct pkt *out);

/*
 * Build the ICMP error that reports mtu to the sender of in (L2 header of
 * l3_off bytes): "fragmentation needed" for IPv4, "packet too big" for
 * IPv6.  The L2 header of in with the MACs swapped, an IP header from in's
 * destination to its source (IPv4: TOS 0xc0, ID 0, DF, TTL 64; IPv6:
 * class 0, flow label 0, hop limit 64), and the first quote bytes of in's
 * IP packet.
 */
size_t pkt_too_big(const struct pkt *in, int l3_off, uint32_t mtu, size_t quote,
		   struct pkt *out);

/* Parse an address; returns the family (4 or 6) or 0. */
int pkt_addr(const char *text, uint8_t out[16]);

/* Pseudo-header sum (not complemented) for TCP/UDP/ICMPv6 checksums. */
uint32_t pkt_pseudo(int family, const uint8_t *src, const uint8_t *dst,
		    uint8_t proto, size_t len);

/* Internet checksum over a buffer (complemented). */
uint16_t pkt_csum(const void *data, size_t len, uint32_t seed);

/* Read a packet written as hex digits (spaces allowed); returns its length,
 * 0 if the text is not hex. */
size_t pkt_hex(const char *hex, struct pkt *p);

/* Render the first difference of two packets into buf; "" if equal. */
const char *pkt_diff(const struct pkt *got, const struct pkt *want, char *buf,
		     size_t size);

#endif /* LB_TEST_PKT_H */
