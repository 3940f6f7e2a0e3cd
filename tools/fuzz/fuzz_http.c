// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_http.c - libFuzzer target for the HTTP parsing of lb-backend: the
 * request parser (whole and as pipelined requests), the response parser,
 * the chunked decoder (in place, as the origin client runs it), the
 * cache policy, the origin response reader (fed in pieces, as recv()
 * cuts it) and the target-to-path mapping.  Besides memory errors
 * (ASan/UBSan) it checks the code's own promises; among them the one of
 * the origin reader: the body it gives is the origin's body, byte for byte,
 * and the headers it passes on are well-formed "Name: value\r\n" lines,
 * whatever shape the origin's head had; and, for answers to pipelined
 * requests (origin_async.c), the bytes it says came after an answer are
 * the next answer's, untouched by the decoding in place.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "origin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Kept headers: only "token: value\r\n" lines, within their buffer. */
static void check_kept(const struct http_response *r)
{
	const char *p = r->keep, *end = r->keep + r->keep_len;

	if (r->keep_len > sizeof(r->keep))
		abort();
	while (p < end) {
		const char *q = p;

		while (q < end && tchar(*q))
			q++;
		if (q == p || end - q < 2 || q[0] != ':' || q[1] != ' ')
			abort();
		for (q += 2; q < end && *q != '\r'; q++)
			if (*q == '\n' || *q == '\0' || *q == 0x7f ||
			    ((unsigned char)*q < 0x20 && *q != '\t'))
				abort();
		if (end - q < 2 || q[1] != '\n')
			abort();
		p = q + 2;
	}
}

/* Run the origin reader over resp[0..len), cut at split; 1 if it took a
 * whole response. */
static int read_reply(struct origin_rx *rx, const char *resp, size_t len,
		      size_t split)
{
	char *piece = malloc(len ? len : 1);
	int k = 0;

	if (!piece)
		abort();
	origin_rx_init(rx, 1 << 20, 1 << 20, NULL);
	if (split > len)
		split = len;
	memcpy(piece, resp, len); /* the reader decodes in place */
	k = origin_rx_feed(rx, piece, split);
	if (k == 0 && len > split)
		k = origin_rx_feed(rx, piece + split, len - split);
	if (k == 0)
		k = origin_rx_eof(rx);
	free(piece);
	if (k == 1 && rx->fd >= 0)
		abort(); /* everything fits in memory here */
	return k == 1;
}

/*
 * A head made of the input's lines, each ended with a bare LF and without
 * a space after the colon (the shortest form, which grows most when kept
 * headers are rewritten), then a known body.
 */
static void check_rewrite(const uint8_t *data, size_t size)
{
	size_t cap = 64 + 2 * size + 512, n = 0, blen = size % 300, i, b;
	char *resp = malloc(cap), body[300];
	struct origin_rx rx;

	if (!resp)
		abort();
	n += sprintf(resp, "HTTP/1.1 200 OK\n");
	for (i = 0; i < size;) {
		for (b = i; i < size && data[i] != '\n'; i++)
			;
		/* the lines the parser may take: no CR, no Content-Length
		 * or Transfer-Encoding of their own */
		if (i > b && !memchr(data + b, '\r', i - b) &&
		    !memchr(data + b, '\0', i - b) &&
		    !(i - b >= 14 && !strncasecmp((const char *)data + b,
						  "content-length", 14)) &&
		    !(i - b >= 17 && !strncasecmp((const char *)data + b,
						  "transfer-encoding", 17))) {
			memcpy(resp + n, data + b, i - b);
			n += i - b;
			resp[n++] = '\n';
		}
		i++;
	}
	for (i = 0; i < blen; i++)
		body[i] = "0123456789abcdef"[i % 16];
	n += sprintf(resp + n, "Content-Length:%zu\n\n", blen);
	memcpy(resp + n, body, blen);
	n += blen;
	if (read_reply(&rx, resp, n, size ? data[0] : 0)) {
		if (rx.body_len != blen ||
		    (blen && memcmp(rx.body, body, blen)))
			abort(); /* the body served is not the origin's */
		check_kept(&rx.resp);
	}
	origin_rx_free(&rx);
	free(resp);
}

/*
 * The input as an answer with a known one after it on the same
 * connection, fed in two pieces as origin_async.c feeds what recv() gives:
 * once the first is complete, the last rx.extra bytes of the piece that
 * completed it are the bytes after the first answer, as they came; when
 * the first answer ends where the input ends, those bytes read as the
 * second answer.
 */
