// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_state.c - lbd's state file (user/lbd/state.c), linked with state.o
 * alone: a save followed by a load gives back the same configuration; a
 * corrupt, truncated or invalid file is refused with an error naming the
 * file and the problem, and the state in memory stays as it was; a save
 * leaves no temporary file behind and, when it fails (directory not
 * writable, file system full or read-only), the old file is intact.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "lbd.h"

static char tmpdir[] = "/tmp/lb-test-state.XXXXXX";

/* ---------------------------------------------------------------- model */

static struct lbd_vip *add_vip(struct lbd *d, const char *spec, uint32_t id,
			       uint32_t flags, uint32_t size)
{
	struct lbd_vip *v;

	if (d->nvips == d->cap_vips) {
		d->cap_vips = d->cap_vips ? d->cap_vips * 2 : 4;
		d->vips = realloc(d->vips, d->cap_vips * sizeof(*d->vips));
		if (!d->vips)
			abort();
	}
	v = &d->vips[d->nvips++];
	memset(v, 0, sizeof(*v));
	if (lb_parse_vip(spec, &v->spec, NULL, 0))
		abort();
	v->id = id;
	v->flags = flags;
	v->table_size = size;
	return v;
}

static struct lbd_backend *add_be(struct lbd_vip *v, const char *addr,
				  uint32_t id, uint32_t gen, uint32_t weight,
				  enum lbd_admin admin)
{
	struct lbd_backend *b;

	if (v->nbe == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 2;
		v->be = realloc(v->be, v->cap * sizeof(*v->be));
		if (!v->be)
			abort();
	}
	b = &v->be[v->nbe++];
	memset(b, 0, sizeof(*b));
	if (lb_parse_addr(addr, &b->addr, &b->family, NULL, 0))
		abort();
	b->id = id;
	b->gen = gen;
	b->weight = weight;
	b->admin = admin;
	b->health_up = true;
	return b;
}

static void init_lbd(struct lbd *d, const char *path)
{
	memset(d, 0, sizeof(*d));
	d->state_path = path;
	d->ctl_fd = -1;
}

/* Every kind of persisted value: both families, both modes, both hash
 * modes, smallest/default/largest tables, weights 0..max, draining, a
 * backend that is down at run time, IPv6 backends of an IPv4 VIP, a VIP
 * without backends, both encapsulation sources. */
static void full_model(struct lbd *d, const char *path)
{
	struct lbd_vip *v;
	struct lbd_backend *b;

	init_lbd(d, path);
	d->seed = 0x0123456789abcdefULL;
	d->next_gen = 4000000000u;
	lb_parse_addr("10.200.0.2", &d->encap_src4, (uint8_t[1]){}, NULL, 0);
	lb_parse_addr("fd00:200::2", &d->encap_src6, (uint8_t[1]){}, NULL, 0);
	d->encap_src4_set = d->encap_src6_set = true;

	v = add_vip(d, "10.200.100.1:80/tcp", 7, 0, LB_MAGLEV_DEFAULT_SIZE);
	add_be(v, "10.200.0.11", 101, 1, 1, LBD_ADMIN_ACTIVE);
	add_be(v, "10.200.0.12", 102, 2, LBD_MAX_WEIGHT, LBD_ADMIN_DRAINING);
	b = add_be(v, "10.200.0.13", 103, 3, 0, LBD_ADMIN_ACTIVE);
	b->health_up = false; /* down: run time only, not persisted */
	snprintf(b->health_err, sizeof(b->health_err), "connect refused");
	b = add_be(v, "10.200.0.14", 104, 4, 5, LBD_ADMIN_ACTIVE);
	b->mac_ok = true; /* resolved: run time only */
	memcpy(b->mac, "\x02\0\0\0\0\x0e", 6);

	/* on-down: rehash on this TCP VIP and keep on this UDP one, both
	 * not the default, so that a lost value shows */
	v = add_vip(d, "[fd00:200:100::1]:443/udp", 8,
		    LB_VIP_F_ENCAP | LB_VIP_F_HASH_SRC | LB_VIP_F_ON_DOWN_KEEP,
		    251);
	add_be(v, "fd00:200::11", 201, 7, 3, LBD_ADMIN_DRAINING);
	add_be(v, "fd00:200::12", 202, 4000000000u, 9999, LBD_ADMIN_ACTIVE);

	v = add_vip(d, "10.200.100.2/udp", 1023, LB_VIP_F_ENCAP,
		    LB_MAGLEV_MAX_SIZE);
	add_be(v, "fd00:200::13", 16383, 9, 2, LBD_ADMIN_ACTIVE);
	add_be(v, "10.200.0.13", 1, 10, 1, LBD_ADMIN_ACTIVE);

	v = add_vip(d, "[fd00:200:100::2]/tcp", 0,
		    LB_VIP_F_HASH_SRC | LB_VIP_F_ON_DOWN_KEEP, 3);
}

