// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * health.c - TCP and HTTP health checks, run by lbd's event loop.
 *
 * Every backend whose VIP (or itself) has a check is probed every
 * interval (with +-10% jitter so that probes spread out) against its own
 * address and the check port.  A probe is one non-blocking socket in
 * lbd's epoll set; a 50 ms tick starts due probes and expires late ones,
 * so thousands of backends need no thread and no timer each.
 *
 * HAProxy's meanings: a backend that is up goes down after `fall` failed
 * checks in a row, one that is down comes up after `rise` good ones.  A
 * backend that was never checked comes up on its first good check and
 * takes no new flows before.  Going down clears the backend's usable flag
 * in the datapath, so the connection table re-hashes its flows on their
 * next packet; coming back up after a failure ramps its weight in the
 * Maglev table over `slowstart`.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "lbd.h"
#include "log.h"

#define HC_TICK_MS 50
#define HC_RESP_MAX 64

enum probe_phase {
	PROBE_IDLE = 0,
	PROBE_CONNECTING,
	PROBE_READING,
};

struct lbd_probe {
	int fd;
	uint32_t gen; /* of the backend the probe belongs to */
	uint16_t seq; /* of the probe, in its epoll data */
	uint8_t phase;
	uint64_t start_us;
	uint64_t deadline_ms;
	size_t rlen;
	char rbuf[HC_RESP_MAX];
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---------------------------------------------------------------- probes */

static uint64_t jittered(const struct lbd_check *c)
{
	/* +-10% so that probes of many backends do not march in step */
	uint64_t j = c->interval_ms / 5;

	return c->interval_ms - j / 2 + (j ? (uint64_t)random() % (j + 1) : 0);
}

static void probe_close(struct lbd *d, struct lbd_probe *p)
{
	if (p->fd >= 0) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, p->fd, NULL);
		close(p->fd);
	}
	p->fd = -1;
	p->phase = PROBE_IDLE;
	p->rlen = 0;
}

void lbd_health_reset(struct lbd *d, struct lbd_vip *v, struct lbd_backend *b,
		      bool keep_state)
{
	const struct lbd_check *c = lbd_check_of(v, b);
	struct lbd_health old = b->hc;
	uint64_t now = lbd_now_ms();

	if (d->probes && b->id < LB_MAX_BACKENDS)
		probe_close(d, &d->probes[b->id]);
	memset(&b->hc, 0, sizeof(b->hc));
	if (keep_state) {
		/* a known health: the next result is not a first sighting,
		 * and a slow start in progress goes on */
		b->hc.checked = old.checked || !b->health_up;
		b->hc.ramp_start_ms = old.ramp_start_ms;
		b->hc.ramp_ms = old.ramp_ms;
		b->hc.transitions = old.transitions;
		/* never changed: in this state since the check was set */
		b->hc.last_transition_ms =
			old.last_transition_ms ? old.last_transition_ms : now;
	}
	if (c->kind == LBD_CHECK_NONE) {
		b->health_up = true;
		b->health_err[0] = 0;
		return;
	}
	if (!keep_state) {
		b->health_up = false;
		snprintf(b->health_err, sizeof(b->health_err),
			 "health check pending");
	}
	/* the first check soon, spread over up to a fifth of a second */
	b->hc.next_ms = now + (uint64_t)random() % 200;
	snprintf(b->hc.last, sizeof(b->hc.last), "not checked yet");
}

