// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * lb-decap - attaches the decapsulation XDP program (bpf/decap.bpf.c) to a
 * backend host's interface.  The balancer's IPIP / IP6IP6 / IPv4-in-IPv6
 * packets addressed to one of the --addr addresses lose their outer header
 * and go up the stack as the client's original packet; everything else
 * passes untouched.  For backend kernels without tunnel modules.
 *
 *   lb-decap --iface IFACE --addr ADDR [--addr ADDR]... [--xdp-mode MODE]
 *   lb-decap --iface IFACE --status
 *   lb-decap --iface IFACE --detach
 *
 * Running it again with other addresses replaces the attached program
 * atomically.  The program stays attached after lb-decap exits.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "addr.h"
#include "cli.h"
#include "lb_abi.h"
#include "log.h"
#include "decap.skel.h"

static const char *const decap_stat_names[LB_DECAP_STAT_MAX] = {
	LB_DECAP_STAT_NAMES
};

static void usage(FILE *f)
{
	fprintf(f, "usage: lb-decap --iface IFACE --addr ADDR [--addr ADDR]... "
		   "[--xdp-mode native|generic]\n"
		   "       lb-decap --iface IFACE --status\n"
		   "       lb-decap --iface IFACE --detach\n");
}

/* The id of the XDP program on ifindex in mode flags, 0 if none. */
static int attached_prog(int ifindex, __u32 flags, __u32 *id, char *name,
			 size_t len)
{
	struct bpf_prog_info info = {};
	__u32 ilen = sizeof(info);
	int fd, err;

	*id = 0;
	name[0] = 0;
	err = bpf_xdp_query_id(ifindex, flags, id);
	if (err || !*id)
		return err;
	fd = bpf_prog_get_fd_by_id(*id);
	if (fd < 0)
		return -errno;
	err = bpf_obj_get_info_by_fd(fd, &info, &ilen);
	close(fd);
	if (err)
		return -errno;
	snprintf(name, len, "%s", info.name);
	return 0;
}

/* fd of the map called name used by program id. */
static int prog_map(__u32 prog_id, const char *name)
{
	struct bpf_prog_info info = {};
	__u32 ids[16], ilen = sizeof(info), i;
	int pfd, fd;

	pfd = bpf_prog_get_fd_by_id(prog_id);
	if (pfd < 0)
		return -1;
	info.nr_map_ids = 16;
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(pfd, &info, &ilen)) {
		close(pfd);
		return -1;
	}
	close(pfd);
	for (i = 0; i < info.nr_map_ids && i < 16; i++) {
		struct bpf_map_info mi = {};
		__u32 mlen = sizeof(mi);

		fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &mi, &mlen) &&
		    !strcmp(mi.name, name))
			return fd;
		close(fd);
	}
	return -1;
}

