// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * model.c - keeping the model and the datapath in line as time passes:
 * next hops re-read (lbd_refresh), usability transitions logged and
 * time-stamped, slow start ramps moved, health saved at most once a
 * second, and the packet rates sampled.  It calls down into neigh.c,
 * datapath.c and state.c; nothing here calls back up into the event loop,
 * the control socket or the health checks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbd.h"
#include "log.h"

void lbd_note_transitions(struct lbd *d, struct lbd_vip *v)
{
	char vname[LB_VIPSTRLEN], bname[LB_ADDRSTRLEN];

	for (size_t i = 0; i < v->nbe; i++) {
		struct lbd_backend *b = &v->be[i];
		bool now = lbd_backend_usable(b);

		if (now == b->was_usable)
			continue;
		b->was_usable = now;
		b->last_change_ms = lbd_now_ms();
		lb_format_vip(&v->spec, vname, sizeof(vname));
		lb_format_addr(&b->addr, b->family, bname, sizeof(bname));
		if (now)
			pr_info("VIP %s: backend %s up", vname, bname);
		else
			pr_warn("VIP %s: backend %s down: %s", vname, bname,
				!b->mac_ok ? b->neigh_err : b->health_err);
	}
}

bool lbd_neigh_work(struct lbd *d, size_t budget)
{
	/* each slice goes on where the last one stopped */
	for (; d->neigh_vip < d->nvips; d->neigh_vip++, d->neigh_be = 0) {
		struct lbd_vip *v = &d->vips[d->neigh_vip];

		for (; d->neigh_be < v->nbe; d->neigh_be++) {
			struct lbd_backend *b = &v->be[d->neigh_be];

			if (!b->neigh_due)
				continue;
			if (!budget)
				return true;
			budget--;
			v->resync |= lbd_neigh_resolve(d, b);
			b->neigh_due = false;
		}
		/* the table is only rebuilt when its input changed */
		if (v->resync) {
			lbd_note_transitions(d, v);
			v->dirty = lbd_dp_sync_vip(d, v, false) != 0;
		}
		v->resync = false;
	}
	d->neigh_vip = d->neigh_be = 0;
	return false;
}

void lbd_refresh(struct lbd *d, enum lbd_refresh_mode mode)
{
	static unsigned int tick;
	uint64_t now = lbd_now_ms();
	bool retry_addrs = false;

	if (mode == LBD_REFRESH_TICK)
		tick++;
	for (size_t i = 0; i < d->nvips; i++) {
		struct lbd_vip *v = &d->vips[i];

		/* a sync that failed is tried again here, once per refresh */
		if (v->dirty)
			v->resync = retry_addrs = true;
		/* what changed since (a drain, a weight) is logged and
		 * time-stamped within a second */
		lbd_note_transitions(d, v);
		for (size_t j = 0; j < v->nbe; j++) {
			struct lbd_backend *b = &v->be[j];
			/* neighbour events report MAC changes as they happen;
			 * the poll catches route changes, each backend every
			 * 5 s, every second while it is in trouble */
			bool trouble = b->unresolved_since_ms &&
				       (b->mac_ok ||
					now - b->unresolved_since_ms < 10000);

			if (mode == LBD_REFRESH_START ||
			    mode == LBD_REFRESH_ALL ||
			    (mode == LBD_REFRESH_TICK &&
			     (trouble || !b->last_change_ms ||
			      (b->id + tick) % 5 == 0)))
				b->neigh_due = true;
		}
		/* slow start: the weights move every second until done */
		for (size_t j = 0; j < v->nbe; j++) {
			struct lbd_health *h = &v->be[j].hc;

			if (!h->ramp_ms)
				continue;
			v->resync = true;
			if (lbd_now_ms() >= h->ramp_start_ms + h->ramp_ms)
				h->ramp_ms = 0;
		}
	}
	d->neigh_vip = d->neigh_be = 0; /* backends anywhere may be due */
	d->neigh_pending = lbd_neigh_work(
		d, mode == LBD_REFRESH_START ? SIZE_MAX : LBD_NEIGH_SLICE);
	if (retry_addrs && lbd_dp_sync_vip_addrs(d))
		pr_warn("VIP addresses: datapath update failed; retrying");
	/* health transitions are saved here, at most once a second */
	if (d->save_pending) {
		char err[256];

		d->save_pending = false;
		if (lbd_state_save(d, err, sizeof(err))) {
			pr_warn("%s", err);
			d->save_pending = true;
		}
	}
}

