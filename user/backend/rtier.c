// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rtier.c - the Redis tier of lb-backend's cache (see rtier.h): the
 * lookups of a batch, the stores, and single flight across hosts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "log.h"
#include "rtier_int.h"
#include "rvalue.h"

/* Where a lookup stands. */
enum lookup_state {
	L_ASK, /* asked Redis: replies awaited, or in to be read */
	L_HOLDER, /* we hold its lock: fetch, store, unlock */
	L_WAIT, /* another host holds its lock: wait for its value */
	L_ORIGIN, /* fetch without the lock (Redis unusable, wait over) */
	L_DONE, /* answered */
};

/*
 * A lookup in flight: one target of a batch, from its first command to
 * Redis until it is answered.  The worker goes on with its other
 * connections meanwhile; the batch passes the target again each round and
 * gets its answer once the replies are in, or once they are overdue.
 */
struct lookup {
	char *target; /* a copy; NULL: the slot is free */
	size_t len;
	int state; /* enum lookup_state */
	int asks; /* times asked: after the first, a hit is another's fetch */
	int outstanding; /* replies still to come (or to fail) */
	int hops; /* redirections followed in this ask */
	int unsent; /* cluster: held back until the slot map comes */
	int remapped; /* cluster: a new map was asked for, for this one */
	long long deadline; /* ms: the replies of this ask are due */
	long long wait_until; /* L_WAIT: another host's fetch awaited until */
	long long next_ask; /* L_WAIT: ask again then */
	unsigned long seen; /* the last round that passed it */
	int got; /* replies in: GET, PTTL, SET NX */
	unsigned int answered; /* 1 << cmd_kind of each reply in */
	char *val; /* the GET's bulk, copied */
	size_t vlen;
	int toobig;
	long long pttl;
	int lock; /* 1: SET NX took the lock, 0: another holds it */
	int error; /* an error reply, or a command not sent */
	struct cmd_ref {
		struct lookup *l;
		int kind; /* enum cmd_kind */
		int redirect; /* REDIRECT_*: the reply sent us elsewhere */
		unsigned int slot;
		char addr[300];
	} ref[3];
};

/* The commands of a lookup. */
enum cmd_kind { CMD_GET, CMD_PTTL, CMD_LOCK };

/* Lookups in flight: a batch has at most ORIGIN_BATCH leaders, and a few
 * more may be on their way out; when none is free, a target goes to the
 * origin without Redis. */
#define MAX_FLIGHTS (2 * ORIGIN_BATCH)
static struct lookup fl[MAX_FLIGHTS];
static unsigned long rounds; /* calls of rtier_lookup_many */

/* A reply to one of a lookup's commands (NULL: it never comes); a
 * redirection is kept for follow(), and is no answer yet. */
static void on_lookup(void *arg, const struct resp *r)
{
	struct cmd_ref *ref = arg;
	struct lookup *l = ref->l;

	l->outstanding--;
	if (!r)
		return;
	ref->redirect =
		rcluster_redirect(r, &ref->slot, ref->addr, sizeof(ref->addr));
	if (ref->redirect)
		return;
	l->got++;
	if (r->type != RESP_ERROR)
		l->answered |= 1u << ref->kind;
	switch (ref->kind) {
	case CMD_GET:
		if (r->type == RESP_BULK) {
			l->val = malloc(r->len ? r->len : 1);
			if (l->val) {
				memcpy(l->val, r->str, r->len);
				l->vlen = r->len;
			}
		} else if (r->type == RESP_TOOBIG) {
			l->toobig = 1;
		} else if (r->type != RESP_NIL) {
			l->error = 1;
		}
		break;
	case CMD_PTTL:
		if (r->type == RESP_INT) {
			l->pttl = r->integer;
		} else {
			l->error = 1;
			l->answered &= ~(1u << CMD_PTTL);
		}
		break;
	default:
		if (r->type == RESP_STATUS)
			l->lock = 1;
		else if (r->type != RESP_NIL)
			l->error = 1;
	}
}

/* A stored value into an origin reply; 0, or -EBADMSG if it is not one we
 * may serve. */
static int to_reply(struct lookup *l, const struct origin_limits *lim,
		    struct origin_reply *r)
{
	struct rvalue v;
	const char *why;
	char key[KEY_MAX];
	size_t klen = rtier_make_key(key, l->target, l->len);

