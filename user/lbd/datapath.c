// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * datapath.c - loading, pinning, adopting and attaching the XDP program,
 * and writing lbd's model into its maps.
 *
 * Hitless restart: every map is pinned under PIN/abi-N.  A new lbd reuses
 * the pinned maps (libbpf's pin-path reuse), so the program that is still
 * attached and the new one share one connection table.  If the attached
 * program is ours with the same code (same tag) it is kept as it is;
 * otherwise the new one replaces it atomically (XDP_FLAGS_REPLACE, or the
 * libxdp dispatcher's own swap), so no packet ever meets an empty hook.
 *
 * A new map layout (LB_ABI_VERSION) pins under a new abi-N.  When lbd
 * finds no pins of its own layout but those of an older one that it knows
 * (from LB_ABI_MIGRATE_FROM on), it carries the connection table over:
 * copies it into the new table before attaching, replaces the old program
 * (which reads the old maps), copies again what that program added in the
 * meantime, and removes the old pins.  Counters start again from zero.  A
 * layout it does not know makes it refuse to start, saying so, with
 * nothing changed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/if_link.h>
#include <mntent.h>
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
#include <xdp/libxdp.h>

#include "lbd.h"
#include "lb.skel.h"
#include "log.h"
#include "maglev.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

static int mkdirs(const char *path)
{
	char tmp[512];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Make sure pin_root lives on a bpffs, mounting one there if not. */
static int ensure_bpffs(const char *root, bool *mounted)
{
	struct statfs sfs;
	int err;

	err = mkdirs(root);
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
static void unpin_dir(const char *dir)
{
	static const char *const names[] = {
		"lb_xdp",    "lb_vips",	     "lb_vip_addrs",	 "lb_backends",
		"lb_maglev", "lb_conntrack", "lb_conntrack4",	 "lb_config",
		"lb_stats",  "lb_vip_stats", "lb_backend_stats",
	};
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

/*
 * No connection table of our layout is pinned: look for one of an older
 * layout.  Returns its fd (also kept in d->old_ct_fd), -ENOENT if there is
 * none, or -EPROTO if there is one that cannot be carried over.
 */
static int find_older_ct(struct lbd *d)
{
	char dir[512], path[600];

	for (int v = LB_ABI_VERSION - 1; v >= 1; v--) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		int fd;

		snprintf(dir, sizeof(dir), "%s/abi-%d", d->pin_root, v);
		snprintf(path, sizeof(path), "%s/lb_conntrack", dir);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (v < LB_ABI_MIGRATE_FROM ||
		    bpf_obj_get_info_by_fd(fd, &info, &len) ||
		    info.key_size != sizeof(struct lb_flow) ||
		    info.value_size != sizeof(struct lb_conn)) {
			pr_warn("%s holds a datapath of map layout %d, which "
				"this lbd (layout %d) cannot carry over; stop "
				"it with the lbd that pinned it (lbd --detach) "
				"or remove it, losing its connection table",
				dir, v, LB_ABI_VERSION);
			close(fd);
			rmdir(d->pin_dir); /* made empty just before */
			return -EPROTO;
		}
		snprintf(d->old_pin_dir, sizeof(d->old_pin_dir), "%s", dir);
		d->old_ct_fd = fd;
		/* the attached program reads the old maps: it must go, even if
		 * its code were the same */
		d->reload_prog = true;
		return fd;
	}
	return -ENOENT;
}

/*
 * Copy the old connection table into ours.  Layouts 1 and 2 keep every
 * flow in lb_conntrack under a struct lb_flow: IPv6 flows copy as they
 * are, IPv4 flows go to lb_conntrack4 under their struct lb_flow4 key.
 * The value is that of today; layout 1 read created_ns from the precise
 * clock, whose epoch the coarse one shares.  flags:
 * BPF_ANY, or BPF_NOEXIST to leave entries our program already made.
 * Returns the number of entries copied or -errno.
 */
static int copy_old_ct(struct lbd *d, __u64 flags)
{
	enum { BATCH = 4096 };
	struct lb_flow *keys;
	struct lb_conn *vals;
	__u64 pos = 0;
	void *in = NULL;
	int copied = 0, err;

	keys = calloc(BATCH, sizeof(*keys));
	vals = calloc(BATCH, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	do {
		__u32 n = BATCH;

		err = bpf_map_lookup_batch(d->old_ct_fd, in, &pos, keys, vals,
					   &n, NULL);
		if (err && errno != ENOENT) {
			err = -errno;
			goto out;
		}
		in = &pos;
		for (__u32 i = 0; i < n; i++)
			if (!lb_dp_ct_update(&d->dp, &keys[i], &vals[i], flags))
				copied++;
	} while (!err);
	err = copied;
out:
	free(keys);
	free(vals);
	return err;
}

/* After the new program is attached: the rest of the old table, then the
 * old pins go. */
static void finish_carry_over(struct lbd *d)
{
	int n = copy_old_ct(d, BPF_NOEXIST);

	if (n < 0)
		pr_warn("cannot read the connection table in %s: %s",
			d->old_pin_dir, strerror(-n));
	else
		pr_info("carried over %d more connection-table entries from "
			"%s",
			n, d->old_pin_dir);
	close(d->old_ct_fd);
	d->old_ct_fd = -1;
	unpin_dir(d->old_pin_dir);
	pr_info("removed the pinned objects of %s", d->old_pin_dir);
}
/*
 * libxdp explains on every start why it cannot use its multi-program
 * dispatcher ("No bpffs found at /sys/fs/bpf", "Can't use dispatcher
 * without a working bpffs", ...).  Those notes are debug output; lbd says
 * once, in its own words, how the program was attached and why (see
 * attach_line), from what libxdp said meanwhile.
 */
static enum {
	XDP_NOTE_NONE,
	XDP_NOTE_NO_BPFFS, /* no bpffs where libxdp looks for one */
	XDP_NOTE_NO_DISPATCHER, /* the kernel cannot run the dispatcher */
} xdp_note;

static int libxdp_print(enum libxdp_print_level level, const char *fmt,
			va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = 0;
	if (level != LIBXDP_DEBUG) {
		if (strstr(buf, "bpffs"))
			xdp_note = XDP_NOTE_NO_BPFFS;
		else if (strstr(buf, "dispatcher") && xdp_note == XDP_NOTE_NONE)
			xdp_note = XDP_NOTE_NO_DISPATCHER;
	}
	pr_debug("libxdp: %s", buf);
	return 0;
}

void lbd_dp_quiet_libxdp(void)
{
	libxdp_set_print(libxdp_print);
}

int lbd_dp_open(struct lbd *d)
{
	struct bpf_map *map;
	char path[600];
	int err, fd;

	lbd_dp_quiet_libxdp();
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
	err = mkdirs(d->pin_dir);
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
	d->dp.vips = bpf_map__fd(d->skel->maps.lb_vips);
	d->dp.vip_addrs = bpf_map__fd(d->skel->maps.lb_vip_addrs);
	d->dp.backends = bpf_map__fd(d->skel->maps.lb_backends);
	d->dp.maglev = bpf_map__fd(d->skel->maps.lb_maglev);
	d->dp.conntrack = bpf_map__fd(d->skel->maps.lb_conntrack);
	d->dp.conntrack4 = bpf_map__fd(d->skel->maps.lb_conntrack4);
	d->dp.config = bpf_map__fd(d->skel->maps.lb_config);
	d->dp.stats = bpf_map__fd(d->skel->maps.lb_stats);
	d->dp.vip_stats = bpf_map__fd(d->skel->maps.lb_vip_stats);
	d->dp.backend_stats = bpf_map__fd(d->skel->maps.lb_backend_stats);
	d->ct_size = bpf_map__max_entries(d->skel->maps.lb_conntrack);
	pr_info("datapath loaded, maps pinned in %s", d->pin_dir);
	if (d->old_ct_fd >= 0) {
		int n = copy_old_ct(d, BPF_ANY);

		if (n < 0) {
			pr_warn("cannot read the connection table in %s: %s",
				d->old_pin_dir, strerror(-n));
			return n;
		}
		pr_info("carrying over the connection table of %s (an older "
			"map layout): %d entries",
			d->old_pin_dir, n);
	}
	return 0;
}

static int prog_tag(int fd, __u8 tag[BPF_TAG_SIZE], __u32 *id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	memcpy(tag, info.tag, BPF_TAG_SIZE);
	if (id)
		*id = info.id;
	return 0;
}

static const char *mode_str(enum xdp_attach_mode m)
{
	switch (m) {
	case XDP_MODE_NATIVE:
		return "native";
	case XDP_MODE_SKB:
		return "generic";
	case XDP_MODE_HW:
		return "offload";
	default:
		return "unknown";
	}
}

/* Our program on the interface, if any (legacy or in a dispatcher). */
static struct xdp_program *find_ours(struct xdp_multiprog *mp)
{
	struct xdp_program *p;

	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		return p && !strcmp(xdp_program__name(p), "lb_xdp") ? p : NULL;
	}
	for (p = xdp_multiprog__next_prog(NULL, mp); p;
	     p = xdp_multiprog__next_prog(p, mp))
		if (!strcmp(xdp_program__name(p), "lb_xdp"))
			return p;
	return NULL;
}

/* The id of the program or map pinned at path, or 0. */
static __u32 pinned_id(const char *path, bool prog)
{
	struct bpf_prog_info pi = {};
	struct bpf_map_info mi = {};
	__u32 len = prog ? sizeof(pi) : sizeof(mi), id = 0;
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return 0;
	if (!bpf_obj_get_info_by_fd(fd, prog ? (void *)&pi : (void *)&mi, &len))
		id = prog ? pi.id : mi.id;
	close(fd);
	return id;
}

#define OWNER_MAX_MAPS 64

/* The program with its ids, and the maps it uses. */
struct owner_query {
	__u32 prog_id;
	__u32 maps[OWNER_MAX_MAPS];
	__u32 nmaps;
};

/* Did the lbd whose pin root is root attach the program?  Its pins of any
 * ABI version (an upgrade replaces an older one) hold the program or a
 * map the program uses. */
static bool root_owns(const char *root, const struct owner_query *q)
{
	char path[PATH_MAX];

	for (int v = 1; v <= LB_ABI_VERSION; v++) {
		__u32 id;

		snprintf(path, sizeof(path), "%s/abi-%d/lb_xdp", root, v);
		if (pinned_id(path, true) == q->prog_id)
			return true;
		snprintf(path, sizeof(path), "%s/abi-%d/lb_conntrack", root, v);
		id = pinned_id(path, false);
		for (__u32 i = 0; id && i < q->nmaps; i++)
			if (q->maps[i] == id)
				return true;
	}
	return false;
}

/* nftw has no context argument: the search in progress */
static const struct owner_query *owner_q;
static char owner_found[PATH_MAX];

static int owner_visit(const char *path, const struct stat *st, int type,
		       struct FTW *ftw)
{
	char root[PATH_MAX];
	int v;

	(void)st;
	if (type != FTW_D || sscanf(path + ftw->base, "abi-%d", &v) != 1 ||
	    ftw->base < 2)
		return 0;
	snprintf(root, sizeof(root), "%.*s", ftw->base - 1, path);
	if (!root_owns(root, owner_q))
		return 0;
	snprintf(owner_found, sizeof(owner_found), "%s", root);
	return 1;
}

/* The pin root of the lbd that owns the program, searched on every bpffs
 * this process sees; "" if none. */
static void find_owner(const struct owner_query *q, char *buf, size_t len)
{
	struct mntent *m;
	FILE *f = setmntent("/proc/self/mounts", "re");

	buf[0] = 0;
	owner_q = q;
	owner_found[0] = 0;
	while (f && (m = getmntent(f)))
		if (!strcmp(m->mnt_type, "bpf") &&
		    nftw(m->mnt_dir, owner_visit, 16, FTW_PHYS) == 1)
			break;
	if (f)
		endmntent(f);
	snprintf(buf, len, "%s", owner_found);
}

int lbd_dp_check_owner(struct lbd *d)
{
	struct owner_query q = {};
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	char owner[PATH_MAX];
	int fd;

	lbd_dp_quiet_libxdp();
	mp = xdp_multiprog__get_from_ifindex(d->ifindex);
	if (libxdp_get_error(mp) || !mp)
		return 0; /* nothing there (or a failure attaching reports) */
	p = find_ours(mp);
	q.prog_id = p ? xdp_program__id(p) : 0;
	xdp_multiprog__close(mp);
	if (!q.prog_id)
		return 0;
	fd = bpf_prog_get_fd_by_id(q.prog_id);
	if (fd >= 0) {
		info.nr_map_ids = OWNER_MAX_MAPS;
		info.map_ids = (__u64)(unsigned long)q.maps;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len))
			q.nmaps = info.nr_map_ids < OWNER_MAX_MAPS ?
					  info.nr_map_ids :
					  OWNER_MAX_MAPS;
		close(fd);
	}
	if (root_owns(d->pin_root, &q))
		return 0;
	find_owner(&q, owner, sizeof(owner));
	if (owner[0])
		pr_err("%s already runs the XDP program (id %u) of the lbd "
		       "whose pinned maps are in %s, not in %s: another lbd "
		       "owns this interface; stop it, or use its --pin %s",
		       d->iface, q.prog_id, owner, d->pin_root, owner);
	else
		pr_err("%s already runs an lbd XDP program (id %u) whose "
		       "maps are pinned nowhere in reach (not in %s); remove "
		       "it with: lbd --iface %s --detach",
		       d->iface, q.prog_id, d->pin_root, d->iface);
	return -EBUSY;
}

/* "alone on the interface: why", or "in libxdp's dispatcher" */
static const char *attach_how(struct lbd *d)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(d->ifindex);
	bool legacy = libxdp_get_error(mp) || !mp ||
		      xdp_multiprog__is_legacy(mp);

	if (!libxdp_get_error(mp) && mp)
		xdp_multiprog__close(mp);
	if (!legacy)
		return "in libxdp's multi-program dispatcher";
	switch (xdp_note) {
	case XDP_NOTE_NO_BPFFS:
		return "alone on the interface: libxdp's multi-program "
		       "dispatcher needs a bpffs at /sys/fs/bpf";
	case XDP_NOTE_NO_DISPATCHER:
		return "alone on the interface: this kernel cannot run "
		       "libxdp's multi-program dispatcher";
	default:
		return "alone on the interface";
	}
}

static int attach_new(struct lbd *d, int prog_fd)
{
	enum xdp_attach_mode mode = d->xdp_auto ?
					    XDP_MODE_NATIVE :
					    (enum xdp_attach_mode)d->xdp_mode;
	struct xdp_program *xp;
	int fd = dup(prog_fd), err;

	if (fd < 0)
		return -errno;
	xp = xdp_program__from_fd(fd);
	err = libxdp_get_error(xp);
	if (err) {
		close(fd);
		return err;
	}
	xdp_note = XDP_NOTE_NONE;
	err = xdp_program__attach(xp, d->ifindex, mode, 0);
	if (err && d->xdp_auto) {
		pr_warn("native XDP attach on %s failed (%s); falling back to "
			"generic mode, which is much slower",
			d->iface, strerror(-err));
		mode = XDP_MODE_SKB;
		err = xdp_program__attach(xp, d->ifindex, mode, 0);
	}
	xdp_program__close(xp);
	if (err) {
		pr_warn("cannot attach XDP program to %s in %s mode: %s",
			d->iface, mode_str(mode), strerror(-err));
		return err;
	}
	d->attach_mode = mode_str(mode);
	pr_info("attached to %s in %s mode (--xdp-mode %s), %s", d->iface,
		d->attach_mode,
		!d->xdp_auto		? d->attach_mode :
		mode == XDP_MODE_NATIVE ? "auto: native works" :
					  "auto: native failed",
		attach_how(d));
	return 0;
}

int lbd_dp_attach(struct lbd *d)
{
	int prog_fd = bpf_program__fd(d->skel->progs.lb_xdp);
	struct xdp_multiprog *mp;
	struct xdp_program *old;
	__u8 tag[BPF_TAG_SIZE];
	char path[600];
	int err;

	err = prog_tag(prog_fd, tag, &d->prog_id);
	if (err)
		return err;

	mp = xdp_multiprog__get_from_ifindex(d->ifindex);
	err = libxdp_get_error(mp);
	if (err == -ENOENT || (!err && !mp)) {
		err = attach_new(d, prog_fd);
		d->attached_new = !err;
		goto pin;
	}
	if (err) {
		pr_warn("cannot query XDP programs on %s: %s", d->iface,
			strerror(-err));
		return err;
	}
	old = find_ours(mp);
	if (!old) {
		struct xdp_program *main = xdp_multiprog__main_prog(mp);

		if (xdp_multiprog__is_legacy(mp) && main) {
			pr_err("%s already has XDP program '%s' (id %u) "
			       "attached; not replacing a program that is not "
			       "ours",
			       d->iface, xdp_program__name(main),
			       xdp_program__id(main));
			xdp_multiprog__close(mp);
			return -EBUSY;
		}
		/* a libxdp dispatcher: add ourselves to it */
		xdp_multiprog__close(mp);
		err = attach_new(d, prog_fd);
		d->attached_new = !err;
		goto pin;
	}

	d->attach_mode = mode_str(xdp_multiprog__attach_mode(mp));
	if (!d->reload_prog &&
	    !memcmp(xdp_program__tag(old), tag, BPF_TAG_SIZE)) {
		/* the same code is running on the same maps: keep it */
		d->prog_id = xdp_program__id(old);
		pr_info("adopted XDP program id %u on %s (%s mode)", d->prog_id,
			d->iface, d->attach_mode);
		xdp_multiprog__close(mp);
		goto pin_old;
	}

	if (xdp_multiprog__is_legacy(mp)) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, opts,
			    .old_prog_fd = xdp_program__fd(old));
		__u32 flags = XDP_FLAGS_REPLACE |
			      (xdp_multiprog__attach_mode(mp) == XDP_MODE_SKB ?
				       XDP_FLAGS_SKB_MODE :
				       XDP_FLAGS_DRV_MODE);

		err = bpf_xdp_attach(d->ifindex, prog_fd, flags, &opts);
		if (err)
			pr_warn("atomic replacement of XDP program id %u on %s "
				"failed: %s",
				xdp_program__id(old), d->iface, strerror(-err));
		else
			pr_info("replaced XDP program id %u with id %u on %s "
				"atomically; connection table kept",
				xdp_program__id(old), d->prog_id, d->iface);
	} else {
		/* dispatcher: add the new program, then drop the old one;
		 * each step is an atomic dispatcher swap and both programs
		 * share the same maps */
		err = attach_new(d, prog_fd);
		if (!err)
			err = xdp_program__detach(
				old, d->ifindex, xdp_multiprog__attach_mode(mp),
				0);
		if (!err)
			pr_info("replaced XDP program in the dispatcher on %s",
				d->iface);
	}
	xdp_multiprog__close(mp);
