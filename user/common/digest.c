// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * digest.c - the digest of a Maglev table (see digest.h).
 *
 * A slot's backend key goes through one multiply-xorshift round, chained
 * over the slots in order, then the murmur3 finaliser: changing, moving or
 * swapping any slot's owner changes the result.  The constants are part of
 * the fleet contract (README, "A fleet"): balancers of different versions
 * compare digests, so they never change.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "digest.h"

#define DIGEST_SEED 0x7864706c62646967ULL /* "xdplbdig" */
#define DIGEST_K1 0x9e3779b97f4a7c15ULL

struct id_key {
	uint32_t id;
	uint64_t key;
};

static int by_id(const void *a, const void *b)
{
	const struct id_key *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static uint64_t key_of(const struct id_key *k, size_t n, uint32_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k[mid].id == id)
			return k[mid].key;
		if (k[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0; /* an empty slot */
}

int lb_table_digest(const struct maglev_backend *b, size_t n,
		    const uint32_t *table, uint32_t size, uint64_t *digest)
{
	struct id_key *k = calloc(n ? n : 1, sizeof(*k));
	uint64_t h = DIGEST_SEED ^ size, key = 0;
	uint32_t last = 0;

	if (!k)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		k[i] = (struct id_key){ b[i].id, b[i].key };
	qsort(k, n, sizeof(*k), by_id);
	for (uint32_t s = 0; s < size; s++) {
		/* runs of one owner are common: look up only on a change */
		if (s == 0 || table[s] != last) {
			last = table[s];
			key = key_of(k, n, last);
		}
		h ^= key;
		h *= DIGEST_K1;
		h ^= h >> 29;
	}
	free(k);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	*digest = h;
	return 0;
}

void lb_digest_format(uint64_t digest, char *buf, size_t len)
{
	snprintf(buf, len, "%016llx", (unsigned long long)digest);
}
