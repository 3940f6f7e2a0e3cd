// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_addr.c - address, endpoint and VIP parsing and printing
 * (user/common/addr.c): every accepted form gives the right value, every
 * refused form gives an error that names the part that is wrong, and what
 * lb_format_* prints parses back to the same value.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "harness.h"

/* Fill an error buffer with a marker so that a missing message shows. */
#define ERR_UNSET "(no message)"

static void addr_of(const char *text, union lb_addr *a, uint8_t *family)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, text, &a->v4) == 1) {
		*family = LB_FAMILY_V4;
	} else if (inet_pton(AF_INET6, text, a->v6) == 1) {
		*family = LB_FAMILY_V6;
	} else {
		fprintf(stderr, "bad address in the test itself: %s\n", text);
		exit(2);
	}
}

/* ---------------------------------------------------------------- VIPs */

struct vip_ok {
	const char *in;
	const char *addr; /* as inet_pton reads it */
	uint16_t port;
	uint8_t proto;
	const char *canon; /* what lb_format_vip prints */
};

static const struct vip_ok vip_ok[] = {
	{ "10.200.100.1:80/tcp", "10.200.100.1", 80, IPPROTO_TCP,
	  "10.200.100.1:80/tcp" },
	{ "10.200.100.1:53/udp", "10.200.100.1", 53, IPPROTO_UDP,
	  "10.200.100.1:53/udp" },
	{ "10.200.100.1:1/tcp", "10.200.100.1", 1, IPPROTO_TCP,
	  "10.200.100.1:1/tcp" },
	{ "10.200.100.1:65535/tcp", "10.200.100.1", 65535, IPPROTO_TCP,
	  "10.200.100.1:65535/tcp" },
	{ "10.200.100.1/tcp", "10.200.100.1", 0, IPPROTO_TCP,
	  "10.200.100.1/tcp" },
	{ "10.200.100.1/udp", "10.200.100.1", 0, IPPROTO_UDP,
	  "10.200.100.1/udp" },
	{ "10.200.100.1:443/TCP", "10.200.100.1", 443, IPPROTO_TCP,
	  "10.200.100.1:443/tcp" },
	{ "10.200.100.1:443/Udp", "10.200.100.1", 443, IPPROTO_UDP,
	  "10.200.100.1:443/udp" },
	{ "1.0.0.0:80/tcp", "1.0.0.0", 80, IPPROTO_TCP, "1.0.0.0:80/tcp" },
	{ "223.255.255.254:80/tcp", "223.255.255.254", 80, IPPROTO_TCP,
	  "223.255.255.254:80/tcp" },
	{ "[fd00:200:100::1]:80/tcp", "fd00:200:100::1", 80, IPPROTO_TCP,
	  "[fd00:200:100::1]:80/tcp" },
	{ "[fd00:200:100::1]:53/udp", "fd00:200:100::1", 53, IPPROTO_UDP,
	  "[fd00:200:100::1]:53/udp" },
	{ "[FD00:200:100:0:0:0:0:1]:80/tcp", "fd00:200:100::1", 80, IPPROTO_TCP,
	  "[fd00:200:100::1]:80/tcp" },
	{ "[fd00:200:100::1]/udp", "fd00:200:100::1", 0, IPPROTO_UDP,
	  "fd00:200:100::1/udp" },
	{ "fd00:200:100::1/tcp", "fd00:200:100::1", 0, IPPROTO_TCP,
	  "fd00:200:100::1/tcp" },
	{ "[2001:db8::10.1.2.3]:8080/tcp", "2001:db8::a01:203", 8080,
	  IPPROTO_TCP, "[2001:db8::a01:203]:8080/tcp" },
	{ "[2001:db8:1:2:3:4:5:6]:65535/udp", "2001:db8:1:2:3:4:5:6", 65535,
	  IPPROTO_UDP, "[2001:db8:1:2:3:4:5:6]:65535/udp" },
	{ "[fe80::1]:80/tcp", "fe80::1", 80, IPPROTO_TCP, "[fe80::1]:80/tcp" },
};

