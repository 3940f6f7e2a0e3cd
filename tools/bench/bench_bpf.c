// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench_bpf.c - in-kernel cost per packet of the balancer's XDP program,
 * per packet class, next to the bare MAC-swap XDP_TX program (the floor)
 * measured the same way in the same run.
 *
 * BPF_PROG_TEST_RUN with repeat = N runs the program N times on the same
 * buffer, never restoring it.  That measures the intended path only when
 * the program's own output takes that path again:
 *  - L2 DSR rewrites only the MACs, which the program never reads, so every
 *    repetition takes the same path: a SYN always skips the connection
 *    table and is hashed anew (a real miss each time); a non-SYN packet of
 *    a flow put in the table beforehand is a hit each time.
 *  - Encapsulation grows the packet, and the next repetition would see an
 *    IPIP packet to a backend and pass it.  These classes are measured with
 *    repeat = 1 in a loop of many calls, floor included; each call's figure
 *    then also holds the fixed cost of one test-run iteration, which the
 *    floor measured both ways estimates.
 * After every measurement the balancer's counters must show that every
 * repetition took the intended path; a figure that fails the check is
 * printed as INVALID with a warning.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "bench_util.h"
#include "pkt.h"
#include "lb.skel.h"
#include "bench_floor.skel.h"

#define MAX_RUNS 32

static const uint8_t LB_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t CLIENT_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0xaa };

static const char *const BE4[] = { "198.51.100.1", "198.51.100.2",
				   "198.51.100.3" };
static const char *const BE6[] = { "2001:db8:b::1", "2001:db8:b::2",
				   "2001:db8:b::3" };

enum method {
	M_REPEAT, /* one call, repeat = N */
	M_LOOP, /* N calls, repeat = 1 */
};

struct bclass {
	const char *name;
	int family;
	const char *dst;
	uint16_t dport;
	uint8_t proto;
	uint8_t tcp_flags;
	enum method method;
	int prime; /* send once before measuring: the flow is then known */
	enum lb_stat path; /* the counter every repetition must bump */
	int encap;
};

static const struct bclass classes[] = {
	{ "TCP SYN, conntrack miss (IPv4, DSR)", 4, "203.0.113.10", 80,
	  IPPROTO_TCP, 0x02, M_REPEAT, 0, LB_STAT_CT_MISS, 0 },
	{ "TCP ACK, conntrack hit (IPv4, DSR)", 4, "203.0.113.10", 80,
	  IPPROTO_TCP, 0x10, M_REPEAT, 1, LB_STAT_CT_HIT, 0 },
	{ "UDP, conntrack hit (IPv4, DSR)", 4, "203.0.113.10", 53, IPPROTO_UDP,
	  0, M_REPEAT, 1, LB_STAT_CT_HIT, 0 },
	{ "TCP SYN, conntrack miss (IPv6, DSR)", 6, "2001:db8:f::10", 80,
	  IPPROTO_TCP, 0x02, M_REPEAT, 0, LB_STAT_CT_MISS, 0 },
	{ "TCP SYN, IPIP encap (IPv4)", 4, "203.0.113.20", 80, IPPROTO_TCP,
	  0x02, M_LOOP, 0, LB_STAT_CT_MISS, 1 },
};
#define NCLASSES (sizeof(classes) / sizeof(classes[0]))

struct result {
	struct bench_fig lb;
	struct bench_fig floor;
	struct bench_fig floor_repeat; /* M_LOOP only: the floor with repeat */
	int valid;
};

static const char *const stat_names[LB_STAT_MAX] = { LB_STAT_NAMES };

static struct bench_lb lb;
static int floor_fd;
static uint32_t opt_repeat = 1000000;
static uint32_t opt_calls = 200000;
static int opt_runs = 5;

/* One measurement: ns per packet, and whether every run returned XDP_TX. */
static int measure(int fd, const struct pkt *p, enum method m, uint32_t n,
		   double *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->b,
		    .data_size_in = (uint32_t)p->len);
	uint64_t total = 0;
	int tx = 1;

	if (m == M_REPEAT) {
		o.repeat = n;
		if (bpf_prog_test_run_opts(fd, &o))
			return -errno;
		*ns = o.duration;
		return o.retval == XDP_TX;
	}
	for (uint32_t i = 0; i < n; i++) {
		o.repeat = 1;
		if (bpf_prog_test_run_opts(fd, &o))
			return -errno;
		total += o.duration;
		tx &= o.retval == XDP_TX;
	}
	*ns = (double)total / n;
	return tx;
}

