// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * redis.c - a non-blocking Redis client: one pipelined connection and a
 * circuit breaker.  Addresses and URLs are parsed in redis_addr.c, RESP
 * replies parsed and commands encoded in resp.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "redis.h"

long long redis_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- connection */

void redis_init(struct redis_conn *c, size_t max_bulk)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->max_bulk = max_bulk;
}

static int q_push(struct redis_conn *c, redis_cb cb, void *arg)
{
	if (c->q_len == c->q_cap) {
		unsigned int cap = c->q_cap ? c->q_cap * 2 : 64;
		struct redis_pending *nq = malloc(cap * sizeof(*nq));

		if (!nq)
			return -ENOMEM;
		for (unsigned int i = 0; i < c->q_len; i++)
			nq[i] = c->q[(c->q_head + i) % c->q_cap];
		free(c->q);
		c->q = nq;
		c->q_cap = cap;
		c->q_head = 0;
	}
	c->q[(c->q_head + c->q_len) % c->q_cap] =
		(struct redis_pending){ cb, arg };
	c->q_len++;
	return 0;
}

static struct redis_pending q_pop(struct redis_conn *c)
{
	struct redis_pending p = c->q[c->q_head];

	c->q_head = (c->q_head + 1) % c->q_cap;
	c->q_len--;
	return p;
}

void redis_close(struct redis_conn *c, const char *why)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = REDIS_DOWN;
	c->out_len = c->out_off = c->in_len = 0;
	c->skip = 0;
	if (why)
		snprintf(c->err, sizeof(c->err), "%s", why);
	/* a callback may queue more on a connection that is down: it fails
	 * at once, so this ends */
	while (c->q_len) {
		struct redis_pending p = q_pop(c);

		if (p.cb)
			p.cb(p.arg, NULL);
	}
}

void redis_free(struct redis_conn *c)
{
	redis_close(c, NULL);
	free(c->out);
	free(c->in);
	free(c->q);
	resp_pool_free(&c->pool);
	redis_init(c, c->max_bulk);
}

static void on_setup(void *arg, const struct resp *r)
{
	struct redis_conn *c = arg;

	if (r && r->type == RESP_ERROR) {
		c->auth_failed = 1;
		snprintf(c->err, sizeof(c->err), "%.*s", (int)r->len, r->str);
	}
}

int redis_connect(struct redis_conn *c, const struct redis_addr *a)
{
	int one = 1, fd;

	redis_close(c, NULL);
	c->auth_failed = 0;
	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		goto fail;
	if (a->ss.ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) &&
	    errno != EINPROGRESS) {
		close(fd);
		goto fail;
	}
	c->fd = fd;
	c->gen++;
	c->state = REDIS_CONNECTING;
	if (a->password[0]) {
		/* AUTH user password: the ACL form, for a named user */
		const char *argv[] = { "AUTH", a->username, a->password };
		int named = a->username[0] != '\0';

		argv[1] = named ? a->username : a->password;
		if (redis_cmdv(c, on_setup, c, named ? 3 : 2, argv))
			goto fail_close;
	}
	if (a->db) {
		char db[16];
		const char *argv[] = { "SELECT", db };

		snprintf(db, sizeof(db), "%d", a->db);
		if (redis_cmdv(c, on_setup, c, 2, argv))
			goto fail_close;
	}
	return 0;
fail:
	fd = errno;
	snprintf(c->err, sizeof(c->err), "connect %.200s: %s", a->text,
		 strerror(fd));
	return -fd;
fail_close:
	redis_close(c, "out of memory");
	return -ENOMEM;
}

int redis_cmd(struct redis_conn *c, redis_cb cb, void *arg, int argc,
	      const char *const *argv, const size_t *argvlen)
{
	size_t len = c->out_len;

	if (c->state == REDIS_DOWN)
		return -ENOTCONN;
	if (resp_encode(&c->out, &len, &c->out_cap, argc, argv, argvlen))
		return -ENOMEM;
	if (q_push(c, cb, arg))
		return -ENOMEM;
	c->out_len = len;
	return 0;
}

int redis_cmdv(struct redis_conn *c, redis_cb cb, void *arg, int argc,
	       const char *const *argv)
{
	size_t lens[16];

	if (argc > 16)
		return -E2BIG;
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	return redis_cmd(c, cb, arg, argc, argv, lens);
}

static int fail(struct redis_conn *c, int err, const char *what)
{
	char why[160];

	snprintf(why, sizeof(why), "%s: %s", what, strerror(err));
	redis_close(c, why);
	return -err;
}

