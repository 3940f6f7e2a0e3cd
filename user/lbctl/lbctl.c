// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * lbctl - the command-line client of lbd.
 *
 *   lbctl [-j] [-S SOCKET] add-backend VIP BACKEND [--weight N]
 *   lbctl [-j] [-S SOCKET] OBJECT COMMAND ARGS      (like ip and bpftool)
 *
 * Input is checked here first, so a typo is reported even when lbd is not
 * running; lbd checks everything again and is the authority.  With -j every
 * answer, errors included, is one JSON object on stdout.
 *
 * This file reads the command line: one table of {object, verb, handler}
 * rows (a new command is one row and one handler in cmds.c), and the help
 * of each object.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbctl.h"

/*
 * Usage, one entry per command: `lbctl help` prints them all, `lbctl help
 * COMMAND` and `lbctl OBJECT help` only the command's own, with the notes
 * on the arguments it takes.
 */
enum {
	NOTE_VIP = 1, /* takes a VIP */
	NOTE_BACKEND = 2, /* takes a backend address */
	NOTE_CHECK = 4, /* takes CHECK OPTIONS */
	NOTE_VIPOPT = 8, /* takes VIP OPTIONS */
};

static const struct help {
	const char *cmd;
	const char *text;
	int notes;
} helps[] = {
	{ "add-backend",
	  "  add-backend VIP BACKEND [--weight N] [VIP OPTIONS] [CHECK OPTIONS]\n"
	  "                          add a backend, creating the VIP if needed\n",
	  NOTE_VIP | NOTE_BACKEND | NOTE_CHECK | NOTE_VIPOPT },
	{ "del-backend", "  del-backend VIP BACKEND\n",
	  NOTE_VIP | NOTE_BACKEND },
	{ "vip",
	  "  vip add VIP [VIP OPTIONS] [CHECK OPTIONS]\n"
	  "  vip set VIP [--on-down keep|rehash] [CHECK OPTIONS]\n"
	  "                                change the VIP's health check or what\n"
	  "                                its flows do when their backend fails\n"
	  "                                its check\n"
	  "  vip del VIP\n"
	  "  vip list\n"
	  "  vip show VIP\n",
	  NOTE_VIP | NOTE_CHECK | NOTE_VIPOPT },
	{ "backend",
	  "  backend add VIP BACKEND [--weight N] [CHECK OPTIONS]\n"
	  "  backend check VIP BACKEND (CHECK OPTIONS | --inherit)\n"
	  "  backend del VIP BACKEND\n"
	  "  backend drain VIP BACKEND     keep its connections, send no new ones\n"
	  "  backend undrain VIP BACKEND\n"
	  "  backend weight VIP BACKEND N\n",
	  NOTE_VIP | NOTE_BACKEND | NOTE_CHECK },
	{ "list", "  list                          every VIP and backend\n",
	  0 },
	{ "stats",
	  "  stats [--watch]               counters, drop reasons, rates\n",
	  0 },
	{ "status",
	  "  status                        the daemon and the datapath\n", 0 },
	{ "explain",
	  "  explain SRC:PORT DST:PORT PROTO   where would this flow go?\n",
	  0 },
	{ "health",
	  "  health [VIP]                  health checks of every backend\n",
	  NOTE_VIP },
	{ "node",
	  "  node drain                    withdraw every VIP route (with lbd\n"
	  "                                --announce-table); keep forwarding\n"
	  "  node undrain                  announce the VIPs again\n",
	  0 },
	{ "compare",
	  "  compare FILE FILE...          do balancers agree?  each FILE is the\n"
	  "                                'lbctl -j status' of one (- for stdin)\n",
	  0 },
	{ "export",
	  "  export                        the configuration, as a file apply reads\n",
	  0 },
	{ "apply",
	  "  apply -f FILE                 make lbd's configuration equal to FILE\n"
	  "                                (- for standard input), all or nothing\n",
	  0 },
	{ "help", "  help [COMMAND]                this text, or COMMAND's\n",
	  0 },
};

static void usage_notes(FILE *f, int notes)
{
	if (notes & NOTE_VIPOPT)
		fprintf(f,
			"\n  VIP OPTIONS: [--mode dsr|ipip] [--hash 5tuple|src]\n"
			"      [--table-size PRIME] [--on-down keep|rehash]\n"
			"      --on-down: established flows of a backend that fails\n"
			"      its check stay on it (keep, default for tcp) or are\n"
			"      hashed again (rehash, default for udp).\n");
	if (notes & NOTE_CHECK)
		fprintf(f,
			"\n  CHECK OPTIONS: --check none|tcp[:PORT]|http[:PORT][/PATH]\n"
			"      [--check-interval 1s] [--check-timeout 500ms] [--rise 2]\n"
			"      [--fall 2] [--slowstart 0s] [--check-expect 2xx,3xx]\n"
			"      [--check-host NAME]; the port defaults to the VIP's, the\n"
			"      timeout to 500ms or the interval if that is shorter.\n");
	if (notes & (NOTE_VIP | NOTE_BACKEND))
		fprintf(f, "\n");
	if (notes & NOTE_VIP)
		fprintf(f,
			"  VIP is ADDR:PORT/PROTO, [V6ADDR]:PORT/PROTO, or ADDR/PROTO for all\n"
			"  ports; PROTO is tcp or udp.\n");
	if (notes & NOTE_BACKEND)
		fprintf(f, "  BACKEND is an address.  Weights are 0..10000.\n");
}

