/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * state.h - what the state file (state.c) and its journal (journal.c)
 * share: one writer and one reader of a VIP and of a backend, so that a
 * journal record holds them exactly as the file does.
 */
#ifndef LBD_STATE_H
#define LBD_STATE_H

#include "lbd.h"

/* The fields of v but its backends, into an open object. */
void lbd_state_vip_head_json(const struct lbd_vip *v, struct jw *w);
/* One backend of v, as an object. */
void lbd_state_backend_json(const struct lbd_vip *v,
			    const struct lbd_backend *b, struct jw *w);
/* v with its backends, as an object. */
void lbd_state_vip_json(const struct lbd_vip *v, struct jw *w);

/* Read a VIP object into v (zeroed first); its backends too if
 * with_backends (v->be then to free).  0 or -errno with err set. */
int lbd_state_parse_vip(const struct jv *o, struct lbd_vip *v,
			bool with_backends, char *err, size_t errlen);
/* Read a backend object of VIP v (named vip in errors) into b. */
int lbd_state_parse_backend(const struct jv *o, struct lbd_backend *b,
			    const struct lbd_vip *v, const char *vip, char *err,
			    size_t errlen);
/* The rules across VIPs: no VIP twice, backends of a family the VIP's
 * mode takes, no backend id twice. */
int lbd_state_check_vips(const struct lbd_vip *vips, size_t n, char *err,
			 size_t errlen);

/* Write everything or fail with errno set (ENOSPC for a full disk). */
int lbd_write_all(int fd, const char *buf, size_t len);

/* journal.c: apply the journal's records past d->journal_seq to the model
 * just read from the state file (then checked again); 0, or -errno with
 * err naming the journal, the line and what is wrong. */
int lbd_journal_replay(struct lbd *d, char *err, size_t errlen);
/* The state file was just written whole: start an empty journal after it
 * (or remove it when the journal is off).  0 or -errno. */
int lbd_journal_restart(struct lbd *d);

#endif /* LBD_STATE_H */
