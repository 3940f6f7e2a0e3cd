// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * lbctl - the command-line client of lbd.
 *
 *   lbctl [-j] [-S SOCKET] add-backend VIP BACKEND [--weight N]
 *   lbctl [-j] [-S SOCKET] OBJECT COMMAND ARGS      (like ip and bpftool)
 *
 * Input is checked here first, so a typo is reported even when lbd is not
 * running; lbd checks everything again and is the authority.  With -j every
 * answer, errors included, is one JSON object on stdout.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"
#include "json.h"
#include "lb_abi.h"

#define LBCTL_DEFAULT_SOCKET "/run/xdp-lb/lbd.sock"
#define LBCTL_TIMEOUT_S 10

static bool json_out;
static const char *sock_path = LBCTL_DEFAULT_SOCKET;

/* ---------------------------------------------------------------- errors */

static int fail(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print a one-line error (JSON with -j) and return the exit code. */
static int fail(int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json_out) {
		struct jw w;

		/* the shape of lbd's own errors, so -j users parse one */
		jw_init(&w, false);
		jw_obj_begin(&w);
		jw_kbool(&w, "ok", false);
		jw_kstr(&w, "error", msg);
		jw_obj_end(&w);
		printf("%s\n", w.buf ? w.buf : "{}");
		jw_free(&w);
	} else {
		fprintf(stderr, "lbctl: %s\n", msg);
	}
	return code;
}

/*
 * Usage, one entry per command: `lbctl help` prints them all, `lbctl help
 * COMMAND` and `lbctl OBJECT help` only the command's own, with the notes
 * on the arguments it takes.
 */
enum {
	NOTE_VIP = 1, /* takes a VIP */
	NOTE_BACKEND = 2, /* takes a backend address */
	NOTE_CHECK = 4, /* takes CHECK OPTIONS */
	NOTE_VIPOPT = 8, /* takes VIP OPTIONS */
};

static const struct help {
	const char *cmd;
	const char *text;
	int notes;
} helps[] = {
	{ "add-backend",
	  "  add-backend VIP BACKEND [--weight N] [VIP OPTIONS] [CHECK OPTIONS]\n"
	  "                          add a backend, creating the VIP if needed\n",
	  NOTE_VIP | NOTE_BACKEND | NOTE_CHECK | NOTE_VIPOPT },
	{ "del-backend", "  del-backend VIP BACKEND\n",
	  NOTE_VIP | NOTE_BACKEND },
	{ "vip",
	  "  vip add VIP [VIP OPTIONS] [CHECK OPTIONS]\n"
	  "  vip set VIP [--on-down keep|rehash] [CHECK OPTIONS]\n"
	  "                                change the VIP's health check or what\n"
	  "                                its flows do when their backend fails\n"
	  "                                its check\n"
	  "  vip del VIP\n"
	  "  vip list\n"
	  "  vip show VIP\n",
	  NOTE_VIP | NOTE_CHECK | NOTE_VIPOPT },
	{ "backend",
	  "  backend add VIP BACKEND [--weight N] [CHECK OPTIONS]\n"
	  "  backend check VIP BACKEND (CHECK OPTIONS | --inherit)\n"
	  "  backend del VIP BACKEND\n"
	  "  backend drain VIP BACKEND     keep its connections, send no new ones\n"
	  "  backend undrain VIP BACKEND\n"
	  "  backend weight VIP BACKEND N\n",
	  NOTE_VIP | NOTE_BACKEND | NOTE_CHECK },
	{ "list", "  list                          every VIP and backend\n",
	  0 },
	{ "stats",
	  "  stats [--watch]               counters, drop reasons, rates\n",
	  0 },
	{ "status",
	  "  status                        the daemon and the datapath\n", 0 },
	{ "explain",
	  "  explain SRC:PORT DST:PORT PROTO   where would this flow go?\n",
	  0 },
	{ "health",
	  "  health [VIP]                  health checks of every backend\n",
	  NOTE_VIP },
	{ "help", "  help [COMMAND]                this text, or COMMAND's\n",
	  0 },
};

static void usage_notes(FILE *f, int notes)
{
	if (notes & NOTE_VIPOPT)
		fprintf(f,
			"\n  VIP OPTIONS: [--mode dsr|ipip] [--hash 5tuple|src]\n"
			"      [--table-size PRIME] [--on-down keep|rehash]\n"
			"      --on-down: established flows of a backend that fails\n"
			"      its check stay on it (keep, default for tcp) or are\n"
			"      hashed again (rehash, default for udp).\n");
	if (notes & NOTE_CHECK)
		fprintf(f,
			"\n  CHECK OPTIONS: --check none|tcp[:PORT]|http[:PORT][/PATH]\n"
			"      [--check-interval 1s] [--check-timeout 500ms] [--rise 2]\n"
			"      [--fall 2] [--slowstart 0s] [--check-expect 2xx,3xx]\n"
			"      [--check-host NAME]; the port defaults to the VIP's, the\n"
			"      timeout to 500ms or the interval if that is shorter.\n");
	if (notes & (NOTE_VIP | NOTE_BACKEND))
		fprintf(f, "\n");
	if (notes & NOTE_VIP)
		fprintf(f,
			"  VIP is ADDR:PORT/PROTO, [V6ADDR]:PORT/PROTO, or ADDR/PROTO for all\n"
			"  ports; PROTO is tcp or udp.\n");
	if (notes & NOTE_BACKEND)
		fprintf(f, "  BACKEND is an address.  Weights are 0..10000.\n");
}

static void usage_tail(FILE *f)
{
	fprintf(f,
		"\n  -j, --json           print JSON (errors too)\n"
		"  -S, --socket PATH    lbd's socket (default %s,\n"
		"                       or $LBCTL_SOCKET)\n"
		"  -h, --help\n",
		LBCTL_DEFAULT_SOCKET);
}

