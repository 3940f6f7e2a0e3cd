// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ctl.c - lbd's control socket: a Unix stream socket (mode 0600, root
 * only) speaking one JSON object per line each way; see user/lbd/PROTOCOL.md.
 *
 * Every change is validated completely first, then applied to the model,
 * then persisted; if persisting fails the model change is undone and the
 * client gets the error, so a refused request changes nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "lbd.h"
#include "lb_hash.h"
#include "log.h"
#include "maglev.h"

#define CTL_MAX_REQUEST (64 * 1024)

static const char *stat_names[LB_STAT_MAX] = { LB_STAT_NAMES };

/* The socket's address, its directory made; -ENAMETOOLONG if too long. */
static int sock_addr(struct lbd *d, struct sockaddr_un *sa)
{
	char dir[sizeof(sa->sun_path)];
	char *slash;

	if (strlen(d->sock_path) >= sizeof(sa->sun_path)) {
		pr_err("socket path too long: %s", d->sock_path);
		return -ENAMETOOLONG;
	}
	snprintf(dir, sizeof(dir), "%s", d->sock_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir(dir, 0755);
	}
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path, sizeof(sa->sun_path), "%s", d->sock_path);
	return 0;
}

/* -EADDRINUSE, said why, when another lbd answers on the socket. */
static int sock_free(struct lbd *d, const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	/* a socket file left by a killed lbd: nobody answers on it */
	/* EAGAIN: a live lbd whose backlog is full */
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ||
	    errno == EAGAIN) {
		pr_err("another lbd answers on %s", d->sock_path);
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	return 0;
}

/*
 * "<socket>.starting" holds the pid of an lbd that is starting: lbctl
 * tells "starting" from "not running" by it.  It lives from the first
 * check of the socket until lbd listens (or gives up).
 */
static void starting_path(struct lbd *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s.starting", d->sock_path);
}

void lbd_ctl_mark_starting(struct lbd *d)
{
	char path[PATH_MAX];
	FILE *f;

	starting_path(d, path, sizeof(path));
	f = fopen(path, "we");
	if (!f) {
		pr_debug("cannot write %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
	d->starting_marked = true;
}

void lbd_ctl_unmark_starting(struct lbd *d)
{
	char path[PATH_MAX];

	if (!d->starting_marked)
		return;
	starting_path(d, path, sizeof(path));
	unlink(path);
	d->starting_marked = false;
}

int lbd_ctl_claim(struct lbd *d)
{
	struct sockaddr_un sa;
	char path[PATH_MAX];
	long pid = 0;
	FILE *f;
	int err;

	err = sock_addr(d, &sa);
	if (!err)
		err = sock_free(d, &sa);
	if (err)
		return err;
	starting_path(d, path, sizeof(path));
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	if (pid > 0 && pid != (long)getpid() &&
	    (!kill((pid_t)pid, 0) || errno != ESRCH)) {
		pr_err("another lbd (pid %ld) is starting with the control "
		       "socket %s",
		       pid, d->sock_path);
		return -EADDRINUSE;
	}
	lbd_ctl_mark_starting(d);
	return 0;
}

int lbd_ctl_open(struct lbd *d)
{
	struct sockaddr_un sa;
	mode_t old;
	int fd, err;

	err = sock_addr(d, &sa);
	if (!err)
		err = sock_free(d, &sa);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(d->sock_path);
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64)) {
		int err = -errno;

		umask(old);
		pr_warn("cannot listen on %s: %s", d->sock_path,
			strerror(errno));
		close(fd);
		return err;
	}
	umask(old);
	chmod(d->sock_path, 0600);
	d->ctl_fd = fd;
	lbd_ctl_unmark_starting(d);
	return 0;
}

void lbd_ctl_close(struct lbd *d)
{
	if (d->ctl_fd >= 0) {
		close(d->ctl_fd);
		unlink(d->sock_path);
	}
	d->ctl_fd = -1;
}

/* ---------------------------------------------------------------- output */

static void err_reply(struct jw *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void err_reply(struct jw *w, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	jw_obj_begin(w);
	jw_kbool(w, "ok", false);
	jw_kstr(w, "error", msg);
	jw_obj_end(w);
}

static void ok_begin(struct jw *w)
{
	jw_obj_begin(w);
	jw_kbool(w, "ok", true);
}

static void json_mac(struct jw *w, const char *key, const uint8_t m[6])
{
	char buf[20];

	snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
		 m[2], m[3], m[4], m[5]);
	jw_kstr(w, key, buf);
}

static void json_backend(struct lbd *d, struct jw *w, struct lbd_backend *b,
			 bool with_stats)
{
	char buf[LB_ADDRSTRLEN], st[16];
	uint64_t now = lbd_now_ms();

	jw_obj_begin(w);
	jw_kstr(w, "backend",
		lb_format_addr(&b->addr, b->family, buf, sizeof(buf)));
	jw_kuint(w, "weight", b->weight);
	jw_kstr(w, "state", lbd_backend_state(b, st, sizeof(st)));
	if (!b->mac_ok)
		jw_kstr(w, "reason", b->neigh_err);
	else if (!b->health_up)
		jw_kstr(w, "reason", b->health_err);
	else if (b->admin == LBD_ADMIN_DRAINING)
		jw_kstr(w, "reason", "drained by operator");
	else
		jw_kstr(w, "reason", "");
	jw_kdouble(w, "table_weight", lbd_backend_table_weight(b) / 100.0);
	if (b->mac_ok)
		json_mac(w, "mac", b->mac);
	jw_kuint(w, "id", b->id);
	jw_kuint(w, "since_change_s",
		 b->last_change_ms ? (now - b->last_change_ms) / 1000 : 0);
	if (with_stats) {
		struct lb_counter c;

		lb_dp_counter(d->dp.backend_stats, b->id, &c);
		jw_kuint(w, "packets", c.packets);
		jw_kuint(w, "bytes", c.bytes);
		jw_kdouble(w, "pps", b->rate_pps);
		jw_kdouble(w, "bps", b->rate_bps);
	}
	jw_obj_end(w);
}

