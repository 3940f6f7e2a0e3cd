// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * batch.c - a worker's misses to the origin: fetched one at a time when the
 * batch is full, else gathered in a batch and fetched together once per
 * round of the event loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "log.h"
#include "metrics.h"
#include "worker.h"

struct origin_arg {
	const char *target;
	size_t len;
};

static void origin_limits(struct origin_limits *lim)
{
	*lim = (struct origin_limits){
		.connect_ms = wk.cfg->connect_timeout_ms,
		.timeout_ms = wk.cfg->origin_timeout_ms,
		.max_size = wk.cfg->max_response,
		.max_mem = wk.cfg->max_object,
		.spool_dir = wk.cfg->temp_dir,
		.def_ttl = wk.cfg->ttl,
		.cache_flags = wk.cfg->cache_cookies ? HTTP_CACHE_COOKIES : 0,
		.pipeline = wk.cfg->origin_pipeline,
	};
}

static void pool_counters(void)
{
	struct origin_pool_stats ps;

	origin_pool_stats(&ps);
	STAT_SET(wk.me->origin_connects, ps.connects);
	STAT_SET(wk.me->origin_reused, ps.reused);
	STAT_SET(wk.me->origin_retries, ps.retries);
}

/* An origin reply as a value in f (and its body file); r's body file
 * passes to f. */
static int reply_value(const struct origin_arg *a, struct origin_reply *r,
		       struct fetched *f)
{
	char body[160];
	int err;

	if (r->error) {
		pr_warn("origin %s%.*s: %s", wk.cfg->origin_url, (int)a->len,
			a->target, r->error);
		snprintf(body, sizeof(body), "%d %s: %s\n", r->status,
			 http_reason(r->status), r->error);
		err = value_build(f, r->status, TEXT_PLAIN,
				  sizeof(TEXT_PLAIN) - 1, body, strlen(body));
	} else {
		err = value_build(f, r->status, r->hdrs, r->hdrs_len, r->body,
				  r->body_len);
	}
	f->ttl = r->ttl;
	if (!err && r->body_fd >= 0) {
		f->fd = r->body_fd;
		f->fd_len = r->body_fd_len;
		r->body_fd = -1;
	}
	origin_reply_free(r);
	return err;
}

/*
 * Misses to the origin.  A worker that fetched each miss at once would wait
 * for the origin once per miss while its other connections wait too.
 * Instead a miss becomes a job, and the worker goes on with the other
 * connections that epoll reported ready.  Then, after each round of epoll:
 *
 *  - with the Redis tier, the new jobs' lookups go out together as one
 *    batch (rtier_lookup_many) and the jobs are parked until the answers
 *    (or their timeouts) come in through the worker's epoll; a job that
 *    Redis does not answer goes on to the origin as below, and its answer
 *    is stored in Redis (rtier_fetched) before it is given out;
 *  - the requests of the jobs a round starts go out together, pipelined on
 *    a connection (origin_async.c), and each answer is read when that
 *    connection reports it in the worker's own epoll_wait: the worker
 *    serves its other clients meanwhile and answers each miss as soon as
 *    its answer is in; a new connection's connect waits there too.
 *
 * A second request for a key that a job is fetching follows that job: one
 * fetch answers both, unless the answer is private, which goes to the first
 * alone (the follower then fetches its own).  A connection with a job reads
 * no further request until its answer is queued, so answers stay in order.
 *
 * A miss that finds no room for a job (MAX_JOBS jobs) is not fetched at
 * once, which would hold the whole worker for the origin: its connection
 * is deferred, its request left unread, and taken again from the start,
 * oldest first, when a job has ended; a hit is answered at once all the
 * same.  A deferred request still ends within --origin-timeout of its
 * coming.
 *
 * A miss of a key that another worker is fetching waits for that fetch,
 * but not inside the cache: cache_get would hold the whole worker, whose
 * own fetches the other worker may be waiting for, and two workers would
 * wait for each other until the fills' deadline.  Its request waits unread
 * as a deferred one does, on a list asked again as soon as the cache says
 * that a fill ended (a datagram on this worker's notify socket: see
 * cache_notify_open), and else after 2 ms, then 4, 8 and 16 ms while it
 * has waiters, for a fill whose owner died or overran (a long fill is not
 * asked about a hundred times per waiter).
 */
