// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* checkspec.c - health checks and durations as operators write them. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "checkspec.h"

#define bad(...)                                    \
	({                                          \
		snprintf(err, errlen, __VA_ARGS__); \
		-EINVAL;                            \
	})

int lb_parse_check_spec(const char *s, struct lb_check_spec *c, char *err,
			size_t errlen)
{
	size_t klen = strcspn(s, ":/");
	const char *rest = s[klen] ? s + klen : NULL;
	char e[LB_ERRLEN];

	memset(c, 0, sizeof(*c));
	if (klen >= sizeof(c->kind) || ((klen != 4 || strncmp(s, "none", 4)) &&
					(klen != 3 || strncmp(s, "tcp", 3)) &&
					(klen != 4 || strncmp(s, "http", 4))))
		return bad("unknown kind in '%s' (none, tcp[:PORT] or "
			   "http[:PORT][/PATH])",
			   s);
	memcpy(c->kind, s, klen);
	c->kind[klen] = 0;
	if (!rest)
		return 0;
	if (*rest == ':')
		rest++;
	if (!strcmp(c->kind, "none"))
		return bad("none takes no port or path");
	if (*rest && *rest != '/') {
		char port[8];
		size_t n = strcspn(rest, "/");

		if (n >= sizeof(port))
			return bad("bad port in '%s'", s);
		memcpy(port, rest, n);
		port[n] = 0;
		if (lb_parse_u32(port, "check port", 1, 65535, &c->port, e,
				 sizeof(e)))
			return bad("%s", e);
		rest += n;
	}
	if (*rest) {
		if (strcmp(c->kind, "http"))
			return bad("only http checks have a path");
		if (strlen(rest) >= sizeof(c->path))
			return bad("path too long");
		snprintf(c->path, sizeof(c->path), "%s", rest);
	}
	return 0;
}

int lb_parse_duration_ms(const char *s, uint32_t *ms, char *err, size_t errlen)
{
	char *end;
	double v, mul = 1000;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0)
		return bad("'%s' is not a duration (e.g. 500ms, 2s)", s);
	if (!strcmp(end, "ms"))
		mul = 1;
	else if (!strcmp(end, "m"))
		mul = 60000;
	else if (*end && strcmp(end, "s"))
		return bad("unknown unit in '%s' (ms, s or m)", s);
	if (v * mul > 3600000)
		return bad("'%s' is longer than an hour", s);
	*ms = (uint32_t)(v * mul + 0.5);
	return 0;
}

const char *lb_format_duration(uint32_t ms, char *buf, size_t len)
{
	if (ms && ms % 1000 == 0)
		snprintf(buf, len, "%us", ms / 1000);
	else
		snprintf(buf, len, "%ums", ms);
	return buf;
}
