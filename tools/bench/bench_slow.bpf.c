// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench_slow.bpf.c - the balancer made deliberately slower: a fixed amount
 * of arithmetic that nothing can optimise away, then a tail call into the
 * balancer's program (slow_next[0], set by the loader).  A benchmark that
 * cannot tell this from the balancer itself does not measure the balancer.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} slow_next SEC(".maps");

/* Set by the loader before load: rounds of a dependent multiply-add, each
 * a few cycles.  The verifier knows the value, so the loop is bounded. */
const volatile __u32 slow_rounds = 64;

SEC("xdp")
int bench_slow(struct xdp_md *ctx)
{
	__u32 x = ctx->ingress_ifindex;

	for (__u32 i = 0; i < slow_rounds && i < 4096; i++) {
		x = x * 1103515245 + 12345;
		/* an opaque use, so the chain is computed round by round */
		asm volatile("" : "+r"(x));
	}
	bpf_tail_call(ctx, &slow_next, 0);
	/* only if the slot is empty; x keeps the arithmetic alive */
	return x == 1 ? XDP_ABORTED : XDP_DROP;
}
