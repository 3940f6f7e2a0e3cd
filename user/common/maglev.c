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
#include <stdbool.h>
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

static bool walker_before(const struct walker *x, const struct walker *y)
{
	return x->key != y->key ? x->key < y->key : x->id < y->id;
}

/*
 * Sort w by (key, id), bottom-up merges through tmp.  qsort() called its
 * comparison through a pointer for each of the 60000 comparisons of 5000
 * backends and moved the 40-byte walkers indirectly: a third of a build's
 * time.
 */
static void sort_walkers(struct walker *w, struct walker *tmp, size_t n)
{
	struct walker *src = w, *dst = tmp, *t;

	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t i = lo, j = mid, k = lo;

			while (i < mid && j < hi)
				dst[k++] = walker_before(&src[j], &src[i]) ?
						   src[j++] :
						   src[i++];
			while (i < mid)
				dst[k++] = src[i++];
			while (j < hi)
				dst[k++] = src[j++];
		}
		t = src;
		src = dst;
		dst = t;
	}
	if (src != w)
		memcpy(w, src, n * sizeof(*w));
}

/* Claim the next free slot of w's permutation.  taken is a bitmap: 8 KiB
 * for 65537 slots stays in the first-level cache, where the walks near a
 * full table probe it many times per claim. */
static void claim(struct walker *w, uint64_t *taken, uint32_t *table,
		  uint32_t size)
{
	uint32_t pos = w->pos;

	while (taken[pos / 64] & (1ULL << (pos % 64))) {
		pos += w->skip;
		pos = pos >= size ? pos - size : pos;
	}
	taken[pos / 64] |= 1ULL << (pos % 64);
	table[pos] = w->id;
	w->pos = pos;
}

/*
 * Round by round: each backend earns its weight in credits, and claims a
 * slot when it holds max_weight of them (at most once a round, as no
 * weight exceeds max_weight).  Cheap when weights are alike: every
 * backend claims in almost every round.
 */
static void fill_rounds(struct walker *w, size_t live, uint64_t *taken,
			uint32_t *table, uint32_t size, uint32_t max_weight)
{
	uint32_t filled = 0;

	while (filled < size) {
		for (size_t i = 0; i < live && filled < size; i++) {
			w[i].credit += w[i].weight;
			if (w[i].credit >= max_weight) {
				w[i].credit -= max_weight;
				claim(&w[i], taken, table, size);
				filled++;
			}
		}
	}
}

/* heap of (round of the next claim, backend index), smallest first */
struct turn {
	uint64_t round;
	uint32_t idx;
};

static int turn_before(const struct turn *a, const struct turn *b)
{
	return a->round != b->round ? a->round < b->round : a->idx < b->idx;
}

static void heap_down(struct turn *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		struct turn t;

		if (l < n && turn_before(&h[l], &h[m]))
			m = l;
		if (l + 1 < n && turn_before(&h[l + 1], &h[m]))
			m = l + 1;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/*
 * The same claims in the same order as fill_rounds(), without visiting
 * the backends that do not claim in a round: a backend that has made c
 * claims makes its next one in round ceil((c + 1) * max / weight) - 1.
 * With weights far apart (1 and 10000) the rounds mostly hold one claim,
 * and visiting every backend in each of them costs size x backends.
 */
static int fill_turns(struct walker *w, size_t live, uint64_t *taken,
		      uint32_t *table, uint32_t size, uint32_t max_weight)
{
	struct turn *h = calloc(live, sizeof(*h));
	uint64_t *claims = calloc(live, sizeof(*claims));

	if (!h || !claims) {
		free(h);
		free(claims);
		return -ENOMEM;
	}
	for (size_t i = 0; i < live; i++) {
		h[i].round = (max_weight + w[i].weight - 1) / w[i].weight - 1;
		h[i].idx = (uint32_t)i;
	}
	for (size_t i = live / 2; i-- > 0;)
		heap_down(h, live, i);
	for (uint32_t filled = 0; filled < size; filled++) {
		uint32_t i = h[0].idx;
		uint64_t c = ++claims[i];

		claim(&w[i], taken, table, size);
		h[0].round =
			((c + 1) * max_weight + w[i].weight - 1) / w[i].weight -
			1;
		heap_down(h, live, 0);
	}
	free(h);
	free(claims);
	return 0;
}

/*
 * The cheaper strategy for these weights: ROUNDS visits every live backend
 * in each round, and the table fills in about size * max / sum rounds;
 * TURNS pays a heap step (about log2(live) levels, two comparisons each)
 * per slot.  Weights far apart make rounds long; many backends with one
 * heavier one (a re-weighted backend among thousands) make them short.
 */
static int fill_choice(const struct maglev_backend *backends, size_t n,
		       size_t live, uint32_t size, uint32_t max_weight)
{
	uint64_t sum = 0, rounds, turns, levels = 1;

	for (size_t i = 0; i < n; i++)
		sum += backends[i].weight;
	while ((1ULL << levels) < live)
		levels++;
	rounds = (uint64_t)live * size / sum * max_weight + live;
	turns = (uint64_t)size * levels * 2;
	return rounds <= turns ? MAGLEV_FILL_ROUNDS : MAGLEV_FILL_TURNS;
}

int maglev_build_ex(const struct maglev_backend *backends, size_t n,
		    uint32_t *table, uint32_t size, int how)
{
	struct walker *w;
	uint64_t *taken;
	uint32_t max_weight = 0, min_weight = UINT32_MAX;
	size_t live = 0;
	int err = 0;

	if (!table || !maglev_is_prime(size) || (n && !backends))
		return -EINVAL;
	memset(table, 0, (size_t)size * sizeof(*table));
	for (size_t i = 0; i < n; i++) {
		if (backends[i].weight > max_weight)
			max_weight = backends[i].weight;
		if (backends[i].weight && backends[i].weight < min_weight)
			min_weight = backends[i].weight;
		if (backends[i].weight)
			live++;
	}
	if (!live)
		return 0;

	w = calloc(2 * live, sizeof(*w)); /* and room to sort them */
	taken = calloc(size / 64 + 1, sizeof(*taken));
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
	sort_walkers(w, w + live, live);

	if (how == MAGLEV_FILL_AUTO)
		how = fill_choice(backends, n, live, size, max_weight);
	if (how == MAGLEV_FILL_TURNS)
		err = fill_turns(w, live, taken, table, size, max_weight);
	else
		fill_rounds(w, live, taken, table, size, max_weight);
	free(w);
	free(taken);
	return err;
}

int maglev_build(const struct maglev_backend *backends, size_t n,
		 uint32_t *table, uint32_t size)
{
	return maglev_build_ex(backends, n, table, size, MAGLEV_FILL_AUTO);
}