/* Hand the complete replies in c->in to their callbacks. */
static int dispatch(struct redis_conn *c)
{
	size_t off = 0;
	struct resp *r;
	uint64_t skip;
	long n;

	for (;;) {
		if (c->skip) {
			size_t k = c->in_len - off < c->skip ? c->in_len - off :
							       c->skip;

			off += k;
			c->skip -= k;
			if (c->skip)
				break;
		}
		n = resp_parse(c->in + off, c->in_len - off, c->max_bulk,
			       &c->pool, &r, &skip);
		if (n == 0)
			break;
		if (n < 0)
			return fail(c, -n, "reply");
		if (!c->q_len && !c->on_push)
			return fail(c, EPROTO, "unexpected reply");
		off += n;
		c->skip = skip;
		struct redis_pending p = { c->on_push, c->push_arg };

		if (c->q_len)
			p = q_pop(c);

		if (p.cb)
			p.cb(p.arg, r);
		if (c->state == REDIS_DOWN)
			return -ECONNRESET; /* the callback closed it */
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	return 0;
}

/* One send (out) or recv: bytes moved, 0 at the end of the stream, or
 * -errno (-EAGAIN: the socket takes or holds nothing now). */
static ssize_t sock_io(int fd, void *p, size_t n, int out)
{
	ssize_t k;

	do
		k = out ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
	while (k < 0 && errno == EINTR);
	return k < 0 ? -errno : k;
}

int redis_io(struct redis_conn *c)
{
	ssize_t k;
	int err;
	socklen_t sl = sizeof(err);

	if (c->state == REDIS_DOWN)
		return -ENOTCONN;
	if (c->state == REDIS_CONNECTING) {
		struct pollfd p = { .fd = c->fd, .events = POLLOUT };

		if (poll(&p, 1, 0) <= 0)
			return 0;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl))
			err = errno;
		if (err)
			return fail(c, err, "connect");
		c->state = REDIS_UP;
	}
	while (c->out_off < c->out_len) {
		k = sock_io(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			    1);
		if (k == -EAGAIN)
			break;
		if (k < 0)
			return fail(c, -k, "send");
		c->out_off += k;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	for (;;) {
		if (c->in_cap - c->in_len < 16384 &&
		    redis_buf_grow(&c->in, &c->in_cap, c->in_len + 65536))
			return fail(c, ENOMEM, "read");
		k = sock_io(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (k == 0)
			return fail(c, ECONNRESET, "server closed");
		if (k == -EAGAIN)
			break;
		if (k < 0)
			return fail(c, -k, "recv");
		c->in_len += k;
		err = dispatch(c);
		if (err)
			return err;
	}
	return 0;
}

int redis_wait(struct redis_conn *c, long long deadline_ms)
{
	struct pollfd p;
	long long now;
	int err;

	for (;;) {
		err = redis_io(c);
		if (err)
			return err;
		if (!c->q_len)
			return 0;
		now = redis_mono_ms();
		if (now >= deadline_ms) {
			redis_close(c, "timed out");
			return -ETIMEDOUT;
		}
		p = (struct pollfd){ .fd = c->fd, .events = POLLIN };
		if (c->state == REDIS_CONNECTING || c->out_off < c->out_len)
			p.events |= POLLOUT;
		if (poll(&p, 1, deadline_ms - now) < 0 && errno != EINTR)
			return fail(c, errno, "poll");
	}
}

/* ---------------------------------------------------------------- breaker */

int breaker_allow(struct breaker *b, long long now)
{
	switch (b->state) {
	case BREAKER_CLOSED:
		return 1;
	case BREAKER_OPEN:
		if (now < b->retry_at)
			return 0;
		b->state = BREAKER_HALF_OPEN;
		return 1;
	default:
		/* the probe decides; meanwhile nobody else goes */
		return 0;
	}
}

int breaker_success(struct breaker *b)
{
	int was = b->state;

	b->state = BREAKER_CLOSED;
	return was == BREAKER_CLOSED ? -1 : BREAKER_CLOSED;
}

int breaker_failure(struct breaker *b, long long now)
{
	int was = b->state;

	b->state = BREAKER_OPEN;
	b->retry_at = now + b->open_ms;
	if (was != BREAKER_CLOSED)
		return -1; /* a failed probe: still open */
	b->opened++;
	return BREAKER_OPEN;
}
