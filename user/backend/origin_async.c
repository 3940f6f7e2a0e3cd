// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * origin_async.c - fetches from the origin that wait in the worker's own
 * event loop (see origin.h).
 *
 * The same fetch as origin_fetch_many, but the wait is the worker's
 * epoll_wait: a request goes out, and the answer is read when its
 * connection reports it, while the worker serves its other connections.
 */
#include <unistd.h>

#include "origin_int.h"

static struct {
	struct job j;
	int used;
	long long deadline;
	long long cdeadline; /* for a connect in progress */
	const struct origin *o;
	const struct origin_limits *lim;
} ops[ORIGIN_BATCH];

int origin_async_start(const struct origin *o, const char *target, size_t tlen,
		       const struct origin_limits *lim, long long now,
		       struct origin_reply *r)
{
	long long deadline = now + lim->timeout_ms;
	long long cdeadline = now + lim->connect_ms;
	int id;

	for (id = 0; id < ORIGIN_BATCH && ops[id].used; id++)
		;
	origin_reply_init(r);
	if (id == ORIGIN_BATCH) {
		origin_reply_fail(r, 502, "too many fetches at once");
		return -1;
	}
	if (cdeadline > deadline)
		cdeadline = deadline;
	if (origin_job_begin(&ops[id].j, 1, o, target, tlen, lim, now,
			     cdeadline, deadline, r)) {
		origin_rx_free(&ops[id].j.rx);
		return -1;
	}
	ops[id].used = 1;
	ops[id].deadline = deadline;
	ops[id].cdeadline = cdeadline;
	ops[id].o = o;
	ops[id].lim = lim;
	return id;
}

/* Fetch id is over: its connection back to the pool or closed. */
static void op_end(int id, long long now)
{
	struct job *j = &ops[id].j;

	if (j->fd >= 0) {
		/* a full pool closes it */
		if (j->done == 1 && origin_rx_reusable(&j->rx))
			origin_pool_put(j->fd, now);
		else
			close(j->fd);
		j->fd = -1;
	}
	origin_rx_free(&j->rx);
	ops[id].used = 0;
}

int origin_async_event(uint64_t tag, uint32_t events, long long now,
		       struct origin_reply *r)
{
	int fd = (int)(tag >> 1), id, k;
	struct job *j;

	origin_reply_init(r);
	for (id = 0; id < ORIGIN_BATCH; id++)
		if (ops[id].used && ops[id].j.fd == fd)
			break;
	if (id == ORIGIN_BATCH) {
		/* an idle pooled connection has something to say: the
		 * origin closed it (or sent what nobody asked for) */
		origin_pool_drop(fd);
		return -1;
	}
	j = &ops[id].j;
	if (j->connecting) {
		/* the connect was made (the request is out now) or failed */
		k = origin_job_connected(j, events, ops[id].deadline, r);
		if (!k)
			return -1;
	} else {
		k = origin_job_read(j, r);
	}
	if (k == 2) {
		/* the origin had closed the pooled connection: once more on a
		 * new one */
		const struct origin_limits *lim = ops[id].lim;

		ops[id].cdeadline = now + lim->connect_ms;
		if (ops[id].cdeadline > ops[id].deadline)
			ops[id].cdeadline = ops[id].deadline;
		if (!origin_job_retry(j, ops[id].o, lim, now, ops[id].cdeadline,
				      ops[id].deadline, r))
			return -1;
		k = -1;
	}
	if (k == 0)
		return -1;
	j->done = k;
	if (k == 1)
		origin_job_done(j, ops[id].lim, r);
	op_end(id, now);
	return id;
}

int origin_async_expire(long long now, struct origin_reply *r)
{
	for (int id = 0; id < ORIGIN_BATCH; id++) {
		int connecting = ops[id].j.connecting;

		if (!ops[id].used ||
		    now < (connecting ? ops[id].cdeadline : ops[id].deadline))
			continue;
		origin_reply_init(r);
		origin_reply_fail(r, 504,
				  connecting ? "connect timed out" :
					       "response timed out");
		ops[id].j.done = -1;
		op_end(id, now);
		return id;
	}
	return -1;
}
