// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * conf.c - the configuration file: read into VIPs and backends, and the
 * model written out in the same format.  One line per VIP or backend,
 * words separated by white space, '#' to the end of the line a comment:
 *
 *   vip VIP [mode dsr|ipip] [hash 5tuple|src] [table-size PRIME]
 *           [on-down keep|rehash] [CHECK OPTIONS]
 *   backend ADDR [weight N] [drain] [CHECK OPTIONS]
 *
 * A backend belongs to the VIP line above it.  CHECK OPTIONS are lbctl's
 * (check, check-interval, check-timeout, rise, fall, slowstart,
 * check-expect, check-host) without the dashes.  What a line leaves out
 * takes the default lbctl gives it.  Everything a line says is checked
 * here; what depends on the running balancer (addresses of this host, ids)
 * is apply.c's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkspec.h"
#include "conf.h"
#include "log.h"
#include "maglev.h"

#define MAX_WORDS 64

/* The place of a line in the file, and its words. */
struct line {
	const char *file;
	unsigned int no;
	char *words[MAX_WORDS];
	int n;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int bad(struct line *l,
						     const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "%s:%u: %s", l->file, l->no, msg);
	return -EINVAL;
}

/* The check options of a line, gathered before they become a check. */
struct conf_check {
	bool any, given;
	const char *spec;
	struct lb_check_spec cs;
	const char *host, *expect;
	uint32_t interval, timeout, rise, fall, slowstart;
	bool has_interval, has_timeout, has_rise, has_fall, has_slowstart;
};

/* One check option (word, value) into c; 1 if word is not one. */
static int check_opt(struct line *l, const char *word, const char *val,
		     struct conf_check *c)
{
	char e[LB_ERRLEN];
	uint32_t *ms = NULL;
	bool *has = NULL;

	if (!strcmp(word, "check")) {
		if (lb_parse_check_spec(val, &c->cs, e, sizeof(e)))
			return bad(l, "check: %s", e);
		c->spec = val;
		c->given = true;
		return 0;
	}
	if (!strcmp(word, "check-host")) {
		c->host = val;
	} else if (!strcmp(word, "check-expect")) {
		c->expect = val;
	} else if (!strcmp(word, "rise") || !strcmp(word, "fall")) {
		uint32_t *n = word[0] == 'r' ? &c->rise : &c->fall;

		if (lb_parse_u32(val, word, 1, 100, n, e, sizeof(e)))
			return bad(l, "%s", e);
		*(word[0] == 'r' ? &c->has_rise : &c->has_fall) = true;
	} else if (!strcmp(word, "check-interval")) {
		ms = &c->interval;
		has = &c->has_interval;
	} else if (!strcmp(word, "check-timeout")) {
		ms = &c->timeout;
		has = &c->has_timeout;
	} else if (!strcmp(word, "slowstart")) {
		ms = &c->slowstart;
		has = &c->has_slowstart;
	} else {
		return 1;
	}
	if (ms && lb_parse_duration_ms(val, ms, e, sizeof(e)))
		return bad(l, "%s: %s", word, e);
	if (has)
		*has = true;
	c->any = true;
	return 0;
}

static void kuint_if(struct jw *w, bool given, const char *key, uint32_t v)
{
	if (given)
		jw_kuint(w, key, v);
}

/* The gathered options as a check of the VIP spec, validated as the
 * control protocol validates a "check" object. */
static int check_build(struct line *l, const struct conf_check *c,
		       const struct lb_vip_spec *spec, struct lbd_check *out)
{
	char e[LB_ERRLEN], perr[128];
	struct jv *o;
	struct jw w;
	int rc;

	if (c->any && !c->given)
		return bad(l, "check options need check KIND (tcp[:PORT] or "
			      "http[:PORT][/PATH])");
	jw_init(&w, false);
	jw_obj_begin(&w);
	jw_kstr(&w, "kind", c->cs.kind);
	jw_kstr(&w, "spec", c->spec);
	kuint_if(&w, c->cs.port, "port", c->cs.port);
	if (c->cs.path[0])
		jw_kstr(&w, "path", c->cs.path);
	if (c->host)
		jw_kstr(&w, "host", c->host);
	if (c->expect)
		jw_kstr(&w, "expect", c->expect);
	kuint_if(&w, c->has_interval, "interval_ms", c->interval);
	kuint_if(&w, c->has_timeout, "timeout_ms", c->timeout);
	kuint_if(&w, c->has_rise, "rise", c->rise);
	kuint_if(&w, c->has_fall, "fall", c->fall);
	kuint_if(&w, c->has_slowstart, "slowstart_ms", c->slowstart);
	jw_obj_end(&w);
	o = w.oom ? NULL : jv_parse(w.buf, w.len, perr, sizeof(perr));
	jw_free(&w);
	if (!o)
		return bad(l, "out of memory");
	rc = lbd_check_from_json(o, spec, out, e, sizeof(e));
	jv_free(o);
	if (rc)
		return bad(l, "%s", e);
	return 0;
}

