// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * config.c - command line and --config FILE of lb-backend.
 *
 * The file holds the same options without their dashes, one per line
 * ("workers 4", "origin http://10.0.0.1:8080", '#' comments).  It is read
 * first, then the command line overrides it.  The file is read again on
 * every SIGHUP, which is how configuration changes without a restart.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "rvalue.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lb-backend --listen ADDR:PORT (--origin URL | --root DIR)\n"
		"                  [--workers N] [--cache-size BYTES[k|m|g]] [--ttl SECONDS]\n"
		"                  [--config FILE] [--read-timeout S] [--idle-timeout S]\n"
		"                  [--origin-timeout S] [--connect-timeout S]\n"
		"                  [--drain-delay S] [--grace S] [--max-body BYTES]\n"
		"                  [--max-conns N] [--admin-listen ADDR:PORT]\n"
		"                  [--accept rotate|exclusive|reuseport]\n"
		"                  [--max-object-size BYTES] [--max-response BYTES]\n"
		"                  [--temp-dir DIR] [--cache-set-cookie yes|no]\n"
		"                  [--origin-keepalive N] [--origin-idle-timeout S]\n"
		"                  [--origin-pipeline N]\n"
		"                  [--redis URL] [--redis-timeout S] [--redis-retry S]\n"
		"                  [--redis-max-object BYTES] [--redis-prefix STRING]\n"
		"                  [--redis-lock-wait S]\n"
		"                  [--redis-cluster [redis://[USER]:PASSWORD@]HOST:PORT,...]\n"
		"                  [--verbose]\n"
		"signals: HUP reload (new binary and configuration), TERM graceful\n"
		"         stop (/healthz 503 first), QUIT immediate stop\n");
}

static int parse_u64(const char *v, uint64_t *out, int suffixes)
{
	char *end;
	unsigned long long x;

	if (!*v || *v == '-')
		return -EINVAL;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || end == v)
		return -EINVAL;
	if (suffixes && *end) {
		int sh = *end == 'k' || *end == 'K' ? 10 :
			 *end == 'm' || *end == 'M' ? 20 :
			 *end == 'g' || *end == 'G' ? 30 :
						      -1;

		if (sh < 0 || end[1] || x > (~0ull >> sh))
			return -EINVAL;
		x <<= sh;
		end++;
	}
	if (*end)
		return -EINVAL;
	*out = x;
	return 0;
}

/* Seconds, possibly fractional, as milliseconds in (0, 1 day]. */
static int parse_secs(const char *v, unsigned int *ms)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || !(d >= 0.001 && d <= 86400))
		return -EINVAL;
	*ms = (unsigned int)(d * 1000 + 0.5);
	return 0;
}

static int need_u64(const char *name, const char *v, int sfx, uint64_t lo,
		    uint64_t hi, uint64_t *x)
{
	if (parse_u64(v, x, sfx) || *x < lo || *x > hi) {
		fprintf(stderr, "lb-backend: --%s: bad value '%s'\n", name, v);
		return -EINVAL;
	}
	return 0;
}

