/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ctl.h - the parts of lbd's control protocol (see PROTOCOL.md):
 *   ctl.c      the socket server: claiming the socket, client slots, timeouts
 *   cmd.c      the command table and the one mutate -> save -> undo helper
 *   change.c   the commands that change VIPs and backends
 *   views.c    the JSON views of VIPs, backends, health, status, stats
 *   explain.c  where a given flow would go, and why
 *   apply.c    the whole configuration: export, apply (conf.c its file)
 *   plan.c     what a change would do (dry_run), model before vs after
 *   req.c      reading a request's fields, writing the answer's frame
 * Calls go down this list's dependencies only: ctl -> cmd -> change,
 * views, explain, apply -> plan -> req.
 */
#ifndef LBD_CTL_H
#define LBD_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "lbd.h"

struct ctl_cmd;

/* A copy of the model's VIPs and backends, taken before a change. */
struct ctl_model {
	struct lbd_vip *vips; /* each with its own copy of be */
	size_t nvips;
	uint32_t next_gen;
	bool node_drained;
};

/* One request as the handlers see it. */
struct ctl_op {
	const struct ctl_cmd *cmd;
	const struct jv *req;
	struct jw *w; /* the answer */
	int arg; /* the command's row: which variant of its handler */
	/* changes: the model before the change, for the done step (the
	 * VIP or backend a change removed is still there) */
	const struct ctl_model *before;
	/* set by a change for its done step */
	struct lbd_vip *v; /* the VIP changed */
	struct lbd_backend *b; /* the backend changed */
	const struct lbd_vip *old_v; /* in before */
	const struct lbd_backend *old_b; /* in before */
	bool created; /* v was created by this change */
	bool has_check, has_on_down;
};

/*
 * A command: views answer from handler alone.  A change (mutates) is made
 * by handler on the model, which returns 0 or a negative errno having
 * answered; then the model is saved, and done (the datapath, the log, the
 * answer) runs only if that worked.  Refused or not saved, the model is
 * put back as it was: a refused request changes nothing.
 */
struct ctl_cmd {
	const char *name;
	int (*handler)(struct lbd *d, struct ctl_op *op);
	void (*done)(struct lbd *d, struct ctl_op *op);
	bool mutates;
	int arg;
};

