// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* prom_server.c - the small HTTP server of Prometheus metrics (prom.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "prom.h"

/* ---------------------------------------------------------------- server */

struct prom_client {
	bool used;
	bool answering;
	int fd;
	uint64_t deadline_ms;
	size_t inlen;
	char in[PROM_MAX_REQUEST];
	char *out;
	size_t outlen, outoff;
};

#define LISTENER_TAG UINT64_MAX

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#define fail(...)                                   \
	({                                          \
		snprintf(err, errlen, __VA_ARGS__); \
		-EINVAL;                            \
	})

int prom_parse_listen(const char *s, struct sockaddr_storage *sa,
		      socklen_t *salen, char *err, size_t errlen)
{
	union lb_addr a = {};
	uint8_t fam = LB_FAMILY_V4;
	uint16_t port;
	char e[LB_ERRLEN];
	bool bare;

	if (!s || !*s)
		return fail("missing ADDR:PORT or PORT");
	bare = s[0] == ':' || !strpbrk(s, ":[");
	if (bare) {
		const char *ps = s[0] == ':' ? s + 1 : s;

		if (lb_parse_port(ps, &port, e, sizeof(e)))
			return fail("'%s': %s", s, e);
		a.v4 = htonl(INADDR_LOOPBACK);
	} else if (lb_parse_endpoint(s, &a, &fam, &port, e, sizeof(e))) {
		return fail("'%s': %s", s, e);
	}
	if (!port)
		return fail("'%s': port 0 is not a port to listen on", s);
	memset(sa, 0, sizeof(*sa));
	if (fam == LB_FAMILY_V4) {
		struct sockaddr_in *in = (struct sockaddr_in *)sa;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		in->sin_addr.s_addr = a.v4;
		*salen = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		memcpy(&in6->sin6_addr, a.bytes, 16);
		*salen = sizeof(*in6);
	}
	return 0;
}

static void format_sockaddr(const struct sockaddr_storage *sa, char *buf,
			    size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(in->sin_port));
	} else {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(in6->sin6_port));
	}
}

int prom_server_open(struct prom_server *s, const char *spec,
		     prom_render_fn render, void *ctx, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = LISTENER_TAG };
	struct sockaddr_storage sa;
	socklen_t salen;
	int one = 1, rc;

	memset(s, 0, sizeof(*s));
	s->fd = s->epfd = -1;
	rc = prom_parse_listen(spec, &sa, &salen, err, errlen);
	if (rc)
		return rc;
	s->render = render;
	s->ctx = ctx;
	s->clients = calloc(PROM_MAX_CLIENTS, sizeof(*s->clients));
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0);
	if (!s->clients || s->epfd < 0 || s->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "metrics listener %s: %s", spec,
			 strerror(errno));
		goto fail;
	}
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa.ss_family == AF_INET6)
		setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(s->fd, (struct sockaddr *)&sa, salen) || listen(s->fd, 64) ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->fd, &ev)) {
		rc = -errno;
		snprintf(err, errlen, "cannot listen for metrics on %s: %s",
			 spec, strerror(errno));
		goto fail;
	}
	format_sockaddr(&sa, s->addr, sizeof(s->addr));
	return 0;
fail:
	prom_server_close(s);
	return rc;
}

int prom_server_fd(const struct prom_server *s)
{
	return s->epfd;
}

static void client_close(struct prom_server *s, struct prom_client *c)
{
	if (!c->used)
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	c->used = false;
	c->answering = false;
	c->out = NULL;
	c->inlen = c->outlen = c->outoff = 0;
}

void prom_server_close(struct prom_server *s)
{
	if (s->clients)
		for (size_t i = 0; i < PROM_MAX_CLIENTS; i++)
			client_close(s, &s->clients[i]);
	free(s->clients);
	s->clients = NULL;
	if (s->fd >= 0)
		close(s->fd);
	if (s->epfd >= 0)
		close(s->epfd);
	s->fd = s->epfd = -1;
}

