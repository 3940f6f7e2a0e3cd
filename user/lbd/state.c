// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * state.c - lbd's configuration model and its state file.
 *
 * The state file is JSON, rewritten atomically (temporary file in the same
 * directory, fsync, rename, fsync of the directory); a change is
 * acknowledged once it is in that file or in the journal that follows it
 * (journal.c).  A file that does not parse or validate is refused whole:
 * lbd does not start on it and does not overwrite it.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "lbd.h"
#include "state.h"
#include "log.h"
#include "maglev.h"

uint64_t lbd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct lbd_vip *lbd_find_vip(struct lbd *d, const struct lb_vip_spec *spec)
{
	for (size_t i = 0; i < d->nvips; i++) {
		struct lb_vip_spec *s = &d->vips[i].spec;

		if (s->family == spec->family && s->proto == spec->proto &&
		    s->port == spec->port &&
		    !memcmp(&s->addr, &spec->addr, sizeof(s->addr)))
			return &d->vips[i];
	}
	return NULL;
}

struct lbd_backend *lbd_find_backend(struct lbd_vip *v, const union lb_addr *a,
				     uint8_t family)
{
	for (size_t i = 0; i < v->nbe; i++)
		if (v->be[i].family == family &&
		    !memcmp(&v->be[i].addr, a, sizeof(*a)))
			return &v->be[i];
	return NULL;
}

int lbd_alloc_vip_id(struct lbd *d, uint32_t *id)
{
	for (uint32_t c = 0; c < LB_MAX_VIPS; c++) {
		bool used = false;

		for (size_t i = 0; i < d->nvips && !used; i++)
			used = d->vips[i].id == c;
		if (!used) {
			*id = c;
			return 0;
		}
	}
	return -ENOSPC;
}

int lbd_alloc_backend_id(struct lbd *d, uint32_t *id)
{
	uint8_t *used = calloc(LB_MAX_BACKENDS, 1);

	if (!used)
		return -ENOMEM;
	for (size_t i = 0; i < d->nvips; i++)
		for (size_t j = 0; j < d->vips[i].nbe; j++)
			used[d->vips[i].be[j].id] = 1;
	/* an id whose old words lb_ct4 may still hold only if no other */
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t c = 1; c < LB_MAX_BACKENDS; c++) {
			if (!used[c] &&
			    (pass || !lbd_ct4_purge_pending(d, c))) {
				free(used);
				*id = c;
				return 0;
			}
		}
	free(used);
	return -ENOSPC;
}

bool lbd_backend_usable(const struct lbd_backend *b)
{
	return b->mac_ok && b->health_up;
}

bool lbd_backend_keeps_flows(const struct lbd_backend *b)
{
	return b->mac_ok && !b->health_up;
}

uint32_t lbd_vip_default_flags(const struct lb_vip_spec *spec)
{
	/* a re-hashed TCP flow meets a backend that answers with a reset;
	 * a UDP flow usually survives the move */
	return spec->proto == IPPROTO_TCP ? LB_VIP_F_ON_DOWN_KEEP : 0;
}

const char *lbd_on_down_name(uint32_t flags)
{
	return flags & LB_VIP_F_ON_DOWN_KEEP ? "keep" : "rehash";
}

uint32_t lbd_backend_table_weight(const struct lbd_backend *b)
{
	const struct lbd_health *h = &b->hc;
	uint64_t now, pct = 100;

	if (!lbd_backend_usable(b) || b->admin != LBD_ADMIN_ACTIVE)
		return 0;
	if (h->ramp_ms) {
		/* slow start: from 5% up to the full weight */
		now = lbd_now_ms();
		if (now < h->ramp_start_ms + h->ramp_ms)
			pct = 5 + (now - h->ramp_start_ms) * 95 / h->ramp_ms;
	}
	return (uint32_t)(b->weight * pct);
}

const char *lbd_backend_state(const struct lbd_backend *b, char *buf,
			      size_t len)
{
	if (!b->mac_ok)
		snprintf(buf, len, "down");
	else if (!b->health_up)
		snprintf(buf, len, "down");
	else if (b->admin == LBD_ADMIN_DRAINING)
		snprintf(buf, len, "draining");
	else
		snprintf(buf, len, "active");
	return buf;
}

static const char *mode_name(uint32_t flags)
{
	return flags & LB_VIP_F_ENCAP ? "ipip" : "dsr";
}

