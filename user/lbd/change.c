// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * change.c - the control commands that change VIPs and backends.  Each is
 * two steps (see struct ctl_cmd): the handler checks the whole request and
 * changes the model, or refuses having changed nothing that matters (the
 * model is put back either way); the done step runs once the change is
 * saved: the datapath, the log, the answer.  None of them undoes anything
 * itself: cmd.c does that for all of them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"

/* The answer of a change: the VIP as it is now, once the datapath has it
 * (brief: without its backends, which a VIP of thousands makes long). */
static void answer_vip(struct lbd *d, struct lbd_vip *v, struct jw *w,
		       bool brief)
{
	int err = lbd_dp_sync_vip(d, v, false);

	if (!err)
		err = lbd_dp_sync_vip_addrs(d);
	v->dirty = err != 0;
	if (err) {
		ctl_error(w,
			  "saved, but the datapath update failed: %s "
			  "(retried every second)",
			  strerror(-err));
		return;
	}
	ctl_ok_begin(w);
	jw_key(w, "vip");
	ctl_json_vip(w, v, !brief, NULL);
	jw_obj_end(w);
}

/* The answer of a change to one VIP (op->v). */
static void answer_op(struct lbd *d, struct ctl_op *op)
{
	const struct jv *brief = jv_get(op->req, "brief");

	answer_vip(d, op->v, op->w,
		   brief && brief->type == JV_BOOL && brief->b);
}

/* Where b stood before the change (b is in the model now). */
static const struct lbd_backend *before_of(struct lbd *d,
					   const struct ctl_op *op,
					   const struct lbd_vip *v,
					   const struct lbd_backend *b)
{
	return &op->before->vips[v - d->vips].be[b - v->be];
}

/* ---------------------------------------------------------------- VIPs */

