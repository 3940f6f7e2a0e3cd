// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench_fwd.c - forwarding rate of the balancer in the lab, next to the
 * ceiling of the same path and to the kernel stack doing the same job.
 *
 * Topology (built by tools/bench/fwd.sh):
 *
 *   gen ns: gen veth  <---->  lb veth: lb ns
 *
 * bench_gen runs through BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES
 * in the gen ns and sends UDP packets to the VIP out of the gen veth.  The
 * device under test on the lb veth sends them back out of the same veth:
 *   lb     the balancer (L2 DSR, XDP_TX), one VIP over the backends given;
 *   floor  bench_floor, MAC swap and XDP_TX: the ceiling of this path;
 *   nft    bench_pass (XDP_PASS) and the lb ns's kernel stack, which DNATs
 *          the VIP to the same backends (nftables, set up by fwd.sh) and
 *          routes them back out of the lb veth;
 *   slow   bench_slow: a fixed extra cost, then a tail call into the
 *          balancer, to show that the figures can see the balancer's cost.
 * bench_sink on the gen veth counts what comes back.  Every part of the
 * chain runs in one softirq chain on the generator's CPU.
 *
 * Each measurement is one test-run call with a large repeat.  Such a call
 * pays a fixed cost of tens of milliseconds on top of its frames (the
 * generator is put into and taken out of the XDP dispatcher, each waiting
 * for an RCU grace period), which a loop of small calls would mostly
 * measure instead of the frames.  Rate = frames counted by the sink / the
 * kernel's own run time of the call (duration x repeat), which holds none
 * of that fixed cost; the wall time of the call is kept to report it.
 *
 * A second pass, with the kernel's BPF run-time statistics on, takes the
 * time of each run of the program that meets the frames: what the
 * balancer itself costs per frame, against the floor's program, steadier
 * than rates that the rest of the chain and the host's load move.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>

#include "bench_abi.h"
#include "bench_util.h"
#include "lb.skel.h"
#include "bench_floor.skel.h"
#include "bench_gen.skel.h"
#include "bench_sink.skel.h"
#include "bench_slow.skel.h"

#define MAX_RUNS 32
#define MAX_FLOWS_CFG 8
#define WARMUP_MIN 262144 /* frames of the first call per mode */
#define MEASURE_MIN 100000 /* frames of a measurement, at least */

enum mode { MODE_LB, MODE_FLOOR, MODE_NFT, MODE_SLOW, MODE_MAX };
static const char *const mode_names[MODE_MAX] = { "lb", "floor", "nft",
						  "slow" };

/* One measurement. */
struct sample {
	double mpps; /* delivered to the sink per second of run time */
	double offered; /* sent by the generator, Mpps of run time */
	double fixed_ms; /* wall time of the call less its run time */
	double ct_hit; /* lb, slow: share of conntrack hits */
};

struct opts {
	const char *gen_ns, *lb_ns, *gen_if, *lb_if;
	const char *vip, *src;
	uint16_t port;
	const char *backends[BENCH_MAX_BACKENDS];
	int nbe;
	uint32_t flows[MAX_FLOWS_CFG];
	int nflows;
	int runs;
	double secs;
	int cpu;
	uint32_t ct_size;
};

static struct opts o = {
	.port = 8080,
	.runs = 5,
	.secs = 1.0,
	.cpu = -1,
};

static int gen_ns_fd = -1, lb_ns_fd = -1;
static int gen_ifindex, lb_ifindex;
static struct bench_lb lb;
static struct bench_floor *floor_skel;
static struct bench_sink *sink_skel;
static struct bench_gen *gen_skel;
static struct bench_slow *slow_skel;
/* ns per frame of each mode in its warm-up: sizes the measurements */
static double warm_ns[MODE_MAX];
static uint8_t frame[BENCH_GEN_FRAME_LEN];