static void json_vip(struct lbd *d, struct jw *w, struct lbd_vip *v,
		     bool with_backends, bool with_stats)
{
	char buf[LB_VIPSTRLEN];
	size_t up = 0;

	for (size_t i = 0; i < v->nbe; i++)
		up += lbd_backend_table_weight(&v->be[i]) > 0;
	jw_obj_begin(w);
	jw_kstr(w, "vip", lb_format_vip(&v->spec, buf, sizeof(buf)));
	jw_kstr(w, "mode", v->flags & LB_VIP_F_ENCAP ? "ipip" : "dsr");
	jw_kstr(w, "hash", v->flags & LB_VIP_F_HASH_SRC ? "src" : "5tuple");
	jw_kstr(w, "on_down", lbd_on_down_name(v->flags));
	jw_kuint(w, "table_size", v->table_size);
	jw_kuint(w, "backends_total", v->nbe);
	jw_kuint(w, "backends_in_table", up);
	jw_kuint(w, "id", v->id);
	if (v->check.kind != LBD_CHECK_NONE) {
		jw_key(w, "check");
		lbd_check_to_json(&v->check, w);
	}
	if (with_stats) {
		struct lb_counter c;

		lb_dp_counter(d->dp.vip_stats, v->id, &c);
		jw_kuint(w, "packets", c.packets);
		jw_kuint(w, "bytes", c.bytes);
		jw_kdouble(w, "pps", v->rate_pps);
		jw_kdouble(w, "bps", v->rate_bps);
	}
	if (with_backends) {
		jw_key(w, "backends");
		jw_arr_begin(w);
		for (size_t i = 0; i < v->nbe; i++)
			json_backend(d, w, &v->be[i], with_stats);
		jw_arr_end(w);
	}
	jw_obj_end(w);
}

/* ---------------------------------------------------------------- helpers */

static int req_vip(const struct jv *req, struct lbd *d, struct jw *w,
		   struct lb_vip_spec *spec, struct lbd_vip **v,
		   bool must_exist)
{
	const char *s = jv_get_str(req, "vip");
	char err[LB_ERRLEN];

	if (lb_parse_vip(s, spec, err, sizeof(err))) {
		err_reply(w, "%s", err);
		return -EINVAL;
	}
	*v = lbd_find_vip(d, spec);
	if (must_exist && !*v) {
		err_reply(w, "unknown VIP %s", s);
		return -ENOENT;
	}
	return 0;
}

static int req_backend(const struct jv *req, struct jw *w, union lb_addr *a,
		       uint8_t *family)
{
	const char *s = jv_get_str(req, "backend");
	char err[LB_ERRLEN];

	if (lb_parse_addr(s, a, family, err, sizeof(err)) ||
	    lb_addr_check_unicast(a, *family, err, sizeof(err))) {
		err_reply(w, "backend: %s", err);
		return -EINVAL;
	}
	return 0;
}

/* A number that is not a plain integer (1.5, 1e3, 61.0, -1). */
static void int_reply(struct jw *w, const char *what, const struct jv *v,
		      uint32_t min, uint32_t max)
{
	if (v->d >= min && v->d <= max && v->d == (double)(uint32_t)v->d)
		err_reply(w,
			  "%s must be written as an integer %u..%u, without "
			  "a fraction or exponent",
			  what, min, max);
	else
		err_reply(w, "%s must be an integer %u..%u, not %g", what, min,
			  max, v->d);
}

static int req_weight(const struct jv *req, struct jw *w, uint32_t *weight,
		      bool required)
{
	const struct jv *v = jv_get(req, "weight");

	if (!v) {
		if (required) {
			err_reply(w, "missing weight");
			return -EINVAL;
		}
		return 0;
	}
	if (v->type != JV_NUM) {
		err_reply(w, "weight must be a number 0..%u", LBD_MAX_WEIGHT);
		return -EINVAL;
	}
	if (!v->is_uint) {
		int_reply(w, "weight", v, 0, LBD_MAX_WEIGHT);
		return -EINVAL;
	}
	if (v->u > LBD_MAX_WEIGHT) {
		err_reply(w, "weight %llu out of range 0..%u",
			  (unsigned long long)v->u, LBD_MAX_WEIGHT);
		return -EINVAL;
	}
	*weight = (uint32_t)v->u;
	return 0;
}

/* The optional "check" object of a request into c; *has says if present. */
static int req_check(const struct jv *req, const struct lb_vip_spec *spec,
		     struct jw *w, struct lbd_check *c, bool *has)
{
	const struct jv *o = jv_get(req, "check");
	char err[LB_ERRLEN];

	*has = o != NULL;
	lbd_check_defaults(c);
	if (o && lbd_check_from_json(o, spec, c, err, sizeof(err))) {
		err_reply(w, "%s", err);
		return -EINVAL;
	}
	return 0;
}

/* The interface of this host that holds address a, if any, in ifname. */
static bool local_address(const union lb_addr *a, uint8_t fam, char *ifname,
			  size_t len)
{
	struct ifaddrs *ifs, *i;
	bool found = false;

	if (getifaddrs(&ifs))
		return false;
	for (i = ifs; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (fam == LB_FAMILY_V4 && i->ifa_addr->sa_family == AF_INET)
			found = !memcmp(
				&((struct sockaddr_in *)i->ifa_addr)->sin_addr,
				&a->v4, 4);
		else if (fam == LB_FAMILY_V6 &&
			 i->ifa_addr->sa_family == AF_INET6)
			found = !memcmp(
				&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
				a->v6, 16);
		if (found)
			snprintf(ifname, len, "%s", i->ifa_name);
	}
	freeifaddrs(ifs);
	return found;
}

/* A backend the balancer could never forward to: the VIP itself, or an
 * address of this host (its traffic would stay here, "via lo"). */
