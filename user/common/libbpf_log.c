// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* libbpf_log.c - libbpf's messages through lb_log (the libbpf side of
 * log.h; log.c itself needs no libbpf). */
#include <stdarg.h>
#include <bpf/libbpf.h>

#include "log.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	/* libbpf's warnings are our info, its info our debug */
	lb_vlog(level == LIBBPF_WARN ? LB_LOG_INFO : LB_LOG_DEBUG, fmt, ap);
	return 0;
}

void lb_log_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