#define BUSY_RETRY_MIN_MS 2
#define BUSY_RETRY_MAX_MS 16
struct fetch_job {
	int used;
	struct conn *c; /* NULL once the client has gone */
	char *key; /* a copy of the target */
	size_t klen;
	int head;
	int r; /* CACHE_MISS (we fill) or CACHE_PASS */
	struct cache_ticket t;
	int leader; /* the job whose fetch answers this one, or -1 */
	int op; /* its fetch in the loop (origin_async_*), or -1 */
	int looked; /* with Redis: its lookup is over, the origin is next */
	int holder; /* with Redis: this host holds the key's lock */
	uint64_t t0; /* when that fetch started (metrics_clock_us) */
	long long since; /* mono ms the miss came: --origin-timeout counts
			  * from here, the wait for a fetch slot included */
};

static struct fetch_job jobs[MAX_JOBS];
static unsigned int njobs;
/* with Redis: leaders whose lookup no round has sent yet */
static unsigned int nfresh;
static unsigned int nflight; /* fetches in the loop */
/* connections whose answers were queued, to go on with (worker.c),
 * linked through resume_next */
static struct conn *answered;
/* deferred connections, oldest first, linked through deferred_next:
 * waiting for room (c->deferred 1), or for another worker's fill (2) */
struct conn_list {
	struct conn *head, **tail;
};
static struct conn_list deferred = { NULL, &deferred.head };
static struct conn_list busy = { NULL, &busy.head };
static long long busy_retry_at; /* mono ms */
static int busy_interval = BUSY_RETRY_MIN_MS; /* ms, doubling to the max */
static int notify_fd = -1; /* told when another worker's fill ends */
static char notify_tag; /* its epoll data */
static int with_redis; /* leaders are looked up in Redis first */
static struct origin_limits loop_lim; /* theirs: outlives each fetch */

_Static_assert(MAX_SLOTS <= CACHE_NOTIFY_SLOTS, "a notify slot per worker");

void jobs_init(int epfd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &notify_tag };

	for (unsigned int i = 0; i < MAX_JOBS; i++)
		jobs[i].op = -1;
	/* without it, waiters ask again on the timer alone */
	notify_fd = cache_notify_open(wk.cache, (int)(wk.me - wk.sh->slots));
	if (notify_fd < 0)
		pr_warn("cache notify socket: %s", strerror(-notify_fd));
	else if (epoll_ctl(epfd, EPOLL_CTL_ADD, notify_fd, &ev))
		pr_warn("cache notify socket: epoll: %s", strerror(errno));
	with_redis = wk.cfg->redis.url[0] != 0;
	origin_limits(&loop_lim);
	origin_async_init(epfd);
}

/* Whether a new job, leader or follower, fits now (a leader beyond the
 * fetches the loop runs at once waits for one to end: start_fetches). */
static int job_room(void)
{
	return njobs < MAX_JOBS;
}

enum { JOB_NO_ROOM, JOB_TAKEN, JOB_BUSY };

/* JOB_TAKEN if the miss of key was queued or answered, JOB_NO_ROOM if
 * there is no room for its job (a hit is answered all the same: the cache
 * is looked up first), JOB_BUSY if another worker fills it now. */
static int job_add(struct conn *c, const char *key, size_t klen, int head)
{
	struct fetch_job *j;
	int leader = -1, r, slot;
	struct cache_ticket t;

	for (slot = 0; slot < MAX_JOBS && njobs < MAX_JOBS; slot++)
		if (jobs[slot].used && jobs[slot].leader < 0 &&
		    jobs[slot].klen == klen &&
		    !memcmp(jobs[slot].key, key, klen)) {
			leader = slot;
			break;
		}
	if (leader < 0) {
		if (cache_lookup(c, key, klen, head, 1, &t, &r))
			return JOB_TAKEN;
		if (r == CACHE_BUSY)
			return JOB_BUSY;
		if (njobs == MAX_JOBS) {
			/* another waiter, in any worker, may fill it first */
			if (r == CACHE_MISS)
				cache_abort(wk.cache, &t, key, klen);
			return JOB_NO_ROOM;
		}
	} else {
		r = CACHE_PASS;
	}
	for (slot = 0; jobs[slot].used; slot++)
		;
	j = &jobs[slot];
	j->key = malloc(klen ? klen : 1);
	if (!j->key) {
		if (leader < 0 && r == CACHE_MISS)
			cache_abort(wk.cache, &t, key, klen);
		respond_error(c, 500, head);
		return JOB_TAKEN;
	}
	memcpy(j->key, key, klen);
	j->used = 1;
	j->klen = klen;
	j->c = c;
	j->head = head;
	j->r = r;
	j->t = t;
	j->leader = leader;
	j->op = -1;
	j->looked = 0;
	j->holder = 0;
	/* a deferred miss came when it was first deferred */
	j->since = c->deferred_since ? c->deferred_since : mono_ms();
	njobs++;
	/* a follower counts when it is answered: a hit, or a miss of its
	 * own when the answer was private */
	if (leader < 0) {
		nfresh += with_redis;
		STAT_ADD(wk.me->misses, 1);
	}
	c->waiting = 1;
	return JOB_TAKEN;
}

