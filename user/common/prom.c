// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* prom.c - Prometheus text exposition writer, and the process metrics
 * (prom_server.c is the HTTP server that hands them out). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "prom.h"

/* ---------------------------------------------------------------- writer */

void prom_init(struct prom *p)
{
	memset(p, 0, sizeof(*p));
}

void prom_free(struct prom *p)
{
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

static bool reserve(struct prom *p, size_t more)
{
	size_t cap;
	char *nb;

	if (p->oom)
		return false;
	if (p->len + more + 1 <= p->cap)
		return true;
	cap = p->cap ? p->cap : 4096;
	while (cap < p->len + more + 1)
		cap *= 2;
	nb = realloc(p->buf, cap);
	if (!nb) {
		p->oom = true;
		return false;
	}
	p->buf = nb;
	p->cap = cap;
	return true;
}

static void put(struct prom *p, const char *s, size_t n)
{
	if (!reserve(p, n))
		return;
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = 0;
}

static void puts_(struct prom *p, const char *s)
{
	put(p, s, strlen(s));
}

static void printf_(struct prom *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void printf_(struct prom *p, const char *fmt, ...)
{
	char small[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		put(p, small, (size_t)n);
		return;
	}
	if (!reserve(p, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(p->buf + p->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	p->len += (size_t)n;
}

void prom_head(struct prom *p, const char *name, const char *type,
	       const char *help)
{
	printf_(p, "# HELP %s ", name);
	/* HELP escapes only backslash and line feed */
	for (const char *c = help; *c; c++) {
		if (*c == '\\')
			puts_(p, "\\\\");
		else if (*c == '\n')
			puts_(p, "\\n");
		else
			put(p, c, 1);
	}
	printf_(p, "\n# TYPE %s %s\n", name, type);
}

static void sample_name(struct prom *p, const char *name,
			const struct prom_labels *l)
{
	puts_(p, name);
	if (l && l->len) {
		put(p, "{", 1);
		put(p, l->s, l->len);
		put(p, "}", 1);
	}
	put(p, " ", 1);
}

void prom_u64(struct prom *p, const char *name, const struct prom_labels *l,
	      uint64_t v)
{
	if (l && l->overflow)
		return;
	sample_name(p, name, l);
	printf_(p, "%llu\n", (unsigned long long)v);
}

static void put_double(struct prom *p, double v)
{
	if (isnan(v))
		puts_(p, "NaN");
	else if (isinf(v))
		puts_(p, v > 0 ? "+Inf" : "-Inf");
	else
		printf_(p, "%.15g", v);
}

void prom_dbl(struct prom *p, const char *name, const struct prom_labels *l,
	      double v)
{
	if (l && l->overflow)
		return;
	sample_name(p, name, l);
	put_double(p, v);
	put(p, "\n", 1);
}

void prom_labels_init(struct prom_labels *l)
{
	l->len = 0;
	l->s[0] = 0;
	l->overflow = false;
}

static void lput(struct prom_labels *l, const char *s, size_t n)
{
	if (l->overflow || l->len + n >= sizeof(l->s)) {
		l->overflow = true;
		return;
	}
	memcpy(l->s + l->len, s, n);
	l->len += n;
	l->s[l->len] = 0;
}

void prom_label(struct prom_labels *l, const char *key, const char *value)
{
	if (l->len)
		lput(l, ",", 1);
	lput(l, key, strlen(key));
	lput(l, "=\"", 2);
	for (const char *c = value; *c; c++) {
		if (*c == '\\')
			lput(l, "\\\\", 2);
		else if (*c == '"')
			lput(l, "\\\"", 2);
		else if (*c == '\n')
			lput(l, "\\n", 2);
		else
			lput(l, c, 1);
	}
	lput(l, "\"", 1);
}

size_t prom_bucket(const double *bounds, size_t n, double v)
{
	size_t i = 0;

	while (i < n && v > bounds[i])
		i++;
	return i;
}

void prom_histogram(struct prom *p, const char *name,
		    const struct prom_labels *l, const double *bounds,
		    const uint64_t *counts, size_t n, double sum)
{
	char sname[128], le[32];
	struct prom_labels bl;
	uint64_t cum = 0;

	if (l && l->overflow)
		return;
	snprintf(sname, sizeof(sname), "%s_bucket", name);
	for (size_t i = 0; i <= n; i++) {
		cum += counts[i];
		bl = l ? *l : (struct prom_labels){};
		if (i < n)
			snprintf(le, sizeof(le), "%g", bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		prom_label(&bl, "le", le);
		prom_u64(p, sname, &bl, cum);
	}
	snprintf(sname, sizeof(sname), "%s_sum", name);
	prom_dbl(p, sname, l, sum);
	snprintf(sname, sizeof(sname), "%s_count", name);
	prom_u64(p, sname, l, cum);
}

/* ---------------------------------------------------------------- process */

static double boot_time(void)
{
	char line[256];
	double bt = 0;
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %lf", &bt) == 1)
			break;
	fclose(f);
	return bt;
}

static long count_fds(int pid)
{
	char path[64];
	DIR *dir;
	struct dirent *e;
	long n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid ? pid : (int)getpid());
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	/* the directory's own descriptor, when it is ours */
	return pid && pid != getpid() ? n : n - 1;
}

int prom_proc_read(int pid, struct prom_proc *pp)
{
	unsigned long long utime, stime, start, vsize;
	long long rss;
	double tck = (double)sysconf(_SC_CLK_TCK);
	char path[64], buf[1024], *rp;
	ssize_t n = -1;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/stat");
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = (ssize_t)fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	/* the command name may hold spaces and parentheses: skip to the last
	 * ')'; then fields 3.. of proc(5) */
	rp = strrchr(buf, ')');
	if (!rp ||
	    sscanf(rp + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
		   "%*d %*d %*d %*d %*d %*d %llu %llu %lld",
		   &utime, &stime, &start, &vsize, &rss) != 5)
		return -EIO;
	pp->cpu_seconds = (double)(utime + stime) / tck;
	pp->start_time = boot_time() + (double)start / tck;
	pp->rss_bytes = (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
	pp->vsize_bytes = vsize;
	return 0;
}

void prom_process(struct prom *p, int pid)
{
	struct prom_proc pp;
	long fds = count_fds(pid);
	struct rlimit rl;

	if (prom_proc_read(pid, &pp))
		return;
	prom_head(p, "process_cpu_seconds_total", "counter",
		  "Total user and system CPU time spent in seconds.");
	prom_dbl(p, "process_cpu_seconds_total", NULL, pp.cpu_seconds);
	prom_head(p, "process_resident_memory_bytes", "gauge",
		  "Resident memory size in bytes.");
	prom_u64(p, "process_resident_memory_bytes", NULL, pp.rss_bytes);
	prom_head(p, "process_virtual_memory_bytes", "gauge",
		  "Virtual memory size in bytes.");
	prom_u64(p, "process_virtual_memory_bytes", NULL, pp.vsize_bytes);
	if (fds >= 0) {
		prom_head(p, "process_open_fds", "gauge",
			  "Number of open file descriptors.");
		prom_u64(p, "process_open_fds", NULL, (uint64_t)fds);
	}
	if (!prlimit(pid, RLIMIT_NOFILE, NULL, &rl)) {
		prom_head(p, "process_max_fds", "gauge",
			  "Maximum number of open file descriptors.");
		prom_dbl(p, "process_max_fds", NULL,
			 rl.rlim_cur == RLIM_INFINITY ? INFINITY :
							(double)rl.rlim_cur);
	}
	prom_head(p, "process_start_time_seconds", "gauge",
		  "Start time of the process since unix epoch in seconds.");
	prom_dbl(p, "process_start_time_seconds", NULL, pp.start_time);
}
