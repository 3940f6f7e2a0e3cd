// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * http.c - strict HTTP/1.1 parsing (RFC 9110, RFC 9112).
 *
 * Strict on purpose: a load-balanced fleet is only as safe as its most
 * lenient member, so anything that two parsers could read differently
 * (bare LF, bare CR, obs-fold, whitespace before the colon, duplicate or
 * conflicting Content-Length, Transfer-Encoding with Content-Length) is
 * refused with 400 instead of being guessed at.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "http.h"

/* tchar of RFC 9110 section 5.6.2 */
static int is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar / obs-text, plus SP and HTAB inside a value */
static int is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int lower_eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* The next item of the comma-separated list s[0..n) from *i: s[*b..*e),
 * without the white space around it.  0 at the end of the list. */
static int list_next(const char *s, size_t n, size_t *i, size_t *b, size_t *e)
{
	while (*i < n) {
		while (*i < n &&
		       (s[*i] == ' ' || s[*i] == '\t' || s[*i] == ','))
			(*i)++;
		*b = *i;
		while (*i < n && s[*i] != ',')
			(*i)++;
		*e = *i;
		while (*e > *b && (s[*e - 1] == ' ' || s[*e - 1] == '\t'))
			(*e)--;
		if (*e > *b)
			return 1;
	}
	return 0;
}

/* Whether the comma-separated token list s[0..n) holds tok (any case). */
static int list_has(const char *s, size_t n, const char *tok)
{
	size_t i = 0, b, e;

	while (list_next(s, n, &i, &b, &e))
		if (lower_eq(s + b, e - b, tok))
			return 1;
	return 0;
}

static const char *find_lf(const char *p, const char *end)
{
	return memchr(p, '\n', end - p);
}

/* Content-Length value: 1*DIGIT, at most 18 digits (no overflow). */
static int64_t parse_length(const char *v, size_t n)
{
	int64_t x = 0;
	size_t i;

	if (n == 0 || n > 18)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	return x;
}