static int backend_reachable(struct jw *w, const struct lb_vip_spec *spec,
			     const union lb_addr *a, uint8_t fam,
			     const char *vname, const char *bname)
{
	char ifname[IF_NAMESIZE];

	if (fam == spec->family && !memcmp(&spec->addr, a, sizeof(*a))) {
		err_reply(w,
			  "backend %s is the address of VIP %s itself: its "
			  "traffic would come back to the balancer",
			  bname, vname);
		return -EINVAL;
	}
	if (local_address(a, fam, ifname, sizeof(ifname))) {
		err_reply(w,
			  "backend %s is an address of this balancer (on %s): "
			  "its traffic would never leave this host",
			  bname, ifname);
		return -EINVAL;
	}
	return 0;
}

/* Family rules of the forwarding modes. */

static int family_ok(struct jw *w, uint32_t flags, uint8_t vfam, uint8_t bfam,
		     const char *vip, const char *be)
{
	if (vfam == bfam)
		return 0;
	if (!(flags & LB_VIP_F_ENCAP)) {
		err_reply(w,
			  "backend %s is IPv%d but VIP %s is IPv%d: direct "
			  "server return cannot change the address family "
			  "(use mode ipip)",
			  be, bfam, vip, vfam);
		return -EINVAL;
	}
	if (vfam == LB_FAMILY_V6) {
		err_reply(w,
			  "IPv4 backend %s behind IPv6 VIP %s is not supported "
			  "(IPv6-in-IPv4 encapsulation is not implemented)",
			  be, vip);
		return -EINVAL;
	}
	return 0;
}

static int save_or_fail(struct lbd *d, struct jw *w)
{
	char err[256];

	if (lbd_state_save(d, err, sizeof(err))) {
		pr_warn("%s", err);
		err_reply(w, "change not made: %s", err);
		return -EIO;
	}
	return 0;
}

static void apply(struct lbd *d, struct lbd_vip *v, struct jw *w)
{
	int err = lbd_dp_sync_vip(d, v, false);

	if (!err)
		err = lbd_dp_sync_vip_addrs(d);
	v->dirty = err != 0;
	if (err) {
		err_reply(w,
			  "saved, but the datapath update failed: %s "
			  "(retried every second)",
			  strerror(-err));
		return;
	}
	ok_begin(w);
	jw_key(w, "vip");
	json_vip(d, w, v, true, false);
	jw_obj_end(w);
}

/* ---------------------------------------------------------------- VIPs */

/*
 * "on_down" of a request: whether flows remembered on a backend that fails
 * its health check stay on it.  Sets or clears LB_VIP_F_ON_DOWN_KEEP in
 * *flags when given; returns 1 if given, 0 if not, -EINVAL (replied).
 */
static int req_on_down(const struct jv *req, struct jw *w, uint32_t *flags)
{
	const char *od = jv_get_str(req, "on_down");

	if (!jv_get(req, "on_down"))
		return 0;
	if (od && !strcmp(od, "keep")) {
		*flags |= LB_VIP_F_ON_DOWN_KEEP;
	} else if (od && !strcmp(od, "rehash")) {
		*flags &= ~LB_VIP_F_ON_DOWN_KEEP;
	} else {
		err_reply(w, "unknown on_down '%s' (keep or rehash)",
			  od ? od : "(not a string)");
		return -EINVAL;
	}
	return 1;
}

static int vip_options(const struct jv *req, const struct lb_vip_spec *spec,
		       struct jw *w, uint32_t *flags, uint32_t *size)
{
	const char *mode = jv_get_str(req, "mode");
	const char *hash = jv_get_str(req, "hash");
	const struct jv *ts = jv_get(req, "table_size");

	*flags = lbd_vip_default_flags(spec);
	*size = LB_MAGLEV_DEFAULT_SIZE;
	if (req_on_down(req, w, flags) < 0)
		return -EINVAL;
	if ((jv_get(req, "mode") && !mode) || (jv_get(req, "hash") && !hash)) {
		err_reply(w, "mode and hash must be strings");
		return -EINVAL;
	}
	if (mode && !strcmp(mode, "ipip"))
		*flags |= LB_VIP_F_ENCAP;
	else if (mode && strcmp(mode, "dsr")) {
		err_reply(w, "unknown mode '%s' (dsr or ipip)", mode);
		return -EINVAL;
	}
	if (hash && !strcmp(hash, "src"))
		*flags |= LB_VIP_F_HASH_SRC;
	else if (hash && strcmp(hash, "5tuple")) {
		err_reply(w, "unknown hash '%s' (5tuple or src)", hash);
		return -EINVAL;
	}
	if (ts) {
		if (ts->type == JV_NUM && !ts->is_uint) {
			int_reply(w, "table size", ts, 3, LB_MAGLEV_MAX_SIZE);
			return -EINVAL;
		}
		if (ts->type != JV_NUM || ts->u < 3 ||
		    ts->u > LB_MAGLEV_MAX_SIZE) {
			err_reply(w, "table size out of range 3..%u",
				  LB_MAGLEV_MAX_SIZE);
			return -EINVAL;
		}
		if (!maglev_is_prime((uint32_t)ts->u)) {
			uint32_t p = (uint32_t)ts->u;

			while (!maglev_is_prime(p))
				p++;
			err_reply(w, "table size %llu is not prime (try %u)",
				  (unsigned long long)ts->u, p);
			return -EINVAL;
		}
		*size = (uint32_t)ts->u;
	}
	return 0;
}

/* Add a VIP to the model (not saved).  Returns it or NULL with a reply. */
static struct lbd_vip *vip_create(struct lbd *d, struct jw *w,
				  const struct lb_vip_spec *spec,
				  uint32_t flags, uint32_t size)
{
	struct lbd_vip *v;
	uint32_t id;

	if (lbd_alloc_vip_id(d, &id)) {
		err_reply(w, "too many VIPs (limit %u)", LB_MAX_VIPS);
		return NULL;
	}
	if (d->nvips == d->cap_vips) {
		size_t cap = d->cap_vips ? d->cap_vips * 2 : 8;
		struct lbd_vip *nv = realloc(d->vips, cap * sizeof(*nv));

		if (!nv) {
			err_reply(w, "out of memory");
			return NULL;
		}
		d->vips = nv;
		d->cap_vips = cap;
	}
	v = &d->vips[d->nvips++];
	memset(v, 0, sizeof(*v));
	v->spec = *spec;
	v->id = id;
	v->flags = flags;
	v->table_size = size;
	lbd_check_defaults(&v->check);
	/* the id may have been a deleted VIP's: start from zero */
	lb_dp_counter_reset(d->dp.vip_stats, id);
	return v;
}

