// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench_ctl.c - the three small tools of the control-plane benchmark
 * (tools/bench/control.sh), which measures how long after `lbctl
 * add-backend` returns the new backend gets its first packet.
 *
 *   bench_ctl send --dst ADDR --port P --src NET --rate PPS --secs S
 *       a steady stream of UDP packets to ADDR:P, every one a new flow: a
 *       raw socket writes the IPv4 header itself, with source addresses
 *       counted up from NET and source ports 10000..59999, so no flow
 *       repeats for 50,000 * 65,536 packets and each packet is a fresh
 *       Maglev lookup in the balancer.  Paced in bursts every 0.1 ms;
 *       stops after S seconds or on SIGTERM, then prints "sent N".
 *   bench_ctl watch --addr ADDR --port P --timeout S
 *       binds a UDP socket to ADDR:P with kernel receive timestamps,
 *       prints "ready", then "first NS" with the CLOCK_REALTIME time at
 *       which the kernel received the first datagram (or "first none").
 *   bench_ctl timed CMD ARGS...
 *       runs CMD and prints "timed START_NS END_NS STATUS": CLOCK_REALTIME
 *       right before fork and right after the command was reaped.
 *
 * All hosts of the lab share one kernel and so one CLOCK_REALTIME: times
 * taken in different namespaces compare directly.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BATCH_NS 100000ull /* pacing period: the time resolution */
#define PORT_BASE 10000
#define PORT_SPAN 50000
#define PAYLOAD 18 /* a 60-byte frame */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void die_usage(void)
{
	fprintf(stderr,
		"usage: bench_ctl send --dst ADDR --port P --src NET --rate PPS --secs S\n"
		"       bench_ctl watch --addr ADDR --port P --timeout S\n"
		"       bench_ctl timed CMD [ARGS...]\n");
	exit(2);
}

struct args {
	struct in_addr dst, src;
	int port;
	double rate, secs;
};

static void parse(int argc, char **argv, struct args *a)
{
	static const struct option lo[] = {
		{ "dst", required_argument, NULL, 'd' },
		{ "addr", required_argument, NULL, 'd' },
		{ "port", required_argument, NULL, 'p' },
		{ "src", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "secs", required_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 't' },
		{ 0 },
	};
	int opt;

	memset(a, 0, sizeof(*a));
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'd':
			if (inet_pton(AF_INET, optarg, &a->dst) != 1)
				die_usage();
			break;
		case 's':
			if (inet_pton(AF_INET, optarg, &a->src) != 1)
				die_usage();
			break;
		case 'p':
			a->port = atoi(optarg);
			break;
		case 'r':
			a->rate = atof(optarg);
			break;
		case 't':
			a->secs = atof(optarg);
			break;
		default:
			die_usage();
		}
	}
	if (optind != argc || !a->dst.s_addr || a->port <= 0 ||
	    a->port > 65535 || !(a->secs > 0 && a->secs <= 600))
		die_usage();
}

static uint16_t csum16(const void *p, size_t len)
{
	const uint16_t *w = p;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *w++;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int cmd_send(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct {
		struct iphdr ip;
		struct udphdr udp;
		char data[PAYLOAD];
	} __attribute__((packed)) pkt;
	uint64_t sent = 0, per_batch, next, end;
	struct args a;
	int fd;

	parse(argc, argv, &a);
	if (!a.src.s_addr || !(a.rate >= 1000 && a.rate <= 1000000))
		die_usage();
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW); /* IP_HDRINCL */
	if (fd < 0) {
		perror("bench_ctl: raw socket");
		return 1;
	}
	to.sin_addr = a.dst;
	memset(&pkt, 0, sizeof(pkt));
	pkt.ip.version = 4;
	pkt.ip.ihl = 5;
	pkt.ip.tot_len = htons(sizeof(pkt));
	pkt.ip.ttl = 64;
	pkt.ip.protocol = IPPROTO_UDP;
	pkt.ip.daddr = a.dst.s_addr;
	pkt.udp.dest = htons(a.port);
	pkt.udp.len = htons(sizeof(pkt) - sizeof(pkt.ip));
	/* UDP checksum 0: none, allowed over IPv4 */

	per_batch = (uint64_t)(a.rate * BATCH_NS / 1e9 + 0.5);
	if (!per_batch)
		per_batch = 1;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	/* wake on time: the default 50 us of slack is half a period */
	prctl(PR_SET_TIMERSLACK, 1UL);
	next = now_ns(CLOCK_MONOTONIC);
	end = next + (uint64_t)(a.secs * 1e9);
	while (!stop && next < end) {
		struct timespec ts = { .tv_sec = next / 1000000000ull,
				       .tv_nsec = next % 1000000000ull };

		for (uint64_t i = 0; i < per_batch; i++, sent++) {
			uint32_t host = ntohl(a.src.s_addr) +
					(uint32_t)(sent / PORT_SPAN);

			pkt.ip.saddr = htonl(host);
			pkt.ip.check = 0;
			pkt.ip.check = csum16(&pkt.ip, sizeof(pkt.ip));
			pkt.udp.source = htons(PORT_BASE + sent % PORT_SPAN);
			if (sendto(fd, &pkt, sizeof(pkt), 0,
				   (struct sockaddr *)&to, sizeof(to)) < 0 &&
			    errno != ENOBUFS && errno != EINTR) {
				perror("bench_ctl: sendto");
				close(fd);
				return 1;
			}
		}
		next += BATCH_NS;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	close(fd);
	printf("sent %llu\n", (unsigned long long)sent);
	return 0;
}

static int cmd_watch(int argc, char **argv)
{
	struct sockaddr_in me = { .sin_family = AF_INET };
	char buf[2048], cbuf[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct pollfd pfd;
	struct cmsghdr *cm;
	struct args a;
	int fd, one = 1, n;

	parse(argc, argv, &a);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("bench_ctl: socket");
		return 1;
	}
	me.sin_addr = a.dst;
	me.sin_port = htons(a.port);
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&me, sizeof(me))) {
		perror("bench_ctl: watch socket");
		close(fd);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	pfd.fd = fd;
	pfd.events = POLLIN;
	n = poll(&pfd, 1, (int)(a.secs * 1000));
	if (n <= 0 || recvmsg(fd, &m, 0) < 0) {
		printf("first none\n");
		close(fd);
		return 0;
	}
	for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
			printf("first %llu\n",
			       (unsigned long long)ts.tv_sec * 1000000000ull +
				       ts.tv_nsec);
			close(fd);
			return 0;
		}
	}
	fprintf(stderr, "bench_ctl: no receive timestamp\n");
	close(fd);
	return 1;
}

static int cmd_timed(int argc, char **argv)
{
	uint64_t t0, t1;
	int status;
	pid_t pid;

	if (argc < 2)
		die_usage();
	fflush(stdout);
	t0 = now_ns(CLOCK_REALTIME);
	pid = fork();
	if (pid < 0) {
		perror("bench_ctl: fork");
		return 1;
	}
	if (!pid) {
		execvp(argv[1], argv + 1);
		perror("bench_ctl: exec");
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("bench_ctl: waitpid");
		return 1;
	}
	t1 = now_ns(CLOCK_REALTIME);
	printf("timed %llu %llu %d\n", (unsigned long long)t0,
	       (unsigned long long)t1,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		die_usage();
	if (!strcmp(argv[1], "send"))
		return cmd_send(argc - 1, argv + 1);
	if (!strcmp(argv[1], "watch"))
		return cmd_watch(argc - 1, argv + 1);
	if (!strcmp(argv[1], "timed"))
		return cmd_timed(argc - 1, argv + 1);
	die_usage();
}
