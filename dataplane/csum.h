/* SPDX-License-Identifier: BSD-2-Clause */
/* Checksums: incremental updates (RFC 1624) for rewritten words, full ones for rebuilt segments. */
#ifndef GREYWALL_DP_CSUM_H
#define GREYWALL_DP_CSUM_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf_core.h>

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

/*
 * The ones' complement sum of the TCP segment with its pseudo-header, unfolded
 * to 16 bits. The pseudo-header is built here, not by DPDK's helpers: they take
 * the IPv6 header's next-header field, which is not TCP's when extension
 * headers lie between.
 */
static inline uint16_t gw_tcp_sum(const struct gw_pkt *p)
{
	uint32_t tcp_len = (uint32_t)(p->payload_off - p->l4_off) + p->payload_len;
	unsigned alen = p->family == 4 ? 4 : 16;
	uint32_t sum = rte_raw_cksum(p->saddr, alen);

	sum += rte_raw_cksum(p->daddr, alen);
	sum += rte_cpu_to_be_16(IPPROTO_TCP);
	sum += rte_cpu_to_be_16((uint16_t)tcp_len);
	sum += rte_raw_cksum(p->tcp, tcp_len);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Full TCP checksum and, for IPv4, the header checksum, after lengths changed. */
static inline void gw_csum_full(struct gw_pkt *p)
{
	p->tcp->cksum = 0;
	if (p->family == 4) {
		struct rte_ipv4_hdr *ip = p->ip;

		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	p->tcp->cksum = (uint16_t)~gw_tcp_sum(p);
}

/*
 * Whether the server would take this segment's checksums (and, for IPv4, the
 * header's). A segment it drops must not be parsed as if it had arrived.
 */
static inline bool gw_csum_ok(const struct gw_pkt *p, uint64_t ol_flags)
{
	uint64_t l4 = ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	uint64_t l3 = ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;

	if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD || l3 == RTE_MBUF_F_RX_IP_CKSUM_BAD)
		return false;
	if (p->family == 4 && l3 != RTE_MBUF_F_RX_IP_CKSUM_GOOD) {
		const struct rte_ipv4_hdr *ip = p->ip;

		if (rte_raw_cksum(ip, rte_ipv4_hdr_len(ip)) != 0xffff)
			return false;
	}
	return l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD || gw_tcp_sum(p) == 0xffff;
}

#endif /* GREYWALL_DP_CSUM_H */