static void test_vip_ok(const struct vip_ok *c)
{
	struct lb_vip_spec v, back;
	union lb_addr want;
	uint8_t fam;
	char err[LB_ERRLEN] = ERR_UNSET, buf[LB_VIPSTRLEN], name[128];
	int rc;

	snprintf(name, sizeof(name), "vip_ok %s", c->in);
	addr_of(c->addr, &want, &fam);
	rc = lb_parse_vip(c->in, &v, err, sizeof(err));
	if (rc) {
		t_fail(name, "refused (%d): %s", rc, err);
		return;
	}
	if (v.family != fam || memcmp(&v.addr, &want, sizeof(want)) ||
	    v.port != c->port || v.proto != c->proto) {
		t_fail(name, "got family %u port %u proto %u addr %s", v.family,
		       v.port, v.proto,
		       lb_format_addr(&v.addr, v.family, buf, sizeof(buf)));
		return;
	}
	lb_format_vip(&v, buf, sizeof(buf));
	if (strcmp(buf, c->canon)) {
		t_fail(name, "printed as '%s', want '%s'", buf, c->canon);
		return;
	}
	if (lb_parse_vip(buf, &back, err, sizeof(err)) ||
	    memcmp(&back, &v, sizeof(v))) {
		t_fail(name, "'%s' does not parse back to the same VIP", buf);
		return;
	}
	t_pass(name);
}

struct bad {
	const char *in;
	const char *names; /* the error must contain this */
};

static const struct bad vip_bad[] = {
	/* empty and garbage */
	{ "", "missing VIP" },
	{ "garbage", "garbage" },
	{ "/tcp", "address" },
	{ ":80/tcp", "address" },
	{ "10.200.100.1", "missing /tcp or /udp" },
	{ "10.200.100.1:80", "missing /tcp or /udp" },
	{ "not-an-address:80/tcp", "not-an-address" },
	{ "10.200.100:80/tcp", "10.200.100" },
	{ "10.200.100.256:80/tcp", "10.200.100.256" },
	{ "010.200.100.1:80/tcp", "010.200.100.1" },
	{ " 10.200.100.1:80/tcp", "10.200.100.1" },
	/* protocol */
	{ "10.200.100.1:80/", "protocol" },
	{ "10.200.100.1:80/sctp", "sctp" },
	{ "10.200.100.1:80/icmp", "icmp" },
	{ "10.200.100.1:80/tcp ", "tcp " },
	{ "10.200.100.1:80/tcpx", "tcpx" },
	{ "10.200.100.1:80/tcp/udp", "80/tcp" },
	/* port */
	{ "10.200.100.1:0/tcp", "port 0" },
	{ "10.200.100.1:65536/tcp", "65536" },
	{ "10.200.100.1:-1/tcp", "-1" },
	{ "10.200.100.1:+80/tcp", "+80" },
	{ "10.200.100.1:http/tcp", "http" },
	{ "10.200.100.1:x80/tcp", "x80" },
	{ "10.200.100.1:80x/tcp", "80x" },
	{ "10.200.100.1: 80/tcp", " 80" },
	{ "10.200.100.1:/tcp", "port" },
	{ "10.200.100.1:99999999999999999999/tcp", "port" },
	{ "10.200.100.1:80:81/tcp", "80:81" },
	/* IPv6 forms */
	{ "[fd00:200:100::1]:0/tcp", "port 0" },
	{ "[fd00:200:100::1]:65536/tcp", "65536" },
	{ "[fd00:200:100::1]:/tcp", "port" },
	{ "[fd00:200:100::1:80/tcp", "missing ']'" },
	{ "fd00:200:100::1]:80/tcp", "fd00:200:100::1]" },
	{ "[fd00:200:100::1]80/tcp", "junk after ']'" },
	{ "[fd00:200:100::1]x/tcp", "junk after ']'" },
	{ "[]:80/tcp", "address" },
	{ "[[fd00:200:100::1]]:80/tcp", "fd00:200:100::1" },
	{ "[fd00:200:100::zz]:80/tcp", "fd00:200:100::zz" },
	{ "[fe80::1%eth0]:80/tcp", "fe80::1%eth0" },
	/* a full IPv6 address with a port and no brackets */
	{ "2001:db8:1:2:3:4:5:6:80/tcp", "2001:db8:1:2:3:4:5:6:80" },
	/* mixed forms: brackets are for IPv6 only */
	{ "[10.200.100.1]:80/tcp", "10.200.100.1" },
	{ "[10.200.100.1]/tcp", "10.200.100.1" },
	/* addresses that are not a unicast destination */
	{ "0.0.0.0:80/tcp", "0.0.0.0" },
	{ "127.0.0.1:80/tcp", "127.0.0.1" },
	{ "224.0.0.1:80/udp", "224.0.0.1" },
	{ "255.255.255.255:80/udp", "255.255.255.255" },
	{ "[::]:80/tcp", "::" },
	{ "[::1]:80/tcp", "::1" },
	{ "[ff02::1]:80/udp", "ff02::1" },
	/* IPv4-mapped IPv6 never appears on the wire as a destination */
	{ "[::ffff:10.200.100.1]:80/tcp", "::ffff:10.200.100.1" },
};

