/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Frame parsing for the dataplane: Ethernet with 802.1Q/QinQ tags, IPv4
 * (options allowed, fragments passed), IPv6 (TCP as the first header), TCP.
 * Cursor-and-end helpers in the xdp-tools style; nothing is trusted.
 */
#ifndef GREYWALL_DP_PACKET_H
#define GREYWALL_DP_PACKET_H

#define GW_MAX_IPV6_EXT 8 /* extension headers walked to find TCP */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#define GW_MAX_VLAN_TAGS 2

enum gw_pkt_kind {
	GW_PKT_TCP = 0,
	GW_PKT_NOT_IP, /* ARP, LLDP, anything else: forward */
	GW_PKT_NOT_TCP,
	GW_PKT_FRAGMENT,  /* forwarded unchanged and counted */
	GW_PKT_IPV6_EXT,  /* extension headers before TCP: forwarded, counted */
	GW_PKT_MALFORMED, /* truncated or inconsistent: forwarded, counted */
};

struct gw_pkt {
	uint8_t family; /* 4 or 6 */
	uint16_t l3_off;
	uint16_t l4_off;
	uint16_t payload_off;
	uint16_t payload_len;
	uint16_t tcp_hlen;
	uint8_t *saddr; /* 4 or 16 bytes inside the frame */
	uint8_t *daddr;
	struct rte_tcp_hdr *tcp;
	void *ip;
};

struct gw_cursor {
	uint8_t *pos;
	uint8_t *end;
};

static __always_inline void *gw_pull(struct gw_cursor *c, uint16_t len)
{
	uint8_t *p = c->pos;

	if ((size_t)(c->end - p) < len)
		return NULL;
	c->pos = p + len;
	return p;
}

static __always_inline int gw_parse_eth(struct gw_cursor *c, uint16_t *ethertype)
{
	struct rte_ether_hdr *eth = gw_pull(c, sizeof(*eth));
	int i;

	if (!eth)
		return -1;
	*ethertype = eth->ether_type;
	for (i = 0; i < GW_MAX_VLAN_TAGS; i++) {
		struct rte_vlan_hdr *vh;

		if (*ethertype != rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN) &&
		    *ethertype != rte_cpu_to_be_16(RTE_ETHER_TYPE_QINQ))
			break;
		vh = gw_pull(c, sizeof(*vh));
		if (!vh)
			return -1;
		*ethertype = vh->eth_proto;
	}
	return 0;
}

