// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * metrics.c - lbd's Prometheus metrics: `--metrics ADDR:PORT` serves
 * /metrics from the event loop (user/common/prom.c does the HTTP part:
 * non-blocking, bounded, with deadlines).  Every scrape reads the
 * datapath's counters afresh; nothing here is sampled in between.
 *
 * Names: the xdplb_ prefix, _total on counters, seconds and bytes as
 * units.  The datapath's global counters become one family per counter
 * (xdplb_rx_packets_total ...), except drops, which are one family with a
 * reason label, so that sum() over it is every drop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "digest.h"
#include "lbd.h"
#include "log.h"
#include "prom.h"

static struct prom_server server = { .fd = -1, .epfd = -1 };

/* Help text of every global counter, indexed like lb_stats.  The array
 * must have LB_STAT_MAX entries: a new counter needs its line here. */
static const char *const stat_help[] = {
	[LB_STAT_RX] = "seen by the XDP program",
	[LB_STAT_PASS] = "passed up to the host's stack: not for a VIP",
	[LB_STAT_TX] = "forwarded to a backend",
	[LB_STAT_CT_HIT] = "whose backend the connection table gave",
	[LB_STAT_CT_MISS] = "whose backend the Maglev table chose",
	[LB_STAT_CT_STALE] =
		"whose remembered backend was unusable, so were re-hashed",
	[LB_STAT_CT_EVICT] = "whose flow took the place of another remembered "
			     "flow in the IPv4 connection table",
	[LB_STAT_ICMP_ECHO] = "ICMP echo requests to a VIP answered",
	[LB_STAT_ICMP_PTB] =
		"ICMP too-big messages sent on to the flow's backend",
	[LB_STAT_ENCAP] = "forwarded with encapsulation",
	[LB_STAT_PTB_SENT] = "too big to encapsulate: the client was told",
	[LB_STAT_DROP_TRUNCATED] = "truncated at a header boundary",
	[LB_STAT_DROP_BAD_HEADER] = "with a malformed header",
	[LB_STAT_DROP_FRAGMENT] = "fragments to a VIP",
	[LB_STAT_DROP_NO_BACKEND] = "to a VIP without a usable backend",
	[LB_STAT_DROP_UNSUPPORTED] = "of an unsupported kind",
	[LB_STAT_DROP_ADJUST_FAILED] = "whose headroom could not be adjusted",
	[LB_STAT_DROP_TOO_BIG] = "too big to forward",
	[LB_STAT_DROP_EXTHDR_LIMIT] = "with too many IPv6 extension headers",
	[LB_STAT_DROP_BAD_LENGTH] =
		"whose IP length ends before a header it needs",
	[LB_STAT_DROP_ICMP_BAD_QUOTE] =
		"ICMP errors whose quote is no usable IP header",
	[LB_STAT_DROP_ICMP_VIP_MISMATCH] =
		"ICMP errors quoting another address than their destination",
	[LB_STAT_DROP_BAD_SOURCE] =
		"echo requests from a source that gets no answer",
};
_Static_assert(sizeof(stat_help) / sizeof(stat_help[0]) == LB_STAT_MAX,
	       "every datapath counter needs a metric help text");

static const char *const stat_names[LB_STAT_MAX] = { LB_STAT_NAMES };

/* Health check duration buckets, in seconds (LBD_CHECK_BUCKETS). */
static const double check_bounds[LBD_CHECK_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1,	0.25,  0.5,    1,     2.5,  5,	   10,
};

void lbd_metrics_check_result(struct lbd_backend *b, bool ok,
			      uint64_t latency_us)
{
	struct lbd_check_stats *s = &b->hc_stats;
	double v = (double)latency_us / 1e6;

	s->count++;
	s->failures += !ok;
	s->sum_us += latency_us;
	s->buckets[prom_bucket(check_bounds, LBD_CHECK_BUCKETS, v)]++;
}

/* ---------------------------------------------------------------- render */

/* One scrape's view: every counter read once, so that the families agree
 * with each other. */
struct snap {
	struct lb_counter global[LB_STAT_MAX];
	struct lb_counter *vip; /* d->nvips */
	struct lb_counter **be; /* [vip][backend] */
};

static bool is_drop(int i)
{
	return !strncmp(stat_names[i], "drop_", 5);
}