/* c's request waits on list l (see the top of this file); why: the
 * c->deferred it gets, 1 for room, 2 for another worker's fill. */
static void defer(struct conn *c, struct conn_list *l, int why)
{
	if (!c->deferred_since)
		c->deferred_since = mono_ms();
	c->deferred = why;
	c->waiting = 1;
	c->deferred_next = NULL;
	c->deferred_pprev = l->tail;
	*l->tail = c;
	l->tail = &c->deferred_next;
}

/* Take c off the list it waits on. */
static void undefer(struct conn *c)
{
	struct conn_list *l = c->deferred == 2 ? &busy : &deferred;

	*c->deferred_pprev = c->deferred_next;
	if (c->deferred_next)
		c->deferred_next->deferred_pprev = c->deferred_pprev;
	else
		l->tail = c->deferred_pprev;
	c->deferred = 0;
	c->deferred_next = NULL;
	c->deferred_pprev = NULL;
}

/* c goes on: its request is taken again. */
static void wake(struct conn *c)
{
	undefer(c);
	conn_answered(c);
}

void conn_answered(struct conn *c)
{
	c->waiting = 0;
	if (!c->resume) {
		c->resume = 1;
		c->resume_next = answered;
		answered = c;
	}
}

/* Job i is over; its connection (if any) goes on. */
static void job_done(int i)
{
	struct fetch_job *j = &jobs[i];

	if (j->c)
		conn_answered(j->c);
	free(j->key);
	j->used = 0;
	j->c = NULL;
	j->op = -1;
	j->looked = 0;
	j->holder = 0;
	njobs--;
}

void job_forget(struct conn *c)
{
	if (c->deferred)
		undefer(c);
	for (unsigned int i = 0; i < MAX_JOBS; i++)
		if (jobs[i].used && jobs[i].c == c)
			jobs[i].c = NULL;
	if (c->resume) {
		struct conn **p = &answered;

		while (*p && *p != c)
			p = &(*p)->resume_next;
		if (*p)
			*p = c->resume_next;
		c->resume = 0;
	}
}

/* The answer of leader i's fetch: to i and to its followers. */
static void job_finish(int i, struct origin_reply *rep, int from_redis)
{
	struct fetch_job *j = &jobs[i];
	struct origin_arg a = { j->key, j->klen };
	struct fetched f = { .fd = -1 };
	int k;

	if (reply_value(&a, rep, &f)) {
		/* waiters share an error, as those of another worker do
		 * (cache_abort wakes them to the same end) */
		if (j->r == CACHE_MISS)
			cache_abort(wk.cache, &j->t, j->key, j->klen);
		for (k = 0; k < MAX_JOBS; k++)
			if (jobs[k].used && k != i && jobs[k].leader == i) {
				if (jobs[k].c)
					respond_error(jobs[k].c, 500,
						      jobs[k].head);
				job_done(k);
			}
		if (j->c)
			respond_error(j->c, 500, j->head);
		if (f.fd >= 0)
			close(f.fd);
		job_done(i);
		return;
	}
	if (j->r == CACHE_MISS)
		value_store(&j->t, j->key, j->klen, &f);
	/* A follower takes the answer when a waiter in another worker would
	 * (ttl >= 0): then it is a hit.  A private answer (or one too big to
	 * keep) is the leader's alone: the follower fetches its own. */
	for (k = 0; k < MAX_JOBS; k++) {
		struct fetch_job *w = &jobs[k];

		if (!w->used || k == i || w->leader != i)
			continue;
		if ((f.fd >= 0 || f.ttl < 0) && w->c) {
			w->leader = -1;
			w->r = CACHE_PASS;
			nfresh += with_redis;
			STAT_ADD(wk.me->misses, 1);
			continue;
		}
		if (w->c) {
			STAT_ADD(wk.me->hits, 1);
			respond_value(w->c, f.val, f.len, "HIT", w->head, -1,
				      0);
		}
		job_done(k);
	}
	if (j->c)
		respond_value(j->c, f.val, f.len,
			      from_redis ? "HIT-REDIS" : "MISS", j->head, f.fd,
			      f.fd_len);
	else if (f.fd >= 0)
		close(f.fd);
	job_done(i);
}

