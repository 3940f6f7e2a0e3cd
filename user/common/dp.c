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
	uint32_t *keys = NULL;
	char name[BPF_OBJ_NAME_LEN];
	uint32_t count = size;
	int fd, err;

	if (!size || size > LB_MAGLEV_MAX_SIZE || vip_id >= LB_MAX_VIPS)
		return -EINVAL;
	{
		LIBBPF_OPTS(bpf_map_create_opts, copts,
			    /* must match the inner map template of lb_maglev */
			    .map_flags = BPF_F_INNER_MAP);

		snprintf(name, sizeof(name), "lb_maglev_%u", vip_id);
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, sizeof(uint32_t),
				    sizeof(uint32_t), size, &copts);
		if (fd < 0)
			return -errno;
	}

	keys = malloc((size_t)size * sizeof(*keys));
	if (!keys) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < size; i++)
		keys[i] = i;
	err = bpf_map_update_batch(fd, keys, table, &count, &bopts);
	if (err) {
		/* kernels without batch ops on arrays: one by one */
		for (uint32_t i = 0; i < size; i++) {
			err = bpf_map_update_elem(fd, &keys[i], &table[i], 0);
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
	uint32_t inner_id;
	int fd, err;

	if (bpf_map_lookup_elem(dp->maglev, &vip_id, &inner_id))
		return -errno;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -errno;
	err = bpf_map_lookup_elem(fd, &slot, backend_id) ? -errno : 0;
	close(fd);
	return err;
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
