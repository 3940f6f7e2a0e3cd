// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * redis.c - a non-blocking Redis client (RESP2): address parsing, the reply
 * parser, command encoding, one pipelined connection, a circuit breaker.
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

/* ---------------------------------------------------------------- addresses */

static int resolve(const char *host, const char *port, struct redis_addr *a,
		   const char *what, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	char *end;
	long p;
	int rc;

	p = strtol(port, &end, 10);
	if (!*port || *end || p < 1 || p > 65535) {
		snprintf(err, errlen, "redis '%s': bad port '%s'", what, port);
		return -EINVAL;
	}
	if (!*host) {
		snprintf(err, errlen, "redis '%s': no host", what);
		return -EINVAL;
	}
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "redis '%s': %s", what, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(&a->ss, ai->ai_addr, ai->ai_addrlen);
	a->len = ai->ai_addrlen;
	freeaddrinfo(ai);
	snprintf(a->text, sizeof(a->text), "%s%s%s:%s",
		 strchr(host, ':') ? "[" : "", host,
		 strchr(host, ':') ? "]" : "", port);
	return 0;
}

/* "host:port" or "[v6]:port" of s[0..n) into host and port. */
static int split_hostport(const char *s, size_t n, char *host, size_t hcap,
			  char *port, size_t pcap)
{
	const char *colon;
	size_t hl;

	if (n && s[0] == '[') {
		const char *rb = memchr(s, ']', n);

		if (!rb || rb + 1 >= s + n || rb[1] != ':')
			return -EINVAL;
		hl = rb - s - 1;
		if (hl >= hcap)
			return -EINVAL;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		colon = rb + 1;
	} else {
		colon = memrchr(s, ':', n);
		if (!colon)
			colon = s + n;
		hl = colon - s;
		if (hl >= hcap || memchr(s, ':', hl))
			return -EINVAL;
		memcpy(host, s, hl);
		host[hl] = '\0';
	}
	if (colon == s + n) {
		snprintf(port, pcap, "6379");
		return 0;
	}
	if ((size_t)(s + n - colon - 1) >= pcap)
		return -EINVAL;
	memcpy(port, colon + 1, s + n - colon - 1);
	port[s + n - colon - 1] = '\0';
	return 0;
}

int redis_hostport_parse(const char *hp, struct redis_addr *a, char *err,
			 size_t errlen)
{
	char host[256], port[16];

	memset(a, 0, sizeof(*a));
	if (split_hostport(hp, strlen(hp), host, sizeof(host), port,
			   sizeof(port))) {
		snprintf(err, errlen, "redis '%s': not HOST:PORT", hp);
		return -EINVAL;
	}
	return resolve(host, port, a, hp, err, errlen);
}

static int parse_db(const char *s, int *db)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 65535)
		return -EINVAL;
	*db = v;
	return 0;
}

/* unix:/path[?db=N][&password=PW] */
static int parse_unix(const char *url, struct redis_addr *a, char *err,
		      size_t errlen)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&a->ss;
	const char *path = url + 5, *q = strchr(path, '?');
	size_t plen = q ? (size_t)(q - path) : strlen(path);

	if (plen == 0 || path[0] != '/' || plen >= sizeof(sun->sun_path)) {
		snprintf(err, errlen, "redis '%s': unix:/PATH expected", url);
		return -EINVAL;
	}
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, plen);
	a->len = sizeof(*sun);
	snprintf(a->text, sizeof(a->text), "%.*s", (int)plen, path);
	while (q && *q) {
		char kv[200];
		const char *amp = strchr(q + 1, '&');
		size_t n = amp ? (size_t)(amp - q - 1) : strlen(q + 1);

		if (n >= sizeof(kv))
			goto bad;
		memcpy(kv, q + 1, n);
		kv[n] = '\0';
		if (!strncmp(kv, "db=", 3)) {
			if (parse_db(kv + 3, &a->db))
				goto bad;
		} else if (!strncmp(kv, "password=", 9) &&
			   strlen(kv + 9) < sizeof(a->password)) {
			strcpy(a->password, kv + 9);
		} else {
			goto bad;
		}
		q = amp;
	}
	return 0;