/* Fetches in the loop at once: as many as the pool keeps connections
 * (one without a pool), at most ORIGIN_BATCH. */
static unsigned int flight_max(void)
{
	unsigned int n = wk.cfg->origin_keepalive;

	return n < 1 ? 1 : n > ORIGIN_BATCH ? ORIGIN_BATCH : n;
}

/* Whether job j is a leader whose origin fetch may start: without Redis
 * at once, with it once its lookup is over. */
static int job_fetchable(const struct fetch_job *j)
{
	return j->used && j->leader < 0 && j->op < 0 &&
	       (!with_redis || j->looked);
}

/* Leaders whose fetch has not started. */
static unsigned int jobs_unstarted(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < MAX_JOBS; i++)
		n += job_fetchable(&jobs[i]);
	return n;
}

unsigned int jobs_pending(void)
{
	if (answered || (deferred.head && job_room()))
		return 1;
	/* with Redis, the jobs a round left wait on their lookups, whose
	 * answers (or timeouts) come through epoll: only new ones are due */
	if (nfresh)
		return 1;
	if (nflight >= flight_max())
		return 0; /* the next start waits for a fetch to end */
	return njobs ? jobs_unstarted() : 0;
}

int jobs_wait_ms(void)
{
	int ms = 100;

	if (jobs_pending())
		return 0;
	if (with_redis && (njobs || rtier_purging()))
		ms = rtier_wait_ms(); /* the next Redis deadline */
	if (busy.head) {
		long long d = busy_retry_at - mono_ms();

		if (d < ms)
			ms = d < 0 ? 0 : (int)d;
	}
	return ms;
}

int jobs_notify_event(const void *tag)
{
	if (tag != &notify_tag)
		return 0;
	if (cache_notify_drain(notify_fd) && busy.head) {
		STAT_ADD(wk.me->fill_wakes, 1);
		busy_retry_at = 0; /* jobs_run asks them all again */
		busy_interval = BUSY_RETRY_MIN_MS;
	}
	return 1;
}

unsigned int jobs_busy(void)
{
	return njobs;
}

/* With Redis: the lookups of up to ORIGIN_BATCH leaders, sent together; a
 * leader parked on its lookup waits for a later round (its answer, or its
 * timeout, in the worker's epoll), one that Redis leaves to the origin
 * waits for its fetch in the loop.  Returns the leaders that went on. */
static unsigned int run_round(void)
{
	struct origin_target t[ORIGIN_BATCH];
	struct origin_reply rep[ORIGIN_BATCH];
	unsigned char from_redis[ORIGIN_BATCH], parked[ORIGIN_BATCH];
	unsigned char holder[ORIGIN_BATCH];
	int slot[ORIGIN_BATCH];
	unsigned int i, n = 0, done = 0;

	nfresh = 0;
	for (i = 0; i < MAX_JOBS && n < ORIGIN_BATCH; i++)
		if (jobs[i].used && jobs[i].leader < 0 && !jobs[i].looked) {
			slot[n] = i;
			t[n++] = (struct origin_target){ jobs[i].key,
							 jobs[i].klen };
		}
	if (!n)
		return 0;
	rtier_lookup_many(t, n, &loop_lim, rep, from_redis, parked, holder);
	for (i = 0; i < n; i++) {
		if (parked[i])
			continue;
		done++;
		if (from_redis[i]) {
			job_finish(slot[i], &rep[i], 1);
			continue;
		}
		jobs[slot[i]].looked = 1;
		jobs[slot[i]].holder = holder[i];
	}
	return done;
}

