// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * plan.c - the answer of a dry run (--dry-run) in words: per VIP what the
 * change adds, removes, drains or re-weights, the Maglev slots that change
 * owner, the share of new flows that go to another backend, and the
 * established flows that keep their backend or are re-hashed.
 */
#include <stdio.h>
#include <string.h>

#include "lbctl.h"

bool lbctl_dry_run;

/* "PREFIX ADDR" for each string of the array key of v. */
static void list(const struct jv *v, const char *key, const char *prefix)
{
	const struct jv *a = jv_get(v, key);

	for (size_t i = 0; a && a->type == JV_ARR && i < a->n; i++)
		if (a->items[i].type == JV_STR)
			printf("    %s %s\n", prefix, a->items[i].s);
}

static void print_vip(const struct jv *v)
{
	const struct jv *a = jv_get(v, "added");
	const struct jv *rw = jv_get(v, "reweighted");
	const struct jv *fl = jv_get(v, "flows");
	const char *change = jv_get_str(v, "change");
	char n1[24], n2[24];

	printf("VIP %s: %s\n", jv_get_str(v, "vip"),
	       !change			 ? "?" :
	       !strcmp(change, "add")	 ? "added" :
	       !strcmp(change, "remove") ? "removed" :
					   "changed");
	list(v, "settings", "");
	for (size_t i = 0; a && a->type == JV_ARR && i < a->n; i++) {
		const struct jv *d = jv_get(&a->items[i], "drain");

		printf("    + backend %s weight %s%s\n",
		       jv_get_str(&a->items[i], "backend"),
		       num(&a->items[i], "weight", n1, sizeof(n1)),
		       d && d->type == JV_BOOL && d->b ? " drain" : "");
	}
	list(v, "removed", "- backend");
	list(v, "drained", "drain backend");
	list(v, "undrained", "undrain backend");
	for (size_t i = 0; rw && rw->type == JV_ARR && i < rw->n; i++)
		printf("    weight of %s %s -> %s\n",
		       jv_get_str(&rw->items[i], "backend"),
		       num(&rw->items[i], "from", n1, sizeof(n1)),
		       num(&rw->items[i], "to", n2, sizeof(n2)));
	list(v, "check_changed", "new check for backend");
	if (jv_get(v, "slots_changed"))
		printf("    Maglev: %s of %s slots change owner; ",
		       num(v, "slots_changed", n1, sizeof(n1)),
		       num(v, "table_size", n2, sizeof(n2)));
	else
		printf("    Maglev: the table size changes (now %s slots); ",
		       num(v, "table_size", n2, sizeof(n2)));
	printf("%.2f%% of new flows go to another backend\n",
	       dnum(v, "moved_share") * 100);
	printf("    established flows: %s keep their backend, %s %s\n",
	       num(fl, "keep", n1, sizeof(n1)),
	       num(fl, "rehash", n2, sizeof(n2)),
	       change && !strcmp(change, "remove") ?
		       "lose their VIP" :
		       "re-hashed (their backend leaves)");
}

void print_plan(const struct jv *ans)
{
	const struct jv *vips = jv_get(ans, "vips");
	const struct jv *s = jv_get(ans, "summary");
	char a[24], r[24], c[24], ba[24], br[24], k[24], h[24];

	printf("dry run: nothing was changed\n");
	if (!vips || !vips->n) {
		printf("no change\n");
		return;
	}
	for (size_t i = 0; i < vips->n; i++)
		print_vip(&vips->items[i]);
	printf("total: VIPs %s added, %s removed, %s changed; backends %s "
	       "added, %s removed; established flows %s keep their backend, "
	       "%s re-hashed\n",
	       num(s, "vips_added", a, sizeof(a)),
	       num(s, "vips_removed", r, sizeof(r)),
	       num(s, "vips_changed", c, sizeof(c)),
	       num(s, "backends_added", ba, sizeof(ba)),
	       num(s, "backends_removed", br, sizeof(br)),
	       num(s, "flows_keep", k, sizeof(k)),
	       num(s, "flows_rehash", h, sizeof(h)));
}
