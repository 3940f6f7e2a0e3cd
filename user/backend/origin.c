// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * origin.c - fetch from the origin server (see origin.h): the URL, the
 * connection pool, a fetch's request and connection.
 */
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
#include "origin_int.h"

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

/* Close pooled connection i; the last takes its place. */
static void pool_del(unsigned int i)
{
	close(pool.fd[i]);
	pool.n--;
	pool.fd[i] = pool.fd[pool.n];
	pool.since[i] = pool.since[pool.n];
}

void origin_pool_expire(long long now)
{
	for (unsigned int i = 0; i < pool.n;) {
		if (now - pool.since[i] > pool.idle_ms) {
			pool_del(i);
			continue;
		}
		i++;
	}
}

void origin_pool_drop(int fd)
{
	for (unsigned int i = 0; i < pool.n; i++)
		if (pool.fd[i] == fd) {
			pool_del(i);
			return;
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

void origin_pool_put(int fd, long long now)
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

void origin_reply_init(struct origin_reply *r)
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

void origin_reply_fail(struct origin_reply *r, int status, const char *why)
{
	origin_reply_free(r);
	r->status = status;
	r->ttl = 0; /* waiters of the same fill share the error, nobody else */
	r->hdrs_len = 0;
	r->error = why;
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
/* fd into the worker's epoll (op EPOLL_CTL_*) for events, tagged as an
 * origin connection.  0, or -1 when there is no such epoll. */
static int watch(int fd, int op, uint32_t events)
{
	struct epoll_event ev = { .events = events,
				  .data.u64 = ORIGIN_EV_TAG(fd) };

	return pool.epfd >= 0 ? epoll_ctl(pool.epfd, op, fd, &ev) : 0;
}

/* A connection whose connect() finished: its error, and from now on in the
 * worker's epoll for its whole life (a fetch waits for its answer in the
 * worker's loop, and an idle pooled connection that turns readable has
 * been closed by the origin).  0, or -1 with why set. */
static int connect_done(int fd, int op, const char **why)
{
	socklen_t sl = sizeof(int);
	int err;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) || err) {
		*why = "connection refused";
		return -1;
	}
	if (watch(fd, op, EPOLLIN | EPOLLRDHUP)) {
		*why = "epoll_ctl failed";
		return -1;
	}
	pool.st.connects++;
	return 0;
}

/*
 * A new connection to o.  A connect that is still in progress sets
 * *pending, and the connection waits in the worker's epoll for EPOLLOUT
 * (origin_job_connected); the worker serves its other clients meanwhile.
 * The fd, or -1 with why and status set.
 */
static int connect_new(const struct origin *o, const char **why, int *status,
		       int *pending)
{
	int fd;

	*pending = 0;
	*status = 502;
	fd = socket(o->addr.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*why = "socket failed";
		return -1;
	}
	if (!connect(fd, (const struct sockaddr *)&o->addr, o->addrlen)) {
		if (connect_done(fd, EPOLL_CTL_ADD, why))
			goto bad;
		return fd;
	}
	if (errno != EINPROGRESS) {
		*why = "connect failed";
		goto bad;
	}
	if (pool.epfd < 0 || watch(fd, EPOLL_CTL_ADD, EPOLLOUT)) {
		*why = "epoll_ctl failed";
		goto bad;
	}
	*pending = 1;
	return fd;
bad:
	close(fd);
	return -1;
}

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
int origin_request_build(char *buf, size_t size, const struct origin *o,
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

void origin_async_init(int epfd)
{
	pool.epfd = epfd;
}

int origin_conn_take(long long now)
{
	return pool_take(now);
}

int origin_conn_new(const struct origin *o, const char **why, int *status,
		    int *pending)
{
	return connect_new(o, why, status, pending);
}

int origin_conn_made(int fd, const char **why)
{
	return connect_done(fd, EPOLL_CTL_MOD, why);
}

int origin_wait_out(int fd, long long deadline)
{
	return wait_fd(fd, POLLOUT, deadline);
}

void origin_pool_count(int reused, int retries)
{
	pool.st.reused += reused;
	pool.st.retries += retries;
}
