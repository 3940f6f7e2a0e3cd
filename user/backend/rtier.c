// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rtier.c - the Redis tier of lb-backend's cache (see rtier.h): lookups of
 * a batch, stores, the circuit breaker, and its counters.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "cache.h"
#include "json.h"
#include "log.h"
#include "prom.h"
#include "rtier.h"
#include "rvalue.h"

#define KEY_MAX (64 + 8192 + 16) /* prefix + the longest request line */
/* The longest target a key (or a lock key: prefix, "lock:", target) is
 * made of; the parser's line limit keeps targets shorter, and a longer one
 * would only ever go to the origin. */
#define TARGET_MAX (KEY_MAX - 64 - 16)

static const struct redis_config *rc;
static struct rtier_counters *ctr;
static struct redis_conn conn;
static struct breaker bk;
static long long busy_since; /* replies awaited since (ms), 0: none */
static struct cache *local;
static struct redis_conn sub; /* subscribed to the purge channel */
static long long sub_retry_at;

void rtier_config_init(struct redis_config *c)
{
	memset(c, 0, sizeof(*c));
	c->timeout_ms = 5;
	c->retry_ms = 1000;
	c->lock_wait_ms = 2000;
	c->max_object = 1 << 20;
	strcpy(c->prefix, "lb:");
}

int rtier_config_check(struct redis_config *c)
{
	char err[400];

	if (!c->url[0])
		return 0;
	if (redis_url_parse(c->url, &c->addr, err, sizeof(err))) {
		fprintf(stderr, "lb-backend: --redis: %s\n", err);
		return -EINVAL;
	}
	return 0;
}

void rtier_worker_init(const struct redis_config *config,
		       struct rtier_counters *counters, struct cache *cache)
{
	rc = config;
	ctr = counters;
	local = cache;
	redis_init(&sub, 65536);
	/* a reply larger than any value we store is never read in */
	redis_init(&conn, rc->max_object);
	bk = (struct breaker){ .open_ms = rc->retry_ms };
	STAT_SET(ctr->breaker, BREAKER_CLOSED);
}

static void breaker_log(int changed, const char *why)
{
	if (changed < 0)
		return;
	STAT_SET(ctr->breaker, changed);
	if (changed == BREAKER_OPEN) {
		STAT_ADD(ctr->breaker_opened, 1);
		pr_warn("redis %s: %s; going to the origin without it for %u ms",
			rc->addr.text, why, rc->retry_ms);
	} else {
		pr_info("redis %s: answering again", rc->addr.text);
	}
}

/* The server failed (err: -ETIMEDOUT or another): close, count, open. */
static void server_failed(int err)
{
	long long now = redis_mono_ms();
	char why[300];

	snprintf(why, sizeof(why), "%s", conn.err[0] ? conn.err : "failed");
	if (conn.state != REDIS_DOWN)
		redis_close(&conn, NULL);
	STAT_ADD(*(err == -ETIMEDOUT ? &ctr->timeouts : &ctr->errors), 1);
	breaker_log(breaker_failure(&bk, now), why);
	STAT_SET(ctr->breaker, bk.state);
	busy_since = 0;
}

/* Whether Redis may be asked now; connects when needed. */
static int usable(void)
{
	long long now = redis_mono_ms();
	int err;

	if (!breaker_allow(&bk, now)) {
		STAT_SET(ctr->breaker, bk.state);
		return 0;
	}
	STAT_SET(ctr->breaker, bk.state);
	if (conn.state != REDIS_DOWN)
		return 1;
	err = redis_connect(&conn, &rc->addr);
	if (err) {
		server_failed(err);
		return 0;
	}
	return 1;
}

static size_t make_key(char *k, const char *target, size_t len)
{
	size_t p = strlen(rc->prefix);

	memcpy(k, rc->prefix, p);
	memcpy(k + p, target, len);
	return p + len;
}

/* Where a key of the batch stands. */
enum lookup_state {
	L_ASK, /* to look up in Redis */
	L_HOLDER, /* we hold its lock: fetch, store, unlock */
	L_WAIT, /* another host holds its lock: wait for its value */
	L_ORIGIN, /* fetch without the lock (Redis unusable, wait over) */
	L_DONE, /* fetched */
};

