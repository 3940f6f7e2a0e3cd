// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * plan.c - what a change would do to traffic, answered instead of making
 * it (a dry run): per VIP what is added, removed, drained or re-weighted,
 * the Maglev slots that change owner (the installed table read back from
 * the datapath, the new one built in memory, compared slot by slot), the
 * share of new flows that would go to another backend, and the flows of
 * the connection table that keep their backend or are re-hashed because
 * it leaves.  Also the matching of the model before a change against the
 * model after it, which apply.c's done step shares.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "conf.h"
#include "ctl.h"
#include "maglev.h"

static bool same_spec(const struct lb_vip_spec *a, const struct lb_vip_spec *b)
{
	return a->family == b->family && a->proto == b->proto &&
	       a->port == b->port &&
	       !memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

struct lbd_vip *ctl_match_vip(struct lbd_vip *vips, size_t n,
			      const struct lb_vip_spec *s, size_t hint)
{
	if (hint < n && same_spec(&vips[hint].spec, s))
		return &vips[hint];
	for (size_t i = 0; i < n; i++)
		if (same_spec(&vips[i].spec, s))
			return &vips[i];
	return NULL;
}

struct lbd_backend *ctl_match_backend(const struct lbd_vip *v,
				      const struct lbd_backend *b, size_t hint)
{
	if (hint < v->nbe && v->be[hint].family == b->family &&
	    !memcmp(&v->be[hint].addr, &b->addr, sizeof(b->addr)))
		return &v->be[hint];
	return lbd_find_backend((struct lbd_vip *)v, &b->addr, b->family);
}

bool ctl_vip_changed(const struct lbd_vip *old, const struct lbd_vip *now)
{
	if (old->flags != now->flags || old->table_size != now->table_size ||
	    !lbd_check_same(&old->check, &now->check) || old->nbe != now->nbe)
		return true;
	for (size_t i = 0; i < now->nbe; i++) {
		const struct lbd_backend *b = &now->be[i];
		const struct lbd_backend *o = ctl_match_backend(old, b, i);

		if (!o || o->weight != b->weight || o->admin != b->admin ||
		    o->check_set != b->check_set ||
		    (b->check_set && !lbd_check_same(&o->check, &b->check)))
			return true;
	}
	return false;
}

/* ---------------------------------------------------------------- tables */

/* The weight a backend of the new model has in its table once the change
 * is made: a new backend counts as up (once its next hop resolves and its
 * first check passes it is), the others as they are. */
static uint32_t plan_weight(const struct lbd_backend *b, bool is_new)
{
	if (is_new)
		return b->admin == LBD_ADMIN_ACTIVE ? b->weight * 100 : 0;
	return lbd_backend_table_weight(b);
}

/* The first hash value of slot i of a table of n slots: the datapath
 * takes slot (hash * n) >> 32 (lb_hash_slot). */
static uint64_t slot_start(uint64_t i, uint32_t n)
{
	return ((i << 32) + n - 1) / n;
}

/* The share of the 2^32 flow hashes whose owner differs between table a
 * (na slots) and b (nb slots), each slot's owner a backend key. */
static double moved_share(const uint64_t *a, uint32_t na, const uint64_t *b,
			  uint32_t nb)
{
	uint64_t pos = 0, moved = 0, i = 0, j = 0;

	while (pos < (1ULL << 32)) {
		uint64_t ea = slot_start(i + 1, na), eb = slot_start(j + 1, nb);
		uint64_t end = ea < eb ? ea : eb;

		if (a[i] != b[j])
			moved += end - pos;
		pos = end;
		i += end == ea;
		j += end == eb;
	}
	return (double)moved / (double)(1ULL << 32);
}

/* ---------------------------------------------------------------- flows */

/* Per backend id of the model before: its VIP there, and whether it stays
 * in the model after the change. */
struct ct_index {
	int32_t *vip; /* index in before, -1: no backend */
	uint32_t *gen;
	uint8_t *stays;
	uint64_t *keep, *rehash; /* per VIP of before */
	uint64_t stale;
};

static void ct_count_gen(struct ct_index *x, const struct lb_conn *c,
			 uint32_t gen_mask)
{
	uint32_t id = c->backend_id;
	int32_t vi;

	if (id >= LB_MAX_BACKENDS || (vi = x->vip[id]) < 0 ||
	    (x->gen[id] & gen_mask) != c->backend_gen) {
		x->stale++;
		return;
	}
	if (x->stays[id])
		x->keep[vi]++;
	else
		x->rehash[vi]++;
}

static void ct_count(struct ct_index *x, const struct lb_conn *c)
{
	ct_count_gen(x, c, UINT32_MAX);
}

/* An entry of lb_ct4, which keeps the low bits of the generation. */
static void ct4_count(const struct lb_conn *c, void *arg)
{
	ct_count_gen(arg, c, LB_CT4_GEN_MASK);
}

/* Every entry of a connection table (keys of ksize bytes) counted. */
static int ct_scan(int fd, size_t ksize, struct ct_index *x)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	uint32_t chunk = 8192, count;
	uint8_t in[64], out[64]; /* the kernel's position token */
	char *keys = malloc(chunk * ksize);
	struct lb_conn *vals = malloc(chunk * sizeof(*vals));
	bool first = true, done = false;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (!done) {
		count = chunk;
		if (bpf_map_lookup_batch(fd, first ? NULL : in, out, keys, vals,
					 &count, &bopts)) {
			if (errno != ENOENT) {
				err = -errno;
				break;
			}
			done = true;
		}
		for (uint32_t i = 0; i < count; i++)
			ct_count(x, &vals[i]);
		memcpy(in, out, sizeof(in));
		first = false;
	}
out:
	free(keys);
	free(vals);
	return err;
}

