// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * check.c - the health check configuration of a VIP or a backend: its
 * defaults (fast failover: 1 s interval, 500 ms timeout, rise 2, fall 2),
 * validation of the "check" object of the control protocol and of the
 * state file, and its JSON form.  health.c runs the checks.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lbd.h"

void lbd_check_defaults(struct lbd_check *c)
{
	memset(c, 0, sizeof(*c));
	c->kind = LBD_CHECK_NONE;
	c->expect = 1 << 2 | 1 << 3; /* 2xx and 3xx, as HAProxy */
	c->interval_ms = 1000;
	c->timeout_ms = 500;
	c->rise = 2;
	c->fall = 2;
	snprintf(c->path, sizeof(c->path), "/");
}

const struct lbd_check *lbd_check_of(const struct lbd_vip *v,
				     const struct lbd_backend *b)
{
	return b->check_set ? &b->check : &v->check;
}

static const char *kind_name(uint8_t k)
{
	return k == LBD_CHECK_TCP  ? "tcp" :
	       k == LBD_CHECK_HTTP ? "http" :
				     "none";
}

static int expect_from_str(const char *s, uint8_t *mask)
{
	*mask = 0;
	while (*s) {
		if (s[0] < '1' || s[0] > '5' || s[1] != 'x' || s[2] != 'x')
			return -EINVAL;
		*mask |= (uint8_t)(1 << (s[0] - '0'));
		s += 3;
		if (*s == ',')
			s++;
		else if (*s)
			return -EINVAL;
	}
	return *mask ? 0 : -EINVAL;
}

void lbd_check_expect_str(uint8_t mask, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (int c = 1; c <= 5 && n + 4 < len; c++)
		if (mask & (1 << c))
			n += (size_t)snprintf(buf + n, len - n, "%s%dxx",
					      n ? "," : "", c);
}

static bool printable_token(const char *s)
{
	for (; *s; s++)
		if (*s <= ' ' || *s >= 0x7f)
			return false;
	return true;
}

#define bad(...)                                    \
	({                                          \
		snprintf(err, errlen, __VA_ARGS__); \
		-EINVAL;                            \
	})

static int get_ms(const struct jv *o, const char *key, uint64_t min,
		  uint64_t max, uint32_t *out, char *err, size_t errlen)
{
	const struct jv *x = jv_get(o, key);

	if (!x)
		return 0;
	if (x->type != JV_NUM || !x->is_uint || x->u < min || x->u > max)
		return bad("check %s must be an integer %llu..%llu", key,
			   (unsigned long long)min, (unsigned long long)max);
	*out = (uint32_t)x->u;
	return 0;
}

/* An optional string member that is one token (a host name, ...). */
static int get_token(const struct jv *o, const char *key, char *out,
		     size_t outlen, char *err, size_t errlen)
{
	const char *s = jv_get_str(o, key);

	if (jv_get(o, key) && !s)
		return bad("check %s must be a string", key);
	if (!s)
		return 0;
	if (!s[0] || !printable_token(s) || strlen(s) >= outlen)
		return bad("check %s must be text without spaces, shorter "
			   "than %zu bytes",
			   key, outlen);
	snprintf(out, outlen, "%s", s);
	return 0;
}

int lbd_check_from_json(const struct jv *o, const struct lb_vip_spec *vip,
			struct lbd_check *c, char *err, size_t errlen)
{
	const char *kind, *path, *expect;
	static const char *const known[] = {
		"kind",	  "port",	  "path",	"host",
		"expect", "interval_ms",  "timeout_ms", "rise",
		"fall",	  "slowstart_ms", "spec",
	};
	int rc;

