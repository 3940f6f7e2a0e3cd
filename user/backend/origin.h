/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * origin.h - a plain HTTP/1.1 client for the --origin of lb-backend
 * (http://host[:port][/prefix] only, no TLS), with a connect timeout and an
 * overall deadline.  One connection per fetch (Connection: close): fetches
 * only happen on cache misses, and a pool would be state to share and
 * repair across worker crashes for little gain.
 */
#ifndef LB_BACKEND_ORIGIN_H
#define LB_BACKEND_ORIGIN_H

#include <stddef.h>
#include <sys/socket.h>

struct origin {
	char url[512];
	char host[300]; /* Host header: host[:port] as given */
	char prefix[256]; /* path prefix, no trailing '/' */
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

/* Parse and resolve url.  0, or -EINVAL / -EHOSTUNREACH with a message in
 * err (size errlen). */
int origin_parse(const char *url, struct origin *o, char *err, size_t errlen);

struct origin_reply {
	int status; /* the origin's, or 502 / 504 when the fetch failed */
	long ttl; /* seconds to keep; -1 never share (private, no-store) */
	char *buf; /* owns everything below; free() it */
	const char *hdrs; /* headers to pass on, "Name: value\r\n" each */
	size_t hdrs_len;
	const char *body;
	size_t body_len;
	const char *error; /* why a fetch failed, for the log */
};

struct origin_limits {
	unsigned int connect_ms;
	unsigned int timeout_ms; /* whole fetch */
	size_t max_size; /* response head + body: 502 beyond */
	long def_ttl;
};

/* GET prefix+target from the origin.  Always fills r; returns 0. */
int origin_fetch(const struct origin *o, const char *target, size_t tlen,
		 const struct origin_limits *lim, struct origin_reply *r);

#endif /* LB_BACKEND_ORIGIN_H */
