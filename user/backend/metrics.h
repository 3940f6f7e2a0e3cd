/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * metrics.h - lb-backend's Prometheus metrics (GET /metrics): what each
 * worker counts for them, and the rendering of every worker's figures.
 */
#ifndef LB_BACKEND_METRICS_H
#define LB_BACKEND_METRICS_H

#include <stdint.h>

struct prom;
struct shared;

#define ORIGIN_BUCKETS 13

/*
 * Kept in each worker's slot of the shared block: written by that worker
 * only (relaxed atomic adds), read by whichever worker answers a scrape.
 */
struct worker_metrics {
	uint64_t responses[6]; /* [1]..[5]: 1xx..5xx; [0]: any other */
	uint64_t response_bytes; /* bodies (Content-Length), HEAD excluded */
	uint64_t origin_errors; /* fetches that got no usable answer */
	uint64_t origin_us; /* sum of fetch durations */
	uint64_t origin_buckets[ORIGIN_BUCKETS + 1]; /* last: above all */
};

/* A response of the given status with a body of body_bytes was queued. */
void metrics_response(struct worker_metrics *m, int status,
		      uint64_t body_bytes);
/* Now, for the start of an origin fetch (monotonic microseconds). */
uint64_t metrics_clock_us(void);
/* An origin fetch that began at start_us ended; failed if no answer. */
void metrics_origin(struct worker_metrics *m, uint64_t start_us, int failed);
/* Every worker's figures and the shared cache's, in exposition format. */
void metrics_render(struct prom *p, struct shared *sh);

#endif /* LB_BACKEND_METRICS_H */
