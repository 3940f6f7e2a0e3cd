// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * opts.c - the arguments and --options of lbctl's commands, checked here
 * first and turned into the fields of lbd's request: VIP options, weights,
 * and the health check options gathered into one "check" object.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "checkspec.h"
#include "lbctl.h"
#include "rules.h"

/* Check a VIP locally; prints the error. */
int check_vip(const char *s)
{
	struct lb_vip_spec v;
	char err[LB_ERRLEN];

	if (lb_parse_vip(s, &v, err, sizeof(err)))
		return fail(1, "%s", err);
	return 0;
}

int check_backend(const char *vip, const char *s)
{
	struct lb_vip_spec v;
	union lb_addr a;
	uint8_t fam;
	char err[LB_ERRLEN], rule[512];

	if (lb_parse_addr(s, &a, &fam, err, sizeof(err)) ||
	    lb_addr_check_unicast(&a, fam, err, sizeof(err)))
		return fail(1, "backend: %s", err);
	/* the VIP's mode is lbd's to know: taken as ipip here, the mode
	 * that allows the most */
	if (!lb_parse_vip(vip, &v, NULL, 0) &&
	    (lb_rule_not_vip(&v, &a, fam, vip, s, rule, sizeof(rule)) ||
	     lb_rule_family(true, v.family, fam, vip, s, rule, sizeof(rule))))
		return fail(1, "%s", rule);
	return 0;
}

/* A duration (see lb_parse_duration_ms), named by its option. */
static int parse_duration_ms(const char *s, const char *what, uint32_t *ms)
{
	char err[LB_ERRLEN];

	if (lb_parse_duration_ms(s, ms, err, sizeof(err)))
		return fail(1, "%s: %s", what, err);
	return 0;
}

/* The check options, gathered before they become one "check" object. */
struct cli_check {
	bool any, kind_set;
	const char *spec; /* --check as typed, shown back by lbctl health */
	char kind[8];
	char path[256];
	const char *host, *expect;
	uint32_t port;
	uint32_t interval, timeout, rise, fall, slowstart;
	bool has_interval, has_timeout, has_rise, has_fall, has_slowstart;
};

/* none | tcp[:PORT] | http[:PORT][/PATH] */
static int parse_check_spec(const char *s, struct cli_check *c)
{
	struct lb_check_spec cs;
	char err[LB_ERRLEN];

	if (lb_parse_check_spec(s, &cs, err, sizeof(err)))
		return fail(1, "--check: %s", err);
	snprintf(c->kind, sizeof(c->kind), "%s", cs.kind);
	snprintf(c->path, sizeof(c->path), "%s", cs.path);
	c->port = cs.port;
	c->kind_set = true;
	c->spec = s;
	return 0;
}

/* key: v, when the option was given */
static void kuint_if(struct jw *w, bool given, const char *key, uint32_t v)
{
	if (given)
		jw_kuint(w, key, v);
}

static void kstr_if(struct jw *w, const char *key, const char *s)
{
	if (s)
		jw_kstr(w, key, s);
}

static void emit_check(struct jw *w, const struct cli_check *c)
{
	jw_key(w, "check");
	jw_obj_begin(w);
	jw_kstr(w, "kind", c->kind);
	jw_kstr(w, "spec", c->spec);
	kuint_if(w, c->port, "port", c->port);
	kstr_if(w, "path", c->path[0] ? c->path : NULL);
	kstr_if(w, "host", c->host);
	kstr_if(w, "expect", c->expect);
	kuint_if(w, c->has_interval, "interval_ms", c->interval);
	kuint_if(w, c->has_timeout, "timeout_ms", c->timeout);
	kuint_if(w, c->has_rise, "rise", c->rise);
	kuint_if(w, c->has_fall, "fall", c->fall);
	kuint_if(w, c->has_slowstart, "slowstart_ms", c->slowstart);
	jw_obj_end(w);
}

/* An option that is one of two words, into the request's key; else
 * "unknown WHAT ..." (exit code 1). */
