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
#include "lb_hash.h"

int lb_dp_table_create(uint32_t vip_id, const uint32_t *table, uint32_t size)
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
out:
	free(keys);
	free(vals);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int lb_dp_install_tables(const struct lb_dp *dp, const uint32_t *vip_ids,
			 const int *fds, uint32_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	uint32_t count = n;

	if (!n)
		return 0;
	if (n > 1 &&
	    !bpf_map_update_batch(dp->maglev, vip_ids, fds, &count, &bopts))
		return 0;
	/* one at a time: a kernel without batch updates of map-in-maps,
	 * or what a failed batch left */
	for (uint32_t i = n > 1 ? count : 0; i < n; i++)
		if (bpf_map_update_elem(dp->maglev, &vip_ids[i], &fds[i],
					BPF_ANY))
			return -errno;
	return 0;
}

/*
 * The n values of the table installed for vip_id, in order, into vals;
 * *fd is its map (the caller closes it).  0, or -ENOENT (no table),
 * -EMSGSIZE (a table of another size), -errno.
 */
static int table_values(const struct lb_dp *dp, uint32_t vip_id, uint32_t n,
			struct lb_maglev_ids *vals, int *fd)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	struct bpf_map_info info = {};
	uint32_t inner_id, info_len = sizeof(info), count = n, out = 0;
	uint32_t *keys;

	*fd = -1;
	if (bpf_map_lookup_elem(dp->maglev, &vip_id, &inner_id))
		return -errno;
	*fd = bpf_map_get_fd_by_id(inner_id);
	if (*fd < 0 || bpf_obj_get_info_by_fd(*fd, &info, &info_len))
		return -errno;
	if (info.max_entries != n)
		return -EMSGSIZE;
	keys = calloc(n, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	/* an array's batch comes in index order */
	if (bpf_map_lookup_batch(*fd, NULL, &out, keys, vals, &count, &bopts) &&
	    errno != ENOENT)
		count = 0;
	/* kernels without batch ops on arrays: one by one */
	for (uint32_t i = count; i < n; i++) {
		keys[i] = i;
		if (bpf_map_lookup_elem(*fd, &keys[i], &vals[i])) {
			free(keys);
			return -errno;
		}
	}
	free(keys);
	return 0;
}

int lb_dp_update_table(const struct lb_dp *dp, uint32_t vip_id,
		       const uint32_t *table, uint32_t size)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	uint32_t n = LB_MAGLEV_VALUES(size), nk = 0, count;
	struct lb_maglev_ids *vals = calloc(n, sizeof(*vals));
	struct lb_maglev_ids *now = calloc(n, sizeof(*now));
	uint32_t *keys = calloc(n, sizeof(*keys));
	int fd = -1, err = -ENOMEM;

	if (!vals || !now || !keys)
		goto out;
	err = table_values(dp, vip_id, n, now, &fd);
	if (err)
		goto out;
	for (uint32_t i = 0; i < size; i++) {
		if (table[i] >= LB_MAX_BACKENDS) {
			err = -ERANGE;
			goto out;
		}
		vals[i / LB_MAGLEV_IDS_PER_VALUE]
			.ids[i % LB_MAGLEV_IDS_PER_VALUE] = (uint16_t)table[i];
	}
	/* only the values that change, in place */
	for (uint32_t i = 0; i < n; i++) {
		if (!memcmp(&vals[i], &now[i], sizeof(vals[i])))
			continue;
		keys[nk] = i;
		vals[nk++] = vals[i];
	}
	count = nk;
	if (nk && bpf_map_update_batch(fd, keys, vals, &count, &bopts))
		for (uint32_t i = count; i < nk; i++)
			if (bpf_map_update_elem(fd, &keys[i], &vals[i], 0)) {
				err = -errno;
				goto out;
			}
out:
	if (fd >= 0)
		close(fd);
	free(vals);
	free(now);
	free(keys);
	return err;
}

