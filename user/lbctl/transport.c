// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * transport.c - lbctl's side of lbd's control socket: connect (or say
 * why not: not running, starting, not root), send one request line, read
 * one answer line, with a timeout so that a wedged lbd cannot wedge its
 * operator.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "lbctl.h"

const char *lbctl_socket = LBCTL_DEFAULT_SOCKET;
int lbctl_timeout_s = LBCTL_TIMEOUT_S;

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

	snprintf(path, sizeof(path), "%s.starting", lbctl_socket);
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

	if (strlen(lbctl_socket) >= sizeof(sa.sun_path)) {
		fail(1, "socket path too long: %s", lbctl_socket);
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", lbctl_socket);
	fd = lbd_connect(&sa);
	if (fd == -ENOENT || fd == -ECONNREFUSED) {
		pid = lbd_starting_pid();
		if (pid) {
			fail(1,
			     "lbd is starting (pid %ld) and answers on %s once "
			     "it is ready; try again shortly",
			     pid, lbctl_socket);
			return -1;
		}
		/* it may have become ready since the first try */
		fd = lbd_connect(&sa);
	}
	if (fd >= 0)
		return fd;
	if (fd == -EACCES || fd == -EPERM)
		fail(1, "permission denied on %s: lbctl must run as root",
		     lbctl_socket);
	else if (fd == -ENOENT || fd == -ECONNREFUSED)
		fail(1,
		     "lbd is not running (no answer on %s); start it "
		     "with: lbd --iface IFACE",
		     lbctl_socket);
	else
		fail(1, "cannot reach lbd on %s: %s", lbctl_socket,
		     strerror(-fd));
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
struct jv *lbctl_call(struct jw *req, int *code)
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
	struct timeval tv = { .tv_sec = lbctl_timeout_s };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* --dry-run: the request, ended with "dry_run": true (a request is
	 * one object, its last byte the closing brace) */
	if (lbctl_dry_run && req->len) {
		serr = send_all(fd, req->buf, req->len - 1);
		if (!serr)
			serr = send_all(fd, ",\"dry_run\":true}\n", 17);
	} else {
		serr = send_all(fd, req->buf, req->len);
		if (!serr)
			serr = send_all(fd, "\n", 1);
	}
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
			     lbctl_timeout_s);
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
	if (lbctl_json) {
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
	if (lbctl_dry_run && !lbctl_json)
		print_plan(ans);
	return ans;
}

int lbctl_call_simple(struct jw *w)
{
	int code;
	struct jv *ans = lbctl_call(w, &code);

	jv_free(ans);
	return code;
}

struct jv *lbctl_call_plain(const char *cmd, int *rc)
{
	struct jw w;
	struct jv *ans;

	jw_init(&w, false);
	jw_obj_begin(&w);
	jw_kstr(&w, "cmd", cmd);
	jw_obj_end(&w);
	ans = lbctl_call(&w, rc);
	jw_free(&w);
	return ans;
}
