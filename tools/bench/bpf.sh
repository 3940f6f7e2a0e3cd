#!/usr/bin/env bash
# Part "bpf" of the benchmarks: ns per packet of the balancer per packet
# class next to the MAC-swap XDP_TX floor (tools/bench/bench_bpf.c).
set -euo pipefail
O=$1
"$O/bench/bench_bpf" -r "${BENCH_RUNS:-5}"
