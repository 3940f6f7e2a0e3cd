// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * datapath.c - writing lbd's model into the datapath's maps: the
 * configuration, VIPs, backends, their Maglev tables and the VIP
 * addresses.  Loading and pinning are pins.c's, attaching attach.c's.
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

static int write_backend(struct lbd *d, const struct lbd_vip *v,
			 const struct lbd_backend *b)
{
	struct lb_backend e = {};

	e.addr = b->addr;
	e.family = b->family;
	memcpy(e.mac, b->mac, 6);
	if (lbd_backend_usable(b))
		e.flags = LB_BE_F_USABLE;
	else if (lbd_backend_keeps_flows(b))
		e.flags = LB_BE_F_HEALTH_DOWN;
	e.gen = b->gen;
	e.vip_id = v->id;
	if (bpf_map_update_elem(d->dp.backends, &b->id, &e, BPF_ANY))
		return -errno;
	return 0;
}

static uint64_t table_signature(const struct lbd_vip *v)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ v->table_size;

	for (size_t i = 0; i < v->nbe; i++) {
		uint64_t x = (uint64_t)v->be[i].id << 32 |
			     lbd_backend_table_weight(&v->be[i]);

		h = (h ^ x) * 0x100000001b3ULL;
		h = (h ^ maglev_key(&v->be[i].addr, sizeof(v->be[i].addr))) *
		    0x100000001b3ULL;
	}
	return h;
}

static int install_table(struct lbd *d, struct lbd_vip *v)
{
	struct maglev_backend *mb = calloc(v->nbe ? v->nbe : 1, sizeof(*mb));
	uint32_t *table = malloc((size_t)v->table_size * sizeof(uint32_t));
	size_t live = 0;
	char name[LB_VIPSTRLEN];
	int err = -ENOMEM;

	if (!mb || !table)
		goto out;
	for (size_t i = 0; i < v->nbe; i++) {
		mb[i].id = v->be[i].id;
		mb[i].weight = lbd_backend_table_weight(&v->be[i]);
		mb[i].key = maglev_key(&v->be[i].addr, sizeof(v->be[i].addr));
		live += mb[i].weight > 0;
	}
	err = maglev_build(mb, v->nbe, table, v->table_size);
	if (!err)
		err = lb_dp_install_table(&d->dp, v->id, table, v->table_size);
	if (!err)
		v->digest_ok = !lb_table_digest(mb, v->nbe, table,
						v->table_size, &v->digest);
	if (err)
		v->rebuild_failures++;
	else
		v->rebuilds++;
	lb_format_vip(&v->spec, name, sizeof(name));
	if (err)
		pr_warn("VIP %s: cannot install its Maglev table: %s", name,
			strerror(-err));
	else if (!d->tables_quiet) /* starting: lbd_dp_tables_summary */
		pr_info("VIP %s: Maglev table rebuilt (%zu of %zu backends "
			"take new flows)",
			name, live, v->nbe);
out:
	free(mb);
	free(table);
	return err;
}

int lbd_dp_sync_vip(struct lbd *d, struct lbd_vip *v, bool force_table)
{
	struct lb_vip_key k;
	struct lb_vip val = {};
	uint64_t sig = table_signature(v);
	int err;

	/* usable backends first, so the new table never names a backend
	 * the datapath would refuse; unusable ones after the table */
	for (size_t i = 0; i < v->nbe; i++) {
		if (!lbd_backend_usable(&v->be[i]))
			continue;
		err = write_backend(d, v, &v->be[i]);
		if (err)
			return err;
	}
	if (force_table || sig != v->table_sig) {
		err = install_table(d, v);
		if (err)
			return err;
		v->table_sig = sig;
	}
	for (size_t i = 0; i < v->nbe; i++) {
		if (lbd_backend_usable(&v->be[i]))
			continue;
		err = write_backend(d, v, &v->be[i]);
		if (err)
			return err;
	}
	lb_vip_key_of(&v->spec, &k);
	val.vip_id = v->id;
	val.flags = v->flags;
	val.table_size = v->table_size;
	if (bpf_map_update_elem(d->dp.vips, &k, &val, BPF_ANY))
		return -errno;
	return 0;
}

int lbd_dp_remove_backend(struct lbd *d, struct lbd_backend *b)
{
	struct lb_backend e = {};

	/* flags 0: flows remembered on it are re-hashed on their next
	 * packet; the id may be reused, with a new generation */
	if (bpf_map_update_elem(d->dp.backends, &b->id, &e, BPF_ANY))
		return -errno;
	return 0;
}

int lbd_dp_remove_vip(struct lbd *d, struct lbd_vip *v)
{
	struct lb_vip_key k;

	lb_vip_key_of(&v->spec, &k);
	if (bpf_map_delete_elem(d->dp.vips, &k) && errno != ENOENT)
		return -errno;
	lb_dp_remove_table(&d->dp, v->id);
	for (size_t i = 0; i < v->nbe; i++)
		lbd_dp_remove_backend(d, &v->be[i]);
	return 0;
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

	for (size_t i = 0; i < d->nvips; i++) {
		err = lbd_dp_sync_vip(d, &d->vips[i], true);
		if (err)
			return err;
	}
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
		bpf_map_delete_elem(d->dp.vips, &stale[i]);
	free(stale);

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
