// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * pins.c - loading the XDP program and pinning its maps.
 *
 * Hitless restart: every map is pinned under PIN/abi-N.  A new lbd reuses
 * the pinned maps (libbpf's pin-path reuse), so the program that is still
 * attached and the new one share one connection table (attach.c decides
 * whether the attached program is kept or replaced).
 *
 * A new map layout (LB_ABI_VERSION) pins under a new abi-N.  When lbd
 * finds no pins of its own layout but those of an older one that it knows
 * (from LB_ABI_MIGRATE_FROM on), it carries the connection table over:
 * copies it into the new table before attaching, replaces the old program
 * (which reads the old maps), copies again what that program added in the
 * meantime, and removes the old pins.  Counters start again from zero.  A
 * layout it does not know makes it refuse to start, saying so, with
 * nothing changed.
 *
 * The connection tables by layout: 1 and 2 keep every flow in
 * lb_conntrack under a struct lb_flow; from 3 on IPv4 flows are in
 * lb_conntrack4 under a struct lb_flow4 and lb_conntrack keeps IPv6 ones;
 * from 5 on an IPv4 flow to a VIP of one port is a word of lb_ct4.  The
 * values of the hash tables have not changed since layout 1.  A flow is
 * carried over into the table it now belongs to, which for lb_ct4 takes
 * the VIPs and the seed: the copy starts once lbd has written them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fsutil.h"
#include "lbd.h"
#include "lb.skel.h"
#include "log.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

/* Make sure pin_root lives on a bpffs, mounting one there if not. */
static int ensure_bpffs(const char *root, bool *mounted)
{
	struct statfs sfs;
	int err;

	err = lb_mkdir_p(root, 0700);
	if (err) {
		pr_warn("cannot create pin directory %s: %s", root,
			strerror(-err));
		return err;
	}
	if (statfs(root, &sfs)) {
		err = -errno;
		pr_warn("statfs %s: %s", root, strerror(errno));
		return err;
	}
	if (sfs.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", root, "bpf", 0, "mode=0700")) {
		err = -errno;
		pr_warn("cannot mount bpffs on %s: %s", root, strerror(errno));
		return err;
	}
	pr_info("mounted bpffs on %s", root);
	*mounted = true;
	return 0;
}

static bool map_is_pinned_kind(const struct bpf_map *map)
{
	/* .rodata/.bss belong to one program load, never shared */
	return bpf_map__name(map)[0] != '.' && !strchr(bpf_map__name(map), '.');
}

/* Remove every object lbd pins from dir (PIN/abi-N), and dir. */
void lbd_dp_unpin_dir(const char *dir)
{
#define DP_MAP_NAME(field, name) name,
	static const char *const names[] = { LB_PROG_NAME,
					     LB_MAPS(DP_MAP_NAME) };
#undef DP_MAP_NAME
	char path[600];
	struct stat st;

	if (stat(dir, &st))
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	if (rmdir(dir) && errno != ENOENT)
		pr_warn("cannot remove %s: %s", dir, strerror(errno));
}

/* Whether fd is a connection table with these key and value sizes. */
static bool ct_has_layout(int fd, __u32 key_size, __u32 value_size)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return !bpf_obj_get_info_by_fd(fd, &info, &len) &&
	       info.key_size == key_size && info.value_size == value_size;
}

/*
 * No connection table of our layout is pinned: look for one of an older
 * layout.  Returns the fd of its lb_conntrack (kept in d->old_ct_fd, and
 * that of its lb_conntrack4 in d->old_ct4_fd), -ENOENT if there is none,
 * or -EPROTO if there is one that cannot be carried over.
 */
static int find_older_ct(struct lbd *d)
{
	char dir[512], path[600];

	for (int v = LB_ABI_VERSION - 1; v >= 1; v--) {
		int fd, fd4 = -1;

		snprintf(dir, sizeof(dir), "%s/abi-%d", d->pin_root, v);
		snprintf(path, sizeof(path), "%s/lb_conntrack", dir);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (v >= 3) {
			snprintf(path, sizeof(path), "%s/lb_conntrack4", dir);
			fd4 = bpf_obj_get(path);
		}
		if (v < LB_ABI_MIGRATE_FROM ||
		    !ct_has_layout(fd, sizeof(struct lb_flow),
				   sizeof(struct lb_conn)) ||
		    (v >= 3 &&
		     (fd4 < 0 || !ct_has_layout(fd4, sizeof(struct lb_flow4),
						sizeof(struct lb_conn))))) {
			pr_warn("%s holds a datapath of map layout %d, which "
				"this lbd (layout %d) cannot carry over; stop "
				"it with the lbd that pinned it (lbd --detach) "
				"or remove it, losing its connection table",
				dir, v, LB_ABI_VERSION);
			close(fd);
			if (fd4 >= 0)
				close(fd4);
			rmdir(d->pin_dir); /* made empty just before */
			return -EPROTO;
		}
		snprintf(d->old_pin_dir, sizeof(d->old_pin_dir), "%s", dir);
		d->old_ct_fd = fd;
		d->old_ct4_fd = fd4;
		/* the attached program reads the old maps: it must go, even if
		 * its code were the same */
		d->reload_prog = true;
		return fd;
	}
	return -ENOENT;
}

