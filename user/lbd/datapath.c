// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * datapath.c - writing lbd's model into the datapath's maps: the
 * configuration, VIPs, backends, their Maglev tables and the VIP
 * addresses.  Building the tables is tables.c's, loading and pinning
 * pins.c's, attaching attach.c's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/if_link.h>
#include <mntent.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "lbd.h"
#include "tables.h"
#include "lb.skel.h"
#include "log.h"
#include "digest.h"
#include "maglev.h"

int lbd_dp_write_config(struct lbd *d)
{
	struct lb_config cfg = {};
	__u32 zero = 0;

	cfg.hash_seed = d->seed;
	memcpy(cfg.src_mac, d->src_mac, 6);
	cfg.encap_src_v4 = d->encap_src4.v4;
	memcpy(cfg.encap_src_v6, d->encap_src6.v6, 16);
	cfg.max_pkt_size = d->mtu;
	if (bpf_map_update_elem(d->dp.config, &zero, &cfg, BPF_ANY)) {
		pr_warn("cannot write the datapath configuration: %s",
			strerror(errno));
		return -errno;
	}
	return 0;
}

/* The datapath's entry of backend b of VIP v. */
static void backend_entry(const struct lbd_vip *v, const struct lbd_backend *b,
			  struct lb_backend *e)
{
	memset(e, 0, sizeof(*e));
	e->addr = b->addr;
	e->family = b->family;
	memcpy(e->mac, b->mac, 6);
	if (lbd_backend_usable(b))
		e->flags = LB_BE_F_USABLE;
	else if (lbd_backend_keeps_flows(b))
		e->flags = LB_BE_F_HEALTH_DOWN;
	e->gen = b->gen;
	e->vip_id = v->id;
}

bool lbd_dp_verify_tables(struct lbd *d, size_t budget)
{
	static size_t same, rebuilt;
	struct lbd_vip **redo = calloc(budget ? budget : 1, sizeof(*redo));
	size_t nredo = 0, i;

	for (i = 0; i < d->nvips && budget; i++) {
		struct lbd_vip *v = &d->vips[i];
		uint64_t want = 0, have = 1;

		if (!v->table_unverified)
			continue;
		budget--;
		v->table_unverified = false;
		if (!table_digests(d, v, &want, &have) && want == have) {
			v->digest = want;
			v->digest_ok = true;
			same++;
		} else if (redo) {
			redo[nredo++] = v;
		}
	}
	if (nredo) {
		lbd_dp_sync_vips(d, redo, nredo, true, false);
		rebuilt += nredo;
	}
	free(redo);
	for (; i < d->nvips; i++)
		if (d->vips[i].table_unverified)
			return true;
	if (same + rebuilt)
		pr_info("pinned Maglev tables verified: %zu as the state gives "
			"them, %zu rebuilt",
			same, rebuilt);
	same = rebuilt = 0;
	return false;
}

/* Note e as backend id's entry in lb_backends (known false: unknown,
 * written again next time). */
static void note_written(struct lbd *d, uint32_t id, const struct lb_backend *e,
			 bool known)
{
	if (!d->dp_be) {
		d->dp_be = calloc(LB_MAX_BACKENDS, sizeof(*d->dp_be));
		d->dp_be_known = calloc(LB_MAX_BACKENDS, 1);
		if (!d->dp_be || !d->dp_be_known) {
			free(d->dp_be);
			free(d->dp_be_known);
			d->dp_be = NULL;
			d->dp_be_known = NULL;
			return;
		}
	}
	d->dp_be_known[id] = known;
	if (known)
		d->dp_be[id] = *e;
}

/* Whether lb_backends holds e for backend id, as this lbd wrote it. */
static bool written(const struct lbd *d, uint32_t id,
		    const struct lb_backend *e)
{
	return d->dp_be && d->dp_be_known[id] &&
	       !memcmp(&d->dp_be[id], e, sizeof(*e));
}

