// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * origin_rx.c - the origin's response as it comes in (see origin.h): the
 * head parsed, the body framed and kept in memory or a temp file, and what
 * the answer means for the cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "origin.h"

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

int origin_rx_keeps_conn(const struct origin_rx *rx)
{
	const struct http_response *r = &rx->resp;

	return rx->done && !rx->error && !r->conn_close &&
	       (r->chunked || r->content_length >= 0);
}

int origin_rx_reusable(const struct origin_rx *rx)
{
	return origin_rx_keeps_conn(rx) && !rx->extra;
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

void origin_rx_reply(struct origin_rx *rx, const struct origin_limits *lim,
		     struct origin_reply *r)
{
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
