// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * answer.c - a worker's answers: responses queued on a connection, and the
 * values kept in the shared cache (a status, header lines and a body).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "worker.h"

/* A cached value: [u16 status][u16 reserved][u32 header bytes][headers][body] */
#define VHDR 8

static struct cache_value val; /* a value looked up */
static char *vbuf; /* a value being built */
static size_t vbuf_cap;

/* Room for n more bytes in c's output.  0, or -ENOMEM. */
static int out_reserve(struct conn *c, size_t n)
{
	size_t cap = c->out_cap ? c->out_cap : 4096;
	char *nb;

	if (c->out_len + n <= c->out_cap)
		return 0;
	while (cap < c->out_len + n)
		cap *= 2;
	nb = realloc(c->out, cap);
	if (!nb)
		return -ENOMEM;
	c->out = nb;
	c->out_cap = cap;
	return 0;
}

int out_append(struct conn *c, const void *p, size_t n)
{
	if (out_reserve(c, n))
		return -ENOMEM;
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return 0;
}

/* The Date header's value, made once a second; its length in *len. */
static const char *http_date(size_t *len)
{
	static char buf[64];
	static size_t n;
	static time_t last;
	time_t t = time(NULL);
	struct tm tm;

	if (t != last || !n) {
		gmtime_r(&t, &tm);
		n = strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT",
			     &tm);
		last = t;
	}
	*len = n;
	return buf;
}

/* Append n bytes at p; the end. */
static char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define PUT_LIT(p, s) put(p, s, sizeof(s) - 1)

/* v in decimal at p; the end. */
static char *put_u64(char *p, uint64_t v)
{
	char d[20];
	int i = 0;

	do
		d[i++] = '0' + v % 10;
	while (v /= 10);
	while (i)
		*p++ = d[--i];
	return p;
}

/*
 * The head is written straight into the output buffer, piece by piece:
 * an answer is the hot path of every request, and snprintf() with its
 * format parsing was a few per cent of a worker's time.
 */
int respond(struct conn *c, int status, const char *hdrs, size_t hlen,
	    const char *body, size_t blen, const char *xcache, int head)
{
	static size_t by_len;
	const char *reason = http_reason(status);
	size_t rlen = strlen(reason), dlen, xlen = xcache ? strlen(xcache) : 0;
	const char *date = http_date(&dlen);
	size_t bsend = !head && body ? blen : 0;
	char *p;

	if (!c->admin) /* scrapes are not the service's requests */
		metrics_response(&wk.me->m, status, head ? 0 : blen);
	if (!by_len)
		by_len = strlen(wk.served_by);
	/* the fixed text, three digits of status, twenty of length */
	if (out_reserve(c, 128 + rlen + dlen + xlen + by_len + hlen + bsend)) {
		c->close_after = 1; /* out of memory: give up this client */
		return -ENOMEM;
	}
	p = c->out + c->out_len;
	p = PUT_LIT(p, "HTTP/1.1 ");
	p = put_u64(p, status % 1000);
	*p++ = ' ';
	p = put(p, reason, rlen);
	p = PUT_LIT(p, "\r\nDate: ");
	p = put(p, date, dlen);
	p = PUT_LIT(p, "\r\nContent-Length: ");
	p = put_u64(p, blen);
	p = PUT_LIT(p, "\r\n");
	if (xcache) {
		p = PUT_LIT(p, "X-Cache: ");
		p = put(p, xcache, xlen);
		p = PUT_LIT(p, "\r\n");
	}
	p = PUT_LIT(p, "X-Served-By: ");
	p = put(p, wk.served_by, by_len);
	if (c->close_after)
		p = PUT_LIT(p, "\r\nConnection: close\r\n");
	else
		p = PUT_LIT(p, "\r\nConnection: keep-alive\r\n");
	p = put(p, hdrs, hlen);
	p = PUT_LIT(p, "\r\n");
	if (bsend)
		p = put(p, body, bsend);
	c->out_len = p - c->out;
	return 0;
}