/* ---------------------------------------------------------------- plan */

static void backend_list(struct jw *w, const char *key,
			 const struct lbd_backend *const *bs, size_t n)
{
	char name[LB_ADDRSTRLEN];

	if (!n)
		return;
	jw_key(w, key);
	jw_arr_begin(w);
	for (size_t i = 0; i < n; i++)
		jw_str(w, lb_format_addr(&bs[i]->addr, bs[i]->family, name,
					 sizeof(name)));
	jw_arr_end(w);
}

static void setting(struct jw *w, bool *open, const char *what,
		    const char *from, const char *to)
{
	char buf[160];

	if (!strcmp(from, to))
		return;
	if (!*open) {
		jw_key(w, "settings");
		jw_arr_begin(w);
		*open = true;
	}
	snprintf(buf, sizeof(buf), "%s %s -> %s", what, from, to);
	jw_str(w, buf);
}

static void settings(struct jw *w, const struct lbd_vip *o,
		     const struct lbd_vip *n)
{
	char a[24], b[24];
	bool open = false;

	setting(w, &open, "mode", o->flags & LB_VIP_F_ENCAP ? "ipip" : "dsr",
		n->flags & LB_VIP_F_ENCAP ? "ipip" : "dsr");
	setting(w, &open, "hash",
		o->flags & LB_VIP_F_HASH_SRC ? "src" : "5tuple",
		n->flags & LB_VIP_F_HASH_SRC ? "src" : "5tuple");
	setting(w, &open, "on-down", lbd_on_down_name(o->flags),
		lbd_on_down_name(n->flags));
	snprintf(a, sizeof(a), "%u", o->table_size);
	snprintf(b, sizeof(b), "%u", n->table_size);
	setting(w, &open, "table-size", a, b);
	if (!lbd_check_same(&o->check, &n->check))
		setting(w, &open, "check", "old", "new");
	if (open)
		jw_arr_end(w);
}

/*
 * The backends of n that are not in o ("added": address, weight, drain),
 * or those in both with another weight ("reweighted": address, from, to).
 * Returns how many.
 */