static void check_pipelined(const uint8_t *data, size_t size)
{
	static const char next[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
				   "\r\nnext!";
	size_t n = size + sizeof(next) - 1, split, off = 0, end, cut, i;
	char *orig = malloc(n), *work = malloc(n);
	struct origin_rx rx, rx2;
	int k = 0;

	if (!orig || !work)
		abort();
	memcpy(orig, data, size);
	memcpy(orig + size, next, sizeof(next) - 1);
	memcpy(work, orig, n); /* the reader decodes in place */
	split = size ? (data[0] * 7u + size / 2) % (n + 1) : 0;
	origin_rx_init(&rx, 1 << 20, 1 << 20, NULL);
	for (i = 0; i < 2 && k == 0 && off < n; i++) {
		end = i ? n : split;
		k = origin_rx_feed(&rx, work + off, end - off);
		if (k != 1)
			off = end;
	}
	if (k == 1) {
		end = i == 1 ? split : n;
		if (rx.extra > end - off)
			abort(); /* more after the answer than was fed */
		cut = end - rx.extra; /* where the first answer ended */
		if (memcmp(work + cut, orig + cut, rx.extra))
			abort(); /* the next answer's bytes were overwritten */
		if (cut == size && origin_rx_keeps_conn(&rx)) {
			memcpy(work + cut, orig + cut, n - cut);
			origin_rx_init(&rx2, 1 << 20, 1 << 20, NULL);
			if (origin_rx_feed(&rx2, work + cut, n - cut) != 1 ||
			    rx2.extra || rx2.resp.status != 200 ||
			    rx2.body_len != 5 || memcmp(rx2.body, "next!", 5))
				abort(); /* the second answer was not found */
			origin_rx_free(&rx2);
		}
	}
	origin_rx_free(&rx);
	free(orig);
	free(work);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct http_limits lim = {
		.max_line = 256,
		.max_header = 1024,
		.max_headers = 16,
		.max_body = 4096,
	};
	struct http_request req;
	struct http_response resp;
	struct http_chunked ch = { 0 };
	size_t off = 0, outlen = 0, used;
	char *buf, path[512];
	int n;

	/* exact-size copy: ASan catches any read past the end */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);

	while (off < size) {
		n = http_parse_request(buf + off, size - off, &lim, &req);
		if (n <= 0)
			break;
		if ((size_t)n > size - off || (size_t)n > lim.max_header ||
		    req.target < buf + off ||
		    req.target + req.target_len > buf + off + n ||
		    (req.method != HTTP_M_GET && req.method != HTTP_M_HEAD &&
		     req.method != HTTP_M_OTHER && req.method != HTTP_M_PURGE))
			abort();
		n = http_target_path(req.target, req.target_len, path,
				     sizeof(path));
		if (n >= 0 &&
		    (!strcmp(path, "..") || !strncmp(path, "../", 3) ||
		     strstr(path, "/../") || path[0] == '/' ||
		     (n >= 3 && !strcmp(path + n - 3, "/.."))))
			abort(); /* a ".." segment would leave the root */
		off += req.header_len;
	}

	n = http_parse_response(buf, size, 2048, &resp);
	if (n > 0 && ((size_t)n > size || resp.keep_len > sizeof(resp.keep)))
		abort();
	if (n > 0) {
		check_kept(&resp);
		http_cache_ttl(&resp, 60, 1000000000, 0);
	}

	/* the input as an origin's answer, cut in two at a place it picks */
	struct origin_rx rx;

	if (read_reply(&rx, buf, size, size ? data[size - 1] * 16 : 0) &&
	    !rx.resp.chunked && rx.resp.content_length >= 0 &&
	    rx.resp.status != 204 && rx.resp.status != 304) {
		size_t h = rx.resp.header_len;

		if (rx.body_len != (uint64_t)rx.resp.content_length ||
		    h + rx.body_len > size ||
		    (rx.body_len && memcmp(rx.body, buf + h, rx.body_len)))
			abort();
	}
	if (rx.hdone)
		check_kept(&rx.resp);
	origin_rx_free(&rx);
	/* in place: buf is scratch from here on */
	n = http_chunked_feed(&ch, buf, size, buf, &outlen, &used);
	if (n >= 0 && (used > size || outlen > used))
		abort();

	check_rewrite(data, size);
	check_pipelined(data, size);
	free(buf);
	return 0;
}
