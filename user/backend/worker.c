// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * worker.c - one lb-backend worker: a non-blocking epoll loop over many
 * client connections, answering from the shared cache, the origin or the
 * --root directory.
 *
 * Client I/O never blocks.  Misses become jobs (batch.c): their Redis
 * lookups (with the Redis tier) and their origin fetches wait in this
 * loop with the worker's other connections.  Which worker takes a new
 * connection is accept.c's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

#define OUT_HIGH (1u << 20) /* stop reading a connection above this */
#define LINGER_MS 1000 /* after our close: read and drop what comes */
#define DRAIN_IDLE_MS 1000 /* draining: idle keep-alive gets this long */
struct worker wk = { .host = "localhost" };
static int epfd = -1;
static size_t in_cap;
static struct conn *conns;
static unsigned int nconns;
static volatile sig_atomic_t stop_requested;
static int draining;
static long long drain_start, now;

static void on_term(int sig)
{
	stop_requested = 1;
}

static void conn_close(struct conn *c)
{
	/* a job of c, or c on the list of connections answered */
	if (c->waiting || c->resume) {
		job_forget(c);
		admin_forget(c);
	}
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->file_fd >= 0)
		close(c->file_fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c->in);
	free(c->out);
	free(c);
	nconns--;
	STAT_SET(wk.me->connections, nconns);
}

/* Output still to send: queued bytes or a file body. */
static int out_pending(const struct conn *c)
{
	return c->out_off < c->out_len || c->file_fd >= 0;
}

/*
 * Level-triggered interest that follows the connection: no EPOLLIN while its
 * input buffer is full or an answer to a refused request is pending (else
 * epoll would report the same readiness forever), EPOLLOUT only while
 * output is queued.
 */
static void update_interest(struct conn *c)
{
	struct epoll_event ev = { .data.ptr = c };

	if (c->state == C_LINGER ||
	    (c->in_len < in_cap && !c->close_after && !c->eof))
		ev.events |= EPOLLIN | EPOLLRDHUP;
	if (out_pending(c))
		ev.events |= EPOLLOUT;
	if (ev.events == c->events)
		return;
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->events = ev.events;
}

/* Send the file body, at most what the socket takes now.  1 when it is
 * all sent, 0 when the socket is full, -1 on an error. */
static int send_file(struct conn *c)
{
	ssize_t k;

	while (c->file_left) {
		k = sendfile(c->fd, c->file_fd, &c->file_off,
			     c->file_left > (1u << 30) ? (1u << 30) :
							 c->file_left);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		if (k == 0)
			return -1; /* the file shrank under us */
		c->file_left -= k;
		c->last_write = now;
	}
	close(c->file_fd);
	c->file_fd = -1;
	return 1;
}

/* Write what is queued.  Returns -1 if the connection was closed. */
static int flush(struct conn *c)
{
	ssize_t k;
	int r;

	while (c->out_off < c->out_len) {
		k = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				update_interest(c);
				return 0;
			}
			conn_close(c);
			return -1;
		}
		c->out_off += k;
		c->last_write = now;
	}
	c->out_off = c->out_len = 0;
	if (c->file_fd >= 0) {
		r = send_file(c);
		if (r < 0) {
			conn_close(c);
			return -1;
		}
		if (r == 0) {
			update_interest(c);
			return 0;
		}
	}
	if (c->waiting) {
		/* the answer is still to come from the origin */
		update_interest(c);
		return 0;
	}
	if (c->close_after || (c->eof && !c->in_len)) {
		/* half-close, then drop what the client still sends, so that
		 * our answer is not destroyed by a reset before it is read */
		shutdown(c->fd, SHUT_WR);
		c->state = C_LINGER;
		c->req_start = now + LINGER_MS;
		if (c->eof) {
			conn_close(c);
			return -1;
		}
	}
	update_interest(c);
	return 0;
}

