/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * conf.h - lbd's configuration file: the VIPs and backends an operator
 * wants, in the format `lbctl export` prints and `lbctl apply -f` reads
 * (README.md and lbctl(8) describe it).  conf.c reads and writes it;
 * apply.c makes the model equal to it.
 */
#ifndef LBD_CONF_H
#define LBD_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "lbd.h"

/* One VIP of a file: its configuration in v (v.be its backends; runtime
 * fields zero), and where each thing was written. */
struct lbd_conf_vip {
	struct lbd_vip v;
	unsigned int line;
	unsigned int *be_line; /* of each backend */
};

struct lbd_conf {
	const char *file; /* the name errors give */
	struct lbd_conf_vip *vips;
	size_t n, cap;
};

/* Read text (len bytes) into c.  0, or -EINVAL (-ENOMEM) with one line
 * "FILE:LINE: what is wrong" in err and c empty. */
int lbd_conf_parse(const char *text, size_t len, const char *file,
		   struct lbd_conf *c, char *err, size_t errlen);
void lbd_conf_free(struct lbd_conf *c);

/* The model as a configuration file (malloc'd, NUL-terminated), NULL
 * when out of memory. */
char *lbd_conf_write(const struct lbd *d);

/* Two checks that check the same (spec, what the operator typed, aside). */
bool lbd_check_same(const struct lbd_check *a, const struct lbd_check *b);

#endif /* LBD_CONF_H */