pin:
	if (err)
		return err;
pin_old:
	snprintf(path, sizeof(path), "%s/lb_xdp", d->pin_dir);
	unlink(path);
	if (bpf_program__pin(d->skel->progs.lb_xdp, path))
		pr_warn("cannot pin the program at %s", path);
	if (d->old_ct_fd >= 0)
		finish_carry_over(d);
	return 0;
}

/* Take our program off the interface, if it is there. */
static int detach_ours(struct lbd *d)
{
	struct xdp_multiprog *mp;
	struct xdp_program *ours;
	int err = 0;

	if (d->ifindex <= 0)
		return 0;
	mp = xdp_multiprog__get_from_ifindex(d->ifindex);
	if (libxdp_get_error(mp) || !mp)
		return 0;
	ours = find_ours(mp);
	if (ours && xdp_multiprog__is_legacy(mp)) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, opts,
			    .old_prog_fd = xdp_program__fd(ours));

		err = bpf_xdp_detach(d->ifindex,
				     XDP_FLAGS_REPLACE |
					     (xdp_multiprog__attach_mode(mp) ==
							      XDP_MODE_SKB ?
						      XDP_FLAGS_SKB_MODE :
						      XDP_FLAGS_DRV_MODE),
				     &opts);
	} else if (ours) {
		err = xdp_program__detach(ours, d->ifindex,
					  xdp_multiprog__attach_mode(mp), 0);
	}
	if (ours && !err)
		pr_info("detached from %s", d->iface);
	else if (ours)
		pr_warn("cannot detach from %s: %s", d->iface, strerror(-err));
	xdp_multiprog__close(mp);
	return err;
}

