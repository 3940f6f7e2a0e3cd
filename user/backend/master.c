// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * master.c - the lb-backend master: owns the listening socket and the shared
 * memory, forks the workers, replaces the ones that die, reloads and stops.
 *
 * By default one listening socket, created here and inherited by every
 * worker: it has one queue, and whichever worker is alive and idle takes
 * the next connection (EPOLLEXCLUSIVE spares the herd, a worker that
 * accepted moves to the back of the waiters, and one over its share of
 * the open connections stands aside for a moment, see worker.c).  With
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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "master.h"

#define READY_WAIT_MS 10000 /* reload: how long new workers get to start */

struct master ms = { .lfd = -1, .afd = -1, .shmfd = -1, .sigfd = -1 };

int master_run(struct config *config, int argc, char **argv)
{
	const char *env = getenv(ENV_INHERIT);
	long long now, next, drain_at = 0, kill_at = 0, ready_by = 0;
	int stopping = 0, reloading = 0, err, n;
	struct signalfd_siginfo si;
	struct pollfd pfd;
	sigset_t mask;
	ssize_t len;

	ms.cfg = config;
	n = readlink("/proc/self/exe", ms.exe, sizeof(ms.exe) - 1);
	if (n < 0) {
		pr_err("readlink /proc/self/exe: %s", strerror(errno));
		return EXIT_FAILURE;
	}
	ms.exe[n] = '\0';
	/* after a replace on disk the link names "path (deleted)": the new
	 * binary is at path */
	if (n > 10 && !strcmp(ms.exe + n - 10, " (deleted)"))
		ms.exe[n - 10] = '\0';

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGQUIT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	ms.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (ms.sigfd < 0) {
		pr_err("signalfd: %s", strerror(errno));
		return EXIT_FAILURE;
	}

	if (env) {
		err = inherit(env);
		unsetenv(ENV_INHERIT);
		unsetenv(ENV_ADMIN);
		if (err || (ms.cfg->accept_mode == ACCEPT_REUSEPORT &&
			    open_reuseport()))
			return EXIT_FAILURE;
		reloading = 1;
		ready_by = mono_ms() + READY_WAIT_MS;
		pr_info("reloaded (generation %u): %u workers, %s",
			ms.sh->generation, ms.cfg->workers,
			ms.cfg->root[0] ? ms.cfg->root : ms.cfg->origin_url);
	} else {
		if (open_fresh())
			return EXIT_FAILURE;
	}
	STAT_SET(ms.sh->draining, 0);
	start_generation();

	pfd.fd = ms.sigfd;
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
				for (int i = 0; i < ms.nold_rp; i++)
					close(ms.old_rp[i]);
				ms.nold_rp = 0;
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
			close(ms.lfd);
			ms.lfd = -1;
			if (ms.afd >= 0)
				close(ms.afd);
			ms.afd = -1;
			for (int i = 0; i < ms.nrp; i++)
				close(ms.rp[i]);
			ms.nrp = 0;
			stopping = 2;
			kill_at = now + ms.cfg->grace_ms;
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
		while ((len = read(ms.sigfd, &si, sizeof(si))) == sizeof(si)) {
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
					ms.cfg->drain_delay_ms);
				STAT_SET(ms.sh->draining, 1);
				stopping = 1;
				drain_at = mono_ms() + ms.cfg->drain_delay_ms;
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
