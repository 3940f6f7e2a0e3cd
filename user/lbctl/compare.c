// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * compare.c - lbctl compare A.json B.json ...: do the balancers of a fleet
 * agree on every flow?
 *
 * Each file is what `lbctl -j status` printed on one balancer.  Balancers
 * agree on a VIP when they hash with the same seed and their tables have
 * the same digest (digest.h: which backend address owns each slot).  For
 * each VIP where they do not, this names the balancers and how their
 * backend sets differ, as diff does: exit status 0 when all agree, 1 when
 * something differs, 2 when a file cannot be read.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbctl.h"

#define COMPARE_MAX_FILES 64
#define COMPARE_MAX_BYTES (256u << 20)

struct side {
	const char *name; /* the file, as given */
	struct jv *status;
	const struct jv *tables;
};

/* The whole of path ("-": stdin) into a NUL-terminated buffer; NULL with
 * err set. */
static char *slurp(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	size_t cap = 65536, n = 0;
	char *buf = NULL, *p;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n + 1 >= cap || !buf) {
			if (cap > COMPARE_MAX_BYTES) {
				snprintf(err, errlen, "%s: larger than %u MiB",
					 path, COMPARE_MAX_BYTES >> 20);
				goto fail;
			}
			cap = buf ? 2 * cap : cap;
			p = realloc(buf, cap);
			if (!p) {
				snprintf(err, errlen, "%s: out of memory",
					 path);
				goto fail;
			}
			buf = p;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);

		n += got;
		if (got)
			continue;
		if (ferror(f)) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		break;
	}
	buf[n] = 0;
	*len = n;
	if (f != stdin)
		fclose(f);
	return buf;
fail:
	free(buf);
	if (f != stdin)
		fclose(f);
	return NULL;
}

static int load(struct side *s, const char *path)
{
	char err[512], perr[128];
	size_t len;
	char *text = slurp(path, &len, err, sizeof(err));

	s->name = path;
	if (!text)
		return fail(2, "%s", err);
	s->status = jv_parse(text, len, perr, sizeof(perr));
	free(text);
	if (!s->status)
		return fail(2, "%s: not JSON: %s", path, perr);
	s->tables = jv_get(s->status, "tables");
	if (s->status->type != JV_OBJ || !jv_get_str(s->status, "hash_seed") ||
	    !s->tables || s->tables->type != JV_ARR)
		return fail(2,
			    "%s: not the output of 'lbctl -j status' (no "
			    "\"hash_seed\" and \"tables\")",
			    path);
	return 0;
}

static const struct jv *find_vip(const struct side *s, const char *vip)
{
	for (size_t i = 0; i < s->tables->n; i++) {
		const char *v = jv_get_str(&s->tables->items[i], "vip");

		if (v && !strcmp(v, vip))
			return &s->tables->items[i];
	}
	return NULL;
}

static const struct jv *find_backend(const struct jv *t, const char *addr)
{
	const struct jv *be = t ? jv_get(t, "backends") : NULL;

	for (size_t i = 0; be && be->type == JV_ARR && i < be->n; i++) {
		const char *a = jv_get_str(&be->items[i], "backend");

		if (a && !strcmp(a, addr))
			return &be->items[i];
	}
	return NULL;
}

/* What the report says, printed as text or gathered as JSON (-j). */
struct report {
	struct jw w;
	bool in_vip; /* a VIP's "differences" array is open */
	size_t differences;
};

