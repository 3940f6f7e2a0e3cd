// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench_maglev.c - time to build one Maglev table (user/common/maglev.c,
 * the code lbd runs on every backend change) for a range of backend counts
 * and table sizes.
 *
 * Backends are IPv4 addresses 10.x.y.z with weight 1, keyed the way lbd
 * keys them (maglev_key of the address bytes).  Each figure is the median
 * of several builds (min-max) in milliseconds, one maglev_build() call
 * each, its own allocations included.  Every table built is checked:
 * with equal weights each backend must own floor(size/n) or ceil(size/n)
 * entries, so a figure never comes from a wrong table.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "cli.h"
#include "maglev.h"

#define MAX_RUNS 32
#define MAX_CFG 8

static int parse_list(const char *s, uint32_t *v, int max)
{
	char *end;
	int n = 0;

	while (*s) {
		unsigned long x;

		if (n == max)
			return -1;
		errno = 0;
		x = strtoul(s, &end, 10);
		if (errno || end == s || !x || x > 10000000 ||
		    (*end && *end != ','))
			return -1;
		v[n++] = (uint32_t)x;
		s = *end ? end + 1 : end;
	}
	return n;
}

/* Each of the n backends (ids 1..n) owns floor or ceil of size/n entries. */
static int check_table(const uint32_t *table, uint32_t size, uint32_t n,
		       uint32_t *owned)
{
	uint32_t lo = size / n, hi = lo + (size % n != 0);

	memset(owned, 0, (n + 1) * sizeof(*owned));
	for (uint32_t i = 0; i < size; i++) {
		if (!table[i] || table[i] > n)
			return -1;
		owned[table[i]]++;
	}
	for (uint32_t i = 1; i <= n; i++)
		if (owned[i] < lo || owned[i] > hi)
			return -1;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_maglev [-r RUNS] [-n N,N,...] [-s SIZE,SIZE,...]\n"
		"  -r RUNS   builds per figure (default 5, at most %d)\n"
		"  -n LIST   backend counts (default 10,100,1000,10000)\n"
		"  -s LIST   table sizes, primes (default 65537,655373)\n",
		MAX_RUNS);
}

int main(int argc, char **argv)
{
	uint32_t counts[MAX_CFG] = { 10, 100, 1000, 10000 };
	uint32_t sizes[MAX_CFG] = { 65537, 655373 };
	int ncounts = 4, nsizes = 2, runs = 5, opt, rc = EXIT_FAILURE;
	struct bench_fig fig[MAX_CFG][MAX_CFG];
	struct maglev_backend *be = NULL;
	uint32_t *table = NULL, *owned = NULL, maxn = 0, maxsize = 0;
	double ms[MAX_RUNS];

	bench_name = "bench_maglev";
	while ((opt = getopt(argc, argv, "r:n:s:h")) != -1) {
		switch (opt) {
		case 'r':
			runs = atoi(optarg);
			break;
		case 'n':
			ncounts = parse_list(optarg, counts, MAX_CFG);
			break;
		case 's':
			nsizes = parse_list(optarg, sizes, MAX_CFG);
			break;
		default: /* -h, or an option that is not one */
			return lb_opt_help(opt, usage);
		}
	}
	if (optind != argc || runs < 1 || runs > MAX_RUNS || ncounts < 1 ||
	    nsizes < 1) {
		usage(stderr);
		return EXIT_FAILURE;
	}
	for (int s = 0; s < nsizes; s++) {
		if (!maglev_is_prime(sizes[s])) {
			bench_warn("table size %u is not prime", sizes[s]);
			return EXIT_FAILURE;
		}
		if (sizes[s] > maxsize)
			maxsize = sizes[s];
	}
	for (int c = 0; c < ncounts; c++) {
		for (int s = 0; s < nsizes; s++) {
			if (counts[c] > sizes[s]) {
				bench_warn("%u backends do not fit %u entries",
					   counts[c], sizes[s]);
				return EXIT_FAILURE;
			}
		}
		if (counts[c] > maxn)
			maxn = counts[c];
	}

	be = calloc(maxn, sizeof(*be));
	owned = calloc(maxn + 1, sizeof(*owned));
	table = calloc(maxsize, sizeof(*table));
	if (!be || !owned || !table) {
		bench_warn("out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < maxn; i++) {
		uint8_t a[4] = { 10, (i + 1) >> 16, (i + 1) >> 8, i + 1 };

		be[i].id = i + 1;
		be[i].weight = 1;
		be[i].key = maglev_key(a, sizeof(a));
	}

	for (int c = 0; c < ncounts; c++) {
		for (int s = 0; s < nsizes; s++) {
			for (int r = 0; r < runs; r++) {
				uint64_t t0 = bench_now_ns();
				int err = maglev_build(be, counts[c], table,
						       sizes[s]);

				ms[r] = (bench_now_ns() - t0) / 1e6;
				if (err) {
					bench_warn("maglev_build: %s",
						   strerror(-err));
					goto out;
				}
				if (check_table(table, sizes[s], counts[c],
						owned)) {
					bench_warn("%u backends, %u entries: "
						   "unbalanced table",
						   counts[c], sizes[s]);
					goto out;
				}
			}
			bench_summarize(ms, runs, &fig[c][s]);
		}
	}

	printf("Median of %d builds (min-max), milliseconds per "
	       "maglev_build() call; weight 1 each, every table checked "
	       "for balance.\n\n",
	       runs);
	printf("| backends |");
	for (int s = 0; s < nsizes; s++)
		printf(" %u entries ms |", sizes[s]);
	if (nsizes > 1)
		printf(" %u / %u |", sizes[nsizes - 1], sizes[0]);
	printf("\n|---:|");
	for (int s = 0; s < nsizes + (nsizes > 1); s++)
		printf("---:|");
	printf("\n");
	for (int c = 0; c < ncounts; c++) {
		printf("| %u |", counts[c]);
		for (int s = 0; s < nsizes; s++)
			printf(" %.2f (%.2f-%.2f) |", fig[c][s].med,
			       fig[c][s].min, fig[c][s].max);
		if (nsizes > 1)
			printf(" %.1f |",
			       fig[c][nsizes - 1].med / fig[c][0].med);
		printf("\n");
	}
	rc = EXIT_SUCCESS;
out:
	free(be);
	free(owned);
	free(table);
	return rc;
}
