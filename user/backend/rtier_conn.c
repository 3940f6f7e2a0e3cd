// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rtier_conn.c - the Redis tier's options, a worker's servers and their
 * circuit breaker, and the tier's part of the worker's event loop.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "backend.h"
#include "log.h"
#include "rtier_int.h"

struct rtier rt;

void rtier_config_init(struct redis_config *c)
{
	memset(c, 0, sizeof(*c));
	c->timeout_ms = 5;
	c->retry_ms = 1000;
	c->lock_wait_ms = 2000;
	c->max_object = 1 << 20;
	strcpy(c->prefix, "lb:");
}

/* One seed of --redis-cluster: HOST:PORT, or redis://[[USER]:PASSWORD@]
 * HOST:PORT[/0] whose user and password are every node's.  0 or -EINVAL
 * with a message. */
static int seed_add(struct redis_config *c, const char *hp)
{
	struct redis_addr a;
	char err[400];
	int url = !strncmp(hp, "redis://", 8);

	if (c->nseeds == RTIER_MAX_SEEDS) {
		fprintf(stderr,
			"lb-backend: --redis-cluster: too many nodes\n");
		return -EINVAL;
	}
	if (url ? redis_url_parse(hp, &a, err, sizeof(err)) :
		  redis_hostport_parse(hp, &a, err, sizeof(err))) {
		fprintf(stderr, "lb-backend: --redis-cluster: %s\n", err);
		return -EINVAL;
	}
	if (a.db) {
		fprintf(stderr,
			"lb-backend: --redis-cluster: database %d: a Redis Cluster has database 0 only\n",
			a.db);
		return -EINVAL;
	}
	if (url && a.password[0]) {
		if (c->password[0] && (strcmp(c->password, a.password) ||
				       strcmp(c->username, a.username))) {
			fprintf(stderr,
				"lb-backend: --redis-cluster: the nodes are given different users or passwords\n");
			return -EINVAL;
		}
		strcpy(c->password, a.password);
		strcpy(c->username, a.username);
	}
	snprintf(c->seeds[c->nseeds++], sizeof(c->seeds[0]), "%s", a.text);
	return 0;
}

int rtier_config_check(struct redis_config *c)
{
	char err[400];

	if (!c->url[0])
		return 0;
	if (c->cluster) {
		char list[sizeof(c->url)], *save, *hp;
		size_t n = 0;

		strcpy(list, c->url);
		c->nseeds = 0;
		for (hp = strtok_r(list, ",", &save); hp;
		     hp = strtok_r(NULL, ",", &save)) {
			if (seed_add(c, hp))
				return -EINVAL;
			n += snprintf(c->shown + n, sizeof(c->shown) - n,
				      "%s%s", n ? "," : "",
				      c->seeds[c->nseeds - 1]);
			if (n >= sizeof(c->shown))
				n = sizeof(c->shown) - 1;
		}
		if (!c->nseeds) {
			fprintf(stderr,
				"lb-backend: --redis-cluster: HOST:PORT,... expected\n");
			return -EINVAL;
		}
		return 0;
	}
	if (redis_url_parse(c->url, &c->addr, err, sizeof(err))) {
		fprintf(stderr, "lb-backend: --redis: %s\n", err);
		return -EINVAL;
	}
	snprintf(c->shown, sizeof(c->shown), "%s", c->addr.text);
	return 0;
}

void rtier_worker_init(const struct redis_config *config,
		       struct rtier_counters *counters, struct cache *cache)
{
	rt.rc = config;
	rt.ctr = counters;
	rt.local = cache;
	rt.bk = (struct breaker){ .open_ms = rt.rc->retry_ms };
	STAT_SET(rt.ctr->breaker, BREAKER_CLOSED);
	/* a predecessor in this slot listened; its purge count stays */
	STAT_SET(rt.ctr->purge_listening, 0);
	redis_init(&rt.sub, 65536);
	memset(rt.slot_node, 0, sizeof(rt.slot_node));
	rt.nnodes = 0;
	if (rt.rc->cluster) {
		memset(rt.slot_node, NO_NODE, sizeof(rt.slot_node));
		rt.map_stale = 1;
		/* before the first request; later ones do not wait */
		if (rtier_refresh_map())
			pr_info("redis cluster: no slot map yet");
	} else {
		rt.nodes[0].addr = rt.rc->addr;
		snprintf(rt.nodes[0].name, sizeof(rt.nodes[0].name), "%s",
			 rt.rc->addr.text);
		/* a reply larger than any value we store is never read */
		redis_init(&rt.nodes[0].c, rt.rc->max_object);
		rt.nnodes = 1;
	}
}

void rtier_breaker_log(int changed, const char *why)
{
	if (changed < 0)
		return;
	STAT_SET(rt.ctr->breaker, changed);
	if (changed == BREAKER_OPEN) {
		STAT_ADD(rt.ctr->breaker_opened, 1);
		pr_warn("redis %s: %s; going to the origin without it for %u ms",
			rt.rc->cluster ? "cluster" : rt.rc->addr.text, why,
			rt.rc->retry_ms);
	} else {
		pr_info("redis %s: answering again",
			rt.rc->cluster ? "cluster" : rt.rc->addr.text);
	}
}

/* The server failed (err: -ETIMEDOUT or another): close, count, open. */
void rtier_server_failed(int err)
{
	long long now = redis_mono_ms();
	char why[300];

	rt.last_err = err; /* for the replies that now fail */
	snprintf(why, sizeof(why), "failed");
	for (unsigned int i = 0; i < rt.nnodes; i++) {
		if (rt.nodes[i].c.err[0] && !strcmp(why, "failed"))
			snprintf(why, sizeof(why), "%.100s: %s",
				 rt.nodes[i].name, rt.nodes[i].c.err);
		if (rt.nodes[i].c.state != REDIS_DOWN)
			redis_close(&rt.nodes[i].c, NULL);
	}
	rt.map_stale = rt.rc->cluster;
	STAT_ADD(*(err == -ETIMEDOUT ? &rt.ctr->timeouts : &rt.ctr->errors), 1);
	rtier_breaker_log(breaker_failure(&rt.bk, now), why);
	STAT_SET(rt.ctr->breaker, rt.bk.state);
	rt.busy_since = 0;
}