int lb_dp_install_table(const struct lb_dp *dp, uint32_t vip_id,
			const uint32_t *table, uint32_t size)
{
	int fd = lb_dp_table_create(vip_id, table, size), err;

	if (fd < 0)
		return fd;
	err = lb_dp_install_tables(dp, &vip_id, &fd, 1);
	close(fd); /* the outer map holds its own reference */
	return err;
}

int lb_dp_table_read(const struct lb_dp *dp, uint32_t vip_id, uint32_t size,
		     uint32_t *table)
{
	uint32_t n = LB_MAGLEV_VALUES(size);
	struct lb_maglev_ids *vals = calloc(n, sizeof(*vals));
	int fd = -1, err = -ENOMEM;

	memset(table, 0, (size_t)size * sizeof(*table));
	if (vals)
		err = table_values(dp, vip_id, n, vals, &fd);
	for (uint32_t s = 0; !err && s < size; s++)
		table[s] = vals[s / LB_MAGLEV_IDS_PER_VALUE]
				   .ids[s % LB_MAGLEV_IDS_PER_VALUE];
	if (fd >= 0)
		close(fd);
	free(vals);
	return err;
}

int lb_dp_remove_table(const struct lb_dp *dp, uint32_t vip_id)
{
	if (bpf_map_delete_elem(dp->maglev, &vip_id) && errno != ENOENT)
		return -errno;
	return 0;
}

int lb_dp_remove_tables(const struct lb_dp *dp, const uint32_t *vip_ids,
			uint32_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	uint32_t count = n;

	if (!n)
		return 0;
	if (n > 1 && !bpf_map_delete_batch(dp->maglev, vip_ids, &count, &bopts))
		return 0;
	for (uint32_t i = n > 1 ? count : 0; i < n; i++) {
		int err = lb_dp_remove_table(dp, vip_ids[i]);

		if (err)
			return err;
	}
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

	err = lb_dp_ct4_lookup(dp, f, c);
	if (err != -EOPNOTSUPP)
		return err;

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

	err = lb_dp_ct4_update(dp, f, c, flags);
	if (err != -EOPNOTSUPP)
		return err;

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

	err = lb_dp_ct4_delete(dp, f);
	if (err != -EOPNOTSUPP)
		return err;

	if (f->family == LB_FAMILY_V4) {
		lb_flow4_of(f, &k4);
		err = bpf_map_delete_elem(dp->conntrack4, &k4);
	} else {
		err = bpf_map_delete_elem(dp->conntrack, f);
	}
	return err ? -errno : 0;
}

static void vip_slot_seal(struct lb_vip_slot *s)
{
	s->check = lb_vip_slot_check(s);
}

void lb_vip_slots_build(const struct lb_vip_key *keys,
			const struct lb_vip *vals, uint32_t n,
			struct lb_vip_slot *slots)
{
	memset(slots, 0, LB_VIP_SLOTS * sizeof(*slots));
	for (uint32_t i = 0; i < n; i++) {
		struct lb_vip_slot *s = &slots[lb_vip_slot_of(&keys[i])];

		if (!(s->flags & LB_VIP_SLOT_F_USED)) {
			s->key = keys[i];
			s->vip = vals[i];
			s->flags = LB_VIP_SLOT_F_USED;
			continue;
		}
		s->flags |= LB_VIP_SLOT_F_SHARED;
		if (memcmp(&keys[i], &s->key, sizeof(keys[i])) < 0) {
			s->key = keys[i];
			s->vip = vals[i];
		}
	}
	for (uint32_t i = 0; i < LB_VIP_SLOTS; i++)
		vip_slot_seal(&slots[i]);
}

/* Every entry of lb_vips: *nout of them in *kout and *vout (malloc'd), in
 * one batch read where the kernel has them. */