static void test_vip_bad(const struct bad *c)
{
	struct lb_vip_spec v;
	char err[LB_ERRLEN] = ERR_UNSET, name[160];
	int rc;

	snprintf(name, sizeof(name), "vip_bad '%s'", c->in);
	rc = lb_parse_vip(c->in, &v, err, sizeof(err));
	if (!rc) {
		char buf[LB_VIPSTRLEN];

		t_fail(name, "accepted as %s",
		       lb_format_vip(&v, buf, sizeof(buf)));
		return;
	}
	T_CHECK(name,
		rc == -EINVAL && strstr(err, c->names) && !strchr(err, '\n'),
		"rc %d, error '%s' should name '%s'", rc, err, c->names);
}

static void test_vip_long(void)
{
	char in[512], err[LB_ERRLEN] = ERR_UNSET;
	struct lb_vip_spec v;

	/* longer than any internal buffer: refused, never truncated into
	 * something valid */
	memset(in, '0', sizeof(in));
	memcpy(in, "10.200.100.1:80", 15);
	snprintf(in + 300, sizeof(in) - 300, "/tcp");
	T_CHECK("vip_bad overlong",
		lb_parse_vip(in, &v, err, sizeof(err)) && strstr(err, "VIP") &&
			strstr(err, "too long"),
		"error '%s'", err);

	/* a long address inside brackets */
	snprintf(in, sizeof(in), "[%0100d]:80/tcp", 1);
	T_CHECK("vip_bad overlong bracketed address",
		lb_parse_vip(in, &v, err, sizeof(err)) &&
			strstr(err, "invalid"),
		"error '%s'", err);

	/* a zero-padded port longer than the port buffer: either read as 80
	 * or refused, never silently read as another port */
	snprintf(in, sizeof(in), "10.200.100.1:%020d/tcp", 80);
	if (lb_parse_vip(in, &v, err, sizeof(err)))
		T_CHECK("vip zero-padded long port",
			strstr(err, "port") && !strstr(err, "port 0"),
			"refused with a misleading error '%s'", err);
	else
		T_CHECK("vip zero-padded long port", v.port == 80,
			"read as port %u", v.port);

	/* NULL error buffer is allowed */
	T_CHECK("vip_bad without error buffer",
		lb_parse_vip("nonsense", &v, NULL, 0) == -EINVAL,
		"should be -EINVAL");
	T_CHECK("vip_bad NULL",
		lb_parse_vip(NULL, &v, err, sizeof(err)) &&
			strstr(err, "missing"),
		"error '%s'", err);
}

/* ---------------------------------------------------------------- endpoints */

struct ep_ok {
	const char *in, *addr;
	uint16_t port;
};

static const struct ep_ok ep_ok[] = {
	{ "10.200.0.10:12345", "10.200.0.10", 12345 },
	{ "10.200.0.10:0", "10.200.0.10", 0 },
	{ "10.200.0.10:65535", "10.200.0.10", 65535 },
	{ "[fd00:200::10]:443", "fd00:200::10", 443 },
	{ "[::1]:1", "::1", 1 },
	{ "[::ffff:10.0.0.1]:80", "::ffff:10.0.0.1", 80 },
};