/* Leader i's origin fetch is over (rep: its answer, or why there is
 * none): with Redis stored there first, then given out. */
static void fetch_ended(int i, struct origin_reply *rep)
{
	if (with_redis) {
		struct origin_target t = { jobs[i].key, jobs[i].klen };

		rtier_fetched(&t, rep, jobs[i].holder);
	}
	job_finish(i, rep, 0);
}

/* A fetch in the loop ended: answer its job. */
static void op_ended(int op, struct origin_reply *rep)
{
	for (int i = 0; i < MAX_JOBS; i++)
		if (jobs[i].used && jobs[i].op == op) {
			metrics_origin(&wk.me->m, jobs[i].t0,
				       rep->error != NULL);
			pool_counters();
			jobs[i].op = -1;
			nflight--;
			fetch_ended(i, rep);
			return;
		}
	origin_reply_free(rep);
}

/* Send the requests of the leaders that wait for it, together. */
static void start_fetches(void)
{
	struct origin_reply rep;
	long long now = mono_ms();
	int i, op;

	for (i = 0; i < MAX_JOBS; i++) {
		struct fetch_job *j = &jobs[i];

		if (!job_fetchable(j))
			continue;
		if (nflight >= flight_max())
			break; /* the others start as fetches end */
		j->t0 = metrics_clock_us();
		/* its deadline counts from when the miss came */
		op = origin_async_start(&wk.cfg->origin, j->key, j->klen,
					&loop_lim, j->since, &rep);
		if (op >= 0) {
			j->op = op;
			nflight++;
			continue;
		}
		metrics_origin(&wk.me->m, j->t0, 1);
		pool_counters();
		fetch_ended(i, &rep);
	}
	origin_async_flush(now, op_ended);
}

void jobs_origin_event(uint64_t tag, uint32_t events, long long now)
{
	origin_async_event(tag, events, now, op_ended);
}

void jobs_expire(long long now)
{
	struct conn *c, *next;

	/* deferred requests that waited past --origin-timeout: a 504 */
	for (int k = 0; k < 2; k++)
		for (c = k ? busy.head : deferred.head; c; c = next) {
			next = c->deferred_next;
			if (now - c->deferred_since < wk.cfg->origin_timeout_ms)
				continue;
			c->deferred_expired = 1;
			wake(c);
		}
	origin_async_expire(now, op_ended);
	/* leaders that waited for a fetch slot past --origin-timeout */
	for (int i = 0; i < MAX_JOBS; i++) {
		struct fetch_job *j = &jobs[i];
		struct origin_reply rep = {
			.status = 504,
			.body_fd = -1,
			.error = "no fetch slot within the origin timeout",
		};

		if (!job_fetchable(j) ||
		    now - j->since < wk.cfg->origin_timeout_ms)
			continue;
		metrics_origin(&wk.me->m, metrics_clock_us(), 1);
		fetch_ended(i, &rep);
	}
}

struct conn *jobs_run(void)
{
	struct conn *list;

	/* one at a time: it takes its room before the next one is woken,
	 * and worker.c asks again (jobs_pending) */
	if (deferred.head && job_room())
		wake(deferred.head);
	/* those that wait for another worker's fill: all, now and then */
	if (!busy.head) {
		busy_interval = BUSY_RETRY_MIN_MS;
	} else if (mono_ms() >= busy_retry_at) {
		while (busy.head)
			wake(busy.head);
		busy_retry_at = mono_ms() + busy_interval;
		if (busy_interval < BUSY_RETRY_MAX_MS)
			busy_interval *= 2;
	}
	/* with Redis: until every job not looked up is parked on its
	 * lookup */
	if (with_redis)
		while (njobs && run_round())
			;
	if (njobs)
		start_fetches();
	list = answered;
	answered = NULL;
	return list;
}

void serve_origin(struct conn *c, const char *target, size_t len, int head)
{
	if (c->deferred_expired) {
		c->deferred_expired = 0;
		c->deferred_since = 0;
		respond_error(c, 504, head);
		return;
	}
	switch (job_add(c, target, len, head)) {
	case JOB_NO_ROOM:
		defer(c, &deferred, 1);
		return;
	case JOB_BUSY:
		defer(c, &busy, 2);
		return;
	}
	c->deferred_since = 0;
}
