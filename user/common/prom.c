// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* prom.c - Prometheus text exposition writer and its HTTP server. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "prom.h"

/* ---------------------------------------------------------------- writer */

void prom_init(struct prom *p)
{
	memset(p, 0, sizeof(*p));
}

void prom_free(struct prom *p)
{
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

static bool reserve(struct prom *p, size_t more)
{
	size_t cap;
	char *nb;

	if (p->oom)
		return false;
	if (p->len + more + 1 <= p->cap)
		return true;
	cap = p->cap ? p->cap : 4096;
	while (cap < p->len + more + 1)
		cap *= 2;
	nb = realloc(p->buf, cap);
	if (!nb) {
		p->oom = true;
		return false;
	}
	p->buf = nb;
	p->cap = cap;
	return true;
}

static void put(struct prom *p, const char *s, size_t n)
{
	if (!reserve(p, n))
		return;
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = 0;
}

static void puts_(struct prom *p, const char *s)
{
	put(p, s, strlen(s));
}

static void printf_(struct prom *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void printf_(struct prom *p, const char *fmt, ...)
{
	char small[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		put(p, small, (size_t)n);
		return;
	}
	if (!reserve(p, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(p->buf + p->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	p->len += (size_t)n;
}

void prom_head(struct prom *p, const char *name, const char *type,
	       const char *help)
{
	printf_(p, "# HELP %s ", name);
	/* HELP escapes only backslash and line feed */
	for (const char *c = help; *c; c++) {
		if (*c == '\\')
			puts_(p, "\\\\");
		else if (*c == '\n')
			puts_(p, "\\n");
		else
			put(p, c, 1);
	}
	printf_(p, "\n# TYPE %s %s\n", name, type);
}

static void sample_name(struct prom *p, const char *name,
			const struct prom_labels *l)
{
	puts_(p, name);
	if (l && l->len) {
		put(p, "{", 1);
		put(p, l->s, l->len);
		put(p, "}", 1);
	}
	put(p, " ", 1);
}

void prom_u64(struct prom *p, const char *name, const struct prom_labels *l,
	      uint64_t v)
{
	if (l && l->overflow)
		return;
	sample_name(p, name, l);
	printf_(p, "%llu\n", (unsigned long long)v);
}

static void put_double(struct prom *p, double v)
{
	if (isnan(v))
		puts_(p, "NaN");
	else if (isinf(v))
		puts_(p, v > 0 ? "+Inf" : "-Inf");
	else
		printf_(p, "%.15g", v);
}

void prom_dbl(struct prom *p, const char *name, const struct prom_labels *l,
	      double v)
{
	if (l && l->overflow)
		return;
	sample_name(p, name, l);
	put_double(p, v);
	put(p, "\n", 1);
}

void prom_labels_init(struct prom_labels *l)
{
	l->len = 0;
	l->s[0] = 0;
	l->overflow = false;
}

static void lput(struct prom_labels *l, const char *s, size_t n)
{
	if (l->overflow || l->len + n >= sizeof(l->s)) {
		l->overflow = true;
		return;
	}
	memcpy(l->s + l->len, s, n);
	l->len += n;
	l->s[l->len] = 0;
}

void prom_label(struct prom_labels *l, const char *key, const char *value)
{
	if (l->len)
		lput(l, ",", 1);
	lput(l, key, strlen(key));
	lput(l, "=\"", 2);
	for (const char *c = value; *c; c++) {
		if (*c == '\\')
			lput(l, "\\\\", 2);
		else if (*c == '"')
			lput(l, "\\\"", 2);
		else if (*c == '\n')
			lput(l, "\\n", 2);
		else
			lput(l, c, 1);
	}
	lput(l, "\"", 1);
}

size_t prom_bucket(const double *bounds, size_t n, double v)
{
	size_t i = 0;

	while (i < n && v > bounds[i])
		i++;
	return i;
}

void prom_histogram(struct prom *p, const char *name,
		    const struct prom_labels *l, const double *bounds,
		    const uint64_t *counts, size_t n, double sum)
{
	char sname[128], le[32];
	struct prom_labels bl;
	uint64_t cum = 0;

	if (l && l->overflow)
		return;
	snprintf(sname, sizeof(sname), "%s_bucket", name);
	for (size_t i = 0; i <= n; i++) {
		cum += counts[i];
		bl = l ? *l : (struct prom_labels){};
		if (i < n)
			snprintf(le, sizeof(le), "%g", bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		prom_label(&bl, "le", le);
		prom_u64(p, sname, &bl, cum);
	}
	snprintf(sname, sizeof(sname), "%s_sum", name);
	prom_dbl(p, sname, l, sum);
	snprintf(sname, sizeof(sname), "%s_count", name);
	prom_u64(p, sname, l, cum);
}

/* ---------------------------------------------------------------- process */

static double boot_time(void)
{
	char line[256];
	double bt = 0;
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %lf", &bt) == 1)
			break;
	fclose(f);
	return bt;
}

static long count_fds(int pid)
{
	char path[64];
	DIR *dir;
	struct dirent *e;
	long n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid ? pid : (int)getpid());
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	/* the directory's own descriptor, when it is ours */
	return pid && pid != getpid() ? n : n - 1;
}

int prom_proc_read(int pid, struct prom_proc *pp)
{
	unsigned long long utime, stime, start, vsize;
	long long rss;
	double tck = (double)sysconf(_SC_CLK_TCK);
	char path[64], buf[1024], *rp;
	ssize_t n = -1;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/stat");
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = (ssize_t)fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	/* the command name may hold spaces and parentheses: skip to the last
	 * ')'; then fields 3.. of proc(5) */
	rp = strrchr(buf, ')');
	if (!rp ||
	    sscanf(rp + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
		   "%*d %*d %*d %*d %*d %*d %llu %llu %lld",
		   &utime, &stime, &start, &vsize, &rss) != 5)
		return -EIO;
	pp->cpu_seconds = (double)(utime + stime) / tck;
	pp->start_time = boot_time() + (double)start / tck;
	pp->rss_bytes = (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
	pp->vsize_bytes = vsize;
	return 0;
}

void prom_process(struct prom *p, int pid)
{
	struct prom_proc pp;
	long fds = count_fds(pid);
	struct rlimit rl;

	if (prom_proc_read(pid, &pp))
		return;
	prom_head(p, "process_cpu_seconds_total", "counter",
		  "Total user and system CPU time spent in seconds.");
	prom_dbl(p, "process_cpu_seconds_total", NULL, pp.cpu_seconds);
	prom_head(p, "process_resident_memory_bytes", "gauge",
		  "Resident memory size in bytes.");
	prom_u64(p, "process_resident_memory_bytes", NULL, pp.rss_bytes);
	prom_head(p, "process_virtual_memory_bytes", "gauge",
		  "Virtual memory size in bytes.");
	prom_u64(p, "process_virtual_memory_bytes", NULL, pp.vsize_bytes);
	if (fds >= 0) {
		prom_head(p, "process_open_fds", "gauge",
			  "Number of open file descriptors.");
		prom_u64(p, "process_open_fds", NULL, (uint64_t)fds);
	}
	if (!prlimit(pid, RLIMIT_NOFILE, NULL, &rl)) {
		prom_head(p, "process_max_fds", "gauge",
			  "Maximum number of open file descriptors.");
		prom_dbl(p, "process_max_fds", NULL,
			 rl.rlim_cur == RLIM_INFINITY ? INFINITY :
							(double)rl.rlim_cur);
	}
	prom_head(p, "process_start_time_seconds", "gauge",
		  "Start time of the process since unix epoch in seconds.");
	prom_dbl(p, "process_start_time_seconds", NULL, pp.start_time);
}

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