static void render_global(struct prom *p, const struct snap *s)
{
	char name[96], help[1200];
	struct prom_labels l;

	for (int i = 0; i < LB_STAT_MAX; i++) {
		if (is_drop(i))
			continue;
		snprintf(name, sizeof(name), "xdplb_%s_packets_total",
			 stat_names[i]);
		snprintf(help, sizeof(help), "Packets %s.", stat_help[i]);
		prom_head(p, name, "counter", help);
		prom_u64(p, name, NULL, s->global[i].packets);
		snprintf(name, sizeof(name), "xdplb_%s_bytes_total",
			 stat_names[i]);
		snprintf(help, sizeof(help), "Bytes of packets %s.",
			 stat_help[i]);
		prom_head(p, name, "counter", help);
		prom_u64(p, name, NULL, s->global[i].bytes);
	}
	/* the help names every reason with its meaning */
	char reasons[1024];
	size_t len = 0;

	reasons[0] = 0;
	for (int i = 0; i < LB_STAT_MAX && len < sizeof(reasons); i++)
		if (is_drop(i))
			len += (size_t)snprintf(reasons + len,
						sizeof(reasons) - len,
						"%s%s (%s)", len ? ", " : "",
						stat_names[i] + 5,
						stat_help[i]);
	for (int bytes = 0; bytes < 2; bytes++) {
		const char *n = bytes ? "xdplb_dropped_bytes_total" :
					"xdplb_dropped_packets_total";

		snprintf(help, sizeof(help),
			 "%s dropped by the datapath, by "
			 "reason: %s.",
			 bytes ? "Bytes of packets" : "Packets", reasons);
		prom_head(p, n, "counter", help);
		for (int i = 0; i < LB_STAT_MAX; i++) {
			if (!is_drop(i))
				continue;
			prom_labels_init(&l);
			prom_label(&l, "reason", stat_names[i] + 5);
			prom_u64(p, n, &l,
				 bytes ? s->global[i].bytes :
					 s->global[i].packets);
		}
	}
}

static void vip_labels(struct prom_labels *l, const struct lbd_vip *v)
{
	char buf[LB_VIPSTRLEN];

	prom_labels_init(l);
	prom_label(l, "vip", lb_format_vip(&v->spec, buf, sizeof(buf)));
}

static void be_labels(struct prom_labels *l, const struct lbd_vip *v,
		      const struct lbd_backend *b)
{
	char buf[LB_ADDRSTRLEN];

	vip_labels(l, v);
	prom_label(l, "backend",
		   lb_format_addr(&b->addr, b->family, buf, sizeof(buf)));
}

/* A per-VIP family whose value is f(d, v). */
typedef double (*vip_value_fn)(const struct snap *s, const struct lbd *d,
			       size_t i);

static void vip_family(struct prom *p, const struct lbd *d,
		       const struct snap *s, const char *name, const char *type,
		       const char *help, vip_value_fn f)
{
	struct prom_labels l;

	prom_head(p, name, type, help);
	for (size_t i = 0; i < d->nvips; i++) {
		vip_labels(&l, &d->vips[i]);
		prom_dbl(p, name, &l, f(s, d, i));
	}
}

static double vip_packets(const struct snap *s, const struct lbd *d, size_t i)
{
	return (double)s->vip[i].packets;
}

static double vip_bytes(const struct snap *s, const struct lbd *d, size_t i)
{
	return (double)s->vip[i].bytes;
}

static double vip_nbe(const struct snap *s, const struct lbd *d, size_t i)
{
	return (double)d->vips[i].nbe;
}

static double vip_in_table(const struct snap *s, const struct lbd *d, size_t i)
{
	const struct lbd_vip *v = &d->vips[i];
	size_t n = 0;

	for (size_t j = 0; j < v->nbe; j++)
		n += lbd_backend_table_weight(&v->be[j]) > 0;
	return (double)n;
}

static double vip_table_size(const struct snap *s, const struct lbd *d,
			     size_t i)
{
	return d->vips[i].table_size;
}

static double vip_rebuilds(const struct snap *s, const struct lbd *d, size_t i)
{
	return (double)d->vips[i].rebuilds;
}

static double vip_rebuild_failures(const struct snap *s, const struct lbd *d,
				   size_t i)
{
	return (double)d->vips[i].rebuild_failures;
}