/* The flow of an lb_conntrack4 key. */
static void flow_of_flow4(const struct lb_flow4 *k, struct lb_flow *f)
{
	memset(f, 0, sizeof(*f));
	f->src.v4 = k->src;
	f->dst.v4 = k->dst;
	f->sport = k->sport;
	f->dport = k->dport;
	f->proto = k->proto;
	f->family = LB_FAMILY_V4;
}

/*
 * Copy n entries of an old table into ours: keys are struct lb_flow (any
 * family) or struct lb_flow4; lb_dp_ct_update puts each flow in the table
 * it belongs to.  Returns how many were written.
 */
static int put_old_entries(struct lbd *d, const void *keys, size_t key_size,
			   const struct lb_conn *vals, __u32 n, __u64 flags)
{
	int copied = 0;

	for (__u32 i = 0; i < n; i++) {
		const void *k = (const char *)keys + i * key_size;
		struct lb_flow f;
		int err;

		if (key_size == sizeof(struct lb_flow))
			memcpy(&f, k, sizeof(f));
		else
			flow_of_flow4(k, &f);
		err = lb_dp_ct_update(&d->dp, &f, &vals[i], flags);
		if (!err)
			copied++;
	}
	return copied;
}

/* Copy the old table fd, of keys key_size, into ours; flags: BPF_ANY, or
 * BPF_NOEXIST to leave entries our program already made.  Returns the
 * number of entries copied or -errno. */