static void result(struct lbd *d, struct lbd_vip *v, struct lbd_backend *b,
		   bool ok, const char *why, uint64_t latency_us)
{
	const struct lbd_check *c = lbd_check_of(v, b);
	struct lbd_health *h = &b->hc;
	uint64_t now = lbd_now_ms();
	bool was_up = b->health_up, first = !h->checked;
	char vname[LB_VIPSTRLEN], bname[LB_ADDRSTRLEN];

	lbd_metrics_check_result(b, ok, latency_us);
	h->checks++;
	h->checked = true;
	h->last_ok = ok;
	h->last_ms = now;
	h->latency_us =
		(uint32_t)(latency_us > UINT32_MAX ? UINT32_MAX : latency_us);
	snprintf(h->last, sizeof(h->last), "%s", why);
	if (ok) {
		h->ok_streak++;
		h->fail_streak = 0;
	} else {
		h->failures++;
		h->fail_streak++;
		h->ok_streak = 0;
	}

	if (!was_up && ok && (first || h->ok_streak >= c->rise)) {
		b->health_up = true;
		b->health_err[0] = 0;
		/* slow start only for a return, not for a first sighting */
		if (!first && c->slowstart_ms) {
			h->ramp_start_ms = now;
			h->ramp_ms = c->slowstart_ms;
		}
	} else if (was_up && !ok && h->fail_streak >= c->fall) {
		b->health_up = false;
		h->ramp_ms = 0;
		snprintf(b->health_err, sizeof(b->health_err),
			 "health check: %s (%u in a row)", why, h->fail_streak);
	} else if (!was_up && !ok) {
		snprintf(b->health_err, sizeof(b->health_err),
			 "health check: %s", why);
	}
	if (was_up == b->health_up)
		return;

	h->transitions++;
	h->last_transition_ms = now;
	lb_format_vip(&v->spec, vname, sizeof(vname));
	lb_format_addr(&b->addr, b->family, bname, sizeof(bname));
	pr_info("VIP %s: backend %s health %s after %u %s check%s%s", vname,
		bname, b->health_up ? "up" : "down",
		ok ? h->ok_streak : h->fail_streak, ok ? "good" : "failed",
		(ok ? h->ok_streak : h->fail_streak) == 1 ? "" : "s",
		h->ramp_ms && b->health_up ? ", slow start" : "");
	lbd_note_transitions(d, v);
	v->dirty = lbd_dp_sync_vip(d, v, false) != 0;
	/* health is part of the state, so that a restarted lbd resumes from
	 * it; saved by the next 1 s tick, not here, so that many transitions
	 * at once cost one write */
	d->save_pending = true;
}

static void probe_start(struct lbd *d, struct lbd_vip *v, struct lbd_backend *b)
{
	const struct lbd_check *c = lbd_check_of(v, b);
	struct lbd_probe *p = &d->probes[b->id];
	struct sockaddr_storage ss = {};
	socklen_t sl;
	uint16_t port = c->port ? c->port : v->spec.port;
	struct epoll_event ev = { .events = EPOLLOUT };
	int fd;

	p->seq++;
	ev.data.u64 = LBD_EV_PROBE | (uint64_t)p->seq << 16 | b->id;
	b->hc.next_ms = lbd_now_ms() + jittered(c);
	if (b->family == LB_FAMILY_V4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, &b->addr.v4, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, b->addr.v6, 16);
		sl = sizeof(*s6);
	}
	p->gen = b->gen;
	p->start_us = now_us();
	p->deadline_ms = lbd_now_ms() + c->timeout_ms;
	p->rlen = 0;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		result(d, v, b, false, strerror(errno), 0);
		return;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) && errno != EINPROGRESS) {
		int e = errno;

		close(fd);
		result(d, v, b, false, strerror(e), now_us() - p->start_us);
		return;
	}
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		result(d, v, b, false, strerror(errno), 0);
		return;
	}
	p->fd = fd;
	p->phase = PROBE_CONNECTING;
}

/* Close without TIME_WAIT: a checker must not fill the port space. */
static void probe_finish(struct lbd *d, struct lbd_probe *p)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (p->fd >= 0)
		setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	probe_close(d, p);
}

