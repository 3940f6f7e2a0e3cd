// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* test_redis.c - lb-backend's Redis client: the RESP parser fed in every
 * possible split, command encoding, URLs, the stored object format with
 * corruption, the circuit breaker, and a pipelined connection against a
 * scripted server on a unix socket (replies, an oversized bulk dropped, a
 * timeout that fails what is pending). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "rcluster.h"
#include "redis.h"
#include "rvalue.h"

static void parse_cases(void)
{
	static const char all[] = "+OK\r\n-ERR no\r\n:-42\r\n$3\r\nabc\r\n"
				  "$-1\r\n*2\r\n$1\r\nx\r\n*1\r\n:7\r\n"
				  "$0\r\n\r\n*-1\r\n";
	struct resp_pool pool = { 0 };
	size_t len = sizeof(all) - 1;
	struct resp *r;
	uint64_t skip;
	long n;
	int ok = 1;

	/* every prefix short of a whole reply asks for more, never errs */
	for (size_t cut = 0; cut < len && ok; cut++) {
		size_t off = 0;

		while (off < len) {
			size_t avail = (off < cut ? cut : len) - off;

			n = resp_parse(all + off, avail, 100, &pool, &r, &skip);
			if (n < 0) {
				ok = 0;
				break;
			}
			if (n == 0) {
				if (avail == len - off) {
					ok = 0;
					break;
				}
				n = resp_parse(all + off, len - off, 100, &pool,
					       &r, &skip);
				if (n <= 0) {
					ok = 0;
					break;
				}
			}
			off += n;
		}
	}
	T_CHECK("resp: every split parses", ok, "failed at some split");

	n = resp_parse(all, len, 100, &pool, &r, &skip);
	T_CHECK("resp: status",
		n == 5 && r->type == RESP_STATUS && r->len == 2 &&
			!memcmp(r->str, "OK", 2),
		"n %ld", n);
	n = resp_parse(all + 5, len - 5, 100, &pool, &r, &skip);
	T_CHECK("resp: error", n > 0 && r->type == RESP_ERROR, "type %d",
		r->type);
	n = resp_parse(":-42\r\n", 6, 100, &pool, &r, &skip);
	T_CHECK("resp: integer", n == 6 && r->integer == -42, "%lld",
		r->integer);
	n = resp_parse("$3\r\nabc\r\n", 9, 100, &pool, &r, &skip);
	T_CHECK("resp: bulk", n == 9 && r->type == RESP_BULK && r->len == 3,
		"n %ld", n);
	n = resp_parse("$-1\r\n", 5, 100, &pool, &r, &skip);
	T_CHECK("resp: nil", n == 5 && r->type == RESP_NIL, "type %d", r->type);
	static const char nest[] = "*2\r\n$1\r\nx\r\n*1\r\n:7\r\n";
	n = resp_parse(nest, sizeof(nest) - 1, 100, &pool, &r, &skip);
	T_CHECK("resp: nested array",
		n == (long)sizeof(nest) - 1 && r->type == RESP_ARRAY &&
			r->n == 2 && r->elem[0].type == RESP_BULK &&
			r->elem[1].type == RESP_ARRAY &&
			r->elem[1].elem[0].integer == 7,
		"n %ld", n);
	n = resp_parse("$1000\r\nxx", 9, 100, &pool, &r, &skip);
	T_CHECK("resp: too big bulk is dropped, not held",
		n == 7 && r->type == RESP_TOOBIG && skip == 1002,
		"n %ld skip %llu", n, (unsigned long long)skip);
	n = resp_parse("*1\r\n$1000\r\n", 11, 100, &pool, &r, &skip);
	T_CHECK("resp: too big nested bulk is a protocol error", n == -EPROTO,
		"n %ld", n);
	n = resp_parse("$3\r\nabcd\r\n", 10, 100, &pool, &r, &skip);
	T_CHECK("resp: bulk without its CRLF", n == -EPROTO, "n %ld", n);
	n = resp_parse("?what\r\n", 7, 100, &pool, &r, &skip);
	T_CHECK("resp: unknown type", n == -EPROTO, "n %ld", n);
	n = resp_parse(":12\n", 4, 100, &pool, &r, &skip);
	T_CHECK("resp: bare LF", n == -EPROTO, "n %ld", n);
	n = resp_parse("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", 32,
		       100, &pool, &r, &skip);
	T_CHECK("resp: too deep", n == -EPROTO, "n %ld", n);
	n = resp_parse("$99999999999999999999\r\n", 23, 100, &pool, &r, &skip);
	T_CHECK("resp: length overflow", n == -EPROTO, "n %ld", n);
	resp_pool_free(&pool);
}

