// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * views.c - what lbd shows of its model as JSON: VIPs, backends, their
 * health, the daemon's status and the datapath's counters.  Nothing here
 * changes the model.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "digest.h"

static const char *stat_names[LB_STAT_MAX] = { LB_STAT_NAMES };

static void json_mac(struct jw *w, const char *key, const uint8_t m[6])
{
	char buf[20];

	snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
		 m[2], m[3], m[4], m[5]);
	jw_kstr(w, key, buf);
}

/* The counters of a VIP or backend (id in the stats map) and its rates. */
static void json_traffic(struct jw *w, const struct lb_counter *c, double pps,
			 double bps)
{
	jw_kuint(w, "packets", c->packets);
	jw_kuint(w, "bytes", c->bytes);
	jw_kdouble(w, "pps", pps);
	jw_kdouble(w, "bps", bps);
}

/* Read the counters for an answer; answers the error itself on failure. */
static int ctl_read_counters(struct lbd *d, struct jw *w,
			     struct lbd_counters *cnt)
{
	int err = lbd_read_counters(d, cnt);

	if (err)
		ctl_error(w, "reading the datapath's counters: %s",
			  strerror(-err));
	return err;
}

/* "digest": the installed table's, null before one is installed */
static void json_digest(struct jw *w, const struct lbd_vip *v)
{
	char buf[LB_DIGEST_STRLEN];

	jw_key(w, "digest");
	if (!v->digest_ok) {
		jw_null(w);
		return;
	}
	lb_digest_format(v->digest, buf, sizeof(buf));
	jw_str(w, buf);
}

/* What decides where a VIP's flows go, for comparing balancers (lbctl
 * compare): the table's digest and the backends that make it. */
static void json_table(struct jw *w, const struct lbd_vip *v)
{
	char buf[LB_VIPSTRLEN];

	jw_obj_begin(w);
	jw_kstr(w, "vip", lb_format_vip(&v->spec, buf, sizeof(buf)));
	jw_kstr(w, "hash", v->flags & LB_VIP_F_HASH_SRC ? "src" : "5tuple");
	jw_kuint(w, "table_size", v->table_size);
	json_digest(w, v);
	jw_key(w, "backends");
	jw_arr_begin(w);
	for (size_t i = 0; i < v->nbe; i++) {
		const struct lbd_backend *b = &v->be[i];

		jw_obj_begin(w);
		jw_kstr(w, "backend",
			lb_format_addr(&b->addr, b->family, buf, sizeof(buf)));
		jw_kuint(w, "weight", b->weight);
		jw_kdouble(w, "table_weight",
			   lbd_backend_table_weight(b) / 100.0);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

void ctl_json_backend(struct jw *w, struct lbd_backend *b,
		      const struct lbd_counters *cnt)
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
	if (cnt)
		json_traffic(w, &cnt->bes[b->id], b->rate_pps, b->rate_bps);
	jw_obj_end(w);
}

void ctl_json_vip(struct jw *w, struct lbd_vip *v, bool with_backends,
		  const struct lbd_counters *cnt)
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
	json_digest(w, v);
	if (v->check.kind != LBD_CHECK_NONE) {
		jw_key(w, "check");
		lbd_check_to_json(&v->check, w);
	}
	if (cnt)
		json_traffic(w, &cnt->vips[v->id], v->rate_pps, v->rate_bps);
	if (with_backends) {
		jw_key(w, "backends");
		jw_arr_begin(w);
		for (size_t i = 0; i < v->nbe; i++)
			ctl_json_backend(w, &v->be[i], cnt);
		jw_arr_end(w);
	}
	jw_obj_end(w);
}

int ctl_vip_list(struct lbd *d, struct ctl_op *op)
{
	struct jw *w = op->w;

	ctl_ok_begin(w);
	jw_key(w, "vips");
	jw_arr_begin(w);
	for (size_t i = 0; i < d->nvips; i++)
		ctl_json_vip(w, &d->vips[i], op->arg, NULL);
	jw_arr_end(w);
	jw_obj_end(w);
	return 0;
}

