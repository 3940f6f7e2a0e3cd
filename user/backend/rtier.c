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
#include <sys/epoll.h>
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
	long long down_until; /* cluster: failed, not tried again until */
	int failed; /* cluster: failed, not connected since */
	unsigned int nslots; /* cluster: slots the map gives it */
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
static int refresh_map(void);
static void watch_sync(void);
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
	bk = (struct breaker){ .open_ms = rc->retry_ms };
	STAT_SET(ctr->breaker, BREAKER_CLOSED);
	redis_init(&sub, 65536);
	memset(slot_node, 0, sizeof(slot_node));
	nnodes = 0;
	if (rc->cluster) {
		memset(slot_node, NO_NODE, sizeof(slot_node));
		map_stale = 1;
		/* before the first request; later ones do not wait */
		if (refresh_map())
			pr_info("redis cluster: no slot map yet");
	} else {
		nodes[0].addr = rc->addr;
		snprintf(nodes[0].name, sizeof(nodes[0].name), "%s",
			 rc->addr.text);
		/* a reply larger than any value we store is never read */
		redis_init(&nodes[0].c, rc->max_object);
		nnodes = 1;
	}
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

	if (c->state == REDIS_DOWN && (redis_mono_ms() < nodes[i].down_until ||
				       redis_connect(c, &nodes[i].addr)))
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
static int have_map; /* cluster: a slot map was ever learnt */
static int map_asking; /* cluster: a CLUSTER SLOTS is out */
static int probe_refused; /* a probe or a slot map answered with an error */
static unsigned int map_next; /* cluster: the node to ask next */

static void map_range(void *arg, unsigned int first, unsigned int last,
		      const char *addr)
{
	int n = node_find(addr);

	for (unsigned int s = first; s <= last; s++)
		new_map[s] = n < 0 ? NO_NODE : n;
	(*(int *)arg)++;
}

/* A CLUSTER SLOTS reply: the new map, if it is one. */
static int take_map(const struct resp *r)
{
	int ranges = 0;

	memset(new_map, NO_NODE, sizeof(new_map));
	if (!r || rcluster_slots(r, map_range, &ranges) || ranges <= 0)
		return -EPROTO;
	memcpy(slot_node, new_map, sizeof(slot_node));
	have_map = 1;
	/* a map that still names a master that failed (the cluster has not
	 * failed it over yet) is asked for again, see rtier_tick() */
	for (unsigned int i = 0; i < nnodes; i++)
		nodes[i].nslots = 0;
	for (unsigned int s = 0; s < CLUSTER_SLOTS; s++)
		if (slot_node[s] != NO_NODE)
			nodes[slot_node[s]].nslots++;
	map_stale = 0;
	return 0;
}

static void on_slots(void *arg, const struct resp *r)
{
	*(int *)arg = take_map(r);
}

/* Ask the nodes we know, then the seeds, for the slot map (CLUSTER SLOTS),
 * waiting for it: only when a worker starts, before it serves anything.
 * 0, or -errno when none answered with one. */
static int refresh_map(void)
{
	static const char *const argv[] = { "CLUSTER", "SLOTS" };
	unsigned int i;

	for (i = 0; i < rc->nseeds; i++)
		node_find(rc->seeds[i]);
	for (i = 0; i < nnodes; i++) {
		struct redis_conn *c = node_conn(i);
		int err = -EPROTO;

		if (!c)
			continue;
		if (redis_cmdv(c, on_slots, &err, 2, argv) ||
		    redis_wait(c, redis_mono_ms() + rc->timeout_ms) || err) {
			redis_close(c, NULL);
			continue;
		}
		return 0;
	}
	return -EHOSTUNREACH;
}

/* Commands whose replies nobody waits for (stores, unlocks, the slot map)
 * are out: they too must be answered within --redis-timeout. */
static void mark_busy(void)
{
	if (!busy_since)
		busy_since = redis_mono_ms();
}

static void on_slots_async(void *arg, const struct resp *r)
{
	map_asking = 0;
	if (!r)
		return; /* the connection failed: counted there */
	if (take_map(r)) {
		probe_refused = 1;
		return;
	}
	breaker_log(breaker_success(&bk), NULL);
}

/* Ask one node after another for the slot map, not waiting: the old map
 * serves meanwhile, and MOVED answers what it gets wrong. */
static void map_refresh(void)
{
	static const char *const argv[] = { "CLUSTER", "SLOTS" };
	unsigned int i;

	if (map_asking)
		return;
	for (i = 0; i < rc->nseeds; i++)
		node_find(rc->seeds[i]);
	for (i = 0; i < nnodes; i++) {
		struct redis_conn *c = node_conn(map_next++ % nnodes);

		if (c && !redis_cmdv(c, on_slots_async, NULL, 2, argv)) {
			map_asking = 1;
			mark_busy();
			return;
		}
	}
}

