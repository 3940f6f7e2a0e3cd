// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * accept.c - the listening sockets in a worker's loop: which worker takes
 * the next connection (the waiters rotated, a worker over its share
 * standing aside), and a pause when descriptors run out.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

#define ACCEPT_PAUSE_MS 500 /* out of descriptors: stop accepting this long */
#define ACCEPT_LOG_MS 5000 /* and say so at most this often */
#define ACCEPT_DEFER_MS 10 /* over its share: leave the listener this long */
#define PEER_QUIET_MS 1000 /* a worker silent this long takes no share */

static int epfd = -1, lfd = -1, afd = -1;
static long long now; /* the loop's, as of the last call */
static unsigned int nconns; /* this worker's open connections */
static long long accept_resume; /* accepts paused until then (mono ms) */
static long long accept_defer; /* over its share: not accepting until then */
static long long accept_logged; /* last "accept failed" line */
static unsigned long accept_fails; /* since that line */

/* The listening sockets in the worker's epoll: data.ptr names them (ints:
 * even addresses, never taken for an origin connection's tag). */
static int tag_service, tag_admin;

static void listeners_watch(int op)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE };

	/* EPOLLEXCLUSIVE: a new connection wakes one idle worker, not all */
	if (lfd >= 0) {
		ev.data.ptr = &tag_service;
		if (epoll_ctl(epfd, op, lfd, op == EPOLL_CTL_DEL ? NULL : &ev))
			pr_debug("epoll_ctl listener: %s", strerror(errno));
	}
	if (afd >= 0) {
		ev.data.ptr = &tag_admin;
		if (epoll_ctl(epfd, op, afd, op == EPOLL_CTL_DEL ? NULL : &ev))
			pr_debug("epoll_ctl admin listener: %s",
				 strerror(errno));
	}
}

/*
 * EPOLLEXCLUSIVE wakes the first idle worker in the listening socket's wait
 * queue, which is the same one again and again while it keeps up: one core
 * serves everything.  Having taken a connection, a worker re-registers
 * (delete, add), which puts it at the tail of that queue: the next
 * connection wakes the idle worker that waited longest, and connections go
 * round the workers.  Two system calls per accepted connection; none per
 * request on a kept-alive one.
 */
static void rotate_listener(void)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE,
				  .data.ptr = &tag_service };

	if (epoll_ctl(epfd, EPOLL_CTL_DEL, lfd, NULL) ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev))
		pr_warn("epoll_ctl listener: %s", strerror(errno));
}

/*
 * A burst of new connections (a client opening fifty at once) lands on the
 * worker that happens to be running: after each accept it finds the
 * listener ready again and takes the next one, while the other workers wait
 * for a core; keep-alive then keeps that split for the connections' whole
 * life.  As nginx's accept_disabled does, a worker that holds more than its
 * share of the open connections (over the ready workers of its generation
 * that have shown life lately), plus one, leaves the listener to the others
 * for a few milliseconds.  If none of them takes the queue meanwhile (they
 * are busy, or stuck), it accepts again: the queue never waits longer.
 */
static int over_share(void)
{
	uint32_t end = STAT_GET(wk.sh->slot_end);
	uint64_t total = 0, live = 0;

	for (uint32_t i = 0; i < end && i < MAX_SLOTS; i++) {
		struct worker_slot *s = &wk.sh->slots[i];

		if (!STAT_GET(s->pid) || !STAT_GET(s->ready) ||
		    STAT_GET(s->generation) != wk.me->generation)
			continue;
		if (s != wk.me &&
		    now - (long long)STAT_GET(s->beat) > PEER_QUIET_MS)
			continue;
		total += STAT_GET(s->connections);
		live++;
	}
	return live > 1 && nconns > (total + live - 1) / live + 1;
}

/* After an accept (rotate): to the tail of the waiters, or, over its
 * share, off the listener for a while. */
static void after_accept(void)
{
	if (!over_share()) {
		rotate_listener();
		return;
	}
	if (epoll_ctl(epfd, EPOLL_CTL_DEL, lfd, NULL))
		pr_warn("epoll_ctl listener: %s", strerror(errno));
	accept_defer = now + ACCEPT_DEFER_MS;
}

/* Back on the listener once the share is kept or the deferral is over. */
static void defer_end(void)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE,
				  .data.ptr = &tag_service };

	if (!accept_defer || accept_resume ||
	    (now < accept_defer && over_share()))
		return;
	accept_defer = 0;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev))
		pr_warn("epoll_ctl listener: %s", strerror(errno));
}

/*
 * accept() failing for want of descriptors or memory leaves the connection
 * in the queue, and a level-triggered listener would wake us again at once:
 * stop accepting for a while instead (nginx does the same), and say so in
 * the log once in a while, with how often it happened meanwhile.
 */
static void accept_pause(int err)
{
	accept_fails++;
	if (!accept_resume)
		listeners_watch(EPOLL_CTL_DEL);
	accept_defer = 0; /* the pause's end puts the listener back */
	accept_resume = now + ACCEPT_PAUSE_MS;
	if (!accept_logged || now - accept_logged >= ACCEPT_LOG_MS) {
		pr_warn("accept: %s; not accepting for %d ms (%lu time(s) since the last such line)",
			strerror(err), ACCEPT_PAUSE_MS, accept_fails);
		accept_logged = now;
		accept_fails = 0;
	}
}

void accept_init(int ep, int listen_fd, int admin_fd)
{
	epfd = ep;
	lfd = listen_fd;
	afd = admin_fd;
	listeners_watch(EPOLL_CTL_ADD);
}

int accept_tag(const void *ptr)
{
	if (ptr == &tag_service)
		return ACCEPT_TAG_SERVICE;
	return ptr == &tag_admin ? ACCEPT_TAG_ADMIN : 0;
}

int accept_next(int admin, struct sockaddr_storage *ss, long long t)
{
	socklen_t sl = sizeof(*ss);
	int fd;

	now = t;
	if (accept_resume)
		return -1;
	/* One connection per wake-up: a worker that is busy stays out of
	 * epoll_wait and the kernel hands the next one to an idle worker. */
	fd = accept4(admin ? afd : lfd, (struct sockaddr *)ss, &sl,
		     SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
	    errno == ENOMEM)
		accept_pause(errno);
	else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
		pr_warn("accept: %s", strerror(errno));
	return -1;
}

void accept_taken(int admin, unsigned int conns, long long t)
{
	now = t;
	nconns = conns;
	if (!admin && wk.cfg->accept_mode == ACCEPT_ROTATE)
		after_accept();
}

void accept_tick(unsigned int conns, long long t)
{
	now = t;
	nconns = conns;
	defer_end();
	if (accept_resume && now >= accept_resume) {
		accept_resume = 0;
		listeners_watch(EPOLL_CTL_ADD);
	}
}

int accept_wait_ms(int ms, long long t)
{
	long long left = accept_defer - t;

	if (!accept_defer)
		return ms;
	if (left < 0)
		left = 0;
	return left < ms ? (int)left : ms;
}

void accept_stop(void)
{
	if (!accept_resume)
		listeners_watch(EPOLL_CTL_DEL);
	if (lfd >= 0)
		close(lfd);
	if (afd >= 0)
		close(afd);
	lfd = afd = -1;
	accept_defer = accept_resume = 0;
}