static int parse_request_line(const char *p, size_t n, struct http_request *req)
{
	size_t i = 0, m;

	while (i < n && is_tchar(p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ' ')
		return -400;
	m = i;
	if (m == 3 && !memcmp(p, "GET", 3))
		req->method = HTTP_M_GET;
	else if (m == 4 && !memcmp(p, "HEAD", 4))
		req->method = HTTP_M_HEAD;
	else if (m == 5 && !memcmp(p, "PURGE", 5))
		req->method = HTTP_M_PURGE;
	else
		req->method = HTTP_M_OTHER;
	i++;
	req->target = p + i;
	while (i < n && (unsigned char)p[i] > 0x20 &&
	       (unsigned char)p[i] < 0x7f)
		i++;
	req->target_len = p + i - req->target;
	if (req->target_len == 0 || i >= n || p[i] != ' ')
		return -400;
	/* origin-form only; "*" (asterisk-form) is for OPTIONS alone, which
	 * gets 405 anyway.  A fragment is never sent (RFC 9110 7.1): a '#'
	 * means a broken client, and two servers could read it differently. */
	if (req->target[0] != '/' &&
	    !(req->target_len == 1 && req->target[0] == '*' &&
	      req->method == HTTP_M_OTHER && m == 7 &&
	      !memcmp(p, "OPTIONS", 7)))
		return -400;
	if (memchr(req->target, '#', req->target_len))
		return -400;
	i++;
	/* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive */
	if (n - i != 8 || memcmp(p + i, "HTTP/", 5) || p[i + 5] < '0' ||
	    p[i + 5] > '9' || p[i + 6] != '.' || p[i + 7] < '0' ||
	    p[i + 7] > '9')
		return -400;
	if (p[i + 5] != '1' || p[i + 7] > '1')
		return -505;
	req->minor = p[i + 7] - '0';
	return 0;
}

int http_parse_request(const char *buf, size_t len,
		       const struct http_limits *lim, struct http_request *req)
{
	const char *p = buf, *end = buf + len, *lf, *v, *ve, *colon;
	int conn_close = 0, conn_keep = 0, host = 0, te = 0, ret;
	size_t line;

	memset(req, 0, sizeof(*req));
	req->content_length = -1;

	/* the request line; an early 400 for garbage saves waiting for LF */
	lf = find_lf(p, end);
	if (!lf) {
		if (len > lim->max_line + 1)
			return -414;
		if (len && !is_tchar(buf[0]))
			return -400;
		return 0;
	}
	line = lf - p;
	if (line == 0 || p[line - 1] != '\r')
		return -400;
	if (line - 1 > lim->max_line)
		return -414;
	if (memchr(p, '\r', line - 1) || memchr(p, '\0', line - 1))
		return -400;
	ret = parse_request_line(p, line - 1, req);
	if (ret)
		return ret;
	p = lf + 1;

	for (;;) {
		lf = find_lf(p, end);
		if (!lf) {
			if ((size_t)(end - buf) > lim->max_header)
				return -431;
			return 0;
		}
		if ((size_t)(lf + 1 - buf) > lim->max_header)
			return -431;
		line = lf - p;
		if (line == 0 || p[line - 1] != '\r')
			return -400; /* bare LF */
		line--;
		if (line == 0) { /* CRLF: end of the head */
			p = lf + 1;
			break;
		}
		if (p[0] == ' ' || p[0] == '\t')
			return -400; /* obs-fold */
		if (++req->nheaders > lim->max_headers)
			return -431;
		colon = p;
		while (colon < p + line && is_tchar(*colon))
			colon++;
		if (colon == p || colon == p + line || *colon != ':')
			return -400; /* empty name, no colon or space before it */
		v = colon + 1;
		ve = p + line;
		for (const char *q = v; q < ve; q++)
			if (!is_value_char(*q))
				return -400; /* CR, NUL or another control */
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;

		if (lower_eq(p, colon - p, "host")) {
			if (host++ || v == ve)
				return -400;
		} else if (lower_eq(p, colon - p, "content-length")) {
			int64_t cl = parse_length(v, ve - v);

			if (cl < 0 || (req->content_length >= 0 &&
				       req->content_length != cl))
				return -400;
			req->content_length = cl;
		} else if (lower_eq(p, colon - p, "transfer-encoding")) {
			te = 1;
		} else if (lower_eq(p, colon - p, "connection")) {
			conn_close |= list_has(v, ve - v, "close");
			conn_keep |= list_has(v, ve - v, "keep-alive");
		}
		p = lf + 1;
	}

	if (req->minor == 1 && !host)
		return -400;
	if (te && req->content_length >= 0)
		return -400; /* request smuggling shape */
	if (te)
		return -501; /* no request bodies in chunks: we serve GET/HEAD */
	if (req->content_length >= 0 &&
	    (uint64_t)req->content_length > lim->max_body)
		return -413;
	req->keep_alive = req->minor == 1 ? !conn_close :
					    conn_keep && !conn_close;
	req->header_len = p - buf;
	return (int)req->header_len;
}

static void keep_header(struct http_response *r, const char *name, size_t nlen,
			const char *v, size_t vlen)
{
	if (r->keep_len + nlen + vlen + 4 > sizeof(r->keep))
		return;
	memcpy(r->keep + r->keep_len, name, nlen);
	r->keep_len += nlen;
	memcpy(r->keep + r->keep_len, ": ", 2);
	r->keep_len += 2;
	memcpy(r->keep + r->keep_len, v, vlen);
	r->keep_len += vlen;
	memcpy(r->keep + r->keep_len, "\r\n", 2);
	r->keep_len += 2;
}

/* delta-seconds (RFC 9111 1.2.2), possibly quoted; -1 when invalid.  Values
 * too large to hold are the largest we hold, as the RFC asks. */
static long delta_seconds(const char *v, size_t n)
{
	long x = 0;
	size_t i;

	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v++;
		n -= 2;
	}
	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		if (x < 100000000)
			x = x * 10 + (v[i] - '0');
	}
	return x > 100000000 ? 100000000 : x;
}

/* The smaller of two lifetimes, -1 meaning absent: a directive given twice
 * (in one field or in two) counts with its shorter value. */
static long min_age(long a, long b)
{
	return a < 0 || (b >= 0 && b < a) ? b : a;
}

