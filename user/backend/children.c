// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * children.c - the master's workers: forked into free slots, reaped, and
 * replaced when they die, with a brake on crash loops that never leaves the
 * server without a worker for long.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "master.h"

#define CRASH_WINDOW_MS 10000 /* a worker dying younger than this crashed */
#define BACKOFF_MAX_MS 30000
#define ALONE_MS 1000 /* no worker alive: the next one starts within this */

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
	struct child *c = &ms.children[slot];
	struct worker_slot *ws = &ms.sh->slots[slot];
	pid_t pid;

	STAT_SET(ws->ready, 0);
	STAT_SET(ws->generation, ms.sh->generation);
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
		int fd = ms.lfd;

		close(ms.sigfd);
		for (int i = 0; i < ms.nold_rp; i++)
			close(ms.old_rp[i]);
		for (int i = 0; i < ms.nrp; i++) {
			if (i == (int)c->index)
				fd = ms.rp[i];
			else
				close(ms.rp[i]);
		}
		worker_run(ms.cfg, fd, ms.afd, ms.sh, slot);
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
		if (!ms.children[i].used)
			return i;
	return -1;
}

void start_generation(void)
{
	for (unsigned int i = 0; i < ms.cfg->workers; i++) {
		int s = free_slot();

		if (s < 0) {
			pr_err("no free worker slot");
			return;
		}
		ms.children[s] = (struct child){ .used = 1, .index = i };
		memset(&ms.sh->slots[s], 0, sizeof(ms.sh->slots[s]));
		/* what workers scan of the slots, on every accept */
		if ((uint32_t)s >= STAT_GET(ms.sh->slot_end))
			STAT_SET(ms.sh->slot_end, (uint32_t)s + 1);
		spawn(s);
	}
}

int live_children(int old_only)
{
	int n = 0;

	for (int i = 0; i < MAX_SLOTS; i++)
		if (ms.children[i].used && ms.children[i].pid &&
		    (!old_only || ms.children[i].old))
			n++;
	return n + ms.nforeign;
}

void signal_all(int sig, int old_only)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (ms.children[i].used && ms.children[i].pid &&
		    (!old_only || ms.children[i].old))
			kill(ms.children[i].pid, sig);
	for (int i = 0; i < ms.nforeign; i++)
		kill(ms.foreign[i], sig);
}

void reap(int stopping)
{
	char why[128];
	int status, i;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < ms.nforeign; i++)
			if (ms.foreign[i] == pid) {
				ms.foreign[i] = ms.foreign[--ms.nforeign];
				pr_info("old worker %d %s", pid,
					describe(status, why, sizeof(why)));
				break;
			}
		for (i = 0; i < MAX_SLOTS; i++)
			if (ms.children[i].used && ms.children[i].pid == pid)
				break;
		if (i == MAX_SLOTS)
			continue;
		struct child *c = &ms.children[i];
		long long now = mono_ms(), delay = 0;

		STAT_SET(ms.sh->slots[i].pid, 0);
		STAT_SET(ms.sh->slots[i].ready, 0);
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
		STAT_ADD(ms.sh->slots[i].restarts, 1);
	}
}

/*
 * The crash brake may slow each slot down, but it must never leave the
 * server without any worker for long: when none is alive, the slot due
 * soonest is brought forward to ALONE_MS, and the log says so loudly (a
 * server that answers nothing is worse than one that crashes often).
 */
void keep_one(long long now)
{
	struct child *first = NULL;
	int live = 0;

	for (int i = 0; i < MAX_SLOTS; i++) {
		struct child *c = &ms.children[i];

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

void respawn_due(long long now, long long *next)
{
	for (int i = 0; i < MAX_SLOTS; i++) {
		struct child *c = &ms.children[i];

		if (!c->used || c->pid || c->old)
			continue;
		if (now >= c->respawn_at)
			spawn(i);
		else if (c->respawn_at < *next)
			*next = c->respawn_at;
	}
}

int all_ready(void)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (ms.children[i].used && !ms.children[i].old &&
		    (!ms.children[i].pid || !STAT_GET(ms.sh->slots[i].ready)))
			return 0;
	return 1;
}
