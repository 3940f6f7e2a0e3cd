// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * handover.c - what the master holds for its workers: the listening
 * sockets and the shared block (counters and cache), made at the first
 * start and handed over to the new master across the exec of a reload (see
 * master.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "master.h"

static int listen_on(const char *spec, int reuseport)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE },
			*ai;
	char host[256];
	const char *colon, *hs = spec, *he;
	int fd, one = 1, rc;

	colon = strrchr(spec, ':');
	if (!colon || !colon[1]) {
		pr_err("--listen %s: expected ADDR:PORT", spec);
		return -EINVAL;
	}
	he = colon;
	if (*hs == '[' && he > hs && he[-1] == ']') {
		hs++;
		he--;
	}
	if ((size_t)(he - hs) >= sizeof(host)) {
		pr_err("--listen %s: address too long", spec);
		return -EINVAL;
	}
	memcpy(host, hs, he - hs);
	host[he - hs] = '\0';
	rc = getaddrinfo(*host && strcmp(host, "*") ? host : NULL, colon + 1,
			 &hints, &ai);
	if (rc) {
		pr_err("--listen %s: %s", spec, gai_strerror(rc));
		return -EINVAL;
	}
	/* no SOCK_CLOEXEC: the socket crosses the exec of a reload */
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) {
		rc = -errno;
		pr_err("--listen %s: SO_REUSEPORT: %s", spec, strerror(errno));
		close(fd);
		goto out;
	}
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 4096)) {
		rc = -errno;
		pr_err("--listen %s: %s", spec, strerror(errno));
		close(fd);
		goto out;
	}
	rc = fd;
out:
	freeaddrinfo(ai);
	return rc;
}

/*
 * --accept reuseport: one SO_REUSEPORT socket per worker index, held by the
 * master, so that a worker's death leaves its queue to its replacement.
 * Queues of closed sockets (a reload, fewer workers) move to the others
 * only with net.ipv4.tcp_migrate_req = 1 (Linux 5.14): warn without it.
 * New connections go round the sockets in turn (steer.c).
 */
int open_reuseport(void)
{
	char v = '0';
	int fd;

	for (ms.nrp = 0; ms.nrp < (int)ms.cfg->workers; ms.nrp++) {
		ms.rp[ms.nrp] = listen_on(ms.cfg->listen, 1);
		if (ms.rp[ms.nrp] < 0)
			return -1;
	}
	/* in turn rather than by hash; the hash stays when this fails */
	reuseport_steer(ms.rp, ms.nrp);
	fd = open("/proc/sys/net/ipv4/tcp_migrate_req", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, &v, 1) != 1 || v != '1')
		pr_warn("--accept reuseport: net.ipv4.tcp_migrate_req is not 1: connections queued for a closed socket are reset on reload and shutdown");
	if (fd >= 0)
		close(fd);
	return 0;
}

/* A new shared block (counters and an empty cache). */
static int shared_create(void)
{
	size_t csize = cache_mem_size(ms.cfg->cache_size);
	struct shared *s;
	int fd, err;

	if (!csize)
		return -EINVAL;
	ms.sh_size = sizeof(struct shared) + csize;
	fd = memfd_create("lb-backend", 0); /* inherited across reloads */
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, ms.sh_size)) {
		err = -errno;
		close(fd);
		return err;
	}
	s = mmap(NULL, ms.sh_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s == MAP_FAILED) {
		err = -errno;
		close(fd);
		return err;
	}
	err = cache_init(s->cache, csize, ms.cfg->cache_size);
	if (err) {
		munmap(s, ms.sh_size);
		close(fd);
		return err;
	}
	s->size = ms.sh_size;
	s->cache_size = ms.cfg->cache_size;
	s->version = SHARED_VERSION;
	s->magic = SHARED_MAGIC;
	ms.sh = s;
	ms.shmfd = fd;
	return 0;
}

/* The shared block of the previous master, if it fits this configuration. */
static int shared_adopt(int fd)
{
	struct shared *s;
	struct stat st;

	if (fstat(fd, &st) || (size_t)st.st_size < sizeof(struct shared))
		return -EINVAL;
	s = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s == MAP_FAILED)
		return -errno;
	if (s->magic != SHARED_MAGIC || s->version != SHARED_VERSION ||
	    s->size != (uint64_t)st.st_size ||
	    s->cache_size != ms.cfg->cache_size || !shared_cache(s)) {
		munmap(s, st.st_size);
		return -ESTALE;
	}
	ms.sh = s;
	ms.sh_size = st.st_size;
	ms.shmfd = fd;
	return 0;
}