/* Whether Redis may be asked now; connects when needed. */
static int usable(void)
{
	long long now = redis_mono_ms();

	if (!breaker_allow(&bk, now)) {
		STAT_SET(ctr->breaker, bk.state);
		return 0;
	}
	STAT_SET(ctr->breaker, bk.state);
	if (rc->cluster) {
		if (map_stale)
			map_refresh();
		if (have_map)
			return 1;
		/* no map yet: without Redis until it comes (it is the
		 * probe of a half-open breaker) */
		if (!map_asking)
			server_failed(-EHOSTUNREACH);
		return 0;
	}
	if (!node_conn(0)) {
		server_failed(-ECONNREFUSED);
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
static unsigned long rounds; /* calls of rtier_fetch_many */

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
			mark_busy();
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

	if (c && !redis_cmd(c, on_store, NULL, 5, argv, lens))
		mark_busy();
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
		node = node_find(ref->addr);
		if (redirect == REDIRECT_MOVED) {
			/* this slot now; the whole map soon */
			slot_node[ref->slot] = node < 0 ? NO_NODE : node;
			map_stale = 1;
		}
		STAT_ADD(ctr->redirects, 1);
		if (node < 0 ||
		    send_cmd(l, k, node_conn(node), redirect == REDIRECT_ASK)) {
			l->error = 1;
		} else {
			l->outstanding++;
			again = 1;
		}
	}
	if (again) {
		l->hops++;
		l->deadline = now + rc->timeout_ms;
	}
	return again;
}

