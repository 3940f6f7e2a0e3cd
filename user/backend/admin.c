// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * admin.c - a worker's admin endpoints: /stats (JSON: the cache and every
 * worker's counters) and /metrics (Prometheus, see metrics.c).
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "metrics.h"
#include "prom.h"
#include "worker.h"

/* A JSON document as the answer, ended by a newline as a line of text. */
static void respond_json(struct conn *c, int status, const struct jw *w,
			 int head)
{
	static const char hdrs[] = "Content-Type: application/json\r\n"
				   "Cache-Control: no-store\r\n";

	if (w->oom) {
		respond_error(c, 500, head);
		return;
	}
	if (respond(c, status, hdrs, sizeof(hdrs) - 1, NULL, w->len + 1, NULL,
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
	X(origin_retries)  \
	X(fill_wakes)
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

	cache_get_stats(wk.cache, &cs);
	jw_init(&w, false);
	jw_obj_begin(&w);
	jw_kstr(&w, "host", wk.host);
	jw_kuint(&w, "generation", STAT_GET(wk.sh->generation));
	jw_kbool(&w, "draining", STAT_GET(wk.sh->draining));
	jw_key(&w, "cache");
	jw_obj_begin(&w);
	CACHE_COUNTERS(CACHE_COUNTER)
	jw_obj_end(&w);
#undef CACHE_COUNTER
	jw_key(&w, "workers");
	jw_arr_begin(&w);
	for (int i = 0; i < MAX_SLOTS; i++) {
		int pid = STAT_GET(wk.sh->slots[i].pid);

		if (pid)
			stats_slot(&w, i, &wk.sh->slots[i], pid);
	}
	jw_arr_end(&w);
	rtier_stats_json(&w, wk.sh);
	jw_obj_end(&w);
	respond_json(c, 200, &w, head);
	jw_free(&w);
}

static void serve_metrics(struct conn *c, int head)
{
	static const char hdrs[] = "Content-Type: " PROM_CONTENT_TYPE "\r\n"
				   "Cache-Control: no-store\r\n";
	struct prom p;

	prom_init(&p);
	metrics_render(&p, wk.sh);
	if (p.oom)
		respond_error(c, 500, head);
	else
		respond(c, 200, hdrs, sizeof(hdrs) - 1, p.buf, p.len, NULL,
			head);
	prom_free(&p);
}

/* The answer to a PURGE. */
static void purge_answer(struct conn *c, int local, int err, long long deleted,
			 long long receivers)
{
	struct jw w;

	jw_init(&w, false);
	jw_obj_begin(&w);
	jw_kint(&w, "local", local);
	jw_kint(&w, "redis", deleted);
	jw_kint(&w, "receivers", receivers);
	if (err)
		jw_kstr(&w, "error", strerror(-err));
	jw_obj_end(&w);
	respond_json(c, err ? 502 : 200, &w, 0);
	jw_free(&w);
}

/* A PURGE that waited for Redis is over: answered, its connection goes
 * on. */
static void purge_done(void *arg, int local, int err, long long deleted,
		       long long receivers)
{
	struct conn *c = arg;

	purge_answer(c, local, err, deleted, receivers);
	conn_answered(c);
}

void admin_purge(struct conn *c, const struct http_request *req)
{
	int local, err;

	if (rtier_purge(req->target, req->target_len, purge_done, c, &local,
			&err)) {
		c->waiting = 1; /* the worker goes on meanwhile */
		return;
	}
	purge_answer(c, local, err, 0, 0);
}

void admin_forget(struct conn *c)
{
	rtier_purge_forget(c);
}

/* The admin endpoints: one row per path (route.c says who may ask). */
static const struct {
	const char *path;
	admin_serve_fn *serve;
} admin_routes[] = {
	{ "/stats", serve_stats },
	{ "/metrics", serve_metrics },
};

admin_serve_fn *admin_route(const char *path, size_t len)
{
	for (size_t i = 0; i < sizeof(admin_routes) / sizeof(admin_routes[0]);
	     i++)
		if (strlen(admin_routes[i].path) == len &&
		    !memcmp(admin_routes[i].path, path, len))
			return admin_routes[i].serve;
	return NULL;
}