/* Returns a gw_pkt_kind; on GW_PKT_TCP every field of p is valid and inside the frame. */
static __always_inline int gw_parse_frame(uint8_t *frame, uint16_t len, struct gw_pkt *p)
{
	struct gw_cursor c = {frame, frame + len};
	uint16_t ethertype, l3_len;
	struct rte_tcp_hdr *tcp;
	uint8_t *l3;

	if (gw_parse_eth(&c, &ethertype) < 0)
		return GW_PKT_MALFORMED;
	l3 = c.pos;
	p->l3_off = (uint16_t)(l3 - frame);
	if (ethertype == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		struct rte_ipv4_hdr *ip = gw_pull(&c, sizeof(*ip));
		uint16_t ihl, tot;

		if (!ip)
			return GW_PKT_MALFORMED;
		ihl = (uint16_t)((ip->version_ihl & 0xf) * 4);
		tot = rte_be_to_cpu_16(ip->total_length);
		if ((ip->version_ihl >> 4) != 4 || ihl < 20 || tot < ihl || l3 + tot > c.end)
			return GW_PKT_MALFORMED;
		if (ip->next_proto_id != IPPROTO_TCP)
			return GW_PKT_NOT_TCP;
		if (ip->fragment_offset &
		    rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
			/* every fragment names its protocol: TCP, to where (the caller may drop it)
			 */
			p->family = 4;
			p->saddr = (uint8_t *)&ip->src_addr;
			p->daddr = (uint8_t *)&ip->dst_addr;
			return GW_PKT_FRAGMENT;
		}
		c.pos = l3 + ihl;
		c.end = l3 + tot; /* Ethernet padding is not payload */
		p->family = 4;
		p->saddr = (uint8_t *)&ip->src_addr;
		p->daddr = (uint8_t *)&ip->dst_addr;
		p->ip = ip;
	} else if (ethertype == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) {
		struct rte_ipv6_hdr *ip6 = gw_pull(&c, sizeof(*ip6));

		if (!ip6)
			return GW_PKT_MALFORMED;
		l3_len = rte_be_to_cpu_16(ip6->payload_len);
		if ((rte_be_to_cpu_32(ip6->vtc_flow) >> 28) != 6 || c.pos + l3_len > c.end)
			return GW_PKT_MALFORMED;
		c.end = c.pos + l3_len;
		p->family = 6;
		p->saddr = ip6->src_addr;
		p->daddr = ip6->dst_addr;
		p->ip = ip6;
		if (ip6->proto != IPPROTO_TCP) {
			/*
			 * Hop-by-hop, routing and destination options are walked to the
			 * TCP header: a sender may put them in front of an SMTP segment.
			 * A fragment header makes it a fragment, whose protocol is known.
			 */
			uint8_t next = ip6->proto;
			int k;

			for (k = 0; k < GW_MAX_IPV6_EXT && next != IPPROTO_TCP; k++) {
				uint8_t *ext = gw_pull(&c, 8);

				if (next == 44)
					return ext && ext[0] == IPPROTO_TCP ? GW_PKT_FRAGMENT
									    : GW_PKT_NOT_TCP;
				if (next != 0 && next != 43 && next != 60)
					return GW_PKT_NOT_TCP;
				if (!ext || !gw_pull(&c, (uint16_t)(ext[1] * 8)))
					return GW_PKT_MALFORMED;
				next = ext[0];
			}
			if (next != IPPROTO_TCP)
				return GW_PKT_IPV6_EXT; /* a longer chain than anyone sends */
		}
	} else {
		return GW_PKT_NOT_IP;
	}
	p->l4_off = (uint16_t)(c.pos - frame);
	tcp = gw_pull(&c, sizeof(*tcp));
	if (!tcp)
		return GW_PKT_MALFORMED;
	p->tcp_hlen = (uint16_t)((tcp->data_off >> 4) * 4);
	if (p->tcp_hlen < 20 || c.pos - sizeof(*tcp) + p->tcp_hlen > c.end)
		return GW_PKT_MALFORMED;
	p->tcp = tcp;
	p->payload_off = (uint16_t)(p->l4_off + p->tcp_hlen);
	p->payload_len = (uint16_t)(c.end - (frame + p->payload_off));
	return GW_PKT_TCP;
}

/* The first TCP option of this kind (at its kind byte), or NULL. */
static inline const uint8_t *gw_tcp_option_find(const struct gw_pkt *p, uint8_t kind)
{
	const uint8_t *opt = (const uint8_t *)p->tcp + sizeof(struct rte_tcp_hdr);
	const uint8_t *end = (const uint8_t *)p->tcp + p->tcp_hlen;

	while (opt < end && opt[0] != 0) {
		if (opt[0] == 1) {
			opt++;
			continue;
		}
		if (opt[0] == kind)
			return opt;
		if (opt + 1 >= end || opt[1] < 2)
			break;
		opt += opt[1];
	}
	return NULL;
}

/* The data of TCP option kind, exactly len bytes long in all and inside the header, or NULL. */
static inline const uint8_t *gw_tcp_option(const struct gw_pkt *p, uint8_t kind, uint8_t len)
{
	const uint8_t *opt = gw_tcp_option_find(p, kind);
	const uint8_t *end = (const uint8_t *)p->tcp + p->tcp_hlen;

	return opt && opt + 1 < end && opt[1] == len && opt + len <= end ? opt + 2 : NULL;
}

/* IPv4 options, or IPv6 extension headers, between the IP header and TCP. */
static inline bool gw_ip_extras(const struct gw_pkt *p)
{
	return p->l4_off - p->l3_off != (p->family == 4 ? 20 : 40);
}

#endif /* GREYWALL_DP_PACKET_H */