static void on_connected(struct lbd *d, struct lbd_vip *v,
			 struct lbd_backend *b, struct lbd_probe *p)
{
	const struct lbd_check *c = lbd_check_of(v, b);
	struct epoll_event ev = {
		.events = EPOLLIN,
		.data.u64 = LBD_EV_PROBE | (uint64_t)p->seq << 16 | b->id,
	};
	char req[512], host[LBD_CHECK_STRLEN + 2];
	int soerr = 0, n;
	socklen_t len = sizeof(soerr);

	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) || soerr) {
		probe_close(d, p);
		result(d, v, b, false, strerror(soerr ? soerr : errno),
		       now_us() - p->start_us);
		return;
	}
	if (c->kind == LBD_CHECK_TCP) {
		uint64_t lat = now_us() - p->start_us;

		probe_finish(d, p);
		result(d, v, b, true, "connected", lat);
		return;
	}
	if (c->host[0]) {
		snprintf(host, sizeof(host), "%s", c->host);
	} else {
		char a[LB_ADDRSTRLEN];

		lb_format_addr(&b->addr, b->family, a, sizeof(a));
		snprintf(host, sizeof(host),
			 b->family == LB_FAMILY_V6 ? "[%s]" : "%s", a);
	}
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: lbd-health\r\n"
		     "Connection: close\r\n\r\n",
		     c->path, host);
	if (n < 0 || (size_t)n >= sizeof(req) ||
	    send(p->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		int e = errno;

		probe_close(d, p);
		result(d, v, b, false,
		       e ? strerror(e) : "cannot send the request",
		       now_us() - p->start_us);
		return;
	}
	p->phase = PROBE_READING;
	epoll_ctl(d->epfd, EPOLL_CTL_MOD, p->fd, &ev);
}

static void on_readable(struct lbd *d, struct lbd_vip *v, struct lbd_backend *b,
			struct lbd_probe *p)
{
	const struct lbd_check *c = lbd_check_of(v, b);
	char why[96];
	ssize_t n;
	int status;

	n = recv(p->fd, p->rbuf + p->rlen, sizeof(p->rbuf) - 1 - p->rlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		p->rlen += (size_t)n;
		p->rbuf[p->rlen] = 0;
		/* the status line is all we need: "HTTP/1.x NNN" */
		if (p->rlen < 12 && p->rlen < sizeof(p->rbuf) - 1)
			return;
	}
	p->rbuf[p->rlen] = 0;
	if (p->rlen >= 12 && !strncmp(p->rbuf, "HTTP/1.", 7) &&
	    p->rbuf[8] == ' ' && sscanf(p->rbuf + 9, "%3d", &status) == 1 &&
	    status >= 100 && status <= 599) {
		bool ok = c->expect & (1 << (status / 100));
		uint64_t lat = now_us() - p->start_us;

		snprintf(why, sizeof(why), "HTTP %d", status);
		probe_finish(d, p);
		result(d, v, b, ok, why, lat);
		return;
	}
	snprintf(why, sizeof(why), "%s",
		 n < 0	 ? strerror(errno) :
		 p->rlen ? "not an HTTP answer" :
			   "connection closed without an answer");
	probe_close(d, p);
	result(d, v, b, false, why, now_us() - p->start_us);
}