static const char *hash_name(uint32_t flags)
{
	return flags & LB_VIP_F_HASH_SRC ? "src" : "5tuple";
}

void lbd_state_vip_head_json(const struct lbd_vip *v, struct jw *w)
{
	char buf[LB_VIPSTRLEN];

	jw_kstr(w, "vip", lb_format_vip(&v->spec, buf, sizeof(buf)));
	jw_kuint(w, "id", v->id);
	jw_kstr(w, "mode", mode_name(v->flags));
	jw_kstr(w, "hash", hash_name(v->flags));
	jw_kstr(w, "on_down", lbd_on_down_name(v->flags));
	jw_kuint(w, "table_size", v->table_size);
	if (v->check.kind != LBD_CHECK_NONE) {
		jw_key(w, "check");
		lbd_check_to_json(&v->check, w);
	}
}

void lbd_state_backend_json(const struct lbd_vip *v,
			    const struct lbd_backend *b, struct jw *w)
{
	char buf[LB_ADDRSTRLEN];

	jw_obj_begin(w);
	jw_kstr(w, "addr",
		lb_format_addr(&b->addr, b->family, buf, sizeof(buf)));
	jw_kuint(w, "id", b->id);
	jw_kuint(w, "gen", b->gen);
	jw_kuint(w, "weight", b->weight);
	jw_kstr(w, "admin",
		b->admin == LBD_ADMIN_DRAINING ? "draining" : "active");
	if (b->check_set) {
		jw_key(w, "check");
		lbd_check_to_json(&b->check, w);
	}
	if (lbd_check_of(v, b)->kind != LBD_CHECK_NONE) {
		jw_kstr(w, "health", b->health_up ? "up" : "down");
		if (!b->health_up)
			jw_kstr(w, "health_reason", b->health_err);
	}
	jw_obj_end(w);
}

void lbd_state_vip_json(const struct lbd_vip *v, struct jw *w)
{
	jw_obj_begin(w);
	lbd_state_vip_head_json(v, w);
	jw_key(w, "backends");
	jw_arr_begin(w);
	for (size_t j = 0; j < v->nbe; j++)
		lbd_state_backend_json(v, &v->be[j], w);
	jw_arr_end(w);
	jw_obj_end(w);
}

void lbd_state_to_json(struct lbd *d, struct jw *w)
{
	char buf[LB_VIPSTRLEN], seed[24];

	jw_obj_begin(w);
	jw_kint(w, "version", LBD_STATE_VERSION);
	snprintf(seed, sizeof(seed), "0x%016llx", (unsigned long long)d->seed);
	jw_kstr(w, "hash_seed", seed);
	jw_kuint(w, "next_gen", d->next_gen);
	/* the journal's records up to this one are in this file */
	jw_kuint(w, "journal_seq", d->journal_seq);
	if (d->node_drained)
		jw_kbool(w, "node_drained", true);
	if (d->encap_src4_set)
		jw_kstr(w, "encap_src4",
			lb_format_addr(&d->encap_src4, LB_FAMILY_V4, buf,
				       sizeof(buf)));
	if (d->encap_src6_set)
		jw_kstr(w, "encap_src6",
			lb_format_addr(&d->encap_src6, LB_FAMILY_V6, buf,
				       sizeof(buf)));
	jw_key(w, "vips");
	jw_arr_begin(w);
	for (size_t i = 0; i < d->nvips; i++)
		lbd_state_vip_json(&d->vips[i], w);
	jw_arr_end(w);
	jw_obj_end(w);
}

#define bad(...)                                    \
	({                                          \
		snprintf(err, errlen, __VA_ARGS__); \
		-EINVAL;                            \
	})

static void backend_init_runtime(struct lbd_backend *b)
{
	b->health_up = true;
	b->mac_ok = false;
	b->unresolved_since_ms = 0;
	snprintf(b->neigh_err, sizeof(b->neigh_err), "not resolved yet");
}