int lbd_dp_detach(struct lbd *d)
{
	char dir[PATH_MAX];
	int err = detach_ours(d);

	/* unpin everything of every ABI version under the pin root */
	for (int v = 1; v <= LB_ABI_VERSION; v++) {
		snprintf(dir, sizeof(dir), "%s/abi-%d", d->pin_root, v);
		unpin_dir(dir);
	}
	pr_info("removed pinned objects under %s", d->pin_root);
	return err;
}

void lbd_dp_abandon(struct lbd *d)
{
	/* adopted pins belong to the datapath that forwards on without
	 * this lbd; so does an older program this lbd replaced */
	if (!d->pins_fresh || (d->attach_mode && !d->attached_new))
		return;
	if (d->attached_new)
		detach_ours(d);
	if (d->skel) {
		lb__destroy(d->skel);
		d->skel = NULL;
	}
	unpin_dir(d->pin_dir);
	if (d->mounted_bpffs && umount2(d->pin_root, MNT_DETACH))
		pr_warn("cannot unmount %s: %s", d->pin_root, strerror(errno));
	if (d->root_made)
		rmdir(d->pin_root);
	pr_info("removed what this start had pinned in %s", d->pin_dir);
}

void lbd_dp_close(struct lbd *d)
{
	if (d->old_ct_fd >= 0) {
		close(d->old_ct_fd);
		d->old_ct_fd = -1;
	}
	lb__destroy(d->skel);
	d->skel = NULL;
}

