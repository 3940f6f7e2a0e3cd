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
#include "rcluster.h"
#include "rvalue.h"

#define KEY_MAX (64 + 8192 + 16) /* prefix + the longest request line */
/* The longest target a key (or a lock key: prefix, "lock:", target) is
 * made of; the parser's line limit keeps targets shorter, and a longer one
 * would only ever go to the origin. */
#define TARGET_MAX (KEY_MAX - 64 - 16)

static const struct redis_config *rc;
static struct rtier_counters *ctr;
/* The servers: one with --redis, the masters of the slot map with
 * --redis-cluster (added as the cluster names them). */
#define MAX_NODES 32
#define NO_NODE 0xff
struct node {
	char name[300]; /* host:port */
	struct redis_addr addr;
	struct redis_conn c;
};
static struct node nodes[MAX_NODES];
static unsigned int nnodes;
static uint8_t slot_node[CLUSTER_SLOTS]; /* cluster: master of a slot */
static int map_stale; /* cluster: ask for the slot map before use */
static unsigned int sub_node; /* cluster: the node of the purge channel */
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
	if (c->cluster) {
		char list[sizeof(c->url)], *save, *hp;

		strcpy(list, c->url);
		c->nseeds = 0;
		for (hp = strtok_r(list, ",", &save); hp;
		     hp = strtok_r(NULL, ",", &save)) {
			if (c->nseeds == RTIER_MAX_SEEDS ||
			    redis_hostport_parse(hp, &c->addr, err,
						 sizeof(err))) {
				fprintf(stderr,
					"lb-backend: --redis-cluster: %s\n",
					c->nseeds == RTIER_MAX_SEEDS ?
						"too many nodes" :
						err);
				return -EINVAL;
			}
			snprintf(c->seeds[c->nseeds++], sizeof(c->seeds[0]),
				 "%s", hp);
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
	return 0;
}

void rtier_worker_init(const struct redis_config *config,
		       struct rtier_counters *counters, struct cache *cache)
{
	rc = config;
	ctr = counters;
	local = cache;
	redis_init(&sub, 65536);
	memset(slot_node, 0, sizeof(slot_node));
	nnodes = 0;
	if (rc->cluster) {
		memset(slot_node, NO_NODE, sizeof(slot_node));
		map_stale = 1;
	} else {
		nodes[0].addr = rc->addr;
		snprintf(nodes[0].name, sizeof(nodes[0].name), "%s",
			 rc->addr.text);
		/* a reply larger than any value we store is never read */
		redis_init(&nodes[0].c, rc->max_object);
		nnodes = 1;
	}
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
			rc->cluster ? "cluster" : rc->addr.text, why,
			rc->retry_ms);
	} else {
		pr_info("redis %s: answering again",
			rc->cluster ? "cluster" : rc->addr.text);
	}
}

/* The server failed (err: -ETIMEDOUT or another): close, count, open. */
static void server_failed(int err)
{
	long long now = redis_mono_ms();
	char why[300];

	snprintf(why, sizeof(why), "failed");
	for (unsigned int i = 0; i < nnodes; i++) {
		if (nodes[i].c.err[0] && !strcmp(why, "failed"))
			snprintf(why, sizeof(why), "%.100s: %s", nodes[i].name,
				 nodes[i].c.err);
		if (nodes[i].c.state != REDIS_DOWN)
			redis_close(&nodes[i].c, NULL);
	}
	map_stale = rc->cluster;
	STAT_ADD(*(err == -ETIMEDOUT ? &ctr->timeouts : &ctr->errors), 1);
	breaker_log(breaker_failure(&bk, now), why);
	STAT_SET(ctr->breaker, bk.state);
	busy_since = 0;
}

/* The connection to node i, connecting when it is down; NULL if that
 * fails at once. */
static struct redis_conn *node_conn(unsigned int i)
{
	struct redis_conn *c = &nodes[i].c;

	if (c->state == REDIS_DOWN && redis_connect(c, &nodes[i].addr))
		return NULL;
	return c;
}