int lbd_state_parse_backend(const struct jv *o, struct lbd_backend *b,
			    const struct lbd_vip *v, const char *vip, char *err,
			    size_t errlen)
{
	const char *health = jv_get_str(o, "health");
	const char *reason = jv_get_str(o, "health_reason");
	const char *addr = jv_get_str(o, "addr");
	const char *admin = jv_get_str(o, "admin");
	uint64_t id, gen, weight;
	char e[LB_ERRLEN];

	memset(b, 0, sizeof(*b));
	if (!addr || lb_parse_addr(addr, &b->addr, &b->family, e, sizeof(e)) ||
	    lb_addr_check_unicast(&b->addr, b->family, e, sizeof(e)))
		return bad("VIP %s: backend with a missing or bad \"addr\"",
			   vip);
	if (jv_get_uint(o, "id", LB_MAX_BACKENDS - 1, &id) || id == 0)
		return bad("VIP %s backend %s: bad \"id\"", vip, addr);
	if (jv_get_uint(o, "gen", UINT32_MAX, &gen))
		return bad("VIP %s backend %s: bad \"gen\"", vip, addr);
	if (jv_get_uint(o, "weight", LBD_MAX_WEIGHT, &weight))
		return bad("VIP %s backend %s: bad \"weight\"", vip, addr);
	if (!admin || (strcmp(admin, "active") && strcmp(admin, "draining")))
		return bad("VIP %s backend %s: bad \"admin\"", vip, addr);
	b->id = (uint32_t)id;
	b->gen = (uint32_t)gen;
	b->weight = (uint32_t)weight;
	b->admin = strcmp(admin, "draining") ? LBD_ADMIN_ACTIVE :
					       LBD_ADMIN_DRAINING;
	if (jv_get(o, "check")) {
		if (lbd_check_from_json(jv_get(o, "check"), &v->spec, &b->check,
					e, sizeof(e)))
			return bad("VIP %s backend %s: %s", vip, addr, e);
		b->check_set = true;
	}
	if (health && strcmp(health, "up") && strcmp(health, "down"))
		return bad("VIP %s backend %s: bad \"health\"", vip, addr);
	backend_init_runtime(b);
	/* checks resume from the last known health */
	if (lbd_check_of(v, b)->kind != LBD_CHECK_NONE) {
		b->health_up = health && !strcmp(health, "up");
		snprintf(b->health_err, sizeof(b->health_err), "%s",
			 b->health_up ? "" :
			 reason	      ? reason :
					"health check pending");
		b->hc.next_ms = lbd_now_ms() + (uint64_t)random() % 200;
		snprintf(b->hc.last, sizeof(b->hc.last), "not checked yet");
		/* a backend known down needs rise good checks, as before */
		b->hc.checked = health != NULL;
	}
	return 0;
}

int lbd_state_parse_vip(const struct jv *o, struct lbd_vip *v,
			bool with_backends, char *err, size_t errlen)
{
	const char *name = jv_get_str(o, "vip");
	const char *mode = jv_get_str(o, "mode");
	const char *hash = jv_get_str(o, "hash");
	const char *on_down = jv_get_str(o, "on_down");
	const struct jv *bes = jv_get(o, "backends");
	uint64_t id, size;
	char e[LB_ERRLEN];
	int rc;

	memset(v, 0, sizeof(*v));
	if (!name || lb_parse_vip(name, &v->spec, e, sizeof(e)))
		return bad("a VIP with a missing or bad \"vip\"");
	if (jv_get_uint(o, "id", LB_MAX_VIPS - 1, &id))
		return bad("VIP %s: bad \"id\"", name);
	if (jv_get_uint(o, "table_size", LB_MAGLEV_MAX_SIZE, &size) ||
	    size < 3 || !maglev_is_prime((uint32_t)size))
		return bad("VIP %s: bad \"table_size\"", name);
	if (!mode || (strcmp(mode, "dsr") && strcmp(mode, "ipip")))
		return bad("VIP %s: bad \"mode\"", name);
	if (!hash || (strcmp(hash, "5tuple") && strcmp(hash, "src")))
		return bad("VIP %s: bad \"hash\"", name);
	/* absent in state files written before it existed: the default */
	if (jv_get(o, "on_down") && (!on_down || (strcmp(on_down, "keep") &&
						  strcmp(on_down, "rehash"))))
		return bad("VIP %s: bad \"on_down\"", name);
	if (with_backends && (!bes || bes->type != JV_ARR))
		return bad("VIP %s: missing \"backends\"", name);
	v->id = (uint32_t)id;
	v->table_size = (uint32_t)size;
	v->flags = (!strcmp(mode, "ipip") ? LB_VIP_F_ENCAP : 0) |
		   (!strcmp(hash, "src") ? LB_VIP_F_HASH_SRC : 0);
	if (!on_down)
		v->flags |= lbd_vip_default_flags(&v->spec);
	else if (!strcmp(on_down, "keep"))
		v->flags |= LB_VIP_F_ON_DOWN_KEEP;
	lbd_check_defaults(&v->check);
	if (jv_get(o, "check") &&
	    lbd_check_from_json(jv_get(o, "check"), &v->spec, &v->check, e,
				sizeof(e)))
		return bad("VIP %s: %s", name, e);
	if (!with_backends)
		return 0;
	v->be = calloc(bes->n ? bes->n : 1, sizeof(*v->be));
	if (!v->be) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	v->cap = bes->n ? bes->n : 1;
	for (size_t i = 0; i < bes->n; i++) {
		rc = lbd_state_parse_backend(&bes->items[i], &v->be[i], v, name,
					     err, errlen);
		if (rc)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (v->be[j].family == v->be[i].family &&
			    !memcmp(&v->be[j].addr, &v->be[i].addr,
				    sizeof(v->be[i].addr)))
				return bad("VIP %s: duplicate backend", name);

		v->nbe++;
	}
	return 0;
}

