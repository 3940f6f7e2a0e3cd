/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * origin.h - a plain HTTP/1.1 client for the --origin of lb-backend
 * (http://host[:port][/prefix] only, no TLS), with a connect timeout and an
 * overall deadline.
 *
 * Each worker keeps a pool of persistent connections to the origin
 * (nginx's upstream keepalive): bounded, closed after an idle time, and a
 * request that finds a pooled connection stale (the origin closed it
 * meanwhile) is retried once on a new one.  A fetch only ever runs in the
 * worker that owns the pool, so the pool is plain per-process state and
 * dies with its worker.
 *
 * Bodies up to max_mem bytes are read into memory; a longer one goes to an
 * unlinked temporary file that the worker sends with sendfile(), so a
 * worker's memory never holds a large answer.
 */
#ifndef LB_BACKEND_ORIGIN_H
#define LB_BACKEND_ORIGIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "http.h"

struct origin {
	char url[512];
	char host[300]; /* Host header: host[:port] as given */
	char prefix[256]; /* path prefix, no trailing '/' */
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

/* Parse and resolve url.  0, or -EINVAL / -EHOSTUNREACH with a message in
 * err (size errlen). */
int origin_parse(const char *url, struct origin *o, char *err, size_t errlen);

struct origin_reply {
	int status; /* the origin's, or 502 / 504 when the fetch failed */
	long ttl; /* see http_cache_ttl(); 0 for failures */
	char hdrs[HTTP_KEEP_MAX]; /* to pass on, "Name: value\r\n" each */
	size_t hdrs_len;
	char *body; /* malloc'ed, or NULL when the body is in body_fd */
	size_t body_len;
	int body_fd; /* -1, or an unlinked file holding the body */
	uint64_t body_fd_len;
	const char *error; /* why a fetch failed, for the log */
};

struct origin_limits {
	unsigned int connect_ms;
	unsigned int timeout_ms; /* whole fetch */
	uint64_t max_size; /* response body: 502 beyond */
	size_t max_mem; /* body bytes held in memory; a temp file beyond */
	const char *spool_dir; /* where those temp files live */
	long def_ttl;
	unsigned int cache_flags; /* HTTP_CACHE_* */
	unsigned int pipeline; /* requests sent together on one connection
				* (origin_async.c), 1..ORIGIN_PIPELINE_MAX */
};

/* The most requests sent together on one origin connection. */
#define ORIGIN_PIPELINE_MAX 8

void origin_reply_free(struct origin_reply *r);

/* At most this many fetches in the loop at once, and lookups in one Redis
 * batch. */
#define ORIGIN_BATCH 32

struct origin_target {
	const char *target;
	size_t len;
};

/* The pool of idle origin connections of this process: at most max of
 * them, each closed after idle_ms without use.  max 0: no pool. */
void origin_pool_init(unsigned int max, unsigned int idle_ms);

/* Close pooled connections idle too long.  now: CLOCK_MONOTONIC ms. */
void origin_pool_expire(long long now);

/* Counters of this process's pool, for the log and for tests. */
struct origin_pool_stats {
	uint64_t connects; /* new connections opened */
	uint64_t reused; /* fetches on a pooled connection */
	uint64_t retries; /* stale pooled connections retried */
};

void origin_pool_stats(struct origin_pool_stats *s);

/*
 * Fetches wait in the worker's own event loop: origin_async_init() gives
 * the worker's epoll, and every
 * origin connection opened from then on is watched there for its whole
 * life, its events tagged ORIGIN_EV_TAG(fd) in data.u64 (odd, so never a
 * pointer), and handed to origin_async_event().
 */
#define ORIGIN_EV_TAG(fd) (((uint64_t)(fd) << 1) | 1)
#define ORIGIN_EV_IS(u64) ((u64)&1)

void origin_async_init(int epfd);
/* Fetch id ended with reply r (which it may keep: origin_reply_free). */
typedef void origin_done_fn(int id, struct origin_reply *r);
/* GET prefix+target (at most ORIGIN_BATCH fetches at once): the fetch's id
 * (>= 0), or -1 when it failed at once (r filled).  The request goes out
 * with the others of its round at origin_async_flush().  o and lim must
 * outlive the fetch. */
int origin_async_start(const struct origin *o, const char *target, size_t tlen,
		       const struct origin_limits *lim, long long now,
		       struct origin_reply *r);
/* Send the requests of the fetches started since the last flush, several
 * on one connection (origin_async.c); those that fail at once end here. */
void origin_async_flush(long long now, origin_done_fn *done);
/* An event tagged ORIGIN_EV_TAG (events: its EPOLL* bits): the fetches it
 * ends go to done().  A fetch that needs a new connection does not wait
 * for its connect: its request goes out when epoll reports the connection
 * made. */
void origin_async_event(uint64_t tag, uint32_t events, long long now,
			origin_done_fn *done);
/* The fetches past their deadline (or their connect past the connect
 * timeout) end in 504 through done(). */
void origin_async_expire(long long now, origin_done_fn *done);

/*
 * The response reader that a fetch runs over the bytes it receives,
 * apart so that it can be tested and fuzzed without sockets.
 */
struct origin_rx {
	struct http_response resp;
	struct http_chunked ch;
	int hdone; /* the head is parsed */
	int done; /* the whole response is in */
	char *head; /* bytes until the head is complete */
	size_t head_len, head_cap;
	char *body; /* the body while it fits in max_mem */
	size_t body_len, body_cap;
	int fd; /* -1, or the temp file the body went to */
	uint64_t fd_len;
	uint64_t got; /* body bytes received (Content-Length framing) */
	size_t extra; /* bytes after the end: the connection is not reusable */
	size_t max_mem;
	uint64_t max_size;
	const char *spool_dir;
	const char *error;
};

void origin_rx_init(struct origin_rx *rx, size_t max_mem, uint64_t max_size,
		    const char *spool_dir);
/* Feed n received bytes (in is used as scratch space).  1 when the response
 * is complete, 0 when more is needed, -1 on error (rx->error says why). */
int origin_rx_feed(struct origin_rx *rx, char *in, size_t n);
/* The origin closed the connection.  1 if that ends the response, else -1. */
int origin_rx_eof(struct origin_rx *rx);
/* Whether the connection can carry another request after this response. */
int origin_rx_reusable(const struct origin_rx *rx);
/* The same, bytes after the response aside (the start of the next answer
 * when requests were pipelined). */
int origin_rx_keeps_conn(const struct origin_rx *rx);
/* A complete response into r: the one cacheability decision, the headers
 * to pass on, the body (which r takes over from rx). */
void origin_rx_reply(struct origin_rx *rx, const struct origin_limits *lim,
		     struct origin_reply *r);
void origin_rx_free(struct origin_rx *rx);

#endif /* LB_BACKEND_ORIGIN_H */