static int ns_open(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int ns_enter(int fd)
{
	return setns(fd, CLONE_NEWNET) ? -errno : 0;
}

/* ifindex and MAC of an interface of the current network namespace. */
static int if_info(const char *name, int *ifindex, uint8_t mac[6])
{
	struct ifreq ifr = {};
	int fd, err = 0;

	*ifindex = (int)if_nametoindex(name);
	if (!*ifindex)
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

/* Attach prog_fd (native XDP) to the lb veth, replacing what is there. */
static int lb_attach(int prog_fd)
{
	int err, err2;

	err = ns_enter(lb_ns_fd);
	if (err)
		return err;
	err = bpf_xdp_attach(lb_ifindex, prog_fd, XDP_FLAGS_DRV_MODE, NULL);
	err2 = ns_enter(gen_ns_fd);
	return err ? err : err2;
}

/* A sink counter summed over the CPUs. */
static int sink_count(enum bench_sink_stat idx, uint64_t *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	uint32_t key = idx;
	uint64_t *v;

	*sum = 0;
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(sink_skel->maps.sink_count), &key,
				v)) {
		free(v);
		return -errno;
	}
	for (int i = 0; i < ncpu; i++)
		*sum += v[i];
	free(v);
	return 0;
}

/*
 * Send n frames in one call: *run_s is the kernel's run time of the call
 * (its ns per frame, a whole number, x n: within 0.5% at the rates here),
 * *wall_s the call's wall time.
 */
static int generate(uint32_t n, double *run_s, double *wall_s)
{
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = frame,
		    .data_size_in = sizeof(frame), .repeat = n,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
	uint64_t t0 = bench_now_ns();

	if (bpf_prog_test_run_opts(bpf_program__fd(gen_skel->progs.bench_gen),
				   &t))
		return -errno;
	*wall_s = (double)(bench_now_ns() - t0) / 1e9;
	*run_s = (double)t.duration * n / 1e9;
	return *run_s > 0 ? 0 : -EPROTO;
}

/* Let the rings drain, so that the sink has seen everything. */
static void settle(void)
{
	usleep(20000);
}

static int measure(enum mode m, struct sample *s)
{
	uint64_t before[LB_STAT_MAX], after[LB_STAT_MAX];
	int lb_mode = m == MODE_LB || m == MODE_SLOW;
	uint64_t rx0, rx1;
	double run_s, wall_s, want;
	uint32_t n;
	int err;

	/* secs of frames at the rate of the warm-up */
	want = o.secs * 1e9 / (warm_ns[m] > 0 ? warm_ns[m] : 1000);
	n = want < MEASURE_MIN ? MEASURE_MIN :
	    want > 100000000   ? 100000000 :
				 (uint32_t)want;
	if (lb_mode) {
		err = bench_lb_stats(&lb, before);
		if (err)
			return err;
	}
	settle();
	err = sink_count(BENCH_SINK_DROPPED, &rx0);
	if (!err)
		err = generate(n, &run_s, &wall_s);
	if (err)
		return err;
	settle();
	err = sink_count(BENCH_SINK_DROPPED, &rx1);
	if (err)
		return err;
	s->mpps = (double)(rx1 - rx0) / run_s / 1e6;
	s->offered = (double)n / run_s / 1e6;
	s->fixed_ms = (wall_s - run_s) * 1e3;
	s->ct_hit = 0;
	if (lb_mode) {
		uint64_t fwd, hit, drops = 0;

		err = bench_lb_stats(&lb, after);
		if (err)
			return err;
		/* anything else on the wire (none expected) is passed up */
		fwd = after[LB_STAT_TX] - before[LB_STAT_TX];
		hit = after[LB_STAT_CT_HIT] - before[LB_STAT_CT_HIT];
		for (int i = LB_STAT_DROP_FIRST; i < LB_STAT_MAX; i++)
			drops += after[i] - before[i];
		if (!fwd || drops) {
			bench_warn("%s: %llu packets forwarded, %llu dropped",
				   mode_names[m], (unsigned long long)fwd,
				   (unsigned long long)drops);
			return -EPROTO;
		}
		s->ct_hit = (double)hit / (double)fwd;
	}
	return 0;
}

static int mode_prog(enum mode m)
{
	switch (m) {
	case MODE_LB:
		return lb.prog_fd;
	case MODE_FLOOR:
		return bpf_program__fd(floor_skel->progs.bench_floor);
	case MODE_SLOW:
		return bpf_program__fd(slow_skel->progs.bench_slow);
	default:
		return bpf_program__fd(sink_skel->progs.bench_pass);
	}
}

/* Sums of the 16-bit words of the frame as the generator loads them. */
static uint32_t sum16(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t sum = 0;
	uint16_t w;

	for (size_t i = 0; i + 1 < len; i += 2) {
		memcpy(&w, b + i, 2);
		sum += w;
	}
	return sum;
}

