// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * master.c - the lb-backend master: owns the listening socket and the shared
 * memory, forks the workers, replaces the ones that die, reloads and stops.
 *
 * By default one listening socket, created here and inherited by every
 * worker: it has one queue, and whichever worker is alive and idle takes
 * the next connection (EPOLLEXCLUSIVE spares the herd, and a worker that
 * accepted moves to the back of the waiters, see worker.c).  With
 * --accept reuseport each worker index has a SO_REUSEPORT socket of its
 * own, also created and held here, so that its queue waits for a dead
 * worker's replacement; but connections hashed to a worker in crash
 * back-off wait with it, and queues of sockets closed on a reload move to
 * the new ones only with net.ipv4.tcp_migrate_req = 1.  bench-backend
 * measures both; the shared socket spreads as evenly and has neither
 * drawback.
 *
 * Reload (SIGHUP) re-executes the master in place: same pid, so the running
 * workers stay its children; the binary is read from disk again and the
 * configuration (command line and --config file) parsed again.  The socket
 * and the shared memory (a memfd) cross the exec as inherited descriptors
 * named in LB_BACKEND_INHERIT.  The new master starts a full set of new
 * workers, waits until they accept, and only then asks the old ones to
 * drain: at every instant some worker accepts, and no connection is lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "log.h"

#define ENV_INHERIT "LB_BACKEND_INHERIT"
#define ENV_ADMIN "LB_BACKEND_ADMIN" /* ADDR:PORT the inherited afd is on */
#define CRASH_WINDOW_MS 10000 /* a worker dying younger than this crashed */
#define BACKOFF_MAX_MS 30000
#define ALONE_MS 1000 /* no worker alive: the next one starts within this */
#define READY_WAIT_MS 10000 /* reload: how long new workers get to start */

struct child {
	pid_t pid; /* 0 while waiting to be respawned */
	int used; /* slot taken (by a live worker or a pending respawn) */
	int old; /* of a previous generation: drains, never respawned */
	unsigned int index;
	long long started; /* mono ms */
	long long respawn_at; /* mono ms, while pid == 0 */
	unsigned int fails; /* deaths in a row within CRASH_WINDOW_MS */
};

static struct config *cfg;
static struct shared *sh;
static size_t sh_size;
static int lfd = -1, afd = -1, shmfd = -1, sigfd = -1;
/* --accept reuseport: worker i of the generation accepts on rp[i]; those of
 * the previous generation (old_rp) close once it drains */
static int rp[MAX_SLOTS], nrp, old_rp[MAX_SLOTS], nold_rp;
static char exe[PATH_MAX];
static struct child children[MAX_SLOTS];
/* old workers that live in a previous shared block (cache size changed) */
static pid_t foreign[MAX_SLOTS];
static int nforeign;

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
 */
static int open_reuseport(void)
{
	char v = '0';
	int fd;

	for (nrp = 0; nrp < (int)cfg->workers; nrp++) {
		rp[nrp] = listen_on(cfg->listen, 1);
		if (rp[nrp] < 0)
			return -1;
	}
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
	size_t csize = cache_mem_size(cfg->cache_size);
	struct shared *s;
	int fd, err;

	if (!csize)
		return -EINVAL;
	sh_size = sizeof(struct shared) + csize;
	fd = memfd_create("lb-backend", 0); /* inherited across reloads */
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, sh_size)) {
		err = -errno;
		close(fd);
		return err;
	}
	s = mmap(NULL, sh_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s == MAP_FAILED) {
		err = -errno;
		close(fd);
		return err;
	}
	err = cache_init(s->cache, csize, cfg->cache_size);
	if (err) {
		munmap(s, sh_size);
		close(fd);
		return err;
	}
	s->size = sh_size;
	s->cache_size = cfg->cache_size;
	s->version = SHARED_VERSION;
	s->magic = SHARED_MAGIC;
	sh = s;
	shmfd = fd;
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
	    s->cache_size != cfg->cache_size || !shared_cache(s)) {
		munmap(s, st.st_size);
		return -ESTALE;
	}
	sh = s;
	sh_size = st.st_size;
	shmfd = fd;
	return 0;
}

