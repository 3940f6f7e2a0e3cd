// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* fsutil.c - small file system helpers the programs share. */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "fsutil.h"

int lb_mkdir_p(const char *path, mode_t mode)
{
	char tmp[512];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	return 0;
}