static int copy_old_table(struct lbd *d, int fd, size_t key_size, __u64 flags)
{
	enum { BATCH = 4096 };
	struct lb_conn *vals;
	__u64 pos = 0;
	void *in = NULL, *keys;
	int copied = 0, err;

	keys = calloc(BATCH, key_size);
	vals = calloc(BATCH, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	do {
		__u32 n = BATCH;

		err = bpf_map_lookup_batch(fd, in, &pos, keys, vals, &n, NULL);
		if (err && errno != ENOENT) {
			err = -errno;
			goto out;
		}
		in = &pos;
		copied += put_old_entries(d, keys, key_size, vals, n, flags);
	} while (!err);
	err = copied;
out:
	free(keys);
	free(vals);
	return err;
}

/*
 * Copy the old connection tables into ours (see the top of this file for
 * the layouts; layout 1 read created_ns from the precise clock, whose
 * epoch the coarse one of today shares).  flags as for copy_old_table.
 * Returns the number of entries copied or -errno.
 */
static int copy_old_ct(struct lbd *d, __u64 flags)
{
	int n = copy_old_table(d, d->old_ct_fd, sizeof(struct lb_flow), flags);
	int n4;

	if (n < 0 || d->old_ct4_fd < 0)
		return n;
	n4 = copy_old_table(d, d->old_ct4_fd, sizeof(struct lb_flow4), flags);
	return n4 < 0 ? n4 : n + n4;
}

static void close_old_ct(struct lbd *d)
{
	if (d->old_ct_fd >= 0)
		close(d->old_ct_fd);
	if (d->old_ct4_fd >= 0)
		close(d->old_ct4_fd);
	d->old_ct_fd = -1;
	d->old_ct4_fd = -1;
}

/* Entries of the old connection tables. */
static int64_t count_old_ct(struct lbd *d)
{
	int fds[2] = { d->old_ct_fd, d->old_ct4_fd };
	int64_t n = 0;

	for (int i = 0; i < 2; i++) {
		size_t ks = i ? sizeof(struct lb_flow4) :
				sizeof(struct lb_flow);
		char key[sizeof(struct lb_flow)], next[sizeof(struct lb_flow)];
		void *prev = NULL;

		if (fds[i] < 0)
			continue;
		while (!bpf_map_get_next_key(fds[i], prev, next)) {
			memcpy(key, next, ks);
			prev = key;
			n++;
		}
	}
	return n;
}

/* Once the VIPs and the seed are written, before the new program is
 * attached: the old table, into a connection table with room for it. */
int lbd_dp_begin_carry_over(struct lbd *d)
{
	int64_t total;
	int n;

	if (d->old_ct_fd < 0)
		return 0;
	total = count_old_ct(d);
	if (total > 0)
		lbd_ct4_size_for(d, (uint64_t)total);
	n = copy_old_ct(d, BPF_ANY);
	if (n < 0) {
		pr_warn("cannot read the connection table in %s: %s",
			d->old_pin_dir, strerror(-n));
		return n;
	}
	pr_info("carrying over the connection table of %s (an older map "
		"layout): %d entries",
		d->old_pin_dir, n);
	return 0;
}

/* After the new program is attached: the rest of the old table, then the
 * old pins go. */
void lbd_dp_finish_carry_over(struct lbd *d)
{
	int n = copy_old_ct(d, BPF_NOEXIST);

	if (n < 0)
		pr_warn("cannot read the connection table in %s: %s",
			d->old_pin_dir, strerror(-n));
	else
		pr_info("carried over %d more connection-table entries from "
			"%s",
			n, d->old_pin_dir);
	close_old_ct(d);
	lbd_dp_unpin_dir(d->old_pin_dir);
	pr_info("removed the pinned objects of %s", d->old_pin_dir);
}

int lbd_dp_open(struct lbd *d)
{
	struct bpf_map *map;
	char path[600];
	int err, fd;

	snprintf(d->pin_dir, sizeof(d->pin_dir), "%s/abi-%d", d->pin_root,
		 LB_ABI_VERSION);
	/* nothing to adopt: what this lbd pins, it removes if it fails to
	 * start (lbd_dp_abandon) */
	snprintf(path, sizeof(path), "%s/lb_conntrack", d->pin_dir);
	d->pins_fresh = access(path, F_OK) != 0;
	d->root_made = access(d->pin_root, F_OK) != 0;
	err = ensure_bpffs(d->pin_root, &d->mounted_bpffs);
	if (err)
		return err;
	err = lb_mkdir_p(d->pin_dir, 0700);
	if (err)
		return err;

	d->skel = lb__open();
	if (!d->skel) {
		err = -errno;
		pr_warn("cannot open the BPF object: %s", strerror(errno));
		return err;
	}

	/* an adopted or carried-over connection table keeps its size */
	snprintf(path, sizeof(path), "%s/lb_conntrack", d->pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		fd = find_older_ct(d);
		if (fd == -EPROTO)
			return fd;
	}
	if (fd >= 0) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			if (d->ct_size && d->ct_size != info.max_entries)
				pr_warn("keeping the pinned connection table's "
					"size %u, not %u (lbd --detach to "
					"resize)",
					info.max_entries, d->ct_size);
			d->ct_size = info.max_entries;
		}
		if (fd != d->old_ct_fd)
			close(fd);
	}
	if (d->ct_size) {
		bpf_map__set_max_entries(d->skel->maps.lb_conntrack,
					 d->ct_size);
		bpf_map__set_max_entries(d->skel->maps.lb_conntrack4,
					 d->ct_size);
		bpf_map__set_max_entries(d->skel->maps.lb_ct4,
					 LB_CT4_LINES(d->ct_size));
	}

	bpf_object__for_each_map(map, d->skel->obj)
	{
		if (!map_is_pinned_kind(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->pin_dir,
			 bpf_map__name(map));
		err = bpf_map__set_pin_path(map, path);
		if (err) {
			pr_warn("pin path %s: %s", path, strerror(-err));
			return err;
		}
	}

	err = lb__load(d->skel);
	if (err) {
		pr_warn("cannot load the BPF program (or adopt the maps pinned "
			"in %s): %s",
			d->pin_dir, strerror(-err));
		return err;
	}
	/* every map of LB_MAPS, by its name */
#define DP_MAP_FD(field, name)                                             \
	d->dp.field = bpf_object__find_map_fd_by_name(d->skel->obj, name); \
	if (d->dp.field < 0) {                                             \
		pr_warn("the BPF program has no map %s", name);            \
		return -ENOENT;                                            \
	}
	LB_MAPS(DP_MAP_FD)
#undef DP_MAP_FD
	d->ct_size = bpf_map__max_entries(d->skel->maps.lb_conntrack);
	pr_info("datapath loaded, maps pinned in %s", d->pin_dir);
	return 0;
}

void lbd_dp_close(struct lbd *d)
{
	close_old_ct(d);
	lb__destroy(d->skel);
	d->skel = NULL;
	free(d->dp_be);
	free(d->dp_be_known);
	free(d->ct4_purge);
	d->ct4_purge = NULL;
	free(d->vip_slots);
	d->dp_be = NULL;
	d->dp_be_known = NULL;
	d->vip_slots = NULL;
}
