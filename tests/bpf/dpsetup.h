/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * dpsetup.h - the datapath under test: loaded from its skeleton, with test
 * VIPs and backends in its maps, and a packet run through it.  Shared by
 * the fixture runner (test_datapath.c) and the randomized packet test
 * (test_pktfuzz.c).  A backend's MAC is 02:be:00:00:ID (fx_be_mac), so the
 * destination MAC of a forwarded frame names the backend.
 */
#ifndef LB_TEST_DPSETUP_H
#define LB_TEST_DPSETUP_H

#include <stddef.h>
#include <stdint.h>
#include <linux/bpf.h> /* XDP_* actions */

#include "pkt.h"
#include "dp.h"
#include "lb_abi.h"

#define FX_LB_MAC                                  \
	{                                          \
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01 \
	}
#define FX_CLIENT_MAC                              \
	{                                          \
		0x02, 0x00, 0x00, 0x00, 0x00, 0xaa \
	}
#define FX_ENCAP_SRC4 "198.51.100.254"
#define FX_ENCAP_SRC6 "2001:db8:b::fe"
#define FX_SEED 0x1234abcd5678ef01ULL
#define FX_MAX_PKT_SIZE 1500

extern const uint8_t LB_MAC[6], CLIENT_MAC[6];

/* A test VIP and its backends; ids are assigned by fx_add_vip. */
#define MAX_TBE 16

struct tbe {
	const char *addr;
	uint32_t weight;
	uint32_t id; /* assigned */
};

struct tvip {
	const char *addr;
	uint16_t port;
	uint8_t proto;
	uint32_t flags;
	uint32_t size;
	int nbe;
	struct tbe be[MAX_TBE];
	uint32_t id; /* assigned */
	uint32_t *table; /* what the datapath has */
};

struct lb;
extern struct lb_dp dp;
extern int fx_prog_fd;

/* Load the program with a connection table of ct_size entries, the
 * configuration (seed, LB_MAC, encap sources, max_pkt_size 1500) and the
 * VIPs; returns 0 or a negative error. */
int fx_load(struct lb **skel, uint32_t ct_size, struct tvip **vips, size_t n);
int fx_add_vip(struct tvip *v);
/* Build and install v's Maglev table from the backends with weight > 0. */
int fx_install_table(struct tvip *v);
int fx_write_backend_id(uint32_t id, const char *addr, uint32_t vip_id,
			uint8_t flags, uint32_t gen);
void fx_set_max_pkt_size(uint32_t size);

int fx_family_of(const char *addr); /* 4, 6 or 0 */
void fx_addr_of(const char *addr, union lb_addr *out);
void fx_be_mac(uint32_t id, uint8_t mac[6]);

/* Run one packet; returns the XDP action or a negative errno. */
int fx_run(int fd, const struct pkt *in, struct pkt *out);
const char *fx_action_name(int action);
/* A global counter's packets, summed over CPUs. */
uint64_t fx_stat(enum lb_stat idx);

#endif /* LB_TEST_DPSETUP_H */
