// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * req.c - the fields of a control request, read and checked, and the
 * frame of every answer: {"ok": true, ...} or {"ok": false, "error": ...}.
 * Each reader answers with one clear error when it refuses.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ctl.h"
#include "maglev.h"
#include "rules.h"

void ctl_error(struct jw *w, const char *fmt, ...)
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

void ctl_ok_begin(struct jw *w)
{
	jw_obj_begin(w);
	jw_kbool(w, "ok", true);
}

int ctl_req_vip(const struct jv *req, struct lbd *d, struct jw *w,
		struct lb_vip_spec *spec, struct lbd_vip **v, bool must_exist)
{
	const char *s = jv_get_str(req, "vip");
	char err[LB_ERRLEN];

	if (lb_parse_vip(s, spec, err, sizeof(err))) {
		ctl_error(w, "%s", err);
		return -EINVAL;
	}
	*v = lbd_find_vip(d, spec);
	if (must_exist && !*v) {
		ctl_error(w, "unknown VIP %s", s);
		return -ENOENT;
	}
	return 0;
}

int ctl_req_backend(const struct jv *req, struct jw *w, union lb_addr *a,
		    uint8_t *family)
{
	const char *s = jv_get_str(req, "backend");
	char err[LB_ERRLEN];

	if (lb_parse_addr(s, a, family, err, sizeof(err)) ||
	    lb_addr_check_unicast(a, *family, err, sizeof(err))) {
		ctl_error(w, "backend: %s", err);
		return -EINVAL;
	}
	return 0;
}

/* A number that is not a plain integer (1.5, 1e3, 61.0, -1). */
static void int_reply(struct jw *w, const char *what, const struct jv *v,
		      uint32_t min, uint32_t max)
{
	if (v->d >= min && v->d <= max && v->d == (double)(uint32_t)v->d)
		ctl_error(w,
			  "%s must be written as an integer %u..%u, without "
			  "a fraction or exponent",
			  what, min, max);
	else
		ctl_error(w, "%s must be an integer %u..%u, not %g", what, min,
			  max, v->d);
}

int ctl_req_weight(const struct jv *req, struct jw *w, uint32_t *weight,
		   bool required)
{
	const struct jv *v = jv_get(req, "weight");

	if (!v) {
		if (required) {
			ctl_error(w, "missing weight");
			return -EINVAL;
		}
		return 0;
	}
	if (v->type != JV_NUM) {
		ctl_error(w, "weight must be a number 0..%u", LBD_MAX_WEIGHT);
		return -EINVAL;
	}
	if (!v->is_uint) {
		int_reply(w, "weight", v, 0, LBD_MAX_WEIGHT);
		return -EINVAL;
	}
	if (v->u > LBD_MAX_WEIGHT) {
		ctl_error(w, "weight %llu out of range 0..%u",
			  (unsigned long long)v->u, LBD_MAX_WEIGHT);
		return -EINVAL;
	}
	*weight = (uint32_t)v->u;
	return 0;
}

/* The optional "check" object of a request into c; *has says if present. */
int ctl_req_check(const struct jv *req, const struct lb_vip_spec *spec,
		  struct jw *w, struct lbd_check *c, bool *has)
{
	const struct jv *o = jv_get(req, "check");
	char err[LB_ERRLEN];

	*has = o != NULL;
	lbd_check_defaults(c);
	if (o && lbd_check_from_json(o, spec, c, err, sizeof(err))) {
		ctl_error(w, "%s", err);
		return -EINVAL;
	}
	return 0;
}

/* The interface of this host that holds address a, if any, in ifname;
 * from the list ifs, or read now when NULL. */
