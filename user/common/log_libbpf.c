// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* log_libbpf.c - libbpf's messages through lb_log; apart from log.c, so
 * that programs without libbpf (lb-backend) use the log alone. */
#include <stdarg.h>
#include <bpf/libbpf.h>

#include "log.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	/* libbpf's warnings are our info, its info our debug */
	enum lb_log_level l = level == LIBBPF_WARN ? LB_LOG_INFO : LB_LOG_DEBUG;

	if (l > lb_log_level)
		return 0;
	lb_vlog(l, fmt, ap);
	return 0;
}

void lb_log_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