/* Write v's backends: the usable ones (usable true) or the others; only
 * the entries that differ from what this lbd wrote last (a weight changed
 * on a VIP of thousands of backends writes none). */
static int write_backends(struct lbd *d, struct lbd_vip *v, bool usable)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	uint32_t *keys = malloc((v->nbe ? v->nbe : 1) * sizeof(*keys));
	struct lb_backend *vals = malloc((v->nbe ? v->nbe : 1) * sizeof(*vals));
	uint32_t n = 0, count;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < v->nbe; i++) {
		if (lbd_backend_usable(&v->be[i]) != usable)
			continue;
		keys[n] = v->be[i].id;
		backend_entry(v, &v->be[i], &vals[n]);
		if (!written(d, keys[n], &vals[n]))
			n++;
	}
	/* thousands of backends: one call, not one each */
	count = 0;
	if (n > 1) {
		/* on failure count says how many were written */
		count = n;
		if (bpf_map_update_batch(d->dp.backends, keys, vals, &count,
					 &bopts) &&
		    count > n)
			count = 0;
	}
	for (uint32_t i = 0; i < count; i++)
		note_written(d, keys[i], &vals[i], true);
	for (uint32_t i = count; i < n && !err; i++) {
		if (bpf_map_update_elem(d->dp.backends, &keys[i], &vals[i],
					BPF_ANY))
			err = -errno;
		note_written(d, keys[i], &vals[i], !err);
	}
out:
	free(keys);
	free(vals);
	return err;
}

static void log_table(struct lbd *d, const struct lbd_vip *v, int err)
{
	char name[LB_VIPSTRLEN];
	size_t live = 0;

	for (size_t i = 0; i < v->nbe; i++)
		live += lbd_backend_table_weight(&v->be[i]) > 0;
	lb_format_vip(&v->spec, name, sizeof(name));
	if (err)
		pr_warn("VIP %s: cannot install its Maglev table: %s", name,
			strerror(-err));
	else if (!d->tables_quiet) /* starting: lbd_dp_tables_summary */
		pr_info("VIP %s: Maglev table rebuilt (%zu of %zu backends "
			"take new flows)",
			name, live, v->nbe);
}