static bool local_address(const struct ifaddrs *list, const union lb_addr *a,
			  uint8_t fam, char *ifname, size_t len)
{
	struct ifaddrs *ifs = NULL;
	const struct ifaddrs *i;
	bool found = false;

	if (!list && getifaddrs(&ifs))
		return false;
	for (i = list ? list : ifs; i && !found; i = i->ifa_next) {
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
	if (ifs)
		freeifaddrs(ifs);
	return found;
}

/* A backend the balancer could forward to: the family rule of the VIP's
 * mode, not the VIP itself, not an address of this host (its traffic
 * would stay here, "via lo"). */
int ctl_backend_ok(const struct ifaddrs *ifs, uint32_t vip_flags,
		   const struct lb_vip_spec *spec, const union lb_addr *a,
		   uint8_t fam, const char *vname, const char *bname, char *err,
		   size_t errlen)
{
	char ifname[IF_NAMESIZE];

	if (lb_rule_family(vip_flags & LB_VIP_F_ENCAP, spec->family, fam, vname,
			   bname, err, errlen) ||
	    lb_rule_not_vip(spec, a, fam, vname, bname, err, errlen))
		return -EINVAL;
	if (local_address(ifs, a, fam, ifname, sizeof(ifname))) {
		snprintf(err, errlen,
			 "backend %s is an address of this balancer (on %s): "
			 "its traffic would never leave this host",
			 bname, ifname);
		return -EINVAL;
	}
	return 0;
}

int ctl_req_backend_ok(struct jw *w, uint32_t vip_flags,
		       const struct lb_vip_spec *spec, const union lb_addr *a,
		       uint8_t fam, const char *vname, const char *bname)
{
	char err[256];

	if (ctl_backend_ok(NULL, vip_flags, spec, a, fam, vname, bname, err,
			   sizeof(err))) {
		ctl_error(w, "%s", err);
		return -EINVAL;
	}
	return 0;
}

/*
 * "on_down" of a request: whether flows remembered on a backend that fails
 * its health check stay on it.  Sets or clears LB_VIP_F_ON_DOWN_KEEP in
 * *flags when given; returns 1 if given, 0 if not, -EINVAL (replied).
 */
int ctl_req_on_down(const struct jv *req, struct jw *w, uint32_t *flags)
{
	const char *od = jv_get_str(req, "on_down");

	if (!jv_get(req, "on_down"))
		return 0;
	if (od && !strcmp(od, "keep")) {
		*flags |= LB_VIP_F_ON_DOWN_KEEP;
	} else if (od && !strcmp(od, "rehash")) {
		*flags &= ~LB_VIP_F_ON_DOWN_KEEP;
	} else {
		ctl_error(w, "unknown on_down '%s' (keep or rehash)",
			  od ? od : "(not a string)");
		return -EINVAL;
	}
	return 1;
}

int ctl_req_vip_options(const struct jv *req, const struct lb_vip_spec *spec,
			struct jw *w, uint32_t *flags, uint32_t *size)
{
	const char *mode = jv_get_str(req, "mode");
	const char *hash = jv_get_str(req, "hash");
	const struct jv *ts = jv_get(req, "table_size");

	*flags = lbd_vip_default_flags(spec);
	*size = LB_MAGLEV_DEFAULT_SIZE;
	if (ctl_req_on_down(req, w, flags) < 0)
		return -EINVAL;
	if ((jv_get(req, "mode") && !mode) || (jv_get(req, "hash") && !hash)) {
		ctl_error(w, "mode and hash must be strings");
		return -EINVAL;
	}
	if (mode && !strcmp(mode, "ipip"))
		*flags |= LB_VIP_F_ENCAP;
	else if (mode && strcmp(mode, "dsr")) {
		ctl_error(w, "unknown mode '%s' (dsr or ipip)", mode);
		return -EINVAL;
	}
	if (hash && !strcmp(hash, "src"))
		*flags |= LB_VIP_F_HASH_SRC;
	else if (hash && strcmp(hash, "5tuple")) {
		ctl_error(w, "unknown hash '%s' (5tuple or src)", hash);
		return -EINVAL;
	}
	if (ts) {
		if (ts->type == JV_NUM && !ts->is_uint) {
			int_reply(w, "table size", ts, 3, LB_MAGLEV_MAX_SIZE);
			return -EINVAL;
		}
		if (ts->type != JV_NUM || ts->u < 3 ||
		    ts->u > LB_MAGLEV_MAX_SIZE) {
			ctl_error(w, "table size out of range 3..%u",
				  LB_MAGLEV_MAX_SIZE);
			return -EINVAL;
		}
		if (!maglev_is_prime((uint32_t)ts->u)) {
			uint32_t p = (uint32_t)ts->u;

			while (!maglev_is_prime(p))
				p++;
			ctl_error(w, "table size %llu is not prime (try %u)",
				  (unsigned long long)ts->u, p);
			return -EINVAL;
		}
		*size = (uint32_t)ts->u;
	}
	return 0;
}

struct lbd_backend *ctl_req_find_backend(struct lbd *d, const struct jv *req,
					 struct jw *w, struct lbd_vip **vp)
{
	struct lb_vip_spec spec;
	struct lbd_backend *b;
	union lb_addr a;
	uint8_t fam;
	char vname[LB_VIPSTRLEN], bname[LB_ADDRSTRLEN];

	if (ctl_req_vip(req, d, w, &spec, vp, true) ||
	    ctl_req_backend(req, w, &a, &fam))
		return NULL;
	b = lbd_find_backend(*vp, &a, fam);
	if (!b)
		ctl_error(w, "backend %s is not in VIP %s",
			  lb_format_addr(&a, fam, bname, sizeof(bname)),
			  lb_format_vip(&spec, vname, sizeof(vname)));
	return b;
}