static const char *describe(int status, char *buf, size_t n)
{
	if (WIFEXITED(status))
		snprintf(buf, n, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, n, "killed by signal %d (%s)%s", WTERMSIG(status),
			 strsignal(WTERMSIG(status)),
			 WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, n, "status 0x%x", status);
	return buf;
}

static int spawn(int slot)
{
	struct child *c = &children[slot];
	struct worker_slot *ws = &sh->slots[slot];
	pid_t pid;

	STAT_SET(ws->ready, 0);
	STAT_SET(ws->generation, sh->generation);
	STAT_SET(ws->index, c->index);
	STAT_SET(ws->started, (uint64_t)time(NULL));
	STAT_SET(ws->connections, 0);
	pid = fork();
	if (pid < 0) {
		pr_err("fork: %s", strerror(errno));
		c->pid = 0;
		c->respawn_at = mono_ms() + 1000;
		return -errno;
	}
	if (pid == 0) {
		int fd = lfd;

		close(sigfd);
		for (int i = 0; i < nold_rp; i++)
			close(old_rp[i]);
		for (int i = 0; i < nrp; i++) {
			if (i == (int)c->index)
				fd = rp[i];
			else
				close(rp[i]);
		}
		worker_run(cfg, fd, afd, sh, slot);
	}
	c->pid = pid;
	c->started = mono_ms();
	STAT_SET(ws->pid, pid);
	pr_debug("worker %u started: pid %d, slot %d", c->index, pid, slot);
	return 0;
}

static int free_slot(void)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (!children[i].used)
			return i;
	return -1;
}

static void start_generation(void)
{
	for (unsigned int i = 0; i < cfg->workers; i++) {
		int s = free_slot();

		if (s < 0) {
			pr_err("no free worker slot");
			return;
		}
		children[s] = (struct child){ .used = 1, .index = i };
		memset(&sh->slots[s], 0, sizeof(sh->slots[s]));
		spawn(s);
	}
}

static int live_children(int old_only)
{
	int n = 0;

	for (int i = 0; i < MAX_SLOTS; i++)
		if (children[i].used && children[i].pid &&
		    (!old_only || children[i].old))
			n++;
	return n + nforeign;
}

static void signal_all(int sig, int old_only)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (children[i].used && children[i].pid &&
		    (!old_only || children[i].old))
			kill(children[i].pid, sig);
	for (int i = 0; i < nforeign; i++)
		kill(foreign[i], sig);
}

static void reap(int stopping)
{
	char why[128];
	int status, i;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < nforeign; i++)
			if (foreign[i] == pid) {
				foreign[i] = foreign[--nforeign];
				pr_info("old worker %d %s", pid,
					describe(status, why, sizeof(why)));
				break;
			}
		for (i = 0; i < MAX_SLOTS; i++)
			if (children[i].used && children[i].pid == pid)
				break;
		if (i == MAX_SLOTS)
			continue;
		struct child *c = &children[i];
		long long now = mono_ms(), delay = 0;

		STAT_SET(sh->slots[i].pid, 0);
		STAT_SET(sh->slots[i].ready, 0);
		if (c->old || stopping) {
			pr_info("%sworker %d %s", c->old ? "old " : "", pid,
				describe(status, why, sizeof(why)));
			c->used = 0;
			c->pid = 0;
			continue;
		}
		/* crash-loop brake: the first death is replaced at once,
		 * quick deaths in a row wait longer and longer */
		if (now - c->started < CRASH_WINDOW_MS)
			c->fails++;
		else
			c->fails = 1;
		if (c->fails > 1) {
			delay = 250ll
				<< (c->fails - 2 > 10 ? 10 : c->fails - 2);
			if (delay > BACKOFF_MAX_MS)
				delay = BACKOFF_MAX_MS;
		}
		pr_warn("worker %d (slot %d) %s; restarting %s%lld ms%s", pid,
			i, describe(status, why, sizeof(why)),
			delay ? "in " : "now", delay ? delay : 0,
			delay ? " (crash loop)" : "");
		c->pid = 0;
		c->respawn_at = now + delay;
		STAT_ADD(sh->slots[i].restarts, 1);
	}
}