/*
 * The template frame and the generator's settings.  The checksum bases
 * leave out the source address and port, which change per packet.
 */
static int gen_setup(const uint8_t gen_mac[6], const uint8_t lb_mac[6])
{
	struct bench_gen__rodata *ro;
	uint8_t *ip = frame + 14, *udp = ip + 20;
	uint16_t ulen = BENCH_GEN_FRAME_LEN - 14 - 20;
	struct in_addr saddr, daddr;
	uint8_t pseudo[12] = {};
	uint32_t sum;
	int err;

	if (inet_pton(AF_INET, o.vip, &daddr) != 1 ||
	    inet_pton(AF_INET, o.src, &saddr) != 1)
		return -EINVAL;

	memcpy(frame, lb_mac, 6);
	memcpy(frame + 6, gen_mac, 6);
	frame[12] = 0x08; /* ETH_P_IP */
	ip[0] = 0x45;
	ip[2] = (BENCH_GEN_FRAME_LEN - 14) >> 8;
	ip[3] = (BENCH_GEN_FRAME_LEN - 14) & 0xff;
	ip[8] = 64; /* TTL */
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 16, &daddr, 4);
	udp[2] = o.port >> 8;
	udp[3] = o.port & 0xff;
	udp[4] = ulen >> 8;
	udp[5] = ulen & 0xff;
	for (int i = 0; i < BENCH_GEN_PAYLOAD; i++)
		udp[8 + i] = (uint8_t)('a' + i);

	gen_skel = bench_gen__open();
	if (!gen_skel)
		return -errno;
	ro = gen_skel->rodata;
	ro->gen_ifindex = (uint32_t)gen_ifindex;
	memcpy((void *)ro->gen_dmac, lb_mac, 6);
	memcpy((void *)ro->gen_smac, gen_mac, 6);
	ro->gen_saddr_base = saddr.s_addr;
	ro->gen_daddr = daddr.s_addr;
	ro->gen_sport_base = 1024;
	ro->gen_dport = htons(o.port);
	/* frame's saddr, checksums and sport are still zero here */
	ro->gen_ip_sum = sum16(ip, 20);
	memcpy(pseudo + 4, &daddr, 4);
	pseudo[9] = IPPROTO_UDP;
	pseudo[10] = udp[4];
	pseudo[11] = udp[5];
	sum = sum16(pseudo, sizeof(pseudo)) + sum16(udp, ulen);
	ro->gen_udp_sum = sum;
	err = bench_gen__load(gen_skel);
	return err;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * Run the generator once on a frame of zeros (no live frames): every
 * header field must be written and both checksums must verify.
 */
static int gen_selftest(void)
{
	uint8_t in[BENCH_GEN_FRAME_LEN] = {}, out[BENCH_GEN_FRAME_LEN + 64];
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = in,
		    .data_size_in = sizeof(in), .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);
	uint8_t *ip = out + 14, *udp = ip + 20, pseudo[12] = {};
	uint16_t ulen = BENCH_GEN_FRAME_LEN - 14 - 20;
	uint32_t sum;

	memcpy(in + 42, frame + 42, BENCH_GEN_PAYLOAD);
	if (bpf_prog_test_run_opts(bpf_program__fd(gen_skel->progs.bench_gen),
				   &t))
		return -errno;
	gen_skel->bss->gen_next = 0;
	if (t.retval != XDP_REDIRECT || t.data_size_out != sizeof(in) ||
	    memcmp(out, frame, 12) || out[12] != 0x08 || out[13] != 0)
		return -EPROTO;
	memcpy(pseudo, ip + 12, 8);
	pseudo[9] = IPPROTO_UDP;
	memcpy(pseudo + 10, udp + 4, 2);
	sum = sum16(pseudo, sizeof(pseudo)) + sum16(udp, ulen);
	if (fold(sum16(ip, 20)) != 0xffff || fold(sum) != 0xffff)
		return -EBADMSG;
	return 0;
}

static void print_fig(const struct bench_fig *f, int prec)
{
	printf(" %.*f (%.*f-%.*f) |", prec, f->med, prec, f->min, prec, f->max);
}

/* The goal of bench/DATAPATH.md: at GOAL_FLOWS flows, at least GOAL_SHARE
 * of the floor's rate. */
