// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench_sink.bpf.c - the receiving ends of the forwarding benchmark.
 *
 * bench_sink counts and drops every frame that reaches the generator's
 * veth: what the device under test delivered.  bench_pass counts and
 * passes: it sits on the balancer's veth when the kernel stack forwards
 * (nftables baseline), because a veth only receives redirected frames when
 * an XDP program is attached to it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "bench_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Frames seen, per CPU so that counting costs no atomic operation. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BENCH_SINK_MAX);
	__type(key, __u32);
	__type(value, __u64);
} sink_count SEC(".maps");

static __always_inline void sink_inc(__u32 idx)
{
	__u64 *n = bpf_map_lookup_elem(&sink_count, &idx);

	if (n)
		(*n)++;
}

SEC("xdp")
int bench_sink(struct xdp_md *ctx)
{
	sink_inc(BENCH_SINK_DROPPED);
	return XDP_DROP;
}

SEC("xdp")
int bench_pass(struct xdp_md *ctx)
{
	sink_inc(BENCH_SINK_PASSED);
	return XDP_PASS;
}
