/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * origin_int.h - what the files of the origin client share (origin.h is
 * what the rest of lb-backend sees):
 *
 *   origin.c        the URL, the connection pool, one fetch's request and
 *                   its connection
 *   origin_async.c  fetches that wait in the worker's epoll loop
 *   origin_rx.c     the response reader and the cache policy of an answer
 */
#ifndef LB_BACKEND_ORIGIN_INT_H
#define LB_BACKEND_ORIGIN_INT_H

#include "origin.h"

/* An empty reply: everything but the room for headers, which hdrs_len
 * bounds. */
void origin_reply_init(struct origin_reply *r);
/* r failed with status, for the reason why. */
void origin_reply_fail(struct origin_reply *r, int status, const char *why);

/* An idle connection back into the pool (closed when it is full). */
void origin_pool_put(int fd, long long now);
/* fd is an idle pooled connection that turned readable (the origin closed
 * it): closed and forgotten.  Nothing if fd is not pooled. */
void origin_pool_drop(int fd);

/* GET prefix+target for o into buf: its length, or -1 when it does not
 * fit. */
int origin_request_build(char *buf, size_t size, const struct origin *o,
			 const char *target, size_t tlen);

/* For the fetches in the worker's loop (origin_async.c): */
/* An idle pooled connection, or -1. */
int origin_conn_take(long long now);
/* A new connection that does not wait for its connect: *pending while it
 * is in progress (EPOLLOUT in the worker's epoll, then origin_conn_made).
 * The fd, or -1 with why and status set. */
int origin_conn_new(const struct origin *o, const char **why, int *status,
		    int *pending);
/* fd's connect has ended: 0 made (watched for EPOLLIN from now on), or -1
 * with why set. */
int origin_conn_made(int fd, const char **why);
/* Wait until fd can send: 0, or a negative errno (-ETIMEDOUT). */
int origin_wait_out(int fd, long long deadline);
/* Count fetches on a reused connection and requests sent again. */
void origin_pool_count(int reused, int retries);

#endif /* LB_BACKEND_ORIGIN_INT_H */
