/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* lbd.h - the daemon's state and the interfaces between its parts. */
#ifndef LBD_H
#define LBD_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "announce.h"
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

/* Health check of a VIP's backends (or of one backend, overriding). */
enum lbd_check_kind {
	LBD_CHECK_NONE = 0,
	LBD_CHECK_TCP, /* a TCP connection is accepted */
	LBD_CHECK_HTTP, /* GET path answers with an expected status class */
};

#define LBD_CHECK_STRLEN 128

struct lbd_check {
	uint8_t kind;
	uint8_t expect; /* HTTP status classes accepted: bit N = Nxx */
	uint16_t port; /* 0: the VIP's port */
	uint32_t interval_ms, timeout_ms, rise, fall, slowstart_ms;
	char path[LBD_CHECK_STRLEN];
	char host[LBD_CHECK_STRLEN];
	char spec[LBD_CHECK_STRLEN]; /* as typed (lbctl --check), or "" */
};

/* Health of one backend, as the checks see it (runtime; up/down and the
 * reason are also persisted). */
struct lbd_health {
	uint32_t ok_streak, fail_streak;
	uint64_t checks, failures, transitions;
	uint64_t next_ms; /* next check starts */
	uint64_t last_ms; /* last result */
	uint64_t last_transition_ms;
	uint32_t latency_us; /* of the last result */
	uint16_t probe_seq; /* tells this probe's epoll events from older ones */
	bool checked; /* a result since the check was (re)configured */
	bool last_ok;
	char last[96]; /* the last result in words */
	uint64_t ramp_start_ms, ramp_ms; /* slow start in progress */
};

/* Every health check result of one backend since it was added (never
 * reset by a change of its check, unlike struct lbd_health): the
 * Prometheus histogram of check durations and the failures. */
#define LBD_CHECK_BUCKETS 14
struct lbd_check_stats {
	uint64_t count, failures;
	uint64_t sum_us;
	uint64_t buckets[LBD_CHECK_BUCKETS + 1]; /* the last one: above all */
};

struct lbd_backend {
	/* configuration (persisted) */
	union lb_addr addr;
	uint8_t family;
	uint32_t weight;
	enum lbd_admin admin;
	uint32_t id; /* datapath id */
	uint32_t gen; /* generation of id */
	bool check_set; /* check overrides the VIP's */
	struct lbd_check check;

	/* runtime */
	uint8_t mac[6];
	bool mac_ok; /* mac holds a resolved next-hop address */
	bool neigh_due; /* a neighbour event concerns its next hop */
	union lb_addr nexthop; /* where the MAC comes from */
	uint64_t unresolved_since_ms; /* 0 = resolved or never tried */
	char neigh_err[160]; /* why the MAC is unknown */
	bool health_up; /* health checks say up (true without checks) */
	char health_err[96];
	struct lbd_health hc;
	struct lbd_check_stats hc_stats;
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
	struct lbd_check check; /* for every backend without its own */
	uint64_t table_sig; /* signature of the installed table's input */
	uint64_t digest; /* of the installed table (digest.h) */
	bool digest_ok; /* a table was installed since lbd started */
	/* a pinned table kept at start, not yet compared with the table
	 * the state gives (lbd_dp_verify_tables) */
	bool table_unverified;
	bool dirty; /* the last datapath sync failed: retry */
	bool resync; /* a next hop or a weight changed: sync once resolved */
	uint64_t rebuilds, rebuild_failures; /* of its Maglev table */
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
	const char *metrics_listen; /* --metrics ADDR:PORT; NULL: off */
	char pin_dir[256]; /* pin_root/abi-N */
	/* an older layout's pins whose connection table is carried over */
	char old_pin_dir[512];
	int old_ct_fd; /* its lb_conntrack; -1: none */
	int old_ct4_fd; /* its lb_conntrack4 (from layout 3); -1: none */
	/* what lb_vip_slots holds, as last written (NULL: read it again) */
	struct lb_vip_slot *vip_slots;
	uint32_t ct_size;
	/* lb_ct4's upkeep (ctkeep.c): a flow no packet found for between
	 * ct_idle_s / 2 and ct_idle_s seconds is forgotten */
	uint32_t ct_idle_s;
	uint64_t ct4_sweep_ms; /* time of the last sweep */
	uint64_t ct4_evicted; /* LB_STAT_CT_EVICT at the last tick */
	uint64_t ct4_looked; /* LB_STAT_CT_HIT + _MISS at the last tick */
	uint64_t ct4_kept; /* flows the last sweep kept */
	bool foreground;
	bool detach_on_exit;
	bool reload_prog; /* replace the attached program even if identical */
	uint32_t announce_table; /* --announce-table; 0: announce nothing */
	uint8_t announce_proto; /* --announce-proto */