static void usage(FILE *f)
{
	int notes = 0;

	fprintf(f, "usage: lbctl [-j] [-S SOCKET] COMMAND [ARGS]\n\n");
	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++) {
		fputs(helps[i].text, f);
		notes |= helps[i].notes;
	}
	usage_notes(f, notes);
	usage_tail(f);
}

/* The usage of one command (a name from the command table). */
static void usage_of(FILE *f, const char *cmd)
{
	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++) {
		if (strcmp(helps[i].cmd, cmd))
			continue;
		fprintf(f, "usage: lbctl [-j] [-S SOCKET] %s ...\n\n", cmd);
		fputs(helps[i].text, f);
		usage_notes(f, helps[i].notes);
		return;
	}
	usage(f);
}

/* ---------------------------------------------------------------- talking */

/*
 * lbd writes "<socket>.starting" with its pid while it starts (loading the
 * datapath and a large state can take a while) and removes it once it
 * listens.  Returns that pid if that lbd is alive, else 0.
 */
static long lbd_starting_pid(void)
{
	char path[PATH_MAX];
	long pid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s.starting", sock_path);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1 || pid <= 0)
		pid = 0;
	fclose(f);
	if (pid && kill((pid_t)pid, 0) && errno == ESRCH)
		pid = 0;
	return pid;
}

