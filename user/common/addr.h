/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * addr.h - parsing and printing of addresses, endpoints and VIPs as users
 * write them:  ADDR, ADDR:PORT, [V6ADDR]:PORT, and VIPs as ADDR:PORT/PROTO,
 * [V6]:PORT/PROTO or ADDR/PROTO (all ports).
 */
#ifndef LB_ADDR_H
#define LB_ADDR_H

#include <stddef.h>
#include <stdint.h>

#include "lb_abi.h"

#define LB_ADDRSTRLEN 46
#define LB_VIPSTRLEN 64
#define LB_ERRLEN 160

struct lb_vip_spec {
	union lb_addr addr;
	uint8_t family; /* LB_FAMILY_V4 / V6 */
	uint8_t proto; /* IPPROTO_TCP / UDP */
	uint16_t port; /* host order; 0 = all ports */
};

/* Each returns 0, or -EINVAL with a one-line message in err naming what is
 * wrong with the input. */
int lb_parse_addr(const char *s, union lb_addr *a, uint8_t *family, char *err,
		  size_t errlen);
int lb_parse_port(const char *s, uint16_t *port, char *err, size_t errlen);
int lb_parse_proto(const char *s, uint8_t *proto, char *err, size_t errlen);
int lb_parse_vip(const char *s, struct lb_vip_spec *v, char *err,
		 size_t errlen);
/* ADDR:PORT or [V6]:PORT (port required). */
int lb_parse_endpoint(const char *s, union lb_addr *a, uint8_t *family,
		      uint16_t *port, char *err, size_t errlen);
/* A decimal number in [min, max]; leading zeros are allowed (decimal, never
 * octal).  Ports are read the same way. */
int lb_parse_u32(const char *s, const char *what, uint32_t min, uint32_t max,
		 uint32_t *out, char *err, size_t errlen);

/* 0 if a can be a backend, the destination of forwarded packets: refuses
 * unspecified, loopback, multicast, broadcast and reserved (240/4) IPv4
 * addresses; ::, ::1, ff00::/8, link-local fe80::/10 (no interface scope
 * to send it on), and the IPv4-mapped and IPv4-compatible forms (write the
 * IPv4 address).  -EINVAL with a one-line message otherwise. */
int lb_addr_check_unicast(const union lb_addr *a, uint8_t family, char *err,
			  size_t errlen);

const char *lb_format_addr(const union lb_addr *a, uint8_t family, char *buf,
			   size_t len);
const char *lb_format_vip(const struct lb_vip_spec *v, char *buf, size_t len);
const char *lb_proto_name(uint8_t proto);

/* Key of the datapath's VIP map for a VIP. */
void lb_vip_key_of(const struct lb_vip_spec *v, struct lb_vip_key *k);

#endif /* LB_ADDR_H */
