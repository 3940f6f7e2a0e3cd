// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* bench_util.c - helpers shared by the benchmark programs. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench_util.h"
#include "maglev.h"
#include "lb.skel.h"

const char *bench_name = "bench";

void bench_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", bench_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int bench_addr(const char *text, union lb_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, &out->v4) == 1)
		return LB_FAMILY_V4;
	if (inet_pton(AF_INET6, text, out->bytes) == 1)
		return LB_FAMILY_V6;
	return 0;
}

int bench_lb_open(struct bench_lb *b, uint32_t ct_size, const uint8_t mac[6],
		  const char *encap_src4, const char *encap_src6)
{
	struct lb_config cfg = {};
	union lb_addr a;
	uint32_t zero = 0;
	int err;

	memset(b, 0, sizeof(*b));
	b->next_be_id = 1; /* 0 is LB_BACKEND_NONE */
	b->skel = lb__open();
	if (!b->skel)
		return -errno;
	if (ct_size) {
		err = bpf_map__set_max_entries(b->skel->maps.lb_conntrack,
					       ct_size);
		if (!err)
			err = bpf_map__set_max_entries(
				b->skel->maps.lb_conntrack4, ct_size);
		if (!err)
			err = bpf_map__set_max_entries(b->skel->maps.lb_ct4,
						       LB_CT4_LINES(ct_size));
		if (err)
			goto fail;
	}
	err = lb__load(b->skel);
	if (err)
		goto fail;
	b->prog_fd = bpf_program__fd(b->skel->progs.lb_xdp);
	/* every map the datapath helpers need, by its name in maps.bpf.h */
#define BENCH_DP_FD(field, name)                                           \
	b->dp.field = bpf_object__find_map_fd_by_name(b->skel->obj, name); \
	if (b->dp.field < 0) {                                             \
		err = b->dp.field;                                         \
		goto fail;                                                 \
	}
	LB_DP_MAPS(BENCH_DP_FD)
#undef BENCH_DP_FD

	cfg.hash_seed = BENCH_SEED;
	memcpy(cfg.src_mac, mac, 6);
	if (encap_src4 && bench_addr(encap_src4, &a) == LB_FAMILY_V4)
		cfg.encap_src_v4 = a.v4;
	if (encap_src6 && bench_addr(encap_src6, &a) == LB_FAMILY_V6)
		memcpy(cfg.encap_src_v6, a.v6, sizeof(cfg.encap_src_v6));
	cfg.max_pkt_size = 1500;
	if (bpf_map_update_elem(b->dp.config, &zero, &cfg, BPF_ANY)) {
		err = -errno;
		goto fail;
	}
	return 0;
fail:
	lb__destroy(b->skel);
	b->skel = NULL;
	return err;
}

void bench_lb_close(struct bench_lb *b)
{
	lb__destroy(b->skel);
	b->skel = NULL;
}

int bench_lb_add_vip(struct bench_lb *b, const char *vip, uint16_t port,
		     uint8_t proto, uint32_t flags, const char *const *backends,
		     int nbe)
{
	struct maglev_backend mb[BENCH_MAX_BACKENDS];
	uint32_t size = LB_MAGLEV_DEFAULT_SIZE;
	struct lb_addr_key ak = {};
	struct lb_vip_addr av = {};
	struct lb_vip_key k = {};
	struct lb_vip val = {};
	uint32_t *table;
	int fam, err;

	fam = bench_addr(vip, &k.addr);
	if (!fam || nbe < 1 || nbe > BENCH_MAX_BACKENDS)
		return -EINVAL;
	k.port = htons(port);
	k.proto = proto;
	k.family = fam;
	val.vip_id = b->next_vip_id++;
	val.flags = flags;
	val.table_size = size;

	for (int i = 0; i < nbe; i++) {
		struct lb_backend be = {};
		uint32_t id = b->next_be_id++;
		uint8_t mac[6] = { 0x02,       0xbe, 0, 0, (uint8_t)(id >> 8),
				   (uint8_t)id };

		be.family = bench_addr(backends[i], &be.addr);
		if (!be.family)
			return -EINVAL;
		memcpy(be.mac, mac, 6);
		be.flags = LB_BE_F_USABLE;
		be.gen = 1;
		be.vip_id = val.vip_id;
		if (bpf_map_update_elem(b->dp.backends, &id, &be, BPF_ANY))
			return -errno;
		mb[i].id = id;
		mb[i].weight = 1;
		mb[i].key = maglev_key(&be.addr, sizeof(be.addr));
	}
	table = calloc(size, sizeof(*table));
	if (!table)
		return -ENOMEM;
	err = maglev_build(mb, nbe, table, size);
	if (!err)
		err = lb_dp_install_table(&b->dp, val.vip_id, table, size);
	free(table);
	if (err)
		return err;
	if (bpf_map_update_elem(b->dp.vips, &k, &val, BPF_ANY))
		return -errno;
	err = lb_dp_sync_vip_slots(&b->dp);
	if (err)
		return err;
	ak.addr = k.addr;
	ak.family = fam;
	bpf_map_lookup_elem(b->dp.vip_addrs, &ak, &av);
	av.vip_count++;
	if (bpf_map_update_elem(b->dp.vip_addrs, &ak, &av, BPF_ANY))
		return -errno;
	return 0;
}

int bench_lb_stats(const struct bench_lb *b, uint64_t packets[LB_STAT_MAX])
{
	struct lb_counter c[LB_STAT_MAX];
	int err;

	err = lb_dp_stats(b->dp.stats, c);
	if (err)
		return err;
	for (uint32_t i = 0; i < LB_STAT_MAX; i++)
		packets[i] = c[i].packets;
	return 0;
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void bench_summarize(double *v, int n, struct bench_fig *f)
{
	memset(f, 0, sizeof(*f));
	if (n <= 0)
		return;
	qsort(v, n, sizeof(*v), cmp_double);
	f->min = v[0];
	f->max = v[n - 1];
	f->med = n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
