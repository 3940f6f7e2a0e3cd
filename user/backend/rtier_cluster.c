// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rtier_cluster.c - the slot map of --redis-cluster: which master holds a
 * key's slot, learnt with CLUSTER SLOTS and mended by MOVED.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "rtier_int.h"

int rtier_node_find(const char *name)
{
	char err[300];
	unsigned int i;

	for (i = 0; i < rt.nnodes; i++)
		if (!strcmp(rt.nodes[i].name, name))
			return i;
	if (rt.nnodes == MAX_NODES ||
	    redis_hostport_parse(name, &rt.nodes[rt.nnodes].addr, err,
				 sizeof(err)))
		return -1;
	/* every node takes the user and password of the seeds */
	strcpy(rt.nodes[rt.nnodes].addr.username, rt.rc->username);
	strcpy(rt.nodes[rt.nnodes].addr.password, rt.rc->password);
	snprintf(rt.nodes[rt.nnodes].name, sizeof(rt.nodes[rt.nnodes].name),
		 "%s", name);
	redis_init(&rt.nodes[rt.nnodes].c, rt.rc->max_object);
	return rt.nnodes++;
}

static uint8_t new_map[CLUSTER_SLOTS];
static unsigned int map_next; /* cluster: the node to ask next */

static void map_range(void *arg, unsigned int first, unsigned int last,
		      const char *addr)
{
	int n = rtier_node_find(addr);

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
	memcpy(rt.slot_node, new_map, sizeof(rt.slot_node));
	rt.have_map = 1;
	/* a map that still names a master that failed (the cluster has not
	 * failed it over yet) is asked for again, see rtier_tick() */
	for (unsigned int i = 0; i < rt.nnodes; i++)
		rt.nodes[i].nslots = 0;
	for (unsigned int s = 0; s < CLUSTER_SLOTS; s++)
		if (rt.slot_node[s] != NO_NODE)
			rt.nodes[rt.slot_node[s]].nslots++;
	rt.map_stale = 0;
	return 0;
}

static void on_slots(void *arg, const struct resp *r)
{
	*(int *)arg = take_map(r);
}

/* Ask the nodes we know, then the seeds, for the slot map (CLUSTER SLOTS),
 * waiting for it: only when a worker starts, before it serves anything.
 * 0, or -errno when none answered with one. */
int rtier_refresh_map(void)
{
	static const char *const argv[] = { "CLUSTER", "SLOTS" };
	unsigned int i;

	for (i = 0; i < rt.rc->nseeds; i++)
		rtier_node_find(rt.rc->seeds[i]);
	for (i = 0; i < rt.nnodes; i++) {
		struct redis_conn *c = rtier_node_conn(i);
		int err = -EPROTO;

		if (!c)
			continue;
		if (redis_cmdv(c, on_slots, &err, 2, argv) ||
		    redis_wait(c, redis_mono_ms() + rt.rc->timeout_ms) || err) {
			redis_close(c, NULL);
			continue;
		}
		return 0;
	}
	return -EHOSTUNREACH;
}

static void on_slots_async(void *arg, const struct resp *r)
{
	rt.map_asking = 0;
	if (!r)
		return; /* the connection failed: counted there */
	if (take_map(r)) {
		rt.probe_refused = 1;
		return;
	}
	rtier_breaker_log(breaker_success(&rt.bk), NULL);
}

/* Ask one node after another for the slot map, not waiting: the old map
 * serves meanwhile, and MOVED answers what it gets wrong. */
void rtier_map_refresh(void)
{
	static const char *const argv[] = { "CLUSTER", "SLOTS" };
	unsigned int i;

	if (rt.map_asking)
		return;
	for (i = 0; i < rt.rc->nseeds; i++)
		rtier_node_find(rt.rc->seeds[i]);
	for (i = 0; i < rt.nnodes; i++) {
		struct redis_conn *c = rtier_node_conn(map_next++ % rt.nnodes);

		if (c && !redis_cmdv(c, on_slots_async, NULL, 2, argv)) {
			rt.map_asking = 1;
			rtier_mark_busy();
			return;
		}
	}
}

/* While the map gives slots to a master that failed, ask for it again
 * every --redis-retry, in the background: the promoted replica is learnt
 * without a lookup waiting for it. */
void rtier_map_watch(long long now)
{
	static long long next;
	unsigned int i;

	if (!rt.rc->cluster || rt.map_asking || now < next ||
	    rt.bk.state != BREAKER_CLOSED)
		return;
	for (i = 0; i < rt.nnodes; i++)
		if (rt.nodes[i].failed && rt.nodes[i].nslots)
			break;
	if (i == rt.nnodes)
		return;
	next = now + rt.rc->retry_ms;
	rtier_map_refresh();
}