void reload(int argc, char **argv)
{
	char *env, *p;
	struct config *probe;
	size_t n = 64 + 24 * MAX_SLOTS * 2;
	int i;

	pr_info("reload: checking configuration");
	probe = malloc(sizeof(*probe));
	if (!probe)
		return;
	if (config_parse(argc, argv, probe)) {
		pr_err("reload aborted: the new configuration is not valid");
		free(probe);
		return;
	}
	if ((probe->accept_mode == ACCEPT_REUSEPORT) !=
	    (ms.cfg->accept_mode == ACCEPT_REUSEPORT)) {
		pr_err("reload aborted: --accept reuseport cannot be turned on or off by a reload; restart instead");
		free(probe);
		return;
	}
	free(probe);
	if (access(ms.exe, X_OK)) {
		pr_err("reload aborted: %s: %s", ms.exe, strerror(errno));
		return;
	}
	env = malloc(n);
	if (!env)
		return;
	p = env + snprintf(env, n, "lfd=%d;shm=%d;gen=%u;afd=%d;rp=", ms.lfd,
			   ms.shmfd, ms.sh->generation, ms.afd);
	for (i = 0; i < ms.nrp; i++)
		p += snprintf(p, env + n - p, "%d,", ms.rp[i]);
	p += snprintf(p, env + n - p, ";old=");
	for (i = 0; i < MAX_SLOTS; i++)
		if (ms.children[i].used && ms.children[i].pid)
			p += snprintf(p, env + n - p, "%d:%d,",
				      ms.children[i].pid, i);
	for (i = 0; i < ms.nforeign; i++)
		p += snprintf(p, env + n - p, "%d:-1,", ms.foreign[i]);
	setenv(ENV_INHERIT, env, 1);
	if (ms.afd >= 0)
		setenv(ENV_ADMIN, ms.cfg->admin_listen, 1);
	free(env);
	pr_info("reload: executing %s", ms.exe);
	execv(ms.exe, argv);
	pr_err("reload failed: exec %s: %s", ms.exe, strerror(errno));
	unsetenv(ENV_INHERIT);
	unsetenv(ENV_ADMIN);
}

int inherit(const char *env)
{
	int ofd = -1, gen = 0, slot, err;
	const char *old, *aspec;
	pid_t pid;

	if (sscanf(env, "lfd=%d;shm=%d;gen=%d;", &ms.lfd, &ofd, &gen) != 3 ||
	    !(old = strstr(env, "old="))) {
		pr_err("bad %s", ENV_INHERIT);
		return -EINVAL;
	}
	/* the reuseport sockets of the old generation, if any */
	aspec = strstr(env, ";rp=");
	for (const char *q = aspec ? aspec + 4 : NULL;
	     q && *q != ';' && ms.nold_rp < MAX_SLOTS;) {
		int fd;

		if (sscanf(q, "%d", &fd) != 1)
			break;
		ms.old_rp[ms.nold_rp++] = fd;
		q = strchr(q, ',');
		if (q)
			q++;
	}
	/* absent when the previous binary had no admin listener */
	aspec = strstr(env, ";afd=");
	if (!aspec || sscanf(aspec, ";afd=%d;", &ms.afd) != 1)
		ms.afd = -1;
	fcntl(ms.lfd, F_SETFD, 0);
	aspec = getenv(ENV_ADMIN);
	if (ms.afd >= 0 && (!aspec || strcmp(aspec, ms.cfg->admin_listen))) {
		/* the admin listener moved (or went): the old socket closes
		 * with the old workers */
		close(ms.afd);
		ms.afd = -1;
	}
	if (ms.cfg->admin_listen[0] && ms.afd < 0) {
		ms.afd = listen_on(ms.cfg->admin_listen, 0);
		if (ms.afd < 0)
			pr_err("reload: no admin listener on %s",
			       ms.cfg->admin_listen);
	}
	err = shared_adopt(ofd);
	if (err) {
		pr_info("reload: cache layout changed, starting an empty cache");
		err = shared_create();
		if (err)
			return err;
		close(ofd);
	}
	ms.sh->generation = gen + 1;
	for (old += 4; sscanf(old, "%d:%d", &pid, &slot) == 2;) {
		if (err == 0 && slot >= 0 && slot < MAX_SLOTS) {
			ms.children[slot] = (struct child){ .used = 1,
							    .old = 1,
							    .pid = pid };
		} else if (ms.nforeign < MAX_SLOTS) {
			ms.foreign[ms.nforeign++] = pid;
		}
		old = strchr(old, ',');
		if (!old)
			break;
		old++;
	}
	return 0;
}

int open_fresh(void)
{
	int err;

	if (ms.cfg->accept_mode != ACCEPT_REUSEPORT) {
		ms.lfd = listen_on(ms.cfg->listen, 0);
		if (ms.lfd < 0)
			return -1;
	} else if (open_reuseport()) {
		return -1;
	}
	if (ms.cfg->admin_listen[0]) {
		ms.afd = listen_on(ms.cfg->admin_listen, 0);
		if (ms.afd < 0)
			return -1;
	}
	err = shared_create();
	if (err) {
		pr_err("shared memory of %llu bytes: %s",
		       (unsigned long long)ms.cfg->cache_size, strerror(-err));
		return -1;
	}
	pr_info("listening on %s with %u workers, cache %llu bytes, %s %s",
		ms.cfg->listen, ms.cfg->workers,
		(unsigned long long)ms.cfg->cache_size,
		ms.cfg->root[0] ? "root" : "origin",
		ms.cfg->root[0] ? ms.cfg->root : ms.cfg->origin_url);
	return 0;
}
