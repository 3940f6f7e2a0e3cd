// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_prom.c - the Prometheus exposition writer of user/common/prom.c:
 * exact output of families, escaped label values and help texts, special
 * values, histograms (cumulative, inclusive upper bounds), label sets too
 * long to keep; and the --metrics ADDR:PORT parser.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "prom.h"

static void expect(const char *name, struct prom *p, const char *want)
{
	T_CHECK(name, !p->oom && p->buf && !strcmp(p->buf, want),
		"got\n%s\nwant\n%s", p->buf ? p->buf : "(null)", want);
	prom_free(p);
}

static void test_family(void)
{
	struct prom p;
	struct prom_labels l;

	prom_init(&p);
	prom_head(&p, "x_total", "counter",
		  "Back\\slash and\nnewline \"kept\".");
	prom_u64(&p, "x_total", NULL, 18446744073709551615ULL);
	prom_labels_init(&l);
	prom_label(&l, "vip", "[fd00::1]:80/tcp");
	prom_label(&l, "odd", "a\"b\\c\nd");
	prom_u64(&p, "x_total", &l, 0);
	expect("family: help escaped, labels escaped, u64 exact", &p,
	       "# HELP x_total Back\\\\slash and\\nnewline \"kept\".\n"
	       "# TYPE x_total counter\n"
	       "x_total 18446744073709551615\n"
	       "x_total{vip=\"[fd00::1]:80/tcp\",odd=\"a\\\"b\\\\c\\nd\"} 0\n");
}

static void test_doubles(void)
{
	struct prom p;

	prom_init(&p);
	prom_dbl(&p, "g", NULL, 0.25);
	prom_dbl(&p, "g", NULL, INFINITY);
	prom_dbl(&p, "g", NULL, -INFINITY);
	prom_dbl(&p, "g", NULL, NAN);
	prom_dbl(&p, "g", NULL, 1e-7);
	prom_dbl(&p, "g", NULL, 1796247660.65);
	expect("doubles: +Inf, -Inf, NaN, exponents, epoch seconds", &p,
	       "g 0.25\ng +Inf\ng -Inf\ng NaN\ng 1e-07\ng 1796247660.65\n");
}

static void test_histogram(void)
{
	static const double b[3] = { 0.001, 0.01, 0.1 };
	uint64_t c[4] = {};
	struct prom p;
	struct prom_labels l;
	double obs[] = { 0.0005, 0.001, 0.002, 0.01, 0.05, 0.5, 7 };

	for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
		c[prom_bucket(b, 3, obs[i])]++;
	prom_init(&p);
	prom_labels_init(&l);
	prom_label(&l, "backend", "10.0.0.1");
	prom_histogram(&p, "h_seconds", &l, b, c, 3, 7.5635);
	expect("histogram: cumulative, le inclusive, +Inf, sum, count", &p,
	       "h_seconds_bucket{backend=\"10.0.0.1\",le=\"0.001\"} 2\n"
	       "h_seconds_bucket{backend=\"10.0.0.1\",le=\"0.01\"} 4\n"
	       "h_seconds_bucket{backend=\"10.0.0.1\",le=\"0.1\"} 5\n"
	       "h_seconds_bucket{backend=\"10.0.0.1\",le=\"+Inf\"} 7\n"
	       "h_seconds_sum{backend=\"10.0.0.1\"} 7.5635\n"
	       "h_seconds_count{backend=\"10.0.0.1\"} 7\n");
}

static void test_label_overflow(void)
{
	char big[PROM_LABELS_MAX];
	struct prom p;
	struct prom_labels l;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	prom_init(&p);
	prom_labels_init(&l);
	prom_label(&l, "k", big);
	prom_u64(&p, "m", &l, 1);
	prom_u64(&p, "m", NULL, 2);
	expect("a label set too long is left out, never cut", &p, "m 2\n");
}

static void listen_ok(const char *in, const char *addr, int port)
{
	struct sockaddr_storage sa;
	socklen_t len;
	char name[96], got[64] = "?", err[160] = "";
	int gport = -1;

	snprintf(name, sizeof(name), "listen '%s' -> %s port %d", in, addr,
		 port);
	if (!prom_parse_listen(in, &sa, &len, err, sizeof(err))) {
		if (sa.ss_family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;

			inet_ntop(AF_INET, &s4->sin_addr, got, sizeof(got));
			gport = ntohs(s4->sin_port);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;

			inet_ntop(AF_INET6, &s6->sin6_addr, got, sizeof(got));
			gport = ntohs(s6->sin6_port);
		}
	}
	T_CHECK(name, !strcmp(got, addr) && gport == port, "got %s port %d%s%s",
		got, gport, err[0] ? ": " : "", err);
}

static void listen_bad(const char *in, const char *want_err)
{
	struct sockaddr_storage sa;
	socklen_t len;
	char name[96], err[160] = "";
	int rc = prom_parse_listen(in, &sa, &len, err, sizeof(err));

	snprintf(name, sizeof(name), "listen '%s' refused", in);
	T_CHECK(name, rc < 0 && strstr(err, want_err) && !strchr(err, '\n'),
		"rc %d, err '%s' (want '%s')", rc, err, want_err);
}

static void test_listen(void)
{
	listen_ok("9100", "127.0.0.1", 9100);
	listen_ok(":9100", "127.0.0.1", 9100);
	listen_ok("0.0.0.0:80", "0.0.0.0", 80);
	listen_ok("192.0.2.1:65535", "192.0.2.1", 65535);
	listen_ok("[::]:9100", "::", 9100);
	listen_ok("[::1]:1", "::1", 1);
	listen_bad("", "missing");
	listen_bad("0", "port 0");
	listen_bad("65536", "out of range");
	listen_bad("localhost:9100", "invalid address");
	listen_bad("[::1", "missing ']'");
	listen_bad("10.0.0.1", "invalid port");
	listen_bad("10.0.0.1:", "port");
	listen_bad("[10.0.0.1]:80", "IPv6 only");
}

int main(void)
{
	test_family();
	test_doubles();
	test_histogram();
	test_label_overflow();
	test_listen();
	return t_exit();
}
