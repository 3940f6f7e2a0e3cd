/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * digest.h - the digest of a VIP's Maglev table, by what the table means:
 * which backend address owns each slot, never the local ids lbd gives its
 * backends.  Balancers of a fleet that would send every flow of a VIP to
 * the same backend show the same digest, whatever order their backends were
 * added in; any slot that differs changes it.
 */
#ifndef LB_DIGEST_H
#define LB_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "maglev.h"

/* Characters of a digest as text, with the NUL. */
#define LB_DIGEST_STRLEN 17

/*
 * Digest of table[0..size), whose slots hold the ids of backends b[0..n)
 * (an id no backend has, e.g. 0 for "none", counts as an empty slot).
 * Each slot contributes the backend's key (maglev_key of its address).
 * Returns 0 with *digest set, or -ENOMEM.
 */
int lb_table_digest(const struct maglev_backend *b, size_t n,
		    const uint32_t *table, uint32_t size, uint64_t *digest);

/* The digest as 16 lower-case hex digits. */
void lb_digest_format(uint64_t digest, char *buf, size_t len);

#endif /* LB_DIGEST_H */
