/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* maglev.h - Maglev consistent-hashing lookup tables (Eisenbud et al.,
 * NSDI 2016), with weights. */
#ifndef LB_MAGLEV_H
#define LB_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

struct maglev_backend {
	uint32_t id; /* value written into the table */
	uint32_t weight; /* 0 = owns no entry (draining) */
	uint64_t key; /* stable identity, e.g. maglev_key() of the address */
};

/* Stable 64-bit identity of a backend from its address bytes. */
uint64_t maglev_key(const void *addr, size_t len);

/* Whether n is prime (table sizes must be). */
int maglev_is_prime(uint32_t n);

/*
 * Fill table[0..size) with backend ids.  size must be prime.  The result
 * depends only on the set of (key, weight) pairs, not on their order, so
 * every LB of a fleet builds the same table.  Each backend owns a share of
 * entries proportional to its weight; with equal weights every backend owns
 * floor(size/n) or ceil(size/n) entries.  When no backend has a weight the
 * table is filled with 0 (no backend).  Returns 0 or -errno.
 */
int maglev_build(const struct maglev_backend *backends, size_t n,
		 uint32_t *table, uint32_t size);

/*
 * maglev_build() with the filling strategy chosen: both give the same
 * table; ROUNDS is fast when weights are alike, TURNS when they are far
 * apart, AUTO picks.  For tests and benchmarks.
 */
enum {
	MAGLEV_FILL_AUTO = 0,
	MAGLEV_FILL_ROUNDS,
	MAGLEV_FILL_TURNS,
};
int maglev_build_ex(const struct maglev_backend *backends, size_t n,
		    uint32_t *table, uint32_t size, int how);

#endif /* LB_MAGLEV_H */