static void render_vips(struct prom *p, const struct lbd *d,
			const struct snap *s)
{
	struct prom_labels l;

	prom_head(p, "xdplb_vip_info", "gauge",
		  "A VIP's forwarding mode and hash, as labels; always 1.");
	for (size_t i = 0; i < d->nvips; i++) {
		const struct lbd_vip *v = &d->vips[i];

		vip_labels(&l, v);
		prom_label(&l, "mode",
			   v->flags & LB_VIP_F_ENCAP ? "ipip" : "dsr");
		prom_label(&l, "hash",
			   v->flags & LB_VIP_F_HASH_SRC ? "src" : "5tuple");
		prom_u64(p, "xdplb_vip_info", &l, 1);
	}
	vip_family(p, d, s, "xdplb_vip_packets_total", "counter",
		   "Packets forwarded for a VIP.", vip_packets);
	vip_family(p, d, s, "xdplb_vip_bytes_total", "counter",
		   "Bytes of packets forwarded for a VIP.", vip_bytes);
	vip_family(p, d, s, "xdplb_vip_backends", "gauge",
		   "Backends configured for a VIP.", vip_nbe);
	vip_family(p, d, s, "xdplb_vip_backends_in_table", "gauge",
		   "Backends that take new flows (in the VIP's Maglev table).",
		   vip_in_table);
	vip_family(p, d, s, "xdplb_vip_table_slots", "gauge",
		   "Slots of the VIP's Maglev table.", vip_table_size);
	vip_family(p, d, s, "xdplb_vip_table_rebuilds_total", "counter",
		   "Maglev tables built and installed for a VIP.",
		   vip_rebuilds);
	vip_family(p, d, s, "xdplb_vip_table_rebuild_failures_total", "counter",
		   "Maglev table builds or installs that failed (retried "
		   "every second).",
		   vip_rebuild_failures);
	prom_head(p, "xdplb_vip_table_info", "gauge",
		  "The digest of a VIP's installed Maglev table, as a label "
		  "(equal on balancers that agree on every flow); always 1.");
	for (size_t i = 0; i < d->nvips; i++) {
		const struct lbd_vip *v = &d->vips[i];
		char digest[LB_DIGEST_STRLEN];

		if (!v->digest_ok)
			continue;
		lb_digest_format(v->digest, digest, sizeof(digest));
		vip_labels(&l, v);
		prom_label(&l, "digest", digest);
		prom_u64(p, "xdplb_vip_table_info", &l, 1);
	}
}

static const char *const be_states[] = { "active", "draining", "down" };

enum be_field {
	BE_PACKETS,
	BE_BYTES,
	BE_STATE,
	BE_HEALTHY,
	BE_RESOLVED,
	BE_WEIGHT,
	BE_TABLE_WEIGHT,
	BE_TRANSITIONS,
	BE_CHECK_FAILURES,
	BE_CHECK_DURATION,
};

static const struct {
	enum be_field f;
	const char *name, *type, *help;
} be_fam[] = {
	{ BE_PACKETS, "xdplb_backend_packets_total", "counter",
	  "Packets forwarded to a backend." },
	{ BE_BYTES, "xdplb_backend_bytes_total", "counter",
	  "Bytes of packets forwarded to a backend." },
	{ BE_STATE, "xdplb_backend_state", "gauge",
	  "A backend's state: 1 for the state it is in (active takes new "
	  "flows, draining keeps its flows only, down takes nothing)." },
	{ BE_HEALTHY, "xdplb_backend_healthy", "gauge",
	  "1 if the health checks pass (or none is configured)." },
	{ BE_RESOLVED, "xdplb_backend_resolved", "gauge",
	  "1 if the backend's next-hop MAC address is known." },
	{ BE_WEIGHT, "xdplb_backend_weight", "gauge",
	  "The backend's configured weight." },
	{ BE_TABLE_WEIGHT, "xdplb_backend_table_weight", "gauge",
	  "The weight the backend has in the Maglev table now (lower during "
	  "slow start, 0 when it takes no new flows)." },
	{ BE_TRANSITIONS, "xdplb_backend_health_transitions_total", "counter",
	  "Health changes between up and down." },
	{ BE_CHECK_FAILURES, "xdplb_health_check_failures_total", "counter",
	  "Health checks of a backend that failed." },
	{ BE_CHECK_DURATION, "xdplb_health_check_duration_seconds", "histogram",
	  "Duration of a backend's health checks, failed ones included (a "
	  "timeout counts its full wait)." },
};

