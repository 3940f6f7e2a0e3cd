// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * worker.c - one lb-backend worker: a non-blocking epoll loop over many
 * client connections, answering from the shared cache, the origin or the
 * --root directory.
 *
 * Client I/O never blocks.  A cache miss does: the worker fetches from the
 * origin (bounded by --origin-timeout) or waits for another worker's fetch
 * of the same key, and its other connections wait meanwhile.  That keeps a
 * worker a simple sequence of steps; the other workers keep accepting (the
 * listening socket is shared, and a busy worker is not in epoll_wait, so the
 * kernel wakes an idle one), and misses are rare by design.  The misses of
 * one round of epoll are fetched as one batch over pooled origin
 * connections (see run_jobs), so that the worker waits once per round, not
 * once per miss.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "prom.h"

#define OUT_HIGH (1u << 20) /* stop reading a connection above this */
#define LINGER_MS 1000 /* after our close: read and drop what comes */
#define DRAIN_IDLE_MS 1000 /* draining: idle keep-alive gets this long */
#define ACCEPT_PAUSE_MS 500 /* out of descriptors: stop accepting this long */
#define ACCEPT_LOG_MS 5000 /* and say so at most this often */
#define TEXT_PLAIN "Content-Type: text/plain\r\n"

enum conn_state { C_READ, C_LINGER };

struct conn {
	int fd;
	int state;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	uint64_t body_left; /* request body to read and drop */
	int file_fd; /* -1, or a body sent with sendfile() after out */
	off_t file_off;
	uint64_t file_left;
	int admin; /* accepted on the admin listener */
	int waiting; /* its answer waits for the batch of origin fetches */
	int loopback; /* the client is on a loopback address */
	long long req_start; /* head must be complete by req_start + timeout */
	long long last_io;
	long long last_write;
	int close_after; /* close once out is flushed */
	int eof; /* the client shut down its side */
	uint32_t events; /* registered with epoll */
	struct conn *prev, *next;
};

static const struct config *cfg;
static struct shared *sh;
static struct worker_slot *me;
static struct cache *cache;
static int epfd = -1, lfd = -1, afd = -1, rootfd = -1;
static long long accept_resume; /* accepts paused until then (mono ms) */
static long long accept_logged; /* last "accept failed" line */
static unsigned long accept_fails; /* since that line */
static size_t in_cap;
static struct conn *conns;
static unsigned int nconns;
static volatile sig_atomic_t stop_requested;
static int draining;
static long long drain_start, now;
static char host[256] = "localhost";
static char served_by[320];
static struct cache_value val;
static char *vbuf; /* a value being built */
static size_t vbuf_cap;

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

static void on_term(int sig)
{
	stop_requested = 1;
}

static int out_append(struct conn *c, const void *p, size_t n)
{
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *nb;

		while (cap < c->out_len + n)
			cap *= 2;
		nb = realloc(c->out, cap);
		if (!nb)
			return -ENOMEM;
		c->out = nb;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return 0;
}

static const char *http_date(void)
{
	static char buf[64];
	static time_t last;
	time_t t = time(NULL);
	struct tm tm;

	if (t != last) {
		gmtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		last = t;
	}
	return buf;
}

/* Queue a whole response.  hdrs are extra "Name: value\r\n" lines; a NULL
 * body of blen bytes is sent by the caller after it.  0, or -ENOMEM. */
static int respond(struct conn *c, int status, const char *hdrs, size_t hlen,
		   const char *body, size_t blen, const char *xcache, int head)
{
	char h[1024];
	int n;

	if (!c->admin) /* scrapes are not the service's requests */
		metrics_response(&me->m, status, head ? 0 : blen);
	n = snprintf(h, sizeof(h),
		     "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Length: %zu\r\n"
		     "%s%s%sX-Served-By: %s\r\nConnection: %s\r\n",
		     status, http_reason(status), http_date(), blen,
		     xcache ? "X-Cache: " : "", xcache ? xcache : "",
		     xcache ? "\r\n" : "", served_by,
		     c->close_after ? "close" : "keep-alive");
	if (out_append(c, h, n) || out_append(c, hdrs, hlen) ||
	    out_append(c, "\r\n", 2) ||
	    (!head && body && out_append(c, body, blen))) {
		c->close_after = 1; /* out of memory: give up this client */
		return -ENOMEM;
	}
	return 0;
}

static void respond_text(struct conn *c, int status, const char *extra,
			 const char *text, int head)
{
	char h[256];
	int n;

	n = snprintf(
		h, sizeof(h),
		"Content-Type: text/plain\r\nCache-Control: no-store\r\n%s",
		extra ? extra : "");
	respond(c, status, h, n, text, strlen(text), NULL, head);
}