/* Add a VIP to the model.  Returns it or NULL with an answer. */
static struct lbd_vip *vip_create(struct lbd *d, struct jw *w,
				  const struct lb_vip_spec *spec,
				  uint32_t flags, uint32_t size)
{
	struct lbd_vip *v;
	uint32_t id;

	if (lbd_alloc_vip_id(d, &id)) {
		ctl_error(w, "too many VIPs (limit %u)", LB_MAX_VIPS);
		return NULL;
	}
	if (d->nvips == d->cap_vips) {
		size_t cap = d->cap_vips ? d->cap_vips * 2 : 8;
		struct lbd_vip *nv = realloc(d->vips, cap * sizeof(*nv));

		if (!nv) {
			ctl_error(w, "out of memory");
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
	return v;
}

int ctl_vip_add(struct lbd *d, struct ctl_op *op)
{
	const struct jv *req = op->req;
	struct jw *w = op->w;
	struct lb_vip_spec spec;
	struct lbd_check chk;
	struct lbd_vip *v;
	uint32_t flags, size;
	char name[LB_VIPSTRLEN];
	bool has_check;

	if (ctl_req_vip(req, d, w, &spec, &v, false))
		return -EINVAL;
	if (v) {
		ctl_error(w, "VIP %s already exists",
			  lb_format_vip(&spec, name, sizeof(name)));
		return -EEXIST;
	}
	if (ctl_req_vip_options(req, &spec, w, &flags, &size) ||
	    ctl_req_check(req, &spec, w, &chk, &has_check))
		return -EINVAL;
	v = vip_create(d, w, &spec, flags, size);
	if (!v)
		return -ENOSPC;
	v->check = chk;
	op->v = v;
	return 0;
}

void ctl_vip_added(struct lbd *d, struct ctl_op *op)
{
	uint32_t flags = op->v->flags;
	char name[LB_VIPSTRLEN];

	/* the id may have been a deleted VIP's: start from zero */
	lb_dp_counter_reset(d->dp.vip_stats, op->v->id);
	pr_info("VIP %s added (%s, hash %s, table %u, on-down %s)",
		lb_format_vip(&op->v->spec, name, sizeof(name)),
		flags & LB_VIP_F_ENCAP ? "ipip" : "dsr",
		flags & LB_VIP_F_HASH_SRC ? "src" : "5tuple", op->v->table_size,
		lbd_on_down_name(flags));
	answer_op(d, op);
}

int ctl_vip_del(struct lbd *d, struct ctl_op *op)
{
	struct lb_vip_spec spec;
	struct lbd_vip *v;
	size_t idx;
	int err;

	err = ctl_req_vip(op->req, d, op->w, &spec, &v, true);
	if (err)
		return err;
	idx = (size_t)(v - d->vips);
	op->old_v = &op->before->vips[idx];
	free(v->be);
	memmove(v, v + 1, (d->nvips - idx - 1) * sizeof(*v));
	d->nvips--;
	return 0;
}

void ctl_vip_deleted(struct lbd *d, struct ctl_op *op)
{
	struct lbd_vip gone = *op->old_v;
	char name[LB_VIPSTRLEN];

	lbd_dp_remove_vip(d, &gone);
	lbd_dp_sync_vip_addrs(d);
	pr_info("VIP %s deleted",
		lb_format_vip(&gone.spec, name, sizeof(name)));
	ctl_ok_begin(op->w);
	jw_obj_end(op->w);
}

int ctl_vip_set(struct lbd *d, struct ctl_op *op)
{
	const struct jv *req = op->req;
	struct jw *w = op->w;
	struct lb_vip_spec spec;
	struct lbd_vip *v;
	struct lbd_check chk;
	uint32_t flags;
	bool has_check;
	int has_on_down;

	if (ctl_req_vip(req, d, w, &spec, &v, true) ||
	    ctl_req_check(req, &spec, w, &chk, &has_check))
		return -EINVAL;
	flags = v->flags;
	has_on_down = ctl_req_on_down(req, w, &flags);
	if (has_on_down < 0)
		return has_on_down;
	if (!has_check && !has_on_down) {
		ctl_error(w, "nothing to set (check, on_down)");
		return -EINVAL;
	}
	op->v = v;
	op->has_check = has_check;
	op->has_on_down = has_on_down;
	if (has_check)
		v->check = chk;
	v->flags = flags;
	return 0;
}

void ctl_vip_was_set(struct lbd *d, struct ctl_op *op)
{
	struct lbd_vip *v = op->v;
	char name[LB_VIPSTRLEN];

	lb_format_vip(&v->spec, name, sizeof(name));
	if (op->has_on_down)
		pr_info("VIP %s: on-down %s", name, lbd_on_down_name(v->flags));
	if (op->has_check) {
		/* backends keep their health: a new check can only take
		 * them out after `fall` failures, never all at once */
		for (size_t i = 0; i < v->nbe; i++)
			if (!v->be[i].check_set)
				lbd_health_reset(d, v, &v->be[i], true);
		pr_info("VIP %s: health check %s", name,
			v->check.kind == LBD_CHECK_NONE ? "off" :
			v->check.kind == LBD_CHECK_TCP	? "tcp" :
							  "http");
	}
	answer_op(d, op);
}

/* ---------------------------------------------------------------- backends */

int ctl_backend_add(struct lbd *d, struct ctl_op *op)
{
	const struct jv *req = op->req;
	struct jw *w = op->w;
	bool create_vip = op->arg == CTL_CREATE_VIP;
	struct lb_vip_spec spec;
	struct lbd_check chk;
	struct lbd_vip *v;
	struct lbd_backend *b;
	union lb_addr a;
	uint8_t fam;
	uint32_t weight = 1, flags = 0, size = 0, id;
	char vname[LB_VIPSTRLEN], bname[LB_ADDRSTRLEN];
	bool has_check;
	int err;

	if (ctl_req_vip(req, d, w, &spec, &v, !create_vip))
		return -EINVAL;
	if (ctl_req_backend(req, w, &a, &fam) ||
	    ctl_req_weight(req, w, &weight, false) ||
	    ctl_req_check(req, &spec, w, &chk, &has_check))
		return -EINVAL;
	lb_format_vip(&spec, vname, sizeof(vname));
	lb_format_addr(&a, fam, bname, sizeof(bname));
	if (!v && ctl_req_vip_options(req, &spec, w, &flags, &size))
		return -EINVAL;
	if (ctl_req_backend_ok(w, v ? v->flags : flags, &spec, &a, fam, vname,
			       bname))
		return -EINVAL;
	if (v && lbd_find_backend(v, &a, fam)) {
		ctl_error(w, "backend %s already in VIP %s", bname, vname);
		return -EEXIST;
	}
	err = lbd_alloc_backend_id(d, &id);
	if (err == -ENOMEM) {
		ctl_error(w, "out of memory");
		return err;
	}
	if (err) {
		ctl_error(w, "too many backends (limit %u)",
			  LB_MAX_BACKENDS - 1);
		return err;
	}
	if (!v) {
		v = vip_create(d, w, &spec, flags, size);
		if (!v)
			return -ENOSPC;
		op->created = true;
	}
	if (v->nbe == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 4;
		struct lbd_backend *nb = realloc(v->be, cap * sizeof(*nb));

		if (!nb) {
			ctl_error(w, "out of memory");
			return -ENOMEM;
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
	op->v = v;
	op->b = b;
	return 0;
}

void ctl_backend_added(struct lbd *d, struct ctl_op *op)
{
	struct lbd_vip *v = op->v;
	struct lbd_backend *b = op->b;
	char vname[LB_VIPSTRLEN], bname[LB_ADDRSTRLEN];

	lb_format_vip(&v->spec, vname, sizeof(vname));
	lb_format_addr(&b->addr, b->family, bname, sizeof(bname));
	lb_dp_counter_reset(d->dp.backend_stats, b->id);
	if (op->created) {
		lb_dp_counter_reset(d->dp.vip_stats, v->id);
		pr_info("VIP %s added (dsr, hash 5tuple, table %u)", vname,
			v->table_size);
	}
	lbd_neigh_resolve(d, b);
	b->last_change_ms = lbd_now_ms();
	b->was_usable = lbd_backend_usable(b);
	pr_info("VIP %s: backend %s added (weight %u)%s%s", vname, bname,
		b->weight, b->mac_ok ? "" : ": waiting for ",
		b->mac_ok ? "" : b->neigh_err);
	answer_op(d, op);
}

int ctl_backend_del(struct lbd *d, struct ctl_op *op)
{
	struct lbd_vip *v;
	struct lbd_backend *b = ctl_req_find_backend(d, op->req, op->w, &v);
	size_t idx;

	if (!b)
		return -ENOENT;
	idx = (size_t)(b - v->be);
	op->old_b = before_of(d, op, v, b);
	op->v = v;
	memmove(b, b + 1, (v->nbe - idx - 1) * sizeof(*b));
	v->nbe--;
	return 0;
}

void ctl_backend_deleted(struct lbd *d, struct ctl_op *op)
{
	struct lbd_backend gone = *op->old_b;
	char vname[LB_VIPSTRLEN], bname[LB_ADDRSTRLEN];

	/* table first (without it), then the entry: its flows re-hash */
	lbd_dp_sync_vip(d, op->v, false);
	lbd_dp_remove_backend(d, &gone);
	pr_info("VIP %s: backend %s removed",
		lb_format_vip(&op->v->spec, vname, sizeof(vname)),
		lb_format_addr(&gone.addr, gone.family, bname, sizeof(bname)));
	answer_op(d, op);
}

int ctl_backend_set(struct lbd *d, struct ctl_op *op)
{
	struct lbd_vip *v;
	struct lbd_backend *b = ctl_req_find_backend(d, op->req, op->w, &v);
	uint32_t weight = 0;

	if (!b)
		return -ENOENT;
	if (op->arg == CTL_WEIGHT &&
	    ctl_req_weight(op->req, op->w, &weight, true))
		return -EINVAL;
	op->old_b = before_of(d, op, v, b);
	op->v = v;
	op->b = b;
	if (op->arg == CTL_DRAIN)
		b->admin = LBD_ADMIN_DRAINING;
	else if (op->arg == CTL_UNDRAIN)
		b->admin = LBD_ADMIN_ACTIVE;
	else
		b->weight = weight;
	return 0;
}

void ctl_backend_was_set(struct lbd *d, struct ctl_op *op)
{
	struct lbd_backend *b = op->b;
	char vname[LB_VIPSTRLEN], bname[LB_ADDRSTRLEN];

	lb_format_vip(&op->v->spec, vname, sizeof(vname));
	lb_format_addr(&b->addr, b->family, bname, sizeof(bname));
	if (op->arg == CTL_WEIGHT)
		pr_info("VIP %s: backend %s weight %u -> %u", vname, bname,
			op->old_b->weight, b->weight);
	else
		pr_info("VIP %s: backend %s %s", vname, bname,
			b->admin == LBD_ADMIN_DRAINING ?
				"draining: keeps its connections, takes no "
				"new ones" :
				"active again");
	answer_op(d, op);
}

int ctl_backend_check(struct lbd *d, struct ctl_op *op)
{
	struct lbd_vip *v;
	struct lbd_backend *b = ctl_req_find_backend(d, op->req, op->w, &v);
	const struct jv *inherit = jv_get(op->req, "inherit");
	struct lbd_check chk;
	bool has_check;

	if (!b || ctl_req_check(op->req, &v->spec, op->w, &chk, &has_check))
		return -EINVAL;
	if (has_check == (inherit && inherit->type == JV_BOOL && inherit->b)) {
		ctl_error(op->w, "give either a check or \"inherit\": true");
		return -EINVAL;
	}
	b->check_set = has_check;
	b->check = chk;
	op->v = v;
	op->b = b;
	return 0;
}

void ctl_backend_checked(struct lbd *d, struct ctl_op *op)
{
	lbd_health_reset(d, op->v, op->b, true);
	answer_op(d, op);
}

/* node-drain (arg 1) and node-undrain (arg 0): maintenance of the whole
 * balancer.  Drained, it announces no VIP, so the routers send it no new
 * traffic; its datapath keeps forwarding whatever still arrives. */
int ctl_node_set(struct lbd *d, struct ctl_op *op)
{
	d->node_drained = op->arg;
	return 0;
}

void ctl_node_was_set(struct lbd *d, struct ctl_op *op)
{
	struct jw *w = op->w;

	if (op->before->node_drained == d->node_drained)
		pr_info("node %s already",
			d->node_drained ? "drained" : "active");
	else if (d->node_drained)
		pr_info("node drained: withdrawing every VIP route%s; the "
			"datapath keeps forwarding",
			d->announce_table ? "" :
					    " (none: no --announce-table)");
	else
		pr_info("node active again: announcing its VIPs");
	lbd_announce_update(d, false);
	ctl_ok_begin(w);
	jw_kstr(w, "node", d->node_drained ? "drained" : "active");
	jw_kbool(w, "announcing", d->announce_table != 0);
	jw_kuint(w, "routes", d->ann.count);
	jw_obj_end(w);
}