static int read_vips(int fd, struct lb_vip_key **kout, struct lb_vip **vout,
		     uint32_t *nout)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	struct lb_vip_key *keys = calloc(LB_MAX_VIPS, sizeof(*keys));
	struct lb_vip *vals = calloc(LB_MAX_VIPS, sizeof(*vals));
	struct lb_vip_key k, next, pos;
	uint32_t n = LB_MAX_VIPS;
	int err = 0, r;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	/* all fit in one batch: ENOENT says the walk ended */
	r = bpf_map_lookup_batch(fd, NULL, &pos, keys, vals, &n, &bopts);
	if (!r || errno == ENOENT)
		goto out;
	n = 0;
	for (r = bpf_map_get_next_key(fd, NULL, &next); !r && n < LB_MAX_VIPS;
	     r = bpf_map_get_next_key(fd, &k, &next)) {
		k = next;
		if (bpf_map_lookup_elem(fd, &k, &vals[n])) {
			if (errno == ENOENT) /* deleted meanwhile */
				continue;
			err = -errno;
			goto out;
		}
		keys[n++] = k;
	}
out:
	if (err) {
		free(keys);
		free(vals);
		return err;
	}
	*kout = keys;
	*vout = vals;
	*nout = n;
	return 0;
}

/* The whole of lb_vip_slots into have[] (LB_VIP_SLOTS), in one batch read
 * where the kernel has them. */
static int read_slots(int fd, struct lb_vip_slot *have)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	uint32_t *idx = malloc(LB_VIP_SLOTS * sizeof(*idx));
	uint32_t count = LB_VIP_SLOTS, pos = 0;
	int err = 0;

	if (!idx)
		return -ENOMEM;
	if (bpf_map_lookup_batch(fd, NULL, &pos, idx, have, &count, &bopts) ||
	    count != LB_VIP_SLOTS) {
		/* kernels without batch reads of arrays */
		for (uint32_t i = 0; i < LB_VIP_SLOTS && !err; i++)
			if (bpf_map_lookup_elem(fd, &i, &have[i]))
				err = -errno;
	}
	free(idx);
	return err;
}

int lb_dp_sync_vip_slots_kept(const struct lb_dp *dp,
			      struct lb_vip_slot **shadow)
{
	struct lb_vip_slot *want = NULL, *have = shadow ? *shadow : NULL;
	struct lb_vip_key *keys = NULL;
	struct lb_vip *vals = NULL;
	uint32_t n = 0;
	int err;

	err = read_vips(dp->vips, &keys, &vals, &n);
	if (err)
		return err;
	want = malloc(LB_VIP_SLOTS * sizeof(*want));
	if (!want) {
		err = -ENOMEM;
		goto out;
	}
	if (!have) {
		have = malloc(LB_VIP_SLOTS * sizeof(*have));
		err = have ? read_slots(dp->vip_slots, have) : -ENOMEM;
		if (err)
			goto out;
	}
	lb_vip_slots_build(keys, vals, n, want);
	for (uint32_t i = 0; i < LB_VIP_SLOTS; i++) {
		if (!memcmp(&want[i], &have[i], sizeof(want[i])))
			continue;
		if (bpf_map_update_elem(dp->vip_slots, &i, &want[i], BPF_ANY)) {
			err = -errno;
			break;
		}
		have[i] = want[i];
	}
out:
	free(keys);
	free(vals);
	free(want);
	if (shadow && !err) {
		*shadow = have;
	} else {
		/* what the map holds is no longer known */
		free(have);
		if (shadow)
			*shadow = NULL;
	}
	return err;
}

int lb_dp_sync_vip_slots(const struct lb_dp *dp)
{
	return lb_dp_sync_vip_slots_kept(dp, NULL);
}

int lb_dp_vip_slot_release(const struct lb_dp *dp, const struct lb_vip_key *k,
			   struct lb_vip_slot *shadow)
{
	uint32_t i = lb_vip_slot_of(k);
	struct lb_vip_slot s;