static void respond_error(struct conn *c, int status, int head)
{
	char body[128];

	snprintf(body, sizeof(body), "%d %s\n", status, http_reason(status));
	respond_text(c, status, NULL, body, head);
}

/* ---------------------------------------------------------------- values */

/* A cached value: [u16 status][u16 reserved][u32 header bytes][headers][body] */
#define VHDR 8

static int value_build(int status, const char *hdrs, size_t hlen,
		       const char *body, size_t blen, size_t *len)
{
	size_t n = VHDR + hlen + blen;

	if (n > vbuf_cap) {
		char *nb = realloc(vbuf, n);

		if (!nb)
			return -ENOMEM;
		vbuf = nb;
		vbuf_cap = n;
	}
	vbuf[0] = status & 0xff;
	vbuf[1] = status >> 8;
	vbuf[2] = vbuf[3] = 0;
	memcpy(vbuf + 4, &(uint32_t){ hlen }, 4);
	memcpy(vbuf + VHDR, hdrs, hlen);
	if (blen)
		memcpy(vbuf + VHDR + hlen, body, blen);
	*len = n;
	return 0;
}

/* Queue a value; with fd >= 0 its body is the fd_len bytes of that file
 * (taken over), sent with sendfile() once the head is out. */
static void respond_value(struct conn *c, const char *v, size_t len,
			  const char *xcache, int head, int fd, uint64_t fd_len)
{
	uint32_t hlen;
	int status;

	if (len < VHDR)
		goto bad;
	status = (unsigned char)v[0] | (unsigned char)v[1] << 8;
	memcpy(&hlen, v + 4, 4);
	if (hlen > len - VHDR || status < 200 || status > 599)
		goto bad;
	if (fd < 0) {
		respond(c, status, v + VHDR, hlen, v + VHDR + hlen,
			len - VHDR - hlen, xcache, head);
		return;
	}
	if (respond(c, status, v + VHDR, hlen, NULL, fd_len, xcache, head) ||
	    head) {
		close(fd);
		return;
	}
	c->file_fd = fd;
	c->file_off = 0;
	c->file_left = fd_len;
	return;
bad:
	if (fd >= 0)
		close(fd);
	respond_error(c, 500, head);
}

/* What a fetch made: a value in vbuf, and the body in a file when it is
 * too large to keep in memory. */
struct fetched {
	size_t len; /* of the value in vbuf */
	long ttl; /* for cache_fill() */
	int fd; /* -1, or the body (the value then has none) */
	uint64_t fd_len;
};

/* Look key up; on a miss call fetch() to make the value, store it with the
 * ttl it gives, and answer from it. */
typedef int (*fetch_fn)(const void *arg, struct fetched *f);

static void serve_cached(struct conn *c, const char *key, size_t klen,
			 fetch_fn fetch, const void *arg, int head)
{
	uint64_t fill_ns =
		(uint64_t)cfg->origin_timeout_ms * 1000000ull + 1000000000ull;
	struct fetched f = { .fd = -1 };
	struct cache_ticket t;
	int r, ev;

	r = cache_get(cache, key, klen, fill_ns, &val, &t);
	if (r == CACHE_HIT) {
		STAT_ADD(me->hits, 1);
		respond_value(c, val.data, val.len, "HIT", head, -1, 0);
		return;
	}
	if (r < 0) {
		pr_warn("cache: %s", strerror(-r));
		r = CACHE_PASS;
	}
	STAT_ADD(me->misses, 1);
	if (fetch(arg, &f)) {
		if (f.fd >= 0)
			close(f.fd);
		if (r == CACHE_MISS)
			cache_abort(cache, &t, key, klen);
		respond_error(c, 500, head);
		return;
	}
	if (r == CACHE_MISS) {
		/* a body in a file is over the largest object kept */
		ev = cache_fill(cache, &t, key, klen, vbuf, f.len,
				f.fd >= 0 ? -1 : f.ttl);
		if (ev > 0)
			STAT_ADD(me->evictions, ev);
	}
	respond_value(c, vbuf, f.len, "MISS", head, f.fd, f.fd_len);
}

/* ---------------------------------------------------------------- origin */

struct origin_arg {
	const char *target;
	size_t len;
};

static void origin_limits(struct origin_limits *lim)
{
	*lim = (struct origin_limits){
		.connect_ms = cfg->connect_timeout_ms,
		.timeout_ms = cfg->origin_timeout_ms,
		.max_size = cfg->max_response,
		.max_mem = cfg->max_object,
		.spool_dir = cfg->temp_dir,
		.def_ttl = cfg->ttl,
		.cache_flags = cfg->cache_cookies ? HTTP_CACHE_COOKIES : 0,
	};
}

