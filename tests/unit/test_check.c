// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_check.c - the health check configuration (user/lbd/check.c): the
 * defaults, every field of the "check" object of the control protocol and
 * the state file, each kind of bad value, and the JSON round trip.
 */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "lbd.h"

static struct lb_vip_spec vip80, vip_all;

/* Parse text as a check object for vip; returns 0 or -EINVAL. */
static int parse(const char *text, const struct lb_vip_spec *vip,
		 struct lbd_check *c, char *err, size_t len)
{
	char perr[128];
	struct jv *o = jv_parse(text, strlen(text), perr, sizeof(perr));
	int rc;

	if (!o) {
		snprintf(err, len, "test bug: %s", perr);
		return -1;
	}
	rc = lbd_check_from_json(o, vip, c, err, len);
	jv_free(o);
	return rc;
}

static void good(const char *name, const char *text,
		 const struct lb_vip_spec *vip, struct lbd_check *c)
{
	char err[LB_ERRLEN] = "";

	T_CHECK(name, parse(text, vip, c, err, sizeof(err)) == 0, "refused: %s",
		err);
}

/* A bad check object is refused with an error naming want. */
static void bad(const char *name, const char *text, const char *want)
{
	struct lbd_check c;
	char err[LB_ERRLEN] = "";
	int rc = parse(text, &vip80, &c, err, sizeof(err));

	T_CHECK(name, rc == -EINVAL && strstr(err, want),
		"rc %d, error '%s' (want '%s')", rc, err, want);
}