static void cmd_vip_add(struct lbd *d, const struct jv *req, struct jw *w)
{
	struct lb_vip_spec spec;
	struct lbd_vip *v;
	uint32_t flags, size;
	char name[LB_VIPSTRLEN];

	if (req_vip(req, d, w, &spec, &v, false))
		return;
	if (v) {
		err_reply(w, "VIP %s already exists",
			  lb_format_vip(&spec, name, sizeof(name)));
		return;
	}
	struct lbd_check chk;
	bool has_check;

	if (vip_options(req, &spec, w, &flags, &size) ||
	    req_check(req, &spec, w, &chk, &has_check))
		return;
	v = vip_create(d, w, &spec, flags, size);
	if (!v)
		return;
	v->check = chk;
	if (save_or_fail(d, w)) {
		d->nvips--;
		return;
	}
	lb_format_vip(&spec, name, sizeof(name));
	pr_info("VIP %s added (%s, hash %s, table %u, on-down %s)", name,
		flags & LB_VIP_F_ENCAP ? "ipip" : "dsr",
		flags & LB_VIP_F_HASH_SRC ? "src" : "5tuple", size,
		lbd_on_down_name(flags));
	apply(d, v, w);
}

static void cmd_vip_del(struct lbd *d, const struct jv *req, struct jw *w)
{
	struct lb_vip_spec spec;
	struct lbd_vip *v, saved;
	size_t idx;
	char name[LB_VIPSTRLEN];

	if (req_vip(req, d, w, &spec, &v, true))
		return;
	idx = (size_t)(v - d->vips);
	saved = *v;
	memmove(v, v + 1, (d->nvips - idx - 1) * sizeof(*v));
	d->nvips--;
	if (save_or_fail(d, w)) {
		memmove(&d->vips[idx + 1], &d->vips[idx],
			(d->nvips - idx) * sizeof(*v));
		d->vips[idx] = saved;
		d->nvips++;
		return;
	}
	lbd_dp_remove_vip(d, &saved);
	lbd_dp_sync_vip_addrs(d);
	free(saved.be);
	pr_info("VIP %s deleted", lb_format_vip(&spec, name, sizeof(name)));
	ok_begin(w);
	jw_obj_end(w);
}

static void cmd_vip_list(struct lbd *d, struct jw *w, bool backends, bool stats)
{
	ok_begin(w);
	jw_key(w, "vips");
	jw_arr_begin(w);
	for (size_t i = 0; i < d->nvips; i++)
		json_vip(d, w, &d->vips[i], backends, stats);
	jw_arr_end(w);
	jw_obj_end(w);
}

static void cmd_vip_show(struct lbd *d, const struct jv *req, struct jw *w)
{
	struct lb_vip_spec spec;
	struct lbd_vip *v;

	if (req_vip(req, d, w, &spec, &v, true))
		return;
	ok_begin(w);
	jw_key(w, "vip");
	json_vip(d, w, v, true, true);
	jw_obj_end(w);
}

/* ---------------------------------------------------------------- backends */

static void cmd_backend_add(struct lbd *d, const struct jv *req, struct jw *w,
			    bool create_vip)
{
	struct lb_vip_spec spec;
	struct lbd_vip *v;
	struct lbd_backend *b;
	union lb_addr a;
	uint8_t fam;
	uint32_t weight = 1, flags = 0, size = 0, id;
	bool created = false;
	char vname[LB_VIPSTRLEN], bname[LB_ADDRSTRLEN];

	if (req_vip(req, d, w, &spec, &v, !create_vip))
		return;
	struct lbd_check chk;
	bool has_check;

	if (req_backend(req, w, &a, &fam) ||
	    req_weight(req, w, &weight, false) ||
	    req_check(req, &spec, w, &chk, &has_check))
		return;
	lb_format_vip(&spec, vname, sizeof(vname));
	lb_format_addr(&a, fam, bname, sizeof(bname));
	if (!v && vip_options(req, &spec, w, &flags, &size))
		return;
	if (family_ok(w, v ? v->flags : flags, spec.family, fam, vname,
		      bname) ||
	    backend_reachable(w, &spec, &a, fam, vname, bname))
		return;
	if (v && lbd_find_backend(v, &a, fam)) {
		err_reply(w, "backend %s already in VIP %s", bname, vname);
		return;
	}
	int aerr = lbd_alloc_backend_id(d, &id);

	if (aerr == -ENOMEM) {
		err_reply(w, "out of memory");
		return;
	}
	if (aerr) {
		err_reply(w, "too many backends (limit %u)",
			  LB_MAX_BACKENDS - 1);
		return;
	}
	if (!v) {
		v = vip_create(d, w, &spec, flags, size);
		if (!v)
			return;
		created = true;
	}
	if (v->nbe == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 4;
		struct lbd_backend *nb = realloc(v->be, cap * sizeof(*nb));

		if (!nb) {
			if (created)
				d->nvips--;
			err_reply(w, "out of memory");
			return;
		}
		v->be = nb;
		v->cap = cap;
	}
	b = &v->be[v->nbe++];
	memset(b, 0, sizeof(*b));
	b->addr = a;
	b->family = fam;
	b->weight = weight;
	b->id = id;
	b->gen = ++d->next_gen;
	b->check_set = has_check;
	b->check = chk;
	/* with a check it takes no flow before the first good one */
	lbd_health_reset(d, v, b, false);
	snprintf(b->neigh_err, sizeof(b->neigh_err), "not resolved yet");
	if (save_or_fail(d, w)) {
		v->nbe--;
		d->next_gen--;
		if (created) {
			free(v->be);
			d->nvips--;
		}
		return;
	}
	lb_dp_counter_reset(d->dp.backend_stats, id);
	if (created)
		pr_info("VIP %s added (dsr, hash 5tuple, table %u)", vname,
			v->table_size);
	lbd_neigh_resolve(d, b);
	b->last_change_ms = lbd_now_ms();
	b->was_usable = lbd_backend_usable(b);
	pr_info("VIP %s: backend %s added (weight %u)%s%s", vname, bname,
		weight, b->mac_ok ? "" : ": waiting for ",
		b->mac_ok ? "" : b->neigh_err);
	apply(d, v, w);
}

