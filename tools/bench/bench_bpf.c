// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench_bpf.c - in-kernel cost per packet of the balancer's XDP program,
 * per packet class, next to the bare MAC-swap XDP_TX program (the floor)
 * measured the same way in the same run.
 *
 * Every class is measured with repeat = 1 in a loop of many
 * BPF_PROG_TEST_RUN calls, each with its own packet: a new flow is a new
 * flow on every call, and an encapsulated packet is never fed back in.
 * Each call's figure also holds a fixed cost of one test-run iteration (two
 * clock reads and the run's set-up), the same for every program.  The floor
 * measured both ways in the same run gives it: fixed = floor per call -
 * floor with repeat = N (one call, N repetitions).  Figures "net" have it
 * taken off, and ratios are net balancer / floor with repeat.
 *
 * Where a repetition of the same buffer takes the same path again (L2 DSR
 * of a remembered flow rewrites only the MACs, which the program never
 * reads), the balancer is also measured with repeat = N: that figure needs
 * no correction and checks the net one.
 *
 * After every measurement the balancer's counters must show that every
 * packet took the intended path; a figure that fails the check is printed
 * as INVALID with a warning.
 *
 * Last, the new-flow and established classes run on every CPU at once
 * (one thread pinned per CPU, each with its own flows), because the
 * connection table's locks and LRU lists only show their cost when more
 * than one CPU inserts.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "bench_util.h"
#include "cli.h"
#include "pkt.h"
#include "lb.skel.h"
#include "bench_floor.skel.h"
#include "bench_slow.skel.h"

#define MAX_RUNS 32
#define MAX_THREADS 16
/*
 * New flows of the one-CPU part are numbered from 1; those of thread t of
 * the all-CPUs part of the j-th class from (j + 1) * MAX_THREADS *
 * FLOWS_PER_THREAD + t * FLOWS_PER_THREAD.
 */
#define FLOWS_PER_THREAD (1U << 24)

static const uint8_t LB_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t CLIENT_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0xaa };

static const char *const BE4[] = { "198.51.100.1", "198.51.100.2",
				   "198.51.100.3" };
static const char *const BE6[] = { "2001:db8:b::1", "2001:db8:b::2",
				   "2001:db8:b::3" };

enum flow_kind {
	FLOW_ROOM, /* a new flow on every call, into a table with room */
	FLOW_NEW, /* a new flow on every call, into a full table */
	FLOW_KNOWN, /* one flow, remembered before measuring */
	FLOW_SAME, /* one flow, never remembered first (a SYN sent again) */
};

/* table rows leave the fields they do not need zero */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

struct bclass {
	const char *name;
	int family;
	const char *dst;
	uint16_t dport;
	uint8_t proto;
	uint8_t tcp_flags;
	enum flow_kind flow;
	enum lb_stat path; /* the counter every packet must bump */
	int encap;
	int parallel; /* also measured on every CPU at once */
	int slow; /* through bench_slow: the check that a fixed extra cost
		   * per packet shows */
	int pass; /* not the balancer's: XDP_PASS, not XDP_TX */
};

