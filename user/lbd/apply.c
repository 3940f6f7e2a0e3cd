// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * apply.c - the whole configuration at once: `export` writes the model as
 * a configuration file (conf.c), `apply` makes the model equal to one.  An
 * apply is one change of cmd.c's kind: the handler reads and checks the
 * whole file and builds the new model, changing nothing on any error; the
 * state is saved once; the done step then writes the datapath with one
 * table build per VIP that changed.  VIPs and backends that stay keep
 * their ids, generations, next hops and health.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "ctl.h"
#include "log.h"
#include "rules.h"

int ctl_export(struct lbd *d, struct ctl_op *op)
{
	char *text = lbd_conf_write(d);

	if (!text) {
		ctl_error(op->w, "out of memory");
		return -ENOMEM;
	}
	ctl_ok_begin(op->w);
	jw_kstr(op->w, "config", text);
	jw_obj_end(op->w);
	free(text);
	return 0;
}

/* The running balancer's part of the checks (the file's own are conf.c's):
 * backends it could forward to under their VIP's mode.  Only backends
 * that are new are looked for among this host's addresses. */
static int check_backend(const struct lbd_conf *c, size_t vi, size_t bi,
			 bool is_new, const struct ifaddrs *ifs, char *err,
			 size_t errlen)
{
	const struct lbd_vip *v = &c->vips[vi].v;
	const struct lbd_backend *b = &v->be[bi];
	char vname[LB_VIPSTRLEN], bname[LB_ADDRSTRLEN], e[256];
	int rc;

	lb_format_vip(&v->spec, vname, sizeof(vname));
	lb_format_addr(&b->addr, b->family, bname, sizeof(bname));
	if (is_new)
		rc = ctl_backend_ok(ifs, v->flags, &v->spec, &b->addr,
				    b->family, vname, bname, e, sizeof(e));
	else
		rc = lb_rule_family(v->flags & LB_VIP_F_ENCAP, v->spec.family,
				    b->family, vname, bname, e, sizeof(e));
	if (rc)
		snprintf(err, errlen, "%s:%u: %s", c->file,
			 c->vips[vi].be_line[bi], e);
	return rc;
}

/*
 * The lowest id in [first, limit) that neither the model before nor the
 * new one uses (bit 0 of used: the new model, bit 1: the one before), else
 * one that only a VIP or backend that leaves used: the done step removes
 * those before it writes the new ones.
 */
static int take_id(uint8_t *used, uint32_t first, uint32_t limit, uint32_t *id)
{
	for (int mask = 3; mask; mask = mask == 3 ? 1 : 0)
		for (uint32_t i = first; i < limit; i++)
			if (!(used[i] & mask)) {
				used[i] |= 1;
				*id = i;
				return 0;
			}
	return -ENOSPC;
}

static void free_vips(struct lbd_vip *vips, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(vips[i].be);
	free(vips);
}

