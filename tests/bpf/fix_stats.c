// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fix_stats.c - what is no single packet fixture: hashing modes and the
 * spread of many flows over the backends, and the counters.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "harness.h"
#include "fixture.h"

static void spec_init(struct pkt_spec *s, int family, const char *src,
		      const char *dst, uint8_t proto, uint16_t sport,
		      uint16_t dport)
{
	struct pkt_spec d = { FX_SPEC_DEFAULTS(family, src, dst, proto, sport,
					       dport) };

	*s = d;
}

static void test_hash_modes(void)
{
	struct pkt_spec a, b;
	struct pkt in, out;
	int same = 1, spread = 0;
	uint8_t first[6] = { 0 };

	/* source-address hashing: every port of a client, one backend */
	for (int i = 0; i < 64; i++) {
		spec_init(&a, 4, "192.0.2.200", "203.0.113.40", 6,
			  (uint16_t)(30000 + i), 80);
		pkt_build(&a, &in);
		if (fx_run(fx_prog_fd, &in, &out) != XDP_TX) {
			same = 0;
			break;
		}
		if (i == 0)
			memcpy(first, out.b, 6);
		else if (memcmp(first, out.b, 6))
			same = 0;
	}
	T_CHECK("hash_src_only_sticky", same,
		"one client's ports went to several backends");
	/* ...while different clients still spread */
	for (int i = 0; i < 64; i++) {
		char src[32];

		snprintf(src, sizeof(src), "192.0.2.%d", i + 1);
		spec_init(&b, 4, src, "203.0.113.40", 6, 30000, 80);
		pkt_build(&b, &in);
		if (fx_run(fx_prog_fd, &in, &out) == XDP_TX &&
		    memcmp(first, out.b, 6))
			spread++;
	}
	T_CHECK("hash_src_only_spreads_clients", spread > 10 && spread < 60,
		"%d of 64 clients off the first backend", spread);
}

/* Random flows through the real program; count backends by MAC. */
static void distribution(const char *name, struct tvip *v, int nflows,
			 double tolerance)
{
	uint64_t counts[MAX_TBE] = { 0 };
	uint64_t wsum = 0;
	unsigned int rs = 12345;
	struct pkt_spec s;
	struct pkt in, out;
	char src[64];
	int bad = 0;

	for (int i = 0; i < v->nbe; i++)
		wsum += v->be[i].weight;
	for (int i = 0; i < nflows; i++) {
		uint32_t r = (uint32_t)rand_r(&rs) << 16 ^
			     (uint32_t)rand_r(&rs);
		uint8_t m[6];

		snprintf(src, sizeof(src), "10.%u.%u.%u", (r >> 16) & 0xff,
			 (r >> 8) & 0xff, r & 0xff);
		spec_init(&s, 4, src, v->addr, 6,
			  (uint16_t)(1024 + rand_r(&rs) % 60000), v->port);
		s.payload_len = 0;
		pkt_build(&s, &in);
		if (fx_run(fx_prog_fd, &in, &out) != XDP_TX) {
			bad++;
			continue;
		}
		for (int b = 0; b < v->nbe; b++) {
			fx_be_mac(v->be[b].id, m);
			if (!memcmp(m, out.b, 6))
				counts[b]++;
		}
	}
	if (bad) {
		t_fail(name, "%d flows not forwarded", bad);
		return;
	}
	for (int b = 0; b < v->nbe; b++) {
		double want = (double)nflows * v->be[b].weight / wsum;
		double dev = (counts[b] - want) / want;

		printf("  %s: backend %s weight %u got %llu (%.2f%% off)\n",
		       name, v->be[b].addr, v->be[b].weight,
		       (unsigned long long)counts[b], dev * 100);
		if (dev > tolerance || dev < -tolerance) {
			t_fail(name, "backend %s got %llu, want %.0f +-%.0f%%",
			       v->be[b].addr, (unsigned long long)counts[b],
			       want, tolerance * 100);
			return;
		}
	}
	t_pass(name);
}

