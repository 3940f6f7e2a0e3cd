// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* json_write.c - the JSON writer (struct jw): compact or indented, strings
 * escaped, invalid UTF-8 replaced. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

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
		const unsigned char *run = p;
		char esc[8];
		size_t n;

		/* printable ASCII that needs no escape goes out as one run */
		while (*run >= 0x20 && *run < 0x7f && *run != '"' &&
		       *run != '\\')
			run++;
		if (run > p) {
			n = (size_t)(run - p);
			put(w, (const char *)p, n);
			p += n - 1;
			left -= n - 1;
			continue;
		}
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
			} else if ((n = json_utf8_len(p, left))) {
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