/* The persisted part of two models differs: describe how, or NULL. */
static const char *diff(const struct lbd *a, const struct lbd *b, char *buf,
			size_t len)
{
	if (a->seed != b->seed)
		return "hash seed";
	if (a->next_gen != b->next_gen)
		return "next_gen";
	if (a->encap_src4_set != b->encap_src4_set ||
	    a->encap_src6_set != b->encap_src6_set ||
	    (a->encap_src4_set && a->encap_src4.v4 != b->encap_src4.v4) ||
	    (a->encap_src6_set &&
	     memcmp(&a->encap_src6, &b->encap_src6, sizeof(a->encap_src6))))
		return "encap sources";
	if (a->nvips != b->nvips)
		return "number of VIPs";
	for (size_t i = 0; i < a->nvips; i++) {
		const struct lbd_vip *x = &a->vips[i], *y = &b->vips[i];

		snprintf(buf, len, "VIP %zu", i);
		if (memcmp(&x->spec, &y->spec, sizeof(x->spec)) ||
		    x->id != y->id || x->flags != y->flags ||
		    x->table_size != y->table_size || x->nbe != y->nbe)
			return buf;
		for (size_t j = 0; j < x->nbe; j++) {
			const struct lbd_backend *p = &x->be[j], *q = &y->be[j];

			snprintf(buf, len, "VIP %zu backend %zu", i, j);
			if (p->family != q->family ||
			    memcmp(&p->addr, &q->addr, sizeof(p->addr)) ||
			    p->id != q->id || p->gen != q->gen ||
			    p->weight != q->weight || p->admin != q->admin)
				return buf;
		}
	}
	return NULL;
}

/* The model as text, to see that a refused load changed nothing. */
static char *snapshot(struct lbd *d)
{
	struct jw w;
	char *s;

	jw_init(&w, false);
	lbd_state_to_json(d, &w);
	s = strdup(w.buf ? w.buf : "");
	jw_free(&w);
	return s;
}

/* ---------------------------------------------------------------- files */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = 0;
		if (len)
			*len = (size_t)n;
	}
	return buf;
}

static int write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(text, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Names in dir other than the one expected; NULL if none. */
static char *stray_files(const char *dir, const char *keep1, const char *keep2)
{
	static char found[256];
	struct dirent *e;
	DIR *d = opendir(dir);

	found[0] = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    (keep1 && !strcmp(e->d_name, keep1)) ||
		    (keep2 && !strcmp(e->d_name, keep2)))
			continue;
		snprintf(found, sizeof(found), "%s", e->d_name);
		break;
	}
	closedir(d);
	return found[0] ? found : NULL;
}

/* ---------------------------------------------------------------- tests */

static void test_roundtrip(void)
{
	char path[256], buf[64], err[512] = "", *text1, *text2;
	struct lbd a, b;
	const char *why;
	struct stat st;
	int rc;

	snprintf(path, sizeof(path), "%s/rt/sub/state.json", tmpdir);
	full_model(&a, path);
	rc = lbd_state_save(&a, err, sizeof(err));
	if (!T_CHECK("save creates the directories and the file", !rc,
		     "save failed: %s", err))
		goto out;
	T_CHECK("saved file is mode 0600",
		!stat(path, &st) && (st.st_mode & 07777) == 0600, "mode %o",
		st.st_mode & 07777);
	snprintf(buf, sizeof(buf), "%s/rt/sub", tmpdir);
	T_CHECK("save leaves no temporary file",
		!stray_files(buf, "state.json", NULL), "found %s",
		stray_files(buf, "state.json", NULL));

	init_lbd(&b, path);
	rc = lbd_state_load(&b, err, sizeof(err));
	if (!T_CHECK("load of a saved file", rc == 0, "rc %d: %s", rc, err))
		goto out_b;
	why = diff(&a, &b, buf, sizeof(buf));
	T_CHECK("round trip keeps every persisted value", !why, "%s differs",
		why);

	/* run-time facts are not persisted: loaded backends wait for their
	 * next hop and count as up for health until checked */
	rc = 1;
	for (size_t i = 0; i < b.nvips; i++)
		for (size_t j = 0; j < b.vips[i].nbe; j++)
			rc &= !b.vips[i].be[j].mac_ok &&
			      b.vips[i].be[j].health_up;
	T_CHECK("loaded backends start unresolved", rc,
		"a run-time state was persisted");
	{
		char st1[16], st2[16];

		T_CHECK("backend state after load",
			!strcmp(lbd_backend_state(&b.vips[0].be[1], st1,
						  sizeof(st1)),
				"down") &&
				!strcmp(lbd_backend_state(&a.vips[0].be[2], st2,
							  sizeof(st2)),
					"down"),
			"states %s %s", st1, st2);
	}

	/* saving what was loaded writes the same bytes */
	text1 = read_file(path, NULL);
	rc = lbd_state_save(&b, err, sizeof(err));
	text2 = read_file(path, NULL);
	T_CHECK("save of a loaded state is identical",
		!rc && text1 && text2 && !strcmp(text1, text2), "rc %d: %s", rc,
		err);
	free(text1);
	free(text2);
out_b:
	lbd_state_free(&b);
out:
	lbd_state_free(&a);
}

static void test_empty_and_missing(void)
{
	char path[256], err[512] = "", buf[64];
	struct lbd a, b;
	int rc;

	snprintf(path, sizeof(path), "%s/empty.json", tmpdir);
	init_lbd(&a, path);
	a.seed = LBD_DEFAULT_SEED;
	rc = lbd_state_save(&a, err, sizeof(err));
	init_lbd(&b, path);
	b.seed = 1;
	if (!rc)
		rc = lbd_state_load(&b, err, sizeof(err));
	T_CHECK("empty state round trip",
		!rc && b.nvips == 0 && !b.encap_src4_set && !b.encap_src6_set &&
			!diff(&a, &b, buf, sizeof(buf)),
		"rc %d: %s", rc, err);
	lbd_state_free(&b);

	snprintf(path, sizeof(path), "%s/absent.json", tmpdir);
	full_model(&a, path);
	{
		char *before = snapshot(&a);
		char *after;

		rc = lbd_state_load(&a, err, sizeof(err));
		after = snapshot(&a);
		T_CHECK("missing file means no state yet",
			rc == 1 && !strcmp(before, after), "rc %d", rc);
		free(before);
		free(after);
	}
	lbd_state_free(&a);

	/* a directory where the file should be: the reason, not just "cannot
	 * read" */
	snprintf(path, sizeof(path), "%s/adir.json", tmpdir);
	if (mkdir(path, 0700) && errno != EEXIST)
		perror("mkdir");
	init_lbd(&b, path);
	rc = lbd_state_load(&b, err, sizeof(err));
	T_CHECK("a directory as state file is refused with the reason",
		rc < 0 && strstr(err, path) && strstr(err, "is a directory"),
		"rc %d: %s", rc, err);
	lbd_state_free(&b);
}