/* The node named host:port, added if new; -1 if it cannot be. */
static int node_find(const char *name)
{
	char err[300];
	unsigned int i;

	for (i = 0; i < nnodes; i++)
		if (!strcmp(nodes[i].name, name))
			return i;
	if (nnodes == MAX_NODES ||
	    redis_hostport_parse(name, &nodes[nnodes].addr, err, sizeof(err)))
		return -1;
	snprintf(nodes[nnodes].name, sizeof(nodes[nnodes].name), "%s", name);
	redis_init(&nodes[nnodes].c, rc->max_object);
	return nnodes++;
}

/* The connection for key: its slot's master (the one server without a
 * cluster); NULL if there is none or it cannot be reached. */
static struct redis_conn *conn_for(const char *key, size_t klen)
{
	unsigned int n = rc->cluster ? slot_node[rcluster_slot(key, klen)] : 0;

	return n == NO_NODE ? NULL : node_conn(n);
}

static int settle(void);

static uint8_t new_map[CLUSTER_SLOTS];

static void map_range(void *arg, unsigned int first, unsigned int last,
		      const char *addr)
{
	int n = node_find(addr);

	for (unsigned int s = first; s <= last; s++)
		new_map[s] = n < 0 ? NO_NODE : n;
	(*(int *)arg)++;
}

static void on_slots(void *arg, const struct resp *r)
{
	if (r && rcluster_slots(r, map_range, arg))
		*(int *)arg = -1;
}

/* Ask the nodes we know, then the seeds, for the slot map (CLUSTER SLOTS).
 * 0, or -errno when none answered with one. */
static int refresh_map(void)
{
	static const char *const argv[] = { "CLUSTER", "SLOTS" };
	unsigned int i;

	for (i = 0; i < rc->nseeds; i++)
		node_find(rc->seeds[i]);
	for (i = 0; i < nnodes; i++) {
		struct redis_conn *c = node_conn(i);
		int ranges = 0;

		if (!c)
			continue;
		memset(new_map, NO_NODE, sizeof(new_map));
		if (redis_cmdv(c, on_slots, &ranges, 2, argv) ||
		    redis_wait(c, redis_mono_ms() + rc->timeout_ms) ||
		    ranges <= 0) {
			redis_close(c, NULL);
			continue;
		}
		memcpy(slot_node, new_map, sizeof(slot_node));
		map_stale = 0;
		return 0;
	}
	return -EHOSTUNREACH;
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
	err = rc->cluster ? (map_stale ? refresh_map() : 0) :
			    (node_conn(0) ? 0 : -ECONNREFUSED);
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

/* A reply to one of a lookup's commands; a redirection is kept for
 * ask() to follow, and is no answer yet. */
static void on_lookup(void *arg, const struct resp *r)
{
	struct cmd_ref *ref = arg;
	struct lookup *l = ref->l;

	if (!r)
		return;
	ref->redirect =
		rcluster_redirect(r, &ref->slot, ref->addr, sizeof(ref->addr));
	if (ref->redirect)
		return;
	l->got++;
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
	struct redis_conn *c;
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
	if (bk.state != BREAKER_CLOSED)
		return;
	klen = make_key(key, t->target, t->len);
	c = conn_for(key, klen);
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
	long long deadline = redis_mono_ms() + rc->timeout_ms;
	unsigned int i;
	int err = 0;

	/* every node's commands out before waiting for any */
	for (i = 0; i < nnodes && !err; i++)
		if (nodes[i].c.state != REDIS_DOWN)
			err = redis_io(&nodes[i].c);
	for (i = 0; i < nnodes && !err; i++)
		if (redis_pending(&nodes[i].c))
			err = redis_wait(&nodes[i].c, deadline);
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
		lens[5] = snprintf(px, sizeof(px), "%u", rc->lock_wait_ms);
		argc = 6;
	} else {
		klen = make_key(key, l->target, l->len);
		argv[0] = kind == CMD_GET ? "GET" : "PTTL";
		lens[0] = strlen(argv[0]);
		argc = 2;
	}
	argv[1] = key;
	lens[1] = klen;
	if (!c)
		c = conn_for(key, klen);
	l->ref[kind] = (struct cmd_ref){ .l = l, .kind = kind };
	if (!c || (asking && redis_cmdv(c, NULL, NULL, 1, asking_argv)))
		return -ENOTCONN;
	return redis_cmd(c, on_lookup, &l->ref[kind], argc, argv, lens);
}

