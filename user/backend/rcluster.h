/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * rcluster.h - what a Redis Cluster client needs to know about keys and
 * replies: the slot of a key (CRC16 of the key or of its {hash tag}),
 * the slot map that CLUSTER SLOTS gives, and MOVED / ASK redirections.
 */
#ifndef LB_BACKEND_RCLUSTER_H
#define LB_BACKEND_RCLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "redis.h"

#define CLUSTER_SLOTS 16384

/* CRC16-CCITT (XMODEM), the checksum Redis Cluster hashes keys with. */
uint16_t rcluster_crc16(const void *p, size_t n);
/* The slot of a key: of the part between the first '{' and the next '}'
 * when that part is not empty, else of the whole key. */
unsigned int rcluster_slot(const void *key, size_t n);

enum { REDIRECT_NONE, REDIRECT_MOVED, REDIRECT_ASK };

/* Whether r is "-MOVED slot host:port" or "-ASK slot host:port"; fills
 * slot and addr (NUL-terminated, at most cap bytes) for those. */
int rcluster_redirect(const struct resp *r, unsigned int *slot, char *addr,
		      size_t cap);

/*
 * Walk a CLUSTER SLOTS reply: for every range with a master, call
 * fn(arg, first, last, "host:port").  0, or -EPROTO for a reply of
 * another shape (nothing called then).
 */
int rcluster_slots(const struct resp *r,
		   void (*fn)(void *arg, unsigned int first, unsigned int last,
			      const char *addr),
		   void *arg);

#endif /* LB_BACKEND_RCLUSTER_H */
