// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * steer.c - --accept reuseport: new connections go round the workers'
 * sockets in turn.
 *
 * Without a program the kernel picks a SO_REUSEPORT socket by a hash of the
 * connection's addresses and ports: fair on average, but 50 connections of
 * one client land 29/21 or 33/17 as often as not, and a keep-alive client
 * keeps that split for its whole run.  A small socket-selection program
 * (BPF_PROG_TYPE_SK_REUSEPORT) attached to the group takes a counter and
 * hands connection n to socket n mod W instead: sequential and concurrent
 * connections alike spread evenly.
 *
 * The program is a few instructions, loaded with the bpf() system call
 * directly: lb-backend needs neither libbpf nor a compiled object.  When a
 * socket of the array has gone (closed on a reload), the helper fails and
 * the program passes, and the kernel falls back to its hash over what is
 * left of the group.  It is a SELECT program, not SELECT_OR_MIGRATE: the
 * queue of a closed socket moves by the kernel's own choice
 * (net.ipv4.tcp_migrate_req), as without the program.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "master.h"

#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int map_create(uint32_t type, uint32_t vsize, uint32_t max)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = 4;
	a.value_size = vsize;
	a.max_entries = max;
	return sys_bpf(BPF_MAP_CREATE, &a);
}

static int map_update(int map, uint32_t key, const void *val)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = map;
	a.key = (uintptr_t)&key;
	a.value = (uintptr_t)val;
	a.flags = BPF_ANY;
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
}

#define INSN(c, d, s, o, i)                 \
	((struct bpf_insn){ .code = (c),    \
			    .dst_reg = (d), \
			    .src_reg = (s), \
			    .off = (o),     \
			    .imm = (i) })

/* The program: key = (*counter)++ mod n; select sockets[key]; pass. */
static int prog_load(int counter, int sockets, uint32_t n, char *log,
		     size_t loglen)
{
	struct bpf_insn insn[] = {
		/* r6 = ctx */
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0),
		/* *(u32 *)(fp - 4) = 0: the counter's key */
		INSN(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, 0),
		/* r1 = the counter's map */
		INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0,
		     counter),
		INSN(0, 0, 0, 0, 0),
		/* r2 = fp - 4 */
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
		/* no counter (cannot happen): let the kernel choose */
		INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 11, 0),
		/* r1 = atomic fetch-and-add of 1 to the counter */
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 0, 1),
		INSN(BPF_STX | BPF_ATOMIC | BPF_W, BPF_REG_0, BPF_REG_1, 0,
		     BPF_ADD | BPF_FETCH),
		/* *(u32 *)(fp - 8) = r1 mod n: the socket's key */
		INSN(BPF_ALU | BPF_MOD | BPF_K, BPF_REG_1, 0, 0, n),
		INSN(BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, BPF_REG_1, -8, 0),
		/* bpf_sk_select_reuseport(ctx, sockets, fp - 8, 0) */
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_6, 0, 0),
		INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_2, BPF_PSEUDO_MAP_FD, 0,
		     sockets),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, -8),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_sk_select_reuseport),
		/* return SK_PASS: the selected socket, or the kernel's hash
		 * when the helper failed */
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, SK_PASS),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SK_REUSEPORT;
	a.expected_attach_type = BPF_SK_REUSEPORT_SELECT;
	a.insns = (uintptr_t)insn;
	a.insn_cnt = sizeof(insn) / sizeof(insn[0]);
	a.license = (uintptr_t) "Dual BSD/GPL";
	a.log_buf = (uintptr_t)log;
	a.log_size = loglen;
	a.log_level = 1;
	return sys_bpf(BPF_PROG_LOAD, &a);
}

int reuseport_steer(const int *fds, int n)
{
	int counter = -1, sockets = -1, prog = -1, err = 0, i;
	uint32_t zero = 0;
	char log[4096] = "";
	uint64_t v;

	if (n < 2)
		return 0; /* one socket: nothing to choose */
	counter = map_create(BPF_MAP_TYPE_ARRAY, 4, 1);
	sockets = map_create(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, 8, n);
	if (counter < 0 || sockets < 0) {
		err = -errno;
		pr_warn("--accept reuseport: no BPF map (%s): the kernel's hash spreads connections",
			strerror(errno));
		goto out;
	}
	if (map_update(counter, 0, &zero)) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < n; i++) {
		v = (uint64_t)fds[i];
		if (map_update(sockets, i, &v)) {
			err = -errno;
			pr_warn("--accept reuseport: socket %d into the map: %s: the kernel's hash spreads connections",
				i, strerror(errno));
			goto out;
		}
	}
	prog = prog_load(counter, sockets, n, log, sizeof(log));
	if (prog < 0) {
		err = -errno;
		pr_warn("--accept reuseport: program not loaded (%s): the kernel's hash spreads connections",
			strerror(errno));
		if (log[0])
			pr_debug("verifier: %s", log);
		goto out;
	}
	/* for the whole group, the sockets of older generations too (they
	 * are not in the array: none of the new connections goes there) */
	if (setsockopt(fds[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &prog,
		       sizeof(prog))) {
		err = -errno;
		pr_warn("--accept reuseport: program not attached (%s): the kernel's hash spreads connections",
			strerror(errno));
		goto out;
	}
	pr_info("--accept reuseport: connections go round %d sockets", n);
out:
	/* the group holds the program, the program its maps */
	if (prog >= 0)
		close(prog);
	if (sockets >= 0)
		close(sockets);
	if (counter >= 0)
		close(counter);
	return err;
}