/*
 * The crash brake may slow each slot down, but it must never leave the
 * server without any worker for long: when none is alive, the slot due
 * soonest is brought forward to ALONE_MS, and the log says so loudly (a
 * server that answers nothing is worse than one that crashes often).
 */
static void keep_one(long long now)
{
	struct child *first = NULL;
	int live = 0;

	for (int i = 0; i < MAX_SLOTS; i++) {
		struct child *c = &children[i];

		if (!c->used || c->old)
			continue;
		if (c->pid)
			live++;
		else if (!first || c->respawn_at < first->respawn_at)
			first = c;
	}
	if (live || !first || first->respawn_at <= now + ALONE_MS)
		return;
	pr_err("NO WORKER IS RUNNING: every worker crashed within %d ms of its start, %u times in a row; starting worker %u in %d ms instead of %lld ms",
	       CRASH_WINDOW_MS, first->fails, first->index, ALONE_MS,
	       first->respawn_at - now);
	first->respawn_at = now + ALONE_MS;
}

static void respawn_due(long long now, long long *next)
{
	for (int i = 0; i < MAX_SLOTS; i++) {
		struct child *c = &children[i];

		if (!c->used || c->pid || c->old)
			continue;
		if (now >= c->respawn_at)
			spawn(i);
		else if (c->respawn_at < *next)
			*next = c->respawn_at;
	}
}

static int all_ready(void)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (children[i].used && !children[i].old &&
		    (!children[i].pid || !STAT_GET(sh->slots[i].ready)))
			return 0;
	return 1;
}

/* SIGHUP: check the new configuration, then exec the binary on disk. */
static void reload(int argc, char **argv)
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
	    (cfg->accept_mode == ACCEPT_REUSEPORT)) {
		pr_err("reload aborted: --accept reuseport cannot be turned on or off by a reload; restart instead");
		free(probe);
		return;
	}
	free(probe);
	if (access(exe, X_OK)) {
		pr_err("reload aborted: %s: %s", exe, strerror(errno));
		return;
	}
	env = malloc(n);
	if (!env)
		return;
	p = env + snprintf(env, n, "lfd=%d;shm=%d;gen=%u;afd=%d;rp=", lfd,
			   shmfd, sh->generation, afd);
	for (i = 0; i < nrp; i++)
		p += snprintf(p, env + n - p, "%d,", rp[i]);
	p += snprintf(p, env + n - p, ";old=");
	for (i = 0; i < MAX_SLOTS; i++)
		if (children[i].used && children[i].pid)
			p += snprintf(p, env + n - p, "%d:%d,", children[i].pid,
				      i);
	for (i = 0; i < nforeign; i++)
		p += snprintf(p, env + n - p, "%d:-1,", foreign[i]);
	setenv(ENV_INHERIT, env, 1);
	if (afd >= 0)
		setenv(ENV_ADMIN, cfg->admin_listen, 1);
	free(env);
	pr_info("reload: executing %s", exe);
	execv(exe, argv);
	pr_err("reload failed: exec %s: %s", exe, strerror(errno));
	unsetenv(ENV_INHERIT);
	unsetenv(ENV_ADMIN);
}