void lbd_health_event(struct lbd *d, uint32_t data, uint32_t events)
{
	uint32_t id = data & 0xffff;
	struct lbd_backend *b;
	struct lbd_vip *v;
	struct lbd_probe *p;

	_Static_assert(LB_MAX_BACKENDS <= 0x10000, "ids must fit 16 bits");
	if (id >= LB_MAX_BACKENDS || !d->probes)
		return;
	p = &d->probes[id];
	/* an event of an earlier probe, queued in the same epoll batch as
	 * the timeout that closed it: not this probe's business */
	if (p->seq != (uint16_t)(data >> 16))
		return;
	b = d->by_id[id];
	v = d->vip_of_id[id];
	if (!b || !v || p->fd < 0 || p->gen != b->gen) {
		probe_close(d, p);
		return;
	}
	if (p->phase == PROBE_CONNECTING)
		on_connected(d, v, b, p);
	else if (p->phase == PROBE_READING &&
		 (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		on_readable(d, v, b, p);
}

void lbd_health_tick(struct lbd *d)
{
	uint64_t now = lbd_now_ms(), ticks;

	if (read(d->hc_timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		pr_debug("health timer: %s", strerror(errno));
	for (size_t i = 0; i < d->nvips; i++) {
		struct lbd_vip *v = &d->vips[i];

		for (size_t j = 0; j < v->nbe; j++) {
			struct lbd_backend *b = &v->be[j];
			struct lbd_probe *p = &d->probes[b->id];
			const struct lbd_check *c = lbd_check_of(v, b);

			if (c->kind == LBD_CHECK_NONE)
				continue;
			if (p->fd >= 0 && now >= p->deadline_ms) {
				uint64_t lat = now_us() - p->start_us;
				bool connecting = p->phase == PROBE_CONNECTING;

				probe_close(d, p);
				result(d, v, b, false,
				       connecting ?
					       "connect timeout" :
					       "timeout waiting for the answer",
				       lat);
			}
			if (p->fd < 0 && now >= b->hc.next_ms)
				probe_start(d, v, b);
		}
	}
}

void lbd_health_sync(struct lbd *d)
{
	if (!d->probes)
		return;
	memset(d->by_id, 0, LB_MAX_BACKENDS * sizeof(*d->by_id));
	memset(d->vip_of_id, 0, LB_MAX_BACKENDS * sizeof(*d->vip_of_id));
	for (size_t i = 0; i < d->nvips; i++) {
		struct lbd_vip *v = &d->vips[i];

		for (size_t j = 0; j < v->nbe; j++) {
			if (v->be[j].id >= LB_MAX_BACKENDS)
				continue;
			d->by_id[v->be[j].id] = &v->be[j];
			d->vip_of_id[v->be[j].id] = v;
		}
	}
	/* probes of removed backends, or of backends without a check */
	for (uint32_t id = 0; id < LB_MAX_BACKENDS; id++) {
		struct lbd_probe *p = &d->probes[id];
		struct lbd_backend *b = d->by_id[id];

		if (p->fd < 0)
			continue;
		if (!b || b->gen != p->gen ||
		    lbd_check_of(d->vip_of_id[id], b)->kind == LBD_CHECK_NONE)
			probe_close(d, p);
	}
}

int lbd_health_open(struct lbd *d)
{
	struct itimerspec its = {
		.it_interval = { 0, HC_TICK_MS * 1000000L },
		.it_value = { 0, HC_TICK_MS * 1000000L },
	};
	struct epoll_event ev = { .events = EPOLLIN };

	d->probes = calloc(LB_MAX_BACKENDS, sizeof(*d->probes));
	d->by_id = calloc(LB_MAX_BACKENDS, sizeof(*d->by_id));
	d->vip_of_id = calloc(LB_MAX_BACKENDS, sizeof(*d->vip_of_id));
	if (!d->probes || !d->by_id || !d->vip_of_id)
		return -ENOMEM;
	for (uint32_t i = 0; i < LB_MAX_BACKENDS; i++)
		d->probes[i].fd = -1;
	srandom((unsigned)(now_us() ^ (uint64_t)getpid()));
	d->hc_timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->hc_timer_fd < 0)
		return -errno;
	timerfd_settime(d->hc_timer_fd, 0, &its, NULL);
	ev.data.u64 = (uint64_t)d->hc_timer_fd;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->hc_timer_fd, &ev))
		return -errno;
	lbd_health_sync(d);
	return 0;
}

void lbd_health_close(struct lbd *d)
{
	if (d->probes)
		for (uint32_t i = 0; i < LB_MAX_BACKENDS; i++)
			if (d->probes[i].fd >= 0)
				close(d->probes[i].fd);
	if (d->hc_timer_fd >= 0)
		close(d->hc_timer_fd);
	free(d->probes);
	free(d->by_id);
	free(d->vip_of_id);
	d->probes = NULL;
	d->by_id = NULL;
	d->vip_of_id = NULL;
	d->hc_timer_fd = -1;
}