int lbd_dp_write_config(struct lbd *d)
{
	struct lb_config cfg = {};
	__u32 zero = 0;

	cfg.hash_seed = d->seed;
	memcpy(cfg.src_mac, d->src_mac, 6);
	cfg.encap_src_v4 = d->encap_src4.v4;
	memcpy(cfg.encap_src_v6, d->encap_src6.v6, 16);
	cfg.max_pkt_size = d->mtu;
	if (bpf_map_update_elem(d->dp.config, &zero, &cfg, BPF_ANY)) {
		pr_warn("cannot write the datapath configuration: %s",
			strerror(errno));
		return -errno;
	}
	return 0;
}

static int write_backend(struct lbd *d, const struct lbd_vip *v,
			 const struct lbd_backend *b)
{
	struct lb_backend e = {};

	e.addr = b->addr;
	e.family = b->family;
	memcpy(e.mac, b->mac, 6);
	if (lbd_backend_usable(b))
		e.flags = LB_BE_F_USABLE;
	else if (lbd_backend_keeps_flows(b))
		e.flags = LB_BE_F_HEALTH_DOWN;
	e.gen = b->gen;
	e.vip_id = v->id;
	if (bpf_map_update_elem(d->dp.backends, &b->id, &e, BPF_ANY))
		return -errno;
	return 0;
}