/* A file that must be refused: load fails, names the file and contains
 * what, and the model in memory is exactly as before. */
static void refused(const char *name, const char *text, size_t len,
		    const char *what)
{
	char path[256], err[512] = "", *before, *after, *ondisk;
	size_t disklen = 0;
	bool kept;
	struct lbd d;
	struct lbd_vip *vips;
	int rc;

	snprintf(path, sizeof(path), "%s/bad.json", tmpdir);
	if (write_file(path, text, len)) {
		t_fail(name, "cannot write %s", path);
		return;
	}
	full_model(&d, path);
	vips = d.vips;
	before = snapshot(&d);
	rc = lbd_state_load(&d, err, sizeof(err));
	after = snapshot(&d);
	ondisk = read_file(path, &disklen);
	kept = ondisk && disklen == len && !memcmp(ondisk, text, len);
	if (rc >= 0)
		t_fail(name, "accepted (rc %d)", rc);
	else
		T_CHECK(name,
			strstr(err, path) && strstr(err, what) &&
				!strchr(err, '\n') && d.vips == vips &&
				!strcmp(before, after) && kept,
			"error '%s' (want '%s'), state %s, file %s", err, what,
			strcmp(before, after) ? "changed" : "kept",
			kept ? "kept" : "changed");
	free(before);
	free(after);
	free(ondisk);
	lbd_state_free(&d);
}

/* The valid file with the first occurrence of from replaced by to. */
static void mutated(const char *good, const char *from, const char *to,
		    const char *what)
{
	const char *at = strstr(good, from);
	char name[160], *text;
	size_t n;

	snprintf(name, sizeof(name), "refuse %s -> %s", from, to);
	/* one line per result: fold the file's newlines and indents */
	for (char *p = name, *q = name;; p++) {
		if (*p == '\n' || (*p == ' ' && q > name && q[-1] == ' '))
			continue;
		*q++ = *p;
		if (!*p)
			break;
	}
	if (!at) {
		t_fail(name, "'%s' not in the saved file", from);
		return;
	}
	n = strlen(good) - strlen(from) + strlen(to);
	text = malloc(n + 1);
	memcpy(text, good, (size_t)(at - good));
	strcpy(text + (at - good), to);
	strcat(text, at + strlen(from));
	refused(name, text, n, what);
	free(text);
}

/* Edits of a valid file that make it invalid: {from, to, the error names}.
 * Each replaces the first occurrence of from. */
static const struct {
	const char *from, *to, *what;
} mutations[] = {
	{ "\"version\": 1", "\"version\": 2", "version" },
	{ "\"version\": 1", "\"versio\": 1", "version" },
	{ "\"hash_seed\": \"0x", "\"hash_seed\": \"zz", "hash_seed" },
	{ "\"hash_seed\": \"0x", "\"hash_seed\": \"0x1", "hash_seed" },
	{ "\"next_gen\": 4000000000", "\"next_gen\": 4294967296", "next_gen" },
	{ "\"next_gen\"", "\"next_gen\": 1, \"next_gen\"", "duplicate key" },
	{ "\"encap_src4\": \"10.200.0.2\"", "\"encap_src4\": \"fd00:200::2\"",
	  "encap_src4" },
	{ "\"encap_src6\": \"fd00:200::2\"", "\"encap_src6\": \"10.200.0.2\"",
	  "encap_src6" },
	{ "\"vips\": [", "\"vips\": 5, \"x\": [", "vips" },
	{ "\"vip\": \"10.200.100.1:80/tcp\"", "\"vip\": \"10.200.100.1:0/tcp\"",
	  "vip" },
	{ "\"vip\": \"10.200.100.1:80/tcp\"",
	  "\"vip\": \"[fd00:200:100::1]:443/udp\"", "duplicate VIP" },
	{ "\"id\": 8,", "\"id\": 7,", "duplicate VIP" },
	{ "\"id\": 1023,", "\"id\": 1024,", "id" },
	{ "\"mode\": \"dsr\"", "\"mode\": \"nat\"", "mode" },
	{ "\"mode\": \"dsr\"", "\"mode\": 0", "mode" },
	{ "\"hash\": \"src\"", "\"hash\": \"dst\"", "hash" },
	{ "\"on_down\": \"rehash\"", "\"on_down\": \"never\"", "on_down" },
	{ "\"on_down\": \"keep\"", "\"on_down\": 1", "on_down" },
	{ "\"table_size\": 65537", "\"table_size\": 65536", "table_size" },
	{ "\"table_size\": 65537", "\"table_size\": \"65537\"", "table_size" },
	{ "\"table_size\": 655373", "\"table_size\": 655379", "table_size" },
	/* the control socket refuses tables under 3 slots */
	{ "\"table_size\": 3", "\"table_size\": 2", "table_size" },
	{ "\"backends\": [", "\"backendz\": [", "backends" },
	{ "\"addr\": \"10.200.0.12\"", "\"addr\": \"10.200.0.312\"", "addr" },
	{ "\"addr\": \"10.200.0.12\"", "\"addr\": \"10.200.0.11\"",
	  "duplicate backend" },
	{ "\"id\": 102,", "\"id\": 101,", "duplicate backend id" },
	{ "\"id\": 201,", "\"id\": 101,", "duplicate backend id" },
	{ "\"id\": 101,", "\"id\": 0,", "id" },
	{ "\"id\": 16383,", "\"id\": 16384,", "id" },
	{ "\"gen\": 4000000000", "\"gen\": 4294967296", "gen" },
	{ "\"weight\": 10000", "\"weight\": 10001", "weight" },
	{ "\"weight\": 9999", "\"weight\": -1", "weight" },
	{ "\"weight\": 9999", "\"weight\": 1.5", "weight" },
	{ "\"admin\": \"draining\"", "\"admin\": \"down\"", "admin" },
	/* an IPv6 backend needs encapsulation behind an IPv4 VIP */
	{ "\"mode\": \"ipip\",\n      \"hash\": \"5tuple\"",
	  "\"mode\": \"dsr\",\n      \"hash\": \"5tuple\"", "IPv" },
};