static void usage_tail(FILE *f)
{
	fprintf(f,
		"\n  --dry-run            after any command that changes something\n"
		"                       (apply, add-backend, vip add, backend drain,\n"
		"                       ...): show what it would do to traffic, change\n"
		"                       nothing\n"
		"  -j, --json           print JSON (errors too)\n"
		"  -S, --socket PATH    lbd's socket (default %s,\n"
		"                       or $LBCTL_SOCKET)\n"
		"  -h, --help\n",
		LBCTL_DEFAULT_SOCKET);
}

static void usage(FILE *f)
{
	int notes = 0;

	fprintf(f, "usage: lbctl [-j] [-S SOCKET] COMMAND [ARGS]\n\n");
	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++) {
		fputs(helps[i].text, f);
		notes |= helps[i].notes;
	}
	usage_notes(f, notes);
	usage_tail(f);
}

/* The usage of one command (a name from the command table). */
static void usage_of(FILE *f, const char *cmd)
{
	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++) {
		if (strcmp(helps[i].cmd, cmd))
			continue;
		fprintf(f, "usage: lbctl [-j] [-S SOCKET] %s ...\n\n", cmd);
		fputs(helps[i].text, f);
		usage_notes(f, helps[i].notes);
		return;
	}
	usage(f);
}

/*
 * The command that word abbreviates, as ip does ("ba" for backend): an
 * exact match, or the only command it begins.  NULL, with an error, when
 * it begins none or several: "d" must not pick delete over drain.
 */
static const char *pick(const char *word, const char *const *cmds,
			const char *what)
{
	const char *found = NULL, *other = NULL;
	size_t n = strlen(word);
	char list[256] = "";

	for (size_t i = 0; cmds[i]; i++)
		if (!strcmp(word, cmds[i]))
			return cmds[i];
	if (!strcmp(word, "delete"))
		return "del";
	for (size_t i = 0; cmds[i]; i++) {
		size_t l = strlen(list);

		snprintf(list + l, sizeof(list) - l, "%s%s", l ? ", " : "",
			 cmds[i]);
		if (!n || strncmp(word, cmds[i], n))
			continue;
		if (found)
			other = cmds[i];
		else
			found = cmds[i];
	}
	if (other) {
		fail(2, "ambiguous %s '%s' (%s or %s?)", what, word, found,
		     other);
		return NULL;
	}
	if (!found)
		fail(2, "unknown %s '%s' (%s)", what, word, list);
	return found;
}

/* ---------------------------------------------------------------- table */

static int cmd_help(struct args *a, const struct lbctl_cmd *c);

static const struct lbctl_cmd cmds[] = {
	{ "add-backend", NULL, cmd_backend_opts, "add-backend",
	  OPTS_VIP | OPTS_WEIGHT | OPTS_CHECK },
	{ "del-backend", NULL, cmd_vip_backend, "backend-del", 0 },
	{ "vip", "add", cmd_vip_opts, "vip-add", OPTS_VIP | OPTS_CHECK },
	{ "vip", "set", cmd_vip_opts, "vip-set", OPTS_CHECK | OPTS_ON_DOWN },
	{ "vip", "del", cmd_vip_one, "vip-del", 0 },
	{ "vip", "list", cmd_list, "vip-list", false },
	{ "vip", "show", cmd_vip_one, "vip-show", 0 },
	{ "vip", "help", cmd_help, "vip", 0 },
	{ "backend", "add", cmd_backend_opts, "backend-add",
	  OPTS_WEIGHT | OPTS_CHECK },
	{ "backend", "del", cmd_vip_backend, "backend-del", 0 },
	{ "backend", "drain", cmd_vip_backend, "backend-drain", 0 },
	{ "backend", "undrain", cmd_vip_backend, "backend-undrain", 0 },
	{ "backend", "weight", cmd_vip_backend, "backend-weight", 1 },
	{ "backend", "check", cmd_backend_opts, "backend-check",
	  OPTS_CHECK | OPTS_INHERIT },
	{ "backend", "help", cmd_help, "backend", 0 },
	{ "list", NULL, cmd_list, "list", true },
	{ "stats", NULL, cmd_stats, "stats", 0 },
	{ "status", NULL, cmd_status, "status", 0 },
	{ "explain", NULL, cmd_explain, "explain", 0 },
	{ "health", NULL, cmd_health, "health", 0 },
	{ "node", "drain", cmd_node, "node-drain", 0 },
	{ "node", "undrain", cmd_node, "node-undrain", 0 },
	{ "node", "help", cmd_help, "node", 0 },
	{ "compare", NULL, cmd_compare, NULL, 0 },
	{ "export", NULL, cmd_export, "export", 0 },
	{ "apply", NULL, cmd_apply, "apply", 0 },
	{ "help", NULL, cmd_help, NULL, 0 },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

/* The objects (first words), in the order of the table; NULL-ended. */
static void objects(const char **names)
{
	size_t n = 0;

	for (size_t i = 0; i < NCMDS; i++)
		if (!n || strcmp(names[n - 1], cmds[i].object))
			names[n++] = cmds[i].object;
	names[n] = NULL;
}

/* The verbs of object, in the order of the table; NULL-ended. */
static size_t verbs(const char *object, const char **names)
{
	size_t n = 0;

	for (size_t i = 0; i < NCMDS; i++)
		if (cmds[i].verb && !strcmp(cmds[i].object, object))
			names[n++] = cmds[i].verb;
	names[n] = NULL;
	return n;
}

static const struct lbctl_cmd *find(const char *object, const char *verb)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (!strcmp(cmds[i].object, object) &&
		    (verb ? cmds[i].verb && !strcmp(cmds[i].verb, verb) :
			    !cmds[i].verb))
			return &cmds[i];
	return NULL;
}

