// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* test_http.c - the HTTP parsing of lb-backend on valid, pipelined and
 * malformed input, at and beyond every limit. */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "http.h"

static const struct http_limits lim = {
	.max_line = 64,
	.max_header = 256,
	.max_headers = 4,
	.max_body = 1000,
};

static int parse(const char *s, struct http_request *r)
{
	return http_parse_request(s, strlen(s), &lim, r);
}

struct rcase {
	const char *name;
	const char *in;
	int want; /* > 0: header length expected = strlen(in); else status */
};

static const struct rcase rcases[] = {
	/* valid */
	{ "get", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1 },
	{ "head", "HEAD /x?y=1 HTTP/1.1\r\nHost: a\r\n\r\n", 1 },
	{ "http10 no host", "GET / HTTP/1.0\r\n\r\n", 1 },
	{ "header ows", "GET / HTTP/1.1\r\nHost:\t a \t\r\nX-A:\r\n\r\n", 1 },
	{ "same content-length twice",
	  "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
	  1 },
	{ "body at the limit",
	  "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n", 1 },
	{ "headers at the count limit",
	  "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 1 },
	/* incomplete */
	{ "partial line", "GET / HT", 0 },
	{ "partial headers", "GET / HTTP/1.1\r\nHost: a\r\n", 0 },
	{ "partial crlf", "GET / HTTP/1.1\r\nHost: a\r\n\r", 0 },
	{ "empty", "", 0 },
	/* methods */
	{ "bad method char", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", -400 },
	{ "no method", " / HTTP/1.1\r\nHost: a\r\n\r\n", -400 },
	{ "garbage first byte", "\x01GET", -400 },
	/* request line */
	{ "two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", -400 },
	{ "no target", "GET HTTP/1.1\r\nHost: a\r\n\r\n", -400 },
	{ "absolute form", "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", -400 },
	{ "control in target", "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", -400 },
	{ "trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", -400 },
	{ "asterisk for GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", -400 },
	{ "asterisk for HEAD", "HEAD * HTTP/1.1\r\nHost: a\r\n\r\n", -400 },
	{ "asterisk for OPTIONS", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 1 },
	{ "fragment", "GET /x#y HTTP/1.1\r\nHost: a\r\n\r\n", -400 },
	{ "fragment after query", "GET /x?a#y HTTP/1.1\r\nHost: a\r\n\r\n",
	  -400 },
	/* versions */
	{ "http/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", -505 },
	{ "http/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", -505 },
	{ "http/0.9", "GET / HTTP/0.9\r\n\r\n", -505 },
	{ "version short", "GET / HTTP/1\r\nHost: a\r\n\r\n", -400 },
	{ "version lowercase", "GET / http/1.1\r\nHost: a\r\n\r\n", -400 },
	{ "version long", "GET / HTTP/1.11\r\nHost: a\r\n\r\n", -400 },
	{ "no version", "GET /\r\nHost: a\r\n\r\n", -400 },
	/* header injection and smuggling shapes */
	{ "bare lf in line", "GET / HTTP/1.1\nHost: a\r\n\r\n", -400 },
	{ "bare lf header", "GET / HTTP/1.1\r\nHost: a\n\r\n", -400 },
	{ "bare cr in value", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", -400 },
	{ "nul in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 0 },
	{ "obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", -400 },
	{ "space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", -400 },
	{ "no colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", -400 },
	{ "empty name", "GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", -400 },
	{ "missing host", "GET / HTTP/1.1\r\n\r\n", -400 },
	{ "empty host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", -400 },
	{ "two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", -400 },
	{ "conflicting content-length",
	  "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	  -400 },
	{ "content-length sign",
	  "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", -400 },
	{ "content-length list",
	  "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1,1\r\n\r\n", -400 },
	{ "content-length huge",
	  "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
	  -400 },
	{ "te and cl",
	  "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
	  -400 },
	{ "te",
	  "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
	  -501 },
	/* limits */
	{ "body over the limit",
	  "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n", -413 },
	{ "too many headers",
	  "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
	  -431 },
};

static void test_requests(void)
{
	struct http_request r;
	char name[128];

	for (size_t i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		const struct rcase *c = &rcases[i];
		size_t len = strlen(c->in);
		int got, want;

		/* the NUL case carries its NUL inside: measure to the end */
		if (strstr(c->name, "nul in value")) {
			len = sizeof("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n") -
			      1;
			want = -400;
		} else {
			want = c->want > 0 ? (int)len : c->want;
		}
		got = http_parse_request(c->in, len, &lim, &r);
		snprintf(name, sizeof(name), "request %s", c->name);
		T_CHECK(name, got == want, "got %d, want %d", got, want);
	}
}

static void test_fields(void)
{
	struct http_request r;
	int n;

	n = parse(
		"HEAD /a/b?c HTTP/1.1\r\nHost: x\r\nConnection: foo, Close\r\n\r\n",
		&r);
	T_CHECK("fields head",
		n > 0 && r.method == HTTP_M_HEAD && r.target_len == 6 &&
			!memcmp(r.target, "/a/b?c", 6) && r.minor == 1 &&
			!r.keep_alive && r.content_length == -1,
		"n %d method %d keep %d", n, r.method, r.keep_alive);
	n = parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	T_CHECK("fields keep-alive by default in 1.1", n > 0 && r.keep_alive,
		"keep %d", r.keep_alive);
	n = parse("GET / HTTP/1.0\r\n\r\n", &r);
	T_CHECK("fields close by default in 1.0", n > 0 && !r.keep_alive,
		"keep %d", r.keep_alive);
	n = parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r);
	T_CHECK("fields 1.0 keep-alive", n > 0 && r.keep_alive, "keep %d",
		r.keep_alive);
	n = parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n",
		  &r);
	T_CHECK("fields post is another method",
		n > 0 && r.method == HTTP_M_OTHER && r.content_length == 3,
		"n %d method %d", n, r.method);
	n = parse("PURGE /a?b HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	T_CHECK("fields PURGE is known", n > 0 && r.method == HTTP_M_PURGE,
		"n %d method %d", n, r.method);
	n = parse("get / HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	T_CHECK("fields methods are case-sensitive",
		n > 0 && r.method == HTTP_M_OTHER, "method %d", r.method);
}

static void test_pipelined(void)
{
	const char *in = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
			 "HEAD /2 HTTP/1.1\r\nHost: a\r\n\r\n"
			 "GET /3 HTTP/1.1\r\nHo";
	struct http_request r;
	size_t off = 0, len = strlen(in);
	int n, seen = 0, ok = 1;

	while ((n = http_parse_request(in + off, len - off, &lim, &r)) > 0) {
		seen++;
		ok &= r.target[1] == '0' + seen;
		off += n;
	}
	T_CHECK("pipelined two complete, one partial",
		n == 0 && seen == 2 && ok &&
			off == len - strlen("GET /3 HTTP/1.1\r\nHo"),
		"n %d seen %d", n, seen);

	/* one byte at a time: never complete early, never an error */
	const char *one = "GET /x HTTP/1.1\r\nHost: a\r\nA: b\r\n\r\n";
	for (size_t i = 1; i <= strlen(one); i++) {
		n = http_parse_request(one, i, &lim, &r);
		if ((i < strlen(one) && n != 0) ||
		    (i == strlen(one) && n != (int)i)) {
			t_fail("pipelined byte by byte", "at %zu got %d", i, n);
			return;
		}
	}
	t_pass("pipelined byte by byte");
}

static void test_limits(void)
{
	char buf[1024];
	struct http_request r;
	int n;

	/* request line exactly max_line (64) long, then one more byte */
	n = snprintf(buf, sizeof(buf), "GET /%0*d HTTP/1.1\r\nHost: a\r\n\r\n",
		     64 - 14, 0);
	T_CHECK("limit request line at max", parse(buf, &r) == n, "got %d",
		parse(buf, &r));
	snprintf(buf, sizeof(buf), "GET /%0*d HTTP/1.1\r\nHost: a\r\n\r\n",
		 64 - 13, 0);
	T_CHECK("limit request line over max 414", parse(buf, &r) == -414,
		"got %d", parse(buf, &r));
	/* an endless request line is refused before its end arrives */
	memset(buf, 'a', 200);
	memcpy(buf, "GET /", 5);
	T_CHECK("limit unterminated request line 414",
		http_parse_request(buf, 100, &lim, &r) == -414, "got %d",
		http_parse_request(buf, 100, &lim, &r));
	T_CHECK("limit short unterminated line waits",
		http_parse_request(buf, 60, &lim, &r) == 0, "got %d",
		http_parse_request(buf, 60, &lim, &r));
	/* head of exactly max_header bytes, then one more */
	n = snprintf(buf, sizeof(buf),
		     "GET / HTTP/1.1\r\nHost: a\r\nX: %0*d\r\n\r\n", 256 - 32,
		     0);
	T_CHECK("limit header block at max", n == 256 && parse(buf, &r) == n,
		"n %d got %d", n, parse(buf, &r));
	snprintf(buf, sizeof(buf),
		 "GET / HTTP/1.1\r\nHost: a\r\nX: %0*d\r\n\r\n", 256 - 31, 0);
	T_CHECK("limit header block over max 431", parse(buf, &r) == -431,
		"got %d", parse(buf, &r));
	n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX: %0*d",
		     400, 0);
	T_CHECK("limit unterminated headers 431",
		http_parse_request(buf, n, &lim, &r) == -431, "got %d",
		http_parse_request(buf, n, &lim, &r));
}

static int dechunk(const char *in, size_t step, char *out, size_t *outlen)
{
	struct http_chunked c = { 0 };
	size_t len = strlen(in), off = 0, used;
	char buf[512];
	int r = 0;

	*outlen = 0;
	memcpy(buf, in, len);
	while (off < len) {
		size_t n = len - off < step ? len - off : step;

		r = http_chunked_feed(&c, buf + off, n, out, outlen, &used);
		if (r < 0)
			return r;
		off += used;
		if (r == 1)
			break;
	}
	return r;
}

static void test_chunked(void)
{
	const char *good =
		"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-T: 1\r\n\r\n";
	char out[512];
	size_t n;
	int r;

	r = dechunk(good, 1000, out, &n);
	T_CHECK("chunked whole",
		r == 1 && n == 12 && !memcmp(out, "hello, world", 12),
		"r %d n %zu", r, n);
	r = dechunk(good, 1, out, &n);
	T_CHECK("chunked byte by byte",
		r == 1 && n == 12 && !memcmp(out, "hello, world", 12),
		"r %d n %zu", r, n);
	r = dechunk("A\r\n0123456789\r\n0\r\n\r\n", 3, out, &n);
	T_CHECK("chunked hex size", r == 1 && n == 10, "r %d n %zu", r, n);
	r = dechunk("5\r\nhel", 100, out, &n);
	T_CHECK("chunked incomplete", r == 0 && n == 3, "r %d n %zu", r, n);
	T_CHECK("chunked bad hex", dechunk("g\r\n", 100, out, &n) < 0,
		"accepted");
	T_CHECK("chunked no size", dechunk("\r\n", 100, out, &n) < 0,
		"accepted");
	T_CHECK("chunked missing crlf after data",
		dechunk("1\r\nab\r\n", 100, out, &n) < 0, "accepted");
	T_CHECK("chunked bare lf", dechunk("1\nab\r\n", 100, out, &n) < 0,
		"accepted");
	T_CHECK("chunked size overflow",
		dechunk("1000000000000000\r\n", 100, out, &n) < 0, "accepted");

	/* in place, as the origin client uses it */
	char inplace[64] = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
	struct http_chunked c = { 0 };
	size_t used;

	/* the end is the empty line after the trailers, not the first one's */
	const char *trailers = "1;x\r\na\r\n0\r\nA: 1\r\nB: 2\r\n\r\nNEXT";

	n = 0;
	r = http_chunked_feed(&c, trailers, strlen(trailers), out, &n, &used);
	T_CHECK("chunked trailers: done after the empty line",
		r == 1 && n == 1 && used == strlen(trailers) - 4,
		"r %d n %zu used %zu", r, n, used);
	c = (struct http_chunked){ 0 };

	n = 0;
	r = http_chunked_feed(&c, inplace, strlen(inplace), inplace, &n, &used);
	T_CHECK("chunked in place",
		r == 1 && n == 5 && !memcmp(inplace, "abcde", 5), "r %d n %zu",
		r, n);
}

static void test_response(void)
{
	struct http_response r;
	const char *a =
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nCache-Control: max-age=7\r\n"
		"Content-Type: text/x\r\nSet-Cookie: s=1\r\n\r\nhello";
	int n;

	n = http_parse_response(a, strlen(a), 4096, &r);
	T_CHECK("response content-length",
		n == (int)strlen(a) - 5 && r.status == 200 &&
			r.content_length == 5 && !r.chunked &&
			r.cache.max_age == 7 && r.cache.set_cookie &&
			strstr(r.keep, "Content-Type: text/x\r\n") &&
			strstr(r.keep, "Set-Cookie: s=1\r\n"),
		"n %d status %d", n, r.status);
	a = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n";
	n = http_parse_response(a, strlen(a), 4096, &r);
	T_CHECK("response chunked",
		n > 0 && r.status == 404 && r.chunked && r.content_length == -1,
		"n %d", n);
	a = "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\n\r\n";
	n = http_parse_response(a, strlen(a), 4096, &r);
	T_CHECK("response connection close", n > 0 && r.conn_close,
		"n %d close %d", n, r.conn_close);
	a = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
	n = http_parse_response(a, strlen(a), 4096, &r);
	T_CHECK("response http/1.0 closes", n > 0 && r.conn_close,
		"n %d close %d", n, r.conn_close);
	a = "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n";
	n = http_parse_response(a, strlen(a), 4096, &r);
	T_CHECK("response http/1.0 keep-alive", n > 0 && !r.conn_close,
		"n %d close %d", n, r.conn_close);
	a = "HTTP/1.1 200 OK\r\nContent-Len";
	T_CHECK("response partial",
		http_parse_response(a, strlen(a), 4096, &r) == 0, "not 0");
	T_CHECK("response head too long",
		http_parse_response(a, strlen(a), 10, &r) == -1, "not -1");
	a = "HTTP/1.1 2000 OK\r\n\r\n";
	T_CHECK("response bad status",
		http_parse_response(a, strlen(a), 4096, &r) == -1, "accepted");
	a = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n";
	T_CHECK("response unknown coding",
		http_parse_response(a, strlen(a), 4096, &r) == -1, "accepted");
	a = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
	T_CHECK("response conflicting length",
		http_parse_response(a, strlen(a), 4096, &r) == -1, "accepted");
	a = "SSH-2.0-OpenSSH\r\n\r\n";
	T_CHECK("response not http",
		http_parse_response(a, strlen(a), 4096, &r) == -1, "accepted");
}

/* The one decision, from a whole response head. */
static long ttl_of(const char *fields, int cookies)
{
	struct http_response r;
	char head[512];

	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n%s\r\n", fields);
	if (http_parse_response(head, strlen(head), sizeof(head), &r) <= 0)
		return -99;
	return http_cache_ttl(&r, 30, 1000000000,
			      cookies ? HTTP_CACHE_COOKIES : 0);
}

static void test_ttl(void)
{
	static const struct {
		const char *name, *fields;
		long want;
	} cases[] = {
		{ "default", "", 30 },
		{ "max-age", "Cache-Control: public, max-age=120\r\n", 120 },
		{ "s-maxage wins", "Cache-Control: max-age=10, s-maxage=99\r\n",
		  99 },
		{ "s-maxage wins in any order",
		  "Cache-Control: s-maxage=99,max-age=10\r\n", 99 },
		{ "no-store", "Cache-Control: max-age=10, no-store\r\n", -1 },
		{ "private", "Cache-Control: Private\r\n", -1 },
		{ "private with a field list",
		  "Cache-Control: private=\"Set-Cookie, X\", max-age=60\r\n",
		  -1 },
		{ "no-cache", "Cache-Control: no-cache\r\n", -1 },
		{ "max-age zero", "Cache-Control: max-age=0\r\n", 0 },
		{ "quoted", "Cache-Control: max-age=\"5\"\r\n", 5 },
		{ "invalid ignored", "Cache-Control: max-age=abc\r\n", 30 },
		{ "unrelated directive", "Cache-Control: must-revalidate\r\n",
		  30 },
		/* every field counts, in any order (RFC 9111 5.2) */
		{ "private then max-age in two fields",
		  "Cache-Control: private\r\nCache-Control: max-age=600\r\n",
		  -1 },
		{ "max-age then no-store in two fields",
		  "Cache-Control: max-age=600\r\nContent-Type: a\r\n"
		  "Cache-Control: no-store\r\n",
		  -1 },
		{ "no-store before other headers",
		  "Cache-Control: no-store\r\nContent-Type: text/html; charset=utf-8\r\n",
		  -1 },
		{ "max-age twice: the shorter",
		  "Cache-Control: max-age=600\r\nCache-Control: max-age=5\r\n",
		  5 },
		{ "expires minus date",
		  "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
		  "Expires: Sun, 06 Nov 1994 08:50:37 GMT\r\n",
		  60 },
		{ "expires in the past",
		  "Expires: Sun, 06 Nov 1994 08:49:37 GMT\r\n", 0 },
		{ "expires invalid", "Expires: 0\r\n", 0 },
		{ "max-age over expires",
		  "Cache-Control: max-age=7\r\nExpires: 0\r\n", 7 },
		{ "set-cookie",
		  "Set-Cookie: id=1\r\nCache-Control: max-age=60\r\n", -1 },
		{ "vary star", "Vary: *\r\nCache-Control: max-age=60\r\n", -1 },
		{ "vary on a request field",
		  "Vary: Accept-Encoding, Cookie\r\nCache-Control: max-age=60\r\n",
		  -1 },
		{ "vary on accept-encoding only",
		  "Vary: accept-encoding\r\nCache-Control: max-age=60\r\n",
		  60 },
	};
	char name[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long got = ttl_of(cases[i].fields, 0);

		snprintf(name, sizeof(name), "ttl %s", cases[i].name);
		T_CHECK(name, got == cases[i].want, "got %ld, want %ld", got,
			cases[i].want);
	}
	T_CHECK("ttl set-cookie stored when the operator allows it",
		ttl_of("Set-Cookie: id=1\r\nCache-Control: max-age=60\r\n",
		       1) == 60,
		"not stored");
	T_CHECK("date parse",
		http_parse_date("Sun, 06 Nov 1994 08:49:37 GMT", 29) ==
			784111777,
		"got %lld",
		(long long)http_parse_date("Sun, 06 Nov 1994 08:49:37 GMT",
					   29));
	T_CHECK("date parse refuses other forms",
		http_parse_date("Sunday, 06-Nov-94 08:49:37 GMT", 30) == -1,
		"accepted");
}

static void test_paths(void)
{
	static const struct {
		const char *in, *out;
		int ret;
	} cases[] = {
		{ "/", "", 0 },
		{ "/index.html", "index.html", 10 },
		{ "/a/b/c.txt?x=../..", "a/b/c.txt", 9 },
		{ "//a///b/", "a/b", 3 },
		{ "/./a/./b", "a/b", 3 },
		{ "/a%20b", "a b", 3 },
		{ "/..", NULL, -400 },
		{ "/a/../../etc/passwd", NULL, -400 },
		{ "/%2e%2e/etc/passwd", NULL, -400 },
		{ "/a/%2E%2e", NULL, -400 },
		{ "/a%2f..%2fb", NULL, -400 },
		{ "/a%00b", NULL, -400 },
		{ "/a\\..\\b", NULL, -400 },
		{ "/a%zz", NULL, -400 },
		{ "/a%2", NULL, -400 },
		{ "a", NULL, -400 },
		{ "/..a/b..", "..a/b..", 7 },
	};
	char out[64], name[96];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = http_target_path(cases[i].in, strlen(cases[i].in), out,
					 sizeof(out));

		snprintf(name, sizeof(name), "path %s", cases[i].in);
		T_CHECK(name,
			r == cases[i].ret &&
				(r < 0 || !strcmp(out, cases[i].out)),
			"got %d '%s'", r, r >= 0 ? out : "");
	}
	T_CHECK("path too long",
		http_target_path("/aaaaaaaaaa", 11, out, 5) == -414,
		"accepted");
}

int main(void)
{
	test_requests();
	test_fields();
	test_pipelined();
	test_limits();
	test_chunked();
	test_response();
	test_ttl();
	test_paths();
	return t_exit();
}