static void test_refused(void)
{
	char path[256], err[512] = "", *good, name[64];
	size_t len, end;
	struct lbd a;
	int bad_prefix = 0;

	snprintf(path, sizeof(path), "%s/good.json", tmpdir);
	full_model(&a, path);
	if (lbd_state_save(&a, err, sizeof(err)) ||
	    !(good = read_file(path, &len))) {
		t_fail("refused files", "cannot save the model: %s", err);
		lbd_state_free(&a);
		return;
	}
	lbd_state_free(&a);

	/* every truncation of the document is refused (only trailing
	 * whitespace may go) */
	end = len;
	while (end && (good[end - 1] == '\n' || good[end - 1] == ' '))
		end--;
	for (size_t n = 0; n < end; n++) {
		char err2[512] = "";
		struct lbd d;
		int rc;

		if (write_file(path, good, n)) {
			/* a prefix not tried is not a prefix refused */
			if (!bad_prefix++)
				t_fail("refuse every truncation",
				       "cannot write %zu of %zu bytes to %s", n,
				       end, path);
			break;
		}
		full_model(&d, path);
		rc = lbd_state_load(&d, err2, sizeof(err2));
		if (rc >= 0 || !strstr(err2, path) || d.nvips != 4) {
			if (!bad_prefix++)
				t_fail("refuse every truncation",
				       "%zu of %zu bytes: rc %d '%s'", n, end,
				       rc, err2);
		}
		lbd_state_free(&d);
	}
	if (!bad_prefix)
		t_pass("refuse every truncation");
	refused("refuse truncated file", good, len / 2, "corrupt");
	refused("refuse empty file", "", 0, "corrupt");
	refused("refuse not JSON", "version=1\n", 10, "corrupt");
	refused("refuse JSON not an object", "[1]\n", 4, "not a JSON object");
	{
		char *t = malloc(len + 3);

		memcpy(t, good, len);
		memcpy(t + len, "}\n", 2);
		refused("refuse trailing garbage", t, len + 2, "trailing data");
		free(t);
	}
	snprintf(name, sizeof(name), "refuse NUL byte");
	{
		char *t = malloc(len);

		memcpy(t, good, len);
		t[len / 3] = 0;
		refused(name, t, len, "corrupt");
		free(t);
	}

	for (size_t i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++)
		mutated(good, mutations[i].from, mutations[i].to,
			mutations[i].what);

	/* a directory where the file should be */
	snprintf(path, sizeof(path), "%s/adir.json", tmpdir);
	mkdir(path, 0700);
	{
		struct lbd d;
		char *before, *after;
		int rc;

		full_model(&d, path);
		before = snapshot(&d);
		rc = lbd_state_load(&d, err, sizeof(err));
		after = snapshot(&d);
		T_CHECK("refuse a directory as state file",
			rc < 0 && strstr(err, path) && !strcmp(before, after),
			"rc %d '%s'", rc, err);
		free(before);
		free(after);
		lbd_state_free(&d);
	}
	rmdir(path);

	/* larger than any state lbd writes (sparse, costs nothing) */
	snprintf(path, sizeof(path), "%s/huge.json", tmpdir);
	{
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		struct lbd d;
		int rc;

		if (fd < 0 || ftruncate(fd, 65 << 20)) {
			t_fail("refuse a huge file", "cannot create it");
		} else {
			full_model(&d, path);
			rc = lbd_state_load(&d, err, sizeof(err));
			T_CHECK("refuse a huge file",
				rc < 0 && strstr(err, "too large") &&
					d.nvips == 4,
				"rc %d '%s'", rc, err);
			lbd_state_free(&d);
		}
		if (fd >= 0)
			close(fd);
		unlink(path);
	}
	free(good);
}

/* ---------------------------------------------------------------- failing
 * saves.  Each runs in a child (it changes user or mount namespace) that
 * reports the save's return code and message through a pipe. */

struct child_result {
	int rc;
	char err[500];
};

