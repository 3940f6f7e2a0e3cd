/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * lbctl.h - the parts of lbctl:
 *   lbctl.c      main, the {object, verb, handler} command table, help
 *   cmds.c       the commands: a request built, sent, its answer shown
 *   conf.c       the whole configuration: export, apply -f FILE
 *   opts.c       command-line options checked and turned into JSON
 *   transport.c  talking to lbd over its socket
 *   compare.c    lbctl compare: status files of balancers side by side
 *   print.c      errors, and the tables answers are shown in
 *   plan.c       the answer of a dry run (--dry-run) in words
 * Calls go down this list only.
 */
#ifndef LBCTL_H
#define LBCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

#define LBCTL_DEFAULT_SOCKET "/run/xdp-lb/lbd.sock"
#define LBCTL_TIMEOUT_S 10
/* apply: a whole configuration of thousands of VIPs takes lbd seconds */
#define LBCTL_APPLY_TIMEOUT_S 120

/* The arguments after a command's words. */
struct args {
	int argc;
	char **argv;
};

/*
 * One command: OBJECT [VERB] ARGS, as ip and bpftool read them.  A row
 * without a verb is a command of one word.  req is the "cmd" of lbd's
 * request, arg picks the variant of the handler (options allowed, ...).
 */
struct lbctl_cmd {
	const char *object;
	const char *verb;
	int (*handler)(struct args *a, const struct lbctl_cmd *c);
	const char *req;
	int arg;
};

/* print.c: errors and tables */
extern bool lbctl_json; /* -j: every answer, errors too, as JSON */
/* Print a one-line error (JSON with -j) and return the exit code. */
int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Fewer than n arguments: "missing WHAT" (exit code 2), -1. */
int need(struct args *a, int n, const char *what);

#define MAX_COLS 12
/* Columns as wide as their widest cell; the last one not padded. */
struct table {
	int ncols;
	size_t nrows;
	char ***cells;
	size_t width[MAX_COLS];
};
void t_row(struct table *t, ...);
/* Print every row, each after indent, and empty the table. */
void t_print(struct table *t, const char *indent);
/* A number of o as text ("-" if absent); dnum: as a double, 0 if absent. */
const char *num(const struct jv *o, const char *key, char *buf, size_t len);
double dnum(const struct jv *o, const char *key);
/* 1.25Mpps, 3.0kbps, ... */
const char *human_rate(double v, const char *unit, char *buf, size_t len);

/* plan.c: --dry-run, given after a command that changes something: the
 * request asks lbd for the plan (transport.c adds "dry_run"), and the plan
 * is printed instead of the change being made */
extern bool lbctl_dry_run;
void print_plan(const struct jv *ans);

/* transport.c: one request, one answer */
extern const char *lbctl_socket;
extern int lbctl_timeout_s; /* for an answer; LBCTL_TIMEOUT_S */
/* Send a request; the answer if lbd said ok (printed as is with -j), else
 * NULL after printing why; *code is the exit code. */
struct jv *lbctl_call(struct jw *req, int *code);
/* A request of only {"cmd": cmd}. */
struct jv *lbctl_call_plain(const char *cmd, int *code);
/* Send a request, keep nothing of the answer but the exit code. */
int lbctl_call_simple(struct jw *req);

/* opts.c: input checked here first, so that a typo is reported even when
 * lbd is not running; lbd checks again and is the authority */
int check_vip(const char *s);
int check_backend(const char *vip, const char *s);
enum {
	OPTS_VIP = 1, /* --mode --hash --table-size --on-down */
	OPTS_WEIGHT = 2, /* --weight */
	OPTS_CHECK = 4, /* --check and its details */
	OPTS_INHERIT = 8, /* --inherit */
	OPTS_ON_DOWN = 16, /* --on-down */
};
/* Parse trailing --options (a->argv[from..]) into the request. */
int parse_opts(struct args *a, int from, struct jw *w, int allowed);

/* cmds.c: the handlers of the command table */
int cmd_backend_opts(struct args *a, const struct lbctl_cmd *c);
int cmd_vip_backend(struct args *a, const struct lbctl_cmd *c);
int cmd_vip_opts(struct args *a, const struct lbctl_cmd *c);
int cmd_vip_one(struct args *a, const struct lbctl_cmd *c);
int cmd_list(struct args *a, const struct lbctl_cmd *c);
int cmd_stats(struct args *a, const struct lbctl_cmd *c);
int cmd_status(struct args *a, const struct lbctl_cmd *c);
int cmd_explain(struct args *a, const struct lbctl_cmd *c);
int cmd_health(struct args *a, const struct lbctl_cmd *c);
int cmd_node(struct args *a, const struct lbctl_cmd *c);
/* compare.c: lbctl compare, on files only */
int cmd_compare(struct args *a, const struct lbctl_cmd *c);

/* conf.c */
int cmd_export(struct args *a, const struct lbctl_cmd *c);
int cmd_apply(struct args *a, const struct lbctl_cmd *c);

#endif /* LBCTL_H */
