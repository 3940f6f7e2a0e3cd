// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tables.c - building VIPs' Maglev tables for the datapath: one in place or
 * into a new map, many on as many threads as there are CPUs, and the
 * digests that check a table a restarted lbd found pinned.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "lbd.h"
#include "log.h"
#include "digest.h"
#include "maglev.h"
#include "tables.h"

uint64_t table_signature(const struct lbd_vip *v)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ v->table_size;

	for (size_t i = 0; i < v->nbe; i++) {
		uint64_t x = (uint64_t)v->be[i].id << 32 |
			     lbd_backend_table_weight(&v->be[i]);

		h = (h ^ x) * 0x100000001b3ULL;
		h = (h ^ maglev_key(&v->be[i].addr, sizeof(v->be[i].addr))) *
		    0x100000001b3ULL;
	}
	return h;
}

/* The Maglev input of v's backends as their weights are now (*mb) and v's
 * table built from it (*table), with its digest; both to free.  0 or
 * -errno. */
static int table_of(const struct lbd_vip *v, struct maglev_backend **mb,
		    uint32_t **table, uint64_t *digest)
{
	int err;

	*mb = calloc(v->nbe ? v->nbe : 1, sizeof(**mb));
	*table = malloc((size_t)v->table_size * sizeof(uint32_t));
	if (!*mb || !*table)
		return -ENOMEM;
	for (size_t i = 0; i < v->nbe; i++) {
		(*mb)[i].id = v->be[i].id;
		(*mb)[i].weight = lbd_backend_table_weight(&v->be[i]);
		(*mb)[i].key =
			maglev_key(&v->be[i].addr, sizeof(v->be[i].addr));
	}
	err = maglev_build(*mb, v->nbe, *table, v->table_size);
	return err ? err :
		     lb_table_digest(*mb, v->nbe, *table, v->table_size,
				     digest);
}

int build_table(struct lbd *d, struct lbd_vip *v, int *fd, uint64_t *digest)
{
	struct maglev_backend *mb = NULL;
	uint32_t *table = NULL;
	int err;

	*fd = -1;
	err = table_of(v, &mb, &table, digest);
	if (err)
		goto out;
	err = lb_dp_update_table(&d->dp, v->id, table, v->table_size);
	if (err != -ENOENT && err != -EMSGSIZE)
		goto out;
	*fd = lb_dp_table_create(v->id, table, v->table_size);
	err = *fd < 0 ? *fd : 0;
out:
	free(mb);
	free(table);
	return err;
}

struct table_jobs {
	struct table_job *j;
	size_t n;
	size_t next; /* the next job to take (atomic) */
};

/* Take jobs until none is left: the table (the input read only), its
 * digest, its map.  Nothing here logs or writes lbd's model. */
static void *run_jobs(void *arg)
{
	struct table_jobs *q = arg;
	size_t i;

	while ((i = __atomic_fetch_add(&q->next, 1, __ATOMIC_RELAXED)) < q->n) {
		struct table_job *j = &q->j[i];
		struct maglev_backend *mb = NULL;
		uint32_t *table = NULL;
		int err = table_of(j->v, &mb, &table, &j->digest);

		j->fd = err ? err :
			      lb_dp_table_create(j->v->id, table,
						 j->v->table_size);
		free(mb);
		free(table);
	}
	return NULL;
}

/* Jobs per thread below which one thread does them all. */
#define JOBS_PER_THREAD 8
#define MAX_THREADS 8

/*
 * The jobs, on as many threads as there are CPUs: a table of 65537 slots
 * takes 1-2 ms to build and about 0.5 ms to write into its map, so that an
 * apply of 1000 VIPs spends seconds here, all of it independent per VIP.
 */
void build_tables(struct table_job *j, size_t n)
{
	struct table_jobs q = { .j = j, .n = n };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t tid[MAX_THREADS];
	size_t want = n / JOBS_PER_THREAD, nt = 0;

	if (want > (size_t)(cpus > 0 ? cpus : 1))
		want = (size_t)(cpus > 0 ? cpus : 1);
	if (want > MAX_THREADS)
		want = MAX_THREADS;
	/* this thread is one of them */
	while (nt + 1 < want && !pthread_create(&tid[nt], NULL, run_jobs, &q))
		nt++;
	run_jobs(&q);
	while (nt)
		pthread_join(tid[--nt], NULL);
}

bool has_table(struct lbd *d, const struct lbd_vip *v)
{
	uint32_t inner;

	return !bpf_map_lookup_elem(d->dp.maglev, &v->id, &inner);
}

int table_digests(struct lbd *d, struct lbd_vip *v, uint64_t *want,
		  uint64_t *have)
{
	struct maglev_backend *mb = NULL;
	uint32_t *table = NULL;
	int err = table_of(v, &mb, &table, want);

	if (!err)
		err = lb_dp_table_read(&d->dp, v->id, v->table_size, table);
	if (!err)
		err = lb_table_digest(mb, v->nbe, table, v->table_size, have);
	free(mb);
	free(table);
	return err;
}
