// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench_cache.c - replay one fixed request stream against caching HTTP
 * servers and count how many answers came from their cache.
 *
 *   bench_cache --target ADDR:PORT [--target ...] [--conns M] [--keys K]
 *               [--requests R] [--alpha A] [--seed S]
 *
 * The stream: R requests for "/obj/<key>", keys 0..K-1 drawn from a Zipf
 * distribution of exponent A (key i has weight 1/(i+1)^A) by a seeded
 * generator, so every run with the same parameters asks for exactly the
 * same keys in the same order.
 *
 * Request k travels on keep-alive connection k mod M, and connection j goes
 * to target j mod T (M must be a multiple of T).  Each connection sends its
 * share of the stream in order, one request at a time; connections run
 * concurrently.  With one target per server process (a cache per worker)
 * each process therefore sees the same sub-stream every run, as a worker
 * that the kernel handed 1/T of the connections would.
 *
 * Every answer must be 200 with Content-Length and an X-Cache header
 * (HIT, HIT-REDIS or MISS, as lb-backend sends).  Printed at the end, one
 * line:
 *   requests R hits H hit_rate P hit_rate_2nd P2 distinct D ideal I
 *   redis_hits RH redis_rate RP misses M lat_us HIT_P50 REDIS_P50 MISS_P50
 * with P2 the hit rate over the second half of the stream (caches warm),
 * D the distinct keys of the stream and I = 1 - D/R, the hit rate of an
 * unbounded shared cache; hits are those of the local cache, RH those of
 * the Redis tier, M the answers fetched from the origin, and the last
 * three the median time from sending a request to its whole answer for
 * each kind (-1 when there was none of that kind).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_TARGETS 16
#define MAX_CONNS 64
#define BUF_SIZE 65536
#define TIMEOUT_MS 120000 /* the whole replay */

struct conn {
	int fd;
	uint64_t next; /* index in the stream of its next request */
	uint64_t cur; /* of the request in flight */
	struct timespec sent; /* when it went */
	int busy;
	char *buf;
	size_t len;
};

static uint64_t rng_state;

/* splitmix64: small, seedable, good enough to draw keys */
static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "bench_cache: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_cache --target ADDR:PORT [--target ...] [--conns M]\n"
		"                   [--keys K] [--requests R] [--alpha A] [--seed S]\n");
	exit(2);
}

static int parse_target(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, colon - s);
	host[colon - s] = '\0';
	port = strtol(colon + 1, NULL, 10);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (port <= 0 || port > 65535 ||
	    inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -1;
	return 0;
}

