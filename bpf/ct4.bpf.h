/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ct4.bpf.h - lb_ct4, the connection table of IPv4 flows to VIPs of one
 * port: find a flow, write a flow.  The layout and the rules of every
 * writer are in lb_abi.h (struct lb_ct4_line).
 */
#ifndef LB_CT4_BPF_H
#define LB_CT4_BPF_H

/* Where a flow was looked for: its mixed key, the line a new entry goes
 * to, and the word that holds it (NULL: none). */
struct lb_ct4_ref {
	__u64 x;
	struct lb_ct4_line *line;
	__u64 *word;
	__u64 seen; /* *word as it was read */
};

static __always_inline __u32 lb_ct4_mask(__u32 bits)
{
	if (bits < LB_CT4_MIN_BITS)
		bits = LB_CT4_MIN_BITS;
	if (bits > LB_CT4_MAX_BITS)
		bits = LB_CT4_MAX_BITS;
	return (1U << bits) - 1;
}

/* The word of line l that holds x, else NULL. */
static __always_inline __u64 *lb_ct4_scan(struct lb_ct4_line *l, __u64 x,
					  __u64 *seen)
{
#pragma unroll
	for (int i = 0; i < LB_CT4_WAYS; i++) {
		__u64 w = *(volatile __u64 *)&l->w[i];

		if (lb_ct4_holds(w, x)) {
			*seen = w;
			return &l->w[i];
		}
	}
	return NULL;
}

/*
 * Look the flow of key k up: 1 with its backend in *c, else 0.  r says
 * where to write the flow afterwards (lb_ct4_write).  A hit marks the word
 * as used since lbd's last sweep, writing it only when it was not.
 */
static __always_inline int lb_ct4_find(__u64 k, __u64 seed,
				       struct lb_ct4_ref *r, struct lb_conn *c)
{
	__u32 zero = 0, idx, old_idx;
	struct lb_ct4_state *st;
	struct lb_ct4_line *l;
	__u64 s, w;

	r->x = lb_ct4_mix(k, seed);
	r->line = NULL;
	r->word = NULL;
	st = bpf_map_lookup_elem(&lb_ct4_state, &zero);
	if (!st)
		return 0;
	s = *(volatile __u64 *)st; /* bits and old_bits in one load */
	idx = r->x & lb_ct4_mask((__u32)s);
	old_idx = r->x & lb_ct4_mask((__u32)(s >> 32));
	if (old_idx != idx) {
		l = bpf_map_lookup_elem(&lb_ct4, &old_idx);
		if (l)
			r->word = lb_ct4_scan(l, r->x, &r->seen);
	}
	l = bpf_map_lookup_elem(&lb_ct4, &idx);
	r->line = l;
	if (!r->word && l)
		r->word = lb_ct4_scan(l, r->x, &r->seen);
	if (!r->word)
		return 0;
	w = r->seen;
	if (!(w & LB_CT4_REF))
		__sync_val_compare_and_swap(r->word, w, w | LB_CT4_REF);
	c->backend_id = w & LB_CT4_ID_MASK;
	c->backend_gen = (w >> LB_CT4_GEN_SHIFT) & LB_CT4_GEN_MASK;
	c->created_ns = 0;
	return 1;
}

/*
 * Write the flow of r -> backend (id, gen): over its own word if it has
 * one, else into its line: an empty word, else one no packet found since
 * lbd's last sweep, else the one its key names.  A new word counts as
 * used, so that a sweep right after it does not take it.  A word another CPU
 * changed meanwhile is left to it.  Returns 1 if a live flow was evicted.
 */
static __always_inline int lb_ct4_write(struct lb_ct4_ref *r, __u32 id,
					__u32 gen)
{
	__u64 nw = lb_ct4_word(r->x, id, gen) | LB_CT4_REF, w, *victim = NULL,
	      seen = 0;
	struct lb_ct4_line *l = r->line;
	int i;

	if (r->word) {
		__sync_val_compare_and_swap(r->word, r->seen, nw);
		return 0;
	}
	if (!l)
		return 0;
#pragma unroll
	for (i = 0; i < LB_CT4_WAYS; i++) {
		w = *(volatile __u64 *)&l->w[i];
		if (!(w & LB_CT4_VALID)) {
			__sync_val_compare_and_swap(&l->w[i], w, nw);
			return 0;
		}
		if (!victim && !(w & LB_CT4_REF)) {
			victim = &l->w[i];
			seen = w;
		}
	}
	if (!victim) {
		i = (r->x >> 40) & (LB_CT4_WAYS - 1);
		victim = &l->w[i];
		seen = *(volatile __u64 *)victim;
	}
	__sync_val_compare_and_swap(victim, seen, nw);
	return 1;
}

#endif /* LB_CT4_BPF_H */