static void test_ep_ok(const struct ep_ok *c)
{
	union lb_addr a, want;
	uint8_t fam, wfam;
	uint16_t port;
	char err[LB_ERRLEN] = ERR_UNSET, name[96];

	snprintf(name, sizeof(name), "endpoint_ok %s", c->in);
	addr_of(c->addr, &want, &wfam);
	if (lb_parse_endpoint(c->in, &a, &fam, &port, err, sizeof(err))) {
		t_fail(name, "refused: %s", err);
		return;
	}
	T_CHECK(name,
		fam == wfam && port == c->port && !memcmp(&a, &want, sizeof(a)),
		"got family %u port %u", fam, port);
}

static const struct bad ep_bad[] = {
	{ "", "missing" },
	{ "10.200.0.10", "missing port" },
	{ "fd00:200::10", "missing port" },
	{ "[fd00:200::10]", "missing port" },
	{ "10.200.0.10:", "port" },
	{ "10.200.0.10:65536", "65536" },
	{ "10.200.0.10:-1", "-1" },
	{ "10.200.0.10:abc", "abc" },
	{ "10.200.0.10:80 ", "80 " },
	{ "10.200.0.1x:80", "10.200.0.1x" },
	{ "[fd00:200::10:80", "missing ']'" },
	{ "[fd00:200::10]:80/tcp", "80/tcp" },
	{ "[fd00:200::10]-80", "junk after ']'" },
	{ "10.200.0.10:80:90", "80:90" },
	{ "[10.200.0.10]:80", "10.200.0.10" },
};

static void test_ep_bad(const struct bad *c)
{
	union lb_addr a;
	uint8_t fam;
	uint16_t port;
	char err[LB_ERRLEN] = ERR_UNSET, name[96];
	int rc;

	snprintf(name, sizeof(name), "endpoint_bad '%s'", c->in);
	rc = lb_parse_endpoint(c->in, &a, &fam, &port, err, sizeof(err));
	if (!rc) {
		t_fail(name, "accepted (port %u)", port);
		return;
	}
	T_CHECK(name, rc == -EINVAL && strstr(err, c->names),
		"rc %d, error '%s' should name '%s'", rc, err, c->names);
}

static void test_ep_long(void)
{
	char in[256], err[LB_ERRLEN] = ERR_UNSET;
	union lb_addr a;
	uint8_t fam;
	uint16_t port = 1;

	memset(in, '9', sizeof(in) - 1);
	in[sizeof(in) - 1] = 0;
	memcpy(in, "10.0.0.1:", 9);
	T_CHECK("endpoint_bad overlong",
		lb_parse_endpoint(in, &a, &fam, &port, err, sizeof(err)) &&
			strstr(err, "too long"),
		"error '%s'", err);

	snprintf(in, sizeof(in), "10.0.0.1:%020d", 8080);
	if (lb_parse_endpoint(in, &a, &fam, &port, err, sizeof(err)))
		T_CHECK("endpoint zero-padded long port", strstr(err, "port"),
			"error '%s'", err);
	else
		T_CHECK("endpoint zero-padded long port", port == 8080,
			"'%s' read as port %u", in, port);
}

/* ---------------------------------------------------------------- addresses */

