// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rtier_purge.c - PURGE through the Redis tier, and the purge channel that
 * tells every host's local tier.
 *
 * A host whose subscription is cut misses the messages sent meanwhile, and
 * would keep serving its copies of what was purged.  So every PURGE also
 * counts itself in Redis: INCR of PREFIX"purge:epoch", applied before its
 * message goes out.  A worker reads the count when it subscribes, and
 * counts the messages it gets; when it subscribes again after losing the
 * channel, a count that is not the one it read plus the messages it got
 * (or one it cannot read) means purges went by unheard: it drops every
 * object of the local tier, which refills from Redis and the origin.
 *
 * The local tier is the host's, shared by its workers, and so is what it
 * has heard: each worker publishes in its slot the count it has heard up
 * to.  A worker subscribing for the first time (started, or restarted
 * after a crash or a reload) while no other worker of the host listens
 * compares the count with the highest any worker of the host heard: purges
 * that went by while none listened drop the local tier too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cache.h"
#include "log.h"
#include "rtier_int.h"
#include "worker.h"

static unsigned int sub_node; /* cluster: the node of the purge channel */
static long long sub_retry_at;
static int subscribed; /* the SUBSCRIBE was confirmed, the channel is up */
static int lost; /* the channel went down since the epoch was read */
static int epoch_due; /* the epoch is to be read (subscribed anew) */
static int epoch_asked; /* its GET is out */
static long long subscribed_at; /* ms */
static long long epoch = -1; /* read when last subscribed; -1: unknown */
static long long heard; /* purge messages since the epoch was read */

static size_t channel(char *ch)
{
	return (size_t)snprintf(ch, 80, "%spurge", rt.rc->prefix);
}

/* The key counting the purges (not a target: those begin with '/'). */
static size_t epoch_key(char *k)
{
	return (size_t)snprintf(k, 80, "%spurge:epoch", rt.rc->prefix);
}

/*
 * A PURGE in flight: DEL of the key and INCR of the epoch, then, once both
 * are answered, PUBLISH.  The worker does not wait: the replies come in
 * through its loop (rtier_tick), which answers the client through done.
 */
enum purge_cmd { P_DEL, P_INCR, P_PUBLISH };
#define MAX_PURGES 16
static struct purge {
	char *target; /* a copy; NULL: the slot is free */
	size_t len;
	rtier_purge_fn *done;
	void *arg; /* NULL: nobody to answer any more */
	int local;
	int published; /* the PUBLISH went */
	int outstanding; /* replies to come (or to fail) */
	int sent; /* a command went out */
	int err;
	int unanswered; /* -errno: a reply never came (the server failed) */
	long long n[3]; /* the integers of DEL, INCR and PUBLISH */
	struct purge_ref {
		struct purge *p;
		int cmd; /* enum purge_cmd */
	} ref[3];
} purges[MAX_PURGES];

static void on_purge_reply(void *arg, const struct resp *r)
{
	struct purge_ref *ref = arg;
	struct purge *p = ref->p;

	p->outstanding--;
	if (!r)
		p->err = p->unanswered = rt.last_err ?: -EIO; /* never came */
	else if (r->type == RESP_INT)
		p->n[ref->cmd] = r->integer;
	else
		p->err = p->err ?: -EPROTO; /* an error reply */
}

/* Queue command cmd of p (argc words) on the master of key; 0 or -errno. */
static int purge_cmd(struct purge *p, int cmd, const char *key, size_t klen,
		     int argc, const char **argv, const size_t *lens)
{
	struct redis_conn *c = rtier_conn_for(key, klen);

	if (!c)
		return -EHOSTUNREACH;
	p->ref[cmd] = (struct purge_ref){ p, cmd };
	if (redis_cmd(c, on_purge_reply, &p->ref[cmd], argc, argv, lens))
		return -ENOMEM;
	p->outstanding++;
	p->sent = 1;
	rtier_mark_busy();
	return 0;
}

