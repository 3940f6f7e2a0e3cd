// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * print.c - what lbctl prints besides an answer's own words: the one-line
 * error (as JSON under -j, in the shape of lbd's own errors), and the
 * tables answers are shown in.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbctl.h"

bool lbctl_json;

int fail(int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (lbctl_json) {
		struct jw w;

		/* the shape of lbd's own errors, so -j users parse one */
		jw_init(&w, false);
		jw_obj_begin(&w);
		jw_kbool(&w, "ok", false);
		jw_kstr(&w, "error", msg);
		jw_obj_end(&w);
		printf("%s\n", w.buf ? w.buf : "{}");
		jw_free(&w);
	} else {
		fprintf(stderr, "lbctl: %s\n", msg);
	}
	return code;
}

int need(struct args *a, int n, const char *what)
{
	if (a->argc < n) {
		fail(2, "missing %s", what);
		fprintf(stderr, "Try 'lbctl help'.\n");
		return -1;
	}
	return 0;
}

void t_row(struct table *t, ...)
{
	va_list ap;
	char **row = calloc(t->ncols, sizeof(char *));

	t->cells = realloc(t->cells, (t->nrows + 1) * sizeof(*t->cells));
	if (!row || !t->cells)
		exit(1);
	va_start(ap, t);
	for (int i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);

		row[i] = strdup(s ? s : "");
		if (strlen(row[i]) > t->width[i])
			t->width[i] = strlen(row[i]);
	}
	va_end(ap);
	t->cells[t->nrows++] = row;
}

void t_print(struct table *t, const char *indent)
{
	for (size_t r = 0; r < t->nrows; r++) {
		printf("%s", indent);
		for (int c = 0; c < t->ncols; c++) {
			if (c == t->ncols - 1)
				printf("%s", t->cells[r][c]);
			else
				printf("%-*s  ", (int)t->width[c],
				       t->cells[r][c]);
			free(t->cells[r][c]);
		}
		printf("\n");
		free(t->cells[r]);
	}
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

const char *num(const struct jv *o, const char *key, char *buf, size_t len)
{
	const struct jv *v = jv_get(o, key);

	if (!v || v->type != JV_NUM)
		snprintf(buf, len, "-");
	else if (v->is_uint)
		snprintf(buf, len, "%llu", (unsigned long long)v->u);
	else
		snprintf(buf, len, "%.1f", v->d);
	return buf;
}

const char *human_rate(double v, const char *unit, char *buf, size_t len)
{
	if (v >= 1e9)
		snprintf(buf, len, "%.2fG%s", v / 1e9, unit);
	else if (v >= 1e6)
		snprintf(buf, len, "%.2fM%s", v / 1e6, unit);
	else if (v >= 1e3)
		snprintf(buf, len, "%.1fk%s", v / 1e3, unit);
	else
		snprintf(buf, len, "%.0f%s", v, unit);
	return buf;
}

double dnum(const struct jv *o, const char *key)
{
	const struct jv *v = jv_get(o, key);

	return v && v->type == JV_NUM ? v->d : 0;
}