static void pool_counters(void)
{
	struct origin_pool_stats ps;

	origin_pool_stats(&ps);
	STAT_SET(me->origin_connects, ps.connects);
	STAT_SET(me->origin_reused, ps.reused);
	STAT_SET(me->origin_retries, ps.retries);
}

/* An origin reply as a value in vbuf (and its body file in f); r's body
 * file passes to f. */
static int reply_value(const struct origin_arg *a, struct origin_reply *r,
		       struct fetched *f)
{
	char body[160];
	int err;

	if (r->error) {
		pr_warn("origin %s%.*s: %s", cfg->origin_url, (int)a->len,
			a->target, r->error);
		snprintf(body, sizeof(body), "%d %s: %s\n", r->status,
			 http_reason(r->status), r->error);
		err = value_build(r->status, TEXT_PLAIN, sizeof(TEXT_PLAIN) - 1,
				  body, strlen(body), &f->len);
	} else {
		err = value_build(r->status, r->hdrs, r->hdrs_len, r->body,
				  r->body_len, &f->len);
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
	struct origin_limits lim;
	struct origin_reply r;

	uint64_t t0 = metrics_clock_us();

	origin_limits(&lim);
	origin_fetch(&cfg->origin, ((const struct origin_arg *)p)->target,
		     ((const struct origin_arg *)p)->len, &lim, &r);
	metrics_origin(&me->m, t0, r.error != NULL);
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
#define MAX_JOBS (2 * ORIGIN_BATCH)

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
	uint64_t fill_ns =
		(uint64_t)cfg->origin_timeout_ms * 1000000ull + 1000000000ull;
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
		    nleaders >=
			    (cfg->origin_keepalive ? cfg->origin_keepalive : 1))
			return 0;
		j = &jobs[njobs];
		r = cache_get(cache, key, klen, fill_ns, &val, &j->t);
		if (r == CACHE_HIT) {
			STAT_ADD(me->hits, 1);
			respond_value(c, val.data, val.len, "HIT", head, -1, 0);
			return 1;
		}
		if (r < 0) {
			pr_warn("cache: %s", strerror(-r));
			r = CACHE_PASS;
		}
	} else {
		r = CACHE_PASS;
	}
	j = &jobs[njobs];
	j->key = malloc(klen ? klen : 1);
	if (!j->key) {
		if (leader < 0 && r == CACHE_MISS)
			cache_abort(cache, &j->t, key, klen);
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
		STAT_ADD(me->misses, 1);
	}
	c->waiting = 1;
	return 1;
}

/* The client of a job has gone: its answer goes nowhere. */
static void job_forget(struct conn *c)
{
	for (unsigned int i = 0; i < njobs; i++)
		if (jobs[i].c == c)
			jobs[i].c = NULL;
}

static void process(struct conn *c);

/* One origin round: the fetches of up to ORIGIN_BATCH leaders, sent
 * together.  The jobs still to fetch stay in jobs[] (a follower of a leader
 * whose answer may not be shared becomes a leader of its own); the
 * connections of the answered ones are added to resume. */
static void run_round(struct conn **resume, unsigned int *nres)
{
	struct origin_target t[ORIGIN_BATCH];
	struct origin_reply rep[ORIGIN_BATCH];
	unsigned int i, k, n = 0, nj = njobs, left = 0;
	int slot[MAX_JOBS], remap[MAX_JOBS];
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
	origin_fetch_many(&cfg->origin, t, n, &lim, rep);
	/* the fetches of a batch run together: each counts the batch's time */
	for (k = 0; k < n; k++)
		metrics_origin(&me->m, t0, rep[k].error != NULL);
	pool_counters();
	for (i = 0; i < nj; i++) {
		struct fetch_job *j = &jobs[i];
		struct origin_arg a = { j->key, j->klen };
		struct fetched f = { .fd = -1 };
		int ev;

		if (slot[i] < 0)
			continue;
		j->state = JOB_DONE;
		if (reply_value(&a, &rep[slot[i]], &f)) {
			/* waiters share an error, as those of another worker
			 * do (cache_abort wakes them to the same end) */
			if (j->r == CACHE_MISS)
				cache_abort(cache, &j->t, j->key, j->klen);
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
		if (j->r == CACHE_MISS) {
			ev = cache_fill(cache, &j->t, j->key, j->klen, vbuf,
					f.len, f.fd >= 0 ? -1 : f.ttl);
			if (ev > 0)
				STAT_ADD(me->evictions, ev);
		}
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
			STAT_ADD(me->hits, 1);
			respond_value(w->c, vbuf, f.len, "HIT", w->head, -1, 0);
		}
		if (j->c)
			respond_value(j->c, vbuf, f.len, "MISS", j->head, f.fd,
				      f.fd_len);
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
			STAT_ADD(me->misses, 1);
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
}

static void run_jobs(void)
{
	struct conn *resume[MAX_JOBS];
	unsigned int i, nres = 0;

	while (njobs)
		run_round(resume, &nres);
	/* on with what these connections hold: further requests may start
	 * the next batch */
	now = mono_ms();
	for (i = 0; i < nres; i++)
		process(resume[i]);
}

/* ---------------------------------------------------------------- files */

static const char *content_type(const char *path)
{
	static const char *const types[][2] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".htm", "text/html; charset=utf-8" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".css", "text/css" },
		{ ".js", "text/javascript" },
		{ ".json", "application/json" },
		{ ".png", "image/png" },
		{ ".jpg", "image/jpeg" },
		{ ".svg", "image/svg+xml" },
	};
	size_t n = strlen(path), i, k;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		k = strlen(types[i][0]);
		if (n >= k && !strcasecmp(path + n - k, types[i][0]))
			return types[i][1];
	}
	return "application/octet-stream";
}