#define GOAL_FLOWS 60000
#define GOAL_SHARE 0.5

/* The figures of one number of flows. */
struct flows_result {
	struct bench_fig mpps[MODE_MAX];
	struct bench_fig offered[MODE_MAX];
	struct bench_fig fixed_ms[MODE_MAX];
	struct bench_fig hit; /* the balancer's conntrack hits, % */
	struct bench_fig prog_ns[MODE_MAX]; /* per run of m's program */
	uint32_t ct4_bits; /* the balancer's lb_ct4: 2^bits lines */
};

/* Modes whose program's own time is measured (the nftables mode's program
 * only passes frames up). */
static int timed_mode(enum mode m)
{
	return m == MODE_LB || m == MODE_FLOOR || m == MODE_SLOW;
}

/*
 * The mean time of one run of mode m's program over about half a
 * measurement's frames, in ns, from the kernel's BPF run-time statistics
 * (which the caller has turned on).  The program that the generator's
 * frames meet is the one counted: bench_slow's figure holds the balancer
 * it tail-calls.
 */
static int prog_time(enum mode m, double *ns)
{
	struct bpf_prog_info a = {}, b = {};
	int fd = mode_prog(m), err;
	__u32 len = sizeof(a);
	double run_s, wall_s, want;
	uint32_t n;

	want = o.secs * 0.5e9 / (warm_ns[m] > 0 ? warm_ns[m] : 1000);
	n = want < MEASURE_MIN ? MEASURE_MIN :
	    want > 50000000    ? 50000000 :
				 (uint32_t)want;
	err = lb_attach(fd);
	if (err)
		return err;
	settle();
	if (bpf_obj_get_info_by_fd(fd, &a, &len))
		return -errno;
	err = generate(n, &run_s, &wall_s);
	if (err)
		return err;
	settle();
	len = sizeof(b);
	if (bpf_obj_get_info_by_fd(fd, &b, &len))
		return -errno;
	if (b.run_cnt <= a.run_cnt)
		return -EPROTO;
	*ns = (double)(b.run_time_ns - a.run_time_ns) /
	      (double)(b.run_cnt - a.run_cnt);
	return 0;
}

/*
 * The programs' own time per frame, in a pass of its own after the rates:
 * the statistics read the clock twice a run, which would slow the rates.
 * Modes interleaved as in run_flows().
 */
static int prog_times(uint32_t nflows, struct flows_result *res)
{
	double v[MODE_MAX][MAX_RUNS];
	int stats_fd, err = 0;

	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0)
		return -errno;
	for (int r = 0; r < o.runs && !err; r++) {
		for (int k = 0; k < MODE_MAX && !err; k++) {
			int m = (r + k) % MODE_MAX;

			if (timed_mode(m))
				err = prog_time(m, &v[m][r]);
			if (err)
				bench_warn("%s, %u flows, program time: %s",
					   mode_names[m], nflows,
					   strerror(-err));
		}
	}
	close(stats_fd);
	for (int m = 0; m < MODE_MAX && !err; m++)
		if (timed_mode(m))
			bench_summarize(v[m], o.runs, &res->prog_ns[m]);
	return err;
}

/*
 * lb_ct4 sized as lbd sizes it (lb_dp_ct4_fit): a tick of lbd after the
 * datapath evicted flows doubles its live part; here the warm-up of n
 * frames runs again until it no longer grows.  *bits: the size it ends
 * at.
 */
static int ct4_settle(uint32_t n, uint32_t *bits)
{
	uint64_t before[LB_STAT_MAX], after[LB_STAT_MAX];
	struct lb_ct4_resize_result r;
	double run_s, wall_s;
	uint32_t from, to;
	int err;

	err = lb_attach(mode_prog(MODE_LB));
	for (int i = 0; !err && i < 2 * LB_CT4_MAX_BITS; i++) {
		err = bench_lb_stats(&lb, before);
		if (!err)
			err = generate(n, &run_s, &wall_s);
		if (!err)
			err = bench_lb_stats(&lb, after);
		if (err)
			break;
		err = lb_dp_ct4_fit(
			&lb.dp,
			after[LB_STAT_CT_EVICT] - before[LB_STAT_CT_EVICT],
			after[LB_STAT_CT_MISS] + after[LB_STAT_CT_HIT] -
				before[LB_STAT_CT_MISS] -
				before[LB_STAT_CT_HIT],
			UINT64_MAX, &r, &from, &to);
		if (err == 0) /* large enough, or as large as the map */
			break;
		err = err < 0 ? err : 0;
	}
	if (!err) {
		struct lb_ct4_state st;

		err = lb_dp_ct4_state(&lb.dp, &st);
		*bits = st.bits < LB_CT4_MIN_BITS ? LB_CT4_MIN_BITS : st.bits;
	}
	return err;
}