static int in_child(int (*fn)(const char *dir, char *err, size_t len),
		    const char *dir, struct child_result *r)
{
	int p[2], status;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (pipe(p))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		struct child_result c = {};

		close(p[0]);
		c.rc = fn(dir, c.err, sizeof(c.err));
		if (write(p[1], &c, sizeof(c)) != sizeof(c))
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], r, sizeof(*r)) != sizeof(*r))
		r->rc = -9999;
	close(p[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && !WEXITSTATUS(status) && r->rc != -9999 ? 0 :
									     -1;
}

static void model_path(struct lbd *d, const char *dir, char *path, size_t len,
		       int nvips)
{
	snprintf(path, len, "%s/state.json", dir);
	full_model(d, path);
	for (int i = 0; i < nvips; i++) {
		char spec[64];

		snprintf(spec, sizeof(spec), "10.200.101.%d:%d/tcp", i + 1,
			 1000 + i);
		add_vip(d, spec, 100 + (uint32_t)i, 0, LB_MAGLEV_DEFAULT_SIZE);
	}
}

/* As nobody, in a directory owned by root: the directory is not
 * writable. */
static int save_as_nobody(const char *dir, char *err, size_t len)
{
	char path[256];
	struct lbd d;

	if (setgid(65534) || setuid(65534)) {
		snprintf(err, len, "cannot become nobody: %s", strerror(errno));
		return -10000;
	}
	model_path(&d, dir, path, sizeof(path), 5);
	return lbd_state_save(&d, err, len);
}

/* A tmpfs of two pages holding a one-page file: a larger save cannot fit
 * beside the old file, the write fails with ENOSPC. */
static int save_on_full_fs(const char *dir, char *err, size_t len)
{
	char path[256];
	struct lbd d;
	int rc;

	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", dir, "tmpfs", 0, "size=8k,mode=0755")) {
		snprintf(err, len, "no private tmpfs: %s", strerror(errno));
		return -10000;
	}
	model_path(&d, dir, path, sizeof(path), 0);
	rc = lbd_state_save(&d, err, len);
	if (rc) {
		snprintf(err, len, "the first save failed: rc %d", rc);
		return -10001;
	}
	lbd_state_free(&d);
	/* the one file the child hands back: the old content */
	{
		size_t n;
		char *old = read_file(path, &n), *now;

		model_path(&d, dir, path, sizeof(path), 40);
		rc = lbd_state_save(&d, err, len);
		now = read_file(path, NULL);
		if (!old || !now || strcmp(old, now))
			rc = -20000; /* old file damaged */
		else if (stray_files(dir, "state.json", NULL))
			rc = -20001; /* temporary file left */
		free(old);
		free(now);
	}
	return rc;
}

/* The same on a file system remounted read-only. */
static int save_on_ro_fs(const char *dir, char *err, size_t len)
{
	char path[256], *old, *now;
	struct lbd d;
	int rc;

	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", dir, "tmpfs", 0, "size=64k,mode=0755")) {
		snprintf(err, len, "no private tmpfs: %s", strerror(errno));
		return -10000;
	}
	model_path(&d, dir, path, sizeof(path), 0);
	if (lbd_state_save(&d, err, len))
		return -10001;
	old = read_file(path, NULL);
	if (mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL)) {
		snprintf(err, len, "cannot remount read-only: %s",
			 strerror(errno));
		return -10000;
	}
	d.vips[0].be[0].weight = 77;
	rc = lbd_state_save(&d, err, len);
	now = read_file(path, NULL);
	if (!old || !now || strcmp(old, now))
		rc = -20000;
	free(old);
	free(now);
	return rc;
}

/* A state file from before "on_down" existed: TCP VIPs keep flows on a
 * backend that fails its check, UDP VIPs re-hash them. */
static void test_on_down_default(void)
{
	char path[256], err[512] = "", *good, *p, *q;
	uint32_t want[4] = { LB_VIP_F_ON_DOWN_KEEP, 0, 0,
			     LB_VIP_F_ON_DOWN_KEEP };
	struct lbd a, d;
	size_t len;
	int rc, ok = 1;

	snprintf(path, sizeof(path), "%s/old.json", tmpdir);
	full_model(&a, path);
	if (lbd_state_save(&a, err, sizeof(err)) ||
	    !(good = read_file(path, &len))) {
		t_fail("on_down absent: the default", "cannot save: %s", err);
		lbd_state_free(&a);
		return;
	}
	lbd_state_free(&a);
	/* drop every "on_down" line */
	while ((p = strstr(good, "\"on_down\"")) != NULL) {
		q = strchr(p, '\n');
		while (p > good && p[-1] == ' ')
			p--;
		memmove(p, q + 1, strlen(q + 1) + 1);
	}
	write_file(path, good, strlen(good));
	free(good);
	init_lbd(&d, path);
	rc = lbd_state_load(&d, err, sizeof(err));
	for (size_t i = 0; rc >= 0 && i < d.nvips && i < 4; i++)
		ok &= (d.vips[i].flags & LB_VIP_F_ON_DOWN_KEEP) == want[i];
	T_CHECK("on_down absent: keep for TCP, rehash for UDP",
		rc >= 0 && d.nvips == 4 && ok, "rc %d '%s', %zu VIPs, flags %s",
		rc, err, d.nvips, ok ? "right" : "wrong");
	lbd_state_free(&d);
}