static const struct bclass classes[] = {
	/* first: these empty the table before every run */
	{ "TCP SYN, a new flow each packet, table with room (IPv4, DSR)", 4,
	  "203.0.113.10", 80, IPPROTO_TCP, 0x02, FLOW_ROOM, LB_STAT_CT_MISS, 0,
	  0 },
	{ "TCP ACK opening a new flow each packet, table with room (IPv4, "
	  "DSR)",
	  4, "203.0.113.10", 80, IPPROTO_TCP, 0x10, FLOW_ROOM, LB_STAT_CT_MISS,
	  0, 0 },
	{ "TCP SYN, a new flow each packet, table with room (IPv6, DSR)", 6,
	  "2001:db8:f::10", 80, IPPROTO_TCP, 0x02, FLOW_ROOM, LB_STAT_CT_MISS,
	  0, 0 },
	{ "TCP SYN, a new flow each packet, table with room (IPv4, IPIP)", 4,
	  "203.0.113.20", 80, IPPROTO_TCP, 0x02, FLOW_ROOM, LB_STAT_CT_MISS, 1,
	  0 },
	/* from here on the table is full */
	{ "TCP SYN, a new flow each packet, full table (IPv4, DSR)", 4,
	  "203.0.113.10", 80, IPPROTO_TCP, 0x02, FLOW_NEW, LB_STAT_CT_MISS, 0,
	  1 },
	{ "TCP ACK opening a new flow each packet, full table (IPv4, DSR)", 4,
	  "203.0.113.10", 80, IPPROTO_TCP, 0x10, FLOW_NEW, LB_STAT_CT_MISS, 0,
	  1 },
	{ "TCP SYN, the same flow again (IPv4, DSR)", 4, "203.0.113.10", 80,
	  IPPROTO_TCP, 0x02, FLOW_SAME, LB_STAT_CT_MISS, 0, 0 },
	{ "TCP ACK, established (IPv4, DSR)", 4, "203.0.113.10", 80,
	  IPPROTO_TCP, 0x10, FLOW_KNOWN, LB_STAT_CT_HIT, 0, 1 },
	{ "TCP ACK, established (IPv4, DSR), balancer made slower on purpose "
	  "(64 rounds of a dependent multiply, then a tail call into it)",
	  4, "203.0.113.10", 80, IPPROTO_TCP, 0x10, FLOW_KNOWN, LB_STAT_CT_HIT,
	  0, 0, 1 },
	{ "UDP, established (IPv4, DSR)", 4, "203.0.113.10", 53, IPPROTO_UDP, 0,
	  FLOW_KNOWN, LB_STAT_CT_HIT, 0, 0 },
	{ "TCP SYN, a new flow each packet, full table (IPv6, DSR)", 6,
	  "2001:db8:f::10", 80, IPPROTO_TCP, 0x02, FLOW_NEW, LB_STAT_CT_MISS, 0,
	  0 },
	{ "TCP ACK, established (IPv6, DSR)", 6, "2001:db8:f::10", 80,
	  IPPROTO_TCP, 0x10, FLOW_KNOWN, LB_STAT_CT_HIT, 0, 0 },
	{ "TCP SYN, a new flow each packet, full table (IPv4, IPIP)", 4,
	  "203.0.113.20", 80, IPPROTO_TCP, 0x02, FLOW_NEW, LB_STAT_CT_MISS, 1,
	  0 },
	{ "TCP ACK, established (IPv4, IPIP)", 4, "203.0.113.20", 80,
	  IPPROTO_TCP, 0x10, FLOW_KNOWN, LB_STAT_CT_HIT, 1, 0 },
	/* what the balancer only passes up costs it something too */
	{ "TCP to an address of no VIP (passed up)", 4, "203.0.113.99", 80,
	  IPPROTO_TCP, 0x10, FLOW_SAME, LB_STAT_PASS, 0, 0, 0, 1 },
	{ "TCP to a VIP's address, a port of no VIP (passed up)", 4,
	  "203.0.113.10", 8080, IPPROTO_TCP, 0x10, FLOW_SAME, LB_STAT_PASS, 0,
	  0, 0, 1 },
};
#define NCLASSES (sizeof(classes) / sizeof(classes[0]))

/* Figures of one class, ns per packet. */
struct result {
	struct bench_fig lb; /* per call */
	struct bench_fig floor; /* per call */
	struct bench_fig floor_rep; /* repeat = N */
	struct bench_fig lb_rep; /* repeat = N, where valid */
	struct bench_fig lb_net; /* per call less the fixed cost */
	struct bench_fig ratio; /* lb_net / floor_rep */
	int valid;
};

static const char *const stat_names[LB_STAT_MAX] = { LB_STAT_NAMES };

static struct bench_lb lb;
static int floor_fd, slow_fd;
static uint32_t opt_repeat = 1000000;
static uint32_t opt_calls = 200000;
static int opt_runs = 5;
static int opt_threads;
static const char *opt_only; /* -k */

