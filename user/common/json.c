// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* json.c - the strict recursive-descent JSON parser, and the UTF-8 check
 * the writer shares (the writer: json_write.c). */
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
size_t json_utf8_len(const unsigned char *p, size_t avail)
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
			len = json_utf8_len((const unsigned char *)j->p,
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
