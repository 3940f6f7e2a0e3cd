// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * journal.c - the changes saved since the state file was last written
 * whole.
 *
 * Writing the whole state file for one change costs what the state holds:
 * with 5000 backends about 600 kB of JSON to build and write, and the fsync
 * of a new file, a rename and its directory.  Instead a change is appended
 * to STATE.journal as one line, a record of what differs from the model
 * before it: the VIPs removed, the VIPs added (whole), and for a VIP that
 * changed its own fields and only the backends removed, changed or added;
 * then fdatasync, before the change is answered.  A record holds VIPs and
 * backends as the state file does (state.h).
 *
 * Records are numbered; the state file names the last one it holds
 * (journal_seq).  Writing the state file whole (at start, when health
 * changed, for a change no record can tell, or when the journal would pass
 * --journal-max) empties the journal; a crash between that rename and the
 * truncation leaves records that loading skips by number.  A last line
 * without its newline is a record whose write was cut short, so never
 * answered: it is ignored.  Any other line that does not read is refused,
 * as a corrupt state file is.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lbd.h"
#include "log.h"
#include "state.h"

/* Removed VIPs and backends a record looks for in the model (each search
 * walks the rest of a list); a change with more is saved whole. */
#define MAX_SEARCHES 64

static void journal_path(const struct lbd *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s.journal", d->state_path);
}

void lbd_journal_close(struct lbd *d)
{
	if (d->journal_open)
		close(d->journal_fd);
	d->journal_open = false;
}

