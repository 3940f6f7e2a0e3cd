// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * files.c - a worker's answers from the --root directory, kept in the
 * shared cache as any other answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "worker.h"

static int rootfd = -1; /* --root, opened O_PATH */

static const char *content_type(const char *path)
{
	static const char *const types[][2] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".htm", "text/html; charset=utf-8" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".css", "text/css" },
		{ ".js", "text/javascript" },
		{ ".json", "application/json" },
		{ ".png", "image/png" },
		{ ".jpg", "image/jpeg" },
		{ ".svg", "image/svg+xml" },
	};
	size_t n = strlen(path), i, k;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		k = strlen(types[i][0]);
		if (n >= k && !strcasecmp(path + n - k, types[i][0]))
			return types[i][1];
	}
	return "application/octet-stream";
}

/*
 * Open rel beneath the root.  openat2(RESOLVE_BENEATH) has the kernel refuse
 * any ".." or symlink that would leave the root, so a link planted inside
 * the tree cannot lead out of it either.  O_NONBLOCK: opening a FIFO (or a
 * device) must never block the worker; only regular files are served.
 */
static int open_beneath(const char *rel)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	fd = syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

static int fetch_file(const void *p, struct fetched *f)
{
	const char *rel = p;
	char path[PATH_MAX + 16], hdr[128], *body = NULL;
	int fd, status = 200, err, n;
	struct stat st;
	size_t got = 0;
	ssize_t k;

	f->ttl = wk.cfg->ttl;
	fd = open_beneath(rel);
	if (fd >= 0 && !fstat(fd, &st) && S_ISDIR(st.st_mode)) {
		close(fd);
		snprintf(path, sizeof(path), "%s%sindex.html", rel,
			 *rel ? "/" : "");
		fd = open_beneath(path);
		rel = path;
	}
	if (fd < 0) {
		status = fd == -ENOENT || fd == -ENOTDIR ? 404 : 403;
		goto error;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		status = 404;
		goto error;
	}
	n = snprintf(hdr, sizeof(hdr), "Content-Type: %s\r\n",
		     content_type(rel));
	if ((uint64_t)st.st_size > wk.cfg->max_object) {
		/* too large to keep: sent from the file, never held */
		fcntl(fd, F_SETFL, 0);
		f->fd = fd;
		f->fd_len = st.st_size;
		return value_build(f, 200, hdr, n, NULL, 0);
	}
	body = malloc(st.st_size ? st.st_size : 1);
	if (!body) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		k = read(fd, body + got, st.st_size - got);
		if (k <= 0) {
			if (k < 0 && errno == EINTR)
				continue;
			break; /* the file shrank: serve what is there */
		}
		got += k;
	}
	close(fd);
	err = value_build(f, 200, hdr, n, body, got);
	free(body);
	return err;
error:
	if (fd >= 0)
		close(fd);
	f->ttl = 0;
	snprintf(hdr, sizeof(hdr), "%d %s\n", status, http_reason(status));
	return value_build(f, status, TEXT_PLAIN, sizeof(TEXT_PLAIN) - 1, hdr,
			   strlen(hdr));
}

int files_open_root(const char *root)
{
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return rootfd < 0 ? -errno : 0;
}

void serve_file(struct conn *c, const char *target, size_t len, int head)
{
	char rel[PATH_MAX];
	int n;

	n = http_target_path(target, len, rel + 5, sizeof(rel) - 5);
	if (n < 0) {
		respond_error(c, -n, head);
		return;
	}
	/* the key space of files is apart from that of URLs */
	memcpy(rel, "file:", 5);
	serve_cached(c, rel, n + 5, fetch_file, rel + 5, head);
}