static void test_addr(void)
{
	static const char *ok[] = {
		"10.200.0.11",	       "0.0.0.0", "255.255.255.255",
		"fd00:200::11",	       "::",	  "::ffff:10.0.0.1",
		"2001:db8:0:0:0:0:0:1"
	};
	static const struct bad bad[] = {
		{ "", "missing address" },
		{ "10.200.0", "10.200.0" },
		{ "10.200.0.11.1", "10.200.0.11.1" },
		{ "10.200.0.011", "10.200.0.011" },
		{ "0x0a.0.0.1", "0x0a.0.0.1" },
		{ "10.200.0.11:80", "10.200.0.11:80" },
		{ "[fd00:200::11]", "[fd00:200::11]" },
		{ "fd00:200::11::1", "fd00:200::11::1" },
		{ "fd00:200:::11", "fd00:200:::11" },
		{ "fd00:200::11%eth0", "fd00:200::11%eth0" },
		{ "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8:9" },
		{ "10.200.0.11 ", "10.200.0.11 " },
		{ "host.example", "host.example" },
	};
	char err[LB_ERRLEN], name[96], buf[LB_ADDRSTRLEN];
	union lb_addr a, want, back;
	uint8_t fam, wfam, bfam;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(name, sizeof(name), "addr_ok %s", ok[i]);
		addr_of(ok[i], &want, &wfam);
		snprintf(err, sizeof(err), ERR_UNSET);
		if (lb_parse_addr(ok[i], &a, &fam, err, sizeof(err))) {
			t_fail(name, "refused: %s", err);
			continue;
		}
		lb_format_addr(&a, fam, buf, sizeof(buf));
		T_CHECK(name,
			fam == wfam && !memcmp(&a, &want, sizeof(a)) &&
				!lb_parse_addr(buf, &back, &bfam, NULL, 0) &&
				bfam == fam && !memcmp(&a, &back, sizeof(a)),
			"wrong value or no round trip through '%s'", buf);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;

		snprintf(name, sizeof(name), "addr_bad '%s'", bad[i].in);
		snprintf(err, sizeof(err), ERR_UNSET);
		rc = lb_parse_addr(bad[i].in, &a, &fam, err, sizeof(err));
		T_CHECK(name, rc == -EINVAL && strstr(err, bad[i].names),
			"rc %d, error '%s'", rc, err);
	}

	/* IPv4 leaves words 1..3 zero, so that map keys compare equal */
	memset(&a, 0xaa, sizeof(a));
	lb_parse_addr("10.1.2.3", &a, &fam, NULL, 0);
	T_CHECK("addr_v4 clears upper words",
		!a.v6[1] && !a.v6[2] && !a.v6[3] && a.v4 == htonl(0x0a010203),
		"words %08x %08x %08x %08x", a.v6[0], a.v6[1], a.v6[2],
		a.v6[3]);

	/* a too small output buffer gives a terminated string */
	addr_of("fd00:200:100::1234", &a, &fam);
	memset(buf, 'x', sizeof(buf));
	lb_format_addr(&a, fam, buf, 8);
	T_CHECK("format_addr small buffer", memchr(buf, 0, 8) != NULL,
		"not terminated");
}

/* ---------------------------------------------------------------- ports */

static void test_port_proto(void)
{
	static const struct {
		const char *in;
		int ok;
		uint16_t v;
	} ports[] = {
		{ "0", 1, 0 },	       { "1", 1, 1 },	       { "80", 1, 80 },
		{ "65535", 1, 65535 }, { "65536", 0, 0 },      { "-1", 0, 0 },
		{ "", 0, 0 },	       { "8o", 0, 0 },	       { "0x50", 0, 0 },
		{ "1e3", 0, 0 },       { " 80", 0, 0 },	       { "80 ", 0, 0 },
		{ "+80", 0, 0 },       { "4294967376", 0, 0 },
	};
	char err[LB_ERRLEN], name[64];
	uint16_t p;
	uint8_t proto;

	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		int rc;

		snprintf(name, sizeof(name), "port '%s'", ports[i].in);
		p = 12345;
		snprintf(err, sizeof(err), ERR_UNSET);
		rc = lb_parse_port(ports[i].in, &p, err, sizeof(err));
		if (ports[i].ok)
			T_CHECK(name, !rc && p == ports[i].v, "rc %d port %u",
				rc, p);
		else
			T_CHECK(name,
				rc == -EINVAL && p == 12345 &&
					strstr(err, "port"),
				"rc %d port %u error '%s'", rc, p, err);
	}

	T_CHECK("proto tcp",
		!lb_parse_proto("tcp", &proto, NULL, 0) && proto == IPPROTO_TCP,
		"wrong");
	T_CHECK("proto UDP",
		!lb_parse_proto("UDP", &proto, NULL, 0) && proto == IPPROTO_UDP,
		"wrong");
	T_CHECK("proto sctp refused",
		lb_parse_proto("sctp", &proto, err, sizeof(err)) &&
			strstr(err, "sctp") && strstr(err, "tcp or udp"),
		"error '%s'", err);
	T_CHECK("proto 6 refused",
		lb_parse_proto("6", &proto, err, sizeof(err)) &&
			strstr(err, "'6'"),
		"error '%s'", err);
	T_CHECK("proto empty refused",
		lb_parse_proto("", &proto, err, sizeof(err)) &&
			strstr(err, "missing protocol"),
		"error '%s'", err);
	T_CHECK("proto names",
		!strcmp(lb_proto_name(IPPROTO_TCP), "tcp") &&
			!strcmp(lb_proto_name(IPPROTO_UDP), "udp") &&
			!strcmp(lb_proto_name(IPPROTO_ICMPV6), "icmpv6") &&
			!strcmp(lb_proto_name(200), "?"),
		"wrong name");
}