/*
 * Open rel beneath the root.  openat2(RESOLVE_BENEATH) has the kernel refuse
 * any ".." or symlink that would leave the root, so a link planted inside
 * the tree cannot lead out of it either.  O_NONBLOCK: opening a FIFO (or a
 * device) must never block the worker; only regular files are served.
 */
static int open_beneath(const char *rel)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	fd = syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

static int fetch_file(const void *p, struct fetched *f)
{
	const char *rel = p;
	char path[PATH_MAX + 16], hdr[128], *body = NULL;
	int fd, status = 200, err, n;
	struct stat st;
	size_t got = 0;
	ssize_t k;

	f->ttl = cfg->ttl;
	fd = open_beneath(rel);
	if (fd >= 0 && !fstat(fd, &st) && S_ISDIR(st.st_mode)) {
		close(fd);
		snprintf(path, sizeof(path), "%s%sindex.html", rel,
			 *rel ? "/" : "");
		fd = open_beneath(path);
		rel = path;
	}
	if (fd < 0) {
		status = fd == -ENOENT || fd == -ENOTDIR ? 404 : 403;
		goto error;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		status = 404;
		goto error;
	}
	n = snprintf(hdr, sizeof(hdr), "Content-Type: %s\r\n",
		     content_type(rel));
	if ((uint64_t)st.st_size > cfg->max_object) {
		/* too large to keep: sent from the file, never held */
		fcntl(fd, F_SETFL, 0);
		f->fd = fd;
		f->fd_len = st.st_size;
		return value_build(200, hdr, n, NULL, 0, &f->len);
	}
	body = malloc(st.st_size ? st.st_size : 1);
	if (!body) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		k = read(fd, body + got, st.st_size - got);
		if (k <= 0) {
			if (k < 0 && errno == EINTR)
				continue;
			break; /* the file shrank: serve what is there */
		}
		got += k;
	}
	close(fd);
	err = value_build(200, hdr, n, body, got, &f->len);
	free(body);
	return err;
error:
	if (fd >= 0)
		close(fd);
	f->ttl = 0;
	snprintf(hdr, sizeof(hdr), "%d %s\n", status, http_reason(status));
	return value_build(status, TEXT_PLAIN, sizeof(TEXT_PLAIN) - 1, hdr,
			   strlen(hdr), &f->len);
}

/* ---------------------------------------------------------------- stats */

/* A JSON document as the answer, ended by a newline as a line of text. */
static void respond_json(struct conn *c, const struct jw *w, int head)
{
	static const char hdrs[] = "Content-Type: application/json\r\n"
				   "Cache-Control: no-store\r\n";

	if (respond(c, 200, hdrs, sizeof(hdrs) - 1, NULL, w->len + 1, NULL,
		    head) ||
	    head)
		return;
	if (out_append(c, w->buf, w->len) || out_append(c, "\n", 1))
		c->close_after = 1; /* out of memory: give up this client */
}

/* The counters in /stats, each under its field's name. */
#define SLOT_COUNTERS(X)   \
	X(started)         \
	X(restarts)        \
	X(requests)        \
	X(hits)            \
	X(misses)          \
	X(evictions)       \
	X(connections)     \
	X(origin_connects) \
	X(origin_reused)   \
	X(origin_retries)
#define CACHE_COUNTERS(X) \
	X(capacity)       \
	X(bytes)          \
	X(entries)        \
	X(hits)           \
	X(misses)         \
	X(coalesced)      \
	X(evictions)      \
	X(expired)        \
	X(recoveries)