bad:
	snprintf(err, errlen, "redis '%s': bad parameter after '?'", url);
	return -EINVAL;
}

int redis_url_parse(const char *url, struct redis_addr *a, char *err,
		    size_t errlen)
{
	char host[256], port[16];
	const char *p, *at, *slash, *end;

	memset(a, 0, sizeof(*a));
	if (!strncmp(url, "unix:", 5))
		return parse_unix(url, a, err, errlen);
	if (strncmp(url, "redis://", 8)) {
		snprintf(
			err, errlen,
			"redis '%s': redis://[:PASSWORD@]HOST:PORT[/DB] or unix:/PATH expected",
			url);
		return -EINVAL;
	}
	p = url + 8;
	slash = strchr(p, '/');
	end = slash ? slash : p + strlen(p);
	at = memrchr(p, '@', end - p);
	if (at) {
		/* [[user]:]password@: AUTH [user] password */
		const char *colon = memchr(p, ':', at - p);
		const char *pw = colon ? colon + 1 : p;

		if ((size_t)(at - pw) >= sizeof(a->password) || at == pw ||
		    (colon && (size_t)(colon - p) >= sizeof(a->username))) {
			snprintf(err, errlen, "redis '%s': bad password", url);
			return -EINVAL;
		}
		memcpy(a->password, pw, at - pw);
		a->password[at - pw] = '\0';
		if (colon) {
			memcpy(a->username, p, colon - p);
			a->username[colon - p] = '\0';
		}
		p = at + 1;
	}
	if (split_hostport(p, end - p, host, sizeof(host), port,
			   sizeof(port))) {
		snprintf(err, errlen, "redis '%s': bad HOST:PORT", url);
		return -EINVAL;
	}
	if (slash && slash[1] && parse_db(slash + 1, &a->db)) {
		snprintf(err, errlen, "redis '%s': bad database '%s'", url,
			 slash + 1);
		return -EINVAL;
	}
	return resolve(host, port, a, url, err, errlen);
}

/* ---------------------------------------------------------------- RESP */

static struct resp *pool_get(struct resp_pool *pool, size_t n)
{
	struct resp *r;

	if (pool->used + n > pool->cap) {
		size_t cap = pool->cap ? pool->cap : 64;
		struct resp *nn;

		while (cap < pool->used + n)
			cap *= 2;
		nn = realloc(pool->node, cap * sizeof(*nn));
		if (!nn)
			return NULL;
		pool->node = nn;
		pool->cap = cap;
	}
	r = pool->node + pool->used;
	pool->used += n;
	return r;
}

void resp_pool_free(struct resp_pool *pool)
{
	free(pool->node);
	*pool = (struct resp_pool){ 0 };
}

/* A line ending in CRLF at buf[0..len): its length without CRLF, -1 when
 * incomplete, -2 when a bare CR or LF makes it not RESP. */
static long line_len(const char *buf, size_t len)
{
	const char *cr = memchr(buf, '\r', len);

	if (!cr) {
		if (memchr(buf, '\n', len))
			return -2;
		return -1;
	}
	if ((size_t)(cr - buf) + 1 >= len)
		return -1;
	if (cr[1] != '\n' || memchr(buf, '\n', cr - buf))
		return -2;
	return cr - buf;
}

static int parse_ll(const char *s, size_t n, long long *v)
{
	long long x = 0;
	size_t i = 0;
	int neg = 0;

	if (n && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == n || n - i > 18)
		return -1;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	*v = neg ? -x : x;
	return 0;
}

