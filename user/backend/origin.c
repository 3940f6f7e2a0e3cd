// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* origin.c - fetch from the origin server; see origin.h. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "origin.h"

int origin_parse(const char *url, struct origin *o, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	char host[256], port[16] = "80";
	const char *p, *slash, *hs, *he;
	int rc;

	memset(o, 0, sizeof(*o));
	if (strncmp(url, "http://", 7)) {
		snprintf(err, errlen, "origin '%s': only http:// URLs", url);
		return -EINVAL;
	}
	if (strlen(url) >= sizeof(o->url)) {
		snprintf(err, errlen, "origin URL too long");
		return -EINVAL;
	}
	strcpy(o->url, url);
	p = url + 7;
	slash = strchr(p, '/');
	if (!slash)
		slash = p + strlen(p);
	if (slash == p || (size_t)(slash - p) >= sizeof(o->host)) {
		snprintf(err, errlen, "origin '%s': bad host", url);
		return -EINVAL;
	}
	memcpy(o->host, p, slash - p);
	if (*p == '[') { /* [v6]:port */
		he = memchr(p, ']', slash - p);
		if (!he) {
			snprintf(err, errlen, "origin '%s': bad address", url);
			return -EINVAL;
		}
		hs = p + 1;
		p = he + 1;
	} else {
		hs = p;
		he = memchr(p, ':', slash - p);
		if (!he)
			he = slash;
		p = he;
	}
	if ((size_t)(he - hs) >= sizeof(host) || he == hs) {
		snprintf(err, errlen, "origin '%s': bad host", url);
		return -EINVAL;
	}
	memcpy(host, hs, he - hs);
	host[he - hs] = '\0';
	if (p < slash) {
		if (*p != ':' || slash - p - 1 < 1 ||
		    (size_t)(slash - p - 1) >= sizeof(port) ||
		    strspn(p + 1, "0123456789") < (size_t)(slash - p - 1)) {
			snprintf(err, errlen, "origin '%s': bad port", url);
			return -EINVAL;
		}
		memcpy(port, p + 1, slash - p - 1);
		port[slash - p - 1] = '\0';
	}
	if (strlen(slash) >= sizeof(o->prefix)) {
		snprintf(err, errlen, "origin '%s': path too long", url);
		return -EINVAL;
	}
	strcpy(o->prefix, slash);
	if (o->prefix[0] && o->prefix[strlen(o->prefix) - 1] == '/')
		o->prefix[strlen(o->prefix) - 1] = '\0';
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "origin '%s': %s", url, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	memcpy(&o->addr, ai->ai_addr, ai->ai_addrlen);
	o->addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

/* Wait for fd to become ready; 0, -ETIMEDOUT at the deadline, or -errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long long left;
	int n;

	for (;;) {
		left = deadline - mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* ---------------------------------------------------------------- reader */

#define HEAD_MAX 16384 /* origin response head: 502 beyond */

void origin_rx_init(struct origin_rx *rx, size_t max_mem, uint64_t max_size,
		    const char *spool_dir)
{
	/* everything but the room for kept headers, which the parser fills
	 * as far as keep_len says: a fetch starts this for every miss */
	memset(&rx->resp, 0, offsetof(struct http_response, keep));
	memset(&rx->resp.keep_len, 0,
	       sizeof(*rx) - offsetof(struct origin_rx, resp.keep_len));
	rx->fd = -1;
	rx->max_mem = max_mem;
	rx->max_size = max_size;
	rx->spool_dir = spool_dir ? spool_dir : "/tmp";
}

void origin_rx_free(struct origin_rx *rx)
{
	free(rx->head);
	free(rx->body);
	if (rx->fd >= 0)
		close(rx->fd);
	rx->head = rx->body = NULL;
	rx->fd = -1;
}

static int rx_fail(struct origin_rx *rx, const char *why)
{
	rx->error = why;
	return -1;
}

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t k;

	while (n) {
		k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= k;
	}
	return 0;
}

/* Append n bytes to a growable buffer, as many as fit within max in all.
 * The count appended, or -1 when out of memory. */