/* One worker's slot in /stats. */
static void stats_slot(struct jw *w, int i, const struct worker_slot *s,
		       int pid)
{
#define SLOT_COUNTER(f) jw_kuint(w, #f, STAT_GET(s->f));
	jw_obj_begin(w);
	jw_kint(w, "slot", i);
	jw_kint(w, "pid", pid);
	jw_kuint(w, "generation", STAT_GET(s->generation));
	jw_kuint(w, "index", STAT_GET(s->index));
	jw_kbool(w, "ready", STAT_GET(s->ready));
	SLOT_COUNTERS(SLOT_COUNTER)
	jw_obj_end(w);
#undef SLOT_COUNTER
}

static void serve_stats(struct conn *c, int head)
{
#define CACHE_COUNTER(f) jw_kuint(&w, #f, cs.f);
	struct cache_stats cs;
	struct jw w;

	cache_get_stats(cache, &cs);
	jw_init(&w, false);
	jw_obj_begin(&w);
	jw_kstr(&w, "host", host);
	jw_kuint(&w, "generation", STAT_GET(sh->generation));
	jw_kbool(&w, "draining", STAT_GET(sh->draining));
	jw_key(&w, "cache");
	jw_obj_begin(&w);
	CACHE_COUNTERS(CACHE_COUNTER)
	jw_obj_end(&w);
#undef CACHE_COUNTER
	jw_key(&w, "workers");
	jw_arr_begin(&w);
	for (int i = 0; i < MAX_SLOTS; i++) {
		int pid = STAT_GET(sh->slots[i].pid);

		if (pid)
			stats_slot(&w, i, &sh->slots[i], pid);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	if (w.oom)
		respond_error(c, 500, head);
	else
		respond_json(c, &w, head);
	jw_free(&w);
}

static void serve_metrics(struct conn *c, int head)
{
	static const char hdrs[] = "Content-Type: " PROM_CONTENT_TYPE "\r\n"
				   "Cache-Control: no-store\r\n";
	struct prom p;

	prom_init(&p);
	metrics_render(&p, sh);
	if (p.oom)
		respond_error(c, 500, head);
	else
		respond(c, 200, hdrs, sizeof(hdrs) - 1, p.buf, p.len, NULL,
			head);
	prom_free(&p);
}

/* ---------------------------------------------------------------- admin */

/*
 * The admin endpoints: one row per path.  They are served on the admin
 * listener (--admin-listen) when there is one, and then never on the
 * service listener, where these paths are content like any other.  Without
 * an admin listener they are served on the service listener to loopback
 * clients only; anyone else gets 404, as for a page that does not exist.
 */
struct admin_route {
	const char *path;
	void (*serve)(struct conn *c, int head);
};

static const struct admin_route admin_routes[] = {
	{ "/stats", serve_stats },
	{ "/metrics", serve_metrics },
};

static const struct admin_route *admin_route(const char *path, size_t len)
{
	for (size_t i = 0; i < sizeof(admin_routes) / sizeof(admin_routes[0]);
	     i++)
		if (strlen(admin_routes[i].path) == len &&
		    !memcmp(admin_routes[i].path, path, len))
			return &admin_routes[i];
	return NULL;
}

/* ---------------------------------------------------------------- requests */

static void handle(struct conn *c, const struct http_request *req)
{
	int head = req->method == HTTP_M_HEAD;
	size_t plen = strcspn(req->target, "? ");
	const struct admin_route *ar;
	char rel[PATH_MAX];
	int n;

	STAT_ADD(me->requests, 1);
	if (plen > req->target_len)
		plen = req->target_len;
	if (req->method == HTTP_M_OTHER) {
		respond_text(c, 405, "Allow: GET, HEAD\r\n",
			     "405 Method Not Allowed\n", 0);
		return;
	}
	if (plen == 8 && !memcmp(req->target, "/healthz", 8)) {
		if (STAT_GET(sh->draining))
			respond_text(c, 503, NULL, "draining\n", head);
		else
			respond_text(c, 200, NULL, "ok\n", head);
		return;
	}
	if (c->admin || !cfg->admin_listen[0]) {
		ar = admin_route(req->target, plen);
		if (ar && (c->admin || c->loopback)) {
			ar->serve(c, head);
			return;
		}
		if (ar || c->admin) {
			respond_error(c, 404, head);
			return;
		}
	}
	if (cfg->root[0]) {
		n = http_target_path(req->target, req->target_len, rel + 5,
				     sizeof(rel) - 5);
		if (n < 0) {
			respond_error(c, -n, head);
			return;
		}
		/* the key space of files is apart from that of URLs */
		memcpy(rel, "file:", 5);
		serve_cached(c, rel, n + 5, fetch_file, rel + 5, head);
		return;
	}
	struct origin_arg a = { req->target, req->target_len };

	if (!job_add(c, req->target, req->target_len, head))
		serve_cached(c, req->target, req->target_len, fetch_origin, &a,
			     head);
}

static void conn_close(struct conn *c)
{
	if (c->waiting)
		job_forget(c);
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->file_fd >= 0)
		close(c->file_fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c->in);
	free(c->out);
	free(c);
	nconns--;
	STAT_SET(me->connections, nconns);
}