static int set_option(struct config *c, const char *name, const char *v)
{
	uint64_t x;
	unsigned int ms;

#define NEED_U64(sfx, lo, hi)                           \
	do {                                            \
		if (need_u64(name, v, sfx, lo, hi, &x)) \
			return -EINVAL;                 \
	} while (0)
#define NEED_SECS()                                                            \
	do {                                                                   \
		if (parse_secs(v, &ms)) {                                      \
			fprintf(stderr,                                        \
				"lb-backend: --%s: bad duration '%s'\n", name, \
				v);                                            \
			return -EINVAL;                                        \
		}                                                              \
	} while (0)

	if (!strcmp(name, "listen")) {
		if (strlen(v) >= sizeof(c->listen))
			goto toolong;
		strcpy(c->listen, v);
	} else if (!strcmp(name, "accept")) {
		if (!strcmp(v, "rotate"))
			c->accept_mode = ACCEPT_ROTATE;
		else if (!strcmp(v, "exclusive"))
			c->accept_mode = ACCEPT_EXCLUSIVE;
		else if (!strcmp(v, "reuseport"))
			c->accept_mode = ACCEPT_REUSEPORT;
		else {
			fprintf(stderr,
				"lb-backend: --accept: 'rotate', 'exclusive' or 'reuseport', not '%s'\n",
				v);
			return -EINVAL;
		}
	} else if (!strcmp(name, "admin-listen")) {
		if (strlen(v) >= sizeof(c->admin_listen))
			goto toolong;
		strcpy(c->admin_listen, v);
	} else if (!strcmp(name, "max-object-size")) {
		NEED_U64(1, 0, 1ull << 40);
		c->max_object = x;
	} else if (!strcmp(name, "max-response")) {
		NEED_U64(1, 1, 1ull << 44);
		c->max_response = x;
	} else if (!strcmp(name, "temp-dir")) {
		if (!realpath(v, c->temp_dir)) {
			fprintf(stderr, "lb-backend: --temp-dir %s: %s\n", v,
				strerror(errno));
			return -EINVAL;
		}
	} else if (!strcmp(name, "cache-set-cookie")) {
		if (strcmp(v, "yes") && strcmp(v, "no")) {
			fprintf(stderr,
				"lb-backend: --cache-set-cookie: 'yes' or 'no', not '%s'\n",
				v);
			return -EINVAL;
		}
		c->cache_cookies = !strcmp(v, "yes");
	} else if (!strcmp(name, "origin-keepalive")) {
		NEED_U64(0, 0, 64);
		c->origin_keepalive = x;
	} else if (!strcmp(name, "origin-pipeline")) {
		NEED_U64(0, 1, ORIGIN_PIPELINE_MAX);
		c->origin_pipeline = x;
	} else if (!strcmp(name, "origin-idle-timeout")) {
		NEED_SECS();
		c->origin_idle_ms = ms;
	} else if (!strcmp(name, "workers")) {
		NEED_U64(0, 1, MAX_SLOTS / 2);
		c->workers = x;
	} else if (!strcmp(name, "origin")) {
		if (strlen(v) >= sizeof(c->origin_url))
			goto toolong;
		strcpy(c->origin_url, v);
		c->root[0] = '\0';
	} else if (!strcmp(name, "root")) {
		if (!realpath(v, c->root)) {
			fprintf(stderr, "lb-backend: --root %s: %s\n", v,
				strerror(errno));
			return -EINVAL;
		}
		c->origin_url[0] = '\0';
	} else if (!strcmp(name, "cache-size")) {
		NEED_U64(1, 4096, 1ull << 40);
		c->cache_size = x;
	} else if (!strcmp(name, "ttl")) {
		NEED_U64(0, 0, 10ull * 365 * 86400);
		c->ttl = x;
	} else if (!strcmp(name, "max-body")) {
		NEED_U64(1, 0, 1ull << 40);
		c->limits.max_body = x;
	} else if (!strcmp(name, "max-conns")) {
		NEED_U64(0, 1, 1000000);
		c->max_conns = x;
	} else if (!strcmp(name, "read-timeout")) {
		NEED_SECS();
		c->read_timeout_ms = ms;
	} else if (!strcmp(name, "idle-timeout")) {
		NEED_SECS();
		c->idle_timeout_ms = ms;
	} else if (!strcmp(name, "origin-timeout")) {
		NEED_SECS();
		c->origin_timeout_ms = ms;
	} else if (!strcmp(name, "connect-timeout")) {
		NEED_SECS();
		c->connect_timeout_ms = ms;
	} else if (!strcmp(name, "drain-delay")) {
		NEED_SECS();
		c->drain_delay_ms = ms;
	} else if (!strcmp(name, "grace")) {
		NEED_SECS();
		c->grace_ms = ms;
	} else if (!strcmp(name, "redis") || !strcmp(name, "redis-cluster")) {
		if (strlen(v) >= sizeof(c->redis.url))
			goto toolong;
		strcpy(c->redis.url, v);
		c->redis.cluster = !strcmp(name, "redis-cluster");
	} else if (!strcmp(name, "redis-timeout")) {
		NEED_SECS();
		c->redis.timeout_ms = ms;
	} else if (!strcmp(name, "redis-retry")) {
		NEED_SECS();
		c->redis.retry_ms = ms;
	} else if (!strcmp(name, "redis-lock-wait")) {
		NEED_SECS();
		c->redis.lock_wait_ms = ms;
	} else if (!strcmp(name, "redis-max-object")) {
		NEED_U64(1, RVALUE_HDR + 1, 512ull << 20);
		c->redis.max_object = x;
	} else if (!strcmp(name, "redis-prefix")) {
		if (strlen(v) >= sizeof(c->redis.prefix))
			goto toolong;
		strcpy(c->redis.prefix, v);
	} else {
		fprintf(stderr, "lb-backend: unknown option '%s'\n", name);
		return -EINVAL;
	}
	return 0;
toolong:
	fprintf(stderr, "lb-backend: --%s: value too long\n", name);
	return -EINVAL;
#undef NEED_U64
#undef NEED_SECS
}

