/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* tables.h - building Maglev tables (tables.c), for datapath.c. */
#ifndef LBD_TABLES_H
#define LBD_TABLES_H

#include <stdbool.h>
#include <stdint.h>

struct lbd;
struct lbd_vip;

/* A VIP's table built into a new map, for one swap of many. */
struct table_job {
	const struct lbd_vip *v;
	size_t who; /* its index in lbd_dp_sync_vips' list */
	uint64_t sig, digest;
	int fd; /* the new map, or -errno */
};

/* What v's table is built from (table size, backends, their weights and
 * keys): equal signatures, equal tables. */
uint64_t table_signature(const struct lbd_vip *v);

/*
 * The table of v's backends (as their weights are now): written in place
 * into the installed table when that table has the same size (*fd = -1:
 * done, nothing to swap), else into a new table map (*fd).  *digest: the
 * table's (digest.h).  0 or -errno.
 */
int build_table(struct lbd *d, struct lbd_vip *v, int *fd, uint64_t *digest);

/* Build the jobs' tables into new maps (j[i].fd, j[i].digest), on several
 * threads when there are many. */
void build_tables(struct table_job *j, size_t n);

/* Whether the datapath has a table for v (a restarted lbd finds the one
 * its predecessor pinned). */
bool has_table(struct lbd *d, const struct lbd_vip *v);

/* The digest (by backend address) of v's table as the state gives it
 * (*want) and of the one installed (*have); 0 or -errno. */
int table_digests(struct lbd *d, struct lbd_vip *v, uint64_t *want,
		  uint64_t *have);

#endif /* LBD_TABLES_H */
