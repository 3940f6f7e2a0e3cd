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