static void test_stats(void)
{
	struct lb_counter vc, bc;
	struct pkt_spec s;
	struct pkt in, out;
	uint32_t be;
	struct lb_counter vc0, bc0;

	spec_init(&s, 4, "192.0.2.150", "203.0.113.10", 6, 43000, 80);
	pkt_build(&s, &in);
	be = fx_be_id(&v4_tcp, "198.51.100.3"); /* golden: the flow's */
	lb_dp_counter(dp.vip_stats, v4_tcp.id, &vc0);
	lb_dp_counter(dp.backend_stats, be, &bc0);
	for (int i = 0; i < 5; i++)
		fx_run(fx_prog_fd, &in, &out);
	lb_dp_counter(dp.vip_stats, v4_tcp.id, &vc);
	lb_dp_counter(dp.backend_stats, be, &bc);
	T_CHECK("stats_per_vip",
		vc.packets == vc0.packets + 5 &&
			vc.bytes == vc0.bytes + 5 * in.len,
		"vip counter +%llu packets +%llu bytes, want +5 / +%zu",
		(unsigned long long)(vc.packets - vc0.packets),
		(unsigned long long)(vc.bytes - vc0.bytes), 5 * in.len);
	T_CHECK("stats_per_backend",
		bc.packets == bc0.packets + 5 &&
			bc.bytes == bc0.bytes + 5 * in.len,
		"backend counter +%llu packets, want +5",
		(unsigned long long)(bc.packets - bc0.packets));
	{
		/* lbd's batch read of a whole counter array (over several
		 * batches) gives what one read per entry gives */
		struct lb_counter *all = calloc(LB_MAX_BACKENDS, sizeof(*all));
		int ncpu = libbpf_num_possible_cpus();
		struct lb_counter *pc = calloc(ncpu, sizeof(*pc));
		uint32_t far = LB_MAX_BACKENDS - 3; /* in the last batch */
		long bad = all ? -1 : 0, nz = 0;
		int err = -1;

		/* a count on every CPU of an id no fixture uses */
		for (int c = 0; pc && c < ncpu; c++)
			pc[c] = (struct lb_counter){ .packets = 7 + c,
						     .bytes = 700 };
		if (all && pc &&
		    !bpf_map_update_elem(dp.backend_stats, &far, pc, BPF_ANY))
			err = lb_dp_counters(dp.backend_stats, LB_MAX_BACKENDS,
					     all);

		for (uint32_t i = 0; !err && i < LB_MAX_BACKENDS && bad < 0;
		     i++) {
			struct lb_counter one;

			lb_dp_counter(dp.backend_stats, i, &one);
			if (one.packets != all[i].packets ||
			    one.bytes != all[i].bytes)
				bad = i;
			nz += one.packets != 0;
		}
		T_CHECK("stats_batch_read_matches_entries",
			!err && bad < 0 && nz > 2 &&
				all[be].packets == bc.packets &&
				all[far].bytes == 700ull * ncpu,
			"err %d, first entry that differs %ld, %ld entries "
			"with packets",
			err, bad, nz);
		lb_dp_counter_reset(dp.backend_stats, far);
		free(all);
		free(pc);
	}
	{
		static const char *names[LB_STAT_MAX] = { LB_STAT_NAMES };
		int unnamed = -1;

		for (int i = 0; i < LB_STAT_MAX && unnamed < 0; i++)
			if (!names[i] || !*names[i])
				unnamed = i;
		T_CHECK("stats_every_counter_named", unnamed < 0,
			"counter %d has no name in LB_STAT_NAMES", unnamed);
	}
	{
		uint64_t outcomes = fx_stat(LB_STAT_PASS) + fx_stat(LB_STAT_TX);

		for (int i = LB_STAT_DROP_FIRST; i < LB_STAT_MAX; i++)
			outcomes += fx_stat(i);
		T_CHECK("stats_rx_sums_outcomes",
			fx_stat(LB_STAT_RX) == outcomes,
			"rx %llu != pass + tx + drops %llu",
			(unsigned long long)fx_stat(LB_STAT_RX),
			(unsigned long long)outcomes);
	}
}

void fx_stats_tests(void)
{
	test_hash_modes();
	distribution("distribution_10_equal_backends", &v4_ten, 100000, 0.05);
	distribution("distribution_weights_1_2_3", &v4_weighted, 100000, 0.05);
	test_stats();
}
