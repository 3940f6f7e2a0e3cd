// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* rcluster.c - key slots, CLUSTER SLOTS and redirections (rcluster.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rcluster.h"

uint16_t rcluster_crc16(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint16_t crc = 0;

	while (n--) {
		crc ^= (uint16_t)*b++ << 8;
		for (int i = 0; i < 8; i++)
			crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
	}
	return crc;
}

unsigned int rcluster_slot(const void *key, size_t n)
{
	const char *k = key, *open = memchr(k, '{', n), *close;

	if (open) {
		close = memchr(open + 1, '}', k + n - open - 1);
		if (close && close > open + 1)
			return rcluster_crc16(open + 1, close - open - 1) &
			       (CLUSTER_SLOTS - 1);
	}
	return rcluster_crc16(k, n) & (CLUSTER_SLOTS - 1);
}

int rcluster_redirect(const struct resp *r, unsigned int *slot, char *addr,
		      size_t cap)
{
	int type, k = 0;
	size_t skip;
	char buf[300];

	if (r->type != RESP_ERROR || r->len >= sizeof(buf))
		return REDIRECT_NONE;
	memcpy(buf, r->str, r->len);
	buf[r->len] = '\0';
	if (!strncmp(buf, "MOVED ", 6)) {
		type = REDIRECT_MOVED;
		skip = 6;
	} else if (!strncmp(buf, "ASK ", 4)) {
		type = REDIRECT_ASK;
		skip = 4;
	} else {
		return REDIRECT_NONE;
	}
	if (sscanf(buf + skip, "%u %n", slot, &k) != 1 || !k ||
	    *slot >= CLUSTER_SLOTS || !buf[skip + k] ||
	    strlen(buf + skip + k) >= cap || strchr(buf + skip + k, ' '))
		return REDIRECT_NONE;
	strcpy(addr, buf + skip + k);
	return type;
}

int rcluster_slots(const struct resp *r,
		   void (*fn)(void *arg, unsigned int first, unsigned int last,
			      const char *addr),
		   void *arg)
{
	char addr[300];
	size_t i;

	if (r->type != RESP_ARRAY)
		return -EPROTO;
	for (int pass = 0; pass < 2; pass++) {
		for (i = 0; i < r->n; i++) {
			const struct resp *e = &r->elem[i], *m;

			/* [first, last, [host, port, id...], replicas...] */
			if (e->type != RESP_ARRAY || e->n < 3 ||
			    e->elem[0].type != RESP_INT ||
			    e->elem[1].type != RESP_INT ||
			    e->elem[0].integer < 0 ||
			    e->elem[1].integer >= CLUSTER_SLOTS ||
			    e->elem[0].integer > e->elem[1].integer)
				return -EPROTO;
			m = &e->elem[2];
			if (m->type != RESP_ARRAY || m->n < 2 ||
			    m->elem[0].type != RESP_BULK ||
			    m->elem[1].type != RESP_INT || m->elem[0].len > 255)
				return -EPROTO;
			if (!pass)
				continue; /* all checked before any is used */
			snprintf(addr, sizeof(addr), "%s%.*s%s:%lld",
				 memchr(m->elem[0].str, ':', m->elem[0].len) ?
					 "[" :
					 "",
				 (int)m->elem[0].len, m->elem[0].str,
				 memchr(m->elem[0].str, ':', m->elem[0].len) ?
					 "]" :
					 "",
				 m->elem[1].integer);
			fn(arg, e->elem[0].integer, e->elem[1].integer, addr);
		}
	}
	return 0;
}
