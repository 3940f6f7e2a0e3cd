/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* cli.h - what the programs' command lines share. */
#ifndef LB_CLI_H
#define LB_CLI_H

#include <stdio.h>

/*
 * The last case of a getopt_long() switch: -h (--help) prints the usage to
 * stdout, for exit status 0; any other option is wrong, its usage goes to
 * stderr, for exit status 2.
 */
static inline int lb_opt_help(int opt, void (*usage)(FILE *f))
{
	usage(opt == 'h' ? stdout : stderr);
	return opt == 'h' ? 0 : 2;
}

#endif /* LB_CLI_H */