static int class_wanted(const struct bclass *c)
{
	return !opt_only || strstr(c->name, opt_only);
}

static int repeat_valid(const struct bclass *c)
{
	return !c->encap && c->flow != FLOW_NEW && c->flow != FLOW_ROOM;
}

/* The packet of flow number k of class c (k = 0 for one-flow classes). */
static void build(const struct bclass *c, uint32_t k, struct pkt *p)
{
	struct pkt_spec s = {};
	char src[INET6_ADDRSTRLEN];

	s.family = c->family;
	memcpy(s.dmac, LB_MAC, 6);
	memcpy(s.smac, CLIENT_MAC, 6);
	/* 50000 source ports per source address */
	if (c->family == 4)
		snprintf(src, sizeof(src), "10.%u.%u.%u",
			 (k / 50000) >> 16 & 255, (k / 50000) >> 8 & 255,
			 (k / 50000) & 255);
	else
		snprintf(src, sizeof(src), "2001:db8:c::%x:%x",
			 (k / 50000) >> 16, (k / 50000) & 0xffff);
	s.src = src;
	s.dst = c->dst;
	s.proto = c->proto;
	s.sport = (uint16_t)(10000 + k % 50000);
	s.dport = c->dport;
	s.tcp_flags = c->tcp_flags;
	s.payload = "benchmark payload";
	s.payload_len = 17;
	pkt_build(&s, p);
}

/* The verdict the floor (always XDP_TX) or the balancer must give. */
static int want_ret(const struct bclass *c, int fd)
{
	return fd != floor_fd && c->pass ? XDP_PASS : XDP_TX;
}

/* One call with repeat = n on p: ns per packet; 1 if it returned want. */
static int run_repeat(int fd, const struct pkt *p, uint32_t n, double *ns,
		      int want)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->b,
		    .data_size_in = (uint32_t)p->len, .repeat = n);

	if (bpf_prog_test_run_opts(fd, &o))
		return -errno;
	*ns = o.duration;
	return o.retval == (uint32_t)want;
}

/*
 * n calls with repeat = 1, the packet of flow *next (then *next + 1, ...)
 * for new flows, else pkt: mean ns per call; 1 if every call returned
 * XDP_TX.  Only the kernel's own figure counts, so building the packets
 * costs nothing here.
 */
static int run_loop(int fd, const struct bclass *c, const struct pkt *pkt,
		    uint32_t *next, uint32_t n, double *ns)
{
	struct pkt p = *pkt;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p.b);
	uint64_t total = 0;
	int tx = 1;

	for (uint32_t i = 0; i < n; i++) {
		if (c->flow == FLOW_NEW || c->flow == FLOW_ROOM)
			build(c, (*next)++, &p);
		o.data_size_in = (uint32_t)p.len;
		o.repeat = 1;
		if (bpf_prog_test_run_opts(fd, &o))
			return -errno;
		total += o.duration;
		tx &= o.retval == (uint32_t)want_ret(c, fd);
	}
	*ns = (double)total / n;
	return tx;
}

/* Did every one of n packets take the path of class c? */
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

		if (s == LB_STAT_RX || (s == LB_STAT_TX && !c->pass) ||
		    s == c->path || (s == LB_STAT_ENCAP && c->encap))
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

static int check_tx(int ret, const struct bclass *c, const char *who,
		    int *valid)
{
	if (ret < 0)
		return ret;
	if (!ret) {
		bench_warn("%s: %s did not always return %s", c->name, who,
			   c->pass && strcmp(who, "floor") ? "XDP_PASS" :
							     "XDP_TX");
		*valid = 0;
	}
	return 0;
}

/*
 * The measurements of one class by one thread: the floor per call, the
 * balancer per call (its counters checked by the caller), then the floor
 * (and where valid the balancer) with repeat.  *next numbers new flows.
 */
struct sample {
	double lb, floor, floor_rep, lb_rep;
};

