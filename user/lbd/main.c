// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * lbd - the load balancer daemon.  Loads and attaches the XDP datapath to
 * an interface, owns the configuration (VIPs, backends, weights), keeps
 * the datapath's maps in line with it, resolves next-hop MACs, and answers
 * lbctl on a Unix socket.  The datapath belongs to the kernel once
 * attached: lbd may exit, crash or be upgraded without dropping a packet.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libmnl/libmnl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "cli.h"
#include "lbd.h"
#include "lb.skel.h"
#include "log.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lbd --iface IFACE [options]\n"
		"       lbd --iface IFACE --detach [--pin DIR] [--announce-table N]\n"
		"\n"
		"  -i, --iface IFACE        interface to attach the XDP program to\n"
		"  -m, --xdp-mode MODE      native (default), generic or auto\n"
		"  -s, --state FILE         state file (default %s)\n"
		"  -S, --socket PATH        control socket (default %s)\n"
		"  -p, --pin DIR            bpffs directory for pinned objects\n"
		"                           (default %s)\n"
		"  -f, --foreground         do not daemonize; log to stderr\n"
		"  -l, --log FILE           log file of the daemon (default: syslog)\n"
		"      --metrics ADDR:PORT  serve Prometheus metrics at /metrics (off by\n"
		"                           default; a bare PORT means 127.0.0.1:PORT)\n"
		"      --announce-table N   keep a route per VIP address that has a backend\n"
		"                           taking new flows in routing table N, for a\n"
		"                           BGP speaker to announce (off by default)\n"
		"      --announce-proto N   routing protocol number of those routes\n"
		"                           (default %u)\n"
		"      --conntrack-size N   connection table entries per family (default %u)\n"
		"      --conntrack-idle S   forget an IPv4 flow to a VIP of one port after\n"
		"                           S/2 to S seconds without a packet (default %u)\n"
		"      --journal-max BYTES  a change is saved as a record appended to\n"
		"                           FILE.journal until it holds this much; then\n"
		"                           FILE is written whole (default %u; 0: every\n"
		"                           change writes FILE whole)\n"
		"      --hash-seed N        fleet-wide flow hash seed (same on every LB)\n"
		"      --encap-src4 ADDR    outer source of IPIP packets\n"
		"      --encap-src6 ADDR    outer source of IP6IP6/4in6 packets\n"
		"      --detach             remove the program and pinned objects, exit\n"
		"      --detach-on-exit     detach when lbd exits (default: keep forwarding)\n"
		"      --reload             swap in a freshly loaded program even when the\n"
		"                           attached one is identical (maps are kept)\n"
		"  -v, --verbose            debug logging\n"
		"  -h, --help\n",
		LBD_DEFAULT_STATE, LBD_DEFAULT_SOCKET, LBD_DEFAULT_PIN,
		LBD_ANNOUNCE_PROTO, LB_CT_DEFAULT_SIZE, LBD_DEFAULT_CT_IDLE,
		LBD_DEFAULT_JOURNAL_MAX);
}

static int epoll_add(struct lbd *d, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)fd };

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int setup_loop(struct lbd *d)
{
	struct itimerspec its = { .it_interval = { 1, 0 },
				  .it_value = { 1, 0 } };
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	d->timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sig_fd < 0 || d->timer_fd < 0 || d->epfd < 0)
		return -errno;
	timerfd_settime(d->timer_fd, 0, &its, NULL);
	if (epoll_add(d, d->sig_fd) || epoll_add(d, d->timer_fd) ||
	    epoll_add(d, d->ctl_fd) ||
	    epoll_add(d, mnl_socket_get_fd(d->nl_events)))
		return -errno;
	return 0;
}