static uint64_t weights(struct jw *w, const struct lbd_vip *o,
			const struct lbd_vip *n, bool added)
{
	char name[LB_ADDRSTRLEN];
	uint64_t count = 0;

	for (size_t i = 0; i < n->nbe; i++) {
		const struct lbd_backend *b = &n->be[i];
		const struct lbd_backend *ob = o ? ctl_match_backend(o, b, i) :
						   NULL;

		if (added ? ob != NULL : !ob || ob->weight == b->weight)
			continue;
		if (!count++) {
			jw_key(w, added ? "added" : "reweighted");
			jw_arr_begin(w);
		}
		jw_obj_begin(w);
		jw_kstr(w, "backend",
			lb_format_addr(&b->addr, b->family, name,
				       sizeof(name)));
		if (added) {
			jw_kuint(w, "weight", b->weight);
			jw_kbool(w, "drain", b->admin == LBD_ADMIN_DRAINING);
		} else {
			jw_kuint(w, "from", ob->weight);
			jw_kuint(w, "to", b->weight);
		}
		jw_obj_end(w);
	}
	if (count)
		jw_arr_end(w);
	return count;
}

/* Totals over the plan. */
struct plan_sum {
	uint64_t vips_added, vips_removed, vips_changed;
	uint64_t added, removed, slots, keep, rehash;
};

/* Scratch space of one VIP's comparison. */
struct plan_buf {
	uint32_t *ids;
	uint64_t *old_keys, *new_keys;
	struct maglev_backend *mb;
	const struct lbd_backend **list;
	uint64_t *key_of_id; /* LB_MAX_BACKENDS */
};

/* The owners of table ids (size slots) as backend keys, via v's ids. */
static void keys_of(struct plan_buf *pb, const struct lbd_vip *v,
		    const uint32_t *ids, uint32_t size, uint64_t *keys)
{
	for (size_t i = 0; v && i < v->nbe; i++)
		pb->key_of_id[v->be[i].id] =
			maglev_key(&v->be[i].addr, sizeof(v->be[i].addr));
	for (uint32_t s = 0; s < size; s++)
		keys[s] = ids[s] ? pb->key_of_id[ids[s]] : 0;
	for (size_t i = 0; v && i < v->nbe; i++)
		pb->key_of_id[v->be[i].id] = 0;
}

/* One VIP of the plan: o before (NULL: added), n after (NULL: removed). */
static int plan_vip(struct lbd *d, struct jw *w, const struct lbd_vip *o,
		    const struct lbd_vip *n, uint64_t keep, uint64_t rehash,
		    struct plan_buf *pb, struct plan_sum *sum)
{
	const struct lbd_vip *v = n ? n : o;
	uint32_t osize = o ? o->table_size : n->table_size;
	uint32_t nsize = n ? n->table_size : osize;
	size_t nl = 0, nmax = (o ? o->nbe : 0) + (n ? n->nbe : 0);
	char name[LB_VIPSTRLEN];
	uint64_t slots = 0;
	double share;
	int err;

	pb->ids = calloc(osize > nsize ? osize : nsize, sizeof(*pb->ids));
	pb->old_keys = calloc(osize, sizeof(uint64_t));
	pb->new_keys = calloc(nsize, sizeof(uint64_t));
	pb->mb = calloc(n && n->nbe ? n->nbe : 1, sizeof(*pb->mb));
	pb->list = calloc(nmax ? nmax : 1, sizeof(*pb->list));
	if (!pb->ids || !pb->old_keys || !pb->new_keys || !pb->mb || !pb->list)
		return -ENOMEM;

