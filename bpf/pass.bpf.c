// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * pass.bpf.c - returns XDP_PASS.  A veth only delivers frames that its peer
 * sent with XDP_TX when the receiving end runs an XDP program; the lab
 * attaches this one to the switch side of every port that faces a balancer.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