static ssize_t buf_append(char **buf, size_t *len, size_t *cap, const char *p,
			  size_t n, size_t max)
{
	if (n > max - *len)
		n = max - *len;
	if (*len + n > *cap) {
		size_t c = *cap ? *cap : 4096;
		char *nb;

		while (c < *len + n)
			c *= 2;
		if (c > max)
			c = max;
		nb = realloc(*buf, c);
		if (!nb)
			return -1;
		*buf = nb;
		*cap = c;
	}
	if (n)
		memcpy(*buf + *len, p, n);
	*len += n;
	return n;
}

/* Append decoded body bytes: to memory while the body fits in max_mem,
 * then to an unlinked temp file. */
static int rx_body(struct origin_rx *rx, const char *p, size_t n)
{
	uint64_t total = rx->body_len + rx->fd_len + n;

	if (!n)
		return 0;
	if (total > rx->max_size)
		return rx_fail(rx, "response too large");
	if (rx->fd < 0 && total <= rx->max_mem) {
		if (buf_append(&rx->body, &rx->body_len, &rx->body_cap, p, n,
			       rx->max_mem) < 0)
			return rx_fail(rx, "out of memory");
		return 0;
	}
	if (rx->fd < 0) {
		rx->fd = open(rx->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC,
			      0600);
		if (rx->fd < 0)
			return rx_fail(rx, "cannot create a temp file");
		if (write_all(rx->fd, rx->body, rx->body_len))
			return rx_fail(rx, "temp file write failed");
		rx->fd_len = rx->body_len;
		free(rx->body);
		rx->body = NULL;
		rx->body_len = rx->body_cap = 0;
	}
	if (write_all(rx->fd, p, n))
		return rx_fail(rx, "temp file write failed");
	rx->fd_len += n;
	return 0;
}

/* Body bytes as they come, framed by chunks, a length or the close. */
static int rx_body_bytes(struct origin_rx *rx, char *in, size_t n)
{
	struct http_response *r = &rx->resp;
	size_t out = 0, used;
	int k;

	if (rx->done) {
		rx->extra += n;
		return 1;
	}
	if (r->chunked) {
		/* decoded in place: the output never overtakes the input */
		k = http_chunked_feed(&rx->ch, in, n, in, &out, &used);
		if (k < 0)
			return rx_fail(rx, "bad chunked encoding");
		if (rx_body(rx, in, out))
			return -1;
		rx->extra += n - used;
		rx->done = k == 1;
		return rx->done;
	}
	if (r->content_length >= 0) {
		uint64_t left = (uint64_t)r->content_length - rx->got;

		if (left > rx->max_size)
			return rx_fail(rx, "response too large");
		if (n > left) {
			rx->extra += n - left;
			n = left;
		}
		rx->got += n;
		if (rx_body(rx, in, n))
			return -1;
		rx->done = rx->got == (uint64_t)r->content_length;
		return rx->done;
	}
	return rx_body(rx, in, n) ? -1 : 0; /* until the close */
}

int origin_rx_feed(struct origin_rx *rx, char *in, size_t n)
{
	int h;

	if (!n)
		return rx->done;
	if (rx->hdone)
		return rx_body_bytes(rx, in, n);
	/* a head longer than HEAD_MAX is refused by the parser below */
	if (buf_append(&rx->head, &rx->head_len, &rx->head_cap, in, n,
		       HEAD_MAX + 65536) < 0)
		return rx_fail(rx, "out of memory");
	h = http_parse_response(rx->head, rx->head_len, HEAD_MAX, &rx->resp);
	if (h < 0)
		return rx_fail(rx, "malformed response");
	if (h == 0)
		return 0;
	rx->hdone = 1;
	if (rx->resp.status < 200)
		return rx_fail(rx, "interim response");
	if (rx->resp.status == 204 || rx->resp.status == 304) {
		rx->resp.chunked = 0;
		rx->resp.content_length = 0;
	}
	if (rx->resp.content_length == 0)
		rx->done = 1;
	/* what came after the head is the start of the body */
	return rx_body_bytes(rx, rx->head + h, rx->head_len - h);
}

int origin_rx_eof(struct origin_rx *rx)
{
	if (!rx->hdone)
		return rx_fail(rx, "connection closed before the headers");
	if (rx->done)
		return 1;
	if (rx->resp.chunked)
		return rx_fail(rx, "truncated chunked body");
	if (rx->resp.content_length >= 0)
		return rx_fail(rx, "truncated body");
	rx->done = 1;
	return 1;
}

