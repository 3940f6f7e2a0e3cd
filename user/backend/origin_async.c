// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * origin_async.c - fetches from the origin that wait in the worker's own
 * event loop (see origin.h).
 *
 * The fetches a round of the loop starts go out together: up to
 * --origin-pipeline of them on one connection (a pooled one, or a new one whose connect
 * waits in the loop too), their requests in one send (HTTP/1.1
 * pipelining; every request is a GET, so one that got no answer may go
 * again).  The answers come back in order on that connection and are read
 * as epoll reports them, while the worker serves its other connections;
 * each fetch ends as soon as its own answer is in.  A connection that
 * breaks (or that the origin closes) before all its answers are in is
 * closed: a fetch whose answer had begun fails, those whose answer had
 * not begun go once more on a new connection.  Fetches of later rounds
 * never queue behind a connection that still waits for answers: they take
 * another, so a slow answer holds back only those sent with it.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "origin_int.h"

#define PIPE_MAX ORIGIN_PIPELINE_MAX
#define SEND_MAX 2 /* times one request goes out at most */

static struct op {
	int used;
	int pipe; /* the connection it was sent on, or -1 */
	int sent; /* times its request went out */
	long long deadline;
	const struct origin *o;
	const struct origin_limits *lim;
	struct origin_rx rx;
	int len;
	char req[9000];
} ops[ORIGIN_BATCH];

/* A connection with the fetches sent on it, in the order sent. */
static struct pipe {
	int fd; /* -1: free */
	int reused; /* from the pool: the origin may have closed it */
	int connecting; /* the connect is in progress */
	long long cdeadline;
	int q[PIPE_MAX];
	unsigned int n; /* fetches in q */
	unsigned int answered; /* answers read on this connection */
	uint64_t got; /* bytes read on this connection */
	uint64_t head_got; /* of them, the answer of q[0] */
} pipes[ORIGIN_BATCH];

static void pipes_init(void)
{
	static int done;

	if (done)
		return;
	for (int i = 0; i < ORIGIN_BATCH; i++)
		pipes[i].fd = -1;
	done = 1;
}

int origin_async_start(const struct origin *o, const char *target, size_t tlen,
		       const struct origin_limits *lim, long long now,
		       struct origin_reply *r)
{
	struct op *op;
	int id;

	for (id = 0; id < ORIGIN_BATCH && ops[id].used; id++)
		;
	origin_reply_init(r);
	if (id == ORIGIN_BATCH) {
		origin_reply_fail(r, 502, "too many fetches at once");
		return -1;
	}
	op = &ops[id];
	op->len =
		origin_request_build(op->req, sizeof(op->req), o, target, tlen);
	if (op->len < 0) {
		origin_reply_fail(r, 502, "request too long");
		return -1;
	}
	origin_rx_init(&op->rx, lim->max_mem, lim->max_size, lim->spool_dir);
	op->used = 1;
	op->pipe = -1;
	op->sent = 0;
	op->deadline = now + lim->timeout_ms;
	op->o = o;
	op->lim = lim;
	return id;
}

/* Fetch id is over with reply r: its slot is free before done() sees it
 * (done may start no fetch). */
static void op_end(int id, struct origin_reply *r, origin_done_fn *done)
{
	origin_rx_free(&ops[id].rx);
	ops[id].used = 0;
	ops[id].pipe = -1;
	done(id, r);
}

static void op_fail(int id, int status, const char *why, origin_done_fn *done)
{
	struct origin_reply r;

	origin_reply_init(&r);
	origin_reply_fail(&r, status, why);
	op_end(id, &r, done);
}

/* Pipe p is done with: its connection closed, its fetches forgotten (the
 * caller has ended or requeued them). */
static void pipe_close(struct pipe *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->n = 0;
}

static void pipe_open(const int *ids, unsigned int n, int fresh, long long now,
		      origin_done_fn *done);

/*
 * p's connection is over before all its answers came: the fetch whose
 * answer had begun fails (status, why), and those with no byte of an
 * answer go again on a new connection.  When the connection gave no
 * answer at all, that is a failure of each of them: one that went out
 * SEND_MAX times fails too.  Otherwise it is no one's (a pooled
 * connection the origin had closed, an origin that closes after some
 * answers): each round of that ends a fetch or uses a new connection,
 * so it ends.
 */
