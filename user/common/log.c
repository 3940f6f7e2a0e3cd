// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* log.c - timestamped leveled logging. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

enum lb_log_level lb_log_level = LB_LOG_INFO;
static bool use_syslog;
static FILE *log_file; /* NULL: stderr */
static bool echo_warnings; /* warnings also to stderr */
static const char *log_prog, *log_role; /* NULL: lines name no process */

void lb_log_name(const char *prog, const char *role)
{
	log_prog = prog;
	log_role = role;
}

/* All of line to fd, or as much as fd takes: there is nowhere to report
 * that logging failed. */
static void emit(int fd, const char *line, size_t len)
{
	for (ssize_t k; len; line += k, len -= k) {
		k = write(fd, line, len);
		if (k < 0 && errno == EINTR)
			k = 0;
		else if (k <= 0)
			return;
	}
}

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

/* Format the whole line, then hand it over in one write: the lines of
 * processes sharing one stderr never interleave. */
void lb_vlog(enum lb_log_level level, const char *fmt, va_list ap)
{
	static const char *tag[] = { "error", "warn", "info", "debug" };
	char stack[1024], *line = stack, when[32];
	struct timespec ts;
	struct tm tm;
	va_list aq;
	int n, m;

	if (level > lb_log_level)
		return;
	if (use_syslog) {
		static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO,
					    LOG_DEBUG };

		vsyslog(prio[level], fmt, ap);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	if (log_prog)
		n = snprintf(stack, sizeof(stack),
			     "%s.%03ldZ %s %s[%d] %s: ", when,
			     ts.tv_nsec / 1000000, log_prog, log_role,
			     (int)getpid(), tag[level]);
	else
		n = snprintf(stack, sizeof(stack), "%s.%03ldZ %s: ", when,
			     ts.tv_nsec / 1000000, tag[level]);
	va_copy(aq, ap);
	m = vsnprintf(stack + n, sizeof(stack) - n, fmt, aq);
	va_end(aq);
	if (m < 0)
		m = 0;
	if ((size_t)n + m + 2 > sizeof(stack)) {
		/* a long line: whole from the heap, cut short without it */
		line = malloc(n + m + 2);
		if (line) {
			memcpy(line, stack, n);
			vsnprintf(line + n, m + 1, fmt, ap);
		} else {
			line = stack;
			m = sizeof(stack) - n - 2;
		}
	}
	n += m;
	if (!n || line[n - 1] != '\n')
		line[n++] = '\n';
	emit(log_file ? fileno(log_file) : STDERR_FILENO, line, n);
	if (log_file && echo_warnings && level <= LB_LOG_WARN)
		emit(STDERR_FILENO, line, n);
	if (line != stack)
		free(line);
}

void lb_log(enum lb_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > lb_log_level)
		return;
	va_start(ap, fmt);
	lb_vlog(level, fmt, ap);
	va_end(ap);
}
