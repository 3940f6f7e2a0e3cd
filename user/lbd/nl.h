/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* nl.h - one request and its answers over rtnetlink (nl.c), for the next
 * hops (neigh.c) and the announced routes (announce.c). */
#ifndef LBD_NL_H
#define LBD_NL_H

#include <libmnl/libmnl.h>
#include <stdint.h>

/*
 * Send nlh (its sequence number taken from *seq) and run cb over the
 * answers until the last.  A request that is not a dump is answered by one
 * message or none, without NLMSG_DONE: the kernel's ack is asked for to
 * end it.  Answers of an earlier request that timed out are skipped.
 * Returns 0 or -errno (-EAGAIN: the socket's receive timeout).
 */
int lbd_nl_talk(struct mnl_socket *nl, uint32_t *seq, struct nlmsghdr *nlh,
		mnl_cb_t cb, void *data);

#endif /* LBD_NL_H */