int ctl_vip_show(struct lbd *d, struct ctl_op *op)
{
	struct jw *w = op->w;
	struct lb_vip_spec spec;
	struct lbd_counters cnt;
	struct lbd_vip *v;

	if (ctl_req_vip(op->req, d, w, &spec, &v, true))
		return -EINVAL;
	if (ctl_read_counters(d, w, &cnt))
		return -EIO;
	ctl_ok_begin(w);
	jw_key(w, "vip");
	ctl_json_vip(w, v, true, &cnt);
	jw_obj_end(w);
	lbd_counters_free(&cnt);
	return 0;
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

int ctl_health(struct lbd *d, struct ctl_op *op)
{
	const struct jv *req = op->req;
	struct jw *w = op->w;
	struct lb_vip_spec spec;
	struct lbd_vip *only = NULL;
	char buf[LB_VIPSTRLEN];

	if (jv_get(req, "vip") && ctl_req_vip(req, d, w, &spec, &only, true))
		return -EINVAL;
	ctl_ok_begin(w);
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
	return 0;
}

int ctl_status(struct lbd *d, struct ctl_op *op)
{
	struct jw *w = op->w;
	char buf[LB_ADDRSTRLEN], seed[24];
	size_t nbe = 0;

	for (size_t i = 0; i < d->nvips; i++)
		nbe += d->vips[i].nbe;
	ctl_ok_begin(w);
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
	{
		uint64_t lines = 0, flows = 0;

		lbd_ct4_count(d, &lines, &flows);
		jw_kuint(w, "conntrack_ipv4_lines", lines);
		jw_kuint(w, "conntrack_ipv4_flows", flows);
		jw_kuint(w, "conntrack_idle_s", d->ct_idle_s);
	}
	jw_kuint(w, "vips", d->nvips);
	jw_kuint(w, "backends", nbe);
	jw_kuint(w, "uptime_s", (lbd_now_ms() - d->started_ms) / 1000);
	jw_kint(w, "pid", getpid());
	jw_kstr(w, "node", d->node_drained ? "drained" : "active");
	jw_key(w, "announce");
	if (!d->announce_table) {
		jw_null(w);
	} else {
		jw_obj_begin(w);
		jw_kuint(w, "table", d->announce_table);
		jw_kuint(w, "proto", d->announce_proto);
		jw_kuint(w, "routes", d->ann.count);
		jw_kbool(w, "failing", d->ann.failing);
		jw_obj_end(w);
	}
	jw_key(w, "tables");
	jw_arr_begin(w);
	for (size_t i = 0; i < d->nvips; i++)
		json_table(w, &d->vips[i]);
	jw_arr_end(w);
	jw_obj_end(w);
	return 0;
}

int ctl_stats(struct lbd *d, struct ctl_op *op)
{
	struct lb_counter global[LB_STAT_MAX];
	struct lbd_counters cnt;
	struct jw *w = op->w;

	if (ctl_read_counters(d, w, &cnt))
		return -EIO;
	lb_dp_stats(d->dp.stats, global);
	ctl_ok_begin(w);
	jw_key(w, "global");
	jw_obj_begin(w);
	for (int i = 0; i < LB_STAT_MAX; i++) {
		jw_key(w, stat_names[i]);
		jw_obj_begin(w);
		jw_kuint(w, "packets", global[i].packets);
		jw_kuint(w, "bytes", global[i].bytes);
		jw_obj_end(w);
	}
	jw_obj_end(w);
	jw_key(w, "vips");
	jw_arr_begin(w);
	for (size_t i = 0; i < d->nvips; i++)
		ctl_json_vip(w, &d->vips[i], true, &cnt);
	jw_arr_end(w);
	jw_obj_end(w);
	lbd_counters_free(&cnt);
	return 0;
}