void process(struct conn *c)
{
	struct http_request req;
	int r;

	/* a file body being sent, or an answer being fetched, holds the
	 * answers after it back */
	while (c->state == C_READ && !c->close_after && c->file_fd < 0 &&
	       !c->waiting && c->out_len - c->out_off < OUT_HIGH) {
		if (c->body_left) {
			size_t n = c->in_len < c->body_left ? c->in_len :
							      c->body_left;

			memmove(c->in, c->in + n, c->in_len - n);
			c->in_len -= n;
			c->body_left -= n;
			if (c->body_left)
				break;
			continue;
		}
		if (!c->in_len)
			break;
		if (!c->req_start)
			c->req_start = now;
		r = http_parse_request(c->in, c->in_len, &wk.cfg->limits, &req);
		if (r == 0)
			break;
		c->close_after = r < 0 || !req.keep_alive || draining;
		if (r < 0) {
			pr_debug("refused a request: %d", -r);
			STAT_ADD(wk.me->requests, 1);
			respond_error(c, -r, 0);
			break;
		}
		route_request(c, &req);
		now = mono_ms();
		if (c->deferred) {
			/* left unread: parsed again when a job has ended
			 * or the other worker's fetch may have */
			c->close_after = 0;
			break;
		}
		STAT_ADD(wk.me->requests, 1);
		memmove(c->in, c->in + r, c->in_len - r);
		c->in_len -= r;
		if (req.content_length > 0)
			c->body_left = req.content_length;
		c->req_start = 0;
		c->last_io = now;
	}
	flush(c);
}

static void on_readable(struct conn *c)
{
	char drop[4096];
	ssize_t k;

	if (c->state == C_LINGER) {
		do
			k = recv(c->fd, drop, sizeof(drop), 0);
		while (k > 0);
		if (k == 0 || errno != EAGAIN)
			conn_close(c);
		return;
	}
	while (!c->eof && c->in_len < in_cap) {
		size_t room = in_cap - c->in_len;

		k = recv(c->fd, c->in + c->in_len, room, 0);
		if (k > 0) {
			c->in_len += k;
			c->last_io = now;
			/* less than asked for: the socket is empty now, and
			 * epoll reports what comes later (level-triggered),
			 * so save the recv() that would say EAGAIN */
			if ((size_t)k < room)
				break;
			continue;
		}
		if (k == 0) {
			c->eof = 1;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			break;
		conn_close(c);
		return;
	}
	if (c->eof && !c->in_len && !out_pending(c) && !c->waiting) {
		conn_close(c);
		return;
	}
	process(c);
}

static int is_loopback(const struct sockaddr_storage *ss)
{
	static const unsigned char v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	const struct sockaddr_in6 *s6 = (const void *)ss;
	const struct sockaddr_in *s4 = (const void *)ss;

	if (ss->ss_family == AF_INET)
		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family != AF_INET6)
		return 0;
	if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
		return 1;
	return !memcmp(s6->sin6_addr.s6_addr, v4mapped, 12) &&
	       s6->sin6_addr.s6_addr[12] == 127;
}

/* The Redis tier's socket in this worker's epoll: data.ptr names it (an
 * int: an even address, never taken for an origin connection's tag). */
static int tag_redis;

static void on_accept(int admin)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	struct sockaddr_storage ss;
	struct conn *c;
	int fd;

	fd = accept_next(admin, &ss, now);
	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (c)
		c->in = malloc(in_cap);
	if (!c || !c->in || nconns >= wk.cfg->max_conns) {
		static const char busy[] =
			"HTTP/1.1 503 Service Unavailable\r\n"
			"Content-Length: 0\r\nConnection: close\r\n\r\n";

		if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0)
			pr_debug("send: %s", strerror(errno));
		close(fd);
		if (c)
			free(c->in);
		free(c);
		return;
	}
	c->fd = fd;
	c->file_fd = -1;
	c->admin = admin;
	c->loopback = is_loopback(&ss);
	c->events = ev.events;
	c->req_start = c->last_io = c->last_write = now;
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		free(c->in);
		free(c);
		return;
	}
	c->next = conns;
	if (conns)
		conns->prev = c;
	conns = c;
	nconns++;
	STAT_SET(wk.me->connections, nconns);
	accept_taken(admin, nconns, now);
	/* a client usually sends at once: save the round through epoll */
	on_readable(c);
}

static void expire(void)
{
	struct conn *c, *next;
	long long idle_ms;

	for (c = conns; c; c = next) {
		next = c->next;
		if (c->state == C_LINGER) {
			if (now >= c->req_start)
				conn_close(c);
			continue;
		}
		if (c->waiting)
			continue; /* bounded by --origin-timeout (jobs_expire) */
		if (out_pending(c)) {
			/* a client that does not read is as bad as one that
			 * does not write */
			if (now - c->last_write > wk.cfg->read_timeout_ms)
				conn_close(c);
			continue;
		}
		if (c->body_left) {
			/* a request body must keep coming: no byte of it
			 * within the read timeout ends the connection (its
			 * answer has gone out already) */
			if (now - c->last_io > wk.cfg->read_timeout_ms)
				conn_close(c);
			continue;
		}
		if (c->req_start || c->in_len) {
			if (c->req_start &&
			    now - c->req_start > wk.cfg->read_timeout_ms) {
				/* slow loris: the head did not come in time */
				c->close_after = 1;
				respond_error(c, 408, 0);
				flush(c);
			}
			continue;
		}
		idle_ms = now - c->last_io;
		if (draining) {
			long long d = now - drain_start;

			if (d < idle_ms)
				idle_ms = d;
			if (idle_ms > DRAIN_IDLE_MS)
				conn_close(c);
		} else if (idle_ms > wk.cfg->idle_timeout_ms) {
			conn_close(c);
		}
	}
	jobs_expire(now);
	origin_pool_expire(now);
}

