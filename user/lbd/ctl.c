// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ctl.c - lbd's control socket: a Unix stream socket (mode 0600, root
 * only) speaking one JSON object per line each way; see user/lbd/PROTOCOL.md.
 * This file is the server: claiming the socket, the client slots served
 * from the event loop, and their timeouts.  What a request does is cmd.c's.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"

/* A whole configuration (lbctl apply) comes in one request: the buffer
 * grows from CTL_FIRST_REQUEST as the request does. */
#define CTL_MAX_REQUEST (16 * 1024 * 1024)
#define CTL_FIRST_REQUEST (64 * 1024)

/* The socket's address, its directory made; -ENAMETOOLONG if too long. */
static int sock_addr(struct lbd *d, struct sockaddr_un *sa)
{
	char dir[sizeof(sa->sun_path)];
	char *slash;

	if (strlen(d->sock_path) >= sizeof(sa->sun_path)) {
		pr_err("socket path too long: %s", d->sock_path);
		return -ENAMETOOLONG;
	}
	snprintf(dir, sizeof(dir), "%s", d->sock_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir(dir, 0755);
	}
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path, sizeof(sa->sun_path), "%s", d->sock_path);
	return 0;
}

/* -EADDRINUSE, said why, when another lbd answers on the socket. */
static int sock_free(struct lbd *d, const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	/* a socket file left by a killed lbd: nobody answers on it */
	/* EAGAIN: a live lbd whose backlog is full */
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ||
	    errno == EAGAIN) {
		pr_err("another lbd answers on %s", d->sock_path);
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	return 0;
}

/*
 * "<socket>.starting" holds the pid of an lbd that is starting: lbctl
 * tells "starting" from "not running" by it.  It lives from the first
 * check of the socket until lbd listens (or gives up).
 */
static void starting_path(struct lbd *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s.starting", d->sock_path);
}

void lbd_ctl_mark_starting(struct lbd *d)
{
	char path[PATH_MAX];
	FILE *f;

	starting_path(d, path, sizeof(path));
	f = fopen(path, "we");
	if (!f) {
		pr_debug("cannot write %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
	d->starting_marked = true;
}

void lbd_ctl_unmark_starting(struct lbd *d)
{
	char path[PATH_MAX];

	if (!d->starting_marked)
		return;
	starting_path(d, path, sizeof(path));
	unlink(path);
	d->starting_marked = false;
}

int lbd_ctl_claim(struct lbd *d)
{
	struct sockaddr_un sa;
	char path[PATH_MAX];
	long pid = 0;
	FILE *f;
	int err;

	err = sock_addr(d, &sa);
	if (!err)
		err = sock_free(d, &sa);
	if (err)
		return err;
	starting_path(d, path, sizeof(path));
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	if (pid > 0 && pid != (long)getpid() &&
	    (!kill((pid_t)pid, 0) || errno != ESRCH)) {
		pr_err("another lbd (pid %ld) is starting with the control "
		       "socket %s",
		       pid, d->sock_path);
		return -EADDRINUSE;
	}
	lbd_ctl_mark_starting(d);
	return 0;
}

int lbd_ctl_open(struct lbd *d)
{
	struct sockaddr_un sa;
	mode_t old;
	int fd, err;

	err = sock_addr(d, &sa);
	if (!err)
		err = sock_free(d, &sa);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(d->sock_path);
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64)) {
		int err = -errno;

		umask(old);
		pr_warn("cannot listen on %s: %s", d->sock_path,
			strerror(errno));
		close(fd);
		return err;
	}
	umask(old);
	chmod(d->sock_path, 0600);
	d->ctl_fd = fd;
	lbd_ctl_unmark_starting(d);
	return 0;
}

void lbd_ctl_close(struct lbd *d)
{
	if (d->ctl_fd >= 0) {
		close(d->ctl_fd);
		unlink(d->sock_path);
	}
	d->ctl_fd = -1;
}

/*
 * Clients are served from the event loop: a client that connects and says
 * nothing, or reads its answer slowly, holds only its own slot, never lbd.
 */
struct ctl_client {
	bool used;
	bool answering;
	int fd;
	uint64_t deadline_ms;
	char *in;
	size_t inlen, incap;
	char *out; /* the answer line */
	size_t outlen, outoff;
};

static struct ctl_client clients[LBD_CTL_MAX_CLIENTS];

static void client_close(struct lbd *d, struct ctl_client *c)
{
	if (!c->used)
		return;
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
}

