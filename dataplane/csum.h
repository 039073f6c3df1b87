/* SPDX-License-Identifier: BSD-2-Clause */
/* Checksums: incremental updates (RFC 1624) for rewritten words, full ones for rebuilt segments. */
#ifndef GREYWALL_DP_CSUM_H
#define GREYWALL_DP_CSUM_H

#include <stdint.h>

#include <rte_ip.h>

#include "packet.h"

/* HC' = ~(~HC + ~m + m') over 16-bit words; old and new are in network order. */
static inline uint16_t gw_csum_replace4(uint16_t csum, uint32_t old_be, uint32_t new_be)
{
	uint32_t sum = (uint16_t)~csum;

	sum += (uint16_t) ~(old_be >> 16) + (uint16_t) ~(old_be & 0xffff);
	sum += (new_be >> 16) + (new_be & 0xffff);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Full TCP checksum and, for IPv4, the header checksum, after lengths changed. */
static inline void gw_csum_full(struct gw_pkt *p)
{
	p->tcp->cksum = 0;
	if (p->family == 4) {
		struct rte_ipv4_hdr *ip = p->ip;

		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		p->tcp->cksum = rte_ipv4_udptcp_cksum(ip, p->tcp);
	} else {
		/* the pseudo-header's length is TCP's: without extension headers in front */
		struct rte_ipv6_hdr *ip6 = p->ip;
		uint16_t keep = ip6->payload_len;

		ip6->payload_len =
		    rte_cpu_to_be_16((uint16_t)(p->payload_off - p->l4_off + p->payload_len));
		p->tcp->cksum = rte_ipv6_udptcp_cksum(ip6, p->tcp);
		ip6->payload_len = keep;
	}
}

#endif /* GREYWALL_DP_CSUM_H */