void respond_text(struct conn *c, int status, const char *extra,
		  const char *text, int head)
{
	char h[256];
	int n;

	n = snprintf(
		h, sizeof(h),
		"Content-Type: text/plain\r\nCache-Control: no-store\r\n%s",
		extra ? extra : "");
	respond(c, status, h, n, text, strlen(text), NULL, head);
}

void respond_error(struct conn *c, int status, int head)
{
	char body[128];

	snprintf(body, sizeof(body), "%d %s\n", status, http_reason(status));
	respond_text(c, status, NULL, body, head);
}

int value_build(struct fetched *f, int status, const char *hdrs, size_t hlen,
		const char *body, size_t blen)
{
	size_t n = VHDR + hlen + blen;

	if (n > vbuf_cap) {
		char *nb = realloc(vbuf, n);

		if (!nb)
			return -ENOMEM;
		vbuf = nb;
		vbuf_cap = n;
	}
	vbuf[0] = status & 0xff;
	vbuf[1] = status >> 8;
	vbuf[2] = vbuf[3] = 0;
	memcpy(vbuf + 4, &(uint32_t){ hlen }, 4);
	memcpy(vbuf + VHDR, hdrs, hlen);
	if (blen)
		memcpy(vbuf + VHDR + hlen, body, blen);
	f->val = vbuf;
	f->len = n;
	return 0;
}

void respond_value(struct conn *c, const char *v, size_t len,
		   const char *xcache, int head, int fd, uint64_t fd_len)
{
	uint32_t hlen;
	int status;

	if (len < VHDR)
		goto bad;
	status = (unsigned char)v[0] | (unsigned char)v[1] << 8;
	memcpy(&hlen, v + 4, 4);
	if (hlen > len - VHDR || status < 200 || status > 599)
		goto bad;
	if (fd < 0) {
		respond(c, status, v + VHDR, hlen, v + VHDR + hlen,
			len - VHDR - hlen, xcache, head);
		return;
	}
	if (respond(c, status, v + VHDR, hlen, NULL, fd_len, xcache, head) ||
	    head) {
		close(fd);
		return;
	}
	c->file_fd = fd;
	c->file_off = 0;
	c->file_left = fd_len;
	return;
bad:
	if (fd >= 0)
		close(fd);
	respond_error(c, 500, head);
}

int cache_lookup(struct conn *c, const char *key, size_t klen, int head,
		 int nowait, struct cache_ticket *t, int *r)
{
	uint64_t fill_ns = (uint64_t)wk.cfg->origin_timeout_ms * 1000000ull +
			   1000000000ull;

	*r = nowait ? cache_get_nowait(wk.cache, key, klen, fill_ns, &val, t) :
		      cache_get(wk.cache, key, klen, fill_ns, &val, t);
	if (*r == CACHE_HIT) {
		STAT_ADD(wk.me->hits, 1);
		respond_value(c, val.data, val.len, "HIT", head, -1, 0);
		return 1;
	}
	if (*r < 0) {
		pr_warn("cache: %s", strerror(-*r));
		*r = CACHE_PASS;
	}
	return 0;
}

void value_store(struct cache_ticket *t, const char *key, size_t klen,
		 const struct fetched *f)
{
	int ev;

	/* a body in a file is over the largest object kept */
	ev = cache_fill(wk.cache, t, key, klen, f->val, f->len,
			f->fd >= 0 ? -1 : f->ttl);
	if (ev > 0)
		STAT_ADD(wk.me->evictions, ev);
}

void serve_cached(struct conn *c, const char *key, size_t klen, fetch_fn fetch,
		  const void *arg, int head)
{
	struct fetched f = { .fd = -1 };
	struct cache_ticket t;
	int r;

	/* a file is read at once: this worker holds no fill while it waits */
	if (cache_lookup(c, key, klen, head, 0, &t, &r))
		return;
	STAT_ADD(wk.me->misses, 1);
	if (fetch(arg, &f)) {
		if (f.fd >= 0)
			close(f.fd);
		if (r == CACHE_MISS)
			cache_abort(wk.cache, &t, key, klen);
		respond_error(c, 500, head);
		return;
	}
	if (r == CACHE_MISS)
		value_store(&t, key, klen, &f);
	respond_value(c, f.val, f.len, "MISS", head, f.fd, f.fd_len);
}