/* Output still to send: queued bytes or a file body. */
static int out_pending(const struct conn *c)
{
	return c->out_off < c->out_len || c->file_fd >= 0;
}

/*
 * Level-triggered interest that follows the connection: no EPOLLIN while its
 * input buffer is full or an answer to a refused request is pending (else
 * epoll would report the same readiness forever), EPOLLOUT only while
 * output is queued.
 */
static void update_interest(struct conn *c)
{
	struct epoll_event ev = { .data.ptr = c };

	if (c->state == C_LINGER ||
	    (c->in_len < in_cap && !c->close_after && !c->eof))
		ev.events |= EPOLLIN | EPOLLRDHUP;
	if (out_pending(c))
		ev.events |= EPOLLOUT;
	if (ev.events == c->events)
		return;
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->events = ev.events;
}

/* Send the file body, at most what the socket takes now.  1 when it is
 * all sent, 0 when the socket is full, -1 on an error. */
static int send_file(struct conn *c)
{
	ssize_t k;

	while (c->file_left) {
		k = sendfile(c->fd, c->file_fd, &c->file_off,
			     c->file_left > (1u << 30) ? (1u << 30) :
							 c->file_left);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		if (k == 0)
			return -1; /* the file shrank under us */
		c->file_left -= k;
		c->last_write = now;
	}
	close(c->file_fd);
	c->file_fd = -1;
	return 1;
}

/* Write what is queued.  Returns -1 if the connection was closed. */
static int flush(struct conn *c)
{
	ssize_t k;
	int r;

	while (c->out_off < c->out_len) {
		k = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				update_interest(c);
				return 0;
			}
			conn_close(c);
			return -1;
		}
		c->out_off += k;
		c->last_write = now;
	}
	c->out_off = c->out_len = 0;
	if (c->file_fd >= 0) {
		r = send_file(c);
		if (r < 0) {
			conn_close(c);
			return -1;
		}
		if (r == 0) {
			update_interest(c);
			return 0;
		}
	}
	if (c->waiting) {
		/* the answer is still to come from the origin */
		update_interest(c);
		return 0;
	}
	if (c->close_after || (c->eof && !c->in_len)) {
		/* half-close, then drop what the client still sends, so that
		 * our answer is not destroyed by a reset before it is read */
		shutdown(c->fd, SHUT_WR);
		c->state = C_LINGER;
		c->req_start = now + LINGER_MS;
		if (c->eof) {
			conn_close(c);
			return -1;
		}
	}
	update_interest(c);
	return 0;
}

static void process(struct conn *c)
{
	struct http_request req;
	int r;

	/* a file body being sent, or an answer being fetched, holds the
	 * answers after it back */
	while (c->state == C_READ && !c->close_after && c->file_fd < 0 &&
	       !c->waiting && c->out_len - c->out_off < OUT_HIGH) {
		if (c->body_left) {
			size_t n = c->in_len < c->body_left ? c->in_len :
							      c->body_left;

			memmove(c->in, c->in + n, c->in_len - n);
			c->in_len -= n;
			c->body_left -= n;
			if (c->body_left)
				break;
			continue;
		}
		if (!c->in_len)
			break;
		if (!c->req_start)
			c->req_start = now;
		r = http_parse_request(c->in, c->in_len, &cfg->limits, &req);
		if (r == 0)
			break;
		c->close_after = r < 0 || !req.keep_alive || draining;
		if (r < 0) {
			pr_debug("refused a request: %d", -r);
			STAT_ADD(me->requests, 1);
			respond_error(c, -r, 0);
			break;
		}
		handle(c, &req);
		now = mono_ms();
		memmove(c->in, c->in + r, c->in_len - r);
		c->in_len -= r;
		if (req.content_length > 0)
			c->body_left = req.content_length;
		c->req_start = 0;
		c->last_io = now;
	}
	flush(c);
}