/* help [COMMAND], OBJECT help */
static int cmd_help(struct args *a, const struct lbctl_cmd *c)
{
	const char *names[NCMDS + 1], *cmd;

	if (c->req) {
		usage_of(stdout, c->req);
		return 0;
	}
	if (a->argc) {
		objects(names);
		cmd = pick(a->argv[0], names, "command");
		if (!cmd)
			return 2;
		usage_of(stdout, cmd);
		return 0;
	}
	usage(stdout);
	return 0;
}

/* OBJECT [VERB] ARGS: the row they name, run. */
static int run(const char *object, struct args *a)
{
	const char *names[NCMDS + 1], *verb;
	const struct lbctl_cmd *c;
	char what[128] = "";

	if (!verbs(object, names)) {
		/* a word that names no command of its own (delete) asks
		 * for help, as "help" does */
		c = find(object, NULL);
		if (!c)
			c = find("help", NULL);
		return c->handler(a, c);
	}
	if (!a->argc && !strcmp(object, "vip")) {
		verb = "list"; /* vip alone lists them */
	} else {
		snprintf(what, sizeof(what), "%s command (", object);
		for (size_t i = 0; names[i]; i++) {
			size_t l = strlen(what);

			if (strcmp(names[i], "help"))
				snprintf(what + l, sizeof(what) - l, "%s%s",
					 i ? ", " : "", names[i]);
		}
		strncat(what, ")", sizeof(what) - strlen(what) - 1);
		if (need(a, 1, what))
			return 2;
		verb = a->argv[0];
	}
	snprintf(what, sizeof(what), "%s command", object);
	verb = pick(verb, names, what);
	if (!verb)
		return 2;
	if (a->argc) {
		a->argc--;
		a->argv++;
	}
	c = find(object, verb);
	return c ? c->handler(a, c) : 2;
}

int main(int argc, char **argv)
{
	const char *names[NCMDS + 1], *cmd;
	struct args a;
	int i = 1;

	/* lbd closing a connection is an error to report, not a death */
	signal(SIGPIPE, SIG_IGN);
	if (getenv("LBCTL_SOCKET"))
		lbctl_socket = getenv("LBCTL_SOCKET");
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			lbctl_json = true;
		} else if (!strcmp(argv[i], "-S") || !strcmp(argv[i], "-s") ||
			   !strcmp(argv[i], "--socket")) {
			/* -S as lbd spells it; -s is the old spelling */
			if (!strcmp(argv[i], "-s"))
				fprintf(stderr,
					"lbctl: warning: -s is deprecated and "
					"will be removed; use -S (or --socket), "
					"as lbd does\n");
			if (++i >= argc)
				return fail(2, "missing value of %s",
					    argv[i - 1]);
			lbctl_socket = argv[i];
		} else if (!strcmp(argv[i], "-h") ||
			   !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			fail(2, "unknown option '%s'", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	objects(names);
	cmd = pick(argv[i], names, "command");
	if (!cmd) {
		fprintf(stderr, "Try 'lbctl help'.\n");
		return 2;
	}
	/* --dry-run anywhere after the command: for every change */
	a.argc = 0;
	a.argv = argv + i + 1;
	for (int k = i + 1; k < argc; k++) {
		if (!strcmp(argv[k], "--dry-run"))
			lbctl_dry_run = true;
		else
			a.argv[a.argc++] = argv[k];
	}
	return run(cmd, &a);
}
