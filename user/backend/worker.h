/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * worker.h - what the files of one lb-backend worker share.  worker.c runs
 * the event loop over the client connections; route.c decides what answers
 * a request; answer.c queues answers and keeps cached values; batch.c
 * fetches the misses from the origin in batches; files.c serves --root;
 * admin.c the admin endpoints (/stats, /metrics).
 */
#ifndef LB_BACKEND_WORKER_H
#define LB_BACKEND_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"

#define TEXT_PLAIN "Content-Type: text/plain\r\n"

enum conn_state { C_READ, C_LINGER };

struct conn {
	int fd;
	int state;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	uint64_t body_left; /* request body to read and drop */
	int file_fd; /* -1, or a body sent with sendfile() after out */
	off_t file_off;
	uint64_t file_left;
	int admin; /* accepted on the admin listener */
	int waiting; /* its answer waits for an origin fetch (batch.c) */
	/* its request (still unread in in) waits, and is taken again from
	 * the start (batch.c): 1 for room for a job, 2 for another worker's
	 * fill of its key; 0 not waiting */
	int deferred;
	int deferred_expired; /* waited past --origin-timeout: a 504 */
	long long deferred_since; /* mono ms: when it was first deferred */
	struct conn *deferred_next, **deferred_pprev;
	int resume; /* answered: on batch.c's list of connections to go on */
	struct conn *resume_next;
	int loopback; /* the client is on a loopback address */
	long long req_start; /* head must be complete by req_start + timeout */
	long long last_io;
	long long last_write;
	int close_after; /* close once out is flushed */
	int eof; /* the client shut down its side */
	uint32_t events; /* registered with epoll */
	struct conn *prev, *next;
};

/* The worker: set once by worker_run, then read by all of its files. */
struct worker {
	const struct config *cfg;
	struct shared *sh;
	struct worker_slot *me; /* this worker's counters */
	struct cache *cache;
	char host[256];
	char served_by[320]; /* X-Served-By: HOST/PID */
};

extern struct worker wk;

/* accept.c: the listening sockets in the worker's epoll */
enum { ACCEPT_TAG_SERVICE = 1, ACCEPT_TAG_ADMIN };
struct sockaddr_storage;
/* Register the listeners (either may be -1) in epoll instance ep. */
void accept_init(int ep, int listen_fd, int admin_fd);
/* Which listener an epoll tag names: ACCEPT_TAG_*, or 0: none. */
int accept_tag(const void *ptr);
/* The next connection of a listener (admin or not), or -1: none now, or
 * accepting is paused. */
int accept_next(int admin, struct sockaddr_storage *ss, long long now);
/* A connection was taken; the worker holds conns now. */
void accept_taken(int admin, unsigned int conns, long long now);
/* Once a turn of the loop: back on the listeners when a pause or a
 * deferral ends. */
void accept_tick(unsigned int conns, long long now);
/* epoll_wait's timeout: ms, or less to end a deferral in time. */
int accept_wait_ms(int ms, long long now);
/* Draining: off the listeners for good, and close them. */
void accept_stop(void);

/* ---- worker.c: the connections */

/* On with the requests c holds, then write what is queued. */
void process(struct conn *c);

/* ---- route.c: what answers a request */

void route_request(struct conn *c, const struct http_request *req);

/* ---- answer.c: answers and cached values */

/* Append n bytes to c's output.  0, or -ENOMEM. */
int out_append(struct conn *c, const void *p, size_t n);
/* Queue a whole response.  hdrs are extra "Name: value\r\n" lines; a NULL
 * body of blen bytes is sent by the caller after it.  0, or -ENOMEM. */
int respond(struct conn *c, int status, const char *hdrs, size_t hlen,
	    const char *body, size_t blen, const char *xcache, int head);
/* A text/plain answer that is never cached; extra: more header lines. */
void respond_text(struct conn *c, int status, const char *extra,
		  const char *text, int head);
void respond_error(struct conn *c, int status, int head);

/* What a fetch made: a value, and the body in a file when it is too large
 * to keep in memory. */
struct fetched {
	const char *val; /* the value (value_build) */
	size_t len; /* of the value */
	long ttl; /* for cache_fill() */
	int fd; /* -1, or the body (the value then has none) */
	uint64_t fd_len;
};