static int run_flows(uint32_t nflows, struct flows_result *res)
{
	double v[MODE_MAX][MAX_RUNS], off[MODE_MAX][MAX_RUNS];
	double fx[MODE_MAX][MAX_RUNS], h[MAX_RUNS];
	double run_s, wall_s;
	uint32_t warm;
	struct sample s;
	int err;

	gen_skel->data->gen_nflows = nflows;
	gen_skel->bss->gen_next = 0;
	/* every flow seen at least once by every device before measuring,
	 * and each mode's rate for the size of its measurements */
	warm = nflows < WARMUP_MIN ? WARMUP_MIN : nflows;
	err = ct4_settle(warm, &res->ct4_bits);
	if (err)
		return err;
	for (int m = 0; m < MODE_MAX; m++) {
		err = lb_attach(mode_prog(m));
		if (!err)
			err = generate(warm, &run_s, &wall_s);
		if (err)
			return err;
		warm_ns[m] = run_s * 1e9 / warm;
	}
	/* modes interleaved, so that a drift of the machine hits all alike,
	 * and the first of each round rotated, so that no mode always
	 * follows the same one */
	for (int r = 0; r < o.runs; r++) {
		for (int k = 0; k < MODE_MAX; k++) {
			int m = (r + k) % MODE_MAX;

			err = lb_attach(mode_prog(m));
			if (!err)
				err = measure(m, &s);
			if (err) {
				bench_warn("%s, %u flows: %s", mode_names[m],
					   nflows, strerror(-err));
				return err;
			}
			v[m][r] = s.mpps;
			off[m][r] = s.offered;
			fx[m][r] = s.fixed_ms;
			if (m == MODE_LB)
				h[r] = s.ct_hit * 100;
		}
	}
	for (int m = 0; m < MODE_MAX; m++) {
		bench_summarize(v[m], o.runs, &res->mpps[m]);
		bench_summarize(off[m], o.runs, &res->offered[m]);
		bench_summarize(fx[m], o.runs, &res->fixed_ms[m]);
	}
	bench_summarize(h, o.runs, &res->hit);
	return prog_times(nflows, res);
}

/*
 * What the slower variant adds per packet, without live frames: the
 * balancer and bench_slow on the template frame (a flow the balancer
 * remembers, L2 DSR: every repetition takes the same path), repeat = n,
 * median of the runs.
 */
static int slow_extra(double *lb_ns, double *slow_ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = frame,
		    .data_size_in = sizeof(frame), .repeat = 1000000);
	double a[MAX_RUNS], b[MAX_RUNS];
	struct bench_fig f;

	for (int r = 0; r < o.runs; r++) {
		if (bpf_prog_test_run_opts(lb.prog_fd, &t))
			return -errno;
		a[r] = t.duration;
		if (bpf_prog_test_run_opts(mode_prog(MODE_SLOW), &t))
			return -errno;
		b[r] = t.duration;
		if (t.retval != XDP_TX)
			return -EPROTO;
	}
	bench_summarize(a, o.runs, &f);
	*lb_ns = f.med;
	bench_summarize(b, o.runs, &f);
	*slow_ns = f.med;
	return 0;
}

static double ratio(const struct bench_fig *a, const struct bench_fig *b)
{
	return b->med > 0 ? a->med / b->med : 0;
}