struct lookup {
	const char *target;
	size_t len;
	int state; /* enum lookup_state */
	int got; /* replies in: GET, PTTL, SET NX */
	char *val; /* the GET's bulk, copied */
	size_t vlen;
	int toobig;
	long long pttl;
	int lock; /* 1: SET NX took the lock, 0: another holds it */
	int error; /* an error reply */
};

/* The replies of ask(), in their order: GET, PTTL, SET NX. */
static void on_lookup(void *arg, const struct resp *r)
{
	struct lookup *l = arg;

	if (!r)
		return;
	switch (l->got++) {
	case 0:
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
	case 1:
		if (r->type == RESP_INT)
			l->pttl = r->integer;
		else
			l->error = 1;
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
	size_t klen = make_key(key, l->target, l->len);

	if (rvalue_decode(l->val, l->vlen, key, klen, &v, &why) ||
	    (why = "headers too long", v.hdrs_len > sizeof(r->hdrs))) {
		pr_debug("redis: %.*s: refused: %s", (int)l->len, l->target,
			 why);
		STAT_ADD(ctr->corrupt, 1);
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
		STAT_ADD(ctr->errors, 1);
		pr_debug("redis: store refused: %.*s", (int)r->len, r->str);
	}
}

/* Queue the SET of a cacheable origin answer; not waited for. */
static void store(const struct origin_target *t, const struct origin_reply *r)
{
	char key[KEY_MAX], px[24];
	size_t klen, vlen;
	char *val;

	if (r->error || r->ttl <= 0 || r->body_fd >= 0 || t->len > TARGET_MAX)
		return;
	vlen = rvalue_size(strlen(rc->prefix) + t->len, r->hdrs_len,
			   r->body_len);
	if (vlen > rc->max_object) {
		STAT_ADD(ctr->too_big, 1);
		return;
	}
	if (bk.state != BREAKER_CLOSED || conn.state == REDIS_DOWN)
		return;
	klen = make_key(key, t->target, t->len);
	val = malloc(vlen);
	if (!val)
		return;
	if (!rvalue_encode(val, key, klen, r->status, r->hdrs, r->hdrs_len,
			   r->body, r->body_len)) {
		const char *argv[] = { "SET", key, val, "PX", px };
		size_t lens[] = { 3, klen, vlen, 2, 0 };

		lens[4] = snprintf(px, sizeof(px), "%lld", r->ttl * 1000ll);
		if (!redis_cmd(&conn, on_store, NULL, 5, argv, lens)) {
			STAT_ADD(ctr->stores, 1);
			if (!busy_since)
				busy_since = redis_mono_ms();
		}
	}
	free(val);
}

static size_t lock_key(char *k, const char *target, size_t len)
{
	size_t n = (size_t)snprintf(k, 80, "%slock:", rc->prefix);

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

/* Wait for what was asked, at most --redis-timeout; the outcome moves
 * the breaker.  0, or -errno after the server failed. */
static int settle(void)
{
	int err = redis_wait(&conn, redis_mono_ms() + rc->timeout_ms);

	if (err) {
		server_failed(err);
		return err;
	}
	busy_since = 0;
	breaker_log(breaker_success(&bk), NULL);
	return 0;
}

/* Ask Redis about every key in state `which`: its value, the value's TTL,
 * and its lock (SET NX PX: taken if nobody holds it).  0, or -errno after
 * the server failed. */
static int ask(struct lookup *l, unsigned int n, int which)
{
	char key[KEY_MAX], lkey[KEY_MAX], px[24];
	size_t toklen, pxlen;
	const char *tok = token(&toklen);
	unsigned int i;

	pxlen = snprintf(px, sizeof(px), "%u", rc->lock_wait_ms);
	for (i = 0; i < n; i++) {
		if (l[i].state != which)
			continue;
		free(l[i].val);
		l[i].val = NULL;
		l[i].got = l[i].lock = l[i].error = l[i].toobig = 0;
		size_t klen = make_key(key, l[i].target, l[i].len);
		size_t lklen = lock_key(lkey, l[i].target, l[i].len);
		const char *get[] = { "GET", key };
		const char *pttl[] = { "PTTL", key };
		const char *set[] = { "SET", lkey, tok, "NX", "PX", px };
		size_t glens[] = { 3, klen }, plens[] = { 4, klen };
		size_t slens[] = { 3, lklen, toklen, 2, 2, pxlen };

		if (redis_cmd(&conn, on_lookup, &l[i], 2, get, glens) ||
		    redis_cmd(&conn, on_lookup, &l[i], 2, pttl, plens) ||
		    redis_cmd(&conn, on_lookup, &l[i], 6, set, slens))
			break;
	}
	return settle();
}

/* After ask(): a hit answers r[i]; else the key is ours to fetch, or
 * another host's, or (the answers being unusable) the origin's. */
static void classify(struct lookup *l, const struct origin_limits *lim,
		     struct origin_reply *r, unsigned char *from_redis)
{
	int first = l->state == L_ASK;

	if (l->got == 3 && !l->error && l->val && !to_reply(l, lim, r)) {
		*from_redis = 1;
		STAT_ADD(ctr->hits, 1);
		if (!first)
			STAT_ADD(ctr->lock_served, 1);
		if (l->lock)
			l->state = L_HOLDER; /* released below, not fetched */
		else
			l->state = L_DONE;
		return;
	}
	if (l->error)
		STAT_ADD(ctr->errors, 1);
	if (l->toobig)
		STAT_ADD(ctr->too_big, 1);
	if (first)
		STAT_ADD(ctr->misses, 1);
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

	redis_cmd(&conn, on_store, NULL, 5, argv, lens);
}

/* Fetch the keys we hold or must fetch anyway; store and unlock. */
static void fetch(const struct origin *o, const struct origin_target *t,
		  unsigned int n, const struct origin_limits *lim,
		  struct origin_reply *r, const unsigned char *from_redis,
		  struct lookup *l)
{
	static struct origin_reply rep[ORIGIN_BATCH];
	struct origin_target miss[ORIGIN_BATCH];
	unsigned int i, m = 0, idx[ORIGIN_BATCH];

	for (i = 0; i < n; i++) {
		if (l[i].state == L_HOLDER && from_redis[i]) {
			/* a value and our lock: stored just now by a holder
			 * whose lock ran out */
			unlock(t[i].target, t[i].len);
			l[i].state = L_DONE;
		}
		if (l[i].state == L_HOLDER || l[i].state == L_ORIGIN) {
			idx[m] = i;
			miss[m++] = t[i];
		}
	}
	if (!m)
		return;
	STAT_ADD(ctr->origin, m);
	origin_fetch_many(o, miss, m, lim, rep);
	for (i = 0; i < m; i++) {
		struct lookup *x = &l[idx[i]];

		r[idx[i]] = rep[i];
		store(&miss[i], &r[idx[i]]);
		if (x->state == L_HOLDER && conn.state != REDIS_DOWN)
			unlock(x->target, x->len);
		x->state = L_DONE;
	}
	if (conn.state != REDIS_DOWN && redis_io(&conn))
		server_failed(-ECONNRESET);
}

/* Keys in state from move to state to; returns how many. */
static unsigned int move(struct lookup *l, unsigned int n, int from, int to)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n; i++)
		if (l[i].state == from) {
			l[i].state = to;
			k++;
		}
	return k;
}