	lbd_check_defaults(c);
	if (!o || o->type != JV_OBJ)
		return bad("check must be an object");
	for (size_t i = 0; i < o->n; i++) {
		size_t k = 0;

		while (k < sizeof(known) / sizeof(known[0]) &&
		       strcmp(known[k], o->keys[i]))
			k++;
		if (k == sizeof(known) / sizeof(known[0]))
			return bad("unknown check field \"%s\"", o->keys[i]);
	}
	kind = jv_get_str(o, "kind");
	if (!kind)
		return bad("check needs a kind (tcp, http or none)");
	if (!strcmp(kind, "tcp"))
		c->kind = LBD_CHECK_TCP;
	else if (!strcmp(kind, "http"))
		c->kind = LBD_CHECK_HTTP;
	else if (strcmp(kind, "none"))
		return bad("unknown check kind '%s' (tcp, http or none)", kind);

	if (jv_get(o, "port")) {
		uint64_t port;

		if (jv_get_uint(o, "port", 65535, &port) || !port)
			return bad("check port must be 1..65535");
		c->port = (uint16_t)port;
	}
	if (c->kind != LBD_CHECK_NONE && !c->port && vip && !vip->port)
		return bad("an all-ports VIP needs a check port "
			   "(e.g. http:8080/healthz)");

	path = jv_get_str(o, "path");
	if (jv_get(o, "path") && !path)
		return bad("check path must be a string");
	if (path) {
		if (path[0] != '/' || !printable_token(path) ||
		    strlen(path) >= sizeof(c->path))
			return bad("check path must start with '/', have no "
				   "spaces and be shorter than %zu bytes",
				   sizeof(c->path));
		snprintf(c->path, sizeof(c->path), "%s", path);
	}
	/* spec: the check as the operator wrote it, shown back as it was */
	if ((rc = get_token(o, "host", c->host, sizeof(c->host), err,
			    errlen)) ||
	    (rc = get_token(o, "spec", c->spec, sizeof(c->spec), err, errlen)))
		return rc;
	expect = jv_get_str(o, "expect");
	if (jv_get(o, "expect") && !expect)
		return bad("check expect must be a string");
	if (expect && expect_from_str(expect, &c->expect))
		return bad("check expect must list status classes like "
			   "2xx or 2xx,3xx, not '%s'",
			   expect);

	if ((rc = get_ms(o, "interval_ms", 100, 3600000, &c->interval_ms, err,
			 errlen)) ||
	    (rc = get_ms(o, "timeout_ms", 10, 3600000, &c->timeout_ms, err,
			 errlen)) ||
	    (rc = get_ms(o, "rise", 1, 100, &c->rise, err, errlen)) ||
	    (rc = get_ms(o, "fall", 1, 100, &c->fall, err, errlen)) ||
	    (rc = get_ms(o, "slowstart_ms", 0, 3600000, &c->slowstart_ms, err,
			 errlen)))
		return rc;
	/* the default timeout fits a short interval: min(500 ms, interval) */
	if (!jv_get(o, "timeout_ms") && c->timeout_ms > c->interval_ms)
		c->timeout_ms = c->interval_ms;
	if (c->timeout_ms > c->interval_ms)
		return bad("check timeout (%u ms) must not exceed the interval "
			   "(%u ms)",
			   c->timeout_ms, c->interval_ms);
	return 0;
}

void lbd_check_to_json(const struct lbd_check *c, struct jw *w)
{
	char ex[32];

	jw_obj_begin(w);
	jw_kstr(w, "kind", kind_name(c->kind));
	if (c->spec[0])
		jw_kstr(w, "spec", c->spec);
	if (c->port)
		jw_kuint(w, "port", c->port);
	if (c->kind == LBD_CHECK_HTTP) {
		jw_kstr(w, "path", c->path);
		if (c->host[0])
			jw_kstr(w, "host", c->host);
		lbd_check_expect_str(c->expect, ex, sizeof(ex));
		jw_kstr(w, "expect", ex);
	}
	jw_kuint(w, "interval_ms", c->interval_ms);
	jw_kuint(w, "timeout_ms", c->timeout_ms);
	jw_kuint(w, "rise", c->rise);
	jw_kuint(w, "fall", c->fall);
	jw_kuint(w, "slowstart_ms", c->slowstart_ms);
	jw_obj_end(w);
}