static void report(const struct flows_result *res, double lb_ns, double slow_ns)
{
	printf("UDP, %d-byte frames, one VIP over %d backends; each figure "
	       "the median of %d runs (min-max), each run one test-run call "
	       "of about %.1f s of frames.  Mpps = frames counted by the sink "
	       "/ the kernel's run time of the call.  (a) the balancer (L2 "
	       "DSR, XDP_TX), (b) MAC swap and XDP_TX (the ceiling of this "
	       "path), (c) nftables DNAT in the kernel stack, (d) the "
	       "balancer made slower on purpose (a fixed extra cost, then a "
	       "tail call into it).\n\n",
	       BENCH_GEN_FRAME_LEN, o.nbe, o.runs, o.secs);
	printf("| concurrent flows | (a) balancer Mpps | (b) floor Mpps | "
	       "(c) nftables Mpps | (d) slower balancer Mpps | (a)/(b) | "
	       "(a)/(c) | (d)/(a) | balancer conntrack hits %% |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (int i = 0; i < o.nflows; i++) {
		const struct flows_result *r = &res[i];

		printf("| %u |", o.flows[i]);
		for (int m = 0; m < MODE_MAX; m++)
			print_fig(&r->mpps[m], 2);
		printf(" %.2f | %.2f | %.2f |",
		       ratio(&r->mpps[MODE_LB], &r->mpps[MODE_FLOOR]),
		       ratio(&r->mpps[MODE_LB], &r->mpps[MODE_NFT]),
		       ratio(&r->mpps[MODE_SLOW], &r->mpps[MODE_LB]));
		print_fig(&r->hit, 1);
		printf("\n");
	}
	printf("\nOffered load (Mpps sent by the generator, median) and the "
	       "share of it that reached the sink:\n\n");
	printf("| concurrent flows | (a) offered | (a) delivered | "
	       "(b) offered | (b) delivered | (c) offered | (c) delivered | "
	       "(d) offered | (d) delivered |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (int i = 0; i < o.nflows; i++) {
		printf("| %u |", o.flows[i]);
		for (int m = 0; m < MODE_MAX; m++)
			printf(" %.2f | %.0f%% |", res[i].offered[m].med,
			       100 * ratio(&res[i].mpps[m],
					   &res[i].offered[m]));
		printf("\n");
	}
	printf("\nThe slower balancer (d): without live frames (test run, "
	       "repeat=1000000, a remembered flow) the balancer takes %.0f ns "
	       "per packet and (d) %.0f ns, %.0f ns more.  In live frames "
	       "(d) took this much longer per delivered frame than (a):",
	       lb_ns, slow_ns, slow_ns - lb_ns);
	for (int i = 0; i < o.nflows; i++) {
		const struct flows_result *r = &res[i];
		double d = r->mpps[MODE_SLOW].med > 0 &&
					   r->mpps[MODE_LB].med > 0 ?
				   1e3 / r->mpps[MODE_SLOW].med -
					   1e3 / r->mpps[MODE_LB].med :
				   0;

		printf("%s %u flows %.0f ns", i ? "," : "", o.flows[i], d);
	}
	printf(".\n\nTime in the XDP program per frame, ns, median of %d runs "
	       "(min-max) of about %.1f s of frames each: the kernel's BPF "
	       "run-time statistics, in a pass of its own after the rates "
	       "above.  They read the clock twice a run, which every figure "
	       "here holds, so the differences say the most.  (a) - (b) is "
	       "what the balancer adds to the floor's work; (d) - (a) is "
	       "the slower variant's fixed extra, %.0f ns without live "
	       "frames, and shows that the figure sees a cost added to the "
	       "balancer.\n\n",
	       o.runs, o.secs * 0.5, slow_ns - lb_ns);
	printf("| concurrent flows | (a) balancer | (b) floor | "
	       "(d) slower balancer | (a) - (b) | (d) - (a) |\n");
	printf("|---:|---:|---:|---:|---:|---:|\n");
	for (int i = 0; i < o.nflows; i++) {
		const struct bench_fig *p = res[i].prog_ns;

		printf("| %u |", o.flows[i]);
		print_fig(&p[MODE_LB], 0);
		print_fig(&p[MODE_FLOOR], 0);
		print_fig(&p[MODE_SLOW], 0);
		printf(" %.0f | %.0f |\n", p[MODE_LB].med - p[MODE_FLOOR].med,
		       p[MODE_SLOW].med - p[MODE_LB].med);
	}
	printf("\nThe balancer's connection table (lb_ct4) as lbd sizes it, "
	       "doubled after every warm-up that evicted flows as lbd doubles it:");
	for (int i = 0; i < o.nflows; i++)
		printf("%s %u flows %u KiB", i ? "," : "", o.flows[i],
		       (1U << res[i].ct4_bits) * 64 / 1024);
	printf(".\n");
	printf("\nFixed cost per test-run call (the call's wall time less "
	       "its run time, median over modes and runs), left out of every "
	       "figure above:");
	for (int i = 0; i < o.nflows; i++) {
		double fx[MODE_MAX];
		struct bench_fig f;

		for (int m = 0; m < MODE_MAX; m++)
			fx[m] = res[i].fixed_ms[m].med;
		bench_summarize(fx, MODE_MAX, &f);
		printf("%s %u flows %.1f ms", i ? "," : "", o.flows[i], f.med);
	}
	printf(".\n");
	for (int i = 0; i < o.nflows; i++) {
		double r =
			ratio(&res[i].mpps[MODE_LB], &res[i].mpps[MODE_FLOOR]);

		if (o.flows[i] != GOAL_FLOWS)
			continue;
		printf("\nGoal: at %u concurrent flows the balancer forwards at "
		       "least %.1f x the floor: %.2f x (%.2f of %.2f Mpps), %s.\n",
		       GOAL_FLOWS, GOAL_SHARE, r, res[i].mpps[MODE_LB].med,
		       res[i].mpps[MODE_FLOOR].med,
		       r >= GOAL_SHARE ? "met" : "NOT met");
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_fwd --gen-ns NS --lb-ns NS --gen-if IF --lb-if IF\n"
		"                 --vip ADDR [--port N] --backend ADDR... "
		"--src ADDR\n"
		"                 [--flows N,N,...] [--runs N] [--secs S] "
		"[--cpu N] [--ct-size N]\n");
}