static void pipe_break(struct pipe *p, int status, const char *why,
		       long long now, origin_done_fn *done)
{
	int again[PIPE_MAX], q[PIPE_MAX];
	unsigned int i, n = p->n, na = 0;
	int stale = p->reused && !p->got;
	int blameless = stale || p->answered;

	memcpy(q, p->q, sizeof(q));
	pipe_close(p);
	if (stale)
		origin_pool_count(0, 1);
	for (i = 0; i < n; i++) {
		ops[q[i]].pipe = -1;
		if ((i == 0 && p->head_got) ||
		    (!blameless && ops[q[i]].sent >= SEND_MAX))
			op_fail(q[i], status, why, done);
		else
			again[na++] = q[i];
	}
	if (na)
		pipe_open(again, na, 1, now, done);
}

/* Send the requests of p's fetches, all in one buffer. */
static void pipe_send(struct pipe *p, long long now, origin_done_fn *done)
{
	static char buf[PIPE_MAX * sizeof(ops[0].req)];
	long long deadline = ops[p->q[0]].deadline;
	size_t len = 0, off = 0;
	ssize_t k;

	for (unsigned int i = 0; i < p->n; i++) {
		struct op *op = &ops[p->q[i]];

		memcpy(buf + len, op->req, op->len);
		len += op->len;
		op->sent++;
		/* a request that goes again: its answer from the start */
		origin_rx_free(&op->rx);
		origin_rx_init(&op->rx, op->lim->max_mem, op->lim->max_size,
			       op->lim->spool_dir);
		if (op->deadline < deadline)
			deadline = op->deadline;
	}
	while (off < len) {
		k = send(p->fd, buf + off, len - off, MSG_NOSIGNAL);
		if (k > 0) {
			off += k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN &&
		    !origin_wait_out(p->fd, deadline))
			continue;
		pipe_break(p, 502, "send failed", now, done);
		return;
	}
}

/* Send fetches ids[0..n) together on one connection: a pooled one unless
 * fresh, else a new one. */
static void pipe_open(const int *ids, unsigned int n, int fresh, long long now,
		      origin_done_fn *done)
{
	const struct op *first = &ops[ids[0]];
	const char *why = "connect failed";
	int status = 502, fd, pending = 0;
	struct pipe *p;
	unsigned int i;

	for (p = pipes; p->fd >= 0; p++)
		;
	fd = fresh ? -1 : origin_conn_take(now);
	p->reused = fd >= 0;
	if (fd < 0)
		fd = origin_conn_new(first->o, &why, &status, &pending);
	if (fd < 0) {
		for (i = 0; i < n; i++)
			op_fail(ids[i], status, why, done);
		return;
	}
	p->fd = fd;
	p->connecting = pending;
	p->cdeadline = now + first->lim->connect_ms;
	p->n = n;
	p->answered = 0;
	p->got = p->head_got = 0;
	for (i = 0; i < n; i++) {
		p->q[i] = ids[i];
		ops[ids[i]].pipe = p - pipes;
		if (ops[ids[i]].deadline < p->cdeadline)
			p->cdeadline = ops[ids[i]].deadline;
	}
	if (!pending)
		pipe_send(p, now, done);
}

void origin_async_flush(long long now, origin_done_fn *done)
{
	int ids[PIPE_MAX];
	unsigned int n = 0, depth;

	pipes_init();
	for (int id = 0; id < ORIGIN_BATCH; id++) {
		if (!ops[id].used || ops[id].pipe >= 0)
			continue;
		depth = ops[id].lim->pipeline;
		if (depth < 1 || depth > PIPE_MAX)
			depth = depth ? PIPE_MAX : 1;
		ids[n++] = id;
		if (n >= depth) {
			pipe_open(ids, n, 0, now, done);
			n = 0;
		}
	}
	if (n)
		pipe_open(ids, n, 0, now, done);
}

/* The answer of p's first fetch is complete: it ends, the next one's
 * answer is read from here.  0, or -1 when the connection cannot carry
 * more answers (then p is closed and its other fetches requeued). */