static int read_file(struct config *c, const char *path)
{
	char line[1024], *p, *name, *val, *e;
	int lineno = 0, err = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		fprintf(stderr, "lb-backend: --config %s: %s\n", path,
			strerror(errno));
		return -EINVAL;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		lineno++;
		p = strchr(line, '#');
		if (p)
			*p = '\0';
		name = line + strspn(line, " \t\r\n");
		if (!*name)
			continue;
		val = name + strcspn(name, " \t\r\n");
		if (*val)
			*val++ = '\0';
		val += strspn(val, " \t");
		e = val + strlen(val);
		while (e > val && strchr(" \t\r\n", e[-1]))
			*--e = '\0';
		if (!strcmp(name, "config") || !*val) {
			fprintf(stderr, "lb-backend: %s:%d: bad line\n", path,
				lineno);
			err = -EINVAL;
			break;
		}
		err = set_option(c, name, val);
		if (err)
			fprintf(stderr, "lb-backend: (in %s:%d)\n", path,
				lineno);
	}
	fclose(f);
	return err;
}

int config_parse(int argc, char **argv, struct config *c)
{
	char err[256];
	long n;
	int i;

	memset(c, 0, sizeof(*c));
	n = sysconf(_SC_NPROCESSORS_ONLN);
	c->workers = n > 0 ? (n > MAX_SLOTS / 2 ? MAX_SLOTS / 2 : n) : 1;
	c->cache_size = 64ull << 20;
	c->ttl = 60;
	c->max_object = 1 << 20;
	c->max_response = 1ull << 30;
	strcpy(c->temp_dir, "/tmp");
	c->origin_keepalive = 32;
	c->origin_pipeline = ORIGIN_PIPELINE_MAX;
	c->origin_idle_ms = 30000;
	c->read_timeout_ms = 10000;
	c->idle_timeout_ms = 60000;
	c->connect_timeout_ms = 2000;
	c->origin_timeout_ms = 10000;
	c->drain_delay_ms = 2000;
	c->grace_ms = 10000;
	c->max_conns = 10000;
	c->limits.max_line = 8192;
	c->limits.max_header = 16384;
	c->limits.max_headers = 100;
	c->limits.max_body = 1 << 20;
	rtier_config_init(&c->redis);

	/* the file first, whatever its place on the line */
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config")) {
			if (i + 1 >= argc) {
				fprintf(stderr,
					"lb-backend: --config needs a value\n");
				return -EINVAL;
			}
			if (strlen(argv[i + 1]) >= sizeof(c->config_file)) {
				fprintf(stderr,
					"lb-backend: --config: path too long\n");
				return -EINVAL;
			}
			strcpy(c->config_file, argv[i + 1]);
			if (read_file(c, c->config_file))
				return -EINVAL;
		}
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		}
		if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			c->verbose = 1;
			continue;
		}
		if (strncmp(a, "--", 2) || !a[2]) {
			fprintf(stderr,
				"lb-backend: unexpected argument '%s'\n", a);
			usage(stderr);
			return -EINVAL;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "lb-backend: %s needs a value\n", a);
			return -EINVAL;
		}
		if (strcmp(a, "--config") && set_option(c, a + 2, argv[i + 1]))
			return -EINVAL;
		i++;
	}
	if (!c->listen[0]) {
		fprintf(stderr, "lb-backend: --listen ADDR:PORT is required\n");
		usage(stderr);
		return -EINVAL;
	}
	if (!c->origin_url[0] && !c->root[0]) {
		fprintf(stderr,
			"lb-backend: one of --origin URL or --root DIR is required\n");
		usage(stderr);
		return -EINVAL;
	}
	if (c->origin_url[0] &&
	    origin_parse(c->origin_url, &c->origin, err, sizeof(err))) {
		fprintf(stderr, "lb-backend: %s\n", err);
		return -EINVAL;
	}
	if (rtier_config_check(&c->redis))
		return -EINVAL;
	if (c->connect_timeout_ms > c->origin_timeout_ms)
		c->connect_timeout_ms = c->origin_timeout_ms;
	return 0;
}
