/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bench_util.h - what the benchmark programs share: the balancer set up
 * through its skeleton and the datapath map helpers, counters, timing and
 * the summary of repeated measurements.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdint.h>

#include "dp.h"
#include "lb_abi.h"

#define BENCH_SEED 0x1234abcd5678ef01ULL
#define BENCH_MAX_BACKENDS 8

__attribute__((format(printf, 1, 2))) void bench_warn(const char *fmt, ...);

/* Set by main: the prefix of every warning. */
extern const char *bench_name;

struct lb;

/* A loaded, configured balancer. */
struct bench_lb {
	struct lb *skel;
	struct lb_dp dp;
	int prog_fd;
	uint32_t next_vip_id;
	uint32_t next_be_id;
};

/*
 * Open and load the balancer with a connection table of ct_size entries
 * (0 = the program's default) and write its config: the fleet seed, the
 * interface MAC and the encapsulation sources.  Returns 0 or -errno.
 */
int bench_lb_open(struct bench_lb *b, uint32_t ct_size, const uint8_t mac[6],
		  const char *encap_src4, const char *encap_src6);
void bench_lb_close(struct bench_lb *b);

/*
 * Add a VIP (address text, port, IPPROTO_*, LB_VIP_F_*) over nbe backends
 * of equal weight with a Maglev table of the default size.  Backend i gets
 * the MAC 02:be:00:00:00:<id>.  Returns 0 or -errno.
 */
int bench_lb_add_vip(struct bench_lb *b, const char *vip, uint16_t port,
		     uint8_t proto, uint32_t flags, const char *const *backends,
		     int nbe);

/* Read every global counter of the balancer (summed over CPUs). */
int bench_lb_stats(const struct bench_lb *b, uint64_t packets[LB_STAT_MAX]);

/* Parse an address into an lb_addr; returns LB_FAMILY_V4/V6 or 0. */
int bench_addr(const char *text, union lb_addr *out);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* Median, min and max of n values (sorts v). */
struct bench_fig {
	double med;
	double min;
	double max;
};
void bench_summarize(double *v, int n, struct bench_fig *f);

#endif /* BENCH_UTIL_H */
