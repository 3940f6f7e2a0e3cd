// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* test_maglev.c - the Maglev table builder (user/common/maglev.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "maglev.h"

static void make_backends(struct maglev_backend *b, int n, uint32_t weight)
{
	for (int i = 0; i < n; i++) {
		uint32_t addr = 0xc6336400 + (uint32_t)i; /* 198.51.100.i */

		b[i].id = (uint32_t)i + 1;
		b[i].weight = weight;
		b[i].key = maglev_key(&addr, sizeof(addr));
	}
}

static void count(const uint32_t *t, uint32_t m, uint32_t *c, int n)
{
	memset(c, 0, sizeof(*c) * (n + 1));
	for (uint32_t i = 0; i < m; i++)
		if (t[i] <= (uint32_t)n)
			c[t[i]]++;
}

static void test_equal_shares(uint32_t m, int n)
{
	struct maglev_backend *b = calloc(n, sizeof(*b));
	uint32_t *t = calloc(m, sizeof(*t)), *c = calloc(n + 1, sizeof(*c));
	uint32_t lo = m / n, hi = (m + n - 1) / n;
	char name[64];
	int ok = 1;

	snprintf(name, sizeof(name), "equal_shares_m%u_n%d", m, n);
	make_backends(b, n, 1);
	if (maglev_build(b, n, t, m)) {
		t_fail(name, "build failed");
		goto out;
	}
	count(t, m, c, n);
	if (c[0]) {
		t_fail(name, "%u empty slots", c[0]);
		goto out;
	}
	for (int i = 1; i <= n && ok; i++) {
		if (c[i] < lo || c[i] > hi) {
			t_fail(name, "backend %d owns %u, want %u..%u", i, c[i],
			       lo, hi);
			ok = 0;
		}
	}
	if (ok)
		t_pass(name);
out:
	free(b);
	free(t);
	free(c);
}

/* Remove one of n backends: entries of the others that move, as a share of
 * the table.  Maglev's paper reports a small disruption; ideal is 0. */
static void test_disruption(uint32_t m, int n, double limit)
{
	struct maglev_backend *b = calloc(n, sizeof(*b));
	uint32_t *t1 = calloc(m, sizeof(*t1)), *t2 = calloc(m, sizeof(*t2));
	uint32_t removed = 3, moved = 0;
	char name[64];

	snprintf(name, sizeof(name), "removal_disruption_m%u_n%d", m, n);
	make_backends(b, n, 1);
	maglev_build(b, n, t1, m);
	b[removed - 1].weight = 0;
	maglev_build(b, n, t2, m);
	for (uint32_t i = 0; i < m; i++)
		if (t1[i] != removed && t1[i] != t2[i])
			moved++;
	printf("  removing 1 of %d backends (M=%u) moved %.3f%% of the other "
	       "backends' entries\n",
	       n, m, 100.0 * moved / m);
	T_CHECK(name, (double)moved / m <= limit,
		"%.3f%% of entries moved, limit %.1f%%", 100.0 * moved / m,
		limit * 100);
	/* the removed backend's entries all went elsewhere */
	int left = 0;

	for (uint32_t i = 0; i < m; i++)
		left += t2[i] == removed;
	snprintf(name, sizeof(name), "removed_backend_gone_m%u_n%d", m, n);
	T_CHECK(name, left == 0, "%d entries still name it", left);
	free(b);
	free(t1);
	free(t2);
}

static void test_weights(void)
{
	struct maglev_backend b[3];
	uint32_t m = 65537, c[4];
	uint32_t *t = calloc(m, sizeof(*t));
	int ok = 1;

	make_backends(b, 3, 1);
	b[1].weight = 2;
	b[2].weight = 3;
	maglev_build(b, 3, t, m);
	count(t, m, c, 3);
	for (int i = 0; i < 3; i++) {
		double want = m * (i + 1) / 6.0;

		if (c[i + 1] < want * 0.99 || c[i + 1] > want * 1.01)
			ok = 0;
	}
	T_CHECK("weights_1_2_3_proportional", ok, "owned %u/%u/%u of %u", c[1],
		c[2], c[3], m);
	free(t);
}