/*
 * Single flight across hosts: a key missing from Redis is fetched by the
 * host whose SET NX took its lock (PREFIXlock:TARGET, for --redis-lock-wait
 * at most).  The others poll Redis for the value meanwhile; when the lock
 * goes away without a value (the answer was not to be shared, or the
 * holder died and its lock ran out) one of them takes it over, and when
 * the wait is over they fetch on their own.  The keys we hold are fetched
 * before we wait for those of others, so two hosts holding each other's
 * keys never wait for each other.
 */
int rtier_fetch_many(const struct origin *o, const struct origin_target *t,
		     unsigned int n, const struct origin_limits *lim,
		     struct origin_reply *r, unsigned char *from_redis)
{
	struct lookup l[ORIGIN_BATCH] = { 0 };
	long long deadline;
	unsigned int i, waiting;

	memset(from_redis, 0, n);
	if (!rc || !rc->url[0])
		return origin_fetch_many(o, t, n, lim, r);
	for (i = 0; i < n; i++) {
		l[i].target = t[i].target;
		l[i].len = t[i].len;
		l[i].state = L_ORIGIN;
	}
	if (usable()) {
		for (i = 0; i < n; i++)
			if (t[i].len <= TARGET_MAX)
				l[i].state = L_ASK;
		if (ask(l, n, L_ASK))
			move(l, n, L_ASK, L_ORIGIN);
		for (i = 0; i < n; i++)
			if (l[i].state == L_ASK)
				classify(&l[i], lim, &r[i], &from_redis[i]);
	} else {
		STAT_ADD(ctr->skipped, n);
	}
	fetch(o, t, n, lim, r, from_redis, l);
	deadline = redis_mono_ms() + rc->lock_wait_ms;
	while ((waiting = move(l, n, L_WAIT, L_WAIT))) {
		long long now = redis_mono_ms();

		if (now >= deadline || conn.state == REDIS_DOWN ||
		    bk.state != BREAKER_CLOSED) {
			STAT_ADD(ctr->lock_expired, waiting);
			move(l, n, L_WAIT, L_ORIGIN);
			break;
		}
		poll(NULL, 0, deadline - now < 5 ? deadline - now : 5);
		if (ask(l, n, L_WAIT)) {
			move(l, n, L_WAIT, L_ORIGIN);
			break;
		}
		for (i = 0; i < n; i++)
			if (l[i].state == L_WAIT)
				classify(&l[i], lim, &r[i], &from_redis[i]);
		/* keys whose lock we took over: fetch them now */
		fetch(o, t, n, lim, r, from_redis, l);
	}
	fetch(o, t, n, lim, r, from_redis, l);
	for (i = 0; i < n; i++)
		free(l[i].val);
	return 0;
}