	if (bpf_map_lookup_elem(dp->vip_slots, &i, &s))
		return -errno;
	if (!(s.flags & LB_VIP_SLOT_F_USED) || memcmp(&s.key, k, sizeof(*k)))
		return 0;
	memset(&s, 0, sizeof(s)); /* check 0: fails, so lb_vips answers */
	if (bpf_map_update_elem(dp->vip_slots, &i, &s, BPF_ANY))
		return -errno;
	if (shadow)
		shadow[i] = s;
	return 0;
}

/* The value of key in a per-CPU map of values of size bytes, one per
 * possible CPU (*ncpu of them), in a buffer to free; NULL with *err. */
static void *percpu_lookup(int map_fd, uint32_t key, size_t size, int *ncpu,
			   int *err)
{
	void *v;

	*ncpu = libbpf_num_possible_cpus();
	if (*ncpu < 0) {
		*err = *ncpu;
		return NULL;
	}
	v = calloc(*ncpu, size);
	if (!v) {
		*err = -ENOMEM;
		return NULL;
	}
	if (bpf_map_lookup_elem(map_fd, &key, v)) {
		*err = -errno;
		free(v);
		return NULL;
	}
	return v;
}

int lb_dp_counter(int map_fd, uint32_t idx, struct lb_counter *sum)
{
	struct lb_counter *v;
	int ncpu, err;

	memset(sum, 0, sizeof(*sum));
	v = percpu_lookup(map_fd, idx, sizeof(*v), &ncpu, &err);
	if (!v)
		return err;
	for (int i = 0; i < ncpu; i++) {
		sum->packets += v[i].packets;
		sum->bytes += v[i].bytes;
	}
	free(v);
	return 0;
}

int lb_dp_stats(int map_fd, struct lb_counter sums[LB_STAT_MAX])
{
	struct lb_stats_block *v;
	int ncpu, err;

	memset(sums, 0, LB_STAT_MAX * sizeof(*sums));
	v = percpu_lookup(map_fd, 0, sizeof(*v), &ncpu, &err);
	if (!v)
		return err;
	for (int i = 0; i < ncpu; i++)
		for (int k = 0; k < LB_STAT_MAX; k++) {
			sums[k].packets += v[i].c[k].packets;
			sums[k].bytes += v[i].c[k].bytes;
		}
	free(v);
	return 0;
}

#define COUNTER_BATCH 1024 /* entries per batch read */
#define KERNEL_ENOTSUPP 524 /* the kernel's own "not supported" */

int lb_dp_counters(int map_fd, uint32_t n, struct lb_counter *sums)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	int ncpu = libbpf_num_possible_cpus();
	uint32_t keys[COUNTER_BATCH], pos = 0, next = 0;
	struct lb_counter *v;
	int err = 0;

	memset(sums, 0, n * sizeof(*sums));
	if (ncpu < 0)
		return ncpu;
	v = calloc((size_t)COUNTER_BATCH * ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	while (pos < n) {
		uint32_t count = n - pos < COUNTER_BATCH ? n - pos :
							   COUNTER_BATCH;

		/* an array's batch comes in index order, from in_batch */
		if (bpf_map_lookup_batch(map_fd, pos ? &next : NULL, &next,
					 keys, v, &count, &bopts) &&
		    errno != ENOENT) {
			err = -errno;
			break;
		}
		for (uint32_t i = 0; i < count; i++) {
			struct lb_counter *s = &sums[keys[i]];

			if (keys[i] >= n)
				continue;
			for (int c = 0; c < ncpu; c++) {
				s->packets += v[(size_t)i * ncpu + c].packets;
				s->bytes += v[(size_t)i * ncpu + c].bytes;
			}
		}
		if (!count)
			break;
		pos += count;
	}
	free(v);
	/* kernels without batch reads of arrays: one entry at a time */
	if (err == -EINVAL || err == -EOPNOTSUPP || err == -KERNEL_ENOTSUPP) {
		err = 0;
		for (; pos < n && !err; pos++)
			err = lb_dp_counter(map_fd, pos, &sums[pos]);
	}
	return err;
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