static void encode_cases(void)
{
	const char *argv[] = { "SET", "k", "a\r\nb" };
	size_t lens[] = { 3, 1, 4 }, len = 0, cap = 0;
	char *buf = NULL;
	static const char want[] =
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n";

	resp_encode(&buf, &len, &cap, 3, argv, lens);
	T_CHECK("resp: encode (binary safe)",
		len == sizeof(want) - 1 && !memcmp(buf, want, len), "got %.*s",
		(int)len, buf);
	free(buf);
}

static void url_cases(void)
{
	struct redis_addr a;
	char err[256];

	T_CHECK("url: redis://127.0.0.1:6380",
		!redis_url_parse("redis://127.0.0.1:6380", &a, err,
				 sizeof(err)) &&
			a.ss.ss_family == AF_INET && !a.password[0] &&
			a.db == 0 && !strcmp(a.text, "127.0.0.1:6380"),
		"%s", err);
	T_CHECK("url: password and db",
		!redis_url_parse("redis://:s3cret@[::1]:7000/3", &a, err,
				 sizeof(err)) &&
			a.ss.ss_family == AF_INET6 &&
			!strcmp(a.password, "s3cret") && a.db == 3,
		"%s", err);
	T_CHECK("url: user and password (AUTH user password)",
		!redis_url_parse("redis://lb:pw@127.0.0.1:7000", &a, err,
				 sizeof(err)) &&
			!strcmp(a.username, "lb") &&
			!strcmp(a.password, "pw") && a.db == 0,
		"%s", err);
	T_CHECK("url: password alone names no user",
		!redis_url_parse("redis://:pw@127.0.0.1:7000", &a, err,
				 sizeof(err)) &&
			!a.username[0] && !strcmp(a.password, "pw"),
		"%s", err);
	T_CHECK("url: unix socket with db",
		!redis_url_parse("unix:/run/r.sock?db=2&password=pw", &a, err,
				 sizeof(err)) &&
			a.ss.ss_family == AF_UNIX && a.db == 2 &&
			!strcmp(a.password, "pw") &&
			!strcmp(a.text, "/run/r.sock"),
		"%s", err);
	T_CHECK("url: default port",
		!redis_url_parse("redis://127.0.0.1", &a, err, sizeof(err)) &&
			!strcmp(a.text, "127.0.0.1:6379"),
		"%s", err);
	T_CHECK("url: bad scheme refused",
		redis_url_parse("http://x:1", &a, err, sizeof(err)) ==
				-EINVAL &&
			strstr(err, "redis://"),
		"%s", err);
	T_CHECK("url: bad port refused",
		redis_url_parse("redis://127.0.0.1:99999", &a, err,
				sizeof(err)) == -EINVAL &&
			strstr(err, "port"),
		"%s", err);
	T_CHECK("url: bad db refused",
		redis_url_parse("redis://127.0.0.1:1/x", &a, err,
				sizeof(err)) == -EINVAL,
		"%s", err);
	T_CHECK("url: relative unix path refused",
		redis_url_parse("unix:r.sock", &a, err, sizeof(err)) == -EINVAL,
		"%s", err);
	T_CHECK("hostport: 127.0.0.1:7001",
		!redis_hostport_parse("127.0.0.1:7001", &a, err, sizeof(err)) &&
			((struct sockaddr_in *)&a.ss)->sin_port == htons(7001),
		"%s", err);
}

