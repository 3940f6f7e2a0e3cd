/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * log.h - timestamped logging to stderr for lb-backend.  Every line carries
 * the time, the role ("master" or "worker") and the pid, so the interleaved
 * output of a pre-forked server stays readable.
 */
#ifndef LB_BACKEND_LOG_H
#define LB_BACKEND_LOG_H

enum blog_level { BLOG_ERR, BLOG_WARN, BLOG_INFO, BLOG_DEBUG };

extern int blog_level;
extern const char *blog_role;

__attribute__((format(printf, 2, 3))) void blog(int level, const char *fmt,
						...);

#define pr_err(...) blog(BLOG_ERR, __VA_ARGS__)
#define pr_warn(...) blog(BLOG_WARN, __VA_ARGS__)
#define pr_info(...) blog(BLOG_INFO, __VA_ARGS__)
#define pr_debug(...)                                  \
	do {                                           \
		if (blog_level >= BLOG_DEBUG)          \
			blog(BLOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif /* LB_BACKEND_LOG_H */