/* ---------------------------------------------------------------- u32 */

static void test_u32(void)
{
	static const struct {
		const char *in;
		uint32_t min, max;
		int ok;
		uint32_t v;
		const char *names;
	} c[] = {
		{ "0", 0, 10, 1, 0, NULL },
		{ "10", 0, 10, 1, 10, NULL },
		{ "11", 0, 10, 0, 0, "out of range 0..10" },
		{ "2", 3, 10, 0, 0, "out of range 3..10" },
		{ "3", 3, 10, 1, 3, NULL },
		{ "4294967295", 0, UINT32_MAX, 1, UINT32_MAX, NULL },
		{ "4294967296", 0, UINT32_MAX, 0, 0, "out of range" },
		{ "18446744073709551616", 0, UINT32_MAX, 0, 0, "out of range" },
		{ "000000000000000000000000007", 0, 10, 1, 7, NULL },
		{ "-1", 0, 10, 0, 0, "'-1' must be an integer 0..10" },
		{ "1.5", 0, 10, 0, 0, "'1.5' must be an integer" },
		{ "1e3", 0, 10000, 0, 0, "'1e3' must be an integer 0..10000" },
		{ "61.0", 3, 65537, 0, 0, "'61.0' must be an integer" },
		{ "0x10", 0, 100, 0, 0, "must be an integer" },
		{ "", 0, 10, 0, 0, "missing weight" },
		{ "ten", 0, 10, 0, 0, "'ten'" },
		{ "5 ", 0, 10, 0, 0, "not a number" },
	};
	char err[LB_ERRLEN], name[64];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint32_t v = 0xdeadbeef;
		int rc;

		snprintf(name, sizeof(name), "u32 '%s' in %u..%u", c[i].in,
			 c[i].min, c[i].max);
		snprintf(err, sizeof(err), ERR_UNSET);
		rc = lb_parse_u32(c[i].in, "weight", c[i].min, c[i].max, &v,
				  err, sizeof(err));
		if (c[i].ok)
			T_CHECK(name, !rc && v == c[i].v, "rc %d value %u", rc,
				v);
		else
			T_CHECK(name,
				rc == -EINVAL && v == 0xdeadbeef &&
					strstr(err, "weight") &&
					strstr(err, c[i].names),
				"rc %d value %u error '%s'", rc, v, err);
	}
	T_CHECK("u32 NULL",
		lb_parse_u32(NULL, "size", 0, 1, (uint32_t[1]){ 0 }, err,
			     sizeof(err)) == -EINVAL &&
			strstr(err, "missing size"),
		"error '%s'", err);
}

/* ---------------------------------------------------------------- unicast */