/* The connection to node i, connecting when it is down; NULL if that
 * fails at once. */
struct redis_conn *rtier_node_conn(unsigned int i)
{
	struct redis_conn *c = &rt.nodes[i].c;

	if (c->state == REDIS_DOWN &&
	    (redis_mono_ms() < rt.nodes[i].down_until ||
	     redis_connect(c, &rt.nodes[i].addr)))
		return NULL;
	return c;
}

/* The node named host:port, added if new; -1 if it cannot be. */

/* The connection for key: its slot's master (the one server without a
 * cluster); NULL if there is none or it cannot be reached. */
struct redis_conn *rtier_conn_for(const char *key, size_t klen)
{
	unsigned int n =
		rt.rc->cluster ? rt.slot_node[rcluster_slot(key, klen)] : 0;

	return n == NO_NODE ? NULL : rtier_node_conn(n);
}

/* Commands whose replies nobody waits for (stores, unlocks, the slot map)
 * are out: they too must be answered within --redis-timeout. */
void rtier_mark_busy(void)
{
	if (!rt.busy_since)
		rt.busy_since = redis_mono_ms();
}

/* Whether Redis may be asked now; connects when needed. */
int rtier_usable(void)
{
	long long now = redis_mono_ms();

	if (!breaker_allow(&rt.bk, now)) {
		STAT_SET(rt.ctr->breaker, rt.bk.state);
		return 0;
	}
	STAT_SET(rt.ctr->breaker, rt.bk.state);
	if (rt.rc->cluster) {
		if (rt.map_stale)
			rtier_map_refresh();
		if (rt.have_map)
			return 1;
		/* no map yet: without Redis until it comes (it is the
		 * probe of a half-open breaker) */
		if (!rt.map_asking)
			rtier_server_failed(-EHOSTUNREACH);
		return 0;
	}
	if (!rtier_node_conn(0)) {
		rtier_server_failed(-ECONNREFUSED);
		return 0;
	}
	return 1;
}

size_t rtier_make_key(char *k, const char *target, size_t len)
{
	size_t p = strlen(rt.rc->prefix);

	memcpy(k, rt.rc->prefix, p);
	memcpy(k + p, target, len);
	return p + len;
}

/* ---------------------------------------------------------------- epoll */

static int w_epfd = -1;
static void *w_tag;
/* What epoll has of a connection: a new connection (gen) may reuse the
 * number of a closed one, which epoll forgot. */
struct watched {
	int fd;
	unsigned int gen;
	uint32_t events;
};
static struct watched w_node[MAX_NODES], w_sub;

static void watch(const struct redis_conn *c, struct watched *w)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w_tag };

	if (w_epfd < 0 || c->fd < 0) {
		w->fd = -1;
		return;
	}
	if (c->state == REDIS_CONNECTING || c->out_off < c->out_len)
		ev.events |= EPOLLOUT;
	if (w->fd == c->fd && w->gen == c->gen && w->events == ev.events)
		return;
	if (epoll_ctl(w_epfd, EPOLL_CTL_MOD, c->fd, &ev) &&
	    (errno != ENOENT || epoll_ctl(w_epfd, EPOLL_CTL_ADD, c->fd, &ev))) {
		pr_warn("redis: epoll_ctl: %s", strerror(errno));
		w->fd = -1;
		return;
	}
	*w = (struct watched){ c->fd, c->gen, ev.events };
}

void rtier_watch_sync(void)
{
	for (unsigned int i = 0; i < rt.nnodes; i++)
		watch(&rt.nodes[i].c, &w_node[i]);
	watch(&rt.sub, &w_sub);
}

void rtier_watch(int epfd, void *tag)
{
	w_epfd = epfd;
	w_tag = tag;
	for (unsigned int i = 0; i < MAX_NODES; i++)
		w_node[i].fd = -1;
	w_sub.fd = -1;
	rtier_watch_sync();
}

static void on_ping(void *arg, const struct resp *r)
{
	if (!r)
		return; /* the connection failed: counted there */
	if (r->type == RESP_STATUS)
		rtier_breaker_log(breaker_success(&rt.bk), NULL);
	else
		rt.probe_refused = 1;
}

/* An open breaker whose time is up probes the server itself, so that a
 * worker with no miss to look up closes it too: with PING, or in a cluster
 * by asking for the slot map. */
static void probe(long long now)
{
	static const char *const argv[] = { "PING" };

	if (rt.bk.state != BREAKER_OPEN || now < rt.bk.retry_at ||
	    !rtier_usable())
		return;
	if (rt.rc->cluster) {
		rt.map_stale = 1;
		rtier_map_refresh();
		if (!rt.map_asking)
			rtier_server_failed(-EHOSTUNREACH);
	} else if (!redis_cmdv(&rt.nodes[0].c, on_ping, NULL, 1, argv)) {
		rtier_mark_busy();
	} else {
		rtier_server_failed(-ENOTCONN);
	}
}

void rtier_tick(long long now)
{
	if (!rt.rc || !rt.rc->url[0])
		return;
	rtier_sub_tick(now);
	rtier_pump(now);
	probe(now);
	rtier_map_watch(now);
	rtier_pump(now);
	rtier_purges_step();
	rtier_watch_sync();
}