static void test_order_independent(void)
{
	struct maglev_backend a[8], r[8];
	uint32_t m = 1021, *t1 = calloc(m, 4), *t2 = calloc(m, 4);

	make_backends(a, 8, 1);
	for (int i = 0; i < 8; i++)
		r[i] = a[7 - i];
	maglev_build(a, 8, t1, m);
	maglev_build(r, 8, t2, m);
	T_CHECK("order_independent", !memcmp(t1, t2, m * 4),
		"tables differ with the input order");
	free(t1);
	free(t2);
}

static void test_edges(void)
{
	uint32_t t[7] = { 9, 9, 9, 9, 9, 9, 9 };
	struct maglev_backend b[2];
	int zeros = 1;

	make_backends(b, 2, 0);
	T_CHECK("all_weights_zero_builds", maglev_build(b, 2, t, 7) == 0,
		"build failed");
	for (int i = 0; i < 7; i++)
		zeros &= t[i] == 0;
	T_CHECK("all_weights_zero_empty_table", zeros, "slots left filled");
	T_CHECK("non_prime_size_rejected", maglev_build(b, 2, t, 8) < 0,
		"size 8 accepted");
	T_CHECK("is_prime",
		maglev_is_prime(65537) && maglev_is_prime(655373) &&
			!maglev_is_prime(65536) && !maglev_is_prime(1) &&
			maglev_is_prime(2),
		"wrong primality");
	make_backends(b, 1, 5);
	maglev_build(b, 1, t, 7);
	zeros = 1;
	for (int i = 0; i < 7; i++)
		zeros &= t[i] == 1;
	T_CHECK("single_backend_owns_all", zeros, "slots not all backend 1");
}

/*
 * The two ways of filling the table give the same table, whatever the
 * weights: a fleet whose balancers build tables either way, or an lbd that
 * switches way when weights change, must agree slot for slot.  Weights
 * far apart (1 and 10000) also get their shares.
 */
static void test_fill_ways_agree(void)
{
	static const uint32_t sizes[] = { 251, 65537 };
	struct maglev_backend b[64];
	uint32_t *t1 = malloc(65537 * 4), *t2 = malloc(65537 * 4), c[65];
	int same = 1, runs = 0;

	srand(7);
	for (int r = 0; r < 40; r++) {
		int n = 1 + rand() % 64;
		uint32_t m = sizes[r % 2];

		make_backends(b, n, 1);
		for (int i = 0; i < n; i++)
			b[i].weight =
				r % 3 == 0 ? (uint32_t)(rand() % 4) :
				r % 3 == 1 ? 1 + (uint32_t)(rand() % 10000) :
					     (i == 0 ? 10000 : 1);
		if (maglev_build_ex(b, n, t1, m, MAGLEV_FILL_ROUNDS) ||
		    maglev_build_ex(b, n, t2, m, MAGLEV_FILL_TURNS)) {
			same = 0;
			break;
		}
		runs++;
		if (memcmp(t1, t2, m * 4)) {
			same = 0;
			break;
		}
	}
	T_CHECK("fill_rounds_and_turns_give_the_same_table", same,
		"tables differ in run %d", runs);

	make_backends(b, 11, 1);
	b[0].weight = 10000;
	maglev_build(b, 11, t1, 65537);
	count(t1, 65537, c, 11);
	/* 10000 / 10010 of the slots, and 1 / 10010 (6.5) for each other */
	T_CHECK("skewed_weights_keep_their_shares",
		c[1] > 65400 && c[2] >= 5 && c[2] <= 8 && c[11] >= 5 &&
			c[11] <= 8,
		"heavy %u, light %u .. %u", c[1], c[2], c[11]);
	free(t1);
	free(t2);
}

int main(void)
{
	test_equal_shares(65537, 3);
	test_equal_shares(65537, 10);
	test_equal_shares(65537, 100);
	test_equal_shares(655373, 1000);
	test_equal_shares(251, 7);
	test_disruption(65537, 10, 0.02);
	test_disruption(65537, 100, 0.02);
	test_disruption(655373, 1000, 0.02);
	test_weights();
	test_order_independent();
	test_fill_ways_agree();
	test_edges();
	return t_exit();
}
