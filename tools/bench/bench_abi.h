/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bench_abi.h - what the benchmark's BPF programs and their loaders both
 * read: counter indices of the sink and the generator's flow layout.
 */
#ifndef BENCH_ABI_H
#define BENCH_ABI_H

/* sink_count index (bench_sink.bpf.c). */
enum bench_sink_stat {
	BENCH_SINK_DROPPED = 0, /* frames counted and dropped by bench_sink */
	BENCH_SINK_PASSED, /* frames counted and passed by bench_pass */
	BENCH_SINK_MAX,
};

/*
 * Flow number i (0 <= i < nflows) of the generator is the UDP flow
 * saddr_base + i / BENCH_GEN_PORTS : sport_base + i % BENCH_GEN_PORTS, so
 * that both the source address and the source port change per packet.
 */
#define BENCH_GEN_PORTS 16
#define BENCH_GEN_MAX_FLOWS (BENCH_GEN_PORTS * 65536)

/* The generator's frame: Ethernet, IPv4, UDP and this much payload, 60
 * bytes in all (the shortest Ethernet frame without its FCS). */
#define BENCH_GEN_PAYLOAD 18
#define BENCH_GEN_FRAME_LEN (14 + 20 + 8 + BENCH_GEN_PAYLOAD)

#endif /* BENCH_ABI_H */