/* Write what the client can take now; close when all is sent. */
static void client_flush(struct lbd *d, struct ctl_client *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff,
				 c->outlen - c->outoff, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			pr_debug("control client went away");
			break;
		}
		c->outoff += (size_t)n;
	}
	client_close(d, c);
}

static void client_answer(struct lbd *d, struct ctl_client *c, const char *line,
			  size_t len, const char *error)
{
	struct epoll_event ev = { .events = EPOLLOUT,
				  .data.u64 = LBD_EV_CTL |
					      (uint64_t)(c - clients) };
	struct jw w;

	jw_init(&w, false);
	/* a change may have moved backends: re-index the health checks (a
	 * walk over every backend id, not for views) */
	if (error)
		ctl_error(&w, "%s", error);
	else if (lbd_ctl_handle(d, line, len, &w)) {
		lbd_health_sync(d);
		/* the backends moved: the next-hop slices start over */
		d->neigh_vip = d->neigh_be = 0;
	}
	c->out = w.oom ? NULL : malloc(w.len + 1);
	if (!c->out) {
		jw_free(&w);
		client_close(d, c);
		return;
	}
	memcpy(c->out, w.buf, w.len);
	c->out[w.len] = '\n';
	c->outlen = w.len + 1;
	jw_free(&w);
	c->answering = true;
	epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	client_flush(d, c);
}

void lbd_ctl_accept(struct lbd *d)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct ctl_client *c = NULL;
	int fd;

	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };

		fd = accept4(d->ctl_fd, NULL, NULL,
			     SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		for (size_t i = 0; i < LBD_CTL_MAX_CLIENTS && !c; i++)
			if (!clients[i].used)
				c = &clients[i];
		if (!c) {
			static const char busy[] =
				"{\"ok\":false,\"error\":\"lbd is busy: too "
				"many control connections\"}\n";

			if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0)
				pr_debug("control client went away");
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->used = true;
		c->fd = fd;
		c->deadline_ms = lbd_now_ms() + LBD_CTL_TIMEOUT_MS;
		ev.data.u64 = LBD_EV_CTL | (uint64_t)(c - clients);
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			client_close(d, c);
			c = NULL;
			continue;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) ||
		    cred.uid != 0) {
			client_answer(d, c, NULL, 0,
				      "permission denied: only root may "
				      "control lbd");
		}
		c = NULL;
	}
}

void lbd_ctl_event(struct lbd *d, uint32_t slot, uint32_t events)
{
	struct ctl_client *c;
	char *nl;

	if (slot >= LBD_CTL_MAX_CLIENTS || !clients[slot].used)
		return;
	c = &clients[slot];
	if (c->answering) {
		client_flush(d, c);
		return;
	}
	for (;;) {
		ssize_t n;

		if (c->inlen == c->incap) {
			size_t cap = c->incap ? c->incap * 2 :
						CTL_FIRST_REQUEST;
			char *in = realloc(c->in, cap + 1);

			if (!in) {
				client_close(d, c);
				return;
			}
			c->in = in;
			c->incap = cap;
		}
		n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);

		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* closed (or failed) before a whole line */
			if (n == 0)
				client_answer(d, c, NULL, 0,
					      c->inlen ? "incomplete request" :
							 "incomplete request: "
							 "empty");
			else
				client_close(d, c);
			return;
		}
		nl = memchr(c->in + c->inlen, '\n', (size_t)n);
		c->inlen += (size_t)n;
		if (nl) {
			client_answer(d, c, c->in, (size_t)(nl - c->in), NULL);
			return;
		}
		if (c->inlen >= CTL_MAX_REQUEST) {
			client_answer(d, c, NULL, 0, "request too large");
			return;
		}
	}
}

/* Called every tick: drop clients that stalled. */
void lbd_ctl_expire(struct lbd *d)
{
	uint64_t now = lbd_now_ms();

	for (size_t i = 0; i < LBD_CTL_MAX_CLIENTS; i++) {
		struct ctl_client *c = &clients[i];

		if (!c->used || now < c->deadline_ms)
			continue;
		if (c->answering || c->inlen)
			client_close(d, c);
		else
			client_answer(d, c, NULL, 0,
				      "no request within the timeout");
	}
}

void lbd_ctl_close_clients(struct lbd *d)
{
	for (size_t i = 0; i < LBD_CTL_MAX_CLIENTS; i++)
		client_close(d, &clients[i]);
}
