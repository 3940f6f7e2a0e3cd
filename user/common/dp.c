// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* dp.c - datapath map operations shared by lbd, tests and benchmarks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp.h"

int lb_dp_install_table(const struct lb_dp *dp, uint32_t vip_id,
			const uint32_t *table, uint32_t size)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	uint32_t n = LB_MAGLEV_VALUES(size), count = n;
	struct lb_maglev_ids *vals = NULL;
	uint32_t *keys = NULL;
	char name[BPF_OBJ_NAME_LEN];
	int fd, err;

	if (!size || size > LB_MAGLEV_MAX_SIZE || vip_id >= LB_MAX_VIPS)
		return -EINVAL;
	for (uint32_t i = 0; i < size; i++)
		if (table[i] >= LB_MAX_BACKENDS)
			return -ERANGE;
	{
		LIBBPF_OPTS(bpf_map_create_opts, copts,
			    /* must match the inner map template of lb_maglev */
			    .map_flags = BPF_F_INNER_MAP);

		snprintf(name, sizeof(name), "lb_maglev_%u", vip_id);
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, sizeof(uint32_t),
				    sizeof(*vals), n, &copts);
		if (fd < 0)
			return -errno;
	}

	keys = malloc((size_t)n * sizeof(*keys));
	vals = calloc(n, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < n; i++)
		keys[i] = i;
	/* the slots past size in the last value stay LB_BACKEND_NONE */
	for (uint32_t i = 0; i < size; i++)
		vals[i / LB_MAGLEV_IDS_PER_VALUE]
			.ids[i % LB_MAGLEV_IDS_PER_VALUE] = (uint16_t)table[i];
	err = bpf_map_update_batch(fd, keys, vals, &count, &bopts);
	if (err) {
		/* kernels without batch ops on arrays: one by one */
		for (uint32_t i = 0; i < n; i++) {
			err = bpf_map_update_elem(fd, &keys[i], &vals[i], 0);
			if (err) {
				err = -errno;
				goto out;
			}
		}
	}
	err = bpf_map_update_elem(dp->maglev, &vip_id, &fd, BPF_ANY);
	if (err)
		err = -errno;
out:
	free(keys);
	free(vals);
	close(fd); /* the outer map holds its own reference */
	return err;
}

int lb_dp_remove_table(const struct lb_dp *dp, uint32_t vip_id)
{
	if (bpf_map_delete_elem(dp->maglev, &vip_id) && errno != ENOENT)
		return -errno;
	return 0;
}

int lb_dp_table_lookup(const struct lb_dp *dp, uint32_t vip_id, uint32_t slot,
		       uint32_t *backend_id)
{
	uint32_t inner_id, key = slot / LB_MAGLEV_IDS_PER_VALUE;
	struct lb_maglev_ids v;
	int fd, err;

	if (bpf_map_lookup_elem(dp->maglev, &vip_id, &inner_id))
		return -errno;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -errno;
	err = bpf_map_lookup_elem(fd, &key, &v) ? -errno : 0;
	if (!err)
		*backend_id = v.ids[slot % LB_MAGLEV_IDS_PER_VALUE];
	close(fd);
	return err;
}

int lb_dp_ct_lookup(const struct lb_dp *dp, const struct lb_flow *f,
		    struct lb_conn *c)
{
	struct lb_flow4 k4;
	int err;

	if (f->family == LB_FAMILY_V4) {
		lb_flow4_of(f, &k4);
		err = bpf_map_lookup_elem(dp->conntrack4, &k4, c);
	} else {
		err = bpf_map_lookup_elem(dp->conntrack, f, c);
	}
	return err ? -errno : 0;
}

int lb_dp_ct_update(const struct lb_dp *dp, const struct lb_flow *f,
		    const struct lb_conn *c, uint64_t flags)
{
	struct lb_flow4 k4;
	int err;

	if (f->family == LB_FAMILY_V4) {
		lb_flow4_of(f, &k4);
		err = bpf_map_update_elem(dp->conntrack4, &k4, c, flags);
	} else {
		err = bpf_map_update_elem(dp->conntrack, f, c, flags);
	}
	return err ? -errno : 0;
}

int lb_dp_ct_delete(const struct lb_dp *dp, const struct lb_flow *f)
{
	struct lb_flow4 k4;
	int err;

	if (f->family == LB_FAMILY_V4) {
		lb_flow4_of(f, &k4);
		err = bpf_map_delete_elem(dp->conntrack4, &k4);
	} else {
		err = bpf_map_delete_elem(dp->conntrack, f);
	}
	return err ? -errno : 0;
}

int lb_dp_counter(int map_fd, uint32_t idx, struct lb_counter *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	struct lb_counter *v;

	memset(sum, 0, sizeof(*sum));
	if (ncpu < 0)
		return ncpu;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &idx, v)) {
		int err = -errno;

		free(v);
		return err;
	}
	for (int i = 0; i < ncpu; i++) {
		sum->packets += v[i].packets;
		sum->bytes += v[i].bytes;
	}
	free(v);
	return 0;
}

int lb_dp_counter_reset(int map_fd, uint32_t idx)
{
	int ncpu = libbpf_num_possible_cpus();
	struct lb_counter *v;
	int err = 0;

	if (ncpu < 0)
		return ncpu;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_update_elem(map_fd, &idx, v, BPF_ANY))
		err = -errno;
	free(v);
	return err;
}
