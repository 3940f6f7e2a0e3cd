// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * conf.c - the whole configuration at once: `lbctl export` prints lbd's
 * configuration file, `lbctl apply -f FILE` sends one to lbd, which makes
 * its state equal to it in one step (or, with --dry-run, says what that
 * would do).  lbd reads and checks the file (user/lbd/conf.c); errors name
 * FILE:LINE.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbctl.h"

/* lbd reads requests up to 16 MiB; the file and its escaping fit. */
#define MAX_CONF (8 * 1024 * 1024)

int cmd_export(struct args *a, const struct lbctl_cmd *c)
{
	struct jv *ans;
	int rc;

	if (a->argc)
		return fail(2, "unexpected argument '%s'", a->argv[0]);
	ans = lbctl_call_plain(c->req, &rc);
	if (ans && !lbctl_json)
		fputs(jv_get_str(ans, "config") ? jv_get_str(ans, "config") :
						  "",
		      stdout);
	jv_free(ans);
	return rc;
}

/* The whole of FILE ("-": standard input), NUL-terminated; NULL having
 * said why. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	size_t cap = 65536;
	char *buf;

	*len = 0;
	if (!f) {
		fail(1, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(cap);
	while (buf) {
		size_t n = fread(buf + *len, 1, cap - *len - 1, f);

		*len += n;
		if (*len > MAX_CONF) {
			fail(1, "%s: larger than %d MiB", path, MAX_CONF >> 20);
			free(buf);
			buf = NULL;
			break;
		}
		if (n == 0) {
			if (ferror(f)) {
				fail(1, "cannot read %s: %s", path,
				     strerror(errno));
				free(buf);
				buf = NULL;
			}
			break;
		}
		if (*len + 1 == cap) {
			char *nb = realloc(buf, cap *= 2);

			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	if (f != stdin)
		fclose(f);
	if (!buf)
		return NULL;
	buf[*len] = 0;
	if (strlen(buf) != *len) {
		fail(1, "%s: a NUL byte: not a text file", path);
		free(buf);
		return NULL;
	}
	return buf;
}

/* apply -f FILE */
int cmd_apply(struct args *a, const struct lbctl_cmd *c)
{
	const char *path = NULL;
	struct jv *ans;
	struct jw w;
	size_t len;
	char *text, n[6][24];
	int rc;

	for (int i = 0; i < a->argc; i++) {
		if (!strcmp(a->argv[i], "-f") ||
		    !strcmp(a->argv[i], "--file")) {
			if (i + 1 >= a->argc)
				return fail(2, "missing value of %s",
					    a->argv[i]);
			path = a->argv[++i];
		} else {
			return fail(2, "unexpected argument '%s'", a->argv[i]);
		}
	}
	if (!path)
		return fail(2, "missing -f FILE (- for standard input)");
	text = read_file(path, &len);
	if (!text)
		return 1;
	jw_init(&w, false);
	jw_obj_begin(&w);
	jw_kstr(&w, "cmd", c->req);
	jw_kstr(&w, "file", strcmp(path, "-") ? path : "(stdin)");
	jw_kstr(&w, "config", text);
	jw_obj_end(&w);
	free(text);
	lbctl_timeout_s = LBCTL_APPLY_TIMEOUT_S;
	ans = lbctl_call(&w, &rc);
	jw_free(&w);
	if (ans && !lbctl_json && !lbctl_dry_run)
		printf("applied %s: VIPs %s added, %s removed, %s changed "
		       "(%s in all); backends %s added, %s removed\n",
		       path, num(ans, "vips_added", n[0], sizeof(n[0])),
		       num(ans, "vips_removed", n[1], sizeof(n[1])),
		       num(ans, "vips_changed", n[2], sizeof(n[2])),
		       num(ans, "vips", n[3], sizeof(n[3])),
		       num(ans, "backends_added", n[4], sizeof(n[4])),
		       num(ans, "backends_removed", n[5], sizeof(n[5])));
	jv_free(ans);
	return rc;
}