	if (rvalue_decode(l->val, l->vlen, key, klen, &v, &why) ||
	    (why = "headers too long", v.hdrs_len > sizeof(r->hdrs))) {
		pr_debug("redis: %.*s: refused: %s", (int)l->len, l->target,
			 why);
		STAT_ADD(rt.ctr->corrupt, 1);
		return -EBADMSG;
	}
	memset(r, 0, sizeof(*r));
	r->body_fd = -1;
	r->status = v.status;
	memcpy(r->hdrs, v.hdrs, v.hdrs_len);
	r->hdrs_len = v.hdrs_len;
	r->body = malloc(v.body_len ? v.body_len : 1);
	if (!r->body)
		return -ENOMEM;
	memcpy(r->body, v.body, v.body_len);
	r->body_len = v.body_len;
	/* whole seconds left; under one: for the waiting requests only */
	/* -1: stored without an expiry (not by us); -2: it just expired */
	r->ttl = l->pttl >= 0  ? l->pttl / 1000 :
		 l->pttl == -1 ? lim->def_ttl :
				 0;
	return 0;
}

static void on_store(void *arg, const struct resp *r)
{
	if (r && r->type == RESP_ERROR) {
		STAT_ADD(rt.ctr->errors, 1);
		pr_debug("redis: store refused: %.*s", (int)r->len, r->str);
	}
}

/* Queue the SET of a cacheable origin answer; not waited for. */
static void store(const struct origin_target *t, const struct origin_reply *r)
{
	char key[KEY_MAX], px[24];
	struct redis_conn *c;
	size_t klen, vlen;
	char *val;

	if (r->error || r->ttl <= 0 || r->body_fd >= 0 || t->len > TARGET_MAX)
		return;
	vlen = rvalue_size(strlen(rt.rc->prefix) + t->len, r->hdrs_len,
			   r->body_len);
	if (vlen > rt.rc->max_object) {
		STAT_ADD(rt.ctr->too_big, 1);
		return;
	}
	if (rt.bk.state != BREAKER_CLOSED)
		return;
	klen = rtier_make_key(key, t->target, t->len);
	c = rtier_conn_for(key, klen);
	if (!c)
		return;
	val = malloc(vlen);
	if (!val)
		return;
	if (!rvalue_encode(val, key, klen, r->status, r->hdrs, r->hdrs_len,
			   r->body, r->body_len)) {
		const char *argv[] = { "SET", key, val, "PX", px };
		size_t lens[] = { 3, klen, vlen, 2, 0 };

		lens[4] = snprintf(px, sizeof(px), "%lld", r->ttl * 1000ll);
		if (!redis_cmd(c, on_store, NULL, 5, argv, lens)) {
			STAT_ADD(rt.ctr->stores, 1);
			rtier_mark_busy();
		}
	}
	free(val);
}

static size_t lock_key(char *k, const char *target, size_t len)
{
	size_t n = (size_t)snprintf(k, 80, "%slock:", rt.rc->prefix);

	memcpy(k + n, target, len);
	return n + len;
}

/* This process's lock token: a lock is only ever released by its taker. */
static const char *token(size_t *len)
{
	static char tok[300];
	static size_t n;

	if (!n) {
		char host[256] = "";

		gethostname(host, sizeof(host) - 1);
		n = snprintf(tok, sizeof(tok), "%s/%d", host, (int)getpid());
	}
	*len = n;
	return tok;
}

/* Queue command kind of lookup l on c (or on the node its key's slot
 * belongs to); with asking, after ASKING (an ASK redirection). */
static int send_cmd(struct lookup *l, int kind, struct redis_conn *c,
		    int asking)
{
	static const char *const asking_argv[] = { "ASKING" };
	char key[KEY_MAX], px[24];
	size_t toklen, klen;
	const char *tok = token(&toklen);
	const char *argv[6];
	size_t lens[6];
	int argc;

	if (kind == CMD_LOCK) {
		klen = lock_key(key, l->target, l->len);
		argv[0] = "SET";
		argv[2] = tok;
		argv[3] = "NX";
		argv[4] = "PX";
		argv[5] = px;
		lens[0] = 3;
		lens[2] = toklen;
		lens[3] = lens[4] = 2;
		lens[5] = snprintf(px, sizeof(px), "%u", rt.rc->lock_wait_ms);
		argc = 6;
	} else {
		klen = rtier_make_key(key, l->target, l->len);
		argv[0] = kind == CMD_GET ? "GET" : "PTTL";
		lens[0] = strlen(argv[0]);
		argc = 2;
	}
	argv[1] = key;
	lens[1] = klen;
	if (!c)
		c = rtier_conn_for(key, klen);
	l->ref[kind] = (struct cmd_ref){ .l = l, .kind = kind };
	if (!c || (asking && redis_cmdv(c, NULL, NULL, 1, asking_argv)))
		return -ENOTCONN;
	return redis_cmd(c, on_lookup, &l->ref[kind], argc, argv, lens);
}