static void free_vips(struct lbd_vip *vips, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(vips[i].be);
	free(vips);
}

int lbd_state_check_vips(const struct lbd_vip *nv, size_t n, char *err,
			 size_t errlen)
{
	uint8_t *used;
	char name[LB_VIPSTRLEN];

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < i; j++)
			if (nv[j].id == nv[i].id ||
			    (nv[j].spec.family == nv[i].spec.family &&
			     nv[j].spec.port == nv[i].spec.port &&
			     nv[j].spec.proto == nv[i].spec.proto &&
			     !memcmp(&nv[j].spec.addr, &nv[i].spec.addr,
				     sizeof(nv[i].spec.addr))))
				return bad("duplicate VIP or VIP id");
	}
	/* the family rules of the control socket hold here too */
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < nv[i].nbe; j++) {
			if (nv[i].be[j].family == nv[i].spec.family ||
			    (nv[i].spec.family == LB_FAMILY_V4 &&
			     (nv[i].flags & LB_VIP_F_ENCAP)))
				continue;
			return bad("VIP %s: backend of another address family "
				   "(only an ipip IPv4 VIP may have IPv6 "
				   "backends)",
				   lb_format_vip(&nv[i].spec, name,
						 sizeof(name)));
		}
	}
	/* backend ids are unique across VIPs (and below LB_MAX_BACKENDS:
	 * lbd_state_parse_backend) */
	used = calloc(LB_MAX_BACKENDS, 1);
	if (!used) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < nv[i].nbe; j++) {
			uint32_t id = nv[i].be[j].id;

			if (used[id]) {
				free(used);
				return bad("duplicate backend id %u", id);
			}
			used[id] = 1;
		}
	}
	free(used);
	return 0;
}

int lbd_state_from_json(struct lbd *d, const struct jv *root, char *err,
			size_t errlen)
{
	const struct jv *vips = jv_get(root, "vips");
	const char *seed = jv_get_str(root, "hash_seed");
	const char *s4 = jv_get_str(root, "encap_src4");
	const char *s6 = jv_get_str(root, "encap_src6");
	const struct jv *drained = jv_get(root, "node_drained");
	uint64_t version, next_gen, seq = 0;
	struct lbd_vip *nv = NULL;
	union lb_addr a4 = {}, a6 = {};
	unsigned long long sv;
	uint8_t fam;
	char *end;
	size_t n = 0;
	int rc;

	if (!root || root->type != JV_OBJ)
		return bad("not a JSON object");
	if (jv_get_uint(root, "version", UINT32_MAX, &version) ||
	    version != LBD_STATE_VERSION)
		return bad("unsupported or missing \"version\"");
	if (!seed || (errno = 0, sv = strtoull(seed, &end, 0), errno || *end))
		return bad("bad \"hash_seed\"");
	if (jv_get_uint(root, "next_gen", UINT32_MAX, &next_gen))
		return bad("bad \"next_gen\"");
	if (s4 &&
	    (lb_parse_addr(s4, &a4, &fam, NULL, 0) || fam != LB_FAMILY_V4))
		return bad("bad \"encap_src4\"");
	if (s6 &&
	    (lb_parse_addr(s6, &a6, &fam, NULL, 0) || fam != LB_FAMILY_V6))
		return bad("bad \"encap_src6\"");
	if (drained && drained->type != JV_BOOL)
		return bad("bad \"node_drained\"");
	if (!vips || vips->type != JV_ARR)
		return bad("missing \"vips\"");
	nv = calloc(vips->n ? vips->n : 1, sizeof(*nv));
	if (!nv) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < vips->n; i++) {
		rc = lbd_state_parse_vip(&vips->items[i], &nv[i], true, err,
					 errlen);
		n = i + 1;
		if (rc)
			goto fail;
	}
	rc = lbd_state_check_vips(nv, n, err, errlen);
	if (rc)
		goto fail;
	if (jv_get(root, "journal_seq") &&
	    jv_get_uint(root, "journal_seq", UINT64_MAX, &seq)) {
		rc = bad("bad \"journal_seq\"");
		goto fail;
	}

	free_vips(d->vips, d->nvips);
	d->vips = nv;
	d->nvips = n;
	d->cap_vips = vips->n ? vips->n : 1;
	d->seed = sv;
	d->next_gen = (uint32_t)next_gen;
	d->encap_src4 = a4;
	d->encap_src4_set = !!s4;
	d->encap_src6 = a6;
	d->encap_src6_set = !!s6;
	d->node_drained = drained && drained->b;
	d->journal_seq = seq;
	return 0;