static void value_cases(void)
{
	static const char hdrs[] =
		"Content-Type: text/plain\r\nETag: \"1\"\r\n";
	char buf[256], bad[256];
	struct rvalue v;
	const char *why;
	size_t n = rvalue_size(4, sizeof(hdrs) - 1, 5);
	int ok = 1;

	rvalue_encode(buf, "/a/b", 4, 200, hdrs, sizeof(hdrs) - 1, "hello", 5);
	T_CHECK("rvalue: round trip",
		!rvalue_decode(buf, n, "/a/b", 4, &v, &why) &&
			v.status == 200 && v.hdrs_len == sizeof(hdrs) - 1 &&
			v.body_len == 5 && !memcmp(v.body, "hello", 5),
		"%s", why);
	T_CHECK("rvalue: golden header bytes",
		!memcmp(buf, "LBO\x01\xc8\x00\x00\x00\x04\x00\x00\x00", 12),
		"header differs");
	T_CHECK("rvalue: another key refused",
		rvalue_decode(buf, n, "/a/c", 4, &v, &why) == -EBADMSG &&
			!strcmp(why, "stored under another key"),
		"%s", why);
	T_CHECK("rvalue: truncated refused",
		rvalue_decode(buf, n - 1, "/a/b", 4, &v, &why) == -EBADMSG,
		"accepted");
	/* any single flipped byte is caught */
	for (size_t i = 0; i < n && ok; i++) {
		memcpy(bad, buf, n);
		bad[i] ^= 0x20;
		if (!rvalue_decode(bad, n, "/a/b", 4, &v, &why))
			ok = 0;
	}
	T_CHECK("rvalue: every flipped byte refused", ok, "one accepted");
	memcpy(bad, buf, n);
	bad[3] = 2;
	T_CHECK("rvalue: other version refused",
		rvalue_decode(bad, n, "/a/b", 4, &v, &why) == -EBADMSG &&
			!strcmp(why, "unknown format version"),
		"%s", why);
	/* a header line smuggling a CR/LF is refused even with a good CRC */
	n = rvalue_size(1, 14, 0);
	rvalue_encode(buf, "k", 1, 200, "X: a\rb\r\nY: c\r\n", 14, NULL, 0);
	T_CHECK("rvalue: bare CR in a header refused",
		rvalue_decode(buf, n, "k", 1, &v, &why) == -EBADMSG &&
			!strcmp(why, "bad header lines"),
		"%s", why ? why : "accepted");
	T_CHECK("rvalue: bad status refused",
		rvalue_encode(buf, "k", 1, 99, "", 0, NULL, 0) == -EINVAL,
		"accepted");
	T_CHECK("rvalue: crc32 check value",
		rvalue_crc32(0, "123456789", 9) == 0xcbf43926, "%08x",
		rvalue_crc32(0, "123456789", 9));
}

static void breaker_cases(void)
{
	struct breaker b = { .open_ms = 100 };
	int ok;

	ok = breaker_allow(&b, 0) && breaker_success(&b) == -1 &&
	     breaker_failure(&b, 10) == BREAKER_OPEN &&
	     !breaker_allow(&b, 50) && breaker_allow(&b, 110) /* the probe */ &&
	     !breaker_allow(&b, 111) /* nobody else while it is out */ &&
	     breaker_failure(&b, 120) == -1 /* still open: no log line */ &&
	     !breaker_allow(&b, 200) && breaker_allow(&b, 220) &&
	     breaker_success(&b) == BREAKER_CLOSED && breaker_allow(&b, 221) &&
	     b.opened == 1;
	T_CHECK("breaker: closed, open, probe, closed", ok, "state %d",
		b.state);
}

/* ---- a connection against a scripted server on a unix socket */

struct got {
	int calls, nulls, type;
	char str[64];
};

static void on_reply(void *arg, const struct resp *r)
{
	struct got *g = arg;

	g->calls++;
	if (!r) {
		g->nulls++;
		return;
	}
	g->type = r->type;
	snprintf(g->str, sizeof(g->str), "%.*s", (int)r->len,
		 r->str ? r->str : "");
}

static int listen_unix(struct redis_addr *a, char *path)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&a->ss;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(a, 0, sizeof(*a));
	snprintf(path, 100, "/tmp/test_redis.%d.sock", (int)getpid());
	unlink(path);
	sun->sun_family = AF_UNIX;
	strcpy(sun->sun_path, path);
	a->len = sizeof(*sun);
	if (bind(fd, (struct sockaddr *)sun, sizeof(*sun)) || listen(fd, 4))
		return -1;
	return fd;
}