	/* persisted configuration */
	uint64_t seed;
	uint32_t next_gen;
	struct lbd_vip *vips;
	size_t nvips, cap_vips;
	union lb_addr encap_src4, encap_src6;
	bool encap_src4_set, encap_src6_set;
	bool node_drained; /* lbctl node drain: announce no VIP */
	/* the last change record saved: in the state file up to the one it
	 * names, in the journal after */
	uint64_t journal_seq;

	/* the journal (journal.c) */
	uint64_t journal_max; /* --journal-max; 0: every save is whole */
	uint64_t journal_len; /* bytes in it */
	int journal_fd;
	bool journal_open; /* journal_fd is open */
	bool journal_broken; /* the next change is saved whole */

	/* runtime */
	struct lb *skel;
	struct lb_dp dp;
	uint32_t prog_id;
	const char *attach_mode;
	uint8_t src_mac[6];
	uint32_t mtu;
	int epfd, ctl_fd, sig_fd, timer_fd, hc_timer_fd;
	struct lbd_backend **by_id; /* backend id -> backend, or NULL */
	/* backend id -> the entry this lbd last wrote into lb_backends
	 * (dp_be_known[id]), so that a change writes only what differs */
	struct lb_backend *dp_be;
	uint8_t *dp_be_known;
	/* backend id -> 1 while lb_ct4 may still hold words naming the
	 * backend that had it (ctkeep.c purges them; no id is handed out
	 * again before) */
	uint8_t *ct4_purge;
	uint64_t ct4_purge_ms; /* when the last id was marked; 0: none */
	struct lbd_vip **vip_of_id; /* backend id -> its VIP */
	struct lbd_probe *probes; /* backend id -> check in flight */
	struct mnl_socket *nl, *nl_events;
	struct lbd_announce ann;
	uint32_t nl_seq;
	uint64_t started_ms;
	bool stop;
	bool neigh_pending; /* backends are due for a look at their next hop */
	size_t neigh_vip, neigh_be; /* where lbd_neigh_work() goes on */
	bool save_pending; /* runtime state (health) changed, not saved yet */
	bool starting_marked; /* wrote <socket>.starting */
	bool pins_fresh; /* this lbd created the pinned maps (none to adopt) */
	bool attached_new; /* this lbd attached the program (none to adopt) */
	bool mounted_bpffs; /* this lbd mounted the bpffs at pin_root */
	bool root_made; /* pin_root did not exist before this lbd */
	bool tables_quiet; /* starting: one summary, not a line per table */
};

uint64_t lbd_now_ms(void);

/* journal.c: the state file and its journal.  Load: the file, then the
 * records the journal holds past it, all or nothing (1: no state yet).
 * Save: the file written whole, the journal emptied. */
int lbd_state_load(struct lbd *d, char *err, size_t errlen);
int lbd_state_save(struct lbd *d, char *err, size_t errlen);
/* state.c: the state file's JSON and the in-memory model */
void lbd_state_to_json(struct lbd *d, struct jw *w);
int lbd_state_from_json(struct lbd *d, const struct jv *root, char *err,
			size_t errlen);
void lbd_state_free(struct lbd *d);
/*
 * Persist the change made to the model since old (the VIPs as they were,
 * nold of them): one record appended to the journal and flushed, or the
 * whole state file when the change is large, cannot be told as a record,
 * or the journal would grow past journal_max (which starts it anew).
 * Either way it is on disk when this returns 0.
 */
int lbd_state_commit(struct lbd *d, const struct lbd_vip *old, size_t nold,
		     char *err, size_t errlen);
void lbd_journal_close(struct lbd *d);
#define LBD_DEFAULT_JOURNAL_MAX (1u << 20)
#define LBD_DEFAULT_CT_IDLE 600 /* seconds: --conntrack-idle */
struct lbd_vip *lbd_find_vip(struct lbd *d, const struct lb_vip_spec *spec);
struct lbd_backend *lbd_find_backend(struct lbd_vip *v, const union lb_addr *a,
				     uint8_t family);
int lbd_alloc_vip_id(struct lbd *d, uint32_t *id);
int lbd_alloc_backend_id(struct lbd *d, uint32_t *id);
const char *lbd_backend_state(const struct lbd_backend *b, char *buf,
			      size_t len);
bool lbd_backend_usable(const struct lbd_backend *b);
/* Weight in the Maglev table, in hundredths of the configured weight
 * (slow start ramps it); 0 if the backend takes no new flows. */
uint32_t lbd_backend_table_weight(const struct lbd_backend *b);
/* Down by its health check only (next-hop MAC known): the datapath may keep
 * the flows remembered on it (LB_BE_F_HEALTH_DOWN). */
bool lbd_backend_keeps_flows(const struct lbd_backend *b);
/* Flags of a new VIP: --on-down keep for TCP, rehash for UDP. */
uint32_t lbd_vip_default_flags(const struct lb_vip_spec *spec);
/* "keep" or "rehash" (LB_VIP_F_ON_DOWN_KEEP) */
const char *lbd_on_down_name(uint32_t flags);

