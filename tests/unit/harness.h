/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * harness.h - the tiny test harness of tests/unit and tests/bpf.  Each case
 * prints "PASS name" or "FAIL name: why"; tests/run.sh counts the lines.
 * A program exits 1 if any case failed, 77 if it skipped itself.
 */
#ifndef LB_TEST_HARNESS_H
#define LB_TEST_HARNESS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int t_passed, t_failed;

static inline void t_pass(const char *name)
{
	printf("PASS %s\n", name);
	fflush(stdout);
	t_passed++;
}

__attribute__((format(printf, 2, 3))) static inline void
t_fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	t_failed++;
}

/* Record one case from a condition; returns the condition. */
#define T_CHECK(name, cond, ...)                   \
	({                                         \
		int __ok = !!(cond);               \
		if (__ok)                          \
			t_pass(name);              \
		else                               \
			t_fail(name, __VA_ARGS__); \
		__ok;                              \
	})

__attribute__((format(printf, 1, 2))) static inline void
t_skip_all(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(77);
}

static inline int t_exit(void)
{
	return t_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* LB_TEST_HARNESS_H */