static int pipe_answered(struct pipe *p, long long now, origin_done_fn *done)
{
	int id = p->q[0];
	struct op *op = &ops[id];
	int keep = origin_rx_keeps_conn(&op->rx);
	struct origin_reply r;

	origin_pool_count(p->reused || p->answered, 0);
	p->answered++;
	memmove(p->q, p->q + 1, (p->n - 1) * sizeof(p->q[0]));
	p->n--;
	p->head_got = 0;
	origin_reply_init(&r);
	origin_rx_reply(&op->rx, op->lim, &r);
	op_end(id, &r, done);
	if (keep)
		return 0;
	pipe_break(p, 502, "connection closed", now, done);
	return -1;
}

/* Read what p's connection has, and end the fetches answered. */
static void pipe_read(struct pipe *p, long long now, origin_done_fn *done)
{
	static char buf[65536];
	size_t off, left;
	ssize_t k;
	int f;

	for (;;) {
		k = recv(p->fd, buf, sizeof(buf), 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			return;
		if (k <= 0) {
			const char *why = k ? "recv failed" :
					      "connection closed";

			/* the origin closed: an answer framed by the close
			 * ends with it (and the connection with it) */
			if (!k && p->n && p->head_got) {
				struct origin_rx *rx = &ops[p->q[0]].rx;

				if (origin_rx_eof(rx) == 1) {
					pipe_answered(p, now, done);
					return;
				}
				why = rx->error;
			}
			pipe_break(p, 502, why, now, done);
			return;
		}
		p->got += k;
		for (off = 0; off < (size_t)k;) {
			struct op *op;

			if (!p->n) {
				/* bytes nobody asked for */
				pipe_close(p);
				return;
			}
			op = &ops[p->q[0]];
			left = k - off;
			f = origin_rx_feed(&op->rx, buf + off, left);
			if (f < 0) {
				p->head_got += left;
				pipe_break(p, 502, op->rx.error, now, done);
				return;
			}
			if (!f) {
				p->head_got += left;
				break;
			}
			/* what came after this answer begins the next one */
			off += left - op->rx.extra;
			if (pipe_answered(p, now, done))
				return;
		}
		if (!p->n) {
			origin_pool_put(p->fd, now);
			p->fd = -1;
			return;
		}
		/* less than asked for: the socket is empty now, and epoll
		 * reports what comes later (level-triggered) */
		if ((size_t)k < sizeof(buf))
			return;
	}
}

void origin_async_event(uint64_t tag, uint32_t events, long long now,
			origin_done_fn *done)
{
	int fd = (int)(tag >> 1);
	const char *why = NULL;
	struct pipe *p = NULL;

	pipes_init();
	for (int i = 0; i < ORIGIN_BATCH; i++)
		if (pipes[i].fd == fd) {
			p = &pipes[i];
			break;
		}
	if (!p) {
		/* an idle pooled connection has something to say: the
		 * origin closed it (or sent what nobody asked for) */
		origin_pool_drop(fd);
		return;
	}
	if (!p->connecting) {
		pipe_read(p, now, done);
		return;
	}
	if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		return;
	p->connecting = 0;
	if (origin_conn_made(p->fd, &why)) {
		unsigned int n = p->n;
		int q[PIPE_MAX];

		memcpy(q, p->q, sizeof(q));
		pipe_close(p);
		for (unsigned int i = 0; i < n; i++)
			op_fail(q[i], 502, why, done);
		return;
	}
	pipe_send(p, now, done);
}

void origin_async_expire(long long now, origin_done_fn *done)
{
	int q[PIPE_MAX];

	pipes_init();
	for (int i = 0; i < ORIGIN_BATCH; i++) {
		struct pipe *p = &pipes[i];
		unsigned int j, n = p->n, late = 0;

		if (p->fd < 0)
			continue;
		if (p->connecting && now >= p->cdeadline) {
			memcpy(q, p->q, sizeof(q));
			pipe_close(p);
			for (j = 0; j < n; j++)
				op_fail(q[j], 504, "connect timed out", done);
			continue;
		}
		for (j = 0; j < n; j++)
			late += now >= ops[p->q[j]].deadline;
		if (!late)
			continue;
		/* the answers after a late one would be out of step: the
		 * connection goes, the fetches still in time go again */
		memcpy(q, p->q, sizeof(q));
		pipe_close(p);
		for (j = 0; j < n; j++) {
			ops[q[j]].pipe = -1;
			if (now >= ops[q[j]].deadline)
				op_fail(q[j], 504, "response timed out", done);
		}
	}
	origin_async_flush(now, done);
}