/* The samples of family f for one backend, whose counters are c. */
static void be_samples(struct prom *p, enum be_field f, const char *name,
		       const struct prom_labels *l, const struct lbd_backend *b,
		       const struct lb_counter *c)
{
	const struct lbd_check_stats *hs = &b->hc_stats;
	char st[16];

	switch (f) {
	case BE_PACKETS:
		prom_u64(p, name, l, c->packets);
		break;
	case BE_BYTES:
		prom_u64(p, name, l, c->bytes);
		break;
	case BE_STATE:
		lbd_backend_state(b, st, sizeof(st));
		for (size_t k = 0; k < 3; k++) {
			struct prom_labels sl = *l;

			prom_label(&sl, "state", be_states[k]);
			prom_u64(p, name, &sl, !strcmp(st, be_states[k]));
		}
		break;
	case BE_HEALTHY:
		prom_u64(p, name, l, b->health_up);
		break;
	case BE_RESOLVED:
		prom_u64(p, name, l, b->mac_ok);
		break;
	case BE_WEIGHT:
		prom_u64(p, name, l, b->weight);
		break;
	case BE_TABLE_WEIGHT:
		prom_dbl(p, name, l, lbd_backend_table_weight(b) / 100.0);
		break;
	case BE_TRANSITIONS:
		prom_u64(p, name, l, b->hc.transitions);
		break;
	case BE_CHECK_FAILURES:
		prom_u64(p, name, l, hs->failures);
		break;
	case BE_CHECK_DURATION:
		prom_histogram(p, name, l, check_bounds, hs->buckets,
			       LBD_CHECK_BUCKETS, (double)hs->sum_us / 1e6);
		break;
	}
}

static void render_backends(struct prom *p, const struct lbd *d,
			    const struct snap *s)
{
	struct prom_labels l;

	for (size_t f = 0; f < sizeof(be_fam) / sizeof(be_fam[0]); f++) {
		prom_head(p, be_fam[f].name, be_fam[f].type, be_fam[f].help);
		for (size_t i = 0; i < d->nvips; i++) {
			const struct lbd_vip *v = &d->vips[i];

			for (size_t j = 0; j < v->nbe; j++) {
				be_labels(&l, v, &v->be[j]);
				be_samples(p, be_fam[f].f, be_fam[f].name, &l,
					   &v->be[j], &s->be[i][j]);
			}
		}
	}
}

static void render_daemon(struct prom *p, const struct lbd *d)
{
	struct prom_labels l;
	char abi[16], prog[16];
	size_t nbe = 0;

	for (size_t i = 0; i < d->nvips; i++)
		nbe += d->vips[i].nbe;
	snprintf(abi, sizeof(abi), "%d", LB_ABI_VERSION);
	snprintf(prog, sizeof(prog), "%u", d->prog_id);
	prom_labels_init(&l);
	prom_label(&l, "iface", d->iface);
	prom_label(&l, "xdp_mode", d->attach_mode ? d->attach_mode : "none");
	prom_label(&l, "abi_version", abi);
	prom_label(&l, "prog_id", prog);
	prom_head(p, "xdplb_info", "gauge",
		  "The interface, XDP attach mode, datapath ABI version and "
		  "program id of lbd, as labels; always 1.");
	prom_u64(p, "xdplb_info", &l, 1);
	prom_head(p, "xdplb_node_drained", "gauge",
		  "1 while the node is drained (lbctl node drain): it "
		  "announces no VIP.");
	prom_u64(p, "xdplb_node_drained", NULL, d->node_drained);
	if (d->announce_table) {
		prom_head(p, "xdplb_announced_routes", "gauge",
			  "VIP routes in the announce table (--announce-table) "
			  "after the last reconciliation.");
		prom_u64(p, "xdplb_announced_routes", NULL, d->ann.count);
		prom_head(p, "xdplb_announce_failures_total", "counter",
			  "Reconciliations of the announce table that failed.");
		prom_u64(p, "xdplb_announce_failures_total", NULL,
			 d->ann.errors);
	}
	prom_head(p, "xdplb_vips", "gauge", "VIPs configured.");
	prom_u64(p, "xdplb_vips", NULL, d->nvips);
	prom_head(p, "xdplb_backends", "gauge",
		  "Backends configured, over all VIPs.");
	prom_u64(p, "xdplb_backends", NULL, nbe);
	prom_head(
		p, "xdplb_conntrack_size", "gauge",
		"Entries each connection table (IPv4, IPv6 flows) holds at most.");
	prom_u64(p, "xdplb_conntrack_size", NULL, d->ct_size);
	{
		uint64_t lines = 0, flows = 0;

		lbd_ct4_count(d, &lines, &flows);
		prom_head(p, "xdplb_conntrack_ipv4_lines", "gauge",
			  "Cache lines of eight flows the IPv4 connection "
			  "table (VIPs of one port) uses now; lbd sizes it to "
			  "its flows.");
		prom_u64(p, "xdplb_conntrack_ipv4_lines", NULL, lines);
		prom_head(p, "xdplb_conntrack_ipv4_flows", "gauge",
			  "Flows in the IPv4 connection table (VIPs of one "
			  "port).");
		prom_u64(p, "xdplb_conntrack_ipv4_flows", NULL, flows);
	}
	prom_head(p, "xdplb_metrics_scrapes_total", "counter",
		  "Requests for /metrics answered (this one included).");
	prom_u64(p, "xdplb_metrics_scrapes_total", NULL, server.scrapes);
	prom_head(p, "xdplb_metrics_rejected_connections_total", "counter",
		  "Metrics connections refused because every client slot was "
		  "taken.");
	prom_u64(p, "xdplb_metrics_rejected_connections_total", NULL,
		 server.rejected);
	prom_head(p, "xdplb_metrics_timeouts_total", "counter",
		  "Metrics clients dropped for being too slow to ask or to "
		  "read.");
	prom_u64(p, "xdplb_metrics_timeouts_total", NULL, server.timeouts);
}