/* Take over what the previous master left: socket, shared block, workers. */
static int inherit(const char *env)
{
	int ofd = -1, gen = 0, slot, err;
	const char *old, *aspec;
	pid_t pid;

	if (sscanf(env, "lfd=%d;shm=%d;gen=%d;", &lfd, &ofd, &gen) != 3 ||
	    !(old = strstr(env, "old="))) {
		pr_err("bad %s", ENV_INHERIT);
		return -EINVAL;
	}
	/* the reuseport sockets of the old generation, if any */
	aspec = strstr(env, ";rp=");
	for (const char *q = aspec ? aspec + 4 : NULL;
	     q && *q != ';' && nold_rp < MAX_SLOTS;) {
		int fd;

		if (sscanf(q, "%d", &fd) != 1)
			break;
		old_rp[nold_rp++] = fd;
		q = strchr(q, ',');
		if (q)
			q++;
	}
	/* absent when the previous binary had no admin listener */
	aspec = strstr(env, ";afd=");
	if (!aspec || sscanf(aspec, ";afd=%d;", &afd) != 1)
		afd = -1;
	fcntl(lfd, F_SETFD, 0);
	aspec = getenv(ENV_ADMIN);
	if (afd >= 0 && (!aspec || strcmp(aspec, cfg->admin_listen))) {
		/* the admin listener moved (or went): the old socket closes
		 * with the old workers */
		close(afd);
		afd = -1;
	}
	if (cfg->admin_listen[0] && afd < 0) {
		afd = listen_on(cfg->admin_listen, 0);
		if (afd < 0)
			pr_err("reload: no admin listener on %s",
			       cfg->admin_listen);
	}
	err = shared_adopt(ofd);
	if (err) {
		pr_info("reload: cache layout changed, starting an empty cache");
		err = shared_create();
		if (err)
			return err;
		close(ofd);
	}
	sh->generation = gen + 1;
	for (old += 4; sscanf(old, "%d:%d", &pid, &slot) == 2;) {
		if (err == 0 && slot >= 0 && slot < MAX_SLOTS) {
			children[slot] = (struct child){ .used = 1,
							 .old = 1,
							 .pid = pid };
		} else if (nforeign < MAX_SLOTS) {
			foreign[nforeign++] = pid;
		}
		old = strchr(old, ',');
		if (!old)
			break;
		old++;
	}
	return 0;
}