int origin_rx_reusable(const struct origin_rx *rx)
{
	const struct http_response *r = &rx->resp;

	return rx->done && !rx->error && !rx->extra && !r->conn_close &&
	       (r->chunked || r->content_length >= 0);
}

/* ---------------------------------------------------------------- pool */

#define POOL_MAX 64

static struct {
	int fd[POOL_MAX];
	long long since[POOL_MAX]; /* mono ms it became idle */
	unsigned int n, max, idle_ms;
	int epfd; /* the worker's epoll, when fetches run in its loop */
	struct origin_pool_stats st;
} pool = { .epfd = -1 };

void origin_pool_init(unsigned int max, unsigned int idle_ms)
{
	pool.max = max > POOL_MAX ? POOL_MAX : max;
	pool.idle_ms = idle_ms;
}

void origin_pool_expire(long long now)
{
	for (unsigned int i = 0; i < pool.n;) {
		if (now - pool.since[i] > pool.idle_ms) {
			close(pool.fd[i]);
			pool.n--;
			pool.fd[i] = pool.fd[pool.n];
			pool.since[i] = pool.since[pool.n];
			continue;
		}
		i++;
	}
}

void origin_pool_stats(struct origin_pool_stats *s)
{
	*s = pool.st;
}

/* The most recently used idle connection (the warmest), or -1. */
static int pool_take(long long now)
{
	origin_pool_expire(now);
	return pool.n ? pool.fd[--pool.n] : -1;
}

static void pool_put(int fd, long long now)
{
	if (pool.n >= pool.max) {
		close(fd);
		return;
	}
	pool.fd[pool.n] = fd;
	pool.since[pool.n++] = now;
}

/* ---------------------------------------------------------------- fetch */

void origin_reply_free(struct origin_reply *r)
{
	free(r->body);
	r->body = NULL;
	if (r->body_fd >= 0)
		close(r->body_fd);
	r->body_fd = -1;
}

/* An empty reply: everything but the room for headers, which hdrs_len
 * bounds. */
static void reply_init(struct origin_reply *r)
{
	r->status = 0;
	r->ttl = 0;
	r->hdrs_len = 0;
	r->body = NULL;
	r->body_len = 0;
	r->body_fd = -1;
	r->body_fd_len = 0;
	r->error = NULL;
}

static void fail(struct origin_reply *r, int status, const char *why)
{
	origin_reply_free(r);
	r->status = status;
	r->ttl = 0; /* waiters of the same fill share the error, nobody else */
	r->hdrs_len = 0;
	r->error = why;
}

static int connect_new(const struct origin *o, long long cdeadline,
		       const char **why, int *status)
{
	socklen_t sl = sizeof(int);
	int fd, err;

	fd = socket(o->addr.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*why = "socket failed";
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&o->addr, o->addrlen) &&
	    errno != EINPROGRESS) {
		*why = "connect failed";
		goto bad;
	}
	err = wait_fd(fd, POLLOUT, cdeadline);
	if (err) {
		*status = err == -ETIMEDOUT ? 504 : 502;
		*why = err == -ETIMEDOUT ? "connect timed out" :
					   "connect failed";
		goto bad;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) || err) {
		*why = "connection refused";
		goto bad;
	}
	pool.st.connects++;
	if (pool.epfd >= 0) {
		/* for the connection's whole life: a fetch waits for its
		 * answer in the worker's loop, and an idle pooled connection
		 * that turns readable has been closed by the origin */
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
					  .data.u64 = ORIGIN_EV_TAG(fd) };

		if (epoll_ctl(pool.epfd, EPOLL_CTL_ADD, fd, &ev)) {
			*why = "epoll_ctl failed";
			goto bad;
		}
	}
	return fd;
bad:
	close(fd);
	return -1;
}

/* Remove the Set-Cookie lines from "Name: value\r\n" headers. */
static size_t drop_cookies(char *h, size_t len)
{
	size_t i = 0, o = 0, e;

	while (i < len) {
		char *lf = memchr(h + i, '\n', len - i);

		e = lf ? (size_t)(lf - h) + 1 : len;
		if (e - i < 11 || strncasecmp(h + i, "Set-Cookie:", 11)) {
			memmove(h + o, h + i, e - i);
			o += e - i;
		}
		i = e;
	}
	return o;
}

