// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* test_cache.c - the shared cache of lb-backend: TTL, eviction under the
 * byte bound, single-flight, several processes at once, and recovery after
 * a process dies holding the lock. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "harness.h"

#define SEC 1000000000ull

static struct cache *new_cache(uint64_t capacity)
{
	size_t size = cache_mem_size(capacity);
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED || cache_init(mem, size, capacity))
		return NULL;
	return cache_attach(mem, size);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The value of a key: its name repeated to len bytes, checkable anywhere. */
static void make_value(const char *key, char *buf, size_t len)
{
	size_t k = strlen(key);

	for (size_t i = 0; i < len; i++)
		buf[i] = key[i % k];
}

static int value_ok(const char *key, const struct cache_value *v, size_t len)
{
	size_t k = strlen(key);

	if (v->len != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (v->data[i] != key[i % k])
			return 0;
	return 1;
}

static int get(struct cache *c, const char *key, struct cache_value *v,
	       struct cache_ticket *t)
{
	return cache_get(c, key, strlen(key), 2 * SEC, v, t);
}

static int put(struct cache *c, const struct cache_ticket *t, const char *key,
	       size_t len, long ttl)
{
	char buf[8192];

	make_value(key, buf, len);
	return cache_fill(c, t, key, strlen(key), buf, len, ttl);
}

static void test_basic(void)
{
	struct cache *c = new_cache(1 << 20);
	struct cache_value v = { 0 };
	struct cache_ticket t;
	struct cache_stats st;
	int r;

	if (!c) {
		t_fail("basic", "no cache");
		return;
	}
	r = get(c, "/a", &v, &t);
	T_CHECK("basic first lookup misses", r == CACHE_MISS, "got %d", r);
	put(c, &t, "/a", 100, 60);
	r = get(c, "/a", &v, &t);
	T_CHECK("basic second lookup hits",
		r == CACHE_HIT && value_ok("/a", &v, 100), "got %d len %zu", r,
		v.len);
	r = get(c, "/a?", &v, &t);
	T_CHECK("basic other key misses", r == CACHE_MISS, "got %d", r);
	cache_abort(c, &t, "/a?", 3);
	r = get(c, "/a?", &v, &t);
	T_CHECK("basic aborted fill can be retried", r == CACHE_MISS, "got %d",
		r);
	put(c, &t, "/a?", 10, 60);
	cache_get_stats(c, &st);
	T_CHECK("basic stats",
		st.hits == 1 && st.misses == 3 && st.entries == 2 &&
			st.bytes == 2 + 100 + 3 + 10,
		"hits %llu misses %llu entries %llu bytes %llu",
		(unsigned long long)st.hits, (unsigned long long)st.misses,
		(unsigned long long)st.entries, (unsigned long long)st.bytes);
	r = cache_remove(c, "/a?", 3);
	T_CHECK("basic remove drops a stored key",
		r == 1 && get(c, "/a?", &v, &t) == CACHE_MISS, "remove %d", r);
	r = cache_remove(c, "/a?", 3);
	T_CHECK("basic remove leaves a fill in progress alone", r == 0,
		"remove %d", r);
	put(c, &t, "/a?", 10, 60);
	r = cache_remove(c, "/nothing", 8);
	T_CHECK("basic remove of an unknown key", r == 0, "remove %d", r);
	free(v.data);
}

/* Forgetting everything drops stored values only: a fill in progress and
 * a pass-through marker stay. */
static void test_forget_all(void)
{
	struct cache *c = new_cache(1 << 20);
	struct cache_value v = { 0 };
	struct cache_ticket t, tf;
	int r, a, b, p, f;

	static const struct {
		const char *key;
		long ttl;
	} keep[] = { { "/x", 60 }, { "/y", 60 }, { "/priv", -1 } };

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		get(c, keep[i].key, &v, &t);
		put(c, &t, keep[i].key, 10, keep[i].ttl);
	}
	get(c, "/filling", &v, &tf);
	r = cache_forget_all(c);
	a = get(c, "/x", &v, &t);
	if (a == CACHE_MISS)
		cache_abort(c, &t, "/x", 2);
	b = get(c, "/y", &v, &t);
	if (b == CACHE_MISS)
		cache_abort(c, &t, "/y", 2);
	p = get(c, "/priv", &v, &t);
	f = put(c, &tf, "/filling", 10, 60) >= 0 &&
	    get(c, "/filling", &v, &t) == CACHE_HIT;
	T_CHECK("forget all drops stored values, keeps fills and markers",
		r == 2 && a == CACHE_MISS && b == CACHE_MISS &&
			p == CACHE_PASS && f,
		"dropped %d, then %d %d %d %d", r, a, b, p, f);
	free(v.data);
}

