/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * rtier.h - the Redis tier of lb-backend's cache: local shared memory
 * first, then Redis (--redis), then the origin.
 *
 * Each worker has its own connection to Redis, in its epoll loop, and
 * looks up the misses of one batch together: one pipelined GET, PTTL and
 * SET NX per key.  The worker does not wait for the replies: the misses
 * are parked in their batch until the replies are in, or --redis-timeout
 * has passed.  What Redis holds fills the local
 * tier with its remaining TTL; what it lacks is fetched from the origin and
 * stored in Redis (SET ... PX ttl, not waited for) when the origin's cache
 * policy made it cacheable, as for the local tier.  A timeout or a failed
 * connection opens the worker's circuit breaker: Redis is skipped for
 * --redis-retry, then one batch probes it.  Redis never fails a request:
 * whatever goes wrong with it, the answer comes from the origin.
 */
#ifndef LB_BACKEND_RTIER_H
#define LB_BACKEND_RTIER_H

#include <stdint.h>

#include "origin.h"
#include "redis.h"

struct redis_config {
	char url[512]; /* --redis, "" when there is no Redis tier */
	struct redis_addr addr;
	unsigned int timeout_ms; /* --redis-timeout: replies are due */
	unsigned int retry_ms; /* --redis-retry: an open breaker waits */
	unsigned int lock_wait_ms; /* --redis-lock-wait: single flight */
	uint64_t max_object; /* --redis-max-object: stored value bytes */
	char prefix[64]; /* --redis-prefix of every key */
	int cluster; /* --redis-cluster: url holds the seed nodes */
#define RTIER_MAX_SEEDS 8
	char seeds[RTIER_MAX_SEEDS][300]; /* host:port of each */
	unsigned int nseeds;
	/* cluster: the user and password of every node (from the seeds) */
	char username[128], password[128];
	char shown[512]; /* the server(s) for /stats: no password */
};

/* Counters of one worker, in its slot of the shared block. */
struct rtier_counters {
	uint64_t hits; /* lookups answered by Redis */
	uint64_t misses; /* lookups Redis could not answer */
	uint64_t origin; /* fetches that went on to the origin */
	uint64_t stores; /* objects written to Redis */
	uint64_t errors; /* failed connections, error replies */
	uint64_t timeouts; /* waits that overran --redis-timeout */
	uint64_t skipped; /* lookups not made: the breaker was open */
	uint64_t corrupt; /* stored values refused (rvalue.h) */
	uint64_t too_big; /* objects over --redis-max-object */
	uint64_t purges; /* PURGE requests answered */
	uint64_t purge_msgs; /* purge messages applied to the local tier */
	uint64_t purge_resets; /* local tier dropped: purges went unheard */
	uint64_t lock_served; /* misses answered by another host's fetch */
	uint64_t lock_expired; /* waits for another host's fetch ran out */
	uint64_t redirects; /* cluster MOVED and ASK followed */
	uint64_t breaker_opened; /* closed -> open transitions */
	/* for the host's other workers (rtier_purge.c): the purge count this
	 * worker's local tier has heard up to, plus one (0: unknown), and
	 * whether it listens on the purge channel now */
	uint64_t purge_heard;
	uint32_t purge_listening;
	uint32_t breaker; /* enum breaker_state, now */
};

/* Defaults of the options. */
void rtier_config_init(struct redis_config *rc);
/* Check the options once all are read; 0 or -EINVAL after a message. */
int rtier_config_check(struct redis_config *rc);

struct cache;
/* In a worker, before its first request; purges remove from cache. */
void rtier_worker_init(const struct redis_config *rc,
		       struct rtier_counters *ctr, struct cache *cache);

/*
 * Look n targets (at most ORIGIN_BATCH) up in Redis without waiting for
 * it.  The first time a target is passed, its lookup is sent and it is
 * parked (parked[i] = 1, r[i] untouched): pass it again in a later round,
 * once Redis has answered (its socket is in the worker's epoll,
 * rtier_watch) or rtier_wait_ms() has passed.  A target not parked is
 * answered from Redis (from_redis[i] = 1, r[i].ttl its remaining TTL), or
 * is the caller's to fetch from the origin (both 0): holder[i] = 1 when
 * this host took the key's lock, which rtier_fetched() releases.  Returns 0.
 */
int rtier_lookup_many(const struct origin_target *t, unsigned int n,
		      const struct origin_limits *lim, struct origin_reply *r,
		      unsigned char *from_redis, unsigned char *parked,
		      unsigned char *holder);
/* The origin's answer r to a target that rtier_lookup_many() left to the
 * origin: stored in Redis when cacheable, then the lock released (holder). */
void rtier_fetched(const struct origin_target *t, const struct origin_reply *r,
		   int holder);
/* Milliseconds until a parked lookup needs its round (its replies are
 * due, or it asks again for another host's fetch); 100 at most, 0 without
 * a Redis tier. */
int rtier_wait_ms(void);
/* Watch the Redis connections in the worker's epoll; their events carry
 * data.ptr = tag and call for rtier_tick(). */
void rtier_watch(int epfd, void *tag);

/* The end of a PURGE that waited for Redis (see rtier_purge). */
typedef void rtier_purge_fn(void *arg, int local, int err, long long deleted,
			    long long receivers);

/*
 * PURGE of target: remove it from the local tier, from Redis, and (by a
 * message on the channel PREFIX"purge") from the local tier of every host.
 * Every worker of every host subscribes to that channel and applies what
 * it receives, so one live worker per host suffices.  Nothing is waited
 * for: 1 when Redis is being told, and done(arg, ...) is called from
 * rtier_tick() once its replies are in or --redis-timeout has passed
 * (never from this call); 0 when the purge is over at once, *local and
 * *err filled (no Redis tier, or it could not be asked).  done gets local
 * (1 if this host held it), err (0, or -errno when Redis could not be
 * told: the local tier is purged all the same), deleted (keys removed
 * from Redis) and receivers (subscribed workers the message reached).
 */
int rtier_purge(const char *target, size_t len, rtier_purge_fn *done, void *arg,
		int *local, int *err);
/* The PURGE of arg is not to be answered any more (its client went). */
void rtier_purge_forget(void *arg);
/* Whether a PURGE waits for Redis: rtier_tick() is due every round. */
int rtier_purging(void);

/* A Redis socket is ready, or the loop's housekeeping: read and write,
 * fail a server whose replies are overdue, keep the purge channel. */
void rtier_tick(long long now_ms);

struct shared;
struct jw;
/* The Redis figures of every worker summed up, as the member "redis" of
 * the object w is in; nothing without --redis. */
void rtier_stats_json(struct jw *w, const struct shared *sh);
struct prom;
void rtier_metrics(struct prom *p, const struct shared *sh);

#endif /* LB_BACKEND_RTIER_H */
