// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* addr.c - address, endpoint and VIP parsing with precise errors. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
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
	for (const char *p = s; *p; p++) {
		if (isdigit((unsigned char)*p))
			continue;
		/* 1e3, 61.0, -1: a number, but not written as an integer */
		errno = 0;
		(void)strtod(s, &end);
		if (end != s && !*end && !errno && !isspace((unsigned char)*s))
			return fail("%s '%s' must be an integer %u..%u", what,
				    s, min, max);
		return fail("invalid %s '%s': not a number", what, s);
	}
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

/* Split "ADDR:PORT", "[V6]:PORT", "ADDR" or "[V6]" into parts.  host is
 * copied into a caller-sized buffer; *port points into s at the port text
 * (all of it, however long, so that lb_parse_port sees what was written), or
 * is NULL when no port was given.  *bracketed tells whether the address was
 * in brackets, which only an IPv6 address may be. */
static int split_hostport(const char *s, char *host, size_t hlen,
			  const char **port, bool *bracketed, char *err,
			  size_t errlen)
{
	const char *colon;
	size_t n;

	*port = NULL;
	*bracketed = s[0] == '[';
	if (*bracketed) {
		const char *close = strchr(s, ']');

		if (!close)
			return fail("invalid address '%s': missing ']'", s);
		n = close - s - 1;
		if (close[1] == ':')
			*port = close + 2;
		else if (close[1])
			return fail("invalid address '%s': junk after ']'", s);
		s++;
	} else {
		colon = strchr(s, ':');
		n = strlen(s);
		/* two colons or more: a bare IPv6 address, no port possible */
		if (colon && !strchr(colon + 1, ':')) {
			n = colon - s;
			*port = colon + 1;
		}
	}
	if (n >= hlen)
		return fail("invalid address '%.*s': too long", (int)n, s);
	memcpy(host, s, n);
	host[n] = 0;
	return 0;
}

/* After split_hostport: refuse "[10.0.0.1]", since brackets only serve to
 * set an IPv6 address apart from its port. */
static int check_brackets(const char *host, uint8_t family, bool bracketed,
			  char *err, size_t errlen)
{
	if (bracketed && family != LB_FAMILY_V6)
		return fail("invalid address '[%s]': brackets are for IPv6 "
			    "only, write %s without them",
			    host, host);
	return 0;
}

#define NOT_UNICAST ", not a unicast destination"

/*
 * Why a could not be the destination of a load-balanced packet, or NULL.
 * The reason is written to why (for the embedded IPv4 address of mapped and
 * compatible forms).  IPv6 link-local is refused only when scope_needed: a
 * VIP is matched on the balancer's own link, but a backend address is sent
 * to, and fe80::/10 means nothing without an interface.
 */
static const char *not_unicast(const union lb_addr *a, uint8_t family,
			       bool scope_needed, char *why, size_t whylen)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t zero[16];
	const uint8_t *b = a->bytes;
	char v4[INET_ADDRSTRLEN];

	if (family == LB_FAMILY_V4) {
		if (b[0] == 0)
			return "unspecified (0.0.0.0/8)" NOT_UNICAST;
		if (b[0] == 127)
			return "loopback (127.0.0.0/8)" NOT_UNICAST;
		if (b[0] >= 224 && b[0] <= 239)
			return "multicast (224.0.0.0/4)" NOT_UNICAST;
		if (a->v4 == 0xffffffff)
			return "the broadcast address" NOT_UNICAST;
		if (b[0] >= 240)
			return "reserved (240.0.0.0/4)" NOT_UNICAST;
		return NULL;
	}
	if (family != LB_FAMILY_V6)
		return "unknown address family";
	if (!memcmp(b, zero, 16))
		return "unspecified (::)" NOT_UNICAST;
	if (!memcmp(b, zero, 15) && b[15] == 1)
		return "loopback (::1)" NOT_UNICAST;
	if (b[0] == 0xff)
		return "multicast (ff00::/8)" NOT_UNICAST;
	if (scope_needed && b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return "link-local (fe80::/10), unusable without an "
		       "interface scope";
	/* ::ffff:a.b.c.d only stands for an IPv4 peer inside a dual-stack
	 * socket API; ::a.b.c.d is the deprecated IPv4-compatible form
	 * (RFC 4291 2.5.5.1).  Neither is ever an IPv6 destination on the
	 * wire. */
	if (!memcmp(b, v4mapped, 12) || !memcmp(b, zero, 12)) {
		inet_ntop(AF_INET, b + 12, v4, sizeof(v4));
		snprintf(why, whylen,
			 "an IPv4-%s IPv6 address, never an IPv6 "
			 "destination: write the IPv4 address %s",
			 b[10] ? "mapped" : "compatible", v4);
		return why;
	}
	return NULL;
}

int lb_addr_check_unicast(const union lb_addr *a, uint8_t family, char *err,
			  size_t errlen)
{
	char why[128], text[LB_ADDRSTRLEN];
	const char *reason = not_unicast(a, family, true, why, sizeof(why));

	if (!reason)
		return 0;
	if (family != LB_FAMILY_V4 && family != LB_FAMILY_V6)
		return fail("invalid address: unknown address family %u",
			    family);
	return fail("invalid address '%s': %s",
		    lb_format_addr(a, family, text, sizeof(text)), reason);
}

int lb_parse_vip(const char *s, struct lb_vip_spec *v, char *err, size_t errlen)
{
	char buf[128], host[64], why[128];
	const char *slash, *port, *reason;
	bool bracketed;
	int e;

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
	e = split_hostport(buf, host, sizeof(host), &port, &bracketed, err,
			   errlen);
	if (e)
		return e;
	e = lb_parse_addr(host, &v->addr, &v->family, err, errlen);
	if (e)
		return e;
	e = check_brackets(host, v->family, bracketed, err, errlen);
	if (e)
		return e;
	if (port) {
		e = lb_parse_port(port, &v->port, err, errlen);
		if (e)
			return e;
		if (!v->port)
			return fail(
				"port 0 in '%s': write ADDR/PROTO for all ports",
				s);
	}
	reason = not_unicast(&v->addr, v->family, false, why, sizeof(why));
	if (reason)
		return fail("invalid VIP address '%s': %s", host, reason);
	return 0;
}

int lb_parse_endpoint(const char *s, union lb_addr *a, uint8_t *family,
		      uint16_t *port, char *err, size_t errlen)
{
	const char *p;
	char host[64];
	bool bracketed;
	int e;

	if (!s || !*s)
		return fail("missing ADDR:PORT");
	if (strlen(s) >= 80)
		return fail("invalid endpoint: too long");
	e = split_hostport(s, host, sizeof(host), &p, &bracketed, err, errlen);
	if (e)
		return e;
	if (!p)
		return fail("missing port in '%s' (ADDR:PORT or [V6]:PORT)", s);
	e = lb_parse_addr(host, a, family, err, errlen);
	if (e)
		return e;
	e = check_brackets(host, *family, bracketed, err, errlen);
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