static void start_drain(void)
{
	draining = 1;
	drain_start = now;
	/* connections still in the shared queue are left to the other
	 * workers (new ones on a reload) */
	accept_stop();
	pr_info("draining %u connection(s)", nconns);
}

/* Start the origin fetches of this round (with the Redis tier: run them
 * to their end), then go on with what the connections answered hold:
 * further requests may make new jobs, started at once. */
static void run_jobs(void)
{
	struct conn *c, *next;

	do {
		c = jobs_run();
		now = mono_ms();
		for (; c; c = next) {
			next = c->resume_next;
			c->resume = 0;
			process(c);
		}
	} while (jobs_pending());
}

void worker_run(const struct config *config, int listen_fd, int admin_fd,
		struct shared *shared, int slot)
{
	struct sigaction sa = { .sa_handler = on_term };
	struct epoll_event evs[64];
	long long last_expire = 0;
	sigset_t none;
	int i, n;

	wk.cfg = config;
	wk.sh = shared;
	wk.me = &wk.sh->slots[slot];
	lb_log_name("lb-backend", "worker");
	in_cap = wk.cfg->limits.max_header + 2;

	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL); /* the master's business */
	sigaction(SIGINT, &sa, NULL); /* ^C reaches the master, which drains */
	sa.sa_handler = SIG_DFL;
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* orphaned workers drain and leave rather than serve unsupervised */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		stop_requested = 1;

	gethostname(wk.host, sizeof(wk.host) - 1);
	snprintf(wk.served_by, sizeof(wk.served_by), "%s/%d", wk.host,
		 (int)getpid());
	wk.cache = shared_cache(wk.sh);
	if (!wk.cache) {
		pr_err("shared cache is not valid");
		_exit(1);
	}
	if (wk.cfg->root[0]) {
		int err = files_open_root(wk.cfg->root);

		if (err) {
			pr_err("--root %s: %s", wk.cfg->root, strerror(-err));
			_exit(1);
		}
	}
	origin_pool_init(wk.cfg->origin_keepalive, wk.cfg->origin_idle_ms);
	rtier_worker_init(&wk.cfg->redis, &wk.me->redis, wk.cache);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		pr_err("epoll_create1: %s", strerror(errno));
		_exit(1);
	}
	jobs_init(epfd);
	accept_init(epfd, listen_fd, admin_fd);
	rtier_watch(epfd, &tag_redis);
	now = mono_ms();
	STAT_SET(wk.me->beat, (uint64_t)now);
	STAT_SET(wk.me->ready, 1);
	pr_debug("worker %u of generation %u ready", wk.me->index,
		 wk.me->generation);

	for (;;) {
		n = epoll_wait(epfd, evs, 64,
			       accept_wait_ms(jobs_wait_ms(), now));
		now = mono_ms();
		STAT_SET(wk.me->beat, (uint64_t)now);
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (ORIGIN_EV_IS(evs[i].data.u64)) {
				jobs_origin_event(evs[i].data.u64,
						  evs[i].events, now);
				continue;
			}
			if ((void *)c == &tag_redis) {
				rtier_tick(now);
				continue;
			}
			if (jobs_notify_event(c))
				continue;
			if (accept_tag(c)) {
				if (!draining)
					on_accept(accept_tag(c) ==
						  ACCEPT_TAG_ADMIN);
				continue;
			}
			if (evs[i].events & EPOLLOUT) {
				if (flush(c) < 0)
					continue;
				if (c->state == C_READ && !out_pending(c)) {
					process(c);
					continue;
				}
			}
			if (evs[i].events &
			    (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				on_readable(c);
		}
		/* a PURGE waiting on Redis is answered when its replies
		 * are in, or when they are overdue */
		if (rtier_purging())
			rtier_tick(now);
		run_jobs();
		if (!draining)
			accept_tick(nconns, now);
		if (stop_requested && !draining)
			start_drain();
		if (now - last_expire >= 100 || draining) {
			expire();
			rtier_tick(now);
			last_expire = now;
		}
		if (draining && !conns && !jobs_busy()) {
			pr_debug("drained");
			_exit(0);
		}
	}
}
