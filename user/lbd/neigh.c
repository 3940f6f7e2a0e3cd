// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * neigh.c - next-hop MAC resolution from the kernel's neighbour table over
 * rtnetlink (libmnl).
 *
 * For a backend: ask the routing table how its address is reached (the
 * backend itself when on-link, else the gateway) and through which
 * interface; read the neighbour entry of that next hop; when there is none
 * or it is incomplete, ask the kernel to resolve it (RTM_NEWNEIGH with
 * NTF_USE, as if a packet wanted it) and look again later.  Neighbour
 * events (RTNLGRP_NEIGH) refresh MACs when they change.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lbd.h"
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

int lbd_neigh_open(struct lbd *d)
{
	d->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!d->nl || mnl_socket_bind(d->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		pr_warn("rtnetlink: %s", strerror(errno));
		return -errno;
	}
	/* never let a lost answer freeze the event loop */
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(mnl_socket_get_fd(d->nl), SOL_SOCKET, SO_RCVTIMEO, &tv,
		   sizeof(tv));
	d->nl_events =
		mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!d->nl_events ||
	    mnl_socket_bind(d->nl_events, 1U << (RTNLGRP_NEIGH - 1),
			    MNL_SOCKET_AUTOPID) < 0) {
		pr_warn("rtnetlink events: %s", strerror(errno));
		return -errno;
	}
	d->nl_seq = (uint32_t)time(NULL);
	return 0;
}

void lbd_neigh_close(struct lbd *d)
{
	if (d->nl)
		mnl_socket_close(d->nl);
	if (d->nl_events)
		mnl_socket_close(d->nl_events);
	d->nl = d->nl_events = NULL;
}

static int nl_talk(struct lbd *d, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	return lbd_nl_talk(d->nl, &d->nl_seq, nlh, cb, data);
}

struct route_ans {
	int oif;
	union lb_addr gw;
	bool has_gw;
	uint8_t family;
};

static int route_attr(const struct nlattr *a, void *data)
{
	struct route_ans *r = data;

	switch (mnl_attr_get_type(a)) {
	case RTA_OIF:
		r->oif = (int)mnl_attr_get_u32(a);
		break;
	case RTA_GATEWAY:
		if (mnl_attr_get_payload_len(a) ==
		    (uint16_t)alen_of(r->family)) {
			memcpy(&r->gw, mnl_attr_get_payload(a),
			       alen_of(r->family));
			r->has_gw = true;
		}
		break;
	}
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct rtmsg), route_attr, data);
	return MNL_CB_OK;
}

/* A request of type in buf, with its family header (hlen bytes, zeroed)
 * in *hdr for the caller to fill. */
static struct nlmsghdr *nl_request(char *buf, uint16_t type, void **hdr,
				   size_t hlen)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	*hdr = mnl_nlmsg_put_extra_header(nlh, hlen);
	return nlh;
}

static int route_get(struct lbd *d, const union lb_addr *dst, uint8_t family,
		     struct route_ans *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct rtmsg *rtm;
	struct nlmsghdr *nlh =
		nl_request(buf, RTM_GETROUTE, (void **)&rtm, sizeof(*rtm));

	memset(r, 0, sizeof(*r));
	r->family = family;
	rtm->rtm_family = (uint8_t)af_of(family);
	rtm->rtm_dst_len = (uint8_t)(alen_of(family) * 8);
	mnl_attr_put(nlh, RTA_DST, alen_of(family), dst);
	return nl_talk(d, nlh, route_cb, r);
}

struct neigh_ans {
	uint16_t state;
	uint8_t mac[6];
	bool has_mac;
};

static int neigh_attr(const struct nlattr *a, void *data)
{
	struct neigh_ans *n = data;

	if (mnl_attr_get_type(a) == NDA_LLADDR &&
	    mnl_attr_get_payload_len(a) == 6) {
		memcpy(n->mac, mnl_attr_get_payload(a), 6);
		n->has_mac = true;
	}
	return MNL_CB_OK;
}

