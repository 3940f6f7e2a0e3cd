/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* lbd.h - the daemon's state and the interfaces between its parts. */
#ifndef LBD_H
#define LBD_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "dp.h"
#include "json.h"
#include "lb_abi.h"

#define LBD_DEFAULT_STATE "/var/lib/xdp-lb/state.json"
#define LBD_DEFAULT_SOCKET "/run/xdp-lb/lbd.sock"
#define LBD_DEFAULT_PIN "/sys/fs/bpf/xdp-lb"
#define LBD_DEFAULT_SEED 0x8f2d5b1c6a3e9047ULL
#define LBD_STATE_VERSION 1
#define LBD_MAX_WEIGHT 10000
#define LBD_NEIGH_GRACE_MS 3000

enum lbd_admin {
	LBD_ADMIN_ACTIVE = 0,
	LBD_ADMIN_DRAINING,
};

struct lbd_backend {
	/* configuration (persisted) */
	union lb_addr addr;
	uint8_t family;
	uint32_t weight;
	enum lbd_admin admin;
	uint32_t id; /* datapath id */
	uint32_t gen; /* generation of id */

	/* runtime */
	uint8_t mac[6];
	bool mac_ok; /* mac holds a resolved next-hop address */
	union lb_addr nexthop; /* where the MAC comes from */
	uint64_t unresolved_since_ms; /* 0 = resolved or never tried */
	char neigh_err[96]; /* why the MAC is unknown */
	bool health_up; /* health checks say up (true without checks) */
	char health_err[96];
	uint64_t last_change_ms; /* last transition of usability */
	bool was_usable;
	double rate_pps, rate_bps; /* from the 1 s sampler */
	struct lb_counter last;
};

struct lbd_vip {
	struct lb_vip_spec spec;
	uint32_t id; /* datapath VIP id */
	uint32_t flags; /* LB_VIP_F_* */
	uint32_t table_size;
	struct lbd_backend *be;
	size_t nbe, cap;
	uint64_t table_sig; /* signature of the installed table's input */
	bool dirty; /* the last datapath sync failed: retry */
	double rate_pps, rate_bps;
	struct lb_counter last;
};

struct lbd {
	/* options */
	char iface[IF_NAMESIZE];
	int ifindex;
	int xdp_mode; /* enum xdp_attach_mode requested; 0 = auto */
	bool xdp_auto;
	const char *state_path;
	const char *sock_path;
	const char *pin_root;
	const char *log_path;
	char pin_dir[256]; /* pin_root/abi-N */
	uint32_t ct_size;
	bool foreground;
	bool detach_on_exit;
	bool reload_prog; /* replace the attached program even if identical */

	/* persisted configuration */
	uint64_t seed;
	uint32_t next_gen;
	struct lbd_vip *vips;
	size_t nvips, cap_vips;
	union lb_addr encap_src4, encap_src6;
	bool encap_src4_set, encap_src6_set;

	/* runtime */
	struct lb *skel;
	struct lb_dp dp;
	uint32_t prog_id;
	const char *attach_mode;
	uint8_t src_mac[6];
	uint32_t mtu;
	int epfd, ctl_fd, sig_fd, timer_fd;
	struct mnl_socket *nl, *nl_events;
	uint32_t nl_seq;
	uint64_t started_ms;
	bool stop;
};

uint64_t lbd_now_ms(void);

/* state.c: the state file and the in-memory model */
int lbd_state_load(struct lbd *d, char *err, size_t errlen);
int lbd_state_save(struct lbd *d, char *err, size_t errlen);
void lbd_state_to_json(struct lbd *d, struct jw *w);
int lbd_state_from_json(struct lbd *d, const struct jv *root, char *err,
			size_t errlen);
void lbd_state_free(struct lbd *d);
struct lbd_vip *lbd_find_vip(struct lbd *d, const struct lb_vip_spec *spec);
struct lbd_backend *lbd_find_backend(struct lbd_vip *v, const union lb_addr *a,
				     uint8_t family);
int lbd_alloc_vip_id(struct lbd *d, uint32_t *id);
int lbd_alloc_backend_id(struct lbd *d, uint32_t *id);
const char *lbd_backend_state(const struct lbd_backend *b, char *buf,
			      size_t len);
bool lbd_backend_usable(const struct lbd_backend *b);
uint32_t lbd_backend_table_weight(const struct lbd_backend *b);

/* datapath.c: load, pin, adopt, attach, sync */
int lbd_dp_open(struct lbd *d);
int lbd_dp_attach(struct lbd *d);
int lbd_dp_detach(struct lbd *d);
void lbd_dp_close(struct lbd *d);
int lbd_dp_write_config(struct lbd *d);
int lbd_dp_sync_vip(struct lbd *d, struct lbd_vip *v, bool force_table);
int lbd_dp_remove_vip(struct lbd *d, struct lbd_vip *v);
int lbd_dp_remove_backend(struct lbd *d, struct lbd_backend *b);
int lbd_dp_sync_all(struct lbd *d);
int lbd_dp_sync_vip_addrs(struct lbd *d);
void lbd_dp_seed_macs(struct lbd *d);

/* neigh.c: next-hop MAC resolution over rtnetlink */
int lbd_neigh_open(struct lbd *d);
void lbd_neigh_close(struct lbd *d);
/* Resolve one backend; returns true if its MAC or usability changed. */
bool lbd_neigh_resolve(struct lbd *d, struct lbd_backend *b);
/* Handle multicast neighbour events (fd readable). */
void lbd_neigh_events(struct lbd *d);
int lbd_iface_info(struct lbd *d);

/* ctl.c: the control socket */
int lbd_ctl_open(struct lbd *d);
void lbd_ctl_accept(struct lbd *d);
void lbd_ctl_close(struct lbd *d);
/* Handle one request; writes the response object into w. */
void lbd_ctl_handle(struct lbd *d, const char *line, size_t len, struct jw *w);

/* Re-evaluate every backend (neighbours), sync changed VIPs. */
void lbd_refresh(struct lbd *d);
void lbd_sample_rates(struct lbd *d);

#endif /* LBD_H */