int master_run(struct config *config, int argc, char **argv)
{
	const char *env = getenv(ENV_INHERIT);
	long long now, next, drain_at = 0, kill_at = 0, ready_by = 0;
	int stopping = 0, reloading = 0, err, n;
	struct signalfd_siginfo si;
	struct pollfd pfd;
	sigset_t mask;
	ssize_t len;

	cfg = config;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0) {
		pr_err("readlink /proc/self/exe: %s", strerror(errno));
		return EXIT_FAILURE;
	}
	exe[n] = '\0';
	/* after a replace on disk the link names "path (deleted)": the new
	 * binary is at path */
	if (n > 10 && !strcmp(exe + n - 10, " (deleted)"))
		exe[n - 10] = '\0';

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGQUIT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0) {
		pr_err("signalfd: %s", strerror(errno));
		return EXIT_FAILURE;
	}

	if (env) {
		err = inherit(env);
		unsetenv(ENV_INHERIT);
		unsetenv(ENV_ADMIN);
		if (err ||
		    (cfg->accept_mode == ACCEPT_REUSEPORT && open_reuseport()))
			return EXIT_FAILURE;
		reloading = 1;
		ready_by = mono_ms() + READY_WAIT_MS;
		pr_info("reloaded (generation %u): %u workers, %s",
			sh->generation, cfg->workers,
			cfg->root[0] ? cfg->root : cfg->origin_url);
	} else {
		if (cfg->accept_mode != ACCEPT_REUSEPORT) {
			lfd = listen_on(cfg->listen, 0);
			if (lfd < 0)
				return EXIT_FAILURE;
		} else if (open_reuseport()) {
			return EXIT_FAILURE;
		}
		if (cfg->admin_listen[0]) {
			afd = listen_on(cfg->admin_listen, 0);
			if (afd < 0)
				return EXIT_FAILURE;
		}
		err = shared_create();
		if (err) {
			pr_err("shared memory of %llu bytes: %s",
			       (unsigned long long)cfg->cache_size,
			       strerror(-err));
			return EXIT_FAILURE;
		}
		pr_info("listening on %s with %u workers, cache %llu bytes, %s %s",
			cfg->listen, cfg->workers,
			(unsigned long long)cfg->cache_size,
			cfg->root[0] ? "root" : "origin",
			cfg->root[0] ? cfg->root : cfg->origin_url);
	}
	STAT_SET(sh->draining, 0);
	start_generation();

	pfd.fd = sigfd;
	pfd.events = POLLIN;
	for (;;) {
		now = mono_ms();
		next = now + 1000;
		if (!stopping) {
			keep_one(now);
			respawn_due(now, &next);
		}
		if (reloading) {
			if (all_ready() || now >= ready_by) {
				if (!all_ready())
					pr_warn("reload: new workers slow to start; draining the old ones anyway");
				pr_info("reload: new workers accepting, draining %d old",
					live_children(1));
				signal_all(SIGTERM, 1);
				/* with tcp_migrate_req, what waits in these
				 * queues moves to the new sockets */
				for (int i = 0; i < nold_rp; i++)
					close(old_rp[i]);
				nold_rp = 0;
				reloading = 0;
			} else {
				next = now + 20;
			}
		}
		if (stopping == 1 && now >= drain_at) {
			/* /healthz said 503 long enough: stop accepting */
			pr_info("shutdown: draining %d workers",
				live_children(0));
			signal_all(SIGTERM, 0);
			close(lfd);
			lfd = -1;
			if (afd >= 0)
				close(afd);
			afd = -1;
			for (int i = 0; i < nrp; i++)
				close(rp[i]);
			nrp = 0;
			stopping = 2;
			kill_at = now + cfg->grace_ms;
		}
		if (stopping == 2) {
			if (!live_children(0)) {
				pr_info("shutdown complete");
				return EXIT_SUCCESS;
			}
			if (now >= kill_at) {
				pr_warn("shutdown: grace period over, killing %d workers",
					live_children(0));
				signal_all(SIGKILL, 0);
				stopping = 3;
				kill_at = now + 2000;
			}
		}
		if (stopping == 3 && (!live_children(0) || now >= kill_at))
			return EXIT_FAILURE;
		if (stopping == 1 && drain_at < next)
			next = drain_at;
		if (stopping >= 2 && kill_at < next)
			next = kill_at;

		n = poll(&pfd, 1, next > now ? (int)(next - now) : 0);
		if (n < 0 && errno != EINTR) {
			pr_err("poll: %s", strerror(errno));
			return EXIT_FAILURE;
		}
		while ((len = read(sigfd, &si, sizeof(si))) == sizeof(si)) {
			switch (si.ssi_signo) {
			case SIGCHLD:
				reap(stopping >= 2);
				break;
			case SIGHUP:
				if (stopping)
					break;
				reload(argc, argv);
				break;
			case SIGTERM:
			case SIGINT:
				if (stopping)
					break;
				pr_info("shutdown: /healthz answers 503 for %u ms first",
					cfg->drain_delay_ms);
				STAT_SET(sh->draining, 1);
				stopping = 1;
				drain_at = mono_ms() + cfg->drain_delay_ms;
				break;
			case SIGQUIT:
				pr_info("immediate stop");
				signal_all(SIGKILL, 0);
				while (waitpid(-1, NULL, 0) > 0)
					;
				return EXIT_SUCCESS;
			}
		}
		/* a SIGCHLD may coalesce with one already read: reap anyway */
		reap(stopping >= 2);
	}
}