static int choice(struct jw *w, const char *key, const char *what,
		  const char *val, const char *a, const char *b)
{
	if (strcmp(val, a) && strcmp(val, b))
		return fail(1, "unknown %s '%s' (%s or %s)", what, val, a, b);
	jw_kstr(w, key, val);
	return 0;
}

/* Parse trailing --options of vip/backend commands into the request. */
int parse_opts(struct args *a, int from, struct jw *w, int allowed)
{
	struct cli_check chk = {};

	for (int i = from; i < a->argc; i++) {
		const char *o = a->argv[i];
		const char *val = i + 1 < a->argc ? a->argv[i + 1] : NULL;
		bool is_check = allowed & OPTS_CHECK;
		char err[LB_ERRLEN];
		uint32_t n;
		int rc;

		if (!strcmp(o, "--inherit") && (allowed & OPTS_INHERIT)) {
			jw_kbool(w, "inherit", true);
			continue;
		}
		if (!strncmp(o, "--", 2) && !val)
			return fail(2, "missing value of %s", o);
		if (!strcmp(o, "--weight") && (allowed & OPTS_WEIGHT)) {
			if (lb_parse_u32(val, "weight", 0, 10000, &n, err,
					 sizeof(err)))
				return fail(1, "%s", err);
			jw_kuint(w, "weight", n);
		} else if (!strcmp(o, "--mode") && (allowed & OPTS_VIP)) {
			if ((rc = choice(w, "mode", "mode", val, "dsr",
					 "ipip")))
				return rc;
		} else if (!strcmp(o, "--hash") && (allowed & OPTS_VIP)) {
			if ((rc = choice(w, "hash", "hash", val, "5tuple",
					 "src")))
				return rc;
		} else if (!strcmp(o, "--on-down") &&
			   (allowed & (OPTS_VIP | OPTS_ON_DOWN))) {
			if ((rc = choice(w, "on_down", "on-down", val, "keep",
					 "rehash")))
				return rc;
		} else if (!strcmp(o, "--table-size") && (allowed & OPTS_VIP)) {
			if (lb_parse_u32(val, "table size", 3,
					 LB_MAGLEV_MAX_SIZE, &n, err,
					 sizeof(err)))
				return fail(1, "%s", err);
			jw_kuint(w, "table_size", n);
		} else if (!strcmp(o, "--check") && is_check) {
			if ((rc = parse_check_spec(val, &chk)))
				return rc;
		} else if (!strcmp(o, "--check-interval") && is_check) {
			if ((rc = parse_duration_ms(val, o, &chk.interval)))
				return rc;
			chk.has_interval = chk.any = true;
		} else if (!strcmp(o, "--check-timeout") && is_check) {
			if ((rc = parse_duration_ms(val, o, &chk.timeout)))
				return rc;
			chk.has_timeout = chk.any = true;
		} else if (!strcmp(o, "--slowstart") && is_check) {
			if ((rc = parse_duration_ms(val, o, &chk.slowstart)))
				return rc;
			chk.has_slowstart = chk.any = true;
		} else if ((!strcmp(o, "--rise") || !strcmp(o, "--fall")) &&
			   is_check) {
			if (lb_parse_u32(val, o + 2, 1, 100, &n, err,
					 sizeof(err)))
				return fail(1, "%s", err);
			if (o[2] == 'r') {
				chk.rise = n;
				chk.has_rise = true;
			} else {
				chk.fall = n;
				chk.has_fall = true;
			}
			chk.any = true;
		} else if (!strcmp(o, "--check-host") && is_check) {
			chk.host = val;
			chk.any = true;
		} else if (!strcmp(o, "--check-expect") && is_check) {
			chk.expect = val;
			chk.any = true;
		} else {
			return fail(2, "unknown option or argument '%s'", o);
		}
		i++;
	}
	if (chk.any && !chk.kind_set)
		return fail(2, "check options need --check KIND "
			       "(tcp[:PORT] or http[:PORT][/PATH])");
	if (chk.kind_set)
		emit_check(w, &chk);
	return 0;
}