int lbd_dp_sync_vips(struct lbd *d, struct lbd_vip **vs, size_t n,
		     bool force_table, bool adopt)
{
	/* per VIP: 0 fine, else its error; the tables to swap in */
	int *err = calloc(n ? n : 1, sizeof(*err));
	struct table_job *jobs = calloc(n ? n : 1, sizeof(*jobs));
	int *fds = calloc(n ? n : 1, sizeof(*fds));
	uint32_t *ids = calloc(n ? n : 1, sizeof(*ids));
	size_t nj = 0, nt = 0, adopted = 0;
	bool quiet = d->tables_quiet, vips_changed = false;
	int first = 0, ierr;

	if (!err || !jobs || !fds || !ids) {
		first = -ENOMEM;
		goto out;
	}
	/* usable backends first, so that a new table never names a backend
	 * the datapath would refuse; the others after the tables */
	for (size_t i = 0; i < n; i++) {
		struct lbd_vip *v = vs[i];
		uint64_t sig, digest = 0;
		int fd;

		err[i] = write_backends(d, v, true);
		if (err[i])
			continue;
		sig = table_signature(v);
		if (!force_table && sig == v->table_sig)
			continue;
		if (adopt && has_table(d, v)) {
			/* forwarding goes on with it; compared later */
			v->table_sig = sig;
			v->table_unverified = true;
			v->digest_ok = false; /* known once compared */
			adopted++;
			continue;
		}
		v->table_unverified = false;
		if (n > 1 || force_table) {
			/* many: new tables, built below, swapped in at once */
			jobs[nj++] = (struct table_job){ .v = v,
							 .who = i,
							 .sig = sig };
			continue;
		}
		/* one VIP: its table changed in place, no grace period to
		 * wait for */
		err[i] = build_table(d, v, &fd, &digest);
		if (!err[i] && fd >= 0) {
			jobs[nj++] = (struct table_job){ .v = v,
							 .who = i,
							 .sig = sig,
							 .digest = digest,
							 .fd = fd };
			continue;
		}
		if (err[i]) {
			v->rebuild_failures++;
		} else {
			v->rebuilds++;
			v->table_sig = sig;
			v->digest = digest;
			v->digest_ok = true;
		}
		log_table(d, v, err[i]);
	}
	if (n > 1 || force_table)
		build_tables(jobs, nj);
	for (size_t k = 0; k < nj; k++) {
		if (jobs[k].fd < 0) {
			err[jobs[k].who] = jobs[k].fd;
			vs[jobs[k].who]->rebuild_failures++;
			log_table(d, vs[jobs[k].who], jobs[k].fd);
			continue;
		}
		fds[nt] = jobs[k].fd;
		ids[nt] = jobs[k].v->id;
		jobs[nt++] = jobs[k];
	}
	/* one swap of every new table: one RCU grace period */
	ierr = lb_dp_install_tables(&d->dp, ids, fds, (uint32_t)nt);
	if (n > 1)
		d->tables_quiet = true;
	for (size_t t = 0; t < nt; t++) {
		struct lbd_vip *v = vs[jobs[t].who];

		close(fds[t]); /* the outer map holds its own reference */
		err[jobs[t].who] = ierr;
		if (ierr) {
			v->rebuild_failures++;
		} else {
			v->rebuilds++;
			v->table_sig = jobs[t].sig;
			v->digest = jobs[t].digest;
			v->digest_ok = true;
		}
		log_table(d, v, ierr);
	}
	d->tables_quiet = quiet;
	if (n > 1 && nt + adopted && !quiet)
		pr_info("Maglev tables: %zu of %zu VIPs rebuilt in one swap%s",
			nt, n, ierr ? " (failed)" : "");
	if (adopt && adopted)
		pr_info("adopted %zu pinned Maglev tables (forwarding goes on "
			"with them; each is compared with the state's next)",
			adopted);
	for (size_t i = 0; i < n; i++) {
		struct lbd_vip *v = vs[i];
		struct lb_vip_key k;
		struct lb_vip val = {}, cur;

		if (!err[i])
			err[i] = write_backends(d, v, false);
		if (!err[i]) {
			lb_vip_key_of(&v->spec, &k);
			val.vip_id = v->id;
			val.flags = v->flags;
			val.table_size = v->table_size;
			/* most syncs (next hops, backends) leave it as it is */
			if (bpf_map_lookup_elem(d->dp.vips, &k, &cur) ||
			    memcmp(&cur, &val, sizeof(val))) {
				if (bpf_map_update_elem(d->dp.vips, &k, &val,
							BPF_ANY))
					err[i] = -errno;
				else
					vips_changed = true;
			}
		}
		v->dirty = err[i] != 0;
		if (err[i] && !first)
			first = err[i];
	}
	/* the index after lb_vips: a slot names a VIP only once it is there;
	 * rebuilt when lb_vips changed or what the index holds is unknown */
	ierr = vips_changed || !d->vip_slots ?
		       lb_dp_sync_vip_slots_kept(&d->dp, &d->vip_slots) :
		       0;
	if (ierr) {
		pr_warn("cannot write the VIP index (lb_vip_slots): %s",
			strerror(-ierr));
		for (size_t i = 0; i < n; i++)
			vs[i]->dirty = true;
		if (!first)
			first = ierr;
	}
out:
	free(err);
	free(jobs);
	free(fds);
	free(ids);
	return first;
}

int lbd_dp_sync_vip(struct lbd *d, struct lbd_vip *v, bool force_table)
{
	return lbd_dp_sync_vips(d, &v, 1, force_table, false);
}