fail:
	free_vips(nv, n);
	return rc;
}

int lbd_state_read(struct lbd *d, char *err, size_t errlen)
{
	struct stat st;
	char *text = NULL;
	struct jv *root;
	char perr[128];
	FILE *f;
	int rc;

	f = fopen(d->state_path, "r");
	if (!f) {
		if (errno == ENOENT)
			return 1; /* no state yet: start empty */
		return bad("cannot open state file %s: %s", d->state_path,
			   strerror(errno));
	}
	if (fstat(fileno(f), &st)) {
		rc = errno;
		fclose(f);
		return bad("cannot read state file %s: %s", d->state_path,
			   strerror(rc));
	}
	if (S_ISDIR(st.st_mode)) {
		fclose(f);
		return bad("state file %s is a directory; give a file path",
			   d->state_path);
	}
	if (st.st_size > (64 << 20)) {
		fclose(f);
		return bad("state file %s is too large (%lld bytes, at most "
			   "64 MiB)",
			   d->state_path, (long long)st.st_size);
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		fclose(f);
		return bad("out of memory reading state file %s",
			   d->state_path);
	}
	if (fread(text, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		rc = ferror(f) ? errno : 0;
		fclose(f);
		free(text);
		return bad("cannot read state file %s: %s", d->state_path,
			   rc ? strerror(rc) : "it became shorter");
	}
	fclose(f);
	root = jv_parse(text, (size_t)st.st_size, perr, sizeof(perr));
	free(text);
	if (!root)
		return bad("state file %s is corrupt (%s); fix or remove it",
			   d->state_path, perr);
	rc = lbd_state_from_json(d, root, perr, sizeof(perr));
	jv_free(root);
	if (rc)
		return bad("state file %s is invalid (%s); fix or remove it",
			   d->state_path, perr);
	return 0;
}

int lbd_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int lbd_state_write(struct lbd *d, char *err, size_t errlen)
{
	char tmp[512], dir[512], path[512];
	struct jw w;
	int fd, dfd, rc = 0;

	snprintf(path, sizeof(path), "%s", d->state_path);
	snprintf(dir, sizeof(dir), "%s", dirname(path));
	if (lb_mkdir_p(dir, 0755))
		return bad("cannot create %s: %s", dir, strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", d->state_path, (int)getpid());
	jw_init(&w, true);
	lbd_state_to_json(d, &w);
	if (w.oom) {
		jw_free(&w);
		return bad("out of memory writing state");
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		jw_free(&w);
		return bad("cannot write %s: %s", tmp, strerror(errno));
	}
	if (lbd_write_all(fd, w.buf, w.len) || lbd_write_all(fd, "\n", 1) ||
	    fsync(fd)) {
		rc = bad("cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		jw_free(&w);
		return rc;
	}
	close(fd);
	jw_free(&w);
	if (rename(tmp, d->state_path)) {
		rc = bad("cannot replace %s: %s", d->state_path,
			 strerror(errno));
		unlink(tmp);
		return rc;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

void lbd_state_free(struct lbd *d)
{
	free_vips(d->vips, d->nvips);
	d->vips = NULL;
	d->nvips = 0;
}
