// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * announce.c - the VIP routes lbd publishes for routing software to export.
 *
 * With --announce-table N, lbd keeps one route per VIP address it can
 * serve in the kernel routing table N, with a protocol number of its own
 * (--announce-proto), through the balancer's interface:
 *
 *     10.0.0.1/32 dev eth0 table N proto P scope link
 *
 * A BGP speaker (BIRD's kernel protocol with "kernel table N; learn;")
 * picks them up and announces them to the routers, which spread the VIP's
 * traffic over every balancer that announces it (ECMP).  Table N is not
 * used for forwarding; the routes only say "this host serves this VIP".
 *
 * The routes are reconciled, not edited: each sync reads what table N
 * holds under our protocol and adds or removes the difference.  So a
 * route the kernel dropped (the interface went down and up) comes back at
 * the next sync, one a previous lbd left is adopted, and one for a VIP
 * that is gone is removed.  Nothing is withdrawn when lbd exits or
 * crashes: the datapath keeps forwarding, so the routes stay true.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "announce.h"
#include "log.h"
#include "nl.h"

static int af_of(uint8_t family)
{
	return family == LB_FAMILY_V4 ? AF_INET : AF_INET6;
}

static int alen_of(uint8_t family)
{
	return family == LB_FAMILY_V4 ? 4 : 16;
}

int lbd_announce_open(struct lbd_announce *a, uint32_t table, uint8_t proto,
		      int ifindex)
{
	memset(a, 0, sizeof(*a));
	a->table = table;
	a->proto = proto;
	a->ifindex = ifindex;
	a->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!a->nl || mnl_socket_bind(a->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		if (a->nl)
			mnl_socket_close(a->nl);
		a->nl = NULL;
		return err;
	}
	/* never let a lost answer freeze the event loop */
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(mnl_socket_get_fd(a->nl), SOL_SOCKET, SO_RCVTIMEO, &tv,
		   sizeof(tv));
	a->seq = (uint32_t)time(NULL);
	return 0;
}

void lbd_announce_close(struct lbd_announce *a)
{
	if (a->nl)
		mnl_socket_close(a->nl);
	a->nl = NULL;
}

static int talk(struct lbd_announce *a, struct nlmsghdr *nlh, mnl_cb_t cb,
		void *data)
{
	return lbd_nl_talk(a->nl, &a->seq, nlh, cb, data);
}

/* The routes of our table and protocol found by a dump. */
struct found {
	const struct lbd_announce *a;
	struct lbd_route *r;
	size_t n, cap;
	int err;
};

struct route_attrs {
	uint32_t table;
	const void *dst;
	uint16_t dst_len;
};

static int route_attr(const struct nlattr *at, void *data)
{
	struct route_attrs *ra = data;

	switch (mnl_attr_get_type(at)) {
	case RTA_TABLE:
		ra->table = mnl_attr_get_u32(at);
		break;
	case RTA_DST:
		ra->dst = mnl_attr_get_payload(at);
		ra->dst_len = mnl_attr_get_payload_len(at);
		break;
	}
	return MNL_CB_OK;
}

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct found *f = data;
	struct route_attrs ra = { .table = rtm->rtm_table };
	struct lbd_route r = {};

	if (rtm->rtm_protocol != f->a->proto)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*rtm), route_attr, &ra);
	if (ra.table != f->a->table || !ra.dst)
		return MNL_CB_OK;
	r.family = rtm->rtm_family == AF_INET ? LB_FAMILY_V4 : LB_FAMILY_V6;
	if (rtm->rtm_dst_len != alen_of(r.family) * 8 ||
	    ra.dst_len != alen_of(r.family))
		return MNL_CB_OK;
	memcpy(&r.addr, ra.dst, ra.dst_len);
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 16;
		struct lbd_route *p = realloc(f->r, cap * sizeof(*p));

		if (!p) {
			f->err = -ENOMEM;
			return MNL_CB_ERROR;
		}
		f->r = p;
		f->cap = cap;
	}
	f->r[f->n++] = r;
	return MNL_CB_OK;
}

static int dump(struct lbd_announce *a, struct found *f)
{
	static const uint8_t fams[] = { AF_INET, AF_INET6 };

	memset(f, 0, sizeof(*f));
	f->a = a;
	for (size_t i = 0; i < sizeof(fams); i++) {
		char buf[MNL_SOCKET_BUFFER_SIZE];
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		struct rtmsg *rtm;
		int err;

		nlh->nlmsg_type = RTM_GETROUTE;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
		rtm->rtm_family = fams[i];
		err = talk(a, nlh, dump_cb, f);
		if (err || f->err) {
			free(f->r);
			f->r = NULL;
			return f->err ? f->err : err;
		}
	}
	return 0;
}

static int change(struct lbd_announce *a, const struct lbd_route *r, bool add)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	if (add)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_REPLACE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = af_of(r->family);
	rtm->rtm_dst_len = alen_of(r->family) * 8;
	rtm->rtm_table = a->table < 256 ? a->table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = a->proto;
	rtm->rtm_scope = add ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_TABLE, a->table);
	mnl_attr_put(nlh, RTA_DST, alen_of(r->family), &r->addr);
	if (add)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)a->ifindex);
	return talk(a, nlh, NULL, NULL);
}

static bool has(const struct lbd_route *set, size_t n,
		const struct lbd_route *r)
{
	for (size_t i = 0; i < n; i++)
		if (set[i].family == r->family &&
		    !memcmp(&set[i].addr, &r->addr, alen_of(r->family)))
			return true;
	return false;
}

static void route_str(const struct lbd_route *r, char *buf, size_t len)
{
	if (!inet_ntop(af_of(r->family), &r->addr, buf, len))
		snprintf(buf, len, "?");
}

int lbd_announce_sync(struct lbd_announce *a, const struct lbd_route *want,
		      size_t n)
{
	struct found f;
	char s[INET6_ADDRSTRLEN];
	size_t kept = 0;
	int err;

	if (!a->nl)
		return 0;
	err = dump(a, &f);
	for (size_t i = 0; !err && i < f.n; i++) {
		if (has(want, n, &f.r[i]))
			continue;
		err = change(a, &f.r[i], false);
		if (err == -ESRCH) /* gone meanwhile */
			err = 0;
		if (!err) {
			route_str(&f.r[i], s, sizeof(s));
			pr_info("announce: withdrew %s (table %u)", s,
				a->table);
		}
	}
	for (size_t i = 0; !err && i < n; i++) {
		if (has(f.r, f.n, &want[i])) {
			kept++;
			continue;
		}
		err = change(a, &want[i], true);
		if (!err) {
			kept++;
			route_str(&want[i], s, sizeof(s));
			pr_info("announce: %s (table %u)", s, a->table);
		}
	}
	free(f.r);
	a->count = kept;
	a->syncs++;
	/* say it once when it starts failing and once when it works again */
	if (err && !a->failing) {
		pr_warn("announce: cannot update routing table %u: %s",
			a->table, strerror(-err));
	} else if (!err && a->failing) {
		pr_info("announce: routing table %u up to date again",
			a->table);
	}
	a->failing = err != 0;
	if (err)
		a->errors++;
	return err;
}