static void accept_all(struct prom_server *s)
{
	static const char busy[] =
		"HTTP/1.1 503 Service Unavailable\r\n"
		"Content-Type: text/plain\r\nContent-Length: 26\r\n"
		"Connection: close\r\n\r\ntoo many metrics clients\r\n";

	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct prom_client *c = NULL;
		int fd = accept4(s->fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		for (size_t i = 0; i < PROM_MAX_CLIENTS && !c; i++)
			if (!s->clients[i].used)
				c = &s->clients[i];
		ev.data.u64 = c ? (uint64_t)(c - s->clients) : 0;
		if (!c || epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			/* a best effort: the socket's buffer takes it */
			s->rejected++;
			if (send(fd, busy, sizeof(busy) - 1,
				 MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				errno = 0;
			close(fd);
			continue;
		}
		c->used = true;
		c->fd = fd;
		c->inlen = 0;
		c->deadline_ms = now_ms() + PROM_REQUEST_TIMEOUT_MS;
	}
}

/* Send what the client takes now; close once all is sent. */
static void flush(struct prom_server *s, struct prom_client *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff,
				 c->outlen - c->outoff, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			break;
		c->outoff += (size_t)n;
	}
	client_close(s, c);
}

static void respond(struct prom_server *s, struct prom_client *c, int status,
		    const char *reason, const char *extra, const char *ctype,
		    const char *body, size_t blen, bool head)
{
	struct epoll_event ev = { .events = EPOLLOUT,
				  .data.u64 = (uint64_t)(c - s->clients) };
	char hdr[512];
	int hlen;

	hlen = snprintf(hdr, sizeof(hdr),
			"HTTP/1.1 %d %s\r\n"
			"Content-Type: %s\r\n"
			"Content-Length: %zu\r\n"
			"%s"
			"Cache-Control: no-store\r\n"
			"Connection: close\r\n\r\n",
			status, reason, ctype, blen, extra ? extra : "");
	if (head)
		blen = 0;
	c->out = malloc((size_t)hlen + blen);
	if (!c->out) {
		client_close(s, c);
		return;
	}
	memcpy(c->out, hdr, (size_t)hlen);
	if (blen)
		memcpy(c->out + hlen, body, blen);
	c->outlen = (size_t)hlen + blen;
	c->outoff = 0;
	c->answering = true;
	c->deadline_ms = now_ms() + PROM_RESPONSE_TIMEOUT_MS;
	epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	flush(s, c);
}

static void text(struct prom_server *s, struct prom_client *c, int status,
		 const char *reason, const char *extra, const char *msg)
{
	respond(s, c, status, reason, extra, "text/plain; charset=utf-8", msg,
		strlen(msg), false);
}

/* A whole request head is in c->in (NUL-terminated). */
static void handle(struct prom_server *s, struct prom_client *c)
{
	char *sp1 = strchr(c->in, ' '), *sp2, *eol;
	size_t plen;
	bool head;

	eol = strpbrk(c->in, "\r\n");
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || sp2 > eol || strncmp(sp2 + 1, "HTTP/1.", 7)) {
		text(s, c, 400, "Bad Request", NULL, "400 Bad Request\n");
		return;
	}
	head = sp1 - c->in == 4 && !memcmp(c->in, "HEAD", 4);
	if (!head && !(sp1 - c->in == 3 && !memcmp(c->in, "GET", 3))) {
		text(s, c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n",
		     "405 Method Not Allowed\n");
		return;
	}
	plen = strcspn(sp1 + 1, "? ");
	if (plen != 8 || memcmp(sp1 + 1, "/metrics", 8)) {
		text(s, c, 404, "Not Found", NULL,
		     "404 Not Found: the metrics are at /metrics\n");
		return;
	}
	struct prom p;

	s->scrapes++;
	prom_init(&p);
	s->render(s->ctx, &p);
	if (p.oom)
		text(s, c, 500, "Internal Server Error", NULL,
		     "500 out of memory\n");
	else
		respond(s, c, 200, "OK", NULL, PROM_CONTENT_TYPE,
			p.buf ? p.buf : "", p.len, head);
	prom_free(&p);
}

static void client_read(struct prom_server *s, struct prom_client *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->inlen,
				 sizeof(c->in) - 1 - c->inlen, 0);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			/* gone before a whole request */
			client_close(s, c);
			return;
		}
		c->inlen += (size_t)n;
		c->in[c->inlen] = 0;
		if (strstr(c->in, "\r\n\r\n") || strstr(c->in, "\n\n")) {
			handle(s, c);
			return;
		}
		if (c->inlen >= sizeof(c->in) - 1) {
			text(s, c, 431, "Request Header Fields Too Large", NULL,
			     "431 request head too large\n");
			return;
		}
	}
}

void prom_server_run(struct prom_server *s)
{
	struct epoll_event ev[32];
	int n;

	if (s->epfd < 0)
		return;
	n = epoll_wait(s->epfd, ev, 32, 0);
	for (int i = 0; i < n; i++) {
		struct prom_client *c;

		if (ev[i].data.u64 == LISTENER_TAG) {
			accept_all(s);
			continue;
		}
		if (ev[i].data.u64 >= PROM_MAX_CLIENTS)
			continue;
		c = &s->clients[ev[i].data.u64];
		if (!c->used)
			continue;
		if (c->answering)
			flush(s, c);
		else
			client_read(s, c);
	}
}

void prom_server_expire(struct prom_server *s)
{
	uint64_t now = now_ms();

	if (!s->clients)
		return;
	for (size_t i = 0; i < PROM_MAX_CLIENTS; i++) {
		struct prom_client *c = &s->clients[i];

		if (c->used && now >= c->deadline_ms) {
			s->timeouts++;
			client_close(s, c);
		}
	}
}