static uint64_t table_signature(const struct lbd_vip *v)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ v->table_size;

	for (size_t i = 0; i < v->nbe; i++) {
		uint64_t x = (uint64_t)v->be[i].id << 32 |
			     lbd_backend_table_weight(&v->be[i]);

		h = (h ^ x) * 0x100000001b3ULL;
		h = (h ^ maglev_key(&v->be[i].addr, sizeof(v->be[i].addr))) *
		    0x100000001b3ULL;
	}
	return h;
}

static int install_table(struct lbd *d, struct lbd_vip *v)
{
	struct maglev_backend *mb = calloc(v->nbe ? v->nbe : 1, sizeof(*mb));
	uint32_t *table = malloc((size_t)v->table_size * sizeof(uint32_t));
	size_t live = 0;
	char name[LB_VIPSTRLEN];
	int err = -ENOMEM;

	if (!mb || !table)
		goto out;
	for (size_t i = 0; i < v->nbe; i++) {
		mb[i].id = v->be[i].id;
		mb[i].weight = lbd_backend_table_weight(&v->be[i]);
		mb[i].key = maglev_key(&v->be[i].addr, sizeof(v->be[i].addr));
		live += mb[i].weight > 0;
	}
	err = maglev_build(mb, v->nbe, table, v->table_size);
	if (!err)
		err = lb_dp_install_table(&d->dp, v->id, table, v->table_size);
	if (err)
		v->rebuild_failures++;
	else
		v->rebuilds++;
	lb_format_vip(&v->spec, name, sizeof(name));
	if (err)
		pr_warn("VIP %s: cannot install its Maglev table: %s", name,
			strerror(-err));
	else if (!d->tables_quiet) /* starting: lbd_dp_tables_summary */
		pr_info("VIP %s: Maglev table rebuilt (%zu of %zu backends "
			"take new flows)",
			name, live, v->nbe);
out:
	free(mb);
	free(table);
	return err;
}

