// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_log.c - user/common/log.c: the line format with and without a
 * process name (lb-backend's "lb-backend worker[PID]"), levels checked
 * before the arguments are formatted, long lines whole, one newline.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "log.h"

static int out_fd; /* what stderr now writes to */
static char got[8192];

/* Start a case: stderr empty. */
static void reset(void)
{
	if (ftruncate(STDERR_FILENO, 0) || lseek(STDERR_FILENO, 0, SEEK_SET))
		t_skip_all("cannot empty the captured stderr");
}

/* What the case wrote, as a string. */
static const char *output(void)
{
	ssize_t n = pread(out_fd, got, sizeof(got) - 1, 0);

	got[n > 0 ? n : 0] = 0;
	return got;
}

static int matches(const char *re, const char *s)
{
	regex_t r;
	int ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
		return 0;
	ok = !regexec(&r, s, 0, NULL, 0);
	regfree(&r);
	return ok;
}

static int evaluated;

static int count(void)
{
	return ++evaluated;
}

#define WHEN \
	"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "

int main(void)
{
	char re[256], big[3001];
	const char *s;
	FILE *f = tmpfile();

	if (!f)
		t_skip_all("no temporary file");
	out_fd = fileno(f);
	if (dup2(out_fd, STDERR_FILENO) < 0)
		t_skip_all("cannot capture stderr");

	reset();
	pr_warn("plain %d", 1);
	s = output();
	T_CHECK("log: a line without a process name",
		matches(WHEN "warn: plain 1\n$", s), "got '%s'", s);

	reset();
	lb_log_name("lb-backend", "worker");
	pr_info("named %s", "line");
	s = output();
	snprintf(re, sizeof(re),
		 WHEN "lb-backend worker\\[%d\\] info: named line\n$",
		 (int)getpid());
	T_CHECK("log: a named process's line", matches(re, s), "got '%s'", s);

	reset();
	lb_log_name("lb-backend", "master");
	pr_err("ends in a newline\n");
	s = output();
	T_CHECK("log: a message's own newline is not doubled",
		matches(WHEN
			"lb-backend master\\[[0-9]+\\] error: ends in a newline\n$",
			s),
		"got '%s'", s);

	reset();
	lb_log_level = LB_LOG_WARN;
	pr_info("%d", count());
	pr_debug("%d", count());
	pr_warn("warned %d", count());
	s = output();
	T_CHECK("log: levels below the set one are neither formatted nor written",
		evaluated == 1 && matches(" warn: warned 1\n$", s) &&
			!strstr(s, "info"),
		"arguments evaluated %d time(s), got '%s'", evaluated, s);
	lb_log_level = LB_LOG_INFO;

	reset();
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	pr_info("%s.", big);
	s = output();
	T_CHECK("log: a line longer than the stack buffer is written whole",
		strstr(s, " info: x") &&
			strlen(strstr(s, " info: ")) == 7 + 3000 + 2 &&
			!strcmp(s + strlen(s) - 3, "x.\n"),
		"got %zu bytes", strlen(s));
	return t_exit();
}
