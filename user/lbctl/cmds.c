// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmds.c - lbctl's commands: each checks its arguments, builds lbd's
 * request, sends it, and shows the answer (as lbd sent it under -j).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "lbctl.h"

static void print_backends(const struct jv *vip, bool stats)
{
	const struct jv *bes = jv_get(vip, "backends");
	struct table t = { .ncols = stats ? 7 : 5 };
	char w[24], p[24], b[24], pr[24], br[24];

	if (!bes || bes->type != JV_ARR || !bes->n) {
		printf("    (no backends)\n");
		return;
	}
	if (stats)
		t_row(&t, "BACKEND", "WEIGHT", "STATE", "PACKETS", "BYTES",
		      "RATE", "REASON");
	else
		t_row(&t, "BACKEND", "WEIGHT", "STATE", "MAC", "REASON");
	for (size_t i = 0; i < bes->n; i++) {
		const struct jv *be = &bes->items[i];
		char rate[64];

		if (stats) {
			human_rate(dnum(be, "pps"), "pps", pr, sizeof(pr));
			human_rate(dnum(be, "bps"), "bps", br, sizeof(br));
			snprintf(rate, sizeof(rate), "%s %s", pr, br);
			t_row(&t, jv_get_str(be, "backend"),
			      num(be, "weight", w, sizeof(w)),
			      jv_get_str(be, "state"),
			      num(be, "packets", p, sizeof(p)),
			      num(be, "bytes", b, sizeof(b)), rate,
			      jv_get_str(be, "reason"));
		} else {
			const char *mac = jv_get_str(be, "mac");

			t_row(&t, jv_get_str(be, "backend"),
			      num(be, "weight", w, sizeof(w)),
			      jv_get_str(be, "state"), mac ? mac : "-",
			      jv_get_str(be, "reason"));
		}
	}
	t_print(&t, "    ");
}

static void print_vip_line(const struct jv *v)
{
	char ts[24], n[24], up[24];

	printf("%s  mode %s  hash %s  on-down %s  table %s  backends %s/%s in "
	       "table\n",
	       jv_get_str(v, "vip"), jv_get_str(v, "mode"),
	       jv_get_str(v, "hash"), jv_get_str(v, "on_down"),
	       num(v, "table_size", ts, sizeof(ts)),
	       num(v, "backends_in_table", up, sizeof(up)),
	       num(v, "backends_total", n, sizeof(n)));
}

/* Check the VIP (argv[0]; at most max arguments if max) and begin its
 * request. */
static int vip_begin(struct args *a, const char *cmd, int max, struct jw *w)
{
	int rc;

	if (need(a, 1, "VIP"))
		return 2;
	if (max && a->argc > max)
		return fail(2, "unexpected argument '%s'", a->argv[max]);
	if ((rc = check_vip(a->argv[0])))
		return rc;
	jw_init(w, false);
	jw_obj_begin(w);
	jw_kstr(w, "cmd", cmd);
	jw_kstr(w, "vip", a->argv[0]);
	return 0;
}

/* A change's answer is the VIP with every backend: lbctl shows none of it
 * (only -j prints it), so it asks for the VIP alone. */
static void brief(struct jw *w)
{
	if (!lbctl_json)
		jw_kbool(w, "brief", true);
}

/* The options from argv[from] into the request begun in w; send it. */
static int send_opts(struct args *a, int from, struct jw *w, int allowed)
{
	int rc = parse_opts(a, from, w, allowed);

	jw_obj_end(w);
	if (!rc)
		rc = lbctl_call_simple(w);
	jw_free(w);
	return rc;
}

/* Check VIP and BACKEND (argv[0], argv[1]) and begin their request. */
static int vip_backend_begin(struct args *a, const char *cmd, int nargs,
			     const char *what, struct jw *w)
{
	int rc;

	if (need(a, nargs, what))
		return 2;
	if ((rc = check_vip(a->argv[0])) ||
	    (rc = check_backend(a->argv[0], a->argv[1])))
		return rc;
	jw_init(w, false);
	jw_obj_begin(w);
	jw_kstr(w, "cmd", cmd);
	jw_kstr(w, "vip", a->argv[0]);
	jw_kstr(w, "backend", a->argv[1]);
	brief(w);
	return 0;
}

