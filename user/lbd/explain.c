// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * explain.c - where a given flow would go, and why: the VIP it matches,
 * its hash and Maglev slot, the backend the table holds there, and the
 * connection table's entry if the flow has one.  It reads the datapath's
 * maps and changes nothing.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <time.h>
#include <bpf/bpf.h>

#include "ctl.h"
#include "lb_hash.h"

int ctl_explain(struct lbd *d, struct ctl_op *op)
{
	const struct jv *req = op->req;
	struct jw *w = op->w;
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
	bool ct, in_ct4;
	uint32_t gen_mask;

	if (lb_parse_endpoint(src, &sa, &sf, &sp, err, sizeof(err))) {
		ctl_error(w, "source: %s", err);
		return -EINVAL;
	}
	if (lb_parse_endpoint(dst, &da, &df, &dp_, err, sizeof(err))) {
		ctl_error(w, "destination: %s", err);
		return -EINVAL;
	}
	if (lb_parse_proto(proto, &pr, err, sizeof(err))) {
		ctl_error(w, "%s", err);
		return -EINVAL;
	}
	if (sf != df) {
		ctl_error(w, "source and destination are of different address "
			     "families");
		return -EINVAL;
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
	ctl_ok_begin(w);
	jw_kstr(w, "flow_src", src);
	jw_kstr(w, "flow_dst", dst);
	jw_kstr(w, "proto", lb_proto_name(pr));
	if (!v) {
		jw_kbool(w, "vip_match", false);
		jw_kstr(w, "verdict", "not a VIP: passed to the host's stack");
		jw_obj_end(w);
		return 0;
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
				ctl_json_backend(w, &v->be[i], NULL);
			}
	}
	/* lb_ct4 keeps the low bits of the generation and no age */
	in_ct4 = !lb_dp_ct4_lookup(&d->dp, &f, &conn);
	gen_mask = in_ct4 ? LB_CT4_GEN_MASK : UINT32_MAX;
	ct = in_ct4 || !lb_dp_ct_lookup(&d->dp, &f, &conn);
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
		if (in_ct4) {
			jw_kstr(w, "table", "lb_ct4");
			jw_kuint(w, "idle_timeout_s", d->ct_idle_s);
		} else {
			jw_kstr(w, "table",
				f.family == LB_FAMILY_V4 ? "lb_conntrack4" :
							   "lb_conntrack");
			jw_kdouble(w, "age_s",
				   now > conn.created_ns ?
					   (double)(now - conn.created_ns) /
						   1e9 :
					   0);
		}
		for (size_t i = 0; i < v->nbe; i++) {
			struct lbd_backend *b = &v->be[i];

			if (b->id != conn.backend_id)
				continue;
			found = (b->gen & gen_mask) == conn.backend_gen &&
				lbd_backend_usable(b);
			/* down by its health check: the datapath keeps the
			 * flow there if the VIP says so */
			kept = (b->gen & gen_mask) == conn.backend_gen &&
			       !found && lbd_backend_keeps_flows(b) &&
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
			return 0;
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
	return 0;
}