static int parse_flows(char *arg)
{
	char *tok, *save = NULL;

	o.nflows = 0;
	for (tok = strtok_r(arg, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned long n = strtoul(tok, NULL, 0);

		if (!n || n > BENCH_GEN_MAX_FLOWS || o.nflows == MAX_FLOWS_CFG)
			return -EINVAL;
		o.flows[o.nflows++] = (uint32_t)n;
	}
	return o.nflows ? 0 : -EINVAL;
}

static int parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "gen-ns", required_argument, NULL, 'g' },
		{ "lb-ns", required_argument, NULL, 'l' },
		{ "gen-if", required_argument, NULL, 'G' },
		{ "lb-if", required_argument, NULL, 'L' },
		{ "vip", required_argument, NULL, 'v' },
		{ "port", required_argument, NULL, 'p' },
		{ "backend", required_argument, NULL, 'b' },
		{ "src", required_argument, NULL, 's' },
		{ "flows", required_argument, NULL, 'f' },
		{ "runs", required_argument, NULL, 'r' },
		{ "secs", required_argument, NULL, 't' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "ct-size", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int opt;

	o.flows[0] = 1;
	o.nflows = 1;
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 'g':
			o.gen_ns = optarg;
			break;
		case 'l':
			o.lb_ns = optarg;
			break;
		case 'G':
			o.gen_if = optarg;
			break;
		case 'L':
			o.lb_if = optarg;
			break;
		case 'v':
			o.vip = optarg;
			break;
		case 'p':
			o.port = (uint16_t)atoi(optarg);
			break;
		case 'b':
			if (o.nbe == BENCH_MAX_BACKENDS)
				return -EINVAL;
			o.backends[o.nbe++] = optarg;
			break;
		case 's':
			o.src = optarg;
			break;
		case 'f':
			if (parse_flows(optarg))
				return -EINVAL;
			break;
		case 'r':
			o.runs = atoi(optarg);
			break;
		case 't':
			o.secs = atof(optarg);
			break;
		case 'c':
			o.cpu = atoi(optarg);
			break;
		case 'C':
			o.ct_size = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		default:
			return -EINVAL;
		}
	}
	if (!o.gen_ns || !o.lb_ns || !o.gen_if || !o.lb_if || !o.vip ||
	    !o.src || !o.nbe || o.runs < 1 || o.runs > MAX_RUNS ||
	    o.secs <= 0 || o.secs > 30)
		return -EINVAL;
	return 0;
}