int lbd_dp_sync_vip(struct lbd *d, struct lbd_vip *v, bool force_table)
{
	struct lb_vip_key k;
	struct lb_vip val = {};
	uint64_t sig = table_signature(v);
	int err;

	/* usable backends first, so the new table never names a backend
	 * the datapath would refuse; unusable ones after the table */
	for (size_t i = 0; i < v->nbe; i++) {
		if (!lbd_backend_usable(&v->be[i]))
			continue;
		err = write_backend(d, v, &v->be[i]);
		if (err)
			return err;
	}
	if (force_table || sig != v->table_sig) {
		err = install_table(d, v);
		if (err)
			return err;
		v->table_sig = sig;
	}
	for (size_t i = 0; i < v->nbe; i++) {
		if (lbd_backend_usable(&v->be[i]))
			continue;
		err = write_backend(d, v, &v->be[i]);
		if (err)
			return err;
	}
	lb_vip_key_of(&v->spec, &k);
	val.vip_id = v->id;
	val.flags = v->flags;
	val.table_size = v->table_size;
	if (bpf_map_update_elem(d->dp.vips, &k, &val, BPF_ANY))
		return -errno;
	return 0;
}

int lbd_dp_remove_backend(struct lbd *d, struct lbd_backend *b)
{
	struct lb_backend e = {};

	/* flags 0: flows remembered on it are re-hashed on their next
	 * packet; the id may be reused, with a new generation */
	if (bpf_map_update_elem(d->dp.backends, &b->id, &e, BPF_ANY))
		return -errno;
	return 0;
}

