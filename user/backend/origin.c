// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* origin.c - fetch from the origin server; see origin.h. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
	memset(rx, 0, sizeof(*rx));
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
	struct origin_pool_stats st;
} pool;

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
static int pool_take(void)
{
	origin_pool_expire(mono_ms());
	return pool.n ? pool.fd[--pool.n] : -1;
}

static void pool_put(int fd)
{
	if (pool.n >= pool.max) {
		close(fd);
		return;
	}
	pool.fd[pool.n] = fd;
	pool.since[pool.n++] = mono_ms();
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

/*
 * One exchange on fd.  Returns 1 when the response is complete, 0 when the
 * connection failed before a single byte of the answer came (a stale pooled
 * connection: worth one retry), -1 on any other failure (r filled).
 */
static int exchange(int fd, const char *req, size_t n, long long deadline,
		    struct origin_rx *rx, struct origin_reply *r)
{
	char buf[65536];
	size_t got = 0;
	ssize_t k;
	int err;

	for (size_t off = 0; off < n;) {
		k = send(fd, req + off, n - off, MSG_NOSIGNAL);
		if (k > 0) {
			off += k;
			continue;
		}
		if (k < 0 && errno != EAGAIN && errno != EINTR)
			return 0;
		err = wait_fd(fd, POLLOUT, deadline);
		if (err) {
			fail(r, 504, "send timed out");
			return -1;
		}
	}
	/* the answer takes a round trip: wait for it before the first recv
	 * rather than after a recv that would only say EAGAIN */
	err = wait_fd(fd, POLLIN, deadline);
	if (err) {
		fail(r, 504, "response timed out");
		return -1;
	}
	for (;;) {
		k = recv(fd, buf, sizeof(buf), 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				if (!got)
					return 0;
				fail(r, 502, "recv failed");
				return -1;
			}
			err = wait_fd(fd, POLLIN, deadline);
			if (err) {
				fail(r, 504, "response timed out");
				return -1;
			}
			continue;
		}
		if (k == 0) {
			if (!got)
				return 0;
			err = origin_rx_eof(rx);
		} else {
			got += k;
			err = origin_rx_feed(rx, buf, k);
		}
		if (err < 0) {
			fail(r, 502, rx->error);
			return -1;
		}
		if (err == 1)
			return 1;
	}
}

int origin_fetch(const struct origin *o, const char *target, size_t tlen,
		 const struct origin_limits *lim, struct origin_reply *r)
{
	long long start = mono_ms(), deadline = start + lim->timeout_ms;
	long long cdeadline = start + lim->connect_ms;
	const char *why = NULL;
	struct origin_rx rx;
	int fd, n, reused, status = 502, k = 0;
	char req[9000];

	memset(r, 0, sizeof(*r));
	r->body_fd = -1;
	if (cdeadline > deadline)
		cdeadline = deadline;
	n = snprintf(req, sizeof(req),
		     "GET %s%.*s HTTP/1.1\r\nHost: %s\r\n"
		     "User-Agent: lb-backend\r\nAccept-Encoding: identity\r\n"
		     "%s\r\n",
		     o->prefix, (int)tlen, target, o->host,
		     pool.max ? "" : "Connection: close\r\n");
	if (n < 0 || n >= (int)sizeof(req)) {
		fail(r, 502, "request too long");
		return 0;
	}
	/* a pooled connection first; if the origin had closed it, once more
	 * on a new one */
	for (int attempt = 0; attempt < 2 && k == 0; attempt++) {
		fd = attempt ? -1 : pool_take();
		reused = fd >= 0;
		if (!reused) {
			attempt = 1; /* a new connection is the last try */
			fd = connect_new(o, cdeadline, &why, &status);
			if (fd < 0) {
				fail(r, status, why);
				return 0;
			}
		}
		origin_rx_init(&rx, lim->max_mem, lim->max_size,
			       lim->spool_dir);
		k = exchange(fd, req, n, deadline, &rx, r);
		if (k == 1 && origin_rx_reusable(&rx) && pool.max)
			pool_put(fd);
		else
			close(fd);
		if (k == 0 && reused)
			pool.st.retries++;
		else if (reused)
			pool.st.reused++;
		if (k != 1)
			origin_rx_free(&rx);
	}
	if (k == 0)
		fail(r, 502, "connection closed before the headers");
	if (k != 1)
		return 0;
	r->status = rx.resp.status;
	r->ttl = http_cache_ttl(&rx.resp, lim->def_ttl, time(NULL),
				lim->cache_flags);
	memcpy(r->hdrs, rx.resp.keep, rx.resp.keep_len);
	r->hdrs_len = rx.resp.keep_len;
	/* a stored answer never carries one client's cookies to another */
	if (r->ttl > 0 && rx.resp.cache.set_cookie)
		r->hdrs_len = drop_cookies(r->hdrs, r->hdrs_len);
	r->body = rx.body;
	r->body_len = rx.body_len;
	r->body_fd = rx.fd;
	r->body_fd_len = rx.fd_len;
	/* over the largest object kept: never stored, so never waited on */
	if (rx.fd >= 0)
		r->ttl = -1;
	rx.body = NULL;
	rx.fd = -1;
	origin_rx_free(&rx);
	return 0;
}
