// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * resp.c - RESP2, Redis's protocol: replies parsed into a pool of nodes
 * (bounded: a bulk string over max_bulk is refused), commands encoded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis.h"

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

int redis_buf_grow(char **buf, size_t *cap, size_t need)
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
	if (redis_buf_grow(buf, cap, *len + need))
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