/* req.c: the answer's frame */
void ctl_error(struct jw *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ctl_ok_begin(struct jw *w);

/* req.c: fields of a request; each answers (ctl_error) when it refuses */
int ctl_req_vip(const struct jv *req, struct lbd *d, struct jw *w,
		struct lb_vip_spec *spec, struct lbd_vip **v, bool must_exist);
int ctl_req_backend(const struct jv *req, struct jw *w, union lb_addr *a,
		    uint8_t *family);
int ctl_req_weight(const struct jv *req, struct jw *w, uint32_t *weight,
		   bool required);
/* The optional "check" object into c; *has says if it was there. */
int ctl_req_check(const struct jv *req, const struct lb_vip_spec *spec,
		  struct jw *w, struct lbd_check *c, bool *has);
/* "on_down": sets or clears LB_VIP_F_ON_DOWN_KEEP in *flags; 1 if given,
 * 0 if not, -EINVAL (answered). */
int ctl_req_on_down(const struct jv *req, struct jw *w, uint32_t *flags);
/* mode, hash, table_size and on_down of a new VIP. */
int ctl_req_vip_options(const struct jv *req, const struct lb_vip_spec *spec,
			struct jw *w, uint32_t *flags, uint32_t *size);
/* A backend the balancer could forward to: the family rule of the VIP's
 * mode, not the VIP itself, not an address of this host. */
int ctl_req_backend_ok(struct jw *w, uint32_t vip_flags,
		       const struct lb_vip_spec *spec, const union lb_addr *a,
		       uint8_t fam, const char *vname, const char *bname);
/* The same, the error in err instead of the answer; this host's
 * addresses from ifs (getifaddrs(), read once for many backends), or read
 * now when NULL. */
struct ifaddrs;
int ctl_backend_ok(const struct ifaddrs *ifs, uint32_t vip_flags,
		   const struct lb_vip_spec *spec, const union lb_addr *a,
		   uint8_t fam, const char *vname, const char *bname, char *err,
		   size_t errlen);
/* The VIP and backend a request names, both existing; NULL (answered) if
 * not. */
struct lbd_backend *ctl_req_find_backend(struct lbd *d, const struct jv *req,
					 struct jw *w, struct lbd_vip **vp);

/* views.c */
/* cnt: the counters read by lbd_read_counters() to show, or NULL */
void ctl_json_backend(struct jw *w, struct lbd_backend *b,
		      const struct lbd_counters *cnt);
void ctl_json_vip(struct jw *w, struct lbd_vip *v, bool with_backends,
		  const struct lbd_counters *cnt);
int ctl_status(struct lbd *d, struct ctl_op *op);
int ctl_stats(struct lbd *d, struct ctl_op *op);
int ctl_vip_list(struct lbd *d, struct ctl_op *op); /* arg: with backends */
int ctl_vip_show(struct lbd *d, struct ctl_op *op);
int ctl_health(struct lbd *d, struct ctl_op *op);

/* explain.c */
int ctl_explain(struct lbd *d, struct ctl_op *op);

/* change.c: the handlers and done steps of the changes */
int ctl_vip_add(struct lbd *d, struct ctl_op *op);
void ctl_vip_added(struct lbd *d, struct ctl_op *op);
int ctl_vip_del(struct lbd *d, struct ctl_op *op);
void ctl_vip_deleted(struct lbd *d, struct ctl_op *op);
int ctl_vip_set(struct lbd *d, struct ctl_op *op);
void ctl_vip_was_set(struct lbd *d, struct ctl_op *op);
/* arg: CTL_CREATE_VIP (add-backend) or 0 (backend-add) */
#define CTL_CREATE_VIP 1
int ctl_backend_add(struct lbd *d, struct ctl_op *op);
void ctl_backend_added(struct lbd *d, struct ctl_op *op);
int ctl_backend_del(struct lbd *d, struct ctl_op *op);
void ctl_backend_deleted(struct lbd *d, struct ctl_op *op);
/* arg: what backend-drain, -undrain and -weight set */
enum ctl_backend_set { CTL_DRAIN, CTL_UNDRAIN, CTL_WEIGHT };
int ctl_backend_set(struct lbd *d, struct ctl_op *op);
void ctl_backend_was_set(struct lbd *d, struct ctl_op *op);
int ctl_backend_check(struct lbd *d, struct ctl_op *op);
void ctl_backend_checked(struct lbd *d, struct ctl_op *op);
/* arg: 1 node-drain, 0 node-undrain */
int ctl_node_set(struct lbd *d, struct ctl_op *op);
void ctl_node_was_set(struct lbd *d, struct ctl_op *op);

/* apply.c */
int ctl_export(struct lbd *d, struct ctl_op *op);
int ctl_apply(struct lbd *d, struct ctl_op *op);
void ctl_applied(struct lbd *d, struct ctl_op *op);

/* plan.c: the model before a change (a copy) against the model now */
struct lbd_vip *ctl_match_vip(struct lbd_vip *vips, size_t n,
			      const struct lb_vip_spec *s, size_t hint);
/* The backend of v with b's address (v->be[hint] tried first), or NULL. */
struct lbd_backend *ctl_match_backend(const struct lbd_vip *v,
				      const struct lbd_backend *b, size_t hint);
/* Anything of old's configuration differs in now (runtime aside). */
bool ctl_vip_changed(const struct lbd_vip *old, const struct lbd_vip *now);
/* Answer the plan of the change made since before (a dry run). */
void ctl_plan(struct lbd *d, const struct ctl_model *before, struct jw *w);

#endif /* LBD_CTL_H */