/* The word after words[i], or an error naming what lacks it. */
static const char *value_of(struct line *l, int i)
{
	if (i + 1 >= l->n) {
		bad(l, "missing value of %s", l->words[i]);
		return NULL;
	}
	return l->words[i + 1];
}

static int vip_line(struct line *l, struct lbd_conf_vip *cv)
{
	struct lbd_vip *v = &cv->v;
	struct conf_check chk = {};
	char e[LB_ERRLEN];
	uint32_t size = LB_MAGLEV_DEFAULT_SIZE;
	int rc;

	if (l->n < 2)
		return bad(l, "missing VIP after 'vip'");
	if (lb_parse_vip(l->words[1], &v->spec, e, sizeof(e)))
		return bad(l, "%s", e);
	v->flags = lbd_vip_default_flags(&v->spec);
	for (int i = 2; i < l->n; i += 2) {
		const char *o = l->words[i], *val = value_of(l, i);

		if (!val)
			return -EINVAL;
		if (!strcmp(o, "mode") && !strcmp(val, "dsr")) {
			v->flags &= ~LB_VIP_F_ENCAP;
		} else if (!strcmp(o, "mode") && !strcmp(val, "ipip")) {
			v->flags |= LB_VIP_F_ENCAP;
		} else if (!strcmp(o, "mode")) {
			return bad(l, "unknown mode '%s' (dsr or ipip)", val);
		} else if (!strcmp(o, "hash") && !strcmp(val, "5tuple")) {
			v->flags &= ~LB_VIP_F_HASH_SRC;
		} else if (!strcmp(o, "hash") && !strcmp(val, "src")) {
			v->flags |= LB_VIP_F_HASH_SRC;
		} else if (!strcmp(o, "hash")) {
			return bad(l, "unknown hash '%s' (5tuple or src)", val);
		} else if (!strcmp(o, "on-down") && !strcmp(val, "keep")) {
			v->flags |= LB_VIP_F_ON_DOWN_KEEP;
		} else if (!strcmp(o, "on-down") && !strcmp(val, "rehash")) {
			v->flags &= ~LB_VIP_F_ON_DOWN_KEEP;
		} else if (!strcmp(o, "on-down")) {
			return bad(l, "unknown on-down '%s' (keep or rehash)",
				   val);
		} else if (!strcmp(o, "table-size")) {
			if (lb_parse_u32(val, "table size", 3,
					 LB_MAGLEV_MAX_SIZE, &size, e,
					 sizeof(e)))
				return bad(l, "%s", e);
			if (!maglev_is_prime(size)) {
				uint32_t p = size;

				while (!maglev_is_prime(p))
					p++;
				return bad(
					l,
					"table size %u is not prime (try %u)",
					size, p);
			}
		} else if ((rc = check_opt(l, o, val, &chk)) <= 0) {
			if (rc)
				return rc;
		} else {
			return bad(l,
				   "unknown VIP option '%s' (mode, hash, "
				   "table-size, on-down, check...)",
				   o);
		}
	}
	v->table_size = size;
	lbd_check_defaults(&v->check);
	if (chk.given || chk.any)
		return check_build(l, &chk, &v->spec, &v->check);
	return 0;
}

static int backend_line(struct line *l, struct lbd_conf_vip *cv,
			struct lbd_backend *b)
{
	struct conf_check chk = {};
	char e[LB_ERRLEN];
	int rc;