static void test_save_fails(void)
{
	char dir[256], path[256], blocker[300], err[512] = "", *old, *now;
	struct child_result r;
	struct lbd d;
	int rc;

	/* 1. the temporary name is taken by a directory: the save cannot
	 * create its file; no privilege needed */
	snprintf(dir, sizeof(dir), "%s/blocked", tmpdir);
	mkdir(dir, 0755);
	model_path(&d, dir, path, sizeof(path), 0);
	lbd_state_save(&d, err, sizeof(err));
	old = read_file(path, NULL);
	snprintf(blocker, sizeof(blocker), "%s.tmp.%d", path, (int)getpid());
	mkdir(blocker, 0755);
	d.vips[0].be[0].weight = 77;
	rc = lbd_state_save(&d, err, sizeof(err));
	now = read_file(path, NULL);
	T_CHECK("failed save keeps the old file (temp name taken)",
		rc < 0 && strstr(err, path) && old && now && !strcmp(old, now),
		"rc %d '%s'", rc, err);
	rmdir(blocker);
	T_CHECK("failed save leaves no temporary file (temp name taken)",
		!stray_files(dir, "state.json", NULL), "found %s",
		stray_files(dir, "state.json", NULL));
	free(old);
	free(now);
	lbd_state_free(&d);

	/* 2. directory not writable: as root nothing is, so save as nobody
	 * in a root-owned directory */
	snprintf(dir, sizeof(dir), "%s/ro", tmpdir);
	mkdir(dir, 0755);
	model_path(&d, dir, path, sizeof(path), 0);
	lbd_state_save(&d, err, sizeof(err));
	lbd_state_free(&d);
	old = read_file(path, NULL);
	chmod(tmpdir, 0755); /* nobody may reach dir */
	if (getuid() != 0) {
		printf("SKIP failed save in a non-writable directory: needs "
		       "root to switch to nobody\n");
	} else if (in_child(save_as_nobody, dir, &r) || r.rc == -10000) {
		t_fail("failed save keeps the old file (directory not writable)",
		       "child failed: %s", r.err);
	} else {
		now = read_file(path, NULL);
		T_CHECK("failed save keeps the old file (directory not writable)",
			r.rc < 0 && strstr(r.err, "Permission denied") &&
				strstr(r.err, dir) && old && now &&
				!strcmp(old, now),
			"rc %d '%s'", r.rc, r.err);
		T_CHECK("failed save leaves no temporary file (directory not "
			"writable)",
			!stray_files(dir, "state.json", NULL), "found %s",
			stray_files(dir, "state.json", NULL));
		free(now);
	}
	chmod(tmpdir, 0700);
	free(old);

	/* 3. file system full, 4. read-only: in a private mount namespace */
	snprintf(dir, sizeof(dir), "%s/full", tmpdir);
	mkdir(dir, 0755);
	if (in_child(save_on_full_fs, dir, &r) || r.rc == -10000 ||
	    r.rc == -10001) {
		printf("SKIP failed save on a full file system: %s\n", r.err);
	} else {
		T_CHECK("failed save keeps the old file (file system full)",
			r.rc < 0 && r.rc != -20000, "rc %d '%s'", r.rc, r.err);
		T_CHECK("failed save says why (file system full)",
			r.rc < 0 && strstr(r.err, "No space left"),
			"rc %d '%s'", r.rc, r.err);
		T_CHECK("failed save leaves no temporary file (file system full)",
			r.rc != -20001, "a temporary file is left");
	}
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/rofs", tmpdir);
	mkdir(dir, 0755);
	if (in_child(save_on_ro_fs, dir, &r) || r.rc == -10000 ||
	    r.rc == -10001) {
		printf("SKIP failed save on a read-only file system: %s\n",
		       r.err);
	} else {
		T_CHECK("failed save keeps the old file (read-only file system)",
			r.rc < 0 && r.rc != -20000 &&
				strstr(r.err, "Read-only file system"),
			"rc %d '%s'", r.rc, r.err);
	}
	rmdir(dir);
}

/* ---------------------------------------------------------------- model
 * helpers of state.c */

static void test_model_helpers(void)
{
	struct lbd d;
	struct lb_vip_spec s;
	union lb_addr a;
	uint8_t fam;
	uint32_t id = 0;
	struct lbd_backend *b;
	char st[16];

	full_model(&d, "/nonexistent");
	lb_parse_vip("[fd00:200:100::1]:443/udp", &s, NULL, 0);
	T_CHECK("find_vip", lbd_find_vip(&d, &s) == &d.vips[1], "not found");
	s.proto = IPPROTO_TCP;
	T_CHECK("find_vip other proto", !lbd_find_vip(&d, &s), "found");
	lb_parse_addr("10.200.0.13", &a, &fam, NULL, 0);
	T_CHECK("find_backend",
		lbd_find_backend(&d.vips[0], &a, fam) == &d.vips[0].be[2] &&
			lbd_find_backend(&d.vips[2], &a, fam) ==
				&d.vips[2].be[1] &&
			!lbd_find_backend(&d.vips[1], &a, fam),
		"wrong");
	T_CHECK("alloc_vip_id smallest free",
		!lbd_alloc_vip_id(&d, &id) && id == 1, "got %u", id);
	T_CHECK("alloc_backend_id smallest free",
		!lbd_alloc_backend_id(&d, &id) && id == 2, "got %u", id);

	b = &d.vips[0].be[0]; /* weight 1, active, not resolved */
	T_CHECK("backend unresolved is down",
		!strcmp(lbd_backend_state(b, st, sizeof(st)), "down") &&
			!lbd_backend_usable(b) &&
			lbd_backend_table_weight(b) == 0,
		"state %s", st);
	b->mac_ok = true;
	/* table weights are in hundredths of the configured weight */
	T_CHECK("backend resolved is active",
		!strcmp(lbd_backend_state(b, st, sizeof(st)), "active") &&
			lbd_backend_table_weight(b) == 100,
		"state %s, table weight %u", st, lbd_backend_table_weight(b));
	b->hc.ramp_start_ms = lbd_now_ms();
	b->hc.ramp_ms = 10000;
	T_CHECK("slow start begins at 5% of the weight",
		lbd_backend_table_weight(b) == 5, "table weight %u",
		lbd_backend_table_weight(b));
	b->hc.ramp_start_ms = lbd_now_ms() - 5000;
	T_CHECK("slow start half way is about half",
		lbd_backend_table_weight(b) >= 52 &&
			lbd_backend_table_weight(b) <= 53,
		"table weight %u", lbd_backend_table_weight(b));
	b->hc.ramp_start_ms = lbd_now_ms() - 10000;
	T_CHECK("slow start ends at the full weight",
		lbd_backend_table_weight(b) == 100, "table weight %u",
		lbd_backend_table_weight(b));
	b->hc.ramp_ms = 0;
	b->admin = LBD_ADMIN_DRAINING;
	T_CHECK("backend draining leaves the table",
		!strcmp(lbd_backend_state(b, st, sizeof(st)), "draining") &&
			lbd_backend_usable(b) &&
			lbd_backend_table_weight(b) == 0,
		"state %s", st);
	b->admin = LBD_ADMIN_ACTIVE;
	b->health_up = false;
	T_CHECK("backend failing health is down",
		!strcmp(lbd_backend_state(b, st, sizeof(st)), "down") &&
			lbd_backend_table_weight(b) == 0,
		"state %s", st);
	lbd_state_free(&d);
	T_CHECK("state_free empties", !d.vips && !d.nvips, "not empty");
}