static int neigh_cb(const struct nlmsghdr *nlh, void *data)
{
	struct neigh_ans *n = data;
	struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);

	n->state = ndm->ndm_state;
	mnl_attr_parse(nlh, sizeof(*ndm), neigh_attr, data);
	return MNL_CB_OK;
}

static int neigh_get(struct lbd *d, const union lb_addr *a, uint8_t family,
		     struct neigh_ans *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ndmsg *ndm;
	struct nlmsghdr *nlh =
		nl_request(buf, RTM_GETNEIGH, (void **)&ndm, sizeof(*ndm));

	memset(n, 0, sizeof(*n));
	ndm->ndm_family = (uint8_t)af_of(family);
	ndm->ndm_ifindex = d->ifindex;
	mnl_attr_put(nlh, NDA_DST, alen_of(family), a);
	return nl_talk(d, nlh, neigh_cb, n);
}

/* Ask the kernel to resolve a neighbour as if a packet needed it. */
static int neigh_kick(struct lbd *d, const union lb_addr *a, uint8_t family)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *ndm;

	nlh->nlmsg_type = RTM_NEWNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = (uint8_t)af_of(family);
	ndm->ndm_ifindex = d->ifindex;
	ndm->ndm_flags = NTF_USE;
	ndm->ndm_state = NUD_NONE;
	mnl_attr_put(nlh, NDA_DST, alen_of(family), a);
	return nl_talk(d, nlh, NULL, NULL);
}

static bool set_down(struct lbd_backend *b, const char *why)
{
	bool changed = b->mac_ok || strcmp(b->neigh_err, why);

	b->mac_ok = false;
	snprintf(b->neigh_err, sizeof(b->neigh_err), "%s", why);
	return changed;
}

bool lbd_neigh_resolve(struct lbd *d, struct lbd_backend *b)
{
	char addr[LB_ADDRSTRLEN], hop[LB_ADDRSTRLEN], why[160];
	struct route_ans r;
	struct neigh_ans n;
	uint64_t now = lbd_now_ms();
	int err;

	lb_format_addr(&b->addr, b->family, addr, sizeof(addr));
	err = route_get(d, &b->addr, b->family, &r);
	if (err) {
		snprintf(why, sizeof(why), "no route to %s", addr);
		goto unresolved;
	}
	if (r.oif != d->ifindex) {
		char name[IF_NAMESIZE] = "?";

		if_indextoname((unsigned)r.oif, name);
		snprintf(why, sizeof(why), "route to %s leaves via %s, not %s",
			 addr, name, d->iface);
		goto unresolved;
	}
	b->nexthop = r.has_gw ? r.gw : b->addr;
	lb_format_addr(&b->nexthop, b->family, hop, sizeof(hop));
	err = neigh_get(d, &b->nexthop, b->family, &n);
	if (!err && n.has_mac &&
	    (n.state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE |
			NUD_PERMANENT | NUD_NOARP))) {
		bool changed = !b->mac_ok || memcmp(b->mac, n.mac, 6);

		if (changed && b->mac_ok)
			pr_info("backend %s: next hop %s moved to "
				"%02x:%02x:%02x:%02x:%02x:%02x",
				addr, hop, n.mac[0], n.mac[1], n.mac[2],
				n.mac[3], n.mac[4], n.mac[5]);
		memcpy(b->mac, n.mac, 6);
		b->mac_ok = true;
		b->neigh_err[0] = 0;
		b->unresolved_since_ms = 0;
		return changed;
	}
	/* absent, incomplete or failed: ask for resolution */
	neigh_kick(d, &b->nexthop, b->family);
	snprintf(why, sizeof(why),
		 "next hop %s does not resolve (no ARP/ND "
		 "answer)",
		 hop);
unresolved:
	if (!b->unresolved_since_ms)
		b->unresolved_since_ms = now;
	/* a MAC that was good stays in use for a grace period: a neighbour
	 * entry being refreshed must not take a backend out */
	if (b->mac_ok && now - b->unresolved_since_ms < LBD_NEIGH_GRACE_MS)
		return false;
	if (!b->mac_ok && b->neigh_err[0] && !strcmp(b->neigh_err, why))
		return false;
	if (b->mac_ok)
		pr_warn("backend %s: down: %s", addr, why);
	return set_down(b, why);
}