static int sample_class(const struct bclass *c, const struct pkt *p,
			uint32_t *next, struct sample *s, int *valid)
{
	uint32_t floor_next = *next;
	int lb_fd = c->slow ? slow_fd : lb.prog_fd;
	int err;

	/* the floor sees the same packets as the balancer, then they are
	 * new to the balancer */
	err = check_tx(run_loop(floor_fd, c, p, &floor_next, opt_calls,
				&s->floor),
		       c, "floor", valid);
	if (!err)
		err = check_tx(run_loop(lb_fd, c, p, next, opt_calls, &s->lb),
			       c, "balancer", valid);
	if (!err)
		err = check_tx(run_repeat(floor_fd, p, opt_repeat,
					  &s->floor_rep, XDP_TX),
			       c, "floor", valid);
	s->lb_rep = 0;
	if (!err && repeat_valid(c))
		err = check_tx(run_repeat(lb_fd, p, opt_repeat, &s->lb_rep,
					  want_ret(c, lb_fd)),
			       c, "balancer", valid);
	return err;
}

/* How many packets the balancer saw per sample of class c. */
static uint64_t sample_packets(const struct bclass *c)
{
	return opt_calls + (repeat_valid(c) ? opt_repeat : 0);
}

static void summarize(struct sample *s, int n, struct result *r)
{
	double lb[MAX_RUNS], fl[MAX_RUNS], fr[MAX_RUNS], lr[MAX_RUNS];
	double net[MAX_RUNS], ratio[MAX_RUNS];

	for (int i = 0; i < n; i++) {
		lb[i] = s[i].lb;
		fl[i] = s[i].floor;
		fr[i] = s[i].floor_rep;
		lr[i] = s[i].lb_rep;
		net[i] = s[i].lb - (s[i].floor - s[i].floor_rep);
		ratio[i] = s[i].floor_rep > 0 ? net[i] / s[i].floor_rep : 0;
	}
	bench_summarize(lb, n, &r->lb);
	bench_summarize(fl, n, &r->floor);
	bench_summarize(fr, n, &r->floor_rep);
	bench_summarize(lr, n, &r->lb_rep);
	bench_summarize(net, n, &r->lb_net);
	bench_summarize(ratio, n, &r->ratio);
}

/* Empty one connection table (keys of either layout fit in keys). */
static int ct_clear_map(int fd)
{
	static struct lb_flow keys[4096];
	static struct lb_conn vals[4096];
	uint64_t batch = 0;
	void *in = NULL;
	uint32_t n;
	int err;

	do {
		n = 4096;
		err = bpf_map_lookup_and_delete_batch(fd, in, &batch, keys,
						      vals, &n, NULL);
		in = &batch;
	} while (!err);
	return errno == ENOENT ? 0 : -errno;
}

/* Empty the connection tables of both families. */
static int ct_clear(void)
{
	int err = ct_clear_map(lb.dp.conntrack4);

	if (!err)
		err = lb_dp_ct4_clear(&lb.dp);
	return err ? err : ct_clear_map(lb.dp.conntrack);
}

static int run_class(const struct bclass *c, uint32_t *next, struct result *r)
{
	uint64_t before[LB_STAT_MAX], after[LB_STAT_MAX];
	struct sample s[MAX_RUNS];
	struct pkt p;
	uint32_t prime = 0;
	double ns;
	int err;

	if (opt_only) /* a profile of the class starts here */
		fprintf(stderr, "bench_bpf: measuring %s\n", c->name);
	build(c, c->flow == FLOW_NEW || c->flow == FLOW_ROOM ? *next : 0, &p);
	r->valid = 1;
	if (c->flow == FLOW_KNOWN) {
		/* the flow's first packet, so that it is remembered */
		err = run_loop(lb.prog_fd, c, &p, &prime, 1, &ns);
		if (err < 0)
			return err;
	}
	for (int i = 0; i < opt_runs; i++) {
		err = c->flow == FLOW_ROOM ? ct_clear() : 0;
		if (!err)
			err = bench_lb_stats(&lb, before);
		if (!err)
			err = sample_class(c, &p, next, &s[i], &r->valid);
		if (!err)
			err = bench_lb_stats(&lb, after);
		if (err)
			return err;
		if (!check_path(c, before, after, sample_packets(c)))
			r->valid = 0;
	}
	summarize(s, opt_runs, r);
	return 0;
}

