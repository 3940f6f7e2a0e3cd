// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* log.c - timestamped leveled logging. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

enum lb_log_level lb_log_level = LB_LOG_INFO;
static bool use_syslog;
static FILE *log_file; /* NULL: stderr */
static bool echo_warnings; /* warnings also to stderr */

int lb_log_open(const char *path, bool echo_warn)
{
	FILE *f = fopen(path, "ae");

	if (!f)
		return -1;
	setvbuf(f, NULL, _IOLBF, 0);
	if (log_file)
		fclose(log_file);
	log_file = f;
	echo_warnings = echo_warn;
	return fileno(f);
}

void lb_log_echo_warnings(bool on)
{
	echo_warnings = on;
}

void lb_log_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	use_syslog = true;
}

static void vlog(enum lb_log_level level, const char *fmt, va_list ap)
{
	static const char *tag[] = { "error", "warn", "info", "debug" };
	struct timespec ts;
	struct tm tm;
	char when[32];
	size_t n;

	if (use_syslog) {
		static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO,
					    LOG_DEBUG };

		vsyslog(prio[level], fmt, ap);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	n = strlen(fmt);
	for (int i = 0; i < 2; i++) {
		FILE *f = i == 0 ? (log_file ? log_file : stderr) : stderr;
		va_list aq;

		if (i == 1 &&
		    !(log_file && echo_warnings && level <= LB_LOG_WARN))
			break;
		va_copy(aq, ap);
		fprintf(f, "%s.%03ldZ %s: ", when, ts.tv_nsec / 1000000,
			tag[level]);
		vfprintf(f, fmt, aq);
		va_end(aq);
		if (!n || fmt[n - 1] != '\n')
			fputc('\n', f);
	}
}

void lb_log(enum lb_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > lb_log_level)
		return;
	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

void lb_vlog(enum lb_log_level level, const char *fmt, va_list ap)
{
	if (level > lb_log_level)
		return;
	vlog(level, fmt, ap);
}