static int lbd_connect(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa))) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* Connect to lbd, or print why not (and return -1). */
static int connect_lbd(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long pid;
	int fd;

	if (strlen(sock_path) >= sizeof(sa.sun_path)) {
		fail(1, "socket path too long: %s", sock_path);
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	fd = lbd_connect(&sa);
	if (fd == -ENOENT || fd == -ECONNREFUSED) {
		pid = lbd_starting_pid();
		if (pid) {
			fail(1,
			     "lbd is starting (pid %ld) and answers on %s once "
			     "it is ready; try again shortly",
			     pid, sock_path);
			return -1;
		}
		/* it may have become ready since the first try */
		fd = lbd_connect(&sa);
	}
	if (fd >= 0)
		return fd;
	if (fd == -EACCES || fd == -EPERM)
		fail(1, "permission denied on %s: lbctl must run as root",
		     sock_path);
	else if (fd == -ENOENT || fd == -ECONNREFUSED)
		fail(1,
		     "lbd is not running (no answer on %s); start it "
		     "with: lbd --iface IFACE",
		     sock_path);
	else
		fail(1, "cannot reach lbd on %s: %s", sock_path, strerror(-fd));
	return -1;
}

/* Send all of buf; 0 or a negative errno (EPIPE: lbd closed first). */
static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Send one request, return the parsed answer or NULL after printing why. */
static struct jv *call(struct jw *req, int *code)
{
	char *buf = NULL, perr[128];
	size_t len = 0, cap = 0;
	struct jv *ans;
	int fd, serr;

	*code = 1;
	fd = connect_lbd();
	if (fd < 0)
		return NULL;
	/* a wedged lbd must not wedge its operator */
	struct timeval tv = { .tv_sec = LBCTL_TIMEOUT_S };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	serr = send_all(fd, req->buf, req->len);
	if (!serr)
		serr = send_all(fd, "\n", 1);
	/* lbd may have closed the connection having said why (busy, request
	 * too large): its answer, if any, is read below all the same */
	for (;;) {
		ssize_t n;

		if (len + 4096 > cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 65536);

			if (!nb) {
				free(buf);
				close(fd);
				fail(1, "out of memory");
				return NULL;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			free(buf);
			close(fd);
			fail(1, "lbd did not answer within %d s",
			     LBCTL_TIMEOUT_S);
			return NULL;
		}
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (serr && !len) {
		free(buf);
		fail(1,
		     "lbd closed the connection before taking the request "
		     "(%s); it may be busy: try again",
		     strerror(-serr));
		return NULL;
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (!len) {
		free(buf);
		fail(1, "lbd closed the connection without an answer");
		return NULL;
	}
	ans = jv_parse(buf, len, perr, sizeof(perr));
	if (!ans) {
		free(buf);
		fail(1, "malformed answer from lbd: %s", perr);
		return NULL;
	}
	if (json_out) {
		const struct jv *ok = jv_get(ans, "ok");

		if (ok && ok->type == JV_BOOL && ok->b)
			printf("%.*s\n", (int)len, buf);
	}
	free(buf);
	{
		const struct jv *ok = jv_get(ans, "ok");

		if (!ok || ok->type != JV_BOOL || !ok->b) {
			const char *e = jv_get_str(ans, "error");

			fail(1, "%s", e ? e : "lbd refused the request");
			jv_free(ans);
			return NULL;
		}
	}
	*code = 0;
	return ans;
}

/* ---------------------------------------------------------------- tables */

#define MAX_COLS 12

struct table {
	int ncols;
	size_t nrows;
	char ***cells;
	size_t width[MAX_COLS];
};

static void t_row(struct table *t, ...)
{
	va_list ap;
	char **row = calloc(t->ncols, sizeof(char *));

	t->cells = realloc(t->cells, (t->nrows + 1) * sizeof(*t->cells));
	if (!row || !t->cells)
		exit(1);
	va_start(ap, t);
	for (int i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);

		row[i] = strdup(s ? s : "");
		if (strlen(row[i]) > t->width[i])
			t->width[i] = strlen(row[i]);
	}
	va_end(ap);
	t->cells[t->nrows++] = row;
}

static void t_print(struct table *t, const char *indent)
{
	for (size_t r = 0; r < t->nrows; r++) {
		printf("%s", indent);
		for (int c = 0; c < t->ncols; c++) {
			if (c == t->ncols - 1)
				printf("%s", t->cells[r][c]);
			else
				printf("%-*s  ", (int)t->width[c],
				       t->cells[r][c]);
			free(t->cells[r][c]);
		}
		printf("\n");
		free(t->cells[r]);
	}
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

static const char *num(const struct jv *o, const char *key, char *buf,
		       size_t len)
{
	const struct jv *v = jv_get(o, key);

	if (!v || v->type != JV_NUM)
		snprintf(buf, len, "-");
	else if (v->is_uint)
		snprintf(buf, len, "%llu", (unsigned long long)v->u);
	else
		snprintf(buf, len, "%.1f", v->d);
	return buf;
}

static const char *human_rate(double v, const char *unit, char *buf, size_t len)
{
	if (v >= 1e9)
		snprintf(buf, len, "%.2fG%s", v / 1e9, unit);
	else if (v >= 1e6)
		snprintf(buf, len, "%.2fM%s", v / 1e6, unit);
	else if (v >= 1e3)
		snprintf(buf, len, "%.1fk%s", v / 1e3, unit);
	else
		snprintf(buf, len, "%.0f%s", v, unit);
	return buf;
}

static double dnum(const struct jv *o, const char *key)
{
	const struct jv *v = jv_get(o, key);

	return v && v->type == JV_NUM ? v->d : 0;
}

static void print_backends(const struct jv *vip, bool stats)
{
	const struct jv *bes = jv_get(vip, "backends");
	struct table t = { .ncols = stats ? 7 : 5 };
	char w[24], p[24], b[24], pr[24], br[24];

	if (!bes || bes->type != JV_ARR || !bes->n) {
		printf("    (no backends)\n");
		return;
	}
	if (stats)
		t_row(&t, "BACKEND", "WEIGHT", "STATE", "PACKETS", "BYTES",
		      "RATE", "REASON");
	else
		t_row(&t, "BACKEND", "WEIGHT", "STATE", "MAC", "REASON");
	for (size_t i = 0; i < bes->n; i++) {
		const struct jv *be = &bes->items[i];
		char rate[64];

		if (stats) {
			human_rate(dnum(be, "pps"), "pps", pr, sizeof(pr));
			human_rate(dnum(be, "bps"), "bps", br, sizeof(br));
			snprintf(rate, sizeof(rate), "%s %s", pr, br);
			t_row(&t, jv_get_str(be, "backend"),
			      num(be, "weight", w, sizeof(w)),
			      jv_get_str(be, "state"),
			      num(be, "packets", p, sizeof(p)),
			      num(be, "bytes", b, sizeof(b)), rate,
			      jv_get_str(be, "reason"));
		} else {
			const char *mac = jv_get_str(be, "mac");

			t_row(&t, jv_get_str(be, "backend"),
			      num(be, "weight", w, sizeof(w)),
			      jv_get_str(be, "state"), mac ? mac : "-",
			      jv_get_str(be, "reason"));
		}
	}
	t_print(&t, "    ");
}

static void print_vip_line(const struct jv *v)
{
	char ts[24], n[24], up[24];

	printf("%s  mode %s  hash %s  on-down %s  table %s  backends %s/%s in "
	       "table\n",
	       jv_get_str(v, "vip"), jv_get_str(v, "mode"),
	       jv_get_str(v, "hash"), jv_get_str(v, "on_down"),
	       num(v, "table_size", ts, sizeof(ts)),
	       num(v, "backends_in_table", up, sizeof(up)),
	       num(v, "backends_total", n, sizeof(n)));
}

/* ---------------------------------------------------------------- commands */

struct args {
	int argc;
	char **argv;
};

static int need(struct args *a, int n, const char *what)
{
	if (a->argc < n) {
		fail(2, "missing %s", what);
		fprintf(stderr, "Try 'lbctl help'.\n");
		return -1;
	}
	return 0;
}

/* Check a VIP locally; prints the error. */
static int check_vip(const char *s)
{
	struct lb_vip_spec v;
	char err[LB_ERRLEN];

	if (lb_parse_vip(s, &v, err, sizeof(err)))
		return fail(1, "%s", err);
	return 0;
}

static int check_backend(const char *vip, const char *s)
{
	struct lb_vip_spec v;
	union lb_addr a;
	uint8_t fam;
	char err[LB_ERRLEN];

	if (lb_parse_addr(s, &a, &fam, err, sizeof(err)) ||
	    lb_addr_check_unicast(&a, fam, err, sizeof(err)))
		return fail(1, "backend: %s", err);
	if (!lb_parse_vip(vip, &v, NULL, 0) && v.family == fam &&
	    !memcmp(&v.addr, &a, sizeof(a)))
		return fail(1,
			    "backend %s is the address of VIP %s itself: its "
			    "traffic would come back to the balancer",
			    s, vip);
	if (!lb_parse_vip(vip, &v, NULL, 0) && v.family == LB_FAMILY_V4 &&
	    fam == LB_FAMILY_V6)
		return 0; /* allowed for ipip; lbd knows the VIP's mode */
	if (!lb_parse_vip(vip, &v, NULL, 0) && v.family == LB_FAMILY_V6 &&
	    fam == LB_FAMILY_V4)
		return fail(1,
			    "IPv4 backend %s behind IPv6 VIP %s is not "
			    "supported (IPv6-in-IPv4 encapsulation is not "
			    "implemented)",
			    s, vip);
	return 0;
}

/* A duration: "500ms", "2s", "1.5s", "1m"; a bare number is seconds. */
static int parse_duration_ms(const char *s, const char *what, uint32_t *ms)
{
	char *end;
	double v, mul = 1000;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0)
		return fail(1, "%s: '%s' is not a duration (e.g. 500ms, 2s)",
			    what, s);
	if (!strcmp(end, "ms"))
		mul = 1;
	else if (!strcmp(end, "m"))
		mul = 60000;
	else if (*end && strcmp(end, "s"))
		return fail(1, "%s: unknown unit in '%s' (ms, s or m)", what,
			    s);
	if (v * mul > 3600000)
		return fail(1, "%s: '%s' is longer than an hour", what, s);
	*ms = (uint32_t)(v * mul + 0.5);
	return 0;
}

/* The check options, gathered before they become one "check" object. */
struct cli_check {
	bool any, kind_set;
	const char *spec; /* --check as typed, shown back by lbctl health */
	char kind[8];
	char path[256];
	const char *host, *expect;
	uint32_t port;
	uint32_t interval, timeout, rise, fall, slowstart;
	bool has_interval, has_timeout, has_rise, has_fall, has_slowstart;
};

/* none | tcp[:PORT] | http[:PORT][/PATH] */
static int parse_check_spec(const char *s, struct cli_check *c)
{
	size_t klen = strcspn(s, ":/");
	const char *rest = s[klen] ? s + klen : NULL;
	char err[LB_ERRLEN];

	if (klen >= sizeof(c->kind) || ((klen != 4 || strncmp(s, "none", 4)) &&
					(klen != 3 || strncmp(s, "tcp", 3)) &&
					(klen != 4 || strncmp(s, "http", 4))))
		return fail(1,
			    "--check: unknown kind in '%s' (none, tcp[:PORT] "
			    "or http[:PORT][/PATH])",
			    s);
	memcpy(c->kind, s, klen);
	c->kind[klen] = 0;
	c->kind_set = true;
	c->spec = s;
	if (!rest)
		return 0;
	if (*rest == ':')
		rest++;
	if (!strcmp(c->kind, "none"))
		return fail(1, "--check none takes no port or path");
	if (*rest && *rest != '/') {
		char port[8];
		size_t n = strcspn(rest, "/");

		if (n >= sizeof(port))
			return fail(1, "--check: bad port in '%s'", s);
		memcpy(port, rest, n);
		port[n] = 0;
		if (lb_parse_u32(port, "check port", 1, 65535, &c->port, err,
				 sizeof(err)))
			return fail(1, "--check: %s", err);
		rest += n;
	}
	if (*rest) {
		if (strcmp(c->kind, "http"))
			return fail(1, "--check: only http checks have a path");
		if (strlen(rest) >= sizeof(c->path))
			return fail(1, "--check: path too long");
		snprintf(c->path, sizeof(c->path), "%s", rest);
	}
	return 0;
}

static void emit_check(struct jw *w, const struct cli_check *c)
{
	jw_key(w, "check");
	jw_obj_begin(w);
	jw_kstr(w, "kind", c->kind);
	jw_kstr(w, "spec", c->spec);
	if (c->port)
		jw_kuint(w, "port", c->port);
	if (c->path[0])
		jw_kstr(w, "path", c->path);
	if (c->host)
		jw_kstr(w, "host", c->host);
	if (c->expect)
		jw_kstr(w, "expect", c->expect);
	if (c->has_interval)
		jw_kuint(w, "interval_ms", c->interval);
	if (c->has_timeout)
		jw_kuint(w, "timeout_ms", c->timeout);
	if (c->has_rise)
		jw_kuint(w, "rise", c->rise);
	if (c->has_fall)
		jw_kuint(w, "fall", c->fall);
	if (c->has_slowstart)
		jw_kuint(w, "slowstart_ms", c->slowstart);
	jw_obj_end(w);
}

enum {
	OPTS_VIP = 1, /* --mode --hash --table-size --on-down */
	OPTS_WEIGHT = 2, /* --weight */
	OPTS_CHECK = 4, /* --check and its details */
	OPTS_INHERIT = 8, /* --inherit */
	OPTS_ON_DOWN = 16, /* --on-down */
};

/* Parse trailing --options of vip/backend commands into the request. */
static int parse_opts(struct args *a, int from, struct jw *w, int allowed)
{
	struct cli_check chk = {};

	for (int i = from; i < a->argc; i++) {
		const char *o = a->argv[i];
		const char *val = i + 1 < a->argc ? a->argv[i + 1] : NULL;
		bool is_check = allowed & OPTS_CHECK;
		char err[LB_ERRLEN];
		uint32_t n;
		int rc;

		if (!strcmp(o, "--inherit") && (allowed & OPTS_INHERIT)) {
			jw_kbool(w, "inherit", true);
			continue;
		}
		if (!strncmp(o, "--", 2) && !val)
			return fail(2, "missing value of %s", o);
		if (!strcmp(o, "--weight") && (allowed & OPTS_WEIGHT)) {
			if (lb_parse_u32(val, "weight", 0, 10000, &n, err,
					 sizeof(err)))
				return fail(1, "%s", err);
			jw_kuint(w, "weight", n);
		} else if (!strcmp(o, "--mode") && (allowed & OPTS_VIP)) {
			if (strcmp(val, "dsr") && strcmp(val, "ipip"))
				return fail(1,
					    "unknown mode '%s' (dsr or ipip)",
					    val);
			jw_kstr(w, "mode", val);
		} else if (!strcmp(o, "--hash") && (allowed & OPTS_VIP)) {
			if (strcmp(val, "5tuple") && strcmp(val, "src"))
				return fail(1,
					    "unknown hash '%s' (5tuple or src)",
					    val);
			jw_kstr(w, "hash", val);
		} else if (!strcmp(o, "--on-down") &&
			   (allowed & (OPTS_VIP | OPTS_ON_DOWN))) {
			if (strcmp(val, "keep") && strcmp(val, "rehash"))
				return fail(1,
					    "unknown on-down '%s' (keep or "
					    "rehash)",
					    val);
			jw_kstr(w, "on_down", val);
		} else if (!strcmp(o, "--table-size") && (allowed & OPTS_VIP)) {
			if (lb_parse_u32(val, "table size", 3,
					 LB_MAGLEV_MAX_SIZE, &n, err,
					 sizeof(err)))
				return fail(1, "%s", err);
			jw_kuint(w, "table_size", n);
		} else if (!strcmp(o, "--check") && is_check) {
			if ((rc = parse_check_spec(val, &chk)))
				return rc;
		} else if (!strcmp(o, "--check-interval") && is_check) {
			if ((rc = parse_duration_ms(val, o, &chk.interval)))
				return rc;
			chk.has_interval = chk.any = true;
		} else if (!strcmp(o, "--check-timeout") && is_check) {
			if ((rc = parse_duration_ms(val, o, &chk.timeout)))
				return rc;
			chk.has_timeout = chk.any = true;
		} else if (!strcmp(o, "--slowstart") && is_check) {
			if ((rc = parse_duration_ms(val, o, &chk.slowstart)))
				return rc;
			chk.has_slowstart = chk.any = true;
		} else if ((!strcmp(o, "--rise") || !strcmp(o, "--fall")) &&
			   is_check) {
			if (lb_parse_u32(val, o + 2, 1, 100, &n, err,
					 sizeof(err)))
				return fail(1, "%s", err);
			if (o[2] == 'r') {
				chk.rise = n;
				chk.has_rise = true;
			} else {
				chk.fall = n;
				chk.has_fall = true;
			}
			chk.any = true;
		} else if (!strcmp(o, "--check-host") && is_check) {
			chk.host = val;
			chk.any = true;
		} else if (!strcmp(o, "--check-expect") && is_check) {
			chk.expect = val;
			chk.any = true;
		} else {
			return fail(2, "unknown option or argument '%s'", o);
		}
		i++;
	}
	if (chk.any && !chk.kind_set)
		return fail(2, "check options need --check KIND "
			       "(tcp[:PORT] or http[:PORT][/PATH])");
	if (chk.kind_set)
		emit_check(w, &chk);
	return 0;
}

static int simple(struct jw *w)
{
	int code;
	struct jv *ans = call(w, &code);

	jv_free(ans);
	return code;
}

/* Check VIP and BACKEND (argv[0], argv[1]) and begin their request. */
static int vip_backend_begin(struct args *a, const char *cmd, int nargs,
			     const char *what, struct jw *w)
{
	int rc;

	if (need(a, nargs, what))
		return 2;
	if ((rc = check_vip(a->argv[0])) ||
	    (rc = check_backend(a->argv[0], a->argv[1])))
		return rc;
	jw_init(w, false);
	jw_obj_begin(w);
	jw_kstr(w, "cmd", cmd);
	jw_kstr(w, "vip", a->argv[0]);
	jw_kstr(w, "backend", a->argv[1]);
	return 0;
}

/* add-backend, backend add, backend check: a VIP, a backend, options */
static int cmd_backend_opts(struct args *a, const char *cmd, int allowed)
{
	struct jw w;
	int rc;

	if ((rc = vip_backend_begin(a, cmd, 2, "VIP and BACKEND", &w)))
		return rc;
	rc = parse_opts(a, 2, &w, allowed);
	jw_obj_end(&w);
	if (!rc)
		rc = simple(&w);
	jw_free(&w);
	return rc;
}

static int cmd_vip_backend(struct args *a, const char *cmd, int extra)
{
	struct jw w;
	uint32_t n;
	char err[LB_ERRLEN];
	int rc;

	if (a->argc > 2 + extra)
		return fail(2, "unexpected argument '%s'", a->argv[2 + extra]);
	if ((rc = vip_backend_begin(a, cmd, 2 + extra,
				    extra ? "VIP, BACKEND and WEIGHT" :
					    "VIP and BACKEND",
				    &w)))
		return rc;
	if (extra) {
		if (lb_parse_u32(a->argv[2], "weight", 0, 10000, &n, err,
				 sizeof(err))) {
			jw_free(&w);
			return fail(1, "%s", err);
		}
		jw_kuint(&w, "weight", n);
	}
	jw_obj_end(&w);
	rc = simple(&w);
	jw_free(&w);
	return rc;
}

/* vip add / vip set: a VIP and options */
static int cmd_vip_opts(struct args *a, const char *cmd, int allowed)
{
	struct jw w;
	int rc;

	if (need(a, 1, "VIP"))
		return 2;
	if ((rc = check_vip(a->argv[0])))
		return rc;
	jw_init(&w, false);
	jw_obj_begin(&w);
	jw_kstr(&w, "cmd", cmd);
	jw_kstr(&w, "vip", a->argv[0]);
	rc = parse_opts(a, 1, &w, allowed);
	jw_obj_end(&w);
	if (!rc)
		rc = simple(&w);
	jw_free(&w);
	return rc;
}

static int cmd_vip_one(struct args *a, const char *cmd)
{
	struct jw w;
	struct jv *ans;
	int rc;

	if (need(a, 1, "VIP"))
		return 2;
	if (a->argc > 1)
		return fail(2, "unexpected argument '%s'", a->argv[1]);
	if ((rc = check_vip(a->argv[0])))
		return rc;
	jw_init(&w, false);
	jw_obj_begin(&w);
	jw_kstr(&w, "cmd", cmd);
	jw_kstr(&w, "vip", a->argv[0]);
	jw_obj_end(&w);
	ans = call(&w, &rc);
	jw_free(&w);
	if (ans && !json_out && !strcmp(cmd, "vip-show")) {
		const struct jv *v = jv_get(ans, "vip");

		print_vip_line(v);
		print_backends(v, true);
	}
	jv_free(ans);
	return rc;
}

static struct jv *plain_call(const char *cmd, int *rc)
{
	struct jw w;
	struct jv *ans;

	jw_init(&w, false);
	jw_obj_begin(&w);
	jw_kstr(&w, "cmd", cmd);
	jw_obj_end(&w);
	ans = call(&w, rc);
	jw_free(&w);
	return ans;
}

static int cmd_list(struct args *a, bool backends)
{
	const struct jv *vips;
	struct jv *ans;
	int rc;

	if (a->argc)
		return fail(2, "unexpected argument '%s'", a->argv[0]);
	ans = plain_call(backends ? "list" : "vip-list", &rc);
	if (!ans || json_out) {
		jv_free(ans);
		return rc;
	}
	vips = jv_get(ans, "vips");
	if (!vips || !vips->n)
		printf("no VIPs (add one with: lbctl add-backend VIP BACKEND)\n");
	for (size_t i = 0; vips && i < vips->n; i++) {
		print_vip_line(&vips->items[i]);
		if (backends)
			print_backends(&vips->items[i], false);
	}
	jv_free(ans);
	return 0;
}

static void print_stats(const struct jv *ans)
{
	const struct jv *g = jv_get(ans, "global");
	const struct jv *vips = jv_get(ans, "vips");
	struct table t = { .ncols = 3 };
	char p[24], b[24];

	printf("datapath counters\n");
	t_row(&t, "COUNTER", "PACKETS", "BYTES");
	for (size_t i = 0; g && i < g->n; i++)
		t_row(&t, g->keys[i],
		      num(&g->items[i], "packets", p, sizeof(p)),
		      num(&g->items[i], "bytes", b, sizeof(b)));
	t_print(&t, "  ");
	for (size_t i = 0; vips && i < vips->n; i++) {
		const struct jv *v = &vips->items[i];
		char pr[24], br[24];

		printf("\n%s  %s packets  %s bytes  %s  %s\n",
		       jv_get_str(v, "vip"), num(v, "packets", p, sizeof(p)),
		       num(v, "bytes", b, sizeof(b)),
		       human_rate(dnum(v, "pps"), "pps", pr, sizeof(pr)),
		       human_rate(dnum(v, "bps"), "bps", br, sizeof(br)));
		print_backends(v, true);
	}
}

static volatile sig_atomic_t stop_watch;

static void on_sigint(int sig)
{
	(void)sig;
	stop_watch = 1;
}

static int cmd_stats(struct args *a)
{
	bool watch = a->argc == 1 && !strcmp(a->argv[0], "--watch");
	struct jv *ans;
	int rc;

	if (a->argc && !watch)
		return fail(2, "unexpected argument '%s'", a->argv[0]);
	signal(SIGINT, on_sigint);
	do {
		ans = plain_call("stats", &rc);
		if (!ans)
			return rc;
		if (!json_out) {
			if (watch)
				printf("\033[H\033[2J");
			print_stats(ans);
		}
		jv_free(ans);
		fflush(stdout);
		if (watch)
			sleep(1);
	} while (watch && !stop_watch);
	return 0;
}

static int cmd_status(struct args *a)
{
	struct jv *ans;
	int rc;

	if (a->argc)
		return fail(2, "unexpected argument '%s'", a->argv[0]);
	ans = plain_call("status", &rc);
	if (ans && !json_out) {
		struct table t = { .ncols = 2 };

		for (size_t i = 0; i < ans->n; i++) {
			const struct jv *v = &ans->items[i];
			char buf[64];

			if (!strcmp(ans->keys[i], "ok"))
				continue;
			if (v->type == JV_STR)
				t_row(&t, ans->keys[i], v->s);
			else
				t_row(&t, ans->keys[i],
				      num(ans, ans->keys[i], buf, sizeof(buf)));
		}
		t_print(&t, "");
	}
	jv_free(ans);
	return rc;
}

static int cmd_explain(struct args *a)
{
	union lb_addr x;
	uint8_t fam, proto;
	uint16_t port;
	char err[LB_ERRLEN];
	struct jv *ans;
	struct jw w;
	int rc;

	if (need(a, 3, "SRC:PORT DST:PORT PROTO"))
		return 2;
	if (a->argc > 3)
		return fail(2, "unexpected argument '%s'", a->argv[3]);
	if (lb_parse_endpoint(a->argv[0], &x, &fam, &port, err, sizeof(err)))
		return fail(1, "source: %s", err);
	if (lb_parse_endpoint(a->argv[1], &x, &fam, &port, err, sizeof(err)))
		return fail(1, "destination: %s", err);
	if (lb_parse_proto(a->argv[2], &proto, err, sizeof(err)))
		return fail(1, "%s", err);
	jw_init(&w, false);
	jw_obj_begin(&w);
	jw_kstr(&w, "cmd", "explain");
	jw_kstr(&w, "src", a->argv[0]);
	jw_kstr(&w, "dst", a->argv[1]);
	jw_kstr(&w, "proto", a->argv[2]);
	jw_obj_end(&w);
	ans = call(&w, &rc);
	jw_free(&w);
	if (ans && !json_out) {
		const struct jv *m = jv_get(ans, "vip_match");
		const struct jv *tb = jv_get(ans, "table_backend");
		const struct jv *ct = jv_get(ans, "conntrack");
		char n[24];

		printf("flow      %s -> %s %s\n", jv_get_str(ans, "flow_src"),
		       jv_get_str(ans, "flow_dst"), jv_get_str(ans, "proto"));
		if (m && m->type == JV_BOOL && m->b) {
			printf("vip       %s (%s match, mode %s, hash %s, "
			       "on-down %s)\n",
			       jv_get_str(ans, "vip"),
			       jv_get_str(ans, "vip_match_kind"),
			       jv_get_str(ans, "mode"),
			       jv_get_str(ans, "hash_mode"),
			       jv_get_str(ans, "on_down"));
			printf("hash      %s\n", jv_get_str(ans, "flow_hash"));
			printf("slot      %s of %s\n",
			       num(ans, "slot", n, sizeof(n)),
			       num(ans, "table_size", err, sizeof(err)));
			if (tb && tb->type == JV_OBJ)
				printf("table     %s (%s)\n",
				       jv_get_str(tb, "backend"),
				       jv_get_str(tb, "state"));
			else
				printf("table     no backend\n");
			if (ct && ct->type == JV_OBJ) {
				const struct jv *valid = jv_get(ct, "valid");
				const char *be = jv_get_str(ct, "backend");

				const struct jv *down =
					jv_get(ct, "backend_down");

				printf("conntrack %s, age %.1fs%s%s\n",
				       be ? be : "(removed backend)",
				       dnum(ct, "age_s"),
				       down && down->b ? " (backend down)" : "",
				       valid && valid->b ? "" :
							   " (stale: re-hashed "
							   "on next packet)");
			} else {
				printf("conntrack none\n");
			}
		}
		printf("verdict   %s\n", jv_get_str(ans, "verdict"));
	}
	jv_free(ans);
	return rc;
}

/* ---------------------------------------------------------------- dispatch */

static void check_summary(const struct jv *c, char *buf, size_t len)
{
	const char *kind = jv_get_str(c, "kind");
	const char *path = jv_get_str(c, "path");
	char port[16] = "", n1[24], n2[24], n3[24], n4[24];

	if (!kind || !strcmp(kind, "none")) {
		snprintf(buf, len, "no health check");
		return;
	}
	if (jv_get(c, "port"))
		snprintf(port, sizeof(port), ":%s",
			 num(c, "port", n1, sizeof(n1)));
	/* as the operator typed it, if lbctl sent it; else rebuilt */
	if (jv_get_str(c, "spec")) {
		kind = jv_get_str(c, "spec");
		port[0] = 0;
		path = NULL;
	}
	snprintf(buf, len,
		 "check %s%s%s  every %sms  timeout %sms  rise %s  "
		 "fall %s",
		 kind, port, path ? path : "",
		 num(c, "interval_ms", n1, sizeof(n1)),
		 num(c, "timeout_ms", n2, sizeof(n2)),
		 num(c, "rise", n3, sizeof(n3)),
		 num(c, "fall", n4, sizeof(n4)));
	if (dnum(c, "slowstart_ms") > 0) {
		size_t l = strlen(buf);

		snprintf(buf + l, len - l, "  slowstart %sms",
			 num(c, "slowstart_ms", n1, sizeof(n1)));
	}
}

static int cmd_health(struct args *a)
{
	const struct jv *vips;
	struct jv *ans;
	struct jw w;
	int rc;

	if (a->argc > 1)
		return fail(2, "unexpected argument '%s'", a->argv[1]);
	if (a->argc && (rc = check_vip(a->argv[0])))
		return rc;
	jw_init(&w, false);
	jw_obj_begin(&w);
	jw_kstr(&w, "cmd", "health");
	if (a->argc)
		jw_kstr(&w, "vip", a->argv[0]);
	jw_obj_end(&w);
	ans = call(&w, &rc);
	jw_free(&w);
	if (!ans || json_out) {
		jv_free(ans);
		return rc;
	}
	vips = jv_get(ans, "vips");
	for (size_t i = 0; vips && i < vips->n; i++) {
		const struct jv *v = &vips->items[i];
		const struct jv *bes = jv_get(v, "backends");
		struct table t = { .ncols = 8 };
		char sum[256];

		check_summary(jv_get(v, "check"), sum, sizeof(sum));
		printf("%s  %s\n", jv_get_str(v, "vip"), sum);
		if (!bes || !bes->n) {
			printf("    (no backends)\n");
			continue;
		}
		t_row(&t, "BACKEND", "STATE", "HEALTH", "LAST", "LATENCY",
		      "OK/FAIL", "SINCE", "REASON");
		for (size_t j = 0; j < bes->n; j++) {
			const struct jv *b = &bes->items[j];
			char lat[24] = "-", streak[32] = "-", since[24] = "-";
			const char *last = jv_get_str(b, "last");
			char n1[24], n2[24];

			if (jv_get(b, "latency_ms"))
				snprintf(lat, sizeof(lat), "%.1fms",
					 dnum(b, "latency_ms"));
			if (jv_get(b, "ok_streak"))
				snprintf(streak, sizeof(streak), "%s/%s",
					 num(b, "ok_streak", n1, sizeof(n1)),
					 num(b, "fail_streak", n2, sizeof(n2)));
			if (jv_get(b, "since_transition_s"))
				snprintf(since, sizeof(since), "%.0fs",
					 dnum(b, "since_transition_s"));
			t_row(&t, jv_get_str(b, "backend"),
			      jv_get_str(b, "state"), jv_get_str(b, "health"),
			      last ? last : "-", lat, streak, since,
			      jv_get_str(b, "reason"));
		}
		t_print(&t, "    ");
	}
	jv_free(ans);
	return rc;
}

static bool is(const char *word, const char *cmd)
{
	return !strcmp(word, cmd);
}

/*
 * The command that word abbreviates, as ip does ("ba" for backend): an
 * exact match, or the only command it begins.  NULL, with an error, when
 * it begins none or several: "d" must not pick delete over drain.
 */
static const char *pick(const char *word, const char *const *cmds,
			const char *what)
{
	const char *found = NULL, *other = NULL;
	size_t n = strlen(word);
	char list[256] = "";

	for (size_t i = 0; cmds[i]; i++)
		if (!strcmp(word, cmds[i]))
			return cmds[i];
	if (!strcmp(word, "delete"))
		return "del";
	for (size_t i = 0; cmds[i]; i++) {
		size_t l = strlen(list);

		snprintf(list + l, sizeof(list) - l, "%s%s", l ? ", " : "",
			 cmds[i]);
		if (!n || strncmp(word, cmds[i], n))
			continue;
		if (found)
			other = cmds[i];
		else
			found = cmds[i];
	}
	if (other) {
		fail(2, "ambiguous %s '%s' (%s or %s?)", what, word, found,
		     other);
		return NULL;
	}
	if (!found)
		fail(2, "unknown %s '%s' (%s)", what, word, list);
	return found;
}

static int do_vip(struct args *a)
{
	static const char *const cmds[] = { "add",  "set",  "del", "list",
					    "show", "help", NULL };
	const char *c =
		pick(a->argc ? a->argv[0] : "list", cmds, "vip command");

	if (!c)
		return 2;
	if (a->argc) {
		a->argc--;
		a->argv++;
	}
	if (is(c, "add"))
		return cmd_vip_opts(a, "vip-add", OPTS_VIP | OPTS_CHECK);
	if (is(c, "set"))
		return cmd_vip_opts(a, "vip-set", OPTS_CHECK | OPTS_ON_DOWN);
	if (is(c, "del"))
		return cmd_vip_one(a, "vip-del");
	if (is(c, "list"))
		return cmd_list(a, false);
	if (is(c, "show"))
		return cmd_vip_one(a, "vip-show");
	if (is(c, "help")) {
		usage_of(stdout, "vip");
		return 0;
	}
	return 2;
}

static int do_backend(struct args *a)
{
	static const char *const cmds[] = { "add",     "del",	 "drain",
					    "undrain", "weight", "check",
					    "help",    NULL };
	const char *c;

	if (need(a, 1,
		 "backend command (add, del, drain, undrain, weight, check)"))
		return 2;
	c = pick(a->argv[0], cmds, "backend command");
	if (!c)
		return 2;
	a->argc--;
	a->argv++;
	if (is(c, "add"))
		return cmd_backend_opts(a, "backend-add",
					OPTS_WEIGHT | OPTS_CHECK);
	if (is(c, "check"))
		return cmd_backend_opts(a, "backend-check",
					OPTS_CHECK | OPTS_INHERIT);
	if (is(c, "del"))
		return cmd_vip_backend(a, "backend-del", 0);
	if (is(c, "drain"))
		return cmd_vip_backend(a, "backend-drain", 0);
	if (is(c, "undrain"))
		return cmd_vip_backend(a, "backend-undrain", 0);
	if (is(c, "weight"))
		return cmd_vip_backend(a, "backend-weight", 1);
	if (is(c, "help")) {
		usage_of(stdout, "backend");
		return 0;
	}
	return 2;
}

int main(int argc, char **argv)
{
	static const char *const top[] = {
		"add-backend", "del-backend", "vip",	"backend",
		"list",	       "stats",	      "status", "explain",
		"health",      "help",	      NULL,
	};
	struct args a;
	const char *cmd;
	int i = 1;

	/* lbd closing a connection is an error to report, not a death */
	signal(SIGPIPE, SIG_IGN);
	if (getenv("LBCTL_SOCKET"))
		sock_path = getenv("LBCTL_SOCKET");
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			json_out = true;
		} else if (!strcmp(argv[i], "-S") || !strcmp(argv[i], "-s") ||
			   !strcmp(argv[i], "--socket")) {
			/* -S as lbd spells it; -s is the old spelling */
			if (!strcmp(argv[i], "-s"))
				fprintf(stderr,
					"lbctl: warning: -s is deprecated and "
					"will be removed; use -S (or --socket), "
					"as lbd does\n");
			if (++i >= argc)
				return fail(2, "missing value of %s",
					    argv[i - 1]);
			sock_path = argv[i];
		} else if (!strcmp(argv[i], "-h") ||
			   !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			fail(2, "unknown option '%s'", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = pick(argv[i], top, "command");
	if (!cmd) {
		fprintf(stderr, "Try 'lbctl help'.\n");
		return 2;
	}
	a.argc = argc - i - 1;
	a.argv = argv + i + 1;

	if (!strcmp(cmd, "add-backend"))
		return cmd_backend_opts(&a, "add-backend",
					OPTS_VIP | OPTS_WEIGHT | OPTS_CHECK);
	if (!strcmp(cmd, "del-backend"))
		return cmd_vip_backend(&a, "backend-del", 0);
	if (is(cmd, "vip"))
		return do_vip(&a);
	if (is(cmd, "backend"))
		return do_backend(&a);
	if (is(cmd, "list"))
		return cmd_list(&a, true);
	if (is(cmd, "stats"))
		return cmd_stats(&a);
	if (is(cmd, "status"))
		return cmd_status(&a);
	if (is(cmd, "explain"))
		return cmd_explain(&a);
	if (is(cmd, "health"))
		return cmd_health(&a);
	/* help [COMMAND] */
	if (a.argc) {
		cmd = pick(a.argv[0], top, "command");
		if (!cmd)
			return 2;
		usage_of(stdout, cmd);
		return 0;
	}
	usage(stdout);
	return 0;
}