int lbd_dp_remove_vip(struct lbd *d, struct lbd_vip *v)
{
	struct lb_vip_key k;

	lb_vip_key_of(&v->spec, &k);
	if (bpf_map_delete_elem(d->dp.vips, &k) && errno != ENOENT)
		return -errno;
	lb_dp_remove_table(&d->dp, v->id);
	for (size_t i = 0; i < v->nbe; i++)
		lbd_dp_remove_backend(d, &v->be[i]);
	return 0;
}

int lbd_dp_sync_vip_addrs(struct lbd *d)
{
	struct lb_addr_key k, next, *keys = NULL;
	size_t nkeys = 0;
	int err = 0;

	/* collect existing keys first: deleting while iterating skips */
	for (int r = bpf_map_get_next_key(d->dp.vip_addrs, NULL, &next); !r;
	     r = bpf_map_get_next_key(d->dp.vip_addrs, &k, &next)) {
		struct lb_addr_key *nk =
			realloc(keys, (nkeys + 1) * sizeof(*keys));

		if (!nk) {
			free(keys);
			return -ENOMEM;
		}
		keys = nk;
		keys[nkeys++] = next;
		k = next;
	}
	for (size_t i = 0; i < nkeys; i++) {
		bool used = false;

		for (size_t j = 0; j < d->nvips && !used; j++)
			used = d->vips[j].spec.family == keys[i].family &&
			       !memcmp(&d->vips[j].spec.addr, &keys[i].addr,
				       sizeof(keys[i].addr));
		if (!used)
			bpf_map_delete_elem(d->dp.vip_addrs, &keys[i]);
	}
	free(keys);
	for (size_t i = 0; i < d->nvips; i++) {
		struct lb_vip_addr val = {};

		memset(&k, 0, sizeof(k));
		k.addr = d->vips[i].spec.addr;
		k.family = d->vips[i].spec.family;
		for (size_t j = 0; j < d->nvips; j++)
			val.vip_count += d->vips[j].spec.family == k.family &&
					 !memcmp(&d->vips[j].spec.addr, &k.addr,
						 sizeof(k.addr));
		if (bpf_map_update_elem(d->dp.vip_addrs, &k, &val, BPF_ANY))
			err = -errno;
	}
	return err;
}