/* ---------------------------------------------------------------- purge */

static size_t channel(char *ch)
{
	return (size_t)snprintf(ch, 80, "%spurge", rc->prefix);
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
	char key[KEY_MAX], ch[80];
	size_t klen, chlen;
	int err;

	*was_local = cache_remove(local, target, len) > 0;
	*deleted = *receivers = 0;
	STAT_ADD(ctr->purges, 1);
	if (!rc->url[0])
		return 0;
	if (len > TARGET_MAX)
		return -E2BIG;
	if (!usable())
		return -EAGAIN;
	klen = make_key(key, target, len);
	chlen = channel(ch);
	{
		const char *del[] = { "DEL", key };
		const char *pub[] = { "PUBLISH", ch, target };
		size_t dlens[] = { 3, klen }, plens[] = { 7, chlen, len };

		if (redis_cmd(&conn, on_purge_reply, &w, 2, del, dlens) ||
		    redis_cmd(&conn, on_purge_reply, &w, 3, pub, plens))
			return -ENOMEM;
	}
	err = settle();
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
	cache_remove(local, r->elem[2].str, r->elem[2].len);
	STAT_ADD(ctr->purge_msgs, 1);
}

static void on_subscribed(void *arg, const struct resp *r)
{
	if (r && r->type == RESP_ERROR)
		redis_close(&sub, "SUBSCRIBE refused");
}

/* Keep the subscription to the purge channel, and read what it brings. */
static void sub_tick(long long now)
{
	char ch[80];

	if (sub.state == REDIS_DOWN) {
		if (now < sub_retry_at)
			return;
		sub_retry_at = now + rc->retry_ms;
		if (redis_connect(&sub, &rc->addr))
			return;
		const char *argv[] = { "SUBSCRIBE", ch };
		size_t lens[] = { 9, channel(ch) };

		sub.on_push = on_message;
		if (redis_cmd(&sub, on_subscribed, NULL, 2, argv, lens)) {
			redis_close(&sub, NULL);
			return;
		}
	}
	if (redis_io(&sub))
		pr_debug("redis %s: purge channel: %s", rc->addr.text, sub.err);
}