/*
 * Fill the connection tables before measuring, as on a balancer that has
 * run for a while: every CPU sends as many new flows of each family as a
 * table holds, so that whatever the tables' LRU layout, every insert
 * measured afterwards evicts an entry.  Flows from FILL_BASE on.
 */
#define FILL_BASE 0xe0000000U
static const struct bclass fill_classes[] = {
	{ "fill", 4, "203.0.113.10", 53, IPPROTO_UDP, 0, FLOW_NEW,
	  LB_STAT_CT_MISS, 0, 0 },
	/* the IPv6 flows' table: the ACK that opens a flow inserts it */
	{ "fill6", 6, "2001:db8:f::10", 80, IPPROTO_TCP, 0x10, FLOW_NEW,
	  LB_STAT_CT_MISS, 0, 0 },
};

struct filler {
	pthread_t tid;
	int cpu;
	uint32_t n;
	int err;
};

static void *fill_main(void *arg)
{
	struct filler *f = arg;
	uint32_t next = FILL_BASE + (uint32_t)f->cpu * FLOWS_PER_THREAD;
	struct pkt p;
	cpu_set_t set;
	double ns;

	CPU_ZERO(&set);
	CPU_SET(f->cpu, &set);
	f->err = -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	for (size_t i = 0; i < sizeof(fill_classes) / sizeof(fill_classes[0]);
	     i++) {
		uint32_t k = next;

		build(&fill_classes[i], k, &p);
		if (!f->err)
			f->err = run_loop(lb.prog_fd, &fill_classes[i], &p, &k,
					  f->n, &ns);
		if (f->err > 0)
			f->err = 0;
	}
	return NULL;
}

static int fill_table(int ncpu)
{
	struct filler f[MAX_THREADS] = {};
	uint32_t size = bpf_map__max_entries(lb.skel->maps.lb_conntrack);
	struct lb_ct4_resize_result r;
	int err;

	/* lb_ct4 as lbd grows it when a table this full evicts: to all of
	 * its map */
	err = lb_dp_ct4_resize(&lb.dp, lb_dp_ct4_max_bits(&lb.dp), &r);
	if (err)
		return err;

	for (int t = 0; t < ncpu; t++) {
		f[t].cpu = t;
		f[t].n = size;
		err = -pthread_create(&f[t].tid, NULL, fill_main, &f[t]);
		if (err) {
			ncpu = t;
			break;
		}
	}
	for (int t = 0; t < ncpu; t++) {
		pthread_join(f[t].tid, NULL);
		if (f[t].err && !err)
			err = f[t].err;
	}
	return err;
}

/* Every CPU at once: one thread per CPU, each with its own flows. */
struct worker {
	pthread_t tid;
	int cpu;
	const struct bclass *c;
	pthread_barrier_t *bar;
	uint32_t next;
	struct sample s[MAX_RUNS];
	int valid;
	int err;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pkt p;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	w->err = -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	w->valid = 1;
	/* each thread's one-flow packet is its first new flow's */
	build(w->c, w->next, &p);
	for (int i = 0; i < opt_runs; i++) {
		/* every thread takes part in every round, failed or not */
		pthread_barrier_wait(w->bar);
		if (!w->err)
			w->err = sample_class(w->c, &p, &w->next, &w->s[i],
					      &w->valid);
	}
	return NULL;
}

static int run_parallel(const struct bclass *c, int nthreads, uint32_t base,
			struct result *r)
{
	uint64_t before[LB_STAT_MAX], after[LB_STAT_MAX];
	struct worker w[MAX_THREADS] = {};
	struct sample all[MAX_THREADS * MAX_RUNS];
	pthread_barrier_t bar;
	int err, n = 0;