/* pins.c: load the program, pin or adopt its maps */
int lbd_dp_open(struct lbd *d);
void lbd_dp_close(struct lbd *d);
/* Remove every object lbd pins from dir (PIN/abi-N), and dir. */
void lbd_dp_unpin_dir(const char *dir);
/* Once the new program is attached: copy what the older layout's program
 * added to its connection table meanwhile, remove the old pins. */
int lbd_dp_begin_carry_over(struct lbd *d);
void lbd_dp_finish_carry_over(struct lbd *d);

/* attach.c: attach, adopt or refuse, detach */
int lbd_dp_attach(struct lbd *d);
int lbd_dp_detach(struct lbd *d);
/* Refuse (-EBUSY, said why) when the interface runs the program of an lbd
 * whose pins are not under our pin root: another lbd owns it. */
int lbd_dp_check_owner(struct lbd *d);
/* A start that failed: remove what it pinned and attached, unless that was
 * adopted from an earlier lbd (then the datapath forwards on). */
void lbd_dp_abandon(struct lbd *d);
void lbd_dp_quiet_libxdp(void);

/* datapath.c: the model written into the maps */
int lbd_dp_write_config(struct lbd *d);
int lbd_dp_sync_vip(struct lbd *d, struct lbd_vip *v, bool force_table);
/* Many VIPs at once: every new table swapped in with one map update (one
 * RCU grace period, not one per table); adopt: keep the pinned table a VIP
 * has (a restart), to be verified later (lbd_dp_verify_tables).  Sets each
 * VIP's dirty flag; 0 or the first error. */
int lbd_dp_sync_vips(struct lbd *d, struct lbd_vip **vs, size_t n,
		     bool force_table, bool adopt);
int lbd_dp_remove_vip(struct lbd *d, struct lbd_vip *v);
/* The same but its table (lb_dp_remove_tables removes many at once) and
 * the rewrite of the VIP index (lb_dp_sync_vip_slots_kept, once after
 * many). */
int lbd_dp_remove_vip_entries(struct lbd *d, struct lbd_vip *v);
int lbd_dp_remove_backend(struct lbd *d, struct lbd_backend *b);
int lbd_dp_sync_all(struct lbd *d);
/* Compare up to budget adopted tables with the tables the state gives (by
 * digest), rebuilding those that differ; true while some are left. */
bool lbd_dp_verify_tables(struct lbd *d, size_t budget);
int lbd_dp_sync_vip_addrs(struct lbd *d);
void lbd_dp_seed_macs(struct lbd *d);
/* The one log line about the tables built while starting (tables_quiet). */
void lbd_dp_tables_summary(struct lbd *d);

/* model.c: the model kept in line with time, next hops and the datapath */
/* Re-evaluate backends' next hops, sync the VIPs that changed: all of
 * them, those due on the 1 s tick, or those a neighbour event named.
 * START does all of them before it returns; the others mark backends due
 * and look at LBD_NEIGH_SLICE of them, leaving the rest to
 * lbd_neigh_work() between events (d->neigh_pending), so that a control
 * request never waits for thousands of netlink round trips. */
enum lbd_refresh_mode {
	LBD_REFRESH_START,
	LBD_REFRESH_ALL,
	LBD_REFRESH_TICK,
	LBD_REFRESH_EVENTS,
};
#define LBD_NEIGH_SLICE 16
void lbd_refresh(struct lbd *d, enum lbd_refresh_mode mode);
/* Look at up to budget due backends; sync each VIP once none of its
 * backends is due.  Returns whether some are still due. */
bool lbd_neigh_work(struct lbd *d, size_t budget);
/* Log and time-stamp usability transitions of v's backends. */
void lbd_note_transitions(struct lbd *d, struct lbd_vip *v);
/* The packet rates of VIPs and backends, from the 1 s tick. */
void lbd_sample_rates(struct lbd *d);

/* ctkeep.c: lb_ct4 sized to the flows it holds, and swept; once a second.
 * lbd_ct4_size_for() makes room for n flows before they are written. */
void lbd_ct4_tick(struct lbd *d);
int lbd_ct4_size_for(struct lbd *d, uint64_t n);
/* Mark backend id: lb_ct4's words naming it go at a tick at least 100 ms
 * on (packets that read its old entry are done by then). */