static void test_ttl(void)
{
	struct cache *c = new_cache(1 << 20);
	struct cache_value v = { 0 };
	struct cache_ticket t;
	struct cache_stats st;
	int r;

	get(c, "/short", &v, &t);
	put(c, &t, "/short", 10, 1);
	get(c, "/zero", &v, &t);
	put(c, &t, "/zero", 10, 0);
	get(c, "/private", &v, &t);
	put(c, &t, "/private", 10, -1);
	r = get(c, "/short", &v, &t);
	T_CHECK("ttl fresh hit", r == CACHE_HIT, "got %d", r);
	r = get(c, "/zero", &v, &t);
	T_CHECK("ttl zero not kept", r == CACHE_MISS, "got %d", r);
	put(c, &t, "/zero", 10, 0);
	r = get(c, "/private", &v, &t);
	T_CHECK("ttl private passes", r == CACHE_PASS, "got %d", r);
	usleep(1100 * 1000);
	r = get(c, "/short", &v, &t);
	T_CHECK("ttl expired misses", r == CACHE_MISS, "got %d", r);
	cache_get_stats(c, &st);
	T_CHECK("ttl expired counted", st.expired == 2, "expired %llu",
		(unsigned long long)st.expired);
	free(v.data);
}

static void test_eviction(void)
{
	const uint64_t cap = 64 << 10;
	struct cache *c = new_cache(cap);
	struct cache_value v = { 0 };
	struct cache_ticket t;
	struct cache_stats st;
	char key[32];
	int r, i, bound_ok = 1;

	for (i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "/k%d", i);
		if (get(c, key, &v, &t) != CACHE_MISS)
			break;
		put(c, &t, key, 1000, 60);
		cache_get_stats(c, &st);
		bound_ok &= st.bytes <= cap && st.capacity <= cap;
		/* keep /k0 recently used: LRU must spare it */
		if (get(c, "/k0", &v, &t) != CACHE_HIT)
			break;
	}
	T_CHECK("eviction filled", i == 300, "stopped at %d", i);
	cache_get_stats(c, &st);
	T_CHECK("eviction bytes within the bound", bound_ok && st.bytes <= cap,
		"bytes %llu cap %llu", (unsigned long long)st.bytes,
		(unsigned long long)cap);
	T_CHECK("eviction happened", st.evictions >= 300 - cap / 1000,
		"evictions %llu", (unsigned long long)st.evictions);
	r = get(c, "/k299", &v, &t);
	T_CHECK("eviction newest kept",
		r == CACHE_HIT && value_ok("/k299", &v, 1000), "got %d", r);
	r = get(c, "/k0", &v, &t);
	T_CHECK("eviction recently used kept", r == CACHE_HIT, "got %d", r);
	r = get(c, "/k1", &v, &t);
	T_CHECK("eviction least recently used gone", r == CACHE_MISS, "got %d",
		r);
	cache_abort(c, &t, "/k1", 3);

	/* an object larger than half the cache is passed through, not kept */
	char big[40000];

	r = get(c, "/big", &v, &t);
	cache_fill(c, &t, "/big", 4, big, sizeof(big), 60);
	r = get(c, "/big", &v, &t);
	T_CHECK("eviction oversized object passes", r == CACHE_PASS, "got %d",
		r);
	free(v.data);
}