/* One fetch of a batch in progress. */
struct job {
	int fd;
	int reused; /* fd came from the pool: may be stale */
	int done; /* 1 complete, -1 failed (r filled) */
	size_t got; /* bytes of the answer so far */
	struct origin_rx rx;
	char req[9000];
	int len;
};

/* The fetches of the batch in progress: a worker runs one batch at a time,
 * and a miss should not pay for clearing a job's buffers. */
static struct job jobs[ORIGIN_BATCH];

/* Append n bytes at *p if they fit before end; NULL once they do not. */
static char *put(char *p, const char *end, const char *s, size_t n)
{
	if (!p || n > (size_t)(end - p))
		return NULL;
	memcpy(p, s, n);
	return p + n;
}

/* GET prefix+target for o into buf: its length, or -1 when it does not
 * fit.  What follows the target is the same for every request of o, made
 * once. */
static int request_build(char *buf, size_t size, const struct origin *o,
			 const char *target, size_t tlen)
{
	static char tail_host[sizeof(o->host)];
	static unsigned int tail_keepalive;
	static char tail[512];
	static int tail_len;
	const char *end = buf + size;
	char *p;

	if (strcmp(tail_host, o->host) || tail_keepalive != pool.max ||
	    !tail_len) {
		tail_len = snprintf(tail, sizeof(tail),
				    " HTTP/1.1\r\nHost: %s\r\n"
				    "User-Agent: lb-backend\r\n"
				    "Accept-Encoding: identity\r\n%s\r\n",
				    o->host,
				    pool.max ? "" : "Connection: close\r\n");
		if (tail_len < 0 || tail_len >= (int)sizeof(tail))
			return -1;
		strcpy(tail_host, o->host);
		tail_keepalive = pool.max;
	}
	p = put(buf, end, "GET ", 4);
	p = put(p, end, o->prefix, strlen(o->prefix));
	p = put(p, end, target, tlen);
	p = put(p, end, tail, tail_len);
	return p ? (int)(p - buf) : -1;
}

/* Open (or take from the pool) a connection for j and send its request.
 * A pooled connection that fails here is replaced once.  0 or -1 (j's
 * reply filled). */
static int job_start(struct job *j, const struct origin *o, int fresh,
		     long long now, long long cdeadline, long long deadline,
		     struct origin_reply *r)
{
	const char *why = NULL;
	int status = 502, err, off;
	ssize_t k;

	for (;;) {
		j->fd = fresh ? -1 : pool_take(now);
		j->reused = j->fd >= 0;
		if (!j->reused) {
			j->fd = connect_new(o, cdeadline, &why, &status);
			if (j->fd < 0) {
				fail(r, status, why);
				return -1;
			}
		}
		j->got = 0;
		for (off = 0; off < j->len;) {
			k = send(j->fd, j->req + off, j->len - off,
				 MSG_NOSIGNAL);
			if (k > 0) {
				off += k;
				continue;
			}
			if (k < 0 && errno != EAGAIN && errno != EINTR)
				break;
			err = wait_fd(j->fd, POLLOUT, deadline);
			if (err) {
				fail(r, 504, "send timed out");
				return -1;
			}
		}
		if (off == j->len)
			return 0;
		close(j->fd);
		j->fd = -1;
		if (!j->reused) {
			fail(r, 502, "send failed");
			return -1;
		}
		pool.st.retries++;
		fresh = 1;
	}
}

/* Read what j's connection has.  1 complete, 0 more to come, -1 failed,
 * 2 the pooled connection was stale (nothing came): start again. */
static int job_read(struct job *j, struct origin_reply *r)
{
	char buf[65536];
	ssize_t k;
	int err;

	for (;;) {
		k = recv(j->fd, buf, sizeof(buf), 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			if (!j->got && j->reused)
				return 2;
			fail(r, 502, "recv failed");
			return -1;
		}
		if (k == 0) {
			if (!j->got && j->reused)
				return 2;
			err = origin_rx_eof(&j->rx);
		} else {
			j->got += k;
			err = origin_rx_feed(&j->rx, buf, k);
		}
		if (err < 0) {
			fail(r, 502, j->rx.error);
			return -1;
		}
		if (err == 1)
			return 1;
	}
}