/* Nodes are addressed by index while parsing: the pool may move. */
static long parse_at(const char *buf, size_t len, size_t max_bulk,
		     struct resp_pool *pool, size_t idx, int depth,
		     uint64_t *skip)
{
	long ll = line_len(buf, len), used;
	long long v;
	size_t first, i;

	if (ll == -1)
		return 0;
	if (ll < 1)
		return -EPROTO;
	struct resp r = { .str = buf + 1, .len = ll - 1 };

	switch (buf[0]) {
	case '+':
		r.type = RESP_STATUS;
		break;
	case '-':
		r.type = RESP_ERROR;
		break;
	case ':':
		r.type = RESP_INT;
		if (parse_ll(buf + 1, ll - 1, &r.integer))
			return -EPROTO;
		break;
	case '$':
		if (parse_ll(buf + 1, ll - 1, &v) || v < -1)
			return -EPROTO;
		if (v == -1) {
			r = (struct resp){ .type = RESP_NIL };
			break;
		}
		if ((uint64_t)v > max_bulk) {
			if (depth)
				return -EPROTO;
			r = (struct resp){ .type = RESP_TOOBIG, .integer = v };
			*skip = v + 2;
			pool->node[idx] = r;
			return ll + 2;
		}
		if ((size_t)ll + 2 + v + 2 > len)
			return 0;
		if (buf[ll + 2 + v] != '\r' || buf[ll + 3 + v] != '\n')
			return -EPROTO;
		r = (struct resp){ .type = RESP_BULK,
				   .str = buf + ll + 2,
				   .len = v };
		pool->node[idx] = r;
		return ll + 2 + v + 2;
	case '*':
		if (parse_ll(buf + 1, ll - 1, &v) || v < -1 ||
		    v > RESP_MAX_ELEMS)
			return -EPROTO;
		if (v == -1) {
			r = (struct resp){ .type = RESP_NIL };
			break;
		}
		if (depth >= RESP_MAX_DEPTH)
			return -EPROTO;
		first = pool->used;
		if (!pool_get(pool, v))
			return -ENOMEM;
		used = ll + 2;
		for (i = 0; i < (size_t)v; i++) {
			long k = parse_at(buf + used, len - used, max_bulk,
					  pool, first + i, depth + 1, skip);

			if (k <= 0)
				return k;
			used += k;
		}
		/* elem is fixed up once the pool stops moving */
		pool->node[idx] = (struct resp){ .type = RESP_ARRAY,
						 .n = v,
						 .integer = (long long)first };
		return used;
	default:
		return -EPROTO;
	}
	pool->node[idx] = r;
	return ll + 2;
}

long resp_parse(const char *buf, size_t len, size_t max_bulk,
		struct resp_pool *pool, struct resp **out, uint64_t *skip)
{
	long n;

	pool->used = 0;
	*skip = 0;
	if (!len)
		return 0;
	if (!pool_get(pool, 1))
		return -ENOMEM;
	n = parse_at(buf, len, max_bulk, pool, 0, 0, skip);
	if (n <= 0)
		return n;
	for (size_t i = 0; i < pool->used; i++)
		if (pool->node[i].type == RESP_ARRAY) {
			pool->node[i].elem =
				pool->node + (size_t)pool->node[i].integer;
			pool->node[i].integer = 0;
		}
	*out = pool->node;
	return n;
}

static int grow(char **buf, size_t *cap, size_t need)
{
	size_t c = *cap ? *cap : 1024;
	char *nb;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	nb = realloc(*buf, c);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = c;
	return 0;
}

int resp_encode(char **buf, size_t *len, size_t *cap, int argc,
		const char *const *argv, const size_t *argvlen)
{
	size_t need = 16;
	int i, n;

	for (i = 0; i < argc; i++)
		need += argvlen[i] + 32;
	if (grow(buf, cap, *len + need))
		return -ENOMEM;
	n = sprintf(*buf + *len, "*%d\r\n", argc);
	*len += n;
	for (i = 0; i < argc; i++) {
		n = sprintf(*buf + *len, "$%zu\r\n", argvlen[i]);
		*len += n;
		memcpy(*buf + *len, argv[i], argvlen[i]);
		*len += argvlen[i];
		memcpy(*buf + *len, "\r\n", 2);
		*len += 2;
	}
	return 0;
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
		    grow(&c->in, &c->in_cap, c->in_len + 65536))
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
