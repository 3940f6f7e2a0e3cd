/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * rvalue.h - the format of an object stored in the Redis tier.
 *
 * One Redis string holds the whole object, headers and body together, so
 * that one GET answers a lookup and no reader can see the headers of one
 * version with the body of another.  All integers are little-endian.
 *
 *   offset size
 *        0    4  magic "LBO" and the format version (1): "LBO\x01"
 *        4    2  HTTP status (200..599)
 *        6    2  flags: 0 (a reader refuses any other value)
 *        8    4  K: key bytes
 *       12    4  H: header bytes ("Name: value\r\n" lines)
 *       16    4  B: body bytes
 *       20    4  CRC-32 (IEEE 802.3) of bytes 4..19, then of the K + H + B
 *                bytes that follow
 *       24    K  the key (the request target), so a value stored under
 *                the wrong key is never served
 *   24+K      H  the headers
 * 24+K+H      B  the body
 *
 * The string is exactly 24 + K + H + B bytes.  The expiry is Redis's own
 * (SET ... PX), so the remaining TTL comes from PTTL.  A reader that finds
 * anything else (another version, a bad length, a CRC mismatch, a header
 * line that is not "Name: value", a status outside 200..599) treats the
 * key as missing and fetches from the origin.
 */
#ifndef LB_BACKEND_RVALUE_H
#define LB_BACKEND_RVALUE_H

#include <stddef.h>
#include <stdint.h>

#define RVALUE_MAGIC "LBO\x01"
#define RVALUE_HDR 24

struct rvalue {
	int status;
	const char *hdrs; /* pointers into the stored string */
	size_t hdrs_len;
	const char *body;
	size_t body_len;
};

/* Bytes rvalue_encode() writes for these parts. */
static inline size_t rvalue_size(size_t klen, size_t hlen, size_t blen)
{
	return RVALUE_HDR + klen + hlen + blen;
}

/* Write the object into out (rvalue_size() bytes); 0, or -EINVAL for a
 * status outside 200..599 or a part over 4 GiB. */
int rvalue_encode(char *out, const void *key, size_t klen, int status,
		  const char *hdrs, size_t hlen, const char *body, size_t blen);

/* Check the stored string s for key; 0 with v filled, or -EBADMSG (the
 * reason in *why, a static string). */
int rvalue_decode(const char *s, size_t len, const void *key, size_t klen,
		  struct rvalue *v, const char **why);

uint32_t rvalue_crc32(uint32_t crc, const void *p, size_t n);

#endif /* LB_BACKEND_RVALUE_H */
