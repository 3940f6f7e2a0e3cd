// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* rtier_stats.c - the Redis tier's counters in /stats and /metrics. */
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "json.h"
#include "prom.h"
#include "rtier_int.h"

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
	C(purge_resets,
	  "Times the local cache was dropped: purges may have gone unheard."),
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

	if (!rt.rc || !rt.rc->url[0])
		return;
	sum(sh, &s, &open);
	jw_key(w, "redis");
	jw_obj_begin(w);
	jw_kstr(w, "server", rt.rc->shown);
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

	if (!rt.rc || !rt.rc->url[0])
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