static void run_loop(struct lbd *d)
{
	struct epoll_event ev[16];
	enum lbd_refresh_mode mode;

	/* tables adopted at start are compared with the state a few at a
	 * time, between events, so that the control socket answers meanwhile */
	bool verifying = true;

	while (!d->stop) {
		int n = epoll_wait(d->epfd, ev, 16,
				   verifying || d->neigh_pending ? 0 : -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_warn("epoll: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = ev[i].data.u64;
			int fd = (int)tag;

			if (tag & LBD_EV_METRICS) {
				lbd_metrics_event(d);
			} else if (tag & LBD_EV_CTL) {
				lbd_ctl_event(d, (uint32_t)tag, ev[i].events);
			} else if (tag & LBD_EV_PROBE) {
				lbd_health_event(d, (uint32_t)tag,
						 ev[i].events);
			} else if (fd == d->hc_timer_fd) {
				lbd_health_tick(d);
				lbd_ctl_expire(d);
				lbd_metrics_expire(d);
			} else if (fd == d->sig_fd) {
				struct signalfd_siginfo si;

				while (read(d->sig_fd, &si, sizeof(si)) ==
				       sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						pr_info("SIGHUP: re-resolving "
							"all backends");
						lbd_refresh(d, LBD_REFRESH_ALL);
						continue;
					}
					pr_info("signal %u: exiting%s",
						si.ssi_signo,
						d->detach_on_exit ?
							"" :
							"; the datapath keeps "
							"forwarding");
					d->stop = true;
				}
			} else if (fd == d->timer_fd) {
				uint64_t ticks;

				if (read(d->timer_fd, &ticks, sizeof(ticks)) <
				    0)
					continue;
				lbd_refresh(d, LBD_REFRESH_TICK);
				lbd_sample_rates(d);
				lbd_ct4_tick(d);
				/* also puts back what the kernel removed
				 * (the interface went down and up) */
				lbd_announce_update(d, false);
			} else if (fd == d->ctl_fd) {
				lbd_ctl_accept(d);
			} else if (lbd_neigh_events(d, &mode)) {
				lbd_refresh(d, mode);
			}
		}
		if (verifying)
			verifying = lbd_dp_verify_tables(d, 16);
		if (d->neigh_pending)
			d->neigh_pending = lbd_neigh_work(d, LBD_NEIGH_SLICE);
	}
}

/* Fork into the background once ready; the parent exits with the child's
 * startup result so `lbd ... && lbctl ...` works. */
static int daemon_begin(int *notify_fd)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		exit(read(p[0], &c, 1) == 1 && c == 'R' ? EXIT_SUCCESS :
							  EXIT_FAILURE);
	}
	close(p[0]);
	setsid();
	*notify_fd = p[1];
	return 0;
}

static void daemon_ready(int notify_fd, int log_fd)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (log_fd < 0)
		lb_log_syslog("lbd");
	lb_log_echo_warnings(false);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(log_fd >= 0 ? log_fd : fd, STDOUT_FILENO);
		dup2(log_fd >= 0 ? log_fd : fd, STDERR_FILENO);
		close(fd);
	}
	if (write(notify_fd, "R", 1) != 1)
		pr_warn("cannot notify the parent process");
	close(notify_fd);
}