	for (int t = 0; t < nthreads; t++) {
		uint32_t k = base + (uint32_t)t * FLOWS_PER_THREAD;
		struct pkt p;
		double ns;

		w[t].cpu = t;
		w[t].c = c;
		w[t].bar = &bar;
		w[t].next = k;
		/* the first packet of each thread's remembered flow */
		build(c, k, &p);
		if (c->flow == FLOW_KNOWN) {
			err = run_loop(lb.prog_fd, c, &p, &k, 1, &ns);
			if (err < 0)
				return err;
		}
	}
	err = bench_lb_stats(&lb, before);
	if (err)
		return err;
	pthread_barrier_init(&bar, NULL, nthreads);
	for (int t = 0; t < nthreads; t++) {
		err = -pthread_create(&w[t].tid, NULL, worker_main, &w[t]);
		if (err) {
			/* the started threads wait forever: give up */
			bench_warn("cannot start a thread: %s", strerror(-err));
			exit(EXIT_FAILURE);
		}
	}
	r->valid = 1;
	for (int t = 0; t < nthreads; t++) {
		pthread_join(w[t].tid, NULL);
		if (w[t].err && !err)
			err = w[t].err;
		r->valid &= w[t].valid;
		for (int i = 0; i < opt_runs; i++)
			all[n++] = w[t].s[i];
	}
	pthread_barrier_destroy(&bar);
	if (err)
		return err;
	err = bench_lb_stats(&lb, after);
	if (err)
		return err;
	if (!check_path(c, before, after,
			(uint64_t)nthreads * opt_runs * sample_packets(c)))
		r->valid = 0;
	/* all threads' samples together: median over CPUs and runs */
	summarize(all, n, r);
	return 0;
}

static void print_fig(const struct bench_fig *f)
{
	printf(" %.1f (%.1f-%.1f) |", f->med, f->min, f->max);
}

static void print_row(const char *name, const struct result *r, int rep)
{
	printf("| %s |", name);
	if (!r->valid) {
		printf(" INVALID | - | - | - | - | - | - |\n");
		return;
	}
	print_fig(&r->lb);
	print_fig(&r->floor);
	printf(" %.1f |", r->floor.med - r->floor_rep.med);
	print_fig(&r->lb_net);
	print_fig(&r->floor_rep);
	printf(" %.2f (%.2f-%.2f) |", r->ratio.med, r->ratio.min, r->ratio.max);
	if (rep)
		print_fig(&r->lb_rep);
	else
		printf(" - |");
	printf("\n");
}

