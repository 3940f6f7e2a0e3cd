// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ctkeep.c - the upkeep of lb_ct4, the connection table of IPv4 flows to
 * VIPs of one port, once a second from lbd's timer.
 *
 * Its live part follows the flows it holds, so that the lines they sit on
 * stay few and in the CPU's cache (bench/DATAPATH.md): it doubles as soon
 * as the datapath evicts flows in more than a few lookups in a thousand, or
 * when a sweep finds more than half of its words in
 * use, and halves when a sweep finds less than an eighth in use
 * (lb_dp_ct4_fit).  A sweep every
 * ct_idle_s / 2 seconds forgets the flows no packet found since the one
 * before.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lbd.h"
#include "log.h"

static void ct4_fit(struct lbd *d, uint64_t evicted, uint64_t lookups,
		    uint64_t kept, const char *why)
{
	struct lb_ct4_resize_result r;
	uint32_t from = 0, to = 0;
	int err = lb_dp_ct4_fit(&d->dp, evicted, lookups, kept, &r, &from, &to);

	if (err < 0)
		pr_warn("connection table (IPv4): cannot resize to %u lines: "
			"%s",
			1U << to, strerror(-err));
	else if (err > 0)
		pr_info("connection table (IPv4): %u lines (was %u), %s; %llu "
			"entries moved, %llu dropped",
			1U << to, 1U << from, why, (unsigned long long)r.moved,
			(unsigned long long)r.dropped);
}

int lbd_ct4_size_for(struct lbd *d, uint64_t n)
{
	struct lb_ct4_resize_result r;
	uint32_t bits = LB_CT4_MIN_BITS, max = lb_dp_ct4_max_bits(&d->dp);
	struct lb_ct4_state s;
	int err;

	/* at most half full */
	while (bits < max && ((uint64_t)LB_CT4_WAYS << bits) < 2 * n)
		bits++;
	err = lb_dp_ct4_state(&d->dp, &s);
	if (err)
		return err;
	if (bits <= s.bits)
		return 0;
	err = lb_dp_ct4_resize(&d->dp, bits, &r);
	if (err)
		pr_warn("connection table (IPv4): cannot resize to %u lines: "
			"%s",
			1U << bits, strerror(-err));
	return err;
}

void lbd_ct4_purge_later(struct lbd *d, uint32_t id)
{
	if (id >= LB_MAX_BACKENDS)
		return;
	if (!d->ct4_purge) {
		d->ct4_purge = calloc(LB_MAX_BACKENDS, 1);
		if (!d->ct4_purge)
			return;
	}
	d->ct4_purge[id] = 1;
	d->ct4_purge_ms = lbd_now_ms();
}

/* The words of the marked ids, once the last mark is 100 ms old. */
static void ct4_purge(struct lbd *d)
{
	uint64_t purged = 0;
	int err;

	if (!d->ct4_purge_ms || lbd_now_ms() - d->ct4_purge_ms < 100)
		return;
	err = lb_dp_ct4_purge(&d->dp, d->ct4_purge, LB_MAX_BACKENDS, &purged);
	if (err) {
		pr_warn("connection table (IPv4): cannot forget the flows of "
			"removed backends: %s",
			strerror(-err));
		return;
	}
	if (purged)
		pr_info("connection table (IPv4): forgot %llu flows of "
			"removed backends",
			(unsigned long long)purged);
	memset(d->ct4_purge, 0, LB_MAX_BACKENDS);
	d->ct4_purge_ms = 0;
}

void lbd_ct4_tick(struct lbd *d)
{
	struct lb_counter sums[LB_STAT_MAX];
	struct lb_ct4_sweep_result sw;
	uint64_t now = lbd_now_ms();
	struct lb_ct4_state s;

	if (!d->skel || lb_dp_ct4_state(&d->dp, &s))
		return;
	ct4_purge(d);
	/* a resize that a stopped lbd left half done */
	if (s.old_bits != s.bits) {
		ct4_fit(d, 0, 0, UINT64_MAX, "a resize finished");
		return;
	}
	if (!lb_dp_stats(d->dp.stats, sums)) {
		uint64_t ev = sums[LB_STAT_CT_EVICT].packets;
		uint64_t look = sums[LB_STAT_CT_MISS].packets +
				sums[LB_STAT_CT_HIT].packets;
		bool seen = d->ct4_sweep_ms != 0; /* not the first tick */

		if (seen && ev > d->ct4_evicted)
			ct4_fit(d, ev - d->ct4_evicted, look - d->ct4_looked,
				UINT64_MAX, "flows were evicted");
		d->ct4_evicted = ev;
		d->ct4_looked = look;
	}
	if (!d->ct4_sweep_ms) {
		d->ct4_sweep_ms = now; /* the first sweep one interval on */
		return;
	}
	if (now - d->ct4_sweep_ms < (uint64_t)d->ct_idle_s * 500)
		return;
	d->ct4_sweep_ms = now;
	if (lb_dp_ct4_sweep(&d->dp, &sw))
		return;
	d->ct4_kept = sw.kept;
	ct4_fit(d, 0, 0, sw.kept, "after a sweep");
}

static void count_one(const struct lb_conn *c, void *arg)
{
	(void)c;
	(*(uint64_t *)arg)++;
}

void lbd_ct4_count(const struct lbd *d, uint64_t *lines, uint64_t *flows)
{
	struct lb_ct4_state s;

	*lines = *flows = 0;
	if (!d->skel || lb_dp_ct4_state(&d->dp, &s))
		return;
	*lines = 1ULL << (s.bits < LB_CT4_MIN_BITS ? LB_CT4_MIN_BITS : s.bits);
	lb_dp_ct4_each(&d->dp, count_one, flows);
}
