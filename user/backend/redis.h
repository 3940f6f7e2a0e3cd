/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * redis.h - a small non-blocking Redis client (RESP2) for lb-backend.
 *
 * One connection is a socket, an output buffer of encoded commands and a
 * FIFO of the callbacks that wait for their replies (Redis answers in
 * order).  Nothing here ever blocks: redis_io() moves what the socket takes
 * now, and redis_wait() polls the one socket until every reply is in or a
 * deadline passes, which bounds the time any caller can lose to a slow or
 * dead server.  A connection that fails or overruns a deadline is closed,
 * and the callbacks still waiting are called with no reply.
 *
 * A bulk reply longer than the connection's max_bulk is never held in
 * memory: it is read and dropped, and its callback gets RESP_TOOBIG.
 */
#ifndef LB_BACKEND_REDIS_H
#define LB_BACKEND_REDIS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Where a Redis server is: redis://[:password@]host:port[/db] or
 * unix:/path[?db=N] (the password of a socket: unix://:pw@/path). */
struct redis_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char username[128]; /* "" for none: AUTH with the password alone */
	char password[128]; /* "" for none */
	int db; /* SELECT db after connecting; 0 is the default */
	char text[300]; /* host:port or the socket path, for the log */
};

/* Parse url into a; 0, or -EINVAL with a one-line reason in err. */
int redis_url_parse(const char *url, struct redis_addr *a, char *err,
		    size_t errlen);
/* host:port (a cluster node) into a; 0 or -EINVAL. */
int redis_hostport_parse(const char *hp, struct redis_addr *a, char *err,
			 size_t errlen);

enum resp_type {
	RESP_STATUS, /* +OK */
	RESP_ERROR, /* -ERR ... */
	RESP_INT, /* :123 */
	RESP_BULK, /* $3\r\nabc */
	RESP_NIL, /* $-1 or *-1 */
	RESP_ARRAY, /* *2 ... */
	RESP_TOOBIG, /* a bulk longer than max_bulk, dropped */
};

struct resp {
	int type; /* enum resp_type */
	long long integer; /* RESP_INT; the length for RESP_TOOBIG */
	const char *str; /* STATUS, ERROR, BULK: not NUL-terminated */
	size_t len;
	size_t n; /* ARRAY: number of elements */
	struct resp *elem;
};

/* Nodes of parsed replies; grows as needed. */
struct resp_pool {
	struct resp *node;
	size_t used, cap;
};

#define RESP_MAX_DEPTH 6
#define RESP_MAX_ELEMS (1u << 20)

/*
 * Parse one reply from buf[0..len).  Returns the bytes it takes (> 0), 0
 * when more bytes are needed, -EPROTO for bytes that are not RESP (or
 * nested deeper than RESP_MAX_DEPTH), -ENOMEM.  *out points into buf and
 * pool.  A top-level bulk longer than max_bulk yields RESP_TOOBIG after its
 * length line alone; *skip is then the number of bytes still to drop
 * (its payload and CRLF), of which the return value took none.  A nested
 * one that long is -EPROTO.
 */
long resp_parse(const char *buf, size_t len, size_t max_bulk,
		struct resp_pool *pool, struct resp **out, uint64_t *skip);
void resp_pool_free(struct resp_pool *pool);

/* Make *buf (of *cap bytes) hold at least need bytes; 0 or -ENOMEM. */
int redis_buf_grow(char **buf, size_t *cap, size_t need);

/* Append a command (an array of bulk strings) to *buf; 0 or -ENOMEM. */
int resp_encode(char **buf, size_t *len, size_t *cap, int argc,
		const char *const *argv, const size_t *argvlen);

/* A reply arrived (r), or never will (r == NULL: failed or timed out). */
typedef void (*redis_cb)(void *arg, const struct resp *r);

enum redis_state { REDIS_DOWN, REDIS_CONNECTING, REDIS_UP };

struct redis_pending {
	redis_cb cb;
	void *arg;
};

struct redis_conn {
	int fd;
	int state; /* enum redis_state */
	unsigned int gen; /* connections made: tells a new fd from an old */
	size_t max_bulk;
	char *out;
	size_t out_len, out_off, out_cap;
	char *in;
	size_t in_len, in_cap;
	uint64_t skip; /* bytes of a too big bulk still to drop */
	struct redis_pending *q; /* ring of callbacks awaiting replies */
	unsigned int q_head, q_len, q_cap;
	struct resp_pool pool;
	redis_cb on_push; /* replies nobody asked for (pub/sub messages) */
	void *push_arg;
	int auth_failed; /* AUTH or SELECT was refused */
	char err[256]; /* why it went down last, for the log */
};

void redis_init(struct redis_conn *c, size_t max_bulk);

/* Start a non-blocking connection; queues AUTH and SELECT as the address
 * asks.  0, or -errno (c stays down; c->err says why). */
int redis_connect(struct redis_conn *c, const struct redis_addr *a);

/* Queue a command; cb (may be NULL) gets its reply.  0 or -errno; fails
 * with -ENOTCONN when c is down. */
int redis_cmd(struct redis_conn *c, redis_cb cb, void *arg, int argc,
	      const char *const *argv, const size_t *argvlen);
/* The same, with NUL-terminated arguments. */
int redis_cmdv(struct redis_conn *c, redis_cb cb, void *arg, int argc,
	       const char *const *argv);

/* Do what the socket allows now: finish connecting, write, read and
 * dispatch replies.  0, or -errno after closing c. */
int redis_io(struct redis_conn *c);

/*
 * Do I/O until no reply is awaited, or until deadline (CLOCK_MONOTONIC ms)
 * passes.  0 when all replies are in; -ETIMEDOUT (c closed, callbacks
 * failed) on the deadline; another -errno when the connection failed.
 */
int redis_wait(struct redis_conn *c, long long deadline_ms);

/* Close c; every callback still waiting is called with NULL. */
void redis_close(struct redis_conn *c, const char *why);
void redis_free(struct redis_conn *c);

/* Replies still awaited. */
static inline unsigned int redis_pending(const struct redis_conn *c)
{
	return c->q_len;
}

long long redis_mono_ms(void);

/*
 * A circuit breaker in front of a server: closed (use it), open (skip it
 * until retry_at), half-open (one probe is out; its outcome decides).
 */
enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker {
	int state;
	long long retry_at; /* ms: when an open breaker lets a probe through */
	unsigned int open_ms;
	uint64_t opened; /* times it opened */
};

/* Whether a request may go to the server now; an open breaker past its
 * time becomes half-open and lets this one through as the probe. */
int breaker_allow(struct breaker *b, long long now);
/* The server answered / failed.  Return the new state if it changed
 * between closed and open (the transitions worth a log line), else -1. */
int breaker_success(struct breaker *b);
int breaker_failure(struct breaker *b, long long now);

#endif /* LB_BACKEND_REDIS_H */