/* add-backend, backend add, backend check: a VIP, a backend, options */
int cmd_backend_opts(struct args *a, const struct lbctl_cmd *c)
{
	const char *cmd = c->req;
	int allowed = c->arg;
	struct jw w;
	int rc;

	if ((rc = vip_backend_begin(a, cmd, 2, "VIP and BACKEND", &w)))
		return rc;
	return send_opts(a, 2, &w, allowed);
}

int cmd_vip_backend(struct args *a, const struct lbctl_cmd *c)
{
	const char *cmd = c->req;
	int extra = c->arg;
	struct jw w;
	uint32_t n;
	char err[LB_ERRLEN];
	int rc;

	if (a->argc > 2 + extra)
		return fail(2, "unexpected argument '%s'", a->argv[2 + extra]);
	if ((rc = vip_backend_begin(a, cmd, 2 + extra,
				    extra ? "VIP, BACKEND and WEIGHT" :
					    "VIP and BACKEND",
				    &w)))
		return rc;
	if (extra) {
		if (lb_parse_u32(a->argv[2], "weight", 0, 10000, &n, err,
				 sizeof(err))) {
			jw_free(&w);
			return fail(1, "%s", err);
		}
		jw_kuint(&w, "weight", n);
	}
	jw_obj_end(&w);
	rc = lbctl_call_simple(&w);
	jw_free(&w);
	return rc;
}

/* vip add / vip set: a VIP and options */
int cmd_vip_opts(struct args *a, const struct lbctl_cmd *c)
{
	const char *cmd = c->req;
	int allowed = c->arg;
	struct jw w;
	int rc;

	if ((rc = vip_begin(a, cmd, 0, &w)))
		return rc;
	brief(&w);
	return send_opts(a, 1, &w, allowed);
}

int cmd_vip_one(struct args *a, const struct lbctl_cmd *c)
{
	const char *cmd = c->req;
	struct jw w;
	struct jv *ans;
	int rc;

	if ((rc = vip_begin(a, cmd, 1, &w)))
		return rc;
	jw_obj_end(&w);
	ans = lbctl_call(&w, &rc);
	jw_free(&w);
	if (ans && !lbctl_json && !strcmp(cmd, "vip-show")) {
		const struct jv *v = jv_get(ans, "vip");

		print_vip_line(v);
		printf("  table digest %s\n", jv_get_str(v, "digest") ?
						      jv_get_str(v, "digest") :
						      "(no table yet)");
		print_backends(v, true);
	}
	jv_free(ans);
	return rc;
}

int cmd_list(struct args *a, const struct lbctl_cmd *c)
{
	bool backends = c->arg;
	const struct jv *vips;
	struct jv *ans;
	int rc;

	if (a->argc)
		return fail(2, "unexpected argument '%s'", a->argv[0]);
	ans = lbctl_call_plain(c->req, &rc);
	if (!ans || lbctl_json) {
		jv_free(ans);
		return rc;
	}
	vips = jv_get(ans, "vips");
	if (!vips || !vips->n)
		printf("no VIPs (add one with: lbctl add-backend VIP BACKEND)\n");
	for (size_t i = 0; vips && i < vips->n; i++) {
		print_vip_line(&vips->items[i]);
		if (backends)
			print_backends(&vips->items[i], false);
	}
	jv_free(ans);
	return 0;
}