static void conn_cases(void)
{
	struct redis_conn c;
	struct redis_addr a;
	struct got g[4] = { 0 };
	char path[108], req[512];
	int lfd, sfd, err;
	ssize_t k;

	lfd = listen_unix(&a, path);
	if (lfd < 0) {
		t_fail("conn: listen", "%s", strerror(errno));
		return;
	}
	strcpy(a.password, "pw");
	redis_init(&c, 16);
	err = redis_connect(&c, &a);
	sfd = accept(lfd, NULL, NULL);
	redis_cmdv(&c, on_reply, &g[0], 2, (const char *[]){ "GET", "a" });
	redis_cmdv(&c, on_reply, &g[1], 2, (const char *[]){ "GET", "b" });
	redis_cmdv(&c, on_reply, &g[2], 2, (const char *[]){ "GET", "c" });
	/* AUTH's answer, then a value, one too big (dropped), a nil */
	static const char rep[] = "+OK\r\n$2\r\nhi\r\n$20\r\n0123456789"
				  "0123456789\r\n$-1\r\n";
	if (write(sfd, rep, sizeof(rep) - 1) < 0)
		return;
	err = err ? err : redis_wait(&c, redis_mono_ms() + 1000);
	k = read(sfd, req, sizeof(req) - 1);
	req[k > 0 ? k : 0] = '\0';
	T_CHECK("conn: AUTH sent first, commands pipelined",
		!strncmp(req, "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n", 22) &&
			strstr(req, "$1\r\nc\r\n"),
		"sent %s", req);
	T_CHECK("conn: replies in order, big bulk dropped",
		!err && g[0].type == RESP_BULK && !strcmp(g[0].str, "hi") &&
			g[1].type == RESP_TOOBIG && g[2].type == RESP_NIL &&
			!c.auth_failed && c.in_len == 0,
		"err %d types %d %d %d", err, g[0].type, g[1].type, g[2].type);

	/* a server that does not answer: the deadline ends the wait */
	redis_cmdv(&c, on_reply, &g[3], 2, (const char *[]){ "GET", "d" });
	long long t0 = redis_mono_ms();
	err = redis_wait(&c, t0 + 50);
	long long took = redis_mono_ms() - t0;
	T_CHECK("conn: timeout fails the pending and closes",
		err == -ETIMEDOUT && g[3].nulls == 1 && c.state == REDIS_DOWN &&
			took >= 50 && took < 1000,
		"err %d nulls %d took %lld", err, g[3].nulls, took);
	T_CHECK("conn: commands on a closed connection refused",
		redis_cmdv(&c, NULL, NULL, 1, (const char *[]){ "PING" }) ==
			-ENOTCONN,
		"accepted");
	close(sfd);

	/* a server that closes: pending callbacks fail, no hang */
	memset(g, 0, sizeof(g));
	a.password[0] = '\0';
	redis_connect(&c, &a);
	sfd = accept(lfd, NULL, NULL);
	redis_cmdv(&c, on_reply, &g[0], 1, (const char *[]){ "PING" });
	close(sfd);
	err = redis_wait(&c, redis_mono_ms() + 1000);
	T_CHECK("conn: server gone fails the pending",
		err < 0 && err != -ETIMEDOUT && g[0].nulls == 1, "err %d", err);

	/* garbage from the server closes the connection */
	memset(g, 0, sizeof(g));
	redis_connect(&c, &a);
	sfd = accept(lfd, NULL, NULL);
	redis_cmdv(&c, on_reply, &g[0], 1, (const char *[]){ "PING" });
	if (write(sfd, "HTTP/1.1 200 OK\r\n", 17) < 0)
		return;
	err = redis_wait(&c, redis_mono_ms() + 1000);
	T_CHECK("conn: garbage reply closes", err == -EPROTO && g[0].nulls == 1,
		"err %d", err);
	close(sfd);
	redis_free(&c);
	close(lfd);
	unlink(path);
}

