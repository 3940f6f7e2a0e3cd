// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* addr.c - address, endpoint and VIP parsing with precise errors. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

#define fail(...)                                           \
	({                                                  \
		if (err && errlen)                          \
			snprintf(err, errlen, __VA_ARGS__); \
		-EINVAL;                                    \
	})

int lb_parse_addr(const char *s, union lb_addr *a, uint8_t *family, char *err,
		  size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (!s || !*s)
		return fail("missing address");
	if (inet_pton(AF_INET, s, &a->v4) == 1) {
		*family = LB_FAMILY_V4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->v6) == 1) {
		*family = LB_FAMILY_V6;
		return 0;
	}
	return fail("invalid address '%s'", s);
}

int lb_parse_u32(const char *s, const char *what, uint32_t min, uint32_t max,
		 uint32_t *out, char *err, size_t errlen)
{
	unsigned long long v;
	char *end;

	if (!s || !*s)
		return fail("missing %s", what);
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p))
			return fail("invalid %s '%s': not a number", what, s);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return fail("%s '%s' out of range %u..%u", what, s, min, max);
	*out = (uint32_t)v;
	return 0;
}

int lb_parse_port(const char *s, uint16_t *port, char *err, size_t errlen)
{
	uint32_t v;
	int e = lb_parse_u32(s, "port", 0, 65535, &v, err, errlen);

	if (!e)
		*port = (uint16_t)v;
	return e;
}

int lb_parse_proto(const char *s, uint8_t *proto, char *err, size_t errlen)
{
	if (!s || !*s)
		return fail("missing protocol (tcp or udp)");
	if (!strcasecmp(s, "tcp"))
		*proto = IPPROTO_TCP;
	else if (!strcasecmp(s, "udp"))
		*proto = IPPROTO_UDP;
	else
		return fail("unknown protocol '%s' (tcp or udp)", s);
	return 0;
}

/* Split "ADDR:PORT", "[V6]:PORT", "ADDR" or "[V6]" into parts.  have_port
 * tells whether a port was given.  Buffers are caller-sized. */
static int split_hostport(const char *s, char *host, size_t hlen, char *port,
			  size_t plen, int *have_port, char *err, size_t errlen)
{
	const char *colon;

	*have_port = 0;
	port[0] = 0;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close)
			return fail("invalid address '%s': missing ']'", s);
		if ((size_t)(close - s - 1) >= hlen)
			return fail("invalid address '%s'", s);
		memcpy(host, s + 1, close - s - 1);
		host[close - s - 1] = 0;
		if (close[1] == ':') {
			*have_port = 1;
			snprintf(port, plen, "%s", close + 2);
		} else if (close[1]) {
			return fail("invalid address '%s': junk after ']'", s);
		}
		return 0;
	}
	colon = strchr(s, ':');
	if (colon && strchr(colon + 1, ':')) {
		/* a bare IPv6 address: no port possible */
		snprintf(host, hlen, "%s", s);
		return 0;
	}
	if (colon) {
		if ((size_t)(colon - s) >= hlen)
			return fail("invalid address '%s'", s);
		memcpy(host, s, colon - s);
		host[colon - s] = 0;
		*have_port = 1;
		snprintf(port, plen, "%s", colon + 1);
		return 0;
	}
	snprintf(host, hlen, "%s", s);
	return 0;
}

int lb_parse_vip(const char *s, struct lb_vip_spec *v, char *err, size_t errlen)
{
	char buf[128], host[64], port[16];
	const char *slash;
	int have_port, e;

	memset(v, 0, sizeof(*v));
	if (!s || !*s)
		return fail("missing VIP (ADDR:PORT/PROTO or ADDR/PROTO)");
	if (strlen(s) >= sizeof(buf))
		return fail("invalid VIP: too long");
	slash = strrchr(s, '/');
	if (!slash)
		return fail("invalid VIP '%s': missing /tcp or /udp", s);
	memcpy(buf, s, slash - s);
	buf[slash - s] = 0;
	e = lb_parse_proto(slash + 1, &v->proto, err, errlen);
	if (e)
		return e;
	e = split_hostport(buf, host, sizeof(host), port, sizeof(port),
			   &have_port, err, errlen);
	if (e)
		return e;
	e = lb_parse_addr(host, &v->addr, &v->family, err, errlen);
	if (e)
		return e;
	if (have_port) {
		e = lb_parse_port(port, &v->port, err, errlen);
		if (e)
			return e;
		if (!v->port)
			return fail(
				"port 0 in '%s': write ADDR/PROTO for all ports",
				s);
	}
	if (v->family == LB_FAMILY_V4 &&
	    (v->addr.bytes[0] == 0 || v->addr.bytes[0] >= 224 ||
	     v->addr.bytes[0] == 127))
		return fail("invalid VIP address '%s': not a unicast address",
			    host);
	if (v->family == LB_FAMILY_V6 &&
	    (v->addr.bytes[0] == 0xff ||
	     !memcmp(v->addr.bytes, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 15)))
		return fail("invalid VIP address '%s': not a unicast address",
			    host);
	return 0;
}

int lb_parse_endpoint(const char *s, union lb_addr *a, uint8_t *family,
		      uint16_t *port, char *err, size_t errlen)
{
	char host[64], p[16];
	int have_port, e;

	if (!s || !*s)
		return fail("missing ADDR:PORT");
	if (strlen(s) >= 80)
		return fail("invalid endpoint: too long");
	e = split_hostport(s, host, sizeof(host), p, sizeof(p), &have_port, err,
			   errlen);
	if (e)
		return e;
	if (!have_port)
		return fail("missing port in '%s' (ADDR:PORT or [V6]:PORT)", s);
	e = lb_parse_addr(host, a, family, err, errlen);
	if (e)
		return e;
	return lb_parse_port(p, port, err, errlen);
}

const char *lb_format_addr(const union lb_addr *a, uint8_t family, char *buf,
			   size_t len)
{
	if (!inet_ntop(family == LB_FAMILY_V4 ? AF_INET : AF_INET6,
		       family == LB_FAMILY_V4 ? (const void *)&a->v4 :
						(const void *)a->v6,
		       buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

const char *lb_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	}
	return "?";
}

const char *lb_format_vip(const struct lb_vip_spec *v, char *buf, size_t len)
{
	char a[LB_ADDRSTRLEN];

	lb_format_addr(&v->addr, v->family, a, sizeof(a));
	if (!v->port)
		snprintf(buf, len, "%s/%s", a, lb_proto_name(v->proto));
	else if (v->family == LB_FAMILY_V6)
		snprintf(buf, len, "[%s]:%u/%s", a, v->port,
			 lb_proto_name(v->proto));
	else
		snprintf(buf, len, "%s:%u/%s", a, v->port,
			 lb_proto_name(v->proto));
	return buf;
}

void lb_vip_key_of(const struct lb_vip_spec *v, struct lb_vip_key *k)
{
	memset(k, 0, sizeof(*k));
	k->addr = v->addr;
	k->port = htons(v->port);
	k->proto = v->proto;
	k->family = v->family;
}