/* The new model from the file c and the model now: nv[i] for c's VIP i. */
static int build(struct lbd *d, const struct lbd_conf *c, struct lbd_vip *nv,
		 char *err, size_t errlen)
{
	uint8_t *vused = calloc(LB_MAX_VIPS, 1);
	uint8_t *bused = calloc(LB_MAX_BACKENDS, 1);
	struct ifaddrs *ifs = NULL;
	int rc = 0;

	/* this host's addresses, once for every new backend (NULL: each
	 * check reads them itself) */
	if (getifaddrs(&ifs))
		ifs = NULL;
	if (!vused || !bused) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (c->n > LB_MAX_VIPS) {
		rc = -ENOSPC;
		snprintf(err, errlen, "%s:%u: too many VIPs (limit %u)",
			 c->file, c->vips[LB_MAX_VIPS].line, LB_MAX_VIPS);
		goto out;
	}
	for (size_t i = 0; i < d->nvips; i++) {
		vused[d->vips[i].id] |= 2;
		for (size_t j = 0; j < d->vips[i].nbe; j++)
			bused[d->vips[i].be[j].id] |= 2;
	}
	/* so are ids whose old words lb_ct4 may still hold */
	for (uint32_t id = 1; id < LB_MAX_BACKENDS; id++)
		if (lbd_ct4_purge_pending(d, id))
			bused[id] |= 2;
	/* what stays keeps its ids: mark them first */
	for (size_t i = 0; i < c->n; i++) {
		const struct lbd_vip *f = &c->vips[i].v;
		struct lbd_vip *o =
			ctl_match_vip(d->vips, d->nvips, &f->spec, i);
		struct lbd_vip *v = &nv[i];

		if (o) {
			*v = *o; /* its runtime: counters, table signature */
			vused[o->id] |= 1;
		} else {
			memset(v, 0, sizeof(*v));
			v->id = UINT32_MAX;
		}
		v->spec = f->spec;
		v->flags = f->flags;
		v->table_size = f->table_size;
		if (!o || !lbd_check_same(&o->check, &f->check))
			v->check = f->check;
		v->nbe = v->cap = f->nbe;
		v->be = calloc(f->nbe ? f->nbe : 1, sizeof(*v->be));
		if (!v->be) {
			rc = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		for (size_t j = 0; j < f->nbe; j++) {
			const struct lbd_backend *fb = &f->be[j];
			struct lbd_backend *ob =
				o ? ctl_match_backend(o, fb, j) : NULL;
			struct lbd_backend *b = &v->be[j];

			rc = check_backend(c, i, j, !ob, ifs, err, errlen);
			if (rc)
				goto out;
			if (ob) {
				*b = *ob;
				bused[ob->id] |= 1;
			} else {
				*b = *fb;
				b->id = 0;
			}
			b->weight = fb->weight;
			b->admin = fb->admin;
			if (!ob || ob->check_set != fb->check_set ||
			    !lbd_check_same(&ob->check, &fb->check)) {
				b->check_set = fb->check_set;
				b->check = fb->check;
			}
		}
	}
	/* then the new ones take the lowest ids left */
	for (size_t i = 0; i < c->n; i++) {
		struct lbd_vip *v = &nv[i];

		if (v->id == UINT32_MAX &&
		    take_id(vused, 0, LB_MAX_VIPS, &v->id))
			goto full;
		for (size_t j = 0; j < v->nbe; j++) {
			struct lbd_backend *b = &v->be[j];

			if (b->id)
				continue;
			if (take_id(bused, 1, LB_MAX_BACKENDS, &b->id)) {
				rc = -ENOSPC;
				snprintf(err, errlen,
					 "%s:%u: too many backends (limit %u)",
					 c->file, c->vips[i].be_line[j],
					 LB_MAX_BACKENDS - 1);
				goto out;
			}
			b->gen = ++d->next_gen;
			/* as backend-add: with a check it takes no flow before
			 * the first good one */
			lbd_health_reset(d, v, b, false);
			snprintf(b->neigh_err, sizeof(b->neigh_err),
				 "not resolved yet");
		}
	}
	goto out;
full:
	rc = -ENOSPC;
	snprintf(err, errlen, "too many VIPs (limit %u)", LB_MAX_VIPS);
out:
	if (ifs)
		freeifaddrs(ifs);
	free(vused);
	free(bused);
	return rc;
}

int ctl_apply(struct lbd *d, struct ctl_op *op)
{
	const char *text = jv_get_str(op->req, "config");
	const char *file = jv_get_str(op->req, "file");
	struct lbd_conf c;
	struct lbd_vip *nv;
	char err[512];
	int rc;

	if (!text) {
		ctl_error(op->w, "missing config (the text of the file)");
		return -EINVAL;
	}
	if (!file || !file[0])
		file = "(config)";
	rc = lbd_conf_parse(text, strlen(text), file, &c, err, sizeof(err));
	if (rc) {
		ctl_error(op->w, "%s", err);
		return rc;
	}
	nv = calloc(c.n ? c.n : 1, sizeof(*nv));
	if (!nv) {
		lbd_conf_free(&c);
		ctl_error(op->w, "out of memory");
		return -ENOMEM;
	}
	rc = build(d, &c, nv, err, sizeof(err));
	if (rc) {
		free_vips(nv, c.n);
		lbd_conf_free(&c);
		ctl_error(op->w, "%s", err);
		return rc;
	}
	/* the model before is in op->before: cmd.c puts it back if the
	 * state cannot be saved */
	free_vips(d->vips, d->nvips);
	d->vips = nv;
	d->nvips = c.n;
	d->cap_vips = c.n ? c.n : 1;
	lbd_conf_free(&c);
	return 0;
}

/* Zero the datapath entries of before's backends that left v (their ids
 * not in the model now), once v's new table no longer names them. */
static void remove_left(struct lbd *d, const struct lbd_vip *o,
			const struct lbd_vip *v, const uint8_t *in_model)
{
	for (size_t j = 0; j < o->nbe; j++) {
		struct lbd_backend gone = o->be[j];

		if ((!v || !ctl_match_backend(v, &gone, j)) &&
		    !in_model[gone.id])
			lbd_dp_remove_backend(d, &gone);
	}
}

void ctl_applied(struct lbd *d, struct ctl_op *op)
{
	const struct ctl_model *before = op->before;
	uint64_t added = 0, removed = 0, changed = 0, nb_added = 0,
		 nb_removed = 0;
	uint8_t *in_model = calloc(LB_MAX_BACKENDS, 1);
	struct lbd_vip **resync =
		calloc(d->nvips ? d->nvips : 1, sizeof(*resync));
	uint32_t *gone_ids = calloc(before->nvips + 1, sizeof(*gone_ids));
	size_t nresync = 0, ngone = 0;
	int failed = 0, err;

	if (!in_model || !resync || !gone_ids) {
		free(in_model);
		free(resync);
		free(gone_ids);
		ctl_error(op->w, "saved, but out of memory writing the "
				 "datapath (retried every second)");
		for (size_t i = 0; i < d->nvips; i++)
			d->vips[i].dirty = true;
		return;
	}
	for (size_t i = 0; i < d->nvips; i++)
		for (size_t j = 0; j < d->vips[i].nbe; j++)
			in_model[d->vips[i].be[j].id] = 1;
	/* VIPs that left first: their ids may be taken by new ones; the
	 * backends they had, if someone else's now, are rewritten below */
	for (size_t i = 0; i < before->nvips; i++) {
		struct lbd_vip gone = before->vips[i];

		if (ctl_match_vip(d->vips, d->nvips, &gone.spec, i))
			continue;
		removed++;
		nb_removed += gone.nbe;
		gone_ids[ngone++] = gone.id;
		lbd_dp_remove_vip_entries(d, &gone);
	}
	if (ngone)
		lb_dp_sync_vip_slots_kept(&d->dp, &d->vip_slots);
	lb_dp_remove_tables(&d->dp, gone_ids, (uint32_t)ngone);
	for (size_t i = 0; i < d->nvips; i++) {
		struct lbd_vip *v = &d->vips[i];
		const struct lbd_vip *o =
			ctl_match_vip(before->vips, before->nvips, &v->spec, i);

		if (o && !ctl_vip_changed(o, v))
			continue;
		if (o)
			changed++;
		else
			added++;
		if (!o)
			lb_dp_counter_reset(d->dp.vip_stats, v->id);
		for (size_t j = 0; j < v->nbe; j++) {
			struct lbd_backend *b = &v->be[j];
			const struct lbd_backend *ob =
				o ? ctl_match_backend(o, b, j) : NULL;

			if (ob) {
				if (!lbd_check_same(lbd_check_of(o, ob),
						    lbd_check_of(v, b)))
					lbd_health_reset(d, v, b, true);
				continue;
			}
			nb_added++;
			lb_dp_counter_reset(d->dp.backend_stats, b->id);
			lbd_neigh_resolve(d, b);
			b->last_change_ms = lbd_now_ms();
			b->was_usable = lbd_backend_usable(b);
		}
		if (o)
			for (size_t j = 0; j < o->nbe; j++)
				nb_removed +=
					!ctl_match_backend(v, &o->be[j], j);
		resync[nresync++] = v;
	}
	/* one table build per VIP that changed, all swapped in at once */
	lbd_dp_sync_vips(d, resync, nresync, false, false);
	for (size_t i = 0; i < nresync; i++)
		failed += resync[i]->dirty;
	/* the backends that left a VIP that stays, once its table is new */
	for (size_t i = 0; i < before->nvips; i++) {
		const struct lbd_vip *o = &before->vips[i];
		const struct lbd_vip *v =
			ctl_match_vip(d->vips, d->nvips, &o->spec, i);

		if (v)
			remove_left(d, o, v, in_model);
	}
	/* and those of the VIPs that left, unless reused meanwhile: done by
	 * lbd_dp_remove_vip above, then rewritten by the syncs */
	err = lbd_dp_sync_vip_addrs(d);
	free(in_model);
	free(resync);
	free(gone_ids);
	pr_info("configuration %s applied: %llu VIPs added, %llu removed, "
		"%llu changed; %llu backends added, %llu removed",
		jv_get_str(op->req, "file") ? jv_get_str(op->req, "file") :
					      "(config)",
		(unsigned long long)added, (unsigned long long)removed,
		(unsigned long long)changed, (unsigned long long)nb_added,
		(unsigned long long)nb_removed);
	if (failed || err) {
		ctl_error(op->w,
			  "saved, but the datapath update failed for %d VIPs "
			  "(retried every second)",
			  failed ? failed : 1);
		return;
	}
	ctl_ok_begin(op->w);
	jw_kuint(op->w, "vips_added", added);
	jw_kuint(op->w, "vips_removed", removed);
	jw_kuint(op->w, "vips_changed", changed);
	jw_kuint(op->w, "vips", d->nvips);
	jw_kuint(op->w, "backends_added", nb_added);
	jw_kuint(op->w, "backends_removed", nb_removed);
	jw_obj_end(op->w);
}