static void test_unicast(void)
{
	static const char *ok[] = {
		"10.200.0.11",	    "1.0.0.1",	    "223.255.255.255",
		"169.254.1.1",	    "fd00:200::11", "2001:db8::1",
		"64:ff9b::a01:203", "fec0::1",	    "::1:0:0:1",
		"::fffe:10.0.0.1",
	};
	static const struct bad bad[] = {
		{ "0.0.0.0", "'0.0.0.0': unspecified" },
		{ "0.1.2.3", "'0.1.2.3': unspecified" },
		{ "127.0.0.1", "'127.0.0.1': loopback" },
		{ "127.255.255.254", "loopback" },
		{ "224.0.0.1", "'224.0.0.1': multicast" },
		{ "239.255.255.255", "multicast" },
		{ "255.255.255.255", "'255.255.255.255': the broadcast" },
		{ "240.0.0.1", "'240.0.0.1': reserved" },
		{ "::", "'::': unspecified" },
		{ "::1", "'::1': loopback" },
		{ "ff02::1", "'ff02::1': multicast" },
		{ "ff05::1:3", "multicast" },
		{ "fe80::1", "'fe80::1': link-local" },
		{ "febf:ffff::1", "link-local" },
		{ "::ffff:10.0.0.1", "write the IPv4 address 10.0.0.1" },
		{ "::ffff:0.0.0.0", "IPv4-mapped" },
		{ "::10.0.0.1", "IPv4-compatible" },
		{ "::2", "write the IPv4 address 0.0.0.2" },
	};
	char err[LB_ERRLEN], name[96];
	union lb_addr a;
	uint8_t fam;
	int rc;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(name, sizeof(name), "unicast_ok %s", ok[i]);
		snprintf(err, sizeof(err), ERR_UNSET);
		addr_of(ok[i], &a, &fam);
		rc = lb_addr_check_unicast(&a, fam, err, sizeof(err));
		T_CHECK(name, rc == 0, "rc %d: %s", rc, err);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "unicast_bad %s", bad[i].in);
		snprintf(err, sizeof(err), ERR_UNSET);
		addr_of(bad[i].in, &a, &fam);
		rc = lb_addr_check_unicast(&a, fam, err, sizeof(err));
		T_CHECK(name,
			rc == -EINVAL && strstr(err, bad[i].names) &&
				!strchr(err, '\n'),
			"rc %d, error '%s' should name '%s'", rc, err,
			bad[i].names);
	}
	addr_of("10.0.0.1", &a, &fam);
	rc = lb_addr_check_unicast(&a, LB_FAMILY_NONE, err, sizeof(err));
	T_CHECK("unicast_bad unknown family",
		rc == -EINVAL && strstr(err, "family"), "rc %d, error '%s'", rc,
		err);
	addr_of("127.0.0.1", &a, &fam);
	T_CHECK("unicast_bad without error buffer",
		lb_addr_check_unicast(&a, fam, NULL, 0) == -EINVAL,
		"should be -EINVAL");
}

/* More VIP, endpoint and port forms: bracket misuse is explained, IPv4 in
 * IPv6 forms point at the IPv4 address, long ports are read whole. */
