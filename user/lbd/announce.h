/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* announce.h - the VIP routes published for a BGP speaker (announce.c). */
#ifndef LBD_ANNOUNCE_H
#define LBD_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb_abi.h"

/* The default --announce-proto: a routing protocol number of our own, so
 * that routing software and `ip route show proto` can pick our routes. */
#define LBD_ANNOUNCE_PROTO 201

struct lbd_route {
	union lb_addr addr;
	uint8_t family; /* LB_FAMILY_V4 or LB_FAMILY_V6 */
};

struct lbd_announce {
	uint32_t table; /* 0: announcing is off */
	uint8_t proto;
	int ifindex;
	struct mnl_socket *nl;
	uint32_t seq;
	bool failing; /* the last sync failed */
	size_t count; /* routes in the table after the last sync */
	uint64_t syncs, errors;
};

/* Open the rtnetlink socket.  0 or -errno. */
int lbd_announce_open(struct lbd_announce *a, uint32_t table, uint8_t proto,
		      int ifindex);
void lbd_announce_close(struct lbd_announce *a);

/* Make the table hold exactly want[0..n) under our protocol (an empty want
 * withdraws everything).  Logs each route added or withdrawn, and a failure
 * once until it works again.  0 or -errno; a no-op when not open. */
int lbd_announce_sync(struct lbd_announce *a, const struct lbd_route *want,
		      size_t n);

#endif /* LBD_ANNOUNCE_H */