static int pin_cpu(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

int main(int argc, char **argv)
{
	static struct flows_result res[MAX_FLOWS_CFG];
	double lb_ns = 0, slow_ns = 0;
	uint8_t gen_mac[6], lb_mac[6];
	int sink_attached = 0, lb_attached = 0;
	int err;

	bench_name = "bench_fwd";
	if (parse_args(argc, argv)) {
		usage(stderr);
		return EXIT_FAILURE;
	}
	err = pin_cpu(o.cpu);
	if (err) {
		bench_warn("cannot pin to CPU %d: %s", o.cpu, strerror(-err));
		return EXIT_FAILURE;
	}
	gen_ns_fd = ns_open(o.gen_ns);
	lb_ns_fd = ns_open(o.lb_ns);
	if (gen_ns_fd < 0 || lb_ns_fd < 0) {
		bench_warn("cannot open network namespaces %s, %s", o.gen_ns,
			   o.lb_ns);
		err = -ENOENT;
		goto out;
	}
	err = ns_enter(lb_ns_fd);
	if (!err)
		err = if_info(o.lb_if, &lb_ifindex, lb_mac);
	if (err) {
		bench_warn("%s in %s: %s", o.lb_if, o.lb_ns, strerror(-err));
		goto out;
	}
	err = ns_enter(gen_ns_fd);
	if (!err)
		err = if_info(o.gen_if, &gen_ifindex, gen_mac);
	if (err) {
		bench_warn("%s in %s: %s", o.gen_if, o.gen_ns, strerror(-err));
		goto out;
	}

	err = bench_lb_open(&lb, o.ct_size, lb_mac, NULL, NULL);
	if (!err)
		err = bench_lb_add_vip(&lb, o.vip, o.port, IPPROTO_UDP, 0,
				       o.backends, o.nbe);
	if (err) {
		bench_warn("cannot set up the balancer: %s", strerror(-err));
		goto out;
	}
	floor_skel = bench_floor__open_and_load();
	sink_skel = bench_sink__open_and_load();
	slow_skel = bench_slow__open_and_load();
	if (!floor_skel || !sink_skel || !slow_skel) {
		err = -errno;
		bench_warn("cannot load the floor and sink: %s",
			   strerror(-err));
		goto out;
	}
	{
		uint32_t zero = 0;

		if (bpf_map_update_elem(bpf_map__fd(slow_skel->maps.slow_next),
					&zero, &lb.prog_fd, BPF_ANY)) {
			err = -errno;
			bench_warn("cannot chain the slower balancer: %s",
				   strerror(-err));
			goto out;
		}
	}
	err = gen_setup(gen_mac, lb_mac);
	if (err) {
		bench_warn("cannot load the generator: %s", strerror(-err));
		goto out;
	}

	err = gen_selftest();
	if (err) {
		bench_warn("generator self-test failed: %s", strerror(-err));
		goto out;
	}

	/* we are in the gen ns from here on, except inside lb_attach() */
	err = bpf_xdp_attach(gen_ifindex,
			     bpf_program__fd(sink_skel->progs.bench_sink),
			     XDP_FLAGS_DRV_MODE, NULL);
	if (err) {
		bench_warn("cannot attach the sink to %s: %s", o.gen_if,
			   strerror(-err));
		goto out;
	}
	sink_attached = 1;
	lb_attached = 1;

	for (int i = 0; i < o.nflows; i++) {
		err = run_flows(o.flows[i], &res[i]);
		if (err)
			goto out;
		fprintf(stderr, "bench_fwd: %u flows done\n", o.flows[i]);
	}
	if (gen_skel->bss->gen_short)
		bench_warn("generator frames shorter than the template: %llu",
			   (unsigned long long)gen_skel->bss->gen_short);
	err = slow_extra(&lb_ns, &slow_ns);
	if (err) {
		bench_warn("cannot measure the slower balancer: %s",
			   strerror(-err));
		goto out;
	}
	report(res, lb_ns, slow_ns);
out:
	if (sink_attached && !ns_enter(gen_ns_fd))
		bpf_xdp_detach(gen_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	if (lb_attached && !ns_enter(lb_ns_fd))
		bpf_xdp_detach(lb_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	bench_gen__destroy(gen_skel);
	bench_sink__destroy(sink_skel);
	bench_floor__destroy(floor_skel);
	bench_slow__destroy(slow_skel);
	if (lb.skel)
		bench_lb_close(&lb);
	if (gen_ns_fd >= 0)
		close(gen_ns_fd);
	if (lb_ns_fd >= 0)
		close(lb_ns_fd);
	return err ? EXIT_FAILURE : EXIT_SUCCESS;
}