static void test_forms(void)
{
	char in[160], err[LB_ERRLEN] = ERR_UNSET;
	struct lb_vip_spec v;
	union lb_addr a;
	uint8_t fam;
	uint16_t port = 1;
	int rc;

	rc = lb_parse_vip("[10.200.100.1]:80/tcp", &v, err, sizeof(err));
	T_CHECK("vip_bad bracketed IPv4 says why",
		rc == -EINVAL && strstr(err, "IPv6 only"), "error '%s'", err);
	rc = lb_parse_endpoint("[10.200.0.10]:80", &a, &fam, &port, err,
			       sizeof(err));
	T_CHECK("endpoint_bad bracketed IPv4 says why",
		rc == -EINVAL && strstr(err, "IPv6 only"), "error '%s'", err);
	rc = lb_parse_vip("[::ffff:10.200.100.1]:80/tcp", &v, err, sizeof(err));
	T_CHECK("vip_bad IPv4-mapped says what to write",
		rc == -EINVAL && strstr(err, "IPv4-mapped") &&
			strstr(err, "write the IPv4 address 10.200.100.1"),
		"error '%s'", err);
	rc = lb_parse_vip("[::10.200.100.1]/udp", &v, err, sizeof(err));
	T_CHECK("vip_bad IPv4-compatible says what to write",
		rc == -EINVAL && strstr(err, "IPv4-compatible") &&
			strstr(err, "write the IPv4 address 10.200.100.1"),
		"error '%s'", err);
	rc = lb_parse_vip("240.0.0.1:80/tcp", &v, err, sizeof(err));
	T_CHECK("vip_bad reserved", rc == -EINVAL && strstr(err, "240.0.0.1"),
		"error '%s'", err);

	/* leading zeros are decimal, as in every number argument */
	rc = lb_parse_vip("10.200.100.1:0080/tcp", &v, err, sizeof(err));
	T_CHECK("vip port with leading zeros", !rc && v.port == 80,
		"rc %d port %u error '%s'", rc, v.port, err);
	snprintf(in, sizeof(in), "10.200.100.1:%0100d/udp", 443);
	rc = lb_parse_vip(in, &v, err, sizeof(err));
	T_CHECK("vip 100-digit port", !rc && v.port == 443,
		"rc %d port %u error '%s'", rc, v.port, err);
	snprintf(in, sizeof(in), "10.200.100.1:%0100d/udp", 65536);
	rc = lb_parse_vip(in, &v, err, sizeof(err));
	T_CHECK("vip 100-digit port out of range",
		rc == -EINVAL && strstr(err, "65536") && strstr(err, "range"),
		"error '%s'", err);
	snprintf(in, sizeof(in), "10.200.100.1:%0100d/tcp", 0);
	rc = lb_parse_vip(in, &v, err, sizeof(err));
	T_CHECK("vip 100-digit port 0", rc == -EINVAL && strstr(err, "port 0"),
		"error '%s'", err);
	snprintf(in, sizeof(in), "[fd00:200:100::1]:%060d/tcp", 8080);
	rc = lb_parse_vip(in, &v, err, sizeof(err));
	T_CHECK("vip v6 60-digit port", !rc && v.port == 8080,
		"rc %d port %u error '%s'", rc, v.port, err);
	snprintf(in, sizeof(in), "[fd00:200::10]:%060d", 443);
	rc = lb_parse_endpoint(in, &a, &fam, &port, err, sizeof(err));
	T_CHECK("endpoint v6 60-digit port", !rc && port == 443,
		"rc %d port %u error '%s'", rc, port, err);
	snprintf(in, sizeof(in), "10.0.0.1:%060d", 70000);
	rc = lb_parse_endpoint(in, &a, &fam, &port, err, sizeof(err));
	T_CHECK("endpoint 60-digit port out of range",
		rc == -EINVAL && strstr(err, "70000"), "error '%s'", err);
}

/* ---------------------------------------------------------------- keys */

static void test_vip_key(void)
{
	struct lb_vip_spec v;
	struct lb_vip_key k;

	lb_parse_vip("10.200.100.1:8080/udp", &v, NULL, 0);
	memset(&k, 0xaa, sizeof(k));
	lb_vip_key_of(&v, &k);
	T_CHECK("vip_key v4",
		k.port == htons(8080) && k.proto == IPPROTO_UDP &&
			k.family == LB_FAMILY_V4 &&
			k.addr.v4 == htonl(0x0ac86401) && !k.addr.v6[1] &&
			!k.addr.v6[2] && !k.addr.v6[3],
		"wrong key");

	lb_parse_vip("[fd00:200:100::1]/tcp", &v, NULL, 0);
	lb_vip_key_of(&v, &k);
	T_CHECK("vip_key v6 all ports",
		k.port == 0 && k.proto == IPPROTO_TCP &&
			k.family == LB_FAMILY_V6 && k.addr.bytes[0] == 0xfd &&
			k.addr.bytes[15] == 1,
		"wrong key");
}

int main(void)
{
	for (size_t i = 0; i < sizeof(vip_ok) / sizeof(vip_ok[0]); i++)
		test_vip_ok(&vip_ok[i]);
	for (size_t i = 0; i < sizeof(vip_bad) / sizeof(vip_bad[0]); i++)
		test_vip_bad(&vip_bad[i]);
	test_vip_long();
	for (size_t i = 0; i < sizeof(ep_ok) / sizeof(ep_ok[0]); i++)
		test_ep_ok(&ep_ok[i]);
	for (size_t i = 0; i < sizeof(ep_bad) / sizeof(ep_bad[0]); i++)
		test_ep_bad(&ep_bad[i]);
	test_ep_long();
	test_addr();
	test_port_proto();
	test_u32();
	test_vip_key();
	test_unicast();
	test_forms();
	return t_exit();
}