/* A complete answer into r: the one cacheability decision, the headers to
 * pass on, the body. */
static void job_reply(struct job *j, const struct origin_limits *lim,
		      struct origin_reply *r)
{
	struct origin_rx *rx = &j->rx;

	r->status = rx->resp.status;
	r->ttl = http_cache_ttl(&rx->resp, lim->def_ttl, time(NULL),
				lim->cache_flags);
	memcpy(r->hdrs, rx->resp.keep, rx->resp.keep_len);
	r->hdrs_len = rx->resp.keep_len;
	/* a stored answer never carries one client's cookies to another */
	if (r->ttl > 0 && rx->resp.cache.set_cookie)
		r->hdrs_len = drop_cookies(r->hdrs, r->hdrs_len);
	r->body = rx->body;
	r->body_len = rx->body_len;
	r->body_fd = rx->fd;
	r->body_fd_len = rx->fd_len;
	/* over the largest object kept: never stored, so never waited on */
	if (rx->fd >= 0)
		r->ttl = -1;
	rx->body = NULL;
	rx->fd = -1;
}

int origin_fetch_many(const struct origin *o, const struct origin_target *t,
		      unsigned int n, const struct origin_limits *lim,
		      struct origin_reply *r)
{
	long long start = mono_ms(), deadline = start + lim->timeout_ms;
	long long cdeadline = start + lim->connect_ms;
	struct pollfd pfd[ORIGIN_BATCH];
	struct job *j;
	unsigned int i, left = 0, np, map[ORIGIN_BATCH];
	long long now;
	int k;

	if (n > ORIGIN_BATCH)
		n = ORIGIN_BATCH;
	if (cdeadline > deadline)
		cdeadline = deadline;
	for (i = 0; i < n; i++) {
		reply_init(&r[i]);
		j = &jobs[i];
		j->fd = -1;
		j->done = 0;
		origin_rx_init(&j->rx, lim->max_mem, lim->max_size,
			       lim->spool_dir);
		j->len = request_build(j->req, sizeof(j->req), o, t[i].target,
				       t[i].len);
		if (j->len < 0) {
			fail(&r[i], 502, "request too long");
			j->done = -1;
			continue;
		}
		if (job_start(j, o, 0, start, cdeadline, deadline, &r[i])) {
			j->done = -1;
			continue;
		}
		left++;
	}
	/* all requests are out: the answers come in while we wait for any */
	while (left) {
		np = 0;
		for (i = 0; i < n; i++)
			if (!jobs[i].done) {
				pfd[np] = (struct pollfd){ .fd = jobs[i].fd,
							   .events = POLLIN };
				map[np++] = i;
			}
		now = mono_ms();
		k = poll(pfd, np, deadline > now ? (int)(deadline - now) : 0);
		if (k < 0 && errno == EINTR)
			continue;
		now = mono_ms();
		if (k <= 0) {
			for (i = 0; i < np; i++) {
				fail(&r[map[i]], 504, "response timed out");
				jobs[map[i]].done = -1;
			}
			break;
		}
		for (unsigned int p = 0; p < np; p++) {
			if (!pfd[p].revents)
				continue;
			i = map[p];
			j = &jobs[i];
			k = job_read(j, &r[i]);
			if (k == 2) {
				/* the origin had closed the pooled connection:
				 * once more on a new one */
				close(j->fd);
				pool.st.retries++;
				origin_rx_init(&j->rx, lim->max_mem,
					       lim->max_size, lim->spool_dir);
				if (job_start(j, o, 1, now, cdeadline, deadline,
					      &r[i]))
					k = -1;
				else
					continue;
			}
			if (k == 0)
				continue;
			j->done = k;
			left--;
			if (k == 1) {
				if (j->reused)
					pool.st.reused++;
				if (origin_rx_reusable(&j->rx) && pool.max) {
					pool_put(j->fd, now);
					j->fd = -1;
				}
				job_reply(j, lim, &r[i]);
			}
		}
	}
	for (i = 0; i < n; i++) {
		if (jobs[i].fd >= 0)
			close(jobs[i].fd);
		origin_rx_free(&jobs[i].rx);
	}
	return 0;
}

int origin_fetch(const struct origin *o, const char *target, size_t tlen,
		 const struct origin_limits *lim, struct origin_reply *r)
{
	struct origin_target t = { target, tlen };

	return origin_fetch_many(o, &t, 1, lim, r);
}

