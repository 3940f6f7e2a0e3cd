/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * master.h - what the files of the lb-backend master share.  master.c runs
 * its loop (signals, reload and shutdown in steps); children.c forks the
 * workers, reaps them and replaces the ones that die; handover.c holds the
 * listening sockets and the shared block, and hands them over across the
 * exec of a reload.
 */
#ifndef LB_BACKEND_MASTER_H
#define LB_BACKEND_MASTER_H

#include <limits.h>
#include <sys/types.h>

#include "backend.h"

#define ENV_INHERIT "LB_BACKEND_INHERIT"
#define ENV_ADMIN "LB_BACKEND_ADMIN" /* ADDR:PORT the inherited afd is on */

struct child {
	pid_t pid; /* 0 while waiting to be respawned */
	int used; /* slot taken (by a live worker or a pending respawn) */
	int old; /* of a previous generation: drains, never respawned */
	unsigned int index;
	long long started; /* mono ms */
	long long respawn_at; /* mono ms, while pid == 0 */
	unsigned int fails; /* deaths in a row within CRASH_WINDOW_MS */
};

/* The master's state, one for the process. */
struct master {
	struct config *cfg;
	struct shared *sh;
	size_t sh_size;
	int lfd, afd, shmfd, sigfd;
	/* --accept reuseport: worker i of the generation accepts on rp[i];
	 * those of the previous generation (old_rp) close once it drains */
	int rp[MAX_SLOTS], nrp, old_rp[MAX_SLOTS], nold_rp;
	char exe[PATH_MAX];
	struct child children[MAX_SLOTS];
	/* old workers that live in a previous shared block (cache size
	 * changed) */
	pid_t foreign[MAX_SLOTS];
	int nforeign;
};

extern struct master ms;

/* ---- children.c */

/* Start a full set of workers (a new generation). */
void start_generation(void);
/* Workers alive (only those of older generations with old_only). */
int live_children(int old_only);
void signal_all(int sig, int old_only);
/* Collect the workers that died; schedule their replacement unless
 * stopping. */
void reap(int stopping);
/* Never go long without a worker, whatever the crash brake says. */
void keep_one(long long now);
/* Start the replacements due by now; lower *next to the next one due. */
void respawn_due(long long now, long long *next);
/* 1 once every worker of the generation accepts. */
int all_ready(void);

/* ---- handover.c */

/* A first start: the listening sockets and a new shared block.  0, or -1
 * after saying why. */
int open_fresh(void);
/* --accept reuseport: a socket per worker index.  0, or -1. */
int open_reuseport(void);

/* ---- steer.c */

/* New connections of the reuseport group of fds[0..n) go to fds[k mod n]
 * for the k-th connection.  0, or a negative errno (logged; the kernel's
 * hash then chooses). */
int reuseport_steer(const int *fds, int n);
/* After a reload: take over what the previous master left (env is
 * ENV_INHERIT's value): sockets, shared block, workers.  0, or a negative
 * errno. */
int inherit(const char *env);
/* SIGHUP: check the new configuration, then exec the binary on disk; back
 * here only when that failed. */
void reload(int argc, char **argv);

#endif /* LB_BACKEND_MASTER_H */