/* Did every one of n repetitions take the path of class c? */
static int check_path(const struct bclass *c, const uint64_t *before,
		      const uint64_t *after, uint64_t n)
{
	static const enum lb_stat watch[] = { LB_STAT_RX,     LB_STAT_TX,
					      LB_STAT_CT_HIT, LB_STAT_CT_MISS,
					      LB_STAT_ENCAP,  LB_STAT_PASS };
	int ok = 1;

	for (size_t i = 0; i < sizeof(watch) / sizeof(watch[0]); i++) {
		enum lb_stat s = watch[i];
		uint64_t want = 0, got = after[s] - before[s];

		if (s == LB_STAT_RX || s == LB_STAT_TX || s == c->path ||
		    (s == LB_STAT_ENCAP && c->encap))
			want = n;
		if (got != want) {
			bench_warn("%s: counter %s moved by %llu, want %llu",
				   c->name, stat_names[s],
				   (unsigned long long)got,
				   (unsigned long long)want);
			ok = 0;
		}
	}
	return ok;
}

static void build(const struct bclass *c, struct pkt *p)
{
	struct pkt_spec s = {};

	s.family = c->family;
	memcpy(s.dmac, LB_MAC, 6);
	memcpy(s.smac, CLIENT_MAC, 6);
	s.src = c->family == 4 ? "192.0.2.1" : "2001:db8:c::1";
	s.dst = c->dst;
	s.proto = c->proto;
	s.sport = 40000;
	s.dport = c->dport;
	s.tcp_flags = c->tcp_flags;
	s.payload = "benchmark payload";
	s.payload_len = 17;
	pkt_build(&s, p);
}

static int run_class(const struct bclass *c, struct result *r)
{
	double lbv[MAX_RUNS], flv[MAX_RUNS], frv[MAX_RUNS];
	uint64_t before[LB_STAT_MAX], after[LB_STAT_MAX];
	uint32_t n = c->method == M_REPEAT ? opt_repeat : opt_calls;
	struct pkt p;
	double ns;
	int err;

	build(c, &p);
	r->valid = 1;
	if (c->prime) {
		err = measure(lb.prog_fd, &p, M_LOOP, 1, &ns);
		if (err < 0)
			return err;
	}
	for (int i = 0; i < opt_runs; i++) {
		/* the floor first, then the balancer, then (loop) the floor
		 * with repeat for the fixed cost per call */
		err = measure(floor_fd, &p, c->method, n, &flv[i]);
		if (err < 0)
			return err;
		if (!err) {
			bench_warn("%s: floor did not return XDP_TX", c->name);
			r->valid = 0;
		}
		err = bench_lb_stats(&lb, before);
		if (err)
			return err;
		err = measure(lb.prog_fd, &p, c->method, n, &lbv[i]);
		if (err < 0)
			return err;
		if (!err) {
			bench_warn("%s: balancer did not return XDP_TX",
				   c->name);
			r->valid = 0;
		}
		err = bench_lb_stats(&lb, after);
		if (err)
			return err;
		if (!check_path(c, before, after, n))
			r->valid = 0;
		if (c->method == M_LOOP) {
			err = measure(floor_fd, &p, M_REPEAT, opt_repeat,
				      &frv[i]);
			if (err < 0)
				return err;
		}
	}
	bench_summarize(lbv, opt_runs, &r->lb);
	bench_summarize(flv, opt_runs, &r->floor);
	if (c->method == M_LOOP)
		bench_summarize(frv, opt_runs, &r->floor_repeat);
	return 0;
}

static void print_fig(const struct bench_fig *f)
{
	printf(" %.1f (%.1f-%.1f) |", f->med, f->min, f->max);
}