/* One Cache-Control field into the policy; every field adds to it. */
static void cache_control(struct http_cache_policy *p, const char *cc,
			  size_t len)
{
	size_t i = 0, b, e, k;

	p->has_cc = 1;
	while (i < len) {
		while (i < len &&
		       (cc[i] == ' ' || cc[i] == '\t' || cc[i] == ','))
			i++;
		b = i;
		/* a quoted argument may hold commas: private="a, b" */
		for (int q = 0; i < len && (q || cc[i] != ','); i++)
			if (cc[i] == '"')
				q = !q;
		e = i;
		while (e > b && (cc[e - 1] == ' ' || cc[e - 1] == '\t'))
			e--;
		for (k = b; k < e && cc[k] != '='; k++)
			;
		while (k > b && (cc[k - 1] == ' ' || cc[k - 1] == '\t'))
			k--;
		if (lower_eq(cc + b, k - b, "no-store"))
			p->no_store = 1;
		else if (lower_eq(cc + b, k - b, "private"))
			p->private_ = 1;
		else if (lower_eq(cc + b, k - b, "no-cache"))
			p->no_cache = 1;
		else if (k < e && lower_eq(cc + b, k - b, "max-age"))
			p->max_age =
				min_age(p->max_age,
					delta_seconds(cc + k + 1, e - k - 1));
		else if (k < e && lower_eq(cc + b, k - b, "s-maxage"))
			p->s_maxage =
				min_age(p->s_maxage,
					delta_seconds(cc + k + 1, e - k - 1));
	}
}

/* One Vary field: Accept-Encoding is the one request field we set
 * ourselves (identity, for every fetch), so an answer varying only on it
 * is the same for every client.  Any other field, or "*", makes it vary
 * with what clients send, and we key on none of it. */
static void vary(struct http_cache_policy *p, const char *v, size_t len)
{
	size_t i = 0, b, e;

	while (list_next(v, len, &i, &b, &e)) {
		if (e - b == 1 && v[b] == '*')
			p->vary_star = 1;
		else if (!lower_eq(v + b, e - b, "accept-encoding"))
			p->vary_other = 1;
	}
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t era;
	unsigned int yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned int)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, int n)
{
	int x = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	return x;
}

int64_t http_parse_date(const char *s, size_t len)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int d, y, hh, mm, ss, m;

	/* "Sun, 06 Nov 1994 08:49:37 GMT" */
	if (len != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
	    s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
	    s[25] != ' ' || memcmp(s + 26, "GMT", 3))
		return -1;
	for (m = 0; m < 12; m++)
		if (!memcmp(s + 8, months + 3 * m, 3))
			break;
	d = digits(s + 5, 2);
	y = digits(s + 12, 4);
	hh = digits(s + 17, 2);
	mm = digits(s + 20, 2);
	ss = digits(s + 23, 2);
	if (m == 12 || d < 1 || d > 31 || y < 1970 || hh < 0 || hh > 23 ||
	    mm < 0 || mm > 59 || ss < 0 || ss > 60)
		return -1;
	return days_from_civil(y, m + 1, d) * 86400 + hh * 3600 + mm * 60 + ss;
}

/* The line of an origin's answer at p, its length without the LF or CRLF
 * that ends it in *line; returns that LF, or NULL if the line is not
 * whole yet. */
static const char *response_line(const char *p, const char *end, size_t *line)
{
	const char *lf = find_lf(p, end);

	if (lf) {
		*line = lf - p;
		if (*line && p[*line - 1] == '\r')
			(*line)--;
	}
	return lf;
}

int http_parse_response(const char *buf, size_t len, size_t max,
			struct http_response *r)
{
	static const char *const kept[] = {
		"Content-Type",	    "Cache-Control", "ETag",	"Last-Modified",
		"Content-Encoding", "Location",	     "Expires", "Vary",
		"Set-Cookie",
	};
	const char *p = buf, *end, *lf, *colon, *v, *ve;
	int conn_keep = 0;
	size_t line, i;

	memset(r, 0, offsetof(struct http_response, keep));
	r->keep_len = 0;
	r->content_length = -1;
	r->cache.s_maxage = r->cache.max_age = -1;
	r->cache.expires = r->cache.date = -1;
	end = buf + (len < max ? len : max);