static struct lbd_backend *find_be_req(struct lbd *d, const struct jv *req,
				       struct jw *w, struct lbd_vip **vp)
{
	struct lb_vip_spec spec;
	struct lbd_backend *b;
	union lb_addr a;
	uint8_t fam;
	char vname[LB_VIPSTRLEN], bname[LB_ADDRSTRLEN];

	if (req_vip(req, d, w, &spec, vp, true) ||
	    req_backend(req, w, &a, &fam))
		return NULL;
	b = lbd_find_backend(*vp, &a, fam);
	if (!b)
		err_reply(w, "backend %s is not in VIP %s",
			  lb_format_addr(&a, fam, bname, sizeof(bname)),
			  lb_format_vip(&spec, vname, sizeof(vname)));
	return b;
}

static void cmd_backend_del(struct lbd *d, const struct jv *req, struct jw *w)
{
	struct lbd_vip *v;
	struct lbd_backend *b = find_be_req(d, req, w, &v), saved;
	size_t idx;
	char vname[LB_VIPSTRLEN], bname[LB_ADDRSTRLEN];

	if (!b)
		return;
	idx = (size_t)(b - v->be);
	saved = *b;
	memmove(b, b + 1, (v->nbe - idx - 1) * sizeof(*b));
	v->nbe--;
	if (save_or_fail(d, w)) {
		memmove(&v->be[idx + 1], &v->be[idx],
			(v->nbe - idx) * sizeof(*b));
		v->be[idx] = saved;
		v->nbe++;
		return;
	}
	/* table first (without it), then the entry: its flows re-hash */
	lbd_dp_sync_vip(d, v, false);
	lbd_dp_remove_backend(d, &saved);
	pr_info("VIP %s: backend %s removed",
		lb_format_vip(&v->spec, vname, sizeof(vname)),
		lb_format_addr(&saved.addr, saved.family, bname,
			       sizeof(bname)));
	apply(d, v, w);
}

static void cmd_backend_set(struct lbd *d, const struct jv *req, struct jw *w,
			    const char *what)
{
	struct lbd_vip *v;
	struct lbd_backend *b = find_be_req(d, req, w, &v);
	enum lbd_admin old_admin;
	uint32_t old_weight, weight = 0;
	char vname[LB_VIPSTRLEN], bname[LB_ADDRSTRLEN];

	if (!b)
		return;
	if (!strcmp(what, "weight") && req_weight(req, w, &weight, true))
		return;
	old_admin = b->admin;
	old_weight = b->weight;
	if (!strcmp(what, "drain"))
		b->admin = LBD_ADMIN_DRAINING;
	else if (!strcmp(what, "undrain"))
		b->admin = LBD_ADMIN_ACTIVE;
	else
		b->weight = weight;
	if (save_or_fail(d, w)) {
		b->admin = old_admin;
		b->weight = old_weight;
		return;
	}
	lb_format_vip(&v->spec, vname, sizeof(vname));
	lb_format_addr(&b->addr, b->family, bname, sizeof(bname));
	if (!strcmp(what, "weight"))
		pr_info("VIP %s: backend %s weight %u -> %u", vname, bname,
			old_weight, weight);
	else
		pr_info("VIP %s: backend %s %s", vname, bname,
			b->admin == LBD_ADMIN_DRAINING ?
				"draining: keeps its connections, takes no "
				"new ones" :
				"active again");
	apply(d, v, w);
}

/* ---------------------------------------------------------------- checks */

static void cmd_vip_set(struct lbd *d, const struct jv *req, struct jw *w)
{
	struct lb_vip_spec spec;
	struct lbd_vip *v;
	struct lbd_check chk, old;
	uint32_t flags, old_flags;
	bool has_check;
	int has_on_down;
	char name[LB_VIPSTRLEN];

	if (req_vip(req, d, w, &spec, &v, true) ||
	    req_check(req, &spec, w, &chk, &has_check))
		return;
	flags = v->flags;
	has_on_down = req_on_down(req, w, &flags);
	if (has_on_down < 0)
		return;
	if (!has_check && !has_on_down) {
		err_reply(w, "nothing to set (check, on_down)");
		return;
	}
	old = v->check;
	old_flags = v->flags;
	if (has_check)
		v->check = chk;
	v->flags = flags;
	if (save_or_fail(d, w)) {
		v->check = old;
		v->flags = old_flags;
		return;
	}
	lb_format_vip(&spec, name, sizeof(name));
	if (has_on_down)
		pr_info("VIP %s: on-down %s", name, lbd_on_down_name(flags));
	if (has_check) {
		/* backends keep their health: a new check can only take
		 * them out after `fall` failures, never all at once */
		for (size_t i = 0; i < v->nbe; i++)
			if (!v->be[i].check_set)
				lbd_health_reset(d, v, &v->be[i], true);
		pr_info("VIP %s: health check %s", name,
			chk.kind == LBD_CHECK_NONE ? "off" :
			chk.kind == LBD_CHECK_TCP  ? "tcp" :
						     "http");
	}
	apply(d, v, w);
}

static void cmd_backend_check(struct lbd *d, const struct jv *req, struct jw *w)
{
	struct lbd_vip *v;
	struct lbd_backend *b = find_be_req(d, req, w, &v);
	const struct jv *inherit = jv_get(req, "inherit");
	struct lbd_check chk, old;
	bool has_check, old_set;

	if (!b || req_check(req, &v->spec, w, &chk, &has_check))
		return;
	if (has_check == (inherit && inherit->type == JV_BOOL && inherit->b)) {
		err_reply(w, "give either a check or \"inherit\": true");
		return;
	}
	old = b->check;
	old_set = b->check_set;
	b->check_set = has_check;
	b->check = chk;
	if (save_or_fail(d, w)) {
		b->check = old;
		b->check_set = old_set;
		return;
	}
	lbd_health_reset(d, v, b, true);
	apply(d, v, w);
}