/* ---------------------------------------------------------------- journal */

static struct lbd_vip *copy_vips(const struct lbd *d)
{
	struct lbd_vip *c = calloc(d->nvips + 1, sizeof(*c));

	if (!c)
		abort();
	for (size_t i = 0; i < d->nvips; i++) {
		c[i] = d->vips[i];
		c[i].be = malloc((d->vips[i].nbe + 1) * sizeof(*c[i].be));
		if (!c[i].be)
			abort();
		memcpy(c[i].be, d->vips[i].be,
		       d->vips[i].nbe * sizeof(*c[i].be));
	}
	return c;
}

static void free_copy(struct lbd_vip *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(c[i].be);
	free(c);
}

/* Save the change made to d since old (a copy_vips of n VIPs). */
static int commit(struct lbd *d, struct lbd_vip *old, size_t n)
{
	char err[256];
	int rc = lbd_state_commit(d, old, n, err, sizeof(err));

	if (rc)
		fprintf(stderr, "commit: %s\n", err);
	free_copy(old, n);
	return rc;
}

static size_t lines_of(const char *text)
{
	size_t n = 0;

	for (; text && *text; text++)
		n += *text == '\n';
	return n;
}

/* Load path into a fresh lbd: 0 and the same model as want, or why not. */
static const char *load_same(const char *path, struct lbd *want, char *err,
			     size_t errlen)
{
	static char why[600];
	struct lbd b;
	char *x, *y;
	int rc;

	init_lbd(&b, path);
	rc = lbd_state_load(&b, err, errlen);
	x = snapshot(want);
	y = snapshot(&b);
	if (rc)
		snprintf(why, sizeof(why), "load: %s", err);
	else if (strcmp(x, y))
		snprintf(why, sizeof(why), "models differ: %.200s | %.200s", x,
			 y);
	free(x);
	free(y);
	lbd_state_free(&b);
	return rc || why[0] ? why : NULL;
}