int lbd_dp_remove_backend(struct lbd *d, struct lbd_backend *b)
{
	struct lb_backend e = {};

	/* flags 0: flows remembered on it are re-hashed on their next
	 * packet; the id may be reused, with a new generation, once lb_ct4
	 * (which keeps two bits of it) holds no word naming it */
	if (bpf_map_update_elem(d->dp.backends, &b->id, &e, BPF_ANY)) {
		note_written(d, b->id, &e, false);
		return -errno;
	}
	note_written(d, b->id, &e, true);
	lbd_ct4_purge_later(d, b->id);
	return 0;
}

int lbd_dp_remove_vip_entries(struct lbd *d, struct lbd_vip *v)
{
	struct lb_vip_key k;
	int err;

	lb_vip_key_of(&v->spec, &k);
	/* the index stops naming it before lb_vips loses it */
	err = lb_dp_vip_slot_release(&d->dp, &k, d->vip_slots);
	if (err)
		return err;
	if (bpf_map_delete_elem(d->dp.vips, &k) && errno != ENOENT)
		return -errno;
	for (size_t i = 0; i < v->nbe; i++)
		lbd_dp_remove_backend(d, &v->be[i]);
	return 0;
}

int lbd_dp_remove_vip(struct lbd *d, struct lbd_vip *v)
{
	int err = lbd_dp_remove_vip_entries(d, v);

	/* the other keys of its slot are answered from the index again */
	if (!err)
		err = lb_dp_sync_vip_slots_kept(&d->dp, &d->vip_slots);
	if (err)
		return err;
	return lb_dp_remove_table(&d->dp, v->id);
}

int lbd_dp_sync_vip_addrs(struct lbd *d)
{
	struct lb_addr_key k, next, *keys = NULL;
	size_t nkeys = 0;
	int err = 0;

	/* collect existing keys first: deleting while iterating skips */
	for (int r = bpf_map_get_next_key(d->dp.vip_addrs, NULL, &next); !r;
	     r = bpf_map_get_next_key(d->dp.vip_addrs, &k, &next)) {
		struct lb_addr_key *nk =
			realloc(keys, (nkeys + 1) * sizeof(*keys));

		if (!nk) {
			free(keys);
			return -ENOMEM;
		}
		keys = nk;
		keys[nkeys++] = next;
		k = next;
	}
	for (size_t i = 0; i < nkeys; i++) {
		bool used = false;

		for (size_t j = 0; j < d->nvips && !used; j++)
			used = d->vips[j].spec.family == keys[i].family &&
			       !memcmp(&d->vips[j].spec.addr, &keys[i].addr,
				       sizeof(keys[i].addr));
		if (!used)
			bpf_map_delete_elem(d->dp.vip_addrs, &keys[i]);
	}
	free(keys);
	for (size_t i = 0; i < d->nvips; i++) {
		struct lb_vip_addr val = {};

		memset(&k, 0, sizeof(k));
		k.addr = d->vips[i].spec.addr;
		k.family = d->vips[i].spec.family;
		for (size_t j = 0; j < d->nvips; j++)
			val.vip_count += d->vips[j].spec.family == k.family &&
					 !memcmp(&d->vips[j].spec.addr, &k.addr,
						 sizeof(k.addr));
		if (bpf_map_update_elem(d->dp.vip_addrs, &k, &val, BPF_ANY))
			err = -errno;
	}
	return err;
}

