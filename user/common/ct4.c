// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ct4.c - lb_ct4 from user space: one flow's word (explain, fixtures, the
 * carry-over), and the upkeep of the whole table: the sweep that forgets
 * flows no packet found for a while, and the resize of its live part.
 * Words are read and written in place through mmap, with the same
 * compare-and-swap of a whole word as the datapath (lb_abi.h, struct
 * lb_ct4_line).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include "dp.h"

/* The whole of lb_ct4 (or one page of it) mapped. */
struct ct4_view {
	void *base;
	size_t len;
	struct lb_ct4_line *lines; /* line first .. */
	uint32_t first, n; /* .. first + n - 1 */
};

static int ct4_lines(const struct lb_dp *dp, uint32_t *n)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(dp->ct4, &info, &len))
		return -errno;
	if (info.value_size != sizeof(struct lb_ct4_line))
		return -EPROTO;
	*n = info.max_entries;
	return 0;
}

/* Map lines [first, first + n) of lb_ct4 (n = 0: all of it). */
static int ct4_map(const struct lb_dp *dp, uint32_t first, uint32_t n,
		   struct ct4_view *v)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), off, start;
	uint32_t total;
	int err;

	err = ct4_lines(dp, &total);
	if (err)
		return err;
	if (!n) {
		first = 0;
		n = total;
	}
	if (first >= total || n > total - first)
		return -ERANGE;
	off = (size_t)first * sizeof(struct lb_ct4_line);
	start = off & ~(pg - 1);
	v->len = off - start + (size_t)n * sizeof(struct lb_ct4_line);
	v->len = (v->len + pg - 1) & ~(pg - 1);
	v->base = mmap(NULL, v->len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       dp->ct4, (off_t)start);
	if (v->base == MAP_FAILED)
		return -errno;
	v->lines = (struct lb_ct4_line *)((char *)v->base + (off - start));
	v->first = first;
	v->n = n;
	return 0;
}

static void ct4_unmap(struct ct4_view *v)
{
	munmap(v->base, v->len);
}

static struct lb_ct4_line *ct4_line(struct ct4_view *v, uint32_t idx)
{
	return idx >= v->first && idx - v->first < v->n ?
		       &v->lines[idx - v->first] :
		       NULL;
}

static uint64_t ct4_load(__u64 *w)
{
	return __atomic_load_n(w, __ATOMIC_ACQUIRE);
}

static int ct4_cas(__u64 *w, uint64_t old, uint64_t new)
{
	return __atomic_compare_exchange_n(w, &old, new, 0, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

static uint32_t ct4_mask(uint32_t bits)
{
	if (bits < LB_CT4_MIN_BITS)
		bits = LB_CT4_MIN_BITS;
	if (bits > LB_CT4_MAX_BITS)
		bits = LB_CT4_MAX_BITS;
	return (1U << bits) - 1;
}

int lb_dp_ct4_state(const struct lb_dp *dp, struct lb_ct4_state *s)
{
	uint32_t zero = 0;

	return bpf_map_lookup_elem(dp->ct4_state, &zero, s) ? -errno : 0;
}

/* Write the state as one word, through mmap (an update of the map would
 * copy it in pieces). */
static int ct4_set_state(const struct lb_dp *dp, uint32_t bits,
			 uint32_t old_bits)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	__u64 *w, v = ((uint64_t)old_bits << 32) | bits;

	w = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, dp->ct4_state,
		 0);
	if (w == MAP_FAILED)
		return -errno;
	__atomic_store_n(w, v, __ATOMIC_RELEASE);
	munmap(w, pg);
	return 0;
}

/*
 * Whether f goes to lb_ct4, with the key it has there: 1 (IPv4, to a VIP
 * of its destination port), 0 (not), or -errno.
 */
static int ct4_key_of(const struct lb_dp *dp, const struct lb_flow *f,
		      uint64_t *x)
{
	struct lb_vip_key k;
	struct lb_config cfg;
	struct lb_vip v;
	uint32_t zero = 0;

	if (f->family != LB_FAMILY_V4)
		return 0;
	memset(&k, 0, sizeof(k));
	k.addr = f->dst;
	k.port = f->dport;
	k.proto = f->proto;
	k.family = LB_FAMILY_V4;
	if (bpf_map_lookup_elem(dp->vips, &k, &v))
		return errno == ENOENT ? 0 : -errno;
	if (bpf_map_lookup_elem(dp->config, &zero, &cfg))
		return -errno;
	*x = lb_ct4_mix(lb_ct4_key(f->src.v4, f->sport, v.vip_id),
			cfg.hash_seed);
	return 1;
}