/* After ask(): a hit answers r[i]; else the key is ours to fetch, or
 * another host's, or (the answers being unusable) the origin's. */
static void classify(struct lookup *l, const struct origin_limits *lim,
		     struct origin_reply *r, unsigned char *from_redis)
{
	int first = l->asks == 1;

	/* a value with its TTL is a hit, whatever became of the lock (its
	 * master may be gone) */
	if ((l->answered & 3) == 3 && l->val && !to_reply(l, lim, r)) {
		*from_redis = 1;
		STAT_ADD(rt.ctr->hits, 1);
		if (!first)
			STAT_ADD(rt.ctr->lock_served, 1);
		if (l->lock)
			l->state = L_HOLDER; /* released below, not fetched */
		else
			l->state = L_DONE;
		return;
	}
	if (l->error)
		STAT_ADD(rt.ctr->errors, 1);
	if (l->toobig)
		STAT_ADD(rt.ctr->too_big, 1);
	if (first)
		STAT_ADD(rt.ctr->misses, 1);
	if (l->got == 3 && l->lock)
		l->state = L_HOLDER;
	else if (l->got == 3 && !l->error)
		l->state = L_WAIT;
	else
		l->state = L_ORIGIN;
}

/* Release our lock on target, if it is still ours; after the store, so
 * waiters find the value before the lock is gone. */
static void unlock(const char *target, size_t len)
{
	static const char script[] =
		"if redis.call('get', KEYS[1]) == ARGV[1] then "
		"return redis.call('del', KEYS[1]) end return 0";
	char lkey[KEY_MAX];
	size_t toklen, lklen = lock_key(lkey, target, len);
	const char *tok = token(&toklen);
	const char *argv[] = { "EVAL", script, "1", lkey, tok };
	size_t lens[] = { 4, sizeof(script) - 1, 1, lklen, toklen };

	struct redis_conn *c = rtier_conn_for(lkey, lklen);

	if (c && !redis_cmd(c, on_store, NULL, 5, argv, lens))
		rtier_mark_busy();
}

/* Send the commands of l that the cluster redirected once more, where it
 * said (after ASKING for an ASK); 1 if any went. */
static int follow(struct lookup *l, long long now)
{
	int again = 0;

	for (int k = CMD_GET; k <= CMD_LOCK; k++) {
		struct cmd_ref *ref = &l->ref[k];
		int node, redirect = ref->redirect;

		if (!redirect)
			continue;
		if (l->hops >= 3) {
			l->error = 1; /* going round in circles */
			continue;
		}
		node = rtier_node_find(ref->addr);
		if (redirect == REDIRECT_MOVED) {
			/* this slot now; the whole map soon */
			rt.slot_node[ref->slot] = node < 0 ? NO_NODE : node;
			rt.map_stale = 1;
		}
		STAT_ADD(rt.ctr->redirects, 1);
		if (node < 0 || send_cmd(l, k, rtier_node_conn(node),
					 redirect == REDIRECT_ASK)) {
			l->error = 1;
		} else {
			l->outstanding++;
			again = 1;
		}
	}
	if (again) {
		l->hops++;
		l->deadline = now + rt.rc->timeout_ms;
	}
	return again;
}

/* Whether the masters of l's key and of its lock can be reached. */
static int reachable(const struct lookup *l)
{
	char key[KEY_MAX];

	if (!rtier_conn_for(key, rtier_make_key(key, l->target, l->len)))
		return 0;
	return rtier_conn_for(key, lock_key(key, l->target, l->len)) != NULL;
}

/* Ask Redis about l: its value, the value's TTL, and its lock (SET NX PX:
 * taken if nobody holds it).  Nothing is waited for. */
static void ask(struct lookup *l, long long now)
{
	free(l->val);
	l->val = NULL;
	l->got = l->lock = l->error = l->toobig = l->hops = 0;
	l->answered = 0;
	l->state = L_ASK;
	if (!l->unsent) {
		l->asks++;
		l->deadline = now + rt.rc->timeout_ms;
	}
	/* the slot map is being asked for after a MOVED or a failure: the
	 * old one may send this to a master that is gone */
	l->unsent = rt.rc->cluster && rt.map_asking && now < l->deadline;
	if (!l->unsent && rt.rc->cluster && !l->remapped && !reachable(l)) {
		/* a master of the map cannot be reached: a new map first */
		l->remapped = 1;
		rt.map_stale = 1;
		rtier_map_refresh();
		l->unsent = rt.map_asking;
	}
	if (l->unsent)
		return;
	for (int k = CMD_GET; k <= CMD_LOCK; k++) {
		if (send_cmd(l, k, NULL, 0)) {
			l->error = 1;
			rt.map_stale = rt.rc->cluster;
		} else {
			l->outstanding++;
		}
	}
}