/* Make the value of an answer in f (valid until the next value_build).
 * 0, or -ENOMEM. */
int value_build(struct fetched *f, int status, const char *hdrs, size_t hlen,
		const char *body, size_t blen);
/* Queue a value; with fd >= 0 its body is the fd_len bytes of that file
 * (taken over), sent with sendfile() once the head is out. */
void respond_value(struct conn *c, const char *v, size_t len,
		   const char *xcache, int head, int fd, uint64_t fd_len);
/* Look key up.  A hit is answered at once: 1.  Else 0, with *r CACHE_MISS
 * (t then holds the ticket to fill) or CACHE_PASS; with nowait, or
 * CACHE_BUSY when another worker fills it now (cache_get_nowait). */
int cache_lookup(struct conn *c, const char *key, size_t klen, int head,
		 int nowait, struct cache_ticket *t, int *r);
/* Store what a fetch made under the ticket of a miss. */
void value_store(struct cache_ticket *t, const char *key, size_t klen,
		 const struct fetched *f);

/* Make the value of key on a miss.  0, or a negative errno. */
typedef int (*fetch_fn)(const void *arg, struct fetched *f);

/* Look key up; on a miss call fetch() to make the value, store it with the
 * ttl it gives, and answer from it. */
void serve_cached(struct conn *c, const char *key, size_t klen, fetch_fn fetch,
		  const void *arg, int head);

/* ---- batch.c: misses to the origin */

#define MAX_JOBS (2 * ORIGIN_BATCH)

/* Before the first miss: epfd is the worker's epoll, where fetches wait
 * unless the Redis tier is on. */
void jobs_init(int epfd);
/* Answer target from the cache or the origin: a miss becomes a job (c
 * waits for it); with no room for one, or while another worker fetches
 * the key, c->deferred is set and the request is to be left unread: it is
 * taken again later (c waits meanwhile, --origin-timeout at most, counted
 * from its first try). */
void serve_origin(struct conn *c, const char *target, size_t len, int head);
/* The client of c's job has gone: its answer goes nowhere. */
void job_forget(struct conn *c);
/* c, which waited (c->waiting), has its answer queued: it goes on after
 * this round (jobs_run). */
void conn_answered(struct conn *c);
/* Work for jobs_run() now: connections answered, fetches to start (with
 * the Redis tier: jobs no round has submitted yet). */
unsigned int jobs_pending(void);
/* How long epoll may wait: 0 with work pending, until the next Redis
 * deadline while jobs wait on lookups, else 100 ms. */
int jobs_wait_ms(void);
/* Jobs not finished. */
unsigned int jobs_busy(void);
/* An epoll event whose data is tag: if it is the cache's notice that a
 * fill ended, handle it and return 1, else 0. */
int jobs_notify_event(const void *tag);
/* After a round of epoll: start the fetches of new jobs (with the Redis
 * tier: run rounds until every job left waits on a Redis lookup).  Returns the connections answered since
 * the last call, linked through resume_next (their resume flag is set). */
struct conn *jobs_run(void);
/* An epoll event tagged ORIGIN_EV_TAG (origin.h). */
void jobs_origin_event(uint64_t tag, uint32_t events, long long now);
/* Fail the fetches past their deadline. */
void jobs_expire(long long now);

/* ---- files.c: --root */

/* Serve files from root from now on.  0, or a negative errno. */
int files_open_root(const char *root);
/* Answer target from the cache or the file it names under the root. */
void serve_file(struct conn *c, const char *target, size_t len, int head);

/* ---- admin.c: the admin endpoints */

typedef void admin_serve_fn(struct conn *c, int head);

/* The endpoint at path (len bytes), or NULL. */
admin_serve_fn *admin_route(const char *path, size_t len);
/* PURGE target: from this host, Redis and every host (rtier_purge); c
 * waits while Redis is told. */
void admin_purge(struct conn *c, const struct http_request *req);
/* The client of c's PURGE has gone: its answer goes nowhere. */
void admin_forget(struct conn *c);

#endif /* LB_BACKEND_WORKER_H */
