// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * batch.c - a worker's misses to the origin: fetched one at a time when the
 * batch is full, else gathered in a batch and fetched together once per
 * round of the event loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static int fetch_origin(const void *p, struct fetched *f)
{
	const struct origin_arg *a = p;
	struct origin_target t = { a->target, a->len };
	struct origin_limits lim;
	struct origin_reply r;
	unsigned char from_redis;

	uint64_t t0 = metrics_clock_us();

	origin_limits(&lim);
	/* no Redis lookup here: it would hold the worker */
	rtier_fetch_many(&wk.cfg->origin, &t, 1, &lim, &r, &from_redis, NULL);
	if (!from_redis)
		metrics_origin(&wk.me->m, t0, r.error != NULL);
	pool_counters();
	return reply_value(p, &r, f);
}

/*
 * Misses to the origin in batches.  A worker that fetched each miss at once
 * would wait for the origin once per miss, and the origin would see one
 * request per wake-up.  Instead a miss becomes a job, the worker goes on
 * with the other connections that epoll reported ready, and then sends all
 * the batch's requests, each on a pooled connection of its own, before it
 * waits for their answers together (origin_fetch_many).  A second request
 * for a key already in the batch follows the first: one fetch answers both,
 * unless the answer is private, which goes to the first alone.
 * A connection with a job in the batch reads no further request until its
 * answer is queued, so answers stay in order.
 */
struct fetch_job {
	struct conn *c; /* NULL once the client has gone */
	char *key; /* a copy of the target */
	size_t klen;
	int head;
	int r; /* CACHE_MISS (we fill) or CACHE_PASS */
	struct cache_ticket t;
	int leader; /* the job whose fetch answers this one, or -1 */
	int state; /* of the job in a round: enum job_state */
};

enum job_state {
	JOB_WAIT, /* not fetched in this round */
	JOB_DONE, /* answered (or its client has gone) */
	JOB_AGAIN, /* its leader's answer was private: fetch its own */
};

static struct fetch_job jobs[MAX_JOBS];
static unsigned int njobs, nleaders;

/* 1 if the miss of key was queued for the batch, 0 if it must be served
 * at once (a full batch), with the cache looked up already. */
static int job_add(struct conn *c, const char *key, size_t klen, int head)
{
	struct fetch_job *j;
	int leader = -1, r;

	if (njobs == MAX_JOBS)
		return 0;
	for (unsigned int i = 0; i < njobs; i++)
		if (jobs[i].leader < 0 && jobs[i].klen == klen &&
		    !memcmp(jobs[i].key, key, klen)) {
			leader = i;
			break;
		}
	if (leader < 0) {
		/* no more fetches at once than the pool keeps connections */
		if (nleaders == ORIGIN_BATCH ||
		    nleaders >= (wk.cfg->origin_keepalive ?
					 wk.cfg->origin_keepalive :
					 1))
			return 0;
		j = &jobs[njobs];
		if (cache_lookup(c, key, klen, head, &j->t, &r))
			return 1;
	} else {
		r = CACHE_PASS;
	}
	j = &jobs[njobs];
	j->key = malloc(klen ? klen : 1);
	if (!j->key) {
		if (leader < 0 && r == CACHE_MISS)
			cache_abort(wk.cache, &j->t, key, klen);
		respond_error(c, 500, head);
		return 1;
	}
	memcpy(j->key, key, klen);
	j->klen = klen;
	j->c = c;
	j->head = head;
	j->r = r;
	j->leader = leader;
	njobs++;
	/* a follower counts when it is answered: a hit, or a miss of its
	 * own when the answer was private */
	if (leader < 0) {
		nleaders++;
		STAT_ADD(wk.me->misses, 1);
	}
	c->waiting = 1;
	return 1;
}

void job_forget(struct conn *c)
{
	for (unsigned int i = 0; i < njobs; i++)
		if (jobs[i].c == c)
			jobs[i].c = NULL;
}

/* One origin round: the fetches of up to ORIGIN_BATCH leaders, sent
 * together.  The jobs still to fetch stay in jobs[] (a follower of a leader
 * whose answer may not be shared becomes a leader of its own, a leader
 * parked on a Redis lookup waits for a later round); the connections of
 * the answered ones are added to resume.  Returns the leaders answered. */