int lbd_dp_sync_all(struct lbd *d)
{
	struct lb_vip_key k, next, *stale = NULL;
	size_t nstale = 0;
	uint8_t *used;
	int err;

	for (size_t i = 0; i < d->nvips; i++) {
		err = lbd_dp_sync_vip(d, &d->vips[i], true);
		if (err)
			return err;
	}
	err = lbd_dp_sync_vip_addrs(d);
	if (err)
		return err;

	/* drop what the pinned maps hold beyond the state */
	for (int r = bpf_map_get_next_key(d->dp.vips, NULL, &next); !r;
	     r = bpf_map_get_next_key(d->dp.vips, &k, &next)) {
		struct lb_vip_spec s = {};
		struct lb_vip_key *ns;

		k = next;
		s.addr = next.addr;
		s.family = next.family;
		s.proto = next.proto;
		s.port = ntohs(next.port);
		if (lbd_find_vip(d, &s))
			continue;
		ns = realloc(stale, (nstale + 1) * sizeof(*stale));
		if (!ns)
			break;
		stale = ns;
		stale[nstale++] = next;
	}
	for (size_t i = 0; i < nstale; i++)
		bpf_map_delete_elem(d->dp.vips, &stale[i]);
	free(stale);

	used = calloc(LB_MAX_BACKENDS > LB_MAX_VIPS ? LB_MAX_BACKENDS :
						      LB_MAX_VIPS,
		      1);
	if (!used)
		return -ENOMEM;
	for (size_t i = 0; i < d->nvips; i++)
		used[d->vips[i].id] = 1;
	for (uint32_t id = 0; id < LB_MAX_VIPS; id++)
		if (!used[id])
			lb_dp_remove_table(&d->dp, id);
	memset(used, 0, LB_MAX_BACKENDS);
	for (size_t i = 0; i < d->nvips; i++)
		for (size_t j = 0; j < d->vips[i].nbe; j++)
			used[d->vips[i].be[j].id] = 1;
	for (uint32_t id = 1; id < LB_MAX_BACKENDS; id++) {
		struct lb_backend e;

		if (used[id] || bpf_map_lookup_elem(d->dp.backends, &id, &e) ||
		    !e.gen)
			continue;
		memset(&e, 0, sizeof(e));
		bpf_map_update_elem(d->dp.backends, &id, &e, BPF_ANY);
	}
	free(used);
	return 0;
}

void lbd_dp_tables_summary(struct lbd *d)
{
	size_t live = 0, total = 0;

	d->tables_quiet = false;
	if (!d->nvips)
		return;
	for (size_t i = 0; i < d->nvips; i++) {
		for (size_t j = 0; j < d->vips[i].nbe; j++)
			live += lbd_backend_table_weight(&d->vips[i].be[j]) > 0;
		total += d->vips[i].nbe;
	}
	pr_info("Maglev tables built for %zu VIP%s: %zu of %zu backends take "
		"new flows",
		d->nvips, d->nvips == 1 ? "" : "s", live, total);
}

void lbd_dp_seed_macs(struct lbd *d)
{
	size_t seeded = 0;

	for (size_t i = 0; i < d->nvips; i++) {
		struct lbd_vip *v = &d->vips[i];

		for (size_t j = 0; j < v->nbe; j++) {
			struct lbd_backend *b = &v->be[j];
			struct lb_backend e;

			if (bpf_map_lookup_elem(d->dp.backends, &b->id, &e) ||
			    e.gen != b->gen || e.vip_id != v->id ||
			    !(e.flags & LB_BE_F_USABLE))
				continue;
			/* until the neighbour table says otherwise, keep
			 * forwarding where the previous lbd did */
			memcpy(b->mac, e.mac, 6);
			b->mac_ok = true;
			b->was_usable = true;
			b->neigh_err[0] = 0;
			seeded++;
		}
	}
	if (seeded)
		pr_info("adopted %zu backend next hops from the pinned maps",
			seeded);
}
