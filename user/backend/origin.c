// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* origin.c - fetch from the origin server; see origin.h. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void fail(struct origin_reply *r, int status, const char *why)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
	r->status = status;
	r->ttl = 0; /* waiters of the same fill share the error, nobody else */
	r->error = why;
}

int origin_fetch(const struct origin *o, const char *target, size_t tlen,
		 const struct origin_limits *lim, struct origin_reply *r)
{
	long long start = mono_ms(), deadline = start + lim->timeout_ms;
	long long cdeadline = start + lim->connect_ms;
	struct http_chunked ch = { 0 };
	struct http_response resp;
	size_t len = 0, cap = 16384, hlen = 0, pos = 0, out = 0, used;
	char req[9000];
	int fd, n, err, done = 0, hdone = 0;
	socklen_t sl = sizeof(err);
	ssize_t k;

	memset(r, 0, sizeof(*r));
	if (cdeadline > deadline)
		cdeadline = deadline;
	n = snprintf(req, sizeof(req),
		     "GET %s%.*s HTTP/1.1\r\nHost: %s\r\n"
		     "User-Agent: lb-backend\r\nAccept-Encoding: identity\r\n"
		     "Connection: close\r\n\r\n",
		     o->prefix, (int)tlen, target, o->host);
	if (n < 0 || n >= (int)sizeof(req)) {
		fail(r, 502, "request too long");
		return 0;
	}
	fd = socket(o->addr.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail(r, 502, "socket failed");
		return 0;
	}
	if (connect(fd, (const struct sockaddr *)&o->addr, o->addrlen) &&
	    errno != EINPROGRESS) {
		fail(r, 502, "connect failed");
		goto out;
	}
	err = wait_fd(fd, POLLOUT, cdeadline);
	if (err) {
		fail(r, err == -ETIMEDOUT ? 504 : 502,
		     err == -ETIMEDOUT ? "connect timed out" :
					 "connect failed");
		goto out;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) || err) {
		fail(r, 502, "connection refused");
		goto out;
	}
	for (int off = 0; off < n;) {
		k = send(fd, req + off, n - off, MSG_NOSIGNAL);
		if (k > 0) {
			off += k;
			continue;
		}
		if (k < 0 && errno != EAGAIN && errno != EINTR) {
			fail(r, 502, "send failed");
			goto out;
		}
		err = wait_fd(fd, POLLOUT, deadline);
		if (err) {
			fail(r, 504, "send timed out");
			goto out;
		}
	}
	r->buf = malloc(cap);
	if (!r->buf) {
		fail(r, 502, "out of memory");
		goto out;
	}
	while (!done) {
		if (len == cap) {
			char *nb;

			if (cap >= lim->max_size) {
				fail(r, 502, "response too large");
				goto out;
			}
			cap = cap * 2 > lim->max_size ? lim->max_size : cap * 2;
			nb = realloc(r->buf, cap);
			if (!nb) {
				fail(r, 502, "out of memory");
				goto out;
			}
			r->buf = nb;
		}
		k = recv(fd, r->buf + len, cap - len, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				fail(r, 502, "recv failed");
				goto out;
			}
			err = wait_fd(fd, POLLIN, deadline);
			if (err) {
				fail(r, 504, "response timed out");
				goto out;
			}
			continue;
		}
		if (k == 0 && !hdone) {
			fail(r, 502, "connection closed before the headers");
			goto out;
		}
		len += k;
		if (!hdone) {
			n = http_parse_response(r->buf, len, 16384, &resp);
			if (n < 0) {
				fail(r, 502, "malformed response");
				goto out;
			}
			if (n == 0)
				continue;
			hdone = 1;
			hlen = pos = n;
			out = hlen;
			if (resp.status < 200) {
				fail(r, 502, "interim response");
				goto out;
			}
			if (resp.status == 204 || resp.status == 304)
				resp.content_length = 0;
		}
		if (resp.chunked) {
			err = http_chunked_feed(&ch, r->buf + pos, len - pos,
						r->buf, &out, &used);
			if (err < 0) {
				fail(r, 502, "bad chunked encoding");
				goto out;
			}
			pos += used;
			/* keep the unparsed tail right after the output */
			memmove(r->buf + out, r->buf + pos, len - pos);
			len = out + (len - pos);
			pos = out;
			done = err == 1;
			if (!done && k == 0) {
				fail(r, 502, "truncated chunked body");
				goto out;
			}
		} else if (resp.content_length >= 0) {
			if (len - hlen >= (uint64_t)resp.content_length) {
				out = hlen + resp.content_length;
				done = 1;
			} else if (k == 0) {
				fail(r, 502, "truncated body");
				goto out;
			} else if (hlen + (uint64_t)resp.content_length >
				   lim->max_size) {
				fail(r, 502, "response too large");
				goto out;
			}
		} else {
			out = len;
			done = k == 0; /* body delimited by the close */
		}
	}
	r->status = resp.status;
	/* copy the kept headers into the buffer's head, which the body no
	 * longer needs: the head is at least as long as what it keeps */
	memcpy(r->buf, resp.keep, resp.keep_len);
	r->hdrs = r->buf;
	r->hdrs_len = resp.keep_len;
	r->body = r->buf + hlen;
	r->body_len = out - hlen;
	r->ttl = http_cache_ttl(resp.cache_control, resp.cache_control_len,
				lim->def_ttl);
	/* without an explicit lifetime only 200 is worth keeping */
	if (!resp.cache_control && resp.status != 200)
		r->ttl = 0;
	if (resp.status >= 500 && r->ttl > 0)
		r->ttl = 0;
out:
	close(fd);
	return 0;
}
