/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * http.h - strict HTTP/1.1 message parsing for lb-backend: requests from
 * clients, responses and chunked bodies from the origin, Cache-Control, and
 * the mapping of a request target onto a safe relative path.
 *
 * Everything here is pure (no I/O, no allocation) so that it can be unit
 * tested and fuzzed on its own.
 */
#ifndef LB_BACKEND_HTTP_H
#define LB_BACKEND_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct http_limits {
	size_t max_line; /* request line without CRLF: 414 beyond */
	size_t max_header; /* request line + headers + final CRLF: 431 beyond */
	unsigned int max_headers; /* header field count: 431 beyond */
	uint64_t max_body; /* Content-Length: 413 beyond */
};

enum http_method {
	HTTP_M_GET = 1,
	HTTP_M_HEAD,
	HTTP_M_OTHER, /* a syntactically valid method we do not serve: 405 */
	HTTP_M_PURGE, /* the admin listener's cache invalidation */
};

struct http_request {
	int method; /* enum http_method */
	const char *target; /* points into the parsed buffer */
	size_t target_len;
	int minor; /* HTTP/1.<minor>, 0 or 1 */
	int keep_alive; /* after the Connection header and version default */
	int64_t content_length; /* -1 when absent */
	unsigned int nheaders;
	size_t header_len; /* bytes of request line and headers incl. CRLFCRLF */
};

/*
 * Parse the request at the start of buf.  Returns the length of the request
 * head (> 0) when it is complete and valid, 0 when more bytes are needed, or
 * a negative HTTP status when the request must be refused (-400, -413, -414,
 * -431, -501, -505).  The parser never reads beyond len.
 */
int http_parse_request(const char *buf, size_t len,
		       const struct http_limits *lim, struct http_request *req);

/*
 * What an origin response says about being stored, gathered from every
 * Cache-Control, Expires, Date, Set-Cookie and Vary field while the head is
 * parsed (RFC 9111): later code reads this, never the raw header bytes.
 */
struct http_cache_policy {
	unsigned int no_store : 1;
	unsigned int private_ : 1; /* "private", with or without field names */
	unsigned int
		no_cache : 1; /* must revalidate: we never do, so never store */
	unsigned int set_cookie : 1; /* a Set-Cookie field is present */
	unsigned int vary_star : 1; /* Vary: * */
	unsigned int vary_other : 1; /* Vary names a field other than
					  Accept-Encoding */
	unsigned int has_cc : 1; /* some Cache-Control field was present */
	long s_maxage; /* seconds, -1 absent */
	long max_age; /* seconds, -1 absent */
	int64_t expires; /* Unix seconds; -1 absent; 0 invalid (= in the past) */
	int64_t date; /* Unix seconds of Date, -1 absent or invalid */
};

/* Room for the headers passed on to clients (they are dropped beyond). */
#define HTTP_KEEP_MAX 4096

struct http_response {
	int status;
	int minor;
	int chunked; /* Transfer-Encoding: chunked */
	int conn_close; /* Connection: close (or HTTP/1.0 without keep-alive) */
	int64_t content_length; /* -1 when absent */
	struct http_cache_policy cache;
	size_t header_len;
	/* headers worth passing on to clients, "Name: value\r\n" each, in a
	 * buffer of their own: never written over the origin's bytes */
	char keep[HTTP_KEEP_MAX];
	size_t keep_len;
};

/*
 * Parse an origin response head.  Returns its length (> 0), 0 when more bytes
 * are needed (and fewer than max have been seen), or -1 when the response is
 * malformed or its head is longer than max.
 */
int http_parse_response(const char *buf, size_t len, size_t max,
			struct http_response *resp);

/* Incremental decoder of a chunked body (RFC 9112, section 7.1). */
struct http_chunked {
	int state;
	uint64_t left; /* bytes left in the current chunk, or the size read */
	unsigned int digits;
};

/*
 * Feed len bytes of chunked encoding; the decoded data is appended at
 * out[*outlen] (out may be in itself: the output never overtakes the input).
 * *used is set to the bytes consumed.  Returns 1 when the last chunk and
 * trailers have been read, 0 when more input is needed, -1 on bad encoding.
 */
int http_chunked_feed(struct http_chunked *c, const char *in, size_t len,
		      char *out, size_t *outlen, size_t *used);

/* Whether to store responses that set cookies (stored without them). */
#define HTTP_CACHE_COOKIES 1

/*
 * The one cacheability decision for a parsed origin response.  Returns the
 * seconds to keep it (> 0); 0 when it may only be handed to requests that
 * waited for this very fetch (expired at once, or a status not worth
 * keeping); -1 when it must never be shared (no-store, private, no-cache,
 * Vary: *, Vary on a request field, Set-Cookie unless flags has
 * HTTP_CACHE_COOKIES).  Lifetime: s-maxage, then max-age, then Expires
 * minus Date (or now), then def_ttl for a 200 only.
 */
long http_cache_ttl(const struct http_response *r, long def_ttl, int64_t now,
		    unsigned int flags);

/* Parse an HTTP-date (IMF-fixdate only, RFC 9110 5.6.7) into Unix
 * seconds; -1 when it is not one. */
int64_t http_parse_date(const char *s, size_t len);

/*
 * Turn the path of a request target into a normalised relative path (no
 * leading '/', no "." segments, no empty segments) in out.  The query is
 * dropped, %XX escapes decoded.  Returns the length, or -400 for a bad
 * escape, a NUL or backslash, or a ".." segment (no way out of the root),
 * -414 when out is too small.
 */
int http_target_path(const char *target, size_t len, char *out, size_t size);

/* Reason phrase of a status code ("OK", "Not Found", ...). */
const char *http_reason(int status);

#endif /* LB_BACKEND_HTTP_H */
