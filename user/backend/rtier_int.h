/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * rtier_int.h - what the files of the Redis tier share (rtier.h is what
 * the rest of lb-backend sees):
 *
 *   rtier.c          the lookups of a batch, stores, single flight
 *   rtier_conn.c     options, a worker's servers, the breaker, the loop
 *   rtier_cluster.c  the slot map of --redis-cluster
 *   rtier_purge.c    PURGE and the purge channel
 *   rtier_stats.c    the counters in /stats and /metrics
 *
 * One worker runs one Redis tier: its state is per-process, in rt.
 */
#ifndef LB_BACKEND_RTIER_INT_H
#define LB_BACKEND_RTIER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "rcluster.h"
#include "redis.h"
#include "rtier.h"

#define KEY_MAX (64 + 8192 + 16) /* prefix + the longest request line */
/* The longest target a key (or a lock key: prefix, "lock:", target) is
 * made of; the parser's line limit keeps targets shorter, and a longer one
 * would only ever go to the origin. */
#define TARGET_MAX (KEY_MAX - 64 - 16)

/* The servers: one with --redis, the masters of the slot map with
 * --redis-cluster (added as the cluster names them). */
#define MAX_NODES 32
#define NO_NODE 0xff
struct node {
	char name[300]; /* host:port */
	struct redis_addr addr;
	struct redis_conn c;
	long long down_until; /* cluster: failed, not tried again until */
	int failed; /* cluster: failed, not connected since */
	unsigned int nslots; /* cluster: slots the map gives it */
};

struct cache;

/* The Redis tier of this worker. */
struct rtier {
	const struct redis_config *rc;
	struct rtier_counters *ctr; /* this worker's, in the shared block */
	struct cache *local; /* the local tier, that purges remove from */
	struct breaker bk;
	long long busy_since; /* replies awaited since (ms), 0: none */
	struct node nodes[MAX_NODES];
	unsigned int nnodes;
	uint8_t slot_node[CLUSTER_SLOTS]; /* cluster: master of a slot */
	int map_stale; /* cluster: ask for the slot map before use */
	int have_map; /* cluster: a slot map was ever learnt */
	int map_asking; /* cluster: a CLUSTER SLOTS is out */
	int probe_refused; /* a probe or a slot map answered with an error */
	struct redis_conn sub; /* subscribed to the purge channel */
	int last_err; /* -errno of the last server failure */
};
extern struct rtier rt;

/* rtier_conn.c */
/* A breaker transition (breaker_success/failure's result) logged. */
void rtier_breaker_log(int changed, const char *why);
/* The server failed (err: -ETIMEDOUT or another): close, count, open. */
void rtier_server_failed(int err);
/* The connection to node i, connecting when it is down; NULL if that
 * fails at once. */
struct redis_conn *rtier_node_conn(unsigned int i);
/* The connection for key: its slot's master (the one server without a
 * cluster); NULL if there is none or it cannot be reached. */
struct redis_conn *rtier_conn_for(const char *key, size_t klen);
/* Commands whose replies nobody waits for are out. */
void rtier_mark_busy(void);
/* Whether Redis may be asked now; connects when needed. */
int rtier_usable(void);
/* PREFIX + target into k (KEY_MAX bytes); its length. */
size_t rtier_make_key(char *k, const char *target, size_t len);
/* The connections' sockets in the worker's epoll as they are now. */
void rtier_watch_sync(void);

/* rtier_cluster.c */
/* The node named host:port, added if new; -1 if it cannot be. */
int rtier_node_find(const char *name);
/* The slot map, waited for (a worker's start only); 0 or -errno. */
int rtier_refresh_map(void);
/* The slot map asked for, not waited for. */
void rtier_map_refresh(void);
/* A map that names a failed master is asked for again in time. */
void rtier_map_watch(long long now);

/* rtier.c */
/* Move what the sockets allow; fail a server whose replies are overdue. */
void rtier_pump(long long now);

/* rtier_purge.c */
/* Keep the subscription to the purge channel, and read what it brings. */
void rtier_sub_tick(long long now);
/* Move the PURGEs whose replies are in on, answering those that are over. */
void rtier_purges_step(void);
/* Whether a PURGE has its replies in and is to be moved on now. */
int rtier_purge_ready(void);

#endif /* LB_BACKEND_RTIER_INT_H */