static void json_health(struct jw *w, struct lbd_vip *v, struct lbd_backend *b)
{
	const struct lbd_check *c = lbd_check_of(v, b);
	const struct lbd_health *h = &b->hc;
	uint64_t now = lbd_now_ms();
	char buf[LB_ADDRSTRLEN], st[16];

	jw_obj_begin(w);
	jw_kstr(w, "backend",
		lb_format_addr(&b->addr, b->family, buf, sizeof(buf)));
	jw_kstr(w, "state", lbd_backend_state(b, st, sizeof(st)));
	jw_kstr(w, "health",
		c->kind == LBD_CHECK_NONE ? "unchecked" :
		b->health_up		  ? "up" :
					    "down");
	jw_kstr(w, "reason",
		!b->mac_ok		     ? b->neigh_err :
		!b->health_up		     ? b->health_err :
		b->admin != LBD_ADMIN_ACTIVE ? "drained by operator" :
					       "");
	jw_kbool(w, "own_check", b->check_set);
	jw_key(w, "check");
	lbd_check_to_json(c, w);
	if (c->kind != LBD_CHECK_NONE) {
		jw_kstr(w, "last", h->last);
		jw_kbool(w, "last_ok", h->last_ok);
		jw_kdouble(w, "latency_ms", h->latency_us / 1000.0);
		jw_kuint(w, "ok_streak", h->ok_streak);
		jw_kuint(w, "fail_streak", h->fail_streak);
		jw_kuint(w, "checks", h->checks);
		jw_kuint(w, "failures", h->failures);
		jw_kuint(w, "transitions", h->transitions);
		if (h->last_transition_ms)
			jw_kdouble(w, "since_transition_s",
				   (double)(now - h->last_transition_ms) /
					   1000.0);
		if (h->last_ms)
			jw_kdouble(w, "since_last_check_s",
				   (double)(now - h->last_ms) / 1000.0);
	}
	if (h->ramp_ms && lbd_backend_table_weight(b))
		jw_kuint(w, "slowstart_pct",
			 lbd_backend_table_weight(b) /
				 (b->weight ? b->weight : 1));
	jw_kdouble(w, "table_weight", lbd_backend_table_weight(b) / 100.0);
	jw_obj_end(w);
}