	lf = response_line(p, end, &line);
	if (!lf)
		return len >= max ? -1 : 0;
	/* "HTTP/1.x SP 3DIGIT [SP reason]" */
	if (line < 12 || memcmp(p, "HTTP/1.", 7) || p[7] < '0' || p[7] > '9' ||
	    p[8] != ' ')
		return -1;
	for (i = 9; i < 12; i++)
		if (p[i] < '0' || p[i] > '9')
			return -1;
	if (line > 12 && p[12] != ' ')
		return -1;
	r->minor = p[7] - '0';
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (r->status < 100)
		return -1;
	p = lf + 1;

	for (;;) {
		lf = response_line(p, end, &line);
		if (!lf)
			return len >= max ? -1 : 0;
		if (line == 0) {
			p = lf + 1;
			break;
		}
		colon = memchr(p, ':', line);
		if (!colon || colon == p)
			return -1;
		for (const char *q = p; q < colon; q++)
			if (!is_tchar(*q))
				return -1;
		v = colon + 1;
		ve = p + line;
		for (const char *q = v; q < ve; q++)
			if (!is_value_char(*q))
				return -1;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (lower_eq(p, colon - p, "content-length")) {
			int64_t cl = parse_length(v, ve - v);

			if (cl < 0 ||
			    (r->content_length >= 0 && r->content_length != cl))
				return -1;
			r->content_length = cl;
		} else if (lower_eq(p, colon - p, "transfer-encoding")) {
			/* chunked must be the final coding; we know no others */
			if (!lower_eq(v, ve - v, "chunked"))
				return -1;
			r->chunked = 1;
		} else if (lower_eq(p, colon - p, "connection")) {
			r->conn_close |= list_has(v, ve - v, "close");
			conn_keep |= list_has(v, ve - v, "keep-alive");
		} else if (lower_eq(p, colon - p, "cache-control")) {
			cache_control(&r->cache, v, ve - v);
		} else if (lower_eq(p, colon - p, "vary")) {
			vary(&r->cache, v, ve - v);
		} else if (lower_eq(p, colon - p, "set-cookie")) {
			r->cache.set_cookie = 1;
		} else if (lower_eq(p, colon - p, "expires")) {
			int64_t t = http_parse_date(v, ve - v);

			/* an invalid Expires means "already expired" */
			r->cache.expires = t < 0 ? 0 : t;
		} else if (lower_eq(p, colon - p, "date")) {
			r->cache.date = http_parse_date(v, ve - v);
		}
		for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
			if (lower_eq(p, colon - p, kept[i]))
				keep_header(r, kept[i], strlen(kept[i]), v,
					    ve - v);
		p = lf + 1;
	}
	if (r->chunked)
		r->content_length = -1; /* RFC 9112 6.3: chunked wins */
	if (r->minor == 0 && !conn_keep)
		r->conn_close = 1;
	r->header_len = p - buf;
	return (int)r->header_len;
}