	if (l->n < 2)
		return bad(l, "missing address after 'backend'");
	if (lb_parse_addr(l->words[1], &b->addr, &b->family, e, sizeof(e)) ||
	    lb_addr_check_unicast(&b->addr, b->family, e, sizeof(e)))
		return bad(l, "backend: %s", e);
	b->weight = 1;
	b->admin = LBD_ADMIN_ACTIVE;
	lbd_check_defaults(&b->check);
	for (int i = 2; i < l->n; i += 2) {
		const char *o = l->words[i], *val;

		if (!strcmp(o, "drain")) {
			b->admin = LBD_ADMIN_DRAINING;
			i--;
			continue;
		}
		val = value_of(l, i);
		if (!val)
			return -EINVAL;
		if (!strcmp(o, "weight")) {
			if (lb_parse_u32(val, "weight", 0, LBD_MAX_WEIGHT,
					 &b->weight, e, sizeof(e)))
				return bad(l, "%s", e);
		} else if ((rc = check_opt(l, o, val, &chk)) <= 0) {
			if (rc)
				return rc;
		} else {
			return bad(l,
				   "unknown backend option '%s' (weight, "
				   "drain, check...)",
				   o);
		}
	}
	if (chk.given || chk.any) {
		b->check_set = true;
		return check_build(l, &chk, &cv->v.spec, &b->check);
	}
	return 0;
}

static struct lbd_conf_vip *new_vip(struct lbd_conf *c)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct lbd_conf_vip *nv = realloc(c->vips, cap * sizeof(*nv));

		if (!nv)
			return NULL;
		c->vips = nv;
		c->cap = cap;
	}
	memset(&c->vips[c->n], 0, sizeof(c->vips[0]));
	return &c->vips[c->n++];
}

static struct lbd_backend *new_backend(struct lbd_conf_vip *cv)
{
	struct lbd_vip *v = &cv->v;

	if (v->nbe == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		struct lbd_backend *nb = realloc(v->be, cap * sizeof(*nb));
		unsigned int *nl;

		if (!nb)
			return NULL;
		v->be = nb;
		nl = realloc(cv->be_line, cap * sizeof(*nl));
		if (!nl)
			return NULL;
		cv->be_line = nl;
		v->cap = cap;
	}
	memset(&v->be[v->nbe], 0, sizeof(v->be[0]));
	return &v->be[v->nbe++];
}

/* Split l's text into words up to a comment. */
static int split(struct line *l, char *s)
{
	l->n = 0;
	for (char *tok = strtok(s, " \t\r"); tok; tok = strtok(NULL, " \t\r")) {
		if (tok[0] == '#')
			break;
		if (l->n == MAX_WORDS)
			return bad(l, "more than %d words on one line",
				   MAX_WORDS);
		l->words[l->n++] = tok;
	}
	return 0;
}

/* A VIP written twice, or a backend twice in one VIP. */
static int duplicates(struct line *l, struct lbd_conf *c)
{
	char name[LB_VIPSTRLEN];

	for (size_t i = 0; i < c->n; i++) {
		const struct lbd_vip *v = &c->vips[i].v;

		for (size_t j = 0; j < i; j++) {
			const struct lb_vip_spec *s = &c->vips[j].v.spec;

			if (s->family == v->spec.family &&
			    s->proto == v->spec.proto &&
			    s->port == v->spec.port &&
			    !memcmp(&s->addr, &v->spec.addr, sizeof(s->addr))) {
				l->no = c->vips[i].line;
				return bad(l, "VIP %s already on line %u",
					   lb_format_vip(&v->spec, name,
							 sizeof(name)),
					   c->vips[j].line);
			}
		}
		for (size_t k = 0; k < v->nbe; k++) {
			const struct lbd_backend *b = &v->be[k];

			for (size_t m = 0; m < k; m++) {
				if (v->be[m].family != b->family ||
				    memcmp(&v->be[m].addr, &b->addr,
					   sizeof(b->addr)))
					continue;
				l->no = c->vips[i].be_line[k];
				return bad(l, "backend %s already on line %u",
					   lb_format_addr(&b->addr, b->family,
							  name, sizeof(name)),
					   c->vips[i].be_line[m]);
			}
		}
	}
	return 0;
}

void lbd_conf_free(struct lbd_conf *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->vips[i].v.be);
		free(c->vips[i].be_line);
	}
	free(c->vips);
	c->vips = NULL;
	c->n = c->cap = 0;
}

