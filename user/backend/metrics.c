// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * metrics.c - lb-backend's Prometheus metrics.  Any worker may answer a
 * scrape: it renders every live worker's slot of the shared block (label
 * worker, the worker's index in its generation, and generation, which
 * tells two workers of one index apart during a reload) and the shared
 * cache's figures.  Names carry the lb_backend_ prefix; the exposition
 * writer is user/common/prom.c, shared with lbd.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "metrics.h"
#include "prom.h"

/* Origin fetch duration buckets, in seconds (ORIGIN_BUCKETS). */
static const double origin_bounds[ORIGIN_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

void metrics_response(struct worker_metrics *m, int status, uint64_t body_bytes)
{
	int cls = status / 100;

	STAT_ADD(m->responses[cls >= 1 && cls <= 5 ? cls : 0], 1);
	STAT_ADD(m->response_bytes, body_bytes);
}

uint64_t metrics_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void metrics_origin(struct worker_metrics *m, uint64_t start_us, int failed)
{
	uint64_t us = metrics_clock_us() - start_us;

	STAT_ADD(m->origin_us, us);
	STAT_ADD(m->origin_buckets[prom_bucket(origin_bounds, ORIGIN_BUCKETS,
					       (double)us / 1e6)],
		 1);
	if (failed)
		STAT_ADD(m->origin_errors, 1);
}

/* ---------------------------------------------------------------- render */

/* One worker as a scrape sees it: every field read once. */
struct wsnap {
	int pid;
	struct prom_labels l; /* worker="I",generation="G" */
	uint64_t ready, started, restarts, connections;
	uint64_t hits, misses, evictions;
	uint64_t origin_connects, origin_reused, origin_retries;
	uint64_t fill_wakes;
	struct worker_metrics m;
	struct prom_proc proc;
	bool proc_ok;
};

static void snap_worker(struct worker_slot *s, struct wsnap *w)
{
	char idx[16], gen[16];

	w->pid = STAT_GET(s->pid);
	snprintf(idx, sizeof(idx), "%u", STAT_GET(s->index));
	snprintf(gen, sizeof(gen), "%u", STAT_GET(s->generation));
	prom_labels_init(&w->l);
	prom_label(&w->l, "worker", idx);
	prom_label(&w->l, "generation", gen);
	w->ready = STAT_GET(s->ready);
	w->started = STAT_GET(s->started);
	w->restarts = STAT_GET(s->restarts);
	w->connections = STAT_GET(s->connections);
	w->hits = STAT_GET(s->hits);
	w->misses = STAT_GET(s->misses);
	w->evictions = STAT_GET(s->evictions);
	w->origin_connects = STAT_GET(s->origin_connects);
	w->origin_reused = STAT_GET(s->origin_reused);
	w->origin_retries = STAT_GET(s->origin_retries);
	w->fill_wakes = STAT_GET(s->fill_wakes);
	for (int i = 0; i < 6; i++)
		w->m.responses[i] = STAT_GET(s->m.responses[i]);
	w->m.response_bytes = STAT_GET(s->m.response_bytes);
	w->m.origin_errors = STAT_GET(s->m.origin_errors);
	w->m.origin_us = STAT_GET(s->m.origin_us);
	for (int i = 0; i <= ORIGIN_BUCKETS; i++)
		w->m.origin_buckets[i] = STAT_GET(s->m.origin_buckets[i]);
	w->proc_ok = !prom_proc_read(w->pid, &w->proc);
}

enum wfield {
	W_BYTES,
	W_CONNS,
	W_HITS,
	W_MISSES,
	W_EVICTIONS,
	W_ORIGIN_ERRORS,
	W_ORIGIN_CONNECTS,
	W_ORIGIN_REUSED,
	W_ORIGIN_RETRIES,
	W_FILL_WAKES,
	W_READY,
	W_STARTED,
	W_RESTARTS,
	W_CPU,
	W_RSS,
};

static const struct {
	enum wfield f;
	const char *name, *type, *help;
} wfam[] = {
	{ W_BYTES, "lb_backend_response_bytes_total", "counter",
	  "Bytes of response bodies sent (HEAD answers excluded)." },
	{ W_CONNS, "lb_backend_connections", "gauge",
	  "Client connections open now." },
	{ W_HITS, "lb_backend_cache_hits_total", "counter",
	  "Requests answered from the shared cache." },
	{ W_MISSES, "lb_backend_cache_misses_total", "counter",
	  "Requests the cache could not answer (fetched, or waited for "
	  "another worker's fetch)." },
	{ W_EVICTIONS, "lb_backend_cache_evictions_total", "counter",
	  "Cache entries evicted to make room for this worker's fills." },
	{ W_ORIGIN_ERRORS, "lb_backend_origin_errors_total", "counter",
	  "Origin fetches that failed (connect, timeout, bad answer)." },
	{ W_ORIGIN_CONNECTS, "lb_backend_origin_connections_total", "counter",
	  "New connections opened to the origin." },
	{ W_ORIGIN_REUSED, "lb_backend_origin_reused_total", "counter",
	  "Origin fetches made on a pooled (kept-alive) connection." },
	{ W_ORIGIN_RETRIES, "lb_backend_origin_retries_total", "counter",
	  "Fetches retried on a new connection because the pooled one had "
	  "been closed by the origin." },
	{ W_FILL_WAKES, "lb_backend_fill_wakeups_total", "counter",
	  "Times requests of this worker that waited for another worker's "
	  "fetch of the same key were woken by the end of that fetch." },
	{ W_READY, "lb_backend_worker_ready", "gauge",
	  "1 once the worker accepts connections." },
	{ W_STARTED, "lb_backend_worker_start_time_seconds", "gauge",
	  "When the worker started, in seconds since the epoch." },
	{ W_RESTARTS, "lb_backend_worker_restarts_total", "counter",
	  "Replacements of this worker after it died." },
	{ W_CPU, "lb_backend_worker_cpu_seconds_total", "counter",
	  "User and system CPU time of the worker process." },
	{ W_RSS, "lb_backend_worker_resident_memory_bytes", "gauge",
	  "Resident memory of the worker process." },
};

static double wvalue(const struct wsnap *w, enum wfield f)
{
	switch (f) {
	case W_BYTES:
		return (double)w->m.response_bytes;
	case W_CONNS:
		return (double)w->connections;
	case W_HITS:
		return (double)w->hits;
	case W_MISSES:
		return (double)w->misses;
	case W_EVICTIONS:
		return (double)w->evictions;
	case W_ORIGIN_ERRORS:
		return (double)w->m.origin_errors;
	case W_ORIGIN_CONNECTS:
		return (double)w->origin_connects;
	case W_ORIGIN_REUSED:
		return (double)w->origin_reused;
	case W_ORIGIN_RETRIES:
		return (double)w->origin_retries;
	case W_FILL_WAKES:
		return (double)w->fill_wakes;
	case W_READY:
		return (double)w->ready;
	case W_STARTED:
		return (double)w->started;
	case W_RESTARTS:
		return (double)w->restarts;
	case W_CPU:
		return w->proc.cpu_seconds;
	case W_RSS:
		return (double)w->proc.rss_bytes;
	}
	return 0;
}

static void render_workers(struct prom *p, const struct wsnap *ws, int n)
{
	static const char *const cls[6] = { "other", "1xx", "2xx",
					    "3xx",   "4xx", "5xx" };

	prom_head(p, "lb_backend_requests_total", "counter",
		  "Requests answered, by status class of the answer.");
	for (int i = 0; i < n; i++)
		for (int c = 1; c <= 6; c++) {
			struct prom_labels l = ws[i].l;

			prom_label(&l, "class", cls[c % 6]);
			prom_u64(p, "lb_backend_requests_total", &l,
				 ws[i].m.responses[c % 6]);
		}
	for (size_t f = 0; f < sizeof(wfam) / sizeof(wfam[0]); f++) {
		prom_head(p, wfam[f].name, wfam[f].type, wfam[f].help);
		for (int i = 0; i < n; i++) {
			if ((wfam[f].f == W_CPU || wfam[f].f == W_RSS) &&
			    !ws[i].proc_ok)
				continue;
			prom_dbl(p, wfam[f].name, &ws[i].l,
				 wvalue(&ws[i], wfam[f].f));
		}
	}
	prom_head(p, "lb_backend_origin_fetch_duration_seconds", "histogram",
		  "Duration of fetches from the origin, failed ones included "
		  "(the fetches of one batch each count the whole batch).");
	for (int i = 0; i < n; i++)
		prom_histogram(p, "lb_backend_origin_fetch_duration_seconds",
			       &ws[i].l, origin_bounds, ws[i].m.origin_buckets,
			       ORIGIN_BUCKETS, (double)ws[i].m.origin_us / 1e6);
}

static void single(struct prom *p, const char *name, const char *type,
		   const char *help, double v)
{
	prom_head(p, name, type, help);
	prom_dbl(p, name, NULL, v);
}

void metrics_render(struct prom *p, struct shared *sh)
{
	static struct wsnap ws[MAX_SLOTS];
	struct cache_stats cs;
	int n = 0;

	for (int i = 0; i < MAX_SLOTS; i++) {
		if (!STAT_GET(sh->slots[i].pid))
			continue;
		snap_worker(&sh->slots[i], &ws[n]);
		if (ws[n].pid)
			n++;
	}
	cache_get_stats(shared_cache(sh), &cs);

	single(p, "lb_backend_generation", "gauge",
	       "Configuration generation (bumped by every reload).",
	       STAT_GET(sh->generation));
	single(p, "lb_backend_draining", "gauge",
	       "1 while stopping: /healthz answers 503.",
	       STAT_GET(sh->draining));
	single(p, "lb_backend_workers", "gauge",
	       "Worker processes alive, of every generation.", n);
	render_workers(p, ws, n);
	single(p, "lb_backend_cache_capacity_bytes", "gauge",
	       "Bytes the shared cache may hold.", (double)cs.capacity);
	single(p, "lb_backend_cache_bytes", "gauge",
	       "Bytes of keys and values stored in the shared cache.",
	       (double)cs.bytes);
	single(p, "lb_backend_cache_entries", "gauge",
	       "Entries in the shared cache.", (double)cs.entries);
	single(p, "lb_backend_cache_singleflight_waits_total", "counter",
	       "Requests that waited for another request's fetch of the same "
	       "key instead of fetching it again.",
	       (double)cs.coalesced);
	single(p, "lb_backend_cache_expired_total", "counter",
	       "Cache entries dropped because their time to live ran out.",
	       (double)cs.expired);
	single(p, "lb_backend_cache_lock_recoveries_total", "counter",
	       "Repairs of the cache after a holder of its lock died.",
	       (double)cs.recoveries);
	rtier_metrics(p, sh);
	/* process_*: the master's, the one process that lives as long as
	 * the service (workers have their own figures above); none from an
	 * orphaned worker, whose parent is no longer the master */
	if (getppid() > 1)
		prom_process(p, getppid());
}
