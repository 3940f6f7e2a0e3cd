// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* rvalue.c - encode and check objects of the Redis tier (see rvalue.h). */
#include <errno.h>
#include <string.h>

#include "rvalue.h"

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t rvalue_crc32(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *b = p;

	if (!crc_table[1])
		crc_init();
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void put32(char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

static uint32_t get32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return u[0] | u[1] << 8 | u[2] << 16 | (uint32_t)u[3] << 24;
}

/* The CRC covers the header but magic and the CRC itself, then the rest. */
static uint32_t value_crc(const char *s, size_t rest)
{
	return rvalue_crc32(rvalue_crc32(0, s + 4, 16), s + RVALUE_HDR, rest);
}

int rvalue_encode(char *out, const void *key, size_t klen, int status,
		  const char *hdrs, size_t hlen, const char *body, size_t blen)
{
	char *p = out + RVALUE_HDR;

	if (status < 200 || status > 599 || klen > UINT32_MAX ||
	    hlen > UINT32_MAX || blen > UINT32_MAX)
		return -EINVAL;
	memcpy(out, RVALUE_MAGIC, 4);
	out[4] = status & 0xff;
	out[5] = status >> 8;
	out[6] = out[7] = 0;
	put32(out + 8, klen);
	put32(out + 12, hlen);
	put32(out + 16, blen);
	memcpy(p, key, klen);
	memcpy(p + klen, hdrs, hlen);
	if (blen)
		memcpy(p + klen + hlen, body, blen);
	put32(out + 20, value_crc(out, klen + hlen + blen));
	return 0;
}

static int tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || strchr("!#$%&'*+-.^_`|~", c);
}

/* Every line "Name: value\r\n", the name a token, the value free of
 * control bytes but tab: what the origin client keeps, nothing else. */
static int headers_ok(const char *h, size_t n)
{
	size_t i = 0, s;

	while (i < n) {
		s = i;
		while (i < n && h[i] != ':') {
			if (!tchar(h[i]))
				return 0;
			i++;
		}
		if (i == s || i == n)
			return 0;
		for (i++; i < n && h[i] != '\r'; i++) {
			unsigned char c = h[i];

			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return 0;
		}
		if (i + 1 >= n || h[i + 1] != '\n')
			return 0;
		i += 2;
	}
	return 1;
}

int rvalue_decode(const char *s, size_t len, const void *key, size_t klen,
		  struct rvalue *v, const char **why)
{
	uint64_t k, h, b;
	int status;

	*why = NULL;
	if (len < RVALUE_HDR || memcmp(s, "LBO", 3))
		*why = "not a stored object";
	else if (s[3] != RVALUE_MAGIC[3])
		*why = "unknown format version";
	else if (s[6] || s[7])
		*why = "unknown flags";
	if (*why)
		return -EBADMSG;
	status = (unsigned char)s[4] | (unsigned char)s[5] << 8;
	k = get32(s + 8);
	h = get32(s + 12);
	b = get32(s + 16);
	if (RVALUE_HDR + k + h + b != len)
		*why = "length mismatch";
	else if (status < 200 || status > 599)
		*why = "bad status";
	else if (k != klen || memcmp(s + RVALUE_HDR, key, klen))
		*why = "stored under another key";
	else if (value_crc(s, k + h + b) != get32(s + 20))
		*why = "checksum mismatch";
	else if (!headers_ok(s + RVALUE_HDR + k, h))
		*why = "bad header lines";
	if (*why)
		return -EBADMSG;
	v->status = status;
	v->hdrs = s + RVALUE_HDR + k;
	v->hdrs_len = h;
	v->body = v->hdrs + h;
	v->body_len = b;
	return 0;
}