static void cmd_health(struct lbd *d, const struct jv *req, struct jw *w)
{
	struct lb_vip_spec spec;
	struct lbd_vip *only = NULL;
	char buf[LB_VIPSTRLEN];

	if (jv_get(req, "vip") && req_vip(req, d, w, &spec, &only, true))
		return;
	ok_begin(w);
	jw_key(w, "vips");
	jw_arr_begin(w);
	for (size_t i = 0; i < d->nvips; i++) {
		struct lbd_vip *v = &d->vips[i];

		if (only && only != v)
			continue;
		jw_obj_begin(w);
		jw_kstr(w, "vip", lb_format_vip(&v->spec, buf, sizeof(buf)));
		jw_key(w, "check");
		lbd_check_to_json(&v->check, w);
		jw_key(w, "backends");
		jw_arr_begin(w);
		for (size_t j = 0; j < v->nbe; j++)
			json_health(w, v, &v->be[j]);
		jw_arr_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

/* ---------------------------------------------------------------- views */

static void cmd_status(struct lbd *d, struct jw *w)
{
	char buf[LB_ADDRSTRLEN], seed[24];
	size_t nbe = 0;

	for (size_t i = 0; i < d->nvips; i++)
		nbe += d->vips[i].nbe;
	ok_begin(w);
	jw_kstr(w, "iface", d->iface);
	jw_kint(w, "ifindex", d->ifindex);
	jw_kstr(w, "xdp_mode", d->attach_mode ? d->attach_mode : "none");
	jw_kuint(w, "prog_id", d->prog_id);
	jw_kint(w, "abi_version", LB_ABI_VERSION);
	jw_kstr(w, "pin_dir", d->pin_dir);
	jw_kstr(w, "state_file", d->state_path);
	jw_kstr(w, "socket", d->sock_path);
	snprintf(seed, sizeof(seed), "0x%016llx", (unsigned long long)d->seed);
	jw_kstr(w, "hash_seed", seed);
	jw_kstr(w, "encap_src4",
		lb_format_addr(&d->encap_src4, LB_FAMILY_V4, buf, sizeof(buf)));
	jw_kstr(w, "encap_src6",
		lb_format_addr(&d->encap_src6, LB_FAMILY_V6, buf, sizeof(buf)));
	json_mac(w, "mac", d->src_mac);
	jw_kuint(w, "mtu", d->mtu);
	jw_kuint(w, "conntrack_size", d->ct_size);
	jw_kuint(w, "vips", d->nvips);
	jw_kuint(w, "backends", nbe);
	jw_kuint(w, "uptime_s", (lbd_now_ms() - d->started_ms) / 1000);
	jw_kint(w, "pid", getpid());
	jw_obj_end(w);
}

static void cmd_stats(struct lbd *d, struct jw *w)
{
	ok_begin(w);
	jw_key(w, "global");
	jw_obj_begin(w);
	for (int i = 0; i < LB_STAT_MAX; i++) {
		struct lb_counter c;

		lb_dp_counter(d->dp.stats, (uint32_t)i, &c);
		jw_key(w, stat_names[i]);
		jw_obj_begin(w);
		jw_kuint(w, "packets", c.packets);
		jw_kuint(w, "bytes", c.bytes);
		jw_obj_end(w);
	}
	jw_obj_end(w);
	jw_key(w, "vips");
	jw_arr_begin(w);
	for (size_t i = 0; i < d->nvips; i++)
		json_vip(d, w, &d->vips[i], true, true);
	jw_arr_end(w);
	jw_obj_end(w);
}

static void cmd_explain(struct lbd *d, const struct jv *req, struct jw *w)
{
	const char *src = jv_get_str(req, "src"), *dst = jv_get_str(req, "dst");
	const char *proto = jv_get_str(req, "proto");
	struct lb_vip_spec spec = {};
	struct lb_flow f = {};
	struct lb_conn conn;
	struct lbd_vip *v;
	union lb_addr sa, da;
	uint8_t sf, df, pr;
	uint16_t sp, dp_;
	uint32_t hash, slot, table_id = 0;
	char err[LB_ERRLEN], buf[LB_VIPSTRLEN];
	bool ct;

	if (lb_parse_endpoint(src, &sa, &sf, &sp, err, sizeof(err))) {
		err_reply(w, "source: %s", err);
		return;
	}
	if (lb_parse_endpoint(dst, &da, &df, &dp_, err, sizeof(err))) {
		err_reply(w, "destination: %s", err);
		return;
	}
	if (lb_parse_proto(proto, &pr, err, sizeof(err))) {
		err_reply(w, "%s", err);
		return;
	}
	if (sf != df) {
		err_reply(w, "source and destination are of different address "
			     "families");
		return;
	}
	spec.addr = da;
	spec.family = df;
	spec.proto = pr;
	spec.port = dp_;
	v = lbd_find_vip(d, &spec);
	if (!v) {
		spec.port = 0;
		v = lbd_find_vip(d, &spec);
	}
	ok_begin(w);
	jw_kstr(w, "flow_src", src);
	jw_kstr(w, "flow_dst", dst);
	jw_kstr(w, "proto", lb_proto_name(pr));
	if (!v) {
		jw_kbool(w, "vip_match", false);
		jw_kstr(w, "verdict", "not a VIP: passed to the host's stack");
		jw_obj_end(w);
		return;
	}
	jw_kbool(w, "vip_match", true);
	jw_kstr(w, "vip", lb_format_vip(&v->spec, buf, sizeof(buf)));
	jw_kstr(w, "vip_match_kind", v->spec.port ? "exact port" : "all ports");
	jw_kstr(w, "mode", v->flags & LB_VIP_F_ENCAP ? "ipip" : "dsr");
	jw_kstr(w, "hash_mode",
		v->flags & LB_VIP_F_HASH_SRC ? "src" : "5tuple");
	jw_kstr(w, "on_down", lbd_on_down_name(v->flags));

	f.src = sa;
	f.dst = da;
	f.sport = htons(sp);
	f.dport = htons(dp_);
	f.proto = pr;
	f.family = df;
	hash = lb_hash_flow(&f, d->seed, !!(v->flags & LB_VIP_F_HASH_SRC));
	slot = lb_hash_slot(hash, v->table_size);
	snprintf(buf, sizeof(buf), "0x%08x", hash);
	jw_kstr(w, "flow_hash", buf);
	jw_kuint(w, "table_size", v->table_size);
	jw_kuint(w, "slot", slot);
	if (lb_dp_table_lookup(&d->dp, v->id, slot, &table_id) ||
	    table_id == LB_BACKEND_NONE) {
		jw_key(w, "table_backend");
		jw_null(w);
	} else {
		for (size_t i = 0; i < v->nbe; i++)
			if (v->be[i].id == table_id) {
				jw_key(w, "table_backend");
				json_backend(d, w, &v->be[i], false);
			}
	}
	ct = !lb_dp_ct_lookup(&d->dp, &f, &conn);
	jw_key(w, "conntrack");
	if (!ct) {
		jw_null(w);
	} else {
		struct timespec ts;
		uint64_t now;
		bool found = false;

		/* the datapath stamps entries with the coarse clock */
		clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
		now = (uint64_t)ts.tv_sec * 1000000000ULL +
		      (uint64_t)ts.tv_nsec;
		bool kept = false;

		jw_obj_begin(w);
		jw_kuint(w, "backend_id", conn.backend_id);
		jw_kdouble(w, "age_s",
			   now > conn.created_ns ?
				   (double)(now - conn.created_ns) / 1e9 :
				   0);
		for (size_t i = 0; i < v->nbe; i++) {
			struct lbd_backend *b = &v->be[i];

			if (b->id != conn.backend_id)
				continue;
			found = b->gen == conn.backend_gen &&
				lbd_backend_usable(b);
			/* down by its health check: the datapath keeps the
			 * flow there if the VIP says so */
			kept = b->gen == conn.backend_gen && !found &&
			       lbd_backend_keeps_flows(b) &&
			       (v->flags & LB_VIP_F_ON_DOWN_KEEP);
			jw_kstr(w, "backend",
				lb_format_addr(&b->addr, b->family, buf,
					       sizeof(buf)));
			jw_kbool(w, "backend_down", !lbd_backend_usable(b));
		}
		jw_kbool(w, "valid", found || kept);
		jw_obj_end(w);
		if (kept) {
			jw_kstr(w, "verdict",
				"the flow's backend is down by its health "
				"check: established packets stay on it "
				"(on-down keep); new flows avoid it");
			jw_obj_end(w);
			return;
		}
		if (!found)
			ct = false;
	}
	if (ct)
		jw_kstr(w, "verdict",
			pr == IPPROTO_TCP ?
				"established packets follow the connection "
				"table entry; a new SYN follows the table" :
				"packets follow the connection table entry");
	else if (table_id)
		jw_kstr(w, "verdict", "new flow: the Maglev table decides");
	else
		jw_kstr(w, "verdict", "dropped: the VIP has no usable backend");
	jw_obj_end(w);
}

/* ---------------------------------------------------------------- dispatch */

void lbd_ctl_handle(struct lbd *d, const char *line, size_t len, struct jw *w)
{
	char perr[128];
	struct jv *req = jv_parse(line, len, perr, sizeof(perr));
	const char *cmd;

	if (!req) {
		err_reply(w, "malformed request: %s", perr);
		return;
	}
	cmd = jv_get_str(req, "cmd");
	if (!cmd)
		err_reply(w, "malformed request: missing \"cmd\"");
	else if (!strcmp(cmd, "status"))
		cmd_status(d, w);
	else if (!strcmp(cmd, "vip-add"))
		cmd_vip_add(d, req, w);
	else if (!strcmp(cmd, "vip-del"))
		cmd_vip_del(d, req, w);
	else if (!strcmp(cmd, "vip-list"))
		cmd_vip_list(d, w, false, false);
	else if (!strcmp(cmd, "vip-show"))
		cmd_vip_show(d, req, w);
	else if (!strcmp(cmd, "list"))
		cmd_vip_list(d, w, true, false);
	else if (!strcmp(cmd, "add-backend"))
		cmd_backend_add(d, req, w, true);
	else if (!strcmp(cmd, "backend-add"))
		cmd_backend_add(d, req, w, false);
	else if (!strcmp(cmd, "backend-del"))
		cmd_backend_del(d, req, w);
	else if (!strcmp(cmd, "backend-drain"))
		cmd_backend_set(d, req, w, "drain");
	else if (!strcmp(cmd, "backend-undrain"))
		cmd_backend_set(d, req, w, "undrain");
	else if (!strcmp(cmd, "backend-weight"))
		cmd_backend_set(d, req, w, "weight");
	else if (!strcmp(cmd, "vip-set"))
		cmd_vip_set(d, req, w);
	else if (!strcmp(cmd, "backend-check"))
		cmd_backend_check(d, req, w);
	else if (!strcmp(cmd, "health"))
		cmd_health(d, req, w);
	else if (!strcmp(cmd, "stats"))
		cmd_stats(d, w);
	else if (!strcmp(cmd, "explain"))
		cmd_explain(d, req, w);
	else
		err_reply(w, "unknown command '%s'", cmd);
	jv_free(req);
}

/*
 * Clients are served from the event loop: a client that connects and says
 * nothing, or reads its answer slowly, holds only its own slot, never lbd.
 */
struct ctl_client {
	bool used;
	bool answering;
	int fd;
	uint64_t deadline_ms;
	char *in;
	size_t inlen;
	char *out; /* the answer line */
	size_t outlen, outoff;
};

static struct ctl_client clients[LBD_CTL_MAX_CLIENTS];

static void client_close(struct lbd *d, struct ctl_client *c)
{
	if (!c->used)
		return;
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
}

/* Write what the client can take now; close when all is sent. */
static void client_flush(struct lbd *d, struct ctl_client *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff,
				 c->outlen - c->outoff, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			pr_debug("control client went away");
			break;
		}
		c->outoff += (size_t)n;
	}
	client_close(d, c);
}