/* The lookup of target t: the one in flight, or a new one (*fresh).  NULL
 * when none is free. */
static struct lookup *flight_get(const struct origin_target *t, int *fresh)
{
	struct lookup *l, *empty = NULL;

	*fresh = 0;
	for (l = fl; l < fl + MAX_FLIGHTS; l++) {
		if (!l->target) {
			if (!empty)
				empty = l;
		} else if (l->len == t->len &&
			   !memcmp(l->target, t->target, t->len)) {
			return l;
		}
	}
	if (!empty)
		return NULL;
	memset(empty, 0, sizeof(*empty));
	empty->target = malloc(t->len ? t->len : 1);
	if (!empty->target)
		return NULL;
	memcpy(empty->target, t->target, t->len);
	empty->len = t->len;
	*fresh = 1;
	return empty;
}

/* Only a lookup with no reply to come: callbacks point into it. */
static void flight_free(struct lookup *l)
{
	free(l->val);
	free(l->target);
	memset(l, 0, sizeof(*l));
}

/*
 * Move what the sockets allow, and fail the server whose replies are
 * overdue.  Reading first: replies that came while the worker was busy
 * elsewhere (an origin fetch) are not late.
 */
void rtier_pump(long long now)
{
	unsigned int i, before, pending = 0;
	int progress = 0;

	for (i = 0; i < rt.nnodes; i++) {
		struct redis_conn *c = &rt.nodes[i].c;
		int err;

		if (c->state == REDIS_DOWN)
			continue;
		before = redis_pending(c);
		err = redis_io(c);
		if (err && rt.rc->cluster && err != -ETIMEDOUT) {
			/* one master gone (closed now, its replies failed):
			 * its keys go to the origin until a new map names
			 * its successor; the others are still asked */
			STAT_ADD(rt.ctr->errors, 1);
			pr_debug("redis cluster: %s: %s", rt.nodes[i].name,
				 c->err);
			rt.nodes[i].down_until = now + rt.rc->retry_ms;
			rt.nodes[i].failed = 1;
			rt.map_stale = 1;
			continue;
		}
		if (err) {
			rtier_server_failed(err);
			return;
		}
		if (c->state == REDIS_UP)
			rt.nodes[i].failed = 0;
		progress |= redis_pending(c) < before;
		pending += redis_pending(c);
	}
	for (i = 0; i < MAX_FLIGHTS && rt.map_stale && !rt.map_asking; i++)
		if (fl[i].target && fl[i].unsent)
			rtier_map_refresh(); /* the node asked failed: the next */
	if (rt.probe_refused) {
		rt.probe_refused = 0;
		rtier_server_failed(-EPROTO);
		return;
	}
	if (!pending)
		rt.busy_since = 0;
	else if (progress)
		rt.busy_since = now;
	if (rt.busy_since && now - rt.busy_since > rt.rc->timeout_ms) {
		rtier_server_failed(-ETIMEDOUT);
		return;
	}
	for (i = 0; i < MAX_FLIGHTS; i++)
		if (fl[i].target && fl[i].outstanding &&
		    now >= fl[i].deadline) {
			rtier_server_failed(-ETIMEDOUT);
			return;
		}
}

/*
 * One round of a lookup: 1 while it waits for Redis (asked, or waiting for
 * another host's fetch); 0 when it is answered from Redis (r, from_redis)
 * or is to be fetched (L_HOLDER, L_ORIGIN).
 */
static int advance(struct lookup *l, long long now,
		   const struct origin_limits *lim, struct origin_reply *r,
		   unsigned char *from_redis)
{
	if (l->state == L_ASK && l->unsent) {
		if (rt.bk.state == BREAKER_OPEN) {
			l->unsent = 0; /* the map never came: the origin */
		} else if (rt.map_asking && now < l->deadline) {
			return 1;
		} else {
			ask(l, now); /* with the map there is, when overdue */
			if (l->unsent)
				return 1;
		}
	}
	if (l->state == L_ASK) {
		if (l->outstanding || (rt.rc->cluster && follow(l, now)))
			return 1;
		if (l->got == 3)
			rtier_breaker_log(breaker_success(&rt.bk), NULL);
		else if (rt.bk.state == BREAKER_HALF_OPEN)
			rtier_server_failed(-EIO); /* a probe that never went */
		classify(l, lim, r, from_redis);
		if (l->state == L_WAIT) {
			if (!l->wait_until)
				l->wait_until = now + rt.rc->lock_wait_ms;
			l->next_ask = now + 5;
		}
	}
	if (l->state != L_WAIT)
		return 0;
	if (now >= l->wait_until || rt.bk.state != BREAKER_CLOSED) {
		STAT_ADD(rt.ctr->lock_expired, 1);
		l->state = L_ORIGIN;
		return 0;
	}
	if (now >= l->next_ask)
		ask(l, now);
	return 1;
}