static int status(const char *iface, int ifindex)
{
	struct lb_addr_key k, next, *prev = NULL;
	char name[BPF_OBJ_NAME_LEN], buf[LB_ADDRSTRLEN];
	int ncpu = libbpf_num_possible_cpus();
	__u32 id, i;
	int fd;

	if (attached_prog(ifindex, 0, &id, name, sizeof(name)) || !id ||
	    strcmp(name, LB_DECAP_PROG_NAME)) {
		printf("%s: no decap program attached\n", iface);
		return 1;
	}
	printf("%s: decap program id %u\naddresses:", iface, id);
	fd = prog_map(id, LB_DECAP_ADDRS_MAP);
	while (fd >= 0 && !bpf_map_get_next_key(fd, prev, &next)) {
		printf(" %s", lb_format_addr(&next.addr, next.family, buf,
					     sizeof(buf)));
		k = next;
		prev = &k;
	}
	printf("\n");
	if (fd >= 0)
		close(fd);
	fd = prog_map(id, LB_DECAP_STATS_MAP);
	if (fd < 0 || ncpu <= 0)
		return 0;
	for (i = 0; i < LB_DECAP_STAT_MAX; i++) {
		struct lb_counter c[ncpu];
		__u64 p = 0, b = 0;
		int cpu;

		if (bpf_map_lookup_elem(fd, &i, c))
			continue;
		for (cpu = 0; cpu < ncpu; cpu++) {
			p += c[cpu].packets;
			b += c[cpu].bytes;
		}
		printf("  %-20s %12llu pkts %14llu bytes\n",
		       decap_stat_names[i], (unsigned long long)p,
		       (unsigned long long)b);
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "addr", required_argument, NULL, 'a' },
		{ "xdp-mode", required_argument, NULL, 'm' },
		{ "status", no_argument, NULL, 's' },
		{ "detach", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct lb_addr_key keys[LB_MAX_DECAP_ADDRS];
	char err[LB_ERRLEN], name[BPF_OBJ_NAME_LEN];
	const char *iface = NULL;
	__u32 mode = XDP_FLAGS_DRV_MODE, old_id;
	struct lb_decap_addr accept = { .accept = 1 };
	int nkeys = 0, ifindex, c, i, rc = 1;
	bool do_status = false, do_detach = false;
	struct decap *skel;

	while ((c = getopt_long(argc, argv, "i:a:m:sdh", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			iface = optarg;
			break;
		case 'a':
			if (nkeys == LB_MAX_DECAP_ADDRS) {
				fprintf(stderr,
					"lb-decap: at most %d addresses\n",
					LB_MAX_DECAP_ADDRS);
				return 2;
			}
			memset(&keys[nkeys], 0, sizeof(keys[nkeys]));
			if (lb_parse_addr(optarg, &keys[nkeys].addr,
					  &keys[nkeys].family, err,
					  sizeof(err))) {
				fprintf(stderr, "lb-decap: --addr: %s\n", err);
				return 2;
			}
			nkeys++;
			break;
		case 'm':
			if (!strcmp(optarg, "native")) {
				mode = XDP_FLAGS_DRV_MODE;
			} else if (!strcmp(optarg, "generic")) {
				mode = XDP_FLAGS_SKB_MODE;
			} else {
				fprintf(stderr,
					"lb-decap: --xdp-mode must be native or generic, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 's':
			do_status = true;
			break;
		case 'd':
			do_detach = true;
			break;
		default: /* -h, or an option that is not one */
			return lb_opt_help(c, usage);
		}
	}
	if (!iface || optind != argc || (!do_status && !do_detach && !nkeys)) {
		usage(stderr);
		return 2;
	}
	ifindex = if_nametoindex(iface);
	if (!ifindex) {
		fprintf(stderr, "lb-decap: no interface '%s'\n", iface);
		return 1;
	}
	if (do_status)
		return status(iface, ifindex);

	if (attached_prog(ifindex, 0, &old_id, name, sizeof(name))) {
		fprintf(stderr, "lb-decap: cannot query XDP on %s\n", iface);
		return 1;
	}
	if (old_id && strcmp(name, LB_DECAP_PROG_NAME)) {
		fprintf(stderr,
			"lb-decap: %s runs another XDP program (%s, id %u); not touching it\n",
			iface, name, old_id);
		return 1;
	}
	if (do_detach) {
		if (!old_id) {
			printf("%s: no decap program attached\n", iface);
			return 0;
		}
		if (bpf_xdp_detach(ifindex, 0, NULL)) {
			fprintf(stderr, "lb-decap: detaching from %s: %s\n",
				iface, strerror(errno));
			return 1;
		}
		printf("%s: decap program detached\n", iface);
		return 0;
	}

	lb_log_libbpf();
	skel = decap__open_and_load();
	if (!skel) {
		fprintf(stderr, "lb-decap: loading the decap program failed\n");
		return 1;
	}
	for (i = 0; i < nkeys; i++) {
		if (bpf_map__update_elem(skel->maps.decap_addrs, &keys[i],
					 sizeof(keys[i]), &accept,
					 sizeof(accept), BPF_ANY)) {
			fprintf(stderr, "lb-decap: adding an address: %s\n",
				strerror(errno));
			goto out;
		}
	}
	if (old_id) {
		/* swap in the new program only if the old one is still there */
		LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = -1);
		int ofd = bpf_prog_get_fd_by_id(old_id);

		o.old_prog_fd = ofd;
		if (bpf_xdp_attach(ifindex,
				   bpf_program__fd(skel->progs.decap_xdp),
				   mode | XDP_FLAGS_REPLACE, &o)) {
			fprintf(stderr, "lb-decap: replacing on %s: %s\n",
				iface, strerror(errno));
			close(ofd);
			goto out;
		}
		close(ofd);
	} else if (bpf_xdp_attach(ifindex,
				  bpf_program__fd(skel->progs.decap_xdp),
				  mode | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL)) {
		fprintf(stderr, "lb-decap: attaching to %s: %s\n", iface,
			strerror(errno));
		goto out;
	}
	printf("%s: decap program attached (%s mode), %d address%s\n", iface,
	       mode == XDP_FLAGS_DRV_MODE ? "native" : "generic", nkeys,
	       nkeys == 1 ? "" : "es");
	rc = 0;
out:
	decap__destroy(skel);
	return rc;
}
