// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * maglev.c - Maglev table population.
 *
 * Every backend walks its own permutation of the table (offset + j * skip,
 * mod a prime size) and claims the first free slot it finds on its turn.
 * Weights: each backend earns weight credits per round and claims one slot
 * per max_weight credits, so shares follow the weights while the order of
 * claims (and so the disruption on change) stays Maglev's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

uint64_t maglev_key(const void *addr, size_t len)
{
	const unsigned char *p = addr;
	uint64_t h = 0x6d61676c65766b79ULL; /* "maglevky" */

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL; /* FNV-1a step */
	return mix64(h);
}

int maglev_is_prime(uint32_t n)
{
	if (n < 2)
		return 0;
	if (n % 2 == 0)
		return n == 2;
	for (uint32_t d = 3; (uint64_t)d * d <= n; d += 2)
		if (n % d == 0)
			return 0;
	return 1;
}

struct walker {
	uint64_t key;
	uint32_t id;
	uint32_t weight;
	uint32_t pos; /* current slot of the permutation */
	uint32_t skip;
	uint64_t credit;
};

static int walker_cmp(const void *a, const void *b)
{
	const struct walker *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

int maglev_build(const struct maglev_backend *backends, size_t n,
		 uint32_t *table, uint32_t size)
{
	struct walker *w;
	uint8_t *taken;
	uint32_t filled = 0, max_weight = 0;
	size_t live = 0;

	if (!table || !maglev_is_prime(size) || (n && !backends))
		return -EINVAL;
	memset(table, 0, (size_t)size * sizeof(*table));
	for (size_t i = 0; i < n; i++) {
		if (backends[i].weight > max_weight)
			max_weight = backends[i].weight;
		if (backends[i].weight)
			live++;
	}
	if (!live)
		return 0;

	w = calloc(live, sizeof(*w));
	taken = calloc(size, 1);
	if (!w || !taken) {
		free(w);
		free(taken);
		return -ENOMEM;
	}
	live = 0;
	for (size_t i = 0; i < n; i++) {
		const struct maglev_backend *b = &backends[i];

		if (!b->weight)
			continue;
		w[live].key = b->key;
		w[live].id = b->id;
		w[live].weight = b->weight;
		w[live].pos =
			(uint32_t)(mix64(b->key ^ 0x6f6666736574ULL) % size);
		w[live].skip =
			(uint32_t)(mix64(b->key ^ 0x736b6970ULL) % (size - 1)) +
			1;
		live++;
	}
	/* a fixed order makes the table independent of the input order */
	qsort(w, live, sizeof(*w), walker_cmp);

	while (filled < size) {
		for (size_t i = 0; i < live && filled < size; i++) {
			struct walker *b = &w[i];

			b->credit += b->weight;
			while (b->credit >= max_weight && filled < size) {
				b->credit -= max_weight;
				while (taken[b->pos]) {
					b->pos += b->skip;
					if (b->pos >= size)
						b->pos -= size;
				}
				taken[b->pos] = 1;
				table[b->pos] = b->id;
				filled++;
			}
		}
	}
	free(w);
	free(taken);
	return 0;
}
