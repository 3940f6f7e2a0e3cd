/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cache.h - the response cache that all workers of a host share.
 *
 * The cache lives in one fixed block of shared memory, created by the master
 * before it forks, so a worker's fetch serves every other worker.  Inside:
 * a hash index, an entry table with an LRU list, and the stored bytes in
 * fixed-size chunks (bounded by the capacity given at creation).
 *
 * Concurrency: one process-shared robust mutex.  Readers copy a value out
 * while holding it, so nobody ever reads a half-written entry.  A process
 * that dies holding the lock leaves it EOWNERDEAD; the next locker cannot
 * know which multi-word update was cut short, so it rebuilds an empty index
 * (a cache may always forget) and marks the mutex consistent.
 *
 * Single-flight: a missing key gets a FILLING entry owned by the worker that
 * fetches it; others asking for the key sleep on a futex in shared memory
 * until the fill ends, then take the result.  If the owner dies or overruns
 * its deadline, one waiter takes over the fill.
 */
#ifndef LB_BACKEND_CACHE_H
#define LB_BACKEND_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct cache;

enum cache_result {
	CACHE_HIT, /* value copied out */
	CACHE_MISS, /* caller fetches, then cache_fill() or cache_abort() */
	CACHE_PASS, /* caller fetches and does not store (private content) */
	CACHE_BUSY, /* cache_get_nowait: another process fills it now */
};

struct cache_ticket {
	uint32_t entry;
	uint32_t fill_id;
};

/* A caller-owned, growable buffer that values are copied into. */
struct cache_value {
	char *data;
	size_t len;
	size_t cap;
};

struct cache_stats {
	uint64_t capacity; /* bytes of value storage */
	uint64_t bytes; /* bytes in use by stored keys and values */
	uint64_t entries;
	uint64_t hits;
	uint64_t misses;
	uint64_t coalesced; /* requests that waited for another's fetch */
	uint64_t evictions;
	uint64_t expired;
	uint64_t recoveries; /* repairs after a holder of the lock died */
};

/* Bytes of shared memory needed for a cache of the given capacity. */
size_t cache_mem_size(uint64_t capacity);

/* Lay out an empty cache in mem (size from cache_mem_size). 0 or -errno. */
int cache_init(void *mem, size_t size, uint64_t capacity);

/* The cache already laid out in mem, or NULL if it is not a valid one. */
struct cache *cache_attach(void *mem, size_t size);

/*
 * Look up key.  On CACHE_HIT the stored value is copied into v.  On
 * CACHE_MISS the caller owns the fill described by t and must end it with
 * cache_fill() or cache_abort().  fill_ns bounds how long a fill may take
 * before a waiter takes it over.  Returns enum cache_result or -errno.
 */
int cache_get(struct cache *c, const void *key, size_t klen, uint64_t fill_ns,
	      struct cache_value *v, struct cache_ticket *t);
/* cache_get() that does not wait for another process's fill: CACHE_BUSY
 * instead (ask again later: its fill ends, or its owner dies or overruns
 * its deadline and the fill is taken over).  An event loop that holds
 * fills of its own must not wait for another's: that one may be waiting
 * for one of ours. */
int cache_get_nowait(struct cache *c, const void *key, size_t klen,
		     uint64_t fill_ns, struct cache_value *v,
		     struct cache_ticket *t);

/*
 * End a fill (or overwrite a key): ttl > 0 stores the value for ttl seconds;
 * ttl == 0 hands it only to the requests that waited for this fill; ttl < 0
 * marks the key pass-through for a short while (private responses are never
 * given to anybody else).  Returns the number of entries evicted to make
 * room (>= 0), or -errno.
 */
int cache_fill(struct cache *c, const struct cache_ticket *t, const void *key,
	       size_t klen, const void *val, size_t vlen, long ttl);

/* Forget key (PURGE): 1 if a stored value or pass-through marker was
 * dropped, 0 if there was none (a fill in progress is left to end),
 * or -errno. */
int cache_remove(struct cache *c, const void *key, size_t klen);

/* Forget every stored value (fills in progress and pass-through markers
 * stay): how many were dropped, or -errno. */
int cache_forget_all(struct cache *c);
/*
 * Event-loop waiters: a process that gets CACHE_BUSY from cache_get_nowait
 * is told when a fill ends (any fill: it asks again) by a datagram on the
 * socket cache_notify_open() returns, which it watches with epoll and
 * empties with cache_notify_drain() (the number of datagrams read).  slot
 * (below CACHE_NOTIFY_SLOTS) names the process among those that share the
 * cache; the socket is an abstract Unix one named after the cache, and
 * closes with the process.  A fill whose owner dies or overruns its
 * deadline ends with no datagram: a waiter also asks again now and then.
 */
#define CACHE_NOTIFY_SLOTS 256
int cache_notify_open(struct cache *c, int slot);
int cache_notify_drain(int fd);

/* Give up a fill: waiters wake and one of them fetches instead. */
void cache_abort(struct cache *c, const struct cache_ticket *t, const void *key,
		 size_t klen);

void cache_get_stats(struct cache *c, struct cache_stats *s);

/* Take the cache lock and keep it: lets tests play a process that dies
 * while holding it.  0 or -errno. */
int cache_lock_and_keep(struct cache *c);

/* Requests waiting for another's fetch right now (a test waits for its
 * waiters with it). */
uint32_t cache_waiting(struct cache *c);

/* How long a pass-through marker lasts. */
#define CACHE_PASS_TTL 5

#endif /* LB_BACKEND_CACHE_H */
