// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* json.c - JSON writer and strict recursive-descent parser. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* Length of the well-formed UTF-8 sequence at p (at most avail bytes), or 0
 * if there is none: a stray continuation byte, a truncated sequence, an
 * overlong form, a surrogate (U+D800..U+DFFF) or a code point above
 * U+10FFFF (RFC 3629 section 4). */
static size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (!avail)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2) /* continuation, or overlong 2-byte lead */
		return 0;
	if (p[0] < 0xe0) {
		n = 2;
	} else if (p[0] < 0xf0) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0; /* overlong */
		else if (p[0] == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (p[0] < 0xf5) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90; /* overlong */
		else if (p[0] == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (avail < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* ---------------------------------------------------------------- writer */

void jw_init(struct jw *w, bool pretty)
{
	memset(w, 0, sizeof(*w));
	w->pretty = pretty;
	w->first[0] = true;
}

void jw_free(struct jw *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

static void put(struct jw *w, const char *s, size_t n)
{
	if (w->oom)
		return;
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		char *nb;

		while (cap < w->len + n + 1)
			cap *= 2;
		nb = realloc(w->buf, cap);
		if (!nb) {
			w->oom = true;
			return;
		}
		w->buf = nb;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = 0;
}

static void puts_(struct jw *w, const char *s)
{
	put(w, s, strlen(s));
}

static void indent(struct jw *w)
{
	if (!w->pretty)
		return;
	put(w, "\n", 1);
	for (int i = 0; i < w->depth; i++)
		put(w, "  ", 2);
}

/* Separator before a value or key in the current container. */
static void sep(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth == 0)
		return;
	if (!w->first[w->depth])
		put(w, ",", 1);
	w->first[w->depth] = false;
	indent(w);
}

static void open_(struct jw *w, const char *c)
{
	/* one level too many: fail as when out of memory, rather than write
	 * separators by the state of another container */
	if (w->depth + 1 >= JW_MAX_DEPTH) {
		w->too_deep = true;
		w->oom = true;
		return;
	}
	sep(w);
	puts_(w, c);
	w->depth++;
	w->first[w->depth] = true;
}

static void close_(struct jw *w, const char *c)
{
	bool empty = w->first[w->depth];

	if (w->depth > 0)
		w->depth--;
	if (!empty)
		indent(w);
	puts_(w, c);
}

void jw_obj_begin(struct jw *w)
{
	open_(w, "{");
}

void jw_obj_end(struct jw *w)
{
	close_(w, "}");
}

void jw_arr_begin(struct jw *w)
{
	open_(w, "[");
}

void jw_arr_end(struct jw *w)
{
	close_(w, "]");
}

/* Write s as a JSON string.  Control characters are escaped, and bytes
 * that are not well-formed UTF-8 become U+FFFD, so that the output is valid
 * JSON whatever s holds (an error message may quote raw user input). */
static void quoted(struct jw *w, const char *s)
{
	size_t left = strlen(s);

	put(w, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p;
	     p++, left--) {
		char esc[8];
		size_t n;

		switch (*p) {
		case '"':
			puts_(w, "\\\"");
			break;
		case '\\':
			puts_(w, "\\\\");
			break;
		case '\n':
			puts_(w, "\\n");
			break;
		case '\r':
			puts_(w, "\\r");
			break;
		case '\t':
			puts_(w, "\\t");
			break;
		default:
			if (*p < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04x", *p);
				puts_(w, esc);
			} else if ((n = utf8_seq_len(p, left))) {
				put(w, (const char *)p, n);
				p += n - 1;
				left -= n - 1;
			} else {
				puts_(w, "\xef\xbf\xbd"); /* U+FFFD */
			}
		}
	}
	put(w, "\"", 1);
}

void jw_key(struct jw *w, const char *key)
{
	sep(w);
	quoted(w, key ? key : "");
	put(w, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
	w->after_key = true;
}

void jw_str(struct jw *w, const char *s)
{
	sep(w);
	quoted(w, s ? s : "");
}

void jw_int(struct jw *w, int64_t v)
{
	char b[32];

	sep(w);
	snprintf(b, sizeof(b), "%lld", (long long)v);
	puts_(w, b);
}

void jw_uint(struct jw *w, uint64_t v)
{
	char b[32];

	sep(w);
	snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
	puts_(w, b);
}

void jw_double(struct jw *w, double v)
{
	char b[48];

	sep(w);
	if (!isfinite(v))
		v = 0;
	snprintf(b, sizeof(b), "%.6g", v);
	puts_(w, b);
}

void jw_bool(struct jw *w, bool v)
{
	sep(w);
	puts_(w, v ? "true" : "false");
}

void jw_null(struct jw *w)
{
	sep(w);
	puts_(w, "null");
}

void jw_kstr(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_str(w, s);
}

void jw_kint(struct jw *w, const char *key, int64_t v)
{
	jw_key(w, key);
	jw_int(w, v);
}

void jw_kuint(struct jw *w, const char *key, uint64_t v)
{
	jw_key(w, key);
	jw_uint(w, v);
}

void jw_kdouble(struct jw *w, const char *key, double v)
{
	jw_key(w, key);
	jw_double(w, v);
}

void jw_kbool(struct jw *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_bool(w, v);
}

/* ---------------------------------------------------------------- parser */

_Static_assert(JV_MAX_DEPTH >= JW_MAX_DEPTH,
	       "jv_parse must read back what jw_* write");

struct jp {
	const char *p, *start, *end;
	char *err;
	size_t errlen;
	int depth;
};

static int jp_fail(struct jp *j, const char *what)
{
	if (j->err && j->errlen && !j->err[0])
		snprintf(j->err, j->errlen, "%s at offset %zu", what,
			 (size_t)(j->p - j->start));
	return -EINVAL;
}

static void ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
				 *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int parse_value(struct jp *j, struct jv *v);

static int hex4(struct jp *j, unsigned *out)
{
	unsigned v = 0;

	if (j->end - j->p < 4)
		return jp_fail(j, "truncated \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = j->p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return jp_fail(j, "bad \\u escape");
	}
	j->p += 4;
	*out = v;
	return 0;
}

static void utf8(char *o, size_t *n, unsigned cp)
{
	if (cp < 0x80) {
		o[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		o[(*n)++] = (char)(0xc0 | cp >> 6);
		o[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		o[(*n)++] = (char)(0xe0 | cp >> 12);
		o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		o[(*n)++] = (char)(0xf0 | cp >> 18);
		o[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/* After "\u": one code point, a surrogate pair "\uD83D\uDE00" being one. */
static int unicode_escape(struct jp *j, unsigned *cp)
{
	unsigned lo;

	if (hex4(j, cp))
		return -EINVAL;
	if (*cp == 0)
		return jp_fail(j, "NUL in string");
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return jp_fail(j, "lone low surrogate escape");
	if (*cp < 0xd800 || *cp > 0xdbff)
		return 0;
	if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
		return jp_fail(j, "lone high surrogate escape");
	j->p += 2;
	if (hex4(j, &lo))
		return -EINVAL;
	if (lo < 0xdc00 || lo > 0xdfff)
		return jp_fail(j, "lone high surrogate escape");
	*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	return 0;
}

static int parse_string(struct jp *j, char **out)
{
	const char *q;
	size_t n = 0;
	char *o;
	int e;

	j->p++; /* opening quote */
	/* the decoded string is never longer than the encoded one */
	for (q = j->p; q < j->end && *q != '"'; q++)
		if (*q == '\\')
			q++;
	if (q >= j->end)
		return jp_fail(j, "unterminated string");
	o = malloc(q - j->p + 1);
	if (!o)
		return -ENOMEM;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;
		unsigned cp;
		size_t len;

		if (c < 0x20) {
			e = jp_fail(j, "control character in string");
			goto out_free;
		}
		if (c != '\\') {
			/* raw bytes must be well-formed UTF-8 (RFC 8259 8.1) */
			len = utf8_seq_len((const unsigned char *)j->p,
					   j->end - j->p);
			if (!len) {
				e = jp_fail(j, "invalid UTF-8 in string");
				goto out_free;
			}
			memcpy(o + n, j->p, len);
			n += len;
			j->p += len;
			continue;
		}
		if (++j->p >= j->end) {
			e = jp_fail(j, "unterminated string");
			goto out_free;
		}
		c = (unsigned char)*j->p++;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			o[n++] = (char)c;
			break;
		case 'b':
			o[n++] = '\b';
			break;
		case 'f':
			o[n++] = '\f';
			break;
		case 'n':
			o[n++] = '\n';
			break;
		case 'r':
			o[n++] = '\r';
			break;
		case 't':
			o[n++] = '\t';
			break;
		case 'u':
			e = unicode_escape(j, &cp);
			if (e)
				goto out_free;
			utf8(o, &n, cp);
			break;
		default:
			j->p--;
			e = jp_fail(j, "bad escape");
			goto out_free;
		}
	}
	j->p++; /* closing quote */
	o[n] = 0;
	*out = o;
	return 0;
out_free:
	free(o);
	return e;
}

/* Skip one or more digits; false if there is none. */
static bool digits(struct jp *j)
{
	const char *s = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? exactly (RFC 8259 6). */
static int parse_number(struct jp *j, struct jv *v)
{
	const char *s = j->p;
	char buf[64];
	char *end;
	bool neg = false, frac = false;

	if (j->p < j->end && *j->p == '-') {
		neg = true;
		j->p++;
	}
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return jp_fail(j, "bad number");
	if (*j->p == '0' && j->p + 1 < j->end && j->p[1] >= '0' &&
	    j->p[1] <= '9')
		return jp_fail(j, "leading zero");
	digits(j);
	if (j->p < j->end && *j->p == '.') {
		frac = true;
		j->p++;
		if (!digits(j))
			return jp_fail(j, "bad number: no digit after '.'");
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		frac = true;
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!digits(j))
			return jp_fail(j, "bad number: no digit in exponent");
	}
	/* "1-2", "1.5.3", "1e5e5": one malformed number, not a number and
	 * trailing data */
	if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E' ||
			      *j->p == '+' || *j->p == '-'))
		return jp_fail(j, "bad number");
	if ((size_t)(j->p - s) >= sizeof(buf))
		return jp_fail(j, "number too long");
	memcpy(buf, s, j->p - s);
	buf[j->p - s] = 0;
	errno = 0;
	v->d = strtod(buf, &end);
	/* refuse overflow to infinity; an underflow to 0 or a subnormal is
	 * the nearest double, keep it */
	if (*end || (errno == ERANGE && isinf(v->d)))
		return jp_fail(j, "bad number: out of range");
	v->type = JV_NUM;
	if (!neg && !frac) {
		errno = 0;
		v->u = strtoull(buf, &end, 10);
		v->is_uint = !errno && !*end;
	}
	return 0;
}

/* After a member: 1 if a ',' announces another, 0 at the closing
 * bracket, or the error. */
static int after_member(struct jp *j, char close)
{
	char msg[32];

	ws(j);
	if (j->p < j->end && *j->p == ',') {
		j->p++;
		return 1;
	}
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return 0;
	}
	snprintf(msg, sizeof(msg), "expected ',' or '%c'", close);
	return jp_fail(j, msg);
}

static int parse_array(struct jp *j, struct jv *v)
{
	size_t cap = 0;

	v->type = JV_ARR;
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return 0;
	}
	for (;;) {
		int e;

		if (v->n == cap) {
			struct jv *ni;

			cap = cap ? cap * 2 : 4;
			ni = realloc(v->items, cap * sizeof(*ni));
			if (!ni)
				return -ENOMEM;
			v->items = ni;
		}
		memset(&v->items[v->n], 0, sizeof(v->items[0]));
		v->n++;
		e = parse_value(j, &v->items[v->n - 1]);
		if (e)
			return e;
		e = after_member(j, ']');
		if (e <= 0)
			return e;
	}
}

static int parse_object(struct jp *j, struct jv *v)
{
	size_t cap = 0;

	v->type = JV_OBJ;
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return 0;
	}
	for (;;) {
		char *key = NULL;
		int e;

		ws(j);
		if (j->p >= j->end || *j->p != '"')
			return jp_fail(j, "expected a string key");
		e = parse_string(j, &key);
		if (e)
			return e;
		for (size_t i = 0; i < v->n; i++) {
			if (!strcmp(v->keys[i], key)) {
				free(key);
				return jp_fail(j, "duplicate key");
			}
		}
		if (v->n == cap) {
			struct jv *ni;
			char **nk;

			cap = cap ? cap * 2 : 4;
			ni = realloc(v->items, cap * sizeof(*ni));
			if (ni)
				v->items = ni;
			nk = realloc(v->keys, cap * sizeof(*nk));
			if (nk)
				v->keys = nk;
			if (!ni || !nk) {
				free(key);
				return -ENOMEM;
			}
		}
		memset(&v->items[v->n], 0, sizeof(v->items[0]));
		v->keys[v->n] = key;
		v->n++;
		ws(j);
		if (j->p >= j->end || *j->p != ':')
			return jp_fail(j, "expected ':'");
		j->p++;
		e = parse_value(j, &v->items[v->n - 1]);
		if (e)
			return e;
		e = after_member(j, '}');
		if (e <= 0)
			return e;
	}
}

static int literal(struct jp *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n))
		return jp_fail(j, "unexpected token");
	j->p += n;
	return 0;
}