int main(void)
{
	struct lbd_check c, back;
	char err[LB_ERRLEN];
	struct jw w;

	lb_parse_vip("10.0.0.1:80/tcp", &vip80, err, sizeof(err));
	lb_parse_vip("10.0.0.1/tcp", &vip_all, err, sizeof(err));

	lbd_check_defaults(&c);
	T_CHECK("defaults: no check, fast failover timings",
		c.kind == LBD_CHECK_NONE && c.interval_ms == 1000 &&
			c.timeout_ms == 500 && c.rise == 2 && c.fall == 2 &&
			c.slowstart_ms == 0 && !strcmp(c.path, "/") &&
			c.expect == (1 << 2 | 1 << 3),
		"kind %u interval %u timeout %u", c.kind, c.interval_ms,
		c.timeout_ms);

	good("tcp with defaults", "{\"kind\":\"tcp\"}", &vip80, &c);
	T_CHECK("tcp: port 0 means the VIP's",
		c.kind == LBD_CHECK_TCP && c.port == 0 && c.interval_ms == 1000,
		"kind %u port %u", c.kind, c.port);
	good("http with everything",
	     "{\"kind\":\"http\",\"port\":8080,\"path\":\"/healthz?full=1\","
	     "\"host\":\"app.example\",\"expect\":\"2xx\",\"interval_ms\":"
	     "2000,\"timeout_ms\":2000,\"rise\":3,\"fall\":5,"
	     "\"slowstart_ms\":30000}",
	     &vip80, &c);
	T_CHECK("http: every field kept",
		c.kind == LBD_CHECK_HTTP && c.port == 8080 &&
			!strcmp(c.path, "/healthz?full=1") &&
			!strcmp(c.host, "app.example") && c.expect == 1 << 2 &&
			c.interval_ms == 2000 && c.timeout_ms == 2000 &&
			c.rise == 3 && c.fall == 5 && c.slowstart_ms == 30000,
		"got something else");
	good("expect several classes",
	     "{\"kind\":\"http\",\"expect\":\"2xx,3xx,4xx\"}", &vip80, &c);
	T_CHECK("expect mask", c.expect == (1 << 2 | 1 << 3 | 1 << 4),
		"mask 0x%x", c.expect);
	good("all-ports VIP with a check port",
	     "{\"kind\":\"tcp\",\"port\":22}", &vip_all, &c);
	good("none", "{\"kind\":\"none\"}", &vip_all, &c);

	/* the default timeout is 500 ms, or the interval when shorter */
	good("short interval alone", "{\"kind\":\"tcp\",\"interval_ms\":200}",
	     &vip80, &c);
	T_CHECK("short interval: timeout defaults to the interval",
		c.interval_ms == 200 && c.timeout_ms == 200,
		"interval %u timeout %u", c.interval_ms, c.timeout_ms);
	good("long interval alone", "{\"kind\":\"tcp\",\"interval_ms\":3000}",
	     &vip80, &c);
	T_CHECK("long interval: timeout stays 500 ms",
		c.interval_ms == 3000 && c.timeout_ms == 500,
		"interval %u timeout %u", c.interval_ms, c.timeout_ms);
	good("spec as typed",
	     "{\"kind\":\"http\",\"spec\":\"http:/healthz\","
	     "\"path\":\"/healthz\"}",
	     &vip80, &c);
	T_CHECK("spec kept as typed", !strcmp(c.spec, "http:/healthz"),
		"spec '%s'", c.spec);

	/* JSON round trip */
	parse("{\"kind\":\"http\",\"port\":81,\"path\":\"/h\",\"host\":\"x\","
	      "\"expect\":\"2xx,5xx\",\"interval_ms\":700,\"timeout_ms\":300,"
	      "\"rise\":4,\"fall\":1,\"slowstart_ms\":5000,"
	      "\"spec\":\"http:81/h\"}",
	      &vip80, &c, err, sizeof(err));
	jw_init(&w, false);
	lbd_check_to_json(&c, &w);
	T_CHECK("to_json then from_json gives the same check",
		parse(w.buf, &vip80, &back, err, sizeof(err)) == 0 &&
			!memcmp(&c, &back, sizeof(c)),
		"%s -> %s", w.buf, err);
	jw_free(&w);

	bad("not an object", "[1]", "object");
	bad("no kind", "{\"port\":80}", "kind");
	bad("unknown kind", "{\"kind\":\"icmp\"}", "icmp");
	bad("unknown field", "{\"kind\":\"tcp\",\"every\":1}", "every");
	bad("port 0", "{\"kind\":\"tcp\",\"port\":0}", "port");
	bad("port too big", "{\"kind\":\"tcp\",\"port\":65536}", "port");
	bad("port a string", "{\"kind\":\"tcp\",\"port\":\"80\"}", "port");
	bad("path without slash", "{\"kind\":\"http\",\"path\":\"healthz\"}",
	    "path");
	bad("path with a space", "{\"kind\":\"http\",\"path\":\"/a b\"}",
	    "path");
	bad("path with CRLF (header injection)",
	    "{\"kind\":\"http\",\"path\":\"/\\r\\nX: y\"}", "path");
	bad("path too long",
	    "{\"kind\":\"http\",\"path\":\"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
	    "path");
	bad("host with CRLF", "{\"kind\":\"http\",\"host\":\"a\\r\\nb\"}",
	    "host");
	bad("empty host", "{\"kind\":\"http\",\"host\":\"\"}", "host");
	bad("expect 6xx", "{\"kind\":\"http\",\"expect\":\"6xx\"}", "6xx");
	bad("expect 200", "{\"kind\":\"http\",\"expect\":\"200\"}", "200");
	bad("expect empty", "{\"kind\":\"http\",\"expect\":\"\"}", "expect");
	bad("interval too short", "{\"kind\":\"tcp\",\"interval_ms\":10}",
	    "interval_ms");
	bad("timeout too short", "{\"kind\":\"tcp\",\"timeout_ms\":1}",
	    "timeout_ms");
	bad("timeout above interval",
	    "{\"kind\":\"tcp\",\"interval_ms\":500,\"timeout_ms\":600}",
	    "must not exceed");
	bad("timeout given above a short interval",
	    "{\"kind\":\"tcp\",\"interval_ms\":200,\"timeout_ms\":500}",
	    "must not exceed");
	bad("interval 1e3", "{\"kind\":\"tcp\",\"interval_ms\":1e3}",
	    "must be an integer");
	bad("spec with a space", "{\"kind\":\"tcp\",\"spec\":\"tcp 80\"}",
	    "spec");
	bad("spec not a string", "{\"kind\":\"tcp\",\"spec\":1}", "spec");
	bad("rise 0", "{\"kind\":\"tcp\",\"rise\":0}", "rise");
	bad("fall 101", "{\"kind\":\"tcp\",\"fall\":101}", "fall");
	bad("fall negative", "{\"kind\":\"tcp\",\"fall\":-1}", "fall");
	bad("slowstart over an hour",
	    "{\"kind\":\"tcp\",\"slowstart_ms\":3600001}", "slowstart_ms");
	{
		struct lbd_check x;
		char e[LB_ERRLEN] = "";
		int rc = parse("{\"kind\":\"http\"}", &vip_all, &x, e,
			       sizeof(e));

		T_CHECK("all-ports VIP needs a check port",
			rc == -EINVAL && strstr(e, "check port"), "rc %d, '%s'",
			rc, e);
	}
	return t_failed ? 1 : 0;
}