/* Several processes hammer the same keys; every hit must be intact. */
static void test_processes(void)
{
	struct cache *c = new_cache(32 << 10); /* small: evictions too */
	int i, status, bad = 0;
	pid_t pids[4];

	for (i = 0; i < 4; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct cache_value v = { 0 };
			struct cache_ticket t;
			char key[32];
			int errors = 0;

			srand(getpid());
			for (int n = 0; n < 3000; n++) {
				int k = rand() % 60, r;
				size_t len = 100 + k * 50;

				snprintf(key, sizeof(key), "/p%d", k);
				r = get(c, key, &v, &t);
				if (r == CACHE_MISS)
					put(c, &t, key, len, 60);
				else if (r == CACHE_HIT &&
					 !value_ok(key, &v, len))
					errors++;
				else if (r < 0)
					errors++;
			}
			_exit(errors ? 1 : 0);
		}
	}
	for (i = 0; i < 4; i++) {
		waitpid(pids[i], &status, 0);
		bad += !WIFEXITED(status) || WEXITSTATUS(status);
	}
	T_CHECK("processes concurrent access intact", bad == 0,
		"%d processes saw corrupt values", bad);
}

/* One fetch, the others wait for it. */
static void test_single_flight(void)
{
	struct cache *c = new_cache(1 << 20);
	struct cache_value v = { 0 };
	struct cache_ticket t;
	struct cache_stats st;
	int i, status, bad = 0, r;
	pid_t pids[3];

	r = get(c, "/sf", &v, &t);
	for (i = 0; i < 3; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct cache_ticket t2;
			double t0 = now_s();
			int r2 = get(c, "/sf", &v, &t2);

			/* must have waited for the fill, then got its value */
			_exit(r2 == CACHE_HIT && value_ok("/sf", &v, 50) &&
					      now_s() - t0 > 0.15 ?
				      0 :
				      1);
		}
	}
	/* all three waiting (a busy machine may start them late), then
	 * a while longer, so that their wait is seen */
	for (i = 0; i < 500 && cache_waiting(c) < 3; i++)
		usleep(10 * 1000);
	usleep(200 * 1000);
	put(c, &t, "/sf", 50, 0); /* ttl 0: only for those who waited */
	for (i = 0; i < 3; i++) {
		waitpid(pids[i], &status, 0);
		bad += !WIFEXITED(status) || WEXITSTATUS(status);
	}
	cache_get_stats(c, &st);
	T_CHECK("single-flight waiters share one fetch",
		r == CACHE_MISS && bad == 0 && st.misses == 1 &&
			st.coalesced == 3,
		"bad %d misses %llu coalesced %llu", bad,
		(unsigned long long)st.misses,
		(unsigned long long)st.coalesced);

	/* the fetching process dies: a waiter takes over at once */
	pid_t p = fork();

	if (p == 0) {
		struct cache_ticket t2;

		_exit(get(c, "/orphan", &v, &t2) == CACHE_MISS ? 0 : 1);
	}
	waitpid(p, &status, 0);
	double t0 = now_s();

	r = get(c, "/orphan", &v, &t);
	T_CHECK("single-flight dead owner taken over",
		WIFEXITED(status) && !WEXITSTATUS(status) && r == CACHE_MISS &&
			now_s() - t0 < 1.0,
		"got %d after %.2fs", r, now_s() - t0);
	free(v.data);
}

/* cache_get_nowait: another live process's fill is BUSY at once, with no
 * ticket taken; its end makes it a hit; our own fill is not BUSY. */