static void test_journal(void)
{
	char path[300], jpath[320], dir[256], err[512] = "";
	char *base, *now, *jtext;
	struct lbd a, c;
	struct lbd_vip *old, *v;
	size_t n;
	const char *why;
	int rc = 0;

	snprintf(dir, sizeof(dir), "%s/j", tmpdir);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	snprintf(jpath, sizeof(jpath), "%s.journal", path);
	full_model(&a, path);
	a.journal_max = 1 << 20;
	T_CHECK("journal: a whole save starts an empty journal",
		!lbd_state_save(&a, err, sizeof(err)) &&
			(jtext = read_file(jpath, NULL)) && !jtext[0],
		"%s", err);
	base = read_file(path, NULL);

	/* a weight */
	old = copy_vips(&a), n = a.nvips;
	a.vips[0].be[0].weight = 7;
	rc |= commit(&a, old, n);
	/* a backend added, one removed from the middle */
	old = copy_vips(&a), n = a.nvips;
	add_be(&a.vips[1], "fd00:200::15", 203, ++a.next_gen, 2,
	       LBD_ADMIN_ACTIVE);
	v = &a.vips[0];
	memmove(&v->be[1], &v->be[2], (v->nbe - 2) * sizeof(*v->be));
	v->nbe--;
	rc |= commit(&a, old, n);
	/* a VIP's check, and a backend its check found down */
	old = copy_vips(&a), n = a.nvips;
	v = &a.vips[2];
	lbd_check_defaults(&v->check);
	v->check.kind = LBD_CHECK_TCP;
	v->check.port = 8080; /* an all-ports VIP */
	v->be[0].health_up = false;
	snprintf(v->be[0].health_err, sizeof(v->be[0].health_err), "timeout");
	rc |= commit(&a, old, n);
	/* a backend's own check, "none", then only its interval */
	old = copy_vips(&a), n = a.nvips;
	lbd_check_defaults(&a.vips[0].be[0].check);
	a.vips[0].be[0].check_set = true;
	rc |= commit(&a, old, n);
	old = copy_vips(&a), n = a.nvips;
	a.vips[0].be[0].check.interval_ms = 3000;
	rc |= commit(&a, old, n);
	/* the last VIP removed, a new one added; the node drained */
	old = copy_vips(&a), n = a.nvips;
	free(a.vips[3].be);
	a.nvips--;
	v = add_vip(&a, "10.200.100.3:53/udp", 9, 0, 251);
	add_be(v, "10.200.0.30", 300, ++a.next_gen, 1, LBD_ADMIN_ACTIVE);
	a.node_drained = true;
	rc |= commit(&a, old, n);
	now = read_file(path, NULL);
	jtext = read_file(jpath, NULL);
	T_CHECK("journal: small changes are appended, the state file stays",
		!rc && base && now && !strcmp(base, now) &&
			lines_of(jtext) == 6,
		"rc %d, state file %s, %zu records", rc,
		now && base && !strcmp(base, now) ? "kept" : "rewritten",
		lines_of(jtext));
	why = load_same(path, &a, err, sizeof(err));
	T_CHECK("journal: loading replays the records", !why, "%s", why);

	/* a record whose write was cut short (never answered) */
	{
		char *cut = malloc(strlen(jtext) + 64);

		sprintf(cut, "%s{\"seq\": 7, \"next_gen\"", jtext);
		write_file(jpath, cut, strlen(cut));
		free(cut);
	}
	why = load_same(path, &a, err, sizeof(err));
	T_CHECK("journal: a last record cut short is ignored", !why, "%s", why);

	/* written whole, then a crash before the journal was emptied: the
	 * records the file holds are skipped (a VIP removed twice would
	 * refuse the load) */
	T_CHECK("journal: a whole save empties it",
		!lbd_state_save(&a, err, sizeof(err)) &&
			!lines_of(read_file(jpath, NULL)),
		"%s", err);
	write_file(jpath, jtext, strlen(jtext));
	why = load_same(path, &a, err, sizeof(err));
	T_CHECK("journal: records the state file holds are skipped", !why, "%s",
		why);

	/* refused: a corrupt line, a missing record; nothing changes */
	init_lbd(&c, path);
	{
		char *bad = malloc(strlen(jtext) + 64);
		char *before = snapshot(&c), *after;

		sprintf(bad, "not json\n%s", jtext);
		write_file(jpath, bad, strlen(bad));
		rc = lbd_state_load(&c, err, sizeof(err));
		after = snapshot(&c);
		T_CHECK("journal: a corrupt line is refused, naming it",
			rc < 0 &&
				strstr(err, "state.json.journal line 1 is "
					    "corrupt") &&
				!strcmp(before, after),
			"rc %d: %s", rc, err);
		free(after);
		sprintf(bad, "{\"seq\": 9, \"next_gen\": 1, \"node_drained\": "
			     "false, \"vips\": []}\n");
		write_file(jpath, bad, strlen(bad));
		rc = lbd_state_load(&c, err, sizeof(err));
		after = snapshot(&c);
		T_CHECK("journal: a missing record is refused",
			rc < 0 && strstr(err, "record 9 follows 6") &&
				!strcmp(before, after),
			"rc %d: %s", rc, err);
		free(after);
		free(before);
		free(bad);
	}
	lbd_state_free(&c);
	write_file(jpath, "", 0);

	/* a change larger than the journal may hold, or one that reorders
	 * the VIPs: the state file whole */
	free(base);
	base = read_file(path, NULL);
	a.journal_max = 300;
	old = copy_vips(&a), n = a.nvips;
	v = add_vip(&a, "10.200.100.4:80/tcp", 10, 0, 251);
	for (int i = 0; i < 8; i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "10.200.0.%d", 40 + i);
		add_be(v, addr, 400 + (uint32_t)i, ++a.next_gen, 1,
		       LBD_ADMIN_ACTIVE);
	}
	rc = commit(&a, old, n);
	free(now);
	now = read_file(path, NULL);
	T_CHECK("journal: a change past --journal-max writes the file whole",
		!rc && strcmp(base, now) && !lines_of(read_file(jpath, NULL)) &&
			!load_same(path, &a, err, sizeof(err)),
		"rc %d", rc);
	a.journal_max = 1 << 20;
	old = copy_vips(&a), n = a.nvips;
	{
		struct lbd_vip t = a.vips[0];

		a.vips[0] = a.vips[1];
		a.vips[1] = t;
	}
	free(base);
	base = now;
	rc = commit(&a, old, n);
	now = read_file(path, NULL);
	T_CHECK("journal: VIPs in another order write the file whole",
		!rc && strcmp(base, now) && !lines_of(read_file(jpath, NULL)) &&
			!load_same(path, &a, err, sizeof(err)),
		"rc %d", rc);

	/* a record that cannot be written refuses the change; the journal
	 * is not used again until the file is written whole */
	rc = lbd_state_save(&a, err, sizeof(err));
	{
		int ro = open(jpath, O_RDONLY | O_CLOEXEC);

		if (ro < 0 || dup2(ro, a.journal_fd) < 0)
			abort();
		close(ro);
	}
	old = copy_vips(&a), n = a.nvips;
	a.vips[0].be[0].weight = 8;
	rc |= !commit(&a, old, n);
	T_CHECK("journal: a failed write refuses the change",
		!rc && !lines_of(read_file(jpath, NULL)), "rc %d", rc);
	old = copy_vips(&a), n = a.nvips;
	rc = commit(&a, old, n);
	T_CHECK("journal: after a failed write the file is written whole",
		!rc && !load_same(path, &a, err, sizeof(err)), "rc %d", rc);

	/* off: no journal at all */
	a.journal_max = 0;
	rc = lbd_state_save(&a, err, sizeof(err));
	T_CHECK("journal: --journal-max 0 removes it",
		!rc && !stray_files(dir, "state.json", NULL), "found %s",
		stray_files(dir, "state.json", NULL));
	lbd_journal_close(&a);
	free(base);
	free(now);
	free(jtext);
	lbd_state_free(&a);
}

static void cleanup(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	atexit(cleanup);
	test_roundtrip();
	test_empty_and_missing();
	test_refused();
	test_on_down_default();
	test_save_fails();
	test_model_helpers();
	test_journal();
	return t_exit();
}