/*
 * Ask Redis about every key in state `which`: its value, the value's TTL,
 * and its lock (SET NX PX: taken if nobody holds it).  In a cluster, a
 * command redirected (MOVED: the slot has a new master; ASK: the key is
 * being migrated) is sent once more where it was sent to.  0, or -errno
 * after the server failed.
 */
static int ask(struct lookup *l, unsigned int n, int which)
{
	unsigned int i, k, again = 0;
	int err;

	for (i = 0; i < n; i++) {
		if (l[i].state != which)
			continue;
		free(l[i].val);
		l[i].val = NULL;
		l[i].got = l[i].lock = l[i].error = l[i].toobig = 0;
		for (k = CMD_GET; k <= CMD_LOCK; k++)
			if (send_cmd(&l[i], k, NULL, 0))
				l[i].error = 1;
	}
	err = settle();
	if (err || !rc->cluster)
		return err;
	for (i = 0; i < n; i++) {
		if (l[i].state != which)
			continue;
		for (k = CMD_GET; k <= CMD_LOCK; k++) {
			struct cmd_ref *ref = &l[i].ref[k];
			int node, redirect = ref->redirect;

			if (!redirect)
				continue;
			node = node_find(ref->addr);
			if (redirect == REDIRECT_MOVED) {
				/* this slot now; the whole map at the next
				 * batch */
				slot_node[ref->slot] = node < 0 ? NO_NODE :
								  node;
				map_stale = 1;
			}
			STAT_ADD(ctr->redirects, 1);
			if (node < 0 || send_cmd(&l[i], k, node_conn(node),
						 redirect == REDIRECT_ASK))
				l[i].error = 1;
			else
				again++;
		}
	}
	return again ? settle() : 0;
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

	struct redis_conn *c = conn_for(lkey, lklen);

	if (c)
		redis_cmd(c, on_store, NULL, 5, argv, lens);
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
		if (x->state == L_HOLDER && bk.state == BREAKER_CLOSED)
			unlock(x->target, x->len);
		x->state = L_DONE;
	}
	for (i = 0; i < nnodes; i++)
		if (nodes[i].c.state != REDIS_DOWN && redis_io(&nodes[i].c)) {
			server_failed(-ECONNRESET);
			break;
		}
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
	struct lookup l[ORIGIN_BATCH];
	long long deadline;
	unsigned int i, waiting;

	memset(from_redis, 0, n);
	if (!rc || !rc->url[0])
		return origin_fetch_many(o, t, n, lim, r);
	if (n > ORIGIN_BATCH)
		n = ORIGIN_BATCH;
	/* cleared here, not on the way without Redis: 1 kB a lookup */
	memset(l, 0, n * sizeof(l[0]));
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

		if (now >= deadline || bk.state != BREAKER_CLOSED) {
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
	struct redis_conn *c;
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
	c = conn_for(key, klen);
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
		if (!nnodes)
			return; /* no slot map yet */
		/* a cluster: the next node each time one fails */
		if (redis_connect(&sub, &nodes[sub_node++ % nnodes].addr))
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
		pr_debug("redis: purge channel: %s", sub.err);
}

void rtier_tick(long long now)
{
	if (!rc || !rc->url[0])
		return;
	unsigned int i, pending = 0;

	sub_tick(now);
	for (i = 0; i < nnodes; i++) {
		if (nodes[i].c.state == REDIS_DOWN)
			continue;
		if (redis_io(&nodes[i].c)) {
			server_failed(-ECONNRESET);
			return;
		}
		pending += redis_pending(&nodes[i].c);
	}
	if (!pending)
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
	C(redirects, "Cluster redirections (MOVED, ASK) followed."),
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
	jw_kstr(w, "server", rc->cluster ? rc->url : rc->addr.text);
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