static void say(struct report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(struct report *r, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->differences++;
	if (lbctl_json)
		jw_str(&r->w, line);
	else
		printf("  %s\n", line);
}

static const char *str_or(const struct jv *o, const char *key, const char *d)
{
	const char *s = o ? jv_get_str(o, key) : NULL;

	return s ? s : d;
}

/* "w 100 (in the table 0)" */
static void backend_desc(const struct jv *b, char *buf, size_t len)
{
	char w[24], tw[24];

	num(b, "weight", w, sizeof(w));
	num(b, "table_weight", tw, sizeof(tw));
	if (dnum(b, "table_weight") == dnum(b, "weight"))
		snprintf(buf, len, "weight %s", w);
	else
		snprintf(buf, len, "weight %s, %s in the table", w, tw);
}

/* The backends of vip that are not alike everywhere. */
static void diff_backends(struct report *r, struct side *s, size_t n,
			  const struct jv **t, const char *vip)
{
	(void)vip;
	for (size_t i = 0; i < n; i++) {
		const struct jv *be = t[i] ? jv_get(t[i], "backends") : NULL;

		for (size_t j = 0; be && be->type == JV_ARR && j < be->n; j++) {
			const char *addr = jv_get_str(&be->items[j], "backend");
			char mine[96], other[96];
			bool seen_before = false;

			if (!addr)
				continue;
			for (size_t k = 0; k < i && !seen_before; k++)
				seen_before = find_backend(t[k], addr) != NULL;
			if (seen_before)
				continue; /* reported from the first side */
			backend_desc(&be->items[j], mine, sizeof(mine));
			for (size_t k = 0; k < n; k++) {
				const struct jv *o;

				if (k == i)
					continue;
				o = find_backend(t[k], addr);
				if (!o) {
					if (t[k])
						say(r,
						    "backend %s: on %s (%s), "
						    "not on %s",
						    addr, s[i].name, mine,
						    s[k].name);
					continue;
				}
				backend_desc(o, other, sizeof(other));
				if (strcmp(mine, other))
					say(r, "backend %s: %s on %s, %s on %s",
					    addr, mine, s[i].name, other,
					    s[k].name);
			}
		}
	}
}

static void compare_vip(struct report *r, struct side *s, size_t n,
			const char *vip)
{
	const struct jv *t[COMPARE_MAX_FILES];
	bool agree = true;

	for (size_t i = 0; i < n; i++)
		t[i] = find_vip(&s[i], vip);
	for (size_t i = 1; i < n && agree; i++) {
		const char *a = str_or(t[0], "digest", "");
		const char *b = str_or(t[i], "digest", "");

		agree = t[0] && t[i] && *a && !strcmp(a, b);
	}
	if (lbctl_json) {
		jw_obj_begin(&r->w);
		jw_kstr(&r->w, "vip", vip);
		jw_kbool(&r->w, "agree", agree);
		jw_key(&r->w, "digests");
		jw_obj_begin(&r->w);
		for (size_t i = 0; i < n; i++) {
			jw_key(&r->w, s[i].name);
			if (t[i] && jv_get_str(t[i], "digest"))
				jw_str(&r->w, jv_get_str(t[i], "digest"));
			else
				jw_null(&r->w);
		}
		jw_obj_end(&r->w);
		jw_key(&r->w, "differences");
		jw_arr_begin(&r->w);
	} else if (agree) {
		printf("VIP %s: agree (digest %s)\n", vip,
		       str_or(t[0], "digest", "-"));
	} else {
		printf("VIP %s: tables differ:", vip);
		for (size_t i = 0; i < n; i++)
			printf(" %s %s", s[i].name,
			       !t[i] ? "(no such VIP)" :
				       str_or(t[i], "digest", "(no table)"));
		printf("\n");
	}
	if (!agree) {
		size_t before = r->differences;

		for (size_t i = 0; i < n; i++) {
			char a[24], b[24];

			if (!t[i]) {
				say(r, "not on %s", s[i].name);
				continue;
			}
			if (i && t[0] &&
			    strcmp(num(t[0], "table_size", a, sizeof(a)),
				   num(t[i], "table_size", b, sizeof(b))))
				say(r, "table size %s on %s, %s on %s", a,
				    s[0].name, b, s[i].name);
			if (i && t[0] &&
			    strcmp(str_or(t[0], "hash", ""),
				   str_or(t[i], "hash", "")))
				say(r, "hash %s on %s, %s on %s",
				    str_or(t[0], "hash", "-"), s[0].name,
				    str_or(t[i], "hash", "-"), s[i].name);
		}
		diff_backends(r, s, n, t, vip);
		if (r->differences == before) /* same inputs, other tables */
			say(r, "same backends and weights, different tables: "
			       "different lbd versions?");
	}
	if (lbctl_json) {
		jw_arr_end(&r->w);
		jw_obj_end(&r->w);
	}
}

int cmd_compare(struct args *a, const struct lbctl_cmd *c)
{
	struct side s[COMPARE_MAX_FILES] = {};
	struct report r = {};
	size_t n = (size_t)a->argc, vips = 0, disagree = 0;
	const char *seed0;
	bool seeds_agree = true;
	int rc = 0;

	(void)c;
	if (a->argc < 2)
		return fail(2, "missing files: compare needs the 'lbctl -j "
			       "status' output of at least two balancers");
	if (n > COMPARE_MAX_FILES)
		return fail(2, "at most %d files", COMPARE_MAX_FILES);
	for (size_t i = 0; i < n && !rc; i++)
		rc = load(&s[i], a->argv[i]);
	if (rc)
		goto out;

	jw_init(&r.w, false);
	if (lbctl_json) {
		jw_obj_begin(&r.w);
		jw_kbool(&r.w, "ok", true);
		jw_key(&r.w, "hash_seeds");
		jw_obj_begin(&r.w);
		for (size_t i = 0; i < n; i++)
			jw_kstr(&r.w, s[i].name,
				jv_get_str(s[i].status, "hash_seed"));
		jw_obj_end(&r.w);
	}
	seed0 = jv_get_str(s[0].status, "hash_seed");
	for (size_t i = 1; i < n; i++)
		if (strcmp(seed0, jv_get_str(s[i].status, "hash_seed")))
			seeds_agree = false;
	if (!seeds_agree && !lbctl_json) {
		printf("hash seeds differ (no flow is sure to reach the same "
		       "backend):");
		for (size_t i = 0; i < n; i++)
			printf(" %s %s", s[i].name,
			       jv_get_str(s[i].status, "hash_seed"));
		printf("\n");
	}
	if (lbctl_json) {
		jw_kbool(&r.w, "seeds_agree", seeds_agree);
		jw_key(&r.w, "vips");
		jw_arr_begin(&r.w);
	}
	/* every VIP of any side, once, in the order first seen */
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < s[i].tables->n; j++) {
			const char *vip =
				jv_get_str(&s[i].tables->items[j], "vip");
			bool seen = false;
			size_t before = r.differences;

			if (!vip)
				continue;
			for (size_t k = 0; k < i && !seen; k++)
				seen = find_vip(&s[k], vip) != NULL;
			for (size_t k = 0; k < j && !seen; k++)
				seen = !strcmp(str_or(&s[i].tables->items[k],
						      "vip", ""),
					       vip);
			if (seen)
				continue;
			vips++;
			compare_vip(&r, s, n, vip);
			disagree += r.differences != before;
		}
	}
	if (lbctl_json) {
		jw_arr_end(&r.w);
		jw_kbool(&r.w, "agree", seeds_agree && !disagree);
		jw_obj_end(&r.w);
		printf("%s\n", r.w.buf ? r.w.buf : "{}");
	} else {
		printf("%zu of %zu VIPs agree on %zu balancers%s\n",
		       vips - disagree, vips, n,
		       seeds_agree ? "" : ", but the hash seeds differ");
	}
	jw_free(&r.w);
	rc = seeds_agree && !disagree ? 0 : 1;
out:
	for (size_t i = 0; i < n; i++)
		jv_free(s[i].status);
	return rc;
}