static void print_stats(const struct jv *ans)
{
	const struct jv *g = jv_get(ans, "global");
	const struct jv *vips = jv_get(ans, "vips");
	struct table t = { .ncols = 3 };
	char p[24], b[24];

	printf("datapath counters\n");
	t_row(&t, "COUNTER", "PACKETS", "BYTES");
	for (size_t i = 0; g && i < g->n; i++)
		t_row(&t, g->keys[i],
		      num(&g->items[i], "packets", p, sizeof(p)),
		      num(&g->items[i], "bytes", b, sizeof(b)));
	t_print(&t, "  ");
	for (size_t i = 0; vips && i < vips->n; i++) {
		const struct jv *v = &vips->items[i];
		char pr[24], br[24];

		printf("\n%s  %s packets  %s bytes  %s  %s\n",
		       jv_get_str(v, "vip"), num(v, "packets", p, sizeof(p)),
		       num(v, "bytes", b, sizeof(b)),
		       human_rate(dnum(v, "pps"), "pps", pr, sizeof(pr)),
		       human_rate(dnum(v, "bps"), "bps", br, sizeof(br)));
		print_backends(v, true);
	}
}

static volatile sig_atomic_t stop_watch;

static void on_sigint(int sig)
{
	(void)sig;
	stop_watch = 1;
}

int cmd_stats(struct args *a, const struct lbctl_cmd *c)
{
	bool watch = a->argc == 1 && !strcmp(a->argv[0], "--watch");
	struct jv *ans;
	int rc;

	if (a->argc && !watch)
		return fail(2, "unexpected argument '%s'", a->argv[0]);
	signal(SIGINT, on_sigint);
	do {
		ans = lbctl_call_plain(c->req, &rc);
		if (!ans)
			return rc;
		if (!lbctl_json) {
			if (watch)
				printf("\033[H\033[2J");
			print_stats(ans);
		}
		jv_free(ans);
		fflush(stdout);
		if (watch)
			sleep(1);
	} while (watch && !stop_watch);
	return 0;
}

/* A command of no arguments: lbd's answer (NULL: *rc says why). */
static struct jv *call_bare(struct args *a, const struct lbctl_cmd *c, int *rc)
{
	if (a->argc) {
		*rc = fail(2, "unexpected argument '%s'", a->argv[0]);
		return NULL;
	}
	return lbctl_call_plain(c->req, rc);
}

int cmd_status(struct args *a, const struct lbctl_cmd *c)
{
	int rc;
	struct jv *ans = call_bare(a, c, &rc);

	if (ans && !lbctl_json) {
		struct table t = { .ncols = 2 }, tt = { .ncols = 4 };
		const struct jv *ann = jv_get(ans, "announce");
		const struct jv *tables = jv_get(ans, "tables");
		char buf_ann[160];

		for (size_t i = 0; i < ans->n; i++) {
			const struct jv *v = &ans->items[i];
			char buf[64];

			if (!strcmp(ans->keys[i], "ok") || v->type == JV_OBJ ||
			    v->type == JV_ARR || v->type == JV_NULL)
				continue;
			if (v->type == JV_STR)
				t_row(&t, ans->keys[i], v->s);
			else
				t_row(&t, ans->keys[i],
				      num(ans, ans->keys[i], buf, sizeof(buf)));
		}
		if (ann && ann->type == JV_OBJ) {
			char tb[24], pr[24], n[24];

			snprintf(buf_ann, sizeof(buf_ann),
				 "table %s proto %s: %s routes%s",
				 num(ann, "table", tb, sizeof(tb)),
				 num(ann, "proto", pr, sizeof(pr)),
				 num(ann, "routes", n, sizeof(n)),
				 jv_get(ann, "failing") &&
						 jv_get(ann, "failing")->b ?
					 " (failing: see the log)" :
					 "");
			t_row(&t, "announce", buf_ann);
		} else {
			t_row(&t, "announce", "off");
		}
		t_print(&t, "");
		for (size_t i = 0; tables && i < tables->n; i++) {
			const struct jv *v = &tables->items[i];
			const struct jv *be = jv_get(v, "backends");
			char nb[24];

			snprintf(nb, sizeof(nb), "%zu backends",
				 be ? be->n : 0);
			t_row(&tt, i ? "" : "tables", jv_get_str(v, "vip"),
			      jv_get_str(v, "digest") ?
				      jv_get_str(v, "digest") :
				      "(no table)",
			      nb);
		}
		t_print(&tt, "");
	}
	jv_free(ans);
	return rc;
}