void lbd_ct4_purge_later(struct lbd *d, uint32_t id);
static inline bool lbd_ct4_purge_pending(const struct lbd *d, uint32_t id)
{
	return d->ct4_purge && d->ct4_purge_ms && id < LB_MAX_BACKENDS &&
	       d->ct4_purge[id];
}
/* lb_ct4's live part (lines) and the flows in it (a scan). */
void lbd_ct4_count(const struct lbd *d, uint64_t *lines, uint64_t *flows);
/* The datapath's counters of every VIP and backend id in use. */
struct lbd_counters {
	struct lb_counter *vips; /* [vip id] */
	struct lb_counter *bes; /* [backend id] */
};
/* Read them in a few batch reads (one system call per 1024 ids, not one
 * per VIP and backend); 0 or -errno (nothing to free). */
int lbd_read_counters(struct lbd *d, struct lbd_counters *c);
void lbd_counters_free(struct lbd_counters *c);
/* Make the announce table hold a route for each VIP address with a
 * backend that takes new flows (none while the node is drained); on the
 * tick, after each change, and withdraw=true to withdraw everything. */
void lbd_announce_update(struct lbd *d, bool withdraw);

/* neigh.c: next-hop MAC resolution over rtnetlink */
int lbd_neigh_open(struct lbd *d);
void lbd_neigh_close(struct lbd *d);
/* Resolve one backend; returns true if its MAC or usability changed. */
bool lbd_neigh_resolve(struct lbd *d, struct lbd_backend *b);
int lbd_iface_info(struct lbd *d);
/* Read the multicast neighbour events (fd readable); true, with the
 * refresh they call for in *mode, when a backend's next hop is due. */
bool lbd_neigh_events(struct lbd *d, enum lbd_refresh_mode *mode);

/* health.c: TCP and HTTP health checks in the event loop */
/* epoll data of a probe: the tag, its sequence (bits 16..31) and the
 * backend id (bits 0..15) */
#define LBD_EV_PROBE (1ULL << 32)
int lbd_health_open(struct lbd *d);
void lbd_health_close(struct lbd *d);
/* After any change of VIPs or backends: re-index, stop stale probes. */
void lbd_health_sync(struct lbd *d);
void lbd_health_tick(struct lbd *d);
void lbd_health_event(struct lbd *d, uint32_t data, uint32_t events);
/* The check that applies to b (its own or its VIP's). */
const struct lbd_check *lbd_check_of(const struct lbd_vip *v,
				     const struct lbd_backend *b);
void lbd_check_defaults(struct lbd_check *c);
/* Parse and validate a "check" object; port 0 needs a VIP port. */
int lbd_check_from_json(const struct jv *o, const struct lb_vip_spec *vip,
			struct lbd_check *c, char *err, size_t errlen);
void lbd_check_to_json(const struct lbd_check *c, struct jw *w);
/* The HTTP status classes of expect as "2xx,3xx". */
void lbd_check_expect_str(uint8_t mask, char *buf, size_t len);
/* Reset the health of b after its check changed (or it was added). */
void lbd_health_reset(struct lbd *d, struct lbd_vip *v, struct lbd_backend *b,
		      bool keep_state);
/* ctl.c: the control socket (the commands: cmd.c, see ctl.h) */
/* Before lbd creates anything: refuse (-EADDRINUSE, said why) when another
 * lbd answers on the socket or is starting with it; else mark the socket as
 * "starting" for lbctl until lbd_ctl_open listens. */
int lbd_ctl_claim(struct lbd *d);
void lbd_ctl_mark_starting(struct lbd *d); /* again, after a fork */
void lbd_ctl_unmark_starting(struct lbd *d);
int lbd_ctl_open(struct lbd *d);
#define LBD_EV_CTL (1ULL << 33) /* epoll data: control client slot */
#define LBD_CTL_MAX_CLIENTS 64
#define LBD_CTL_TIMEOUT_MS 5000
void lbd_ctl_accept(struct lbd *d);
void lbd_ctl_event(struct lbd *d, uint32_t slot, uint32_t events);
void lbd_ctl_expire(struct lbd *d);
void lbd_ctl_close_clients(struct lbd *d);
void lbd_ctl_close(struct lbd *d);
/* cmd.c: handle one request; writes the response object into w.  True
 * when it was a change (applied or not), which may have moved backends. */
bool lbd_ctl_handle(struct lbd *d, const char *line, size_t len, struct jw *w);

/* metrics.c: Prometheus metrics over HTTP (--metrics) */
#define LBD_EV_METRICS (1ULL << 34) /* epoll data: the metrics server */
/* Validate a --metrics value: 0, or -EINVAL with a one-line message. */
int lbd_metrics_check(const char *spec, char *err, size_t errlen);
/* Listen (if --metrics was given) and join the event loop. */
int lbd_metrics_open(struct lbd *d);
void lbd_metrics_event(struct lbd *d);
void lbd_metrics_expire(struct lbd *d);
void lbd_metrics_close(struct lbd *d);
/* Count a health check result into the backend's histogram. */
void lbd_metrics_check_result(struct lbd_backend *b, bool ok,
			      uint64_t latency_us);

#endif /* LBD_H */