int lbd_conf_parse(const char *text, size_t len, const char *file,
		   struct lbd_conf *c, char *err, size_t errlen)
{
	struct line l = { .file = file, .err = err, .errlen = errlen };
	char *buf = malloc(len + 1), *s, *next;
	struct lbd_conf_vip *cv = NULL;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	c->file = file;
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", file);
		return -ENOMEM;
	}
	memcpy(buf, text, len);
	buf[len] = 0;
	if (strlen(buf) != len) {
		l.no = 1;
		for (size_t i = 0; i < len && text[i]; i++)
			l.no += text[i] == '\n';
		rc = bad(&l, "a NUL byte: not a text file");
		goto out;
	}
	for (s = buf; s && !rc; s = next) {
		next = strchr(s, '\n');
		if (next)
			*next++ = 0;
		l.no++;
		rc = split(&l, s);
		if (rc || !l.n)
			continue;
		if (!strcmp(l.words[0], "vip")) {
			cv = new_vip(c);
			if (!cv)
				goto oom;
			cv->line = l.no;
			rc = vip_line(&l, cv);
		} else if (!strcmp(l.words[0], "backend")) {
			struct lbd_backend *b;

			if (!cv) {
				rc = bad(&l, "a backend before any VIP line");
				continue;
			}
			b = new_backend(cv);
			if (!b)
				goto oom;
			cv->be_line[cv->v.nbe - 1] = l.no;
			rc = backend_line(&l, cv, b);
		} else {
			rc = bad(&l, "unknown line '%s' (vip or backend)",
				 l.words[0]);
		}
	}
	if (!rc)
		rc = duplicates(&l, c);
	goto out;
oom:
	rc = bad(&l, "out of memory");
out:
	free(buf);
	if (rc)
		lbd_conf_free(c);
	return rc;
}

bool lbd_check_same(const struct lbd_check *a, const struct lbd_check *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == LBD_CHECK_NONE)
		return true;
	if (a->port != b->port || a->interval_ms != b->interval_ms ||
	    a->timeout_ms != b->timeout_ms || a->rise != b->rise ||
	    a->fall != b->fall || a->slowstart_ms != b->slowstart_ms)
		return false;
	/* path, host and expect mean something to HTTP checks only */
	return a->kind != LBD_CHECK_HTTP ||
	       (a->expect == b->expect && !strcmp(a->path, b->path) &&
		!strcmp(a->host, b->host));
}

/* " check SPEC check-interval ..." of c, as the parser reads it back. */
static void write_check(FILE *f, const struct lbd_check *c)
{
	char a[24], b[24];

	if (c->kind == LBD_CHECK_NONE) {
		fprintf(f, " check none");
		return;
	}
	fprintf(f, " check %s", c->kind == LBD_CHECK_TCP ? "tcp" : "http");
	if (c->port)
		fprintf(f, ":%u", c->port);
	if (c->kind == LBD_CHECK_HTTP && strcmp(c->path, "/"))
		fprintf(f, "%s%s", c->port ? "" : ":", c->path);
	fprintf(f, " check-interval %s check-timeout %s rise %u fall %u",
		lb_format_duration(c->interval_ms, a, sizeof(a)),
		lb_format_duration(c->timeout_ms, b, sizeof(b)), c->rise,
		c->fall);
	if (c->slowstart_ms)
		fprintf(f, " slowstart %s",
			lb_format_duration(c->slowstart_ms, a, sizeof(a)));
	if (c->kind == LBD_CHECK_HTTP) {
		lbd_check_expect_str(c->expect, a, sizeof(a));
		fprintf(f, " check-expect %s", a);
		if (c->host[0])
			fprintf(f, " check-host %s", c->host);
	}
}

char *lbd_conf_write(const struct lbd *d)
{
	char *text = NULL, name[LB_VIPSTRLEN];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	fprintf(f, "# xdp-lb configuration (lbctl export; lbctl apply -f FILE "
		   "makes lbd equal to it)\n");
	for (size_t i = 0; i < d->nvips; i++) {
		const struct lbd_vip *v = &d->vips[i];

		fprintf(f, "vip %s mode %s hash %s table-size %u on-down %s",
			lb_format_vip(&v->spec, name, sizeof(name)),
			v->flags & LB_VIP_F_ENCAP ? "ipip" : "dsr",
			v->flags & LB_VIP_F_HASH_SRC ? "src" : "5tuple",
			v->table_size, lbd_on_down_name(v->flags));
		if (v->check.kind != LBD_CHECK_NONE)
			write_check(f, &v->check);
		fputc('\n', f);
		for (size_t j = 0; j < v->nbe; j++) {
			const struct lbd_backend *b = &v->be[j];

			fprintf(f, "    backend %s weight %u%s",
				lb_format_addr(&b->addr, b->family, name,
					       sizeof(name)),
				b->weight,
				b->admin == LBD_ADMIN_DRAINING ? " drain" : "");
			if (b->check_set)
				write_check(f, &b->check);
			fputc('\n', f);
		}
	}
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}