/* ------------------------------------------------ fetches in the loop */

/*
 * The same fetch as origin_fetch_many, but the wait is the worker's
 * epoll_wait: a request goes out, and the answer is read when its
 * connection reports it, while the worker serves its other connections.
 */
static struct {
	struct job j;
	int used;
	long long deadline;
	const struct origin *o;
	const struct origin_limits *lim;
} ops[ORIGIN_BATCH];

void origin_async_init(int epfd)
{
	pool.epfd = epfd;
}

int origin_async_start(const struct origin *o, const char *target, size_t tlen,
		       const struct origin_limits *lim, long long now,
		       struct origin_reply *r)
{
	long long deadline = now + lim->timeout_ms;
	long long cdeadline = now + lim->connect_ms;
	struct job *j;
	int id;

	for (id = 0; id < ORIGIN_BATCH && ops[id].used; id++)
		;
	reply_init(r);
	if (id == ORIGIN_BATCH) {
		fail(r, 502, "too many fetches at once");
		return -1;
	}
	if (cdeadline > deadline)
		cdeadline = deadline;
	j = &ops[id].j;
	j->fd = -1;
	j->done = 0;
	origin_rx_init(&j->rx, lim->max_mem, lim->max_size, lim->spool_dir);
	j->len = request_build(j->req, sizeof(j->req), o, target, tlen);
	if (j->len < 0) {
		fail(r, 502, "request too long");
		return -1;
	}
	if (job_start(j, o, 0, now, cdeadline, deadline, r)) {
		origin_rx_free(&j->rx);
		return -1;
	}
	ops[id].used = 1;
	ops[id].deadline = deadline;
	ops[id].o = o;
	ops[id].lim = lim;
	return id;
}

/* Fetch id is over: its connection back to the pool or closed. */
static void op_end(int id, long long now)
{
	struct job *j = &ops[id].j;

	if (j->fd >= 0) {
		if (j->done == 1 && origin_rx_reusable(&j->rx) && pool.max)
			pool_put(j->fd, now);
		else
			close(j->fd);
		j->fd = -1;
	}
	origin_rx_free(&j->rx);
	ops[id].used = 0;
}

int origin_async_event(uint64_t tag, long long now, struct origin_reply *r)
{
	int fd = (int)(tag >> 1), id, k;
	struct job *j;

	reply_init(r);
	for (id = 0; id < ORIGIN_BATCH; id++)
		if (ops[id].used && ops[id].j.fd == fd)
			break;
	if (id == ORIGIN_BATCH) {
		/* an idle pooled connection has something to say: the
		 * origin closed it (or sent what nobody asked for) */
		for (unsigned int i = 0; i < pool.n; i++)
			if (pool.fd[i] == fd) {
				close(fd);
				pool.n--;
				pool.fd[i] = pool.fd[pool.n];
				pool.since[i] = pool.since[pool.n];
				break;
			}
		return -1;
	}
	j = &ops[id].j;
	k = job_read(j, r);
	if (k == 2) {
		/* the origin had closed the pooled connection: once more on a
		 * new one */
		const struct origin_limits *lim = ops[id].lim;

		close(j->fd);
		j->fd = -1;
		pool.st.retries++;
		origin_rx_init(&j->rx, lim->max_mem, lim->max_size,
			       lim->spool_dir);
		if (!job_start(j, ops[id].o, 1, now,
			       now + lim->connect_ms < ops[id].deadline ?
				       now + lim->connect_ms :
				       ops[id].deadline,
			       ops[id].deadline, r))
			return -1;
		k = -1;
	}
	if (k == 0)
		return -1;
	j->done = k;
	if (k == 1) {
		if (j->reused)
			pool.st.reused++;
		job_reply(j, ops[id].lim, r);
	}
	op_end(id, now);
	return id;
}

int origin_async_expire(long long now, struct origin_reply *r)
{
	for (int id = 0; id < ORIGIN_BATCH; id++) {
		if (!ops[id].used || now < ops[id].deadline)
			continue;
		reply_init(r);
		fail(r, 504, "response timed out");
		ops[id].j.done = -1;
		op_end(id, now);
		return id;
	}
	return -1;
}
