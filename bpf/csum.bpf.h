/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* csum.bpf.h - Internet checksum helpers (RFC 1071, RFC 1624). */
#ifndef LB_CSUM_BPF_H
#define LB_CSUM_BPF_H

static __always_inline __u16 lb_csum_fold(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Checksum of a 20-byte IPv4 header whose check field is zero. */
static __always_inline __u16 lb_ipv4_hdr_csum(const struct iphdr *iph)
{
	const __u16 *w = (const __u16 *)iph;
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*iph) / 2); i++)
		sum += w[i];
	return lb_csum_fold(sum);
}

/*
 * Add the packet bytes from p up to data_end to a one's-complement sum, at
 * most max_words 32-bit words and a tail of up to 3 bytes.  Words are added
 * as loaded (host order): the folded sum, stored back the same way, is right
 * in either byte order (RFC 1071 2(B)).  p must be an even number of bytes
 * from the start of the summed message so that every word keeps its byte
 * lanes.  data_end is what bounds the walk: trim the packet first.
 *
 * Verifier: a bounded loop (no unroll), each step checked against data_end
 * on the packet pointer itself; no length is computed from data_end, since
 * pkt_end arithmetic is rejected.  The verifier follows the way out of the
 * loop from every word, each with p at another offset; the tail is handled
 * inside the loop so that p is dead once out of it, and all those ways
 * prune into one at the first instruction after the loop.
 */
static __always_inline __u64 lb_csum_to_end(void *p, void *data_end, __u64 sum,
					    int max_words)
{
	for (int i = 0; i < max_words; i++) {
		if (p + 4 <= data_end) {
			sum += *(__u32 *)p;
			p += 4;
			continue;
		}
		if (p + 2 <= data_end) {
			sum += *(__u16 *)p;
			p += 2;
		}
		/* an odd last byte is summed as if followed by a zero */
		if (p + 1 <= data_end)
			sum += bpf_htons((__u16)(*(__u8 *)p) << 8);
		break;
	}
	return sum;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit word.  Byte order
 * does not matter as long as old, new and the checksum share one. */
static __always_inline __u16 lb_csum_replace16(__u16 csum, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~csum;

	sum += (__u16)~old;
	sum += new;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

#endif /* LB_CSUM_BPF_H */
