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

/* Backend ids of lbd's tables are below 2^14 (LB_MAX_BACKENDS): a key per
 * id in a flat array costs at most 128 KiB and one load per slot.  Ids of
 * other callers past this bound take the sorted array and its binary
 * search. */
#define DIRECT_IDS (1u << 16)

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

static uint64_t step(uint64_t h, uint64_t key)
{
	h ^= key;
	h *= DIGEST_K1;
	return h ^ (h >> 29);
}

/* The slots' chain with a key per id looked up in a flat array
 * (ids < max_id + 1); -ENOMEM. */
static int chain_direct(const struct maglev_backend *b, size_t n,
			uint32_t max_id, const uint32_t *table, uint32_t size,
			uint64_t *h)
{
	uint64_t *key = calloc((size_t)max_id + 1, sizeof(*key));

	if (!key)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		key[b[i].id] = b[i].key;
	for (uint32_t s = 0; s < size; s++)
		*h = step(*h, table[s] <= max_id ? key[table[s]] : 0);
	free(key);
	return 0;
}

/* The same with a binary search per run of one owner; -ENOMEM. */
static int chain_sorted(const struct maglev_backend *b, size_t n,
			const uint32_t *table, uint32_t size, uint64_t *h)
{
	struct id_key *k = calloc(n ? n : 1, sizeof(*k));
	uint64_t key = 0;
	uint32_t last = 0;

	if (!k)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		k[i] = (struct id_key){ b[i].id, b[i].key };
	qsort(k, n, sizeof(*k), by_id);
	for (uint32_t s = 0; s < size; s++) {
		if (s == 0 || table[s] != last) {
			last = table[s];
			key = key_of(k, n, last);
		}
		*h = step(*h, key);
	}
	free(k);
	return 0;
}

int lb_table_digest(const struct maglev_backend *b, size_t n,
		    const uint32_t *table, uint32_t size, uint64_t *digest)
{
	uint64_t h = DIGEST_SEED ^ size;
	uint32_t max_id = 0;
	int err;

	for (size_t i = 0; i < n; i++)
		if (b[i].id > max_id)
			max_id = b[i].id;
	if (max_id < DIRECT_IDS)
		err = chain_direct(b, n, max_id, table, size, &h);
	else
		err = chain_sorted(b, n, table, size, &h);
	if (err)
		return err;
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