struct neigh_event {
	struct lbd *d;
	bool any;
	union lb_addr dst;
	bool has_dst;
};

static int event_attr(const struct nlattr *a, void *data)
{
	struct neigh_event *e = data;
	uint16_t len = mnl_attr_get_payload_len(a);

	if (mnl_attr_get_type(a) == NDA_DST && (len == 4 || len == 16)) {
		memset(&e->dst, 0, sizeof(e->dst));
		memcpy(&e->dst, mnl_attr_get_payload(a), len);
		e->has_dst = true;
	}
	return MNL_CB_OK;
}

/* One neighbour change: the backends whose next hop it is are due. */
static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct neigh_event *e = data;
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct lbd *d = e->d;
	uint8_t fam;

	if ((nlh->nlmsg_type != RTM_NEWNEIGH &&
	     nlh->nlmsg_type != RTM_DELNEIGH) ||
	    ndm->ndm_ifindex != d->ifindex)
		return MNL_CB_OK;
	fam = ndm->ndm_family == AF_INET6 ? LB_FAMILY_V6 : LB_FAMILY_V4;
	e->has_dst = false;
	mnl_attr_parse(nlh, sizeof(*ndm), event_attr, e);
	if (!e->has_dst)
		return MNL_CB_OK;
	for (size_t i = 0; i < d->nvips; i++) {
		for (size_t j = 0; j < d->vips[i].nbe; j++) {
			struct lbd_backend *b = &d->vips[i].be[j];

			if (b->family == fam &&
			    (!memcmp(&b->nexthop, &e->dst, sizeof(e->dst)) ||
			     !memcmp(&b->addr, &e->dst, sizeof(e->dst)))) {
				b->neigh_due = true;
				e->any = true;
			}
		}
	}
	return MNL_CB_OK;
}

bool lbd_neigh_events(struct lbd *d, enum lbd_refresh_mode *mode)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct neigh_event e = { .d = d };
	bool lost = false;
	int n;

	while ((n = (int)mnl_socket_recvfrom(d->nl_events, buf, sizeof(buf))) !=
	       0) {
		if (n < 0) {
			/* ENOBUFS: events were lost, so look at everything */
			lost = errno == ENOBUFS;
			if (errno == EAGAIN || errno == EWOULDBLOCK || !lost)
				break;
			continue;
		}
		mnl_cb_run(buf, (size_t)n, 0, 0, event_cb, &e);
	}
	/* only the backends whose next hop changed are re-read */
	*mode = lost ? LBD_REFRESH_ALL : LBD_REFRESH_EVENTS;
	return lost || e.any;
}

int lbd_iface_info(struct lbd *d)
{
	struct ifaddrs *ifa, *i;
	struct ifreq ifr = {};
	int fd;

	d->ifindex = (int)if_nametoindex(d->iface);
	if (!d->ifindex) {
		pr_warn("no interface named '%s'", d->iface);
		return -ENODEV;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->iface);
	if (!ioctl(fd, SIOCGIFHWADDR, &ifr))
		memcpy(d->src_mac, ifr.ifr_hwaddr.sa_data, 6);
	if (!ioctl(fd, SIOCGIFMTU, &ifr))
		d->mtu = (uint32_t)ifr.ifr_mtu;
	close(fd);

	/* default encapsulation sources: the interface's own addresses */
	if (getifaddrs(&ifa))
		return 0;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || strcmp(i->ifa_name, d->iface))
			continue;
		if (i->ifa_addr->sa_family == AF_INET && !d->encap_src4_set) {
			d->encap_src4.v4 = ((struct sockaddr_in *)i->ifa_addr)
						   ->sin_addr.s_addr;
		} else if (i->ifa_addr->sa_family == AF_INET6 &&
			   !d->encap_src6_set) {
			struct in6_addr *a =
				&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;

			if (IN6_IS_ADDR_LINKLOCAL(a) && d->encap_src6.v6[0])
				continue;
			memcpy(d->encap_src6.v6, a, 16);
		}
	}
	freeifaddrs(ifa);
	return 0;
}