/* Whether the masters of l's key and of its lock can be reached. */
static int reachable(const struct lookup *l)
{
	char key[KEY_MAX];

	if (!conn_for(key, make_key(key, l->target, l->len)))
		return 0;
	return conn_for(key, lock_key(key, l->target, l->len)) != NULL;
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
		l->deadline = now + rc->timeout_ms;
	}
	/* the slot map is being asked for after a MOVED or a failure: the
	 * old one may send this to a master that is gone */
	l->unsent = rc->cluster && map_asking && now < l->deadline;
	if (!l->unsent && rc->cluster && !l->remapped && !reachable(l)) {
		/* a master of the map cannot be reached: a new map first */
		l->remapped = 1;
		map_stale = 1;
		map_refresh();
		l->unsent = map_asking;
	}
	if (l->unsent)
		return;
	for (int k = CMD_GET; k <= CMD_LOCK; k++) {
		if (send_cmd(l, k, NULL, 0)) {
			l->error = 1;
			map_stale = rc->cluster;
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
static void pump(long long now)
{
	unsigned int i, before, pending = 0;
	int progress = 0;

	for (i = 0; i < nnodes; i++) {
		struct redis_conn *c = &nodes[i].c;
		int err;

		if (c->state == REDIS_DOWN)
			continue;
		before = redis_pending(c);
		err = redis_io(c);
		if (err && rc->cluster && err != -ETIMEDOUT) {
			/* one master gone (closed now, its replies failed):
			 * its keys go to the origin until a new map names
			 * its successor; the others are still asked */
			STAT_ADD(ctr->errors, 1);
			pr_debug("redis cluster: %s: %s", nodes[i].name,
				 c->err);
			nodes[i].down_until = now + rc->retry_ms;
			nodes[i].failed = 1;
			map_stale = 1;
			continue;
		}
		if (err) {
			server_failed(err);
			return;
		}
		if (c->state == REDIS_UP)
			nodes[i].failed = 0;
		progress |= redis_pending(c) < before;
		pending += redis_pending(c);
	}
	for (i = 0; i < MAX_FLIGHTS && map_stale && !map_asking; i++)
		if (fl[i].target && fl[i].unsent)
			map_refresh(); /* the node asked failed: the next */
	if (probe_refused) {
		probe_refused = 0;
		server_failed(-EPROTO);
		return;
	}
	if (!pending)
		busy_since = 0;
	else if (progress)
		busy_since = now;
	if (busy_since && now - busy_since > rc->timeout_ms) {
		server_failed(-ETIMEDOUT);
		return;
	}
	for (i = 0; i < MAX_FLIGHTS; i++)
		if (fl[i].target && fl[i].outstanding &&
		    now >= fl[i].deadline) {
			server_failed(-ETIMEDOUT);
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
		if (bk.state == BREAKER_OPEN) {
			l->unsent = 0; /* the map never came: the origin */
		} else if (map_asking && now < l->deadline) {
			return 1;
		} else {
			ask(l, now); /* with the map there is, when overdue */
			if (l->unsent)
				return 1;
		}
	}
	if (l->state == L_ASK) {
		if (l->outstanding || (rc->cluster && follow(l, now)))
			return 1;
		if (l->got == 3)
			breaker_log(breaker_success(&bk), NULL);
		else if (bk.state == BREAKER_HALF_OPEN)
			server_failed(-EIO); /* a probe that never went */
		classify(l, lim, r, from_redis);
		if (l->state == L_WAIT) {
			if (!l->wait_until)
				l->wait_until = now + rc->lock_wait_ms;
			l->next_ask = now + 5;
		}
	}
	if (l->state != L_WAIT)
		return 0;
	if (now >= l->wait_until || bk.state != BREAKER_CLOSED) {
		STAT_ADD(ctr->lock_expired, 1);
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
int rtier_fetch_many(const struct origin *o, const struct origin_target *t,
		     unsigned int n, const struct origin_limits *lim,
		     struct origin_reply *r, unsigned char *from_redis,
		     unsigned char *parked)
{
	static struct origin_reply rep[ORIGIN_BATCH];
	struct lookup *l[ORIGIN_BATCH];
	struct origin_target miss[ORIGIN_BATCH];
	unsigned int i, m = 0, idx[ORIGIN_BATCH];
	long long now = redis_mono_ms();

	memset(from_redis, 0, n);
	if (parked)
		memset(parked, 0, n);
	if (!rc || !rc->url[0])
		return origin_fetch_many(o, t, n, lim, r);
	rounds++;
	pump(now);
	flights_collect();
	for (i = 0; i < n; i++) {
		int fresh;

		l[i] = NULL;
		if (!parked || t[i].len > TARGET_MAX)
			continue; /* no lookup: straight to the origin */
		l[i] = flight_get(&t[i], &fresh);
		if (!l[i])
			continue;
		l[i]->seen = rounds;
		if (!fresh)
			continue;
		if (usable()) {
			ask(l[i], now);
		} else {
			STAT_ADD(ctr->skipped, 1);
			flight_free(l[i]);
			l[i] = NULL;
		}
	}
	/* the commands out at once: the worker does not wait for them */
	pump(now);
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
			idx[m] = i;
			miss[m++] = t[i];
		}
	}
	if (m) {
		STAT_ADD(ctr->origin, m);
		origin_fetch_many(o, miss, m, lim, rep);
	}
	for (i = 0; i < m; i++) {
		struct lookup *x = l[idx[i]];

		r[idx[i]] = rep[i];
		store(&miss[i], &r[idx[i]]);
		if (x && x->state == L_HOLDER && bk.state == BREAKER_CLOSED)
			unlock(x->target, x->len);
	}
	for (i = 0; i < n; i++)
		if (l[i] && !parked[i])
			flight_free(l[i]);
	pump(redis_mono_ms());
	watch_sync();
	return 0;
}

int rtier_wait_ms(void)
{
	long long now, next;

	if (!rc || !rc->url[0])
		return 0;
	now = redis_mono_ms();
	next = now + 100;
	if (busy_since && busy_since + rc->timeout_ms < next)
		next = busy_since + rc->timeout_ms + 1;
	for (unsigned int i = 0; i < MAX_FLIGHTS; i++) {
		const struct lookup *l = &fl[i];
		long long due;

		if (!l->target)
			continue;
		if (l->unsent && !map_asking)
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

static void watch_sync(void)
{
	for (unsigned int i = 0; i < nnodes; i++)
		watch(&nodes[i].c, &w_node[i]);
	watch(&sub, &w_sub);
}

void rtier_watch(int epfd, void *tag)
{
	w_epfd = epfd;
	w_tag = tag;
	for (unsigned int i = 0; i < MAX_NODES; i++)
		w_node[i].fd = -1;
	w_sub.fd = -1;
	watch_sync();
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
	watch_sync();
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

static void on_ping(void *arg, const struct resp *r)
{
	if (!r)
		return; /* the connection failed: counted there */
	if (r->type == RESP_STATUS)
		breaker_log(breaker_success(&bk), NULL);
	else
		probe_refused = 1;
}

/* An open breaker whose time is up probes the server itself, so that a
 * worker with no miss to look up closes it too: with PING, or in a cluster
 * by asking for the slot map. */
static void probe(long long now)
{
	static const char *const argv[] = { "PING" };

	if (bk.state != BREAKER_OPEN || now < bk.retry_at || !usable())
		return;
	if (rc->cluster) {
		map_stale = 1;
		map_refresh();
		if (!map_asking)
			server_failed(-EHOSTUNREACH);
	} else if (!redis_cmdv(&nodes[0].c, on_ping, NULL, 1, argv)) {
		mark_busy();
	} else {
		server_failed(-ENOTCONN);
	}
}

/* While the map gives slots to a master that failed, ask for it again
 * every --redis-retry, in the background: the promoted replica is learnt
 * without a lookup waiting for it. */
static void map_watch(long long now)
{
	static long long next;
	unsigned int i;

	if (!rc->cluster || map_asking || now < next ||
	    bk.state != BREAKER_CLOSED)
		return;
	for (i = 0; i < nnodes; i++)
		if (nodes[i].failed && nodes[i].nslots)
			break;
	if (i == nnodes)
		return;
	next = now + rc->retry_ms;
	map_refresh();
}

void rtier_tick(long long now)
{
	if (!rc || !rc->url[0])
		return;
	sub_tick(now);
	pump(now);
	probe(now);
	map_watch(now);
	pump(now);
	watch_sync();
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
