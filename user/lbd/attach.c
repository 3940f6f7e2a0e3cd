// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * attach.c - putting the XDP program on the interface, and taking it off.
 *
 * If the attached program is ours with the same code (same tag) it is kept
 * as it is; otherwise the new one replaces it atomically
 * (XDP_FLAGS_REPLACE, or the libxdp dispatcher's own swap), so no packet
 * ever meets an empty hook.  An interface running the program of another
 * lbd (pins under another pin root) is refused: that lbd owns it.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <linux/if_link.h>
#include <mntent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "lbd.h"
#include "lb.skel.h"
#include "log.h"

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
		return p && !strcmp(xdp_program__name(p), LB_PROG_NAME) ? p :
									  NULL;
	}
	for (p = xdp_multiprog__next_prog(NULL, mp); p;
	     p = xdp_multiprog__next_prog(p, mp))
		if (!strcmp(xdp_program__name(p), LB_PROG_NAME))
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
		lbd_dp_finish_carry_over(d);
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
		lbd_dp_unpin_dir(dir);
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
	lbd_dp_unpin_dir(d->pin_dir);
	if (d->mounted_bpffs && umount2(d->pin_root, MNT_DETACH))
		pr_warn("cannot unmount %s: %s", d->pin_root, strerror(errno));
	if (d->root_made)
		rmdir(d->pin_root);
	pr_info("removed what this start had pinned in %s", d->pin_dir);
}
