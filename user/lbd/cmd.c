// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd.c - the control commands: one table of {name, handler, done,
 * mutates}, and the one place that makes a change safe.
 *
 * Every change is checked completely first, then applied to the model,
 * then persisted; if it is refused or persisting fails, the model is put
 * back as it was before the request, so a refused request changes
 * nothing.  Adding a command is one row here and one handler.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"

/* a view answers from its handler alone */
#define VIEW(n, fn, a)                             \
	{                                          \
		.name = n, .handler = fn, .arg = a \
	}
/* a change: the handler changes the model, done runs once it is saved */
#define CHANGE(n, fn, done_fn, a)                                           \
	{                                                                   \
		.name = n, .handler = fn, .done = done_fn, .mutates = true, \
		.arg = a                                                    \
	}

static const struct ctl_cmd cmds[] = {
	VIEW("status", ctl_status, 0),
	CHANGE("vip-add", ctl_vip_add, ctl_vip_added, 0),
	CHANGE("vip-del", ctl_vip_del, ctl_vip_deleted, 0),
	VIEW("vip-list", ctl_vip_list, false),
	VIEW("vip-show", ctl_vip_show, 0),
	VIEW("list", ctl_vip_list, true),
	CHANGE("add-backend", ctl_backend_add, ctl_backend_added,
	       CTL_CREATE_VIP),
	CHANGE("backend-add", ctl_backend_add, ctl_backend_added, 0),
	CHANGE("backend-del", ctl_backend_del, ctl_backend_deleted, 0),
	CHANGE("backend-drain", ctl_backend_set, ctl_backend_was_set,
	       CTL_DRAIN),
	CHANGE("backend-undrain", ctl_backend_set, ctl_backend_was_set,
	       CTL_UNDRAIN),
	CHANGE("backend-weight", ctl_backend_set, ctl_backend_was_set,
	       CTL_WEIGHT),
	CHANGE("vip-set", ctl_vip_set, ctl_vip_was_set, 0),
	CHANGE("backend-check", ctl_backend_check, ctl_backend_checked, 0),
	VIEW("health", ctl_health, 0),
	VIEW("stats", ctl_stats, 0),
	VIEW("explain", ctl_explain, 0),
	CHANGE("node-drain", ctl_node_set, ctl_node_was_set, 1),
	CHANGE("node-undrain", ctl_node_set, ctl_node_was_set, 0),
	VIEW("export", ctl_export, 0),
	CHANGE("apply", ctl_apply, ctl_applied, 0),
};

/* ---------------------------------------------------------------- undo */

static void model_free(struct lbd_vip *vips, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(vips[i].be);
	free(vips);
}

/* Copy the VIPs and their backends; -ENOMEM. */
static int model_copy(const struct lbd *d, struct ctl_model *m)
{
	m->nvips = d->nvips;
	m->next_gen = d->next_gen;
	m->node_drained = d->node_drained;
	m->vips = calloc(d->nvips ? d->nvips : 1, sizeof(*m->vips));
	if (!m->vips)
		return -ENOMEM;
	for (size_t i = 0; i < d->nvips; i++) {
		const struct lbd_vip *v = &d->vips[i];
		struct lbd_vip *c = &m->vips[i];

		*c = *v;
		c->be = NULL;
		c->cap = v->nbe;
		if (!v->nbe)
			continue;
		c->be = malloc(v->nbe * sizeof(*c->be));
		if (!c->be) {
			model_free(m->vips, i);
			return -ENOMEM;
		}
		memcpy(c->be, v->be, v->nbe * sizeof(*c->be));
	}
	return 0;
}

/* Put the model back as m holds it (m is given to the model). */
static void model_restore(struct lbd *d, struct ctl_model *m)
{
	model_free(d->vips, d->nvips);
	d->vips = m->vips;
	d->nvips = d->cap_vips = m->nvips;
	d->next_gen = m->next_gen;
	d->node_drained = m->node_drained;
	/* the array holds at least one VIP's room */
	if (!d->cap_vips)
		d->cap_vips = 1;
}

/* Change the model (the command's handler), save it, then run its done
 * step; refused or not saved, the model is put back.  A dry run answers
 * what the change would do (plan.c) and puts the model back. */
static void change(struct lbd *d, const struct ctl_cmd *c, struct ctl_op *op,
		   bool dry_run)
{
	struct ctl_model before;
	char err[256];

	if (model_copy(d, &before)) {
		ctl_error(op->w, "out of memory");
		return;
	}
	op->before = &before;
	if (c->handler(d, op)) {
		model_restore(d, &before);
		return;
	}
	if (dry_run) {
		ctl_plan(d, &before, op->w);
		model_restore(d, &before);
		return;
	}
	if (lbd_state_commit(d, before.vips, before.nvips, err, sizeof(err))) {
		pr_warn("%s", err);
		ctl_error(op->w, "change not made: %s", err);
		model_restore(d, &before);
		return;
	}
	c->done(d, op);
	/* a VIP that gained or lost its last usable backend */
	lbd_announce_update(d, false);
	model_free(before.vips, before.nvips);
}

/* ---------------------------------------------------------------- dispatch */

bool lbd_ctl_handle(struct lbd *d, const char *line, size_t len, struct jw *w)
{
	bool changes = false;
	char perr[128];
	struct jv *req = jv_parse(line, len, perr, sizeof(perr));
	const struct ctl_cmd *c = NULL;
	struct ctl_op op = { .req = req, .w = w };
	const struct jv *dry;
	const char *name;

	if (!req) {
		ctl_error(w, "malformed request: %s", perr);
		return false;
	}
	name = jv_get_str(req, "cmd");
	for (size_t i = 0; name && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(name, cmds[i].name))
			c = &cmds[i];
	if (!name) {
		ctl_error(w, "malformed request: missing \"cmd\"");
	} else if (!c) {
		ctl_error(w, "unknown command '%s'", name);
	} else if ((dry = jv_get(req, "dry_run")) &&
		   (dry->type != JV_BOOL || (dry->b && !c->mutates))) {
		ctl_error(
			w,
			dry->type != JV_BOOL ?
				"dry_run must be true or false" :
				"'%s' changes nothing: dry_run is for changes",
			name);
	} else {
		op.cmd = c;
		op.arg = c->arg;
		changes = c->mutates;
		if (c->mutates)
			change(d, c, &op, dry && dry->b);
		else
			c->handler(d, &op);
	}
	jv_free(req);
	return changes;
}