/* The word that holds x, looked for as the datapath does; NULL if none.
 * *line: the line a new entry of x goes to. */
static __u64 *ct4_find(struct ct4_view *v, const struct lb_ct4_state *s,
		       uint64_t x, struct lb_ct4_line **line)
{
	uint32_t idx = x & ct4_mask(s->bits);
	uint32_t old_idx = x & ct4_mask(s->old_bits);
	struct lb_ct4_line *l;

	*line = ct4_line(v, idx);
	for (int pass = 0; pass < 2; pass++) {
		l = ct4_line(v, pass ? idx : old_idx);
		if (!l || (pass && idx == old_idx))
			continue;
		for (int i = 0; i < LB_CT4_WAYS; i++)
			if (lb_ct4_holds(ct4_load(&l->w[i]), x))
				return &l->w[i];
	}
	return NULL;
}

/* Flow f's mixed key, and what it may touch mapped: both of its lines.
 * -EOPNOTSUPP if f does not belong in lb_ct4. */
static int ct4_map_flow(const struct lb_dp *dp, const struct lb_flow *f,
			uint64_t *x, struct lb_ct4_state *s, struct ct4_view *v)
{
	uint32_t a, b;
	int err;

	err = ct4_key_of(dp, f, x);
	if (err <= 0)
		return err ? err : -EOPNOTSUPP;
	err = lb_dp_ct4_state(dp, s);
	if (err)
		return err;
	a = *x & ct4_mask(s->bits);
	b = *x & ct4_mask(s->old_bits);
	if (a > b) {
		uint32_t t = a;

		a = b;
		b = t;
	}
	return ct4_map(dp, a, b - a + 1, v);
}

int lb_dp_ct4_lookup(const struct lb_dp *dp, const struct lb_flow *f,
		     struct lb_conn *c)
{
	struct lb_ct4_line *line;
	struct lb_ct4_state s;
	struct ct4_view v;
	uint64_t x, val;
	__u64 *w;
	int err;

	err = ct4_map_flow(dp, f, &x, &s, &v);
	if (err)
		return err;
	w = ct4_find(&v, &s, x, &line);
	if (w) {
		val = ct4_load(w);
		memset(c, 0, sizeof(*c));
		c->backend_id = val & LB_CT4_ID_MASK;
		c->backend_gen = (val >> LB_CT4_GEN_SHIFT) & LB_CT4_GEN_MASK;
	}
	ct4_unmap(&v);
	return w ? 0 : -ENOENT;
}

int lb_dp_ct4_update(const struct lb_dp *dp, const struct lb_flow *f,
		     const struct lb_conn *c, uint64_t flags)
{
	struct lb_ct4_line *line;
	struct lb_ct4_state s;
	struct ct4_view v;
	uint64_t x, nw, old;
	__u64 *w;
	int err;

	if (c->backend_id > LB_CT4_ID_MASK)
		return -EINVAL;
	err = ct4_map_flow(dp, f, &x, &s, &v);
	if (err)
		return err;
	nw = lb_ct4_word(x, c->backend_id, c->backend_gen) | LB_CT4_REF;
	for (int tries = 0; tries < 8; tries++) {
		w = ct4_find(&v, &s, x, &line);
		if (w && flags == BPF_NOEXIST) {
			err = -EEXIST;
			break;
		}
		if (!w && flags == BPF_EXIST) {
			err = -ENOENT;
			break;
		}
		if (!w) {
			if (!line) {
				err = -ERANGE;
				break;
			}
			/* an empty word, else one not found since the last
			 * sweep, else the one the key names */
			w = &line->w[(x >> 40) & (LB_CT4_WAYS - 1)];
			for (int i = LB_CT4_WAYS - 1; i >= 0; i--)
				if (!(ct4_load(&line->w[i]) & LB_CT4_REF))
					w = &line->w[i];
			for (int i = LB_CT4_WAYS - 1; i >= 0; i--)
				if (!(ct4_load(&line->w[i]) & LB_CT4_VALID))
					w = &line->w[i];
		}
		old = ct4_load(w);
		err = ct4_cas(w, old, nw) ? 0 : -EAGAIN;
		if (!err)
			break;
	}
	ct4_unmap(&v);
	return err;
}

int lb_dp_ct4_delete(const struct lb_dp *dp, const struct lb_flow *f)
{
	struct lb_ct4_line *line;
	struct lb_ct4_state s;
	struct ct4_view v;
	uint64_t x;
	__u64 *w;
	int err;

	err = ct4_map_flow(dp, f, &x, &s, &v);
	if (err)
		return err;
	err = -ENOENT;
	while ((w = ct4_find(&v, &s, x, &line))) {
		uint64_t old = ct4_load(w);

		if (lb_ct4_holds(old, x) && ct4_cas(w, old, 0))
			err = 0;
	}
	ct4_unmap(&v);
	return err;
}