static void print_head(void)
{
	printf("| packet class | balancer ns/call | floor ns/call | fixed ns | "
	       "balancer net ns | floor net ns | net ratio | balancer, "
	       "repeat ns |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
}

/* The net ratio of the class whose name is name: -1 if not measured, -2
 * if its figure failed the counters' check. */
static double class_ratio(const struct result *res, const char *name)
{
	for (size_t i = 0; i < NCLASSES; i++)
		if (!strcmp(classes[i].name, name) && class_wanted(&classes[i]))
			return res[i].valid ? res[i].ratio.med : -2;
	return -1;
}

/*
 * The goals of bench/DATAPATH.md that this benchmark can judge alone: a
 * new flow's SYN on a full table at most GOAL_SYN x the floor.  The
 * established-flow goal is against Katran, which is not part of this
 * repository: its side-by-side figures are in bench/DATAPATH.md.
 */
#define GOAL_SYN 27.0
static const char *const goal_syn[] = {
	"TCP SYN, a new flow each packet, full table (IPv4, DSR)",
	"TCP SYN, a new flow each packet, full table (IPv4, IPIP)",
	"TCP SYN, a new flow each packet, full table (IPv6, DSR)",
};
static const char *const goal_est[] = {
	"TCP ACK, established (IPv4, DSR)",
	"TCP ACK, established (IPv4, IPIP)",
	"TCP ACK, established (IPv6, DSR)",
	"UDP, established (IPv4, DSR)",
};

/* One goal's line: head, then each class of names[] measured, its net
 * ratio, and whether it is at most limit (limit 0: no verdict here). */
static void goal_line(const struct result *res, const char *const *names,
		      size_t n, const char *head, double limit)
{
	int first = 1;

	for (size_t i = 0; i < n; i++) {
		double r = class_ratio(res, names[i]);

		if (r == -1)
			continue;
		printf("%s%s %s", first ? head : "", first ? "" : ";",
		       names[i]);
		if (r < 0)
			printf(" INVALID");
		else if (limit > 0)
			printf(" %.1f x (%s)", r,
			       r <= limit ? "met" : "NOT met");
		else
			printf(" %.2f x", r);
		first = 0;
	}
	if (!first)
		printf(".\n");
}

static void report_goals(const struct result *res)
{
	char head[160];

	snprintf(head, sizeof(head),
		 "\nGoal: the SYN of a new TCP flow on a full table costs at "
		 "most %.0f x the floor, net:",
		 GOAL_SYN);
	goal_line(res, goal_syn, sizeof(goal_syn) / sizeof(goal_syn[0]), head,
		  GOAL_SYN);
	goal_line(res, goal_est, sizeof(goal_est) / sizeof(goal_est[0]),
		  "\nGoal: an established flow's packet costs at most 0.7 x "
		  "Katran's; Katran is not part of this repository, and the "
		  "two measured side by side are in bench/DATAPATH.md.  Here, "
		  "x the floor, net:",
		  0);
}

static void report(const struct result *res, const struct result *par,
		   int nthreads)
{
	printf("Connection tables of %u entries each (IPv4 flows, IPv6 "
	       "flows).  \"table with room\": emptied "
	       "before each run, so that no insert measured evicts.  After "
	       "those the tables are filled (every CPU sends as many new flows "
	       "of each family as a table holds) and stay full: every new flow measured then "
	       "evicts one, as on a balancer that has run for a while.\n\n",
	       bpf_map__max_entries(lb.skel->maps.lb_conntrack));
	printf("Median of %d runs (min-max), ns per packet in the kernel. "
	       "Every packet class: %u calls of repeat=1 per run, each call "
	       "its own packet (a new flow: a new source address and port).  "
	       "fixed = floor per call - floor with repeat=%u, the fixed cost "
	       "of one test-run call; net = per call - fixed; net ratio = "
	       "balancer net / floor net, per run.  \"balancer, repeat\": "
	       "one call with repeat=%u where every repetition takes the "
	       "same path (a remembered DSR flow), which needs no "
	       "correction and checks the net figure.\n\n",
	       opt_runs, opt_calls, opt_repeat, opt_repeat);
	print_head();
	for (size_t i = 0; i < NCLASSES; i++)
		if (class_wanted(&classes[i]))
			print_row(classes[i].name, &res[i],
				  repeat_valid(&classes[i]));
	report_goals(res);
	if (!nthreads)
		return;
	printf("\nThe same on %d CPUs at once (one thread pinned per CPU, "
	       "each with its own flows, rounds started together); median "
	       "over CPUs and runs:\n\n",
	       nthreads);
	print_head();
	for (size_t i = 0, j = 0; i < NCLASSES; i++) {
		char name[160];

		if (!classes[i].parallel)
			continue;
		if (!class_wanted(&classes[i])) {
			j++;
			continue;
		}
		snprintf(name, sizeof(name), "%s, %d CPUs", classes[i].name,
			 nthreads);
		print_row(name, &par[j++], repeat_valid(&classes[i]));
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_bpf [-r RUNS] [-n REPEAT] [-c CALLS] "
		   "[-t THREADS] [-k TEXT]\n"
		   "  ns per packet of the balancer per packet class, next "
		   "to a MAC-swap XDP_TX floor;\n"
		   "  -t: threads for the all-CPUs part (default: every "
		   "online CPU, 0 = skip it);\n"
		   "  -k: only the classes whose name contains TEXT (for a "
		   "profile of one class)\n");
}

int main(int argc, char **argv)
{
	struct result res[NCLASSES], par[NCLASSES];
	struct bench_floor *fl = NULL;
	struct bench_slow *sl = NULL;
	uint32_t zero = 0;
	uint32_t next = 0;
	int err, opt;

	bench_name = "bench_bpf";
	opt_threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	while ((opt = getopt(argc, argv, "r:n:c:t:k:h")) != -1) {
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
		case 't':
			opt_threads = atoi(optarg);
			break;
		case 'k':
			opt_only = optarg;
			break;
		default: /* -h, or an option that is not one */
			return lb_opt_help(opt, usage);
		}
	}
	if (opt_runs < 1 || opt_runs > MAX_RUNS || !opt_repeat || !opt_calls ||
	    opt_threads < 0 || opt_threads > MAX_THREADS || opt_threads == 1 ||
	    (uint64_t)opt_calls * opt_runs * NCLASSES >= FLOWS_PER_THREAD) {
		bench_warn("runs must be 1..%d, repeat and calls > 0, calls "
			   "x runs x %zu < %u, threads 0 or 2..%d",
			   MAX_RUNS, NCLASSES, FLOWS_PER_THREAD, MAX_THREADS);
		return EXIT_FAILURE;
	}

	err = bench_lb_open(&lb, 0, LB_MAC, "198.51.100.254", "2001:db8:b::fe");
	if (err) {
		bench_warn("cannot load the balancer: %s", strerror(-err));
		return EXIT_FAILURE;
	}
	err = bench_lb_add_vip(&lb, "203.0.113.10", 80, IPPROTO_TCP, 0, BE4, 3);
	if (!err)
		err = bench_lb_add_vip(&lb, "203.0.113.10", 53, IPPROTO_UDP, 0,
				       BE4, 3);
	if (!err)
		err = bench_lb_add_vip(&lb, "203.0.113.20", 80, IPPROTO_TCP,
				       LB_VIP_F_ENCAP, BE4, 3);
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
	sl = bench_slow__open_and_load();
	if (!sl) {
		err = -errno;
		bench_warn("cannot load the slower program: %s",
			   strerror(-err));
		goto out;
	}
	slow_fd = bpf_program__fd(sl->progs.bench_slow);
	if (bpf_map_update_elem(bpf_map__fd(sl->maps.slow_next), &zero,
				&lb.prog_fd, BPF_ANY)) {
		err = -errno;
		bench_warn("cannot chain the slower program: %s",
			   strerror(-err));
		goto out;
	}

	/* one-flow classes use flow 0; new flows are numbered from 1 on */
	next = 1;
	for (size_t i = 0, full = 0; i < NCLASSES; i++) {
		if (!class_wanted(&classes[i]))
			continue;
		if (classes[i].flow != FLOW_ROOM && !full++) {
			err = ct_clear();
			if (!err)
				err = fill_table(opt_threads ? opt_threads : 1);
			if (err) {
				bench_warn("cannot fill the connection table: "
					   "%s",
					   strerror(-err));
				goto out;
			}
		}
		err = run_class(&classes[i], &next, &res[i]);
		if (err) {
			bench_warn("%s: test run failed: %s", classes[i].name,
				   strerror(-err));
			goto out;
		}
	}
	for (size_t i = 0, j = 0; opt_threads && i < NCLASSES; i++) {
		if (!classes[i].parallel)
			continue;
		if (!class_wanted(&classes[i])) {
			j++;
			continue;
		}
		/* past every flow of the one-CPU part and of the classes
		 * before */
		err = run_parallel(&classes[i], opt_threads,
				   (uint32_t)(j + 1) * MAX_THREADS *
					   FLOWS_PER_THREAD,
				   &par[j]);
		j++;
		if (err) {
			bench_warn("%s, %d CPUs: test run failed: %s",
				   classes[i].name, opt_threads,
				   strerror(-err));
			goto out;
		}
	}
	report(res, par, opt_threads);
out:
	bench_slow__destroy(sl);
	bench_floor__destroy(fl);
	bench_lb_close(&lb);
	return err ? EXIT_FAILURE : EXIT_SUCCESS;
}