static unsigned int run_round(struct conn **resume, unsigned int *nres)
{
	struct origin_target t[ORIGIN_BATCH];
	struct origin_reply rep[ORIGIN_BATCH];
	unsigned int i, k, n = 0, nj = njobs, left = 0;
	int slot[MAX_JOBS], remap[MAX_JOBS];
	unsigned char from_redis[ORIGIN_BATCH], parked[ORIGIN_BATCH];
	unsigned int answered = 0;
	struct origin_limits lim;
	uint64_t t0;

	for (i = 0; i < nj; i++) {
		slot[i] = -1;
		jobs[i].state = JOB_WAIT;
		if (jobs[i].leader < 0 && n < ORIGIN_BATCH) {
			slot[i] = n;
			t[n++] = (struct origin_target){ jobs[i].key,
							 jobs[i].klen };
		}
	}
	origin_limits(&lim);
	t0 = metrics_clock_us();
	rtier_fetch_many(&wk.cfg->origin, t, n, &lim, rep, from_redis, parked);
	/* the fetches of a batch run together: each counts the batch's time */
	for (k = 0; k < n; k++)
		if (!from_redis[k] && !parked[k])
			metrics_origin(&wk.me->m, t0, rep[k].error != NULL);
	pool_counters();
	for (i = 0; i < nj; i++) {
		struct fetch_job *j = &jobs[i];
		struct origin_arg a = { j->key, j->klen };
		struct fetched f = { .fd = -1 };

		if (slot[i] < 0 || parked[slot[i]])
			continue;
		j->state = JOB_DONE;
		answered++;
		if (reply_value(&a, &rep[slot[i]], &f)) {
			/* waiters share an error, as those of another worker
			 * do (cache_abort wakes them to the same end) */
			if (j->r == CACHE_MISS)
				cache_abort(wk.cache, &j->t, j->key, j->klen);
			for (k = i; k < nj; k++)
				if (k == i || jobs[k].leader == (int)i) {
					jobs[k].state = JOB_DONE;
					if (jobs[k].c)
						respond_error(jobs[k].c, 500,
							      jobs[k].head);
				}
			if (f.fd >= 0)
				close(f.fd);
			continue;
		}
		if (j->r == CACHE_MISS)
			value_store(&j->t, j->key, j->klen, &f);
		/* A follower takes the answer when a waiter in another
		 * worker would (ttl >= 0): then it is a hit.  A private
		 * answer (or one too big to keep) is the leader's alone:
		 * the follower fetches its own in the next round. */
		for (k = i + 1; k < nj; k++) {
			struct fetch_job *w = &jobs[k];

			if (w->leader != (int)i)
				continue;
			if (f.fd >= 0 || f.ttl < 0) {
				w->state = JOB_AGAIN;
				continue;
			}
			w->state = JOB_DONE;
			if (!w->c)
				continue;
			STAT_ADD(wk.me->hits, 1);
			respond_value(w->c, f.val, f.len, "HIT", w->head, -1,
				      0);
		}
		if (j->c)
			respond_value(j->c, f.val, f.len,
				      from_redis[slot[i]] ? "HIT-REDIS" :
							    "MISS",
				      j->head, f.fd, f.fd_len);
		else if (f.fd >= 0)
			close(f.fd);
	}
	/* keep what is still to fetch, in order, so leaders stay ahead of
	 * their followers */
	nleaders = 0;
	for (i = 0; i < nj; i++) {
		struct fetch_job *j = &jobs[i];

		if (j->state == JOB_DONE || (j->state == JOB_AGAIN && !j->c)) {
			if (j->c) {
				j->c->waiting = 0;
				resume[(*nres)++] = j->c;
			}
			free(j->key);
			continue;
		}
		if (j->state == JOB_AGAIN) {
			STAT_ADD(wk.me->misses, 1);
			j->leader = -1;
			j->r = CACHE_PASS;
		} else if (j->leader >= 0) {
			j->leader = remap[j->leader];
		}
		if (j->leader < 0)
			nleaders++;
		remap[i] = left;
		jobs[left++] = *j;
	}
	njobs = left;
	return answered;
}

unsigned int jobs_pending(void)
{
	return njobs;
}

unsigned int jobs_run(struct conn **resume)
{
	unsigned int nres = 0;

	while (njobs && run_round(resume, &nres))
		;
	return nres;
}

void serve_origin(struct conn *c, const char *target, size_t len, int head)
{
	struct origin_arg a = { target, len };

	if (!job_add(c, target, len, head))
		serve_cached(c, target, len, fetch_origin, &a, head);
}