int rtier_purge(const char *target, size_t len, rtier_purge_fn *done, void *arg,
		int *was_local, int *err)
{
	char key[KEY_MAX], ekey[80];
	size_t klen, eklen;
	struct purge *p;

	*was_local = cache_remove(rt.local, target, len) > 0;
	*err = 0;
	STAT_ADD(rt.ctr->purges, 1);
	if (!rt.rc->url[0])
		return 0;
	for (p = purges; p < purges + MAX_PURGES && p->target; p++)
		;
	if (len > TARGET_MAX)
		*err = -E2BIG;
	else if (p == purges + MAX_PURGES)
		*err = -EBUSY;
	else if (!rtier_usable())
		*err = -EAGAIN;
	else if (!(p->target = malloc(len ? len : 1)))
		*err = -ENOMEM;
	if (*err)
		return 0;
	memcpy(p->target, target, len);
	p->len = len;
	p->done = done;
	p->arg = arg;
	p->local = *was_local;
	p->published = p->outstanding = p->err = p->unanswered = 0;
	p->sent = 0;
	klen = rtier_make_key(key, target, len);
	eklen = epoch_key(ekey);
	{
		const char *del[] = { "DEL", key }, *incr[] = { "INCR", ekey };
		size_t dlens[] = { 3, klen }, ilens[] = { 4, eklen };

		p->err = purge_cmd(p, P_DEL, key, klen, 2, del, dlens) ?:
				 purge_cmd(p, P_INCR, ekey, eklen, 2, incr,
					   ilens);
	}
	/* out at once; the replies are read in rtier_tick */
	rtier_pump(redis_mono_ms());
	rtier_watch_sync();
	return 1;
}

void rtier_purge_forget(void *arg)
{
	for (struct purge *p = purges; p < purges + MAX_PURGES; p++)
		if (p->target && p->arg == arg)
			p->arg = NULL;
}

int rtier_purging(void)
{
	for (struct purge *p = purges; p < purges + MAX_PURGES; p++)
		if (p->target)
			return 1;
	return 0;
}

int rtier_purge_ready(void)
{
	for (struct purge *p = purges; p < purges + MAX_PURGES; p++)
		if (p->target && !p->outstanding)
			return 1;
	return 0;
}

void rtier_purges_step(void)
{
	char key[KEY_MAX], ch[80];

	for (struct purge *p = purges; p < purges + MAX_PURGES; p++) {
		if (!p->target || p->outstanding)
			continue;
		if (!p->err && !p->published) {
			/* the count first: a host that misses the message
			 * finds it */
			const char *pub[] = { "PUBLISH", ch, p->target };
			size_t plens[] = { 7, channel(ch), p->len };

			/* in a cluster, any node passes a message on to all */
			p->published = 1;
			p->err = purge_cmd(p, P_PUBLISH, key,
					   rtier_make_key(key, p->target,
							  p->len),
					   3, pub, plens);
			if (!p->err)
				continue;
		}
		/* Redis answered (an error reply too): it is up */
		if (!p->unanswered && p->sent)
			rtier_breaker_log(breaker_success(&rt.bk), NULL);
		else if (!p->sent && rt.bk.state == BREAKER_HALF_OPEN)
			rtier_server_failed(-EIO); /* a probe that never went */
		if (p->arg)
			p->done(p->arg, p->local, p->err,
				p->err ? 0 : p->n[P_DEL],
				p->err ? 0 : p->n[P_PUBLISH]);
		free(p->target);
		p->target = NULL;
	}
}

/* Drop every object of the local tier: purges may have gone unheard. */
static void forget_local(const char *why)
{
	int n = cache_forget_all(rt.local);

	STAT_ADD(rt.ctr->purge_resets, 1);
	pr_info("redis: purge channel: %s: %d local objects dropped", why,
		n < 0 ? 0 : n);
}

#define LISTENER_QUIET_MS 1000 /* a worker silent this long listens not */

/* Whether another worker of this host listens on the purge channel now. */
static int host_listens(void)
{
	long long now = redis_mono_ms();

	for (uint32_t i = 0; i < STAT_GET(wk.sh->slot_end) && i < MAX_SLOTS;
	     i++) {
		const struct worker_slot *s = &wk.sh->slots[i];

		if (s != wk.me && STAT_GET(s->pid) &&
		    STAT_GET(s->redis.purge_listening) &&
		    now - (long long)STAT_GET(s->beat) < LISTENER_QUIET_MS)
			return 1;
	}
	return 0;
}