	/* the table installed now, and the one the change would build */
	if (o) {
		/* no table: every slot empty */
		err = lb_dp_table_read(&d->dp, o->id, osize, pb->ids);
		if (err && err != -ENOENT)
			return err;
		keys_of(pb, o, pb->ids, osize, pb->old_keys);
	}
	if (n) {
		for (size_t i = 0; i < n->nbe; i++) {
			const struct lbd_backend *b = &n->be[i];
			bool is_new = !o || !ctl_match_backend(o, b, i);

			pb->mb[i].id = b->id;
			pb->mb[i].weight = plan_weight(b, is_new);
			pb->mb[i].key = maglev_key(&b->addr, sizeof(b->addr));
		}
		err = maglev_build(pb->mb, n->nbe, pb->ids, nsize);
		if (err)
			return err;
		keys_of(pb, n, pb->ids, nsize, pb->new_keys);
	}
	if (osize == nsize)
		for (uint32_t s = 0; s < osize; s++)
			slots += pb->old_keys[s] != pb->new_keys[s];
	share = moved_share(pb->old_keys, osize, pb->new_keys, nsize);

	jw_obj_begin(w);
	jw_kstr(w, "vip", lb_format_vip(&v->spec, name, sizeof(name)));
	jw_kstr(w, "change", !o ? "add" : !n ? "remove" : "change");
	if (o && n)
		settings(w, o, n);
	/* added (with weights), removed, drained, undrained, re-weighted */
	if (n)
		sum->added += weights(w, o, n, true);
	for (size_t i = 0; o && i < o->nbe; i++)
		if (!n || !ctl_match_backend(n, &o->be[i], i))
			pb->list[nl++] = &o->be[i];
	backend_list(w, "removed", pb->list, nl);
	sum->removed += nl;
	for (int pass = 0; o && n && pass < 3; pass++) {
		static const char *const keys[] = { "drained", "undrained",
						    "check_changed" };

		nl = 0;
		for (size_t i = 0; i < n->nbe; i++) {
			const struct lbd_backend *b = &n->be[i];
			const struct lbd_backend *ob =
				ctl_match_backend(o, b, i);

			if (!ob)
				continue;
			if ((pass == 0 && ob->admin == LBD_ADMIN_ACTIVE &&
			     b->admin == LBD_ADMIN_DRAINING) ||
			    (pass == 1 && ob->admin == LBD_ADMIN_DRAINING &&
			     b->admin == LBD_ADMIN_ACTIVE) ||
			    (pass == 2 && !lbd_check_same(lbd_check_of(o, ob),
							  lbd_check_of(n, b))))
				pb->list[nl++] = b;
		}
		backend_list(w, keys[pass], pb->list, nl);
	}
	if (o && n)
		weights(w, o, n, false);
	jw_kuint(w, "table_size", nsize);
	if (osize == nsize)
		jw_kuint(w, "slots_changed", slots);
	jw_kdouble(w, "moved_share", share);
	jw_key(w, "flows");
	jw_obj_begin(w);
	jw_kuint(w, "established", keep + rehash);
	jw_kuint(w, "keep", keep);
	jw_kuint(w, "rehash", rehash);
	jw_obj_end(w);
	jw_obj_end(w);
	sum->slots += slots;
	sum->keep += keep;
	sum->rehash += rehash;
	return 0;
}

static void plan_buf_free(struct plan_buf *pb)
{
	free(pb->ids);
	free(pb->old_keys);
	free(pb->new_keys);
	free(pb->mb);
	free(pb->list);
	pb->ids = NULL;
	pb->old_keys = pb->new_keys = NULL;
	pb->mb = NULL;
	pb->list = NULL;
}

/* The connection tables counted per VIP of before: keep[i], rehash[i]. */
static int count_flows(struct lbd *d, const struct ctl_model *before,
		       struct ct_index *x)
{
	int err;