static void report(const struct result *res)
{
	int loop_notes = 0;

	printf("Median of %d runs (min-max), ns per packet in the kernel; "
	       "repeat=%u per run, or %u calls of repeat=1 (*).\n\n",
	       opt_runs, opt_repeat, opt_calls);
	printf("| packet class | balancer ns/pkt | floor ns/pkt | ratio |\n");
	printf("|---|---:|---:|---:|\n");
	for (size_t i = 0; i < NCLASSES; i++) {
		const struct bclass *c = &classes[i];
		const struct result *r = &res[i];

		printf("| %s%s |", c->name, c->method == M_LOOP ? " (*)" : "");
		if (!r->valid) {
			printf(" INVALID |");
			print_fig(&r->floor);
			printf(" - |\n");
			continue;
		}
		print_fig(&r->lb);
		print_fig(&r->floor);
		printf(" %.2f |\n",
		       r->floor.med > 0 ? r->lb.med / r->floor.med : 0);
	}
	for (size_t i = 0; i < NCLASSES; i++) {
		const struct bclass *c = &classes[i];
		const struct result *r = &res[i];
		double fixed = r->floor.med - r->floor_repeat.med;

		if (c->method != M_LOOP || !r->valid)
			continue;
		if (!loop_notes++)
			printf("\n(*) measured with repeat=1 calls, because "
			       "the rewritten packet would take another path "
			       "on a second repetition.  Each figure includes "
			       "the fixed cost of one test-run iteration.\n");
		printf("    %s: the floor costs %.1f ns per call and %.1f ns "
		       "with repeat, so about %.1f ns per call are fixed; "
		       "without them: balancer %.1f ns, floor %.1f ns, "
		       "ratio %.2f.\n",
		       c->name, r->floor.med, r->floor_repeat.med, fixed,
		       r->lb.med - fixed, r->floor_repeat.med,
		       r->floor_repeat.med > 0 ?
			       (r->lb.med - fixed) / r->floor_repeat.med :
			       0);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_bpf [-r RUNS] [-n REPEAT] [-c CALLS]\n"
		   "  ns per packet of the balancer per packet class, next "
		   "to a MAC-swap XDP_TX floor\n");
}

int main(int argc, char **argv)
{
	const char *const *be;
	struct result res[NCLASSES];
	struct bench_floor *fl = NULL;
	int err, opt;

	bench_name = "bench_bpf";
	while ((opt = getopt(argc, argv, "r:n:c:h")) != -1) {
		switch (opt) {
		case 'r':
			opt_runs = atoi(optarg);
			break;
		case 'n':
			opt_repeat = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'c':
			opt_calls = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_FAILURE;
		}
	}
	if (opt_runs < 1 || opt_runs > MAX_RUNS || !opt_repeat || !opt_calls) {
		bench_warn("runs must be 1..%d, repeat and calls > 0",
			   MAX_RUNS);
		return EXIT_FAILURE;
	}

	err = bench_lb_open(&lb, 0, LB_MAC, "198.51.100.254", "2001:db8:b::fe");
	if (err) {
		bench_warn("cannot load the balancer: %s", strerror(-err));
		return EXIT_FAILURE;
	}
	be = BE4;
	err = bench_lb_add_vip(&lb, "203.0.113.10", 80, IPPROTO_TCP, 0, be, 3);
	if (!err)
		err = bench_lb_add_vip(&lb, "203.0.113.10", 53, IPPROTO_UDP, 0,
				       be, 3);
	if (!err)
		err = bench_lb_add_vip(&lb, "203.0.113.20", 80, IPPROTO_TCP,
				       LB_VIP_F_ENCAP, be, 3);
	if (!err)
		err = bench_lb_add_vip(&lb, "2001:db8:f::10", 80, IPPROTO_TCP,
				       0, BE6, 3);
	if (err) {
		bench_warn("cannot configure the balancer: %s", strerror(-err));
		goto out;
	}

	fl = bench_floor__open_and_load();
	if (!fl) {
		err = -errno;
		bench_warn("cannot load the floor program: %s", strerror(-err));
		goto out;
	}
	floor_fd = bpf_program__fd(fl->progs.bench_floor);

	for (size_t i = 0; i < NCLASSES; i++) {
		err = run_class(&classes[i], &res[i]);
		if (err) {
			bench_warn("%s: test run failed: %s", classes[i].name,
				   strerror(-err));
			goto out;
		}
	}
	report(res);
out:
	bench_floor__destroy(fl);
	bench_lb_close(&lb);
	return err ? EXIT_FAILURE : EXIT_SUCCESS;
}