static void test_nowait(void)
{
	struct cache *c = new_cache(1 << 20);
	struct cache_value v = { 0 };
	struct cache_ticket t, t2;
	int status, r1, r2, r3, up[2], down[2], nfd, told, quiet;
	double t0, waited;
	pid_t p;

	if (pipe(up) || pipe(down))
		return;
	p = fork();
	if (p == 0) {
		char b = 0;

		/* owns the fill of /nw until the parent says so */
		if (get(c, "/nw", &v, &t) != CACHE_MISS)
			_exit(1);
		if (write(up[1], &b, 1) != 1 || read(down[0], &b, 1) != 1)
			_exit(1);
		put(c, &t, "/nw", 20, 60);
		_exit(0);
	}
	{
		char b;

		if (read(up[0], &b, 1) != 1)
			b = 0;
	}
	/* this process waits in an event loop as slot 5 */
	nfd = cache_notify_open(c, 5);
	t0 = now_s();
	r1 = cache_get_nowait(c, "/nw", 3, 2 * SEC, &v, &t2);
	waited = now_s() - t0;
	{
		char b = 1;

		if (write(down[1], &b, 1) != 1)
			b = 0;
	}
	waitpid(p, &status, 0);
	told = nfd >= 0 ? cache_notify_drain(nfd) : -1;
	r2 = cache_get_nowait(c, "/nw", 3, 2 * SEC, &v, &t2);
	/* a fill of ours: a second lookup of ours is not told to wait */
	r3 = cache_get_nowait(c, "/own", 4, 2 * SEC, &v, &t);
	/* its end tells nobody: nobody waited for it */
	if (r3 == CACHE_MISS)
		put(c, &t, "/own", 10, 60);
	quiet = nfd >= 0 ? cache_notify_drain(nfd) : -1;
	T_CHECK("nowait another process's fill is busy at once",
		r1 == CACHE_BUSY && waited < 0.5, "got %d after %.2fs", r1,
		waited);
	T_CHECK("nowait the fill's end makes it a hit",
		WIFEXITED(status) && !WEXITSTATUS(status) && r2 == CACHE_HIT &&
			value_ok("/nw", &v, 20),
		"got %d", r2);
	T_CHECK("nowait a fill of our own is ours to do",
		r3 == CACHE_MISS && cache_get_nowait(c, "/own", 4, 2 * SEC, &v,
						     &t2) != CACHE_BUSY,
		"got %d", r3);
	T_CHECK("nowait a waiter is told when the fill ends",
		told == 1 && quiet == 0,
		"notify socket %d: %d notices for the awaited fill (want 1), "
		"%d for one nobody waited for (want 0)",
		nfd, told, quiet);
	if (nfd >= 0)
		close(nfd);
	for (int i = 0; i < 2; i++) {
		close(up[i]);
		close(down[i]);
	}
	free(v.data);
}

/* A process killed while it holds the lock must not freeze the others. */
static void test_dead_lock_holder(void)
{
	struct cache *c = new_cache(1 << 20);
	struct cache_value v = { 0 };
	struct cache_ticket t;
	struct cache_stats st;
	int status, r;
	pid_t p;

	get(c, "/x", &v, &t);
	put(c, &t, "/x", 10, 60);
	p = fork();
	if (p == 0) {
		cache_lock_and_keep(c);
		pause();
		_exit(0);
	}
	usleep(100 * 1000);
	kill(p, SIGKILL);
	waitpid(p, &status, 0);
	alarm(10); /* a hang fails the test instead of blocking the run */
	r = get(c, "/x", &v, &t);
	cache_get_stats(c, &st);
	T_CHECK("dead holder: lock recovered",
		(r == CACHE_MISS || r == CACHE_HIT) && st.recoveries == 1,
		"got %d recoveries %llu", r, (unsigned long long)st.recoveries);
	if (r == CACHE_MISS)
		put(c, &t, "/x", 10, 60);
	r = get(c, "/x", &v, &t);
	T_CHECK("dead holder: cache usable after",
		r == CACHE_HIT && value_ok("/x", &v, 10), "got %d", r);
	alarm(0);

	/* processes killed at random points, over and over: whatever the
	 * survivors read is still intact */
	int bad = 0;

	for (int round = 0; round < 20; round++) {
		pid_t k = fork();

		if (k == 0) {
			struct cache_ticket t2;
			char key[16];

			for (int n = 0;; n++) {
				snprintf(key, sizeof(key), "/r%d", n % 40);
				if (get(c, key, &v, &t2) == CACHE_MISS)
					put(c, &t2, key, 300 + (n % 40) * 100,
					    60);
			}
		}
		usleep(2000 + rand() % 5000);
		kill(k, SIGKILL);
		waitpid(k, &status, 0);
		alarm(10);
		for (int n = 0; n < 40; n++) {
			char key[16];

			snprintf(key, sizeof(key), "/r%d", n);
			r = get(c, key, &v, &t);
			if (r == CACHE_HIT && !value_ok(key, &v, 300 + n * 100))
				bad++;
			else if (r == CACHE_MISS)
				put(c, &t, key, 300 + n * 100, 60);
			else if (r < 0)
				bad++;
		}
		alarm(0);
	}
	cache_get_stats(c, &st);
	T_CHECK("dead holder: killed writers never corrupt readers", bad == 0,
		"%d bad reads (recoveries %llu)", bad,
		(unsigned long long)st.recoveries);
	free(v.data);
}

int main(void)
{
	test_basic();
	test_forget_all();
	test_ttl();
	test_eviction();
	test_processes();
	test_single_flight();
	test_nowait();
	test_dead_lock_holder();
	return t_exit();
}