void rtier_tick(long long now)
{
	if (!rc || !rc->url[0])
		return;
	sub_tick(now);
	if (conn.state == REDIS_DOWN)
		return;
	if (redis_io(&conn)) {
		server_failed(-ECONNRESET);
		return;
	}
	if (!redis_pending(&conn))
		busy_since = 0;
	else if (busy_since && now - busy_since > rc->timeout_ms)
		server_failed(-ETIMEDOUT);
}

/* ---------------------------------------------------------------- figures */

/* The counters as /stats and /metrics name them. */
static const struct {
	const char *name, *help;
	size_t off;
} fields[] = {
#define C(f, h)                                                     \
	{                                                           \
#f, h, __builtin_offsetof(struct rtier_counters, f) \
	}
	C(hits, "Lookups answered by the Redis tier."),
	C(misses, "Lookups the Redis tier could not answer."),
	C(origin, "Fetches that went on to the origin."),
	C(stores, "Objects written to Redis."),
	C(errors, "Failed Redis connections and error replies."),
	C(timeouts, "Redis waits that overran --redis-timeout."),
	C(skipped, "Lookups not made while the breaker was open."),
	C(corrupt, "Stored values refused as damaged or misplaced."),
	C(too_big, "Objects over --redis-max-object."),
	C(purges, "PURGE requests answered."),
	C(purge_msgs, "Purge messages applied to the local cache."),
	C(lock_served, "Misses answered by another host's fetch."),
	C(lock_expired, "Waits for another host's fetch that ran out."),
	C(breaker_opened, "Times a worker's Redis breaker opened."),
#undef C
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static uint64_t *field(struct rtier_counters *s, size_t i)
{
	return (uint64_t *)((char *)s + fields[i].off);
}

/* Every live worker's counters summed up; *open: breakers not closed. */
static void sum(const struct shared *sh, struct rtier_counters *s,
		unsigned int *open)
{
	memset(s, 0, sizeof(*s));
	*open = 0;
	for (int i = 0; i < MAX_SLOTS; i++) {
		struct rtier_counters *c =
			(struct rtier_counters *)&sh->slots[i].redis;

		if (!STAT_GET(sh->slots[i].pid))
			continue;
		for (size_t f = 0; f < NFIELDS; f++)
			*field(s, f) += STAT_GET(*field(c, f));
		if (STAT_GET(c->breaker) != BREAKER_CLOSED)
			(*open)++;
	}
}

void rtier_stats_json(struct jw *w, const struct shared *sh)
{
	struct rtier_counters s;
	unsigned int open;

	if (!rc || !rc->url[0])
		return;
	sum(sh, &s, &open);
	jw_key(w, "redis");
	jw_obj_begin(w);
	jw_kstr(w, "server", rc->addr.text);
	jw_kstr(w, "breaker", open ? "open" : "closed");
	jw_kuint(w, "workers_open", open);
	for (size_t i = 0; i < NFIELDS; i++)
		jw_kuint(w, fields[i].name, *field(&s, i));
	jw_obj_end(w);
}

void rtier_metrics(struct prom *p, const struct shared *sh)
{
	struct rtier_counters s;
	unsigned int open;
	char name[80];

	if (!rc || !rc->url[0])
		return;
	sum(sh, &s, &open);
	for (size_t i = 0; i < NFIELDS; i++) {
		snprintf(name, sizeof(name), "lb_backend_redis_%s_total",
			 fields[i].name);
		prom_head(p, name, "counter", fields[i].help);
		prom_u64(p, name, NULL, *field(&s, i));
	}
	prom_head(p, "lb_backend_redis_breaker_open", "gauge",
		  "Workers whose Redis breaker is open now.");
	prom_u64(p, "lb_backend_redis_breaker_open", NULL, open);
}
