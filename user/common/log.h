/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* log.h - leveled logging with timestamps to stderr. */
#ifndef LB_LOG_H
#define LB_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum lb_log_level {
	LB_LOG_ERR = 0, /* lbd cannot go on: it stops or refuses to start */
	LB_LOG_WARN,
	LB_LOG_INFO,
	LB_LOG_DEBUG,
};

extern enum lb_log_level lb_log_level;

__attribute__((format(printf, 2, 3))) void lb_log(enum lb_log_level level,
						  const char *fmt, ...);
/* lb_log with a va_list (libbpf's print hook, wrappers); the level is checked. */
__attribute__((format(printf, 2, 0))) void lb_vlog(enum lb_log_level level,
						   const char *fmt, va_list ap);

#define pr_err(...) lb_log(LB_LOG_ERR, __VA_ARGS__)
#define pr_warn(...) lb_log(LB_LOG_WARN, __VA_ARGS__)
#define pr_info(...)                                      \
	do {                                              \
		if (lb_log_level >= LB_LOG_INFO)          \
			lb_log(LB_LOG_INFO, __VA_ARGS__); \
	} while (0)
#define pr_debug(...)                                      \
	do {                                               \
		if (lb_log_level >= LB_LOG_DEBUG)          \
			lb_log(LB_LOG_DEBUG, __VA_ARGS__); \
	} while (0)

/* Name the process in every line, as "PROG ROLE[PID]" after the time: the
 * processes of a pre-forked server share one stderr.  role may change (a
 * forked worker); both must outlive their use.  A NULL prog names none. */
void lb_log_name(const char *prog, const char *role);

/* Log to the file at path (appending) instead of stderr; with echo_warn,
 * errors and warnings go to stderr as well.  Returns the file's descriptor or -1. */
int lb_log_open(const char *path, bool echo_warn);
void lb_log_echo_warnings(bool on);

/* From now on log to syslog (a daemon without a log file). */
void lb_log_syslog(const char *ident);

/* Route libbpf's messages through lb_log, one level down.  The one
 * libbpf-facing function here: it lives in libbpf_log.c, in libcommon
 * but not in the libbpf-free libcore. */
void lb_log_libbpf(void);

#endif /* LB_LOG_H */