int main(int argc, char **argv)
{
	enum {
		OPT_CT = 256,
		OPT_CT_IDLE,
		OPT_SEED,
		OPT_SRC4,
		OPT_SRC6,
		OPT_DETACH,
		OPT_DETACH_EXIT,
		OPT_RELOAD,
		OPT_METRICS,
		OPT_ANN_TABLE,
		OPT_ANN_PROTO,
		OPT_JOURNAL_MAX
	};
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "xdp-mode", required_argument, NULL, 'm' },
		{ "state", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },
		{ "pin", required_argument, NULL, 'p' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "log", required_argument, NULL, 'l' },
		{ "conntrack-size", required_argument, NULL, OPT_CT },
		{ "conntrack-idle", required_argument, NULL, OPT_CT_IDLE },
		{ "hash-seed", required_argument, NULL, OPT_SEED },
		{ "encap-src4", required_argument, NULL, OPT_SRC4 },
		{ "encap-src6", required_argument, NULL, OPT_SRC6 },
		{ "detach", no_argument, NULL, OPT_DETACH },
		{ "detach-on-exit", no_argument, NULL, OPT_DETACH_EXIT },
		{ "reload", no_argument, NULL, OPT_RELOAD },
		{ "metrics", required_argument, NULL, OPT_METRICS },
		{ "announce-table", required_argument, NULL, OPT_ANN_TABLE },
		{ "announce-proto", required_argument, NULL, OPT_ANN_PROTO },
		{ "journal-max", required_argument, NULL, OPT_JOURNAL_MAX },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct lbd d = { .old_ct_fd = -1,
			 .old_ct4_fd = -1,
			 .ct_idle_s = LBD_DEFAULT_CT_IDLE,
			 .ctl_fd = -1,
			 .sig_fd = -1,
			 .timer_fd = -1,
			 .hc_timer_fd = -1,
			 .epfd = -1,
			 .journal_max = LBD_DEFAULT_JOURNAL_MAX,
			 .xdp_mode = XDP_MODE_NATIVE };
	const char *seed_opt = NULL, *src4 = NULL, *src6 = NULL;
	union lb_addr a4 = {}, a6 = {};
	uint64_t seed = 0;
	bool detach = false;
	char err[512];
	int notify_fd = -1, log_fd = -1, c, rc;
	uint8_t fam;

	d.state_path = LBD_DEFAULT_STATE;
	d.sock_path = LBD_DEFAULT_SOCKET;
	d.pin_root = LBD_DEFAULT_PIN;
	d.seed = LBD_DEFAULT_SEED;

	while ((c = getopt_long(argc, argv, "i:m:s:S:p:fl:vh", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'i':
			snprintf(d.iface, sizeof(d.iface), "%s", optarg);
			break;
		case 'm':
			if (!strcmp(optarg, "native")) {
				d.xdp_mode = XDP_MODE_NATIVE;
			} else if (!strcmp(optarg, "generic")) {
				d.xdp_mode = XDP_MODE_SKB;
			} else if (!strcmp(optarg, "auto")) {
				d.xdp_auto = true;
			} else {
				fprintf(stderr,
					"lbd: unknown XDP mode '%s' "
					"(native, generic or auto)\n",
					optarg);
				return 2;
			}
			break;
		case 's':
			d.state_path = optarg;
			break;
		case 'l':
			d.log_path = optarg;
			break;
		case 'S':
			d.sock_path = optarg;
			break;
		case 'p':
			d.pin_root = optarg;
			break;
		case 'f':
			d.foreground = true;
			break;
		case OPT_CT:
			if (lb_parse_u32(optarg, "conntrack size", 1024,
					 1U << 28, &d.ct_size, err,
					 sizeof(err))) {
				fprintf(stderr, "lbd: %s\n", err);
				return 2;
			}
			break;
		case OPT_CT_IDLE:
			if (lb_parse_u32(optarg, "conntrack idle time", 10,
					 7 * 86400, &d.ct_idle_s, err,
					 sizeof(err))) {
				fprintf(stderr, "lbd: %s\n", err);
				return 2;
			}
			break;
		case OPT_SEED:
			seed_opt = optarg;
			break;
		case OPT_SRC4:
			src4 = optarg;
			break;
		case OPT_SRC6:
			src6 = optarg;
			break;
		case OPT_DETACH:
			detach = true;
			break;
		case OPT_DETACH_EXIT:
			d.detach_on_exit = true;
			break;
		case OPT_RELOAD:
			d.reload_prog = true;
			break;
		case OPT_METRICS:
			if (lbd_metrics_check(optarg, err, sizeof(err))) {
				fprintf(stderr, "lbd: --metrics %s\n", err);
				return 2;
			}
			d.metrics_listen = optarg;
			break;
		case OPT_ANN_TABLE:
			/* 253..255 are the kernel's default, main and
			 * local tables: routes there would forward */
			if (lb_parse_u32(optarg, "--announce-table", 1,
					 UINT32_MAX, &d.announce_table, err,
					 sizeof(err))) {
				fprintf(stderr, "lbd: %s\n", err);
				return 2;
			}
			if (d.announce_table >= 253 &&
			    d.announce_table <= 255) {
				fprintf(stderr,
					"lbd: --announce-table %u is one of the "
					"kernel's own tables (default, main, "
					"local); use a table of its own, e.g. "
					"100\n",
					d.announce_table);
				return 2;
			}
			break;
		case OPT_ANN_PROTO: {
			uint32_t p;

			if (lb_parse_u32(optarg, "--announce-proto", 5, 255, &p,
					 err, sizeof(err))) {
				fprintf(stderr,
					"lbd: %s (0..4 are the kernel's own)\n",
					err);
				return 2;
			}
			d.announce_proto = (uint8_t)p;
			break;
		}
		case OPT_JOURNAL_MAX: {
			uint32_t n;

			if (lb_parse_u32(optarg, "--journal-max", 0, UINT32_MAX,
					 &n, err, sizeof(err))) {
				fprintf(stderr, "lbd: %s\n", err);
				return 2;
			}
			d.journal_max = n;
			break;
		}
		case 'v':
			lb_log_level = LB_LOG_DEBUG;
			break;
		default: /* -h, or an option that is not one */
			return lb_opt_help(c, usage);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lbd: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	if (!d.iface[0]) {
		fprintf(stderr, "lbd: missing --iface IFACE\n");
		usage(stderr);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "lbd: must run as root (it loads BPF programs "
				"and attaches XDP)\n");
		return 1;
	}
	lb_log_libbpf();
	if (lbd_iface_info(&d))
		return 1;

	if (!d.announce_proto)
		d.announce_proto = LBD_ANNOUNCE_PROTO;
	if (detach) {
		/* the datapath goes: so do the routes that say it serves */
		if (d.announce_table &&
		    !lbd_announce_open(&d.ann, d.announce_table,
				       d.announce_proto, d.ifindex)) {
			lbd_announce_update(&d, true);
			lbd_announce_close(&d.ann);
		}
		rc = lbd_dp_detach(&d);
		unlink(d.sock_path);
		return rc ? 1 : 0;
	}

	if (d.log_path) {
		/* from here on the log file has the whole story; the terminal
		 * still sees why a start fails */
		log_fd = lb_log_open(d.log_path, true);
		if (log_fd < 0) {
			pr_err("cannot open log file %s: %s", d.log_path,
			       strerror(errno));
			return 1;
		}
	}
	if (seed_opt) {
		char *end;

		errno = 0;
		seed = strtoull(seed_opt, &end, 0);
		if (errno || *end || !*seed_opt) {
			pr_err("invalid --hash-seed '%s'", seed_opt);
			return 2;
		}
	}
	if (src4 && (lb_parse_addr(src4, &a4, &fam, err, sizeof(err)) ||
		     fam != LB_FAMILY_V4)) {
		pr_err("invalid --encap-src4 '%s'", src4);
		return 2;
	}
	if (src6 && (lb_parse_addr(src6, &a6, &fam, err, sizeof(err)) ||
		     fam != LB_FAMILY_V6)) {
		pr_err("invalid --encap-src6 '%s'", src6);
		return 2;
	}
	/* before anything is created: another lbd on the socket refuses
	 * this start; from here lbctl says "starting" */
	if (lbd_ctl_claim(&d))
		return 1;
	rc = lbd_state_load(&d, err, sizeof(err));
	if (rc < 0) {
		pr_err("%s", err);
		goto fail;
	}
	if (rc > 0)
		pr_info("no state file at %s: starting empty", d.state_path);
	if (seed_opt)
		d.seed = seed;
	if (src4) {
		d.encap_src4 = a4;
		d.encap_src4_set = true;
	}
	if (src6) {
		d.encap_src6 = a6;
		d.encap_src6_set = true;
	}
	/* fill in defaults for what the state did not set */
	lbd_iface_info(&d);
	/* another lbd's program on the interface: refuse before pinning */
	if (lbd_dp_check_owner(&d))
		goto fail;

	if (!d.foreground) {
		if (daemon_begin(&notify_fd))
			goto fail;
		lbd_ctl_mark_starting(&d); /* the daemon's pid */
	}
	d.started_ms = lbd_now_ms();

	/* one summary line for the tables built while starting */
	d.tables_quiet = true;
	lbd_dp_quiet_libxdp();
	if (lbd_dp_open(&d))
		goto fail;
	lbd_dp_seed_macs(&d);
	if (lbd_dp_write_config(&d) || lbd_dp_sync_all(&d)) {
		pr_err("cannot write the configuration into the datapath");
		goto fail;
	}
	if (lbd_dp_begin_carry_over(&d))
		goto fail;
	if (lbd_dp_attach(&d))
		goto fail;
	if (lbd_neigh_open(&d))
		goto fail;
	lbd_refresh(&d, LBD_REFRESH_START);
	lbd_dp_tables_summary(&d);
	if (d.announce_table) {
		rc = lbd_announce_open(&d.ann, d.announce_table,
				       d.announce_proto, d.ifindex);
		if (rc) {
			pr_err("cannot open rtnetlink for --announce-table: %s",
			       strerror(-rc));
			goto fail;
		}
		lbd_announce_update(&d, false);
	}
	if (lbd_ctl_open(&d))
		goto fail;
	if (lbd_state_save(&d, err, sizeof(err))) {
		pr_err("%s", err);
		goto fail;
	}
	if (setup_loop(&d) || lbd_health_open(&d) || lbd_metrics_open(&d))
		goto fail;
	pr_info("lbd ready on %s: %zu VIPs, control socket %s", d.iface,
		d.nvips, d.sock_path);
	if (notify_fd >= 0)
		daemon_ready(notify_fd, log_fd);

	run_loop(&d);

	/* health saved at most once a second: what changed since goes now,
	 * or a restart would start from older health; and the journal's
	 * records into the state file, which then holds everything */
	if ((d.save_pending || d.journal_len) &&
	    lbd_state_save(&d, err, sizeof(err)))
		pr_warn("%s", err);

	lbd_metrics_close(&d);
	lbd_health_close(&d);
	lbd_ctl_close_clients(&d);
	lbd_ctl_close(&d);
	if (d.detach_on_exit) {
		lbd_announce_update(&d, true);
		lbd_dp_detach(&d);
	}
	lbd_announce_close(&d.ann);
	lbd_neigh_close(&d);
	lbd_dp_close(&d);
	lbd_journal_close(&d);
	lbd_state_free(&d);
	return 0;
fail:
	lbd_metrics_close(&d);
	lbd_health_close(&d);
	lbd_ctl_close_clients(&d);
	lbd_ctl_close(&d);
	lbd_ctl_unmark_starting(&d);
	lbd_announce_close(&d.ann);
	lbd_neigh_close(&d);
	/* a refused start leaves nothing behind that it made */
	lbd_dp_abandon(&d);
	if (d.skel)
		lbd_dp_close(&d);
	lbd_journal_close(&d);
	lbd_state_free(&d);
	return 1;
}