static int nranges;
static char range_addr[3][64];
static unsigned int range_first[3], range_last[3];

static void on_range(void *arg, unsigned int first, unsigned int last,
		     const char *addr)
{
	if (nranges < 3) {
		range_first[nranges] = first;
		range_last[nranges] = last;
		snprintf(range_addr[nranges], 64, "%s", addr);
	}
	nranges++;
}

static void cluster_cases(void)
{
	struct resp_pool pool = { 0 };
	struct resp *r, e = { .type = RESP_ERROR };
	unsigned int slot;
	char addr[64];
	uint64_t skip;
	long n;

	T_CHECK("cluster: crc16 check value",
		rcluster_crc16("123456789", 9) == 0x31c3, "%04x",
		rcluster_crc16("123456789", 9));
	/* slots as the Redis Cluster specification gives them */
	T_CHECK("cluster: key slot",
		rcluster_slot("foo", 3) == 12182 &&
			rcluster_slot("bar", 3) == 5061,
		"foo %u bar %u", rcluster_slot("foo", 3),
		rcluster_slot("bar", 3));
	T_CHECK("cluster: hash tags",
		rcluster_slot("{user1000}.following", 20) ==
				rcluster_slot("user1000", 8) &&
			rcluster_slot("foo{}{bar}", 10) ==
				rcluster_crc16("foo{}{bar}", 10) % 16384 &&
			rcluster_slot("foo{{bar}}zap", 13) ==
				rcluster_slot("{bar", 4),
		"tags differ");
	e.str = "MOVED 3999 127.0.0.1:6381";
	e.len = strlen(e.str);
	T_CHECK("cluster: MOVED",
		rcluster_redirect(&e, &slot, addr, sizeof(addr)) ==
				REDIRECT_MOVED &&
			slot == 3999 && !strcmp(addr, "127.0.0.1:6381"),
		"slot %u addr %s", slot, addr);
	e.str = "ASK 3999 [::1]:7000";
	e.len = strlen(e.str);
	T_CHECK("cluster: ASK",
		rcluster_redirect(&e, &slot, addr, sizeof(addr)) ==
				REDIRECT_ASK &&
			!strcmp(addr, "[::1]:7000"),
		"addr %s", addr);
	e.str = "MOVED 99999 127.0.0.1:1";
	e.len = strlen(e.str);
	T_CHECK("cluster: a bad redirection is an error like any other",
		rcluster_redirect(&e, &slot, addr, sizeof(addr)) ==
			REDIRECT_NONE,
		"accepted");
	static const char slots[] =
		"*2\r\n"
		"*3\r\n:0\r\n:5460\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nid\r\n"
		"*4\r\n:5461\r\n:16383\r\n*2\r\n$3\r\n::1\r\n:7001\r\n"
		"*2\r\n$3\r\n::1\r\n:7004\r\n";
	n = resp_parse(slots, sizeof(slots) - 1, 100, &pool, &r, &skip);
	T_CHECK("cluster: CLUSTER SLOTS ranges and masters",
		n > 0 && !rcluster_slots(r, on_range, NULL) && nranges == 2 &&
			range_first[0] == 0 && range_last[0] == 5460 &&
			!strcmp(range_addr[0], "127.0.0.1:7000") &&
			range_first[1] == 5461 && range_last[1] == 16383 &&
			!strcmp(range_addr[1], "[::1]:7001"),
		"n %ld ranges %d %s %s", n, nranges, range_addr[0],
		range_addr[1]);
	static const char bad[] =
		"*1\r\n*3\r\n:10\r\n:5\r\n*2\r\n$1\r\nx\r\n:1\r\n";
	nranges = 0;
	n = resp_parse(bad, sizeof(bad) - 1, 100, &pool, &r, &skip);
	T_CHECK("cluster: a reversed range is refused, none used",
		n > 0 && rcluster_slots(r, on_range, NULL) == -EPROTO &&
			nranges == 0,
		"n %ld ranges %d", n, nranges);
	resp_pool_free(&pool);
}

int main(void)
{
	cluster_cases();
	parse_cases();
	encode_cases();
	url_cases();
	value_cases();
	breaker_cases();
	conn_cases();
	return t_exit();
}
