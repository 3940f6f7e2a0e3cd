/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* fsutil.h - small file system helpers the programs share. */
#ifndef LB_FSUTIL_H
#define LB_FSUTIL_H

#include <sys/types.h>

/* mkdir -p: path and every missing parent, each with mode.  0 or -errno
 * (an existing directory is fine). */
int lb_mkdir_p(const char *path, mode_t mode);

#endif /* LB_FSUTIL_H */