int lbd_read_counters(struct lbd *d, struct lbd_counters *c)
{
	struct lb_counter **vips = &c->vips, **bes = &c->bes;
	uint32_t nv = 1, nb = 1;
	int err;

	for (size_t i = 0; i < d->nvips; i++) {
		const struct lbd_vip *v = &d->vips[i];

		if (v->id >= nv)
			nv = v->id + 1;
		for (size_t j = 0; j < v->nbe; j++)
			if (v->be[j].id >= nb)
				nb = v->be[j].id + 1;
	}
	*vips = calloc(nv, sizeof(**vips));
	*bes = calloc(nb, sizeof(**bes));
	if (!*vips || !*bes) {
		err = -ENOMEM;
		goto fail;
	}
	err = lb_dp_counters(d->dp.vip_stats, nv, *vips);
	if (!err)
		err = lb_dp_counters(d->dp.backend_stats, nb, *bes);
	if (!err)
		return 0;
fail:
	free(*vips);
	free(*bes);
	*vips = *bes = NULL;
	return err;
}

void lbd_counters_free(struct lbd_counters *c)
{
	free(c->vips);
	free(c->bes);
	c->vips = c->bes = NULL;
}

static void rate_of(const struct lb_counter *c, struct lb_counter *last,
		    double dt, double *pps, double *bps)
{
	if (dt > 0 && c->packets >= last->packets) {
		*pps = (double)(c->packets - last->packets) / dt;
		*bps = (double)(c->bytes - last->bytes) * 8 / dt;
	}
	*last = *c;
}

void lbd_sample_rates(struct lbd *d)
{
	static uint64_t last_ms;
	uint64_t now = lbd_now_ms();
	struct lbd_counters cnt;
	double dt = last_ms ? (double)(now - last_ms) / 1000.0 : 0;

	if (lbd_read_counters(d, &cnt))
		return; /* the next tick measures over two seconds */
	last_ms = now;
	for (size_t i = 0; i < d->nvips; i++) {
		struct lbd_vip *v = &d->vips[i];

		rate_of(&cnt.vips[v->id], &v->last, dt, &v->rate_pps,
			&v->rate_bps);
		for (size_t j = 0; j < v->nbe; j++) {
			struct lbd_backend *b = &v->be[j];

			rate_of(&cnt.bes[b->id], &b->last, dt, &b->rate_pps,
				&b->rate_bps);
		}
	}
	lbd_counters_free(&cnt);
}

void lbd_announce_update(struct lbd *d, bool withdraw)
{
	struct lbd_route *want;
	size_t n = 0;

	if (!d->announce_table)
		return;
	want = calloc(d->nvips ? d->nvips : 1, sizeof(*want));
	if (!want) {
		pr_warn("announce: out of memory");
		return;
	}
	for (size_t i = 0; !withdraw && !d->node_drained && i < d->nvips; i++) {
		const struct lbd_vip *v = &d->vips[i];
		bool serves = false, dup = false;

		for (size_t j = 0; j < v->nbe && !serves; j++)
			serves = lbd_backend_table_weight(&v->be[j]) > 0;
		/* VIPs of one address (several ports) share its route */
		for (size_t j = 0; j < n && !dup; j++)
			dup = want[j].family == v->spec.family &&
			      !memcmp(&want[j].addr, &v->spec.addr,
				      sizeof(want[j].addr));
		if (!serves || dup)
			continue;
		want[n].family = v->spec.family;
		want[n].addr = v->spec.addr;
		n++;
	}
	lbd_announce_sync(&d->ann, want, n);
	free(want);
}
