// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * redis_addr.c - where a Redis server is: host:port, redis:// and unix:
 * URLs (with a user, a password and a database), resolved to an address.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "redis.h"

static int resolve(const char *host, const char *port, struct redis_addr *a,
		   const char *what, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	char *end;
	long p;
	int rc;

	p = strtol(port, &end, 10);
	if (!*port || *end || p < 1 || p > 65535) {
		snprintf(err, errlen, "redis '%s': bad port '%s'", what, port);
		return -EINVAL;
	}
	if (!*host) {
		snprintf(err, errlen, "redis '%s': no host", what);
		return -EINVAL;
	}
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "redis '%s': %s", what, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(&a->ss, ai->ai_addr, ai->ai_addrlen);
	a->len = ai->ai_addrlen;
	freeaddrinfo(ai);
	snprintf(a->text, sizeof(a->text), "%s%s%s:%s",
		 strchr(host, ':') ? "[" : "", host,
		 strchr(host, ':') ? "]" : "", port);
	return 0;
}

/* "host:port" or "[v6]:port" of s[0..n) into host and port. */
static int split_hostport(const char *s, size_t n, char *host, size_t hcap,
			  char *port, size_t pcap)
{
	const char *colon;
	size_t hl;

	if (n && s[0] == '[') {
		const char *rb = memchr(s, ']', n);

		if (!rb || rb + 1 >= s + n || rb[1] != ':')
			return -EINVAL;
		hl = rb - s - 1;
		if (hl >= hcap)
			return -EINVAL;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		colon = rb + 1;
	} else {
		colon = memrchr(s, ':', n);
		if (!colon)
			colon = s + n;
		hl = colon - s;
		if (hl >= hcap || memchr(s, ':', hl))
			return -EINVAL;
		memcpy(host, s, hl);
		host[hl] = '\0';
	}
	if (colon == s + n) {
		snprintf(port, pcap, "6379");
		return 0;
	}
	if ((size_t)(s + n - colon - 1) >= pcap)
		return -EINVAL;
	memcpy(port, colon + 1, s + n - colon - 1);
	port[s + n - colon - 1] = '\0';
	return 0;
}

int redis_hostport_parse(const char *hp, struct redis_addr *a, char *err,
			 size_t errlen)
{
	char host[256], port[16];

	memset(a, 0, sizeof(*a));
	if (split_hostport(hp, strlen(hp), host, sizeof(host), port,
			   sizeof(port))) {
		snprintf(err, errlen, "redis '%s': not HOST:PORT", hp);
		return -EINVAL;
	}
	return resolve(host, port, a, hp, err, errlen);
}

static int parse_db(const char *s, int *db)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 65535)
		return -EINVAL;
	*db = v;
	return 0;
}

/* unix:/path[?db=N][&password=PW] */
static int parse_unix(const char *url, struct redis_addr *a, char *err,
		      size_t errlen)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&a->ss;
	const char *path = url + 5, *q = strchr(path, '?');
	size_t plen = q ? (size_t)(q - path) : strlen(path);

	if (plen == 0 || path[0] != '/' || plen >= sizeof(sun->sun_path)) {
		snprintf(err, errlen, "redis '%s': unix:/PATH expected", url);
		return -EINVAL;
	}
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, plen);
	a->len = sizeof(*sun);
	snprintf(a->text, sizeof(a->text), "%.*s", (int)plen, path);
	while (q && *q) {
		char kv[200];
		const char *amp = strchr(q + 1, '&');
		size_t n = amp ? (size_t)(amp - q - 1) : strlen(q + 1);

		if (n >= sizeof(kv))
			goto bad;
		memcpy(kv, q + 1, n);
		kv[n] = '\0';
		if (!strncmp(kv, "db=", 3)) {
			if (parse_db(kv + 3, &a->db))
				goto bad;
		} else if (!strncmp(kv, "password=", 9) &&
			   strlen(kv + 9) < sizeof(a->password)) {
			strcpy(a->password, kv + 9);
		} else {
			goto bad;
		}
		q = amp;
	}
	return 0;
bad:
	snprintf(err, errlen, "redis '%s': bad parameter after '?'", url);
	return -EINVAL;
}

int redis_url_parse(const char *url, struct redis_addr *a, char *err,
		    size_t errlen)
{
	char host[256], port[16];
	const char *p, *at, *slash, *end;

	memset(a, 0, sizeof(*a));
	if (!strncmp(url, "unix:", 5))
		return parse_unix(url, a, err, errlen);
	if (strncmp(url, "redis://", 8)) {
		snprintf(
			err, errlen,
			"redis '%s': redis://[:PASSWORD@]HOST:PORT[/DB] or unix:/PATH expected",
			url);
		return -EINVAL;
	}
	p = url + 8;
	slash = strchr(p, '/');
	end = slash ? slash : p + strlen(p);
	at = memrchr(p, '@', end - p);
	if (at) {
		/* [[user]:]password@: AUTH [user] password */
		const char *colon = memchr(p, ':', at - p);
		const char *pw = colon ? colon + 1 : p;

		if ((size_t)(at - pw) >= sizeof(a->password) || at == pw ||
		    (colon && (size_t)(colon - p) >= sizeof(a->username))) {
			snprintf(err, errlen, "redis '%s': bad password", url);
			return -EINVAL;
		}
		memcpy(a->password, pw, at - pw);
		a->password[at - pw] = '\0';
		if (colon) {
			memcpy(a->username, p, colon - p);
			a->username[colon - p] = '\0';
		}
		p = at + 1;
	}
	if (split_hostport(p, end - p, host, sizeof(host), port,
			   sizeof(port))) {
		snprintf(err, errlen, "redis '%s': bad HOST:PORT", url);
		return -EINVAL;
	}
	if (slash && slash[1] && parse_db(slash + 1, &a->db)) {
		snprintf(err, errlen, "redis '%s': bad database '%s'", url,
			 slash + 1);
		return -EINVAL;
	}
	return resolve(host, port, a, url, err, errlen);
}
