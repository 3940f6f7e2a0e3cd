// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* cache.c - the shared response cache; see cache.h for the design. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"

#define CACHE_MAGIC 0x4c424b43u /* "LBKC" */
#define CACHE_VERSION 3
#define CHUNK 256u /* allocation unit: small waste, short chains */
#define NIL UINT32_MAX
#define WAIT_SLICE_NS 20000000ull /* re-check a fill's owner this often */

enum entry_state { E_FREE, E_FILLING, E_READY, E_PASS };

struct cache_entry {
	uint64_t hash;
	uint64_t expires; /* READY, PASS: CLOCK_MONOTONIC ns */
	uint64_t deadline; /* FILLING: waiters take over after this */
	uint32_t hnext; /* hash chain; free list when FREE */
	uint32_t prev, next; /* LRU (READY and PASS entries only) */
	uint32_t chunk; /* first chunk: key, then value */
	uint32_t nchunks;
	uint32_t klen, vlen;
	uint32_t state; /* enum entry_state */
	uint32_t fill_id; /* which fill wrote (or is writing) this entry */
	int32_t owner; /* FILLING: pid of the fetching process */
};

struct cache {
	uint32_t magic, version;
	uint64_t mem_size;
	pthread_mutex_t lock;
	/* futex word: bumped and woken whenever a fill ends */
	uint32_t fill_seq;
	/* processes between deciding to wait and having waited: a fill
	 * that ends with none spares itself the FUTEX_WAKE system call.
	 * Never reset: one that died waiting costs only needless wakes. */
	uint32_t nwaiting;
	uint32_t next_fill_id;
	/* processes that wait in an event loop (cache_get_nowait) for a
	 * fill: a bit per notify slot, cleared and signalled when a fill
	 * ends (see cache_notify_open) */
	uint64_t busy_mask[CACHE_NOTIFY_SLOTS / 64];
	uint64_t notify_token; /* names this cache's notify sockets */
	uint32_t nbuckets, nentries, nchunks;
	uint32_t free_entry, free_chunk, nfree_chunks;
	uint32_t lru_head, lru_tail; /* head = most recently used */
	uint64_t off_buckets, off_entries, off_chunk_next, off_data;
	struct cache_stats st;
};

/* This process's notify slot (cache_notify_open), the socket it sends
 * notices with, and the slots to signal once the lock is released. */
static int notify_slot = -1;
static int notify_tx = -1; /* unbound */
static uint64_t notify_pending[CACHE_NOTIFY_SLOTS / 64];

static inline uint32_t *buckets(struct cache *c)
{
	return (uint32_t *)((char *)c + c->off_buckets);
}

static inline struct cache_entry *ent(struct cache *c, uint32_t i)
{
	return (struct cache_entry *)((char *)c + c->off_entries) + i;
}

static inline uint32_t *chunk_next(struct cache *c)
{
	return (uint32_t *)((char *)c + c->off_chunk_next);
}

