// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * dpsetup.c - loading the datapath for the packet tests and installing test
 * VIPs in its maps (the fixture runner and the randomized test share it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dpsetup.h"
#include "maglev.h"
#include "lb.skel.h"

const uint8_t LB_MAC[6] = FX_LB_MAC;
const uint8_t CLIENT_MAC[6] = FX_CLIENT_MAC;
struct lb_dp dp;
int fx_prog_fd;

static uint32_t next_vip_id, next_be_id = 1;

void fx_be_mac(uint32_t id, uint8_t mac[6])
{
	uint8_t m[6] = { 0x02, 0xbe, 0, 0, (uint8_t)(id >> 8), (uint8_t)id };

	memcpy(mac, m, 6);
}

int fx_family_of(const char *a)
{
	uint8_t b[16];

	return pkt_addr(a, b);
}

void fx_addr_of(const char *a, union lb_addr *out)
{
	memset(out, 0, sizeof(*out));
	pkt_addr(a, out->bytes);
}

int fx_write_backend_id(uint32_t id, const char *addr, uint32_t vip_id,
			uint8_t flags, uint32_t gen)
{
	struct lb_backend b = {};

	fx_addr_of(addr, &b.addr);
	b.family = fx_family_of(addr) == 4 ? LB_FAMILY_V4 : LB_FAMILY_V6;
	fx_be_mac(id, b.mac);
	b.flags = flags;
	b.gen = gen;
	b.vip_id = vip_id;
	return bpf_map_update_elem(dp.backends, &id, &b, BPF_ANY) ? -errno : 0;
}

/* Build and install v's table from the backends with weight > 0. */
int fx_install_table(struct tvip *v)
{
	struct maglev_backend mb[MAX_TBE];
	int err;

	for (int i = 0; i < v->nbe; i++) {
		union lb_addr a;

		fx_addr_of(v->be[i].addr, &a);
		mb[i].id = v->be[i].id;
		mb[i].weight = v->be[i].weight;
		mb[i].key = maglev_key(&a, sizeof(a));
	}
	err = maglev_build(mb, v->nbe, v->table, v->size);
	if (!err)
		err = lb_dp_install_table(&dp, v->id, v->table, v->size);
	return err;
}

int fx_add_vip(struct tvip *v)
{
	struct lb_vip_key k = {};
	struct lb_vip val = {};
	struct lb_addr_key ak = {};
	struct lb_vip_addr av = { 0 };
	int fam = fx_family_of(v->addr) == 4 ? LB_FAMILY_V4 : LB_FAMILY_V6;

	if (!v->size)
		v->size = LB_MAGLEV_DEFAULT_SIZE;
	v->id = next_vip_id++;
	v->table = calloc(v->size, sizeof(uint32_t));
	if (!v->table)
		return -ENOMEM;
	for (int i = 0; i < v->nbe; i++) {
		v->be[i].id = next_be_id++;
		if (fx_write_backend_id(v->be[i].id, v->be[i].addr, v->id,
					LB_BE_F_USABLE, 1))
			return -errno;
	}
	if (fx_install_table(v))
		return -1;
	fx_addr_of(v->addr, &k.addr);
	k.port = htons(v->port);
	k.proto = v->proto;
	k.family = fam;
	val.vip_id = v->id;
	val.flags = v->flags;
	val.table_size = v->size;
	if (bpf_map_update_elem(dp.vips, &k, &val, BPF_ANY))
		return -errno;
	if (lb_dp_sync_vip_slots(&dp))
		return -1;
	ak.addr = k.addr;
	ak.family = fam;
	bpf_map_lookup_elem(dp.vip_addrs, &ak, &av);
	av.vip_count++;
	return bpf_map_update_elem(dp.vip_addrs, &ak, &av, BPF_ANY) ? -errno :
								      0;
}

int fx_load(struct lb **skelp, uint32_t ct_size, struct tvip **vips, size_t n)
{
	struct lb_config cfg = {};
	uint32_t zero = 0;
	int err;
	struct lb *skel = lb__open();

	*skelp = skel;
	if (!skel)
		return -errno;
	bpf_map__set_max_entries(skel->maps.lb_conntrack, ct_size);
	bpf_map__set_max_entries(skel->maps.lb_conntrack4, ct_size);
	bpf_map__set_max_entries(skel->maps.lb_ct4, LB_CT4_LINES(ct_size));
	err = lb__load(skel);
	if (err)
		return err;
	fx_prog_fd = bpf_program__fd(skel->progs.lb_xdp);
	dp.vips = bpf_map__fd(skel->maps.lb_vips);
	dp.vip_slots = bpf_map__fd(skel->maps.lb_vip_slots);
	dp.vip_addrs = bpf_map__fd(skel->maps.lb_vip_addrs);
	dp.backends = bpf_map__fd(skel->maps.lb_backends);
	dp.maglev = bpf_map__fd(skel->maps.lb_maglev);
	dp.conntrack = bpf_map__fd(skel->maps.lb_conntrack);
	dp.conntrack4 = bpf_map__fd(skel->maps.lb_conntrack4);
	dp.ct4 = bpf_map__fd(skel->maps.lb_ct4);
	dp.ct4_state = bpf_map__fd(skel->maps.lb_ct4_state);
	dp.config = bpf_map__fd(skel->maps.lb_config);
	dp.stats = bpf_map__fd(skel->maps.lb_stats);
	dp.vip_stats = bpf_map__fd(skel->maps.lb_vip_stats);
	dp.backend_stats = bpf_map__fd(skel->maps.lb_backend_stats);

	cfg.hash_seed = FX_SEED;
	memcpy(cfg.src_mac, LB_MAC, 6);
	inet_pton(AF_INET, FX_ENCAP_SRC4, &cfg.encap_src_v4);
	inet_pton(AF_INET6, FX_ENCAP_SRC6, cfg.encap_src_v6);
	cfg.max_pkt_size = FX_MAX_PKT_SIZE;
	if (bpf_map_update_elem(dp.config, &zero, &cfg, BPF_ANY))
		return -errno;
	for (size_t i = 0; i < n; i++) {
		err = fx_add_vip(vips[i]);
		if (err)
			return err;
	}
	return 0;
}

void fx_set_max_pkt_size(uint32_t size)
{
	struct lb_config cfg;
	uint32_t zero = 0;

	bpf_map_lookup_elem(dp.config, &zero, &cfg);
	cfg.max_pkt_size = size;
	bpf_map_update_elem(dp.config, &zero, &cfg, BPF_ANY);
}

int fx_run(int fd, const struct pkt *in, struct pkt *out)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->b,
		    .data_size_in = (uint32_t)in->len, .data_out = out->b,
		    .data_size_out = sizeof(out->b), .repeat = 1);
	int err;

	memset(out, 0, sizeof(*out));
	err = bpf_prog_test_run_opts(fd, &o);
	if (err)
		return -errno;
	out->len = o.data_size_out;
	return (int)o.retval;
}

const char *fx_action_name(int a)
{
	static const char *n[] = { "ABORTED", "DROP", "PASS", "TX",
				   "REDIRECT" };
	static char buf[32];

	if (a >= 0 && a < 5)
		return n[a];
	snprintf(buf, sizeof(buf), "error %d", a);
	return buf;
}

uint64_t fx_stat(enum lb_stat idx)
{
	struct lb_counter c[LB_STAT_MAX];

	lb_dp_stats(dp.stats, c);
	return c[idx].packets;
}