/* Lookups in no batch any more (their connection went, or the batch
 * changed): dropped once nothing of theirs is out. */
static void flights_collect(void)
{
	for (unsigned int i = 0; i < MAX_FLIGHTS; i++)
		if (fl[i].target && !fl[i].outstanding &&
		    rounds - fl[i].seen > 2)
			flight_free(&fl[i]);
}

/*
 * Single flight across hosts: a key missing from Redis is fetched by the
 * host whose SET NX took its lock (PREFIXlock:TARGET, for --redis-lock-wait
 * at most).  The others ask Redis again every 5 ms meanwhile; when the
 * lock goes away without a value (the answer was not to be shared, or the
 * holder died and its lock ran out) one of them takes it over, and when
 * the wait is over they fetch on their own.  None of this holds the worker:
 * a waiting target stays parked in its batch.
 */
int rtier_lookup_many(const struct origin_target *t, unsigned int n,
		      const struct origin_limits *lim, struct origin_reply *r,
		      unsigned char *from_redis, unsigned char *parked,
		      unsigned char *holder)
{
	struct lookup *l[ORIGIN_BATCH];
	unsigned int i, m = 0;
	long long now = redis_mono_ms();

	memset(from_redis, 0, n);
	memset(parked, 0, n);
	memset(holder, 0, n);
	rounds++;
	rtier_pump(now);
	flights_collect();
	for (i = 0; i < n; i++) {
		int fresh;

		l[i] = NULL;
		if (t[i].len > TARGET_MAX)
			continue; /* no lookup: straight to the origin */
		l[i] = flight_get(&t[i], &fresh);
		if (!l[i])
			continue;
		l[i]->seen = rounds;
		if (!fresh)
			continue;
		if (rtier_usable()) {
			ask(l[i], now);
		} else {
			STAT_ADD(rt.ctr->skipped, 1);
			flight_free(l[i]);
			l[i] = NULL;
		}
	}
	/* the commands out at once: the worker does not wait for them */
	rtier_pump(now);
	for (i = 0; i < n; i++) {
		if (l[i] && advance(l[i], now, lim, &r[i], &from_redis[i])) {
			parked[i] = 1;
			continue;
		}
		if (l[i] && l[i]->state == L_HOLDER && from_redis[i]) {
			/* a value and our lock: stored just now by a holder
			 * whose lock ran out */
			unlock(t[i].target, t[i].len);
			l[i]->state = L_DONE;
		}
		if (!l[i] || l[i]->state == L_HOLDER ||
		    l[i]->state == L_ORIGIN) {
			holder[i] = l[i] && l[i]->state == L_HOLDER;
			m++;
		}
		if (l[i])
			flight_free(l[i]);
	}
	STAT_ADD(rt.ctr->origin, m);
	rtier_pump(redis_mono_ms());
	rtier_watch_sync();
	return 0;
}

void rtier_fetched(const struct origin_target *t, const struct origin_reply *r,
		   int holder)
{
	store(t, r);
	if (holder && rt.bk.state == BREAKER_CLOSED)
		unlock(t->target, t->len);
	rtier_pump(redis_mono_ms());
	rtier_watch_sync();
}

int rtier_wait_ms(void)
{
	long long now, next;

	if (!rt.rc || !rt.rc->url[0])
		return 0;
	now = redis_mono_ms();
	if (rtier_purge_ready())
		return 0;
	next = now + 100;
	if (rt.busy_since && rt.busy_since + rt.rc->timeout_ms < next)
		next = rt.busy_since + rt.rc->timeout_ms + 1;
	for (unsigned int i = 0; i < MAX_FLIGHTS; i++) {
		const struct lookup *l = &fl[i];
		long long due;

		if (!l->target)
			continue;
		if (l->unsent && !rt.map_asking)
			due = now; /* the map is in */
		else if (l->outstanding || l->unsent)
			due = l->deadline;
		else if (l->state == L_WAIT)
			due = l->next_ask < l->wait_until ? l->next_ask :
							    l->wait_until;
		else if (rounds - l->seen <= 1)
			due = now; /* replies in, not yet taken */
		else
			continue;
		if (due < next)
			next = due;
	}
	return next <= now ? 0 : (int)(next - now);
}
