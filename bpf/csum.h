/* SPDX-License-Identifier: BSD-2-Clause */
/* Internet checksum helpers (RFC 1071, incremental updates per RFC 1624). */
#ifndef GREYWALL_BPF_CSUM_H
#define GREYWALL_BPF_CSUM_H

#include <linux/types.h>

static __always_inline __u16 gw_csum_fold(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/*
 * Words are added as they lie in memory, in either byte order: one's
 * complement sums are byte-order independent as long as every word is read
 * the same way.
 */
static __always_inline void gw_csum_replace2(__u16 *check, __u16 from, __u16 to)
{
	__u64 sum = (__u16) ~*check;

	sum += (__u16)~from;
	sum += to;
	*check = ~gw_csum_fold(sum);
}

static __always_inline void gw_csum_replace4(__u16 *check, __u32 from, __u32 to)
{
	__u64 sum = (__u16) ~*check;

	sum += (__u16) ~(from >> 16);
	sum += (__u16) ~(from & 0xffff);
	sum += to >> 16;
	sum += to & 0xffff;
	*check = ~gw_csum_fold(sum);
}

#endif /* GREYWALL_BPF_CSUM_H */