int lbd_dp_sync_all(struct lbd *d)
{
	struct lb_vip_key k, next, *stale = NULL;
	size_t nstale = 0;
	uint8_t *used;
	int err;

	struct lbd_vip **all = malloc((d->nvips ? d->nvips : 1) * sizeof(*all));

	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < d->nvips; i++)
		all[i] = &d->vips[i];
	/* what the pinned tables already hold is kept (a restart) */
	err = lbd_dp_sync_vips(d, all, d->nvips, false, true);
	free(all);
	if (err)
		return err;
	err = lbd_dp_sync_vip_addrs(d);
	if (err)
		return err;

	/* drop what the pinned maps hold beyond the state */
	for (int r = bpf_map_get_next_key(d->dp.vips, NULL, &next); !r;
	     r = bpf_map_get_next_key(d->dp.vips, &k, &next)) {
		struct lb_vip_spec s = {};
		struct lb_vip_key *ns;

		k = next;
		s.addr = next.addr;
		s.family = next.family;
		s.proto = next.proto;
		s.port = ntohs(next.port);
		if (lbd_find_vip(d, &s))
			continue;
		ns = realloc(stale, (nstale + 1) * sizeof(*stale));
		if (!ns)
			break;
		stale = ns;
		stale[nstale++] = next;
	}
	for (size_t i = 0; i < nstale; i++)
		if (!lb_dp_vip_slot_release(&d->dp, &stale[i], d->vip_slots))
			bpf_map_delete_elem(d->dp.vips, &stale[i]);
	free(stale);
	/* the sync above rebuilt the index; again only if lb_vips lost keys */
	if (nstale || !d->vip_slots) {
		err = lb_dp_sync_vip_slots_kept(&d->dp, &d->vip_slots);
		if (err)
			return err;
	}

	used = calloc(LB_MAX_BACKENDS > LB_MAX_VIPS ? LB_MAX_BACKENDS :
						      LB_MAX_VIPS,
		      1);
	if (!used)
		return -ENOMEM;
	for (size_t i = 0; i < d->nvips; i++)
		used[d->vips[i].id] = 1;
	for (uint32_t id = 0; id < LB_MAX_VIPS; id++)
		if (!used[id])
			lb_dp_remove_table(&d->dp, id);
	memset(used, 0, LB_MAX_BACKENDS);
	for (size_t i = 0; i < d->nvips; i++)
		for (size_t j = 0; j < d->vips[i].nbe; j++)
			used[d->vips[i].be[j].id] = 1;
	for (uint32_t id = 1; id < LB_MAX_BACKENDS; id++) {
		struct lb_backend e;

		if (used[id] || bpf_map_lookup_elem(d->dp.backends, &id, &e) ||
		    !e.gen)
			continue;
		memset(&e, 0, sizeof(e));
		bpf_map_update_elem(d->dp.backends, &id, &e, BPF_ANY);
		lbd_ct4_purge_later(d, id);
	}
	free(used);
	return 0;
}

void lbd_dp_tables_summary(struct lbd *d)
{
	size_t live = 0, total = 0;

	d->tables_quiet = false;
	if (!d->nvips)
		return;
	for (size_t i = 0; i < d->nvips; i++) {
		for (size_t j = 0; j < d->vips[i].nbe; j++)
			live += lbd_backend_table_weight(&d->vips[i].be[j]) > 0;
		total += d->vips[i].nbe;
	}
	pr_info("Maglev tables built for %zu VIP%s: %zu of %zu backends take "
		"new flows",
		d->nvips, d->nvips == 1 ? "" : "s", live, total);
}

void lbd_dp_seed_macs(struct lbd *d)
{
	size_t seeded = 0;

	for (size_t i = 0; i < d->nvips; i++) {
		struct lbd_vip *v = &d->vips[i];

		for (size_t j = 0; j < v->nbe; j++) {
			struct lbd_backend *b = &v->be[j];
			struct lb_backend e;

			if (bpf_map_lookup_elem(d->dp.backends, &b->id, &e) ||
			    e.gen != b->gen || e.vip_id != v->id ||
			    !(e.flags & LB_BE_F_USABLE))
				continue;
			/* until the neighbour table says otherwise, keep
			 * forwarding where the previous lbd did */
			memcpy(b->mac, e.mac, 6);
			b->mac_ok = true;
			b->was_usable = true;
			b->neigh_err[0] = 0;
			seeded++;
		}
	}
	if (seeded)
		pr_info("adopted %zu backend next hops from the pinned maps",
			seeded);
}