	x->vip = malloc(LB_MAX_BACKENDS * sizeof(*x->vip));
	x->gen = calloc(LB_MAX_BACKENDS, sizeof(*x->gen));
	x->stays = calloc(LB_MAX_BACKENDS, 1);
	x->keep = calloc(before->nvips + 1, sizeof(*x->keep));
	x->rehash = calloc(before->nvips + 1, sizeof(*x->rehash));
	if (!x->vip || !x->gen || !x->stays || !x->keep || !x->rehash)
		return -ENOMEM;
	memset(x->vip, 0xff, LB_MAX_BACKENDS * sizeof(*x->vip));
	for (size_t i = 0; i < before->nvips; i++) {
		const struct lbd_vip *o = &before->vips[i];
		const struct lbd_vip *n =
			ctl_match_vip(d->vips, d->nvips, &o->spec, i);

		for (size_t j = 0; j < o->nbe; j++) {
			uint32_t id = o->be[j].id;

			x->vip[id] = (int32_t)i;
			x->gen[id] = o->be[j].gen;
			x->stays[id] = n && ctl_match_backend(n, &o->be[j], j);
		}
	}
	err = lb_dp_ct4_each(&d->dp, ct4_count, x);
	if (!err)
		err = ct_scan(d->dp.conntrack4, sizeof(struct lb_flow4), x);
	if (!err)
		err = ct_scan(d->dp.conntrack, sizeof(struct lb_flow), x);
	return err;
}

void ctl_plan(struct lbd *d, const struct ctl_model *before, struct jw *w)
{
	struct ct_index x = {};
	struct plan_buf pb = {};
	struct plan_sum sum = {};
	struct jw body;
	int err;

	err = count_flows(d, before, &x);
	pb.key_of_id = calloc(LB_MAX_BACKENDS, sizeof(*pb.key_of_id));
	if (!err && !pb.key_of_id)
		err = -ENOMEM;
	if (err) {
		ctl_error(w, "dry run: cannot read the connection table: %s",
			  strerror(-err));
		goto out;
	}
	/* the answer is written aside: an error on the way replaces it */
	jw_init(&body, false);
	ctl_ok_begin(&body);
	jw_kbool(&body, "dry_run", true);
	jw_key(&body, "vips");
	jw_arr_begin(&body);
	for (size_t i = 0; i < before->nvips && !err; i++) {
		const struct lbd_vip *o = &before->vips[i];
		const struct lbd_vip *n =
			ctl_match_vip(d->vips, d->nvips, &o->spec, i);

		if (n && !ctl_vip_changed(o, n))
			continue;
		sum.vips_removed += !n;
		sum.vips_changed += !!n;
		err = plan_vip(d, &body, o, n, x.keep[i], x.rehash[i], &pb,
			       &sum);
		plan_buf_free(&pb);
	}
	for (size_t i = 0; i < d->nvips && !err; i++) {
		if (ctl_match_vip(before->vips, before->nvips, &d->vips[i].spec,
				  i))
			continue;
		sum.vips_added++;
		err = plan_vip(d, &body, NULL, &d->vips[i], 0, 0, &pb, &sum);
		plan_buf_free(&pb);
	}
	jw_arr_end(&body);
	jw_key(&body, "summary");
	jw_obj_begin(&body);
	jw_kuint(&body, "vips_added", sum.vips_added);
	jw_kuint(&body, "vips_removed", sum.vips_removed);
	jw_kuint(&body, "vips_changed", sum.vips_changed);
	jw_kuint(&body, "backends_added", sum.added);
	jw_kuint(&body, "backends_removed", sum.removed);
	jw_kuint(&body, "slots_changed", sum.slots);
	jw_kuint(&body, "flows_keep", sum.keep);
	jw_kuint(&body, "flows_rehash", sum.rehash);
	jw_obj_end(&body);
	jw_obj_end(&body);
	if (err || body.oom) {
		ctl_error(w, "dry run: cannot compute the plan: %s",
			  strerror(err ? -err : ENOMEM));
		jw_free(&body);
		goto out;
	}
	jw_free(w);
	*w = body;
out:
	free(x.vip);
	free(x.gen);
	free(x.stays);
	free(x.keep);
	free(x.rehash);
	free(pb.key_of_id);
}