static inline char *chunk_data(struct cache *c, uint32_t i)
{
	return (char *)c + c->off_data + (uint64_t)i * CHUNK;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t hash_key(const void *key, size_t n)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	while (n--)
		h = (h ^ *p++) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static size_t align64(size_t x)
{
	return (x + 63) & ~(size_t)63;
}

struct layout {
	uint32_t nbuckets, nentries, nchunks;
	size_t off_buckets, off_entries, off_chunk_next, off_data, size;
};

static void plan(uint64_t capacity, struct layout *l)
{
	l->nchunks = capacity / CHUNK;
	if (l->nchunks < 4)
		l->nchunks = 4;
	/* every entry holds at least one chunk */
	l->nentries = l->nchunks;
	l->nbuckets = 16;
	while (l->nbuckets < l->nentries)
		l->nbuckets <<= 1;
	l->off_buckets = align64(sizeof(struct cache));
	l->off_entries = align64(l->off_buckets + 4ul * l->nbuckets);
	l->off_chunk_next = align64(l->off_entries +
				    sizeof(struct cache_entry) * l->nentries);
	l->off_data = align64(l->off_chunk_next + 4ul * l->nchunks);
	l->size = l->off_data + (size_t)l->nchunks * CHUNK;
}

size_t cache_mem_size(uint64_t capacity)
{
	struct layout l;

	if (capacity > (uint64_t)UINT32_MAX * CHUNK / 2)
		return 0;
	plan(capacity, &l);
	return l.size;
}

/* Empty index: every entry and chunk free.  Stats survive. */
static void reset_index(struct cache *c)
{
	uint32_t i;

	memset(buckets(c), 0xff, 4ul * c->nbuckets);
	for (i = 0; i < c->nentries; i++) {
		memset(ent(c, i), 0, sizeof(struct cache_entry));
		ent(c, i)->hnext = i + 1 < c->nentries ? i + 1 : NIL;
	}
	for (i = 0; i < c->nchunks; i++)
		chunk_next(c)[i] = i + 1 < c->nchunks ? i + 1 : NIL;
	c->free_entry = 0;
	c->free_chunk = 0;
	c->nfree_chunks = c->nchunks;
	c->lru_head = c->lru_tail = NIL;
	c->st.bytes = 0;
	c->st.entries = 0;
}

int cache_init(void *mem, size_t size, uint64_t capacity)
{
	struct cache *c = mem;
	pthread_mutexattr_t ma;
	struct layout l;
	int err;

	plan(capacity, &l);
	if (size < l.size)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	err = pthread_mutexattr_init(&ma);
	if (err)
		return -err;
	err = pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	if (!err)
		err = pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	if (!err)
		err = pthread_mutex_init(&c->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	if (err)
		return -err;
	c->mem_size = l.size;
	c->nbuckets = l.nbuckets;
	c->nentries = l.nentries;
	c->nchunks = l.nchunks;
	c->off_buckets = l.off_buckets;
	c->off_entries = l.off_entries;
	c->off_chunk_next = l.off_chunk_next;
	c->off_data = l.off_data;
	c->st.capacity = (uint64_t)l.nchunks * CHUNK;
	c->next_fill_id = 1;
	if (getrandom(&c->notify_token, sizeof(c->notify_token), 0) !=
	    sizeof(c->notify_token))
		c->notify_token = (uint64_t)getpid() << 32 ^ now_ns();
	reset_index(c);
	c->version = CACHE_VERSION;
	__atomic_store_n(&c->magic, CACHE_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

struct cache *cache_attach(void *mem, size_t size)
{
	struct cache *c = mem;

	if (size < sizeof(*c) || c->magic != CACHE_MAGIC ||
	    c->version != CACHE_VERSION || c->mem_size > size)
		return NULL;
	return c;
}

/* The abstract socket address of notify slot s of cache c. */
static socklen_t notify_addr(const struct cache *c, int s,
			     struct sockaddr_un *a)
{
	int n;

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1,
		     "lb-backend/%016llx/%d",
		     (unsigned long long)c->notify_token, s);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

int cache_notify_open(struct cache *c, int slot)
{
	struct sockaddr_un a;
	socklen_t len;
	int fd;

	if (slot < 0 || slot >= CACHE_NOTIFY_SLOTS)
		return -EINVAL;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	len = notify_addr(c, slot, &a);
	if (bind(fd, (struct sockaddr *)&a, len)) {
		int err = -errno;

		close(fd);
		return err;
	}
	notify_slot = slot;
	return fd;
}

int cache_notify_drain(int fd)
{
	char b[16];
	int n = 0;

	while (recv(fd, b, sizeof(b), MSG_DONTWAIT) >= 0)
		n++;
	return n;
}

/* Signal the slots a fill's end left pending (the lock released). */
static void notify_flush(struct cache *c)
{
	struct sockaddr_un a;

	for (int w = 0; w < CACHE_NOTIFY_SLOTS / 64; w++)
		while (notify_pending[w]) {
			int s = w * 64 + __builtin_ctzll(notify_pending[w]);
			socklen_t len = notify_addr(c, s, &a);

			notify_pending[w] &= notify_pending[w] - 1;
			if (notify_tx < 0)
				notify_tx = socket(AF_UNIX,
						   SOCK_DGRAM | SOCK_NONBLOCK |
							   SOCK_CLOEXEC,
						   0);
			/* a full queue already says "look again"; a slot
			 * whose process is gone has no socket: both fine */
			sendto(notify_tx, "", 0, MSG_DONTWAIT,
			       (struct sockaddr *)&a, len);
		}
}

static void wake_waiters(struct cache *c)
{
	for (int w = 0; w < CACHE_NOTIFY_SLOTS / 64; w++)
		if (c->busy_mask[w]) {
			notify_pending[w] |= c->busy_mask[w];
			c->busy_mask[w] = 0;
		}
	__atomic_add_fetch(&c->fill_seq, 1, __ATOMIC_RELEASE);
	/* not FUTEX_PRIVATE: the word is shared between processes.  A
	 * waiter counts itself under the lock, which the caller holds. */
	if (__atomic_load_n(&c->nwaiting, __ATOMIC_ACQUIRE))
		syscall(SYS_futex, &c->fill_seq, FUTEX_WAKE, INT_MAX, NULL,
			NULL, 0);
}

static int cache_lock(struct cache *c)
{
	int err = pthread_mutex_lock(&c->lock);

	if (err == EOWNERDEAD) {
		/* The holder died mid-update: nothing in the index can be
		 * trusted, but the stored bytes need not be, so start empty.
		 * Fills in progress end up re-inserting their keys. */
		reset_index(c);
		c->st.recoveries++;
		pthread_mutex_consistent(&c->lock);
		wake_waiters(c);
		err = 0;
	}
	return -err;
}

static void cache_unlock(struct cache *c)
{
	pthread_mutex_unlock(&c->lock);
	notify_flush(c);
}

static void lru_unlink(struct cache *c, uint32_t i)
{
	struct cache_entry *e = ent(c, i);

	if (e->prev != NIL)
		ent(c, e->prev)->next = e->next;
	else
		c->lru_head = e->next;
	if (e->next != NIL)
		ent(c, e->next)->prev = e->prev;
	else
		c->lru_tail = e->prev;
	e->prev = e->next = NIL;
}

static void lru_push(struct cache *c, uint32_t i)
{
	struct cache_entry *e = ent(c, i);

	e->prev = NIL;
	e->next = c->lru_head;
	if (c->lru_head != NIL)
		ent(c, c->lru_head)->prev = i;
	c->lru_head = i;
	if (c->lru_tail == NIL)
		c->lru_tail = i;
}

static void chunks_free(struct cache *c, struct cache_entry *e)
{
	uint32_t i = e->chunk, n;

	if (i == NIL)
		return;
	while (i != NIL) {
		n = chunk_next(c)[i];
		chunk_next(c)[i] = c->free_chunk;
		c->free_chunk = i;
		c->nfree_chunks++;
		i = n;
	}
	c->st.bytes -= e->klen + (e->state == E_READY ? e->vlen : 0);
	e->chunk = NIL;
	e->nchunks = 0;
}

/* Unlink entry i from its hash chain and free it with its chunks. */
static void entry_drop(struct cache *c, uint32_t i)
{
	struct cache_entry *e = ent(c, i);
	uint32_t *pp = &buckets(c)[e->hash & (c->nbuckets - 1)];

	while (*pp != NIL && *pp != i)
		pp = &ent(c, *pp)->hnext;
	if (*pp == i)
		*pp = e->hnext;
	if (e->state == E_READY || e->state == E_PASS)
		lru_unlink(c, i);
	chunks_free(c, e);
	e->state = E_FREE;
	e->hnext = c->free_entry;
	c->free_entry = i;
	c->st.entries--;
}

static int evict_one(struct cache *c, uint32_t keep)
{
	uint32_t i = c->lru_tail;

	if (i == keep && i != NIL)
		i = ent(c, i)->prev;
	if (i == NIL)
		return -ENOSPC;
	entry_drop(c, i);
	c->st.evictions++;
	return 0;
}

/* A chain of chunks for n bytes, evicting LRU entries (never keep). */
static uint32_t chunks_alloc(struct cache *c, size_t n, uint32_t keep,
			     int *evicted)
{
	uint32_t need = n ? (n + CHUNK - 1) / CHUNK : 1, first = NIL, i;

	if (need > c->nchunks / 2)
		return NIL; /* one object may not wash out the whole cache */
	while (c->nfree_chunks < need) {
		if (evict_one(c, keep))
			return NIL;
		(*evicted)++;
	}
	while (need--) {
		i = c->free_chunk;
		c->free_chunk = chunk_next(c)[i];
		c->nfree_chunks--;
		chunk_next(c)[i] = first;
		first = i;
	}
	return first;
}

/* Copy n bytes between buf and the chain from chunk i, starting off bytes
 * into it: into the chain with to_chain, out of it otherwise. */
static void chain_copy(struct cache *c, uint32_t i, size_t off, char *buf,
		       size_t n, int to_chain)
{
	size_t k;

	while (off >= CHUNK) {
		i = chunk_next(c)[i];
		off -= CHUNK;
	}
	while (n) {
		k = CHUNK - off < n ? CHUNK - off : n;
		if (to_chain)
			memcpy(chunk_data(c, i) + off, buf, k);
		else
			memcpy(buf, chunk_data(c, i) + off, k);
		buf += k;
		n -= k;
		off = 0;
		i = chunk_next(c)[i];
	}
}

static void chain_write(struct cache *c, uint32_t i, size_t off,
			const void *src, size_t n)
{
	/* buf is only read when copying into the chain */
	chain_copy(c, i, off, (char *)src, n, 1);
}

static void chain_read(struct cache *c, uint32_t i, size_t off, void *dst,
		       size_t n)
{
	chain_copy(c, i, off, dst, n, 0);
}

static int chain_equal(struct cache *c, uint32_t i, const void *key, size_t n)
{
	const char *k = key;
	size_t m;

	while (n) {
		m = n < CHUNK ? n : CHUNK;
		if (memcmp(chunk_data(c, i), k, m))
			return 0;
		k += m;
		n -= m;
		i = chunk_next(c)[i];
	}
	return 1;
}

static uint32_t lookup(struct cache *c, uint64_t h, const void *key, size_t n)
{
	uint32_t i = buckets(c)[h & (c->nbuckets - 1)];

	while (i != NIL) {
		struct cache_entry *e = ent(c, i);

		if (e->hash == h && e->klen == n &&
		    chain_equal(c, e->chunk, key, n))
			return i;
		i = e->hnext;
	}
	return NIL;
}

/* (Re)write entry i's chain as key + value; -ENOSPC if it cannot be had. */
static int entry_store(struct cache *c, uint32_t i, const void *key,
		       size_t klen, const void *val, size_t vlen, int *evicted)
{
	struct cache_entry *e = ent(c, i);
	uint32_t ch;

	chunks_free(c, e);
	e->klen = klen;
	ch = chunks_alloc(c, klen + vlen, i, evicted);
	if (ch == NIL) {
		/* keep at least the key so the entry stays findable */
		ch = chunks_alloc(c, klen, i, evicted);
		if (ch == NIL)
			return -ENOSPC;
		e->chunk = ch;
		e->vlen = 0;
		chain_write(c, ch, 0, key, klen);
		c->st.bytes += klen;
		return -E2BIG;
	}
	e->chunk = ch;
	e->vlen = vlen;
	chain_write(c, ch, 0, key, klen);
	chain_write(c, ch, klen, val, vlen);
	c->st.bytes += klen;
	return 0;
}

/* New FILLING entry for key owned by us; NIL if the cache has no room. */
static uint32_t entry_new(struct cache *c, uint64_t h, const void *key,
			  size_t klen, int *evicted)
{
	uint32_t i, *b;
	struct cache_entry *e;

	if (c->free_entry == NIL && evict_one(c, NIL) == 0)
		(*evicted)++;
	i = c->free_entry;
	if (i == NIL)
		return NIL;
	e = ent(c, i);
	c->free_entry = e->hnext;
	memset(e, 0, sizeof(*e));
	e->chunk = NIL;
	e->prev = e->next = NIL;
	e->state = E_FILLING;
	e->hash = h;
	c->st.entries++;
	b = &buckets(c)[h & (c->nbuckets - 1)];
	e->hnext = *b;
	*b = i;
	if (entry_store(c, i, key, klen, NULL, 0, evicted)) {
		entry_drop(c, i);
		return NIL;
	}
	return i;
}

/*
 * This process's pid, asked of the kernel once: a fill records its owner
 * on every miss, and getpid() is a system call.  A child of fork() forgets
 * the value it inherited.
 */
static pid_t self_pid;

static void self_forget(void)
{
	self_pid = 0;
}

static pid_t self(void)
{
	static int registered;

	if (!registered) {
		pthread_atfork(NULL, NULL, self_forget);
		registered = 1;
	}
	if (!self_pid)
		self_pid = getpid();
	return self_pid;
}

static int pid_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH);
}

/* Make entry i a fill owned by the caller. */
static void own_fill(struct cache *c, uint32_t i, uint64_t now,
		     uint64_t fill_ns, struct cache_ticket *t)
{
	struct cache_entry *e = ent(c, i);

	e->owner = self();
	e->deadline = now + fill_ns;
	e->fill_id = c->next_fill_id++;
	if (!c->next_fill_id)
		c->next_fill_id = 1;
	t->entry = i;
	t->fill_id = e->fill_id;
	c->st.misses++;
}

static int copy_value(struct cache *c, struct cache_entry *e,
		      struct cache_value *v)
{
	if (v->cap < e->vlen) {
		char *p = realloc(v->data, e->vlen);

		if (!p)
			return -ENOMEM;
		v->data = p;
		v->cap = e->vlen;
	}
	chain_read(c, e->chunk, e->klen, v->data, e->vlen);
	v->len = e->vlen;
	return 0;
}

static int get(struct cache *c, const void *key, size_t klen, uint64_t fill_ns,
	       struct cache_value *v, struct cache_ticket *t, int nowait)
{
	uint64_t h = hash_key(key, klen), now, give_up = 0;
	uint32_t i, waited = 0, seq;
	struct cache_entry *e;
	struct timespec ts;
	int err, evicted = 0, ret;

	err = cache_lock(c);
	if (err)
		return err;
	for (;;) {
		now = now_ns();
		i = lookup(c, h, key, klen);
		if (i == NIL) {
			i = entry_new(c, h, key, klen, &evicted);
			if (i == NIL) {
				ret = CACHE_PASS;
				break;
			}
			own_fill(c, i, now, fill_ns, t);
			ret = CACHE_MISS;
			break;
		}
		e = ent(c, i);
		if (e->state == E_READY) {
			/* a waiter takes the result it waited for even if it
			 * may not be kept for later requests (ttl 0) */
			if (now < e->expires ||
			    (waited && e->fill_id == waited)) {
				err = copy_value(c, e, v);
				if (err) {
					cache_unlock(c);
					return err;
				}
				lru_unlink(c, i);
				lru_push(c, i);
				c->st.hits++;
				if (waited)
					c->st.coalesced++;
				ret = CACHE_HIT;
				break;
			}
			c->st.expired++;
		} else if (e->state == E_PASS) {
			if (now < e->expires) {
				ret = CACHE_PASS;
				break;
			}
			c->st.expired++;
		} else if (e->state == E_FILLING) {
			if (pid_alive(e->owner) && now < e->deadline &&
			    e->owner != self()) {
				if (nowait) {
					/* told when a fill ends */
					if (notify_slot >= 0)
						c->busy_mask[notify_slot / 64] |=
							1ull
							<< (notify_slot % 64);
					ret = CACHE_BUSY;
					break;
				}
				/* from the first wait: a lookup that need not
				 * wait reads the clock once */
				if (!give_up)
					give_up = now + 2 * fill_ns;
				if (now >= give_up) {
					ret = CACHE_PASS;
					break;
				}
				waited = e->fill_id;
				seq = __atomic_load_n(&c->fill_seq,
						      __ATOMIC_ACQUIRE);
				__atomic_add_fetch(&c->nwaiting, 1,
						   __ATOMIC_ACQ_REL);
				cache_unlock(c);
				ts.tv_sec = 0;
				ts.tv_nsec = WAIT_SLICE_NS;
				syscall(SYS_futex, &c->fill_seq, FUTEX_WAIT,
					seq, &ts, NULL, 0);
				__atomic_sub_fetch(&c->nwaiting, 1,
						   __ATOMIC_ACQ_REL);
				err = cache_lock(c);
				if (err)
					return err;
				continue;
			}
			/* the owner died or overran: take the fill over */
			own_fill(c, i, now, fill_ns, t);
			ret = CACHE_MISS;
			break;
		}
		/* expired READY or PASS: becomes our fill, value dropped */
		lru_unlink(c, i);
		chunks_free(c, e);
		e->state = E_FILLING;
		if (entry_store(c, i, key, klen, NULL, 0, &evicted)) {
			entry_drop(c, i);
			ret = CACHE_PASS;
			break;
		}
		own_fill(c, i, now, fill_ns, t);
		ret = CACHE_MISS;
		break;
	}
	cache_unlock(c);
	return ret;
}

int cache_get(struct cache *c, const void *key, size_t klen, uint64_t fill_ns,
	      struct cache_value *v, struct cache_ticket *t)
{
	return get(c, key, klen, fill_ns, v, t, 0);
}

int cache_get_nowait(struct cache *c, const void *key, size_t klen,
		     uint64_t fill_ns, struct cache_value *v,
		     struct cache_ticket *t)
{
	return get(c, key, klen, fill_ns, v, t, 1);
}

int cache_fill(struct cache *c, const struct cache_ticket *t, const void *key,
	       size_t klen, const void *val, size_t vlen, long ttl)
{
	uint64_t h = hash_key(key, klen), now = now_ns();
	int err, evicted = 0;
	struct cache_entry *e;
	uint32_t i, id;

	err = cache_lock(c);
	if (err)
		return err;
	i = lookup(c, h, key, klen);
	if (i == NIL) {
		/* the index was rebuilt under us: insert afresh */
		i = entry_new(c, h, key, klen, &evicted);
		if (i == NIL)
			goto out;
		id = t->fill_id;
	} else {
		e = ent(c, i);
		/* keep the id of a fill in progress: its waiters match it */
		id = e->state == E_FILLING ? e->fill_id : t->fill_id;
		if (e->state == E_READY || e->state == E_PASS)
			lru_unlink(c, i);
		chunks_free(c, e);
	}
	e = ent(c, i);
	e->state = E_FILLING; /* chunks_free accounting: key only from here */
	e->fill_id = id;
	e->owner = 0;
	if (ttl >= 0 &&
	    entry_store(c, i, key, klen, val, vlen, &evicted) == 0) {
		e->state = E_READY;
		e->expires = now + (uint64_t)ttl * 1000000000ull;
		c->st.bytes += vlen;
	} else {
		/* private, or too big to keep: pass-through for a while */
		if (ttl >= 0)
			chunks_free(c, e);
		if (e->chunk == NIL &&
		    entry_store(c, i, key, klen, NULL, 0, &evicted)) {
			entry_drop(c, i);
			goto out;
		}
		e->vlen = 0;
		e->state = E_PASS;
		e->expires = now + CACHE_PASS_TTL * 1000000000ull;
	}
	lru_push(c, i);
out:
	wake_waiters(c);
	cache_unlock(c);
	return evicted;
}

void cache_abort(struct cache *c, const struct cache_ticket *t, const void *key,
		 size_t klen)
{
	uint32_t i;

	if (cache_lock(c))
		return;
	i = lookup(c, hash_key(key, klen), key, klen);
	if (i != NIL && ent(c, i)->state == E_FILLING &&
	    ent(c, i)->fill_id == t->fill_id)
		entry_drop(c, i);
	wake_waiters(c);
	cache_unlock(c);
}

int cache_remove(struct cache *c, const void *key, size_t klen)
{
	uint32_t i;
	int err = cache_lock(c);

	if (err)
		return err;
	i = lookup(c, hash_key(key, klen), key, klen);
	err = i != NIL &&
	      (ent(c, i)->state == E_READY || ent(c, i)->state == E_PASS);
	if (err)
		entry_drop(c, i);
	cache_unlock(c);
	return err;
}

int cache_forget_all(struct cache *c)
{
	uint32_t i, prev;
	int n = 0, err = cache_lock(c);

	if (err)
		return err;
	for (i = c->lru_tail; i != NIL; i = prev) {
		prev = ent(c, i)->prev;
		if (ent(c, i)->state == E_READY) {
			entry_drop(c, i);
			n++;
		}
	}
	cache_unlock(c);
	return n;
}

uint32_t cache_waiting(struct cache *c)
{
	return __atomic_load_n(&c->nwaiting, __ATOMIC_ACQUIRE);
}

void cache_get_stats(struct cache *c, struct cache_stats *s)
{
	if (cache_lock(c)) {
		memset(s, 0, sizeof(*s));
		return;
	}
	*s = c->st;
	cache_unlock(c);
}

int cache_lock_and_keep(struct cache *c)
{
	return cache_lock(c);
}