/* The highest purge count a worker of this host heard up to, plus one
 * (slots of workers gone keep theirs); 0: none known. */
static uint64_t host_heard(void)
{
	uint64_t h = 0;

	for (uint32_t i = 0; i < STAT_GET(wk.sh->slot_end) && i < MAX_SLOTS;
	     i++) {
		uint64_t v = STAT_GET(wk.sh->slots[i].redis.purge_heard);

		if (v > h)
			h = v;
	}
	return h;
}

/* What this worker has heard, for the others */
static void publish_heard(void)
{
	STAT_SET(rt.ctr->purge_heard, epoch < 0 ? 0 : epoch + heard + 1);
}

/* The epoch read after subscribing: purges missed while the channel was
 * down?  The first read after a worker's start only sets the count. */
static void on_epoch(void *arg, const struct resp *r)
{
	long long e = 0;
	int bad = !r;
	char num[24], *end;

	epoch_asked = 0;
	if (r && r->type == RESP_BULK && r->len < sizeof(num)) {
		memcpy(num, r->str, r->len);
		num[r->len] = 0;
		e = strtoll(num, &end, 10);
		bad = end == num || *end || e < 0;
	} else if (r && r->type != RESP_NIL) {
		bad = 1; /* an error, or not a count */
	}
	if (bad) {
		if (lost)
			forget_local("the purge count cannot be read");
		lost = 0;
		epoch = -1;
		/* no answer: asked again on the next tick; a wrong one
		 * makes the next loss of the channel drop everything */
		epoch_due = !r;
		return;
	}
	if (lost && e != epoch + heard) {
		forget_local(epoch < 0 ? "purges may have been missed" :
					 "purges were missed");
	} else if (!lost && epoch < 0 && !host_listens()) {
		uint64_t h = host_heard();

		if (h && (uint64_t)e + 1 != h)
			forget_local("purges went by while no worker of this "
				     "host listened");
	}
	lost = 0;
	epoch = e;
	heard = 0;
	epoch_due = 0;
	publish_heard();
	STAT_SET(rt.ctr->purge_listening, 1);
}

/* Read the epoch, once subscribed and while the breaker is closed; a
 * worker that cannot ask Redis for it within two --redis-retry of
 * subscribing drops what it may have missed. */
static void epoch_read(long long now)
{
	char ekey[80];
	size_t eklen = epoch_key(ekey);
	const char *argv[] = { "GET", ekey };
	size_t lens[] = { 3, eklen };
	struct redis_conn *c = NULL;

	if (!subscribed || !epoch_due || epoch_asked)
		return;
	if (rt.bk.state == BREAKER_CLOSED)
		c = rtier_conn_for(ekey, eklen);
	if (!c || redis_cmd(c, on_epoch, NULL, 2, argv, lens)) {
		if (lost && now - subscribed_at > 2ll * rt.rc->retry_ms) {
			forget_local("the purge count cannot be read");
			lost = 0;
			epoch = -1;
		}
		return;
	}
	epoch_asked = 1;
	rtier_mark_busy();
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
	heard++;
	publish_heard();
	STAT_ADD(rt.ctr->purge_msgs, 1);
}

static void on_subscribed(void *arg, const struct resp *r)
{
	if (r && r->type == RESP_ERROR)
		redis_close(&rt.sub, "SUBSCRIBE refused");
	else if (r) {
		subscribed = epoch_due = 1;
		subscribed_at = redis_mono_ms();
	}
}

/* Keep the subscription to the purge channel, and read what it brings. */
void rtier_sub_tick(long long now)
{
	char ch[80];

	if (rt.sub.state == REDIS_DOWN && subscribed) {
		subscribed = 0;
		lost = 1;
		STAT_SET(rt.ctr->purge_listening, 0);
	}
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
	epoch_read(now);
}