enum {
	CH_SIZE, /* hex digits of the chunk size */
	CH_EXT, /* chunk extension, up to CR */
	CH_SIZE_LF,
	CH_DATA,
	CH_DATA_CR,
	CH_DATA_LF,
	CH_TRAILER, /* start of a trailer line (or the final CRLF) */
	CH_TRAILER_LINE,
	CH_TRAILER_LF,
	CH_END_LF,
	CH_DONE,
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The state after the line that state CH_*_LF ends. */
static int after_crlf(struct http_chunked *c)
{
	switch (c->state) {
	case CH_SIZE_LF:
		return c->left ? CH_DATA : CH_TRAILER;
	case CH_DATA_LF:
		c->digits = 0;
		c->left = 0;
		return CH_SIZE;
	case CH_TRAILER_LF:
		return CH_TRAILER;
	default: /* CH_END_LF */
		return CH_DONE;
	}
}

int http_chunked_feed(struct http_chunked *c, const char *in, size_t len,
		      char *out, size_t *outlen, size_t *used)
{
	size_t i = 0, n;
	int h;

	while (i < len && c->state != CH_DONE) {
		char ch = in[i];

		switch (c->state) {
		case CH_SIZE:
			h = hexval(ch);
			if (h >= 0) {
				/* 15 hex digits: no overflow, and far above
				 * any body we are willing to buffer */
				if (++c->digits > 15)
					return -1;
				c->left = c->left * 16 + h;
				i++;
				break;
			}
			if (!c->digits)
				return -1;
			if (ch == ';' || ch == ' ' || ch == '\t')
				c->state = CH_EXT;
			else if (ch == '\r')
				c->state = CH_SIZE_LF;
			else
				return -1;
			i++;
			break;
		case CH_EXT:
		case CH_TRAILER_LINE:
			/* the rest of a line, up to the CR that ends it */
			if (ch == '\r')
				c->state = c->state == CH_EXT ? CH_SIZE_LF :
								CH_TRAILER_LF;
			else if (ch == '\n' || ch == '\0')
				return -1;
			i++;
			break;
		case CH_DATA:
			n = len - i;
			if (n > c->left)
				n = c->left;
			memmove(out + *outlen, in + i, n);
			*outlen += n;
			i += n;
			c->left -= n;
			if (!c->left)
				c->state = CH_DATA_CR;
			break;
		case CH_DATA_CR:
			if (ch != '\r')
				return -1;
			c->state = CH_DATA_LF;
			i++;
			break;
		case CH_TRAILER:
			if (ch == '\r')
				c->state = CH_END_LF;
			else if (ch == '\n')
				return -1;
			else
				c->state = CH_TRAILER_LINE;
			i++;
			break;
		case CH_SIZE_LF:
		case CH_DATA_LF:
		case CH_TRAILER_LF:
		case CH_END_LF:
			/* the LF of a CRLF; then on after that line */
			if (ch != '\n')
				return -1;
			i++;
			c->state = after_crlf(c);
			break;
		default:
			return -1;
		}
	}
	*used = i;
	return c->state == CH_DONE;
}

long http_cache_ttl(const struct http_response *r, long def_ttl, int64_t now,
		    unsigned int flags)
{
	const struct http_cache_policy *p = &r->cache;
	long ttl;

	if (p->no_store || p->private_ || p->no_cache || p->vary_star ||
	    p->vary_other || (p->set_cookie && !(flags & HTTP_CACHE_COOKIES)))
		return -1;
	if (r->status >= 500 || r->status == 206)
		return 0; /* errors pass; we serve no ranges */
	if (p->s_maxage >= 0)
		ttl = p->s_maxage;
	else if (p->max_age >= 0)
		ttl = p->max_age;
	else if (p->expires >= 0) {
		int64_t base = p->date >= 0 ? p->date : now;

		ttl = p->expires > base ? (long)(p->expires - base) : 0;
		if (p->expires - base > 100000000)
			ttl = 100000000;
	} else {
		/* without an explicit lifetime only 200 is worth keeping */
		ttl = r->status == 200 ? def_ttl : 0;
	}
	return ttl;
}

int http_target_path(const char *t, size_t len, char *out, size_t size)
{
	size_t end = 0, i = 1, o = 0, seg_start, s0;
	int h1, h2;

	if (len == 0 || t[0] != '/')
		return -400;
	if (size == 0)
		return -414;
	while (end < len && t[end] != '?' && t[end] != '#')
		end++;
	while (i <= end) {
		seg_start = o;
		if (o > 0) {
			if (o + 1 >= size)
				return -414;
			out[o++] = '/';
		}
		s0 = o;
		for (; i < end && t[i] != '/'; i++) {
			char ch = t[i];

			if (ch == '%') {
				if (i + 2 >= end ||
				    (h1 = hexval(t[i + 1])) < 0 ||
				    (h2 = hexval(t[i + 2])) < 0)
					return -400;
				ch = (char)(h1 * 16 + h2);
				i += 2;
				/* an escaped '/' would be a separator that the
				 * segment checks below never saw */
				if (ch == '/')
					return -400;
			}
			if (ch == '\0' || ch == '\\')
				return -400;
			if (o + 1 >= size)
				return -414;
			out[o++] = ch;
		}
		i++; /* the '/' */
		if (o == s0 || (o - s0 == 1 && out[s0] == '.')) {
			o = seg_start; /* "" and "." segments vanish */
			continue;
		}
		if (o - s0 == 2 && out[s0] == '.' && out[s0 + 1] == '.')
			return -400; /* never a way out of the root */
	}
	out[o] = '\0';
	return (int)o;
}

const char *http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 203:
		return "Non-Authoritative Information";
	case 204:
		return "No Content";
	case 206:
		return "Partial Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 304:
		return "Not Modified";
	case 307:
		return "Temporary Redirect";
	case 308:
		return "Permanent Redirect";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 410:
		return "Gone";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}
