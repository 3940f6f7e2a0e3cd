/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * backend.h - what the master and the workers of lb-backend share: the
 * configuration, and the layout of the shared memory block (per-worker
 * counters, the draining flag, then the cache).
 */
#ifndef LB_BACKEND_H
#define LB_BACKEND_H

#include <limits.h>
#include <stdint.h>
#include <time.h>

#include "cache.h"
#include "http.h"
#include "metrics.h"
#include "origin.h"
#include "rtier.h"

/* How the workers share the listening address (--accept). */
enum accept_mode {
	ACCEPT_ROTATE, /* one socket; EPOLLEXCLUSIVE, waiters rotated */
	ACCEPT_EXCLUSIVE, /* one socket; EPOLLEXCLUSIVE alone */
	ACCEPT_REUSEPORT, /* a SO_REUSEPORT socket per worker */
};

struct config {
	char listen[300]; /* ADDR:PORT */
	char admin_listen[300]; /* ADDR:PORT of the admin endpoints, or "" */
	unsigned int workers;
	int accept_mode; /* enum accept_mode */
	char origin_url[512];
	char root[PATH_MAX]; /* realpath of --root */
	uint64_t cache_size;
	uint64_t max_object; /* larger bodies are never stored */
	uint64_t max_response; /* origin bodies larger than this: 502 */
	char temp_dir[PATH_MAX]; /* origin bodies over max_object go here */
	int cache_cookies; /* store answers with Set-Cookie (without it) */
	unsigned int origin_keepalive; /* idle origin connections per worker */
	unsigned int origin_pipeline; /* requests sent together on one */
	unsigned int origin_idle_ms; /* an idle one is closed after this */
	long ttl;
	unsigned int read_timeout_ms; /* a request head must arrive within */
	unsigned int idle_timeout_ms; /* keep-alive connection with nothing */
	unsigned int connect_timeout_ms; /* origin connect */
	unsigned int origin_timeout_ms; /* whole origin fetch */
	unsigned int drain_delay_ms; /* SIGTERM: 503 on /healthz this long */
	unsigned int grace_ms; /* SIGTERM: then in-flight requests get this */
	unsigned int max_conns; /* per worker */
	struct http_limits limits;
	char config_file[PATH_MAX];
	int verbose;
	struct origin origin;
	struct redis_config redis; /* --redis* (rtier.h) */
};

/* Parse argv (and --config FILE).  0, or -EINVAL after printing why. */
int config_parse(int argc, char **argv, struct config *cfg);

#define MAX_SLOTS 256 /* workers of all generations alive at once */

/* One per worker, written only by that worker (nginx's model): a cache line
 * of its own so that counting never bounces lines between cores. */
struct worker_slot {
	int32_t pid; /* 0: free; written by the master */
	uint32_t generation;
	uint32_t index; /* 0..workers-1 within its generation */
	uint32_t ready; /* set by the worker once it accepts */
	uint64_t started; /* CLOCK_REALTIME seconds */
	uint64_t beat; /* the worker's last turn of its loop (mono ms) */
	uint64_t restarts; /* replacements of this slot after a death */
	uint64_t requests;
	uint64_t hits;
	uint64_t misses;
	uint64_t evictions;
	uint64_t connections; /* open right now */
	uint64_t origin_connects; /* new connections to the origin */
	uint64_t origin_reused; /* fetches on a pooled connection */
	uint64_t origin_retries; /* stale pooled connections retried */
	uint64_t fill_wakes; /* notices that another worker's fill ended */
	struct worker_metrics m; /* for /metrics (metrics.h) */
	struct rtier_counters redis; /* the Redis tier (rtier.h) */
} __attribute__((aligned(64)));

#define SHARED_MAGIC 0x4c424b53u /* "LBKS" */
/* 2: the cache counts its waiters; 3: worker slots hold worker_metrics;
 * 4: and the Redis tier's counters; 5: and the worker's heartbeat;
 * 6: purge_resets among the Redis counters; 7: and the purge count each
 * worker heard; 8: slot_end; 9: fill_wakes */
#define SHARED_VERSION 9

struct shared {
	uint32_t magic, version;
	uint64_t size; /* of the whole block */
	uint64_t cache_size; /* --cache-size it was built for */
	uint32_t draining; /* /healthz answers 503 */
	uint32_t generation; /* bumped at every reload */
	uint32_t slot_end; /* every slot ever used lies below this */
	struct worker_slot slots[MAX_SLOTS];
	/* the cache follows, 64-byte aligned */
	char cache[] __attribute__((aligned(64)));
};

static inline struct cache *shared_cache(struct shared *sh)
{
	return cache_attach(sh->cache, sh->size - sizeof(*sh));
}

/* Milliseconds of CLOCK_MONOTONIC. */
static inline long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

#define STAT_ADD(field, n) __atomic_add_fetch(&(field), (n), __ATOMIC_RELAXED)
#define STAT_SET(field, n) __atomic_store_n(&(field), (n), __ATOMIC_RELAXED)
#define STAT_GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* Run a worker; never returns. */
void worker_run(const struct config *cfg, int lfd, int afd, struct shared *sh,
		int slot) __attribute__((noreturn));

/* Run the master: fork workers and supervise them.  Returns the exit code. */
int master_run(struct config *cfg, int argc, char **argv);

#endif /* LB_BACKEND_H */