/* Readers that loaded the state before a change are done with it once
 * their packet is: an XDP program runs for microseconds, in a softirq. */
static void ct4_grace(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* Move the word at *w (holding mixed key x) to line dst: copy, then clear
 * the old word; dropped if dst has no empty word (the flow is then
 * learned again).  1 if moved. */
static int ct4_move(__u64 *w, uint64_t val, struct lb_ct4_line *dst)
{
	int moved = 0;

	for (int i = 0; i < LB_CT4_WAYS && !moved; i++) {
		uint64_t o = ct4_load(&dst->w[i]);

		if (!(o & LB_CT4_VALID) && ct4_cas(&dst->w[i], o, val))
			moved = 1;
	}
	ct4_cas(w, val, 0);
	return moved;
}

/* The mixed key of word val in line idx. */
static uint64_t ct4_x_of(uint64_t val, uint32_t idx)
{
	return ((val >> LB_CT4_TAG_SHIFT) << LB_CT4_MIN_BITS) |
	       (idx & ((1U << LB_CT4_MIN_BITS) - 1));
}

int lb_dp_ct4_resize(const struct lb_dp *dp, uint32_t bits,
		     struct lb_ct4_resize_result *res)
{
	struct lb_ct4_state s;
	struct ct4_view v;
	uint32_t from, n, total;
	int err;

	memset(res, 0, sizeof(*res));
	err = ct4_lines(dp, &total);
	if (!err)
		err = lb_dp_ct4_state(dp, &s);
	if (err)
		return err;
	if (bits < LB_CT4_MIN_BITS || bits > LB_CT4_MAX_BITS ||
	    (1U << bits) > total)
		return -ERANGE;
	if (s.old_bits != s.bits) {
		/* a resize that did not finish: only to its size, from the
		 * size it started at */
		if (bits != s.bits)
			return -EBUSY;
		from = s.old_bits < LB_CT4_MIN_BITS ? LB_CT4_MIN_BITS :
						      s.old_bits;
	} else {
		from = s.bits < LB_CT4_MIN_BITS ? LB_CT4_MIN_BITS : s.bits;
		if (bits == from)
			return 0;
	}
	err = ct4_map(dp, 0, 0, &v);
	if (err)
		return err;
	if (s.old_bits == s.bits) {
		err = ct4_set_state(dp, bits, from);
		if (err)
			goto out;
	}
	ct4_grace();
	/* the words are in the lines of the old size: to the line of the
	 * new size, where that is another */
	n = 1U << from;
	if (n > v.n)
		n = v.n;
	for (uint32_t idx = 0; idx < n; idx++) {
		struct lb_ct4_line *l = &v.lines[idx];

		for (int i = 0; i < LB_CT4_WAYS; i++) {
			uint64_t val = ct4_load(&l->w[i]), x;
			uint32_t to;

			if (!(val & LB_CT4_VALID))
				continue;
			x = ct4_x_of(val, idx);
			to = x & ((1U << bits) - 1);
			if (to == idx)
				continue;
			if (ct4_move(&l->w[i], val, &v.lines[to]))
				res->moved++;
			else
				res->dropped++;
		}
	}
	err = ct4_set_state(dp, bits, bits);
out:
	ct4_unmap(&v);
	return err;
}

int lb_dp_ct4_sweep(const struct lb_dp *dp, struct lb_ct4_sweep_result *res)
{
	struct lb_ct4_state s;
	struct ct4_view v;
	uint32_t n;
	int err;

	memset(res, 0, sizeof(*res));
	err = lb_dp_ct4_state(dp, &s);
	if (err)
		return err;
	if (s.old_bits != s.bits)
		return -EBUSY;
	n = ct4_mask(s.bits) + 1;
	err = ct4_map(dp, 0, 0, &v);
	if (err)
		return err;
	if (n > v.n)
		n = v.n;
	res->lines = n;
	for (uint32_t idx = 0; idx < n; idx++) {
		struct lb_ct4_line *l = &v.lines[idx];

		for (int i = 0; i < LB_CT4_WAYS; i++) {
			uint64_t val = ct4_load(&l->w[i]);

			if (!(val & LB_CT4_VALID))
				continue;
			if (val & LB_CT4_REF) {
				if (ct4_cas(&l->w[i], val, val & ~LB_CT4_REF))
					res->kept++;
			} else if (ct4_cas(&l->w[i], val, 0)) {
				res->freed++;
			}
		}
	}
	ct4_unmap(&v);
	return 0;
}

/* Map all of lb_ct4; *n: the lines a word may be in now (those of both
 * sizes while a resize moves words). */
static int ct4_map_live(const struct lb_dp *dp, struct ct4_view *v, uint32_t *n)
{
	struct lb_ct4_state s;
	int err = lb_dp_ct4_state(dp, &s);

	if (err)
		return err;
	*n = (ct4_mask(s.bits) | ct4_mask(s.old_bits)) + 1;
	err = ct4_map(dp, 0, 0, v);
	if (err)
		return err;
	if (*n > v->n)
		*n = v->n;
	return 0;
}

int lb_dp_ct4_each(const struct lb_dp *dp,
		   void (*fn)(const struct lb_conn *c, void *arg), void *arg)
{
	struct ct4_view v;
	uint32_t n;
	int err = ct4_map_live(dp, &v, &n);

	if (err)
		return err;
	for (uint32_t idx = 0; idx < n; idx++) {
		for (int i = 0; i < LB_CT4_WAYS; i++) {
			uint64_t val = ct4_load(&v.lines[idx].w[i]);
			struct lb_conn c = {};

			if (!(val & LB_CT4_VALID))
				continue;
			c.backend_id = val & LB_CT4_ID_MASK;
			c.backend_gen = (val >> LB_CT4_GEN_SHIFT) &
					LB_CT4_GEN_MASK;
			fn(&c, arg);
		}
	}
	ct4_unmap(&v);
	return 0;
}

uint32_t lb_dp_ct4_max_bits(const struct lb_dp *dp)
{
	uint32_t n, bits = LB_CT4_MIN_BITS;

	if (ct4_lines(dp, &n))
		return LB_CT4_MIN_BITS;
	while (bits < LB_CT4_MAX_BITS && (2U << bits) <= n)
		bits++;
	return bits;
}

int lb_dp_ct4_fit(const struct lb_dp *dp, uint64_t evicted, uint64_t lookups,
		  uint64_t kept, struct lb_ct4_resize_result *r, uint32_t *from,
		  uint32_t *to)
{
	uint32_t bits, max = lb_dp_ct4_max_bits(dp);
	struct lb_ct4_state s;
	uint64_t words;
	int err;

	memset(r, 0, sizeof(*r));
	err = lb_dp_ct4_state(dp, &s);
	if (err)
		return err;
	/* a resize that was cut short is finished first */
	if (s.old_bits != s.bits) {
		err = lb_dp_ct4_resize(dp, s.bits, r);
		if (err)
			return err;
	}
	bits = s.bits < LB_CT4_MIN_BITS ? LB_CT4_MIN_BITS : s.bits;
	*from = *to = bits;
	words = (uint64_t)LB_CT4_WAYS << bits;
	if (bits < max && (evicted * LB_CT4_EVICT_SHARE > lookups ||
			   (kept != UINT64_MAX && kept * 2 > words)))
		*to = bits + 1;
	else if (bits > LB_CT4_MIN_BITS && kept != UINT64_MAX &&
		 kept * 8 < words)
		*to = bits - 1;
	if (*to == bits)
		return 0;
	err = lb_dp_ct4_resize(dp, *to, r);
	return err ? err : 1;
}

int lb_dp_ct4_clear(const struct lb_dp *dp)
{
	struct ct4_view v;
	int err = ct4_map(dp, 0, 0, &v);

	if (err)
		return err;
	for (uint32_t idx = 0; idx < v.n; idx++)
		for (int i = 0; i < LB_CT4_WAYS; i++)
			__atomic_store_n(&v.lines[idx].w[i], 0,
					 __ATOMIC_RELEASE);
	ct4_unmap(&v);
	return 0;
}

int lb_dp_ct4_purge(const struct lb_dp *dp, const uint8_t *ids, uint32_t nids,
		    uint64_t *purged)
{
	struct ct4_view v;
	uint32_t n;
	int err;

	*purged = 0;
	err = ct4_map_live(dp, &v, &n);
	if (err)
		return err;
	for (uint32_t idx = 0; idx < n; idx++) {
		for (int i = 0; i < LB_CT4_WAYS; i++) {
			__u64 *w = &v.lines[idx].w[i];
			uint64_t val = ct4_load(w);
			uint32_t id = val & LB_CT4_ID_MASK;

			if ((val & LB_CT4_VALID) && id < nids && ids[id] &&
			    ct4_cas(w, val, 0))
				(*purged)++;
		}
	}
	ct4_unmap(&v);
	return 0;
}
