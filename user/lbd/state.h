/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * state.h - what the journal (journal.c) uses of the state file (state.c):
 * one writer and one reader of a VIP and of a backend, so that a journal
 * record holds them exactly as the file does, and the file read and
 * written whole.  lbd_state_load and lbd_state_save (lbd.h) are the
 * journal's: the file and its journal together.
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

/* The state file alone (journal.c adds its journal): read into d's model,
 * all or nothing; 1 if there is none.  Written whole, atomically. */
int lbd_state_read(struct lbd *d, char *err, size_t errlen);
int lbd_state_write(struct lbd *d, char *err, size_t errlen);

#endif /* LBD_STATE_H */
