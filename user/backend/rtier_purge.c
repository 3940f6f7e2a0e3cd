// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rtier_purge.c - PURGE through the Redis tier, and the purge channel that
 * tells every host's local tier.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "cache.h"
#include "log.h"
#include "rtier_int.h"

static unsigned int sub_node; /* cluster: the node of the purge channel */
static long long sub_retry_at;

/* Wait for what was asked, at most --redis-timeout; the outcome moves
 * the breaker.  0, or -errno after the server failed. */
static int settle(void)
{
	long long deadline = redis_mono_ms() + rt.rc->timeout_ms;
	unsigned int i;
	int err = 0;

	/* every node's commands out before waiting for any */
	for (i = 0; i < rt.nnodes && !err; i++)
		if (rt.nodes[i].c.state != REDIS_DOWN)
			err = redis_io(&rt.nodes[i].c);
	for (i = 0; i < rt.nnodes && !err; i++)
		if (redis_pending(&rt.nodes[i].c))
			err = redis_wait(&rt.nodes[i].c, deadline);
	if (err) {
		rtier_server_failed(err);
		return err;
	}
	rt.busy_since = 0;
	rtier_breaker_log(breaker_success(&rt.bk), NULL);
	return 0;
}

static size_t channel(char *ch)
{
	return (size_t)snprintf(ch, 80, "%spurge", rt.rc->prefix);
}

struct purge_wait {
	int got;
	long long n[2]; /* DEL's and PUBLISH's integers */
};

static void on_purge_reply(void *arg, const struct resp *r)
{
	struct purge_wait *w = arg;

	if (r && r->type == RESP_INT && w->got < 2)
		w->n[w->got++] = r->integer;
}

int rtier_purge(const char *target, size_t len, int *was_local,
		long long *deleted, long long *receivers)
{
	struct purge_wait w = { 0 };
	struct redis_conn *c;
	char key[KEY_MAX], ch[80];
	size_t klen, chlen;
	int err;

	*was_local = cache_remove(rt.local, target, len) > 0;
	*deleted = *receivers = 0;
	STAT_ADD(rt.ctr->purges, 1);
	if (!rt.rc->url[0])
		return 0;
	if (len > TARGET_MAX)
		return -E2BIG;
	if (!rtier_usable())
		return -EAGAIN;
	klen = rtier_make_key(key, target, len);
	chlen = channel(ch);
	c = rtier_conn_for(key, klen);
	if (!c)
		return -EHOSTUNREACH;
	{
		const char *del[] = { "DEL", key };
		const char *pub[] = { "PUBLISH", ch, target };
		size_t dlens[] = { 3, klen }, plens[] = { 7, chlen, len };

		/* in a cluster, any node passes a message on to all */
		if (redis_cmd(c, on_purge_reply, &w, 2, del, dlens) ||
		    redis_cmd(c, on_purge_reply, &w, 3, pub, plens))
			return -ENOMEM;
	}
	err = settle();
	rtier_watch_sync();
	if (err)
		return err;
	if (w.got < 2)
		return -EPROTO; /* an error reply */
	*deleted = w.n[0];
	*receivers = w.n[1];
	return 0;
}

/* A message on the purge channel: forget its key here. */
static void on_message(void *arg, const struct resp *r)
{
	if (!r || r->type != RESP_ARRAY || r->n != 3 ||
	    r->elem[0].type != RESP_BULK || r->elem[0].len != 7 ||
	    memcmp(r->elem[0].str, "message", 7) ||
	    r->elem[2].type != RESP_BULK)
		return;
	cache_remove(rt.local, r->elem[2].str, r->elem[2].len);
	STAT_ADD(rt.ctr->purge_msgs, 1);
}

static void on_subscribed(void *arg, const struct resp *r)
{
	if (r && r->type == RESP_ERROR)
		redis_close(&rt.sub, "SUBSCRIBE refused");
}

/* Keep the subscription to the purge channel, and read what it brings. */
void rtier_sub_tick(long long now)
{
	char ch[80];

	if (rt.sub.state == REDIS_DOWN) {
		if (now < sub_retry_at)
			return;
		sub_retry_at = now + rt.rc->retry_ms;
		if (!rt.nnodes)
			return; /* no slot map yet */
		/* a cluster: the next node each time one fails */
		if (redis_connect(&rt.sub,
				  &rt.nodes[sub_node++ % rt.nnodes].addr))
			return;
		const char *argv[] = { "SUBSCRIBE", ch };
		size_t lens[] = { 9, channel(ch) };

		rt.sub.on_push = on_message;
		if (redis_cmd(&rt.sub, on_subscribed, NULL, 2, argv, lens)) {
			redis_close(&rt.sub, NULL);
			return;
		}
	}
	if (redis_io(&rt.sub))
		pr_debug("redis: purge channel: %s", rt.sub.err);
}