static void client_answer(struct lbd *d, struct ctl_client *c, const char *line,
			  size_t len, const char *error)
{
	struct epoll_event ev = { .events = EPOLLOUT,
				  .data.u64 = LBD_EV_CTL |
					      (uint64_t)(c - clients) };
	struct jw w;

	jw_init(&w, false);
	if (error)
		err_reply(&w, "%s", error);
	else
		lbd_ctl_handle(d, line, len, &w);
	/* any change may have moved backends: re-index the health checks */
	lbd_health_sync(d);
	c->out = w.oom ? NULL : malloc(w.len + 1);
	if (!c->out) {
		jw_free(&w);
		client_close(d, c);
		return;
	}
	memcpy(c->out, w.buf, w.len);
	c->out[w.len] = '\n';
	c->outlen = w.len + 1;
	jw_free(&w);
	c->answering = true;
	epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	client_flush(d, c);
}

void lbd_ctl_accept(struct lbd *d)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct ctl_client *c = NULL;
	int fd;

	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };

		fd = accept4(d->ctl_fd, NULL, NULL,
			     SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		for (size_t i = 0; i < LBD_CTL_MAX_CLIENTS && !c; i++)
			if (!clients[i].used)
				c = &clients[i];
		if (!c) {
			static const char busy[] =
				"{\"ok\":false,\"error\":\"lbd is busy: too "
				"many control connections\"}\n";

			if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0)
				pr_debug("control client went away");
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->used = true;
		c->fd = fd;
		c->deadline_ms = lbd_now_ms() + LBD_CTL_TIMEOUT_MS;
		ev.data.u64 = LBD_EV_CTL | (uint64_t)(c - clients);
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			client_close(d, c);
			c = NULL;
			continue;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) ||
		    cred.uid != 0) {
			client_answer(d, c, NULL, 0,
				      "permission denied: only root may "
				      "control lbd");
		}
		c = NULL;
	}
}

void lbd_ctl_event(struct lbd *d, uint32_t slot, uint32_t events)
{
	struct ctl_client *c;
	char *nl;

	if (slot >= LBD_CTL_MAX_CLIENTS || !clients[slot].used)
		return;
	c = &clients[slot];
	if (c->answering) {
		client_flush(d, c);
		return;
	}
	if (!c->in) {
		c->in = malloc(CTL_MAX_REQUEST + 1);
		if (!c->in) {
			client_close(d, c);
			return;
		}
	}
	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->inlen,
				 CTL_MAX_REQUEST - c->inlen, 0);

		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* closed (or failed) before a whole line */
			if (n == 0)
				client_answer(d, c, NULL, 0,
					      c->inlen ? "incomplete request" :
							 "incomplete request: "
							 "empty");
			else
				client_close(d, c);
			return;
		}
		nl = memchr(c->in + c->inlen, '\n', (size_t)n);
		c->inlen += (size_t)n;
		if (nl) {
			client_answer(d, c, c->in, (size_t)(nl - c->in), NULL);
			return;
		}
		if (c->inlen >= CTL_MAX_REQUEST) {
			client_answer(d, c, NULL, 0, "request too large");
			return;
		}
	}
}

/* Called every tick: drop clients that stalled. */
void lbd_ctl_expire(struct lbd *d)
{
	uint64_t now = lbd_now_ms();

	for (size_t i = 0; i < LBD_CTL_MAX_CLIENTS; i++) {
		struct ctl_client *c = &clients[i];

		if (!c->used || now < c->deadline_ms)
			continue;
		if (c->answering || c->inlen)
			client_close(d, c);
		else
			client_answer(d, c, NULL, 0,
				      "no request within the timeout");
	}
}

void lbd_ctl_close_clients(struct lbd *d)
{
	for (size_t i = 0; i < LBD_CTL_MAX_CLIENTS; i++)
		client_close(d, &clients[i]);
}