static void render(void *ctx, struct prom *p)
{
	struct lbd_counters cnt = { 0 };
	struct lbd *d = ctx;
	struct snap s = {};
	int err;

	lb_dp_stats(d->dp.stats, s.global);
	s.vip = calloc(d->nvips ? d->nvips : 1, sizeof(*s.vip));
	s.be = calloc(d->nvips ? d->nvips : 1, sizeof(*s.be));
	if (!s.vip || !s.be) {
		p->oom = true;
		goto out;
	}
	err = lbd_read_counters(d, &cnt);
	if (err) {
		/* no scrape rather than counters that seem to have reset */
		pr_warn("metrics: reading the datapath's counters: %s",
			strerror(-err));
		p->oom = true;
		goto out;
	}
	for (size_t i = 0; i < d->nvips; i++) {
		struct lbd_vip *v = &d->vips[i];

		s.vip[i] = cnt.vips[v->id];
		s.be[i] = calloc(v->nbe ? v->nbe : 1, sizeof(**s.be));
		if (!s.be[i]) {
			p->oom = true;
			goto out;
		}
		for (size_t j = 0; j < v->nbe; j++)
			s.be[i][j] = cnt.bes[v->be[j].id];
	}
	render_daemon(p, d);
	render_global(p, &s);
	render_vips(p, d, &s);
	render_backends(p, d, &s);
	prom_process(p, 0);
out:
	if (s.be)
		for (size_t i = 0; i < d->nvips; i++)
			free(s.be[i]);
	free(s.be);
	lbd_counters_free(&cnt);
	free(s.vip);
}

/* ---------------------------------------------------------------- server */

int lbd_metrics_check(const char *spec, char *err, size_t errlen)
{
	struct sockaddr_storage sa;
	socklen_t len;

	return prom_parse_listen(spec, &sa, &len, err, errlen);
}

int lbd_metrics_open(struct lbd *d)
{
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.u64 = LBD_EV_METRICS };
	char err[256];
	int rc;

	if (!d->metrics_listen)
		return 0;
	rc = prom_server_open(&server, d->metrics_listen, render, d, err,
			      sizeof(err));
	if (rc) {
		pr_warn("%s", err);
		return rc;
	}
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, prom_server_fd(&server), &ev)) {
		rc = -errno;
		pr_warn("metrics: epoll: %s", strerror(errno));
		prom_server_close(&server);
		return rc;
	}
	pr_info("metrics at http://%s/metrics", server.addr);
	return 0;
}

void lbd_metrics_event(struct lbd *d)
{
	prom_server_run(&server);
}

void lbd_metrics_expire(struct lbd *d)
{
	prom_server_expire(&server);
}

void lbd_metrics_close(struct lbd *d)
{
	prom_server_close(&server);
}