static int parse_value(struct jp *j, struct jv *v)
{
	int e;

	ws(j);
	if (j->p >= j->end)
		return jp_fail(j, "unexpected end of input");
	if (++j->depth > JV_MAX_DEPTH)
		return jp_fail(j, "nesting too deep");
	switch (*j->p) {
	case '{':
		e = parse_object(j, v);
		break;
	case '[':
		e = parse_array(j, v);
		break;
	case '"':
		v->type = JV_STR;
		e = parse_string(j, &v->s);
		break;
	case 't':
		v->type = JV_BOOL;
		v->b = true;
		e = literal(j, "true");
		break;
	case 'f':
		v->type = JV_BOOL;
		e = literal(j, "false");
		break;
	case 'n':
		v->type = JV_NULL;
		e = literal(j, "null");
		break;
	default:
		e = parse_number(j, v);
	}
	j->depth--;
	return e;
}

static void jv_clear(struct jv *v)
{
	free(v->s);
	for (size_t i = 0; i < v->n; i++) {
		if (v->items)
			jv_clear(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
}

void jv_free(struct jv *v)
{
	if (!v)
		return;
	jv_clear(v);
	free(v);
}

struct jv *jv_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct jp j = { .p = text,
			.start = text,
			.end = text + len,
			.err = err,
			.errlen = errlen };
	struct jv *v = calloc(1, sizeof(*v));

	if (err && errlen)
		err[0] = 0;
	if (!v)
		return NULL;
	if (parse_value(&j, v)) {
		if (err && errlen && !err[0])
			snprintf(err, errlen, "out of memory");
		jv_free(v);
		return NULL;
	}
	ws(&j);
	if (j.p != j.end) {
		jp_fail(&j, "trailing data");
		jv_free(v);
		return NULL;
	}
	return v;
}

const struct jv *jv_get(const struct jv *obj, const char *key)
{
	if (!obj || obj->type != JV_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (!strcmp(obj->keys[i], key))
			return &obj->items[i];
	return NULL;
}

const char *jv_get_str(const struct jv *obj, const char *key)
{
	const struct jv *v = jv_get(obj, key);

	return v && v->type == JV_STR ? v->s : NULL;
}

int jv_get_uint(const struct jv *obj, const char *key, uint64_t max,
		uint64_t *out)
{
	const struct jv *v = jv_get(obj, key);

	if (!v || v->type != JV_NUM || !v->is_uint || v->u > max)
		return -EINVAL;
	*out = v->u;
	return 0;
}
