/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * prom.h - metrics in the Prometheus text exposition format (version
 * 0.0.4), and a small HTTP server that hands them out from an event loop.
 *
 * Writer: a family starts with prom_head() (its HELP and TYPE lines), then
 * its samples follow, all together: the format forbids interleaving two
 * families.  Label values are escaped here; names are the caller's and must
 * match [a-zA-Z_:][a-zA-Z0-9_:]*.
 *
 * Server: owns its own epoll descriptor, so that any loop (epoll or poll)
 * serves it by watching one descriptor and calling prom_server_run() when
 * it is readable, and prom_server_expire() about once a second.  Every
 * socket is non-blocking; requests are bounded in size, clients in number,
 * and a client that is slow to ask or to read is dropped at a deadline.
 */
#ifndef LB_PROM_H
#define LB_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* ---------------------------------------------------------------- writer */

struct prom {
	char *buf;
	size_t len, cap;
	bool oom; /* an allocation failed: buf is incomplete */
};

/* A label set under construction: k="v",k2="v2" (no braces). */
#define PROM_LABELS_MAX 512
struct prom_labels {
	char s[PROM_LABELS_MAX];
	size_t len;
	bool overflow; /* did not fit: the sample is left out */
};

void prom_init(struct prom *p);
void prom_free(struct prom *p);

/* HELP and TYPE lines; type is "counter", "gauge", "histogram"... */
void prom_head(struct prom *p, const char *name, const char *type,
	       const char *help);

/* One sample: name{labels} value.  labels may be NULL or empty. */
void prom_u64(struct prom *p, const char *name, const struct prom_labels *l,
	      uint64_t v);
void prom_dbl(struct prom *p, const char *name, const struct prom_labels *l,
	      double v);

void prom_labels_init(struct prom_labels *l);
/* Append key="value", the value escaped (\\, \" and \n). */
void prom_label(struct prom_labels *l, const char *key, const char *value);

/*
 * The samples of one histogram: name_bucket{labels,le="B"} (cumulative),
 * le="+Inf", name_sum and name_count.  counts[i] holds the observations
 * in (bounds[i-1], bounds[i]]; counts[n] those above bounds[n-1].
 */
void prom_histogram(struct prom *p, const char *name,
		    const struct prom_labels *l, const double *bounds,
		    const uint64_t *counts, size_t n, double sum);
/* Index of the bucket an observation falls in (0..n). */
size_t prom_bucket(const double *bounds, size_t n, double v);

/*
 * The process_* metrics of process pid (0: the caller), as Prometheus' own
 * client libraries name them: CPU seconds, resident and virtual memory,
 * open and maximum descriptors, start time.  From /proc/PID.
 */
void prom_process(struct prom *p, int pid);

/* CPU, memory and start time of a process (pid 0: the caller), from
 * /proc/PID/stat.  0 or -errno. */
struct prom_proc {
	double cpu_seconds; /* user + system */
	double start_time; /* seconds since the epoch */
	uint64_t rss_bytes, vsize_bytes;
};
int prom_proc_read(int pid, struct prom_proc *pp);

/* ---------------------------------------------------------------- server */

#define PROM_MAX_CLIENTS 16
#define PROM_MAX_REQUEST 8192 /* bytes of request head */
#define PROM_REQUEST_TIMEOUT_MS 5000 /* the whole head must arrive within */
#define PROM_RESPONSE_TIMEOUT_MS 30000 /* and the answer be read within */

/* Writes the metrics into p; called for every GET /metrics. */
typedef void (*prom_render_fn)(void *ctx, struct prom *p);

struct prom_client;

struct prom_server {
	int fd; /* listening socket, -1 when closed */
	int epfd; /* the server's own epoll set */
	prom_render_fn render;
	void *ctx;
	struct prom_client *clients; /* PROM_MAX_CLIENTS slots */
	uint64_t scrapes; /* /metrics answered */
	uint64_t rejected; /* connections refused: every slot taken */
	uint64_t timeouts; /* clients dropped at their deadline */
	char addr[64]; /* where it listens: ADDR:PORT or [V6]:PORT */
};

/*
 * "PORT", ":PORT", "ADDR:PORT" or "[V6ADDR]:PORT" into a socket address;
 * a bare port means the loopback address 127.0.0.1.  0, or -EINVAL with a
 * one-line message in err.
 */
int prom_parse_listen(const char *s, struct sockaddr_storage *sa,
		      socklen_t *salen, char *err, size_t errlen);

/* Listen on spec and get ready to serve.  0, or -errno with a message. */
int prom_server_open(struct prom_server *s, const char *spec,
		     prom_render_fn render, void *ctx, char *err,
		     size_t errlen);
/* The descriptor to watch for readability (-1 if not open). */
int prom_server_fd(const struct prom_server *s);
/* Accept, read, answer: whatever can be done now without waiting. */
void prom_server_run(struct prom_server *s);
/* Drop clients past their deadline. */
void prom_server_expire(struct prom_server *s);
void prom_server_close(struct prom_server *s);

#endif /* LB_PROM_H */