/* The stream: keys drawn by inverting the Zipf CDF. */
static uint32_t *make_stream(uint32_t keys, uint64_t n, double alpha,
			     uint64_t seed)
{
	double *cdf = malloc(keys * sizeof(*cdf)), sum = 0;
	uint32_t *s = malloc(n * sizeof(*s));

	if (!cdf || !s)
		die("%s", "out of memory");
	for (uint32_t i = 0; i < keys; i++) {
		sum += 1.0 / pow(i + 1, alpha);
		cdf[i] = sum;
	}
	rng_state = seed;
	for (uint64_t k = 0; k < n; k++) {
		double u =
			(rng_next() >> 11) * (1.0 / 9007199254740992.0) * sum;
		uint32_t lo = 0, hi = keys - 1;

		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;

			if (cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		s[k] = lo;
	}
	free(cdf);
	return s;
}

static int send_request(struct conn *c, uint32_t key)
{
	char req[128];
	int n = snprintf(req, sizeof(req),
			 "GET /obj/%u HTTP/1.1\r\nHost: bench\r\n\r\n", key);

	return send(c->fd, req, n, MSG_NOSIGNAL) == n ? 0 : -1;
}

/* A header's value within head[0..len), or NULL. */
static const char *header(const char *head, size_t len, const char *name,
			  size_t *vlen)
{
	size_t nl = strlen(name);
	const char *p = memchr(head, '\n', len), *end = head + len;

	while (p && p + 1 + nl + 1 < end) {
		const char *line = p + 1, *eol = memchr(line, '\r', end - line);

		if (!eol)
			break;
		if (!strncasecmp(line, name, nl) && line[nl] == ':') {
			const char *v = line + nl + 1;

			while (v < eol && *v == ' ')
				v++;
			*vlen = eol - v;
			return v;
		}
		p = memchr(line, '\n', end - line);
	}
	return NULL;
}

/*
 * Take one whole answer off the buffer if there is one: 1 and *hit set,
 * 0 if more bytes are needed, -1 on a bad answer.
 */
static int take_answer(struct conn *c, int *hit)
{
	char *eoh = memmem(c->buf, c->len, "\r\n\r\n", 4);
	const char *v;
	size_t hlen, vlen, total;
	long clen;

	if (!eoh)
		return c->len >= BUF_SIZE ? -1 : 0;
	hlen = eoh + 4 - c->buf;
	if (c->len < 12 || memcmp(c->buf + 9, "200", 3))
		return -1;
	v = header(c->buf, hlen, "Content-Length", &vlen);
	if (!v)
		return -1;
	clen = strtol(v, NULL, 10);
	if (clen < 0 || hlen + clen > BUF_SIZE)
		return -1;
	total = hlen + clen;
	if (c->len < total)
		return 0;
	v = header(c->buf, hlen, "X-Cache", &vlen);
	if (!v)
		return -1;
	if (vlen == 3 && !memcmp(v, "HIT", 3))
		*hit = 1;
	else if (vlen == 9 && !memcmp(v, "HIT-REDIS", 9))
		*hit = 2;
	else if (vlen == 4 && !memcmp(v, "MISS", 4))
		*hit = 0;
	else
		return -1;
	memmove(c->buf, c->buf + total, c->len - total);
	c->len -= total;
	return 1;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The median of n latencies (sorted in place), -1 for none. */
static double median(uint32_t *v, uint64_t n)
{
	if (!n)
		return -1;
	qsort(v, n, sizeof(*v), cmp_u32);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "target", required_argument, NULL, 't' },
		{ "conns", required_argument, NULL, 'c' },
		{ "keys", required_argument, NULL, 'k' },
		{ "requests", required_argument, NULL, 'n' },
		{ "alpha", required_argument, NULL, 'a' },
		{ "seed", required_argument, NULL, 's' },
		{ 0 },
	};
	struct sockaddr_in tg[MAX_TARGETS];
	struct conn cs[MAX_CONNS];
	struct pollfd pfd[MAX_CONNS];
	uint64_t n = 100000, seed = 1, done = 0, hits = 0, hits2 = 0, distinct;
	uint32_t keys = 10000, *stream;
	double alpha = 0.9;
	int nt = 0, m = 0, opt, one = 1;
	uint8_t *seen;
	struct timespec t0, t1;
	uint32_t *lat[3]; /* by kind: 0 MISS, 1 HIT, 2 HIT-REDIS (us) */
	uint64_t nlat[3] = { 0 };

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 't':
			if (nt == MAX_TARGETS || parse_target(optarg, &tg[nt]))
				die("bad target '%s'", optarg);
			nt++;
			break;
		case 'c':
			m = atoi(optarg);
			break;
		case 'k':
			keys = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			n = strtoull(optarg, NULL, 10);
			break;
		case 'a':
			alpha = atof(optarg);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (!m)
		m = nt;
	if (optind != argc || !nt || m < 1 || m > MAX_CONNS || m % nt ||
	    !keys || keys > 10000000 || !n || n > 100000000 ||
	    !(alpha >= 0 && alpha <= 3))
		usage();

	stream = make_stream(keys, n, alpha, seed);
	seen = calloc(keys, 1);
	for (int k = 0; k < 3; k++)
		lat[k] = malloc(n * sizeof(**lat));
	if (!seen || !lat[0] || !lat[1] || !lat[2])
		die("%s", "out of memory");
	distinct = 0;
	for (uint64_t k = 0; k < n; k++) {
		distinct += !seen[stream[k]];
		seen[stream[k]] = 1;
	}

	for (int j = 0; j < m; j++) {
		struct conn *c = &cs[j];

		c->fd = socket(AF_INET, SOCK_STREAM, 0);
		c->buf = malloc(BUF_SIZE);
		if (c->fd < 0 || !c->buf)
			die("%s", strerror(errno));
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(c->fd, (struct sockaddr *)&tg[j % nt],
			    sizeof(tg[0])))
			die("connect: %s", strerror(errno));
		c->next = j;
		c->busy = 0;
		c->len = 0;
		pfd[j].fd = c->fd;
		pfd[j].events = POLLIN;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (done < n) {
		for (int j = 0; j < m; j++) {
			struct conn *c = &cs[j];

			if (c->busy || c->next >= n)
				continue;
			if (send_request(c, stream[c->next]))
				die("send: %s", strerror(errno));
			c->cur = c->next;
			clock_gettime(CLOCK_MONOTONIC, &c->sent);
			c->next += m;
			c->busy = 1;
		}
		int r = poll(pfd, m, 1000);

		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000 > TIMEOUT_MS)
			die("%s", "timed out");
		if (r < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (int j = 0; r > 0 && j < m; j++) {
			struct conn *c = &cs[j];
			ssize_t got;
			int hit, t;

			if (!(pfd[j].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			got = recv(c->fd, c->buf + c->len, BUF_SIZE - c->len,
				   0);
			if (got <= 0)
				die("connection lost: %s",
				    got ? strerror(errno) : "closed");
			c->len += got;
			t = take_answer(c, &hit);
			if (t < 0)
				die("bad answer to request %s",
				    "(not 200, or no Content-Length/X-Cache)");
			if (t == 0)
				continue;
			if (!c->busy || c->len)
				die("%s", "answer without a request");
			c->busy = 0;
			done++;
			lat[hit][nlat[hit]++] =
				(t1.tv_sec - c->sent.tv_sec) * 1000000 +
				(t1.tv_nsec - c->sent.tv_nsec) / 1000;
			hits += hit == 1;
			if (c->cur >= n / 2)
				hits2 += hit == 1;
		}
	}
	for (int j = 0; j < m; j++) {
		close(cs[j].fd);
		free(cs[j].buf);
	}
	printf("requests %llu hits %llu hit_rate %.4f hit_rate_2nd %.4f "
	       "distinct %llu ideal %.4f redis_hits %llu redis_rate %.4f "
	       "misses %llu lat_us %.0f %.0f %.0f\n",
	       (unsigned long long)n, (unsigned long long)hits,
	       (double)hits / n, (double)hits2 / (n - n / 2),
	       (unsigned long long)distinct, 1.0 - (double)distinct / n,
	       (unsigned long long)nlat[2], (double)nlat[2] / n,
	       (unsigned long long)nlat[0], median(lat[1], nlat[1]),
	       median(lat[2], nlat[2]), median(lat[0], nlat[0]));
	for (int k = 0; k < 3; k++)
		free(lat[k]);
	free(stream);
	free(seen);
	return 0;
}