/* fsync the directory of path (a file was created or removed there). */
static void sync_dir(const char *path)
{
	char dir[600];
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof(dir), ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* The state file was just written whole: an empty journal after it (or
 * none when the journal is off).  0 or -errno. */
static int restart(struct lbd *d)
{
	char path[600];
	int fd, err;
	bool made = false;

	journal_path(d, path, sizeof(path));
	lbd_journal_close(d);
	d->journal_len = 0;
	if (!d->journal_max) {
		if (unlink(path)) {
			if (errno == ENOENT)
				return 0;
			return -errno;
		}
		sync_dir(path);
		return 0;
	}
	fd = open(path, O_WRONLY | O_TRUNC | O_APPEND | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fd = open(path,
			  O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
			  0600);
		made = true;
	}
	if (fd < 0)
		return -errno;
	if (fsync(fd)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (made)
		sync_dir(path);
	d->journal_fd = fd;
	d->journal_open = true;
	return 0;
}

int lbd_state_save(struct lbd *d, char *err, size_t errlen)
{
	int rc = lbd_state_write(d, err, errlen);

	/* the records up to journal_seq are in the file now; a journal that
	 * cannot be emptied keeps them (loading skips them by number) and
	 * the next change is saved whole again */
	if (!rc)
		d->journal_broken = restart(d) != 0;
	return rc;
}

/* ---------------------------------------------------------------- records */

static bool same_spec(const struct lb_vip_spec *a, const struct lb_vip_spec *b)
{
	return a->family == b->family && a->proto == b->proto &&
	       a->port == b->port &&
	       !memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

static bool same_addr(const struct lbd_backend *a, const struct lbd_backend *b)
{
	return a->family == b->family &&
	       !memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

/* Two checks written alike (every field the state file holds). */
static bool same_check(const struct lbd_check *a, const struct lbd_check *b)
{
	struct jw wa, wb;
	bool same;

	jw_init(&wa, false);
	jw_init(&wb, false);
	lbd_check_to_json(a, &wa);
	lbd_check_to_json(b, &wb);
	same = !wa.oom && !wb.oom && wa.len == wb.len &&
	       !memcmp(wa.buf, wb.buf, wa.len);
	jw_free(&wa);
	jw_free(&wb);
	return same;
}

/* b of v is written as ob of ov was (lbd_state_backend_json's fields). */
static bool same_backend(const struct lbd_vip *ov, const struct lbd_backend *ob,
			 const struct lbd_vip *v, const struct lbd_backend *b)
{
	bool checked = lbd_check_of(v, b)->kind != LBD_CHECK_NONE;

	if (ob->id != b->id || ob->gen != b->gen || ob->weight != b->weight ||
	    ob->admin != b->admin || ob->check_set != b->check_set ||
	    (b->check_set && !same_check(&ob->check, &b->check)) ||
	    checked != (lbd_check_of(ov, ob)->kind != LBD_CHECK_NONE))
		return false;
	return !checked ||
	       (ob->health_up == b->health_up &&
		(b->health_up || !strcmp(ob->health_err, b->health_err)));
}

/* The fields of lbd_state_vip_head_json (the address is the same). */
static bool same_head(const struct lbd_vip *o, const struct lbd_vip *v)
{
	/* a VIP's check is written unless it is "none" */
	bool none = o->check.kind == LBD_CHECK_NONE;

	return o->id == v->id && o->flags == v->flags &&
	       o->table_size == v->table_size &&
	       none == (v->check.kind == LBD_CHECK_NONE) &&
	       (none || same_check(&o->check, &v->check));
}

enum walk { WALK_COUNT, WALK_DELS, WALK_PUTS };

/*
 * Walk o's and v's backends in order: a backend in both (changed or not),
 * one of o that v no longer has (removed), those past o's end (added).
 * Counts the removed, changed and added ones, and with WALK_DELS or
 * WALK_PUTS writes the removed ones' addresses or the changed and added
 * ones into w.  -1 if v's order is not o's with removals and additions at
 * the end (a record could not tell it), or after more than MAX_SEARCHES
 * removals.
 */
static long walk_backends(const struct lbd_vip *o, const struct lbd_vip *v,
			  enum walk what, struct jw *w, size_t *searches)
{
	char name[LB_ADDRSTRLEN];
	size_t i = 0, j = 0, k;
	long changes = 0;

	while (i < o->nbe || j < v->nbe) {
		const struct lbd_backend *ob = i < o->nbe ? &o->be[i] : NULL;
		const struct lbd_backend *b = j < v->nbe ? &v->be[j] : NULL;

		if (ob && b && same_addr(ob, b)) {
			if (!same_backend(o, ob, v, b)) {
				changes++;
				if (what == WALK_PUTS)
					lbd_state_backend_json(v, b, w);
			}
			i++, j++;
		} else if (ob) {
			if (++*searches > MAX_SEARCHES)
				return -1;
			for (k = j; k < v->nbe && !same_addr(ob, &v->be[k]);
			     k++)
				;
			if (k < v->nbe)
				return -1; /* moved */
			changes++;
			if (what == WALK_DELS)
				jw_str(w, lb_format_addr(&ob->addr, ob->family,
							 name, sizeof(name)));
			i++;
		} else {
			changes++;
			if (what == WALK_PUTS)
				lbd_state_backend_json(v, b, w);
			j++;
		}
	}
	return changes;
}

/* The entry of a VIP in both models, if it changed: its fields, the
 * backends removed, and those changed or added.  0 or -1 (no record). */
static int write_vip_change(const struct lbd_vip *o, const struct lbd_vip *v,
			    struct jw *w, size_t *searches)
{
	long n = walk_backends(o, v, WALK_COUNT, NULL, searches);
	size_t again = 0;

	if (n < 0)
		return -1;
	if (!n && same_head(o, v))
		return 0;
	jw_obj_begin(w);
	lbd_state_vip_head_json(v, w);
	jw_key(w, "backends_del");
	jw_arr_begin(w);
	walk_backends(o, v, WALK_DELS, w, &again);
	jw_arr_end(w);
	again = 0;
	jw_key(w, "backends_put");
	jw_arr_begin(w);
	walk_backends(o, v, WALK_PUTS, w, &again);
	jw_arr_end(w);
	jw_obj_end(w);
	return 0;
}

/* The record of the change from old to d's model, the VIPs walked as the
 * backends are (walk_backends).  0, or -1 when no record can tell it. */
static int write_record(const struct lbd *d, const struct lbd_vip *old,
			size_t nold, struct jw *w)
{
	char name[LB_VIPSTRLEN];
	size_t i = 0, j = 0, k, searches = 0;

	jw_obj_begin(w);
	jw_kuint(w, "seq", d->journal_seq + 1);
	jw_kuint(w, "next_gen", d->next_gen);
	jw_kbool(w, "node_drained", d->node_drained);
	jw_key(w, "vips");
	jw_arr_begin(w);
	while (i < nold || j < d->nvips) {
		const struct lbd_vip *o = i < nold ? &old[i] : NULL;
		const struct lbd_vip *v = j < d->nvips ? &d->vips[j] : NULL;

		if (o && v && same_spec(&o->spec, &v->spec)) {
			if (write_vip_change(o, v, w, &searches))
				return -1;
			i++, j++;
		} else if (o) {
			if (++searches > MAX_SEARCHES)
				return -1;
			for (k = j; k < d->nvips &&
				    !same_spec(&o->spec, &d->vips[k].spec);
			     k++)
				;
			if (k < d->nvips)
				return -1; /* moved */
			jw_obj_begin(w);
			jw_kstr(w, "del",
				lb_format_vip(&o->spec, name, sizeof(name)));
			jw_obj_end(w);
			i++;
		} else {
			lbd_state_vip_json(v, w);
			j++;
		}
	}
	jw_arr_end(w);
	jw_obj_end(w);
	return w->oom ? -1 : 0;
}

#define bad(...)                                    \
	({                                          \
		snprintf(err, errlen, __VA_ARGS__); \
		-EINVAL;                            \
	})

/* Append the record in w and flush it; on failure the journal is cut
 * back to where it ended (or, failing that, no longer used until the
 * state file is written whole). */
static int append(struct lbd *d, struct jw *w, char *err, size_t errlen)
{
	char path[600];
	char *line = malloc(w->len + 1);
	int rc = 0;

	journal_path(d, path, sizeof(path));
	if (!line)
		return bad("out of memory writing %s", path);
	memcpy(line, w->buf, w->len);
	line[w->len] = '\n';
	if (lbd_write_all(d->journal_fd, line, w->len + 1) ||
	    fdatasync(d->journal_fd)) {
		rc = bad("cannot write %s: %s", path, strerror(errno));
		if (ftruncate(d->journal_fd, (off_t)d->journal_len))
			d->journal_broken = true;
	} else {
		d->journal_len += w->len + 1;
		d->journal_seq++;
	}
	free(line);
	return rc;
}

int lbd_state_commit(struct lbd *d, const struct lbd_vip *old, size_t nold,
		     char *err, size_t errlen)
{
	struct jw w;
	int rc;

	if (!d->journal_max || d->journal_broken || !d->journal_open)
		return lbd_state_save(d, err, errlen);
	jw_init(&w, false);
	if (write_record(d, old, nold, &w) ||
	    d->journal_len + w.len + 1 > d->journal_max) {
		/* the state file whole, and an empty journal after it */
		jw_free(&w);
		return lbd_state_save(d, err, errlen);
	}
	rc = append(d, &w, err, errlen);
	jw_free(&w);
	return rc;
}

/* ---------------------------------------------------------------- replay */

static struct lbd_vip *find_vip(struct lbd *d, const struct lb_vip_spec *s)
{
	for (size_t i = 0; i < d->nvips; i++)
		if (same_spec(&d->vips[i].spec, s))
			return &d->vips[i];
	return NULL;
}

static struct lbd_backend *find_backend(struct lbd_vip *v,
					const struct lbd_backend *b)
{
	for (size_t i = 0; i < v->nbe; i++)
		if (same_addr(&v->be[i], b))
			return &v->be[i];
	return NULL;
}

/* A new slot at the end of an array of *cap (growing it); NULL: no memory. */
static void *grow(void **arr, size_t n, size_t *cap, size_t size)
{
	if (n == *cap) {
		size_t c = *cap ? *cap * 2 : 4;
		void *na = realloc(*arr, c * size);

		if (!na)
			return NULL;
		*arr = na;
		*cap = c;
	}
	return (char *)*arr + n * size;
}

/* A whole VIP: replaces the one with its address, or is added at the end. */
static int put_vip(struct lbd *d, const struct jv *e, char *err, size_t errlen)
{
	struct lbd_vip nv, *v;
	int rc = lbd_state_parse_vip(e, &nv, true, err, errlen);

	if (rc) {
		free(nv.be);
		return rc;
	}
	v = find_vip(d, &nv.spec);
	if (v) {
		free(v->be);
	} else {
		v = grow((void **)&d->vips, d->nvips, &d->cap_vips, sizeof(*v));
		if (!v) {
			free(nv.be);
			return bad("out of memory");
		}
		d->nvips++;
	}
	*v = nv;
	return 0;
}

/* A VIP's new fields, its backends removed, changed or added. */
static int change_vip(struct lbd *d, const struct jv *e, char *err,
		      size_t errlen)
{
	const struct jv *dels = jv_get(e, "backends_del");
	const struct jv *puts = jv_get(e, "backends_put");
	char name[LB_VIPSTRLEN];
	struct lbd_vip h, *v;
	struct lbd_backend nb, *b;
	int rc = lbd_state_parse_vip(e, &h, false, err, errlen);

	if (rc)
		return rc;
	lb_format_vip(&h.spec, name, sizeof(name));
	v = find_vip(d, &h.spec);
	if (!v)
		return bad("VIP %s changed but not there", name);
	if (!dels || dels->type != JV_ARR || !puts || puts->type != JV_ARR)
		return bad("VIP %s: bad \"backends_del\" or \"backends_put\"",
			   name);
	v->id = h.id;
	v->flags = h.flags;
	v->table_size = h.table_size;
	v->check = h.check;
	for (size_t i = 0; i < dels->n; i++) {
		const struct jv *a = &dels->items[i];

		memset(&nb, 0, sizeof(nb));
		if (a->type != JV_STR ||
		    lb_parse_addr(a->s, &nb.addr, &nb.family, NULL, 0) ||
		    !(b = find_backend(v, &nb)))
			return bad(
				"VIP %s: a removed backend that is not there",
				name);
		memmove(b, b + 1,
			(size_t)(v->be + v->nbe - b - 1) * sizeof(*b));
		v->nbe--;
	}
	for (size_t i = 0; i < puts->n; i++) {
		rc = lbd_state_parse_backend(&puts->items[i], &nb, v, name, err,
					     errlen);
		if (rc)
			return rc;
		b = find_backend(v, &nb);
		if (!b) {
			b = grow((void **)&v->be, v->nbe, &v->cap, sizeof(*b));
			if (!b)
				return bad("out of memory");
			v->nbe++;
		}
		*b = nb;
	}
	return 0;
}

static int del_vip(struct lbd *d, const char *spec, char *err, size_t errlen)
{
	struct lb_vip_spec s;
	struct lbd_vip *v;

	if (lb_parse_vip(spec, &s, NULL, 0) || !(v = find_vip(d, &s)))
		return bad("VIP %s removed but not there", spec);
	free(v->be);
	memmove(v, v + 1, (size_t)(d->vips + d->nvips - v - 1) * sizeof(*v));
	d->nvips--;
	return 0;
}

/* One record onto the model; those the state file holds are skipped. */
static int replay_record(struct lbd *d, const struct jv *r, char *err,
			 size_t errlen)
{
	const struct jv *vips = jv_get(r, "vips");
	const struct jv *drained = jv_get(r, "node_drained");
	uint64_t seq, next_gen;
	int rc = 0;

	if (!r || r->type != JV_OBJ || jv_get_uint(r, "seq", UINT64_MAX, &seq))
		return bad("no record number");
	if (seq <= d->journal_seq)
		return 0;
	if (seq != d->journal_seq + 1)
		return bad("record %llu follows %llu: one is missing",
			   (unsigned long long)seq,
			   (unsigned long long)d->journal_seq);
	if (jv_get_uint(r, "next_gen", UINT32_MAX, &next_gen) || !drained ||
	    drained->type != JV_BOOL || !vips || vips->type != JV_ARR)
		return bad("bad \"next_gen\", \"node_drained\" or \"vips\"");
	for (size_t i = 0; i < vips->n && !rc; i++) {
		const struct jv *e = &vips->items[i];
		const char *del = jv_get_str(e, "del");

		if (del)
			rc = del_vip(d, del, err, errlen);
		else if (jv_get(e, "backends"))
			rc = put_vip(d, e, err, errlen);
		else
			rc = change_vip(d, e, err, errlen);
	}
	d->next_gen = (uint32_t)next_gen;
	d->node_drained = drained->b;
	d->journal_seq = seq;
	return rc;
}

/* The journal's text (*text, to free; NULL: there is none). */
static int read_journal(const char *path, char **text, size_t *len, char *err,
			size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	ssize_t n;

	*text = NULL;
	if (fd < 0)
		return errno == ENOENT ? 0 :
					 bad("cannot open journal %s: %s", path,
					     strerror(errno));
	if (fstat(fd, &st) || st.st_size > (64 << 20)) {
		rc = bad("cannot read journal %s: %s", path,
			 st.st_size > (64 << 20) ? "larger than 64 MiB" :
						   strerror(errno));
		goto out;
	}
	*text = malloc((size_t)st.st_size + 1);
	if (!*text) {
		rc = bad("out of memory reading journal %s", path);
		goto out;
	}
	for (*len = 0; *len < (size_t)st.st_size; *len += (size_t)n) {
		n = read(fd, *text + *len, (size_t)st.st_size - *len);
		if (n <= 0)
			break;
	}
	(*text)[*len] = 0;
out:
	close(fd);
	return rc;
}

/* Apply the journal's records past d->journal_seq to the model just read
 * from the state file, then check it again; 0, or -errno with err naming
 * the journal, the line and what is wrong. */
static int replay(struct lbd *d, char *err, size_t errlen)
{
	char path[600], e[256], perr[128];
	char *text, *p, *nl;
	unsigned line = 0;
	size_t len = 0;
	int rc;

	journal_path(d, path, sizeof(path));
	rc = read_journal(path, &text, &len, err, errlen);
	if (rc || !text)
		return rc;
	for (p = text; !rc && p < text + len; p = nl + 1) {
		struct jv *r;

		line++;
		nl = memchr(p, '\n', (size_t)(text + len - p));
		if (!nl) {
			pr_warn("journal %s: line %u was cut short while "
				"written (never answered): ignored",
				path, line);
			break;
		}
		r = jv_parse(p, (size_t)(nl - p), perr, sizeof(perr));
		if (!r) {
			rc = bad("journal %s line %u is corrupt (%s); fix or "
				 "remove it",
				 path, line, perr);
			break;
		}
		if (replay_record(d, r, e, sizeof(e)))
			rc = bad("journal %s line %u is invalid (%s); fix or "
				 "remove it",
				 path, line, e);
		jv_free(r);
	}
	free(text);
	if (!rc && lbd_state_check_vips(d->vips, d->nvips, e, sizeof(e)))
		rc = bad("journal %s is invalid (%s); fix or remove it", path,
			 e);
	return rc;
}

int lbd_state_load(struct lbd *d, char *err, size_t errlen)
{
	struct lbd t;
	int rc;

	/* all or nothing: into a model of its own first */
	memset(&t, 0, sizeof(t));
	t.state_path = d->state_path;
	rc = lbd_state_read(&t, err, errlen);
	if (!rc)
		rc = replay(&t, err, errlen);
	if (rc) {
		lbd_state_free(&t);
		return rc;
	}
	lbd_state_free(d);
	d->vips = t.vips;
	d->nvips = t.nvips;
	d->cap_vips = t.cap_vips;
	d->seed = t.seed;
	d->next_gen = t.next_gen;
	d->encap_src4 = t.encap_src4;
	d->encap_src4_set = t.encap_src4_set;
	d->encap_src6 = t.encap_src6;
	d->encap_src6_set = t.encap_src6_set;
	d->node_drained = t.node_drained;
	d->journal_seq = t.journal_seq;
	return 0;
}