int cmd_node(struct args *a, const struct lbctl_cmd *c)
{
	int rc;
	struct jv *ans = call_bare(a, c, &rc);

	if (ans && !lbctl_json) {
		char n[24];

		if (jv_get(ans, "announcing") && jv_get(ans, "announcing")->b)
			printf("node %s: %s VIP routes announced\n",
			       jv_get_str(ans, "node"),
			       num(ans, "routes", n, sizeof(n)));
		else
			printf("node %s (lbd runs without --announce-table: "
			       "it announces nothing)\n",
			       jv_get_str(ans, "node"));
	}
	jv_free(ans);
	return rc;
}

int cmd_explain(struct args *a, const struct lbctl_cmd *c)
{
	union lb_addr x;
	uint8_t fam, proto;
	uint16_t port;
	char err[LB_ERRLEN];
	struct jv *ans;
	struct jw w;
	int rc;

	if (need(a, 3, "SRC:PORT DST:PORT PROTO"))
		return 2;
	if (a->argc > 3)
		return fail(2, "unexpected argument '%s'", a->argv[3]);
	if (lb_parse_endpoint(a->argv[0], &x, &fam, &port, err, sizeof(err)))
		return fail(1, "source: %s", err);
	if (lb_parse_endpoint(a->argv[1], &x, &fam, &port, err, sizeof(err)))
		return fail(1, "destination: %s", err);
	if (lb_parse_proto(a->argv[2], &proto, err, sizeof(err)))
		return fail(1, "%s", err);
	jw_init(&w, false);
	jw_obj_begin(&w);
	jw_kstr(&w, "cmd", c->req);
	jw_kstr(&w, "src", a->argv[0]);
	jw_kstr(&w, "dst", a->argv[1]);
	jw_kstr(&w, "proto", a->argv[2]);
	jw_obj_end(&w);
	ans = lbctl_call(&w, &rc);
	jw_free(&w);
	if (ans && !lbctl_json) {
		const struct jv *m = jv_get(ans, "vip_match");
		const struct jv *tb = jv_get(ans, "table_backend");
		const struct jv *ct = jv_get(ans, "conntrack");
		char n[24];

		printf("flow      %s -> %s %s\n", jv_get_str(ans, "flow_src"),
		       jv_get_str(ans, "flow_dst"), jv_get_str(ans, "proto"));
		if (m && m->type == JV_BOOL && m->b) {
			printf("vip       %s (%s match, mode %s, hash %s, "
			       "on-down %s)\n",
			       jv_get_str(ans, "vip"),
			       jv_get_str(ans, "vip_match_kind"),
			       jv_get_str(ans, "mode"),
			       jv_get_str(ans, "hash_mode"),
			       jv_get_str(ans, "on_down"));
			printf("hash      %s\n", jv_get_str(ans, "flow_hash"));
			printf("slot      %s of %s\n",
			       num(ans, "slot", n, sizeof(n)),
			       num(ans, "table_size", err, sizeof(err)));
			if (tb && tb->type == JV_OBJ)
				printf("table     %s (%s)\n",
				       jv_get_str(tb, "backend"),
				       jv_get_str(tb, "state"));
			else
				printf("table     no backend\n");
			if (ct && ct->type == JV_OBJ) {
				const struct jv *valid = jv_get(ct, "valid");
				const char *be = jv_get_str(ct, "backend");

				const struct jv *down =
					jv_get(ct, "backend_down");

				char age[64];

				if (jv_get(ct, "age_s"))
					snprintf(age, sizeof(age), "age %.1fs",
						 dnum(ct, "age_s"));
				else
					snprintf(
						age, sizeof(age),
						"forgotten after at most %.0fs "
						"without a packet",
						dnum(ct, "idle_timeout_s"));
				printf("conntrack %s, %s%s%s\n",
				       be ? be : "(removed backend)", age,
				       down && down->b ? " (backend down)" : "",
				       valid && valid->b ? "" :
							   " (stale: re-hashed "
							   "on next packet)");
			} else {
				printf("conntrack none\n");
			}
		}
		printf("verdict   %s\n", jv_get_str(ans, "verdict"));
	}
	jv_free(ans);
	return rc;
}

