// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_http.c - libFuzzer target for the HTTP parsing of lb-backend: the
 * request parser (whole and as pipelined requests), the response parser,
 * the chunked decoder (in place, as the origin client runs it), the
 * Cache-Control reader and the target-to-path mapping.  Besides memory
 * errors (ASan/UBSan) it checks the parser's own promises.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
		     req.method != HTTP_M_OTHER))
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

	n = http_chunked_feed(&ch, buf, size, buf, &outlen, &used);
	if (n >= 0 && (used > size || outlen > used))
		abort();

	http_cache_ttl(buf, size, 60);
	free(buf);
	return 0;
}