static void on_readable(struct conn *c)
{
	char drop[4096];
	ssize_t k;

	if (c->state == C_LINGER) {
		do
			k = recv(c->fd, drop, sizeof(drop), 0);
		while (k > 0);
		if (k == 0 || errno != EAGAIN)
			conn_close(c);
		return;
	}
	while (!c->eof && c->in_len < in_cap) {
		k = recv(c->fd, c->in + c->in_len, in_cap - c->in_len, 0);
		if (k > 0) {
			c->in_len += k;
			c->last_io = now;
			continue;
		}
		if (k == 0) {
			c->eof = 1;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			break;
		conn_close(c);
		return;
	}
	if (c->eof && !c->in_len && !out_pending(c) && !c->waiting) {
		conn_close(c);
		return;
	}
	process(c);
}

static int is_loopback(const struct sockaddr_storage *ss)
{
	static const unsigned char v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	const struct sockaddr_in6 *s6 = (const void *)ss;
	const struct sockaddr_in *s4 = (const void *)ss;

	if (ss->ss_family == AF_INET)
		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family != AF_INET6)
		return 0;
	if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
		return 1;
	return !memcmp(s6->sin6_addr.s6_addr, v4mapped, 12) &&
	       s6->sin6_addr.s6_addr[12] == 127;
}

/* Listening sockets in this worker's epoll: data.ptr names them. */
static char tag_service, tag_admin;

static void listeners_watch(int op)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE };

	/* EPOLLEXCLUSIVE: a new connection wakes one idle worker, not all */
	if (lfd >= 0) {
		ev.data.ptr = &tag_service;
		if (epoll_ctl(epfd, op, lfd, op == EPOLL_CTL_DEL ? NULL : &ev))
			pr_debug("epoll_ctl listener: %s", strerror(errno));
	}
	if (afd >= 0) {
		ev.data.ptr = &tag_admin;
		if (epoll_ctl(epfd, op, afd, op == EPOLL_CTL_DEL ? NULL : &ev))
			pr_debug("epoll_ctl admin listener: %s",
				 strerror(errno));
	}
}

/*
 * EPOLLEXCLUSIVE wakes the first idle worker in the listening socket's wait
 * queue, which is the same one again and again while it keeps up: one core
 * serves everything.  Having taken a connection, a worker re-registers
 * (delete, add), which puts it at the tail of that queue: the next
 * connection wakes the idle worker that waited longest, and connections go
 * round the workers.  Two system calls per accepted connection; none per
 * request on a kept-alive one.
 */
static void rotate_listener(void)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE,
				  .data.ptr = &tag_service };

	if (epoll_ctl(epfd, EPOLL_CTL_DEL, lfd, NULL) ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev))
		pr_warn("epoll_ctl listener: %s", strerror(errno));
}

/*
 * accept() failing for want of descriptors or memory leaves the connection
 * in the queue, and a level-triggered listener would wake us again at once:
 * stop accepting for a while instead (nginx does the same), and say so in
 * the log once in a while, with how often it happened meanwhile.
 */
static void accept_pause(int err)
{
	accept_fails++;
	if (!accept_resume)
		listeners_watch(EPOLL_CTL_DEL);
	accept_resume = now + ACCEPT_PAUSE_MS;
	if (!accept_logged || now - accept_logged >= ACCEPT_LOG_MS) {
		pr_warn("accept: %s; not accepting for %d ms (%lu time(s) since the last such line)",
			strerror(err), ACCEPT_PAUSE_MS, accept_fails);
		accept_logged = now;
		accept_fails = 0;
	}
}

static void on_accept(int listener, int admin)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct conn *c;
	int fd;

	/* One connection per wake-up: a worker that is busy stays out of
	 * epoll_wait and the kernel hands the next one to an idle worker. */
	fd = accept4(listener, (struct sockaddr *)&ss, &sl,
		     SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			accept_pause(errno);
		else if (errno != EAGAIN && errno != EINTR &&
			 errno != ECONNABORTED)
			pr_warn("accept: %s", strerror(errno));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c)
		c->in = malloc(in_cap);
	if (!c || !c->in || nconns >= cfg->max_conns) {
		static const char busy[] =
			"HTTP/1.1 503 Service Unavailable\r\n"
			"Content-Length: 0\r\nConnection: close\r\n\r\n";

		if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0)
			pr_debug("send: %s", strerror(errno));
		close(fd);
		if (c)
			free(c->in);
		free(c);
		return;
	}
	if (!admin && cfg->accept_mode == ACCEPT_ROTATE)
		rotate_listener();
	c->fd = fd;
	c->file_fd = -1;
	c->admin = admin;
	c->loopback = is_loopback(&ss);
	c->events = ev.events;
	c->req_start = c->last_io = c->last_write = now;
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		free(c->in);
		free(c);
		return;
	}
	c->next = conns;
	if (conns)
		conns->prev = c;
	conns = c;
	nconns++;
	STAT_SET(me->connections, nconns);
	/* a client usually sends at once: save the round through epoll */
	on_readable(c);
}