static void check_summary(const struct jv *c, char *buf, size_t len)
{
	const char *kind = jv_get_str(c, "kind");
	const char *path = jv_get_str(c, "path");
	char port[16] = "", n1[24], n2[24], n3[24], n4[24];

	if (!kind || !strcmp(kind, "none")) {
		snprintf(buf, len, "no health check");
		return;
	}
	if (jv_get(c, "port"))
		snprintf(port, sizeof(port), ":%s",
			 num(c, "port", n1, sizeof(n1)));
	/* as the operator typed it, if lbctl sent it; else rebuilt */
	if (jv_get_str(c, "spec")) {
		kind = jv_get_str(c, "spec");
		port[0] = 0;
		path = NULL;
	}
	snprintf(buf, len,
		 "check %s%s%s  every %sms  timeout %sms  rise %s  "
		 "fall %s",
		 kind, port, path ? path : "",
		 num(c, "interval_ms", n1, sizeof(n1)),
		 num(c, "timeout_ms", n2, sizeof(n2)),
		 num(c, "rise", n3, sizeof(n3)),
		 num(c, "fall", n4, sizeof(n4)));
	if (dnum(c, "slowstart_ms") > 0) {
		size_t l = strlen(buf);

		snprintf(buf + l, len - l, "  slowstart %sms",
			 num(c, "slowstart_ms", n1, sizeof(n1)));
	}
}

int cmd_health(struct args *a, const struct lbctl_cmd *c)
{
	const struct jv *vips;
	struct jv *ans;
	struct jw w;
	int rc;

	if (a->argc > 1)
		return fail(2, "unexpected argument '%s'", a->argv[1]);
	if (a->argc && (rc = check_vip(a->argv[0])))
		return rc;
	jw_init(&w, false);
	jw_obj_begin(&w);
	jw_kstr(&w, "cmd", c->req);
	if (a->argc)
		jw_kstr(&w, "vip", a->argv[0]);
	jw_obj_end(&w);
	ans = lbctl_call(&w, &rc);
	jw_free(&w);
	if (!ans || lbctl_json) {
		jv_free(ans);
		return rc;
	}
	vips = jv_get(ans, "vips");
	for (size_t i = 0; vips && i < vips->n; i++) {
		const struct jv *v = &vips->items[i];
		const struct jv *bes = jv_get(v, "backends");
		struct table t = { .ncols = 8 };
		char sum[256];

		check_summary(jv_get(v, "check"), sum, sizeof(sum));
		printf("%s  %s\n", jv_get_str(v, "vip"), sum);
		if (!bes || !bes->n) {
			printf("    (no backends)\n");
			continue;
		}
		t_row(&t, "BACKEND", "STATE", "HEALTH", "LAST", "LATENCY",
		      "OK/FAIL", "SINCE", "REASON");
		for (size_t j = 0; j < bes->n; j++) {
			const struct jv *b = &bes->items[j];
			char lat[24] = "-", streak[32] = "-", since[24] = "-";
			const char *last = jv_get_str(b, "last");
			char n1[24], n2[24];

			if (jv_get(b, "latency_ms"))
				snprintf(lat, sizeof(lat), "%.1fms",
					 dnum(b, "latency_ms"));
			if (jv_get(b, "ok_streak"))
				snprintf(streak, sizeof(streak), "%s/%s",
					 num(b, "ok_streak", n1, sizeof(n1)),
					 num(b, "fail_streak", n2, sizeof(n2)));
			if (jv_get(b, "since_transition_s"))
				snprintf(since, sizeof(since), "%.0fs",
					 dnum(b, "since_transition_s"));
			t_row(&t, jv_get_str(b, "backend"),
			      jv_get_str(b, "state"), jv_get_str(b, "health"),
			      last ? last : "-", lat, streak, since,
			      jv_get_str(b, "reason"));
		}
		t_print(&t, "    ");
	}
	jv_free(ans);
	return rc;
}
