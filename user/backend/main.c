// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * lb-backend - the pre-forked, multi-core HTTP server of a backend host,
 * with one response cache shared by all of its workers.  See master.c for
 * the process model and cache.h for the cache.
 */
#include <stdlib.h>

#include "backend.h"
#include "log.h"

int main(int argc, char **argv)
{
	static struct config cfg;

	lb_log_name("lb-backend", "master");
	if (config_parse(argc, argv, &cfg))
		return 2;
	if (cfg.verbose)
		lb_log_level = LB_LOG_DEBUG;
	return master_run(&cfg, argc, argv);
}