static void expire(void)
{
	struct conn *c, *next;
	long long idle_ms;

	for (c = conns; c; c = next) {
		next = c->next;
		if (c->state == C_LINGER) {
			if (now >= c->req_start)
				conn_close(c);
			continue;
		}
		if (c->waiting)
			continue; /* bounded by --origin-timeout */
		if (out_pending(c)) {
			/* a client that does not read is as bad as one that
			 * does not write */
			if (now - c->last_write > cfg->read_timeout_ms)
				conn_close(c);
			continue;
		}
		if (c->body_left) {
			/* a request body must keep coming: no byte of it
			 * within the read timeout ends the connection (its
			 * answer has gone out already) */
			if (now - c->last_io > cfg->read_timeout_ms)
				conn_close(c);
			continue;
		}
		if (c->req_start || c->in_len) {
			if (c->req_start &&
			    now - c->req_start > cfg->read_timeout_ms) {
				/* slow loris: the head did not come in time */
				c->close_after = 1;
				respond_error(c, 408, 0);
				flush(c);
			}
			continue;
		}
		idle_ms = now - c->last_io;
		if (draining) {
			long long d = now - drain_start;

			if (d < idle_ms)
				idle_ms = d;
			if (idle_ms > DRAIN_IDLE_MS)
				conn_close(c);
		} else if (idle_ms > cfg->idle_timeout_ms) {
			conn_close(c);
		}
	}
	origin_pool_expire(now);
}

static void start_drain(void)
{
	draining = 1;
	drain_start = now;
	/* Stop accepting: connections still in the shared queue are left to
	 * the other workers (new ones on a reload). */
	if (!accept_resume)
		listeners_watch(EPOLL_CTL_DEL);
	if (lfd >= 0)
		close(lfd);
	if (afd >= 0)
		close(afd);
	lfd = afd = -1;
	pr_info("draining %u connection(s)", nconns);
}

void worker_run(const struct config *config, int listen_fd, int admin_fd,
		struct shared *shared, int slot)
{
	struct sigaction sa = { .sa_handler = on_term };
	struct epoll_event evs[64];
	long long last_expire = 0;
	sigset_t none;
	int i, n;

	cfg = config;
	sh = shared;
	me = &sh->slots[slot];
	lfd = listen_fd;
	afd = admin_fd;
	lb_log_name("lb-backend", "worker");
	in_cap = cfg->limits.max_header + 2;

	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL); /* the master's business */
	sigaction(SIGINT, &sa, NULL); /* ^C reaches the master, which drains */
	sa.sa_handler = SIG_DFL;
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* orphaned workers drain and leave rather than serve unsupervised */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		stop_requested = 1;

	gethostname(host, sizeof(host) - 1);
	snprintf(served_by, sizeof(served_by), "%s/%d", host, (int)getpid());
	cache = shared_cache(sh);
	if (!cache) {
		pr_err("shared cache is not valid");
		_exit(1);
	}
	if (cfg->root[0]) {
		rootfd = open(cfg->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0) {
			pr_err("--root %s: %s", cfg->root, strerror(errno));
			_exit(1);
		}
	}
	origin_pool_init(cfg->origin_keepalive, cfg->origin_idle_ms);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		pr_err("epoll_create1: %s", strerror(errno));
		_exit(1);
	}
	listeners_watch(EPOLL_CTL_ADD);
	STAT_SET(me->ready, 1);
	pr_debug("worker %u of generation %u ready", me->index, me->generation);

	for (;;) {
		n = epoll_wait(epfd, evs, 64, njobs ? 0 : 100);
		now = mono_ms();
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if ((void *)c == &tag_service ||
			    (void *)c == &tag_admin) {
				if (!accept_resume && !draining)
					on_accept((void *)c == &tag_admin ?
							  afd :
							  lfd,
						  (void *)c == &tag_admin);
				continue;
			}
			if (evs[i].events & EPOLLOUT) {
				if (flush(c) < 0)
					continue;
				if (c->state == C_READ && !out_pending(c)) {
					process(c);
					continue;
				}
			}
			if (evs[i].events &
			    (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				on_readable(c);
		}
		run_jobs();
		if (accept_resume && now >= accept_resume && !draining) {
			accept_resume = 0;
			listeners_watch(EPOLL_CTL_ADD);
		}
		if (stop_requested && !draining)
			start_drain();
		if (now - last_expire >= 100 || draining) {
			expire();
			last_expire = now;
		}
		if (draining && !conns) {
			pr_debug("drained");
			_exit(0);
		}
	}
}
